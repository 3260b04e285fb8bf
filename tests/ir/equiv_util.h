/* Equivalence of two modules through the reference interpreter: both run
 * (cache_update, two chained index steps, sparse and dense attention) on
 * the same random paged inputs; the selected page sets must be identical
 * up to near-ties (float reassociation may flip a page whose score is
 * within tolerance of the selection boundary) and the outputs and final
 * states must agree within float tolerance. */
#ifndef VX_EQUIV_UTIL_H
#define VX_EQUIV_UTIL_H

#include <stdbool.h>
#include <stdint.h>

#include "ir/ir.h"

typedef struct t_equiv_spec {
  int batch;
  int context;    /* max tokens per request (ragged lengths) */
  int kv_heads;   /* GQA only; MLA uses 1 */
  uint64_t seed;
} t_equiv_spec;

/* True when a and b agree; otherwise writes the reason into why. */
bool t_equivalent(const vx_module *a, const vx_module *b, const t_equiv_spec *spec, char *why, size_t n);

#endif

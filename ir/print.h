/* The textual IR printer (format: docs/ir.md). Output is deterministic:
 * values are renumbered %0.. per function in program order (which is why
 * printing updates op ids), attributes are sorted by key, numbers use the
 * shortest spelling that reads back to the same double. */
#ifndef VX_PRINT_H
#define VX_PRINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "ir.h"
#include "strbuf.h"

typedef struct vx_print_options {
  bool locations;      /* append loc(L:C) to ops with a source location */
  bool no_plan_comments; /* omit the fusion/memory summary comments */
} vx_print_options;

/* Appends the module text to sb. opts may be NULL (defaults). */
void vx_print_module_sb(vx_strbuf *sb, const vx_module *m, const vx_print_options *opts);
/* The module text, malloc'd (caller frees), or NULL on out-of-memory. */
char *vx_print_module_string(const vx_module *m, const vx_print_options *opts);
/* Writes the module text to out; false on out-of-memory or a write error. */
bool vx_print_module(FILE *out, const vx_module *m, const vx_print_options *opts);

/* Helpers shared with the reader, verifier and diagnostics. */
/* "[page, sub:4, tok, dim]" (the split width on sub, else on tok). */
void vx_format_shape(vx_shape s, char *buf, size_t n);
/* Shortest decimal spelling that strtod reads back to exactly x. */
void vx_format_number(double x, char buf[40]);
const char *vx_dtype_name(vx_dtype d);   /* "f32", "bf16", "f16", "default" */
const char *vx_space_name(vx_space s);   /* "query", "page", "candidate" */
const char *vx_func_name(vx_func_kind k); /* "cache_update", "index" */

#endif

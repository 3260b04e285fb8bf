/* The checker: resolves names, infers named-axis shapes, folds
 * constants, applies -D overrides and enforces every rule of
 * docs/language.md. On success every field ast.h documents as "set by
 * sema" is set (ref kinds, shapes, constants, select/score pointers). */
#ifndef VX_SEMA_H
#define VX_SEMA_H

#include <stdbool.h>

#include "../compiler/diag.h"
#include "../compiler/arena.h"
#include "ast.h"

/* One `-D NAME=VALUE` from the command line, as written. */
typedef struct vx_define {
  const char *name;
  const char *value;
} vx_define;

typedef struct vx_sema_options {
  int page_size;            /* tokens per page; split(x, N) needs N to divide it */
  const vx_define *defines; /* param overrides, applied before range checks */
  int ndefines;
} vx_sema_options;

/* Checks `alg` (built by vx_parse_source in `arena`); reports problems to
 * `diag`. Returns true when no error was reported. */
bool vx_sema_check(vx_arena *arena, vx_algorithm *alg, vx_diag_engine *diag, const vx_sema_options *opts);

#endif

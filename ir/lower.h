/* Lowering: a checked .vtx AST to the page-level IR.
 *
 * Input contract: `alg` was accepted by the checker (frontend/sema), so
 * every "set by sema" field of ast.h is set: names are resolved, shapes
 * computed, `alg->select` and `alg->score` point into `alg->index`.
 *
 * What lowering does:
 *   - params      -> module param table; each use becomes a `param` op
 *                    (folding them to constants is the canonicalize pass's job);
 *   - cache LETs  -> ops of `cache_update` ending in `store.field`, one
 *                    field per LET, storage DEFAULT -> geo->kv_dtype;
 *   - states      -> module state table with their initial values;
 *   - index       -> ops of `index` ending in `store.state` (UPDATE) and one
 *                    `select.top|mass|threshold` (score, budget);
 *   - geometry    -> copied from `geo`, except that `kv mla(dc, dr)` makes
 *                    the module MLA with head_dim = dc + dr.
 * Checks that need the geometry (split width must divide page_size, MLA
 * widths positive, ...) are reported through `diag` with the source span.
 *
 * Returns the module, allocated in `arena`, or NULL after reporting at
 * least one error (the arena then holds garbage the caller frees with it). */
#ifndef VX_LOWER_H
#define VX_LOWER_H

#include "../compiler/diag.h"
#include "ir.h"

vx_module *vx_lower(const vx_algorithm *alg, const vx_geometry *geo, vx_arena *arena, vx_diag_engine *diag);

#endif

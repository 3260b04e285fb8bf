/* Pass `dce`: dead code elimination.
 *
 * Accepts verified IR. Erases every op that produces a value nobody uses;
 * sinks (store.field, store.state, select.*) are the roots and are always
 * kept, so everything that feeds a field, a state or the select survives.
 * Walking each function backwards erases whole dead chains in one sweep:
 * erasing an op drops its operand uses, and operands come earlier. */
#include "passes.h"

static void dce_func(vx_pass_ctx *ctx, vx_func *f) {
  vx_op *op = f->last;
  while (op) {
    vx_op *prev = op->prev;
    if (vx_op_info_of(op->code)->cls != VX_OPC_SINK && !vx_op_has_uses(op)) {
      vx_op_erase(op);
      ctx->changed = true;
    }
    op = prev;
  }
}

bool vx_pass_dce_run(vx_pass_ctx *ctx, vx_module *m) {
  dce_func(ctx, &m->cache_update);
  dce_func(ctx, &m->index);
  return true;
}

/* Pass `verify`: axis inference and IR verification.
 *
 * Accepts any module. Re-infers the shape (named axes) and space of every
 * derived op from its operands and attributes, in program order, so a
 * hand-written or transformed module carries consistent types; then runs
 * the full verifier. Guarantees afterwards: vx_verify holds. Refuses
 * (returns false with diagnostics) IR whose operands cannot be combined
 * (`cannot infer ...`) or that breaks any verifier rule. This is the only
 * pass of -O0. */
#include "passes.h"

#include "../ir/print.h"
#include "../ir/verify.h"

static bool infer_func(vx_pass_ctx *ctx, vx_func *f) {
  bool ok = true;
  for (vx_op *op = f->first; op; op = op->next) {
    const vx_op_info *info = vx_op_info_of(op->code);
    if (!info || info->cls == VX_OPC_SOURCE || info->cls == VX_OPC_SINK)
      continue;
    bool operands_ok = true;
    for (int i = 0; i < info->noperands; i++)
      operands_ok &= op->operands[i] != NULL;
    if (!operands_ok)
      continue; /* the verifier names the missing operand */
    vx_shape before = op->shape;
    vx_space space = op->space;
    if (!vx_op_infer_shape(op)) {
      char a[64], b[64] = "";
      vx_format_shape(op->operands[0]->shape, a, sizeof a);
      if (info->noperands > 1)
        vx_format_shape(op->operands[1]->shape, b, sizeof b);
      vx_diag_report_plain(ctx->diag, VX_SEV_ERROR, "ir-axes", "@%s: cannot infer the axes of '%s' from %s%s%s",
                           vx_func_name(f->kind), info->mnemonic, a, info->noperands > 1 ? " and " : "", b);
      ok = false;
      continue;
    }
    if (before.axes != op->shape.axes || before.split != op->shape.split || space != op->space)
      ctx->changed = true;
  }
  return ok;
}

bool vx_pass_verify_run(vx_pass_ctx *ctx, vx_module *m) {
  bool ok = infer_func(ctx, &m->cache_update);
  ok &= infer_func(ctx, &m->index);
  return ok && vx_verify(m, ctx->diag);
}

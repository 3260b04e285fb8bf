/* Pass `incremental-cache`: mark fields that can be updated as tokens are
 * appended to a page, instead of being recomputed when the page is full.
 *
 * A field qualifies when its stored value is reduce.max/min/sum/mean over
 * `tok` of a PER-TOKEN expression: one built from input.k/input.v,
 * constants and params by elementwise ops and reductions/normalisations
 * over `dim` only (nothing that mixes tokens: no reduction or softmax
 * over tok, no split), with no sub-page slices in the result. Then
 * field(tokens + [t]) = combine(field(tokens), f(t)) with combine = max,
 * min, + (mean keeps the count of valid tokens, which the page length
 * already gives). Codegen uses the flag to emit an append-time update.
 * Contract: accepts verified IR; only sets/clears vx_ir_field.incremental
 * (exactly "qualifies"); never changes ops. */
#include "passes.h"

enum { MAX_DEPTH = 256 };

static bool per_token(const vx_op *op, int depth) {
  if (depth > MAX_DEPTH)
    return false;
  const vx_op_info *info = vx_op_info_of(op->code);
  switch (info->cls) {
  case VX_OPC_SOURCE:
    return op->code == VX_OP_INPUT_K || op->code == VX_OP_INPUT_V || op->code == VX_OP_CONST ||
           op->code == VX_OP_PARAM;
  case VX_OPC_REDUCE:
  case VX_OPC_AXISMAP:
    if (op->axis != VX_AXIS_DIM)
      return false;
    break;
  case VX_OPC_SPLIT:
  case VX_OPC_SINK:
    return false;
  default:
    break;
  }
  for (int i = 0; i < info->noperands; i++)
    if (!per_token(op->operands[i], depth + 1))
      return false;
  return true;
}

static bool qualifies(const vx_op *stored) {
  switch (stored->code) {
  case VX_OP_REDUCE_MAX:
  case VX_OP_REDUCE_MIN:
  case VX_OP_REDUCE_SUM:
  case VX_OP_REDUCE_MEAN:
    break;
  default:
    return false;
  }
  return stored->axis == VX_AXIS_TOK && !vx_shape_has(stored->shape, VX_AXIS_SUB) &&
         !vx_shape_has(stored->shape, VX_AXIS_TOK) && per_token(stored->operands[0], 0);
}

bool vx_pass_incremental_cache_run(vx_pass_ctx *ctx, vx_module *m) {
  for (vx_op *op = m->cache_update.first; op; op = op->next) {
    if (op->code != VX_OP_STORE_FIELD || op->index < 0 || op->index >= m->nfields)
      continue;
    bool inc = qualifies(op->operands[0]);
    if (m->fields[op->index].incremental != inc) {
      m->fields[op->index].incremental = inc;
      ctx->changed = true;
    }
  }
  return true;
}

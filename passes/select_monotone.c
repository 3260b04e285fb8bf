/* Pass `select-monotone`: order-preserving simplification before top-k.
 *
 * select.top keeps the pages with the highest scores, so replacing the
 * score s = g(x) by x changes nothing when g is STRICTLY INCREASING along
 * the page axis of one row. Peeled, repeatedly, from the score:
 *   exp(x), sigmoid(x), tanh(x), softmax(x) {axis = page},
 *   x * c, c * x, x / c        with c a constant > 0 (finite),
 *   x + s, s + x, x - s        with s of shape [] (one value per request row).
 * Contract: accepts verified IR; changes only the score operand of a
 * select.top (mass selection sums softmax mass of the VALUES and threshold
 * selection compares them, so both are left alone); a map is peeled only
 * when the score is its ONLY use (otherwise the value is needed anyway)
 * and only when x has the score's shape [page]. Peeled maps become dead
 * and are erased here. Ties created or broken by floating-point
 * saturation (exp overflow, tanh -> 1) are the accepted imprecision. */
#include "passes.h"

#include <math.h>

static bool positive_const(const vx_op *op) {
  return op->code == VX_OP_CONST && isfinite(op->number) && (float)op->number > 0.0f;
}

static bool is_row_scalar(const vx_op *op) { return op->shape.axes == 0; }

/* The x of score = g(x) when g is strictly increasing, else NULL. */
static vx_op *peel(const vx_op *s) {
  vx_op *a = s->operands[0], *b = s->operands[1];
  switch (s->code) {
  case VX_OP_EXP:
  case VX_OP_SIGMOID:
  case VX_OP_TANH:
    return a;
  case VX_OP_SOFTMAX:
    return s->axis == VX_AXIS_PAGE ? a : NULL;
  case VX_OP_MUL:
    return positive_const(b) ? a : positive_const(a) ? b : NULL;
  case VX_OP_DIV:
    return positive_const(b) ? a : NULL;
  case VX_OP_ADD:
    return is_row_scalar(b) ? a : is_row_scalar(a) ? b : NULL;
  case VX_OP_SUB:
    return is_row_scalar(b) ? a : NULL;
  default:
    return NULL;
  }
}

bool vx_pass_select_monotone_run(vx_pass_ctx *ctx, vx_module *m) {
  vx_op *sel = vx_func_find_select(&m->index);
  if (!sel || sel->code != VX_OP_SELECT_TOP)
    return true;
  for (;;) {
    vx_op *score = sel->operands[0];
    if (vx_op_use_count(score) != 1)
      break;
    vx_op *x = peel(score);
    if (!x || x->shape.axes != score->shape.axes || x->shape.split != score->shape.split)
      break;
    vx_op_set_operand(sel, 0, x);
    vx_op_erase(score);
    ctx->changed = true;
  }
  return true;
}

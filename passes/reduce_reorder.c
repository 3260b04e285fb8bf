/* Pass `reduce-reorder`: reduce the query over heads before contracting
 * it with page summaries.
 *
 * Both sum and mean are linear, so for a query-side value a (axes include
 * head, not page) and a page-side value b (no head axis):
 *   R_head(a * b)            -> R_head(a) * b                      (A)
 *   R_head(S_X(a * b))       -> S_X(R_head(a) * b)   X != head      (B)
 * with R, S in {reduce.sum, reduce.mean}. (B) turns
 * `mean(sum(q * c, dim), head)` into the cheap form
 * `sum(mean(q, head) * c, dim)`: the head reduction runs once per request
 * row instead of once per page. The already-cheap form is left alone.
 * Exact up to floating-point reassociation. Applied only when every
 * rewritten intermediate has the reduction as its only user (otherwise
 * the old value would still be computed), never to max/min/norm over
 * heads (not linear). Accepts verified IR; new ops are inserted just
 * before the reduction they replace; replaced ops are erased. */
#include "passes.h"

static bool linear_reduce(vx_op_code c) { return c == VX_OP_REDUCE_SUM || c == VX_OP_REDUCE_MEAN; }

static bool query_side(const vx_op *a) {
  return vx_shape_has(a->shape, VX_AXIS_HEAD) && !vx_shape_has(a->shape, VX_AXIS_PAGE);
}

/* For a product with one query-side factor and one head-free factor,
 * writes them to *a and *b. */
static bool split_product(vx_op *mul, vx_op **a, vx_op **b) {
  if (mul->code != VX_OP_MUL || vx_op_use_count(mul) != 1)
    return false;
  vx_op *x = mul->operands[0], *y = mul->operands[1];
  if (query_side(x) && !vx_shape_has(y->shape, VX_AXIS_HEAD)) {
    *a = x;
    *b = y;
    return true;
  }
  if (query_side(y) && !vx_shape_has(x->shape, VX_AXIS_HEAD)) {
    *a = y;
    *b = x;
    return true;
  }
  return false;
}

static vx_op *build_reduce(vx_func *f, vx_op *before, vx_op_code code, vx_op *x, vx_axis axis) {
  vx_op *ops[1] = {x};
  vx_op *r = vx_build_op(f, before, code, ops, (vx_shape){0, 0});
  if (!r)
    return NULL;
  r->axis = axis;
  r->loc = before->loc;
  return vx_op_infer_shape(r) ? r : NULL;
}

static vx_op *build_mul(vx_func *f, vx_op *before, vx_op *x, vx_op *y) {
  vx_op *ops[2] = {x, y};
  vx_op *r = vx_build_op(f, before, VX_OP_MUL, ops, (vx_shape){0, 0});
  if (r)
    r->loc = before->loc;
  return r;
}

/* Rewrites reduction `r` if (A) or (B) applies; false only on OOM. */
static bool rewrite(vx_func *f, vx_op *r, bool *changed) {
  vx_op *y = r->operands[0], *a, *b;
  vx_op *inner = NULL; /* S_X of form (B) */
  if (!split_product(y, &a, &b)) {
    if (!linear_reduce(y->code) || y->axis == VX_AXIS_HEAD || vx_op_use_count(y) != 1 ||
        !split_product(y->operands[0], &a, &b))
      return true;
    inner = y;
  }
  vx_op *head = build_reduce(f, r, r->code, a, VX_AXIS_HEAD);
  vx_op *prod = head ? build_mul(f, r, head, b) : NULL;
  vx_op *result = prod;
  if (prod && inner)
    result = build_reduce(f, r, inner->code, prod, inner->axis);
  if (!result)
    return false;
  vx_op_replace_all_uses(r, result);
  vx_op_erase(r);
  if (inner) {
    vx_op *mul = inner->operands[0];
    vx_op_erase(inner);
    vx_op_erase(mul);
  } else {
    vx_op_erase(y);
  }
  *changed = true;
  return true;
}

bool vx_pass_reduce_reorder_run(vx_pass_ctx *ctx, vx_module *m) {
  vx_func *f = &m->index;
  for (vx_op *op = f->first, *next; op; op = next) {
    next = op->next;
    if (!linear_reduce(op->code) || op->axis != VX_AXIS_HEAD)
      continue;
    if (!rewrite(f, op, &ctx->changed)) {
      vx_diag_report_plain(ctx->diag, VX_SEV_ERROR, "out-of-memory", "out of memory in pass reduce-reorder");
      return false;
    }
  }
  return true;
}

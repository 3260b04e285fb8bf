/* Pass `canonicalize`: constant folding and canonicalisation.
 *
 * Accepts verified IR. Rewrites, repeated until nothing applies:
 *   param @p            -> const VALUE   (params are compile-time constants)
 *   f(const, ...)       -> const         (every elementwise op on constants,
 *                                         evaluated exactly as the interpreter
 *                                         does: f32 operands, double math,
 *                                         one rounding to f32)
 *   x * 1, 1 * x, x / 1, x + 0, 0 + x, x - 0   -> x
 *   neg(neg(x)), max(x, x), min(x, x)   -> x
 *   op(const, x)        -> op(x, const)  for commutative add/mul/max/min/eq/ne
 * An identity is applied only when the result has x's shape (the constant
 * is [] so broadcasting never changes it; checked anyway). Replaced ops are
 * erased; constants left without uses are DCE's job. Never changes which
 * values a sink receives, bit for bit, except the sign of a zero (x + 0). */
#include "passes.h"

#include <math.h>

static bool is_const(const vx_op *op, double *v) {
  if (op->code != VX_OP_CONST)
    return false;
  if (v)
    *v = (double)(float)op->number;
  return true;
}

static bool is_const_value(const vx_op *op, double want) {
  double v;
  return is_const(op, &v) && v == want;
}

static double sigmoid(double x) { return 1.0 / (1.0 + exp(-x)); }

/* The interpreter's elementwise semantics (ir/interp.h, VALUES). */
static bool fold(vx_op_code code, const double *a, double *out) {
  double x = a[0], y = a[1];
  switch (code) {
  case VX_OP_NEG: *out = -x; break;
  case VX_OP_EXP: *out = exp(x); break;
  case VX_OP_LOG: *out = log(x); break;
  case VX_OP_ABS: *out = fabs(x); break;
  case VX_OP_SQRT: *out = sqrt(x); break;
  case VX_OP_RELU: *out = x > 0.0 ? x : 0.0; break;
  case VX_OP_SIGMOID: *out = sigmoid(x); break;
  case VX_OP_SILU: *out = x * sigmoid(x); break;
  case VX_OP_TANH: *out = tanh(x); break;
  case VX_OP_ADD: *out = x + y; break;
  case VX_OP_SUB: *out = x - y; break;
  case VX_OP_MUL: *out = x * y; break;
  case VX_OP_DIV: *out = x / y; break;
  case VX_OP_MAX: *out = fmax(x, y); break;
  case VX_OP_MIN: *out = fmin(x, y); break;
  case VX_OP_LT: *out = x < y; break;
  case VX_OP_LE: *out = x <= y; break;
  case VX_OP_GT: *out = x > y; break;
  case VX_OP_GE: *out = x >= y; break;
  case VX_OP_EQ: *out = x == y; break;
  case VX_OP_NE: *out = x != y; break;
  case VX_OP_WHERE: *out = x != 0.0 ? y : a[2]; break;
  default: return false;
  }
  *out = (double)(float)*out;
  return true;
}

static bool commutative(vx_op_code c) {
  return c == VX_OP_ADD || c == VX_OP_MUL || c == VX_OP_MAX || c == VX_OP_MIN || c == VX_OP_EQ || c == VX_OP_NE;
}

/* Replaces op by `by` everywhere and erases it. */
static void replace(vx_op *op, vx_op *by) {
  vx_op_replace_all_uses(op, by);
  vx_op_erase(op);
}

static bool same_shape(const vx_op *a, const vx_op *b) {
  return a->shape.axes == b->shape.axes && a->shape.split == b->shape.split;
}

/* Identity simplifications; returns the value op reduces to, or NULL. */
static vx_op *identity_of(vx_op *op) {
  vx_op *a = op->operands[0], *b = op->operands[1];
  vx_op *r = NULL;
  switch (op->code) {
  case VX_OP_MUL:
    r = is_const_value(b, 1.0) ? a : is_const_value(a, 1.0) ? b : NULL;
    break;
  case VX_OP_ADD:
    r = is_const_value(b, 0.0) ? a : is_const_value(a, 0.0) ? b : NULL;
    break;
  case VX_OP_SUB:
    r = is_const_value(b, 0.0) ? a : NULL;
    break;
  case VX_OP_DIV:
    r = is_const_value(b, 1.0) ? a : NULL;
    break;
  case VX_OP_NEG:
    r = a->code == VX_OP_NEG ? a->operands[0] : NULL;
    break;
  case VX_OP_MAX:
  case VX_OP_MIN:
    r = a == b ? a : NULL; /* fmax(x, x) == x, NaN included */
    break;
  default:
    break;
  }
  return r && same_shape(r, op) ? r : NULL;
}

/* One sweep over f; returns false on out-of-memory. */
static bool sweep(vx_module *m, vx_func *f, bool *changed) {
  for (vx_op *op = f->first, *next; op; op = next) {
    next = op->next;
    const vx_op_info *info = vx_op_info_of(op->code);
    if (op->code == VX_OP_PARAM && op->index >= 0 && op->index < m->nparams) {
      vx_op *c = vx_build_op(f, op, VX_OP_CONST, NULL, op->shape);
      if (!c)
        return false;
      c->number = m->params[op->index].value;
      c->loc = op->loc;
      replace(op, c);
      *changed = true;
      continue;
    }
    if (info->cls != VX_OPC_UNARY && info->cls != VX_OPC_BINARY && info->cls != VX_OPC_TERNARY)
      continue;
    double vals[3] = {0, 0, 0};
    bool all_const = true;
    for (int i = 0; i < info->noperands; i++)
      all_const &= is_const(op->operands[i], &vals[i]);
    double folded;
    if (all_const && op->shape.axes == 0 && fold(op->code, vals, &folded)) {
      vx_op *c = vx_build_op(f, op, VX_OP_CONST, NULL, op->shape);
      if (!c)
        return false;
      c->number = folded;
      c->loc = op->loc;
      replace(op, c);
      *changed = true;
      continue;
    }
    vx_op *r = identity_of(op);
    if (r) {
      replace(op, r);
      *changed = true;
      continue;
    }
    if (commutative(op->code) && is_const(op->operands[0], NULL) && !is_const(op->operands[1], NULL)) {
      vx_op *a = op->operands[0], *b = op->operands[1];
      vx_op_set_operand(op, 0, b);
      vx_op_set_operand(op, 1, a);
      *changed = true;
    }
  }
  return true;
}

bool vx_pass_canonicalize_run(vx_pass_ctx *ctx, vx_module *m) {
  for (int round = 0; round < 64; round++) {
    bool changed = false;
    if (!sweep(m, &m->cache_update, &changed) || !sweep(m, &m->index, &changed)) {
      vx_diag_report_plain(ctx->diag, VX_SEV_ERROR, "out-of-memory", "out of memory in pass canonicalize");
      return false;
    }
    if (!changed)
      break;
    ctx->changed = true;
  }
  return true;
}

/* The array kernels of the evaluator: broadcasting elementwise ops,
 * reductions (masked for partial pages) and softmax/normalize along an
 * axis. Each works a row of the innermost axis at a time, so the hot
 * loops are contiguous and vectorisable; nothing allocates per element. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "interp_eval.h"

bool vx_eval_grow(void **p, size_t *cap, size_t need, size_t elem) {
  if (need <= *cap)
    return true;
  size_t n = need + need / 2;
  void *q = realloc(*p, n * elem);
  if (!q)
    return false;
  *p = q;
  *cap = n;
  return true;
}

static bool ws_reserve_acc(vx_eval_ws *ws, size_t n) {
  if (n <= ws->acc_cap)
    return true;
  size_t cap = ws->acc_cap;
  if (!vx_eval_grow((void **)&ws->acc, &cap, n, sizeof *ws->acc))
    return false;
  int32_t *c = realloc(ws->cnt, cap * sizeof *c);
  if (!c)
    return false;
  ws->cnt = c;
  ws->acc_cap = cap;
  return true;
}

/* Row-major strides of a tensor (0 for absent axes, so broadcasting an
 * absent axis re-reads the same element). */
static void strides_of(const vx_tensor *t, size_t st[VX_AXIS_COUNT]) {
  size_t s = 1;
  for (int a = VX_AXIS_COUNT - 1; a >= 0; a--) {
    st[a] = vx_shape_has(t->shape, (vx_axis)a) ? s : 0;
    s *= (size_t)t->ext[a];
  }
}

/* Every axis of `arg` (except `skip`) has the same extent in `out`: a
 * token axis split differently on the two sides would otherwise be read
 * with the wrong strides. */
bool vx_tensor_extents_agree(const vx_tensor *arg, const vx_tensor *out, int skip) {
  for (int a = 0; a < VX_AXIS_COUNT; a++)
    if (a != skip && vx_shape_has(arg->shape, (vx_axis)a) &&
        (!vx_shape_has(out->shape, (vx_axis)a) || arg->ext[a] != out->ext[a]))
      return false;
  return true;
}

/* Innermost axis with extent > 1 in ext, or -1 for a single element. */
static int inner_axis(const int ext[VX_AXIS_COUNT]) {
  for (int a = VX_AXIS_COUNT - 1; a >= 0; a--)
    if (ext[a] > 1)
      return a;
  return -1;
}

/* Odometer over every axis except `skip`: idx advances in row-major
 * order; returns false after the last position. */
static bool next_index(int idx[VX_AXIS_COUNT], const int ext[VX_AXIS_COUNT], int skip) {
  for (int a = VX_AXIS_COUNT - 1; a >= 0; a--) {
    if (a == skip)
      continue;
    if (++idx[a] < ext[a])
      return true;
    idx[a] = 0;
  }
  return false;
}

static size_t offset_of(const int idx[VX_AXIS_COUNT], const size_t st[VX_AXIS_COUNT]) {
  size_t o = 0;
  for (int a = 0; a < VX_AXIS_COUNT; a++)
    o += (size_t)idx[a] * st[a];
  return o;
}

void vx_tensor_broadcast(const vx_tensor *src, const int dst_ext[VX_AXIS_COUNT], float *dst) {
  size_t st[VX_AXIS_COUNT];
  strides_of(src, st);
  int inner = inner_axis(dst_ext);
  int len = inner < 0 ? 1 : dst_ext[inner];
  size_t sin = inner < 0 ? 0 : st[inner];
  int idx[VX_AXIS_COUNT] = {0};
  size_t o = 0;
  do {
    const float *s = src->data + offset_of(idx, st);
    for (int i = 0; i < len; i++)
      dst[o + (size_t)i] = s[(size_t)i * sin];
    o += (size_t)len;
  } while (next_index(idx, dst_ext, inner));
}

/* ------------------------------------------------------ elementwise */

/* fmax/fmin without a libm call, so the loops vectorise: a NaN operand
 * yields the other one. */
static inline double max_ignoring_nan(double acc, double x) { return (x > acc || acc != acc) ? x : acc; }
static inline double min_ignoring_nan(double acc, double x) { return (x < acc || acc != acc) ? x : acc; }

static double sigmoid(double x) { return 1.0 / (1.0 + exp(-x)); }

static void apply_row(vx_op_code code, const double *a, const double *b, const double *c, float *o, int n) {
  switch (code) {
#define ROW(expr)                                                                                            \
  for (int i = 0; i < n; i++)                                                                                \
    o[i] = (float)(expr);                                                                                    \
  break
  case VX_OP_NEG: ROW(-a[i]);
  case VX_OP_EXP: ROW(exp(a[i]));
  case VX_OP_LOG: ROW(log(a[i]));
  case VX_OP_ABS: ROW(fabs(a[i]));
  case VX_OP_SQRT: ROW(sqrt(a[i]));
  case VX_OP_RELU: ROW(a[i] > 0.0 ? a[i] : 0.0);
  case VX_OP_SIGMOID: ROW(sigmoid(a[i]));
  case VX_OP_SILU: ROW(a[i] * sigmoid(a[i]));
  case VX_OP_TANH: ROW(tanh(a[i]));
  case VX_OP_ADD: ROW(a[i] + b[i]);
  case VX_OP_SUB: ROW(a[i] - b[i]);
  case VX_OP_MUL: ROW(a[i] * b[i]);
  case VX_OP_DIV: ROW(a[i] / b[i]);
  case VX_OP_MAX: ROW(max_ignoring_nan(a[i], b[i]));
  case VX_OP_MIN: ROW(min_ignoring_nan(a[i], b[i]));
  case VX_OP_LT: ROW(a[i] < b[i] ? 1.0 : 0.0);
  case VX_OP_LE: ROW(a[i] <= b[i] ? 1.0 : 0.0);
  case VX_OP_GT: ROW(a[i] > b[i] ? 1.0 : 0.0);
  case VX_OP_GE: ROW(a[i] >= b[i] ? 1.0 : 0.0);
  case VX_OP_EQ: ROW(a[i] == b[i] ? 1.0 : 0.0);
  case VX_OP_NE: ROW(a[i] != b[i] ? 1.0 : 0.0);
  case VX_OP_WHERE: ROW(a[i] != 0.0 ? b[i] : c[i]);
#undef ROW
  default:
    break;
  }
}

bool vx_eval_elementwise(vx_eval_ws *ws, const vx_op *op, vx_tensor *out, const vx_tensor *const *args,
                             int nargs, vx_interp_error *err) {
  int inner = inner_axis(out->ext);
  int len = inner < 0 ? 1 : out->ext[inner];
  if (!vx_eval_grow((void **)&ws->rows, &ws->row_cap, (size_t)len * 3, sizeof *ws->rows))
    return vx_interp_fail(err, "out of memory");
  size_t st[3][VX_AXIS_COUNT];
  double *row[3] = {ws->rows, ws->rows + len, ws->rows + 2 * (size_t)len};
  for (int k = 0; k < nargs; k++) {
    if (!vx_tensor_extents_agree(args[k], out, -1))
      return vx_interp_fail(err, "%s %%%d: operand %d does not broadcast to the result shape",
                            vx_op_info_of(op->code)->mnemonic, op->id, k);
    strides_of(args[k], st[k]);
  }
  int idx[VX_AXIS_COUNT] = {0};
  float *o = out->data;
  do {
    for (int k = 0; k < nargs; k++) {
      const float *s = args[k]->data + offset_of(idx, st[k]);
      size_t sin = inner < 0 ? 0 : st[k][inner];
      if (sin == 1)
        for (int i = 0; i < len; i++)
          row[k][i] = s[i];
      else
        for (int i = 0; i < len; i++)
          row[k][i] = s[0];
    }
    apply_row(op->code, row[0], row[1], row[2], o, len);
    o += len;
  } while (next_index(idx, out->ext, inner));
  return true;
}

/* ------------------------------------------------------- reductions */

/* Whether the element at idx exists: in cache_update a partial last page
 * has tokens [valid_tokens, page_size) missing; after a split a slice
 * without tok exists when its first token does. */
static bool element_valid(const vx_tensor *t, const int idx[VX_AXIS_COUNT], int valid_tokens) {
  bool has_sub = vx_shape_has(t->shape, VX_AXIS_SUB), has_tok = vx_shape_has(t->shape, VX_AXIS_TOK);
  int pos = (has_sub ? idx[VX_AXIS_SUB] * t->shape.split : 0) + (has_tok ? idx[VX_AXIS_TOK] : 0);
  return pos < valid_tokens;
}

/* The common case: every element takes part. max/min start from NaN,
 * which the first element replaces. */
static void reduce_dense(const vx_op *op, const vx_tensor *in, double *acc, const size_t st_in[VX_AXIS_COUNT],
                         const size_t st_out[VX_AXIS_COUNT], size_t out_size) {
  vx_op_code code = op->code;
  bool extremum = code == VX_OP_REDUCE_MAX || code == VX_OP_REDUCE_MIN;
  for (size_t k = 0; k < out_size; k++)
    acc[k] = extremum ? NAN : 0.0;
  int idx[VX_AXIS_COUNT] = {0};
  int inner = inner_axis(in->ext);
  int len = inner < 0 ? 1 : in->ext[inner];
  size_t so = inner < 0 ? 0 : st_out[inner];
  do {
    const float *s = in->data + offset_of(idx, st_in);
    double *o = acc + offset_of(idx, st_out);
    /* Two shapes of inner loop: reducing along it (so == 0: one running
     * value) or across it (so == 1: elementwise, vectorisable). */
#define REDUCE_ROW(update)                                                                                   \
  if (so == 0) {                                                                                             \
    double a = o[0];                                                                                         \
    for (int i = 0; i < len; i++) {                                                                          \
      double x = s[i];                                                                                       \
      a = update;                                                                                            \
    }                                                                                                        \
    o[0] = a;                                                                                                \
  } else {                                                                                                   \
    for (int i = 0; i < len; i++) {                                                                          \
      double a = o[i], x = s[i];                                                                             \
      o[i] = update;                                                                                         \
    }                                                                                                        \
  }
    switch (code) {
    case VX_OP_REDUCE_MAX:
      REDUCE_ROW(max_ignoring_nan(a, x));
      break;
    case VX_OP_REDUCE_MIN:
      REDUCE_ROW(min_ignoring_nan(a, x));
      break;
    case VX_OP_REDUCE_NORM:
      REDUCE_ROW(a + x * x);
      break;
    default:
      REDUCE_ROW(a + x);
      break;
    }
#undef REDUCE_ROW
  } while (next_index(idx, in->ext, inner));
  double n = in->ext[op->axis];
  for (size_t k = 0; k < out_size; k++)
    acc[k] = code == VX_OP_REDUCE_MEAN ? acc[k] / n : code == VX_OP_REDUCE_NORM ? sqrt(acc[k]) : acc[k];
}

/* A partial last page in cache_update: only elements of existing tokens
 * take part, counted one by one (empty -> 0). */
static void reduce_masked(const vx_op *op, const vx_tensor *in, double *acc, int32_t *cnt,
                          const size_t st_in[VX_AXIS_COUNT], const size_t st_out[VX_AXIS_COUNT], size_t out_size,
                          int valid_tokens) {
  vx_op_code code = op->code;
  memset(cnt, 0, out_size * sizeof *cnt);
  for (size_t k = 0; k < out_size; k++)
    acc[k] = 0.0;
  int idx[VX_AXIS_COUNT] = {0};
  do {
    if (!element_valid(in, idx, valid_tokens))
      continue;
    double x = in->data[offset_of(idx, st_in)];
    size_t k = offset_of(idx, st_out);
    if (code == VX_OP_REDUCE_MAX)
      acc[k] = cnt[k] ? max_ignoring_nan(acc[k], x) : x;
    else if (code == VX_OP_REDUCE_MIN)
      acc[k] = cnt[k] ? min_ignoring_nan(acc[k], x) : x;
    else
      acc[k] += code == VX_OP_REDUCE_NORM ? x * x : x;
    cnt[k]++;
  } while (next_index(idx, in->ext, -1));
  for (size_t k = 0; k < out_size; k++) {
    if (cnt[k] == 0)
      acc[k] = 0.0; /* documented: a reduction over nothing is 0 */
    else if (code == VX_OP_REDUCE_MEAN)
      acc[k] /= cnt[k];
    else if (code == VX_OP_REDUCE_NORM)
      acc[k] = sqrt(acc[k]);
  }
}

bool vx_eval_reduce(vx_eval_ws *ws, const vx_op *op, vx_tensor *out, const vx_tensor *in, bool masked,
                        int valid_tokens, vx_interp_error *err) {
  if (!ws_reserve_acc(ws, out->size))
    return vx_interp_fail(err, "out of memory");
  size_t st_in[VX_AXIS_COUNT], st_out[VX_AXIS_COUNT];
  strides_of(in, st_in);
  strides_of(out, st_out);
  st_out[op->axis] = 0;
  masked = masked && (vx_shape_has(in->shape, VX_AXIS_TOK) || vx_shape_has(in->shape, VX_AXIS_SUB));
  if (masked)
    reduce_masked(op, in, ws->acc, ws->cnt, st_in, st_out, out->size, valid_tokens);
  else
    reduce_dense(op, in, ws->acc, st_in, st_out, out->size);
  for (size_t k = 0; k < out->size; k++)
    out->data[k] = (float)ws->acc[k];
  return true;
}

/* softmax / normalize along op->axis, one line at a time; masked
 * positions are excluded and come out as 0. */
bool vx_eval_axismap(vx_eval_ws *ws, const vx_op *op, vx_tensor *out, const vx_tensor *in, bool masked,
                         int valid_tokens, vx_interp_error *err) {
  int ax = op->axis;
  int len = in->ext[ax];
  if (!ws_reserve_acc(ws, (size_t)len))
    return vx_interp_fail(err, "out of memory");
  double *line = ws->acc;
  int32_t *ok = ws->cnt;
  size_t st[VX_AXIS_COUNT];
  strides_of(in, st);
  masked = masked && (ax == VX_AXIS_TOK || ax == VX_AXIS_SUB || vx_shape_has(in->shape, VX_AXIS_TOK) ||
                      vx_shape_has(in->shape, VX_AXIS_SUB));
  int idx[VX_AXIS_COUNT] = {0};
  do {
    size_t base = offset_of(idx, st);
    double m = -INFINITY, sum = 0.0;
    for (int i = 0; i < len; i++) {
      idx[ax] = i;
      ok[i] = !masked || element_valid(in, idx, valid_tokens);
      line[i] = in->data[base + (size_t)i * st[ax]];
      if (ok[i])
        m = fmax(m, line[i]);
    }
    idx[ax] = 0;
    for (int i = 0; i < len; i++) {
      if (!ok[i])
        continue;
      if (op->code == VX_OP_SOFTMAX)
        line[i] = exp(line[i] - m);
      sum += line[i];
    }
    for (int i = 0; i < len; i++)
      out->data[base + (size_t)i * st[ax]] = ok[i] ? (float)(line[i] / sum) : 0.0f;
  } while (next_index(idx, in->ext, ax));
  return true;
}

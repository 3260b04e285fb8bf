/* Evaluation of one IR function over dense named-axis tensors. Every op
 * works on whole arrays, a row (the innermost axis) at a time, so the hot
 * loops are plain contiguous loops the compiler vectorises; no per-element
 * allocation, no per-element dispatch. */
#include "interp_eval.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool vx_interp_fail(vx_interp_error *err, const char *fmt, ...) {
  if (err) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
  }
  return false;
}

/* ------------------------------------------------------------- plan */

/* Values with a buffer of their own (sinks have no value, a split
 * aliases its operand's buffer). */
static bool owns_buffer(const vx_op *op) {
  vx_op_class cls = vx_op_info_of(op->code)->cls;
  return cls != VX_OPC_SINK && cls != VX_OPC_SPLIT;
}

/* Which buffer each value lives in, and after which op that buffer is
 * dead: the last reader of the value or of any split aliasing it. The
 * owners are then bucketed by that op (counting sort). */
static void plan_lifetimes(vx_eval_plan *plan) {
  int n = plan->nops;
  for (int i = 0; i < n; i++) {
    plan->storage_of[i] = owns_buffer(plan->ops[i]) ? i : plan->storage_of[plan->operand_slot[i * 3]];
    plan->release_at[i] = i;
  }
  for (int i = 0; i < n; i++)
    for (int k = 0; k < 3; k++) {
      int s = plan->operand_slot[i * 3 + k];
      if (s >= 0 && plan->release_at[plan->storage_of[s]] < i)
        plan->release_at[plan->storage_of[s]] = i;
    }
  memset(plan->released_from, 0, (size_t)(n + 1) * sizeof *plan->released_from);
  for (int o = 0; o < n; o++)
    if (owns_buffer(plan->ops[o]))
      plan->released_from[plan->release_at[o] + 1]++;
  for (int i = 0; i < n; i++)
    plan->released_from[i + 1] += plan->released_from[i];
  for (int i = 0, k = 0; i < n; i++) /* owners released after op i, in index order */
    for (int o = 0; o <= i; o++)
      if (owns_buffer(plan->ops[o]) && plan->release_at[o] == i)
        plan->released[k++] = o;
}

bool vx_eval_plan_init(vx_eval_plan *plan, const vx_module *m, const vx_func *f, vx_interp_error *err) {
  memset(plan, 0, sizeof *plan);
  plan->module = m;
  plan->func = f;
  int n = 0, max_id = -1;
  for (const vx_op *op = f->first; op; op = op->next) {
    n++;
    if (op->id > max_id)
      max_id = op->id;
    if (op->id < 0)
      return vx_interp_fail(err, "op with negative id %d", op->id);
  }
  plan->nops = n;
  plan->ops = malloc((size_t)(n ? n : 1) * sizeof *plan->ops);
  plan->operand_slot = malloc((size_t)(n ? n : 1) * 3 * sizeof *plan->operand_slot);
  plan->storage_of = malloc((size_t)(n ? n : 1) * sizeof *plan->storage_of);
  plan->release_at = malloc((size_t)(n ? n : 1) * sizeof *plan->release_at);
  plan->released = malloc((size_t)(n ? n : 1) * sizeof *plan->released);
  plan->released_from = malloc((size_t)(n + 1) * sizeof *plan->released_from);
  int *slot_of_id = malloc((size_t)(max_id + 2) * sizeof *slot_of_id);
  if (!plan->ops || !plan->operand_slot || !plan->storage_of || !plan->release_at || !plan->released ||
      !plan->released_from || !slot_of_id) {
    free(slot_of_id);
    vx_eval_plan_destroy(plan);
    return vx_interp_fail(err, "out of memory");
  }
  for (int i = 0; i <= max_id; i++)
    slot_of_id[i] = -1;
  int i = 0;
  bool ok = true;
  /* Operands must be defined earlier in the same function (SSA order);
   * ids only name ops, so they are mapped to positions here. */
  for (const vx_op *op = f->first; op && ok; op = op->next, i++) {
    const vx_op_info *info = vx_op_info_of(op->code);
    if (!info) {
      ok = vx_interp_fail(err, "op %%%d has an unknown op code %d", op->id, (int)op->code);
      break;
    }
    for (int k = 0; k < 3; k++) {
      plan->operand_slot[i * 3 + k] = -1;
      if (k >= info->noperands)
        continue;
      const vx_op *arg = op->operands[k];
      int s = arg && arg->id <= max_id ? slot_of_id[arg->id] : -1;
      if (s < 0 || plan->ops[s] != arg) {
        ok = vx_interp_fail(err, "%s %%%d: operand %d is not defined before it in the same function",
                            info->mnemonic, op->id, k);
        break;
      }
      if (vx_op_info_of(arg->code)->cls == VX_OPC_SINK) {
        ok = vx_interp_fail(err, "%s %%%d: operand %d is %s, which has no value", info->mnemonic, op->id, k,
                            vx_op_info_of(arg->code)->mnemonic);
        break;
      }
      plan->operand_slot[i * 3 + k] = s;
    }
    if (slot_of_id[op->id] >= 0 && ok) {
      ok = vx_interp_fail(err, "two ops share the id %%%d (renumber the function)", op->id);
      break;
    }
    slot_of_id[op->id] = i;
    plan->ops[i] = op;
  }
  free(slot_of_id);
  if (!ok) {
    vx_eval_plan_destroy(plan);
    return false;
  }
  plan_lifetimes(plan);
  return true;
}

void vx_eval_plan_destroy(vx_eval_plan *plan) {
  free(plan->ops);
  free(plan->operand_slot);
  free(plan->storage_of);
  free(plan->release_at);
  free(plan->released);
  free(plan->released_from);
  plan->ops = NULL;
  plan->operand_slot = NULL;
  plan->storage_of = plan->release_at = plan->released = plan->released_from = NULL;
}

/* -------------------------------------------------------- workspace */

bool vx_eval_ws_init(vx_eval_ws *ws, const vx_eval_plan *plan) {
  memset(ws, 0, sizeof *ws);
  size_t n = (size_t)(plan->nops ? plan->nops : 1);
  ws->values = calloc(n, sizeof *ws->values);
  ws->offset = malloc(n * sizeof *ws->offset);
  ws->hole_at = malloc(n * sizeof *ws->hole_at);
  ws->hole_size = malloc(n * sizeof *ws->hole_size);
  ws->placed_pages = ws->placed_group = -1;
  return ws->values && ws->offset && ws->hole_at && ws->hole_size;
}

void vx_eval_ws_destroy(vx_eval_ws *ws) {
  free(ws->values);
  free(ws->buf);
  free(ws->acc);
  free(ws->cnt);
  free(ws->rows);
  free(ws->offset);
  free(ws->hole_at);
  free(ws->hole_size);
  memset(ws, 0, sizeof *ws);
}

static bool grow(void **p, size_t *cap, size_t need, size_t elem) {
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
  if (!grow((void **)&ws->acc, &cap, n, sizeof *ws->acc))
    return false;
  int32_t *c = realloc(ws->cnt, cap * sizeof *c);
  if (!c)
    return false;
  ws->cnt = c;
  ws->acc_cap = cap;
  return true;
}

/* ----------------------------------------------------------- shapes */

bool vx_tensor_extents(vx_shape shape, const vx_eval_frame *fr, int ext[VX_AXIS_COUNT], size_t *size,
                       vx_interp_error *err) {
  size_t n = 1;
  for (int a = 0; a < VX_AXIS_COUNT; a++) {
    ext[a] = 1;
    if (!vx_shape_has(shape, (vx_axis)a))
      continue;
    int e = 0;
    switch ((vx_axis)a) {
    case VX_AXIS_PAGE:
      e = fr->pages;
      break;
    case VX_AXIS_HEAD:
      e = fr->group;
      break;
    case VX_AXIS_SUB:
    case VX_AXIS_TOK:
      if (shape.split && (shape.split > fr->page_size || fr->page_size % shape.split != 0))
        return vx_interp_fail(err, "split width %d does not divide the page size %d", shape.split,
                              fr->page_size);
      if (a == VX_AXIS_SUB)
        e = shape.split ? fr->page_size / shape.split : 0;
      else
        e = shape.split ? shape.split : fr->page_size;
      break;
    case VX_AXIS_DIM:
      e = fr->head_dim;
      break;
    case VX_AXIS_COUNT:
      break;
    }
    if (e < 1)
      return vx_interp_fail(err, "axis %s is not available here", vx_axis_name((vx_axis)a));
    ext[a] = e;
    n *= (size_t)e;
  }
  *size = n;
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
static bool extents_agree(const vx_tensor *arg, const vx_tensor *out, int skip) {
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

static bool eval_elementwise(vx_eval_ws *ws, const vx_op *op, vx_tensor *out, const vx_tensor *const *args,
                             int nargs, vx_interp_error *err) {
  int inner = inner_axis(out->ext);
  int len = inner < 0 ? 1 : out->ext[inner];
  if (!grow((void **)&ws->rows, &ws->row_cap, (size_t)len * 3, sizeof *ws->rows))
    return vx_interp_fail(err, "out of memory");
  size_t st[3][VX_AXIS_COUNT];
  double *row[3] = {ws->rows, ws->rows + len, ws->rows + 2 * (size_t)len};
  for (int k = 0; k < nargs; k++) {
    if (!extents_agree(args[k], out, -1))
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

static bool eval_reduce(vx_eval_ws *ws, const vx_op *op, vx_tensor *out, const vx_tensor *in, bool masked,
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
static bool eval_axismap(vx_eval_ws *ws, const vx_op *op, vx_tensor *out, const vx_tensor *in, bool masked,
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

/* ------------------------------------------------------------- driver */

static bool eval_source(const vx_eval_plan *plan, const vx_op *op, vx_tensor *out, const vx_eval_hooks *hooks,
                        vx_interp_error *err) {
  switch (op->code) {
  case VX_OP_CONST:
    out->data[0] = (float)op->number;
    return true;
  case VX_OP_PARAM:
    if (op->index < 0 || op->index >= plan->module->nparams)
      return vx_interp_fail(err, "param %%%d: param index %d out of range", op->id, op->index);
    out->data[0] = (float)plan->module->params[op->index].value;
    return true;
  default:
    return hooks->source(hooks->ctx, op, out, err);
  }
}

/* Places every value in buf (sizes already in ws->values): best fit among
 * the ranges freed by dead values, else at the end. A value's operands
 * are released only after it is placed, so an op never overwrites its
 * own inputs. Returns the floats buf must hold. */
static size_t place_values(const vx_eval_plan *plan, vx_eval_ws *ws) {
  size_t top = 0;
  int holes = 0;
  for (int i = 0; i < plan->nops; i++) {
    if (owns_buffer(plan->ops[i])) {
      size_t need = ws->values[i].size;
      int best = -1;
      for (int h = 0; h < holes; h++)
        if (ws->hole_size[h] >= need && (best < 0 || ws->hole_size[h] < ws->hole_size[best]))
          best = h;
      if (best < 0) {
        ws->offset[i] = top;
        top += need;
      } else {
        ws->offset[i] = ws->hole_at[best];
        ws->hole_at[best] += need;
        ws->hole_size[best] -= need;
      }
    }
    for (int k = plan->released_from[i]; k < plan->released_from[i + 1]; k++) {
      int o = plan->released[k];
      ws->hole_at[holes] = ws->offset[o];
      ws->hole_size[holes++] = ws->values[o].size;
    }
  }
  return top;
}

bool vx_eval_run(const vx_eval_plan *plan, vx_eval_ws *ws, const vx_eval_frame *fr, const vx_eval_hooks *hooks,
                 vx_interp_error *err) {
  /* Size every value first, then place them in one buffer; page size and
   * head dim are fixed for a workspace, so a placement made for the same
   * page count and group is still valid (every page of cache_update). */
  if (ws->placed_pages != fr->pages || ws->placed_group != fr->group) {
    ws->placed_pages = ws->placed_group = -1;
    for (int i = 0; i < plan->nops; i++) {
      const vx_op *op = plan->ops[i];
      vx_tensor *t = &ws->values[i];
      memset(t, 0, sizeof *t);
      const vx_op_info *info = vx_op_info_of(op->code);
      if (info->cls == VX_OPC_SINK)
        continue;
      t->shape = op->shape;
      vx_interp_error why = {""};
      if (!vx_tensor_extents(op->shape, fr, t->ext, &t->size, &why))
        return vx_interp_fail(err, "%s %%%d: %s", info->mnemonic, op->id, why.message);
      if ((op->code == VX_OP_CONST || op->code == VX_OP_PARAM) && t->size != 1)
        return vx_interp_fail(err, "%s %%%d must be a scalar", info->mnemonic, op->id);
    }
    size_t total = place_values(plan, ws);
    if (!grow((void **)&ws->buf, &ws->buf_cap, total ? total : 1, sizeof *ws->buf))
      return vx_interp_fail(err, "out of memory (%zu floats of intermediates)", total);
    ws->placed_pages = fr->pages;
    ws->placed_group = fr->group;
  }
  bool masked = fr->valid_tokens < fr->page_size;
  for (int i = 0; i < plan->nops; i++) {
    const vx_op *op = plan->ops[i];
    const vx_op_info *info = vx_op_info_of(op->code);
    vx_tensor *t = &ws->values[i];
    const vx_tensor *args[3] = {NULL, NULL, NULL};
    for (int k = 0; k < info->noperands; k++)
      args[k] = &ws->values[plan->operand_slot[i * 3 + k]];
    if (info->cls != VX_OPC_SINK && info->cls != VX_OPC_SPLIT)
      t->data = ws->buf + ws->offset[i];
    bool ok = true;
    switch (info->cls) {
    case VX_OPC_SOURCE:
      ok = eval_source(plan, op, t, hooks, err);
      break;
    case VX_OPC_UNARY:
    case VX_OPC_BINARY:
    case VX_OPC_TERNARY:
      ok = eval_elementwise(ws, op, t, args, info->noperands, err);
      break;
    case VX_OPC_REDUCE:
    case VX_OPC_AXISMAP:
      if ((unsigned)op->axis >= VX_AXIS_COUNT || !vx_shape_has(args[0]->shape, op->axis) ||
          (info->cls == VX_OPC_REDUCE && vx_shape_has(t->shape, op->axis)) ||
          (t->shape.axes | VX_AXIS_BIT(op->axis)) != (args[0]->shape.axes | VX_AXIS_BIT(op->axis)) ||
          !extents_agree(args[0], t, op->axis))
        return vx_interp_fail(err, "%s %%%d: axis and shapes do not match", info->mnemonic, op->id);
      ok = info->cls == VX_OPC_REDUCE ? eval_reduce(ws, op, t, args[0], masked, fr->valid_tokens, err)
                                      : eval_axismap(ws, op, t, args[0], masked, fr->valid_tokens, err);
      break;
    case VX_OPC_SPLIT:
      /* [.., tok(P), dim] and [.., sub, tok(s), dim] share one layout
       * (token = sub * s + tok), so a split is a relabelling. */
      if (vx_shape_has(args[0]->shape, VX_AXIS_SUB) || args[0]->size != t->size ||
          t->shape.axes != (args[0]->shape.axes | VX_AXIS_BIT(VX_AXIS_SUB)))
        return vx_interp_fail(err, "split %%%d: operand already split or sizes differ", op->id);
      t->data = args[0]->data;
      break;
    case VX_OPC_SINK:
      ok = hooks->sink(hooks->ctx, op, args, err);
      break;
    }
    if (!ok)
      return false;
  }
  return true;
}

/* One __device__ function per IR value: the value at one point of its
 * axes, computed from its operands' functions at the same point (or, for
 * reductions, a loop over the reduced axis). nvcc inlines the whole tree
 * into the kernel that asks for a root (a stored field, a score), so the
 * generated kernels contain no intermediate arrays unless an emitter
 * stages a value on purpose (see index_plan.c).
 *
 * Every function takes the point as canonical variables, one per axis of
 * its shape: pg (a page: logical index + physical id), h (head), s (sub),
 * t (tok), d (dim). Loops over a reduced axis reuse the canonical name of
 * that axis, so an operand call is always spelled the same way. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cg.h"

const char *const vx_cg_axis_var[VX_AXIS_COUNT] = {"pg", "h", "s", "t", "d"};

static bool in_cache(const vx_op *op) { return op->parent->kind == VX_FUNC_CACHE_UPDATE; }

void vx_cg_value_name(const vx_cg *cg, const vx_op *op, char *buf, size_t n) {
  snprintf(buf, n, "%s_%s_v%d", cg->alg, in_cache(op) ? "cache" : "index", op->id);
}

bool vx_cg_vec_dim(const vx_cg *cg, const vx_op *op) {
  return cg->vec && !in_cache(op) && vx_shape_has(op->shape, VX_AXIS_PAGE) && vx_shape_has(op->shape, VX_AXIS_DIM);
}

static bool warp_reduction(const vx_op *op);

/* Vector index emitter: `dl` (the dim's slot in the lane) is in scope in
 * the body of `caller`. */
static bool dl_in_scope(const vx_cg *cg, const vx_op *caller) {
  return caller && (vx_cg_vec_dim(cg, caller) || (cg->vec && warp_reduction(caller)));
}

/* A call from `caller` (NULL: the kernel) with one axis optionally bound
 * to another expression. A value held in registers per lane is read
 * through its _lane accessor where dl is known. */
static void call_from(vx_cg *cg, vx_buf *b, const vx_op *caller, const vx_op *op, int bound_axis,
                      const char *bound_expr) {
  char name[96];
  vx_cg_value_name(cg, op, name, sizeof name);
  const bool lane = cg->lane_res && cg->lane_res[op->id] && dl_in_scope(cg, caller);
  vx_buf_printf(b, "%s%s(c", name, lane ? "_lane" : "");
  for (int a = 0; a < VX_AXIS_COUNT; a++) {
    if (!vx_shape_has(op->shape, (vx_axis)a) || (lane && a == VX_AXIS_DIM)) continue;
    vx_buf_printf(b, ", %s", a == bound_axis ? bound_expr : vx_cg_axis_var[a]);
  }
  if (lane || vx_cg_vec_dim(cg, op)) vx_buf_puts(b, ", dl");
  vx_buf_puts(b, ")");
}

static void call_with(vx_cg *cg, vx_buf *b, const vx_op *op, int bound_axis, const char *bound_expr) {
  call_from(cg, b, NULL, op, bound_axis, bound_expr);
}

void vx_cg_call(vx_cg *cg, vx_buf *b, const vx_op *op) { call_with(cg, b, op, -1, NULL); }

static void signature(vx_cg *cg, const vx_op *op, const char *suffix, int renamed_axis) {
  vx_buf *b = cg->out;
  char name[96];
  vx_cg_value_name(cg, op, name, sizeof name);
  vx_buf_printf(b, "static __device__ __forceinline__ float %s%s(const %s_%s_ctx &c", name, suffix, cg->alg,
                in_cache(op) ? "cache" : "index");
  for (int a = 0; a < VX_AXIS_COUNT; a++) {
    if (!vx_shape_has(op->shape, (vx_axis)a)) continue;
    if (a == VX_AXIS_PAGE)
      vx_buf_printf(b, ", const %s_page &pg", cg->alg);
    else
      vx_buf_printf(b, ", int %s%s", vx_cg_axis_var[a], a == renamed_axis ? "0" : "");
  }
  if (vx_cg_vec_dim(cg, op)) vx_buf_puts(b, ", int dl");
  vx_buf_puts(b, ") {\n");
}

/* Canonical flat index of the non-page axes of `shape` at the canonical
 * variables: ((h * SUB + s) * TOK + t) * DIM + d, absent axes left out. */
static void flat_index(vx_cg *cg, vx_buf *b, vx_shape shape) {
  bool first = true;
  for (int a = VX_AXIS_HEAD; a < VX_AXIS_COUNT; a++) {
    if (!vx_shape_has(shape, (vx_axis)a)) continue;
    if (first)
      vx_buf_puts(b, vx_cg_axis_var[a]);
    else
      vx_buf_printf(b, " * %d + %s", vx_cg_extent(cg->m, shape, (vx_axis)a), vx_cg_axis_var[a]);
    first = false;
  }
  if (first) vx_buf_puts(b, "0");
}

int vx_cg_open_point_loops(vx_cg *cg, vx_shape shape) {
  vx_buf *b = cg->out;
  int loops = 0;
  for (int a = VX_AXIS_HEAD; a < VX_AXIS_COUNT; a++) {
    if (!vx_shape_has(shape, (vx_axis)a)) continue;
    vx_buf_line(b, "for (int %s = 0; %s < %d; ++%s) {", vx_cg_axis_var[a], vx_cg_axis_var[a], vx_cg_extent(cg->m, shape, (vx_axis)a),
                vx_cg_axis_var[a]);
    b->indent++;
    loops++;
  }
  vx_buf tmp;
  vx_buf_init(&tmp);
  flat_index(cg, &tmp, shape);
  vx_buf_line(b, "const int flat = %s;", tmp.oom || !tmp.data ? "0" : tmp.data);
  if (tmp.oom) b->oom = true;
  vx_buf_free(&tmp);
  return loops;
}

void vx_cg_decompose(vx_cg *cg, vx_shape shape) {
  const int total = vx_cg_elems(cg->m, shape);
  int inner = 1;
  for (int a = VX_AXIS_COUNT - 1; a >= VX_AXIS_HEAD; a--) {
    if (!vx_shape_has(shape, (vx_axis)a)) continue;
    const int ext = vx_cg_extent(cg->m, shape, (vx_axis)a);
    if (inner * ext == total && inner == 1)
      vx_buf_line(cg->out, "const int %s = i;", vx_cg_axis_var[a]);
    else if (inner * ext == total)
      vx_buf_line(cg->out, "const int %s = i / %d;", vx_cg_axis_var[a], inner);
    else if (inner == 1)
      vx_buf_line(cg->out, "const int %s = i %% %d;", vx_cg_axis_var[a], ext);
    else
      vx_buf_line(cg->out, "const int %s = (i / %d) %% %d;", vx_cg_axis_var[a], inner, ext);
    inner *= ext;
  }
}

void vx_cg_close_loops(vx_cg *cg, int n) {
  for (int i = 0; i < n; i++) {
    cg->out->indent--;
    vx_buf_line(cg->out, "}");
  }
}

/* Loop bound of a reduction/normalisation over `axis` of operand shape
 * `in`. In cache_update only valid tokens (and slices holding one) take
 * part; elsewhere extents are compile-time constants. */
static void loop_bound(vx_cg *cg, vx_buf *b, const vx_op *op, vx_shape in, vx_axis axis) {
  const int ext = vx_cg_extent(cg->m, in, axis);
  if (in_cache(op) && axis == VX_AXIS_TOK) {
    if (vx_shape_has(in, VX_AXIS_SUB))
      vx_buf_printf(b, "%s_slice_tokens(c.valid, s, %d)", cg->alg, ext);
    else
      vx_buf_puts(b, "c.valid");
  } else if (in_cache(op) && axis == VX_AXIS_SUB) {
    vx_buf_printf(b, "%s_valid_slices(c.valid, %d)", cg->alg, vx_cg_extent(cg->m, in, VX_AXIS_TOK));
  } else {
    vx_buf_printf(b, "%d", ext);
  }
}

/* A reduction over dim of a per-page value in the index kernel: a warp
 * evaluates one page, lane l takes d = l, l + 32, ... (coalesced field
 * reads) and the lanes meet through xor shuffles, so every lane returns
 * the result. Head dims are multiples of 32, so all lanes run the same
 * number of iterations and nested warp reductions stay converged. */
static void body_reduce_warp(vx_cg *cg, const vx_op *op) {
  vx_buf *b = cg->out;
  const vx_op *x = op->operands[0];
  const bool is_max = op->code == VX_OP_REDUCE_MAX, is_min = op->code == VX_OP_REDUCE_MIN;
  const char *combine = is_max ? "fmaxf(acc, %s)" : is_min ? "fminf(acc, %s)" : NULL;
  vx_buf_printf(b, "  float acc = %s;\n", is_max || is_min ? "__int_as_float(0x7fffffff)" : "0.0f");
  vx_buf_printf(b, "  for (int d = threadIdx.x & 31; d < %d; d += 32) {\n    const float x = ", vx_cg_extent(cg->m, x->shape, VX_AXIS_DIM));
  call_from(cg, b, op, x, -1, NULL);
  vx_buf_puts(b, ";\n");
  if (combine) {
    vx_buf_puts(b, "    acc = ");
    vx_buf_printf(b, combine, "x");
    vx_buf_puts(b, ";\n  }\n  for (int o = 16; o > 0; o >>= 1) acc = ");
    vx_buf_printf(b, combine, "__shfl_xor_sync(0xffffffffu, acc, o)");
    vx_buf_puts(b, ";\n");
  } else {
    vx_buf_printf(b, "    acc += %s;\n  }\n", op->code == VX_OP_REDUCE_NORM ? "x * x" : "x");
    vx_buf_puts(b, "  for (int o = 16; o > 0; o >>= 1) acc += __shfl_xor_sync(0xffffffffu, acc, o);\n");
  }
  switch (op->code) {
  case VX_OP_REDUCE_MEAN: vx_buf_printf(b, "  return acc / %d.0f;\n", vx_cg_extent(cg->m, x->shape, VX_AXIS_DIM)); break;
  case VX_OP_REDUCE_NORM: vx_buf_puts(b, "  return sqrtf(acc);\n"); break;
  default: vx_buf_puts(b, "  return acc;\n"); break;
  }
}

/* Vector emitter: the page is owned by a group of L lanes; lane l of the
 * group holds the dims (l + k * L) * 8 + e (k < K, e < 8), whose fields it
 * read with 16-byte loads. It sums its own dims in order (k, then e), then
 * the group meets through log2(L) xor shuffles (which stay inside the
 * group), so every lane of the group returns the result. Sum order: per
 * lane sequential, then a pairwise tree over the L lanes. */
static void body_reduce_lanes(vx_cg *cg, const vx_op *op, bool meet_lanes) {
  vx_buf *b = cg->out;
  const vx_op *x = op->operands[0];
  const bool is_max = op->code == VX_OP_REDUCE_MAX, is_min = op->code == VX_OP_REDUCE_MIN;
  const char *combine = is_max ? "fmaxf(acc, %s)" : is_min ? "fminf(acc, %s)" : NULL;
  vx_buf_printf(b, "  float acc = %s;\n", is_max || is_min ? "__int_as_float(0x7fffffff)" : "0.0f");
  vx_buf_printf(b, "#pragma unroll\n  for (int k = 0; k < %d; ++k) {\n", cg->chunks);
  vx_buf_puts(b, "#pragma unroll\n    for (int e = 0; e < 8; ++e) {\n");
  vx_buf_printf(b, "      const int dl = k * 8 + e;\n      const int d = (pg.lane + k * %d) * 8 + e;\n", cg->lanes);
  vx_buf_puts(b, "      const float x = ");
  call_from(cg, b, op, x, -1, NULL);
  vx_buf_puts(b, ";\n      acc = ");
  if (combine)
    vx_buf_printf(b, combine, "x");
  else
    vx_buf_puts(b, op->code == VX_OP_REDUCE_NORM ? "acc + x * x" : "acc + x");
  vx_buf_puts(b, ";\n    }\n  }\n");
  if (!meet_lanes) { /* the lane's own dims only: the caller meets the lanes */
    vx_buf_puts(b, "  return acc;\n");
    return;
  }
  vx_buf_printf(b, "  for (int o = %d; o > 0; o >>= 1) acc = ", cg->lanes / 2);
  if (combine)
    vx_buf_printf(b, combine, "__shfl_xor_sync(0xffffffffu, acc, o)");
  else
    vx_buf_puts(b, "acc + __shfl_xor_sync(0xffffffffu, acc, o)");
  vx_buf_puts(b, ";\n");
  switch (op->code) {
  case VX_OP_REDUCE_MEAN: vx_buf_printf(b, "  return acc / %d.0f;\n", vx_cg_extent(cg->m, x->shape, VX_AXIS_DIM)); break;
  case VX_OP_REDUCE_NORM: vx_buf_puts(b, "  return sqrtf(acc);\n"); break;
  default: vx_buf_puts(b, "  return acc;\n"); break;
  }
}

static bool warp_reduction(const vx_op *op) {
  return !in_cache(op) && vx_op_info_of(op->code)->cls == VX_OPC_REDUCE && op->axis == VX_AXIS_DIM &&
         vx_shape_has(op->shape, VX_AXIS_PAGE);
}

/* Vector emitter: a reduction over head (max, min, sum, mean) of a per-head
 * sum over dim, [page, head] -> [page], whose only user it is (quest's and
 * block top-k's score). Reducing each head's sum through its own log2(L)
 * shuffles costs H * log2(L) shuffle-add pairs per page; a transposed
 * butterfly halves the values a lane holds at each of the first log2(H)
 * steps instead (H - 1 + log2(L) - log2(H) + log2(H) shuffles in all: 7
 * instead of 16 for 4 heads over 16 lanes), which matters because the GQA
 * index is issue-bound (bench/RESULTS.md run 11). Same values, other
 * summation order over lanes. */
static bool transposed_head_reduction(const vx_cg *cg, const vx_op *op) {
  if (!cg->vec || in_cache(op) || vx_op_info_of(op->code)->cls != VX_OPC_REDUCE || op->axis != VX_AXIS_HEAD ||
      op->code == VX_OP_REDUCE_NORM || op->shape.axes != VX_AXIS_BIT(VX_AXIS_PAGE))
    return false;
  const vx_op *x = op->operands[0];
  if (!warp_reduction(x) || x->code != VX_OP_REDUCE_SUM ||
      x->shape.axes != (VX_AXIS_BIT(VX_AXIS_PAGE) | VX_AXIS_BIT(VX_AXIS_HEAD)) || !x->uses || x->uses->next)
    return false;
  const int heads = vx_cg_extent(cg->m, x->shape, VX_AXIS_HEAD);
  return heads >= 2 && heads <= cg->lanes && (heads & (heads - 1)) == 0;
}

/* The sum over dim feeding a transposed head reduction: emitted as its
 * lane-local part only (NAME_partial). */
static bool lane_partial_only(const vx_cg *cg, const vx_op *op) {
  return warp_reduction(op) && op->uses && !op->uses->next && transposed_head_reduction(cg, op->uses->user);
}

static void body_reduce_heads_transposed(vx_cg *cg, const vx_op *op) {
  vx_buf *b = cg->out;
  const vx_op *x = op->operands[0];
  const int heads = vx_cg_extent(cg->m, x->shape, VX_AXIS_HEAD), lanes = cg->lanes;
  char name[96];
  vx_cg_value_name(cg, x, name, sizeof name);
  vx_buf_printf(b, "  /* per-head lane sums of %%%d meet in a transposed butterfly: at shuffle distance\n"
                   "   * o the lanes with bit o set keep the upper half of their heads */\n", x->id);
  vx_buf_printf(b, "  float part[%d];\n#pragma unroll\n  for (int h = 0; h < %d; ++h) part[h] = %s_partial(c, pg, h);\n",
                heads, heads, name);
  int o = lanes / 2;
  for (int m = heads; m > 1; m /= 2, o /= 2) {
    vx_buf_printf(b, "  { /* %d -> %d heads per lane */\n    const bool up = (pg.lane & %d) != 0;\n", m, m / 2, o);
    vx_buf_printf(b, "#pragma unroll\n    for (int i = 0; i < %d; ++i) {\n", m / 2);
    vx_buf_printf(b, "      const float send = up ? part[i] : part[i + %d];\n", m / 2);
    vx_buf_printf(b, "      part[i] = (up ? part[i + %d] : part[i]) + __shfl_xor_sync(0xffffffffu, send, %d);\n    }\n  }\n",
                  m / 2, o);
  }
  if (o > 0)
    vx_buf_printf(b, "  for (int o = %d; o > 0; o >>= 1) part[0] = part[0] + __shfl_xor_sync(0xffffffffu, part[0], o);\n", o);
  /* lane l now holds head (l / (lanes / heads)) 's whole sum; combine heads */
  const bool is_max = op->code == VX_OP_REDUCE_MAX, is_min = op->code == VX_OP_REDUCE_MIN;
  vx_buf_printf(b, "  float acc = part[0]; /* the head this lane's high bits name */\n");
  vx_buf_printf(b, "  for (int o = %d; o >= %d; o >>= 1) acc = ", lanes / 2, lanes / heads);
  if (is_max || is_min)
    vx_buf_printf(b, "%s(acc, __shfl_xor_sync(0xffffffffu, acc, o));\n", is_max ? "fmaxf" : "fminf");
  else
    vx_buf_puts(b, "acc + __shfl_xor_sync(0xffffffffu, acc, o);\n");
  if (op->code == VX_OP_REDUCE_MEAN)
    vx_buf_printf(b, "  return acc / %d.0f;\n", heads);
  else
    vx_buf_puts(b, "  return acc;\n");
}

static void body_reduce(vx_cg *cg, const vx_op *op) {
  vx_buf *b = cg->out;
  const vx_op *x = op->operands[0];
  const char *v = vx_cg_axis_var[op->axis];
  if (transposed_head_reduction(cg, op)) {
    body_reduce_heads_transposed(cg, op);
    return;
  }
  if (warp_reduction(op)) {
    if (cg->vec)
      body_reduce_lanes(cg, op, true);
    else
      body_reduce_warp(cg, op);
    return;
  }
  vx_buf_printf(b, "  const int count = ");
  loop_bound(cg, b, op, x->shape, op->axis);
  vx_buf_puts(b, ";\n");
  const bool is_max = op->code == VX_OP_REDUCE_MAX, is_min = op->code == VX_OP_REDUCE_MIN;
  /* max/min start from NaN: fmaxf/fminf return the other operand, so the
   * first element wins and NaNs are skipped, as in the interpreter. */
  vx_buf_printf(b, "  float acc = %s;\n", is_max || is_min ? "__int_as_float(0x7fffffff)" : "0.0f");
  if ((cg->vec || cg->mma.on) && !in_cache(op) && vx_shape_has(op->shape, VX_AXIS_PAGE)) vx_buf_puts(b, "#pragma unroll\n");
  vx_buf_printf(b, "  for (int %s = 0; %s < count; ++%s) {\n    const float x = ", v, v, v);
  call_from(cg, b, op, x, -1, NULL);
  vx_buf_puts(b, ";\n");
  switch (op->code) {
  case VX_OP_REDUCE_MAX: vx_buf_puts(b, "    acc = fmaxf(acc, x);\n"); break;
  case VX_OP_REDUCE_MIN: vx_buf_puts(b, "    acc = fminf(acc, x);\n"); break;
  case VX_OP_REDUCE_NORM: vx_buf_puts(b, "    acc += x * x;\n"); break;
  default: vx_buf_puts(b, "    acc += x;\n"); break;
  }
  vx_buf_puts(b, "  }\n");
  switch (op->code) {
  case VX_OP_REDUCE_MEAN: vx_buf_puts(b, "  return count > 0 ? acc / (float)count : 0.0f;\n"); break;
  case VX_OP_REDUCE_NORM: vx_buf_puts(b, "  return sqrtf(acc);\n"); break;
  case VX_OP_REDUCE_MAX:
  case VX_OP_REDUCE_MIN: vx_buf_puts(b, "  return count > 0 ? acc : 0.0f;\n"); break;
  default: vx_buf_puts(b, "  return acc;\n"); break;
  }
}

/* softmax/normalize along a non-page axis; the point's own coordinate on
 * that axis arrives as <var>0 so the loops can use the canonical name. */
static void body_axismap_local(vx_cg *cg, const vx_op *op) {
  vx_buf *b = cg->out;
  const vx_op *x = op->operands[0];
  const char *v = vx_cg_axis_var[op->axis];
  char own[8];
  snprintf(own, sizeof own, "%s0", v);
  vx_buf_puts(b, "  const int count = ");
  loop_bound(cg, b, op, x->shape, op->axis);
  vx_buf_puts(b, ";\n  const float x = ");
  call_from(cg, b, op, x, op->axis, own);
  vx_buf_puts(b, ";\n");
  if (op->code == VX_OP_SOFTMAX) {
    vx_buf_printf(b, "  float mx = __int_as_float(0x7fffffff);\n  for (int %s = 0; %s < count; ++%s) mx = fmaxf(mx, ", v, v, v);
    call_from(cg, b, op, x, -1, NULL);
    vx_buf_printf(b, ");\n  float sum = 0.0f;\n  for (int %s = 0; %s < count; ++%s) sum += expf(", v, v, v);
    call_from(cg, b, op, x, -1, NULL);
    vx_buf_puts(b, " - mx);\n  return expf(x - mx) / sum;\n");
  } else {
    vx_buf_printf(b, "  float sum = 0.0f;\n  for (int %s = 0; %s < count; ++%s) sum += ", v, v, v);
    call_from(cg, b, op, x, -1, NULL);
    vx_buf_puts(b, ";\n  return x / sum;\n");
  }
}

static void row_read(vx_cg *cg, vx_buf *b, int offset, vx_shape shape) {
  char off[16];
  vx_buf_printf(b, "c.row[%s", vx_cg_offset(offset, off));
  flat_index(cg, b, shape);
  vx_buf_puts(b, "]");
}

static void body_source(vx_cg *cg, const vx_op *op) {
  vx_buf *b = cg->out;
  const vx_module *m = cg->m;
  switch (op->code) {
  case VX_OP_INPUT_K:
  case VX_OP_INPUT_V:
    /* Slots past a partial page's end hold garbage: they read as 0. */
    vx_buf_printf(b, "  return t < c.valid ? vx_elem<%s_kv_t>::to_float(c.%s[(long long)t * c.stride_token + d]) : 0.0f;\n",
                  cg->alg, op->code == VX_OP_INPUT_K ? "k" : "v");
    return;
  case VX_OP_INPUT_Q:
    if (cg->rows[op->id].kind == VX_ROW_STAGED) {
      vx_buf_puts(b, "  return ");
      row_read(cg, b, cg->rows[op->id].offset, op->shape);
      vx_buf_puts(b, ";\n");
    } else {
      vx_buf_printf(b, "  return vx_elem<%s_kv_t>::to_float(c.q[h * %d + d]);\n", cg->alg, m->geo.head_dim);
    }
    return;
  case VX_OP_LOAD_FIELD: {
    const vx_ir_field *f = &m->fields[op->index];
    if (vx_cg_vec_dim(cg, op)) {
      /* The lane's chunks were loaded by page_at (16 bytes each): chunk
       * k = dl / 8 of the outer index, element dl % 8. */
      const int per = 16 / vx_cg_dtype_bytes(f->storage), w = vx_cg_dtype_bytes(f->storage) / 2;
      vx_shape outer = f->shape;
      outer.axes &= (uint8_t)~VX_AXIS_BIT(VX_AXIS_DIM);
      vx_buf_printf(b, "  return %s_lane_%s(pg.f_%s[(", cg->alg,
                    f->storage == VX_DTYPE_BF16 ? "bf16" : f->storage == VX_DTYPE_F16 ? "f16" : "f32", f->name);
      if (outer.axes) {
        vx_buf_puts(b, "(");
        flat_index(cg, b, outer);
        vx_buf_printf(b, ") * %d + ", cg->chunks);
      }
      vx_buf_printf(b, "(dl >> 3)) * %d + (dl & 7) / %d], dl & %d);\n", w, per, per - 1);
      return;
    }
    vx_buf line;
    vx_buf_init(&line);
    vx_buf_printf(&line, "c.fields.%s[((long long)pg.phys * c.kv_heads + c.h) * %d + ", f->name, vx_cg_elems(m, f->shape));
    flat_index(cg, &line, f->shape);
    vx_buf_puts(&line, "]");
    vx_buf_puts(b, "  return ");
    vx_cg_to_float(b, f->storage, line.oom || !line.data ? "0" : line.data);
    if (line.oom) b->oom = true;
    vx_buf_free(&line);
    vx_buf_puts(b, ";\n");
    return;
  }
  case VX_OP_LOAD_STATE: vx_buf_printf(b, "  return c.state_in[%d][pg.j];\n", op->index); return;
  case VX_OP_PAGE_INDEX: vx_buf_puts(b, "  return (float)pg.j;\n"); return;
  case VX_OP_PAGE_COUNT: vx_buf_puts(b, "  return (float)c.n;\n"); return;
  case VX_OP_PAGE_AGE: vx_buf_puts(b, "  return (float)(c.n - 1 - pg.j);\n"); return;
  case VX_OP_PARAM:
  case VX_OP_CONST:
    vx_buf_puts(b, "  return ");
    vx_cg_float_literal(b, op->code == VX_OP_PARAM ? m->params[op->index].value : op->number);
    vx_buf_puts(b, ";\n");
    return;
  default: vx_cg_error(cg, "codegen: unexpected source op %s", vx_op_info_of(op->code)->mnemonic); return;
  }
}

/* Whether evaluating op's value function may execute a warp shuffle: a
 * reduction over dim of a per-page value (body_reduce_warp,
 * body_reduce_lanes), directly or through the functions it calls. A
 * reduction over page reads its row result and calls nothing. memo[id]:
 * 0 not yet known, 1 no, 2 yes (the IR is a DAG: without it, shared
 * operands would be walked once per path). */
static bool reaches_shuffle(const vx_op *op, unsigned char *memo) {
  if (memo[op->id]) return memo[op->id] == 2;
  const vx_op_info *info = vx_op_info_of(op->code);
  bool r = warp_reduction(op);
  if (!r && !(info->cls == VX_OPC_REDUCE && op->axis == VX_AXIS_PAGE))
    for (int i = 0; i < info->noperands && !r; i++) r = reaches_shuffle(op->operands[i], memo);
  memo[op->id] = r ? 2 : 1;
  return r;
}

/* Whether `where` op (index only: the cache kernels have no shuffles) must
 * evaluate its operands eagerly. A lazy `?:` is a branch; if an operand
 * behind it reaches a shuffle (__shfl_xor_sync with the full mask), every
 * lane of the warp must take the branch the same way: a full-mask shuffle
 * that some lanes skip is undefined behaviour (a hang, for instance).
 * - Vector form: always. The lane groups of a warp own different pages, so
 *   even a page-level condition differs between them (codegen_stress:
 *   where(page_age < 2, 1, tanh(sum(qm * vn, dim) / ...)) with an odd page
 *   count: by reading the code, the cause of its hang on the H200).
 * - Scalar form: a warp owns one page and runs the loops over head, sub
 *   and tok in step; only d differs between its lanes (lane l takes
 *   d = l, l + 32, ... inside a reduction over dim). So a condition without
 *   a dim axis is warp-uniform and the lazy form stays; a condition with
 *   one (where(q * c > 0, q * c, sum(q * c, dim)) summed over dim) is
 *   evaluated eagerly when an arm reaches a shuffle. */
static bool eager_where(const vx_cg *cg, const vx_op *op) {
  if (in_cache(op)) return false;
  if (cg->vec) return true;
  if (!vx_shape_has(op->operands[0]->shape, VX_AXIS_DIM)) return false;
  unsigned char *memo = calloc((size_t)(op->parent->next_id > 0 ? op->parent->next_id : 1), 1);
  if (!memo) return true; /* always correct, only slower */
  const bool r = reaches_shuffle(op->operands[1], memo) || reaches_shuffle(op->operands[2], memo);
  free(memo);
  return r;
}

static void body_elementwise(vx_cg *cg, const vx_op *op) {
  vx_buf *b = cg->out;
  const vx_op_info *info = vx_op_info_of(op->code);
  static const char *const names[3] = {"a", "b", "w"};
  /* `where` is a lazy `?:` (the unselected operand is not computed) unless
   * that would put warp shuffles under a branch the lanes taking part in
   * them may take differently (eager_where): then the operands are
   * evaluated unconditionally, then selected. Every value function is pure,
   * so evaluating the unselected operand changes no result. */
  if (op->code == VX_OP_WHERE && eager_where(cg, op)) {
    for (int i = 0; i < 3; i++) {
      vx_buf_printf(b, "  const float %s = ", names[i]);
      call_from(cg, b, op, op->operands[i], -1, NULL);
      vx_buf_puts(b, ";\n");
    }
    vx_buf_puts(b, "  return a != 0.0f ? b : w;\n");
    return;
  }
  if (op->code == VX_OP_WHERE) {
    vx_buf_puts(b, "  return ");
    call_from(cg, b, op, op->operands[0], -1, NULL);
    vx_buf_puts(b, " != 0.0f ? ");
    call_from(cg, b, op, op->operands[1], -1, NULL);
    vx_buf_puts(b, " : ");
    call_from(cg, b, op, op->operands[2], -1, NULL);
    vx_buf_puts(b, ";\n");
    return;
  }
  for (int i = 0; i < info->noperands; i++) {
    vx_buf_printf(b, "  const float %s = ", names[i]);
    call_from(cg, b, op, op->operands[i], -1, NULL);
    vx_buf_puts(b, ";\n");
  }
  const char *expr = NULL;
  switch (op->code) {
  case VX_OP_NEG: expr = "-a"; break;
  case VX_OP_EXP: expr = "expf(a)"; break;
  case VX_OP_LOG: expr = "logf(a)"; break;
  case VX_OP_ABS: expr = "fabsf(a)"; break;
  case VX_OP_SQRT: expr = "sqrtf(a)"; break;
  case VX_OP_RELU: expr = "a > 0.0f ? a : 0.0f"; break; /* relu(NaN) = 0 */
  case VX_OP_SIGMOID: expr = "1.0f / (1.0f + expf(-a))"; break;
  case VX_OP_SILU: expr = "a / (1.0f + expf(-a))"; break;
  case VX_OP_TANH: expr = "tanhf(a)"; break;
  case VX_OP_ADD: expr = "a + b"; break;
  case VX_OP_SUB: expr = "a - b"; break;
  case VX_OP_MUL: expr = "a * b"; break;
  case VX_OP_DIV: expr = "a / b"; break;
  case VX_OP_MAX: expr = "fmaxf(a, b)"; break;
  case VX_OP_MIN: expr = "fminf(a, b)"; break;
  case VX_OP_LT: expr = "a < b ? 1.0f : 0.0f"; break;
  case VX_OP_LE: expr = "a <= b ? 1.0f : 0.0f"; break;
  case VX_OP_GT: expr = "a > b ? 1.0f : 0.0f"; break;
  case VX_OP_GE: expr = "a >= b ? 1.0f : 0.0f"; break;
  case VX_OP_EQ: expr = "a == b ? 1.0f : 0.0f"; break;
  case VX_OP_NE: expr = "a != b ? 1.0f : 0.0f"; break;
  default: vx_cg_error(cg, "codegen: unexpected elementwise op %s", info->mnemonic); return;
  }
  vx_buf_printf(b, "  return %s;\n", expr);
}

/* Reductions and softmax/normalize over page are finished per row by the
 * index kernel; the value function reads the row result. */
static void body_page_axis(vx_cg *cg, const vx_op *op) {
  vx_buf *b = cg->out;
  const vx_row_slot *slot = &cg->rows[op->id];
  vx_shape rest = op->shape;
  rest.axes &= (uint8_t)~VX_AXIS_BIT(VX_AXIS_PAGE);
  if (vx_op_info_of(op->code)->cls == VX_OPC_REDUCE) {
    vx_buf_puts(b, "  return ");
    row_read(cg, b, slot->offset, rest);
    vx_buf_puts(b, ";\n");
    return;
  }
  vx_buf_puts(b, "  const float x = ");
  call_from(cg, b, op, op->operands[0], -1, NULL);
  vx_buf_puts(b, ";\n");
  if (op->code == VX_OP_SOFTMAX) {
    vx_buf_puts(b, "  return expf(x - ");
    row_read(cg, b, slot->offset, rest);
    vx_buf_puts(b, ") / ");
    row_read(cg, b, slot->offset2, rest);
    vx_buf_puts(b, ";\n");
  } else {
    vx_buf_puts(b, "  return x / ");
    row_read(cg, b, slot->offset, rest);
    vx_buf_puts(b, ";\n");
  }
}

static void emit_body(vx_cg *cg, const vx_op *op) {
  switch (vx_op_info_of(op->code)->cls) {
  case VX_OPC_SOURCE: body_source(cg, op); break;
  case VX_OPC_UNARY:
  case VX_OPC_BINARY:
  case VX_OPC_TERNARY: body_elementwise(cg, op); break;
  case VX_OPC_REDUCE: body_reduce(cg, op); break;
  case VX_OPC_AXISMAP: body_axismap_local(cg, op); break;
  case VX_OPC_SPLIT: {
    char tok[64];
    snprintf(tok, sizeof tok, "s * %d + t", op->split);
    vx_buf_puts(cg->out, "  return ");
    call_from(cg, cg->out, op, op->operands[0], VX_AXIS_TOK, tok);
    vx_buf_puts(cg->out, ";\n");
    break;
  }
  case VX_OPC_SINK: break;
  }
}

/* Whether some user of a lane-resident value reads it at a global dim
 * (outside a per-page value). */
static bool plain_accessor_used(const vx_cg *cg, const vx_op *op) {
  for (const vx_use *u = op->uses; u; u = u->next)
    if (!dl_in_scope(cg, u->user)) return true;
  return false;
}

/* A page-independent value the kernel copied into registers (c.reg_vN):
 * the lane's dims only, [other axes][k * 8 + e]. */
static void lane_accessor(vx_cg *cg, const vx_op *op) {
  vx_buf *b = cg->out;
  char name[96];
  vx_cg_value_name(cg, op, name, sizeof name);
  vx_buf_printf(b, "/* %%%d for the dims of this lane (registers) */\n", op->id);
  vx_buf_printf(b, "static __device__ __forceinline__ float %s_lane(const %s_index_ctx &c", name, cg->alg);
  for (int a = VX_AXIS_HEAD; a < VX_AXIS_DIM; a++)
    if (vx_shape_has(op->shape, (vx_axis)a)) vx_buf_printf(b, ", int %s", vx_cg_axis_var[a]);
  vx_buf_printf(b, ", int dl) {\n  return c.reg_v%d[", op->id);
  vx_shape outer = op->shape;
  outer.axes &= (uint8_t)~VX_AXIS_BIT(VX_AXIS_DIM);
  if (outer.axes) {
    vx_buf_puts(b, "(");
    flat_index(cg, b, outer);
    vx_buf_printf(b, ") * %d + ", cg->chunks * 8);
  }
  vx_buf_puts(b, "dl];\n}\n\n");
}

/* A staged value only tensor-core sums read (their B fragments come from
 * its row slot): no per-point accessor, which nvcc would flag as unused. */
static bool only_read_by_mma(const vx_cg *cg, const vx_op *op) {
  if (!cg->mma.on || !op->uses) return false;
  for (const vx_use *u = op->uses; u; u = u->next)
    if (!vx_cg_mma_covers(cg, u->user)) return false;
  return true;
}

/* op's value function NAME<suffix> with its body. */
static void emit_function(vx_cg *cg, const vx_op *op, const char *suffix, int renamed_axis) {
  signature(cg, op, suffix, renamed_axis);
  emit_body(cg, op);
  vx_buf_puts(cg->out, "}\n\n");
}

void vx_cg_emit_value_functions(vx_cg *cg, const vx_func *f) {
  vx_buf *b = cg->out;
  for (const vx_op *op = f->first; op; op = op->next) {
    const vx_op_class cls = vx_op_info_of(op->code)->cls;
    if (cls == VX_OPC_SINK || (f->kind == VX_FUNC_INDEX && vx_cg_mma_covers(cg, op))) continue;
    const bool over_page = (cls == VX_OPC_REDUCE || cls == VX_OPC_AXISMAP) && op->axis == VX_AXIS_PAGE;
    const bool staged = f->kind == VX_FUNC_INDEX && cg->rows[op->id].kind == VX_ROW_STAGED &&
                        op->code != VX_OP_INPUT_Q;
    /* the tensor cores' B fragments read its row slot: only the row phase's
     * evaluation (if it has one) is needed */
    const bool only_mma = f->kind == VX_FUNC_INDEX && only_read_by_mma(cg, op);
    if (only_mma && !staged) continue;
    const int renamed = cls == VX_OPC_AXISMAP ? (int)op->axis : -1; /* the point's own coordinate */
    vx_buf_puts(b, "/* ");
    vx_cg_describe_op(b, op);
    vx_buf_puts(b, !staged ? " */\n" : only_mma ? " (computed once per row, read by the tensor cores) */\n"
                                                 : " (computed once per row, see the kernel) */\n");
    if (only_mma) {
      emit_function(cg, op, "_eval", renamed);
      continue;
    }
    if (over_page) {
      signature(cg, op, "", -1);
      body_page_axis(cg, op);
      vx_buf_puts(b, "}\n\n");
      continue;
    }
    if (f->kind == VX_FUNC_INDEX && vx_cg_mma_sourced(cg, op)) { /* the page loop computed it */
      signature(cg, op, "", -1);
      vx_buf_printf(b, "  return pg.acc_v%d[%s];\n}\n\n", op->id, vx_shape_has(op->shape, VX_AXIS_HEAD) ? "h" : "0");
      continue;
    }
    const bool lane_res = f->kind == VX_FUNC_INDEX && cg->lane_res && cg->lane_res[op->id];
    if (lane_res && !plain_accessor_used(cg, op)) {
      if (staged) emit_function(cg, op, "_eval", renamed); /* the row phase still evaluates it */
      lane_accessor(cg, op);
      continue;
    }
    if (lane_partial_only(cg, op)) {
      signature(cg, op, "_partial", -1);
      body_reduce_lanes(cg, op, false);
      vx_buf_puts(b, "}\n\n");
      continue;
    }
    emit_function(cg, op, staged ? "_eval" : "", renamed);
    if (staged) {
      signature(cg, op, "", -1);
      vx_buf_puts(b, "  return ");
      row_read(cg, b, cg->rows[op->id].offset, op->shape);
      vx_buf_puts(b, ";\n}\n\n");
    }
    if (f->kind == VX_FUNC_INDEX && cg->lane_res && cg->lane_res[op->id]) lane_accessor(cg, op);
  }
}

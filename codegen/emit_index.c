/* The index kernel: blocks of VX_TOPK_THREADS, grid x = rows (request, KV
 * head). Phases, each followed by a barrier:
 *   1. row values in IR order: the query group staged in shared memory,
 *      other values without a page axis worth computing once (e.g. a mean
 *      over heads), and reductions / softmax / normalize over page (block
 *      reductions over the row's pages);
 *   2. a warp per page: score -> workspace, state stores -> the next
 *      state buffer (reductions over dim split across the lanes);
 *   3. the select (emit_select.c) on the row's scores.
 * When nothing reduces over page, phase 2 is spread over several blocks
 * per row (SCORE launch) and phase 3 runs in a second launch (SELECT), so
 * small batches still fill the GPU; otherwise one block per row does all
 * three (FUSED), which is what makes page reductions cheap to support.
 * The page phase has three forms: tensor cores (emit_index_mma.c, the
 * default where the score is a bilinear form of fields and the query),
 * vector (lane groups per page) and scalar (a warp per page). */
#include <stdio.h>
#include <string.h>

#include "cg.h"

static bool index_has(const vx_cg *cg, vx_op_code code) {
  for (const vx_op *op = cg->m->index.first; op; op = op->next)
    if (op->code == code) return true;
  return false;
}

/* Whether computing op reads the row buffer (a staged value, directly or
 * through its operands). */
static bool reads_row_buffer(const vx_cg *cg, const vx_op *op) {
  if (!op) return false;
  if (cg->rows[op->id].kind != VX_ROW_INLINE) return true;
  for (int i = 0; i < 3; i++)
    if (reads_row_buffer(cg, op->operands[i])) return true;
  return false;
}

/* ALG_page_at: one page of the row (its id, and in the vector form the
 * lane's 16-byte chunks of every field). */
static void emit_page_at(vx_cg *cg) {
  vx_buf *b = cg->out;
  const vx_module *m = cg->m;
  /* Vector form: the page id arrives from the caller, because the page loop
   * loads the next iteration's ids while this one's fields are in flight (a
   * page costs one memory round trip instead of two: id, then fields). */
  if (cg->vec)
    vx_buf_line(b, "/* Logical page j whose page-table entry is id (c.pages[j], read by the caller).");
  vx_buf_line(b, "%s Out-of-range ids (a corrupt table) read page 0 instead of outside the pool. */", cg->vec ? " *" : "/*");
  vx_buf_line(b, "static __device__ __forceinline__ %s_page %s_page_at(const %s_index_ctx &c, int j%s) {", cg->alg, cg->alg,
              cg->alg, cg->vec ? ", int id" : "");
  vx_buf_line(b, "  %s_page pg;", cg->alg);
  vx_buf_line(b, "  pg.j = j;");
  vx_buf_line(b, "  pg.phys = %s;", cg->vec ? "id" : "c.pages[j]");
  vx_buf_line(b, "  if (pg.phys < 0 || (long long)pg.phys >= c.num_phys) pg.phys = 0;");
  if (cg->vec && cg->chunks > 0) {
    vx_buf_line(b, "  pg.lane = threadIdx.x & %d;", cg->lanes - 1);
    vx_buf_line(b, "  /* every field chunk of the page this lane needs, issued together */");
    for (int i = 0; i < m->nfields; i++) {
      const vx_ir_field *fl = &m->fields[i];
      if (!vx_shape_has(fl->shape, VX_AXIS_DIM)) continue;
      const int w = vx_cg_dtype_bytes(fl->storage) / 2, per = 16 / vx_cg_dtype_bytes(fl->storage);
      const int outer = vx_cg_elems(m, fl->shape) / m->geo.head_dim;
      vx_buf_line(b, "  {");
      vx_buf_line(b, "    const %s *base = c.fields.%s + ((long long)pg.phys * c.kv_heads + c.h) * %d;", vx_cg_ctype(fl->storage),
                  fl->name, vx_cg_elems(m, fl->shape));
      vx_buf_line(b, "#pragma unroll");
      vx_buf_line(b, "    for (int i = 0; i < %d; ++i)", outer);
      vx_buf_line(b, "#pragma unroll");
      vx_buf_line(b, "      for (int k = 0; k < %d; ++k)", cg->chunks);
      vx_buf_line(b, "#pragma unroll");
      vx_buf_line(b, "        for (int w = 0; w < %d; ++w)", w);
      vx_buf_line(b, "          pg.f_%s[(i * %d + k) * %d + w] = %s_ld16(base + i * %d + (pg.lane + k * %d) * 8 + w * %d);", fl->name,
                  cg->chunks, w, cg->alg, m->geo.head_dim, cg->lanes, per);
      vx_buf_line(b, "  }");
    }
  }
  vx_buf_line(b, "  return pg;");
  vx_buf_line(b, "}");
  vx_buf_blank(b);
}

static void emit_support(vx_cg *cg) {
  vx_buf *b = cg->out;
  const vx_module *m = cg->m;
  const bool inline_q = index_has(cg, VX_OP_INPUT_Q);
  vx_buf_line(b, "/* What the index value functions see: one row (request b, KV head h). */");
  vx_buf_line(b, "struct %s_index_ctx {", cg->alg);
  vx_buf_line(b, "  const int *pages;       /* physical page of logical page j: pages[j] */");
  vx_buf_line(b, "  long long num_phys;     /* pool capacity: larger ids are never read */");
  vx_buf_line(b, "  int b, h, n, kv_heads;  /* n = pages of this request */");
  if (inline_q) vx_buf_line(b, "  const %s_kv_t *q;       /* this row's query group [head][dim] */", cg->alg);
  if (m->nfields > 0) vx_buf_line(b, "  %s_field_ptrs fields;", cg->alg);
  if (m->nstates > 0) vx_buf_line(b, "  const float *state_in[%d]; /* previous step, this row */", m->nstates);
  if (cg->row_floats > 0) vx_buf_line(b, "  const float *row;       /* row values in shared memory */");
  for (const vx_op *op = m->index.first; op; op = op->next)
    if (cg->vec && cg->lane_res[op->id])
      vx_buf_line(b, "  float reg_v%d[%d];      /* %%%d, this lane's dims (registers) */", op->id,
                  vx_cg_elems(m, op->shape) / m->geo.head_dim * cg->chunks * 8, op->id);
  vx_buf_line(b, "};");
  vx_buf_blank(b);
  vx_buf_line(b, "/* A page of the row: logical index and physical pool id. */");
  vx_buf_line(b, "struct %s_page {", cg->alg);
  vx_buf_line(b, "  int j;");
  vx_buf_line(b, "  int phys;");
  if (cg->vec && cg->chunks > 0) {
    vx_buf_line(b, "  int lane; /* lane in the page's group: dims (lane + k * %d) * 8 + e */", cg->lanes);
    for (int i = 0; i < m->nfields; i++) {
      const vx_ir_field *fl = &m->fields[i];
      if (!vx_shape_has(fl->shape, VX_AXIS_DIM)) continue;
      const int w = vx_cg_dtype_bytes(fl->storage) / 2;
      vx_buf_line(b, "  uint4 f_%s[%d]; /* this lane's 16-byte chunks of field %s, loaded by %s_page_at */", fl->name,
                  vx_cg_elems(m, fl->shape) / m->geo.head_dim * cg->chunks * w, fl->name, cg->alg);
    }
  }
  if (cg->mma.on) vx_cg_emit_mma_page_members(cg);
  vx_buf_line(b, "};");
  vx_buf_blank(b);
  if ((cg->vec && cg->chunks > 0) || cg->mma.on) {
    vx_buf_line(b, "/* 16 bytes of a field through the non-coherent path (fields are read-only");
    vx_buf_line(b, " * during the index): one LDG.E.128. */");
    vx_buf_line(b, "static __device__ __forceinline__ uint4 %s_ld16(const void *p) {", cg->alg);
    vx_buf_line(b, "  uint4 v;");
    vx_buf_line(b, "  asm(\"ld.global.nc.v4.u32 {%%0, %%1, %%2, %%3}, [%%4];\" : \"=r\"(v.x), \"=r\"(v.y), \"=r\"(v.z), \"=r\"(v.w) : \"l\"(p));");
    vx_buf_line(b, "  return v;");
    vx_buf_line(b, "}");
  }
  if (cg->mma.on) vx_cg_emit_mma_helpers(cg);
  if (cg->vec && cg->chunks > 0) {
    vx_buf_line(b, "/* Element i of 16 loaded bytes (i is a compile-time constant once inlined). */");
    vx_buf_line(b, "static __device__ __forceinline__ unsigned %s_lane_word(const uint4 &v, int w) {", cg->alg);
    vx_buf_line(b, "  return w == 0 ? v.x : w == 1 ? v.y : w == 2 ? v.z : v.w;");
    vx_buf_line(b, "}");
    bool used[3] = {false, false, false};
    for (int i = 0; i < m->nfields; i++)
      used[m->fields[i].storage == VX_DTYPE_BF16 ? 0 : m->fields[i].storage == VX_DTYPE_F16 ? 1 : 2] = true;
    if (used[0]) {
      vx_buf_line(b, "static __device__ __forceinline__ float %s_lane_bf16(const uint4 &v, int i) {", cg->alg);
      vx_buf_line(b, "  const unsigned w = %s_lane_word(v, i >> 1);", cg->alg);
      vx_buf_line(b, "  return __uint_as_float((i & 1) ? (w & 0xffff0000u) : (w << 16));");
      vx_buf_line(b, "}");
    }
    if (used[1]) {
      vx_buf_line(b, "static __device__ __forceinline__ float %s_lane_f16(const uint4 &v, int i) {", cg->alg);
      vx_buf_line(b, "  const unsigned w = %s_lane_word(v, i >> 1);", cg->alg);
      vx_buf_line(b, "  return __half2float(__ushort_as_half((unsigned short)((i & 1) ? (w >> 16) : (w & 0xffffu))));");
      vx_buf_line(b, "}");
    }
    if (used[2]) {
      vx_buf_line(b, "static __device__ __forceinline__ float %s_lane_f32(const uint4 &v, int i) {", cg->alg);
      vx_buf_line(b, "  return __uint_as_float(%s_lane_word(v, i));", cg->alg);
      vx_buf_line(b, "}");
    }
    vx_buf_blank(b);
  }
  if (!cg->mma.on) emit_page_at(cg); /* the tensor-core page loop builds its pages itself */
  const vx_op *sel = vx_func_find_select(&m->index);
  if (vx_cg_index_reduces_over_page(cg) || (sel && sel->code == VX_OP_SELECT_MASS)) {
    vx_buf_line(b, "enum { %s_SUM = 0, %s_MAX = 1, %s_MIN = 2 };", cg->upper, cg->upper, cg->upper);
    vx_buf_blank(b);
    vx_buf_line(b, "/* Reduction of one float per thread over the block; every thread gets the");
    vx_buf_line(b, " * result. Warp partials are combined in warp order, so the result does not");
    vx_buf_line(b, " * depend on scheduling. max/min ignore NaN (threads without a page hold it). */");
    vx_buf_line(b, "static __device__ float %s_block_reduce(float x, int kind, float *scratch) {", cg->alg);
    vx_buf_line(b, "  for (int o = 16; o > 0; o >>= 1) {");
    vx_buf_line(b, "    const float y = __shfl_xor_sync(0xffffffffu, x, o);");
    vx_buf_line(b, "    x = kind == %s_SUM ? x + y : (kind == %s_MAX ? fmaxf(x, y) : fminf(x, y));", cg->upper, cg->upper);
    vx_buf_line(b, "  }");
    vx_buf_line(b, "  if ((threadIdx.x & 31) == 0) scratch[threadIdx.x >> 5] = x;");
    vx_buf_line(b, "  __syncthreads();");
    vx_buf_line(b, "  float r = scratch[0];");
    vx_buf_line(b, "  for (int w = 1; w < (int)(blockDim.x >> 5); ++w)");
    vx_buf_line(b, "    r = kind == %s_SUM ? r + scratch[w] : (kind == %s_MAX ? fmaxf(r, scratch[w]) : fminf(r, scratch[w]));",
                cg->upper, cg->upper);
    vx_buf_line(b, "  __syncthreads(); /* scratch is reused by the next reduction */");
    vx_buf_line(b, "  return r;");
    vx_buf_line(b, "}");
    vx_buf_blank(b);
  }
  if (sel && sel->code == VX_OP_SELECT_MASS) vx_cg_emit_mass_select(cg);
  if (sel && sel->code == VX_OP_SELECT_TOP) {
    vx_buf_line(b, "/* Pages the budget expression asks for: floor(value) clamped to [0, n], NaN -> 0. */");
    vx_buf_line(b, "static __device__ __forceinline__ int %s_budget_pages(float value, int n) {", cg->alg);
    vx_buf_line(b, "  if (!(value > 0.0f)) return 0;");
    vx_buf_line(b, "  const float f = floorf(value);");
    vx_buf_line(b, "  return f < (float)n ? (int)f : n;");
    vx_buf_line(b, "}");
    vx_buf_blank(b);
  }
}

/* One block reduction over the row's pages of x (at the current point of
 * the other axes) into row[offset + flat]. `shift` >= 0: exp(x - row[shift
 * + flat]) is reduced instead (the softmax denominator). */
static void emit_page_reduce(vx_cg *cg, const vx_op *x, vx_op_code code, int offset, int shift) {
  vx_buf *b = cg->out;
  char off[16];
  const char *kind = code == VX_OP_REDUCE_MAX ? "MAX" : code == VX_OP_REDUCE_MIN ? "MIN" : "SUM";
  const bool nan_init = code == VX_OP_REDUCE_MAX || code == VX_OP_REDUCE_MIN;
  vx_buf call;
  vx_buf_init(&call);
  vx_cg_call(cg, &call, x);
  const char *xc = call.oom || !call.data ? "0.0f" : call.data;
  const char *identity = nan_init ? "__int_as_float(0x7fffffff)" : "0.0f";
  vx_buf_line(b, "float acc = %s;", identity);
  if (cg->vec) {
    /* groups of L lanes, warp-uniform trip count (lanes past the end score
     * a valid page and drop it), so the groups' shuffles stay converged */
    vx_buf_line(b, "for (int base = (threadIdx.x >> 5) * %d; base < c.n; base += VX_TOPK_WARPS * %d) {", 32 / cg->lanes,
                32 / cg->lanes);
    vx_buf_line(b, "  const int mine = base + (int)((threadIdx.x & 31) / %d);", cg->lanes);
    vx_buf_line(b, "  const int j = mine < c.n ? mine : base;");
    vx_buf_line(b, "  const %s_page pg = %s_page_at(c, j, c.pages[j]);", cg->alg, cg->alg);
    vx_buf_line(b, "  const float x = %s;", xc);
    vx_buf_line(b, "  if (mine < c.n) {");
    if (shift >= 0)
      vx_buf_line(b, "    acc += expf(x - row[%sflat]);", vx_cg_offset(shift, off));
    else if (code == VX_OP_REDUCE_MAX)
      vx_buf_line(b, "    acc = fmaxf(acc, x);");
    else if (code == VX_OP_REDUCE_MIN)
      vx_buf_line(b, "    acc = fminf(acc, x);");
    else if (code == VX_OP_REDUCE_NORM)
      vx_buf_line(b, "    acc += x * x;");
    else
      vx_buf_line(b, "    acc += x;");
    vx_buf_line(b, "  }");
    vx_buf_line(b, "}");
    vx_buf_free(&call);
    vx_buf_line(b, "if ((threadIdx.x & %d) != 0) acc = %s; /* the group's lanes hold the same partial */", cg->lanes - 1,
                identity);
  } else {
  vx_buf_line(b, "for (int p = threadIdx.x >> 5; p < c.n; p += VX_TOPK_WARPS) { /* a warp per page */");
  vx_buf_line(b, "  const %s_page pg = %s_page_at(c, p);", cg->alg, cg->alg);
  if (shift >= 0)
    vx_buf_line(b, "  acc += expf(%s - row[%sflat]);", xc, vx_cg_offset(shift, off));
  else if (code == VX_OP_REDUCE_MAX)
    vx_buf_line(b, "  acc = fmaxf(acc, %s);", xc);
  else if (code == VX_OP_REDUCE_MIN)
    vx_buf_line(b, "  acc = fminf(acc, %s);", xc);
  else if (code == VX_OP_REDUCE_NORM)
    vx_buf_line(b, "  { const float x = %s; acc += x * x; }", xc);
  else
    vx_buf_line(b, "  acc += %s;", xc);
  vx_buf_line(b, "}");
  vx_buf_free(&call);
  vx_buf_line(b, "if ((threadIdx.x & 31) != 0) acc = %s; /* the warp's lanes hold the same partial */", identity);
  }
  vx_buf_line(b, "acc = %s_block_reduce(acc, %s_%s, reduce_scratch);", cg->alg, cg->upper, kind);
  const char *final = "acc";
  if (code == VX_OP_REDUCE_MEAN) final = "c.n > 0 ? acc / (float)c.n : 0.0f";
  if (code == VX_OP_REDUCE_NORM) final = "sqrtf(acc)";
  if (nan_init) final = "c.n > 0 ? acc : 0.0f";
  vx_buf_line(b, "if (threadIdx.x == 0) row[%sflat] = %s;", vx_cg_offset(offset, off), final);
}

static void emit_row_phase(vx_cg *cg, const vx_op *op) {
  vx_buf *b = cg->out;
  char off[16];
  const vx_row_slot *slot = &cg->rows[op->id];
  vx_buf_puts(b, "  /* ");
  vx_cg_describe_op(b, op);
  vx_buf_puts(b, " */\n");
  if (slot->kind == VX_ROW_STAGED) {
    char name[96];
    vx_cg_value_name(cg, op, name, sizeof name);
    vx_buf_line(b, "  for (int i = threadIdx.x; i < %d; i += blockDim.x) {", vx_cg_elems(cg->m, op->shape));
    b->indent += 2;
    if (op->code == VX_OP_INPUT_Q) {
      /* The query group is contiguous [head][dim]: the canonical layout. */
      vx_buf_line(b, "row[%si] = vx_elem<%s_kv_t>::to_float(c.q[i]);", vx_cg_offset(slot->offset, off), cg->alg);
    } else {
      vx_cg_decompose(cg, op->shape);
      vx_buf call;
      vx_buf_init(&call);
      vx_buf_printf(&call, "%s_eval", name);
      /* same arguments as the accessor: reuse vx_cg_call and patch the name */
      vx_buf args;
      vx_buf_init(&args);
      vx_cg_call(cg, &args, op);
      const char *paren = args.data ? strchr(args.data, '(') : NULL;
      vx_buf_line(b, "row[%si] = %s%s;", vx_cg_offset(slot->offset, off), call.data ? call.data : "", paren ? paren : "()");
      if (call.oom || args.oom) vx_cg_error(cg, "codegen: out of memory");
      vx_buf_free(&call);
      vx_buf_free(&args);
    }
    b->indent -= 2;
    vx_buf_line(b, "  }");
    vx_buf_line(b, "  __syncthreads();");
    return;
  }
  /* reduction, softmax or normalize over page */
  const vx_shape rest = vx_cg_without_page(op->shape);
  b->indent++;
  vx_buf_line(b, "{");
  b->indent++;
  const int loops = vx_cg_open_point_loops(cg, rest);
  const vx_op *x = op->operands[0];
  if (op->code == VX_OP_SOFTMAX) {
    emit_page_reduce(cg, x, VX_OP_REDUCE_MAX, slot->offset, -1);
    vx_cg_close_loops(cg, loops);
    b->indent--;
    vx_buf_line(b, "}");
    vx_buf_line(b, "__syncthreads();");
    vx_buf_line(b, "{");
    b->indent++;
    const int loops2 = vx_cg_open_point_loops(cg, rest);
    emit_page_reduce(cg, x, VX_OP_REDUCE_SUM, slot->offset2, slot->offset);
    vx_cg_close_loops(cg, loops2);
  } else {
    emit_page_reduce(cg, x, op->code == VX_OP_NORMALIZE ? VX_OP_REDUCE_SUM : op->code, slot->offset, -1);
    vx_cg_close_loops(cg, loops);
  }
  b->indent--;
  vx_buf_line(b, "}");
  vx_buf_line(b, "__syncthreads();");
  b->indent--;
}

/* The page loop declares pg only when a root it evaluates has a page axis
 * (nvcc warns about unused variables). */
static bool needs_page_var(const vx_func *f, const vx_op *sel) {
  if (vx_shape_has(sel->operands[0]->shape, VX_AXIS_PAGE)) return true;
  for (const vx_op *op = f->first; op; op = op->next)
    if (op->code == VX_OP_STORE_STATE && vx_shape_has(op->operands[0]->shape, VX_AXIS_PAGE)) return true;
  return false;
}

static const vx_op *state_store(const vx_func *f, int state) {
  for (const vx_op *op = f->first; op; op = op->next)
    if (op->code == VX_OP_STORE_STATE && op->index == state) return op;
  return NULL;
}

/* The new value of every persistent state for the page in hand, one
 * commented assignment each: `<decl>state<i> = ...` or, for the vector
 * emitter's page slot u >= 0, `<decl>state<i>_<u> = ...`. */
static void emit_state_values(vx_cg *cg, vx_buf *b, const vx_func *f, const char *decl, int u) {
  for (const vx_op *op = f->first; op; op = op->next) {
    if (op->code != VX_OP_STORE_STATE) continue;
    vx_buf_indent_puts(b, "/* ");
    vx_cg_describe_op(b, op);
    vx_buf_puts(b, " */\n");
    vx_buf_indent_puts(b, "");
    if (u >= 0)
      vx_buf_printf(b, "%sstate%d_%d = ", decl, op->index, u);
    else
      vx_buf_printf(b, "%sstate%d = ", decl, op->index);
    vx_cg_call(cg, b, op->operands[0]);
    vx_buf_puts(b, ";\n");
  }
}

/* next_id[u] = page-table entry of the page lane group u would score in
 * the iteration starting at `base_fmt` (formatted with arg), if it exists. */
static void emit_page_ids(vx_cg *cg, const char *why, const char *base_fmt, int arg) {
  vx_buf *b = cg->out;
  char nb[96];
  snprintf(nb, sizeof nb, base_fmt, arg);
  vx_buf_line(b, "{ /* %s */", why);
  vx_buf_line(b, "  const int nb = %s;", nb);
  vx_buf_line(b, "#pragma unroll");
  vx_buf_line(b, "  for (int u = 0; u < %d; ++u) {", cg->vec_pages);
  vx_buf_line(b, "    const int mine = nb + (int)((threadIdx.x & 31) / %d) + u * VX_TOPK_WARPS * %d;", cg->lanes,
              32 / cg->lanes);
  vx_buf_line(b, "    if (nb < end) next_id[u] = c.pages[mine < end ? mine : nb];");
  vx_buf_line(b, "  }");
  vx_buf_line(b, "}");
}

void vx_cg_emit_page_results(vx_cg *cg, const vx_op *sel, int np, int leader_mask) {
  vx_buf *b = cg->out;
  const vx_func *f = &cg->m->index;
  for (int u = 0; u < np; u++) {
    vx_buf_line(b, "float score%d;", u);
    for (const vx_op *op = f->first; op; op = op->next)
      if (op->code == VX_OP_STORE_STATE) vx_buf_line(b, "float state%d_%d;", op->index, u);
  }
  for (int u = 0; u < np; u++) {
    vx_buf_line(b, "{");
    b->indent++;
    if (needs_page_var(f, sel)) vx_buf_line(b, "const %s_page &pg = pg%d;", cg->alg, u);
    vx_buf_indent_puts(b, "");
    vx_buf_printf(b, "score%d = ", u);
    vx_cg_call(cg, b, sel->operands[0]);
    vx_buf_puts(b, ";\n");
    emit_state_values(cg, b, f, "", u);
    b->indent--;
    vx_buf_line(b, "}");
  }
  for (int u = 0; u < np; u++) {
    vx_buf_line(b, "if (mine%d < end && (threadIdx.x & %d) == 0) {", u, leader_mask);
    vx_buf_line(b, "  row_scores[p%d] = score%d;", u, u);
    for (const vx_op *op = f->first; op; op = op->next)
      if (op->code == VX_OP_STORE_STATE)
        vx_buf_line(b, "  state_out[((long long)%d * gridDim.x + r) * max_pages + p%d] = state%d_%d;", op->index, u, op->index, u);
    vx_buf_line(b, "}");
  }
}

/* The vector page loop: L lanes per page, 32/L pages per warp, and two
 * pages per lane per iteration (straight-line code: the second page's
 * loads issue before the first page's shuffles). The trip count is
 * warp-uniform (a lane past the end re-scores its warp's first page and
 * drops it), so the groups' shuffles stay converged. The page-table
 * entries of the next iteration are loaded one iteration ahead. */
static void emit_vec_page_loop(vx_cg *cg, const vx_func *f, const vx_op *sel) {
  vx_buf *b = cg->out;
  const int per_warp = 32 / cg->lanes;
  const int np = cg->vec_pages;
  vx_buf_line(b, "/* %d lanes per page, %d pages per warp, %d page%s per lane in flight. */", cg->lanes, per_warp, np,
              np > 1 ? "s" : "");
  const bool pages = needs_page_var(f, sel);
  const int step = np * per_warp;
  if (pages) {
    vx_buf_line(b, "int next_id[%d] = {0};", np);
    emit_page_ids(cg, "the first iteration's page-table entries", "first + (threadIdx.x >> 5) * %d", per_warp);
  }
  vx_buf_line(b, "for (int base = first + (threadIdx.x >> 5) * %d; base < end; base += VX_TOPK_WARPS * %d) {", per_warp, step);
  b->indent++;
  for (int u = 0; u < np; u++) {
    if (u)
      vx_buf_line(b, "const int mine1 = mine0 + VX_TOPK_WARPS * %d;", per_warp);
    else
      vx_buf_line(b, "const int mine0 = base + (int)((threadIdx.x & 31) / %d);", cg->lanes);
    vx_buf_line(b, "const int p%d = mine%d < end ? mine%d : base;", u, u, u);
  }
  if (pages) {
    if (np > 1) vx_buf_line(b, "/* both pages' field loads are issued before either page is scored */");
    for (int u = 0; u < np; u++)
      vx_buf_line(b, "const %s_page pg%d = %s_page_at(c, p%d, next_id[%d]);", cg->alg, u, cg->alg, u, u);
    emit_page_ids(cg, "the next iteration's page-table entries, while these fields load", "base + VX_TOPK_WARPS * %d",
                  step);
  }
  vx_cg_emit_page_results(cg, sel, np, cg->lanes - 1);
  b->indent--;
  vx_buf_line(b, "}");
}

void vx_cg_emit_score_range(vx_cg *cg) {
  vx_buf_line(cg->out, "const int first = phase == %s_INDEX_SCORE ? (int)blockIdx.y * pages_per_block : 0;", cg->upper);
  vx_buf_line(cg->out, "const int end = phase == %s_INDEX_SCORE && first + pages_per_block < c.n ? first + pages_per_block : c.n;",
              cg->upper);
}

/* One launchable kernel: ALG_index_phases instantiated for one phase, in
 * blocks of `warps` warps. */
static void emit_phase_kernel(vx_cg *cg, const char *phase, const char *name, const char *warps, int min_blocks,
                              const char *why) {
  vx_buf *b = cg->out;
  vx_buf_printf(b, "/* The %s launch alone: %s. */\n", phase, why);
  vx_buf_printf(b, "extern \"C\" __global__ void __launch_bounds__(%s * 32, %d)\n%s_%s_kernel", warps, min_blocks, cg->alg, name);
  vx_buf_printf(b, "(vx_paged_kv kv, const %s_kv_t *q, %s_field_ptrs fields, const float *state_in,\n"
                   "    float *state_out, int max_pages, float *scores, int *sel_pages, int *sel_count, int pages_per_block) {\n",
                cg->alg, cg->alg);
  vx_buf_printf(b, "  %s_index_phases<%s>(kv, q, fields, state_in, state_out, max_pages, scores, sel_pages, sel_count,\n"
                   "      pages_per_block, %s_INDEX_%s);\n}\n\n", cg->alg, warps, cg->upper, phase);
}

void vx_cg_emit_index(vx_cg *cg) {
  vx_buf *b = cg->out;
  const vx_module *m = cg->m;
  const vx_func *f = &m->index;
  const vx_op *sel = vx_func_find_select(f);
  if (!sel) {
    vx_cg_error(cg, "codegen: the index function has no select");
    return;
  }
  if (vx_shape_has(sel->operands[1]->shape, VX_AXIS_PAGE) || (sel->operands[0]->shape.axes & ~VX_AXIS_BIT(VX_AXIS_PAGE))) {
    vx_cg_error(cg, "codegen: select expects a score over [page] and a scalar budget");
    return;
  }
  vx_buf_line(b, "/* ----------------------------------------------------------------------- index */");
  vx_buf_blank(b);
  emit_support(cg);
  vx_cg_emit_value_functions(cg, f);

  vx_buf_line(b, "enum { %s_INDEX_FUSED = 0, %s_INDEX_SCORE = 1, %s_INDEX_SELECT = 2 };", cg->upper, cg->upper, cg->upper);
  vx_buf_blank(b);
  vx_buf_line(b, "/* index: grid x = rows (batch * KV heads), y = scoring blocks per row.");
  vx_buf_line(b, " *   FUSED  one block per row scores every page, then selects (needed when");
  vx_buf_line(b, " *          the score reduces over pages);");
  vx_buf_line(b, " *   SCORE  block y scores pages [y * pages_per_block, ...) of its row, so");
  vx_buf_line(b, " *          small batches still fill the GPU;");
  vx_buf_line(b, " *   SELECT one block per row selects on the scores SCORE wrote.");
  if (cg->mma.on)
    vx_buf_line(b, " * A warp scores tiles of 16 pages on tensor cores (see the SCORE prologue).");
  else
    vx_buf_line(b, " * A warp scores one page at a time; its lanes split reductions over dim.");
  vx_buf_line(b, " * IR:");
  for (const vx_op *op = f->first; op; op = op->next) {
    vx_buf_puts(b, " *   ");
    vx_cg_describe_op(b, op);
    vx_buf_puts(b, "\n");
  }
  const bool split = vx_cg_index_split(cg);
  if (split) {
    vx_buf_line(b, " * The phases live in %s_index_phases; %s_score_kernel and %s_select_kernel", cg->alg, cg->alg,
                cg->alg);
    vx_buf_line(b, " * instantiate it for one phase each, so neither launch carries the other's");
    vx_buf_line(b, " * registers and both fit two blocks per SM.");
    if (vx_cg_index_has_fused(cg))
      vx_buf_line(b, " * %s_fused_kernel runs both phases in one block a row, for small batches.", cg->alg);
    if (vx_cg_index_has_fused_pair(cg))
      vx_buf_line(b, " * %s_fused_pair_kernel does too in a SCORE block's warps, two blocks an SM.", cg->alg);
    vx_buf_line(b, " * WARPS: the launch's block width.");
    vx_buf_line(b, " */");
    vx_buf_line(b, "template <int WARPS> static __device__ __forceinline__ void");
    vx_buf_line(b, "%s_index_phases(const vx_paged_kv &kv, const %s_kv_t *q, const %s_field_ptrs &fields, const float *state_in,",
                cg->alg, cg->alg, cg->alg);
  } else {
    vx_buf_line(b, " */");
    /* vector form: one block per SM at least, explicitly (ptxas otherwise
     * caps some of these kernels at 64 registers and spills) */
    vx_buf_line(b, "extern \"C\" __global__ void __launch_bounds__(VX_TOPK_THREADS%s)", cg->vec ? ", 1" : "");
    vx_buf_line(b, "%s_index_kernel(vx_paged_kv kv, const %s_kv_t *q, %s_field_ptrs fields, const float *state_in,", cg->alg,
                cg->alg, cg->alg);
  }
  vx_buf_line(b, "    float *state_out, int max_pages, float *scores, int *sel_pages, int *sel_count, int pages_per_block,");
  vx_buf_line(b, "    int phase) {");
  b->indent++;
  vx_buf_line(b, "__shared__ vx_topk_smem topk;");
  if (cg->row_floats > 0) vx_buf_line(b, "__shared__ float row[%d];", cg->row_floats);
  if (vx_cg_index_reduces_over_page(cg) || sel->code == VX_OP_SELECT_MASS)
    vx_buf_line(b, "__shared__ float reduce_scratch[VX_TOPK_WARPS];");
  if (sel->code == VX_OP_SELECT_MASS) vx_buf_line(b, "__shared__ %s_mass_smem mass;", cg->alg);
  /* launched by vx_launch: wait for the previous grid before any global access */
  vx_buf_line(b, "vx_pdl_enter();");
  vx_buf_line(b, "const int r = blockIdx.x;");
  vx_buf_line(b, "const int b = r / kv.num_kv_heads, h = r %% kv.num_kv_heads;");
  vx_buf_line(b, "const int total = vx_num_pages(kv, b);");
  vx_buf_line(b, "%s_index_ctx c;", cg->alg);
  vx_buf_line(b, "c.pages = kv.format == VX_PAGES_CSR ? kv.indices + kv.indptr[b]");
  vx_buf_line(b, "                                     : kv.block_table + (long long)b * kv.block_table_stride;");
  vx_buf_line(b, "c.num_phys = kv.num_pages;");
  vx_buf_line(b, "c.b = b;");
  vx_buf_line(b, "c.h = h;");
  vx_buf_line(b, "c.n = total < max_pages ? total : max_pages; /* the workspace holds max_pages per row */");
  vx_buf_line(b, "c.kv_heads = kv.num_kv_heads;");
  if (index_has(cg, VX_OP_INPUT_Q)) {
    vx_buf_line(b, "c.q = q + ((long long)b * kv.num_kv_heads + h) * %s_GROUP * %s_HEAD_DIM;", cg->upper, cg->upper);
    if (cg->mma.on) vx_cg_emit_mma_query_prefetch(cg);
  }
  if (m->nfields > 0) vx_buf_line(b, "c.fields = fields;");
  for (int i = 0; i < m->nstates; i++)
    vx_buf_line(b, "c.state_in[%d] = state_in + ((long long)%d * gridDim.x + r) * max_pages;", i, i);
  if (cg->row_floats > 0) vx_buf_line(b, "c.row = row;");
  if (cg->mma.on) vx_cg_emit_mma_prologue(cg);
  b->indent--;
  vx_buf_blank(b);
  /* The SELECT launch stages row values only when its budget (threshold,
   * mass) reads them: otherwise the query's load and the barriers after it
   * would sit on the critical path of a kernel that never uses them (ncu:
   * 7% of quest's select samples). */
  const bool skip_rows_in_select = split && cg->row_floats > 0 && !reads_row_buffer(cg, sel->operands[1]);
  if (skip_rows_in_select) vx_buf_line(b, "  if (phase != %s_INDEX_SELECT) {", cg->upper);
  /* A staged value held per lane is copied into registers right after its
   * row phase (its barrier), before any later page reduction reads it. */
  for (const vx_op *op = f->first; op; op = op->next) {
    if (cg->rows[op->id].kind != VX_ROW_INLINE) emit_row_phase(cg, op);
    if (!cg->vec || cg->chunks == 0 || !cg->lane_res[op->id]) continue;
    char off[16];
    const int outer = vx_cg_elems(m, op->shape) / m->geo.head_dim;
    vx_buf_line(b, "  { /* %%%d, read by every page: this lane's dims into registers */", op->id);
    vx_buf_line(b, "    const int lane = threadIdx.x & %d;", cg->lanes - 1);
    vx_buf_line(b, "#pragma unroll");
    vx_buf_line(b, "    for (int i = 0; i < %d; ++i)", outer);
    vx_buf_line(b, "#pragma unroll");
    vx_buf_line(b, "      for (int k = 0; k < %d; ++k)", cg->chunks);
    vx_buf_line(b, "#pragma unroll");
    vx_buf_line(b, "        for (int e = 0; e < 8; ++e)");
    vx_buf_line(b, "          c.reg_v%d[(i * %d + k) * 8 + e] = row[%si * %d + (lane + k * %d) * 8 + e];", op->id, cg->chunks,
                vx_cg_offset(cg->rows[op->id].offset, off), m->geo.head_dim, cg->lanes);
    vx_buf_line(b, "  }");
  }
  if (skip_rows_in_select) vx_buf_line(b, "  }");

  b->indent++;
  if (vx_cg_index_has_fused(cg)) {
    vx_buf_line(b, "float *row_scores = phase == %s_INDEX_FUSED && %s_fused_smem_scores(max_pages)", cg->upper, cg->alg);
    vx_buf_line(b, "                        ? reinterpret_cast<float *>(reinterpret_cast<char *>(%s_tiles) + WARPS * %s_WARP_TILE_BYTES)",
                cg->alg, cg->upper);
    vx_buf_line(b, "                        : scores + (long long)r * max_pages;");
  } else {
    vx_buf_line(b, "float *row_scores = scores + (long long)r * max_pages;");
  }
  vx_buf_line(b, "if (phase != %s_INDEX_SELECT) {", cg->upper);
  b->indent++;
  if (!cg->mma.on) vx_cg_emit_score_range(cg); /* the mma prologue declared it */
  if (cg->mma.on) {
    vx_cg_emit_mma_page_loop(cg, sel);
  } else if (cg->vec) {
    emit_vec_page_loop(cg, f, sel);
  } else {
    vx_buf_line(b, "for (int p = first + (threadIdx.x >> 5); p < end; p += VX_TOPK_WARPS) { /* a warp per page */");
    b->indent++;
    if (needs_page_var(f, sel)) vx_buf_line(b, "const %s_page pg = %s_page_at(c, p);", cg->alg, cg->alg);
  vx_buf_indent_puts(b, "const float score = ");
  vx_cg_call(cg, b, sel->operands[0]);
  vx_buf_puts(b, ";\n");
  emit_state_values(cg, b, f, "const float ", -1);
  vx_buf_line(b, "if ((threadIdx.x & 31) == 0) {");
  vx_buf_line(b, "  row_scores[p] = score;");
  for (const vx_op *op = f->first; op; op = op->next)
    if (op->code == VX_OP_STORE_STATE)
      vx_buf_line(b, "  state_out[((long long)%d * gridDim.x + r) * max_pages + p] = state%d;", op->index, op->index);
  vx_buf_line(b, "}");
  b->indent--;
  vx_buf_line(b, "}");
  }
  b->indent--;
  vx_buf_line(b, "}");
  vx_buf_line(b, "if (phase == %s_INDEX_SCORE) return;", cg->upper);
  for (int i = 0; i < m->nstates; i++) {
    const bool stored = state_store(f, i) != NULL;
    vx_buf_line(b, "/* state %s: %s */", m->states[i].name,
                stored ? "entries past the request's pages carry over" : "never stored: carried over whole");
    vx_buf_line(b, "for (int p = %sthreadIdx.x; p < max_pages; p += blockDim.x) {", stored ? "c.n + " : "");
    vx_buf_line(b, "  const long long at = ((long long)%d * gridDim.x + r) * max_pages + p;", i);
    vx_buf_line(b, "  state_out[at] = state_in[at];");
    vx_buf_line(b, "}");
  }
  vx_buf_line(b, "__syncthreads(); /* scores visible to the whole block */");
  b->indent--;
  vx_cg_emit_select(cg, sel);
  vx_buf_line(b, "}");
  vx_buf_blank(b);
  if (split) {
    /* Two blocks per SM (<= 64 registers) where the lane's resident values
     * leave room. One block of 16 warps per SM kept only 16 x 4 pages of
     * fields in flight: ncu on the H200 showed quest's scoring at 1.8 TB/s
     * with 25% of the warp slots active (bench/RESULTS.md run 9). At 40
     * resident words (quest: the query group plus two pages of envelopes)
     * ptxas spills 8 bytes per thread, to L1. */
    const bool two = cg->lane_floats <= 40;
    char score_warps[64];
    snprintf(score_warps, sizeof score_warps, cg->mma.on ? "%s_SCORE_WARPS" : "VX_TOPK_WARPS", cg->upper);
    emit_phase_kernel(cg, "SCORE", "score", score_warps, two || cg->mma.on ? 2 : 1,
                      "no top-k code, fewer registers, more blocks per SM");
    /* The SELECT launch has one block per row: at one block per SM a batch
     * of 32 x 8 KV heads took two waves (ncu: 21 us of quest's index). */
    emit_phase_kernel(cg, "SELECT", "select", "VX_TOPK_WARPS", 2, "top-k on the scores SCORE wrote, two blocks per SM");
    /* Where one block of the top-k's 16 warps a row reaches as many SMs as
     * the SCORE plan (batch 16 x 8 KV heads on 132 SMs; the launcher
     * decides), selecting in the scoring block drops the SELECT launch: its
     * grid boundary, its page-table read for the row length and its
     * barrier chain's start. */
    if (vx_cg_index_has_fused(cg))
      emit_phase_kernel(cg, "FUSED", "fused", "VX_TOPK_WARPS", 1,
                        "one block a row scores every page on tensor cores, then selects");
    /* Where the SCORE plan gives a row one block of SCORE_WARPS, two an SM
     * (batch 32 x 8 KV heads on 132 SMs), the same block selects: while one
     * block of an SM runs its top-k the other still streams its tiles. */
    if (vx_cg_index_has_fused_pair(cg))
      emit_phase_kernel(cg, "FUSED", "fused_pair", score_warps, 2,
                        "one block of SCORE_WARPS a row, two an SM, scores every page, then selects");
  }
}

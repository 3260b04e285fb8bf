/* Tensor-core scoring for the index's SCORE launch (the "mma form").
 *
 * Why: the vector emitter scores a page with ~180 instructions per 512
 * bytes of quest's envelopes and is issue-bound at ~2.4 TB/s on the H200
 * (docs/performance.md). When a page's score is built from reductions over
 * dim of a bilinear form of page fields F and a page-independent value a
 * (the query, a mean over heads of it), those reductions are small matrix
 * products: D[page][column] = sum_k A[page][k] * B[k][column] with
 *   A = 16 pages x 16 dims of a field (bf16/f16, as stored),
 *   B = the value a: one column per (head of a, split term),
 * one mma.sync.m16n8k16 per 16 pages x 16 dims, f32 accumulation. The
 * envelope max(a * F1, a * F2) is a+ * max(F1, F2) + a- * min(F1, F2)
 * (a+ = max(a, 0), a- = min(a, 0); exact: one of the two is zero), and
 * max/min of bf16 pairs are exact packed instructions, so no proof that
 * F1 >= F2 is needed. a is exact in the fields' type when it is the query
 * itself and the fields have the KV type; otherwise (an f32 value, bf16
 * fields) it is split into three bf16 terms t0 + t1 + t2 == a (8 + 8 + 8
 * significant bits), each its own column, summed after the product.
 * Products are exact; only the summation order differs from the
 * interpreter's (checked on the GPU by tests/gpu/codegen).
 *
 * Layout (PTX ISA, mma.m16n8k16 fragments; g = lane / 4, t = lane % 4):
 * a warp scores tiles of 16 pages, A row p = page base + p. The tile's field
 * rows are loaded in whole 128-byte lines (lane l: chunk l % C of a page,
 * C = 16-byte chunks per row) into registers one tile ahead, stored to a
 * per-warp shared tile with the chunk index XORed by page % 8 (stores and
 * ldmatrix both conflict-free), and read back by ldmatrix.x4 as the A
 * fragment of each 16-dim k-step. (Loading fragments straight from global
 * memory issues half-line requests; bench/RESULTS.md runs 15-18.) B column
 * n = g; C holds columns 2t, 2t + 1 of rows g and g + 8, which the quad
 * gathers with shuffles. Everything after the sums (reductions over
 * head, elementwise math, page.age, states) is the scalar emitter's value
 * functions reading the sums from the page struct. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cg.h"

/* B fragments + field words a lane may hold before ptxas spills at 128
 * registers (quest, head dim 128: 32 + 64). */
#define VX_CG_MMA_REGS_MAX 100

static bool page_dim(const vx_op *op) {
  return vx_shape_has(op->shape, VX_AXIS_PAGE) && vx_shape_has(op->shape, VX_AXIS_DIM);
}

static bool single_use(const vx_op *op) { return op->uses && !op->uses->next; }

/* mul(a, F) or mul(F, a): F a field [page, dim], a a staged value without
 * a page axis over [dim] or [head, dim]. */
static bool match_product(const vx_cg *cg, const vx_op *mul, const vx_op **a, const vx_op **field) {
  if (mul->code != VX_OP_MUL || !single_use(mul)) return false;
  for (int i = 0; i < 2; i++) {
    const vx_op *x = mul->operands[i], *y = mul->operands[1 - i];
    if (x->code != VX_OP_LOAD_FIELD || x->shape.axes != (VX_AXIS_BIT(VX_AXIS_PAGE) | VX_AXIS_BIT(VX_AXIS_DIM))) continue;
    const uint8_t allowed = VX_AXIS_BIT(VX_AXIS_HEAD) | VX_AXIS_BIT(VX_AXIS_DIM);
    if ((y->shape.axes & ~allowed) || !vx_shape_has(y->shape, VX_AXIS_DIM)) continue;
    if (cg->rows[y->id].kind != VX_ROW_STAGED) continue;
    *a = y;
    *field = x;
    return true;
  }
  return false;
}

static bool match_sum(const vx_cg *cg, const vx_op *sum, vx_cg_mma_sum *out) {
  if (sum->code != VX_OP_REDUCE_SUM || sum->axis != VX_AXIS_DIM || !vx_shape_has(sum->shape, VX_AXIS_PAGE)) return false;
  const vx_op *x = sum->operands[0];
  memset(out, 0, sizeof *out);
  out->sum = sum;
  if (x->code == VX_OP_MUL) {
    out->kind = VX_MMA_DOT;
    if (!match_product(cg, x, &out->a, &out->f[0])) return false;
  } else if (x->code == VX_OP_MAX || x->code == VX_OP_MIN) {
    const vx_op *a1 = NULL;
    out->kind = x->code == VX_OP_MAX ? VX_MMA_ENV_MAX : VX_MMA_ENV_MIN;
    if (!single_use(x) || !match_product(cg, x->operands[0], &out->a, &out->f[0]) ||
        !match_product(cg, x->operands[1], &a1, &out->f[1]) || a1 != out->a)
      return false;
  } else {
    return false;
  }
  const vx_module *m = cg->m;
  out->heads = vx_shape_has(out->a->shape, VX_AXIS_HEAD) ? vx_cg_extent(m, out->a->shape, VX_AXIS_HEAD) : 1;
  const vx_dtype st = m->fields[out->f[0]->index].storage;
  out->terms = out->a->code == VX_OP_INPUT_Q && st == m->geo.kv_dtype ? 1 : 3;
  return true;
}

/* Whether op belongs to the per-dim part of a matched sum (the sum's
 * operand tree), which the tensor cores evaluate instead. */
static bool inside_sum(const vx_cg_mma *mma, const vx_op *op) {
  for (int i = 0; i < mma->nsums; i++) {
    const vx_op *x = mma->sums[i].sum->operands[0];
    if (op == x || op == mma->sums[i].f[0] || op == mma->sums[i].f[1]) return true;
    if (x->code != VX_OP_MUL && (op == x->operands[0] || op == x->operands[1])) return true;
  }
  return false;
}

static bool add_field(vx_cg_mma *mma, int index) {
  for (int i = 0; i < mma->nfields; i++)
    if (mma->fields[i] == index) return true;
  if (mma->nfields == (int)(sizeof mma->fields / sizeof mma->fields[0])) return false;
  mma->fields[mma->nfields++] = index;
  return true;
}

static int b_matrices(const vx_cg_mma_sum *s) { return s->kind == VX_MMA_DOT ? 1 : 2; }

void vx_cg_analyse_mma(vx_cg *cg) {
  const vx_module *m = cg->m;
  vx_cg_mma mma;
  memset(&mma, 0, sizeof mma);
  cg->mma.on = false;
  if (!cg->want_mma || !cg->vec || cg->failed || vx_cg_index_reduces_over_page(cg)) return;
  /* MLA's 576-dim latent fields exceed the register budget below anyway;
   * the form has never run on an MLA module */
  if (m->geo.kv == VX_KV_MLA) return;
  const int dim = m->geo.head_dim;
  if (dim % 64 != 0) return; /* rows of >= 8 chunks: the shared tile's swizzle */
  /* every reduction over dim of a per-page value must be a bilinear sum
   * (a max or norm over dim, say, would need the per-dim values) */
  for (const vx_op *op = m->index.first; op; op = op->next) {
    const vx_op_class cls = vx_op_info_of(op->code)->cls;
    if (cls != VX_OPC_REDUCE || op->axis != VX_AXIS_DIM || !vx_shape_has(op->shape, VX_AXIS_PAGE)) continue;
    if (mma.nsums == VX_CG_MMA_SUMS_MAX || !match_sum(cg, op, &mma.sums[mma.nsums])) return;
    mma.nsums++;
  }
  if (mma.nsums == 0) return;
  /* every per-page value with a dim axis must be consumed by a sum */
  for (const vx_op *op = m->index.first; op; op = op->next)
    if (vx_op_info_of(op->code)->cls != VX_OPC_SINK && page_dim(op) && !inside_sum(&mma, op)) return;
  int regs = 0;
  mma.dtype = m->fields[mma.sums[0].f[0]->index].storage;
  if (mma.dtype != VX_DTYPE_BF16 && mma.dtype != VX_DTYPE_F16) return;
  for (int i = 0; i < mma.nsums; i++) {
    const vx_cg_mma_sum *s = &mma.sums[i];
    for (int k = 0; k < b_matrices(s); k++)
      if (m->fields[s->f[k]->index].storage != mma.dtype || !add_field(&mma, s->f[k]->index)) return;
    if (s->terms > 1 && mma.dtype != VX_DTYPE_BF16) return; /* f16 cannot split an f32's exponent range */
    if (s->heads * s->terms > VX_CG_MMA_COLS) return;
    regs += b_matrices(s) * dim / 8;
  }
  regs += mma.nfields * 2 * dim / 8; /* the tile's words per field: 16 pages x dim bf16 / 32 lanes */
  if (regs > VX_CG_MMA_REGS_MAX) return;
  mma.on = true;
  cg->mma = mma;
  /* the rest of the page's score is the scalar emitter's value functions */
  cg->vec = false;
  free(cg->lane_res);
  cg->lane_res = NULL;
}

bool vx_cg_mma_covers(const vx_cg *cg, const vx_op *op) { return cg->mma.on && inside_sum(&cg->mma, op); }

bool vx_cg_mma_sourced(const vx_cg *cg, const vx_op *op) {
  for (int i = 0; cg->mma.on && i < cg->mma.nsums; i++)
    if (cg->mma.sums[i].sum == op) return true;
  return false;
}

void vx_cg_emit_mma_page_members(vx_cg *cg) {
  for (int i = 0; i < cg->mma.nsums; i++) {
    const vx_cg_mma_sum *s = &cg->mma.sums[i];
    vx_buf_line(cg->out, "  float acc_v%d[%d]; /* %%%d per head, from the tensor cores */", s->sum->id, s->heads, s->sum->id);
  }
}

void vx_cg_emit_mma_helpers(vx_cg *cg) {
  vx_buf *b = cg->out;
  vx_buf_line(b, "/* Warps of a SCORE block. Eight, so that two blocks fit per SM (128 registers");
  vx_buf_line(b, " * a thread): one block's start (query staging, its first tile's round trips)");
  vx_buf_line(b, " * then overlaps the other's streaming (bench/RESULTS.md run 19). */");
  vx_buf_line(b, "#define %s_SCORE_WARPS %d", cg->upper, VX_CG_MMA_SCORE_WARPS);
  vx_buf_line(b, "/* The FUSED launch keeps a row of up to VX_TOPK_THREADS * VX_TOPK_CACHE scores");
  vx_buf_line(b, " * in shared memory after the tiles, so its top-k reads them there rather than");
  vx_buf_line(b, " * from L2 (0: tuning builds). */");
  vx_buf_line(b, "#ifndef VX_INDEX_SMEM_SCORES");
  vx_buf_line(b, "#define VX_INDEX_SMEM_SCORES 1");
  vx_buf_line(b, "#endif");
  vx_buf_line(b, "/* 1: the query is prefetched into L2 before the page-table reads. Its staging");
  vx_buf_line(b, " * load is issued after the first tile's loads and waits behind them in DRAM;");
  vx_buf_line(b, " * the block's barrier after it holds every warp's second tile (ncu, run 77: 17%%");
  vx_buf_line(b, " * of the fused kernel's stall samples at B16 x 8K). Index + top-k 1-3%% faster");
  vx_buf_line(b, " * at 8K, within 0.7%% elsewhere (run 80); 0 keeps the plain load alone. */");
  vx_buf_line(b, "#ifndef VX_INDEX_Q_PREFETCH");
  vx_buf_line(b, "#define VX_INDEX_Q_PREFETCH 1");
  vx_buf_line(b, "#endif");
  vx_buf_line(b, "/* The fused launches' shared memory: a tile per warp, then the row's scores");
  vx_buf_line(b, " * where they fit; the launcher sizes it (%s_fused_smem_bytes), the kernel reads it. */", cg->alg);
  vx_buf_line(b, "#define %s_WARP_TILE_BYTES %d", cg->upper, vx_cg_mma_tile_bytes(cg));
  vx_buf_line(b, "static __host__ __device__ inline bool %s_fused_smem_scores(int max_pages) {", cg->alg);
  vx_buf_line(b, "  return VX_INDEX_SMEM_SCORES && max_pages <= VX_TOPK_THREADS * VX_TOPK_CACHE;");
  vx_buf_line(b, "}");
  const bool bf = cg->mma.dtype == VX_DTYPE_BF16;
  /* mma.sync, ldmatrix and the B-register pack: the pasted vx_common.cuh */
  vx_buf_line(b, "typedef vx_mma_op<%s> %s_mma_op; /* run_m16: D += A B, m16n8k16, f32 accumulate */",
              vx_cg_ctype(cg->mma.dtype), cg->alg);
  bool envelope = false;
  for (int i = 0; i < cg->mma.nsums; i++) envelope |= cg->mma.sums[i].kind != VX_MMA_DOT;
  if (envelope) {
    vx_buf_line(b, "/* Elementwise max / min of two packed pairs: exact. */");
    for (int k = 0; k < 2; k++) {
      const char *op = k == 0 ? "max" : "min";
      vx_buf_line(b, "static __device__ __forceinline__ unsigned %s_%s2(unsigned x, unsigned y) {", cg->alg, op);
      vx_buf_line(b, "  unsigned r;");
      vx_buf_line(b, "  asm(\"%s.%s %%0, %%1, %%2;\" : \"=r\"(r) : \"r\"(x), \"r\"(y));", op, bf ? "bf16x2" : "f16x2");
      vx_buf_line(b, "  return r;");
      vx_buf_line(b, "}");
    }
  }
  vx_buf_line(b, "/* Split term s of x: x == term 0 + term 1 + term 2 exactly in bf16 (8 + 8 + 8");
  vx_buf_line(b, " * significant bits; each residual is exact in f32). Term 0 alone when x is");
  vx_buf_line(b, " * already a value of the mma type. */");
  vx_buf_line(b, "static __device__ __forceinline__ float %s_term(float x, int s) {", cg->alg);
  if (bf) {
    vx_buf_line(b, "  const float t0 = __bfloat162float(__float2bfloat16_rn(x));");
    vx_buf_line(b, "  if (s == 0) return t0;");
    vx_buf_line(b, "  const float r1 = x - t0;");
    vx_buf_line(b, "  const float t1 = __bfloat162float(__float2bfloat16_rn(r1));");
    vx_buf_line(b, "  return s == 1 ? t1 : r1 - t1;");
  } else {
    vx_buf_line(b, "  (void)s;");
    vx_buf_line(b, "  return x; /* f16 fields: only the exact query is accepted (codegen) */");
  }
  vx_buf_line(b, "}");
  vx_buf_blank(b);
}

static void b_name(char *buf, size_t n, const vx_cg_mma_sum *s, int k) {
  snprintf(buf, n, "b%d%s", s->sum->id, s->kind == VX_MMA_DOT ? "" : k == 0 ? "_plus" : "_minus");
}

/* 16-byte chunks of one page's row of a field (head dim * 2 bytes). */
static int row_chunks(const vx_cg *cg) { return cg->m->geo.head_dim * 2 / 16; }

static void emit_mma_fragments(vx_cg *cg) {
  vx_buf *b = cg->out;
  const int dim = cg->m->geo.head_dim, ksteps = dim / 16;
  for (int i = 0; i < cg->mma.nsums; i++) {
    const vx_cg_mma_sum *s = &cg->mma.sums[i];
    char off[16], name[2][32];
    for (int k = 0; k < b_matrices(s); k++) b_name(name[k], sizeof name[k], s, k);
    if (s->terms == 1)
      vx_buf_line(b, "/* B fragments of %%%d: column n = lane / 4 holds head n of %%%d%s (exact in the mma type);",
                  s->sum->id, s->a->id, s->kind == VX_MMA_DOT ? "" : " (a+ and a-)");
    else
      vx_buf_line(b, "/* B fragments of %%%d: column n = lane / 4 holds split term n %% 3 of head n / 3 of %%%d%s;",
                  s->sum->id, s->a->id, s->kind == VX_MMA_DOT ? "" : " (a+ and a-)");
    vx_buf_line(b, " * k-step ks, register w: dims 16 ks + 8 w + 2 t, + 1 (t = lane %% 4) */");
    vx_buf_indent_puts(b, "");
    vx_buf_printf(b, "unsigned %s[%d][2]", name[0], ksteps);
    if (b_matrices(s) > 1) vx_buf_printf(b, ", %s[%d][2]", name[1], ksteps);
    vx_buf_puts(b, ";\n");
    vx_buf_line(b, "{");
    vx_buf_line(b, "  const int n = (threadIdx.x & 31) >> 2, t = threadIdx.x & 3;");
    vx_buf_line(b, "  const bool used = n < %d;", s->heads * s->terms);
    vx_buf_line(b, "  const int h = used ? n / %d : 0, s = used ? n %% %d : 0;", s->terms, s->terms);
    vx_buf_line(b, "#pragma unroll");
    vx_buf_line(b, "  for (int ks = 0; ks < %d; ++ks)", ksteps);
    vx_buf_line(b, "#pragma unroll");
    vx_buf_line(b, "    for (int w = 0; w < 2; ++w) {");
    vx_buf_line(b, "      const int d = 16 * ks + 8 * w + 2 * t;");
    vx_buf_line(b, "      const float x0 = used ? row[%sh * %d + d] : 0.0f, x1 = used ? row[%sh * %d + d + 1] : 0.0f;",
                vx_cg_offset(cg->rows[s->a->id].offset, off), dim, vx_cg_offset(cg->rows[s->a->id].offset, off), dim);
    if (s->kind == VX_MMA_DOT) {
      vx_buf_line(b, "      %s[ks][w] = %s_mma_op::pack(%s_term(x0, s), %s_term(x1, s));", name[0], cg->alg, cg->alg, cg->alg);
    } else {
      vx_buf_line(b, "      %s[ks][w] = %s_mma_op::pack(%s_term(fmaxf(x0, 0.0f), s), %s_term(fmaxf(x1, 0.0f), s));", name[0], cg->alg,
                  cg->alg, cg->alg);
      vx_buf_line(b, "      %s[ks][w] = %s_mma_op::pack(%s_term(fminf(x0, 0.0f), s), %s_term(fminf(x1, 0.0f), s));", name[1], cg->alg,
                  cg->alg, cg->alg);
    }
    vx_buf_line(b, "    }");
    vx_buf_line(b, "}");
  }
}

static const char *field_name(const vx_cg *cg, int k) { return cg->m->fields[cg->mma.fields[k]].name; }

/* Which of the tile's fields (0..nfields-1) a load reads. */
static int tile_slot(const vx_cg *cg, const vx_op *load) {
  for (int k = 0; k < cg->mma.nfields; k++)
    if (cg->mma.fields[k] == load->index) return k;
  return 0;
}

/* The m16n8k16 products of one sum over the warp's shared tile into
 * acc<id>. The A fragment of k-step ks is one ldmatrix.x4: lane i names row
 * (page) i %% 8 + 8 ((i / 8) %% 2) at chunk 2 ks + i / 16. */
static void emit_sum_products(vx_cg *cg, const vx_cg_mma_sum *s) {
  vx_buf *b = cg->out;
  const int ksteps = cg->m->geo.head_dim / 16, cpr = row_chunks(cg);
  const int id = s->sum->id;
  char name[2][32];
  for (int k = 0; k < b_matrices(s); k++) b_name(name[k], sizeof name[k], s, k);
  vx_buf_indent_puts(b, "/* ");
  vx_cg_describe_op(b, s->sum);
  vx_buf_puts(b, " */\n");
  vx_buf_line(b, "float acc%d[4] = {0.0f, 0.0f, 0.0f, 0.0f};", id);
  vx_buf_line(b, "#pragma unroll");
  vx_buf_line(b, "for (int ks = 0; ks < %d; ++ks) {", ksteps);
  b->indent++;
  vx_buf_line(b, "const int lane = threadIdx.x & 31, page = (lane & 7) + 8 * ((lane >> 3) & 1), chunk = 2 * ks + (lane >> 4);");
  vx_buf_line(b, "const uint4 *at = tile + page * %d + (chunk ^ (page & 7));", cpr);
  if (s->kind == VX_MMA_DOT) {
    vx_buf_line(b, "unsigned x[4];");
    vx_buf_line(b, "vx_ldmatrix_x4(x, at + %d);", tile_slot(cg, s->f[0]) * 16 * cpr);
    vx_buf_line(b, "%s_mma_op::run_m16(acc%d, x, %s[ks][0], %s[ks][1]);", cg->alg, id, name[0], name[0]);
  } else {
    /* max(a F1, a F2) = a+ max(F1, F2) + a- min(F1, F2); min swaps them */
    const char *with_plus = s->kind == VX_MMA_ENV_MAX ? "max2" : "min2";
    const char *with_minus = s->kind == VX_MMA_ENV_MAX ? "min2" : "max2";
    vx_buf_line(b, "unsigned x[4], y[4], hi[4], lo[4];");
    vx_buf_line(b, "vx_ldmatrix_x4(x, at + %d);", tile_slot(cg, s->f[0]) * 16 * cpr);
    vx_buf_line(b, "vx_ldmatrix_x4(y, at + %d);", tile_slot(cg, s->f[1]) * 16 * cpr);
    vx_buf_line(b, "#pragma unroll");
    vx_buf_line(b, "for (int i = 0; i < 4; ++i) {");
    vx_buf_line(b, "  hi[i] = %s_%s(x[i], y[i]);", cg->alg, with_plus);
    vx_buf_line(b, "  lo[i] = %s_%s(x[i], y[i]);", cg->alg, with_minus);
    vx_buf_line(b, "}");
    vx_buf_line(b, "%s_mma_op::run_m16(acc%d, hi, %s[ks][0], %s[ks][1]);", cg->alg, id, name[0], name[0]);
    vx_buf_line(b, "%s_mma_op::run_m16(acc%d, lo, %s[ks][0], %s[ks][1]);", cg->alg, id, name[1], name[1]);
  }
  b->indent--;
  vx_buf_line(b, "}");
}

/* The quad's gather of acc<id>'s columns into pg0/pg1.acc_v<id> (split
 * terms summed). */
static void emit_sum_gather(vx_cg *cg, const vx_cg_mma_sum *s) {
  vx_buf *b = cg->out;
  const int cols = s->heads * s->terms, id = s->sum->id;
  vx_buf_line(b, "{ /* %%%d: column n sits in lane 4g + n / 2 (element n %% 2; + 2 for page g + 8) */", id);
  b->indent++;
  vx_buf_line(b, "float col0[%d], col1[%d];", cols, cols);
  vx_buf_line(b, "#pragma unroll");
  vx_buf_line(b, "for (int n = 0; n < %d; ++n) {", cols);
  vx_buf_line(b, "  const int src = (int)(threadIdx.x & 28) | (n >> 1);");
  vx_buf_line(b, "  col0[n] = __shfl_sync(0xffffffffu, (n & 1) ? acc%d[1] : acc%d[0], src);", id, id);
  vx_buf_line(b, "  col1[n] = __shfl_sync(0xffffffffu, (n & 1) ? acc%d[3] : acc%d[2], src);", id, id);
  vx_buf_line(b, "}");
  vx_buf_line(b, "#pragma unroll");
  vx_buf_line(b, "for (int h = 0; h < %d; ++h) {", s->heads);
  if (s->terms == 1) {
    vx_buf_line(b, "  pg0.acc_v%d[h] = col0[h];", id);
    vx_buf_line(b, "  pg1.acc_v%d[h] = col1[h];", id);
  } else {
    vx_buf_line(b, "  pg0.acc_v%d[h] = (col0[h * 3] + col0[h * 3 + 1]) + col0[h * 3 + 2];", id);
    vx_buf_line(b, "  pg1.acc_v%d[h] = (col1[h * 3] + col1[h * 3 + 1]) + col1[h * 3 + 2];", id);
  }
  vx_buf_line(b, "}");
  b->indent--;
  vx_buf_line(b, "}");
}

/* next_id = page-table entry of page lane % 16 of the tile at `nb`. */
static void emit_tile_ids(vx_cg *cg, const char *why, const char *nb) {
  vx_buf *b = cg->out;
  vx_buf_line(b, "{ /* %s */", why);
  vx_buf_line(b, "  const int nb = %s, mine = nb + (int)(threadIdx.x & 15);", nb);
  vx_buf_line(b, "  if (nb < end) next_id = c.pages[mine < end ? mine : nb];");
  vx_buf_line(b, "}");
}

/* tile_id <- next_id (range-checked: a corrupt entry reads page 0), then
 * the tile's rows of every field into registers, whole 128-byte lines per
 * instruction: lane l reads chunk l %% C of page l / C + j * (32 / C), C =
 * the chunks of a row (the page id arrives by shuffle from lane page). */
static void emit_tile_loads(vx_cg *cg) {
  vx_buf *b = cg->out;
  const vx_module *m = cg->m;
  const int dim = m->geo.head_dim, cpr = row_chunks(cg), per = 32 / cpr;
  vx_buf_line(b, "tile_id = next_id < 0 || (long long)next_id >= c.num_phys ? 0 : next_id;");
  vx_buf_line(b, "#pragma unroll");
  vx_buf_line(b, "for (int j = 0; j < %d; ++j) {", 16 / per);
  vx_buf_line(b, "  const int id = __shfl_sync(0xffffffffu, tile_id, (int)(threadIdx.x & 31) / %d + j * %d);", cpr, per);
  vx_buf_line(b, "  const long long at = ((long long)id * c.kv_heads + c.h) * %d + 8 * (int)(threadIdx.x & %d);", dim, cpr - 1);
  for (int k = 0; k < cg->mma.nfields; k++)
    vx_buf_line(b, "  ld_%s[j] = %s_ld16(c.fields.%s + at);", field_name(cg, k), cg->alg, field_name(cg, k));
  vx_buf_line(b, "}");
}

/* The registers of the tile into the warp's shared tile, rows swizzled
 * (chunk ^ page %% 8) so that ldmatrix and these stores are conflict-free. */
static void emit_tile_stores(vx_cg *cg) {
  vx_buf *b = cg->out;
  const int cpr = row_chunks(cg), per = 32 / cpr;
  vx_buf_line(b, "__syncwarp(); /* the previous tile's ldmatrix reads are done */");
  vx_buf_line(b, "#pragma unroll");
  vx_buf_line(b, "for (int j = 0; j < %d; ++j) {", 16 / per);
  vx_buf_line(b, "  const int page = (int)(threadIdx.x & 31) / %d + j * %d, chunk = threadIdx.x & %d;", cpr, per, cpr - 1);
  for (int k = 0; k < cg->mma.nfields; k++)
    vx_buf_line(b, "  tile[%d + page * %d + (chunk ^ (page & 7))] = ld_%s[j];", k * 16 * cpr, cpr, field_name(cg, k));
  vx_buf_line(b, "}");
  vx_buf_line(b, "__syncwarp();");
}

void vx_cg_emit_mma_prologue(vx_cg *cg) {
  vx_buf *b = cg->out;
  const int cpr = row_chunks(cg), per = 32 / cpr;
  vx_buf_line(b, "/* SCORE on tensor cores: a warp scores tiles of 16 pages (the mma rows). A tile's");
  vx_buf_line(b, " * field rows are loaded in whole lines into registers, stored to the warp's");
  vx_buf_line(b, " * shared tile and read back as A fragments by ldmatrix; the next tile loads");
  vx_buf_line(b, " * while this one is multiplied. The first tile is requested here, before the");
  vx_buf_line(b, " * row values are staged, so the two latencies overlap. */");
  vx_cg_emit_score_range(cg);
  vx_buf_line(b, "const int step = WARPS * 16; /* pages per block iteration */");
  vx_buf_line(b, "extern __shared__ uint4 %s_tiles[]; /* [warp][field][page 16][chunk %d], %d bytes per warp */", cg->alg, cpr,
              16 * cpr * 16 * cg->mma.nfields);
  vx_buf_line(b, "uint4 *tile = %s_tiles + (threadIdx.x >> 5) * %d;", cg->alg, 16 * cpr * cg->mma.nfields);
  vx_buf_line(b, "int next_id = 0, tile_id = 0; /* entries of page lane %% 16 of the next and the loaded tile */");
  for (int k = 0; k < cg->mma.nfields; k++)
    vx_buf_line(b, "uint4 ld_%s[%d]; /* chunk lane %% %d of pages lane / %d + j * %d */", field_name(cg, k), 16 / per, cpr, cpr,
                per);
  vx_buf_line(b, "if (phase != %s_INDEX_SELECT && first + (int)(threadIdx.x >> 5) * 16 < end) {", cg->upper);
  b->indent++;
  emit_tile_ids(cg, "the first tile", "first + (int)(threadIdx.x >> 5) * 16");
  emit_tile_loads(cg);
  emit_tile_ids(cg, "the second tile's page-table entries", "first + (int)(threadIdx.x >> 5) * 16 + step");
  b->indent--;
  vx_buf_line(b, "}");
}

/* Right after c.q is known: the query's lines toward L2 (VX_INDEX_Q_PREFETCH). */
void vx_cg_emit_mma_query_prefetch(vx_cg *cg) {
  vx_buf *b = cg->out;
  vx_buf_line(b, "#if VX_INDEX_Q_PREFETCH");
  vx_buf_line(b, "if (phase != %s_INDEX_SELECT && threadIdx.x * 128 < %s_GROUP * %s_HEAD_DIM * (int)sizeof(%s_kv_t))", cg->upper,
              cg->upper, cg->upper, cg->alg);
  vx_buf_line(b, "  vx_prefetch_l2(reinterpret_cast<const char *>(c.q) + threadIdx.x * 128);");
  vx_buf_line(b, "#endif");
}

int vx_cg_mma_tile_bytes(const vx_cg *cg) { return cg->mma.on ? 16 * row_chunks(cg) * 16 * cg->mma.nfields : 0; }

void vx_cg_emit_mma_page_loop(vx_cg *cg, const vx_op *sel) {
  vx_buf *b = cg->out;
  emit_mma_fragments(cg);
  vx_buf_line(b, "const int g = (threadIdx.x & 31) >> 2;");
  vx_buf_line(b, "for (int base = first + (threadIdx.x >> 5) * 16; base < end; base += step) {");
  b->indent++;
  emit_tile_stores(cg);
  vx_buf_line(b, "const int this_id = tile_id;");
  vx_buf_line(b, "if (base + step < end) { /* the next tile, while this one is multiplied */");
  b->indent++;
  emit_tile_loads(cg);
  emit_tile_ids(cg, "the page-table entries of the tile after it", "base + 2 * step");
  b->indent--;
  vx_buf_line(b, "}");
  for (int i = 0; i < cg->mma.nsums; i++) emit_sum_products(cg, &cg->mma.sums[i]);
  vx_buf_line(b, "const int mine0 = base + g, mine1 = base + g + 8;");
  vx_buf_line(b, "%s_page pg0, pg1;", cg->alg);
  vx_buf_line(b, "const int p0 = mine0 < end ? mine0 : base, p1 = mine1 < end ? mine1 : base;");
  vx_buf_line(b, "pg0.j = p0;");
  vx_buf_line(b, "pg1.j = p1;");
  vx_buf_line(b, "pg0.phys = __shfl_sync(0xffffffffu, this_id, g);");
  vx_buf_line(b, "pg1.phys = __shfl_sync(0xffffffffu, this_id, g + 8);");
  for (int i = 0; i < cg->mma.nsums; i++) emit_sum_gather(cg, &cg->mma.sums[i]);
  /* every lane of the quad holds both pages' sums; lane t == 0 stores */
  vx_cg_emit_page_results(cg, sel, 2, 3);
  b->indent--;
  vx_buf_line(b, "}");
}

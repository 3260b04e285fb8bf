/* The select step of the index kernel: the runtime's exact radix top-k
 * and threshold selects, and a generated mass (top-p) select, which the
 * runtime does not provide. */
#include <stdio.h>

#include "cg.h"

/* select mass (top-p), which the runtime does not provide: kept pages plus
 * the shortest run of the other pages, in descending score order, whose
 * softmax mass reaches p. The same radix narrowing as vx_topk_row, but each
 * histogram bin sums the pages' softmax weights instead of counting them.
 * Weights are fixed point (2^40 = the weight of the maximum), so every sum is
 * an exact integer and the result does not depend on atomic order. */
void vx_cg_emit_mass_select(vx_cg *cg) {
  vx_buf *b = cg->out;
  const char *a = cg->alg, *u = cg->upper;
  static const char *const lines[] = {
      "struct @_mass_smem {",
      "  unsigned long long hist[256];",
      "  unsigned long long total;      /* fixed-point weight of the candidate pages */",
      "  unsigned long long pick_above; /* weight in bins above the picked one */",
      "  unsigned int pick_digit;",
      "};",
      "",
      "/* Softmax weight of a score relative to the row maximum, in units of 2^-40;",
      " * NaN weighs 0, and every page weighs 1 when no score is finite. */",
      "static __device__ __forceinline__ unsigned long long @_mass_weight(float s, float mx, bool uniform) {",
      "  if (uniform) return 1ull << 40;",
      "  if (s != s) return 0ull;",
      "  const double e = exp((double)s - (double)mx);",
      "  return e >= 0.0 ? (unsigned long long)(e * 1099511627776.0) : 1ull << 40; /* inf - inf: as the max */",
      "}",
      "",
      "/* All VX_TOPK_THREADS threads call it; output as vx_topk_row. */",
      "static __device__ void @_mass_row(const float *scores, int n, float p, int keep_first, int keep_last, int *out_pages,",
      "                                  int max_out, int *out_count, vx_topk_smem &tk, @_mass_smem &sm, float *scratch) {",
      "  const int tid = threadIdx.x;",
      "  if (n < 0) n = 0;",
      "  const int kf = keep_first < 0 ? 0 : (keep_first < n ? keep_first : n);",
      "  const int kl = keep_last < 0 ? 0 : (keep_last < n - kf ? keep_last : n - kf);",
      "  const int mid_begin = kf, mid_end = n - kl;",
      "  /* 0: none of the candidates, 1: all of them, 2: those ranked >= prefix */",
      "  int mode = p >= 1.0f ? 1 : (p > 0.0f && mid_end > mid_begin ? 2 : 0);",
      "  unsigned long long prefix = 0ull;",
      "  if (mode == 2) {",
      "    float mx = __int_as_float(0x7fffffff);",
      "    for (int i = mid_begin + tid; i < mid_end; i += VX_TOPK_THREADS) mx = fmaxf(mx, scores[i]);",
      "    mx = @_block_reduce(mx, $_MAX, scratch);",
      "    const bool uniform = !(mx > VX_NEG_INF); /* every score NaN or -inf */",
      "    if (tid == 0) sm.total = 0ull;",
      "    __syncthreads();",
      "    unsigned long long part = 0ull;",
      "    for (int i = mid_begin + tid; i < mid_end; i += VX_TOPK_THREADS) part += @_mass_weight(scores[i], mx, uniform);",
      "    atomicAdd(&sm.total, part);",
      "    __syncthreads();",
      "    const unsigned long long total = sm.total;",
      "    const double want = ceil((double)p * (double)total);",
      "    unsigned long long remaining = want < 1.0 ? 1ull : (want > (double)total ? total + 1ull : (unsigned long long)want);",
      "    if (remaining > total) mode = 1; /* the mass is only reached with every candidate */",
      "    unsigned long long mask = 0ull;",
      "    for (int pass = 0; mode == 2 && pass < 8; ++pass) {",
      "      const int shift = 56 - 8 * pass;",
      "      for (int bin = tid; bin < 256; bin += VX_TOPK_THREADS) sm.hist[bin] = 0ull;",
      "      __syncthreads();",
      "      for (int i = mid_begin + tid; i < mid_end; i += VX_TOPK_THREADS) {",
      "        const unsigned long long key = vx_rank_key(scores[i], i);",
      "        const unsigned long long w = @_mass_weight(scores[i], mx, uniform);",
      "        if ((key & mask) == prefix && w > 0ull) atomicAdd(&sm.hist[(unsigned int)(key >> shift) & 255u], w);",
      "      }",
      "      __syncthreads();",
      "      if (tid == 0) {",
      "        /* The highest bin at which the weight from the top reaches what is",
      "         * still owed; one exists because the bins hold at least that much. */",
      "        unsigned long long above = 0ull;",
      "        for (int bin = 255; bin >= 0; --bin) {",
      "          if (above + sm.hist[bin] >= remaining) {",
      "            sm.pick_digit = (unsigned int)bin;",
      "            sm.pick_above = above;",
      "            break;",
      "          }",
      "          above += sm.hist[bin];",
      "        }",
      "      }",
      "      __syncthreads();",
      "      prefix |= (unsigned long long)sm.pick_digit << shift;",
      "      mask |= 0xffull << shift;",
      "      remaining -= sm.pick_above;",
      "      __syncthreads(); /* pick_* and hist are reused by the next pass */",
      "    }",
      "  }",
      "  /* After 8 passes prefix is the full key of the last page taken (keys are",
      "   * unique): the run is every candidate ranked at or above it. */",
      "  const int count = vx_compact_ascending(",
      "      n,",
      "      [&](int i) {",
      "        if (i < mid_begin || i >= mid_end) return true;",
      "        return mode == 1 || (mode == 2 && vx_rank_key(scores[i], i) >= prefix);",
      "      },",
      "      out_pages, max_out, tk);",
      "  if (tid == 0) *out_count = count < max_out ? count : max_out;",
      "}",
      "",
  };
  for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
    for (const char *c = lines[i]; *c; c++) {
      if (*c == '@')
        vx_buf_puts(b, a);
      else if (*c == '$')
        vx_buf_puts(b, u);
      else
        vx_buf_append(b, c, 1);
    }
    vx_buf_puts(b, "\n");
  }
}

void vx_cg_emit_select(vx_cg *cg, const vx_op *sel) {
  vx_buf *b = cg->out;
  vx_buf arg;
  vx_buf_init(&arg);
  vx_cg_call(cg, &arg, sel->operands[1]);
  const char *value = arg.oom || !arg.data ? "0.0f" : arg.data;
  /* Split phases are a template on the block's warps (emit_index.c). */
  const char *width_args = vx_cg_index_split(cg) ? "<WARPS * 32>" : "";
  vx_buf_puts(b, "  /* ");
  vx_cg_describe_op(b, sel);
  vx_buf_puts(b, " */\n");
  if (sel->code == VX_OP_SELECT_TOP) {
    vx_buf_line(b, "  const int budget = %s_budget_pages(%s, c.n);", cg->alg, value);
    vx_buf_line(b, "  vx_topk_row%s(row_scores, c.n, budget, %d, %d, sel_pages + (long long)r * max_pages, max_pages,",
                width_args, sel->keep_first, sel->keep_last);
  } else if (sel->code == VX_OP_SELECT_MASS) {
    vx_buf_line(b, "  %s_mass_row(row_scores, c.n, %s, %d, %d, sel_pages + (long long)r * max_pages, max_pages,", cg->alg, value,
                sel->keep_first, sel->keep_last);
    vx_buf_line(b, "              sel_count + r, topk, mass, reduce_scratch);");
  } else {
    vx_buf_line(b, "  vx_threshold_row%s(row_scores, c.n, %s, %d, %d, sel_pages + (long long)r * max_pages, max_pages,",
                width_args, value, sel->keep_first, sel->keep_last);
  }
  if (sel->code != VX_OP_SELECT_MASS) vx_buf_line(b, "              sel_count + r, topk);");
  vx_buf_free(&arg);
}


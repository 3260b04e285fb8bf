/* The fused decode step: one launch in which a row's block scores and
 * selects its pages (the pair kernel's phases, SCORE_WARPS warps) and then
 * attends to them (the runtime's wide partial-attention block,
 * vx_decode_partial_mma_block). It applies where the attention plan gives
 * every row one wide block and one chunk (batch 16 x 8 KV heads on 132
 * SMs) and rows of at most STEP_FUSE_MAX_PAGES pages: the step then pays no
 * grid boundary between index and attention, and the attention's
 * selection comes back from the same SM's L1. The price is the index
 * phases in 8 warps an SM where the fused index kernel has 16, which
 * decides where it wins (A/B, bench/RESULTS.md run 109, H100, batch 16):
 * quest (512 field bytes a page) 3.3% faster at 8K and 1.4% at 32K, 3.9%
 * slower at 128K; block top-k (256 bytes a page) 2.6-5.4% slower at 8K and
 * 32K, 15% at 128K. So the generated file holds the kernel by default only
 * for modules with >= 512 field bytes a page, and not in NVRTC builds
 * (only the generated host launcher launches it; it is the module's
 * largest kernel, +0.4-1.4 s of NVRTC cold compile for quest, runs 111-112);
 * -DVX_STEP_FUSE=0/1 decides for any module with the pair kernel. */
#include "cg.h"

bool vx_cg_step_fusable(const vx_cg *cg) { return vx_cg_index_has_fused_pair(cg) && cg->m->geo.kv != VX_KV_MLA; }

/* Where run 109 measured the one launch faster (above). */
static bool fuse_by_default(const vx_cg *cg) { return vx_cg_field_bytes_per_page(cg) >= 512; }

static void emit_switch(vx_cg *cg) {
  vx_buf *b = cg->out;
  vx_buf_line(b, "/* The step as one launch (index, then attention, in each row's block) where");
  vx_buf_line(b, " * the attention plan gives every row one wide block: on by default for modules");
  vx_buf_line(b, " * with >= 512 field bytes a page (%d here); -DVX_STEP_FUSE=0/1 decides. */", vx_cg_field_bytes_per_page(cg));
  vx_buf_line(b, "#ifndef VX_STEP_FUSE");
  if (fuse_by_default(cg)) {
    vx_buf_line(b, "#ifdef __CUDACC_RTC__");
    vx_buf_line(b, "/* Only the host launcher below launches the kernel: an NVRTC build leaves it");
    vx_buf_line(b, " * out unless asked (it is the module's largest: +0.4-1.4 s of cold compile). */");
    vx_buf_line(b, "#define VX_STEP_FUSE 0");
    vx_buf_line(b, "#else");
    vx_buf_line(b, "#define VX_STEP_FUSE 1");
    vx_buf_line(b, "#endif");
  } else {
    vx_buf_line(b, "#define VX_STEP_FUSE 0");
  }
  vx_buf_line(b, "#endif");
  vx_buf_line(b, "/* Longer rows keep two launches: the index phases, 8 warps an SM here against");
  vx_buf_line(b, " * the fused index kernel's 16, outweigh the saved boundary (quest at 8192");
  vx_buf_line(b, " * pages: 3.9%% slower, run 109). */");
  vx_buf_line(b, "#ifndef VX_STEP_FUSE_MAX_PAGES /* tuning builds may raise it */");
  vx_buf_line(b, "#define VX_STEP_FUSE_MAX_PAGES 2048");
  vx_buf_line(b, "#endif");
  vx_buf_line(b, "#define %s_STEP_FUSE_MAX_PAGES VX_STEP_FUSE_MAX_PAGES", cg->upper);
  vx_buf_line(b, "/* -DVX_STEP_WIDE=1: the index phases in VX_TOPK_WARPS warps, as in the fused index");
  vx_buf_line(b, " * kernel, instead of %s_SCORE_WARPS; eight of them then attend with the registers", cg->upper);
  vx_buf_line(b, " * the others give up (vx_decode_step_attend; compute capability 9.0 only). */");
  vx_buf_line(b, "#ifndef VX_STEP_WIDE");
  vx_buf_line(b, "#define VX_STEP_WIDE 0");
  vx_buf_line(b, "#endif");
  vx_buf_line(b, "#define %s_STEP_WARPS (VX_STEP_WIDE ? VX_TOPK_WARPS : %s_SCORE_WARPS)", cg->upper, cg->upper);
}

void vx_cg_emit_step_kernel(vx_cg *cg) {
  if (!vx_cg_step_fusable(cg)) return;
  vx_buf *b = cg->out;
  const char *a = cg->alg, *u = cg->upper;
  emit_switch(cg);
  vx_buf_line(b, "#if VX_STEP_FUSE");
  vx_buf_line(b, "/* The whole step of a row: its index phases, then its attention, one block. */");
  vx_buf_line(b, "extern \"C\" __global__ void __launch_bounds__(%s_STEP_WARPS * 32, 1)", u);
  vx_buf_line(b, "%s_fused_step_kernel(vx_paged_kv kv, const %s_kv_t *q, %s_field_ptrs fields, const float *state_in,", a, a, a);
  vx_buf_line(b, "    float *state_out, int max_pages, float *scores, int *sel_pages, int *sel_count, vx_decode_args attn) {");
  vx_buf_line(b, "  %s_index_phases<%s_STEP_WARPS>(kv, q, fields, state_in, state_out, max_pages, scores, sel_pages, sel_count,", a, u);
  vx_buf_line(b, "      max_pages, %s_INDEX_FUSED);", u);
  vx_buf_line(b, "  /* The block's selection (global stores) is visible to its own threads after the");
  vx_buf_line(b, "   * barrier, and the index's shared memory is free for the attention's ring. */");
  vx_buf_line(b, "  __syncthreads();");
  vx_buf_line(b, "  vx_decode_step_attend<%s_kv_t, %s_HEAD_DIM, %s_GROUP, %s_STEP_WARPS, %s_ATTEND_PAGE>(attn);", a, u, u, u, u);
  vx_buf_line(b, "}");
  vx_buf_line(b, "#endif /* VX_STEP_FUSE */");
  vx_buf_blank(b);
}

/* ALG_step_fused: the checks ALG_index and ALG_attend make, then the one
 * launch; ALG_STEP_UNFUSED where the plan does not fit it. */
void vx_cg_emit_step_fused_launcher(vx_cg *cg) {
  if (!vx_cg_step_fusable(cg)) return;
  vx_buf *b = cg->out;
  const char *a = cg->alg, *u = cg->upper;
  vx_buf_line(b, "#if VX_STEP_FUSE");
  vx_buf_line(b, "#define %s_STEP_UNFUSED (-1)", u);
  vx_buf_line(b, "/* The step as one launch where every row gets one wide attention block and");
  vx_buf_line(b, " * one chunk, the rows fit one wave and have at most %s_STEP_FUSE_MAX_PAGES", u);
  vx_buf_line(b, " * pages; %s_STEP_UNFUSED elsewhere (the caller launches index, then attention). */", u);
  vx_buf_line(b, "static int %s_step_fused(const vx_paged_kv *kv, const void *q, void *const *field_pools, const float *state_in,", a);
  vx_buf_line(b, "    float *state_out, int max_pages, float sm_scale, void *out, int *sel_pages, int *sel_count, void *workspace,");
  vx_buf_line(b, "    size_t workspace_bytes, cudaStream_t stream) {");
  vx_cg_emit_check_kv_and_fields(cg);
  vx_buf_line(b, "  if (st != %s_OK) return st;", u);
  vx_buf_line(b, "  if (!q || !out) return %s_ERR_ARGUMENT;", u);
  if (cg->m->nstates > 0) vx_buf_line(b, "  if (!state_in || !state_out) return %s_ERR_ARGUMENT;", u);
  vx_buf_line(b, "  if (kv->batch == 0 || max_pages > %s_STEP_FUSE_MAX_PAGES) return %s_STEP_UNFUSED;", u, u);
  vx_buf_line(b, "  const long long rows = (long long)kv->batch * kv->num_kv_heads;");
  vx_buf_line(b, "  if (!%s_index_workspace_fits(rows, max_pages, workspace, workspace_bytes) ||", a);
  vx_buf_line(b, "      !%s_attend_workspace_fits(kv->batch, kv->num_kv_heads, max_pages, workspace, workspace_bytes))", a);
  vx_buf_line(b, "    return %s_ERR_WORKSPACE;", u);
  vx_buf_line(b, "  const vx_decode_mma_choice choice =");
  vx_buf_line(b, "      vx_decode_mma_choose<%s_kv_t, %s_HEAD_DIM, %s_GROUP, %s_ATTEND_PAGE>(rows, %s_plan_pages(max_pages));", a, u, u, u, a);
  vx_buf_line(b, "  if (!choice.wide || choice.plan.num_chunks != 1) return %s_STEP_UNFUSED;", u);
  vx_buf_line(b, "  typedef vx_decode_mma_kernel_of<%s_kv_t, %s_HEAD_DIM, %s_GROUP, 1, %s_ATTEND_PAGE> attention;", a, u, u, u);
  vx_buf_line(b, "  if (%s_STEP_WARPS != VX_DECODE_WIDE_WARPS && !vx_decode_step_regs_ok(reinterpret_cast<const void *>(%s_fused_step_kernel),", u, a);
  vx_buf_line(b, "                                                                   %s_STEP_WARPS * 32))", u);
  vx_buf_line(b, "    return %s_STEP_UNFUSED;", u);
  vx_buf_line(b, "  const int index_smem = %s_fused_smem_bytes(%s_STEP_WARPS, max_pages);", a, u);
  vx_buf_line(b, "  const int smem = index_smem > attention::SMEM ? index_smem : attention::SMEM;");
  vx_buf_line(b, "  const int capacity = vx_prepare_kernel(reinterpret_cast<const void *>(%s_fused_step_kernel), %s_STEP_WARPS * 32, smem);",
              a, u);
  vx_buf_line(b, "  if (capacity < rows) return %s_STEP_UNFUSED;", u);
  vx_buf_line(b, "  char *scratch = static_cast<char *>(workspace) + %s_selection_bytes(rows, max_pages);", a);
  vx_buf_line(b, "  vx_decode_args args = %s_decode_args(kv, q, sel_pages, sel_count, max_pages, sm_scale, out);", a);
  vx_buf_line(b, "  %s_set_plan(&args, choice.plan, rows, scratch); /* one chunk: its partials only in trace builds */", a);
  vx_buf_line(b, "  vx_launch(%s_fused_step_kernel, dim3((unsigned)rows), dim3(%s_STEP_WARPS * 32), smem, stream, *kv,", a, u);
  vx_buf_line(b, "      static_cast<const %s_kv_t *>(q), f, state_in, state_out, max_pages, reinterpret_cast<float *>(scratch), sel_pages,", a);
  vx_buf_line(b, "      sel_count, args);");
  vx_buf_line(b, "  return %s_launched();", a);
  vx_buf_line(b, "}");
  vx_buf_line(b, "#endif /* VX_STEP_FUSE */");
  vx_buf_blank(b);
}

/* In ALG_step, after the workspace's selection pointers: the fused launch first. */
void vx_cg_emit_step_fused_call(vx_cg *cg) {
  if (!vx_cg_step_fusable(cg)) return;
  vx_buf *b = cg->out;
  vx_buf_line(b, "#if VX_STEP_FUSE");
  vx_buf_line(b, "  st = %s_step_fused(kv, q, field_pools, state_in, state_out, max_pages, sm_scale, out, sel_pages, sel_count,", cg->alg);
  vx_buf_line(b, "                      workspace, workspace_bytes, stream);");
  vx_buf_line(b, "  if (st != %s_STEP_UNFUSED) return st;", cg->upper);
  vx_buf_line(b, "#endif");
}

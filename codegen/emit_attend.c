/* Sparse paged decode attention: the generated file instantiates the
 * runtime's split-KV kernels (vx_decode_mma.cuh for GQA, vx_mla_launch.cuh
 * for MLA) for the compiled geometry; this emits the host glue that plans and
 * launches them, mirroring libvortexrt's decode launcher. */
#include "cg.h"

void vx_cg_emit_attention(vx_cg *cg) {
  vx_buf *b = cg->out;
  const char *a = cg->alg, *u = cg->upper;
  const vx_geometry *g = &cg->m->geo;
  const bool mla = g->kv == VX_KV_MLA;
  vx_buf_line(b, "/* The attention's arguments over a selection (%s_attend; the one-launch step). */", a);
  vx_buf_line(b, "static vx_decode_args %s_decode_args(const vx_paged_kv *kv, const void *q, const int *sel_pages,", a);
  vx_buf_line(b, "    const int *sel_count, int max_pages, float sm_scale, void *out) {");
  vx_buf_line(b, "  vx_decode_args args = {};");
  vx_buf_line(b, "  args.kv = *kv;\n  args.q = q;\n  args.out = out;\n  args.sel_pages = sel_pages;\n  args.sel_count = sel_count;");
  vx_buf_line(b, "  args.max_sel = max_pages;\n  args.num_qo_heads = kv->num_kv_heads * %s_GROUP;", u);
  vx_buf_line(b, "  args.sm_scale = sm_scale > 0.0f ? sm_scale : 1.0f / sqrtf((float)%s_HEAD_DIM);", u);
  vx_buf_line(b, "  return args;");
  vx_buf_line(b, "}");
  vx_buf_blank(b);
  vx_buf_line(b, "/* Plan the split over what a row can select, not over the request. */");
  vx_buf_line(b, "static int %s_plan_pages(int max_pages) {", a);
  vx_buf_line(b, "  return %s_MAX_SELECTED > 0 && %s_MAX_SELECTED < max_pages ? (int)%s_MAX_SELECTED : max_pages;", u, u, u);
  vx_buf_line(b, "}");
  vx_buf_blank(b);
  vx_buf_line(b, "/* A plan's split in args: its chunks, and where their partials go in scratch. */");
  vx_buf_line(b, "static void %s_set_plan(vx_decode_args *args, const vx_decode_plan &plan, long long rows, char *scratch) {", a);
  vx_buf_line(b, "  const unsigned long long slots = (unsigned long long)rows * plan.num_chunks * %s_GROUP;", u);
  vx_buf_line(b, "  args->num_chunks = plan.num_chunks;");
  vx_buf_line(b, "  args->chunk_pages = plan.chunk_pages;");
  vx_buf_line(b, "  args->ws_o = reinterpret_cast<float *>(scratch);");
  vx_buf_line(b, "  args->ws_lse = reinterpret_cast<float *>(scratch + vx_decode_lse_offset(slots, %s_OUT_DIM));", u);
  vx_buf_line(b, "}");
  vx_buf_blank(b);
  vx_buf_line(b, "/* Exact softmax attention over the selected pages: split-KV flash decoding");
  vx_buf_line(b, " * (%s), then the", mla ? "vx_mla_choose / vx_mla_launch: tensor cores, <= 32 heads of a request per block"
                                          : "vx_decode_partial_mma_kernel: tensor cores, the whole GQA group per block");
  vx_buf_line(b, " * log-sum-exp merge of the chunks%s. The plan (chunks per row) follows the",
              mla ? " (in the partial kernel's clusters when they fit)" : " (none with one chunk per row)");
  vx_buf_line(b, " * runtime's rule; `scratch` holds at least %s_attention_bytes(). */", a);
  vx_buf_line(b, "static void %s_launch_attention(vx_decode_args args, int max_pages, char *scratch, cudaStream_t stream) {", a);
  if (mla) {
    vx_buf_line(b, "  const long long rows = args.kv.batch; /* one latent head */");
    vx_buf_line(b, "  /* Kernel (wgmma on sm_90, else mma.sync) and split plan by the runtime's rule");
    vx_buf_line(b, "   * (vx_mla_choose, which also sets the kernel's shared memory attribute:");
    vx_buf_line(b, "   * host-side, legal during capture; if it fails, the launch fails). */");
    vx_buf_line(b, "  const vx_mla_choice choice = vx_mla_choose<%s_kv_t, %s_GROUP, %d, %d>(rows, max_pages, args.kv.page_size);", a, u,
                g->mla_latent, g->mla_rope);
    vx_buf_line(b, "  const vx_decode_plan plan = choice.plan;");
  } else {
    vx_buf_line(b, "  const long long rows = (long long)args.kv.batch * args.kv.num_kv_heads;");
    vx_buf_line(b, "  /* Block width (4 warps, two blocks per SM, or 8, one) and split plan by the");
    vx_buf_line(b, "   * runtime's rule (vx_decode_mma_choose, which also sets the kernels' shared");
    vx_buf_line(b, "   * memory attribute: host-side, legal during capture; if it fails, the launch fails). */");
    vx_buf_line(b, "  const vx_decode_mma_choice choice = vx_decode_mma_choose<%s_kv_t, %s_HEAD_DIM, %s_GROUP, %s_ATTEND_PAGE>(rows, max_pages);", a, u, u, u);
    vx_buf_line(b, "  const vx_decode_plan plan = choice.plan;");
  }
  vx_buf_line(b, "  %s_set_plan(&args, plan, rows, scratch);", a);
  if (mla) {
    vx_buf_line(b, "  vx_mla_launch<%s_kv_t, %s_GROUP, %d, %d>(args, choice, stream); /* partial kernel; merge in it or after it */", a, u,
                g->mla_latent, g->mla_rope);
  } else {
    vx_buf_line(b, "  vx_decode_mma_launch<%s_kv_t, %s_HEAD_DIM, %s_GROUP, %s_ATTEND_PAGE>(args, choice, rows, stream);", a, u, u, u);
    /* one chunk per row: the partial kernel wrote the output itself */
    vx_buf_line(b, "  if (plan.num_chunks > 1) vx_decode_merge_launch<%s_kv_t, %s_OUT_DIM>(args, %s_GROUP, stream);", a, u, u);
  }
  vx_buf_line(b, "}");
  vx_buf_blank(b);
}

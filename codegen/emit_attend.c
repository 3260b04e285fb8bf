/* Sparse paged decode attention: the generated file instantiates the
 * runtime's split-KV kernels (vx_attention.cuh, vx_mla.cuh) for the
 * compiled geometry; this emits the device-side glue the launchers call. */
#include "cg.h"

void vx_cg_emit_attention(vx_cg *cg) {
  vx_buf *b = cg->out;
  const vx_geometry *g = &cg->m->geo;
  const bool mla = g->kv == VX_KV_MLA;
  vx_buf_line(b, "/* ------------------------------------------------------------------- attention */");
  vx_buf_blank(b);
  vx_buf_line(b, "/* Exact softmax attention over the selected pages (split-KV flash decoding,");
  vx_buf_line(b, " * then a log-sum-exp merge of the chunks): %s.", mla ? "vx_mla_decode_partial_kernel, every head of a request in one block"
                                                                         : "vx_decode_partial_kernel, the whole GQA group in one block");
  vx_buf_line(b, " * `a` must already hold the plan and the workspace pointers. */");
  vx_buf_line(b, "static void %s_launch_attention(const vx_decode_args &a, int batch, cudaStream_t stream) {", cg->alg);
  if (mla) {
    vx_buf_line(b, "  vx_mla_decode_partial_kernel<%s_kv_t, %s_GROUP, %d, %d>", cg->alg, cg->upper, g->mla_latent, g->mla_rope);
    vx_buf_line(b, "      <<<batch * a.num_chunks, %s_GROUP * VX_MLA_TILE, 0, stream>>>(a);", cg->upper);
  } else {
    vx_buf_line(b, "  constexpr int smem = vx_decode_smem_bytes<%s_HEAD_DIM, %s_GROUP>();", cg->upper, cg->upper);
    vx_buf_line(b, "  /* The K/V ring is above the default 48 KB of dynamic shared memory. A host-side");
    vx_buf_line(b, "   * attribute, legal during graph capture and idempotent: set on every launch");
    vx_buf_line(b, "   * rather than keeping once-only global state. On failure the launch fails. */");
    vx_buf_line(b, "  (void)cudaFuncSetAttribute(vx_decode_partial_kernel<%s_kv_t, %s_HEAD_DIM, %s_GROUP>,", cg->alg, cg->upper,
                cg->upper);
    vx_buf_line(b, "                             cudaFuncAttributeMaxDynamicSharedMemorySize, smem);");
    vx_buf_line(b, "  vx_decode_partial_kernel<%s_kv_t, %s_HEAD_DIM, %s_GROUP>", cg->alg, cg->upper, cg->upper);
    vx_buf_line(b, "      <<<batch * a.kv.num_kv_heads * a.num_chunks, VX_DECODE_THREADS, smem, stream>>>(a);");
  }
  vx_buf_line(b, "  vx_decode_merge_kernel<%s_kv_t, %s_OUT_DIM>", cg->alg, cg->upper);
  vx_buf_line(b, "      <<<batch * a.num_qo_heads, %s_OUT_DIM < 1024 ? %s_OUT_DIM : 1024, 0, stream>>>(a, %s_GROUP);", cg->upper,
              cg->upper, cg->upper);
  vx_buf_line(b, "}");
  vx_buf_blank(b);
}

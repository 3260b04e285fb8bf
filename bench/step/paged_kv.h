/* paged_kv.h - the benchmarks' paged cache descriptor: a CSR page table
 * over bf16 NHD pools ([page][token][kv head][dim]), as the generated
 * kernels take it (vx_paged_kv, from any generated header, included before
 * this one) and as libvortexrt takes it (vxrt_paged_kv, the same fields).
 * Shared by step_bench and model_bench. */
#ifndef VX_BENCH_PAGED_KV_H
#define VX_BENCH_PAGED_KV_H

#include <string.h>

#include "vortexrt.h"

static inline vx_paged_kv sb_csr_nhd_kv(int batch, int page_size, int kv_heads, int head_dim, long long pages,
                                        const int *indptr, const int *indices, const int *last_page_len,
                                        const void *k_pool, const void *v_pool) {
  vx_paged_kv kv = {};
  kv.format = 0; /* CSR */
  kv.dtype = 0;  /* bf16 */
  kv.batch = batch;
  kv.page_size = page_size;
  kv.num_kv_heads = kv_heads;
  kv.head_dim = head_dim;
  kv.num_pages = pages;
  kv.indptr = indptr;
  kv.indices = indices;
  kv.last_page_len = last_page_len;
  kv.k_pool = k_pool;
  kv.v_pool = v_pool;
  kv.stride_head = head_dim; /* NHD: [page][token][head][dim] */
  kv.stride_token = (long long)kv_heads * head_dim;
  kv.stride_page = (long long)page_size * kv_heads * head_dim;
  return kv;
}

/* libvortexrt's descriptor mirrors the generated one field for field. */
static inline vxrt_paged_kv sb_vxrt_kv(const vx_paged_kv &kv) {
  static_assert(sizeof(vxrt_paged_kv) == sizeof(vx_paged_kv), "descriptor layouts differ");
  vxrt_paged_kv r;
  memcpy(&r, &kv, sizeof kv);
  return r;
}

#endif /* VX_BENCH_PAGED_KV_H */

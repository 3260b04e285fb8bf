/* vx_page_table.cuh - paged KV cache descriptor and accessors.
 *
 * Serving engines already own a paged KV pool; vortexc kernels read it in
 * place rather than asking engines to convert. Two page-table formats cover
 * the engines we target:
 *   CSR (FlashInfer, SGLang): indptr[batch+1], indices[indptr[batch]],
 *        last_page_len[batch] in 1..page_size;
 *   block table (vLLM):       block_table[batch*stride], seq_lens[batch].
 * The pool order (NHD [page, token, head, dim] or HND [page, head, token,
 * dim]) is carried as element strides, so padded pools also work. The struct
 * is plain data passed by value to kernels; libvortexrt's vxrt_paged_kv
 * mirrors it field for field. */
#ifndef VX_PAGE_TABLE_CUH
#define VX_PAGE_TABLE_CUH

#ifndef VX_COMMON_CUH /* already pasted in: no include path needed */
#include "vx_common.cuh"
#endif

enum vx_page_format { VX_PAGES_CSR = 0, VX_PAGES_BLOCK_TABLE = 1 };
enum vx_dtype { VX_DTYPE_BF16 = 0, VX_DTYPE_F16 = 1 };

struct vx_paged_kv {
  int format; /* vx_page_format */
  int dtype;  /* vx_dtype; kernels are templated on the element type */
  int batch;
  int page_size;
  int num_kv_heads;
  int head_dim;
  long long num_pages; /* pool capacity, for validation only */
  /* CSR */
  const int *indptr;
  const int *indices;
  const int *last_page_len;
  /* block table */
  const int *block_table;
  int block_table_stride;
  const int *seq_lens;
  /* pools and their element strides (K and V share the shape) */
  const void *k_pool;
  const void *v_pool;
  long long stride_page;
  long long stride_token;
  long long stride_head;
};

VX_INLINE int vx_num_pages(const vx_paged_kv &kv, int b) {
  if (kv.format == VX_PAGES_CSR) return kv.indptr[b + 1] - kv.indptr[b];
  return (kv.seq_lens[b] + kv.page_size - 1) / kv.page_size;
}

VX_INLINE int vx_seq_len(const vx_paged_kv &kv, int b) {
  if (kv.format == VX_PAGES_CSR) {
    int n = kv.indptr[b + 1] - kv.indptr[b];
    return n > 0 ? (n - 1) * kv.page_size + kv.last_page_len[b] : 0;
  }
  return kv.seq_lens[b];
}

/* Physical pool page of logical page j of request b. */
VX_INLINE int vx_physical_page(const vx_paged_kv &kv, int b, int j) {
  if (kv.format == VX_PAGES_CSR) return kv.indices[kv.indptr[b] + j];
  return kv.block_table[(long long)b * kv.block_table_stride + j];
}

/* Tokens holding data in logical page j of a request with n pages; only the
 * last page can be partial. */
VX_INLINE int vx_page_valid_tokens(const vx_paged_kv &kv, int b, int j, int n) {
  if (j < n - 1) return kv.page_size;
  if (kv.format == VX_PAGES_CSR) return kv.last_page_len[b];
  return kv.seq_lens[b] - (n - 1) * kv.page_size;
}

/* Element offset of (page, token, head, dim 0) in either pool. */
VX_INLINE long long vx_kv_offset(const vx_paged_kv &kv, int page, int token, int head) {
  return (long long)page * kv.stride_page + (long long)token * kv.stride_token +
         (long long)head * kv.stride_head;
}

#endif /* VX_PAGE_TABLE_CUH */

/* vortexrt.h - C ABI of libvortexrt, the vortexc runtime.
 *
 * What it gives a serving engine: validation of its paged-KV descriptors,
 * dense and sparse paged decode attention (GQA and MLA), exact top-k page
 * selection, and an NVRTC loader with an on-disk cubin cache for kernels
 * that vortexc generates. Launchers never allocate and never synchronise
 * with the host: they take a stream and a caller-owned workspace (sized by
 * the *_workspace_size functions), so a whole decode step can be captured
 * in a CUDA graph. Every function reports through vxrt_status and, when
 * err is non-NULL, a NUL-terminated message in err[0..errlen); nothing is
 * printed and nothing exits. */
#ifndef VORTEXRT_H
#define VORTEXRT_H

#include <stddef.h>
#include <stdint.h>

#include <cuda_runtime_api.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum vxrt_status {
  VXRT_SUCCESS = 0,
  VXRT_ERROR_NULL_POINTER = 1,     /* a required pointer is NULL */
  VXRT_ERROR_INVALID_VALUE = 2,    /* a size or count is out of range */
  VXRT_ERROR_UNSUPPORTED = 3,      /* valid, but no kernel for this shape/type */
  VXRT_ERROR_BAD_PAGE_SIZE = 4,    /* page size not a power of two in 16..64 */
  VXRT_ERROR_BAD_HEAD_DIM = 5,     /* head dim not supported */
  VXRT_ERROR_BAD_PAGE_TABLE = 6,   /* indptr not monotone, bad lengths */
  VXRT_ERROR_PAGE_OUT_OF_RANGE = 7,/* a page id outside [0, num_pages) */
  VXRT_ERROR_MISALIGNED = 8,       /* pools/strides break 16-byte loads */
  VXRT_ERROR_WORKSPACE_TOO_SMALL = 9,
  VXRT_ERROR_CUDA = 10,            /* a CUDA runtime/driver call failed */
  VXRT_ERROR_NVRTC = 11,           /* run-time compilation failed (log in err) */
  VXRT_ERROR_IO = 12,              /* cache directory or file error */
  VXRT_ERROR_OUT_OF_MEMORY = 13,   /* host allocation failed */
  VXRT_ERROR_NOT_FOUND = 14        /* no such function in a module */
} vxrt_status;

/* Static, never NULL: "VXRT_ERROR_BAD_PAGE_TABLE: ..." style short text. */
const char *vxrt_status_string(vxrt_status status);

typedef enum vxrt_page_format { VXRT_PAGES_CSR = 0, VXRT_PAGES_BLOCK_TABLE = 1 } vxrt_page_format;
typedef enum vxrt_kv_layout { VXRT_LAYOUT_NHD = 0, VXRT_LAYOUT_HND = 1 } vxrt_kv_layout;
typedef enum vxrt_dtype { VXRT_DTYPE_BF16 = 0, VXRT_DTYPE_F16 = 1 } vxrt_dtype;

/* Paged KV cache as the engine already stores it. Mirrors struct vx_paged_kv
 * of runtime/device/vx_page_table.cuh field for field (same order, same
 * sizes), which is what generated kernels receive by value.
 *   CSR (FlashInfer/SGLang): indptr[batch+1], indices[indptr[batch]],
 *     last_page_len[batch] in 1..page_size (requests with 0 pages allowed).
 *   Block table (vLLM): block_table[batch * block_table_stride],
 *     seq_lens[batch] tokens; entries past a request's pages are not read.
 * Pools: k_pool and v_pool hold num_pages pages; the element at (page,
 * token, head, dim) is at page*stride_page + token*stride_token +
 * head*stride_head + dim (see vxrt_kv_set_layout). MLA latent caches use
 * num_kv_heads = 1, head_dim = dc + dr and v_pool = k_pool. */
typedef struct vxrt_paged_kv {
  int32_t format; /* vxrt_page_format */
  int32_t dtype;  /* vxrt_dtype */
  int32_t batch;
  int32_t page_size;
  int32_t num_kv_heads;
  int32_t head_dim;
  int64_t num_pages;
  const int32_t *indptr;
  const int32_t *indices;
  const int32_t *last_page_len;
  const int32_t *block_table;
  int32_t block_table_stride;
  const int32_t *seq_lens;
  const void *k_pool;
  const void *v_pool;
  int64_t stride_page;
  int64_t stride_token;
  int64_t stride_head;
} vxrt_paged_kv;

/* Fill the three strides for a dense NHD or HND pool from the shape fields
 * (page_size, num_kv_heads, head_dim must be set). */
vxrt_status vxrt_kv_set_layout(vxrt_paged_kv *kv, vxrt_kv_layout layout);

/* Validation flags. Without VXRT_CHECK_ARRAYS only shapes, pointers and
 * alignment are checked (safe on device pointers, no sync). With it the
 * index arrays (indptr, indices, last_page_len, block_table, seq_lens) must
 * be host-readable and their contents are checked too. */
#define VXRT_CHECK_ARRAYS 1u

vxrt_status vxrt_validate_paged_kv(const vxrt_paged_kv *kv, unsigned flags, char *err, size_t errlen);

/* --- decode attention ---------------------------------------------------
 * q and out: [batch, num_qo_heads, head_dim], same element type as the KV.
 * num_qo_heads / num_kv_heads must be 1, 2, 4 or 8; head_dim 64 or 128;
 * page_size 16, 32 or 64. max_pages_per_request (dense) or max_sel (sparse)
 * bounds the pages one row attends; it sizes the work split and workspace.
 * A row with no pages gets a zero output. */
size_t vxrt_decode_workspace_size(int32_t batch, int32_t num_qo_heads, int32_t num_kv_heads, int32_t head_dim,
                                  int32_t max_pages_per_row);

vxrt_status vxrt_dense_decode(const vxrt_paged_kv *kv, const void *q, void *out, int32_t num_qo_heads,
                              float sm_scale, int32_t max_pages_per_request, void *workspace,
                              size_t workspace_bytes, cudaStream_t stream, char *err, size_t errlen);

/* sel_pages: [batch * num_kv_heads, max_sel] LOGICAL page indices of each
 * (request, kv head) row; sel_count: [batch * num_kv_heads]. Entries outside
 * the request's pages are skipped, never dereferenced. */
vxrt_status vxrt_sparse_decode(const vxrt_paged_kv *kv, const void *q, void *out, int32_t num_qo_heads,
                               float sm_scale, const int32_t *sel_pages, const int32_t *sel_count, int32_t max_sel,
                               void *workspace, size_t workspace_bytes, cudaStream_t stream, char *err,
                               size_t errlen);

/* MLA: kv is the latent cache (num_kv_heads 1, head_dim = kv_lora_rank +
 * rope_dim, supported 512 + 64, bf16 or f16), q [batch, num_heads, head_dim]
 * (absorbed), out [batch, num_heads, kv_lora_rank]; num_heads 16, 20, 32, 64 or 128.
 * sel_pages == NULL means dense (max_pages_per_row = most pages of any
 * request); otherwise rows are requests and max_pages_per_row is max_sel. */
size_t vxrt_mla_workspace_size(int32_t batch, int32_t num_heads, int32_t kv_lora_rank, int32_t max_pages_per_row);

vxrt_status vxrt_mla_decode(const vxrt_paged_kv *kv, int32_t kv_lora_rank, const void *q, void *out,
                            int32_t num_heads, float sm_scale, const int32_t *sel_pages, const int32_t *sel_count,
                            int32_t max_pages_per_row, void *workspace, size_t workspace_bytes,
                            cudaStream_t stream, char *err, size_t errlen);

/* --- page selection ----------------------------------------------------
 * One row per (request, kv head): rows = batch * num_kv_heads; row r scores
 * its n logical pages in scores[r * score_stride + 0..n). Output: selected
 * logical pages ascending in sel_pages[r * max_sel ..], count in
 * sel_count[r]. Top-k keeps [0, keep_first) and the last keep_last pages
 * and the `budget` best others (ties: lower page; NaN lowest). Requires
 * max_sel >= min(budget + keep_first + keep_last, score_stride). */
vxrt_status vxrt_topk_select(const vxrt_paged_kv *kv, const float *scores, int64_t score_stride, int32_t budget,
                             int32_t keep_first, int32_t keep_last, int32_t *sel_pages, int32_t max_sel,
                             int32_t *sel_count, cudaStream_t stream, char *err, size_t errlen);

/* Keeps the first/last pages and every other page with score >= threshold.
 * Requires max_sel >= score_stride. */
vxrt_status vxrt_threshold_select(const vxrt_paged_kv *kv, const float *scores, int64_t score_stride,
                                  float threshold, int32_t keep_first, int32_t keep_last, int32_t *sel_pages,
                                  int32_t max_sel, int32_t *sel_count, cudaStream_t stream, char *err,
                                  size_t errlen);

/* --- NVRTC loader --------------------------------------------------------
 * Compiles CUDA C source for `arch` (e.g. 90 for sm_90a; 0 = the current
 * device's), loads it as a CUDA runtime library (cudaLibraryLoadData: no
 * driver API, no context juggling) and returns a module handle.
 * options: NULL-terminated list of NVRTC options, may be NULL. The toolkit
 * and runtime/device include directories are added automatically. With a
 * non-NULL cache_dir the cubin is stored as <cache_dir>/vxrt-<hash>.cubin
 * where hash = XXH3-64 (or FNV-1a-64 where xxhash is absent) of the
 * compiler version, arch, options and source; a later load with the same
 * key skips NVRTC. Unless the options name their own -split-compile, NVRTC
 * builds the module's kernels on every CPU thread (-split-compile=0, left
 * out of the key). Kernels to be looked up must be extern "C". */
typedef struct vxrt_module vxrt_module;

vxrt_status vxrt_module_load_source(const char *source, const char *const *options, int arch, const char *cache_dir,
                                    vxrt_module **module, char *err, size_t errlen);
/* The kernel handle launches with cudaLaunchKernel((const void *)kernel, ...)
 * or cudaLaunchKernelExC; it is valid in every context of the process. */
vxrt_status vxrt_module_get_function(const vxrt_module *module, const char *name, cudaKernel_t *kernel, char *err,
                                     size_t errlen);
/* 1 when the last load came from the on-disk cache, 0 when NVRTC ran. */
int vxrt_module_from_cache(const vxrt_module *module);
void vxrt_module_unload(vxrt_module *module);

/* The 64-bit content hash used for cache keys, exposed for tests/tools. */
uint64_t vxrt_hash64(const void *data, size_t len, uint64_t seed);

#ifdef __cplusplus
}
#endif

#endif /* VORTEXRT_H */

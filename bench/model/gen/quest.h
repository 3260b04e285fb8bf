/* quest.h - C ABI of the kernels vortexc generated for algorithm `quest`.
 * Generated file: edit the .vtx source instead.
 *
 * Every launcher is asynchronous on `stream`, never allocates and never
 * synchronises, so a whole decode step can be captured in a CUDA graph.
 * Scratch memory comes from a caller-provided workspace of at least
 * quest_workspace_size() bytes. Launchers return QUEST_OK or an error status;
 * they check what the host can see (pointers, sizes, geometry), not the
 * contents of device page tables. */
#ifndef QUEST_H
#define QUEST_H

#include <stddef.h>

#include <cuda_runtime_api.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Paged KV descriptor: field for field the struct the .cu's kernels take
 * (runtime/device/vx_page_table.cuh; libvortexrt's vxrt_paged_kv mirrors
 * it). Formats: 0 CSR (indptr, indices, last_page_len), 1 block table
 * (block_table, block_table_stride, seq_lens). Strides in elements. */
#ifndef VX_PAGED_KV_DEFINED
#define VX_PAGED_KV_DEFINED
typedef struct vx_paged_kv {
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
} vx_paged_kv;
#endif

#define QUEST_HEAD_DIM 128  /* K/q width */
#define QUEST_GROUP 2     /* query heads per KV head */
#define QUEST_PAGE_SIZE 16
#define QUEST_OUT_DIM 128   /* attention output width */
#define QUEST_KV_DTYPE 0  /* vx_paged_kv.dtype: 0 bf16, 1 f16 */
#define QUEST_IS_MLA 0
#define QUEST_NUM_FIELDS 2
#define QUEST_NUM_STATES 0
#define QUEST_MAX_SELECTED 128  /* pages one row can select (0: up to all) */
#define QUEST_FIELD_KMAX 0        /* index in field_pools */
#define QUEST_FIELD_KMAX_BYTES 256  /* 128 x bf16 per (page, KV head) */
#define QUEST_FIELD_KMIN 1        /* index in field_pools */
#define QUEST_FIELD_KMIN_BYTES 256  /* 128 x bf16 per (page, KV head) */

/* Status of every launcher: 0 on success. */
enum quest_status {
  QUEST_OK = 0,
  QUEST_ERR_ARGUMENT = 1,  /* NULL pointer or non-positive size */
  QUEST_ERR_GEOMETRY = 2,  /* descriptor differs from the compiled geometry */
  QUEST_ERR_WORKSPACE = 3, /* workspace missing, smaller than needed or not 16-byte aligned */
  QUEST_ERR_LAUNCH = 4     /* CUDA rejected a kernel launch */
};

/* Bytes of workspace every launcher below needs for up to max_batch requests of
 * up to max_pages pages each (0 for non-positive arguments). */
size_t quest_workspace_size(int max_batch, int kv_heads, int max_pages);

/* Summary bytes per (physical page, KV head), all fields together: size the
 * field pools as num_pages * kv_heads * this (per field: QUEST_FIELD_<NAME>_BYTES). */
size_t quest_field_bytes_per_page(void);

/* Bytes of ONE state buffer (the step reads one and writes another); 0 when
 * the algorithm keeps no state. */
size_t quest_state_bytes(int max_batch, int kv_heads, int max_pages);

/* Fills a state buffer with the algorithm's initial values. */
int quest_state_init(float *state, int batch, int kv_heads, int max_pages, cudaStream_t stream);

/* Recomputes every field of every page of every request (after prefill).
 * field_pools: host array of QUEST_NUM_FIELDS device pointers, each
 * [num_pages][kv_heads][field elems] in the field's storage type. */
int quest_cache_update(const vx_paged_kv *kv, void *const *field_pools, int max_pages, cudaStream_t stream);

/* Updates the fields of every page the last new_tokens (>= 1) tokens of each
 * request touched (one decode token, or a prefill chunk spanning several
 * pages); call it after writing their K/V. Requests shorter than new_tokens
 * get every page recomputed. */
int quest_cache_update_last(const vx_paged_kv *kv, void *const *field_pools, int new_tokens, cudaStream_t stream);

/* Scores every page of every (request, KV head) row and selects pages:
 * sel_pages [batch * kv_heads][max_pages] ascending logical page ids,
 * sel_count [batch * kv_heads]. q: [batch][kv_heads * GROUP][HEAD_DIM] in
 * the KV type. state_in/state_out: see state_bytes (NULL if none). */
int quest_index(const vx_paged_kv *kv, const void *q, void *const *field_pools, const float *state_in,
    float *state_out, int max_pages, int *sel_pages, int *sel_count, void *workspace,
    size_t workspace_bytes, cudaStream_t stream);

/* Exact softmax attention over the selected pages; out: [batch][kv_heads *
 * GROUP][OUT_DIM] in the KV type. sm_scale <= 0 means 1/sqrt(HEAD_DIM). */
int quest_attend(const vx_paged_kv *kv, const void *q, const int *sel_pages, const int *sel_count,
    int max_pages, float sm_scale, void *out, void *workspace, size_t workspace_bytes,
    cudaStream_t stream);

/* One decode step: cache_update_last (when new_tokens > 0), index, attend;
 * the selection lives in the workspace. */
int quest_step(const vx_paged_kv *kv, const void *q, void *const *field_pools, const float *state_in,
    float *state_out, int new_tokens, int max_pages, float sm_scale, void *out,
    void *workspace, size_t workspace_bytes, cudaStream_t stream);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* QUEST_H */

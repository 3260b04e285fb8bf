/* decode_launch.cu - libvortexrt's host launchers over the device headers.
 *
 * This is the one translation unit that instantiates the generic kernels
 * ahead of time (nvcc); generated code instantiates its own copies from the
 * same headers. Launchers check what they can without touching device
 * memory, launch, and report launch errors; they never synchronise. */
#include "vx_attention.cuh"
#include "vx_decode_mma.cuh"
#include "vx_mla_launch.cuh"
#ifdef VX_MLA_SIMT
#include "vx_mla_simt.cuh"
#endif
#include "vx_select_kernels.cuh"

#include "vxrt_internal.h"

#include <stddef.h>

/* The C descriptor must mirror the device one field for field: generated
 * code receives either by value. */
#define VXRT_SAME_FIELD(f) static_assert(offsetof(vx_paged_kv, f) == offsetof(vxrt_paged_kv, f), "field " #f " moved")
static_assert(sizeof(vx_paged_kv) == sizeof(vxrt_paged_kv), "vxrt_paged_kv must mirror vx_paged_kv");
VXRT_SAME_FIELD(format);
VXRT_SAME_FIELD(num_pages);
VXRT_SAME_FIELD(indptr);
VXRT_SAME_FIELD(last_page_len);
VXRT_SAME_FIELD(block_table_stride);
VXRT_SAME_FIELD(seq_lens);
VXRT_SAME_FIELD(k_pool);
VXRT_SAME_FIELD(v_pool);
VXRT_SAME_FIELD(stride_page);
VXRT_SAME_FIELD(stride_head);
#undef VXRT_SAME_FIELD

static vx_paged_kv to_device(const vxrt_paged_kv &k) {
  vx_paged_kv d;
  d.format = k.format;
  d.dtype = k.dtype;
  d.batch = k.batch;
  d.page_size = k.page_size;
  d.num_kv_heads = k.num_kv_heads;
  d.head_dim = k.head_dim;
  d.num_pages = k.num_pages;
  d.indptr = k.indptr;
  d.indices = k.indices;
  d.last_page_len = k.last_page_len;
  d.block_table = k.block_table;
  d.block_table_stride = k.block_table_stride;
  d.seq_lens = k.seq_lens;
  d.k_pool = k.k_pool;
  d.v_pool = k.v_pool;
  d.stride_page = k.stride_page;
  d.stride_token = k.stride_token;
  d.stride_head = k.stride_head;
  return d;
}

static vxrt_status launch_status(const char *what, char *err, size_t errlen) {
  const cudaError_t ce = cudaGetLastError();
  if (ce != cudaSuccess) return vxrt_fail(err, errlen, VXRT_ERROR_CUDA, "%s launch failed: %s", what, cudaGetErrorString(ce));
  return VXRT_SUCCESS;
}

extern "C" size_t vxrt_decode_workspace_size(int32_t batch, int32_t num_qo_heads, int32_t num_kv_heads,
                                             int32_t head_dim, int32_t max_pages_per_row) {
  if (batch < 1 || num_kv_heads < 1 || num_qo_heads < num_kv_heads || head_dim < 1) return 0;
  const long long rows = (long long)batch * num_kv_heads;
  return (size_t)vx_decode_workspace_bytes(rows, num_qo_heads / num_kv_heads, head_dim,
                                           vx_decode_max_chunks(rows, max_pages_per_row));
}

extern "C" size_t vxrt_mla_workspace_size(int32_t batch, int32_t num_heads, int32_t kv_lora_rank,
                                          int32_t max_pages_per_row) {
  if (batch < 1 || num_heads < 1 || kv_lora_rank < 1) return 0;
  return (size_t)vx_decode_workspace_bytes(batch, num_heads, kv_lora_rank, vx_decode_max_chunks(batch, max_pages_per_row));
}

/* Shared front half of every decode launcher: descriptor, pointers,
 * workspace (checked against the most chunks any device could be given).
 * Fills args minus the split, which apply_plan sets per kernel. */
static vxrt_status prepare(const vxrt_paged_kv *kv, const void *q, void *out, long long rows, int group, int out_dim,
                           int max_pages, void *workspace, size_t workspace_bytes, vx_decode_args *a, char *err,
                           size_t errlen) {
  vxrt_status st = vxrt_validate_paged_kv(kv, 0, err, errlen);
  if (st != VXRT_SUCCESS) return st;
  if (!q || !out) return vxrt_fail(err, errlen, VXRT_ERROR_NULL_POINTER, "q and out must be non-NULL");
  if (max_pages < 1)
    return vxrt_fail(err, errlen, VXRT_ERROR_INVALID_VALUE, "max pages per row = %d: must be >= 1", max_pages);
  const size_t need = (size_t)vx_decode_workspace_bytes(rows, group, out_dim, vx_decode_max_chunks(rows, max_pages));
  if (!workspace) return vxrt_fail(err, errlen, VXRT_ERROR_NULL_POINTER, "workspace is NULL (%zu bytes needed)", need);
  if (((uintptr_t)workspace & 255u) != 0)
    return vxrt_fail(err, errlen, VXRT_ERROR_MISALIGNED, "workspace must be 256-byte aligned");
  if (workspace_bytes < need)
    return vxrt_fail(err, errlen, VXRT_ERROR_WORKSPACE_TOO_SMALL, "workspace is %zu bytes, %zu needed", workspace_bytes, need);
  a->kv = to_device(*kv);
  a->q = q;
  a->out = out;
  a->sel_pages = NULL;
  a->sel_count = NULL;
  a->max_sel = 0;
  a->ws_o = static_cast<float *>(workspace);
  return VXRT_SUCCESS;
}

/* partials: the (row, head) partial results one chunk writes (what sizes
 * ws_o). */
static void apply_plan(vx_decode_args *a, vx_decode_plan p, long long partials, int out_dim) {
  const unsigned long long slots = (unsigned long long)partials * p.num_chunks;
  a->num_chunks = p.num_chunks;
  a->chunk_pages = p.chunk_pages;
  a->ws_lse = reinterpret_cast<float *>(reinterpret_cast<char *>(a->ws_o) + vx_decode_lse_offset(slots, out_dim));
}

/* GQA decode uses the tensor-core kernel (vx_decode_mma.cuh); the CUDA-core
 * vx_decode_partial_kernel (vx_decode_simt.cuh) is the portable reference. */
template <typename T, int D, int G> static void launch_gqa(vx_decode_args a, int max_pages, cudaStream_t s) {
  const long long rows = (long long)a.kv.batch * a.kv.num_kv_heads;
  /* block width and plan (vx_decode_mma.cuh); a failed attribute or query
   * makes the launch fail, which launch_status reports */
  const vx_decode_mma_choice c = vx_decode_mma_choose<T, D, G>(rows, max_pages);
  apply_plan(&a, c.plan, rows * G, D);
  vx_decode_mma_launch<T, D, G>(a, c, rows, s);
  /* one chunk per row: the partial kernel wrote the output itself */
  if (a.num_chunks > 1) vx_decode_merge_launch<T, D>(a, G, s);
}

template <typename T, int D>
static bool dispatch_group(const vx_decode_args &a, int group, int max_pages, cudaStream_t s) {
  switch (group) {
  case 1: launch_gqa<T, D, 1>(a, max_pages, s); return true;
  case 2: launch_gqa<T, D, 2>(a, max_pages, s); return true;
  case 4: launch_gqa<T, D, 4>(a, max_pages, s); return true;
  case 8: launch_gqa<T, D, 8>(a, max_pages, s); return true;
  default: return false;
  }
}

template <typename T> static bool dispatch_dim(const vx_decode_args &a, int group, int max_pages, cudaStream_t s) {
  switch (a.kv.head_dim) {
  case 64: return dispatch_group<T, 64>(a, group, max_pages, s);
  case 128: return dispatch_group<T, 128>(a, group, max_pages, s);
  default: return false;
  }
}

static vxrt_status gqa_decode(const vxrt_paged_kv *kv, const void *q, void *out, int32_t num_qo_heads, float sm_scale,
                              const int32_t *sel_pages, const int32_t *sel_count, int32_t max_pages, void *workspace,
                              size_t workspace_bytes, cudaStream_t stream, char *err, size_t errlen) {
  vxrt_clear_error(err, errlen);
  if (!kv) return vxrt_fail(err, errlen, VXRT_ERROR_NULL_POINTER, "paged-KV descriptor is NULL");
  if (kv->head_dim != 64 && kv->head_dim != 128)
    return vxrt_fail(err, errlen, VXRT_ERROR_BAD_HEAD_DIM, "head_dim = %d: decode supports 64 and 128", (int)kv->head_dim);
  if (kv->num_kv_heads < 1 || num_qo_heads < 1 || num_qo_heads % kv->num_kv_heads != 0)
    return vxrt_fail(err, errlen, VXRT_ERROR_INVALID_VALUE, "num_qo_heads = %d is not a multiple of num_kv_heads = %d",
                     (int)num_qo_heads, (int)kv->num_kv_heads);
  const int group = num_qo_heads / kv->num_kv_heads;
  if (group != 1 && group != 2 && group != 4 && group != 8)
    return vxrt_fail(err, errlen, VXRT_ERROR_UNSUPPORTED, "GQA group %d: supported 1, 2, 4, 8", group);
  if (kv->batch == 0) return vxrt_validate_paged_kv(kv, 0, err, errlen);
  vx_decode_args a;
  vxrt_status st = prepare(kv, q, out, (long long)kv->batch * kv->num_kv_heads, group, kv->head_dim, max_pages, workspace,
                           workspace_bytes, &a, err, errlen);
  if (st != VXRT_SUCCESS) return st;
  a.sel_pages = sel_pages;
  a.sel_count = sel_count;
  a.max_sel = sel_pages ? max_pages : 0;
  a.num_qo_heads = num_qo_heads;
  a.sm_scale = sm_scale;
  const bool ok = kv->dtype == VXRT_DTYPE_BF16 ? dispatch_dim<__nv_bfloat16>(a, group, max_pages, stream)
                                               : dispatch_dim<__half>(a, group, max_pages, stream);
  if (!ok) return vxrt_fail(err, errlen, VXRT_ERROR_UNSUPPORTED, "no decode kernel for this shape");
  return launch_status(sel_pages ? "sparse decode" : "dense decode", err, errlen);
}

extern "C" vxrt_status vxrt_dense_decode(const vxrt_paged_kv *kv, const void *q, void *out, int32_t num_qo_heads,
                                         float sm_scale, int32_t max_pages_per_request, void *workspace,
                                         size_t workspace_bytes, cudaStream_t stream, char *err, size_t errlen) {
  return gqa_decode(kv, q, out, num_qo_heads, sm_scale, NULL, NULL, max_pages_per_request, workspace, workspace_bytes,
                    stream, err, errlen);
}

extern "C" vxrt_status vxrt_sparse_decode(const vxrt_paged_kv *kv, const void *q, void *out, int32_t num_qo_heads,
                                          float sm_scale, const int32_t *sel_pages, const int32_t *sel_count,
                                          int32_t max_sel, void *workspace, size_t workspace_bytes, cudaStream_t stream,
                                          char *err, size_t errlen) {
  if (!sel_pages || !sel_count)
    return vxrt_fail(err, errlen, VXRT_ERROR_NULL_POINTER, "sel_pages and sel_count must be non-NULL");
  return gqa_decode(kv, q, out, num_qo_heads, sm_scale, sel_pages, sel_count, max_sel, workspace, workspace_bytes,
                    stream, err, errlen);
}

/* MLA decode: a tensor-core kernel (wgmma on sm_90, else mma.sync; see
 * vx_mla_choose), one block per (request, chunk, group of <= 32 heads). Building with
 * -DVX_MLA_SIMT selects the older CUDA-core kernel (16 and 20 heads only). */
template <typename T, int H> static void launch_mla(vx_decode_args a, int max_pages, cudaStream_t s) {
#ifdef VX_MLA_SIMT
  const void *kernel = reinterpret_cast<const void *>(vx_mla_decode_partial_kernel<T, H, 512, 64>);
  apply_plan(&a, vx_make_decode_plan(a.kv.batch, max_pages, vx_capacity(kernel, H * VX_MLA_TILE, 0)), (long long)a.kv.batch * H,
             512);
  vx_launch(vx_mla_decode_partial_kernel<T, H, 512, 64>, dim3((unsigned)((long long)a.kv.batch * a.num_chunks)), dim3(H * VX_MLA_TILE), 0, s, a);
  vx_decode_merge_launch<T, 512>(a, H, s);
#else
  /* kernel (wgmma or mma.sync) and plan: vx_mla_choose, vx_mla_launch.cuh; a failed
   * attribute or query makes the launch fail, which launch_status reports */
  const vx_mla_choice c = vx_mla_choose<T, H, 512, 64>(a.kv.batch, max_pages, a.kv.page_size);
  apply_plan(&a, c.plan, (long long)a.kv.batch * H, 512);
  vx_mla_launch<T, H, 512, 64>(a, c, s);
#endif
}

template <typename T> static bool dispatch_mla(const vx_decode_args &a, int heads, int max_pages, cudaStream_t s) {
  switch (heads) {
  case 16: launch_mla<T, 16>(a, max_pages, s); return true;
  case 20: launch_mla<T, 20>(a, max_pages, s); return true;
#ifndef VX_MLA_SIMT
  case 32: launch_mla<T, 32>(a, max_pages, s); return true;
  case 64: launch_mla<T, 64>(a, max_pages, s); return true;
  case 128: launch_mla<T, 128>(a, max_pages, s); return true;
#endif
  default: return false;
  }
}

extern "C" vxrt_status vxrt_mla_decode(const vxrt_paged_kv *kv, int32_t kv_lora_rank, const void *q, void *out,
                                       int32_t num_heads, float sm_scale, const int32_t *sel_pages,
                                       const int32_t *sel_count, int32_t max_pages_per_row, void *workspace,
                                       size_t workspace_bytes, cudaStream_t stream, char *err, size_t errlen) {
  vxrt_clear_error(err, errlen);
  if (!kv) return vxrt_fail(err, errlen, VXRT_ERROR_NULL_POINTER, "paged-KV descriptor is NULL");
  if (kv->num_kv_heads != 1)
    return vxrt_fail(err, errlen, VXRT_ERROR_INVALID_VALUE, "MLA latent cache must have num_kv_heads = 1, got %d",
                     (int)kv->num_kv_heads);
  if (kv_lora_rank != 512 || kv->head_dim != 576)
    return vxrt_fail(err, errlen, VXRT_ERROR_BAD_HEAD_DIM, "MLA supports kv_lora_rank 512 + rope 64 (head_dim 576), got %d/%d",
                     (int)kv_lora_rank, (int)kv->head_dim);
  if (num_heads != 16 && num_heads != 20 && num_heads != 32 && num_heads != 64 && num_heads != 128)
    return vxrt_fail(err, errlen, VXRT_ERROR_UNSUPPORTED, "MLA num_heads = %d: supported 16, 20, 32, 64, 128",
                     (int)num_heads);
  if ((sel_pages == NULL) != (sel_count == NULL))
    return vxrt_fail(err, errlen, VXRT_ERROR_NULL_POINTER, "sel_pages and sel_count must both be set or both NULL");
  if (kv->batch == 0) return vxrt_validate_paged_kv(kv, 0, err, errlen);
  vx_decode_args a;
  vxrt_status st = prepare(kv, q, out, kv->batch, num_heads, kv_lora_rank, max_pages_per_row, workspace, workspace_bytes,
                           &a, err, errlen);
  if (st != VXRT_SUCCESS) return st;
  a.sel_pages = sel_pages;
  a.sel_count = sel_count;
  a.max_sel = sel_pages ? max_pages_per_row : 0;
  a.num_qo_heads = num_heads;
  a.sm_scale = sm_scale;
  const bool ok = kv->dtype == VXRT_DTYPE_BF16 ? dispatch_mla<__nv_bfloat16>(a, num_heads, max_pages_per_row, stream)
                                               : dispatch_mla<__half>(a, num_heads, max_pages_per_row, stream);
  if (!ok) return vxrt_fail(err, errlen, VXRT_ERROR_UNSUPPORTED, "no MLA decode kernel for %d heads", (int)num_heads);
  return launch_status("MLA decode", err, errlen);
}

static vxrt_status select_common(const vxrt_paged_kv *kv, const float *scores, int64_t score_stride, int32_t *sel_pages,
                                 int32_t max_sel, int32_t *sel_count, int64_t need_sel, vx_select_args *a, char *err,
                                 size_t errlen) {
  vxrt_clear_error(err, errlen);
  vxrt_status st = vxrt_validate_paged_kv(kv, 0, err, errlen);
  if (st != VXRT_SUCCESS) return st;
  if (!scores || !sel_pages || !sel_count)
    return vxrt_fail(err, errlen, VXRT_ERROR_NULL_POINTER, "scores, sel_pages and sel_count must be non-NULL");
  if (score_stride < 1)
    return vxrt_fail(err, errlen, VXRT_ERROR_INVALID_VALUE, "score_stride = %lld must be >= 1", (long long)score_stride);
  if (need_sel > score_stride) need_sel = score_stride;
  if (max_sel < need_sel)
    return vxrt_fail(err, errlen, VXRT_ERROR_INVALID_VALUE, "max_sel = %d cannot hold up to %lld selected pages",
                     (int)max_sel, (long long)need_sel);
  a->scores = scores;
  a->score_stride = score_stride;
  a->sel_pages = sel_pages;
  a->max_sel = max_sel;
  a->sel_count = sel_count;
  return VXRT_SUCCESS;
}

extern "C" vxrt_status vxrt_topk_select(const vxrt_paged_kv *kv, const float *scores, int64_t score_stride,
                                        int32_t budget, int32_t keep_first, int32_t keep_last, int32_t *sel_pages,
                                        int32_t max_sel, int32_t *sel_count, cudaStream_t stream, char *err,
                                        size_t errlen) {
  if (budget < 0 || keep_first < 0 || keep_last < 0)
    return vxrt_fail(err, errlen, VXRT_ERROR_INVALID_VALUE, "budget, keep_first and keep_last must be >= 0");
  vx_select_args a;
  vxrt_status st = select_common(kv, scores, score_stride, sel_pages, max_sel, sel_count,
                                 (int64_t)budget + keep_first + keep_last, &a, err, errlen);
  if (st != VXRT_SUCCESS || kv->batch == 0) return st;
  a.budget = budget;
  a.threshold = 0.f;
  a.keep_first = keep_first;
  a.keep_last = keep_last;
  const long long rows = (long long)kv->batch * kv->num_kv_heads;
  vx_launch(vx_topk_select_kernel, dim3((unsigned)rows), dim3(VX_TOPK_THREADS), 0, stream, to_device(*kv), a);
  return launch_status("top-k select", err, errlen);
}

extern "C" vxrt_status vxrt_threshold_select(const vxrt_paged_kv *kv, const float *scores, int64_t score_stride,
                                             float threshold, int32_t keep_first, int32_t keep_last,
                                             int32_t *sel_pages, int32_t max_sel, int32_t *sel_count,
                                             cudaStream_t stream, char *err, size_t errlen) {
  if (keep_first < 0 || keep_last < 0)
    return vxrt_fail(err, errlen, VXRT_ERROR_INVALID_VALUE, "keep_first and keep_last must be >= 0");
  vx_select_args a;
  vxrt_status st = select_common(kv, scores, score_stride, sel_pages, max_sel, sel_count, score_stride, &a, err, errlen);
  if (st != VXRT_SUCCESS || kv->batch == 0) return st;
  a.budget = 0;
  a.threshold = threshold;
  a.keep_first = keep_first;
  a.keep_last = keep_last;
  const long long rows = (long long)kv->batch * kv->num_kv_heads;
  vx_launch(vx_threshold_select_kernel, dim3((unsigned)rows), dim3(VX_TOPK_THREADS), 0, stream, to_device(*kv), a);
  return launch_status("threshold select", err, errlen);
}

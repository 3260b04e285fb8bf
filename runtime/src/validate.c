/* validate.c - host-side checks of paged-KV descriptors.
 *
 * The kernels trust the descriptor (checking every page id on the device
 * would cost bandwidth and could not report anything useful), so engines
 * are expected to validate once per layout change, and tests validate every
 * random table they build. Shape checks never touch the arrays, so they are
 * safe on device pointers; VXRT_CHECK_ARRAYS also walks the arrays. */
#include <stdint.h>

#include "vxrt_internal.h"

static int is_aligned16(const void *p) { return ((uintptr_t)p & 15u) == 0; }

vxrt_status vxrt_kv_set_layout(vxrt_paged_kv *kv, vxrt_kv_layout layout) {
  if (!kv) return VXRT_ERROR_NULL_POINTER;
  const int64_t ps = kv->page_size, h = kv->num_kv_heads, d = kv->head_dim;
  if (ps <= 0 || h <= 0 || d <= 0) return VXRT_ERROR_INVALID_VALUE;
  switch (layout) {
  case VXRT_LAYOUT_NHD:
    kv->stride_head = d;
    kv->stride_token = h * d;
    break;
  case VXRT_LAYOUT_HND:
    kv->stride_token = d;
    kv->stride_head = ps * d;
    break;
  default:
    return VXRT_ERROR_INVALID_VALUE;
  }
  kv->stride_page = ps * h * d;
  return VXRT_SUCCESS;
}

static vxrt_status check_shape(const vxrt_paged_kv *kv, char *err, size_t errlen) {
  if (kv->format != VXRT_PAGES_CSR && kv->format != VXRT_PAGES_BLOCK_TABLE)
    return vxrt_fail(err, errlen, VXRT_ERROR_INVALID_VALUE, "unknown page-table format %d", (int)kv->format);
  if (kv->dtype != VXRT_DTYPE_BF16 && kv->dtype != VXRT_DTYPE_F16)
    return vxrt_fail(err, errlen, VXRT_ERROR_UNSUPPORTED, "unsupported KV element type %d (bf16=0, f16=1)",
                     (int)kv->dtype);
  if (kv->batch < 0)
    return vxrt_fail(err, errlen, VXRT_ERROR_INVALID_VALUE, "batch = %d is negative", (int)kv->batch);
  if (kv->page_size != 16 && kv->page_size != 32 && kv->page_size != 64)
    return vxrt_fail(err, errlen, VXRT_ERROR_BAD_PAGE_SIZE, "page_size = %d: must be 16, 32 or 64",
                     (int)kv->page_size);
  if (kv->num_kv_heads < 1)
    return vxrt_fail(err, errlen, VXRT_ERROR_INVALID_VALUE, "num_kv_heads = %d: must be >= 1",
                     (int)kv->num_kv_heads);
  if (kv->head_dim < 8 || kv->head_dim % 8 != 0)
    return vxrt_fail(err, errlen, VXRT_ERROR_BAD_HEAD_DIM,
                     "head_dim = %d: must be a positive multiple of 8 (one 16-byte vector)", (int)kv->head_dim);
  if (kv->num_pages < 1)
    return vxrt_fail(err, errlen, VXRT_ERROR_INVALID_VALUE, "num_pages = %lld: the pool must hold >= 1 page",
                     (long long)kv->num_pages);
  if (kv->num_pages > INT32_MAX)
    return vxrt_fail(err, errlen, VXRT_ERROR_INVALID_VALUE, "num_pages = %lld does not fit 32-bit page ids",
                     (long long)kv->num_pages);
  if (!kv->k_pool) return vxrt_fail(err, errlen, VXRT_ERROR_NULL_POINTER, "k_pool is NULL");
  if (!kv->v_pool) return vxrt_fail(err, errlen, VXRT_ERROR_NULL_POINTER, "v_pool is NULL");
  if (!is_aligned16(kv->k_pool) || !is_aligned16(kv->v_pool))
    return vxrt_fail(err, errlen, VXRT_ERROR_MISALIGNED, "k_pool/v_pool must be 16-byte aligned");
  const int64_t strides[3] = {kv->stride_page, kv->stride_token, kv->stride_head};
  const char *names[3] = {"stride_page", "stride_token", "stride_head"};
  for (int i = 0; i < 3; ++i) {
    if (strides[i] < 0 || (i < 2 && strides[i] == 0) || (i == 2 && strides[i] == 0 && kv->num_kv_heads > 1))
      return vxrt_fail(err, errlen, VXRT_ERROR_INVALID_VALUE, "%s = %lld must be positive", names[i],
                       (long long)strides[i]);
    if (strides[i] % 8 != 0)
      return vxrt_fail(err, errlen, VXRT_ERROR_MISALIGNED, "%s = %lld is not a multiple of 8 elements (16 bytes)",
                       names[i], (long long)strides[i]);
  }
  if (kv->batch == 0) return VXRT_SUCCESS;
  if (kv->format == VXRT_PAGES_CSR) {
    if (!kv->indptr) return vxrt_fail(err, errlen, VXRT_ERROR_NULL_POINTER, "CSR page table: indptr is NULL");
    if (!kv->indices) return vxrt_fail(err, errlen, VXRT_ERROR_NULL_POINTER, "CSR page table: indices is NULL");
    if (!kv->last_page_len)
      return vxrt_fail(err, errlen, VXRT_ERROR_NULL_POINTER, "CSR page table: last_page_len is NULL");
  } else {
    if (!kv->block_table)
      return vxrt_fail(err, errlen, VXRT_ERROR_NULL_POINTER, "block table: block_table is NULL");
    if (!kv->seq_lens) return vxrt_fail(err, errlen, VXRT_ERROR_NULL_POINTER, "block table: seq_lens is NULL");
    if (kv->block_table_stride < 1)
      return vxrt_fail(err, errlen, VXRT_ERROR_INVALID_VALUE, "block_table_stride = %d: must be >= 1",
                       (int)kv->block_table_stride);
  }
  return VXRT_SUCCESS;
}

static vxrt_status check_csr_arrays(const vxrt_paged_kv *kv, char *err, size_t errlen) {
  if (kv->indptr[0] < 0)
    return vxrt_fail(err, errlen, VXRT_ERROR_BAD_PAGE_TABLE, "indptr[0] = %d is negative", (int)kv->indptr[0]);
  for (int32_t b = 0; b < kv->batch; ++b) {
    const int32_t lo = kv->indptr[b], hi = kv->indptr[b + 1];
    if (hi < lo)
      return vxrt_fail(err, errlen, VXRT_ERROR_BAD_PAGE_TABLE, "indptr is not monotone: indptr[%d] = %d > indptr[%d] = %d",
                       (int)b, (int)lo, (int)(b + 1), (int)hi);
    if (hi > lo && (kv->last_page_len[b] < 1 || kv->last_page_len[b] > kv->page_size))
      return vxrt_fail(err, errlen, VXRT_ERROR_BAD_PAGE_TABLE, "last_page_len[%d] = %d is outside 1..%d (page_size)",
                       (int)b, (int)kv->last_page_len[b], (int)kv->page_size);
    for (int32_t i = lo; i < hi; ++i) {
      if (kv->indices[i] < 0 || kv->indices[i] >= kv->num_pages)
        return vxrt_fail(err, errlen, VXRT_ERROR_PAGE_OUT_OF_RANGE,
                         "indices[%d] = %d (request %d, page %d) is outside the pool of %lld pages", (int)i,
                         (int)kv->indices[i], (int)b, (int)(i - lo), (long long)kv->num_pages);
    }
  }
  return VXRT_SUCCESS;
}

static vxrt_status check_block_table_arrays(const vxrt_paged_kv *kv, char *err, size_t errlen) {
  for (int32_t b = 0; b < kv->batch; ++b) {
    const int32_t len = kv->seq_lens[b];
    if (len < 0)
      return vxrt_fail(err, errlen, VXRT_ERROR_BAD_PAGE_TABLE, "seq_lens[%d] = %d is negative", (int)b, (int)len);
    const int64_t pages = ((int64_t)len + kv->page_size - 1) / kv->page_size;
    if (pages > kv->block_table_stride)
      return vxrt_fail(err, errlen, VXRT_ERROR_BAD_PAGE_TABLE,
                       "seq_lens[%d] = %d needs %lld pages but block_table_stride is %d", (int)b, (int)len,
                       (long long)pages, (int)kv->block_table_stride);
    const int32_t *row = kv->block_table + (int64_t)b * kv->block_table_stride;
    for (int64_t j = 0; j < pages; ++j) {
      if (row[j] < 0 || row[j] >= kv->num_pages)
        return vxrt_fail(err, errlen, VXRT_ERROR_PAGE_OUT_OF_RANGE,
                         "block_table[%d][%lld] = %d is outside the pool of %lld pages", (int)b, (long long)j,
                         (int)row[j], (long long)kv->num_pages);
    }
  }
  return VXRT_SUCCESS;
}

vxrt_status vxrt_validate_paged_kv(const vxrt_paged_kv *kv, unsigned flags, char *err, size_t errlen) {
  vxrt_clear_error(err, errlen);
  if (!kv) return vxrt_fail(err, errlen, VXRT_ERROR_NULL_POINTER, "paged-KV descriptor is NULL");
  vxrt_status st = check_shape(kv, err, errlen);
  if (st != VXRT_SUCCESS || !(flags & VXRT_CHECK_ARRAYS) || kv->batch == 0) return st;
  return kv->format == VXRT_PAGES_CSR ? check_csr_arrays(kv, err, errlen) : check_block_table_arrays(kv, err, errlen);
}

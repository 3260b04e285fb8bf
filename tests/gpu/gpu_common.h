/* gpu_common.h - helpers shared by the GPU test and the bench: checked CUDA
 * calls, a seeded RNG, 16-bit float packing, random paged-KV construction.
 * Header-only on purpose: both programs are single translation units. */
#ifndef VX_GPU_COMMON_H
#define VX_GPU_COMMON_H

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vortexrt.h"

#define CK(call)                                                                                     \
  do {                                                                                               \
    cudaError_t ck_e = (call);                                                                       \
    if (ck_e != cudaSuccess) {                                                                       \
      fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, #call, cudaGetErrorString(ck_e));       \
      exit(2);                                                                                       \
    }                                                                                                \
  } while (0)

#define CKRT(call)                                                                                   \
  do {                                                                                               \
    char ckrt_err[512];                                                                              \
    vxrt_status ckrt_s = (call);                                                                     \
    (void)ckrt_err;                                                                                  \
    if (ckrt_s != VXRT_SUCCESS) {                                                                    \
      fprintf(stderr, "%s:%d: %s -> %s\n", __FILE__, __LINE__, #call, vxrt_status_string(ckrt_s));   \
      exit(2);                                                                                       \
    }                                                                                                \
  } while (0)

/* Properties of device 0, or false (after saying so) when there is none:
 * the GPU programs then exit 77, which ctest counts as skipped. */
static inline bool vx_device0(cudaDeviceProp *prop) {
  int ndev = 0;
  if (cudaGetDeviceCount(&ndev) != cudaSuccess || ndev == 0) {
    printf("no CUDA device: skipped\n");
    return false;
  }
  CK(cudaGetDeviceProperties(prop, 0));
  return true;
}

/* A whole decimal int in [lo, hi] (command-line options), or false: atoi
 * would take "abc" or "8192x" as a number. */
static inline bool parse_int_in(const char *s, long lo, long hi, int *out) {
  char *end = NULL;
  errno = 0;
  const long v = strtol(s, &end, 10);
  if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi) return false;
  *out = (int)v;
  return true;
}

/* xorshift64*: fast, seedable, reproducible across machines. */
typedef struct vx_rng { uint64_t s; } vx_rng;
static inline uint64_t rng_u64(vx_rng *r) {
  r->s ^= r->s >> 12;
  r->s ^= r->s << 25;
  r->s ^= r->s >> 27;
  return r->s * 0x2545F4914F6CDD1Dull;
}
static inline double rng_unit(vx_rng *r) { return (double)(rng_u64(r) >> 11) * (1.0 / 9007199254740992.0); }
static inline int rng_int(vx_rng *r, int lo, int hi) { /* inclusive */
  return lo + (int)(rng_u64(r) % (uint64_t)(hi - lo + 1));
}
static inline float rng_normal(vx_rng *r) {
  double u = rng_unit(r) + 1e-12, v = rng_unit(r);
  return (float)(sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v));
}
static inline void rng_shuffle(vx_rng *r, int32_t *a, int n) {
  for (int i = n - 1; i > 0; --i) {
    int j = (int)(rng_u64(r) % (uint64_t)(i + 1));
    int32_t t = a[i];
    a[i] = a[j];
    a[j] = t;
  }
}

/* 16-bit storage <-> float on the host (round to nearest even). */
static inline uint16_t f32_to_bits(float f, int dtype) {
  if (dtype == VXRT_DTYPE_F16) {
    __half h = __float2half_rn(f);
    uint16_t b;
    memcpy(&b, &h, 2);
    return b;
  }
  uint32_t u;
  memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) return 0x7fc0; /* NaN */
  u += 0x7fffu + ((u >> 16) & 1u);
  return (uint16_t)(u >> 16);
}
static inline float bits_to_f32(uint16_t b, int dtype) {
  if (dtype == VXRT_DTYPE_F16) {
    __half h;
    memcpy(&h, &b, 2);
    return __half2float(h);
  }
  uint32_t u = (uint32_t)b << 16;
  float f;
  memcpy(&f, &u, 4);
  return f;
}

/* A random paged KV cache on host and device. Pages of all requests are
 * spread over a shuffled pool with spare pages, so physical order never
 * matches logical order; pool slots past a request's last token hold NaN,
 * so a kernel that reads padding shows up as NaN output. */
typedef struct paged_case {
  vxrt_paged_kv kv;     /* device pointers */
  vxrt_paged_kv kv_h;   /* same, host pointers (for validation/reference) */
  int32_t *lens;        /* tokens per request */
  int32_t *npages;      /* pages per request */
  int32_t *phys;        /* [batch][max_pages] physical page of logical page */
  int32_t max_pages;
  uint16_t *k_h, *v_h;  /* host pools */
  int32_t *indptr_h, *indices_h, *lpl_h, *bt_h, *seq_h;
  void *dev_blocks[8];
  int n_dev;
} paged_case;

static inline void *dev_copy(paged_case *c, const void *h, size_t bytes) {
  void *d = NULL;
  CK(cudaMalloc(&d, bytes ? bytes : 16));
  if (bytes) CK(cudaMemcpy(d, h, bytes, cudaMemcpyHostToDevice));
  c->dev_blocks[c->n_dev++] = d;
  return d;
}

/* lens: tokens per request (>= 0). fill_kv = 0 builds the page table only,
 * over a one-page stand-in pool (for top-k tests, which never read KV). */
static inline void paged_case_init(paged_case *c, vx_rng *r, int format, int layout, int dtype, int batch, int kv_heads,
                                   int head_dim, int page_size, const int32_t *lens, int extra_pages, int fill_kv) {
  memset(c, 0, sizeof *c);
  c->lens = (int32_t *)malloc(sizeof(int32_t) * batch);
  c->npages = (int32_t *)malloc(sizeof(int32_t) * batch);
  int64_t total = 0;
  c->max_pages = 1;
  for (int b = 0; b < batch; ++b) {
    c->lens[b] = lens[b];
    c->npages[b] = (lens[b] + page_size - 1) / page_size;
    total += c->npages[b];
    if (c->npages[b] > c->max_pages) c->max_pages = c->npages[b];
  }
  const int64_t pool_pages = total + extra_pages + 1;
  int32_t *perm = (int32_t *)malloc(sizeof(int32_t) * pool_pages);
  for (int64_t i = 0; i < pool_pages; ++i) perm[i] = (int32_t)i;
  rng_shuffle(r, perm, (int)pool_pages);
  c->phys = (int32_t *)malloc(sizeof(int32_t) * (size_t)batch * c->max_pages);
  int64_t next = 0;
  for (int b = 0; b < batch; ++b)
    for (int j = 0; j < c->max_pages; ++j) c->phys[(size_t)b * c->max_pages + j] = j < c->npages[b] ? perm[next++] : -1;
  free(perm);

  vxrt_paged_kv *kv = &c->kv_h;
  kv->format = format;
  kv->dtype = dtype;
  kv->batch = batch;
  kv->page_size = page_size;
  kv->num_kv_heads = kv_heads;
  kv->head_dim = head_dim;
  kv->num_pages = pool_pages;
  vxrt_kv_set_layout(kv, (vxrt_kv_layout)layout);
  const size_t pool_elems = (size_t)(fill_kv ? pool_pages : 1) * page_size * kv_heads * head_dim;
  c->k_h = (uint16_t *)malloc(pool_elems * 2);
  c->v_h = (uint16_t *)malloc(pool_elems * 2);
  const uint16_t nan_bits = dtype == VXRT_DTYPE_F16 ? 0x7e00 : 0x7fc0;
  for (size_t i = 0; i < pool_elems; ++i) c->k_h[i] = c->v_h[i] = nan_bits;
  if (fill_kv) {
    for (int b = 0; b < batch; ++b)
      for (int t = 0; t < lens[b]; ++t) {
        const int p = c->phys[(size_t)b * c->max_pages + t / page_size];
        for (int h = 0; h < kv_heads; ++h) {
          const size_t base = (size_t)p * kv->stride_page + (size_t)(t % page_size) * kv->stride_token +
                              (size_t)h * kv->stride_head;
          for (int d = 0; d < head_dim; ++d) {
            c->k_h[base + d] = f32_to_bits(rng_normal(r), dtype);
            c->v_h[base + d] = f32_to_bits(rng_normal(r), dtype);
          }
        }
      }
  }
  if (format == VXRT_PAGES_CSR) {
    c->indptr_h = (int32_t *)malloc(sizeof(int32_t) * (batch + 1));
    c->indices_h = (int32_t *)malloc(sizeof(int32_t) * (total + 1));
    c->lpl_h = (int32_t *)malloc(sizeof(int32_t) * batch);
    c->indptr_h[0] = 0;
    for (int b = 0; b < batch; ++b) {
      c->indptr_h[b + 1] = c->indptr_h[b] + c->npages[b];
      for (int j = 0; j < c->npages[b]; ++j) c->indices_h[c->indptr_h[b] + j] = c->phys[(size_t)b * c->max_pages + j];
      c->lpl_h[b] = lens[b] > 0 ? lens[b] - (c->npages[b] - 1) * page_size : 1;
    }
    kv->indptr = c->indptr_h;
    kv->indices = c->indices_h;
    kv->last_page_len = c->lpl_h;
  } else {
    const int stride = c->max_pages + 3; /* engines over-allocate rows */
    c->bt_h = (int32_t *)malloc(sizeof(int32_t) * (size_t)batch * stride);
    c->seq_h = (int32_t *)malloc(sizeof(int32_t) * batch);
    for (int b = 0; b < batch; ++b) {
      c->seq_h[b] = lens[b];
      for (int j = 0; j < stride; ++j)
        c->bt_h[(size_t)b * stride + j] = j < c->npages[b] ? c->phys[(size_t)b * c->max_pages + j] : 0x7fffffff;
    }
    kv->block_table = c->bt_h;
    kv->block_table_stride = stride;
    kv->seq_lens = c->seq_h;
  }
  kv->k_pool = c->k_h;
  kv->v_pool = c->v_h;

  c->kv = *kv;
  c->kv.k_pool = dev_copy(c, c->k_h, pool_elems * 2);
  c->kv.v_pool = dev_copy(c, c->v_h, pool_elems * 2);
  if (format == VXRT_PAGES_CSR) {
    c->kv.indptr = (const int32_t *)dev_copy(c, c->indptr_h, sizeof(int32_t) * (batch + 1));
    c->kv.indices = (const int32_t *)dev_copy(c, c->indices_h, sizeof(int32_t) * (total + 1));
    c->kv.last_page_len = (const int32_t *)dev_copy(c, c->lpl_h, sizeof(int32_t) * batch);
  } else {
    c->kv.block_table = (const int32_t *)dev_copy(c, c->bt_h, sizeof(int32_t) * (size_t)batch * kv->block_table_stride);
    c->kv.seq_lens = (const int32_t *)dev_copy(c, c->seq_h, sizeof(int32_t) * batch);
  }
}

static inline void paged_case_free(paged_case *c) {
  for (int i = 0; i < c->n_dev; ++i) CK(cudaFree(c->dev_blocks[i]));
  free(c->lens);
  free(c->npages);
  free(c->phys);
  free(c->k_h);
  free(c->v_h);
  free(c->indptr_h);
  free(c->indices_h);
  free(c->lpl_h);
  free(c->bt_h);
  free(c->seq_h);
}

#endif /* VX_GPU_COMMON_H */

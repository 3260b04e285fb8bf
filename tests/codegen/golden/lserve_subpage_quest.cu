/* lserve_subpage_quest.cu - CUDA kernels vortexc generated for algorithm `lserve_subpage_quest`.
 * Generated file: edit the .vtx source instead. C ABI: lserve_subpage_quest.h.
 * Geometry: GQA, head dim 128, group 4, page size 16, KV bf16.
 * Stands alone: the runtime device headers it needs are pasted below, so it
 * builds with nvcc or NVRTC and the CUDA toolkit headers only. */

/* ... runtime/device headers, pasted verbatim, elided in golden files ... */

/* ---------------------------------------------------------------- geometry */

#define LSERVE_SUBPAGE_QUEST_HEAD_DIM 128  /* K/q width */
#define LSERVE_SUBPAGE_QUEST_GROUP 4     /* query heads per KV head */
#define LSERVE_SUBPAGE_QUEST_PAGE_SIZE 16
#define LSERVE_SUBPAGE_QUEST_OUT_DIM 128   /* attention output width */
#define LSERVE_SUBPAGE_QUEST_KV_DTYPE 0  /* vx_paged_kv.dtype: 0 bf16, 1 f16 */
#define LSERVE_SUBPAGE_QUEST_IS_MLA 0
#define LSERVE_SUBPAGE_QUEST_NUM_FIELDS 2
#define LSERVE_SUBPAGE_QUEST_NUM_STATES 0
#define LSERVE_SUBPAGE_QUEST_MAX_SELECTED 67  /* pages one row can select (0: up to all) */
#define LSERVE_SUBPAGE_QUEST_FIELD_KMAX 0        /* index in field_pools */
#define LSERVE_SUBPAGE_QUEST_FIELD_KMAX_BYTES 1024  /* 512 x bf16 per (page, KV head) */
#define LSERVE_SUBPAGE_QUEST_FIELD_KMIN 1        /* index in field_pools */
#define LSERVE_SUBPAGE_QUEST_FIELD_KMIN_BYTES 1024  /* 512 x bf16 per (page, KV head) */

#define LSERVE_SUBPAGE_QUEST_CACHE_THREADS 128
#define LSERVE_SUBPAGE_QUEST_ATTEND_PAGE vx_decode_page_param(LSERVE_SUBPAGE_QUEST_PAGE_SIZE)

typedef __nv_bfloat16 lserve_subpage_quest_kv_t;

/* Status of every launcher: 0 on success. */
enum lserve_subpage_quest_status {
  LSERVE_SUBPAGE_QUEST_OK = 0,
  LSERVE_SUBPAGE_QUEST_ERR_ARGUMENT = 1,  /* NULL pointer or non-positive size */
  LSERVE_SUBPAGE_QUEST_ERR_GEOMETRY = 2,  /* descriptor differs from the compiled geometry */
  LSERVE_SUBPAGE_QUEST_ERR_WORKSPACE = 3, /* workspace missing, smaller than needed or not 16-byte aligned */
  LSERVE_SUBPAGE_QUEST_ERR_LAUNCH = 4     /* CUDA rejected a kernel launch */
};

/* Field pools as kernels see them, in storage types. */
struct lserve_subpage_quest_field_ptrs {
  __nv_bfloat16 *kmax;
  __nv_bfloat16 *kmin;
};

/* ---------------------------------------------------------------- cache update */

/* What the cache_update value functions see: one page of one KV head. */
struct lserve_subpage_quest_cache_ctx {
  const lserve_subpage_quest_kv_t *k; /* token 0 of the page, this head, dim 0 */
  long long stride_token;
  int valid;            /* tokens holding data: page_size except on a last page */
};

/* Valid tokens of slice s (width w) of a page holding `valid` tokens. */
static __device__ __forceinline__ int lserve_subpage_quest_slice_tokens(int valid, int s, int w) {
  const int left = valid - s * w;
  return left < 0 ? 0 : (left < w ? left : w);
}

/* %0 = input.k : [tok, dim] */
static __device__ __forceinline__ float lserve_subpage_quest_cache_v0(const lserve_subpage_quest_cache_ctx &c, int t, int d) {
  return t < c.valid ? vx_elem<lserve_subpage_quest_kv_t>::to_float(c.k[(long long)t * c.stride_token + d]) : 0.0f;
}

/* %1 = split %0, 4 : [sub, tok, dim] */
static __device__ __forceinline__ float lserve_subpage_quest_cache_v1(const lserve_subpage_quest_cache_ctx &c, int s, int t, int d) {
  return lserve_subpage_quest_cache_v0(c, s * 4 + t, d);
}

/* %2 = reduce.max %1, tok : [sub, dim] */
static __device__ __forceinline__ float lserve_subpage_quest_cache_v2(const lserve_subpage_quest_cache_ctx &c, int s, int d) {
  const int count = lserve_subpage_quest_slice_tokens(c.valid, s, 4);
  float acc = __int_as_float(0x7fffffff);
  for (int t = 0; t < count; ++t) {
    const float x = lserve_subpage_quest_cache_v1(c, s, t, d);
    acc = fmaxf(acc, x);
  }
  return count > 0 ? acc : 0.0f;
}

/* %4 = reduce.min %1, tok : [sub, dim] */
static __device__ __forceinline__ float lserve_subpage_quest_cache_v4(const lserve_subpage_quest_cache_ctx &c, int s, int d) {
  const int count = lserve_subpage_quest_slice_tokens(c.valid, s, 4);
  float acc = __int_as_float(0x7fffffff);
  for (int t = 0; t < count; ++t) {
    const float x = lserve_subpage_quest_cache_v1(c, s, t, d);
    acc = fminf(acc, x);
  }
  return count > 0 ? acc : 0.0f;
}

/* cache_update: every stored field of one (page, KV head) per block.
 * Grid: x = batch * max_pages, y = KV heads; block x covers logical page
 * x % max_pages of every request, or with last_only one of each request's
 * last max_pages pages (the pages an append of several tokens touched).
 * IR:
 *   %0 = input.k : [tok, dim]
 *   %1 = split %0, 4 : [sub, tok, dim]
 *   %2 = reduce.max %1, tok : [sub, dim]
 *   store.field %2 kmax
 *   %4 = reduce.min %1, tok : [sub, dim]
 *   store.field %4 kmin
 */
extern "C" __global__ void __launch_bounds__(LSERVE_SUBPAGE_QUEST_CACHE_THREADS)
lserve_subpage_quest_cache_update_kernel(vx_paged_kv kv, lserve_subpage_quest_field_ptrs f, int max_pages, int last_only) {
  const int h = blockIdx.y;
  const int b = (int)blockIdx.x / max_pages;
  const int j = (last_only ? vx_num_pages(kv, b) - max_pages : 0) + (int)blockIdx.x % max_pages;
  const int n = vx_num_pages(kv, b);
  if (j < 0 || j >= n) return;
  const int phys = vx_physical_page(kv, b, j);
  if (phys < 0 || (long long)phys >= kv.num_pages) return;
  lserve_subpage_quest_cache_ctx c;
  c.k = reinterpret_cast<const lserve_subpage_quest_kv_t *>(kv.k_pool) + vx_kv_offset(kv, phys, 0, h);
  c.stride_token = kv.stride_token;
  c.valid = vx_page_valid_tokens(kv, b, j, n);
  if (c.valid > kv.page_size) c.valid = kv.page_size; /* corrupt lengths never read past the page */
  if (c.valid < 0) c.valid = 0;
  const long long base = (long long)phys * kv.num_kv_heads + h;
  /* field kmax: recompute */
  for (int i = threadIdx.x; i < 512; i += blockDim.x) {
    const int d = i % 128;
    const int s = i / 128;
    const float x = s * 4 < c.valid ? lserve_subpage_quest_cache_v2(c, s, d) : 0.0f;
    f.kmax[base * 512 + i] = __float2bfloat16_rn(x);
  }
  /* field kmin: recompute */
  for (int i = threadIdx.x; i < 512; i += blockDim.x) {
    const int d = i % 128;
    const int s = i / 128;
    const float x = s * 4 < c.valid ? lserve_subpage_quest_cache_v4(c, s, d) : 0.0f;
    f.kmin[base * 512 + i] = __float2bfloat16_rn(x);
  }
}

/* ----------------------------------------------------------------------- index */

/* What the index value functions see: one row (request b, KV head h). */
struct lserve_subpage_quest_index_ctx {
  const int *pages;       /* physical page of logical page j: pages[j] */
  long long num_phys;     /* pool capacity: larger ids are never read */
  int b, h, n, kv_heads;  /* n = pages of this request */
  const lserve_subpage_quest_kv_t *q;       /* this row's query group [head][dim] */
  lserve_subpage_quest_field_ptrs fields;
  const float *row;       /* row values in shared memory */
  float reg_v0[32];      /* %0, this lane's dims (registers) */
};

/* A page of the row: logical index and physical pool id. */
struct lserve_subpage_quest_page {
  int j;
  int phys;
  int lane; /* lane in the page's group: dims (lane + k * 16) * 8 + e */
  uint4 f_kmax[4]; /* this lane's 16-byte chunks of field kmax, loaded by lserve_subpage_quest_page_at */
  uint4 f_kmin[4]; /* this lane's 16-byte chunks of field kmin, loaded by lserve_subpage_quest_page_at */
};

/* 16 bytes of a field through the non-coherent path (fields are read-only
 * during the index): one LDG.E.128. */
static __device__ __forceinline__ uint4 lserve_subpage_quest_ld16(const void *p) {
  uint4 v;
  asm("ld.global.nc.v4.u32 {%0, %1, %2, %3}, [%4];" : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w) : "l"(p));
  return v;
}
/* Element i of 16 loaded bytes (i is a compile-time constant once inlined). */
static __device__ __forceinline__ unsigned lserve_subpage_quest_lane_word(const uint4 &v, int w) {
  return w == 0 ? v.x : w == 1 ? v.y : w == 2 ? v.z : v.w;
}
static __device__ __forceinline__ float lserve_subpage_quest_lane_bf16(const uint4 &v, int i) {
  const unsigned w = lserve_subpage_quest_lane_word(v, i >> 1);
  return __uint_as_float((i & 1) ? (w & 0xffff0000u) : (w << 16));
}

/* Logical page j whose page-table entry is id (c.pages[j], read by the caller).
 * Out-of-range ids (a corrupt table) read page 0 instead of outside the pool. */
static __device__ __forceinline__ lserve_subpage_quest_page lserve_subpage_quest_page_at(const lserve_subpage_quest_index_ctx &c, int j, int id) {
  lserve_subpage_quest_page pg;
  pg.j = j;
  pg.phys = id;
  if (pg.phys < 0 || (long long)pg.phys >= c.num_phys) pg.phys = 0;
  pg.lane = threadIdx.x & 15;
  /* every field chunk of the page this lane needs, issued together */
  {
    const __nv_bfloat16 *base = c.fields.kmax + ((long long)pg.phys * c.kv_heads + c.h) * 512;
#pragma unroll
    for (int i = 0; i < 4; ++i)
#pragma unroll
      for (int k = 0; k < 1; ++k)
#pragma unroll
        for (int w = 0; w < 1; ++w)
          pg.f_kmax[(i * 1 + k) * 1 + w] = lserve_subpage_quest_ld16(base + i * 128 + (pg.lane + k * 16) * 8 + w * 8);
  }
  {
    const __nv_bfloat16 *base = c.fields.kmin + ((long long)pg.phys * c.kv_heads + c.h) * 512;
#pragma unroll
    for (int i = 0; i < 4; ++i)
#pragma unroll
      for (int k = 0; k < 1; ++k)
#pragma unroll
        for (int w = 0; w < 1; ++w)
          pg.f_kmin[(i * 1 + k) * 1 + w] = lserve_subpage_quest_ld16(base + i * 128 + (pg.lane + k * 16) * 8 + w * 8);
  }
  return pg;
}

/* Pages the budget expression asks for: floor(value) clamped to [0, n], NaN -> 0. */
static __device__ __forceinline__ int lserve_subpage_quest_budget_pages(float value, int n) {
  if (!(value > 0.0f)) return 0;
  const float f = floorf(value);
  return f < (float)n ? (int)f : n;
}

/* %0 = input.q : [head, dim] */
/* %0 for the dims of this lane (registers) */
static __device__ __forceinline__ float lserve_subpage_quest_index_v0_lane(const lserve_subpage_quest_index_ctx &c, int h, int dl) {
  return c.reg_v0[(h) * 8 + dl];
}

/* %1 = load.field kmax : [page, sub, dim] */
static __device__ __forceinline__ float lserve_subpage_quest_index_v1(const lserve_subpage_quest_index_ctx &c, const lserve_subpage_quest_page &pg, int s, int d, int dl) {
  return lserve_subpage_quest_lane_bf16(pg.f_kmax[((s) * 1 + (dl >> 3)) * 1 + (dl & 7) / 8], dl & 7);
}

/* %2 = mul %0, %1 : [page, head, sub, dim] */
static __device__ __forceinline__ float lserve_subpage_quest_index_v2(const lserve_subpage_quest_index_ctx &c, const lserve_subpage_quest_page &pg, int h, int s, int d, int dl) {
  const float a = lserve_subpage_quest_index_v0_lane(c, h, dl);
  const float b = lserve_subpage_quest_index_v1(c, pg, s, d, dl);
  return a * b;
}

/* %3 = load.field kmin : [page, sub, dim] */
static __device__ __forceinline__ float lserve_subpage_quest_index_v3(const lserve_subpage_quest_index_ctx &c, const lserve_subpage_quest_page &pg, int s, int d, int dl) {
  return lserve_subpage_quest_lane_bf16(pg.f_kmin[((s) * 1 + (dl >> 3)) * 1 + (dl & 7) / 8], dl & 7);
}

/* %4 = mul %0, %3 : [page, head, sub, dim] */
static __device__ __forceinline__ float lserve_subpage_quest_index_v4(const lserve_subpage_quest_index_ctx &c, const lserve_subpage_quest_page &pg, int h, int s, int d, int dl) {
  const float a = lserve_subpage_quest_index_v0_lane(c, h, dl);
  const float b = lserve_subpage_quest_index_v3(c, pg, s, d, dl);
  return a * b;
}

/* %5 = max %2, %4 : [page, head, sub, dim] */
static __device__ __forceinline__ float lserve_subpage_quest_index_v5(const lserve_subpage_quest_index_ctx &c, const lserve_subpage_quest_page &pg, int h, int s, int d, int dl) {
  const float a = lserve_subpage_quest_index_v2(c, pg, h, s, d, dl);
  const float b = lserve_subpage_quest_index_v4(c, pg, h, s, d, dl);
  return fmaxf(a, b);
}

/* %6 = reduce.sum %5, dim : [page, head, sub] */
static __device__ __forceinline__ float lserve_subpage_quest_index_v6(const lserve_subpage_quest_index_ctx &c, const lserve_subpage_quest_page &pg, int h, int s) {
  float acc = 0.0f;
#pragma unroll
  for (int k = 0; k < 1; ++k) {
#pragma unroll
    for (int e = 0; e < 8; ++e) {
      const int dl = k * 8 + e;
      const int d = (pg.lane + k * 16) * 8 + e;
      const float x = lserve_subpage_quest_index_v5(c, pg, h, s, d, dl);
      acc = acc + x;
    }
  }
  for (int o = 8; o > 0; o >>= 1) acc = acc + __shfl_xor_sync(0xffffffffu, acc, o);
  return acc;
}

/* %7 = reduce.max %6, sub : [page, head] */
static __device__ __forceinline__ float lserve_subpage_quest_index_v7(const lserve_subpage_quest_index_ctx &c, const lserve_subpage_quest_page &pg, int h) {
  const int count = 4;
  float acc = __int_as_float(0x7fffffff);
#pragma unroll
  for (int s = 0; s < count; ++s) {
    const float x = lserve_subpage_quest_index_v6(c, pg, h, s);
    acc = fmaxf(acc, x);
  }
  return count > 0 ? acc : 0.0f;
}

/* %8 = reduce.max %7, head : [page] */
static __device__ __forceinline__ float lserve_subpage_quest_index_v8(const lserve_subpage_quest_index_ctx &c, const lserve_subpage_quest_page &pg) {
  const int count = 4;
  float acc = __int_as_float(0x7fffffff);
#pragma unroll
  for (int h = 0; h < count; ++h) {
    const float x = lserve_subpage_quest_index_v7(c, pg, h);
    acc = fmaxf(acc, x);
  }
  return count > 0 ? acc : 0.0f;
}

/* %9 = const 64 : [] */
static __device__ __forceinline__ float lserve_subpage_quest_index_v9(const lserve_subpage_quest_index_ctx &c) {
  return 64.0f;
}

enum { LSERVE_SUBPAGE_QUEST_INDEX_FUSED = 0, LSERVE_SUBPAGE_QUEST_INDEX_SCORE = 1, LSERVE_SUBPAGE_QUEST_INDEX_SELECT = 2 };

/* index: grid x = rows (batch * KV heads), y = scoring blocks per row.
 *   FUSED  one block per row scores every page, then selects (needed when
 *          the score reduces over pages);
 *   SCORE  block y scores pages [y * pages_per_block, ...) of its row, so
 *          small batches still fill the GPU;
 *   SELECT one block per row selects on the scores SCORE wrote.
 * A warp scores one page at a time; its lanes split reductions over dim.
 * IR:
 *   %0 = input.q : [head, dim]
 *   %1 = load.field kmax : [page, sub, dim]
 *   %2 = mul %0, %1 : [page, head, sub, dim]
 *   %3 = load.field kmin : [page, sub, dim]
 *   %4 = mul %0, %3 : [page, head, sub, dim]
 *   %5 = max %2, %4 : [page, head, sub, dim]
 *   %6 = reduce.sum %5, dim : [page, head, sub]
 *   %7 = reduce.max %6, sub : [page, head]
 *   %8 = reduce.max %7, head : [page]
 *   %9 = const 64 : []
 *   select.top %8, %9 keep first 1, last 2
 * The phases live in lserve_subpage_quest_index_phases; lserve_subpage_quest_score_kernel and lserve_subpage_quest_select_kernel
 * instantiate it for one phase each, so neither launch carries the other's
 * registers and both fit two blocks per SM.
 * WARPS: the launch's block width.
 */
template <int WARPS> static __device__ __forceinline__ void
lserve_subpage_quest_index_phases(const vx_paged_kv &kv, const lserve_subpage_quest_kv_t *q, const lserve_subpage_quest_field_ptrs &fields, const float *state_in,
    float *state_out, int max_pages, float *scores, int *sel_pages, int *sel_count, int pages_per_block,
    int phase) {
  __shared__ vx_topk_smem topk;
  __shared__ float row[512];
  vx_pdl_enter();
  const int r = blockIdx.x;
  const int b = r / kv.num_kv_heads, h = r % kv.num_kv_heads;
  const int total = vx_num_pages(kv, b);
  lserve_subpage_quest_index_ctx c;
  c.pages = kv.format == VX_PAGES_CSR ? kv.indices + kv.indptr[b]
                                       : kv.block_table + (long long)b * kv.block_table_stride;
  c.num_phys = kv.num_pages;
  c.b = b;
  c.h = h;
  c.n = total < max_pages ? total : max_pages; /* the workspace holds max_pages per row */
  c.kv_heads = kv.num_kv_heads;
  c.q = q + ((long long)b * kv.num_kv_heads + h) * LSERVE_SUBPAGE_QUEST_GROUP * LSERVE_SUBPAGE_QUEST_HEAD_DIM;
  c.fields = fields;
  c.row = row;

  if (phase != LSERVE_SUBPAGE_QUEST_INDEX_SELECT) {
  /* %0 = input.q : [head, dim] */
  for (int i = threadIdx.x; i < 512; i += blockDim.x) {
    row[i] = vx_elem<lserve_subpage_quest_kv_t>::to_float(c.q[i]);
  }
  __syncthreads();
  { /* %0, read by every page: this lane's dims into registers */
    const int lane = threadIdx.x & 15;
#pragma unroll
    for (int i = 0; i < 4; ++i)
#pragma unroll
      for (int k = 0; k < 1; ++k)
#pragma unroll
        for (int e = 0; e < 8; ++e)
          c.reg_v0[(i * 1 + k) * 8 + e] = row[i * 128 + (lane + k * 16) * 8 + e];
  }
  }
  float *row_scores = scores + (long long)r * max_pages;
  if (phase != LSERVE_SUBPAGE_QUEST_INDEX_SELECT) {
    const int first = phase == LSERVE_SUBPAGE_QUEST_INDEX_SCORE ? (int)blockIdx.y * pages_per_block : 0;
    const int end = phase == LSERVE_SUBPAGE_QUEST_INDEX_SCORE && first + pages_per_block < c.n ? first + pages_per_block : c.n;
    /* 16 lanes per page, 2 pages per warp, 1 page per lane in flight. */
    int next_id[1] = {0};
    { /* the first iteration's page-table entries */
      const int nb = first + (threadIdx.x >> 5) * 2;
    #pragma unroll
      for (int u = 0; u < 1; ++u) {
        const int mine = nb + (int)((threadIdx.x & 31) / 16) + u * VX_TOPK_WARPS * 2;
        if (nb < end) next_id[u] = c.pages[mine < end ? mine : nb];
      }
    }
    for (int base = first + (threadIdx.x >> 5) * 2; base < end; base += VX_TOPK_WARPS * 2) {
      const int mine0 = base + (int)((threadIdx.x & 31) / 16);
      const int p0 = mine0 < end ? mine0 : base;
      const lserve_subpage_quest_page pg0 = lserve_subpage_quest_page_at(c, p0, next_id[0]);
      { /* the next iteration's page-table entries, while these fields load */
        const int nb = base + VX_TOPK_WARPS * 2;
      #pragma unroll
        for (int u = 0; u < 1; ++u) {
          const int mine = nb + (int)((threadIdx.x & 31) / 16) + u * VX_TOPK_WARPS * 2;
          if (nb < end) next_id[u] = c.pages[mine < end ? mine : nb];
        }
      }
      float score0;
      {
        const lserve_subpage_quest_page &pg = pg0;
        score0 = lserve_subpage_quest_index_v8(c, pg);
      }
      if (mine0 < end && (threadIdx.x & 15) == 0) {
        row_scores[p0] = score0;
      }
    }
  }
  if (phase == LSERVE_SUBPAGE_QUEST_INDEX_SCORE) return;
  __syncthreads(); /* scores visible to the whole block */
  /* select.top %8, %9 keep first 1, last 2 */
  const int budget = lserve_subpage_quest_budget_pages(lserve_subpage_quest_index_v9(c), c.n);
  vx_topk_row<WARPS * 32>(row_scores, c.n, budget, 1, 2, sel_pages + (long long)r * max_pages, max_pages,
              sel_count + r, topk);
}

/* The SCORE launch alone: no top-k code, fewer registers, more blocks per SM. */
extern "C" __global__ void __launch_bounds__(VX_TOPK_WARPS * 32, 1)
lserve_subpage_quest_score_kernel(vx_paged_kv kv, const lserve_subpage_quest_kv_t *q, lserve_subpage_quest_field_ptrs fields, const float *state_in,
    float *state_out, int max_pages, float *scores, int *sel_pages, int *sel_count, int pages_per_block) {
  lserve_subpage_quest_index_phases<VX_TOPK_WARPS>(kv, q, fields, state_in, state_out, max_pages, scores, sel_pages, sel_count,
      pages_per_block, LSERVE_SUBPAGE_QUEST_INDEX_SCORE);
}

/* The SELECT launch alone: top-k on the scores SCORE wrote, two blocks per SM. */
extern "C" __global__ void __launch_bounds__(VX_TOPK_WARPS * 32, 2)
lserve_subpage_quest_select_kernel(vx_paged_kv kv, const lserve_subpage_quest_kv_t *q, lserve_subpage_quest_field_ptrs fields, const float *state_in,
    float *state_out, int max_pages, float *scores, int *sel_pages, int *sel_count, int pages_per_block) {
  lserve_subpage_quest_index_phases<VX_TOPK_WARPS>(kv, q, fields, state_in, state_out, max_pages, scores, sel_pages, sel_count,
      pages_per_block, LSERVE_SUBPAGE_QUEST_INDEX_SELECT);
}

#ifndef __CUDACC_RTC__

/* ------------------------------------------------------------- host launchers */

static size_t lserve_subpage_quest_round_up(unsigned long long bytes) { return (size_t)((bytes + 255ull) & ~255ull); }

/* The workspace's parts start at multiples of 256 bytes from its base and
 * the kernels read them with up to 16-byte vector accesses, so the base
 * must be 16-byte aligned (cudaMalloc gives 256). */
static bool lserve_subpage_quest_workspace_aligned(const void *workspace) {
  return (reinterpret_cast<unsigned long long>(workspace) & 15ull) == 0;
}

/* Workspace layout: [selected pages][selected counts][scratch]; scratch
 * holds the index scores, later reused by attention's partial results. */
static size_t lserve_subpage_quest_selection_bytes(long long rows, int max_pages) {
  return lserve_subpage_quest_round_up((unsigned long long)rows * (unsigned long long)max_pages * 4ull) +
         lserve_subpage_quest_round_up((unsigned long long)rows * 4ull);
}

/* Attention rows: one per (request, KV head). */
static long long lserve_subpage_quest_attention_rows(int batch, int kv_heads) {
  return (long long)batch * kv_heads;
}

/* Partial results for the most chunks the plan may choose. */
static size_t lserve_subpage_quest_attention_bytes(long long rows, int max_pages) {
  return (size_t)vx_decode_workspace_bytes(rows, LSERVE_SUBPAGE_QUEST_GROUP, LSERVE_SUBPAGE_QUEST_OUT_DIM, vx_decode_max_chunks(rows, max_pages));
}

/* Whether the workspace holds what index writes: the selection, then the scores. */
static bool lserve_subpage_quest_index_workspace_fits(long long rows, int max_pages, const void *workspace, size_t workspace_bytes) {
  return workspace_bytes >= lserve_subpage_quest_selection_bytes(rows, max_pages) +
                                lserve_subpage_quest_round_up((unsigned long long)rows * (unsigned long long)max_pages * 4ull) &&
         lserve_subpage_quest_workspace_aligned(workspace);
}

/* Whether it holds what attend reads and writes: the selection, then the partials. */
static bool lserve_subpage_quest_attend_workspace_fits(int batch, int kv_heads, int max_pages, const void *workspace,
                                     size_t workspace_bytes) {
  return workspace_bytes >= lserve_subpage_quest_selection_bytes((long long)batch * kv_heads, max_pages) +
                                lserve_subpage_quest_attention_bytes(lserve_subpage_quest_attention_rows(batch, kv_heads), max_pages) &&
         lserve_subpage_quest_workspace_aligned(workspace);
}

/* What the host can check without reading device memory. */
static int lserve_subpage_quest_check_kv(const vx_paged_kv *kv) {
  if (!kv || kv->batch < 0 || kv->num_kv_heads < 1 || kv->num_pages < 1 || !kv->k_pool) return LSERVE_SUBPAGE_QUEST_ERR_ARGUMENT;
  if (kv->dtype != LSERVE_SUBPAGE_QUEST_KV_DTYPE || kv->page_size != LSERVE_SUBPAGE_QUEST_PAGE_SIZE || kv->head_dim != LSERVE_SUBPAGE_QUEST_HEAD_DIM)
    return LSERVE_SUBPAGE_QUEST_ERR_GEOMETRY;
  if (!kv->v_pool) return LSERVE_SUBPAGE_QUEST_ERR_ARGUMENT;
  if (kv->format == VX_PAGES_CSR) {
    if (!kv->indptr || !kv->indices || !kv->last_page_len) return LSERVE_SUBPAGE_QUEST_ERR_ARGUMENT;
  } else if (kv->format == VX_PAGES_BLOCK_TABLE) {
    if (!kv->block_table || !kv->seq_lens || kv->block_table_stride < 1) return LSERVE_SUBPAGE_QUEST_ERR_ARGUMENT;
  } else {
    return LSERVE_SUBPAGE_QUEST_ERR_ARGUMENT;
  }
  return LSERVE_SUBPAGE_QUEST_OK;
}

/* field_pools (host array of device pointers) -> typed kernel argument. */
static int lserve_subpage_quest_fields_from(void *const *pools, lserve_subpage_quest_field_ptrs *f) {
  if (!pools) return LSERVE_SUBPAGE_QUEST_ERR_ARGUMENT;
  f->kmax = static_cast<__nv_bfloat16 *>(pools[0]);
  if (!f->kmax) return LSERVE_SUBPAGE_QUEST_ERR_ARGUMENT;
  f->kmin = static_cast<__nv_bfloat16 *>(pools[1]);
  if (!f->kmin) return LSERVE_SUBPAGE_QUEST_ERR_ARGUMENT;
  return LSERVE_SUBPAGE_QUEST_OK;
}

static int lserve_subpage_quest_launched(void) { return cudaGetLastError() == cudaSuccess ? LSERVE_SUBPAGE_QUEST_OK : LSERVE_SUBPAGE_QUEST_ERR_LAUNCH; }

/* The attention's arguments over a selection (lserve_subpage_quest_attend; the one-launch step). */
static vx_decode_args lserve_subpage_quest_decode_args(const vx_paged_kv *kv, const void *q, const int *sel_pages,
    const int *sel_count, int max_pages, float sm_scale, void *out) {
  vx_decode_args args = {};
  args.kv = *kv;
  args.q = q;
  args.out = out;
  args.sel_pages = sel_pages;
  args.sel_count = sel_count;
  args.max_sel = max_pages;
  args.num_qo_heads = kv->num_kv_heads * LSERVE_SUBPAGE_QUEST_GROUP;
  args.sm_scale = sm_scale > 0.0f ? sm_scale : 1.0f / sqrtf((float)LSERVE_SUBPAGE_QUEST_HEAD_DIM);
  return args;
}

/* Plan the split over what a row can select, not over the request. */
static int lserve_subpage_quest_plan_pages(int max_pages) {
  return LSERVE_SUBPAGE_QUEST_MAX_SELECTED > 0 && LSERVE_SUBPAGE_QUEST_MAX_SELECTED < max_pages ? (int)LSERVE_SUBPAGE_QUEST_MAX_SELECTED : max_pages;
}

/* A plan's split in args: its chunks, and where their partials go in scratch. */
static void lserve_subpage_quest_set_plan(vx_decode_args *args, const vx_decode_plan &plan, long long rows, char *scratch) {
  const unsigned long long slots = (unsigned long long)rows * plan.num_chunks * LSERVE_SUBPAGE_QUEST_GROUP;
  args->num_chunks = plan.num_chunks;
  args->chunk_pages = plan.chunk_pages;
  args->ws_o = reinterpret_cast<float *>(scratch);
  args->ws_lse = reinterpret_cast<float *>(scratch + vx_decode_lse_offset(slots, LSERVE_SUBPAGE_QUEST_OUT_DIM));
}

/* Exact softmax attention over the selected pages: split-KV flash decoding
 * (vx_decode_partial_mma_kernel: tensor cores, the whole GQA group per block), then the
 * log-sum-exp merge of the chunks (none with one chunk per row). The plan (chunks per row) follows the
 * runtime's rule; `scratch` holds at least lserve_subpage_quest_attention_bytes(). */
static void lserve_subpage_quest_launch_attention(vx_decode_args args, int max_pages, char *scratch, cudaStream_t stream) {
  const long long rows = (long long)args.kv.batch * args.kv.num_kv_heads;
  /* Block width (4 warps, two blocks per SM, or 8, one) and split plan by the
   * runtime's rule (vx_decode_mma_choose, which also sets the kernels' shared
   * memory attribute: host-side, legal during capture; if it fails, the launch fails). */
  const vx_decode_mma_choice choice = vx_decode_mma_choose<lserve_subpage_quest_kv_t, LSERVE_SUBPAGE_QUEST_HEAD_DIM, LSERVE_SUBPAGE_QUEST_GROUP, LSERVE_SUBPAGE_QUEST_ATTEND_PAGE>(rows, max_pages);
  const vx_decode_plan plan = choice.plan;
  lserve_subpage_quest_set_plan(&args, plan, rows, scratch);
  vx_decode_mma_launch<lserve_subpage_quest_kv_t, LSERVE_SUBPAGE_QUEST_HEAD_DIM, LSERVE_SUBPAGE_QUEST_GROUP, LSERVE_SUBPAGE_QUEST_ATTEND_PAGE>(args, choice, rows, stream);
  if (plan.num_chunks > 1) vx_decode_merge_launch<lserve_subpage_quest_kv_t, LSERVE_SUBPAGE_QUEST_OUT_DIM>(args, LSERVE_SUBPAGE_QUEST_GROUP, stream);
}

extern "C" {

size_t lserve_subpage_quest_workspace_size(int max_batch, int kv_heads, int max_pages) {
  if (max_batch < 1 || kv_heads < 1 || max_pages < 1) return 0;
  const long long rows = (long long)max_batch * kv_heads;
  size_t scratch = lserve_subpage_quest_round_up((unsigned long long)rows * (unsigned long long)max_pages * 4ull);
  /* The decode plan depends on the row count, and its workspace is not
   * monotone in it: take the largest over every batch up to max_batch. */
  for (int batch = 1; batch <= max_batch; ++batch) {
    const size_t need = lserve_subpage_quest_attention_bytes(lserve_subpage_quest_attention_rows(batch, kv_heads), max_pages);
    if (need > scratch) scratch = need;
  }
  return lserve_subpage_quest_selection_bytes(rows, max_pages) + scratch;
}

size_t lserve_subpage_quest_field_bytes_per_page(void) {
  return 2048;
}

size_t lserve_subpage_quest_state_bytes(int max_batch, int kv_heads, int max_pages) {
  (void)max_batch;
  (void)kv_heads;
  (void)max_pages;
  return 0;
}

int lserve_subpage_quest_state_init(float *state, int batch, int kv_heads, int max_pages, cudaStream_t stream) {
  (void)state;
  (void)batch;
  (void)kv_heads;
  (void)max_pages;
  (void)stream;
  return LSERVE_SUBPAGE_QUEST_OK;
}

int lserve_subpage_quest_cache_update(const vx_paged_kv *kv, void *const *field_pools, int max_pages, cudaStream_t stream) {
  lserve_subpage_quest_field_ptrs f;
  int st = lserve_subpage_quest_check_kv(kv);
  if (st == LSERVE_SUBPAGE_QUEST_OK) st = lserve_subpage_quest_fields_from(field_pools, &f);
  if (st != LSERVE_SUBPAGE_QUEST_OK) return st;
  if (max_pages < 1) return LSERVE_SUBPAGE_QUEST_ERR_ARGUMENT;
  if (kv->batch == 0) return LSERVE_SUBPAGE_QUEST_OK;
  const dim3 grid((unsigned)((long long)kv->batch * max_pages), (unsigned)kv->num_kv_heads);
  lserve_subpage_quest_cache_update_kernel<<<grid, LSERVE_SUBPAGE_QUEST_CACHE_THREADS, 0, stream>>>(*kv, f, max_pages, 0);
  return lserve_subpage_quest_launched();
}

int lserve_subpage_quest_cache_update_last(const vx_paged_kv *kv, void *const *field_pools, int new_tokens, cudaStream_t stream) {
  lserve_subpage_quest_field_ptrs f;
  int st = lserve_subpage_quest_check_kv(kv);
  if (st == LSERVE_SUBPAGE_QUEST_OK) st = lserve_subpage_quest_fields_from(field_pools, &f);
  if (st != LSERVE_SUBPAGE_QUEST_OK) return st;
  if (new_tokens < 1) return LSERVE_SUBPAGE_QUEST_ERR_ARGUMENT;
  if (kv->batch == 0) return LSERVE_SUBPAGE_QUEST_OK;
  /* The most pages new_tokens tokens can touch (1 for a single token). */
  const long long span = ((long long)new_tokens + LSERVE_SUBPAGE_QUEST_PAGE_SIZE - 2) / LSERVE_SUBPAGE_QUEST_PAGE_SIZE + 1;
  if ((long long)kv->batch * span > 0x7fffffffLL) return LSERVE_SUBPAGE_QUEST_ERR_ARGUMENT;
  const dim3 grid((unsigned)((long long)kv->batch * span), (unsigned)kv->num_kv_heads);
  lserve_subpage_quest_cache_update_kernel<<<grid, LSERVE_SUBPAGE_QUEST_CACHE_THREADS, 0, stream>>>(*kv, f, (int)span, 1);
  return lserve_subpage_quest_launched();
}

int lserve_subpage_quest_index(const vx_paged_kv *kv, const void *q, void *const *field_pools, const float *state_in,
    float *state_out, int max_pages, int *sel_pages, int *sel_count, void *workspace,
    size_t workspace_bytes, cudaStream_t stream) {
  lserve_subpage_quest_field_ptrs f;
  int st = lserve_subpage_quest_check_kv(kv);
  if (st == LSERVE_SUBPAGE_QUEST_OK) st = lserve_subpage_quest_fields_from(field_pools, &f);
  if (st != LSERVE_SUBPAGE_QUEST_OK) return st;
  if (!q || !sel_pages || !sel_count || max_pages < 1 || !workspace) return LSERVE_SUBPAGE_QUEST_ERR_ARGUMENT;
  if (kv->batch == 0) return LSERVE_SUBPAGE_QUEST_OK;
  const long long rows = (long long)kv->batch * kv->num_kv_heads;
  const size_t selection = lserve_subpage_quest_selection_bytes(rows, max_pages);
  if (!lserve_subpage_quest_index_workspace_fits(rows, max_pages, workspace, workspace_bytes)) return LSERVE_SUBPAGE_QUEST_ERR_WORKSPACE;
  float *scores = reinterpret_cast<float *>(static_cast<char *>(workspace) + selection);
  const lserve_subpage_quest_kv_t *query = static_cast<const lserve_subpage_quest_kv_t *>(q);
  /* About 8 scoring blocks per SM of a 132-SM part (the index kernel holds one
   * or two 512-thread blocks per SM at once), each a whole number of block
   * iterations (32 pages = 16 warps x 2), at least two; shapes only, so the
   * launch stays capturable. */
  const int step = VX_TOPK_WARPS * 2;
  long long blocks = (1056 + rows - 1) / rows;
  int per_block = (int)((max_pages + blocks - 1) / blocks);
  per_block = (per_block + step - 1) / step * step;
  if (per_block < 2 * step) per_block = 2 * step;
  blocks = (max_pages + per_block - 1) / per_block;
  vx_launch(lserve_subpage_quest_score_kernel, dim3((unsigned)rows, (unsigned)blocks), dim3(VX_TOPK_THREADS), 0, stream,
      *kv, query, f, state_in, state_out, max_pages, scores, sel_pages, sel_count, per_block);
  vx_launch(lserve_subpage_quest_select_kernel, dim3((unsigned)rows, 1), dim3(VX_TOPK_THREADS), 0, stream,
      *kv, query, f, state_in, state_out, max_pages, scores, sel_pages, sel_count, per_block);
  return lserve_subpage_quest_launched();
}

int lserve_subpage_quest_attend(const vx_paged_kv *kv, const void *q, const int *sel_pages, const int *sel_count,
    int max_pages, float sm_scale, void *out, void *workspace, size_t workspace_bytes,
    cudaStream_t stream) {
  const int st = lserve_subpage_quest_check_kv(kv);
  if (st != LSERVE_SUBPAGE_QUEST_OK) return st;
  if (!q || !sel_pages || !sel_count || !out || max_pages < 1 || !workspace) return LSERVE_SUBPAGE_QUEST_ERR_ARGUMENT;
  if (kv->batch == 0) return LSERVE_SUBPAGE_QUEST_OK;
  if (!lserve_subpage_quest_attend_workspace_fits(kv->batch, kv->num_kv_heads, max_pages, workspace, workspace_bytes))
    return LSERVE_SUBPAGE_QUEST_ERR_WORKSPACE;
  const size_t selection = lserve_subpage_quest_selection_bytes((long long)kv->batch * kv->num_kv_heads, max_pages);
  const vx_decode_args args = lserve_subpage_quest_decode_args(kv, q, sel_pages, sel_count, max_pages, sm_scale, out);
  lserve_subpage_quest_launch_attention(args, lserve_subpage_quest_plan_pages(max_pages), static_cast<char *>(workspace) + selection, stream);
  return lserve_subpage_quest_launched();
}

int lserve_subpage_quest_step(const vx_paged_kv *kv, const void *q, void *const *field_pools, const float *state_in,
    float *state_out, int new_tokens, int max_pages, float sm_scale, void *out,
    void *workspace, size_t workspace_bytes, cudaStream_t stream) {
  int st = LSERVE_SUBPAGE_QUEST_OK;
  if (new_tokens > 0) st = lserve_subpage_quest_cache_update_last(kv, field_pools, new_tokens, stream);
  if (st != LSERVE_SUBPAGE_QUEST_OK) return st;
  if (!kv || !workspace || max_pages < 1) return LSERVE_SUBPAGE_QUEST_ERR_ARGUMENT;
  const long long rows = (long long)kv->batch * kv->num_kv_heads;
  int *sel_pages = static_cast<int *>(workspace);
  int *sel_count = reinterpret_cast<int *>(static_cast<char *>(workspace) +
                                         lserve_subpage_quest_round_up((unsigned long long)rows * (unsigned long long)max_pages * 4ull));
  st = lserve_subpage_quest_index(kv, q, field_pools, state_in, state_out, max_pages, sel_pages, sel_count, workspace,
                workspace_bytes, stream);
  if (st != LSERVE_SUBPAGE_QUEST_OK) return st;
  return lserve_subpage_quest_attend(kv, q, sel_pages, sel_count, max_pages, sm_scale, out, workspace, workspace_bytes, stream);
}

} /* extern "C" */

#endif /* !__CUDACC_RTC__ */

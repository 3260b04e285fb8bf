/* quest.cu - CUDA kernels vortexc generated for algorithm `quest`.
 * Generated file: edit the .vtx source instead. C ABI: quest.h.
 * Geometry: GQA, head dim 128, group 4, page size 16, KV bf16.
 * Stands alone: the runtime device headers it needs are pasted below, so it
 * builds with nvcc or NVRTC and the CUDA toolkit headers only. */

/* ... runtime/device headers, pasted verbatim, elided in golden files ... */

/* ---------------------------------------------------------------- geometry */

#define QUEST_HEAD_DIM 128  /* K/q width */
#define QUEST_GROUP 4     /* query heads per KV head */
#define QUEST_PAGE_SIZE 16
#define QUEST_OUT_DIM 128   /* attention output width */
#define QUEST_KV_DTYPE 0  /* vx_paged_kv.dtype: 0 bf16, 1 f16 */
#define QUEST_IS_MLA 0
#define QUEST_NUM_FIELDS 2
#define QUEST_NUM_STATES 0
#define QUEST_MAX_SELECTED 67  /* pages one row can select (0: up to all) */
#define QUEST_FIELD_KMAX 0        /* index in field_pools */
#define QUEST_FIELD_KMAX_BYTES 256  /* 128 x bf16 per (page, KV head) */
#define QUEST_FIELD_KMIN 1        /* index in field_pools */
#define QUEST_FIELD_KMIN_BYTES 256  /* 128 x bf16 per (page, KV head) */

#define QUEST_CACHE_THREADS 128
#define QUEST_ATTEND_PAGE vx_decode_page_param(QUEST_PAGE_SIZE)

typedef __nv_bfloat16 quest_kv_t;

/* Status of every launcher: 0 on success. */
enum quest_status {
  QUEST_OK = 0,
  QUEST_ERR_ARGUMENT = 1,  /* NULL pointer or non-positive size */
  QUEST_ERR_GEOMETRY = 2,  /* descriptor differs from the compiled geometry */
  QUEST_ERR_WORKSPACE = 3, /* workspace missing, smaller than needed or not 16-byte aligned */
  QUEST_ERR_LAUNCH = 4     /* CUDA rejected a kernel launch */
};

/* Field pools as kernels see them, in storage types. */
struct quest_field_ptrs {
  __nv_bfloat16 *kmax;
  __nv_bfloat16 *kmin;
};

/* ---------------------------------------------------------------- cache update */

/* What the cache_update value functions see: one page of one KV head. */
struct quest_cache_ctx {
  const quest_kv_t *k; /* token 0 of the page, this head, dim 0 */
  long long stride_token;
  int valid;            /* tokens holding data: page_size except on a last page */
};

/* %0 = input.k : [tok, dim] */
static __device__ __forceinline__ float quest_cache_v0(const quest_cache_ctx &c, int t, int d) {
  return t < c.valid ? vx_elem<quest_kv_t>::to_float(c.k[(long long)t * c.stride_token + d]) : 0.0f;
}

/* %1 = reduce.max %0, tok : [dim] */
static __device__ __forceinline__ float quest_cache_v1(const quest_cache_ctx &c, int d) {
  const int count = c.valid;
  float acc = __int_as_float(0x7fffffff);
  for (int t = 0; t < count; ++t) {
    const float x = quest_cache_v0(c, t, d);
    acc = fmaxf(acc, x);
  }
  return count > 0 ? acc : 0.0f;
}

/* %3 = reduce.min %0, tok : [dim] */
static __device__ __forceinline__ float quest_cache_v3(const quest_cache_ctx &c, int d) {
  const int count = c.valid;
  float acc = __int_as_float(0x7fffffff);
  for (int t = 0; t < count; ++t) {
    const float x = quest_cache_v0(c, t, d);
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
 *   %1 = reduce.max %0, tok : [dim]
 *   store.field %1 kmax
 *   %3 = reduce.min %0, tok : [dim]
 *   store.field %3 kmin
 */
extern "C" __global__ void __launch_bounds__(QUEST_CACHE_THREADS)
quest_cache_update_kernel(vx_paged_kv kv, quest_field_ptrs f, int max_pages, int last_only) {
  const int h = blockIdx.y;
  const int b = (int)blockIdx.x / max_pages;
  const int j = (last_only ? vx_num_pages(kv, b) - max_pages : 0) + (int)blockIdx.x % max_pages;
  const int n = vx_num_pages(kv, b);
  if (j < 0 || j >= n) return;
  const int phys = vx_physical_page(kv, b, j);
  if (phys < 0 || (long long)phys >= kv.num_pages) return;
  quest_cache_ctx c;
  c.k = reinterpret_cast<const quest_kv_t *>(kv.k_pool) + vx_kv_offset(kv, phys, 0, h);
  c.stride_token = kv.stride_token;
  c.valid = vx_page_valid_tokens(kv, b, j, n);
  if (c.valid > kv.page_size) c.valid = kv.page_size; /* corrupt lengths never read past the page */
  if (c.valid < 0) c.valid = 0;
  const long long base = (long long)phys * kv.num_kv_heads + h;
  /* field kmax: recompute */
  for (int i = threadIdx.x; i < 128; i += blockDim.x) {
    const int d = i;
    const float x = quest_cache_v1(c, d);
    f.kmax[base * 128 + i] = __float2bfloat16_rn(x);
  }
  /* field kmin: recompute */
  for (int i = threadIdx.x; i < 128; i += blockDim.x) {
    const int d = i;
    const float x = quest_cache_v3(c, d);
    f.kmin[base * 128 + i] = __float2bfloat16_rn(x);
  }
}

/* cache_update after appending `new_tokens` tokens to every request: one
 * block per (page the new tokens touched, KV head); grid: x = batch * span,
 * span = the most pages new_tokens tokens can touch, y = KV heads. Fields
 * the incremental pass marked fold only the page's new tokens into the
 * stored value; the others are recomputed from the whole page. */
extern "C" __global__ void __launch_bounds__(QUEST_CACHE_THREADS)
quest_cache_append_kernel(vx_paged_kv kv, quest_field_ptrs f, int new_tokens) {
  const int h = blockIdx.y;
  const int span = (new_tokens + kv.page_size - 2) / kv.page_size + 1;
  const int b = (int)blockIdx.x / span;
  const int j = vx_num_pages(kv, b) - span + (int)blockIdx.x % span;
  const int n = vx_num_pages(kv, b);
  if (j < 0 || j >= n) return;
  const int phys = vx_physical_page(kv, b, j);
  if (phys < 0 || (long long)phys >= kv.num_pages) return;
  quest_cache_ctx c;
  c.k = reinterpret_cast<const quest_kv_t *>(kv.k_pool) + vx_kv_offset(kv, phys, 0, h);
  c.stride_token = kv.stride_token;
  c.valid = vx_page_valid_tokens(kv, b, j, n);
  if (c.valid > kv.page_size) c.valid = kv.page_size; /* corrupt lengths never read past the page */
  if (c.valid < 0) c.valid = 0;
  const long long base = (long long)phys * kv.num_kv_heads + h;
  /* tokens of this page that were there before the append */
  const int before = vx_seq_len(kv, b) - new_tokens - j * kv.page_size;
  const int old = before < 0 ? 0 : (before < c.valid ? before : c.valid);
  if (old >= c.valid) return; /* no new token in this page */
  /* field kmax: fold the new tokens into the stored value */
  for (int i = threadIdx.x; i < 128; i += blockDim.x) {
    const int d = i;
    const int from = old, to = c.valid;
    float x;
    if (from == 0) {
      x = quest_cache_v1(c, d);
    } else {
      x = __bfloat162float(f.kmax[base * 128 + i]);
      for (int t = from; t < to; ++t) x = fmaxf(x, quest_cache_v0(c, t, d));
    }
    f.kmax[base * 128 + i] = __float2bfloat16_rn(x);
  }
  /* field kmin: fold the new tokens into the stored value */
  for (int i = threadIdx.x; i < 128; i += blockDim.x) {
    const int d = i;
    const int from = old, to = c.valid;
    float x;
    if (from == 0) {
      x = quest_cache_v3(c, d);
    } else {
      x = __bfloat162float(f.kmin[base * 128 + i]);
      for (int t = from; t < to; ++t) x = fminf(x, quest_cache_v0(c, t, d));
    }
    f.kmin[base * 128 + i] = __float2bfloat16_rn(x);
  }
}

/* ----------------------------------------------------------------------- index */

/* What the index value functions see: one row (request b, KV head h). */
struct quest_index_ctx {
  const int *pages;       /* physical page of logical page j: pages[j] */
  long long num_phys;     /* pool capacity: larger ids are never read */
  int b, h, n, kv_heads;  /* n = pages of this request */
  const quest_kv_t *q;       /* this row's query group [head][dim] */
  quest_field_ptrs fields;
  const float *row;       /* row values in shared memory */
};

/* A page of the row: logical index and physical pool id. */
struct quest_page {
  int j;
  int phys;
  float acc_v6[4]; /* %6 per head, from the tensor cores */
};

/* 16 bytes of a field through the non-coherent path (fields are read-only
 * during the index): one LDG.E.128. */
static __device__ __forceinline__ uint4 quest_ld16(const void *p) {
  uint4 v;
  asm("ld.global.nc.v4.u32 {%0, %1, %2, %3}, [%4];" : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w) : "l"(p));
  return v;
}
/* Warps of a SCORE block. Eight, so that two blocks fit per SM (128 registers
 * a thread): one block's start (query staging, its first tile's round trips)
 * then overlaps the other's streaming (bench/RESULTS.md run 19). */
#define QUEST_SCORE_WARPS 8
/* The FUSED launch keeps a row of up to VX_TOPK_THREADS * VX_TOPK_CACHE scores
 * in shared memory after the tiles, so its top-k reads them there rather than
 * from L2 (0: tuning builds). */
#ifndef VX_INDEX_SMEM_SCORES
#define VX_INDEX_SMEM_SCORES 1
#endif
/* 1: the query is prefetched into L2 before the page-table reads. Its staging
 * load is issued after the first tile's loads and waits behind them in DRAM;
 * the block's barrier after it holds every warp's second tile (ncu, run 77: 17%
 * of the fused kernel's stall samples at B16 x 8K). Index + top-k 1-3% faster
 * at 8K, within 0.7% elsewhere (run 80); 0 keeps the plain load alone. */
#ifndef VX_INDEX_Q_PREFETCH
#define VX_INDEX_Q_PREFETCH 1
#endif
/* The fused launches' shared memory: a tile per warp, then the row's scores
 * where they fit; the launcher sizes it (quest_fused_smem_bytes), the kernel reads it. */
#define QUEST_WARP_TILE_BYTES 8192
static __host__ __device__ inline bool quest_fused_smem_scores(int max_pages) {
  return VX_INDEX_SMEM_SCORES && max_pages <= VX_TOPK_THREADS * VX_TOPK_CACHE;
}
typedef vx_mma_op<__nv_bfloat16> quest_mma_op; /* run_m16: D += A B, m16n8k16, f32 accumulate */
/* Elementwise max / min of two packed pairs: exact. */
static __device__ __forceinline__ unsigned quest_max2(unsigned x, unsigned y) {
  unsigned r;
  asm("max.bf16x2 %0, %1, %2;" : "=r"(r) : "r"(x), "r"(y));
  return r;
}
static __device__ __forceinline__ unsigned quest_min2(unsigned x, unsigned y) {
  unsigned r;
  asm("min.bf16x2 %0, %1, %2;" : "=r"(r) : "r"(x), "r"(y));
  return r;
}
/* Split term s of x: x == term 0 + term 1 + term 2 exactly in bf16 (8 + 8 + 8
 * significant bits; each residual is exact in f32). Term 0 alone when x is
 * already a value of the mma type. */
static __device__ __forceinline__ float quest_term(float x, int s) {
  const float t0 = __bfloat162float(__float2bfloat16_rn(x));
  if (s == 0) return t0;
  const float r1 = x - t0;
  const float t1 = __bfloat162float(__float2bfloat16_rn(r1));
  return s == 1 ? t1 : r1 - t1;
}

/* Pages the budget expression asks for: floor(value) clamped to [0, n], NaN -> 0. */
static __device__ __forceinline__ int quest_budget_pages(float value, int n) {
  if (!(value > 0.0f)) return 0;
  const float f = floorf(value);
  return f < (float)n ? (int)f : n;
}

/* %6 = reduce.sum %5, dim : [page, head] */
static __device__ __forceinline__ float quest_index_v6(const quest_index_ctx &c, const quest_page &pg, int h) {
  return pg.acc_v6[h];
}

/* %7 = reduce.max %6, head : [page] */
static __device__ __forceinline__ float quest_index_v7(const quest_index_ctx &c, const quest_page &pg) {
  const int count = 4;
  float acc = __int_as_float(0x7fffffff);
#pragma unroll
  for (int h = 0; h < count; ++h) {
    const float x = quest_index_v6(c, pg, h);
    acc = fmaxf(acc, x);
  }
  return count > 0 ? acc : 0.0f;
}

/* %8 = const 64 : [] */
static __device__ __forceinline__ float quest_index_v8(const quest_index_ctx &c) {
  return 64.0f;
}

enum { QUEST_INDEX_FUSED = 0, QUEST_INDEX_SCORE = 1, QUEST_INDEX_SELECT = 2 };

/* index: grid x = rows (batch * KV heads), y = scoring blocks per row.
 *   FUSED  one block per row scores every page, then selects (needed when
 *          the score reduces over pages);
 *   SCORE  block y scores pages [y * pages_per_block, ...) of its row, so
 *          small batches still fill the GPU;
 *   SELECT one block per row selects on the scores SCORE wrote.
 * A warp scores tiles of 16 pages on tensor cores (see the SCORE prologue).
 * IR:
 *   %0 = input.q : [head, dim]
 *   %1 = load.field kmax : [page, dim]
 *   %2 = mul %0, %1 : [page, head, dim]
 *   %3 = load.field kmin : [page, dim]
 *   %4 = mul %0, %3 : [page, head, dim]
 *   %5 = max %2, %4 : [page, head, dim]
 *   %6 = reduce.sum %5, dim : [page, head]
 *   %7 = reduce.max %6, head : [page]
 *   %8 = const 64 : []
 *   select.top %7, %8 keep first 1, last 2
 * The phases live in quest_index_phases; quest_score_kernel and quest_select_kernel
 * instantiate it for one phase each, so neither launch carries the other's
 * registers and both fit two blocks per SM.
 * quest_fused_kernel runs both phases in one block a row, for small batches.
 * quest_fused_pair_kernel does too in a SCORE block's warps, two blocks an SM.
 * WARPS: the launch's block width.
 */
template <int WARPS> static __device__ __forceinline__ void
quest_index_phases(const vx_paged_kv &kv, const quest_kv_t *q, const quest_field_ptrs &fields, const float *state_in,
    float *state_out, int max_pages, float *scores, int *sel_pages, int *sel_count, int pages_per_block,
    int phase) {
  __shared__ vx_topk_smem topk;
  __shared__ float row[512];
  vx_pdl_enter();
  const int r = blockIdx.x;
  const int b = r / kv.num_kv_heads, h = r % kv.num_kv_heads;
  const int total = vx_num_pages(kv, b);
  quest_index_ctx c;
  c.pages = kv.format == VX_PAGES_CSR ? kv.indices + kv.indptr[b]
                                       : kv.block_table + (long long)b * kv.block_table_stride;
  c.num_phys = kv.num_pages;
  c.b = b;
  c.h = h;
  c.n = total < max_pages ? total : max_pages; /* the workspace holds max_pages per row */
  c.kv_heads = kv.num_kv_heads;
  c.q = q + ((long long)b * kv.num_kv_heads + h) * QUEST_GROUP * QUEST_HEAD_DIM;
  #if VX_INDEX_Q_PREFETCH
  if (phase != QUEST_INDEX_SELECT && threadIdx.x * 128 < QUEST_GROUP * QUEST_HEAD_DIM * (int)sizeof(quest_kv_t))
    vx_prefetch_l2(reinterpret_cast<const char *>(c.q) + threadIdx.x * 128);
  #endif
  c.fields = fields;
  c.row = row;
  /* SCORE on tensor cores: a warp scores tiles of 16 pages (the mma rows). A tile's
   * field rows are loaded in whole lines into registers, stored to the warp's
   * shared tile and read back as A fragments by ldmatrix; the next tile loads
   * while this one is multiplied. The first tile is requested here, before the
   * row values are staged, so the two latencies overlap. */
  const int first = phase == QUEST_INDEX_SCORE ? (int)blockIdx.y * pages_per_block : 0;
  const int end = phase == QUEST_INDEX_SCORE && first + pages_per_block < c.n ? first + pages_per_block : c.n;
  const int step = WARPS * 16; /* pages per block iteration */
  extern __shared__ uint4 quest_tiles[]; /* [warp][field][page 16][chunk 16], 8192 bytes per warp */
  uint4 *tile = quest_tiles + (threadIdx.x >> 5) * 512;
  int next_id = 0, tile_id = 0; /* entries of page lane % 16 of the next and the loaded tile */
  uint4 ld_kmax[8]; /* chunk lane % 16 of pages lane / 16 + j * 2 */
  uint4 ld_kmin[8]; /* chunk lane % 16 of pages lane / 16 + j * 2 */
  if (phase != QUEST_INDEX_SELECT && first + (int)(threadIdx.x >> 5) * 16 < end) {
    { /* the first tile */
      const int nb = first + (int)(threadIdx.x >> 5) * 16, mine = nb + (int)(threadIdx.x & 15);
      if (nb < end) next_id = c.pages[mine < end ? mine : nb];
    }
    tile_id = next_id < 0 || (long long)next_id >= c.num_phys ? 0 : next_id;
    #pragma unroll
    for (int j = 0; j < 8; ++j) {
      const int id = __shfl_sync(0xffffffffu, tile_id, (int)(threadIdx.x & 31) / 16 + j * 2);
      const long long at = ((long long)id * c.kv_heads + c.h) * 128 + 8 * (int)(threadIdx.x & 15);
      ld_kmax[j] = quest_ld16(c.fields.kmax + at);
      ld_kmin[j] = quest_ld16(c.fields.kmin + at);
    }
    { /* the second tile's page-table entries */
      const int nb = first + (int)(threadIdx.x >> 5) * 16 + step, mine = nb + (int)(threadIdx.x & 15);
      if (nb < end) next_id = c.pages[mine < end ? mine : nb];
    }
  }

  if (phase != QUEST_INDEX_SELECT) {
  /* %0 = input.q : [head, dim] */
  for (int i = threadIdx.x; i < 512; i += blockDim.x) {
    row[i] = vx_elem<quest_kv_t>::to_float(c.q[i]);
  }
  __syncthreads();
  }
  float *row_scores = phase == QUEST_INDEX_FUSED && quest_fused_smem_scores(max_pages)
                          ? reinterpret_cast<float *>(reinterpret_cast<char *>(quest_tiles) + WARPS * QUEST_WARP_TILE_BYTES)
                          : scores + (long long)r * max_pages;
  if (phase != QUEST_INDEX_SELECT) {
    /* B fragments of %6: column n = lane / 4 holds head n of %0 (a+ and a-) (exact in the mma type);
     * k-step ks, register w: dims 16 ks + 8 w + 2 t, + 1 (t = lane % 4) */
    unsigned b6_plus[8][2], b6_minus[8][2];
    {
      const int n = (threadIdx.x & 31) >> 2, t = threadIdx.x & 3;
      const bool used = n < 4;
      const int h = used ? n / 1 : 0, s = used ? n % 1 : 0;
    #pragma unroll
      for (int ks = 0; ks < 8; ++ks)
    #pragma unroll
        for (int w = 0; w < 2; ++w) {
          const int d = 16 * ks + 8 * w + 2 * t;
          const float x0 = used ? row[h * 128 + d] : 0.0f, x1 = used ? row[h * 128 + d + 1] : 0.0f;
          b6_plus[ks][w] = quest_mma_op::pack(quest_term(fmaxf(x0, 0.0f), s), quest_term(fmaxf(x1, 0.0f), s));
          b6_minus[ks][w] = quest_mma_op::pack(quest_term(fminf(x0, 0.0f), s), quest_term(fminf(x1, 0.0f), s));
        }
    }
    const int g = (threadIdx.x & 31) >> 2;
    for (int base = first + (threadIdx.x >> 5) * 16; base < end; base += step) {
      __syncwarp(); /* the previous tile's ldmatrix reads are done */
      #pragma unroll
      for (int j = 0; j < 8; ++j) {
        const int page = (int)(threadIdx.x & 31) / 16 + j * 2, chunk = threadIdx.x & 15;
        tile[0 + page * 16 + (chunk ^ (page & 7))] = ld_kmax[j];
        tile[256 + page * 16 + (chunk ^ (page & 7))] = ld_kmin[j];
      }
      __syncwarp();
      const int this_id = tile_id;
      if (base + step < end) { /* the next tile, while this one is multiplied */
        tile_id = next_id < 0 || (long long)next_id >= c.num_phys ? 0 : next_id;
        #pragma unroll
        for (int j = 0; j < 8; ++j) {
          const int id = __shfl_sync(0xffffffffu, tile_id, (int)(threadIdx.x & 31) / 16 + j * 2);
          const long long at = ((long long)id * c.kv_heads + c.h) * 128 + 8 * (int)(threadIdx.x & 15);
          ld_kmax[j] = quest_ld16(c.fields.kmax + at);
          ld_kmin[j] = quest_ld16(c.fields.kmin + at);
        }
        { /* the page-table entries of the tile after it */
          const int nb = base + 2 * step, mine = nb + (int)(threadIdx.x & 15);
          if (nb < end) next_id = c.pages[mine < end ? mine : nb];
        }
      }
      /* %6 = reduce.sum %5, dim : [page, head] */
      float acc6[4] = {0.0f, 0.0f, 0.0f, 0.0f};
      #pragma unroll
      for (int ks = 0; ks < 8; ++ks) {
        const int lane = threadIdx.x & 31, page = (lane & 7) + 8 * ((lane >> 3) & 1), chunk = 2 * ks + (lane >> 4);
        const uint4 *at = tile + page * 16 + (chunk ^ (page & 7));
        unsigned x[4], y[4], hi[4], lo[4];
        vx_ldmatrix_x4(x, at + 0);
        vx_ldmatrix_x4(y, at + 256);
        #pragma unroll
        for (int i = 0; i < 4; ++i) {
          hi[i] = quest_max2(x[i], y[i]);
          lo[i] = quest_min2(x[i], y[i]);
        }
        quest_mma_op::run_m16(acc6, hi, b6_plus[ks][0], b6_plus[ks][1]);
        quest_mma_op::run_m16(acc6, lo, b6_minus[ks][0], b6_minus[ks][1]);
      }
      const int mine0 = base + g, mine1 = base + g + 8;
      quest_page pg0, pg1;
      const int p0 = mine0 < end ? mine0 : base, p1 = mine1 < end ? mine1 : base;
      pg0.j = p0;
      pg1.j = p1;
      pg0.phys = __shfl_sync(0xffffffffu, this_id, g);
      pg1.phys = __shfl_sync(0xffffffffu, this_id, g + 8);
      { /* %6: column n sits in lane 4g + n / 2 (element n % 2; + 2 for page g + 8) */
        float col0[4], col1[4];
        #pragma unroll
        for (int n = 0; n < 4; ++n) {
          const int src = (int)(threadIdx.x & 28) | (n >> 1);
          col0[n] = __shfl_sync(0xffffffffu, (n & 1) ? acc6[1] : acc6[0], src);
          col1[n] = __shfl_sync(0xffffffffu, (n & 1) ? acc6[3] : acc6[2], src);
        }
        #pragma unroll
        for (int h = 0; h < 4; ++h) {
          pg0.acc_v6[h] = col0[h];
          pg1.acc_v6[h] = col1[h];
        }
      }
      float score0;
      float score1;
      {
        const quest_page &pg = pg0;
        score0 = quest_index_v7(c, pg);
      }
      {
        const quest_page &pg = pg1;
        score1 = quest_index_v7(c, pg);
      }
      if (mine0 < end && (threadIdx.x & 3) == 0) {
        row_scores[p0] = score0;
      }
      if (mine1 < end && (threadIdx.x & 3) == 0) {
        row_scores[p1] = score1;
      }
    }
  }
  if (phase == QUEST_INDEX_SCORE) return;
  __syncthreads(); /* scores visible to the whole block */
  /* select.top %7, %8 keep first 1, last 2 */
  const int budget = quest_budget_pages(quest_index_v8(c), c.n);
  vx_topk_row<WARPS * 32>(row_scores, c.n, budget, 1, 2, sel_pages + (long long)r * max_pages, max_pages,
              sel_count + r, topk);
}

/* The SCORE launch alone: no top-k code, fewer registers, more blocks per SM. */
extern "C" __global__ void __launch_bounds__(QUEST_SCORE_WARPS * 32, 2)
quest_score_kernel(vx_paged_kv kv, const quest_kv_t *q, quest_field_ptrs fields, const float *state_in,
    float *state_out, int max_pages, float *scores, int *sel_pages, int *sel_count, int pages_per_block) {
  quest_index_phases<QUEST_SCORE_WARPS>(kv, q, fields, state_in, state_out, max_pages, scores, sel_pages, sel_count,
      pages_per_block, QUEST_INDEX_SCORE);
}

/* The SELECT launch alone: top-k on the scores SCORE wrote, two blocks per SM. */
extern "C" __global__ void __launch_bounds__(VX_TOPK_WARPS * 32, 2)
quest_select_kernel(vx_paged_kv kv, const quest_kv_t *q, quest_field_ptrs fields, const float *state_in,
    float *state_out, int max_pages, float *scores, int *sel_pages, int *sel_count, int pages_per_block) {
  quest_index_phases<VX_TOPK_WARPS>(kv, q, fields, state_in, state_out, max_pages, scores, sel_pages, sel_count,
      pages_per_block, QUEST_INDEX_SELECT);
}

/* The FUSED launch alone: one block a row scores every page on tensor cores, then selects. */
extern "C" __global__ void __launch_bounds__(VX_TOPK_WARPS * 32, 1)
quest_fused_kernel(vx_paged_kv kv, const quest_kv_t *q, quest_field_ptrs fields, const float *state_in,
    float *state_out, int max_pages, float *scores, int *sel_pages, int *sel_count, int pages_per_block) {
  quest_index_phases<VX_TOPK_WARPS>(kv, q, fields, state_in, state_out, max_pages, scores, sel_pages, sel_count,
      pages_per_block, QUEST_INDEX_FUSED);
}

/* The FUSED launch alone: one block of SCORE_WARPS a row, two an SM, scores every page, then selects. */
extern "C" __global__ void __launch_bounds__(QUEST_SCORE_WARPS * 32, 2)
quest_fused_pair_kernel(vx_paged_kv kv, const quest_kv_t *q, quest_field_ptrs fields, const float *state_in,
    float *state_out, int max_pages, float *scores, int *sel_pages, int *sel_count, int pages_per_block) {
  quest_index_phases<QUEST_SCORE_WARPS>(kv, q, fields, state_in, state_out, max_pages, scores, sel_pages, sel_count,
      pages_per_block, QUEST_INDEX_FUSED);
}

/* The step as one launch (index, then attention, in each row's block) where
 * the attention plan gives every row one wide block: on by default for modules
 * with >= 512 field bytes a page (512 here); -DVX_STEP_FUSE=0/1 decides. */
#ifndef VX_STEP_FUSE
#ifdef __CUDACC_RTC__
/* Only the host launcher below launches the kernel: an NVRTC build leaves it
 * out unless asked (it is the module's largest: +0.4-1.4 s of cold compile). */
#define VX_STEP_FUSE 0
#else
#define VX_STEP_FUSE 1
#endif
#endif
/* Longer rows keep two launches: the index phases, 8 warps an SM here against
 * the fused index kernel's 16, outweigh the saved boundary (quest at 8192
 * pages: 3.9% slower, run 109). */
#ifndef VX_STEP_FUSE_MAX_PAGES /* tuning builds may raise it */
#define VX_STEP_FUSE_MAX_PAGES 2048
#endif
#define QUEST_STEP_FUSE_MAX_PAGES VX_STEP_FUSE_MAX_PAGES
/* -DVX_STEP_WIDE=1: the index phases in VX_TOPK_WARPS warps, as in the fused index
 * kernel, instead of QUEST_SCORE_WARPS; eight of them then attend with the registers
 * the others give up (vx_decode_step_attend; compute capability 9.0 only). */
#ifndef VX_STEP_WIDE
#define VX_STEP_WIDE 0
#endif
#define QUEST_STEP_WARPS (VX_STEP_WIDE ? VX_TOPK_WARPS : QUEST_SCORE_WARPS)
#if VX_STEP_FUSE
/* The whole step of a row: its index phases, then its attention, one block. */
extern "C" __global__ void __launch_bounds__(QUEST_STEP_WARPS * 32, 1)
quest_fused_step_kernel(vx_paged_kv kv, const quest_kv_t *q, quest_field_ptrs fields, const float *state_in,
    float *state_out, int max_pages, float *scores, int *sel_pages, int *sel_count, vx_decode_args attn) {
  quest_index_phases<QUEST_STEP_WARPS>(kv, q, fields, state_in, state_out, max_pages, scores, sel_pages, sel_count,
      max_pages, QUEST_INDEX_FUSED);
  /* The block's selection (global stores) is visible to its own threads after the
   * barrier, and the index's shared memory is free for the attention's ring. */
  __syncthreads();
  vx_decode_step_attend<quest_kv_t, QUEST_HEAD_DIM, QUEST_GROUP, QUEST_STEP_WARPS, QUEST_ATTEND_PAGE>(attn);
}
#endif /* VX_STEP_FUSE */

#ifndef __CUDACC_RTC__

/* ------------------------------------------------------------- host launchers */

static size_t quest_round_up(unsigned long long bytes) { return (size_t)((bytes + 255ull) & ~255ull); }

/* The workspace's parts start at multiples of 256 bytes from its base and
 * the kernels read them with up to 16-byte vector accesses, so the base
 * must be 16-byte aligned (cudaMalloc gives 256). */
static bool quest_workspace_aligned(const void *workspace) {
  return (reinterpret_cast<unsigned long long>(workspace) & 15ull) == 0;
}

/* Workspace layout: [selected pages][selected counts][scratch]; scratch
 * holds the index scores, later reused by attention's partial results. */
static size_t quest_selection_bytes(long long rows, int max_pages) {
  return quest_round_up((unsigned long long)rows * (unsigned long long)max_pages * 4ull) +
         quest_round_up((unsigned long long)rows * 4ull);
}

/* Attention rows: one per (request, KV head). */
static long long quest_attention_rows(int batch, int kv_heads) {
  return (long long)batch * kv_heads;
}

/* Partial results for the most chunks the plan may choose. */
static size_t quest_attention_bytes(long long rows, int max_pages) {
  return (size_t)vx_decode_workspace_bytes(rows, QUEST_GROUP, QUEST_OUT_DIM, vx_decode_max_chunks(rows, max_pages));
}

/* Whether the workspace holds what index writes: the selection, then the scores. */
static bool quest_index_workspace_fits(long long rows, int max_pages, const void *workspace, size_t workspace_bytes) {
  return workspace_bytes >= quest_selection_bytes(rows, max_pages) +
                                quest_round_up((unsigned long long)rows * (unsigned long long)max_pages * 4ull) &&
         quest_workspace_aligned(workspace);
}

/* Whether it holds what attend reads and writes: the selection, then the partials. */
static bool quest_attend_workspace_fits(int batch, int kv_heads, int max_pages, const void *workspace,
                                     size_t workspace_bytes) {
  return workspace_bytes >= quest_selection_bytes((long long)batch * kv_heads, max_pages) +
                                quest_attention_bytes(quest_attention_rows(batch, kv_heads), max_pages) &&
         quest_workspace_aligned(workspace);
}

/* What the host can check without reading device memory. */
static int quest_check_kv(const vx_paged_kv *kv) {
  if (!kv || kv->batch < 0 || kv->num_kv_heads < 1 || kv->num_pages < 1 || !kv->k_pool) return QUEST_ERR_ARGUMENT;
  if (kv->dtype != QUEST_KV_DTYPE || kv->page_size != QUEST_PAGE_SIZE || kv->head_dim != QUEST_HEAD_DIM)
    return QUEST_ERR_GEOMETRY;
  if (!kv->v_pool) return QUEST_ERR_ARGUMENT;
  if (kv->format == VX_PAGES_CSR) {
    if (!kv->indptr || !kv->indices || !kv->last_page_len) return QUEST_ERR_ARGUMENT;
  } else if (kv->format == VX_PAGES_BLOCK_TABLE) {
    if (!kv->block_table || !kv->seq_lens || kv->block_table_stride < 1) return QUEST_ERR_ARGUMENT;
  } else {
    return QUEST_ERR_ARGUMENT;
  }
  return QUEST_OK;
}

/* field_pools (host array of device pointers) -> typed kernel argument. */
static int quest_fields_from(void *const *pools, quest_field_ptrs *f) {
  if (!pools) return QUEST_ERR_ARGUMENT;
  f->kmax = static_cast<__nv_bfloat16 *>(pools[0]);
  if (!f->kmax) return QUEST_ERR_ARGUMENT;
  f->kmin = static_cast<__nv_bfloat16 *>(pools[1]);
  if (!f->kmin) return QUEST_ERR_ARGUMENT;
  return QUEST_OK;
}

static int quest_launched(void) { return cudaGetLastError() == cudaSuccess ? QUEST_OK : QUEST_ERR_LAUNCH; }

/* The attention's arguments over a selection (quest_attend; the one-launch step). */
static vx_decode_args quest_decode_args(const vx_paged_kv *kv, const void *q, const int *sel_pages,
    const int *sel_count, int max_pages, float sm_scale, void *out) {
  vx_decode_args args = {};
  args.kv = *kv;
  args.q = q;
  args.out = out;
  args.sel_pages = sel_pages;
  args.sel_count = sel_count;
  args.max_sel = max_pages;
  args.num_qo_heads = kv->num_kv_heads * QUEST_GROUP;
  args.sm_scale = sm_scale > 0.0f ? sm_scale : 1.0f / sqrtf((float)QUEST_HEAD_DIM);
  return args;
}

/* Plan the split over what a row can select, not over the request. */
static int quest_plan_pages(int max_pages) {
  return QUEST_MAX_SELECTED > 0 && QUEST_MAX_SELECTED < max_pages ? (int)QUEST_MAX_SELECTED : max_pages;
}

/* A plan's split in args: its chunks, and where their partials go in scratch. */
static void quest_set_plan(vx_decode_args *args, const vx_decode_plan &plan, long long rows, char *scratch) {
  const unsigned long long slots = (unsigned long long)rows * plan.num_chunks * QUEST_GROUP;
  args->num_chunks = plan.num_chunks;
  args->chunk_pages = plan.chunk_pages;
  args->ws_o = reinterpret_cast<float *>(scratch);
  args->ws_lse = reinterpret_cast<float *>(scratch + vx_decode_lse_offset(slots, QUEST_OUT_DIM));
}

/* Exact softmax attention over the selected pages: split-KV flash decoding
 * (vx_decode_partial_mma_kernel: tensor cores, the whole GQA group per block), then the
 * log-sum-exp merge of the chunks (none with one chunk per row). The plan (chunks per row) follows the
 * runtime's rule; `scratch` holds at least quest_attention_bytes(). */
static void quest_launch_attention(vx_decode_args args, int max_pages, char *scratch, cudaStream_t stream) {
  const long long rows = (long long)args.kv.batch * args.kv.num_kv_heads;
  /* Block width (4 warps, two blocks per SM, or 8, one) and split plan by the
   * runtime's rule (vx_decode_mma_choose, which also sets the kernels' shared
   * memory attribute: host-side, legal during capture; if it fails, the launch fails). */
  const vx_decode_mma_choice choice = vx_decode_mma_choose<quest_kv_t, QUEST_HEAD_DIM, QUEST_GROUP, QUEST_ATTEND_PAGE>(rows, max_pages);
  const vx_decode_plan plan = choice.plan;
  quest_set_plan(&args, plan, rows, scratch);
  vx_decode_mma_launch<quest_kv_t, QUEST_HEAD_DIM, QUEST_GROUP, QUEST_ATTEND_PAGE>(args, choice, rows, stream);
  if (plan.num_chunks > 1) vx_decode_merge_launch<quest_kv_t, QUEST_OUT_DIM>(args, QUEST_GROUP, stream);
}

extern "C" {

size_t quest_workspace_size(int max_batch, int kv_heads, int max_pages) {
  if (max_batch < 1 || kv_heads < 1 || max_pages < 1) return 0;
  const long long rows = (long long)max_batch * kv_heads;
  size_t scratch = quest_round_up((unsigned long long)rows * (unsigned long long)max_pages * 4ull);
  /* The decode plan depends on the row count, and its workspace is not
   * monotone in it: take the largest over every batch up to max_batch. */
  for (int batch = 1; batch <= max_batch; ++batch) {
    const size_t need = quest_attention_bytes(quest_attention_rows(batch, kv_heads), max_pages);
    if (need > scratch) scratch = need;
  }
  return quest_selection_bytes(rows, max_pages) + scratch;
}

size_t quest_field_bytes_per_page(void) {
  return 512;
}

size_t quest_state_bytes(int max_batch, int kv_heads, int max_pages) {
  (void)max_batch;
  (void)kv_heads;
  (void)max_pages;
  return 0;
}

int quest_state_init(float *state, int batch, int kv_heads, int max_pages, cudaStream_t stream) {
  (void)state;
  (void)batch;
  (void)kv_heads;
  (void)max_pages;
  (void)stream;
  return QUEST_OK;
}

int quest_cache_update(const vx_paged_kv *kv, void *const *field_pools, int max_pages, cudaStream_t stream) {
  quest_field_ptrs f;
  int st = quest_check_kv(kv);
  if (st == QUEST_OK) st = quest_fields_from(field_pools, &f);
  if (st != QUEST_OK) return st;
  if (max_pages < 1) return QUEST_ERR_ARGUMENT;
  if (kv->batch == 0) return QUEST_OK;
  const dim3 grid((unsigned)((long long)kv->batch * max_pages), (unsigned)kv->num_kv_heads);
  quest_cache_update_kernel<<<grid, QUEST_CACHE_THREADS, 0, stream>>>(*kv, f, max_pages, 0);
  return quest_launched();
}

int quest_cache_update_last(const vx_paged_kv *kv, void *const *field_pools, int new_tokens, cudaStream_t stream) {
  quest_field_ptrs f;
  int st = quest_check_kv(kv);
  if (st == QUEST_OK) st = quest_fields_from(field_pools, &f);
  if (st != QUEST_OK) return st;
  if (new_tokens < 1) return QUEST_ERR_ARGUMENT;
  if (kv->batch == 0) return QUEST_OK;
  /* The most pages new_tokens tokens can touch (1 for a single token). */
  const long long span = ((long long)new_tokens + QUEST_PAGE_SIZE - 2) / QUEST_PAGE_SIZE + 1;
  if ((long long)kv->batch * span > 0x7fffffffLL) return QUEST_ERR_ARGUMENT;
  const dim3 grid((unsigned)((long long)kv->batch * span), (unsigned)kv->num_kv_heads);
  quest_cache_append_kernel<<<grid, QUEST_CACHE_THREADS, 0, stream>>>(*kv, f, new_tokens);
  return quest_launched();
}

/* Tuning builds: -DVX_INDEX_FUSE=0 never launches quest_fused_kernel. */
#ifndef VX_INDEX_FUSE
#define VX_INDEX_FUSE 1
#endif

/* Shared memory of a fused launch in blocks of `warps` warps. */
static inline int quest_fused_smem_bytes(int warps, int max_pages) {
  return warps * QUEST_WARP_TILE_BYTES + (quest_fused_smem_scores(max_pages) ? max_pages * 4 : 0);
}

/* Tuning builds: -DVX_INDEX_FUSE_PAIR=0 never launches quest_fused_pair_kernel;
 * 1 launches it only while its rows fit one wave (batch 64 then takes SCORE +
 * SELECT). */
#ifndef VX_INDEX_FUSE_PAIR
#define VX_INDEX_FUSE_PAIR 2
#endif

int quest_index(const vx_paged_kv *kv, const void *q, void *const *field_pools, const float *state_in,
    float *state_out, int max_pages, int *sel_pages, int *sel_count, void *workspace,
    size_t workspace_bytes, cudaStream_t stream) {
  quest_field_ptrs f;
  int st = quest_check_kv(kv);
  if (st == QUEST_OK) st = quest_fields_from(field_pools, &f);
  if (st != QUEST_OK) return st;
  if (!q || !sel_pages || !sel_count || max_pages < 1 || !workspace) return QUEST_ERR_ARGUMENT;
  if (kv->batch == 0) return QUEST_OK;
  const long long rows = (long long)kv->batch * kv->num_kv_heads;
  const size_t selection = quest_selection_bytes(rows, max_pages);
  if (!quest_index_workspace_fits(rows, max_pages, workspace, workspace_bytes)) return QUEST_ERR_WORKSPACE;
  float *scores = reinterpret_cast<float *>(static_cast<char *>(workspace) + selection);
  const quest_kv_t *query = static_cast<const quest_kv_t *>(q);
  /* As few scoring blocks as fill one wave (two 8-warp blocks per SM; the
   * device's capacity from a host-side query, capturable): every extra wave
   * pays a block start-up (page table -> first tile) across the GPU. Each
   * block takes a whole number of block iterations (128 pages = 8 warps x
   * 16), at least two, so the next tile always loads under the current one. */
  const int step = QUEST_SCORE_WARPS * 16;
  const int tile_smem = QUEST_SCORE_WARPS * 8192;
  /* Each warp's shared tile exceeds the default 48 KB per block: a host-side
   * attribute, legal during capture and idempotent. */
  (void)cudaFuncSetAttribute(reinterpret_cast<const void *>(quest_score_kernel),
                             cudaFuncAttributeMaxDynamicSharedMemorySize, tile_smem);
  const int capacity = vx_capacity(reinterpret_cast<const void *>(quest_score_kernel), QUEST_SCORE_WARPS * 32, tile_smem);
  long long blocks = (capacity > 0 ? capacity : 264) / rows;
  if (blocks < 1) blocks = 1;
  int per_block = (int)((max_pages + blocks - 1) / blocks);
  per_block = (per_block + step - 1) / step * step;
  if (per_block < 2 * step) per_block = 2 * step;
  blocks = (max_pages + per_block - 1) / per_block;
  /* One launch, one block of the top-k's warps a row scoring and selecting,
   * where it reaches as many SMs as the SCORE plan: the plan gives a row one
   * block, or two while the rows fill >= 90% of the fused kernel's one wave
   * (batch 16 x 8 KV heads on 132 SMs). Batch 8's two blocks a row reach twice
   * the SMs that one block a row would. */
  const int fused_smem = quest_fused_smem_bytes(VX_TOPK_WARPS, max_pages);
  const int fused_capacity = VX_INDEX_FUSE && blocks <= 2
      ? vx_prepare_kernel(reinterpret_cast<const void *>(quest_fused_kernel), VX_TOPK_THREADS, fused_smem) : 0;
  if (rows <= fused_capacity && (blocks == 1 || rows * 10 >= fused_capacity * 9LL)) {
    vx_launch(quest_fused_kernel, dim3((unsigned)rows, 1), dim3(VX_TOPK_THREADS), fused_smem, stream,
        *kv, query, f, state_in, state_out, max_pages, scores, sel_pages, sel_count, max_pages);
    return quest_launched();
  }
  /* One SCORE block a row and more rows than the fused kernel's one wave holds
   * (batch 32 and up x 8 KV heads): the SCORE block selects too, two blocks an
   * SM, in as many waves as the rows take; a second launch's start (grid
   * boundary, row length, scores back from L2) costs more than the pair
   * kernel's later waves. */
  if (VX_INDEX_FUSE && VX_INDEX_FUSE_PAIR && blocks == 1) {
    const int pair_smem = quest_fused_smem_bytes(QUEST_SCORE_WARPS, max_pages);
    const int pair_capacity = vx_prepare_kernel(reinterpret_cast<const void *>(quest_fused_pair_kernel),
                                                QUEST_SCORE_WARPS * 32, pair_smem);
    if (pair_capacity > 0 && (rows <= pair_capacity || VX_INDEX_FUSE_PAIR >= 2)) {
      vx_launch(quest_fused_pair_kernel, dim3((unsigned)rows, 1), dim3(QUEST_SCORE_WARPS * 32), pair_smem, stream,
          *kv, query, f, state_in, state_out, max_pages, scores, sel_pages, sel_count, max_pages);
      return quest_launched();
    }
  }
  vx_launch(quest_score_kernel, dim3((unsigned)rows, (unsigned)blocks), dim3(QUEST_SCORE_WARPS * 32), tile_smem, stream,
      *kv, query, f, state_in, state_out, max_pages, scores, sel_pages, sel_count, per_block);
  vx_launch(quest_select_kernel, dim3((unsigned)rows, 1), dim3(VX_TOPK_THREADS), 0, stream,
      *kv, query, f, state_in, state_out, max_pages, scores, sel_pages, sel_count, per_block);
  return quest_launched();
}

int quest_attend(const vx_paged_kv *kv, const void *q, const int *sel_pages, const int *sel_count,
    int max_pages, float sm_scale, void *out, void *workspace, size_t workspace_bytes,
    cudaStream_t stream) {
  const int st = quest_check_kv(kv);
  if (st != QUEST_OK) return st;
  if (!q || !sel_pages || !sel_count || !out || max_pages < 1 || !workspace) return QUEST_ERR_ARGUMENT;
  if (kv->batch == 0) return QUEST_OK;
  if (!quest_attend_workspace_fits(kv->batch, kv->num_kv_heads, max_pages, workspace, workspace_bytes))
    return QUEST_ERR_WORKSPACE;
  const size_t selection = quest_selection_bytes((long long)kv->batch * kv->num_kv_heads, max_pages);
  const vx_decode_args args = quest_decode_args(kv, q, sel_pages, sel_count, max_pages, sm_scale, out);
  quest_launch_attention(args, quest_plan_pages(max_pages), static_cast<char *>(workspace) + selection, stream);
  return quest_launched();
}

#if VX_STEP_FUSE
#define QUEST_STEP_UNFUSED (-1)
/* The step as one launch where every row gets one wide attention block and
 * one chunk, the rows fit one wave and have at most QUEST_STEP_FUSE_MAX_PAGES
 * pages; QUEST_STEP_UNFUSED elsewhere (the caller launches index, then attention). */
static int quest_step_fused(const vx_paged_kv *kv, const void *q, void *const *field_pools, const float *state_in,
    float *state_out, int max_pages, float sm_scale, void *out, int *sel_pages, int *sel_count, void *workspace,
    size_t workspace_bytes, cudaStream_t stream) {
  quest_field_ptrs f;
  int st = quest_check_kv(kv);
  if (st == QUEST_OK) st = quest_fields_from(field_pools, &f);
  if (st != QUEST_OK) return st;
  if (!q || !out) return QUEST_ERR_ARGUMENT;
  if (kv->batch == 0 || max_pages > QUEST_STEP_FUSE_MAX_PAGES) return QUEST_STEP_UNFUSED;
  const long long rows = (long long)kv->batch * kv->num_kv_heads;
  if (!quest_index_workspace_fits(rows, max_pages, workspace, workspace_bytes) ||
      !quest_attend_workspace_fits(kv->batch, kv->num_kv_heads, max_pages, workspace, workspace_bytes))
    return QUEST_ERR_WORKSPACE;
  const vx_decode_mma_choice choice =
      vx_decode_mma_choose<quest_kv_t, QUEST_HEAD_DIM, QUEST_GROUP, QUEST_ATTEND_PAGE>(rows, quest_plan_pages(max_pages));
  if (!choice.wide || choice.plan.num_chunks != 1) return QUEST_STEP_UNFUSED;
  typedef vx_decode_mma_kernel_of<quest_kv_t, QUEST_HEAD_DIM, QUEST_GROUP, 1, QUEST_ATTEND_PAGE> attention;
  if (QUEST_STEP_WARPS != VX_DECODE_WIDE_WARPS && !vx_decode_step_regs_ok(reinterpret_cast<const void *>(quest_fused_step_kernel),
                                                                   QUEST_STEP_WARPS * 32))
    return QUEST_STEP_UNFUSED;
  const int index_smem = quest_fused_smem_bytes(QUEST_STEP_WARPS, max_pages);
  const int smem = index_smem > attention::SMEM ? index_smem : attention::SMEM;
  const int capacity = vx_prepare_kernel(reinterpret_cast<const void *>(quest_fused_step_kernel), QUEST_STEP_WARPS * 32, smem);
  if (capacity < rows) return QUEST_STEP_UNFUSED;
  char *scratch = static_cast<char *>(workspace) + quest_selection_bytes(rows, max_pages);
  vx_decode_args args = quest_decode_args(kv, q, sel_pages, sel_count, max_pages, sm_scale, out);
  quest_set_plan(&args, choice.plan, rows, scratch); /* one chunk: its partials only in trace builds */
  vx_launch(quest_fused_step_kernel, dim3((unsigned)rows), dim3(QUEST_STEP_WARPS * 32), smem, stream, *kv,
      static_cast<const quest_kv_t *>(q), f, state_in, state_out, max_pages, reinterpret_cast<float *>(scratch), sel_pages,
      sel_count, args);
  return quest_launched();
}
#endif /* VX_STEP_FUSE */

int quest_step(const vx_paged_kv *kv, const void *q, void *const *field_pools, const float *state_in,
    float *state_out, int new_tokens, int max_pages, float sm_scale, void *out,
    void *workspace, size_t workspace_bytes, cudaStream_t stream) {
  int st = QUEST_OK;
  if (new_tokens > 0) st = quest_cache_update_last(kv, field_pools, new_tokens, stream);
  if (st != QUEST_OK) return st;
  if (!kv || !workspace || max_pages < 1) return QUEST_ERR_ARGUMENT;
  const long long rows = (long long)kv->batch * kv->num_kv_heads;
  int *sel_pages = static_cast<int *>(workspace);
  int *sel_count = reinterpret_cast<int *>(static_cast<char *>(workspace) +
                                         quest_round_up((unsigned long long)rows * (unsigned long long)max_pages * 4ull));
#if VX_STEP_FUSE
  st = quest_step_fused(kv, q, field_pools, state_in, state_out, max_pages, sm_scale, out, sel_pages, sel_count,
                      workspace, workspace_bytes, stream);
  if (st != QUEST_STEP_UNFUSED) return st;
#endif
  st = quest_index(kv, q, field_pools, state_in, state_out, max_pages, sel_pages, sel_count, workspace,
                workspace_bytes, stream);
  if (st != QUEST_OK) return st;
  return quest_attend(kv, q, sel_pages, sel_count, max_pages, sm_scale, out, workspace, workspace_bytes, stream);
}

} /* extern "C" */

#endif /* !__CUDACC_RTC__ */

/* vx_mla_launch.cuh - host side of MLA decode, shared by libvortexrt and
 * generated launchers: which partial kernel a launch uses (wgmma,
 * vx_mla_wgmma.cuh, or mma.sync, vx_mla.cuh), its split plan and where the
 * chunks merge (the wgmma kernel's clusters, or vx_decode_merge_kernel),
 * then the launches. */
#ifndef VX_MLA_LAUNCH_CUH
#define VX_MLA_LAUNCH_CUH

#ifndef VX_MLA_WGMMA_CUH /* already pasted in: no include path needed */
#include "vx_mla_wgmma.cuh"
#endif

#ifndef __CUDACC_RTC__
#include <cstring>
#include <cuda.h> /* CUtensorMap and its enums only: the encoder comes through the runtime */
#if VX_MLA_WG_TRACE || VX_MLA_PLAN_LOG
#include <cstdio>
#endif
/* wgmma (vx_mla_wgmma.cuh) on compute capability 9.0 when the latent widths
 * are multiples of 64; the mma.sync kernel elsewhere and in tuning builds
 * with -DVX_MLA_WGMMA=0. The code must be built for sm_90a (as every build
 * here is): a plain sm_90 build has no wgmma and its kernel traps. */
#ifndef VX_MLA_WGMMA
#define VX_MLA_WGMMA 1
#endif
/* Tuning builds: -DVX_MLA_CLUSTER=0 merges split rows in vx_decode_merge_kernel
 * only (as before run 49). */
#ifndef VX_MLA_CLUSTER
#define VX_MLA_CLUSTER 1
#endif

/* Tuning builds: -DVX_MLA_WG_PAIR=0 never runs two blocks per SM;
 * VX_MLA_WG_PAIR_TOKENS is the chunk length from which they do (run 53, GLM:
 * two per SM took 14-22% less time on chunks of 1024+ tokens, the same on
 * 512, 4-22% more on 128-256). */
#ifndef VX_MLA_WG_PAIR
#define VX_MLA_WG_PAIR 1
#endif
#ifndef VX_MLA_WG_PAIR_TOKENS
#define VX_MLA_WG_PAIR_TOKENS 768
#endif
/* Tuning builds: -DVX_MLA_WG_SHRINK=1 gives a row one chunk fewer (at most
 * one more page a chunk) when clusters of the planned count do not fit but
 * clusters of the smaller one do: one more tile a block instead of the
 * merge kernel and the partials' round trip (GLM B16 on the H200: 8 chunks,
 * 15 clusters of 8 resident for 16 rows). */
#ifndef VX_MLA_WG_SHRINK
#define VX_MLA_WG_SHRINK 0
#endif
/* Tuning builds: -DVX_MLA_PLAN_LOG=1 prints each wgmma plan to stderr (rows,
 * chunks, pages a chunk, paired, merged in clusters), so a variant's log
 * shows whether a switch such as VX_MLA_WG_SHRINK applied on that device. */
#ifndef VX_MLA_PLAN_LOG
#define VX_MLA_PLAN_LOG 0
#endif

/* Tuning builds: -DVX_MLA_WG_TMA=1 lands the wgmma kernel's tiles by TMA
 * wherever the pool's layout allows a tensor map (vx_mla_tmap_encode);
 * otherwise (the default) every thread copies its rows with cp.async. */
#ifndef VX_MLA_WG_TMA
#define VX_MLA_WG_TMA 0
#endif

/* The latent pool as a 3-D tensor map [pages][page tokens][D] with boxes of
 * 64 columns x min(page size, 64) tokens in the 128-byte swizzle the wgmma
 * kernel reads. False (use cp.async) where TMA cannot express the layout or
 * would need more than four boxes a column block: pages of fewer than 16
 * tokens or sizes that neither divide nor are multiples of 64, strides or a
 * base not 16-byte aligned, or no driver entry point. Host-side, legal
 * during stream capture. */
static inline bool vx_mla_tmap_encode(vx_tmap *out, const vx_paged_kv &kv, int d) {
  const int ps = kv.page_size;
  if (VX_MLA_WG_PROBE != 0 || ps < 16 || (ps % 64 != 0 && 64 % ps != 0)) return false;
  const long long es = 2; /* bf16 / f16 */
  if ((kv.stride_token * es) % 16 != 0 || (kv.stride_page * es) % 16 != 0 || kv.stride_token < d ||
      reinterpret_cast<unsigned long long>(kv.k_pool) % 16 != 0)
    return false;
  typedef CUresult (*encode_fn)(CUtensorMap *, CUtensorMapDataType, cuuint32_t, void *, const cuuint64_t *,
                                const cuuint64_t *, const cuuint32_t *, const cuuint32_t *, CUtensorMapInterleave,
                                CUtensorMapSwizzle, CUtensorMapL2promotion, CUtensorMapFloatOOBfill);
  void *fn = nullptr;
  cudaDriverEntryPointQueryResult found = cudaDriverEntryPointSymbolNotFound;
#if CUDART_VERSION >= 12050
  const cudaError_t e = cudaGetDriverEntryPointByVersion("cuTensorMapEncodeTiled", &fn, 12000, cudaEnableDefault, &found);
#else
  const cudaError_t e = cudaGetDriverEntryPoint("cuTensorMapEncodeTiled", &fn, cudaEnableDefault, &found);
#endif
  if (e != cudaSuccess || found != cudaDriverEntryPointSuccess || fn == nullptr) {
    (void)cudaGetLastError(); /* a failed query must not look like a failed launch */
    return false;
  }
  const cuuint64_t dims[3] = {(cuuint64_t)d, (cuuint64_t)ps, (cuuint64_t)(kv.num_pages > 0 ? kv.num_pages : 0x7fffffffLL)};
  const cuuint64_t strides[2] = {(cuuint64_t)(kv.stride_token * es), (cuuint64_t)(kv.stride_page * es)};
  const cuuint32_t box[3] = {64u, (cuuint32_t)(ps < 64 ? ps : 64), 1u}, unit[3] = {1u, 1u, 1u};
  CUtensorMap map;
  const CUresult r = reinterpret_cast<encode_fn>(fn)(
      &map, kv.dtype == VX_DTYPE_F16 ? CU_TENSOR_MAP_DATA_TYPE_FLOAT16 : CU_TENSOR_MAP_DATA_TYPE_BFLOAT16, 3,
      const_cast<void *>(kv.k_pool), dims, strides, box, unit, CU_TENSOR_MAP_INTERLEAVE_NONE, CU_TENSOR_MAP_SWIZZLE_128B,
      CU_TENSOR_MAP_L2_PROMOTION_L2_256B, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
  static_assert(sizeof(CUtensorMap) == sizeof(vx_tmap), "vx_tmap mirrors CUtensorMap");
  if (r != CUDA_SUCCESS) return false;
  memcpy(out, &map, sizeof map);
  return true;
}

struct vx_mla_choice {
  vx_decode_plan plan;
  bool wgmma;
  bool pair; /* wgmma: the one-tile-ring kernel, two blocks per SM */
  /* wgmma: the partial kernel writes the output, merging a row's chunks in
   * a cluster of that many blocks (none for one chunk); no merge kernel */
  bool merge_in_kernel;
};

/* Whether clusters of `cluster` blocks of a wgmma launch of `blocks` blocks
 * need no more waves than loose blocks (capacity `capacity`): the GPCs'
 * sizes can leave SMs that no whole cluster fits on (H200: 15 clusters of
 * 8, RESULTS.md run 52). */
template <typename T, int HEADS, int DC, int DR, bool PAIR>
static inline bool vx_mla_clusters_fit(int cluster, long long blocks, int capacity) {
  cudaLaunchAttribute attr = vx_cluster_attr((unsigned)cluster);
  cudaLaunchConfig_t cfg = {};
  cfg.gridDim = dim3((unsigned)cluster);
  cfg.blockDim = dim3(VX_MLA_WG_THREADS);
  cfg.dynamicSmemBytes = vx_mla_wg_smem_bytes<HEADS, DC, DR, PAIR>();
  cfg.attrs = &attr;
  cfg.numAttrs = 1;
  int clusters = 0;
  if (capacity < 1 ||
      cudaOccupancyMaxActiveClusters(&clusters, vx_mla_decode_partial_wgmma_kernel<T, HEADS, DC, DR, PAIR>, &cfg) !=
          cudaSuccess) {
    (void)cudaGetLastError(); /* a failed query must not look like a failed launch */
    return false;
  }
  const long long cap = (long long)clusters * cluster;
#if VX_MLA_WG_TRACE /* trace builds merge in clusters whatever the fit: the marks need it */
  static int reported = 0; /* tuning builds only */
  if (reported++ < 4)
    fprintf(stderr, "vx_mla trace: clusters of %d: %d resident (%lld blocks), %lld blocks launched, %d loose\n", cluster,
            clusters, cap, blocks, capacity);
  return true;
#endif
  return cap > 0 && (blocks + cap - 1) / cap <= (blocks + capacity - 1) / capacity;
}

static inline bool vx_device_is_sm90() {
  int major, minor;
  vx_device_cc(&major, &minor);
  return major == 9 && minor == 0;
}

/* The wgmma kernel's plan: one block per SM with the full ring, or two per
 * SM (PAIR) when that split's chunks are long (>= VX_MLA_WG_PAIR_TOKENS);
 * then whether the chunks merge in clusters. */
template <typename T, int HEADS, int DC, int DR>
static inline void vx_mla_choose_wgmma(vx_mla_choice *c, long long rows, int max_pages, int page_size) {
  const int cap = vx_prepare_kernel(reinterpret_cast<const void *>(vx_mla_decode_partial_wgmma_kernel<T, HEADS, DC, DR, false>),
                                    VX_MLA_WG_THREADS, vx_mla_wg_smem_bytes<HEADS, DC, DR, false>());
  int capacity = cap;
  c->plan = vx_make_decode_plan(rows, max_pages, cap);
  c->pair = false;
  if constexpr (VX_MLA_WG_PAIR && vx_mla_wg_pair_fits<HEADS, DC, DR>()) {
    const int cap2 =
        vx_prepare_kernel(reinterpret_cast<const void *>(vx_mla_decode_partial_wgmma_kernel<T, HEADS, DC, DR, true>),
                          VX_MLA_WG_THREADS, vx_mla_wg_smem_bytes<HEADS, DC, DR, true>());
    const vx_decode_plan p2 = vx_make_decode_plan(rows, max_pages, cap2);
    if (cap2 > cap && (long long)p2.chunk_pages * page_size >= VX_MLA_WG_PAIR_TOKENS) {
      c->plan = p2;
      c->pair = true;
      capacity = cap2;
    }
  }
  const int n = c->plan.num_chunks;
  const long long blocks = rows * n;
  bool fit = false;
  if (VX_MLA_CLUSTER && n > 1 && n <= VX_MLA_WG_MAX_CLUSTER) {
    if (!c->pair)
      fit = vx_mla_clusters_fit<T, HEADS, DC, DR, false>(n, blocks, capacity);
    else if constexpr (vx_mla_wg_pair_fits<HEADS, DC, DR>()) /* no PAIR kernel where two blocks cannot share an SM */
      fit = vx_mla_clusters_fit<T, HEADS, DC, DR, true>(n, blocks, capacity);
  }
  if (VX_MLA_WG_SHRINK && VX_MLA_CLUSTER && !fit && !c->pair && n > 2 && n <= VX_MLA_WG_MAX_CLUSTER) {
    const int per = (max_pages + n - 2) / (n - 1), fewer = (max_pages + per - 1) / per;
    if (per <= c->plan.chunk_pages + 1 && fewer > 1 &&
        vx_mla_clusters_fit<T, HEADS, DC, DR, false>(fewer, rows * fewer, capacity)) {
      c->plan.chunk_pages = per;
      c->plan.num_chunks = fewer;
      fit = true;
    }
  }
  c->merge_in_kernel = c->plan.num_chunks == 1 || fit;
#if VX_MLA_PLAN_LOG
  fprintf(stderr, "vx_mla plan: heads %d rows %lld max_pages %d -> chunks %d x %d pages, pair %d, cluster merge %d\n", HEADS,
          rows, max_pages, c->plan.num_chunks, c->plan.chunk_pages, (int)c->pair, (int)(fit && c->plan.num_chunks > 1));
#endif
}

/* Kernel (wgmma on compute capability 9.0, else mma.sync) and split plan
 * over (request, head group) rows so the blocks fill the device. */
template <typename T, int HEADS, int DC, int DR>
static inline vx_mla_choice vx_mla_choose(long long batch, int max_pages, int page_size) {
  const long long rows = batch * vx_mla_head_groups<HEADS>();
  vx_mla_choice c;
  c.wgmma = false;
  c.pair = false;
  c.merge_in_kernel = false;
  if constexpr (VX_MLA_WGMMA && vx_mla_wg_supported<DC, DR>()) {
    if (vx_device_is_sm90()) {
      c.wgmma = true;
      vx_mla_choose_wgmma<T, HEADS, DC, DR>(&c, rows, max_pages, page_size);
      return c;
    }
  }
  const int cap = vx_prepare_kernel(reinterpret_cast<const void *>(vx_mla_decode_partial_mma_kernel<T, HEADS, DC, DR>),
                                    VX_MLA_THREADS, vx_mla_smem_bytes<HEADS, DC, DR>());
  c.plan = vx_make_decode_plan(rows, max_pages, cap);
  return c;
}

/* The wgmma partial kernel, with TMA copies or cp.async. The TMA
 * instantiation's shared-memory limit is raised here: vx_mla_choose
 * prepared only the cp.async one (same size, same capacity). Builds
 * without VX_MLA_WG_TMA do not instantiate it (less to compile, for NVRTC
 * and nvcc alike). */
template <typename T, int HEADS, int DC, int DR, bool PAIR>
static inline void vx_mla_launch_wgmma(bool tma, unsigned cluster, dim3 grid, const vx_decode_args &a, const vx_tmap &tm,
                                       cudaStream_t s) {
  const int smem = vx_mla_wg_smem_bytes<HEADS, DC, DR, PAIR>();
  if constexpr (VX_MLA_WG_TMA) {
    if (tma) {
      (void)cudaFuncSetAttribute(reinterpret_cast<const void *>(vx_mla_decode_partial_wgmma_kernel<T, HEADS, DC, DR, PAIR, true>),
                                 cudaFuncAttributeMaxDynamicSharedMemorySize, smem);
      vx_launch_clustered(cluster, vx_mla_decode_partial_wgmma_kernel<T, HEADS, DC, DR, PAIR, true>, grid,
                          dim3(VX_MLA_WG_THREADS), smem, s, a, tm);
      return;
    }
  }
  (void)tma;
  vx_launch_clustered(cluster, vx_mla_decode_partial_wgmma_kernel<T, HEADS, DC, DR, PAIR, false>, grid,
                      dim3(VX_MLA_WG_THREADS), smem, s, a, tm);
}

/* The partial kernel of a choice (a.num_chunks, ws_o and ws_lse set from its
 * plan), then, unless the partial kernel merges, the merge of the chunks. */
template <typename T, int HEADS, int DC, int DR>
static inline void vx_mla_launch(const vx_decode_args &a, const vx_mla_choice &c, cudaStream_t s) {
  const dim3 grid((unsigned)((long long)a.kv.batch * a.num_chunks * vx_mla_head_groups<HEADS>()));
  bool launched = false;
  if constexpr (VX_MLA_WGMMA && vx_mla_wg_supported<DC, DR>()) {
    if (c.wgmma) {
      /* the kernel merges when its cluster is the row's chunks (one chunk: no cluster) */
      const unsigned cluster = c.merge_in_kernel ? (unsigned)a.num_chunks : 1u;
      vx_tmap tm;
      memset(&tm, 0, sizeof tm);
      const bool tma = VX_MLA_WG_TMA && vx_mla_tmap_encode(&tm, a.kv, DC + DR);
      bool paired = false;
      if constexpr (vx_mla_wg_pair_fits<HEADS, DC, DR>()) {
        if (c.pair) {
          vx_mla_launch_wgmma<T, HEADS, DC, DR, true>(tma, cluster, grid, a, tm, s);
          paired = true;
        }
      }
      if (!paired) vx_mla_launch_wgmma<T, HEADS, DC, DR, false>(tma, cluster, grid, a, tm, s);
      if (c.merge_in_kernel) return;
      launched = true;
    }
  }
  if (!launched)
    vx_launch(vx_mla_decode_partial_mma_kernel<T, HEADS, DC, DR>, grid, dim3(VX_MLA_THREADS), vx_mla_smem_bytes<HEADS, DC, DR>(),
              s, a);
  vx_decode_merge_launch<T, DC>(a, HEADS, s); /* a.num_qo_heads == HEADS */
}
#endif /* !__CUDACC_RTC__ */

#endif /* VX_MLA_LAUNCH_CUH */

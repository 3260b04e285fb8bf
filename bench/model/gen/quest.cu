/* quest.cu - CUDA kernels vortexc generated for algorithm `quest`.
 * Generated file: edit the .vtx source instead. C ABI: quest.h.
 * Geometry: GQA, head dim 128, group 2, page size 16, KV bf16.
 * Stands alone: the runtime device headers it needs are pasted below, so it
 * builds with nvcc or NVRTC and the CUDA toolkit headers only. */

#pragma nv_diag_suppress 177

/* ======== runtime/device/vx_common.cuh (verbatim) ======== */
/* vx_common.cuh - shared helpers for the vortexc device headers.
 *
 * Everything here must compile under both nvcc and NVRTC. NVRTC ships no C
 * library headers, so fixed-width types are spelled with built-in types
 * (int is 32-bit and long long is 64-bit on every CUDA target) and only the
 * toolkit's cuda_bf16.h / cuda_fp16.h are included; NVRTC needs the toolkit
 * include directory on its search path for those. The code generator pastes
 * these headers verbatim into each generated translation unit, so every name
 * carries the vx_ prefix and every function is inline or a template. */
#ifndef VX_COMMON_CUH
#define VX_COMMON_CUH

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#define VX_INLINE __device__ __forceinline__

/* log2(e): attention works in the exp2 domain because exp2f maps to one
 * MUFU instruction while expf needs an extra multiply. */
#define VX_LOG2E 1.4426950408889634f
#define VX_NEG_INF (-__int_as_float(0x7f800000))

/* Eight 16-bit elements travel as one 16-byte vector: the widest load a
 * thread can issue, which is what keeps the decode kernels at bandwidth. */
typedef uint4 vx_vec16;

/* Element type traits. Only the two 16-bit float formats engines store KV in
 * today; both unpack to f32 for accumulation. */
template <typename T> struct vx_elem;

template <> struct vx_elem<__nv_bfloat16> {
  /* bf16 is the upper half of an f32, so unpacking is a shift or a mask:
   * cheaper than the conversion intrinsic and exact. */
  static VX_INLINE void unpack2(unsigned int w, float &lo, float &hi) {
    lo = __uint_as_float(w << 16);
    hi = __uint_as_float(w & 0xffff0000u);
  }
  static VX_INLINE float to_float(__nv_bfloat16 x) { return __bfloat162float(x); }
  static VX_INLINE __nv_bfloat16 from_float(float x) { return __float2bfloat16_rn(x); }
};

template <> struct vx_elem<__half> {
  static VX_INLINE void unpack2(unsigned int w, float &lo, float &hi) {
    __half2 h = *reinterpret_cast<__half2 *>(&w);
    float2 f = __half22float2(h);
    lo = f.x;
    hi = f.y;
  }
  static VX_INLINE float to_float(__half x) { return __half2float(x); }
  static VX_INLINE __half from_float(float x) { return __float2half_rn(x); }
};

/* Unpack one 16-byte vector (8 elements) into f32. */
template <typename T> VX_INLINE void vx_unpack8(const vx_vec16 &v, float out[8]) {
  vx_elem<T>::unpack2(v.x, out[0], out[1]);
  vx_elem<T>::unpack2(v.y, out[2], out[3]);
  vx_elem<T>::unpack2(v.z, out[4], out[5]);
  vx_elem<T>::unpack2(v.w, out[6], out[7]);
}

/* KV is read exactly once per decode step: the streaming hint keeps it from
 * evicting the query, page table and partial results from L2. */
VX_INLINE vx_vec16 vx_load_stream16(const void *p) {
  return __ldcs(reinterpret_cast<const vx_vec16 *>(p));
}

/* Asynchronous global->shared copies (sm_80+). They let a warp keep several
 * iterations of K/V in flight without holding them in registers, which is
 * what a bandwidth-bound decode kernel needs: bytes in flight, not threads.
 * pred = false copies nothing and zero-fills the 16 bytes (padding tokens). */
VX_INLINE void vx_cp_async16(void *smem, const void *gmem, bool pred) {
  const unsigned int dst = (unsigned int)__cvta_generic_to_shared(smem);
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst), "l"(gmem), "r"(pred ? 16 : 0) : "memory");
}
/* Asks L2 for the 128-byte line holding p and goes on: a load issued later
 * then hits L2 instead of queueing in DRAM behind earlier traffic. */
VX_INLINE void vx_prefetch_l2(const void *p) { asm volatile("prefetch.global.L2 [%0];\n" ::"l"(p)); }
VX_INLINE void vx_cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::: "memory"); }
/* Wait until at most N of this thread's committed groups are still pending. */
template <int N> VX_INLINE void vx_cp_async_wait() { asm volatile("cp.async.wait_group %0;\n" ::"n"(N) : "memory"); }

VX_INLINE float vx_warp_sum(float x) {
  for (int o = 16; o > 0; o >>= 1) x += __shfl_xor_sync(0xffffffffu, x, o);
  return x;
}

VX_INLINE float vx_warp_max(float x) {
  for (int o = 16; o > 0; o >>= 1) x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, o));
  return x;
}

/* Tuning traces (-DVX_MLA_WG_TRACE=1, -DVX_DECODE_TRACE=1): thread 0 of a
 * block writes %globaltimer (ns) as mark i to ws[block * 8 + i] (u64), for
 * `vortex-bench --trace`, which prints where each block's phases ended. A
 * kernel marks only where its workspace is otherwise unused. */
VX_INLINE void vx_trace_put(void *ws, int i, unsigned long long v) {
  reinterpret_cast<unsigned long long *>(ws)[(long long)blockIdx.x * 8 + i] = v;
}
VX_INLINE void vx_trace_mark(void *ws, int i) {
  if (threadIdx.x == 0) {
    unsigned long long t;
    asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
    vx_trace_put(ws, i, t);
  }
}

/* Trace builds: the SM a block runs on, in its record's slot i, so that a
 * block's times can be told apart by where it ran. */
VX_INLINE void vx_trace_smid(void *ws, int i) {
  if (threadIdx.x == 0) {
    unsigned sm;
    asm volatile("mov.u32 %0, %%smid;" : "=r"(sm));
    vx_trace_put(ws, i, sm);
  }
}

/* ---- programmatic dependent launch (sm_90+) ----
 * A decode step is a chain of short kernels (score -> select -> attention
 * -> merge); between two of them the GPU drains one grid, then launches and
 * schedules the next, microseconds each. Launched through vx_launch (below),
 * a kernel's blocks are scheduled while its predecessor still runs. Every
 * kernel launched that way calls vx_pdl_enter() before it reads or writes
 * global memory: griddepcontrol.wait returns once the predecessor grid has
 * completed and its writes are visible (so no kernel ever reads what an
 * unfinished grid writes, whoever launched that grid), then
 * launch_dependents lets the successor's blocks be scheduled as SMs free
 * up. Both are no-ops for a kernel launched without the attribute, and
 * compile to nothing before sm_90. */
VX_INLINE void vx_pdl_enter() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.wait;\n" ::: "memory");
  asm volatile("griddepcontrol.launch_dependents;\n" ::: "memory");
#endif
}

#ifndef __CUDACC_RTC__
/* Tuning builds: -DVX_PDL=0 launches everything without the attribute. */
#ifndef VX_PDL
#define VX_PDL 1
#endif
/* Blocks of `kernel` the current device runs at once (SMs x resident blocks
 * per SM); 0 if unknown, which the decode plan reads as an H100/H200.
 * Host-side queries only: legal during stream capture. */
static inline int vx_capacity(const void *kernel, int threads, int smem) {
  int dev = 0, sms = 0, per_sm = 0;
  if (cudaGetDevice(&dev) != cudaSuccess || cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev) != cudaSuccess ||
      cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, kernel, threads, (size_t)smem) != cudaSuccess) {
    (void)cudaGetLastError(); /* a failed query must not look like a failed launch */
    return 0;
  }
  return sms * per_sm;
}

/* Sets a kernel's dynamic shared memory limit (host-side, capturable,
 * idempotent; if it fails, the launch fails and reports it) and returns
 * vx_capacity for that size: what every launcher's planning step needs. */
static inline int vx_prepare_kernel(const void *kernel, int threads, int smem) {
  (void)cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, smem);
  return vx_capacity(kernel, threads, smem);
}

/* The launch attribute grouping blocks in clusters of x along x. */
static inline cudaLaunchAttribute vx_cluster_attr(unsigned x) {
  cudaLaunchAttribute attr;
  attr.id = cudaLaunchAttributeClusterDimension;
  attr.val.clusterDim.x = x;
  attr.val.clusterDim.y = 1;
  attr.val.clusterDim.z = 1;
  return attr;
}

/* Compute capability of the current device (minor only when asked for:
 * vx_launch needs just the major); 0 and 0 if a query fails. Host-side,
 * legal during stream capture. */
static inline void vx_device_cc(int *major, int *minor) {
  int dev = 0;
  *major = 0;
  if (minor) *minor = 0;
  if (cudaGetDevice(&dev) != cudaSuccess || cudaDeviceGetAttribute(major, cudaDevAttrComputeCapabilityMajor, dev) != cudaSuccess ||
      (minor && cudaDeviceGetAttribute(minor, cudaDevAttrComputeCapabilityMinor, dev) != cudaSuccess)) {
    (void)cudaGetLastError(); /* a failed query must not look like a failed launch */
    *major = 0;
    if (minor) *minor = 0;
  }
}

/* Launches kernel (which must start with vx_pdl_enter()) with programmatic
 * stream serialization where the device has it (compute capability >= 9),
 * a plain launch elsewhere. The attribute is legal during stream capture:
 * the graph keeps a programmatic edge. Returns the launch status, which
 * cudaGetLastError also reports, as for <<<>>>. With
 * cluster > 1 the blocks run in clusters of that many along x. */
template <typename... Params, typename... Args>
static inline cudaError_t vx_launch_clustered(unsigned cluster, void (*kernel)(Params...), dim3 grid, dim3 block,
                                              size_t smem, cudaStream_t stream, Args... args) {
  int major;
  vx_device_cc(&major, NULL);
  cudaLaunchAttribute attr[2];
  unsigned n = 0;
  if (VX_PDL && major >= 9) {
    attr[n].id = cudaLaunchAttributeProgrammaticStreamSerialization;
    attr[n++].val.programmaticStreamSerializationAllowed = 1;
  }
  if (cluster > 1) attr[n++] = vx_cluster_attr(cluster);
  cudaLaunchConfig_t cfg = {};
  cfg.gridDim = grid;
  cfg.blockDim = block;
  cfg.dynamicSmemBytes = smem;
  cfg.stream = stream;
  cfg.attrs = attr;
  cfg.numAttrs = n;
  return cudaLaunchKernelEx(&cfg, kernel, args...);
}

/* vx_launch_clustered without clusters. */
template <typename... Params, typename... Args>
static inline cudaError_t vx_launch(void (*kernel)(Params...), dim3 grid, dim3 block, size_t smem,
                                    cudaStream_t stream, Args... args) {
  return vx_launch_clustered(1u, kernel, grid, block, smem, stream, args...);
}
#endif /* !__CUDACC_RTC__ */

/* ---- tensor cores: mma.sync m16n8k16 (f32 accumulate) and ldmatrix, shared
 * by the GQA and MLA decode kernels and the generated index kernels ---- */
template <typename T> struct vx_mma_op;
template <> struct vx_mma_op<__nv_bfloat16> {
  /* D += A B over all 16 rows of A (a[1], a[3]: rows 8-15). */
  static VX_INLINE void run_m16(float c[4], const unsigned a[4], unsigned b0, unsigned b1) {
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
                 "{%0,%1,%2,%3};\n"
                 : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
  }
  static VX_INLINE unsigned pack(float lo, float hi) {
    __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);
    return *reinterpret_cast<unsigned *>(&v);
  }
};
template <> struct vx_mma_op<__half> {
  static VX_INLINE void run_m16(float c[4], const unsigned a[4], unsigned b0, unsigned b1) {
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
                 "{%0,%1,%2,%3};\n"
                 : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
  }
  static VX_INLINE unsigned pack(float lo, float hi) {
    __half2 v = __floats2half2_rn(lo, hi);
    return *reinterpret_cast<unsigned *>(&v);
  }
};
/* Rows 0-7 of A only (rows 8-15 zero): the GQA decode kernel's query group. */
template <typename T> VX_INLINE void vx_mma_rows8(float c[4], unsigned a0, unsigned a2, unsigned b0, unsigned b1) {
  const unsigned a[4] = {a0, 0u, a2, 0u};
  vx_mma_op<T>::run_m16(c, a, b0, b1);
}
VX_INLINE void vx_ldmatrix_x4(unsigned r[4], const void *smem) {
  const unsigned a = (unsigned)__cvta_generic_to_shared(smem);
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(a));
}
VX_INLINE void vx_ldmatrix_x4_trans(unsigned r[4], const void *smem) {
  const unsigned a = (unsigned)__cvta_generic_to_shared(smem);
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(a));
}

#endif /* VX_COMMON_CUH */

/* ======== runtime/device/vx_page_table.cuh (verbatim) ======== */
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
/* #include "vx_common.cuh": pasted above */
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

/* ======== runtime/device/vx_plan.h (verbatim) ======== */
/* vx_plan.h - split-KV work planning shared by host and device code.
 *
 * The host launcher (C, libvortexrt), generated launchers (CUDA C) and the
 * kernels must agree on how a row's pages are cut into chunks, otherwise the
 * merge step would read partial results nobody wrote. Keeping the rule in one
 * header that is valid C17, nvcc and NVRTC input makes that agreement
 * structural. The rule depends only on shapes the host knows without a device
 * sync (never on page-table contents), so a launch stays graph-capturable. */
#ifndef VX_PLAN_H
#define VX_PLAN_H

/* C++ inline functions need no `static` (and an unused static one draws a
 * warning from NVRTC); C17 inline does, to avoid external definitions. */
#if defined(__CUDACC__) || defined(__CUDACC_RTC__)
#define VX_PLAN_FN __host__ __device__ inline
#define VX_HOST_DEVICE_CONSTEXPR_FN __host__ __device__ constexpr
#else
#define VX_PLAN_FN static inline
#endif

/* Upper bound of the blocks a launch may use (a few waves on the largest
 * current GPUs); bounds the workspace independently of the device. */
#define VX_PLAN_MAX_BLOCKS 4096
/* Below this a chunk's fixed costs (query load, page-table reads, pipeline
 * ramp, cross-warp merge, partial write) stop being small next to its KV. */
#define VX_PLAN_MIN_CHUNK_PAGES 4
/* Bounds the partial-result workspace even for absurd page counts. */
#define VX_PLAN_MAX_CHUNKS 64
/* Capacity assumed when the caller does not know the device (132 SMs x 2). */
#define VX_PLAN_DEFAULT_CAPACITY 264
/* Full waves a split must give at least (tuning builds: -DVX_PLAN_MIN_WAVES=1).
 * 0: a single wave >= 90% full is enough. Measured on the H200 (RESULTS.md
 * run 23): requiring one full wave split batch 32 (256 rows, 264 slots) in
 * two chunks and batch 16 in four, and each extra wave costs the whole GPU
 * a block start-up (selection -> page table -> first tiles) plus the merge
 * kernel: sparse attention 11-14% slower at batch 16 and 32. */
#ifndef VX_PLAN_MIN_WAVES
#define VX_PLAN_MIN_WAVES 0
#endif

typedef struct vx_decode_plan {
  int num_chunks;  /* chunks per row; the last one also takes any overflow */
  int chunk_pages; /* pages per chunk */
} vx_decode_plan;

/* Most chunks a row may be split into: what the workspace is sized for. */
VX_PLAN_FN int vx_decode_max_chunks(long long rows, int max_pages) {
  long long c;
  if (max_pages < 1) max_pages = 1;
  if (rows < 1) rows = 1;
  c = (max_pages + VX_PLAN_MIN_CHUNK_PAGES - 1) / VX_PLAN_MIN_CHUNK_PAGES;
  if (c > (VX_PLAN_MAX_BLOCKS + rows - 1) / rows) c = (VX_PLAN_MAX_BLOCKS + rows - 1) / rows;
  if (c > VX_PLAN_MAX_CHUNKS) c = VX_PLAN_MAX_CHUNKS;
  return c < 1 ? 1 : (int)c;
}

/* rows = batch * kv_heads (or batch for MLA); max_pages = an upper bound of
 * the pages any row attends (selected pages for sparse decode); capacity =
 * blocks the device runs at once (SMs x resident blocks per SM; <= 0 for
 * the default). Picks the fewest chunks whose last wave of blocks is >= 90%
 * full (and that give at least VX_PLAN_MIN_WAVES full waves), so every SM
 * streams, equal-length rows finish together and no more block start-ups
 * and merges are paid than needed; if none does, the best-filled split
 * among those allowed. */
VX_PLAN_FN vx_decode_plan vx_make_decode_plan(long long rows, int max_pages, int capacity) {
  vx_decode_plan p;
  int c, best = 1, maxc;
  long long best_num = 0, best_den = 1;
  if (max_pages < 1) max_pages = 1;
  if (rows < 1) rows = 1;
  if (capacity < 1) capacity = VX_PLAN_DEFAULT_CAPACITY;
  maxc = vx_decode_max_chunks(rows, max_pages);
  for (c = 1; c <= maxc; ++c) {
    /* c chunks of ceil(pages / c) pages may need fewer than c (32 pages in
     * 15 chunks of 3 are 11): judge the split by the chunks it really has */
    const int per = (max_pages + c - 1) / c;
    const long long blocks = rows * ((max_pages + per - 1) / per);
    const long long slots = (blocks + capacity - 1) / capacity * capacity;
    if (blocks < (long long)VX_PLAN_MIN_WAVES * capacity && c < maxc) continue;
    if (blocks * 10 >= slots * 9) {
      best = c;
      break;
    }
    if (blocks * best_den > best_num * slots) { /* better fill than the best so far */
      best = c;
      best_num = blocks;
      best_den = slots;
    }
  }
  p.chunk_pages = (max_pages + best - 1) / best;
  /* ceil(max_pages / best) pages per chunk can leave the last of `best`
   * chunks empty (128 pages in 17 chunks of 8): drop it */
  p.num_chunks = (max_pages + p.chunk_pages - 1) / p.chunk_pages;
  return p;
}

/* Workspace: per (row, chunk, query head of the group) -- a slot -- one f32
 * partial output of out_dim values, then, 256-byte aligned, one f32
 * log-sum-exp per slot. Byte offset of the LSE array: */
VX_PLAN_FN unsigned long long vx_decode_lse_offset(unsigned long long slots, int out_dim) {
  return (slots * (unsigned long long)out_dim * 4ull + 255ull) & ~255ull;
}

VX_PLAN_FN unsigned long long vx_decode_workspace_bytes(long long rows, int group,
                                                                          int out_dim, int num_chunks) {
  unsigned long long slots = (unsigned long long)rows * (unsigned long long)num_chunks *
                             (unsigned long long)group;
  return vx_decode_lse_offset(slots, out_dim) + slots * 4ull;
}

#endif /* VX_PLAN_H */

/* ======== runtime/device/vx_topk.cuh (verbatim) ======== */
/* vx_topk.cuh - exact, deterministic page selection, one thread block per row.
 *
 * A row is one (request, kv head). Row r scores its n logical pages; the
 * selection always keeps pages [0, keep_first) and [n - keep_last, n) (the
 * attention sinks and the recent window), then adds the `budget` best of the
 * remaining "middle" pages. Output: selected LOGICAL page indices, ascending,
 * and their count. The CPU IR interpreter implements the same rules:
 *   kf = min(keep_first, n), kl = min(keep_last, n - kf), m = n - kf - kl,
 *   k = clamp(budget, 0, m); if budget + kf + kl >= n every page is selected;
 *   order: higher score first, ties -> lower page index, NaN below -inf.
 *
 * Why radix select and not a sort: only the k-th largest key is needed. Each
 * pass histograms one 8-bit digit of a key of up to 64 bits (the bits of the
 * order-preserving uint32 of the score that vary within the row, then the
 * complemented page index so equal scores order by index) and narrows to
 * the bin that holds the k-th key. Keys are unique, so the
 * threshold is exact and the result deterministic (no atomic-arrival order
 * leaks into the output). Scores are re-read from global memory per pass:
 * a row is at most a few hundred KB and stays in L2. */
#ifndef VX_TOPK_CUH
#define VX_TOPK_CUH

#ifndef VX_PAGE_TABLE_CUH /* already pasted in: no include path needed */
/* #include "vx_page_table.cuh": pasted above */
#endif

#define VX_TOPK_THREADS 512
#define VX_TOPK_WARPS (VX_TOPK_THREADS / 32)

/* Rows of up to THREADS * VX_TOPK_CACHE pages (128K tokens at page 16 in a
 * 512-thread block) keep their score keys in registers (index tid + c *
 * THREADS in slot c), so the radix passes touch global memory once instead
 * of once per pass: the passes are latency-bound, not bandwidth-bound.
 * Longer rows re-read from L2. */
#define VX_TOPK_CACHE 16

/* Cached rows: once a radix pass has narrowed the candidates (the keys in
 * the bin of the k-th) to at most this many, they are copied to shared
 * memory and the later passes histogram that list instead of re-testing
 * every cached key: ncu (H100, block_topk B16 x 128K, 8192 pages a row)
 * found the select issue-bound on those per-key tests, not on the atomics.
 * 0 keeps every pass on the registers (tuning builds, A/B). */
#ifndef VX_TOPK_LIST
#define VX_TOPK_LIST 1024
#endif

/* Radix histograms, three copies (pass p counts into hist[p % 3] and
 * zeroes hist[(p + 1) % 3]): every warp scans the histogram itself after
 * the pass's one barrier, and the copy a pass zeroes was last read two
 * passes ago, before the previous pass's barrier. Compaction counts are
 * double-buffered (step parity) for the same reason, one barrier a step. */
struct vx_topk_smem {
  alignas(16) unsigned int hist[3][256]; /* read as uint4 by the scan */
  unsigned int warp_counts[2][VX_TOPK_WARPS];
  unsigned int vary_and[VX_TOPK_WARPS], vary_or[VX_TOPK_WARPS]; /* per-warp AND / OR of the score keys */
  unsigned int chunk_counts[VX_TOPK_CACHE * VX_TOPK_WARPS];   /* cached compaction, see vx_topk_row */
  unsigned int cand_score[VX_TOPK_LIST > 0 ? VX_TOPK_LIST : 1], cand_index[VX_TOPK_LIST > 0 ? VX_TOPK_LIST : 1]; /* cached rows' candidates, see vx_topk_row */
  unsigned int cand_fill;
};

/* Monotone map float -> uint32 (larger float, larger uint); every NaN maps
 * to 0 so it ranks below -inf. */
VX_INLINE unsigned int vx_score_key(float s) {
  unsigned int u = __float_as_uint(s);
  if (s != s) return 0u;
  return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

/* Full 64-bit rank key: score key, then the complemented page index (equal
 * scores: the lower page ranks higher). The generated mass select uses it. */
VX_INLINE unsigned long long vx_rank_key(float s, int page) {
  return ((unsigned long long)vx_score_key(s) << 32) | (unsigned long long)(~(unsigned int)page);
}

/* One step of an ascending compaction: every thread of the block passes
 * whether index i (= chunk start + tid) is kept; kept indices are written in
 * order after the `written` already emitted. Returns the chunk's count.
 * Steps alternate `parity`: step s + 2 rewrites the counts of step s only
 * after every thread passed step s + 1's barrier, i.e. finished reading. */
template <int THREADS>
__device__ inline int vx_compact_step(bool sel, int i, int written, int *out, int max_out, vx_topk_smem &sm,
                                      int parity) {
  static_assert(THREADS % 32 == 0 && THREADS / 32 <= VX_TOPK_WARPS, "warp_counts holds VX_TOPK_WARPS warps");
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const unsigned int ballot = __ballot_sync(0xffffffffu, sel);
  if (lane == 0) sm.warp_counts[parity][warp] = __popc(ballot);
  __syncthreads();
  int before = 0, total = 0;
  for (int w = 0; w < THREADS / 32; ++w) {
    const int c = (int)sm.warp_counts[parity][w];
    before += w < warp ? c : 0;
    total += c;
  }
  if (sel) {
    const int pos = written + before + __popc(ballot & ((1u << lane) - 1u));
    if (pos < max_out) out[pos] = i;
  }
  return total;
}

/* Writes the pages for which keep(i) holds, ascending, to out[0..max_out);
 * returns the count (possibly larger than max_out; nothing past max_out is
 * written). Ends with a barrier: sm is free again for the caller. */
template <int THREADS = VX_TOPK_THREADS, typename Pred>
__device__ int vx_compact_ascending(int n, Pred keep, int *out, int max_out, vx_topk_smem &sm) {
  int written = 0, parity = 0;
  for (int start = 0; start < n; start += THREADS, parity ^= 1) {
    const int i = start + threadIdx.x;
    written += vx_compact_step<THREADS>(i < n && keep(i), i, written, out, max_out, sm, parity);
  }
  __syncthreads();
  return written;
}

/* Order of middle page i: (score part, index part), compared as unsigned
 * pairs. The score part is the score key shifted left past the `lead` top
 * bits every middle page shares (scores of a row share sign and exponent),
 * the index part the complement of i (the lower page ranks higher on equal
 * scores) shifted left to drop bits that are 1 for every i < n. Both are
 * top-aligned, so the radix digits are their bytes from the top and the
 * first one already spreads the pages over many bins. 32-bit halves rather
 * than one 64-bit key: registers bound this kernel. */
struct vx_rank_code {
  int lead;        /* 32: every middle score is equal */
  int index_shift; /* 32 - bits of n - 1 */
  VX_INLINE unsigned int score(unsigned int key32) const { return lead < 32 ? key32 << lead : 0u; }
  VX_INLINE unsigned int index(int i) const { return ~(unsigned int)i << index_shift; }
};

/* Radix state: the digits fixed so far of both parts. A key is still a
 * candidate iff both masked parts equal the prefixes, and ranks at or above
 * the k-th iff its masked pair is >= the prefix pair. */
struct vx_rank_prefix {
  unsigned int score_mask, score_prefix, index_mask, index_prefix;
  VX_INLINE bool candidate(unsigned int s, unsigned int x) const {
    return (s & score_mask) == score_prefix && (x & index_mask) == index_prefix;
  }
  VX_INLINE bool at_or_above(unsigned int s, unsigned int x) const {
    const unsigned int sm = s & score_mask;
    return sm > score_prefix || (sm == score_prefix && (x & index_mask) >= index_prefix);
  }
};

/* f(c, i) for every register slot c < SLOTS of this thread (page i = tid +
 * c * THREADS) that holds a middle page of a cached row. */
template <int SLOTS, int THREADS, typename F> VX_INLINE void vx_for_cached_middle(int n, int mid_begin, int mid_end, F f) {
#pragma unroll
  for (int c = 0; c < SLOTS; ++c) {
    const int i = (int)threadIdx.x + c * THREADS;
    if (c * THREADS >= n) break; /* block-uniform */
    if (i >= mid_begin && i < mid_end) f(c, i);
  }
}

/* vx_topk_row with SLOTS register slots a thread in a block of THREADS:
 * rows of up to THREADS * SLOTS pages are cached; longer ones (SLOTS ==
 * VX_TOPK_CACHE only) re-read their scores. */
template <int SLOTS, int THREADS>
__device__ inline void vx_topk_row_slots(const float *__restrict__ scores, int n, int budget, int keep_first,
                                         int keep_last, int *__restrict__ out_pages, int max_out,
                                         int *__restrict__ out_count, vx_topk_smem &sm) {
  constexpr int WARPS = THREADS / 32;
  /* Compaction of a cached row in one barrier (below): chunk c (pages c *
   * THREADS + tid) of warp w is entry c * WARPS + w of a count table; lane l
   * of every warp sums entries 8l .. 8l + 7 and a warp scan turns them into
   * each entry's exclusive prefix, which the owner lane hands out by shuffle. */
  static_assert(SLOTS >= 1 && SLOTS <= VX_TOPK_CACHE, "the count table holds VX_TOPK_CACHE slots");
  static_assert(THREADS % 256 == 0 && WARPS <= VX_TOPK_WARPS && VX_TOPK_CACHE * WARPS <= 256,
                "vx_topk_smem is sized for VX_TOPK_WARPS; the count table must fit 8 entries per lane, a warp's entries at one offset");
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const int kf = keep_first < 0 ? 0 : (keep_first < n ? keep_first : n);
  const int kl_max = n - kf;
  const int kl = keep_last < 0 ? 0 : (keep_last < kl_max ? keep_last : kl_max);
  const int mid_begin = kf, mid_end = n - kl, m = mid_end - mid_begin;
  const int k = budget < 0 ? 0 : (budget < m ? budget : m);
  const bool cached = n <= THREADS * SLOTS;
  const bool radix = k > 0 && k < m;

  unsigned int key32[SLOTS];
#pragma unroll
  for (int c = 0; c < SLOTS; ++c) {
    const int i = tid + c * THREADS;
    key32[c] = cached && radix && i >= mid_begin && i < mid_end ? vx_score_key(scores[i]) : 0u;
  }

  /* Radix narrowing: after it, middle page i is selected iff
   * at.at_or_above(code.score(key(i)), code.index(i)), which holds for
   * exactly k pages. */
  vx_rank_code code = {32, 0};
  vx_rank_prefix at = {0u, 0u, 0u, 0u};
  if (radix) {
    /* Skip the score bits every middle page shares: typically two passes
     * then find the k-th key instead of three. */
    unsigned int all_and = ~0u, all_or = 0u;
    if (cached) {
      vx_for_cached_middle<SLOTS, THREADS>(n, mid_begin, mid_end, [&](int c, int) {
        all_and &= key32[c];
        all_or |= key32[c];
      });
    } else {
      for (int i = mid_begin + tid; i < mid_end; i += THREADS) {
        const unsigned int u = vx_score_key(scores[i]);
        all_and &= u;
        all_or |= u;
      }
    }
    all_and = __reduce_and_sync(0xffffffffu, all_and);
    all_or = __reduce_or_sync(0xffffffffu, all_or);
    if (lane == 0) {
      sm.vary_and[warp] = all_and;
      sm.vary_or[warp] = all_or;
    }
    for (int b = tid; b < 256; b += THREADS) sm.hist[0][b] = 0u;
    __syncthreads();
    all_and = __reduce_and_sync(0xffffffffu, lane < WARPS ? sm.vary_and[lane] : ~0u);
    all_or = __reduce_or_sync(0xffffffffu, lane < WARPS ? sm.vary_or[lane] : 0u);
    const unsigned int differ = all_and ^ all_or;
    code.lead = __clz((int)differ); /* 32 when differ == 0 */
    const int index_bits = 32 - __clz(n - 1); /* n >= 2 here: k < m <= n */
    code.index_shift = 32 - index_bits;
    const int score_passes = (32 - code.lead + 7) / 8, passes = score_passes + (index_bits + 7) / 8;
    if (cached) { /* the score parts once, not once a pass (only middle slots are read later) */
#pragma unroll
      for (int c = 0; c < SLOTS; ++c) key32[c] = code.score(key32[c]);
    }
    unsigned int remaining = (unsigned int)k;
    int listed = -1; /* candidates in sm.cand_*; -1 while the passes test the cached keys */
    for (int pass = 0; pass < passes; ++pass) {
      const bool on_score = pass < score_passes;
      const int shift = 24 - 8 * (on_score ? pass : pass - score_passes);
      unsigned int *hist = sm.hist[pass % 3];
      for (int b = tid; b < 256; b += THREADS) sm.hist[(pass + 1) % 3][b] = 0u;
      if (listed >= 0) {
        for (int j = tid; j < listed; j += THREADS) {
          const unsigned int s = sm.cand_score[j], x = sm.cand_index[j];
          if (at.candidate(s, x)) atomicAdd(&hist[((on_score ? s : x) >> shift) & 255u], 1u);
        }
      } else if (cached) {
        if (tid == 0) sm.cand_fill = 0u; /* read only after this pass's barrier */
        vx_for_cached_middle<SLOTS, THREADS>(n, mid_begin, mid_end, [&](int c, int i) {
          const unsigned int s = key32[c], x = code.index(i);
          if (at.candidate(s, x)) atomicAdd(&hist[((on_score ? s : x) >> shift) & 255u], 1u);
        });
      } else {
        for (int i = mid_begin + tid; i < mid_end; i += THREADS) {
          const unsigned int s = code.score(vx_score_key(scores[i])), x = code.index(i);
          if (at.candidate(s, x)) atomicAdd(&hist[((on_score ? s : x) >> shift) & 255u], 1u);
        }
      }
      __syncthreads();
      /* Every warp finds the bin holding the remaining-th key itself (same
       * data, same arithmetic, same answer), so no second barrier hands a
       * pick around. Lane l owns bins [8l, 8l+8); a reversed inclusive scan
       * over lanes gives each lane the count of keys in its bins and above. */
      unsigned int bins[8];
      {
        const uint4 lo = reinterpret_cast<const uint4 *>(hist)[lane * 2];
        const uint4 hi = reinterpret_cast<const uint4 *>(hist)[lane * 2 + 1];
        bins[0] = lo.x, bins[1] = lo.y, bins[2] = lo.z, bins[3] = lo.w;
        bins[4] = hi.x, bins[5] = hi.y, bins[6] = hi.z, bins[7] = hi.w;
      }
      unsigned int own = 0;
#pragma unroll
      for (int b = 0; b < 8; ++b) own += bins[b];
      unsigned int incl = own;
#pragma unroll
      for (int o = 1; o < 32; o <<= 1) {
        const unsigned int y = __shfl_down_sync(0xffffffffu, incl, o);
        if (lane + o < 32) incl += y;
      }
      unsigned int above = incl - own, digit = 0, count = 0;
      const bool mine = above < remaining && remaining <= incl; /* exactly one lane: remaining <= candidates */
#pragma unroll
      for (int b = 7; b >= 0; --b) {
        if (!mine || count != 0u) continue; /* count != 0: the digit is found (its bin is not empty) */
        if (remaining <= above + bins[b]) {
          digit = (unsigned int)(lane * 8 + b);
          count = bins[b];
        } else {
          above += bins[b];
        }
      }
      const int owner = __ffs(__ballot_sync(0xffffffffu, mine)) - 1;
      digit = __shfl_sync(0xffffffffu, digit, owner);
      above = __shfl_sync(0xffffffffu, above, owner);
      count = __shfl_sync(0xffffffffu, count, owner);
      if (on_score) {
        at.score_prefix |= digit << shift;
        at.score_mask |= 0xffu << shift;
      } else {
        at.index_prefix |= digit << shift;
        at.index_mask |= 0xffu << shift;
      }
      remaining -= above;
      if (count == remaining) break; /* the whole bin is taken: threshold found */
      if (cached && listed < 0 && count <= (unsigned int)VX_TOPK_LIST) {
        /* The `count` keys of the chosen bin are the only candidates left:
         * list them (in any order: the histograms do not depend on it). */
        vx_for_cached_middle<SLOTS, THREADS>(n, mid_begin, mid_end, [&](int c, int i) {
          const unsigned int x = code.index(i);
          if (at.candidate(key32[c], x)) {
            const unsigned int j = atomicAdd(&sm.cand_fill, 1u);
            sm.cand_score[j] = key32[c];
            sm.cand_index[j] = x;
          }
        });
        listed = (int)count;
        __syncthreads(); /* the list is complete before the next pass reads it */
      }
    }
  }

  int count = 0;
  if (cached) {
    /* chunk_counts is free: the radix passes never touch it */
    const int chunks = (n + THREADS - 1) / THREADS;
    unsigned int selected = 0u; /* bit c: page tid + c * THREADS is selected (key32 holds score parts) */
#pragma unroll
    for (int c = 0; c < SLOTS; ++c) {
      if (c >= chunks) break; /* block-uniform */
      const int i = tid + c * THREADS;
      const bool sel = i >= mid_begin && i < mid_end ? k > 0 && at.at_or_above(key32[c], code.index(i)) : i < n;
      selected |= (unsigned int)sel << c;
      const unsigned int ballot = __ballot_sync(0xffffffffu, sel);
      if (lane == 0) sm.chunk_counts[c * WARPS + warp] = (unsigned int)__popc(ballot);
    }
    __syncthreads();
    const int entries = chunks * WARPS, slot = warp % 8; /* this warp's entries' offset in a lane's 8 */
    unsigned int own = 0, own_before = 0;
#pragma unroll
    for (int j = 0; j < 8; ++j) {
      const int e = lane * 8 + j;
      const unsigned int v = e < entries ? sm.chunk_counts[e] : 0u;
      own += v;
      own_before += j < slot ? v : 0u;
    }
    unsigned int incl = own;
#pragma unroll
    for (int o = 1; o < 32; o <<= 1) {
      const unsigned int y = __shfl_up_sync(0xffffffffu, incl, o);
      if (lane >= o) incl += y;
    }
    const unsigned int entry_prefix = incl - own + own_before; /* of entry lane * 8 + warp % 8 */
    count = (int)__shfl_sync(0xffffffffu, incl, 31);
    const unsigned int below = (1u << lane) - 1u;
#pragma unroll
    for (int c = 0; c < SLOTS; ++c) {
      if (c >= chunks) break; /* block-uniform */
      const unsigned int base = __shfl_sync(0xffffffffu, entry_prefix, (c * WARPS + warp) / 8);
      const bool sel = (selected >> c) & 1u;
      const unsigned int ballot = __ballot_sync(0xffffffffu, sel);
      const int pos = (int)base + __popc(ballot & below);
      if (sel && pos < max_out) out_pages[pos] = tid + c * THREADS;
    }
    __syncthreads(); /* sm is free again for the caller */
  } else {
    const bool take_middle = k > 0;
    count = vx_compact_ascending<THREADS>(
        n,
        [&](int i) {
          if (i < mid_begin || i >= mid_end) return true;
          if (!take_middle) return false;
          return at.at_or_above(code.score(vx_score_key(scores[i])), code.index(i));
        },
        out_pages, max_out, sm);
  }
  if (tid == 0) *out_count = count < max_out ? count : max_out;
}

/* Tuning builds: -DVX_TOPK_SLOT_DISPATCH=0 runs every row with VX_TOPK_CACHE
 * slots. */
#ifndef VX_TOPK_SLOT_DISPATCH
#define VX_TOPK_SLOT_DISPATCH 1
#endif
/* Tuning builds: -DVX_TOPK_FIXED_PAGES=0 sizes the short and middle
 * instances by the block (THREADS and 4 * THREADS pages, as before run 115)
 * instead of 512 and 2048 pages. */
#ifndef VX_TOPK_FIXED_PAGES
#define VX_TOPK_FIXED_PAGES 1
#endif

/* Top-k of one row; all THREADS threads of the block must call it (512, the
 * select kernels; 256, the generated index's two-blocks-an-SM fused kernel).
 * scores: the row's n scores (only the middle ones are read). Short rows
 * take an instance with fewer register slots, whose unrolled slot loops
 * are that much shorter: ncu (quest B16 x 8K, 512-page rows) counted ~870
 * instructions a warp in the 16-slot top-k, ~550 in the 1-slot one, and
 * index + top-k took 2.6-10% less time at 8K, 0.7-3.6% at 32K (RESULTS.md
 * run 77). Rows past 2048 pages run the 16-slot instance as before; in the
 * fused index kernel the extra instances cost quest's 128K rows 1.4% (more
 * spills; a fused kernel with the 16-slot instance alone for those rows
 * gained 0.9% of that step and nothing elsewhere, run 83: not kept, branch
 * exp/index-fused-long). The branch is block-uniform. */
template <int THREADS = VX_TOPK_THREADS>
__device__ inline void vx_topk_row(const float *__restrict__ scores, int n, int budget, int keep_first,
                                   int keep_last, int *__restrict__ out_pages, int max_out,
                                   int *__restrict__ out_count, vx_topk_smem &sm) {
  /* The instances hold 512 and 2048 pages whatever the block: a 256-thread
   * block takes 2 and 8 slots, not 1 (rows of 256 pages) and 4 (1024), so
   * 8K and 32K rows at page 16 do not run twice the slots they need. */
  constexpr int SHORT_PAGES = VX_TOPK_FIXED_PAGES ? 512 : THREADS, MID_PAGES = 4 * SHORT_PAGES;
  constexpr int SHORT_SLOTS = SHORT_PAGES / THREADS, MID_SLOTS = MID_PAGES / THREADS;
  static_assert(SHORT_SLOTS >= 1 && SHORT_SLOTS * THREADS == SHORT_PAGES && MID_SLOTS < VX_TOPK_CACHE,
                "the short and middle instances hold whole slots below VX_TOPK_CACHE");
  if (n < 0) n = 0;
  if (VX_TOPK_SLOT_DISPATCH && n <= SHORT_PAGES)
    vx_topk_row_slots<SHORT_SLOTS, THREADS>(scores, n, budget, keep_first, keep_last, out_pages, max_out, out_count, sm);
  else if (VX_TOPK_SLOT_DISPATCH && n <= MID_PAGES)
    vx_topk_row_slots<MID_SLOTS, THREADS>(scores, n, budget, keep_first, keep_last, out_pages, max_out, out_count, sm);
  else
    vx_topk_row_slots<VX_TOPK_CACHE, THREADS>(scores, n, budget, keep_first, keep_last, out_pages, max_out, out_count, sm);
}

/* Threshold select: kept pages plus every middle page with score >= t
 * (NaN never qualifies). Same block contract as vx_topk_row. */
template <int THREADS = VX_TOPK_THREADS>
__device__ inline void vx_threshold_row(const float *__restrict__ scores, int n, float threshold, int keep_first,
                                        int keep_last, int *__restrict__ out_pages, int max_out,
                                        int *__restrict__ out_count, vx_topk_smem &sm) {
  if (n < 0) n = 0;
  const int kf = keep_first < 0 ? 0 : (keep_first < n ? keep_first : n);
  const int kl_max = n - kf;
  const int kl = keep_last < 0 ? 0 : (keep_last < kl_max ? keep_last : kl_max);
  const int mid_begin = kf, mid_end = n - kl;
  const int count = vx_compact_ascending<THREADS>(
      n,
      [&](int i) { return i < mid_begin || i >= mid_end || scores[i] >= threshold; },
      out_pages, max_out, sm);
  if (threadIdx.x == 0) *out_count = count < max_out ? count : max_out;
}

#endif /* VX_TOPK_CUH */

/* ======== runtime/device/vx_attention.cuh (verbatim) ======== */
/* vx_attention.cuh - paged decode attention (dense, sparse) for GQA/MHA.
 *
 * Split-KV flash decoding in two launches:
 *  1. a partial kernel: one block per (request, kv head, chunk of pages)
 *     holding the WHOLE query group of that kv head, so each K/V page
 *     crosses the memory bus once no matter how many query heads share it;
 *     it writes a normalised partial output and its log-sum-exp (the
 *     tensor-core kernel, given one chunk per row, writes the output
 *     itself and no merge runs). Tensor cores:
 *     vx_decode_partial_mma_kernel (vx_decode_mma.cuh, what libvortexrt and
 *     generated code launch); CUDA cores: vx_decode_partial_kernel
 *     (vx_decode_simt.cuh, the portable reference); MLA: vx_mla.cuh.
 *  2. vx_decode_merge_kernel: one block per (request, query head) combines
 *     the chunks' partials, weighting each by exp(lse_c - max lse).
 * Sparse decode walks a per-row list of selected LOGICAL pages
 * (sel_pages[row * max_sel + i], i < sel_count[row]); dense walks 0..n-1.
 * Both resolve logical -> physical through the engine's page table.
 *
 * This header holds what every partial kernel shares: the arguments, the
 * chunk and page helpers, and the merge. */
#ifndef VX_ATTENTION_CUH
#define VX_ATTENTION_CUH

#ifndef VX_PAGE_TABLE_CUH /* already pasted in: no include path needed */
/* #include "vx_page_table.cuh": pasted above */
#endif
#ifndef VX_PLAN_H
/* #include "vx_plan.h": pasted above */
#endif

#define VX_DECODE_WARPS 4
#define VX_DECODE_THREADS (VX_DECODE_WARPS * 32)
/* Softmax runs in the exp2 domain with a lazy running maximum: the
 * accumulators are rescaled only when a new maximum exceeds the one in use
 * by more than this (log2 units). Values stay <= 2^slack so f32 cannot
 * overflow, and the final division by the same-scaled sum keeps the result
 * exact, while the common case (no new maximum) skips the multiplies. */
#define VX_RESCALE_SLACK 8.0f

struct vx_decode_args {
  vx_paged_kv kv;
  const void *q;         /* [batch, num_qo_heads, head_dim], kv element type */
  void *out;             /* [batch, num_qo_heads, head_dim], kv element type */
  const int *sel_pages;  /* sparse: [rows, max_sel] logical pages; NULL = dense */
  const int *sel_count;  /* sparse: [rows] */
  int max_sel;
  int num_qo_heads;
  float sm_scale;        /* usually 1/sqrt(head_dim) */
  int num_chunks;        /* from vx_make_decode_plan */
  int chunk_pages;
  float *ws_o;           /* [rows, num_chunks, group, head_dim] */
  float *ws_lse;         /* [rows, num_chunks, group], log2 domain */
};

/* Pages this row attends: the selection size (sparse) or the request's
 * page count (dense). */
VX_INLINE int vx_row_pages(const vx_decode_args &a, int row, int b) {
  if (a.sel_pages) {
    const int c = a.sel_count[row];
    return c < 0 ? 0 : (c < a.max_sel ? c : a.max_sel);
  }
  return vx_num_pages(a.kv, b);
}

/* Chunk c of a row with n pages covers [*begin, *end); the last chunk also
 * takes pages past num_chunks * chunk_pages so that an underestimated
 * max_pages hint costs speed, never correctness. */
VX_INLINE void vx_chunk_range(const vx_decode_args &a, int c, int n, int *begin, int *end) {
  int s = c * a.chunk_pages;
  int e = c == a.num_chunks - 1 ? n : s + a.chunk_pages;
  *begin = s < n ? s : n;
  *end = e < n ? e : n;
}

/* A chunk with no attended pages marks its LSE slots [slot0, slot0 + n)
 * empty (-inf) so that the merge can weigh every chunk of a row without
 * first reading the row's count (its partials are then never read as
 * numbers). */
VX_INLINE void vx_mark_chunk_empty(const vx_decode_args &a, long long slot0, int n, int tid, int threads) {
  for (int i = tid; i < n; i += threads) a.ws_lse[slot0 + i] = VX_NEG_INF;
}

/* The i-th attended logical page of a row (-1 past the selection's
 * capacity). It reads the selection but not its count, so a caller can
 * issue it before the row's count has arrived. */
VX_INLINE int vx_attended_page(const vx_decode_args &a, int row, int i) {
  if (!a.sel_pages) return i;
  return i < a.max_sel ? a.sel_pages[(long long)row * a.max_sel + i] : -1;
}

/* Resolve logical page j of request b (n_req pages) to (physical page,
 * valid tokens). Out-of-range selections or page ids resolve to 0 valid
 * tokens: a corrupt selection then drops a page instead of reading outside
 * the pool. */
VX_INLINE void vx_resolve_logical(const vx_decode_args &a, int b, int n_req, int j, int *phys, int *valid) {
  *phys = 0;
  *valid = 0;
  if (j < 0 || j >= n_req) return;
  const int p = vx_physical_page(a.kv, b, j);
  if (p < 0 || (long long)p >= a.kv.num_pages) return;
  *phys = p;
  *valid = vx_page_valid_tokens(a.kv, b, j, n_req);
}

/* The i-th attended page of a row, resolved. */
VX_INLINE void vx_resolve_page(const vx_decode_args &a, int row, int b, int n_req, int i, int *phys, int *valid) {
  vx_resolve_logical(a, b, n_req, vx_attended_page(a, row, i), phys, valid);
}

/* Tuning builds: -DVX_EAGER_SELECTION=0 reads a chunk's first selection
 * entries only after the row's count, the order before 8218a31 (A/B:
 * bench/RESULTS.md run 36). */
#ifndef VX_EAGER_SELECTION
#define VX_EAGER_SELECTION 1
#endif

/* Where a partial kernel's block starts: the request's pages, the chunk's
 * attended pages [begin, end), and thread tid's page of the first batch
 * (page begin + tid) resolved, 0 valid tokens past end. The selection
 * entry is loaded beside the row's counts rather than after them (it needs
 * only the chunk's nominal start), so one dependent global round trip less
 * comes before the first K/V bytes can be requested. */
struct vx_chunk_start {
  int n_req;
  int begin, end;
  int phys, valid;
};

VX_INLINE vx_chunk_start vx_start_chunk(const vx_decode_args &a, int row, int b, int chunk, int tid) {
  vx_chunk_start s;
  /* begin == chunk * chunk_pages whenever the chunk has pages */
  const int eager_j = VX_EAGER_SELECTION ? vx_attended_page(a, row, chunk * a.chunk_pages + tid) : 0;
  s.n_req = vx_num_pages(a.kv, b);
  vx_chunk_range(a, chunk, vx_row_pages(a, row, b), &s.begin, &s.end);
  s.phys = 0;
  s.valid = 0;
  if (s.begin + tid < s.end)
    vx_resolve_logical(a, b, s.n_req, VX_EAGER_SELECTION ? eager_j : vx_attended_page(a, row, s.begin + tid), &s.phys,
                       &s.valid);
  return s;
}

#define VX_PAGE_BATCH VX_DECODE_THREADS

/* Combine chunk partials. One block per (request, query head), a thread
 * per VEC consecutive output elements (strided by the block; launched with
 * OUT_DIM / VEC threads up to 1024); out_dim = head_dim (GQA) or the latent
 * rank (MLA). VEC = 4 (16-byte partial loads; ws_o 16-byte aligned): a
 * quarter of the load instructions and of the exponentials, which every
 * thread computes for its own elements (ncu, run 43: the scalar form's
 * warps waited on issue and on the MUFU pipe, not on bytes).
 * Latency, not bytes, decides this kernel's time (ncu, H200: MLA's merge of
 * 8 chunks took 8.4-9.8 us for 5-10 MB, run 32), so after the grid
 * dependency it waits on one global round trip: it reads every chunk (the
 * empty ones marked their LSEs -inf) instead of first reading the row's
 * count, and a batch of VX_MERGE_BATCH chunks has its LSEs and partials
 * loaded together, its maximum taken from registers. With more chunks than
 * one batch the sums are rescaled when a batch raises the maximum; within
 * a batch they run over the chunks in order. */
#define VX_MERGE_BATCH 8
template <int OUT_DIM, int VEC> VX_HOST_DEVICE_CONSTEXPR_FN int vx_merge_threads() {
  return OUT_DIM / VEC < 1024 ? OUT_DIM / VEC : 1024;
}
template <typename T, int OUT_DIM, int VEC = 1>
static __global__ void __launch_bounds__(vx_merge_threads<OUT_DIM, VEC>())
    vx_decode_merge_kernel(vx_decode_args a, int group) {
  static_assert(VEC == 1 || (VEC == 4 && OUT_DIM % 4 == 0), "scalar, or float4 over whole groups of 4");
  vx_pdl_enter(); /* first: the predecessor grid's writes are visible after it */
  const int qo = a.num_qo_heads;
  const int b = blockIdx.x / qo, qh = blockIdx.x % qo;
  const int h = qh / group, g = qh % group;
  const int row = b * a.kv.num_kv_heads + h;
  const float *lse = a.ws_lse + (long long)row * a.num_chunks * group + g;
  const float *part = a.ws_o + ((long long)row * a.num_chunks * group + g) * OUT_DIM; /* chunk c: + c * group * OUT_DIM */
  T *out = reinterpret_cast<T *>(a.out) + ((long long)b * qo + qh) * OUT_DIM;
  for (int d = threadIdx.x * VEC; d < OUT_DIM; d += blockDim.x * VEC) {
    float mx = VX_NEG_INF, l = 0.f, o[VEC];
#pragma unroll
    for (int e = 0; e < VEC; ++e) o[e] = 0.f;
    for (int c0 = 0; c0 < a.num_chunks; c0 += VX_MERGE_BATCH) {
      float lc[VX_MERGE_BATCH], v[VX_MERGE_BATCH][VEC];
#pragma unroll
      for (int j = 0; j < VX_MERGE_BATCH; ++j) {
        const int c = c0 + j;
        const bool in = c < a.num_chunks;
        lc[j] = in ? lse[(long long)c * group] : VX_NEG_INF;
        const float *src = part + (long long)(in ? c : 0) * group * OUT_DIM + d;
        if constexpr (VEC == 4) {
          const float4 t = in ? *reinterpret_cast<const float4 *>(src) : make_float4(0.f, 0.f, 0.f, 0.f);
          v[j][0] = t.x, v[j][1] = t.y, v[j][2] = t.z, v[j][3] = t.w;
        } else {
          v[j][0] = in ? *src : 0.f;
        }
      }
      float bm = VX_NEG_INF;
#pragma unroll
      for (int j = 0; j < VX_MERGE_BATCH; ++j) bm = fmaxf(bm, lc[j]);
      if (bm > mx) {
        const float f = exp2f(mx - bm); /* 0 while nothing was summed */
#pragma unroll
        for (int e = 0; e < VEC; ++e) o[e] *= f;
        l *= f;
        mx = bm;
      }
#pragma unroll
      for (int j = 0; j < VX_MERGE_BATCH; ++j) {
        if (lc[j] == VX_NEG_INF) continue; /* no tokens: its partial is not a number to weigh */
        const float f = exp2f(lc[j] - mx);
#pragma unroll
        for (int e = 0; e < VEC; ++e) o[e] += f * v[j][e];
        l += f;
      }
    }
    /* A row with no tokens attends to nothing: its output is zero. */
#pragma unroll
    for (int e = 0; e < VEC; ++e) out[d + e] = vx_elem<T>::from_float(l > 0.f ? o[e] / l : 0.f);
  }
}

#ifndef __CUDACC_RTC__
/* Launches the merge of a split (a.num_chunks set from its plan): one block
 * per (request, query head), 16-byte partial loads wherever OUT_DIM allows.
 * ws_o must be 16-byte aligned: libvortexrt rejects workspaces that are not
 * 256-byte aligned, generated launchers those that are not 16-byte aligned,
 * and both place ws_o at a multiple of 256 bytes from the base. The one rule
 * for libvortexrt's and generated launchers. */
#ifndef VX_MERGE_VEC
#define VX_MERGE_VEC 4 /* tuning switch: 1 keeps the scalar merge everywhere (for A/B runs) */
#endif
template <typename T, int OUT_DIM> static inline void vx_decode_merge_launch(const vx_decode_args &a, int group, cudaStream_t s) {
  constexpr int VEC = VX_MERGE_VEC == 4 && OUT_DIM % 4 == 0 ? 4 : 1;
  vx_launch(vx_decode_merge_kernel<T, OUT_DIM, VEC>, dim3((unsigned)((long long)a.kv.batch * a.num_qo_heads)),
            dim3(vx_merge_threads<OUT_DIM, VEC>()), 0, s, a, group);
}
#endif /* !__CUDACC_RTC__ */

#endif /* VX_ATTENTION_CUH */

/* ======== runtime/device/vx_decode_mma.cuh (verbatim) ======== */
/* vx_decode_mma.cuh - tensor-core (mma.sync) variant of the paged decode
 * partial kernel; same arguments, workspace and merge as vx_attention.cuh.
 *
 * Why: the CUDA-core kernel spends ~60 warp instructions per (token, kv
 * head) on dot products, shuffles and unpacking; with GQA groups >= 4 that
 * caps it near 2.7 TB/s on an H200, short of the ~4.3 TB/s copy rate. Here
 * one m16n8k16 MMA covers 8 tokens x 16 dims for the whole query group, so
 * the instruction stream shrinks ~10x and the kernel becomes bound by bytes.
 *
 * Shapes per warp iteration (16 tokens, all within one page):
 *   S[16 x 16]   = Q[16 (group, zero-padded) x D] . K^T   (D/16 k-steps, 2 n-tiles)
 *   O[16 x D]   += P[16 x 16 tokens] . V[16 x D]          (D/8 n-tiles)
 * Q fragments stay in registers; K and V tiles stream through a per-warp
 * 3-stage cp.async ring in shared memory, stored as [token][dim] with the
 * 16-byte chunks XOR-swizzled by (token % 8) so that ldmatrix reads of 8
 * rows hit 8 different bank groups. P is rounded to the input type for the
 * PV product (as FlashAttention does); sums and accumulators stay f32.
 * Only accumulator rows < GROUP are meaningful (GROUP <= 8). */
#ifndef VX_DECODE_MMA_CUH
#define VX_DECODE_MMA_CUH

#ifndef VX_ATTENTION_CUH
/* #include "vx_attention.cuh": pasted above */
#endif

/* Overridable for tuning builds (-DVX_MMA_STAGES=2). */
#ifndef VX_MMA_STAGES
#define VX_MMA_STAGES 3
#endif
#define VX_MMA_TOKENS 16

/* vx_mma_op, vx_ldmatrix_x4(_trans): vx_common.cuh (shared with vx_mla.cuh and
 * the generated index kernels). */

template <int HEAD_DIM, int WARPS, int STAGES = VX_MMA_STAGES> struct vx_mma_shape {
  static constexpr int CHUNKS = HEAD_DIM / 8;                        /* 16-byte chunks per row */
  static constexpr int TILE_ELEMS = VX_MMA_TOKENS * HEAD_DIM;        /* one K or V tile */
  static constexpr int WARP_RING_ELEMS = STAGES * 2 * TILE_ELEMS;
  static constexpr int SMEM_BYTES = WARPS * WARP_RING_ELEMS * 2;
  static_assert(HEAD_DIM == 64 || HEAD_DIM == 128, "mma decode supports head_dim 64 and 128");
  static_assert(CHUNKS >= 8 && 32 % CHUNKS == 0, "swizzle needs >= 8 chunks per row");
};

/* Element offset of 16-byte chunk c of row r inside a swizzled tile. */
template <int HEAD_DIM> VX_INLINE int vx_swz(int r, int c) { return r * HEAD_DIM + ((c ^ (r & 7)) << 3); }

/* The block's running max of group row g, from every warp's published max. */
template <int WARPS, int GROUP> VX_INLINE float vx_mma_block_max(const float (&red_m)[WARPS][GROUP], int g) {
  float m = VX_NEG_INF;
#pragma unroll
  for (int w = 0; w < WARPS; ++w) m = fmaxf(m, red_m[w][g]);
  return m;
}

template <int HEAD_DIM, int WARPS = VX_DECODE_WARPS, int STAGES = VX_MMA_STAGES>
VX_HOST_DEVICE_CONSTEXPR_FN int vx_decode_mma_smem_bytes() {
  return vx_mma_shape<HEAD_DIM, WARPS, STAGES>::SMEM_BYTES;
}

/* Wide blocks: one block per SM, for batches whose rows would otherwise be
 * split (see vx_decode_mma_choose): 8 warps and the same ring. Tuning
 * builds may trade warps for ring depth (-DVX_DECODE_WIDE_WARPS=4
 * -DVX_DECODE_WIDE_STAGES=6: more bytes in flight per SM, fewer warps). */
#ifndef VX_DECODE_WIDE_WARPS
#define VX_DECODE_WIDE_WARPS 8
#endif
#ifndef VX_DECODE_WIDE_STAGES
#define VX_DECODE_WIDE_STAGES VX_MMA_STAGES
#endif

/* Tuning builds: -DVX_DECODE_TRACE=1 marks (vx_trace_mark) entry, grid
 * dependency met, first batch's pages in shared memory, warp 0's first tile
 * landed, warp 0's loop end, every warp's loop end, output written, and the
 * block's SM (%smid); only blocks of one-chunk rows mark (their workspace
 * is unused). */
#ifndef VX_DECODE_TRACE
#define VX_DECODE_TRACE 0
#endif
/* Tuning probe (wrong results, timing only): -DVX_DECODE_PROBE=1 waits for
 * every K/V tile and skips its math (the copies alone). */
#ifndef VX_DECODE_PROBE
#define VX_DECODE_PROBE 0
#endif

/* Tuning builds (A/B against 85e83d2's code): -DVX_DECODE_TILE_ADDR=0
 * computes every copied row's address with vx_kv_offset; -DVX_DECODE_FOLD=0
 * folds nothing a build knows into the attention block (generated modules'
 * page size, a step's one chunk a row): it reads both from its arguments, as
 * libvortexrt's kernels do. */
#ifndef VX_DECODE_TILE_ADDR
#define VX_DECODE_TILE_ADDR 1
#endif
#ifndef VX_DECODE_FOLD
#define VX_DECODE_FOLD 1
#endif
/* The PAGE template argument a build that knows its page size passes. */
#define vx_decode_page_param(page) (VX_DECODE_FOLD ? (page) : 0)

/* The attention block's barrier: the whole block (BAR 0, __syncthreads), or
 * named barrier BAR over its first THREADS threads, for a block whose other
 * warps have left (vx_decode_step_attend). */
template <int BAR, int THREADS> VX_INLINE void vx_decode_block_sync() {
  if constexpr (BAR == 0)
    __syncthreads();
  else
    asm volatile("bar.sync %0, %1;\n" ::"n"(BAR), "n"(THREADS) : "memory");
}

/* threadIdx.x through a volatile read, which no earlier computation can stand in for. */
VX_INLINE int vx_thread_index_fresh() {
  unsigned t;
  asm volatile("mov.u32 %0, %%tid.x;" : "=r"(t));
  return (int)t;
}

/* One block of the partial kernel, `block` standing for blockIdx.x: a
 * generated step kernel (VX_STEP_FUSE: a row's index, then its attention,
 * in one block) runs it after its own phases (vx_decode_step_attend). BAR:
 * see vx_decode_block_sync. PAGE > 0: the page size, known where the
 * kernel is built (generated modules); ONE_CHUNK: the launcher planned one
 * chunk a row (a step kernel's). Both are folded into a copy of the
 * arguments, so the page and chunk arithmetic of every helper below
 * (tile offsets, row and chunk indices, block-table page counts) needs no
 * run-time division: less code between a step's top-k and its first K/V
 * request, which the one-launch step waits to fetch (RESULTS.md run 132). */
template <typename T, int HEAD_DIM, int GROUP, int WARPS, int STAGES, int BAR = 0, int PAGE = 0, bool ONE_CHUNK = false>
VX_INLINE void vx_decode_partial_mma_block(const vx_decode_args &args, unsigned block) {
  static_assert(PAGE >= 0 && PAGE % VX_MMA_TOKENS == 0, "pages hold whole 16-token tiles");
  vx_decode_args a = args;
  if (PAGE > 0) a.kv.page_size = PAGE;
  if (ONE_CHUNK) a.num_chunks = 1;
  typedef vx_mma_shape<HEAD_DIM, WARPS, STAGES> S;
  constexpr int THREADS = WARPS * 32; /* one page of a batch resolved per thread */
  static_assert(WARPS == 4 || WARPS == 8, "blocks of 4 or 8 warps");
  typedef vx_mma_op<T> MMA;
  static_assert(GROUP >= 1 && GROUP <= 8, "group must fit the 8 useful rows of an m16 tile");
  constexpr int KSTEPS = HEAD_DIM / 16, NTILES = HEAD_DIM / 8;

  __shared__ float red_m[WARPS][GROUP];
  __shared__ float red_l[WARPS][GROUP];
  __shared__ int page_s[THREADS];
  __shared__ int valid_s[THREADS];
  extern __shared__ __align__(16) unsigned char vx_mma_smem[];
  const bool trace = VX_DECODE_TRACE && a.num_chunks == 1 && a.ws_o;
  if (trace) {
    vx_trace_mark(a.ws_o, 0);
    vx_trace_smid(a.ws_o, 7);
  }
  vx_pdl_enter(); /* first: the predecessor grid's writes are visible after it */
  if (trace) vx_trace_mark(a.ws_o, 1);

  /* In a step block (BAR != 0) the thread index is read afresh: ptxas would
   * otherwise keep the index phases' lane arithmetic live across them and
   * reload it from local memory in the tile loop. */
  const int tid = BAR == 0 ? (int)threadIdx.x : vx_thread_index_fresh(), lane = tid & 31, warp = tid >> 5;
  const int chunk = block % a.num_chunks;
  const int row = block / a.num_chunks;
  const int kvh = a.kv.num_kv_heads;
  const int b = row / kvh, h = row % kvh;
  T *ring = reinterpret_cast<T *>(vx_mma_smem) + warp * S::WARP_RING_ELEMS;

  const vx_chunk_start cs = vx_start_chunk(a, row, b, chunk, tid);
  const int n_req = cs.n_req, begin = cs.begin, end = cs.end;
  /* One chunk per row: this block writes the final output itself and the
   * launcher skips the merge kernel (a launch and ~2-4 us per step). */
  T *const out_row = a.num_chunks == 1
                         ? reinterpret_cast<T *>(a.out) + ((long long)b * a.num_qo_heads + (long long)h * GROUP) * HEAD_DIM
                         : nullptr;
  if (begin >= end) {
    if (out_row) /* a row with no tokens attends to nothing: zeros, as the merge writes */
      for (int i = tid; i < GROUP * HEAD_DIM; i += THREADS) out_row[i] = vx_elem<T>::from_float(0.f);
    else
      vx_mark_chunk_empty(a, ((long long)row * a.num_chunks + chunk) * GROUP, GROUP, tid, THREADS);
    return;
  }

  /* Q as A fragments: lane holds row g = lane/4, dims 2*(lane%4) (+8). */
  const int g = lane >> 2, quad = lane & 3;
  unsigned qa[KSTEPS][2];
  {
    /* One base pointer a lane and constant offsets: the loads' addresses
     * need no arithmetic of their own (straight-line code before the first
     * K/V request, see ONE_CHUNK above). */
    const unsigned *q = reinterpret_cast<const unsigned *>(reinterpret_cast<const T *>(a.q) +
                                                           ((long long)b * a.num_qo_heads + (long long)h * GROUP) * HEAD_DIM +
                                                           (g < GROUP ? g : 0) * HEAD_DIM + quad * 2);
#pragma unroll
    for (int k = 0; k < KSTEPS; ++k) {
      qa[k][0] = g < GROUP ? q[k * 8] : 0u;
      qa[k][1] = g < GROUP ? q[k * 8 + 4] : 0u;
    }
  }
  const float qscale = a.sm_scale * VX_LOG2E;
  const T *kpool = reinterpret_cast<const T *>(a.kv.k_pool);
  const T *vpool = reinterpret_cast<const T *>(a.kv.v_pool);
  const int ps = a.kv.page_size;

  float o[NTILES][4];
#pragma unroll
  for (int t = 0; t < NTILES; ++t) o[t][0] = o[t][1] = o[t][2] = o[t][3] = 0.f;
  float m_run = VX_NEG_INF, l_run = 0.f; /* row g; identical in the row's 4 lanes */

  /* A lane copies chunk c0 of rows r0, r0 + ROWS_PER_PASS, ... of a tile.
   * Everything of those copies but the tile's page and stage is computed
   * once (the tile loop is issue-bound at one block an SM): a tile then
   * costs one 64-bit product and an add a row for the sources, where the
   * per-row vx_kv_offset had three products; and its destinations are the
   * lane's swizzled offset with a constant XORed in, because row r0 + p *
   * ROWS_PER_PASS has (r & 7) = r0 ^ ((p * ROWS_PER_PASS) & 7) (no carry:
   * r0 < ROWS_PER_PASS, both powers of two) and the XOR touches only the
   * chunk bits, below every row, stage and ring offset. Rows past a page's
   * valid tokens copy nothing (source size 0); their addresses stay inside
   * the page, which the pool holds whole. */
  constexpr int ROWS_PER_PASS = 32 / S::CHUNKS;
  const int r0 = lane / S::CHUNKS, c0 = lane % S::CHUNKS;
  const long long lane_e = vx_kv_offset(a.kv, 0, r0, h) + c0 * 8; /* within a page */
  const long long pass_e = (long long)ROWS_PER_PASS * a.kv.stride_token;
  const int lane_dst = vx_swz<HEAD_DIM>(r0, c0); /* = r0 * HEAD_DIM + ((c0 ^ r0) << 3) */

  auto issue = [&](int it, int stage) {
    const int slot = it * VX_MMA_TOKENS;
    const int pl = slot / ps, off = slot % ps;
    const int phys = page_s[pl], valid = valid_s[pl];
    if (off >= valid) return;
    T *kt = ring + stage * 2 * S::TILE_ELEMS, *vt = kt + S::TILE_ELEMS;
    const long long tile_e = vx_kv_offset(a.kv, phys, off, 0) + lane_e;
    const T *ksrc = kpool + tile_e, *vsrc = vpool + tile_e;
#pragma unroll
    for (int p = 0; p < VX_MMA_TOKENS / ROWS_PER_PASS; ++p) {
      const int r = p * ROWS_PER_PASS + r0;
      const bool ok = off + r < valid;
      if (VX_DECODE_TILE_ADDR) {
        const int dst = (lane_dst ^ (((p * ROWS_PER_PASS) & 7) << 3)) + p * ROWS_PER_PASS * HEAD_DIM;
        vx_cp_async16(kt + dst, ksrc + p * pass_e, ok);
        vx_cp_async16(vt + dst, vsrc + p * pass_e, ok);
      } else {
        const long long e = vx_kv_offset(a.kv, phys, ok ? off + r : 0, h) + c0 * 8;
        vx_cp_async16(kt + vx_swz<HEAD_DIM>(r, c0), kpool + e, ok);
        vx_cp_async16(vt + vx_swz<HEAD_DIM>(r, c0), vpool + e, ok);
      }
    }
  };

  auto consume = [&](int it, int stage) {
    if (VX_DECODE_PROBE == 1) return;
    const int slot = it * VX_MMA_TOKENS;
    const int pl = slot / ps, off = slot % ps;
    const int valid = valid_s[pl];
    if (off >= valid) return;
    const T *kt = ring + stage * 2 * S::TILE_ELEMS, *vt = kt + S::TILE_ELEMS;
    const int mat = lane >> 3, mr = lane & 7;

    /* S = Q K^T: n-tile 0 = tokens 0-7, n-tile 1 = tokens 8-15. */
    float s0[4] = {0.f, 0.f, 0.f, 0.f}, s1[4] = {0.f, 0.f, 0.f, 0.f};
#pragma unroll
    for (int k = 0; k < KSTEPS; ++k) {
      unsigned kb[4]; /* matrices: (tok 0-7, lo dims) (tok 0-7, hi) (tok 8-15, lo) (tok 8-15, hi) */
      const int tok = (mat >> 1) * 8 + mr;
      vx_ldmatrix_x4(kb, kt + vx_swz<HEAD_DIM>(tok, k * 2 + (mat & 1)));
      vx_mma_rows8<T>(s0, qa[k][0], qa[k][1], kb[0], kb[1]);
      vx_mma_rows8<T>(s1, qa[k][0], qa[k][1], kb[2], kb[3]);
    }
    /* Lane holds S[g][t] for t = 2*quad + {0, 1} (+8 in s1). */
    float sc[4] = {s0[0] * qscale, s0[1] * qscale, s1[0] * qscale, s1[1] * qscale};
    const int t0 = off + quad * 2;
    const bool okv[4] = {t0 < valid, t0 + 1 < valid, t0 + 8 < valid, t0 + 9 < valid};
    float mx = VX_NEG_INF;
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      sc[i] = okv[i] ? sc[i] : VX_NEG_INF;
      mx = fmaxf(mx, sc[i]);
    }
    mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
    mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
    if (mx > m_run + VX_RESCALE_SLACK) { /* uniform within the row's 4 lanes */
      const float f = exp2f(m_run - mx);
      l_run *= f;
#pragma unroll
      for (int t = 0; t < NTILES; ++t) {
        o[t][0] *= f;
        o[t][1] *= f;
      }
      m_run = mx;
    }
    float p[4];
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      p[i] = okv[i] ? exp2f(sc[i] - m_run) : 0.f;
      l_run += p[i];
    }
    const unsigned pa0 = MMA::pack(p[0], p[1]), pa2 = MMA::pack(p[2], p[3]);

    /* O += P V: V^T fragments via transposing ldmatrix, two n-tiles per load. */
#pragma unroll
    for (int t = 0; t < NTILES; t += 2) {
      unsigned vb[4]; /* (tok 0-7, dims t) (tok 8-15, dims t) (tok 0-7, dims t+1) (tok 8-15, dims t+1) */
      const int tok = (mat & 1) * 8 + mr;
      vx_ldmatrix_x4_trans(vb, vt + vx_swz<HEAD_DIM>(tok, t + (mat >> 1)));
      vx_mma_rows8<T>(o[t], pa0, pa2, vb[0], vb[1]);
      vx_mma_rows8<T>(o[t + 1], pa0, pa2, vb[2], vb[3]);
    }
  };

  int my_phys = cs.phys, my_valid = cs.valid; /* first batch: resolved by vx_start_chunk */

  for (int batch0 = begin; batch0 < end; batch0 += THREADS) {
    const int npg = end - batch0 < THREADS ? end - batch0 : THREADS;
    vx_decode_block_sync<BAR, THREADS>();
    page_s[tid] = my_phys;
    valid_s[tid] = my_valid;
    vx_decode_block_sync<BAR, THREADS>();
    if (trace && batch0 == begin) vx_trace_mark(a.ws_o, 2);
    if (batch0 + THREADS + tid < end)
      vx_resolve_page(a, row, b, n_req, batch0 + THREADS + tid, &my_phys, &my_valid);

    const int iters = npg * ps / VX_MMA_TOKENS;
    const int mine = warp < iters ? (iters - 1 - warp) / WARPS + 1 : 0;
    /* Tile k + STAGES - 1 is requested before tile k is multiplied: its
     * stage held tile k - 1, consumed last iteration, so STAGES - 1 tiles
     * stay in flight through the math instead of STAGES - 2. The first
     * STAGES - 1 requests are the loop's own first iterations (k < 0), not
     * a copy of its request code in front of it: that code would run once,
     * fetched cold, between a step's top-k and its first K/V bytes. */
    int issue_stage = 0, use_stage = 0; /* (k + STAGES - 1) % STAGES and k % STAGES, without the divisions */
    for (int k = 1 - STAGES; k < mine; ++k) {
      const int next = k + STAGES - 1;
      if (next < mine) issue(warp + next * WARPS, issue_stage);
      issue_stage = issue_stage == STAGES - 1 ? 0 : issue_stage + 1;
      vx_cp_async_commit();
      if (k < 0) continue;
      vx_cp_async_wait<STAGES - 1>(); /* tile k has landed */
      __syncwarp(); /* tiles are shared by the warp's lanes: see their copies */
      if (trace && batch0 == begin && k == 0) vx_trace_mark(a.ws_o, 3);
      consume(warp + k * WARPS, use_stage);
      use_stage = use_stage == STAGES - 1 ? 0 : use_stage + 1;
      __syncwarp(); /* every lane is done with this stage before it is refilled */
    }
    vx_cp_async_wait<0>();
  }
  __syncwarp();
  if (trace) vx_trace_mark(a.ws_o, 4);

  l_run += __shfl_xor_sync(0xffffffffu, l_run, 1);
  l_run += __shfl_xor_sync(0xffffffffu, l_run, 2);
  /* The block's warps merge in two barriers: every warp publishes its running
   * max, then rescales its own partial to the block's max in registers, so
   * the final pass only sums (no exp2f or max chain per output element; the
   * epilogue was 1.5-2 us of a 50 us batch-16 launch, RESULTS run 90). */
  if (g < GROUP && quad == 0) red_m[warp][g] = m_run;
  vx_decode_block_sync<BAR, THREADS>();
  if (trace) vx_trace_mark(a.ws_o, 5);
  /* The warp's ring is idle: reuse it for the warp's [GROUP][RED_ROW] partial
   * (rows padded by 8 floats: the float2 stores of a warp's 4 rows then hit
   * distinct banks). */
  constexpr int RED_ROW = HEAD_DIM + 8;
  static_assert(GROUP * RED_ROW * 4 <= S::WARP_RING_ELEMS * (int)sizeof(T), "partial fits the warp's ring");
  float *red_o = reinterpret_cast<float *>(ring);
  if (g < GROUP) {
    const float block_max = vx_mma_block_max(red_m, g);
    const float f = m_run == VX_NEG_INF ? 0.f : exp2f(m_run - block_max); /* an empty warp adds nothing */
#pragma unroll
    for (int t = 0; t < NTILES; ++t)
      *reinterpret_cast<float2 *>(red_o + g * RED_ROW + t * 8 + quad * 2) = make_float2(o[t][0] * f, o[t][1] * f);
    if (quad == 0) red_l[warp][g] = l_run * f;
  }
  vx_decode_block_sync<BAR, THREADS>();

  const float *all_red = reinterpret_cast<const float *>(vx_mma_smem);
  constexpr int RED_STRIDE = S::WARP_RING_ELEMS * (int)sizeof(T) / 4; /* floats per warp ring */
  float *ws_o = a.ws_o + ((long long)row * a.num_chunks + chunk) * GROUP * HEAD_DIM;
  float *ws_lse = a.ws_lse + ((long long)row * a.num_chunks + chunk) * GROUP;
  for (int i = tid; i < GROUP * HEAD_DIM; i += THREADS) {
    const int gg = i / HEAD_DIM, d = i % HEAD_DIM;
    float acc = 0.f, l = 0.f;
#pragma unroll
    for (int w = 0; w < WARPS; ++w) {
      acc += all_red[w * RED_STRIDE + gg * RED_ROW + d];
      l += red_l[w][gg];
    }
    const float o_final = l > 0.f ? acc / l : 0.f;
    if (out_row) { /* what the merge computes from one chunk: o_final exactly */
      out_row[i] = vx_elem<T>::from_float(o_final);
      continue;
    }
    ws_o[i] = o_final;
    if (d == 0) {
      ws_lse[gg] = l > 0.f ? vx_mma_block_max(red_m, gg) + log2f(l) : VX_NEG_INF;
    }
  }
  if (trace) { /* a block-uniform constant: false unless VX_DECODE_TRACE */
    vx_decode_block_sync<BAR, THREADS>();
    vx_trace_mark(a.ws_o, 6);
  }
}

/* MIN_BLOCKS: resident blocks per SM the register budget must allow. */
template <typename T, int HEAD_DIM, int GROUP, int WARPS = VX_DECODE_WARPS, int STAGES = VX_MMA_STAGES,
          int MIN_BLOCKS = 8 / WARPS, int PAGE = 0>
static __global__ void __launch_bounds__(WARPS * 32, MIN_BLOCKS) vx_decode_partial_mma_kernel(vx_decode_args a) {
  vx_decode_partial_mma_block<T, HEAD_DIM, GROUP, WARPS, STAGES, 0, PAGE>(a, blockIdx.x);
}

/* The 16-warp step block's registers a thread (vx_decode_step_attend): 65536
 * an SM over 512 threads at launch; then the upper half keeps IDLE and the
 * lower half takes the rest, 128 + (128 - 24) = 232. The launcher checks the
 * start count (vx_decode_step_regs_ok). */
#define VX_STEP_BLOCK_WARPS 16
#define VX_STEP_START_REGS 128
#define VX_STEP_IDLE_REGS 24
#define VX_STEP_ATTEND_REGS (2 * VX_STEP_START_REGS - VX_STEP_IDLE_REGS)

/* The attention of a generated one-launch step (a row's index phases, then
 * its attention, in one block of BLOCK_WARPS warps: ALG_STEP_WARPS in the
 * generated file). Eight warps attend, as the wide partial kernel does.
 * The generated launcher takes this path only where the plan has one chunk
 * a row, so the block is built for one (ONE_CHUNK).
 * A 16-warp block (the index phases in as many warps as the fused index
 * kernel) was launched at 128 registers a thread, fewer than the attention
 * needs: on sm_90a its upper two warpgroups hand theirs to the lower two
 * (setmaxnreg) and leave, and the attention syncs on a named barrier over
 * the 256 threads that stay. Built without sm_90a, they just leave (the
 * attention then spills; launchers pick 16 warps on compute capability 9.0
 * only, where every build here is sm_90a). */
template <typename T, int HEAD_DIM, int GROUP, int BLOCK_WARPS, int PAGE = 0>
VX_INLINE void vx_decode_step_attend(const vx_decode_args &a) {
  constexpr int WARPS = VX_DECODE_WIDE_WARPS, STAGES = VX_DECODE_WIDE_STAGES;
  static_assert(BLOCK_WARPS == WARPS || (BLOCK_WARPS == VX_STEP_BLOCK_WARPS && 2 * WARPS == VX_STEP_BLOCK_WARPS),
                "the step block is the wide attention block, or 16 warps whose lower 8 attend");
  if constexpr (BLOCK_WARPS == WARPS) {
    vx_decode_partial_mma_block<T, HEAD_DIM, GROUP, WARPS, STAGES, 0, PAGE, VX_DECODE_FOLD != 0>(a, blockIdx.x);
  } else {
#if defined(__CUDA_ARCH__) && defined(__CUDA_ARCH_FEAT_SM90_ALL)
    if (threadIdx.x >= WARPS * 32) {
      asm volatile("setmaxnreg.dec.sync.aligned.u32 %0;\n" ::"n"(VX_STEP_IDLE_REGS) : "memory");
      return;
    }
    asm volatile("setmaxnreg.inc.sync.aligned.u32 %0;\n" ::"n"(VX_STEP_ATTEND_REGS) : "memory");
#else
    if (threadIdx.x >= WARPS * 32) return;
#endif
    vx_decode_partial_mma_block<T, HEAD_DIM, GROUP, WARPS, STAGES, 1, PAGE, VX_DECODE_FOLD != 0>(a, blockIdx.x);
  }
}

#ifndef __CUDACC_RTC__
/* Tuning builds: -DVX_DECODE_WIDE=0 never launches wide blocks. */
#ifndef VX_DECODE_WIDE
#define VX_DECODE_WIDE 1
#endif

/* Tuning builds: -DVX_STEP_LOG=1 prints whether a 16-warp step kernel runs
 * (vx_decode_step_regs_ok), so that a variant's log shows the path taken. */
#ifndef VX_STEP_LOG
#define VX_STEP_LOG 0
#endif
#if VX_STEP_LOG
#include <cstdio>
#endif
/* Whether a 16-warp step kernel may run here (vx_decode_step_attend): its
 * warpgroups trade registers with setmaxnreg, sm_90a code, so compute
 * capability 9.0 only; and the kernel must start at VX_STEP_START_REGS a
 * thread, the count those trades assume (with fewer, the attention's request
 * would wait forever). Host-side queries, legal during stream capture. */
static inline bool vx_decode_step_regs_ok(const void *kernel, int threads) {
  int major, minor;
  vx_device_cc(&major, &minor);
  cudaFuncAttributes fa;
  fa.numRegs = 0;
  bool ok = major == 9 && minor == 0 && cudaFuncGetAttributes(&fa, kernel) == cudaSuccess;
  if (!ok) (void)cudaGetLastError(); /* a failed query must not look like a failed launch */
  ok = ok && threads == VX_STEP_BLOCK_WARPS * 32 && fa.numRegs == VX_STEP_START_REGS;
#if VX_STEP_LOG
  fprintf(stderr, "vx step: the 16-warp block %s (compute capability %d.%d, %d registers a thread)\n", ok ? "runs" : "does not run",
          major, minor, fa.numRegs);
#endif
  return ok;
}

/* Block shape and split plan of one GQA decode launch. */
struct vx_decode_mma_choice {
  vx_decode_plan plan;
  int wide; /* 1: the one-block-per-SM kernel (VX_DECODE_WIDE_*), 0: VX_DECODE_WARPS, two per SM */
};

/* The two kernels a choice picks from. PAGE: the page size when the build
 * knows it (generated modules), 0 for any (libvortexrt). */
template <typename T, int HEAD_DIM, int GROUP, int WIDE, int PAGE = 0> struct vx_decode_mma_kernel_of {
  static constexpr int WARPS = WIDE ? VX_DECODE_WIDE_WARPS : VX_DECODE_WARPS;
  static constexpr int STAGES = WIDE ? VX_DECODE_WIDE_STAGES : VX_MMA_STAGES;
  static constexpr int MIN_BLOCKS = WIDE ? 1 : 8 / WARPS;
  static constexpr int SMEM = vx_decode_mma_smem_bytes<HEAD_DIM, WARPS, STAGES>();
  static constexpr auto kernel = vx_decode_partial_mma_kernel<T, HEAD_DIM, GROUP, WARPS, STAGES, MIN_BLOCKS, PAGE>;
};

/* Sets the dynamic shared memory of a choice's kernel (host-side,
 * capturable, idempotent; if it fails, the launch fails and reports it) and
 * returns how many of its blocks the device runs at once (0: unknown). */
template <typename T, int HEAD_DIM, int GROUP, int WIDE, int PAGE = 0>
static inline int vx_decode_mma_prepare() {
  typedef vx_decode_mma_kernel_of<T, HEAD_DIM, GROUP, WIDE, PAGE> K;
  return vx_prepare_kernel(reinterpret_cast<const void *>(K::kernel), K::WARPS * 32, K::SMEM);
}

/* 4-warp blocks, two per SM, unless 8-warp blocks (one per SM, the same
 * warps and bytes in flight per SM) need fewer chunks per row: a batch of
 * 16 (128 rows on 132 SMs) then runs one chunk per row, one wave, no merge,
 * where 4-warp blocks need two chunks and the merge kernel. */
template <typename T, int HEAD_DIM, int GROUP, int PAGE = 0>
static inline vx_decode_mma_choice vx_decode_mma_choose(long long rows, int max_pages) {
  vx_decode_mma_choice c = {vx_make_decode_plan(rows, max_pages, vx_decode_mma_prepare<T, HEAD_DIM, GROUP, 0, PAGE>()), 0};
  if (VX_DECODE_WIDE && c.plan.num_chunks > 1) {
    const int capacity = vx_decode_mma_prepare<T, HEAD_DIM, GROUP, 1, PAGE>();
    const vx_decode_plan p = vx_make_decode_plan(rows, max_pages, capacity);
    if (capacity > 0 && p.num_chunks < c.plan.num_chunks) {
      c.plan = p;
      c.wide = 1;
    }
  }
  return c;
}

template <typename T, int HEAD_DIM, int GROUP, int WIDE, int PAGE = 0>
static inline void vx_decode_mma_launch_kernel(const vx_decode_args &a, long long rows, cudaStream_t s) {
  typedef vx_decode_mma_kernel_of<T, HEAD_DIM, GROUP, WIDE, PAGE> K;
  vx_launch(K::kernel, dim3((unsigned)(rows * a.num_chunks)), dim3(K::WARPS * 32), K::SMEM, s, a);
}

/* The partial kernel of a choice (a.num_chunks set from its plan). */
template <typename T, int HEAD_DIM, int GROUP, int PAGE = 0>
static inline void vx_decode_mma_launch(const vx_decode_args &a, const vx_decode_mma_choice &c, long long rows, cudaStream_t s) {
  if (c.wide)
    vx_decode_mma_launch_kernel<T, HEAD_DIM, GROUP, 1, PAGE>(a, rows, s);
  else
    vx_decode_mma_launch_kernel<T, HEAD_DIM, GROUP, 0, PAGE>(a, rows, s);
}
#endif /* !__CUDACC_RTC__ */

#endif /* VX_DECODE_MMA_CUH */

#pragma nv_diag_default 177

/* ---------------------------------------------------------------- geometry */

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
  float acc_v6[2]; /* %6 per head, from the tensor cores */
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
  const int count = 2;
  float acc = __int_as_float(0x7fffffff);
#pragma unroll
  for (int h = 0; h < count; ++h) {
    const float x = quest_index_v6(c, pg, h);
    acc = fmaxf(acc, x);
  }
  return count > 0 ? acc : 0.0f;
}

/* %8 = const 125 : [] */
static __device__ __forceinline__ float quest_index_v8(const quest_index_ctx &c) {
  return 125.0f;
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
 *   %8 = const 125 : []
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
  __shared__ float row[256];
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
  for (int i = threadIdx.x; i < 256; i += blockDim.x) {
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
      const bool used = n < 2;
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
        float col0[2], col1[2];
        #pragma unroll
        for (int n = 0; n < 2; ++n) {
          const int src = (int)(threadIdx.x & 28) | (n >> 1);
          col0[n] = __shfl_sync(0xffffffffu, (n & 1) ? acc6[1] : acc6[0], src);
          col1[n] = __shfl_sync(0xffffffffu, (n & 1) ? acc6[3] : acc6[2], src);
        }
        #pragma unroll
        for (int h = 0; h < 2; ++h) {
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

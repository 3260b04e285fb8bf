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

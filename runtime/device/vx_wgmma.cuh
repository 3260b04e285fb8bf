/* vx_wgmma.cuh - Hopper (sm_90a) building blocks of the MLA wgmma kernel:
 * the 128-byte shared-memory swizzle and wgmma descriptors, the
 * warpgroup MMA (m64 nN k16, N = 8..32) with its fence / commit / wait, the
 * proxy fence between generic and async shared-memory accesses, TMA bulk
 * tensor copies on mbarriers, and the thread-block cluster operations
 * (barrier, distributed shared memory loads). Outside sm_90a code the
 * device operations compile to nothing and VX_WGMMA_DEVICE is 0: a kernel
 * using them must not run there. */
#ifndef VX_WGMMA_CUH
#define VX_WGMMA_CUH

#ifndef VX_COMMON_CUH /* already pasted in: no include path needed */
#include "vx_common.cuh"
#endif

#if defined(__CUDA_ARCH__) && defined(__CUDA_ARCH_FEAT_SM90_ALL)
#define VX_WGMMA_DEVICE 1
#else
#define VX_WGMMA_DEVICE 0
#endif

/* Byte offset of 16-byte chunk c (0-7) of row r in a 128-byte-swizzled block. */
VX_INLINE unsigned vx_sw128(int r, int c) { return (unsigned)(r * 128 + ((c ^ (r & 7)) << 4)); }

/* wgmma shared-memory descriptor, 128-byte swizzle: start address, leading
 * and stride byte offsets (16-byte units, 14 bits each). A k-step inside a
 * swizzle atom moves only the start address (the hardware swizzles the
 * final address), so descriptors are built once and offset by addr >> 4. */
VX_INLINE unsigned long long vx_wg_desc(unsigned addr, unsigned lbo, unsigned sbo) {
  return (unsigned long long)((addr & 0x3FFFFu) >> 4) | ((unsigned long long)((lbo & 0x3FFFFu) >> 4) << 16) |
         ((unsigned long long)((sbo & 0x3FFFFu) >> 4) << 32) | (1ull << 62);
}

VX_INLINE void vx_wg_fence() {
#if VX_WGMMA_DEVICE
  asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory");
#endif
}
VX_INLINE void vx_wg_commit() {
#if VX_WGMMA_DEVICE
  asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory");
#endif
}
template <int N> VX_INLINE void vx_wg_wait() {
#if VX_WGMMA_DEVICE
  asm volatile("wgmma.wait_group.sync.aligned %0;\n" ::"n"(N) : "memory");
#endif
}
/* Shared-memory writes of the generic proxy (st.shared, cp.async) made
 * visible to wgmma's async proxy; each writer fences before the barrier. */
VX_INLINE void vx_fence_proxy_async() {
#if VX_WGMMA_DEVICE
  asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");
#endif
}
/* Keeps the compiler from moving reads or writes of accumulators across a
 * wgmma fence or wait (the asm statements carry no register dependency). */
template <int N> VX_INLINE void vx_wg_hold(float (&d)[N]) {
#pragma unroll
  for (int i = 0; i < N; ++i) asm volatile("" : "+f"(d[i])::"memory");
}

/* Thread-block clusters (sm_90): blocks in this launch's cluster (1
 * without a cluster launch). */
VX_INLINE unsigned vx_cluster_size() {
  unsigned r = 1;
#if VX_WGMMA_DEVICE
  asm volatile("mov.u32 %0, %%cluster_nctarank;\n" : "=r"(r));
#endif
  return r;
}
/* Every block of the cluster arrives; shared-memory writes before it are
 * visible to every block's reads after it. */
VX_INLINE void vx_cluster_sync() {
#if VX_WGMMA_DEVICE
  asm volatile("barrier.cluster.arrive.release.aligned;\nbarrier.cluster.wait.acquire.aligned;\n" ::: "memory");
#endif
}
/* Shared address addr of the cluster's block `rank`, as a shared::cluster address. */
VX_INLINE unsigned vx_cluster_map(unsigned addr, unsigned rank) {
  unsigned r = addr;
#if VX_WGMMA_DEVICE
  asm volatile("mapa.shared::cluster.u32 %0, %1, %2;\n" : "=r"(r) : "r"(addr), "r"(rank));
#endif
  return r;
}
VX_INLINE float vx_ld_cluster_f32(unsigned addr) {
  float v = 0.f;
#if VX_WGMMA_DEVICE
  asm volatile("ld.shared::cluster.f32 %0, [%1];\n" : "=f"(v) : "r"(addr));
#endif
  return v;
}
VX_INLINE float4 vx_ld_cluster_f32x4(unsigned addr) {
  float4 v = make_float4(0.f, 0.f, 0.f, 0.f);
#if VX_WGMMA_DEVICE
  asm volatile("ld.shared::cluster.v4.f32 {%0, %1, %2, %3}, [%4];\n"
               : "=f"(v.x), "=f"(v.y), "=f"(v.z), "=f"(v.w)
               : "r"(addr));
#endif
  return v;
}

/* Tensor memory accelerator (TMA): a tensor map (the driver's opaque
 * 128-byte CUtensorMap, encoded on the host and passed as a __grid_constant__
 * kernel parameter) and the bulk copies that land a box of it in shared
 * memory, completing on an mbarrier with a byte count. One thread issues a
 * whole box: no per-thread address arithmetic and no cp.async groups. */
struct alignas(64) vx_tmap {
  unsigned long long opaque[16];
};

VX_INLINE void vx_mbar_init(unsigned bar, unsigned count) {
#if VX_WGMMA_DEVICE
  asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;\n" ::"r"(bar), "r"(count) : "memory");
#endif
}
/* After the initialising thread's mbarrier.init, before the barrier that
 * lets other threads (and the async proxy) use them. */
VX_INLINE void vx_mbar_init_fence() {
#if VX_WGMMA_DEVICE
  asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory");
#endif
}
/* This thread's arrival, announcing `bytes` of copies that complete on bar. */
VX_INLINE void vx_mbar_expect_tx(unsigned bar, unsigned bytes) {
#if VX_WGMMA_DEVICE
  asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;\n" ::"r"(bar), "r"(bytes) : "memory");
#endif
}
/* Until the phase of the given parity has completed (the copies landed). */
VX_INLINE void vx_mbar_wait(unsigned bar, unsigned parity) {
#if VX_WGMMA_DEVICE
  asm volatile("{\n.reg .pred p;\nVX_MBAR_WAIT:\n"
               "mbarrier.try_wait.parity.shared::cta.b64 p, [%0], %1;\n"
               "@!p bra VX_MBAR_WAIT;\n}\n" ::"r"(bar),
               "r"(parity)
               : "memory");
#endif
}
/* Box (c0, c1, c2) of the 3-D tensor map *map into shared memory at dst. */
VX_INLINE void vx_tma_load_3d(unsigned dst, const vx_tmap *map, int c0, int c1, int c2, unsigned bar) {
#if VX_WGMMA_DEVICE
  asm volatile("cp.async.bulk.tensor.3d.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1, {%2, %3, %4}], [%5];\n" ::"r"(dst),
               "l"(reinterpret_cast<unsigned long long>(map)), "r"(c0), "r"(c1), "r"(c2), "r"(bar)
               : "memory");
#else
  (void)dst, (void)map, (void)c0, (void)c1, (void)c2, (void)bar;
#endif
}

/* D (+)= A B, m64 nN k16, f32 accumulators (the m16n8 fragment layout per
 * warp and n8 block: d[4j + 2r + e] = row 16 warp + g + 8r, column 8j + 2q
 * + e). B is K-major; TRANS_A = 1 reads A MN-major. */
#define VX_WG_ASM(TY, NS, REGS, PA, PB, PP, PT, ...)                                                             \
  asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, " PP ", 0;\n"                                                  \
               "wgmma.mma_async.sync.aligned.m64n" NS "k16.f32." TY "." TY " " REGS ", " PA ", " PB ", p, 1, 1, " \
               PT ", 0;\n}\n"                                                                                   \
               : __VA_ARGS__                                                                                    \
               : "l"(da), "l"(db), "r"(accumulate), "n"(TRANS_A))
#define VX_WG_F4(i) "+f"(d[i]), "+f"(d[i + 1]), "+f"(d[i + 2]), "+f"(d[i + 3])
#define VX_WG_ALL_N(TY)                                                                                           \
  if constexpr (N == 8)                                                                                           \
    VX_WG_ASM(TY, "8", "{%0, %1, %2, %3}", "%4", "%5", "%6", "%7", VX_WG_F4(0));                                   \
  else if constexpr (N == 16)                                                                                     \
    VX_WG_ASM(TY, "16", "{%0, %1, %2, %3, %4, %5, %6, %7}", "%8", "%9", "%10", "%11", VX_WG_F4(0), VX_WG_F4(4));   \
  else if constexpr (N == 24)                                                                                     \
    VX_WG_ASM(TY, "24", "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11}", "%12", "%13", "%14", "%15",          \
              VX_WG_F4(0), VX_WG_F4(4), VX_WG_F4(8));                                                             \
  else                                                                                                            \
    VX_WG_ASM(TY, "32", "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15}", "%16", "%17",    \
              "%18", "%19", VX_WG_F4(0), VX_WG_F4(4), VX_WG_F4(8), VX_WG_F4(12))

template <typename T> struct vx_wgmma_type;
template <> struct vx_wgmma_type<__nv_bfloat16> { static constexpr bool bf16 = true; };
template <> struct vx_wgmma_type<__half> { static constexpr bool bf16 = false; };

template <typename T, int N, int TRANS_A>
VX_INLINE void vx_wgmma_m64k16(float (&d)[N / 2], unsigned long long da, unsigned long long db, int accumulate) {
  static_assert(N == 8 || N == 16 || N == 24 || N == 32, "wgmma n8 to n32");
#if VX_WGMMA_DEVICE
  if constexpr (vx_wgmma_type<T>::bf16) {
    VX_WG_ALL_N("bf16");
  } else {
    VX_WG_ALL_N("f16");
  }
#else
  (void)d, (void)da, (void)db, (void)accumulate;
#endif
}

#endif /* VX_WGMMA_CUH */

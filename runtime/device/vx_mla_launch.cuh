/* vx_mla_launch.cuh - host side of MLA decode, shared by libvortexrt and
 * generated launchers: which partial kernel a launch uses (wgmma,
 * vx_mla_wgmma.cuh, or mma.sync, vx_mla.cuh), its split plan, then the
 * partial and merge launches. */
#ifndef VX_MLA_LAUNCH_CUH
#define VX_MLA_LAUNCH_CUH

#ifndef VX_MLA_WGMMA_CUH /* already pasted in: no include path needed */
#include "vx_mla_wgmma.cuh"
#endif

#ifndef __CUDACC_RTC__
/* wgmma (vx_mla_wgmma.cuh) on compute capability 9.0 when the latent widths
 * are multiples of 64; the mma.sync kernel elsewhere and in tuning builds
 * with -DVX_MLA_WGMMA=0. The code must be built for sm_90a (as every build
 * here is): a plain sm_90 build has no wgmma and its kernel traps. */
#ifndef VX_MLA_WGMMA
#define VX_MLA_WGMMA 1
#endif

struct vx_mla_choice {
  vx_decode_plan plan;
  bool wgmma;
};

static inline bool vx_device_is_sm90() {
  int major, minor;
  vx_device_cc(&major, &minor);
  return major == 9 && minor == 0;
}

/* Sets the chosen kernel's dynamic shared memory (host-side, capturable,
 * idempotent; if it fails, the launch fails and reports it) and plans the
 * split over (request, head group) rows so the blocks fill the device. */
template <typename T, int HEADS, int DC, int DR> static inline vx_mla_choice vx_mla_choose(long long batch, int max_pages) {
  constexpr int hg = vx_mla_head_groups<HEADS>();
  vx_mla_choice c;
  c.wgmma = false;
  const void *kernel = reinterpret_cast<const void *>(vx_mla_decode_partial_mma_kernel<T, HEADS, DC, DR>);
  int threads = VX_MLA_THREADS, smem = vx_mla_smem_bytes<HEADS, DC, DR>();
  if constexpr (VX_MLA_WGMMA && vx_mla_wg_supported<DC, DR>()) {
    if (vx_device_is_sm90()) {
      c.wgmma = true;
      kernel = reinterpret_cast<const void *>(vx_mla_decode_partial_wgmma_kernel<T, HEADS, DC, DR>);
      threads = VX_MLA_WG_THREADS;
      smem = vx_mla_wg_smem_bytes<HEADS, DC, DR>();
    }
  }
  (void)cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, smem);
  c.plan = vx_make_decode_plan(batch * hg, max_pages, vx_capacity(kernel, threads, smem));
  return c;
}

/* The partial kernel of a choice (a.num_chunks, ws_o and ws_lse set from its
 * plan), then the merge of the chunks. */
template <typename T, int HEADS, int DC, int DR>
static inline void vx_mla_launch(const vx_decode_args &a, const vx_mla_choice &c, cudaStream_t s) {
  const dim3 grid((unsigned)((long long)a.kv.batch * a.num_chunks * vx_mla_head_groups<HEADS>()));
  bool launched = false;
  if constexpr (VX_MLA_WGMMA && vx_mla_wg_supported<DC, DR>()) {
    if (c.wgmma) {
      vx_launch(vx_mla_decode_partial_wgmma_kernel<T, HEADS, DC, DR>, grid, dim3(VX_MLA_WG_THREADS),
                vx_mla_wg_smem_bytes<HEADS, DC, DR>(), s, a);
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

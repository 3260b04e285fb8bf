/* vx_mla_wgmma.cuh - MLA decode on Hopper's warpgroup MMA (wgmma, sm_90a).
 *
 * Same contract as vx_mla_decode_partial_mma_kernel (vx_mla.cuh): one block
 * per (request, chunk of pages, group of up to 32 heads), normalised
 * partials and log2-domain LSEs into the workspace, merged by
 * vx_decode_merge_kernel<T, DC>(args, HEADS).
 *
 * Why a second kernel: the mma.sync kernel issues ~650 instructions per warp
 * for every 32-token tile (ldmatrix, 68 MMAs, the cross-warp reductions the
 * split of 16-head fragments needs) and waits at three barriers a tile; ncu
 * (bench/RESULTS.md run 41) had it at 1.8-1.9 us a tile against the 1.14 us
 * the bytes allow, the tensor pipe 18% busy. One wgmma multiplies a whole
 * 64 x 32 x 16 slice from shared memory, so a 64-token tile is 36 + 32
 * instructions per warp and the MMAs run while the warp waits on nothing
 * but their group.
 *
 * Transposed product. With the 20-128 heads of a decode step as wgmma's M
 * (64 rows) most rows would be padding; here the tokens are M:
 *   S^T [64 tokens x 32 heads] = K [64 x D] . Q^T [D x 32]      (A, B K-major)
 *   O^T [DC x 32 heads] += V^T [DC x 64 tokens] . P^T [64 x 32]  (A MN-major)
 * V^T is the same shared-memory tile as K read transposed (wgmma's
 * transpose bit), so a latent row is staged once. Heads past the group's
 * last one are zero rows of Q^T (never NaN garbage) and are not written.
 *
 * Shared memory: every operand is stored as 64-element (128-byte) column
 * blocks in the 128-byte swizzle wgmma reads without bank conflicts (16-byte
 * chunk c of row r at r*128 + ((c ^ r%8) * 16), blocks 1024-byte aligned):
 * two ring stages of [64 tokens x D], Q^T [32 heads x D], P^T [32 heads x 64
 * tokens]. One warpgroup (128 threads) per block, one block per SM.
 *
 * Per tile (four block barriers): wait for the tile's cp.async group ->
 * S^T (36 wgmma) -> per-head maxima over the tile (shuffles, one exchange
 * through shared memory) -> the lazy-rescale decision (VX_RESCALE_SLACK, the
 * same arithmetic in every thread) -> P^T to shared memory -> O^T (8 x 4
 * wgmma) -> the stage is refilled with tile k + 2. Row sums stay per thread
 * until the end.
 *
 * Measured (H200, RESULTS.md runs 42-47): sparse GLM B16 2.57x of floor
 * against the mma.sync kernel's 3.02x, B32 1.98x against 2.51x, dense
 * 1.24-1.57x against 1.87-2.14x. Slower, not kept: L2 prefetch of later
 * tiles, a producer warp or warpgroup for the copies (docs/performance.md). */
#ifndef VX_MLA_WGMMA_CUH
#define VX_MLA_WGMMA_CUH

#ifndef VX_MLA_CUH /* already pasted in: no include path needed */
#include "vx_mla.cuh"
#endif

#define VX_MLA_WG_THREADS 128 /* one warpgroup */
#define VX_MLA_WG_TOK 64      /* tokens per tile: wgmma's M */
#define VX_MLA_WG_N 32        /* heads per block: wgmma's N (== VX_MLA_HEADS_PER_BLOCK) */
#define VX_MLA_WG_STAGES 2

/* wgmma exists only in sm_90a code; elsewhere the kernel body is a trap and
 * the host never launches it (vx_mla_choose). */
#if defined(__CUDA_ARCH__) && defined(__CUDA_ARCH_FEAT_SM90_ALL)
#define VX_MLA_WG_DEVICE 1
#else
#define VX_MLA_WG_DEVICE 0
#endif

template <int DC, int DR> VX_HOST_DEVICE_CONSTEXPR_FN bool vx_mla_wg_supported() {
  return (DC + DR) % 64 == 0 && DC % 64 == 0 && DC >= 64;
}

template <int HEADS, int DC, int DR> struct vx_mla_wg_shape {
  static constexpr int D = DC + DR;
  static constexpr int HB = HEADS < VX_MLA_WG_N ? HEADS : VX_MLA_WG_N; /* heads per block */
  static constexpr int CB = D / 64;                                      /* column blocks of a row */
  static constexpr int MB = DC / 64;                                     /* m64 blocks of O^T */
  static constexpr int TILE_BYTES = VX_MLA_WG_TOK * D * 2;
  static constexpr int TILE_BLOCK = VX_MLA_WG_TOK * 128; /* one column block of a tile */
  static constexpr int Q_BYTES = VX_MLA_WG_N * D * 2;
  static constexpr int Q_BLOCK = VX_MLA_WG_N * 128;
  static constexpr int P_BYTES = VX_MLA_WG_N * VX_MLA_WG_TOK * 2;
  /* + 1 KB: the dynamic segment is only 16-byte aligned, the atoms need 1024 */
  static constexpr int SMEM_BYTES = VX_MLA_WG_STAGES * TILE_BYTES + Q_BYTES + P_BYTES + 1024;
  static_assert(vx_mla_wg_supported<DC, DR>(), "latent and rope widths must be multiples of 64");
  static_assert(SMEM_BYTES + 4 * 1024 <= 227 * 1024, "latent too wide for two 64-token stages");
};

template <int HEADS, int DC, int DR> VX_HOST_DEVICE_CONSTEXPR_FN int vx_mla_wg_smem_bytes() {
  return vx_mla_wg_shape<HEADS, DC, DR>::SMEM_BYTES;
}

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
#if VX_MLA_WG_DEVICE
  asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory");
#endif
}
VX_INLINE void vx_wg_commit() {
#if VX_MLA_WG_DEVICE
  asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory");
#endif
}
template <int N> VX_INLINE void vx_wg_wait() {
#if VX_MLA_WG_DEVICE
  asm volatile("wgmma.wait_group.sync.aligned %0;\n" ::"n"(N) : "memory");
#endif
}
/* Shared-memory writes of the generic proxy (st.shared, cp.async) made
 * visible to wgmma's async proxy; each writer fences before the barrier. */
VX_INLINE void vx_fence_proxy_async() {
#if VX_MLA_WG_DEVICE
  asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");
#endif
}
/* Keeps the compiler from moving reads or writes of accumulators across a
 * wgmma fence or wait (the asm statements carry no register dependency). */
template <int N> VX_INLINE void vx_wg_hold(float (&d)[N]) {
#pragma unroll
  for (int i = 0; i < N; ++i) asm volatile("" : "+f"(d[i])::"memory");
}

#define VX_WG_M64N32K16(TY)                                                                                         \
  asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %18, 0;\n"                                                         \
               "wgmma.mma_async.sync.aligned.m64n32k16.f32." TY "." TY " {%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, " \
               "%10, %11, %12, %13, %14, %15}, %16, %17, p, 1, 1, %19, 0;\n}\n"                                     \
               : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]),    \
                 "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]),           \
                 "+f"(d[15])                                                                                        \
               : "l"(da), "l"(db), "r"(accumulate), "n"(TRANS_A))

/* D (+)= A B, m64 n32 k16, f32 accumulators (the m16n8 fragment layout per
 * warp and n8 block: d[4j + 2r + e] = row 16 warp + g + 8r, column 8j + 2q
 * + e). B is K-major; TRANS_A = 1 reads A MN-major. */
template <typename T> struct vx_wgmma_op;
template <> struct vx_wgmma_op<__nv_bfloat16> {
  template <int TRANS_A>
  static VX_INLINE void m64n32k16(float (&d)[16], unsigned long long da, unsigned long long db, int accumulate) {
#if VX_MLA_WG_DEVICE
    VX_WG_M64N32K16("bf16");
#endif
  }
};
template <> struct vx_wgmma_op<__half> {
  template <int TRANS_A>
  static VX_INLINE void m64n32k16(float (&d)[16], unsigned long long da, unsigned long long db, int accumulate) {
#if VX_MLA_WG_DEVICE
    VX_WG_M64N32K16("f16");
#endif
  }
};

template <typename T, int HEADS, int DC, int DR>
static __global__ void __launch_bounds__(VX_MLA_WG_THREADS, 1) vx_mla_decode_partial_wgmma_kernel(vx_decode_args a) {
#if VX_MLA_WG_DEVICE
  typedef vx_mla_wg_shape<HEADS, DC, DR> S;
  typedef vx_wgmma_op<T> W;
  constexpr int D = S::D, HB = S::HB, CB = S::CB, MB = S::MB, TOK = VX_MLA_WG_TOK, N = VX_MLA_WG_N;
  constexpr int HG = vx_mla_head_groups<HEADS>();
  constexpr int QCH = D / 8; /* 16-byte chunks of a row */

  __shared__ float red_s[4][N]; /* per warp: the tile's head maxima, at the end the row sums */
  __shared__ int page_s[VX_MLA_WG_THREADS];
  __shared__ int valid_s[VX_MLA_WG_THREADS];
  extern __shared__ __align__(16) unsigned char vx_mla_wg_smem[];
  vx_pdl_enter(); /* first: the predecessor grid's writes are visible after it */

  const unsigned raw = (unsigned)__cvta_generic_to_shared(vx_mla_wg_smem);
  const unsigned pad = ((raw + 1023u) & ~1023u) - raw;
  unsigned char *ring = vx_mla_wg_smem + pad, *q_s = ring + VX_MLA_WG_STAGES * S::TILE_BYTES, *p_s = q_s + S::Q_BYTES;
  const unsigned ring_a = raw + pad, q_a = ring_a + VX_MLA_WG_STAGES * S::TILE_BYTES, p_a = q_a + S::Q_BYTES;

  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5, g = lane >> 2, quad = lane & 3;
  const int hg = blockIdx.x % HG;
  const int chunk = (blockIdx.x / HG) % a.num_chunks;
  const int row = blockIdx.x / HG / a.num_chunks; /* == request: one latent head */
  const int b = row;
  const vx_chunk_start cs = vx_start_chunk(a, row, b, chunk, tid);
  const int n_req = cs.n_req, begin = cs.begin, end = cs.end;
  if (begin >= end) { /* block-uniform */
    const int heads = HEADS - hg * HB < HB ? HEADS - hg * HB : HB;
    vx_mark_chunk_empty(a, ((long long)row * a.num_chunks + chunk) * HEADS + (long long)hg * HB, heads, tid, VX_MLA_WG_THREADS);
    return;
  }

  /* Q^T: the group's query rows, zero rows past its last head; lands with
   * the first tile's commit group. */
  {
    const T *q = reinterpret_cast<const T *>(a.q) + ((long long)b * HEADS + (long long)hg * HB) * D;
    for (int i = tid; i < N * QCH; i += VX_MLA_WG_THREADS) {
      const int r = i / QCH, c = i % QCH;
      const bool ok = r < HB && hg * HB + r < HEADS;
      vx_cp_async16(q_s + (c >> 3) * S::Q_BLOCK + vx_sw128(r, c & 7), q + (ok ? (long long)r * D + c * 8 : 0), ok);
    }
  }

  const float qscale = a.sm_scale * VX_LOG2E;
  const T *lat = reinterpret_cast<const T *>(a.kv.k_pool);
  const int ps = a.kv.page_size;

  /* Loader: thread copies chunk lcol of every column block of rows lrow,
   * lrow + 16, + 32, + 48 (a warp instruction covers 4 rows x 128 bytes);
   * (page, offset) of its next row advance by 16 tokens a row. */
  const int lrow = tid >> 3, lcol = tid & 7;
  int iss_pl = 0, iss_off = lrow;
  auto issue = [&](int stage, int npg) {
    unsigned char *dst0 = ring + stage * S::TILE_BYTES;
#pragma unroll
    for (int rr = 0; rr < TOK / 16; ++rr) {
      while (iss_off >= ps) { /* page sizes are multiples of 16: at most one step */
        iss_off -= ps;
        ++iss_pl;
      }
      const bool ok = iss_pl < npg && iss_off < valid_s[iss_pl];
      const T *src = lat + vx_kv_offset(a.kv, ok ? page_s[iss_pl] : 0, ok ? iss_off : 0, 0) + lcol * 8;
      unsigned char *dst = dst0 + vx_sw128(lrow + 16 * rr, lcol);
#pragma unroll
      for (int j = 0; j < CB; ++j) vx_cp_async16(dst + j * S::TILE_BLOCK, src + j * 64, ok);
      iss_off += 16;
    }
  };

  /* Descriptors: K and Q^T K-major (leading offset unused), V^T MN-major
   * (both offsets step 8 token rows: whichever the hardware takes for the
   * k direction, the single 64-dim atom of an m64 block needs no other). */
  const unsigned long long desc_k = vx_wg_desc(ring_a, 16, 1024);
  const unsigned long long desc_q = vx_wg_desc(q_a, 16, 1024);
  const unsigned long long desc_v = vx_wg_desc(ring_a, 1024, 1024);
  const unsigned long long desc_p = vx_wg_desc(p_a, 16, 1024);

  float o[MB][16];
#pragma unroll
  for (int m = 0; m < MB; ++m)
#pragma unroll
    for (int i = 0; i < 16; ++i) o[m][i] = 0.f;
  /* This thread's 8 heads (column 8j + 2 quad + e at index 2j + e): running
   * maximum in use and the sum of P over its two token rows. */
  float m_run[8], l_run[8];
#pragma unroll
  for (int i = 0; i < 8; ++i) {
    m_run[i] = VX_NEG_INF;
    l_run[i] = 0.f;
  }
  float s[16];

  int my_phys = cs.phys, my_valid = cs.valid; /* first batch: resolved by vx_start_chunk */
  for (int batch0 = begin; batch0 < end; batch0 += VX_MLA_WG_THREADS) {
    const int npg = end - batch0 < VX_MLA_WG_THREADS ? end - batch0 : VX_MLA_WG_THREADS;
    __syncthreads(); /* previous batch fully consumed */
    page_s[tid] = my_phys;
    valid_s[tid] = my_valid;
    __syncthreads();
    if (batch0 + VX_MLA_WG_THREADS + tid < end)
      vx_resolve_page(a, row, b, n_req, batch0 + VX_MLA_WG_THREADS + tid, &my_phys, &my_valid);

    const int ntok = npg * ps;
    const int ntiles = (ntok + TOK - 1) / TOK;
    iss_pl = 0;
    iss_off = lrow;
    issue(0, npg);
    vx_cp_async_commit();
    if (ntiles > 1) issue(1, npg);
    vx_cp_async_commit();
    for (int k = 0; k < ntiles; ++k) {
      const int st = k & 1;
      vx_cp_async_wait<1>(); /* this thread's copies of tile k (and Q) landed */
      vx_fence_proxy_async();
      __syncthreads(); /* everyone's */

      /* S^T = K Q^T over the D / 16 k-steps (the holds keep the last
       * tile's register work on s before the fence) */
      vx_wg_hold(s);
      vx_wg_fence();
#pragma unroll
      for (int kk = 0; kk < D / 16; ++kk)
        W::template m64n32k16<0>(s, desc_k + ((st * S::TILE_BYTES + (kk >> 2) * S::TILE_BLOCK + (kk & 3) * 32) >> 4),
                                 desc_q + (((kk >> 2) * S::Q_BLOCK + (kk & 3) * 32) >> 4), kk > 0);
      vx_wg_commit();
      vx_wg_wait<0>();
      vx_wg_hold(s);

      /* Mask this thread's two token rows (past the batch or the page's
       * valid tokens: -inf, P = 0), per-head maxima over the tile. */
      bool ok[2];
#pragma unroll
      for (int r = 0; r < 2; ++r) {
        const int tok = k * TOK + 16 * warp + g + 8 * r;
        const int pl = tok / ps;
        ok[r] = tok < ntok && tok - pl * ps < valid_s[pl < npg ? pl : 0];
      }
      float cm[8];
#pragma unroll
      for (int j = 0; j < 4; ++j)
#pragma unroll
        for (int e = 0; e < 2; ++e) {
          float &s0 = s[4 * j + e], &s1 = s[4 * j + 2 + e];
          s0 = ok[0] ? s0 * qscale : VX_NEG_INF;
          s1 = ok[1] ? s1 * qscale : VX_NEG_INF;
          cm[2 * j + e] = fmaxf(s0, s1);
        }
#pragma unroll
      for (int i = 0; i < 8; ++i) {
        cm[i] = fmaxf(cm[i], __shfl_xor_sync(0xffffffffu, cm[i], 4));
        cm[i] = fmaxf(cm[i], __shfl_xor_sync(0xffffffffu, cm[i], 8));
        cm[i] = fmaxf(cm[i], __shfl_xor_sync(0xffffffffu, cm[i], 16));
      }
      if (g == 0)
#pragma unroll
        for (int i = 0; i < 8; ++i) red_s[warp][8 * (i >> 1) + 2 * quad + (i & 1)] = cm[i];
      __syncthreads(); /* every warp's maxima */

      /* Lazy rescale (identical arithmetic in every thread holding a head),
       * P = 2^(s - m) rounded to T into P^T [head][token]. */
      float f[8];
      bool rescale = false;
#pragma unroll
      for (int i = 0; i < 8; ++i) {
        const int h = 8 * (i >> 1) + 2 * quad + (i & 1);
        const float mt = fmaxf(fmaxf(red_s[0][h], red_s[1][h]), fmaxf(red_s[2][h], red_s[3][h]));
        const bool raise = mt > m_run[i] + VX_RESCALE_SLACK;
        f[i] = raise ? exp2f(m_run[i] - mt) : 1.f; /* 0 on the first valid tile */
        m_run[i] = raise ? mt : m_run[i];
        rescale |= raise;
      }
#pragma unroll
      for (int j = 0; j < 4; ++j)
#pragma unroll
        for (int e = 0; e < 2; ++e) {
          const int i = 2 * j + e, h = 8 * j + 2 * quad + e;
          const float p0 = ok[0] ? exp2f(s[4 * j + e] - m_run[i]) : 0.f;
          const float p1 = ok[1] ? exp2f(s[4 * j + 2 + e] - m_run[i]) : 0.f;
          l_run[i] = l_run[i] * f[i] + p0 + p1;
          const int t0 = 16 * warp + g, t1 = t0 + 8;
          *reinterpret_cast<T *>(p_s + vx_sw128(h, t0 >> 3) + (t0 & 7) * 2) = vx_elem<T>::from_float(p0);
          *reinterpret_cast<T *>(p_s + vx_sw128(h, t1 >> 3) + (t1 & 7) * 2) = vx_elem<T>::from_float(p1);
        }
      vx_fence_proxy_async();
      __syncthreads(); /* P^T complete; red_s free again */

      if (rescale)
#pragma unroll
        for (int m = 0; m < MB; ++m)
#pragma unroll
          for (int j = 0; j < 4; ++j)
#pragma unroll
            for (int x = 0; x < 4; ++x) o[m][4 * j + x] *= f[2 * j + (x & 1)];

      /* O^T += V^T P^T: dims of block m x the tile's 64 tokens */
#pragma unroll
      for (int m = 0; m < MB; ++m) vx_wg_hold(o[m]); /* the rescale is done before the fence */
      vx_wg_fence();
#pragma unroll
      for (int m = 0; m < MB; ++m)
#pragma unroll
        for (int ks = 0; ks < TOK / 16; ++ks)
          W::template m64n32k16<1>(o[m], desc_v + ((st * S::TILE_BYTES + m * S::TILE_BLOCK + ks * 2048) >> 4),
                                   desc_p + ((ks * 32) >> 4), 1);
      vx_wg_commit();
      vx_wg_wait<0>();
#pragma unroll
      for (int m = 0; m < MB; ++m) vx_wg_hold(o[m]);
      __syncthreads(); /* stage st and P^T read by every warp */
      if (k + 2 < ntiles) issue(st, npg);
      vx_cp_async_commit();
    }
    vx_cp_async_wait<0>();
  }

  /* Row sums: this thread's two rows -> the warp's 16 (shuffles) -> the
   * tile's 64 (shared memory). */
#pragma unroll
  for (int i = 0; i < 8; ++i) {
    l_run[i] += __shfl_xor_sync(0xffffffffu, l_run[i], 4);
    l_run[i] += __shfl_xor_sync(0xffffffffu, l_run[i], 8);
    l_run[i] += __shfl_xor_sync(0xffffffffu, l_run[i], 16);
  }
  __syncthreads(); /* red_s: the last tile's maxima were read */
  if (g == 0)
#pragma unroll
    for (int i = 0; i < 8; ++i) red_s[warp][8 * (i >> 1) + 2 * quad + (i & 1)] = l_run[i];
  __syncthreads();

  /* Normalised partials of the group's heads; O^T row = dim, column = head. */
  const long long slot0 = ((long long)row * a.num_chunks + chunk) * HEADS + (long long)hg * HB;
#pragma unroll
  for (int i = 0; i < 8; ++i) {
    const int h = 8 * (i >> 1) + 2 * quad + (i & 1);
    if (h >= HB || hg * HB + h >= HEADS) continue;
    const float l = red_s[0][h] + red_s[1][h] + red_s[2][h] + red_s[3][h];
    const float inv = l > 0.f ? 1.f / l : 0.f;
    float *dst = a.ws_o + (slot0 + h) * DC + 16 * warp + g;
#pragma unroll
    for (int m = 0; m < MB; ++m) {
      dst[m * 64] = o[m][4 * (i >> 1) + (i & 1)] * inv;
      dst[m * 64 + 8] = o[m][4 * (i >> 1) + 2 + (i & 1)] * inv;
    }
    if (warp == 0 && g == 0) a.ws_lse[slot0 + h] = l > 0.f ? m_run[i] + log2f(l) : VX_NEG_INF;
  }
#else
  (void)a;
  __trap(); /* built without sm_90a: vx_mla_choose never picks this kernel */
#endif
}

#endif /* VX_MLA_WGMMA_CUH */

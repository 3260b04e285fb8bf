/* vx_mla_wgmma.cuh - MLA decode on Hopper's warpgroup MMA (wgmma, sm_90a).
 *
 * Same contract as vx_mla_decode_partial_mma_kernel (vx_mla.cuh): one block
 * per (request, chunk of pages, group of up to 32 heads), normalised
 * partials and log2-domain LSEs into the workspace, merged by
 * vx_decode_merge_kernel<T, DC>(args, HEADS) -- unless the row's chunks run
 * as one thread-block cluster (or the row has one chunk): then the blocks
 * merge through distributed shared memory and write the output themselves.
 *
 * Why a second kernel: the mma.sync kernel issues ~650 instructions per warp
 * for every 32-token tile (ldmatrix, 68 MMAs, the cross-warp reductions the
 * split of 16-head fragments needs) and waits at three barriers a tile; ncu
 * (bench/RESULTS.md run 41) had it at 1.8-1.9 us a tile against the 1.14 us
 * the bytes allow, the tensor pipe 18% busy. One wgmma multiplies a whole
 * 64 x N x 16 slice from shared memory, so a 64-token tile is 36 + 32
 * instructions per warp and the MMAs run while the warp waits on nothing
 * but their group.
 *
 * Transposed product. With the 20-128 heads of a decode step as wgmma's M
 * (64 rows) most rows would be padding; here the tokens are M and the
 * group's heads, rounded up to 8, are N (24 for GLM's 20, 32 at most):
 *   S^T [64 tokens x N] = K [64 x D] . Q^T [D x N]        (A, B K-major)
 *   O^T [DC x N] += V^T [DC x 64 tokens] . P^T [64 x N]   (A MN-major)
 * V^T is the same shared-memory tile as K read transposed (wgmma's
 * transpose bit), so a latent row is staged once. Heads past the group's
 * last one are zero rows of Q^T (never NaN garbage) and are not written.
 *
 * Shared memory: every operand is stored as 64-element (128-byte) column
 * blocks in the 128-byte swizzle wgmma reads without bank conflicts (16-byte
 * chunk c of row r at r*128 + ((c ^ r%8) * 16), blocks 1024-byte aligned):
 * a ring of 8 KB slots, each one column block of a tile ([64 tokens x 64]),
 * Q^T [N x D], P^T [N x 64 tokens]. One warpgroup (128 threads) per block;
 * one block per SM with two tiles' slots (18 at 576 dims), or (PAIR) two
 * blocks per SM with one tile's 9 slots each.
 *
 * Per tile (four block barriers): wait for the tile's cp.async groups ->
 * S^T (36 wgmma) -> per-head maxima over the tile (shuffles, one exchange
 * through shared memory) -> the lazy-rescale decision (VX_RESCALE_SLACK, the
 * same arithmetic in every thread) -> P^T to shared memory -> O^T (8 x 4
 * wgmma) -> the tile's slots are refilled with the next column blocks. Row
 * sums stay per thread until the end.
 *
 * Measured (H200, RESULTS.md): sparse GLM B16 2.57x of floor against the
 * mma.sync kernel's 3.02x, B32 1.98x against 2.51x (runs 42-47, two whole
 * stages); run 55 (the same two stages, PAIR on long chunks): 2.58-2.62x,
 * 2.01-2.13x, dense 1.16-1.58x. Where the time goes (runs 50-53, tuning
 * probes and %globaltimer traces): the math alone 1.73 us a tile, the
 * copies alone 2.04 us, both 2.97 us, plus ~10 us a launch outside the
 * tiles. Slower, not kept: L2 prefetch of later tiles, a producer warp or
 * warpgroup for the copies, a deeper ring (every slot that fits), two
 * consumer warpgroups on alternate tiles (docs/performance.md); TMA tile
 * copies (TMA below, -DVX_MLA_WG_TMA=1) were 1-2.5% slower than cp.async,
 * 29% at 128 heads with per-slot waits (runs 63-64): kept as a switch. */
#ifndef VX_MLA_WGMMA_CUH
#define VX_MLA_WGMMA_CUH

#ifndef VX_MLA_CUH /* already pasted in: no include path needed */
#include "vx_mla.cuh"
#endif
#ifndef VX_WGMMA_CUH
#include "vx_wgmma.cuh"
#endif

#define VX_MLA_WG_THREADS 128 /* one warpgroup */
#define VX_MLA_WG_TOK 64      /* tokens per tile: wgmma's M */
#define VX_MLA_WG_BLOCK 8192  /* one 64-column block of a tile: a ring slot */
/* Ring slots (64-column blocks of a tile). 0: two whole-tile stages (18 at
 * 576 dims), faster than every slot shared memory holds on sparse, dense
 * and 128 heads alike (RESULTS.md runs 49 and 55); tuning builds: -1 takes
 * every slot that fits, N > 0 exactly N (9: one tile, no prefetch). */
#ifndef VX_MLA_WG_SLOTS
#define VX_MLA_WG_SLOTS 0
#endif
/* Tuning probes, wrong results: 1 skips the math (times the copies), 2 the
 * copies of K/V tiles (times the math on whatever shared memory holds), 3
 * both (times the rest: page ids, Q, the loop's barriers, the epilogue and
 * the merge, i.e. what a launch costs whatever its tiles). */
#ifndef VX_MLA_WG_PROBE
#define VX_MLA_WG_PROBE 0
#endif
#define VX_MLA_WG_PROBE_COPIES (VX_MLA_WG_PROBE != 2 && VX_MLA_WG_PROBE != 3)
#define VX_MLA_WG_PROBE_MATH (VX_MLA_WG_PROBE != 1 && VX_MLA_WG_PROBE != 3)
/* Tuning builds: -DVX_MLA_WG_TRACE=1 has thread 0 of every block write
 * %globaltimer at eight points (entry, pages known, first batch resolved,
 * first tile landed, loop end, exit; partials shared, output written) to
 * ws_o[block * 8 + i] (u64) for `vortex-bench --trace`; valid only when the
 * chunks merge in clusters (the workspace is not used then). */
#ifndef VX_MLA_WG_TRACE
#define VX_MLA_WG_TRACE 0
#endif
#define VX_MLA_WG_MARK(i)                        \
  do {                                           \
    if (VX_MLA_WG_TRACE) vx_trace_mark(a.ws_o, i); \
  } while (0)
/* Tuning builds: with TMA copies, 1 waits for each column block's slot
 * just before its k-steps of S^T (the product starts on the first one to
 * land), 0 for all of the tile's before the product. */
#ifndef VX_MLA_WG_TMA_SLOT_WAIT
#define VX_MLA_WG_TMA_SLOT_WAIT 0
#endif
#define VX_MLA_WG_MAX_CLUSTER 8 /* portable cluster size: chunks merged in shared memory */

template <int DC, int DR> VX_HOST_DEVICE_CONSTEXPR_FN bool vx_mla_wg_supported() {
  return (DC + DR) % 64 == 0 && DC % 64 == 0 && DC >= 64;
}

/* PAIR: the ring holds one tile (no prefetch inside the block) so that two
 * blocks share an SM and hide each other's latencies: faster on long chunks
 * (vx_mla_choose picks it; RESULTS.md run 53). */
template <int HEADS, int DC, int DR, bool PAIR = false> struct vx_mla_wg_shape {
  static constexpr int D = DC + DR;
  static constexpr int HB = HEADS < VX_MLA_HEADS_PER_BLOCK ? HEADS : VX_MLA_HEADS_PER_BLOCK; /* heads per block */
  static constexpr int N = (HB + 7) / 8 * 8; /* wgmma's N: the heads rounded up to n8 */
  static constexpr int NB = N / 8;           /* n8 blocks: a thread holds heads 8j + 2 quad + e */
  static constexpr int CB = D / 64;          /* column blocks (ring slots) of a tile */
  static constexpr int MB = DC / 64;         /* m64 blocks of O^T */
  static constexpr int Q_BYTES = N * D * 2;
  static constexpr int Q_BLOCK = N * 128;
  static constexpr int P_BYTES = N * VX_MLA_WG_TOK * 2;
  static constexpr int PART_STRIDE = DC + 4; /* floats per head row of a merged partial (bank spread) */
  /* 1 KB: the dynamic segment is only 16-byte aligned, the atoms need 1024;
   * 4 KB: static shared memory and the block's reserved kilobyte */
  static constexpr int FIT = (227 * 1024 - 4 * 1024 - 1024 - Q_BYTES - P_BYTES) / VX_MLA_WG_BLOCK;
  static constexpr int STAGES2 = 2 * CB <= FIT ? 2 * CB : FIT;
  static constexpr int SLOTS = PAIR ? CB : VX_MLA_WG_SLOTS > 0 ? VX_MLA_WG_SLOTS : VX_MLA_WG_SLOTS < 0 ? FIT : STAGES2;
  static constexpr int SMEM_BYTES = SLOTS * VX_MLA_WG_BLOCK + Q_BYTES + P_BYTES + 1024;
  /* cp.async groups: the prologue commits one per tile it (partly) fills,
   * then each tile, once computed, one for the column blocks its freed
   * slots take. Tile k has landed when at most this many remain pending: */
  static constexpr int PRO_GROUPS = (SLOTS + CB - 1) / CB;
  static constexpr int PEND_PROLOGUE = PRO_GROUPS - 1; /* tiles k < SLOTS / CB */
  static constexpr int PEND_STEADY = SLOTS / CB - 1;
  static_assert(vx_mla_wg_supported<DC, DR>(), "latent and rope widths must be multiples of 64");
  static_assert(SLOTS >= CB && SLOTS <= FIT, "the ring holds at least the tile in use");
  static_assert(SLOTS <= 32, "TMA: a lane per slot, a phase bit per slot");
  static_assert(HB * PART_STRIDE * 4 <= SLOTS * VX_MLA_WG_BLOCK, "the merged partial reuses the ring");
};

template <int HEADS, int DC, int DR, bool PAIR = false> VX_HOST_DEVICE_CONSTEXPR_FN int vx_mla_wg_smem_bytes() {
  return vx_mla_wg_shape<HEADS, DC, DR, PAIR>::SMEM_BYTES;
}
/* Whether two PAIR blocks fit an SM's 228 KB (with their static shared
 * memory and reserved kilobyte, 4 KB a block at most). */
template <int HEADS, int DC, int DR> VX_HOST_DEVICE_CONSTEXPR_FN bool vx_mla_wg_pair_fits() {
  return 2 * (vx_mla_wg_shape<HEADS, DC, DR, true>::SMEM_BYTES + 4 * 1024) <= 228 * 1024;
}

/* TMA: tiles land by TMA bulk copies of `tm` (the latent pool as [pages x
 * page tokens x D], vx_mla_tmap_encode), a lane of warp 0 issuing each
 * column block and an mbarrier per ring slot (VX_MLA_WG_TMA_SLOT_WAIT:
 * whether S^T starts on a tile's first column block); without it every
 * thread issues cp.async for its share of the rows (tm unused). */
template <typename T, int HEADS, int DC, int DR, bool PAIR = false, bool TMA = false>
static __global__ void __launch_bounds__(VX_MLA_WG_THREADS, 1)
    vx_mla_decode_partial_wgmma_kernel(vx_decode_args a, const __grid_constant__ vx_tmap tm) {
#if VX_WGMMA_DEVICE
  typedef vx_mla_wg_shape<HEADS, DC, DR, PAIR> S;
  constexpr int D = S::D, HB = S::HB, N = S::N, NB = S::NB, CB = S::CB, MB = S::MB, TOK = VX_MLA_WG_TOK;
  constexpr int SLOTS = S::SLOTS, HG = vx_mla_head_groups<HEADS>();
  constexpr int QCH = D / 8; /* 16-byte chunks of a row */

  __shared__ float red_s[4][N]; /* per warp: the tile's head maxima, at the end the row sums */
  __shared__ int page_s[VX_MLA_WG_THREADS];
  __shared__ int valid_s[VX_MLA_WG_THREADS];
  __shared__ float lse_s[N];                          /* merge: this block's LSEs */
  __shared__ float wt_s[VX_MLA_WG_MAX_CLUSTER][N];    /* merge: each chunk's weight per head */
  __shared__ __align__(8) unsigned long long full_s[TMA ? SLOTS : 1]; /* TMA: slot j's column block landed */
  extern __shared__ __align__(16) unsigned char vx_mla_wg_smem[];
  VX_MLA_WG_MARK(0);
  vx_pdl_enter(); /* first: the predecessor grid's writes are visible after it */

  const unsigned raw = (unsigned)__cvta_generic_to_shared(vx_mla_wg_smem);
  const unsigned pad = ((raw + 1023u) & ~1023u) - raw;
  unsigned char *ring = vx_mla_wg_smem + pad, *q_s = ring + SLOTS * VX_MLA_WG_BLOCK, *p_s = q_s + S::Q_BYTES;
  const unsigned ring_a = raw + pad, q_a = ring_a + SLOTS * VX_MLA_WG_BLOCK, p_a = q_a + S::Q_BYTES;

  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5, g = lane >> 2, quad = lane & 3;
  const unsigned full_a = (unsigned)__cvta_generic_to_shared(full_s);
  if (TMA && tid == 0) { /* visible to the other threads after the batch loop's first barrier */
    for (int i = 0; i < SLOTS; ++i) vx_mbar_init(full_a + 8 * i, 1);
    vx_mbar_init_fence();
  }
  /* chunk fastest: a cluster is the chunks of one (request, head group) */
  const int chunk = blockIdx.x % a.num_chunks;
  const int hg = (blockIdx.x / a.num_chunks) % HG;
  const int row = blockIdx.x / a.num_chunks / HG; /* == request: one latent head */
  const int b = row;
  const vx_chunk_start cs = vx_start_chunk(a, row, b, chunk, tid);
  VX_MLA_WG_MARK(1);
  const int n_req = cs.n_req, begin = cs.begin, end = cs.end;
  const int heads = HEADS - hg * HB < HB ? HEADS - hg * HB : HB; /* of this group */

  const T *lat = reinterpret_cast<const T *>(a.kv.k_pool);
  const int ps = a.kv.page_size;
  const float qscale = a.sm_scale * VX_LOG2E;

  /* Q^T: the group's query rows, zero rows past its last head; lands with
   * the first tile's commit group. */
  if (begin < end) {
    const T *q = reinterpret_cast<const T *>(a.q) + ((long long)b * HEADS + (long long)hg * HB) * D;
    for (int i = tid; i < N * QCH; i += VX_MLA_WG_THREADS) {
      const int r = i / QCH, c = i % QCH;
      const bool ok = r < heads;
      vx_cp_async16(q_s + (c >> 3) * S::Q_BLOCK + vx_sw128(r, c & 7), q + (ok ? (long long)r * D + c * 8 : 0), ok);
    }
  }

  /* Loader: the ring holds SLOTS column blocks; column block j of tile t is
   * number t * CB + j of the batch and lives in slot (t * CB + j) % SLOTS.
   * A thread copies 16-byte chunk lcol of rows lrow, lrow + 16, + 32, + 48
   * of each column block it issues (a warp instruction: 4 rows x 128 B). */
  const int lrow = tid >> 3, lcol = tid & 7;
  auto issue = [&](int g0, int g1, int npg, int ntok) { /* column blocks [g0, g1) of the batch */
    while (VX_MLA_WG_PROBE_COPIES && g0 < g1) { /* tuning probes 2 and 3: no K/V copies */
      const int t = g0 / CB, j0 = g0 - t * CB, j1 = j0 + (g1 - g0) < CB ? j0 + (g1 - g0) : CB;
      const T *src[TOK / 16];
      bool ok[TOK / 16];
#pragma unroll
      for (int rr = 0; rr < TOK / 16; ++rr) {
        const int tok = t * TOK + lrow + 16 * rr, pl = tok / ps, off = tok - pl * ps;
        ok[rr] = tok < ntok && off < valid_s[pl < npg ? pl : 0];
        src[rr] = lat + vx_kv_offset(a.kv, ok[rr] ? page_s[pl] : 0, ok[rr] ? off : 0, 0) + lcol * 8;
      }
      int slot = g0 % SLOTS;
      for (int j = j0; j < j1; ++j) {
        unsigned char *dst = ring + slot * VX_MLA_WG_BLOCK;
#pragma unroll
        for (int rr = 0; rr < TOK / 16; ++rr) vx_cp_async16(dst + vx_sw128(lrow + 16 * rr, lcol), src[rr] + j * 64, ok[rr]);
        slot = slot + 1 == SLOTS ? 0 : slot + 1;
      }
      g0 += j1 - j0;
    }
  };

  /* TMA loader (warp 0, lane i issuing column block g0 + i): column block j
   * of tile t is one box per page the tile covers (a 64-token slice of a
   * page of 64+ tokens, or 64 / ps whole pages; none for pages past the
   * batch). Its slot's mbarrier expects the bytes of the boxes issued. */
  auto issue_tma = [&](int g0, int g1, int npg) {
    if (warp == 0 && g0 + lane < g1) { /* g1 - g0 <= SLOTS <= 32 */
      const int gi = g0 + lane, t = gi / CB, j = gi - t * CB, slot = gi % SLOTS;
      const unsigned bar = full_a + 8 * slot, dst = ring_a + slot * VX_MLA_WG_BLOCK;
      if (ps >= TOK) {
        const int tok = t * TOK, pl = tok / ps;
        vx_mbar_expect_tx(bar, TOK * 128);
        vx_tma_load_3d(dst, &tm, j * 64, tok - pl * ps, page_s[pl], bar);
      } else {
        const int per = TOK / ps, p0 = t * per, np = npg - p0 < per ? npg - p0 : per;
        vx_mbar_expect_tx(bar, (unsigned)(np * ps * 128));
        for (int i = 0; i < np; ++i) vx_tma_load_3d(dst + i * ps * 128, &tm, j * 64, 0, page_s[p0 + i], bar);
      }
    }
  };
  unsigned phase = 0;    /* TMA: bit j, the parity slot j's next fill completes */
  bool q_pending = true; /* TMA: Q^T's cp.async not yet waited for */
  auto wait_slot = [&](int slot) { /* TMA: until the slot's column block landed */
    vx_mbar_wait(full_a + 8 * slot, (phase >> slot) & 1u);
    phase ^= 1u << slot;
  };

  /* Descriptors: K and Q^T K-major (leading offset unused), V^T MN-major
   * (both offsets step 8 token rows: whichever the hardware takes for the
   * k direction, the single 64-dim atom of an m64 block needs no other). */
  const unsigned long long desc_k = vx_wg_desc(ring_a, 16, 1024);
  const unsigned long long desc_q = vx_wg_desc(q_a, 16, 1024);
  const unsigned long long desc_v = vx_wg_desc(ring_a, 1024, 1024);
  const unsigned long long desc_p = vx_wg_desc(p_a, 16, 1024);

  float o[MB][N / 2];
#pragma unroll
  for (int m = 0; m < MB; ++m)
#pragma unroll
    for (int i = 0; i < N / 2; ++i) o[m][i] = 0.f;
  /* This thread's 2 NB heads (column 8j + 2 quad + e at index 2j + e):
   * running maximum in use and the sum of P over its two token rows. */
  float m_run[2 * NB], l_run[2 * NB];
#pragma unroll
  for (int i = 0; i < 2 * NB; ++i) {
    m_run[i] = VX_NEG_INF;
    l_run[i] = 0.f;
  }
  float s[N / 2];

  int my_phys = cs.phys, my_valid = cs.valid; /* first batch: resolved by vx_start_chunk */
  for (int batch0 = begin; batch0 < end; batch0 += VX_MLA_WG_THREADS) {
    const int npg = end - batch0 < VX_MLA_WG_THREADS ? end - batch0 : VX_MLA_WG_THREADS;
    __syncthreads(); /* previous batch fully consumed */
    page_s[tid] = my_phys;
    valid_s[tid] = my_valid;
    __syncthreads();
    VX_MLA_WG_MARK(2);
    if (batch0 + VX_MLA_WG_THREADS + tid < end)
      vx_resolve_page(a, row, b, n_req, batch0 + VX_MLA_WG_THREADS + tid, &my_phys, &my_valid);

    const int ntok = npg * ps;
    const int ntiles = (ntok + TOK - 1) / TOK;
    const int ncols = ntiles * CB; /* column blocks */
    /* prologue: the whole ring (cp.async: one commit group per tile it reaches) */
    if constexpr (TMA) {
      issue_tma(0, SLOTS < ncols ? SLOTS : ncols, npg);
    } else {
#pragma unroll
      for (int p = 0; p < S::PRO_GROUPS; ++p) {
        const int g1 = (p + 1) * CB < SLOTS ? (p + 1) * CB : SLOTS;
        issue(p * CB, g1 < ncols ? g1 : ncols, npg, ntok);
        vx_cp_async_commit();
      }
    }
    for (int k = 0; k < ntiles; ++k) {
      if constexpr (TMA) { /* Q^T before the first tile; column blocks wait on their slots below */
        if (q_pending) {
          vx_cp_async_commit();
          vx_cp_async_wait<0>();
          vx_fence_proxy_async();
          __syncthreads();
          q_pending = false;
        }
      } else { /* this thread's copies of tile k (and Q) landed, then everyone's */
        if (k < SLOTS / CB)
          vx_cp_async_wait<S::PEND_PROLOGUE>();
        else
          vx_cp_async_wait<S::PEND_STEADY>();
        vx_fence_proxy_async();
        __syncthreads();
      }
      if (k == 0) VX_MLA_WG_MARK(3);
      if constexpr (VX_MLA_WG_PROBE_MATH) { /* tuning probes 1 and 3: no math */
      int slot0 = (k * CB) % SLOTS; /* of the tile's column block 0 */

      /* TMA without VX_MLA_WG_TMA_SLOT_WAIT: the tile's slots, all before
       * the product (a wait between wgmma makes ptxas fence each batch) */
      if constexpr (TMA && !VX_MLA_WG_TMA_SLOT_WAIT)
        for (int c = 0; c < CB; ++c) wait_slot(slot0 + c < SLOTS ? slot0 + c : slot0 + c - SLOTS);
      /* S^T = K Q^T over the D / 16 k-steps (the holds keep the last
       * tile's register work on s before the fence) */
      vx_wg_hold(s);
      vx_wg_fence();
#pragma unroll
      for (int kk = 0; kk < D / 16; ++kk) {
        const int c = kk >> 2, slot = slot0 + c < SLOTS ? slot0 + c : slot0 + c - SLOTS;
        if (TMA && VX_MLA_WG_TMA_SLOT_WAIT && (kk & 3) == 0) wait_slot(slot);
        vx_wgmma_m64k16<T, N, 0>(s, desc_k + ((slot * VX_MLA_WG_BLOCK + (kk & 3) * 32) >> 4),
                                 desc_q + ((c * S::Q_BLOCK + (kk & 3) * 32) >> 4), kk > 0);
      }
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
      /* TMA lands whole boxes: rows past the batch or a page's valid tokens
       * hold whatever the slot or the pool held, and O^T's 0 x NaN would be
       * NaN. Zeroed here (S^T is done; fenced before the P^T barrier). */
      if constexpr (TMA) {
#pragma unroll
        for (int r = 0; r < 2; ++r)
          if (!ok[r])
            for (int m = 0; m < MB; ++m) {
              const int slot = slot0 + m < SLOTS ? slot0 + m : slot0 + m - SLOTS;
              uint4 *z = reinterpret_cast<uint4 *>(ring + slot * VX_MLA_WG_BLOCK + (16 * warp + g + 8 * r) * 128 + quad * 32);
              z[0] = make_uint4(0u, 0u, 0u, 0u);
              z[1] = make_uint4(0u, 0u, 0u, 0u);
            }
      }
      float cm[2 * NB];
#pragma unroll
      for (int j = 0; j < NB; ++j)
#pragma unroll
        for (int e = 0; e < 2; ++e) {
          float &s0 = s[4 * j + e], &s1 = s[4 * j + 2 + e];
          s0 = ok[0] ? s0 * qscale : VX_NEG_INF;
          s1 = ok[1] ? s1 * qscale : VX_NEG_INF;
          cm[2 * j + e] = fmaxf(s0, s1);
        }
#pragma unroll
      for (int i = 0; i < 2 * NB; ++i) {
        cm[i] = fmaxf(cm[i], __shfl_xor_sync(0xffffffffu, cm[i], 4));
        cm[i] = fmaxf(cm[i], __shfl_xor_sync(0xffffffffu, cm[i], 8));
        cm[i] = fmaxf(cm[i], __shfl_xor_sync(0xffffffffu, cm[i], 16));
      }
      if (g == 0)
#pragma unroll
        for (int i = 0; i < 2 * NB; ++i) red_s[warp][8 * (i >> 1) + 2 * quad + (i & 1)] = cm[i];
      __syncthreads(); /* every warp's maxima */

      /* Lazy rescale (identical arithmetic in every thread holding a head),
       * P = 2^(s - m) rounded to T into P^T [head][token]. */
      float f[2 * NB];
      bool rescale = false;
#pragma unroll
      for (int i = 0; i < 2 * NB; ++i) {
        const int h = 8 * (i >> 1) + 2 * quad + (i & 1);
        const float mt = fmaxf(fmaxf(red_s[0][h], red_s[1][h]), fmaxf(red_s[2][h], red_s[3][h]));
        const bool raise = mt > m_run[i] + VX_RESCALE_SLACK;
        f[i] = raise ? exp2f(m_run[i] - mt) : 1.f; /* 0 on the first valid tile */
        m_run[i] = raise ? mt : m_run[i];
        rescale |= raise;
      }
#pragma unroll
      for (int j = 0; j < NB; ++j)
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
          for (int j = 0; j < NB; ++j)
#pragma unroll
            for (int x = 0; x < 4; ++x) o[m][4 * j + x] *= f[2 * j + (x & 1)];

      /* O^T += V^T P^T: dims of block m x the tile's 64 tokens */
#pragma unroll
      for (int m = 0; m < MB; ++m) vx_wg_hold(o[m]); /* the rescale is done before the fence */
      vx_wg_fence();
#pragma unroll
      for (int m = 0; m < MB; ++m) {
        const int slot = slot0 + m < SLOTS ? slot0 + m : slot0 + m - SLOTS;
#pragma unroll
        for (int ks = 0; ks < TOK / 16; ++ks)
          vx_wgmma_m64k16<T, N, 1>(o[m], desc_v + ((slot * VX_MLA_WG_BLOCK + ks * 2048) >> 4), desc_p + ((ks * 32) >> 4), 1);
      }
      vx_wg_commit();
      vx_wg_wait<0>();
#pragma unroll
      for (int m = 0; m < MB; ++m) vx_wg_hold(o[m]);
      }
      __syncthreads(); /* tile k's slots and P^T read by every warp */
      const int next1 = SLOTS + (k + 1) * CB < ncols ? SLOTS + (k + 1) * CB : ncols;
      if constexpr (TMA) {
        issue_tma(SLOTS + k * CB, next1, npg);
      } else {
        issue(SLOTS + k * CB, next1, npg, ntok);
        vx_cp_async_commit(); /* empty past the batch's last column block: the group count stays regular */
      }
    }
    vx_cp_async_wait<0>();
    VX_MLA_WG_MARK(4);
  }

  /* Row sums: this thread's two rows -> the warp's 16 (shuffles) -> the
   * tile's 64 (shared memory). */
#pragma unroll
  for (int i = 0; i < 2 * NB; ++i) {
    l_run[i] += __shfl_xor_sync(0xffffffffu, l_run[i], 4);
    l_run[i] += __shfl_xor_sync(0xffffffffu, l_run[i], 8);
    l_run[i] += __shfl_xor_sync(0xffffffffu, l_run[i], 16);
  }
  __syncthreads(); /* red_s: the last tile's maxima were read; the ring is idle */
  if (g == 0)
#pragma unroll
    for (int i = 0; i < 2 * NB; ++i) red_s[warp][8 * (i >> 1) + 2 * quad + (i & 1)] = l_run[i];
  __syncthreads();

  /* Launched as clusters of the row's chunks (vx_mla_choose; one chunk
   * needs no cluster): the merge runs here, through distributed shared
   * memory. Otherwise normalised partials and LSEs go to the workspace for
   * vx_decode_merge_kernel. */
  const int nchunk = a.num_chunks;
  const bool merge_here = (int)vx_cluster_size() == nchunk;
  float *part_s = reinterpret_cast<float *>(ring); /* merge: [head][PART_STRIDE], normalised */
  const long long slot0 = ((long long)row * nchunk + chunk) * HEADS + (long long)hg * HB;
#pragma unroll
  for (int i = 0; i < 2 * NB; ++i) {
    const int h = 8 * (i >> 1) + 2 * quad + (i & 1);
    if (h >= heads) continue;
    const float l = red_s[0][h] + red_s[1][h] + red_s[2][h] + red_s[3][h];
    const float inv = l > 0.f ? 1.f / l : 0.f;
    const float lse = l > 0.f ? m_run[i] + log2f(l) : VX_NEG_INF;
    float *dst = merge_here ? part_s + h * S::PART_STRIDE + 16 * warp + g : a.ws_o + (slot0 + h) * DC + 16 * warp + g;
#pragma unroll
    for (int m = 0; m < MB; ++m) {
      dst[m * 64] = o[m][4 * (i >> 1) + (i & 1)] * inv;
      dst[m * 64 + 8] = o[m][4 * (i >> 1) + 2 + (i & 1)] * inv;
    }
    if (warp == 0 && g == 0) {
      if (merge_here)
        lse_s[h] = lse;
      else
        a.ws_lse[slot0 + h] = lse;
    }
  }
  if (!merge_here) return;

  vx_cluster_sync(); /* every chunk's partial and LSEs written */
  VX_MLA_WG_MARK(6);
  /* Weights: chunk c's share of head h (0 for a chunk without tokens, whose
   * partial is zeros). Remote loads cost a round trip across the cluster
   * each: every chunk's is issued before the first is used. */
  constexpr int MAXC = VX_MLA_WG_MAX_CLUSTER;
  if (tid < heads) {
    const unsigned lse_a = (unsigned)__cvta_generic_to_shared(&lse_s[tid]);
    float lc[MAXC];
#pragma unroll
    for (int c = 0; c < MAXC; ++c) lc[c] = c < nchunk ? vx_ld_cluster_f32(vx_cluster_map(lse_a, (unsigned)c)) : VX_NEG_INF;
    float mx = VX_NEG_INF, sum = 0.f;
#pragma unroll
    for (int c = 0; c < MAXC; ++c) mx = fmaxf(mx, lc[c]);
#pragma unroll
    for (int c = 0; c < MAXC; ++c) {
      lc[c] = mx == VX_NEG_INF ? 0.f : exp2f(lc[c] - mx);
      sum += lc[c];
    }
    const float inv = sum > 0.f ? 1.f / sum : 0.f; /* no tokens at all: output zero */
#pragma unroll
    for (int c = 0; c < MAXC; ++c)
      if (c < nchunk) wt_s[c][tid] = lc[c] * inv;
  }
  __syncthreads();
  /* This block (cluster rank == chunk) writes dims [d0, d1) of every head. */
  const int dslice = ((DC + nchunk - 1) / nchunk + 3) & ~3;
  const int d0 = chunk * dslice < DC ? chunk * dslice : DC, d1 = d0 + dslice < DC ? d0 + dslice : DC;
  const int nv = (d1 - d0) / 4;
  const unsigned part_a = ring_a;
  T *out = reinterpret_cast<T *>(a.out) + ((long long)b * HEADS + (long long)hg * HB) * DC;
  for (int i = tid; i < heads * nv; i += VX_MLA_WG_THREADS) {
    const int h = i / nv, d = d0 + 4 * (i - h * nv);
    const unsigned off = (unsigned)((h * S::PART_STRIDE + d) * 4);
    float4 v[MAXC];
#pragma unroll
    for (int c = 0; c < MAXC; ++c)
      v[c] = c < nchunk ? vx_ld_cluster_f32x4(vx_cluster_map(part_a + off, (unsigned)c)) : make_float4(0.f, 0.f, 0.f, 0.f);
    float4 acc = make_float4(0.f, 0.f, 0.f, 0.f);
#pragma unroll
    for (int c = 0; c < MAXC; ++c) {
      const float w = c < nchunk ? wt_s[c][h] : 0.f;
      acc.x += w * v[c].x;
      acc.y += w * v[c].y;
      acc.z += w * v[c].z;
      acc.w += w * v[c].w;
    }
    *reinterpret_cast<uint2 *>(out + (long long)h * DC + d) =
        make_uint2(vx_mma_op<T>::pack(acc.x, acc.y), vx_mma_op<T>::pack(acc.z, acc.w));
  }
  VX_MLA_WG_MARK(7);
  vx_cluster_sync(); /* no block leaves while another still reads its shared memory */
  VX_MLA_WG_MARK(5);
#else
  (void)a;
  __trap(); /* built without sm_90a: vx_mla_choose never picks this kernel */
#endif
}

#endif /* VX_MLA_WGMMA_CUH */

/* vx_mla.cuh - paged decode attention over an MLA latent cache.
 *
 * MLA (DeepSeek-V2/V3, GLM-4.x) caches one latent row per token, shared by
 * all heads: [pages, page_size, dc + dr] (e.g. 512 + 64). With the query
 * already absorbed into latent space ([batch, heads, dc + dr]) one dot
 * product over all dc + dr values is the whole logit, and the output is the
 * softmax-weighted sum of the first dc latent values ([batch, heads, dc]).
 *
 * Reuses vx_decode_args with kv.num_kv_heads == 1, kv.head_dim == dc + dr,
 * num_qo_heads == HEADS; partials go to ws_o [batch, chunks, HEADS, dc] and
 * are combined by vx_decode_merge_kernel<T, DC>(args, HEADS). The
 * CUDA-core kernel this one replaced is in vx_mla_simt.cuh (libvortexrt
 * built with -DVX_MLA_SIMT); generated code does not carry it. */
#ifndef VX_MLA_CUH
#define VX_MLA_CUH

#ifndef VX_ATTENTION_CUH /* already pasted in: no include path needed */
#include "vx_attention.cuh"
#endif

/* ------------------------------------------------------------------
 * Tensor-core MLA decode on mma.sync: what libvortexrt and generated code
 * launch where the wgmma kernel (vx_mla_wgmma.cuh) is not picked: devices
 * other than compute capability 9.0, builds with -DVX_MLA_WGMMA=0.
 *
 * Why: at 20+ heads MLA does ~19 MACs per latent byte, which CUDA cores
 * cannot sustain at HBM rate; mma.sync (bf16/f16 in, f32 out) can.
 *
 * Work split. One block of VX_MLA_THREADS (8 warps, one block per SM) per (request, chunk of pages, head group); a head
 * group is up to 32 heads (two m16 tiles), so 20 heads (GLM) use one group
 * and 128 (DeepSeek-V3) four, whose blocks are adjacent in the grid and
 * read the same latent rows (the repeats come from L2).
 * Grid = rows * num_chunks * vx_mla_head_groups<HEADS>().
 *
 * Per tile of VX_MLA_TOK (32) latent rows, staged by every thread with
 * 16-byte cp.async into a ring of S::STAGES tiles of [token][dc+dr] rows
 * (row stride padded by 8 elements: ldmatrix of 8 rows hits 8 different
 * bank groups), the block does:
 *  1. S = Q K^T  [heads x TOK tokens] as MT*TOK/16 fragments of 16 heads x 16
 *     tokens (two n8 tiles); each fragment's (dc+dr)/16 k-steps are split
 *     over KSPLIT = WARPS / (MT*2) warps (k = kh, kh + KSPLIT, ...), with
 *     VX_MLA_CHAINS accumulator sets so the MMA chains stay short. Q (the group's rows and one zero
 *     row every padding row reads) is in shared memory; a warp with at
 *     most 18 k-steps keeps its fragments in registers. With KSPLIT > 1,
 *     warps kh > 0 leave partial sums in shared memory.      __syncthreads
 *     Warps kh == 0 add them, mask tokens (-inf), and write per-row maxima
 *     of their 16 tokens to shared memory.                 __syncthreads
 *  2. softmax: the kh == 0 warps take the tile maximum of each row, apply the
 *     lazy rescale rule (new max used only when it exceeds the one in use
 *     by > VX_RESCALE_SLACK), write P (rounded to T) and the row sums of
 *     P (f32) to shared memory.                              __syncthreads
 *  3. O += P V: warp w owns output dims [w*dc/WARPS, (w+1)*dc/WARPS) for
 *     every head (MT x dc/(8*WARPS) n8 tiles of f32 accumulators); it
 *     repeats the rescale decision from the same maxima (identical
 *     arithmetic, so every warp agrees with step 2), then multiplies P
 *     (ldmatrix) by V (transposing ldmatrix from the same latent rows).
 * Pipelined: step 3 of tile k runs in the same phase as step 1 of tile
 * k + 1 (two independent MMA streams per warp, no barrier between them),
 * so a tile costs three barriers (two with KSPLIT 1) instead of four; the
 * maxima and sums are double-buffered by tile parity for it (ncu, run 28:
 * Q K^T and P V each took a quarter of the stall samples, one after the
 * other).
 * The block writes normalised partials and log2-domain LSEs per head to
 * the workspace exactly like the CUDA-core kernel, so
 * vx_decode_merge_kernel<T, DC>(args, HEADS) merges the chunks. */
/* 8 warps, one block per SM, 32-token tiles. Measured and dropped (H200,
 * GLM-4.7-Flash geometry, bench/RESULTS.md): 4-warp blocks, two per SM
 * (runs 29, 31: dense 14% faster, sparse no faster at B32, 5-7% slower at
 * B16, DeepSeek-V3's 32-head groups 20% slower) and 64-token tiles (run 35:
 * within 2%), neither of which leaves room for the pipeline's three stages;
 * 16-warp blocks (run 39: 128 registers, sparse 18-22% slower; kept as a
 * tuning build, -DVX_MLA_WARPS=16). */
#ifndef VX_MLA_WARPS
#define VX_MLA_WARPS 8
#endif
#define VX_MLA_THREADS (VX_MLA_WARPS * 32)
#define VX_MLA_TOK 32
/* Ring depth: 0 = as many stages as fit next to Q, P and the partial sums,
 * at most 5 (tuning builds: -DVX_MLA_STAGES=4, the same speed in run 38). */
#ifndef VX_MLA_STAGES
#define VX_MLA_STAGES 0
#endif
#define VX_MLA_HEADS_PER_BLOCK 32
#ifndef VX_MLA_CHAINS
#define VX_MLA_CHAINS 4
#endif
#ifndef VX_MLA_Q_REGS
#define VX_MLA_Q_REGS 1
#endif
#define VX_MLA_PAGE_BATCH VX_MLA_THREADS

template <int HEADS> VX_HOST_DEVICE_CONSTEXPR_FN int vx_mla_head_groups() {
  return (HEADS + VX_MLA_HEADS_PER_BLOCK - 1) / VX_MLA_HEADS_PER_BLOCK;
}

template <int HEADS, int DC, int DR> struct vx_mla_shape {
  static constexpr int D = DC + DR;
  static constexpr int HB = HEADS < VX_MLA_HEADS_PER_BLOCK ? HEADS : VX_MLA_HEADS_PER_BLOCK; /* heads per block */
  static constexpr int MT = (HB + 15) / 16;   /* m16 tiles of heads */
  static constexpr int LROW = D + 8;          /* padded latent / Q row (elements) */
  static constexpr int QROWS = HB + 1;        /* the group's heads and one zero row the padding reads */
  static constexpr int PROW = VX_MLA_TOK + 8; /* padded P row (elements) */
  static constexpr int KSTEPS = D / 16;
  static constexpr int WDIMS = DC / VX_MLA_WARPS; /* output dims per warp */
  static constexpr int NT = WDIMS / 8;            /* n8 tiles per warp and m-tile */
  static constexpr int CHUNKS = D / 8;            /* 16-byte chunks per latent row */
  static constexpr int TILE_ELEMS = VX_MLA_TOK * LROW;
  static constexpr int Q_BYTES = QROWS * LROW * 2;
  static constexpr int P_BYTES = MT * 16 * PROW * 2;
  static constexpr int NF = MT * (VX_MLA_TOK / 16);   /* S fragments (16 heads x 16 tokens) per tile */
  static constexpr int KSPLIT = VX_MLA_WARPS / NF;    /* warps sharing one fragment's k-steps */
  static constexpr int PART_BYTES = (KSPLIT - 1) * NF * 32 * 8 * 4; /* their partial sums */
  /* the kernel's static shared memory: maxima and sums (two tiles), page batch */
  static constexpr int STATIC_BYTES = 2 * 2 * (VX_MLA_TOK / 16) * MT * 16 * 4 + 2 * VX_MLA_PAGE_BATCH * 4;
  static constexpr int FIT = (227 * 1024 - STATIC_BYTES - Q_BYTES - P_BYTES - PART_BYTES) / (TILE_ELEMS * 2);
  static constexpr int STAGES = VX_MLA_STAGES > 0 ? VX_MLA_STAGES : (FIT < 5 ? FIT : 5);
  static constexpr int SMEM_BYTES = STAGES * TILE_ELEMS * 2 + Q_BYTES + P_BYTES + PART_BYTES;
  static_assert(D % 16 == 0, "dc + dr must be a multiple of 16");
  static_assert(DC % (16 * VX_MLA_WARPS) == 0, "dc must be a multiple of 128");
  static_assert(MT <= 2 && VX_MLA_WARPS % NF == 0, "at most two m16 head tiles per block");
  static_assert(VX_MLA_TOK % 16 == 0 && VX_MLA_THREADS % VX_MLA_TOK == 0, "16-token slices; whole loader groups per row");
  static_assert(SMEM_BYTES + STATIC_BYTES <= 227 * 1024, "latent too wide for the shared-memory ring");
  static_assert(STAGES >= 3, "the pipeline holds two tiles while at least one more is in flight");
};

/* Dynamic shared memory a vx_mla_decode_partial_mma_kernel<T, HEADS, DC, DR>
 * launch needs (above 48 KB: raise the limit with cudaFuncSetAttribute). */
template <int HEADS, int DC, int DR> VX_HOST_DEVICE_CONSTEXPR_FN int vx_mla_smem_bytes() {
  return vx_mla_shape<HEADS, DC, DR>::SMEM_BYTES;
}

/* mma.sync and ldmatrix: vx_mma_op and vx_ldmatrix_x4(_trans), vx_common.cuh. */

template <typename T, int HEADS, int DC, int DR>
static __global__ void __launch_bounds__(VX_MLA_THREADS, 1) vx_mla_decode_partial_mma_kernel(vx_decode_args a) {
  typedef vx_mla_shape<HEADS, DC, DR> S;
  typedef vx_mma_op<T> MMA;
  constexpr int D = S::D, HB = S::HB, MT = S::MT, LROW = S::LROW, PROW = S::PROW, NT = S::NT;
  constexpr int HG = vx_mla_head_groups<HEADS>();
  constexpr int NSLICE = VX_MLA_TOK / 16; /* 16-token slices per tile */

  __shared__ float red_max[2][NSLICE][MT * 16]; /* [tile & 1]: tile k + 1's are written while k's are read */
  __shared__ float red_sum[2][NSLICE][MT * 16];
  __shared__ int page_s[VX_MLA_PAGE_BATCH];
  __shared__ int valid_s[VX_MLA_PAGE_BATCH];
  extern __shared__ __align__(16) unsigned char vx_mla_smem[];
  T *ring = reinterpret_cast<T *>(vx_mla_smem);
  T *q_s = ring + S::STAGES * S::TILE_ELEMS;
  T *p_s = q_s + S::QROWS * LROW;
  float *part_s = reinterpret_cast<float *>(p_s + MT * 16 * PROW); /* [KSPLIT-1][NF][8][32 lanes] */
  vx_pdl_enter(); /* first: the predecessor grid's writes are visible after it */

  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const int g = lane >> 2, quad = lane & 3, mat = lane >> 3, mr = lane & 7;
  const int hg = blockIdx.x % HG;
  const int chunk = (blockIdx.x / HG) % a.num_chunks;
  const int row = blockIdx.x / HG / a.num_chunks; /* == request: one latent head */
  const int b = row;
  const vx_chunk_start cs = vx_start_chunk(a, row, b, chunk, tid);
  const int n_req = cs.n_req, begin = cs.begin, end = cs.end;
  if (begin >= end) { /* block-uniform */
    const int heads = HEADS - hg * HB < HB ? HEADS - hg * HB : HB;
    vx_mark_chunk_empty(a, ((long long)row * a.num_chunks + chunk) * HEADS + (long long)hg * HB, heads, tid, VX_MLA_THREADS);
    return;
  }

  /* Query rows of this head group (zero rows past the last head, and row
   * HB, which the m-tile padding reads), copied asynchronously: they land
   * with the first tile's commit group, so the query load overlaps the
   * wait for the first tile. */
  {
    const T *q = reinterpret_cast<const T *>(a.q) + ((long long)b * HEADS + (long long)hg * HB) * D;
    for (int i = tid; i < S::QROWS * S::CHUNKS; i += VX_MLA_THREADS) {
      const int r = i / S::CHUNKS, c = i % S::CHUNKS;
      const bool ok = r < HB && hg * HB + r < HEADS;
      vx_cp_async16(q_s + r * LROW + c * 8, q + (ok ? (long long)r * D + c * 8 : 0), ok);
    }
  }

  const float qscale = a.sm_scale * VX_LOG2E;
  const T *lat = reinterpret_cast<const T *>(a.kv.k_pool);
  const int ps = a.kv.page_size;

  /* S role: fragment sf = (m-tile smt, token slice sts), k-split part skh;
   * the skh == 0 warps also own the fragment's softmax. */
  constexpr int NF = S::NF, KSPLIT = S::KSPLIT;
  const int sf = warp % NF, skh = warp / NF;
  const bool s_role = skh == 0;
  const int smt = sf / NSLICE, sts = sf % NSLICE;
  /* The warp's Q fragments (its m-tile, k-steps skh, skh + KSPLIT, ...)
   * live in registers once the query has landed: read from shared memory
   * every tile they cost as many ldmatrix wavefronts as K itself. */
  constexpr int QK = (S::KSTEPS + KSPLIT - 1) / KSPLIT;
  /* A warp owning all k-steps (KSPLIT 1) would need 4 * 36 registers. */
  constexpr bool QREG = VX_MLA_Q_REGS && QK <= 18;
  unsigned qreg[QREG ? QK : 1][4];
  const int q_row = smt * 16 + (mat & 1) * 8 + mr; /* this lane's ldmatrix row of Q */
  const T *qrow = q_s + (q_row < HB ? q_row : HB) * LROW + (mat >> 1) * 8;
  auto load_q = [&]() {
#pragma unroll
    for (int j = 0; j < (QREG ? QK : 0); ++j) {
      const int k = skh + j * KSPLIT;
      if (k < S::KSTEPS) vx_ldmatrix_x4(qreg[j], qrow + k * 16);
    }
  };
  float m_s[2] = {VX_NEG_INF, VX_NEG_INF}; /* rows smt*16 + g, + 8 */
  /* PV role (every warp): dims [warp * WDIMS, +WDIMS) of every head row. */
  float o[MT][NT][4];
  float m_pv[MT][2], l_pv[MT][2];
#pragma unroll
  for (int mt = 0; mt < MT; ++mt) {
    m_pv[mt][0] = m_pv[mt][1] = VX_NEG_INF;
    l_pv[mt][0] = l_pv[mt][1] = 0.f;
#pragma unroll
    for (int t = 0; t < NT; ++t) o[mt][t][0] = o[mt][t][1] = o[mt][t][2] = o[mt][t][3] = 0.f;
  }

  /* Loader: thread copies row tid / LPR of a tile, chunks tid % LPR + LPR k.
   * Tiles are issued in order within a page batch, so the thread's
   * (page, offset) advances by VX_MLA_TOK tokens per tile instead of a
   * division by the runtime page size each time (ncu put a fifth of the
   * stall samples in the issue code, run 28; the change measured within
   * noise, run 29). */
  constexpr int LPR = VX_MLA_THREADS / VX_MLA_TOK; /* loader threads per row */
  const int lrow = tid / LPR, lcol = tid % LPR;
  int iss_pl = 0, iss_off = lrow; /* page (within the batch) and offset of this thread's next row */
  auto issue = [&](int stage, int npg) {
    while (iss_off >= ps) { /* at most VX_MLA_TOK / 16 steps: page sizes are multiples of 16 */
      iss_off -= ps;
      ++iss_pl;
    }
    const bool ok = iss_pl < npg && iss_off < valid_s[iss_pl];
    const T *src = lat + vx_kv_offset(a.kv, ok ? page_s[iss_pl] : 0, ok ? iss_off : 0, 0);
    T *dst = ring + stage * S::TILE_ELEMS + lrow * LROW;
#pragma unroll
    for (int j = 0; j < (S::CHUNKS + LPR - 1) / LPR; ++j) {
      const int c = lcol + j * LPR;
      if (c < S::CHUNKS) vx_cp_async16(dst + c * 8, src + c * 8, ok);
    }
    iss_off += VX_MLA_TOK;
  };

  /* 1. S = Q K^T for this warp's fragment (16 heads x 16 tokens) and
   * k-steps; warps kh > 0 leave their partial sums in shared memory. */
  auto qk = [&](int stage, float (&s)[2][4]) {
    const T *krow = ring + stage * S::TILE_ELEMS + (sts * 16 + (mat >> 1) * 8 + mr) * LROW + (mat & 1) * 8;
    /* VX_MLA_CHAINS independent accumulator sets (steps j mod CHAINS) keep
     * dependent MMAs apart; 2 and 4 measured the same (runs 29, 40). */
    float sx[VX_MLA_CHAINS][2][4];
#pragma unroll
    for (int x = 0; x < VX_MLA_CHAINS; ++x)
#pragma unroll
      for (int j = 0; j < 2; ++j)
#pragma unroll
        for (int e = 0; e < 4; ++e) sx[x][j][e] = 0.f;
#pragma unroll
    for (int j = 0; j < QK; ++j) {
      const int k = skh + j * KSPLIT;
      if (S::KSTEPS % KSPLIT == 0 || k < S::KSTEPS) { /* no branch when every warp has QK steps */
        unsigned kb[4], qa[4];
        vx_ldmatrix_x4(kb, krow + k * 16);
        if (!QREG) vx_ldmatrix_x4(qa, qrow + k * 16);
        const unsigned *qf = QREG ? qreg[QREG ? j : 0] : qa;
        MMA::run_m16(sx[j % VX_MLA_CHAINS][0], qf, kb[0], kb[1]);
        MMA::run_m16(sx[j % VX_MLA_CHAINS][1], qf, kb[2], kb[3]);
      }
    }
#pragma unroll
    for (int j = 0; j < 2; ++j)
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        float t = sx[0][j][e];
#pragma unroll
        for (int x = 1; x < VX_MLA_CHAINS; ++x) t += sx[x][j][e];
        s[j][e] = t;
      }
    if (!s_role) {
      float *dst = part_s + ((skh - 1) * NF + sf) * 8 * 32 + lane;
#pragma unroll
      for (int j = 0; j < 2; ++j)
#pragma unroll
        for (int e = 0; e < 4; ++e) dst[(j * 4 + e) * 32] = s[j][e];
    }
  };

  /* After the partial sums are visible (kh == 0 warps): add them, mask
   * tokens past the page's valid ones (-inf), write the per-row maxima of
   * the fragment's 16 tokens to red_max[buf]. */
  auto mask_max = [&](int tile, int ntok, int buf, float (&s)[2][4], float (&sc)[2][4], bool (&okv)[2][4]) {
#pragma unroll
    for (int kh = 1; kh < KSPLIT; ++kh) {
      const float *src = part_s + ((kh - 1) * NF + sf) * 8 * 32 + lane;
#pragma unroll
      for (int j = 0; j < 2; ++j)
#pragma unroll
        for (int e = 0; e < 4; ++e) s[j][e] += src[(j * 4 + e) * 32];
    }
    /* The 16-token slice lies in one page (page sizes are multiples of 16). */
    const int t16 = tile * VX_MLA_TOK + sts * 16;
    int lim = 0; /* valid tokens of the slice */
    if (t16 < ntok) {
      const int pl = t16 / ps, off = t16 - pl * ps;
      lim = valid_s[pl] - off;
    }
    float mx0 = VX_NEG_INF, mx1 = VX_NEG_INF;
#pragma unroll
    for (int j = 0; j < 2; ++j)
#pragma unroll
      for (int e = 0; e < 2; ++e) {
        const bool ok = j * 8 + quad * 2 + e < lim;
        okv[j][e] = okv[j][e + 2] = ok;
        sc[j][e] = ok ? s[j][e] * qscale : VX_NEG_INF;         /* row g */
        sc[j][e + 2] = ok ? s[j][e + 2] * qscale : VX_NEG_INF; /* row g + 8 */
        mx0 = fmaxf(mx0, sc[j][e]);
        mx1 = fmaxf(mx1, sc[j][e + 2]);
      }
    mx0 = fmaxf(mx0, __shfl_xor_sync(0xffffffffu, mx0, 1));
    mx0 = fmaxf(mx0, __shfl_xor_sync(0xffffffffu, mx0, 2));
    mx1 = fmaxf(mx1, __shfl_xor_sync(0xffffffffu, mx1, 1));
    mx1 = fmaxf(mx1, __shfl_xor_sync(0xffffffffu, mx1, 2));
    if (quad == 0) {
      red_max[buf][sts][smt * 16 + g] = mx0;
      red_max[buf][sts][smt * 16 + g + 8] = mx1;
    }
  };

  /* 2. Softmax of the tile with the lazy running maximum (kh == 0 warps,
   * after every slice's maxima are visible): P (rounded to T) into p_s,
   * row sums of P (f32) into red_sum[buf]. */
  auto softmax = [&](int buf, const float (&sc)[2][4], const bool (&okv)[2][4]) {
    float sum[2];
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      const int hr = smt * 16 + g + r * 8;
      float mx = VX_NEG_INF;
#pragma unroll
      for (int i = 0; i < NSLICE; ++i) mx = fmaxf(mx, red_max[buf][i][hr]);
      if (mx > m_s[r] + VX_RESCALE_SLACK) m_s[r] = mx;
      sum[r] = 0.f;
    }
    T *prow0 = p_s + (smt * 16 + g) * PROW + sts * 16 + quad * 2;
#pragma unroll
    for (int j = 0; j < 2; ++j) {
      float p[4];
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        p[e] = okv[j][e] ? exp2f(sc[j][e] - m_s[e >> 1]) : 0.f;
        sum[e >> 1] += p[e];
      }
      *reinterpret_cast<unsigned *>(prow0 + j * 8) = MMA::pack(p[0], p[1]);
      *reinterpret_cast<unsigned *>(prow0 + 8 * PROW + j * 8) = MMA::pack(p[2], p[3]);
    }
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      sum[r] += __shfl_xor_sync(0xffffffffu, sum[r], 1);
      sum[r] += __shfl_xor_sync(0xffffffffu, sum[r], 2);
    }
    if (quad == 0) {
      red_sum[buf][sts][smt * 16 + g] = sum[0];
      red_sum[buf][sts][smt * 16 + g + 8] = sum[1];
    }
  };

  /* 3. Every warp: the same rescale decision as step 2 from the same maxima
   * (identical arithmetic, so all agree; a factor of 1 when the maximum in
   * use stands, which keeps this branch-free so that the MMAs of O += P V
   * can interleave with the next tile's Q K^T), then O += P V. */
  auto pv = [&](int stage, int buf) {
#pragma unroll
    for (int mt = 0; mt < MT; ++mt)
#pragma unroll
      for (int r = 0; r < 2; ++r) {
        const int hr = mt * 16 + g + r * 8;
        float mx = VX_NEG_INF, sm = 0.f;
#pragma unroll
        for (int i = 0; i < NSLICE; ++i) {
          mx = fmaxf(mx, red_max[buf][i][hr]);
          sm += red_sum[buf][i][hr];
        }
        const bool raise = mx > m_pv[mt][r] + VX_RESCALE_SLACK;
        const float f = raise ? exp2f(m_pv[mt][r] - mx) : 1.f; /* 0 on the first valid tile */
        m_pv[mt][r] = raise ? mx : m_pv[mt][r];
        l_pv[mt][r] = l_pv[mt][r] * f + sm;
#pragma unroll
        for (int t = 0; t < NT; ++t) {
          o[mt][t][r * 2] *= f;
          o[mt][t][r * 2 + 1] *= f;
        }
      }
    const T *kt = ring + stage * S::TILE_ELEMS;
#pragma unroll
    for (int ks = 0; ks < NSLICE; ++ks) {
      unsigned pa[MT][4];
#pragma unroll
      for (int mt = 0; mt < MT; ++mt)
        vx_ldmatrix_x4(pa[mt], p_s + (mt * 16 + (mat & 1) * 8 + mr) * PROW + ks * 16 + (mat >> 1) * 8);
      const T *vrow = kt + (ks * 16 + (mat & 1) * 8 + mr) * LROW + warp * S::WDIMS + (mat >> 1) * 8;
#pragma unroll
      for (int t = 0; t < NT; t += 2) {
        unsigned vb[4]; /* (tok 0-7, dims t) (tok 8-15, dims t) (tok 0-7, dims t+1) (tok 8-15, dims t+1) */
        vx_ldmatrix_x4_trans(vb, vrow + t * 8);
#pragma unroll
        for (int mt = 0; mt < MT; ++mt) {
          MMA::run_m16(o[mt][t], pa[mt], vb[0], vb[1]);
          MMA::run_m16(o[mt][t + 1], pa[mt], vb[2], vb[3]);
        }
      }
    }
  };

  int my_phys = cs.phys, my_valid = cs.valid; /* first batch: resolved by vx_start_chunk */

  /* Software pipeline over a batch's tiles: tile t lives in stage
   * t % STAGES; iteration k multiplies O += P V for tile k together with
   * Q K^T of tile k + 1 (independent MMA streams a warp can interleave),
   * and requests tile k + STAGES once every warp is past tile k. */
  float s[2][4], sc[2][4];
  bool okv[2][4];
  for (int batch0 = begin; batch0 < end; batch0 += VX_MLA_PAGE_BATCH) {
    const int npg = end - batch0 < VX_MLA_PAGE_BATCH ? end - batch0 : VX_MLA_PAGE_BATCH;
    __syncthreads(); /* previous batch fully consumed */
    page_s[tid] = my_phys;
    valid_s[tid] = my_valid;
    __syncthreads();
    if (batch0 + VX_MLA_PAGE_BATCH + tid < end)
      vx_resolve_page(a, row, b, n_req, batch0 + VX_MLA_PAGE_BATCH + tid, &my_phys, &my_valid);

    const int ntok = npg * ps;
    const int ntiles = (ntok + VX_MLA_TOK - 1) / VX_MLA_TOK;
    iss_pl = 0;
    iss_off = lrow;
#pragma unroll
    for (int k = 0; k < S::STAGES; ++k) {
      if (k < ntiles) issue(k, npg);
      vx_cp_async_commit();
    }
    vx_cp_async_wait<S::STAGES - 1>();
    __syncthreads(); /* tile 0 landed for every thread */
    if (QREG && batch0 == begin) load_q(); /* q_s landed with tile 0 */
    qk(0, s);
    if (KSPLIT > 1) __syncthreads(); /* the partial sums are in shared memory */
    if (s_role) mask_max(0, ntok, 0, s, sc, okv);
    __syncthreads(); /* every slice's maxima */
    if (s_role) softmax(0, sc, okv);
    for (int k = 0; k < ntiles; ++k) {
      const bool more = k + 1 < ntiles; /* block-uniform */
      vx_cp_async_wait<S::STAGES - 2>(); /* committed: tiles 0 .. k + STAGES - 1 */
      __syncthreads(); /* tile k + 1 landed; P and red_*[k & 1] of tile k visible */
      if (more) {
        qk((k + 1) % S::STAGES, s);
        pv(k % S::STAGES, k & 1);
        if (KSPLIT > 1) __syncthreads();
        if (s_role) mask_max(k + 1, ntok, (k + 1) & 1, s, sc, okv);
      } else {
        pv(k % S::STAGES, k & 1);
      }
      __syncthreads(); /* every warp is past tile k's stage and P; tile k + 1's maxima visible */
      if (k + S::STAGES < ntiles) issue(k % S::STAGES, npg);
      vx_cp_async_commit();
      if (more && s_role) softmax((k + 1) & 1, sc, okv);
    }
    vx_cp_async_wait<0>();
  }

  /* Normalised partials of this head group's heads, dims of this warp. */
  const long long slot0 = ((long long)row * a.num_chunks + chunk) * HEADS + (long long)hg * HB;
#pragma unroll
  for (int mt = 0; mt < MT; ++mt)
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      const int h = mt * 16 + g + r * 8;
      if (h >= HB || hg * HB + h >= HEADS) continue;
      const float l = l_pv[mt][r];
      const float inv = l > 0.f ? 1.f / l : 0.f;
      float *dst = a.ws_o + (slot0 + h) * DC + warp * S::WDIMS + quad * 2;
#pragma unroll
      for (int t = 0; t < NT; ++t) {
        float2 v;
        v.x = o[mt][t][r * 2] * inv;
        v.y = o[mt][t][r * 2 + 1] * inv;
        *reinterpret_cast<float2 *>(dst + t * 8) = v;
      }
      if (warp == 0 && quad == 0) a.ws_lse[slot0 + h] = l > 0.f ? m_pv[mt][r] + log2f(l) : VX_NEG_INF;
    }
}


#endif /* VX_MLA_CUH */

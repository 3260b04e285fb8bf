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
#include "vx_attention.cuh"
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

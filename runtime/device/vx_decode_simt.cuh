/* vx_decode_simt.cuh - the CUDA-core split-KV partial kernel for GQA/MHA
 * paged decode: the portable reference the tensor-core kernel
 * (vx_decode_mma.cuh) replaced. libvortexrt's GPU test runs it against the
 * same host reference; neither libvortexrt's launcher nor generated code
 * launches it, so generated files do not carry it.
 *
 * Inner loop layout: a token's K row (head_dim 16-bit values) is split over
 * TPT lanes, each lane moving VPT 16-byte vectors; the lanes' partial dot
 * products meet through xor shuffles. Lanes also own the same slice of the
 * output, so the V accumulation needs no communication until the end. VPT
 * shrinks as the group grows so that the per-lane accumulator (group * 8 *
 * VPT floats) stays at <= 64 registers.
 *
 * Memory pipeline: each warp walks its own iterations (8-16 tokens, 4 KB of
 * K+V) and keeps VX_DECODE_STAGES of them in flight with cp.async into a
 * private shared-memory ring. A lane copies exactly the 16-byte vectors it
 * later reads, so no barrier is needed between copy and use; padding
 * tokens are zero-filled, never read. Holding the in-flight data in shared
 * memory instead of registers is what keeps enough bytes moving per SM to
 * approach the copy bandwidth. Softmax: VX_RESCALE_SLACK (vx_attention.cuh). */
#ifndef VX_DECODE_SIMT_CUH
#define VX_DECODE_SIMT_CUH

#ifndef VX_ATTENTION_CUH /* already pasted in: no include path needed */
#include "vx_attention.cuh"
#endif

#define VX_DECODE_STAGES 3
/* Resident blocks per SM the register allocator must allow: enough that
 * 8-16 warps keep two 4 KB stages each in flight, without spilling the
 * group's accumulators (ptxas -v: no spills for any instantiation). */
#define VX_DECODE_MIN_BLOCKS(group) ((group) <= 1 ? 4 : ((group) <= 4 ? 3 : 2))

template <int HEAD_DIM, int GROUP> struct vx_decode_shape {
  static constexpr int VEC_PER_ROW = HEAD_DIM / 8;
  static constexpr int VPT = GROUP <= 2 ? 4 : (GROUP <= 4 ? 2 : 1);
  static constexpr int TPT = VEC_PER_ROW / VPT;  /* lanes per token */
  static constexpr int TPW = 32 / TPT;           /* tokens per warp step */
  static constexpr int UNROLL = 4 / VPT;         /* steps per iteration */
  static constexpr int TOK_PER_ITER = TPW * UNROLL;
  static_assert(HEAD_DIM % 64 == 0 && HEAD_DIM <= 256, "head_dim must be 64, 128, 192 or 256");
  static_assert(VEC_PER_ROW % VPT == 0 && TPT <= 32 && 32 % TPT == 0, "bad lane split");
  static_assert(TOK_PER_ITER <= 16, "an iteration must fit in the smallest page (16)");
  static constexpr int VEC_PER_LANE = UNROLL * VPT; /* 4 K + 4 V vectors per lane per iteration */
  /* Dynamic shared memory: [warp][stage][K|V][VEC_PER_LANE][lane] vectors. */
  static constexpr int WARP_RING_VECS = VX_DECODE_STAGES * 2 * VEC_PER_LANE * 32;
  static constexpr int SMEM_BYTES = VX_DECODE_WARPS * WARP_RING_VECS * 16;
  static_assert(GROUP * HEAD_DIM * 4 <= WARP_RING_VECS * 16, "a warp's ring must hold its partial output");
};

/* Dynamic shared memory a vx_decode_partial_kernel<T, D, G> launch needs.
 * Above 48 KB, so the launcher must raise the limit once per kernel:
 * cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes). */
template <int HEAD_DIM, int GROUP> VX_HOST_DEVICE_CONSTEXPR_FN int vx_decode_smem_bytes() {
  return vx_decode_shape<HEAD_DIM, GROUP>::SMEM_BYTES;
}

template <typename T, int HEAD_DIM, int GROUP>
static __global__ void __launch_bounds__(VX_DECODE_THREADS, VX_DECODE_MIN_BLOCKS(GROUP))
    vx_decode_partial_kernel(vx_decode_args a) {
  typedef vx_decode_shape<HEAD_DIM, GROUP> S;
  constexpr int VPT = S::VPT, TPT = S::TPT, TPW = S::TPW, U = S::UNROLL, NVEC = S::VEC_PER_LANE;

  __shared__ __align__(16) float q_s[GROUP][HEAD_DIM];
  __shared__ float red_m[VX_DECODE_WARPS][GROUP];
  __shared__ float red_l[VX_DECODE_WARPS][GROUP];
  __shared__ int page_s[VX_PAGE_BATCH];
  __shared__ int valid_s[VX_PAGE_BATCH];
  extern __shared__ vx_vec16 vx_decode_ring[];
  vx_pdl_enter(); /* first: the predecessor grid's writes are visible after it */

  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const int chunk = blockIdx.x % a.num_chunks;
  const int row = blockIdx.x / a.num_chunks;
  const int kvh = a.kv.num_kv_heads;
  const int b = row / kvh, h = row % kvh;
  vx_vec16 *ring = vx_decode_ring + warp * S::WARP_RING_VECS;

  const vx_chunk_start cs = vx_start_chunk(a, row, b, chunk, tid);
  const int n_req = cs.n_req, begin = cs.begin, end = cs.end;
  if (begin >= end) {
    vx_mark_chunk_empty(a, ((long long)row * a.num_chunks + chunk) * GROUP, GROUP, tid, VX_DECODE_THREADS);
    return;
  }

  /* Query group in f32, pre-scaled so logits come out in log2 units. */
  const float qscale = a.sm_scale * VX_LOG2E;
  const T *q = reinterpret_cast<const T *>(a.q) + ((long long)b * a.num_qo_heads + (long long)h * GROUP) * HEAD_DIM;
  for (int i = tid; i < GROUP * HEAD_DIM; i += VX_DECODE_THREADS)
    q_s[i / HEAD_DIM][i % HEAD_DIM] = vx_elem<T>::to_float(q[i]) * qscale;

  const int tg = lane / TPT; /* token slot within a warp step */
  const int j = lane % TPT;  /* which vectors of the row this lane owns */
  const int ps = a.kv.page_size;
  const T *kpool = reinterpret_cast<const T *>(a.kv.k_pool);
  const T *vpool = reinterpret_cast<const T *>(a.kv.v_pool);

  float acc[GROUP][VPT * 8];
  float m_run[GROUP], l_run[GROUP];
#pragma unroll
  for (int g = 0; g < GROUP; ++g) {
    m_run[g] = VX_NEG_INF;
    l_run[g] = 0.f;
#pragma unroll
    for (int e = 0; e < VPT * 8; ++e) acc[g][e] = 0.f;
  }

  /* Start copying iteration `it` (tokens [it*TOK_PER_ITER, +TOK_PER_ITER)
   * of the current page batch) into ring stage `stage`. */
  auto issue = [&](int it, int stage) {
    const int slot = it * S::TOK_PER_ITER;
    const int pl = slot / ps, off = slot % ps;
    const int phys = page_s[pl], valid = valid_s[pl];
    if (off >= valid) return; /* warp-uniform: the whole step is padding */
    vx_vec16 *kb = ring + stage * 2 * NVEC * 32, *vb = kb + NVEC * 32;
#pragma unroll
    for (int u = 0; u < U; ++u) {
      const int tok = off + u * TPW + tg;
      const bool ok = tok < valid;
      const long long base = vx_kv_offset(a.kv, phys, ok ? tok : 0, h);
#pragma unroll
      for (int v = 0; v < VPT; ++v) {
        const long long e = base + (long long)(j + TPT * v) * 8;
        vx_cp_async16(&kb[(u * VPT + v) * 32 + lane], kpool + e, ok);
        vx_cp_async16(&vb[(u * VPT + v) * 32 + lane], vpool + e, ok);
      }
    }
  };

  /* Attend to the tokens of iteration `it`, already in ring stage `stage`. */
  auto consume = [&](int it, int stage) {
    const int slot = it * S::TOK_PER_ITER;
    const int pl = slot / ps, off = slot % ps;
    const int valid = valid_s[pl];
    if (off >= valid) return;
    const vx_vec16 *kb = ring + stage * 2 * NVEC * 32, *vb = kb + NVEC * 32;
    bool ok[U];
    float s[U][GROUP];
#pragma unroll
    for (int u = 0; u < U; ++u) {
      ok[u] = off + u * TPW + tg < valid;
#pragma unroll
      for (int g = 0; g < GROUP; ++g) s[u][g] = 0.f;
    }
#pragma unroll
    for (int v = 0; v < VPT; ++v) {
      const int d0 = (j + TPT * v) * 8;
      float kf[U][8];
#pragma unroll
      for (int u = 0; u < U; ++u) vx_unpack8<T>(kb[(u * VPT + v) * 32 + lane], kf[u]);
#pragma unroll
      for (int g = 0; g < GROUP; ++g) {
        const float4 qa = *reinterpret_cast<const float4 *>(&q_s[g][d0]);
        const float4 qb = *reinterpret_cast<const float4 *>(&q_s[g][d0 + 4]);
#pragma unroll
        for (int u = 0; u < U; ++u)
          s[u][g] += qa.x * kf[u][0] + qa.y * kf[u][1] + qa.z * kf[u][2] + qa.w * kf[u][3] + qb.x * kf[u][4] +
                     qb.y * kf[u][5] + qb.z * kf[u][6] + qb.w * kf[u][7];
      }
    }
    /* Sum the row's slices across its TPT lanes (all lanes get the sum). */
#pragma unroll
    for (int o = 1; o < TPT; o <<= 1)
#pragma unroll
      for (int u = 0; u < U; ++u)
#pragma unroll
        for (int g = 0; g < GROUP; ++g) s[u][g] += __shfl_xor_sync(0xffffffffu, s[u][g], o);

#pragma unroll
    for (int g = 0; g < GROUP; ++g) {
      float mx = VX_NEG_INF;
#pragma unroll
      for (int u = 0; u < U; ++u) {
        s[u][g] = ok[u] ? s[u][g] : VX_NEG_INF;
        mx = fmaxf(mx, s[u][g]);
      }
#pragma unroll
      for (int o = TPT; o < 32; o <<= 1) mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, o));
      /* mx is warp-uniform, so this branch never diverges. NaN logits
       * (NaN in q or K) fail the test and surface as NaN output. */
      if (mx > m_run[g] + VX_RESCALE_SLACK) {
        const float f = exp2f(m_run[g] - mx); /* 0 on the first step */
        l_run[g] *= f;
#pragma unroll
        for (int e = 0; e < VPT * 8; ++e) acc[g][e] *= f;
        m_run[g] = mx;
      }
    }

#pragma unroll
    for (int u = 0; u < U; ++u) {
      float p[GROUP];
#pragma unroll
      for (int g = 0; g < GROUP; ++g) {
        p[g] = ok[u] ? exp2f(s[u][g] - m_run[g]) : 0.f;
        l_run[g] += p[g];
      }
#pragma unroll
      for (int v = 0; v < VPT; ++v) {
        float vf[8];
        vx_unpack8<T>(vb[(u * VPT + v) * 32 + lane], vf);
#pragma unroll
        for (int g = 0; g < GROUP; ++g)
#pragma unroll
          for (int e = 0; e < 8; ++e) acc[g][v * 8 + e] += p[g] * vf[e];
      }
    }
  };

  int my_phys = cs.phys, my_valid = cs.valid; /* first batch: resolved by vx_start_chunk */

  for (int batch0 = begin; batch0 < end; batch0 += VX_PAGE_BATCH) {
    const int npg = end - batch0 < VX_PAGE_BATCH ? end - batch0 : VX_PAGE_BATCH;
    __syncthreads(); /* previous batch fully consumed (also orders q_s) */
    page_s[tid] = my_phys;
    valid_s[tid] = my_valid;
    __syncthreads();
    /* Prefetch the next batch's page-table entries while this one streams. */
    if (batch0 + VX_PAGE_BATCH + tid < end)
      vx_resolve_page(a, row, b, n_req, batch0 + VX_PAGE_BATCH + tid, &my_phys, &my_valid);

    /* This warp's iterations are warp, warp + WARPS, ...: a software
     * pipeline STAGES - 1 iterations deep. Group k holds iteration k. */
    const int iters = npg * ps / S::TOK_PER_ITER;
    const int mine = warp < iters ? (iters - 1 - warp) / VX_DECODE_WARPS + 1 : 0;
#pragma unroll
    for (int k = 0; k < VX_DECODE_STAGES - 1; ++k) {
      if (k < mine) issue(warp + k * VX_DECODE_WARPS, k);
      vx_cp_async_commit();
    }
    for (int k = 0; k < mine; ++k) {
      vx_cp_async_wait<VX_DECODE_STAGES - 2>();
      consume(warp + k * VX_DECODE_WARPS, k % VX_DECODE_STAGES);
      /* Refill the stage consumed one iteration ago (never the current). */
      const int next = k + VX_DECODE_STAGES - 1;
      if (next < mine) issue(warp + next * VX_DECODE_WARPS, next % VX_DECODE_STAGES);
      vx_cp_async_commit();
    }
    vx_cp_async_wait<0>();
  }
  __syncwarp(); /* all lanes' copies landed before the ring is reused below */

  /* Warp level: lanes with the same j hold different tokens' sums. */
#pragma unroll
  for (int o = TPT; o < 32; o <<= 1)
#pragma unroll
    for (int g = 0; g < GROUP; ++g) {
      l_run[g] += __shfl_xor_sync(0xffffffffu, l_run[g], o);
#pragma unroll
      for (int e = 0; e < VPT * 8; ++e) acc[g][e] += __shfl_xor_sync(0xffffffffu, acc[g][e], o);
    }
  /* The warp's ring is idle now: it holds the warp's partial output. */
  float *red_o = reinterpret_cast<float *>(ring);
  if (tg == 0) {
#pragma unroll
    for (int g = 0; g < GROUP; ++g)
#pragma unroll
      for (int v = 0; v < VPT; ++v)
#pragma unroll
        for (int e = 0; e < 8; ++e) red_o[g * HEAD_DIM + (j + TPT * v) * 8 + e] = acc[g][v * 8 + e];
  }
  if (lane == 0) {
#pragma unroll
    for (int g = 0; g < GROUP; ++g) {
      red_m[warp][g] = m_run[g];
      red_l[warp][g] = l_run[g];
    }
  }
  __syncthreads();

  /* Block level: combine the warps' running states, then normalise. */
  const float *all_red = reinterpret_cast<const float *>(vx_decode_ring);
  constexpr int RED_STRIDE = S::WARP_RING_VECS * 4; /* floats per warp ring */
  float *ws_o = a.ws_o + ((long long)row * a.num_chunks + chunk) * GROUP * HEAD_DIM;
  float *ws_lse = a.ws_lse + ((long long)row * a.num_chunks + chunk) * GROUP;
  for (int i = tid; i < GROUP * HEAD_DIM; i += VX_DECODE_THREADS) {
    const int g = i / HEAD_DIM, d = i % HEAD_DIM;
    float mx = VX_NEG_INF;
#pragma unroll
    for (int w = 0; w < VX_DECODE_WARPS; ++w) mx = fmaxf(mx, red_m[w][g]);
    float o = 0.f, l = 0.f;
    if (mx != VX_NEG_INF) {
#pragma unroll
      for (int w = 0; w < VX_DECODE_WARPS; ++w) {
        if (red_m[w][g] == VX_NEG_INF) continue; /* warp saw no token */
        const float f = exp2f(red_m[w][g] - mx);
        o += all_red[w * RED_STRIDE + g * HEAD_DIM + d] * f;
        l += red_l[w][g] * f;
      }
    }
    ws_o[i] = l > 0.f ? o / l : 0.f;
    if (d == 0) ws_lse[g] = l > 0.f ? mx + log2f(l) : VX_NEG_INF;
  }
}

#endif /* VX_DECODE_SIMT_CUH */

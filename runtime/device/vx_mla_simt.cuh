/* vx_mla_simt.cuh - the CUDA-core MLA decode kernel (16 and 20 heads),
 * kept as the portable reference for vx_mla_decode_partial_mma_kernel
 * (vx_mla.cuh); libvortexrt launches it only when built with -DVX_MLA_SIMT.
 * Same arguments and workspace layout as the tensor-core kernel.
 *
 * Layout: one block per (request, chunk of pages) holding every head, so a
 * latent row is read from memory once. Tiles of 16 tokens are staged in
 * shared memory (rows padded to an odd number of 32-bit words so the 16
 * tokens of a warp's QK step fall in 16 different banks); thread (head, t)
 * computes one logit, threads tid < dc/2 own two output columns for every
 * head. This is the straightforward CUDA-core formulation: with 20+ heads
 * MLA decode does ~19 MACs per byte read, above what CUDA cores sustain at
 * full HBM bandwidth, so it is correct but not at the bytes floor (13-19x
 * on the H200, bench/RESULTS.md run 5), which is why vx_mla.cuh exists. */
#ifndef VX_MLA_SIMT_CUH
#define VX_MLA_SIMT_CUH

#ifndef VX_ATTENTION_CUH /* already pasted in: no include path needed */
#include "vx_attention.cuh"
#endif

#define VX_MLA_TILE 16

template <typename T, int HEADS, int DC, int DR>
static __global__ void __launch_bounds__(HEADS * VX_MLA_TILE) vx_mla_decode_partial_kernel(vx_decode_args a) {
  constexpr int D = DC + DR;
  constexpr int NT = HEADS * VX_MLA_TILE;
  constexpr int WORDS = D / 2;       /* 32-bit words (element pairs) per row */
  constexpr int ROWW = WORDS | 1;    /* odd stride: conflict-free columns */
  constexpr int VECS = D / 8;        /* 16-byte vectors per row */
  static_assert(D % 8 == 0 && DC % 2 == 0, "latent width must be a multiple of 8");
  static_assert(NT >= DC / 2, "need one thread per output column pair");
  static_assert(NT % 32 == 0, "heads * 16 must fill whole warps");

  __shared__ unsigned int q_s[HEADS][ROWW];
  __shared__ unsigned int lat_s[VX_MLA_TILE][ROWW];
  __shared__ float p_s[VX_MLA_TILE][HEADS];
  __shared__ float f_s[HEADS];
  __shared__ float m_s[HEADS], l_s[HEADS];
  __shared__ int page_s[NT], valid_s[NT];
  vx_pdl_enter(); /* first: the predecessor grid's writes are visible after it */

  const int tid = threadIdx.x;
  const int chunk = blockIdx.x % a.num_chunks;
  const int row = blockIdx.x / a.num_chunks; /* == request: one latent head */
  const int b = row;
  const vx_chunk_start cs = vx_start_chunk(a, row, b, chunk, tid);
  const int n_req = cs.n_req, begin = cs.begin, end = cs.end;
  if (begin >= end) {
    vx_mark_chunk_empty(a, ((long long)row * a.num_chunks + chunk) * HEADS, HEADS, tid, NT);
    return;
  }

  const unsigned int *q = reinterpret_cast<const unsigned int *>(reinterpret_cast<const T *>(a.q) +
                                                                 (long long)b * HEADS * D);
  for (int i = tid; i < HEADS * WORDS; i += NT) q_s[i / WORDS][i % WORDS] = q[i];

  const int hq = tid / VX_MLA_TILE, tq = tid % VX_MLA_TILE; /* QK role */
  const float qscale = a.sm_scale * VX_LOG2E;
  float m_run = VX_NEG_INF, l_run = 0.f;     /* head hq, same in its 16 lanes */
  float acc[HEADS][2];                       /* PV role: columns 2*tid, 2*tid+1 */
#pragma unroll
  for (int h = 0; h < HEADS; ++h) acc[h][0] = acc[h][1] = 0.f;

  const T *lat = reinterpret_cast<const T *>(a.kv.k_pool);
  const int ps = a.kv.page_size;
  int my_phys = cs.phys, my_valid = cs.valid; /* first batch: resolved by vx_start_chunk */

  for (int batch0 = begin; batch0 < end; batch0 += NT) {
    const int npg = end - batch0 < NT ? end - batch0 : NT;
    __syncthreads();
    page_s[tid] = my_phys;
    valid_s[tid] = my_valid;
    __syncthreads();
    if (batch0 + NT + tid < end) vx_resolve_page(a, row, b, n_req, batch0 + NT + tid, &my_phys, &my_valid);

    for (int slot = 0; slot < npg * ps; slot += VX_MLA_TILE) {
      const int pl = slot / ps, off = slot % ps;
      const int phys = page_s[pl], valid = valid_s[pl];
      if (off >= valid) continue; /* block-uniform */
      __syncthreads();            /* previous tile's lat_s / p_s consumed */
      for (int i = tid; i < VX_MLA_TILE * VECS; i += NT) {
        const int t = i / VECS, v = i % VECS;
        vx_vec16 x = make_uint4(0, 0, 0, 0);
        if (off + t < valid) x = vx_load_stream16(lat + vx_kv_offset(a.kv, phys, off + t, 0) + v * 8);
        unsigned int *dst = &lat_s[t][v * 4];
        dst[0] = x.x;
        dst[1] = x.y;
        dst[2] = x.z;
        dst[3] = x.w;
      }
      __syncthreads();

      float s = 0.f;
#pragma unroll 8
      for (int w = 0; w < WORDS; ++w) {
        float q0, q1, k0, k1;
        vx_elem<T>::unpack2(q_s[hq][w], q0, q1);
        vx_elem<T>::unpack2(lat_s[tq][w], k0, k1);
        s += q0 * k0 + q1 * k1;
      }
      s = off + tq < valid ? s * qscale : VX_NEG_INF;
      float tmax = s;
      for (int o = VX_MLA_TILE / 2; o > 0; o >>= 1) tmax = fmaxf(tmax, __shfl_xor_sync(0xffffffffu, tmax, o));
      const float m_new = fmaxf(m_run, tmax); /* finite: token off is valid */
      const float f = exp2f(m_run - m_new);
      const float p = off + tq < valid ? exp2f(s - m_new) : 0.f;
      float psum = p;
      for (int o = VX_MLA_TILE / 2; o > 0; o >>= 1) psum += __shfl_xor_sync(0xffffffffu, psum, o);
      l_run = l_run * f + psum;
      m_run = m_new;
      p_s[tq][hq] = p;
      if (tq == 0) f_s[hq] = f;
      __syncthreads();

      if (tid < DC / 2) {
#pragma unroll
        for (int h = 0; h < HEADS; ++h) {
          acc[h][0] *= f_s[h];
          acc[h][1] *= f_s[h];
        }
        for (int t = 0; t < VX_MLA_TILE; ++t) {
          float v0, v1;
          vx_elem<T>::unpack2(lat_s[t][tid], v0, v1);
#pragma unroll
          for (int h = 0; h < HEADS; ++h) {
            acc[h][0] += p_s[t][h] * v0;
            acc[h][1] += p_s[t][h] * v1;
          }
        }
      }
    }
  }

  if (tq == 0) {
    m_s[hq] = m_run;
    l_s[hq] = l_run;
  }
  __syncthreads();
  const long long slot0 = ((long long)row * a.num_chunks + chunk) * HEADS;
  if (tid < DC / 2) {
#pragma unroll
    for (int h = 0; h < HEADS; ++h) {
      const float l = l_s[h];
      float2 o;
      o.x = l > 0.f ? acc[h][0] / l : 0.f;
      o.y = l > 0.f ? acc[h][1] / l : 0.f;
      *reinterpret_cast<float2 *>(&a.ws_o[(slot0 + h) * DC + 2 * tid]) = o;
    }
  }
  if (tid < HEADS) a.ws_lse[slot0 + tid] = l_s[tid] > 0.f ? m_s[tid] + log2f(l_s[tid]) : VX_NEG_INF;
}

#endif /* VX_MLA_SIMT_CUH */

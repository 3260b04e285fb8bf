/* model_kernels.cuh - the non-attention work of a Qwen3-style decoder layer
 * at decode (one new token a request) that is not a matrix product (those
 * are cuBLAS's): residual add + RMSNorm, the per-head q/k RMSNorm and
 * rotary embedding with the new token's K/V written into its paged-cache
 * slot, and SiLU(gate) * up. Plain kernels: together they move a few MB a
 * layer against the weights' 100 MB, so their speed hardly shows. Checked
 * against host references in model_bench.cu (check_layer). */
#ifndef VX_MODEL_KERNELS_CUH
#define VX_MODEL_KERNELS_CUH

#include <cuda_bf16.h>
#include <stdint.h>

typedef __nv_bfloat16 mb_bf16;

constexpr int MB_ROW_THREADS = 256;

/* Sum of v over the block (blockDim.x a multiple of 32, at most 1024). */
__device__ inline float mb_block_sum(float v) {
  __shared__ float part[32];
  for (int o = 16; o; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  __syncthreads(); /* an earlier call's readers are done with part */
  if (lane == 0) part[warp] = v;
  __syncthreads();
  float t = lane < (int)(blockDim.x >> 5) ? part[lane] : 0.0f;
  for (int o = 16; o; o >>= 1) t += __shfl_xor_sync(0xffffffffu, t, o);
  return t;
}

/* Row b: x[b] += delta[b] when delta is given (the residual stream stays in
 * f32), then out[b] = bf16(x[b] / rms(x[b]) * w). One block a row. */
__global__ void __launch_bounds__(MB_ROW_THREADS)
    mb_add_rmsnorm(float *x, const mb_bf16 *delta, const mb_bf16 *w, mb_bf16 *out, int hidden, float eps) {
  float *xr = x + (size_t)blockIdx.x * hidden;
  float ss = 0.0f;
  for (int i = threadIdx.x; i < hidden; i += blockDim.x) {
    float v = xr[i];
    if (delta) {
      v += __bfloat162float(delta[(size_t)blockIdx.x * hidden + i]);
      xr[i] = v;
    }
    ss += v * v;
  }
  const float inv = rsqrtf(mb_block_sum(ss) / hidden + eps);
  for (int i = threadIdx.x; i < hidden; i += blockDim.x)
    out[(size_t)blockIdx.x * hidden + i] = __float2bfloat16(xr[i] * inv * __bfloat162float(w[i]));
}

/* What the rotary embedding and the cache write need of one step. */
typedef struct mb_rope_args {
  const mb_bf16 *qkv;    /* [batch][(heads + 2 kv_heads) * dim]: q heads, k heads, v heads */
  const mb_bf16 *q_norm; /* [dim] */
  const mb_bf16 *k_norm; /* [dim] */
  mb_bf16 *q;            /* out: [batch][heads][dim] */
  mb_bf16 *k_pool, *v_pool; /* NHD pages: [page][token][kv head][dim] */
  const int *indptr, *indices, *last_page_len; /* CSR page table */
  int heads, kv_heads, page_size;
  int position; /* of the new token: every request has position + 1 tokens */
  float theta, eps;
} mb_rope_args;

/* Block (b, j), one thread a dim (blockDim.x == dim, even): j < heads
 * normalises and rotates query head j into q; the next kv_heads blocks do
 * the same for a key head and write it to the new token's slot; the last
 * kv_heads copy a value head there. Rotation pairs dims i and i + dim / 2
 * with angle position * theta^(-2i / dim) (Qwen3 / Llama "rotate half"). */
__global__ void mb_qk_norm_rope_append(mb_rope_args a) {
  extern __shared__ float y[]; /* [dim] */
  const int b = blockIdx.x, j = blockIdx.y, d = threadIdx.x, dim = blockDim.x, half = dim / 2;
  const int row = a.heads + 2 * a.kv_heads;
  const float x = __bfloat162float(a.qkv[((size_t)b * row + j) * dim + d]);
  const int last = a.indices[a.indptr[b + 1] - 1], slot = a.last_page_len[b] - 1;
  const size_t at = (((size_t)last * a.page_size + slot) * a.kv_heads) * dim + d;
  if (j >= a.heads + a.kv_heads) { /* value head: as it is */
    a.v_pool[at + (size_t)(j - a.heads - a.kv_heads) * dim] = __float2bfloat16(x);
    return;
  }
  const bool is_q = j < a.heads;
  const float inv = rsqrtf(mb_block_sum(x * x) / dim + a.eps);
  y[d] = x * inv * __bfloat162float((is_q ? a.q_norm : a.k_norm)[d]);
  __syncthreads();
  const int i = d % half;
  const float freq = powf(a.theta, -2.0f * (float)i / (float)dim), angle = (float)a.position * freq;
  float s, c;
  sincosf(angle, &s, &c);
  const float r = d < half ? y[d] * c - y[d + half] * s : y[d] * c + y[d - half] * s;
  if (is_q)
    a.q[((size_t)b * a.heads + j) * dim + d] = __float2bfloat16(r);
  else
    a.k_pool[at + (size_t)(j - a.heads) * dim] = __float2bfloat16(r);
}

/* h[b][i] = silu(gu[b][i]) * gu[b][inter + i]: gate rows first, then up. */
__global__ void mb_silu_mul(const mb_bf16 *gu, mb_bf16 *h, int batch, int inter) {
  const size_t n = (size_t)batch * inter;
  for (size_t e = blockIdx.x * (size_t)blockDim.x + threadIdx.x; e < n; e += (size_t)gridDim.x * blockDim.x) {
    const size_t b = e / inter, i = e % inter;
    const float g = __bfloat162float(gu[b * 2 * inter + i]), u = __bfloat162float(gu[b * 2 * inter + inter + i]);
    h[e] = __float2bfloat16(g / (1.0f + expf(-g)) * u);
  }
}

#endif /* VX_MODEL_KERNELS_CUH */

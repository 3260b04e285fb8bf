/* attn_check.h - f64 host reference of paged decode attention and the
 * output checks built on it, shared by the step benchmark (step_check.h)
 * and the model benchmark (bench/model): a wrong kernel fails the run
 * instead of printing a fast number. Reads back only one row's pages
 * (gathered on the device), so it stays cheap at 128K. Needs vx_paged_kv
 * (any generated header) and step_util.h. */
#ifndef VX_ATTN_CHECK_H
#define VX_ATTN_CHECK_H

#include <cmath>
#include <vector>

#include "step_util.h"

/* out[i][t][d] = pool[pages[i] * page_stride + head_off + t * tok_stride + d]
 * for t < tokens, d < dim: one row's pages (or summaries) made contiguous. */
__global__ void sb_gather(const uint16_t *pool, const int *pages, int np, long long page_stride, long long head_off,
                          long long tok_stride, int tokens, int dim, uint16_t *out) {
  const long long total = (long long)np * tokens * dim;
  for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < total; i += (long long)gridDim.x * blockDim.x) {
    const int d = (int)(i % dim), t = (int)(i / dim % tokens), p = (int)(i / ((long long)dim * tokens));
    out[i] = pool[(long long)pages[p] * page_stride + head_off + (long long)t * tok_stride + d];
  }
}

/* Host copy of the gathered data as floats: [np][tokens][dim]. */
static inline std::vector<float> sb_gather_host(const void *pool, const std::vector<int> &phys,
                                                long long page_stride, long long head_off, long long tok_stride,
                                                int tokens, int dim) {
  const size_t n = phys.size() * (size_t)tokens * dim;
  std::vector<float> out(n);
  if (n == 0) return out;
  int *dpages;
  uint16_t *dout;
  CK(cudaMalloc(&dpages, phys.size() * 4));
  CK(cudaMalloc(&dout, n * 2));
  CK(cudaMemcpy(dpages, phys.data(), phys.size() * 4, cudaMemcpyHostToDevice));
  sb_gather<<<1024, 256>>>((const uint16_t *)pool, dpages, (int)phys.size(), page_stride, head_off, tok_stride, tokens,
                           dim, dout);
  CK(cudaGetLastError());
  std::vector<uint16_t> raw(n);
  CK(cudaMemcpy(raw.data(), dout, n * 2, cudaMemcpyDeviceToHost));
  CK(cudaFree(dpages));
  CK(cudaFree(dout));
  for (size_t i = 0; i < n; ++i) out[i] = sb_bf16_to_f32(raw[i]);
  return out;
}

/* What the checks need to know about the cache: host copies of the page
 * table and query, device pools. All pages of a request are full. */
typedef struct sb_host_kv {
  const vx_paged_kv *kv;
  const std::vector<int> *indices; /* CSR indices, request b at b * n */
  const std::vector<uint16_t> *q;  /* [batch][kv_heads * group][dim] */
  int n, group;
} sb_host_kv;

/* f64 softmax attention of row (b, h)'s query group over logical pages
 * `logical`; returns [group][dim]. */
static inline std::vector<double> sb_ref_attention(const sb_host_kv &h, int b, int head,
                                                   const std::vector<int> &logical, float scale) {
  const vx_paged_kv &kv = *h.kv;
  const int D = kv.head_dim, P = kv.page_size, G = h.group;
  std::vector<int> phys;
  for (int j : logical) phys.push_back((*h.indices)[(size_t)b * h.n + j]);
  const long long off = head * kv.stride_head;
  std::vector<float> K = sb_gather_host(kv.k_pool, phys, kv.stride_page, off, kv.stride_token, P, D);
  std::vector<float> V = sb_gather_host(kv.v_pool, phys, kv.stride_page, off, kv.stride_token, P, D);
  const size_t T = phys.size() * P;
  std::vector<double> out((size_t)G * D, 0.0), s(T);
  for (int g = 0; g < G; ++g) {
    const uint16_t *q = h.q->data() + ((size_t)b * kv.num_kv_heads * G + (size_t)head * G + g) * D;
    double mx = -INFINITY, den = 0;
    for (size_t t = 0; t < T; ++t) {
      double acc = 0;
      for (int d = 0; d < D; ++d) acc += (double)sb_bf16_to_f32(q[d]) * K[t * D + d];
      s[t] = acc * scale;
      mx = std::max(mx, s[t]);
    }
    for (size_t t = 0; t < T; ++t) {
      const double w = exp(s[t] - mx);
      den += w;
      for (int d = 0; d < D; ++d) out[(size_t)g * D + d] += w * V[t * D + d];
    }
    for (int d = 0; d < D; ++d) out[(size_t)g * D + d] /= den;
  }
  return out;
}

/* Compares the device output of row (b, head) with the reference; returns
 * the max abs error, or -1 (and prints why) when an element is off by more
 * than abs_tol + rel_tol * |reference|. */
static inline double sb_check_attention(const char *what, const sb_host_kv &h, const std::vector<uint16_t> &out, int b,
                                        int head, const std::vector<int> &logical, float scale, double abs_tol = 1e-2,
                                        double rel_tol = 1e-2) {
  const int D = h.kv->head_dim, G = h.group;
  const std::vector<double> ref = sb_ref_attention(h, b, head, logical, scale);
  double worst = 0;
  for (int g = 0; g < G; ++g)
    for (int d = 0; d < D; ++d) {
      const double got = sb_bf16_to_f32(out[((size_t)b * h.kv->num_kv_heads * G + (size_t)head * G + g) * D + d]);
      const double r = ref[(size_t)g * D + d], err = fabs(got - r);
      if (!(err <= abs_tol + rel_tol * fabs(r))) {
        fprintf(stderr, "CHECK FAILED %s: row (b=%d, h=%d) head %d dim %d: got %g, reference %g\n", what, b, head, g,
                d, got, r);
        return -1;
      }
      worst = std::max(worst, err);
    }
  return worst;
}

/* Every element finite: the output was poisoned with NaN before the run, so
 * this also catches rows the kernel never wrote. */
static inline bool sb_all_finite(const char *what, const std::vector<uint16_t> &out) {
  for (size_t i = 0; i < out.size(); ++i)
    if (!std::isfinite(sb_bf16_to_f32(out[i]))) {
      fprintf(stderr, "CHECK FAILED %s: element %zu is not finite (unwritten or NaN)\n", what, i);
      return false;
    }
  return true;
}

/* Two outputs of the same attention agree (bf16 rounding of different
 * work splits aside): the step vs index + attn, and every output after the
 * timing replays vs the one checked before them. */
static inline bool sb_outputs_agree(const char *what, const std::vector<uint16_t> &x,
                                    const std::vector<uint16_t> &y) {
  for (size_t i = 0; i < x.size(); ++i) {
    const double a = sb_bf16_to_f32(x[i]), b = sb_bf16_to_f32(y[i]);
    if (!(fabs(a - b) <= 1e-2 + 1e-2 * fabs(b))) {
      fprintf(stderr, "CHECK FAILED %s: element %zu: %g vs %g\n", what, i, a, b);
      return false;
    }
  }
  return true;
}

#endif /* VX_ATTN_CHECK_H */

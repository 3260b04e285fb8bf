/* step_check.h - host-side checks of the step benchmark's device results
 * against f64 CPU references, so that a broken kernel fails the run instead
 * of printing a fast number. Every check reads back only what it needs
 * (one row's pages, gathered on the device), so it stays cheap at 128K. */
#ifndef VX_STEP_CHECK_H
#define VX_STEP_CHECK_H

#include <cmath>

#include "algos.h"
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
static std::vector<float> sb_gather_host(const void *pool, const std::vector<int> &phys, long long page_stride,
                                         long long head_off, long long tok_stride, int tokens, int dim) {
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
static std::vector<double> sb_ref_attention(const sb_host_kv &h, int b, int head, const std::vector<int> &logical,
                                            float scale) {
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
 * the max abs error, or -1 (and prints why) when out of tolerance. */
static double sb_check_attention(const char *what, const sb_host_kv &h, const std::vector<uint16_t> &out, int b,
                                 int head, const std::vector<int> &logical, float scale) {
  const int D = h.kv->head_dim, G = h.group;
  const std::vector<double> ref = sb_ref_attention(h, b, head, logical, scale);
  double worst = 0;
  for (int g = 0; g < G; ++g)
    for (int d = 0; d < D; ++d) {
      const double got = sb_bf16_to_f32(out[((size_t)b * h.kv->num_kv_heads * G + (size_t)head * G + g) * D + d]);
      const double r = ref[(size_t)g * D + d], err = fabs(got - r);
      if (!(err <= 1e-2 + 1e-2 * fabs(r))) {
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
static bool sb_all_finite(const char *what, const std::vector<uint16_t> &out) {
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
static bool sb_outputs_agree(const char *what, const std::vector<uint16_t> &x, const std::vector<uint16_t> &y) {
  for (size_t i = 0; i < x.size(); ++i) {
    const double a = sb_bf16_to_f32(x[i]), b = sb_bf16_to_f32(y[i]);
    if (!(fabs(a - b) <= 1e-2 + 1e-2 * fabs(b))) {
      fprintf(stderr, "CHECK FAILED %s: element %zu: %g vs %g\n", what, i, a, b);
      return false;
    }
  }
  return true;
}

/* Summaries of row (b, head): f64 fields of its pages from the device pools
 * (bf16, [page][kv head][dim] each) as [n][num_fields][dim]. */
static std::vector<double> sb_row_fields(const sb_algo &a, const sb_host_kv &h, void *const *pools, int b, int head) {
  const vx_paged_kv &kv = *h.kv;
  const int D = kv.head_dim;
  std::vector<int> phys(h.indices->begin() + (size_t)b * h.n, h.indices->begin() + (size_t)(b + 1) * h.n);
  std::vector<double> f((size_t)h.n * a.num_fields * D);
  for (int k = 0; k < a.num_fields; ++k) {
    const std::vector<float> v = sb_gather_host(pools[k], phys, (long long)kv.num_kv_heads * D, (long long)head * D, 0, 1, D);
    for (int j = 0; j < h.n; ++j)
      for (int d = 0; d < D; ++d) f[((size_t)j * a.num_fields + k) * D + d] = v[(size_t)j * D + d];
  }
  return f;
}

/* The cache update wrote every summary of row (b, head) as the .vtx says:
 * checked page by page against ref_fields over the page's keys. */
static bool sb_check_fields(const sb_algo &a, const sb_host_kv &h, const std::vector<double> &fields, int b, int head) {
  const vx_paged_kv &kv = *h.kv;
  const int D = kv.head_dim, P = kv.page_size;
  const int pages[3] = {0, h.n / 2, h.n - 1};
  std::vector<double> ref((size_t)a.num_fields * D);
  for (int j : pages) {
    std::vector<int> phys(1, (*h.indices)[(size_t)b * h.n + j]);
    const std::vector<float> k =
        sb_gather_host(kv.k_pool, phys, kv.stride_page, head * kv.stride_head, kv.stride_token, P, D);
    a.ref_fields(k.data(), P, D, ref.data());
    for (size_t i = 0; i < ref.size(); ++i) {
      const double got = fields[(size_t)j * a.num_fields * D + i];
      if (!(fabs(got - ref[i]) <= 1e-3 + 8e-3 * fabs(ref[i]))) {
        fprintf(stderr, "CHECK FAILED %s cache update: b=%d h=%d page %d elem %zu: got %g, reference %g\n", a.name, b,
                head, j, i, got, ref[i]);
        return false;
      }
    }
  }
  return true;
}

/* Selection of every row: `want` pages, strictly ascending, in range, the
 * kept first/last pages present. */
static bool sb_check_selection_shape(const sb_algo &a, const std::vector<int> &sel, const std::vector<int> &cnt,
                                     int n, int want) {
  for (size_t r = 0; r < cnt.size(); ++r) {
    const int *s = sel.data() + r * n;
    bool ok = cnt[r] == want;
    for (int i = 0; ok && i < cnt[r]; ++i) ok = s[i] >= 0 && s[i] < n && (i == 0 || s[i] > s[i - 1]);
    for (int i = 0; ok && i < a.keep_first; ++i) ok = s[i] == i;
    for (int i = 0; ok && i < a.keep_last; ++i) ok = s[want - 1 - i] == n - 1 - i;
    if (!ok) {
      fprintf(stderr, "CHECK FAILED %s selection: row %zu has count %d (want %d) or bad/unsorted/missing kept pages\n",
              a.name, r, cnt[r], want);
      return false;
    }
  }
  return true;
}

/* Top-k property of row (b, head) against f64 scores from the summaries: no
 * unselected page scores above the lowest selected (non-kept) one, up to
 * f32 accumulation-order noise. */
static bool sb_check_topk(const sb_algo &a, const sb_host_kv &h, const std::vector<double> &fields,
                          const int *sel, int count, int b, int head) {
  const int D = h.kv->head_dim, n = h.n, G = h.group;
  std::vector<float> q((size_t)G * D);
  for (int g = 0; g < G; ++g)
    for (int d = 0; d < D; ++d)
      q[(size_t)g * D + d] = sb_bf16_to_f32((*h.q)[((size_t)b * h.kv->num_kv_heads * G + (size_t)head * G + g) * D + d]);
  std::vector<char> chosen(n, 0);
  for (int i = 0; i < count; ++i) chosen[sel[i]] = 1;
  double lo_sel = INFINITY, hi_unsel = -INFINITY;
  for (int j = a.keep_first; j < n - a.keep_last; ++j) {
    const double s = a.ref_score(q.data(), G, D, fields.data() + (size_t)j * a.num_fields * D);
    if (chosen[j]) lo_sel = std::min(lo_sel, s);
    else hi_unsel = std::max(hi_unsel, s);
  }
  if (hi_unsel > lo_sel + 1e-3 * (1.0 + fabs(lo_sel))) {
    fprintf(stderr, "CHECK FAILED %s top-k: row (b=%d, h=%d): an unselected page scores %g > lowest selected %g\n",
            a.name, b, head, hi_unsel, lo_sel);
    return false;
  }
  return true;
}

#endif /* VX_STEP_CHECK_H */

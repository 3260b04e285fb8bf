/* step_check.h - host-side checks of the step benchmark's device results
 * against f64 CPU references, so that a broken kernel fails the run instead
 * of printing a fast number. Every check reads back only what it needs
 * (one row's pages, gathered on the device), so it stays cheap at 128K. */
#ifndef VX_STEP_CHECK_H
#define VX_STEP_CHECK_H

#include <cmath>

#include "algos.h"
#include "attn_check.h"
#include "step_util.h"

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

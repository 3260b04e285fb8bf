/* The select rules of the index function, one row at a time. The order
 * of pages is total and deterministic: higher score first, NaN below
 * every number, equal scores (including -0 vs +0) by lower page index. */
#include <math.h>
#include <stdlib.h>

#include "interp.h"

/* True when page a ranks above page b. */
static bool ranks_above(const float *score, int32_t a, int32_t b) {
  float sa = score[a], sb = score[b];
  bool na = isnan(sa), nb = isnan(sb);
  if (na || nb)
    return na && nb ? a < b : nb;
  if (sa != sb)
    return sa > sb;
  return a < b;
}

static void sift_down(int32_t *h, int n, int i, const float *score) {
  for (;;) {
    int l = 2 * i + 1, worst = i;
    /* A heap whose root ranks lowest, so heapsort leaves the best first. */
    if (l < n && ranks_above(score, h[worst], h[l]))
      worst = l;
    if (l + 1 < n && ranks_above(score, h[worst], h[l + 1]))
      worst = l + 1;
    if (worst == i)
      return;
    int32_t t = h[i];
    h[i] = h[worst];
    h[worst] = t;
    i = worst;
  }
}

/* Sorts idx[0..n) best-ranked first (heapsort: no allocation, no
 * comparator context needed). */
static void sort_by_rank(int32_t *idx, int n, const float *score) {
  for (int i = n / 2 - 1; i >= 0; i--)
    sift_down(idx, n, i, score);
  for (int end = n - 1; end > 0; end--) {
    int32_t t = idx[0];
    idx[0] = idx[end];
    idx[end] = t;
    sift_down(idx, end, 0, score);
  }
}

static int clamp_int(int x, int lo, int hi) { return x < lo ? lo : x > hi ? hi : x; }

static bool is_kept(int j, int n, int keep_first, int keep_last) {
  return j < clamp_int(keep_first, 0, n) || j >= n - clamp_int(keep_last, 0, n);
}

/* Non-kept pages, ascending; returns how many. */
static int candidates(int n, int keep_first, int keep_last, int32_t *out) {
  int m = 0;
  for (int j = 0; j < n; j++)
    if (!is_kept(j, n, keep_first, keep_last))
      out[m++] = j;
  return m;
}

static int cmp_int32(const void *a, const void *b) {
  int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
  return (x > y) - (x < y);
}

/* out = kept pages + chosen[0..k), ascending. */
static int merge_kept(int n, int keep_first, int keep_last, const int32_t *chosen, int k, int32_t *out) {
  int c = 0;
  for (int j = 0; j < n; j++)
    if (is_kept(j, n, keep_first, keep_last))
      out[c++] = j;
  for (int i = 0; i < k; i++)
    out[c++] = chosen[i];
  qsort(out, (size_t)c, sizeof *out, cmp_int32);
  return c;
}

int vx_select_top(const float *score, int n, double budget, int keep_first, int keep_last, int32_t *out,
                  int32_t *scratch) {
  int k = 0;
  if (budget >= (double)n)
    k = n;
  else if (budget >= 1.0)
    k = (int)floor(budget); /* NaN and negatives stay 0 */
  int m = candidates(n, keep_first, keep_last, scratch);
  if (k >= m)
    k = m;
  else
    sort_by_rank(scratch, m, score);
  return merge_kept(n, keep_first, keep_last, scratch, k, out);
}

int vx_select_threshold(const float *score, int n, double threshold, int keep_first, int keep_last,
                        int32_t *out) {
  int c = 0;
  for (int j = 0; j < n; j++)
    if (is_kept(j, n, keep_first, keep_last) || (double)score[j] >= threshold)
      out[c++] = j;
  return c;
}

int vx_select_mass(const float *score, int n, double mass, int keep_first, int keep_last, int32_t *out,
                   int32_t *scratch) {
  int m = candidates(n, keep_first, keep_last, scratch);
  int k = 0;
  if (mass >= 1.0) {
    k = m;
  } else if (mass > 0.0 && m > 0) {
    /* Softmax over the candidates (NaN as -inf), summed in page order. */
    double mx = -INFINITY;
    for (int i = 0; i < m; i++)
      if (!isnan(score[scratch[i]]))
        mx = fmax(mx, score[scratch[i]]);
    double z = 0.0;
    bool uniform = mx == -INFINITY;
    for (int i = 0; i < m; i++) {
      float s = score[scratch[i]];
      z += uniform ? 1.0 : isnan(s) ? 0.0 : exp((double)s - mx);
    }
    sort_by_rank(scratch, m, score);
    double cum = 0.0;
    while (k < m && cum < mass) {
      float s = score[scratch[k]];
      cum += (uniform ? 1.0 : isnan(s) ? 0.0 : exp((double)s - mx)) / z;
      k++;
    }
  }
  return merge_kept(n, keep_first, keep_last, scratch, k, out);
}

/* Exact softmax decode attention over selected pages, the reference for
 * the sparse and dense paged attention kernels. Double accumulation
 * throughout; one row (request, KV head) serves its whole query group so
 * each key is read once. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "interp_eval.h"
#include "interp_parallel.h"

/* q . k with eight fixed partial sums: vectorisable, and the summation
 * order never changes, so results are reproducible. */
static double dot(const double *q, const float *k, int n) {
  double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int d = 0;
  for (; d + 8 <= n; d += 8)
    for (int u = 0; u < 8; u++)
      acc[u] += q[d + u] * (double)k[d + u];
  for (int u = 0; d < n; d++, u++)
    acc[u] += q[d] * (double)k[d];
  return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

typedef struct attn_scratch {
  double *q;      /* [G][D] */
  double *logits; /* [G][max tokens] */
  double *acc;    /* [G][out_dim] */
} attn_scratch;

static void attend_row(const vx_paged_inputs *in, const vx_selection *sel, int r, attn_scratch *s, float *out) {
  const vx_paged_geometry *g = &in->geo;
  int H = g->kv_heads, G = g->group, D = g->head_dim, P = g->page_size;
  int dv = vx_paged_out_dim(g);
  int b = r / H, h = r % H, n = sel->page_count[r];
  size_t max_tokens = (size_t)in->max_pages * (size_t)P;
  const float *qrow = in->q + ((size_t)b * (size_t)H + (size_t)h) * (size_t)G * (size_t)D;
  for (size_t i = 0; i < (size_t)G * (size_t)D; i++)
    s->q[i] = qrow[i];
  const float *vpool = in->v_pool ? in->v_pool : in->k_pool; /* MLA: values are the latent's first dc */
  const int32_t *sel_pages = sel->pages + (size_t)r * (size_t)sel->max_pages;
  const int32_t *phys_of = in->indices + in->indptr[b];
  size_t T = 0;
  for (int i = 0; i < sel->count[r]; i++) {
    int j = sel_pages[i];
    int valid = j == n - 1 ? in->last_page_len[b] : P;
    for (int t = 0; t < valid; t++, T++) {
      const float *k = in->k_pool + (((size_t)phys_of[j] * (size_t)P + (size_t)t) * (size_t)H + (size_t)h) * (size_t)D;
      for (int q = 0; q < G; q++)
        s->logits[(size_t)q * max_tokens + T] = (double)in->scale * dot(s->q + (size_t)q * (size_t)D, k, D);
    }
  }
  for (int q = 0; q < G; q++) {
    double *lg = s->logits + (size_t)q * max_tokens;
    double m = -INFINITY, z = 0.0;
    for (size_t t = 0; t < T; t++)
      m = fmax(m, lg[t]);
    for (size_t t = 0; t < T; t++) {
      lg[t] = exp(lg[t] - m);
      z += lg[t];
    }
    for (size_t t = 0; t < T; t++)
      lg[t] /= z;
  }
  memset(s->acc, 0, (size_t)G * (size_t)dv * sizeof *s->acc);
  T = 0;
  for (int i = 0; i < sel->count[r]; i++) {
    int j = sel_pages[i];
    int valid = j == n - 1 ? in->last_page_len[b] : P;
    for (int t = 0; t < valid; t++, T++) {
      const float *v = vpool + (((size_t)phys_of[j] * (size_t)P + (size_t)t) * (size_t)H + (size_t)h) * (size_t)D;
      for (int q = 0; q < G; q++) {
        double p = s->logits[(size_t)q * max_tokens + T];
        double *acc = s->acc + (size_t)q * (size_t)dv;
        for (int d = 0; d < dv; d++)
          acc[d] += p * (double)v[d];
      }
    }
  }
  float *o = out + ((size_t)b * (size_t)H + (size_t)h) * (size_t)G * (size_t)dv;
  for (size_t i = 0; i < (size_t)G * (size_t)dv; i++)
    o[i] = (float)s->acc[i]; /* no selected token: stays 0 */
}

static bool selection_ok(const vx_paged_inputs *in, const vx_selection *sel, vx_interp_error *err) {
  if (sel->rows != in->geo.batch * in->geo.kv_heads || sel->max_pages < in->max_pages)
    return vx_interp_fail(err, "the selection does not match the inputs (%d rows, width %d)", sel->rows,
                          sel->max_pages);
  for (int r = 0; r < sel->rows; r++) {
    int b = r / in->geo.kv_heads, n = in->indptr[b + 1] - in->indptr[b];
    if (sel->page_count[r] != n || sel->count[r] < 0 || sel->count[r] > n)
      return vx_interp_fail(err, "selection row %d: %d of %d pages selected, request has %d", r, sel->count[r],
                            sel->page_count[r], n);
    const int32_t *p = sel->pages + (size_t)r * (size_t)sel->max_pages;
    for (int i = 0; i < sel->count[r]; i++)
      if (p[i] < 0 || p[i] >= n || (i > 0 && p[i] <= p[i - 1]))
        return vx_interp_fail(err, "selection row %d: entry %d (page %d) is out of range or not ascending", r, i,
                              p[i]);
  }
  return true;
}

static void attend_rows(const vx_paged_inputs *in, const vx_selection *sel, float *out, vx_parallel_status *status) {
  const vx_paged_geometry *g = &in->geo;
  size_t max_tokens = (size_t)in->max_pages * (size_t)g->page_size;
  attn_scratch s = {
      malloc((size_t)g->group * (size_t)g->head_dim * sizeof(double)),
      malloc((size_t)g->group * max_tokens * sizeof(double)),
      malloc((size_t)g->group * (size_t)vx_paged_out_dim(g) * sizeof(double)),
  };
  bool ready = s.q && s.logits && s.acc;
  if (!ready) {
    vx_interp_error err = {""};
    vx_interp_fail(&err, "out of memory in attention");
    vx_parallel_fail(status, &err);
  }
  /* Every thread must reach the worksharing loop, ready or not. */
  VX_OMP(for schedule(dynamic, 1))
  for (int r = 0; r < sel->rows; r++)
    if (ready && !vx_parallel_failed(status))
      attend_row(in, sel, r, &s, out);
  free(s.q);
  free(s.logits);
  free(s.acc);
}

bool vx_interp_attention(const vx_paged_inputs *in, const vx_selection *sel, float *out, vx_interp_error *err) {
  if (!vx_paged_inputs_validate(in, err) || !selection_ok(in, sel, err))
    return false;
  vx_parallel_status status = {0, {""}};
  VX_OMP(parallel)
  attend_rows(in, sel, out, &status);
  if (status.failed && err)
    *err = status.err;
  return !status.failed;
}

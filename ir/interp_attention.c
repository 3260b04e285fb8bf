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
static double dot(const double *q, const double *k, int n) {
  double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int d = 0;
  for (; d + 8 <= n; d += 8)
    for (int u = 0; u < 8; u++)
      acc[u] += q[d + u] * k[d + u];
  for (int u = 0; d < n; d++, u++)
    acc[u] += q[d] * k[d];
  return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

typedef struct attn_scratch {
  double *q;        /* [H][G][D] */
  double *logits;   /* [H][G][max tokens], then the softmax weights */
  double *acc;      /* [H][G][out_dim] */
  double *kv;       /* [D]: one key or value widened once for the whole group */
  uint8_t *chosen;  /* [H][max pages]: page selected by the row of head h */
  size_t *tokens;   /* [H]: tokens seen so far by each head's row */
} attn_scratch;

/* Walks the pages of request b in ascending order, visiting every valid
 * token of a page selected by head h: a request's heads are handled
 * together so each token's [H][D] block is read sequentially. `phase` 0
 * computes logits, 1 accumulates weighted values. */
static void sweep_request(const vx_paged_inputs *in, int b, int n, attn_scratch *s, int phase) {
  const vx_paged_geometry *g = &in->geo;
  int H = g->kv_heads, G = g->group, D = g->head_dim, P = g->page_size, dv = vx_paged_out_dim(g);
  size_t max_tokens = (size_t)in->max_pages * (size_t)P;
  const float *pool = phase == 0 || !in->v_pool ? in->k_pool : in->v_pool; /* MLA: values = latent[0, dc) */
  memset(s->tokens, 0, (size_t)H * sizeof *s->tokens);
  for (int j = 0; j < n; j++) {
    int32_t phys = in->indices[in->indptr[b] + j];
    int valid = j == n - 1 ? in->last_page_len[b] : P;
    for (int t = 0; t < valid; t++)
      for (int h = 0; h < H; h++) {
        if (!s->chosen[(size_t)h * (size_t)in->max_pages + (size_t)j])
          continue;
        const float *x = pool + (((size_t)phys * (size_t)P + (size_t)t) * (size_t)H + (size_t)h) * (size_t)D;
        for (int d = 0; d < D; d++)
          s->kv[d] = x[d];
        size_t T = s->tokens[h]++;
        for (int q = 0; q < G; q++) {
          size_t hq = (size_t)h * (size_t)G + (size_t)q;
          double *lg = s->logits + hq * max_tokens;
          if (phase == 0) {
            lg[T] = (double)in->scale * dot(s->q + hq * (size_t)D, s->kv, D);
          } else {
            double *acc = s->acc + hq * (size_t)dv;
            for (int d = 0; d < dv; d++)
              acc[d] += lg[T] * s->kv[d];
          }
        }
      }
  }
}

static void softmax_in_place(double *lg, size_t T) {
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

static void attend_request(const vx_paged_inputs *in, const vx_selection *sel, int b, attn_scratch *s, float *out) {
  const vx_paged_geometry *g = &in->geo;
  int H = g->kv_heads, G = g->group, D = g->head_dim, dv = vx_paged_out_dim(g);
  int n = in->indptr[b + 1] - in->indptr[b];
  size_t max_tokens = (size_t)in->max_pages * (size_t)g->page_size;
  size_t HG = (size_t)H * (size_t)G;
  const float *qrow = in->q + (size_t)b * HG * (size_t)D;
  for (size_t i = 0; i < HG * (size_t)D; i++)
    s->q[i] = qrow[i];
  memset(s->chosen, 0, (size_t)H * (size_t)in->max_pages);
  for (int h = 0; h < H; h++) {
    size_t r = (size_t)b * (size_t)H + (size_t)h;
    for (int i = 0; i < sel->count[r]; i++)
      s->chosen[(size_t)h * (size_t)in->max_pages + (size_t)sel->pages[r * (size_t)sel->max_pages + (size_t)i]] = 1;
  }
  sweep_request(in, b, n, s, 0);
  for (size_t hq = 0; hq < HG; hq++)
    softmax_in_place(s->logits + hq * max_tokens, s->tokens[hq / (size_t)G]);
  memset(s->acc, 0, HG * (size_t)dv * sizeof *s->acc);
  sweep_request(in, b, n, s, 1);
  float *o = out + (size_t)b * HG * (size_t)dv;
  for (size_t i = 0; i < HG * (size_t)dv; i++)
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
  size_t HG = (size_t)g->kv_heads * (size_t)g->group;
  attn_scratch s = {
      malloc(HG * (size_t)g->head_dim * sizeof(double)),
      malloc(HG * max_tokens * sizeof(double)),
      malloc(HG * (size_t)vx_paged_out_dim(g) * sizeof(double)),
      malloc((size_t)g->head_dim * sizeof(double)),
      malloc((size_t)g->kv_heads * (size_t)in->max_pages),
      malloc((size_t)g->kv_heads * sizeof(size_t)),
  };
  bool ready = s.q && s.logits && s.acc && s.kv && s.chosen && s.tokens;
  if (!ready) {
    vx_interp_error err = {""};
    vx_interp_fail(&err, "out of memory in attention");
    vx_parallel_fail(status, &err);
  }
  /* Every thread must reach the worksharing loop, ready or not. */
  VX_OMP(for schedule(dynamic, 1))
  for (int b = 0; b < g->batch; b++)
    if (ready && !vx_parallel_failed(status))
      attend_request(in, sel, b, &s, out);
  free(s.q);
  free(s.logits);
  free(s.acc);
  free(s.kv);
  free(s.chosen);
  free(s.tokens);
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

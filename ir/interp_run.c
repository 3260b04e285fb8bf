/* A whole decode step (cache_update, index steps chained through the
 * state, sparse and dense attention) and the comparison helpers the
 * pass-equivalence and GPU tests use. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "interp_eval.h"

void vx_interp_result_free(vx_interp_result *r) {
  if (!r)
    return;
  vx_field_pools_free(r->fields);
  vx_selection_free(r->selection);
  vx_state_arrays_free(r->state);
  free(r->out_sparse);
  free(r->out_dense);
  free(r);
}

static double now_ms(void) {
  struct timespec ts;
  timespec_get(&ts, TIME_UTC);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

vx_interp_result *vx_interp_run(const vx_module *m, const vx_paged_inputs *in, int steps, vx_interp_error *err) {
  if (steps < 1) {
    vx_interp_fail(err, "steps must be >= 1 (got %d)", steps);
    return NULL;
  }
  vx_interp_result *r = calloc(1, sizeof *r);
  if (!r) {
    vx_interp_fail(err, "out of memory");
    return NULL;
  }
  double t = now_ms();
  r->fields = vx_interp_cache_update(m, in, err);
  if (!r->fields)
    goto fail;
  r->ms_cache_update = now_ms() - t;
  t = now_ms();
  r->state = vx_state_arrays_new(m, in, err);
  if (!r->state)
    goto fail;
  for (int s = 0; s < steps; s++) {
    vx_state_arrays *next = NULL;
    vx_selection_free(r->selection);
    r->selection = vx_interp_index(m, in, r->fields, r->state, &next, err);
    if (!r->selection)
      goto fail;
    vx_state_arrays_free(r->state);
    r->state = next;
  }
  r->ms_index = now_ms() - t;
  r->out_elems = (size_t)in->geo.batch * (size_t)in->geo.kv_heads * (size_t)in->geo.group *
                 (size_t)vx_paged_out_dim(&in->geo);
  r->out_sparse = calloc(r->out_elems, sizeof(float));
  r->out_dense = calloc(r->out_elems, sizeof(float));
  if (!r->out_sparse || !r->out_dense) {
    vx_interp_fail(err, "out of memory allocating attention outputs");
    goto fail;
  }
  vx_selection *all = vx_selection_all(in, err);
  t = now_ms();
  bool ok = all && vx_interp_attention(in, r->selection, r->out_sparse, err);
  r->ms_sparse = now_ms() - t;
  t = now_ms();
  ok = ok && vx_interp_attention(in, all, r->out_dense, err);
  r->ms_dense = now_ms() - t;
  vx_selection_free(all);
  if (ok)
    return r;
fail:
  vx_interp_result_free(r);
  return NULL;
}

/* ------------------------------------------------------ comparisons */

static bool contains(const int32_t *p, int n, int32_t x) {
  for (int i = 0; i < n; i++)
    if (p[i] == x)
      return true;
  return false;
}

/* A row's sets may differ only by near-ties: all differing pages score
 * within tol of each other, and no page outside both sets outranks them
 * by more than tol (else a clearly better page was dropped). */
static bool row_equivalent(const vx_selection *a, const vx_selection *b, int r, double rel_tol) {
  size_t base = (size_t)r * (size_t)a->max_pages, bbase = (size_t)r * (size_t)b->max_pages;
  const int32_t *pa = a->pages + base, *pb = b->pages + bbase;
  int na = a->count[r], nb = b->count[r], n = a->page_count[r];
  if (na == nb && memcmp(pa, pb, (size_t)na * sizeof *pa) == 0)
    return true;
  const float *s = a->scores + base;
  double lo = INFINITY, hi = -INFINITY;
  for (int j = 0; j < n; j++) {
    if (contains(pa, na, j) == contains(pb, nb, j))
      continue;
    if (isnan(s[j]))
      return false;
    lo = fmin(lo, s[j]);
    hi = fmax(hi, s[j]);
  }
  double tol = rel_tol * fmax(1.0, fmax(fabs(lo), fabs(hi)));
  if (hi - lo > tol)
    return false;
  for (int j = 0; j < n; j++)
    if (!contains(pa, na, j) && !contains(pb, nb, j) && s[j] > lo + tol)
      return false;
  return true;
}

bool vx_selection_equivalent(const vx_selection *a, const vx_selection *b, double rel_tol, vx_interp_error *err) {
  if (a->rows != b->rows)
    return vx_interp_fail(err, "selections have %d and %d rows", a->rows, b->rows);
  for (int r = 0; r < a->rows; r++) {
    if (a->page_count[r] != b->page_count[r])
      return vx_interp_fail(err, "row %d: page counts %d and %d differ", r, a->page_count[r], b->page_count[r]);
    if (!row_equivalent(a, b, r, rel_tol))
      return vx_interp_fail(err, "row %d: selected %d vs %d pages, and the difference is not a near-tie", r,
                            a->count[r], b->count[r]);
  }
  return true;
}

double vx_max_rel_diff(const float *a, const float *b, size_t n) {
  double worst = 0.0;
  for (size_t i = 0; i < n; i++) {
    if (isnan(a[i]) || isnan(b[i])) {
      if (!(isnan(a[i]) && isnan(b[i])))
        return INFINITY;
      continue;
    }
    double d = fabs((double)a[i] - (double)b[i]) / fmax(1.0, fabs((double)b[i]));
    if (d > worst || isnan(d))
      worst = isnan(d) ? INFINITY : d;
  }
  return worst;
}

uint64_t vx_checksum_f32(const float *x, size_t n) {
  uint64_t h = 0xCBF29CE484222325ull;
  for (size_t i = 0; i < n; i++) {
    uint32_t u;
    memcpy(&u, &x[i], sizeof u);
    for (int k = 0; k < 4; k++) {
      h ^= (u >> (8 * k)) & 0xFFu;
      h *= 0x100000001B3ull;
    }
  }
  return h;
}

double vx_sum_f32(const float *x, size_t n) {
  double s = 0.0;
  for (size_t i = 0; i < n; i++)
    s += x[i];
  return s;
}

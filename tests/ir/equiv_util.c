#include "equiv_util.h"

#include <stdio.h>
#include <string.h>

#include "ir/interp.h"

enum { STEPS = 2 };
static const double SELECT_TOL = 1e-4; /* relative near-tie window */
static const double VALUE_TOL = 1e-3;  /* relative output/state difference */

static vx_paged_geometry paged_geometry(const vx_module *m, const t_equiv_spec *spec) {
  const vx_geometry *g = &m->geo;
  return (vx_paged_geometry){.batch = spec->batch,
                             .kv_heads = g->kv == VX_KV_MLA ? 1 : spec->kv_heads,
                             .group = g->group,
                             .head_dim = g->head_dim,
                             .page_size = g->page_size,
                             .kv = g->kv,
                             .mla_latent = g->mla_latent,
                             .mla_rope = g->mla_rope,
                             .kv_dtype = g->kv_dtype};
}

static bool compare_states(const vx_state_arrays *a, const vx_state_arrays *b, char *why, size_t n) {
  if (!a || !b)
    return a == b;
  if (a->nstates != b->nstates) {
    snprintf(why, n, "state count differs (%d vs %d)", a->nstates, b->nstates);
    return false;
  }
  for (int s = 0; s < a->nstates; s++) {
    double d = vx_max_rel_diff(a->data[s], b->data[s], (size_t)a->rows * (size_t)a->max_pages);
    if (d > VALUE_TOL) {
      snprintf(why, n, "state %d differs (max rel diff %g)", s, d);
      return false;
    }
  }
  return true;
}

bool t_equivalent(const vx_module *a, const vx_module *b, const t_equiv_spec *spec, char *why, size_t n) {
  vx_interp_error err = {{0}};
  vx_random_spec rs = {.geo = paged_geometry(a, spec), .context = spec->context, .ragged = true,
                       .spare_pages = 3, .seed = spec->seed};
  vx_paged_inputs *in = vx_paged_inputs_random(&rs, &err);
  if (!in) {
    snprintf(why, n, "inputs: %s", err.message);
    return false;
  }
  vx_interp_result *ra = vx_interp_run(a, in, STEPS, &err);
  if (!ra) {
    snprintf(why, n, "interpreting the reference module: %s", err.message);
    vx_paged_inputs_free(in);
    return false;
  }
  vx_interp_result *rb = vx_interp_run(b, in, STEPS, &err);
  bool ok = rb != NULL;
  if (!ok)
    snprintf(why, n, "interpreting the transformed module: %s", err.message);
  if (ok && !vx_selection_equivalent(ra->selection, rb->selection, SELECT_TOL, &err)) {
    snprintf(why, n, "selections differ: %s", err.message);
    ok = false;
  }
  /* Outputs are comparable only when the page sets are exactly equal (a
   * legitimate near-tie flip changes which pages are attended). */
  bool same_pages = ok && memcmp(ra->selection->count, rb->selection->count,
                                 (size_t)ra->selection->rows * sizeof(int32_t)) == 0 &&
                    memcmp(ra->selection->pages, rb->selection->pages,
                           (size_t)ra->selection->rows * (size_t)ra->selection->max_pages * sizeof(int32_t)) == 0;
  if (same_pages) {
    double d = vx_max_rel_diff(rb->out_sparse, ra->out_sparse, ra->out_elems);
    if (d > VALUE_TOL) {
      snprintf(why, n, "sparse attention outputs differ (max rel diff %g)", d);
      ok = false;
    }
  }
  if (ok)
    ok = compare_states(ra->state, rb->state, why, n);
  vx_interp_result_free(ra);
  if (rb)
    vx_interp_result_free(rb);
  vx_paged_inputs_free(in);
  return ok;
}

/* Lowering: geometry (MLA head_dim = dc + dr), storage types (DEFAULT ->
 * the KV dtype, explicit annotations kept), params as `param` ops, states
 * and selects, and the geometry checks reported with the source span. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "frontend/parse.h"
#include "frontend/sema.h"
#include "ir/lower.h"
#include "ir/verify.h"
#include "ir_test_util.h"

static vx_module *lower_example(const char *name, vx_geometry geo, vx_arena *a, t_diag *d) {
  char path[4096];
  snprintf(path, sizeof path, "%s/examples/%s", VX_SOURCE_DIR, name);
  vx_module *m = t_compile_vtx(path, &geo, a, d->engine);
  if (!m)
    fail_msg("%s:\n%s", name, t_diag_text(d));
  assert_true(vx_verify(m, d->engine));
  return m;
}

static void test_mla_geometry_and_storage(void **state) {
  (void)state;
  t_diag d;
  t_diag_open(&d);
  vx_arena a;
  vx_arena_init(&a);
  vx_geometry geo = t_default_geometry();
  geo.kv_dtype = VX_DTYPE_F16;
  vx_module *m = lower_example("mla_centroid.vtx", geo, &a, &d);
  assert_int_equal(m->geo.kv, VX_KV_MLA);
  assert_int_equal(m->geo.mla_latent, 512);
  assert_int_equal(m->geo.mla_rope, 64);
  assert_int_equal(m->geo.head_dim, 576);
  assert_int_equal(m->nfields, 1);
  assert_int_equal(m->fields[0].storage, VX_DTYPE_F16); /* DEFAULT -> kv dtype */
  assert_int_equal(m->ndense_layers, 1);
  assert_int_equal(m->dense_layers[0], 0);
  vx_arena_free(&a);
  t_diag_close(&d);
}

static void test_params_fields_states_select(void **state) {
  (void)state;
  t_diag d;
  t_diag_open(&d);
  vx_arena a;
  vx_arena_init(&a);
  vx_module *m = lower_example("h2o_page.vtx", t_default_geometry(), &a, &d);
  assert_int_equal(m->nparams, 2);
  assert_string_equal(m->params[0].name, "budget");
  assert_true(m->params[0].is_int);
  assert_false(m->params[1].is_int);
  assert_true(m->params[1].value == 0.5);
  assert_int_equal(m->nfields, 3);
  assert_int_equal(m->fields[0].storage, VX_DTYPE_BF16);
  assert_int_equal(m->fields[1].storage, VX_DTYPE_BF16); /* explicit `: bf16` */
  assert_int_equal(m->fields[0].shape.axes, VX_AXIS_BIT(VX_AXIS_DIM));
  int params = 0;
  for (vx_op *op = m->index.first; op; op = op->next)
    params += op->code == VX_OP_PARAM;
  assert_int_equal(params, 3); /* alpha twice, budget once: folding is a pass's job */
  vx_op *sel = vx_func_find_select(&m->index);
  assert_non_null(sel);
  assert_int_equal(sel->code, VX_OP_SELECT_TOP);
  assert_int_equal(sel->keep_first, 1);
  assert_int_equal(sel->keep_last, 2);
  assert_int_equal(sel->operands[1]->code, VX_OP_PARAM);
  vx_module *r = lower_example("running_average.vtx", t_default_geometry(), &a, &d);
  assert_int_equal(r->nstates, 1);
  assert_string_equal(r->states[0].name, "avg");
  int stores = 0;
  for (vx_op *op = r->index.first; op; op = op->next)
    stores += op->code == VX_OP_STORE_STATE;
  assert_int_equal(stores, 1);
  vx_arena_free(&a);
  t_diag_close(&d);
}

/* The checker validated split(k, 8) against page size 16; lowering for a
 * 12-token page must reject it, pointing at the width. */
static void test_split_width_checked_against_geometry(void **state) {
  (void)state;
  const char *src = "algorithm s {\n"
                    "  param budget = 4;\n"
                    "  cache { m = max(split(k, 8), tok); }\n"
                    "  index {\n"
                    "    score = max(max(sum(q * m, dim), sub), head);\n"
                    "    select top(budget);\n"
                    "  }\n"
                    "}\n";
  t_diag d;
  t_diag_open(&d);
  vx_arena a;
  vx_arena_init(&a);
  vx_diag_add_source(d.engine, "s.vtx", src, strlen(src));
  vx_algorithm *alg = vx_parse_source(&a, d.engine, "s.vtx", src, strlen(src));
  vx_sema_options so = {.page_size = 16};
  assert_non_null(alg);
  assert_true(vx_sema_check(&a, alg, d.engine, &so));
  vx_geometry geo = t_default_geometry();
  assert_non_null(vx_lower(alg, &geo, &a, d.engine));
  geo.page_size = 12;
  assert_null(vx_lower(alg, &geo, &a, d.engine));
  const char *out = t_diag_text(&d);
  if (!strstr(out, "s.vtx:3:28: error: split width 8 does not divide the page size 12"))
    fail_msg("unexpected diagnostics:\n%s", out);
  vx_arena_free(&a);
  t_diag_close(&d);
}

/* A target known to be MLA (--model-config) must match the algorithm. */
static void test_mla_target_must_match(void **state) {
  (void)state;
  t_diag d;
  t_diag_open(&d);
  vx_arena a;
  vx_arena_init(&a);
  vx_geometry geo = t_default_geometry();
  geo.kv = VX_KV_MLA;
  geo.mla_latent = 512;
  geo.mla_rope = 64;
  lower_example("mla_centroid.vtx", geo, &a, &d); /* agrees */
  char path[4096];
  snprintf(path, sizeof path, "%s/examples/quest.vtx", VX_SOURCE_DIR);
  assert_null(t_compile_vtx(path, &geo, &a, d.engine));
  assert_non_null(strstr(t_diag_text(&d), "the target model uses MLA (latent 512 + rope 64) but algorithm 'quest'"));
  geo.mla_latent = 256;
  snprintf(path, sizeof path, "%s/examples/mla_centroid.vtx", VX_SOURCE_DIR);
  assert_null(t_compile_vtx(path, &geo, &a, d.engine));
  assert_non_null(strstr(t_diag_text(&d), "algorithm declares kv mla(512, 64) but the target model has mla(256, 64)"));
  vx_arena_free(&a);
  t_diag_close(&d);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_mla_geometry_and_storage),
      cmocka_unit_test(test_params_fields_states_select),
      cmocka_unit_test(test_split_width_checked_against_geometry),
      cmocka_unit_test(test_mla_target_must_match),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

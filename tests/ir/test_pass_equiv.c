/* Passes preserve meaning, checked through the reference interpreter on
 * random paged inputs, for every example:
 *   - -O0 vs -O1 vs -O2;
 *   - every pass applied ALONE to the lowered module;
 *   - the -O2 pipeline prefix after each pass (cumulative).
 * Any disagreement names the example, the pass and the seed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "equiv_util.h"
#include "ir/verify.h"
#include "ir_test_util.h"
#include "passes/pass_manager.h"

static const uint64_t SEEDS[] = {1, 20260611};
enum { NSEEDS = sizeof SEEDS / sizeof SEEDS[0] };

static t_equiv_spec spec_for(uint64_t seed) {
  return (t_equiv_spec){.batch = 3, .context = 200, .kv_heads = 2, .seed = seed};
}

static void expect_equivalent(const vx_module *ref, const vx_module *m, const char *file, const char *what) {
  for (int s = 0; s < NSEEDS; s++) {
    char why[512];
    t_equiv_spec spec = spec_for(SEEDS[s]);
    if (!t_equivalent(ref, m, &spec, why, sizeof why))
      fail_msg("%s: %s changes the result (seed %llu): %s", file, what, (unsigned long long)SEEDS[s], why);
  }
}

static vx_module *compile_example(const char *file, vx_arena *a, t_diag *d) {
  vx_geometry geo = t_default_geometry();
  vx_module *m = t_compile_vtx(file, &geo, a, d->engine);
  if (!m)
    fail_msg("%s does not compile:\n%s", file, t_diag_text(d));
  /* Budgets of 32-64 pages would select every page of these short test
   * contexts, which proves nothing: shrink them (lowering keeps params
   * as `param` ops, so this is the -D override before any pass). */
  for (int i = 0; i < m->nparams; i++)
    if (m->params[i].is_int && m->params[i].value > 5)
      m->params[i].value = 5;
  return m;
}

static void run_pipeline(vx_module *m, int level, const char *passes, const char *file, t_diag *d) {
  vx_pass_options o;
  vx_pass_options_init(&o);
  o.opt_level = level;
  o.passes = passes;
  o.verify_each = true;
  o.roundtrip_each = true;
  if (!vx_pass_pipeline_run(m, &o, d->engine))
    fail_msg("%s: pipeline %s failed:\n%s", file, passes ? passes : "-O", t_diag_text(d));
}

/* What one test does with one example: `ref` is the lowered module
 * (budgets shrunk), allocated in `a`. */
typedef void (*example_check)(const char *file, vx_module *ref, vx_arena *a, t_diag *d);

static void for_each_example(example_check check) {
  char **files;
  int n = t_list_files("examples", ".vtx", &files);
  assert_true(n >= 5);
  for (int i = 0; i < n; i++) {
    t_diag d;
    t_diag_open(&d);
    vx_arena a;
    vx_arena_init(&a);
    check(files[i], compile_example(files[i], &a, &d), &a, &d);
    vx_arena_free(&a);
    t_diag_close(&d);
  }
  t_free_list(files, n);
}

static void levels_agree(const char *file, vx_module *ref, vx_arena *a, t_diag *d) {
  run_pipeline(ref, 0, NULL, file, d);
  for (int level = 1; level <= 2; level++) {
    vx_module *m = vx_module_clone(ref, a);
    assert_non_null(m);
    run_pipeline(m, level, NULL, file, d);
    expect_equivalent(ref, m, file, level == 1 ? "-O1" : "-O2");
  }
}

static void each_pass_alone(const char *file, vx_module *ref, vx_arena *a, t_diag *d) {
  for (int p = 0; p < vx_pass_count(); p++) {
    vx_module *m = vx_module_clone(ref, a);
    assert_non_null(m);
    run_pipeline(m, 0, vx_pass_name(p), file, d);
    char what[96];
    snprintf(what, sizeof what, "pass '%s' alone", vx_pass_name(p));
    expect_equivalent(ref, m, file, what);
  }
}

static void pipeline_prefixes(const char *file, vx_module *ref, vx_arena *a, t_diag *d) {
  vx_module *m = vx_module_clone(ref, a);
  assert_non_null(m);
  for (int p = 0; p < vx_pass_count(); p++) {
    run_pipeline(m, 0, vx_pass_name(p), file, d);
    char what[96];
    snprintf(what, sizeof what, "-O2 pipeline up to '%s'", vx_pass_name(p));
    expect_equivalent(ref, m, file, what);
  }
}

static void test_levels_agree(void **state) {
  (void)state;
  for_each_example(levels_agree);
}

static void test_each_pass_alone(void **state) {
  (void)state;
  for_each_example(each_pass_alone);
}

static void test_pipeline_prefixes(void **state) {
  (void)state;
  for_each_example(pipeline_prefixes);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_levels_agree),
      cmocka_unit_test(test_each_pass_alone),
      cmocka_unit_test(test_pipeline_prefixes),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Pass manager behaviour: -O levels select the registry rows, --passes
 * runs exactly the listed passes, dumps are headed by the pass name and
 * say "(unchanged)", --dump-ir-dir writes NNN-NAME.vir files that read
 * back, --time-passes lists every pass, bad pass names and invalid input
 * IR are user errors. */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ir/read.h"
#include "ir_test_util.h"
#include "passes/pass_manager.h"

typedef struct run_result {
  bool ok;
  bool internal;
  char *dump;    /* dump/report stream contents */
  size_t dump_len;
  char diag[4096];
} run_result;

/* Runs the pipeline over examples/quest.vtx (or `vir` text) with opts
 * completed by the caller; dumps and timing go to one memory stream. */
static run_result run(vx_pass_options *o, const char *vir) {
  run_result r = {0};
  t_diag d;
  t_diag_open(&d);
  vx_arena a;
  vx_arena_init(&a);
  vx_module *m;
  if (vir) {
    vx_diag_add_source(d.engine, "in.vir", vir, strlen(vir));
    m = vx_read_module("in.vir", vir, strlen(vir), &a, d.engine);
  } else {
    char path[4096];
    snprintf(path, sizeof path, "%s/examples/quest.vtx", VX_SOURCE_DIR);
    vx_geometry geo = t_default_geometry();
    m = t_compile_vtx(path, &geo, &a, d.engine);
  }
  assert_non_null(m);
  FILE *out = open_memstream(&r.dump, &r.dump_len);
  o->dump_out = o->report_out = out;
  o->internal_error = &r.internal;
  r.ok = vx_pass_pipeline_run(m, o, d.engine);
  fclose(out);
  snprintf(r.diag, sizeof r.diag, "%s", t_diag_text(&d));
  vx_arena_free(&a);
  t_diag_close(&d);
  return r;
}

static int count(const char *hay, const char *needle) {
  int n = 0;
  for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
    n++;
  return n;
}

static void test_after_all_names_each_pass(void **state) {
  (void)state;
  vx_pass_options o;
  vx_pass_options_init(&o);
  o.dump = VX_DUMP_AFTER_ALL;
  run_result r = run(&o, NULL);
  assert_true(r.ok);
  const char *prev = r.dump;
  for (int i = 0; i < vx_pass_count(); i++) {
    char head[128];
    snprintf(head, sizeof head, "// -----// IR Dump After %s", vx_pass_name(i));
    const char *at = strstr(prev, head);
    if (!at)
      fail_msg("no dump after '%s' (in registry order) in:\n%s", vx_pass_name(i), r.dump);
    prev = at + 1;
  }
  assert_int_equal(count(r.dump, "IR Dump After"), vx_pass_count());
  /* verify changes nothing on lowered IR; canonicalize folds the param */
  assert_non_null(strstr(r.dump, "IR Dump After verify (unchanged) //"));
  assert_null(strstr(r.dump, "IR Dump After canonicalize (unchanged)"));
  free(r.dump);
}

static void test_levels_and_after_one(void **state) {
  (void)state;
  vx_pass_options o;
  vx_pass_options_init(&o);
  o.dump = VX_DUMP_AFTER_ALL;
  o.opt_level = 0;
  run_result r = run(&o, NULL);
  assert_true(r.ok);
  assert_int_equal(count(r.dump, "IR Dump After"), 1);
  assert_non_null(strstr(r.dump, "IR Dump After verify"));
  free(r.dump);
  o.opt_level = 1;
  r = run(&o, NULL);
  int o1 = 0;
  for (int i = 0; i < vx_pass_count(); i++)
    o1 += vx_pass_min_level(i) <= 1;
  assert_int_equal(count(r.dump, "IR Dump After"), o1);
  assert_null(strstr(r.dump, "After fusion"));
  free(r.dump);
  vx_pass_options_init(&o);
  o.dump = VX_DUMP_AFTER_ONE;
  o.dump_pass = "cse";
  r = run(&o, NULL);
  assert_int_equal(count(r.dump, "IR Dump After"), 1);
  assert_non_null(strstr(r.dump, "IR Dump After cse //"));
  free(r.dump);
}

static void test_passes_list_is_exact(void **state) {
  (void)state;
  vx_pass_options o;
  vx_pass_options_init(&o);
  o.dump = VX_DUMP_AFTER_ALL;
  o.passes = "dce,cse,dce";
  run_result r = run(&o, NULL);
  assert_true(r.ok);
  assert_int_equal(count(r.dump, "IR Dump After"), 3);
  const char *a = strstr(r.dump, "After dce"), *b = strstr(r.dump, "After cse");
  assert_true(a && b && a < b);
  free(r.dump);
  o.passes = "cse,frobnicate";
  r = run(&o, NULL);
  assert_false(r.ok);
  assert_false(r.internal);
  assert_non_null(strstr(r.diag, "unknown pass 'frobnicate' in --passes (known: verify, canonicalize"));
  free(r.dump);
}

static void test_dump_dir(void **state) {
  (void)state;
  char dir[] = "/tmp/vx_dump_XXXXXX";
  assert_non_null(mkdtemp(dir));
  vx_pass_options o;
  vx_pass_options_init(&o);
  o.dump_dir = dir;
  run_result r = run(&o, NULL);
  assert_true(r.ok);
  free(r.dump);
  char path[512];
  snprintf(path, sizeof path, "%s/000-input.vir", dir);
  assert_int_equal(access(path, R_OK), 0);
  unlink(path);
  for (int i = 0; i < vx_pass_count(); i++) {
    snprintf(path, sizeof path, "%s/%03d-%s.vir", dir, i + 1, vx_pass_name(i));
    size_t len;
    char *text = t_read_file(path, &len);
    if (!text)
      fail_msg("missing dump file %s", path);
    t_diag d;
    t_diag_open(&d);
    vx_arena a;
    vx_arena_init(&a);
    assert_non_null(vx_read_module(path, text, len, &a, d.engine));
    vx_arena_free(&a);
    t_diag_close(&d);
    free(text);
    unlink(path);
  }
  rmdir(dir);
}

static void test_time_passes(void **state) {
  (void)state;
  vx_pass_options o;
  vx_pass_options_init(&o);
  o.time_passes = true;
  run_result r = run(&o, NULL);
  assert_true(r.ok);
  assert_non_null(strstr(r.dump, "pass execution timing"));
  for (int i = 0; i < vx_pass_count(); i++) {
    char line[64];
    snprintf(line, sizeof line, "  %s\n", vx_pass_name(i));
    if (!strstr(r.dump, line))
      fail_msg("no timing line for %s in:\n%s", vx_pass_name(i), r.dump);
  }
  free(r.dump);
}

static void test_invalid_input_is_a_user_error(void **state) {
  (void)state;
  const char *vir = "module @t {\n"
                    "  geometry kv = gqa, head_dim = 64, group = 4, page_size = 16, kv_dtype = bf16\n"
                    "  func @cache_update {\n  }\n"
                    "  func @index {\n    %0 = page.age : f32[page] page\n  }\n}\n";
  vx_pass_options o;
  vx_pass_options_init(&o);
  run_result r = run(&o, vir);
  assert_false(r.ok);
  assert_false(r.internal);
  assert_non_null(strstr(r.diag, "expected exactly one select.* op, found 0"));
  free(r.dump);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_after_all_names_each_pass),
      cmocka_unit_test(test_levels_and_after_one),
      cmocka_unit_test(test_passes_list_is_exact),
      cmocka_unit_test(test_dump_dir),
      cmocka_unit_test(test_time_passes),
      cmocka_unit_test(test_invalid_input_is_a_user_error),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

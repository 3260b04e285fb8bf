/* Textual IR: print(read(print(m))) == print(m) for every example (before
 * and after -O2) and every .vir under tests/ir; reader diagnostics on
 * malformed input; mutated input never crashes the reader. */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "ir/print.h"
#include "ir/read.h"
#include "ir/verify.h"
#include "ir_test_util.h"
#include "passes/pass_manager.h"

/* Asserts the round trip of m and returns nothing; prints both texts on failure. */
static void check_round_trip(const vx_module *m, const char *what) {
  t_diag d;
  t_diag_open(&d);
  char *text = vx_print_module_string(m, NULL);
  assert_non_null(text);
  vx_arena a;
  vx_arena_init(&a);
  vx_module *back = vx_read_module(what, text, strlen(text), &a, d.engine);
  if (!back)
    fail_msg("%s: printed IR does not read back:\n%s\n%s", what, t_diag_text(&d), text);
  char *again = vx_print_module_string(back, NULL);
  if (strcmp(text, again) != 0)
    fail_msg("%s: round trip differs:\n--- first\n%s\n--- second\n%s", what, text, again);
  /* with locations too */
  vx_print_options lo = {.locations = true};
  char *t1 = vx_print_module_string(m, &lo);
  vx_module *b2 = vx_read_module(what, t1, strlen(t1), &a, d.engine);
  assert_non_null(b2);
  char *t2 = vx_print_module_string(b2, &lo);
  assert_string_equal(t1, t2);
  free(t1);
  free(t2);
  free(text);
  free(again);
  vx_arena_free(&a);
  t_diag_close(&d);
}

static void test_round_trip_examples(void **state) {
  (void)state;
  char **files;
  int n = t_list_files("examples", ".vtx", &files);
  assert_true(n >= 5);
  for (int i = 0; i < n; i++) {
    for (int level = 0; level <= 2; level += 2) {
      t_diag d;
      t_diag_open(&d);
      vx_arena a;
      vx_arena_init(&a);
      vx_geometry geo = t_default_geometry();
      vx_module *m = t_compile_vtx(files[i], &geo, &a, d.engine);
      if (!m)
        fail_msg("%s does not compile:\n%s", files[i], t_diag_text(&d));
      assert_true(vx_verify(m, d.engine));
      vx_pass_options o;
      vx_pass_options_init(&o);
      o.opt_level = level;
      o.verify_each = true;
      if (!vx_pass_pipeline_run(m, &o, d.engine))
        fail_msg("%s -O%d:\n%s", files[i], level, t_diag_text(&d));
      check_round_trip(m, files[i]);
      vx_arena_free(&a);
      t_diag_close(&d);
    }
  }
  t_free_list(files, n);
}

static void round_trip_dir(const char *dir) {
  char **files;
  int n = t_list_files(dir, ".vir", &files);
  assert_true(n >= 1);
  for (int i = 0; i < n; i++) {
    t_diag d;
    t_diag_open(&d);
    vx_arena a;
    vx_arena_init(&a);
    vx_module *m = t_read_vir(files[i], &a, d.engine);
    if (!m)
      fail_msg("%s:\n%s", files[i], t_diag_text(&d));
    check_round_trip(m, files[i]);
    vx_arena_free(&a);
    t_diag_close(&d);
  }
  t_free_list(files, n);
}

static void test_round_trip_vir_files(void **state) {
  (void)state;
  round_trip_dir("tests/ir/vir");
  round_trip_dir("tests/ir/passes");
}

/* Reads `text`; expects failure with `want` in the diagnostics. */
static void expect_read_error(const char *text, const char *want) {
  t_diag d;
  t_diag_open(&d);
  vx_arena a;
  vx_arena_init(&a);
  vx_diag_add_source(d.engine, "bad.vir", text, strlen(text));
  vx_module *m = vx_read_module("bad.vir", text, strlen(text), &a, d.engine);
  const char *out = t_diag_text(&d);
  if (m || !strstr(out, want))
    fail_msg("input:\n%s\nexpected an error containing \"%s\", got:\n%s", text, want, out);
  vx_arena_free(&a);
  t_diag_close(&d);
}

#define HDR "module @t {\n  geometry kv = gqa, head_dim = 64, group = 4, page_size = 16, kv_dtype = bf16\n"

static void test_reader_diagnostics(void **state) {
  (void)state;
  expect_read_error("", "bad.vir:1:1: error: expected 'module' but found end of file");
  expect_read_error("module @t { }", "module has no geometry line");
  expect_read_error(HDR "  func @index {\n    %0 = frob %1 : f32[] query\n  }\n}\n", "bad.vir:4:10: error: unknown op 'frob'");
  expect_read_error(HDR "  func @index {\n    %0 = neg %9 : f32[] query\n  }\n}\n", "use of undefined value %9");
  expect_read_error(HDR "  func @index {\n    %0 = const 1 : f32[] query\n    %0 = const 2 : f32[] query\n  }\n}\n",
                    "value %0 is defined twice");
  expect_read_error(HDR "  func @index {\n    %0 = input.q : f32[head, dim] query\n"
                        "    %1 = reduce.sum %0 {axis = dim} : f32[dim] query\n  }\n}\n",
                    "'reduce.sum' is written with shape [dim] but its operands give [head]");
  expect_read_error(HDR "  func @index {\n    %0 = input.q : f32[head, dim] query\n"
                        "    %1 = reduce.sum %0 : f32[head] query\n  }\n}\n",
                    "needs an {axis = ...} attribute");
  expect_read_error(HDR "  func @index {\n    %0 = load.field @nope : f32[page, dim] page\n  }\n}\n",
                    "unknown field '@nope'");
  expect_read_error(HDR "  func @index {\n    %0 = const 1 {axis = dim} : f32[] query\n  }\n}\n",
                    "attribute 'axis' does not apply to 'const'");
  expect_read_error(HDR "  func @index {\n    %0 = const 1 : f32[dim, dim] query\n  }\n}\n",
                    "axis 'dim' appears twice");
  expect_read_error(HDR "  func @index {\n    select.top\n  }\n}\n", "expected a value but found '}'");
  expect_read_error(HDR "  func @index {\n    %0 = const 1 : f32[] page\n  }\n}\n",
                    "written in space 'page' but its shape and function put it in 'query'");
  expect_read_error(HDR "  func @index {\n    %0 = const 1 : f32[] query\n", "unterminated function @index");
  expect_read_error(HDR "}\n junk", "unexpected 'junk' after the module");
  expect_read_error(HDR "  field @f : bf16[dim]\n  field @f : bf16[dim]\n}\n", "field '@f' is declared twice");
  expect_read_error("module @t {\n  geometry kv = gqa, head_dim = 99999999999\n", "integer 99999999999 out of range [1, 1048576]");
  expect_read_error("\x01\x02", "expected 'module' but found '?'");
}

/* Every prefix and many single-byte mutations of a valid file either
 * read back or produce a diagnostic; none crashes (run under ASan in CI). */
static void test_reader_never_crashes(void **state) {
  (void)state;
  size_t len;
  char path[4096];
  snprintf(path, sizeof path, "%s/tests/ir/vir/quest.vir", VX_SOURCE_DIR);
  char *text = t_read_file(path, &len);
  assert_non_null(text);
  uint64_t seed = 0x9e3779b97f4a7c15ull;
  const char alphabet[] = "%@{}[](),:=-.0123456789 \nabcxyz\x00\xff";
  for (size_t cut = 0; cut <= len; cut += 7) {
    t_diag d;
    t_diag_open(&d);
    vx_arena a;
    vx_arena_init(&a);
    vx_module *m = vx_read_module("cut.vir", text, cut, &a, d.engine);
    assert_true(m != NULL || vx_diag_error_count(d.engine) > 0);
    vx_arena_free(&a);
    t_diag_close(&d);
  }
  char *mut = malloc(len);
  for (int iter = 0; iter < 3000; iter++) {
    memcpy(mut, text, len);
    for (int k = 0; k < 3; k++) {
      seed = seed * 6364136223846793005ull + 1442695040888963407ull;
      mut[(seed >> 33) % len] = alphabet[(seed >> 13) % (sizeof alphabet - 1)];
    }
    t_diag d;
    t_diag_open(&d);
    vx_arena a;
    vx_arena_init(&a);
    vx_module *m = vx_read_module("mut.vir", mut, len, &a, d.engine);
    if (m)
      (void)vx_verify(m, d.engine); /* the verifier must survive whatever reads */
    else
      assert_true(vx_diag_error_count(d.engine) > 0);
    vx_arena_free(&a);
    t_diag_close(&d);
  }
  free(mut);
  free(text);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_round_trip_examples),
      cmocka_unit_test(test_round_trip_vir_files),
      cmocka_unit_test(test_reader_diagnostics),
      cmocka_unit_test(test_reader_never_crashes),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

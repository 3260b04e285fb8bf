/* Each pass on hand-written .vir inputs (tests/ir/passes/NAME.vir, first
 * line `// RUN: --passes=a,b`): the output must equal NAME.expected.vir
 * (checked by hand when written), the verifier must accept the result,
 * and running the same passes again must change nothing (idempotence). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "ir/print.h"
#include "ir_test_util.h"
#include "passes/pass_manager.h"

/* The pass list of the RUN line, copied into buf; NULL if none. */
static const char *run_line_passes(const char *text, char *buf, size_t n) {
  const char *p = strstr(text, "// RUN: --passes=");
  if (!p)
    return NULL;
  p += strlen("// RUN: --passes=");
  size_t len = strcspn(p, " \r\n");
  if (len >= n)
    return NULL;
  memcpy(buf, p, len);
  buf[len] = '\0';
  return buf;
}

/* Reads a .vir, runs `passes` over it `rounds` times (none: just print)
 * with the verifier after each pass, and returns the printed result. */
static char *run_passes_text(const char *path, const char *passes, int rounds) {
  t_diag d;
  t_diag_open(&d);
  vx_arena a;
  vx_arena_init(&a);
  vx_module *m = t_read_vir(path, &a, d.engine);
  if (!m)
    fail_msg("%s:\n%s", path, t_diag_text(&d));
  vx_pass_options o;
  vx_pass_options_init(&o);
  o.passes = passes;
  o.verify_each = true;
  o.roundtrip_each = true;
  for (int r = 0; r < rounds; r++)
    if (!vx_pass_pipeline_run(m, &o, d.engine))
      fail_msg("%s --passes=%s:\n%s", path, passes, t_diag_text(&d));
  char *text = vx_print_module_string(m, NULL);
  vx_arena_free(&a);
  t_diag_close(&d);
  return text;
}

static char *canonical_text(const char *path) { return run_passes_text(path, "", 0); }

static void test_pass_cases(void **state) {
  (void)state;
  char **files;
  int n = t_list_files("tests/ir/passes", ".vir", &files);
  int cases = 0;
  for (int i = 0; i < n; i++) {
    size_t len = strlen(files[i]);
    if (len > 13 && strcmp(files[i] + len - 13, ".expected.vir") == 0)
      continue;
    char *src = t_read_file(files[i], NULL);
    char passes[256];
    const char *list = run_line_passes(src, passes, sizeof passes);
    if (!list)
      fail_msg("%s has no // RUN: --passes= line", files[i]);
    char expected_path[4096];
    snprintf(expected_path, sizeof expected_path, "%.*s.expected.vir", (int)(len - 4), files[i]);
    char *want = canonical_text(expected_path);
    char *got = run_passes_text(files[i], list, 1);
    if (strcmp(want, got) != 0)
      fail_msg("%s --passes=%s\n--- expected\n%s\n--- got\n%s", files[i], list, want, got);
    char *twice = run_passes_text(files[i], list, 2);
    if (strcmp(got, twice) != 0)
      fail_msg("%s: --passes=%s is not idempotent\n--- once\n%s\n--- twice\n%s", files[i], list, got, twice);
    free(want);
    free(got);
    free(twice);
    free(src);
    cases++;
  }
  assert_true(cases >= 9);
  t_free_list(files, n);
}

/* Every pass of the registry appears in at least one case file, so no
 * pass goes without a before/after test. */
static void test_every_pass_has_a_case(void **state) {
  (void)state;
  char **files;
  int n = t_list_files("tests/ir/passes", ".vir", &files);
  for (int p = 0; p < vx_pass_count(); p++) {
    const char *name = vx_pass_name(p);
    if (strcmp(name, "verify") == 0)
      continue; /* exercised by every case (verify_each) and by test_ir_verify */
    bool found = false;
    for (int i = 0; i < n && !found; i++) {
      char *src = t_read_file(files[i], NULL);
      char passes[256];
      const char *list = run_line_passes(src, passes, sizeof passes);
      if (list) {
        for (char *tok = strtok(passes, ","); tok; tok = strtok(NULL, ","))
          found |= strcmp(tok, name) == 0;
      }
      free(src);
    }
    if (!found)
      fail_msg("pass '%s' has no case in tests/ir/passes", name);
  }
  t_free_list(files, n);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_pass_cases),
      cmocka_unit_test(test_every_pass_has_a_case),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

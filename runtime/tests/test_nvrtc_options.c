/* test_nvrtc_options.c - the NVRTC loader's option list (CPU only): what
 * enters the cache key, and when the loader adds its own -split-compile. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vxrt_internal.h"

static vxrt_nvrtc_options *build(const char *const *options, int arch) {
  vxrt_nvrtc_options *ol = malloc(sizeof *ol);
  assert_non_null(ol);
  char err[256];
  vxrt_status st = vxrt_nvrtc_options_build(options, arch, ol, err, sizeof err);
  if (st != VXRT_SUCCESS) fail_msg("build: %s", err);
  return ol;
}

static int position(const vxrt_nvrtc_options *ol, const char *item) {
  for (int i = 0; i < ol->count; ++i)
    if (strcmp(ol->items[i], item) == 0) return i;
  return -1;
}

static void test_loader_adds_split_compile_outside_the_key(void **state) {
  (void)state;
  const char *opts[] = {"-std=c++17", "-DX=1", NULL};
  vxrt_nvrtc_options *ol = build(opts, 90);
  assert_string_equal(ol->items[0], "-arch=sm_90a");
  assert_int_equal(strncmp(ol->items[1], "-I", 2), 0);
  const int std = position(ol, "-std=c++17");
  assert_true(std > 0);
  assert_int_equal(position(ol, "-DX=1"), std + 1);
  /* Everything but the last item decides the cubin; the last only the threads. */
  assert_int_equal(ol->keyed, ol->count - 1);
  assert_string_equal(ol->items[ol->count - 1], "-split-compile=0");
  assert_int_equal(vxrt_nvrtc_options_drop_unkeyed(ol), 1);
  assert_int_equal(ol->count, ol->keyed);
  assert_int_equal(position(ol, "-split-compile=0"), -1);
  assert_int_equal(vxrt_nvrtc_options_drop_unkeyed(ol), 0);
  free(ol);

  ol = build(NULL, 80);
  assert_string_equal(ol->items[0], "-arch=sm_80");
  assert_string_equal(ol->items[ol->count - 1], "-split-compile=0");
  assert_int_equal(ol->keyed, ol->count - 1);
  free(ol);
}

static void test_callers_split_compile_is_kept_and_keyed(void **state) {
  (void)state;
  const char *spellings[] = {"-split-compile=1", "--split-compile=4"};
  for (size_t s = 0; s < sizeof spellings / sizeof spellings[0]; ++s) {
    const char *opts[] = {"-std=c++17", spellings[s], NULL};
    vxrt_nvrtc_options *ol = build(opts, 90);
    assert_int_equal(ol->keyed, ol->count);
    assert_string_equal(ol->items[ol->count - 1], spellings[s]);
    assert_int_equal(position(ol, "-split-compile=0"), -1);
    assert_int_equal(vxrt_nvrtc_options_drop_unkeyed(ol), 0);
    assert_string_equal(ol->items[ol->count - 1], spellings[s]);
    free(ol);
  }
}

static void test_too_many_options(void **state) {
  (void)state;
  const char *opts[VXRT_MAX_NVRTC_OPTIONS + 2];
  for (int i = 0; i <= VXRT_MAX_NVRTC_OPTIONS; ++i) opts[i] = "-DX";
  opts[VXRT_MAX_NVRTC_OPTIONS + 1] = NULL;
  vxrt_nvrtc_options *ol = malloc(sizeof *ol);
  assert_non_null(ol);
  char err[256];
  assert_int_equal(vxrt_nvrtc_options_build(opts, 90, ol, err, sizeof err), VXRT_ERROR_INVALID_VALUE);
  assert_non_null(strstr(err, "more than 64 NVRTC options"));
  opts[VXRT_MAX_NVRTC_OPTIONS] = NULL; /* exactly the maximum fits, with the loader's own */
  assert_int_equal(vxrt_nvrtc_options_build(opts, 90, ol, err, sizeof err), VXRT_SUCCESS);
  assert_string_equal(ol->items[ol->count - 1], "-split-compile=0");
  free(ol);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_loader_adds_split_compile_outside_the_key),
      cmocka_unit_test(test_callers_split_compile_is_kept_and_keyed),
      cmocka_unit_test(test_too_many_options),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

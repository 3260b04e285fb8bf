/* test_nvrtc_headers.c - the device headers as the code generator uses them.
 * 1. Pasted verbatim, in dependency order, into one source with NO device
 *    include path (that is what a generated .cu contains) and compiled by
 *    NVRTC for sm_90a: must succeed without warnings.
 * 2. The NVRTC loader: a broken source reports VXRT_ERROR_NVRTC with the
 *    compiler log; a good source lands in the on-disk cache, keyed so the
 *    second load is a cache hit. Loading needs a GPU; without one the
 *    status is VXRT_ERROR_CUDA after the cache entry was written. */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <unistd.h>

#include <cmocka.h>
#include <nvrtc.h>

#include "vortexrt.h"

static char *slurp(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) fail_msg("cannot open %s", path);
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *s = malloc((size_t)n + 1);
  assert_non_null(s);
  assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
  s[n] = '\0';
  fclose(f);
  return s;
}

static char *pasted_headers(void) {
  static const char *names[] = {"vx_common.cuh",      "vx_plan.h",          "vx_page_table.cuh", "vx_topk.cuh",
                                "vx_select_kernels.cuh", "vx_attention.cuh", "vx_decode_simt.cuh", "vx_mla.cuh",
                                "vx_wgmma.cuh",       "vx_mla_wgmma.cuh",   "vx_mla_launch.cuh", "vx_mla_simt.cuh",
                                "vx_decode_mma.cuh",  "../tests/headers_all.cu"};
  size_t cap = 1 << 20, len = 0;
  char *all = calloc(cap, 1);
  assert_non_null(all);
  for (size_t i = 0; i < sizeof names / sizeof names[0]; ++i) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", VXRT_DEVICE_DIR, names[i]);
    char *s = slurp(path);
    /* The probe TU's own includes are what a generated file would not
     * have: blank them (the headers' internal ones are guarded). */
    for (char *inc = s; (inc = strstr(inc, "#include \"vx_")) != NULL;) memset(inc, ' ', strcspn(inc, "\n"));
    size_t n = strlen(s);
    assert_true(len + n + 2 < cap);
    memcpy(all + len, s, n);
    len += n;
    all[len++] = '\n';
    free(s);
  }
  return all;
}

static void test_pasted_headers_compile(void **state) {
  (void)state;
  char *src = pasted_headers();
  nvrtcProgram prog;
  assert_int_equal(nvrtcCreateProgram(&prog, src, "generated.cu", 0, NULL, NULL), NVRTC_SUCCESS);
  const char *opts[] = {"-arch=sm_90a", "-std=c++17", "-I" VXRT_CUDA_INCLUDE_DIR};
  nvrtcResult r = nvrtcCompileProgram(prog, 3, opts);
  size_t log_size = 0;
  nvrtcGetProgramLogSize(prog, &log_size);
  char *log = calloc(log_size + 1, 1);
  nvrtcGetProgramLog(prog, log);
  if (r != NVRTC_SUCCESS) fail_msg("NVRTC failed: %s\n%s", nvrtcGetErrorString(r), log);
  if (strstr(log, "warning")) fail_msg("NVRTC warnings:\n%s", log);
  size_t cubin = 0;
  assert_int_equal(nvrtcGetCUBINSize(prog, &cubin), NVRTC_SUCCESS);
  assert_true(cubin > 1000);
  free(log);
  nvrtcDestroyProgram(&prog);
  free(src);
}

static int count_cubins(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) return -1;
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)))
    if (strstr(e->d_name, ".cubin") && !strstr(e->d_name, ".tmp")) ++n;
  closedir(d);
  return n;
}

static void test_loader_reports_compile_errors(void **state) {
  (void)state;
  char err[4096];
  vxrt_module *m = (vxrt_module *)0x1;
  vxrt_status st = vxrt_module_load_source("extern \"C\" __global__ void k() { undefined_thing(); }", NULL, 90, NULL,
                                           &m, err, sizeof err);
  assert_int_equal(st, VXRT_ERROR_NVRTC);
  assert_null(m);
  if (!strstr(err, "undefined_thing")) fail_msg("log lacks the bad identifier: %s", err);
  assert_int_equal(vxrt_module_load_source(NULL, NULL, 90, NULL, &m, err, sizeof err), VXRT_ERROR_NULL_POINTER);
  assert_int_equal(vxrt_module_load_source("", NULL, 7, NULL, &m, err, sizeof err), VXRT_ERROR_INVALID_VALUE);
}

static void test_loader_cache(void **state) {
  (void)state;
  char dir[] = "/tmp/vxrt-cache-XXXXXX";
  assert_non_null(mkdtemp(dir));
  const char *src = "#include \"vx_topk.cuh\"\n"
                    "extern \"C\" __global__ void probe(int *o) { o[0] = (int)vx_score_key(1.0f); }\n";
  const char *opts[] = {"-std=c++17", NULL};
  char err[4096];
  vxrt_module *m = NULL;
  vxrt_status st = vxrt_module_load_source(src, opts, 90, dir, &m, err, sizeof err);
  if (st != VXRT_SUCCESS && st != VXRT_ERROR_CUDA) fail_msg("load: %s: %s", vxrt_status_string(st), err);
  assert_int_equal(count_cubins(dir), 1);
  if (st == VXRT_SUCCESS) {
    assert_int_equal(vxrt_module_from_cache(m), 0);
    cudaKernel_t f;
    assert_int_equal(vxrt_module_get_function(m, "probe", &f, err, sizeof err), VXRT_SUCCESS);
    assert_int_equal(vxrt_module_get_function(m, "nope", &f, err, sizeof err), VXRT_ERROR_NOT_FOUND);
    vxrt_module_unload(m);
    m = NULL;
    assert_int_equal(vxrt_module_load_source(src, opts, 90, dir, &m, err, sizeof err), VXRT_SUCCESS);
    assert_int_equal(vxrt_module_from_cache(m), 1);
    vxrt_module_unload(m);
  }
  /* A corrupt entry is a miss: recompiled and replaced by a valid cubin. */
  {
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[512] = "";
    while (d && (e = readdir(d)))
      if (strstr(e->d_name, ".cubin")) snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    if (d) closedir(d);
    assert_true(path[0] != '\0');
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs("not a cubin", f);
    fclose(f);
    st = vxrt_module_load_source(src, opts, 90, dir, &m, err, sizeof err);
    assert_true(st == VXRT_SUCCESS || st == VXRT_ERROR_CUDA);
    if (st == VXRT_SUCCESS) {
      assert_int_equal(vxrt_module_from_cache(m), 0);
      vxrt_module_unload(m);
    }
    char *again = slurp(path);
    assert_memory_equal(again, "\x7f" "ELF", 4);
    free(again);
  }
  /* A different option is a different key: a second entry appears. */
  const char *opts2[] = {"-std=c++17", "-DVX_PROBE=1", NULL};
  st = vxrt_module_load_source(src, opts2, 90, dir, &m, err, sizeof err);
  assert_true(st == VXRT_SUCCESS || st == VXRT_ERROR_CUDA);
  if (st == VXRT_SUCCESS) vxrt_module_unload(m);
  assert_int_equal(count_cubins(dir), 2);
  /* The caller's own -split-compile replaces the loader's and is keyed. */
  const char *opts3[] = {"-std=c++17", "-split-compile=1", NULL};
  st = vxrt_module_load_source(src, opts3, 90, dir, &m, err, sizeof err);
  if (st != VXRT_SUCCESS && st != VXRT_ERROR_CUDA) fail_msg("load with -split-compile=1: %s: %s", vxrt_status_string(st), err);
  if (st == VXRT_SUCCESS) vxrt_module_unload(m);
  assert_int_equal(count_cubins(dir), 3);
  char cmd[256];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  assert_int_equal(system(cmd), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_pasted_headers_compile),
      cmocka_unit_test(test_loader_reports_compile_errors),
      cmocka_unit_test(test_loader_cache),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

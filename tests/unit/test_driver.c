/* Driver: all-or-nothing output files, and the whole pipeline through
 * vx_compile on a file (exit statuses). */
#include "test_util.h"
#include "compiler/driver.h"

#include <dirent.h>
#include <sys/stat.h>

static int count_entries(const char *dir) {
  DIR *d = opendir(dir);
  assert_non_null(d);
  int n = 0;
  for (struct dirent *e; (e = readdir(d));)
    n += e->d_name[0] != '.';
  closedir(d);
  return n;
}

static void test_atomic_write_all_or_nothing(void **state) {
  (void)state;
  char dir[] = "/tmp/vx_out_XXXXXX";
  assert_non_null(mkdtemp(dir));
  char a[64], b[80], missing[96];
  snprintf(a, sizeof a, "%s/out.cu", dir);
  snprintf(b, sizeof b, "%s/out.h", dir);
  snprintf(missing, sizeof missing, "%s/no/such/dir/out.h", dir);
  const char *data[2] = {"cu\n", "h\n"};
  size_t lens[2] = {3, 2};

  const char *good[2] = {a, b};
  assert_true(vx_write_files_atomic(good, data, lens, 2));
  assert_int_equal(count_entries(dir), 2);
  unlink(a);
  unlink(b);

  /* The second file cannot be created: the first must not appear either,
   * and no temporary file may be left behind. */
  const char *bad[2] = {a, missing};
  assert_false(vx_write_files_atomic(bad, data, lens, 2));
  assert_int_equal(count_entries(dir), 0);
  rmdir(dir);
}

static int compile_file(const char *src, const char *emit) {
  char path[] = "/tmp/vx_drv_XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  FILE *f = fdopen(fd, "w");
  fputs(src, f);
  fclose(f);
  /* Guard first: a driver that renamed over /dev/null would destroy it. */
  assert_true(vx_output_is_special("/dev/null"));
  char *argv[] = {"vortexc", path, (char *)emit, "--color=never", "-o", "/dev/null"};
  vx_options o;
  assert_true(vx_options_parse(&o, 6, argv, stderr));
  int rc = vx_compile(&o);
  vx_options_free(&o);
  unlink(path);
  return rc;
}

static void test_compile_exit_statuses(void **state) {
  (void)state;
  const char *good = "algorithm g { cache { c = mean(k, tok); } index { score = max(sum(q * c, dim), head); "
                     "select top(4); } }";
  assert_int_equal(compile_file(good, "--emit=ast"), VX_EXIT_OK);
  assert_int_equal(compile_file(good, "--emit=none"), VX_EXIT_OK);
  assert_int_equal(compile_file("algorithm b { cache { } }", "--emit=ast"), VX_EXIT_INPUT);
  assert_int_equal(compile_file("", "--emit=ast"), VX_EXIT_INPUT);
  struct stat st;
  assert_int_equal(stat("/dev/null", &st), 0);
  assert_true(S_ISCHR(st.st_mode)); /* written through, not replaced */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_atomic_write_all_or_nothing),
      cmocka_unit_test(test_compile_exit_statuses),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

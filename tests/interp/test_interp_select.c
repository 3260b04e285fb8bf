/* The select rules on hand-made score rows. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ir/interp.h"

#define MAXN 16

static void expect_pages(const int32_t *got, int count, const int32_t *want, int nwant) {
  assert_int_equal(count, nwant);
  for (int i = 0; i < nwant; i++)
    assert_int_equal(got[i], want[i]);
}

#define EXPECT(got, count, ...)                                                                              \
  do {                                                                                                       \
    const int32_t want_[] = {__VA_ARGS__};                                                                   \
    expect_pages(got, count, want_, (int)(sizeof want_ / sizeof want_[0]));                                  \
  } while (0)

static void test_top_basic_and_sorted(void **state) {
  (void)state;
  float s[] = {0.5f, 3.0f, -1.0f, 2.0f, 1.0f};
  int32_t out[MAXN], scratch[MAXN];
  int c = vx_select_top(s, 5, 2.0, 0, 0, out, scratch);
  EXPECT(out, c, 1, 3);
  c = vx_select_top(s, 5, 2.9, 0, 0, out, scratch); /* floor */
  EXPECT(out, c, 1, 3);
}

static void test_top_ties_prefer_lower_index(void **state) {
  (void)state;
  float s[] = {1.0f, 2.0f, 2.0f, 2.0f, 0.0f};
  int32_t out[MAXN], scratch[MAXN];
  int c = vx_select_top(s, 5, 2.0, 0, 0, out, scratch);
  EXPECT(out, c, 1, 2);
  float z[] = {-0.0f, 0.0f}; /* -0 == +0: an index tie */
  c = vx_select_top(z, 2, 1.0, 0, 0, out, scratch);
  EXPECT(out, c, 0);
}

static void test_top_nan_ranks_lowest(void **state) {
  (void)state;
  float s[] = {NAN, -5.0f, NAN, -7.0f};
  int32_t out[MAXN], scratch[MAXN];
  int c = vx_select_top(s, 4, 2.0, 0, 0, out, scratch);
  EXPECT(out, c, 1, 3);
  c = vx_select_top(s, 4, 3.0, 0, 0, out, scratch); /* NaNs tie: lower index */
  EXPECT(out, c, 0, 1, 3);
}

static void test_top_keep_first_last(void **state) {
  (void)state;
  float s[] = {-9.0f, 5.0f, 4.0f, 6.0f, -9.0f, -8.0f};
  int32_t out[MAXN], scratch[MAXN];
  /* kept 0, 4, 5 are outside the budget of 1 */
  int c = vx_select_top(s, 6, 1.0, 1, 2, out, scratch);
  EXPECT(out, c, 0, 3, 4, 5);
  /* budget 0: only the kept pages */
  c = vx_select_top(s, 6, 0.0, 1, 2, out, scratch);
  EXPECT(out, c, 0, 4, 5);
  /* overlapping keeps on a 2-page request: both pages, nothing twice */
  c = vx_select_top(s, 2, 0.0, 3, 3, out, scratch);
  EXPECT(out, c, 0, 1);
}

static void test_top_budget_clamping(void **state) {
  (void)state;
  float s[] = {1.0f, 2.0f, 3.0f};
  int32_t out[MAXN], scratch[MAXN];
  int c = vx_select_top(s, 3, 100.0, 1, 1, out, scratch);
  EXPECT(out, c, 0, 1, 2);
  c = vx_select_top(s, 3, -4.0, 0, 0, out, scratch);
  assert_int_equal(c, 0);
  c = vx_select_top(s, 3, NAN, 0, 1, out, scratch);
  EXPECT(out, c, 2);
  c = vx_select_top(s, 3, INFINITY, 0, 0, out, scratch);
  EXPECT(out, c, 0, 1, 2);
  c = vx_select_top(s, 1, 0.0, 0, 0, out, scratch);
  assert_int_equal(c, 0);
}

static void test_threshold(void **state) {
  (void)state;
  float s[] = {0.1f, 0.5f, NAN, 0.7f, 0.2f};
  int32_t out[MAXN];
  int c = vx_select_threshold(s, 5, 0.5, 0, 0, out);
  EXPECT(out, c, 1, 3);
  c = vx_select_threshold(s, 5, 0.5, 1, 1, out);
  EXPECT(out, c, 0, 1, 3, 4);
  c = vx_select_threshold(s, 5, NAN, 0, 0, out);
  assert_int_equal(c, 0);
}

static void test_mass(void **state) {
  (void)state;
  /* softmax of {log 6, log 3, log 1} = {0.6, 0.3, 0.1} */
  float s[] = {(float)log(3.0), (float)log(1.0), (float)log(6.0)};
  int32_t out[MAXN], scratch[MAXN];
  int c = vx_select_mass(s, 3, 0.5, 0, 0, out, scratch);
  EXPECT(out, c, 2);
  c = vx_select_mass(s, 3, 0.7, 0, 0, out, scratch);
  EXPECT(out, c, 0, 2);
  c = vx_select_mass(s, 3, 0.95, 0, 0, out, scratch);
  EXPECT(out, c, 0, 1, 2);
  c = vx_select_mass(s, 3, 0.0, 0, 0, out, scratch);
  assert_int_equal(c, 0);
  c = vx_select_mass(s, 3, 1.0, 0, 0, out, scratch);
  EXPECT(out, c, 0, 1, 2);
  /* keep_first 1 removes page 0 from the softmax: {6, 1} -> {6/7, 1/7} */
  c = vx_select_mass(s, 3, 0.8, 1, 0, out, scratch);
  EXPECT(out, c, 0, 2);
  float n[] = {-INFINITY, NAN, -INFINITY};
  c = vx_select_mass(n, 3, 0.5, 0, 0, out, scratch); /* uniform: 2 of 3 reach 0.5 */
  EXPECT(out, c, 0, 2);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_top_basic_and_sorted), cmocka_unit_test(test_top_ties_prefer_lower_index),
      cmocka_unit_test(test_top_nan_ranks_lowest), cmocka_unit_test(test_top_keep_first_last),
      cmocka_unit_test(test_top_budget_clamping), cmocka_unit_test(test_threshold),
      cmocka_unit_test(test_mass),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

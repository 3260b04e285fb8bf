/* test_plan.c - the split-KV plan (runtime/device/vx_plan.h) in plain C:
 * the host, libvortexrt and generated kernels all depend on its invariants. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "vx_plan.h"

/* Every pages of a row land in some chunk, chunks never exceed the
 * workspace bound, and the workspace grows with the chunk count. */
static void test_invariants(void **state) {
  (void)state;
  static const long long rows_list[] = {1, 7, 128, 256, 512, 4096, 100000};
  static const int pages_list[] = {1, 3, 4, 5, 128, 2048, 8192, 1 << 20};
  static const int caps[] = {0, 1, 132, 264, 396, 1056};
  for (size_t r = 0; r < sizeof rows_list / sizeof rows_list[0]; ++r)
    for (size_t p = 0; p < sizeof pages_list / sizeof pages_list[0]; ++p)
      for (size_t c = 0; c < sizeof caps / sizeof caps[0]; ++c) {
        const long long rows = rows_list[r];
        const int pages = pages_list[p];
        const vx_decode_plan plan = vx_make_decode_plan(rows, pages, caps[c]);
        const int maxc = vx_decode_max_chunks(rows, pages);
        assert_true(plan.num_chunks >= 1);
        assert_true(plan.num_chunks <= maxc);
        assert_true(maxc <= VX_PLAN_MAX_CHUNKS);
        assert_true((long long)plan.num_chunks * plan.chunk_pages >= pages);
        assert_true((long long)(plan.num_chunks - 1) * plan.chunk_pages < pages); /* no empty chunk */
        if (plan.num_chunks > 1) assert_true(plan.chunk_pages >= VX_PLAN_MIN_CHUNK_PAGES - 1);
        assert_true(vx_decode_workspace_bytes(rows, 4, 128, plan.num_chunks) <=
                    vx_decode_workspace_bytes(rows, 4, 128, maxc));
      }
}

/* Equal rows: the chosen split is the fewest chunks whose last wave is
 * >= 90% full (VX_PLAN_MIN_WAVES 0) when an allowed split can (H200: 132
 * SMs x 2 blocks of the MMA kernel = 264 slots). Expected values by hand. */
static void test_wave_fill(void **state) {
  (void)state;
  const int cap = 264;
  vx_decode_plan p = vx_make_decode_plan(128, 128, cap); /* batch 16 x 8 kv heads, 128 pages */
  assert_int_equal(p.num_chunks, 2);                      /* 256 of 264 slots; 1 chunk = 128 (48%) */
  assert_int_equal(p.chunk_pages, 64);
  p = vx_make_decode_plan(256, 2048, cap); /* batch 32: 256 of 264 slots in one chunk, no merge */
  assert_int_equal(p.num_chunks, 1);
  assert_int_equal(p.chunk_pages, 2048);
  p = vx_make_decode_plan(128, 131, cap); /* 131 pages: 2 chunks of 66 */
  assert_int_equal(p.num_chunks, 2);
  assert_int_equal(p.chunk_pages, 66);
  p = vx_make_decode_plan(512, 8192, cap); /* batch 64, 128K tokens: 512 blocks = 1.94 waves */
  assert_int_equal(p.num_chunks, 1);
  p = vx_make_decode_plan(8, 1000, cap); /* few rows, long: split wide */
  assert_true(8LL * p.num_chunks * 10 >= (8LL * p.num_chunks + cap - 1) / cap * cap * 9);
  /* 8 rows x 128 pages: 32 chunks of 4 = 256 blocks (97%). Judged by its
   * count, 30 chunks (240 blocks) passed, but 30 chunks of ceil(128 / 30) =
   * 5 pages are only 26: 208 blocks (79%). */
  p = vx_make_decode_plan(8, 128, cap);
  assert_int_equal(p.num_chunks, 32);
  assert_int_equal(p.chunk_pages, 4);
}

static void test_workspace_layout(void **state) {
  (void)state;
  /* partial outputs then a 256-byte aligned LSE block */
  assert_int_equal(vx_decode_workspace_bytes(1, 1, 64, 1), 256 + 4);
  assert_int_equal(vx_decode_workspace_bytes(2, 4, 128, 3), 2 * 3 * 4 * 128 * 4 + 2 * 3 * 4 * 4);
  /* the LSE array: after the partials, 256-byte aligned, where the launchers point ws_lse */
  assert_int_equal(vx_decode_lse_offset(1, 64), 256);
  assert_int_equal(vx_decode_lse_offset(24, 128), 24 * 128 * 4);
  assert_int_equal(vx_decode_lse_offset(3, 5), 256); /* 60 bytes of partials */
  assert_int_equal(vx_decode_workspace_bytes(1, 3, 5, 1), 256 + 3 * 4);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_invariants),
      cmocka_unit_test(test_wave_fill),
      cmocka_unit_test(test_workspace_layout),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

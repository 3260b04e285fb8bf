/* Storage rounding against known bit patterns, and the PRNG's
 * determinism. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ir/interp.h"

static float from_bits(uint32_t u) {
  float x;
  memcpy(&x, &u, sizeof x);
  return x;
}

static void test_bf16_round_to_nearest_even(void **state) {
  (void)state;
  assert_int_equal(vx_f32_to_bf16_bits(1.0f), 0x3F80);
  assert_int_equal(vx_f32_to_bf16_bits(-2.0f), 0xC000);
  /* 1 + 2^-8 is halfway between 1 and 1 + 2^-7: ties to the even 0x3F80 */
  assert_int_equal(vx_f32_to_bf16_bits(1.0f + 0x1p-8f), 0x3F80);
  /* 1 + 3 * 2^-8 is halfway between 0x3F81 and 0x3F82: even is 0x3F82 */
  assert_int_equal(vx_f32_to_bf16_bits(1.0f + 3 * 0x1p-8f), 0x3F82);
  /* just above the tie rounds up */
  assert_int_equal(vx_f32_to_bf16_bits(from_bits(0x3F808001u)), 0x3F81);
  assert_int_equal(vx_f32_to_bf16_bits(INFINITY), 0x7F80);
  assert_int_equal(vx_f32_to_bf16_bits(from_bits(0x7F7FFFFFu)), 0x7F80); /* FLT_MAX overflows */
  assert_true(isnan(vx_bf16_bits_to_f32(vx_f32_to_bf16_bits(NAN))));
  /* a NaN whose payload sits only in the low bits must stay NaN */
  assert_true(isnan(vx_bf16_bits_to_f32(vx_f32_to_bf16_bits(from_bits(0x7F800001u)))));
  assert_true(vx_bf16_bits_to_f32(0x3FC0) == 1.5f);
}

static void test_f16_round_to_nearest_even(void **state) {
  (void)state;
  assert_int_equal(vx_f32_to_f16_bits(1.0f), 0x3C00);
  assert_int_equal(vx_f32_to_f16_bits(-2.0f), 0xC000);
  assert_int_equal(vx_f32_to_f16_bits(65504.0f), 0x7BFF);
  assert_int_equal(vx_f32_to_f16_bits(65519.0f), 0x7BFF);
  assert_int_equal(vx_f32_to_f16_bits(65520.0f), 0x7C00);
  assert_int_equal(vx_f32_to_f16_bits(0x1p-14f), 0x0400);  /* smallest normal */
  assert_int_equal(vx_f32_to_f16_bits(0x1p-24f), 0x0001);  /* smallest subnormal */
  assert_int_equal(vx_f32_to_f16_bits(0x1p-25f), 0x0000);  /* tie to even zero */
  assert_int_equal(vx_f32_to_f16_bits(3 * 0x1p-25f), 0x0002); /* 1.5 ulp: tie to even 2 */
  assert_int_equal(vx_f32_to_f16_bits(1.0f + 0x1p-11f), 0x3C00); /* tie to even */
  assert_int_equal(vx_f32_to_f16_bits(1.0f + 3 * 0x1p-11f), 0x3C02);
  assert_int_equal(vx_f32_to_f16_bits(-0.0f), 0x8000);
  assert_true(isnan(vx_f16_bits_to_f32(vx_f32_to_f16_bits(NAN))));
  assert_true(vx_f16_bits_to_f32(0x0001) == 0x1p-24f);
  assert_true(vx_f16_bits_to_f32(0x7BFF) == 65504.0f);
  assert_true(isinf(vx_f16_bits_to_f32(0xFC00)));
}

static void test_round_trip_is_identity_on_representable(void **state) {
  (void)state;
  for (uint32_t b = 0; b < 0x10000; b += 7) {
    float x = vx_bf16_bits_to_f32((uint16_t)b);
    if (!isnan(x))
      assert_true(vx_round_to_dtype(x, VX_DTYPE_BF16) == x);
    float y = vx_f16_bits_to_f32((uint16_t)b);
    if (!isnan(y))
      assert_true(vx_round_to_dtype(y, VX_DTYPE_F16) == y);
  }
}

static void test_rng_deterministic(void **state) {
  (void)state;
  vx_rng a, b;
  vx_rng_seed(&a, 42);
  vx_rng_seed(&b, 42);
  for (int i = 0; i < 100; i++)
    assert_true(vx_rng_next(&a) == vx_rng_next(&b));
  vx_rng_seed(&b, 43);
  assert_true(vx_rng_next(&a) != vx_rng_next(&b));
  double sum = 0, sq = 0;
  for (int i = 0; i < 20000; i++) {
    double x = vx_rng_normal(&a);
    sum += x;
    sq += x * x;
    assert_true(vx_rng_below(&a, 5) < 5);
  }
  assert_true(fabs(sum / 20000) < 0.05);
  assert_true(fabs(sq / 20000 - 1.0) < 0.05);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_bf16_round_to_nearest_even),
      cmocka_unit_test(test_f16_round_to_nearest_even),
      cmocka_unit_test(test_round_trip_is_identity_on_representable),
      cmocka_unit_test(test_rng_deterministic),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Deterministic random numbers and storage-type rounding for the
 * interpreter. Only integer arithmetic and exactly rounded double
 * operations, so inputs generated from a seed are bit-identical on every
 * machine (the GPU host regenerates or loads them). */
#include "interp.h"

#include <string.h>

static uint64_t splitmix64(uint64_t *x) {
  uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

void vx_rng_seed(vx_rng *rng, uint64_t seed) {
  uint64_t x = seed;
  for (int i = 0; i < 4; i++)
    rng->s[i] = splitmix64(&x);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t vx_rng_next(vx_rng *rng) {
  uint64_t *s = rng->s;
  uint64_t result = rotl(s[1] * 5, 7) * 9;
  uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return result;
}

uint64_t vx_rng_below(vx_rng *rng, uint64_t bound) {
  /* Rejection of the short top range keeps every residue equally likely. */
  uint64_t limit = UINT64_MAX - UINT64_MAX % bound;
  uint64_t x;
  do
    x = vx_rng_next(rng);
  while (x >= limit);
  return x % bound;
}

double vx_rng_normal(vx_rng *rng) {
  /* Irwin-Hall of four 16-bit uniforms (mean 2, variance 1/3) rescaled
   * by the constant sqrt(3): one draw per value, no libm call. */
  uint64_t r = vx_rng_next(rng);
  double s = (double)(r & 0xFFFFu) + (double)((r >> 16) & 0xFFFFu) + (double)((r >> 32) & 0xFFFFu) +
             (double)(r >> 48) + 2.0;
  return (s * 0x1.0p-16 - 2.0) * 1.7320508075688772;
}

static uint32_t f32_bits(float x) {
  uint32_t u;
  memcpy(&u, &x, sizeof u);
  return u;
}

static float bits_f32(uint32_t u) {
  float x;
  memcpy(&x, &u, sizeof x);
  return x;
}

uint16_t vx_f32_to_bf16_bits(float x) {
  uint32_t u = f32_bits(x);
  if ((u & 0x7FFFFFFFu) > 0x7F800000u)
    return (uint16_t)((u >> 16) | 0x0040u); /* quiet NaN, sign kept */
  u += 0x7FFFu + ((u >> 16) & 1u);           /* round to nearest, ties to even */
  return (uint16_t)(u >> 16);
}

float vx_bf16_bits_to_f32(uint16_t b) { return bits_f32((uint32_t)b << 16); }

uint16_t vx_f32_to_f16_bits(float x) {
  uint32_t u = f32_bits(x);
  uint16_t sign = (uint16_t)((u >> 16) & 0x8000u);
  uint32_t au = u & 0x7FFFFFFFu;
  if (au > 0x7F800000u)
    return (uint16_t)(sign | 0x7E00u);
  if (au >= 0x477FF000u) /* >= 65520: rounds to infinity (65504 is odd) */
    return (uint16_t)(sign | 0x7C00u);
  if (au >= 0x38800000u) { /* normal half */
    uint32_t h = (au >> 13) - ((127u - 15u) << 10);
    uint32_t rem = au & 0x1FFFu;
    if (rem > 0x1000u || (rem == 0x1000u && (h & 1u)))
      h++; /* a carry into the exponent is the correct rounding */
    return (uint16_t)(sign | h);
  }
  uint32_t e = au >> 23;
  if (e < 102) /* below 2^-25: rounds to zero (2^-25 exactly is a tie to 0) */
    return sign;
  uint32_t m = (au & 0x7FFFFFu) | 0x800000u;
  uint32_t shift = 126u - e; /* value / 2^-24 = m * 2^(e - 126) */
  uint32_t h = m >> shift;
  uint32_t rem = m & ((1u << shift) - 1u);
  uint32_t half = 1u << (shift - 1u);
  if (rem > half || (rem == half && (h & 1u)))
    h++;
  return (uint16_t)(sign | h);
}

float vx_f16_bits_to_f32(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
  uint32_t e = (h >> 10) & 0x1Fu;
  uint32_t m = h & 0x3FFu;
  if (e == 0x1F)
    return bits_f32(sign | 0x7F800000u | (m << 13));
  if (e != 0)
    return bits_f32(sign | ((e + 127u - 15u) << 23) | (m << 13));
  /* subnormal: m * 2^-24, exact in f32 */
  float v = (float)m * 0x1.0p-24f;
  return sign ? -v : v;
}

float vx_round_to_dtype(float x, vx_dtype dtype) {
  switch (dtype) {
  case VX_DTYPE_BF16:
    return vx_bf16_bits_to_f32(vx_f32_to_bf16_bits(x));
  case VX_DTYPE_F16:
    return vx_f16_bits_to_f32(vx_f32_to_f16_bits(x));
  case VX_DTYPE_DEFAULT:
  case VX_DTYPE_F32:
    break;
  }
  return x;
}

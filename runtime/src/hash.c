/* hash.c - content hash for the NVRTC cubin cache.
 * xxHash's XXH3-64 (Debian libxxhash-dev) when the build found it; else
 * FNV-1a-64, which is slower and weaker but needs nothing. The cache file
 * name embeds which one ran, so the two never share entries. */
#include "vortexrt.h"

#ifdef VXRT_HAVE_XXHASH
#include <xxhash.h>

uint64_t vxrt_hash64(const void *data, size_t len, uint64_t seed) {
  return (uint64_t)XXH3_64bits_withSeed(data, len, (XXH64_hash_t)seed);
}
#else
uint64_t vxrt_hash64(const void *data, size_t len, uint64_t seed) {
  const unsigned char *p = (const unsigned char *)data;
  uint64_t h = 0xcbf29ce484222325ull ^ seed;
  for (size_t i = 0; i < len; ++i) {
    h ^= p[i];
    h *= 0x100000001b3ull;
  }
  return h;
}
#endif

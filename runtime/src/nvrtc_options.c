/* nvrtc_options.c - the option list the NVRTC loader compiles with.
 *
 * Two kinds of options: those that decide the cubin (arch, include paths,
 * the caller's), which the cache key covers, and the loader's own
 * -split-compile, which only decides how many threads build it. NVRTC
 * splits the module's optimisation (NVVM, ptxas) by kernel; a generated
 * module holds several kernels (the mma-form quest: six), so a cold load
 * takes ~25% less on two cores and less still on more (nvrtc_time on the
 * GPU machine times it). Leaving it out of the key keeps caches written
 * without it valid: a cubin built either way is a build of the same source
 * with the same options. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vxrt_internal.h"

#ifndef VXRT_CUDA_INCLUDE_DIR
#define VXRT_CUDA_INCLUDE_DIR "/usr/local/cuda/include"
#endif
#ifndef VXRT_DEVICE_INCLUDE_DIR
#define VXRT_DEVICE_INCLUDE_DIR ""
#endif

/* 0 = as many threads as the machine has. */
static const char split_compile_option[] = "-split-compile=0";

static int names_split_compile(const char *option) {
  return strncmp(option, "-split-compile", 14) == 0 || strncmp(option, "--split-compile", 15) == 0;
}

vxrt_status vxrt_nvrtc_options_build(const char *const *options, int arch, vxrt_nvrtc_options *ol, char *err,
                                     size_t errlen) {
  ol->count = 0;
  /* The 'a' suffix unlocks arch-specific instructions (wgmma, setmaxnreg);
   * the cubin only ever runs on the GPU it was compiled for. */
  snprintf(ol->arch_opt, sizeof ol->arch_opt, "-arch=sm_%d%s", arch, arch >= 90 ? "a" : "");
  ol->items[ol->count++] = ol->arch_opt;
  const char *cuda_inc = getenv("VXRT_CUDA_INCLUDE_DIR");
  snprintf(ol->cuda_inc, sizeof ol->cuda_inc, "-I%s", cuda_inc && *cuda_inc ? cuda_inc : VXRT_CUDA_INCLUDE_DIR);
  ol->items[ol->count++] = ol->cuda_inc;
  const char *dev_inc = getenv("VXRT_DEVICE_INCLUDE_DIR");
  if (!dev_inc || !*dev_inc) dev_inc = VXRT_DEVICE_INCLUDE_DIR;
  if (*dev_inc) {
    snprintf(ol->dev_inc, sizeof ol->dev_inc, "-I%s", dev_inc);
    ol->items[ol->count++] = ol->dev_inc;
  }
  int caller_splits = 0;
  for (int i = 0; options && options[i]; ++i) {
    if (i >= VXRT_MAX_NVRTC_OPTIONS)
      return vxrt_fail(err, errlen, VXRT_ERROR_INVALID_VALUE, "more than %d NVRTC options", VXRT_MAX_NVRTC_OPTIONS);
    caller_splits |= names_split_compile(options[i]);
    ol->items[ol->count++] = options[i];
  }
  ol->keyed = ol->count;
  /* A caller's own -split-compile (1: one thread) is theirs to keep. */
  if (!caller_splits) ol->items[ol->count++] = split_compile_option;
  return VXRT_SUCCESS;
}

int vxrt_nvrtc_options_drop_unkeyed(vxrt_nvrtc_options *ol) {
  const int dropped = ol->count > ol->keyed;
  ol->count = ol->keyed;
  return dropped;
}

/* vxrt_internal.h - helpers shared by libvortexrt's sources (not installed). */
#ifndef VXRT_INTERNAL_H
#define VXRT_INTERNAL_H

#include "vortexrt.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Formats "<message>" into err (when err is non-NULL) and returns status,
 * so every error path reads `return vxrt_fail(err, errlen, STATUS, ...)`. */
#if defined(__GNUC__)
__attribute__((format(printf, 4, 5)))
#endif
vxrt_status vxrt_fail(char *err, size_t errlen, vxrt_status status, const char *fmt, ...);

/* Clears err to "" on success paths so callers never read stale text. */
void vxrt_clear_error(char *err, size_t errlen);

/* The NVRTC loader's options (nvrtc_options.c): the arch, the toolkit and
 * device include paths, the caller's options, then the loader's own
 * build-speed options. items[0, keyed) decide the cubin and enter the cache
 * key; items[keyed, count) only decide how it is built. */
#define VXRT_MAX_NVRTC_OPTIONS 64
typedef struct vxrt_nvrtc_options {
  const char *items[VXRT_MAX_NVRTC_OPTIONS + 4];
  int count, keyed;
  char arch_opt[32];
  char cuda_inc[4096];
  char dev_inc[4096];
} vxrt_nvrtc_options;

/* options: the caller's NULL-terminated list (may be NULL); more than
 * VXRT_MAX_NVRTC_OPTIONS is VXRT_ERROR_INVALID_VALUE. */
vxrt_status vxrt_nvrtc_options_build(const char *const *options, int arch, vxrt_nvrtc_options *ol, char *err,
                                     size_t errlen);
/* Drops items[keyed, count) for an NVRTC too old to know them; 1 when
 * something was dropped (the compile is worth retrying), else 0. */
int vxrt_nvrtc_options_drop_unkeyed(vxrt_nvrtc_options *ol);

#ifdef __cplusplus
}
#endif

#endif /* VXRT_INTERNAL_H */

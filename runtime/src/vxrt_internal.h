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

#ifdef __cplusplus
}
#endif

#endif /* VXRT_INTERNAL_H */

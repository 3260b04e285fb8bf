/* status.c - status codes to text, and the error-message helper. */
#include <stdarg.h>
#include <stdio.h>

#include "vxrt_internal.h"

const char *vxrt_status_string(vxrt_status status) {
  switch (status) {
  case VXRT_SUCCESS: return "success";
  case VXRT_ERROR_NULL_POINTER: return "a required pointer is NULL";
  case VXRT_ERROR_INVALID_VALUE: return "invalid value";
  case VXRT_ERROR_UNSUPPORTED: return "unsupported shape or type";
  case VXRT_ERROR_BAD_PAGE_SIZE: return "unsupported page size";
  case VXRT_ERROR_BAD_HEAD_DIM: return "unsupported head dimension";
  case VXRT_ERROR_BAD_PAGE_TABLE: return "malformed page table";
  case VXRT_ERROR_PAGE_OUT_OF_RANGE: return "page id outside the KV pool";
  case VXRT_ERROR_MISALIGNED: return "pointer or stride breaks 16-byte alignment";
  case VXRT_ERROR_WORKSPACE_TOO_SMALL: return "workspace too small";
  case VXRT_ERROR_CUDA: return "CUDA error";
  case VXRT_ERROR_NVRTC: return "NVRTC compilation error";
  case VXRT_ERROR_IO: return "file or directory error";
  case VXRT_ERROR_OUT_OF_MEMORY: return "out of host memory";
  case VXRT_ERROR_NOT_FOUND: return "not found";
  }
  return "unknown status";
}

void vxrt_clear_error(char *err, size_t errlen) {
  if (err && errlen > 0) err[0] = '\0';
}

vxrt_status vxrt_fail(char *err, size_t errlen, vxrt_status status, const char *fmt, ...) {
  if (err && errlen > 0) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
  }
  return status;
}

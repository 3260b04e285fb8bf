/* The runtime's device headers (the .cuh files of runtime/device and vx_plan.h),
 * turned into C strings at build time by embed_headers.cmake, so generated .cu
 * files can carry them verbatim and need nothing but the CUDA toolkit. */
#ifndef VX_CG_EMBED_H
#define VX_CG_EMBED_H

typedef struct vx_embedded_file {
  const char *name; /* file name without directory, e.g. "vx_topk.cuh" */
  const char *text;
} vx_embedded_file;

/* Text of an embedded header, or NULL when no such file was embedded. */
const char *vx_embedded_header(const char *name);

#endif

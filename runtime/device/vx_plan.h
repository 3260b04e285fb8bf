/* vx_plan.h - split-KV work planning shared by host and device code.
 *
 * The host launcher (C, libvortexrt), generated launchers (CUDA C) and the
 * kernels must agree on how a row's pages are cut into chunks, otherwise the
 * merge step would read partial results nobody wrote. Keeping the rule in one
 * header that is valid C17, nvcc and NVRTC input makes that agreement
 * structural. The rule depends only on shapes the host knows without a device
 * sync (never on page-table contents), so a launch stays graph-capturable. */
#ifndef VX_PLAN_H
#define VX_PLAN_H

/* C++ inline functions need no `static` (and an unused static one draws a
 * warning from NVRTC); C17 inline does, to avoid external definitions. */
#if defined(__CUDACC__) || defined(__CUDACC_RTC__)
#define VX_PLAN_FN __host__ __device__ inline
#define VX_HOST_DEVICE_CONSTEXPR_FN __host__ __device__ constexpr
#else
#define VX_PLAN_FN static inline
#endif

/* Aim for a few resident blocks per SM on the largest current parts (132 SMs
 * on H100/H200) without reading the device: fewer blocks leave bandwidth
 * unused, more blocks only add merge traffic. */
#define VX_PLAN_TARGET_BLOCKS 1024
/* Below this a chunk's fixed costs (query load, cross-warp merge, partial
 * write) stop being small next to its KV reads. */
#define VX_PLAN_MIN_CHUNK_PAGES 4
/* Bounds the partial-result workspace even for absurd page counts. */
#define VX_PLAN_MAX_CHUNKS 128

typedef struct vx_decode_plan {
  int num_chunks;  /* chunks per row; the last one also takes any overflow */
  int chunk_pages; /* pages per chunk */
} vx_decode_plan;

/* rows = batch * kv_heads (or batch for MLA); max_pages = an upper bound of
 * the pages any row attends (selected pages for sparse decode). */
VX_PLAN_FN vx_decode_plan vx_make_decode_plan(long long rows, int max_pages) {
  vx_decode_plan p;
  long long want;
  int by_pages;
  if (max_pages < 1) max_pages = 1;
  if (rows < 1) rows = 1;
  want = (VX_PLAN_TARGET_BLOCKS + rows - 1) / rows;
  by_pages = (max_pages + VX_PLAN_MIN_CHUNK_PAGES - 1) / VX_PLAN_MIN_CHUNK_PAGES;
  if (want > by_pages) want = by_pages;
  if (want > VX_PLAN_MAX_CHUNKS) want = VX_PLAN_MAX_CHUNKS;
  if (want < 1) want = 1;
  p.num_chunks = (int)want;
  p.chunk_pages = (max_pages + p.num_chunks - 1) / p.num_chunks;
  return p;
}

/* Workspace: per (row, chunk, query head of the group) one f32 partial output
 * of out_dim values plus one f32 log-sum-exp. */
VX_PLAN_FN unsigned long long vx_decode_workspace_bytes(long long rows, int group,
                                                                          int out_dim, int num_chunks) {
  unsigned long long slots = (unsigned long long)rows * (unsigned long long)num_chunks *
                             (unsigned long long)group;
  /* The LSE array starts 256-byte aligned after the partial outputs. */
  unsigned long long o_bytes = (slots * (unsigned long long)out_dim * 4ull + 255ull) & ~255ull;
  return o_bytes + slots * 4ull;
}

#endif /* VX_PLAN_H */

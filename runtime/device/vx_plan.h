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

/* Upper bound of the blocks a launch may use (a few waves on the largest
 * current GPUs); bounds the workspace independently of the device. */
#define VX_PLAN_MAX_BLOCKS 4096
/* Below this a chunk's fixed costs (query load, page-table reads, pipeline
 * ramp, cross-warp merge, partial write) stop being small next to its KV. */
#define VX_PLAN_MIN_CHUNK_PAGES 4
/* Bounds the partial-result workspace even for absurd page counts. */
#define VX_PLAN_MAX_CHUNKS 64
/* Capacity assumed when the caller does not know the device (132 SMs x 2). */
#define VX_PLAN_DEFAULT_CAPACITY 264
/* Full waves a split must give at least (tuning builds: -DVX_PLAN_MIN_WAVES=1).
 * 0: a single wave >= 90% full is enough. Measured on the H200 (RESULTS.md
 * run 23): requiring one full wave split batch 32 (256 rows, 264 slots) in
 * two chunks and batch 16 in four, and each extra wave costs the whole GPU
 * a block start-up (selection -> page table -> first tiles) plus the merge
 * kernel: sparse attention 11-14% slower at batch 16 and 32. */
#ifndef VX_PLAN_MIN_WAVES
#define VX_PLAN_MIN_WAVES 0
#endif

typedef struct vx_decode_plan {
  int num_chunks;  /* chunks per row; the last one also takes any overflow */
  int chunk_pages; /* pages per chunk */
} vx_decode_plan;

/* Most chunks a row may be split into: what the workspace is sized for. */
VX_PLAN_FN int vx_decode_max_chunks(long long rows, int max_pages) {
  long long c;
  if (max_pages < 1) max_pages = 1;
  if (rows < 1) rows = 1;
  c = (max_pages + VX_PLAN_MIN_CHUNK_PAGES - 1) / VX_PLAN_MIN_CHUNK_PAGES;
  if (c > (VX_PLAN_MAX_BLOCKS + rows - 1) / rows) c = (VX_PLAN_MAX_BLOCKS + rows - 1) / rows;
  if (c > VX_PLAN_MAX_CHUNKS) c = VX_PLAN_MAX_CHUNKS;
  return c < 1 ? 1 : (int)c;
}

/* rows = batch * kv_heads (or batch for MLA); max_pages = an upper bound of
 * the pages any row attends (selected pages for sparse decode); capacity =
 * blocks the device runs at once (SMs x resident blocks per SM; <= 0 for
 * the default). Picks the fewest chunks whose last wave of blocks is >= 90%
 * full (and that give at least VX_PLAN_MIN_WAVES full waves), so every SM
 * streams, equal-length rows finish together and no more block start-ups
 * and merges are paid than needed; if none does, the best-filled split
 * among those allowed. */
VX_PLAN_FN vx_decode_plan vx_make_decode_plan(long long rows, int max_pages, int capacity) {
  vx_decode_plan p;
  int c, best = 1, maxc;
  long long best_num = 0, best_den = 1;
  if (max_pages < 1) max_pages = 1;
  if (rows < 1) rows = 1;
  if (capacity < 1) capacity = VX_PLAN_DEFAULT_CAPACITY;
  maxc = vx_decode_max_chunks(rows, max_pages);
  for (c = 1; c <= maxc; ++c) {
    /* c chunks of ceil(pages / c) pages may need fewer than c (32 pages in
     * 15 chunks of 3 are 11): judge the split by the chunks it really has */
    const int per = (max_pages + c - 1) / c;
    const long long blocks = rows * ((max_pages + per - 1) / per);
    const long long slots = (blocks + capacity - 1) / capacity * capacity;
    if (blocks < (long long)VX_PLAN_MIN_WAVES * capacity && c < maxc) continue;
    if (blocks * 10 >= slots * 9) {
      best = c;
      break;
    }
    if (blocks * best_den > best_num * slots) { /* better fill than the best so far */
      best = c;
      best_num = blocks;
      best_den = slots;
    }
  }
  p.chunk_pages = (max_pages + best - 1) / best;
  /* ceil(max_pages / best) pages per chunk can leave the last of `best`
   * chunks empty (128 pages in 17 chunks of 8): drop it */
  p.num_chunks = (max_pages + p.chunk_pages - 1) / p.chunk_pages;
  return p;
}

/* Workspace: per (row, chunk, query head of the group) -- a slot -- one f32
 * partial output of out_dim values, then, 256-byte aligned, one f32
 * log-sum-exp per slot. Byte offset of the LSE array: */
VX_PLAN_FN unsigned long long vx_decode_lse_offset(unsigned long long slots, int out_dim) {
  return (slots * (unsigned long long)out_dim * 4ull + 255ull) & ~255ull;
}

VX_PLAN_FN unsigned long long vx_decode_workspace_bytes(long long rows, int group,
                                                                          int out_dim, int num_chunks) {
  unsigned long long slots = (unsigned long long)rows * (unsigned long long)num_chunks *
                             (unsigned long long)group;
  return vx_decode_lse_offset(slots, out_dim) + slots * 4ull;
}

#endif /* VX_PLAN_H */

/* calib.cuh - what the hardware gives, timed exactly as the kernels are
 * (sb_time_op: CUDA graph, cold L2), so a kernel's distance from its bytes
 * floor splits into what any kernel pays and what ours adds:
 *   sb_gather_kernel  reads the bytes the sparse attention reads (the K and
 *                     V rows of every selected page, through the same CSR
 *                     page table and selection) and does nothing with them:
 *                     one warp per (row, page), sixteen 16-byte loads in
 *                     flight per lane, as many warps as fit. No softmax, no
 *                     shared memory, no output but a sink;
 *   sb_empty_kernel   one block that returns: the fixed cost of one more
 *                     kernel in the graph (launch, drain), which every op
 *                     pays once per kernel it launches. */
#ifndef VX_STEP_CALIB_CUH
#define VX_STEP_CALIB_CUH

#include <cuda_runtime.h>

/* Geometry of step_bench: 8 KV heads, head dim 128, page 16 (a page-head
 * tile is 16 tokens x 16 chunks of 16 bytes, for K and for V). */
template <int HKV, int D, int PS>
__global__ void __launch_bounds__(256) sb_gather_kernel(const uint4 *k, const uint4 *v, const int *indptr,
                                                        const int *indices, const int *sel, int want, int rows,
                                                        unsigned *sink) {
  static_assert(D == 128 && PS == 16, "one warp reads 2 token rows of 16 chunks per step");
  constexpr int CHUNKS = D / 8, STEPS = PS * CHUNKS / 32;
  const int lane = threadIdx.x & 31;
  const long long warps = (long long)gridDim.x * (blockDim.x >> 5);
  unsigned acc = 0;
  for (long long item = (blockIdx.x * (long long)blockDim.x + threadIdx.x) >> 5; item < (long long)rows * want;
       item += warps) {
    const int row = (int)(item / want), b = row / HKV, h = row % HKV;
    const long long p = indices[indptr[b] + sel[item]];
    uint4 x[STEPS], y[STEPS];
#pragma unroll
    for (int s = 0; s < STEPS; ++s) {
      const int t = s * 2 + lane / CHUNKS, c = lane % CHUNKS;
      const long long at = ((p * PS + t) * HKV + h) * CHUNKS + c;
      x[s] = __ldcs(k + at);
      y[s] = __ldcs(v + at);
    }
#pragma unroll
    for (int s = 0; s < STEPS; ++s) acc ^= x[s].x ^ x[s].y ^ x[s].z ^ x[s].w ^ y[s].x ^ y[s].y ^ y[s].z ^ y[s].w;
  }
  if (acc == 0x9e3779b9u) *sink = acc; /* practically never: keeps the loads */
}

__global__ void sb_empty_kernel() {}

#endif /* VX_STEP_CALIB_CUH */

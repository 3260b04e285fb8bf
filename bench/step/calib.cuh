/* calib.cuh - what the hardware gives, timed exactly as the kernels are
 * (sb_time_op: CUDA graph, cold L2), so a kernel's distance from its bytes
 * floor splits into what any kernel pays and what ours adds:
 *   sb_gather_kernel  reads the bytes the sparse attention reads (the K and
 *                     V rows of every selected page, through the same CSR
 *                     page table and selection) and does nothing with them:
 *                     one warp per (row, page), sixteen 16-byte loads a
 *                     lane (at 32 registers ptxas keeps 3-4 of them in
 *                     flight), as many warps as fit (64 an SM). No
 *                     softmax, no shared memory, no output but a sink;
 *   sb_gather_sms_kernel  the same reads from the blocks of only `active`
 *                     SMs, one 512-thread block an SM, all sixteen loads
 *                     of a lane in flight (80 registers): how much of HBM's
 *                     bandwidth part of the chip can pull, which decides
 *                     whether an SM could stream one row while its other
 *                     half runs another row's top-k (docs/performance.md,
 *                     "two rows an SM");
 *   sb_empty_kernel   one block that returns: the fixed cost of one more
 *                     kernel in the graph (launch, drain), which every op
 *                     pays once per kernel it launches. */
#ifndef VX_STEP_CALIB_CUH
#define VX_STEP_CALIB_CUH

#include <cuda_runtime.h>

/* Geometry of step_bench: 8 KV heads, head dim 128, page 16 (a page-head
 * tile is 16 tokens x 16 chunks of 16 bytes, for K and for V). Items (row,
 * selected page) first, first + stride, ... go to the calling warp. */
template <int HKV, int D, int PS>
__device__ __forceinline__ unsigned sb_gather_items(const uint4 *k, const uint4 *v, const int *indptr,
                                                    const int *indices, const int *sel, int want, int rows,
                                                    long long first, long long stride) {
  static_assert(D == 128 && PS == 16, "one warp reads 2 token rows of 16 chunks per step");
  constexpr int CHUNKS = D / 8, STEPS = PS * CHUNKS / 32;
  const int lane = threadIdx.x & 31;
  unsigned acc = 0;
  for (long long item = first; item < (long long)rows * want; item += stride) {
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
  return acc;
}

template <int HKV, int D, int PS>
__global__ void __launch_bounds__(256) sb_gather_kernel(const uint4 *k, const uint4 *v, const int *indptr,
                                                        const int *indices, const int *sel, int want, int rows,
                                                        unsigned *sink) {
  const unsigned acc =
      sb_gather_items<HKV, D, PS>(k, v, indptr, indices, sel, want, rows,
                                  (blockIdx.x * (long long)blockDim.x + threadIdx.x) >> 5,
                                  (long long)gridDim.x * (blockDim.x >> 5));
  if (acc == 0x9e3779b9u) *sink = acc; /* practically never: keeps the loads */
}

/* Launched as one block per SM (grid = the SM count; the dynamic shared
 * memory the launcher asks for, over half an SM's, keeps a second block out,
 * so every block has an SM to itself); blocks from `active` on return at
 * once and leave their SMs idle. */
constexpr int SB_GATHER_SMS_THREADS = 512;
template <int HKV, int D, int PS>
__global__ void __launch_bounds__(SB_GATHER_SMS_THREADS, 1)
    sb_gather_sms_kernel(const uint4 *k, const uint4 *v, const int *indptr, const int *indices, const int *sel,
                         int want, int rows, int active, unsigned *sink) {
  if ((int)blockIdx.x >= active) return;
  const unsigned acc =
      sb_gather_items<HKV, D, PS>(k, v, indptr, indices, sel, want, rows,
                                  (blockIdx.x * (long long)blockDim.x + threadIdx.x) >> 5,
                                  (long long)active * (blockDim.x >> 5));
  if (acc == 0x9e3779b9u) *sink = acc;
}

__global__ void sb_empty_kernel() {}

#endif /* VX_STEP_CALIB_CUH */

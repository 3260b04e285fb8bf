/* step_util.h - helpers of the whole-step benchmark: checked CUDA calls,
 * L2-flushed CUDA-graph timing, median.
 * Header-only: the benchmark is one host translation unit plus an adapter. */
#ifndef VX_STEP_UTIL_H
#define VX_STEP_UTIL_H

#include <cuda_bf16.h>
#include <cuda_runtime.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <algorithm>
#include <vector>

/* CK (checked CUDA calls), the xorshift RNG and 16-bit float packing are
 * the GPU test's (tests/gpu, on the include path of bench/step/build.sh). */
#include "gpu_common.h"

/* Generated launchers and libvortexrt both return 0 on success. */
#define CKS(call)                                                                                 \
  do {                                                                                            \
    int cks_s = (int)(call);                                                                      \
    if (cks_s != 0) {                                                                             \
      fprintf(stderr, "%s:%d: %s returned status %d (%s)\n", __FILE__, __LINE__, #call, cks_s,     \
              cudaGetErrorString(cudaGetLastError()));                                            \
      exit(2);                                                                                    \
    }                                                                                             \
  } while (0)

static inline float sb_bf16_to_f32(uint16_t b) { return bits_to_f32(b, VXRT_DTYPE_BF16); }

/* A host copy of elems 16-bit values (bf16 outputs, weights) at device p. */
static inline std::vector<uint16_t> sb_fetch16(const void *p, size_t elems) {
  std::vector<uint16_t> h(elems);
  CK(cudaMemcpy(h.data(), p, elems * 2, cudaMemcpyDeviceToHost));
  return h;
}

/* Uniform [lo, hi) bf16 from a counter hash: the same values whatever the
 * launch shape, and never all-zero (which would hide wrong page reads). */
__global__ void sb_fill_bf16(uint16_t *p, size_t n, uint64_t seed, float lo, float hi) {
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
    uint64_t x = (i + 1) * 0x9E3779B97F4A7C15ull ^ seed;
    x ^= x >> 31;
    x *= 0xBF58476D1CE4E5B9ull;
    x ^= x >> 29;
    const float u = (float)(x >> 40) * (1.0f / 16777216.0f);
    p[i] = __bfloat16_as_ushort(__float2bfloat16_rn(lo + (hi - lo) * u));
  }
}

/* Uniform [lo, hi) (default [-2, 2)) into elems bf16 values at p. */
static inline void sb_fill(void *p, size_t elems, uint64_t seed, float lo = -2.0f, float hi = 2.0f) {
  sb_fill_bf16<<<4096, 256>>>((uint16_t *)p, elems, seed, lo, hi);
  CK(cudaGetLastError());
}

/* Reads a buffer several times the L2 so the next timed launch finds none of
 * its own data cached: in a real model the previous layer evicted it. A read
 * (not a memset) leaves no dirty lines whose write-back would be billed to
 * the timed kernel. */
__global__ void sb_flush_kernel(const uint4 *p, size_t n, unsigned *sink) {
  unsigned acc = 0;
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
    const uint4 v = __ldcg(p + i);
    acc ^= v.x ^ v.y ^ v.z ^ v.w;
  }
  if (acc == 0x9e3779b9u) *sink = acc; /* practically never: keeps the loads */
}

typedef struct sb_timer {
  uint4 *flush_buf;
  size_t flush_vec16;
  unsigned *sink;
  cudaStream_t stream;
  cudaEvent_t a, b;
  int reps;
} sb_timer;

/* flush_carveout >= 0: the flush kernel's preferred shared-memory carveout
 * (percent). Hopper reconfigures an SM's L1 / shared split between kernels
 * that ask for different ones; the flush needs none and the attention
 * nearly all, so whether a timed op pays that switch depends on the
 * flush's preference: 100 gives both the same (a measurement question,
 * not a kernel change; -1 leaves the driver's choice, as before). */
static void sb_timer_init(sb_timer *t, size_t l2_bytes, int reps, int flush_carveout) {
  if (flush_carveout >= 0)
    CK(cudaFuncSetAttribute(sb_flush_kernel, cudaFuncAttributePreferredSharedMemoryCarveout, flush_carveout));
  t->flush_vec16 = std::max<size_t>(4 * l2_bytes, (size_t)256 << 20) / 16;
  CK(cudaMalloc(&t->flush_buf, t->flush_vec16 * 16));
  CK(cudaMemset(t->flush_buf, 1, t->flush_vec16 * 16));
  CK(cudaDeviceSynchronize()); /* the timing stream below does not wait for the legacy one */
  CK(cudaMalloc(&t->sink, 4));
  CK(cudaStreamCreateWithFlags(&t->stream, cudaStreamNonBlocking));
  CK(cudaEventCreate(&t->a));
  CK(cudaEventCreate(&t->b));
  t->reps = reps;
}

static void sb_timer_free(sb_timer *t) {
  CK(cudaFree(t->flush_buf));
  CK(cudaFree(t->sink));
  CK(cudaStreamDestroy(t->stream));
  CK(cudaEventDestroy(t->a));
  CK(cudaEventDestroy(t->b));
}

static double sb_median(std::vector<float> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * ((double)v[n / 2 - 1] + v[n / 2]);
}

/* Captures enqueue(stream) once into a CUDA graph, so launch overhead is what
 * an engine that captures its step pays, not the host launcher's. */
template <typename F> static cudaGraphExec_t sb_capture(sb_timer *t, F enqueue) {
  cudaGraph_t g;
  cudaGraphExec_t ge;
  CK(cudaStreamBeginCapture(t->stream, cudaStreamCaptureModeThreadLocal));
  enqueue(t->stream);
  CK(cudaStreamEndCapture(t->stream, &g));
  CK(cudaGraphInstantiate(&ge, g, 0));
  CK(cudaGraphDestroy(g));
  return ge;
}

#define SB_GROUP 10 /* op copies per timed graph */

static double sb_median_graph_ms(sb_timer *t, cudaGraphExec_t ge) {
  std::vector<float> ms;
  for (int i = 0; i < t->reps + 2; ++i) {
    CK(cudaEventRecord(t->a, t->stream));
    CK(cudaGraphLaunch(ge, t->stream));
    CK(cudaEventRecord(t->b, t->stream));
    CK(cudaEventSynchronize(t->b));
    float x = 0;
    CK(cudaEventElapsedTime(&x, t->a, t->b));
    if (i >= 2) ms.push_back(x); /* the first replays upload the graph */
  }
  return sb_median(ms);
}

static void sb_flush(sb_timer *t, cudaStream_t s) {
  sb_flush_kernel<<<1024, 256, 0, s>>>(t->flush_buf, t->flush_vec16, t->sink);
  CK(cudaGetLastError());
}

/* Device ms of one enqueue(stream) with a cold L2, without launch latency:
 * graph A holds SB_GROUP x (L2 flush, op), graph B SB_GROUP x (L2 flush);
 * result = (median(A) - median(B)) / SB_GROUP over t->reps replays each.
 * Replaying a graph is what an engine does with its decode step; the flush
 * stands for the previous layer's traffic, which in a model evicts this
 * layer's summaries and KV (otherwise the small shapes, whose summaries fit
 * in L2, would be timed from cache). */
template <typename F> static double sb_time_op(sb_timer *t, F enqueue) {
  cudaGraphExec_t a = sb_capture(t, [&](cudaStream_t s) {
    for (int i = 0; i < SB_GROUP; ++i) {
      sb_flush(t, s);
      enqueue(s);
    }
  });
  cudaGraphExec_t b = sb_capture(t, [&](cudaStream_t s) {
    for (int i = 0; i < SB_GROUP; ++i) sb_flush(t, s);
  });
  const double ms_a = sb_median_graph_ms(t, a), ms_b = sb_median_graph_ms(t, b);
  CK(cudaGraphExecDestroy(a));
  CK(cudaGraphExecDestroy(b));
  return (ms_a - ms_b) / SB_GROUP;
}

/* Device copy bandwidth, (read + written bytes) / time of a 4 GiB D2D copy,
 * measured in the same process as the kernels it is the floor for. The copy
 * is a kernel (16-byte loads and stores), not cudaMemcpyAsync: captured in a
 * graph, a memcpy becomes a copy-engine node that ran at 2.77 TB/s on the
 * H200 against 4.27 TB/s for an SM copy, which made every floor 1.5x too
 * generous. */
__global__ void sb_copy_kernel(const uint4 *src, uint4 *dst, size_t n) {
  /* four 16-byte loads in flight per thread before the stores */
  const size_t stride = (size_t)gridDim.x * blockDim.x;
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += 4 * stride) {
    uint4 v[4];
#pragma unroll
    for (int u = 0; u < 4; ++u)
      if (i + u * stride < n) v[u] = __ldcs(src + i + u * stride);
#pragma unroll
    for (int u = 0; u < 4; ++u)
      if (i + u * stride < n) __stcs(dst + i + u * stride, v[u]);
  }
}

static double sb_copy_gbs(sb_timer *t) {
  const size_t bytes = (size_t)4 << 30;
  void *src, *dst;
  CK(cudaMalloc(&src, bytes));
  CK(cudaMalloc(&dst, bytes));
  sb_fill(src, bytes / 2, 1);
  CK(cudaDeviceSynchronize());
  int sms = 0;
  CK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, 0));
  const double ms = sb_time_op(t, [&](cudaStream_t s) {
    sb_copy_kernel<<<sms * 4, 512, 0, s>>>((const uint4 *)src, (uint4 *)dst, bytes / 16);
    CK(cudaGetLastError());
  });
  CK(cudaFree(src));
  CK(cudaFree(dst));
  return 2.0 * bytes / (ms * 1e6);
}

#endif /* VX_STEP_UTIL_H */

/* headers_all.cu - every device header plus one instantiation of each
 * kernel template, compiled by nvcc (-Werror all-warnings) and, pasted
 * verbatim, by NVRTC in test_nvrtc_headers. */
#include "vx_common.cuh"
#include "vx_plan.h"
#include "vx_page_table.cuh"
#include "vx_topk.cuh"
#include "vx_select_kernels.cuh"
#include "vx_attention.cuh"
#include "vx_decode_simt.cuh"
#include "vx_mla.cuh"
#include "vx_mla_simt.cuh"
#include "vx_decode_mma.cuh"

template __global__ void vx_decode_partial_kernel<__nv_bfloat16, 128, 4>(vx_decode_args);
template __global__ void vx_decode_partial_kernel<__half, 64, 8>(vx_decode_args);
template __global__ void vx_decode_merge_kernel<__nv_bfloat16, 128>(vx_decode_args, int);
template __global__ void vx_decode_partial_mma_kernel<__nv_bfloat16, 128, 4>(vx_decode_args);
template __global__ void vx_decode_partial_mma_kernel<__half, 64, 8>(vx_decode_args);
template __global__ void vx_mla_decode_partial_kernel<__nv_bfloat16, 20, 512, 64>(vx_decode_args);
template __global__ void vx_mla_decode_partial_mma_kernel<__nv_bfloat16, 20, 512, 64>(vx_decode_args);
template __global__ void vx_mla_decode_partial_mma_kernel<__half, 128, 512, 64>(vx_decode_args);
template __global__ void vx_decode_merge_kernel<__nv_bfloat16, 512, 4>(vx_decode_args, int);
template __global__ void vx_decode_merge_kernel<__half, 64, 4>(vx_decode_args, int);

/* Static kernels are only emitted when referenced: take their addresses. */
extern "C" __global__ void vx_headers_probe(void **out) {
  out[0] = (void *)vx_topk_select_kernel;
  out[1] = (void *)vx_threshold_select_kernel;
}

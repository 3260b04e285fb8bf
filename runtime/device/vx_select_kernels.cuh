/* vx_select_kernels.cuh - libvortexrt's stand-alone page selection
 * kernels (vxrt top-k and threshold select over caller-provided scores),
 * one block of VX_TOPK_THREADS per row around vx_topk_row /
 * vx_threshold_row. Generated code selects inside its own index kernels
 * and does not carry these. */
#ifndef VX_SELECT_KERNELS_CUH
#define VX_SELECT_KERNELS_CUH

#ifndef VX_TOPK_CUH /* already pasted in: no include path needed */
#include "vx_topk.cuh"
#endif

/* Selection knobs shared by the kernels below. */
struct vx_select_args {
  const float *scores;     /* [rows, score_stride] */
  long long score_stride;  /* >= the most pages any request has */
  int budget;              /* top-k: pages picked from the middle */
  float threshold;         /* threshold select only */
  int keep_first;
  int keep_last;
  int *sel_pages;          /* [rows, max_sel], logical page ids, ascending */
  int max_sel;
  int *sel_count;          /* [rows] */
};

/* Pages of a row (rows = batch * kv.num_kv_heads), from the page table,
 * never more than its score row holds. */
VX_INLINE int vx_select_row_pages(const vx_paged_kv &kv, const vx_select_args &a, int row) {
  const int n = vx_num_pages(kv, row / kv.num_kv_heads);
  return n > a.score_stride ? (int)a.score_stride : n;
}

/* One block of VX_TOPK_THREADS per row; rows = batch * kv.num_kv_heads and a
 * row's page count comes from the page table. */
static __global__ void __launch_bounds__(VX_TOPK_THREADS) vx_topk_select_kernel(vx_paged_kv kv, vx_select_args a) {
  __shared__ vx_topk_smem sm;
  vx_pdl_enter(); /* first: the predecessor grid's writes are visible after it */
  const int row = blockIdx.x;
  vx_topk_row(a.scores + (long long)row * a.score_stride, vx_select_row_pages(kv, a, row), a.budget, a.keep_first,
              a.keep_last, a.sel_pages + (long long)row * a.max_sel, a.max_sel, a.sel_count + row, sm);
}

static __global__ void __launch_bounds__(VX_TOPK_THREADS) vx_threshold_select_kernel(vx_paged_kv kv, vx_select_args a) {
  __shared__ vx_topk_smem sm;
  vx_pdl_enter(); /* first: the predecessor grid's writes are visible after it */
  const int row = blockIdx.x;
  vx_threshold_row(a.scores + (long long)row * a.score_stride, vx_select_row_pages(kv, a, row), a.threshold,
                   a.keep_first, a.keep_last, a.sel_pages + (long long)row * a.max_sel, a.max_sel, a.sel_count + row, sm);
}

#endif /* VX_SELECT_KERNELS_CUH */

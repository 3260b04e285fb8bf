/* vx_attention.cuh - paged decode attention (dense, sparse) for GQA/MHA.
 *
 * Split-KV flash decoding in two launches:
 *  1. a partial kernel: one block per (request, kv head, chunk of pages)
 *     holding the WHOLE query group of that kv head, so each K/V page
 *     crosses the memory bus once no matter how many query heads share it;
 *     it writes a normalised partial output and its log-sum-exp (the
 *     tensor-core kernel, given one chunk per row, writes the output
 *     itself and no merge runs). Tensor cores:
 *     vx_decode_partial_mma_kernel (vx_decode_mma.cuh, what libvortexrt and
 *     generated code launch); CUDA cores: vx_decode_partial_kernel
 *     (vx_decode_simt.cuh, the portable reference); MLA: vx_mla.cuh.
 *  2. vx_decode_merge_kernel: one block per (request, query head) combines
 *     the chunks' partials, weighting each by exp(lse_c - max lse).
 * Sparse decode walks a per-row list of selected LOGICAL pages
 * (sel_pages[row * max_sel + i], i < sel_count[row]); dense walks 0..n-1.
 * Both resolve logical -> physical through the engine's page table.
 *
 * This header holds what every partial kernel shares: the arguments, the
 * chunk and page helpers, and the merge. */
#ifndef VX_ATTENTION_CUH
#define VX_ATTENTION_CUH

#ifndef VX_PAGE_TABLE_CUH /* already pasted in: no include path needed */
#include "vx_page_table.cuh"
#endif
#ifndef VX_PLAN_H
#include "vx_plan.h"
#endif

#define VX_DECODE_WARPS 4
#define VX_DECODE_THREADS (VX_DECODE_WARPS * 32)
/* Softmax runs in the exp2 domain with a lazy running maximum: the
 * accumulators are rescaled only when a new maximum exceeds the one in use
 * by more than this (log2 units). Values stay <= 2^slack so f32 cannot
 * overflow, and the final division by the same-scaled sum keeps the result
 * exact, while the common case (no new maximum) skips the multiplies. */
#define VX_RESCALE_SLACK 8.0f

struct vx_decode_args {
  vx_paged_kv kv;
  const void *q;         /* [batch, num_qo_heads, head_dim], kv element type */
  void *out;             /* [batch, num_qo_heads, head_dim], kv element type */
  const int *sel_pages;  /* sparse: [rows, max_sel] logical pages; NULL = dense */
  const int *sel_count;  /* sparse: [rows] */
  int max_sel;
  int num_qo_heads;
  float sm_scale;        /* usually 1/sqrt(head_dim) */
  int num_chunks;        /* from vx_make_decode_plan */
  int chunk_pages;
  float *ws_o;           /* [rows, num_chunks, group, head_dim] */
  float *ws_lse;         /* [rows, num_chunks, group], log2 domain */
};

/* Pages this row attends: the selection size (sparse) or the request's
 * page count (dense). */
VX_INLINE int vx_row_pages(const vx_decode_args &a, int row, int b) {
  if (a.sel_pages) {
    const int c = a.sel_count[row];
    return c < 0 ? 0 : (c < a.max_sel ? c : a.max_sel);
  }
  return vx_num_pages(a.kv, b);
}

/* Chunk c of a row with n pages covers [*begin, *end); the last chunk also
 * takes pages past num_chunks * chunk_pages so that an underestimated
 * max_pages hint costs speed, never correctness. */
VX_INLINE void vx_chunk_range(const vx_decode_args &a, int c, int n, int *begin, int *end) {
  int s = c * a.chunk_pages;
  int e = c == a.num_chunks - 1 ? n : s + a.chunk_pages;
  *begin = s < n ? s : n;
  *end = e < n ? e : n;
}

/* A chunk with no attended pages marks its LSE slots [slot0, slot0 + n)
 * empty (-inf) so that the merge can weigh every chunk of a row without
 * first reading the row's count (its partials are then never read as
 * numbers). */
VX_INLINE void vx_mark_chunk_empty(const vx_decode_args &a, long long slot0, int n, int tid, int threads) {
  for (int i = tid; i < n; i += threads) a.ws_lse[slot0 + i] = VX_NEG_INF;
}

/* The i-th attended logical page of a row (-1 past the selection's
 * capacity). It reads the selection but not its count, so a caller can
 * issue it before the row's count has arrived. */
VX_INLINE int vx_attended_page(const vx_decode_args &a, int row, int i) {
  if (!a.sel_pages) return i;
  return i < a.max_sel ? a.sel_pages[(long long)row * a.max_sel + i] : -1;
}

/* Resolve logical page j of request b (n_req pages) to (physical page,
 * valid tokens). Out-of-range selections or page ids resolve to 0 valid
 * tokens: a corrupt selection then drops a page instead of reading outside
 * the pool. */
VX_INLINE void vx_resolve_logical(const vx_decode_args &a, int b, int n_req, int j, int *phys, int *valid) {
  *phys = 0;
  *valid = 0;
  if (j < 0 || j >= n_req) return;
  const int p = vx_physical_page(a.kv, b, j);
  if (p < 0 || (long long)p >= a.kv.num_pages) return;
  *phys = p;
  *valid = vx_page_valid_tokens(a.kv, b, j, n_req);
}

/* The i-th attended page of a row, resolved. */
VX_INLINE void vx_resolve_page(const vx_decode_args &a, int row, int b, int n_req, int i, int *phys, int *valid) {
  vx_resolve_logical(a, b, n_req, vx_attended_page(a, row, i), phys, valid);
}

/* Tuning builds: -DVX_EAGER_SELECTION=0 reads a chunk's first selection
 * entries only after the row's count, the order before 8218a31 (A/B:
 * bench/RESULTS.md run 36). */
#ifndef VX_EAGER_SELECTION
#define VX_EAGER_SELECTION 1
#endif

/* Where a partial kernel's block starts: the request's pages, the chunk's
 * attended pages [begin, end), and thread tid's page of the first batch
 * (page begin + tid) resolved, 0 valid tokens past end. The selection
 * entry is loaded beside the row's counts rather than after them (it needs
 * only the chunk's nominal start), so one dependent global round trip less
 * comes before the first K/V bytes can be requested. */
struct vx_chunk_start {
  int n_req;
  int begin, end;
  int phys, valid;
};

VX_INLINE vx_chunk_start vx_start_chunk(const vx_decode_args &a, int row, int b, int chunk, int tid) {
  vx_chunk_start s;
  /* begin == chunk * chunk_pages whenever the chunk has pages */
  const int eager_j = VX_EAGER_SELECTION ? vx_attended_page(a, row, chunk * a.chunk_pages + tid) : 0;
  s.n_req = vx_num_pages(a.kv, b);
  vx_chunk_range(a, chunk, vx_row_pages(a, row, b), &s.begin, &s.end);
  s.phys = 0;
  s.valid = 0;
  if (s.begin + tid < s.end)
    vx_resolve_logical(a, b, s.n_req, VX_EAGER_SELECTION ? eager_j : vx_attended_page(a, row, s.begin + tid), &s.phys,
                       &s.valid);
  return s;
}

#define VX_PAGE_BATCH VX_DECODE_THREADS

/* Combine chunk partials. One block per (request, query head), a thread
 * per VEC consecutive output elements (strided by the block; launched with
 * OUT_DIM / VEC threads up to 1024); out_dim = head_dim (GQA) or the latent
 * rank (MLA). VEC = 4 (16-byte partial loads; ws_o 16-byte aligned): a
 * quarter of the load instructions and of the exponentials, which every
 * thread computes for its own elements (ncu, run 43: the scalar form's
 * warps waited on issue and on the MUFU pipe, not on bytes).
 * Latency, not bytes, decides this kernel's time (ncu, H200: MLA's merge of
 * 8 chunks took 8.4-9.8 us for 5-10 MB, run 32), so after the grid
 * dependency it waits on one global round trip: it reads every chunk (the
 * empty ones marked their LSEs -inf) instead of first reading the row's
 * count, and a batch of VX_MERGE_BATCH chunks has its LSEs and partials
 * loaded together, its maximum taken from registers. With more chunks than
 * one batch the sums are rescaled when a batch raises the maximum; within
 * a batch they run over the chunks in order. */
#define VX_MERGE_BATCH 8
template <int OUT_DIM, int VEC> VX_HOST_DEVICE_CONSTEXPR_FN int vx_merge_threads() {
  return OUT_DIM / VEC < 1024 ? OUT_DIM / VEC : 1024;
}
template <typename T, int OUT_DIM, int VEC = 1>
static __global__ void __launch_bounds__(vx_merge_threads<OUT_DIM, VEC>())
    vx_decode_merge_kernel(vx_decode_args a, int group) {
  static_assert(VEC == 1 || (VEC == 4 && OUT_DIM % 4 == 0), "scalar, or float4 over whole groups of 4");
  vx_pdl_enter(); /* first: the predecessor grid's writes are visible after it */
  const int qo = a.num_qo_heads;
  const int b = blockIdx.x / qo, qh = blockIdx.x % qo;
  const int h = qh / group, g = qh % group;
  const int row = b * a.kv.num_kv_heads + h;
  const float *lse = a.ws_lse + (long long)row * a.num_chunks * group + g;
  const float *part = a.ws_o + ((long long)row * a.num_chunks * group + g) * OUT_DIM; /* chunk c: + c * group * OUT_DIM */
  T *out = reinterpret_cast<T *>(a.out) + ((long long)b * qo + qh) * OUT_DIM;
  for (int d = threadIdx.x * VEC; d < OUT_DIM; d += blockDim.x * VEC) {
    float mx = VX_NEG_INF, l = 0.f, o[VEC];
#pragma unroll
    for (int e = 0; e < VEC; ++e) o[e] = 0.f;
    for (int c0 = 0; c0 < a.num_chunks; c0 += VX_MERGE_BATCH) {
      float lc[VX_MERGE_BATCH], v[VX_MERGE_BATCH][VEC];
#pragma unroll
      for (int j = 0; j < VX_MERGE_BATCH; ++j) {
        const int c = c0 + j;
        const bool in = c < a.num_chunks;
        lc[j] = in ? lse[(long long)c * group] : VX_NEG_INF;
        const float *src = part + (long long)(in ? c : 0) * group * OUT_DIM + d;
        if constexpr (VEC == 4) {
          const float4 t = in ? *reinterpret_cast<const float4 *>(src) : make_float4(0.f, 0.f, 0.f, 0.f);
          v[j][0] = t.x, v[j][1] = t.y, v[j][2] = t.z, v[j][3] = t.w;
        } else {
          v[j][0] = in ? *src : 0.f;
        }
      }
      float bm = VX_NEG_INF;
#pragma unroll
      for (int j = 0; j < VX_MERGE_BATCH; ++j) bm = fmaxf(bm, lc[j]);
      if (bm > mx) {
        const float f = exp2f(mx - bm); /* 0 while nothing was summed */
#pragma unroll
        for (int e = 0; e < VEC; ++e) o[e] *= f;
        l *= f;
        mx = bm;
      }
#pragma unroll
      for (int j = 0; j < VX_MERGE_BATCH; ++j) {
        if (lc[j] == VX_NEG_INF) continue; /* no tokens: its partial is not a number to weigh */
        const float f = exp2f(lc[j] - mx);
#pragma unroll
        for (int e = 0; e < VEC; ++e) o[e] += f * v[j][e];
        l += f;
      }
    }
    /* A row with no tokens attends to nothing: its output is zero. */
#pragma unroll
    for (int e = 0; e < VEC; ++e) out[d + e] = vx_elem<T>::from_float(l > 0.f ? o[e] / l : 0.f);
  }
}

#ifndef __CUDACC_RTC__
/* Launches the merge of a split (a.num_chunks set from its plan): one block
 * per (request, query head), 16-byte partial loads wherever OUT_DIM allows.
 * ws_o must be 16-byte aligned: libvortexrt rejects workspaces that are not
 * 256-byte aligned, generated launchers those that are not 16-byte aligned,
 * and both place ws_o at a multiple of 256 bytes from the base. The one rule
 * for libvortexrt's and generated launchers. */
#ifndef VX_MERGE_VEC
#define VX_MERGE_VEC 4 /* tuning switch: 1 keeps the scalar merge everywhere (for A/B runs) */
#endif
template <typename T, int OUT_DIM> static inline void vx_decode_merge_launch(const vx_decode_args &a, int group, cudaStream_t s) {
  constexpr int VEC = VX_MERGE_VEC == 4 && OUT_DIM % 4 == 0 ? 4 : 1;
  vx_launch(vx_decode_merge_kernel<T, OUT_DIM, VEC>, dim3((unsigned)((long long)a.kv.batch * a.num_qo_heads)),
            dim3(vx_merge_threads<OUT_DIM, VEC>()), 0, s, a, group);
}
#endif /* !__CUDACC_RTC__ */

#endif /* VX_ATTENTION_CUH */

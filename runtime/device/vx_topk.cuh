/* vx_topk.cuh - exact, deterministic page selection, one thread block per row.
 *
 * A row is one (request, kv head). Row r scores its n logical pages; the
 * selection always keeps pages [0, keep_first) and [n - keep_last, n) (the
 * attention sinks and the recent window), then adds the `budget` best of the
 * remaining "middle" pages. Output: selected LOGICAL page indices, ascending,
 * and their count. The CPU IR interpreter implements the same rules:
 *   kf = min(keep_first, n), kl = min(keep_last, n - kf), m = n - kf - kl,
 *   k = clamp(budget, 0, m); if budget + kf + kl >= n every page is selected;
 *   order: higher score first, ties -> lower page index, NaN below -inf.
 *
 * Why radix select and not a sort: only the k-th largest key is needed. Each
 * pass histograms one 8-bit digit of a 64-bit key (order-preserving uint32 of
 * the score, then the complemented page index so equal scores order by index)
 * and narrows to the bin that holds the k-th key. Keys are unique, so the
 * threshold is exact and the result deterministic (no atomic-arrival order
 * leaks into the output). Scores are re-read from global memory per pass:
 * a row is at most a few hundred KB and stays in L2. */
#ifndef VX_TOPK_CUH
#define VX_TOPK_CUH

#ifndef VX_PAGE_TABLE_CUH /* already pasted in: no include path needed */
#include "vx_page_table.cuh"
#endif

#define VX_TOPK_THREADS 512
#define VX_TOPK_WARPS (VX_TOPK_THREADS / 32)

/* Double-buffered (index: pass or step parity): a pass writes one copy
 * while the previous pass's readers may still read the other, so a radix
 * pass needs two barriers instead of four and a compaction step one instead
 * of two. */
struct vx_topk_smem {
  unsigned int hist[2][256];
  unsigned int warp_counts[2][VX_TOPK_WARPS];
  unsigned int pick_digit[2];
  unsigned int pick_above[2]; /* keys in bins above the picked one */
  unsigned int pick_count[2]; /* keys in the picked bin */
};

/* Monotone map float -> uint32 (larger float, larger uint); every NaN maps
 * to 0 so it ranks below -inf. */
VX_INLINE unsigned int vx_score_key(float s) {
  unsigned int u = __float_as_uint(s);
  if (s != s) return 0u;
  return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

VX_INLINE unsigned long long vx_rank_key(float s, int page) {
  return ((unsigned long long)vx_score_key(s) << 32) | (unsigned long long)(~(unsigned int)page);
}

/* One step of an ascending compaction: every thread of the block passes
 * whether index i (= chunk start + tid) is kept; kept indices are written in
 * order after the `written` already emitted. Returns the chunk's count.
 * Steps alternate `parity`: step s + 2 rewrites the counts of step s only
 * after every thread passed step s + 1's barrier, i.e. finished reading. */
__device__ inline int vx_compact_step(bool sel, int i, int written, int *out, int max_out, vx_topk_smem &sm,
                                      int parity) {
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const unsigned int ballot = __ballot_sync(0xffffffffu, sel);
  if (lane == 0) sm.warp_counts[parity][warp] = __popc(ballot);
  __syncthreads();
  int before = 0, total = 0;
  for (int w = 0; w < VX_TOPK_WARPS; ++w) {
    const int c = (int)sm.warp_counts[parity][w];
    before += w < warp ? c : 0;
    total += c;
  }
  if (sel) {
    const int pos = written + before + __popc(ballot & ((1u << lane) - 1u));
    if (pos < max_out) out[pos] = i;
  }
  return total;
}

/* Writes the pages for which keep(i) holds, ascending, to out[0..max_out);
 * returns the count (possibly larger than max_out; nothing past max_out is
 * written). Ends with a barrier: sm is free again for the caller. */
template <typename Pred>
__device__ int vx_compact_ascending(int n, Pred keep, int *out, int max_out, vx_topk_smem &sm) {
  int written = 0, parity = 0;
  for (int start = 0; start < n; start += VX_TOPK_THREADS, parity ^= 1) {
    const int i = start + threadIdx.x;
    written += vx_compact_step(i < n && keep(i), i, written, out, max_out, sm, parity);
  }
  __syncthreads();
  return written;
}

/* Rows of up to VX_TOPK_THREADS * VX_TOPK_CACHE pages (128K tokens at page
 * 16) keep their score keys in registers (index tid + c * THREADS in slot
 * c), so the radix passes touch global memory once instead of once per
 * pass: the passes are latency-bound, not bandwidth-bound. Longer rows
 * re-read from L2. */
#define VX_TOPK_CACHE 16

/* hist[digit] += 1 for every active lane, one shared atomic per distinct
 * digit of the warp: the first passes see few distinct digits (scores of a
 * row share their exponent), and same-address atomics serialize. */
VX_INLINE void vx_hist_add(unsigned int *hist, bool active, unsigned int digit) {
  const unsigned int voters = __ballot_sync(0xffffffffu, active);
  if (!active) return;
  const unsigned int peers = __match_any_sync(voters, digit);
  if ((threadIdx.x & 31) == (unsigned int)(__ffs(peers) - 1)) atomicAdd(&hist[digit], (unsigned int)__popc(peers));
}

/* Top-k of one row; all VX_TOPK_THREADS threads of the block must call it.
 * scores: the row's n scores (only the middle ones are read). */
__device__ inline void vx_topk_row(const float *__restrict__ scores, int n, int budget, int keep_first,
                                   int keep_last, int *__restrict__ out_pages, int max_out,
                                   int *__restrict__ out_count, vx_topk_smem &sm) {
  const int tid = threadIdx.x, lane = tid & 31;
  if (n < 0) n = 0;
  const int kf = keep_first < 0 ? 0 : (keep_first < n ? keep_first : n);
  const int kl_max = n - kf;
  const int kl = keep_last < 0 ? 0 : (keep_last < kl_max ? keep_last : kl_max);
  const int mid_begin = kf, mid_end = n - kl, m = mid_end - mid_begin;
  const int k = budget < 0 ? 0 : (budget < m ? budget : m);
  const bool cached = n <= VX_TOPK_THREADS * VX_TOPK_CACHE;
  const bool radix = k > 0 && k < m;

  unsigned int key32[VX_TOPK_CACHE];
#pragma unroll
  for (int c = 0; c < VX_TOPK_CACHE; ++c) {
    const int i = tid + c * VX_TOPK_THREADS;
    key32[c] = cached && radix && i >= mid_begin && i < mid_end ? vx_score_key(scores[i]) : 0u;
  }

  /* Radix narrowing: after it, middle page i is selected iff
   * (key(i) & mask) >= prefix, which holds for exactly k pages. */
  unsigned long long prefix = 0, mask = 0;
  if (radix) {
    int index_bytes = 1;
    while (index_bytes < 4 && ((unsigned int)(n - 1) >> (8 * index_bytes)) != 0u) ++index_bytes;
    const int passes = 4 + index_bytes;
    unsigned int remaining = (unsigned int)k;
    for (int b = tid; b < 256; b += VX_TOPK_THREADS) sm.hist[0][b] = 0u;
    __syncthreads();
    for (int pass = 0; pass < passes; ++pass) {
      const int shift = pass < 4 ? 56 - 8 * pass : 8 * (index_bytes - 1 - (pass - 4));
      const int cur = pass & 1;
      unsigned int *hist = sm.hist[cur];
      /* the next pass's copy: its last readers (warp 0, two passes ago)
       * finished before the previous pass's second barrier */
      for (int b = tid; b < 256; b += VX_TOPK_THREADS) sm.hist[cur ^ 1][b] = 0u;
      if (cached) {
#pragma unroll
        for (int c = 0; c < VX_TOPK_CACHE; ++c) {
          const int i = tid + c * VX_TOPK_THREADS;
          if (c * VX_TOPK_THREADS >= n) break; /* block-uniform */
          const unsigned long long key = ((unsigned long long)key32[c] << 32) | (unsigned long long)(~(unsigned int)i);
          vx_hist_add(hist, i >= mid_begin && i < mid_end && (key & mask) == prefix, (unsigned int)(key >> shift) & 255u);
        }
      } else {
        for (int base = mid_begin; base < mid_end; base += VX_TOPK_THREADS) { /* block-uniform trip count */
          const int i = base + tid;
          const unsigned long long key = i < mid_end ? vx_rank_key(scores[i], i) : 0ull;
          vx_hist_add(hist, i < mid_end && (key & mask) == prefix, (unsigned int)(key >> shift) & 255u);
        }
      }
      __syncthreads();
      if (tid < 32) {
        /* Lane l owns bins [8l, 8l+8); a reversed inclusive scan over lanes
         * gives each lane the count of keys in its bins and above. */
        unsigned int own = 0;
        for (int b = 0; b < 8; ++b) own += hist[lane * 8 + b];
        unsigned int incl = own;
        for (int o = 1; o < 32; o <<= 1) {
          const unsigned int y = __shfl_down_sync(0xffffffffu, incl, o);
          if (lane + o < 32) incl += y;
        }
        unsigned int above = incl - own;
        if (above < remaining && remaining <= incl) {
          for (int b = 7; b >= 0; --b) {
            const unsigned int c = hist[lane * 8 + b];
            if (remaining <= above + c) {
              sm.pick_digit[cur] = (unsigned int)(lane * 8 + b);
              sm.pick_above[cur] = above;
              sm.pick_count[cur] = c;
              break;
            }
            above += c;
          }
        }
      }
      __syncthreads();
      /* pick[cur] is rewritten two passes later, after every thread has
       * passed the next pass's first barrier (so has read it here) */
      const unsigned int digit = sm.pick_digit[cur], above = sm.pick_above[cur], count = sm.pick_count[cur];
      prefix |= (unsigned long long)digit << shift;
      mask |= 0xffull << shift;
      remaining -= above;
      if (count == remaining) break; /* the whole bin is taken: threshold found */
    }
  }

  int count = 0;
  if (cached) {
    /* warp_counts is free: the radix passes never touch it */
#pragma unroll
    for (int c = 0; c < VX_TOPK_CACHE; ++c) {
      if (c * VX_TOPK_THREADS >= n) break; /* block-uniform */
      const int i = tid + c * VX_TOPK_THREADS;
      bool sel = i < n && (i < mid_begin || i >= mid_end);
      if (i >= mid_begin && i < mid_end && k > 0) {
        const unsigned long long key = ((unsigned long long)key32[c] << 32) | (unsigned long long)(~(unsigned int)i);
        sel = (key & mask) >= prefix;
      }
      count += vx_compact_step(sel, i, count, out_pages, max_out, sm, c & 1);
    }
    __syncthreads(); /* sm is free again for the caller */
  } else {
    const bool take_middle = k > 0;
    count = vx_compact_ascending(
        n,
        [&](int i) {
          if (i < mid_begin || i >= mid_end) return true;
          if (!take_middle) return false;
          return (vx_rank_key(scores[i], i) & mask) >= prefix;
        },
        out_pages, max_out, sm);
  }
  if (tid == 0) *out_count = count < max_out ? count : max_out;
}

/* Threshold select: kept pages plus every middle page with score >= t
 * (NaN never qualifies). Same block contract as vx_topk_row. */
__device__ inline void vx_threshold_row(const float *__restrict__ scores, int n, float threshold, int keep_first,
                                        int keep_last, int *__restrict__ out_pages, int max_out,
                                        int *__restrict__ out_count, vx_topk_smem &sm) {
  if (n < 0) n = 0;
  const int kf = keep_first < 0 ? 0 : (keep_first < n ? keep_first : n);
  const int kl_max = n - kf;
  const int kl = keep_last < 0 ? 0 : (keep_last < kl_max ? keep_last : kl_max);
  const int mid_begin = kf, mid_end = n - kl;
  const int count = vx_compact_ascending(
      n,
      [&](int i) { return i < mid_begin || i >= mid_end || scores[i] >= threshold; },
      out_pages, max_out, sm);
  if (threadIdx.x == 0) *out_count = count < max_out ? count : max_out;
}

#endif /* VX_TOPK_CUH */

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
 * pass histograms one 8-bit digit of a key of up to 64 bits (the bits of the
 * order-preserving uint32 of the score that vary within the row, then the
 * complemented page index so equal scores order by index) and narrows to
 * the bin that holds the k-th key. Keys are unique, so the
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

/* Rows of up to THREADS * VX_TOPK_CACHE pages (128K tokens at page 16 in a
 * 512-thread block) keep their score keys in registers (index tid + c *
 * THREADS in slot c), so the radix passes touch global memory once instead
 * of once per pass: the passes are latency-bound, not bandwidth-bound.
 * Longer rows re-read from L2. */
#define VX_TOPK_CACHE 16

/* Cached rows: once a radix pass has narrowed the candidates (the keys in
 * the bin of the k-th) to at most this many, they are copied to shared
 * memory and the later passes histogram that list instead of re-testing
 * every cached key: ncu (H100, block_topk B16 x 128K, 8192 pages a row)
 * found the select issue-bound on those per-key tests, not on the atomics.
 * 0 keeps every pass on the registers (tuning builds, A/B). */
#ifndef VX_TOPK_LIST
#define VX_TOPK_LIST 1024
#endif

/* Radix histograms, three copies (pass p counts into hist[p % 3] and
 * zeroes hist[(p + 1) % 3]): every warp scans the histogram itself after
 * the pass's one barrier, and the copy a pass zeroes was last read two
 * passes ago, before the previous pass's barrier. Compaction counts are
 * double-buffered (step parity) for the same reason, one barrier a step. */
struct vx_topk_smem {
  alignas(16) unsigned int hist[3][256]; /* read as uint4 by the scan */
  unsigned int warp_counts[2][VX_TOPK_WARPS];
  unsigned int vary_and[VX_TOPK_WARPS], vary_or[VX_TOPK_WARPS]; /* per-warp AND / OR of the score keys */
  unsigned int chunk_counts[VX_TOPK_CACHE * VX_TOPK_WARPS];   /* cached compaction, see vx_topk_row */
  unsigned int cand_score[VX_TOPK_LIST > 0 ? VX_TOPK_LIST : 1], cand_index[VX_TOPK_LIST > 0 ? VX_TOPK_LIST : 1]; /* cached rows' candidates, see vx_topk_row */
  unsigned int cand_fill;
};

/* Monotone map float -> uint32 (larger float, larger uint); every NaN maps
 * to 0 so it ranks below -inf. */
VX_INLINE unsigned int vx_score_key(float s) {
  unsigned int u = __float_as_uint(s);
  if (s != s) return 0u;
  return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

/* Full 64-bit rank key: score key, then the complemented page index (equal
 * scores: the lower page ranks higher). The generated mass select uses it. */
VX_INLINE unsigned long long vx_rank_key(float s, int page) {
  return ((unsigned long long)vx_score_key(s) << 32) | (unsigned long long)(~(unsigned int)page);
}

/* One step of an ascending compaction: every thread of the block passes
 * whether index i (= chunk start + tid) is kept; kept indices are written in
 * order after the `written` already emitted. Returns the chunk's count.
 * Steps alternate `parity`: step s + 2 rewrites the counts of step s only
 * after every thread passed step s + 1's barrier, i.e. finished reading. */
template <int THREADS>
__device__ inline int vx_compact_step(bool sel, int i, int written, int *out, int max_out, vx_topk_smem &sm,
                                      int parity) {
  static_assert(THREADS % 32 == 0 && THREADS / 32 <= VX_TOPK_WARPS, "warp_counts holds VX_TOPK_WARPS warps");
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const unsigned int ballot = __ballot_sync(0xffffffffu, sel);
  if (lane == 0) sm.warp_counts[parity][warp] = __popc(ballot);
  __syncthreads();
  int before = 0, total = 0;
  for (int w = 0; w < THREADS / 32; ++w) {
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
template <int THREADS = VX_TOPK_THREADS, typename Pred>
__device__ int vx_compact_ascending(int n, Pred keep, int *out, int max_out, vx_topk_smem &sm) {
  int written = 0, parity = 0;
  for (int start = 0; start < n; start += THREADS, parity ^= 1) {
    const int i = start + threadIdx.x;
    written += vx_compact_step<THREADS>(i < n && keep(i), i, written, out, max_out, sm, parity);
  }
  __syncthreads();
  return written;
}

/* Order of middle page i: (score part, index part), compared as unsigned
 * pairs. The score part is the score key shifted left past the `lead` top
 * bits every middle page shares (scores of a row share sign and exponent),
 * the index part the complement of i (the lower page ranks higher on equal
 * scores) shifted left to drop bits that are 1 for every i < n. Both are
 * top-aligned, so the radix digits are their bytes from the top and the
 * first one already spreads the pages over many bins. 32-bit halves rather
 * than one 64-bit key: registers bound this kernel. */
struct vx_rank_code {
  int lead;        /* 32: every middle score is equal */
  int index_shift; /* 32 - bits of n - 1 */
  VX_INLINE unsigned int score(unsigned int key32) const { return lead < 32 ? key32 << lead : 0u; }
  VX_INLINE unsigned int index(int i) const { return ~(unsigned int)i << index_shift; }
};

/* Radix state: the digits fixed so far of both parts. A key is still a
 * candidate iff both masked parts equal the prefixes, and ranks at or above
 * the k-th iff its masked pair is >= the prefix pair. */
struct vx_rank_prefix {
  unsigned int score_mask, score_prefix, index_mask, index_prefix;
  VX_INLINE bool candidate(unsigned int s, unsigned int x) const {
    return (s & score_mask) == score_prefix && (x & index_mask) == index_prefix;
  }
  VX_INLINE bool at_or_above(unsigned int s, unsigned int x) const {
    const unsigned int sm = s & score_mask;
    return sm > score_prefix || (sm == score_prefix && (x & index_mask) >= index_prefix);
  }
};

/* f(c, i) for every register slot c < SLOTS of this thread (page i = tid +
 * c * THREADS) that holds a middle page of a cached row. */
template <int SLOTS, int THREADS, typename F> VX_INLINE void vx_for_cached_middle(int n, int mid_begin, int mid_end, F f) {
#pragma unroll
  for (int c = 0; c < SLOTS; ++c) {
    const int i = (int)threadIdx.x + c * THREADS;
    if (c * THREADS >= n) break; /* block-uniform */
    if (i >= mid_begin && i < mid_end) f(c, i);
  }
}

/* vx_topk_row with SLOTS register slots a thread in a block of THREADS:
 * rows of up to THREADS * SLOTS pages are cached; longer ones (SLOTS ==
 * VX_TOPK_CACHE only) re-read their scores. */
template <int SLOTS, int THREADS>
__device__ inline void vx_topk_row_slots(const float *__restrict__ scores, int n, int budget, int keep_first,
                                         int keep_last, int *__restrict__ out_pages, int max_out,
                                         int *__restrict__ out_count, vx_topk_smem &sm) {
  constexpr int WARPS = THREADS / 32;
  /* Compaction of a cached row in one barrier (below): chunk c (pages c *
   * THREADS + tid) of warp w is entry c * WARPS + w of a count table; lane l
   * of every warp sums entries 8l .. 8l + 7 and a warp scan turns them into
   * each entry's exclusive prefix, which the owner lane hands out by shuffle. */
  static_assert(SLOTS >= 1 && SLOTS <= VX_TOPK_CACHE, "the count table holds VX_TOPK_CACHE slots");
  static_assert(THREADS % 256 == 0 && WARPS <= VX_TOPK_WARPS && VX_TOPK_CACHE * WARPS <= 256,
                "vx_topk_smem is sized for VX_TOPK_WARPS; the count table must fit 8 entries per lane, a warp's entries at one offset");
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const int kf = keep_first < 0 ? 0 : (keep_first < n ? keep_first : n);
  const int kl_max = n - kf;
  const int kl = keep_last < 0 ? 0 : (keep_last < kl_max ? keep_last : kl_max);
  const int mid_begin = kf, mid_end = n - kl, m = mid_end - mid_begin;
  const int k = budget < 0 ? 0 : (budget < m ? budget : m);
  const bool cached = n <= THREADS * SLOTS;
  const bool radix = k > 0 && k < m;

  unsigned int key32[SLOTS];
#pragma unroll
  for (int c = 0; c < SLOTS; ++c) {
    const int i = tid + c * THREADS;
    key32[c] = cached && radix && i >= mid_begin && i < mid_end ? vx_score_key(scores[i]) : 0u;
  }

  /* Radix narrowing: after it, middle page i is selected iff
   * at.at_or_above(code.score(key(i)), code.index(i)), which holds for
   * exactly k pages. */
  vx_rank_code code = {32, 0};
  vx_rank_prefix at = {0u, 0u, 0u, 0u};
  if (radix) {
    /* Skip the score bits every middle page shares: typically two passes
     * then find the k-th key instead of three. */
    unsigned int all_and = ~0u, all_or = 0u;
    if (cached) {
      vx_for_cached_middle<SLOTS, THREADS>(n, mid_begin, mid_end, [&](int c, int) {
        all_and &= key32[c];
        all_or |= key32[c];
      });
    } else {
      for (int i = mid_begin + tid; i < mid_end; i += THREADS) {
        const unsigned int u = vx_score_key(scores[i]);
        all_and &= u;
        all_or |= u;
      }
    }
    all_and = __reduce_and_sync(0xffffffffu, all_and);
    all_or = __reduce_or_sync(0xffffffffu, all_or);
    if (lane == 0) {
      sm.vary_and[warp] = all_and;
      sm.vary_or[warp] = all_or;
    }
    for (int b = tid; b < 256; b += THREADS) sm.hist[0][b] = 0u;
    __syncthreads();
    all_and = __reduce_and_sync(0xffffffffu, lane < WARPS ? sm.vary_and[lane] : ~0u);
    all_or = __reduce_or_sync(0xffffffffu, lane < WARPS ? sm.vary_or[lane] : 0u);
    const unsigned int differ = all_and ^ all_or;
    code.lead = __clz((int)differ); /* 32 when differ == 0 */
    const int index_bits = 32 - __clz(n - 1); /* n >= 2 here: k < m <= n */
    code.index_shift = 32 - index_bits;
    const int score_passes = (32 - code.lead + 7) / 8, passes = score_passes + (index_bits + 7) / 8;
    if (cached) { /* the score parts once, not once a pass (only middle slots are read later) */
#pragma unroll
      for (int c = 0; c < SLOTS; ++c) key32[c] = code.score(key32[c]);
    }
    unsigned int remaining = (unsigned int)k;
    int listed = -1; /* candidates in sm.cand_*; -1 while the passes test the cached keys */
    for (int pass = 0; pass < passes; ++pass) {
      const bool on_score = pass < score_passes;
      const int shift = 24 - 8 * (on_score ? pass : pass - score_passes);
      unsigned int *hist = sm.hist[pass % 3];
      for (int b = tid; b < 256; b += THREADS) sm.hist[(pass + 1) % 3][b] = 0u;
      if (listed >= 0) {
        for (int j = tid; j < listed; j += THREADS) {
          const unsigned int s = sm.cand_score[j], x = sm.cand_index[j];
          if (at.candidate(s, x)) atomicAdd(&hist[((on_score ? s : x) >> shift) & 255u], 1u);
        }
      } else if (cached) {
        if (tid == 0) sm.cand_fill = 0u; /* read only after this pass's barrier */
        vx_for_cached_middle<SLOTS, THREADS>(n, mid_begin, mid_end, [&](int c, int i) {
          const unsigned int s = key32[c], x = code.index(i);
          if (at.candidate(s, x)) atomicAdd(&hist[((on_score ? s : x) >> shift) & 255u], 1u);
        });
      } else {
        for (int i = mid_begin + tid; i < mid_end; i += THREADS) {
          const unsigned int s = code.score(vx_score_key(scores[i])), x = code.index(i);
          if (at.candidate(s, x)) atomicAdd(&hist[((on_score ? s : x) >> shift) & 255u], 1u);
        }
      }
      __syncthreads();
      /* Every warp finds the bin holding the remaining-th key itself (same
       * data, same arithmetic, same answer), so no second barrier hands a
       * pick around. Lane l owns bins [8l, 8l+8); a reversed inclusive scan
       * over lanes gives each lane the count of keys in its bins and above. */
      unsigned int bins[8];
      {
        const uint4 lo = reinterpret_cast<const uint4 *>(hist)[lane * 2];
        const uint4 hi = reinterpret_cast<const uint4 *>(hist)[lane * 2 + 1];
        bins[0] = lo.x, bins[1] = lo.y, bins[2] = lo.z, bins[3] = lo.w;
        bins[4] = hi.x, bins[5] = hi.y, bins[6] = hi.z, bins[7] = hi.w;
      }
      unsigned int own = 0;
#pragma unroll
      for (int b = 0; b < 8; ++b) own += bins[b];
      unsigned int incl = own;
#pragma unroll
      for (int o = 1; o < 32; o <<= 1) {
        const unsigned int y = __shfl_down_sync(0xffffffffu, incl, o);
        if (lane + o < 32) incl += y;
      }
      unsigned int above = incl - own, digit = 0, count = 0;
      const bool mine = above < remaining && remaining <= incl; /* exactly one lane: remaining <= candidates */
#pragma unroll
      for (int b = 7; b >= 0; --b) {
        if (!mine || count != 0u) continue; /* count != 0: the digit is found (its bin is not empty) */
        if (remaining <= above + bins[b]) {
          digit = (unsigned int)(lane * 8 + b);
          count = bins[b];
        } else {
          above += bins[b];
        }
      }
      const int owner = __ffs(__ballot_sync(0xffffffffu, mine)) - 1;
      digit = __shfl_sync(0xffffffffu, digit, owner);
      above = __shfl_sync(0xffffffffu, above, owner);
      count = __shfl_sync(0xffffffffu, count, owner);
      if (on_score) {
        at.score_prefix |= digit << shift;
        at.score_mask |= 0xffu << shift;
      } else {
        at.index_prefix |= digit << shift;
        at.index_mask |= 0xffu << shift;
      }
      remaining -= above;
      if (count == remaining) break; /* the whole bin is taken: threshold found */
      if (cached && listed < 0 && count <= (unsigned int)VX_TOPK_LIST) {
        /* The `count` keys of the chosen bin are the only candidates left:
         * list them (in any order: the histograms do not depend on it). */
        vx_for_cached_middle<SLOTS, THREADS>(n, mid_begin, mid_end, [&](int c, int i) {
          const unsigned int x = code.index(i);
          if (at.candidate(key32[c], x)) {
            const unsigned int j = atomicAdd(&sm.cand_fill, 1u);
            sm.cand_score[j] = key32[c];
            sm.cand_index[j] = x;
          }
        });
        listed = (int)count;
        __syncthreads(); /* the list is complete before the next pass reads it */
      }
    }
  }

  int count = 0;
  if (cached) {
    /* chunk_counts is free: the radix passes never touch it */
    const int chunks = (n + THREADS - 1) / THREADS;
    unsigned int selected = 0u; /* bit c: page tid + c * THREADS is selected (key32 holds score parts) */
#pragma unroll
    for (int c = 0; c < SLOTS; ++c) {
      if (c >= chunks) break; /* block-uniform */
      const int i = tid + c * THREADS;
      const bool sel = i >= mid_begin && i < mid_end ? k > 0 && at.at_or_above(key32[c], code.index(i)) : i < n;
      selected |= (unsigned int)sel << c;
      const unsigned int ballot = __ballot_sync(0xffffffffu, sel);
      if (lane == 0) sm.chunk_counts[c * WARPS + warp] = (unsigned int)__popc(ballot);
    }
    __syncthreads();
    const int entries = chunks * WARPS, slot = warp % 8; /* this warp's entries' offset in a lane's 8 */
    unsigned int own = 0, own_before = 0;
#pragma unroll
    for (int j = 0; j < 8; ++j) {
      const int e = lane * 8 + j;
      const unsigned int v = e < entries ? sm.chunk_counts[e] : 0u;
      own += v;
      own_before += j < slot ? v : 0u;
    }
    unsigned int incl = own;
#pragma unroll
    for (int o = 1; o < 32; o <<= 1) {
      const unsigned int y = __shfl_up_sync(0xffffffffu, incl, o);
      if (lane >= o) incl += y;
    }
    const unsigned int entry_prefix = incl - own + own_before; /* of entry lane * 8 + warp % 8 */
    count = (int)__shfl_sync(0xffffffffu, incl, 31);
    const unsigned int below = (1u << lane) - 1u;
#pragma unroll
    for (int c = 0; c < SLOTS; ++c) {
      if (c >= chunks) break; /* block-uniform */
      const unsigned int base = __shfl_sync(0xffffffffu, entry_prefix, (c * WARPS + warp) / 8);
      const bool sel = (selected >> c) & 1u;
      const unsigned int ballot = __ballot_sync(0xffffffffu, sel);
      const int pos = (int)base + __popc(ballot & below);
      if (sel && pos < max_out) out_pages[pos] = tid + c * THREADS;
    }
    __syncthreads(); /* sm is free again for the caller */
  } else {
    const bool take_middle = k > 0;
    count = vx_compact_ascending<THREADS>(
        n,
        [&](int i) {
          if (i < mid_begin || i >= mid_end) return true;
          if (!take_middle) return false;
          return at.at_or_above(code.score(vx_score_key(scores[i])), code.index(i));
        },
        out_pages, max_out, sm);
  }
  if (tid == 0) *out_count = count < max_out ? count : max_out;
}

/* Tuning builds: -DVX_TOPK_SLOT_DISPATCH=0 runs every row with VX_TOPK_CACHE
 * slots. */
#ifndef VX_TOPK_SLOT_DISPATCH
#define VX_TOPK_SLOT_DISPATCH 1
#endif
/* Tuning builds: -DVX_TOPK_FIXED_PAGES=0 sizes the short and middle
 * instances by the block (THREADS and 4 * THREADS pages, as before run 115)
 * instead of 512 and 2048 pages. */
#ifndef VX_TOPK_FIXED_PAGES
#define VX_TOPK_FIXED_PAGES 1
#endif

/* Top-k of one row; all THREADS threads of the block must call it (512, the
 * select kernels; 256, the generated index's two-blocks-an-SM fused kernel).
 * scores: the row's n scores (only the middle ones are read). Short rows
 * take an instance with fewer register slots, whose unrolled slot loops
 * are that much shorter: ncu (quest B16 x 8K, 512-page rows) counted ~870
 * instructions a warp in the 16-slot top-k, ~550 in the 1-slot one, and
 * index + top-k took 2.6-10% less time at 8K, 0.7-3.6% at 32K (RESULTS.md
 * run 77). Rows past 2048 pages run the 16-slot instance as before; in the
 * fused index kernel the extra instances cost quest's 128K rows 1.4% (more
 * spills; a fused kernel with the 16-slot instance alone for those rows
 * gained 0.9% of that step and nothing elsewhere, run 83: not kept, branch
 * exp/index-fused-long). The branch is block-uniform. */
template <int THREADS = VX_TOPK_THREADS>
__device__ inline void vx_topk_row(const float *__restrict__ scores, int n, int budget, int keep_first,
                                   int keep_last, int *__restrict__ out_pages, int max_out,
                                   int *__restrict__ out_count, vx_topk_smem &sm) {
  /* The instances hold 512 and 2048 pages whatever the block: a 256-thread
   * block takes 2 and 8 slots, not 1 (rows of 256 pages) and 4 (1024), so
   * 8K and 32K rows at page 16 do not run twice the slots they need. */
  constexpr int SHORT_PAGES = VX_TOPK_FIXED_PAGES ? 512 : THREADS, MID_PAGES = 4 * SHORT_PAGES;
  constexpr int SHORT_SLOTS = SHORT_PAGES / THREADS, MID_SLOTS = MID_PAGES / THREADS;
  static_assert(SHORT_SLOTS >= 1 && SHORT_SLOTS * THREADS == SHORT_PAGES && MID_SLOTS < VX_TOPK_CACHE,
                "the short and middle instances hold whole slots below VX_TOPK_CACHE");
  if (n < 0) n = 0;
  if (VX_TOPK_SLOT_DISPATCH && n <= SHORT_PAGES)
    vx_topk_row_slots<SHORT_SLOTS, THREADS>(scores, n, budget, keep_first, keep_last, out_pages, max_out, out_count, sm);
  else if (VX_TOPK_SLOT_DISPATCH && n <= MID_PAGES)
    vx_topk_row_slots<MID_SLOTS, THREADS>(scores, n, budget, keep_first, keep_last, out_pages, max_out, out_count, sm);
  else
    vx_topk_row_slots<VX_TOPK_CACHE, THREADS>(scores, n, budget, keep_first, keep_last, out_pages, max_out, out_count, sm);
}

/* Threshold select: kept pages plus every middle page with score >= t
 * (NaN never qualifies). Same block contract as vx_topk_row. */
template <int THREADS = VX_TOPK_THREADS>
__device__ inline void vx_threshold_row(const float *__restrict__ scores, int n, float threshold, int keep_first,
                                        int keep_last, int *__restrict__ out_pages, int max_out,
                                        int *__restrict__ out_count, vx_topk_smem &sm) {
  if (n < 0) n = 0;
  const int kf = keep_first < 0 ? 0 : (keep_first < n ? keep_first : n);
  const int kl_max = n - kf;
  const int kl = keep_last < 0 ? 0 : (keep_last < kl_max ? keep_last : kl_max);
  const int mid_begin = kf, mid_end = n - kl;
  const int count = vx_compact_ascending<THREADS>(
      n,
      [&](int i) { return i < mid_begin || i >= mid_end || scores[i] >= threshold; },
      out_pages, max_out, sm);
  if (threadIdx.x == 0) *out_count = count < max_out ? count : max_out;
}

#endif /* VX_TOPK_CUH */

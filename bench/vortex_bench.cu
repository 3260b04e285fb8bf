/* vortex_bench.cu - timings of libvortexrt's decode kernels on one GPU, as
 * ratios to the bytes floor measured in the same run.
 *
 * floor(ms) = bytes the step must move (KV rows actually attended, query,
 * output) / copy bandwidth, where copy bandwidth is (read + written bytes) /
 * time of a large device-to-device cudaMemcpyAsync timed in this run.
 * Every timing: CUDA events around 10 back-to-back calls (per-call time =
 * elapsed / 10), warm-up first, the median of --reps such samples; each is
 * reported eagerly launched and replayed from a CUDA graph ("/graph"). Sparse inputs rotate among several
 * selections/queries whose pages together exceed 4x the L2, so repeated
 * runs do not measure the cache. KV is random (never zeros).
 *
 * Usage: vortex-bench [--quick] [--gqa-only | --mla-only] [--ctx N] [--reps N] [--json FILE] [--once | --trace]
 * --once: each MLA sparse decode runs once, untimed, nothing printed (for ncu):
 * with --mla-only, five partial launches (each followed by its merge) in the
 * order B16 x 8K, B32 x 8K, B16 x 32K, B32 x 32K, 128 heads B16 x 32K, so
 * profile.sh's PROFILE_SOURCE skips 0-4 pick one.
 * --trace: after each sparse timing, also where each block's phases ended
 * (needs libvortexrt built with -DVX_MLA_WG_TRACE=1 for MLA, vx_mla_wgmma.cuh,
 * or -DVX_DECODE_TRACE=1 for GQA, vx_decode_mma.cuh). */
#include <algorithm>
#include <climits>
#include <vector>

#include "gpu_common.h"

typedef struct bench_opts {
  int reps;
  int quick;
  int once; /* --once */
  int trace; /* --trace */
  FILE *json;
  int json_first;
  double copy_gbs;
  int l2_bytes;
  cudaStream_t stream; /* everything runs here: the legacy stream cannot be captured */
} bench_opts;

__global__ void fill_random16(uint16_t *p, size_t n, uint64_t seed, int dtype) {
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
    uint64_t x = (i + 1) * 0x9E3779B97F4A7C15ull ^ seed;
    x ^= x >> 31;
    x *= 0xBF58476D1CE4E5B9ull;
    x ^= x >> 29;
    const float u = (float)(x >> 40) * (1.0f / 16777216.0f) * 4.0f - 2.0f; /* [-2, 2) */
    p[i] = dtype == VXRT_DTYPE_F16 ? __half_as_ushort(__float2half_rn(u)) : __bfloat16_as_ushort(__float2bfloat16_rn(u));
  }
}

__global__ void fill_scores(float *p, size_t n, uint64_t seed) {
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
    uint64_t x = (i + 7) * 0xD1B54A32D192ED03ull ^ seed;
    x ^= x >> 29;
    x *= 0x94D049BB133111EBull;
    x ^= x >> 32;
    p[i] = (float)(x & 0xffffff) * (1.0f / 16777216.0f);
  }
}

static void fill16(void *p, size_t n, uint64_t seed, int dtype) {
  fill_random16<<<2048, 256>>>((uint16_t *)p, n, seed, dtype);
  CK(cudaGetLastError());
  CK(cudaDeviceSynchronize()); /* setup runs on the legacy stream, timing on o->stream */
}

static double median(std::vector<float> &v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* Median over o->reps samples of the time per call of fn, where a sample
 * times VX_BENCH_BATCH back-to-back calls (fn(i) rotates inputs by i):
 *  - eager: the calls are issued one after the other between two events;
 *    host launch cost is hidden only if it is below the GPU time per call;
 *  - graph: the VX_BENCH_BATCH calls are captured once into a CUDA graph and
 *    each sample replays it, as a serving engine replays its decode step;
 *    this is the device time alone.
 * 3 warm-up calls (or replays) first. */
#define VX_BENCH_BATCH 10
template <typename F> static double time_ms(const bench_opts *o, F fn, bool graph) {
  cudaEvent_t a, b;
  cudaGraph_t g = NULL;
  cudaGraphExec_t ge = NULL;
  CK(cudaEventCreate(&a));
  CK(cudaEventCreate(&b));
  if (graph) {
    CK(cudaStreamBeginCapture(o->stream, cudaStreamCaptureModeThreadLocal));
    for (int k = 0; k < VX_BENCH_BATCH; ++k) fn(k);
    CK(cudaStreamEndCapture(o->stream, &g));
    CK(cudaGraphInstantiate(&ge, g, 0));
  }
  auto sample = [&](int base) {
    if (graph) CK(cudaGraphLaunch(ge, o->stream));
    else
      for (int k = 0; k < VX_BENCH_BATCH; ++k) fn(base + k);
  };
  for (int i = 0; i < 3; ++i) sample(i * VX_BENCH_BATCH);
  CK(cudaStreamSynchronize(o->stream));
  std::vector<float> t;
  for (int i = 0; i < o->reps; ++i) {
    CK(cudaEventRecord(a, o->stream));
    sample(i * VX_BENCH_BATCH);
    CK(cudaEventRecord(b, o->stream));
    CK(cudaEventSynchronize(b));
    float ms = 0;
    CK(cudaEventElapsedTime(&ms, a, b));
    t.push_back(ms / VX_BENCH_BATCH);
  }
  CK(cudaGetLastError());
  if (graph) {
    CK(cudaGraphExecDestroy(ge));
    CK(cudaGraphDestroy(g));
  }
  CK(cudaEventDestroy(a));
  CK(cudaEventDestroy(b));
  return median(t);
}

static double measure_copy_gbs(const bench_opts *o) {
  const size_t bytes = (size_t)4 << 30;
  void *src, *dst;
  CK(cudaMalloc(&src, bytes));
  CK(cudaMalloc(&dst, bytes));
  fill16(src, bytes / 2, 1, VXRT_DTYPE_BF16);
  const double ms = time_ms(o, [&](int) { CK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, o->stream)); }, false);
  CK(cudaFree(src));
  CK(cudaFree(dst));
  return 2.0 * bytes / (ms * 1e6); /* read + write, GB/s */
}

static void json_record(bench_opts *o, const char *kind, const char *name, int batch, int ctx, double ms, double bytes,
                        double dense_ms) {
  const double floor_ms = bytes / (o->copy_gbs * 1e6);
  if (!o->json) return;
  fprintf(o->json, "%s\n  {\"kind\": \"%s\", \"name\": \"%s\", \"batch\": %d, \"context\": %d, \"ms\": %.5f, "
                   "\"bytes\": %.0f, \"floor_ms\": %.5f, \"ratio_to_floor\": %.3f, \"gbs\": %.1f, "
                   "\"speedup_vs_dense\": %.3f}",
          o->json_first ? "" : ",", kind, name, batch, ctx, ms, bytes, floor_ms, ms / floor_ms, bytes / (ms * 1e6),
          dense_ms > 0 ? dense_ms / ms : 0.0);
  o->json_first = 0;
}

static void print_row(bench_opts *o, const char *kind, const char *what, int batch, int ctx, double ms, double bytes,
                      double dense_ms) {
  const double floor_ms = bytes / (o->copy_gbs * 1e6);
  printf("%-5s %-18s B=%-3d ctx=%-6d %9.4f ms  floor %8.4f ms  x%5.2f of floor  %7.0f GB/s", kind, what, batch, ctx, ms,
         floor_ms, ms / floor_ms, bytes / (ms * 1e6));
  if (dense_ms > 0) printf("  %5.2fx vs dense", dense_ms / ms);
  printf("\n");
  json_record(o, kind, what, batch, ctx, ms, bytes, dense_ms);
}

/* CSR page table over a shuffled pool: every request has ctx tokens. */
typedef struct bench_kv {
  vxrt_paged_kv kv;
  void *k, *v;
  int32_t *indptr, *indices, *lpl;
  int pages_per_req;
} bench_kv;

static void bench_kv_init(bench_kv *b, vx_rng *r, int batch, int kv_heads, int head_dim, int page_size, int ctx,
                          int separate_v) {
  memset(b, 0, sizeof *b);
  const int ppr = (ctx + page_size - 1) / page_size;
  const int64_t pages = (int64_t)batch * ppr;
  b->pages_per_req = ppr;
  std::vector<int32_t> indptr(batch + 1), indices(pages), lpl(batch);
  for (int64_t i = 0; i < pages; ++i) indices[i] = (int32_t)i;
  rng_shuffle(r, indices.data(), (int)pages);
  for (int i = 0; i <= batch; ++i) indptr[i] = i * ppr;
  for (int i = 0; i < batch; ++i) lpl[i] = ctx - (ppr - 1) * page_size;
  const size_t elems = (size_t)pages * page_size * kv_heads * head_dim;
  CK(cudaMalloc(&b->k, elems * 2));
  fill16(b->k, elems, 11, VXRT_DTYPE_BF16);
  if (separate_v) {
    CK(cudaMalloc(&b->v, elems * 2));
    fill16(b->v, elems, 12, VXRT_DTYPE_BF16);
  } else {
    b->v = b->k;
  }
  CK(cudaMalloc(&b->indptr, (batch + 1) * 4));
  CK(cudaMalloc(&b->indices, pages * 4));
  CK(cudaMalloc(&b->lpl, batch * 4));
  CK(cudaMemcpy(b->indptr, indptr.data(), (batch + 1) * 4, cudaMemcpyHostToDevice));
  CK(cudaMemcpy(b->indices, indices.data(), pages * 4, cudaMemcpyHostToDevice));
  CK(cudaMemcpy(b->lpl, lpl.data(), batch * 4, cudaMemcpyHostToDevice));
  vxrt_paged_kv *kv = &b->kv;
  kv->format = VXRT_PAGES_CSR;
  kv->dtype = VXRT_DTYPE_BF16;
  kv->batch = batch;
  kv->page_size = page_size;
  kv->num_kv_heads = kv_heads;
  kv->head_dim = head_dim;
  kv->num_pages = pages;
  kv->indptr = b->indptr;
  kv->indices = b->indices;
  kv->last_page_len = b->lpl;
  kv->k_pool = b->k;
  kv->v_pool = b->v;
  vxrt_kv_set_layout(kv, VXRT_LAYOUT_NHD);
}

static void bench_kv_free(bench_kv *b) {
  CK(cudaFree(b->k));
  if (b->v != b->k) CK(cudaFree(b->v));
  CK(cudaFree(b->indptr));
  CK(cudaFree(b->indices));
  CK(cudaFree(b->lpl));
}

/* --trace: ten back-to-back sparse launches, then the last one's per-block
 * %globaltimer marks (ws[block * 8 + i], u64, written by a trace build:
 * -DVX_MLA_WG_TRACE=1 or -DVX_DECODE_TRACE=1, vx_trace_mark) as
 * microseconds after the median block entry: min / p10 / median / p90 / max
 * over the blocks for each mark; `marks` names them (NULL: unused). */
static const char *const mla_trace_marks[8] = {"entry",    "pages issued", "batch resolved",  "tile 0 landed",
                                               "loop end", "exit",         "partials shared", "output written"};
static const char *const gqa_trace_marks[8] = {"entry",         "grid dep met",    "pages in smem",  "w0 tile 0 landed",
                                               "w0 loop end",   "all warps done",  "output written", NULL};
/* Trace builds that record each block's SM in slot sm_slot: the blocks by
 * the end of their loop (mark 4), as sm:us, and which SMs ran no block,
 * to tell whether where a block runs sets how fast it streams (SMs
 * 2k and 2k+1 are taken to share a TPC). */
static void print_trace_by_sm(const std::vector<unsigned long long> &t, int blocks, unsigned long long t0, int sm_slot) {
  std::vector<std::pair<double, int>> ends;
  int max_sm = 0;
  for (int b = 0; b < blocks; ++b) {
    const int sm = (int)t[(size_t)b * 8 + sm_slot];
    max_sm = std::max(max_sm, sm);
    if (t[(size_t)b * 8 + 4]) ends.push_back({((double)t[(size_t)b * 8 + 4] - (double)t0) * 1e-3, sm});
  }
  std::sort(ends.begin(), ends.end());
  std::vector<int> used((size_t)max_sm + 2, 0);
  for (auto &e : ends) used[(size_t)e.second]++;
  printf("  blocks by loop end (sm:us; * = its TPC partner ran no block):\n");
  for (size_t i = 0; i < ends.size(); ++i) {
    const int sm = ends[i].second, partner = sm ^ 1;
    printf("%s%3d:%5.1f%s", i % 8 ? " " : "    ", sm, ends[i].first, used[(size_t)partner] ? " " : "*");
    if (i % 8 == 7 || i + 1 == ends.size()) printf("\n");
  }
  printf("  SMs without a block (of 0..%d):", max_sm);
  for (int sm = 0; sm <= max_sm; ++sm)
    if (!used[(size_t)sm]) printf(" %d", sm);
  printf("\n");
}

template <typename F>
static void print_trace(bench_opts *o, const char *name, const char *const marks[8], const char *build, int batch,
                        int ctx, void *ws, size_t ws_bytes, int sm_slot, F &&launch) {
  CK(cudaMemsetAsync(ws, 0, ws_bytes, o->stream));
  for (int i = 0; i < VX_BENCH_BATCH; ++i) launch(i);
  CK(cudaStreamSynchronize(o->stream));
  std::vector<unsigned long long> t(std::min(ws_bytes, (size_t)4096 * 64) / 8);
  CK(cudaMemcpy(t.data(), ws, t.size() * 8, cudaMemcpyDeviceToHost));
  int blocks = 0;
  while (blocks * 8 + 7 < (int)t.size() && t[(size_t)blocks * 8] != 0) ++blocks;
  if (!blocks) {
    printf("%s trace B=%d ctx=%d: no marks (build with %s)\n", name, batch, ctx, build);
    return;
  }
  /* the median entry: with programmatic launch some blocks enter while the
   * previous launch still runs (they wait in griddepcontrol.wait) */
  std::vector<unsigned long long> e;
  for (int b = 0; b < blocks; ++b) e.push_back(t[(size_t)b * 8]);
  std::sort(e.begin(), e.end());
  if (e.back() - e.front() > 1000000000ull) { /* not one launch's marks: partials of the workspace */
    printf("%s trace B=%d ctx=%d: no valid marks (%s writes them only where the workspace is unused)\n", name, batch,
           ctx, build);
    return;
  }
  const unsigned long long t0 = e[e.size() / 2];
  printf("%s trace B=%d ctx=%d, %d blocks (us after the median entry: min / p10 / median / p90 / max)\n", name, batch,
         ctx, blocks);
  for (int m = 0; m < 8 && marks[m]; ++m) {
    std::vector<double> v;
    for (int b = 0; b < blocks; ++b)
      if (t[(size_t)b * 8 + m]) v.push_back(((double)t[(size_t)b * 8 + m] - (double)t0) * 1e-3);
    if (v.empty()) continue;
    std::sort(v.begin(), v.end());
    printf("  %-17s %7.2f %7.2f %7.2f %7.2f %7.2f\n", marks[m], v.front(), v[v.size() / 10], v[v.size() / 2],
           v[v.size() * 9 / 10], v.back());
  }
  if (sm_slot >= 0) print_trace_by_sm(t, blocks, t0, sm_slot);
}

/* GQA 32 q heads / 8 kv heads, dim 128, bf16, page 16, budget 2048 tokens. */
static void bench_gqa(bench_opts *o, vx_rng *r, int batch, int ctx) {
  const int H = 8, QO = 32, D = 128, PS = 16, budget_tokens = 2048, keep_first = 1, keep_last = 2;
  bench_kv b;
  bench_kv_init(&b, r, batch, H, D, PS, ctx, 1);
  const int rows = batch * H, n = b.pages_per_req;
  const int sel_pages = std::min(n, budget_tokens / PS);
  const int budget = std::max(0, sel_pages - keep_first - keep_last);
  const double tok_bytes = (double)H * D * 2 * 2; /* K + V of one token, all kv heads */
  const double qo_bytes = 2.0 * batch * QO * D * 2;
  const double dense_bytes = (double)batch * ctx * tok_bytes + qo_bytes;
  /* selected pages are full except possibly the last (kept) one */
  const double sparse_bytes = (double)batch * std::min(ctx, sel_pages * PS) * tok_bytes + qo_bytes;
  const double sparse_set = (double)batch * sel_pages * PS * tok_bytes;
  const int nsets = (int)std::min(16.0, std::max(1.0, ceil(4.0 * o->l2_bytes / sparse_set)));

  void *q, *out, *ws;
  float *scores;
  int32_t *sel, *cnt;
  const size_t qn = (size_t)batch * QO * D;
  CK(cudaMalloc(&q, qn * 2 * nsets));
  CK(cudaMalloc(&out, qn * 2));
  fill16(q, qn * nsets, 21, VXRT_DTYPE_BF16);
  CK(cudaMalloc(&scores, (size_t)rows * n * 4 * nsets));
  fill_scores<<<1024, 256>>>(scores, (size_t)rows * n * nsets, 31);
  CK(cudaDeviceSynchronize());
  CK(cudaMalloc(&sel, (size_t)rows * sel_pages * 4 * nsets));
  CK(cudaMalloc(&cnt, (size_t)rows * 4 * nsets));
  const size_t ws_dense = vxrt_decode_workspace_size(batch, QO, H, D, n);
  const size_t ws_sparse = vxrt_decode_workspace_size(batch, QO, H, D, sel_pages);
  const size_t ws_bytes = std::max(ws_dense, ws_sparse);
  CK(cudaMalloc(&ws, ws_bytes));
  char err[512];
  const float scale = 1.0f / sqrtf((float)D);
  auto qset = [&](int s) { return (void *)((uint16_t *)q + (size_t)(s % nsets) * qn); };
  auto topk = [&](int s) {
    s %= nsets;
    CKRT(vxrt_topk_select(&b.kv, scores + (size_t)s * rows * n, n, budget, keep_first, keep_last,
                          sel + (size_t)s * rows * sel_pages, sel_pages, cnt + (size_t)s * rows, o->stream, err, sizeof err));
  };
  auto sparse = [&](int s) {
    const int k = s % nsets;
    CKRT(vxrt_sparse_decode(&b.kv, qset(s), out, QO, scale, sel + (size_t)k * rows * sel_pages, cnt + (size_t)k * rows,
                            sel_pages, ws, ws_bytes, o->stream, err, sizeof err));
  };
  for (int s = 0; s < nsets; ++s) topk(s);
  CK(cudaDeviceSynchronize());

  auto dense = [&](int s) {
    CKRT(vxrt_dense_decode(&b.kv, qset(s), out, QO, scale, n, ws, ws_bytes, o->stream, err, sizeof err));
  };
  auto step = [&](int s) { topk(s); sparse(s); };
  const double dense_ms = time_ms(o, dense, false), dense_g = time_ms(o, dense, true);
  const double topk_ms = time_ms(o, topk, false), topk_g = time_ms(o, topk, true);
  const double sparse_ms = time_ms(o, sparse, false), sparse_g = time_ms(o, sparse, true);
  const double step_ms = time_ms(o, step, false), step_g = time_ms(o, step, true);
  const double topk_bytes = (double)rows * n * 4;
  print_row(o, "gqa", "dense", batch, ctx, dense_ms, dense_bytes, 0);
  print_row(o, "gqa", "sparse-attn", batch, ctx, sparse_ms, sparse_bytes, dense_ms);
  print_row(o, "gqa", "topk", batch, ctx, topk_ms, topk_bytes, 0);
  print_row(o, "gqa", "topk+sparse", batch, ctx, step_ms, sparse_bytes + topk_bytes, dense_ms);
  print_row(o, "gqa", "dense/graph", batch, ctx, dense_g, dense_bytes, 0);
  print_row(o, "gqa", "sparse-attn/graph", batch, ctx, sparse_g, sparse_bytes, dense_g);
  print_row(o, "gqa", "topk/graph", batch, ctx, topk_g, topk_bytes, 0);
  print_row(o, "gqa", "topk+sparse/graph", batch, ctx, step_g, sparse_bytes + topk_bytes, dense_g);
  if (o->trace) print_trace(o, "gqa", gqa_trace_marks, "-DVX_DECODE_TRACE=1", batch, ctx, ws, ws_bytes, 7, sparse);
  CK(cudaFree(q));
  CK(cudaFree(out));
  CK(cudaFree(scores));
  CK(cudaFree(sel));
  CK(cudaFree(cnt));
  CK(cudaFree(ws));
  bench_kv_free(&b);
}

/* MLA: latent 512 + 64, page 64, bf16; HEADS 20 = GLM-4.7-Flash ("mla"),
 * 128 = DeepSeek-V3 ("mla128"). */
static void bench_mla(bench_opts *o, vx_rng *r, int batch, int ctx, int HEADS = 20) {
  const int DC = 512, D = 576, PS = 64, budget_tokens = 2048;
  const char *name = HEADS == 20 ? "mla" : "mla128";
  bench_kv b;
  bench_kv_init(&b, r, batch, 1, D, PS, ctx, 0);
  const int n = b.pages_per_req, sel_pages = std::min(n, budget_tokens / PS);
  const double qo_bytes = (double)batch * HEADS * (D + DC) * 2;
  const double dense_bytes = (double)batch * ctx * D * 2 + qo_bytes;
  const double sparse_bytes = (double)batch * std::min(ctx, sel_pages * PS) * D * 2 + qo_bytes;
  const int nsets = (int)std::min(16.0, std::max(1.0, ceil(4.0 * o->l2_bytes / (sparse_bytes - qo_bytes))));
  void *q, *out, *ws;
  float *scores;
  int32_t *sel, *cnt;
  CK(cudaMalloc(&q, (size_t)batch * HEADS * D * 2 * nsets));
  CK(cudaMalloc(&out, (size_t)batch * HEADS * DC * 2));
  fill16(q, (size_t)batch * HEADS * D * nsets, 41, VXRT_DTYPE_BF16);
  CK(cudaMalloc(&scores, (size_t)batch * n * 4 * nsets));
  fill_scores<<<1024, 256>>>(scores, (size_t)batch * n * nsets, 51);
  CK(cudaDeviceSynchronize());
  CK(cudaMalloc(&sel, (size_t)batch * sel_pages * 4 * nsets));
  CK(cudaMalloc(&cnt, (size_t)batch * 4 * nsets));
  char err[512];
  for (int s = 0; s < nsets; ++s)
    CKRT(vxrt_topk_select(&b.kv, scores + (size_t)s * batch * n, n, std::max(0, sel_pages - 3), 1, 2,
                          sel + (size_t)s * batch * sel_pages, sel_pages, cnt + (size_t)s * batch, o->stream, err, sizeof err));
  const size_t ws_bytes = std::max(vxrt_mla_workspace_size(batch, HEADS, DC, n), vxrt_mla_workspace_size(batch, HEADS, DC, sel_pages));
  CK(cudaMalloc(&ws, ws_bytes));
  const float scale = 1.0f / sqrtf(192.0f);
  auto qset = [&](int s) { return (void *)((uint16_t *)q + (size_t)(s % nsets) * batch * HEADS * D); };
  auto dense = [&](int s) {
    CKRT(vxrt_mla_decode(&b.kv, DC, qset(s), out, HEADS, scale, NULL, NULL, n, ws, ws_bytes, o->stream, err, sizeof err));
  };
  auto sparse = [&](int s) {
    const int k = s % nsets;
    CKRT(vxrt_mla_decode(&b.kv, DC, qset(s), out, HEADS, scale, sel + (size_t)k * batch * sel_pages, cnt + (size_t)k * batch,
                         sel_pages, ws, ws_bytes, o->stream, err, sizeof err));
  };
  if (o->once) {
    sparse(0);
    CK(cudaStreamSynchronize(o->stream));
  } else {
    const double dense_ms = time_ms(o, dense, false), sparse_ms = time_ms(o, sparse, false);
    const double dense_g = time_ms(o, dense, true), sparse_g = time_ms(o, sparse, true);
    print_row(o, name, "dense", batch, ctx, dense_ms, dense_bytes, 0);
    print_row(o, name, "sparse-attn", batch, ctx, sparse_ms, sparse_bytes, dense_ms);
    print_row(o, name, "dense/graph", batch, ctx, dense_g, dense_bytes, 0);
    print_row(o, name, "sparse-attn/graph", batch, ctx, sparse_g, sparse_bytes, dense_g);
    if (o->trace) print_trace(o, name, mla_trace_marks, "-DVX_MLA_WG_TRACE=1", batch, ctx, ws, ws_bytes, -1, sparse);
  }
  CK(cudaFree(q));
  CK(cudaFree(out));
  CK(cudaFree(scores));
  CK(cudaFree(sel));
  CK(cudaFree(cnt));
  CK(cudaFree(ws));
  bench_kv_free(&b);
}

/* A whole positive decimal int, or false: 0 would read as "every context"
 * for --ctx and as a median of nothing for --reps. */
static bool parse_positive(const char *s, int *out) { return parse_int_in(s, 1, INT_MAX, out); }

int main(int argc, char **argv) {
  bench_opts o;
  memset(&o, 0, sizeof o);
  o.reps = 30;
  o.json_first = 1;
  const char *json_path = NULL;
  int gqa_only = 0, mla_only = 0, only_ctx = 0;
  for (int i = 1; i < argc; ++i) {
    if (!strcmp(argv[i], "--quick")) o.quick = 1;
    else if (!strcmp(argv[i], "--once")) o.once = 1;
    else if (!strcmp(argv[i], "--trace")) o.trace = 1;
    else if (!strcmp(argv[i], "--reps") && i + 1 < argc && parse_positive(argv[i + 1], &o.reps)) ++i;
    else if (!strcmp(argv[i], "--json") && i + 1 < argc) json_path = argv[++i];
    else if (!strcmp(argv[i], "--gqa-only")) gqa_only = 1;
    else if (!strcmp(argv[i], "--mla-only")) mla_only = 1;
    else if (!strcmp(argv[i], "--ctx") && i + 1 < argc && parse_positive(argv[i + 1], &only_ctx)) ++i;
    else {
      fprintf(stderr, "usage: vortex-bench [--quick] [--gqa-only | --mla-only] [--ctx N] [--reps N] [--json FILE] [--once | --trace]\n");
      return 2;
    }
  }
  const int ctxs[3] = {8192, 32768, 131072}, batches[3] = {16, 32, 64};
  if (only_ctx && std::find(ctxs, ctxs + 3, only_ctx) == ctxs + 3) {
    fprintf(stderr, "vortex-bench: --ctx %d: the contexts benchmarked are %d, %d and %d\n", only_ctx, ctxs[0], ctxs[1],
            ctxs[2]);
    return 2;
  }
  /* a context the run skips (--ctx names another) */
  auto skip_ctx = [&](int ctx) { return only_ctx && ctx != only_ctx; };
  cudaDeviceProp prop;
  if (!vx_device0(&prop)) return 77;
  o.l2_bytes = prop.l2CacheSize;
  CK(cudaStreamCreateWithFlags(&o.stream, cudaStreamNonBlocking));
  o.copy_gbs = measure_copy_gbs(&o);
  printf("device %s, %d SMs, L2 %d MB; device copy %.0f GB/s (read+write); median of %d samples of %d calls\n",
         prop.name, prop.multiProcessorCount, o.l2_bytes >> 20, o.copy_gbs, o.reps, VX_BENCH_BATCH);
  if (json_path) {
    o.json = fopen(json_path, "w");
    if (!o.json) {
      fprintf(stderr, "cannot write %s\n", json_path);
      return 2;
    }
    fprintf(o.json, "{\"device\": \"%s\", \"copy_gbs\": %.1f, \"reps\": %d, \"results\": [", prop.name, o.copy_gbs, o.reps);
  }
  vx_rng r = {0x1234567};
  for (int c = 0; c < 3 && !mla_only; ++c)
    for (int bi = 0; bi < 3; ++bi) {
      if ((o.quick && (bi == 1 || c == 2)) || skip_ctx(ctxs[c])) continue;
      bench_gqa(&o, &r, batches[bi], ctxs[c]);
    }
  for (int c = 0; c < 2 && !gqa_only; ++c)
    for (int bi = 0; bi < 2; ++bi) {
      if ((o.quick && bi == 1) || skip_ctx(ctxs[c])) continue;
      bench_mla(&o, &r, batches[bi], ctxs[c]);
    }
  if (!gqa_only && !skip_ctx(32768)) bench_mla(&o, &r, 16, 32768, 128); /* DeepSeek-V3 heads */
  if (o.json) {
    fprintf(o.json, "\n]}\n");
    fclose(o.json);
  }
  return 0;
}

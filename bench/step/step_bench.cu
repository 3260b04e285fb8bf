/* step_bench.cu - whole decode step of vortexc-GENERATED kernels on one GPU
 * (issue 5), each timing a ratio to its bytes floor measured in the same run.
 *
 * Per shape (GQA 32/8, dim 128, bf16, page 16, every request `context`
 * tokens, pages shuffled over the pool, CSR page table):
 *   dense       libvortexrt vxrt_dense_decode over every page (baseline)
 *   index       generated index + top-k (scores every page, selects 128)
 *   attn        generated sparse attention, called as the step calls it
 *               (selection rows of max_pages = the request's page count)
 *   attn-compact  the same kernel over the same pages packed in rows of
 *               exactly the budget (max_pages = 128): the kernel's best case
 *   step        the generated step launcher (index + attention), one graph
 * Floors (bytes / copy bandwidth; copy = read + written bytes of a 4 GiB
 * D2D copy timed here): dense = all K/V + page table + q + out; attn =
 * selected K/V + selection ids + q + out; index = every summary of every
 * page + page table + q + selection written; step = summaries + page table
 * + selected K/V + q + out.
 * Timing (step_util.h sb_time_op): each op replayed from a CUDA graph of
 * 10 x (L2 flush, op), minus a graph of the 10 flushes alone, over the
 * median of --reps replays: device time with a cold L2, no launch latency.
 * Checks (any failure exits non-zero, no timing is printed for it): cache
 * summaries vs f64 recomputation; every row's selection shape; the top-k
 * property against f64 scores; every output finite after NaN poisoning and
 * sample rows vs f64 attention over the same pages; step output equal to
 * index + attn output; every output unchanged after the timing replays.
 *
 * Usage: step_bench [--algos quest,block_topk] [--contexts 8192,32768,131072]
 *   [--batches 16,32,64] [--reps N] [--json FILE] [--sel-dir DIR] [--no-dense] [--flush-carveout PCT]
 *   [--check-all] (every row's attention against f64, not the first and last)
 *   [--gather-sms N,..] (the no-math gather again from only N SMs, calib.cuh)
 *   (--no-dense: no dense baseline, for ncu runs that profile the sparse kernels;
 *   --flush-carveout: the L2 flush kernel's shared-memory carveout, step_util.h) */
#include <cmath>
#include <string>

#include "algos.h"
#include "calib.cuh"
#include "paged_kv.h"
#include "report_json.h"
#include "step_check.h"
#include "step_util.h"
#include "vortexrt.h"

static const int HKV = 8, HQ = 32, D = 128, PS = 16, SEL_MAGIC = 0x31535856;

typedef struct opts {
  std::vector<int> contexts, batches;
  std::vector<std::string> algos;
  int reps;
  const char *json_path, *sel_dir;
  bool no_dense; /* profiling runs: skip the dense baseline (no vs-dense ratios) */
  int flush_carveout; /* -1: the driver's choice (step_util.h sb_timer_init) */
  bool check_all; /* check every row's attention against f64, not two */
  std::vector<int> gather_sms; /* --gather-sms: the gather again on only this many SMs each */
} opts;

/* The paged cache of one shape: CSR table over a shuffled pool (logical page
 * j of request b lives anywhere), K and V random bf16, q random. */
typedef struct shape {
  int batch, ctx, n, rows;
  vx_paged_kv kv;
  vxrt_paged_kv rkv;
  void *k, *v, *q;
  int *indptr, *indices, *lpl;
  std::vector<int> h_indices;
  std::vector<uint16_t> h_q;
} shape;

static void shape_init(shape *s, int batch, int ctx, vx_rng *rng) {
  s->batch = batch;
  s->ctx = ctx;
  s->n = (ctx + PS - 1) / PS;
  s->rows = batch * HKV;
  const long long pages = (long long)batch * s->n;
  std::vector<int> indptr(batch + 1), lpl(batch, ctx - (s->n - 1) * PS);
  s->h_indices.resize(pages);
  for (long long i = 0; i < pages; ++i) s->h_indices[i] = (int)i;
  rng_shuffle(rng, s->h_indices.data(), (int)pages);
  for (int b = 0; b <= batch; ++b) indptr[b] = b * s->n;
  const size_t elems = (size_t)pages * PS * HKV * D, qn = (size_t)batch * HQ * D;
  CK(cudaMalloc(&s->k, elems * 2));
  CK(cudaMalloc(&s->v, elems * 2));
  CK(cudaMalloc(&s->q, qn * 2));
  sb_fill(s->k, elems, 11 + ctx + batch);
  sb_fill(s->v, elems, 12 + ctx + batch);
  sb_fill(s->q, qn, 13 + ctx + batch);
  s->h_q.resize(qn);
  CK(cudaMemcpy(s->h_q.data(), s->q, qn * 2, cudaMemcpyDeviceToHost));
  CK(cudaMalloc(&s->indptr, (batch + 1) * 4));
  CK(cudaMalloc(&s->indices, pages * 4));
  CK(cudaMalloc(&s->lpl, batch * 4));
  CK(cudaMemcpy(s->indptr, indptr.data(), (batch + 1) * 4, cudaMemcpyHostToDevice));
  CK(cudaMemcpy(s->indices, s->h_indices.data(), pages * 4, cudaMemcpyHostToDevice));
  CK(cudaMemcpy(s->lpl, lpl.data(), batch * 4, cudaMemcpyHostToDevice));
  /* the fills ran on the legacy stream; the benchmark's stream does not wait for it */
  CK(cudaDeviceSynchronize());
  s->kv = sb_csr_nhd_kv(batch, PS, HKV, D, pages, s->indptr, s->indices, s->lpl, s->k, s->v);
  s->rkv = sb_vxrt_kv(s->kv);
}

static void shape_free(shape *s) {
  CK(cudaFree(s->k));
  CK(cudaFree(s->v));
  CK(cudaFree(s->q));
  CK(cudaFree(s->indptr));
  CK(cudaFree(s->indices));
  CK(cudaFree(s->lpl));
}

static sb_host_kv host_view(const shape *s) {
  sb_host_kv h = {&s->kv, &s->h_indices, &s->h_q, s->n, HQ / HKV};
  return h;
}

/* Rows checked against the f64 reference: first and last (request, head). */
static void sample_rows(const shape *s, int rb[2], int rh[2]) {
  rb[0] = 0, rh[0] = 0, rb[1] = s->batch - 1, rh[1] = HKV - 1;
}

static double bench_dense(report *r, sb_timer *t, shape *s, bool *ok) {
  const float scale = 1.0f / sqrtf((float)D);
  const size_t on = (size_t)s->batch * HQ * D;
  const size_t wsb = vxrt_decode_workspace_size(s->batch, HQ, HKV, D, s->n);
  void *ws, *out;
  char err[256] = "";
  CK(cudaMalloc(&ws, wsb));
  CK(cudaMalloc(&out, on * 2));
  auto enqueue = [&](cudaStream_t st) {
    const vxrt_status e = vxrt_dense_decode(&s->rkv, s->q, out, HQ, scale, s->n, ws, wsb, st, err, sizeof err);
    if (e != VXRT_SUCCESS) {
      fprintf(stderr, "vxrt_dense_decode: %s: %s\n", vxrt_status_string(e), err);
      exit(2);
    }
  };
  CK(cudaMemsetAsync(out, 0xff, on * 2, t->stream)); /* NaN poison */
  enqueue(t->stream);
  CK(cudaStreamSynchronize(t->stream));
  const std::vector<uint16_t> h = sb_fetch16(out, on);
  const sb_host_kv hv = host_view(s);
  int rb[2], rh[2];
  sample_rows(s, rb, rh);
  std::vector<int> all(s->n);
  for (int j = 0; j < s->n; ++j) all[j] = j;
  *ok = sb_all_finite("dense", h);
  for (int i = 0; *ok && i < 2; ++i) *ok = sb_check_attention("dense", hv, h, rb[i], rh[i], all, scale) >= 0;
  double ms = 0;
  if (*ok) {
    ms = sb_time_op(t, enqueue);
    *ok = sb_outputs_agree("dense after timing", sb_fetch16(out, on), h);
  }
  if (*ok) {
    const double bytes = 2.0 * s->batch * s->ctx * HKV * D * 2 + (double)s->batch * s->n * 4 + 2.0 * on * 2;
    emit(r, "dense", "vortexrt", s->batch, s->ctx, ms, bytes, 0, 0);
  }
  CK(cudaFree(ws));
  CK(cudaFree(out));
  return *ok ? ms : 0;
}

static void write_selection(const opts *o, const sb_algo &a, const shape *s, const std::vector<int> &compact, int k) {
  if (!o->sel_dir) return;
  char path[1024];
  snprintf(path, sizeof path, "%s/sel_%s_b%d_c%d.bin", o->sel_dir, a.name, s->batch, s->ctx);
  FILE *f = fopen(path, "wb");
  const int head[8] = {SEL_MAGIC, 1, s->batch, HKV, s->ctx, PS, k, 0};
  if (!f || fwrite(head, 4, 8, f) != 8 || fwrite(compact.data(), 4, compact.size(), f) != compact.size()) {
    fprintf(stderr, "cannot write %s\n", path);
    exit(2);
  }
  fclose(f);
}

/* The no-math gather of the compact selection from `active` SMs only
 * (calib.cuh sb_gather_sms_kernel): one block an SM, kept alone there by
 * its dynamic shared memory. */
static double time_gather_on_sms(sb_timer *t, const shape *s, const int *sel_c, int want, int active) {
  int sms = 0, smem_per_sm = 0, per_sm = 0;
  CK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, 0));
  CK(cudaDeviceGetAttribute(&smem_per_sm, cudaDevAttrMaxSharedMemoryPerMultiprocessor, 0));
  const int smem = smem_per_sm / 2 + 1024;
  auto kernel = sb_gather_sms_kernel<HKV, D, PS>;
  CK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, smem));
  CK(cudaFuncSetAttribute(kernel, cudaFuncAttributePreferredSharedMemoryCarveout, 100));
  CK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, kernel, SB_GATHER_SMS_THREADS, smem));
  if (per_sm != 1) {
    fprintf(stderr, "step_bench: the SM-limited gather fits %d blocks an SM, not 1\n", per_sm);
    exit(1);
  }
  return sb_time_op(t, [&](cudaStream_t st) {
    kernel<<<sms, SB_GATHER_SMS_THREADS, smem, st>>>((const uint4 *)s->k, (const uint4 *)s->v, s->indptr, s->indices,
                                                     sel_c, want, s->rows, active, t->sink);
    CK(cudaGetLastError());
  });
}

/* One generated algorithm at one shape; false when a check failed. */
static bool bench_algo(const opts *o, report *r, sb_timer *t, shape *s, const sb_algo &a, double dense_ms) {
  const float scale = 1.0f / sqrtf((float)D);
  const int n = s->n, rows = s->rows, want = std::min(n, a.budget + a.keep_first + a.keep_last);
  const size_t on = (size_t)s->batch * HQ * D, field_elems = (size_t)s->kv.num_pages * HKV * D;
  void *pools[SB_MAX_FIELDS] = {};
  for (int f = 0; f < a.num_fields; ++f) {
    CK(cudaMalloc(&pools[f], field_elems * 2));
    CK(cudaMemsetAsync(pools[f], 0xff, field_elems * 2, t->stream)); /* NaN: a skipped page fails the check */
  }
  const size_t wsb = a.workspace_size(s->batch, HKV, n);
  void *ws, *out, *out_c, *out_s;
  int *sel, *cnt, *sel_c, *cnt_c;
  CK(cudaMalloc(&ws, wsb));
  CK(cudaMalloc(&out, on * 2));
  CK(cudaMalloc(&out_c, on * 2));
  CK(cudaMalloc(&out_s, on * 2));
  CK(cudaMalloc(&sel, (size_t)rows * n * 4));
  CK(cudaMalloc(&cnt, rows * 4));
  CK(cudaMalloc(&sel_c, (size_t)rows * want * 4));
  CK(cudaMalloc(&cnt_c, rows * 4));
  CKS(a.cache_update(&s->kv, pools, n, t->stream));

  /* Each op as the engine would enqueue it; checked after one direct run,
   * timed from CUDA graphs, re-checked after the timing replays. */
  auto e_index = [&](cudaStream_t st) { CKS(a.index(&s->kv, s->q, pools, n, sel, cnt, ws, wsb, st)); };
  auto e_attn = [&](cudaStream_t st) { CKS(a.attend(&s->kv, s->q, sel, cnt, n, scale, out, ws, wsb, st)); };
  auto e_attn_c = [&](cudaStream_t st) {
    CKS(a.attend(&s->kv, s->q, sel_c, cnt_c, want, scale, out_c, ws, wsb, st));
  };
  auto e_step = [&](cudaStream_t st) { CKS(a.step(&s->kv, s->q, pools, n, scale, out_s, ws, wsb, st)); };

  e_index(t->stream);
  CK(cudaStreamSynchronize(t->stream));
  std::vector<int> h_sel((size_t)rows * n), h_cnt(rows);
  CK(cudaMemcpy(h_sel.data(), sel, h_sel.size() * 4, cudaMemcpyDeviceToHost));
  CK(cudaMemcpy(h_cnt.data(), cnt, rows * 4, cudaMemcpyDeviceToHost));
  const sb_host_kv hv = host_view(s);
  int rb[2], rh[2];
  sample_rows(s, rb, rh);
  bool ok = sb_check_selection_shape(a, h_sel, h_cnt, n, want);
  for (int i = 0; ok && i < 2; ++i) {
    const std::vector<double> fields = sb_row_fields(a, hv, pools, rb[i], rh[i]);
    const int row = rb[i] * HKV + rh[i];
    ok = sb_check_fields(a, hv, fields, rb[i], rh[i]) &&
         sb_check_topk(a, hv, fields, h_sel.data() + (size_t)row * n, h_cnt[row], rb[i], rh[i]);
  }
  /* The same pages packed `want` per row, for attn-compact and peers.py. */
  std::vector<int> compact((size_t)rows * want);
  for (int row = 0; ok && row < rows; ++row)
    std::copy(h_sel.begin() + (size_t)row * n, h_sel.begin() + (size_t)row * n + want, compact.begin() + (size_t)row * want);
  CK(cudaMemcpy(sel_c, compact.data(), compact.size() * 4, cudaMemcpyHostToDevice));
  std::vector<int> wants(rows, want);
  CK(cudaMemcpy(cnt_c, wants.data(), rows * 4, cudaMemcpyHostToDevice));

  for (void *p : {out, out_c, out_s}) CK(cudaMemsetAsync(p, 0xff, on * 2, t->stream));
  e_attn(t->stream);
  e_attn_c(t->stream);
  e_step(t->stream);
  CK(cudaStreamSynchronize(t->stream));
  const std::vector<uint16_t> h_out = sb_fetch16(out, on), h_out_c = sb_fetch16(out_c, on),
                              h_out_s = sb_fetch16(out_s, on);
  ok = ok && sb_all_finite("attn", h_out) && sb_all_finite("attn-compact", h_out_c) && sb_all_finite("step", h_out_s);
  /* The attention against f64: the sampled rows, or every row with
   * --check-all (for kernels whose rows can go wrong apart: a row's tiles
   * shared out between blocks). */
  std::vector<int> checked = {rb[0] * HKV + rh[0], rb[1] * HKV + rh[1]};
  if (o->check_all) {
    checked.clear();
    for (int row = 0; row < rows; ++row) checked.push_back(row);
  }
  for (size_t i = 0; ok && i < checked.size(); ++i) {
    const int row = checked[i], b = row / HKV, h = row % HKV;
    const std::vector<int> logical(h_sel.begin() + (size_t)row * n, h_sel.begin() + (size_t)row * n + want);
    ok = sb_check_attention("attn", hv, h_out, b, h, logical, scale) >= 0 &&
         sb_check_attention("attn-compact", hv, h_out_c, b, h, logical, scale) >= 0 &&
         sb_check_attention("step", hv, h_out_s, b, h, logical, scale) >= 0;
  }
  /* the step selects what index did: same pages, same output */
  ok = ok && sb_outputs_agree("step vs index + attn", h_out_s, h_out);

  /* calibration: the compact selection's K/V bytes read with no math (calib.cuh) */
  int gather_blocks = 0, sms = 0;
  CK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&gather_blocks, sb_gather_kernel<HKV, D, PS>, 256, 0));
  CK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, 0));
  auto e_gather = [&](cudaStream_t st) {
    sb_gather_kernel<HKV, D, PS><<<gather_blocks * sms, 256, 0, st>>>(
        (const uint4 *)s->k, (const uint4 *)s->v, s->indptr, s->indices, sel_c, want, rows, t->sink);
    CK(cudaGetLastError());
  };
  double t_index = 0, t_attn = 0, t_attn_c = 0, t_step = 0, t_gather = 0;
  if (ok) {
    t_index = sb_time_op(t, e_index);
    t_attn = sb_time_op(t, e_attn);
    t_attn_c = sb_time_op(t, e_attn_c);
    t_step = sb_time_op(t, e_step);
    t_gather = sb_time_op(t, e_gather);
    ok = sb_outputs_agree("attn after timing", sb_fetch16(out, on), h_out) &&
         sb_outputs_agree("attn-compact after timing", sb_fetch16(out_c, on), h_out_c) &&
         sb_outputs_agree("step after timing", sb_fetch16(out_s, on), h_out_s);
  }
  if (ok) {
    write_selection(o, a, s, compact, want);
    const double qb = (double)on * 2, pt = (double)s->batch * n * 4;
    const double summaries = (double)s->kv.num_pages * HKV * a.field_bytes_per_page();
    const double sel_kv = 2.0 * rows * want * PS * D * 2; /* every page is full */
    const double attn_bytes = sel_kv + (double)rows * want * 4 + 2 * qb; /* + selection ids, q, out */
    emit(r, a.name, "index+topk", s->batch, s->ctx, t_index, summaries + pt + qb + (double)rows * (want + 1) * 4, 0,
         t_step);
    emit(r, a.name, "attn", s->batch, s->ctx, t_attn, attn_bytes, dense_ms, 0);
    emit(r, a.name, "attn-compact", s->batch, s->ctx, t_attn_c, attn_bytes, dense_ms, 0);
    emit(r, a.name, "step", s->batch, s->ctx, t_step, summaries + pt + sel_kv + 2 * qb, dense_ms, 0);
    emit(r, a.name, "gather", s->batch, s->ctx, t_gather, attn_bytes, 0, 0);
    for (int active : o->gather_sms) {
      char name[32];
      snprintf(name, sizeof name, "gather@%d", active);
      emit(r, a.name, name, s->batch, s->ctx, time_gather_on_sms(t, s, sel_c, want, active), attn_bytes, 0, 0);
    }
  }
  for (int f = 0; f < a.num_fields; ++f) CK(cudaFree(pools[f]));
  for (void *p : {ws, out, out_c, out_s, (void *)sel, (void *)cnt, (void *)sel_c, (void *)cnt_c}) CK(cudaFree(p));
  return ok;
}

/* A comma-separated list of ints, each read by atoi. */
static std::vector<int> parse_ints(const char *s) {
  std::vector<int> v;
  for (const char *p = s; *p;) {
    v.push_back(atoi(p));
    while (*p && *p != ',') ++p;
    if (*p == ',') ++p;
  }
  return v;
}

static std::vector<std::string> parse_names(const char *s) {
  std::vector<std::string> v;
  std::string cur;
  for (const char *p = s;; ++p) {
    if (*p == ',' || !*p) {
      if (!cur.empty()) v.push_back(cur);
      cur.clear();
      if (!*p) break;
    } else {
      cur += *p;
    }
  }
  return v;
}

int main(int argc, char **argv) {
  opts o = {parse_ints("8192,32768,131072"), parse_ints("16,32,64"), parse_names("quest,block_topk"), 50, NULL, NULL, false,
            -1, false, {}};
  for (int i = 1; i < argc; ++i) {
    const bool more = i + 1 < argc;
    if (!strcmp(argv[i], "--contexts") && more) o.contexts = parse_ints(argv[++i]);
    else if (!strcmp(argv[i], "--batches") && more) o.batches = parse_ints(argv[++i]);
    else if (!strcmp(argv[i], "--algos") && more) o.algos = parse_names(argv[++i]);
    else if (!strcmp(argv[i], "--reps") && more) o.reps = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--json") && more) o.json_path = argv[++i];
    else if (!strcmp(argv[i], "--sel-dir") && more) o.sel_dir = argv[++i];
    else if (!strcmp(argv[i], "--no-dense")) o.no_dense = true;
    else if (!strcmp(argv[i], "--check-all")) o.check_all = true;
    else if (!strcmp(argv[i], "--gather-sms") && more) o.gather_sms = parse_ints(argv[++i]);
    else if (!strcmp(argv[i], "--flush-carveout") && more && parse_int_in(argv[i + 1], 0, 100, &o.flush_carveout)) ++i;
    else {
      fprintf(stderr, "usage: step_bench [--algos a,b] [--contexts c,..] [--batches b,..] [--reps N] [--json FILE] "
                      "[--sel-dir DIR] [--no-dense] [--flush-carveout PCT] [--check-all] [--gather-sms N,..]\n");
      return 2;
    }
  }
  std::vector<const sb_algo *> algos;
  for (const std::string &name : o.algos) {
    const sb_algo *found = NULL;
    for (int i = 0; i < sb_num_algos; ++i)
      if (name == sb_algos[i].name) found = &sb_algos[i];
    if (!found || found->head_dim != D || found->page_size != PS || found->group != HQ / HKV) {
      fprintf(stderr, "unknown algorithm or wrong geometry: %s (re-run bench/step/prepare.sh)\n", name.c_str());
      return 2;
    }
    algos.push_back(found);
  }
  cudaDeviceProp prop;
  if (!vx_device0(&prop)) return 77;
  for (int active : o.gather_sms)
    if (active < 1 || active > prop.multiProcessorCount) {
      fprintf(stderr, "--gather-sms: %d is not between 1 and the %d SMs\n", active, prop.multiProcessorCount);
      return 2;
    }
  sb_timer t;
  sb_timer_init(&t, prop.l2CacheSize, o.reps, o.flush_carveout);
  report r = {NULL, 1, sb_copy_gbs(&t)};
  printf("step_bench: %s, %d SMs, L2 %d MB; device copy %.0f GB/s (read+write); median of %d graph replays, L2 "
         "flushed before each",
         prop.name, prop.multiProcessorCount, prop.l2CacheSize >> 20, r.copy_gbs, o.reps);
  if (o.flush_carveout >= 0) printf(" (flush kernel's carveout %d%%)", o.flush_carveout);
  printf("\n");
  if (o.json_path && !(r.json = fopen(o.json_path, "w"))) {
    fprintf(stderr, "cannot write %s\n", o.json_path);
    return 2;
  }
  /* what one more kernel in a graph costs, whatever it does (calib.cuh) */
  const double empty_ms = sb_time_op(&t, [&](cudaStream_t st) {
    sb_empty_kernel<<<1, 32, 0, st>>>();
    CK(cudaGetLastError());
  });
  printf("step_bench: an empty kernel timed the same way: %.4f ms\n", empty_ms);
  if (r.json)
    fprintf(r.json,
            "{\"device\": \"%s\", \"copy_gbs\": %.1f, \"empty_kernel_ms\": %.5f, \"reps\": %d, \"flush_carveout\": %d, "
            "\"results\": [",
            prop.name, r.copy_gbs, empty_ms, o.reps, o.flush_carveout);
  vx_rng rng = {0x5eed1234ull};
  int failures = 0;
  for (int ctx : o.contexts)
    for (int batch : o.batches) {
      /* K + V + the largest summaries (quest: 1/8 of K) + slack */
      const double need = 2.0 * batch * ctx * HKV * D * 2 * 1.1 + (1 << 30);
      size_t free_b = 0, total_b = 0;
      CK(cudaMemGetInfo(&free_b, &total_b));
      if (need > (double)free_b) {
        printf("skip B=%d ctx=%d: needs %.1f GB, %.1f GB free\n", batch, ctx, need / 1e9, free_b / 1e9);
        continue;
      }
      shape s;
      shape_init(&s, batch, ctx, &rng);
      bool ok = true;
      const double dense_ms = o.no_dense ? 0 : bench_dense(&r, &t, &s, &ok);
      failures += !ok;
      for (const sb_algo *a : algos) failures += !bench_algo(&o, &r, &t, &s, *a, dense_ms);
      shape_free(&s);
    }
  if (r.json) {
    fprintf(r.json, "\n], \"check_failures\": %d}\n", failures);
    fclose(r.json);
  }
  sb_timer_free(&t);
  printf("step_bench: %s\n", failures ? "CHECKS FAILED (timings of failed ops not reported)" : "all checks passed");
  return failures ? 1 : 0;
}

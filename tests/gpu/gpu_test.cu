/* gpu_test.cu - libvortexrt kernels against CPU references on random paged
 * inputs. Exit 0: all passed; 1: a check failed; 2: setup error; 77: no GPU
 * (CTest SKIP_RETURN_CODE). --quick runs a small subset (for
 * compute-sanitizer, which slows kernels ~100x). --seed N changes inputs. */
#include <algorithm>
#include <vector>

#include "gpu_common.h"
#include "vx_decode_simt.cuh" /* the CUDA-core kernel, launched directly below */
#include "vx_mla_launch.cuh"   /* vx_mla_tmap_encode, checked directly below */
#include "vx_topk.cuh"         /* the 256-thread instances, launched directly below */

static int g_failures = 0;
static int g_checks = 0;

#define EXPECT(cond, ...)                                                                            \
  do {                                                                                               \
    ++g_checks;                                                                                      \
    if (!(cond)) {                                                                                   \
      ++g_failures;                                                                                  \
      fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                                           \
      fprintf(stderr, __VA_ARGS__);                                                                  \
      fputc('\n', stderr);                                                                           \
    }                                                                                                \
  } while (0)

/* ---------------------------------------------------------------- top-k */

static int b_format(int batch) { return batch & 1 ? VXRT_PAGES_CSR : VXRT_PAGES_BLOCK_TABLE; }

static uint32_t score_key(float s) {
  uint32_t u;
  memcpy(&u, &s, 4);
  if (s != s) return 0u;
  return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

/* The selection rule, written the slow obvious way (see vx_topk.cuh). */
static std::vector<int> topk_reference(const float *s, int n, int budget, int keep_first, int keep_last) {
  const int kf = std::min(keep_first, n), kl = std::min(keep_last, n - kf);
  std::vector<int> mid;
  for (int i = kf; i < n - kl; ++i) mid.push_back(i);
  std::sort(mid.begin(), mid.end(), [&](int a, int b) {
    const uint32_t ka = score_key(s[a]), kb = score_key(s[b]);
    return ka != kb ? ka > kb : a < b;
  });
  const int k = std::min(budget, (int)mid.size());
  std::vector<int> out;
  for (int i = 0; i < kf; ++i) out.push_back(i);
  for (int i = 0; i < k; ++i) out.push_back(mid[i]);
  for (int i = n - kl; i < n; ++i) out.push_back(i);
  std::sort(out.begin(), out.end());
  return out;
}

static float random_score(vx_rng *r, int style) {
  const double u = rng_unit(r);
  switch (style) {
  case 0: return rng_normal(r);
  case 1: return (float)rng_int(r, 0, 7); /* heavy ties */
  case 2: /* ties, NaN, infinities, signed zeros */
    if (u < 0.05) return NAN;
    if (u < 0.08) return -INFINITY;
    if (u < 0.10) return INFINITY;
    if (u < 0.15) return -0.0f;
    if (u < 0.20) return 0.0f;
    return (float)rng_int(r, -3, 3) * 0.5f;
  default: return 1.0f; /* all equal: pure index tie-break */
  }
}

/* The selection in a block of THREADS (libvortexrt's select kernels use
 * 512; generated index kernels of two blocks an SM, 256), row n_rows[row]
 * pages long: threshold_mode selects by `threshold`, else the top `budget`. */
template <int THREADS>
static __global__ void __launch_bounds__(THREADS) topk_block_kernel(const float *scores, int stride, const int *n_rows,
                                                                    int budget, float threshold, int threshold_mode,
                                                                    int keep_first, int keep_last, int *sel, int max_sel,
                                                                    int *cnt) {
  __shared__ vx_topk_smem sm;
  const int row = blockIdx.x;
  const float *s = scores + (long long)row * stride;
  int *out = sel + (long long)row * max_sel;
  if (threshold_mode)
    vx_threshold_row<THREADS>(s, n_rows[row], threshold, keep_first, keep_last, out, max_sel, cnt + row, sm);
  else
    vx_topk_row<THREADS>(s, n_rows[row], budget, keep_first, keep_last, out, max_sel, cnt + row, sm);
}

static void test_topk_case(vx_rng *r, int batch, int kv_heads, int max_pages, int budget, int keep_first, int keep_last,
                           int style, int threshold_mode) {
  std::vector<int32_t> lens(batch);
  for (int b = 0; b < batch; ++b) {
    const int pages = b == 0 ? max_pages : rng_int(r, 0, max_pages);
    lens[b] = pages * 16 - (pages > 0 ? rng_int(r, 0, 15) : 0);
  }
  paged_case c;
  paged_case_init(&c, r, b_format(batch), VXRT_LAYOUT_NHD, VXRT_DTYPE_BF16, batch, kv_heads, 64, 16, lens.data(), 0, 0);
  const int rows = batch * kv_heads, stride = c.max_pages;
  std::vector<float> scores((size_t)rows * stride);
  for (auto &x : scores) x = random_score(r, style);
  const int max_sel = threshold_mode ? stride : std::min(budget + keep_first + keep_last, stride);
  float *d_scores;
  int32_t *d_sel, *d_cnt;
  CK(cudaMalloc(&d_scores, scores.size() * 4));
  CK(cudaMalloc(&d_sel, (size_t)rows * max_sel * 4));
  CK(cudaMalloc(&d_cnt, rows * 4));
  CK(cudaMemcpy(d_scores, scores.data(), scores.size() * 4, cudaMemcpyHostToDevice));
  CK(cudaMemset(d_sel, 0xff, (size_t)rows * max_sel * 4));
  CK(cudaMemset(d_cnt, 0xff, rows * 4));
  char err[512];
  const float thr = 0.25f;
  vxrt_status st = threshold_mode
                       ? vxrt_threshold_select(&c.kv, d_scores, stride, thr, keep_first, keep_last, d_sel, max_sel, d_cnt,
                                               0, err, sizeof err)
                       : vxrt_topk_select(&c.kv, d_scores, stride, budget, keep_first, keep_last, d_sel, max_sel, d_cnt, 0,
                                          err, sizeof err);
  EXPECT(st == VXRT_SUCCESS, "select launch: %s", err);
  CK(cudaDeviceSynchronize());
  std::vector<int> refs_n(rows);
  std::vector<std::vector<int>> refs(rows);
  for (int row = 0; row < rows; ++row) {
    const int n = refs_n[row] = c.npages[row / kv_heads];
    const float *s = &scores[(size_t)row * stride];
    if (threshold_mode) {
      const int kf = std::min(keep_first, n), kl = std::min(keep_last, n - kf);
      for (int i = 0; i < n; ++i)
        if (i < kf || i >= n - kl || s[i] >= thr) refs[row].push_back(i);
    } else {
      refs[row] = topk_reference(s, n, budget, keep_first, keep_last);
    }
  }
  auto check = [&](const char *who) { /* d_sel / d_cnt against refs */
    std::vector<int32_t> sel((size_t)rows * max_sel), cnt(rows);
    CK(cudaMemcpy(sel.data(), d_sel, sel.size() * 4, cudaMemcpyDeviceToHost));
    CK(cudaMemcpy(cnt.data(), d_cnt, rows * 4, cudaMemcpyDeviceToHost));
    int bad_rows = 0;
    for (int row = 0; row < rows; ++row) {
      const std::vector<int> &ref = refs[row];
      bool same = cnt[row] == (int)ref.size();
      for (int i = 0; same && i < (int)ref.size(); ++i) same = sel[(size_t)row * max_sel + i] == ref[i];
      if (!same && bad_rows++ < 3)
        fprintf(stderr, "  %s row %d n=%d budget=%d: count %d want %zu\n", who, row, refs_n[row], budget, cnt[row],
                ref.size());
    }
    EXPECT(bad_rows == 0, "%s %s: %d of %d rows differ (max_pages %d, budget %d, keep %d/%d, style %d)", who,
           threshold_mode ? "threshold" : "top-k", bad_rows, rows, max_pages, budget, keep_first, keep_last, style);
  };
  check("libvortexrt");
  /* The same rows in 256-thread blocks (other register slots per page count). */
  int *d_n;
  CK(cudaMalloc(&d_n, rows * 4));
  CK(cudaMemcpy(d_n, refs_n.data(), rows * 4, cudaMemcpyHostToDevice));
  CK(cudaMemset(d_sel, 0xff, (size_t)rows * max_sel * 4));
  CK(cudaMemset(d_cnt, 0xff, rows * 4));
  topk_block_kernel<256><<<rows, 256>>>(d_scores, stride, d_n, budget, thr, threshold_mode, keep_first, keep_last, d_sel,
                                        max_sel, d_cnt);
  CK(cudaGetLastError());
  CK(cudaDeviceSynchronize());
  check("256-thread block");
  CK(cudaFree(d_n));
  CK(cudaFree(d_scores));
  CK(cudaFree(d_sel));
  CK(cudaFree(d_cnt));
  paged_case_free(&c);
}

/* ------------------------------------------------------------ attention */

typedef struct attn_cfg {
  int format, layout, dtype, batch, kv_heads, group, head_dim, page_size, max_len;
  int sparse; /* 0 dense; 1 random selection; 2 selection with out-of-range entries */
  int hint_div; /* dense: pass max_pages / hint_div as the hint (overflow path) */
  int simt;     /* 1: launch the CUDA-core vx_decode_partial_kernel directly, not libvortexrt */
} attn_cfg;

/* The library launches the tensor-core kernel; generated code may use the
 * portable CUDA-core one, so it is checked here through its own plan. */
static vxrt_status launch_simt(const vxrt_paged_kv *kv, const void *q, void *out, int qo, float scale, const int32_t *sel,
                               const int32_t *cnt, int max_pages, void *ws, size_t ws_bytes) {
  static_assert(sizeof(vx_paged_kv) == sizeof(vxrt_paged_kv), "descriptor layouts differ");
  if (kv->dtype != VXRT_DTYPE_BF16 || kv->head_dim != 128 || qo / kv->num_kv_heads != 4) return VXRT_ERROR_UNSUPPORTED;
  vx_decode_args a;
  memset(&a, 0, sizeof a);
  memcpy(&a.kv, kv, sizeof a.kv);
  const long long rows = (long long)kv->batch * kv->num_kv_heads;
  const vx_decode_plan p = vx_make_decode_plan(rows, max_pages, 0);
  if (vx_decode_workspace_bytes(rows, 4, 128, p.num_chunks) > ws_bytes) return VXRT_ERROR_WORKSPACE_TOO_SMALL;
  const unsigned long long slots = (unsigned long long)rows * p.num_chunks * 4;
  a.q = q;
  a.out = out;
  a.sel_pages = sel;
  a.sel_count = cnt;
  a.max_sel = sel ? max_pages : 0;
  a.num_qo_heads = qo;
  a.sm_scale = scale;
  a.num_chunks = p.num_chunks;
  a.chunk_pages = p.chunk_pages;
  a.ws_o = (float *)ws;
  a.ws_lse = (float *)((char *)ws + ((slots * 128 * 4 + 255) & ~255ull));
  constexpr int smem = vx_decode_smem_bytes<128, 4>();
  CK(cudaFuncSetAttribute(vx_decode_partial_kernel<__nv_bfloat16, 128, 4>, cudaFuncAttributeMaxDynamicSharedMemorySize, smem));
  vx_decode_partial_kernel<__nv_bfloat16, 128, 4><<<(unsigned)(rows * p.num_chunks), VX_DECODE_THREADS, smem>>>(a);
  vx_decode_merge_kernel<__nv_bfloat16, 128><<<(unsigned)(kv->batch * qo), 128>>>(a, 4);
  return cudaGetLastError() == cudaSuccess ? VXRT_SUCCESS : VXRT_ERROR_CUDA;
}

/* float64 attention of one row over the listed logical pages. */
static void attend_reference(const paged_case *c, const std::vector<float> &q, int num_qo, int b, int h, int group,
                             const int *pages, int npages, float scale, double *out /* [group][D] */) {
  const vxrt_paged_kv *kv = &c->kv_h;
  const int D = kv->head_dim, ps = kv->page_size, dt = kv->dtype;
  std::vector<double> logits;
  std::vector<size_t> rows;
  for (int i = 0; i < npages; ++i) {
    const int j = pages[i];
    if (j < 0 || j >= c->npages[b]) continue; /* the kernel skips these too */
    const int valid = j < c->npages[b] - 1 ? ps : c->lens[b] - j * ps;
    const int p = c->phys[(size_t)b * c->max_pages + j];
    for (int t = 0; t < valid; ++t)
      rows.push_back((size_t)p * kv->stride_page + (size_t)t * kv->stride_token + (size_t)h * kv->stride_head);
  }
  for (int g = 0; g < group; ++g) {
    const float *qv = &q[((size_t)b * num_qo + (size_t)h * group + g) * D];
    double mx = -INFINITY;
    logits.assign(rows.size(), 0.0);
    for (size_t t = 0; t < rows.size(); ++t) {
      double s = 0;
      for (int d = 0; d < D; ++d) s += (double)qv[d] * bits_to_f32(c->k_h[rows[t] + d], dt);
      logits[t] = s * scale;
      mx = std::max(mx, logits[t]);
    }
    double l = 0;
    for (double &x : logits) l += (x = exp(x - mx));
    for (int d = 0; d < D; ++d) {
      double o = 0;
      for (size_t t = 0; t < rows.size(); ++t) o += logits[t] * bits_to_f32(c->v_h[rows[t] + d], dt);
      out[(size_t)g * D + d] = rows.empty() ? 0.0 : o / l;
    }
  }
}

/* ||out - ref|| / ||ref|| plus a count of non-finite outputs. */
static double rel_error(const std::vector<uint16_t> &out, const std::vector<double> &ref, int dtype, int *nonfinite) {
  double num = 0, den = 0;
  *nonfinite = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    const double o = bits_to_f32(out[i], dtype);
    if (!std::isfinite(o)) {
      ++*nonfinite;
      continue;
    }
    num += (o - ref[i]) * (o - ref[i]);
    den += ref[i] * ref[i];
  }
  return den > 0 ? sqrt(num / den) : sqrt(num);
}

/* Random selection per row: sorted distinct logical pages; edge rows get
 * none or all. mode 2 sprinkles invalid ids the kernel must skip. */
static void random_selection(vx_rng *r, const paged_case *c, int kv_heads, int max_sel, int mode, std::vector<int32_t> &sel,
                             std::vector<int32_t> &cnt) {
  const int rows = c->kv_h.batch * kv_heads;
  sel.assign((size_t)rows * max_sel, -1);
  cnt.assign(rows, 0);
  for (int row = 0; row < rows; ++row) {
    const int n = c->npages[row / kv_heads];
    int k = rng_int(r, 0, std::min(n, max_sel));
    if (row == 1) k = 0;
    if (row == 2) k = std::min(n, max_sel);
    std::vector<int32_t> all(n);
    for (int i = 0; i < n; ++i) all[i] = i;
    rng_shuffle(r, all.data(), n);
    std::sort(all.begin(), all.begin() + k);
    for (int i = 0; i < k; ++i) sel[(size_t)row * max_sel + i] = all[i];
    if (mode == 2 && k > 0) sel[(size_t)row * max_sel + rng_int(r, 0, k - 1)] = rng_int(r, 0, 1) ? -5 : n + 7;
    cnt[row] = k;
  }
}

static void test_attention(vx_rng *r, const attn_cfg *cfg) {
  const int B = cfg->batch, H = cfg->kv_heads, G = cfg->group, D = cfg->head_dim, QO = H * G;
  std::vector<int32_t> lens(B);
  for (int b = 0; b < B; ++b) {
    lens[b] = rng_int(r, 1, cfg->max_len);
    if (b == 0) lens[b] = 1;                     /* one token */
    if (b == 1 && B > 2) lens[b] = cfg->max_len; /* longest */
    if (b == 2 && B > 3) lens[b] = cfg->page_size; /* exactly one full page */
  }
  paged_case c;
  paged_case_init(&c, r, cfg->format, cfg->layout, cfg->dtype, B, H, D, cfg->page_size, lens.data(), 7, 1);
  char err[512];
  EXPECT(vxrt_validate_paged_kv(&c.kv_h, VXRT_CHECK_ARRAYS, err, sizeof err) == VXRT_SUCCESS, "validate: %s", err);

  std::vector<float> q((size_t)B * QO * D);
  std::vector<uint16_t> q_bits(q.size());
  for (size_t i = 0; i < q.size(); ++i) {
    q_bits[i] = f32_to_bits(rng_normal(r), cfg->dtype);
    q[i] = bits_to_f32(q_bits[i], cfg->dtype);
  }
  const float scale = 1.0f / sqrtf((float)D);
  const int rows = B * H;
  std::vector<int32_t> sel, cnt;
  int max_sel = 0;
  if (cfg->sparse) {
    max_sel = std::max(1, c.max_pages / 2 + 1);
    random_selection(r, &c, H, max_sel, cfg->sparse, sel, cnt);
  }
  const int hint = cfg->sparse ? max_sel : std::max(1, c.max_pages / cfg->hint_div);
  const size_t ws_bytes = vxrt_decode_workspace_size(B, QO, H, D, hint);
  void *d_q, *d_out, *d_ws;
  int32_t *d_sel = NULL, *d_cnt = NULL;
  CK(cudaMalloc(&d_q, q_bits.size() * 2));
  CK(cudaMalloc(&d_out, q_bits.size() * 2));
  CK(cudaMalloc(&d_ws, ws_bytes));
  CK(cudaMemcpy(d_q, q_bits.data(), q_bits.size() * 2, cudaMemcpyHostToDevice));
  CK(cudaMemset(d_out, 0xff, q_bits.size() * 2)); /* poison: NaN in both formats */
  CK(cudaMemset(d_ws, 0xff, ws_bytes));
  vxrt_status st;
  if (cfg->sparse) {
    CK(cudaMalloc(&d_sel, sel.size() * 4));
    CK(cudaMalloc(&d_cnt, cnt.size() * 4));
    CK(cudaMemcpy(d_sel, sel.data(), sel.size() * 4, cudaMemcpyHostToDevice));
    CK(cudaMemcpy(d_cnt, cnt.data(), cnt.size() * 4, cudaMemcpyHostToDevice));
    st = cfg->simt ? launch_simt(&c.kv, d_q, d_out, QO, scale, d_sel, d_cnt, max_sel, d_ws, ws_bytes)
                   : vxrt_sparse_decode(&c.kv, d_q, d_out, QO, scale, d_sel, d_cnt, max_sel, d_ws, ws_bytes, 0, err,
                                        sizeof err);
  } else if (cfg->simt) {
    st = launch_simt(&c.kv, d_q, d_out, QO, scale, NULL, NULL, hint, d_ws, ws_bytes);
  } else {
    st = vxrt_dense_decode(&c.kv, d_q, d_out, QO, scale, hint, d_ws, ws_bytes, 0, err, sizeof err);
  }
  EXPECT(st == VXRT_SUCCESS, "decode launch: %s", err);
  CK(cudaDeviceSynchronize());
  std::vector<uint16_t> out(q_bits.size());
  CK(cudaMemcpy(out.data(), d_out, out.size() * 2, cudaMemcpyDeviceToHost));

  std::vector<double> ref(out.size());
  std::vector<int> all_pages(c.max_pages);
  for (int i = 0; i < c.max_pages; ++i) all_pages[i] = i;
  for (int row = 0; row < rows; ++row) {
    const int b = row / H, h = row % H;
    const int *pages = cfg->sparse ? &sel[(size_t)row * max_sel] : all_pages.data();
    const int np = cfg->sparse ? cnt[row] : c.npages[b];
    attend_reference(&c, q, QO, b, h, G, pages, np, scale, &ref[((size_t)b * QO + (size_t)h * G) * D]);
  }
  int nonfinite = 0;
  const double err_rel = rel_error(out, ref, cfg->dtype, &nonfinite);
  const double tol = cfg->dtype == VXRT_DTYPE_BF16 ? 1e-2 : 2e-3;
  printf("  %-6s %s %s %s B=%d H=%d G=%d D=%d P=%d maxlen=%d: rel err %.2e%s%s\n",
         cfg->sparse ? (cfg->sparse == 2 ? "sparse*" : "sparse") : "dense", cfg->format ? "bt " : "csr",
         cfg->layout ? "HND" : "NHD", cfg->dtype ? "f16 " : "bf16", B, H, G, D, cfg->page_size, cfg->max_len, err_rel,
         cfg->hint_div > 1 ? " (low hint)" : "", cfg->simt ? " [CUDA-core kernel]" : "");
  EXPECT(nonfinite == 0, "%d outputs are NaN/inf (unwritten or read padding)", nonfinite);
  EXPECT(err_rel < tol, "relative error %.3e >= %.1e", err_rel, tol);
  CK(cudaFree(d_q));
  CK(cudaFree(d_out));
  CK(cudaFree(d_ws));
  if (d_sel) CK(cudaFree(d_sel));
  if (d_cnt) CK(cudaFree(d_cnt));
  paged_case_free(&c);
}

/* ------------------------------------------------------------------ MLA */

static void test_mla(vx_rng *r, int batch, int heads, int max_len, int sparse, int dtype, int PS = 64) {
  const int DC = 512, DR = 64, D = DC + DR;
  std::vector<int32_t> lens(batch);
  for (int b = 0; b < batch; ++b) lens[b] = b == 0 ? 1 : rng_int(r, 1, max_len);
  paged_case c;
  paged_case_init(&c, r, VXRT_PAGES_BLOCK_TABLE, VXRT_LAYOUT_NHD, dtype, batch, 1, D, PS, lens.data(), 3, 1);
  /* One latent cache: V is the first dc values of the same rows. */
  c.kv.v_pool = c.kv.k_pool;
  memcpy(c.v_h, c.k_h, (size_t)c.kv_h.num_pages * PS * D * 2);
  std::vector<float> q((size_t)batch * heads * D);
  std::vector<uint16_t> qb(q.size());
  for (size_t i = 0; i < q.size(); ++i) {
    qb[i] = f32_to_bits(rng_normal(r) * 0.3f, dtype);
    q[i] = bits_to_f32(qb[i], dtype);
  }
  std::vector<int32_t> sel, cnt;
  int max_rows = c.max_pages;
  if (sparse) {
    max_rows = std::max(1, c.max_pages / 2 + 1);
    random_selection(r, &c, 1, max_rows, 1, sel, cnt);
  }
  const float scale = 1.0f / sqrtf(192.0f); /* GLM/DeepSeek: qk_nope + rope head dim */
  const size_t ws = vxrt_mla_workspace_size(batch, heads, DC, max_rows);
  void *d_q, *d_out, *d_ws;
  int32_t *d_sel = NULL, *d_cnt = NULL;
  const size_t out_n = (size_t)batch * heads * DC;
  CK(cudaMalloc(&d_q, qb.size() * 2));
  CK(cudaMalloc(&d_out, out_n * 2));
  CK(cudaMalloc(&d_ws, ws));
  CK(cudaMemcpy(d_q, qb.data(), qb.size() * 2, cudaMemcpyHostToDevice));
  CK(cudaMemset(d_out, 0xff, out_n * 2));
  if (sparse) {
    CK(cudaMalloc(&d_sel, sel.size() * 4));
    CK(cudaMalloc(&d_cnt, cnt.size() * 4));
    CK(cudaMemcpy(d_sel, sel.data(), sel.size() * 4, cudaMemcpyHostToDevice));
    CK(cudaMemcpy(d_cnt, cnt.data(), cnt.size() * 4, cudaMemcpyHostToDevice));
  }
  char err[512];
  vxrt_status st = vxrt_mla_decode(&c.kv, DC, d_q, d_out, heads, scale, d_sel, d_cnt, max_rows, d_ws, ws, 0, err, sizeof err);
  EXPECT(st == VXRT_SUCCESS, "MLA launch: %s", err);
  CK(cudaDeviceSynchronize());
  std::vector<uint16_t> out(out_n);
  CK(cudaMemcpy(out.data(), d_out, out_n * 2, cudaMemcpyDeviceToHost));
  /* Reference: MLA is GQA with one kv head, group = heads, K = latent and
   * V = the latent's first dc values. */
  std::vector<double> ref(out_n), tmp((size_t)heads * D);
  std::vector<int> all(c.max_pages);
  for (int i = 0; i < c.max_pages; ++i) all[i] = i;
  for (int b = 0; b < batch; ++b) {
    attend_reference(&c, q, heads, b, 0, heads, sparse ? &sel[(size_t)b * max_rows] : all.data(),
                     sparse ? cnt[b] : c.npages[b], scale, tmp.data());
    for (int h = 0; h < heads; ++h)
      for (int d = 0; d < DC; ++d) ref[((size_t)b * heads + h) * DC + d] = tmp[(size_t)h * D + d];
  }
  int nonfinite = 0;
  const double e = rel_error(out, ref, dtype, &nonfinite);
  printf("  MLA %s %s B=%d heads=%d 512+64 P=%d maxlen=%d: rel err %.2e\n", sparse ? "sparse" : "dense ",
         dtype ? "f16 " : "bf16", batch, heads, PS, max_len, e);
  EXPECT(nonfinite == 0, "MLA: %d non-finite outputs", nonfinite);
  EXPECT(e < (dtype == VXRT_DTYPE_BF16 ? 1e-2 : 2e-3), "MLA relative error %.3e", e);
  CK(cudaFree(d_q));
  CK(cudaFree(d_out));
  CK(cudaFree(d_ws));
  if (d_sel) CK(cudaFree(d_sel));
  if (d_cnt) CK(cudaFree(d_cnt));
  paged_case_free(&c);
}

/* The wgmma MLA kernel copies tiles by TMA when the latent pool has a
 * tensor map. On sm_90 one must be encoded for the layouts engines use
 * (else every launch would fall back to cp.async unnoticed: the outputs
 * are the same), and layouts TMA cannot express must be refused. */
static void test_mla_tensor_map() {
  int major, minor;
  vx_device_cc(&major, &minor);
  if (major != 9 || minor != 0) {
    printf("  MLA tensor map: SKIPPED (compute capability %d.%d, not 9.0: no TMA path)\n", major, minor);
    return;
  }
  const int D = 576;
  void *pool;
  CK(cudaMalloc(&pool, (size_t)4 * 64 * D * 2 + 256));
  vx_paged_kv kv;
  memset(&kv, 0, sizeof kv);
  kv.dtype = VX_DTYPE_BF16;
  kv.num_kv_heads = 1;
  kv.head_dim = D;
  kv.num_pages = 4;
  kv.k_pool = kv.v_pool = pool;
  kv.stride_token = D;
  vx_tmap map;
  const int ok_sizes[] = {16, 32, 64, 128};
  for (int ps : ok_sizes) {
    kv.page_size = ps;
    kv.stride_page = (long long)ps * D;
    EXPECT(vx_mla_tmap_encode(&map, kv, D), "MLA tensor map refused for page size %d", ps);
  }
  const int refused_sizes[] = {1, 8, 48, 96};
  for (int ps : refused_sizes) {
    kv.page_size = ps;
    kv.stride_page = (long long)ps * D;
    EXPECT(!vx_mla_tmap_encode(&map, kv, D), "MLA tensor map accepted page size %d", ps);
  }
  kv.page_size = 64;
  kv.stride_page = 64LL * D;
  kv.k_pool = static_cast<char *>(pool) + 2;
  EXPECT(!vx_mla_tmap_encode(&map, kv, D), "MLA tensor map accepted a pool 2 bytes off 16-byte alignment");
  kv.k_pool = pool;
  kv.stride_token = D + 4; /* 1160 bytes: not a multiple of 16 */
  EXPECT(!vx_mla_tmap_encode(&map, kv, D), "MLA tensor map accepted a token stride of 1160 bytes");
  printf("  MLA tensor map: pages of 16-128 tokens encoded, 1/8/48/96 and misaligned layouts refused\n");
  CK(cudaFree(pool));
}

/* ------------------------------------------------------ graph capture */

/* top-k + sparse decode captured in a CUDA graph and replayed must equal
 * the eager result bit for bit (same kernels, same inputs). */
static void test_graph_capture(vx_rng *r) {
  const int failures_before = g_failures;
  const int B = 6, H = 4, G = 4, D = 128, PS = 16, QO = H * G, budget = 20;
  std::vector<int32_t> lens(B);
  for (int b = 0; b < B; ++b) lens[b] = rng_int(r, 1, 4000);
  paged_case c;
  paged_case_init(&c, r, VXRT_PAGES_CSR, VXRT_LAYOUT_NHD, VXRT_DTYPE_BF16, B, H, D, PS, lens.data(), 5, 1);
  const int rows = B * H, stride = c.max_pages, max_sel = budget + 3;
  std::vector<float> scores((size_t)rows * stride);
  for (auto &x : scores) x = rng_normal(r);
  std::vector<uint16_t> qb((size_t)B * QO * D);
  for (auto &x : qb) x = f32_to_bits(rng_normal(r), VXRT_DTYPE_BF16);
  const size_t ws = vxrt_decode_workspace_size(B, QO, H, D, max_sel);
  float *d_scores;
  int32_t *d_sel, *d_cnt;
  void *d_q, *d_out, *d_ws;
  CK(cudaMalloc(&d_scores, scores.size() * 4));
  CK(cudaMalloc(&d_sel, (size_t)rows * max_sel * 4));
  CK(cudaMalloc(&d_cnt, rows * 4));
  CK(cudaMalloc(&d_q, qb.size() * 2));
  CK(cudaMalloc(&d_out, qb.size() * 2));
  CK(cudaMalloc(&d_ws, ws));
  CK(cudaMemcpy(d_scores, scores.data(), scores.size() * 4, cudaMemcpyHostToDevice));
  CK(cudaMemcpy(d_q, qb.data(), qb.size() * 2, cudaMemcpyHostToDevice));
  cudaStream_t s;
  CK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
  char err[512];
  const float scale = 0.088f;
  auto step = [&]() {
    CKRT(vxrt_topk_select(&c.kv, d_scores, stride, budget, 1, 2, d_sel, max_sel, d_cnt, s, err, sizeof err));
    CKRT(vxrt_sparse_decode(&c.kv, d_q, d_out, QO, scale, d_sel, d_cnt, max_sel, d_ws, ws, s, err, sizeof err));
  };
  CK(cudaMemsetAsync(d_out, 0xff, qb.size() * 2, s));
  step();
  std::vector<uint16_t> eager(qb.size()), replay(qb.size());
  CK(cudaStreamSynchronize(s));
  CK(cudaMemcpy(eager.data(), d_out, eager.size() * 2, cudaMemcpyDeviceToHost));

  cudaGraph_t graph;
  cudaGraphExec_t exec;
  CK(cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal));
  step();
  CK(cudaStreamEndCapture(s, &graph));
  CK(cudaGraphInstantiate(&exec, graph, 0));
  for (int rep = 0; rep < 3; ++rep) {
    CK(cudaMemsetAsync(d_out, 0xff, qb.size() * 2, s));
    CK(cudaMemsetAsync(d_sel, 0xff, (size_t)rows * max_sel * 4, s));
    CK(cudaGraphLaunch(exec, s));
    CK(cudaStreamSynchronize(s));
    CK(cudaMemcpy(replay.data(), d_out, replay.size() * 2, cudaMemcpyDeviceToHost));
    EXPECT(memcmp(eager.data(), replay.data(), eager.size() * 2) == 0, "graph replay %d differs from eager", rep);
  }
  int nonfinite = 0;
  std::vector<double> zeros(eager.size(), 0.0);
  (void)rel_error(eager, zeros, VXRT_DTYPE_BF16, &nonfinite);
  EXPECT(nonfinite == 0, "graph test: %d unwritten outputs", nonfinite);
  printf("  graph capture + 3 replays of top-k + sparse decode: %s\n", g_failures > failures_before ? "MISMATCH" : "bitwise equal");
  CK(cudaGraphExecDestroy(exec));
  CK(cudaGraphDestroy(graph));
  CK(cudaStreamDestroy(s));
  CK(cudaFree(d_scores));
  CK(cudaFree(d_sel));
  CK(cudaFree(d_cnt));
  CK(cudaFree(d_q));
  CK(cudaFree(d_out));
  CK(cudaFree(d_ws));
  paged_case_free(&c);
}

/* ------------------------------------------------------------- NVRTC */

/* Compile a kernel that uses the device headers through the loader, launch
 * it through the returned handle, and load it again from the disk cache. */
static void test_nvrtc_loader(void) {
  char dir[] = "/tmp/vx-gpu-cache-XXXXXX";
  if (!mkdtemp(dir)) {
    EXPECT(0, "mkdtemp failed");
    return;
  }
  const char *src = "#include \"vx_topk.cuh\"\n"
                    "extern \"C\" __global__ void vx_probe(unsigned *o, float x) {\n"
                    "  o[threadIdx.x] = vx_score_key(x * (float)threadIdx.x);\n"
                    "}\n";
  unsigned *d_o;
  CK(cudaMalloc(&d_o, 32 * 4));
  char err[4096];
  for (int round = 0; round < 2; ++round) {
    vxrt_module *m = NULL;
    vxrt_status st = vxrt_module_load_source(src, NULL, 0, dir, &m, err, sizeof err);
    EXPECT(st == VXRT_SUCCESS, "load round %d: %s", round, err);
    if (st != VXRT_SUCCESS) break;
    EXPECT(vxrt_module_from_cache(m) == round, "round %d: from_cache = %d", round, vxrt_module_from_cache(m));
    cudaKernel_t k;
    st = vxrt_module_get_function(m, "vx_probe", &k, err, sizeof err);
    EXPECT(st == VXRT_SUCCESS, "get_function: %s", err);
    EXPECT(vxrt_module_get_function(m, "missing", &k, err, sizeof err) == VXRT_ERROR_NOT_FOUND, "missing kernel found");
    CK(vxrt_module_get_function(m, "vx_probe", &k, err, sizeof err) == VXRT_SUCCESS ? cudaSuccess : cudaErrorUnknown);
    CK(cudaMemset(d_o, 0xff, 32 * 4));
    float x = -1.5f;
    void *args[] = {&d_o, &x};
    CK(cudaLaunchKernel((const void *)k, dim3(1), dim3(32), args, 0, 0));
    CK(cudaDeviceSynchronize());
    unsigned o[32];
    CK(cudaMemcpy(o, d_o, sizeof o, cudaMemcpyDeviceToHost));
    int bad = 0;
    for (int i = 0; i < 32; ++i) bad += o[i] != score_key(x * (float)i);
    EXPECT(bad == 0, "NVRTC probe: %d wrong outputs", bad);
    vxrt_module_unload(m);
  }
  printf("  NVRTC load + launch + cached reload: %s\n", g_failures ? "see failures" : "ok");
  CK(cudaFree(d_o));
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  EXPECT(system(cmd) == 0, "cleanup");
}

int main(int argc, char **argv) {
  int quick = 0, mla_only = 0;
  uint64_t seed = 0x5eed;
  for (int i = 1; i < argc; ++i) {
    if (!strcmp(argv[i], "--quick")) quick = 1;
    else if (!strcmp(argv[i], "--mla-only")) mla_only = 1; /* MLA sections only (kernel work, sanitizers) */
    else if (!strcmp(argv[i], "--seed") && i + 1 < argc) seed = strtoull(argv[++i], NULL, 0);
  }
  cudaDeviceProp prop;
  if (!vx_device0(&prop)) return 77;
  printf("device: %s (sm_%d%d), seed %llu%s\n", prop.name, prop.major, prop.minor, (unsigned long long)seed,
         quick ? ", quick" : "");
  vx_rng r = {seed | 1};
  if (!mla_only) {
    printf("top-k / threshold select:\n");
    /* (batch, kv_heads, max_pages, budget, keep_first, keep_last, style, threshold) */
    test_topk_case(&r, 5, 2, 40, 8, 1, 2, 0, 0);
    test_topk_case(&r, 4, 3, 30, 30, 1, 1, 1, 0);  /* budget at/above page counts */
    test_topk_case(&r, 3, 2, 50, 100, 0, 0, 2, 0);
    test_topk_case(&r, 7, 1, 300, 0, 2, 2, 2, 0);  /* budget 0: only kept pages */
    test_topk_case(&r, 3, 2, 64, 5, 40, 40, 0, 0); /* keeps cover everything */
    test_topk_case(&r, 4, 2, 200, 17, 1, 2, 3, 0); /* all ties */
    test_topk_case(&r, 3, 2, 120, 0, 1, 2, 2, 1);  /* threshold */
    /* row 0 one page past the short (512) and the middle (2048) instances
     * of vx_topk_row (1 and 4 slots in 512-thread blocks, 2 and 8 in
     * 256-thread ones), the other rows shorter (any instance below) */
    test_topk_case(&r, 4, 2, 513, 125, 1, 2, 0, 0);
    test_topk_case(&r, 3, 2, 2049, 125, 1, 2, 1, 0);
    if (!quick) {
      test_topk_case(&r, 3, 4, 2048, 128, 1, 2, 0, 0);
      test_topk_case(&r, 2, 2, 65536, 4096, 1, 2, 2, 0);
      test_topk_case(&r, 2, 2, 65536, 4096, 1, 2, 1, 0);
      test_topk_case(&r, 2, 1, 9000, 4096, 1, 2, 3, 0);
      test_topk_case(&r, 5, 2, 3000, 1, 0, 0, 0, 0);
      /* rows held in registers (<= 8192 pages) whose later radix passes run
       * over a shared-memory candidate list, or overflow it (ties) */
      test_topk_case(&r, 3, 2, 8192, 128, 1, 2, 0, 0);
      test_topk_case(&r, 2, 2, 8192, 128, 1, 2, 1, 0);
      test_topk_case(&r, 2, 2, 8192, 2000, 0, 1, 2, 0);
      test_topk_case(&r, 2, 1, 8192, 128, 1, 1, 3, 0);
      test_topk_case(&r, 4, 2, 1500, 700, 1, 2, 0, 0);
    }

    printf("paged decode attention:\n");
    std::vector<attn_cfg> cfgs;
    /* format, layout, dtype, batch, kv_heads, group, head_dim, page, max_len, sparse, hint_div */
    cfgs.push_back({VXRT_PAGES_CSR, VXRT_LAYOUT_NHD, VXRT_DTYPE_BF16, 5, 2, 4, 128, 16, 700, 0, 1});
    cfgs.push_back({VXRT_PAGES_BLOCK_TABLE, VXRT_LAYOUT_HND, VXRT_DTYPE_F16, 4, 2, 8, 64, 32, 500, 1, 1});
    cfgs.push_back({VXRT_PAGES_CSR, VXRT_LAYOUT_HND, VXRT_DTYPE_BF16, 4, 3, 1, 128, 64, 900, 2, 1});
    if (!quick) {
      const int groups[4] = {1, 2, 4, 8}, dims[2] = {64, 128}, pages[3] = {16, 32, 64};
      int i = 0;
      for (int g = 0; g < 4; ++g)
        for (int d = 0; d < 2; ++d) {
          const int p = pages[i % 3];
          cfgs.push_back({i % 2, (i / 2) % 2, (i / 3) % 2, 6, 2, groups[g], dims[d], p, 3000, i % 3 == 2 ? 2 : i % 2, 1});
          ++i;
        }
      cfgs.push_back({VXRT_PAGES_CSR, VXRT_LAYOUT_NHD, VXRT_DTYPE_BF16, 3, 2, 4, 128, 16, 32768, 0, 1});
      cfgs.push_back({VXRT_PAGES_BLOCK_TABLE, VXRT_LAYOUT_NHD, VXRT_DTYPE_BF16, 3, 2, 4, 128, 16, 32768, 1, 1});
      cfgs.push_back({VXRT_PAGES_BLOCK_TABLE, VXRT_LAYOUT_HND, VXRT_DTYPE_F16, 4, 2, 8, 128, 64, 20000, 0, 4});
      cfgs.push_back({VXRT_PAGES_CSR, VXRT_LAYOUT_NHD, VXRT_DTYPE_BF16, 9, 1, 2, 64, 16, 2000, 0, 3});
    }
    cfgs.push_back({VXRT_PAGES_BLOCK_TABLE, VXRT_LAYOUT_NHD, VXRT_DTYPE_BF16, 5, 2, 4, 128, 32, 2500, 0, 1, 1});
    cfgs.push_back({VXRT_PAGES_CSR, VXRT_LAYOUT_HND, VXRT_DTYPE_BF16, 5, 2, 4, 128, 16, 2500, 2, 1, 1});
    for (const attn_cfg &cfg : cfgs) test_attention(&r, &cfg);
  }

  printf("MLA decode (GLM-4.7-Flash geometry):\n");
  test_mla_tensor_map();
  test_mla(&r, 3, 20, quick ? 300 : 5000, 0, VXRT_DTYPE_BF16);
  test_mla(&r, 3, 20, quick ? 300 : 5000, 1, VXRT_DTYPE_BF16);
  if (!quick) test_mla(&r, 4, 16, 3000, 0, VXRT_DTYPE_F16);
  /* Page sizes whose 32-token tiles span pages (16) or halves of one (32). */
  test_mla(&r, 3, 20, quick ? 200 : 3000, 1, VXRT_DTYPE_BF16, 16);
  if (!quick) test_mla(&r, 3, 20, 3000, 0, VXRT_DTYPE_F16, 32);
  /* Batches whose split has 2-8 chunks a row: on sm_90 the wgmma kernel
   * merges them in clusters (vx_mla_choose), rows without pages included. */
  printf("MLA decode, chunks merged in clusters (GLM-4.7-Flash geometry):\n");
  test_mla(&r, 16, 20, quick ? 600 : 5000, 1, VXRT_DTYPE_BF16);
  if (!quick) {
    test_mla(&r, 32, 20, 3000, 0, VXRT_DTYPE_BF16);
    test_mla(&r, 64, 20, 2000, 1, VXRT_DTYPE_F16);
    test_mla(&r, 8, 64, 3000, 1, VXRT_DTYPE_BF16);
  }
  /* Chunks of 768+ tokens: the one-tile-ring kernel, two blocks per SM
   * (vx_mla_choose, sm_90). */
  printf("MLA decode, two blocks per SM (GLM-4.7-Flash geometry):\n");
  test_mla(&r, 16, 20, 14000, 0, VXRT_DTYPE_BF16);
  if (!quick) test_mla(&r, 8, 16, 30000, 0, VXRT_DTYPE_F16);
  printf("MLA decode (DeepSeek-V3 geometry: 128 heads; and 32, 64 heads):\n");
  /* Sparse cases need batch >= 3: random_selection gives row 1 no pages and row 2 all it may hold. */
  test_mla(&r, 4, 128, quick ? 300 : 3000, 1, VXRT_DTYPE_BF16);
  if (!quick) {
    test_mla(&r, 2, 128, 2000, 0, VXRT_DTYPE_BF16);
    test_mla(&r, 3, 64, 2000, 1, VXRT_DTYPE_F16);
    test_mla(&r, 3, 32, 2000, 0, VXRT_DTYPE_BF16);
  }
  if (!mla_only) {
    printf("CUDA graph:\n");
    test_graph_capture(&r);

    printf("NVRTC loader:\n");
    test_nvrtc_loader();
  }

  printf("%d checks, %d failed\n", g_checks, g_failures);
  return g_failures ? 1 : 0;
}

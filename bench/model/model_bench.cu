/* model_bench.cu - one decode step of a whole model, Qwen3-1.7B's shapes with
 * random weights, once with dense paged attention (libvortexrt) and once with
 * each vortexc-generated sparse step (bench/model/gen: quest, block top-k;
 * 2048 selected tokens a row): what the attention's speed-up is worth end to
 * end (docs/DESIGN.md's model-level target: >= 4x over dense at 32K context
 * and a batch that fills the GPU; the reference system reports 3.46x).
 *
 * The step (28 layers): RMSNorm, QKV product, q/k RMSNorm + rotary
 * embedding with the new token's K/V written to its cache slot, attention,
 * output product, residual + RMSNorm, gate/up product, SiLU * up, down
 * product, residual; then the final norm and the LM head (tied embedding).
 * Products by cuBLAS (bf16 in and out, f32 sums), the rest
 * model_kernels.cuh. Every request holds `context` tokens, the new one
 * included, in full 16-token pages shuffled over per-layer pools (one CSR
 * page table for all layers).
 *
 * Timing: each op captured once in a CUDA graph and replayed (the median of
 * --reps replays); no L2 flush: a step moves gigabytes. Rows: the whole step
 * per attention (ms, tokens/s, x its bytes floor, speed-up over dense), the
 * attention of all layers alone, and the step without attention.
 * Floors: bytes / the device copy bandwidth measured here (step_util.h).
 *
 * Checks first, on a small instance (2 layers, 3 requests of 2048 tokens,
 * where every sparse algorithm selects every page): the norm, the QKV
 * product, q and the cache write against host references; each attention
 * (dense and every sparse step) against f64 over all pages; the whole
 * step's logits of every sparse algorithm against dense. Then on the timed
 * instance: finite logits, unchanged by the timing replays. Any failure
 * exits 1 and prints no timing for it.
 *
 * Usage: model_bench [--context N] [--batch N] [--layers N] [--reps N]
 *   [--algos dense,quest,block_topk] [--json FILE] [--check-only] [--plan GBS]
 *   (--batch 0, the default: the most requests whose cache fits the GPU;
 *   --plan GBS: no GPU, print the parameters and each step's bytes and
 *   floor at GBS GB/s for --batch requests, then exit) */
#include <cublas_v2.h>

#include <cmath>
#include <string>

#include "model_algos.h"
#include "attn_check.h"
#include "model_kernels.cuh"
#include "paged_kv.h"
#include "report_json.h"
#include "step_util.h"
#include "vortexrt.h"

#define CKB(call)                                                                                 \
  do {                                                                                            \
    cublasStatus_t ckb_s = (call);                                                                \
    if (ckb_s != CUBLAS_STATUS_SUCCESS) {                                                         \
      fprintf(stderr, "%s:%d: %s: cuBLAS status %d\n", __FILE__, __LINE__, #call, (int)ckb_s);    \
      exit(2);                                                                                    \
    }                                                                                             \
  } while (0)

/* Qwen3-1.7B's config.json (examples/models/qwen3-1.7b.json holds the
 * attention part vortexc reads). */
typedef struct mb_config {
  int layers, hidden, heads, kv_heads, head_dim, inter, vocab;
  float eps, theta;
} mb_config;
static const mb_config QWEN3_1_7B = {28, 2048, 16, 8, 128, 6144, 151936, 1e-6f, 1e6f};
static const int PS = 16;
static const int DENSE = -1; /* attention choice: libvortexrt dense, else an index into mb_algos */

typedef struct mb_layer_w {
  mb_bf16 *in_norm, *qkv, *q_norm, *k_norm, *o, *post_norm, *gate_up, *down;
} mb_layer_w;

typedef struct mb_model {
  mb_config c;
  int batch, ctx, n; /* n = ctx / PS pages a request, every one full */
  /* weights: one allocation */
  mb_bf16 *weights;
  size_t weight_elems;
  std::vector<mb_layer_w> w;
  mb_bf16 *final_norm, *embed; /* the LM head reads embed (tied) */
  /* cache: per-layer pools, one page table */
  std::vector<mb_bf16 *> k, v;
  std::vector<vx_paged_kv> kv;
  std::vector<vxrt_paged_kv> rkv;
  int *indptr, *indices, *lpl;
  std::vector<int> h_indices;
  std::vector<std::vector<std::vector<void *>>> fields; /* [algo][layer][field] */
  /* activations */
  float *x, *x0;
  mb_bf16 *xn, *qkv, *q, *attn, *o, *gu, *h, *d, *logits;
  void *ws;
  size_t ws_bytes;
  cublasHandle_t blas;
  void *blas_ws;
} mb_model;

static const size_t BLAS_WS_BYTES = (size_t)32 << 20;

static int qkv_width(const mb_config &c) { return (c.heads + 2 * c.kv_heads) * c.head_dim; }

/* Weights in one allocation, each matrix row-major [out][in]. */
static size_t carve_weights(mb_model *m, mb_bf16 *base) {
  const mb_config &c = m->c;
  size_t at = 0;
  auto take = [&](size_t elems) {
    mb_bf16 *p = base ? base + at : NULL;
    at += (elems + 127) / 128 * 128; /* 256-byte aligned */
    return p;
  };
  m->w.assign(c.layers, mb_layer_w{});
  for (mb_layer_w &l : m->w) {
    l.in_norm = take(c.hidden);
    l.qkv = take((size_t)qkv_width(c) * c.hidden);
    l.q_norm = take(c.head_dim);
    l.k_norm = take(c.head_dim);
    l.o = take((size_t)c.hidden * c.heads * c.head_dim);
    l.post_norm = take(c.hidden);
    l.gate_up = take((size_t)2 * c.inter * c.hidden);
    l.down = take((size_t)c.hidden * c.inter);
  }
  m->final_norm = take(c.hidden);
  m->embed = take((size_t)c.vocab * c.hidden);
  return at;
}

/* Linear weights uniform +-sqrt(3 / fan_in) (unit variance out of unit
 * variance in), norm weights in [0.9, 1.1). */
static void init_weights(mb_model *m) {
  const mb_config &c = m->c;
  m->weight_elems = carve_weights(m, NULL);
  CK(cudaMalloc(&m->weights, m->weight_elems * 2));
  carve_weights(m, m->weights);
  uint64_t seed = 100;
  auto linear = [&](mb_bf16 *p, size_t out, size_t in) {
    const float a = sqrtf(3.0f / (float)in);
    sb_fill(p, out * in, ++seed, -a, a);
  };
  auto norm = [&](mb_bf16 *p, size_t n) { sb_fill(p, n, ++seed, 0.9f, 1.1f); };
  for (mb_layer_w &l : m->w) {
    norm(l.in_norm, c.hidden);
    linear(l.qkv, qkv_width(c), c.hidden);
    norm(l.q_norm, c.head_dim);
    norm(l.k_norm, c.head_dim);
    linear(l.o, c.hidden, (size_t)c.heads * c.head_dim);
    norm(l.post_norm, c.hidden);
    linear(l.gate_up, 2 * (size_t)c.inter, c.hidden);
    linear(l.down, c.hidden, c.inter);
  }
  norm(m->final_norm, c.hidden);
  linear(m->embed, c.vocab, c.hidden);
}

static size_t kv_pool_elems(const mb_model *m) { return (size_t)m->batch * m->n * PS * m->c.kv_heads * m->c.head_dim; }

/* Per-layer K/V pools of random bf16, the page table, every algorithm's
 * summaries of every page as they stand before the step's token. */
static void init_cache(mb_model *m, const std::vector<int> &algos, vx_rng *rng, cudaStream_t st) {
  const mb_config &c = m->c;
  const long long pages = (long long)m->batch * m->n;
  /* the summaries are made over the context before the new token (the last
   * page then holds PS - 1 tokens); the step's cache update folds it in */
  std::vector<int> indptr(m->batch + 1), lpl(m->batch, PS - 1);
  m->h_indices.resize(pages);
  for (long long i = 0; i < pages; ++i) m->h_indices[i] = (int)i;
  rng_shuffle(rng, m->h_indices.data(), (int)pages);
  for (int b = 0; b <= m->batch; ++b) indptr[b] = b * m->n;
  CK(cudaMalloc(&m->indptr, (m->batch + 1) * 4));
  CK(cudaMalloc(&m->indices, pages * 4));
  CK(cudaMalloc(&m->lpl, m->batch * 4));
  CK(cudaMemcpy(m->indptr, indptr.data(), (m->batch + 1) * 4, cudaMemcpyHostToDevice));
  CK(cudaMemcpy(m->indices, m->h_indices.data(), pages * 4, cudaMemcpyHostToDevice));
  CK(cudaMemcpy(m->lpl, lpl.data(), m->batch * 4, cudaMemcpyHostToDevice));
  m->fields.assign(mb_num_algos, std::vector<std::vector<void *>>(c.layers));
  for (int l = 0; l < c.layers; ++l) {
    mb_bf16 *k, *v;
    CK(cudaMalloc(&k, kv_pool_elems(m) * 2));
    CK(cudaMalloc(&v, kv_pool_elems(m) * 2));
    sb_fill(k, kv_pool_elems(m), 1000 + 2 * l);
    sb_fill(v, kv_pool_elems(m), 1001 + 2 * l);
    m->k.push_back(k);
    m->v.push_back(v);
    m->kv.push_back(
        sb_csr_nhd_kv(m->batch, PS, c.kv_heads, c.head_dim, pages, m->indptr, m->indices, m->lpl, k, v));
    m->rkv.push_back(sb_vxrt_kv(m->kv.back()));
  }
  CK(cudaDeviceSynchronize()); /* the fills ran on the legacy stream */
  for (int a : algos) {
    if (a == DENSE) continue;
    const mb_algo &al = mb_algos[a];
    const size_t field_bytes = (size_t)pages * c.kv_heads * al.field_bytes_per_page() / al.num_fields;
    for (int l = 0; l < c.layers; ++l) {
      for (int f = 0; f < al.num_fields; ++f) {
        void *p;
        CK(cudaMalloc(&p, field_bytes));
        m->fields[a][l].push_back(p);
      }
      CKS(al.cache_update(&m->kv[l], m->fields[a][l].data(), m->n, st));
    }
  }
  CK(cudaStreamSynchronize(st));
  std::fill(lpl.begin(), lpl.end(), PS); /* every step attends the new token too */
  CK(cudaMemcpy(m->lpl, lpl.data(), m->batch * 4, cudaMemcpyHostToDevice));
}

static void init_acts(mb_model *m, const std::vector<int> &algos) {
  const mb_config &c = m->c;
  const size_t B = m->batch;
  CK(cudaMalloc(&m->x, B * c.hidden * 4));
  CK(cudaMalloc(&m->x0, B * c.hidden * 4));
  mb_bf16 **bufs[] = {&m->xn, &m->qkv, &m->q, &m->attn, &m->o, &m->gu, &m->h, &m->d, &m->logits};
  const size_t widths[] = {(size_t)c.hidden, (size_t)qkv_width(c), (size_t)c.heads * c.head_dim,
                           (size_t)c.heads * c.head_dim, (size_t)c.hidden, 2 * (size_t)c.inter, (size_t)c.inter,
                           (size_t)c.hidden, (size_t)c.vocab};
  for (int i = 0; i < 9; ++i) CK(cudaMalloc(bufs[i], B * widths[i] * 2));
  /* the step without attention (run_timing's `rest`) reads it unwritten */
  CK(cudaMemset(m->attn, 0, B * widths[3] * 2));
  /* the token's embedding, as a residual stream of unit-size values: filled
   * as bf16 into the logits buffer, widened to f32 on the host */
  std::vector<uint16_t> e(B * c.hidden);
  sb_fill(m->logits, e.size(), 7, -1.0f, 1.0f);
  CK(cudaMemcpy(e.data(), m->logits, e.size() * 2, cudaMemcpyDeviceToHost));
  std::vector<float> x(e.size());
  for (size_t i = 0; i < e.size(); ++i) x[i] = sb_bf16_to_f32(e[i]);
  CK(cudaMemcpy(m->x0, x.data(), x.size() * 4, cudaMemcpyHostToDevice));
  m->ws_bytes = vxrt_decode_workspace_size(m->batch, c.heads, c.kv_heads, c.head_dim, m->n);
  for (int a : algos)
    if (a != DENSE) m->ws_bytes = std::max(m->ws_bytes, mb_algos[a].workspace_size(m->batch, c.kv_heads, m->n));
  CK(cudaMalloc(&m->ws, m->ws_bytes));
  CKB(cublasCreate(&m->blas));
  CK(cudaMalloc(&m->blas_ws, BLAS_WS_BYTES)); /* set with the stream, in gemm */
}

static void model_free(mb_model *m) {
  for (mb_bf16 *p : m->k) CK(cudaFree(p));
  for (mb_bf16 *p : m->v) CK(cudaFree(p));
  for (auto &per_algo : m->fields)
    for (auto &per_layer : per_algo)
      for (void *p : per_layer) CK(cudaFree(p));
  for (void *p : {(void *)m->weights, (void *)m->indptr, (void *)m->indices, (void *)m->lpl, (void *)m->x,
                  (void *)m->x0, (void *)m->xn, (void *)m->qkv, (void *)m->q, (void *)m->attn, (void *)m->o,
                  (void *)m->gu, (void *)m->h, (void *)m->d, (void *)m->logits, m->ws, m->blas_ws})
    CK(cudaFree(p));
  CKB(cublasDestroy(m->blas));
}

static void model_init(mb_model *m, const mb_config &c, int batch, int ctx, const std::vector<int> &algos,
                       cudaStream_t st) {
  m->c = c;
  m->batch = batch;
  m->ctx = ctx;
  m->n = ctx / PS;
  vx_rng rng = {0x5eed0001ull + (uint64_t)ctx};
  init_weights(m);
  init_acts(m, algos);
  init_cache(m, algos, &rng, st);
}

/* y[rows][n] = x[rows][k] W^T, W row-major [n][k] (cuBLAS is column-major:
 * y^T = W x^T with W read as its transpose). */
static void gemm(mb_model *m, cudaStream_t s, const mb_bf16 *x, const mb_bf16 *w, mb_bf16 *y, int n, int k) {
  const float one = 1.0f, zero = 0.0f;
  CKB(cublasSetStream(m->blas, s));
  /* after every cublasSetStream, which resets it to the default pool:
   * cuBLAS must not allocate inside a graph capture */
  CKB(cublasSetWorkspace(m->blas, m->blas_ws, BLAS_WS_BYTES));
  CKB(cublasGemmEx(m->blas, CUBLAS_OP_T, CUBLAS_OP_N, n, m->batch, k, &one, w, CUDA_R_16BF, k, x, CUDA_R_16BF, k,
                   &zero, y, CUDA_R_16BF, n, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
}

static void add_rmsnorm(mb_model *m, cudaStream_t s, const mb_bf16 *delta, const mb_bf16 *w) {
  mb_add_rmsnorm<<<m->batch, MB_ROW_THREADS, 0, s>>>(m->x, delta, w, m->xn, m->c.hidden, m->c.eps);
  CK(cudaGetLastError());
}

/* Layer l up to its attention: norm (adding the previous layer's MLP
 * output), QKV, q/k norm + rotary + the new token's K/V into the cache. */
static void enqueue_front(mb_model *m, int l, cudaStream_t s) {
  const mb_config &c = m->c;
  add_rmsnorm(m, s, l == 0 ? NULL : m->d, m->w[l].in_norm);
  gemm(m, s, m->xn, m->w[l].qkv, m->qkv, qkv_width(c), c.hidden);
  mb_rope_args a = {m->qkv, m->w[l].q_norm, m->w[l].k_norm, m->q, m->k[l], m->v[l], m->indptr, m->indices, m->lpl,
                    c.heads, c.kv_heads, PS, m->ctx - 1, c.theta, c.eps};
  mb_qk_norm_rope_append<<<dim3(m->batch, c.heads + 2 * c.kv_heads), c.head_dim, c.head_dim * 4, s>>>(a);
  CK(cudaGetLastError());
}

static void enqueue_attention(mb_model *m, int algo, int l, cudaStream_t s) {
  const float scale = 1.0f / sqrtf((float)m->c.head_dim);
  if (algo == DENSE) {
    char err[256] = "";
    const vxrt_status st = vxrt_dense_decode(&m->rkv[l], m->q, m->attn, m->c.heads, scale, m->n, m->ws, m->ws_bytes,
                                             s, err, sizeof err);
    if (st != VXRT_SUCCESS) {
      fprintf(stderr, "vxrt_dense_decode: %s: %s\n", vxrt_status_string(st), err);
      exit(2);
    }
  } else {
    CKS(mb_algos[algo].decode_step(&m->kv[l], m->q, m->fields[algo][l].data(), m->n, scale, m->attn, m->ws,
                                   m->ws_bytes, s));
  }
}

/* Layer l after its attention: output product, residual + norm, MLP. */
static void enqueue_back(mb_model *m, int l, cudaStream_t s) {
  const mb_config &c = m->c;
  gemm(m, s, m->attn, m->w[l].o, m->o, c.hidden, c.heads * c.head_dim);
  add_rmsnorm(m, s, m->o, m->w[l].post_norm);
  gemm(m, s, m->xn, m->w[l].gate_up, m->gu, 2 * c.inter, c.hidden);
  const size_t n = (size_t)m->batch * c.inter;
  mb_silu_mul<<<(unsigned)std::min<size_t>((n + 255) / 256, 4096), 256, 0, s>>>(m->gu, m->h, m->batch, c.inter);
  CK(cudaGetLastError());
  gemm(m, s, m->h, m->w[l].down, m->d, c.hidden, c.inter);
}

/* The whole step from the token's embedding (x0) to the logits; with
 * attention false, every layer but its attention (the rest's cost). */
static void enqueue_step(mb_model *m, int algo, bool attention, cudaStream_t s) {
  CK(cudaMemcpyAsync(m->x, m->x0, (size_t)m->batch * m->c.hidden * 4, cudaMemcpyDeviceToDevice, s));
  for (int l = 0; l < m->c.layers; ++l) {
    enqueue_front(m, l, s);
    if (attention) enqueue_attention(m, algo, l, s);
    enqueue_back(m, l, s);
  }
  add_rmsnorm(m, s, m->d, m->final_norm);
  gemm(m, s, m->xn, m->embed, m->logits, m->c.vocab, m->c.hidden);
}

static const char *algo_name(int a) { return a == DENSE ? "dense" : mb_algos[a].name; }

/* ---------------------------------------------------------------- checks */

static bool close_enough(const char *what, size_t i, double got, double ref) {
  if (fabs(got - ref) <= 1e-2 + 1e-2 * fabs(ref)) return true;
  fprintf(stderr, "CHECK FAILED %s: element %zu: got %g, reference %g\n", what, i, got, ref);
  return false;
}

/* Layer 0's front against host references: the norm of x0, the QKV product
 * of request 0, every q head and the new token's K and V in the cache. */
static bool check_front(mb_model *m, cudaStream_t st) {
  const mb_config &c = m->c;
  const int D = c.head_dim, W = qkv_width(c), B = m->batch;
  CK(cudaMemcpyAsync(m->x, m->x0, (size_t)B * c.hidden * 4, cudaMemcpyDeviceToDevice, st));
  enqueue_front(m, 0, st);
  CK(cudaStreamSynchronize(st));
  std::vector<float> x0((size_t)B * c.hidden);
  CK(cudaMemcpy(x0.data(), m->x0, x0.size() * 4, cudaMemcpyDeviceToHost));
  const std::vector<uint16_t> xn = sb_fetch16(m->xn, (size_t)B * c.hidden), qkv = sb_fetch16(m->qkv, (size_t)B * W),
                              q = sb_fetch16(m->q, (size_t)B * c.heads * D),
                              in_norm = sb_fetch16(m->w[0].in_norm, c.hidden),
                              wqkv = sb_fetch16(m->w[0].qkv, (size_t)W * c.hidden),
                              qn = sb_fetch16(m->w[0].q_norm, D), kn = sb_fetch16(m->w[0].k_norm, D);
  for (int b = 0; b < B; ++b) {
    double ss = 0;
    for (int i = 0; i < c.hidden; ++i) ss += (double)x0[(size_t)b * c.hidden + i] * x0[(size_t)b * c.hidden + i];
    const double inv = 1.0 / sqrt(ss / c.hidden + c.eps);
    for (int i = 0; i < c.hidden; ++i) {
      const size_t e = (size_t)b * c.hidden + i;
      if (!close_enough("rmsnorm", e, sb_bf16_to_f32(xn[e]), x0[e] * inv * sb_bf16_to_f32(in_norm[i]))) return false;
    }
  }
  for (int j = 0; j < W; ++j) { /* request 0, from the device's normed input */
    double acc = 0;
    for (int i = 0; i < c.hidden; ++i)
      acc += (double)sb_bf16_to_f32(xn[i]) * sb_bf16_to_f32(wqkv[(size_t)j * c.hidden + i]);
    if (!close_enough("qkv product", j, sb_bf16_to_f32(qkv[j]), acc)) return false;
  }
  const int pos = m->ctx - 1;
  for (int b = 0; b < B; ++b) {
    const int last = m->h_indices[(size_t)b * m->n + m->n - 1];
    for (int j = 0; j < c.heads + 2 * c.kv_heads; ++j) {
      const uint16_t *x = qkv.data() + (size_t)b * W + (size_t)j * D;
      std::vector<double> want(D);
      if (j < c.heads + c.kv_heads) { /* RMSNorm, then rotate half */
        const uint16_t *nw = j < c.heads ? qn.data() : kn.data();
        double ss = 0;
        for (int d = 0; d < D; ++d) ss += (double)sb_bf16_to_f32(x[d]) * sb_bf16_to_f32(x[d]);
        const double inv = 1.0 / sqrt(ss / D + c.eps);
        std::vector<double> y(D);
        for (int d = 0; d < D; ++d) y[d] = sb_bf16_to_f32(x[d]) * inv * sb_bf16_to_f32(nw[d]);
        for (int d = 0; d < D; ++d) {
          const int i = d % (D / 2);
          const double angle = (double)((float)pos * powf(c.theta, -2.0f * (float)i / (float)D));
          want[d] = d < D / 2 ? y[d] * cos(angle) - y[d + D / 2] * sin(angle)
                              : y[d] * cos(angle) + y[d - D / 2] * sin(angle);
        }
      } else {
        for (int d = 0; d < D; ++d) want[d] = sb_bf16_to_f32(x[d]);
      }
      std::vector<float> got(D);
      if (j < c.heads) {
        for (int d = 0; d < D; ++d) got[d] = sb_bf16_to_f32(q[((size_t)b * c.heads + j) * D + d]);
      } else { /* the cache slot of the new token: the last page's last row */
        const bool is_k = j < c.heads + c.kv_heads;
        const int h = is_k ? j - c.heads : j - c.heads - c.kv_heads;
        const std::vector<float> page =
            sb_gather_host(is_k ? m->k[0] : m->v[0], std::vector<int>(1, last), m->kv[0].stride_page,
                           (long long)h * m->kv[0].stride_head, m->kv[0].stride_token, PS, D);
        for (int d = 0; d < D; ++d) got[d] = page[(size_t)(PS - 1) * D + d];
      }
      for (int d = 0; d < D; ++d)
        if (!close_enough(j < c.heads ? "q norm + rotary" : "cache write of the new token", (size_t)j * D + d, got[d],
                          want[d]))
          return false;
    }
  }
  return true;
}

/* Layer 0's attention by `algo` against f64 over every page (the check
 * instance has no more pages than any algorithm selects). The outputs are
 * small (random V in [-2, 2) averaged over ~2048 tokens: ~0.05), so the
 * tolerance is too: 1e-3 + 4e-3 |ref| (bf16 rounding is 2e-3 |ref|, the
 * rounding of P ~1e-4), where one token of 2048 left out moves an output
 * by ~2e-3. */
static bool check_attention(mb_model *m, int algo, cudaStream_t st) {
  const mb_config &c = m->c;
  const size_t on = (size_t)m->batch * c.heads * c.head_dim;
  CK(cudaMemsetAsync(m->attn, 0xff, on * 2, st)); /* NaN: a row never written fails */
  enqueue_attention(m, algo, 0, st);
  CK(cudaStreamSynchronize(st));
  const std::vector<uint16_t> out = sb_fetch16(m->attn, on), q = sb_fetch16(m->q, on);
  if (!sb_all_finite(algo_name(algo), out)) return false;
  const sb_host_kv hv = {&m->kv[0], &m->h_indices, &q, m->n, c.heads / c.kv_heads};
  std::vector<int> all(m->n);
  for (int j = 0; j < m->n; ++j) all[j] = j;
  std::string what = std::string("attention (") + algo_name(algo) + ")";
  for (int b = 0; b < m->batch; ++b)
    for (int h = 0; h < c.kv_heads; ++h)
      if (sb_check_attention(what.c_str(), hv, out, b, h, all, 1.0f / sqrtf((float)c.head_dim), 1e-3, 4e-3) < 0)
        return false;
  return true;
}

/* Relative L2 distance of two logit sets, and both finite. */
static bool logits_agree(const char *what, const std::vector<uint16_t> &x, const std::vector<uint16_t> &ref,
                         double tol) {
  if (!sb_all_finite(what, x)) return false;
  double diff = 0, norm = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double a = sb_bf16_to_f32(x[i]), b = sb_bf16_to_f32(ref[i]);
    diff += (a - b) * (a - b);
    norm += b * b;
  }
  const double rel = sqrt(diff / std::max(norm, 1e-30));
  printf("model_bench check: %s: logits within %.2e (relative L2) of the reference\n", what, rel);
  if (rel <= tol) return true;
  fprintf(stderr, "CHECK FAILED %s: logits %.3e from the reference (relative L2), tolerance %.1e\n", what, rel, tol);
  return false;
}

static bool run_checks(const std::vector<int> &algos, cudaStream_t st) {
  mb_config c = QWEN3_1_7B;
  c.layers = 2;
  const int batch = 3, ctx = 128 * PS; /* 128 pages: every algorithm here attends all of them */
  for (int a : algos)
    if (a != DENSE && mb_algos[a].budget_pages < ctx / PS) {
      fprintf(stderr, "model_bench: %s selects fewer than %d pages; the checks assume all\n", mb_algos[a].name,
              ctx / PS);
      return false;
    }
  mb_model m = {};
  model_init(&m, c, batch, ctx, algos, st);
  bool ok = check_front(&m, st);
  for (size_t i = 0; ok && i < algos.size(); ++i) ok = check_attention(&m, algos[i], st);
  /* the whole step: every sparse algorithm against dense (same pages, so
   * only bf16 rounding of different work splits apart) */
  std::vector<uint16_t> ref;
  for (size_t i = 0; ok && i < algos.size(); ++i) {
    enqueue_step(&m, algos[i], true, st);
    CK(cudaStreamSynchronize(st));
    const std::vector<uint16_t> logits = sb_fetch16(m.logits, (size_t)batch * c.vocab);
    if (ref.empty()) {
      ok = sb_all_finite("logits", logits);
      ref = logits;
      printf("model_bench check: %s step: logits finite\n", algo_name(algos[i]));
    } else {
      ok = logits_agree((std::string(algo_name(algos[i])) + " step vs " + algo_name(algos[0])).c_str(), logits, ref,
                        2e-2);
    }
  }
  model_free(&m);
  printf("model_bench check: %s\n", ok ? "passed" : "FAILED");
  return ok;
}

/* ---------------------------------------------------------------- timing */

/* Bytes one step must move: every weight once, the logits written, and per
 * layer the attention's bytes (dense: all K/V; sparse: the selected pages'
 * K/V and every page's summaries). */
static double attention_bytes(const mb_model *m, int algo) {
  const mb_config &c = m->c;
  const double page_kv = 2.0 * PS * c.head_dim * 2; /* K + V of one (page, KV head) */
  const double rows = (double)m->batch * c.kv_heads;
  if (algo == DENSE) return c.layers * rows * m->n * page_kv;
  const mb_algo &a = mb_algos[algo];
  return c.layers * rows * (std::min(m->n, a.budget_pages) * page_kv + (double)m->n * a.field_bytes_per_page());
}

static double rest_bytes(const mb_model *m) { return m->weight_elems * 2.0 + (double)m->batch * m->c.vocab * 2; }

template <typename F> static double time_graph(sb_timer *t, F enqueue) {
  cudaGraphExec_t ge = sb_capture(t, enqueue);
  const double ms = sb_median_graph_ms(t, ge);
  CK(cudaGraphExecDestroy(ge));
  return ms;
}

/* The most requests whose caches (every layer's K/V and every algorithm's
 * summaries) fit the free memory, keeping `reserve` bytes for the rest. */
static int batch_that_fits(const mb_config &c, int ctx, const std::vector<int> &algos, size_t reserve) {
  size_t free_b = 0, total_b = 0;
  CK(cudaMemGetInfo(&free_b, &total_b));
  const double pages = ctx / PS;
  double per_request = c.layers * pages * 2.0 * PS * c.kv_heads * c.head_dim * 2;
  for (int a : algos)
    if (a != DENSE) per_request += c.layers * pages * c.kv_heads * (double)mb_algos[a].field_bytes_per_page();
  /* activations (init_acts): x and x0 in f32, the rest bf16 */
  per_request += 8.0 * c.hidden + 2.0 * (3.0 * c.hidden + qkv_width(c) + 2.0 * c.heads * c.head_dim + 3.0 * c.inter +
                                         c.vocab);
  const double fit = free_b > reserve ? (double)(free_b - reserve) / per_request : 0;
  return (int)std::min(fit, 4096.0); /* --batch's own bound */
}

static bool run_timing(const mb_config &c, int batch, int ctx, const std::vector<int> &algos, report *r, sb_timer *t) {
  mb_model m = {};
  model_init(&m, c, batch, ctx, algos, t->stream);
  printf("model_bench: %d layers, batch %d, context %d (%d pages a request), weights %.2f GB\n", c.layers, batch, ctx,
         m.n, m.weight_elems * 2e-9);
  const size_t ln = (size_t)batch * c.vocab;
  /* one eager step first: cuBLAS's first products at this batch, and any
   * module loading, happen outside a capture */
  enqueue_step(&m, DENSE, true, t->stream);
  CK(cudaStreamSynchronize(t->stream));
  bool ok = true;
  const double rest_ms = time_graph(t, [&](cudaStream_t s) { enqueue_step(&m, DENSE, false, s); });
  double dense_ms = 0;
  for (int a : algos) {
    enqueue_step(&m, a, true, t->stream);
    CK(cudaStreamSynchronize(t->stream));
    const std::vector<uint16_t> before = sb_fetch16(m.logits, ln);
    ok = sb_all_finite(algo_name(a), before);
    if (!ok) break;
    const double step_ms = time_graph(t, [&](cudaStream_t s) { enqueue_step(&m, a, true, s); });
    const double attn_ms = time_graph(t, [&](cudaStream_t s) {
      for (int l = 0; l < c.layers; ++l) enqueue_attention(&m, a, l, s);
    });
    /* the replays re-run the same step (same token, same cache slot) */
    enqueue_step(&m, a, true, t->stream);
    CK(cudaStreamSynchronize(t->stream));
    ok = sb_outputs_agree((std::string(algo_name(a)) + " logits after timing").c_str(), sb_fetch16(m.logits, ln),
                          before);
    if (!ok) break;
    if (a == DENSE) dense_ms = step_ms;
    const double ab = attention_bytes(&m, a);
    emit(r, "model", algo_name(a), batch, ctx, step_ms, rest_bytes(&m) + ab, dense_ms, 0);
    emit(r, "model", (std::string("attn:") + algo_name(a)).c_str(), batch, ctx, attn_ms, ab, 0, step_ms);
    printf("  %s: %.0f tokens/s (%d requests / %.3f ms)\n", algo_name(a), batch / (step_ms * 1e-3), batch, step_ms);
  }
  if (ok) emit(r, "model", "rest", batch, ctx, rest_ms, rest_bytes(&m), 0, 0);
  model_free(&m);
  return ok;
}

/* --plan: the bytes model alone, no GPU: the parameters (Qwen3-1.7B's model
 * card: 1.7 G, 1.4 G without the embedding) and each attention's step bytes
 * and floor at `gbs`, the speed-ups over dense those floors allow. */
static void print_plan(const mb_config &c, int batch, int ctx, const std::vector<int> &algos, double gbs) {
  mb_model m = {};
  m.c = c;
  m.batch = batch;
  m.ctx = ctx;
  m.n = ctx / PS;
  m.weight_elems = carve_weights(&m, NULL);
  printf("model_bench plan: %d layers, %.3f G parameters (%.3f G without the embedding), batch %d, context %d\n",
         c.layers, m.weight_elems * 1e-9, (m.weight_elems - (double)c.vocab * c.hidden) * 1e-9, batch, ctx);
  const double dense_ms = (rest_bytes(&m) + attention_bytes(&m, DENSE)) / (gbs * 1e6);
  printf("model_bench plan: floors at %.0f GB/s:", gbs);
  for (int a : algos) {
    const double bytes = rest_bytes(&m) + attention_bytes(&m, a), ms = bytes / (gbs * 1e6);
    printf(" %s %.2f GB %.3f ms", algo_name(a), bytes * 1e-9, ms);
    if (a != DENSE) printf(" (%.2fx)", dense_ms / ms);
    printf(a == algos.back() ? "\n" : ";");
  }
}

int main(int argc, char **argv) {
  int ctx = 32768, batch = 0, layers = QWEN3_1_7B.layers, reps = 10, plan_gbs = 0;
  bool check_only = false;
  const char *json_path = NULL, *algo_list = "dense,quest,block_topk";
  for (int i = 1; i < argc; ++i) {
    const bool more = i + 1 < argc;
    if (!strcmp(argv[i], "--context") && more && parse_int_in(argv[i + 1], PS, 1 << 20, &ctx)) ++i;
    else if (!strcmp(argv[i], "--batch") && more && parse_int_in(argv[i + 1], 0, 4096, &batch)) ++i;
    else if (!strcmp(argv[i], "--layers") && more && parse_int_in(argv[i + 1], 1, 1024, &layers)) ++i;
    else if (!strcmp(argv[i], "--reps") && more && parse_int_in(argv[i + 1], 1, 10000, &reps)) ++i;
    else if (!strcmp(argv[i], "--algos") && more) algo_list = argv[++i];
    else if (!strcmp(argv[i], "--json") && more) json_path = argv[++i];
    else if (!strcmp(argv[i], "--check-only")) check_only = true;
    else if (!strcmp(argv[i], "--plan") && more && parse_int_in(argv[i + 1], 1, 1 << 20, &plan_gbs)) ++i;
    else {
      fprintf(stderr, "usage: model_bench [--context N] [--batch N] [--layers N] [--reps N] "
                      "[--algos dense,quest,block_topk] [--json FILE] [--check-only] [--plan GBS]\n");
      return 2;
    }
  }
  if (ctx % PS) {
    fprintf(stderr, "model_bench: --context %d is not a whole number of %d-token pages\n", ctx, PS);
    return 2;
  }
  /* dense first: the sparse rows' speed-ups are over it */
  std::vector<int> algos;
  for (const char *p = algo_list; *p;) {
    const char *end = strchr(p, ',');
    const std::string name(p, end ? (size_t)(end - p) : strlen(p));
    int found = name == "dense" ? DENSE : -2;
    for (int a = 0; a < mb_num_algos; ++a)
      if (name == mb_algos[a].name) found = a;
    if (found == -2) {
      fprintf(stderr, "model_bench: unknown attention '%s' (dense, quest, block_topk)\n", name.c_str());
      return 2;
    }
    if (found == DENSE) algos.insert(algos.begin(), found);
    else algos.push_back(found);
    p = end ? end + 1 : p + name.size();
  }
  if (algos.empty() || algos[0] != DENSE) {
    fprintf(stderr, "model_bench: --algos must include dense (the baseline)\n");
    return 2;
  }
  if (plan_gbs) {
    if (batch < 1) {
      fprintf(stderr, "model_bench: --plan needs --batch (without a GPU nothing says what fits)\n");
      return 2;
    }
    mb_config c = QWEN3_1_7B;
    c.layers = layers;
    print_plan(c, batch, ctx, algos, plan_gbs);
    return 0;
  }
  cudaDeviceProp prop;
  if (!vx_device0(&prop)) return 77;
  sb_timer t;
  sb_timer_init(&t, prop.l2CacheSize, reps, -1);
  if (!run_checks(algos, t.stream)) return 1;
  if (check_only) return 0;
  report r = {NULL, 1, sb_copy_gbs(&t)};
  mb_config c = QWEN3_1_7B;
  c.layers = layers;
  /* weights, activations, workspaces, cuBLAS and the graphs: well under 8 GB */
  const int fits = batch_that_fits(c, ctx, algos, (size_t)8 << 30);
  if (batch == 0) batch = fits;
  if (batch < 1 || batch > fits) {
    fprintf(stderr, "model_bench: %d requests of %d tokens do not fit (at most %d here)\n", batch, ctx, fits);
    return 2;
  }
  printf("model_bench: %s, %d SMs; device copy %.0f GB/s; Qwen3-1.7B shapes, random weights; median of %d graph "
         "replays\n",
         prop.name, prop.multiProcessorCount, r.copy_gbs, reps);
  if (json_path && !(r.json = fopen(json_path, "w"))) {
    fprintf(stderr, "cannot write %s\n", json_path);
    return 2;
  }
  if (r.json)
    fprintf(r.json,
            "{\"device\": \"%s\", \"copy_gbs\": %.1f, \"reps\": %d, \"model\": \"Qwen3-1.7B shapes\", \"layers\": %d, "
            "\"results\": [",
            prop.name, r.copy_gbs, reps, c.layers);
  const bool ok = run_timing(c, batch, ctx, algos, &r, &t);
  if (r.json) {
    fprintf(r.json, "\n], \"check_failures\": %d}\n", ok ? 0 : 1);
    fclose(r.json);
  }
  sb_timer_free(&t);
  printf("model_bench: %s\n", ok ? "all checks passed" : "CHECKS FAILED (timings of failed ops not reported)");
  return ok ? 0 : 1;
}

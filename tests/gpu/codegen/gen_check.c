/* gen_check ALG.so ALG.vir [--quick | --bench | --malformed]: checks the kernels
 * vortexc generated for one algorithm and geometry (ALG.so, built from ALG.cu)
 * against the IR interpreter (ALG.vir, the same optimised IR) on random paged
 * inputs with ragged lengths and shuffled physical pages:
 *   cache    cache_update of every page, NHD and HND pools  vs interp fields
 *   append   cache_update_last after 1 new token, and after a
 *            prefill chunk of 1-4 pages starting mid-page
 *            (NHD block table, HND CSR)                     vs interp fields
 *   index    selection (CSR, block table, HND)              vs interp selection
 *            (identical sets up to near-ties), state vs interp state
 *   attend   attention over the interp selection, NHD and
 *            HND pools, CSR and block table                 vs interp output
 *   state    state_init                                     == interp initial state
 *   graph    a whole step captured in a CUDA graph == the same step eager
 *   step     index then attend                              == the step, bit for bit
 *   reject   (--malformed) launchers return a non-zero status on descriptors
 *            the host can see are wrong
 *   malform  (--malformed) corrupt device page tables (page id out of range,
 *            indptr not monotone, last page length 0 or > page size, negative
 *            seq_len): every launcher returns, no CUDA error; run it under
 *            compute-sanitizer memcheck to prove no out-of-bounds access
 * The pool layout: the interpreter's inputs are NHD [page][tok][head][dim];
 * the HND copy [page][head][tok][dim] holds the same values and only the
 * descriptor strides differ. One line per check, a table at the end; exit 1
 * on any failure. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* dlopen */
#endif
#include <cuda_runtime_api.h>
#include <dlfcn.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include VX_ABI_HEADER /* any generated header: vx_paged_kv */
#ifdef GEN_NVRTC
#include "gen_nvrtc.h" /* gen_check_nvrtc: the module's kernels as NVRTC builds them */
#endif
#include "compiler/diag.h"
#include "ir/interp.h"
#include "ir/read.h"

typedef size_t (*size3_fn)(int, int, int);
typedef int (*state_init_fn)(float *, int, int, int, cudaStream_t);
typedef int (*cache_fn)(const vx_paged_kv *, void *const *, int, cudaStream_t);
typedef int (*index_fn)(const vx_paged_kv *, const void *, void *const *, const float *, float *, int, int *, int *,
                        void *, size_t, cudaStream_t);
typedef int (*attend_fn)(const vx_paged_kv *, const void *, const int *, const int *, int, float, void *, void *, size_t,
                         cudaStream_t);
typedef int (*step_fn)(const vx_paged_kv *, const void *, void *const *, const float *, float *, int, int, float, void *,
                       void *, size_t, cudaStream_t);

typedef struct generated {
  size3_fn workspace_size, state_bytes;
  state_init_fn state_init;
  cache_fn cache_update, cache_update_last;
  index_fn index;
  attend_fn attend;
  step_fn step;
} generated;

typedef struct test_case {
  int batch, kv_heads, context;
} test_case;

static int failures;

#define CUDA_OK(call)                                                                              \
  do {                                                                                             \
    cudaError_t e_ = (call);                                                                       \
    if (e_ != cudaSuccess) {                                                                       \
      fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, #call, cudaGetErrorString(e_));       \
      exit(1);                                                                                     \
    }                                                                                              \
  } while (0)

static void *sym(void *lib, const char *alg, const char *name) {
  char full[256];
  snprintf(full, sizeof full, "%s_%s", alg, name);
  void *p = dlsym(lib, full);
  if (!p) {
    fprintf(stderr, "missing symbol %s\n", full);
    exit(1);
  }
  return p;
}

static void check(const char *what, const char *label, int ok, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void check(const char *what, const char *label, int ok, const char *fmt, ...) {
  printf("%-6s %-8s %-28s ", ok ? "PASS" : "FAIL", what, label);
  va_list ap;
  va_start(ap, fmt);
  vprintf(fmt, ap);
  va_end(ap);
  printf("\n");
  fflush(stdout);
  if (!ok) failures++;
}

static void *dev_copy(const void *host, size_t bytes) {
  void *d = NULL;
  CUDA_OK(cudaMalloc(&d, bytes ? bytes : 4));
  if (bytes) CUDA_OK(cudaMemcpy(d, host, bytes, cudaMemcpyHostToDevice));
  return d;
}

/* f32 values (exactly representable) -> 16-bit storage bits, or f32 as is. */
static void *to_storage(const float *x, size_t n, vx_dtype dt, size_t *bytes) {
  if (dt == VX_DTYPE_F32 || dt == VX_DTYPE_DEFAULT) {
    *bytes = n * 4;
    float *out = malloc(*bytes ? *bytes : 4);
    memcpy(out, x, *bytes);
    return out;
  }
  uint16_t *out = malloc(n * 2 + 2);
  for (size_t i = 0; i < n; i++) out[i] = dt == VX_DTYPE_BF16 ? vx_f32_to_bf16_bits(x[i]) : vx_f32_to_f16_bits(x[i]);
  *bytes = n * 2;
  return out;
}

static float *from_device_storage(const void *d, size_t n, vx_dtype dt) {
  float *out = malloc(n * 4 + 4);
  if (dt == VX_DTYPE_F32 || dt == VX_DTYPE_DEFAULT) {
    CUDA_OK(cudaMemcpy(out, d, n * 4, cudaMemcpyDeviceToHost));
    return out;
  }
  uint16_t *bits = malloc(n * 2 + 2);
  CUDA_OK(cudaMemcpy(bits, d, n * 2, cudaMemcpyDeviceToHost));
  for (size_t i = 0; i < n; i++) out[i] = dt == VX_DTYPE_BF16 ? vx_bf16_bits_to_f32(bits[i]) : vx_f16_bits_to_f32(bits[i]);
  free(bits);
  return out;
}

static double storage_tolerance(vx_dtype dt) { return dt == VX_DTYPE_BF16 ? 1.6e-2 : dt == VX_DTYPE_F16 ? 2e-3 : 1e-4; }

typedef struct device_inputs {
  vx_paged_kv csr, table;         /* NHD pools */
  vx_paged_kv csr_hnd, table_hnd; /* the same values in HND pools */
  void *k, *v, *q, *k_hnd, *v_hnd;
  int *indptr, *indices, *last, *block_table, *seq_lens;
} device_inputs;

/* NHD [page][tok][head][dim] -> HND [page][head][tok][dim], in storage type. */
static void *hnd_copy(const float *nhd, const vx_paged_inputs *in) {
  const vx_paged_geometry *g = &in->geo;
  const size_t n = vx_paged_inputs_pool_elems(in), D = (size_t)g->head_dim, P = (size_t)g->page_size, H = (size_t)g->kv_heads;
  float *t = malloc(n * 4 + 4);
  for (size_t p = 0; p < (size_t)in->num_phys_pages; p++)
    for (size_t tok = 0; tok < P; tok++)
      for (size_t h = 0; h < H; h++)
        memcpy(t + ((p * H + h) * P + tok) * D, nhd + ((p * P + tok) * H + h) * D, D * 4);
  size_t bytes;
  void *host = to_storage(t, n, g->kv_dtype, &bytes);
  void *d = dev_copy(host, bytes);
  free(host);
  free(t);
  return d;
}

static void upload_inputs(const vx_paged_inputs *in, device_inputs *d) {
  const vx_paged_geometry *g = &in->geo;
  size_t bytes;
  void *host = to_storage(in->k_pool, vx_paged_inputs_pool_elems(in), g->kv_dtype, &bytes);
  d->k = dev_copy(host, bytes);
  free(host);
  d->v = d->k; /* MLA: one latent pool */
  if (in->v_pool) {
    host = to_storage(in->v_pool, vx_paged_inputs_pool_elems(in), g->kv_dtype, &bytes);
    d->v = dev_copy(host, bytes);
    free(host);
  }
  host = to_storage(in->q, vx_paged_inputs_q_elems(in), g->kv_dtype, &bytes);
  d->q = dev_copy(host, bytes);
  free(host);
  const int B = g->batch;
  d->indptr = dev_copy(in->indptr, (size_t)(B + 1) * 4);
  d->indices = dev_copy(in->indices, (size_t)in->indptr[B] * 4);
  d->last = dev_copy(in->last_page_len, (size_t)B * 4);
  d->block_table = dev_copy(in->block_table, (size_t)B * in->max_blocks * 4);
  d->seq_lens = dev_copy(in->seq_lens, (size_t)B * 4);
  vx_paged_kv kv;
  memset(&kv, 0, sizeof kv);
  kv.format = 0;
  kv.dtype = g->kv_dtype == VX_DTYPE_F16 ? 1 : 0;
  kv.batch = B;
  kv.page_size = g->page_size;
  kv.num_kv_heads = g->kv_heads;
  kv.head_dim = g->head_dim;
  kv.num_pages = in->num_phys_pages;
  kv.indptr = d->indptr;
  kv.indices = d->indices;
  kv.last_page_len = d->last;
  kv.k_pool = d->k;
  kv.v_pool = d->v;
  kv.stride_head = g->head_dim;
  kv.stride_token = (long long)g->kv_heads * g->head_dim;
  kv.stride_page = kv.stride_token * g->page_size;
  d->csr = kv;
  kv.format = 1;
  kv.indptr = kv.indices = kv.last_page_len = NULL;
  kv.block_table = d->block_table;
  kv.block_table_stride = in->max_blocks;
  kv.seq_lens = d->seq_lens;
  d->table = kv;
  /* HND: what vxrt_kv_set_layout(VXRT_LAYOUT_HND) sets */
  d->k_hnd = hnd_copy(in->k_pool, in);
  d->v_hnd = in->v_pool ? hnd_copy(in->v_pool, in) : d->k_hnd;
  kv.k_pool = d->k_hnd;
  kv.v_pool = d->v_hnd;
  kv.stride_token = g->head_dim;
  kv.stride_head = (long long)g->page_size * g->head_dim;
  kv.stride_page = kv.stride_head * g->kv_heads;
  d->table_hnd = kv;
  kv.format = 0;
  kv.indptr = d->indptr;
  kv.indices = d->indices;
  kv.last_page_len = d->last;
  kv.block_table = NULL;
  kv.block_table_stride = 0;
  kv.seq_lens = NULL;
  d->csr_hnd = kv;
}

static void free_inputs(device_inputs *d) {
  if (d->v != d->k) cudaFree(d->v);
  cudaFree(d->k);
  if (d->v_hnd != d->k_hnd) cudaFree(d->v_hnd);
  cudaFree(d->k_hnd);
  cudaFree(d->q);
  cudaFree(d->indptr);
  cudaFree(d->indices);
  cudaFree(d->last);
  cudaFree(d->block_table);
  cudaFree(d->seq_lens);
}

typedef struct field_set {
  int n;
  void *pool[16];
  size_t bytes[16];
} field_set;

static void fields_alloc(const vx_module *m, const vx_field_pools *ref, field_set *f) {
  f->n = m->nfields;
  for (int i = 0; i < f->n; i++) {
    const size_t elems = (size_t)ref->num_phys_pages * ref->kv_heads * ref->elems[i];
    f->bytes[i] = elems * (size_t)(m->fields[i].storage == VX_DTYPE_BF16 || m->fields[i].storage == VX_DTYPE_F16 ? 2 : 4);
    CUDA_OK(cudaMalloc(&f->pool[i], f->bytes[i]));
    CUDA_OK(cudaMemset(f->pool[i], 0, f->bytes[i]));
  }
}

static void fields_upload(const vx_module *m, const vx_field_pools *ref, field_set *f) {
  for (int i = 0; i < f->n; i++) {
    size_t bytes;
    void *host = to_storage(ref->data[i], (size_t)ref->num_phys_pages * ref->kv_heads * ref->elems[i], m->fields[i].storage, &bytes);
    CUDA_OK(cudaMemcpy(f->pool[i], host, bytes, cudaMemcpyHostToDevice));
    free(host);
  }
}

/* Worst relative difference of every field against the reference. */
static double fields_diff(const vx_module *m, const vx_field_pools *ref, const field_set *f) {
  double worst = 0;
  for (int i = 0; i < f->n; i++) {
    const size_t n = (size_t)ref->num_phys_pages * ref->kv_heads * ref->elems[i];
    float *got = from_device_storage(f->pool[i], n, m->fields[i].storage);
    const double d = vx_max_rel_diff(got, ref->data[i], n);
    if (d > worst) worst = d;
    free(got);
  }
  return worst;
}

static double worst_field_tolerance(const vx_module *m) {
  double t = 1e-4;
  for (int i = 0; i < m->nfields; i++)
    if (storage_tolerance(m->fields[i].storage) > t) t = storage_tolerance(m->fields[i].storage);
  return t;
}

/* Fields after cache_update over the first L_b - n tokens of every request
 * (`table` with shorter seq_lens) and then cache_update_last(n) through
 * `full` (the whole requests, any format), against the interpreter's fields
 * of the whole requests. n > page size: the append writes several pages,
 * the first of them usually partial before (a chunked-prefill step). */
static void check_append(const vx_module *m, const generated *gen, const vx_paged_inputs *in, const vx_field_pools *ref,
                         const field_set *f, const vx_paged_kv *table, const vx_paged_kv *full, int n, int max_pages,
                         const char *how, const char *label, double tol, cudaStream_t stream) {
  const int B = in->geo.batch, ps = in->geo.page_size;
  for (int i = 0; i < f->n; i++) CUDA_OK(cudaMemset(f->pool[i], 0, f->bytes[i]));
  int32_t *before = malloc((size_t)B * 4);
  int multi = 0, mid = 0;
  for (int b = 0; b < B; b++) {
    before[b] = in->seq_lens[b] > n ? in->seq_lens[b] - n : 0;
    multi += (in->seq_lens[b] - 1) / ps > before[b] / ps; /* the new tokens touch >= 2 pages */
    mid += before[b] % ps != 0;                           /* and start inside a page */
  }
  int *d_before = dev_copy(before, (size_t)B * 4);
  vx_paged_kv shorter = *table;
  shorter.seq_lens = d_before;
  int st = gen->cache_update(&shorter, f->pool, max_pages, stream);
  if (st == 0) st = gen->cache_update_last(full, f->pool, n, stream);
  CUDA_OK(cudaStreamSynchronize(stream));
  const double diff = fields_diff(m, ref, f);
  check("append", label, st == 0 && diff <= tol,
        "%d new token%s (%s): %d/%d requests span >= 2 pages, %d start mid-page; status %d, max rel diff %.3g (tol %.3g)", n,
        n == 1 ? "" : "s", how, multi, B, mid, st, diff, tol);
  cudaFree(d_before);
  free(before);
}

/* The device buffers one step needs beside its inputs and fields: the
 * workspace, the state buffers (modules with state), the selection, the
 * attention output, and a stream. */
typedef struct step_buffers {
  void *ws, *out;
  size_t ws_bytes, state_bytes;
  float *state_in, *state_out; /* NULL without state */
  int *sel_pages, *sel_count;  /* [rows][P], [rows] */
  cudaStream_t stream;
} step_buffers;

static void step_buffers_alloc(const generated *gen, int B, int H, int P, size_t out_elems, step_buffers *sb) {
  memset(sb, 0, sizeof *sb);
  const size_t rows = (size_t)B * H;
  sb->ws_bytes = gen->workspace_size(B, H, P);
  /* 16 bytes of slack: --malformed passes ws + 4 with ws_bytes (large
   * enough, misaligned) */
  CUDA_OK(cudaMalloc(&sb->ws, sb->ws_bytes + 16));
  sb->state_bytes = gen->state_bytes(B, H, P);
  if (sb->state_bytes) {
    CUDA_OK(cudaMalloc((void **)&sb->state_in, sb->state_bytes));
    CUDA_OK(cudaMalloc((void **)&sb->state_out, sb->state_bytes));
  }
  CUDA_OK(cudaMalloc((void **)&sb->sel_pages, rows * P * 4));
  CUDA_OK(cudaMalloc((void **)&sb->sel_count, rows * 4));
  CUDA_OK(cudaMalloc(&sb->out, out_elems * 2));
  CUDA_OK(cudaStreamCreate(&sb->stream));
}

static void step_buffers_free(step_buffers *sb) {
  cudaStreamDestroy(sb->stream);
  cudaFree(sb->out);
  cudaFree(sb->sel_pages);
  cudaFree(sb->sel_count);
  cudaFree(sb->state_in);
  cudaFree(sb->state_out);
  cudaFree(sb->ws);
}

/* state_init over a buffer of 0xff bytes (NaN) against the interpreter's
 * initial state arrays, bit for bit: every entry of every state written,
 * each with the init value the .vtx declares (the kernel's float literal). */
static void check_state_init(const generated *gen, const vx_state_arrays *s0, int nstates, int B, int H, int P,
                             step_buffers *sb, const char *label) {
  const size_t per_state = (size_t)B * H * P;
  if (sb->state_bytes < (size_t)nstates * per_state * 4) {
    check("state", label, 0, "state_bytes %zu < %d states of %zu floats", sb->state_bytes, nstates, per_state);
    return;
  }
  float *got = malloc(sb->state_bytes);
  CUDA_OK(cudaMemset(sb->state_in, 0xff, sb->state_bytes));
  const int st = gen->state_init(sb->state_in, B, H, P, sb->stream);
  CUDA_OK(cudaStreamSynchronize(sb->stream));
  CUDA_OK(cudaMemcpy(got, sb->state_in, sb->state_bytes, cudaMemcpyDeviceToHost));
  size_t differ = 0;
  for (int s = 0; s < nstates; s++)
    for (size_t i = 0; i < per_state; i++) differ += memcmp(&got[s * per_state + i], &s0->data[s][i], 4) != 0;
  check("state", label, st == 0 && differ == 0, "state_init: status %d, %zu of %zu entries differ from the interpreter's",
        st, differ, (size_t)nstates * per_state);
  free(got);
}

/* Random inputs at the module's geometry (MLA: one latent "KV head"). */
static vx_random_spec random_spec(const vx_module *m, int batch, int kv_heads) {
  const vx_geometry *mg = &m->geo;
  vx_random_spec spec;
  memset(&spec, 0, sizeof spec);
  spec.geo.batch = batch;
  spec.geo.kv_heads = mg->kv == VX_KV_MLA ? 1 : kv_heads;
  spec.geo.group = mg->group;
  spec.geo.head_dim = mg->head_dim;
  spec.geo.page_size = mg->page_size;
  spec.geo.kv = mg->kv;
  spec.geo.mla_latent = mg->mla_latent;
  spec.geo.mla_rope = mg->mla_rope;
  spec.geo.kv_dtype = mg->kv_dtype;
  spec.spare_pages = 5;
  return spec;
}

static void run_case(const vx_module *m, const generated *gen, const test_case *tc, unsigned long long seed) {
  vx_random_spec spec = random_spec(m, tc->batch, tc->kv_heads);
  spec.context = tc->context;
  spec.ragged = tc->batch > 1;
  spec.seed = seed;
  vx_interp_error err = {{0}};
  vx_paged_inputs *in = vx_paged_inputs_random(&spec, &err);
  if (!in) {
    check("inputs", "", 0, "%s", err.message);
    return;
  }
  vx_interp_result *ref = vx_interp_step(m, in, &err);
  if (!ref) {
    check("interp", "", 0, "%s", err.message);
    vx_paged_inputs_free(in);
    return;
  }
  char label[96];
  snprintf(label, sizeof label, "B%d H%d L%d n<=%d", tc->batch, spec.geo.kv_heads, tc->context, in->max_pages);
  const int B = in->geo.batch, H = in->geo.kv_heads, P = in->max_pages, rows = B * H;
  device_inputs d;
  upload_inputs(in, &d);
  field_set f;
  fields_alloc(m, ref->fields, &f);
  const int out_dim = vx_paged_out_dim(&in->geo);
  const size_t out_elems = (size_t)B * H * in->geo.group * out_dim;
  step_buffers sb;
  step_buffers_alloc(gen, B, H, P, out_elems, &sb);
  const double ftol = worst_field_tolerance(m);

  /* cache_update of every page: CSR over NHD pools, block table over HND */
  int st = 0;
  double diff = 0;
  for (int lay = 0; lay < 2; lay++) {
    for (int i = 0; i < f.n; i++) CUDA_OK(cudaMemset(f.pool[i], 0, f.bytes[i]));
    st = gen->cache_update(lay ? &d.table_hnd : &d.csr, f.pool, P, sb.stream);
    CUDA_OK(cudaStreamSynchronize(sb.stream));
    diff = fields_diff(m, ref->fields, &f);
    check("cache", label, st == 0 && diff <= ftol, "%s: status %d, max rel diff %.3g (tol %.3g)",
          lay ? "block table HND" : "CSR NHD", st, diff, ftol);
  }

  /* cache_update_last after one decode token, and after prefill chunks of
   * 1-2 and 3-4 pages (+ partial) that start mid-page in most requests */
  const int ps = in->geo.page_size;
  check_append(m, gen, in, ref->fields, &f, &d.table, &d.table, 1, P, "block table NHD", label, 2 * ftol, sb.stream);
  check_append(m, gen, in, ref->fields, &f, &d.table, &d.table, ps + 3, P, "block table NHD", label, 2 * ftol, sb.stream);
  check_append(m, gen, in, ref->fields, &f, &d.table_hnd, &d.csr_hnd, 3 * ps + ps / 2, P, "CSR HND", label, 2 * ftol, sb.stream);

  /* index on the reference fields, both page-table formats */
  fields_upload(m, ref->fields, &f);
  vx_state_arrays *s0 = vx_state_arrays_new(m, in, &err);
  if (m->nstates) check_state_init(gen, s0, m->nstates, B, H, P, &sb, label);
  for (int s = 0; s < m->nstates; s++)
    CUDA_OK(cudaMemcpy(sb.state_in + (size_t)s * rows * P, s0->data[s], (size_t)rows * P * 4, cudaMemcpyHostToDevice));
  vx_selection got;
  memset(&got, 0, sizeof got);
  got.rows = rows;
  got.max_pages = P;
  got.page_count = ref->selection->page_count;
  got.scores = ref->selection->scores;
  got.count = malloc((size_t)rows * 4);
  got.pages = malloc((size_t)rows * P * 4);
  static const char *const formats[4] = {"CSR", "block table", "CSR HND", "block table HND"};
  for (int fmt = 0; fmt < 3; fmt++) {
    const vx_paged_kv *kv = fmt == 2 ? &d.csr_hnd : fmt ? &d.table : &d.csr;
    CUDA_OK(cudaMemset(sb.sel_pages, 0xff, (size_t)rows * P * 4));
    st = gen->index(kv, d.q, f.pool, sb.state_in, sb.state_out, P, sb.sel_pages, sb.sel_count, sb.ws, sb.ws_bytes, sb.stream);
    CUDA_OK(cudaStreamSynchronize(sb.stream));
    CUDA_OK(cudaMemcpy(got.count, sb.sel_count, (size_t)rows * 4, cudaMemcpyDeviceToHost));
    CUDA_OK(cudaMemcpy(got.pages, sb.sel_pages, (size_t)rows * P * 4, cudaMemcpyDeviceToHost));
    int exact = 0;
    long long selected = 0, pages = 0;
    for (int r = 0; r < rows; r++) {
      for (int i = got.count[r] >= 0 && got.count[r] <= P ? got.count[r] : 0; i < P; i++) got.pages[(size_t)r * P + i] = -1;
      exact += got.count[r] == ref->selection->count[r] &&
               memcmp(got.pages + (size_t)r * P, ref->selection->pages + (size_t)r * P, (size_t)got.count[r] * 4) == 0;
      selected += ref->selection->count[r];
      pages += ref->selection->page_count[r];
    }
    vx_interp_error serr = {{0}};
    const int same = st == 0 && vx_selection_equivalent(ref->selection, &got, 1e-3, &serr);
    check("index", label, same, "%s: %d/%d rows identical, %lld of %lld pages selected%s%s", formats[fmt], exact,
          rows, selected, pages, same ? "" : ", ", same ? "" : serr.message);
    if (m->nstates > 0 && fmt == 0) {
      double worst = 0;
      float *host = malloc((size_t)rows * P * 4);
      for (int s = 0; s < m->nstates; s++) {
        CUDA_OK(cudaMemcpy(host, sb.state_out + (size_t)s * rows * P, (size_t)rows * P * 4, cudaMemcpyDeviceToHost));
        const double dd = vx_max_rel_diff(host, ref->state->data[s], (size_t)rows * P);
        if (dd > worst) worst = dd;
      }
      free(host);
      check("state", label, worst <= 1e-3, "max rel diff %.3g (tol 1e-3)", worst);
    }
  }

  /* attention over the reference selection */
  CUDA_OK(cudaMemcpy(sb.sel_pages, ref->selection->pages, (size_t)rows * P * 4, cudaMemcpyHostToDevice));
  CUDA_OK(cudaMemcpy(sb.sel_count, ref->selection->count, (size_t)rows * 4, cudaMemcpyHostToDevice));
  for (int fmt = 0; fmt < 4; fmt++) {
    const vx_paged_kv *kv = fmt == 3 ? &d.table_hnd : fmt == 2 ? &d.csr_hnd : fmt ? &d.table : &d.csr;
    CUDA_OK(cudaMemset(sb.out, 0xff, out_elems * 2));
    st = gen->attend(kv, d.q, sb.sel_pages, sb.sel_count, P, 0.0f, sb.out, sb.ws, sb.ws_bytes, sb.stream);
    CUDA_OK(cudaStreamSynchronize(sb.stream));
    float *o = from_device_storage(sb.out, out_elems, in->geo.kv_dtype);
    diff = vx_max_rel_diff(o, ref->out_sparse, out_elems);
    free(o);
    check("attend", label, st == 0 && diff <= 2e-2, "%s: status %d, max rel diff %.3g (tol 2e-2)", formats[fmt], st, diff);
  }

  /* a whole step, eager then replayed from a CUDA graph, from equal states */
  {
    void *out2;
    CUDA_OK(cudaMalloc(&out2, out_elems * 2));
    fields_upload(m, ref->fields, &f);
    st = gen->step(&d.csr, d.q, f.pool, sb.state_in, sb.state_out, 1, P, 0.0f, sb.out, sb.ws, sb.ws_bytes, sb.stream);
    CUDA_OK(cudaStreamSynchronize(sb.stream));
    fields_upload(m, ref->fields, &f);
    CUDA_OK(cudaMemset(out2, 0, out_elems * 2));
    cudaGraph_t g;
    cudaGraphExec_t exec;
    CUDA_OK(cudaStreamBeginCapture(sb.stream, cudaStreamCaptureModeGlobal));
    const int st2 = gen->step(&d.csr, d.q, f.pool, sb.state_in, sb.state_out, 1, P, 0.0f, out2, sb.ws, sb.ws_bytes, sb.stream);
    CUDA_OK(cudaStreamEndCapture(sb.stream, &g));
    CUDA_OK(cudaGraphInstantiate(&exec, g, 0));
    CUDA_OK(cudaGraphLaunch(exec, sb.stream));
    CUDA_OK(cudaStreamSynchronize(sb.stream));
    void *h1 = malloc(out_elems * 2), *h2 = malloc(out_elems * 2);
    CUDA_OK(cudaMemcpy(h1, sb.out, out_elems * 2, cudaMemcpyDeviceToHost));
    CUDA_OK(cudaMemcpy(h2, out2, out_elems * 2, cudaMemcpyDeviceToHost));
    const int equal = memcmp(h1, h2, out_elems * 2) == 0;
    size_t nodes = 0;
    cudaGraphGetNodes(g, NULL, &nodes);
    check("graph", label, st == 0 && st2 == 0 && equal, "step status %d/%d, %zu graph nodes, replay %s eager", st, st2, nodes,
          equal ? "==" : "!=");
    /* The step is index then attend, bit for bit, whichever launches it
     * takes (-DVX_STEP_FUSE=1: one kernel where the plan allows). */
    fields_upload(m, ref->fields, &f);
    CUDA_OK(cudaMemset(out2, 0, out_elems * 2));
    int st3 = gen->index(&d.csr, d.q, f.pool, sb.state_in, sb.state_out, P, sb.sel_pages, sb.sel_count, sb.ws, sb.ws_bytes,
                         sb.stream);
    if (st3 == 0)
      st3 = gen->attend(&d.csr, d.q, sb.sel_pages, sb.sel_count, P, 0.0f, out2, sb.ws, sb.ws_bytes, sb.stream);
    CUDA_OK(cudaStreamSynchronize(sb.stream));
    CUDA_OK(cudaMemcpy(h2, out2, out_elems * 2, cudaMemcpyDeviceToHost));
    const int same = memcmp(h1, h2, out_elems * 2) == 0;
    check("step", label, st == 0 && st3 == 0 && same, "index + attend status %d, output %s the step's", st3,
          same ? "==" : "!=");
    free(h1);
    free(h2);
    cudaGraphExecDestroy(exec);
    cudaGraphDestroy(g);
    cudaFree(out2);
  }

  free(got.count);
  free(got.pages);
  vx_state_arrays_free(s0);
  step_buffers_free(&sb);
  for (int i = 0; i < f.n; i++) cudaFree(f.pool[i]);
  free_inputs(&d);
  vx_interp_result_free(ref);
  vx_paged_inputs_free(in);
}

/* --malformed: descriptors and page tables an engine could get wrong.
 * Host-visible errors (format, geometry, NULL arrays, sizes) must come back
 * as a non-zero status from every launcher. Device page tables are never
 * read by the host, so corrupt contents cannot be reported by a status (the
 * generated code has no device-side error flag); they must instead leave
 * every launch harmless: no CUDA error, nothing read or written outside the
 * pools (compute-sanitizer memcheck on this mode proves the latter). */
static int all_launchers(const generated *gen, const vx_paged_kv *kv, const device_inputs *d, void *const *pools, int P,
                         const step_buffers *sb, int st[5]) {
  st[0] = gen->cache_update(kv, pools, P, sb->stream);
  st[1] = gen->cache_update_last(kv, pools, 1, sb->stream);
  st[2] = gen->index(kv, d->q, pools, sb->state_in, sb->state_out, P, sb->sel_pages, sb->sel_count, sb->ws, sb->ws_bytes,
                     sb->stream);
  st[3] = gen->attend(kv, d->q, sb->sel_pages, sb->sel_count, P, 0.0f, sb->out, sb->ws, sb->ws_bytes, sb->stream);
  st[4] = gen->step(kv, d->q, pools, sb->state_in, sb->state_out, 1, P, 0.0f, sb->out, sb->ws, sb->ws_bytes, sb->stream);
  int nonzero = 0;
  for (int i = 0; i < 5; i++) nonzero += st[i] != 0;
  return nonzero;
}

static void run_malformed(const vx_module *m, const generated *gen) {
  vx_random_spec spec = random_spec(m, 4, 2);
  spec.context = 5 * m->geo.page_size + 3; /* request 0: 6 pages, the last partial */
  spec.ragged = 1;
  spec.seed = 4242;
  vx_interp_error err = {{0}};
  vx_paged_inputs *in = vx_paged_inputs_random(&spec, &err);
  vx_field_pools *ref = in ? vx_interp_cache_update(m, in, &err) : NULL;
  if (!ref) {
    check("malform", "", 0, "%s", err.message);
    vx_paged_inputs_free(in);
    return;
  }
  const int B = in->geo.batch, H = in->geo.kv_heads, P = in->max_pages, rows = B * H, ps = in->geo.page_size;
  const int pool = in->num_phys_pages, nidx = in->indptr[B];
  char label[96];
  snprintf(label, sizeof label, "B%d H%d n<=%d pool %d", B, H, P, pool);
  device_inputs d;
  upload_inputs(in, &d);
  field_set f;
  fields_alloc(m, ref, &f);
  step_buffers sb;
  step_buffers_alloc(gen, B, H, P, (size_t)B * H * in->geo.group * vx_paged_out_dim(&in->geo), &sb);
  if (sb.state_bytes) CUDA_OK(cudaMemset(sb.state_in, 0, sb.state_bytes));
  CUDA_OK(cudaMemset(sb.sel_count, 0, (size_t)rows * 4));
  int st[5];

  /* 1. What the host sees: every launcher must say no. */
  typedef struct bad_desc {
    const char *name;
    vx_paged_kv kv;
  } bad_desc;
  bad_desc bad[9];
  int nbad = 0;
  for (int i = 0; i < 9; i++) bad[i].kv = d.csr;
  bad[nbad].name = "format 7";
  bad[nbad++].kv.format = 7;
  bad[nbad].name = "page_size x2";
  bad[nbad++].kv.page_size = ps * 2;
  bad[nbad].name = "head_dim + 8";
  bad[nbad++].kv.head_dim += 8;
  bad[nbad].name = "other dtype";
  bad[nbad++].kv.dtype ^= 1;
  bad[nbad].name = "indices NULL";
  bad[nbad++].kv.indices = NULL;
  bad[nbad].name = "num_pages 0";
  bad[nbad++].kv.num_pages = 0;
  bad[nbad].name = "k_pool NULL";
  bad[nbad++].kv.k_pool = NULL;
  bad[nbad].name = "num_kv_heads 0";
  bad[nbad++].kv.num_kv_heads = 0;
  bad[nbad].kv = d.table;
  bad[nbad].name = "block_table_stride 0";
  bad[nbad++].kv.block_table_stride = 0;
  for (int i = 0; i < nbad; i++) {
    const int nz = all_launchers(gen, &bad[i].kv, &d, f.pool, P, &sb, st);
    check("reject", label, nz == 5, "%s: statuses cache %d, last %d, index %d, attend %d, step %d (all must be != 0)",
          bad[i].name, st[0], st[1], st[2], st[3], st[4]);
  }
  {
    const int a = gen->cache_update_last(&d.csr, f.pool, 0, sb.stream), b = gen->cache_update_last(NULL, f.pool, 1, sb.stream);
    const int c = gen->attend(&d.csr, d.q, sb.sel_pages, sb.sel_count, P, 0.0f, sb.out, sb.ws, 16, sb.stream);
    check("reject", label, a != 0 && b != 0 && c != 0, "new_tokens 0: %d, kv NULL: %d, workspace 16 bytes: %d (all must be != 0)",
          a, b, c);
  }
  { /* a workspace large enough but not 16-byte aligned: ERR_WORKSPACE (3 in every generated header) */
    void *off = (char *)sb.ws + 4;
    const int i = gen->index(&d.csr, d.q, f.pool, sb.state_in, sb.state_out, P, sb.sel_pages, sb.sel_count, off, sb.ws_bytes,
                             sb.stream);
    const int a = gen->attend(&d.csr, d.q, sb.sel_pages, sb.sel_count, P, 0.0f, sb.out, off, sb.ws_bytes, sb.stream);
    const int s = gen->step(&d.csr, d.q, f.pool, sb.state_in, sb.state_out, 0, P, 0.0f, sb.out, off, sb.ws_bytes, sb.stream);
    check("reject", label, i == 3 && a == 3 && s == 3, "workspace + 4 bytes: index %d, attend %d, step %d (all must be 3)", i,
          a, s);
  }
  CUDA_OK(cudaStreamSynchronize(sb.stream));

  /* 2. Corrupt device tables: statuses are 0 (the host cannot see them),
   *    every launch must finish without a CUDA error. */
  enum { NCORRUPT = 8 };
  static const char *const what[NCORRUPT] = {
      "CSR page id >= num_pages",   "CSR page id < 0",        "CSR indptr not monotone",   "CSR last_page_len 0",
      "CSR last_page_len > page (last pool page)", "CSR last_page_len < 0", "block table page id >= num_pages",
      "block table seq_len < 0"};
  int32_t *indptr = malloc((size_t)(B + 1) * 4), *indices = malloc((size_t)nidx * 4 + 4), *last = malloc((size_t)B * 4);
  int32_t *table = malloc((size_t)B * in->max_blocks * 4), *lens = malloc((size_t)B * 4);
  for (int c = 0; c < NCORRUPT; c++) {
    memcpy(indptr, in->indptr, (size_t)(B + 1) * 4);
    memcpy(indices, in->indices, (size_t)nidx * 4);
    memcpy(last, in->last_page_len, (size_t)B * 4);
    memcpy(table, in->block_table, (size_t)B * in->max_blocks * 4);
    memcpy(lens, in->seq_lens, (size_t)B * 4);
    switch (c) {
    case 0: indices[indptr[0] + 1] = pool + 1000; break;
    case 1: indices[indptr[3]] = -7; break;
    case 2: indptr[2] = indptr[1] - 1; break; /* request 1: -1 pages; request 2 two more */
    case 3: last[0] = 0; break;
    case 4: /* an overrun past the page runs off the end of the pool */
      last[0] = ps + 7;
      indices[indptr[1] - 1] = pool - 1;
      break;
    case 5: last[3] = -5; break;
    case 6: table[2] = pool + 5; break;
    default: lens[1] = -3; break;
    }
    int *d_indptr = dev_copy(indptr, (size_t)(B + 1) * 4), *d_indices = dev_copy(indices, (size_t)nidx * 4);
    int *d_last = dev_copy(last, (size_t)B * 4), *d_table = dev_copy(table, (size_t)B * in->max_blocks * 4);
    int *d_lens = dev_copy(lens, (size_t)B * 4);
    vx_paged_kv kv = c < 6 ? d.csr : d.table;
    if (c < 6) {
      kv.indptr = d_indptr;
      kv.indices = d_indices;
      kv.last_page_len = d_last;
    } else {
      kv.block_table = d_table;
      kv.seq_lens = d_lens;
    }
    all_launchers(gen, &kv, &d, f.pool, P, &sb, st);
    /* attention over every logical page slot too, whatever the index chose */
    int *all = malloc((size_t)rows * P * 4), *cnt = malloc((size_t)rows * 4);
    for (int r = 0; r < rows; r++) {
      cnt[r] = P;
      for (int j = 0; j < P; j++) all[(size_t)r * P + j] = j;
    }
    CUDA_OK(cudaMemcpy(sb.sel_pages, all, (size_t)rows * P * 4, cudaMemcpyHostToDevice));
    CUDA_OK(cudaMemcpy(sb.sel_count, cnt, (size_t)rows * 4, cudaMemcpyHostToDevice));
    free(all);
    free(cnt);
    const int st_all = gen->attend(&kv, d.q, sb.sel_pages, sb.sel_count, P, 0.0f, sb.out, sb.ws, sb.ws_bytes, sb.stream);
    const int st_chunk = gen->cache_update_last(&kv, f.pool, 2 * ps + 1, sb.stream);
    cudaError_t e = cudaStreamSynchronize(sb.stream);
    if (e == cudaSuccess) e = cudaGetLastError();
    check("malform", label, e == cudaSuccess, "%s: statuses cache %d, last %d/%d, index %d, attend %d/%d, step %d; %s", what[c],
          st[0], st[1], st_chunk, st[2], st[3], st_all, st[4], e == cudaSuccess ? "no CUDA error" : cudaGetErrorString(e));
    cudaFree(d_indptr);
    cudaFree(d_indices);
    cudaFree(d_last);
    cudaFree(d_table);
    cudaFree(d_lens);
    if (e != cudaSuccess) { /* the context is gone: nothing below can run */
      printf("== context lost after '%s': later malformed cases not run\n", what[c]);
      fflush(stdout);
      printf("== %s: %d failure(s)\n", m->name, failures);
      exit(1);
    }
  }
  free(indptr);
  free(indices);
  free(last);
  free(table);
  free(lens);
  step_buffers_free(&sb);
  for (int i = 0; i < f.n; i++) cudaFree(f.pool[i]);
  free_inputs(&d);
  vx_field_pools_free(ref);
  vx_paged_inputs_free(in);
}

/* --bench: batch 8, 8 KV heads, 32K tokens each (not ragged): times the
 * generated index (scores + top-k), attention over its selection, the
 * whole step, and attention over every page (dense, same kernel) with
 * CUDA events, against the bytes each must move at 4.27 TB/s (the copy
 * bandwidth measured on this H200, docs/DESIGN.md section 7). */
static float time_ms(cudaStream_t s, int reps, int (*body)(void *), void *ctx) {
  cudaEvent_t a, b;
  CUDA_OK(cudaEventCreate(&a));
  CUDA_OK(cudaEventCreate(&b));
  for (int i = 0; i < 3; i++) body(ctx);
  CUDA_OK(cudaEventRecord(a, s));
  for (int i = 0; i < reps; i++) body(ctx);
  CUDA_OK(cudaEventRecord(b, s));
  CUDA_OK(cudaEventSynchronize(b));
  float ms = 0;
  CUDA_OK(cudaEventElapsedTime(&ms, a, b));
  cudaEventDestroy(a);
  cudaEventDestroy(b);
  return ms / (float)reps;
}

typedef struct bench_ctx {
  const generated *gen;
  device_inputs *d;
  field_set *f;
  int P;
  step_buffers sb;
  int *all_pages, *all_count; /* every page of every row: the dense baseline */
} bench_ctx;

static int bench_index(void *p) {
  bench_ctx *c = p;
  const step_buffers *sb = &c->sb;
  return c->gen->index(&c->d->csr, c->d->q, c->f->pool, sb->state_in, sb->state_out, c->P, sb->sel_pages, sb->sel_count,
                       sb->ws, sb->ws_bytes, sb->stream);
}
static int bench_attend(void *p) {
  bench_ctx *c = p;
  const step_buffers *sb = &c->sb;
  return c->gen->attend(&c->d->csr, c->d->q, sb->sel_pages, sb->sel_count, c->P, 0.0f, sb->out, sb->ws, sb->ws_bytes,
                        sb->stream);
}
static int bench_dense(void *p) {
  bench_ctx *c = p;
  const step_buffers *sb = &c->sb;
  return c->gen->attend(&c->d->csr, c->d->q, c->all_pages, c->all_count, c->P, 0.0f, sb->out, sb->ws, sb->ws_bytes,
                        sb->stream);
}
static int bench_step(void *p) {
  bench_ctx *c = p;
  const step_buffers *sb = &c->sb;
  return c->gen->step(&c->d->csr, c->d->q, c->f->pool, sb->state_in, sb->state_out, 0, c->P, 0.0f, sb->out, sb->ws,
                      sb->ws_bytes, sb->stream);
}

static void run_bench(const vx_module *m, const generated *gen, size_t field_bytes_per_page) {
  const vx_geometry *mg = &m->geo;
  vx_paged_geometry g = {.batch = 8, .kv_heads = mg->kv == VX_KV_MLA ? 1 : 8, .group = mg->group, .head_dim = mg->head_dim,
                         .page_size = mg->page_size, .kv = mg->kv, .mla_latent = mg->mla_latent,
                         .mla_rope = mg->mla_rope, .kv_dtype = mg->kv_dtype};
  int32_t lens[8];
  for (int b = 0; b < 8; b++) lens[b] = 32768;
  vx_interp_error err = {{0}};
  vx_paged_inputs *in = vx_paged_inputs_new(&g, lens, 0, &err);
  if (!in) {
    check("bench", "", 0, "%s", err.message);
    return;
  }
  /* Values do not change timings: a cheap deterministic pattern, exactly
   * representable in bf16/f16. */
  const size_t pool = vx_paged_inputs_pool_elems(in);
  for (size_t i = 0; i < pool; i++) in->k_pool[i] = (float)((int)((i * 2654435761u) >> 24) % 17 - 8) / 8.0f;
  if (in->v_pool) memcpy(in->v_pool, in->k_pool, pool * 4);
  for (size_t i = 0; i < vx_paged_inputs_q_elems(in); i++) in->q[i] = (float)((int)((i * 40503u) >> 8) % 9 - 4) / 4.0f;
  const int B = g.batch, H = g.kv_heads, P = in->max_pages, rows = B * H;
  device_inputs d;
  upload_inputs(in, &d);
  field_set f;
  memset(&f, 0, sizeof f);
  f.n = m->nfields;
  for (int i = 0; i < f.n; i++) {
    f.bytes[i] = (size_t)in->num_phys_pages * H * field_bytes_per_page; /* >= any one field */
    CUDA_OK(cudaMalloc(&f.pool[i], f.bytes[i]));
  }
  bench_ctx c = {.gen = gen, .d = &d, .f = &f, .P = P};
  const size_t out_elems = (size_t)B * H * g.group * vx_paged_out_dim(&g);
  step_buffers_alloc(gen, B, H, P, out_elems, &c.sb);
  if (c.sb.state_bytes) gen->state_init(c.sb.state_in, B, H, P, 0);
  int *all = malloc((size_t)rows * P * 4), *cnt = malloc((size_t)rows * 4);
  for (int r = 0; r < rows; r++) {
    cnt[r] = P;
    for (int j = 0; j < P; j++) all[(size_t)r * P + j] = j;
  }
  c.all_pages = dev_copy(all, (size_t)rows * P * 4);
  c.all_count = dev_copy(cnt, (size_t)rows * 4);
  int st = gen->cache_update(&d.csr, f.pool, P, c.sb.stream);
  if (st == 0) st = bench_index(&c);
  CUDA_OK(cudaStreamSynchronize(c.sb.stream));
  CUDA_OK(cudaMemcpy(cnt, c.sb.sel_count, (size_t)rows * 4, cudaMemcpyDeviceToHost));
  long long selected = 0;
  for (int r = 0; r < rows; r++) selected += cnt[r];
  const double bw = 4.27e12, kv_row = (double)g.page_size * g.head_dim * 2 * (mg->kv == VX_KV_MLA ? 1 : 2);
  const double index_bytes = (double)rows * P * (double)field_bytes_per_page + (double)rows * g.group * g.head_dim * 2;
  const double sparse_bytes = (double)selected * kv_row, dense_bytes = (double)rows * P * kv_row;
  const float t_index = time_ms(c.sb.stream, 20, bench_index, &c), t_attend = time_ms(c.sb.stream, 20, bench_attend, &c);
  const float t_step = time_ms(c.sb.stream, 20, bench_step, &c), t_dense = time_ms(c.sb.stream, 10, bench_dense, &c);
  CUDA_OK(cudaStreamSynchronize(c.sb.stream));
  const double floor_step = (index_bytes + sparse_bytes) / bw * 1e3;
  check("bench", "B8 H8 L32768", st == 0 && cudaGetLastError() == cudaSuccess,
        "index %.3f ms (%.2fx floor), attend %.3f ms (%.2fx floor, %lld pages), step %.3f ms (%.2fx floor), "
        "dense %.3f ms (%.2fx floor), step speedup over dense %.2fx",
        t_index, t_index / (index_bytes / bw * 1e3), t_attend, t_attend / (sparse_bytes / bw * 1e3), selected, t_step,
        t_step / floor_step, t_dense, t_dense / (dense_bytes / bw * 1e3), t_dense / t_step);
  free(all);
  free(cnt);
  cudaFree(c.all_pages);
  cudaFree(c.all_count);
  step_buffers_free(&c.sb);
  for (int i = 0; i < f.n; i++) cudaFree(f.pool[i]);
  free_inputs(&d);
  vx_paged_inputs_free(in);
}

/* The run's verdict line; gen_check_nvrtc first checks that the NVRTC
 * build's kernels really ran (a static-cudart ALG.so, or a launch path the
 * interposers miss, would otherwise check the nvcc kernels again). */
static int finish(const vx_module *m) {
#ifdef GEN_NVRTC
  gen_nvrtc_print_launches();
  const long launches = gen_nvrtc_launches();
  check("nvrtc", "launches", launches > 0, "%ld launches went to NVRTC-built kernels", launches);
  gen_nvrtc_release();
#endif
  printf("== %s: %d failure(s)\n", m->name, failures);
  return failures ? 1 : 0;
}

static char *read_text(const char *path, size_t *len) {
  FILE *fp = fopen(path, "rb");
  if (!fp) return NULL;
  fseek(fp, 0, SEEK_END);
  long n = ftell(fp);
  fseek(fp, 0, SEEK_SET);
  char *s = malloc((size_t)n + 1);
  if (s && fread(s, 1, (size_t)n, fp) != (size_t)n) {
    free(s);
    s = NULL;
  }
  if (s) s[n] = '\0';
  fclose(fp);
  *len = (size_t)n;
  return s;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s ALG.so ALG.vir [--quick | --bench | --malformed]\n", argv[0]);
    return 2;
  }
  const int quick = argc > 3 && strcmp(argv[3], "--quick") == 0;
  const int bench = argc > 3 && strcmp(argv[3], "--bench") == 0;
  const int malformed = argc > 3 && strcmp(argv[3], "--malformed") == 0;
  size_t len;
  char *text = read_text(argv[2], &len);
  vx_arena arena;
  vx_arena_init(&arena);
  vx_diag_engine *diag = vx_diag_new(NULL);
  vx_module *m = text ? vx_read_module(argv[2], text, len, &arena, diag) : NULL;
  if (!m) {
    fprintf(stderr, "cannot read IR %s\n", argv[2]);
    return 1;
  }
  void *lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    fprintf(stderr, "dlopen %s: %s\n", argv[1], dlerror());
    return 1;
  }
  generated gen;
  gen.workspace_size = (size3_fn)sym(lib, m->name, "workspace_size");
  gen.state_bytes = (size3_fn)sym(lib, m->name, "state_bytes");
  gen.state_init = (state_init_fn)sym(lib, m->name, "state_init");
  gen.cache_update = (cache_fn)sym(lib, m->name, "cache_update");
  gen.cache_update_last = (cache_fn)sym(lib, m->name, "cache_update_last");
  gen.index = (index_fn)sym(lib, m->name, "index");
  gen.attend = (attend_fn)sym(lib, m->name, "attend");
  gen.step = (step_fn)sym(lib, m->name, "step");
#ifdef GEN_NVRTC
  { /* GEN_NVRTC_SOURCE: the ALG.cu that ALG.so was built from; GEN_NVRTC_OPTIONS: its -D flags */
    const char *cu_path = getenv("GEN_NVRTC_SOURCE");
    size_t cu_len;
    char *cu = cu_path ? read_text(cu_path, &cu_len) : NULL;
    const int mapped = cu ? gen_nvrtc_setup(lib, cu, cu_path, getenv("GEN_NVRTC_OPTIONS")) : -1;
    free(cu);
    if (mapped < 1) {
      fprintf(stderr, "gen_check_nvrtc: no kernel of %s mapped to an NVRTC build of %s\n", argv[1],
              cu_path ? cu_path : "(GEN_NVRTC_SOURCE unset)");
      return 1;
    }
  }
#endif
  printf("== %s (%s): %s head_dim %d group %d page %d\n", m->name, argv[1], m->geo.kv == VX_KV_MLA ? "MLA" : "GQA",
         m->geo.head_dim, m->geo.group, m->geo.page_size);
  if (bench) {
    run_bench(m, &gen, ((size_t(*)(void))sym(lib, m->name, "field_bytes_per_page"))());
    return finish(m);
  }
  if (malformed) {
    run_malformed(m, &gen);
    return finish(m);
  }
  /* batch, KV heads, context (the longest request; the rest are ragged) */
  /* The mma-form index launches its one-block-a-row kernel (fused) where
   * scoring would take one block a row (every case below on a 132-SM part
   * but B2 H2 x 16K/32K: 4 rows of 1024/2048 pages, which take the SCORE +
   * SELECT launches, and B20 H8: 160 rows, more than one fused block an SM
   * holds, which take the fused pair kernel, two 8-warp blocks an SM, and
   * B40 H8: 320 rows, more than the pair kernel's one wave), or
   * two with >= 90% of the SMs busy (step_bench's batch 16). The sanitizers
   * run the quick cases, so they hold one of each (B20 H8 x 200 tokens: the
   * pair kernel, 13 pages a row; B16 H8: the one-launch step of
   * -DVX_STEP_FUSE=1, whose plan needs one wide attention block a row).
   * Every case checks the step (graph replay, index + attend). */
  static const test_case quick_cases[] = {{3, 2, 300}, {2, 2, 16384}, {20, 8, 200}, {16, 8, 300}};
  static const test_case full_cases[] = {{1, 1, 1},       {5, 2, 1000},  {64, 2, 2048},
                                         {2, 2, 32768},   {16, 8, 4096}, {20, 8, 1500},
                                         {40, 8, 1500}};
  const test_case *cases = quick ? quick_cases : full_cases;
  const int ncases = quick ? (int)(sizeof quick_cases / sizeof quick_cases[0]) : (int)(sizeof full_cases / sizeof full_cases[0]);
  for (int i = 0; i < ncases; i++) run_case(m, &gen, &cases[i], 1000 + (unsigned long long)i);
  const int status = finish(m);
  dlclose(lib);
  vx_diag_free(diag);
  vx_arena_free(&arena);
  free(text);
  return status;
}

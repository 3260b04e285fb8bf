/* The IR interpreter: the reference semantics every generated GPU kernel
 * is checked against, and the oracle of the pass-equivalence tests.
 * Plain C, CPU only, deterministic (rows are independent, so threading
 * never changes a result). Full prose in docs/semantics.md; the rules
 * that kernels must reproduce bit-for-bit or within tolerance are:
 *
 * INPUTS (vx_paged_inputs)
 *   Geometry: B requests, H KV heads, G query heads per KV head, head dim
 *   D, page size P. MLA: H = 1, D = dc + dr, one latent pool (k_pool),
 *   no v_pool, output dim dc. Request b has L_b >= 1 tokens in
 *   n_b = ceil(L_b / P) pages; its last page holds
 *   last_page_len[b] = L_b - (n_b - 1) * P tokens (1..P).
 *   Page table (CSR, FlashInfer style): logical page j of request b is
 *   physical page indices[indptr[b] + j]. The equivalent vLLM block table
 *   (block_table[b * max_blocks + j], seq_lens[b]) must agree with it.
 *   K/V pools are NHD: [num_phys_pages][P][H][D] f32 values exactly
 *   representable in the KV storage type (bf16/f16), so GPUs store them
 *   losslessly; q [B][H*G][D] likewise. Token slots past last_page_len
 *   hold arbitrary data that must never influence any result.
 *
 * VALUES
 *   Every IR value is a dense f32 tensor over its named axes, laid out in
 *   the canonical order page, head, sub, tok, dim (innermost last).
 *   Extents: page = n_b, head = G, tok = P (or the split width s after a
 *   split), sub = P / s, dim = D. Elementwise ops compute in double and
 *   round once to f32; reductions accumulate in double. max/min follow
 *   fmax/fmin (a NaN operand yields the other one); relu(NaN) = 0;
 *   where(c, a, b) = c != 0 ? a : b; comparisons give 1.0 / 0.0.
 *
 * CACHE_UPDATE, per (request, logical page, KV head)
 *   input.k / input.v are the page's [tok, dim] slice of the pools (MLA:
 *   input.k is the latent; input.v is an error). Only VALID tokens (index
 *   < last_page_len on the last page, all P elsewhere) take part in
 *   reductions and softmax/normalize over tok; after a split, a slice
 *   is valid when it holds at least one valid token, and reductions over
 *   sub cover valid slices only. A reduction over an empty set yields 0
 *   (mean divides by the valid count). store.field rounds to the field's
 *   storage dtype (round-to-nearest-even bf16/f16) and writes 0 at
 *   invalid token/slice positions. Field pools are
 *   [num_phys_pages][H][field elems] indexed by PHYSICAL page id; pages
 *   no request references stay 0; a page shared by several requests
 *   (prefix sharing) must hold the same token count in each.
 *
 * INDEX, per row r = b * H + h
 *   load.field gathers the field through the page table ([page, ...]);
 *   load.state reads state[r][0..n_b) of the previous step (double
 *   buffered: every load sees the old values, store.state writes the new
 *   array; entries >= n_b are carried over unchanged). page.index = j,
 *   page.count = n_b, page.age = n_b - 1 - j. Reductions and
 *   softmax/normalize over page cover the n_b pages. Field positions that
 *   were invalid in cache_update read back as the stored 0 (no masking).
 *   The score is the select's first operand broadcast to [page].
 *   select.top(score, budget): budget = floor(value) clamped to [0, n]
 *     (NaN -> 0); pages [0, keep_first) and [n - keep_last, n) (clamped)
 *     are always selected; of the others the `budget` highest scores,
 *     ties -> lower page index, NaN ranks lowest. Never more than n.
 *   select.threshold(score, t): kept pages + pages with score >= t.
 *   select.mass(score, p): kept pages + the shortest prefix of the other
 *     pages in descending score order (ties -> lower index) whose softmax
 *     mass (softmax over the other pages' scores, NaN as -inf, all -inf
 *     -> uniform) reaches p; p <= 0 adds none, p >= 1 adds all.
 *   Output: selected logical page indices ascending, and their count.
 *
 * ATTENTION, per (request, query head qh), KV head h = qh / G
 *   Exact softmax over the valid tokens of the selected pages of row
 *   (b, h), logits = scale * q . k (scale defaults to 1/sqrt(D); MLA:
 *   q . latent over dc + dr), double accumulation, output the weighted
 *   sum of v (MLA: of the first dc latent elements), rounded to f32.
 *   No selected page -> output 0. Dense attention = all n_b pages.
 *
 * ERRORS: no function here aborts or prints. Bad inputs (page ids out of
 * range, last_page_len outside 1..P, lengths/tables inconsistent, an op
 * the interpreter cannot evaluate) return NULL / false and fill a
 * vx_interp_error; everything allocated so far is freed. */
#ifndef VX_INTERP_H
#define VX_INTERP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ir.h"

typedef struct vx_interp_error {
  char message[256]; /* one line, no trailing newline; "" when no error */
} vx_interp_error;

/* ---------------------------------------------------------------- rng */

/* xoshiro256** seeded through splitmix64: small, fast, identical on every
 * platform (only integer arithmetic), no global state. */
typedef struct vx_rng {
  uint64_t s[4];
} vx_rng;

void vx_rng_seed(vx_rng *rng, uint64_t seed);
uint64_t vx_rng_next(vx_rng *rng);
/* Uniform integer in [0, bound) (bound > 0), without modulo bias. */
uint64_t vx_rng_below(vx_rng *rng, uint64_t bound);
/* Approximately N(0, 1) from one draw (Irwin-Hall of four 16-bit
 * uniforms, rescaled): exact arithmetic only, reproducible everywhere. */
double vx_rng_normal(vx_rng *rng);

/* ------------------------------------------------------- storage types */

/* Round-to-nearest-even conversions (NaN stays NaN, overflow -> inf). */
uint16_t vx_f32_to_bf16_bits(float x);
float vx_bf16_bits_to_f32(uint16_t b);
uint16_t vx_f32_to_f16_bits(float x);
float vx_f16_bits_to_f32(uint16_t h);
/* x rounded to `dtype` and widened back to f32 (F32/DEFAULT: unchanged). */
float vx_round_to_dtype(float x, vx_dtype dtype);

/* -------------------------------------------------------------- inputs */

typedef struct vx_paged_geometry {
  int batch;       /* B */
  int kv_heads;    /* H (MLA: 1) */
  int group;       /* G: query heads per KV head (MLA: all query heads) */
  int head_dim;    /* D (MLA: dc + dr) */
  int page_size;   /* P */
  vx_kv_kind kv;   /* GQA or MLA */
  int mla_latent;  /* dc (MLA only) */
  int mla_rope;    /* dr (MLA only) */
  vx_dtype kv_dtype; /* storage type of K/V/q values: BF16 or F16 (F32 allowed) */
} vx_paged_geometry;

typedef struct vx_paged_inputs {
  vx_paged_geometry geo;
  uint64_t seed;           /* what generated them (0 when loaded without one) */
  float scale;             /* attention logit scale, default 1/sqrt(D) */
  int max_pages;           /* max_b n_b: width of state arrays and selections */
  int num_phys_pages;      /* pool size (>= sum n_b; spare pages allowed) */
  int32_t *seq_lens;       /* [B] L_b >= 1 */
  /* CSR page table */
  int32_t *indptr;         /* [B + 1], indptr[0] = 0 */
  int32_t *indices;        /* [indptr[B]] physical page ids */
  int32_t *last_page_len;  /* [B] 1..P */
  /* vLLM block table, same pages; padding entries are 0 */
  int max_blocks;          /* = max_pages */
  int32_t *block_table;    /* [B][max_blocks] */
  /* pools and query (NHD) */
  float *k_pool;           /* [num_phys_pages][P][H][D] (MLA: the latent, H = 1) */
  float *v_pool;           /* [num_phys_pages][P][H][D]; NULL for MLA */
  float *q;                /* [B][H*G][D] */
} vx_paged_inputs;

typedef struct vx_random_spec {
  vx_paged_geometry geo;
  int context;             /* L: tokens per request (the maximum when ragged) */
  bool ragged;             /* request 0 gets L, request 1 one token, request 2 a
                            * whole number of pages, the rest uniform in [1, L] */
  const int32_t *lengths;  /* optional [B] explicit lengths (overrides context/ragged) */
  int spare_pages;         /* unreferenced physical pages mixed into the pool */
  uint64_t seed;
} vx_random_spec;

/* Random inputs: shuffled physical pages, values ~N(0,1) rounded through
 * geo.kv_dtype, garbage in invalid slots. NULL + err on bad spec/OOM. */
vx_paged_inputs *vx_paged_inputs_random(const vx_random_spec *spec, vx_interp_error *err);
/* Allocates zeroed arrays for the given geometry and lengths and builds
 * identity page tables (logical page k of the batch = physical page k;
 * tests then overwrite what they need). */
vx_paged_inputs *vx_paged_inputs_new(const vx_paged_geometry *geo, const int32_t *seq_lens,
                                     int spare_pages, vx_interp_error *err);
void vx_paged_inputs_free(vx_paged_inputs *in);
/* Checks geometry, lengths, CSR and block tables against each other. */
bool vx_paged_inputs_validate(const vx_paged_inputs *in, vx_interp_error *err);
/* Element counts of the arrays (for writers/readers). */
size_t vx_paged_inputs_pool_elems(const vx_paged_inputs *in); /* one of k/v pool */
size_t vx_paged_inputs_q_elems(const vx_paged_inputs *in);
/* Output row width: D (GQA) or dc (MLA). */
int vx_paged_out_dim(const vx_paged_geometry *geo);

/* ------------------------------------------------------------- fields */

typedef struct vx_field_pools {
  int nfields;
  int num_phys_pages, kv_heads;
  int *elems;      /* [nfields] elements per (page, head) of each field */
  float **data;    /* [nfields] -> [num_phys_pages][H][elems], storage-rounded */
} vx_field_pools;

/* Elements of one field per (page, head) under the input geometry
 * (canonical axis order sub, tok, dim); -1 if the shape is unsupported. */
int vx_interp_field_elems(vx_shape shape, const vx_paged_geometry *geo);

/* Runs cache_update for every (request, page, KV head). */
vx_field_pools *vx_interp_cache_update(const vx_module *m, const vx_paged_inputs *in, vx_interp_error *err);
void vx_field_pools_free(vx_field_pools *p);

/* ------------------------------------------------------------- states */

typedef struct vx_state_arrays {
  int nstates;
  int rows, max_pages; /* rows = B * H */
  float **data;        /* [nstates] -> [rows][max_pages] */
} vx_state_arrays;

/* Every state initialised to the module's init value. */
vx_state_arrays *vx_state_arrays_new(const vx_module *m, const vx_paged_inputs *in, vx_interp_error *err);
vx_state_arrays *vx_state_arrays_copy(const vx_state_arrays *s, vx_interp_error *err);
void vx_state_arrays_free(vx_state_arrays *s);

/* ---------------------------------------------------------- selection */

typedef struct vx_selection {
  int rows, max_pages;     /* rows = B * H, row r = b * H + h */
  int32_t *page_count;     /* [rows] n_b */
  int32_t *count;          /* [rows] selected pages */
  int32_t *pages;          /* [rows][max_pages] ascending logical ids, padding -1 */
  float *scores;           /* [rows][max_pages] score before select, padding 0 */
} vx_selection;

/* Runs the index function and its select for every row. `state_in` is the
 * previous step's state (NULL: module init values); when `state_out` is
 * non-NULL it receives the next step's state (a new object). */
vx_selection *vx_interp_index(const vx_module *m, const vx_paged_inputs *in, const vx_field_pools *fields,
                              const vx_state_arrays *state_in, vx_state_arrays **state_out,
                              vx_interp_error *err);
/* Every page of every row selected (dense attention's selection). */
vx_selection *vx_selection_all(const vx_paged_inputs *in, vx_interp_error *err);
void vx_selection_free(vx_selection *s);

/* The select rule alone on one row (exposed for tests and for the
 * selection-equivalence helper): writes selected logical ids ascending
 * into out[0..n) and returns the count. `scratch` holds >= n ints. */
int vx_select_top(const float *score, int n, double budget, int keep_first, int keep_last, int32_t *out,
                  int32_t *scratch);
int vx_select_threshold(const float *score, int n, double threshold, int keep_first, int keep_last,
                        int32_t *out);
int vx_select_mass(const float *score, int n, double mass, int keep_first, int keep_last, int32_t *out,
                   int32_t *scratch);

/* ---------------------------------------------------------- attention */

/* out [B][H*G][out_dim] (see vx_paged_out_dim); exact softmax attention
 * over the selected pages. false + err on a malformed selection. */
bool vx_interp_attention(const vx_paged_inputs *in, const vx_selection *sel, float *out, vx_interp_error *err);

/* ------------------------------------------------------- a whole step */

typedef struct vx_interp_result {
  vx_field_pools *fields;
  vx_selection *selection;    /* after the index function of the last step */
  vx_state_arrays *state;     /* state after the last step */
  float *out_sparse;          /* [B][H*G][out_dim] over the selection */
  float *out_dense;           /* [B][H*G][out_dim] over all pages */
  size_t out_elems;
  double ms_cache_update, ms_index, ms_sparse, ms_dense; /* wall time of each phase */
} vx_interp_result;

/* cache_update, then `steps` (>= 1) index steps chained through the
 * state (same q and KV every step), then sparse and dense attention on
 * the last step's selection. */
vx_interp_result *vx_interp_run(const vx_module *m, const vx_paged_inputs *in, int steps, vx_interp_error *err);
static inline vx_interp_result *vx_interp_step(const vx_module *m, const vx_paged_inputs *in,
                                               vx_interp_error *err) {
  return vx_interp_run(m, in, 1, err);
}
void vx_interp_result_free(vx_interp_result *r);

/* ------------------------------------------------------ comparisons */

/* True when two selections of the same inputs are equivalent: identical
 * page sets, or sets that differ only in pages whose score (in `a`) lies
 * within rel_tol * max(1, |boundary score|) of the row's selection
 * boundary (near-ties that legitimately flip under reassociation).
 * On mismatch writes the first differing row to err. */
bool vx_selection_equivalent(const vx_selection *a, const vx_selection *b, double rel_tol, vx_interp_error *err);
/* max |a - b| / max(1, |b|) over n elements (NaN in either -> +inf unless both NaN). */
double vx_max_rel_diff(const float *a, const float *b, size_t n);
/* FNV-1a over the f32 bit patterns, and a plain double sum: printed by
 * `vortexc run` so GPU runs can be compared at a glance. */
uint64_t vx_checksum_f32(const float *x, size_t n);
double vx_sum_f32(const float *x, size_t n);

#endif

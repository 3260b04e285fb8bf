/* Paged decode inputs for the interpreter: allocation, random generation
 * with shuffled physical pages, and validation of the page tables. */
#include "interp.h"
#include "interp_parallel.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool fail(vx_interp_error *err, const char *msg) {
  if (err)
    snprintf(err->message, sizeof err->message, "%s", msg);
  return false;
}

#define FAILF(err, ...) ((err) ? (void)snprintf((err)->message, sizeof (err)->message, __VA_ARGS__) : (void)0)

int vx_paged_out_dim(const vx_paged_geometry *geo) {
  return geo->kv == VX_KV_MLA ? geo->mla_latent : geo->head_dim;
}

size_t vx_paged_inputs_pool_elems(const vx_paged_inputs *in) {
  const vx_paged_geometry *g = &in->geo;
  return (size_t)in->num_phys_pages * (size_t)g->page_size * (size_t)g->kv_heads * (size_t)g->head_dim;
}

size_t vx_paged_inputs_q_elems(const vx_paged_inputs *in) {
  const vx_paged_geometry *g = &in->geo;
  return (size_t)g->batch * (size_t)g->kv_heads * (size_t)g->group * (size_t)g->head_dim;
}

static bool geometry_ok(const vx_paged_geometry *g, vx_interp_error *err) {
  if (g->batch < 1 || g->kv_heads < 1 || g->group < 1 || g->head_dim < 1 || g->page_size < 1) {
    FAILF(err, "bad geometry: batch %d, kv heads %d, group %d, head dim %d, page size %d must all be >= 1",
          g->batch, g->kv_heads, g->group, g->head_dim, g->page_size);
    return false;
  }
  if (g->batch > (1 << 20) || g->kv_heads > 4096 || g->group > 4096 || g->head_dim > 65536 ||
      g->page_size > 65536)
    return fail(err, "bad geometry: a dimension is implausibly large");
  if (g->kv == VX_KV_MLA) {
    if (g->kv_heads != 1)
      return fail(err, "bad geometry: MLA has exactly one (latent) KV head");
    if (g->mla_latent < 1 || g->mla_rope < 0 || g->mla_latent + g->mla_rope != g->head_dim) {
      FAILF(err, "bad geometry: MLA needs dc >= 1, dr >= 0 and head dim = dc + dr (got %d + %d vs %d)",
            g->mla_latent, g->mla_rope, g->head_dim);
      return false;
    }
  }
  return true;
}

void vx_paged_inputs_free(vx_paged_inputs *in) {
  if (!in)
    return;
  free(in->seq_lens);
  free(in->indptr);
  free(in->indices);
  free(in->last_page_len);
  free(in->block_table);
  free(in->k_pool);
  free(in->v_pool);
  free(in->q);
  free(in);
}

static int pages_for(int len, int page_size) { return (len + page_size - 1) / page_size; }

vx_paged_inputs *vx_paged_inputs_new(const vx_paged_geometry *geo, const int32_t *seq_lens, int spare_pages,
                                     vx_interp_error *err) {
  if (!geometry_ok(geo, err))
    return NULL;
  if (spare_pages < 0) {
    fail(err, "spare pages must be >= 0");
    return NULL;
  }
  int B = geo->batch;
  int64_t total = 0;
  int max_pages = 0;
  for (int b = 0; b < B; b++) {
    if (seq_lens[b] < 1) {
      FAILF(err, "request %d has %d tokens; every request needs at least 1", b, (int)seq_lens[b]);
      return NULL;
    }
    int n = pages_for(seq_lens[b], geo->page_size);
    total += n;
    if (n > max_pages)
      max_pages = n;
  }
  if (total + spare_pages > INT32_MAX / 2) {
    fail(err, "too many pages");
    return NULL;
  }
  vx_paged_inputs *in = calloc(1, sizeof *in);
  if (!in) {
    fail(err, "out of memory");
    return NULL;
  }
  in->geo = *geo;
  in->scale = (float)(1.0 / sqrt((double)geo->head_dim));
  in->max_pages = max_pages;
  in->max_blocks = max_pages;
  in->num_phys_pages = (int)total + spare_pages;
  in->seq_lens = malloc((size_t)B * sizeof *in->seq_lens);
  in->indptr = malloc((size_t)(B + 1) * sizeof *in->indptr);
  in->indices = malloc((size_t)(total ? total : 1) * sizeof *in->indices);
  in->last_page_len = malloc((size_t)B * sizeof *in->last_page_len);
  in->block_table = calloc((size_t)B * (size_t)max_pages, sizeof *in->block_table);
  in->k_pool = calloc(vx_paged_inputs_pool_elems(in), sizeof(float));
  in->v_pool = geo->kv == VX_KV_MLA ? NULL : calloc(vx_paged_inputs_pool_elems(in), sizeof(float));
  in->q = calloc(vx_paged_inputs_q_elems(in), sizeof(float));
  if (!in->seq_lens || !in->indptr || !in->indices || !in->last_page_len || !in->block_table || !in->k_pool ||
      (geo->kv != VX_KV_MLA && !in->v_pool) || !in->q) {
    vx_paged_inputs_free(in);
    fail(err, "out of memory allocating paged inputs");
    return NULL;
  }
  int32_t next = 0;
  in->indptr[0] = 0;
  for (int b = 0; b < B; b++) {
    int n = pages_for(seq_lens[b], geo->page_size);
    in->seq_lens[b] = seq_lens[b];
    in->last_page_len[b] = seq_lens[b] - (n - 1) * geo->page_size;
    for (int j = 0; j < n; j++) {
      in->indices[next] = next;
      in->block_table[(size_t)b * (size_t)max_pages + (size_t)j] = next;
      next++;
    }
    in->indptr[b + 1] = next;
  }
  return in;
}

/* Lengths for the random spec: explicit, uniform, or the ragged mix that
 * always covers the edge cases (longest, one token, whole pages). */
static void choose_lengths(const vx_random_spec *spec, vx_rng *rng, int32_t *lens) {
  int B = spec->geo.batch, L = spec->context, P = spec->geo.page_size;
  for (int b = 0; b < B; b++) {
    if (spec->lengths)
      lens[b] = spec->lengths[b];
    else if (!spec->ragged || b == 0)
      lens[b] = L;
    else if (b == 1)
      lens[b] = 1;
    else if (b == 2 && L >= P)
      lens[b] = (int32_t)((1 + vx_rng_below(rng, (uint64_t)(L / P))) * (uint64_t)P);
    else
      lens[b] = (int32_t)(1 + vx_rng_below(rng, (uint64_t)L));
  }
}

/* Fills x[0..n) with `chunks` independently seeded streams of `chunk`
 * values each, so chunks can be generated in parallel and the result does
 * not depend on the thread count. */
static void fill_normal(float *x, size_t chunks, size_t chunk, uint64_t seed, uint64_t stream, vx_dtype dtype) {
  VX_OMP(parallel for schedule(static))
  for (size_t c = 0; c < chunks; c++) {
    vx_rng rng;
    vx_rng_seed(&rng, seed ^ ((stream << 40) + c) * 0xD1B54A32D192ED03ull);
    float *p = x + c * chunk;
    for (size_t i = 0; i < chunk; i++)
      p[i] = vx_round_to_dtype((float)vx_rng_normal(&rng), dtype);
  }
}

vx_paged_inputs *vx_paged_inputs_random(const vx_random_spec *spec, vx_interp_error *err) {
  if (!spec->lengths && spec->context < 1) {
    fail(err, "context must be >= 1 token");
    return NULL;
  }
  if (!geometry_ok(&spec->geo, err))
    return NULL;
  int B = spec->geo.batch;
  int32_t *lens = malloc((size_t)B * sizeof *lens);
  if (!lens) {
    fail(err, "out of memory");
    return NULL;
  }
  vx_rng rng;
  vx_rng_seed(&rng, spec->seed);
  choose_lengths(spec, &rng, lens);
  vx_paged_inputs *in = vx_paged_inputs_new(&spec->geo, lens, spec->spare_pages, err);
  free(lens);
  if (!in)
    return NULL;
  in->seed = spec->seed;
  /* Fisher-Yates over the physical ids, so logical order never matches
   * physical order and spare pages are interleaved with used ones. */
  int np = in->num_phys_pages;
  int32_t *perm = malloc((size_t)np * sizeof *perm);
  if (!perm) {
    vx_paged_inputs_free(in);
    fail(err, "out of memory");
    return NULL;
  }
  for (int i = 0; i < np; i++)
    perm[i] = i;
  for (int i = np - 1; i > 0; i--) {
    int j = (int)vx_rng_below(&rng, (uint64_t)i + 1);
    int32_t t = perm[i];
    perm[i] = perm[j];
    perm[j] = t;
  }
  for (int b = 0; b < B; b++)
    for (int j = 0; j < in->indptr[b + 1] - in->indptr[b]; j++) {
      int32_t phys = perm[in->indptr[b] + j];
      in->indices[in->indptr[b] + j] = phys;
      in->block_table[(size_t)b * (size_t)in->max_blocks + (size_t)j] = phys;
    }
  free(perm);
  /* Invalid slots of last pages get values too: they must be ignored. */
  size_t page_elems = vx_paged_inputs_pool_elems(in) / (size_t)np;
  fill_normal(in->k_pool, (size_t)np, page_elems, spec->seed, 1, spec->geo.kv_dtype);
  if (in->v_pool)
    fill_normal(in->v_pool, (size_t)np, page_elems, spec->seed, 2, spec->geo.kv_dtype);
  fill_normal(in->q, (size_t)B, vx_paged_inputs_q_elems(in) / (size_t)B, spec->seed, 3, spec->geo.kv_dtype);
  return in;
}

bool vx_paged_inputs_validate(const vx_paged_inputs *in, vx_interp_error *err) {
  const vx_paged_geometry *g = &in->geo;
  if (!geometry_ok(g, err))
    return false;
  if (!in->seq_lens || !in->indptr || !in->indices || !in->last_page_len || !in->k_pool || !in->q ||
      (g->kv != VX_KV_MLA && !in->v_pool))
    return fail(err, "paged inputs: a required array is missing");
  if (in->indptr[0] != 0) {
    FAILF(err, "page table: indptr[0] is %d, expected 0", (int)in->indptr[0]);
    return false;
  }
  if (!(in->scale > 0.0f) || !isfinite(in->scale))
    return fail(err, "attention scale must be a positive finite number");
  int max_pages = 0;
  for (int b = 0; b < g->batch; b++) {
    int n = in->indptr[b + 1] - in->indptr[b];
    if (n < 1) {
      FAILF(err, "page table: request %d has %d pages (indptr[%d] = %d, indptr[%d] = %d); every request needs >= 1",
            b, n, b, (int)in->indptr[b], b + 1, (int)in->indptr[b + 1]);
      return false;
    }
    if (n > max_pages)
      max_pages = n;
    int lpl = in->last_page_len[b];
    if (lpl < 1 || lpl > g->page_size) {
      FAILF(err, "page table: last_page_len[%d] = %d is outside 1..%d", b, lpl, g->page_size);
      return false;
    }
    int64_t expect = (int64_t)(n - 1) * g->page_size + lpl;
    if (in->seq_lens[b] != expect) {
      FAILF(err, "request %d: seq_lens = %d but the page table holds %d pages with %d tokens in the last (%lld tokens)",
            b, (int)in->seq_lens[b], n, lpl, (long long)expect);
      return false;
    }
    for (int j = 0; j < n; j++) {
      int32_t phys = in->indices[in->indptr[b] + j];
      if (phys < 0 || phys >= in->num_phys_pages) {
        FAILF(err, "page table: request %d page %d maps to physical page %d, outside 0..%d", b, j, (int)phys,
              in->num_phys_pages - 1);
        return false;
      }
      if (in->block_table && (j >= in->max_blocks ||
                              in->block_table[(size_t)b * (size_t)in->max_blocks + (size_t)j] != phys)) {
        FAILF(err, "block table disagrees with the CSR page table at request %d page %d", b, j);
        return false;
      }
    }
  }
  if (max_pages > in->max_pages) {
    FAILF(err, "max_pages is %d but request pages go up to %d", in->max_pages, max_pages);
    return false;
  }
  return true;
}

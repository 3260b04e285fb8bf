/* cache_update for every (request, logical page, KV head): the page's
 * keys/values go through the function, and each store.field lands in the
 * field pool slot of the page's PHYSICAL id. */
#include <stdlib.h>
#include <string.h>

#include "interp_eval.h"
#include "interp_parallel.h"

int vx_interp_field_elems(vx_shape shape, const vx_paged_geometry *geo) {
  if (vx_shape_has(shape, VX_AXIS_PAGE) || vx_shape_has(shape, VX_AXIS_HEAD))
    return -1;
  vx_eval_frame fr = {.page_size = geo->page_size, .head_dim = geo->head_dim, .valid_tokens = geo->page_size};
  int ext[VX_AXIS_COUNT];
  size_t size;
  if (!vx_tensor_extents(shape, &fr, ext, &size, NULL) || size > (1u << 24))
    return -1;
  return (int)size;
}

void vx_field_pools_free(vx_field_pools *p) {
  if (!p)
    return;
  for (int i = 0; i < p->nfields && p->data; i++)
    free(p->data[i]);
  free(p->data);
  free(p->elems);
  free(p);
}

static vx_field_pools *pools_new(const vx_module *m, const vx_paged_inputs *in, vx_interp_error *err) {
  vx_field_pools *p = calloc(1, sizeof *p);
  if (!p) {
    vx_interp_fail(err, "out of memory");
    return NULL;
  }
  p->nfields = m->nfields;
  p->num_phys_pages = in->num_phys_pages;
  p->kv_heads = in->geo.kv_heads;
  p->elems = calloc((size_t)(m->nfields ? m->nfields : 1), sizeof *p->elems);
  p->data = calloc((size_t)(m->nfields ? m->nfields : 1), sizeof *p->data);
  if (!p->elems || !p->data) {
    vx_field_pools_free(p);
    vx_interp_fail(err, "out of memory");
    return NULL;
  }
  for (int f = 0; f < m->nfields; f++) {
    p->elems[f] = vx_interp_field_elems(m->fields[f].shape, &in->geo);
    if (p->elems[f] < 0) {
      char buf[64];
      vx_interp_fail(err, "field %s has shape %s, which a per-page summary cannot have (or whose split does not divide page size %d)",
                     m->fields[f].name, vx_shape_format(m->fields[f].shape, buf, sizeof buf), in->geo.page_size);
      vx_field_pools_free(p);
      return NULL;
    }
    p->data[f] = calloc((size_t)in->num_phys_pages * (size_t)p->kv_heads * (size_t)p->elems[f], sizeof(float));
    if (!p->data[f]) {
      vx_field_pools_free(p);
      vx_interp_fail(err, "out of memory allocating field pool %s", m->fields[f].name);
      return NULL;
    }
  }
  return p;
}

/* What one evaluation of cache_update sees. */
typedef struct cache_ctx {
  const vx_module *m;
  const vx_paged_inputs *in;
  vx_field_pools *pools;
  int phys, head, valid_tokens;
  float *staging; /* one field value, broadcast to the field's shape */
} cache_ctx;

static bool cache_source(void *ctx_, const vx_op *op, vx_tensor *out, vx_interp_error *err) {
  cache_ctx *c = ctx_;
  const vx_paged_geometry *g = &c->in->geo;
  if (op->code != VX_OP_INPUT_K && op->code != VX_OP_INPUT_V)
    return vx_interp_fail(err, "%s %%%d cannot appear in cache_update", vx_op_info_of(op->code)->mnemonic, op->id);
  if (op->shape.axes != (VX_AXIS_BIT(VX_AXIS_TOK) | VX_AXIS_BIT(VX_AXIS_DIM)) || op->shape.split)
    return vx_interp_fail(err, "%s %%%d must have shape [tok, dim]", vx_op_info_of(op->code)->mnemonic, op->id);
  const float *pool = op->code == VX_OP_INPUT_K ? c->in->k_pool : c->in->v_pool;
  if (!pool)
    return vx_interp_fail(err, "input.v %%%d: MLA models have no separate values (use the latent, input.k)", op->id);
  size_t D = (size_t)g->head_dim, H = (size_t)g->kv_heads;
  for (size_t t = 0; t < (size_t)g->page_size; t++)
    memcpy(out->data + t * D, pool + (((size_t)c->phys * (size_t)g->page_size + t) * H + (size_t)c->head) * D,
           D * sizeof(float));
  return true;
}

/* Rounds to storage and zeroes positions of missing tokens, so the pool
 * content never depends on the garbage in unused slots. */
static void finish_field(const vx_tensor *shape_of, float *x, vx_dtype storage, int valid_tokens) {
  const int *e = shape_of->ext;
  int split = shape_of->shape.split;
  bool has_sub = vx_shape_has(shape_of->shape, VX_AXIS_SUB), has_tok = vx_shape_has(shape_of->shape, VX_AXIS_TOK);
  size_t k = 0;
  for (int s = 0; s < e[VX_AXIS_SUB]; s++)
    for (int t = 0; t < e[VX_AXIS_TOK]; t++) {
      int pos = (has_sub ? s * split : 0) + (has_tok ? t : 0);
      for (int d = 0; d < e[VX_AXIS_DIM]; d++, k++)
        x[k] = pos < valid_tokens ? vx_round_to_dtype(x[k], storage) : 0.0f;
    }
}

static bool cache_sink(void *ctx_, const vx_op *op, const vx_tensor *const *args, vx_interp_error *err) {
  cache_ctx *c = ctx_;
  if (op->code != VX_OP_STORE_FIELD)
    return vx_interp_fail(err, "%s %%%d cannot appear in cache_update", vx_op_info_of(op->code)->mnemonic, op->id);
  if (op->index < 0 || op->index >= c->m->nfields)
    return vx_interp_fail(err, "store.field %%%d: field index %d out of range", op->id, op->index);
  const vx_ir_field *f = &c->m->fields[op->index];
  const vx_tensor *v = args[0];
  bool v_tok = vx_shape_has(v->shape, VX_AXIS_TOK) || vx_shape_has(v->shape, VX_AXIS_SUB);
  if ((v->shape.axes & ~f->shape.axes) != 0 || (v_tok && v->shape.split != f->shape.split)) {
    char a[64], b[64];
    return vx_interp_fail(err, "store.field %%%d: value %s does not fit field %s %s", op->id,
                          vx_shape_format(v->shape, a, sizeof a), f->name, vx_shape_format(f->shape, b, sizeof b));
  }
  vx_tensor dst = {.shape = f->shape};
  vx_eval_frame fr = {.page_size = c->in->geo.page_size, .head_dim = c->in->geo.head_dim,
                      .valid_tokens = c->in->geo.page_size};
  if (!vx_tensor_extents(f->shape, &fr, dst.ext, &dst.size, err))
    return false;
  vx_tensor_broadcast(v, dst.ext, c->staging);
  finish_field(&dst, c->staging, f->storage, c->valid_tokens);
  size_t elems = (size_t)c->pools->elems[op->index];
  memcpy(c->pools->data[op->index] + ((size_t)c->phys * (size_t)c->pools->kv_heads + (size_t)c->head) * elems,
         c->staging, elems * sizeof(float));
  return true;
}

/* Runs cache_update once per referenced physical page and KV head;
 * valid_of[phys] is the page's token count (0: unreferenced). */
static void run_pages(const vx_eval_plan *plan, const vx_paged_inputs *in, vx_field_pools *pools,
                      const int32_t *valid_of, vx_parallel_status *status) {
  vx_eval_ws ws;
  int max_elems = 1;
  for (int f = 0; f < pools->nfields; f++)
    if (pools->elems[f] > max_elems)
      max_elems = pools->elems[f];
  float *staging = malloc((size_t)max_elems * sizeof *staging);
  vx_interp_error err = {""};
  bool ready = vx_eval_ws_init(&ws, plan) && staging;
  if (!ready) {
    vx_interp_fail(&err, "out of memory");
    vx_parallel_fail(status, &err);
  }
  cache_ctx c = {.m = plan->module, .in = in, .pools = pools, .staging = staging};
  vx_eval_hooks hooks = {cache_source, cache_sink, &c};
  VX_OMP(for schedule(dynamic, 64))
  for (int phys = 0; phys < in->num_phys_pages; phys++) {
    if (!ready || valid_of[phys] == 0 || vx_parallel_failed(status))
      continue; /* every thread must still reach the worksharing loop */
    c.phys = phys;
    c.valid_tokens = valid_of[phys];
    vx_eval_frame fr = {.page_size = in->geo.page_size, .head_dim = in->geo.head_dim,
                        .valid_tokens = c.valid_tokens};
    for (c.head = 0; c.head < in->geo.kv_heads; c.head++) {
      if (!vx_eval_run(plan, &ws, &fr, &hooks, &err)) {
        vx_parallel_fail(status, &err);
        break;
      }
    }
  }
  vx_eval_ws_destroy(&ws);
  free(staging);
}

/* Token count of every physical page. A page may be shared by several
 * requests (prefix sharing) only with the same token count in each, or
 * its summary would be ambiguous. */
static int32_t *valid_tokens_of_pages(const vx_paged_inputs *in, vx_interp_error *err) {
  int32_t *valid_of = calloc((size_t)in->num_phys_pages, sizeof *valid_of);
  if (!valid_of) {
    vx_interp_fail(err, "out of memory");
    return NULL;
  }
  for (int b = 0; b < in->geo.batch; b++) {
    int n = in->indptr[b + 1] - in->indptr[b];
    for (int j = 0; j < n; j++) {
      int32_t phys = in->indices[in->indptr[b] + j];
      int32_t valid = j == n - 1 ? in->last_page_len[b] : in->geo.page_size;
      if (valid_of[phys] != 0 && valid_of[phys] != valid) {
        vx_interp_fail(err, "physical page %d is shared with %d tokens in one request and %d in request %d", (int)phys,
                       (int)valid_of[phys], (int)valid, b);
        free(valid_of);
        return NULL;
      }
      valid_of[phys] = valid;
    }
  }
  return valid_of;
}

vx_field_pools *vx_interp_cache_update(const vx_module *m, const vx_paged_inputs *in, vx_interp_error *err) {
  if (!vx_paged_inputs_validate(in, err))
    return NULL;
  if (m->geo.kv != in->geo.kv) {
    vx_interp_fail(err, "the module is %s but the inputs are %s", m->geo.kv == VX_KV_MLA ? "MLA" : "GQA",
                   in->geo.kv == VX_KV_MLA ? "MLA" : "GQA");
    return NULL;
  }
  int32_t *valid_of = valid_tokens_of_pages(in, err);
  if (!valid_of)
    return NULL;
  vx_field_pools *pools = pools_new(m, in, err);
  vx_eval_plan plan;
  if (!pools || !vx_eval_plan_init(&plan, m, &m->cache_update, err)) {
    free(valid_of);
    vx_field_pools_free(pools);
    return NULL;
  }
  vx_parallel_status status = {0, {""}};
  VX_OMP(parallel)
  run_pages(&plan, in, pools, valid_of, &status);
  free(valid_of);
  vx_eval_plan_destroy(&plan);
  if (status.failed) {
    if (err)
      *err = status.err;
    vx_field_pools_free(pools);
    return NULL;
  }
  return pools;
}

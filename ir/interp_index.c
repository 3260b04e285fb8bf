/* The index function and its select for every (request, KV head) row,
 * plus the persistent state arrays it reads and writes. */
#include <stdlib.h>
#include <string.h>

#include "interp_eval.h"
#include "interp_parallel.h"

/* ------------------------------------------------------------ states */

void vx_state_arrays_free(vx_state_arrays *s) {
  if (!s)
    return;
  for (int i = 0; i < s->nstates && s->data; i++)
    free(s->data[i]);
  free(s->data);
  free(s);
}

static vx_state_arrays *states_alloc(int nstates, int rows, int max_pages, vx_interp_error *err) {
  vx_state_arrays *s = calloc(1, sizeof *s);
  if (s)
    s->data = calloc((size_t)(nstates ? nstates : 1), sizeof *s->data);
  if (!s || !s->data) {
    vx_state_arrays_free(s);
    vx_interp_fail(err, "out of memory");
    return NULL;
  }
  s->nstates = nstates;
  s->rows = rows;
  s->max_pages = max_pages;
  for (int i = 0; i < nstates; i++) {
    s->data[i] = malloc((size_t)rows * (size_t)(max_pages ? max_pages : 1) * sizeof(float));
    if (!s->data[i]) {
      vx_state_arrays_free(s);
      vx_interp_fail(err, "out of memory allocating state arrays");
      return NULL;
    }
  }
  return s;
}

vx_state_arrays *vx_state_arrays_new(const vx_module *m, const vx_paged_inputs *in, vx_interp_error *err) {
  vx_state_arrays *s = states_alloc(m->nstates, in->geo.batch * in->geo.kv_heads, in->max_pages, err);
  if (!s)
    return NULL;
  size_t n = (size_t)s->rows * (size_t)s->max_pages;
  for (int i = 0; i < s->nstates; i++)
    for (size_t k = 0; k < n; k++)
      s->data[i][k] = (float)m->states[i].init;
  return s;
}

vx_state_arrays *vx_state_arrays_copy(const vx_state_arrays *src, vx_interp_error *err) {
  vx_state_arrays *s = states_alloc(src->nstates, src->rows, src->max_pages, err);
  if (!s)
    return NULL;
  for (int i = 0; i < s->nstates; i++)
    memcpy(s->data[i], src->data[i], (size_t)s->rows * (size_t)s->max_pages * sizeof(float));
  return s;
}

/* --------------------------------------------------------- selection */

void vx_selection_free(vx_selection *s) {
  if (!s)
    return;
  free(s->page_count);
  free(s->count);
  free(s->pages);
  free(s->scores);
  free(s);
}

static vx_selection *selection_new(const vx_paged_inputs *in, vx_interp_error *err) {
  vx_selection *s = calloc(1, sizeof *s);
  if (!s) {
    vx_interp_fail(err, "out of memory");
    return NULL;
  }
  s->rows = in->geo.batch * in->geo.kv_heads;
  s->max_pages = in->max_pages;
  size_t cells = (size_t)s->rows * (size_t)s->max_pages;
  s->page_count = malloc((size_t)s->rows * sizeof *s->page_count);
  s->count = calloc((size_t)s->rows, sizeof *s->count);
  s->pages = malloc(cells * sizeof *s->pages);
  s->scores = calloc(cells, sizeof *s->scores);
  if (!s->page_count || !s->count || !s->pages || !s->scores) {
    vx_selection_free(s);
    vx_interp_fail(err, "out of memory allocating the selection");
    return NULL;
  }
  for (size_t k = 0; k < cells; k++)
    s->pages[k] = -1;
  for (int r = 0; r < s->rows; r++)
    s->page_count[r] = in->indptr[r / in->geo.kv_heads + 1] - in->indptr[r / in->geo.kv_heads];
  return s;
}

vx_selection *vx_selection_all(const vx_paged_inputs *in, vx_interp_error *err) {
  if (!vx_paged_inputs_validate(in, err))
    return NULL;
  vx_selection *s = selection_new(in, err);
  if (!s)
    return NULL;
  for (int r = 0; r < s->rows; r++) {
    s->count[r] = s->page_count[r];
    for (int j = 0; j < s->count[r]; j++)
      s->pages[(size_t)r * (size_t)s->max_pages + (size_t)j] = j;
  }
  return s;
}

/* --------------------------------------------------------- the index */

typedef struct index_ctx {
  const vx_module *m;
  const vx_paged_inputs *in;
  const vx_field_pools *fields;
  const vx_state_arrays *state_in;
  vx_state_arrays *state_out;
  vx_selection *sel;
  int b, h, row, n;
  int32_t *scratch; /* [max_pages] */
} index_ctx;

static bool index_source(void *ctx_, const vx_op *op, vx_tensor *out, vx_interp_error *err) {
  index_ctx *c = ctx_;
  const vx_paged_geometry *g = &c->in->geo;
  const char *name = vx_op_info_of(op->code)->mnemonic;
  switch (op->code) {
  case VX_OP_INPUT_Q: {
    if (op->shape.axes != (VX_AXIS_BIT(VX_AXIS_HEAD) | VX_AXIS_BIT(VX_AXIS_DIM)))
      return vx_interp_fail(err, "input.q %%%d must have shape [head, dim]", op->id);
    size_t GD = (size_t)g->group * (size_t)g->head_dim;
    memcpy(out->data, c->in->q + ((size_t)c->b * (size_t)g->kv_heads + (size_t)c->h) * GD, GD * sizeof(float));
    return true;
  }
  case VX_OP_LOAD_FIELD: {
    if (op->index < 0 || op->index >= c->fields->nfields)
      return vx_interp_fail(err, "load.field %%%d: field index %d out of range", op->id, op->index);
    vx_shape fs = c->m->fields[op->index].shape;
    bool has_tok = vx_shape_has(fs, VX_AXIS_TOK) || vx_shape_has(fs, VX_AXIS_SUB);
    if (op->shape.axes != (fs.axes | VX_AXIS_BIT(VX_AXIS_PAGE)) || (has_tok && op->shape.split != fs.split))
      return vx_interp_fail(err, "load.field %%%d: shape must be the field's shape plus page", op->id);
    size_t e = (size_t)c->fields->elems[op->index];
    const float *pool = c->fields->data[op->index];
    const int32_t *phys = c->in->indices + c->in->indptr[c->b];
    for (int j = 0; j < c->n; j++)
      memcpy(out->data + (size_t)j * e, pool + ((size_t)phys[j] * (size_t)g->kv_heads + (size_t)c->h) * e,
             e * sizeof(float));
    return true;
  }
  case VX_OP_LOAD_STATE:
    if (op->index < 0 || op->index >= c->m->nstates)
      return vx_interp_fail(err, "load.state %%%d: state index %d out of range", op->id, op->index);
    if (op->shape.axes != VX_AXIS_BIT(VX_AXIS_PAGE))
      return vx_interp_fail(err, "load.state %%%d must have shape [page]", op->id);
    memcpy(out->data, c->state_in->data[op->index] + (size_t)c->row * (size_t)c->state_in->max_pages,
           (size_t)c->n * sizeof(float));
    return true;
  case VX_OP_PAGE_INDEX:
  case VX_OP_PAGE_AGE:
    if (op->shape.axes != VX_AXIS_BIT(VX_AXIS_PAGE))
      return vx_interp_fail(err, "%s %%%d must have shape [page]", name, op->id);
    for (int j = 0; j < c->n; j++)
      out->data[j] = (float)(op->code == VX_OP_PAGE_INDEX ? j : c->n - 1 - j);
    return true;
  case VX_OP_PAGE_COUNT:
    if (op->shape.axes != 0)
      return vx_interp_fail(err, "page.count %%%d must be a scalar", op->id);
    out->data[0] = (float)c->n;
    return true;
  default:
    return vx_interp_fail(err, "%s %%%d cannot appear in index", name, op->id);
  }
}

/* A [page]-or-scalar value broadcast to the n pages of the row. */
static bool per_page(const vx_tensor *v, int n, float *dst, const char *what, const vx_op *op,
                     vx_interp_error *err) {
  if ((v->shape.axes & ~VX_AXIS_BIT(VX_AXIS_PAGE)) != 0) {
    char buf[64];
    return vx_interp_fail(err, "%s %%%d: %s has shape %s, expected [page] or []", vx_op_info_of(op->code)->mnemonic,
                          op->id, what, vx_shape_format(v->shape, buf, sizeof buf));
  }
  int ext[VX_AXIS_COUNT] = {n, 1, 1, 1, 1};
  vx_tensor_broadcast(v, ext, dst);
  return true;
}

static bool index_sink(void *ctx_, const vx_op *op, const vx_tensor *const *args, vx_interp_error *err) {
  index_ctx *c = ctx_;
  size_t base = (size_t)c->row * (size_t)c->sel->max_pages;
  if (op->code == VX_OP_STORE_STATE) {
    if (op->index < 0 || op->index >= c->m->nstates)
      return vx_interp_fail(err, "store.state %%%d: state index %d out of range", op->id, op->index);
    return per_page(args[0], c->n, c->state_out->data[op->index] + base, "the new state", op, err);
  }
  if (op->code != VX_OP_SELECT_TOP && op->code != VX_OP_SELECT_MASS && op->code != VX_OP_SELECT_THRESHOLD)
    return vx_interp_fail(err, "%s %%%d cannot appear in index", vx_op_info_of(op->code)->mnemonic, op->id);
  float *score = c->sel->scores + base;
  if (!per_page(args[0], c->n, score, "the score", op, err))
    return false;
  if (args[1]->size != 1)
    return vx_interp_fail(err, "%s %%%d: the budget/mass/threshold must be a scalar", vx_op_info_of(op->code)->mnemonic,
                          op->id);
  double arg = args[1]->data[0];
  int32_t *out = c->sel->pages + base;
  int count;
  if (op->code == VX_OP_SELECT_TOP)
    count = vx_select_top(score, c->n, arg, op->keep_first, op->keep_last, out, c->scratch);
  else if (op->code == VX_OP_SELECT_MASS)
    count = vx_select_mass(score, c->n, arg, op->keep_first, op->keep_last, out, c->scratch);
  else
    count = vx_select_threshold(score, c->n, arg, op->keep_first, op->keep_last, out);
  c->sel->count[c->row] = count;
  return true;
}

static void run_rows(const vx_eval_plan *plan, index_ctx shared, vx_parallel_status *status) {
  vx_eval_ws ws;
  vx_interp_error err = {""};
  index_ctx c = shared;
  c.scratch = malloc((size_t)(shared.in->max_pages ? shared.in->max_pages : 1) * sizeof *c.scratch);
  bool ready = vx_eval_ws_init(&ws, plan) && c.scratch;
  if (!ready) {
    vx_interp_fail(&err, "out of memory");
    vx_parallel_fail(status, &err);
  }
  vx_eval_hooks hooks = {index_source, index_sink, &c};
  const vx_paged_geometry *g = &shared.in->geo;
  int rows = g->batch * g->kv_heads;
  VX_OMP(for schedule(dynamic, 1))
  for (int r = 0; r < rows; r++) {
    if (!ready || vx_parallel_failed(status))
      continue; /* every thread must still reach the worksharing loop */
    c.row = r;
    c.b = r / g->kv_heads;
    c.h = r % g->kv_heads;
    c.n = shared.sel->page_count[r];
    vx_eval_frame fr = {.pages = c.n, .group = g->group, .page_size = g->page_size, .head_dim = g->head_dim,
                        .valid_tokens = g->page_size};
    if (!vx_eval_run(plan, &ws, &fr, &hooks, &err))
      vx_parallel_fail(status, &err);
  }
  vx_eval_ws_destroy(&ws);
  free(c.scratch);
}

static bool check_index_function(const vx_module *m, const vx_field_pools *fields, const vx_state_arrays *st,
                                 const vx_paged_inputs *in, vx_interp_error *err) {
  int selects = 0;
  for (const vx_op *op = m->index.first; op; op = op->next)
    selects += op->code == VX_OP_SELECT_TOP || op->code == VX_OP_SELECT_MASS || op->code == VX_OP_SELECT_THRESHOLD;
  if (selects != 1)
    return vx_interp_fail(err, "the index function has %d select ops; it needs exactly one", selects);
  if (!fields || fields->nfields != m->nfields || fields->num_phys_pages != in->num_phys_pages ||
      fields->kv_heads != in->geo.kv_heads)
    return vx_interp_fail(err, "field pools do not match the module and inputs");
  if (st && (st->nstates != m->nstates || st->rows != in->geo.batch * in->geo.kv_heads ||
             st->max_pages != in->max_pages))
    return vx_interp_fail(err, "state arrays do not match the module and inputs");
  return true;
}

vx_selection *vx_interp_index(const vx_module *m, const vx_paged_inputs *in, const vx_field_pools *fields,
                              const vx_state_arrays *state_in, vx_state_arrays **state_out,
                              vx_interp_error *err) {
  if (state_out)
    *state_out = NULL;
  if (!vx_paged_inputs_validate(in, err) || !check_index_function(m, fields, state_in, in, err))
    return NULL;
  vx_state_arrays *initial = state_in ? NULL : vx_state_arrays_new(m, in, err);
  const vx_state_arrays *prev = state_in ? state_in : initial;
  /* Entries past a row's page count carry over, so start from a copy. */
  vx_state_arrays *next = prev ? vx_state_arrays_copy(prev, err) : NULL;
  vx_selection *sel = next ? selection_new(in, err) : NULL;
  vx_eval_plan plan;
  bool planned = sel && vx_eval_plan_init(&plan, m, &m->index, err);
  if (!planned) {
    vx_selection_free(sel);
    vx_state_arrays_free(next);
    vx_state_arrays_free(initial);
    return NULL;
  }
  index_ctx shared = {.m = m, .in = in, .fields = fields, .state_in = prev, .state_out = next, .sel = sel};
  vx_parallel_status status = {0, {""}};
  VX_OMP(parallel)
  run_rows(&plan, shared, &status);
  vx_eval_plan_destroy(&plan);
  vx_state_arrays_free(initial);
  if (status.failed) {
    if (err)
      *err = status.err;
    vx_selection_free(sel);
    vx_state_arrays_free(next);
    return NULL;
  }
  if (state_out)
    *state_out = next;
  else
    vx_state_arrays_free(next);
  return sel;
}

/* Lowering of a checked AST to page-level IR (contract in lower.h).
 *
 * The walk is a plain recursive expression lowering per function. Local
 * definitions are remembered in a small statement -> op table, so every
 * reference to a local reuses the op that defined it (the IR is SSA, the
 * AST refers to definitions by pointer). */
#include "lower.h"

#include <stdio.h>

typedef struct lower_ctx {
  const vx_algorithm *alg;
  vx_module *m;
  vx_diag_engine *diag;
  vx_func *f;               /* function being filled */
  const vx_stmt **defs;     /* statements lowered so far ... */
  vx_op **vals;             /* ... and the op holding each one's value */
  int ndefs, capdefs;
  bool failed;              /* an error was reported; keep going to report more */
} lower_ctx;

static void report(lower_ctx *c, vx_span span, const char *id, const char *hint, const char *msg) {
  vx_diag_report(c->diag, VX_SEV_ERROR, id, c->alg->file, span, hint, "%s", msg);
  c->failed = true;
}

static void out_of_memory(lower_ctx *c) {
  if (!c->failed || vx_diag_error_count(c->diag) == 0)
    vx_diag_report_plain(c->diag, VX_SEV_ERROR, "out-of-memory", "out of memory while lowering '%s'", c->alg->name);
  c->failed = true;
}

static bool remember(lower_ctx *c, const vx_stmt *s, vx_op *v) {
  if (c->ndefs == c->capdefs) {
    int cap = c->capdefs ? 2 * c->capdefs : 16;
    const vx_stmt **d = vx_arena_alloc(c->m->arena, (size_t)cap * sizeof *d);
    vx_op **v2 = vx_arena_alloc(c->m->arena, (size_t)cap * sizeof *v2);
    if (!d || !v2)
      return false;
    for (int i = 0; i < c->ndefs; i++) {
      d[i] = c->defs[i];
      v2[i] = c->vals[i];
    }
    c->defs = d;
    c->vals = v2;
    c->capdefs = cap;
  }
  c->defs[c->ndefs] = s;
  c->vals[c->ndefs++] = v;
  return true;
}

static vx_op *lookup(const lower_ctx *c, const vx_stmt *s) {
  for (int i = c->ndefs - 1; i >= 0; i--)
    if (c->defs[i] == s)
      return c->vals[i];
  return NULL;
}

/* Position of a pointer in an AST table, or -1. Tables are tiny. */
static int index_of_param(const vx_algorithm *alg, const vx_param *p) {
  for (int i = 0; i < alg->nparams; i++)
    if (alg->params[i] == p)
      return i;
  return -1;
}

static int index_of_stmt(vx_stmt *const *table, int n, const vx_stmt *s) {
  for (int i = 0; i < n; i++)
    if (table[i] == s)
      return i;
  return -1;
}

static vx_shape shape_of_axes(uint8_t axes) { return (vx_shape){axes, 0}; }

static vx_op *source(lower_ctx *c, vx_op_code code, vx_shape shape, vx_span loc) {
  vx_op *op = vx_build_op(c->f, NULL, code, NULL, shape);
  if (!op) {
    out_of_memory(c);
    return NULL;
  }
  op->loc = loc;
  return op;
}

/* Builds a non-source op, sets its attributes, then infers its shape.
 * A failure to infer means the checker accepted something lowering
 * cannot express: that is a compiler bug, reported as such. */
static vx_op *derived(lower_ctx *c, vx_op_code code, vx_op **ops, vx_axis axis, int split, vx_span loc) {
  vx_op *op = vx_build_op(c->f, NULL, code, ops, (vx_shape){0, 0});
  if (!op) {
    out_of_memory(c);
    return NULL;
  }
  op->axis = axis;
  op->split = split;
  op->loc = loc;
  if (!vx_op_infer_shape(op)) {
    report(c, loc, "internal-lowering", NULL,
           "internal error: lowering cannot infer the shape of this expression (checker and IR disagree)");
    return NULL;
  }
  return op;
}

static vx_op_code unary_code(vx_builtin b) {
  switch (b) {
  case VX_BUILTIN_EXP: return VX_OP_EXP;
  case VX_BUILTIN_LOG: return VX_OP_LOG;
  case VX_BUILTIN_ABS: return VX_OP_ABS;
  case VX_BUILTIN_SQRT: return VX_OP_SQRT;
  case VX_BUILTIN_RELU: return VX_OP_RELU;
  case VX_BUILTIN_SIGMOID: return VX_OP_SIGMOID;
  case VX_BUILTIN_SILU: return VX_OP_SILU;
  case VX_BUILTIN_TANH: return VX_OP_TANH;
  default: return VX_OP_COUNT;
  }
}

static vx_op_code reduce_code(vx_builtin b) {
  switch (b) {
  case VX_BUILTIN_MAX: return VX_OP_REDUCE_MAX;
  case VX_BUILTIN_MIN: return VX_OP_REDUCE_MIN;
  case VX_BUILTIN_SUM: return VX_OP_REDUCE_SUM;
  case VX_BUILTIN_MEAN: return VX_OP_REDUCE_MEAN;
  case VX_BUILTIN_NORM: return VX_OP_REDUCE_NORM;
  default: return VX_OP_COUNT;
  }
}

static vx_op_code binop_code(vx_binop b) {
  static const vx_op_code table[] = {
      [VX_BINOP_ADD] = VX_OP_ADD, [VX_BINOP_SUB] = VX_OP_SUB, [VX_BINOP_MUL] = VX_OP_MUL,
      [VX_BINOP_DIV] = VX_OP_DIV, [VX_BINOP_LT] = VX_OP_LT,   [VX_BINOP_LE] = VX_OP_LE,
      [VX_BINOP_GT] = VX_OP_GT,   [VX_BINOP_GE] = VX_OP_GE,   [VX_BINOP_EQ] = VX_OP_EQ,
      [VX_BINOP_NE] = VX_OP_NE,
  };
  return table[b];
}

static vx_op *lower_expr(lower_ctx *c, const vx_expr *e);

/* A resolved name becomes a source op (inputs, loads, page intrinsics,
 * params) or, for locals and earlier cache fields, the op already built
 * for its definition. */
static vx_op *lower_name(lower_ctx *c, const vx_expr *e) {
  const vx_algorithm *alg = c->alg;
  bool in_cache = c->f->kind == VX_FUNC_CACHE_UPDATE;
  switch (e->ref) {
  case VX_REF_PARAM: {
    int i = index_of_param(alg, e->param);
    vx_op *op = i < 0 ? NULL : source(c, VX_OP_PARAM, shape_of_axes(0), e->span);
    if (op)
      op->index = i;
    else if (i < 0)
      report(c, e->span, "internal-lowering", NULL, "internal error: param reference not in the param table");
    return op;
  }
  case VX_REF_INPUT_K:
    return source(c, VX_OP_INPUT_K, shape_of_axes(VX_AXIS_BIT(VX_AXIS_TOK) | VX_AXIS_BIT(VX_AXIS_DIM)), e->span);
  case VX_REF_INPUT_V:
    return source(c, VX_OP_INPUT_V, shape_of_axes(VX_AXIS_BIT(VX_AXIS_TOK) | VX_AXIS_BIT(VX_AXIS_DIM)), e->span);
  case VX_REF_INPUT_Q:
    return source(c, VX_OP_INPUT_Q, shape_of_axes(VX_AXIS_BIT(VX_AXIS_HEAD) | VX_AXIS_BIT(VX_AXIS_DIM)), e->span);
  case VX_REF_FIELD: {
    if (in_cache) /* a field used by a later field: reuse its value */
      break;
    int i = index_of_stmt(alg->cache, alg->ncache, e->def);
    if (i < 0 || i >= c->m->nfields) {
      report(c, e->span, "internal-lowering", NULL, "internal error: field reference not in the cache block");
      return NULL;
    }
    vx_shape s = c->m->fields[i].shape;
    s.axes |= VX_AXIS_BIT(VX_AXIS_PAGE);
    vx_op *op = source(c, VX_OP_LOAD_FIELD, s, e->span);
    if (op)
      op->index = i;
    return op;
  }
  case VX_REF_STATE: {
    int i = index_of_stmt(alg->states, alg->nstates, e->def);
    if (i < 0) {
      report(c, e->span, "internal-lowering", NULL, "internal error: state reference not in the state block");
      return NULL;
    }
    vx_op *op = source(c, VX_OP_LOAD_STATE, shape_of_axes(VX_AXIS_BIT(VX_AXIS_PAGE)), e->span);
    if (op)
      op->index = i;
    return op;
  }
  case VX_REF_LOCAL:
    break;
  case VX_REF_PAGE_INDEX:
    return source(c, VX_OP_PAGE_INDEX, shape_of_axes(VX_AXIS_BIT(VX_AXIS_PAGE)), e->span);
  case VX_REF_NUM_PAGES:
    return source(c, VX_OP_PAGE_COUNT, shape_of_axes(0), e->span);
  case VX_REF_PAGE_AGE:
    return source(c, VX_OP_PAGE_AGE, shape_of_axes(VX_AXIS_BIT(VX_AXIS_PAGE)), e->span);
  case VX_REF_UNRESOLVED:
    report(c, e->span, "internal-lowering", NULL, "internal error: unresolved name reached lowering");
    return NULL;
  }
  vx_op *v = lookup(c, e->def);
  if (!v)
    report(c, e->span, "internal-lowering", NULL, "internal error: reference to a definition not lowered yet");
  return v;
}

/* split(x, N): N must be a positive integer dividing the page size; only
 * lowering knows the page size, so this check lives here. */
static vx_op *lower_split(lower_ctx *c, const vx_expr *e, vx_op *x) {
  const vx_expr *w = e->args[1];
  double n = w->is_const ? w->const_value : w->number;
  int page = c->m->geo.page_size;
  char msg[160];
  if (!(n >= 1) || n != (double)(int)n) {
    snprintf(msg, sizeof msg, "split width must be a positive integer, got %g", n);
    report(c, w->span, "split-width", NULL, msg);
    return NULL;
  }
  if (page % (int)n != 0) {
    snprintf(msg, sizeof msg, "split width %d does not divide the page size %d", (int)n, page);
    report(c, w->span, "split-width", "choose a divisor of the page size (e.g. 1, 2, 4, 8, ...)", msg);
    return NULL;
  }
  vx_op *ops[1] = {x};
  return derived(c, VX_OP_SPLIT, ops, VX_AXIS_COUNT, (int)n, e->span);
}

/* Builtin calls: the checker already chose REDUCE vs BINARY for max/min
 * (bkind), so lowering just maps kinds to op classes. */
static vx_op *lower_call(lower_ctx *c, const vx_expr *e) {
  vx_op *a = lower_expr(c, e->args[0]);
  if (!a)
    return NULL;
  vx_op *ops[3] = {a, NULL, NULL};
  switch (e->bkind) {
  case VX_BK_UNARY:
    return derived(c, unary_code(e->builtin), ops, VX_AXIS_COUNT, 0, e->span);
  case VX_BK_BINARY:
    if (!(ops[1] = lower_expr(c, e->args[1])))
      return NULL;
    return derived(c, e->builtin == VX_BUILTIN_MIN ? VX_OP_MIN : VX_OP_MAX, ops, VX_AXIS_COUNT, 0, e->span);
  case VX_BK_REDUCE:
    return derived(c, reduce_code(e->builtin), ops, e->args[1]->axis, 0, e->span);
  case VX_BK_AXISMAP:
    return derived(c, e->builtin == VX_BUILTIN_SOFTMAX ? VX_OP_SOFTMAX : VX_OP_NORMALIZE, ops, e->args[1]->axis, 0,
                   e->span);
  case VX_BK_SPLIT:
    return lower_split(c, e, a);
  case VX_BK_WHERE:
    if (!(ops[1] = lower_expr(c, e->args[1])) || !(ops[2] = lower_expr(c, e->args[2])))
      return NULL;
    return derived(c, VX_OP_WHERE, ops, VX_AXIS_COUNT, 0, e->span);
  }
  return NULL;
}

/* Lowers one expression tree, post-order, appending ops to c->f. Depth
 * is bounded by the parser (VX_MAX_NESTING), so recursion is safe. */
static vx_op *lower_expr(lower_ctx *c, const vx_expr *e) {
  switch (e->kind) {
  case VX_EXPR_NUMBER: {
    vx_op *op = source(c, VX_OP_CONST, shape_of_axes(0), e->span);
    if (op)
      op->number = e->number;
    return op;
  }
  case VX_EXPR_NAME:
    return lower_name(c, e);
  case VX_EXPR_NEG: {
    vx_op *ops[1] = {lower_expr(c, e->lhs)};
    return ops[0] ? derived(c, VX_OP_NEG, ops, VX_AXIS_COUNT, 0, e->span) : NULL;
  }
  case VX_EXPR_BINARY: {
    vx_op *ops[2] = {lower_expr(c, e->lhs), NULL};
    if (!ops[0] || !(ops[1] = lower_expr(c, e->rhs)))
      return NULL;
    return derived(c, binop_code(e->binop), ops, VX_AXIS_COUNT, 0, e->span);
  }
  case VX_EXPR_CALL:
    return lower_call(c, e);
  case VX_EXPR_AXIS:
    break;
  }
  report(c, e->span, "internal-lowering", NULL, "internal error: axis name used as a value reached lowering");
  return NULL;
}

/* store.field / store.state / select.*: ops without a value. */
static vx_op *sink(lower_ctx *c, vx_op_code code, vx_op **ops, int index, vx_span loc) {
  vx_op *op = vx_build_op(c->f, NULL, code, ops, (vx_shape){0, 0});
  if (!op) {
    out_of_memory(c);
    return NULL;
  }
  op->index = index;
  op->loc = loc;
  return op;
}

/* cache { name = expr; ... }: each statement is one field, stored at the end. */
static void lower_cache(lower_ctx *c) {
  const vx_algorithm *alg = c->alg;
  c->f = &c->m->cache_update;
  for (int i = 0; i < alg->ncache && !vx_diag_should_stop(c->diag); i++) {
    const vx_stmt *s = alg->cache[i];
    vx_op *v = lower_expr(c, s->value);
    if (!v)
      continue;
    vx_dtype storage = s->dtype == VX_DTYPE_DEFAULT ? c->m->geo.kv_dtype : s->dtype;
    int field = vx_module_add_field(c->m, s->name, v->shape, storage);
    vx_op *ops[1] = {v};
    if (field < 0 || !remember(c, s, v)) {
      out_of_memory(c);
      return;
    }
    sink(c, VX_OP_STORE_FIELD, ops, field, s->span);
  }
}

/* state { name = literal; }: the module's state table, in order. */
static void lower_states(lower_ctx *c) {
  for (int i = 0; i < c->alg->nstates; i++) {
    const vx_stmt *s = c->alg->states[i];
    double init = s->value ? (s->value->is_const ? s->value->const_value : s->value->number) : 0.0;
    if (vx_module_add_state(c->m, s->name, init) < 0) {
      out_of_memory(c);
      return;
    }
  }
}

/* select top|mass|threshold(arg) keep first a, last b: a sink reading
 * the score (the value of the `score` LET) and the lowered argument. */
static void lower_select(lower_ctx *c, const vx_stmt *s) {
  static const vx_op_code codes[] = {
      [VX_SELECT_TOP] = VX_OP_SELECT_TOP, [VX_SELECT_MASS] = VX_OP_SELECT_MASS,
      [VX_SELECT_THRESHOLD] = VX_OP_SELECT_THRESHOLD};
  vx_op *score = c->alg->score ? lookup(c, c->alg->score) : NULL;
  if (!score) {
    report(c, s->span, "internal-lowering", NULL, "internal error: select reached lowering without a score");
    return;
  }
  vx_op *ops[2] = {score, lower_expr(c, s->value)};
  if (!ops[1])
    return;
  vx_op *op = sink(c, codes[s->select], ops, 0, s->span);
  if (op) {
    op->keep_first = s->keep_first;
    op->keep_last = s->keep_last;
  }
}

/* index { ... }: statements in source order, so every reference finds
 * its definition already lowered. */
static void lower_index(lower_ctx *c) {
  const vx_algorithm *alg = c->alg;
  c->f = &c->m->index;
  for (int i = 0; i < alg->nindex && !vx_diag_should_stop(c->diag); i++) {
    const vx_stmt *s = alg->index[i];
    switch (s->kind) {
    case VX_STMT_LET: {
      vx_op *v = lower_expr(c, s->value);
      if (v && !remember(c, s, v))
        out_of_memory(c);
      break;
    }
    case VX_STMT_UPDATE: {
      int st = index_of_stmt(alg->states, alg->nstates, s->target);
      vx_op *ops[1] = {lower_expr(c, s->value)};
      if (st < 0)
        report(c, s->span, "internal-lowering", NULL, "internal error: update of an unknown state");
      else if (ops[0])
        sink(c, VX_OP_STORE_STATE, ops, st, s->span);
      break;
    }
    case VX_STMT_SELECT:
      lower_select(c, s);
      break;
    case VX_STMT_STATE:
      break;
    }
  }
}

/* Geometry: the target's, with MLA taken from the algorithm. A target
 * that is known to be MLA (e.g. from --model-config) must agree with the
 * algorithm's `kv mla(dc, dr)`: the cached latent layout differs. */
static bool check_geometry(lower_ctx *c, vx_geometry *g) {
  const vx_algorithm *alg = c->alg;
  char msg[200];
  if (g->kv == VX_KV_MLA && alg->kv != VX_KV_MLA) {
    snprintf(msg, sizeof msg, "the target model uses MLA (latent %d + rope %d) but algorithm '%s' is written for GQA",
             g->mla_latent, g->mla_rope, alg->name ? alg->name : "");
    report(c, alg->span, "mla-geometry", "declare the latent layout with `kv mla(dc, dr);`", msg);
    return false;
  }
  if (g->kv == VX_KV_MLA && g->mla_latent > 0 &&
      (g->mla_latent != alg->mla_latent || g->mla_rope != alg->mla_rope)) {
    snprintf(msg, sizeof msg, "algorithm declares kv mla(%d, %d) but the target model has mla(%d, %d)",
             alg->mla_latent, alg->mla_rope, g->mla_latent, g->mla_rope);
    report(c, alg->span, "mla-geometry", NULL, msg);
    return false;
  }
  if (alg->kv == VX_KV_MLA) {
    if (alg->mla_latent <= 0 || alg->mla_rope < 0) {
      snprintf(msg, sizeof msg, "MLA widths must be positive (got dc=%d, dr=%d)", alg->mla_latent, alg->mla_rope);
      report(c, alg->span, "mla-geometry", "write `kv mla(512, 64);` for a 512-wide latent and 64 rope dims", msg);
      return false;
    }
    g->kv = VX_KV_MLA;
    g->mla_latent = alg->mla_latent;
    g->mla_rope = alg->mla_rope;
    g->head_dim = alg->mla_latent + alg->mla_rope;
  } else {
    g->kv = VX_KV_GQA;
    g->mla_latent = g->mla_rope = 0;
  }
  if (g->kv_dtype == VX_DTYPE_DEFAULT)
    g->kv_dtype = VX_DTYPE_BF16;
  if (g->page_size <= 0 || g->head_dim <= 0 || g->group <= 0) {
    vx_diag_report_plain(c->diag, VX_SEV_ERROR, "geometry",
                         "invalid target geometry: page_size=%d head_dim=%d group=%d (each must be positive)",
                         g->page_size, g->head_dim, g->group);
    c->failed = true;
    return false;
  }
  return true;
}

vx_module *vx_lower(const vx_algorithm *alg, const vx_geometry *geo, vx_arena *arena, vx_diag_engine *diag) {
  lower_ctx c = {.alg = alg, .diag = diag};
  vx_geometry g = *geo;
  if (!check_geometry(&c, &g))
    return NULL;
  c.m = vx_module_new(arena, alg->name ? alg->name : "anonymous", &g);
  if (!c.m) {
    out_of_memory(&c);
    return NULL;
  }
  for (int i = 0; i < alg->nparams; i++) {
    const vx_param *p = alg->params[i];
    if (vx_module_add_param(c.m, p->name, p->type == VX_TYPE_INT, p->value) < 0) {
      out_of_memory(&c);
      return NULL;
    }
  }
  if (!vx_module_set_dense_layers(c.m, alg->dense_layers, alg->ndense_layers)) {
    out_of_memory(&c);
    return NULL;
  }
  lower_states(&c);
  lower_cache(&c);
  /* Field indices are positions in the cache block: after a failed field
   * they no longer line up, so the index function is not lowered. */
  if (!c.failed)
    lower_index(&c);
  return c.failed ? NULL : c.m;
}

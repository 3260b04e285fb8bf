/* The checker's declaration and statement rules: one namespace for
 * params, state, cache fields and index locals; -D overrides and param
 * ranges; stage rules; exactly one select; a score of shape [page]. */
#include "sema.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "ast_build.h"
#include "sema_int.h"
#include "suggest.h"

void vx_sema_error(vx_sema *s, vx_span span, const char *id, const char *hint, const char *fmt, ...) {
  char msg[768];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  vx_diag_report(s->diag, VX_SEV_ERROR, id, s->file, span, hint, "%s", msg);
  s->failed = true;
}

void vx_sema_note(vx_sema *s, vx_span span, const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  vx_diag_report(s->diag, VX_SEV_NOTE, "note", s->file, span, NULL, "%s", msg);
}

const char *vx_sema_num(char *buf, size_t n, double v) {
  if (v == floor(v) && fabs(v) < 1e15)
    snprintf(buf, n, "%.0f", v);
  else
    snprintf(buf, n, "%g", v);
  return buf;
}

/* FNV-1a; the table is sized once, up front, for every declaration. */
static size_t hash_name(const char *name) {
  size_t h = 1469598103934665603u;
  for (const unsigned char *c = (const unsigned char *)name; *c; c++)
    h = (h ^ *c) * 1099511628211u;
  return h;
}

vx_symbol *vx_sema_lookup(const vx_sema *s, const char *name) {
  for (size_t i = hash_name(name) & (s->cap - 1);; i = (i + 1) & (s->cap - 1)) {
    vx_symbol *sym = s->table[i];
    if (!sym || strcmp(sym->name, name) == 0)
      return sym;
  }
}

static const char *kind_name(vx_sym_kind k) {
  switch (k) {
  case VX_SYM_PARAM: return "param";
  case VX_SYM_STATE: return "state";
  case VX_SYM_FIELD: return "cache field";
  case VX_SYM_LOCAL: return "local";
  }
  return "name";
}

/* Declares a name; reports a duplicate (with a note at the first) or a
 * clash with an input name. Returns NULL on error or out-of-memory. */
static vx_symbol *declare(vx_sema *s, const char *name, vx_span span, vx_sym_kind kind) {
  if (vx_sema_is_intrinsic(name)) {
    vx_sema_error(s, span, "reserved-name", "choose another name",
                  "'%s' is a built-in input and cannot be redefined", name);
    return NULL;
  }
  vx_symbol *old = vx_sema_lookup(s, name);
  if (old) {
    vx_sema_error(s, span, "duplicate-definition", NULL, "redefinition of '%s'", name);
    vx_sema_note(s, old->span, "'%s' was first defined here as a %s", name, kind_name(old->kind));
    return NULL;
  }
  vx_symbol *sym = vx_arena_alloc(s->arena, sizeof *sym);
  if (!sym) {
    vx_sema_error(s, span, "out-of-memory", NULL, "out of memory");
    return NULL;
  }
  sym->name = name;
  sym->kind = kind;
  sym->span = span;
  size_t i = hash_name(name) & (s->cap - 1);
  while (s->table[i])
    i = (i + 1) & (s->cap - 1);
  s->table[i] = sym;
  s->order[s->nsymbols++] = sym;
  return sym;
}

/* -D NAME=VALUE: find the param, parse the value, check its type. */
static void apply_define(vx_sema *s, const vx_define *d) {
  vx_param *param = NULL;
  for (int i = 0; i < s->alg->nparams; i++)
    if (strcmp(s->alg->params[i]->name, d->name) == 0)
      param = s->alg->params[i];
  if (!param) {
    vx_suggestion sug;
    vx_suggest_init(&sug, d->name);
    for (int i = 0; i < s->alg->nparams; i++)
      vx_suggest_consider(&sug, s->alg->params[i]->name);
    vx_diag_report_plain(s->diag, VX_SEV_ERROR, "unknown-param", "-D %s=%s: algorithm '%s' has no param '%s'%s%s%s",
                         d->name, d->value, s->alg->name, d->name, sug.best ? "; did you mean '" : "",
                         sug.best ? sug.best : "", sug.best ? "'?" : "");
    s->failed = true;
    return;
  }
  char *end = NULL;
  errno = 0;
  double v = strtod(d->value, &end);
  if (end == d->value || *end != '\0' || errno == ERANGE || !isfinite(v)) {
    vx_diag_report_plain(s->diag, VX_SEV_ERROR, "param-type", "-D %s=%s: '%s' is not a number", d->name, d->value,
                         d->value);
    s->failed = true;
    return;
  }
  if (param->type == VX_TYPE_INT && (v != floor(v) || fabs(v) > 2147483647.0)) {
    vx_sema_error(s, param->span, "param-type", NULL, "-D %s=%s: param '%s' is an int", d->name, d->value,
                  param->name);
    return;
  }
  param->value = v;
  param->overridden = true;
}

static void check_params(vx_sema *s) {
  for (int i = 0; i < s->alg->nparams; i++) {
    vx_param *p = s->alg->params[i];
    vx_symbol *sym = declare(s, p->name, p->span, VX_SYM_PARAM);
    if (sym) {
      sym->param = p;
      sym->is_const = true;
    }
  }
  for (int i = 0; i < s->opts->ndefines; i++)
    apply_define(s, &s->opts->defines[i]);
  for (int i = 0; i < s->alg->nparams; i++) {
    vx_param *p = s->alg->params[i];
    if (!p->has_range || (p->value >= p->lo && p->value <= p->hi))
      continue;
    char v[32], lo[32], hi[32];
    vx_sema_num(v, sizeof v, p->value);
    vx_sema_num(lo, sizeof lo, p->lo);
    vx_sema_num(hi, sizeof hi, p->hi);
    if (p->overridden)
      vx_sema_error(s, p->span, "param-range", NULL, "-D %s=%s is out of range [%s, %s]", p->name, v, lo, hi);
    else
      vx_sema_error(s, p->span, "param-range", NULL, "value %s of param '%s' is out of range [%s, %s]", v, p->name,
                    lo, hi);
  }
}

static void check_states(vx_sema *s) {
  for (int i = 0; i < s->alg->nstates; i++) {
    vx_stmt *st = s->alg->states[i];
    vx_symbol *sym = declare(s, st->name, st->name_span, VX_SYM_STATE);
    if (sym) {
      sym->stmt = st;
      sym->shape.axes = VX_AXIS_BIT(VX_AXIS_PAGE);
    }
    vx_sema_expr(s, st->value); /* a literal: sets shape [] and the constant */
  }
}

/* Records a checked LET as a symbol (or poisons the name on error so
 * later uses stay quiet). */
static void define_let(vx_sema *s, vx_stmt *st, vx_sym_kind kind, bool ok) {
  vx_symbol *sym = declare(s, st->name, st->name_span, kind);
  if (!sym)
    return;
  sym->stmt = st;
  sym->poisoned = !ok;
  if (ok) {
    sym->shape = st->value->shape;
    sym->is_const = st->value->is_const;
    sym->const_value = st->value->const_value;
  }
}

static void check_cache(vx_sema *s) {
  s->stage = VX_STAGE_CACHE;
  for (int i = 0; i < s->alg->ncache && !vx_diag_should_stop(s->diag); i++) {
    vx_stmt *st = s->alg->cache[i];
    bool ok = vx_sema_expr(s, st->value);
    if (ok && vx_shape_has(st->value->shape, VX_AXIS_TOK)) {
      char buf[64];
      vx_sema_error(s, st->value->span, "field-keeps-tok", "reduce it, e.g. max(..., tok) or mean(..., tok)",
                    "cache field '%s' has shape %s: a page summary cannot keep 'tok' ('tok' and 'page' cannot "
                    "appear in one value)",
                    st->name, vx_shape_format(st->value->shape, buf, sizeof buf));
      ok = false;
    }
    define_let(s, st, VX_SYM_FIELD, ok);
  }
}

static void check_update(vx_sema *s, vx_stmt *st) {
  bool ok = vx_sema_expr(s, st->value);
  vx_symbol *sym = vx_sema_lookup(s, st->name);
  if (!sym) {
    vx_sema_error(s, st->name_span, "update-non-state", "declare it in 'state { NAME = 0; }'",
                  "cannot update '%s': no state with that name", st->name);
    return;
  }
  if (sym->kind != VX_SYM_STATE) {
    vx_sema_error(s, st->name_span, "update-non-state", NULL, "cannot update '%s': it is a %s, not a state",
                  st->name, kind_name(sym->kind));
    vx_sema_note(s, sym->span, "'%s' is defined here", st->name);
    return;
  }
  st->target = sym->stmt;
  if (sym->updated) {
    vx_sema_error(s, st->name_span, "duplicate-update", NULL, "state '%s' is updated twice", st->name);
    vx_sema_note(s, sym->update->name_span, "first update is here");
    return;
  }
  sym->updated = true;
  sym->update = st;
  char buf[64];
  if (ok && (st->value->shape.axes & ~VX_AXIS_BIT(VX_AXIS_PAGE))) {
    vx_sema_error(s, st->value->span, "state-shape", "reduce the other axes first",
                  "new value of state '%s' must have shape [page] or [], got %s", st->name,
                  vx_shape_format(st->value->shape, buf, sizeof buf));
  }
}

static void check_select(vx_sema *s, vx_stmt *st) {
  if (s->alg->select) {
    vx_sema_error(s, st->span, "repeated-select", NULL, "only one 'select' is allowed in the index block");
    vx_sema_note(s, s->alg->select->span, "the first 'select' is here");
    return;
  }
  s->alg->select = st;
  static const char *const forms[] = {"top", "mass", "threshold"};
  const char *form = forms[st->select];
  if (!vx_sema_expr(s, st->value))
    return;
  char buf[64], nb[32];
  const vx_expr *v = st->value;
  if (v->shape.axes) {
    vx_sema_error(s, v->span, "select-operand", "it may use params, num_pages and constants",
                  "the operand of %s() must be a scalar [], got %s", form, vx_shape_format(v->shape, buf, sizeof buf));
    return;
  }
  if (!v->is_const)
    return;
  double x = v->const_value;
  if (st->select == VX_SELECT_TOP && (x < 1 || x != floor(x)))
    vx_sema_error(s, v->span, "select-budget", NULL, "top() needs a positive integer number of pages, got %s",
                  vx_sema_num(nb, sizeof nb, x));
  else if (st->select == VX_SELECT_MASS && !(x > 0 && x <= 1))
    vx_sema_error(s, v->span, "select-mass", "mass(p) keeps the smallest set of pages whose softmax mass reaches p",
                  "mass() must be in (0, 1], got %s", vx_sema_num(nb, sizeof nb, x));
}

/* The score must be exactly [page]; the message says how to get there. */
static void check_score_shape(vx_sema *s, const vx_stmt *st) {
  vx_shape sh = st->value->shape;
  if (sh.axes == VX_AXIS_BIT(VX_AXIS_PAGE))
    return;
  char buf[64], hint[160] = "";
  vx_shape_format(sh, buf, sizeof buf);
  if (!vx_shape_has(sh, VX_AXIS_PAGE)) {
    vx_sema_error(s, st->value->span, "score-shape", "the score must depend on the page: use a cache field, "
                  "page_index or page_age",
                  "'score' must have shape [page], got %s", buf);
    return;
  }
  int a = vx_shape_has(sh, VX_AXIS_HEAD) ? VX_AXIS_HEAD : vx_shape_has(sh, VX_AXIS_DIM) ? VX_AXIS_DIM : VX_AXIS_SUB;
  if (a == VX_AXIS_HEAD)
    snprintf(hint, sizeof hint, "reduce 'head' with max(..., head) or mean(..., head)");
  else
    snprintf(hint, sizeof hint, "reduce '%s' with %s(..., %s)", vx_axis_name((vx_axis)a),
             a == VX_AXIS_DIM ? "sum" : "max", vx_axis_name((vx_axis)a));
  vx_sema_error(s, st->value->span, "score-shape", NULL, "'score' must have shape [page], got %s: %s", buf, hint);
}

static void check_index(vx_sema *s) {
  s->stage = VX_STAGE_INDEX;
  for (int i = 0; i < s->alg->nindex && !vx_diag_should_stop(s->diag); i++) {
    vx_stmt *st = s->alg->index[i];
    switch (st->kind) {
    case VX_STMT_LET: {
      bool ok = vx_sema_expr(s, st->value);
      if (strcmp(st->name, "score") == 0 && !vx_sema_lookup(s, "score")) {
        s->alg->score = st;
        if (ok)
          check_score_shape(s, st);
      }
      define_let(s, st, VX_SYM_LOCAL, ok);
      break;
    }
    case VX_STMT_UPDATE:
      check_update(s, st);
      break;
    case VX_STMT_SELECT:
      check_select(s, st);
      break;
    case VX_STMT_STATE:
      break;
    }
  }
  if (vx_diag_should_stop(s->diag))
    return;
  if (!s->alg->score)
    vx_sema_error(s, s->alg->span, "missing-score", "define it in the index block: score = ...;",
                  "algorithm '%s' does not define 'score'", s->alg->name);
  if (!s->alg->select)
    vx_sema_error(s, s->alg->span, "missing-select", "end the index block with e.g. 'select top(budget);'",
                  "algorithm '%s' has no 'select' statement", s->alg->name);
}

/* A cache field the index never reads is still computed and stored for
 * every page, and its bytes are scanned at every step: worth a warning. */
static void warn_unused_fields(vx_sema *s) {
  for (size_t i = 0; i < s->nsymbols; i++) {
    const vx_symbol *sym = s->order[i];
    if (sym->kind == VX_SYM_FIELD && !sym->read_by_index && !sym->poisoned)
      vx_diag_report(s->diag, VX_SEV_WARNING, "unused-field", s->file, sym->span,
                     "remove it, or use it in the index block",
                     "cache field '%s' is never read by the index: it is stored for every page for nothing",
                     sym->name);
  }
}

bool vx_sema_check(vx_arena *arena, vx_algorithm *alg, vx_diag_engine *diag, const vx_sema_options *opts) {
  static const vx_sema_options defaults = {.page_size = 16};
  vx_sema s = {.arena = arena, .diag = diag, .opts = opts ? opts : &defaults, .alg = alg, .file = alg->file};
  size_t n = (size_t)alg->nparams + (size_t)alg->nstates + (size_t)alg->ncache + (size_t)alg->nindex + 1;
  s.cap = 16;
  while (s.cap < 2 * n)
    s.cap *= 2;
  s.table = vx_arena_alloc(arena, s.cap * sizeof *s.table);
  s.order = vx_arena_alloc(arena, n * sizeof *s.order);
  if (!s.table || !s.order) {
    vx_diag_report_plain(diag, VX_SEV_ERROR, "out-of-memory", "out of memory while checking '%s'", alg->file);
    return false;
  }
  alg->select = NULL;
  alg->score = NULL;
  check_params(&s);
  check_states(&s);
  if (!vx_diag_should_stop(diag))
    check_cache(&s);
  if (!vx_diag_should_stop(diag))
    check_index(&s);
  if (!s.failed)
    warn_unused_fields(&s);
  return !s.failed;
}

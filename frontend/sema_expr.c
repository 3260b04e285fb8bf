/* Expression checking: name resolution per stage, named-axis shape
 * inference (union broadcasting) and constant folding. Recursion depth
 * is bounded by the parser's nesting limit. */
#include <math.h>
#include <string.h>

#include "ast_build.h"
#include "sema_int.h"
#include "suggest.h"

/* The names the language provides (not declared by the user). */
static const char *const intrinsic_names[] = {"k", "v", "q", "page_index", "num_pages", "page_age"};

static bool has_tokish(vx_shape s) { return vx_shape_has(s, VX_AXIS_TOK) || vx_shape_has(s, VX_AXIS_SUB); }

static vx_shape shape_of(uint8_t axes) { return (vx_shape){.axes = axes, .split = 0}; }

/* Clears the split width once no token axis is left. */
static vx_shape normalise(vx_shape s) {
  if (!has_tokish(s))
    s.split = 0;
  return s;
}

/* Union broadcasting of two operand shapes; `what` names the operation
 * ("add", "combine ... in 'max'"). Reports and returns false on axes that
 * cannot meet in one value. */
static bool broadcast(vx_sema *s, vx_span at, const char *verb, const char *in_fn, vx_shape a, vx_shape b,
                      vx_shape *out) {
  char sa[64], sb[64];
  vx_shape r = {.axes = (uint8_t)(a.axes | b.axes), .split = has_tokish(a) ? a.split : b.split};
  const char *why = NULL;
  char whybuf[96];
  if (has_tokish(a) && has_tokish(b) && a.split != b.split) {
    if (vx_shape_has(a, VX_AXIS_TOK) && vx_shape_has(b, VX_AXIS_TOK) && (!a.split || !b.split))
      why = "'tok' has different widths";
    else if (a.split && b.split) {
      snprintf(whybuf, sizeof whybuf, "their token axes come from different splits (%u and %u tokens per slice)",
               a.split, b.split);
      why = whybuf;
    } else {
      why = "their token axes come from different splits";
    }
  } else if (vx_shape_has(r, VX_AXIS_TOK) && vx_shape_has(r, VX_AXIS_PAGE)) {
    why = "'tok' and 'page' cannot appear in one value";
  } else if (vx_shape_has(r, VX_AXIS_TOK) && vx_shape_has(r, VX_AXIS_HEAD)) {
    why = "'tok' and 'head' cannot appear in one value";
  }
  if (why) {
    vx_sema_error(s, at, "axis-mismatch", NULL, "cannot %s %s and %s%s%s%s: %s", verb,
                  vx_shape_format(a, sa, sizeof sa), vx_shape_format(b, sb, sizeof sb), in_fn ? " in '" : "",
                  in_fn ? in_fn : "", in_fn ? "'" : "", why);
    return false;
  }
  *out = normalise(r);
  return true;
}

static const char *binop_verb(vx_binop op) {
  switch (op) {
  case VX_BINOP_ADD: return "add";
  case VX_BINOP_SUB: return "subtract";
  case VX_BINOP_MUL: return "multiply";
  case VX_BINOP_DIV: return "divide";
  default: return "compare";
  }
}

static bool is_intrinsic(const char *name) {
  for (size_t i = 0; i < sizeof intrinsic_names / sizeof intrinsic_names[0]; i++)
    if (strcmp(name, intrinsic_names[i]) == 0)
      return true;
  return false;
}

/* Reports an undefined name with the closest visible candidate. */
static void report_undefined(vx_sema *s, vx_expr *e) {
  vx_suggestion sug;
  vx_suggest_init(&sug, e->name);
  /* Bounded work per error: the most recent declarations only (a file
   * with thousands of names and no error limit stays fast). */
  enum { VX_SUGGEST_WINDOW = 2048 };
  size_t from = s->nsymbols > VX_SUGGEST_WINDOW ? s->nsymbols - VX_SUGGEST_WINDOW : 0;
  for (size_t i = from; i < s->nsymbols; i++) {
    const vx_symbol *sym = s->order[i];
    if (s->stage == VX_STAGE_CACHE && sym->kind == VX_SYM_STATE)
      continue;
    vx_suggest_consider(&sug, sym->name);
  }
  if (s->stage == VX_STAGE_CACHE) {
    vx_suggest_consider(&sug, "k");
    if (s->alg->kv == VX_KV_GQA)
      vx_suggest_consider(&sug, "v");
  } else {
    for (size_t i = 2; i < sizeof intrinsic_names / sizeof intrinsic_names[0]; i++)
      vx_suggest_consider(&sug, intrinsic_names[i]);
  }
  vx_suggest_builtins(&sug);
  char hint[160];
  if (sug.best)
    snprintf(hint, sizeof hint, "did you mean '%s'?", sug.best);
  vx_sema_error(s, e->span, "undefined-name", sug.best ? hint : NULL, "use of undefined name '%s'", e->name);
}

/* Resolves an intrinsic input name; returns false (reported) when it is
 * not available in this stage. Sets `*handled` when `name` is one. */
static bool resolve_intrinsic(vx_sema *s, vx_expr *e, bool *handled) {
  *handled = true;
  const char *n = e->name;
  bool cache = s->stage == VX_STAGE_CACHE;
  vx_shape tokdim = shape_of(VX_AXIS_BIT(VX_AXIS_TOK) | VX_AXIS_BIT(VX_AXIS_DIM));
  if (strcmp(n, "k") == 0 || strcmp(n, "v") == 0) {
    if (!cache) {
      vx_sema_error(s, e->span, "stage", "summarise the page in the cache block, e.g. cache { c = mean(k, tok); }",
                    "'%s' is not available in the index stage: it only sees cache fields, not raw keys and values", n);
      return false;
    }
    if (n[0] == 'v' && s->alg->kv == VX_KV_MLA) {
      vx_sema_error(s, e->span, "mla-no-v", "MLA caches one latent per token: read it as 'k'",
                    "'v' is not available with kv mla(%d, %d)", s->alg->mla_latent, s->alg->mla_rope);
      return false;
    }
    e->ref = n[0] == 'k' ? VX_REF_INPUT_K : VX_REF_INPUT_V;
    e->shape = tokdim;
    return true;
  }
  static const struct { const char *name; vx_ref_kind ref; uint8_t axes; } index_inputs[] = {
      {"q", VX_REF_INPUT_Q, VX_AXIS_BIT(VX_AXIS_HEAD) | VX_AXIS_BIT(VX_AXIS_DIM)},
      {"page_index", VX_REF_PAGE_INDEX, VX_AXIS_BIT(VX_AXIS_PAGE)},
      {"num_pages", VX_REF_NUM_PAGES, 0},
      {"page_age", VX_REF_PAGE_AGE, VX_AXIS_BIT(VX_AXIS_PAGE)},
  };
  for (size_t i = 0; i < sizeof index_inputs / sizeof index_inputs[0]; i++) {
    if (strcmp(n, index_inputs[i].name) != 0)
      continue;
    if (cache) {
      if (index_inputs[i].ref == VX_REF_INPUT_Q)
        vx_sema_error(s, e->span, "stage", "use 'q' in the index block",
                      "'q' is not available in the cache stage: the cache summarises a page before any query exists");
      else
        vx_sema_error(s, e->span, "stage", "page positions belong to the index block",
                      "'%s' is not available in the cache stage: it is a property of the page list at decode time", n);
      return false;
    }
    e->ref = index_inputs[i].ref;
    e->shape = shape_of(index_inputs[i].axes);
    return true;
  }
  *handled = false;
  return false;
}

static bool check_name(vx_sema *s, vx_expr *e) {
  bool handled;
  bool ok = resolve_intrinsic(s, e, &handled);
  if (handled)
    return ok;
  vx_symbol *sym = vx_sema_lookup(s, e->name);
  /* Index locals are declared as they are checked, so a later one is
   * simply not in the table yet: "undefined", which it is at this point. */
  if (!sym) {
    report_undefined(s, e);
    return false;
  }
  if (sym->poisoned)
    return false;
  if (s->stage == VX_STAGE_INDEX)
    sym->read_by_index = true;
  switch (sym->kind) {
  case VX_SYM_PARAM:
    e->ref = VX_REF_PARAM;
    e->param = sym->param;
    e->shape = shape_of(0);
    e->is_const = true;
    e->const_value = sym->param->value;
    return true;
  case VX_SYM_STATE:
    if (s->stage == VX_STAGE_CACHE) {
      vx_sema_error(s, e->span, "stage", "read state in the index block",
                    "state '%s' is not available in the cache stage: state lives across decode steps of the index", e->name);
      vx_sema_note(s, sym->span, "'%s' is declared here", e->name);
      return false;
    }
    e->ref = VX_REF_STATE;
    e->def = sym->stmt;
    e->shape = shape_of(VX_AXIS_BIT(VX_AXIS_PAGE));
    return true;
  case VX_SYM_FIELD:
    e->def = sym->stmt;
    if (s->stage == VX_STAGE_CACHE) {
      e->ref = VX_REF_LOCAL; /* an earlier field of the same block: its own shape */
      e->shape = sym->shape;
    } else {
      e->ref = VX_REF_FIELD;
      e->shape = sym->shape;
      e->shape.axes |= VX_AXIS_BIT(VX_AXIS_PAGE);
    }
    return true;
  case VX_SYM_LOCAL:
    e->ref = VX_REF_LOCAL;
    e->def = sym->stmt;
    e->shape = sym->shape;
    e->is_const = sym->is_const;
    e->const_value = sym->const_value;
    return true;
  }
  return false;
}

static double fold_binary(vx_binop op, double a, double b) {
  switch (op) {
  case VX_BINOP_ADD: return a + b;
  case VX_BINOP_SUB: return a - b;
  case VX_BINOP_MUL: return a * b;
  case VX_BINOP_DIV: return a / b;
  case VX_BINOP_LT: return a < b;
  case VX_BINOP_LE: return a <= b;
  case VX_BINOP_GT: return a > b;
  case VX_BINOP_GE: return a >= b;
  case VX_BINOP_EQ: return a == b;
  case VX_BINOP_NE: return a != b;
  }
  return 0;
}

static bool check_binary(vx_sema *s, vx_expr *e) {
  bool ok_l = vx_sema_expr(s, e->lhs);
  bool ok_r = vx_sema_expr(s, e->rhs);
  if (!ok_l || !ok_r)
    return false;
  if (!broadcast(s, e->span, binop_verb(e->binop), NULL, e->lhs->shape, e->rhs->shape, &e->shape))
    return false;
  if (e->lhs->is_const && e->rhs->is_const) {
    if (e->binop == VX_BINOP_DIV && e->rhs->const_value == 0) {
      vx_sema_error(s, e->span, "division-by-zero", NULL, "division by zero in a constant expression");
      return false;
    }
    double v = fold_binary(e->binop, e->lhs->const_value, e->rhs->const_value);
    if (isfinite(v)) {
      e->is_const = true;
      e->const_value = v;
    }
  }
  return true;
}

static double fold_unary(vx_builtin b, double x) {
  switch (b) {
  case VX_BUILTIN_EXP: return exp(x);
  case VX_BUILTIN_LOG: return log(x);
  case VX_BUILTIN_ABS: return fabs(x);
  case VX_BUILTIN_SQRT: return sqrt(x);
  case VX_BUILTIN_RELU: return x > 0 ? x : 0;
  case VX_BUILTIN_SIGMOID: return 1 / (1 + exp(-x));
  case VX_BUILTIN_SILU: return x / (1 + exp(-x));
  case VX_BUILTIN_TANH: return tanh(x);
  default: return NAN;
  }
}

static bool lookup_builtin(vx_sema *s, vx_expr *e, vx_builtin_kind *kind, int *lo, int *hi) {
  static const struct { const char *name; vx_builtin_kind kind; int lo, hi; } table[] = {
#define VX_BUILTIN(id, name, kind, lo, hi) {name, VX_BK_##kind, lo, hi},
#include "builtins.def"
#undef VX_BUILTIN
  };
  for (int b = 0; b < VX_BUILTIN_COUNT; b++) {
    if (strcmp(table[b].name, e->callee) == 0) {
      e->builtin = (vx_builtin)b;
      *kind = table[b].kind;
      *lo = table[b].lo;
      *hi = table[b].hi;
      return true;
    }
  }
  vx_suggestion sug;
  vx_suggest_init(&sug, e->callee);
  vx_suggest_builtins(&sug);
  char hint[96];
  if (sug.best)
    snprintf(hint, sizeof hint, "did you mean '%s'?", sug.best);
  vx_sema_error(s, e->span, "unknown-function", sug.best ? hint : "see docs/language.md for the builtins",
                "unknown function '%s'", e->callee);
  return false;
}

/* Checks a non-axis argument (axis names are legal only where a builtin
 * takes an axis). */
static bool check_value_arg(vx_sema *s, vx_expr *call, vx_expr *arg) {
  if (arg->kind == VX_EXPR_AXIS) {
    vx_sema_error(s, arg->span, "axis-argument", NULL,
                  "axis '%s' cannot be an operand of '%s': axis names only name the axis a reduction removes",
                  vx_axis_name(arg->axis), call->callee);
    return false;
  }
  return vx_sema_expr(s, arg);
}

static bool check_reduce_like(vx_sema *s, vx_expr *e, bool removes) {
  vx_expr *x = e->args[0], *ax = e->args[1];
  bool ok = check_value_arg(s, e, x);
  if (ax->kind != VX_EXPR_AXIS) {
    vx_sema_error(s, ax->span, "axis-expected", "axes are page, head, sub, tok and dim",
                  "the second argument of '%s' must be an axis name", e->callee);
    return false;
  }
  if (!ok)
    return false;
  char buf[64];
  if (!vx_shape_has(x->shape, ax->axis)) {
    vx_sema_error(s, e->span, "reduce-absent-axis", NULL, "cannot %s %s over '%s'",
                  removes ? "reduce" : "normalise", vx_shape_format(x->shape, buf, sizeof buf),
                  vx_axis_name(ax->axis));
    return false;
  }
  e->shape = x->shape;
  if (removes)
    e->shape.axes &= (uint8_t)~VX_AXIS_BIT(ax->axis);
  e->shape = normalise(e->shape);
  return true;
}

static bool check_split(vx_sema *s, vx_expr *e) {
  vx_expr *x = e->args[0], *n = e->args[1];
  bool ok = check_value_arg(s, e, x);
  ok = check_value_arg(s, e, n) && ok;
  if (!ok)
    return false;
  char buf[64], nb[32];
  if (!n->is_const || n->const_value != floor(n->const_value) || n->const_value < 1) {
    vx_sema_error(s, n->span, "split-width", NULL, "the width of split() must be a positive integer constant");
    return false;
  }
  if (!vx_shape_has(x->shape, VX_AXIS_TOK) || vx_shape_has(x->shape, VX_AXIS_SUB)) {
    vx_sema_error(s, e->span, "split-axis", NULL, "cannot split %s: split() needs an unsplit 'tok' axis",
                  vx_shape_format(x->shape, buf, sizeof buf));
    return false;
  }
  int page_size = s->opts->page_size > 0 ? s->opts->page_size : 16;
  double w = n->const_value;
  if (w > page_size || w > UINT16_MAX || page_size % (int)w != 0) {
    vx_sema_error(s, n->span, "split-width", "choose a divisor of the page size (--page-size)",
                  "split width %s does not divide the page size %d", vx_sema_num(nb, sizeof nb, w), page_size);
    return false;
  }
  e->shape = x->shape;
  e->shape.axes |= VX_AXIS_BIT(VX_AXIS_SUB);
  e->shape.split = (uint16_t)w;
  return true;
}

static bool check_call(vx_sema *s, vx_expr *e) {
  vx_builtin_kind kind;
  int lo, hi;
  if (!lookup_builtin(s, e, &kind, &lo, &hi))
    return false;
  if (e->nargs < lo || e->nargs > hi) {
    vx_sema_error(s, e->span, "arity", NULL, "'%s' takes %d argument%s, got %d", e->callee, lo, lo == 1 ? "" : "s",
                  e->nargs);
    return false;
  }
  /* max/min are reductions when the second argument is an axis. */
  if ((e->builtin == VX_BUILTIN_MAX || e->builtin == VX_BUILTIN_MIN) && e->args[1]->kind != VX_EXPR_AXIS)
    kind = VX_BK_BINARY;
  e->bkind = kind;
  switch (kind) {
  case VX_BK_UNARY:
    if (!check_value_arg(s, e, e->args[0]))
      return false;
    e->shape = e->args[0]->shape;
    if (e->args[0]->is_const) {
      double v = fold_unary(e->builtin, e->args[0]->const_value);
      if (isfinite(v)) {
        e->is_const = true;
        e->const_value = v;
      }
    }
    return true;
  case VX_BK_BINARY: {
    bool ok = check_value_arg(s, e, e->args[0]);
    ok = check_value_arg(s, e, e->args[1]) && ok;
    if (!ok || !broadcast(s, e->span, "combine", e->callee, e->args[0]->shape, e->args[1]->shape, &e->shape))
      return false;
    if (e->args[0]->is_const && e->args[1]->is_const) {
      double a = e->args[0]->const_value, b = e->args[1]->const_value;
      e->is_const = true;
      e->const_value = e->builtin == VX_BUILTIN_MAX ? (a > b ? a : b) : (a < b ? a : b);
    }
    return true;
  }
  case VX_BK_REDUCE:
    return check_reduce_like(s, e, true);
  case VX_BK_AXISMAP:
    return check_reduce_like(s, e, false);
  case VX_BK_SPLIT:
    return check_split(s, e);
  case VX_BK_WHERE: {
    bool ok = true;
    for (int i = 0; i < 3; i++)
      ok = check_value_arg(s, e, e->args[i]) && ok;
    if (!ok)
      return false;
    vx_shape ab;
    if (!broadcast(s, e->span, "combine", "where", e->args[1]->shape, e->args[2]->shape, &ab) ||
        !broadcast(s, e->span, "combine", "where", e->args[0]->shape, ab, &e->shape))
      return false;
    if (e->args[0]->is_const && e->args[1]->is_const && e->args[2]->is_const) {
      e->is_const = true;
      e->const_value = e->args[0]->const_value != 0 ? e->args[1]->const_value : e->args[2]->const_value;
    }
    return true;
  }
  }
  return false;
}

bool vx_sema_expr(vx_sema *s, vx_expr *e) {
  switch (e->kind) {
  case VX_EXPR_NUMBER:
    e->shape = shape_of(0);
    e->is_const = true;
    e->const_value = e->number;
    return true;
  case VX_EXPR_NAME:
    return check_name(s, e);
  case VX_EXPR_AXIS:
    vx_sema_error(s, e->span, "axis-argument", "e.g. sum(x, tok) removes 'tok'",
                  "axis '%s' can only be the axis argument of a builtin", vx_axis_name(e->axis));
    return false;
  case VX_EXPR_NEG:
    if (!vx_sema_expr(s, e->lhs))
      return false;
    e->shape = e->lhs->shape;
    e->is_const = e->lhs->is_const;
    e->const_value = -e->lhs->const_value;
    return true;
  case VX_EXPR_BINARY:
    return check_binary(s, e);
  case VX_EXPR_CALL:
    return check_call(s, e);
  }
  return false;
}

bool vx_sema_is_intrinsic(const char *name) { return is_intrinsic(name); }

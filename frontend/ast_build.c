#include "ast_build.h"

#include <string.h>

bool vx_ptrvec_push(vx_arena *a, vx_ptrvec *v, void *item) {
  if (v->n == v->cap) {
    int cap = v->cap ? v->cap * 2 : 8;
    void **grown = vx_arena_alloc(a, (size_t)cap * sizeof *grown);
    if (!grown)
      return false;
    if (v->n)
      memcpy(grown, v->items, (size_t)v->n * sizeof *grown);
    v->items = grown;
    v->cap = cap;
  }
  v->items[v->n++] = item;
  return true;
}

static vx_expr *new_expr(vx_arena *a, vx_expr_kind kind, vx_span span) {
  vx_expr *e = vx_arena_alloc(a, sizeof *e);
  if (!e)
    return NULL;
  e->kind = kind;
  e->span = span;
  e->depth = 1;
  return e;
}

vx_expr *vx_ast_number(vx_arena *a, vx_span span, double value, bool is_int) {
  vx_expr *e = new_expr(a, VX_EXPR_NUMBER, span);
  if (e) {
    e->number = value;
    e->is_int = is_int;
  }
  return e;
}

vx_expr *vx_ast_name(vx_arena *a, vx_span span, const char *name) {
  vx_expr *e = new_expr(a, VX_EXPR_NAME, span);
  if (e)
    e->name = name;
  return e;
}

vx_expr *vx_ast_axis(vx_arena *a, vx_span span, vx_axis axis) {
  vx_expr *e = new_expr(a, VX_EXPR_AXIS, span);
  if (e)
    e->axis = axis;
  return e;
}

vx_expr *vx_ast_neg(vx_arena *a, vx_span span, vx_expr *operand) {
  vx_expr *e = new_expr(a, VX_EXPR_NEG, span);
  if (e) {
    e->lhs = operand;
    e->depth = operand->depth + 1;
  }
  return e;
}

vx_expr *vx_ast_binary(vx_arena *a, vx_span span, vx_binop op, vx_expr *lhs, vx_expr *rhs) {
  vx_expr *e = new_expr(a, VX_EXPR_BINARY, span);
  if (e) {
    e->binop = op;
    e->lhs = lhs;
    e->rhs = rhs;
    e->depth = 1 + (lhs->depth > rhs->depth ? lhs->depth : rhs->depth);
  }
  return e;
}

vx_expr *vx_ast_call(vx_arena *a, vx_span span, const char *callee, vx_ptrvec *args) {
  vx_expr *e = new_expr(a, VX_EXPR_CALL, span);
  if (!e)
    return NULL;
  e->callee = callee;
  e->args = (vx_expr **)args->items;
  e->nargs = args->n;
  for (int i = 0; i < args->n; i++)
    if (e->args[i]->depth + 1 > e->depth)
      e->depth = e->args[i]->depth + 1;
  return e;
}

vx_stmt *vx_ast_stmt(vx_arena *a, vx_stmt_kind kind, vx_span span) {
  vx_stmt *s = vx_arena_alloc(a, sizeof *s);
  if (s) {
    s->kind = kind;
    s->span = span;
  }
  return s;
}

const char *vx_binop_spelling(vx_binop op) {
  static const char *const names[] = {"+", "-", "*", "/", "<", "<=", ">", ">=", "==", "!="};
  return (unsigned)op < sizeof names / sizeof names[0] ? names[op] : "?";
}

const char *vx_builtin_name(vx_builtin b) {
  static const char *const names[] = {
#define VX_BUILTIN(id, name, kind, lo, hi) name,
#include "builtins.def"
#undef VX_BUILTIN
  };
  return (unsigned)b < VX_BUILTIN_COUNT ? names[b] : "?";
}

const char *vx_ast_dtype_name(vx_dtype t) {
  switch (t) {
  case VX_DTYPE_DEFAULT: return "kv";
  case VX_DTYPE_F32: return "f32";
  case VX_DTYPE_BF16: return "bf16";
  case VX_DTYPE_F16: return "f16";
  }
  return "?";
}

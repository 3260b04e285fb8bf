/* --emit=ast: the AST as an indented S-expression, including what sema
 * recorded (reference kinds, shapes, constant values), so golden tests
 * see both the parse and the checking. Output is deterministic. */
#include <math.h>

#include "ast_build.h"

static const char *ref_name(vx_ref_kind r) {
  switch (r) {
  case VX_REF_UNRESOLVED: return "unresolved";
  case VX_REF_PARAM: return "param";
  case VX_REF_INPUT_K: return "input.k";
  case VX_REF_INPUT_V: return "input.v";
  case VX_REF_INPUT_Q: return "input.q";
  case VX_REF_FIELD: return "field";
  case VX_REF_STATE: return "state";
  case VX_REF_LOCAL: return "local";
  case VX_REF_PAGE_INDEX: return "page_index";
  case VX_REF_NUM_PAGES: return "num_pages";
  case VX_REF_PAGE_AGE: return "page_age";
  }
  return "?";
}

static const char *bkind_name(vx_builtin_kind k) {
  switch (k) {
  case VX_BK_UNARY: return "unary";
  case VX_BK_BINARY: return "binary";
  case VX_BK_REDUCE: return "reduce";
  case VX_BK_AXISMAP: return "axismap";
  case VX_BK_SPLIT: return "split";
  case VX_BK_WHERE: return "where";
  }
  return "?";
}

static void print_number(FILE *out, double v) {
  if (v == floor(v) && fabs(v) < 1e15)
    fprintf(out, "%.0f", v);
  else
    fprintf(out, "%.9g", v);
}

/* Shape (and split width) plus the folded constant, after each node. */
static void print_facts(FILE *out, const vx_expr *e) {
  char buf[64];
  fprintf(out, " %s", vx_shape_format(e->shape, buf, sizeof buf));
  if (e->shape.split)
    fprintf(out, "/split=%u", e->shape.split);
  if (e->is_const) {
    fputs(" =", out);
    print_number(out, e->const_value);
  }
}

static void print_expr(FILE *out, const vx_expr *e) {
  switch (e->kind) {
  case VX_EXPR_NUMBER:
    fprintf(out, "(%s ", e->is_int ? "int" : "float");
    print_number(out, e->number);
    fputc(')', out);
    return;
  case VX_EXPR_NAME:
    fprintf(out, "(name %s %s", e->name, ref_name(e->ref));
    print_facts(out, e);
    fputc(')', out);
    return;
  case VX_EXPR_AXIS:
    fputs(vx_axis_name(e->axis), out);
    return;
  case VX_EXPR_NEG:
    fputs("(neg", out);
    print_facts(out, e);
    fputc(' ', out);
    print_expr(out, e->lhs);
    fputc(')', out);
    return;
  case VX_EXPR_BINARY:
    fprintf(out, "(%s", vx_binop_spelling(e->binop));
    print_facts(out, e);
    fputc(' ', out);
    print_expr(out, e->lhs);
    fputc(' ', out);
    print_expr(out, e->rhs);
    fputc(')', out);
    return;
  case VX_EXPR_CALL:
    fprintf(out, "(call %s %s", e->callee, bkind_name(e->bkind));
    print_facts(out, e);
    for (int i = 0; i < e->nargs; i++) {
      fputc(' ', out);
      print_expr(out, e->args[i]);
    }
    fputc(')', out);
    return;
  }
}

static void print_stmt(FILE *out, const vx_stmt *s) {
  static const char *const forms[] = {"top", "mass", "threshold"};
  switch (s->kind) {
  case VX_STMT_LET:
    fprintf(out, "    (let %s", s->name);
    if (s->dtype != VX_DTYPE_DEFAULT)
      fprintf(out, " :%s", vx_ast_dtype_name(s->dtype));
    break;
  case VX_STMT_STATE:
    fprintf(out, "  (state %s", s->name);
    break;
  case VX_STMT_UPDATE:
    fprintf(out, "    (update %s", s->name);
    break;
  case VX_STMT_SELECT:
    fprintf(out, "    (select %s keep-first=%d keep-last=%d", forms[s->select], s->keep_first, s->keep_last);
    break;
  }
  fputc(' ', out);
  print_expr(out, s->value);
  fputs(")\n", out);
}

void vx_ast_print(FILE *out, const vx_algorithm *alg) {
  fprintf(out, "(algorithm %s\n", alg->name);
  for (int i = 0; i < alg->nparams; i++) {
    const vx_param *p = alg->params[i];
    fprintf(out, "  (param %s %s ", p->name, p->type == VX_TYPE_INT ? "int" : "float");
    print_number(out, p->value);
    if (p->has_range) {
      fputs(" (range ", out);
      print_number(out, p->lo);
      fputc(' ', out);
      print_number(out, p->hi);
      fputc(')', out);
    }
    if (p->overridden)
      fputs(" overridden", out);
    fputs(")\n", out);
  }
  if (alg->kv == VX_KV_MLA)
    fprintf(out, "  (kv mla %d %d)\n", alg->mla_latent, alg->mla_rope);
  else
    fputs("  (kv gqa)\n", out);
  if (alg->ndense_layers) {
    fputs("  (dense-layers", out);
    for (int i = 0; i < alg->ndense_layers; i++)
      fprintf(out, " %d", alg->dense_layers[i]);
    fputs(")\n", out);
  }
  for (int i = 0; i < alg->nstates; i++)
    print_stmt(out, alg->states[i]);
  fputs("  (cache\n", out);
  for (int i = 0; i < alg->ncache; i++)
    print_stmt(out, alg->cache[i]);
  fputs("  )\n  (index\n", out);
  for (int i = 0; i < alg->nindex; i++)
    print_stmt(out, alg->index[i]);
  fputs("  ))\n", out);
}

/* Arena constructors for AST nodes (used by the parser's actions), a
 * growable pointer vector in the arena, and the --emit=ast printer.
 * Every constructor returns NULL when the arena is exhausted. */
#ifndef VX_AST_BUILD_H
#define VX_AST_BUILD_H

#include <stdio.h>

#include "../compiler/arena.h"
#include "ast.h"

/* Deepest expression tree the parser accepts ("expression nested too
 * deeply" beyond it); bounds the recursion of every later walk. */
enum { VX_MAX_NESTING = 256 };

/* A vector of pointers whose storage lives in an arena: growth copies
 * into a block twice the size (the old one is reclaimed with the arena). */
typedef struct vx_ptrvec {
  void **items;
  int n, cap;
} vx_ptrvec;

bool vx_ptrvec_push(vx_arena *a, vx_ptrvec *v, void *item);

vx_expr *vx_ast_number(vx_arena *a, vx_span span, double value, bool is_int);
vx_expr *vx_ast_name(vx_arena *a, vx_span span, const char *name);
vx_expr *vx_ast_axis(vx_arena *a, vx_span span, vx_axis axis);
vx_expr *vx_ast_neg(vx_arena *a, vx_span span, vx_expr *operand);
vx_expr *vx_ast_binary(vx_arena *a, vx_span span, vx_binop op, vx_expr *lhs, vx_expr *rhs);
vx_expr *vx_ast_call(vx_arena *a, vx_span span, const char *callee, vx_ptrvec *args);
vx_stmt *vx_ast_stmt(vx_arena *a, vx_stmt_kind kind, vx_span span);

/* Spelling of a binary operator ("+", "<=", ...). */
const char *vx_binop_spelling(vx_binop op);
/* Spelling of a builtin ("exp", ...), from builtins.def. */
const char *vx_builtin_name(vx_builtin b);
/* Spelling of a storage dtype ("bf16"; "kv" for DEFAULT). */
const char *vx_ast_dtype_name(vx_dtype t);

/* Writes the AST (with what sema recorded: references, shapes, constant
 * values) as an indented S-expression. Deterministic: no pointers. */
void vx_ast_print(FILE *out, const vx_algorithm *alg);

#endif

/* The abstract syntax tree of a .vtx algorithm, and what the checker
 * (sema) records on it. The parser builds it in an arena owned by the
 * caller; nothing in it is freed individually.
 *
 * Contract between frontend/ (builds and checks it) and ir/lower.c
 * (turns a checked AST into page-level IR). Lowering may assume every
 * field documented as "set by sema" is set and consistent. */
#ifndef VX_AST_H
#define VX_AST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "axes.h"

/* A source range; lines and columns are 1-based, columns in bytes,
 * end_col is the column of the last byte (inclusive). */
typedef struct vx_span {
  uint32_t line, col;
  uint32_t end_line, end_col;
} vx_span;

typedef enum vx_builtin {
#define VX_BUILTIN(id, name, kind, lo, hi) VX_BUILTIN_##id,
#include "builtins.def"
#undef VX_BUILTIN
  VX_BUILTIN_COUNT
} vx_builtin;

typedef enum vx_builtin_kind {
  VX_BK_UNARY, VX_BK_BINARY, VX_BK_REDUCE, VX_BK_AXISMAP, VX_BK_SPLIT, VX_BK_WHERE
} vx_builtin_kind;

typedef enum vx_binop {
  VX_BINOP_ADD, VX_BINOP_SUB, VX_BINOP_MUL, VX_BINOP_DIV,
  VX_BINOP_LT, VX_BINOP_LE, VX_BINOP_GT, VX_BINOP_GE, VX_BINOP_EQ, VX_BINOP_NE
} vx_binop;

/* What a name refers to, resolved by sema. */
typedef enum vx_ref_kind {
  VX_REF_UNRESOLVED,
  VX_REF_PARAM,      /* a param: scalar constant after -D overrides */
  VX_REF_INPUT_K,    /* cache stage: keys of the page [tok, dim] (MLA: the latent) */
  VX_REF_INPUT_V,    /* cache stage: values of the page [tok, dim] (GQA only) */
  VX_REF_INPUT_Q,    /* index stage: the query group [head, dim] */
  VX_REF_FIELD,      /* index stage: a cache field, with an extra page axis */
  VX_REF_STATE,      /* index stage: persistent per-page state [page], previous step's value */
  VX_REF_LOCAL,      /* a local definition earlier in the same block */
  VX_REF_PAGE_INDEX, /* index stage: logical page number 0..n-1 [page] */
  VX_REF_NUM_PAGES,  /* index stage: page count n of this request [] */
  VX_REF_PAGE_AGE    /* index stage: n-1-page_index [page] (0 for the newest page) */
} vx_ref_kind;

typedef enum vx_expr_kind {
  VX_EXPR_NUMBER, /* literal; `is_int` says whether it was written without '.'/exponent */
  VX_EXPR_NAME,   /* identifier */
  VX_EXPR_AXIS,   /* an axis keyword; legal only as the axis argument of a builtin */
  VX_EXPR_NEG,    /* unary minus */
  VX_EXPR_BINARY, /* a op b */
  VX_EXPR_CALL    /* builtin call */
} vx_expr_kind;

typedef struct vx_stmt vx_stmt;
typedef struct vx_param vx_param;

typedef struct vx_expr {
  vx_expr_kind kind;
  vx_span span;
  /* VX_EXPR_NUMBER */
  double number;
  bool is_int;
  /* VX_EXPR_NAME: the identifier; set by sema: what it refers to */
  const char *name;
  vx_ref_kind ref;
  const vx_param *param;   /* VX_REF_PARAM */
  const vx_stmt *def;      /* VX_REF_LOCAL, VX_REF_FIELD (the cache statement), VX_REF_STATE (state decl) */
  /* VX_EXPR_AXIS */
  vx_axis axis;
  /* VX_EXPR_BINARY */
  vx_binop binop;
  /* VX_EXPR_NEG uses lhs; VX_EXPR_BINARY uses lhs and rhs */
  struct vx_expr *lhs, *rhs;
  /* VX_EXPR_CALL: callee name as written, arguments */
  const char *callee;
  struct vx_expr **args;
  int nargs;
  /* Set by sema for every expression except VX_EXPR_AXIS. */
  vx_builtin builtin;      /* VX_EXPR_CALL: the resolved builtin */
  vx_builtin_kind bkind;   /* VX_EXPR_CALL: REDUCE or BINARY for max/min as used */
  vx_shape shape;          /* named axes of the value */
  bool is_const;           /* foldable at compile time (literals, params, arithmetic on them) */
  double const_value;      /* when is_const */
  /* Set by the parser: height of this expression tree (a leaf is 1). The
   * parser rejects trees deeper than VX_MAX_NESTING, so every recursive
   * walk over an expression is bounded. */
  int depth;
} vx_expr;

typedef enum vx_scalar_type { VX_TYPE_INT, VX_TYPE_FLOAT } vx_scalar_type;

/* Storage element types for cache fields and KV. */
typedef enum vx_dtype { VX_DTYPE_DEFAULT, VX_DTYPE_F32, VX_DTYPE_BF16, VX_DTYPE_F16 } vx_dtype;

struct vx_param {
  const char *name;
  vx_span span;
  vx_scalar_type type;  /* declared, or inferred from the literal */
  double value;         /* default, replaced by a -D override */
  bool has_range;
  double lo, hi;        /* inclusive range when has_range */
  bool overridden;      /* set when -D replaced the default */
};

typedef enum vx_stmt_kind {
  VX_STMT_LET,    /* name = expr;            (cache fields, index locals) */
  VX_STMT_STATE,  /* state block: name = literal;  (declaration with initial value) */
  VX_STMT_UPDATE, /* update name = expr;     (index: new state value for the next step) */
  VX_STMT_SELECT  /* select ...;             (index: exactly one) */
} vx_stmt_kind;

typedef enum vx_select_kind { VX_SELECT_TOP, VX_SELECT_MASS, VX_SELECT_THRESHOLD } vx_select_kind;

struct vx_stmt {
  vx_stmt_kind kind;
  vx_span span;
  const char *name;     /* LET, STATE, UPDATE: the defined/updated name */
  vx_span name_span;
  vx_dtype dtype;       /* LET in cache: storage type annotation, DEFAULT if none */
  vx_expr *value;       /* LET, UPDATE, STATE (a literal), SELECT: budget / mass / threshold */
  const vx_stmt *target;/* UPDATE: the state declaration (set by sema) */
  /* SELECT */
  vx_select_kind select;
  int keep_first, keep_last;
  vx_span select_span;
};

typedef enum vx_kv_kind { VX_KV_GQA, VX_KV_MLA } vx_kv_kind;

typedef struct vx_algorithm {
  const char *name;
  vx_span span;
  const char *file;          /* path as given, for diagnostics */
  vx_param **params; int nparams;
  vx_kv_kind kv;             /* `kv mla(dc, dr);` makes it MLA */
  int mla_latent, mla_rope;  /* dc and dr */
  int *dense_layers; int ndense_layers;
  vx_stmt **states; int nstates;   /* VX_STMT_STATE */
  vx_stmt **cache; int ncache;     /* VX_STMT_LET, each a cache field */
  vx_stmt **index; int nindex;     /* LET, UPDATE and one SELECT, in source order */
  const vx_stmt *select;           /* set by sema: the SELECT statement */
  const vx_stmt *score;            /* set by sema: the LET defining `score` */
} vx_algorithm;

#endif

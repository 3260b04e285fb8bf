/* Private state of the checker, shared by sema.c (declarations,
 * statements, select rules) and sema_expr.c (expressions and shapes). */
#ifndef VX_SEMA_INT_H
#define VX_SEMA_INT_H

#include "sema.h"

/* Which block an expression sits in: decides which names are visible. */
typedef enum vx_stage { VX_STAGE_CACHE, VX_STAGE_INDEX } vx_stage;

typedef enum vx_sym_kind { VX_SYM_PARAM, VX_SYM_STATE, VX_SYM_FIELD, VX_SYM_LOCAL } vx_sym_kind;

/* One declared name (params, states, cache fields and index locals share
 * one namespace). */
typedef struct vx_symbol {
  const char *name;
  vx_sym_kind kind;
  vx_span span;              /* where it is declared (for "first defined here") */
  const vx_param *param;     /* VX_SYM_PARAM */
  const vx_stmt *stmt;       /* the declaring statement otherwise */
  vx_shape shape;            /* value shape as seen in the declaring stage */
  bool is_const;
  double const_value;
  bool poisoned;             /* its definition had an error: uses stay silent */
  bool updated;              /* VX_SYM_STATE: an update was seen */
  bool read_by_index;        /* referenced by an index statement */
  const vx_stmt *update;     /* that update */
} vx_symbol;

typedef struct vx_sema {
  vx_arena *arena;
  vx_diag_engine *diag;
  const vx_sema_options *opts;
  vx_algorithm *alg;
  const char *file;
  vx_stage stage;
  /* Open-addressing hash table of symbols (capacity a power of two). */
  vx_symbol **table;
  size_t cap;
  /* Declaration order, for "did you mean" (deterministic). */
  vx_symbol **order;
  size_t nsymbols;
  bool failed;
} vx_sema;

void vx_sema_error(vx_sema *s, vx_span span, const char *id, const char *hint, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
void vx_sema_note(vx_sema *s, vx_span span, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

vx_symbol *vx_sema_lookup(const vx_sema *s, const char *name);

/* Types `e` in the current stage: sets shape, ref, is_const, ... Returns
 * false after reporting an error (or silently when a poisoned name is
 * involved). */
bool vx_sema_expr(vx_sema *s, vx_expr *e);

/* True for the input names the language provides (k, v, q, page_index,
 * num_pages, page_age): they cannot be redeclared. */
bool vx_sema_is_intrinsic(const char *name);

/* Formats a number for messages: integers without a fraction. */
const char *vx_sema_num(char *buf, size_t n, double v);

#endif

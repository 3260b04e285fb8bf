/* State shared by the flex scanner and the bison parser of one parse
 * (the scanner's "extra" data). Private to frontend/. Nothing here is
 * global: two parses can run at once. */
#ifndef VX_PARSER_CTX_H
#define VX_PARSER_CTX_H

#include <stdbool.h>
#include <stdint.h>

#include "../compiler/arena.h"
#include "../compiler/diag.h"
#include "ast.h"
#include "ast_build.h"

typedef struct vx_parser {
  vx_arena *arena;
  vx_diag_engine *diag;
  const char *file;
  const char *text; /* the whole source, for quoting tokens in messages */
  size_t len;

  /* Scanner position of the next byte (1-based; columns count bytes). */
  uint32_t line, col;
  size_t offset;        /* byte offset of the next byte */
  size_t tok_offset;    /* byte offset of the last token scanned (quoted in syntax errors) */
  /* The last two tokens handed to the parser: a syntax error's lookahead
   * and the token before it (a missing ';' is reported after that one). */
  vx_span tok_prev, tok_last;
  int paren_depth;      /* open '(' and '[' (nesting limit) */
  /* Open '{' (innermost last), for "to match this '{'" at end of file;
   * positions beyond the array are counted but not kept. */
  vx_span open_braces[16];
  int brace_depth;
  vx_span comment_open; /* where the current block comment started */
  bool stop;            /* a fatal problem was reported: end the parse quietly */
  int errors;           /* errors this parse reported */

  /* The algorithm under construction. */
  vx_algorithm *alg;
  vx_ptrvec params, states, cache, index, dense;
  bool seen_kv, seen_dense, seen_state, seen_cache, seen_index;
  vx_span kv_span, dense_span, state_span, cache_span, index_span;
} vx_parser;

/* Reports an error at `span` and counts it for this parse. */
void vx_parser_error(vx_parser *p, vx_span span, const char *id, const char *hint, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
void vx_parser_note(vx_parser *p, vx_span span, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Records `param NAME[: TYPE] = VALUE [in [LO, HI]];` (type -1 when not
 * written). Checks what only the declaration can tell (an int param with
 * a fractional default); ranges are checked by sema after -D. Returns
 * false on out-of-memory. */
bool vx_parse_add_param(vx_parser *p, const char *name, vx_span name_span, int type,
                        const vx_expr *value, const vx_expr *lo, const vx_expr *hi);

#endif

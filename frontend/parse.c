/* Front-end entry point: validates the bytes, runs the flex/bison parser
 * and assembles the vx_algorithm from what the grammar actions recorded. */
#include "parse.h"

#include <stdarg.h>
#include <string.h>

#include "parser_ctx.h"
#include "parser.h"
#include "scanner.h"

static void report_v(vx_parser *p, vx_severity sev, vx_span span, const char *id, const char *hint,
                     const char *fmt, va_list ap) {
  char msg[512];
  vsnprintf(msg, sizeof msg, fmt, ap);
  vx_diag_report(p->diag, sev, id, p->file, span, hint, "%s", msg);
}

void vx_parser_error(vx_parser *p, vx_span span, const char *id, const char *hint, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  report_v(p, VX_SEV_ERROR, span, id, hint, fmt, ap);
  va_end(ap);
  p->errors++;
  if (vx_diag_should_stop(p->diag))
    p->stop = true;
}

void vx_parser_note(vx_parser *p, vx_span span, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  report_v(p, VX_SEV_NOTE, span, "note", NULL, fmt, ap);
  va_end(ap);
}

bool vx_parse_add_param(vx_parser *p, const char *name, vx_span name_span, int type,
                        const vx_expr *value, const vx_expr *lo, const vx_expr *hi) {
  vx_param *param = vx_arena_alloc(p->arena, sizeof *param);
  if (!param)
    return false;
  param->name = name;
  param->span = name_span;
  param->value = value->number;
  if (type < 0) {
    param->type = value->is_int ? VX_TYPE_INT : VX_TYPE_FLOAT;
  } else {
    param->type = (vx_scalar_type)type;
    if (param->type == VX_TYPE_INT && !value->is_int)
      vx_parser_error(p, value->span, "param-type", "write an integer, or declare it 'param NAME: float = ...'",
                      "param '%s' is declared int but its value is not an integer literal", name);
  }
  if (lo) {
    param->has_range = true;
    param->lo = lo->number;
    param->hi = hi->number;
    if (param->lo > param->hi) {
      vx_span range = lo->span;
      range.end_line = hi->span.end_line;
      range.end_col = hi->span.end_col;
      vx_parser_error(p, range, "param-range", NULL, "empty range: lower bound %g is above upper bound %g",
                      param->lo, param->hi);
    }
  }
  return vx_ptrvec_push(p->arena, &p->params, param);
}

bool vx_parse_check_text(vx_diag_engine *diag, const char *file, const char *text, size_t len) {
  vx_span at = {1, 1, 1, 1};
  if (len == 0) {
    vx_diag_report(diag, VX_SEV_ERROR, "empty-file", file, at, "a file holds one 'algorithm NAME { ... }'",
                   "file is empty");
    return false;
  }
  if (len > VX_MAX_SOURCE_BYTES) {
    vx_diag_report(diag, VX_SEV_ERROR, "file-too-large", file, at, NULL,
                   "file is too large (the limit is %d bytes)", VX_MAX_SOURCE_BYTES);
    return false;
  }
  /* NUL bytes and invalid UTF-8 both mean "not a source file"; point at
   * the first offending byte. */
  uint32_t line = 1, col = 1;
  for (size_t i = 0; i < len;) {
    unsigned char c = (unsigned char)text[i];
    size_t need = 0;
    if (c == 0)
      need = (size_t)-1;
    else if (c < 0x80)
      need = 0;
    else if (c >= 0xC2 && c <= 0xDF)
      need = 1;
    else if (c >= 0xE0 && c <= 0xEF)
      need = 2;
    else if (c >= 0xF0 && c <= 0xF4)
      need = 3;
    else
      need = (size_t)-1;
    bool ok = need != (size_t)-1;
    for (size_t k = 1; ok && k <= need; k++)
      ok = i + k < len && ((unsigned char)text[i + k] & 0xC0) == 0x80;
    if (!ok) {
      vx_span bad = {line, col, line, col};
      /* The renderer quotes the line; a binary file's line is noise, so
       * report at the position without the snippet. */
      vx_diag_report(diag, VX_SEV_ERROR, "not-text", file, bad, "vortexc reads UTF-8 text files",
                     c == 0 ? "file is not text (NUL byte at offset %zu)"
                            : "file is not text (invalid UTF-8 at offset %zu)",
                     i);
      return false;
    }
    if (c == '\n') {
      line++;
      col = 1;
    } else {
      col += (uint32_t)(need + 1);
    }
    i += need + 1;
  }
  return true;
}

static void **finish_vec(vx_ptrvec *v, int *n) {
  *n = v->n;
  return v->items;
}

/* Copies the recorded blocks into the algorithm and reports structural
 * problems only the whole file reveals (missing blocks). */
static void finish_algorithm(vx_parser *p) {
  vx_algorithm *alg = p->alg;
  alg->params = (vx_param **)finish_vec(&p->params, &alg->nparams);
  alg->states = (vx_stmt **)finish_vec(&p->states, &alg->nstates);
  alg->cache = (vx_stmt **)finish_vec(&p->cache, &alg->ncache);
  alg->index = (vx_stmt **)finish_vec(&p->index, &alg->nindex);
  if (p->dense.n) {
    alg->dense_layers = vx_arena_alloc(p->arena, (size_t)p->dense.n * sizeof *alg->dense_layers);
    if (!alg->dense_layers) {
      p->stop = true;
      return;
    }
    for (int i = 0; i < p->dense.n; i++) {
      const vx_expr *e = p->dense.items[i];
      alg->dense_layers[i] = (int)e->number;
      for (int j = 0; j < i; j++)
        if (alg->dense_layers[j] == alg->dense_layers[i]) {
          vx_parser_error(p, e->span, "duplicate-layer", NULL, "layer %d is listed twice", alg->dense_layers[i]);
          break;
        }
    }
    alg->ndense_layers = p->dense.n;
  }
  if (!p->seen_cache)
    vx_parser_error(p, alg->span, "missing-cache", "add 'cache { ... }' (it may be empty: 'cache { }')",
                    "algorithm '%s' has no 'cache' block", alg->name);
  if (!p->seen_index)
    vx_parser_error(p, alg->span, "missing-index", "add 'index { score = ...; select top(budget); }'",
                    "algorithm '%s' has no 'index' block", alg->name);
}

vx_algorithm *vx_parse_source(vx_arena *arena, vx_diag_engine *diag, const char *file, const char *text,
                              size_t len) {
  if (!vx_parse_check_text(diag, file, text, len))
    return NULL;
  vx_parser p = {.arena = arena, .diag = diag, .file = file, .text = text, .len = len, .line = 1, .col = 1};
  p.alg = vx_arena_alloc(arena, sizeof *p.alg);
  if (!p.alg) {
    vx_diag_report_plain(diag, VX_SEV_ERROR, "out-of-memory", "out of memory while parsing '%s'", file);
    return NULL;
  }
  p.alg->file = file;
  p.alg->kv = VX_KV_GQA;

  yyscan_t scanner;
  if (vx_yylex_init_extra(&p, &scanner) != 0) {
    vx_diag_report_plain(diag, VX_SEV_ERROR, "out-of-memory", "out of memory while parsing '%s'", file);
    return NULL;
  }
  YY_BUFFER_STATE buf = vx_yy_scan_bytes(text, (int)len, scanner);
  int rc = buf ? vx_yyparse(scanner, &p) : 2;
  if (buf)
    vx_yy_delete_buffer(buf, scanner);
  vx_yylex_destroy(scanner);

  if (rc == 2 && !p.stop) {
    vx_diag_report_plain(diag, VX_SEV_ERROR, "out-of-memory", "out of memory while parsing '%s'", file);
    return NULL;
  }
  if (rc != 0 || p.errors > 0)
    return NULL;
  finish_algorithm(&p);
  return p.errors > 0 || p.stop ? NULL : p.alg;
}

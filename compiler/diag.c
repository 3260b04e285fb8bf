/* Diagnostics engine (see diag.h). Text mode renders clang-style:
 *
 *   file:line:col: error: message
 *      12 |   s = sum(q, tok);
 *         |       ^~~~~~~~~~~
 *   hint: ...
 *
 * JSON mode writes one compact object per diagnostic and line. Columns
 * are 1-based bytes; the caret line expands tabs (stops of 8) and gives
 * a multi-byte UTF-8 character one display column, so the caret stays
 * under the right character. */
#define _POSIX_C_SOURCE 200809L /* strdup */
#include "diag.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

enum { VX_DIAG_TAB_STOP = 8 };

typedef struct vx_diag_source {
  char *file;
  char *text;
  size_t len;
  size_t *line_starts; /* byte offset of each line; nlines entries */
  size_t nlines;
} vx_diag_source;

struct vx_diag_engine {
  vx_diag_options opts;
  vx_diag_source *sources;
  int nsources;
  int errors;
  bool dropping;      /* the last error/warning was suppressed: drop its notes too */
  bool limit_noticed; /* "too many errors" was printed */
};

static void notice_limit(vx_diag_engine *d);

vx_diag_engine *vx_diag_new(const vx_diag_options *opts) {
  vx_diag_engine *d = calloc(1, sizeof *d);
  if (!d)
    return NULL;
  if (opts)
    d->opts = *opts;
  else
    d->opts.max_errors = 20;
  if (!d->opts.out)
    d->opts.out = stderr;
  return d;
}

void vx_diag_free(vx_diag_engine *d) {
  if (!d)
    return;
  if (vx_diag_should_stop(d))
    notice_limit(d);
  for (int i = 0; i < d->nsources; i++) {
    free(d->sources[i].file);
    free(d->sources[i].text);
    free(d->sources[i].line_starts);
  }
  free(d->sources);
  free(d);
}

bool vx_diag_add_source(vx_diag_engine *d, const char *file, const char *text, size_t len) {
  vx_diag_source *grown = realloc(d->sources, (size_t)(d->nsources + 1) * sizeof *grown);
  if (!grown)
    return false;
  d->sources = grown;
  vx_diag_source *s = &d->sources[d->nsources];
  memset(s, 0, sizeof *s);
  size_t nlines = 1;
  for (size_t i = 0; i < len; i++)
    nlines += text[i] == '\n';
  s->file = strdup(file);
  s->text = malloc(len + 1);
  s->line_starts = malloc(nlines * sizeof *s->line_starts);
  if (!s->file || !s->text || !s->line_starts) {
    free(s->file);
    free(s->text);
    free(s->line_starts);
    return false;
  }
  memcpy(s->text, text, len);
  s->text[len] = '\0';
  s->len = len;
  s->nlines = 0;
  s->line_starts[s->nlines++] = 0;
  for (size_t i = 0; i < len; i++)
    if (text[i] == '\n')
      s->line_starts[s->nlines++] = i + 1;
  d->nsources++;
  return true;
}

int vx_diag_error_count(const vx_diag_engine *d) { return d->errors; }

bool vx_diag_should_stop(const vx_diag_engine *d) {
  return d->opts.max_errors > 0 && d->errors >= d->opts.max_errors;
}

static const vx_diag_source *find_source(const vx_diag_engine *d, const char *file) {
  if (!file)
    return NULL;
  for (int i = d->nsources - 1; i >= 0; i--)
    if (strcmp(d->sources[i].file, file) == 0)
      return &d->sources[i];
  return NULL;
}

static const char *severity_name(vx_severity sev) {
  switch (sev) {
  case VX_SEV_ERROR: return "error";
  case VX_SEV_WARNING: return "warning";
  case VX_SEV_NOTE: return "note";
  }
  return "error";
}

static const char *severity_color(vx_severity sev) {
  switch (sev) {
  case VX_SEV_ERROR: return "\033[1;31m";
  case VX_SEV_WARNING: return "\033[1;35m";
  case VX_SEV_NOTE: return "\033[1;36m";
  }
  return "";
}

/* Display width of one byte of a source line at display column `at`. */
static int byte_width(unsigned char c, int at) {
  if (c == '\t')
    return VX_DIAG_TAB_STOP - at % VX_DIAG_TAB_STOP;
  if ((c & 0xC0) == 0x80) /* UTF-8 continuation: part of the previous character */
    return 0;
  return 1;
}

/* Lines longer than this are shown as a window around the caret. */
enum { VX_DIAG_WINDOW_BEFORE = 40, VX_DIAG_WINDOW_BYTES = 120 };

/* Prints the quoted source line and the caret line for `span`. */
static void render_snippet(const vx_diag_engine *d, FILE *out, const vx_diag_source *s, vx_span span) {
  if (!s || span.line == 0 || span.line > s->nlines)
    return;
  size_t start = s->line_starts[span.line - 1];
  /* O(1) per diagnostic, even on a megabyte-long line */
  size_t end = span.line < s->nlines ? s->line_starts[span.line] - 1 : s->len;
  if (end > start && s->text[end - 1] == '\r')
    end--;
  uint32_t first = span.col ? span.col : 1;
  uint32_t last = (span.end_line == span.line && span.end_col >= first) ? span.end_col : (uint32_t)(end - start);
  if (last < first)
    last = first;

  /* Window [ws, we) of the line, moved to start of a UTF-8 character. */
  size_t ws = start, we = end;
  if (end - start > VX_DIAG_WINDOW_BYTES) {
    size_t caret = start + first - 1;
    if (caret > start + VX_DIAG_WINDOW_BEFORE)
      ws = caret - VX_DIAG_WINDOW_BEFORE;
    while (ws > start && ((unsigned char)s->text[ws] & 0xC0) == 0x80)
      ws--;
    we = ws + VX_DIAG_WINDOW_BYTES < end ? ws + VX_DIAG_WINDOW_BYTES : end;
    while (we < end && ((unsigned char)s->text[we] & 0xC0) == 0x80)
      we++;
  }
  const char *lead = ws > start ? "..." : "";

  fprintf(out, "%5u | %s", span.line, lead);
  int at = 0;
  for (size_t i = ws; i < we; i++) {
    unsigned char c = (unsigned char)s->text[i];
    int w = byte_width(c, at);
    if (c == '\t')
      fprintf(out, "%*s", w, "");
    else
      fputc(c, out);
    at += w;
  }
  fprintf(out, "%s\n", we < end ? "..." : "");

  fprintf(out, "      | %*s", (int)strlen(lead), "");
  if (d->opts.color)
    fputs("\033[1;32m", out);
  at = 0;
  bool caret_done = false;
  for (size_t i = ws; i < we; i++) {
    uint32_t col = (uint32_t)(i - start) + 1;
    int w = byte_width((unsigned char)s->text[i], at);
    at += w;
    if (col > last)
      break;
    char fill = col >= first ? '~' : ' ';
    if (col >= first && !caret_done && w > 0) {
      fputc('^', out);
      w--;
      caret_done = true;
    }
    for (int k = 0; k < w; k++)
      fputc(fill, out);
  }
  if (!caret_done) /* span at the end of the line (e.g. end of file) */
    fputc('^', out);
  if (d->opts.color)
    fputs("\033[0m", out);
  fputc('\n', out);
}

static void render_text(const vx_diag_engine *d, FILE *out, vx_severity sev, const char *file,
                        const vx_span *span, const char *hint, const char *msg) {
  bool color = d->opts.color;
  if (color)
    fputs("\033[1m", out);
  if (file && span && span->line)
    fprintf(out, "%s:%u:%u: ", file, span->line, span->col);
  else
    fputs("vortexc: ", out);
  if (color)
    fprintf(out, "%s%s:\033[0m\033[1m %s\033[0m\n", severity_color(sev), severity_name(sev), msg);
  else
    fprintf(out, "%s: %s\n", severity_name(sev), msg);
  if (file && span)
    render_snippet(d, out, find_source(d, file), *span);
  if (hint) {
    if (color)
      fprintf(out, "\033[1;32mhint:\033[0m %s\n", hint);
    else
      fprintf(out, "hint: %s\n", hint);
  }
}

static void render_json(const vx_diag_engine *d, vx_severity sev, const char *id, const char *file,
                        const vx_span *span, const char *hint, const char *msg) {
  json_t *obj = json_object();
  if (!obj)
    return;
  json_t *jfile = file ? json_string(file) : json_null();
  json_object_set_new(obj, "file", jfile ? jfile : json_string("(file name not UTF-8)"));
  json_object_set_new(obj, "line", json_integer(span ? span->line : 0));
  json_object_set_new(obj, "column", json_integer(span ? span->col : 0));
  uint32_t end_col = 0;
  if (span)
    end_col = span->end_line == span->line ? span->end_col : span->col;
  json_object_set_new(obj, "end_column", json_integer(end_col));
  json_object_set_new(obj, "severity", json_string(severity_name(sev)));
  json_object_set_new(obj, "id", json_string(id ? id : "error"));
  /* json_string rejects invalid UTF-8; messages quote source text, which
   * the front end has validated, but stay safe with a lossy fallback. */
  json_t *m = json_string(msg);
  json_object_set_new(obj, "message", m ? m : json_string("(message not valid UTF-8)"));
  json_t *h = hint ? json_string(hint) : json_null();
  json_object_set_new(obj, "hint", h ? h : json_null());
  char *line = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
  if (line) {
    fprintf(d->opts.out, "%s\n", line);
    free(line);
  }
  json_decref(obj);
}

/* Renders one diagnostic into memory and writes it with one call: stderr
 * is unbuffered, and a character at a time costs a system call each. */
static void render_text_buffered(const vx_diag_engine *d, vx_severity sev, const char *file, const vx_span *span,
                                 const char *hint, const char *msg) {
  char *buf = NULL;
  size_t len = 0;
  FILE *mem = open_memstream(&buf, &len);
  if (!mem) {
    render_text(d, d->opts.out, sev, file, span, hint, msg);
    return;
  }
  render_text(d, mem, sev, file, span, hint, msg);
  if (fclose(mem) == 0)
    fwrite(buf, 1, len, d->opts.out);
  free(buf);
}

/* Says once that errors beyond --max-errors were suppressed: when the
 * next error arrives, or when the engine is freed after reaching it. */
static void notice_limit(vx_diag_engine *d) {
  if (d->limit_noticed)
    return;
  d->limit_noticed = true;
  char notice[96];
  snprintf(notice, sizeof notice, "too many errors emitted, stopping now (--max-errors=%d)", d->opts.max_errors);
  if (d->opts.format == VX_DIAG_JSON)
    render_json(d, VX_SEV_NOTE, "too-many-errors", NULL, NULL, NULL, notice);
  else
    render_text(d, d->opts.out, VX_SEV_NOTE, NULL, NULL, NULL, notice);
  fflush(d->opts.out);
}

/* Shared path of both report functions; `span` NULL for plain ones. */
static void report(vx_diag_engine *d, vx_severity sev, const char *id, const char *file, const vx_span *span,
                   const char *hint, const char *fmt, va_list ap) {
  if (sev == VX_SEV_NOTE) {
    if (d->dropping)
      return;
  } else {
    d->dropping = false;
    if (sev == VX_SEV_ERROR && vx_diag_should_stop(d)) {
      d->dropping = true;
      notice_limit(d);
      return;
    }
    if (sev == VX_SEV_ERROR)
      d->errors++;
  }
  char stackbuf[512];
  va_list copy;
  va_copy(copy, ap);
  int n = vsnprintf(stackbuf, sizeof stackbuf, fmt, copy);
  va_end(copy);
  char *msg = stackbuf;
  if (n >= (int)sizeof stackbuf) {
    msg = malloc((size_t)n + 1);
    if (msg)
      vsnprintf(msg, (size_t)n + 1, fmt, ap);
    else
      msg = stackbuf; /* truncated is better than nothing */
  }
  if (d->opts.format == VX_DIAG_JSON)
    render_json(d, sev, id, file, span, hint, msg);
  else
    render_text_buffered(d, sev, file, span, hint, msg);
  if (msg != stackbuf)
    free(msg);
  fflush(d->opts.out);
}

void vx_diag_report(vx_diag_engine *d, vx_severity sev, const char *id, const char *file, vx_span span,
                    const char *hint, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  report(d, sev, id, file, &span, hint, fmt, ap);
  va_end(ap);
}

void vx_diag_report_plain(vx_diag_engine *d, vx_severity sev, const char *id, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  report(d, sev, id, NULL, NULL, NULL, fmt, ap);
  va_end(ap);
}

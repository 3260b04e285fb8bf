/* Growable text buffer (see cg_buf.h). */
#include "cg_buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void vx_buf_init(vx_buf *b) { memset(b, 0, sizeof *b); }

void vx_buf_free(vx_buf *b) {
  free(b->data);
  vx_buf_init(b);
}

char *vx_buf_take(vx_buf *b, size_t *len) {
  char *s = b->oom ? NULL : b->data;
  if (s == NULL && !b->oom) s = calloc(1, 1); /* empty text is still text */
  if (len) *len = s ? b->len : 0;
  if (b->oom) free(b->data);
  vx_buf_init(b);
  return s;
}

static bool reserve(vx_buf *b, size_t extra) {
  if (b->oom) return false;
  if (b->len + extra + 1 <= b->cap) return true;
  size_t cap = b->cap ? b->cap : 4096;
  while (cap < b->len + extra + 1) cap *= 2;
  char *p = realloc(b->data, cap);
  if (!p) {
    b->oom = true;
    return false;
  }
  b->data = p;
  b->cap = cap;
  return true;
}

void vx_buf_append(vx_buf *b, const char *s, size_t n) {
  if (!reserve(b, n)) return;
  memcpy(b->data + b->len, s, n);
  b->len += n;
  b->data[b->len] = '\0';
}

void vx_buf_puts(vx_buf *b, const char *s) { vx_buf_append(b, s, strlen(s)); }

static void vprintf_to(vx_buf *b, const char *fmt, va_list ap) {
  va_list copy;
  va_copy(copy, ap);
  int n = vsnprintf(NULL, 0, fmt, copy);
  va_end(copy);
  if (n < 0) {
    b->oom = true; /* an encoding error is as fatal as no memory */
    return;
  }
  if (!reserve(b, (size_t)n)) return;
  vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
  b->len += (size_t)n;
}

void vx_buf_printf(vx_buf *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vprintf_to(b, fmt, ap);
  va_end(ap);
}

void vx_buf_line(vx_buf *b, const char *fmt, ...) {
  for (int i = 0; i < b->indent; i++) vx_buf_append(b, "  ", 2);
  va_list ap;
  va_start(ap, fmt);
  vprintf_to(b, fmt, ap);
  va_end(ap);
  vx_buf_append(b, "\n", 1);
}

void vx_buf_blank(vx_buf *b) { vx_buf_append(b, "\n", 1); }

void vx_buf_indent_puts(vx_buf *b, const char *s) {
  for (int i = 0; i < b->indent; i++) vx_buf_append(b, "  ", 2);
  vx_buf_puts(b, s);
}

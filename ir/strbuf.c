#include "strbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool reserve(vx_strbuf *sb, size_t extra) {
  if (sb->failed)
    return false;
  if (sb->len + extra + 1 <= sb->cap)
    return true;
  size_t cap = sb->cap ? sb->cap : 256;
  while (cap < sb->len + extra + 1)
    cap *= 2;
  char *p = realloc(sb->data, cap);
  if (!p) {
    sb->failed = true;
    return false;
  }
  sb->data = p;
  sb->cap = cap;
  return true;
}

void vx_sb_printf(vx_strbuf *sb, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0 || !reserve(sb, (size_t)n))
    return;
  va_start(ap, fmt);
  vsnprintf(sb->data + sb->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  sb->len += (size_t)n;
}

void vx_sb_puts(vx_strbuf *sb, const char *s) {
  size_t n = strlen(s);
  if (!reserve(sb, n))
    return;
  memcpy(sb->data + sb->len, s, n + 1);
  sb->len += n;
}

char *vx_sb_take(vx_strbuf *sb) {
  char *p = NULL;
  if (!sb->failed && reserve(sb, 0)) {
    sb->data[sb->len] = '\0';
    p = sb->data;
  } else {
    free(sb->data);
  }
  *sb = (vx_strbuf){0};
  return p;
}

void vx_sb_free(vx_strbuf *sb) {
  free(sb->data);
  *sb = (vx_strbuf){0};
}

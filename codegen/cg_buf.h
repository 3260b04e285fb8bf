/* A growable text buffer for the code generator. Appends never fail
 * loudly: the first allocation failure latches `oom`, later appends are
 * ignored, and the caller checks the flag once at the end (so emission
 * code stays readable instead of testing every line). */
#ifndef VX_CG_BUF_H
#define VX_CG_BUF_H

#include <stdbool.h>
#include <stddef.h>

typedef struct vx_buf {
  char *data;  /* NUL-terminated when len > 0 */
  size_t len, cap;
  int indent;  /* two spaces per level, applied by vx_buf_line */
  bool oom;
} vx_buf;

void vx_buf_init(vx_buf *b);
void vx_buf_free(vx_buf *b);
/* Hands the text to the caller (who frees it) and resets the buffer;
 * NULL after an allocation failure. */
char *vx_buf_take(vx_buf *b, size_t *len);

void vx_buf_append(vx_buf *b, const char *s, size_t n);
void vx_buf_puts(vx_buf *b, const char *s);
void vx_buf_printf(vx_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* One line at the current indent, newline added. */
void vx_buf_line(vx_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The current indent, then s (no newline): a line built in pieces. */
void vx_buf_indent_puts(vx_buf *b, const char *s);
/* An empty line. */
void vx_buf_blank(vx_buf *b);

#endif

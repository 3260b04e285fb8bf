/* A growable text buffer (malloc-backed, so printed IR can outlive the
 * module arena and be compared with strcmp). A failed allocation sets
 * `failed` and makes later appends no-ops, so callers check once at the end. */
#ifndef VX_STRBUF_H
#define VX_STRBUF_H

#include <stdbool.h>
#include <stddef.h>

typedef struct vx_strbuf {
  char *data;   /* NUL-terminated when len > 0 */
  size_t len, cap;
  bool failed;  /* an allocation failed: contents are incomplete */
} vx_strbuf;

void vx_sb_printf(vx_strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void vx_sb_puts(vx_strbuf *sb, const char *s);
/* Hands the text to the caller (free() it), or NULL after a failure; the
 * buffer is left empty either way. */
char *vx_sb_take(vx_strbuf *sb);
void vx_sb_free(vx_strbuf *sb);

#endif

/* Bump allocator: every AST node, IR object and interned string of one
 * compilation lives in an arena and is released at once by
 * vx_arena_free. Allocation failure returns NULL; callers report
 * "out of memory" and unwind (never abort). */
#ifndef VX_ARENA_H
#define VX_ARENA_H

#include <stddef.h>

typedef struct vx_arena_block vx_arena_block;

typedef struct vx_arena {
  vx_arena_block *head; /* newest block first */
  size_t total;         /* bytes handed out, for limits and statistics */
} vx_arena;

void vx_arena_init(vx_arena *a);
void vx_arena_free(vx_arena *a);
/* Zeroed, 16-byte aligned memory; NULL on failure. */
void *vx_arena_alloc(vx_arena *a, size_t size);
/* Copy of s[0..n) with a terminating NUL; NULL on failure. */
char *vx_arena_strndup(vx_arena *a, const char *s, size_t n);
char *vx_arena_strdup(vx_arena *a, const char *s);

#endif

#include "arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Blocks grow geometrically so a compilation makes few malloc calls;
 * a request larger than the default block gets a block of its own. */
enum { VX_ARENA_MIN_BLOCK = 16 * 1024, VX_ARENA_ALIGN = 16 };

struct vx_arena_block {
  vx_arena_block *next;
  size_t used, cap;
  _Alignas(16) unsigned char data[];
};

void vx_arena_init(vx_arena *a) {
  a->head = NULL;
  a->total = 0;
}

void vx_arena_free(vx_arena *a) {
  vx_arena_block *b = a->head;
  while (b) {
    vx_arena_block *next = b->next;
    free(b);
    b = next;
  }
  a->head = NULL;
  a->total = 0;
}

void *vx_arena_alloc(vx_arena *a, size_t size) {
  if (size > SIZE_MAX / 2)
    return NULL;
  size = (size + VX_ARENA_ALIGN - 1) & ~(size_t)(VX_ARENA_ALIGN - 1);
  if (size == 0)
    size = VX_ARENA_ALIGN;
  vx_arena_block *b = a->head;
  if (!b || b->cap - b->used < size) {
    size_t cap = b ? b->cap * 2 : VX_ARENA_MIN_BLOCK;
    if (cap < size)
      cap = size;
    vx_arena_block *nb = malloc(sizeof *nb + cap);
    if (!nb)
      return NULL;
    nb->next = b;
    nb->used = 0;
    nb->cap = cap;
    a->head = b = nb;
  }
  void *p = b->data + b->used;
  b->used += size;
  a->total += size;
  memset(p, 0, size);
  return p;
}

char *vx_arena_strndup(vx_arena *a, const char *s, size_t n) {
  char *p = vx_arena_alloc(a, n + 1);
  if (!p)
    return NULL;
  memcpy(p, s, n);
  p[n] = '\0';
  return p;
}

char *vx_arena_strdup(vx_arena *a, const char *s) { return vx_arena_strndup(a, s, strlen(s)); }

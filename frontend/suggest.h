/* "did you mean" support: picks the closest candidate by edit distance
 * (optimal string alignment, so a swapped pair counts once). */
#ifndef VX_SUGGEST_H
#define VX_SUGGEST_H

#include <stddef.h>

/* Edit distance between a and b, or `limit + 1` as soon as it exceeds
 * `limit` (keeps the cost bounded for long identifiers). */
int vx_edit_distance(const char *a, const char *b, int limit);

/* Running best match: feed candidates, then read `best` (NULL if none is
 * close enough: distance at most 2 and below the written name's length). */
typedef struct vx_suggestion {
  const char *written;
  const char *best;
  int best_distance;
} vx_suggestion;

void vx_suggest_init(vx_suggestion *s, const char *written);
void vx_suggest_consider(vx_suggestion *s, const char *candidate);
/* Adds every builtin function name as a candidate. */
void vx_suggest_builtins(vx_suggestion *s);

#endif

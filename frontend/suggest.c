#include "suggest.h"

#include <stdlib.h>
#include <string.h>

#include "ast_build.h"

enum { VX_SUGGEST_MAX_DISTANCE = 2, VX_SUGGEST_MAX_LEN = 64 };

int vx_edit_distance(const char *a, const char *b, int limit) {
  size_t n = strlen(a), m = strlen(b);
  if (n > VX_SUGGEST_MAX_LEN || m > VX_SUGGEST_MAX_LEN)
    return limit + 1;
  if ((n > m ? n - m : m - n) > (size_t)limit)
    return limit + 1;
  /* Three rolling rows of the DP table (OSA needs the row before last). */
  int rows[3][VX_SUGGEST_MAX_LEN + 1];
  int *prev2 = rows[0], *prev = rows[1], *cur = rows[2];
  for (size_t j = 0; j <= m; j++)
    prev[j] = (int)j;
  for (size_t i = 1; i <= n; i++) {
    cur[0] = (int)i;
    int row_min = cur[0];
    for (size_t j = 1; j <= m; j++) {
      int cost = a[i - 1] != b[j - 1];
      int best = prev[j - 1] + cost;
      if (prev[j] + 1 < best)
        best = prev[j] + 1;
      if (cur[j - 1] + 1 < best)
        best = cur[j - 1] + 1;
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && prev2[j - 2] + 1 < best)
        best = prev2[j - 2] + 1;
      cur[j] = best;
      if (best < row_min)
        row_min = best;
    }
    if (row_min > limit)
      return limit + 1;
    int *t = prev2;
    prev2 = prev;
    prev = cur;
    cur = t;
  }
  return prev[m] > limit ? limit + 1 : prev[m];
}

void vx_suggest_init(vx_suggestion *s, const char *written) {
  s->written = written;
  s->best = NULL;
  s->best_distance = VX_SUGGEST_MAX_DISTANCE + 1;
}

void vx_suggest_consider(vx_suggestion *s, const char *candidate) {
  if (!candidate || strcmp(candidate, s->written) == 0)
    return;
  int d = vx_edit_distance(s->written, candidate, VX_SUGGEST_MAX_DISTANCE);
  if (d < s->best_distance && (size_t)d < strlen(s->written)) {
    s->best = candidate;
    s->best_distance = d;
  }
}

void vx_suggest_builtins(vx_suggestion *s) {
  for (int b = 0; b < VX_BUILTIN_COUNT; b++)
    vx_suggest_consider(s, vx_builtin_name((vx_builtin)b));
}

/* Per-input setup shared by the libFuzzer harnesses: diagnostics into
 * /dev/null (their text is not the point, their count is) and one arena. */
#ifndef VX_FUZZ_UTIL_H
#define VX_FUZZ_UTIL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "compiler/arena.h"
#include "compiler/diag.h"

typedef struct vx_fuzz_input {
  FILE *sink;
  vx_diag_engine *diag;
  vx_arena arena;
} vx_fuzz_input;

/* False when /dev/null or memory is unavailable (the input is skipped). */
static inline bool vx_fuzz_begin(vx_fuzz_input *in, vx_diag_format format) {
  in->sink = fopen("/dev/null", "w");
  if (!in->sink)
    return false;
  vx_diag_options o = {.format = format, .max_errors = 20, .out = in->sink};
  in->diag = vx_diag_new(&o);
  if (!in->diag) {
    fclose(in->sink);
    return false;
  }
  vx_arena_init(&in->arena);
  return true;
}

static inline void vx_fuzz_end(vx_fuzz_input *in) {
  vx_arena_free(&in->arena);
  vx_diag_free(in->diag);
  fclose(in->sink);
}

#endif

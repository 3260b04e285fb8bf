/* Shared helpers of the front-end unit tests: compile a source string
 * through parse + sema with diagnostics captured in memory. */
#ifndef VX_TEST_UTIL_H
#define VX_TEST_UTIL_H

#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "compiler/arena.h"
#include "compiler/diag.h"
#include "frontend/ast_build.h"
#include "frontend/parse.h"
#include "frontend/sema.h"

typedef struct vx_test_compile {
  vx_arena arena;
  vx_diag_engine *diag;
  FILE *mem;
  char *out; /* diagnostics text, after vx_test_finish */
  size_t outlen;
  vx_algorithm *alg; /* NULL when parse or sema failed */
  int errors;
} vx_test_compile;

/* Parses and checks `src` as file "t.vtx"; diagnostics in t->out. */
static inline void vx_test_compile_src(vx_test_compile *t, const char *src, const vx_sema_options *so,
                                       vx_diag_format fmt) {
  memset(t, 0, sizeof *t);
  vx_arena_init(&t->arena);
  t->mem = open_memstream(&t->out, &t->outlen);
  assert_non_null(t->mem);
  vx_diag_options o = {.format = fmt, .max_errors = 20, .color = false, .out = t->mem};
  t->diag = vx_diag_new(&o);
  assert_non_null(t->diag);
  size_t len = strlen(src);
  if (vx_parse_check_text(t->diag, "t.vtx", src, len))
    assert_true(vx_diag_add_source(t->diag, "t.vtx", src, len));
  vx_algorithm *alg = vx_parse_source(&t->arena, t->diag, "t.vtx", src, len);
  if (alg && vx_sema_check(&t->arena, alg, t->diag, so))
    t->alg = alg;
  t->errors = vx_diag_error_count(t->diag);
  fflush(t->mem);
}

static inline void vx_test_free(vx_test_compile *t) {
  vx_diag_free(t->diag);
  fclose(t->mem);
  free(t->out);
  vx_arena_free(&t->arena);
}

/* Asserts that the diagnostics contain `needle`. */
#define assert_diag_contains(t, needle)                                                \
  do {                                                                                 \
    if (!strstr((t)->out ? (t)->out : "", needle))                                     \
      fail_msg("diagnostics lack \"%s\"; got:\n%s", needle, (t)->out ? (t)->out : ""); \
  } while (0)

#endif

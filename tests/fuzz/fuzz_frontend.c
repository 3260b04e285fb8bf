/* libFuzzer harness for the front end: bytes -> text checks -> parser ->
 * checker -> AST printer. Invariants: no crash, no leak, no hang, and a
 * rejected input always got at least one error diagnostic. */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "compiler/arena.h"
#include "compiler/diag.h"
#include "frontend/ast_build.h"
#include "frontend/parse.h"
#include "frontend/sema.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  FILE *sink = fopen("/dev/null", "w");
  if (!sink)
    return 0;
  vx_diag_options o = {.format = (size & 1) ? VX_DIAG_JSON : VX_DIAG_TEXT, .max_errors = 20, .out = sink};
  vx_diag_engine *diag = vx_diag_new(&o);
  vx_arena arena;
  vx_arena_init(&arena);
  const char *text = (const char *)data;
  if (vx_parse_check_text(diag, "fuzz.vtx", text, size))
    vx_diag_add_source(diag, "fuzz.vtx", text, size);
  vx_algorithm *alg = vx_parse_source(&arena, diag, "fuzz.vtx", text, size);
  bool ok = alg != NULL;
  if (alg) {
    vx_sema_options so = {.page_size = 16};
    ok = vx_sema_check(&arena, alg, diag, &so);
    if (ok)
      vx_ast_print(sink, alg);
  }
  if (!ok && vx_diag_error_count(diag) == 0)
    abort(); /* rejected without telling the user why */
  vx_arena_free(&arena);
  vx_diag_free(diag);
  fclose(sink);
  return 0;
}

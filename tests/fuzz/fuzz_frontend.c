/* libFuzzer harness for the front end: bytes -> text checks -> parser ->
 * checker -> AST printer. Invariants: no crash, no leak, no hang, and a
 * rejected input always got at least one error diagnostic. */
#include "frontend/ast_build.h"
#include "frontend/parse.h"
#include "frontend/sema.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  vx_fuzz_input in;
  if (!vx_fuzz_begin(&in, (size & 1) ? VX_DIAG_JSON : VX_DIAG_TEXT))
    return 0;
  const char *text = (const char *)data;
  if (vx_parse_check_text(in.diag, "fuzz.vtx", text, size))
    vx_diag_add_source(in.diag, "fuzz.vtx", text, size);
  vx_algorithm *alg = vx_parse_source(&in.arena, in.diag, "fuzz.vtx", text, size);
  bool ok = alg != NULL;
  if (alg) {
    vx_sema_options so = {.page_size = 16};
    ok = vx_sema_check(&in.arena, alg, in.diag, &so);
    if (ok)
      vx_ast_print(in.sink, alg);
  }
  if (!ok && vx_diag_error_count(in.diag) == 0)
    abort(); /* rejected without telling the user why */
  vx_fuzz_end(&in);
  return 0;
}

/* libFuzzer harness for the IR text path: bytes -> .vir reader ->
 * verifier -> (if valid) the whole -O2 pipeline with verification and
 * round trip after every pass -> printer. Invariants: no crash, no leak,
 * a rejected input always got an error diagnostic, and a module the
 * verifier accepts never makes a pass fail (that would be a compiler bug:
 * abort so libFuzzer keeps the reproducer). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "compiler/arena.h"
#include "compiler/diag.h"
#include "ir/print.h"
#include "ir/read.h"
#include "ir/verify.h"
#include "passes/pass_manager.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  FILE *sink = fopen("/dev/null", "w");
  if (!sink)
    return 0;
  vx_diag_options o = {.format = VX_DIAG_TEXT, .max_errors = 20, .out = sink};
  vx_diag_engine *diag = vx_diag_new(&o);
  vx_arena arena;
  vx_arena_init(&arena);
  vx_module *m = vx_read_module("fuzz.vir", (const char *)data, size, &arena, diag);
  if (!m && vx_diag_error_count(diag) == 0)
    abort(); /* rejected without a diagnostic */
  if (m && vx_verify(m, diag)) {
    vx_pass_options po;
    vx_pass_options_init(&po);
    po.verify_each = true;
    po.roundtrip_each = true;
    bool internal = false;
    po.internal_error = &internal;
    po.dump_out = po.report_out = sink;
    if (!vx_pass_pipeline_run(m, &po, diag))
      abort(); /* verified input must survive every pass */
    vx_print_module(sink, m, NULL);
  }
  vx_arena_free(&arena);
  vx_diag_free(diag);
  fclose(sink);
  return 0;
}

/* libFuzzer harness for the whole compiler after the front end: every
 * input the checker accepts goes through lowering, the -O2 pass pipeline
 * (verifier after each pass) and CUDA generation. Invariants: no crash,
 * no leak, and no internal error (a verifier failure after a pass). A
 * user-level rejection (with a diagnostic or a codegen message) is fine. */
#include "codegen/codegen.h"
#include "frontend/parse.h"
#include "frontend/sema.h"
#include "fuzz_util.h"
#include "ir/lower.h"
#include "passes/pass_manager.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  vx_fuzz_input in;
  if (!vx_fuzz_begin(&in, VX_DIAG_TEXT))
    return 0;
  vx_algorithm *alg = vx_parse_source(&in.arena, in.diag, "fuzz.vtx", (const char *)data, size);
  vx_sema_options so = {.page_size = 16};
  if (alg && vx_sema_check(&in.arena, alg, in.diag, &so)) {
    vx_geometry geo = {.head_dim = 128, .group = 4, .page_size = 16, .kv = VX_KV_GQA, .kv_dtype = VX_DTYPE_BF16};
    vx_module *m = vx_lower(alg, &geo, &in.arena, in.diag);
    if (m) {
      vx_pass_options po;
      vx_pass_options_init(&po);
      bool internal = false;
      po.verify_each = true;
      po.internal_error = &internal;
      po.dump_out = po.report_out = in.sink;
      bool ok = vx_pass_pipeline_run(m, &po, in.diag);
      if (internal)
        abort(); /* a pass broke the IR: compiler bug */
      if (ok) {
        vx_codegen_output out;
        char err[256];
        if (vx_codegen_emit(m, "fuzz.h", &out, err, sizeof err) == 0)
          vx_codegen_output_free(&out);
      }
    }
  }
  vx_fuzz_end(&in);
  return 0;
}

/* Entry points of the passes listed in passes.def (one file each; the
 * contract of each pass is the header comment of its file). */
#ifndef VX_PASSES_H
#define VX_PASSES_H

#include "pass_manager.h"

#define VX_PASS(name, fn, level, summary) bool fn(vx_pass_ctx *ctx, vx_module *m);
#include "passes.def"
#undef VX_PASS

#endif

/* The IR verifier: the invariants every pass must preserve (list in
 * docs/ir.md). Reports each violation through `diag` as an error naming
 * the function, the op and the offending value, e.g.
 *   verifier: @index: %5 = mul %3, %9: operand 1 (%9) is used before it is defined
 * and returns false if there was any. Verification renumbers op ids (ids
 * are presentation only) so messages match the printed IR. */
#ifndef VX_VERIFY_H
#define VX_VERIFY_H

#include <stdbool.h>

#include "../compiler/diag.h"
#include "ir.h"

bool vx_verify(const vx_module *m, vx_diag_engine *diag);

#endif

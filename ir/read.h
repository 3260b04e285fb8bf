/* The textual IR reader (.vir, format: docs/ir.md).
 *
 * Parses `len` bytes of `text` (need not be NUL-terminated) into a module
 * allocated in `arena`. Errors are reported through `diag` as
 * `file:line:col: error: ...` (register the text with vx_diag_add_source
 * beforehand to get the source line and caret); the reader stops at the
 * first error and returns NULL. It never crashes or reads out of bounds,
 * whatever the bytes. The module is structurally sound (names resolved,
 * shapes re-inferred and equal to the written ones) but not verified:
 * run vx_verify for the semantic rules. */
#ifndef VX_READ_H
#define VX_READ_H

#include <stddef.h>

#include "../compiler/diag.h"
#include "ir.h"

vx_module *vx_read_module(const char *file, const char *text, size_t len, vx_arena *arena, vx_diag_engine *diag);

#endif

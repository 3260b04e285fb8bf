/* Parsing a .vtx source into an AST (frontend entry point 1 of 2; the
 * checker in sema.h is the second). */
#ifndef VX_PARSE_H
#define VX_PARSE_H

#include <stddef.h>

#include "../compiler/arena.h"
#include "../compiler/diag.h"
#include "ast.h"

/* Largest source file accepted ("file is too large"), in bytes. Bounds
 * the time and memory of every later phase. */
enum { VX_MAX_SOURCE_BYTES = 1 << 20 };

/* Checks that `text` is a plausible source file: not empty, within the
 * size limit, no NUL bytes, valid UTF-8. Reports the problem and returns
 * false otherwise. */
bool vx_parse_check_text(vx_diag_engine *diag, const char *file, const char *text, size_t len);

/* Parses one algorithm. `text` need not be NUL-terminated. All nodes are
 * allocated in `arena`; `file` must outlive the AST. Syntax errors are
 * reported to `diag` (several per run, with recovery at statement
 * boundaries). Returns NULL when any error was reported. */
vx_algorithm *vx_parse_source(vx_arena *arena, vx_diag_engine *diag, const char *file, const char *text,
                              size_t len);

#endif

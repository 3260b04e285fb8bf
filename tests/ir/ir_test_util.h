/* Helpers shared by the IR and pass tests: compile a .vtx to IR through
 * the real frontend and lowering, read a .vir, capture diagnostics into
 * a string, list the examples. Paths are relative to VX_SOURCE_DIR. */
#ifndef VX_IR_TEST_UTIL_H
#define VX_IR_TEST_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "compiler/diag.h"
#include "ir/ir.h"

/* A diagnostics engine whose output is collected in memory. */
typedef struct t_diag {
  vx_diag_engine *engine;
  FILE *stream;
  char *text;   /* after t_diag_text: everything reported so far */
  size_t len;
} t_diag;

void t_diag_open(t_diag *d);
/* Flushes and returns everything reported so far (NUL-terminated). */
const char *t_diag_text(t_diag *d);
void t_diag_close(t_diag *d);

/* Whole file, malloc'd and NUL-terminated; NULL if unreadable. */
char *t_read_file(const char *path, size_t *len);

/* The default test geometry: head_dim 64, group 4, page 16, bf16. */
vx_geometry t_default_geometry(void);

/* .vtx -> checked AST -> IR (in `arena`), or NULL with diagnostics. */
vx_module *t_compile_vtx(const char *path, const vx_geometry *geo, vx_arena *arena, vx_diag_engine *diag);
/* .vtx text given inline (the generative fuzzer). */
vx_module *t_compile_vtx_text(const char *name, const char *text, const vx_geometry *geo, vx_arena *arena,
                              vx_diag_engine *diag);
/* .vir file -> IR, or NULL with diagnostics. */
vx_module *t_read_vir(const char *path, vx_arena *arena, vx_diag_engine *diag);

/* Sorted list of files with extension `ext` (".vtx") directly under
 * VX_SOURCE_DIR/`dir`; full paths, malloc'd; returns the count. */
int t_list_files(const char *dir, const char *ext, char ***out);
void t_free_list(char **list, int n);

#endif

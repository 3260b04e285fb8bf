/* CUDA C code generation: one optimised IR module -> one standalone .cu
 * (kernels, the runtime device headers it needs pasted verbatim, and
 * extern "C" launchers) and one plain C header with the launchers' ABI.
 * docs/codegen.md describes the generated code and its ABI. */
#ifndef VX_CODEGEN_H
#define VX_CODEGEN_H

#include <stdbool.h>
#include <stddef.h>

#include "../ir/ir.h"

typedef struct vx_codegen_output {
  char *cu;  /* the .cu text (malloc'ed) */
  char *h;   /* the .h text (malloc'ed) */
  size_t cu_len, h_len;
} vx_codegen_output;

/* Generates both files. `header_name` is the file name the .h will be
 * written under (quoted in comments only: the .cu stays standalone).
 * Returns 0 on success; otherwise frees what it built, writes a one-line
 * message into err (e.g. an op the CUDA backend does not support) and
 * returns non-zero. */
int vx_codegen_emit(const vx_module *m, const char *header_name, vx_codegen_output *out, char *err,
                    size_t errlen);
/* The index kernel's scoring code. Each form falls back by itself to the
 * next when a module does not fit it: mma -> vector -> scalar. */
typedef enum vx_index_form {
  VX_INDEX_AUTO,   /* default: tensor-core scoring of bilinear page scores
                    * (docs/codegen.md "Tensor-core scoring"), else vector */
  VX_INDEX_VECTOR, /* L lanes per page, 16-byte field loads, page-independent
                    * values in registers */
  VX_INDEX_SCALAR, /* a warp per page, lane l takes d = l, l + 32, ... */
} vx_index_form;

/* Internal code-generation choices (not part of the algorithm). */
typedef struct vx_codegen_options {
  vx_index_form index_form;
} vx_codegen_options;

/* vx_codegen_emit with options; `opts` NULL = defaults. */
int vx_codegen_emit_opts(const vx_module *m, const char *header_name, const vx_codegen_options *opts,
                         vx_codegen_output *out, char *err, size_t errlen);
void vx_codegen_output_free(vx_codegen_output *out);

#endif

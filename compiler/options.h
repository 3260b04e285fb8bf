/* The vortexc command line, parsed into a vx_options (no globals).
 * Spellings are listed once, in options.def. */
#ifndef VX_OPTIONS_H
#define VX_OPTIONS_H

#include <stdbool.h>
#include <stdio.h>

#include "diag.h"
#include "../frontend/ast.h"
#include "../frontend/sema.h"

typedef enum vx_emit {
  VX_EMIT_CUDA, /* default: OUT.cu + OUT.h (-o), or the .cu on stdout */
  VX_EMIT_AST,
  VX_EMIT_IR,
  VX_EMIT_NONE  /* check only */
} vx_emit;

typedef enum vx_color_mode { VX_COLOR_AUTO, VX_COLOR_ALWAYS, VX_COLOR_NEVER } vx_color_mode;

/* Target geometry; --model-config fills it, explicit flags win. */
typedef struct vx_target {
  int head_dim;     /* --head-dim (GQA); MLA: dc + dr */
  int group;        /* query heads per KV head */
  int page_size;    /* tokens per page */
  vx_dtype kv_dtype;/* BF16 or F16 */
  const char *arch; /* "sm_90a" */
  /* From --model-config (0 when not given). */
  int num_heads, num_kv_heads;
  bool mla;         /* the model uses MLA (kv_lora_rank present) */
  int mla_latent, mla_rope;
} vx_target;

typedef struct vx_options {
  const char *input;        /* the .vtx file */
  const char *output;       /* -o; NULL = stdout */
  vx_emit emit;
  int opt_level;            /* -O0..-O2, default 2 */
  const char *passes;       /* --passes=a,b,c or NULL */
  const char *dump_ir;      /* "after-all" or "after:NAME" or NULL */
  const char *dump_ir_dir;
  bool time_passes;
  bool verify_each;         /* --verify-each */
  bool print_locations;     /* --print-locations */
  int index_form;           /* --index-codegen: a vx_index_form (codegen.h); 0 = auto (mma, else vector) */
  vx_diag_format diag_format;
  int max_errors;
  vx_color_mode color;
  vx_target geometry;
  const char *model_config;
  vx_define *defines;       /* -D, in command-line order (malloc'd) */
  int ndefines;
  bool show_version, show_help;
  bool head_dim_set, group_set; /* given explicitly: --model-config does not override */
} vx_options;

/* Parses argv (argv[0] is the program name). On a bad command line it
 * prints "vortexc: error: ..." (and a hint) to `err` and returns false;
 * the caller exits with status 2. Release with vx_options_free. */
bool vx_options_parse(vx_options *opts, int argc, char **argv, FILE *err);
void vx_options_free(vx_options *opts);
void vx_options_print_help(FILE *out);

/* Reads --model-config into opts->geometry (fields not set explicitly on
 * the command line). Reports through `diag`; false on error (exit 1). */
bool vx_model_config_load(vx_options *opts, vx_diag_engine *diag);

#endif

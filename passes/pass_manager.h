/* The pass manager: runs the registry of passes.def over a module, with
 * the verifier after each pass on request, IR dumps and timing.
 *
 * Passes are `bool fn(vx_pass_ctx *ctx, vx_module *m)`: they report user
 * errors through ctx->diag and return false, and set ctx->changed when
 * they modified the module (dumps use the printed text instead, so a
 * pass that lies about `changed` cannot hide a change). */
#ifndef VX_PASS_MANAGER_H
#define VX_PASS_MANAGER_H

#include <stdbool.h>
#include <stdio.h>

#include "../compiler/diag.h"
#include "../ir/ir.h"

typedef enum vx_dump_mode {
  VX_DUMP_NONE,
  VX_DUMP_AFTER_ALL, /* --dump-ir=after-all */
  VX_DUMP_AFTER_ONE  /* --dump-ir=after:NAME */
} vx_dump_mode;

/* Mirrors the command-line flags. Initialise with vx_pass_options_init. */
typedef struct vx_pass_options {
  int opt_level;           /* -O0 / -O1 / -O2 (default 2) */
  const char *passes;      /* --passes=a,b,c: exactly these, in this order; NULL: by opt_level */
  vx_dump_mode dump;       /* --dump-ir= */
  const char *dump_pass;   /* NAME of --dump-ir=after:NAME */
  const char *dump_dir;    /* --dump-ir-dir=DIR: DIR/000-input.vir, DIR/001-NAME.vir, ... */
  bool time_passes;        /* --time-passes: table on `report_out` after the pipeline */
  bool verify_each;        /* --verify-each: vx_verify after every pass (internal error on failure) */
  bool roundtrip_each;     /* tests: after every pass, print -> read -> print must be identical */
  bool print_locations;    /* loc(L:C) in dumps */
  FILE *dump_out;          /* where dumps go (NULL: stderr) */
  FILE *report_out;        /* where --time-passes goes (NULL: stderr) */
  bool *internal_error;    /* out (optional): set when the failure is a compiler bug (exit 3) */
} vx_pass_options;

typedef struct vx_pass_ctx {
  vx_diag_engine *diag;
  vx_arena *scratch;       /* reset after each pass */
  const vx_pass_options *opts;
  bool changed;            /* set by the pass when it modified the module */
} vx_pass_ctx;

typedef bool (*vx_pass_fn)(vx_pass_ctx *ctx, vx_module *m);

void vx_pass_options_init(vx_pass_options *o);

/* Runs the pipeline selected by opts. Returns false after reporting an
 * error: a user error (bad --passes name, invalid input IR caught by
 * `verify`) or an internal error ("internal error: IR invalid after pass
 * NAME", reported with the id "internal-pass" and flagged through
 * opts->internal_error). */
bool vx_pass_pipeline_run(vx_module *m, const vx_pass_options *opts, vx_diag_engine *diag);

/* Runs one pass by name (for tests); *changed receives its flag. */
bool vx_pass_run_one(vx_module *m, const char *name, vx_diag_engine *diag, bool *changed);

/* The registry, in execution order. */
int vx_pass_count(void);
const char *vx_pass_name(int i);
const char *vx_pass_summary(int i);
int vx_pass_min_level(int i);
int vx_pass_lookup(const char *name); /* index or -1 */

#endif

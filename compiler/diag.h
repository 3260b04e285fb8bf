/* Diagnostics engine: collects errors, warnings and notes with source
 * spans and renders them clang-style (`file:line:col: error: msg`, the
 * source line, a caret under the range, then notes and a hint) or as
 * one JSON object per line (--diagnostics=json). The engine never exits
 * and never prints unless asked to flush; libraries report into it and
 * the driver decides what to show. */
#ifndef VX_DIAG_H
#define VX_DIAG_H

#include <stdbool.h>
#include <stdio.h>

#include "../frontend/ast.h" /* vx_span */

typedef enum vx_severity { VX_SEV_ERROR, VX_SEV_WARNING, VX_SEV_NOTE } vx_severity;

typedef enum vx_diag_format { VX_DIAG_TEXT, VX_DIAG_JSON } vx_diag_format;

typedef struct vx_diag_engine vx_diag_engine;

typedef struct vx_diag_options {
  vx_diag_format format;
  int max_errors;   /* stop reporting after this many errors (0 = unlimited) */
  bool color;       /* ANSI colour in text mode (the driver sets it when stderr is a tty) */
  FILE *out;        /* where diagnostics go (stderr by default) */
} vx_diag_options;

vx_diag_engine *vx_diag_new(const vx_diag_options *opts);
void vx_diag_free(vx_diag_engine *d);

/* Registers the text of a file so diagnostics can quote its lines. The
 * engine keeps its own copy. Returns false on out-of-memory. */
bool vx_diag_add_source(vx_diag_engine *d, const char *file, const char *text, size_t len);

/* Reports one diagnostic. `id` is a stable kebab-case identifier (e.g.
 * "undefined-name"), `hint` may be NULL. A note attaches to the preceding
 * error or warning. Text is rendered immediately (notes follow their error). */
void vx_diag_report(vx_diag_engine *d, vx_severity sev, const char *id, const char *file, vx_span span,
                    const char *hint, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));

/* A diagnostic without a source position (`vortexc: error: msg`). */
void vx_diag_report_plain(vx_diag_engine *d, vx_severity sev, const char *id, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

int vx_diag_error_count(const vx_diag_engine *d);
/* True once max_errors errors were reported: callers stop early. */
bool vx_diag_should_stop(const vx_diag_engine *d);

#endif

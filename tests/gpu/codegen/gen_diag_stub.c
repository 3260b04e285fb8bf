/* Minimal diagnostics engine for the GPU test harness: the device machine
 * has no jansson (which compiler/diag.c needs for JSON output), and the
 * harness only reads .vir files vortexc wrote, so plain one-line messages
 * on stderr are enough. Implements the part of compiler/diag.h that the IR
 * reader uses. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "compiler/diag.h"

struct vx_diag_engine {
  int errors;
};

vx_diag_engine *vx_diag_new(const vx_diag_options *opts) {
  (void)opts;
  return calloc(1, sizeof(vx_diag_engine));
}

void vx_diag_free(vx_diag_engine *d) { free(d); }

bool vx_diag_add_source(vx_diag_engine *d, const char *file, const char *text, size_t len) {
  (void)d, (void)file, (void)text, (void)len;
  return true;
}

static void report(vx_diag_engine *d, vx_severity sev, const char *where, const char *fmt, va_list ap) {
  if (sev == VX_SEV_ERROR) d->errors++;
  fprintf(stderr, "%s: %s: ", where, sev == VX_SEV_ERROR ? "error" : sev == VX_SEV_WARNING ? "warning" : "note");
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
}

void vx_diag_report(vx_diag_engine *d, vx_severity sev, const char *id, const char *file, vx_span span, const char *hint,
                    const char *fmt, ...) {
  (void)id, (void)span, (void)hint;
  va_list ap;
  va_start(ap, fmt);
  report(d, sev, file, fmt, ap);
  va_end(ap);
}

void vx_diag_report_plain(vx_diag_engine *d, vx_severity sev, const char *id, const char *fmt, ...) {
  (void)id;
  va_list ap;
  va_start(ap, fmt);
  report(d, sev, "gen_check", fmt, ap);
  va_end(ap);
}

int vx_diag_error_count(const vx_diag_engine *d) { return d->errors; }
bool vx_diag_should_stop(const vx_diag_engine *d) { return d->errors > 0; }

/* The pass manager (contract in pass_manager.h). For each selected pass:
 * start a timer, run it with a fresh scratch arena, stop the timer, run
 * the verifier (--verify-each; a failure is an internal error naming the
 * pass), then dump the IR if asked, comparing the printed text with the
 * previous dump to say "(unchanged)". */
#include "pass_manager.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../ir/print.h"
#include "../ir/read.h"
#include "../ir/verify.h"
#include "passes.h"

typedef struct pass_info {
  const char *name;
  vx_pass_fn run;
  int min_level;
  const char *summary;
} pass_info;

static const pass_info registry[] = {
#define VX_PASS(name, fn, level, summary) {name, fn, level, summary},
#include "passes.def"
#undef VX_PASS
};

enum { NPASSES = (int)(sizeof registry / sizeof registry[0]), MAX_SELECTED = 64 };

int vx_pass_count(void) { return NPASSES; }
const char *vx_pass_name(int i) { return i >= 0 && i < NPASSES ? registry[i].name : NULL; }
const char *vx_pass_summary(int i) { return i >= 0 && i < NPASSES ? registry[i].summary : NULL; }
int vx_pass_min_level(int i) { return i >= 0 && i < NPASSES ? registry[i].min_level : -1; }

int vx_pass_lookup(const char *name) {
  for (int i = 0; i < NPASSES; i++)
    if (strcmp(registry[i].name, name) == 0)
      return i;
  return -1;
}

void vx_pass_options_init(vx_pass_options *o) {
  memset(o, 0, sizeof *o);
  o->opt_level = 2;
}

static double now_seconds(void) {
  struct timespec ts;
  timespec_get(&ts, TIME_UTC);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Fills sel[] with the registry indices to run; false after reporting a
 * bad --passes list. */
static bool select_passes(const vx_pass_options *o, vx_diag_engine *diag, int *sel, int *nsel) {
  *nsel = 0;
  if (!o->passes) {
    for (int i = 0; i < NPASSES; i++)
      if (registry[i].min_level <= o->opt_level)
        sel[(*nsel)++] = i;
    return true;
  }
  const char *p = o->passes;
  while (*p) {
    const char *comma = strchr(p, ',');
    size_t len = comma ? (size_t)(comma - p) : strlen(p);
    char name[64];
    int found = -1;
    if (len > 0 && len < sizeof name) {
      memcpy(name, p, len);
      name[len] = '\0';
      found = vx_pass_lookup(name);
    }
    if (found < 0) {
      char known[512] = "";
      for (int i = 0; i < NPASSES; i++) {
        strncat(known, registry[i].name, sizeof known - strlen(known) - 1);
        if (i + 1 < NPASSES)
          strncat(known, ", ", sizeof known - strlen(known) - 1);
      }
      vx_diag_report_plain(diag, VX_SEV_ERROR, "unknown-pass", "unknown pass '%.*s' in --passes (known: %s)",
                           (int)(len > 64 ? 64 : len), p, known);
      return false;
    }
    if (*nsel == MAX_SELECTED) {
      vx_diag_report_plain(diag, VX_SEV_ERROR, "too-many-passes", "--passes lists more than %d passes",
                           MAX_SELECTED);
      return false;
    }
    sel[(*nsel)++] = found;
    p += len;
    if (*p == ',')
      p++;
  }
  return true;
}

/* State of the dumping machinery across passes. */
typedef struct dumper {
  const vx_pass_options *o;
  vx_print_options popts;
  FILE *out;
  char *prev;    /* text printed after the previous pass (or the input) */
  int counter;   /* NNN of the next dump file */
  bool active;   /* any kind of dump requested */
} dumper;

static bool write_dump_file(dumper *d, const char *name, const char *text, vx_diag_engine *diag) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%03d-%s.vir", d->o->dump_dir, d->counter++, name);
  FILE *f = fopen(path, "w");
  bool ok = f && fputs(text, f) >= 0;
  if (f && fclose(f) != 0)
    ok = false;
  if (!ok)
    vx_diag_report_plain(diag, VX_SEV_ERROR, "dump-ir-dir", "cannot write IR dump '%s'", path);
  return ok;
}

/* After a pass: print the module once and use that text for the stderr
 * dump ("(unchanged)" by comparing with the previous text rather than
 * trusting the pass's flag), the dump directory and the next comparison. */
static bool dump_after(dumper *d, const vx_module *m, const char *name, vx_diag_engine *diag) {
  if (!d->active)
    return true;
  char *text = vx_print_module_string(m, &d->popts);
  if (!text) {
    vx_diag_report_plain(diag, VX_SEV_ERROR, "out-of-memory", "out of memory while printing IR");
    return false;
  }
  bool unchanged = d->prev && strcmp(d->prev, text) == 0;
  if (d->o->dump == VX_DUMP_AFTER_ALL || (d->o->dump == VX_DUMP_AFTER_ONE && strcmp(d->o->dump_pass, name) == 0))
    fprintf(d->out, "// -----// IR Dump After %s%s //----- //\n%s\n", name, unchanged ? " (unchanged)" : "",
            unchanged ? "" : text);
  bool ok = !d->o->dump_dir || write_dump_file(d, name, text, diag);
  free(d->prev);
  d->prev = text;
  return ok;
}

typedef struct pass_time {
  const char *name;
  double seconds;
} pass_time;

static int by_time_desc(const void *a, const void *b) {
  double x = ((const pass_time *)a)->seconds, y = ((const pass_time *)b)->seconds;
  return (x < y) - (x > y);
}

/* --time-passes: most expensive first, like LLVM's -time-passes. */
static void report_times(const vx_pass_options *o, pass_time *t, int n, double total) {
  FILE *out = o->report_out ? o->report_out : stderr;
  qsort(t, (size_t)n, sizeof *t, by_time_desc);
  fprintf(out, "===-------------------------------------------------------------===\n"
               "                    vortexc pass execution timing\n"
               "===-------------------------------------------------------------===\n"
               "  Total: %.4f ms\n\n    wall (ms)   share  pass\n",
          total * 1e3);
  for (int i = 0; i < n; i++)
    fprintf(out, "  %11.4f  %5.1f%%  %s\n", t[i].seconds * 1e3, total > 0 ? 100.0 * t[i].seconds / total : 0.0,
            t[i].name);
}

/* print(read(print(m))) == print(m): catches printer/reader drift at the
 * pass that introduced IR the text form cannot express. */
static bool round_trips(const vx_module *m, const char *pass, vx_diag_engine *diag) {
  char *text = vx_print_module_string(m, NULL);
  if (!text)
    return false;
  vx_arena a;
  vx_arena_init(&a);
  vx_module *back = vx_read_module(pass, text, strlen(text), &a, diag);
  char *again = back ? vx_print_module_string(back, NULL) : NULL;
  bool ok = again && strcmp(text, again) == 0;
  free(again);
  free(text);
  vx_arena_free(&a);
  return ok;
}

/* One pass with its own scratch arena, freed right after it. */
static bool run_pass(const pass_info *p, vx_module *m, const vx_pass_options *o, vx_diag_engine *diag,
                     bool *changed) {
  vx_arena scratch;
  vx_arena_init(&scratch);
  vx_pass_ctx ctx = {.diag = diag, .scratch = &scratch, .opts = o};
  bool ok = p->run(&ctx, m);
  vx_arena_free(&scratch);
  *changed = ctx.changed;
  return ok;
}

bool vx_pass_pipeline_run(vx_module *m, const vx_pass_options *o, vx_diag_engine *diag) {
  int sel[MAX_SELECTED], nsel;
  if (!select_passes(o, diag, sel, &nsel))
    return false;
  if (o->dump == VX_DUMP_AFTER_ONE && (!o->dump_pass || vx_pass_lookup(o->dump_pass) < 0)) {
    vx_diag_report_plain(diag, VX_SEV_ERROR, "unknown-pass", "unknown pass '%s' in --dump-ir=after:NAME",
                         o->dump_pass ? o->dump_pass : "");
    return false;
  }
  dumper d = {.o = o, .popts = {.locations = o->print_locations}, .out = o->dump_out ? o->dump_out : stderr};
  d.active = o->dump != VX_DUMP_NONE || o->dump_dir;
  pass_time times[MAX_SELECTED];
  double total = 0;
  int nrun = 0;
  bool ok = true;
  if (d.active) {
    /* The input text: the baseline for "(unchanged)" and 000-input.vir. */
    d.prev = vx_print_module_string(m, &d.popts);
    if (!d.prev) {
      vx_diag_report_plain(diag, VX_SEV_ERROR, "out-of-memory", "out of memory while printing IR");
      return false;
    }
    if (o->dump_dir)
      ok = write_dump_file(&d, "input", d.prev, diag);
  }
  for (int k = 0; k < nsel && ok; k++) {
    const pass_info *p = &registry[sel[k]];
    bool changed;
    double t0 = now_seconds();
    ok = run_pass(p, m, o, diag, &changed);
    times[nrun] = (pass_time){p->name, now_seconds() - t0};
    total += times[nrun++].seconds;
    if (!ok)
      break;
    if (o->verify_each && !vx_verify(m, diag)) {
      vx_diag_report_plain(diag, VX_SEV_ERROR, "internal-pass",
                           "internal error: IR invalid after pass '%s' (verifier messages above)", p->name);
      if (o->internal_error)
        *o->internal_error = true;
      ok = false;
      break;
    }
    if (o->roundtrip_each && !round_trips(m, p->name, diag)) {
      vx_diag_report_plain(diag, VX_SEV_ERROR, "internal-pass",
                           "internal error: the IR after pass '%s' does not print and read back identically", p->name);
      if (o->internal_error)
        *o->internal_error = true;
      ok = false;
      break;
    }
    ok = dump_after(&d, m, p->name, diag);
  }
  /* Without --verify-each, still verify once at the end: a pass that
   * broke the IR must be caught here, not in codegen. */
  if (ok && nrun && !o->verify_each && !vx_verify(m, diag)) {
    vx_diag_report_plain(diag, VX_SEV_ERROR, "internal-pass",
                         "internal error: IR invalid after the pass pipeline (rerun with --verify-each to find the pass)");
    if (o->internal_error)
      *o->internal_error = true;
    ok = false;
  }
  free(d.prev);
  if (o->time_passes)
    report_times(o, times, nrun, total);
  return ok;
}

bool vx_pass_run_one(vx_module *m, const char *name, vx_diag_engine *diag, bool *changed) {
  int i = vx_pass_lookup(name);
  *changed = false;
  if (i < 0) {
    vx_diag_report_plain(diag, VX_SEV_ERROR, "unknown-pass", "unknown pass '%s'", name);
    return false;
  }
  vx_pass_options o;
  vx_pass_options_init(&o);
  return run_pass(&registry[i], m, &o, diag, changed);
}

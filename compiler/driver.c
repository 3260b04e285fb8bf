/* The pipeline, one function per stage, in order:
 *
 *   read_source -> stage_parse -> stage_check -> stage_lower
 *     -> stage_passes -> stage_codegen -> write_outputs
 *
 * Each stage takes the vx_compilation, reports through its diagnostics
 * engine and returns an exit status (VX_EXIT_OK to continue). The later
 * stages are wired in by the IR, passes and codegen work: each is a
 * small function below that calls that library. */
#define _POSIX_C_SOURCE 200809L
#include "driver.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../frontend/ast_build.h"
#include "../frontend/parse.h"
#include "../frontend/sema.h"
#include "arena.h"
#include "diag.h"
#ifdef VX_HAVE_RUN_CMD
#include "run_cmd.h"
#endif
#ifdef VX_IR_AVAILABLE
#include "../ir/lower.h"
#include "../ir/print.h"
#include "../ir/read.h"
#endif
#ifdef VX_PASSES_AVAILABLE
#include "../passes/pass_manager.h"
#endif
#ifdef VX_CODEGEN_AVAILABLE
#include "../codegen/codegen.h"
#endif

enum { VX_MAX_PHASES = 16 };

/* Everything one compilation owns; released by compilation_free. */
typedef struct vx_compilation {
  const vx_options *opts;
  vx_diag_engine *diag;
  vx_arena arena;          /* the AST */
  const char *name;        /* the input as diagnostics name it ("<stdin>" for "-") */
  char *source;            /* file contents */
  size_t source_len;
  vx_algorithm *alg;       /* after stage_parse; checked after stage_check */
  void *module;            /* the IR module, after stage_lower (owned by the IR library) */
  char *out_text[2];       /* generated outputs: [0] main (.cu / AST / IR text), [1] header (.h) */
  size_t out_len[2];
  /* --time-passes */
  const char *phase_name[VX_MAX_PHASES];
  double phase_ms[VX_MAX_PHASES];
  int nphases;
} vx_compilation;

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void record_phase(vx_compilation *c, const char *name, double start) {
  if (c->nphases < VX_MAX_PHASES) {
    c->phase_name[c->nphases] = name;
    c->phase_ms[c->nphases++] = now_ms() - start;
  }
}

/* A compiler bug: distinct from user errors on purpose (exit 3). */
static int internal_error(vx_compilation *c, const char *phase, const char *what) {
  (void)c;
  fprintf(stderr, "vortexc: internal error in phase '%s': %s\n", phase, what);
  return VX_EXIT_INTERNAL;
}

static int read_source(vx_compilation *c) {
  const char *path = c->opts->input;
  bool from_stdin = strcmp(path, "-") == 0;
  c->name = from_stdin ? "<stdin>" : path;
  FILE *f = from_stdin ? stdin : fopen(path, "rb");
  if (!f) {
    vx_diag_report_plain(c->diag, VX_SEV_ERROR, "io", "cannot open '%s': %s", path, strerror(errno));
    return VX_EXIT_INPUT;
  }
  /* Read at most one byte past the limit: enough to say "too large"
   * without reading a huge file (or an endless pipe) into memory. */
  const size_t limit = (size_t)VX_MAX_SOURCE_BYTES + 1;
  size_t cap = 4096, len = 0;
  char *buf = malloc(cap);
  while (buf && len < limit) {
    if (len == cap) {
      char *grown = realloc(buf, cap * 2);
      if (!grown) {
        free(buf);
        buf = NULL;
        break;
      }
      buf = grown;
      cap *= 2;
    }
    size_t want = cap - len < limit - len ? cap - len : limit - len;
    size_t got = fread(buf + len, 1, want, f);
    len += got;
    if (got == 0)
      break;
  }
  int read_errno = ferror(f) ? errno : 0; /* e.g. EISDIR for a directory */
  if (f != stdin)
    fclose(f);
  if (!buf || read_errno) {
    free(buf);
    vx_diag_report_plain(c->diag, VX_SEV_ERROR, "io", "cannot read '%s': %s", path,
                         read_errno ? strerror(read_errno) : "out of memory");
    return VX_EXIT_INPUT;
  }
  c->source = buf;
  c->source_len = len;
  /* A binary file's "line" is noise: only text is registered for quoting. */
  if (!vx_parse_check_text(c->diag, c->name, buf, len))
    return VX_EXIT_INPUT;
  if (!vx_diag_add_source(c->diag, c->name, buf, len))
    return internal_error(c, "read", "out of memory registering the source");
  return VX_EXIT_OK;
}

static int stage_parse(vx_compilation *c) {
  double t = now_ms();
  c->alg = vx_parse_source(&c->arena, c->diag, c->name, c->source, c->source_len);
  record_phase(c, "parse", t);
  return c->alg ? VX_EXIT_OK : VX_EXIT_INPUT;
}

static int stage_check(vx_compilation *c) {
  double t = now_ms();
  vx_sema_options so = {.page_size = c->opts->geometry.page_size,
                        .defines = c->opts->defines,
                        .ndefines = c->opts->ndefines};
  bool ok = vx_sema_check(&c->arena, c->alg, c->diag, &so);
  record_phase(c, "sema", t);
  if (!ok)
    return VX_EXIT_INPUT;
  if (!c->alg->select || !c->alg->score)
    return internal_error(c, "sema", "checked algorithm lacks its select or score");
  return VX_EXIT_OK;
}

/* Reports a stage that has not landed yet (a clear message, exit 1). */
__attribute__((unused)) static int not_implemented(vx_compilation *c, const char *what) {
  vx_diag_report_plain(c->diag, VX_SEV_ERROR, "not-implemented",
                       "%s is not implemented yet in this build (use --emit=ast)", what);
  return VX_EXIT_INPUT;
}

/* AST -> page-level IR (ir/lower.h: vx_lower). Sets c->module. */
static int stage_lower(vx_compilation *c) {
#ifdef VX_IR_AVAILABLE
  const vx_target *t = &c->opts->geometry;
  vx_geometry geo = {.head_dim = t->head_dim, .group = t->group, .page_size = t->page_size,
                     .kv = t->mla ? VX_KV_MLA : VX_KV_GQA, .mla_latent = t->mla_latent,
                     .mla_rope = t->mla_rope, .kv_dtype = t->kv_dtype};
  double start = now_ms();
  c->module = vx_lower(c->alg, &geo, &c->arena, c->diag);
  record_phase(c, "lower", start);
  return c->module ? VX_EXIT_OK : VX_EXIT_INPUT;
#else
  return not_implemented(c, "lowering to IR (--emit=ir, --emit=cuda, -o)");
#endif
}

/* A .vir input (textual IR, by extension) instead of parse+check+lower. */
static bool input_is_ir(const vx_compilation *c) {
  size_t n = strlen(c->opts->input);
  return n >= 4 && strcmp(c->opts->input + n - 4, ".vir") == 0;
}

/* .vir text -> IR module (ir/read.h). Sets c->module. */
static int stage_read_ir(vx_compilation *c) {
#ifdef VX_IR_AVAILABLE
  double start = now_ms();
  c->module = vx_read_module(c->name, c->source, c->source_len, &c->arena, c->diag);
  record_phase(c, "read-ir", start);
  return c->module ? VX_EXIT_OK : VX_EXIT_INPUT;
#else
  return not_implemented(c, "reading textual IR (.vir)");
#endif
}

/* IR -> IR: the pass pipeline for -O / --passes / --dump-ir
 * (passes/pass_manager.h). Verification after every pass is on with
 * --verify-each and always in debug builds. */
static int stage_passes(vx_compilation *c) {
#ifdef VX_PASSES_AVAILABLE
  const vx_options *o = c->opts;
  vx_pass_options po;
  vx_pass_options_init(&po);
  bool internal = false;
  po.opt_level = o->opt_level;
  po.passes = o->passes;
  po.dump_dir = o->dump_ir_dir;
  po.time_passes = o->time_passes;
  po.print_locations = o->print_locations;
  po.internal_error = &internal;
#ifndef NDEBUG
  po.verify_each = true;
#else
  po.verify_each = o->verify_each;
#endif
  if (o->dump_ir && strcmp(o->dump_ir, "after-all") == 0) {
    po.dump = VX_DUMP_AFTER_ALL;
  } else if (o->dump_ir && strncmp(o->dump_ir, "after:", 6) == 0) {
    po.dump = VX_DUMP_AFTER_ONE;
    po.dump_pass = o->dump_ir + 6;
  }
  double start = now_ms();
  bool ok = vx_pass_pipeline_run(c->module, &po, c->diag);
  record_phase(c, "passes", start);
  return ok ? VX_EXIT_OK : internal ? VX_EXIT_INTERNAL : VX_EXIT_INPUT;
#else
  if (c->opts->passes || c->opts->dump_ir || c->opts->dump_ir_dir)
    return not_implemented(c, "the pass pipeline (--passes, --dump-ir)");
  return VX_EXIT_OK;
#endif
}

/* IR text for --emit=ir into c->out_text[0]. */
static int stage_print_ir(vx_compilation *c) {
#ifdef VX_IR_AVAILABLE
  vx_print_options popts = {.locations = c->opts->print_locations};
  c->out_text[0] = vx_print_module_string(c->module, &popts);
  if (!c->out_text[0])
    return internal_error(c, "print-ir", "out of memory printing the IR");
  c->out_len[0] = strlen(c->out_text[0]);
  return VX_EXIT_OK;
#else
  return not_implemented(c, "--emit=ir");
#endif
}

/* IR -> CUDA C: c->out_text[0] (.cu) and, when writing files, c->out_text[1]
 * (.h); on stdout only the .cu is printed. */
static int stage_codegen(vx_compilation *c) {
#ifdef VX_CODEGEN_AVAILABLE
  const vx_module *m = c->module;
  const char *out = c->opts->output;
  const bool to_files = out && strcmp(out, "-") != 0;
  char header_name[256];
  if (to_files) {
    const char *base = strrchr(out, '/');
    base = base ? base + 1 : out;
    size_t n = strlen(base);
    size_t stem = n >= 3 && strcmp(base + n - 3, ".cu") == 0 ? n - 3 : n;
    snprintf(header_name, sizeof header_name, "%.*s.h", (int)(stem < 200 ? stem : 200), base);
  } else {
    snprintf(header_name, sizeof header_name, "%.200s.h", m->name);
  }
  char err[256];
  vx_codegen_output gen;
  double start = now_ms();
  const vx_codegen_options cg_opts = {.index_form = (vx_index_form)c->opts->index_form};
  int rc = vx_codegen_emit_opts(m, header_name, &cg_opts, &gen, err, sizeof err);
  record_phase(c, "codegen", start);
  if (rc != 0) {
    vx_diag_report_plain(c->diag, VX_SEV_ERROR, "codegen", "%s", err);
    return VX_EXIT_INPUT;
  }
  c->out_text[0] = gen.cu;
  c->out_len[0] = gen.cu_len;
  if (to_files) {
    c->out_text[1] = gen.h;
    c->out_len[1] = gen.h_len;
  } else {
    free(gen.h);
  }
  return VX_EXIT_OK;
#else
  return not_implemented(c, "CUDA code generation");
#endif
}

static int stage_print_ast(vx_compilation *c) {
  FILE *mem = open_memstream(&c->out_text[0], &c->out_len[0]);
  if (!mem)
    return internal_error(c, "emit-ast", "cannot open a memory stream");
  vx_ast_print(mem, c->alg);
  if (fclose(mem) != 0)
    return internal_error(c, "emit-ast", "cannot write the AST");
  return VX_EXIT_OK;
}

/* "OUT.cu" -> "OUT.h" (any other name: NAME.h appended). */
static char *header_path(const char *cu) {
  size_t n = strlen(cu);
  size_t stem = n >= 3 && strcmp(cu + n - 3, ".cu") == 0 ? n - 3 : n;
  char *h = malloc(stem + 3);
  if (h) {
    memcpy(h, cu, stem);
    memcpy(h + stem, ".h", 3);
  }
  return h;
}

static int write_outputs(vx_compilation *c) {
  const vx_options *o = c->opts;
  if (o->emit == VX_EMIT_NONE)
    return VX_EXIT_OK;
  if (!o->output || strcmp(o->output, "-") == 0) {
    for (int i = 0; i < 2; i++)
      if (c->out_text[i])
        fwrite(c->out_text[i], 1, c->out_len[i], stdout);
    return fflush(stdout) == 0 ? VX_EXIT_OK : VX_EXIT_INPUT;
  }
  const char *paths[2] = {o->output, NULL};
  const char *data[2] = {c->out_text[0], c->out_text[1]};
  size_t lens[2] = {c->out_len[0], c->out_len[1]};
  int n = 1;
  char *h = NULL;
  if (o->emit == VX_EMIT_CUDA) {
    h = header_path(o->output);
    if (!h)
      return internal_error(c, "write", "out of memory");
    paths[1] = h;
    n = 2;
  }
  bool ok = vx_write_files_atomic(paths, data, lens, n);
  if (!ok)
    vx_diag_report_plain(c->diag, VX_SEV_ERROR, "io", "cannot write '%s': %s", o->output, strerror(errno));
  free(h);
  return ok ? VX_EXIT_OK : VX_EXIT_INPUT;
}

static void print_times(const vx_compilation *c) {
  fprintf(stderr, "===-- vortexc phase timing --===\n");
  for (int i = 0; i < c->nphases; i++)
    fprintf(stderr, "  %-12s %9.3f ms\n", c->phase_name[i], c->phase_ms[i]);
}

/* The middle of the pipeline after a checked AST, per --emit. */
static int run_backend(vx_compilation *c) {
  int rc;
  switch (c->opts->emit) {
  case VX_EMIT_NONE:
    return VX_EXIT_OK;
  case VX_EMIT_AST:
    return stage_print_ast(c);
  case VX_EMIT_IR:
    if ((!c->module && (rc = stage_lower(c)) != VX_EXIT_OK) || (rc = stage_passes(c)) != VX_EXIT_OK)
      return rc;
    return stage_print_ir(c);
  case VX_EMIT_CUDA:
    if ((!c->module && (rc = stage_lower(c)) != VX_EXIT_OK) || (rc = stage_passes(c)) != VX_EXIT_OK)
      return rc;
    return stage_codegen(c);
  }
  return internal_error(c, "driver", "unknown --emit kind");
}

int vx_compile(const vx_options *opts) {
  vx_compilation c = {.opts = opts};
  bool color = opts->color == VX_COLOR_ALWAYS || (opts->color == VX_COLOR_AUTO && isatty(fileno(stderr)));
  vx_diag_options dopts = {.format = opts->diag_format, .max_errors = opts->max_errors,
                           .color = color && opts->diag_format == VX_DIAG_TEXT, .out = stderr};
  c.diag = vx_diag_new(&dopts);
  if (!c.diag)
    return internal_error(&c, "driver", "out of memory");
  vx_arena_init(&c.arena);

  /* --model-config fills the geometry of a private copy of the options. */
  vx_options resolved = *opts;
  c.opts = &resolved;
  int rc = VX_EXIT_OK;
  if (opts->model_config && !vx_model_config_load(&resolved, c.diag))
    rc = VX_EXIT_INPUT;
  if (rc == VX_EXIT_OK)
    rc = read_source(&c);
  bool ir_input = rc == VX_EXIT_OK && input_is_ir(&c);
  if (rc == VX_EXIT_OK && ir_input && opts->emit == VX_EMIT_AST) {
    vx_diag_report_plain(c.diag, VX_SEV_ERROR, "emit-ast-from-ir", "--emit=ast needs a .vtx input, not IR");
    rc = VX_EXIT_INPUT;
  }
  if (rc == VX_EXIT_OK)
    rc = ir_input ? stage_read_ir(&c) : stage_parse(&c);
  if (rc == VX_EXIT_OK && !ir_input)
    rc = stage_check(&c);
  if (rc == VX_EXIT_OK)
    rc = run_backend(&c);
  if (rc == VX_EXIT_OK)
    rc = write_outputs(&c);
  if (opts->time_passes)
    print_times(&c);

  free(c.out_text[0]);
  free(c.out_text[1]);
  free(c.source);
  vx_arena_free(&c.arena);
  vx_diag_free(c.diag);
  return rc;
}

bool vx_output_is_special(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && !S_ISREG(st.st_mode);
}

/* Writes `len` bytes to an open stream and closes it; false on error. */
static bool write_and_close(FILE *f, const char *data, size_t len) {
  bool ok = !len || fwrite(data, 1, len, f) == len;
  return fclose(f) == 0 && ok;
}

bool vx_write_files_atomic(const char *const *paths, const char *const *data, const size_t *lens, int n) {
  enum { MAX_FILES = 4 };
  char *tmp[MAX_FILES] = {0};
  bool renamed[MAX_FILES] = {0};
  bool ok = n <= MAX_FILES;
  /* mkstemp creates 0600 files; outputs get the usual 0666 & ~umask. */
  mode_t mask = umask(0);
  umask(mask);
  /* Phase 1: every regular output goes to a temporary file next to it. */
  for (int i = 0; ok && i < n; i++) {
    if (vx_output_is_special(paths[i]))
      continue; /* /dev/null, a pipe...: written in place in phase 2 */
    size_t len = strlen(paths[i]);
    tmp[i] = malloc(len + 16);
    if (!tmp[i]) {
      ok = false;
      break;
    }
    snprintf(tmp[i], len + 16, "%s.tmp.XXXXXX", paths[i]);
    int fd = mkstemp(tmp[i]);
    if (fd < 0) {
      free(tmp[i]);
      tmp[i] = NULL;
      ok = false;
      break;
    }
    FILE *f = fchmod(fd, 0666 & ~mask) == 0 ? fdopen(fd, "wb") : NULL;
    if (!f) {
      close(fd);
      ok = false;
      break;
    }
    ok = write_and_close(f, data[i], lens[i]);
  }
  /* Phase 2: only when every temporary file is complete. A special file
   * is never replaced (renaming over /dev/null would destroy it). */
  for (int i = 0; ok && i < n; i++) {
    if (tmp[i]) {
      ok = renamed[i] = rename(tmp[i], paths[i]) == 0;
    } else {
      FILE *f = fopen(paths[i], "wb");
      ok = f && write_and_close(f, data[i], lens[i]);
    }
  }
  int saved = errno;
  for (int i = 0; i < n; i++) {
    if (tmp[i]) {
      if (!ok) /* undo: no output of a failed set may remain */
        unlink(renamed[i] ? paths[i] : tmp[i]);
      free(tmp[i]);
    }
  }
  errno = saved;
  return ok;
}

int vx_main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "run") == 0) {
#ifdef VX_HAVE_RUN_CMD
    return vx_run_command(argc - 1, argv + 1);
#else
    fprintf(stderr, "vortexc: error: 'vortexc run' (the interpreter) is not implemented yet in this build\n");
    return VX_EXIT_INPUT;
#endif
  }
  vx_options opts;
  if (!vx_options_parse(&opts, argc, argv, stderr)) {
    vx_options_free(&opts);
    return VX_EXIT_USAGE;
  }
  int rc = VX_EXIT_OK;
  if (opts.show_help)
    vx_options_print_help(stdout);
  else if (opts.show_version)
    printf("vortexc %s\n", VX_VERSION_STRING);
  else
    rc = vx_compile(&opts);
  vx_options_free(&opts);
  return rc;
}

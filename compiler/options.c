/* Command-line parsing from the options.def table. Accepted forms:
 * "--name=VALUE" for long options, "-o FILE"/"-oFILE" and
 * "-D N=V"/"-DN=V" for the short ones, flags as written. */
#define _POSIX_C_SOURCE 200809L
#include "options.h"

#include <errno.h>
#include <stdarg.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "../codegen/codegen.h"
#include "../frontend/suggest.h"

typedef enum vx_option_id {
#define VX_OPTION(id, spelling, takes_value, metavar, help) VX_OPT_##id,
#include "options.def"
#undef VX_OPTION
  VX_OPT_COUNT
} vx_option_id;

typedef struct vx_option_info {
  const char *spelling;
  int takes_value;
  const char *metavar;
  const char *help;
} vx_option_info;

static const vx_option_info option_table[VX_OPT_COUNT] = {
#define VX_OPTION(id, spelling, takes_value, metavar, help) {spelling, takes_value, metavar, help},
#include "options.def"
#undef VX_OPTION
};

void vx_options_print_help(FILE *out) {
  fputs("usage: vortexc FILE.vtx [options]\n"
        "       vortexc run FILE.vtx [options]   (execute with the reference interpreter)\n\n"
        "Compiles a sparse-attention algorithm (.vtx) to standalone CUDA C.\n\noptions:\n",
        out);
  for (int i = 0; i < VX_OPT_COUNT; i++) {
    const vx_option_info *o = &option_table[i];
    char left[64];
    if (!o->takes_value)
      snprintf(left, sizeof left, "%s", o->spelling);
    else if (o->spelling[1] == '-')
      snprintf(left, sizeof left, "%s=%s", o->spelling, o->metavar);
    else
      snprintf(left, sizeof left, "%s %s", o->spelling, o->metavar);
    fprintf(out, "  %-34s %s\n", left, o->help);
  }
  fputs("\nexit status: 0 success, 1 errors in the input, 2 bad command line, 3 internal error\n"
        "docs: docs/language.md\n",
        out);
}

/* Prints "vortexc: error: ..." and an optional hint; returns false so
 * callers can `return fail(...)`. */
__attribute__((format(printf, 3, 4))) static bool fail(FILE *err, const char *hint, const char *fmt, ...) {
  fputs("vortexc: error: ", err);
  va_list ap;
  va_start(ap, fmt);
  vfprintf(err, fmt, ap);
  va_end(ap);
  fputc('\n', err);
  if (hint)
    fprintf(err, "hint: %s\n", hint);
  return false;
}

static bool parse_positive(FILE *err, const char *name, const char *text, int min, int *out) {
  char *end = NULL;
  errno = 0;
  long v = strtol(text, &end, 10);
  if (end == text || *end || errno == ERANGE || v < min || v > INT_MAX)
    return fail(err, NULL, "%s expects a %s integer, got '%s'", name, min > 0 ? "positive" : "non-negative", text);
  *out = (int)v;
  return true;
}

/* Matches argv[i] against the table; sets *value for options that take
 * one (consuming argv[i+1] for "-o FILE" / "-D X"). */
static int match_option(int argc, char **argv, int *i, const char **value) {
  const char *arg = argv[*i];
  for (int id = 0; id < VX_OPT_COUNT; id++) {
    const vx_option_info *o = &option_table[id];
    size_t n = strlen(o->spelling);
    if (strncmp(arg, o->spelling, n) != 0)
      continue;
    if (!o->takes_value) {
      if (arg[n] == '\0')
        return id;
      continue;
    }
    if (o->spelling[1] == '-') { /* --name=VALUE */
      if (arg[n] == '=') {
        *value = arg + n + 1;
        return id;
      }
      if (arg[n] == '\0') {
        *value = NULL; /* reported as "needs a value" */
        return id;
      }
      continue;
    }
    if (arg[n] != '\0') { /* -oFILE, -DNAME=V */
      *value = arg + n;
      return id;
    }
    *value = *i + 1 < argc ? argv[++*i] : NULL;
    return id;
  }
  return -1;
}

static bool add_define(vx_options *opts, FILE *err, const char *text) {
  const char *eq = strchr(text, '=');
  if (!eq || eq == text || eq[1] == '\0')
    return fail(err, "write -D NAME=VALUE, e.g. -D budget=128", "malformed -D '%s'", text);
  vx_define *grown = realloc(opts->defines, (size_t)(opts->ndefines + 1) * sizeof *grown);
  if (!grown)
    return fail(err, NULL, "out of memory");
  opts->defines = grown;
  /* Point into argv: the name is copied so it can be NUL-terminated. */
  char *name = strndup(text, (size_t)(eq - text));
  if (!name)
    return fail(err, NULL, "out of memory");
  opts->defines[opts->ndefines].name = name;
  opts->defines[opts->ndefines].value = eq + 1;
  opts->ndefines++;
  return true;
}

static bool one_of(const char *v, const char *a, const char *b, const char *c, const char *d) {
  return (a && strcmp(v, a) == 0) || (b && strcmp(v, b) == 0) || (c && strcmp(v, c) == 0) ||
         (d && strcmp(v, d) == 0);
}

static bool apply_option(vx_options *opts, FILE *err, int id, const char *v) {
  const char *name = option_table[id].spelling;
  if (option_table[id].takes_value && (!v || (*v == '\0' && id != VX_OPT_PASSES))) {
    char hint[96];
    snprintf(hint, sizeof hint, "write %s%s%s", name, name[1] == '-' ? "=" : " ", option_table[id].metavar);
    return fail(err, hint, "option '%s' needs a value", name);
  }
  switch ((vx_option_id)id) {
  case VX_OPT_EMIT:
    if (!one_of(v, "ast", "ir", "cuda", "none"))
      return fail(err, "use --emit=ast, --emit=ir, --emit=cuda or --emit=none", "unknown --emit kind '%s'", v);
    opts->emit = v[0] == 'a' ? VX_EMIT_AST : v[0] == 'i' ? VX_EMIT_IR : v[0] == 'c' ? VX_EMIT_CUDA : VX_EMIT_NONE;
    return true;
  case VX_OPT_OUTPUT: opts->output = v; return true;
  case VX_OPT_DEFINE: return add_define(opts, err, v);
  case VX_OPT_O0: opts->opt_level = 0; return true;
  case VX_OPT_O1: opts->opt_level = 1; return true;
  case VX_OPT_O2: opts->opt_level = 2; return true;
  case VX_OPT_PASSES: opts->passes = v; return true;
  case VX_OPT_DUMP_IR:
    if (strcmp(v, "after-all") != 0 && (strncmp(v, "after:", 6) != 0 || v[6] == '\0'))
      return fail(err, "use --dump-ir=after-all or --dump-ir=after:PASS", "bad --dump-ir value '%s'", v);
    opts->dump_ir = v;
    return true;
  case VX_OPT_DUMP_IR_DIR: opts->dump_ir_dir = v; return true;
  case VX_OPT_TIME_PASSES: opts->time_passes = true; return true;
  case VX_OPT_VERIFY_EACH: opts->verify_each = true; return true;
  case VX_OPT_PRINT_LOC: opts->print_locations = true; return true;
  case VX_OPT_INDEX_CODEGEN:
    if (one_of(v, "auto", "vector", "scalar", NULL)) {
      opts->index_form = v[0] == 'a' ? VX_INDEX_AUTO : v[0] == 'v' ? VX_INDEX_VECTOR : VX_INDEX_SCALAR;
      return true;
    }
    return fail(err, "use --index-codegen=auto, --index-codegen=vector or --index-codegen=scalar",
                "unknown index code generator '%s'", v);
  case VX_OPT_DIAGNOSTICS:
    if (!one_of(v, "text", "json", NULL, NULL))
      return fail(err, "use --diagnostics=text or --diagnostics=json", "unknown diagnostics format '%s'", v);
    opts->diag_format = v[0] == 'j' ? VX_DIAG_JSON : VX_DIAG_TEXT;
    return true;
  case VX_OPT_MAX_ERRORS: return parse_positive(err, name, v, 0, &opts->max_errors);
  case VX_OPT_COLOR:
    if (!one_of(v, "auto", "always", "never", NULL))
      return fail(err, "use --color=auto, --color=always or --color=never", "unknown colour mode '%s'", v);
    opts->color = v[1] == 'u' ? VX_COLOR_AUTO : v[1] == 'l' ? VX_COLOR_ALWAYS : VX_COLOR_NEVER;
    return true;
  case VX_OPT_HEAD_DIM:
    opts->head_dim_set = true;
    return parse_positive(err, name, v, 1, &opts->geometry.head_dim);
  case VX_OPT_GROUP:
    opts->group_set = true;
    return parse_positive(err, name, v, 1, &opts->geometry.group);
  case VX_OPT_PAGE_SIZE: return parse_positive(err, name, v, 1, &opts->geometry.page_size);
  case VX_OPT_KV_DTYPE:
    if (!one_of(v, "bf16", "f16", NULL, NULL))
      return fail(err, "use --kv-dtype=bf16 or --kv-dtype=f16", "unsupported KV dtype '%s'", v);
    opts->geometry.kv_dtype = v[0] == 'b' ? VX_DTYPE_BF16 : VX_DTYPE_F16;
    return true;
  case VX_OPT_ARCH:
    if (strncmp(v, "sm_", 3) != 0 || v[3] < '0' || v[3] > '9')
      return fail(err, "e.g. --arch=sm_90a", "bad CUDA architecture '%s'", v);
    opts->geometry.arch = v;
    return true;
  case VX_OPT_MODEL_CONFIG: opts->model_config = v; return true;
  case VX_OPT_VERSION: opts->show_version = true; return true;
  case VX_OPT_HELP: opts->show_help = true; return true;
  case VX_OPT_COUNT: break;
  }
  return false;
}

static bool unknown_option(FILE *err, const char *arg) {
  /* Compare the part before '=' with every spelling. */
  char key[64];
  size_t n = strcspn(arg, "=");
  snprintf(key, sizeof key, "%.*s", (int)(n < sizeof key ? n : sizeof key - 1), arg);
  vx_suggestion sug;
  vx_suggest_init(&sug, key);
  for (int i = 0; i < VX_OPT_COUNT; i++)
    vx_suggest_consider(&sug, option_table[i].spelling);
  char hint[128];
  if (sug.best)
    snprintf(hint, sizeof hint, "did you mean '%s'? ('vortexc --help' lists every option)", sug.best);
  else
    snprintf(hint, sizeof hint, "'vortexc --help' lists every option");
  return fail(err, hint, "unknown option '%s'", arg);
}

bool vx_options_parse(vx_options *opts, int argc, char **argv, FILE *err) {
  memset(opts, 0, sizeof *opts);
  opts->emit = VX_EMIT_CUDA;
  opts->opt_level = 2;
  opts->max_errors = 20;
  /* The vector index emitter is the default since it passed the whole GPU
   * suite and ran the index 1.7-2.4x faster (bench/RESULTS.md, run 8). */
  opts->index_form = VX_INDEX_AUTO;
  opts->geometry = (vx_target){.head_dim = 128, .group = 4, .page_size = 16, .kv_dtype = VX_DTYPE_BF16,
                                 .arch = "sm_90a"};
  for (int i = 1; i < argc; i++) {
    const char *arg = argv[i];
    if (arg[0] != '-' || arg[1] == '\0') {
      if (opts->input)
        return fail(err, "vortexc compiles one algorithm file per run", "more than one input file ('%s' and '%s')",
                    opts->input, arg);
      opts->input = arg;
      continue;
    }
    if (strcmp(arg, "-h") == 0) {
      opts->show_help = true;
      continue;
    }
    const char *value = NULL;
    int id = match_option(argc, argv, &i, &value);
    if (id < 0)
      return unknown_option(err, arg);
    if (!apply_option(opts, err, id, value))
      return false;
  }
  if (!opts->input && !opts->show_help && !opts->show_version)
    return fail(err, "usage: vortexc FILE.vtx [options]; 'vortexc --help' for more", "no input file");
  return true;
}

void vx_options_free(vx_options *opts) {
  for (int i = 0; i < opts->ndefines; i++)
    free((char *)opts->defines[i].name);
  free(opts->defines);
  opts->defines = NULL;
  opts->ndefines = 0;
}

/* `vortexc run`: the reference interpreter from the command line.
 *
 *   vortexc run FILE.vtx|FILE.vir [compiler options: -D, -O, --passes,
 *       --head-dim, --group, --page-size, --kv-dtype, --model-config]
 *       [--seed N] [--batch B] [--context L] [--ragged] [--kv-heads H]
 *       [--steps S] [--spare-pages N] [--scale X] [--out DIR | --in DIR]
 *
 * Compiles the algorithm to IR exactly as `vortexc --emit=ir` would
 * (same passes), runs cache_update, `steps` index steps and sparse/dense
 * attention on random paged inputs (or the inputs of a run directory),
 * prints the selected pages of every (request, KV head) and checksums of
 * every output, and with --out writes a run directory for GPU tests. */
#define _POSIX_C_SOURCE 200809L
#include "run_cmd.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../frontend/parse.h"
#include "../frontend/sema.h"
#include "arena.h"
#include "diag.h"
#include "driver.h"
#include "options.h"
#ifdef VX_INTERP_AVAILABLE
#include "../ir/interp.h"
#include "../ir/interp_files.h"
#include "../ir/lower.h"
#include "../ir/read.h"
#include "../ir/verify.h"
#endif
#ifdef VX_PASSES_AVAILABLE
#include "../passes/pass_manager.h"
#endif

/* Options of `run` itself; everything else goes to the compiler's parser. */
typedef struct run_options {
  uint64_t seed;
  int batch, context, kv_heads, steps, spare_pages;
  bool ragged, kv_heads_set, help, time;
  const char *generator_option; /* the first option that only random inputs use */
  double scale;              /* 0: 1/sqrt(head_dim) */
  const char *out_dir, *in_dir;
} run_options;

static void print_run_help(FILE *out) {
  fputs("usage: vortexc run FILE.vtx|FILE.vir [options]\n\n"
        "Runs the algorithm through the reference interpreter (docs/semantics.md): cache_update on\n"
        "every page, the index function and its select for every (request, KV head), then sparse\n"
        "attention over the selection and dense attention over all pages. Prints the selected pages\n"
        "and checksums of every output.\n\n"
        "run options (\"--x N\" or \"--x=N\"):\n"
        "  --seed N          random inputs from this seed (default 1)\n"
        "  --batch B         requests (default 4)\n"
        "  --context L       tokens per request, the maximum with --ragged (default 1000)\n"
        "  --ragged          ragged lengths: L, 1 token, whole pages, then uniform in [1, L]\n"
        "  --kv-heads H      KV heads (default 2; MLA always 1)\n"
        "  --steps S         index steps chained through the state (default 1)\n"
        "  --spare-pages N   unreferenced physical pages mixed into the pool (default 3)\n"
        "  --scale X         attention logit scale (default 1/sqrt(head_dim))\n"
        "  --out DIR         write inputs, outputs and manifest.json into DIR\n"
        "  --in DIR          read the inputs (and geometry) of a run directory instead\n"
        "  --time            print the time of each phase to stderr\n\n"
        "compiler options that apply: -D NAME=VALUE, -O0/-O1/-O2, --passes=..., --head-dim=N,\n"
        "--group=N, --page-size=N, --kv-dtype=bf16|f16, --model-config=FILE (see vortexc --help)\n",
        out);
}

static bool parse_count(const char *name, const char *v, long lo, long hi, long *out) {
  char *end;
  errno = 0;
  long x = v ? strtol(v, &end, 10) : 0;
  if (!v || errno || *end || end == v || x < lo || x > hi) {
    fprintf(stderr, "vortexc run: error: %s expects an integer in %ld..%ld, got '%s'\n", name, lo, hi, v ? v : "");
    return false;
  }
  *out = x;
  return true;
}

/* Matches "--name VALUE" / "--name=VALUE" at argv[*i]; *value is NULL when
 * the name matched but no value followed. */
static bool match_valued(int argc, char **argv, int *i, const char *name, const char **value) {
  size_t n = strlen(name);
  if (strncmp(argv[*i], name, n) != 0)
    return false;
  if (argv[*i][n] == '=') {
    *value = argv[*i] + n + 1;
    return true;
  }
  if (argv[*i][n] != '\0')
    return false;
  *value = *i + 1 < argc ? argv[++*i] : NULL;
  return true;
}

static bool take_run_option(run_options *r, int argc, char **argv, int *i, bool *taken) {
  const char *v;
  const char *arg = argv[*i];
  long x;
  *taken = true;
  if (strcmp(argv[*i], "--ragged") == 0)
    r->ragged = true;
  else if (strcmp(argv[*i], "--time") == 0)
    r->time = true;
  else if (strcmp(argv[*i], "--help") == 0 || strcmp(argv[*i], "-h") == 0)
    r->help = true;
  else if (match_valued(argc, argv, i, "--seed", &v)) {
    char *end;
    errno = 0;
    r->seed = v ? strtoull(v, &end, 0) : 0;
    if (!v || errno || *end || end == v || v[0] == '-') {
      fprintf(stderr, "vortexc run: error: --seed expects a non-negative integer, got '%s'\n", v ? v : "");
      return false;
    }
  } else if (match_valued(argc, argv, i, "--batch", &v)) {
    if (!parse_count("--batch", v, 1, 1 << 16, &x))
      return false;
    r->batch = (int)x;
  } else if (match_valued(argc, argv, i, "--context", &v)) {
    if (!parse_count("--context", v, 1, 1 << 24, &x))
      return false;
    r->context = (int)x;
  } else if (match_valued(argc, argv, i, "--kv-heads", &v)) {
    if (!parse_count("--kv-heads", v, 1, 1024, &x))
      return false;
    r->kv_heads = (int)x;
    r->kv_heads_set = true;
  } else if (match_valued(argc, argv, i, "--steps", &v)) {
    if (!parse_count("--steps", v, 1, 1 << 20, &x))
      return false;
    r->steps = (int)x;
  } else if (match_valued(argc, argv, i, "--spare-pages", &v)) {
    if (!parse_count("--spare-pages", v, 0, 1 << 20, &x))
      return false;
    r->spare_pages = (int)x;
  } else if (match_valued(argc, argv, i, "--scale", &v)) {
    char *end;
    r->scale = v ? strtod(v, &end) : 0;
    if (!v || *end || end == v || !(r->scale > 0)) {
      fprintf(stderr, "vortexc run: error: --scale expects a positive number, got '%s'\n", v ? v : "");
      return false;
    }
  } else if (match_valued(argc, argv, i, "--out", &v) && v) {
    r->out_dir = v;
  } else if (match_valued(argc, argv, i, "--in", &v) && v) {
    r->in_dir = v;
  } else {
    *taken = false;
  }
  static const char *const generator_only[] = {"--seed", "--batch", "--context", "--ragged", "--kv-heads",
                                               "--spare-pages"};
  for (size_t k = 0; *taken && !r->generator_option && k < sizeof generator_only / sizeof *generator_only; k++) {
    size_t n = strlen(generator_only[k]);
    if (strncmp(arg, generator_only[k], n) == 0 && (arg[n] == '\0' || arg[n] == '='))
      r->generator_option = generator_only[k];
  }
  return true;
}

/* Long compiler options also accepted as "--name VALUE" here (the main
 * parser wants "--name=VALUE"); joined into one argument. */
static const char *const joinable[] = {"--head-dim", "--group", "--page-size", "--kv-dtype", "--model-config",
                                       "--passes"};

/* Splits argv into run options and a compiler argv (argv[0] = "vortexc"). */
static int split_args(int argc, char **argv, run_options *r, char **fwd, int *nfwd, char **joined, int *njoined) {
  *r = (run_options){.seed = 1, .batch = 4, .context = 1000, .kv_heads = 2, .steps = 1, .spare_pages = 3};
  *nfwd = 0;
  *njoined = 0;
  fwd[(*nfwd)++] = "vortexc";
  for (int i = 1; i < argc; i++) {
    bool taken;
    if (!take_run_option(r, argc, argv, &i, &taken))
      return VX_EXIT_USAGE;
    if (taken)
      continue;
    if (strcmp(argv[i], "--out") == 0 || strcmp(argv[i], "--in") == 0) {
      fprintf(stderr, "vortexc run: error: %s expects a directory\n", argv[i]);
      return VX_EXIT_USAGE;
    }
    bool joined_one = false;
    for (size_t k = 0; k < sizeof joinable / sizeof *joinable && i + 1 < argc; k++) {
      if (strcmp(argv[i], joinable[k]) != 0)
        continue;
      size_t n = strlen(argv[i]) + strlen(argv[i + 1]) + 2;
      char *s = malloc(n);
      if (!s)
        return VX_EXIT_INTERNAL;
      snprintf(s, n, "%s=%s", argv[i], argv[i + 1]);
      joined[(*njoined)++] = s;
      fwd[(*nfwd)++] = s;
      i++;
      joined_one = true;
      break;
    }
    if (!joined_one)
      fwd[(*nfwd)++] = argv[i];
  }
  if (r->in_dir && r->generator_option) {
    fprintf(stderr, "vortexc run: error: %s shapes random inputs, but --in takes the inputs from %s\n",
            r->generator_option, r->in_dir);
    return VX_EXIT_USAGE;
  }
  return VX_EXIT_OK;
}

#ifdef VX_INTERP_AVAILABLE

static double now_ms(void) {
  struct timespec ts;
  timespec_get(&ts, TIME_UTC);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static char *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return NULL;
  size_t cap = (size_t)VX_MAX_SOURCE_BYTES + 1;
  char *buf = malloc(cap);
  *len = buf ? fread(buf, 1, cap, f) : 0;
  bool bad = !buf || ferror(f) || *len == cap;
  fclose(f);
  if (bad) {
    free(buf);
    errno = buf ? EFBIG : ENOMEM;
    return NULL;
  }
  return buf;
}

static bool ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), k = strlen(suffix);
  return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* -D on a .vir input: params are already in the module's table. */
static bool apply_defines_to_ir(vx_module *m, const vx_options *o) {
  for (int d = 0; d < o->ndefines; d++) {
    int found = -1;
    for (int i = 0; i < m->nparams; i++)
      if (strcmp(m->params[i].name, o->defines[d].name) == 0)
        found = i;
    char *end;
    double v = strtod(o->defines[d].value, &end);
    if (found < 0 || *end || end == o->defines[d].value) {
      fprintf(stderr, "vortexc run: error: -D %s=%s: %s\n", o->defines[d].name, o->defines[d].value,
              found < 0 ? "the module has no such param" : "not a number");
      return false;
    }
    m->params[found].value = v;
  }
  return true;
}

static int run_passes(vx_module *m, const vx_options *o, vx_diag_engine *diag) {
#ifdef VX_PASSES_AVAILABLE
  vx_pass_options po;
  vx_pass_options_init(&po);
  bool internal = false;
  po.opt_level = o->opt_level;
  po.passes = o->passes;
  po.internal_error = &internal;
  po.verify_each = o->verify_each;
  if (!vx_pass_pipeline_run(m, &po, diag))
    return internal ? VX_EXIT_INTERNAL : VX_EXIT_INPUT;
#else
  (void)m;
  (void)diag;
  if (o->passes) {
    fprintf(stderr, "vortexc run: error: --passes needs the pass manager, which this build lacks\n");
    return VX_EXIT_USAGE;
  }
#endif
  return VX_EXIT_OK;
}

/* FILE -> verified (and optimised) IR module in `arena`. */
static int compile_module(const vx_options *o, vx_arena *arena, vx_diag_engine *diag, char **source,
                          vx_module **out) {
  size_t len = 0;
  *source = read_file(o->input, &len);
  if (!*source) {
    fprintf(stderr, "vortexc run: error: cannot read '%s': %s\n", o->input, strerror(errno));
    return VX_EXIT_INPUT;
  }
  if (!vx_parse_check_text(diag, o->input, *source, len) || !vx_diag_add_source(diag, o->input, *source, len))
    return VX_EXIT_INPUT;
  vx_module *m = NULL;
  if (ends_with(o->input, ".vir")) {
    m = vx_read_module(o->input, *source, len, arena, diag);
    if (m && !apply_defines_to_ir(m, o))
      return VX_EXIT_INPUT;
  } else {
    vx_algorithm *alg = vx_parse_source(arena, diag, o->input, *source, len);
    vx_sema_options so = {.page_size = o->geometry.page_size, .defines = o->defines, .ndefines = o->ndefines};
    if (alg && vx_sema_check(arena, alg, diag, &so)) {
      const vx_target *t = &o->geometry;
      vx_geometry geo = {.head_dim = t->head_dim, .group = t->group, .page_size = t->page_size,
                         .kv = t->mla ? VX_KV_MLA : VX_KV_GQA, .mla_latent = t->mla_latent,
                         .mla_rope = t->mla_rope, .kv_dtype = t->kv_dtype};
      m = vx_lower(alg, &geo, arena, diag);
    }
  }
  if (!m || !vx_verify(m, diag))
    return VX_EXIT_INPUT;
  int rc = run_passes(m, o, diag);
  *out = m;
  return rc;
}

/* Inputs: a run directory, or random ones in the module's geometry. */
static vx_paged_inputs *make_inputs(const vx_module *m, const run_options *r, vx_interp_error *err) {
  if (r->in_dir)
    return vx_run_dir_read_inputs(r->in_dir, err);
  const vx_geometry *g = &m->geo;
  if (g->kv == VX_KV_MLA && r->kv_heads_set && r->kv_heads != 1) {
    snprintf(err->message, sizeof err->message, "MLA has one latent KV head; drop --kv-heads %d", r->kv_heads);
    return NULL;
  }
  vx_random_spec spec = {
      .geo = {.batch = r->batch, .kv_heads = g->kv == VX_KV_MLA ? 1 : r->kv_heads, .group = g->group,
              .head_dim = g->head_dim, .page_size = g->page_size, .kv = g->kv, .mla_latent = g->mla_latent,
              .mla_rope = g->mla_rope, .kv_dtype = g->kv_dtype == VX_DTYPE_DEFAULT ? VX_DTYPE_BF16 : g->kv_dtype},
      .context = r->context, .ragged = r->ragged, .spare_pages = r->spare_pages, .seed = r->seed};
  vx_paged_inputs *in = vx_paged_inputs_random(&spec, err);
  if (in && r->scale > 0)
    in->scale = (float)r->scale;
  return in;
}

/* "0-3 7 9-12": ascending page ids with runs collapsed. */
static void print_pages(FILE *out, const int32_t *p, int n) {
  for (int i = 0; i < n;) {
    int j = i;
    while (j + 1 < n && p[j + 1] == p[j] + 1)
      j++;
    fprintf(out, j > i ? " %d-%d" : " %d", (int)p[i], (int)p[j]);
    i = j + 1;
  }
}

static void print_checksum(FILE *out, const char *name, const float *x, size_t n) {
  fprintf(out, "checksum %-20s fnv1a=%016" PRIx64 " sum=%.9g\n", name, vx_checksum_f32(x, n), vx_sum_f32(x, n));
}

static void print_result(FILE *out, const vx_module *m, const vx_paged_inputs *in, const vx_interp_result *r,
                         int steps) {
  const vx_paged_geometry *g = &in->geo;
  fprintf(out, "algorithm %s (%s): batch %d, kv heads %d, group %d, head dim %d, page size %d, kv %s, seed %" PRIu64
               ", steps %d\n",
          m->name, g->kv == VX_KV_MLA ? "MLA" : "GQA", g->batch, g->kv_heads, g->group, g->head_dim, g->page_size,
          g->kv_dtype == VX_DTYPE_F16 ? "f16" : g->kv_dtype == VX_DTYPE_F32 ? "f32" : "bf16", in->seed, steps);
  const vx_selection *s = r->selection;
  for (int row = 0; row < s->rows; row++) {
    int b = row / g->kv_heads;
    fprintf(out, "request %d kv_head %d: %d tokens, %d pages, selected %d:", b, row % g->kv_heads,
            (int)in->seq_lens[b], s->page_count[row], s->count[row]);
    print_pages(out, s->pages + (size_t)row * (size_t)s->max_pages, s->count[row]);
    fputc('\n', out);
  }
  char name[96];
  for (int f = 0; f < r->fields->nfields; f++) {
    snprintf(name, sizeof name, "field.%s", m->fields[f].name);
    print_checksum(out, name, r->fields->data[f],
                   (size_t)r->fields->num_phys_pages * (size_t)r->fields->kv_heads * (size_t)r->fields->elems[f]);
  }
  print_checksum(out, "scores", s->scores, (size_t)s->rows * (size_t)s->max_pages);
  for (int i = 0; i < r->state->nstates; i++) {
    snprintf(name, sizeof name, "state.%s", m->states[i].name);
    print_checksum(out, name, r->state->data[i], (size_t)r->state->rows * (size_t)r->state->max_pages);
  }
  print_checksum(out, "out_sparse", r->out_sparse, r->out_elems);
  print_checksum(out, "out_dense", r->out_dense, r->out_elems);
}

/* Geometry of a run directory's inputs overrides the compile geometry,
 * so the module is lowered for exactly those inputs. */
static void adopt_input_geometry(vx_options *o, const vx_paged_inputs *in) {
  o->geometry.head_dim = in->geo.head_dim;
  o->geometry.group = in->geo.group;
  o->geometry.page_size = in->geo.page_size;
  o->geometry.kv_dtype = in->geo.kv_dtype;
}

/* A run directory must fit the module (a .vir file fixes its geometry). */
static bool geometry_matches(const vx_module *m, const vx_paged_inputs *in, vx_interp_error *err) {
  const vx_geometry *g = &m->geo;
  const vx_paged_geometry *p = &in->geo;
  if (g->kv == p->kv && g->head_dim == p->head_dim && g->group == p->group && g->page_size == p->page_size)
    return true;
  snprintf(err->message, sizeof err->message,
           "the inputs are %s with head dim %d, group %d, page size %d, but the module is %s with head dim %d, "
           "group %d, page size %d",
           p->kv == VX_KV_MLA ? "MLA" : "GQA", p->head_dim, p->group, p->page_size, g->kv == VX_KV_MLA ? "MLA" : "GQA",
           g->head_dim, g->group, g->page_size);
  return false;
}

static int interpret(vx_options *o, const run_options *r) {
  vx_diag_options dopts = {.format = o->diag_format, .max_errors = o->max_errors, .out = stderr};
  vx_diag_engine *diag = vx_diag_new(&dopts);
  if (!diag)
    return VX_EXIT_INTERNAL;
  vx_arena arena;
  vx_arena_init(&arena);
  char *source = NULL;
  vx_module *m = NULL;
  vx_paged_inputs *in = NULL;
  vx_interp_result *res = NULL;
  vx_interp_error err = {""};
  int rc = VX_EXIT_OK;
  if (o->model_config && !vx_model_config_load(o, diag))
    rc = VX_EXIT_INPUT;
  if (rc == VX_EXIT_OK && r->in_dir) {
    in = vx_run_dir_read_inputs(r->in_dir, &err);
    if (in)
      adopt_input_geometry(o, in);
    else
      rc = VX_EXIT_INPUT;
  }
  if (rc == VX_EXIT_OK)
    rc = compile_module(o, &arena, diag, &source, &m);
  if (rc == VX_EXIT_OK && in && !geometry_matches(m, in, &err))
    rc = VX_EXIT_INPUT;
  double t0 = now_ms();
  if (rc == VX_EXIT_OK && !in && !(in = make_inputs(m, r, &err)))
    rc = VX_EXIT_INPUT;
  double ms_inputs = now_ms() - t0;
  if (rc == VX_EXIT_OK && !(res = vx_interp_run(m, in, r->steps, &err)))
    rc = VX_EXIT_INPUT;
  if (rc == VX_EXIT_OK && r->time)
    fprintf(stderr,
            "vortexc run: %s %.1f ms, cache_update %.1f ms, index (%d steps) %.1f ms, sparse attention %.1f ms, "
            "dense attention %.1f ms\n",
            r->in_dir ? "reading inputs" : "generating inputs", ms_inputs, res->ms_cache_update, r->steps,
            res->ms_index, res->ms_sparse, res->ms_dense);
  if (rc == VX_EXIT_OK)
    print_result(stdout, m, in, res, r->steps);
  if (rc == VX_EXIT_OK && r->out_dir && !vx_run_dir_write(r->out_dir, m, in, res, r->steps, o->input, &err))
    rc = VX_EXIT_INPUT;
  if (err.message[0])
    fprintf(stderr, "vortexc run: error: %s\n", err.message);
  vx_interp_result_free(res);
  vx_paged_inputs_free(in);
  free(source);
  vx_arena_free(&arena);
  vx_diag_free(diag);
  return rc;
}

#endif /* VX_INTERP_AVAILABLE */

int vx_run_command(int argc, char **argv) {
  run_options r;
  char **fwd = malloc((size_t)(argc + 1) * sizeof *fwd);
  char **joined = malloc((size_t)(argc + 1) * sizeof *joined);
  int nfwd = 0, njoined = 0;
  int rc = fwd && joined ? split_args(argc, argv, &r, fwd, &nfwd, joined, &njoined) : VX_EXIT_INTERNAL;
  vx_options opts;
  bool parse_called = false;
  if (rc == VX_EXIT_OK && r.help) {
    print_run_help(stdout);
  } else if (rc == VX_EXIT_OK) {
    parse_called = true; /* it initialises opts even when it fails */
    bool parsed = vx_options_parse(&opts, nfwd, fwd, stderr);
    if (!parsed)
      rc = VX_EXIT_USAGE;
#ifdef VX_INTERP_AVAILABLE
    else
      rc = interpret(&opts, &r);
#else
    else {
      fprintf(stderr, "vortexc run: error: this build has no interpreter (ir/interp.h)\n");
      rc = VX_EXIT_INPUT;
    }
#endif
  }
  if (parse_called)
    vx_options_free(&opts);
  for (int i = 0; i < njoined; i++)
    free(joined[i]);
  free(joined);
  free(fwd);
  return rc;
}

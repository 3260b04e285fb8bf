/* Generative differential fuzzing: random well-typed .vtx algorithms are
 * compiled through the real frontend, then run through the interpreter
 * unoptimised and after (a) -O2 and (b) a random sequence of passes; the
 * results must agree. Every failure prints the program seed and the
 * program text, so `VX_FUZZ_SEED=N test_pass_fuzz` reproduces it.
 * VX_FUZZ_COUNT overrides the number of programs (default 40);
 * VX_FUZZ_PRINT=1 prints every program. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "equiv_util.h"
#include "ir/print.h"
#include "ir_test_util.h"
#include "passes/pass_manager.h"

/* -------------------------------------------------------- generator */

typedef struct gen {
  uint64_t state;
  char *buf;
  size_t len, cap;
  int nfields;      /* f0..f{n-1}, each [dim] per page */
  bool has_state;   /* state `st` [page] */
  bool has_local;   /* local `t` [page, head] defined before the score */
  bool has_split;   /* field `fs` [sub:4, dim]: 4-token slice maxima */
  bool mla;         /* `kv mla(48, 16)`: no v */
} gen;

/* Shapes the generator produces (axis sets of the index stage). */
typedef enum gshape { S_SCALAR, S_P, S_PH, S_PHD, S_PD, S_HD, S_D } gshape;

static uint64_t rnd(gen *g) {
  g->state = g->state * 6364136223846793005ull + 1442695040888963407ull;
  return g->state >> 33;
}
static int pick(gen *g, int n) { return (int)(rnd(g) % (uint64_t)n); }

static void emit(gen *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void emit(gen *g, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (g->len + (size_t)n + 1 > g->cap) {
    g->cap = (g->len + (size_t)n + 1) * 2;
    g->buf = realloc(g->buf, g->cap);
  }
  va_start(ap, fmt);
  vsnprintf(g->buf + g->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  g->len += (size_t)n;
}

static void expr(gen *g, gshape s, int depth);

static void field(gen *g) { emit(g, "f%d", pick(g, g->nfields)); }

static void leaf(gen *g, gshape s) {
  switch (s) {
  case S_SCALAR:
    switch (pick(g, 4)) {
    case 0: emit(g, "%d", 1 + pick(g, 3)); break;
    case 1: emit(g, "0.%d", 1 + pick(g, 9)); break;
    case 2: emit(g, "alpha"); break;
    default: emit(g, "num_pages"); break;
    }
    break;
  case S_P:
    switch (pick(g, 6)) {
    case 0: emit(g, "page_age"); break;
    case 5:
      if (g->has_split) {
        emit(g, "max(max(sum(q * fs, dim), sub), head)");
        break;
      }
      emit(g, "page_index");
      break;
    case 1: emit(g, "page_index"); break;
    case 2: emit(g, "sum(mean(q, head) * "); field(g); emit(g, ", dim)"); break;
    case 3: emit(g, "max(sum(q * "); field(g); emit(g, ", dim), head)"); break;
    default: emit(g, g->has_state ? "st" : "page_age"); break;
    }
    break;
  case S_PH:
    if (g->has_local && pick(g, 2)) {
      emit(g, "t");
    } else {
      emit(g, "sum(q * ");
      field(g);
      emit(g, ", dim)");
    }
    break;
  case S_PHD: emit(g, "q * "); field(g); break;
  case S_PD: field(g); break;
  case S_HD: emit(g, "q"); break;
  case S_D: emit(g, "mean(q, head)"); break;
  }
}

static const char *const unary[] = {"abs", "relu", "sigmoid", "tanh", "silu", "exp"};
static const char *const reduce[] = {"sum", "mean", "max", "min", "norm"};

/* One reduction that produces shape s from a wider shape. */
static void reduction(gen *g, gshape s, int depth) {
  const char *r = reduce[pick(g, 5)];
  switch (s) {
  case S_SCALAR: emit(g, "%s(", r); expr(g, S_P, depth); emit(g, ", page)"); break;
  case S_P:
    if (pick(g, 2)) {
      emit(g, "%s(", r);
      expr(g, S_PH, depth);
      emit(g, ", head)");
    } else {
      emit(g, "%s(", r);
      expr(g, S_PD, depth);
      emit(g, ", dim)");
    }
    break;
  case S_PH: emit(g, "%s(", r); expr(g, S_PHD, depth); emit(g, ", dim)"); break;
  case S_PD: emit(g, "%s(", r); expr(g, S_PHD, depth); emit(g, ", head)"); break;
  case S_D: emit(g, "%s(", r); expr(g, S_HD, depth); emit(g, ", head)"); break;
  default: leaf(g, s); break;
  }
}

/* A product that broadcasts two narrower shapes into s. */
static void broadcast(gen *g, gshape s, int depth) {
  switch (s) {
  case S_PHD: expr(g, S_HD, depth); emit(g, " * "); expr(g, S_PD, depth); break;
  case S_PD: expr(g, S_D, depth); emit(g, " * "); expr(g, S_PD, depth); break;
  case S_PH: expr(g, S_PH, depth); emit(g, " + "); expr(g, S_P, depth); break;
  default: expr(g, s, depth); emit(g, " * "); expr(g, S_SCALAR, depth); break;
  }
}

static void expr(gen *g, gshape s, int depth) {
  if (depth <= 0) {
    leaf(g, s);
    return;
  }
  depth--;
  switch (pick(g, s == S_P ? 11 : 9)) {
  case 0: leaf(g, s); break;
  case 1: emit(g, "%s(", unary[pick(g, 6)]); expr(g, s, depth); emit(g, ")"); break;
  case 2:
    emit(g, "(");
    expr(g, s, depth);
    emit(g, " %c ", "+-*"[pick(g, 3)]);
    if (pick(g, 2))
      expr(g, s, depth);
    else
      expr(g, S_SCALAR, depth);
    emit(g, ")");
    break;
  case 3: emit(g, "%s(", pick(g, 2) ? "max" : "min"); expr(g, s, depth); emit(g, ", "); expr(g, s, depth); emit(g, ")"); break;
  case 4: reduction(g, s, depth); break;
  case 5: broadcast(g, s, depth); break;
  case 6: emit(g, "-"); leaf(g, s); break;
  case 7: /* division and log kept finite: denominators and arguments >= 1 */
    if (pick(g, 2)) {
      emit(g, "log(abs(");
      expr(g, s, depth);
      emit(g, ") + 1)");
    } else {
      emit(g, "(");
      expr(g, s, depth);
      emit(g, " / (abs(");
      expr(g, s, depth);
      emit(g, ") + 1))");
    }
    break;
  case 8: emit(g, "sqrt(abs("); expr(g, s, depth); emit(g, "))"); break;
  case 9: emit(g, "("); expr(g, s, depth); emit(g, " %s ", pick(g, 2) ? "<" : ">="); expr(g, s, depth); emit(g, ")"); break;
  case 10: {
    bool soft = pick(g, 3) != 0; /* normalize needs a non-negative input */
    emit(g, soft ? "softmax(" : "normalize(abs(");
    expr(g, S_P, depth);
    emit(g, soft ? ", page)" : ") + 1, page)");
    break;
  }
  default:
    emit(g, "where(");
    expr(g, S_P, depth);
    emit(g, " > ");
    expr(g, S_SCALAR, depth);
    emit(g, ", ");
    expr(g, S_P, depth);
    emit(g, ", ");
    expr(g, S_P, depth);
    emit(g, ")");
    break;
  }
}

static const char *const summaries[] = {"max(k, tok)", "min(k, tok)", "mean(k, tok)", "sum(k, tok) * 0.0625",
                                        "mean(v, tok)", "max(abs(k), tok)"};

/* Writes a random algorithm into g->buf. */
static void generate(gen *g, uint64_t seed) {
  g->state = seed * 0x9E3779B97F4A7C15ull + 1;
  g->len = 0;
  g->nfields = 1 + pick(g, 3);
  g->has_state = pick(g, 3) == 0;
  g->has_local = pick(g, 2) == 0;
  g->has_split = pick(g, 4) == 0;
  g->mla = pick(g, 5) == 0;
  emit(g, "algorithm fuzz_%llu {\n  param budget = %d;\n  param alpha: float = 0.%d;\n", (unsigned long long)seed,
       2 + pick(g, 5), 1 + pick(g, 9));
  if (g->mla)
    emit(g, "  kv mla(48, 16);\n");
  if (g->has_state)
    emit(g, "  state { st = 0; }\n");
  emit(g, "  cache {\n");
  for (int i = 0; i < g->nfields; i++)
    emit(g, "    f%d = %s;\n", i, summaries[pick(g, g->mla ? 4 : 6)]);
  if (g->has_split)
    emit(g, "    fs = %s(split(k, 4), tok);\n", pick(g, 2) ? "max" : "mean");
  emit(g, "  }\n  index {\n");
  if (g->has_local) {
    g->has_local = false; /* t may not refer to itself */
    emit(g, "    t = ");
    expr(g, S_PH, 2);
    emit(g, ";\n");
    g->has_local = true;
  }
  if (g->has_state) {
    emit(g, "    update st = 0.5 * st + ");
    expr(g, S_P, 1);
    emit(g, ";\n");
  }
  emit(g, "    score = ");
  expr(g, S_P, 3);
  emit(g, ";\n");
  switch (pick(g, 5)) {
  case 0: emit(g, "    select threshold(0.%d) keep first 1;\n", pick(g, 10)); break;
  case 1: emit(g, "    select mass(0.%d) keep first 1, last 1;\n", 5 + pick(g, 5)); break;
  case 2: emit(g, "    select top(max(budget, num_pages / 4)) keep first %d, last %d;\n", pick(g, 2), pick(g, 3)); break;
  default: emit(g, "    select top(budget) keep first %d, last %d;\n", pick(g, 2), pick(g, 3)); break;
  }
  emit(g, "  }\n}\n");
}

/* ------------------------------------------------------------ tests */

static uint64_t env_u64(const char *name, uint64_t dflt) {
  const char *v = getenv(name);
  return v && *v ? strtoull(v, NULL, 10) : dflt;
}

/* A random order of random passes, always starting with verify. */
static void random_pass_list(gen *g, char *buf, size_t n) {
  snprintf(buf, n, "verify");
  int count = 1 + pick(g, 8);
  for (int i = 0; i < count; i++) {
    size_t len = strlen(buf);
    snprintf(buf + len, n - len, ",%s", vx_pass_name(pick(g, vx_pass_count())));
  }
}

static void check_program(uint64_t seed) {
  gen g = {0};
  generate(&g, seed);
  if (getenv("VX_FUZZ_PRINT"))
    printf("// seed %llu\n%s", (unsigned long long)seed, g.buf);
  t_diag d;
  t_diag_open(&d);
  vx_arena a;
  vx_arena_init(&a);
  vx_geometry geo = t_default_geometry();
  vx_module *ref = t_compile_vtx_text("fuzz.vtx", g.buf, &geo, &a, d.engine);
  if (!ref)
    fail_msg("seed %llu: generated program does not compile (generator bug):\n%s\n%s", (unsigned long long)seed,
             g.buf, t_diag_text(&d));
  char passes[512];
  random_pass_list(&g, passes, sizeof passes);
  for (int variant = 0; variant < 2; variant++) {
    vx_module *m = vx_module_clone(ref, &a);
    vx_pass_options o;
    vx_pass_options_init(&o);
    o.verify_each = true;
    o.roundtrip_each = true;
    o.passes = variant ? passes : NULL;
    if (!vx_pass_pipeline_run(m, &o, d.engine))
      fail_msg("seed %llu: %s fails:\n%s\n%s", (unsigned long long)seed, variant ? passes : "-O2", g.buf,
               t_diag_text(&d));
    t_equiv_spec spec = {.batch = 2, .context = 160, .kv_heads = 2, .seed = seed};
    char why[512];
    if (!t_equivalent(ref, m, &spec, why, sizeof why)) {
      char *after = vx_print_module_string(m, NULL);
      fail_msg("seed %llu: %s changes the result: %s\n--- program\n%s--- after\n%s", (unsigned long long)seed,
               variant ? passes : "-O2", why, g.buf, after);
    }
  }
  vx_arena_free(&a);
  t_diag_close(&d);
  free(g.buf);
}

static void test_random_algorithms(void **state) {
  (void)state;
  uint64_t one = env_u64("VX_FUZZ_SEED", 0);
  if (one) {
    check_program(one);
    return;
  }
  uint64_t count = env_u64("VX_FUZZ_COUNT", 40);
  for (uint64_t seed = 1; seed <= count; seed++)
    check_program(seed);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_random_algorithms),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

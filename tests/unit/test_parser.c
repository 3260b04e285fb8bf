/* Parser: AST structure and spans, precedence, error recovery (several
 * errors per run, capped by max_errors), robustness on every prefix of a
 * valid file. */
#include "test_util.h"

static const char *const quest_src =
    "// Quest\n"
    "algorithm quest {\n"
    "  param budget = 64 in [1, 65536];\n"
    "  param decay: float = 0.9;\n"
    "  kv gqa;\n"
    "  dense layers 0, 1;\n"
    "  state { avg = 0; }\n"
    "  cache { kmax = max(k, tok); kmin: bf16 = min(k, tok); }\n"
    "  index {\n"
    "    s = max(sum(max(q * kmax, q * kmin), dim), head);\n"
    "    update avg = 0.9 * avg + 0.1 * s;\n"
    "    score = s;\n"
    "    select top(budget) keep first 1, last 2;\n"
    "  }\n"
    "}\n";

static void test_structure(void **state) {
  (void)state;
  vx_test_compile t;
  vx_test_compile_src(&t, quest_src, NULL, VX_DIAG_TEXT);
  assert_int_equal(t.errors, 0);
  vx_algorithm *a = t.alg;
  assert_non_null(a);
  assert_string_equal(a->name, "quest");
  assert_int_equal(a->span.line, 2);
  assert_int_equal(a->nparams, 2);
  assert_true(a->params[0]->has_range && a->params[0]->lo == 1 && a->params[0]->hi == 65536);
  assert_int_equal(a->params[0]->type, VX_TYPE_INT);
  assert_int_equal(a->params[1]->type, VX_TYPE_FLOAT);
  assert_int_equal(a->kv, VX_KV_GQA);
  assert_int_equal(a->ndense_layers, 2);
  assert_int_equal(a->dense_layers[1], 1);
  assert_int_equal(a->nstates, 1);
  assert_int_equal(a->ncache, 2);
  assert_int_equal(a->cache[0]->dtype, VX_DTYPE_DEFAULT);
  assert_int_equal(a->cache[1]->dtype, VX_DTYPE_BF16);
  assert_int_equal(a->nindex, 4);
  assert_int_equal(a->index[1]->kind, VX_STMT_UPDATE);
  const vx_stmt *sel = a->index[3];
  assert_int_equal(sel->kind, VX_STMT_SELECT);
  assert_int_equal(sel->select, VX_SELECT_TOP);
  assert_int_equal(sel->keep_first, 1);
  assert_int_equal(sel->keep_last, 2);
  assert_ptr_equal(a->select, sel);
  assert_ptr_equal(a->score, a->index[2]);
  /* span of `score = s;`: line 12, columns 5..14 */
  assert_int_equal(a->index[2]->span.line, 12);
  assert_int_equal(a->index[2]->span.col, 5);
  assert_int_equal(a->index[2]->span.end_col, 14);
  vx_test_free(&t);
}

static void test_precedence(void **state) {
  (void)state;
  vx_test_compile t;
  vx_test_compile_src(&t,
                      "algorithm p { param a = 1; param b = 2; param c = 3; cache { }\n"
                      "index { x = a + b * c; y = -a * b; z = a - b - c; score = page_index; select top(1); } }",
                      NULL, VX_DIAG_TEXT);
  assert_non_null(t.alg);
  const vx_expr *x = t.alg->index[0]->value;
  assert_int_equal(x->binop, VX_BINOP_ADD);
  assert_int_equal(x->rhs->binop, VX_BINOP_MUL);
  assert_true(x->is_const && x->const_value == 7);
  const vx_expr *y = t.alg->index[1]->value;
  assert_int_equal(y->kind, VX_EXPR_BINARY);
  assert_int_equal(y->lhs->kind, VX_EXPR_NEG);
  const vx_expr *z = t.alg->index[2]->value; /* left associative: (a - b) - c */
  assert_int_equal(z->lhs->kind, VX_EXPR_BINARY);
  assert_true(z->const_value == -4);
  vx_test_free(&t);
}

static void test_recovery_reports_several(void **state) {
  (void)state;
  vx_test_compile t;
  vx_test_compile_src(&t,
                      "algorithm r {\n"
                      "  cache { a = ; b = mean(k, tok); }\n"
                      "  index {\n"
                      "    x = 1 +;\n"
                      "    score = ) ;\n"
                      "    select top(1);\n"
                      "  }\n"
                      "}\n",
                      NULL, VX_DIAG_TEXT);
  assert_null(t.alg);
  assert_int_equal(t.errors, 3);
  assert_diag_contains(&t, "t.vtx:2:15: error: unexpected ';'");
  assert_diag_contains(&t, "t.vtx:4:12: error: unexpected ';'");
  assert_diag_contains(&t, "t.vtx:5:13: error: unexpected ')'");
  vx_test_free(&t);
}

/* A missing ';' before the next block's keyword resumes at that keyword,
 * so the block is still parsed (its own error is found, nothing cascades). */
static void test_recovery_at_item_keywords(void **state) {
  (void)state;
  vx_test_compile t;
  vx_test_compile_src(&t,
                      "algorithm r {\n"
                      "  param budget = 8\n"
                      "  cache { a = mean(k, tok) b = a * 2; }\n"
                      "  index {\n"
                      "    score = max(sum(q * a, dim), head)\n"
                      "    select top(budget);\n"
                      "  }\n"
                      "}\n",
                      NULL, VX_DIAG_TEXT);
  assert_int_equal(t.errors, 3);
  assert_diag_contains(&t, "t.vtx:2:19: error: expected ';' before 'cache'");
  assert_diag_contains(&t, "t.vtx:3:28: error: unexpected identifier 'b', expecting ';'");
  /* a ';' missing at a line's end: reported after that line's last token */
  assert_diag_contains(&t, "t.vtx:5:39: error: expected ';' before 'select'");
  vx_test_free(&t);
}

/* A statement without ';' before its block's '}' closes the block, so
 * the next block is parsed normally. */
static void test_recovery_at_block_end(void **state) {
  (void)state;
  vx_test_compile t;
  vx_test_compile_src(&t,
                      "algorithm x {\n"
                      "  cache { c = mean(k, tok) }\n"
                      "  index { score = page_index; select top(4) }\n"
                      "}\n",
                      NULL, VX_DIAG_TEXT);
  assert_int_equal(t.errors, 2);
  assert_diag_contains(&t, "t.vtx:2:28: error: unexpected '}', expecting ';'");
  assert_diag_contains(&t, "t.vtx:3:45: error: unexpected '}', expecting 'keep' or ';'");
  vx_test_free(&t);
}

static void test_eof_points_at_open_brace_and_keyword_hint(void **state) {
  (void)state;
  vx_test_compile t;
  vx_test_compile_src(&t, "algorithm r {\n  cahce { }\n", NULL, VX_DIAG_TEXT);
  assert_int_equal(t.errors, 1);
  assert_diag_contains(&t, "t.vtx:2:3: error: unexpected identifier 'cahce'");
  assert_diag_contains(&t, "hint: did you mean 'cache'?");
  vx_test_free(&t);
  vx_test_compile_src(&t, "algorithm r {\n  cache { c = mean(k, tok);\n\n", NULL, VX_DIAG_TEXT);
  assert_diag_contains(&t, "t.vtx:2:28: error: unexpected end of file, expecting identifier or '}'");
  assert_diag_contains(&t, "t.vtx:2:9: note: to match this '{'");
  vx_test_free(&t);
}

static void test_max_errors_cap(void **state) {
  (void)state;
  char src[4096] = "algorithm m { cache { }\n index {\n";
  for (int i = 0; i < 40; i++)
    strcat(src, "  x = ;\n");
  strcat(src, "} }\n");
  vx_arena arena;
  vx_arena_init(&arena);
  char *buf = NULL;
  size_t len = 0;
  FILE *mem = open_memstream(&buf, &len);
  vx_diag_options o = {.format = VX_DIAG_TEXT, .max_errors = 5, .out = mem};
  vx_diag_engine *d = vx_diag_new(&o);
  assert_null(vx_parse_source(&arena, d, "m.vtx", src, strlen(src)));
  assert_int_equal(vx_diag_error_count(d), 5);
  vx_diag_free(d); /* the notice comes out when the engine is done */
  fclose(mem);
  assert_non_null(strstr(buf, "too many errors emitted, stopping now (--max-errors=5)"));
  free(buf);
  vx_arena_free(&arena);
}

/* Every prefix of a valid file either parses (only the whole file) or
 * reports at least one error; never crashes (ASan build checks memory). */
static void test_every_prefix(void **state) {
  (void)state;
  size_t n = strlen(quest_src);
  for (size_t cut = 1; cut < n; cut++) {
    char *prefix = strndup(quest_src, cut);
    vx_test_compile t;
    vx_test_compile_src(&t, prefix, NULL, VX_DIAG_TEXT);
    bool whole_tail = strspn(quest_src + cut, " \n") == n - cut;
    if (!whole_tail && t.errors == 0)
      fail_msg("prefix of %zu bytes accepted without an error", cut);
    vx_test_free(&t);
    free(prefix);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_structure),
      cmocka_unit_test(test_precedence),
      cmocka_unit_test(test_recovery_reports_several),
      cmocka_unit_test(test_recovery_at_item_keywords),
      cmocka_unit_test(test_recovery_at_block_end),
      cmocka_unit_test(test_eof_points_at_open_brace_and_keyword_hint),
      cmocka_unit_test(test_max_errors_cap),
      cmocka_unit_test(test_every_prefix),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

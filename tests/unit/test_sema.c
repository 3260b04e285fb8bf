/* Checker: references, shapes (named axes, union broadcasting, split
 * widths), constants, -D overrides, stage rules, select/score rules. */
#include "test_util.h"

#define SRC_GQA(cache, index) "algorithm s { param budget = 8 in [1, 100]; param f: float = 0.5;\n" \
  "state { st = 0; }\ncache { " cache " }\nindex { " index " }\n}\n"

/* (The memory stream points into `t`, so it is filled in place.) */
static void check(vx_test_compile *t, const char *src) { vx_test_compile_src(t, src, NULL, VX_DIAG_TEXT); }

static void test_refs_and_shapes(void **state) {
  (void)state;
  vx_test_compile t;
  check(&t, SRC_GQA("c = mean(k, tok); s4 = max(split(k, 4), tok);",
                                    "a = q * c; b = sum(a, dim); m = max(b, head); n = num_pages / 16;\n"
                                    "p = max(max(sum(q * s4, dim), sub), head); update st = m;\n"
                                    "score = m + page_age * f + st; select top(max(budget, n));"));
  assert_int_equal(t.errors, 0);
  vx_algorithm *a = t.alg;
  char buf[64];
  const vx_expr *c = a->cache[0]->value;
  assert_int_equal(c->bkind, VX_BK_REDUCE);
  assert_int_equal(c->args[0]->ref, VX_REF_INPUT_K);
  assert_string_equal(vx_shape_format(c->shape, buf, sizeof buf), "[dim]");
  const vx_expr *s4 = a->cache[1]->value;
  assert_string_equal(vx_shape_format(s4->shape, buf, sizeof buf), "[sub, dim]");
  assert_int_equal(s4->shape.split, 4);
  const vx_expr *qc = a->index[0]->value;
  assert_int_equal(qc->lhs->ref, VX_REF_INPUT_Q);
  assert_int_equal(qc->rhs->ref, VX_REF_FIELD);
  assert_ptr_equal(qc->rhs->def, a->cache[0]);
  assert_string_equal(vx_shape_format(qc->shape, buf, sizeof buf), "[page, head, dim]");
  assert_string_equal(vx_shape_format(a->index[2]->value->shape, buf, sizeof buf), "[page]");
  const vx_expr *n = a->index[3]->value;
  assert_int_equal(n->lhs->ref, VX_REF_NUM_PAGES);
  assert_int_equal(n->shape.axes, 0);
  assert_false(n->is_const);
  assert_int_equal(a->index[4]->value->shape.split, 0); /* split gone once sub and tok are reduced */
  assert_ptr_equal(a->index[5]->target, a->states[0]);
  const vx_expr *score = a->score->value;
  assert_int_equal(score->rhs->ref, VX_REF_STATE);
  assert_int_equal(a->select->value->bkind, VX_BK_BINARY);
  assert_int_equal(a->select->value->args[0]->ref, VX_REF_PARAM);
  vx_test_free(&t);
}

static void test_constants_and_defines(void **state) {
  (void)state;
  const char *src = SRC_GQA("c = mean(k, tok) * (f * 2);", "score = sum(mean(q, head) * c, dim); select top(budget * 2 - 1);");
  vx_define defs[] = {{"budget", "40"}, {"f", "0.25"}};
  vx_sema_options so = {.page_size = 16, .defines = defs, .ndefines = 2};
  vx_test_compile t;
  vx_test_compile_src(&t, src, &so, VX_DIAG_TEXT);
  assert_int_equal(t.errors, 0);
  assert_true(t.alg->params[0]->overridden);
  assert_true(t.alg->select->value->is_const);
  assert_true(t.alg->select->value->const_value == 79);
  assert_true(t.alg->cache[0]->value->rhs->const_value == 0.5);
  vx_test_free(&t);

  vx_define bad_int[] = {{"budget", "2.5"}};
  so.defines = bad_int;
  so.ndefines = 1;
  vx_test_compile_src(&t, src, &so, VX_DIAG_TEXT);
  assert_null(t.alg);
  assert_diag_contains(&t, "-D budget=2.5: param 'budget' is an int");
  vx_test_free(&t);

  vx_define out_of_range[] = {{"budget", "500"}};
  so.defines = out_of_range;
  vx_test_compile_src(&t, src, &so, VX_DIAG_TEXT);
  assert_diag_contains(&t, "t.vtx:1:21: error: -D budget=500 is out of range [1, 100]");
  vx_test_free(&t);

  vx_define unknown[] = {{"bugdet", "5"}};
  so.defines = unknown;
  vx_test_compile_src(&t, src, &so, VX_DIAG_TEXT);
  assert_diag_contains(&t, "vortexc: error: -D bugdet=5: algorithm 's' has no param 'bugdet'; did you mean 'budget'?");
  vx_test_free(&t);
}

static void test_axis_errors_name_both_shapes(void **state) {
  (void)state;
  vx_test_compile t;
  check(&t, SRC_GQA("c = max(split(k, 4) * k, tok);", "score = page_index; select top(1);"));
  assert_diag_contains(&t, "cannot multiply [sub, tok, dim] and [tok, dim]: 'tok' has different widths");
  vx_test_free(&t);
  check(&t, SRC_GQA("c = mean(k, tok);", "score = sum(mean(q, head) * c, dim) + sum(q, tok); select top(1);"));
  assert_diag_contains(&t, "cannot reduce [head, dim] over 'tok'");
  vx_test_free(&t);
  check(&t, SRC_GQA("c = mean(k, tok);", "score = softmax(c, head); select top(1);"));
  assert_diag_contains(&t, "cannot normalise [page, dim] over 'head'");
  vx_test_free(&t);
}

static void test_several_sema_errors_per_run(void **state) {
  (void)state;
  vx_test_compile t;
  check(&t, SRC_GQA("c = mean(k, tok) + q; d = c2;", "x = k; y = expp(1); score = page_index; select top(1);"));
  assert_int_equal(t.errors, 4);
  assert_diag_contains(&t, "'q' is not available in the cache stage");
  assert_diag_contains(&t, "use of undefined name 'c2'");
  assert_diag_contains(&t, "hint: did you mean 'c'?");
  assert_diag_contains(&t, "'k' is not available in the index stage");
  assert_diag_contains(&t, "unknown function 'expp'");
  assert_diag_contains(&t, "hint: did you mean 'exp'?");
  vx_test_free(&t);
}

static void test_poisoned_names_do_not_cascade(void **state) {
  (void)state;
  /* `a` fails once; its three uses stay quiet. */
  vx_test_compile t;
  check(&t, SRC_GQA("c = mean(k, tok);", "a = nope; b = a * 2; score = a + b + page_index; select top(1);"));
  assert_int_equal(t.errors, 1);
  vx_test_free(&t);
}

static void test_select_rules(void **state) {
  (void)state;
  vx_test_compile t;
  check(&t, SRC_GQA("c = mean(k, tok);", "score = sum(mean(q, head) * c, dim); select threshold(f) keep last 3;"));
  assert_int_equal(t.errors, 0);
  assert_int_equal(t.alg->select->select, VX_SELECT_THRESHOLD);
  assert_int_equal(t.alg->select->keep_first, 0);
  assert_int_equal(t.alg->select->keep_last, 3);
  vx_test_free(&t);
  check(&t, SRC_GQA("c = mean(k, tok);", "score = sum(mean(q, head) * c, dim); select mass(0);"));
  assert_diag_contains(&t, "mass() must be in (0, 1], got 0");
  vx_test_free(&t);
  check(&t, SRC_GQA("c = mean(k, tok);", "score = sum(mean(q, head) * c, dim); select top(page_index);"));
  assert_diag_contains(&t, "the operand of top() must be a scalar [], got [page]");
  vx_test_free(&t);
}

static void test_unused_field_warns(void **state) {
  (void)state;
  vx_test_compile t;
  check(&t, SRC_GQA("c = mean(k, tok); d = max(k, tok); e = d * 2;", "score = sum(mean(q, head) * c, dim); select top(1);"));
  assert_non_null(t.alg); /* a warning, not an error */
  assert_int_equal(t.errors, 0);
  assert_diag_contains(&t, "t.vtx:3:27: warning: cache field 'd' is never read by the index");
  assert_diag_contains(&t, "warning: cache field 'e' is never read by the index");
  assert_null(strstr(t.out, "field 'c'"));
  vx_test_free(&t);
}

static void test_mla(void **state) {
  (void)state;
  vx_test_compile t;
  check(&t, "algorithm m { kv mla(512, 64); cache { c = mean(k, tok); } index { score = "
                            "max(sum(q * c, dim), head); select top(4); } }");
  assert_int_equal(t.errors, 0);
  assert_int_equal(t.alg->kv, VX_KV_MLA);
  assert_int_equal(t.alg->mla_latent, 512);
  assert_int_equal(t.alg->mla_rope, 64);
  vx_test_free(&t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_refs_and_shapes),
      cmocka_unit_test(test_constants_and_defines),
      cmocka_unit_test(test_axis_errors_name_both_shapes),
      cmocka_unit_test(test_several_sema_errors_per_run),
      cmocka_unit_test(test_poisoned_names_do_not_cascade),
      cmocka_unit_test(test_select_rules),
      cmocka_unit_test(test_unused_field_warns),
      cmocka_unit_test(test_mla),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

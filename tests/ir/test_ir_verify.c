/* Verifier negative cases: a valid module (tests/ir/vir/quest.vir) is
 * broken by hand in one way per case, and the verifier must reject it
 * with a message naming the function, the op and the value. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "ir/verify.h"
#include "ir_test_util.h"

typedef struct fixture {
  vx_arena arena;
  vx_module *m;
  t_diag diag;
} fixture;

static int setup(void **state) {
  static fixture f;
  memset(&f, 0, sizeof f);
  vx_arena_init(&f.arena);
  t_diag_open(&f.diag);
  char path[4096];
  snprintf(path, sizeof path, "%s/tests/ir/vir/quest.vir", VX_SOURCE_DIR);
  f.m = t_read_vir(path, &f.arena, f.diag.engine);
  assert_non_null(f.m);
  assert_true(vx_verify(f.m, f.diag.engine));
  *state = &f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  vx_arena_free(&f->arena);
  t_diag_close(&f->diag);
  return 0;
}

/* The n-th op (0-based) of a function. */
static vx_op *nth(vx_func *fn, int n) {
  vx_op *op = fn->first;
  while (op && n--)
    op = op->next;
  assert_non_null(op);
  return op;
}

static void expect_rejected(fixture *f, const char *want) {
  assert_false(vx_verify(f->m, f->diag.engine));
  const char *out = t_diag_text(&f->diag);
  if (!strstr(out, want))
    fail_msg("expected a verifier message containing \"%s\", got:\n%s", want, out);
}

/* quest.vir index: %0 q, %1 kmax, %2 mul, %3 q, %4 kmin, %5 mul, %6 max,
 * %7 sum dim, %8 max head, %9 param, select. */

static void test_use_before_def(void **state) {
  fixture *f = *state;
  vx_op *mul = nth(&f->m->index, 2);
  vx_op_set_operand(mul, 0, nth(&f->m->index, 3)); /* %3 is defined after %2 */
  expect_rejected(f, "verifier: @index: %2 = mul %3, %1: operand 0 (%3) is used before it is defined");
}

static void test_missing_select(void **state) {
  fixture *f = *state;
  vx_op_erase(f->m->index.last);
  expect_rejected(f, "verifier: @index: expected exactly one select.* op, found 0");
}

static void test_score_not_per_page(void **state) {
  fixture *f = *state;
  vx_op_set_operand(f->m->index.last, 0, nth(&f->m->index, 7)); /* [page, head] */
  expect_rejected(f, "score %7 has shape [page, head] but must be [page]");
}

static void test_budget_not_scalar(void **state) {
  fixture *f = *state;
  vx_op_set_operand(f->m->index.last, 1, nth(&f->m->index, 8));
  expect_rejected(f, "budget %8 has shape [page] but must be []");
}

static void test_field_index_out_of_range(void **state) {
  fixture *f = *state;
  nth(&f->m->index, 1)->index = 7;
  expect_rejected(f, "verifier: @index: %1 = load.field: field index 7 out of range (module has 2)");
}

static void test_op_illegal_in_function(void **state) {
  fixture *f = *state;
  vx_op *k = vx_build_op(&f->m->index, f->m->index.first, VX_OP_INPUT_K, NULL,
                         (vx_shape){VX_AXIS_BIT(VX_AXIS_TOK) | VX_AXIS_BIT(VX_AXIS_DIM), 0});
  assert_non_null(k);
  expect_rejected(f, "'input.k' is not allowed in @index");
}

static void test_wrong_result_shape(void **state) {
  fixture *f = *state;
  nth(&f->m->index, 7)->shape.axes = VX_AXIS_BIT(VX_AXIS_PAGE);
  expect_rejected(f, "%7 = reduce.sum %6: result shape is [page] but re-inference gives [page, head]");
}

static void test_store_field_shape(void **state) {
  fixture *f = *state;
  vx_op *store = nth(&f->m->cache_update, 2);
  vx_op_set_operand(store, 0, f->m->cache_update.first); /* [tok, dim] into a [dim] field */
  expect_rejected(f, "stores %0 of shape [tok, dim] into field @kmax of shape [dim]");
}

static void test_field_stored_twice(void **state) {
  fixture *f = *state;
  nth(&f->m->cache_update, 5)->index = 0; /* the kmin store now writes kmax */
  expect_rejected(f, "field @kmax is stored 2 times");
}

static void test_broken_use_list(void **state) {
  fixture *f = *state;
  vx_op *q = f->m->index.first;
  q->uses = NULL; /* forget the use by %2 */
  expect_rejected(f, "use lists hold");
}

static void test_mla_geometry(void **state) {
  fixture *f = *state;
  f->m->geo.kv = VX_KV_MLA;
  f->m->geo.mla_latent = 512;
  f->m->geo.mla_rope = 64;
  expect_rejected(f, "MLA head_dim 128 must equal dc + dr = 576");
}

static void test_sink_used_as_value(void **state) {
  fixture *f = *state;
  vx_op *store = nth(&f->m->cache_update, 2);
  vx_op *red = nth(&f->m->cache_update, 4);
  vx_op_set_operand(red, 0, store);
  expect_rejected(f, "is a store.field, which has no value");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_use_before_def, setup, teardown),
      cmocka_unit_test_setup_teardown(test_missing_select, setup, teardown),
      cmocka_unit_test_setup_teardown(test_score_not_per_page, setup, teardown),
      cmocka_unit_test_setup_teardown(test_budget_not_scalar, setup, teardown),
      cmocka_unit_test_setup_teardown(test_field_index_out_of_range, setup, teardown),
      cmocka_unit_test_setup_teardown(test_op_illegal_in_function, setup, teardown),
      cmocka_unit_test_setup_teardown(test_wrong_result_shape, setup, teardown),
      cmocka_unit_test_setup_teardown(test_store_field_shape, setup, teardown),
      cmocka_unit_test_setup_teardown(test_field_stored_twice, setup, teardown),
      cmocka_unit_test_setup_teardown(test_broken_use_list, setup, teardown),
      cmocka_unit_test_setup_teardown(test_mla_geometry, setup, teardown),
      cmocka_unit_test_setup_teardown(test_sink_used_as_value, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

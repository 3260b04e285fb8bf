/* Builder and use lists: set_operand, RAUW and erase keep the use lists
 * consistent (checked by direct walks and by the verifier); shapes are
 * inferred by axis name; clone prints identically. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "ir/print.h"
#include "ir/verify.h"
#include "ir_test_util.h"

#define AX(a) VX_AXIS_BIT(VX_AXIS_##a)

typedef struct fixture {
  vx_arena arena;
  vx_module *m;
  vx_op *q, *c, *prod, *dot, *score, *budget, *select;
  t_diag diag;
} fixture;

/* A minimal valid module: c = mean(k, tok); score = max(sum(q*c, dim), head). */
static int setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  vx_arena_init(&f->arena);
  t_diag_open(&f->diag);
  vx_geometry geo = t_default_geometry();
  vx_module *m = f->m = vx_module_new(&f->arena, "t", &geo);
  int field = vx_module_add_field(m, "c", (vx_shape){AX(DIM), 0}, VX_DTYPE_BF16);
  vx_func *cu = &m->cache_update, *ix = &m->index;
  vx_op *k = vx_build_op(cu, NULL, VX_OP_INPUT_K, NULL, (vx_shape){AX(TOK) | AX(DIM), 0});
  vx_op *mean = vx_build_op(cu, NULL, VX_OP_REDUCE_MEAN, &k, (vx_shape){0, 0});
  mean->axis = VX_AXIS_TOK;
  assert_true(vx_op_infer_shape(mean));
  vx_op *st = vx_build_op(cu, NULL, VX_OP_STORE_FIELD, &mean, (vx_shape){0, 0});
  st->index = field;
  f->q = vx_build_op(ix, NULL, VX_OP_INPUT_Q, NULL, (vx_shape){AX(HEAD) | AX(DIM), 0});
  f->c = vx_build_op(ix, NULL, VX_OP_LOAD_FIELD, NULL, (vx_shape){AX(PAGE) | AX(DIM), 0});
  f->c->index = field;
  vx_op *qc[2] = {f->q, f->c};
  f->prod = vx_build_op(ix, NULL, VX_OP_MUL, qc, (vx_shape){0, 0});
  f->dot = vx_build_op(ix, NULL, VX_OP_REDUCE_SUM, &f->prod, (vx_shape){0, 0});
  f->dot->axis = VX_AXIS_DIM;
  assert_true(vx_op_infer_shape(f->dot));
  f->score = vx_build_op(ix, NULL, VX_OP_REDUCE_MAX, &f->dot, (vx_shape){0, 0});
  f->score->axis = VX_AXIS_HEAD;
  assert_true(vx_op_infer_shape(f->score));
  f->budget = vx_build_op(ix, NULL, VX_OP_CONST, NULL, (vx_shape){0, 0});
  f->budget->number = 4;
  vx_op *sb[2] = {f->score, f->budget};
  f->select = vx_build_op(ix, NULL, VX_OP_SELECT_TOP, sb, (vx_shape){0, 0});
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  vx_arena_free(&f->arena);
  t_diag_close(&f->diag);
  free(f);
  return 0;
}

static bool in_use_list(const vx_op *value, const vx_op *user, int operand) {
  for (const vx_use *u = value->uses; u; u = u->next)
    if (u->user == user && u->operand == operand)
      return true;
  return false;
}

static void test_shapes_by_axis_name(void **state) {
  fixture *f = *state;
  assert_int_equal(f->prod->shape.axes, AX(PAGE) | AX(HEAD) | AX(DIM));
  assert_int_equal(f->prod->space, VX_SPACE_PAGE);
  assert_int_equal(f->q->space, VX_SPACE_QUERY);
  assert_int_equal(f->score->shape.axes, AX(PAGE));
  assert_true(vx_verify(f->m, f->diag.engine));
}

static void test_use_lists_follow_set_operand(void **state) {
  fixture *f = *state;
  assert_int_equal(vx_op_use_count(f->q), 1);
  assert_true(in_use_list(f->q, f->prod, 0));
  vx_op_set_operand(f->prod, 1, f->q); /* q * q */
  assert_int_equal(vx_op_use_count(f->q), 2);
  assert_false(vx_op_has_uses(f->c));
  assert_true(in_use_list(f->q, f->prod, 1));
  vx_op_set_operand(f->prod, 1, f->c);
  assert_int_equal(vx_op_use_count(f->q), 1);
  assert_true(in_use_list(f->c, f->prod, 1));
  assert_true(vx_verify(f->m, f->diag.engine));
}

static void test_rauw_and_erase(void **state) {
  fixture *f = *state;
  /* Insert exp(score) before the select and make the select use it. */
  vx_op *e = vx_build_op(&f->m->index, f->select, VX_OP_EXP, &f->score, (vx_shape){0, 0});
  assert_ptr_equal(e->next, f->select);
  vx_op_set_operand(f->select, 0, e);
  assert_true(vx_verify(f->m, f->diag.engine));
  /* RAUW exp -> score, then erase exp: lists must be exactly as before. */
  vx_op_replace_all_uses(e, f->score);
  assert_false(vx_op_has_uses(e));
  assert_true(in_use_list(f->score, f->select, 0));
  assert_int_equal(vx_op_use_count(f->score), 2); /* the select and exp itself */
  vx_op_erase(e);
  assert_int_equal(vx_op_use_count(f->score), 1);
  assert_ptr_equal(f->select->prev, f->budget);
  assert_true(vx_verify(f->m, f->diag.engine));
}

static void test_clone_prints_identically(void **state) {
  fixture *f = *state;
  vx_arena other;
  vx_arena_init(&other);
  vx_module *c = vx_module_clone(f->m, &other);
  char *a = vx_print_module_string(f->m, NULL), *b = vx_print_module_string(c, NULL);
  assert_string_equal(a, b);
  assert_true(vx_verify(c, f->diag.engine));
  free(a);
  free(b);
  vx_arena_free(&other);
}

static void test_split_and_incompatible_shapes(void **state) {
  fixture *f = *state;
  vx_func *cu = &f->m->cache_update;
  vx_op *k = cu->first;
  vx_op *sp = vx_build_op(cu, NULL, VX_OP_SPLIT, &k, (vx_shape){0, 0});
  sp->split = 4;
  assert_true(vx_op_infer_shape(sp));
  assert_int_equal(sp->shape.axes, AX(SUB) | AX(TOK) | AX(DIM));
  assert_int_equal(sp->shape.split, 4);
  /* a [sub:4, tok] value cannot be combined with a whole-page [tok] one */
  vx_op *both[2] = {sp, k};
  vx_op *bad = vx_build_op(cu, NULL, VX_OP_ADD, both, (vx_shape){0, 0});
  assert_false(vx_op_infer_shape(bad));
  /* reducing an absent axis is rejected */
  vx_op *r = vx_build_op(cu, NULL, VX_OP_REDUCE_SUM, &k, (vx_shape){0, 0});
  r->axis = VX_AXIS_HEAD;
  assert_false(vx_op_infer_shape(r));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_shapes_by_axis_name, setup, teardown),
      cmocka_unit_test_setup_teardown(test_use_lists_follow_set_operand, setup, teardown),
      cmocka_unit_test_setup_teardown(test_rauw_and_erase, setup, teardown),
      cmocka_unit_test_setup_teardown(test_clone_prints_identically, setup, teardown),
      cmocka_unit_test_setup_teardown(test_split_and_incompatible_shapes, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Malformed modules never crash the interpreter: thousands of random op
 * graphs (any op, any operands defined earlier, forced shapes and
 * attributes, bypassing shape inference) either run or return an error.
 * Meant for the sanitizer build, where a bad read fails the test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "interp_test_util.h"

static vx_shape random_shape(vx_rng *rng) {
  static const uint16_t splits[] = {0, 0, 0, 1, 2, 3, 4, 8};
  return (vx_shape){(uint8_t)vx_rng_below(rng, 32), splits[vx_rng_below(rng, 8)]};
}

static void random_func(vx_rng *rng, vx_module *m, vx_func *f) {
  vx_op *ops[16];
  int n = (int)vx_rng_below(rng, 13);
  for (int i = 0; i < n; i++) {
    vx_op_code code = (vx_op_code)vx_rng_below(rng, VX_OP_COUNT);
    int nargs = vx_op_info_of(code)->noperands;
    if (i == 0 && nargs > 0)
      code = VX_OP_CONST; /* the builder needs real operands */
    vx_op *args[3] = {NULL, NULL, NULL};
    for (int k = 0; i > 0 && k < nargs; k++)
      args[k] = ops[vx_rng_below(rng, (uint64_t)i)];
    vx_op *op = vx_build_op(f, NULL, code, args, random_shape(rng));
    if (nargs > 0 && i > 0 && vx_rng_below(rng, 20) == 0)
      vx_op_set_operand(op, 0, NULL); /* a dangling operand */
    op->axis = (vx_axis)vx_rng_below(rng, VX_AXIS_COUNT + 1);
    op->split = (int)vx_rng_below(rng, 6);
    op->index = (int)vx_rng_below(rng, 4) - 1;
    op->number = (double)vx_rng_below(rng, 9) - 4.0;
    op->keep_first = (int)vx_rng_below(rng, 4) - 1;
    op->keep_last = (int)vx_rng_below(rng, 4) - 1;
    if (vx_rng_below(rng, 2) != 0 && (nargs == 0 || op->operands[0]))
      vx_op_infer_shape(op); /* half the time, a plausible shape */
    else
      op->shape = random_shape(rng);
    ops[i] = op;
  }
  (void)m;
}

static void test_random_graphs_never_crash(void **state) {
  (void)state;
  vx_rng rng;
  vx_rng_seed(&rng, 2026);
  vx_paged_geometry g = {.batch = 3, .kv_heads = 2, .group = 2, .head_dim = 4, .page_size = 4, .kv = VX_KV_GQA,
                         .kv_dtype = VX_DTYPE_BF16};
  int32_t lens[3] = {9, 1, 4};
  vx_paged_inputs *in = vx_paged_inputs_new(&g, lens, 1, NULL);
  for (size_t i = 0; i < vx_paged_inputs_pool_elems(in); i++)
    in->k_pool[i] = in->v_pool[i] = (float)(i % 7) - 3.0f;
  int ran = 0, rejected = 0;
  for (int iter = 0; iter < 3000; iter++) {
    vx_arena a;
    vx_arena_init(&a);
    vx_geometry geo = t_geometry(4, 2, 4);
    vx_module *m = vx_module_new(&a, "fuzz", &geo);
    int nfields = (int)vx_rng_below(&rng, 3);
    for (int f = 0; f < nfields; f++)
      vx_module_add_field(m, "f", random_shape(&rng), (vx_dtype)vx_rng_below(&rng, 4));
    if (vx_rng_below(&rng, 2))
      vx_module_add_state(m, "s", 1.0);
    vx_module_add_param(m, "p", true, 2.0);
    if (vx_rng_below(&rng, 2))
      random_func(&rng, m, &m->cache_update);
    random_func(&rng, m, &m->index);
    vx_func *ix = &m->index; /* a well-formed ending, so some graphs run */
    t_select(ix, VX_OP_SELECT_TOP, t_src(ix, VX_OP_PAGE_INDEX, AX(PAGE)), t_const(ix, 1), 0, 0);
    vx_interp_error err = {""};
    vx_interp_result *r = vx_interp_step(m, in, &err);
    if (r)
      ran++;
    else
      rejected += err.message[0] != '\0';
    vx_interp_result_free(r);
    vx_arena_free(&a);
  }
  vx_paged_inputs_free(in);
  /* every failure explains itself, and some graphs are valid enough to run */
  print_message("%d of 3000 random graphs ran, %d were rejected\n", ran, rejected);
  assert_int_equal(ran + rejected, 3000);
  assert_true(ran > 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_random_graphs_never_crash),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

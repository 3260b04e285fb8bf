/* Unit tests of the code generator's library entry point on IR built by
 * hand: output structure, determinism, the select kinds, a module without
 * fields, and the error paths (each must free everything and say why). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "codegen/codegen.h"

static vx_shape shape_of(unsigned axes) { return (vx_shape){(uint8_t)axes, 0}; }

#define BIT(a) (1u << (a))

static vx_op *op1(vx_func *f, vx_op_code code, vx_op *a) { return vx_build_op(f, NULL, code, &a, shape_of(0)); }

static vx_op *op2(vx_func *f, vx_op_code code, vx_op *a, vx_op *b) {
  vx_op *ops[2] = {a, b};
  return vx_build_op(f, NULL, code, ops, shape_of(0));
}

static vx_op *reduce(vx_func *f, vx_op_code code, vx_op *a, vx_axis axis) {
  vx_op *r = op1(f, code, a);
  r->axis = axis;
  assert_true(vx_op_infer_shape(r));
  return r;
}

/* Quest-like: kmax = max(k, tok); score = max(sum(q * kmax, dim), head). */
static vx_module *build(vx_arena *arena, const char *name, vx_dtype kv, int page, vx_op_code select, bool with_field) {
  vx_geometry geo = {.head_dim = 128, .group = 4, .page_size = page, .kv = VX_KV_GQA, .kv_dtype = kv};
  vx_module *m = vx_module_new(arena, name, &geo);
  assert_non_null(m);
  vx_func *cu = &m->cache_update, *ix = &m->index;
  vx_op *q = vx_build_op(ix, NULL, VX_OP_INPUT_Q, NULL, shape_of(BIT(VX_AXIS_HEAD) | BIT(VX_AXIS_DIM)));
  vx_op *score;
  if (with_field) {
    assert_int_equal(vx_module_add_field(m, "kmax", shape_of(BIT(VX_AXIS_DIM)), VX_DTYPE_BF16), 0);
    vx_op *k = vx_build_op(cu, NULL, VX_OP_INPUT_K, NULL, shape_of(BIT(VX_AXIS_TOK) | BIT(VX_AXIS_DIM)));
    vx_op *store = op1(cu, VX_OP_STORE_FIELD, reduce(cu, VX_OP_REDUCE_MAX, k, VX_AXIS_TOK));
    store->index = 0;
    vx_op *field = vx_build_op(ix, NULL, VX_OP_LOAD_FIELD, NULL, shape_of(BIT(VX_AXIS_PAGE) | BIT(VX_AXIS_DIM)));
    field->index = 0;
    vx_op *dot = reduce(ix, VX_OP_REDUCE_SUM, op2(ix, VX_OP_MUL, q, field), VX_AXIS_DIM);
    score = reduce(ix, VX_OP_REDUCE_MAX, dot, VX_AXIS_HEAD);
  } else {
    score = vx_build_op(ix, NULL, VX_OP_PAGE_INDEX, NULL, shape_of(BIT(VX_AXIS_PAGE)));
  }
  vx_op *amount = vx_build_op(ix, NULL, VX_OP_CONST, NULL, shape_of(0));
  amount->number = select == VX_OP_SELECT_MASS ? 0.9 : 8;
  vx_op *sel = op2(ix, select, score, amount);
  sel->keep_first = 1;
  sel->keep_last = 2;
  return m;
}

static void emit_ok(vx_module *m, vx_codegen_output *out) {
  char err[256] = "";
  assert_int_equal(vx_codegen_emit(m, "alg.h", out, err, sizeof err), 0);
  assert_string_equal(err, "");
  assert_non_null(out->cu);
  assert_non_null(out->h);
  assert_int_equal(strlen(out->cu), out->cu_len);
}

static void test_structure_and_determinism(void **state) {
  (void)state;
  vx_arena arena;
  vx_arena_init(&arena);
  vx_module *m = build(&arena, "qk", VX_DTYPE_BF16, 16, VX_OP_SELECT_TOP, true);
  vx_codegen_output a, b;
  emit_ok(m, &a);
  emit_ok(m, &b);
  assert_int_equal(a.cu_len, b.cu_len);
  assert_memory_equal(a.cu, b.cu, a.cu_len);
  assert_memory_equal(a.h, b.h, a.h_len);
  /* kernels with stable extern "C" names, the runtime pasted, launchers hidden from NVRTC */
  assert_non_null(strstr(a.cu, "extern \"C\" __global__ void __launch_bounds__(QK_CACHE_THREADS)\nqk_cache_update_kernel("));
  /* the vector index form: scoring and selection as two kernels, no all-phase kernel */
  assert_non_null(strstr(a.cu, "qk_score_kernel("));
  assert_non_null(strstr(a.cu, "qk_select_kernel("));
  assert_null(strstr(a.cu, "qk_index_kernel("));
  assert_non_null(strstr(a.cu, "/* ======== runtime/device/vx_topk.cuh (verbatim) ======== */"));
  assert_non_null(strstr(a.cu, "#ifndef __CUDACC_RTC__"));
  assert_null(strstr(a.cu, "\n#include \"vx_")); /* sibling includes are pasted, not included */
  /* split phases are a template on the block's warps; the select follows it */
  assert_non_null(strstr(a.cu, "template <int WARPS> static __device__ __forceinline__ void\nqk_index_phases("));
  assert_non_null(strstr(a.cu, "vx_topk_row<WARPS * 32>(row_scores, c.n, budget, 1, 2,"));
  assert_non_null(strstr(a.h, "int qk_step(const vx_paged_kv *kv,"));
  assert_non_null(strstr(a.h, "#define QK_FIELD_KMAX_BYTES 256"));
  assert_non_null(strstr(a.cu, "size_t qk_field_bytes_per_page(void) {\n  return 256;"));
  vx_codegen_output_free(&a);
  vx_codegen_output_free(&b);
  assert_null(a.cu);
  vx_arena_free(&arena);
}

static void test_selects_and_no_fields(void **state) {
  (void)state;
  vx_arena arena;
  vx_arena_init(&arena);
  vx_codegen_output out;
  emit_ok(build(&arena, "th", VX_DTYPE_F16, 32, VX_OP_SELECT_THRESHOLD, true), &out);
  assert_non_null(strstr(out.cu, "vx_threshold_row<WARPS * 32>(row_scores"));
  assert_non_null(strstr(out.cu, "typedef __half th_kv_t;"));
  vx_codegen_output_free(&out);
  emit_ok(build(&arena, "tp", VX_DTYPE_BF16, 16, VX_OP_SELECT_MASS, true), &out);
  assert_non_null(strstr(out.cu, "tp_mass_row(row_scores"));
  vx_codegen_output_free(&out);
  emit_ok(build(&arena, "recent", VX_DTYPE_BF16, 16, VX_OP_SELECT_TOP, false), &out);
  assert_null(strstr(out.cu, "recent_cache_update_kernel")); /* nothing to maintain */
  assert_non_null(strstr(out.cu, "return RECENT_OK; /* no fields to maintain */"));
  vx_codegen_output_free(&out);
  vx_arena_free(&arena);
}

static void expect_error(vx_module *m, const char *needle) {
  char err[256] = "";
  vx_codegen_output out;
  assert_int_not_equal(vx_codegen_emit(m, "x.h", &out, err, sizeof err), 0);
  assert_null(out.cu);
  assert_null(out.h);
  if (!strstr(err, needle)) fail_msg("error '%s' does not mention '%s'", err, needle);
}

static void test_errors(void **state) {
  (void)state;
  vx_arena arena;
  vx_arena_init(&arena);
  expect_error(build(&arena, "not-an-identifier", VX_DTYPE_BF16, 16, VX_OP_SELECT_TOP, true), "not a C identifier");
  expect_error(build(&arena, "f32kv", VX_DTYPE_F32, 16, VX_OP_SELECT_TOP, true), "bf16 or f16");
  expect_error(build(&arena, "page8", VX_DTYPE_BF16, 8, VX_OP_SELECT_TOP, true), "page size 8");
  vx_module *big = build(&arena, "g16", VX_DTYPE_BF16, 16, VX_OP_SELECT_TOP, true);
  big->geo.group = 16;
  expect_error(big, "group 16");
  /* A NULL/zero error buffer is allowed: the status alone reports failure. */
  vx_codegen_output out;
  assert_int_not_equal(vx_codegen_emit(big, NULL, &out, NULL, 0), 0);
  vx_arena_free(&arena);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_structure_and_determinism),
      cmocka_unit_test(test_selects_and_no_fields),
      cmocka_unit_test(test_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

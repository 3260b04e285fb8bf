/* Whole modules through the interpreter: hand-computed cases, state over
 * steps, sparse == dense when everything is selected, MLA, and an
 * independent naive reference on random paged inputs. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "interp_test_util.h"

/* k/v element (phys page, token, head, dim) of the NHD pools. */
static float *kv_at(float *pool, const vx_paged_inputs *in, int phys, int tok, int head, int d) {
  const vx_paged_geometry *g = &in->geo;
  return &pool[(((size_t)phys * g->page_size + tok) * g->kv_heads + head) * g->head_dim + d];
}

static void set_token(vx_paged_inputs *in, float *pool, int phys, int tok, float x0, float x1) {
  *kv_at(pool, in, phys, tok, 0, 0) = x0;
  *kv_at(pool, in, phys, tok, 0, 1) = x1;
}

static vx_paged_geometry paged_geo(int B, int H, int G, int D, int P) {
  return (vx_paged_geometry){.batch = B, .kv_heads = H, .group = G, .head_dim = D, .page_size = P,
                             .kv = VX_KV_GQA, .kv_dtype = VX_DTYPE_BF16};
}

/* Each test gets a fresh arena for its modules. */
static int arena_setup(void **state) {
  vx_arena *a = malloc(sizeof *a);
  if (!a)
    return -1;
  vx_arena_init(a);
  *state = a;
  return 0;
}

static int arena_teardown(void **state) {
  vx_arena_free(*state);
  free(*state);
  return 0;
}

static vx_interp_result *step_ok(const vx_module *m, const vx_paged_inputs *in) {
  vx_interp_error err = {""};
  vx_interp_result *r = vx_interp_step(m, in, &err);
  if (!r)
    fail_msg("interpreter: %s", err.message);
  return r;
}

/* One request of 3 tokens in 2 pages (the last holds 1 token) mapped to
 * physical pages 2 and 0; physical page 1 is a spare full of garbage. */
static vx_paged_inputs *two_page_request(void) {
  vx_paged_geometry g = paged_geo(1, 1, 1, 2, 2);
  int32_t len = 3;
  vx_paged_inputs *in = vx_paged_inputs_new(&g, &len, 1, NULL);
  assert_non_null(in);
  in->indices[0] = in->block_table[0] = 2;
  in->indices[1] = in->block_table[1] = 0;
  set_token(in, in->k_pool, 2, 0, 1, 0);
  set_token(in, in->k_pool, 2, 1, 3, 0);
  set_token(in, in->k_pool, 0, 0, 0, 5);
  set_token(in, in->k_pool, 0, 1, 100, 100); /* missing token: must be ignored */
  set_token(in, in->k_pool, 1, 0, 7, 7);
  set_token(in, in->v_pool, 2, 0, 1, 2);
  set_token(in, in->v_pool, 2, 1, 3, 4);
  set_token(in, in->v_pool, 0, 0, 5, 6);
  set_token(in, in->v_pool, 0, 1, 1000, 1000);
  in->q[0] = 1;
  in->q[1] = 1;
  return in;
}

static void test_two_pages_hand_computed(void **state) {
  vx_arena *a = *state;
  vx_geometry geo = t_geometry(2, 1, 2);
  vx_module *m = t_block_topk(a, &geo, 1, 0, 0);
  vx_paged_inputs *in = two_page_request();
  vx_interp_result *r = step_ok(m, in);
  /* centroids: page 0 (phys 2) = [2, 0]; page 1 (phys 0) = [0, 5] from its one token */
  const float *c = r->fields->data[0];
  assert_true(c[2 * 2 + 0] == 2.0f && c[2 * 2 + 1] == 0.0f);
  assert_true(c[0 * 2 + 0] == 0.0f && c[0 * 2 + 1] == 5.0f);
  assert_true(c[1 * 2 + 0] == 0.0f && c[1 * 2 + 1] == 0.0f); /* spare page untouched */
  /* scores q . c = [2, 5]: page 1 wins */
  assert_true(r->selection->scores[0] == 2.0f && r->selection->scores[1] == 5.0f);
  assert_int_equal(r->selection->count[0], 1);
  assert_int_equal(r->selection->pages[0], 1);
  /* sparse: one valid token, so its value exactly */
  assert_true(r->out_sparse[0] == 5.0f && r->out_sparse[1] == 6.0f);
  /* dense: logits [1, 3, 5] / sqrt(2) over the three valid tokens */
  double w[3], z = 0;
  for (int i = 0; i < 3; i++)
    z += w[i] = exp((1 + 2 * i) / sqrt(2.0));
  double o0 = (w[0] * 1 + w[1] * 3 + w[2] * 5) / z, o1 = (w[0] * 2 + w[1] * 4 + w[2] * 6) / z;
  assert_float_equal(r->out_dense[0], o0, 1e-6);
  assert_float_equal(r->out_dense[1], o1, 1e-6);
  vx_interp_result_free(r);
  vx_paged_inputs_free(in);
}

/* field f = split(k, 2) reduced over tok, on a page with 1 of 4 tokens. */
static void test_split_partial_page(void **state) {
  vx_arena *a = *state;
  vx_geometry geo = t_geometry(2, 1, 4);
  vx_module *m = vx_module_new(a, "split", &geo);
  vx_func *cu = &m->cache_update;
  vx_op *k = t_src(cu, VX_OP_INPUT_K, AX(TOK) | AX(DIM));
  vx_op *sk = t_split(cu, k, 2);
  vx_op *smax = t_reduce(cu, VX_OP_REDUCE_MAX, sk, VX_AXIS_TOK);
  int f_sub = vx_module_add_field(m, "smax", smax->shape, VX_DTYPE_F32);
  t_store_field(cu, f_sub, smax);
  int f_mean = vx_module_add_field(m, "m", (vx_shape){AX(DIM), 0}, VX_DTYPE_F32);
  t_store_field(cu, f_mean, t_reduce(cu, VX_OP_REDUCE_MEAN, smax, VX_AXIS_SUB));
  int f_cnt = vx_module_add_field(m, "n", (vx_shape){0, 0}, VX_DTYPE_F32);
  t_store_field(cu, f_cnt, t_reduce(cu, VX_OP_REDUCE_SUM, t_reduce(cu, VX_OP_REDUCE_MAX, t_bin(cu, VX_OP_GE, k, k), VX_AXIS_DIM), VX_AXIS_TOK));
  vx_func *ix = &m->index;
  t_select(ix, VX_OP_SELECT_TOP, t_src(ix, VX_OP_PAGE_INDEX, AX(PAGE)), t_const(ix, 1), 0, 0);
  vx_paged_geometry g = paged_geo(1, 1, 1, 2, 4);
  int32_t len = 5; /* page 0 full, page 1 holds one token */
  vx_paged_inputs *in = vx_paged_inputs_new(&g, &len, 0, NULL);
  for (int t = 0; t < 4; t++)
    for (int p = 0; p < 2; p++)
      set_token(in, in->k_pool, p, t, (float)(10 * p + t), (float)(-t));
  vx_interp_error err = {""};
  vx_field_pools *f = vx_interp_cache_update(m, in, &err);
  assert_non_null(f);
  /* full page 0: slices {0,1} {2,3}: max [1, 0] and [3, -2]; mean over sub [2, -1] */
  const float *s = f->data[f_sub];
  assert_true(s[0] == 1 && s[1] == 0 && s[2] == 3 && s[3] == -2);
  assert_true(f->data[f_mean][0] == 2 && f->data[f_mean][1] == -1);
  assert_true(f->data[f_cnt][0] == 4);
  /* page 1: slice 0 = token 0 = [10, 0]; slice 1 has no valid token -> 0 */
  s += 4;
  assert_true(s[0] == 10 && s[1] == 0 && s[2] == 0 && s[3] == 0);
  /* the mean over sub covers the one valid slice only */
  assert_true(f->data[f_mean][2] == 10 && f->data[f_mean][3] == 0);
  assert_true(f->data[f_cnt][1] == 1);
  vx_field_pools_free(f);
  vx_paged_inputs_free(in);
}

/* score = state (loaded after the store: double buffering), new state =
 * state + page.index. */
static void test_state_over_two_steps(void **state) {
  vx_arena *a = *state;
  vx_geometry geo = t_geometry(2, 1, 2);
  vx_module *m = vx_module_new(a, "stateful", &geo);
  int st = vx_module_add_state(m, "hits", 0.5);
  vx_func *ix = &m->index;
  vx_op *old = t_src(ix, VX_OP_LOAD_STATE, AX(PAGE));
  old->index = st;
  vx_op *upd = t_bin(ix, VX_OP_ADD, old, t_src(ix, VX_OP_PAGE_INDEX, AX(PAGE)));
  vx_op *store = vx_build_op(ix, NULL, VX_OP_STORE_STATE, &upd, (vx_shape){0, 0});
  store->index = st;
  vx_op *again = t_src(ix, VX_OP_LOAD_STATE, AX(PAGE));
  again->index = st;
  t_select(ix, VX_OP_SELECT_TOP, again, t_const(ix, 1), 0, 0);
  vx_paged_geometry g = paged_geo(2, 1, 1, 2, 2);
  int32_t lens[2] = {6, 1}; /* 3 pages and 1 page */
  vx_paged_inputs *in = vx_paged_inputs_new(&g, lens, 0, NULL);
  vx_interp_error err = {""};
  vx_interp_result *r1 = vx_interp_run(m, in, 1, &err);
  assert_non_null(r1);
  assert_int_equal(r1->selection->pages[0], 0); /* all 0.5: the tie goes to page 0 */
  vx_interp_result *r2 = vx_interp_run(m, in, 2, &err);
  assert_non_null(r2);
  assert_int_equal(r2->selection->pages[0], 2); /* [0.5, 1.5, 2.5] */
  const float *s = r2->state->data[st];
  assert_true(s[0] == 0.5f && s[1] == 2.5f && s[2] == 4.5f);
  /* request 1 has one page: entries past it carry over untouched */
  assert_true(s[3] == 0.5f && s[4] == 0.5f && s[5] == 0.5f);
  vx_interp_result_free(r1);
  vx_interp_result_free(r2);
  vx_paged_inputs_free(in);
}

static vx_paged_inputs *random_inputs(int B, int H, int G, int D, int P, int L, uint64_t seed) {
  vx_random_spec spec = {.geo = paged_geo(B, H, G, D, P), .context = L, .ragged = true, .spare_pages = 3,
                         .seed = seed};
  vx_interp_error err = {""};
  vx_paged_inputs *in = vx_paged_inputs_random(&spec, &err);
  assert_non_null(in);
  return in;
}

static void test_sparse_covering_all_equals_dense(void **state) {
  vx_arena *a = *state;
  vx_geometry geo = t_geometry(16, 4, 8);
  vx_module *m = t_quest(a, &geo, 1e9, 1, 2);
  vx_paged_inputs *in = random_inputs(5, 2, 4, 16, 8, 300, 7);
  vx_interp_result *r = step_ok(m, in);
  for (int row = 0; row < r->selection->rows; row++)
    assert_int_equal(r->selection->count[row], r->selection->page_count[row]);
  assert_memory_equal(r->out_sparse, r->out_dense, r->out_elems * sizeof(float));
  vx_interp_result_free(r);
  vx_paged_inputs_free(in);
}

/* Scores of block_topk recomputed from scratch through the block table. */
static void naive_block_topk_scores(const vx_paged_inputs *in, int b, int h, float *score) {
  const vx_paged_geometry *g = &in->geo;
  int P = g->page_size, D = g->head_dim, n = (in->seq_lens[b] + P - 1) / P;
  for (int j = 0; j < n; j++) {
    int phys = in->block_table[(size_t)b * in->max_blocks + j];
    int valid = in->seq_lens[b] - j * P < P ? in->seq_lens[b] - j * P : P;
    double s = 0;
    for (int d = 0; d < D; d++) {
      double c = 0, qm = 0;
      for (int t = 0; t < valid; t++)
        c += in->k_pool[(((size_t)phys * P + t) * g->kv_heads + h) * D + d];
      for (int q = 0; q < g->group; q++)
        qm += in->q[((size_t)(b * g->kv_heads + h) * g->group + q) * D + d];
      s += (qm / g->group) * (c / valid);
    }
    score[j] = (float)s;
  }
}

static void test_random_against_naive_reference(void **state) {
  vx_arena *a = *state;
  vx_geometry geo = t_geometry(32, 4, 16);
  vx_module *m = t_block_topk(a, &geo, 3, 1, 1);
  vx_paged_inputs *in = random_inputs(6, 2, 4, 32, 16, 500, 99);
  vx_interp_result *r = step_ok(m, in);
  const vx_selection *sel = r->selection;
  float *score = malloc((size_t)in->max_pages * sizeof *score);
  for (int row = 0; row < sel->rows; row++) {
    int n = sel->page_count[row];
    int expect = n < 5 ? n : 5; /* budget 3 + first 1 + last 1 */
    assert_int_equal(sel->count[row], expect);
    naive_block_topk_scores(in, row / 2, row % 2, score);
    for (int j = 0; j < n; j++)
      assert_float_equal(sel->scores[(size_t)row * sel->max_pages + j], score[j], 1e-4);
  }
  free(score);
  /* the ragged mix covers one-token and exact-multiple requests */
  assert_int_equal(in->seq_lens[1], 1);
  assert_int_equal(in->seq_lens[2] % 16, 0);
  float *ref = malloc(r->out_elems * sizeof *ref);
  t_naive_attention(in, sel, ref);
  assert_true(vx_max_rel_diff(r->out_sparse, ref, r->out_elems) < 1e-5);
  t_naive_attention(in, NULL, ref);
  assert_true(vx_max_rel_diff(r->out_dense, ref, r->out_elems) < 1e-5);
  /* and the reference really sees a difference between sparse and dense */
  assert_true(vx_max_rel_diff(r->out_sparse, ref, r->out_elems) > 1e-3);
  free(ref);
  vx_interp_result_free(r);
  vx_paged_inputs_free(in);
}

static vx_module *mla_module(vx_arena *a) {
  vx_geometry geo = {.head_dim = 3, .group = 2, .page_size = 2, .kv = VX_KV_MLA, .mla_latent = 2, .mla_rope = 1,
                     .kv_dtype = VX_DTYPE_BF16};
  return t_block_topk(a, &geo, 1, 0, 0);
}

static void test_mla_tiny(void **state) {
  vx_arena *a = *state;
  vx_module *m = mla_module(a);
  vx_paged_geometry g = {.batch = 2, .kv_heads = 1, .group = 2, .head_dim = 3, .page_size = 2, .kv = VX_KV_MLA,
                         .mla_latent = 2, .mla_rope = 1, .kv_dtype = VX_DTYPE_BF16};
  int32_t lens[2] = {1, 5};
  vx_paged_inputs *in = vx_paged_inputs_new(&g, lens, 0, NULL);
  assert_null(in->v_pool);
  for (size_t i = 0; i < vx_paged_inputs_pool_elems(in); i++)
    in->k_pool[i] = (float)((i * 7) % 11) - 5.0f;
  for (size_t i = 0; i < vx_paged_inputs_q_elems(in); i++)
    in->q[i] = (float)((i * 5) % 7) - 3.0f;
  vx_interp_result *r = step_ok(m, in);
  assert_int_equal(r->out_elems, 2 * 2 * 2); /* [B][G][dc] */
  /* request 0 has one token: every head returns its latent's first dc */
  const float *lat = in->k_pool + (size_t)in->indices[0] * 2 * 3;
  for (int q = 0; q < 2; q++) {
    assert_true(r->out_dense[q * 2 + 0] == lat[0]);
    assert_true(r->out_dense[q * 2 + 1] == lat[1]);
  }
  float ref[8];
  t_naive_attention(in, r->selection, ref);
  assert_true(vx_max_rel_diff(r->out_sparse, ref, 8) < 1e-6);
  t_naive_attention(in, NULL, ref);
  assert_true(vx_max_rel_diff(r->out_dense, ref, 8) < 1e-6);
  vx_interp_result_free(r);
  vx_paged_inputs_free(in);
}

static void expect_error(const vx_module *m, const vx_paged_inputs *in, const char *fragment) {
  vx_interp_error err = {""};
  vx_interp_result *r = vx_interp_step(m, in, &err);
  assert_null(r);
  if (!strstr(err.message, fragment))
    fail_msg("error \"%s\" does not mention \"%s\"", err.message, fragment);
}

static void test_bad_inputs_are_reported(void **state) {
  vx_arena *a = *state;
  vx_geometry geo = t_geometry(2, 1, 2);
  vx_module *m = t_block_topk(a, &geo, 1, 0, 0);
  vx_paged_inputs *in = two_page_request();
  in->indices[1] = 3;
  expect_error(m, in, "outside 0..2");
  in->indices[1] = -1;
  expect_error(m, in, "outside 0..2");
  in->indices[1] = 0;
  in->block_table[1] = 1;
  expect_error(m, in, "block table disagrees");
  in->block_table[1] = 0;
  in->last_page_len[0] = 0;
  expect_error(m, in, "last_page_len[0] = 0");
  in->last_page_len[0] = 3;
  expect_error(m, in, "outside 1..2");
  in->last_page_len[0] = 2;
  expect_error(m, in, "seq_lens = 3");
  in->last_page_len[0] = 1;
  in->indptr[1] = 0;
  expect_error(m, in, "every request needs >= 1");
  in->indptr[1] = 2;
  in->indices[1] = in->block_table[1] = 2; /* page shared as full and as partial */
  expect_error(m, in, "physical page 2 is shared");
  in->indices[1] = in->block_table[1] = 0;
  vx_module *mla = mla_module(a);
  expect_error(mla, in, "MLA");
  /* a split that does not divide the page */
  vx_module *bad = vx_module_new(a, "bad", &geo);
  vx_func *cu = &bad->cache_update;
  vx_op *s = t_reduce(cu, VX_OP_REDUCE_MAX, t_split(cu, t_src(cu, VX_OP_INPUT_K, AX(TOK) | AX(DIM)), 3), VX_AXIS_TOK);
  t_store_field(cu, vx_module_add_field(bad, "f", s->shape, VX_DTYPE_F32), s);
  expect_error(bad, in, "does not divide");
  /* a hand-forced shape mixing split widths is rejected, not misread */
  vx_module *mixed = vx_module_new(a, "mixed", &geo);
  cu = &mixed->cache_update;
  vx_op *k = t_src(cu, VX_OP_INPUT_K, AX(TOK) | AX(DIM));
  vx_op *sk = t_split(cu, k, 1);
  vx_op *sum = t_bin(cu, VX_OP_ADD, k, sk);
  sum->shape = sk->shape;
  vx_op *r = t_reduce(cu, VX_OP_REDUCE_SUM, sum, VX_AXIS_TOK);
  t_store_field(cu, vx_module_add_field(mixed, "f", r->shape, VX_DTYPE_F32), r);
  vx_func *mix = &mixed->index;
  t_select(mix, VX_OP_SELECT_TOP, t_src(mix, VX_OP_PAGE_INDEX, AX(PAGE)), t_const(mix, 1), 0, 0);
  expect_error(mixed, in, "does not broadcast");
  /* no select */
  vx_module *nosel = vx_module_new(a, "nosel", &geo);
  expect_error(nosel, in, "exactly one");
  vx_interp_result *ok = vx_interp_step(m, in, NULL);
  assert_non_null(ok); /* restored inputs are fine again */
  vx_interp_result_free(ok);
  vx_paged_inputs_free(in);
}

/* Two requests share a full first page (prefix sharing): it is
 * summarised once, and the page it replaced is left untouched. */
static void test_shared_prefix_page(void **state) {
  vx_arena *a = *state;
  vx_geometry geo = t_geometry(2, 1, 2);
  vx_module *m = t_block_topk(a, &geo, 0, 1, 0);
  vx_paged_geometry g = paged_geo(2, 1, 1, 2, 2);
  int32_t lens[2] = {4, 3};
  vx_paged_inputs *in = vx_paged_inputs_new(&g, lens, 0, NULL);
  for (size_t i = 0; i < vx_paged_inputs_pool_elems(in); i++)
    in->k_pool[i] = (float)(i % 5) + 1.0f;
  in->indices[2] = in->block_table[in->max_blocks] = 0;
  vx_interp_result *r = step_ok(m, in);
  const float *c = r->fields->data[0];
  assert_true(c[0] != 0.0f && c[2] != 0.0f && c[6] != 0.0f); /* phys 0, 1, 3 */
  assert_true(c[4] == 0.0f && c[5] == 0.0f);                 /* phys 2: no longer referenced */
  assert_int_equal(r->selection->count[1], 1);
  assert_int_equal(r->selection->pages[r->selection->max_pages], 0);
  vx_interp_result_free(r);
  vx_paged_inputs_free(in);
}

/* score = page.index through each select kind of the index function. */
static int select_kind_count(vx_op_code code, double arg, int keep_first, int32_t *first_page) {
  vx_arena a;
  vx_arena_init(&a);
  vx_geometry geo = t_geometry(2, 1, 2);
  vx_module *m = vx_module_new(&a, "kinds", &geo);
  vx_func *ix = &m->index;
  t_select(ix, code, t_src(ix, VX_OP_PAGE_INDEX, AX(PAGE)), t_const(ix, arg), keep_first, 0);
  vx_paged_geometry g = paged_geo(1, 1, 1, 2, 2);
  int32_t len = 9; /* 5 pages */
  vx_paged_inputs *in = vx_paged_inputs_new(&g, &len, 0, NULL);
  vx_interp_result *r = step_ok(m, in);
  int count = r->selection->count[0];
  *first_page = r->selection->pages[0];
  vx_interp_result_free(r);
  vx_paged_inputs_free(in);
  vx_arena_free(&a);
  return count;
}

static void test_select_kinds_in_index(void **state) {
  (void)state;
  int32_t first;
  assert_int_equal(select_kind_count(VX_OP_SELECT_THRESHOLD, 2.5, 0, &first), 2); /* pages 3, 4 */
  assert_int_equal(first, 3);
  assert_int_equal(select_kind_count(VX_OP_SELECT_THRESHOLD, 2.5, 1, &first), 3);
  assert_int_equal(first, 0);
  /* softmax of 0..4: page 4 alone holds 0.636, pages 3-4 0.87 */
  assert_int_equal(select_kind_count(VX_OP_SELECT_MASS, 0.6, 0, &first), 1);
  assert_int_equal(first, 4);
  assert_int_equal(select_kind_count(VX_OP_SELECT_MASS, 0.8, 0, &first), 2);
  assert_int_equal(select_kind_count(VX_OP_SELECT_TOP, 2.0, 1, &first), 3);
}

/* Quest scores against a direct formula over bf16-rounded envelopes of
 * the valid tokens, read through the block table. */
static void test_quest_against_formula(void **state) {
  vx_arena *a = *state;
  vx_geometry geo = t_geometry(16, 2, 8);
  vx_module *m = t_quest(a, &geo, 2, 1, 1);
  vx_paged_inputs *in = random_inputs(4, 2, 2, 16, 8, 77, 31);
  vx_interp_result *r = step_ok(m, in);
  const vx_selection *sel = r->selection;
  for (int row = 0; row < sel->rows; row++) {
    int b = row / 2, h = row % 2, n = sel->page_count[row];
    for (int j = 0; j < n; j++) {
      int phys = in->block_table[(size_t)b * in->max_blocks + j];
      int valid = in->seq_lens[b] - j * 8 < 8 ? in->seq_lens[b] - j * 8 : 8;
      double best = -INFINITY;
      for (int q = 0; q < 2; q++) {
        double s = 0;
        for (int d = 0; d < 16; d++) {
          float hi = -INFINITY, lo = INFINITY;
          for (int t = 0; t < valid; t++) {
            float k = in->k_pool[(((size_t)phys * 8 + t) * 2 + h) * 16 + d];
            hi = k > hi ? k : hi;
            lo = k < lo ? k : lo;
          }
          double qv = in->q[((size_t)(b * 2 + h) * 2 + q) * 16 + d];
          double x = qv * vx_round_to_dtype(hi, VX_DTYPE_BF16), y = qv * vx_round_to_dtype(lo, VX_DTYPE_BF16);
          s += x > y ? x : y;
        }
        best = s > best ? s : best;
      }
      assert_float_equal(sel->scores[(size_t)row * sel->max_pages + j], best, 1e-4);
    }
  }
  vx_interp_result_free(r);
  vx_paged_inputs_free(in);
}

static void test_random_inputs_shape(void **state) {
  (void)state;
  vx_paged_inputs *in = random_inputs(8, 2, 2, 8, 16, 1000, 5);
  assert_true(vx_paged_inputs_validate(in, NULL));
  int identity = 1;
  for (int i = 0; i < in->indptr[8]; i++)
    identity &= in->indices[i] == i;
  assert_false(identity);
  for (size_t i = 0; i < vx_paged_inputs_pool_elems(in); i++)
    assert_true(vx_round_to_dtype(in->k_pool[i], VX_DTYPE_BF16) == in->k_pool[i]);
  vx_paged_inputs *again = random_inputs(8, 2, 2, 8, 16, 1000, 5);
  assert_memory_equal(in->k_pool, again->k_pool, vx_paged_inputs_pool_elems(in) * sizeof(float));
  assert_memory_equal(in->indices, again->indices, (size_t)in->indptr[8] * sizeof(int32_t));
  vx_paged_inputs_free(again);
  vx_paged_inputs_free(in);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_two_pages_hand_computed, arena_setup, arena_teardown),
      cmocka_unit_test_setup_teardown(test_split_partial_page, arena_setup, arena_teardown),
      cmocka_unit_test_setup_teardown(test_state_over_two_steps, arena_setup, arena_teardown),
      cmocka_unit_test_setup_teardown(test_sparse_covering_all_equals_dense, arena_setup, arena_teardown),
      cmocka_unit_test_setup_teardown(test_random_against_naive_reference, arena_setup, arena_teardown),
      cmocka_unit_test_setup_teardown(test_mla_tiny, arena_setup, arena_teardown),
      cmocka_unit_test_setup_teardown(test_bad_inputs_are_reported, arena_setup, arena_teardown),
      cmocka_unit_test_setup_teardown(test_shared_prefix_page, arena_setup, arena_teardown),
      cmocka_unit_test_setup_teardown(test_select_kinds_in_index, arena_setup, arena_teardown),
      cmocka_unit_test_setup_teardown(test_quest_against_formula, arena_setup, arena_teardown),
      cmocka_unit_test(test_random_inputs_shape),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

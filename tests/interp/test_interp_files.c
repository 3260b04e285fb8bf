/* Run directories: what vx_run_dir_write stores reads back bit-exactly,
 * and broken directories are errors, not bad reads. */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "interp_test_util.h"
#include "ir/interp_files.h"

typedef struct fixture {
  char dir[64];
  vx_arena arena;
  vx_module *m;
  vx_paged_inputs *in;
  vx_interp_result *r;
} fixture;

static int setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  snprintf(f->dir, sizeof f->dir, "/tmp/vx_interp_files_XXXXXX");
  if (!mkdtemp(f->dir))
    return -1;
  vx_arena_init(&f->arena);
  vx_geometry geo = t_geometry(16, 2, 8);
  f->m = t_quest(&f->arena, &geo, 2, 1, 1);
  vx_random_spec spec = {.geo = {.batch = 3, .kv_heads = 2, .group = 2, .head_dim = 16, .page_size = 8,
                                 .kv = VX_KV_GQA, .kv_dtype = VX_DTYPE_BF16},
                         .context = 90, .ragged = true, .spare_pages = 2, .seed = 12345678901234567ull};
  f->in = vx_paged_inputs_random(&spec, NULL);
  f->r = vx_interp_step(f->m, f->in, NULL);
  *state = f;
  return f->in && f->r ? 0 : -1;
}

static int teardown(void **state) {
  fixture *f = *state;
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
  if (system(cmd) != 0)
    return -1;
  vx_interp_result_free(f->r);
  vx_paged_inputs_free(f->in);
  vx_arena_free(&f->arena);
  free(f);
  return 0;
}

static void test_round_trip(void **state) {
  fixture *f = *state;
  vx_interp_error err = {""};
  assert_true(vx_run_dir_write(f->dir, f->m, f->in, f->r, 1, "quest.vtx", &err));
  vx_paged_inputs *back = vx_run_dir_read_inputs(f->dir, &err);
  if (!back)
    fail_msg("%s", err.message);
  assert_true(back->seed == f->in->seed);
  assert_true(back->scale == f->in->scale);
  assert_int_equal(back->num_phys_pages, f->in->num_phys_pages);
  assert_memory_equal(back->indices, f->in->indices, (size_t)f->in->indptr[3] * 4);
  assert_memory_equal(back->block_table, f->in->block_table, (size_t)3 * (size_t)f->in->max_blocks * 4);
  assert_memory_equal(back->k_pool, f->in->k_pool, vx_paged_inputs_pool_elems(f->in) * 4);
  assert_memory_equal(back->v_pool, f->in->v_pool, vx_paged_inputs_pool_elems(f->in) * 4);
  assert_memory_equal(back->q, f->in->q, vx_paged_inputs_q_elems(f->in) * 4);
  /* the same inputs give the same outputs */
  vx_interp_result *again = vx_interp_step(f->m, back, &err);
  assert_non_null(again);
  assert_memory_equal(again->out_sparse, f->r->out_sparse, f->r->out_elems * 4);
  size_t n = 0;
  float *out = vx_run_dir_load(f->dir, "out_sparse", &n, &err);
  assert_non_null(out);
  assert_int_equal(n, f->r->out_elems);
  assert_memory_equal(out, f->r->out_sparse, n * 4);
  int32_t *sel = vx_run_dir_load(f->dir, "selected", &n, &err);
  assert_non_null(sel);
  assert_memory_equal(sel, f->r->selection->pages, n * 4);
  assert_null(vx_run_dir_load(f->dir, "no_such_array", &n, &err));
  assert_non_null(strstr(err.message, "no_such_array"));
  free(out);
  free(sel);
  vx_interp_result_free(again);
  vx_paged_inputs_free(back);
}

/* A block table padded wider than needed (another producer) reads back. */
static void test_wider_block_table(void **state) {
  fixture *f = *state;
  vx_interp_error err = {""};
  int B = f->in->geo.batch, old = f->in->max_blocks, wide = old + 3;
  int32_t *padded = calloc((size_t)B * (size_t)wide, sizeof *padded);
  for (int b = 0; b < B; b++)
    memcpy(padded + (size_t)b * wide, f->in->block_table + (size_t)b * old, (size_t)old * sizeof *padded);
  free(f->in->block_table);
  f->in->block_table = padded;
  f->in->max_blocks = wide;
  assert_true(vx_run_dir_write(f->dir, f->m, f->in, NULL, 1, NULL, &err));
  vx_paged_inputs *back = vx_run_dir_read_inputs(f->dir, &err);
  if (!back)
    fail_msg("%s", err.message);
  assert_int_equal(back->max_blocks, wide);
  assert_memory_equal(back->block_table, padded, (size_t)B * (size_t)wide * sizeof *padded);
  vx_paged_inputs_free(back);
}

static void write_text(const char *dir, const char *file, const char *text) {
  char path[128];
  snprintf(path, sizeof path, "%s/%s", dir, file);
  FILE *fp = fopen(path, "w");
  assert_non_null(fp);
  fputs(text, fp);
  fclose(fp);
}

static void test_broken_directories(void **state) {
  fixture *f = *state;
  vx_interp_error err = {""};
  assert_true(vx_run_dir_write(f->dir, f->m, f->in, NULL, 1, NULL, &err));
  write_text(f->dir, "q.f32", "short");
  assert_null(vx_run_dir_read_inputs(f->dir, &err));
  assert_non_null(strstr(err.message, "expected"));
  write_text(f->dir, "manifest.json", "{not json");
  assert_null(vx_run_dir_read_inputs(f->dir, &err));
  assert_non_null(strstr(err.message, "manifest.json"));
  write_text(f->dir, "manifest.json", "{\"format\": \"vortexc-run\", \"geometry\": {\"batch\": 0}}");
  assert_null(vx_run_dir_read_inputs(f->dir, &err));
  assert_non_null(strstr(err.message, "geometry"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
      cmocka_unit_test_setup_teardown(test_broken_directories, setup, teardown),
      cmocka_unit_test_setup_teardown(test_wider_block_table, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

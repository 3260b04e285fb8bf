/* test_validate.c - descriptor validation and host-side launcher checks.
 * Runs without a GPU: every case here fails (or passes) before any device
 * work, so CI exercises every error path and its message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "vortexrt.h"

/* Stand-ins for device pools: validation only looks at their alignment. */
static _Alignas(16) unsigned char fake_pool[64];

typedef struct fixture {
  int32_t indptr[4];
  int32_t indices[6];
  int32_t last_page_len[3];
  int32_t block_table[3 * 4];
  int32_t seq_lens[3];
  vxrt_paged_kv kv;
  char err[256];
} fixture;

/* Three requests with 2, 0 and 4 pages in a 10-page pool, page size 16. */
static void make_csr(fixture *f) {
  memset(f, 0, sizeof *f);
  const int32_t indptr[4] = {0, 2, 2, 6}, indices[6] = {3, 7, 0, 9, 1, 5}, lpl[3] = {16, 16, 1};
  memcpy(f->indptr, indptr, sizeof indptr);
  memcpy(f->indices, indices, sizeof indices);
  memcpy(f->last_page_len, lpl, sizeof lpl);
  f->kv.format = VXRT_PAGES_CSR;
  f->kv.dtype = VXRT_DTYPE_BF16;
  f->kv.batch = 3;
  f->kv.page_size = 16;
  f->kv.num_kv_heads = 8;
  f->kv.head_dim = 128;
  f->kv.num_pages = 10;
  f->kv.indptr = f->indptr;
  f->kv.indices = f->indices;
  f->kv.last_page_len = f->last_page_len;
  f->kv.k_pool = fake_pool;
  f->kv.v_pool = fake_pool;
  assert_int_equal(vxrt_kv_set_layout(&f->kv, VXRT_LAYOUT_NHD), VXRT_SUCCESS);
}

static void make_block_table(fixture *f) {
  make_csr(f);
  const int32_t bt[12] = {3, 7, -1, -1, 0, 0, 0, 0, 9, 1, 5, 2}, lens[3] = {20, 0, 64};
  memcpy(f->block_table, bt, sizeof bt);
  memcpy(f->seq_lens, lens, sizeof lens);
  f->kv.format = VXRT_PAGES_BLOCK_TABLE;
  f->kv.indptr = f->kv.indices = f->kv.last_page_len = NULL;
  f->kv.block_table = f->block_table;
  f->kv.block_table_stride = 4;
  f->kv.seq_lens = f->seq_lens;
}

static vxrt_status check(fixture *f) { return vxrt_validate_paged_kv(&f->kv, VXRT_CHECK_ARRAYS, f->err, sizeof f->err); }

static void expect(fixture *f, vxrt_status want, const char *msg) {
  const vxrt_status got = check(f);
  if (got != want) fail_msg("status %d (%s), want %d; message: %s", got, vxrt_status_string(got), want, f->err);
  if (!strstr(f->err, msg)) fail_msg("message \"%s\" lacks \"%s\"", f->err, msg);
}

static void test_good_tables(void **state) {
  (void)state;
  fixture f;
  make_csr(&f);
  strcpy(f.err, "stale");
  assert_int_equal(check(&f), VXRT_SUCCESS);
  assert_string_equal(f.err, "");
  make_block_table(&f);
  assert_int_equal(check(&f), VXRT_SUCCESS);
  f.kv.batch = 0; /* an empty batch is valid and reads nothing */
  f.kv.block_table = NULL;
  assert_int_equal(check(&f), VXRT_SUCCESS);
}

static void test_null_pointers(void **state) {
  (void)state;
  fixture f;
  char err[128];
  assert_int_equal(vxrt_validate_paged_kv(NULL, 0, err, sizeof err), VXRT_ERROR_NULL_POINTER);
  assert_non_null(strstr(err, "descriptor is NULL"));
  make_csr(&f);
  f.kv.indptr = NULL;
  expect(&f, VXRT_ERROR_NULL_POINTER, "indptr is NULL");
  make_csr(&f);
  f.kv.indices = NULL;
  expect(&f, VXRT_ERROR_NULL_POINTER, "indices is NULL");
  make_csr(&f);
  f.kv.last_page_len = NULL;
  expect(&f, VXRT_ERROR_NULL_POINTER, "last_page_len is NULL");
  make_csr(&f);
  f.kv.k_pool = NULL;
  expect(&f, VXRT_ERROR_NULL_POINTER, "k_pool is NULL");
  make_block_table(&f);
  f.kv.seq_lens = NULL;
  expect(&f, VXRT_ERROR_NULL_POINTER, "seq_lens is NULL");
  make_block_table(&f);
  f.kv.block_table = NULL;
  expect(&f, VXRT_ERROR_NULL_POINTER, "block_table is NULL");
}

static void test_csr_contents(void **state) {
  (void)state;
  fixture f;
  make_csr(&f);
  f.indptr[2] = 1; /* 0, 2, 1, 6 */
  expect(&f, VXRT_ERROR_BAD_PAGE_TABLE, "indptr is not monotone: indptr[1] = 2 > indptr[2] = 1");
  make_csr(&f);
  f.indptr[0] = -1;
  expect(&f, VXRT_ERROR_BAD_PAGE_TABLE, "indptr[0] = -1 is negative");
  make_csr(&f);
  f.last_page_len[2] = 0;
  expect(&f, VXRT_ERROR_BAD_PAGE_TABLE, "last_page_len[2] = 0 is outside 1..16");
  make_csr(&f);
  f.last_page_len[0] = 17;
  expect(&f, VXRT_ERROR_BAD_PAGE_TABLE, "last_page_len[0] = 17 is outside 1..16");
  make_csr(&f);
  f.last_page_len[1] = 0; /* request 1 has no pages: its length is unused */
  expect(&f, VXRT_SUCCESS, "");
  make_csr(&f);
  f.indices[4] = 10;
  expect(&f, VXRT_ERROR_PAGE_OUT_OF_RANGE, "indices[4] = 10 (request 2, page 2) is outside the pool of 10 pages");
  make_csr(&f);
  f.indices[0] = -3;
  expect(&f, VXRT_ERROR_PAGE_OUT_OF_RANGE, "indices[0] = -3");
}

static void test_block_table_contents(void **state) {
  (void)state;
  fixture f;
  make_block_table(&f);
  f.block_table[9] = 10;
  expect(&f, VXRT_ERROR_PAGE_OUT_OF_RANGE, "block_table[2][1] = 10 is outside the pool of 10 pages");
  make_block_table(&f);
  f.block_table[1] = -1; /* request 0 needs 2 pages: entry 1 is live */
  expect(&f, VXRT_ERROR_PAGE_OUT_OF_RANGE, "block_table[0][1] = -1");
  make_block_table(&f);
  f.seq_lens[0] = 65; /* 5 pages, stride 4 */
  expect(&f, VXRT_ERROR_BAD_PAGE_TABLE, "seq_lens[0] = 65 needs 5 pages but block_table_stride is 4");
  make_block_table(&f);
  f.seq_lens[1] = -2;
  expect(&f, VXRT_ERROR_BAD_PAGE_TABLE, "seq_lens[1] = -2 is negative");
  make_block_table(&f);
  f.kv.block_table_stride = 0;
  expect(&f, VXRT_ERROR_INVALID_VALUE, "block_table_stride = 0");
}

static void test_shapes(void **state) {
  (void)state;
  fixture f;
  static const int32_t bad_pages[] = {0, 8, 48, 128};
  for (size_t i = 0; i < sizeof bad_pages / sizeof bad_pages[0]; ++i) {
    make_csr(&f);
    f.kv.page_size = bad_pages[i];
    expect(&f, VXRT_ERROR_BAD_PAGE_SIZE, "must be 16, 32 or 64");
  }
  static const int32_t bad_dims[] = {0, -8, 12, 100};
  for (size_t i = 0; i < sizeof bad_dims / sizeof bad_dims[0]; ++i) {
    make_csr(&f);
    f.kv.head_dim = bad_dims[i];
    expect(&f, VXRT_ERROR_BAD_HEAD_DIM, "head_dim");
  }
  make_csr(&f);
  f.kv.num_kv_heads = 0;
  expect(&f, VXRT_ERROR_INVALID_VALUE, "num_kv_heads = 0");
  make_csr(&f);
  f.kv.batch = -1;
  expect(&f, VXRT_ERROR_INVALID_VALUE, "batch = -1 is negative");
  make_csr(&f);
  f.kv.num_pages = 0;
  expect(&f, VXRT_ERROR_INVALID_VALUE, "num_pages = 0");
  make_csr(&f);
  f.kv.dtype = 7;
  expect(&f, VXRT_ERROR_UNSUPPORTED, "element type 7");
  make_csr(&f);
  f.kv.format = 5;
  expect(&f, VXRT_ERROR_INVALID_VALUE, "unknown page-table format 5");
  make_csr(&f);
  f.kv.v_pool = fake_pool + 2;
  expect(&f, VXRT_ERROR_MISALIGNED, "16-byte aligned");
  make_csr(&f);
  f.kv.stride_token = 1028;
  expect(&f, VXRT_ERROR_MISALIGNED, "stride_token = 1028 is not a multiple of 8");
}

static void test_shape_only_skips_arrays(void **state) {
  (void)state;
  fixture f;
  make_csr(&f);
  f.indptr[2] = 1;
  assert_int_equal(vxrt_validate_paged_kv(&f.kv, 0, f.err, sizeof f.err), VXRT_SUCCESS);
}

static void test_layout_strides(void **state) {
  (void)state;
  fixture f;
  make_csr(&f);
  assert_int_equal(vxrt_kv_set_layout(&f.kv, VXRT_LAYOUT_HND), VXRT_SUCCESS);
  assert_int_equal(f.kv.stride_token, 128);
  assert_int_equal(f.kv.stride_head, 16 * 128);
  assert_int_equal(f.kv.stride_page, 16 * 8 * 128);
  assert_int_equal(vxrt_kv_set_layout(&f.kv, VXRT_LAYOUT_NHD), VXRT_SUCCESS);
  assert_int_equal(f.kv.stride_token, 8 * 128);
  assert_int_equal(f.kv.stride_head, 128);
  assert_int_equal(vxrt_kv_set_layout(&f.kv, (vxrt_kv_layout)9), VXRT_ERROR_INVALID_VALUE);
  assert_int_equal(vxrt_kv_set_layout(NULL, VXRT_LAYOUT_NHD), VXRT_ERROR_NULL_POINTER);
}

static void test_status_strings(void **state) {
  (void)state;
  for (int s = VXRT_SUCCESS; s <= VXRT_ERROR_NOT_FOUND; ++s) {
    const char *text = vxrt_status_string((vxrt_status)s);
    assert_non_null(text);
    assert_string_not_equal(text, "unknown status");
    for (int t = VXRT_SUCCESS; t < s; ++t) assert_string_not_equal(text, vxrt_status_string((vxrt_status)t));
  }
  assert_string_equal(vxrt_status_string((vxrt_status)999), "unknown status");
}

static void test_message_truncation(void **state) {
  (void)state;
  fixture f;
  char small[8];
  make_csr(&f);
  f.indptr[2] = 1;
  memset(small, 'x', sizeof small);
  assert_int_equal(vxrt_validate_paged_kv(&f.kv, VXRT_CHECK_ARRAYS, small, sizeof small), VXRT_ERROR_BAD_PAGE_TABLE);
  assert_int_equal(strlen(small), sizeof small - 1);
  /* no buffer at all is fine too */
  assert_int_equal(vxrt_validate_paged_kv(&f.kv, VXRT_CHECK_ARRAYS, NULL, 0), VXRT_ERROR_BAD_PAGE_TABLE);
}

/* Launchers reject bad arguments before touching the device. */
static void test_launcher_checks(void **state) {
  (void)state;
  fixture f;
  make_csr(&f);
  _Alignas(256) static unsigned char ws[1 << 16];
  const size_t need = vxrt_decode_workspace_size(3, 32, 8, 128, 4);
  assert_true(need > 0);
  assert_true(need <= sizeof ws);
  assert_true(vxrt_decode_workspace_size(3, 32, 8, 128, 400) >= need);
  assert_int_equal(vxrt_decode_workspace_size(0, 32, 8, 128, 4), 0);

  f.kv.head_dim = 96;
  assert_int_equal(vxrt_dense_decode(&f.kv, fake_pool, fake_pool, 32, 0.1f, 4, ws, sizeof ws, 0, f.err, sizeof f.err),
                   VXRT_ERROR_BAD_HEAD_DIM);
  make_csr(&f);
  assert_int_equal(vxrt_dense_decode(&f.kv, fake_pool, fake_pool, 24, 0.1f, 4, ws, sizeof ws, 0, f.err, sizeof f.err),
                   VXRT_ERROR_UNSUPPORTED);
  assert_non_null(strstr(f.err, "GQA group 3"));
  assert_int_equal(vxrt_dense_decode(&f.kv, fake_pool, fake_pool, 30, 0.1f, 4, ws, sizeof ws, 0, f.err, sizeof f.err),
                   VXRT_ERROR_INVALID_VALUE);
  assert_int_equal(vxrt_dense_decode(&f.kv, NULL, fake_pool, 32, 0.1f, 4, ws, sizeof ws, 0, f.err, sizeof f.err),
                   VXRT_ERROR_NULL_POINTER);
  assert_int_equal(vxrt_dense_decode(&f.kv, fake_pool, fake_pool, 32, 0.1f, 4, ws, need - 1, 0, f.err, sizeof f.err),
                   VXRT_ERROR_WORKSPACE_TOO_SMALL);
  assert_int_equal(vxrt_dense_decode(&f.kv, fake_pool, fake_pool, 32, 0.1f, 4, ws + 16, need, 0, f.err, sizeof f.err),
                   VXRT_ERROR_MISALIGNED);
  assert_int_equal(vxrt_sparse_decode(&f.kv, fake_pool, fake_pool, 32, 0.1f, NULL, NULL, 4, ws, sizeof ws, 0, f.err,
                                      sizeof f.err),
                   VXRT_ERROR_NULL_POINTER);
  f.kv.page_size = 24;
  assert_int_equal(vxrt_dense_decode(&f.kv, fake_pool, fake_pool, 32, 0.1f, 4, ws, sizeof ws, 0, f.err, sizeof f.err),
                   VXRT_ERROR_BAD_PAGE_SIZE);

  make_csr(&f);
  int32_t sel[8], cnt[24];
  float scores[16];
  assert_int_equal(vxrt_topk_select(&f.kv, scores, 16, 6, 1, 2, sel, 8, cnt, 0, f.err, sizeof f.err),
                   VXRT_ERROR_INVALID_VALUE);
  assert_non_null(strstr(f.err, "max_sel = 8 cannot hold up to 9"));
  assert_int_equal(vxrt_topk_select(&f.kv, scores, 16, -1, 1, 2, sel, 8, cnt, 0, f.err, sizeof f.err),
                   VXRT_ERROR_INVALID_VALUE);
  assert_int_equal(vxrt_topk_select(&f.kv, NULL, 16, 4, 1, 2, sel, 8, cnt, 0, f.err, sizeof f.err),
                   VXRT_ERROR_NULL_POINTER);

  make_csr(&f);
  f.kv.num_kv_heads = 1;
  f.kv.head_dim = 576;
  assert_int_equal(vxrt_mla_decode(&f.kv, 512, fake_pool, fake_pool, 24, 0.1f, NULL, NULL, 4, ws, sizeof ws, 0, f.err,
                                   sizeof f.err),
                   VXRT_ERROR_UNSUPPORTED);
  assert_int_equal(vxrt_mla_decode(&f.kv, 448, fake_pool, fake_pool, 20, 0.1f, NULL, NULL, 4, ws, sizeof ws, 0, f.err,
                                   sizeof f.err),
                   VXRT_ERROR_BAD_HEAD_DIM);
}

static void test_hash(void **state) {
  (void)state;
  const char a[] = "vortexc", b[] = "vortexd";
  assert_true(vxrt_hash64(a, 7, 0) == vxrt_hash64(a, 7, 0));
  assert_true(vxrt_hash64(a, 7, 0) != vxrt_hash64(b, 7, 0));
  assert_true(vxrt_hash64(a, 7, 0) != vxrt_hash64(a, 7, 1));
  assert_true(vxrt_hash64(a, 6, 0) != vxrt_hash64(a, 7, 0));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_good_tables),         cmocka_unit_test(test_null_pointers),
      cmocka_unit_test(test_csr_contents),        cmocka_unit_test(test_block_table_contents),
      cmocka_unit_test(test_shapes),              cmocka_unit_test(test_shape_only_skips_arrays),
      cmocka_unit_test(test_layout_strides),      cmocka_unit_test(test_status_strings),
      cmocka_unit_test(test_message_truncation),  cmocka_unit_test(test_launcher_checks),
      cmocka_unit_test(test_hash),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

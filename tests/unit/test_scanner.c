/* Scanner: token kinds, values and 1-based byte locations, comments,
 * lexical errors that do not stop scanning. */
#include "test_util.h"
#include "frontend/parser_ctx.h"
#include "parser.h"
#include "scanner.h"

typedef struct scanned {
  int tok;
  vx_span loc;
  VX_YYSTYPE val;
} scanned;

/* One scan: the parser context the scanner reports into, its
 * diagnostics (in memory) and the tokens. */
typedef struct scan {
  vx_arena arena;
  vx_parser p;
  FILE *mem;
  char *diag_text;
  size_t diag_len;
  scanned tok[32];
  int n; /* tokens before EOF */
} scan;

static void scan_all(scan *s, const char *src) {
  memset(s, 0, sizeof *s);
  vx_arena_init(&s->arena);
  s->mem = open_memstream(&s->diag_text, &s->diag_len);
  vx_diag_options o = {.format = VX_DIAG_TEXT, .max_errors = 20, .out = s->mem};
  s->p = (vx_parser){.arena = &s->arena, .diag = vx_diag_new(&o), .file = "s.vtx", .text = src,
                     .len = strlen(src), .line = 1, .col = 1};
  yyscan_t scanner;
  assert_int_equal(vx_yylex_init_extra(&s->p, &scanner), 0);
  YY_BUFFER_STATE b = vx_yy_scan_bytes(src, (int)strlen(src), scanner);
  while (s->n < 32) {
    scanned t = {0};
    t.tok = vx_yylex(&t.val, &t.loc, scanner);
    if (t.tok == 0)
      break;
    s->tok[s->n++] = t;
  }
  vx_yy_delete_buffer(b, scanner);
  vx_yylex_destroy(scanner);
  fflush(s->mem);
}

static void scan_free(scan *s) {
  vx_diag_free(s->p.diag);
  fclose(s->mem);
  free(s->diag_text);
  vx_arena_free(&s->arena);
}

static void test_tokens_and_locations(void **state) {
  (void)state;
  scan s;
  scan_all(&s, "algorithm quest {\n  x1 = 1.5e3 <= 42; // c\n /* multi\nline */ tok\n}");
  const scanned *t = s.tok;
  assert_int_equal(s.n, 11);
  assert_int_equal(t[0].tok, TOK_ALGORITHM);
  assert_int_equal(t[1].tok, TOK_IDENT);
  assert_string_equal(t[1].val.str, "quest");
  assert_int_equal(t[1].loc.line, 1);
  assert_int_equal(t[1].loc.col, 11);
  assert_int_equal(t[1].loc.end_col, 15);
  assert_int_equal(t[2].tok, '{');
  assert_int_equal(t[3].tok, TOK_IDENT);
  assert_int_equal(t[3].loc.line, 2);
  assert_int_equal(t[3].loc.col, 3);
  assert_int_equal(t[4].tok, '=');
  assert_int_equal(t[5].tok, TOK_FLOATLIT);
  assert_true(t[5].val.num == 1500.0);
  assert_int_equal(t[6].tok, TOK_LE);
  assert_int_equal(t[7].tok, TOK_INTLIT);
  assert_true(t[7].val.num == 42.0);
  assert_int_equal(t[8].tok, ';');
  assert_int_equal(t[9].tok, TOK_AXIS); /* after a two-line block comment */
  assert_int_equal(t[9].val.axis, VX_AXIS_TOK);
  assert_int_equal(t[9].loc.line, 4);
  assert_int_equal(t[9].loc.col, 9);
  assert_int_equal(t[10].tok, '}');
  assert_int_equal(t[10].loc.line, 5);
  assert_int_equal(vx_diag_error_count(s.p.diag), 0);
  scan_free(&s);
}

static void test_lexical_errors_continue(void **state) {
  (void)state;
  scan s;
  scan_all(&s, "a @ 99999999999 $ b");
  /* '@' and '$' are skipped with an error each, the overflowing literal
   * is still a token (value 0) so the parser keeps its structure. */
  assert_int_equal(s.n, 3);
  assert_int_equal(s.tok[0].tok, TOK_IDENT);
  assert_int_equal(s.tok[1].tok, TOK_INTLIT);
  assert_int_equal(s.tok[2].tok, TOK_IDENT);
  assert_int_equal(vx_diag_error_count(s.p.diag), 3);
  assert_non_null(strstr(s.diag_text, "s.vtx:1:3: error: unexpected character '@'"));
  assert_non_null(strstr(s.diag_text, "s.vtx:1:5: error: integer literal '99999999999' is too large"));
  scan_free(&s);
}

static void test_int_limit_boundary(void **state) {
  (void)state;
  scan s;
  scan_all(&s, "2147483647 2147483648");
  assert_int_equal(s.n, 2);
  assert_true(s.tok[0].val.num == 2147483647.0);
  assert_int_equal(vx_diag_error_count(s.p.diag), 1);
  scan_free(&s);
}

static void test_byte_order_mark_is_skipped(void **state) {
  (void)state;
  scan s;
  scan_all(&s, "\xef\xbb\xbf" "algorithm");
  assert_int_equal(s.n, 1);
  assert_int_equal(s.tok[0].tok, TOK_ALGORITHM);
  assert_int_equal(s.tok[0].loc.col, 4); /* columns count bytes, the BOM included */
  assert_int_equal(vx_diag_error_count(s.p.diag), 0);
  scan_free(&s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_tokens_and_locations),
      cmocka_unit_test(test_lexical_errors_continue),
      cmocka_unit_test(test_int_limit_boundary),
      cmocka_unit_test(test_byte_order_mark_is_skipped),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

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

/* Scans all of `src`; returns the number of tokens (excluding EOF). */
static int scan_all(const char *src, scanned *out, int max, vx_parser *p, vx_arena *arena, FILE **mem,
                    char **buf, size_t *len) {
  *mem = open_memstream(buf, len);
  vx_diag_options o = {.format = VX_DIAG_TEXT, .max_errors = 20, .out = *mem};
  *p = (vx_parser){.arena = arena, .diag = vx_diag_new(&o), .file = "s.vtx", .text = src, .len = strlen(src),
                   .line = 1, .col = 1};
  yyscan_t scanner;
  assert_int_equal(vx_yylex_init_extra(p, &scanner), 0);
  YY_BUFFER_STATE b = vx_yy_scan_bytes(src, (int)strlen(src), scanner);
  int n = 0;
  for (;;) {
    scanned s = {0};
    s.tok = vx_yylex(&s.val, &s.loc, scanner);
    if (s.tok == 0 || n == max)
      break;
    out[n++] = s;
  }
  vx_yy_delete_buffer(b, scanner);
  vx_yylex_destroy(scanner);
  fflush(*mem);
  return n;
}

static void test_tokens_and_locations(void **state) {
  (void)state;
  vx_arena arena;
  vx_arena_init(&arena);
  vx_parser p;
  FILE *mem;
  char *buf = NULL;
  size_t len;
  scanned t[32];
  int n = scan_all("algorithm quest {\n  x1 = 1.5e3 <= 42; // c\n /* multi\nline */ tok\n}", t, 32, &p, &arena,
                   &mem, &buf, &len);
  assert_int_equal(n, 11);
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
  assert_int_equal(vx_diag_error_count(p.diag), 0);
  vx_diag_free(p.diag);
  fclose(mem);
  free(buf);
  vx_arena_free(&arena);
}

static void test_lexical_errors_continue(void **state) {
  (void)state;
  vx_arena arena;
  vx_arena_init(&arena);
  vx_parser p;
  FILE *mem;
  char *buf = NULL;
  size_t len;
  scanned t[16];
  int n = scan_all("a @ 99999999999 $ b", t, 16, &p, &arena, &mem, &buf, &len);
  /* '@' and '$' are skipped with an error each, the overflowing literal
   * is still a token (value 0) so the parser keeps its structure. */
  assert_int_equal(n, 3);
  assert_int_equal(t[0].tok, TOK_IDENT);
  assert_int_equal(t[1].tok, TOK_INTLIT);
  assert_int_equal(t[2].tok, TOK_IDENT);
  assert_int_equal(vx_diag_error_count(p.diag), 3);
  assert_non_null(strstr(buf, "s.vtx:1:3: error: unexpected character '@'"));
  assert_non_null(strstr(buf, "s.vtx:1:5: error: integer literal '99999999999' is too large"));
  vx_diag_free(p.diag);
  fclose(mem);
  free(buf);
  vx_arena_free(&arena);
}

static void test_int_limit_boundary(void **state) {
  (void)state;
  vx_arena arena;
  vx_arena_init(&arena);
  vx_parser p;
  FILE *mem;
  char *buf = NULL;
  size_t len;
  scanned t[4];
  int n = scan_all("2147483647 2147483648", t, 4, &p, &arena, &mem, &buf, &len);
  assert_int_equal(n, 2);
  assert_true(t[0].val.num == 2147483647.0);
  assert_int_equal(vx_diag_error_count(p.diag), 1);
  vx_diag_free(p.diag);
  fclose(mem);
  free(buf);
  vx_arena_free(&arena);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_tokens_and_locations),
      cmocka_unit_test(test_lexical_errors_continue),
      cmocka_unit_test(test_int_limit_boundary),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

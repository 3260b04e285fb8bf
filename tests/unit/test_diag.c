/* Diagnostics rendering: header, quoted line, caret under tabs and
 * multi-byte text, notes and hints, colour, long lines, JSON lines,
 * the error cap. */
#include "test_util.h"

#include <jansson.h>

typedef struct capture {
  FILE *mem;
  char *buf;
  size_t len;
  vx_diag_engine *d;
} capture;

static void open_capture(capture *c, vx_diag_format fmt, bool color, int max_errors) {
  c->buf = NULL;
  c->mem = open_memstream(&c->buf, &c->len);
  vx_diag_options o = {.format = fmt, .max_errors = max_errors, .color = color, .out = c->mem};
  c->d = vx_diag_new(&o);
  assert_non_null(c->d);
}

static const char *text_of(capture *c) {
  fflush(c->mem);
  return c->buf;
}

static void close_capture(capture *c) {
  vx_diag_free(c->d);
  fclose(c->mem);
  free(c->buf);
}

static void test_caret_under_tab(void **state) {
  (void)state;
  capture c;
  open_capture(&c, VX_DIAG_TEXT, false, 20);
  const char *src = "a\n\tx = foo(1);\n";
  vx_diag_add_source(c.d, "f.vtx", src, strlen(src));
  vx_span sp = {2, 6, 2, 8}; /* "foo" */
  vx_diag_report(c.d, VX_SEV_ERROR, "unknown-function", "f.vtx", sp, "did you mean 'exp'?", "unknown function '%s'", "foo");
  assert_string_equal(text_of(&c), "f.vtx:2:6: error: unknown function 'foo'\n"
                                   "    2 |         x = foo(1);\n"
                                   "      |             ^~~\n"
                                   "hint: did you mean 'exp'?\n");
  close_capture(&c);
}

static void test_caret_after_multibyte(void **state) {
  (void)state;
  capture c;
  open_capture(&c, VX_DIAG_TEXT, false, 20);
  const char *src = "// \xc3\xa9\xc3\xa9 x\n"; /* two 2-byte characters */
  vx_diag_add_source(c.d, "u.vtx", src, strlen(src));
  vx_span sp = {1, 9, 1, 9}; /* byte column of 'x' */
  vx_diag_report(c.d, VX_SEV_WARNING, "w", "u.vtx", sp, NULL, "here");
  assert_non_null(strstr(text_of(&c), "      |       ^\n")); /* display column 7 */
  close_capture(&c);
}

static void test_note_follows_error(void **state) {
  (void)state;
  capture c;
  open_capture(&c, VX_DIAG_TEXT, false, 20);
  const char *src = "c = 1;\nc = 2;\n";
  vx_diag_add_source(c.d, "n.vtx", src, strlen(src));
  vx_diag_report(c.d, VX_SEV_ERROR, "duplicate-definition", "n.vtx", (vx_span){2, 1, 2, 1}, NULL, "redefinition of 'c'");
  vx_diag_report(c.d, VX_SEV_NOTE, "note", "n.vtx", (vx_span){1, 1, 1, 1}, NULL, "first defined here");
  const char *out = text_of(&c);
  const char *err = strstr(out, "n.vtx:2:1: error: redefinition of 'c'");
  const char *note = strstr(out, "n.vtx:1:1: note: first defined here");
  assert_non_null(err);
  assert_non_null(note);
  assert_true(err < note);
  assert_int_equal(vx_diag_error_count(c.d), 1); /* notes are not errors */
  close_capture(&c);
}

static void test_color_only_when_asked(void **state) {
  (void)state;
  capture c;
  open_capture(&c, VX_DIAG_TEXT, true, 20);
  vx_diag_report_plain(c.d, VX_SEV_ERROR, "x", "boom");
  assert_non_null(strstr(text_of(&c), "\033["));
  close_capture(&c);
  open_capture(&c, VX_DIAG_TEXT, false, 20);
  vx_diag_report_plain(c.d, VX_SEV_ERROR, "x", "boom");
  assert_null(strstr(text_of(&c), "\033["));
  assert_string_equal(text_of(&c), "vortexc: error: boom\n");
  close_capture(&c);
}

static void test_long_line_window(void **state) {
  (void)state;
  capture c;
  open_capture(&c, VX_DIAG_TEXT, false, 20);
  char src[2100];
  memset(src, 'a', 2000);
  memcpy(src + 1500, "BAD", 3);
  src[2000] = '\0';
  vx_diag_add_source(c.d, "l.vtx", src, 2000);
  vx_diag_report(c.d, VX_SEV_ERROR, "x", "l.vtx", (vx_span){1, 1501, 1, 1503}, NULL, "bad");
  const char *out = text_of(&c);
  const char *line2 = strchr(out, '\n') + 1;
  const char *line3 = strchr(line2, '\n') + 1;
  assert_true(strchr(line2, '\n') - line2 < 200); /* windowed, not 2000 columns */
  assert_non_null(strstr(line2, "...aaaa"));
  /* the caret sits under the 'B' of BAD */
  const char *caret = strchr(line3, '^');
  const char *bad = strstr(line2, "BAD");
  assert_int_equal(caret - line3, bad - line2);
  close_capture(&c);
}

static void test_json_lines(void **state) {
  (void)state;
  capture c;
  open_capture(&c, VX_DIAG_JSON, false, 20);
  const char *src = "score = s\"x;\n";
  vx_diag_add_source(c.d, "j.vtx", src, strlen(src));
  vx_diag_report(c.d, VX_SEV_ERROR, "undefined-name", "j.vtx", (vx_span){1, 9, 1, 11}, "did you mean 'sx'?",
                 "use of undefined name '%s'", "s\"x");
  vx_diag_report(c.d, VX_SEV_NOTE, "note", "j.vtx", (vx_span){1, 1, 1, 5}, NULL, "a note");
  const char *out = text_of(&c);
  char *second = strchr(out, '\n');
  assert_non_null(second);
  json_error_t err;
  json_t *o = json_loadb(out, (size_t)(second - out), 0, &err);
  assert_non_null(o);
  assert_string_equal(json_string_value(json_object_get(o, "file")), "j.vtx");
  assert_int_equal(json_integer_value(json_object_get(o, "line")), 1);
  assert_int_equal(json_integer_value(json_object_get(o, "column")), 9);
  assert_int_equal(json_integer_value(json_object_get(o, "end_column")), 11);
  assert_string_equal(json_string_value(json_object_get(o, "severity")), "error");
  assert_string_equal(json_string_value(json_object_get(o, "id")), "undefined-name");
  assert_string_equal(json_string_value(json_object_get(o, "message")), "use of undefined name 's\"x'");
  assert_string_equal(json_string_value(json_object_get(o, "hint")), "did you mean 'sx'?");
  json_decref(o);
  o = json_loads(second + 1, JSON_DISABLE_EOF_CHECK, &err);
  assert_non_null(o);
  assert_string_equal(json_string_value(json_object_get(o, "severity")), "note");
  assert_true(json_is_null(json_object_get(o, "hint")));
  json_decref(o);
  close_capture(&c);
}

static void test_error_cap_drops_notes(void **state) {
  (void)state;
  capture c;
  open_capture(&c, VX_DIAG_TEXT, false, 2);
  for (int i = 0; i < 4; i++) {
    vx_diag_report_plain(c.d, VX_SEV_ERROR, "x", "error %d", i);
    vx_diag_report_plain(c.d, VX_SEV_NOTE, "n", "note %d", i);
  }
  const char *out = text_of(&c);
  assert_true(vx_diag_should_stop(c.d));
  assert_int_equal(vx_diag_error_count(c.d), 2);
  assert_non_null(strstr(out, "note 1"));
  assert_null(strstr(out, "error 2"));
  assert_null(strstr(out, "note 2"));
  assert_non_null(strstr(out, "too many errors emitted"));
  close_capture(&c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_caret_under_tab),
      cmocka_unit_test(test_caret_after_multibyte),
      cmocka_unit_test(test_note_follows_error),
      cmocka_unit_test(test_color_only_when_asked),
      cmocka_unit_test(test_long_line_window),
      cmocka_unit_test(test_json_lines),
      cmocka_unit_test(test_error_cap_drops_notes),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

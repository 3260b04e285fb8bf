/* Command-line parsing and --model-config. */
#include "test_util.h"
#include "compiler/options.h"

static bool parse(vx_options *o, char **err, int argc, ...) {
  char *argv[32] = {"vortexc"};
  va_list ap;
  va_start(ap, argc);
  for (int i = 1; i <= argc; i++)
    argv[i] = va_arg(ap, char *);
  va_end(ap);
  size_t len;
  FILE *mem = open_memstream(err, &len);
  bool ok = vx_options_parse(o, argc + 1, argv, mem);
  fclose(mem);
  return ok;
}

static void test_defaults(void **state) {
  (void)state;
  vx_options o;
  char *err = NULL;
  assert_true(parse(&o, &err, 1, "a.vtx"));
  assert_string_equal(o.input, "a.vtx");
  assert_int_equal(o.emit, VX_EMIT_CUDA);
  assert_int_equal(o.opt_level, 2);
  assert_int_equal(o.max_errors, 20);
  assert_int_equal(o.geometry.head_dim, 128);
  assert_int_equal(o.geometry.group, 4);
  assert_int_equal(o.geometry.page_size, 16);
  assert_int_equal(o.geometry.kv_dtype, VX_DTYPE_BF16);
  assert_string_equal(o.geometry.arch, "sm_90a");
  assert_string_equal(err, "");
  vx_options_free(&o);
  free(err);
}

static void test_all_forms(void **state) {
  (void)state;
  vx_options o;
  char *err = NULL;
  assert_true(parse(&o, &err, 14, "a.vtx", "--emit=ast", "-o", "out.cu", "-D", "budget=128", "-Dx=0.5", "-O0",
                    "--max-errors=3", "--diagnostics=json", "--color=never", "--page-size=32", "--kv-dtype=f16",
                    "--dump-ir=after:cse"));
  assert_int_equal(o.emit, VX_EMIT_AST);
  assert_string_equal(o.output, "out.cu");
  assert_int_equal(o.ndefines, 2);
  assert_string_equal(o.defines[0].name, "budget");
  assert_string_equal(o.defines[0].value, "128");
  assert_string_equal(o.defines[1].name, "x");
  assert_int_equal(o.opt_level, 0);
  assert_int_equal(o.max_errors, 3);
  assert_int_equal(o.diag_format, VX_DIAG_JSON);
  assert_int_equal(o.color, VX_COLOR_NEVER);
  assert_int_equal(o.geometry.page_size, 32);
  assert_int_equal(o.geometry.kv_dtype, VX_DTYPE_F16);
  assert_string_equal(o.dump_ir, "after:cse");
  vx_options_free(&o);
  free(err);
}

static void test_bad_command_lines(void **state) {
  (void)state;
  vx_options o;
  char *err = NULL;
  assert_false(parse(&o, &err, 2, "a.vtx", "--emitt=ast"));
  assert_non_null(strstr(err, "vortexc: error: unknown option '--emitt=ast'"));
  assert_non_null(strstr(err, "did you mean '--emit'?"));
  vx_options_free(&o);
  free(err);
  const char *bad[][2] = {{"--emit=llvm", "unknown --emit kind"}, {"--max-errors=x", "non-negative integer"},
                          {"-Dbudget", "malformed -D"},           {"--page-size=0", "positive integer"},
                          {"--kv-dtype=fp8", "unsupported KV dtype"}, {"--dump-ir=before:x", "bad --dump-ir"}};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    err = NULL;
    assert_false(parse(&o, &err, 2, "a.vtx", bad[i][0]));
    if (!strstr(err, bad[i][1]))
      fail_msg("%s: got '%s'", bad[i][0], err);
    vx_options_free(&o);
    free(err);
  }
  err = NULL;
  assert_false(parse(&o, &err, 0));
  assert_non_null(strstr(err, "no input file"));
  vx_options_free(&o);
  free(err);
}

static void load_config(vx_options *o, const char *json, bool expect_ok, char **diag_out) {
  char path[] = "/tmp/vx_cfg_XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  FILE *f = fdopen(fd, "w");
  fputs(json, f);
  fclose(f);
  o->model_config = path;
  size_t len;
  FILE *mem = open_memstream(diag_out, &len);
  vx_diag_options dopts = {.format = VX_DIAG_TEXT, .max_errors = 20, .out = mem};
  vx_diag_engine *d = vx_diag_new(&dopts);
  assert_int_equal(vx_model_config_load(o, d), expect_ok);
  vx_diag_free(d);
  fclose(mem);
  unlink(path);
}

static void test_model_config(void **state) {
  (void)state;
  vx_options o;
  char *err = NULL, *diag = NULL;
  assert_true(parse(&o, &err, 1, "a.vtx"));
  load_config(&o, "{\"num_attention_heads\": 16, \"num_key_value_heads\": 8, \"hidden_size\": 2048}", true, &diag);
  assert_int_equal(o.geometry.head_dim, 128);
  assert_int_equal(o.geometry.group, 2);
  assert_false(o.geometry.mla);
  free(diag);
  load_config(&o, "{\"num_attention_heads\": 32, \"kv_lora_rank\": 512, \"qk_rope_head_dim\": 64}", true, &diag);
  assert_true(o.geometry.mla);
  assert_int_equal(o.geometry.mla_latent, 512);
  assert_int_equal(o.geometry.mla_rope, 64);
  assert_int_equal(o.geometry.group, 32);
  assert_int_equal(o.geometry.head_dim, 576);
  free(diag);
  load_config(&o, "{\"hidden_size\": 2048", false, &diag);
  assert_non_null(strstr(diag, "cannot read model config"));
  free(diag);
  vx_options_free(&o);
  free(err);

  /* explicit flags win over the config */
  assert_true(parse(&o, &err, 2, "a.vtx", "--group=3"));
  load_config(&o, "{\"num_attention_heads\": 16, \"num_key_value_heads\": 8, \"head_dim\": 64}", true, &diag);
  assert_int_equal(o.geometry.group, 3);
  assert_int_equal(o.geometry.head_dim, 64);
  free(diag);
  vx_options_free(&o);
  free(err);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_defaults),
      cmocka_unit_test(test_all_forms),
      cmocka_unit_test(test_bad_command_lines),
      cmocka_unit_test(test_model_config),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

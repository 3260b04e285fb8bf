/* clang_abi HEADER.h ALG CUDA_INCLUDE_DIR: parses a generated header as C17
 * with libclang and checks that it is clean and declares the documented C
 * ABI: every launcher with exactly the expected result and parameter types,
 * and the vx_paged_kv descriptor. (Only the header is parsed: clang-14's
 * CUDA mode does not accept CUDA 13's headers, and the .cu is covered by
 * the nvcc and NVRTC checks.) */
#include <clang-c/Index.h>
#include <stdio.h>
#include <string.h>

typedef struct expected_fn {
  const char *suffix;
  const char *result;
  int nparams;
  const char *params[12];
} expected_fn;

#define KV "const vx_paged_kv *"
static const expected_fn expected[] = {
    {"workspace_size", "size_t", 3, {"int", "int", "int"}},
    {"field_bytes_per_page", "size_t", 0, {NULL}},
    {"state_bytes", "size_t", 3, {"int", "int", "int"}},
    {"state_init", "int", 5, {"float *", "int", "int", "int", "cudaStream_t"}},
    {"cache_update", "int", 4, {KV, "void *const *", "int", "cudaStream_t"}},
    {"cache_update_last", "int", 4, {KV, "void *const *", "int", "cudaStream_t"}},
    {"index", "int", 11, {KV, "const void *", "void *const *", "const float *", "float *", "int", "int *", "int *", "void *",
                          "size_t", "cudaStream_t"}},
    {"attend", "int", 10, {KV, "const void *", "const int *", "const int *", "int", "float", "void *", "void *", "size_t",
                           "cudaStream_t"}},
    {"step", "int", 12, {KV, "const void *", "void *const *", "const float *", "float *", "int", "int", "float", "void *",
                         "void *", "size_t", "cudaStream_t"}},
};
#undef KV

typedef struct search {
  const char *name;
  CXCursor found;
  int hits;
} search;

static enum CXChildVisitResult find_decl(CXCursor c, CXCursor parent, CXClientData data) {
  (void)parent;
  search *s = data;
  enum CXCursorKind k = clang_getCursorKind(c);
  if (k == CXCursor_FunctionDecl || k == CXCursor_StructDecl) {
    CXString sp = clang_getCursorSpelling(c);
    if (strcmp(clang_getCString(sp), s->name) == 0 && (k != CXCursor_StructDecl || clang_isCursorDefinition(c))) {
      s->found = c;
      s->hits++;
    }
    clang_disposeString(sp);
  }
  return CXChildVisit_Continue;
}

static int same_type(CXType t, const char *want, const char *what, const char *fn) {
  CXString sp = clang_getTypeSpelling(t);
  int ok = strcmp(clang_getCString(sp), want) == 0;
  if (!ok) fprintf(stderr, "%s: %s is '%s', expected '%s'\n", fn, what, clang_getCString(sp), want);
  clang_disposeString(sp);
  return ok;
}

static enum CXChildVisitResult count_fields(CXCursor c, CXCursor parent, CXClientData data) {
  (void)parent;
  if (clang_getCursorKind(c) == CXCursor_FieldDecl) ++*(int *)data;
  return CXChildVisit_Continue;
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: %s HEADER.h ALG CUDA_INCLUDE_DIR\n", argv[0]);
    return 2;
  }
  char include[4096];
  snprintf(include, sizeof include, "-I%s", argv[3]);
  const char *args[] = {"-x", "c", "-std=c17", "-Wall", "-Wextra", "-Wstrict-prototypes", include};
  CXIndex index = clang_createIndex(0, 0);
  CXTranslationUnit tu = clang_parseTranslationUnit(index, argv[1], args, (int)(sizeof args / sizeof args[0]), NULL, 0,
                                                    CXTranslationUnit_SkipFunctionBodies);
  int failures = 0;
  if (!tu) {
    fprintf(stderr, "%s: libclang could not parse the header\n", argv[1]);
    clang_disposeIndex(index);
    return 1;
  }
  for (unsigned i = 0; i < clang_getNumDiagnostics(tu); i++) {
    CXDiagnostic d = clang_getDiagnostic(tu, i);
    if (clang_getDiagnosticSeverity(d) >= CXDiagnostic_Warning) {
      CXString text = clang_formatDiagnostic(d, clang_defaultDiagnosticDisplayOptions());
      fprintf(stderr, "%s\n", clang_getCString(text));
      clang_disposeString(text);
      failures++;
    }
    clang_disposeDiagnostic(d);
  }
  CXCursor root = clang_getTranslationUnitCursor(tu);
  for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++) {
    const expected_fn *e = &expected[i];
    char name[256];
    snprintf(name, sizeof name, "%s_%s", argv[2], e->suffix);
    search s = {name, clang_getNullCursor(), 0};
    clang_visitChildren(root, find_decl, &s);
    if (s.hits != 1) {
      fprintf(stderr, "%s: declared %d times, expected once\n", name, s.hits);
      failures++;
      continue;
    }
    CXType ft = clang_getCursorType(s.found);
    failures += !same_type(clang_getResultType(ft), e->result, "result", name);
    if (clang_getNumArgTypes(ft) != e->nparams) {
      fprintf(stderr, "%s: %d parameters, expected %d\n", name, clang_getNumArgTypes(ft), e->nparams);
      failures++;
      continue;
    }
    for (int p = 0; p < e->nparams; p++) {
      char what[32];
      snprintf(what, sizeof what, "parameter %d", p + 1);
      failures += !same_type(clang_getArgType(ft, (unsigned)p), e->params[p], what, name);
    }
  }
  search kv = {"vx_paged_kv", clang_getNullCursor(), 0};
  clang_visitChildren(root, find_decl, &kv);
  int fields = 0;
  if (kv.hits == 1) clang_visitChildren(kv.found, count_fields, &fields);
  if (fields < 10) {
    fprintf(stderr, "struct vx_paged_kv: %d definitions with %d fields\n", kv.hits, fields);
    failures++;
  }
  clang_disposeTranslationUnit(tu);
  clang_disposeIndex(index);
  if (failures == 0) printf("%s: C ABI of %s ok (%zu launchers, vx_paged_kv with %d fields)\n", argv[1], argv[2],
                            sizeof expected / sizeof expected[0], fields);
  return failures == 0 ? 0 : 1;
}

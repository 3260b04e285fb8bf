/* nvrtc_check FILE.cu CUDA_INCLUDE_DIR [OPTION...] [--expect=KERNEL...]:
 * compiles a generated .cu through NVRTC in-process for sm_90a (no GPU
 * needed), with a tuning build's options (-DVX_STEP_FUSE=1) if given, and
 * fails on any error or warning in the log, the way libvortexrt's run-time
 * loader would see it, or when the cubin lacks an expected kernel's name. */
#include <nvrtc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *read_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  char *text = NULL;
  if (fseek(f, 0, SEEK_END) == 0) {
    long n = ftell(f);
    if (n >= 0 && fseek(f, 0, SEEK_SET) == 0 && (text = malloc((size_t)n + 1)) != NULL) {
      if (fread(text, 1, (size_t)n, f) != (size_t)n) {
        free(text);
        text = NULL;
      } else {
        text[n] = '\0';
      }
    }
  }
  fclose(f);
  return text;
}

/* 0 when the cubin holds every expected kernel's name (its symbol table
 * does: extern "C" names as written), 1 with a message otherwise. */
static int missing_kernels(nvrtcProgram prog, size_t cubin_size, const char *const *expect, int nexpect) {
  if (nexpect == 0) return 0;
  char *cubin = malloc(cubin_size);
  int missing = cubin ? 0 : nexpect;
  if (cubin && nvrtcGetCUBIN(prog, cubin) != NVRTC_SUCCESS) missing = nexpect;
  for (int i = 0; cubin && missing == 0 && i < nexpect; i++) {
    const size_t len = strlen(expect[i]);
    int found = 0;
    for (size_t at = 0; !found && at + len <= cubin_size; at++) found = memcmp(cubin + at, expect[i], len) == 0;
    if (!found) {
      fprintf(stderr, "no kernel %s in the cubin\n", expect[i]);
      missing++;
    }
  }
  free(cubin);
  return missing ? 1 : 0;
}

int main(int argc, char **argv) {
  enum { MAX_EXTRA = 8 };
  if (argc < 3 || argc > 3 + MAX_EXTRA) {
    fprintf(stderr, "usage: %s FILE.cu CUDA_INCLUDE_DIR [OPTION...] (at most %d options)\n", argv[0], MAX_EXTRA);
    return 2;
  }
  char *src = read_file(argv[1]);
  if (!src) {
    fprintf(stderr, "cannot read %s\n", argv[1]);
    return 1;
  }
  char include[4096];
  snprintf(include, sizeof include, "-I%s", argv[2]);
  const char *opts[3 + MAX_EXTRA] = {"-arch=sm_90a", "-std=c++17", include};
  const char *expect[MAX_EXTRA];
  int nopts = 3, nexpect = 0;
  for (int i = 3; i < argc; i++) {
    if (strncmp(argv[i], "--expect=", 9) == 0)
      expect[nexpect++] = argv[i] + 9;
    else
      opts[nopts++] = argv[i];
  }
  nvrtcProgram prog;
  int status = 1;
  if (nvrtcCreateProgram(&prog, src, argv[1], 0, NULL, NULL) != NVRTC_SUCCESS) {
    fprintf(stderr, "nvrtcCreateProgram failed\n");
    free(src);
    return 1;
  }
  nvrtcResult rc = nvrtcCompileProgram(prog, nopts, opts);
  size_t log_size = 0;
  nvrtcGetProgramLogSize(prog, &log_size);
  char *log = malloc(log_size + 1);
  if (log && nvrtcGetProgramLog(prog, log) == NVRTC_SUCCESS) {
    log[log_size] = '\0';
    if (log_size > 1) fprintf(stderr, "%s\n", log);
  }
  /* NVRTC has no warnings-as-errors switch: any warning in the log fails. */
  const int warned = log && strstr(log, "warning") != NULL;
  size_t cubin = 0;
  if (rc == NVRTC_SUCCESS && !warned && nvrtcGetCUBINSize(prog, &cubin) == NVRTC_SUCCESS && cubin > 0) {
    printf("%s: NVRTC ok, %zu bytes of sm_90a code\n", argv[1], cubin);
    status = missing_kernels(prog, cubin, expect, nexpect);
  } else {
    fprintf(stderr, "%s: NVRTC failed: %s\n", argv[1], nvrtcGetErrorString(rc));
  }
  free(log);
  nvrtcDestroyProgram(&prog);
  free(src);
  return status;
}

/* nvrtc_check FILE.cu CUDA_INCLUDE_DIR: compiles a generated .cu through
 * NVRTC in-process for sm_90a (no GPU needed) and fails on any error or
 * warning in the log, the way libvortexrt's run-time loader would see it. */
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

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s FILE.cu CUDA_INCLUDE_DIR\n", argv[0]);
    return 2;
  }
  char *src = read_file(argv[1]);
  if (!src) {
    fprintf(stderr, "cannot read %s\n", argv[1]);
    return 1;
  }
  char include[4096];
  snprintf(include, sizeof include, "-I%s", argv[2]);
  const char *opts[] = {"-arch=sm_90a", "-std=c++17", include};
  nvrtcProgram prog;
  int status = 1;
  if (nvrtcCreateProgram(&prog, src, argv[1], 0, NULL, NULL) != NVRTC_SUCCESS) {
    fprintf(stderr, "nvrtcCreateProgram failed\n");
    free(src);
    return 1;
  }
  nvrtcResult rc = nvrtcCompileProgram(prog, (int)(sizeof opts / sizeof opts[0]), opts);
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
    status = 0;
  } else {
    fprintf(stderr, "%s: NVRTC failed: %s\n", argv[1], nvrtcGetErrorString(rc));
  }
  free(log);
  nvrtcDestroyProgram(&prog);
  free(src);
  return status;
}

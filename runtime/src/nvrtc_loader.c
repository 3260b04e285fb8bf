/* nvrtc_loader.c - compile generated CUDA C at run time, cache cubins.
 *
 * Engines load vortexc's output without an nvcc step; the on-disk cache
 * turns the multi-second NVRTC compile into a file read after the first
 * run. The cache key covers everything that decides the cubin: NVRTC
 * version, target arch, every option but the loader's -split-compile
 * (nvrtc_options.c says why) and the source. Entries are written to a
 * temporary file and renamed, so concurrent processes never see a torn
 * cubin. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nvrtc.h>

#include "vxrt_internal.h"

#ifdef VXRT_HAVE_XXHASH
#define VXRT_HASH_NAME "xxh3"
#else
#define VXRT_HASH_NAME "fnv1a"
#endif

struct vxrt_module {
  cudaLibrary_t library;
  int from_cache;
};

static uint64_t cache_key(const char *source, const vxrt_nvrtc_options *ol) {
  int major = 0, minor = 0;
  nvrtcVersion(&major, &minor);
  char head[64];
  int n = snprintf(head, sizeof head, "vxrt1 nvrtc %d.%d", major, minor);
  uint64_t h = vxrt_hash64(head, (size_t)n, 0);
  for (int i = 0; i < ol->keyed; ++i) h = vxrt_hash64(ol->items[i], strlen(ol->items[i]) + 1, h);
  return vxrt_hash64(source, strlen(source), h);
}

static int current_arch(int *arch, char *err, size_t errlen) {
  int dev = 0, major = 0, minor = 0;
  cudaError_t ce = cudaGetDevice(&dev);
  if (ce == cudaSuccess) ce = cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, dev);
  if (ce == cudaSuccess) ce = cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, dev);
  if (ce != cudaSuccess) {
    vxrt_fail(err, errlen, VXRT_ERROR_CUDA, "cannot query the current GPU: %s", cudaGetErrorString(ce));
    return 0;
  }
  *arch = major * 10 + minor;
  return 1;
}

/* Reads a whole file; NULL when absent, unreadable or not an ELF image (a
 * cache miss: a truncated or foreign file is recompiled and replaced). */
static void *read_file(const char *path, size_t *size) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  void *buf = NULL;
  long len = -1;
  if (fseek(f, 0, SEEK_END) == 0) len = ftell(f);
  if (len > 0 && fseek(f, 0, SEEK_SET) == 0) {
    buf = malloc((size_t)len);
    if (buf && fread(buf, 1, (size_t)len, f) != (size_t)len) {
      free(buf);
      buf = NULL;
    }
  }
  fclose(f);
  if (buf && (len < 4 || memcmp(buf, "\x7f" "ELF", 4) != 0)) {
    free(buf);
    buf = NULL;
  }
  if (buf) *size = (size_t)len;
  return buf;
}

static vxrt_status write_file_atomic(const char *path, const void *data, size_t size, char *err, size_t errlen) {
  char tmp[4200];
  snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
  FILE *f = fopen(tmp, "wb");
  if (!f) return vxrt_fail(err, errlen, VXRT_ERROR_IO, "cannot create %s: %s", tmp, strerror(errno));
  const int ok = fwrite(data, 1, size, f) == size;
  if (fclose(f) != 0 || !ok) {
    remove(tmp);
    return vxrt_fail(err, errlen, VXRT_ERROR_IO, "cannot write %s", tmp);
  }
  if (rename(tmp, path) != 0) {
    const int e = errno;
    remove(tmp);
    return vxrt_fail(err, errlen, VXRT_ERROR_IO, "cannot rename %s to %s: %s", tmp, path, strerror(e));
  }
  return VXRT_SUCCESS;
}

/* NVRTC source -> cubin (malloc'd). The log goes to err on failure. */
static vxrt_status compile(const char *source, vxrt_nvrtc_options *ol, void **cubin, size_t *size, char *err,
                           size_t errlen) {
  nvrtcProgram prog;
  nvrtcResult r = nvrtcCreateProgram(&prog, source, "vortexc_generated.cu", 0, NULL, NULL);
  if (r != NVRTC_SUCCESS) return vxrt_fail(err, errlen, VXRT_ERROR_NVRTC, "nvrtcCreateProgram: %s", nvrtcGetErrorString(r));
  vxrt_status st = VXRT_SUCCESS;
  r = nvrtcCompileProgram(prog, ol->count, ol->items);
  /* An NVRTC older than -split-compile rejects it: build on one thread. */
  if (r == NVRTC_ERROR_INVALID_OPTION && vxrt_nvrtc_options_drop_unkeyed(ol))
    r = nvrtcCompileProgram(prog, ol->count, ol->items);
  if (r != NVRTC_SUCCESS) {
    size_t log_size = 0;
    char *log = NULL;
    if (nvrtcGetProgramLogSize(prog, &log_size) == NVRTC_SUCCESS && log_size > 0) log = malloc(log_size);
    if (log && nvrtcGetProgramLog(prog, log) != NVRTC_SUCCESS) log[0] = '\0';
    st = vxrt_fail(err, errlen, VXRT_ERROR_NVRTC, "%s:\n%s", nvrtcGetErrorString(r), log ? log : "(no log)");
    free(log);
  } else if ((r = nvrtcGetCUBINSize(prog, size)) != NVRTC_SUCCESS || !(*cubin = malloc(*size))) {
    st = r != NVRTC_SUCCESS ? vxrt_fail(err, errlen, VXRT_ERROR_NVRTC, "nvrtcGetCUBINSize: %s", nvrtcGetErrorString(r))
                            : vxrt_fail(err, errlen, VXRT_ERROR_OUT_OF_MEMORY, "no memory for a %zu-byte cubin", *size);
  } else if ((r = nvrtcGetCUBIN(prog, (char *)*cubin)) != NVRTC_SUCCESS) {
    free(*cubin);
    *cubin = NULL;
    st = vxrt_fail(err, errlen, VXRT_ERROR_NVRTC, "nvrtcGetCUBIN: %s", nvrtcGetErrorString(r));
  }
  nvrtcDestroyProgram(&prog);
  return st;
}

vxrt_status vxrt_module_load_source(const char *source, const char *const *options, int arch, const char *cache_dir,
                                    vxrt_module **module, char *err, size_t errlen) {
  vxrt_clear_error(err, errlen);
  if (!source || !module) return vxrt_fail(err, errlen, VXRT_ERROR_NULL_POINTER, "source and module must be non-NULL");
  *module = NULL;
  if (arch == 0 && !current_arch(&arch, err, errlen)) return VXRT_ERROR_CUDA;
  if (arch < 50 || arch > 1000) return vxrt_fail(err, errlen, VXRT_ERROR_INVALID_VALUE, "arch = %d is not a compute capability", arch);

  vxrt_nvrtc_options *ol = malloc(sizeof *ol);
  if (!ol) return vxrt_fail(err, errlen, VXRT_ERROR_OUT_OF_MEMORY, "no memory for options");
  vxrt_status st = vxrt_nvrtc_options_build(options, arch, ol, err, errlen);
  char path[4200] = "";
  void *cubin = NULL;
  size_t size = 0;
  int from_cache = 0;
  if (st == VXRT_SUCCESS && cache_dir) {
    if (mkdir(cache_dir, 0755) != 0 && errno != EEXIST)
      st = vxrt_fail(err, errlen, VXRT_ERROR_IO, "cannot create cache directory %s: %s", cache_dir, strerror(errno));
    snprintf(path, sizeof path, "%s/vxrt-%s-%016llx.cubin", cache_dir, VXRT_HASH_NAME,
             (unsigned long long)cache_key(source, ol));
    if (st == VXRT_SUCCESS) from_cache = (cubin = read_file(path, &size)) != NULL;
  }
  if (st == VXRT_SUCCESS && !cubin) st = compile(source, ol, &cubin, &size, err, errlen);
  if (st == VXRT_SUCCESS && cache_dir && !from_cache) st = write_file_atomic(path, cubin, size, err, errlen);
  free(ol);

  vxrt_module *m = NULL;
  if (st == VXRT_SUCCESS && !(m = calloc(1, sizeof *m)))
    st = vxrt_fail(err, errlen, VXRT_ERROR_OUT_OF_MEMORY, "no memory for a module");
  if (st == VXRT_SUCCESS) {
    const cudaError_t ce = cudaLibraryLoadData(&m->library, cubin, NULL, NULL, 0, NULL, NULL, 0);
    if (ce != cudaSuccess) {
      st = vxrt_fail(err, errlen, VXRT_ERROR_CUDA, "cannot load the cubin: %s", cudaGetErrorString(ce));
      free(m);
      m = NULL;
    }
  }
  free(cubin);
  if (m) {
    m->from_cache = from_cache;
    *module = m;
  }
  return st;
}

vxrt_status vxrt_module_get_function(const vxrt_module *module, const char *name, cudaKernel_t *kernel, char *err,
                                     size_t errlen) {
  vxrt_clear_error(err, errlen);
  if (!module || !name || !kernel)
    return vxrt_fail(err, errlen, VXRT_ERROR_NULL_POINTER, "module, name and kernel must be non-NULL");
  const cudaError_t ce = cudaLibraryGetKernel(kernel, module->library, name);
  if (ce == cudaErrorSymbolNotFound || ce == cudaErrorInvalidDeviceFunction) {
    cudaGetLastError(); /* do not leave the miss for the next launch check */
    return vxrt_fail(err, errlen, VXRT_ERROR_NOT_FOUND, "no kernel named '%s' (is it extern \"C\"?)", name);
  }
  if (ce != cudaSuccess) return vxrt_fail(err, errlen, VXRT_ERROR_CUDA, "cudaLibraryGetKernel(%s): %s", name, cudaGetErrorString(ce));
  return VXRT_SUCCESS;
}

int vxrt_module_from_cache(const vxrt_module *module) { return module ? module->from_cache : 0; }

void vxrt_module_unload(vxrt_module *module) {
  if (!module) return;
  cudaLibraryUnload(module->library);
  free(module);
}

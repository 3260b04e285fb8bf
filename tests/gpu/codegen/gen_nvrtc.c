/* gen_nvrtc.c - runs a generated module's own kernels as NVRTC builds them.
 *
 * Why: NVRTC and nvcc do not emit the same machine code for a generated
 * .cu (NVRTC keeps shared-memory addresses in 64 bits, nvcc in 32), so the
 * nvcc build that gen_check checks against the interpreter says nothing
 * about what an engine loading the .cu at run time executes.
 *
 * How: ALG.so, built by nvcc with -cudart shared, keeps its host code (the
 * launch plans, shared-memory sizes, PDL attributes). This file, linked
 * into gen_check_nvrtc with -rdynamic, defines the runtime's two launch
 * entry points, so the dynamic linker binds ALG.so's launches to them:
 *   cudaLaunchKernelExC  (vx_launch: the index kernels)
 *   __cudaLaunchKernel   (the <<<>>> launches of the cache kernels; the
 *                         CUDA 13 header's own declaration)
 * A launch of a kernel that ALG.so registered under a C name (the
 * source's extern "C" kernels) goes to its twin from
 * vxrt_module_load_source (libvortexrt's loader, the product path: its
 * options, its split compile); every other launch (the runtime's
 * templated attention and merge kernels, also libvortexrt's own) goes to
 * the CUDA runtime unchanged. The kernels' host stubs are local symbols of
 * ALG.so (nvcc's whole-program build), out of dlsym's reach, so a third
 * interposer, __cudaRegisterFunction, records each stub with its device
 * name while ALG.so loads. Interposed functions see only their own
 * arguments, so the maps live at file scope. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* RTLD_NEXT */
#endif
#include "gen_nvrtc.h"

#include <cuda_runtime_api.h>
#include <dlfcn.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vortexrt.h"

#define GEN_NVRTC_MAX_KERNELS 32
#define GEN_NVRTC_MAX_REGISTERED 256
#define GEN_NVRTC_MAX_OPTIONS 16

/* The runtime's handle of a registered kernel; exported by libcudart and
 * declared for C++ only (crt/device_functions.h). */
extern cudaError_t CUDARTAPI __cudaGetKernel(cudaKernel_t *kernel, const void *stub);
/* What nvcc's <<<>>> stubs call (crt/device_functions.h, C++ only): defined below. */
cudaError_t CUDARTAPI __cudaLaunchKernel(cudaKernel_t kernel, dim3 grid, dim3 block, void **args, size_t smem,
                                         cudaStream_t stream);

static struct {
  int n;
  const void *stub[GEN_NVRTC_MAX_KERNELS]; /* host stub in ALG.so: what vx_launch passes */
  cudaKernel_t nvcc[GEN_NVRTC_MAX_KERNELS]; /* its handle: what a <<<>>> launch passes */
  cudaKernel_t twin[GEN_NVRTC_MAX_KERNELS]; /* the NVRTC build's kernel of the same name */
  char name[GEN_NVRTC_MAX_KERNELS][128];
  long launches_of[GEN_NVRTC_MAX_KERNELS];
  long launches;
  vxrt_module *module;
} redirect;

/* What nvcc's registration code (crt/host_runtime.h) calls for every kernel
 * of a module as it loads: defined below. */
void CUDARTAPI __cudaRegisterFunction(void **fat_cubin, const char *host_fun, char *device_fun, const char *device_name,
                                      int thread_limit, uint3 *tid, uint3 *bid, dim3 *block, dim3 *grid, int *warp_size);

/* Every kernel registered since the program started: its host stub and
 * device name (a string of the loaded module, valid while it stays loaded). */
static struct {
  int n;
  const void *stub[GEN_NVRTC_MAX_REGISTERED];
  const char *name[GEN_NVRTC_MAX_REGISTERED];
  int dropped; /* registrations past the table: setup refuses to map from it */
} registered;

static int find_stub(const void *func) {
  for (int i = 0; i < redirect.n; i++)
    if (redirect.stub[i] == func) return i;
  return -1;
}

static int find_handle(cudaKernel_t kernel) {
  for (int i = 0; i < redirect.n; i++)
    if (redirect.nvcc[i] == kernel) return i;
  return -1;
}

void CUDARTAPI __cudaRegisterFunction(void **fat_cubin, const char *host_fun, char *device_fun, const char *device_name,
                                      int thread_limit, uint3 *tid, uint3 *bid, dim3 *block, dim3 *grid, int *warp_size) {
  typedef void (*register_fn)(void **, const char *, char *, const char *, int, uint3 *, uint3 *, dim3 *, dim3 *, int *);
  static register_fn real;
  if (!real) real = (register_fn)dlsym(RTLD_NEXT, "__cudaRegisterFunction");
  if (registered.n < GEN_NVRTC_MAX_REGISTERED) {
    registered.stub[registered.n] = host_fun;
    registered.name[registered.n] = device_name;
    registered.n++;
  } else {
    registered.dropped++;
  }
  /* Without the runtime's own, nothing of the module could launch: say so where it shows. */
  if (!real) {
    fprintf(stderr, "gen_nvrtc: no __cudaRegisterFunction after this executable's\n");
    return;
  }
  real(fat_cubin, host_fun, device_fun, device_name, thread_limit, tid, bid, block, grid, warp_size);
}

/* Whether lib (its link map) registered entry i. */
static int registered_by(const struct link_map *map, int i) {
  Dl_info where;
  return dladdr(registered.stub[i], &where) && where.dli_fbase == (void *)map->l_addr;
}

cudaError_t CUDARTAPI cudaLaunchKernelExC(const cudaLaunchConfig_t *config, const void *func, void **args) {
  typedef cudaError_t (*launch_ex_fn)(const cudaLaunchConfig_t *, const void *, void **);
  static launch_ex_fn real;
  if (!real) real = (launch_ex_fn)dlsym(RTLD_NEXT, "cudaLaunchKernelExC");
  if (!real) return cudaErrorSymbolNotFound;
  const int i = find_stub(func);
  if (i < 0) return real(config, func, args);
  /* The launcher raised the nvcc kernel's shared-memory limit; the twin needs its own. */
  if (config->dynamicSmemBytes > 48 * 1024) {
    const cudaError_t e = cudaFuncSetAttribute((const void *)redirect.twin[i], cudaFuncAttributeMaxDynamicSharedMemorySize,
                                               (int)config->dynamicSmemBytes);
    if (e != cudaSuccess) return e;
  }
  redirect.launches++;
  redirect.launches_of[i]++;
  return real(config, (const void *)redirect.twin[i], args);
}

cudaError_t CUDARTAPI __cudaLaunchKernel(cudaKernel_t kernel, dim3 grid, dim3 block, void **args, size_t smem,
                                         cudaStream_t stream) {
  typedef cudaError_t (*launch_fn)(cudaKernel_t, dim3, dim3, void **, size_t, cudaStream_t);
  static launch_fn real;
  const int i = find_handle(kernel);
  if (i >= 0) {
    redirect.launches++;
    redirect.launches_of[i]++;
    return cudaLaunchKernel((const void *)redirect.twin[i], grid, block, args, smem, stream);
  }
  if (!real) real = (launch_fn)dlsym(RTLD_NEXT, "__cudaLaunchKernel");
  if (!real) return cudaErrorSymbolNotFound;
  return real(kernel, grid, block, args, smem, stream);
}

int gen_nvrtc_setup(void *lib, const char *source, const char *source_name, const char *options) {
  /* options: split at spaces into a NULL-terminated list */
  char *opt_text = strdup(options ? options : "");
  const char *opts[GEN_NVRTC_MAX_OPTIONS + 1];
  int nopts = 0;
  for (char *save = NULL, *t = strtok_r(opt_text, " ", &save); t && nopts < GEN_NVRTC_MAX_OPTIONS;
       t = strtok_r(NULL, " ", &save))
    opts[nopts++] = t;
  opts[nopts] = NULL;
  char err[4096];
  /* No cache directory: every run compiles what it checks. */
  const vxrt_status st = vxrt_module_load_source(source, opts, 0, NULL, &redirect.module, err, sizeof err);
  int mapped = -1;
  if (st != VXRT_SUCCESS) {
    fprintf(stderr, "gen_nvrtc: %s: %s\n", source_name, err);
    goto done;
  }
  if (registered.dropped) {
    fprintf(stderr, "gen_nvrtc: %d kernel registrations past the table of %d\n", registered.dropped,
            GEN_NVRTC_MAX_REGISTERED);
    goto done;
  }
  struct link_map *map = NULL;
  if (dlinfo(lib, RTLD_DI_LINKMAP, &map) != 0 || !map) {
    fprintf(stderr, "gen_nvrtc: no link map for %s: %s\n", source_name, dlerror());
    goto done;
  }
  mapped = 0;
  /* The kernels lib registered under C names: the source's extern "C" ones
   * that its build kept (the runtime's templated kernels carry mangled _Z
   * names and stay nvcc's). */
  for (int i = 0; i < registered.n; i++) {
    const char *name = registered.name[i];
    const void *stub = registered.stub[i];
    if (strncmp(name, "_Z", 2) == 0 || !registered_by(map, i)) continue;
    cudaKernel_t twin, nvcc;
    if (vxrt_module_get_function(redirect.module, name, &twin, err, sizeof err) != VXRT_SUCCESS) {
      fprintf(stderr, "gen_nvrtc: %s is in the nvcc build but not in NVRTC's: %s\n", name, err);
      mapped = -1;
      goto done;
    }
    if (__cudaGetKernel(&nvcc, stub) != cudaSuccess || redirect.n == GEN_NVRTC_MAX_KERNELS) {
      fprintf(stderr, "gen_nvrtc: cannot map %s\n", name);
      mapped = -1;
      goto done;
    }
    redirect.stub[redirect.n] = stub;
    redirect.nvcc[redirect.n] = nvcc;
    redirect.twin[redirect.n] = twin;
    snprintf(redirect.name[redirect.n], sizeof redirect.name[redirect.n], "%s", name);
    redirect.n++;
    printf("nvrtc: %s -> NVRTC build\n", name);
    mapped++;
  }
done:
  free(opt_text);
  if (mapped < 0) gen_nvrtc_release(); /* nothing half-mapped stays behind */
  return mapped;
}

long gen_nvrtc_launches(void) { return redirect.launches; }

void gen_nvrtc_print_launches(void) {
  for (int i = 0; i < redirect.n; i++) printf("nvrtc: %s launched %ld times\n", redirect.name[i], redirect.launches_of[i]);
}

void gen_nvrtc_release(void) {
  vxrt_module_unload(redirect.module);
  memset(&redirect, 0, sizeof redirect);
}

/* interpose_probe LIB.so: exit 0 when LIB.so's kernel registration and
 * both launches of its interpose_probe_launch reach this executable's
 * definitions of the CUDA runtime's entry points (the way gen_nvrtc.c finds
 * a module's kernels and sends their launches to NVRTC-built twins), and
 * the launch passes the host stub the registration named, 1 otherwise. Needs no GPU: nothing is
 * launched. A CUDA toolkit whose <<<>>> stubs call another entry point
 * fails here, on the CPU, rather than in a device call. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <cuda_runtime_api.h>
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

cudaError_t CUDARTAPI __cudaLaunchKernel(cudaKernel_t kernel, dim3 grid, dim3 block, void **args, size_t smem,
                                         cudaStream_t stream);

void CUDARTAPI __cudaRegisterFunction(void **fat_cubin, const char *host_fun, char *device_fun, const char *device_name,
                                      int thread_limit, uint3 *tid, uint3 *bid, dim3 *block, dim3 *grid, int *warp_size);

/* interposed functions see only their arguments */
static int launches_ex, launches_stub, registrations;
static const void *registered_stub, *launched_stub;

void CUDARTAPI __cudaRegisterFunction(void **fat_cubin, const char *host_fun, char *device_fun, const char *device_name,
                                      int thread_limit, uint3 *tid, uint3 *bid, dim3 *block, dim3 *grid, int *warp_size) {
  typedef void (*register_fn)(void **, const char *, char *, const char *, int, uint3 *, uint3 *, dim3 *, dim3 *, int *);
  register_fn real = (register_fn)dlsym(RTLD_NEXT, "__cudaRegisterFunction");
  if (strcmp(device_name, "interpose_probe_kernel") == 0) {
    registrations++;
    registered_stub = host_fun;
  }
  if (real) real(fat_cubin, host_fun, device_fun, device_name, thread_limit, tid, bid, block, grid, warp_size);
}

cudaError_t CUDARTAPI cudaLaunchKernelExC(const cudaLaunchConfig_t *config, const void *func, void **args) {
  (void)config, (void)args;
  launches_ex++;
  launched_stub = func;
  return cudaSuccess;
}

cudaError_t CUDARTAPI __cudaLaunchKernel(cudaKernel_t kernel, dim3 grid, dim3 block, void **args, size_t smem,
                                         cudaStream_t stream) {
  (void)kernel, (void)grid, (void)block, (void)args, (void)smem, (void)stream;
  launches_stub++;
  return cudaSuccess;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s LIB.so\n", argv[0]);
    return 2;
  }
  void *lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    fprintf(stderr, "dlopen %s: %s\n", argv[1], dlerror());
    return 1;
  }
  void (*launch)(int *) = (void (*)(int *))dlsym(lib, "interpose_probe_launch");
  if (!launch) {
    fprintf(stderr, "no interpose_probe_launch in %s\n", argv[1]);
    dlclose(lib);
    return 1;
  }
  launch(NULL);
  const int same_stub = registered_stub && registered_stub == launched_stub;
  printf("interposed: %d of 1 registration, %d of 1 cudaLaunchKernelExC, %d of 1 <<<>>> (__cudaLaunchKernel); "
         "launched stub %s the registered one\n",
         registrations, launches_ex, launches_stub, same_stub ? "is" : "is NOT");
  dlclose(lib);
  return registrations == 1 && launches_ex == 1 && launches_stub == 1 && same_stub ? 0 : 1;
}

/* interpose_probe LIB.so: exit 0 when both launches of LIB.so's
 * interpose_probe_launch reach this executable's definitions of the CUDA
 * runtime's launch entry points (the way gen_nvrtc.c sends a module's
 * launches to NVRTC-built kernels), 1 otherwise. Needs no GPU: nothing is
 * launched. A CUDA toolkit whose <<<>>> stubs call another entry point
 * fails here, on the CPU, rather than in a device call. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <cuda_runtime_api.h>
#include <dlfcn.h>
#include <stdio.h>

cudaError_t CUDARTAPI __cudaLaunchKernel(cudaKernel_t kernel, dim3 grid, dim3 block, void **args, size_t smem,
                                         cudaStream_t stream);

static int launches_ex, launches_stub; /* interposed functions see only their arguments */

cudaError_t CUDARTAPI cudaLaunchKernelExC(const cudaLaunchConfig_t *config, const void *func, void **args) {
  (void)config, (void)func, (void)args;
  launches_ex++;
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
  printf("interposed: %d of 1 cudaLaunchKernelExC, %d of 1 <<<>>> (__cudaLaunchKernel)\n", launches_ex, launches_stub);
  dlclose(lib);
  return launches_ex == 1 && launches_stub == 1 ? 0 : 1;
}

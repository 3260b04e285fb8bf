/* interpose_probe.cu: a module launching one kernel both ways nvcc-built
 * host code does (a <<<>>> launch, then cudaLaunchKernelEx as vx_launch
 * does), built -cudart shared; interpose_probe.c checks that an executable
 * can take both launches over, which gen_nvrtc.c depends on. */
extern "C" __global__ void interpose_probe_kernel(int *p) { p[0] = 1; }

extern "C" void interpose_probe_launch(int *p) {
  interpose_probe_kernel<<<1, 1>>>(p);
  cudaLaunchConfig_t config = {};
  config.gridDim = dim3(1);
  config.blockDim = dim3(1);
  (void)cudaLaunchKernelEx(&config, interpose_probe_kernel, p);
}

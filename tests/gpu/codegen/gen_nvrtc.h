/* gen_nvrtc.h - gen_check built as gen_check_nvrtc (gen_nvrtc.sh): the
 * algorithm's own kernels (the extern "C" ones of ALG.cu) run as NVRTC
 * built them through libvortexrt's loader, launched by the nvcc-built host
 * code of ALG.so, so every check against the interpreter covers the NVRTC
 * path. See gen_nvrtc.c. */
#ifndef GEN_NVRTC_H
#define GEN_NVRTC_H

/* Loads source (the text of ALG.cu, named source_name in messages) through
 * vxrt_module_load_source with options (a space-separated list such as
 * "-DVX_STEP_FUSE=1", or NULL) and maps every kernel lib registered under a
 * C name (the source's extern "C" kernels its build kept) to its NVRTC twin. Prints what it mapped; returns
 * the number of kernels mapped, or -1 (with a message on stderr) when the
 * source does not compile or a kernel of lib is missing from the NVRTC
 * module. */
int gen_nvrtc_setup(void *lib, const char *source, const char *source_name, const char *options);

/* Launches sent to NVRTC kernels since setup. */
long gen_nvrtc_launches(void);

/* One line per mapped kernel: its launches (a kernel at 0 was never reached
 * through the interposers, or never launched by the checks). */
void gen_nvrtc_print_launches(void);

void gen_nvrtc_release(void);

#endif /* GEN_NVRTC_H */

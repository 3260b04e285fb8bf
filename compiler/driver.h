/* The compiler as a library: one call compiles one file as the command
 * line describes. Tests and fuzzers link this (target vx_driver). */
#ifndef VX_DRIVER_H
#define VX_DRIVER_H

#include <stddef.h>

#include "options.h"

/* Exit statuses, shared by every entry point. */
enum {
  VX_EXIT_OK = 0,
  VX_EXIT_INPUT = 1,    /* errors in the input (diagnostics were printed) */
  VX_EXIT_USAGE = 2,    /* bad command line */
  VX_EXIT_INTERNAL = 3  /* a compiler bug; the message names the phase */
};

/* Runs the whole pipeline for opts->input; returns an exit status. */
int vx_compile(const vx_options *opts);

/* The full command line (argv[0] = program name): `run` dispatch,
 * --help/--version, options, then vx_compile. main() is just this. */
int vx_main(int argc, char **argv);

/* Writes `n` files all-or-nothing: each goes to a temporary file in its
 * target's directory and is renamed into place only when every write
 * succeeded; on failure nothing is left behind. (Existing non-regular
 * files such as /dev/null are written directly instead.) Returns false (errno
 * set) on failure. */
bool vx_write_files_atomic(const char *const *paths, const char *const *data, const size_t *lens, int n);

/* True when `path` exists and is not a regular file (/dev/null, a FIFO,
 * a terminal): such outputs are written in place, never renamed over. */
bool vx_output_is_special(const char *path);

#endif

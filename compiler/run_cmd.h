/* `vortexc run FILE.vtx|FILE.vir [options]`: runs an algorithm through
 * the IR interpreter on random (or loaded) paged inputs, prints the
 * selected pages per (request, KV head) and output checksums, and can
 * write inputs and outputs as raw little-endian files plus manifest.json
 * for GPU test harnesses (format: docs/semantics.md, "Run files").
 * Usage is printed by `vortexc run --help`. */
#ifndef VX_RUN_CMD_H
#define VX_RUN_CMD_H

/* argv[0] is "run" (or the program name); returns the process exit
 * status (0 success, 1 error, 2 usage error). Never exits or aborts. */
int vx_run_command(int argc, char **argv);

#endif

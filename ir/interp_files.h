/* Run directories: the interpreter's inputs and reference outputs as raw
 * little-endian arrays plus a manifest.json describing them, so a GPU
 * test harness (C, C++ or Python) can load the inputs, run generated
 * kernels and compare. Format: docs/semantics.md, "Run directories".
 *
 *   manifest.json   {"format": "vortexc-run", "version": 1, geometry,
 *                    seed, steps, params, fields, states, select,
 *                    "arrays": {NAME: {"file", "dtype", "shape", "role"}}}
 *   NAME.f32/.i32   one raw array each (row-major, shape as listed)
 *
 * manifest.json is written last, so a directory with a manifest is
 * complete. */
#ifndef VX_INTERP_FILES_H
#define VX_INTERP_FILES_H

#include "interp.h"

/* Writes inputs (and, when r is non-NULL, outputs) into dir (created if
 * missing). `source` names the algorithm file for the record. */
bool vx_run_dir_write(const char *dir, const vx_module *m, const vx_paged_inputs *in, const vx_interp_result *r,
                      int steps, const char *source, vx_interp_error *err);

/* Reads the inputs of a run directory back (validated). */
vx_paged_inputs *vx_run_dir_read_inputs(const char *dir, vx_interp_error *err);

/* Loads one array of a run directory by manifest name ("out_sparse",
 * "selected", ...): malloc'd raw elements (float or int32_t as the
 * manifest's dtype says), element count in *count. */
void *vx_run_dir_load(const char *dir, const char *name, size_t *count, vx_interp_error *err);

#endif

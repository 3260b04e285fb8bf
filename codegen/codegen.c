/* Entry point of code generation: checks that the module fits what the
 * generated kernels and the runtime's device headers support, then
 * writes the .cu (runtime headers, geometry, cache update, index,
 * attention glue, launchers) and the .h. */
#include "codegen.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cg.h"
#include "embed.h"

/* Runtime headers in dependency order; the vx_mla*.cuh only for MLA. */
static const char *const gqa_headers[] = {"vx_common.cuh", "vx_page_table.cuh", "vx_plan.h", "vx_topk.cuh",
                                          "vx_attention.cuh", "vx_decode_mma.cuh", NULL};
static const char *const mla_headers[] = {"vx_common.cuh", "vx_page_table.cuh", "vx_plan.h", "vx_topk.cuh",
                                          "vx_attention.cuh", "vx_mla.cuh", "vx_wgmma.cuh",
                                          "vx_mla_wgmma.cuh", "vx_mla_launch.cuh", NULL};

/* Pastes one header verbatim except its includes of sibling runtime
 * headers, which are already above it (the file must stand alone). */
static void paste_header(vx_cg *cg, const char *name) {
  const char *text = vx_embedded_header(name);
  if (!text) {
    vx_cg_error(cg, "codegen: runtime header %s was not embedded at build time", name);
    return;
  }
  vx_buf *b = cg->out;
  vx_buf_printf(b, "/* ======== runtime/device/%s (verbatim) ======== */\n", name);
  for (const char *line = text; *line;) {
    const char *nl = strchr(line, '\n');
    const size_t len = nl ? (size_t)(nl - line) + 1 : strlen(line);
    if (strncmp(line, "#include \"vx_", 13) == 0) {
      const char *q = strchr(line + 10, '"');
      vx_buf_printf(b, "/* #include \"%.*s\": pasted above */\n", q ? (int)(q - line - 10) : 0, line + 10);
    } else {
      vx_buf_append(b, line, len);
    }
    line += len;
  }
  vx_buf_puts(b, "\n");
}

static bool check_module(vx_cg *cg) {
  const vx_module *m = cg->m;
  const vx_geometry *g = &m->geo;
  const size_t n = strlen(m->name);
  if (n == 0 || n >= sizeof cg->upper) {
    vx_cg_error(cg, "codegen: algorithm name '%s' must have 1 to %zu characters", m->name, sizeof cg->upper - 1);
    return false;
  }
  for (size_t i = 0; i < n; i++) {
    const char c = m->name[i];
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (i > 0 && c >= '0' && c <= '9');
    if (!ok) {
      vx_cg_error(cg, "codegen: algorithm name '%s' is not a C identifier", m->name);
      return false;
    }
    cg->upper[i] = (char)(c >= 'a' && c <= 'z' ? c - 32 : c);
  }
  cg->upper[n] = '\0';
  if (g->kv_dtype != VX_DTYPE_BF16 && g->kv_dtype != VX_DTYPE_F16) {
    vx_cg_error(cg, "codegen: the KV cache must be bf16 or f16 (the runtime's decode kernels read 16-bit KV)");
    return false;
  }
  if (g->page_size < 16 || g->page_size % 16 != 0) {
    vx_cg_error(cg, "codegen: page size %d is not supported: the decode kernels need a multiple of 16", g->page_size);
    return false;
  }
  if (g->kv == VX_KV_MLA) {
    if (g->mla_latent + g->mla_rope != g->head_dim || g->mla_latent % 8 != 0 || g->mla_rope % 8 != 0) {
      vx_cg_error(cg, "codegen: MLA latent %d + rope %d must equal head dim %d, both multiples of 8", g->mla_latent,
                  g->mla_rope, g->head_dim);
      return false;
    }
    /* vx_mla_decode_partial_mma_kernel: 16-row head tiles, <= 32 heads per
     * block (more heads: more blocks), 8 warps splitting dc, 16-dim k-steps,
     * and a shared-memory ring of (dc + dr + 8) * 2-byte rows that fits. */
    if (g->group < 16 || g->group > 128) {
      vx_cg_error(cg, "codegen: MLA with %d heads is not supported by the runtime's MLA decode kernel "
                  "(it needs 16 to 128 heads)", g->group);
      return false;
    }
    if (g->mla_latent % 128 != 0 || g->head_dim % 16 != 0 || g->head_dim > 640) {
      vx_cg_error(cg, "codegen: MLA latent %d + rope %d is not supported by the runtime's MLA decode kernel "
                  "(it needs a latent that is a multiple of 128, latent + rope a multiple of 16 and at most 640)",
                  g->mla_latent, g->mla_rope);
      return false;
    }
  } else if (g->head_dim != 64 && g->head_dim != 128) {
    vx_cg_error(cg, "codegen: head dim %d is not supported: the tensor-core decode kernel needs 64 or 128", g->head_dim);
    return false;
  } else if (g->group < 1 || g->group > 8) {
    vx_cg_error(cg, "codegen: GQA group %d is not supported: the tensor-core decode kernel needs 1 to 8", g->group);
    return false;
  }
  return true;
}

static void emit_cu(vx_cg *cg, const char *header_name) {
  vx_buf *b = cg->out;
  const vx_geometry *g = &cg->m->geo;
  vx_buf_printf(b, "/* %s.cu - CUDA kernels vortexc generated for algorithm `%s`.\n", cg->alg, cg->alg);
  vx_buf_printf(b, " * Generated file: edit the .vtx source instead. C ABI: %s.\n", header_name);
  if (g->kv == VX_KV_MLA)
    vx_buf_printf(b, " * Geometry: MLA, latent %d + rope %d, %d heads, page size %d, KV %s.\n", g->mla_latent, g->mla_rope,
                  g->group, g->page_size, g->kv_dtype == VX_DTYPE_F16 ? "f16" : "bf16");
  else
    vx_buf_printf(b, " * Geometry: GQA, head dim %d, group %d, page size %d, KV %s.\n", g->head_dim, g->group, g->page_size,
                  g->kv_dtype == VX_DTYPE_F16 ? "f16" : "bf16");
  vx_buf_puts(b, " * Stands alone: the runtime device headers it needs are pasted below, so it\n"
                 " * builds with nvcc or NVRTC and the CUDA toolkit headers only. */\n\n");
  /* The runtime headers also define kernels this file may never launch
   * (e.g. the stand-alone top-k kernels): silence nvcc's "declared but
   * never referenced" for the pasted text only. */
  vx_buf_puts(b, "#pragma nv_diag_suppress 177\n\n");
  for (const char *const *h = g->kv == VX_KV_MLA ? mla_headers : gqa_headers; *h; h++) paste_header(cg, *h);
  vx_buf_puts(b, "#pragma nv_diag_default 177\n\n");
  vx_cg_emit_cu_prelude(cg);
  if (cg->m->nfields > 0) vx_cg_emit_cache(cg);
  vx_cg_emit_index(cg);
  vx_cg_emit_step_kernel(cg);
  vx_cg_emit_state_kernel(cg);
  /* NVRTC compiles device code only: the launchers are for nvcc builds,
   * run-time loaders look the extern "C" kernels up by name. */
  vx_buf_puts(b, "#ifndef __CUDACC_RTC__\n\n");
  vx_cg_emit_host(cg);
  vx_buf_puts(b, "\n#endif /* !__CUDACC_RTC__ */\n");
}

int vx_codegen_emit(const vx_module *m, const char *header_name, vx_codegen_output *out, char *err, size_t errlen) {
  return vx_codegen_emit_opts(m, header_name, NULL, out, err, errlen);
}

int vx_codegen_emit_opts(const vx_module *m, const char *header_name, const vx_codegen_options *opts,
                         vx_codegen_output *out, char *err, size_t errlen) {
  char scratch_err[8];
  vx_cg cg;
  memset(&cg, 0, sizeof cg);
  memset(out, 0, sizeof *out);
  cg.m = m;
  cg.alg = m->name;
  const vx_index_form form = opts ? opts->index_form : VX_INDEX_AUTO;
  cg.want_vec = form != VX_INDEX_SCALAR;
  cg.want_mma = form == VX_INDEX_AUTO;
  cg.err = err && errlen ? err : scratch_err;
  cg.errlen = err && errlen ? errlen : sizeof scratch_err;
  cg.err[0] = '\0';
  vx_buf cu, h;
  vx_buf_init(&cu);
  vx_buf_init(&h);
  if (check_module(&cg)) vx_cg_analyse_index(&cg);
  if (!cg.failed) {
    cg.out = &cu;
    emit_cu(&cg, header_name ? header_name : "(header)");
    cg.out = &h;
    vx_cg_emit_header(&cg, vx_embedded_header("vx_page_table.cuh"));
  }
  if (!cg.failed && (cu.oom || h.oom)) vx_cg_error(&cg, "codegen: out of memory");
  free(cg.rows);
  free(cg.lane_res);
  if (cg.failed) {
    vx_buf_free(&cu);
    vx_buf_free(&h);
    return 1;
  }
  out->cu = vx_buf_take(&cu, &out->cu_len);
  out->h = vx_buf_take(&h, &out->h_len);
  if (!out->cu || !out->h) {
    vx_codegen_output_free(out);
    snprintf(cg.err, cg.errlen, "codegen: out of memory");
    return 1;
  }
  return 0;
}

void vx_codegen_output_free(vx_codegen_output *out) {
  free(out->cu);
  free(out->h);
  memset(out, 0, sizeof *out);
}

/* The C ABI: extern "C" launchers at the end of the .cu and the plain C
 * header that declares them. Both files print the prototypes from the
 * same table, so they cannot drift apart. Launchers validate what the
 * host can see, never allocate, never synchronise (graph capturable) and
 * return a status. */
#include <string.h>

#include "cg.h"

typedef struct vx_abi_fn {
  const char *ret, *name, *params; /* params: "%s" stands for nothing: plain text */
  const char *doc;
} vx_abi_fn;

#define KV "const vx_paged_kv *kv"
#define STREAM "cudaStream_t stream"
static const vx_abi_fn abi[] = {
    {"size_t", "workspace_size", "int max_batch, int kv_heads, int max_pages",
     "Bytes of workspace every launcher below needs for up to max_batch requests of\n"
     " * up to max_pages pages each (0 for non-positive arguments)."},
    {"size_t", "field_bytes_per_page", "void",
     "Summary bytes per (physical page, KV head), all fields together: size the\n"
     " * field pools as num_pages * kv_heads * this (per field: <ALG>_FIELD_<NAME>_BYTES)."},
    {"size_t", "state_bytes", "int max_batch, int kv_heads, int max_pages",
     "Bytes of ONE state buffer (the step reads one and writes another); 0 when\n"
     " * the algorithm keeps no state."},
    {"int", "state_init", "float *state, int batch, int kv_heads, int max_pages, " STREAM,
     "Fills a state buffer with the algorithm's initial values."},
    {"int", "cache_update", KV ", void *const *field_pools, int max_pages, " STREAM,
     "Recomputes every field of every page of every request (after prefill).\n"
     " * field_pools: host array of <ALG>_NUM_FIELDS device pointers, each\n"
     " * [num_pages][kv_heads][field elems] in the field's storage type."},
    {"int", "cache_update_last", KV ", void *const *field_pools, int new_tokens, " STREAM,
     "Updates the fields of every page the last new_tokens (>= 1) tokens of each\n"
     " * request touched (one decode token, or a prefill chunk spanning several\n"
     " * pages); call it after writing their K/V. Requests shorter than new_tokens\n"
     " * get every page recomputed."},
    {"int", "index", KV ", const void *q, void *const *field_pools, const float *state_in,\n    float *state_out, int max_pages, int *sel_pages, int *sel_count, void *workspace,\n    size_t workspace_bytes, " STREAM,
     "Scores every page of every (request, KV head) row and selects pages:\n"
     " * sel_pages [batch * kv_heads][max_pages] ascending logical page ids,\n"
     " * sel_count [batch * kv_heads]. q: [batch][kv_heads * GROUP][HEAD_DIM] in\n"
     " * the KV type. state_in/state_out: see state_bytes (NULL if none)."},
    {"int", "attend", KV ", const void *q, const int *sel_pages, const int *sel_count,\n    int max_pages, float sm_scale, void *out, void *workspace, size_t workspace_bytes,\n    " STREAM,
     "Exact softmax attention over the selected pages; out: [batch][kv_heads *\n"
     " * GROUP][OUT_DIM] in the KV type. sm_scale <= 0 means 1/sqrt(HEAD_DIM)."},
    {"int", "step", KV ", const void *q, void *const *field_pools, const float *state_in,\n    float *state_out, int new_tokens, int max_pages, float sm_scale, void *out,\n    void *workspace, size_t workspace_bytes, " STREAM,
     "One decode step: cache_update_last (when new_tokens > 0), index, attend;\n"
     " * the selection lives in the workspace."},
};
#undef KV
#undef STREAM

static void prototype(vx_cg *cg, vx_buf *b, const vx_abi_fn *fn) {
  vx_buf_printf(b, "%s %s_%s(%s)", fn->ret, cg->alg, fn->name, fn->params);
}

static void emit_status_enum(vx_cg *cg, vx_buf *b) {
  const char *u = cg->upper;
  vx_buf_printf(b, "/* Status of every launcher: 0 on success. */\n");
  vx_buf_printf(b, "enum %s_status {\n", cg->alg);
  vx_buf_printf(b, "  %s_OK = 0,\n", u);
  vx_buf_printf(b, "  %s_ERR_ARGUMENT = 1,  /* NULL pointer or non-positive size */\n", u);
  vx_buf_printf(b, "  %s_ERR_GEOMETRY = 2,  /* descriptor differs from the compiled geometry */\n", u);
  vx_buf_printf(b, "  %s_ERR_WORKSPACE = 3, /* workspace missing, smaller than needed or not 16-byte aligned */\n", u);
  vx_buf_printf(b, "  %s_ERR_LAUNCH = 4     /* CUDA rejected a kernel launch */\n", u);
  vx_buf_printf(b, "};\n\n");
}

/* Most pages one row can select, or 0 when only the row's page count
 * bounds it (dynamic budgets, threshold and mass selects). A constant
 * top-k budget lets attention plan its split-KV chunks over the selection
 * instead of the whole request: at 128K context that is 128 pages, not
 * 8192, and the difference between one block per row and a full GPU. */
static long long max_selected_pages(const vx_cg *cg) {
  const vx_op *sel = vx_func_find_select(&cg->m->index);
  if (!sel || sel->code != VX_OP_SELECT_TOP || sel->operands[1]->code != VX_OP_CONST)
    return 0;
  const double budget = sel->operands[1]->number;
  if (!(budget >= 0.0) || budget > 1e9)
    return 0;
  return (long long)budget + sel->keep_first + sel->keep_last;
}

/* Geometry macros both files define (the .cu's kernels are built on them). */
static void emit_geometry_macros(vx_cg *cg, vx_buf *b) {
  const vx_geometry *g = &cg->m->geo;
  const char *u = cg->upper;
  const int out_dim = g->kv == VX_KV_MLA ? g->mla_latent : g->head_dim;
  vx_buf_printf(b, "#define %s_HEAD_DIM %d  /* K/q width%s */\n", u, g->head_dim, g->kv == VX_KV_MLA ? ": latent dc + dr" : "");
  vx_buf_printf(b, "#define %s_GROUP %d     /* query heads per KV head%s */\n", u, g->group, g->kv == VX_KV_MLA ? " (MLA: all heads)" : "");
  vx_buf_printf(b, "#define %s_PAGE_SIZE %d\n", u, g->page_size);
  vx_buf_printf(b, "#define %s_OUT_DIM %d   /* attention output width */\n", u, out_dim);
  vx_buf_printf(b, "#define %s_KV_DTYPE %d  /* vx_paged_kv.dtype: 0 bf16, 1 f16 */\n", u, g->kv_dtype == VX_DTYPE_F16 ? 1 : 0);
  vx_buf_printf(b, "#define %s_IS_MLA %d\n", u, g->kv == VX_KV_MLA ? 1 : 0);
  vx_buf_printf(b, "#define %s_NUM_FIELDS %d\n", u, cg->m->nfields);
  vx_buf_printf(b, "#define %s_NUM_STATES %d\n", u, cg->m->nstates);
  vx_buf_printf(b, "#define %s_MAX_SELECTED %lld  /* pages one row can select (0: up to all) */\n", u,
                max_selected_pages(cg));
  for (int i = 0; i < cg->m->nfields; i++) {
    const vx_ir_field *f = &cg->m->fields[i];
    char up[64];
    size_t n = strlen(f->name) < sizeof up - 1 ? strlen(f->name) : sizeof up - 1;
    for (size_t k = 0; k < n; k++) up[k] = (char)(f->name[k] >= 'a' && f->name[k] <= 'z' ? f->name[k] - 32 : f->name[k]);
    up[n] = '\0';
    vx_buf_printf(b, "#define %s_FIELD_%s %d        /* index in field_pools */\n", u, up, i);
    vx_buf_printf(b, "#define %s_FIELD_%s_BYTES %d  /* %d x %s per (page, KV head) */\n", u, up,
                  vx_cg_elems(cg->m, f->shape) * vx_cg_dtype_bytes(f->storage), vx_cg_elems(cg->m, f->shape),
                  f->storage == VX_DTYPE_BF16 ? "bf16" : f->storage == VX_DTYPE_F16 ? "f16" : "f32");
  }
  vx_buf_puts(b, "\n");
}

int vx_cg_field_bytes_per_page(const vx_cg *cg) {
  int bytes = 0;
  for (int i = 0; i < cg->m->nfields; i++)
    bytes += vx_cg_elems(cg->m, cg->m->fields[i].shape) * vx_cg_dtype_bytes(cg->m->fields[i].storage);
  return bytes;
}

/* Emitted right after the runtime headers: geometry, the KV element type
 * and the typed field pointers kernels take. */
void vx_cg_emit_cu_prelude(vx_cg *cg) {
  vx_buf *b = cg->out;
  vx_buf_puts(b, "/* ---------------------------------------------------------------- geometry */\n\n");
  emit_geometry_macros(cg, b);
  vx_buf_printf(b, "#define %s_CACHE_THREADS 128\n", cg->upper);
  if (cg->m->geo.kv != VX_KV_MLA) /* the attention kernels' page size (vx_decode_mma.cuh) */
    vx_buf_printf(b, "#define %s_ATTEND_PAGE vx_decode_page_param(%s_PAGE_SIZE)\n", cg->upper, cg->upper);
  vx_buf_puts(b, "\n");
  vx_buf_printf(b, "typedef %s %s_kv_t;\n\n", cg->m->geo.kv_dtype == VX_DTYPE_F16 ? "__half" : "__nv_bfloat16", cg->alg);
  emit_status_enum(cg, b);
  vx_buf_printf(b, "/* Field pools as kernels see them, in storage types. */\n");
  vx_buf_printf(b, "struct %s_field_ptrs {\n", cg->alg);
  for (int i = 0; i < cg->m->nfields; i++)
    vx_buf_printf(b, "  %s *%s;\n", vx_cg_ctype(cg->m->fields[i].storage), cg->m->fields[i].name);
  vx_buf_printf(b, "};\n\n");
}

static void emit_helpers(vx_cg *cg) {
  vx_buf *b = cg->out;
  const char *a = cg->alg, *u = cg->upper;
  const bool mla = cg->m->geo.kv == VX_KV_MLA;
  vx_buf_printf(b, "/* ------------------------------------------------------------- host launchers */\n\n");
  vx_buf_printf(b, "static size_t %s_round_up(unsigned long long bytes) { return (size_t)((bytes + 255ull) & ~255ull); }\n\n", a);
  vx_buf_printf(b, "/* The workspace's parts start at multiples of 256 bytes from its base and\n"
                   " * the kernels read them with up to 16-byte vector accesses, so the base\n"
                   " * must be 16-byte aligned (cudaMalloc gives 256). */\n");
  vx_buf_printf(b, "static bool %s_workspace_aligned(const void *workspace) {\n", a);
  vx_buf_printf(b, "  return (reinterpret_cast<unsigned long long>(workspace) & 15ull) == 0;\n}\n\n");
  vx_buf_printf(b, "/* Workspace layout: [selected pages][selected counts][scratch]; scratch\n"
                   " * holds the index scores, later reused by attention's partial results. */\n");
  vx_buf_printf(b, "static size_t %s_selection_bytes(long long rows, int max_pages) {\n", a);
  vx_buf_printf(b, "  return %s_round_up((unsigned long long)rows * (unsigned long long)max_pages * 4ull) +\n", a);
  vx_buf_printf(b, "         %s_round_up((unsigned long long)rows * 4ull);\n}\n\n", a);
  vx_buf_printf(b, "/* Attention rows: one per (request, KV head)%s. */\n", mla ? "; MLA has one latent head" : "");
  vx_buf_printf(b, "static long long %s_attention_rows(int batch, int kv_heads) {\n", a);
  vx_buf_printf(b, mla ? "  (void)kv_heads;\n  return batch;\n}\n\n" : "  return (long long)batch * kv_heads;\n}\n\n");
  vx_buf_printf(b, "/* Partial results for the most chunks the plan may choose. */\n");
  vx_buf_printf(b, "static size_t %s_attention_bytes(long long rows, int max_pages) {\n", a);
  vx_buf_printf(b, "  return (size_t)vx_decode_workspace_bytes(rows, %s_GROUP, %s_OUT_DIM, vx_decode_max_chunks(rows, max_pages));\n}\n\n", u, u);
  vx_buf_printf(b, "/* Whether the workspace holds what index writes: the selection, then the scores. */\n");
  vx_buf_printf(b, "static bool %s_index_workspace_fits(long long rows, int max_pages, const void *workspace, size_t workspace_bytes) {\n", a);
  vx_buf_printf(b, "  return workspace_bytes >= %s_selection_bytes(rows, max_pages) +\n"
                   "                                %s_round_up((unsigned long long)rows * (unsigned long long)max_pages * 4ull) &&\n"
                   "         %s_workspace_aligned(workspace);\n}\n\n", a, a, a);
  vx_buf_printf(b, "/* Whether it holds what attend reads and writes: the selection, then the partials. */\n");
  vx_buf_printf(b, "static bool %s_attend_workspace_fits(int batch, int kv_heads, int max_pages, const void *workspace,\n"
                   "                                     size_t workspace_bytes) {\n", a);
  vx_buf_printf(b, "  return workspace_bytes >= %s_selection_bytes((long long)batch * kv_heads, max_pages) +\n"
                   "                                %s_attention_bytes(%s_attention_rows(batch, kv_heads), max_pages) &&\n"
                   "         %s_workspace_aligned(workspace);\n}\n\n", a, a, a, a);
  vx_buf_printf(b, "/* What the host can check without reading device memory. */\n");
  vx_buf_printf(b, "static int %s_check_kv(const vx_paged_kv *kv) {\n", a);
  vx_buf_printf(b, "  if (!kv || kv->batch < 0 || kv->num_kv_heads < 1 || kv->num_pages < 1 || !kv->k_pool) return %s_ERR_ARGUMENT;\n", u);
  vx_buf_printf(b, "  if (kv->dtype != %s_KV_DTYPE || kv->page_size != %s_PAGE_SIZE || kv->head_dim != %s_HEAD_DIM)\n", u, u, u);
  vx_buf_printf(b, "    return %s_ERR_GEOMETRY;\n", u);
  if (mla)
    vx_buf_printf(b, "  if (kv->num_kv_heads != 1) return %s_ERR_GEOMETRY; /* one latent head */\n", u);
  else
    vx_buf_printf(b, "  if (!kv->v_pool) return %s_ERR_ARGUMENT;\n", u);
  vx_buf_printf(b, "  if (kv->format == VX_PAGES_CSR) {\n");
  vx_buf_printf(b, "    if (!kv->indptr || !kv->indices || !kv->last_page_len) return %s_ERR_ARGUMENT;\n", u);
  vx_buf_printf(b, "  } else if (kv->format == VX_PAGES_BLOCK_TABLE) {\n");
  vx_buf_printf(b, "    if (!kv->block_table || !kv->seq_lens || kv->block_table_stride < 1) return %s_ERR_ARGUMENT;\n", u);
  vx_buf_printf(b, "  } else {\n    return %s_ERR_ARGUMENT;\n  }\n  return %s_OK;\n}\n\n", u, u);
  vx_buf_printf(b, "/* field_pools (host array of device pointers) -> typed kernel argument. */\n");
  vx_buf_printf(b, "static int %s_fields_from(void *const *pools, %s_field_ptrs *f) {\n", a, a);
  if (cg->m->nfields == 0) {
    vx_buf_printf(b, "  (void)pools;\n  (void)f;\n  return %s_OK;\n}\n\n", u);
  } else {
    vx_buf_printf(b, "  if (!pools) return %s_ERR_ARGUMENT;\n", u);
    for (int i = 0; i < cg->m->nfields; i++) {
      const vx_ir_field *f = &cg->m->fields[i];
      vx_buf_printf(b, "  f->%s = static_cast<%s *>(pools[%d]);\n", f->name, vx_cg_ctype(f->storage), i);
      vx_buf_printf(b, "  if (!f->%s) return %s_ERR_ARGUMENT;\n", f->name, u);
    }
    vx_buf_printf(b, "  return %s_OK;\n}\n\n", u);
  }
  vx_buf_printf(b, "static int %s_launched(void) { return cudaGetLastError() == cudaSuccess ? %s_OK : %s_ERR_LAUNCH; }\n\n", a, u, u);
}

/* Device code of the state buffers: a fill kernel (only with states). */
void vx_cg_emit_state_kernel(vx_cg *cg) {
  vx_buf *b = cg->out;
  const char *a = cg->alg;
  if (cg->m->nstates > 0) {
    vx_buf_printf(b, "/* Fills `count` entries of each state with its initial value. */\n");
    vx_buf_printf(b, "extern \"C\" __global__ void %s_state_init_kernel(float *state, long long count) {\n", a);
    vx_buf_printf(b, "  const float init[%d] = {", cg->m->nstates);
    for (int i = 0; i < cg->m->nstates; i++) {
      vx_buf_puts(b, i ? ", " : "");
      vx_cg_float_literal(b, cg->m->states[i].init);
    }
    vx_buf_printf(b, "};\n");
    vx_buf_printf(b, "  for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < count * %d;\n", cg->m->nstates);
    vx_buf_printf(b, "       i += (long long)gridDim.x * blockDim.x)\n");
    vx_buf_printf(b, "    state[i] = init[i / count];\n}\n\n");
  }
}

/* Launcher prologue: descriptor checks, then the typed field pointers. */
void vx_cg_emit_check_kv_and_fields(vx_cg *cg) {
  vx_buf_printf(cg->out, "  %s_field_ptrs f;\n  int st = %s_check_kv(kv);\n  if (st == %s_OK) st = %s_fields_from(field_pools, &f);\n",
                cg->alg, cg->alg, cg->upper, cg->alg);
}

static void open_fn(vx_cg *cg, int i) {
  prototype(cg, cg->out, &abi[i]);
  vx_buf_puts(cg->out, " {\n");
}

static void emit_launchers(vx_cg *cg) {
  vx_buf *b = cg->out;
  const char *a = cg->alg, *u = cg->upper;
  const vx_module *m = cg->m;
  const bool has_fields = m->nfields > 0;
  vx_buf_puts(b, "extern \"C\" {\n\n");

  open_fn(cg, 0); /* workspace_size */
  vx_buf_printf(b, "  if (max_batch < 1 || kv_heads < 1 || max_pages < 1) return 0;\n");
  vx_buf_printf(b, "  const long long rows = (long long)max_batch * kv_heads;\n");
  vx_buf_printf(b, "  size_t scratch = %s_round_up((unsigned long long)rows * (unsigned long long)max_pages * 4ull);\n", a);
  vx_buf_printf(b, "  /* The decode plan depends on the row count, and its workspace is not\n"
                   "   * monotone in it: take the largest over every batch up to max_batch. */\n");
  vx_buf_printf(b, "  for (int batch = 1; batch <= max_batch; ++batch) {\n");
  vx_buf_printf(b, "    const size_t need = %s_attention_bytes(%s_attention_rows(batch, kv_heads), max_pages);\n", a, a);
  vx_buf_printf(b, "    if (need > scratch) scratch = need;\n  }\n");
  vx_buf_printf(b, "  return %s_selection_bytes(rows, max_pages) + scratch;\n}\n\n", a);

  open_fn(cg, 1); /* field_bytes_per_page */
  vx_buf_printf(b, "  return %d;\n}\n\n", vx_cg_field_bytes_per_page(cg));

  open_fn(cg, 2); /* state_bytes */
  if (m->nstates > 0) {
    vx_buf_printf(b, "  if (max_batch < 1 || kv_heads < 1 || max_pages < 1) return 0;\n");
    vx_buf_printf(b, "  return (size_t)%s_NUM_STATES * (size_t)max_batch * (size_t)kv_heads * (size_t)max_pages * sizeof(float);\n}\n\n", u);
  } else {
    vx_buf_printf(b, "  (void)max_batch;\n  (void)kv_heads;\n  (void)max_pages;\n  return 0;\n}\n\n");
  }

  open_fn(cg, 3); /* state_init */
  if (m->nstates > 0) {
    vx_buf_printf(b, "  if (!state || batch < 0 || kv_heads < 1 || max_pages < 1) return %s_ERR_ARGUMENT;\n", u);
    vx_buf_printf(b, "  if (batch == 0) return %s_OK;\n", u);
    vx_buf_printf(b, "  const long long count = (long long)batch * kv_heads * max_pages;\n");
    vx_buf_printf(b, "  const long long blocks = (count * %s_NUM_STATES + 255) / 256;\n", u);
    vx_buf_printf(b, "  %s_state_init_kernel<<<(unsigned)(blocks < 4096 ? blocks : 4096), 256, 0, stream>>>(state, count);\n", a);
    vx_buf_printf(b, "  return %s_launched();\n}\n\n", a);
  } else {
    vx_buf_printf(b, "  (void)state;\n  (void)batch;\n  (void)kv_heads;\n  (void)max_pages;\n  (void)stream;\n  return %s_OK;\n}\n\n", u);
  }

  open_fn(cg, 4); /* cache_update */
  vx_cg_emit_check_kv_and_fields(cg);
  vx_buf_printf(b, "  if (st != %s_OK) return st;\n  if (max_pages < 1) return %s_ERR_ARGUMENT;\n", u, u);
  if (has_fields) {
    vx_buf_printf(b, "  if (kv->batch == 0) return %s_OK;\n", u);
    vx_buf_printf(b, "  const dim3 grid((unsigned)((long long)kv->batch * max_pages), (unsigned)kv->num_kv_heads);\n");
    vx_buf_printf(b, "  %s_cache_update_kernel<<<grid, %s_CACHE_THREADS, 0, stream>>>(*kv, f, max_pages, 0);\n", a, u);
    vx_buf_printf(b, "  return %s_launched();\n}\n\n", a);
  } else {
    vx_buf_printf(b, "  (void)f;\n  (void)stream;\n  return %s_OK; /* no fields to maintain */\n}\n\n", u);
  }

  open_fn(cg, 5); /* cache_update_last */
  vx_cg_emit_check_kv_and_fields(cg);
  vx_buf_printf(b, "  if (st != %s_OK) return st;\n  if (new_tokens < 1) return %s_ERR_ARGUMENT;\n", u, u);
  if (has_fields) {
    vx_buf_printf(b, "  if (kv->batch == 0) return %s_OK;\n", u);
    vx_buf_printf(b, "  /* The most pages new_tokens tokens can touch (1 for a single token). */\n");
    vx_buf_printf(b, "  const long long span = ((long long)new_tokens + %s_PAGE_SIZE - 2) / %s_PAGE_SIZE + 1;\n", u, u);
    vx_buf_printf(b, "  if ((long long)kv->batch * span > 0x7fffffffLL) return %s_ERR_ARGUMENT;\n", u);
    vx_buf_printf(b, "  const dim3 grid((unsigned)((long long)kv->batch * span), (unsigned)kv->num_kv_heads);\n");
    if (vx_cg_has_incremental(cg))
      vx_buf_printf(b, "  %s_cache_append_kernel<<<grid, %s_CACHE_THREADS, 0, stream>>>(*kv, f, new_tokens);\n", a, u);
    else
      vx_buf_printf(b, "  %s_cache_update_kernel<<<grid, %s_CACHE_THREADS, 0, stream>>>(*kv, f, (int)span, 1);\n", a, u);
    vx_buf_printf(b, "  return %s_launched();\n}\n\n", a);
  } else {
    vx_buf_printf(b, "  (void)f;\n  (void)stream;\n  return %s_OK; /* no fields to maintain */\n}\n\n", u);
  }

  if (vx_cg_index_has_fused(cg)) {
    vx_buf_printf(b, "/* Tuning builds: -DVX_INDEX_FUSE=0 never launches %s_fused_kernel. */\n"
                     "#ifndef VX_INDEX_FUSE\n#define VX_INDEX_FUSE 1\n#endif\n\n", a);
    vx_buf_printf(b, "/* Shared memory of a fused launch in blocks of `warps` warps. */\n"
                     "static inline int %s_fused_smem_bytes(int warps, int max_pages) {\n"
                     "  return warps * %s_WARP_TILE_BYTES + (%s_fused_smem_scores(max_pages) ? max_pages * 4 : 0);\n}\n\n",
                  a, u, a);
  }
  if (vx_cg_index_has_fused_pair(cg))
    vx_buf_printf(b, "/* Tuning builds: -DVX_INDEX_FUSE_PAIR=0 never launches %s_fused_pair_kernel;\n"
                     " * 1 launches it only while its rows fit one wave (batch 64 then takes SCORE +\n"
                     " * SELECT). */\n"
                     "#ifndef VX_INDEX_FUSE_PAIR\n#define VX_INDEX_FUSE_PAIR 2\n#endif\n\n", a);
  open_fn(cg, 6); /* index */
  vx_cg_emit_check_kv_and_fields(cg);
  vx_buf_printf(b, "  if (st != %s_OK) return st;\n", u);
  vx_buf_printf(b, "  if (!q || !sel_pages || !sel_count || max_pages < 1 || !workspace) return %s_ERR_ARGUMENT;\n", u);
  if (m->nstates > 0) vx_buf_printf(b, "  if (!state_in || !state_out) return %s_ERR_ARGUMENT;\n", u);
  vx_buf_printf(b, "  if (kv->batch == 0) return %s_OK;\n", u);
  vx_buf_printf(b, "  const long long rows = (long long)kv->batch * kv->num_kv_heads;\n");
  vx_buf_printf(b, "  const size_t selection = %s_selection_bytes(rows, max_pages);\n", a);
  vx_buf_printf(b, "  if (!%s_index_workspace_fits(rows, max_pages, workspace, workspace_bytes)) return %s_ERR_WORKSPACE;\n", a, u);
  vx_buf_printf(b, "  float *scores = reinterpret_cast<float *>(static_cast<char *>(workspace) + selection);\n");
  vx_buf_printf(b, "  const %s_kv_t *query = static_cast<const %s_kv_t *>(q);\n", a, a);
  if (vx_cg_index_reduces_over_page(cg)) {
    vx_buf_printf(b, "  /* The score reduces over pages: one block sees a whole row. */\n");
    vx_buf_printf(b, "  vx_launch(%s_index_kernel, dim3((unsigned)rows, 1), dim3(VX_TOPK_THREADS), 0, stream,\n", a);
    vx_buf_printf(b, "      *kv, query, f, state_in, state_out, max_pages, scores, sel_pages, sel_count, max_pages, %s_INDEX_FUSED);\n", u);
  } else {
    const bool split = vx_cg_index_split(cg);
    if (split) {
      const int iter = vx_cg_index_pages_per_warp(cg); /* pages per warp per iteration */
      if (cg->mma.on) {
        vx_buf_printf(b, "  /* As few scoring blocks as fill one wave (two %d-warp blocks per SM; the\n"
                         "   * device's capacity from a host-side query, capturable): every extra wave\n"
                         "   * pays a block start-up (page table -> first tile) across the GPU. Each\n"
                         "   * block takes a whole number of block iterations (%d pages = %d warps x\n"
                         "   * %d), at least two, so the next tile always loads under the current one. */\n",
                      VX_CG_MMA_SCORE_WARPS, VX_CG_MMA_SCORE_WARPS * iter, VX_CG_MMA_SCORE_WARPS, iter);
        vx_buf_printf(b, "  const int step = %s_SCORE_WARPS * %d;\n", u, iter);
        vx_buf_printf(b, "  const int tile_smem = %s_SCORE_WARPS * %d;\n", u, vx_cg_mma_tile_bytes(cg));
        vx_buf_printf(b, "  /* Each warp's shared tile exceeds the default 48 KB per block: a host-side\n"
                         "   * attribute, legal during capture and idempotent. */\n");
        vx_buf_printf(b, "  (void)cudaFuncSetAttribute(reinterpret_cast<const void *>(%s_score_kernel),\n"
                         "                             cudaFuncAttributeMaxDynamicSharedMemorySize, tile_smem);\n", a);
        vx_buf_printf(b, "  const int capacity = vx_capacity(reinterpret_cast<const void *>(%s_score_kernel), %s_SCORE_WARPS * 32, tile_smem);\n",
                      a, u);
        vx_buf_printf(b, "  long long blocks = (capacity > 0 ? capacity : 264) / rows;\n");
        vx_buf_printf(b, "  if (blocks < 1) blocks = 1;\n");
      } else {
        vx_buf_printf(b, "  /* About 8 scoring blocks per SM of a 132-SM part (the index kernel holds one\n"
                         "   * or two 512-thread blocks per SM at once), each a whole number of block\n"
                         "   * iterations (%d pages = 16 warps x %d), at least two; shapes only, so the\n"
                         "   * launch stays capturable. */\n", 16 * iter, iter);
        vx_buf_printf(b, "  const int step = VX_TOPK_WARPS * %d;\n", iter);
        vx_buf_printf(b, "  long long blocks = (1056 + rows - 1) / rows;\n");
      }
      vx_buf_printf(b, "  int per_block = (int)((max_pages + blocks - 1) / blocks);\n");
      vx_buf_printf(b, "  per_block = (per_block + step - 1) / step * step;\n");
      vx_buf_printf(b, "  if (per_block < 2 * step) per_block = 2 * step;\n");
    } else {
    vx_buf_printf(b, "  /* Enough scoring blocks for about two waves on a 132-SM part, at least\n"
                     "   * four pages per warp; shapes only, so the launch stays capturable. */\n");
    vx_buf_printf(b, "  long long blocks = (264 + rows - 1) / rows;\n");
    vx_buf_printf(b, "  int per_block = (int)((max_pages + blocks - 1) / blocks);\n");
    vx_buf_printf(b, "  if (per_block < 4 * VX_TOPK_WARPS) per_block = 4 * VX_TOPK_WARPS;\n");
    }
    vx_buf_printf(b, "  blocks = (max_pages + per_block - 1) / per_block;\n");
    if (vx_cg_index_has_fused(cg)) {
      vx_buf_printf(b, "  /* One launch, one block of the top-k's warps a row scoring and selecting,\n"
                       "   * where it reaches as many SMs as the SCORE plan: the plan gives a row one\n"
                       "   * block, or two while the rows fill >= 90%% of the fused kernel's one wave\n"
                       "   * (batch 16 x 8 KV heads on 132 SMs). Batch 8's two blocks a row reach twice\n"
                       "   * the SMs that one block a row would. */\n");
      vx_buf_printf(b, "  const int fused_smem = %s_fused_smem_bytes(VX_TOPK_WARPS, max_pages);\n", a);
      vx_buf_printf(b, "  const int fused_capacity = VX_INDEX_FUSE && blocks <= 2\n"
                       "      ? vx_prepare_kernel(reinterpret_cast<const void *>(%s_fused_kernel), VX_TOPK_THREADS, fused_smem) : 0;\n", a);
      vx_buf_printf(b, "  if (rows <= fused_capacity && (blocks == 1 || rows * 10 >= fused_capacity * 9LL)) {\n");
      vx_buf_printf(b, "    vx_launch(%s_fused_kernel, dim3((unsigned)rows, 1), dim3(VX_TOPK_THREADS), fused_smem, stream,\n", a);
      vx_buf_printf(b, "        *kv, query, f, state_in, state_out, max_pages, scores, sel_pages, sel_count, max_pages);\n");
      vx_buf_printf(b, "    return %s_launched();\n  }\n", a);
    }
    if (vx_cg_index_has_fused_pair(cg)) {
      vx_buf_printf(b, "  /* One SCORE block a row and more rows than the fused kernel's one wave holds\n"
                       "   * (batch 32 and up x 8 KV heads): the SCORE block selects too, two blocks an\n"
                       "   * SM, in as many waves as the rows take; a second launch's start (grid\n"
                       "   * boundary, row length, scores back from L2) costs more than the pair\n"
                       "   * kernel's later waves. */\n");
      vx_buf_printf(b, "  if (VX_INDEX_FUSE && VX_INDEX_FUSE_PAIR && blocks == 1) {\n");
      vx_buf_printf(b, "    const int pair_smem = %s_fused_smem_bytes(%s_SCORE_WARPS, max_pages);\n", a, u);
      vx_buf_printf(b, "    const int pair_capacity = vx_prepare_kernel(reinterpret_cast<const void *>(%s_fused_pair_kernel),\n"
                       "                                                %s_SCORE_WARPS * 32, pair_smem);\n", a, u);
      vx_buf_printf(b, "    if (pair_capacity > 0 && (rows <= pair_capacity || VX_INDEX_FUSE_PAIR >= 2)) {\n");
      vx_buf_printf(b, "      vx_launch(%s_fused_pair_kernel, dim3((unsigned)rows, 1), dim3(%s_SCORE_WARPS * 32), pair_smem, stream,\n", a, u);
      vx_buf_printf(b, "          *kv, query, f, state_in, state_out, max_pages, scores, sel_pages, sel_count, max_pages);\n");
      vx_buf_printf(b, "      return %s_launched();\n    }\n  }\n", a);
    }
    if (split) {
      if (cg->mma.on) {
        vx_buf_printf(b, "  vx_launch(%s_score_kernel, dim3((unsigned)rows, (unsigned)blocks), dim3(%s_SCORE_WARPS * 32), tile_smem, stream,\n", a, u);
      } else {
        vx_buf_printf(b, "  vx_launch(%s_score_kernel, dim3((unsigned)rows, (unsigned)blocks), dim3(VX_TOPK_THREADS), 0, stream,\n", a);
      }
      vx_buf_printf(b, "      *kv, query, f, state_in, state_out, max_pages, scores, sel_pages, sel_count, per_block);\n");
    } else {
      vx_buf_printf(b, "  vx_launch(%s_index_kernel, dim3((unsigned)rows, (unsigned)blocks), dim3(VX_TOPK_THREADS), 0, stream,\n", a);
      vx_buf_printf(b, "      *kv, query, f, state_in, state_out, max_pages, scores, sel_pages, sel_count, per_block, %s_INDEX_SCORE);\n", u);
    }
    if (split) {
      vx_buf_printf(b, "  vx_launch(%s_select_kernel, dim3((unsigned)rows, 1), dim3(VX_TOPK_THREADS), 0, stream,\n", a);
      vx_buf_printf(b, "      *kv, query, f, state_in, state_out, max_pages, scores, sel_pages, sel_count, per_block);\n");
    } else {
      vx_buf_printf(b, "  vx_launch(%s_index_kernel, dim3((unsigned)rows, 1), dim3(VX_TOPK_THREADS), 0, stream,\n", a);
      vx_buf_printf(b, "      *kv, query, f, state_in, state_out, max_pages, scores, sel_pages, sel_count, per_block, %s_INDEX_SELECT);\n", u);
    }
  }
  vx_buf_printf(b, "  return %s_launched();\n}\n\n", a);

  open_fn(cg, 7); /* attend */
  vx_buf_printf(b, "  const int st = %s_check_kv(kv);\n  if (st != %s_OK) return st;\n", a, u);
  vx_buf_printf(b, "  if (!q || !sel_pages || !sel_count || !out || max_pages < 1 || !workspace) return %s_ERR_ARGUMENT;\n", u);
  vx_buf_printf(b, "  if (kv->batch == 0) return %s_OK;\n", u);
  vx_buf_printf(b, "  if (!%s_attend_workspace_fits(kv->batch, kv->num_kv_heads, max_pages, workspace, workspace_bytes))\n", a);
  vx_buf_printf(b, "    return %s_ERR_WORKSPACE;\n", u);
  vx_buf_printf(b, "  const size_t selection = %s_selection_bytes((long long)kv->batch * kv->num_kv_heads, max_pages);\n", a);
  vx_buf_printf(b, "  const vx_decode_args args = %s_decode_args(kv, q, sel_pages, sel_count, max_pages, sm_scale, out);\n", a);
  vx_buf_printf(b, "  %s_launch_attention(args, %s_plan_pages(max_pages), static_cast<char *>(workspace) + selection, stream);\n", a, a);
  vx_buf_printf(b, "  return %s_launched();\n}\n\n", a);

  vx_cg_emit_step_fused_launcher(cg);
  open_fn(cg, 8); /* step */
  vx_buf_printf(b, "  int st = %s_OK;\n", u);
  vx_buf_printf(b, "  if (new_tokens > 0) st = %s_cache_update_last(kv, field_pools, new_tokens, stream);\n", a);
  vx_buf_printf(b, "  if (st != %s_OK) return st;\n", u);
  vx_buf_printf(b, "  if (!kv || !workspace || max_pages < 1) return %s_ERR_ARGUMENT;\n", u);
  vx_buf_printf(b, "  const long long rows = (long long)kv->batch * kv->num_kv_heads;\n");
  vx_buf_printf(b, "  int *sel_pages = static_cast<int *>(workspace);\n");
  vx_buf_printf(b, "  int *sel_count = reinterpret_cast<int *>(static_cast<char *>(workspace) +\n");
  vx_buf_printf(b, "                                         %s_round_up((unsigned long long)rows * (unsigned long long)max_pages * 4ull));\n", a);
  vx_cg_emit_step_fused_call(cg);
  vx_buf_printf(b, "  st = %s_index(kv, q, field_pools, state_in, state_out, max_pages, sel_pages, sel_count, workspace,\n", a);
  vx_buf_printf(b, "                workspace_bytes, stream);\n");
  vx_buf_printf(b, "  if (st != %s_OK) return st;\n", u);
  vx_buf_printf(b, "  return %s_attend(kv, q, sel_pages, sel_count, max_pages, sm_scale, out, workspace, workspace_bytes, stream);\n}\n\n", a);
  vx_buf_puts(b, "} /* extern \"C\" */\n");
}

void vx_cg_emit_host(vx_cg *cg) {
  emit_helpers(cg);
  vx_cg_emit_attention(cg);
  emit_launchers(cg);
}

/* The C struct the launchers take: the runtime's vx_paged_kv fields,
 * copied from the same header text the .cu carries, so layouts agree. */
static void emit_paged_kv_struct(vx_cg *cg, vx_buf *b, const char *page_table_header) {
  const char *start = page_table_header ? strstr(page_table_header, "struct vx_paged_kv {") : NULL;
  const char *end = start ? strstr(start, "\n};") : NULL;
  if (!start || !end) {
    vx_cg_error(cg, "codegen: the embedded vx_page_table.cuh has no struct vx_paged_kv");
    return;
  }
  vx_buf_puts(b, "/* Paged KV descriptor: field for field the struct the .cu's kernels take\n"
                 " * (runtime/device/vx_page_table.cuh; libvortexrt's vxrt_paged_kv mirrors\n"
                 " * it). Formats: 0 CSR (indptr, indices, last_page_len), 1 block table\n"
                 " * (block_table, block_table_stride, seq_lens). Strides in elements. */\n");
  vx_buf_puts(b, "#ifndef VX_PAGED_KV_DEFINED\n#define VX_PAGED_KV_DEFINED\ntypedef ");
  vx_buf_append(b, start, (size_t)(end - start));
  vx_buf_puts(b, "\n} vx_paged_kv;\n#endif\n\n");
}

void vx_cg_emit_header(vx_cg *cg, const char *page_table_header) {
  vx_buf *b = cg->out;
  const char *u = cg->upper;
  vx_buf_printf(b, "/* %s.h - C ABI of the kernels vortexc generated for algorithm `%s`.\n", cg->alg, cg->alg);
  vx_buf_printf(b, " * Generated file: edit the .vtx source instead.\n *\n");
  vx_buf_printf(b, " * Every launcher is asynchronous on `stream`, never allocates and never\n"
                   " * synchronises, so a whole decode step can be captured in a CUDA graph.\n"
                   " * Scratch memory comes from a caller-provided workspace of at least\n"
                   " * %s_workspace_size() bytes. Launchers return %s_OK or an error status;\n"
                   " * they check what the host can see (pointers, sizes, geometry), not the\n"
                   " * contents of device page tables. */\n", cg->alg, u);
  vx_buf_printf(b, "#ifndef %s_H\n#define %s_H\n\n#include <stddef.h>\n\n#include <cuda_runtime_api.h>\n\n", u, u);
  vx_buf_puts(b, "#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n");
  emit_paged_kv_struct(cg, b, page_table_header);
  emit_geometry_macros(cg, b);
  emit_status_enum(cg, b);
  for (size_t i = 0; i < sizeof abi / sizeof abi[0]; i++) {
    vx_buf_puts(b, "/* ");
    for (const char *c = abi[i].doc; *c; c++) {
      if (strncmp(c, "<ALG>", 5) == 0) {
        vx_buf_puts(b, u);
        c += 4;
      } else {
        vx_buf_append(b, c, 1);
      }
    }
    vx_buf_puts(b, " */\n");
    prototype(cg, b, &abi[i]);
    vx_buf_puts(b, ";\n\n");
  }
  vx_buf_printf(b, "#ifdef __cplusplus\n} /* extern \"C\" */\n#endif\n\n#endif /* %s_H */\n", u);
}

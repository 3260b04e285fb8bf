/* The cache-update kernels: per (page, KV head) the stored fields of the
 * IR's cache_update function, one block per page, threads over the
 * field's elements. Two entry points:
 *   <alg>_cache_update_kernel  every page (prefill) or only each request's
 *                              last page (after appending tokens);
 *   <alg>_cache_append_kernel  last page only, folding just the newest
 *                              tokens into fields the incremental pass
 *                              marked (max/min/sum over tok); emitted only
 *                              when such a field exists. */
#include <stdio.h>
#include <string.h>

#include "cg.h"

static bool func_has(const vx_func *f, vx_op_code code) {
  for (const vx_op *op = f->first; op; op = op->next)
    if (op->code == code) return true;
  return false;
}

/* True when op's subtree never reduces or normalises over tok/sub, so
 * its value at a token depends on that token alone. */
static bool per_token(const vx_op *op) {
  const vx_op_class cls = vx_op_info_of(op->code)->cls;
  if ((cls == VX_OPC_REDUCE || cls == VX_OPC_AXISMAP) && (op->axis == VX_AXIS_TOK || op->axis == VX_AXIS_SUB))
    return false;
  for (int i = 0; i < vx_op_info_of(op->code)->noperands; i++)
    if (!per_token(op->operands[i])) return false;
  return true;
}

/* The reduction an incremental field folds new tokens into, or NULL when
 * the field must be recomputed (not marked, or not of the foldable form). */
static const vx_op *foldable_reduce(const vx_cg *cg, const vx_op *store) {
  if (!cg->m->fields[store->index].incremental) return NULL;
  const vx_op *r = store->operands[0];
  if (r->code != VX_OP_REDUCE_MAX && r->code != VX_OP_REDUCE_MIN && r->code != VX_OP_REDUCE_SUM) return NULL;
  if (r->axis != VX_AXIS_TOK || !per_token(r->operands[0])) return NULL;
  return r;
}

bool vx_cg_has_incremental(const vx_cg *cg) {
  for (const vx_op *op = cg->m->cache_update.first; op; op = op->next)
    if (op->code == VX_OP_STORE_FIELD && foldable_reduce(cg, op)) return true;
  return false;
}

/* Condition under which a field element lies on valid tokens/slices. */
static void valid_condition(vx_cg *cg, vx_buf *b, vx_shape shape) {
  const bool sub = vx_shape_has(shape, VX_AXIS_SUB), tok = vx_shape_has(shape, VX_AXIS_TOK);
  const int w = vx_cg_extent(cg->m, shape, VX_AXIS_TOK);
  if (sub && tok)
    vx_buf_printf(b, "s * %d + t < c.valid", w);
  else if (sub)
    vx_buf_printf(b, "s * %d < c.valid", w);
  else if (tok)
    vx_buf_puts(b, "t < c.valid");
  else
    vx_buf_puts(b, "true");
}

static void store_value(vx_cg *cg, const vx_ir_field *f, const char *value) {
  switch (f->storage) {
  case VX_DTYPE_BF16: vx_buf_line(cg->out, "f.%s[base * %d + i] = __float2bfloat16_rn(%s);", f->name, vx_cg_elems(cg->m, f->shape), value); break;
  case VX_DTYPE_F16: vx_buf_line(cg->out, "f.%s[base * %d + i] = __float2half_rn(%s);", f->name, vx_cg_elems(cg->m, f->shape), value); break;
  default: vx_buf_line(cg->out, "f.%s[base * %d + i] = %s;", f->name, vx_cg_elems(cg->m, f->shape), value); break;
  }
}

/* for each element i of the field: value (0 on invalid positions), stored. */
static void emit_store_loop(vx_cg *cg, const vx_op *store, bool fold) {
  vx_buf *b = cg->out;
  const vx_ir_field *f = &cg->m->fields[store->index];
  const vx_op *value = store->operands[0];
  const vx_op *r = fold ? foldable_reduce(cg, store) : NULL;
  vx_buf_line(b, "/* field %s: %s */", f->name, r ? "fold the new tokens into the stored value" : "recompute");
  vx_buf_line(b, "for (int i = threadIdx.x; i < %d; i += blockDim.x) {", vx_cg_elems(cg->m, f->shape));
  b->indent++;
  vx_cg_decompose(cg, f->shape);
  vx_buf cond, call;
  vx_buf_init(&cond);
  vx_buf_init(&call);
  valid_condition(cg, &cond, f->shape);
  vx_cg_call(cg, &call, value);
  if (cond.oom || call.oom || !cond.data || !call.data) {
    vx_cg_error(cg, "codegen: out of memory");
  } else if (!r) {
    if (strcmp(cond.data, "true") == 0)
      vx_buf_line(b, "const float x = %s;", call.data);
    else
      vx_buf_line(b, "const float x = %s ? %s : 0.0f;", cond.data, call.data);
    store_value(cg, f, "x");
  } else {
    /* Tokens [old, valid) are new; a slice (or page) that held no token
     * before is computed from scratch because its stored 0 is no identity. */
    const vx_op *e = r->operands[0];
    const bool sub = vx_shape_has(e->shape, VX_AXIS_SUB);
    const int w = vx_cg_extent(cg->m, e->shape, VX_AXIS_TOK);
    const char *combine = r->code == VX_OP_REDUCE_MAX ? "fmaxf(x, " : r->code == VX_OP_REDUCE_MIN ? "fminf(x, " : "(x + ";
    if (sub) {
      vx_buf_line(b, "const int from = %s_slice_tokens(old, s, %d), to = %s_slice_tokens(c.valid, s, %d);", cg->alg, w, cg->alg, w);
    } else {
      vx_buf_line(b, "const int from = old, to = c.valid;");
    }
    vx_buf_line(b, "float x;");
    vx_buf_line(b, "if (from == 0) {");
    vx_buf_line(b, "  x = %s;", call.data);
    vx_buf_line(b, "} else {");
    b->indent++;
    vx_buf old;
    vx_buf_init(&old);
    char elem[160];
    snprintf(elem, sizeof elem, "f.%s[base * %d + i]", f->name, vx_cg_elems(cg->m, f->shape));
    vx_cg_to_float(&old, f->storage, elem);
    vx_buf_line(b, "x = %s;", old.oom || !old.data ? "0.0f" : old.data);
    vx_buf_free(&old);
    vx_buf ecall;
    vx_buf_init(&ecall);
    vx_cg_call(cg, &ecall, e);
    vx_buf_line(b, "for (int t = from; t < to; ++t) x = %s%s);", combine, ecall.oom || !ecall.data ? "0.0f" : ecall.data);
    vx_buf_free(&ecall);
    b->indent--;
    vx_buf_line(b, "}");
    store_value(cg, f, "x");
  }
  vx_buf_free(&cond);
  vx_buf_free(&call);
  b->indent--;
  vx_buf_line(b, "}");
}

static void emit_ctx(vx_cg *cg, bool uses_v) {
  vx_buf *b = cg->out;
  vx_buf_line(b, "/* What the cache_update value functions see: one page of one KV head. */");
  vx_buf_line(b, "struct %s_cache_ctx {", cg->alg);
  vx_buf_line(b, "  const %s_kv_t *k; /* token 0 of the page, this head, dim 0 */", cg->alg);
  if (uses_v) vx_buf_line(b, "  const %s_kv_t *v;", cg->alg);
  vx_buf_line(b, "  long long stride_token;");
  vx_buf_line(b, "  int valid;            /* tokens holding data: page_size except on a last page */");
  vx_buf_line(b, "};");
  vx_buf_blank(b);
}

/* Which split helpers the value functions call: loops over the tokens
 * of a slice, and over the slices holding a valid token. */
static void split_helpers_used(const vx_cg *cg, bool *slice_tokens, bool *valid_slices) {
  *slice_tokens = *valid_slices = false;
  for (const vx_op *op = cg->m->cache_update.first; op; op = op->next) {
    const vx_op_class cls = vx_op_info_of(op->code)->cls;
    if (cls != VX_OPC_REDUCE && cls != VX_OPC_AXISMAP) continue;
    if (op->axis == VX_AXIS_SUB) *valid_slices = true;
    if (op->axis == VX_AXIS_TOK && vx_shape_has(op->operands[0]->shape, VX_AXIS_SUB)) *slice_tokens = true;
  }
}

static void emit_split_helpers(vx_cg *cg) {
  vx_buf *b = cg->out;
  bool slice_tokens, valid_slices;
  split_helpers_used(cg, &slice_tokens, &valid_slices);
  if (slice_tokens) {
    vx_buf_line(b, "/* Valid tokens of slice s (width w) of a page holding `valid` tokens. */");
    vx_buf_line(b, "static __device__ __forceinline__ int %s_slice_tokens(int valid, int s, int w) {", cg->alg);
    vx_buf_line(b, "  const int left = valid - s * w;");
    vx_buf_line(b, "  return left < 0 ? 0 : (left < w ? left : w);");
    vx_buf_line(b, "}");
    vx_buf_blank(b);
  }
  if (valid_slices) {
    vx_buf_line(b, "/* Slices holding at least one valid token: reductions over sub cover these. */");
    vx_buf_line(b, "static __device__ __forceinline__ int %s_valid_slices(int valid, int w) {", cg->alg);
    vx_buf_line(b, "  return (valid + w - 1) / w;");
    vx_buf_line(b, "}");
    vx_buf_blank(b);
  }
}

/* Kernel prologue shared by both kernels: resolves (b, j) to a physical
 * page and fills the context; corrupt tables never write outside pools. */
static void emit_prologue(vx_cg *cg, bool uses_v) {
  vx_buf *b = cg->out;
  vx_buf_line(b, "  const int n = vx_num_pages(kv, b);");
  vx_buf_line(b, "  if (j < 0 || j >= n) return;");
  vx_buf_line(b, "  const int phys = vx_physical_page(kv, b, j);");
  vx_buf_line(b, "  if (phys < 0 || (long long)phys >= kv.num_pages) return;");
  vx_buf_line(b, "  %s_cache_ctx c;", cg->alg);
  vx_buf_line(b, "  c.k = reinterpret_cast<const %s_kv_t *>(kv.k_pool) + vx_kv_offset(kv, phys, 0, h);", cg->alg);
  if (uses_v) vx_buf_line(b, "  c.v = reinterpret_cast<const %s_kv_t *>(kv.v_pool) + vx_kv_offset(kv, phys, 0, h);", cg->alg);
  vx_buf_line(b, "  c.stride_token = kv.stride_token;");
  vx_buf_line(b, "  c.valid = vx_page_valid_tokens(kv, b, j, n);");
  vx_buf_line(b, "  if (c.valid > kv.page_size) c.valid = kv.page_size; /* corrupt lengths never read past the page */");
  vx_buf_line(b, "  if (c.valid < 0) c.valid = 0;");
  vx_buf_line(b, "  const long long base = (long long)phys * kv.num_kv_heads + h;");
}

static void emit_ir_comment(vx_cg *cg, const vx_func *f) {
  vx_buf *b = cg->out;
  vx_buf_line(b, " * IR:");
  for (const vx_op *op = f->first; op; op = op->next) {
    vx_buf_puts(b, " *   ");
    vx_cg_describe_op(b, op);
    vx_buf_puts(b, "\n");
  }
}

void vx_cg_emit_cache(vx_cg *cg) {
  vx_buf *b = cg->out;
  const vx_func *f = &cg->m->cache_update;
  const bool uses_v = func_has(f, VX_OP_INPUT_V);
  vx_buf_line(b, "/* ---------------------------------------------------------------- cache update */");
  vx_buf_blank(b);
  emit_ctx(cg, uses_v);
  emit_split_helpers(cg);
  vx_cg_emit_value_functions(cg, f);

  vx_buf_line(b, "/* cache_update: every stored field of one (page, KV head) per block.");
  vx_buf_line(b, " * Grid: x = batch * max_pages, y = KV heads; block x covers logical page");
  vx_buf_line(b, " * x %% max_pages of every request, or with last_only one of each request's");
  vx_buf_line(b, " * last max_pages pages (the pages an append of several tokens touched).");
  emit_ir_comment(cg, f);
  vx_buf_line(b, " */");
  vx_buf_line(b, "extern \"C\" __global__ void __launch_bounds__(%s_CACHE_THREADS)", cg->upper);
  vx_buf_line(b, "%s_cache_update_kernel(vx_paged_kv kv, %s_field_ptrs f, int max_pages, int last_only) {", cg->alg, cg->alg);
  vx_buf_line(b, "  const int h = blockIdx.y;");
  vx_buf_line(b, "  const int b = (int)blockIdx.x / max_pages;");
  vx_buf_line(b, "  const int j = (last_only ? vx_num_pages(kv, b) - max_pages : 0) + (int)blockIdx.x %% max_pages;");
  emit_prologue(cg, uses_v);
  b->indent++;
  for (const vx_op *op = f->first; op; op = op->next)
    if (op->code == VX_OP_STORE_FIELD) emit_store_loop(cg, op, false);
  b->indent--;
  vx_buf_line(b, "}");
  vx_buf_blank(b);

  if (!vx_cg_has_incremental(cg)) return;
  vx_buf_line(b, "/* cache_update after appending `new_tokens` tokens to every request: one");
  vx_buf_line(b, " * block per (page the new tokens touched, KV head); grid: x = batch * span,");
  vx_buf_line(b, " * span = the most pages new_tokens tokens can touch, y = KV heads. Fields");
  vx_buf_line(b, " * the incremental pass marked fold only the page's new tokens into the");
  vx_buf_line(b, " * stored value; the others are recomputed from the whole page. */");
  vx_buf_line(b, "extern \"C\" __global__ void __launch_bounds__(%s_CACHE_THREADS)", cg->upper);
  vx_buf_line(b, "%s_cache_append_kernel(vx_paged_kv kv, %s_field_ptrs f, int new_tokens) {", cg->alg, cg->alg);
  vx_buf_line(b, "  const int h = blockIdx.y;");
  vx_buf_line(b, "  const int span = (new_tokens + kv.page_size - 2) / kv.page_size + 1;");
  vx_buf_line(b, "  const int b = (int)blockIdx.x / span;");
  vx_buf_line(b, "  const int j = vx_num_pages(kv, b) - span + (int)blockIdx.x %% span;");
  emit_prologue(cg, uses_v);
  vx_buf_line(b, "  /* tokens of this page that were there before the append */");
  vx_buf_line(b, "  const int before = vx_seq_len(kv, b) - new_tokens - j * kv.page_size;");
  vx_buf_line(b, "  const int old = before < 0 ? 0 : (before < c.valid ? before : c.valid);");
  vx_buf_line(b, "  if (old >= c.valid) return; /* no new token in this page */");
  b->indent++;
  for (const vx_op *op = f->first; op; op = op->next)
    if (op->code == VX_OP_STORE_FIELD) emit_store_loop(cg, op, true);
  b->indent--;
  vx_buf_line(b, "}");
  vx_buf_blank(b);
}

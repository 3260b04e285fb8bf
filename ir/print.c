/* Textual IR printer (format: docs/ir.md). Must tolerate broken IR (a
 * dump after a faulty pass is exactly when it is needed), so out-of-range
 * indices and missing operands print as placeholders instead of crashing. */
#include "print.h"

#include <stdlib.h>
#include <string.h>

void vx_format_number(double x, char buf[40]) {
  for (int prec = 1; prec <= 17; prec++) {
    snprintf(buf, 40, "%.*g", prec, x);
    if (strtod(buf, NULL) == x)
      return;
  }
  /* NaN never compares equal: the %.17g spelling ("nan", "-nan") reads back as NaN. */
}

const char *vx_dtype_name(vx_dtype d) {
  switch (d) {
  case VX_DTYPE_F32: return "f32";
  case VX_DTYPE_BF16: return "bf16";
  case VX_DTYPE_F16: return "f16";
  case VX_DTYPE_DEFAULT: break;
  }
  return "default";
}

const char *vx_space_name(vx_space s) {
  switch (s) {
  case VX_SPACE_QUERY: return "query";
  case VX_SPACE_PAGE: return "page";
  case VX_SPACE_CANDIDATE: return "candidate";
  }
  return "?";
}

const char *vx_func_name(vx_func_kind k) { return k == VX_FUNC_CACHE_UPDATE ? "cache_update" : "index"; }

void vx_format_shape(vx_shape s, char *buf, size_t n) {
  /* The split width goes on `sub` when present, else on `tok`. */
  vx_axis width_on = vx_shape_has(s, VX_AXIS_SUB) ? VX_AXIS_SUB : VX_AXIS_TOK;
  size_t len = (size_t)snprintf(buf, n, "[");
  const char *sep = "";
  for (int a = 0; a < VX_AXIS_COUNT && len < n; a++) {
    if (!vx_shape_has(s, (vx_axis)a))
      continue;
    if (a == (int)width_on && s.split)
      len += (size_t)snprintf(buf + len, n - len, "%s%s:%d", sep, vx_axis_name((vx_axis)a), s.split);
    else
      len += (size_t)snprintf(buf + len, n - len, "%s%s", sep, vx_axis_name((vx_axis)a));
    sep = ", ";
  }
  if (len < n)
    snprintf(buf + len, n - len, "]");
}

static const char *symbol_name(const vx_module *m, const vx_op *op) {
  switch (op->code) {
  case VX_OP_LOAD_FIELD:
  case VX_OP_STORE_FIELD:
    return op->index >= 0 && op->index < m->nfields ? m->fields[op->index].name : NULL;
  case VX_OP_LOAD_STATE:
  case VX_OP_STORE_STATE:
    return op->index >= 0 && op->index < m->nstates ? m->states[op->index].name : NULL;
  case VX_OP_PARAM:
    return op->index >= 0 && op->index < m->nparams ? m->params[op->index].name : NULL;
  default:
    return "";
  }
}

static bool has_symbol(vx_op_code c) {
  return c == VX_OP_LOAD_FIELD || c == VX_OP_STORE_FIELD || c == VX_OP_LOAD_STATE || c == VX_OP_STORE_STATE ||
         c == VX_OP_PARAM;
}

static bool is_select(vx_op_code c) {
  return c == VX_OP_SELECT_TOP || c == VX_OP_SELECT_MASS || c == VX_OP_SELECT_THRESHOLD;
}

/* Attributes in key order: axis, buffer, keep_first, keep_last, region, split. */
/* Only attributes that apply to the op are printed; planning attributes
 * only when set. The reader accepts exactly this set. */
static void print_attrs(vx_strbuf *sb, const vx_op *op, vx_op_class cls) {
  const char *sep = " {";
  if (cls == VX_OPC_REDUCE || cls == VX_OPC_AXISMAP) {
    vx_sb_printf(sb, "%saxis = %s", sep, vx_axis_name(op->axis));
    sep = ", ";
  }
  if (op->buffer) {
    vx_sb_printf(sb, "%sbuffer = %d", sep, op->buffer);
    sep = ", ";
  }
  if (is_select(op->code)) {
    vx_sb_printf(sb, "%skeep_first = %d, keep_last = %d", sep, op->keep_first, op->keep_last);
    sep = ", ";
  }
  if (op->region) {
    vx_sb_printf(sb, "%sregion = %d", sep, op->region);
    sep = ", ";
  }
  if (cls == VX_OPC_SPLIT) {
    vx_sb_printf(sb, "%ssplit = %d", sep, op->split);
    sep = ", ";
  }
  if (sep[0] == ',')
    vx_sb_puts(sb, "}");
}

/* One op line (grammar in docs/ir.md). */
static void print_op(vx_strbuf *sb, const vx_module *m, const vx_op *op, const vx_print_options *opts) {
  const vx_op_info *info = vx_op_info_of(op->code);
  if (!info) {
    vx_sb_printf(sb, "    <invalid op code %d>\n", (int)op->code);
    return;
  }
  vx_sb_puts(sb, "    ");
  if (info->cls != VX_OPC_SINK)
    vx_sb_printf(sb, "%%%d = ", op->id);
  vx_sb_puts(sb, info->mnemonic);
  const char *sep = " ";
  if (has_symbol(op->code)) {
    const char *name = symbol_name(m, op);
    if (name)
      vx_sb_printf(sb, " @%s", name);
    else
      vx_sb_printf(sb, " @<out-of-range:%d>", op->index);
    sep = ", ";
  } else if (op->code == VX_OP_CONST) {
    char num[40];
    vx_format_number(op->number, num);
    vx_sb_printf(sb, " %s", num);
  }
  for (int i = 0; i < info->noperands; i++) {
    if (op->operands[i])
      vx_sb_printf(sb, "%s%%%d", sep, op->operands[i]->id);
    else
      vx_sb_printf(sb, "%s%%<null>", sep);
    sep = ", ";
  }
  print_attrs(sb, op, info->cls);
  if (info->cls != VX_OPC_SINK) {
    char shape[64];
    vx_format_shape(op->shape, shape, sizeof shape);
    vx_sb_printf(sb, " : %s%s %s", op->elem == VX_ELEM_I32 ? "i32" : "f32", shape, vx_space_name(op->space));
  }
  if (opts->locations && op->loc.line)
    vx_sb_printf(sb, " loc(%u:%u)", op->loc.line, op->loc.col);
  vx_sb_puts(sb, "\n");
}

/* Bytes of one buffer as c * B * Hkv [* P]: the constant part folds the
 * known geometry (group, head dim, page size); B (max batch), Hkv (KV
 * heads) and P (max pages) stay symbolic. */
static long buffer_bytes_factor(const vx_module *m, vx_shape s, bool *per_page) {
  long c = 4; /* f32 */
  const vx_geometry *g = &m->geo;
  int width = s.split ? s.split : g->page_size;
  *per_page = vx_shape_has(s, VX_AXIS_PAGE);
  if (vx_shape_has(s, VX_AXIS_HEAD))
    c *= g->group;
  if (vx_shape_has(s, VX_AXIS_SUB))
    c *= s.split ? g->page_size / s.split : 1;
  if (vx_shape_has(s, VX_AXIS_TOK))
    c *= width;
  if (vx_shape_has(s, VX_AXIS_DIM))
    c *= g->head_dim;
  return c;
}

/* Summary comments derived from the region/buffer attributes: which ops
 * form each kernel, and the workspace each buffer needs. Derived, so
 * the reader can ignore them and the round trip still holds. */
static void print_plan_comments(vx_strbuf *sb, const vx_module *m, const vx_func *f) {
  int max_region = 0, max_buffer = 0;
  for (const vx_op *op = f->first; op; op = op->next) {
    if (op->region > max_region)
      max_region = op->region;
    if (op->buffer > max_buffer)
      max_buffer = op->buffer;
  }
  for (int r = 1; r <= max_region; r++) {
    bool streams = false;
    for (const vx_op *op = f->first; op; op = op->next)
      if (op->region == r && vx_shape_has(op->shape, VX_AXIS_PAGE))
        streams = true;
    vx_sb_printf(sb, "    // fusion: region %d = one kernel%s:", r,
                 f->kind == VX_FUNC_CACHE_UPDATE ? " per page (reads k/v once)"
                 : streams                       ? " streaming over pages"
                                                 : "");
    for (const vx_op *op = f->first; op; op = op->next)
      if (op->region == r && vx_op_info_of(op->code)->cls != VX_OPC_SINK)
        vx_sb_printf(sb, " %%%d", op->id);
    for (const vx_op *op = f->first; op; op = op->next)
      if (op->region == r && vx_op_info_of(op->code)->cls == VX_OPC_SINK)
        vx_sb_printf(sb, " -> %s", vx_op_info_of(op->code)->mnemonic);
    vx_sb_puts(sb, "\n");
  }
  long total_page = 0, total_row = 0;
  /* A slot may be shared by values with disjoint lifetimes: it is sized
   * (and counted in the total) by the largest of them. */
  for (int b = 1; b <= max_buffer; b++) {
    long c = 0;
    bool per_page = false;
    const vx_op *first = NULL;
    for (const vx_op *op = f->first; op; op = op->next) {
      if (op->buffer != b)
        continue;
      bool pp;
      long cc = buffer_bytes_factor(m, op->shape, &pp);
      if (!first || pp > per_page || (pp == per_page && cc > c)) {
        c = cc;
        per_page = pp;
      }
      if (!first) {
        first = op;
        vx_sb_printf(sb, "    // memory: buffer %d =", b);
      }
      char shape[64];
      vx_format_shape(op->shape, shape, sizeof shape);
      vx_sb_printf(sb, " %%%d f32%s", op->id, shape);
    }
    if (first) {
      vx_sb_printf(sb, " : %ld*B*Hkv%s bytes\n", c, per_page ? "*P" : "");
      *(per_page ? &total_page : &total_row) += c;
    }
  }
  if (max_buffer) {
    vx_sb_puts(sb, "    // memory: total ");
    if (total_page)
      vx_sb_printf(sb, "%ld*B*Hkv*P%s", total_page, total_row ? " + " : "");
    if (total_row)
      vx_sb_printf(sb, "%ld*B*Hkv", total_row);
    vx_sb_puts(sb, " bytes, allocated once (B = max batch, Hkv = KV heads, P = max pages)\n");
  }
}

static void print_func(vx_strbuf *sb, const vx_module *m, const vx_func *f, const vx_print_options *opts) {
  /* Ids are presentation only; renumbering through a const pointer is
   * the one mutation printing makes (as vx_module_clone does). */
  vx_func_renumber((vx_func *)f);
  vx_sb_printf(sb, "\n  func @%s {\n", vx_func_name(f->kind));
  if (!opts->no_plan_comments)
    print_plan_comments(sb, m, f);
  for (const vx_op *op = f->first; op; op = op->next)
    print_op(sb, m, op, opts);
  vx_sb_puts(sb, "  }\n");
}

/* module line, geometry, dense layers, params, fields, states: the
 * order the reader expects. */
static void print_header(vx_strbuf *sb, const vx_module *m) {
  const vx_geometry *g = &m->geo;
  vx_sb_printf(sb, "// vortexc IR\nmodule @%s {\n", m->name);
  if (g->kv == VX_KV_MLA)
    vx_sb_printf(sb, "  geometry kv = mla(%d, %d)", g->mla_latent, g->mla_rope);
  else
    vx_sb_puts(sb, "  geometry kv = gqa");
  vx_sb_printf(sb, ", head_dim = %d, group = %d, page_size = %d, kv_dtype = %s\n", g->head_dim, g->group,
               g->page_size, vx_dtype_name(g->kv_dtype));
  if (m->ndense_layers) {
    vx_sb_puts(sb, "  dense_layers [");
    for (int i = 0; i < m->ndense_layers; i++)
      vx_sb_printf(sb, "%s%d", i ? ", " : "", m->dense_layers[i]);
    vx_sb_puts(sb, "]\n");
  }
  for (int i = 0; i < m->nparams; i++) {
    char num[40];
    vx_format_number(m->params[i].value, num);
    vx_sb_printf(sb, "  param @%s : %s = %s\n", m->params[i].name, m->params[i].is_int ? "i32" : "f32", num);
  }
  for (int i = 0; i < m->nfields; i++) {
    char shape[64];
    vx_format_shape(m->fields[i].shape, shape, sizeof shape);
    vx_sb_printf(sb, "  field @%s : %s%s%s\n", m->fields[i].name, vx_dtype_name(m->fields[i].storage), shape,
                 m->fields[i].incremental ? " incremental" : "");
  }
  for (int i = 0; i < m->nstates; i++) {
    char num[40];
    vx_format_number(m->states[i].init, num);
    vx_sb_printf(sb, "  state @%s = %s\n", m->states[i].name, num);
  }
}

void vx_print_module_sb(vx_strbuf *sb, const vx_module *m, const vx_print_options *opts) {
  static const vx_print_options defaults = {0};
  if (!opts)
    opts = &defaults;
  print_header(sb, m);
  print_func(sb, m, &m->cache_update, opts);
  print_func(sb, m, &m->index, opts);
  vx_sb_puts(sb, "}\n");
}

char *vx_print_module_string(const vx_module *m, const vx_print_options *opts) {
  vx_strbuf sb = {0};
  vx_print_module_sb(&sb, m, opts);
  return vx_sb_take(&sb);
}

bool vx_print_module(FILE *out, const vx_module *m, const vx_print_options *opts) {
  char *text = vx_print_module_string(m, opts);
  if (!text)
    return false;
  bool ok = fputs(text, out) >= 0;
  free(text);
  return ok;
}

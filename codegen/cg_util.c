/* Small helpers shared by the emitters: extents, dtypes, literals, op
 * descriptions for comments. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cg.h"

void vx_cg_error(vx_cg *cg, const char *fmt, ...) {
  if (cg->failed) return;
  cg->failed = true;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(cg->err, cg->errlen, fmt, ap);
  va_end(ap);
}

int vx_cg_extent(const vx_module *m, vx_shape shape, vx_axis axis) {
  const vx_geometry *g = &m->geo;
  const int split = vx_shape_has(shape, VX_AXIS_SUB) && shape.split > 0 ? shape.split : 0;
  switch (axis) {
  case VX_AXIS_PAGE: return -1;
  case VX_AXIS_HEAD: return g->group;
  case VX_AXIS_SUB: return split ? (g->page_size + split - 1) / split : 1;
  case VX_AXIS_TOK: return split ? split : g->page_size;
  case VX_AXIS_DIM: return g->head_dim;
  case VX_AXIS_COUNT: break;
  }
  return 1;
}

int vx_cg_elems(const vx_module *m, vx_shape shape) {
  int n = 1;
  for (int a = VX_AXIS_HEAD; a < VX_AXIS_COUNT; a++)
    if (vx_shape_has(shape, (vx_axis)a)) n *= vx_cg_extent(m, shape, (vx_axis)a);
  return n;
}

const char *vx_cg_ctype(vx_dtype dt) {
  switch (dt) {
  case VX_DTYPE_BF16: return "__nv_bfloat16";
  case VX_DTYPE_F16: return "__half";
  case VX_DTYPE_F32:
  case VX_DTYPE_DEFAULT: break;
  }
  return "float";
}

int vx_cg_dtype_bytes(vx_dtype dt) { return dt == VX_DTYPE_BF16 || dt == VX_DTYPE_F16 ? 2 : 4; }

void vx_cg_to_float(vx_buf *b, vx_dtype dt, const char *expr) {
  switch (dt) {
  case VX_DTYPE_BF16: vx_buf_printf(b, "__bfloat162float(%s)", expr); return;
  case VX_DTYPE_F16: vx_buf_printf(b, "__half2float(%s)", expr); return;
  case VX_DTYPE_F32:
  case VX_DTYPE_DEFAULT: break;
  }
  vx_buf_puts(b, expr);
}

void vx_cg_float_literal(vx_buf *b, double value) {
  const float f = (float)value;
  if (isnan(f)) {
    vx_buf_puts(b, "__int_as_float(0x7fffffff)");
  } else if (isinf(f)) {
    vx_buf_puts(b, f > 0 ? "__int_as_float(0x7f800000)" : "__int_as_float(0xff800000)");
  } else {
    char text[48];
    snprintf(text, sizeof text, "%.9g", (double)f);
    /* "%g" may print an integer ("64"): add ".0" so the literal is a float. */
    const bool has_point = strpbrk(text, ".e") != NULL;
    vx_buf_printf(b, "%s%sf", text, has_point ? "" : ".0");
  }
}

void vx_cg_describe_op(vx_buf *b, const vx_op *op) {
  const vx_op_info *info = vx_op_info_of(op->code);
  const vx_module *m = op->parent->module;
  if (info->cls != VX_OPC_SINK) vx_buf_printf(b, "%%%d = ", op->id);
  vx_buf_puts(b, info->mnemonic);
  for (int i = 0; i < info->noperands; i++) vx_buf_printf(b, "%s%%%d", i ? ", " : " ", op->operands[i]->id);
  switch (op->code) {
  case VX_OP_CONST: vx_buf_printf(b, " %.9g", op->number); break;
  case VX_OP_PARAM: vx_buf_printf(b, " %s = %.9g", m->params[op->index].name, m->params[op->index].value); break;
  case VX_OP_LOAD_FIELD:
  case VX_OP_STORE_FIELD: vx_buf_printf(b, " %s", m->fields[op->index].name); break;
  case VX_OP_LOAD_STATE:
  case VX_OP_STORE_STATE: vx_buf_printf(b, " %s", m->states[op->index].name); break;
  case VX_OP_SPLIT: vx_buf_printf(b, ", %d", op->split); break;
  case VX_OP_SELECT_TOP:
  case VX_OP_SELECT_MASS:
  case VX_OP_SELECT_THRESHOLD: vx_buf_printf(b, " keep first %d, last %d", op->keep_first, op->keep_last); break;
  default:
    if (info->cls == VX_OPC_REDUCE || info->cls == VX_OPC_AXISMAP) vx_buf_printf(b, ", %s", vx_axis_name(op->axis));
    break;
  }
  if (info->cls != VX_OPC_SINK) {
    char shape[64];
    vx_buf_printf(b, " : %s", vx_shape_format(op->shape, shape, sizeof shape));
  }
}

const char *vx_cg_offset(int offset, char buf[16]) {
  if (offset == 0) return "";
  snprintf(buf, 16, "%d + ", offset);
  return buf;
}

/* How the index function maps onto the index kernel (emit_index.c writes
 * it): which values live in the row buffer (page reductions, then staged
 * values), whether the page phase takes the vector form and with how many
 * lanes a page, and which kernels the module gets (split SCORE/SELECT
 * launches, the fused kernels). The tensor-core form decides after it
 * (emit_index_mma.c). */
#include <stdlib.h>

#include "cg.h"

static bool over_page(const vx_op *op) {
  const vx_op_class cls = vx_op_info_of(op->code)->cls;
  return (cls == VX_OPC_REDUCE || cls == VX_OPC_AXISMAP) && op->axis == VX_AXIS_PAGE;
}

vx_shape vx_cg_without_page(vx_shape s) {
  s.axes &= (uint8_t)~VX_AXIS_BIT(VX_AXIS_PAGE);
  return s;
}

/* Registers per lane for page-independent values held per lane plus the
 * lane's words of one page's fields (quest, GQA 8, head dim 128: 64 + 8). */
#define VX_CG_LANE_FLOATS_MAX 80

/* The vector emitter: a page is owned by L lanes, lane l holding the dims
 * (l + k * L) * 8 .. + 7 (k < K) of every per-page value with a dim axis.
 * It needs every dim-carrying per-page value to be consumed inside the page
 * (by a reduction over dim or an op over the other axes): a reduction,
 * softmax or normalize over page or dim of such a value falls back to the
 * scalar emitter. */
static void analyse_vec(vx_cg *cg) {
  const vx_func *f = &cg->m->index;
  const int dim = cg->m->geo.head_dim;
  cg->vec = false;
  if (!cg->want_vec || cg->failed) return;
  bool page_dim = false;
  for (const vx_op *op = f->first; op; op = op->next) {
    const vx_op_class cls = vx_op_info_of(op->code)->cls;
    if (cls == VX_OPC_SINK) continue;
    if (vx_shape_has(op->shape, VX_AXIS_PAGE) && vx_shape_has(op->shape, VX_AXIS_DIM)) page_dim = true;
    for (int i = 0; i < vx_op_info_of(op->code)->noperands; i++) {
      const vx_op *x = op->operands[i];
      if (!vx_shape_has(x->shape, VX_AXIS_PAGE) || !vx_shape_has(x->shape, VX_AXIS_DIM)) continue;
      if (over_page(op)) return;
      if (cls == VX_OPC_AXISMAP && op->axis == VX_AXIS_DIM) return;
    }
  }
  if (page_dim && (dim % 8 != 0 || dim < 8)) return;
  cg->lanes = 1;
  cg->chunks = 0;
  if (page_dim) {
    const int chunks = dim / 8;
    int lanes = 32;
    while (chunks % lanes != 0) lanes /= 2;
    cg->lanes = lanes;
    cg->chunks = chunks / lanes;
  }
  cg->lane_res = calloc((size_t)(f->next_id > 0 ? f->next_id : 1), sizeof *cg->lane_res);
  if (!cg->lane_res) {
    vx_cg_error(cg, "codegen: out of memory");
    return;
  }
  cg->vec = true;
  /* Staged values (in shared memory) read by per-page values: the lane's
   * dims in registers, while they fit. */
  /* The 16-byte words of one page's fields a lane holds (nvcc keeps a
   * field's loads live across the heads that reuse them) count too. */
  int floats = 0;
  for (int i = 0; i < cg->m->nfields; i++)
    if (vx_shape_has(cg->m->fields[i].shape, VX_AXIS_DIM))
      floats += vx_cg_elems(cg->m, cg->m->fields[i].shape) / dim * cg->chunks * 8 * vx_cg_dtype_bytes(cg->m->fields[i].storage) / 4;
  if (floats > 32) { /* e.g. sub-page envelopes of 8 slices: nvcc spills; the scalar emitter does not */
    cg->vec = false;
    return;
  }
  for (const vx_op *op = f->first; op && page_dim; op = op->next) {
    if (cg->rows[op->id].kind != VX_ROW_STAGED || !vx_shape_has(op->shape, VX_AXIS_DIM)) continue;
    bool read_per_page = false;
    for (const vx_use *u = op->uses; u; u = u->next)
      if (vx_shape_has(u->user->shape, VX_AXIS_PAGE) && vx_op_info_of(u->user->code)->cls != VX_OPC_SINK)
        read_per_page = true;
    const int per_lane = vx_cg_elems(cg->m, op->shape) / dim * cg->chunks * 8;
    if (!read_per_page || floats + per_lane > VX_CG_LANE_FLOATS_MAX) continue;
    cg->lane_res[op->id] = true;
    floats += per_lane;
  }
  cg->lane_floats = floats;
  /* Two pages in flight per lane where the registers allow it (ptxas: the
   * query group of 4 heads plus two pages of quest's envelopes, 84). */
  cg->vec_pages = floats <= 48 ? 2 : 1;
}

void vx_cg_analyse_index(vx_cg *cg) {
  const vx_func *f = &cg->m->index;
  const vx_module *m = cg->m;
  cg->rows = calloc((size_t)(f->next_id > 0 ? f->next_id : 1), sizeof *cg->rows);
  if (!cg->rows) {
    vx_cg_error(cg, "codegen: out of memory");
    return;
  }
  int used = 0;
  /* Page reductions must live in shared memory; allocate them first. */
  for (const vx_op *op = f->first; op; op = op->next) {
    if (!over_page(op)) continue;
    const int elems = vx_cg_elems(m, vx_cg_without_page(op->shape));
    cg->rows[op->id].kind = VX_ROW_PAGE_RED;
    cg->rows[op->id].offset = used;
    used += elems;
    if (op->code == VX_OP_SOFTMAX) {
      cg->rows[op->id].offset2 = used;
      used += elems;
    }
  }
  if (used > VX_CG_ROW_FLOATS_MAX) {
    vx_cg_error(cg, "codegen: reductions over page need %d floats of shared memory per row (limit %d)", used,
                VX_CG_ROW_FLOATS_MAX);
    return;
  }
  /* Worth staging: the query (read by every page) and reductions that do
   * not depend on the page (recomputing them per page would multiply
   * their cost by the page count). Cheap elementwise math stays inline. */
  for (const vx_op *op = f->first; op; op = op->next) {
    const vx_op_class cls = vx_op_info_of(op->code)->cls;
    if (vx_shape_has(op->shape, VX_AXIS_PAGE) || over_page(op) || cls == VX_OPC_SINK) continue;
    const bool worth = op->code == VX_OP_INPUT_Q || cls == VX_OPC_REDUCE || cls == VX_OPC_AXISMAP;
    const int elems = vx_cg_elems(m, op->shape);
    if (!worth || used + elems > VX_CG_ROW_FLOATS_MAX) continue;
    cg->rows[op->id].kind = VX_ROW_STAGED;
    cg->rows[op->id].offset = used;
    used += elems;
  }
  cg->row_floats = used;
  analyse_vec(cg);
  vx_cg_analyse_mma(cg);
}

bool vx_cg_index_reduces_over_page(const vx_cg *cg) {
  for (const vx_op *op = cg->m->index.first; op; op = op->next)
    if (over_page(op)) return true;
  return false;
}

bool vx_cg_index_split(const vx_cg *cg) { return (cg->vec || cg->mma.on) && !vx_cg_index_reduces_over_page(cg); }

bool vx_cg_index_has_fused(const vx_cg *cg) { return cg->mma.on && vx_cg_index_split(cg); }

bool vx_cg_index_has_fused_pair(const vx_cg *cg) {
  const vx_op *sel = vx_func_find_select(&cg->m->index);
  return vx_cg_index_has_fused(cg) && sel && sel->code != VX_OP_SELECT_MASS;
}

int vx_cg_index_pages_per_warp(const vx_cg *cg) {
  if (cg->mma.on) return 16; /* one m16n8k16 tile */
  return cg->vec ? cg->vec_pages * (32 / cg->lanes) : 1;
}

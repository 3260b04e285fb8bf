/* Pass `memory-plan`: which intermediates of `index` need device storage,
 * recorded as `buffer` slot attributes (the printer derives the size
 * table: bytes as c * B * Hkv [* P] with B = max batch, Hkv = KV heads,
 * P = max pages, c folding group/head_dim/page size), so the runtime
 * allocates one workspace up front and nothing per decode step.
 *
 * A computed value (not a source, not a sink) needs a buffer when
 *   - it has the page axis and a user needs all pages of the row at once
 *     (a select, or a reduce/softmax/normalize over page), or
 *   - a user lies in another fusion region (it crosses a kernel boundary;
 *     prologue values such as mean(q, head) cross into region 1).
 * Everything else lives in registers/shared memory inside its kernel.
 * Slots are reused between values of the same shape whose lifetimes, in
 * region order, do not overlap (a slot freed by kernel r serves values
 * defined in kernels > r). Run after `fusion` (without regions every
 * value is in region 0 and nothing is reused). cache_update needs no
 * buffers: it is one per-page kernel writing only fields.
 * Contract: accepts verified IR; sets only `buffer` on index ops. */
#include "passes.h"

static bool needs_all_pages(const vx_op *u) {
  const vx_op_info *info = vx_op_info_of(u->code);
  if (u->code == VX_OP_SELECT_TOP || u->code == VX_OP_SELECT_MASS || u->code == VX_OP_SELECT_THRESHOLD)
    return true;
  return (info->cls == VX_OPC_REDUCE || info->cls == VX_OPC_AXISMAP) && u->axis == VX_AXIS_PAGE;
}

static bool needs_buffer(const vx_op *v, int *last_region) {
  const vx_op_info *info = vx_op_info_of(v->code);
  *last_region = v->region;
  if (info->cls == VX_OPC_SOURCE || info->cls == VX_OPC_SINK)
    return false;
  bool need = false;
  for (const vx_use *u = v->uses; u; u = u->next) {
    if (u->user->region != v->region)
      need = true;
    if (vx_shape_has(v->shape, VX_AXIS_PAGE) && needs_all_pages(u->user))
      need = true;
    if (u->user->region > *last_region)
      *last_region = u->user->region;
  }
  return need;
}

typedef struct slot {
  vx_shape shape;
  int free_after; /* last region that reads the value now in the slot */
} slot;

static void set_buffer(vx_pass_ctx *ctx, vx_op *op, int b) {
  if (op->buffer != b) {
    op->buffer = b;
    ctx->changed = true;
  }
}

bool vx_pass_memory_plan_run(vx_pass_ctx *ctx, vx_module *m) {
  for (vx_op *op = m->cache_update.first; op; op = op->next)
    set_buffer(ctx, op, 0);
  int nops = 0;
  for (vx_op *op = m->index.first; op; op = op->next)
    nops++;
  slot *slots = vx_arena_alloc(ctx->scratch, (size_t)(nops ? nops : 1) * sizeof *slots);
  if (!slots) {
    vx_diag_report_plain(ctx->diag, VX_SEV_ERROR, "out-of-memory", "out of memory in pass memory-plan");
    return false;
  }
  int nslots = 0;
  for (vx_op *op = m->index.first; op; op = op->next) {
    int last;
    if (!needs_buffer(op, &last)) {
      set_buffer(ctx, op, 0);
      continue;
    }
    int s = -1;
    for (int i = 0; i < nslots && s < 0; i++)
      if (slots[i].shape.axes == op->shape.axes && slots[i].shape.split == op->shape.split &&
          slots[i].free_after < op->region)
        s = i;
    if (s < 0) {
      s = nslots++;
      slots[s].shape = op->shape;
    }
    slots[s].free_after = last;
    set_buffer(ctx, op, s + 1);
  }
  return true;
}

/* Pass `fusion`: kernel planning, recorded as `region` attributes.
 *
 * index: a kernel streams over the pages of a row; a value that needs
 * ALL pages of another value (reduce.* over page, softmax/normalize over
 * page) must wait for the kernel producing it to finish. So with
 *   barrier(o -> u) = o is a reduction over page, or u is a
 *                     softmax/normalize over page,
 * every op gets the earliest region (ASAP) r(u) >= r(o) + barrier(o -> u)
 * over its operands o; then, walking backwards, every computed op moves
 * to the latest region its users allow (ALAP: r(o) <= r(u) -
 * barrier(o -> u)), so cheap per-page terms (e.g. a recency bonus) are
 * computed in the kernel that consumes them instead of being stored.
 * Regions are numbered from 1 and the select ends the last one. Per-page
 * sources (load.field, load.state, page.index/age) join the region of
 * their first user, so each kernel reads each field once. Uniform per-row
 * values (input.q, consts, params, page.count and what is computed from
 * them alone) stay outside (region 0: a prologue, e.g. mean(q, head)).
 * cache_update: everything is per page, so all ops that are not constants
 * form region 1: one kernel per page that reads k/v once and writes every
 * field. Contract: accepts verified IR; sets only `region` on ops. */
#include "passes.h"

static bool page_reduce(const vx_op *op) {
  return vx_op_info_of(op->code)->cls == VX_OPC_REDUCE && op->axis == VX_AXIS_PAGE;
}

static bool page_axismap(const vx_op *op) {
  return vx_op_info_of(op->code)->cls == VX_OPC_AXISMAP && op->axis == VX_AXIS_PAGE;
}

/* 1 when u may only start after the kernel computing o has finished. */
static int barrier(const vx_op *o, const vx_op *u) { return page_reduce(o) || page_axismap(u) ? 1 : 0; }

static void set_region(vx_pass_ctx *ctx, vx_op *op, int region) {
  if (op->region != region) {
    op->region = region;
    ctx->changed = true;
  }
}

static bool per_page_source(vx_op_code c) {
  return c == VX_OP_LOAD_FIELD || c == VX_OP_LOAD_STATE || c == VX_OP_PAGE_INDEX || c == VX_OP_PAGE_AGE;
}

static bool plan_index(vx_pass_ctx *ctx, vx_func *f) {
  vx_func_renumber(f);
  int n = f->next_id;
  int *region = vx_arena_alloc(ctx->scratch, (size_t)(n ? n : 1) * sizeof *region);
  bool *paged = vx_arena_alloc(ctx->scratch, (size_t)(n ? n : 1) * sizeof *paged);
  if (!region || !paged)
    return false;
  /* ASAP. paged: depends on per-page data (directly or through a reduction). */
  for (vx_op *op = f->first; op; op = op->next) {
    const vx_op_info *info = vx_op_info_of(op->code);
    bool pg = vx_shape_has(op->shape, VX_AXIS_PAGE) && info->cls != VX_OPC_SOURCE;
    int r = 1;
    for (int i = 0; i < info->noperands; i++) {
      const vx_op *o = op->operands[i];
      pg |= paged[o->id];
      int ro = region[o->id] ? region[o->id] : 1;
      if (ro + barrier(o, op) > r)
        r = ro + barrier(o, op);
    }
    paged[op->id] = pg;
    region[op->id] = info->cls == VX_OPC_SINK || pg ? r : 0;
  }
  /* ALAP for computed ops (sinks stay, sources are placed below). */
  for (vx_op *op = f->last; op; op = op->prev) {
    vx_op_class cls = vx_op_info_of(op->code)->cls;
    if (!region[op->id] || cls == VX_OPC_SINK || cls == VX_OPC_SOURCE)
      continue;
    int latest = 0;
    for (const vx_use *u = op->uses; u; u = u->next) {
      int r = region[u->user->id] - barrier(op, u->user);
      if (!latest || r < latest)
        latest = r;
    }
    if (latest > region[op->id])
      region[op->id] = latest;
  }
  /* Per-page sources join the first kernel that reads them. */
  for (vx_op *op = f->first; op; op = op->next) {
    if (!per_page_source(op->code))
      continue;
    int first = 0;
    for (const vx_use *u = op->uses; u; u = u->next)
      if (region[u->user->id] && (!first || region[u->user->id] < first))
        first = region[u->user->id];
    region[op->id] = first;
  }
  for (vx_op *op = f->first; op; op = op->next)
    set_region(ctx, op, region[op->id]);
  return true;
}

static void plan_cache(vx_pass_ctx *ctx, vx_func *f) {
  for (vx_op *op = f->first; op; op = op->next)
    set_region(ctx, op, op->code == VX_OP_CONST || op->code == VX_OP_PARAM ? 0 : 1);
}

bool vx_pass_fusion_run(vx_pass_ctx *ctx, vx_module *m) {
  plan_cache(ctx, &m->cache_update);
  if (!plan_index(ctx, &m->index)) {
    vx_diag_report_plain(ctx->diag, VX_SEV_ERROR, "out-of-memory", "out of memory in pass fusion");
    return false;
  }
  return true;
}

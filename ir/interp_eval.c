/* Evaluation of one IR function over dense named-axis tensors: the plan
 * (operands resolved, buffer lifetimes), buffer placement and the op
 * dispatch. The array kernels themselves are in interp_ops.c. */
#include "interp_eval.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool vx_interp_fail(vx_interp_error *err, const char *fmt, ...) {
  if (err) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
  }
  return false;
}

/* ------------------------------------------------------------- plan */

/* Values with a buffer of their own (sinks have no value, a split
 * aliases its operand's buffer). */
static bool owns_buffer(const vx_op *op) {
  vx_op_class cls = vx_op_info_of(op->code)->cls;
  return cls != VX_OPC_SINK && cls != VX_OPC_SPLIT;
}

/* Which buffer each value lives in, and after which op that buffer is
 * dead: the last reader of the value or of any split aliasing it. The
 * owners are then bucketed by that op (counting sort). */
static void plan_lifetimes(vx_eval_plan *plan) {
  int n = plan->nops;
  for (int i = 0; i < n; i++) {
    plan->storage_of[i] = owns_buffer(plan->ops[i]) ? i : plan->storage_of[plan->operand_slot[i * 3]];
    plan->release_at[i] = i;
  }
  for (int i = 0; i < n; i++)
    for (int k = 0; k < 3; k++) {
      int s = plan->operand_slot[i * 3 + k];
      if (s >= 0 && plan->release_at[plan->storage_of[s]] < i)
        plan->release_at[plan->storage_of[s]] = i;
    }
  memset(plan->released_from, 0, (size_t)(n + 1) * sizeof *plan->released_from);
  for (int o = 0; o < n; o++)
    if (owns_buffer(plan->ops[o]))
      plan->released_from[plan->release_at[o] + 1]++;
  for (int i = 0; i < n; i++)
    plan->released_from[i + 1] += plan->released_from[i];
  for (int i = 0, k = 0; i < n; i++) /* owners released after op i, in index order */
    for (int o = 0; o <= i; o++)
      if (owns_buffer(plan->ops[o]) && plan->release_at[o] == i)
        plan->released[k++] = o;
}

bool vx_eval_plan_init(vx_eval_plan *plan, const vx_module *m, const vx_func *f, vx_interp_error *err) {
  memset(plan, 0, sizeof *plan);
  plan->module = m;
  plan->func = f;
  int n = 0, max_id = -1;
  for (const vx_op *op = f->first; op; op = op->next) {
    n++;
    if (op->id > max_id)
      max_id = op->id;
    if (op->id < 0)
      return vx_interp_fail(err, "op with negative id %d", op->id);
  }
  plan->nops = n;
  plan->ops = malloc((size_t)(n ? n : 1) * sizeof *plan->ops);
  plan->operand_slot = malloc((size_t)(n ? n : 1) * 3 * sizeof *plan->operand_slot);
  plan->storage_of = malloc((size_t)(n ? n : 1) * sizeof *plan->storage_of);
  plan->release_at = malloc((size_t)(n ? n : 1) * sizeof *plan->release_at);
  plan->released = malloc((size_t)(n ? n : 1) * sizeof *plan->released);
  plan->released_from = malloc((size_t)(n + 1) * sizeof *plan->released_from);
  int *slot_of_id = malloc((size_t)(max_id + 2) * sizeof *slot_of_id);
  if (!plan->ops || !plan->operand_slot || !plan->storage_of || !plan->release_at || !plan->released ||
      !plan->released_from || !slot_of_id) {
    free(slot_of_id);
    vx_eval_plan_destroy(plan);
    return vx_interp_fail(err, "out of memory");
  }
  for (int i = 0; i <= max_id; i++)
    slot_of_id[i] = -1;
  int i = 0;
  bool ok = true;
  /* Operands must be defined earlier in the same function (SSA order);
   * ids only name ops, so they are mapped to positions here. */
  for (const vx_op *op = f->first; op && ok; op = op->next, i++) {
    const vx_op_info *info = vx_op_info_of(op->code);
    if (!info) {
      ok = vx_interp_fail(err, "op %%%d has an unknown op code %d", op->id, (int)op->code);
      break;
    }
    for (int k = 0; k < 3; k++) {
      plan->operand_slot[i * 3 + k] = -1;
      if (k >= info->noperands)
        continue;
      const vx_op *arg = op->operands[k];
      int s = arg && arg->id <= max_id ? slot_of_id[arg->id] : -1;
      if (s < 0 || plan->ops[s] != arg) {
        ok = vx_interp_fail(err, "%s %%%d: operand %d is not defined before it in the same function",
                            info->mnemonic, op->id, k);
        break;
      }
      if (vx_op_info_of(arg->code)->cls == VX_OPC_SINK) {
        ok = vx_interp_fail(err, "%s %%%d: operand %d is %s, which has no value", info->mnemonic, op->id, k,
                            vx_op_info_of(arg->code)->mnemonic);
        break;
      }
      plan->operand_slot[i * 3 + k] = s;
    }
    if (slot_of_id[op->id] >= 0 && ok) {
      ok = vx_interp_fail(err, "two ops share the id %%%d (renumber the function)", op->id);
      break;
    }
    slot_of_id[op->id] = i;
    plan->ops[i] = op;
  }
  free(slot_of_id);
  if (!ok) {
    vx_eval_plan_destroy(plan);
    return false;
  }
  plan_lifetimes(plan);
  return true;
}

void vx_eval_plan_destroy(vx_eval_plan *plan) {
  free(plan->ops);
  free(plan->operand_slot);
  free(plan->storage_of);
  free(plan->release_at);
  free(plan->released);
  free(plan->released_from);
  plan->ops = NULL;
  plan->operand_slot = NULL;
  plan->storage_of = plan->release_at = plan->released = plan->released_from = NULL;
}

/* -------------------------------------------------------- workspace */

bool vx_eval_ws_init(vx_eval_ws *ws, const vx_eval_plan *plan) {
  memset(ws, 0, sizeof *ws);
  size_t n = (size_t)(plan->nops ? plan->nops : 1);
  ws->values = calloc(n, sizeof *ws->values);
  ws->offset = malloc(n * sizeof *ws->offset);
  ws->hole_at = malloc(n * sizeof *ws->hole_at);
  ws->hole_size = malloc(n * sizeof *ws->hole_size);
  ws->placed_pages = ws->placed_group = -1;
  return ws->values && ws->offset && ws->hole_at && ws->hole_size;
}

void vx_eval_ws_destroy(vx_eval_ws *ws) {
  free(ws->values);
  free(ws->buf);
  free(ws->acc);
  free(ws->cnt);
  free(ws->rows);
  free(ws->offset);
  free(ws->hole_at);
  free(ws->hole_size);
  memset(ws, 0, sizeof *ws);
}

/* ----------------------------------------------------------- shapes */

bool vx_tensor_extents(vx_shape shape, const vx_eval_frame *fr, int ext[VX_AXIS_COUNT], size_t *size,
                       vx_interp_error *err) {
  size_t n = 1;
  for (int a = 0; a < VX_AXIS_COUNT; a++) {
    ext[a] = 1;
    if (!vx_shape_has(shape, (vx_axis)a))
      continue;
    int e = 0;
    switch ((vx_axis)a) {
    case VX_AXIS_PAGE:
      e = fr->pages;
      break;
    case VX_AXIS_HEAD:
      e = fr->group;
      break;
    case VX_AXIS_SUB:
    case VX_AXIS_TOK:
      if (shape.split && (shape.split > fr->page_size || fr->page_size % shape.split != 0))
        return vx_interp_fail(err, "split width %d does not divide the page size %d", shape.split,
                              fr->page_size);
      if (a == VX_AXIS_SUB)
        e = shape.split ? fr->page_size / shape.split : 0;
      else
        e = shape.split ? shape.split : fr->page_size;
      break;
    case VX_AXIS_DIM:
      e = fr->head_dim;
      break;
    case VX_AXIS_COUNT:
      break;
    }
    if (e < 1)
      return vx_interp_fail(err, "axis %s is not available here", vx_axis_name((vx_axis)a));
    ext[a] = e;
    n *= (size_t)e;
  }
  *size = n;
  return true;
}

/* ------------------------------------------------------------- driver */

static bool eval_source(const vx_eval_plan *plan, const vx_op *op, vx_tensor *out, const vx_eval_hooks *hooks,
                        vx_interp_error *err) {
  switch (op->code) {
  case VX_OP_CONST:
    out->data[0] = (float)op->number;
    return true;
  case VX_OP_PARAM:
    if (op->index < 0 || op->index >= plan->module->nparams)
      return vx_interp_fail(err, "param %%%d: param index %d out of range", op->id, op->index);
    out->data[0] = (float)plan->module->params[op->index].value;
    return true;
  default:
    return hooks->source(hooks->ctx, op, out, err);
  }
}

/* Places every value in buf (sizes already in ws->values): best fit among
 * the ranges freed by dead values, else at the end. A value's operands
 * are released only after it is placed, so an op never overwrites its
 * own inputs. Returns the floats buf must hold. */
static size_t place_values(const vx_eval_plan *plan, vx_eval_ws *ws) {
  size_t top = 0;
  int holes = 0;
  for (int i = 0; i < plan->nops; i++) {
    if (owns_buffer(plan->ops[i])) {
      size_t need = ws->values[i].size;
      int best = -1;
      for (int h = 0; h < holes; h++)
        if (ws->hole_size[h] >= need && (best < 0 || ws->hole_size[h] < ws->hole_size[best]))
          best = h;
      if (best < 0) {
        ws->offset[i] = top;
        top += need;
      } else {
        ws->offset[i] = ws->hole_at[best];
        ws->hole_at[best] += need;
        ws->hole_size[best] -= need;
      }
    }
    for (int k = plan->released_from[i]; k < plan->released_from[i + 1]; k++) {
      int o = plan->released[k];
      ws->hole_at[holes] = ws->offset[o];
      ws->hole_size[holes++] = ws->values[o].size;
    }
  }
  return top;
}

bool vx_eval_run(const vx_eval_plan *plan, vx_eval_ws *ws, const vx_eval_frame *fr, const vx_eval_hooks *hooks,
                 vx_interp_error *err) {
  /* Size every value first, then place them in one buffer; page size and
   * head dim are fixed for a workspace, so a placement made for the same
   * page count and group is still valid (every page of cache_update). */
  if (ws->placed_pages != fr->pages || ws->placed_group != fr->group) {
    ws->placed_pages = ws->placed_group = -1;
    for (int i = 0; i < plan->nops; i++) {
      const vx_op *op = plan->ops[i];
      vx_tensor *t = &ws->values[i];
      memset(t, 0, sizeof *t);
      const vx_op_info *info = vx_op_info_of(op->code);
      if (info->cls == VX_OPC_SINK)
        continue;
      t->shape = op->shape;
      vx_interp_error why = {""};
      if (!vx_tensor_extents(op->shape, fr, t->ext, &t->size, &why))
        return vx_interp_fail(err, "%s %%%d: %s", info->mnemonic, op->id, why.message);
      if ((op->code == VX_OP_CONST || op->code == VX_OP_PARAM) && t->size != 1)
        return vx_interp_fail(err, "%s %%%d must be a scalar", info->mnemonic, op->id);
    }
    size_t total = place_values(plan, ws);
    if (!vx_eval_grow((void **)&ws->buf, &ws->buf_cap, total ? total : 1, sizeof *ws->buf))
      return vx_interp_fail(err, "out of memory (%zu floats of intermediates)", total);
    ws->placed_pages = fr->pages;
    ws->placed_group = fr->group;
  }
  bool masked = fr->valid_tokens < fr->page_size;
  for (int i = 0; i < plan->nops; i++) {
    const vx_op *op = plan->ops[i];
    const vx_op_info *info = vx_op_info_of(op->code);
    vx_tensor *t = &ws->values[i];
    const vx_tensor *args[3] = {NULL, NULL, NULL};
    for (int k = 0; k < info->noperands; k++)
      args[k] = &ws->values[plan->operand_slot[i * 3 + k]];
    if (info->cls != VX_OPC_SINK && info->cls != VX_OPC_SPLIT)
      t->data = ws->buf + ws->offset[i];
    bool ok = true;
    switch (info->cls) {
    case VX_OPC_SOURCE:
      ok = eval_source(plan, op, t, hooks, err);
      break;
    case VX_OPC_UNARY:
    case VX_OPC_BINARY:
    case VX_OPC_TERNARY:
      ok = vx_eval_elementwise(ws, op, t, args, info->noperands, err);
      break;
    case VX_OPC_REDUCE:
    case VX_OPC_AXISMAP:
      if ((unsigned)op->axis >= VX_AXIS_COUNT || !vx_shape_has(args[0]->shape, op->axis) ||
          (info->cls == VX_OPC_REDUCE && vx_shape_has(t->shape, op->axis)) ||
          (t->shape.axes | VX_AXIS_BIT(op->axis)) != (args[0]->shape.axes | VX_AXIS_BIT(op->axis)) ||
          !vx_tensor_extents_agree(args[0], t, op->axis))
        return vx_interp_fail(err, "%s %%%d: axis and shapes do not match", info->mnemonic, op->id);
      ok = info->cls == VX_OPC_REDUCE ? vx_eval_reduce(ws, op, t, args[0], masked, fr->valid_tokens, err)
                                      : vx_eval_axismap(ws, op, t, args[0], masked, fr->valid_tokens, err);
      break;
    case VX_OPC_SPLIT:
      /* [.., tok(P), dim] and [.., sub, tok(s), dim] share one layout
       * (token = sub * s + tok), so a split is a relabelling. */
      if (vx_shape_has(args[0]->shape, VX_AXIS_SUB) || args[0]->size != t->size ||
          t->shape.axes != (args[0]->shape.axes | VX_AXIS_BIT(VX_AXIS_SUB)))
        return vx_interp_fail(err, "split %%%d: operand already split or sizes differ", op->id);
      t->data = args[0]->data;
      break;
    case VX_OPC_SINK:
      ok = hooks->sink(hooks->ctx, op, args, err);
      break;
    }
    if (!ok)
      return false;
  }
  return true;
}

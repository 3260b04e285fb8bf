/* IR construction and use-list maintenance. */
#include "ir.h"

#include <string.h>

static const vx_op_info op_table[VX_OP_COUNT] = {
#define VX_OP(id, name, nops, cls) [VX_OP_##id] = {name, nops, VX_OPC_##cls},
#include "ops.def"
#undef VX_OP
};

const vx_op_info *vx_op_info_of(vx_op_code code) {
  return (unsigned)code < VX_OP_COUNT ? &op_table[code] : NULL;
}

int vx_op_lookup(const char *mnemonic) {
  for (int i = 0; i < VX_OP_COUNT; i++)
    if (strcmp(op_table[i].mnemonic, mnemonic) == 0)
      return i;
  return -1;
}

vx_module *vx_module_new(vx_arena *arena, const char *name, const vx_geometry *geo) {
  vx_module *m = vx_arena_alloc(arena, sizeof *m);
  if (!m)
    return NULL;
  m->arena = arena;
  m->name = vx_arena_strdup(arena, name);
  if (!m->name)
    return NULL;
  m->geo = *geo;
  m->cache_update.kind = VX_FUNC_CACHE_UPDATE;
  m->cache_update.module = m;
  m->index.kind = VX_FUNC_INDEX;
  m->index.module = m;
  return m;
}

/* Grows an arena-held table by one element; the old copy is abandoned in
 * the arena (tables are tiny and built once). */
static void *grow_table(vx_arena *a, void *old, int n, size_t elem) {
  void *p = vx_arena_alloc(a, (size_t)(n + 1) * elem);
  if (p && n)
    memcpy(p, old, (size_t)n * elem);
  return p;
}

int vx_module_add_param(vx_module *m, const char *name, bool is_int, double value) {
  vx_ir_param *t = grow_table(m->arena, m->params, m->nparams, sizeof *t);
  const char *copy = vx_arena_strdup(m->arena, name);
  if (!t || !copy)
    return -1;
  t[m->nparams] = (vx_ir_param){copy, is_int, value};
  m->params = t;
  return m->nparams++;
}

int vx_module_add_field(vx_module *m, const char *name, vx_shape shape, vx_dtype storage) {
  vx_ir_field *t = grow_table(m->arena, m->fields, m->nfields, sizeof *t);
  const char *copy = vx_arena_strdup(m->arena, name);
  if (!t || !copy)
    return -1;
  t[m->nfields] = (vx_ir_field){copy, shape, storage, false};
  m->fields = t;
  return m->nfields++;
}

int vx_module_add_state(vx_module *m, const char *name, double init) {
  vx_ir_state *t = grow_table(m->arena, m->states, m->nstates, sizeof *t);
  const char *copy = vx_arena_strdup(m->arena, name);
  if (!t || !copy)
    return -1;
  t[m->nstates] = (vx_ir_state){copy, init};
  m->states = t;
  return m->nstates++;
}

bool vx_module_set_dense_layers(vx_module *m, const int *layers, int n) {
  int *t = vx_arena_alloc(m->arena, (size_t)(n ? n : 1) * sizeof *t);
  if (!t)
    return false;
  if (n)
    memcpy(t, layers, (size_t)n * sizeof *t);
  m->dense_layers = t;
  m->ndense_layers = n;
  return true;
}

static void use_link(vx_op *user, int i, vx_op *value) {
  user->operands[i] = value;
  if (!value)
    return;
  vx_use *u = &user->uses_storage[i];
  u->user = user;
  u->operand = i;
  u->next = value->uses;
  value->uses = u;
}

static void use_unlink(vx_op *user, int i) {
  vx_op *value = user->operands[i];
  if (!value)
    return;
  for (vx_use **p = &value->uses; *p; p = &(*p)->next) {
    if (*p == &user->uses_storage[i]) {
      *p = (*p)->next;
      break;
    }
  }
  user->operands[i] = NULL;
}

static vx_space space_of(const vx_op *op) {
  if (op->parent && op->parent->kind == VX_FUNC_CACHE_UPDATE)
    return VX_SPACE_PAGE;
  return vx_shape_has(op->shape, VX_AXIS_PAGE) ? VX_SPACE_PAGE : VX_SPACE_QUERY;
}

/* Union of two operand shapes; a token axis must have the same width
 * (whole page or the same split) on both sides. */
static bool shape_union(vx_shape a, vx_shape b, vx_shape *out) {
  bool a_tok = vx_shape_has(a, VX_AXIS_TOK) || vx_shape_has(a, VX_AXIS_SUB);
  bool b_tok = vx_shape_has(b, VX_AXIS_TOK) || vx_shape_has(b, VX_AXIS_SUB);
  if (a_tok && b_tok && a.split != b.split)
    return false;
  out->axes = a.axes | b.axes;
  out->split = a_tok ? a.split : b.split;
  return true;
}

bool vx_op_infer_shape(vx_op *op) {
  const vx_op_info *info = vx_op_info_of(op->code);
  vx_shape s = op->shape;
  switch (info->cls) {
  case VX_OPC_SOURCE:
    break;
  case VX_OPC_UNARY:
    s = op->operands[0]->shape;
    break;
  case VX_OPC_BINARY:
  case VX_OPC_TERNARY:
    s = op->operands[0]->shape;
    for (int i = 1; i < info->noperands; i++)
      if (!shape_union(s, op->operands[i]->shape, &s))
        return false;
    break;
  case VX_OPC_REDUCE: {
    vx_shape in = op->operands[0]->shape;
    if (!vx_shape_has(in, op->axis))
      return false;
    s = in;
    s.axes &= (uint8_t)~VX_AXIS_BIT(op->axis);
    if (!vx_shape_has(s, VX_AXIS_TOK) && !vx_shape_has(s, VX_AXIS_SUB))
      s.split = 0;
    break;
  }
  case VX_OPC_AXISMAP:
    if (!vx_shape_has(op->operands[0]->shape, op->axis))
      return false;
    s = op->operands[0]->shape;
    break;
  case VX_OPC_SPLIT: {
    vx_shape in = op->operands[0]->shape;
    if (!vx_shape_has(in, VX_AXIS_TOK) || vx_shape_has(in, VX_AXIS_SUB) || op->split <= 0)
      return false;
    s = in;
    s.axes |= VX_AXIS_BIT(VX_AXIS_SUB);
    s.split = (uint16_t)op->split;
    break;
  }
  case VX_OPC_SINK:
    s = (vx_shape){0, 0};
    break;
  }
  op->shape = s;
  op->space = space_of(op);
  op->elem = VX_ELEM_F32;
  return true;
}

vx_op *vx_build_op(vx_func *f, vx_op *before, vx_op_code code, vx_op *const *operands, vx_shape shape) {
  const vx_op_info *info = vx_op_info_of(code);
  if (!info)
    return NULL;
  vx_op *op = vx_arena_alloc(f->module->arena, sizeof *op);
  if (!op)
    return NULL;
  op->code = code;
  op->parent = f;
  op->id = f->next_id++;
  op->shape = shape;
  op->axis = VX_AXIS_COUNT;
  for (int i = 0; i < info->noperands; i++)
    use_link(op, i, operands[i]);
  if (before) {
    op->next = before;
    op->prev = before->prev;
    if (before->prev)
      before->prev->next = op;
    else
      f->first = op;
    before->prev = op;
  } else {
    op->prev = f->last;
    if (f->last)
      f->last->next = op;
    else
      f->first = op;
    f->last = op;
  }
  /* Operands may be incompatible here (the caller sets attributes next);
   * the verifier reports bad shapes, so the result is not checked. */
  if (info->cls != VX_OPC_REDUCE && info->cls != VX_OPC_AXISMAP && info->cls != VX_OPC_SPLIT)
    (void)vx_op_infer_shape(op);
  else
    op->space = space_of(op);
  return op;
}

void vx_op_set_operand(vx_op *op, int i, vx_op *v) {
  use_unlink(op, i);
  use_link(op, i, v);
}

void vx_op_replace_all_uses(vx_op *old, vx_op *new_value) {
  while (old->uses) {
    vx_use *u = old->uses;
    vx_op_set_operand(u->user, u->operand, new_value);
  }
}

void vx_op_erase(vx_op *op) {
  const vx_op_info *info = vx_op_info_of(op->code);
  for (int i = 0; i < info->noperands; i++)
    use_unlink(op, i);
  vx_func *f = op->parent;
  if (op->prev)
    op->prev->next = op->next;
  else
    f->first = op->next;
  if (op->next)
    op->next->prev = op->prev;
  else
    f->last = op->prev;
  op->prev = op->next = NULL;
  op->parent = NULL;
}

bool vx_op_has_uses(const vx_op *op) { return op->uses != NULL; }

int vx_op_use_count(const vx_op *op) {
  int n = 0;
  for (const vx_use *u = op->uses; u; u = u->next)
    n++;
  return n;
}

/* Every op, sinks included, gets a distinct id 0..n-1 in list order (the
 * interpreter indexes ops by id). Printed sinks show no id, so the value
 * numbers of a dump skip the ids sinks hold. */
void vx_func_renumber(vx_func *f) {
  int id = 0;
  for (vx_op *op = f->first; op; op = op->next)
    op->id = id++;
  f->next_id = id;
}

vx_op *vx_func_find_select(const vx_func *f) {
  for (vx_op *op = f->first; op; op = op->next)
    if (op->code == VX_OP_SELECT_TOP || op->code == VX_OP_SELECT_MASS || op->code == VX_OP_SELECT_THRESHOLD)
      return op;
  return NULL;
}

/* Copies f's ops into g, mapping operands through ids (ids are dense
 * after renumbering, so a flat table suffices). */
static bool clone_func(const vx_func *f, vx_func *g, vx_arena *arena) {
  vx_func_renumber((vx_func *)f);
  int n = f->next_id;
  vx_op **map = vx_arena_alloc(arena, (size_t)(n ? n : 1) * sizeof *map);
  if (!map)
    return false;
  for (const vx_op *op = f->first; op; op = op->next) {
    const vx_op_info *info = vx_op_info_of(op->code);
    vx_op *ops[3] = {NULL, NULL, NULL};
    for (int i = 0; i < info->noperands; i++)
      ops[i] = map[op->operands[i]->id];
    vx_op *c = vx_build_op(g, NULL, op->code, ops, op->shape);
    if (!c)
      return false;
    c->number = op->number;
    c->index = op->index;
    c->axis = op->axis;
    c->split = op->split;
    c->keep_first = op->keep_first;
    c->keep_last = op->keep_last;
    c->region = op->region;
    c->buffer = op->buffer;
    c->loc = op->loc;
    c->shape = op->shape;
    c->space = op->space;
    c->elem = op->elem;
    map[op->id] = c;
  }
  return true;
}

vx_module *vx_module_clone(const vx_module *m, vx_arena *arena) {
  vx_module *c = vx_module_new(arena, m->name, &m->geo);
  if (!c)
    return NULL;
  for (int i = 0; i < m->nparams; i++)
    if (vx_module_add_param(c, m->params[i].name, m->params[i].is_int, m->params[i].value) < 0)
      return NULL;
  for (int i = 0; i < m->nfields; i++) {
    if (vx_module_add_field(c, m->fields[i].name, m->fields[i].shape, m->fields[i].storage) < 0)
      return NULL;
    c->fields[i].incremental = m->fields[i].incremental;
  }
  for (int i = 0; i < m->nstates; i++)
    if (vx_module_add_state(c, m->states[i].name, m->states[i].init) < 0)
      return NULL;
  if (!vx_module_set_dense_layers(c, m->dense_layers, m->ndense_layers))
    return NULL;
  if (!clone_func(&m->cache_update, &c->cache_update, arena) || !clone_func(&m->index, &c->index, arena))
    return NULL;
  return c;
}

/* IR verifier (contract in verify.h). Checks are independent so one run
 * reports every violation it can see; structural damage (a broken op
 * list) stops the function's checks early because everything else walks
 * that list. */
#include "verify.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "print.h"

enum { MAX_OPS = 1 << 24 }; /* longer lists are treated as cyclic */

typedef struct verifier {
  const vx_module *m;
  vx_diag_engine *diag;
  const vx_func *f;
  bool ok;
} verifier;

/* "%5 = mul %3, %9" (operands of other functions or erased ops as %?). */
static void describe(const verifier *v, const vx_op *op, char *buf, size_t n) {
  const vx_op_info *info = vx_op_info_of(op->code);
  if (!info) {
    snprintf(buf, n, "<op with invalid code %d>", (int)op->code);
    return;
  }
  size_t len = 0;
  if (info->cls != VX_OPC_SINK)
    len += (size_t)snprintf(buf, n, "%%%d = ", op->id);
  len += (size_t)snprintf(buf + len, n - len, "%s", info->mnemonic);
  for (int i = 0; i < info->noperands && len < n; i++) {
    const vx_op *o = op->operands[i];
    if (o && o->parent == v->f)
      len += (size_t)snprintf(buf + len, n - len, "%s%%%d", i ? ", " : " ", o->id);
    else
      len += (size_t)snprintf(buf + len, n - len, "%s%%?", i ? ", " : " ");
  }
}

static void fail(verifier *v, const vx_op *op, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void fail(verifier *v, const vx_op *op, const char *fmt, ...) {
  char what[256], where[160];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  if (op)
    describe(v, op, where, sizeof where);
  v->ok = false;
  if (!vx_diag_should_stop(v->diag))
    vx_diag_report_plain(v->diag, VX_SEV_ERROR, "ir-verifier", "verifier: @%s%s%s: %s", vx_func_name(v->f->kind),
                         op ? ": " : "", op ? where : "", what);
}

static bool is_select(vx_op_code c) {
  return c == VX_OP_SELECT_TOP || c == VX_OP_SELECT_MASS || c == VX_OP_SELECT_THRESHOLD;
}

/* Op legality per function (ops.def header). */
static bool legal_in(vx_op_code c, vx_func_kind k) {
  switch (c) {
  case VX_OP_INPUT_K:
  case VX_OP_INPUT_V:
  case VX_OP_STORE_FIELD:
    return k == VX_FUNC_CACHE_UPDATE;
  case VX_OP_INPUT_Q:
  case VX_OP_LOAD_FIELD:
  case VX_OP_LOAD_STATE:
  case VX_OP_PAGE_INDEX:
  case VX_OP_PAGE_COUNT:
  case VX_OP_PAGE_AGE:
  case VX_OP_STORE_STATE:
  case VX_OP_SELECT_TOP:
  case VX_OP_SELECT_MASS:
  case VX_OP_SELECT_THRESHOLD:
    return k == VX_FUNC_INDEX;
  default:
    return true;
  }
}

static bool shapes_equal(vx_shape a, vx_shape b) { return a.axes == b.axes && a.split == b.split; }

static vx_shape axes_shape(int bits) { return (vx_shape){(uint8_t)bits, 0}; }

/* Fixed shape of a source op; false when its index is out of range
 * (reported by check_indices). */
static bool source_shape(const vx_module *m, const vx_op *op, vx_shape *out) {
  const int P = VX_AXIS_BIT(VX_AXIS_PAGE), H = VX_AXIS_BIT(VX_AXIS_HEAD), T = VX_AXIS_BIT(VX_AXIS_TOK),
            D = VX_AXIS_BIT(VX_AXIS_DIM);
  switch (op->code) {
  case VX_OP_INPUT_K:
  case VX_OP_INPUT_V: *out = axes_shape(T | D); return true;
  case VX_OP_INPUT_Q: *out = axes_shape(H | D); return true;
  case VX_OP_LOAD_STATE:
  case VX_OP_PAGE_INDEX:
  case VX_OP_PAGE_AGE: *out = axes_shape(P); return true;
  case VX_OP_PAGE_COUNT:
  case VX_OP_PARAM:
  case VX_OP_CONST: *out = axes_shape(0); return true;
  case VX_OP_LOAD_FIELD:
    if (op->index < 0 || op->index >= m->nfields)
      return false;
    *out = m->fields[op->index].shape;
    out->axes |= (uint8_t)P;
    return true;
  default: return false;
  }
}

/* The op list: links consistent both ways, parents set, no cycle.
 * Returns false when it cannot be walked safely. */
static bool check_list(verifier *v) {
  const vx_func *f = v->f;
  const vx_op *prev = NULL;
  long n = 0;
  for (const vx_op *op = f->first; op; prev = op, op = op->next) {
    if (++n > MAX_OPS) {
      fail(v, NULL, "the op list is cyclic");
      return false;
    }
    if (op->prev != prev || op->parent != f || !vx_op_info_of(op->code)) {
      fail(v, NULL, "the op list is corrupt near op #%ld (prev link, parent or op code)", n - 1);
      return false;
    }
  }
  if (f->last != prev) {
    fail(v, NULL, "the function's last-op pointer does not match its op list");
    return false;
  }
  return true;
}

/* Operand slots: exactly the op table's count, each a live value of the
 * same function defined before the user (ids are positions here). */
static void check_operands(verifier *v, const vx_op *op, const vx_op_info *info) {
  for (int i = 0; i < 3; i++) {
    const vx_op *o = op->operands[i];
    if (i >= info->noperands) {
      if (o)
        fail(v, op, "has an operand %d but '%s' takes %d", i, info->mnemonic, info->noperands);
      continue;
    }
    if (!o) {
      fail(v, op, "operand %d is missing ('%s' takes %d)", i, info->mnemonic, info->noperands);
    } else if (o->parent != v->f) {
      fail(v, op, "operand %d is an erased op or belongs to another function", i);
    } else if (o->id >= op->id) {
      fail(v, op, "operand %d (%%%d) is used before it is defined", i, o->id);
    } else if (vx_op_info_of(o->code)->cls == VX_OPC_SINK) {
      fail(v, op, "operand %d (%%%d) is a %s, which has no value", i, o->id, vx_op_info_of(o->code)->mnemonic);
    }
  }
}

/* Each use record in a value's list must be the right slot of a live
 * user that reads this value, and the lists must hold exactly one record
 * per operand slot (so no slot is missing and none is listed twice). */
static void check_uses(verifier *v) {
  long slots = 0, listed = 0;
  for (const vx_op *op = v->f->first; op; op = op->next) {
    const vx_op_info *info = vx_op_info_of(op->code);
    for (int i = 0; i < info->noperands; i++)
      if (op->operands[i] && op->operands[i]->parent == v->f)
        slots++;
    long n = 0;
    for (const vx_use *u = op->uses; u; u = u->next) {
      if (++n > MAX_OPS) {
        fail(v, op, "its use list is cyclic");
        return;
      }
      if (!u->user || u->operand < 0 || u->operand > 2 || u->user->operands[u->operand] != op ||
          u != &u->user->uses_storage[u->operand]) {
        fail(v, op, "its use list holds a use that does not read it");
        continue;
      }
      if (u->user->parent != v->f) {
        fail(v, op, "its use list names a user that was erased or lives in another function");
        continue;
      }
      listed++;
    }
  }
  if (slots != listed)
    fail(v, NULL, "use lists hold %ld uses but operands make %ld", listed, slots);
}

/* @field / @state / @param references must name an entry of the table. */
static void check_indices(verifier *v, const vx_op *op) {
  const vx_module *m = v->m;
  int n = -1;
  const char *what = "";
  switch (op->code) {
  case VX_OP_LOAD_FIELD:
  case VX_OP_STORE_FIELD: n = m->nfields; what = "field"; break;
  case VX_OP_LOAD_STATE:
  case VX_OP_STORE_STATE: n = m->nstates; what = "state"; break;
  case VX_OP_PARAM: n = m->nparams; what = "param"; break;
  default: return;
  }
  if (op->index < 0 || op->index >= n)
    fail(v, op, "%s index %d out of range (module has %d)", what, op->index, n);
}

/* The stored type must be what inference computes now: sources have
 * fixed shapes, derived ops are re-inferred on a copy (so the module is
 * not modified). A pass that rewires operands without re-inferring is
 * caught here. */
static void check_shape(verifier *v, const vx_op *op, const vx_op_info *info) {
  char have[64], want[64];
  if (info->cls == VX_OPC_SINK)
    return;
  if (op->elem != VX_ELEM_F32)
    fail(v, op, "values must be f32");
  vx_shape expect;
  vx_op tmp = *op;
  if (info->cls == VX_OPC_SOURCE) {
    if (!source_shape(v->m, op, &expect))
      return;
    tmp.shape = expect;
    (void)vx_op_infer_shape(&tmp); /* the space for that shape */
  } else {
    for (int i = 0; i < info->noperands; i++)
      if (!op->operands[i] || op->operands[i]->parent != v->f)
        return; /* reported by check_operands */
    if ((info->cls == VX_OPC_REDUCE || info->cls == VX_OPC_AXISMAP) && (unsigned)op->axis >= VX_AXIS_COUNT) {
      fail(v, op, "has no valid axis attribute");
      return;
    }
    if (!vx_op_infer_shape(&tmp)) {
      fail(v, op, "its operand shapes are incompatible with '%s'%s", info->mnemonic,
           info->cls == VX_OPC_REDUCE || info->cls == VX_OPC_AXISMAP ? " (axis missing from the operand?)" : "");
      return;
    }
    expect = tmp.shape;
  }
  if (!shapes_equal(op->shape, expect)) {
    vx_format_shape(op->shape, have, sizeof have);
    vx_format_shape(expect, want, sizeof want);
    fail(v, op, "result shape is %s but re-inference gives %s", have, want);
  } else if (op->space != tmp.space) {
    fail(v, op, "space is '%s' but its shape and function put it in '%s'", vx_space_name(op->space),
         vx_space_name(tmp.space));
  }
  if (v->f->kind == VX_FUNC_CACHE_UPDATE &&
      (vx_shape_has(op->shape, VX_AXIS_PAGE) || vx_shape_has(op->shape, VX_AXIS_HEAD)))
    fail(v, op, "cache_update values are per page: axes page and head are not allowed");
  if (info->cls == VX_OPC_SPLIT && op->split > 0 && v->m->geo.page_size % op->split != 0)
    fail(v, op, "split width %d does not divide the page size %d", op->split, v->m->geo.page_size);
}

/* Stores must match their destination; the select's score is one value
 * per page and its argument one value per row. */
static void check_sink(verifier *v, const vx_op *op, int *stores) {
  char have[64], want[64];
  const vx_op *a = op->operands[0], *b = op->operands[1];
  if (!a || a->parent != v->f)
    return;
  if (op->code == VX_OP_STORE_FIELD && op->index >= 0 && op->index < v->m->nfields) {
    if (stores)
      stores[op->index]++;
    if (!shapes_equal(a->shape, v->m->fields[op->index].shape)) {
      vx_format_shape(a->shape, have, sizeof have);
      vx_format_shape(v->m->fields[op->index].shape, want, sizeof want);
      fail(v, op, "stores %%%d of shape %s into field @%s of shape %s", a->id, have, v->m->fields[op->index].name,
           want);
    }
  }
  if (op->code == VX_OP_STORE_STATE && (a->shape.axes & ~VX_AXIS_BIT(VX_AXIS_PAGE))) {
    vx_format_shape(a->shape, have, sizeof have);
    fail(v, op, "state update %%%d has shape %s; a state is [page]", a->id, have);
  }
  if (is_select(op->code)) {
    if (a->shape.axes != VX_AXIS_BIT(VX_AXIS_PAGE)) {
      vx_format_shape(a->shape, have, sizeof have);
      fail(v, op, "score %%%d has shape %s but must be [page]", a->id, have);
    }
    if (b && b->parent == v->f && b->shape.axes != 0) {
      vx_format_shape(b->shape, have, sizeof have);
      fail(v, op, "budget %%%d has shape %s but must be []", b->id, have);
    }
    if (op->keep_first < 0 || op->keep_last < 0)
      fail(v, op, "keep_first/keep_last must be non-negative");
  }
}

/* All per-op checks, then the use lists, then the select count. */
static void verify_func(verifier *v, const vx_func *f, int *stores) {
  v->f = f;
  if (!check_list(v))
    return;
  /* Ids are presentation only; dense ids make "defined before" a compare. */
  vx_func_renumber((vx_func *)f);
  int selects = 0;
  for (const vx_op *op = f->first; op; op = op->next) {
    const vx_op_info *info = vx_op_info_of(op->code);
    if (!legal_in(op->code, f->kind))
      fail(v, op, "'%s' is not allowed in @%s", info->mnemonic, vx_func_name(f->kind));
    if (op->code == VX_OP_INPUT_V && v->m->geo.kv == VX_KV_MLA)
      fail(v, op, "MLA models cache one latent: there is no input.v");
    if (op->region < 0 || op->buffer < 0)
      fail(v, op, "region/buffer attributes must be non-negative");
    check_operands(v, op, info);
    check_indices(v, op);
    check_shape(v, op, info);
    if (info->cls == VX_OPC_SINK)
      check_sink(v, op, stores);
    selects += is_select(op->code);
  }
  check_uses(v);
  if (f->kind == VX_FUNC_INDEX && selects != 1)
    fail(v, NULL, "expected exactly one select.* op, found %d", selects);
}

/* Geometry and field table invariants (reported under @cache_update,
 * where fields are defined). */
static void verify_module_tables(verifier *v) {
  const vx_module *m = v->m;
  const vx_geometry *g = &m->geo;
  v->f = &m->cache_update;
  if (g->head_dim <= 0 || g->group <= 0 || g->page_size <= 0)
    fail(v, NULL, "geometry must be positive (head_dim=%d, group=%d, page_size=%d)", g->head_dim, g->group,
         g->page_size);
  if (g->kv == VX_KV_MLA && g->head_dim != g->mla_latent + g->mla_rope)
    fail(v, NULL, "MLA head_dim %d must equal dc + dr = %d", g->head_dim, g->mla_latent + g->mla_rope);
  if (g->kv_dtype == VX_DTYPE_DEFAULT)
    fail(v, NULL, "kv_dtype is unset");
  for (int i = 0; i < m->nfields; i++) {
    const vx_ir_field *fd = &m->fields[i];
    if (fd->storage == VX_DTYPE_DEFAULT)
      fail(v, NULL, "field @%s has no storage type", fd->name);
    if (vx_shape_has(fd->shape, VX_AXIS_PAGE) || vx_shape_has(fd->shape, VX_AXIS_HEAD))
      fail(v, NULL, "field @%s is per page and KV head: axes page and head are not allowed", fd->name);
  }
}

bool vx_verify(const vx_module *m, vx_diag_engine *diag) {
  verifier v = {.m = m, .diag = diag, .ok = true};
  verify_module_tables(&v);
  /* stores[i]: store.field ops writing field i (on the stack for modules
   * of a sane size; larger tables are checked without the count). */
  int stores_buf[256] = {0};
  int *stores = m->nfields <= 256 ? stores_buf : NULL;
  verify_func(&v, &m->cache_update, stores);
  verify_func(&v, &m->index, stores);
  v.f = &m->cache_update;
  for (int i = 0; stores && i < m->nfields; i++)
    if (stores[i] != 1)
      fail(&v, NULL, "field @%s is stored %d times (must be exactly once)", m->fields[i].name, stores[i]);
  return v.ok;
}

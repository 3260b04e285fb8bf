/* Pass `cse`: common subexpression elimination.
 *
 * Accepts verified IR (straight-line functions, so every earlier op
 * dominates every later one). Two value ops are the same computation when
 * they have the same op code, the same operands (either order for the
 * commutative add/mul/max/min/eq/ne), the same attributes (number bit
 * pattern, field/state/param index, axis, split) and the same shape; the
 * later one is replaced by the earlier one and erased. Loads are pure
 * within a step (store.state writes the NEXT step's state), so they are
 * merged too. Sinks are never merged. One forward sweep suffices: after
 * a merge, later ops already see the surviving operand. Ops are bucketed
 * by a hash so the sweep stays near linear on large generated inputs. */
#include "passes.h"

#include <string.h>

static bool commutative(vx_op_code c) {
  return c == VX_OP_ADD || c == VX_OP_MUL || c == VX_OP_MAX || c == VX_OP_MIN || c == VX_OP_EQ || c == VX_OP_NE;
}

static bool same_attrs(const vx_op *a, const vx_op *b) {
  return memcmp(&a->number, &b->number, sizeof a->number) == 0 && a->index == b->index && a->axis == b->axis &&
         a->split == b->split && a->shape.axes == b->shape.axes && a->shape.split == b->shape.split;
}

static bool same_computation(const vx_op *a, const vx_op *b) {
  if (a->code != b->code || !same_attrs(a, b))
    return false;
  int n = vx_op_info_of(a->code)->noperands;
  bool direct = true;
  for (int i = 0; i < n; i++)
    direct &= a->operands[i] == b->operands[i];
  if (direct)
    return true;
  return n == 2 && commutative(a->code) && a->operands[0] == b->operands[1] && a->operands[1] == b->operands[0];
}

/* Order-independent in commutative operands, so both spellings land in
 * one bucket. */
static size_t hash_op(const vx_op *op) {
  size_t h = (size_t)op->code * 1000003u ^ (size_t)op->index * 7919u ^ (size_t)op->axis * 131u ^ (size_t)op->split;
  unsigned long long bits;
  memcpy(&bits, &op->number, sizeof bits);
  h ^= (size_t)(bits ^ (bits >> 29));
  int n = vx_op_info_of(op->code)->noperands;
  for (int i = 0; i < n; i++)
    h += (size_t)op->operands[i] * 2654435761u;
  return h;
}

typedef struct bucket_entry {
  vx_op *op;
  struct bucket_entry *next;
} bucket_entry;

static bool cse_func(vx_pass_ctx *ctx, vx_func *f) {
  size_t nops = 0;
  for (vx_op *op = f->first; op; op = op->next)
    nops++;
  size_t nb = 16;
  while (nb < 2 * nops)
    nb *= 2;
  bucket_entry **buckets = vx_arena_alloc(ctx->scratch, nb * sizeof *buckets);
  if (!buckets)
    return false;
  for (vx_op *op = f->first, *next; op; op = next) {
    next = op->next;
    if (vx_op_info_of(op->code)->cls == VX_OPC_SINK)
      continue;
    size_t b = hash_op(op) & (nb - 1);
    bucket_entry *e = buckets[b];
    while (e && !same_computation(e->op, op))
      e = e->next;
    if (e) {
      vx_op_replace_all_uses(op, e->op);
      vx_op_erase(op);
      ctx->changed = true;
      continue;
    }
    bucket_entry *ne = vx_arena_alloc(ctx->scratch, sizeof *ne);
    if (!ne)
      return false;
    ne->op = op;
    ne->next = buckets[b];
    buckets[b] = ne;
  }
  return true;
}

bool vx_pass_cse_run(vx_pass_ctx *ctx, vx_module *m) {
  if (cse_func(ctx, &m->cache_update) && cse_func(ctx, &m->index))
    return true;
  vx_diag_report_plain(ctx->diag, VX_SEV_ERROR, "out-of-memory", "out of memory in pass cse");
  return false;
}

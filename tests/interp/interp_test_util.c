#include "interp_test_util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

vx_op *t_src(vx_func *f, vx_op_code code, uint8_t axes) {
  return vx_build_op(f, NULL, code, NULL, (vx_shape){axes, 0});
}

vx_op *t_const(vx_func *f, double x) {
  vx_op *op = t_src(f, VX_OP_CONST, 0);
  op->number = x;
  return op;
}

vx_op *t_un(vx_func *f, vx_op_code code, vx_op *a) { return vx_build_op(f, NULL, code, &a, (vx_shape){0, 0}); }

vx_op *t_bin(vx_func *f, vx_op_code code, vx_op *a, vx_op *b) {
  vx_op *ops[2] = {a, b};
  return vx_build_op(f, NULL, code, ops, (vx_shape){0, 0});
}

vx_op *t_reduce(vx_func *f, vx_op_code code, vx_op *a, vx_axis axis) {
  vx_op *op = vx_build_op(f, NULL, code, &a, (vx_shape){0, 0});
  op->axis = axis;
  vx_op_infer_shape(op);
  return op;
}

vx_op *t_axismap(vx_func *f, vx_op_code code, vx_op *a, vx_axis axis) { return t_reduce(f, code, a, axis); }

vx_op *t_split(vx_func *f, vx_op *a, int width) {
  vx_op *op = vx_build_op(f, NULL, VX_OP_SPLIT, &a, (vx_shape){0, 0});
  op->split = width;
  vx_op_infer_shape(op);
  return op;
}

vx_op *t_load_field(vx_func *f, vx_module *m, int field) {
  vx_shape s = m->fields[field].shape;
  s.axes |= AX(PAGE);
  vx_op *op = vx_build_op(f, NULL, VX_OP_LOAD_FIELD, NULL, s);
  op->index = field;
  return op;
}

void t_store_field(vx_func *f, int field, vx_op *v) {
  vx_op *op = vx_build_op(f, NULL, VX_OP_STORE_FIELD, &v, (vx_shape){0, 0});
  op->index = field;
}

void t_select(vx_func *f, vx_op_code code, vx_op *score, vx_op *arg, int keep_first, int keep_last) {
  vx_op *ops[2] = {score, arg};
  vx_op *op = vx_build_op(f, NULL, code, ops, (vx_shape){0, 0});
  op->keep_first = keep_first;
  op->keep_last = keep_last;
}

vx_geometry t_geometry(int head_dim, int group, int page_size) {
  return (vx_geometry){.head_dim = head_dim, .group = group, .page_size = page_size, .kv = VX_KV_GQA,
                       .kv_dtype = VX_DTYPE_BF16};
}

vx_module *t_block_topk(vx_arena *a, const vx_geometry *geo, double budget, int keep_first, int keep_last) {
  vx_module *m = vx_module_new(a, "block_topk", geo);
  int c = vx_module_add_field(m, "c", (vx_shape){AX(DIM), 0}, VX_DTYPE_F32);
  vx_func *cu = &m->cache_update;
  t_store_field(cu, c, t_reduce(cu, VX_OP_REDUCE_MEAN, t_src(cu, VX_OP_INPUT_K, AX(TOK) | AX(DIM)), VX_AXIS_TOK));
  vx_func *ix = &m->index;
  vx_op *qm = t_reduce(ix, VX_OP_REDUCE_MEAN, t_src(ix, VX_OP_INPUT_Q, AX(HEAD) | AX(DIM)), VX_AXIS_HEAD);
  vx_op *score = t_reduce(ix, VX_OP_REDUCE_SUM, t_bin(ix, VX_OP_MUL, qm, t_load_field(ix, m, c)), VX_AXIS_DIM);
  t_select(ix, VX_OP_SELECT_TOP, score, t_const(ix, budget), keep_first, keep_last);
  return m;
}

vx_module *t_quest(vx_arena *a, const vx_geometry *geo, double budget, int keep_first, int keep_last) {
  vx_module *m = vx_module_new(a, "quest", geo);
  int kmax = vx_module_add_field(m, "kmax", (vx_shape){AX(DIM), 0}, VX_DTYPE_BF16);
  int kmin = vx_module_add_field(m, "kmin", (vx_shape){AX(DIM), 0}, VX_DTYPE_BF16);
  int pb = vx_module_add_param(m, "budget", true, budget);
  vx_func *cu = &m->cache_update;
  vx_op *k = t_src(cu, VX_OP_INPUT_K, AX(TOK) | AX(DIM));
  t_store_field(cu, kmax, t_reduce(cu, VX_OP_REDUCE_MAX, k, VX_AXIS_TOK));
  t_store_field(cu, kmin, t_reduce(cu, VX_OP_REDUCE_MIN, k, VX_AXIS_TOK));
  vx_func *ix = &m->index;
  vx_op *q = t_src(ix, VX_OP_INPUT_Q, AX(HEAD) | AX(DIM));
  vx_op *hi = t_bin(ix, VX_OP_MUL, q, t_load_field(ix, m, kmax));
  vx_op *lo = t_bin(ix, VX_OP_MUL, q, t_load_field(ix, m, kmin));
  vx_op *s = t_reduce(ix, VX_OP_REDUCE_SUM, t_bin(ix, VX_OP_MAX, hi, lo), VX_AXIS_DIM);
  vx_op *score = t_reduce(ix, VX_OP_REDUCE_MAX, s, VX_AXIS_HEAD);
  vx_op *bud = t_src(ix, VX_OP_PARAM, 0);
  bud->index = pb;
  t_select(ix, VX_OP_SELECT_TOP, score, bud, keep_first, keep_last);
  return m;
}

void t_naive_attention(const vx_paged_inputs *in, const vx_selection *sel, float *out) {
  const vx_paged_geometry *g = &in->geo;
  int H = g->kv_heads, G = g->group, D = g->head_dim, P = g->page_size, dv = vx_paged_out_dim(g);
  for (int b = 0; b < g->batch; b++)
    for (int h = 0; h < H; h++) {
      int r = b * H + h, n = (in->seq_lens[b] + P - 1) / P;
      for (int qh = 0; qh < G; qh++) {
        const float *q = in->q + ((size_t)(b * H + h) * G + qh) * D;
        long double m = -INFINITY, z = 0;
        long double *acc = calloc((size_t)dv, sizeof *acc);
        /* two passes over the same token list: max, then weights */
        for (int pass = 0; pass < 2; pass++)
          for (int j = 0; j < n; j++) {
            bool chosen = !sel;
            for (int i = 0; sel && i < sel->count[r]; i++)
              chosen |= sel->pages[(size_t)r * sel->max_pages + i] == j;
            if (!chosen)
              continue;
            int phys = in->block_table[(size_t)b * in->max_blocks + j];
            for (int t = 0; t < P && j * P + t < in->seq_lens[b]; t++) {
              const float *k = in->k_pool + (((size_t)phys * P + t) * H + h) * D;
              const float *v = (in->v_pool ? in->v_pool : in->k_pool) + (((size_t)phys * P + t) * H + h) * D;
              long double l = 0;
              for (int d = 0; d < D; d++)
                l += (long double)q[d] * k[d];
              l *= in->scale;
              if (pass == 0) {
                m = l > m ? l : m;
              } else {
                long double w = expl(l - m);
                z += w;
                for (int d = 0; d < dv; d++)
                  acc[d] += w * v[d];
              }
            }
          }
        for (int d = 0; d < dv; d++)
          out[((size_t)(b * H + h) * G + qh) * dv + d] = z > 0 ? (float)(acc[d] / z) : 0.0f;
        free(acc);
      }
    }
}

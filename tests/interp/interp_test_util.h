/* Builders shared by the interpreter tests: small modules made with the
 * IR builder API (independent of the frontend and lowering), and a naive
 * attention reference that reads KV through the vLLM block table. */
#ifndef VX_INTERP_TEST_UTIL_H
#define VX_INTERP_TEST_UTIL_H

#include "ir/interp.h"

#define AX(a) VX_AXIS_BIT(VX_AXIS_##a)

vx_op *t_src(vx_func *f, vx_op_code code, uint8_t axes);
vx_op *t_const(vx_func *f, double x);
vx_op *t_un(vx_func *f, vx_op_code code, vx_op *a);
vx_op *t_bin(vx_func *f, vx_op_code code, vx_op *a, vx_op *b);
vx_op *t_reduce(vx_func *f, vx_op_code code, vx_op *a, vx_axis axis);
vx_op *t_axismap(vx_func *f, vx_op_code code, vx_op *a, vx_axis axis);
vx_op *t_split(vx_func *f, vx_op *a, int width);
vx_op *t_load_field(vx_func *f, vx_module *m, int field);
void t_store_field(vx_func *f, int field, vx_op *v);
void t_select(vx_func *f, vx_op_code code, vx_op *score, vx_op *arg, int keep_first, int keep_last);

vx_geometry t_geometry(int head_dim, int group, int page_size);

/* block_topk: c = mean(k, tok); score = sum(mean(q, head) * c, dim);
 * select top(budget) keep first/last. */
vx_module *t_block_topk(vx_arena *a, const vx_geometry *geo, double budget, int keep_first, int keep_last);
/* quest: kmax/kmin envelopes; score = max(sum(max(q*kmax, q*kmin), dim), head). */
vx_module *t_quest(vx_arena *a, const vx_geometry *geo, double budget, int keep_first, int keep_last);

/* Naive attention: exp-normalised in long double, reading pages through
 * block_table/seq_lens; `pages` lists the selected logical pages of each
 * row (NULL: all pages). out [B][H*G][out_dim]. */
void t_naive_attention(const vx_paged_inputs *in, const vx_selection *sel, float *out);

#endif

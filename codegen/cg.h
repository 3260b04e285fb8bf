/* Internal state shared by the emitters of one generated file pair. */
#ifndef VX_CG_H
#define VX_CG_H

#include <stdbool.h>

#include "../ir/ir.h"
#include "cg_buf.h"

/* Shared memory set aside for row-level values of the index kernel
 * (staged query, reductions over page, ...): with the top-k scratch this
 * stays under the 48 KB a block gets without opting in. */
#define VX_CG_ROW_FLOATS_MAX (40 * 1024 / 4)

/* How the index kernel provides a value that has no page axis. */
typedef enum vx_row_kind {
  VX_ROW_INLINE,   /* recomputed where used (cheap elementwise math) */
  VX_ROW_STAGED,   /* computed once per row into shared memory */
  VX_ROW_PAGE_RED, /* a reduction over page: block reduction per row */
} vx_row_kind;

typedef struct vx_row_slot {
  vx_row_kind kind;
  int offset;      /* first float in the row buffer (STAGED, PAGE_RED) */
  int offset2;     /* softmax over page: the sum array (the max is at offset) */
} vx_row_slot;

/* Tensor-core scoring (emit_index_mma.c): a reduction over dim of a
 * bilinear form of page fields and a page-independent value `a`:
 *   DOT      sum(a * F, dim)
 *   ENV_MAX  sum(max(a * F1, a * F2), dim) = a+ . max(F1,F2) + a- . min(F1,F2)
 *   ENV_MIN  sum(min(a * F1, a * F2), dim) = a+ . min(F1,F2) + a- . max(F1,F2)
 * computed for 16 pages x (heads of a) x split terms per mma.sync. */
typedef enum vx_mma_kind { VX_MMA_DOT, VX_MMA_ENV_MAX, VX_MMA_ENV_MIN } vx_mma_kind;

#define VX_CG_MMA_SUMS_MAX 2
#define VX_CG_MMA_COLS 8 /* one n-tile of m16n8k16 */
#define VX_CG_MMA_SCORE_WARPS 8 /* warps of the mma form's SCORE block */

typedef struct vx_cg_mma_sum {
  const vx_op *sum;   /* the reduce.sum over dim: [page] or [page, head] */
  const vx_op *a;     /* staged, [dim] or [head, dim] */
  const vx_op *f[2];  /* load.field [page, dim]; f[1] only for envelopes */
  vx_mma_kind kind;
  int heads;          /* extent of a's head axis (1 without one) */
  int terms;          /* bf16/f16 values per element of a: 1 exact, 3 split */
} vx_cg_mma_sum;

typedef struct vx_cg_mma {
  bool on;
  vx_dtype dtype;     /* the fields' storage: bf16 or f16 (mma input type) */
  int nsums;
  vx_cg_mma_sum sums[VX_CG_MMA_SUMS_MAX];
  int nfields;        /* distinct fields the sums read, by field index */
  int fields[2 * VX_CG_MMA_SUMS_MAX];
} vx_cg_mma;

typedef struct vx_cg {
  const vx_module *m;
  const char *alg;      /* prefix of every generated name, e.g. "quest" */
  char upper[64];       /* the prefix in capitals, for macros */
  vx_buf *out;          /* where emit_* functions write */
  char *err;            /* first error, one line */
  size_t errlen;
  bool failed;
  /* index analysis, indexed by op id */
  vx_row_slot *rows;
  int row_floats;       /* total row buffer size */
  /* vector index emitter (index_plan.c: vx_cg_analyse_index decides) */
  bool want_vec;        /* not --index-codegen=scalar */
  bool vec;             /* the module fits it: page phase in lane groups */
  int lanes;            /* L: lanes per page (power of two, 1..32) */
  int chunks;           /* K: 8-dim chunks per lane; lane l owns dims (l + k*L)*8 .. +7 */
  int vec_pages;        /* pages per lane per iteration of the SCORE loop (1 or 2) */
  int lane_floats;      /* registers per lane of resident values + field words */
  bool *lane_res;       /* by op id: page-independent value held in registers per lane */
  /* tensor-core scoring (emit_index_mma.c): replaces the vector page loop */
  bool want_mma;        /* --index-codegen=auto */
  vx_cg_mma mma;
} vx_cg;

/* Records the first error; emission continues harmlessly, callers check
 * cg->failed at the end. */
void vx_cg_error(vx_cg *cg, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Compile-time extent of an axis under the module geometry (page: -1,
 * dynamic). `split` is the shape's tokens per slice when sub is present. */
int vx_cg_extent(const vx_module *m, vx_shape shape, vx_axis axis);
/* Elements of a per-page shape (axes other than page), canonical order. */
int vx_cg_elems(const vx_module *m, vx_shape shape);
/* C type of a storage dtype ("__nv_bfloat16", "__half", "float"). */
const char *vx_cg_ctype(vx_dtype dt);
int vx_cg_dtype_bytes(vx_dtype dt);
/* Expression converting storage element `expr` to float. */
void vx_cg_to_float(vx_buf *b, vx_dtype dt, const char *expr);
/* Writes a float literal that round-trips exactly (inf/nan spelled via
 * bit patterns). */
void vx_cg_float_literal(vx_buf *b, double value);
/* "N + " for a non-zero row-buffer offset, "" for 0 (readable indices). */
const char *vx_cg_offset(int offset, char buf[16]);
/* One-line description of an op for comments: "%5 = reduce.max %4, tok : [dim]". */
void vx_cg_describe_op(vx_buf *b, const vx_op *op);

/* ---- emit_expr.c: one device function per IR value ---- */
/* Emits the value functions of `f` (cache_update or index). */
void vx_cg_emit_value_functions(vx_cg *cg, const vx_func *f);
/* A call of op's value function at the canonical loop variables
 * (pg, h, s, t, d) of the axes in its shape. */
void vx_cg_call(vx_cg *cg, vx_buf *b, const vx_op *op);
/* Name of op's value function into buf. */
void vx_cg_value_name(const vx_cg *cg, const vx_op *op, char *buf, size_t n);
/* Opens nested loops over the axes of `shape` except page (canonical
 * variables) and declares `flat`, the canonical flat index. Returns the
 * number of loops opened; close them with vx_cg_close_loops. */
int vx_cg_open_point_loops(vx_cg *cg, vx_shape shape);
void vx_cg_close_loops(vx_cg *cg, int n);
/* Declares the canonical variables of `shape` from a flat index `i`. */
void vx_cg_decompose(vx_cg *cg, vx_shape shape);
/* Canonical variable of each axis: pg, h, s, t, d. */
extern const char *const vx_cg_axis_var[VX_AXIS_COUNT];

/* Vector index emitter: op is a per-page value of the index whose
 * functions take (d, dl): d the dim, dl = k * 8 + e its slot in the lane. */
bool vx_cg_vec_dim(const vx_cg *cg, const vx_op *op);

/* ---- emitters of the kernels and launchers ---- */
void vx_cg_emit_cache(vx_cg *cg);         /* emit_cache.c */
void vx_cg_analyse_index(vx_cg *cg);      /* index_plan.c */
void vx_cg_emit_index(vx_cg *cg);         /* emit_index.c */
/* index_plan.c: the score needs whole rows (one fused block per row). */
bool vx_cg_index_reduces_over_page(const vx_cg *cg);
/* index_plan.c: scoring and selection are separate launches (SCORE, SELECT). */
bool vx_cg_index_split(const vx_cg *cg);
/* Split and in the mma form: the module also has ALG_fused_kernel. */
bool vx_cg_index_has_fused(const vx_cg *cg);
/* Fused, and the select runs in any block width (top-k or threshold, not
 * mass): the module also has ALG_fused_pair_kernel (SCORE_WARPS a block). */
bool vx_cg_index_has_fused_pair(const vx_cg *cg);
/* emit_host.c: `f` and `st` of a launcher: the kv descriptor's check, then
 * the field pointers from field_pools. */
void vx_cg_emit_check_kv_and_fields(vx_cg *cg);
/* emit_host.c: bytes of every field of one page and KV head. */
int vx_cg_field_bytes_per_page(const vx_cg *cg);
/* ---- emit_step_fuse.c: the step as one launch (VX_STEP_FUSE) ---- */
/* A GQA module with the pair kernel: it also has ALG_fused_step_kernel. */
bool vx_cg_step_fusable(const vx_cg *cg);
void vx_cg_emit_step_kernel(vx_cg *cg);         /* after the index kernels */
void vx_cg_emit_step_fused_launcher(vx_cg *cg); /* before ALG_step */
void vx_cg_emit_step_fused_call(vx_cg *cg);     /* in ALG_step */
/* index_plan.c: pages a warp scores per iteration of the SCORE loop. */
int vx_cg_index_pages_per_warp(const vx_cg *cg);
/* index_plan.c: shape s without its page axis (a reduction over page's result). */
vx_shape vx_cg_without_page(vx_shape s);
/* emit_index.c: inside the page loop, with pages pg<u> (u < np) built and
 * mine<u>/p<u> declared: their scores and state values, then the lanes
 * with (threadIdx.x & leader_mask) == 0 store them. */
void vx_cg_emit_page_results(vx_cg *cg, const vx_op *sel, int np, int leader_mask);
/* emit_index.c: `first` and `end`, the pages this block scores. */
void vx_cg_emit_score_range(vx_cg *cg);

/* ---- emit_index_mma.c: tensor-core scoring ---- */
/* Decides cg->mma (after the vector analysis; needs the split form). */
void vx_cg_analyse_mma(vx_cg *cg);
/* op is evaluated per dim inside an mma sum: no value function of its own. */
bool vx_cg_mma_covers(const vx_cg *cg, const vx_op *op);
/* op's value is one of the mma sums (its function reads pg.acc_vN). */
bool vx_cg_mma_sourced(const vx_cg *cg, const vx_op *op);
/* Page struct members, device helpers, the per-lane B fragments after
 * the row phase, and the SCORE page loop. */
void vx_cg_emit_mma_page_members(vx_cg *cg);
void vx_cg_emit_mma_helpers(vx_cg *cg);
void vx_cg_emit_mma_prologue(vx_cg *cg);
/* Dynamic shared memory of one warp's tile (0 without the mma form). */
int vx_cg_mma_tile_bytes(const vx_cg *cg);
/* After c.q: the query toward L2 in VX_INDEX_Q_PREFETCH builds. */
void vx_cg_emit_mma_query_prefetch(vx_cg *cg);
void vx_cg_emit_mma_page_loop(vx_cg *cg, const vx_op *sel);
/* emit_select.c: the mass-select device helper (emitted once, before the
 * kernel) and the select call ending the index kernel. */
void vx_cg_emit_mass_select(vx_cg *cg);
void vx_cg_emit_select(vx_cg *cg, const vx_op *sel);
void vx_cg_emit_attention(vx_cg *cg);     /* emit_attend.c */
void vx_cg_emit_cu_prelude(vx_cg *cg);    /* emit_host.c: geometry, types, status codes */
void vx_cg_emit_state_kernel(vx_cg *cg); /* emit_host.c: state fill kernel */
void vx_cg_emit_host(vx_cg *cg);          /* emit_host.c: extern "C" launchers */
/* emit_host.c: the .h; the page-table header supplies the descriptor. */
void vx_cg_emit_header(vx_cg *cg, const char *page_table_header);
bool vx_cg_has_incremental(const vx_cg *cg); /* emit_cache.c */

#endif

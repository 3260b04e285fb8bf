/* Private to the interpreter: evaluation of one IR function over dense
 * named-axis tensors. cache_update and index differ only in their
 * sources (input.k vs load.field ...) and sinks (store.field vs select),
 * which they supply as hooks; arithmetic, reductions, softmax and split
 * live here once. */
#ifndef VX_INTERP_EVAL_H
#define VX_INTERP_EVAL_H

#include "interp.h"

/* A value: dense f32 over the axes of `shape` in canonical order (page,
 * head, sub, tok, dim), ext[a] = extent of axis a (1 when absent). */
typedef struct vx_tensor {
  float *data;
  vx_shape shape;
  int ext[VX_AXIS_COUNT];
  size_t size;
} vx_tensor;

/* Extents of one evaluation. */
typedef struct vx_eval_frame {
  int pages;        /* page axis extent (index), 0 in cache_update */
  int group;        /* head axis extent (index), 0 in cache_update */
  int page_size;
  int head_dim;
  int valid_tokens; /* tokens of this page that exist; < page_size masks tok/sub reductions */
} vx_eval_frame;

/* Function ops in order with operand slots resolved; immutable, shared by
 * all threads. */
typedef struct vx_eval_plan {
  const vx_module *module;
  const vx_func *func;
  int nops;
  const vx_op **ops;
  int *operand_slot; /* [nops * 3], -1 when unused */
  int *storage_of;   /* [nops]: the op whose buffer holds this value (a split aliases its operand) */
  int *release_at;   /* [nops]: for a buffer owner, the last op reading it (or any alias) */
  int *released;     /* buffer owners ordered by release_at ... */
  int *released_from;/* [nops + 1]: ... those freed after op i are released[from[i] .. from[i+1]) */
} vx_eval_plan;

typedef struct vx_eval_hooks {
  /* Fills out->data (already sized from op->shape) for a SOURCE op other
   * than const/param. */
  bool (*source)(void *ctx, const vx_op *op, vx_tensor *out, vx_interp_error *err);
  /* Consumes a SINK op's operands. */
  bool (*sink)(void *ctx, const vx_op *op, const vx_tensor *const *operands, vx_interp_error *err);
  void *ctx;
} vx_eval_hooks;

/* Per-thread scratch, grown on demand, reused across evaluations. */
typedef struct vx_eval_ws {
  vx_tensor *values; /* [nops] */
  float *buf;
  size_t buf_cap;
  double *acc;
  int32_t *cnt;
  size_t acc_cap;
  double *rows;      /* 3 rows of row_cap doubles for elementwise operands */
  size_t row_cap;
  size_t *offset;    /* [nops]: each value's place in buf, reused once it is dead */
  size_t *hole_at, *hole_size; /* [nops]: free ranges of buf during placement */
  int placed_pages, placed_group; /* extents the current placement was made for (-1: none) */
} vx_eval_ws;

bool vx_eval_plan_init(vx_eval_plan *plan, const vx_module *m, const vx_func *f, vx_interp_error *err);
void vx_eval_plan_destroy(vx_eval_plan *plan);

bool vx_eval_ws_init(vx_eval_ws *ws, const vx_eval_plan *plan);
void vx_eval_ws_destroy(vx_eval_ws *ws);

/* Extents of `shape` under `fr`; false + err if an axis is not available
 * in this frame or a split width does not divide the page. */
bool vx_tensor_extents(vx_shape shape, const vx_eval_frame *fr, int ext[VX_AXIS_COUNT], size_t *size,
                       vx_interp_error *err);

/* Evaluates every op of plan->func once. Buffers are reused as soon as
 * their value is dead, so only the hooks may look at values (sinks see
 * their operands while they run). */
bool vx_eval_run(const vx_eval_plan *plan, vx_eval_ws *ws, const vx_eval_frame *fr, const vx_eval_hooks *hooks,
                 vx_interp_error *err);

/* ---- array kernels (interp_ops.c) ---- */

/* Grows *p to hold `need` elements of `elem` bytes (amortised). */
bool vx_eval_grow(void **p, size_t *cap, size_t need, size_t elem);
/* Every axis of arg except `skip` is in out with the same extent. */
bool vx_tensor_extents_agree(const vx_tensor *arg, const vx_tensor *out, int skip);
bool vx_eval_elementwise(vx_eval_ws *ws, const vx_op *op, vx_tensor *out, const vx_tensor *const *args, int nargs,
                         vx_interp_error *err);
/* Reduction over op->axis; with `masked`, only elements of tokens below
 * valid_tokens count (an empty reduction is 0). */
bool vx_eval_reduce(vx_eval_ws *ws, const vx_op *op, vx_tensor *out, const vx_tensor *in, bool masked,
                    int valid_tokens, vx_interp_error *err);
/* softmax / normalize along op->axis; masked positions come out 0. */
bool vx_eval_axismap(vx_eval_ws *ws, const vx_op *op, vx_tensor *out, const vx_tensor *in, bool masked,
                     int valid_tokens, vx_interp_error *err);

/* Copies src into dst laid out with extents dst_ext (a superset of src's
 * axes): broadcasting by axis name. */
void vx_tensor_broadcast(const vx_tensor *src, const int dst_ext[VX_AXIS_COUNT], float *dst);

/* Error helper shared by the interpreter files. */
bool vx_interp_fail(vx_interp_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif

/* The page-level IR: a module holds the target geometry, params, cache
 * fields, persistent state and two straight-line SSA functions:
 *   cache_update  runs once per completed (or appended-to) page and KV
 *                 head; reads input.k/input.v [tok, dim], ends in
 *                 store.field ops;
 *   index         runs every decode step per (request, KV head); reads
 *                 input.q, load.field/load.state and page intrinsics,
 *                 ends in exactly one select.* (and any store.state).
 * Attention over the selected pages is implied (see docs/ir.md).
 *
 * Every op produces at most one value (the op *is* the value, as in
 * LLVM), so "value %3" is "the op numbered 3". Ops live in a doubly
 * linked list per function; use lists are kept current by the builder
 * API below, never edited by hand. Everything is allocated in the
 * module's arena and freed with it. */
#ifndef VX_IR_H
#define VX_IR_H

#include <stdbool.h>
#include <stdint.h>

#include "../compiler/arena.h"
#include "../frontend/ast.h"  /* vx_span, vx_dtype, vx_kv_kind, vx_shape */

typedef enum vx_op_code {
#define VX_OP(id, name, nops, cls) VX_OP_##id,
#include "ops.def"
#undef VX_OP
  VX_OP_COUNT
} vx_op_code;

typedef enum vx_op_class {
  VX_OPC_SOURCE, VX_OPC_UNARY, VX_OPC_BINARY, VX_OPC_TERNARY,
  VX_OPC_REDUCE, VX_OPC_AXISMAP, VX_OPC_SPLIT, VX_OPC_SINK
} vx_op_class;

typedef struct vx_op_info {
  const char *mnemonic;  /* textual IR spelling */
  int noperands;
  vx_op_class cls;
} vx_op_info;

const vx_op_info *vx_op_info_of(vx_op_code code);
/* Op code for a mnemonic, or -1. */
int vx_op_lookup(const char *mnemonic);

/* Where a value lives: one row per (request, KV head); per page through
 * the page table; or packed across requests after selection. Derived
 * from the function and shape by the builder. */
typedef enum vx_space { VX_SPACE_QUERY, VX_SPACE_PAGE, VX_SPACE_CANDIDATE } vx_space;

/* Element type of a value: compute is always f32 (storage types appear
 * on fields and KV). */
typedef enum vx_elem { VX_ELEM_F32, VX_ELEM_I32 } vx_elem;

typedef struct vx_op vx_op;
typedef struct vx_func vx_func;

typedef struct vx_use {
  vx_op *user;          /* the op that reads the value */
  int operand;          /* which of its operands */
  struct vx_use *next;  /* next use of the same value */
} vx_use;

struct vx_op {
  vx_op_code code;
  int id;                 /* SSA number, dense per function after vx_func_renumber */
  vx_shape shape;         /* result shape (meaningless for SINK ops) */
  vx_elem elem;
  vx_space space;
  vx_op *operands[3];
  vx_use uses_storage[3]; /* the use records this op contributes to its operands' lists */
  vx_use *uses;           /* list of uses of this op's value */
  /* attributes (which ones apply is given by the class/code) */
  double number;          /* CONST */
  int index;              /* LOAD_FIELD/STORE_FIELD field, LOAD_STATE/STORE_STATE state, PARAM param */
  vx_axis axis;           /* REDUCE, AXISMAP */
  int split;              /* SPLIT: tokens per slice */
  int keep_first, keep_last; /* SELECT_* */
  /* planning attributes, set by passes (0 = unset, printed only when set) */
  int region;             /* fusion pass: 1-based kernel region the op belongs to */
  int buffer;             /* memory-plan pass: 1-based buffer slot holding the value */
  vx_span loc;            /* source location (0 when synthesised) */
  vx_op *prev, *next;
  vx_func *parent;
};

typedef enum vx_func_kind { VX_FUNC_CACHE_UPDATE, VX_FUNC_INDEX } vx_func_kind;

struct vx_func {
  vx_func_kind kind;
  vx_op *first, *last;
  int next_id;
  struct vx_module *module;
};

typedef struct vx_geometry {
  int head_dim;        /* GQA head dim; MLA: dc + dr */
  int group;           /* query heads per KV head (MLA: all heads) */
  int page_size;       /* tokens per page */
  vx_kv_kind kv;
  int mla_latent, mla_rope;
  vx_dtype kv_dtype;   /* storage type of K/V (BF16 or F16) */
} vx_geometry;

typedef struct vx_ir_param {
  const char *name;
  bool is_int;
  double value;
} vx_ir_param;

typedef struct vx_ir_field {
  const char *name;
  vx_shape shape;      /* per page, without the page axis (e.g. [dim] or [sub, dim]) */
  vx_dtype storage;    /* never DEFAULT after lowering */
  bool incremental;    /* set by the incremental-cache pass: max/min/sum summaries */
} vx_ir_field;

typedef struct vx_ir_state {
  const char *name;
  double init;
} vx_ir_state;

typedef struct vx_module {
  vx_arena *arena;          /* owns everything below */
  const char *name;
  vx_geometry geo;
  vx_ir_param *params; int nparams;
  vx_ir_field *fields; int nfields;
  vx_ir_state *states; int nstates;
  int *dense_layers; int ndense_layers;
  vx_func cache_update;
  vx_func index;
} vx_module;

/* ---- construction (ir.c) ---- */
vx_module *vx_module_new(vx_arena *arena, const char *name, const vx_geometry *geo);
/* Table appends; return the new index or -1 on out-of-memory. */
int vx_module_add_param(vx_module *m, const char *name, bool is_int, double value);
int vx_module_add_field(vx_module *m, const char *name, vx_shape shape, vx_dtype storage);
int vx_module_add_state(vx_module *m, const char *name, double init);
bool vx_module_set_dense_layers(vx_module *m, const int *layers, int n);

/* Appends an op at the end of f (or before `before` when non-NULL) with
 * the given operands (count from the op table), wires use lists and
 * assigns the next id. Shape/space are computed by vx_op_infer_shape for
 * non-SOURCE ops; SOURCE ops take `shape` as given. Attributes are set by
 * the caller afterwards (then call vx_op_infer_shape again if they affect
 * the shape, e.g. REDUCE axis, SPLIT width). NULL on out-of-memory. */
vx_op *vx_build_op(vx_func *f, vx_op *before, vx_op_code code, vx_op *const *operands, vx_shape shape);

/* Result shape from operands and attributes (union of operand axes for
 * elementwise ops, minus `axis` for reductions, ...). Returns false and
 * leaves the shape alone when the operands are incompatible. */
bool vx_op_infer_shape(vx_op *op);

/* Replaces operand i of op by v, keeping both use lists current. */
void vx_op_set_operand(vx_op *op, int i, vx_op *v);
/* Redirects every use of old to new (RAUW). */
void vx_op_replace_all_uses(vx_op *old, vx_op *new_value);
/* Unlinks an op with no uses from its function and drops its operand uses. */
void vx_op_erase(vx_op *op);
bool vx_op_has_uses(const vx_op *op);
int vx_op_use_count(const vx_op *op);
/* Renumbers ids 0..n-1 in list order, sinks included (printing and
 * verification call this; the interpreter relies on distinct ids). */
void vx_func_renumber(vx_func *f);
/* The select op of the index function, or NULL. */
vx_op *vx_func_find_select(const vx_func *f);
/* Deep copy of a module into another arena (for before/after tests). */
vx_module *vx_module_clone(const vx_module *m, vx_arena *arena);

#endif

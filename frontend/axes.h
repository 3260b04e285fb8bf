/* Named axes and shapes, shared by the checker, the IR, the interpreter
 * and code generation. A shape is a set of axes (broadcasting is by name,
 * so order never matters) printed in the canonical order below.
 *
 * Extents are symbolic: page = pages of the request (dynamic), head = GQA
 * group (query heads per KV head), sub = page_size / tok_extent after a
 * split, tok = page_size (or the split width), dim = head dim (MLA: dc+dr). */
#ifndef VX_AXES_H
#define VX_AXES_H

#include <stdint.h>

typedef enum vx_axis {
  VX_AXIS_PAGE, VX_AXIS_HEAD, VX_AXIS_SUB, VX_AXIS_TOK, VX_AXIS_DIM, VX_AXIS_COUNT
} vx_axis;

typedef struct vx_shape {
  uint8_t axes;       /* bit (1u << vx_axis) per axis present */
  uint16_t split;     /* tokens per slice when tok was split (axis sub present), else 0 */
} vx_shape;

#define VX_AXIS_BIT(a) ((uint8_t)(1u << (a)))

static inline int vx_shape_has(vx_shape s, vx_axis a) { return (s.axes >> a) & 1u; }

/* Spelling of an axis: "page", "head", "sub", "tok", "dim". */
const char *vx_axis_name(vx_axis a);

/* Writes "[page, head, dim]" (or "[]") into buf; returns buf. */
char *vx_shape_format(vx_shape s, char *buf, int buflen);

#endif

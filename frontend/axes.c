#include "axes.h"

#include <stdio.h>

static const char *const axis_names[VX_AXIS_COUNT] = {"page", "head", "sub", "tok", "dim"};

const char *vx_axis_name(vx_axis a) { return (unsigned)a < VX_AXIS_COUNT ? axis_names[a] : "?"; }

char *vx_shape_format(vx_shape s, char *buf, int buflen) {
  int n = snprintf(buf, (size_t)buflen, "[");
  const char *sep = "";
  for (int a = 0; a < VX_AXIS_COUNT && n < buflen; a++) {
    if (!vx_shape_has(s, (vx_axis)a))
      continue;
    n += snprintf(buf + n, (size_t)(buflen - n), "%s%s", sep, axis_names[a]);
    sep = ", ";
  }
  if (n < buflen)
    snprintf(buf + n, (size_t)(buflen - n), "]");
  return buf;
}

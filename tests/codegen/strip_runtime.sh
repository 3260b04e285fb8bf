#!/bin/sh
# strip_runtime.sh < FILE.cu: replaces the runtime headers a generated .cu
# carries (between its nv_diag_suppress/default 177 pragmas) by one line.
exec sed '/^#pragma nv_diag_suppress 177$/,/^#pragma nv_diag_default 177$/c\
/* ... runtime/device headers, pasted verbatim, elided in golden files ... */'

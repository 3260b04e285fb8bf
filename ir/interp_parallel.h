/* OpenMP when the build has it, plain loops otherwise. Interpreter work
 * items (pages, rows) are independent and write disjoint outputs, so the
 * results never depend on the thread count. */
#ifndef VX_INTERP_PARALLEL_H
#define VX_INTERP_PARALLEL_H

#define VX_OMP_STR(...) #__VA_ARGS__
#ifdef _OPENMP
#define VX_OMP(...) _Pragma(VX_OMP_STR(omp __VA_ARGS__))
#else
#define VX_OMP(...)
#endif

/* First failure of a parallel loop: threads check `failed` to stop early
 * and the first error message wins. */
typedef struct vx_parallel_status {
  int failed;
  vx_interp_error err;
} vx_parallel_status;

static inline int vx_parallel_failed(vx_parallel_status *st) {
  int f;
  VX_OMP(atomic read)
  f = st->failed;
  return f;
}

static inline void vx_parallel_fail(vx_parallel_status *st, const vx_interp_error *err) {
  VX_OMP(critical(vx_parallel_fail))
  {
    if (!st->failed) {
      st->err = *err;
      VX_OMP(atomic write)
      st->failed = 1;
    }
  }
}

#endif

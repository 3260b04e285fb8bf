/* algos.h - the generated algorithms the step benchmark drives, behind one
 * table so that step_bench.cu never names a generated symbol. When vortexc's
 * ABI changes (see bench/step/gen/*.h after prepare.sh), only algos.cu
 * changes. */
#ifndef VX_STEP_ALGOS_H
#define VX_STEP_ALGOS_H

#include <stddef.h>

#include "gen/quest.h" /* vx_paged_kv (identical in every generated header) */

#define SB_MAX_FIELDS 4

typedef struct sb_algo {
  const char *name;
  int head_dim, group, page_size;
  int num_fields;               /* summary fields, all bf16 [page][kv head][head_dim] */
  int keep_first, keep_last;    /* from the .vtx `select ... keep` clause */
  int budget;                   /* -D budget baked in by prepare.sh */
  size_t (*workspace_size)(int max_batch, int kv_heads, int max_pages);
  size_t (*field_bytes_per_page)(void);
  int (*cache_update)(const vx_paged_kv *kv, void *const *field_pools, int max_pages, cudaStream_t stream);
  int (*index)(const vx_paged_kv *kv, const void *q, void *const *field_pools, int max_pages, int *sel_pages,
               int *sel_count, void *ws, size_t ws_bytes, cudaStream_t stream);
  int (*attend)(const vx_paged_kv *kv, const void *q, const int *sel_pages, const int *sel_count, int max_pages,
                float sm_scale, void *out, void *ws, size_t ws_bytes, cudaStream_t stream);
  int (*step)(const vx_paged_kv *kv, const void *q, void *const *field_pools, int max_pages, float sm_scale,
              void *out, void *ws, size_t ws_bytes, cudaStream_t stream);
  /* CPU references of the .vtx semantics, f64:
   * fields[f * head_dim + d] of one (page, head) from its valid tokens' keys
   * k[t * head_dim + d]; and the page score from the query group
   * q[g * head_dim + d] and those fields. */
  void (*ref_fields)(const float *k, int valid, int head_dim, double *fields);
  double (*ref_score)(const float *q, int group, int head_dim, const double *fields);
} sb_algo;

extern const sb_algo sb_algos[];
extern const int sb_num_algos;

#endif /* VX_STEP_ALGOS_H */

/* model_algos.h - the generated sparse steps the model benchmark drives
 * (bench/model/gen: quest and block top-k at Qwen3-1.7B's geometry, GQA
 * 16/8, head dim 128, page 16), behind one table so that model_bench.cu
 * never names a generated symbol. */
#ifndef VX_MODEL_ALGOS_H
#define VX_MODEL_ALGOS_H

#include <stddef.h>

#include "gen/quest.h" /* vx_paged_kv (identical in every generated header) */

typedef struct mb_algo {
  const char *name;
  int head_dim, group, page_size;
  int num_fields; /* summary fields, each bf16 [page][kv head][head_dim] */
  int budget_pages; /* pages a row attends when it has more: budget + kept */
  size_t (*workspace_size)(int max_batch, int kv_heads, int max_pages);
  size_t (*field_bytes_per_page)(void);
  int (*cache_update)(const vx_paged_kv *kv, void *const *field_pools, int max_pages, cudaStream_t stream);
  /* cache_update_last for the one new token, index, attention */
  int (*decode_step)(const vx_paged_kv *kv, const void *q, void *const *field_pools, int max_pages, float sm_scale,
                     void *out, void *ws, size_t ws_bytes, cudaStream_t stream);
} mb_algo;

extern const mb_algo mb_algos[];
extern const int mb_num_algos;

#endif /* VX_MODEL_ALGOS_H */

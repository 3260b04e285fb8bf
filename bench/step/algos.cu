/* algos.cu - adapter from the generated C ABI (gen/quest.h,
 * gen/block_topk.h) to the benchmark's table, plus f64 CPU references of
 * what each .vtx says, used to check the generated kernels' output. The
 * algorithms keep no state, so state pointers are NULL and the step runs
 * with new_tokens = 0 (index + attention, no cache append). */
#include <math.h>

#include "algos.h"
#include "gen/block_topk.h"
#include "gen/quest.h"

/* ---- quest: fields kmax, kmin; score = max_h sum_d max(q*kmax, q*kmin) */
static int quest_index_(const vx_paged_kv *kv, const void *q, void *const *f, int max_pages, int *sel, int *cnt,
                        void *ws, size_t wsb, cudaStream_t s) {
  return quest_index(kv, q, f, NULL, NULL, max_pages, sel, cnt, ws, wsb, s);
}
static int quest_step_(const vx_paged_kv *kv, const void *q, void *const *f, int max_pages, float scale, void *out,
                       void *ws, size_t wsb, cudaStream_t s) {
  return quest_step(kv, q, f, NULL, NULL, 0, max_pages, scale, out, ws, wsb, s);
}
static void quest_ref_fields(const float *k, int valid, int dim, double *f) {
  for (int d = 0; d < dim; ++d) {
    double mx = -INFINITY, mn = INFINITY;
    for (int t = 0; t < valid; ++t) {
      mx = fmax(mx, k[t * dim + d]);
      mn = fmin(mn, k[t * dim + d]);
    }
    f[QUEST_FIELD_KMAX * dim + d] = mx;
    f[QUEST_FIELD_KMIN * dim + d] = mn;
  }
}
static double quest_ref_score(const float *q, int group, int dim, const double *f) {
  double best = -INFINITY;
  for (int g = 0; g < group; ++g) {
    double s = 0;
    for (int d = 0; d < dim; ++d)
      s += fmax(q[g * dim + d] * f[QUEST_FIELD_KMAX * dim + d], q[g * dim + d] * f[QUEST_FIELD_KMIN * dim + d]);
    best = fmax(best, s);
  }
  return best;
}

/* ---- block_topk: field c = mean_t k; score = sum_d mean_g(q) * c */
static int btk_index_(const vx_paged_kv *kv, const void *q, void *const *f, int max_pages, int *sel, int *cnt,
                      void *ws, size_t wsb, cudaStream_t s) {
  return block_topk_index(kv, q, f, NULL, NULL, max_pages, sel, cnt, ws, wsb, s);
}
static int btk_step_(const vx_paged_kv *kv, const void *q, void *const *f, int max_pages, float scale, void *out,
                     void *ws, size_t wsb, cudaStream_t s) {
  return block_topk_step(kv, q, f, NULL, NULL, 0, max_pages, scale, out, ws, wsb, s);
}
static void btk_ref_fields(const float *k, int valid, int dim, double *f) {
  for (int d = 0; d < dim; ++d) {
    double acc = 0;
    for (int t = 0; t < valid; ++t) acc += k[t * dim + d];
    f[BLOCK_TOPK_FIELD_C * dim + d] = acc / valid;
  }
}
static double btk_ref_score(const float *q, int group, int dim, const double *f) {
  double s = 0;
  for (int d = 0; d < dim; ++d) {
    double qm = 0;
    for (int g = 0; g < group; ++g) qm += q[g * dim + d];
    s += qm / group * f[BLOCK_TOPK_FIELD_C * dim + d];
  }
  return s;
}

/* keep_* copy examples/<name>.vtx; budget copies prepare.sh. A mismatch is
 * caught by step_bench's selection check (count != budget + kept). */
const sb_algo sb_algos[] = {
    {"quest", QUEST_HEAD_DIM, QUEST_GROUP, QUEST_PAGE_SIZE, QUEST_NUM_FIELDS, 1, 2, 125, quest_workspace_size,
     quest_field_bytes_per_page, quest_cache_update, quest_index_, quest_attend, quest_step_, quest_ref_fields,
     quest_ref_score},
    {"block_topk", BLOCK_TOPK_HEAD_DIM, BLOCK_TOPK_GROUP, BLOCK_TOPK_PAGE_SIZE, BLOCK_TOPK_NUM_FIELDS, 1, 1, 126,
     block_topk_workspace_size, block_topk_field_bytes_per_page, block_topk_cache_update, btk_index_,
     block_topk_attend, btk_step_, btk_ref_fields, btk_ref_score},
};
const int sb_num_algos = (int)(sizeof sb_algos / sizeof sb_algos[0]);

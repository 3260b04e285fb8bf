/* model_algos.cu - adapter from the generated C ABI (gen/quest.h,
 * gen/block_topk.h at the model's geometry) to the model benchmark's table.
 * The algorithms keep no state; a decode step appends one token a request,
 * so the step updates the summaries of the page it went to (new_tokens 1). */
#include "gen/block_topk.h"
#include "gen/quest.h"
#include "model_algos.h"

static int quest_decode_step(const vx_paged_kv *kv, const void *q, void *const *f, int max_pages, float scale,
                             void *out, void *ws, size_t wsb, cudaStream_t s) {
  return quest_step(kv, q, f, NULL, NULL, 1, max_pages, scale, out, ws, wsb, s);
}
static int btk_decode_step(const vx_paged_kv *kv, const void *q, void *const *f, int max_pages, float scale,
                           void *out, void *ws, size_t wsb, cudaStream_t s) {
  return block_topk_step(kv, q, f, NULL, NULL, 1, max_pages, scale, out, ws, wsb, s);
}

/* budget_pages: prepare.sh's -D budget plus the pages examples/<name>.vtx
 * keeps (quest 1 + 2, block top-k 1 + 1): 128 pages = 2048 tokens. */
const mb_algo mb_algos[] = {
    {"quest", QUEST_HEAD_DIM, QUEST_GROUP, QUEST_PAGE_SIZE, QUEST_NUM_FIELDS, 125 + 3, quest_workspace_size,
     quest_field_bytes_per_page, quest_cache_update, quest_decode_step},
    {"block_topk", BLOCK_TOPK_HEAD_DIM, BLOCK_TOPK_GROUP, BLOCK_TOPK_PAGE_SIZE, BLOCK_TOPK_NUM_FIELDS, 126 + 2,
     block_topk_workspace_size, block_topk_field_bytes_per_page, block_topk_cache_update, btk_decode_step},
};
const int mb_num_algos = (int)(sizeof mb_algos / sizeof mb_algos[0]);

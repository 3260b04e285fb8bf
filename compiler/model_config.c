/* --model-config: model geometry from a Hugging Face config.json (read
 * with jansson). GQA: head_dim (or hidden_size / num_attention_heads)
 * and group = num_attention_heads / num_key_value_heads. MLA (when
 * kv_lora_rank is present): dc = kv_lora_rank, dr = qk_rope_head_dim,
 * one latent shared by every head, so group = num_attention_heads.
 * Multimodal configs keep the language model under "text_config". */
#include <jansson.h>

#include "options.h"

static bool get_int(json_t *obj, const char *key, int *out) {
  json_t *v = json_object_get(obj, key);
  if (!json_is_integer(v) || json_integer_value(v) <= 0 || json_integer_value(v) > 1 << 24)
    return false;
  *out = (int)json_integer_value(v);
  return true;
}

bool vx_model_config_load(vx_options *opts, vx_diag_engine *diag) {
  const char *path = opts->model_config;
  json_error_t jerr;
  json_t *root = json_load_file(path, 0, &jerr);
  if (!root) {
    vx_diag_report_plain(diag, VX_SEV_ERROR, "model-config", "cannot read model config '%s': %s (line %d)", path,
                         jerr.text, jerr.line);
    return false;
  }
  json_t *cfg = root;
  json_t *text = json_object_get(root, "text_config");
  if (json_is_object(text))
    cfg = text;
  bool ok = true;
  vx_target *g = &opts->geometry;
  int heads = 0, kv_heads = 0, head_dim = 0, hidden = 0, lora = 0, rope = 0;
  if (!json_is_object(cfg) || !get_int(cfg, "num_attention_heads", &heads)) {
    vx_diag_report_plain(diag, VX_SEV_ERROR, "model-config", "model config '%s' has no positive integer "
                         "'num_attention_heads'", path);
    ok = false;
  } else if (get_int(cfg, "kv_lora_rank", &lora)) {
    if (!get_int(cfg, "qk_rope_head_dim", &rope)) {
      vx_diag_report_plain(diag, VX_SEV_ERROR, "model-config",
                           "model config '%s' has 'kv_lora_rank' (MLA) but no 'qk_rope_head_dim'", path);
      ok = false;
    } else {
      g->mla = true;
      g->mla_latent = lora;
      g->mla_rope = rope;
      g->num_heads = heads;
      g->num_kv_heads = 1;
      if (!opts->head_dim_set)
        g->head_dim = lora + rope;
      if (!opts->group_set)
        g->group = heads;
    }
  } else {
    if (!get_int(cfg, "num_key_value_heads", &kv_heads))
      kv_heads = heads; /* older configs: multi-head attention */
    if (!get_int(cfg, "head_dim", &head_dim)) {
      if (get_int(cfg, "hidden_size", &hidden) && hidden % heads == 0)
        head_dim = hidden / heads;
    }
    if (!head_dim || heads % kv_heads != 0) {
      vx_diag_report_plain(diag, VX_SEV_ERROR, "model-config",
                           "model config '%s': cannot derive the head geometry (need head_dim or hidden_size, and "
                           "num_attention_heads divisible by num_key_value_heads)",
                           path);
      ok = false;
    } else {
      g->num_heads = heads;
      g->num_kv_heads = kv_heads;
      if (!opts->head_dim_set)
        g->head_dim = head_dim;
      if (!opts->group_set)
        g->group = heads / kv_heads;
    }
  }
  json_decref(root);
  return ok;
}

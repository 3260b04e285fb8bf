/* Run directories (see interp_files.h): raw little-endian arrays and a
 * jansson-written manifest. Every shape is recomputed from the geometry
 * on reading and checked against the manifest and the file size, so a
 * truncated or mismatched directory is an error, never a bad read. */
#define _POSIX_C_SOURCE 200809L
#include "interp_files.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "interp_eval.h"

enum { MAX_DIMS = 4, MAX_ARRAYS = 64 };

typedef struct array_desc {
  char name[96];
  const char *dtype;     /* "f32" | "i32" */
  const char *role;      /* "input" | "output" */
  int ndims;
  size_t dims[MAX_DIMS];
  const void *data;
} array_desc;

typedef struct array_list {
  array_desc a[MAX_ARRAYS];
  int n;
} array_list;

static bool little_endian(void) {
  const uint16_t one = 1;
  uint8_t first;
  memcpy(&first, &one, 1);
  return first == 1;
}

static size_t elems_of(const array_desc *d) {
  size_t n = 1;
  for (int i = 0; i < d->ndims; i++)
    n *= d->dims[i];
  return n;
}

static void add_array(array_list *l, const char *name, const char *dtype, const char *role, const void *data,
                      int ndims, size_t d0, size_t d1, size_t d2, size_t d3) {
  if (l->n >= MAX_ARRAYS)
    return;
  array_desc *d = &l->a[l->n++];
  snprintf(d->name, sizeof d->name, "%s", name);
  /* Names become file names: keep them to one harmless path component. */
  for (char *c = d->name; *c; c++)
    if (!isalnum((unsigned char)*c) && *c != '_' && *c != '-')
      *c = '_';
  d->dtype = dtype;
  d->role = role;
  d->data = data;
  d->ndims = ndims;
  size_t dims[MAX_DIMS] = {d0, d1, d2, d3};
  memcpy(d->dims, dims, sizeof dims);
}

static void list_inputs(array_list *l, const vx_paged_inputs *in) {
  const vx_paged_geometry *g = &in->geo;
  size_t B = (size_t)g->batch, H = (size_t)g->kv_heads, G = (size_t)g->group, D = (size_t)g->head_dim;
  size_t np = (size_t)in->num_phys_pages, P = (size_t)g->page_size;
  add_array(l, "seq_lens", "i32", "input", in->seq_lens, 1, B, 0, 0, 0);
  add_array(l, "indptr", "i32", "input", in->indptr, 1, B + 1, 0, 0, 0);
  add_array(l, "indices", "i32", "input", in->indices, 1, (size_t)in->indptr[B], 0, 0, 0);
  add_array(l, "last_page_len", "i32", "input", in->last_page_len, 1, B, 0, 0, 0);
  add_array(l, "block_table", "i32", "input", in->block_table, 2, B, (size_t)in->max_blocks, 0, 0);
  add_array(l, "k_pool", "f32", "input", in->k_pool, 4, np, P, H, D);
  if (in->v_pool)
    add_array(l, "v_pool", "f32", "input", in->v_pool, 4, np, P, H, D);
  add_array(l, "q", "f32", "input", in->q, 3, B, H * G, D, 0);
}

static void list_outputs(array_list *l, const vx_module *m, const vx_paged_inputs *in, const vx_interp_result *r) {
  const vx_paged_geometry *g = &in->geo;
  const vx_selection *s = r->selection;
  size_t rows = (size_t)s->rows, width = (size_t)s->max_pages;
  char name[96];
  for (int f = 0; f < r->fields->nfields; f++) {
    snprintf(name, sizeof name, "field_%s", m->fields[f].name);
    add_array(l, name, "f32", "output", r->fields->data[f], 3, (size_t)in->num_phys_pages, (size_t)g->kv_heads,
              (size_t)r->fields->elems[f], 0);
  }
  add_array(l, "scores", "f32", "output", s->scores, 2, rows, width, 0, 0);
  add_array(l, "selected", "i32", "output", s->pages, 2, rows, width, 0, 0);
  add_array(l, "selected_count", "i32", "output", s->count, 1, rows, 0, 0, 0);
  add_array(l, "page_count", "i32", "output", s->page_count, 1, rows, 0, 0, 0);
  for (int i = 0; i < r->state->nstates; i++) {
    snprintf(name, sizeof name, "state_%s", m->states[i].name);
    add_array(l, name, "f32", "output", r->state->data[i], 2, rows, width, 0, 0);
  }
  size_t dv = (size_t)vx_paged_out_dim(g);
  size_t heads = (size_t)g->kv_heads * (size_t)g->group;
  add_array(l, "out_sparse", "f32", "output", r->out_sparse, 3, (size_t)g->batch, heads, dv, 0);
  add_array(l, "out_dense", "f32", "output", r->out_dense, 3, (size_t)g->batch, heads, dv, 0);
}

static char *path_in(const char *dir, const char *file) {
  size_t n = strlen(dir) + strlen(file) + 2;
  char *p = malloc(n);
  if (p)
    snprintf(p, n, "%s/%s", dir, file);
  return p;
}

static bool write_raw(const char *dir, const array_desc *d, vx_interp_error *err) {
  char file[128];
  snprintf(file, sizeof file, "%s.%s", d->name, d->dtype);
  char *path = path_in(dir, file);
  if (!path)
    return vx_interp_fail(err, "out of memory");
  FILE *f = fopen(path, "wb");
  size_t n = elems_of(d);
  bool ok = f && fwrite(d->data, 4, n, f) == n;
  if (f && fclose(f) != 0)
    ok = false;
  if (!ok)
    vx_interp_fail(err, "cannot write %s: %s", path, strerror(errno));
  free(path);
  return ok;
}

static const char *kv_name(vx_kv_kind kv) { return kv == VX_KV_MLA ? "mla" : "gqa"; }

static const char *dtype_name(vx_dtype d) {
  return d == VX_DTYPE_BF16 ? "bf16" : d == VX_DTYPE_F16 ? "f16" : "f32";
}

static json_t *manifest_arrays(const array_list *l) {
  json_t *arrays = json_object();
  for (int i = 0; i < l->n; i++) {
    const array_desc *d = &l->a[i];
    char file[128];
    snprintf(file, sizeof file, "%s.%s", d->name, d->dtype);
    json_t *shape = json_array();
    for (int k = 0; k < d->ndims; k++)
      json_array_append_new(shape, json_integer((json_int_t)d->dims[k]));
    json_object_set_new(arrays, d->name,
                        json_pack("{s:s, s:s, s:o, s:s}", "file", file, "dtype", d->dtype, "shape", shape, "role",
                                  d->role));
  }
  return arrays;
}

static json_t *manifest_module(const vx_module *m, const vx_paged_inputs *in, const vx_field_pools *pools) {
  json_t *params = json_object(), *fields = json_array(), *states = json_array();
  for (int i = 0; i < m->nparams; i++)
    json_object_set_new(params, m->params[i].name, json_real(m->params[i].value));
  for (int f = 0; f < m->nfields; f++) {
    char shape[64];
    vx_shape_format(m->fields[f].shape, shape, sizeof shape);
    json_array_append_new(fields, json_pack("{s:s, s:s, s:s, s:i, s:i}", "name", m->fields[f].name, "shape", shape,
                                            "storage", dtype_name(m->fields[f].storage), "split",
                                            (int)m->fields[f].shape.split, "elems",
                                            pools ? pools->elems[f] : vx_interp_field_elems(m->fields[f].shape, &in->geo)));
  }
  for (int i = 0; i < m->nstates; i++)
    json_array_append_new(states, json_pack("{s:s, s:f}", "name", m->states[i].name, "init", m->states[i].init));
  json_t *mod = json_pack("{s:s, s:o, s:o, s:o}", "name", m->name, "params", params, "fields", fields, "states", states);
  const vx_op *sel = vx_func_find_select(&m->index);
  if (sel)
    json_object_set_new(mod, "select", json_pack("{s:s, s:i, s:i}", "op", vx_op_info_of(sel->code)->mnemonic,
                                                 "keep_first", sel->keep_first, "keep_last", sel->keep_last));
  return mod;
}

static bool write_manifest(const char *dir, json_t *root, vx_interp_error *err) {
  char *tmp = path_in(dir, "manifest.json.tmp"), *final = path_in(dir, "manifest.json");
  bool ok = tmp && final && json_dump_file(root, tmp, JSON_INDENT(2) | JSON_SORT_KEYS) == 0 && rename(tmp, final) == 0;
  if (!ok) {
    vx_interp_fail(err, "cannot write %s/manifest.json: %s", dir, strerror(errno));
    if (tmp)
      remove(tmp);
  }
  free(tmp);
  free(final);
  return ok;
}

bool vx_run_dir_write(const char *dir, const vx_module *m, const vx_paged_inputs *in, const vx_interp_result *r,
                      int steps, const char *source, vx_interp_error *err) {
  if (!little_endian())
    return vx_interp_fail(err, "run directories are little-endian; this host is not");
  if (mkdir(dir, 0777) != 0 && errno != EEXIST)
    return vx_interp_fail(err, "cannot create directory %s: %s", dir, strerror(errno));
  array_list *l = calloc(1, sizeof *l);
  if (!l)
    return vx_interp_fail(err, "out of memory");
  list_inputs(l, in);
  if (r)
    list_outputs(l, m, in, r);
  bool ok = true;
  for (int i = 0; ok && i < l->n; i++)
    ok = write_raw(dir, &l->a[i], err);
  if (ok) {
    const vx_paged_geometry *g = &in->geo;
    json_t *geo = json_pack("{s:i, s:i, s:i, s:i, s:i, s:s, s:i, s:i, s:s}", "batch", g->batch, "kv_heads",
                            g->kv_heads, "group", g->group, "head_dim", g->head_dim, "page_size", g->page_size, "kv",
                            kv_name(g->kv), "mla_latent", g->mla_latent, "mla_rope", g->mla_rope, "kv_dtype",
                            dtype_name(g->kv_dtype));
    char seed[32];
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)in->seed);
    json_t *root = json_pack("{s:s, s:i, s:s, s:s, s:i, s:o, s:f, s:i, s:i, s:i, s:o, s:o, s:s}", "format",
                             "vortexc-run", "version", 1, "source", source ? source : "", "seed", seed, "steps", steps,
                             "geometry", geo, "scale", (double)in->scale, "max_pages", in->max_pages, "max_blocks",
                             in->max_blocks, "num_phys_pages", in->num_phys_pages, "module",
                             manifest_module(m, in, r ? r->fields : NULL), "arrays", manifest_arrays(l), "semantics",
                             "docs/semantics.md");
    ok = root ? write_manifest(dir, root, err) : vx_interp_fail(err, "out of memory building manifest.json");
    json_decref(root);
  }
  free(l);
  return ok;
}

/* ------------------------------------------------------------ reading */

static json_t *load_manifest(const char *dir, vx_interp_error *err) {
  char *path = path_in(dir, "manifest.json");
  if (!path) {
    vx_interp_fail(err, "out of memory");
    return NULL;
  }
  json_error_t jerr;
  json_t *root = json_load_file(path, 0, &jerr);
  if (!root)
    vx_interp_fail(err, "%s:%d: %s", path, jerr.line, jerr.text);
  else if (!json_is_object(root) || !json_is_string(json_object_get(root, "format")) ||
           strcmp(json_string_value(json_object_get(root, "format")), "vortexc-run") != 0) {
    vx_interp_fail(err, "%s is not a vortexc run manifest (\"format\": \"vortexc-run\" missing)", path);
    json_decref(root);
    root = NULL;
  }
  free(path);
  return root;
}

/* Reads array `name` into dst (expected `count` 4-byte elements): the
 * manifest shape and the file size must both agree. */
static bool read_array(const char *dir, json_t *arrays, const char *name, size_t count, void *dst,
                       vx_interp_error *err) {
  json_t *a = json_object_get(arrays, name);
  const char *file = json_string_value(json_object_get(a, "file"));
  json_t *shape = json_object_get(a, "shape");
  if (!file || !json_is_array(shape) || strchr(file, '/'))
    return vx_interp_fail(err, "manifest: array \"%s\" is missing or malformed", name);
  size_t listed = 1;
  for (size_t i = 0; i < json_array_size(shape); i++) {
    json_int_t d = json_integer_value(json_array_get(shape, i));
    if (d < 0)
      return vx_interp_fail(err, "manifest: array \"%s\" has a negative dimension", name);
    listed *= (size_t)d;
  }
  if (listed != count)
    return vx_interp_fail(err, "manifest: array \"%s\" has %zu elements, the geometry needs %zu", name, listed, count);
  char *path = path_in(dir, file);
  if (!path)
    return vx_interp_fail(err, "out of memory");
  FILE *f = fopen(path, "rb");
  bool ok = f != NULL;
  if (!ok)
    vx_interp_fail(err, "cannot open %s: %s", path, strerror(errno));
  if (ok && (fseek(f, 0, SEEK_END) != 0 || ftell(f) != (long)(count * 4) || fseek(f, 0, SEEK_SET) != 0))
    ok = vx_interp_fail(err, "%s: expected %zu bytes", path, count * 4);
  if (ok && fread(dst, 4, count, f) != count)
    ok = vx_interp_fail(err, "%s: short read", path);
  if (f)
    fclose(f);
  free(path);
  return ok;
}

static int geo_int(json_t *geo, const char *key) {
  json_t *v = json_object_get(geo, key);
  return json_is_integer(v) && json_integer_value(v) >= 0 && json_integer_value(v) < (1 << 30)
             ? (int)json_integer_value(v)
             : -1;
}

static bool parse_geometry(json_t *root, vx_paged_geometry *g, vx_interp_error *err) {
  json_t *geo = json_object_get(root, "geometry");
  const char *kv = json_string_value(json_object_get(geo, "kv"));
  const char *dt = json_string_value(json_object_get(geo, "kv_dtype"));
  *g = (vx_paged_geometry){
      .batch = geo_int(geo, "batch"), .kv_heads = geo_int(geo, "kv_heads"), .group = geo_int(geo, "group"),
      .head_dim = geo_int(geo, "head_dim"), .page_size = geo_int(geo, "page_size"),
      .mla_latent = geo_int(geo, "mla_latent"), .mla_rope = geo_int(geo, "mla_rope"),
      .kv = kv && strcmp(kv, "mla") == 0 ? VX_KV_MLA : VX_KV_GQA,
      .kv_dtype = !dt ? VX_DTYPE_DEFAULT : strcmp(dt, "bf16") == 0 ? VX_DTYPE_BF16
                                         : strcmp(dt, "f16") == 0  ? VX_DTYPE_F16
                                         : strcmp(dt, "f32") == 0  ? VX_DTYPE_F32
                                                                   : VX_DTYPE_DEFAULT};
  if (!kv || (strcmp(kv, "mla") != 0 && strcmp(kv, "gqa") != 0) || g->kv_dtype == VX_DTYPE_DEFAULT)
    return vx_interp_fail(err, "manifest: geometry.kv must be \"gqa\" or \"mla\" and kv_dtype bf16, f16 or f32");
  if (g->batch < 1 || g->kv_heads < 1 || g->group < 1 || g->head_dim < 1 || g->page_size < 1 || g->mla_latent < 0 ||
      g->mla_rope < 0)
    return vx_interp_fail(err, "manifest: geometry has a missing or invalid entry");
  return true;
}

vx_paged_inputs *vx_run_dir_read_inputs(const char *dir, vx_interp_error *err) {
  if (!little_endian()) {
    vx_interp_fail(err, "run directories are little-endian; this host is not");
    return NULL;
  }
  json_t *root = load_manifest(dir, err);
  if (!root)
    return NULL;
  vx_paged_geometry g;
  vx_paged_inputs *in = NULL;
  json_t *arrays = json_object_get(root, "arrays");
  int32_t *lens = NULL;
  if (!parse_geometry(root, &g, err))
    goto done;
  lens = malloc((size_t)g.batch * sizeof *lens);
  if (!lens) {
    vx_interp_fail(err, "out of memory");
    goto done;
  }
  if (!read_array(dir, arrays, "seq_lens", (size_t)g.batch, lens, err))
    goto done;
  for (int b = 0; b < g.batch; b++)
    if (lens[b] < 1) {
      vx_interp_fail(err, "seq_lens[%d] = %d; every request needs at least 1 token", b, (int)lens[b]);
      goto done;
    }
  int phys_pages = geo_int(root, "num_phys_pages");
  int64_t used = 0;
  for (int b = 0; b < g.batch; b++)
    used += (lens[b] + g.page_size - 1) / g.page_size;
  if (phys_pages < used) {
    vx_interp_fail(err, "manifest: num_phys_pages %d is smaller than the %lld pages the lengths need", phys_pages,
                   (long long)used);
    goto done;
  }
  /* Allocates every array with the sizes the lengths imply; the files
   * then overwrite the identity page tables. */
  in = vx_paged_inputs_new(&g, lens, phys_pages - (int)used, err);
  if (!in)
    goto done;
  /* Another producer may pad its block table wider than the lengths need. */
  int max_blocks = geo_int(root, "max_blocks");
  if (max_blocks > in->max_blocks) {
    int32_t *wider = calloc((size_t)g.batch * (size_t)max_blocks, sizeof *wider);
    if (!wider) {
      vx_interp_fail(err, "out of memory");
      vx_paged_inputs_free(in);
      in = NULL;
      goto done;
    }
    free(in->block_table);
    in->block_table = wider;
    in->max_blocks = max_blocks;
  }
  json_t *scale = json_object_get(root, "scale");
  if (json_is_number(scale))
    in->scale = (float)json_number_value(scale);
  const char *seed = json_string_value(json_object_get(root, "seed"));
  in->seed = seed ? strtoull(seed, NULL, 10) : 0;
  size_t B = (size_t)g.batch;
  bool ok = read_array(dir, arrays, "indptr", B + 1, in->indptr, err) &&
            read_array(dir, arrays, "indices", (size_t)used, in->indices, err) &&
            read_array(dir, arrays, "last_page_len", B, in->last_page_len, err) &&
            read_array(dir, arrays, "block_table", B * (size_t)in->max_blocks, in->block_table, err) &&
            read_array(dir, arrays, "k_pool", vx_paged_inputs_pool_elems(in), in->k_pool, err) &&
            (!in->v_pool || read_array(dir, arrays, "v_pool", vx_paged_inputs_pool_elems(in), in->v_pool, err)) &&
            read_array(dir, arrays, "q", vx_paged_inputs_q_elems(in), in->q, err) &&
            (in->indptr[B] == used || vx_interp_fail(err, "indptr[B] = %d but the lengths need %lld pages",
                                                     (int)in->indptr[B], (long long)used)) &&
            vx_paged_inputs_validate(in, err);
  if (!ok) {
    vx_paged_inputs_free(in);
    in = NULL;
  }
done:
  free(lens);
  json_decref(root);
  return in;
}

void *vx_run_dir_load(const char *dir, const char *name, size_t *count, vx_interp_error *err) {
  json_t *root = load_manifest(dir, err);
  if (!root)
    return NULL;
  json_t *arrays = json_object_get(root, "arrays");
  json_t *shape = json_object_get(json_object_get(arrays, name), "shape");
  size_t n = 1;
  for (size_t i = 0; i < json_array_size(shape); i++)
    n *= (size_t)(json_integer_value(json_array_get(shape, i)) > 0 ? json_integer_value(json_array_get(shape, i)) : 0);
  void *data = json_is_array(shape) ? malloc(n ? n * 4 : 4) : NULL;
  if (!json_is_array(shape))
    vx_interp_fail(err, "%s/manifest.json has no array \"%s\"", dir, name);
  else if (!data)
    vx_interp_fail(err, "out of memory");
  else if (!read_array(dir, arrays, name, n, data, err)) {
    free(data);
    data = NULL;
  }
  if (data && count)
    *count = n;
  json_decref(root);
  return data;
}

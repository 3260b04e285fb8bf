#define _POSIX_C_SOURCE 200809L
#include "ir_test_util.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/parse.h"
#include "frontend/sema.h"
#include "ir/lower.h"
#include "ir/read.h"

void t_diag_open(t_diag *d) {
  memset(d, 0, sizeof *d);
  d->stream = open_memstream(&d->text, &d->len);
  vx_diag_options o = {.format = VX_DIAG_TEXT, .max_errors = 0, .color = false, .out = d->stream};
  d->engine = vx_diag_new(&o);
}

const char *t_diag_text(t_diag *d) {
  fflush(d->stream);
  return d->text ? d->text : "";
}

void t_diag_close(t_diag *d) {
  vx_diag_free(d->engine);
  fclose(d->stream);
  free(d->text);
  memset(d, 0, sizeof *d);
}

char *t_read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return NULL;
  size_t cap = 1 << 16, n = 0;
  char *buf = malloc(cap + 1);
  size_t got;
  while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
    n += got;
    if (n == cap) {
      char *g = realloc(buf, 2 * cap + 1);
      if (!g) {
        free(buf);
        buf = NULL;
      }
      buf = g;
      cap *= 2;
    }
  }
  fclose(f);
  if (buf) {
    buf[n] = '\0';
    if (len)
      *len = n;
  }
  return buf;
}

vx_geometry t_default_geometry(void) {
  return (vx_geometry){.head_dim = 64, .group = 4, .page_size = 16, .kv = VX_KV_GQA, .kv_dtype = VX_DTYPE_BF16};
}

vx_module *t_compile_vtx_text(const char *name, const char *text, const vx_geometry *geo, vx_arena *arena,
                              vx_diag_engine *diag) {
  size_t len = strlen(text);
  vx_diag_add_source(diag, name, text, len);
  vx_algorithm *alg = vx_parse_source(arena, diag, name, text, len);
  vx_sema_options so = {.page_size = geo->page_size};
  if (!alg || !vx_sema_check(arena, alg, diag, &so))
    return NULL;
  return vx_lower(alg, geo, arena, diag);
}

vx_module *t_compile_vtx(const char *path, const vx_geometry *geo, vx_arena *arena, vx_diag_engine *diag) {
  char *text = t_read_file(path, NULL);
  if (!text)
    return NULL;
  /* The AST keeps pointers into nothing of `text` (names are interned in
   * the arena), but keep the text alive in the arena anyway to be safe. */
  char *copy = vx_arena_strdup(arena, text);
  free(text);
  return copy ? t_compile_vtx_text(path, copy, geo, arena, diag) : NULL;
}

vx_module *t_read_vir(const char *path, vx_arena *arena, vx_diag_engine *diag) {
  size_t len;
  char *text = t_read_file(path, &len);
  if (!text)
    return NULL;
  vx_diag_add_source(diag, path, text, len);
  vx_module *m = vx_read_module(path, text, len, arena, diag);
  free(text);
  return m;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int t_list_files(const char *dir, const char *ext, char ***out) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", VX_SOURCE_DIR, dir);
  DIR *d = opendir(path);
  int n = 0, cap = 64;
  char **list = malloc((size_t)cap * sizeof *list);
  struct dirent *e;
  while (d && list && (e = readdir(d))) {
    size_t l = strlen(e->d_name), le = strlen(ext);
    if (l <= le || strcmp(e->d_name + l - le, ext) != 0)
      continue;
    if (n == cap)
      break;
    size_t need = strlen(path) + l + 2;
    list[n] = malloc(need);
    snprintf(list[n++], need, "%s/%s", path, e->d_name);
  }
  if (d)
    closedir(d);
  qsort(list, (size_t)n, sizeof *list, cmp_str);
  *out = list;
  return n;
}

void t_free_list(char **list, int n) {
  for (int i = 0; i < n; i++)
    free(list[i]);
  free(list);
}

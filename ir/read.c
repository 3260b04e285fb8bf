/* Textual IR reader: a hand-written lexer and recursive-descent parser
 * for the grammar in docs/ir.md. Every token access is bounds-checked
 * against the input length, and every parse step returns false on the
 * first error after reporting it, so malformed input ends in exactly one
 * diagnostic and a NULL module, never a crash. */
#include "read.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "print.h"

typedef enum tok_kind {
  T_EOF, T_IDENT, T_VALUE /* %name */, T_SYMBOL /* @name */, T_NUMBER, T_PUNCT, T_BAD
} tok_kind;

typedef struct token {
  tok_kind kind;
  const char *start; /* for VALUE/SYMBOL: after the sigil */
  size_t len;
  uint32_t line, col;
} token;

/* Value names of the function being parsed, in definition order. */
typedef struct name_entry {
  const char *name;
  size_t len;
  vx_op *op;
} name_entry;

typedef struct reader {
  const char *file;
  const char *p, *end;
  uint32_t line, col;
  token tok;           /* current token */
  vx_diag_engine *diag;
  vx_arena *arena;
  vx_module *m;
  vx_func *f;          /* function being filled */
  name_entry *names;
  int nnames, capnames;
} reader;

enum { MAX_INT_ATTR = 1 << 20 };

/* ------------------------------------------------------------ lexing */

static bool is_ident_char(int c) { return isalnum(c) || c == '_' || c == '.'; }

static void advance_char(reader *r) {
  if (*r->p == '\n') {
    r->line++;
    r->col = 1;
  } else {
    r->col++;
  }
  r->p++;
}

static void skip_space_and_comments(reader *r) {
  while (r->p < r->end) {
    unsigned char c = (unsigned char)*r->p;
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      advance_char(r);
    } else if (c == '/' && r->p + 1 < r->end && r->p[1] == '/') {
      while (r->p < r->end && *r->p != '\n')
        advance_char(r);
    } else {
      break;
    }
  }
}

/* Lexes the next token into r->tok. Tokens: %name, @name, numbers
 * (including -inf/nan spellings the printer can produce), identifiers
 * (which may contain '.', so mnemonics like reduce.sum are one token),
 * one-character punctuation; anything else is a T_BAD token that the
 * parser reports where it expected something else. */
static void next(reader *r) {
  skip_space_and_comments(r);
  token t = {T_EOF, r->p, 0, r->line, r->col};
  if (r->p >= r->end) {
    r->tok = t;
    return;
  }
  unsigned char c = (unsigned char)*r->p;
  const char *s = r->p;
  if (c == '%' || c == '@') {
    advance_char(r);
    t.kind = c == '%' ? T_VALUE : T_SYMBOL;
    t.start = r->p;
    while (r->p < r->end && (isalnum((unsigned char)*r->p) || *r->p == '_'))
      advance_char(r);
    t.len = (size_t)(r->p - t.start);
    if (t.len == 0)
      t.kind = T_BAD;
  } else if (isdigit(c) || ((c == '-' || c == '+') && r->p + 1 < r->end &&
                            (isdigit((unsigned char)r->p[1]) || r->p[1] == '.' || r->p[1] == 'i' || r->p[1] == 'n'))) {
    advance_char(r);
    while (r->p < r->end && (isalnum((unsigned char)*r->p) || *r->p == '.' ||
                             ((*r->p == '-' || *r->p == '+') && (r->p[-1] == 'e' || r->p[-1] == 'E'))))
      advance_char(r);
    t.kind = T_NUMBER;
    t.len = (size_t)(r->p - s);
  } else if (isalpha(c) || c == '_') {
    while (r->p < r->end && is_ident_char((unsigned char)*r->p))
      advance_char(r);
    t.kind = T_IDENT;
    t.len = (size_t)(r->p - s);
  } else if (strchr("{}[](),:=", c) && c != '\0') {
    advance_char(r);
    t.kind = T_PUNCT;
    t.len = 1;
  } else {
    advance_char(r);
    t.kind = T_BAD;
    t.len = 1;
  }
  r->tok = t;
}

/* ------------------------------------------------------- diagnostics */

static bool error_at(reader *r, const token *t, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Reports an error at token t (span covers the token, sigil included)
 * and returns false so parsers can `return error_at(...)`. The reader
 * stops at the first error: later messages would only be consequences. */
static bool error_at(reader *r, const token *t, const char *fmt, ...) {
  char msg[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  uint32_t len = t->len ? (uint32_t)(t->len > 200 ? 200 : t->len) : 1;
  if (t->kind == T_VALUE || t->kind == T_SYMBOL)
    len++; /* include the sigil */
  vx_span span = {t->line, t->col, t->line, t->col + len - 1};
  vx_diag_report(r->diag, VX_SEV_ERROR, "ir-syntax", r->file, span, NULL, "%s", msg);
  return false;
}

/* Printable excerpt of the current token for messages ("end of file" at EOF). */
static const char *tok_text(const reader *r, char *buf, size_t n) {
  if (r->tok.kind == T_EOF)
    return "end of file";
  size_t len = r->tok.len < n - 3 ? r->tok.len : n - 3;
  const char *start = r->tok.start;
  if (r->tok.kind == T_VALUE || r->tok.kind == T_SYMBOL) {
    start--;
    len++;
    if (len > n - 3)
      len = n - 3;
  }
  size_t j = 0;
  buf[j++] = '\'';
  for (size_t i = 0; i < len; i++)
    buf[j++] = isprint((unsigned char)start[i]) ? start[i] : '?';
  buf[j++] = '\'';
  buf[j] = '\0';
  return buf;
}

static bool tok_is(const reader *r, tok_kind k, const char *text) {
  if (r->tok.kind != k)
    return false;
  size_t n = strlen(text);
  return r->tok.len == n && memcmp(r->tok.start, text, n) == 0;
}

static bool expect(reader *r, tok_kind k, const char *text) {
  if (tok_is(r, k, text)) {
    next(r);
    return true;
  }
  char buf[48];
  return error_at(r, &r->tok, "expected '%s' but found %s", text, tok_text(r, buf, sizeof buf));
}

static bool expect_punct(reader *r, const char *p) { return expect(r, T_PUNCT, p); }

static char *tok_strdup(reader *r) {
  return vx_arena_strndup(r->arena, r->tok.start, r->tok.len);
}

static bool oom(reader *r) {
  vx_diag_report_plain(r->diag, VX_SEV_ERROR, "out-of-memory", "out of memory while reading %s", r->file);
  return false;
}

/* ----------------------------------------------------- small parsers */

/* The current token as a NUL-terminated string in tmp[n]; false (after
 * reporting) when it does not fit. */
static bool tok_copy(reader *r, char *tmp, size_t n, const char *what) {
  if (r->tok.len >= n)
    return error_at(r, &r->tok, "%s too long", what);
  memcpy(tmp, r->tok.start, r->tok.len);
  tmp[r->tok.len] = '\0';
  return true;
}

static bool parse_int(reader *r, int lo, int hi, int *out) {
  char buf[48], tmp[48];
  if (r->tok.kind != T_NUMBER)
    return error_at(r, &r->tok, "expected an integer but found %s", tok_text(r, buf, sizeof buf));
  if (!tok_copy(r, tmp, sizeof tmp, "integer"))
    return false;
  char *endp;
  errno = 0;
  long v = strtol(tmp, &endp, 10);
  if (*endp || errno)
    return error_at(r, &r->tok, "expected an integer but found %s", tok_text(r, buf, sizeof buf));
  if (v < lo || v > hi)
    return error_at(r, &r->tok, "integer %ld out of range [%d, %d]", v, lo, hi);
  *out = (int)v;
  next(r);
  return true;
}

static bool parse_number(reader *r, double *out) {
  char buf[48], tmp[64];
  bool word = tok_is(r, T_IDENT, "inf") || tok_is(r, T_IDENT, "nan");
  if (r->tok.kind != T_NUMBER && !word)
    return error_at(r, &r->tok, "expected a number but found %s", tok_text(r, buf, sizeof buf));
  if (!tok_copy(r, tmp, sizeof tmp, "number"))
    return false;
  char *endp;
  double v = strtod(tmp, &endp);
  if (*endp)
    return error_at(r, &r->tok, "malformed number %s", tok_text(r, buf, sizeof buf));
  *out = v;
  next(r);
  return true;
}

static bool parse_dtype(reader *r, vx_dtype *out) {
  static const vx_dtype all[] = {VX_DTYPE_F32, VX_DTYPE_BF16, VX_DTYPE_F16};
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
    if (tok_is(r, T_IDENT, vx_dtype_name(all[i]))) {
      *out = all[i];
      next(r);
      return true;
    }
  }
  char buf[48];
  return error_at(r, &r->tok, "expected a storage type (f32, bf16, f16) but found %s", tok_text(r, buf, sizeof buf));
}

static bool parse_axis(reader *r, vx_axis *out) {
  for (int a = 0; a < VX_AXIS_COUNT; a++) {
    if (tok_is(r, T_IDENT, vx_axis_name((vx_axis)a))) {
      *out = (vx_axis)a;
      next(r);
      return true;
    }
  }
  char buf[48];
  return error_at(r, &r->tok, "expected an axis (page, head, sub, tok, dim) but found %s",
                  tok_text(r, buf, sizeof buf));
}

/* [axis[:N], ...]: a set of axes; the split width may follow sub or tok. */
static bool parse_shape(reader *r, vx_shape *out) {
  vx_shape s = {0, 0};
  if (!expect_punct(r, "["))
    return false;
  bool first = true;
  while (!tok_is(r, T_PUNCT, "]")) {
    if (!first && !expect_punct(r, ","))
      return false;
    first = false;
    token at = r->tok;
    vx_axis a = VX_AXIS_COUNT;
    if (!parse_axis(r, &a))
      return false;
    if (vx_shape_has(s, a))
      return error_at(r, &at, "axis '%s' appears twice in a shape", vx_axis_name(a));
    s.axes |= VX_AXIS_BIT(a);
    if (tok_is(r, T_PUNCT, ":")) {
      if (a != VX_AXIS_SUB && a != VX_AXIS_TOK)
        return error_at(r, &r->tok, "a split width may only follow 'sub' or 'tok'");
      if (s.split)
        return error_at(r, &r->tok, "the split width is given twice");
      next(r);
      int w;
      if (!parse_int(r, 1, 65535, &w))
        return false;
      s.split = (uint16_t)w;
    }
  }
  next(r);
  *out = s;
  return true;
}

/* ------------------------------------------------------------ header */

/* geometry kv = gqa|mla(dc, dr), head_dim = N, group = N, page_size = N,
 * kv_dtype = T  -- fixed key order, the printer's. */
static bool parse_geometry(reader *r) {
  vx_geometry *g = &r->m->geo;
  next(r); /* geometry */
  if (!expect(r, T_IDENT, "kv") || !expect_punct(r, "="))
    return false;
  if (tok_is(r, T_IDENT, "gqa")) {
    g->kv = VX_KV_GQA;
    next(r);
  } else if (tok_is(r, T_IDENT, "mla")) {
    g->kv = VX_KV_MLA;
    next(r);
    if (!expect_punct(r, "(") || !parse_int(r, 1, MAX_INT_ATTR, &g->mla_latent) || !expect_punct(r, ",") ||
        !parse_int(r, 0, MAX_INT_ATTR, &g->mla_rope) || !expect_punct(r, ")"))
      return false;
  } else {
    char buf[48];
    return error_at(r, &r->tok, "expected 'gqa' or 'mla(dc, dr)' but found %s", tok_text(r, buf, sizeof buf));
  }
  static const char *const keys[] = {"head_dim", "group", "page_size"};
  int *vals[] = {&g->head_dim, &g->group, &g->page_size};
  for (int i = 0; i < 3; i++)
    if (!expect_punct(r, ",") || !expect(r, T_IDENT, keys[i]) || !expect_punct(r, "=") ||
        !parse_int(r, 1, MAX_INT_ATTR, vals[i]))
      return false;
  return expect_punct(r, ",") && expect(r, T_IDENT, "kv_dtype") && expect_punct(r, "=") &&
         parse_dtype(r, &g->kv_dtype);
}

/* dense_layers [i, j, ...] */
static bool parse_dense_layers(reader *r) {
  next(r);
  if (!expect_punct(r, "["))
    return false;
  int layers[256], n = 0;
  while (!tok_is(r, T_PUNCT, "]")) {
    if (n && !expect_punct(r, ","))
      return false;
    if (n == 256)
      return error_at(r, &r->tok, "too many dense layers (at most 256)");
    if (!parse_int(r, 0, MAX_INT_ATTR, &layers[n++]))
      return false;
  }
  next(r);
  return vx_module_set_dense_layers(r->m, layers, n) || oom(r);
}

static bool token_is_name(const token *t, const char *name) {
  return strlen(name) == t->len && memcmp(name, t->start, t->len) == 0;
}

/* Index of the field/state/param named by token t, or -1. */
static int find_field(const reader *r, const token *t) {
  for (int i = 0; i < r->m->nfields; i++)
    if (token_is_name(t, r->m->fields[i].name))
      return i;
  return -1;
}
static int find_state(const reader *r, const token *t) {
  for (int i = 0; i < r->m->nstates; i++)
    if (token_is_name(t, r->m->states[i].name))
      return i;
  return -1;
}
static int find_param(const reader *r, const token *t) {
  for (int i = 0; i < r->m->nparams; i++)
    if (token_is_name(t, r->m->params[i].name))
      return i;
  return -1;
}

/* Reads `@name`, checking it is not already declared in its table. */
static bool parse_new_symbol(reader *r, int existing, const char *what, char **name) {
  if (r->tok.kind != T_SYMBOL) {
    char buf[48];
    return error_at(r, &r->tok, "expected @name after '%s' but found %s", what, tok_text(r, buf, sizeof buf));
  }
  if (existing >= 0)
    return error_at(r, &r->tok, "%s '@%.*s' is declared twice", what, (int)r->tok.len, r->tok.start);
  if (!(*name = tok_strdup(r)))
    return oom(r);
  next(r);
  return true;
}

/* param @name : i32|f32 = NUMBER */
static bool parse_param(reader *r) {
  next(r);
  char *name;
  if (!parse_new_symbol(r, r->tok.kind == T_SYMBOL ? find_param(r, &r->tok) : -1, "param", &name) ||
      !expect_punct(r, ":"))
    return false;
  bool is_int;
  if (tok_is(r, T_IDENT, "i32"))
    is_int = true;
  else if (tok_is(r, T_IDENT, "f32"))
    is_int = false;
  else
    return error_at(r, &r->tok, "expected the param type i32 or f32");
  next(r);
  double v;
  if (!expect_punct(r, "=") || !parse_number(r, &v))
    return false;
  return vx_module_add_param(r->m, name, is_int, v) >= 0 || oom(r);
}

/* field @name : DTYPE[SHAPE] [incremental] */
static bool parse_field(reader *r) {
  next(r);
  char *name;
  vx_dtype storage;
  vx_shape shape;
  if (!parse_new_symbol(r, r->tok.kind == T_SYMBOL ? find_field(r, &r->tok) : -1, "field", &name) ||
      !expect_punct(r, ":") || !parse_dtype(r, &storage) || !parse_shape(r, &shape))
    return false;
  int i = vx_module_add_field(r->m, name, shape, storage);
  if (i < 0)
    return oom(r);
  if (tok_is(r, T_IDENT, "incremental")) {
    r->m->fields[i].incremental = true;
    next(r);
  }
  return true;
}

/* state @name = NUMBER */
static bool parse_state(reader *r) {
  next(r);
  char *name;
  double init;
  if (!parse_new_symbol(r, r->tok.kind == T_SYMBOL ? find_state(r, &r->tok) : -1, "state", &name) ||
      !expect_punct(r, "=") || !parse_number(r, &init))
    return false;
  return vx_module_add_state(r->m, name, init) >= 0 || oom(r);
}

/* --------------------------------------------------------------- ops */

/* Value names are per function; linear search is fine for IR sizes
 * (tens of ops) and keeps the reader allocation-free per lookup. */
static vx_op *find_value(const reader *r, const token *t) {
  for (int i = r->nnames - 1; i >= 0; i--)
    if (r->names[i].len == t->len && memcmp(r->names[i].name, t->start, t->len) == 0)
      return r->names[i].op;
  return NULL;
}

static bool define_value(reader *r, const token *t, vx_op *op) {
  if (find_value(r, t))
    return error_at(r, t, "value %%%.*s is defined twice", (int)t->len, t->start);
  if (r->nnames == r->capnames) {
    int cap = r->capnames ? 2 * r->capnames : 64;
    name_entry *n = vx_arena_alloc(r->arena, (size_t)cap * sizeof *n);
    if (!n)
      return oom(r);
    if (r->nnames)
      memcpy(n, r->names, (size_t)r->nnames * sizeof *n);
    r->names = n;
    r->capnames = cap;
  }
  r->names[r->nnames++] = (name_entry){t->start, t->len, op};
  return true;
}

/* The parsed pieces of one op line, before it is built. */
typedef struct op_text {
  token at;            /* mnemonic token, for messages */
  vx_op_code code;
  int index;           /* symbol index */
  double number;       /* const */
  vx_op *operands[3];
  bool has_axis, has_split;
  vx_axis axis;
  int split, buffer, region, keep_first, keep_last;
  vx_shape shape;
  vx_space space;
  vx_span loc;
} op_text;

/* The @field / @state / @param an op refers to, resolved against the
 * module tables declared above the functions. */
static bool parse_symbol_ref(reader *r, op_text *o) {
  char buf[48];
  if (r->tok.kind != T_SYMBOL)
    return error_at(r, &r->tok, "'%s' expects @name but found %s", vx_op_info_of(o->code)->mnemonic,
                    tok_text(r, buf, sizeof buf));
  const char *what;
  switch (o->code) {
  case VX_OP_LOAD_FIELD:
  case VX_OP_STORE_FIELD:
    o->index = find_field(r, &r->tok);
    what = "field";
    break;
  case VX_OP_LOAD_STATE:
  case VX_OP_STORE_STATE:
    o->index = find_state(r, &r->tok);
    what = "state";
    break;
  default:
    o->index = find_param(r, &r->tok);
    what = "param";
    break;
  }
  if (o->index < 0)
    return error_at(r, &r->tok, "unknown %s '@%.*s'", what, (int)r->tok.len, r->tok.start);
  next(r);
  return true;
}

/* Exactly n comma-separated %values, each defined earlier in the same
 * function (so a module read back is in SSA order by construction). */
static bool parse_operands(reader *r, op_text *o, int n, bool need_comma) {
  for (int i = 0; i < n; i++) {
    if ((i > 0 || need_comma) && !expect_punct(r, ","))
      return false;
    char buf[48];
    if (r->tok.kind != T_VALUE)
      return error_at(r, &r->tok, "'%s' expects %d operand%s; expected a value but found %s",
                      vx_op_info_of(o->code)->mnemonic, n, n == 1 ? "" : "s", tok_text(r, buf, sizeof buf));
    if (!(o->operands[i] = find_value(r, &r->tok)))
      return error_at(r, &r->tok, "use of undefined value %%%.*s", (int)r->tok.len, r->tok.start);
    next(r);
  }
  return true;
}

/* {key = value, ...}: only keys that apply to the op are accepted, so
 * the printer (which prints exactly those) round-trips the text. */
static bool parse_attrs(reader *r, op_text *o) {
  vx_op_class cls = vx_op_info_of(o->code)->cls;
  const char *mn = vx_op_info_of(o->code)->mnemonic;
  bool is_sel = o->code == VX_OP_SELECT_TOP || o->code == VX_OP_SELECT_MASS || o->code == VX_OP_SELECT_THRESHOLD;
  next(r); /* { */
  bool first = true;
  while (!tok_is(r, T_PUNCT, "}")) {
    if (!first && !expect_punct(r, ","))
      return false;
    first = false;
    token key = r->tok;
    if (key.kind != T_IDENT)
      return error_at(r, &key, "expected an attribute name");
    next(r);
    if (!expect_punct(r, "="))
      return false;
#define KEY(s) (key.len == strlen(s) && memcmp(key.start, s, key.len) == 0)
    if (KEY("axis") && (cls == VX_OPC_REDUCE || cls == VX_OPC_AXISMAP)) {
      o->has_axis = true;
      if (!parse_axis(r, &o->axis))
        return false;
    } else if (KEY("split") && cls == VX_OPC_SPLIT) {
      o->has_split = true;
      if (!parse_int(r, 1, 65535, &o->split))
        return false;
    } else if (KEY("buffer") && cls != VX_OPC_SINK) {
      if (!parse_int(r, 1, MAX_INT_ATTR, &o->buffer))
        return false;
    } else if (KEY("region")) {
      if (!parse_int(r, 1, MAX_INT_ATTR, &o->region))
        return false;
    } else if (KEY("keep_first") && is_sel) {
      if (!parse_int(r, 0, MAX_INT_ATTR, &o->keep_first))
        return false;
    } else if (KEY("keep_last") && is_sel) {
      if (!parse_int(r, 0, MAX_INT_ATTR, &o->keep_last))
        return false;
    } else {
      return error_at(r, &key, "attribute '%.*s' does not apply to '%s'", (int)key.len, key.start, mn);
    }
#undef KEY
  }
  next(r);
  return true;
}

/* : f32[SHAPE] SPACE */
static bool parse_type(reader *r, op_text *o) {
  if (!expect_punct(r, ":"))
    return false;
  if (tok_is(r, T_IDENT, "i32"))
    return error_at(r, &r->tok, "i32 values are reserved; every IR value is f32");
  if (!expect(r, T_IDENT, "f32") || !parse_shape(r, &o->shape))
    return false;
  static const vx_space spaces[] = {VX_SPACE_QUERY, VX_SPACE_PAGE, VX_SPACE_CANDIDATE};
  for (int i = 0; i < 3; i++) {
    if (tok_is(r, T_IDENT, vx_space_name(spaces[i]))) {
      o->space = spaces[i];
      next(r);
      return true;
    }
  }
  char buf[48];
  return error_at(r, &r->tok, "expected a space (query, page, candidate) but found %s", tok_text(r, buf, sizeof buf));
}

static bool parse_loc(reader *r, op_text *o) {
  next(r);
  int line, col;
  if (!expect_punct(r, "(") || !parse_int(r, 1, 1 << 30, &line) || !expect_punct(r, ":") ||
      !parse_int(r, 1, 1 << 30, &col) || !expect_punct(r, ")"))
    return false;
  o->loc = (vx_span){(uint32_t)line, (uint32_t)col, (uint32_t)line, (uint32_t)col};
  return true;
}

/* Builds the op and checks the written type against the inferred one. */
static bool build_op(reader *r, op_text *o, const token *result) {
  const vx_op_info *info = vx_op_info_of(o->code);
  vx_op *op = vx_build_op(r->f, NULL, o->code, o->operands, o->shape);
  if (!op)
    return oom(r);
  op->index = o->index;
  op->number = o->number;
  op->axis = o->has_axis ? o->axis : VX_AXIS_COUNT;
  op->split = o->split;
  op->buffer = o->buffer;
  op->region = o->region;
  op->keep_first = o->keep_first;
  op->keep_last = o->keep_last;
  op->loc = o->loc;
  if (info->cls != VX_OPC_SOURCE && info->cls != VX_OPC_SINK) {
    if (!vx_op_infer_shape(op))
      return error_at(r, &o->at, "the operand shapes of '%s' are incompatible with it", info->mnemonic);
    if (op->shape.axes != o->shape.axes || op->shape.split != o->shape.split) {
      char want[64], got[64];
      vx_format_shape(o->shape, want, sizeof want);
      vx_format_shape(op->shape, got, sizeof got);
      return error_at(r, &o->at, "'%s' is written with shape %s but its operands give %s", info->mnemonic, want, got);
    }
  } else if (info->cls == VX_OPC_SOURCE) {
    (void)vx_op_infer_shape(op); /* sets the space from the written shape */
  }
  if (info->cls != VX_OPC_SINK && op->space != o->space)
    return error_at(r, &o->at, "'%s' is written in space '%s' but its shape and function put it in '%s'",
                    info->mnemonic, vx_space_name(o->space), vx_space_name(op->space));
  return !result || define_value(r, result, op);
}

/* One op line: [%name =] mnemonic [@sym | number] operands [{attrs}]
 * [: type] [loc(L:C)]. Sinks must not have a result, values must. */
static bool parse_op(reader *r) {
  op_text o = {.index = -1};
  token result = {0};
  bool has_result = r->tok.kind == T_VALUE;
  if (has_result) {
    result = r->tok;
    next(r);
    if (!expect_punct(r, "="))
      return false;
  }
  o.at = r->tok;
  char buf[48];
  if (r->tok.kind != T_IDENT)
    return error_at(r, &r->tok, "expected an op but found %s", tok_text(r, buf, sizeof buf));
  char mn[32];
  size_t n = r->tok.len < sizeof mn - 1 ? r->tok.len : sizeof mn - 1;
  memcpy(mn, r->tok.start, n);
  mn[n] = '\0';
  int code = r->tok.len < sizeof mn - 1 ? vx_op_lookup(mn) : -1;
  if (code < 0)
    return error_at(r, &r->tok, "unknown op %s", tok_text(r, buf, sizeof buf));
  o.code = (vx_op_code)code;
  const vx_op_info *info = vx_op_info_of(o.code);
  if (info->cls == VX_OPC_SINK && has_result)
    return error_at(r, &result, "'%s' produces no value; remove '%%%.*s ='", mn, (int)result.len, result.start);
  if (info->cls != VX_OPC_SINK && !has_result)
    return error_at(r, &o.at, "'%s' produces a value; write '%%N = %s ...'", mn, mn);
  next(r);
  bool sym = o.code == VX_OP_LOAD_FIELD || o.code == VX_OP_STORE_FIELD || o.code == VX_OP_LOAD_STATE ||
             o.code == VX_OP_STORE_STATE || o.code == VX_OP_PARAM;
  if (sym && !parse_symbol_ref(r, &o))
    return false;
  if (o.code == VX_OP_CONST && !parse_number(r, &o.number))
    return false;
  if (!parse_operands(r, &o, info->noperands, sym))
    return false;
  if (tok_is(r, T_PUNCT, "{") && !parse_attrs(r, &o))
    return false;
  if ((info->cls == VX_OPC_REDUCE || info->cls == VX_OPC_AXISMAP) && !o.has_axis)
    return error_at(r, &o.at, "'%s' needs an {axis = ...} attribute", mn);
  if (info->cls == VX_OPC_SPLIT && !o.has_split)
    return error_at(r, &o.at, "'split' needs a {split = N} attribute");
  if (info->cls != VX_OPC_SINK && !parse_type(r, &o))
    return false;
  if (info->cls == VX_OPC_SINK && tok_is(r, T_PUNCT, ":"))
    return error_at(r, &r->tok, "'%s' produces no value and takes no type", mn);
  if (tok_is(r, T_IDENT, "loc") && !parse_loc(r, &o))
    return false;
  return build_op(r, &o, has_result ? &result : NULL);
}

/* func @cache_update|@index { op* }, each at most once. */
static bool parse_func(reader *r, bool *seen) {
  next(r); /* func */
  char buf[48];
  vx_func *f;
  if (tok_is(r, T_SYMBOL, "cache_update"))
    f = &r->m->cache_update;
  else if (tok_is(r, T_SYMBOL, "index"))
    f = &r->m->index;
  else
    return error_at(r, &r->tok, "expected @cache_update or @index but found %s", tok_text(r, buf, sizeof buf));
  int which = f->kind == VX_FUNC_INDEX;
  if (seen[which])
    return error_at(r, &r->tok, "function @%s is defined twice", vx_func_name(f->kind));
  seen[which] = true;
  next(r);
  if (!expect_punct(r, "{"))
    return false;
  r->f = f;
  r->nnames = 0;
  while (!tok_is(r, T_PUNCT, "}")) {
    if (r->tok.kind == T_EOF)
      return error_at(r, &r->tok, "unterminated function @%s: expected '}'", vx_func_name(f->kind));
    if (!parse_op(r))
      return false;
  }
  next(r);
  return true;
}

/* module @name { geometry, declarations, then functions }. */
static bool parse_module(reader *r) {
  if (!expect(r, T_IDENT, "module"))
    return false;
  char buf[48];
  if (r->tok.kind != T_SYMBOL)
    return error_at(r, &r->tok, "expected the module name (@name) but found %s", tok_text(r, buf, sizeof buf));
  char *name = tok_strdup(r);
  vx_geometry none = {0};
  if (!name || !(r->m = vx_module_new(r->arena, name, &none)))
    return oom(r);
  next(r);
  if (!expect_punct(r, "{"))
    return false;
  bool have_geometry = false, seen[2] = {false, false};
  token module_tok = r->tok;
  while (!tok_is(r, T_PUNCT, "}")) {
    bool any_func = seen[0] || seen[1];
    bool ok;
    if (tok_is(r, T_IDENT, "func")) {
      if (!have_geometry)
        return error_at(r, &r->tok, "the geometry line must come before the functions");
      ok = parse_func(r, seen);
    } else if (any_func && r->tok.kind == T_IDENT) {
      return error_at(r, &r->tok, "module declarations must come before the functions");
    } else if (tok_is(r, T_IDENT, "geometry")) {
      if (have_geometry)
        return error_at(r, &r->tok, "the geometry is given twice");
      have_geometry = true;
      ok = parse_geometry(r);
    } else if (tok_is(r, T_IDENT, "dense_layers")) {
      ok = parse_dense_layers(r);
    } else if (tok_is(r, T_IDENT, "param")) {
      ok = parse_param(r);
    } else if (tok_is(r, T_IDENT, "field")) {
      ok = parse_field(r);
    } else if (tok_is(r, T_IDENT, "state")) {
      ok = parse_state(r);
    } else if (r->tok.kind == T_EOF) {
      return error_at(r, &r->tok, "unterminated module: expected '}'");
    } else {
      return error_at(r, &r->tok, "expected geometry, dense_layers, param, field, state or func but found %s",
                      tok_text(r, buf, sizeof buf));
    }
    if (!ok)
      return false;
  }
  if (!have_geometry)
    return error_at(r, &module_tok, "module has no geometry line");
  next(r);
  if (r->tok.kind != T_EOF)
    return error_at(r, &r->tok, "unexpected %s after the module", tok_text(r, buf, sizeof buf));
  return true;
}

vx_module *vx_read_module(const char *file, const char *text, size_t len, vx_arena *arena, vx_diag_engine *diag) {
  reader r = {.file = file, .p = text, .end = text + len, .line = 1, .col = 1, .diag = diag, .arena = arena};
  next(&r);
  return parse_module(&r) ? r.m : NULL;
}

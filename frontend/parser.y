/* Grammar of the .vtx language (docs/language.md keeps the same grammar
 * in EBNF). Pure parser with locations; actions only call the ast_build
 * constructors and record blocks in the vx_parser. Error recovery:
 * a bad statement is skipped up to its ';' (or a bad item up to the
 * block's '}'), so one run reports several syntax errors. */
%require "3.6"
%define api.pure full
%define api.prefix {vx_yy}
%define api.token.prefix {TOK_}
%define api.location.type {vx_span}
%define parse.error custom
%define parse.lac full
%locations
%expect 0
%param {yyscan_t scanner}
%parse-param {struct vx_parser *p}

%code requires {
#include "ast.h"
#include "ast_build.h"
typedef void *yyscan_t;
struct vx_parser;
/* The inclusive-end location of a rule: first symbol's start to the last
 * symbol's end; an empty rule sits at the end of the previous symbol. */
#define YYLLOC_DEFAULT(Cur, Rhs, N)                                        \
  do {                                                                     \
    if (N) {                                                               \
      (Cur).line = YYRHSLOC(Rhs, 1).line;                                  \
      (Cur).col = YYRHSLOC(Rhs, 1).col;                                    \
      (Cur).end_line = YYRHSLOC(Rhs, N).end_line;                          \
      (Cur).end_col = YYRHSLOC(Rhs, N).end_col;                            \
    } else {                                                               \
      (Cur).line = (Cur).end_line = YYRHSLOC(Rhs, 0).end_line;             \
      (Cur).col = (Cur).end_col = YYRHSLOC(Rhs, 0).end_col;                \
    }                                                                      \
  } while (0)
typedef struct vx_keep {
  int first, last;        /* -1 when not given */
  vx_span first_span, last_span;
} vx_keep;
}

%code provides {
int vx_yylex(VX_YYSTYPE *yylval, VX_YYLTYPE *yylloc, yyscan_t scanner);
}

%code {
#include <stdio.h>

/* Nesting is limited to VX_MAX_NESTING levels; a parser stack this deep
 * is only reached by absurd input (e.g. 10000 unary minus signs). */
#define YYMAXDEPTH 2000
#include <string.h>

#include "parser_ctx.h"
#include "suggest.h"

static void vx_yyerror(VX_YYLTYPE *loc, yyscan_t scanner, struct vx_parser *p, const char *msg);

/* The scanner, remembering the token before the lookahead (see tok_prev). */
struct vx_parser *vx_yyget_extra(yyscan_t scanner);
static int vx_parser_lex(VX_YYSTYPE *lval, VX_YYLTYPE *lloc, yyscan_t scanner) {
  int tok = vx_yylex(lval, lloc, scanner);
  struct vx_parser *p = vx_yyget_extra(scanner);
  p->tok_prev = p->tok_last;
  p->tok_last = *lloc;
  return tok;
}
#undef yylex
#define yylex vx_parser_lex

/* Out of arena memory inside an action: stop the parse. */
#define VX_CHECK(ptr) do { if (!(ptr)) { p->stop = true; YYNOMEM; } } while (0)

/* Rejects a tree deeper than the nesting limit (reported once). */
#define VX_CHECK_DEPTH(e, loc)                                               \
  do {                                                                       \
    if ((e)->depth > VX_MAX_NESTING) {                                       \
      vx_parser_error(p, loc, "nesting-limit", NULL,                         \
                      "expression nested too deeply (more than %d levels)", \
                      VX_MAX_NESTING);                                       \
      p->stop = true;                                                        \
      YYABORT;                                                               \
    }                                                                        \
  } while (0)

static bool vx_note_block(struct vx_parser *p, bool *seen, vx_span *first, vx_span here, const char *what);
static vx_stmt *vx_make_let(struct vx_parser *p, vx_span span, const char *name, vx_span name_span,
                            vx_dtype dtype, vx_expr *value);
}

%union {
  double num;
  const char *str;
  vx_axis axis;
  vx_expr *expr;
  vx_stmt *stmt;
  vx_ptrvec args;
  int ival;
  vx_keep keep;
}

%token ALGORITHM "algorithm" PARAM "param" KV "kv" GQA "gqa" MLA "mla" DENSE "dense"
%token LAYERS "layers" STATE "state" CACHE "cache" INDEX "index" UPDATE "update"
%token SELECT "select" TOP "top" MASS "mass" THRESHOLD "threshold" KEEP "keep"
%token FIRST "first" LAST "last" IN "in" INT_KW "int" FLOAT_KW "float"
%token F32 "f32" BF16 "bf16" F16 "f16"
%token <axis> AXIS "axis name"
%token <str> IDENT "identifier"
%token <num> INTLIT "integer" FLOATLIT "number"
%token LE "<=" GE ">=" EQ "==" NE "!="

%type <expr> expr primary signed_number
%type <args> args arg_list
%type <ival> opt_type dtype select_kind
%type <keep> keep_list keep_item
%type <stmt> select_stmt

%nonassoc '<' '>' LE GE EQ NE
%left '+' '-'
%left '*' '/'
%precedence UNARY

%%

file:
    algorithm
  ;

algorithm:
    ALGORITHM IDENT '{' items '}'
      {
        p->alg->name = $2;
        p->alg->span = @2;
      }
  ;

items:
    %empty
  | items item
  ;

item:
    param_decl
  | kv_decl
  | dense_decl
  | state_block
  | cache_block
  | index_block
  /* Recovery: skip to the end of the broken item, or to the keyword that
   * starts the next one (a missing ';' before 'cache' loses nothing). */
  | error ';'           { if (p->stop) YYABORT; yyerrok; }
  | error param_decl    { if (p->stop) YYABORT; yyerrok; }
  | error kv_decl       { if (p->stop) YYABORT; yyerrok; }
  | error dense_decl    { if (p->stop) YYABORT; yyerrok; }
  | error state_block   { if (p->stop) YYABORT; yyerrok; }
  | error cache_block   { if (p->stop) YYABORT; yyerrok; }
  | error index_block   { if (p->stop) YYABORT; yyerrok; }
  ;

param_decl:
    PARAM IDENT opt_type '=' signed_number ';'
      { VX_CHECK(vx_parse_add_param(p, $2, @2, $3, $5, NULL, NULL)); }
  | PARAM IDENT opt_type '=' signed_number IN '[' signed_number ',' signed_number ']' ';'
      { VX_CHECK(vx_parse_add_param(p, $2, @2, $3, $5, $8, $10)); }
  ;

opt_type:
    %empty          { $$ = -1; }
  | ':' INT_KW      { $$ = VX_TYPE_INT; }
  | ':' FLOAT_KW    { $$ = VX_TYPE_FLOAT; }
  ;

signed_number:
    INTLIT          { $$ = vx_ast_number(p->arena, @1, $1, true); VX_CHECK($$); }
  | FLOATLIT        { $$ = vx_ast_number(p->arena, @1, $1, false); VX_CHECK($$); }
  | '-' INTLIT      { $$ = vx_ast_number(p->arena, @$, -$2, true); VX_CHECK($$); }
  | '-' FLOATLIT    { $$ = vx_ast_number(p->arena, @$, -$2, false); VX_CHECK($$); }
  ;

kv_decl:
    KV GQA ';'
      {
        if (vx_note_block(p, &p->seen_kv, &p->kv_span, @1, "kv"))
          p->alg->kv = VX_KV_GQA;
      }
  | KV MLA '(' INTLIT ',' INTLIT ')' ';'
      {
        if (vx_note_block(p, &p->seen_kv, &p->kv_span, @1, "kv")) {
          p->alg->kv = VX_KV_MLA;
          p->alg->mla_latent = (int)$4;
          p->alg->mla_rope = (int)$6;
          if ($4 < 1)
            vx_parser_error(p, @4, "mla-geometry", NULL, "the MLA latent width must be positive");
        }
      }
  ;

dense_decl:
    DENSE LAYERS layer_list ';'
      { vx_note_block(p, &p->seen_dense, &p->dense_span, @1, "dense layers"); }
  ;

layer_list:
    INTLIT
      {
        vx_expr *e = vx_ast_number(p->arena, @1, $1, true);
        VX_CHECK(e && vx_ptrvec_push(p->arena, &p->dense, e));
      }
  | layer_list ',' INTLIT
      {
        vx_expr *e = vx_ast_number(p->arena, @3, $3, true);
        VX_CHECK(e && vx_ptrvec_push(p->arena, &p->dense, e));
      }
  ;

state_block:
    STATE '{' state_items '}'
      { vx_note_block(p, &p->seen_state, &p->state_span, @1, "state"); }
  /* a broken last statement (no ';' before the '}') ends with the block */
  | STATE '{' state_items error '}'
      { if (p->stop) YYABORT; yyerrok; vx_note_block(p, &p->seen_state, &p->state_span, @1, "state"); }
  ;

state_items:
    %empty
  | state_items state_item
  ;

state_item:
    IDENT '=' signed_number ';'
      {
        vx_stmt *s = vx_ast_stmt(p->arena, VX_STMT_STATE, @$);
        VX_CHECK(s);
        s->name = $1;
        s->name_span = @1;
        s->value = $3;
        VX_CHECK(vx_ptrvec_push(p->arena, &p->states, s));
      }
  | error ';'   { if (p->stop) YYABORT; yyerrok; }
  ;

cache_block:
    CACHE '{' cache_items '}'
      { vx_note_block(p, &p->seen_cache, &p->cache_span, @1, "cache"); }
  /* a broken last statement (no ';' before the '}') ends with the block */
  | CACHE '{' cache_items error '}'
      { if (p->stop) YYABORT; yyerrok; vx_note_block(p, &p->seen_cache, &p->cache_span, @1, "cache"); }
  ;

cache_items:
    %empty
  | cache_items cache_item
  ;

cache_item:
    IDENT '=' expr ';'
      { VX_CHECK(vx_ptrvec_push(p->arena, &p->cache, vx_make_let(p, @$, $1, @1, VX_DTYPE_DEFAULT, $3))); }
  | IDENT ':' dtype '=' expr ';'
      { VX_CHECK(vx_ptrvec_push(p->arena, &p->cache, vx_make_let(p, @$, $1, @1, (vx_dtype)$3, $5))); }
  | error ';'   { if (p->stop) YYABORT; yyerrok; }
  ;

dtype:
    F32     { $$ = VX_DTYPE_F32; }
  | BF16    { $$ = VX_DTYPE_BF16; }
  | F16     { $$ = VX_DTYPE_F16; }
  ;

index_block:
    INDEX '{' index_items '}'
      { vx_note_block(p, &p->seen_index, &p->index_span, @1, "index"); }
  /* a broken last statement (no ';' before the '}') ends with the block */
  | INDEX '{' index_items error '}'
      { if (p->stop) YYABORT; yyerrok; vx_note_block(p, &p->seen_index, &p->index_span, @1, "index"); }
  ;

index_items:
    %empty
  | index_items index_item
  ;

index_item:
    IDENT '=' expr ';'
      { VX_CHECK(vx_ptrvec_push(p->arena, &p->index, vx_make_let(p, @$, $1, @1, VX_DTYPE_DEFAULT, $3))); }
  | UPDATE IDENT '=' expr ';'
      {
        vx_stmt *s = vx_ast_stmt(p->arena, VX_STMT_UPDATE, @$);
        VX_CHECK(s);
        s->name = $2;
        s->name_span = @2;
        s->value = $4;
        VX_CHECK(vx_ptrvec_push(p->arena, &p->index, s));
      }
  | select_stmt
      { VX_CHECK(vx_ptrvec_push(p->arena, &p->index, $1)); }
  | error ';'   { if (p->stop) YYABORT; yyerrok; }
  ;

select_stmt:
    SELECT select_kind '(' expr ')' ';'
      {
        $$ = vx_ast_stmt(p->arena, VX_STMT_SELECT, @$);
        VX_CHECK($$);
        $$->select = (vx_select_kind)$2;
        $$->select_span = @2;
        $$->value = $4;
      }
  | SELECT select_kind '(' expr ')' KEEP keep_list ';'
      {
        $$ = vx_ast_stmt(p->arena, VX_STMT_SELECT, @$);
        VX_CHECK($$);
        $$->select = (vx_select_kind)$2;
        $$->select_span = @2;
        $$->value = $4;
        $$->keep_first = $7.first > 0 ? $7.first : 0;
        $$->keep_last = $7.last > 0 ? $7.last : 0;
      }
  ;

select_kind:
    TOP         { $$ = VX_SELECT_TOP; }
  | MASS        { $$ = VX_SELECT_MASS; }
  | THRESHOLD   { $$ = VX_SELECT_THRESHOLD; }
  ;

keep_list:
    keep_item
  | keep_list ',' keep_item
      {
        $$ = $1;
        if ($3.first >= 0) {
          if ($1.first >= 0) {
            vx_parser_error(p, $3.first_span, "duplicate-keep", NULL, "'keep first' is given twice");
            vx_parser_note(p, $1.first_span, "first given here");
          }
          $$.first = $3.first;
          $$.first_span = $3.first_span;
        }
        if ($3.last >= 0) {
          if ($1.last >= 0) {
            vx_parser_error(p, $3.last_span, "duplicate-keep", NULL, "'keep last' is given twice");
            vx_parser_note(p, $1.last_span, "first given here");
          }
          $$.last = $3.last;
          $$.last_span = $3.last_span;
        }
      }
  ;

keep_item:
    FIRST INTLIT  { $$ = (vx_keep){.first = (int)$2, .last = -1, .first_span = @$}; }
  | LAST INTLIT   { $$ = (vx_keep){.first = -1, .last = (int)$2, .last_span = @$}; }
  ;

expr:
    primary
  | '-' expr %prec UNARY    { $$ = vx_ast_neg(p->arena, @$, $2); VX_CHECK($$); VX_CHECK_DEPTH($$, @$); }
  | expr '+' expr           { $$ = vx_ast_binary(p->arena, @$, VX_BINOP_ADD, $1, $3); VX_CHECK($$); VX_CHECK_DEPTH($$, @$); }
  | expr '-' expr           { $$ = vx_ast_binary(p->arena, @$, VX_BINOP_SUB, $1, $3); VX_CHECK($$); VX_CHECK_DEPTH($$, @$); }
  | expr '*' expr           { $$ = vx_ast_binary(p->arena, @$, VX_BINOP_MUL, $1, $3); VX_CHECK($$); VX_CHECK_DEPTH($$, @$); }
  | expr '/' expr           { $$ = vx_ast_binary(p->arena, @$, VX_BINOP_DIV, $1, $3); VX_CHECK($$); VX_CHECK_DEPTH($$, @$); }
  | expr '<' expr           { $$ = vx_ast_binary(p->arena, @$, VX_BINOP_LT, $1, $3); VX_CHECK($$); VX_CHECK_DEPTH($$, @$); }
  | expr LE expr            { $$ = vx_ast_binary(p->arena, @$, VX_BINOP_LE, $1, $3); VX_CHECK($$); VX_CHECK_DEPTH($$, @$); }
  | expr '>' expr           { $$ = vx_ast_binary(p->arena, @$, VX_BINOP_GT, $1, $3); VX_CHECK($$); VX_CHECK_DEPTH($$, @$); }
  | expr GE expr            { $$ = vx_ast_binary(p->arena, @$, VX_BINOP_GE, $1, $3); VX_CHECK($$); VX_CHECK_DEPTH($$, @$); }
  | expr EQ expr            { $$ = vx_ast_binary(p->arena, @$, VX_BINOP_EQ, $1, $3); VX_CHECK($$); VX_CHECK_DEPTH($$, @$); }
  | expr NE expr            { $$ = vx_ast_binary(p->arena, @$, VX_BINOP_NE, $1, $3); VX_CHECK($$); VX_CHECK_DEPTH($$, @$); }
  ;

primary:
    INTLIT                  { $$ = vx_ast_number(p->arena, @1, $1, true); VX_CHECK($$); }
  | FLOATLIT                { $$ = vx_ast_number(p->arena, @1, $1, false); VX_CHECK($$); }
  | IDENT                   { $$ = vx_ast_name(p->arena, @1, $1); VX_CHECK($$); }
  | AXIS                    { $$ = vx_ast_axis(p->arena, @1, $1); VX_CHECK($$); }
  | IDENT '(' args ')'      { $$ = vx_ast_call(p->arena, @$, $1, &$3); VX_CHECK($$); VX_CHECK_DEPTH($$, @$); }
  | '(' expr ')'            { $$ = $2; }
  ;

args:
    %empty                  { $$ = (vx_ptrvec){0}; }
  | arg_list
  ;

arg_list:
    expr                    { $$ = (vx_ptrvec){0}; VX_CHECK(vx_ptrvec_push(p->arena, &$$, $1)); }
  | arg_list ',' expr       { $$ = $1; VX_CHECK(vx_ptrvec_push(p->arena, &$$, $3)); }
  ;

%%

static bool vx_note_block(struct vx_parser *p, bool *seen, vx_span *first, vx_span here, const char *what) {
  if (*seen) {
    vx_parser_error(p, here, "duplicate-block", NULL, "duplicate '%s' declaration", what);
    vx_parser_note(p, *first, "first '%s' declaration is here", what);
    return false;
  }
  *seen = true;
  *first = here;
  return true;
}

static vx_stmt *vx_make_let(struct vx_parser *p, vx_span span, const char *name, vx_span name_span,
                            vx_dtype dtype, vx_expr *value) {
  vx_stmt *s = vx_ast_stmt(p->arena, VX_STMT_LET, span);
  if (s) {
    s->name = name;
    s->name_span = name_span;
    s->dtype = dtype;
    s->value = value;
  }
  return s;
}

static void vx_yyerror(VX_YYLTYPE *loc, yyscan_t scanner, struct vx_parser *p, const char *msg) {
  (void)scanner;
  if (p->stop)
    return;
  /* Bison only calls this for stack exhaustion ("memory exhausted"),
   * which real input reaches only through absurd nesting. */
  if (strstr(msg, "exhausted"))
    vx_parser_error(p, *loc, "nesting-limit", NULL, "expression nested too deeply (more than %d levels)",
                    VX_MAX_NESTING);
  else
    vx_parser_error(p, *loc, "syntax", NULL, "%s", msg);
  p->stop = true;
}

/* Display name of a token for messages: keywords and punctuation in
 * quotes, classes (identifier, number) bare. */
static void vx_token_display(char *buf, size_t n, yysymbol_kind_t sym) {
  const char *name = yysymbol_name(sym);
  if (sym == YYSYMBOL_YYEOF)
    snprintf(buf, n, "end of file");
  else if (name[0] == '\'' || sym == YYSYMBOL_IDENT || sym == YYSYMBOL_INTLIT || sym == YYSYMBOL_FLOATLIT ||
           sym == YYSYMBOL_AXIS || sym == YYSYMBOL_YYerror || sym == YYSYMBOL_YYUNDEF)
    snprintf(buf, n, "%s", name); /* ';' is already quoted; classes stay bare */
  else
    snprintf(buf, n, "'%s'", name); /* keywords and multi-character operators */
}

/* "unexpected X, expecting A, B or C" (the expected list only when it is
 * short enough to help). The unexpected token is quoted from the source. */
static int yyreport_syntax_error(const yypcontext_t *ctx, yyscan_t scanner, struct vx_parser *p) {
  (void)scanner;
  if (p->stop)
    return 0;
  enum { MAX_LISTED = 4, MAX_EXPECTED = YYNTOKENS };
  yysymbol_kind_t all[MAX_EXPECTED];
  int nall = yypcontext_expected_tokens(ctx, all, MAX_EXPECTED);
  /* A short list is shown whole; after an expression (which could go on
   * with any operator) only the punctuation that would end it helps. */
  yysymbol_kind_t expected[MAX_LISTED];
  int nexp = 0;
  if (nall > 0 && nall <= MAX_LISTED) {
    for (int i = 0; i < nall; i++)
      expected[nexp++] = all[i];
  } else {
    /* After an expression (which could go on with any operator) only the
     * punctuation that would end it helps; at end of file, the '}' that
     * would close the open block. */
    bool after_expr = false;
    for (int i = 0; i < nall; i++)
      after_expr |= strcmp(yysymbol_name(all[i]), "'+'") == 0;
    bool at_eof = yypcontext_token(ctx) == YYSYMBOL_YYEOF;
    for (int i = 0; i < nall && nexp < MAX_LISTED; i++) {
      const char *name = yysymbol_name(all[i]);
      bool closer = strcmp(name, "';'") == 0 || strcmp(name, "')'") == 0 || strcmp(name, "']'") == 0 ||
                    strcmp(name, "','") == 0;
      if ((after_expr && closer) || (at_eof && strcmp(name, "'}'") == 0))
        expected[nexp++] = all[i];
    }
  }
  yysymbol_kind_t got = yypcontext_token(ctx);
  const vx_span *loc = yypcontext_location(ctx);

  char tok[96];
  vx_token_display(tok, sizeof tok, got);
  char what[160]; /* the lookahead: its kind, and its text where that helps */
  if ((got == YYSYMBOL_IDENT || got == YYSYMBOL_INTLIT || got == YYSYMBOL_FLOATLIT || got == YYSYMBOL_AXIS) &&
      loc->line == loc->end_line && loc->end_col >= loc->col && p->tok_offset + (loc->end_col - loc->col + 1) <= p->len) {
    /* quote the token's text from the source line (the lookahead is the last token scanned) */
    int width = (int)(loc->end_col - loc->col + 1);
    snprintf(what, sizeof what, "%s '%.*s'", tok, width > 40 ? 40 : width, p->text + p->tok_offset);
  } else {
    snprintf(what, sizeof what, "%s", tok);
  }
  /* A statement's ';' missing at the end of its line (';' was one of the
   * tokens that could follow, and the next one is on a later line):
   * reported there, just after its last token, where the ';' goes (as C
   * compilers do), not at the first token of the next line. */
  bool semicolon = false;
  for (int i = 0; i < nexp; i++)
    semicolon |= strcmp(yysymbol_name(expected[i]), "';'") == 0;
  if (semicolon && p->tok_prev.line > 0 && loc->line > p->tok_prev.end_line) {
    vx_span after = {.line = p->tok_prev.end_line, .col = p->tok_prev.end_col + 1,
                     .end_line = p->tok_prev.end_line, .end_col = p->tok_prev.end_col + 1};
    vx_parser_error(p, after, "syntax", NULL, "expected ';' before %s", what);
    return 0;
  }

  char msg[512];
  size_t at = (size_t)snprintf(msg, sizeof msg, "unexpected %s", what);
  if (nexp > 0) {
    for (int i = 0; i < nexp && at < sizeof msg; i++) {
      vx_token_display(tok, sizeof tok, expected[i]);
      const char *sep = i == 0 ? ", expecting " : (i == nexp - 1 ? " or " : ", ");
      at += (size_t)snprintf(msg + at, sizeof msg - at, "%s%s", sep, tok);
    }
  } else {
    /* Too many tokens to list, but if a name and a number are among them
     * an operand is missing (after an operator, '(' or '='): say that. */
    bool name = false, number = false;
    for (int i = 0; i < nall; i++) {
      name |= all[i] == YYSYMBOL_IDENT;
      number |= all[i] == YYSYMBOL_INTLIT;
    }
    if (name && number && at < sizeof msg)
      snprintf(msg + at, sizeof msg - at, ", expecting an expression");
  }
  /* A misspelt keyword: suggest the closest keyword the grammar expected. */
  char hint[96] = "";
  if (got == YYSYMBOL_IDENT && loc->line == loc->end_line && loc->end_col >= loc->col && loc->end_col - loc->col < 32) {
    char word[40];
    size_t off = p->tok_offset;
    size_t wlen = loc->end_col - loc->col + 1;
    if (off + wlen <= p->len) {
      snprintf(word, sizeof word, "%.*s", (int)wlen, p->text + off);
      vx_suggestion sug;
      vx_suggest_init(&sug, word);
      for (int i = 0; i < nall; i++) {
        const char *name = yysymbol_name(all[i]);
        if (all[i] != YYSYMBOL_IDENT && all[i] != YYSYMBOL_AXIS && name[0] >= 'a' && name[0] <= 'z')
          vx_suggest_consider(&sug, name);
      }
      if (sug.best)
        snprintf(hint, sizeof hint, "did you mean '%s'?", sug.best);
    }
  }
  vx_parser_error(p, *loc, "syntax", hint[0] ? hint : NULL, "%s", msg);
  int open = p->brace_depth - 1;
  if (got == YYSYMBOL_YYEOF && open >= 0 && open < (int)(sizeof p->open_braces / sizeof p->open_braces[0]))
    vx_parser_note(p, p->open_braces[open], "to match this '{'");
  return 0;
}

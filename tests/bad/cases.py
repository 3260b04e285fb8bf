#!/usr/bin/env python3
# The bad-input corpus, written by hand: each case is a source text, the
# token its first error must point at and the exact message. Regenerate
# the .vtx/.expected files after editing: python3 tests/bad/cases.py tests/bad
# Writes tests/bad/NAME.vtx and NAME.expected. Each case names the token the
# error must point at (marker, nth occurrence) and the exact message; the
# helper only turns the marker into line:col.
import os, sys
cases = []
def case(name, text, marker, msg, nth=0, col=None, line=None):
    cases.append((name, text, marker, msg, nth, col, line))

HDR = "algorithm t {\n  param budget = 8;\n"
def alg(cache="c = mean(k, tok);", index="score = sum(mean(q, head) * c, dim);\n    select top(budget);", extra=""):
    return HDR + extra + "  cache { " + cache + " }\n  index {\n    " + index + "\n  }\n}\n"

case("empty", "", None, "file is empty", line=1, col=1)
case("nul_byte", "algorithm t\0 { }\n", None, "file is not text (NUL byte at offset 11)", line=1, col=12)
case("binary", "algorithm \xff\xfe t { }\n", None, "file is not text (invalid UTF-8 at offset 10)", line=1, col=11)
case("truncated_expr", "algorithm t {\n  cache { c = mean(k, tok); }\n  index { score = sum(", None, "unexpected end of file, expecting an expression", line=3, col=23)
case("truncated_block", "algorithm t {\n  cache { c = mean(k, tok); }\n", None, "unexpected end of file, expecting '}'", line=2, col=30)
case("unterminated_comment", alg() + "/* trailing\n", "/*", "unterminated /* comment")
case("deep_parens", alg(index="score = " + "(" * 300 + "page_index" + ")" * 300 + ";\n    select top(budget);"), "(", "expression nested too deeply (more than 256 levels)", nth=257)
case("int_overflow", alg(extra="  param big = 4294967296;\n"), "4294967296", "integer literal '4294967296' is too large")
case("float_overflow", alg(extra="  param big = 1e400;\n"), "1e400", "floating-point literal '1e400' is out of range")
case("bad_character", alg(index="score = sum(q @ c, dim);\n    select top(budget);"), "@", "unexpected character '@'")
case("bad_number", alg(extra="  param n = 12abc;\n"), "12abc", "invalid number '12abc'")
# a ';' missing at a line's end is reported just after that line's last token
case("missing_semicolon", alg(index="s = sum(mean(q, head) * c, dim)\n    score = s;\n    select top(budget);"), None, "expected ';' before identifier 'score'", line=5, col=36)
case("missing_cache", "algorithm nocache {\n  index { score = page_index; select top(4); }\n}\n", "nocache", "algorithm 'nocache' has no 'cache' block")
case("missing_index", "algorithm noindex {\n  cache { c = mean(k, tok); }\n}\n", "noindex", "algorithm 'noindex' has no 'index' block")
case("missing_select", alg(index="score = sum(mean(q, head) * c, dim);"), "t {", "algorithm 't' has no 'select' statement")
case("missing_score", alg(index="s = sum(mean(q, head) * c, dim);\n    select top(budget);"), "t {", "algorithm 't' does not define 'score'")
case("repeated_select", alg(index="score = sum(mean(q, head) * c, dim);\n    select top(budget);\n    select top(4);"), "select", "only one 'select' is allowed in the index block", nth=1)
case("duplicate_field", alg(cache="c = mean(k, tok); c = max(k, tok);"), "c =", "redefinition of 'c'", nth=1)
case("local_shadows_field", alg(index="c = 1;\n    score = page_index;\n    select top(budget);"), "c = 1", "redefinition of 'c'")
case("undefined_name", alg(index="score = sum(mean(q, head) * c, dim) + bugdet;\n    select top(budget);"), "bugdet", "use of undefined name 'bugdet'")
case("unknown_function", alg(index="score = sofmax(sum(mean(q, head) * c, dim), page);\n    select top(budget);"), "sofmax", "unknown function 'sofmax'")
case("wrong_arity", alg(index="score = exp(sum(mean(q, head) * c, dim), 2);\n    select top(budget);"), "exp(", "'exp' takes 1 argument, got 2")
case("q_in_cache", alg(cache="c = mean(k, tok) * sum(q, dim);"), "q,", "'q' is not available in the cache stage: the cache summarises a page before any query exists")
case("k_in_index", alg(index="score = sum(mean(q, head) * mean(k, tok), dim);\n    select top(budget);"), "k,", nth=1, msg="'k' is not available in the index stage: it only sees cache fields, not raw keys and values")
case("state_in_cache", alg(extra="  state { hits = 0; }\n", cache="c = mean(k, tok) + hits;"), "hits;", "state 'hits' is not available in the cache stage: state lives across decode steps of the index")
case("page_index_in_cache", alg(cache="c = mean(k, tok) * page_index;"), "page_index", "'page_index' is not available in the cache stage: it is a property of the page list at decode time")
case("v_with_mla", alg(extra="  kv mla(512, 64);\n", cache="c = mean(v, tok);"), "v,", "'v' is not available with kv mla(512, 64)")
case("split_width_mismatch", alg(cache="c = max(split(k, 4) + k, tok);"), "split(k, 4) + k", "cannot add [sub, tok, dim] and [tok, dim]: 'tok' has different widths")
case("reduce_absent_axis", alg(index="score = sum(mean(sum(q, tok), head) * c, dim);\n    select top(budget);"), "sum(q, tok)", "cannot reduce [head, dim] over 'tok'")
case("score_keeps_head", alg(index="score = sum(q * c, dim);\n    select top(budget);"), "sum(q * c, dim)", "'score' must have shape [page], got [page, head]: reduce 'head' with max(..., head) or mean(..., head)")
case("score_scalar", alg(index="score = budget * 2;\n    select top(budget);"), "budget * 2", "'score' must have shape [page], got []")
case("budget_not_scalar", alg(index="score = sum(mean(q, head) * c, dim);\n    select top(score);"), "score)", "the operand of top() must be a scalar [], got [page]")
case("top_zero", alg(index="score = sum(mean(q, head) * c, dim);\n    select top(0);"), "0)", "top() needs a positive integer number of pages, got 0")
case("top_fraction", alg(index="score = sum(mean(q, head) * c, dim);\n    select top(budget / 3);"), "budget / 3", "top() needs a positive integer number of pages, got 2.66667")
case("mass_out_of_range", alg(index="score = sum(mean(q, head) * c, dim);\n    select mass(1.5);"), "1.5", "mass() must be in (0, 1], got 1.5")
case("update_local", alg(index="s = sum(mean(q, head) * c, dim);\n    update s = s * 2;\n    score = s;\n    select top(budget);"), "s = s * 2", "cannot update 's': it is a local, not a state")
case("update_undefined", alg(index="score = sum(mean(q, head) * c, dim);\n    update hits = score;\n    select top(budget);"), "hits", "cannot update 'hits': no state with that name")
case("duplicate_update", alg(extra="  state { hits = 0; }\n", index="score = sum(mean(q, head) * c, dim);\n    update hits = hits + 1;\n    update hits = 0;\n    select top(budget);"), "hits = 0;", "state 'hits' is updated twice", nth=1)
case("state_update_shape", alg(extra="  state { hits = 0; }\n", index="score = sum(mean(q, head) * c, dim);\n    update hits = q * c;\n    select top(budget);"), "q * c", "new value of state 'hits' must have shape [page] or [], got [page, head, dim]")
case("param_out_of_range", alg(extra="  param window = 0 in [1, 64];\n"), "window", "value 0 of param 'window' is out of range [1, 64]")
case("param_int_with_float", alg(extra="  param n: int = 0.5;\n"), "0.5", "param 'n' is declared int but its value is not an integer literal")
case("param_empty_range", alg(extra="  param n = 5 in [10, 1];\n"), "10, 1", "empty range: lower bound 10 is above upper bound 1")
case("duplicate_cache_block", alg() .replace("  index {", "  cache { d = max(k, tok); }\n  index {"), "cache", "duplicate 'cache' declaration", nth=1)
case("axis_as_value", alg(index="x = tok;\n    score = sum(mean(q, head) * c, dim);\n    select top(budget);"), "tok;", "axis 'tok' can only be the axis argument of a builtin")
case("reduce_by_number", alg(index="score = sum(mean(q, head) * c, 2);\n    select top(budget);"), "2)", "the second argument of 'sum' must be an axis name")
case("split_not_divisor", alg(cache="c = max(split(k, 5), tok);"), "5", "split width 5 does not divide the page size 16")
case("field_keeps_tok", alg(cache="c = k * 2;"), "k * 2", "cache field 'c' has shape [tok, dim]: a page summary cannot keep 'tok' ('tok' and 'page' cannot appear in one value)")
case("missing_semicolon_param", "algorithm t {\n  param budget = 8\n  cache { c = mean(k, tok); }\n  index {\n    score = sum(mean(q, head) * c, dim);\n    select top(budget);\n  }\n}\n", None, "expected ';' before 'cache'", line=2, col=19)
case("missing_operand", alg(index="score = sum(mean(q, head) * c, dim) +;\n    select top(budget);"), ";\n    select", "unexpected ';', expecting an expression")
case("chained_comparison", alg(index="score = sum(mean(q, head) * c, dim) < 1 < 2;\n    select top(budget);"), "< 2", "unexpected '<', expecting ';'")
case("two_algorithms", alg() + "algorithm u { }\n", "algorithm u", "unexpected 'algorithm', expecting end of file")
case("redefine_input", alg(extra="  param q = 1;\n"), "q =", "'q' is a built-in input and cannot be redefined")
case("keep_first_twice", alg(index="score = sum(mean(q, head) * c, dim);\n    select top(budget) keep first 1, first 2;"), "first 2", "'keep first' is given twice")
case("division_by_zero", alg(extra="  param n = 4;\n", index="score = sum(mean(q, head) * c, dim);\n    select top(n / (n - 4));"), "n / (n - 4)", "division by zero in a constant expression")
case("dtype_in_index", alg(index="x: f32 = 1;\n    score = sum(mean(q, head) * c, dim);\n    select top(budget);"), ":", "unexpected ':', expecting '='")
case("duplicate_dense_layer", alg(extra="  dense layers 0, 3, 0;\n"), "0;", "layer 0 is listed twice")
case("keyword_as_name", alg(index="first = 1;\n    score = sum(mean(q, head) * c, dim);\n    select top(budget);"), "first", "unexpected 'first', expecting 'update', 'select', identifier or '}'")
case("mla_no_latent", alg(extra="  kv mla(0, 64);\n"), "0,", "the MLA latent width must be positive")
case("where_split_mismatch", alg(cache="c = mean(k, tok); s4 = max(split(k, 4), tok); s2 = max(split(k, 2), tok);", index="score = max(sum(where(c > 0, s4, s2) * mean(q, head), dim), sub);\n    select top(budget);"), "where(c > 0, s4, s2)", "cannot combine [page, sub, dim] and [page, sub, dim] in 'where': their token axes come from different splits (4 and 2 tokens per slice)")
case("misspelt_keyword", "algorithm t {\n  cahce { c = mean(k, tok); }\n}\n", "cahce", "unexpected identifier 'cahce'")
case("only_keyword", "algorithm", None, "unexpected end of file, expecting identifier", line=1, col=10)
case("comment_only", "// nothing here\n/* at all */\n", None, "unexpected end of file, expecting 'algorithm'", line=2, col=13)

out = sys.argv[1]
def locate(text, marker, nth):
    idx = -1
    if marker not in text: raise SystemExit(f"marker {marker!r} missing")
    for _ in range(nth + 1):
        idx = text.index(marker, idx + 1)
    line = text.count("\n", 0, idx) + 1
    col = idx - (text.rfind("\n", 0, idx) + 1) + 1
    return line, col
for name, text, marker, msg, nth, col, line in cases:
    if marker is not None:
        line, col = locate(text, marker, nth)
    with open(os.path.join(out, name + ".vtx"), "wb") as f:
        f.write(text.encode("latin-1"))
    with open(os.path.join(out, name + ".expected"), "w") as f:
        f.write(f"{name}.vtx:{line}:{col}: error: {msg}\n")
print(len(cases), "cases")

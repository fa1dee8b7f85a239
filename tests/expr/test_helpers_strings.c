/*
 * test_helpers_strings.c - CrowdSec's string helpers (helpers_strings.c).
 *
 * Expected values come from CrowdSec's own tests (exprlib_test.go: Match,
 * Atof, Upper, Lower, ToString, B64Decode, Distinct) and from Go 1.19 itself
 * for the strings/strconv/fmt corners (checked with small `go run` programs).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <unistd.h>

#include "common/gotime.h"
#include "common/str.h"
#include "expr/helpers.h"
#include "expr/internal.h"

#include "helpers_fixture.h"

static const struct fixture_case cases[] = {
    /* Atof: strconv.ParseFloat; 0 on a syntax error, +-Inf on overflow. */
    { "Atof", 1, { S("1.5") }, "1.5f" },
    { "Atof", 1, { S("1aaa.5") }, "0f" },
    { "Atof", 1, { S("") }, "0f" },
    { "Atof", 1, { S(" 1") }, "0f" },
    { "Atof", 1, { S("-2.5e3") }, "-2500f" },
    { "Atof", 1, { S("1_000.5") }, "1000.5f" },
    { "Atof", 1, { S("1__0") }, "0f" },
    { "Atof", 1, { S("0x1.8p1") }, "3f" },
    { "Atof", 1, { S("0x1.8") }, "0f" },
    { "Atof", 1, { S("+Infinity") }, "inff" },
    { "Atof", 1, { S("-nan") }, "0f" },
    { "Atof", 1, { S("1e400") }, "inff" },
    { "Atof", 1, { S("1e-400") }, "0f" },
    { "Atof", 1, { S(".5") }, "0.5f" },
    { "Atof", 1, { S("5.") }, "5f" },
    { "Atof", 1, { I(5) }, "ERR:is int, not string" },
    /* Upper / Lower: Unicode simple case mapping; invalid bytes become U+FFFD. */
    { "Upper", 1, { S("test") }, "\"TEST\"" },
    { "Upper", 1, { S("") }, "\"\"" },
    { "Upper", 1, { S("h\xc3\xa9llo\xff") }, "\"H\xc3\x89LLO\xef\xbf\xbd\"" },
    { "Upper", 1, { S("abc-123_XyZ") }, "\"ABC-123_XYZ\"" },
    { "Upper", 1, { NIL }, "ERR:is nil, not string" },
    { "Lower", 1, { S("ABCDEFG") }, "\"abcdefg\"" },
    { "Lower", 1, { S("AbcDefG!#") }, "\"abcdefg!#\"" },
    { "Lower", 1, { S("H\xc3\x89LLO") }, "\"h\xc3\xa9llo\"" },
    { "Lower", 1, { S("") }, "\"\"" },
    { "Lower", 1, { F(1.5) }, "ERR:is float64, not string" },
    /* TrimSpace: Unicode white space. */
    { "TrimSpace", 1, { S("  a b \t\n") }, "\"a b\"" },
    { "TrimSpace", 1, { S("") }, "\"\"" },
    { "TrimSpace", 1, { S(" \t ") }, "\"\"" },
    { "TrimSpace", 1, { S("\xc2\xa0x\xe2\x80\x83") }, "\"x\"" },
    { "TrimSpace", 1, { S("x\xff ") }, "\"x\xff\"" },
    { "TrimSpace", 1, { I(1) }, "ERR:not string" },
    /* Trim / TrimLeft / TrimRight: cutsets of runes. */
    { "Trim", 2, { S("xxhixx"), S("x") }, "\"hi\"" },
    { "Trim", 2, { S("abcba"), S("ab") }, "\"c\"" },
    { "Trim", 2, { S("hello"), S("") }, "\"hello\"" },
    { "Trim", 2, { S("aaa"), S("a") }, "\"\"" },
    { "Trim", 2, { S("\xc3\xa9x\xc3\xa9"), S("\xc3\xa9") }, "\"x\"" },
    { "Trim", 2, { S("x"), I(1) }, "ERR:not string" },
    { "TrimLeft", 2, { S("xxhixx"), S("x") }, "\"hixx\"" },
    { "TrimLeft", 2, { S("  a"), S(" ") }, "\"a\"" },
    { "TrimLeft", 2, { S(""), S("x") }, "\"\"" },
    { "TrimLeft", 2, { S("abc"), S("cb") }, "\"abc\"" },
    { "TrimLeft", 2, { S("123abc"), S("0123456789") }, "\"abc\"" },
    { "TrimRight", 2, { S("xxhixx"), S("x") }, "\"xxhi\"" },
    { "TrimRight", 2, { S("a\n\n"), S("\n") }, "\"a\"" },
    { "TrimRight", 2, { S("abc"), S("ab") }, "\"abc\"" },
    { "TrimRight", 2, { S("path///"), S("/") }, "\"path\"" },
    { "TrimRight", 2, { S("x\xc3\xa9\xc3\xa9"), S("\xc3\xa9") }, "\"x\"" },
    /* TrimPrefix / TrimSuffix: once, exact. */
    { "TrimPrefix", 2, { S("/api/v1"), S("/api") }, "\"/v1\"" },
    { "TrimPrefix", 2, { S("/api/v1"), S("api") }, "\"/api/v1\"" },
    { "TrimPrefix", 2, { S("aaa"), S("a") }, "\"aa\"" },
    { "TrimPrefix", 2, { S("a"), S("") }, "\"a\"" },
    { "TrimPrefix", 2, { S("ab"), S("abc") }, "\"ab\"" },
    { "TrimSuffix", 2, { S("file.log"), S(".log") }, "\"file\"" },
    { "TrimSuffix", 2, { S("file.log"), S(".txt") }, "\"file.log\"" },
    { "TrimSuffix", 2, { S("xx"), S("x") }, "\"x\"" },
    { "TrimSuffix", 2, { S(""), S("") }, "\"\"" },
    { "TrimSuffix", 2, { NIL, S("") }, "ERR:is nil, not string" },
    /* Fields: runs of non-space runes. */
    { "Fields", 1, { S("  foo bar  baz   ") }, "[\"foo\", \"bar\", \"baz\"]" },
    { "Fields", 1, { S("") }, "[]" },
    { "Fields", 1, { S("   ") }, "[]" },
    { "Fields", 1, { S("a\tb\nc") }, "[\"a\", \"b\", \"c\"]" },
    { "Fields",
      1,
      { S("a\xc2\xa0"
          "b\xe2\x80\x83"
          "c\xc2\x85"
          "d") },
      "[\"a\", \"b\", \"c\", \"d\"]" },
    { "Fields", 1, { S("one") }, "[\"one\"]" },
    /* Index / IndexAny: byte offsets. */
    { "Index", 2, { S("chicken"), S("ken") }, "4" },
    { "Index", 2, { S("chicken"), S("dmr") }, "-1" },
    { "Index", 2, { S("abc"), S("") }, "0" },
    { "Index", 2, { S(""), S("a") }, "-1" },
    { "Index", 2, { S("h\xc3\xa9llo"), S("llo") }, "3" },
    { "IndexAny", 2, { S("golang"), S("y") }, "-1" },
    { "IndexAny", 2, { S("chicken"), S("kmr") }, "4" },
    { "IndexAny", 2, { S("abc"), S("") }, "-1" },
    { "IndexAny", 2, { S("x\xc3\xa9y"), S("y\xc3\xa9") }, "1" },
    { "IndexAny", 2, { S("ab\xff"), S("\xef\xbf\xbd") }, "2" },
    /* Join: a list of strings. */
    { "Join", 2, { A(S("a"), S("b"), S("c")), S(",") }, "\"a,b,c\"" },
    { "Join", 2, { A0, S(",") }, "\"\"" },
    { "Join", 2, { A(S("x")), S("--") }, "\"x\"" },
    { "Join", 2, { A(S("a"), S("")), S("") }, "\"a\"" },
    { "Join", 2, { A(S("a"), I(1)), S(",") }, "ERR:not []string" },
    { "Join", 2, { S("abc"), S(",") }, "ERR:is string, not []string" },
    /* Split family: Go's genSplit and explode. */
    { "Split", 2, { S("a,b,c"), S(",") }, "[\"a\", \"b\", \"c\"]" },
    { "Split", 2, { S("a,b,c"), S("") }, "[\"a\", \",\", \"b\", \",\", \"c\"]" },
    { "Split", 2, { S(""), S(",") }, "[\"\"]" },
    { "Split", 2, { S(""), S("") }, "[]" },
    { "Split", 2, { S(",a,"), S(",") }, "[\"\", \"a\", \"\"]" },
    { "Split", 2, { S("x\xc3\xa9"), S("") }, "[\"x\", \"\xc3\xa9\"]" },
    { "Split", 2, { S("a  b"), S(" ") }, "[\"a\", \"\", \"b\"]" },
    { "SplitN", 3, { S("a,b,c,d"), S(","), I(2) }, "[\"a\", \"b,c,d\"]" },
    { "SplitN", 3, { S("a,b,c"), S(","), I(0) }, "[]" },
    { "SplitN", 3, { S("a,b,c"), S(","), I(-1) }, "[\"a\", \"b\", \"c\"]" },
    { "SplitN", 3, { S("a,b"), S(","), I(10) }, "[\"a\", \"b\"]" },
    { "SplitN", 3, { S("abc"), S(""), I(2) }, "[\"a\", \"bc\"]" },
    { "SplitN", 3, { S("a,b"), S(","), F(1.0) }, "ERR:is float64, not int" },
    { "SplitAfter", 2, { S("a,b,c"), S(",") }, "[\"a,\", \"b,\", \"c\"]" },
    { "SplitAfter", 2, { S("a,b,"), S(",") }, "[\"a,\", \"b,\", \"\"]" },
    { "SplitAfter", 2, { S("abc"), S("") }, "[\"a\", \"b\", \"c\"]" },
    { "SplitAfter", 2, { S("abc"), S("x") }, "[\"abc\"]" },
    { "SplitAfter", 2, { S(""), S("x") }, "[\"\"]" },
    { "SplitAfterN", 3, { S("a,b,c,d"), S(","), I(2) }, "[\"a,\", \"b,c,d\"]" },
    { "SplitAfterN", 3, { S("a,b,c"), S(","), I(0) }, "[]" },
    { "SplitAfterN", 3, { S("a,b,c"), S(","), I(-5) }, "[\"a,\", \"b,\", \"c\"]" },
    { "SplitAfterN", 3, { S("a,b,c"), S(","), I(1) }, "[\"a,b,c\"]" },
    { "SplitAfterN", 3, { S("a,b,c"), S(","), S("2") }, "ERR:is string, not int" },
    /* Replace / ReplaceAll. */
    { "Replace", 4, { S("oink oink oink"), S("k"), S("ky"), I(2) }, "\"oinky oinky oink\"" },
    { "Replace", 4, { S("oink oink oink"), S("oink"), S("moo"), I(-1) }, "\"moo moo moo\"" },
    { "Replace", 4, { S("abc"), S("b"), S("x"), I(0) }, "\"abc\"" },
    { "Replace", 4, { S("abc"), S(""), S("-"), I(-1) }, "\"-a-b-c-\"" },
    { "Replace", 4, { S("abc"), S(""), S("-"), I(2) }, "\"-a-bc\"" },
    { "Replace", 4, { S("aaa"), S("a"), S("a"), I(-1) }, "\"aaa\"" },
    { "Replace", 4, { S("abc"), S("b"), S("x"), F(1) }, "ERR:not int" },
    { "ReplaceAll", 3, { S("a.b.c"), S("."), S("/") }, "\"a/b/c\"" },
    { "ReplaceAll", 3, { S("abc"), S("x"), S("y") }, "\"abc\"" },
    { "ReplaceAll", 3, { S(""), S(""), S("x") }, "\"x\"" },
    { "ReplaceAll", 3, { S("aaaa"), S("aa"), S("b") }, "\"bb\"" },
    { "ReplaceAll", 3, { S("\xc3\xa9"), S(""), S("|") }, "\"|\xc3\xa9|\"" },
    /* Sprintf: Go's fmt. */
    { "Sprintf", 2, { S("%s-%d"), S("a") }, "\"a-%!d(MISSING)\"" },
    { "Sprintf", 3, { S("%s-%d"), S("a"), I(42) }, "\"a-42\"" },
    { "Sprintf", 2, { S("%05s"), S("ab") }, "\"000ab\"" },
    { "Sprintf", 2, { S("%.2s"), S("h\xc3\xa9llo") }, "\"h\xc3\xa9\"" },
    { "Sprintf", 2, { S("%5.1f"), F(3.14159) }, "\"  3.1\"" },
    { "Sprintf", 2, { S("%-5d|"), I(42) }, "\"42   |\"" },
    { "Sprintf", 2, { S("%x"), S("hi") }, "\"6869\"" },
    { "Sprintf", 2, { S("%X"), I(255) }, "\"FF\"" },
    { "Sprintf", 2, { S("% x"), S("ab") }, "\"61 62\"" },
    { "Sprintf", 2, { S("%q"), S("a\"b\n\x01\xc3\xa9") }, "\"\"a\\\"b\\n\\x01\xc3\xa9\"\"" },
    { "Sprintf", 2, { S("%+q"), S("\xc3\xa9") }, "\"\"\\u00e9\"\"" },
    { "Sprintf", 2, { S("%#x"), I(255) }, "\"0xff\"" },
    { "Sprintf", 4, { S("%o %b %c"), I(8), I(5), I(0x263A) }, "\"10 101 \xe2\x98\xba\"" },
    { "Sprintf", 2, { S("%U"), I(0x263A) }, "\"U+263A\"" },
    { "Sprintf",
      6,
      { S("%d %s %d %v %t"), S("x"), I(5), F(1.5), NIL, I(3) },
      "\"%!d(string=x) %!s(int=5) %!d(float64=1.5) <nil> %!t(int=3)\"" },
    { "Sprintf", 4, { S("%d"), I(1), S("a"), F(2.5) }, "\"1%!(EXTRA string=a, float64=2.5)\"" },
    { "Sprintf", 2, { S("%v"), A(S("a"), I(1), NIL) }, "\"[a 1 <nil>]\"" },
    { "Sprintf", 2, { S("%s"), A(S("a"), I(1), NIL) }, "\"[a %!s(int=1) <nil>]\"" },
    { "Sprintf", 2, { S("%d"), A(S("a"), I(1)) }, "\"[%!d(string=a) 1]\"" },
    { "Sprintf",
      4,
      { S("%v|%d|%s"), D(1500000000), D(1500), D(90000000000) },
      "\"1.5s|1500|1m30s\"" },
    { "Sprintf", 2, { S("%z"), I(1) }, "\"%!z(int=1)\"" },
    { "Sprintf", 3, { S("%+d|% d"), I(5), I(5) }, "\"+5| 5\"" },
    { "Sprintf", 2, { S("%08.3f"), F(-3.14159) }, "\"-003.142\"" },
    { "Sprintf",
      5,
      { S("%e|%E|%.3e|%g"), F(123456.789), F(0.000123), F(1e-7), F(123456.789) },
      "\"1.234568e+05|1.230000E-04|1.000e-07|123456.789\"" },
    { "Sprintf",
      5,
      { S("%v|%v|%v|%v"), F(1e6), F(1e20), F(123456789.0), F(0.00001) },
      "\"1e+06|1e+20|1.23456789e+08|1e-05\"" },
    { "Sprintf", 4, { S("%v|%v|%v"), F(1.0), F(100000.0), F(3e-5) }, "\"1|100000|3e-05\"" },
    { "Sprintf", 5, { S("%*d|%-*d"), I(5), I(1), I(4), I(2) }, "\"    1|2   \"" },
    { "Sprintf", 3, { S("%.*f"), I(2), F(3.14159) }, "\"3.14\"" },
    { "Sprintf", 3, { S("%*d"), S("x"), I(3) }, "\"%!(BADWIDTH)3\"" },
    { "Sprintf", 4, { S("%5t|%v|%x"), B(true), F(-0.0), I(-255) }, "\" true|-0|-ff\"" },
    { "Sprintf", 3, { S("%.0f|%.1f"), F(2.5), F(0.05) }, "\"2|0.1\"" },
    { "Sprintf", 1, { S("100%%") }, "\"100%\"" },
    { "Sprintf", 1, { S("%") }, "\"%!(NOVERB)\"" },
    { "Sprintf", 1, { S("plain") }, "\"plain\"" },
    { "Sprintf", 2, { S("%s"), NIL }, "\"%!s(<nil>)\"" },
    { "Sprintf", 2, { S("%T"), F(1) }, "\"float64\"" },
    { "Sprintf", 3, { S("%v %v"), F(INFINITY), F(NAN) }, "\"+Inf NaN\"" },
    { "Sprintf", 2, { S("%6.2f|"), F(-1.5) }, "\" -1.50|\"" },
    { "Sprintf",
      5,
      { S("%x|%X|%5.2v|%-8q|"), F(3.5), S("\xc3\xa9"), F(3.14159), S("a") },
      "\"0x1.cp+01|C3A9|  3.1|\"a\"     |\"" },
    { "Sprintf",
      2,
      { S("%d"),
        { .kind = EXPR_MAP,
          .u.m = &(struct expr_map){ .len = 2,
                                     .cap = 2,
                                     .entries =
                                         (struct expr_map_entry[]){ { "b", 1, I(1) },
                                                                    { "a", 1, S("x") } } } } },
      "\"map[%!d(string=a):%!d(string=x) %!d(string=b):1]\"" },
    { "Sprintf",
      7,
      { S("%05d|%+.3d|%x|%.0d|%#o|%O"), I(-42), I(7), I(-1), I(0), I(8), I(8) },
      "\"-0042|+007|-1||010|0o10\"" },
    { "Sprintf",
      5,
      { S("%g|%G|%.3g|%e"), F(1e21), F(1e-7), F(1234.5678), F(0.0) },
      "\"1e+21|1E-07|1.23e+03|0.000000e+00\"" },
    { "Sprintf", 4, { S("%c|%q|%U"), I(65), I(120), I(0x1F600) }, "\"A|'x'|U+1F600\"" },
    { "Sprintf",
      4,
      { S("%t|%v|%s"), B(false), B(true), B(true) },
      "\"false|true|%!s(bool=true)\"" },
    { "Sprintf", 3, { S("%10.4v|%-10v|"), S("abcdefgh"), F(1.5) }, "\"      abcd|1.5       |\"" },
    { "Sprintf",
      2,
      { S("%q"), S("\xc2\xa0\xe2\x80\xa8x\xcc\x81") },
      "\"\"\\u00a0\\u2028x\xcc\x81\"\"" },
    { "Sprintf", 2, { I(1), S("x") }, "ERR:is int, not string" },
    /* ToString: the string itself, else "". */
    { "ToString", 1, { S("foo") }, "\"foo\"" },
    { "ToString", 1, { I(1) }, "\"\"" },
    { "ToString", 1, { NIL }, "\"\"" },
    { "ToString", 1, { F(1.5) }, "\"\"" },
    { "ToString", 1, { A(S("a")) }, "\"\"" },
    /* Get: "" past the end. */
    { "Get", 2, { A(S("a"), S("b")), I(1) }, "\"b\"" },
    { "Get", 2, { A(S("a"), S("b")), I(0) }, "\"a\"" },
    { "Get", 2, { A(S("a"), S("b")), I(2) }, "\"\"" },
    { "Get", 2, { A0, I(0) }, "\"\"" },
    { "Get", 2, { A(S("a")), I(-1) }, "ERR:index out of range [-1]" },
    { "Get", 2, { S("ab"), I(0) }, "ERR:not []string" },
    /* Match: CrowdSec's TestMatch table, then corners of its recursion. */
    { "Match", 2, { S("foo"), S("foo") }, "true" },
    { "Match", 2, { S("foo"), S("bar") }, "false" },
    { "Match", 2, { S("foo*"), S("foo") }, "true" },
    { "Match", 2, { S("foo*"), S("foobar") }, "true" },
    { "Match", 2, { S("foo*"), S("barfoo") }, "false" },
    { "Match", 2, { S("foo*"), S("bar") }, "false" },
    { "Match", 2, { S("*foo"), S("foo") }, "true" },
    { "Match", 2, { S("*foo"), S("barfoo") }, "true" },
    { "Match", 2, { S("foo*r"), S("foobar") }, "true" },
    { "Match", 2, { S("foo*r"), S("foobazr") }, "true" },
    { "Match", 2, { S("foo?ar"), S("foobar") }, "true" },
    { "Match", 2, { S("foo?ar"), S("foobazr") }, "false" },
    { "Match", 2, { S("foo?ar"), S("foobaz") }, "false" },
    { "Match", 2, { S("*foo?ar?"), S("foobar") }, "false" },
    { "Match", 2, { S("*foo?ar?"), S("foobare") }, "true" },
    { "Match", 2, { S("*foo?ar?"), S("rafoobar") }, "false" },
    { "Match", 2, { S("*foo?ar?"), S("rafoobare") }, "true" },
    { "Match", 2, { S(""), S("") }, "true" },
    { "Match", 2, { S(""), S("a") }, "false" },
    { "Match", 2, { S("*"), S("") }, "true" },
    { "Match", 2, { S("**"), S("") }, "false" },
    { "Match", 2, { S("a**"), S("a") }, "false" },
    { "Match", 2, { S("**"), S("a") }, "true" },
    { "Match", 2, { S("?"), S("") }, "false" },
    { "Match",
      2,
      { S("*a*a*a*a*a*a*a*a*b"), S("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa") },
      "false" },
    /* KeyExists. */
    { "KeyExists",
      2,
      { S("a"),
        { .kind = EXPR_MAP,
          .u.m = &(struct expr_map){ .len = 1,
                                     .cap = 1,
                                     .entries = (struct expr_map_entry[]){ { "a", 1, I(1) } } } } },
      "true" },
    { "KeyExists",
      2,
      { S("b"),
        { .kind = EXPR_MAP,
          .u.m = &(struct expr_map){ .len = 1,
                                     .cap = 1,
                                     .entries = (struct expr_map_entry[]){ { "a", 1, I(1) } } } } },
      "false" },
    { "KeyExists", 2, { S(""), { .kind = EXPR_MAP, .u.m = &(struct expr_map){ 0 } } }, "false" },
    { "KeyExists", 2, { S("a"), S("a") }, "ERR:not map[string]interface {}" },
    { "KeyExists",
      2,
      { I(1), { .kind = EXPR_MAP, .u.m = &(struct expr_map){ 0 } } },
      "ERR:not string" },
    /* B64Decode: standard encoding; bad input is a run-time error. */
    { "B64Decode", 1, { S("Zm9v") }, "\"foo\"" },
    { "B64Decode", 1, { S("foo") }, "ERR:illegal base64 data" },
    { "B64Decode", 1, { S("") }, "\"\"" },
    { "B64Decode", 1, { S("Zm9vYg==") }, "\"foob\"" },
    { "B64Decode", 1, { S("Zm9vYmE=") }, "\"fooba\"" },
    { "B64Decode", 1, { S("Zm9vYg") }, "ERR:illegal base64 data" },
    { "B64Decode", 1, { S("Zm9v\nYmFy") }, "\"foobar\"" },
    { "B64Decode", 1, { S("Zm9v!") }, "ERR:illegal base64 data" },
    { "B64Decode", 1, { S("Zh==") }, "\"f\"" },
    { "B64Decode", 1, { S("Zm9=v") }, "ERR:illegal base64 data" },
    { "B64Decode", 1, { S("Zg==Zg==") }, "ERR:illegal base64 data" },
    { "B64Decode", 1, { I(1) }, "ERR:not string" },
    /* LogInfo logs and returns true. */
    { "LogInfo", 2, { S("helper test %s"), S("ok") }, "true" },
    { "LogInfo", 1, { S("plain") }, "true" },
    { "LogInfo", 1, { I(1) }, "ERR:not string" },
    /* Distinct / Flatten / FlattenDistinct. */
    { "Distinct", 1, { A(S("a"), S("a"), S("b")) }, "[\"a\", \"b\"]" },
    { "Distinct", 1, { A(S("a"), S("a"), S("b"), I(1), I(1)) }, "[\"a\", \"b\", 1]" },
    { "Distinct", 1, { A0 }, "[]" },
    { "Distinct", 1, { S("notaslice") }, "nil" },
    { "Distinct", 1, { A(I(1), F(1), I(1)) }, "[1, 1f]" },
    { "Distinct", 1, { A(A(I(1))) }, "ERR:unhashable" },
    { "Distinct", 0, { NIL }, "ERR:index out of range" },
    { "Flatten", 2, { A(S("a"), A(S("b"), A(S("c")))), S("d") }, "[\"a\", \"b\", \"c\", \"d\"]" },
    { "Flatten", 0, { NIL }, "[]" },
    { "Flatten", 1, { I(1) }, "[1]" },
    { "Flatten", 2, { A0, A(NIL) }, "[nil]" },
    { "Flatten", 1, { A(A(I(1), I(2)), I(3)) }, "[1, 2, 3]" },
    { "FlattenDistinct", 2, { A(S("a"), A(S("a"), S("b"))), S("b") }, "[\"a\", \"b\"]" },
    { "FlattenDistinct", 0, { NIL }, "[]" },
    { "FlattenDistinct", 3, { I(1), I(1), I(2) }, "[1, 2]" },
    { "FlattenDistinct", 1, { A(A(I(1)), A(I(1))) }, "[1]" },
    { "FlattenDistinct", 1, { S("x") }, "[\"x\"]" },
    /* FloatApproxEqual: |a - b| < 1e-6. */
    { "FloatApproxEqual", 2, { F(1.0), F(1.0000001) }, "true" },
    { "FloatApproxEqual", 2, { F(1.0), F(1.00001) }, "false" },
    { "FloatApproxEqual", 2, { I(2), F(2.0) }, "true" },
    { "FloatApproxEqual", 2, { F(-1e-7), F(1e-7) }, "true" },
    { "FloatApproxEqual", 2, { F(NAN), F(NAN) }, "false" },
    { "FloatApproxEqual", 2, { S("1"), F(1) }, "ERR:not float64" },
};

/* Hostname() is the machine's name; compare with gethostname. */
static void
test_hostname(void **state)
{
    (void)state;
    const struct expr_func *f =
        fixture_find_func(expr_helpers_strings, expr_helpers_strings_count, "Hostname");
    struct expr_vm *vm = expr_vm_new();
    struct expr_value ret;
    char buf[256] = { 0 };

    if (f == NULL) {
        fail_msg("helper missing");
        abort();
    }
    assert_int_equal(f->min_args, 0);
    assert_int_equal(f->max_args, 0);
    assert_int_equal(f->call(vm, NULL, 0, &ret), 0);
    assert_int_equal(gethostname(buf, sizeof(buf) - 1), 0);
    assert_int_equal(ret.kind, EXPR_STRING);
    assert_int_equal(ret.u.s.len, strlen(buf));
    assert_memory_equal(ret.u.s.ptr, buf, ret.u.s.len);
    expr_vm_free(vm);
}

/* Every CrowdSec string helper is registered with its Go arity. */
static void
test_registry(void **state)
{
    static const struct fixture_arity want[] = {
        { "Atof", 1, 1 },
        { "Upper", 1, 1 },
        { "Lower", 1, 1 },
        { "TrimSpace", 1, 1 },
        { "Trim", 2, 2 },
        { "TrimLeft", 2, 2 },
        { "TrimRight", 2, 2 },
        { "TrimPrefix", 2, 2 },
        { "TrimSuffix", 2, 2 },
        { "Fields", 1, 1 },
        { "Index", 2, 2 },
        { "IndexAny", 2, 2 },
        { "Join", 2, 2 },
        { "Split", 2, 2 },
        { "SplitN", 3, 3 },
        { "SplitAfter", 2, 2 },
        { "SplitAfterN", 3, 3 },
        { "Replace", 4, 4 },
        { "ReplaceAll", 3, 3 },
        { "Sprintf", 1, -1 },
        { "ToString", 1, 1 },
        { "Get", 2, 2 },
        { "Match", 2, 2 },
        { "KeyExists", 2, 2 },
        { "B64Decode", 1, 1 },
        { "Hostname", 0, 0 },
        { "LogInfo", 1, -1 },
        { "Distinct", 0, -1 },
        { "Flatten", 0, -1 },
        { "FlattenDistinct", 0, -1 },
        { "FloatApproxEqual", 2, 2 },
    };
    (void)state;
    fixture_check_registry(expr_helpers_strings, expr_helpers_strings_count, want,
                           ARRAY_SIZE(want));
}

int
main(void)
{
    const struct CMUnitTest extra[] = {
        cmocka_unit_test(test_registry),
        cmocka_unit_test(test_hostname),
    };
    return fixture_run_all("helpers_strings", expr_helpers_strings, expr_helpers_strings_count,
                           extra, ARRAY_SIZE(extra), cases, ARRAY_SIZE(cases));
}

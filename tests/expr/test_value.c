/*
 * test_value.c - tests for value.c: Go's %v and encoding/json output, JSON
 * input, == semantics, float formatting, UTF-8 decoding and materialize.
 * Expected strings were produced by a Go 1.19 program (fmt.Sprintf("%v"),
 * json.Marshal, json.MarshalIndent(v, "", "  ")).
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "common/str.h"
#include "expr/helpers.h"
#include "expr/internal.h"

static struct expr_vm *
new_vm(void)
{
    struct expr_vm *vm = expr_vm_new();
    assert_non_null(vm);
    return vm;
}

/* Parses JSON keeping ints as ints, the way the Go generator decoded its inputs. */
static struct expr_value
J(struct expr_vm *vm, const char *text) {
    struct expr_value v;
    if (expr_value_from_json_ex(vm, text, strlen(text), true, &v) != 0) {
        print_error("cannot parse %s: %s\n", text, vm->error);
        fail();
    }
    return v;
}

static void
check_str(const char *what, const char *input, const struct str *got, const char *want)
{
    const char *g = got->buf ? got->buf : "";
    if (strcmp(g, want) != 0) {
        print_error("%s of %s:\n got  [%s]\n want [%s]\n", what, input, g, want);
        fail();
    }
}

struct fmt_case {
    const char *json; /* input, ints stay ints */
    const char *go_v;
    const char *compact;
    const char *indent;
};

static const struct fmt_case fmt_cases[] = {
    { "null", "<nil>", "null", "null" },
    { "true", "true", "true", "true" },
    { "false", "false", "false", "false" },
    { "0", "0", "0", "0" },
    { "42", "42", "42", "42" },
    { "-7", "-7", "-7", "-7" },
    { "9223372036854775807", "9223372036854775807", "9223372036854775807", "9223372036854775807" },
    { "-9223372036854775808", "-9223372036854775808", "-9223372036854775808",
      "-9223372036854775808" },
    { "1.5", "1.5", "1.5", "1.5" },
    { "-0.25", "-0.25", "-0.25", "-0.25" },
    { "100000.0", "100000", "100000", "100000" },
    { "1000000.0", "1e+06", "1000000", "1000000" },
    { "1e20", "1e+20", "100000000000000000000", "100000000000000000000" },
    { "1e21", "1e+21", "1e+21", "1e+21" },
    { "1e-5", "1e-05", "0.00001", "0.00001" },
    { "0.0001", "0.0001", "0.0001", "0.0001" },
    { "123456789.0", "1.23456789e+08", "123456789", "123456789" },
    { "3.14159", "3.14159", "3.14159", "3.14159" },
    { "1e-7", "1e-07", "1e-7", "1e-7" },
    { "0.000001", "1e-06", "0.000001", "0.000001" },
    { "2.5e-7", "2.5e-07", "2.5e-7", "2.5e-7" },
    { "1.7976931348623157e308", "1.7976931348623157e+308", "1.7976931348623157e+308",
      "1.7976931348623157e+308" },
    { "5e-324", "5e-324", "5e-324", "5e-324" },
    { "0.1", "0.1", "0.1", "0.1" },
    { "0.3", "0.3", "0.3", "0.3" },
    { "123456.7", "123456.7", "123456.7", "123456.7" },
    { "-1e6", "-1e+06", "-1000000", "-1000000" },
    { "12345678901234567890.0", "1.2345678901234567e+19", "12345678901234567000",
      "12345678901234567000" },
    { "1.0", "1", "1", "1" },
    { "0.0", "0", "0", "0" },
    { "\"\"", "", "\"\"", "\"\"" },
    { "\"abc\"", "abc", "\"abc\"", "\"abc\"" },
    { "\"a b\"", "a b", "\"a b\"", "\"a b\"" },
    { "\"<tag>&amp;\"", "<tag>&amp;", "\"\\u003ctag\\u003e\\u0026amp;\"",
      "\"\\u003ctag\\u003e\\u0026amp;\"" },
    { "\"quote\\\" back\\\\ slash\"", "quote\" back\\ slash", "\"quote\\\" back\\\\ slash\"",
      "\"quote\\\" back\\\\ slash\"" },
    { "\"tab\\tnl\\ncr\\r\"", "tab\011nl\ncr\015", "\"tab\\tnl\\ncr\\r\"", "\"tab\\tnl\\ncr\\r\"" },
    { "\"\\u0001\\u001f\"", "\001\037", "\"\\u0001\\u001f\"", "\"\\u0001\\u001f\"" },
    { "\"\\u2028\\u2029\"", "\342\200\250\342\200\251", "\"\\u2028\\u2029\"",
      "\"\\u2028\\u2029\"" },
    { "\"h\303\251llo w\303\266rld\"", "h\303\251llo w\303\266rld", "\"h\303\251llo w\303\266rld\"",
      "\"h\303\251llo w\303\266rld\"" },
    { "\"\346\227\245\346\234\254\"", "\346\227\245\346\234\254", "\"\346\227\245\346\234\254\"",
      "\"\346\227\245\346\234\254\"" },
    { "\"\360\237\230\200\"", "\360\237\230\200", "\"\360\237\230\200\"", "\"\360\237\230\200\"" },
    { "[]", "[]", "[]", "[]" },
    { "[1,2,3]", "[1 2 3]", "[1,2,3]", "[\n  1,\n  2,\n  3\n]" },
    { "[1,\"x\",null,2.5,true]", "[1 x <nil> 2.5 true]", "[1,\"x\",null,2.5,true]",
      "[\n  1,\n  \"x\",\n  null,\n  2.5,\n  true\n]" },
    { "[[1,2],[3,[4,5]]]", "[[1 2] [3 [4 5]]]", "[[1,2],[3,[4,5]]]",
      "[\n  [\n    1,\n    2\n  ],\n  [\n    3,\n    [\n      4,\n      5\n    ]\n  ]\n]" },
    { "[{}]", "[map[]]", "[{}]", "[\n  {}\n]" },
    { "[[]]", "[[]]", "[[]]", "[\n  []\n]" },
    { "{}", "map[]", "{}", "{}" },
    { "{\"a\":1}", "map[a:1]", "{\"a\":1}", "{\n  \"a\": 1\n}" },
    { "{\"b\":1,\"a\":2}", "map[a:2 b:1]", "{\"a\":2,\"b\":1}", "{\n  \"a\": 2,\n  \"b\": 1\n}" },
    { "{\"z\":[1,2],\"a\":{\"y\":null,\"x\":\"s\"}}", "map[a:map[x:s y:<nil>] z:[1 2]]",
      "{\"a\":{\"x\":\"s\",\"y\":null},\"z\":[1,2]}",
      "{\n  \"a\": {\n    \"x\": \"s\",\n    \"y\": null\n  },\n  \"z\": [\n    1,\n    2\n  "
      "]\n}" },
    { "{\"k\":\"v\",\"n\":1.5,\"b\":false}", "map[b:false k:v n:1.5]",
      "{\"b\":false,\"k\":\"v\",\"n\":1.5}",
      "{\n  \"b\": false,\n  \"k\": \"v\",\n  \"n\": 1.5\n}" },
    { "{\"B\":1,\"a\":2,\"_\":3,\"1\":4}", "map[1:4 B:1 _:3 a:2]",
      "{\"1\":4,\"B\":1,\"_\":3,\"a\":2}",
      "{\n  \"1\": 4,\n  \"B\": 1,\n  \"_\": 3,\n  \"a\": 2\n}" },
    { "{\"nested\":{\"deep\":{\"deeper\":[1,{\"x\":1}]}}}",
      "map[nested:map[deep:map[deeper:[1 map[x:1]]]]]",
      "{\"nested\":{\"deep\":{\"deeper\":[1,{\"x\":1}]}}}",
      "{\n  \"nested\": {\n    \"deep\": {\n      \"deeper\": [\n        1,\n        {\n          "
      "\"x\": 1\n        }\n      ]\n    }\n  }\n}" },
    { "{\"\":\"\"}", "map[:]", "{\"\":\"\"}", "{\n  \"\": \"\"\n}" },
    { "{\"a b\":\"c d\"}", "map[a b:c d]", "{\"a b\":\"c d\"}", "{\n  \"a b\": \"c d\"\n}" },
    { "[1e21,1e-7,100]", "[1e+21 1e-07 100]", "[1e+21,1e-7,100]",
      "[\n  1e+21,\n  1e-7,\n  100\n]" },
    { "{\"html\":\"<script>\"}", "map[html:<script>]", "{\"html\":\"\\u003cscript\\u003e\"}",
      "{\n  \"html\": \"\\u003cscript\\u003e\"\n}" },
    { "[\"a\",\"b c\"]", "[a b c]", "[\"a\",\"b c\"]", "[\n  \"a\",\n  \"b c\"\n]" },
    { "[0.5,-0.5,1.5e300]", "[0.5 -0.5 1.5e+300]", "[0.5,-0.5,1.5e+300]",
      "[\n  0.5,\n  -0.5,\n  1.5e+300\n]" },
    { "{\"list\":[],\"map\":{}}", "map[list:[] map:map[]]", "{\"list\":[],\"map\":{}}",
      "{\n  \"list\": [],\n  \"map\": {}\n}" },
    { "[null,null]", "[<nil> <nil>]", "[null,null]", "[\n  null,\n  null\n]" },
};

static void
test_format_table(void **state)
{
    (void)state;
    struct expr_vm *vm = new_vm();
    for (size_t i = 0; i < ARRAY_SIZE(fmt_cases); i++) {
        const struct fmt_case *c = &fmt_cases[i];
        struct expr_value v = J(vm, c->json);
        struct str a = STR_INIT, b = STR_INIT, d = STR_INIT;
        assert_int_equal(expr_value_format_go(vm, &v, &a), 0);
        assert_int_equal(expr_value_to_json(vm, &v, false, &b), 0);
        assert_int_equal(expr_value_to_json(vm, &v, true, &d), 0);
        check_str("%v", c->json, &a, c->go_v);
        check_str("json", c->json, &b, c->compact);
        check_str("json indent", c->json, &d, c->indent);
        str_free(&a);
        str_free(&b);
        str_free(&d);
    }
    expr_vm_free(vm);
}

struct float_case {
    double f;
    const char *go_v;
    const char *json;
};

static const struct float_case float_cases[] = {
    { 0.0, "0", "0" },
    { 1.0, "1", "1" },
    { -1.0, "-1", "-1" },
    { 0.1, "0.1", "0.1" },
    { 0.2, "0.2", "0.2" },
    { 0.30000000000000004, "0.30000000000000004", "0.30000000000000004" },
    { 0.3333333333333333, "0.3333333333333333", "0.3333333333333333" },
    { 0.6666666666666666, "0.6666666666666666", "0.6666666666666666" },
    { 100.0, "100", "100" },
    { 100000.0, "100000", "100000" },
    { 1e+06, "1e+06", "1000000" },
    { 1.5e+06, "1.5e+06", "1500000" },
    { 1e+15, "1e+15", "1000000000000000" },
    { 1e+16, "1e+16", "10000000000000000" },
    { 1e+20, "1e+20", "100000000000000000000" },
    { 1e+21, "1e+21", "1e+21" },
    { 1.25e+21, "1.25e+21", "1.25e+21" },
    { 0.0001, "0.0001", "0.0001" },
    { 1e-05, "1e-05", "0.00001" },
    { 1.5e-05, "1.5e-05", "0.000015" },
    { 1e-06, "1e-06", "0.000001" },
    { 1e-07, "1e-07", "1e-7" },
    { 123.456, "123.456", "123.456" },
    { 1e+100, "1e+100", "1e+100" },
    { 1e-100, "1e-100", "1e-100" },
    { 1.7976931348623157e+308, "1.7976931348623157e+308", "1.7976931348623157e+308" },
    { 5e-324, "5e-324", "5e-324" },
    { 3.141592653589793, "3.141592653589793", "3.141592653589793" },
    { 2.718281828459045, "2.718281828459045", "2.718281828459045" },
    { 4.35, "4.35", "4.35" },
    { 2.675, "2.675", "2.675" },
    { 1.234567e+06, "1.234567e+06", "1234567" },
    { 999999.0, "999999", "999999" },
    { 9.999999e+06, "9.999999e+06", "9999999" },
    { 0.000123, "0.000123", "0.000123" },
    { -42.5, "-42.5", "-42.5" },
    { 5e-324, "5e-324", "5e-324" },
    { 2.2250738585072014e-308, "2.2250738585072014e-308", "2.2250738585072014e-308" },
    { -0.0, "-0", "-0" },
    { 9.87654321123e+08, "9.87654321123e+08", "987654321.123" },
    { 9.007199254740992e+15, "9.007199254740992e+15", "9007199254740992" },
    { 9.007199254740994e+15, "9.007199254740994e+15", "9007199254740994" },
    { 33.3333, "33.3333", "33.3333" },
    { 7e+22, "7e+22", "7e+22" },
    { 1e+23, "1e+23", "1e+23" },
};

static void
test_float_table(void **state)
{
    (void)state;
    struct expr_vm *vm = new_vm();
    for (size_t i = 0; i < ARRAY_SIZE(float_cases); i++) {
        const struct float_case *c = &float_cases[i];
        char buf[64], in[64];
        snprintf(in, sizeof(in), "%.17g", c->f);
        size_t n = expr_format_float(c->f, buf, sizeof(buf));
        struct str g = { .buf = buf, .len = n };
        check_str("expr_format_float", in, &g, c->go_v);
        assert_int_equal(n, strlen(c->go_v));
        struct expr_value v = expr_float(c->f);
        struct str a = STR_INIT, j = STR_INIT;
        assert_int_equal(expr_value_format_go(vm, &v, &a), 0);
        assert_int_equal(expr_value_to_json(vm, &v, false, &j), 0);
        check_str("%v", in, &a, c->go_v);
        check_str("json", in, &j, c->json);
        str_free(&a);
        str_free(&j);
    }
    /* Specials: fmt prints them, encoding/json refuses them. */
    char buf[16];
    expr_format_float(NAN, buf, sizeof(buf));
    assert_string_equal(buf, "NaN");
    expr_format_float(INFINITY, buf, sizeof(buf));
    assert_string_equal(buf, "+Inf");
    expr_format_float(-INFINITY, buf, sizeof(buf));
    assert_string_equal(buf, "-Inf");
    /* Truncation keeps a NUL and reports the full length, like snprintf. */
    assert_int_equal(expr_format_float(123.456, buf, 4), 7);
    assert_string_equal(buf, "123");
    struct expr_value nan = expr_float(NAN);
    struct str j = STR_INIT;
    assert_int_equal(expr_value_to_json(vm, &nan, false, &j), -EINVAL);
    assert_string_equal(vm->error, "json: unsupported value: NaN");
    str_free(&j);
    expr_vm_free(vm);
}

static void
test_format_go_types(void **state)
{
    (void)state;
    struct expr_vm *vm = new_vm();
    struct gotime t1 = gotime_from_fields(2024, 1, 2, 3, 4, 5, 600, 0);
    struct gotime t2 = gotime_from_fields(2023, 8, 14, 23, 59, 59, 0, 7200);
    t2.offset_s = 7200;
    struct gotime t3 = gotime_from_fields(1999, 12, 31, 0, 0, 0, 123000000, -(5 * 3600 + 30 * 60));
    t3.offset_s = -(5 * 3600 + 30 * 60);
    struct expr_array *arr = expr_vm_array(vm, 3);
    arr->items[0] = expr_time(t1);
    arr->items[1] = expr_duration(INT64_C(3600000000000));
    arr->items[2] = expr_weekday_value(0);
    arr->len = 3;
    struct expr_map *m = expr_vm_map(vm, 2);
    expr_map_set(vm, m, "t", 1, expr_time(t2));
    expr_map_set(vm, m, "d", 1, expr_duration(INT64_C(60000000000)));
    const struct {
        struct expr_value v;
        const char *go_v, *json;
    } cases[] = {
        { expr_time(t1), "2024-01-02 03:04:05.0000006 +0000 UTC",
          "\"2024-01-02T03:04:05.0000006Z\"" },
        { expr_time(t2), "2023-08-14 23:59:59 +0200 +0200", "\"2023-08-14T23:59:59+02:00\"" },
        { expr_time(t3), "1999-12-31 00:00:00.123 -0530 -0530",
          "\"1999-12-31T00:00:00.123-05:30\"" },
        { expr_duration(0), "0s", "0" },
        { expr_duration(1500000000), "1.5s", "1500000000" },
        { expr_duration(INT64_C(3600000000000)), "1h0m0s", "3600000000000" },
        { expr_duration(INT64_C(-90000000000)), "-1m30s", "-90000000000" },
        { expr_duration(1), "1ns", "1" },
        { expr_duration(1500), "1.5\xc2\xb5s", "1500" },
        { expr_weekday_value(3), "Wednesday", "3" },
        { expr_month_value(3), "March", "3" },
        { (struct expr_value){ .kind = EXPR_ARRAY, .u.a = arr },
          "[2024-01-02 03:04:05.0000006 +0000 UTC 1h0m0s Sunday]",
          "[\"2024-01-02T03:04:05.0000006Z\",3600000000000,0]" },
        { (struct expr_value){ .kind = EXPR_MAP, .u.m = m },
          "map[d:1m0s t:2023-08-14 23:59:59 +0200 +0200]",
          "{\"d\":60000000000,\"t\":\"2023-08-14T23:59:59+02:00\"}" },
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct str a = STR_INIT, j = STR_INIT;
        char name[32];
        snprintf(name, sizeof(name), "case %zu", i);
        assert_int_equal(expr_value_format_go(vm, &cases[i].v, &a), 0);
        assert_int_equal(expr_value_to_json(vm, &cases[i].v, false, &j), 0);
        check_str("%v", name, &a, cases[i].go_v);
        check_str("json", name, &j, cases[i].json);
        str_free(&a);
        str_free(&j);
    }
    expr_vm_free(vm);
}

/* Go >= 1.22 writes \b and \f (Go 1.19, used to check the rest, wrote \u0008 and \u000c). */
static void
test_json_escapes(void **state)
{
    (void)state;
    struct expr_vm *vm = new_vm();
    const struct {
        const char *in;
        size_t len;
        const char *want;
    } cases[] = {
        { "\b\f", 2, "\"\\b\\f\"" },
        { "a\0b", 3, "\"a\\u0000b\"" },
        { "\x7f", 1, "\"\x7f\"" },
        { "bad\xff utf8", 9, "\"bad\\ufffd utf8\"" },
        { "\xe2\x82", 2, "\"\\ufffd\\ufffd\"" },
        { "\xed\xa0\x80", 3, "\"\\ufffd\\ufffd\\ufffd\"" }, /* a surrogate is invalid UTF-8 */
        { "'", 1, "\"'\"" },
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct expr_value v = expr_strv(cases[i].in, cases[i].len);
        struct str j = STR_INIT;
        assert_int_equal(expr_value_to_json(vm, &v, false, &j), 0);
        check_str("json", cases[i].want, &j, cases[i].want);
        str_free(&j);
    }
    expr_vm_free(vm);
}

static void
test_from_json(void **state)
{
    (void)state;
    struct expr_vm *vm = new_vm();
    struct expr_value v;
    /* fromJSON decodes into interface{}: every number is a float64. */
    assert_int_equal(expr_value_from_json(vm, "[1, 2.5, -3]", 12, &v), 0);
    assert_int_equal(v.kind, EXPR_ARRAY);
    assert_int_equal(v.u.a->len, 3);
    assert_int_equal(v.u.a->items[0].kind, EXPR_FLOAT);
    assert_true(v.u.a->items[0].u.f == 1.0);
    assert_true(v.u.a->items[2].u.f == -3.0);
    /* The _ex form keeps ints (JSON env files), and big ints fall back to floats. */
    assert_int_equal(expr_value_from_json_ex(vm, "7", 1, true, &v), 0);
    assert_int_equal(v.kind, EXPR_INT);
    assert_int_equal(v.u.i, 7);
    assert_int_equal(expr_value_from_json_ex(vm, "123456789012345678901234", 24, true, &v), 0);
    assert_int_equal(v.kind, EXPR_FLOAT);
    /* Object keys keep the order of the text. */
    const char *obj = "{\"b\": 1, \"a\": {\"z\": null, \"y\": \"s\"}, \"c\": true}";
    assert_int_equal(expr_value_from_json(vm, obj, strlen(obj), &v), 0);
    assert_int_equal(v.kind, EXPR_MAP);
    assert_int_equal(v.u.m->len, 3);
    assert_string_equal(v.u.m->entries[0].key, "b");
    assert_string_equal(v.u.m->entries[1].key, "a");
    assert_string_equal(v.u.m->entries[2].key, "c");
    const struct expr_value *a = expr_map_get(v.u.m, "a", 1);
    assert_non_null(a);
    assert_int_equal(a->kind, EXPR_MAP);
    const struct expr_value *y = expr_map_get(a->u.m, "y", 1);
    assert_non_null(y);
    assert_int_equal(y->kind, EXPR_STRING);
    assert_memory_equal(y->u.s.ptr, "s", 1);
    /* Scalars at the top level, escapes, embedded NUL. */
    assert_int_equal(expr_value_from_json(vm, "\"a\\u0000b\\u00e9\"", 16, &v), 0);
    assert_int_equal(v.kind, EXPR_STRING);
    assert_int_equal(v.u.s.len, 5);
    assert_memory_equal(v.u.s.ptr, "a\0b\xc3\xa9", 5);
    assert_int_equal(expr_value_from_json(vm, " null ", 6, &v), 0);
    assert_int_equal(v.kind, EXPR_NIL);
    /* Errors use encoding/json's words where we know them. */
    const struct {
        const char *in;
        const char *err;
    } bad[] = {
        { "", "unexpected end of JSON input" },
        { "   ", "unexpected end of JSON input" },
        { "[1, 2", "unexpected end of JSON input" },
        { "{\"a\":", "unexpected end of JSON input" },
        { "xyz", "invalid character 'x' looking for beginning of value" },
    };
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        vm->has_error = false;
        assert_int_equal(expr_value_from_json(vm, bad[i].in, strlen(bad[i].in), &v), -1);
        if (strcmp(vm->error, bad[i].err) != 0) {
            print_error("fromJSON(%s): got [%s] want [%s]\n", bad[i].in, vm->error, bad[i].err);
            fail();
        }
    }
    vm->has_error = false;
    assert_int_equal(expr_value_from_json(vm, "[1] 2", 5, &v), -1);
    assert_true(strstr(vm->error, "invalid character") != NULL);
    expr_vm_free(vm);
}

struct eq_case {
    const char *a, *b; /* JSON with ints kept */
    bool want;
};

static const struct eq_case eq_cases[] = {
    { "1", "1", true },
    { "1", "2", false },
    { "1", "1.0", true }, /* int == float compares numerically */
    { "1.5", "1.5", true },
    { "2", "2.5", false },
    { "\"a\"", "\"a\"", true },
    { "\"a\"", "\"A\"", false },
    { "\"1\"", "1", false },
    { "null", "null", true },
    { "null", "0", false },
    { "null", "false", false },
    { "true", "true", true },
    { "true", "false", false },
    { "[1,2]", "[1,2]", true },
    { "[1,2]", "[1.0,2.0]", true }, /* arrays compare element by element with == */
    { "[1,2]", "[2,1]", false },
    { "[1,2]", "[1,2,3]", false },
    { "[]", "[]", true },
    { "[]", "null", false },
    { "[[1,[2]]]", "[[1,[2]]]", true },
    { "{\"a\":1,\"b\":2}", "{\"b\":2,\"a\":1}", true },
    { "{\"a\":1}", "{\"a\":1.0}", false }, /* maps fall back to reflect.DeepEqual: 1 != 1.0 */
    { "{\"a\":1}", "{\"a\":1,\"b\":1}", false },
    { "{\"a\":[1]}", "{\"a\":[1]}", true },
    { "{}", "{}", true },
    { "{}", "[]", false },
    { "\"\"", "\"\"", true },
};

static void
test_equal(void **state)
{
    (void)state;
    struct expr_vm *vm = new_vm();
    for (size_t i = 0; i < ARRAY_SIZE(eq_cases); i++) {
        struct expr_value a = J(vm, eq_cases[i].a), b = J(vm, eq_cases[i].b);
        bool ab = expr_value_equal(&a, &b), ba = expr_value_equal(&b, &a);
        if (ab != eq_cases[i].want || ba != eq_cases[i].want) {
            print_error("%s == %s: got %d/%d want %d\n", eq_cases[i].a, eq_cases[i].b, ab, ba,
                        eq_cases[i].want);
            fail();
        }
    }
    /* Types without a JSON form. */
    struct gotime t = gotime_from_fields(2024, 5, 6, 7, 8, 9, 0, 0);
    struct gotime t_other_zone = t;
    t_other_zone.offset_s = 3600;
    struct expr_value x, y;
    x = expr_time(t), y = expr_time(t_other_zone);
    assert_true(expr_value_equal(&x, &y)); /* Time.Equal: same instant */
    y = expr_time((struct gotime){ t.unix_ns + 1, 0 });
    assert_false(expr_value_equal(&x, &y));
    x = expr_duration(5), y = expr_duration(5);
    assert_true(expr_value_equal(&x, &y));
    y = expr_int(5);
    assert_false(expr_value_equal(&x, &y)); /* Duration(5) != 5 */
    x = expr_weekday_value(2), y = expr_weekday_value(2);
    assert_true(expr_value_equal(&x, &y));
    y = expr_int(2);
    assert_false(expr_value_equal(&x, &y));
    x = expr_float(NAN);
    assert_false(expr_value_equal(&x, &x));
    /* Arrays holding times are compared with Time.Equal inside too. */
    struct expr_array *a1 = expr_vm_array(vm, 1), *a2 = expr_vm_array(vm, 1);
    expr_array_push(vm, a1, expr_time(t));
    expr_array_push(vm, a2, expr_time(t_other_zone));
    x = (struct expr_value){ .kind = EXPR_ARRAY, .u.a = a1 };
    y = (struct expr_value){ .kind = EXPR_ARRAY, .u.a = a2 };
    assert_true(expr_value_equal(&x, &y));
    expr_vm_free(vm);
}

static void
test_misc(void **state)
{
    (void)state;
    struct expr_vm *vm = new_vm();
    /* truthy: only true is true */
    struct expr_value v = expr_bool(true);
    assert_true(expr_value_truthy(&v));
    v = expr_bool(false);
    assert_false(expr_value_truthy(&v));
    v = expr_int(1);
    assert_false(expr_value_truthy(&v));
    v = expr_strv("true", 4);
    assert_false(expr_value_truthy(&v));
    /* len */
    v = expr_strv("h\xc3\xa9", 3);
    assert_int_equal(expr_value_len(&v), 3); /* bytes here; len() the builtin counts runes */
    v = J(vm, "[1,2,3]");
    assert_int_equal(expr_value_len(&v), 3);
    v = J(vm, "{\"a\":1}");
    assert_int_equal(expr_value_len(&v), 1);
    v = expr_int(3);
    assert_int_equal(expr_value_len(&v), -1);
    /* at */
    struct expr_value e;
    v = J(vm, "[10,20]");
    assert_int_equal(expr_value_at(vm, &v, 1, &e), 0);
    assert_int_equal(e.u.i, 20);
    assert_int_equal(expr_value_at(vm, &v, 2, &e), -1);
    assert_string_equal(vm->error, "index out of range: 2 (array length is 2)");
    /* names */
    assert_string_equal(expr_kind_name(EXPR_STRING), "string");
    assert_string_equal(expr_kind_name(EXPR_FLOAT), "float64");
    assert_string_equal(expr_kind_name(EXPR_ARRAY), "[]interface {}");
    assert_string_equal(expr_kind_name(EXPR_MAP), "map[string]interface {}");
    v = expr_nil();
    assert_string_equal(expr_value_type_name(&v), "<nil>");
    v = expr_month_value(1);
    assert_string_equal(expr_value_type_name(&v), "time.Month");
    /* a big map gets its hash index and still finds every key */
    struct expr_map *m = expr_vm_map(vm, 0);
    char keys[100][8];
    for (int i = 0; i < 100; i++) {
        snprintf(keys[i], sizeof(keys[i]), "k%d", i);
        assert_int_equal(expr_map_set(vm, m, keys[i], strlen(keys[i]), expr_int(i)), 0);
    }
    assert_int_equal(expr_map_set(vm, m, "k5", 2, expr_int(500)), 0);
    assert_int_equal(m->len, 100);
    for (int i = 0; i < 100; i++) {
        const struct expr_value *x = expr_map_get(m, keys[i], strlen(keys[i]));
        assert_non_null(x);
        assert_int_equal(x->u.i, i == 5 ? 500 : i);
    }
    assert_null(expr_map_get(m, "k100", 4));
    expr_vm_free(vm);
}

static void
test_utf8(void **state)
{
    (void)state;
    const struct {
        const char *s;
        size_t len;
        int32_t rune;
        size_t size;
    } cases[] = {
        { "a", 1, 'a', 1 },
        { "\xc3\xa9", 2, 0xE9, 2 },
        { "\xe2\x82\xac", 3, 0x20AC, 3 },
        { "\xf0\x9f\x98\x80", 4, 0x1F600, 4 },
        { "\xff", 1, 0xFFFD, 1 },
        { "\xc3", 1, 0xFFFD, 1 },             /* truncated */
        { "\xc0\x80", 2, 0xFFFD, 1 },         /* overlong */
        { "\xe0\x80\x80", 3, 0xFFFD, 1 },     /* overlong */
        { "\xed\xa0\x80", 3, 0xFFFD, 1 },     /* surrogate */
        { "\xf4\x90\x80\x80", 4, 0xFFFD, 1 }, /* > U+10FFFF */
        { "\xef\xbf\xbd", 3, 0xFFFD, 3 },     /* a real U+FFFD */
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        size_t size;
        int32_t r = expr_utf8_decode(cases[i].s, cases[i].len, &size);
        if (r != cases[i].rune || size != cases[i].size) {
            print_error("utf8 case %zu: got %x/%zu\n", i, (unsigned)r, size);
            fail();
        }
    }
    char buf[4];
    assert_int_equal(expr_utf8_encode(0x20AC, buf), 3);
    assert_memory_equal(buf, "\xe2\x82\xac", 3);
    assert_int_equal(expr_utf8_encode(0xD800, buf), 3);
    assert_memory_equal(buf, "\xef\xbf\xbd", 3);
}

/* A host map class (like evt.Meta) and a host struct class, for materialize and printing. */
struct kv {
    const char *k[3];
    const char *v[3];
    size_t n;
};

static size_t
kv_len(const void *obj)
{
    return ((const struct kv *)obj)->n;
}

static int
kv_at(const void *obj, struct expr_vm *vm, size_t i, struct expr_value *ret)
{
    const struct kv *kv = obj;
    *ret = expr_strv(kv->k[i], strlen(kv->k[i]));
    return 0;
}

static int
kv_index(const void *obj, struct expr_vm *vm, const struct expr_value *key, struct expr_value *ret)
{
    const struct kv *kv = obj;
    *ret = expr_strv("", 0);
    for (size_t i = 0; i < kv->n; i++)
        if (strlen(kv->k[i]) == key->u.s.len && memcmp(kv->k[i], key->u.s.ptr, key->u.s.len) == 0)
            *ret = expr_strv(kv->v[i], strlen(kv->v[i]));
    return 0;
}

static const struct expr_class kv_class = {
    .name = "map[string]string",
    .is_map = true,
    .elem_type = EXPR_T(EXPR_STRING),
    .index = kv_index,
    .len = kv_len,
    .at = kv_at,
};

struct host {
    int64_t count;
    struct kv meta;
};

static int
host_count(const void *obj, struct expr_vm *vm, struct expr_value *ret)
{
    *ret = expr_int(((const struct host *)obj)->count);
    return 0;
}

static int
host_meta(const void *obj, struct expr_vm *vm, struct expr_value *ret)
{
    *ret = expr_object(&kv_class, &((const struct host *)obj)->meta);
    return 0;
}

static const struct expr_field host_fields[] = {
    { "Count", EXPR_T(EXPR_INT), host_count },
    { "Meta", EXPR_T_OBJ(&kv_class), host_meta },
};

static const struct expr_class host_class = {
    .name = "Host",
    .fields = host_fields,
    .nfields = ARRAY_SIZE(host_fields),
};

static void
test_materialize(void **state)
{
    (void)state;
    struct expr_vm *vm = new_vm();
    struct host h = { .count = 7,
                      .meta = { { "source_ip", "log_type" }, { "1.2.3.4", "http" }, 2 } };
    struct expr_value obj = expr_object(&host_class, &h), plain;
    assert_int_equal(expr_value_materialize(vm, &obj, &plain), 0);
    assert_int_equal(plain.kind, EXPR_MAP);
    const struct expr_value *meta = expr_map_get(plain.u.m, "Meta", 4);
    assert_non_null(meta);
    assert_int_equal(meta->kind, EXPR_MAP);
    const struct expr_value *ip = expr_map_get(meta->u.m, "source_ip", 9);
    assert_non_null(ip);
    assert_memory_equal(ip->u.s.ptr, "1.2.3.4", 7);

    struct str s = STR_INIT;
    struct expr_value m = expr_object(&kv_class, &h.meta);
    assert_int_equal(expr_value_format_go(vm, &m, &s), 0);
    assert_string_equal(s.buf, "map[log_type:http source_ip:1.2.3.4]");
    str_clear(&s);
    assert_int_equal(expr_value_to_json(vm, &m, false, &s), 0);
    assert_string_equal(s.buf, "{\"log_type\":\"http\",\"source_ip\":\"1.2.3.4\"}");
    str_clear(&s);
    /* a struct prints its fields in order, %v without names, JSON with them */
    assert_int_equal(expr_value_format_go(vm, &obj, &s), 0);
    assert_string_equal(s.buf, "{7 map[log_type:http source_ip:1.2.3.4]}");
    str_clear(&s);
    assert_int_equal(expr_value_to_json(vm, &obj, true, &s), 0);
    assert_string_equal(s.buf, "{\n  \"Count\": 7,\n  \"Meta\": {\n    \"log_type\": \"http\",\n"
                               "    \"source_ip\": \"1.2.3.4\"\n  }\n}");
    str_free(&s);
    assert_int_equal(expr_value_len(&m), 2);
    expr_vm_free(vm);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format_table),
        cmocka_unit_test(test_float_table),
        cmocka_unit_test(test_format_go_types),
        cmocka_unit_test(test_json_escapes),
        cmocka_unit_test(test_from_json),
        cmocka_unit_test(test_equal),
        cmocka_unit_test(test_misc),
        cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_materialize),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

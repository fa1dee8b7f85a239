/*
 * test_helpers_json.c - CrowdSec's JSON and key=value helpers (helpers_json.c).
 *
 * JsonExtract answers were produced by buger/jsonparser v1.2.0 itself (the
 * version CrowdSec pins) through CrowdSec's path splitting; the ParseKV and
 * ParseKVLax answers by CrowdSec's own code and regexes under Go 1.19. The
 * TestJsonExtract*, TestToJson, TestUnmarshalJSON, TestParseKv and
 * TestParseKvLax tables of CrowdSec are included as they are.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>

#include "common/gotime.h"
#include "common/str.h"
#include "expr/helpers.h"
#include "expr/internal.h"

#include "helpers_fixture.h"

#define JE(js, path, want)                                                                         \
    {                                                                                              \
        "JsonExtract", 2, { S(js), S(path) }, want                                                 \
    }

static const struct fixture_case cases[] = {
    /* CrowdSec's TestJsonExtract. */
    JE("{\"test\" : \"1234\"}", "test", "\"1234\""),
    JE("{\"test\" : \"1234\"}", "non_existing_field", "\"\""),
    JE("{\"test\" : {\"a\": \"b\"}}", "test.a", "\"b\""),
    /* jsonparser v1.2.0 answers. */
    JE("{\"a\":{\"b\":[{\"c\":1},{\"c\":\"x\\\"y\"}]}}", "a.b[1].c", "\"x\\\"y\""),
    JE("{\"a\":{\"b\":[{\"c\":1},{\"c\":2}]}}", "a.b[0]", "\"{\"c\":1}\""),
    JE("{\"a\":{\"b\":[{\"c\":1},{\"c\":2}]}}", "a.b", "\"[{\"c\":1},{\"c\":2}]\""),
    JE("{\"a\":{\"b\":[{\"c\":1},{\"c\":2}]}}", "a.b[5]", "\"\""),
    JE("[1,\"two\",{\"x\":3}]", "[1]", "\"two\""),
    JE("[1,\"two\",{\"x\":3}]", "[2].x", "\"3\""),
    JE("{\"a\":null,\"b\":true,\"c\":-1.5e3}", "a", "\"null\""),
    JE("{\"a\":null,\"b\":true,\"c\":-1.5e3}", "b", "\"true\""),
    JE("{\"a\":null,\"b\":true,\"c\":-1.5e3}", "c", "\"-1.5e3\""),
    JE("{\"a\":\"\\u00e9\\n\"}", "a", "\"\\u00e9\\n\""),
    JE("{\"a\\u0062\":1}", "ab", "\"1\""),
    JE("{\"a\":1} garbage", "a", "\"1\""),
    JE("{\"a\":\"b\", garbage", "a", "\"b\""),
    JE("{\"a\":{\"x\":1},\"b\":2}", "b", "\"2\""),
    JE("{\"a\":{\"b\":1},\"c\":2}", "a.c", "\"\""),
    JE("{\"test: \"11234\"}", "foo", "\"\""),
    JE("not json", "a", "\"\""),
    JE("", "a", "\"\""),
    JE("{\"a\":[1,2]}", "a.", "ERR:index out of range [0] with length 0"),
    JE("{\"a\":[1,2]}", "a[x]", "\"\""),
    JE("{\"a\":[1,2]}", "a[-1]", "\"\""),
    JE("{\"\":5}", "", "\"5\""),
    JE("{\"a\":tru}", "a", "\"\""),
    JE("{\"a\":[ 1 , [2,3] ]}", "a[1][0]", "\"2\""),
    JE("{\"a\":{\"b\":{\"c\":{\"d\":\"deep\"}}}}", "a.b.c.d", "\"deep\""),
    JE("{\"x\":[{\"a\":1}],\"a\":2}", "a", "\"2\""),
    JE("{\"a.b\":1}", "a.b", "\"\""),
    JE("  {\"a\" :  \"sp\"  }  ", "a", "\"sp\""),
    JE("{\"a\":\"x\\\\\"}", "a", "\"x\\\\\""),
    { "JsonExtract", 2, { I(1), S("a") }, "ERR:is int, not string" },
    { "JsonExtract", 2, { S("{}"), NIL }, "ERR:is nil, not string" },
    /* JsonExtractUnescape (CrowdSec's table, then GetString's corners). */
    { "JsonExtractUnescape",
      2,
      { S("{\"log\" : \"\\\"GET /JBNwtQ6i.blt HTTP/1.1\\\" 200 13 \\\"-\\\" \\\"Craftbot\\\"\"}"),
        S("log") },
      "\"\"GET /JBNwtQ6i.blt HTTP/1.1\" 200 13 \"-\" \"Craftbot\"\"" },
    { "JsonExtractUnescape", 2, { S("{\"test\" : \"1234\"}"), S("non_existing_field") }, "\"\"" },
    { "JsonExtractUnescape",
      2,
      { S("{\"a\":\"\\u00e9\\ud83d\\ude00\\t\"}"), S("a") },
      "\"\xc3\xa9\xf0\x9f\x98\x80\t\"" },
    { "JsonExtractUnescape", 2, { S("{\"a\":1}"), S("a") }, "\"\"" },
    { "JsonExtractUnescape", 2, { S("{\"a\":null}"), S("a") }, "\"\"" },
    { "JsonExtractUnescape", 2, { S("{\"a\":\"bad\\q\"}"), S("a") }, "\"\"" },
    { "JsonExtractUnescape", 2, { S("{\"a\":{\"b\":\"c\"}}"), A(S("a"), S("b")) }, "\"c\"" },
    { "JsonExtractUnescape", 3, { S("{\"a\":{\"b\":\"c\"}}"), S("a"), S("b") }, "\"\"" },
    { "JsonExtractUnescape", 2, { S("{\"a\":\"\\ud83d\"}"), S("a") }, "\"\"" },
    { "JsonExtractUnescape", 1, { S("{}") }, "ERR:index out of range [1]" },
    /* JsonExtractLib: the key list must be a list. */
    { "JsonExtractLib", 2, { S("{\"a\":{\"b\":\"c\\n\"}}"), A(S("a"), S("b")) }, "\"c\\n\"" },
    { "JsonExtractLib", 2, { S("{\"a\":{\"b\":[1,2]}}"), A(S("a"), S("b")) }, "\"[1,2]\"" },
    { "JsonExtractLib", 2, { S("{\"a\":1}"), A(S("b")) }, "\"\"" },
    { "JsonExtractLib", 2, { S("[10,20]"), A(S("[1]")) }, "\"20\"" },
    { "JsonExtractLib", 2, { S("{\"a\":1}"), S("a") }, "ERR:is string, not []string" },
    { "JsonExtractLib", 2, { S("{\"a\":1}"), A(I(1)) }, "ERR:not []string" },
    /* JsonExtractSlice (CrowdSec's table first). */
    { "JsonExtractSlice", 2, { S("{\"test\" : \"1234\"}"), S("test") }, "nil" },
    { "JsonExtractSlice", 2, { S("{\"test\" : [\"1234\"]}"), S("test") }, "[\"1234\"]" },
    { "JsonExtractSlice",
      2,
      { S("{\"test\": {\"foo\": [{\"a\":\"b\"}]}}"), S("test.foo") },
      "[{a: \"b\"}]" },
    { "JsonExtractSlice", 2, { S("{\"test: \"11234\"}"), S("foo") }, "nil" },
    { "JsonExtractSlice", 2, { S("{\"a\":[1,2.5,null,true]}"), S("a") }, "[1f, 2.5f, nil, true]" },
    { "JsonExtractSlice", 2, { S("{\"a\":[1,]}"), S("a") }, "nil" },
    { "JsonExtractSlice", 2, { S("{\"a\":[]}"), S("a") }, "[]" },
    /* JsonExtractObject (CrowdSec's table first). */
    { "JsonExtractObject", 2, { S("{\"test\" : \"1234\"}"), S("test") }, "nil" },
    { "JsonExtractObject",
      2,
      { S("{\"test\" : {\"1234\": {\"foo\": \"bar\"}}}"), S("test") },
      "{1234: {foo: \"bar\"}}" },
    { "JsonExtractObject",
      2,
      { S("{\"test\": {\"foo\": [{\"a\":\"b\"}]}}"), S("test.foo[0]") },
      "{a: \"b\"}" },
    { "JsonExtractObject", 2, { S("{\"a\":{}}"), S("a") }, "{}" },
    { "JsonExtractObject", 2, { S("{\"a\":{\"x\":1,}}"), S("a") }, "nil" },
    { "JsonExtractObject", 2, { S("{\"a\":[1]}"), S("a") }, "nil" },
    { "JsonExtractObject", 2, { S("{}"), S("missing") }, "nil" },
    /* ToJsonString: encoding/json, compact. */
    { "ToJsonString", 1, { I(42) }, "\"42\"" },
    { "ToJsonString", 1, { A(S("foo"), S("bar")) }, "\"[\"foo\",\"bar\"]\"" },
    { "ToJsonString",
      1,
      { { .kind = EXPR_MAP,
          .u.m = &(struct expr_map){ .len = 1,
                                     .cap = 1,
                                     .entries =
                                         (struct expr_map_entry[]){ { "foo", 3, S("bar") } } } } },
      "\"{\"foo\":\"bar\"}\"" },
    { "ToJsonString", 1, { NIL }, "\"null\"" },
    { "ToJsonString", 1, { S("<&>") }, "\"\"\\u003c\\u0026\\u003e\"\"" },
    { "ToJsonString", 1, { A(F(1.5), NIL, B(true)) }, "\"[1.5,null,true]\"" },
    { "ToJsonString", 1, { F(NAN) }, "\"\"" },
};

/* Helpers that write into a target map: UnmarshalJSON(s, out, "a"), ParseKV(s, out, "a")... */
struct kvcase {
    const char *fn;
    const char *input;
    const char *want; /* out["a"] rendered, "ERR:..." or "UNSET" */
};

static const struct kvcase kvcases[] = {
    /* CrowdSec's TestUnmarshalJSON. */
    { "UnmarshalJSON", "42", "42f" },
    { "UnmarshalJSON", "[\"foo\",\"bar\"]", "[\"foo\", \"bar\"]" },
    { "UnmarshalJSON", "{\"foo\":\"bar\"}", "{foo: \"bar\"}" },
    { "UnmarshalJSON", "{\"Foo\":\"bar\"}", "{Foo: \"bar\"}" },
    { "UnmarshalJSON", "{\"Foo\":\"bar\",\"Bar\":{\"Baz\":\"baz\"},\"Bla\":[\"foo\",\"bar\"]}",
      "{Bar: {Baz: \"baz\"}, Bla: [\"foo\", \"bar\"], Foo: \"bar\"}" },
    { "UnmarshalJSON", "  \"str\" ", "\"str\"" },
    { "UnmarshalJSON", "null", "nil" },
    { "UnmarshalJSON", "{\"a\":1}x", "ERR:" },
    { "UnmarshalJSON", "", "ERR:" },
    /* CrowdSec's TestParseKv. */
    { "ParseKV", "foo=bar", "{foo: \"bar\"}" },
    { "ParseKV", "foo=bar bar=foo", "{bar: \"foo\", foo: \"bar\"}" },
    { "ParseKV", "foo=bar bar=foo foo=foo", "{bar: \"foo\", foo: \"foo\"}" },
    { "ParseKV", "foo=\"bar=toto\"", "{foo: \"bar=toto\"}" },
    { "ParseKV", "foo= bar=toto", "{bar: \"toto\", foo: \"\"}" },
    { "ParseKV", "foo=\"\" bar=toto", "{bar: \"toto\", foo: \"\"}" },
    /* CrowdSec's regex under Go 1.19. */
    { "ParseKV", "a=b=c", "{a: \"b\"}" },
    { "ParseKV", "foo=\"a \\\"b\\\" c\" x=1", "{foo: \"a \\\"b\\\" c\", x: \"1\"}" },
    { "ParseKV", "k=\"unterminated x=1", "{k: \"\"unterminated\", x: \"1\"}" },
    { "ParseKV", "==a=1", "{a: \"1\"}" },
    { "ParseKV", "a=1 a=2", "{a: \"2\"}" },
    { "ParseKV", "x=\"a\\\nb\" y=2", "{x: \"\"a\\\", y: \"2\"}" },
    { "ParseKV", "k=  v", "{k: \"\"}" },
    { "ParseKV", "k1=v1,k2=v2", "{k1: \"v1,k2\"}" },
    { "ParseKV", "\xc3\xa9=1 \xc3\xbc=\"2\"", "{\xc3\xa9: \"1\", \xc3\xbc: \"2\"}" },
    { "ParseKV", "\"q\"=1", "{\"q\": \"1\"}" },
    { "ParseKV", "a= ", "{a: \"\"}" },
    { "ParseKV", "no pairs", "ERR:invalid input format" },
    { "ParseKV", "", "ERR:invalid input format" },
    /* CrowdSec's TestParseKvLax. */
    { "ParseKVLax", "foo=bar", "{foo: \"bar\"}" },
    { "ParseKVLax", "foo=bar bar=foo", "{bar: \"foo\", foo: \"bar\"}" },
    { "ParseKVLax", "foo=\"bar=toto\"", "{foo: \"bar=toto\"}" },
    { "ParseKVLax", "foo= bar=toto", "{bar: \"toto\", foo: \"\"}" },
    { "ParseKVLax", "foo=\"\" bar=toto", "{bar: \"toto\", foo: \"\"}" },
    { "ParseKVLax", "UNIFIhost=Express 7 port=443", "{UNIFIhost: \"Express 7\", port: \"443\"}" },
    { "ParseKVLax", "msg=\"Hello World\" host=My Server name=test",
      "{host: \"My Server\", msg: \"Hello World\", name: \"test\"}" },
    { "ParseKVLax", "msg=\"He said \\\"Hello\\\"\" status=ok",
      "{msg: \"He said \"Hello\"\", status: \"ok\"}" },
    { "ParseKVLax", "path=\"C:\\\\Program Files\\\\App\" status=running",
      "{path: \"C:\\Program Files\\App\", status: \"running\"}" },
    { "ParseKVLax",
      "host=server port=443 debug=", "{debug: \"\", host: \"server\", port: \"443\"}" },
    { "ParseKVLax",
      "src=192.168.1.100 duser=admin msg=User login successful UNIFIhost=Express 7 UNIFIport=443",
      "{UNIFIhost: \"Express 7\", UNIFIport: \"443\", duser: \"admin\", msg: \"User login "
      "successful\", src: \"192.168.1.100\"}" },
    { "ParseKVLax", "RES=0x00 SYN URGP=0 ID=25029 DF PROTO=TCP",
      "{ID: \"25029 DF\", PROTO: \"TCP\", RES: \"0x00 SYN\", URGP: \"0\"}" },
    { "ParseKVLax",
      "error=user_not_found, code_id=e44d80b4-058d-4b45-b2ee-fac3d174e10c, userId=null, "
      "type=LOGIN_ERROR",
      "{code_id: \"e44d80b4-058d-4b45-b2ee-fac3d174e10c,\", error: \"user_not_found,\", type: "
      "\"LOGIN_ERROR\", userId: \"null,\"}" },
    { "ParseKVLax", "msg=\"say \\\"fake=val\\\" here\" real=value",
      "{msg: \"say \"fake=val\" here\", real: \"value\"}" },
    { "ParseKVLax", "path=\"C:\\\\\" next=val", "{next: \"val\", path: \"C:\\\"}" },
    { "ParseKVLax", "no pairs here", "ERR:invalid input format" },
    /* CrowdSec's code under Go 1.19. */
    { "ParseKVLax", "a=b=c", "{a: \"\", b: \"c\"}" },
    { "ParseKVLax", "9a=1 b=2", "{a: \"1\", b: \"2\"}" },
    { "ParseKVLax", "a.b-c=1 _x=2", "{_x: \"2\", a.b-c: \"1\"}" },
    { "ParseKVLax", "k=\"unterminated x=1", "{k: \"unterminated x=1\"}" },
    { "ParseKVLax", "x==y", "{x: \"=y\"}" },
    { "ParseKVLax", "-a=1", "{a: \"1\"}" },
    { "ParseKVLax", "=1", "ERR:invalid input format" },
    { "ParseKVLax", "k=v   ", "{k: \"v\"}" },
    { "ParseKVLax", "a=\"b\"c\" d=e", "{a: \"b\"c\" d=e\"}" },
};

static void
run_kv(void **state)
{
    const struct kvcase *c = *state;
    const struct expr_func *f =
        fixture_find_func(expr_helpers_json, expr_helpers_json_count, c->fn);
    struct expr_vm *vm = expr_vm_new();
    struct str got = STR_INIT;
    struct expr_value ret;
    bool ok;

    if (f == NULL) {
        fail_msg("helper missing");
        abort();
    }
    assert_non_null(vm);
    struct expr_map *out = expr_vm_map(vm, 4);
    if (out == NULL)
        abort();
    struct expr_value args[3] = { expr_strv(c->input, strlen(c->input)),
                                  { .kind = EXPR_MAP, .u.m = out },
                                  expr_strv("a", 1) };
    if (f->call(vm, args, 3, &ret) != 0) {
        str_appendf(&got, "ERR:%s", vm->error);
        ok = strncmp(c->want, "ERR:", 4) == 0 && strstr(vm->error, c->want + 4) != NULL;
    } else {
        const struct expr_value *v = expr_map_get(out, "a", 1);
        if (v == NULL)
            str_append_cstr(&got, "UNSET");
        else
            fixture_render(vm, v, &got);
        ok = ret.kind == EXPR_NIL && strcmp(got.buf, c->want) == 0;
    }
    if (!ok)
        printf("# %s(%s): got %s, want %s\n", c->fn, c->input, got.buf, c->want);
    str_free(&got);
    expr_vm_free(vm);
    assert_true(ok);
}

static const struct expr_func *
must(const char *name)
{
    const struct expr_func *f = fixture_find_func(expr_helpers_json, expr_helpers_json_count, name);
    if (f == NULL)
        abort();
    return f;
}

/* ParseKV merges into an existing target[prefix] and refuses one that is not a string map. */
static void
test_kv_merge(void **state)
{
    const struct expr_func *kv = must("ParseKV");
    const struct expr_func *lax = must("ParseKVLax");
    const struct expr_func *uj = must("UnmarshalJSON");
    struct expr_vm *vm = expr_vm_new();
    if (vm == NULL)
        abort();
    struct expr_value ret;
    struct str got = STR_INIT;
    (void)state;

    struct expr_map *out = expr_vm_map(vm, 4);
    if (out == NULL)
        abort();
    struct expr_value target = { .kind = EXPR_MAP, .u.m = out };
    struct expr_value a1[3] = { expr_strv("x=1", 3), target, expr_strv("kv", 2) };
    struct expr_value a2[3] = { expr_strv("y=2 x=3", 7), target, expr_strv("kv", 2) };
    assert_int_equal(kv->call(vm, a1, 3, &ret), 0);
    assert_int_equal(kv->call(vm, a2, 3, &ret), 0);
    fixture_render(vm, expr_map_get(out, "kv", 2), &got);
    assert_string_equal(got.buf, "{x: \"3\", y: \"2\"}");
    /* A JSON object under the prefix is not a map[string]string. */
    struct expr_value a3[3] = { expr_strv("{\"n\":1}", 7), target, expr_strv("js", 2) };
    struct expr_value a4[3] = { expr_strv("x=1", 3), target, expr_strv("js", 2) };
    assert_int_equal(uj->call(vm, a3, 3, &ret), 0);
    assert_int_not_equal(kv->call(vm, a4, 3, &ret), 0);
    assert_non_null(strstr(vm->error, "target is not a map[string]string"));
    assert_int_not_equal(lax->call(vm, a4, 3, &ret), 0);
    /* ParseKVLax creates the prefix map before failing on a line without pairs. */
    struct expr_value a5[3] = { expr_strv("nothing", 7), target, expr_strv("lx", 2) };
    assert_int_not_equal(lax->call(vm, a5, 3, &ret), 0);
    assert_non_null(expr_map_get(out, "lx", 2));
    struct expr_value a6[3] = { expr_strv("nothing", 7), target, expr_strv("st", 2) };
    assert_int_not_equal(kv->call(vm, a6, 3, &ret), 0);
    assert_null(expr_map_get(out, "st", 2));
    /* The target must be a map. */
    struct expr_value a7[3] = { expr_strv("x=1", 3), expr_strv("m", 1), expr_strv("a", 1) };
    assert_int_not_equal(kv->call(vm, a7, 3, &ret), 0);
    assert_int_not_equal(uj->call(vm, a7, 3, &ret), 0);
    str_free(&got);
    expr_vm_free(vm);
}

/* A host map target is written through its class's set callback. */
struct host_map {
    char key[16];
    struct str json;
    int sets;
};

static int
host_set(const void *obj, struct expr_vm *vm, const struct expr_value *key,
         const struct expr_value *val)
{
    struct host_map *h = (struct host_map *)obj;

    snprintf(h->key, sizeof(h->key), "%.*s", (int)key->u.s.len, key->u.s.ptr);
    str_clear(&h->json);
    h->sets++;
    return expr_value_to_json(vm, val, false, &h->json);
}

static bool
host_has(const void *obj, const struct expr_value *key)
{
    (void)obj;
    (void)key;
    return false;
}

static void
test_host_target(void **state)
{
    static const struct expr_class cls = {
        .name = "map[string]interface {}", .is_map = true, .has = host_has, .set = host_set
    };
    struct host_map h = { .json = STR_INIT };
    const struct expr_func *uj = must("UnmarshalJSON");
    const struct expr_func *kv = must("ParseKV");
    struct expr_vm *vm = expr_vm_new();
    if (vm == NULL)
        abort();
    struct expr_value ret;
    (void)state;

    struct expr_value a1[3] = { expr_strv("{\"b\":[1,\"x\"]}", 13), expr_object(&cls, &h),
                                expr_strv("j", 1) };
    assert_int_equal(uj->call(vm, a1, 3, &ret), 0);
    assert_string_equal(h.key, "j");
    assert_string_equal(h.json.buf, "{\"b\":[1,\"x\"]}");
    struct expr_value a2[3] = { expr_strv("k=v", 3), expr_object(&cls, &h), expr_strv("kv", 2) };
    assert_int_equal(kv->call(vm, a2, 3, &ret), 0);
    assert_string_equal(h.key, "kv");
    assert_string_equal(h.json.buf, "{\"k\":\"v\"}");
    assert_int_equal(h.sets, 2);
    str_free(&h.json);
    expr_vm_free(vm);
}

static void
test_registry(void **state)
{
    static const struct fixture_arity want[] = {
        { "JsonExtract", 2, 2 },       { "JsonExtractUnescape", 1, -1 },
        { "JsonExtractLib", 1, -1 },   { "JsonExtractSlice", 2, 2 },
        { "JsonExtractObject", 2, 2 }, { "ToJsonString", 1, 1 },
        { "UnmarshalJSON", 3, 3 },     { "ParseKV", 3, 3 },
        { "ParseKVLax", 3, 3 },
    };
    (void)state;
    fixture_check_registry(expr_helpers_json, expr_helpers_json_count, want, ARRAY_SIZE(want));
}

int
main(void)
{
    size_t nfixed = 3, n = nfixed + ARRAY_SIZE(kvcases);
    struct CMUnitTest *extra = calloc(n, sizeof(*extra));
    char(*names)[96] = calloc(ARRAY_SIZE(kvcases), sizeof(*names));

    if (extra == NULL || names == NULL)
        return 1;
    extra[0] = (struct CMUnitTest)cmocka_unit_test(test_registry);
    extra[1] = (struct CMUnitTest)cmocka_unit_test(test_kv_merge);
    extra[2] = (struct CMUnitTest)cmocka_unit_test(test_host_target);
    for (size_t i = 0; i < ARRAY_SIZE(kvcases); i++) {
        snprintf(names[i], sizeof(names[i]), "%s #%zu", kvcases[i].fn, i);
        extra[nfixed + i] = (struct CMUnitTest){ .name = names[i],
                                                 .test_func = run_kv,
                                                 .initial_state = (void *)&kvcases[i] };
    }
    int rc = fixture_run_all("helpers_json", expr_helpers_json, expr_helpers_json_count, extra, n,
                             cases, ARRAY_SIZE(cases));
    free(extra);
    free(names);
    return rc;
}

/*
 * test_engine.c - what the data-driven cases cannot see: the trace callback
 * (the parser dump hubtest builds from it), the counters, and a whitelist in
 * a postoverflow set marking the overflow.
 */
#include "common/common.h"

#include <setjmp.h>

#include <cmocka.h>

#include "expr/expr.h"
#include "helpers.h"
#include "parser/parser.h"

static struct grok_library *lib;

struct trace_rec {
    char entries[16][96];
    size_t n;
};

static void
record(void *ctx, const char *stage, const char *node, bool success, const struct event *evt)
{
    struct trace_rec *r = ctx;
    if (r->n < ARRAY_SIZE(r->entries))
        snprintf(r->entries[r->n++], sizeof(r->entries[0]), "%s/%s/%d/%.*s", stage, node, success,
                 (int)evt->stage.len, evt->stage.ptr);
}

static const char two_stage_yaml[] =
    "name: first\nfilter: \"evt.Line.Raw == 'a'\"\nstatics:\n  - meta: x\n    value: y\n"
    "---\nname: second\nonsuccess: next_stage\nstatics:\n  - meta: x\n    value: z\n"
    "---\nname: third\nstatics:\n  - meta: never\n    value: z\n";

static void
test_trace(void **state)
{
    struct parser_options opts = { .grok = lib };
    struct parser_error err;
    struct parser_set *ps = parser_set_load_buffer("t.yaml", "s00-raw", two_stage_yaml,
                                                   strlen(two_stage_yaml), &opts, &err);
    assert_non_null(ps);
    struct parser_worker *w = parser_worker_new(ps);
    assert_non_null(w);
    struct trace_rec rec = { .n = 0 };
    struct parser_trace trace = { .ctx = &rec, .node_done = record };
    static const char *const want[] = { "s00-raw/first/0/s00-raw", "s00-raw/second/1/s00-raw" };

    struct event *evt = event_new(EVENT_LOG, EVENT_LIVE, false);
    assert_non_null(evt);
    assert_int_equal(event_set_str(evt, &evt->line.raw, "b", 1), 0);
    assert_int_equal(parser_process(ps, w, evt, &trace), PARSER_PARSED);
    assert_true(evt->process);
    assert_int_equal(rec.n, ARRAY_SIZE(want));
    for (size_t i = 0; i < ARRAY_SIZE(want); i++)
        assert_string_equal(rec.entries[i], want[i]);
    assert_true(strv_eq_cstr(*strmap_get_cstr(&evt->meta, "x"), "z"));
    assert_null(strmap_get_cstr(&evt->meta, "never"));
    event_free(evt);

    struct parser_stats st;
    parser_worker_stats(w, &st);
    assert_int_equal(st.lines, 1);
    assert_int_equal(st.parsed, 1);
    assert_int_equal(st.unparsed, 0);
    parser_worker_free(w);
    parser_set_free(ps);
}

/* A filter that fails at run time is false, and counted. */
static void
test_expr_error_counted(void **state)
{
    static const char yaml[] = "name: e\nfilter: \"int(evt.Line.Raw) > 1\"\nstatics:\n"
                               "  - meta: x\n    value: y\n";
    struct parser_options opts = { .grok = lib };
    struct parser_error err;
    struct parser_set *ps =
        parser_set_load_buffer("e.yaml", "s00-raw", yaml, strlen(yaml), &opts, &err);
    assert_non_null(ps);
    struct parser_worker *w = parser_worker_new(ps);
    struct event *evt = event_new(EVENT_LOG, EVENT_LIVE, false);
    assert_int_equal(event_set_str(evt, &evt->line.raw, "not a number", 12), 0);
    assert_int_equal(parser_process(ps, w, evt, NULL), PARSER_UNPARSED);
    struct parser_stats st;
    parser_worker_stats(w, &st);
    assert_int_equal(st.expr_errors, 1);
    assert_int_equal(st.unparsed, 1);
    event_free(evt);
    parser_worker_free(w);
    parser_set_free(ps);
}

/* Postoverflow: an IP whitelist on an overflow's sources marks Overflow.Whitelisted. */
static void
test_postoverflow_whitelist(void **state)
{
    static const char yaml[] = "name: wl\ndescription: d\nwhitelist:\n  reason: my reason\n"
                               "  cidr:\n    - 10.0.0.0/8\n";
    struct parser_options opts = { .grok = lib, .postoverflow = true };
    struct parser_error err;
    struct parser_set *ps =
        parser_set_load_buffer("wl.yaml", "s01-whitelist", yaml, strlen(yaml), &opts, &err);
    assert_non_null(ps);
    struct parser_worker *w = parser_worker_new(ps);
    static const char *const keys[] = { "192.168.1.1", "10.1.2.3" };
    for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
        struct event *evt = event_new(EVENT_OVFLW, EVENT_LIVE, false);
        assert_non_null(runtime_alert_add_source(&evt->overflow, keys[i]));
        assert_int_equal(parser_process(ps, w, evt, NULL), PARSER_PARSED);
        assert_int_equal(evt->whitelisted, i == 1);
        assert_int_equal(evt->overflow.whitelisted, i == 1);
        assert_true(strv_eq_cstr(evt->whitelist_reason, i == 1 ? "my reason" : ""));
        event_free(evt);
    }
    parser_worker_free(w);
    parser_set_free(ps);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_trace),
        cmocka_unit_test(test_expr_error_counted),
        cmocka_unit_test(test_postoverflow_whitelist),
    };
    lib = ptest_grok_library(false);
    if (lib == NULL)
        return 1;
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    grok_library_free(lib);
    return rc;
}

/*
 * test_model.c - events, alerts, queues and parser dumps: CrowdSec's
 * semantics that live in the model itself (GetMeta on overflows, the queue's
 * L+1 rule, deep clones, the parser dump's shape).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "model/model.h"

static struct alert *
make_alert(const char *scenario, const char *const *kv, size_t nkv)
{
    struct alert *a = alert_new();

    assert_non_null(a);
    assert_int_equal(model_strset(&a->scenario, scenario), 0);
    struct alert_event *e = alert_add_event(a);
    assert_non_null(e);
    for (size_t i = 0; i + 1 < nkv; i += 2)
        assert_int_equal(meta_append(&e->meta, kv[i], kv[i + 1]), 0);
    return a;
}

static void
test_event_get_meta(void **state)
{
    (void)state;
    struct event *log = event_new(EVENT_LOG, EVENT_LIVE, true);
    assert_non_null(log);
    assert_int_equal(event_set_meta(log, "source_ip", "1.2.3.4"), 0);
    assert_string_equal(event_get_meta(log, "source_ip"), "1.2.3.4");
    assert_string_equal(event_get_meta(log, "missing"), "");
    assert_string_equal(event_type_name(log), "log");

    /* An overflow reads the events of APIAlerts: the first non-empty value wins. */
    struct event *ovf = event_new(EVENT_OVFLW, EVENT_TIMEMACHINE, true);
    assert_non_null(ovf);
    const char *kv1[] = { "user", "", "service", "ssh" };
    const char *kv2[] = { "user", "root" };
    struct alert *a1 = make_alert("crowdsecurity/ssh-bf", kv1, 4);
    struct alert *a2 = make_alert("crowdsecurity/ssh-bf", kv2, 2);
    assert_int_equal(runtime_alert_add_api_alert(&ovf->overflow, a1), 0);
    assert_int_equal(runtime_alert_add_api_alert(&ovf->overflow, a2), 0);
    ovf->overflow.alert = a1;
    assert_int_equal(event_set_meta(ovf, "user", "ignored-for-overflows"), 0);
    assert_string_equal(event_get_meta(ovf, "user"), "root");
    assert_string_equal(event_get_meta(ovf, "service"), "ssh");
    assert_string_equal(event_get_meta(ovf, "nope"), "");
    assert_string_equal(event_type_name(ovf), "overflow");

    struct event *appsec = event_new(EVENT_APPSEC, EVENT_LIVE, true);
    assert_string_equal(event_type_name(appsec), "unknown");
    assert_int_equal(event_set_meta(appsec, "k", "v"), 0);
    assert_string_equal(event_get_meta(appsec, "k"), "");

    event_free(log);
    event_free(ovf);
    event_free(appsec);
}

static struct event *
event_with_id(int i)
{
    char buf[16];
    struct event *e = event_new(EVENT_LOG, EVENT_LIVE, true);

    assert_non_null(e);
    snprintf(buf, sizeof(buf), "%d", i);
    assert_int_equal(event_set_meta(e, "id", buf), 0);
    return e;
}

/* Queue.Add drops the oldest while len > L, then appends: it holds at most L+1 events. */
static void
test_queue_add(void **state)
{
    static const struct {
        int64_t l;
        int adds;
        int want_len;
        int want_first;
    } cases[] = {
        { 0, 3, 1, 2 }, { 1, 1, 1, 0 }, { 1, 5, 2, 3 }, { 3, 10, 4, 6 }, { -1, 50, 50, 0 },
    };
    (void)state;
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        struct queue q;
        queue_init(&q, cases[c].l);
        for (int i = 0; i < cases[c].adds; i++)
            assert_int_equal(queue_add(&q, event_with_id(i)), 0);
        if ((int)q.queue.len != cases[c].want_len)
            fail_msg("case %zu (L=%lld): len %zu, want %d", c, (long long)cases[c].l, q.queue.len,
                     cases[c].want_len);
        char want[16];
        snprintf(want, sizeof(want), "%d", cases[c].want_first);
        assert_string_equal(event_get_meta(q.queue.items[0], "id"), want);
        snprintf(want, sizeof(want), "%d", cases[c].adds - 1);
        assert_string_equal(event_get_meta(q.queue.items[q.queue.len - 1], "id"), want);
        queue_clear(&q);
    }
}

static void
test_event_clone(void **state)
{
    (void)state;
    struct event *e = event_new(EVENT_OVFLW, EVENT_TIMEMACHINE, true);
    assert_non_null(e);
    assert_int_equal(event_set_parsed(e, "program", "sshd"), 0);
    assert_int_equal(event_set_enriched(e, "IsoCode", "FR"), 0);
    assert_int_equal(strmap_set_cstr(&e->line.labels, &e->arena, "type", "syslog"), 0);
    assert_int_equal(event_set_str(e, &e->line.raw, "raw line", 8), 0);
    e->unmarshaled = json_pack("{s:{s:i}}", "a", "b", 1);
    e->time = (struct gotime){ .unix_ns = 1700000000LL * 1000000000LL };
    struct source *s = runtime_alert_add_source(&e->overflow, "1.2.3.4");
    assert_non_null(s);
    assert_int_equal(model_strset(&s->scope, "Ip"), 0);
    const char *kv[] = { "k", "v" };
    struct alert *a = make_alert("x/y", kv, 2);
    a->source = calloc(1, sizeof(*a->source));
    assert_int_equal(model_strset(&a->source->value, "1.2.3.4"), 0);
    assert_int_equal(runtime_alert_add_api_alert(&e->overflow, a), 0);
    e->overflow.alert = a;

    struct event *c = event_clone(e);
    assert_non_null(c);
    event_free(e);
    assert_string_equal(strmap_get_cstr(&c->parsed, "program")->ptr, "sshd");
    assert_string_equal(strmap_get_cstr(&c->enriched, "IsoCode")->ptr, "FR");
    assert_string_equal(strmap_get_cstr(&c->line.labels, "type")->ptr, "syslog");
    assert_string_equal(c->line.raw.ptr, "raw line");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(c->unmarshaled, "a"), "b")),
                     1);
    assert_true(c->time.unix_ns == 1700000000LL * 1000000000LL);
    assert_string_equal(runtime_alert_source(&c->overflow, "1.2.3.4")->scope, "Ip");
    assert_ptr_equal(c->overflow.alert, c->overflow.api_alerts[0]);
    assert_string_equal(alert_value(c->overflow.alert), "1.2.3.4");
    assert_string_equal(alert_scope(c->overflow.alert), "");
    assert_string_equal(event_get_meta(c, "k"), "v");
    event_free(c);
}

static void
test_alert_build(void **state)
{
    (void)state;
    struct alert *a = alert_new();
    assert_non_null(a);
    assert_int_equal(meta_append(&a->meta, "user", "[\"root\"]"), 0);
    assert_string_equal(meta_get(&a->meta, "user"), "[\"root\"]");
    assert_string_equal(meta_get(&a->meta, "other"), "");
    struct decision *d = alert_add_decision(a);
    assert_non_null(d);
    assert_int_equal(model_strset(&d->type, "ban"), 0);
    assert_int_equal(alert_add_label(a, "ssh"), 0);
    assert_int_equal(a->ndecisions, 1);
    assert_int_equal(a->nlabels, 1);
    assert_string_equal(alert_scope(a), "");
    alert_free(a);
    alert_free(NULL);
    event_free(NULL);
}

static void
test_parser_results(void **state)
{
    (void)state;
    struct parser_results r = { 0 };
    assert_int_equal(
        parser_results_add(&r, "s00-raw", "crowdsecurity/syslog-logs", 0, event_with_id(0), true),
        0);
    assert_int_equal(
        parser_results_add(&r, "s01-parse", "crowdsecurity/sshd-logs", 0, event_with_id(1), false),
        0);
    assert_int_equal(
        parser_results_add(&r, "s01-parse", "crowdsecurity/sshd-logs", 1, event_with_id(2), true),
        0);
    assert_non_null(parser_results_node(&r, "success", ""));
    assert_int_equal(r.len, 3);
    const struct parser_stage_results *s = parser_results_stage(&r, "s01-parse", 9);
    assert_non_null(s);
    const struct parser_node_results *n = parser_stage_node(s, "crowdsecurity/sshd-logs", 23);
    assert_non_null(n);
    assert_int_equal(n->len, 2);
    assert_false(n->items[0].success);
    assert_true(n->items[1].success);
    assert_string_equal(event_get_meta(n->items[1].evt, "id"), "2");
    assert_null(parser_results_stage(&r, "s02-enrich", 10));
    assert_int_equal(parser_stage_node(parser_results_stage(&r, "success", 7), "", 0)->len, 0);
    parser_results_clear(&r);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_event_get_meta), cmocka_unit_test(test_queue_add),
        cmocka_unit_test(test_event_clone),    cmocka_unit_test(test_alert_build),
        cmocka_unit_test(test_parser_results),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

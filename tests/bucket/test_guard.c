/*
 * test_guard.c - the scenario prefilter (guard.c): which filters get a guard
 * and which groupby/distinct are read directly, and bucket_match with guards
 * against a reference that runs every filter and groupby in the vm, on a grid
 * of events (sshd, nginx, empty, odd values): the same targets in the same
 * order, and the same error at the same scenario. Also that equal tests share
 * a guard, and overflows_only.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "bucket/internal.h"
#include "common/common.h"

/* Filters of Debian's default scenarios, plus a few that must not get a guard. */
static const char scenarios[] =
    "description: d\ntype: leaky\nname: t/ssh-bf\nfilter: \"evt.Meta.log_type == "
    "'ssh_failed-auth'\"\n"
    "groupby: evt.Meta.source_ip\nleakspeed: 10s\ncapacity: 5\n"
    "---\n"
    "description: d\ntype: leaky\nname: t/ssh-enum\nfilter: evt.Meta.log_type == "
    "'ssh_failed-auth'\n"
    "groupby: evt.Meta.source_ip\ndistinct: evt.Meta.target_user\nleakspeed: 10s\ncapacity: 5\n"
    /* writes what later guards read (their values must be read again) */
    "---\n"
    "description: d\ntype: trigger\nname: t/setter\nfilter: \"evt.Meta.source_ip == '7.7.7.7' && "
    "evt.SetMeta('log_type', 'odd') && false\"\ngroupby: evt.Meta.source_ip\n"
    "---\n"
    "description: d\ntype: trigger\nname: t/cve-path\nfilter: "
    "\"Upper(PathUnescape(evt.Meta.http_path)) contains "
    "Upper('@java.lang.Runtime@getRuntime().exec(')\"\ngroupby: evt.Meta.source_ip\n"
    "---\n"
    "description: d\ntype: trigger\nname: t/cve-or\nfilter: \"( Upper(evt.Meta.http_path) contains "
    "Upper('/a/b') "
    "|| Upper(evt.Meta.http_path) contains Upper('/c') ) and evt.Meta.http_status startsWith "
    "('40') and Upper(evt.Meta.http_verb) == 'POST'\"\ngroupby: evt.Meta.source_ip\n"
    "---\n"
    "description: d\ntype: leaky\nname: t/crawl\nfilter: \"evt.Meta.log_type in "
    "['http_access-log', "
    "'http_error-log'] && evt.Parsed.static_ressource == 'false' && evt.Parsed.verb in ['GET', "
    "'HEAD']\"\ngroupby: \"evt.Meta.source_ip + '/' + evt.Parsed.target_fqdn\"\n"
    "distinct: evt.Parsed.file_name\nleakspeed: 1s\ncapacity: 40\n"
    "---\n"
    "description: d\ntype: leaky\nname: t/generic-bf\nfilter: \"evt.Meta.service == 'http' && "
    "evt.Meta.sub_type "
    "== 'auth_fail'\"\ngroupby: evt.Meta.source_ip\nleakspeed: 10s\ncapacity: 5\n"
    "---\n"
    "description: d\ntype: leaky\nname: t/req-limit\nfilter: evt.Meta.sub_type == "
    "'req_limit_exceeded'\n"
    "groupby: evt.Meta.source_ip\nleakspeed: 10s\ncapacity: 5\n"
    /* no guard: the first conjunct can be true on an sshd event */
    "---\n"
    "description: d\ntype: trigger\nname: t/not\nfilter: \"evt.Meta.log_type != 'x'\"\n"
    "groupby: evt.Meta.source_ip\n"
    /* no guard; and its groupby fails on events without a number in Meta.n */
    "---\n"
    "description: d\ntype: trigger\nname: t/atoi\nfilter: \"evt.Meta.log_type in "
    "['ssh_failed-auth', 'odd']\"\n"
    "groupby: \"int(evt.Meta.n) == 1 ? 'x' : 'y'\"\n"
    /* a guard, then a filter that fails at run time when the guard lets it run */
    "---\n"
    "description: d\ntype: trigger\nname: t/late-error\nfilter: \"evt.Meta.log_type == 'odd' && "
    "int(evt.Meta.source_ip) > 0\"\ngroupby: evt.Meta.source_ip\n"
    "---\n"
    "description: d\ntype: trigger\nname: t/last\nfilter: \"evt.Meta.source_ip startsWith '1'\"\n";

static const struct {
    const char *name;
    int kind;
    bool exact, groupby_direct, distinct_direct;
} want_guards[] = {
    { "t/ssh-bf", EXPR_SHAPE_IN, true, true, false },
    { "t/ssh-enum", EXPR_SHAPE_IN, true, true, true },
    { "t/setter", EXPR_SHAPE_IN, false, true, false },
    { "t/cve-path", EXPR_SHAPE_EMPTY, false, true, false },
    { "t/cve-or", EXPR_SHAPE_EMPTY, false, true, false },
    { "t/crawl", EXPR_SHAPE_IN, false, false, true },
    { "t/generic-bf", EXPR_SHAPE_IN, false, true, false },
    { "t/req-limit", EXPR_SHAPE_IN, true, true, false },
    { "t/not", EXPR_SHAPE_NONE, false, true, false },
    { "t/atoi", EXPR_SHAPE_IN, true, false, false },
    { "t/late-error", EXPR_SHAPE_IN, false, true, false },
    { "t/last", EXPR_SHAPE_EMPTY, false, false, false },
};

/* Events as Meta then Parsed key/value pairs ("P:" prefix = Parsed), NULL-terminated. */
static const char *const events[][16] = {
    { "log_type", "ssh_failed-auth", "source_ip", "1.2.3.4", "target_user", "root", NULL },
    { "log_type", "ssh_failed-auth", "source_ip", "", NULL },
    { "log_type", "http_access-log", "service", "http", "source_ip", "5.6.7.8", "http_path",
      "/x/@java.lang.Runtime@getRuntime().exec(", "P:static_ressource", "false", "P:verb", "GET",
      "P:target_fqdn", "h", NULL },
    { "log_type", "http_access-log", "http_path", "/a/b", "http_status", "404", "http_verb", "post",
      "source_ip", "9.9.9.9", NULL },
    { "log_type", "http_error-log", "service", "http", "sub_type", "req_limit_exceeded",
      "source_ip", "2.2.2.2", NULL },
    { "service", "http", "sub_type", "auth_fail", "source_ip", "3.3.3.3", NULL },
    { "log_type", "x", NULL },
    { NULL },
    { "log_type", "odd", "source_ip", "12", "n", "1", NULL },
    { "log_type", "odd", "source_ip", "not a number", NULL },
    { "log_type", "ssh_failed-auth", "source_ip", "1.1.1.1", "n", "zz", NULL },
    { "log_type", "", "http_path", "", "source_ip", "1", NULL },
    { "log_type", "ssh_failed-auth", "source_ip", "7.7.7.7", "n", "1", NULL },
};

static struct bucket_set *
load(const char *yaml)
{
    struct bucket_error err;
    struct bucket_set *s = bucket_set_load_buffer("t.yaml", yaml, strlen(yaml), NULL, NULL, &err);

    if (s == NULL)
        fail_msg("%s:%d: %s", err.file, err.line, err.message);
    return s;
}

static struct event *
make(const char *const *kv)
{
    struct event *e = event_new(EVENT_LOG, EVENT_TIMEMACHINE, true);

    assert_non_null(e);
    for (size_t i = 0; kv[i] != NULL; i += 2) {
        if (strncmp(kv[i], "P:", 2) == 0)
            assert_int_equal(event_set_parsed(e, kv[i] + 2, kv[i + 1]), 0);
        else
            assert_int_equal(event_set_meta(e, kv[i], kv[i + 1]), 0);
    }
    return e;
}

/* bucket_match without guards: every filter and groupby in the vm, as before guard.c. */
static int
reference_match(const struct bucket_set *s, struct expr_vm *vm, const struct event *evt,
                struct bucket_target *ret, size_t *ret_n, char *err, size_t errlen)
{
    struct expr_value vars[1] = { exprenv_event_value(evt) };
    struct expr_value v;
    struct expr_error e;

    *ret_n = 0;
    for (size_t i = 0; i < s->n; i++) {
        const struct scenario *sc = &s->sc[i];
        const char *group = "";
        size_t glen = 0;
        if (expr_eval(vm, sc->filter, vars, &v, &e) < 0 || v.kind != EXPR_BOOL) {
            snprintf(err, errlen, "%s", sc->factory.spec.name);
            return -1;
        }
        if (!v.u.b)
            continue;
        if (sc->groupby != NULL) {
            if (expr_eval(vm, sc->groupby, vars, &v, &e) < 0 || v.kind != EXPR_STRING) {
                snprintf(err, errlen, "%s", sc->factory.spec.name);
                return -1;
            }
            group = v.u.s.ptr;
            glen = v.u.s.len;
        }
        ret[*ret_n].scenario = (uint32_t)i;
        assert_int_equal(bucket_key(sc->factory.spec.filter, group, glen, sc->factory.spec.name,
                                    ret[*ret_n].key),
                         0);
        (*ret_n)++;
    }
    return 0;
}

static void
test_guards_found(void **state)
{
    struct bucket_set *s = load(scenarios);

    (void)state;
    assert_int_equal(s->n, ARRAY_SIZE(want_guards));
    for (size_t i = 0; i < s->n; i++) {
        const struct scenario *sc = &s->sc[i];
        int kind = sc->guard >= 0 ? s->guards[sc->guard].kind : EXPR_SHAPE_NONE;
        if (strcmp(sc->factory.spec.name, want_guards[i].name) != 0 ||
            kind != want_guards[i].kind || sc->guard_exact != want_guards[i].exact ||
            (sc->groupby_m.key != NULL) != want_guards[i].groupby_direct ||
            (sc->distinct_m.key != NULL) != want_guards[i].distinct_direct)
            fail_msg("scenario %zu %s: guard %d exact %d groupby %d distinct %d", i,
                     sc->factory.spec.name, kind, sc->guard_exact, sc->groupby_m.key != NULL,
                     sc->distinct_m.key != NULL);
    }
    bucket_set_free(s);
}

/* Scenarios opening with the same test share one guard: ssh-bf and ssh-enum here. */
static void
test_guards_shared(void **state)
{
    struct bucket_set *s = load(scenarios);

    (void)state;
    assert_true(s->sc[0].guard >= 0);
    assert_int_equal(s->sc[0].guard, s->sc[1].guard);
    assert_int_not_equal(s->sc[0].guard, s->sc[2].guard);
    assert_true(s->nguards < s->n);
    bucket_set_free(s);
}

static void
test_match_equals_reference(void **state)
{
    struct bucket_set *s = load(scenarios);
    struct expr_vm *vm = expr_vm_new();
    struct bucket_target got[16] = { { 0 } }, want[16] = { { 0 } };
    char gerr[256], werr[256];

    (void)state;
    assert_non_null(vm);
    assert_true(s->n <= ARRAY_SIZE(got));
    for (size_t i = 0; i < ARRAY_SIZE(events); i++) {
        /* Two copies: a filter may write the event (t/setter). */
        struct event *e = make(events[i]), *ref = make(events[i]);
        size_t ng = 0, nw = 0;
        gerr[0] = werr[0] = '\0';
        int grc = bucket_match(s, vm, e, got, &ng, gerr, sizeof(gerr));
        int wrc = reference_match(s, vm, ref, want, &nw, werr, sizeof(werr));
        if (grc != wrc || ng != nw)
            fail_msg("event %zu: rc %d/%d, %zu/%zu targets (%s / %s)", i, grc, wrc, ng, nw, gerr,
                     werr);
        /* The error names the same scenario. */
        if (wrc < 0 && strstr(gerr, werr) == NULL)
            fail_msg("event %zu: error '%s', want scenario %s", i, gerr, werr);
        for (size_t k = 0; k < ng; k++)
            if (got[k].scenario != want[k].scenario || strcmp(got[k].key, want[k].key) != 0)
                fail_msg("event %zu target %zu: %u %s, want %u %s", i, k, got[k].scenario,
                         got[k].key, want[k].scenario, want[k].key);
        event_free(e);
        event_free(ref);
    }
    expr_vm_free(vm);
    bucket_set_free(s);
}

/* The grid must exercise every outcome, or the comparison above proves little. */
static void
test_grid_covers_outcomes(void **state)
{
    struct bucket_set *s = load(scenarios);
    struct expr_vm *vm = expr_vm_new();
    struct bucket_target t[16];
    char err[256];
    size_t skipped = 0, shortcut = 0, errors = 0, matched = 0;

    (void)state;
    assert_non_null(vm);
    for (size_t i = 0; i < ARRAY_SIZE(events); i++) {
        struct event *e = make(events[i]);
        struct strv vals[BUCKET_GUARD_MEMBERS];
        size_t n = 0;
        for (size_t k = 0; k < s->ngm; k++)
            vals[k] = evt_member_value(e, &s->gm[k]);
        for (size_t k = 0; k < s->n; k++) {
            const struct scenario *sc = &s->sc[k];
            if (sc->guard < 0)
                continue;
            bool pass = bucket_guard_passes(&s->guards[sc->guard], vals);
            skipped += !pass;
            shortcut += pass && sc->guard_exact;
        }
        errors += bucket_match(s, vm, e, t, &n, err, sizeof(err)) < 0;
        matched += n;
        event_free(e);
    }
    assert_true(skipped > 20);
    assert_true(shortcut >= 4);
    assert_true(errors >= 2);
    assert_true(matched >= 10);
    expr_vm_free(vm);
    bucket_set_free(s);
}

struct ends {
    int end[8];
    size_t n;
};

static void
record_end(void *ctx, struct bucket_overflow *ov)
{
    struct ends *g = ctx;

    assert_true(g->n < ARRAY_SIZE(g->end));
    assert_non_null(ov->evt);
    g->end[g->n++] = ov->end;
}

/* overflows_only: an idle death is counted but not emitted; an overflow still is. */
static void
test_overflows_only(void **state)
{
    static const char yaml[] =
        "description: d\ntype: leaky\nname: t/a\nfilter: \"true\"\ngroupby: evt.Meta.source_ip\n"
        "leakspeed: 1s\ncapacity: 1\n";
    struct bucket_set *s = load(yaml);

    (void)state;
    for (int only = 0; only <= 1; only++) {
        struct ends got = { .n = 0 };
        struct bucket_shard_options o = {
            .clock = BUCKET_REPLAY, .emit = record_end, .ctx = &got, .overflows_only = only
        };
        struct bucket_shard *sh = bucket_shard_new(s, &o);
        struct bucket_stats st;
        char err[256];
        const char *const at[] = { "2020-01-01T00:00:00Z", "2020-01-01T00:00:00Z",
                                   "2020-01-01T01:00:00Z" };
        const char *const ip[] = { "1.1.1.1", "1.1.1.1", "2.2.2.2" };
        assert_non_null(sh);
        for (size_t i = 0; i < ARRAY_SIZE(at); i++) {
            struct event *e = event_new(EVENT_LOG, EVENT_TIMEMACHINE, true);
            assert_non_null(e);
            assert_int_equal(event_set_meta(e, "source_ip", ip[i]), 0);
            assert_int_equal(event_set_str(e, &e->marshaled_time, at[i], strlen(at[i])), 0);
            assert_true(bucket_pour(sh, e, err, sizeof(err)) >= 0);
            event_free(e);
        }
        /* 1.1.1.1 overflowed at once (capacity 1); 2.2.2.2's bucket dies idle at the flush. */
        struct gotime end = { INT64_C(1577840400000000000) + INT64_C(3600000000000) * 24, 0 };
        assert_int_equal(bucket_advance(sh, end), 0);
        bucket_shard_stats(sh, &st);
        assert_int_equal(st.overflows, 1);
        assert_int_equal(st.underflows, 1);
        assert_int_equal(got.n, only ? 1 : 2);
        assert_int_equal(got.end[0], BUCKET_OVERFLOW);
        if (!only)
            assert_int_equal(got.end[1], BUCKET_UNDERFLOW);
        bucket_shard_free(sh);
    }
    bucket_set_free(s);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_guards_found),           cmocka_unit_test(test_guards_shared),
        cmocka_unit_test(test_match_equals_reference), cmocka_unit_test(test_grid_covers_outcomes),
        cmocka_unit_test(test_overflows_only),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

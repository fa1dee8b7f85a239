/*
 * test_eval.c - expressions evaluated against events, queues, buckets,
 * alerts and hubtest dumps built from JSON with Go field names (the loaders
 * of exprenv) and by hand (the model API), with the results CrowdSec gives.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "common/str.h"
#include "exprenv/exprenv.h"

struct eval_case {
    enum exprenv_context ctx;
    const char *env;    /* JSON object keyed by variable name */
    const char *src;    /* expression */
    const char *expect; /* result as compact JSON, or "error" for a run-time error */
};

#define EVT_SSH                                                                                    \
    "{\"evt\": {\"Type\": 0, \"Time\": \"2024-03-09T22:15:07Z\", \"StrTime\": \"Mar  9 "           \
    "22:15:07\", \"MarshaledTime\": \"2024-03-09T22:15:07Z\", \"Line\": {\"Raw\": \"Failed "       \
    "password for root from 1.2.3.4\", \"Src\": \"/var/log/auth.log\", \"Module\": \"file\", "     \
    "\"Labels\": {\"type\": \"syslog\"}}, \"Parsed\": {\"program\": \"sshd\", "                    \
    "\"sshd_client_ip\": "                                                                         \
    "\"1.2.3.4\"}, \"Meta\": {\"source_ip\": \"1.2.3.4\", \"log_type\": \"ssh_failed-auth\", "     \
    "\"service\": \"ssh\"}, \"Enriched\": {\"IsoCode\": \"FR\"}, \"Unmarshaled\": "                \
    "{\"cloudtrail\": "                                                                            \
    "{\"eventName\": \"ConsoleLogin\", \"n\": 3, \"f\": 1.5, \"ok\": true, \"list\": [\"a\", "     \
    "\"b\"]}}, \"Stage\": \"s01-parse\", \"Process\": true}}"

#define QUEUE_LEAKY                                                                                \
    "\"queue\": {\"L\": 5, \"Queue\": [{\"Meta\": {\"exe\": \"/usr/bin/wget\", \"source_ip\": "    \
    "\"1.2.3.4\"}, \"Time\": \"2024-01-01T10:00:00Z\"}, {\"Meta\": {\"exe\": \"/bin/sh\"}, "       \
    "\"Time\": \"2024-01-01T10:30:00Z\"}, {\"Meta\": {\"exe\": \"/bin/sh\", \"source_ip\": "       \
    "\"5.6.7.8\"}, \"Time\": \"2024-01-01T11:00:00Z\"}]}, \"leaky\": {\"Total_count\": 3, "        \
    "\"Mapkey\": \"abc\", \"First_ts\": \"2024-01-01T10:00:00Z\", \"Ovflw_ts\": "                  \
    "\"2024-01-01T11:00:00Z\", \"Duration\": \"1m\", \"Factory\": {\"Spec\": {\"Name\": "          \
    "\"crowdsecurity/test\", \"Capacity\": 5}}}"

#define QUEUE_ENV "{" QUEUE_LEAKY "}"

#define OVFL_ENV                                                                                   \
    "{" QUEUE_LEAKY ", \"signal\": {\"Mapkey\": \"abc\", \"Sources\": {\"1.2.3.4\": {\"ip\": "     \
    "\"1.2.3.4\", \"scope\": \"Ip\", \"value\": \"1.2.3.4\"}}, \"Alert\": {\"scenario\": "         \
    "\"crowdsecurity/test\", \"events_count\": 3, \"source\": {\"ip\": \"1.2.3.4\", \"scope\": "   \
    "\"Ip\", \"value\": \"1.2.3.4\"}}}}"

#define ALERT_ENV                                                                                  \
    "{\"Alert\": {\"scenario\": \"crowdsecurity/ssh-bf\", \"events_count\": 6, \"remediation\": "  \
    "true, \"capacity\": 5, \"leakspeed\": \"10s\", \"simulated\": false, \"labels\": "            \
    "[\"ssh\"], \"source\": {\"scope\": \"Ip\", \"value\": \"1.2.3.4\", \"ip\": \"1.2.3.4\", "     \
    "\"cn\": \"FR\", \"as_number\": \"16276\", \"as_name\": \"OVH\", \"latitude\": 1.5}, "         \
    "\"meta\": [{\"key\": \"service\", \"value\": \"ssh\"}], \"events\": [{\"timestamp\": "        \
    "\"2024-01-01T10:00:00Z\", \"meta\": [{\"key\": \"user\", \"value\": \"root\"}]}], "           \
    "\"decisions\": [{\"type\": \"ban\", \"duration\": \"4h\", \"scope\": \"Ip\", \"value\": "     \
    "\"1.2.3.4\", \"origin\": \"crowdsec\"}]}}"

#define SCENARIO_RESULTS                                                                           \
    "{\"results\": [{\"Type\": 1, \"Overflow\": {\"Sources\": {\"1.2.3.4\": {\"ip\": "             \
    "\"1.2.3.4\", \"range\": \"1.2.3.0/24\", \"scope\": \"Ip\", \"value\": \"1.2.3.4\"}}, "        \
    "\"APIAlerts\": [{\"scenario\": \"crowdsecurity/ssh-bf\", \"events_count\": 6, "               \
    "\"remediation\": true, \"events\": [{\"timestamp\": \"2024-01-01T10:00:00Z\", \"meta\": "     \
    "[{\"key\": \"datasource_path\", \"value\": \"/tmp/x/ssh-bf.log\"}, {\"key\": \"user\", "      \
    "\"value\": \"root\"}]}], \"source\": {\"ip\": \"1.2.3.4\", \"scope\": \"Ip\", \"value\": "    \
    "\"1.2.3.4\"}}]}}]}"

#define PARSER_RESULTS                                                                             \
    "{\"results\": {\"success\": {\"\": []}, \"s00-raw\": {\"crowdsecurity/syslog-logs\": "        \
    "[{\"Idx\": 0, \"Success\": true, \"Evt\": {\"Parsed\": {\"program\": \"sshd\"}}}]}, "         \
    "\"s01-parse\": {\"crowdsecurity/sshd-logs\": [{\"Idx\": 0, \"Success\": true, \"Evt\": "      \
    "{\"Parsed\": {\"sshd_client_ip\": \"1.2.3.4\"}, \"Meta\": {\"datasource_path\": "             \
    "\"/var/log/auth.log\"}, \"Enriched\": {\"MarshaledTime\": \"2026-01-01T10:00:00Z\"}, "        \
    "\"Unmarshaled\": {\"a\": {\"b\": 2.5}}}}]}}}"

static const struct eval_case cases[] = {
    /* parser / scenario: evt */
    { EXPRENV_PARSER, EVT_SSH, "evt.Meta.source_ip", "\"1.2.3.4\"" },
    { EXPRENV_PARSER, EVT_SSH, "evt.Meta.missing", "\"\"" },
    { EXPRENV_PARSER, EVT_SSH, "evt.Meta['log_type'] == 'ssh_failed-auth'", "true" },
    { EXPRENV_PARSER, EVT_SSH, "'source_ip' in evt.Meta", "true" },
    { EXPRENV_PARSER, EVT_SSH, "'nope' in evt.Meta", "false" },
    { EXPRENV_PARSER, EVT_SSH, "evt.Time.Hour()", "22" },
    { EXPRENV_PARSER, EVT_SSH, "evt.Time.Weekday().String()", "\"Saturday\"" },
    { EXPRENV_SCENARIO, EVT_SSH, "(evt.Time.Hour() >= 18 || evt.Time.Hour() < 6)", "true" },
    { EXPRENV_PARSER, EVT_SSH, "evt.Line.Labels.type", "\"syslog\"" },
    { EXPRENV_PARSER, EVT_SSH, "evt.Line.Raw contains 'Failed password'", "true" },
    { EXPRENV_PARSER, EVT_SSH, "evt.Line.Module + ':' + evt.Line.Src",
      "\"file:/var/log/auth.log\"" },
    { EXPRENV_PARSER, EVT_SSH, "evt.Unmarshaled.cloudtrail.eventName", "\"ConsoleLogin\"" },
    { EXPRENV_PARSER, EVT_SSH, "evt.Unmarshaled.cloudtrail.n + 1", "4" },
    { EXPRENV_PARSER, EVT_SSH, "evt.Unmarshaled.cloudtrail.f * 2", "3" },
    { EXPRENV_PARSER, EVT_SSH, "evt.Unmarshaled.cloudtrail.ok", "true" },
    { EXPRENV_PARSER, EVT_SSH, "evt.Unmarshaled.cloudtrail.list[1]", "\"b\"" },
    { EXPRENV_PARSER, EVT_SSH, "evt.Unmarshaled.nope == nil", "true" },
    { EXPRENV_PARSER, EVT_SSH, "evt.Unmarshaled.cloudtrail?.missing?.deeper", "null" },
    { EXPRENV_PARSER, EVT_SSH, "evt.GetType()", "\"log\"" },
    { EXPRENV_PARSER, EVT_SSH, "evt.GetMeta('service')", "\"ssh\"" },
    { EXPRENV_PARSER, EVT_SSH, "evt.SetMeta('k', 'v') && evt.Meta.k == 'v'", "true" },
    { EXPRENV_PARSER, EVT_SSH, "evt.SetParsed('p', 'q') ? evt.Parsed.p : ''", "\"q\"" },
    { EXPRENV_PARSER, EVT_SSH, "evt.ParseIPSources()", "[\"1.2.3.4\"]" },
    { EXPRENV_PARSER, EVT_SSH, "len(evt.Parsed)", "2" },
    { EXPRENV_PARSER, EVT_SSH, "evt.Enriched.IsoCode in ['FR', 'BE']", "true" },
    { EXPRENV_PARSER, EVT_SSH, "evt.StrTime + '|' + evt.MarshaledTime",
      "\"Mar  9 22:15:07|2024-03-09T22:15:07Z\"" },
    { EXPRENV_PARSER, EVT_SSH, "evt.Stage == 's01-parse' && evt.Process && !evt.Whitelisted",
      "true" },
    { EXPRENV_PARSER, EVT_SSH, "evt.Type == 0 && evt.ExpectMode == 0", "true" },
    { EXPRENV_PARSER, EVT_SSH, "evt.Overflow.Alert == nil", "true" },
    { EXPRENV_PARSER, EVT_SSH, "len(evt.Appsec.MatchedRules)", "0" },
    { EXPRENV_PARSER, "{}", "evt.Meta.source_ip == ''", "true" },
    { EXPRENV_PARSER, "{}", "evt.Unmarshaled.x", "null" },
    { EXPRENV_PARSER,
      "{\"evt\": {\"Appsec\": {\"HasInBandMatches\": true, \"MatchedRules\": "
      "[{\"name\": \"r1\", \"id\": 7, \"kind\": \"k\"}, {\"name\": \"r2\", \"id\": "
      "9, \"kind\": \"k\"}]}}}",
      "[evt.Appsec.HasInBandMatches, evt.Appsec.GetName(), evt.Appsec.GetRuleIDs(), "
      "evt.Appsec.Kinds()]",
      "[true,\"r1\",[7,9],[\"k\"]]" },
    /* condition and overflow_filter: queue, leaky, signal */
    { EXPRENV_CONDITION, QUEUE_ENV, "queue.Queue[-1].Meta.exe", "\"/bin/sh\"" },
    { EXPRENV_CONDITION, QUEUE_ENV, "len(queue.Queue)", "3" },
    { EXPRENV_CONDITION, QUEUE_ENV,
      "any(queue.Queue, {.Meta.exe in ['/usr/bin/wget', '/usr/bin/curl']}) and any(queue.Queue, "
      "{ .Meta.exe in ['/bin/sh', '/bin/bash'] })",
      "true" },
    { EXPRENV_CONDITION, QUEUE_ENV, "queue.Queue[0].Meta.exe == queue.Queue[1].Meta.exe", "false" },
    { EXPRENV_CONDITION, QUEUE_ENV, "count(queue.Queue, #.Meta.exe == '/bin/sh')", "2" },
    { EXPRENV_CONDITION, QUEUE_ENV, "map(queue.Queue[-2:], {#.Time.Minute()})", "[30,0]" },
    { EXPRENV_CONDITION, QUEUE_ENV, "leaky.Total_count", "3" },
    { EXPRENV_CONDITION, QUEUE_ENV, "leaky.Ovflw_ts.Sub(leaky.First_ts).Minutes()", "60" },
    { EXPRENV_CONDITION, QUEUE_ENV, "leaky.Factory.Spec.Name", "\"crowdsecurity/test\"" },
    { EXPRENV_CONDITION, QUEUE_ENV, "len(leaky.Queue.Queue) == len(queue.Queue)", "true" },
    { EXPRENV_CONDITION, QUEUE_ENV, "queue.Queue[5]", "error" },
    { EXPRENV_OVERFLOW_FILTER, OVFL_ENV, "signal.GetSources()", "[\"1.2.3.4\"]" },
    { EXPRENV_OVERFLOW_FILTER, OVFL_ENV, "signal.Sources['1.2.3.4'].GetScope()", "\"Ip\"" },
    { EXPRENV_OVERFLOW_FILTER, OVFL_ENV, "signal.Sources['9.9.9.9'].IP", "\"\"" },
    { EXPRENV_OVERFLOW_FILTER, OVFL_ENV, "signal.Alert.GetScenario()", "\"crowdsecurity/test\"" },
    { EXPRENV_OVERFLOW_FILTER, OVFL_ENV, "len(signal.APIAlerts)", "1" },
    { EXPRENV_OVERFLOW_FILTER, OVFL_ENV, "signal.Alert.Source.IP == queue.Queue[0].Meta.source_ip",
      "true" },
    { EXPRENV_OVERFLOW_FILTER, OVFL_ENV, "queue.L", "5" },
    /* profile: Alert */
    { EXPRENV_PROFILE, ALERT_ENV, "Alert.Remediation == true && Alert.GetScope() == 'Ip'", "true" },
    { EXPRENV_PROFILE, ALERT_ENV, "Alert.GetValue()", "\"1.2.3.4\"" },
    { EXPRENV_PROFILE, ALERT_ENV, "Alert.GetEventsCount()", "6" },
    { EXPRENV_PROFILE, ALERT_ENV, "Alert.GetMeta('service')", "\"ssh\"" },
    { EXPRENV_PROFILE, ALERT_ENV, "Alert.Events[0].GetMeta('user')", "\"root\"" },
    { EXPRENV_PROFILE, ALERT_ENV, "Alert.Events[0].Meta[0].Value", "\"root\"" },
    { EXPRENV_PROFILE, ALERT_ENV, "Alert.Source.Cn + '/' + Alert.Source.AsNumber", "\"FR/16276\"" },
    { EXPRENV_PROFILE, ALERT_ENV, "Alert.Source.GetAsNumberName()", "\"16276 OVH\"" },
    { EXPRENV_PROFILE, ALERT_ENV, "Alert.Source.Latitude", "1.5" },
    { EXPRENV_PROFILE, ALERT_ENV, "Alert.Decisions[0].Type + ' ' + Alert.Decisions[0].Duration",
      "\"ban 4h\"" },
    { EXPRENV_PROFILE, ALERT_ENV, "'ssh' in Alert.Labels", "true" },
    { EXPRENV_PROFILE, ALERT_ENV, "Alert.Capacity * 2", "10" },
    { EXPRENV_PROFILE, "{}", "Alert.GetScope()", "\"\"" },
    { EXPRENV_PROFILE, "{}", "Alert.Source == nil", "true" },
    /* alert_context */
    { EXPRENV_ALERT_CONTEXT, "{\"match\": {\"uri\": \"/x\", \"internal\": false}}",
      "(match.uri != nil && match.internal != true) ? match.uri : ''", "\"/x\"" },
    { EXPRENV_ALERT_CONTEXT, "{}",
      "(match.name != nil && match.internal != true) ? match.name : ''", "\"\"" },
    { EXPRENV_ALERT_CONTEXT, "{\"req\": {\"Host\": \"example.com\"}}", "req != nil ? req.Host : ''",
      "\"example.com\"" },
    /* hubtest */
    { EXPRENV_HUBTEST_SCENARIO, SCENARIO_RESULTS,
      "results[0].Overflow.Alert.Events[0].GetMeta('user')", "\"root\"" },
    { EXPRENV_HUBTEST_SCENARIO, SCENARIO_RESULTS, "results[0].GetMeta('user')", "\"root\"" },
    { EXPRENV_HUBTEST_SCENARIO, SCENARIO_RESULTS, "results[0].Overflow.Alert.GetScenario()",
      "\"crowdsecurity/ssh-bf\"" },
    { EXPRENV_HUBTEST_SCENARIO, SCENARIO_RESULTS, "'1.2.3.4' in results[0].Overflow.GetSources()",
      "true" },
    { EXPRENV_HUBTEST_SCENARIO, SCENARIO_RESULTS, "results[0].Overflow.Sources['1.2.3.4'].Range",
      "\"1.2.3.0/24\"" },
    { EXPRENV_HUBTEST_SCENARIO, SCENARIO_RESULTS,
      "basename(results[0].Overflow.Alert.Events[0].GetMeta('datasource_path'))",
      "\"ssh-bf.log\"" },
    { EXPRENV_HUBTEST_SCENARIO, SCENARIO_RESULTS, "results[0].Overflow.Alert.GetEventsCount() == 6",
      "true" },
    { EXPRENV_HUBTEST_SCENARIO, SCENARIO_RESULTS, "len(results)", "1" },
    { EXPRENV_HUBTEST_PARSER, PARSER_RESULTS,
      "results['s01-parse']['crowdsecurity/sshd-logs'][0].Evt.Parsed['sshd_client_ip']",
      "\"1.2.3.4\"" },
    { EXPRENV_HUBTEST_PARSER, PARSER_RESULTS, "len(results)", "3" },
    { EXPRENV_HUBTEST_PARSER, PARSER_RESULTS, "len(results['success'][''])", "0" },
    { EXPRENV_HUBTEST_PARSER, PARSER_RESULTS, "len(results['s02-enrich']['x'])", "0" },
    { EXPRENV_HUBTEST_PARSER, PARSER_RESULTS,
      "results['s00-raw']['crowdsecurity/syslog-logs'][0].Success", "true" },
    { EXPRENV_HUBTEST_PARSER, PARSER_RESULTS,
      "basename(results['s01-parse']['crowdsecurity/sshd-logs'][0].Evt.Meta['datasource_path'])",
      "\"auth.log\"" },
    { EXPRENV_HUBTEST_PARSER, PARSER_RESULTS,
      "results['s01-parse']['crowdsecurity/sshd-logs'][0].Evt.Enriched['MarshaledTime'][4:]",
      "\"-01-01T10:00:00Z\"" },
    { EXPRENV_HUBTEST_PARSER, PARSER_RESULTS,
      "results['s01-parse']['crowdsecurity/sshd-logs'][0].Evt.Unmarshaled['a']['b']", "2.5" },
    { EXPRENV_HUBTEST, "{\"results\": [{\"a\": 1}]}", "results[0].a + 1", "2" },
    { EXPRENV_HUBTEST, "{}", "basename('/a/b/') + basename('') + basename('/')", "\"b./\"" },
};

static int
eval_to_json(const struct eval_case *c, struct str *out, struct expr_error *err)
{
    char msg[256];
    struct exprenv_vars *vars = NULL;
    json_error_t jerr;
    json_t *env = json_loads(c->env, 0, &jerr);
    struct expr_env *xenv = exprenv_new(c->ctx);
    struct expr_vm *vm = expr_vm_new();
    struct expr_program *p = NULL;
    struct expr_value ret;
    int rc = -1;

    if (env == NULL)
        fail_msg("[%s]: bad test env JSON: %s", c->src, jerr.text);
    assert_non_null(xenv);
    assert_non_null(vm);
    if (exprenv_vars_from_json(c->ctx, env, &vars, msg, sizeof(msg)) < 0) {
        snprintf(err->message, sizeof(err->message), "env not loaded: %.200s", msg);
        rc = -2;
        goto out;
    }
    p = expr_compile(xenv, c->src, strlen(c->src), EXPR_T_ANY, err);
    if (p == NULL) {
        rc = -2;
        goto out;
    }
    if (expr_eval(vm, p, exprenv_vars_values(vars), &ret, err) == 0)
        rc = expr_value_to_json(vm, &ret, false, out) == 0 ? 0 : -1;
out:
    expr_program_free(p);
    expr_vm_free(vm);
    expr_env_free(xenv);
    exprenv_vars_free(vars);
    json_decref(env);
    return rc;
}

static void
test_eval_table(void **state)
{
    int failures = 0;

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct eval_case *c = &cases[i];
        struct str out = STR_INIT;
        struct expr_error err;

        memset(&err, 0, sizeof(err));
        int rc = eval_to_json(c, &out, &err);
        const char *got = rc == 0    ? (out.buf != NULL ? out.buf : "")
                          : rc == -1 ? "error"
                                     : "compile error";
        if (strcmp(got, c->expect) != 0) {
            print_error("# case %zu (%s) [%s]: got %s%s%s, want %s\n", i,
                        exprenv_context_name(c->ctx), c->src, got, rc ? ": " : "",
                        rc ? err.message : "", c->expect);
            failures++;
        }
        str_free(&out);
    }
    if (failures)
        fail_msg("%d of %zu evaluations differ", failures, sizeof(cases) / sizeof(cases[0]));
}

/* Events built with the model API (what the parser does) rather than the JSON loaders. */
static void
test_eval_hand_built(void **state)
{
    (void)state;
    struct event *e = event_new(EVENT_OVFLW, EVENT_TIMEMACHINE, true);
    assert_non_null(e);
    struct alert *a = alert_new();
    assert_non_null(a);
    assert_int_equal(model_strset(&a->scenario, "crowdsecurity/http-probing"), 0);
    struct alert_event *ae = alert_add_event(a);
    assert_non_null(ae);
    assert_int_equal(meta_append(&ae->meta, "http_path", "/admin"), 0);
    assert_int_equal(runtime_alert_add_api_alert(&e->overflow, a), 0);
    e->overflow.alert = a;
    assert_non_null(runtime_alert_add_source(&e->overflow, "2001:db8::1"));
    assert_non_null(runtime_alert_add_source(&e->overflow, "not-an-ip"));

    struct expr_env *env = exprenv_new(EXPRENV_SCENARIO);
    struct expr_vm *vm = expr_vm_new();
    assert_non_null(env);
    assert_non_null(vm);
    static const struct {
        const char *src, *expect;
    } checks[] = {
        { "evt.GetType()", "\"overflow\"" },
        { "evt.GetMeta('http_path')", "\"/admin\"" },
        { "evt.ParseIPSources()", "[\"2001:db8::1\"]" },
        { "evt.Overflow.Alert.GetScenario() startsWith 'crowdsecurity/http'", "true" },
        { "all(evt.Overflow.Alert.Events, {.GetMeta('http_path') == '/admin'})", "true" },
        { "evt.Overflow.GetSources()", "[\"2001:db8::1\",\"not-an-ip\"]" },
        { "evt.ExpectMode", "1" },
    };
    struct expr_value var = exprenv_event_value(e);
    for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++) {
        struct expr_error err;
        struct expr_value ret;
        struct str out = STR_INIT;
        memset(&err, 0, sizeof(err));
        struct expr_program *p =
            expr_compile(env, checks[i].src, strlen(checks[i].src), EXPR_T_ANY, &err);
        if (p == NULL)
            fail_msg("[%s]: %s", checks[i].src, err.message);
        if (expr_eval(vm, p, &var, &ret, &err) < 0)
            fail_msg("[%s]: run-time error %s", checks[i].src, err.message);
        assert_int_equal(expr_value_to_json(vm, &ret, false, &out), 0);
        if (strcmp(out.buf, checks[i].expect) != 0)
            fail_msg("[%s]: got %s, want %s", checks[i].src, out.buf, checks[i].expect);
        str_free(&out);
        expr_program_free(p);
    }
    expr_vm_free(vm);
    expr_env_free(env);
    event_free(e);
}

/* The loaders reject what Go would not decode, with a path to the culprit. */
static void
test_loader_errors(void **state)
{
    static const struct {
        enum exprenv_context ctx;
        const char *env;
        const char *want; /* substring of the message */
    } bad[] = {
        { EXPRENV_PARSER, "{\"evt\": {\"Metaa\": {}}}", "Event.Metaa: unknown field" },
        { EXPRENV_PARSER, "{\"evt\": {\"Meta\": {\"x\": 1}}}", "Event.Meta.x: expected a string" },
        { EXPRENV_PARSER, "{\"evt\": {\"Time\": \"yesterday\"}}",
          "Event.Time: expected an RFC3339" },
        { EXPRENV_PARSER, "{\"queue\": {}}", "'queue' is not a variable of the parser context" },
        { EXPRENV_PROFILE, "{\"Alert\": {\"events_count\": \"6\"}}",
          "Alert.events_count: expected an integer" },
        { EXPRENV_CONDITION, "{\"leaky\": {\"Duration\": \"soon\"}}", "Leaky.Duration" },
        { EXPRENV_HUBTEST_SCENARIO, "{\"results\": {}}", "results: expected an array" },
    };
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char msg[256] = "";
        struct exprenv_vars *vars = NULL;
        json_t *env = json_loads(bad[i].env, 0, NULL);
        assert_non_null(env);
        if (exprenv_vars_from_json(bad[i].ctx, env, &vars, msg, sizeof(msg)) == 0)
            fail_msg("case %zu: loaded but must fail", i);
        if (strstr(msg, bad[i].want) == NULL)
            fail_msg("case %zu: message '%s' lacks '%s'", i, msg, bad[i].want);
        json_decref(env);
    }
}

/* Go's field names and json tags both work, case-insensitively, like encoding/json. */
static void
test_loader_names(void **state)
{
    char msg[256];
    struct alert a = { 0 };
    json_t *j = json_loads("{\"Scenario\": \"a\", \"events_count\": 2, \"EVENTSCOUNT\": 3, "
                           "\"Source\": {\"IP\": \"1.2.3.4\", \"scope\": \"Ip\"}}",
                           0, NULL);

    (void)state;
    assert_non_null(j);
    assert_int_equal(exprenv_alert_from_json(j, &a, msg, sizeof(msg)), 0);
    assert_string_equal(a.scenario, "a");
    assert_int_equal(a.events_count, 3);
    assert_string_equal(a.source->ip, "1.2.3.4");
    assert_string_equal(alert_scope(&a), "Ip");
    alert_clear(&a);
    json_decref(j);

    struct event *e = event_new(EVENT_LOG, EVENT_LIVE, false);
    j = json_loads("{\"whitelist_reason\": \"r\", \"Alert\": {\"Alert\": {\"scenario\": \"s\"}}}",
                   0, NULL);
    assert_int_equal(exprenv_event_from_json(j, e, msg, sizeof(msg)), 0);
    assert_string_equal(e->whitelist_reason.ptr, "r");
    assert_string_equal(e->overflow.alert->scenario, "s");
    assert_int_equal(e->overflow.napi_alerts, 1);
    json_decref(j);
    event_free(e);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_loader_names),
        cmocka_unit_test(test_loader_errors),
        cmocka_unit_test(test_eval_table),
        cmocka_unit_test(test_eval_hand_built),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_contexts.c - every expression context compiles a representative set
 * of real hub expressions (parsers, scenarios, postoverflows, conditions,
 * contexts, hubtest asserts; CrowdSec's bucket fixtures and documented
 * profiles for overflow_filter and profile), and rejects names that do not
 * exist in CrowdSec's structs or in the context.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "exprenv/exprenv.h"

/* Copied from the hub snapshot (parsers, scenarios, postoverflows, contexts). */
/* clang-format off */
static const char *const parser_exprs[] = {
    "evt.Parsed.program == 'lfd'",
    "Lower(evt.Parsed.program) in ['bookstack']",
    "evt.Parsed.program == 'mailu-admin'",
    "evt.Parsed.program == 'zoraxy'",
    "evt.Parsed.program == 'php-fpm'",
    "evt.Meta.service == 'http' && evt.Meta.log_type in ['http_access-log', 'http_error-log']",
    "evt.Parsed.program == 'kernel' and evt.Parsed.message contains 'wireguard:'",
    "evt.Meta.log_type == 'http_error-log' && evt.Parsed.program == 'nginx'",
    "Upper(evt.Parsed.program) == 'MONGODB'",
    "evt.Parsed.program == 'authelia'",
    "evt.Meta.service == 'http' && evt.Meta.log_type in ['http_access-log', 'http_error-log']",
    "evt.Line.Labels.type == 'docker'",
    "evt.Parsed.program == 'windows-firewall' and evt.Parsed.message contains ' DROP TCP ' and evt.Parsed.message contains ' RECEIVE'",
    "evt.Parsed.program == 'exchange-imap'",
    "XMLGetNodeValue(evt.Line.Raw, \"/Event/EventData[1]/Data[@Name='Details']\")",
    "evt.Parsed.status",
    "evt.Appsec.HasInBandMatches ? \"appsec-block\" : \"appsec-info\"\n",
    "evt.Parsed.username",
    "evt.Parsed.CurrentDirectory",
    "XMLGetNodeValue(evt.Line.Raw, \"/Event/EventData[1]/Data[@Name='CreationUtcTime']\")",
    "XMLGetNodeValue(evt.Line.Raw, \"/Event/EventData[1]/Data[@Name='Image']\")",
    "XMLGetNodeValue(evt.Line.Raw, \"/Event/EventData[1]/Data[@Name='ProcessId']\")",
};

static const char *const scenario_exprs[] = {
    "evt.Meta.log_type == 'telnet_new_session'",
    "let request = Lower(evt.Parsed.request);\nevt.Meta.log_type in ['http_access-log', 'http_error-log'] && \nevt.Meta.http_status in ['404', '403'] &&\n(request matches '/php/.*/\\\\.js\\\\.map' || request matches '/index.php/.*\\\\.js\\\\.map')\n",
    "evt.Meta.log_type in [\"http_access-log\", \"http_error-log\"] and \n  (Upper(evt.Meta.http_path) matches '/PUBLIC/PLUGINS/[^/]+/../[./]+/'\n  or\n  Upper(evt.Meta.http_path) matches '/PUBLIC/PLUGINS/[^/]+/%2E%2E/[%2E/]+/')\n",
    "evt.Meta.log_type == 'openappsec_security_log' and Lower(evt.Meta.security_action) in ['prevent', 'detect'] and Lower(evt.Meta.incident_type) contains 'schema validation'",
    "evt.Meta.log_type == 'synology-dsm_failed_auth'",
    "evt.Meta.log_type == 'mealie_failed_auth'",
    "evt.Meta.log_type == 'hestiacp_failed_auth'",
    "evt.Meta.log_type == 'appsec-info' && evt.Meta.rule_name == 'crowdsecurity/appsec-generic-test'",
    "evt.Meta.log_type == 'jellyseerr_failed_auth'",
    "evt.Meta.log_type in [\"http_access-log\", \"http_error-log\"] and any(File(\"jira_cve_2021-26086.txt\"), {Upper(evt.Meta.http_path) contains Upper(#)})\n",
    "evt.Meta.target_user",
    "evt.Meta.source_ip",
    "evt.Meta.source_ip",
    "evt.Meta.source_ip",
    "evt.Meta.username",
    "evt.Parsed.request",
    "evt.Overflow.Alert.Remediation == true && IsIPV6(evt.Overflow.Alert.Source.IP)",
    "evt.Overflow.Alert.GetScope() == 'Ip'",
    "evt.Overflow.Alert.GetScenario() == 'crowdsecurity/auditd-sus-exec' && all(evt.Overflow.Alert.Events, {.GetMeta('exe') matches '^\\\\/nix\\\\/store\\\\/[^\\\\/]+\\\\/bin\\\\/\\\\.[^\\\\/]+-wrapped$'})\n",
    "evt.Overflow.Alert.GetScenario() == 'crowdsecurity/auditd-sus-exec' && all(evt.Overflow.Alert.Events, {.GetMeta('exe') matches '\\\\.nvm\\\\/versions\\\\/node\\\\/v(\\\\d+)\\\\.(\\\\d+)\\\\.(\\\\d+)\\\\/bin\\\\/node$'})",
    "all(evt.Overflow.Alert.Events, {.GetMeta('parent_progname') in ['/usr/bin/dpkg', '/usr/bin/dnf']})",
    "any(File('arvancloud_ips.txt'), { IpInRange(evt.Overflow.Alert.Source.IP ,#)})",
    "evt.Overflow.Alert.Source.IP in File('quic_cloud_ips.txt')",
    "any(File('cloudflare_ips.txt'), { IpInRange(evt.Overflow.Alert.Source.IP ,#)})",
    "any(File('cloudflare_ip6s.txt'), { IpInRange(evt.Overflow.Alert.Source.IP ,#)})",
    "evt.Overflow.Alert.Source.IP in File('cookiebot_ips.txt')",
    "evt.Enriched.reverse_dns endsWith '.ptr.discord.com.'",
    "any(File('google_special_crawlers_ipv4.txt'), { len(#) > 0 && IpInRange(evt.Overflow.Alert.Source.IP, #)})",
    "any(File('google_special_crawlers_ipv6.txt'), { len(#) > 0 && IpInRange(evt.Overflow.Alert.Source.IP, #)})",
    "any(File('rdns_seo_bots.txt'), { len(#) > 0 && evt.Enriched.reverse_dns endsWith #})",
    "RegexpInFile(evt.Enriched.reverse_dns, 'rdns_seo_bots.regex')",
    "any(File('ip_seo_bots.txt'), { len(#) > 0 && IpInRange(evt.Overflow.Alert.Source.IP ,#)})",
};

static const char *const condition_exprs[] = {
    "any(queue.Queue, {.Meta.exe == \"/usr/bin/base64\"})\nand (\n  any(queue.Queue, { .Meta.exe matches '^\\\\/(usr\\\\/(local\\\\/)?)?bin\\\\/(sh|bash|perl|dash|zsh)$' })\n  or\n  any(queue.Queue, { .Meta.exe startsWith \"/usr/bin/python\" })\n)\n",
    "any(queue.Queue, {.Meta.exe in [\"/usr/bin/wget\", \"/usr/bin/curl\"]}) \nand (\n  any(queue.Queue, { !(.Meta.exe startsWith \"/usr/\" or .Meta.exe startsWith \"/bin/\" or .Meta.exe startsWith \"/sbin/\")})\n  or any(queue.Queue, { .Meta.exe in [\"/bin/sh\", \"/bin/bash\", \"/bin/dash\"] })\n)\n",
    "len(queue.Queue) >= 2 and \n  queue.Queue[0].Meta.exe == queue.Queue[1].Meta.exe\n",
    "count(queue.Queue, #.Meta.event_name in [\"ListUserPolicies\", \"ListPolicies\", \"ListBuckets\", \"ListApplications\", \"DescribeInstances\", \"GetCallerIdentity\", \"GetFunctions\", \"DescribeAccountAttributes\", \"ListResources\"] or #.Meta.event_name startsWith \"ListFunctions\") > 2\n",
    "len(queue.Queue) >= 2 \nand Distance(queue.Queue[-1].Enriched.Latitude, queue.Queue[-1].Enriched.Longitude,\nqueue.Queue[-2].Enriched.Latitude, queue.Queue[-2].Enriched.Longitude) > 1000\n",
    "len(queue.Queue) >= 2 \nand Distance(queue.Queue[-1].Enriched.Latitude, queue.Queue[-1].Enriched.Longitude,\nqueue.Queue[-2].Enriched.Latitude, queue.Queue[-2].Enriched.Longitude) > 1000\n",
    "let failedAuths = filter(queue.Queue, {#.Meta.log_type == 'ssh_failed-auth'});\nlen(failedAuths) >= 4 &&\nMedianInterval(map(failedAuths[-4:], {#.Time})) > duration(\"10m\")\n",
    "let failedAuths = filter(queue.Queue, {#.Meta.log_type == 'ssh_failed-auth'});\nlen(failedAuths) >= 4 &&\nMedianInterval(map(failedAuths[-4:], {#.Time})) > duration(\"10m\")\n",
    "len(queue.Queue) >= 4 &&\nMedianInterval(map(queue.Queue[-4:], {#.Time})) >= duration(\"20m\")\n",
    "len(queue.Queue) >= 4 &&\nMedianInterval(map(queue.Queue[-4:], {#.Time})) >= duration(\"20m\")\n",
};

static const char *const alert_context_exprs[] = {
    "evt.Meta.rule_name",
    "evt.Meta.target_uri",
    "(match.uri != nil && match.internal != true) ? match.uri : ''",
    "(match.name != nil && match.internal != true) ? match.name : ''",
    "(match.method != nil && match.internal != true) ? match.method : ''",
    "(match.matched_zones != nil && match.internal != true) ? match.matched_zones : ''",
    "(match.msg != nil && match.internal != true) ? match.msg : ''",
    "req.Method != '' ? JA4H(req) :''",
    "req.Method != '' ? req.UserAgent() : ''",
    "evt.Meta.target_user",
    "evt.Meta.service in ['tcp', 'udp'] ? evt.Meta.service + ':' + evt.Parsed.dst_port : ''",
    "evt.Meta.sub_type",
    "evt.Meta.action",
    "evt.Meta.tunnel_type",
    "evt.Meta.reason",
    "evt.Meta.target_user",
};

/* CrowdSec's bucket fixtures (pkg/leakybucket/testdata) and the variables the doc lists. */
static const char *const overflow_filter_exprs[] = {
    "any(queue.Queue, {.Meta.source_ip != '1.2.3.4'} )",
    "any(queue.Queue, { Atof(.Meta.specvalue) > 3})",
    "any(queue.Queue, { Atof(.Meta.specvalue) > 1})",
    "len(queue.Queue) > 2 && queue.L > 0",
    "signal.Alert.GetScenario() == 'crowdsecurity/ssh-bf'",
    "'1.2.3.4' in signal.GetSources()",
    "signal.Sources['1.2.3.4'].GetScope() == 'Ip'",
    "leaky.Total_count > 5 && leaky.Mapkey != ''",
    "leaky.Ovflw_ts.Sub(leaky.First_ts) < duration('1m')",
    "signal.Alert.Source.IP == queue.Queue[-1].Meta.source_ip",
    "leaky.Factory.Spec.Name == 'crowdsecurity/ssh-bf' && leaky.Duration > duration('1s')",
    "signal.Whitelisted == false && signal.Reprocess == false && len(signal.APIAlerts) >= 0",
};

/* CrowdSec's default profiles.yaml and the profile examples of its documentation. */
static const char *const profile_exprs[] = {
    "Alert.Remediation == true && Alert.GetScope() == \"Ip\"",
    "Alert.Remediation == true && Alert.GetScope() == \"Range\"",
    "Alert.GetScenario() == \"crowdsecurity/ssh-bf\"",
    "Alert.GetScenario() startsWith \"crowdsecurity/http-\"",
    "Alert.GetEventsCount() > 10",
    "Alert.GetValue() startsWith \"192.168.\"",
    "Alert.Source.Cn == \"FR\" || Alert.Source.AsNumber == \"16276\"",
    "len(Alert.Decisions) == 0",
    "any(Alert.Events, {.GetMeta(\"service\") == \"ssh\"})",
    "Alert.GetMeta(\"service\") == \"ssh\"",
    "Sprintf('%dm', (GetDecisionsCount(Alert.GetValue()) + 1) * 4)",
    "IpInRange(Alert.GetValue(), \"10.0.0.0/8\")",
    "Alert.Simulated == false && Alert.Leakspeed == \"10s\" && Alert.Capacity == 5",
    "Alert.Source.GetScope() == 'Ip' && Alert.Source.Latitude > 0.0",
    "all(Alert.Decisions, {.Type == 'ban' && .Duration != ''})",
    "Alert.Events[0].Timestamp != '' && Alert.Events[0].Meta[0].Key == 'k'",
};

/* Lines of hub/.tests/<case>/parser.assert. */
static const char *const hubtest_parser_exprs[] = {
    "results[\"s02-enrich\"][\"crowdsecurity/dateparse-enrich\"][4].Evt.Parsed[\"http_version\"] == \"2.0\"",
    "results[\"s01-parse\"][\"crowdsecurity/apache2-logs\"][2].Evt.Parsed[\"response\"] == \"500\"",
    "results[\"s01-parse\"][\"crowdsecurity/modsecurity\"][8].Evt.Meta[\"source_ip\"] == \"::1\"",
    "results[\"s02-enrich\"][\"crowdsecurity/dateparse-enrich\"][1].Evt.Unmarshaled[\"openappsec\"][\"eventSource\"][\"serviceName\"] == \"HTTP Transaction Handler\"",
    "results[\"s01-parse\"][\"aidalinfo/couchdb-log-subnode\"][69].Evt.Whitelisted == false",
    "results[\"s02-enrich\"][\"crowdsecurity/actual-budget-whitelist\"][6].Success == true",
    "len(results[\"success\"][\"\"]) == 0",
    "len(results) == 4",
    "basename(results[\"s01-parse\"][\"crowdsecurity/sshd-logs\"][0].Evt.Meta[\"datasource_path\"]) == \"sshd.log\"",
    "results[\"s02-enrich\"][\"crowdsecurity/dateparse-enrich\"][0].Evt.Enriched[\"MarshaledTime\"][4:] == \"-01-01T10:00:00Z\"",
    "results[\"s02-enrich\"][\"crowdsecurity/whitelists\"][0].Evt.WhitelistReason == \"private ipv4/ipv6 ip/ranges\"",
    "results[\"s01-parse\"][\"crowdsecurity/sshd-logs\"][0].Evt.Meta.log_type == \"ssh_failed-auth\"",
    "FloatApproxEqual(results[\"s00-raw\"][\"crowdsecurity/base-upsun-httplog-logs\"][0].Evt.Unmarshaled[\"upsunMsg\"][\"timestamp\"], 1756494783.000000)",
};

/* Lines of hub/.tests/<case>/scenario.assert. */
static const char *const hubtest_scenario_exprs[] = {
    "len(results) == 2",
    "results[0].Overflow.Alert.Events[1].GetMeta(\"timestamp\") == \"2024-11-26T13:37:03Z\"",
    "\"192.168.1.5\" in results[3].Overflow.GetSources()",
    "results[9].Overflow.Sources[\"127.0.0.1\"].GetValue() == \"127.0.0.1\"",
    "results[1].Overflow.Sources[\"1.2.3.4\"].IP == \"1.2.3.4\"",
    "results[1].Overflow.Sources[\"1.2.3.4\"].Range == \"1.2.3.0/24\"",
    "results[1].Overflow.Sources[\"1.2.3.4\"].GetScope() == \"Ip\"",
    "results[0].Overflow.Alert.GetScenario() == \"crowdsecurity/ssh-bf\"",
    "results[0].Overflow.Alert.GetEventsCount() == 6",
    "results[0].Overflow.Alert.Remediation == true",
    "results[0].Overflow.Alert.Events[0].GetMeta(\"timestamp\")[4:] == \"-01-01T10:00:00Z\"",
    "basename(results[1].Overflow.Alert.Events[2].GetMeta(\"datasource_path\")) == \"adguardhome-bf.log\"",
    "results[0].Overflow.Alert.Source.IP == \"1.2.3.4\"",
    "results[0].Overflow.Whitelisted == false && len(results[0].Overflow.APIAlerts) == 1",
};

static const char *const hubtest_exprs[] = {
    "len(results) == 0",
    "results[0].foo == 1",
    "results[\"s01-parse\"][\"x\"][0].Evt.Parsed[\"k\"] == \"v\"",
    "basename(\"/var/log/auth.log\") == \"auth.log\"",
    "results?.x ?? 'none'",
    "len(results) > 0 && results[0].Overflow.Alert.GetScenario() == 'x'",
    "filter(results, {# != nil})",
    "map(results, {#})",
    "results == nil",
    "'a' in results",
};

static const char *const plain_exprs[] = {
    "1 + 2 * 3",         "'a' + 'b'",
    "[1, 2, 3][-1]",     "{'a': 1}.a",
    "let x = 2; x ** 3", "now().Year() > 2000",
    "Upper('x')",        "any([1, 2], {# > 1})",
    "nil ?? 'default'",  "duration('1h30m').Minutes()",
};

/* clang-format on */

struct bad_case {
    enum exprenv_context ctx;
    const char *src;
};

/* Each must fail to compile: unknown struct fields/methods, or variables the context does not have.
 */
static const struct bad_case bad_cases[] = {
    { EXPRENV_PARSER, "evt.Nope == 1" },
    { EXPRENV_PARSER, "evt.Line.Rawz" },
    { EXPRENV_PARSER, "queue.Queue" },
    { EXPRENV_PARSER, "evt.GetMetaz('x')" },
    { EXPRENV_SCENARIO, "leaky.Total_count" },
    { EXPRENV_SCENARIO, "basename(evt.Line.Src)" },
    { EXPRENV_CONDITION, "leaky.TotalCount > 1" },
    { EXPRENV_CONDITION, "signal.Mapkey" },
    { EXPRENV_OVERFLOW_FILTER, "evt.Meta.x" },
    { EXPRENV_OVERFLOW_FILTER, "signal.Alert.Scenarioo" },
    { EXPRENV_PROFILE, "Alert.GetSourcez()" },
    { EXPRENV_PROFILE, "alert.Remediation" },
    { EXPRENV_PROFILE, "Alert.Source.Country" },
    { EXPRENV_ALERT_CONTEXT, "Alert.Remediation" },
    { EXPRENV_HUBTEST_PARSER, "results[\"s\"][\"n\"][0].Evtt" },
    { EXPRENV_HUBTEST_SCENARIO, "results[0].Overflow.Alert.Events[0].GetMetaa('x')" },
    { EXPRENV_PLAIN, "evt" },
};

static void
compile_all(enum exprenv_context ctx, const char *const *srcs, size_t n)
{
    struct expr_env *env = exprenv_new(ctx);
    int failures = 0;

    assert_non_null(env);
    for (size_t i = 0; i < n; i++) {
        struct expr_error err;
        memset(&err, 0, sizeof(err));
        struct expr_program *p = expr_compile(env, srcs[i], strlen(srcs[i]), EXPR_T_ANY, &err);
        if (p == NULL) {
            print_error("# %s: cannot compile [%s]: %s\n%s\n", exprenv_context_name(ctx), srcs[i],
                        err.message, err.excerpt);
            failures++;
        }
        expr_program_free(p);
    }
    expr_env_free(env);
    if (failures)
        fail_msg("%d of %zu %s expressions failed to compile", failures, n,
                 exprenv_context_name(ctx));
}

#define COMPILE_TEST(fn, ctx, table)                                                               \
    static void fn(void **state)                                                                   \
    {                                                                                              \
        (void)state;                                                                               \
        compile_all(ctx, table, sizeof(table) / sizeof(table[0]));                                 \
    }

COMPILE_TEST(test_plain, EXPRENV_PLAIN, plain_exprs)
COMPILE_TEST(test_parser, EXPRENV_PARSER, parser_exprs)
COMPILE_TEST(test_scenario, EXPRENV_SCENARIO, scenario_exprs)
COMPILE_TEST(test_condition, EXPRENV_CONDITION, condition_exprs)
COMPILE_TEST(test_overflow_filter, EXPRENV_OVERFLOW_FILTER, overflow_filter_exprs)
COMPILE_TEST(test_profile, EXPRENV_PROFILE, profile_exprs)
COMPILE_TEST(test_alert_context, EXPRENV_ALERT_CONTEXT, alert_context_exprs)
COMPILE_TEST(test_hubtest_parser, EXPRENV_HUBTEST_PARSER, hubtest_parser_exprs)
COMPILE_TEST(test_hubtest_scenario, EXPRENV_HUBTEST_SCENARIO, hubtest_scenario_exprs)
COMPILE_TEST(test_hubtest, EXPRENV_HUBTEST, hubtest_exprs)

/* Names outside CrowdSec's structs, or variables the context lacks, are compile errors. */
static void
test_bad(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
        struct expr_env *env = exprenv_new(bad_cases[i].ctx);
        struct expr_error err;
        assert_non_null(env);
        memset(&err, 0, sizeof(err));
        struct expr_program *p =
            expr_compile(env, bad_cases[i].src, strlen(bad_cases[i].src), EXPR_T_ANY, &err);
        if (p != NULL)
            fail_msg("%s: [%s] compiled but must not", exprenv_context_name(bad_cases[i].ctx),
                     bad_cases[i].src);
        if (err.message[0] == '\0')
            fail_msg("[%s]: no error message", bad_cases[i].src);
        expr_env_free(env);
    }
}

static void
test_context_names(void **state)
{
    static const struct {
        const char *name;
        enum exprenv_context ctx;
        size_t nvars;
        const char *first;
    } cases[] = {
        { "plain", EXPRENV_PLAIN, 0, NULL },
        { "parser", EXPRENV_PARSER, 1, "evt" },
        { "scenario", EXPRENV_SCENARIO, 1, "evt" },
        { "condition", EXPRENV_CONDITION, 3, "evt" },
        { "overflow_filter", EXPRENV_OVERFLOW_FILTER, 3, "queue" },
        { "profile", EXPRENV_PROFILE, 1, "Alert" },
        { "alert_context", EXPRENV_ALERT_CONTEXT, 3, "evt" },
        { "hubtest_parser", EXPRENV_HUBTEST_PARSER, 1, "results" },
        { "hubtest_scenario", EXPRENV_HUBTEST_SCENARIO, 1, "results" },
        { "hubtest", EXPRENV_HUBTEST, 1, "results" },
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        enum exprenv_context ctx;
        assert_int_equal(exprenv_context_parse(cases[i].name, &ctx), 0);
        assert_int_equal(ctx, cases[i].ctx);
        assert_string_equal(exprenv_context_name(ctx), cases[i].name);
        assert_int_equal(exprenv_context_nvars(ctx), cases[i].nvars);
        if (cases[i].first != NULL)
            assert_string_equal(exprenv_context_var(ctx, 0), cases[i].first);
        struct expr_env *env = exprenv_new(ctx);
        assert_non_null(env);
        assert_int_equal(expr_env_nvars(env), cases[i].nvars);
        expr_env_free(env);
    }
    enum exprenv_context ctx = EXPRENV_PLAIN;
    assert_int_equal(exprenv_context_parse("bogus", &ctx), -EINVAL);
    assert_string_equal(exprenv_context_var(EXPRENV_CONDITION, 2), "leaky");
    assert_string_equal(exprenv_context_var(EXPRENV_OVERFLOW_FILTER, 1), "signal");
    assert_null(exprenv_context_var(EXPRENV_PARSER, 1));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_context_names),  cmocka_unit_test(test_plain),
        cmocka_unit_test(test_parser),         cmocka_unit_test(test_scenario),
        cmocka_unit_test(test_condition),      cmocka_unit_test(test_overflow_filter),
        cmocka_unit_test(test_profile),        cmocka_unit_test(test_alert_context),
        cmocka_unit_test(test_hubtest_parser), cmocka_unit_test(test_hubtest_scenario),
        cmocka_unit_test(test_hubtest),        cmocka_unit_test(test_bad),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

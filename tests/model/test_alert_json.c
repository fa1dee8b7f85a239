/*
 * test_alert_json.c - the JSON codec of alerts and decisions: Go-verified
 * decode/encode tables (each input went through json.Unmarshal and
 * json.Marshal into copies of CrowdSec's models under Go 1.19), float32
 * formatting, the spec's example, omitempty and nil-vs-empty, go-openapi's
 * required-field messages, and hostile input.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>

#include "model/model.h"

struct codec_case {
    const char *input;
    const char *expected; /* "OK <Go's json.Marshal output>" or "ERR <Go's error>" */
};

/* Decodes input, re-encodes it and prints it the way the table's expectation is written. */
static char *
run_codec(const char *input, bool decision)
{
    char err[512], *out = NULL;
    json_error_t je;
    json_t *j = json_loads(input, JSON_DECODE_ANY, &je), *o = NULL;
    int rc;

    if (j == NULL)
        return strdup("PARSE");
    if (decision) {
        struct decision d;
        rc = decision_from_json(j, &d, err, sizeof(err));
        if (rc == 0) {
            o = decision_to_json(&d);
            decision_clear(&d);
        }
    } else {
        struct alert a;
        rc = alert_from_json(j, &a, err, sizeof(err));
        if (rc == 0) {
            o = alert_to_json(&a);
            alert_clear(&a);
        }
    }
    json_decref(j);
    struct str s = STR_INIT;
    if (rc < 0) {
        str_appendf(&s, "ERR %s", err);
    } else {
        char *text = model_json_dumps(o);
        str_appendf(&s, "OK %s", text != NULL ? text : "(null)");
        free(text);
    }
    json_decref(o);
    out = str_steal(&s);
    return out;
}

static void
run_table(const struct codec_case *cases, size_t n, bool decision)
{
    int failed = 0;

    for (size_t i = 0; i < n; i++) {
        char *got = run_codec(cases[i].input, decision);
        assert_non_null(got);
        if (strcmp(got, cases[i].expected) != 0) {
            print_error("case %zu: %s\n  expected %s\n  got      %s\n", i, cases[i].input,
                        cases[i].expected, got);
            failed++;
        }
        free(got);
    }
    assert_int_equal(failed, 0);
}

static const struct codec_case alert_cases[] = {
    { "{\"id\":1,\"uuid\":\"u-1\",\"machine_id\":\"m1\",\"created_at\":\"2024-01-01T00:00:00Z\","
      "\"kind\":\"crowdsec\",\"scenario\":\"crowdsecurity/"
      "ssh-bf\",\"scenario_hash\":\"abc\",\"scenario_version\":\"0.3\",\"message\":\"Ip 1.2.3.4 "
      "performed 'crowdsecurity/ssh-bf' (6 events over "
      "2s)\",\"events_count\":6,\"start_at\":\"2024-01-01T00:00:00Z\",\"stop_at\":\"2024-01-01T00:"
      "00:02Z\",\"capacity\":5,\"leakspeed\":\"10s\",\"simulated\":false,\"remediation\":true,"
      "\"events\":[{\"timestamp\":\"2024-01-01T00:00:00Z\",\"meta\":[{\"key\":\"k\",\"value\":"
      "\"v\"}]}],\"meta\":[{\"key\":\"user\",\"value\":\"[\\\"root\\\"]\"}],\"decisions\":[{\"id\":"
      "3,\"uuid\":\"d-1\",\"origin\":\"crowdsec\",\"type\":\"ban\",\"scope\":\"Ip\",\"value\":\"1."
      "2.3.4\",\"duration\":\"3h59m59s\",\"until\":\"2024-01-01T04:00:00Z\",\"scenario\":"
      "\"crowdsecurity/"
      "ssh-bf\"}],\"source\":{\"scope\":\"Ip\",\"value\":\"1.2.3.4\",\"ip\":\"1.2.3.4\",\"range\":"
      "\"1.2.3.0/"
      "24\",\"as_number\":\"1\",\"as_name\":\"X\",\"cn\":\"FR\",\"latitude\":1.5,\"longitude\":2.5}"
      ",\"labels\":null}",
      "OK "
      "{\"capacity\":5,\"created_at\":\"2024-01-01T00:00:00Z\",\"decisions\":[{\"duration\":"
      "\"3h59m59s\",\"id\":3,\"origin\":\"crowdsec\",\"scenario\":\"crowdsecurity/"
      "ssh-bf\",\"scope\":\"Ip\",\"type\":\"ban\",\"until\":\"2024-01-01T04:00:00Z\",\"uuid\":\"d-"
      "1\",\"value\":\"1.2.3.4\"}],\"events\":[{\"meta\":[{\"key\":\"k\",\"value\":\"v\"}],"
      "\"timestamp\":\"2024-01-01T00:00:00Z\"}],\"events_count\":6,\"id\":1,\"kind\":\"crowdsec\","
      "\"labels\":null,\"leakspeed\":\"10s\",\"machine_id\":\"m1\",\"message\":\"Ip 1.2.3.4 "
      "performed 'crowdsecurity/ssh-bf' (6 events over "
      "2s)\",\"meta\":[{\"key\":\"user\",\"value\":\"[\\\"root\\\"]\"}],\"remediation\":true,"
      "\"scenario\":\"crowdsecurity/"
      "ssh-bf\",\"scenario_hash\":\"abc\",\"scenario_version\":\"0.3\",\"simulated\":false,"
      "\"source\":{\"as_name\":\"X\",\"as_number\":\"1\",\"cn\":\"FR\",\"ip\":\"1.2.3.4\","
      "\"latitude\":1.5,\"longitude\":2.5,\"range\":\"1.2.3.0/"
      "24\",\"scope\":\"Ip\",\"value\":\"1.2.3.4\"},\"start_at\":\"2024-01-01T00:00:00Z\",\"stop_"
      "at\":\"2024-01-01T00:00:02Z\",\"uuid\":\"u-1\"}" },
    { "{}",
      "OK "
      "{\"capacity\":null,\"decisions\":null,\"events\":null,\"events_count\":null,\"labels\":null,"
      "\"leakspeed\":null,\"message\":null,\"scenario\":null,\"scenario_hash\":null,\"scenario_"
      "version\":null,\"simulated\":null,\"source\":null,\"start_at\":null,\"stop_at\":null}" },
    { "null",
      "OK "
      "{\"capacity\":null,\"decisions\":null,\"events\":null,\"events_count\":null,\"labels\":null,"
      "\"leakspeed\":null,\"message\":null,\"scenario\":null,\"scenario_hash\":null,\"scenario_"
      "version\":null,\"simulated\":null,\"source\":null,\"start_at\":null,\"stop_at\":null}" },
    { "{\"events\":[],\"decisions\":[],\"labels\":[],\"meta\":[]}",
      "OK "
      "{\"capacity\":null,\"decisions\":[],\"events\":[],\"events_count\":null,\"labels\":[],"
      "\"leakspeed\":null,\"message\":null,\"scenario\":null,\"scenario_hash\":null,\"scenario_"
      "version\":null,\"simulated\":null,\"source\":null,\"start_at\":null,\"stop_at\":null}" },
    { "{\"events\":[{}],\"meta\":[{}],\"labels\":[\"a\",\"\"]}",
      "OK "
      "{\"capacity\":null,\"decisions\":null,\"events\":[{\"meta\":null,\"timestamp\":null}],"
      "\"events_count\":null,\"labels\":[\"a\",\"\"],\"leakspeed\":null,\"message\":null,\"meta\":["
      "{}],\"scenario\":null,\"scenario_hash\":null,\"scenario_version\":null,\"simulated\":null,"
      "\"source\":null,\"start_at\":null,\"stop_at\":null}" },
    { "{\"id\":0,\"uuid\":\"\",\"kind\":\"\",\"remediation\":false,\"simulated\":true,\"capacity\":"
      "0,\"events_count\":0}",
      "OK "
      "{\"capacity\":0,\"decisions\":null,\"events\":null,\"events_count\":0,\"labels\":null,"
      "\"leakspeed\":null,\"message\":null,\"scenario\":null,\"scenario_hash\":null,\"scenario_"
      "version\":null,\"simulated\":true,\"source\":null,\"start_at\":null,\"stop_at\":null}" },
    { "{\"source\":{\"latitude\":48.8582,\"longitude\":2.3522,\"scope\":\"Ip\",\"value\":\"1.2.3."
      "4\"}}",
      "OK "
      "{\"capacity\":null,\"decisions\":null,\"events\":null,\"events_count\":null,\"labels\":null,"
      "\"leakspeed\":null,\"message\":null,\"scenario\":null,\"scenario_hash\":null,\"scenario_"
      "version\":null,\"simulated\":null,\"source\":{\"latitude\":48.8582,\"longitude\":2.3522,"
      "\"scope\":\"Ip\",\"value\":\"1.2.3.4\"},\"start_at\":null,\"stop_at\":null}" },
    { "{\"source\":{\"latitude\":46,\"longitude\":-0.00001}}",
      "OK "
      "{\"capacity\":null,\"decisions\":null,\"events\":null,\"events_count\":null,\"labels\":null,"
      "\"leakspeed\":null,\"message\":null,\"scenario\":null,\"scenario_hash\":null,\"scenario_"
      "version\":null,\"simulated\":null,\"source\":{\"latitude\":46,\"longitude\":-0.00001,"
      "\"scope\":null,\"value\":null},\"start_at\":null,\"stop_at\":null}" },
    { "{\"source\":{\"latitude\":0,\"longitude\":0,\"as_name\":\"\",\"scope\":\"\",\"value\":\"\"}"
      "}",
      "OK "
      "{\"capacity\":null,\"decisions\":null,\"events\":null,\"events_count\":null,\"labels\":null,"
      "\"leakspeed\":null,\"message\":null,\"scenario\":null,\"scenario_hash\":null,\"scenario_"
      "version\":null,\"simulated\":null,\"source\":{\"scope\":\"\",\"value\":\"\"},\"start_at\":"
      "null,\"stop_at\":null}" },
    { "{\"SCENARIO\":\"x\",\"Capacity\":3,\"Events_Count\":2,\"unknown\":{\"deep\":[1,2,{\"a\":"
      "null}]},\"Source\":{\"IP\":\"1.1.1.1\",\"Scope\":\"Ip\"}}",
      "OK "
      "{\"capacity\":3,\"decisions\":null,\"events\":null,\"events_count\":2,\"labels\":null,"
      "\"leakspeed\":null,\"message\":null,\"scenario\":\"x\",\"scenario_hash\":null,\"scenario_"
      "version\":null,\"simulated\":null,\"source\":{\"ip\":\"1.1.1.1\",\"scope\":\"Ip\",\"value\":"
      "null},\"start_at\":null,\"stop_at\":null}" },
    { "{\"meta\":[{\"\\u212aey\":\"kelvin\",\"value\":\"v\"}],\"\\u017fcenario\":\"long s\"}",
      "OK "
      "{\"capacity\":null,\"decisions\":null,\"events\":null,\"events_count\":null,\"labels\":null,"
      "\"leakspeed\":null,\"message\":null,\"meta\":[{\"key\":\"kelvin\",\"value\":\"v\"}],"
      "\"scenario\":\"long "
      "s\",\"scenario_hash\":null,\"scenario_version\":null,\"simulated\":null,\"source\":null,"
      "\"start_at\":null,\"stop_at\":null}" },
    { "{\"message\":\"<script>&amp; \\u2028 \\u2029 \\u0001 \\u001f \\t \\n \\r \\\" \\\\ / "
      "\303\251 \346\274\242\345\255\227 \360\237\230\200\"}",
      "OK "
      "{\"capacity\":null,\"decisions\":null,\"events\":null,\"events_count\":null,\"labels\":null,"
      "\"leakspeed\":null,\"message\":\"\\u003cscript\\u003e\\u0026amp; \\u2028 \\u2029 \\u0001 "
      "\\u001f \\t \\n \\r \\\" \\\\ / \303\251 \346\274\242\345\255\227 "
      "\360\237\230\200\",\"scenario\":null,\"scenario_hash\":null,\"scenario_version\":null,"
      "\"simulated\":null,\"source\":null,\"start_at\":null,\"stop_at\":null}" },
    { "{\"capacity\":\"5\"}",
      "ERR json: cannot unmarshal string into Go struct field Alert.capacity of type int32" },
    { "{\"capacity\":1.5}",
      "ERR json: cannot unmarshal number 1.5 into Go struct field Alert.capacity of type int32" },
    { "{\"capacity\":3000000000}", "ERR json: cannot unmarshal number 3000000000 into Go struct "
                                   "field Alert.capacity of type int32" },
    { "{\"capacity\":-2147483648}",
      "OK "
      "{\"capacity\":-2147483648,\"decisions\":null,\"events\":null,\"events_count\":null,"
      "\"labels\":null,\"leakspeed\":null,\"message\":null,\"scenario\":null,\"scenario_hash\":"
      "null,\"scenario_version\":null,\"simulated\":null,\"source\":null,\"start_at\":null,\"stop_"
      "at\":null}" },
    { "{\"id\":1.0}", "ERR json: cannot unmarshal number 1 into Go struct field Alert.id of type "
                      "int64" }, /* Go quotes the literal (1.0); jansson keeps only the value */
    { "{\"id\":\"1\"}",
      "ERR json: cannot unmarshal string into Go struct field Alert.id of type int64" },
    { "{\"scenario\":5}",
      "ERR json: cannot unmarshal number into Go struct field Alert.scenario of type string" },
    { "{\"scenario\":true}",
      "ERR json: cannot unmarshal bool into Go struct field Alert.scenario of type string" },
    { "{\"scenario\":[]}",
      "ERR json: cannot unmarshal array into Go struct field Alert.scenario of type string" },
    { "{\"scenario\":{}}",
      "ERR json: cannot unmarshal object into Go struct field Alert.scenario of type string" },
    { "{\"uuid\":false}",
      "ERR json: cannot unmarshal bool into Go struct field Alert.uuid of type string" },
    { "{\"remediation\":\"true\"}",
      "ERR json: cannot unmarshal string into Go struct field Alert.remediation of type bool" },
    { "{\"simulated\":1}",
      "ERR json: cannot unmarshal number into Go struct field Alert.simulated of type bool" },
    { "{\"events\":\"x\"}", "ERR json: cannot unmarshal string into Go struct field Alert.events "
                            "of type []*models.Event" },
    { "{\"events\":{}}", "ERR json: cannot unmarshal object into Go struct field Alert.events of "
                         "type []*models.Event" },
    { "{\"events\":[5]}",
      "ERR json: cannot unmarshal number into Go struct field Alert.events of type models.Event" },
    { "{\"events\":[\"x\"]}",
      "ERR json: cannot unmarshal string into Go struct field Alert.events of type models.Event" },
    { "{\"events\":[{\"timestamp\":5}]}", "ERR json: cannot unmarshal number into Go struct field "
                                          "Event.events.timestamp of type string" },
    { "{\"events\":[{\"meta\":\"x\"}]}", "ERR json: cannot unmarshal string into Go struct field "
                                         "Event.events.meta of type models.Meta" },
    { "{\"events\":[{\"meta\":[1]}]}", "ERR json: cannot unmarshal number into Go struct field "
                                       "Event.events.meta of type models.MetaItems0" },
    { "{\"events\":[{\"meta\":[{\"key\":1}]}]}",
      "ERR json: cannot unmarshal number into Go struct field MetaItems0.events.meta.key of type "
      "string" },
    { "{\"meta\":{}}",
      "ERR json: cannot unmarshal object into Go struct field Alert.meta of type models.Meta" },
    { "{\"meta\":[{\"value\":[]}]}", "ERR json: cannot unmarshal array into Go struct field "
                                     "MetaItems0.meta.value of type string" },
    { "{\"decisions\":{}}", "ERR json: cannot unmarshal object into Go struct field "
                            "Alert.decisions of type []*models.Decision" },
    { "{\"decisions\":[1]}", "ERR json: cannot unmarshal number into Go struct field "
                             "Alert.decisions of type models.Decision" },
    { "{\"decisions\":[{\"id\":\"3\"}]}", "ERR json: cannot unmarshal string into Go struct field "
                                          "Decision.decisions.id of type int64" },
    { "{\"decisions\":[{\"simulated\":\"no\"}]}",
      "ERR json: cannot unmarshal string into Go struct field Decision.decisions.simulated of type "
      "bool" },
    { "{\"decisions\":[{\"simulated\":false},{\"simulated\":true},{\"simulated\":null},{}]}",
      "OK "
      "{\"capacity\":null,\"decisions\":[{\"duration\":null,\"origin\":null,\"scenario\":null,"
      "\"scope\":null,\"simulated\":false,\"type\":null,\"value\":null},{\"duration\":null,"
      "\"origin\":null,\"scenario\":null,\"scope\":null,\"simulated\":true,\"type\":null,\"value\":"
      "null},{\"duration\":null,\"origin\":null,\"scenario\":null,\"scope\":null,\"type\":null,"
      "\"value\":null},{\"duration\":null,\"origin\":null,\"scenario\":null,\"scope\":null,"
      "\"type\":null,\"value\":null}],\"events\":null,\"events_count\":null,\"labels\":null,"
      "\"leakspeed\":null,\"message\":null,\"scenario\":null,\"scenario_hash\":null,\"scenario_"
      "version\":null,\"simulated\":null,\"source\":null,\"start_at\":null,\"stop_at\":null}" },
    { "{\"source\":\"1.2.3.4\"}",
      "ERR json: cannot unmarshal string into Go struct field Alert.source of type models.Source" },
    { "{\"source\":[]}",
      "ERR json: cannot unmarshal array into Go struct field Alert.source of type models.Source" },
    { "{\"source\":5}",
      "ERR json: cannot unmarshal number into Go struct field Alert.source of type models.Source" },
    { "{\"source\":{\"latitude\":\"1\"}}", "ERR json: cannot unmarshal string into Go struct field "
                                           "Source.source.latitude of type float32" },
    { "{\"source\":{\"latitude\":1e39}}",
      "ERR json: cannot unmarshal number 1e+39 into Go struct field Source.source.latitude of type "
      "float32" }, /* Go quotes the literal (1e39); jansson keeps only the value */
    { "{\"source\":{\"latitude\":true}}", "ERR json: cannot unmarshal bool into Go struct field "
                                          "Source.source.latitude of type float32" },
    { "{\"source\":{\"scope\":1}}",
      "ERR json: cannot unmarshal number into Go struct field Source.source.scope of type string" },
    { "{\"source\":{\"ip\":null,\"scope\":null}}",
      "OK "
      "{\"capacity\":null,\"decisions\":null,\"events\":null,\"events_count\":null,\"labels\":null,"
      "\"leakspeed\":null,\"message\":null,\"scenario\":null,\"scenario_hash\":null,\"scenario_"
      "version\":null,\"simulated\":null,\"source\":{\"scope\":null,\"value\":null},\"start_at\":"
      "null,\"stop_at\":null}" },
    { "{\"labels\":\"a\"}",
      "ERR json: cannot unmarshal string into Go struct field Alert.labels of type []string" },
    { "{\"labels\":[1]}",
      "ERR json: cannot unmarshal number into Go struct field Alert.labels of type string" },
    { "{\"labels\":[null,\"b\"]}",
      "OK "
      "{\"capacity\":null,\"decisions\":null,\"events\":null,\"events_count\":null,\"labels\":["
      "\"\",\"b\"],\"leakspeed\":null,\"message\":null,\"scenario\":null,\"scenario_hash\":null,"
      "\"scenario_version\":null,\"simulated\":null,\"source\":null,\"start_at\":null,\"stop_at\":"
      "null}" },
    { "[]", "ERR json: cannot unmarshal array into Go value of type models.Alert" },
    { "\"x\"", "ERR json: cannot unmarshal string into Go value of type models.Alert" },
    { "5", "ERR json: cannot unmarshal number into Go value of type models.Alert" },
    { "{\"capacity\":null,\"events_count\":null,\"simulated\":null,\"source\":null,\"events\":"
      "null}",
      "OK "
      "{\"capacity\":null,\"decisions\":null,\"events\":null,\"events_count\":null,\"labels\":null,"
      "\"leakspeed\":null,\"message\":null,\"scenario\":null,\"scenario_hash\":null,\"scenario_"
      "version\":null,\"simulated\":null,\"source\":null,\"start_at\":null,\"stop_at\":null}" },
    { "{\"scenario\":\"a\",\"scenario\":null}",
      "OK "
      "{\"capacity\":null,\"decisions\":null,\"events\":null,\"events_count\":null,\"labels\":null,"
      "\"leakspeed\":null,\"message\":null,\"scenario\":null,\"scenario_hash\":null,\"scenario_"
      "version\":null,\"simulated\":null,\"source\":null,\"start_at\":null,\"stop_at\":null}" },
    { "{\"scenario\":\"a\",\"Scenario\":\"b\"}",
      "OK "
      "{\"capacity\":null,\"decisions\":null,\"events\":null,\"events_count\":null,\"labels\":null,"
      "\"leakspeed\":null,\"message\":null,\"scenario\":\"b\",\"scenario_hash\":null,\"scenario_"
      "version\":null,\"simulated\":null,\"source\":null,\"start_at\":null,\"stop_at\":null}" },
    { "{\"source\":{\"ip\":\"1.2.3.4\"},\"Source\":{\"cn\":\"FR\"}}",
      "OK "
      "{\"capacity\":null,\"decisions\":null,\"events\":null,\"events_count\":null,\"labels\":null,"
      "\"leakspeed\":null,\"message\":null,\"scenario\":null,\"scenario_hash\":null,\"scenario_"
      "version\":null,\"simulated\":null,\"source\":{\"cn\":\"FR\",\"ip\":\"1.2.3.4\",\"scope\":"
      "null,\"value\":null},\"start_at\":null,\"stop_at\":null}" },
    { "{\"capacity\":\"x\",\"scenario\":5}",
      "ERR json: cannot unmarshal string into Go struct field Alert.capacity of type int32" },
    { "{\"id\":9223372036854775807,\"capacity\":2147483647,\"events_count\":-1}",
      "OK "
      "{\"capacity\":2147483647,\"decisions\":null,\"events\":null,\"events_count\":-1,\"id\":"
      "9223372036854775807,\"labels\":null,\"leakspeed\":null,\"message\":null,\"scenario\":null,"
      "\"scenario_hash\":null,\"scenario_version\":null,\"simulated\":null,\"source\":null,\"start_"
      "at\":null,\"stop_at\":null}" },
};

static void
test_alert_go_table(void **state)
{
    (void)state;
    run_table(alert_cases, ARRAY_SIZE(alert_cases), false);
}

static const struct codec_case decision_cases[] = {
    { "{\"id\":3,\"uuid\":\"d-1\",\"origin\":\"crowdsec\",\"type\":\"ban\",\"scope\":\"Ip\","
      "\"value\":\"1.2.3.4\",\"duration\":\"3h59m59s\",\"until\":\"2024-01-01T04:00:00Z\","
      "\"scenario\":\"crowdsecurity/ssh-bf\"}",
      "OK "
      "{\"duration\":\"3h59m59s\",\"id\":3,\"origin\":\"crowdsec\",\"scenario\":\"crowdsecurity/"
      "ssh-bf\",\"scope\":\"Ip\",\"type\":\"ban\",\"until\":\"2024-01-01T04:00:00Z\",\"uuid\":\"d-"
      "1\",\"value\":\"1.2.3.4\"}" },
    { "{\"duration\":\"4h\",\"origin\":\"cscli\",\"scenario\":\"manual\",\"scope\":\"Range\","
      "\"type\":\"captcha\",\"value\":\"10.0.0.0/8\",\"simulated\":false}",
      "OK "
      "{\"duration\":\"4h\",\"origin\":\"cscli\",\"scenario\":\"manual\",\"scope\":\"Range\","
      "\"simulated\":false,\"type\":\"captcha\",\"value\":\"10.0.0.0/8\"}" },
    { "{\"simulated\":true,\"id\":0,\"until\":\"\",\"uuid\":\"\"}",
      "OK "
      "{\"duration\":null,\"origin\":null,\"scenario\":null,\"scope\":null,\"simulated\":true,"
      "\"type\":null,\"value\":null}" },
    { "{}", "OK "
            "{\"duration\":null,\"origin\":null,\"scenario\":null,\"scope\":null,\"type\":null,"
            "\"value\":null}" },
    { "{\"id\":\"3\"}",
      "ERR json: cannot unmarshal string into Go struct field Decision.id of type int64" },
    { "{\"Value\":\"x\",\"TYPE\":\"ban\",\"extra\":[1,2,3]}",
      "OK "
      "{\"duration\":null,\"origin\":null,\"scenario\":null,\"scope\":null,\"type\":\"ban\","
      "\"value\":\"x\"}" },
    { "{\"duration\":5}",
      "ERR json: cannot unmarshal number into Go struct field Decision.duration of type string" },
    { "[]", "ERR json: cannot unmarshal array into Go value of type models.Decision" },
};

static void
test_decision_go_table(void **state)
{
    (void)state;
    run_table(decision_cases, ARRAY_SIZE(decision_cases), true);
}

/* float32 bit patterns and Go's json.Marshal of them ("" = Go refuses: NaN, Inf). */
static const struct {
    uint32_t bits;
    const char *go;
} float_cases[] = {
    { 0x00000000u, "0" },
    { 0x80000000u, "-0" },
    { 0x7f800000u, "" },
    { 0xff800000u, "" },
    { 0x7fc00000u, "" },
    { 0x00000001u, "1e-45" },
    { 0x7f7fffffu, "3.4028235e+38" },
    { 0x00800000u, "1.1754944e-38" },
    { 0x42380000u, "46" },
    { 0x3fc00000u, "1.5" },
    { 0x40200000u, "2.5" },
    { 0x3dcccccdu, "0.1" },
    { 0x42436eccu, "48.8582" },
    { 0x40168a72u, "2.3522" },
    { 0xb727c5acu, "-0.00001" },
    { 0x358637bdu, "0.000001" },
    { 0x35861561u, "9.99e-7" },
    { 0x6258d727u, "1e+21" },
    { 0x60ad78ecu, "100000000000000000000" },
    { 0x4ceb79a3u, "123456790" },
    { 0x4b800000u, "16777216" },
    { 0x7f7fffffu, "3.4028235e+38" },
    { 0x00000001u, "1e-45" },
    { 0x3e99999au, "0.3" },
    { 0x42c80000u, "100" },
    { 0xc3340000u, "-180" },
    { 0x43340000u, "180" },
    { 0x42370000u, "45.75" },
    { 0x3727c5acu, "0.00001" },
    { 0x3851b717u, "0.00005" },
    { 0x2265b1f5u, "3.1129497e-18" },
    { 0x91b7584au, "-2.8926721e-28" },
    { 0xd8f16adfu, "-2123530500000000" },
    { 0xcd613e30u, "-236184320" },
    { 0xc386bbc4u, "-269.46692" },
    { 0x1027c4d1u, "3.3086565e-29" },
    { 0x414c343cu, "12.762753" },
    { 0x1e2feb89u, "9.31313e-21" },
    { 0x7ed4d57bu, "1.4145239e+38" },
    { 0xc2ce6f44u, "-103.217316" },
};

static void
test_float32_format(void **state)
{
    (void)state;
    char buf[64];
    int failed = 0;

    for (size_t i = 0; i < ARRAY_SIZE(float_cases); i++) {
        float f;
        memcpy(&f, &float_cases[i].bits, sizeof(f));
        int n = model_format_float32(f, buf, sizeof(buf));
        const char *got = n < 0 ? "" : buf;
        if (strcmp(got, float_cases[i].go) != 0) {
            print_error("0x%08x: expected '%s' got '%s'\n", float_cases[i].bits, float_cases[i].go,
                        got);
            failed++;
        }
    }
    assert_int_equal(failed, 0);
    /* Too small a buffer is refused, not truncated. */
    assert_int_equal(model_format_float32(48.8582f, buf, 7), -EINVAL);
    assert_int_equal(model_format_float32(48.8582f, buf, 8), 7);
    assert_string_equal(buf, "48.8582");
}

/* The spec digest's example (section 2), with its ".." placeholders filled in. */
static const char spec_example[] =
    "{\"id\":1,\"uuid\":\"u\",\"machine_id\":\"m\",\"created_at\":\"2024-01-01T00:00:00Z\","
    "\"kind\":\"crowdsec\",\"scenario\":\"crowdsecurity/ssh-bf\",\"scenario_hash\":\"h\","
    "\"scenario_version\":\"0.3\",\"message\":\"msg\",\"events_count\":6,\"start_at\":\"s\","
    "\"stop_at\":\"t\",\"capacity\":5,\"leakspeed\":\"10s\",\"simulated\":false,"
    "\"remediation\":true,\"events\":[{\"timestamp\":\"ts\",\"meta\":[{\"key\":\"k\",\"value\":"
    "\"v\"}]}],\"meta\":[{\"key\":\"user\",\"value\":\"[\\\"root\\\"]\"}],"
    "\"decisions\":[{\"id\":3,\"uuid\":\"d\",\"origin\":\"crowdsec\",\"type\":\"ban\",\"scope\":"
    "\"Ip\",\"value\":\"1.2.3.4\",\"duration\":\"3h59m59s\",\"until\":\"u2\",\"scenario\":\"sc\"}],"
    "\"source\":{\"scope\":\"Ip\",\"value\":\"1.2.3.4\",\"ip\":\"1.2.3.4\",\"range\":"
    "\"1.2.3.0/24\",\"as_number\":\"1\",\"as_name\":\"X\",\"cn\":\"FR\",\"latitude\":1.5,"
    "\"longitude\":2.5},\"labels\":null}";

static void
test_spec_example(void **state)
{
    (void)state;
    char err[256];
    json_t *in = json_loads(spec_example, 0, NULL);
    struct alert a;

    assert_non_null(in);
    assert_int_equal(alert_from_json(in, &a, err, sizeof(err)), 0);
    assert_string_equal(a.scenario, "crowdsecurity/ssh-bf");
    assert_int_equal(a.events_count, 6);
    assert_int_equal(a.capacity, 5);
    assert_int_equal(a.absent, 0);
    assert_true(a.remediation);
    assert_false(a.simulated);
    assert_int_equal(a.nevents, 1);
    assert_string_equal(meta_get(&a.events[0].meta, "k"), "v");
    assert_string_equal(meta_get(&a.meta, "user"), "[\"root\"]");
    assert_int_equal(a.ndecisions, 1);
    assert_int_equal(a.decisions[0].id, 3);
    assert_string_equal(a.decisions[0].duration, "3h59m59s");
    assert_false(a.decisions[0].simulated_set);
    assert_non_null(a.source);
    assert_true(a.source->latitude == 1.5f);
    assert_string_equal(alert_scope(&a), "Ip");
    assert_null(a.labels);
    assert_int_equal(alert_validate(&a, err, sizeof(err)), 0);

    json_t *out = alert_to_json(&a);
    assert_non_null(out);
    assert_true(json_equal(in, out));
    json_decref(out);
    alert_clear(&a);
    json_decref(in);
}

/* An alert built in C the way the bucket code does, through JSON and back. */
static void
test_roundtrip_from_c(void **state)
{
    (void)state;
    char err[256];
    struct alert *a = alert_new(), b;

    assert_non_null(a);
    assert_int_equal(model_strset(&a->scenario, "crowdsecurity/http-probing"), 0);
    assert_int_equal(model_strset(&a->scenario_hash, ""), 0);
    assert_int_equal(model_strset(&a->scenario_version, "0.1"), 0);
    assert_int_equal(model_strset(&a->message, "probing <x> & \"y\""), 0);
    assert_int_equal(model_strset(&a->start_at, "2024-05-01T10:00:00.123456789Z"), 0);
    assert_int_equal(model_strset(&a->stop_at, "2024-05-01T10:00:01Z"), 0);
    assert_int_equal(model_strset(&a->leakspeed, "10s"), 0);
    a->capacity = 10;
    a->events_count = 11;
    a->simulated = true;
    for (int i = 0; i < 3; i++) {
        struct alert_event *e = alert_add_event(a);
        assert_non_null(e);
        assert_int_equal(model_strset(&e->timestamp, "2024-05-01T10:00:00Z"), 0);
        assert_int_equal(meta_append(&e->meta, "source_ip", "192.0.2.1"), 0);
        assert_int_equal(meta_append(&e->meta, "http_path", i == 1 ? "/a\nb" : "/"), 0);
    }
    a->source = calloc(1, sizeof(*a->source));
    assert_non_null(a->source);
    assert_int_equal(model_strset(&a->source->scope, "Ip"), 0);
    assert_int_equal(model_strset(&a->source->value, "192.0.2.1"), 0);
    assert_int_equal(model_strset(&a->source->cn, "FR"), 0);
    a->source->latitude = 48.8582f;
    a->source->longitude = 2.3522f;
    assert_int_equal(alert_add_label(a, "l1"), 0);
    assert_int_equal(alert_validate(a, err, sizeof(err)), 0);

    json_t *j = alert_to_json(a);
    assert_non_null(j);
    assert_true(json_is_null(json_object_get(j, "decisions")));
    assert_null(json_object_get(j, "id"));
    assert_null(json_object_get(j, "meta")); /* omitempty */
    assert_true(json_is_true(json_object_get(j, "simulated")));
    char *text = model_json_dumps(json_object_get(j, "source"));
    assert_non_null(text);
    assert_string_equal(
        text, "{\"cn\":\"FR\",\"latitude\":48.8582,\"longitude\":2.3522,\"scope\":\"Ip\",\"value\":"
              "\"192.0.2.1\"}");
    free(text);

    assert_int_equal(alert_from_json(j, &b, err, sizeof(err)), 0);
    assert_string_equal(b.message, a->message);
    assert_int_equal(b.nevents, 3);
    assert_string_equal(meta_get(&b.events[1].meta, "http_path"), "/a\nb");
    assert_true(b.source->latitude == a->source->latitude);
    assert_true(b.source->longitude == a->source->longitude);
    assert_int_equal(b.nlabels, 1);
    assert_string_equal(b.labels[0], "l1");
    json_t *j2 = alert_to_json(&b);
    assert_true(json_equal(j, j2));
    json_decref(j2);
    json_decref(j);
    alert_clear(&b);
    alert_free(a);
}

static void
test_decision_omitempty(void **state)
{
    (void)state;
    struct decision d = { 0 };
    char *s;
    json_t *j;

    assert_int_equal(model_strset(&d.value, "1.2.3.4"), 0);
    j = decision_to_json(&d);
    s = model_json_dumps(j);
    assert_string_equal(s, "{\"duration\":null,\"origin\":null,\"scenario\":null,\"scope\":null,"
                           "\"type\":null,\"value\":\"1.2.3.4\"}");
    free(s);
    json_decref(j);
    /* FormatOneAlert's &decisionItem.Simulated: present even when false. */
    d.simulated_set = true;
    d.id = 42;
    assert_int_equal(model_strset(&d.until, "2024-01-01T00:00:00Z"), 0);
    j = decision_to_json(&d);
    assert_true(json_is_false(json_object_get(j, "simulated")));
    assert_int_equal(json_integer_value(json_object_get(j, "id")), 42);
    assert_string_equal(json_string_value(json_object_get(j, "until")), "2024-01-01T00:00:00Z");
    assert_null(json_object_get(j, "uuid"));
    json_decref(j);
    decision_clear(&d);

    /* GET /v1/decisions answers null when empty: an array of none decodes to zero items. */
    struct decision *arr = NULL;
    size_t n = 99;
    char err[256];
    json_t *null = json_null();
    assert_int_equal(decisions_from_json_array(null, &arr, &n, err, sizeof(err)), 0);
    assert_int_equal(n, 0);
    free(arr);
    json_decref(null);
}

static void
test_encoder_strings_and_floats(void **state)
{
    (void)state;
    struct alert a = { 0 };
    json_t *j;
    char *s;

    /* Invalid UTF-8 becomes U+FFFD per byte, as Go's encoder does. */
    assert_int_equal(model_strset(&a.message, "a\xff"
                                              "b\xe2\x82"
                                              "c\xed\xa0\x80"),
                     0);
    a.source = calloc(1, sizeof(*a.source));
    assert_non_null(a.source);
    a.source->latitude = 46.0f;
    a.source->longitude = 0.1f;
    j = alert_to_json(&a);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "message")),
                        "a\xef\xbf\xbd"
                        "b\xef\xbf\xbd\xef\xbf\xbd"
                        "c\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
    /* Integral float32 values are JSON integers, so even json_dumps prints them like Go. */
    assert_true(json_is_integer(json_object_get(json_object_get(j, "source"), "latitude")));
    s = model_json_dumps(json_object_get(j, "source"));
    assert_string_equal(s, "{\"latitude\":46,\"longitude\":0.1,\"scope\":null,\"value\":null}");
    free(s);
    json_decref(j);

    /* Go's encoder refuses NaN and Inf; so do we. */
    a.source->longitude = NAN;
    assert_null(alert_to_json(&a));
    a.source->longitude = INFINITY;
    assert_null(alert_to_json(&a));
    alert_clear(&a);

    /* Empty-but-not-nil arrays print [], nil ones null. */
    struct alert e = { 0 };
    e.events = calloc(1, sizeof(*e.events));
    e.labels = calloc(1, sizeof(*e.labels));
    assert_non_null(e.events);
    assert_non_null(e.labels);
    j = alert_to_json(&e);
    assert_int_equal(json_array_size(json_object_get(j, "events")), 0);
    assert_true(json_is_array(json_object_get(j, "labels")));
    assert_true(json_is_null(json_object_get(j, "decisions")));
    json_decref(j);
    alert_clear(&e);
}

struct validate_case {
    const char *input;
    const char *expected; /* "" = valid */
};

#define VALID_ALERT                                                                                \
    "\"capacity\":1,\"events_count\":1,\"leakspeed\":\"1s\",\"message\":\"\",\"scenario\":\"s\","  \
    "\"scenario_hash\":\"\",\"scenario_version\":\"\",\"simulated\":false,\"start_at\":\"\","      \
    "\"stop_at\":\"\",\"source\":{\"scope\":\"Ip\",\"value\":\"1.2.3.4\"}"

static const struct validate_case validate_cases[] = {
    { "{" VALID_ALERT ",\"events\":[]}", "" },
    { "{" VALID_ALERT ",\"events\":[{\"meta\":[],\"timestamp\":\"t\"}]}", "" },
    { "{}", "validation failure list:\n"
            "capacity in body is required\n"
            "events in body is required\n"
            "events_count in body is required\n"
            "leakspeed in body is required\n"
            "message in body is required\n"
            "scenario in body is required\n"
            "scenario_hash in body is required\n"
            "scenario_version in body is required\n"
            "simulated in body is required\n"
            "source in body is required\n"
            "start_at in body is required\n"
            "stop_at in body is required" },
    { "{" VALID_ALERT ",\"events\":null,\"capacity\":null}",
      "validation failure list:\ncapacity in body is required\nevents in body is required" },
    { "{" VALID_ALERT ",\"events\":[{\"meta\":[],\"timestamp\":\"t\"},{},{}]}",
      "validation failure list:\nvalidation failure list:\n"
      "events.1.meta in body is required\nevents.1.timestamp in body is required" },
    { "{" VALID_ALERT ",\"events\":[],\"source\":{\"ip\":\"1.2.3.4\"}}",
      "validation failure list:\nvalidation failure list:\n"
      "source.scope in body is required\nsource.value in body is required" },
    { "{" VALID_ALERT ",\"events\":[],\"decisions\":[{\"duration\":\"1h\",\"origin\":\"o\","
      "\"scenario\":\"s\",\"scope\":\"Ip\",\"type\":\"ban\",\"value\":\"v\"},{\"value\":\"v\"}]}",
      "validation failure list:\nvalidation failure list:\n"
      "decisions.1.duration in body is required\ndecisions.1.origin in body is required\n"
      "decisions.1.scenario in body is required\ndecisions.1.scope in body is required\n"
      "decisions.1.type in body is required" },
};

static void
test_validate(void **state)
{
    (void)state;
    char err[2048];
    int failed = 0;

    for (size_t i = 0; i < ARRAY_SIZE(validate_cases); i++) {
        json_t *j = json_loads(validate_cases[i].input, 0, NULL);
        struct alert a;
        assert_non_null(j);
        assert_int_equal(alert_from_json(j, &a, err, sizeof(err)), 0);
        int rc = alert_validate(&a, err, sizeof(err));
        const char *got = rc == 0 ? "" : err;
        if ((rc == 0) != (*validate_cases[i].expected == '\0') ||
            strcmp(got, validate_cases[i].expected) != 0) {
            print_error("case %zu: %s\n  expected %s\n  got      %s\n", i, validate_cases[i].input,
                        validate_cases[i].expected, got);
            failed++;
        }
        alert_clear(&a);
        json_decref(j);
    }
    assert_int_equal(failed, 0);

    /* AddAlertsRequest: the first invalid alert, names prefixed with its index. */
    json_t *arr = json_loads("[{" VALID_ALERT ",\"events\":[]},{" VALID_ALERT
                             ",\"events\":[],\"source\":{\"scope\":\"Ip\"}},{}]",
                             0, NULL);
    struct alert *as = NULL;
    size_t n = 0;
    assert_int_equal(alerts_from_json_array(arr, &as, &n, err, sizeof(err)), 0);
    assert_int_equal(n, 3);
    assert_int_equal(alerts_validate(as, n, err, sizeof(err)), -EINVAL);
    assert_string_equal(err, "validation failure list:\nvalidation failure list:\n"
                             "1.source.value in body is required");
    assert_int_equal(alerts_validate(as, 1, err, sizeof(err)), 0);
    for (size_t i = 0; i < n; i++)
        alert_clear(&as[i]);
    free(as);
    json_decref(arr);

    struct decision d = { 0 };
    assert_int_equal(decision_validate(&d, err, sizeof(err)), -EINVAL);
    assert_true(strncmp(err, "validation failure list:\nduration in body is required\n", 54) == 0);
    /* A short buffer truncates the message, never overflows. */
    assert_int_equal(decision_validate(&d, err, 10), -EINVAL);
    assert_string_equal(err, "validatio");
}

static void
test_arrays(void **state)
{
    (void)state;
    char err[256];
    struct alert *as = NULL;
    size_t n = 0;
    json_t *j;

    j = json_loads("{\"a\":1}", 0, NULL);
    assert_int_equal(alerts_from_json_array(j, &as, &n, err, sizeof(err)), -EINVAL);
    assert_string_equal(
        err, "json: cannot unmarshal object into Go value of type models.AddAlertsRequest");
    json_decref(j);

    /* An error in the second alert frees the first and reports Go's message. */
    j = json_loads("[{\"scenario\":\"a\"},{\"events\":[{\"meta\":[{\"value\":7}]}]}]", 0, NULL);
    assert_int_equal(alerts_from_json_array(j, &as, &n, err, sizeof(err)), -EINVAL);
    assert_string_equal(err, "json: cannot unmarshal number into Go struct field "
                             "MetaItems0.events.meta.value of type string");
    json_decref(j);

    j = json_loads("[{\"scenario\":\"a\"},{\"scenario\":\"b\",\"id\":7}]", 0, NULL);
    assert_int_equal(alerts_from_json_array(j, &as, &n, err, sizeof(err)), 0);
    assert_int_equal(n, 2);
    assert_string_equal(as[1].scenario, "b");
    json_t *out = alerts_to_json_array(as, n);
    assert_int_equal(json_array_size(out), 2);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(out, 1), "id")), 7);
    json_decref(out);
    for (size_t i = 0; i < n; i++)
        alert_clear(&as[i]);
    free(as);
    json_decref(j);

    struct decision ds[2] = { { .id = 1 }, { .id = 2, .simulated = true } };
    out = decisions_to_json_array(ds, 2);
    char *s = model_json_dumps(out);
    assert_string_equal(s,
                        "[{\"duration\":null,\"id\":1,\"origin\":null,\"scenario\":null,\"scope\":"
                        "null,\"type\":null,\"value\":null},{\"duration\":null,\"id\":2,\"origin\""
                        ":null,\"scenario\":null,\"scope\":null,\"simulated\":true,\"type\":null,"
                        "\"value\":null}]");
    free(s);
    json_decref(out);
}

static void
test_hostile(void **state)
{
    (void)state;
    char err[256];
    struct alert a;

    /* Deep nesting in an unknown field is skipped without being walked. */
    struct str deep = STR_INIT;
    assert_int_equal(str_append_cstr(&deep, "{\"scenario\":\"s\",\"x\":"), 0);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(str_append_char(&deep, '['), 0);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(str_append_char(&deep, ']'), 0);
    assert_int_equal(str_append_char(&deep, '}'), 0);
    json_t *j = json_loads(deep.buf, 0, NULL);
    assert_non_null(j);
    assert_int_equal(alert_from_json(j, &a, err, sizeof(err)), 0);
    assert_string_equal(a.scenario, "s");
    alert_clear(&a);
    /* model_json_dumps bounds its own recursion. */
    assert_null(model_json_dumps(json_object_get(j, "x")));
    json_decref(j);
    str_free(&deep);

    /* A large events array decodes in full (size limits are the HTTP layer's). */
    json_t *events = json_array();
    for (int i = 0; i < 20000; i++)
        json_array_append_new(events, json_pack("{s:s,s:[{s:s,s:s}]}", "timestamp", "t", "meta",
                                                "key", "k", "value", "v"));
    j = json_pack("{s:o}", "events", events);
    assert_int_equal(alert_from_json(j, &a, err, sizeof(err)), 0);
    assert_int_equal(a.nevents, 20000);
    assert_string_equal(a.events[19999].meta.items[0].value, "v");
    alert_clear(&a);
    json_decref(j);

    /* A NUL inside a string cannot live in a C string: refused, not truncated. */
    j = json_loads("{\"scenario\":\"a\\u0000b\"}", JSON_ALLOW_NUL, NULL);
    assert_non_null(j);
    assert_int_equal(alert_from_json(j, &a, err, sizeof(err)), -EINVAL);
    assert_string_equal(err, "json: NUL character in Go struct field Alert.scenario");
    json_decref(j);

    /* A type error late in the document leaves nothing allocated behind (ASan checks). */
    j = json_loads(
        "{\"scenario\":\"a\",\"events\":[{\"timestamp\":\"t\",\"meta\":[{\"key\":\"k\"}]}],"
        "\"source\":{\"ip\":\"1.2.3.4\"},\"labels\":[\"x\",{}]}",
        0, NULL);
    assert_int_equal(alert_from_json(j, &a, err, sizeof(err)), -EINVAL);
    assert_string_equal(
        err, "json: cannot unmarshal object into Go struct field Alert.labels of type string");
    json_decref(j);

    /* Errors with no room for a message still fail cleanly. */
    j = json_loads("{\"capacity\":\"x\"}", 0, NULL);
    assert_int_equal(alert_from_json(j, &a, NULL, 0), -EINVAL);
    json_decref(j);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alert_go_table),
        cmocka_unit_test(test_decision_go_table),
        cmocka_unit_test(test_float32_format),
        cmocka_unit_test(test_spec_example),
        cmocka_unit_test(test_roundtrip_from_c),
        cmocka_unit_test(test_decision_omitempty),
        cmocka_unit_test(test_encoder_strings_and_floats),
        cmocka_unit_test(test_validate),
        cmocka_unit_test(test_arrays),
        cmocka_unit_test(test_hostile),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * fuzz_profiles.c - libFuzzer harness for the Local API's profiles.yaml:
 * the input is one profiles file (any number of documents), loaded with
 * profiles_load_buffer() as tests/lapi/test_profiles.c does, then applied
 * to four fixed alerts (an Ip alert, a Range alert with events and meta, a
 * simulated alert without stop_at, and one that came with a decision), so
 * compiled filters and duration_expr are evaluated too.
 *
 * Checked: a load error carries a message and a line >= 0; profiles_apply
 * returns 0, or -1 with a message; a given decision is never touched; every
 * decision attached carries the fields the store needs (type, scope, value,
 * origin "crowdsec[/...]", the alert's scenario, a duration).
 *
 * Inputs naming helpers with outside effects (HTTP, DNS, CTI, logging), or
 * holding a backslash or a !!binary tag (a YAML escape could spell one),
 * are loaded but not evaluated: a fuzzer must not talk to the network.
 *
 * FUZZ_PROFILES_TRACE=1 prints the load error or the decisions of each alert.
 */
#include "common/common.h"

#include <jansson.h>

#include "common/str.h"
#include "expr/expr.h"
#include "fuzz.h"
#include "lapi/profiles.h"
#include "model/model.h"

#define FUZZ_MAX_INPUT (1u << 16)

static const char *const alerts_json[] = {
    "{\"scenario\":\"crowdsecurity/ssh-bf\",\"scenario_hash\":\"abc\",\"scenario_version\":\"0.1\","
    "\"message\":\"Ip 1.2.3.4 performed 'crowdsecurity/ssh-bf' (6 events over 2s)\","
    "\"events_count\":6,\"capacity\":5,\"leakspeed\":\"10s\",\"simulated\":false,"
    "\"remediation\":true,\"start_at\":\"2024-01-01T09:59:58Z\",\"stop_at\":\"2024-01-01T10:00:"
    "00Z\","
    "\"events\":[{\"timestamp\":\"2024-01-01T09:59:58Z\",\"meta\":[{\"key\":\"source_ip\","
    "\"value\":\"1.2.3.4\"},{\"key\":\"target_user\",\"value\":\"root\"}]}],"
    "\"meta\":[{\"key\":\"target_user\",\"value\":\"[\\\"root\\\"]\"}],"
    "\"source\":{\"scope\":\"Ip\",\"value\":\"1.2.3.4\",\"ip\":\"1.2.3.4\",\"cn\":\"FR\","
    "\"as_name\":\"OVH SAS\",\"as_number\":\"16276\",\"range\":\"1.2.3.0/24\","
    "\"latitude\":48.85,\"longitude\":2.35}}",
    "{\"scenario\":\"crowdsecurity/http-probing\",\"events_count\":12,\"capacity\":10,"
    "\"leakspeed\":\"10s\",\"simulated\":false,\"remediation\":true,"
    "\"start_at\":\"2024-01-01T10:00:00.5+02:00\",\"stop_at\":\"2024-01-01T10:00:10.25+02:00\","
    "\"events\":[{\"timestamp\":\"2024-01-01T10:00:00+02:00\",\"meta\":[{\"key\":\"http_path\","
    "\"value\":\"/admin\"}]},{\"timestamp\":\"2024-01-01T10:00:05+02:00\",\"meta\":[]}],"
    "\"labels\":[\"http\",\"probe\"],\"source\":{\"scope\":\"Range\",\"value\":\"10.0.0.0/8\"}}",
    "{\"scenario\":\"me/custom\",\"events_count\":1,\"capacity\":0,\"simulated\":true,"
    "\"remediation\":false,\"source\":{\"scope\":\"Username\",\"value\":\"admin\"}}",
    "{\"scenario\":\"manual 'ban' from 'cscli'\",\"remediation\":true,"
    "\"stop_at\":\"2024-01-01T10:00:00Z\",\"source\":{\"scope\":\"Ip\",\"value\":\"::1\"},"
    "\"decisions\":[{\"type\":\"captcha\",\"duration\":\"1h\",\"scope\":\"Ip\",\"value\":\"::1\","
    "\"origin\":\"cscli\",\"scenario\":\"manual\"}]}",
};

static struct {
    struct alert alerts[ARRAY_SIZE(alerts_json)];
    struct expr_vm *vm;
    bool ready, trace;
} state;

static struct gotime
fixed_clock(void)
{
    return (struct gotime){ .unix_ns = INT64_C(1709634030) * 1000000000, .offset_s = 0 };
}

static int64_t
fake_count(void *ctx, const char *value, bool active_only, int64_t since_ns)
{
    (void)ctx;
    (void)since_ns;
    return strcmp(value, "1.2.3.4") == 0 ? (active_only ? 1 : 3) : 0;
}

static int64_t
fake_time_left(void *ctx, const char *value)
{
    (void)ctx;
    return strcmp(value, "1.2.3.4") == 0 ? INT64_C(3600) * 1000000000 : 0;
}

static const struct expr_decisions_provider fake_db = { NULL, fake_count, fake_time_left };

void
fuzz_expr_cleanup(void)
{
    for (size_t i = 0; i < ARRAY_SIZE(state.alerts); i++)
        alert_clear(&state.alerts[i]);
    expr_vm_free(state.vm);
    expr_set_decisions_provider(NULL);
    expr_stash_reset();
    memset(&state, 0, sizeof(state));
}

static void
setup(void)
{
    char msg[256];

    if (state.ready)
        return;
    state.trace = getenv("FUZZ_PROFILES_TRACE") != NULL;
    expr_set_clock(fixed_clock);
    expr_set_decisions_provider(&fake_db);
    for (size_t i = 0; i < ARRAY_SIZE(alerts_json); i++) {
        json_error_t jerr;
        json_t *j = json_loads(alerts_json[i], 0, &jerr);
        if (j == NULL || alert_from_json(j, &state.alerts[i], msg, sizeof(msg)) != 0) {
            fprintf(stderr, "fuzz_profiles: alert %zu does not load\n", i);
            abort();
        }
        json_decref(j);
    }
    if ((state.vm = expr_vm_new()) == NULL)
        abort();
    state.ready = true;
}

static bool
has_outside_effects(const char *src, size_t len)
{
    static const char *const names[] = { "HTTP",    "LookupHost", "CrowdsecCTI", "LogInfo",
                                         "reverse", "\\",         "!!binary" };
    struct strv s = { src, len };

    for (size_t i = 0; i < ARRAY_SIZE(names); i++)
        if (strv_find(s, strv_from_cstr(names[i])) >= 0)
            return true;
    return false;
}

/* A decision the profiles attached to a, checked for what the store will need. */
static void
check_decision(const struct alert *a, const struct decision *d)
{
    if (d->type == NULL || d->scope == NULL || d->value == NULL || d->origin == NULL ||
        d->scenario == NULL || d->duration == NULL || strncmp(d->origin, "crowdsec", 8) != 0 ||
        (d->origin[8] != '\0' && d->origin[8] != '/') || strcmp(d->scenario, a->scenario) != 0 ||
        strcmp(d->value, a->source->value) != 0) {
        fprintf(stderr, "fuzz_profiles: incomplete decision %s %s %s %s %s\n",
                d->type ? d->type : "-", d->scope ? d->scope : "-", d->value ? d->value : "-",
                d->origin ? d->origin : "-", d->duration ? d->duration : "-");
        abort();
    }
}

static void
apply_all(const struct profiles *p)
{
    for (size_t i = 0; i < ARRAY_SIZE(state.alerts); i++) {
        const struct alert *orig = &state.alerts[i];
        struct alert a = { 0 };
        char msg[512] = "";
        json_t *j = alert_to_json(orig);

        /* A fresh copy per call: profiles_apply fills the decisions in place. */
        if (j == NULL || alert_from_json(j, &a, msg, sizeof(msg)) != 0)
            abort();
        json_decref(j);
        int rc = profiles_apply(p, state.vm, &a, msg, sizeof(msg));
        if (rc != 0 && (rc != -1 || msg[0] == '\0')) {
            fprintf(stderr, "fuzz_profiles: profiles_apply returned %d ('%s')\n", rc, msg);
            abort();
        }
        if (orig->ndecisions > 0) {
            if (a.ndecisions != orig->ndecisions || strcmp(a.decisions[0].origin, "cscli") != 0) {
                fprintf(stderr, "fuzz_profiles: a given decision was replaced\n");
                abort();
            }
        } else if (rc == 0) {
            for (size_t k = 0; k < a.ndecisions; k++)
                check_decision(&a, &a.decisions[k]);
        }
        if (state.trace)
            fprintf(stderr, "  alert %zu: rc %d, %zu decisions%s%s\n", i, rc, a.ndecisions,
                    rc != 0 ? ": " : "", rc != 0 ? msg : "");
        alert_clear(&a);
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct profiles_error err;
    struct profiles *p;
    char *buf;

    /* A NUL-terminated copy, never NULL (even empty), as profiles_load's file reader gives. */
    if (size > FUZZ_MAX_INPUT || (buf = malloc(size + 1)) == NULL)
        return 0;
    if (size > 0)
        memcpy(buf, data, size);
    buf[size] = '\0';
    setup();
    memset(&err, 0, sizeof(err));
    p = profiles_load_buffer("profiles.yaml", buf, size, &err);
    if (p == NULL) {
        if (err.message[0] == '\0' || err.line < 0) {
            fprintf(stderr, "fuzz_profiles: load error without a message (line %d)\n", err.line);
            abort();
        }
        if (state.trace)
            fprintf(stderr, "  load error: %s:%d: %s\n", err.file, err.line, err.message);
        goto out;
    }
    if (!has_outside_effects(buf, size))
        apply_all(p);
    else if (state.trace)
        fprintf(stderr, "  loaded, not evaluated (outside effects)\n");
    profiles_free(p);
out:
    expr_stash_reset();
    free(buf);
    return 0;
}

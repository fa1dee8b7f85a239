/*
 * fuzz_alert_json.c - libFuzzer harness for the body of POST /v1/alerts:
 * the input is the request body, decoded the way the handler does it
 * (json_loadb with JSON_DECODE_ANY | JSON_ALLOW_NUL, then
 * alerts_from_json_array and alerts_validate); the HTTP layer itself is not
 * involved. What decodes is also checked for three properties:
 *
 *  - a decode error is -EINVAL or -ENOMEM with a Go-worded message;
 *  - encoding is stable: decode(encode(x)) encodes to the same bytes as x
 *    (model_json_dumps of alerts_to_json_array), as Go's models round-trip;
 *  - alerts that validate go through the profiles (the shipped defaults
 *    plus one with filters and a duration_expr over every Alert accessor),
 *    as the handler does before storing them: an alert that came with
 *    decisions keeps them byte for byte, and the decisions the profiles
 *    attach still pass validation.
 *
 * FUZZ_ALERT_TRACE=1 prints what each input did.
 */
#include "common/common.h"

#include <jansson.h>

#include "expr/expr.h"
#include "fuzz.h"
#include "lapi/profiles.h"
#include "model/model.h"

#define FUZZ_MAX_INPUT (1u << 16)

static const char profiles_yaml[] =
    "name: default_ip_remediation\n"
    "filters:\n"
    " - Alert.Remediation == true && Alert.GetScope() == \"Ip\"\n"
    "decisions:\n"
    " - type: ban\n"
    "   duration: 4h\n"
    "on_success: break\n"
    "---\n"
    "name: default_range_remediation\n"
    "filters:\n"
    " - Alert.Remediation == true && Alert.GetScope() == \"Range\"\n"
    "decisions:\n"
    " - type: ban\n"
    "   duration: 4h\n"
    "on_success: break\n"
    "---\n"
    "name: escalate\n"
    "filters:\n"
    " - Alert.GetScenario() contains 'ssh' || Alert.GetEventsCount() > 10\n"
    " - len(Alert.Events) > 0 && Alert.Events[0].GetMeta('source_ip') == Alert.GetValue()\n"
    " - Alert.GetMeta('target_user') == 'root' && Alert.Source.GetAsNumberName() != ''\n"
    "decisions:\n"
    " - type: captcha\n"
    "   duration: 1h\n"
    "   scope: Country\n"
    " - type: ban\n"
    "duration_expr: Sprintf('%dh', (GetDecisionsCount(Alert.GetValue()) + 1) * 4)\n"
    "on_error: continue\n";

static struct {
    struct profiles *profiles;
    struct expr_vm *vm;
    bool ready, trace;
} state;

static struct gotime
fixed_clock(void)
{
    return (struct gotime){ .unix_ns = INT64_C(1709634030) * 1000000000, .offset_s = 0 };
}

/* GetDecisionsCount: a value with some history, so duration_expr varies with the input. */
static int64_t
fake_count(void *ctx, const char *value, bool active_only, int64_t since_ns)
{
    (void)ctx;
    (void)active_only;
    (void)since_ns;
    return (int64_t)(strlen(value) % 4);
}

static int64_t
fake_time_left(void *ctx, const char *value)
{
    (void)ctx;
    (void)value;
    return 0;
}

static const struct expr_decisions_provider fake_db = { NULL, fake_count, fake_time_left };

void
fuzz_expr_cleanup(void)
{
    profiles_free(state.profiles);
    expr_vm_free(state.vm);
    expr_set_decisions_provider(NULL);
    state.profiles = NULL;
    state.vm = NULL;
    state.ready = false;
}

static int
setup(void)
{
    struct profiles_error err;

    if (state.ready)
        return 0;
    state.trace = getenv("FUZZ_ALERT_TRACE") != NULL;
    expr_set_clock(fixed_clock);
    expr_set_decisions_provider(&fake_db);
    state.profiles =
        profiles_load_buffer("profiles.yaml", profiles_yaml, sizeof(profiles_yaml) - 1, &err);
    state.vm = expr_vm_new();
    if (state.profiles == NULL || state.vm == NULL) {
        fprintf(stderr, "fuzz_alert_json: setup failed: %s:%d: %s\n", err.file, err.line,
                err.message);
        abort();
    }
    state.ready = true;
    return 0;
}

static void
free_alerts(struct alert *a, size_t n)
{
    for (size_t i = 0; a != NULL && i < n; i++)
        alert_clear(&a[i]);
    free(a);
}

/* model_json_dumps of the encoding of n alerts; aborts on failure (no input can cause one). */
static char *
encode(const struct alert *a, size_t n)
{
    json_t *j = alerts_to_json_array(a, n);
    char *s = j != NULL ? model_json_dumps(j) : NULL;

    json_decref(j);
    if (s == NULL) {
        fprintf(stderr, "fuzz_alert_json: decoded alerts do not encode\n");
        abort();
    }
    return s;
}

static char *
encode_decisions(const struct alert *a)
{
    json_t *j = decisions_to_json_array(a->decisions, a->ndecisions);
    char *s = j != NULL ? model_json_dumps(j) : NULL;

    json_decref(j);
    if (s == NULL)
        abort();
    return s;
}

/* The round trip: what was decoded re-encodes, re-decodes and re-encodes to the same text. */
static void
check_round_trip(const struct alert *a, size_t n)
{
    char *first = encode(a, n), *second = NULL, msg[1024];
    json_error_t jerr;
    json_t *j = json_loads(first, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    struct alert *again = NULL;
    size_t m = 0;

    if (j == NULL) {
        fprintf(stderr, "fuzz_alert_json: encoder output is not JSON (%s): %s\n", jerr.text, first);
        abort();
    }
    if (alerts_from_json_array(j, &again, &m, msg, sizeof(msg)) != 0 || m != n) {
        fprintf(stderr, "fuzz_alert_json: encoder output does not decode: %s\n%s\n", msg, first);
        abort();
    }
    second = encode(again, m);
    if (strcmp(first, second) != 0) {
        fprintf(stderr, "fuzz_alert_json: round trip differs:\n  %s\n  %s\n", first, second);
        abort();
    }
    free(second);
    free_alerts(again, m);
    json_decref(j);
    free(first);
}

/* The handler's profile step; what it must leave behind. */
static void
check_profiles(struct alert *a, size_t n)
{
    char msg[1024];

    for (size_t i = 0; i < n; i++) {
        char *before = a[i].ndecisions > 0 ? encode_decisions(&a[i]) : NULL;
        if (model_strset(&a[i].machine_id, "fuzz-machine") != 0)
            abort();
        if (a[i].ndecisions == 0) {
            free(a[i].decisions);
            a[i].decisions = NULL;
        }
        msg[0] = '\0';
        int rc = profiles_apply(state.profiles, state.vm, &a[i], msg, sizeof(msg));
        if (rc != 0 && (rc != -1 || msg[0] == '\0')) {
            fprintf(stderr, "fuzz_alert_json: profiles_apply returned %d without a message\n", rc);
            abort();
        }
        if (state.trace)
            fprintf(stderr, "  alert %zu: profiles rc %d, %zu decisions%s%s\n", i, rc,
                    a[i].ndecisions, rc != 0 ? ": " : "", rc != 0 ? msg : "");
        if (before != NULL) {
            char *after = encode_decisions(&a[i]);
            if (strcmp(before, after) != 0) {
                fprintf(stderr, "fuzz_alert_json: profiles changed given decisions:\n  %s\n  %s\n",
                        before, after);
                abort();
            }
            free(after);
        }
        free(before);
        if (rc == 0 && alert_validate(&a[i], msg, sizeof(msg)) != 0) {
            fprintf(stderr, "fuzz_alert_json: alert %zu invalid after the profiles: %s\n", i, msg);
            abort();
        }
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct alert *alerts = NULL;
    size_t n = 0;
    json_error_t jerr;
    json_t *j;
    char msg[1024];

    /* The handler answers an empty body with "EOF" before decoding. */
    if (size == 0 || size > FUZZ_MAX_INPUT || setup() < 0)
        return 0;
    j = json_loadb((const char *)data, size, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    if (j == NULL) {
        if (state.trace)
            fprintf(stderr, "  not JSON: %s\n", jerr.text);
        return 0;
    }
    msg[0] = '\0';
    int rc = alerts_from_json_array(j, &alerts, &n, msg, sizeof(msg));
    if (rc != 0) {
        if ((rc != -EINVAL && rc != -ENOMEM) ||
            (strncmp(msg, "json: ", 6) != 0 && strcmp(msg, "out of memory") != 0)) {
            fprintf(stderr, "fuzz_alert_json: decode error %d with message '%s'\n", rc, msg);
            abort();
        }
        if (state.trace)
            fprintf(stderr, "  decode error: %s\n", msg);
        goto out;
    }
    if (alerts == NULL || n != (json_is_array(j) ? json_array_size(j) : 0)) {
        fprintf(stderr, "fuzz_alert_json: %zu alerts decoded from an array of %zu\n", n,
                json_array_size(j));
        abort();
    }
    check_round_trip(alerts, n);
    rc = alerts_validate(alerts, n, msg, sizeof(msg));
    if (rc != 0) {
        if (rc != -EINVAL || strncmp(msg, "validation failure list:", 24) != 0) {
            fprintf(stderr, "fuzz_alert_json: validate returned %d: '%s'\n", rc, msg);
            abort();
        }
        if (state.trace)
            fprintf(stderr, "  %zu alerts, invalid: %s\n", n, msg);
        goto out;
    }
    if (state.trace)
        fprintf(stderr, "  %zu valid alerts\n", n);
    /* The handler refuses anything but an array before decoding. */
    if (json_is_array(j))
        check_profiles(alerts, n);
out:
    free_alerts(alerts, n);
    json_decref(j);
    return 0;
}

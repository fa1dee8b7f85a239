/*
 * test_profiles.c - profiles.yaml loading and application (src/lapi/profiles.c).
 *
 * Two tables: profiles + alert -> the decisions CrowdSec's LAPI would attach
 * (written as one line per decision), and broken profiles.yaml -> the line
 * and message of the load error. The expected values follow CrowdSec's
 * csprofiles and controllers/v1/alerts.go, quirks included.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "common/common.h"

#include <jansson.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/str.h"
#include "lapi/profiles.h"

/* GetDecisionsCount for the duration_expr cases: 5.6.7.8 has two past decisions. */
static int64_t
fake_count(void *ctx, const char *value, bool active_only, int64_t since_ns)
{
    (void)ctx;
    (void)active_only;
    (void)since_ns;
    return strcmp(value, "5.6.7.8") == 0 ? 2 : 0;
}

static int64_t
fake_time_left(void *ctx, const char *value)
{
    (void)ctx;
    (void)value;
    return 0;
}

static const struct expr_decisions_provider fake_db = { NULL, fake_count, fake_time_left };

/* An alert as a watcher posts it; scope, value, remediation, simulated vary. */
#define ALERT(scope, value, remediation, simulated)                                                \
    "{\"scenario\":\"crowdsecurity/ssh-bf\",\"remediation\":" remediation                          \
    ",\"simulated\":" simulated ",\"start_at\":\"2024-01-01T09:59:00Z\","                          \
    "\"stop_at\":\"2024-01-01T10:00:00Z\",\"source\":{\"scope\":\"" scope "\",\"value\":\"" value  \
    "\"}}"
#define IP_ALERT  ALERT("Ip", "1.2.3.4", "true", "false")
#define UNTIL_4H  "2024-01-01T14:00:00Z"
#define BAN_IP_4H "ban 4h Ip 1.2.3.4 crowdsec crowdsecurity/ssh-bf - " UNTIL_4H

#define DEFAULT_PROFILES                                                                           \
    "name: default_ip_remediation\n"                                                               \
    "filters:\n"                                                                                   \
    " - Alert.Remediation == true && Alert.GetScope() == \"Ip\"\n"                                 \
    "decisions:\n"                                                                                 \
    " - type: ban\n"                                                                               \
    "   duration: 4h\n"                                                                            \
    "on_success: break\n"                                                                          \
    "---\n"                                                                                        \
    "name: default_range_remediation\n"                                                            \
    "filters:\n"                                                                                   \
    " - Alert.Remediation == true && Alert.GetScope() == \"Range\"\n"                              \
    "decisions:\n"                                                                                 \
    " - type: ban\n"                                                                               \
    "   duration: 4h\n"                                                                            \
    "on_success: break\n"

/* A profile named n with one filter f, one decision of type t lasting d, and extra lines. */
#define PROFILE(n, f, t, d, extra)                                                                 \
    "name: " n "\nfilters:\n - " f "\ndecisions:\n - type: " t "\n   duration: " d "\n" extra

#define RUNTIME_ERROR "Alert.GetValue() matches (Alert.GetScope() + \"(\")"

static const struct apply_case {
    const char *name;
    const char *yaml;
    const char *alert;
    int rc;
    const char *want; /* decisions, one "type duration scope value origin scenario sim until" per
                         line; or the error message when rc is -1 */
} apply_cases[] = {
    { "default profiles, Ip alert", DEFAULT_PROFILES, IP_ALERT, 0, BAN_IP_4H "\n" },
    { "default profiles, Range alert", DEFAULT_PROFILES,
      ALERT("Range", "1.2.3.0/24", "true", "false"), 0,
      "ban 4h Range 1.2.3.0/24 crowdsec crowdsecurity/ssh-bf - " UNTIL_4H "\n" },
    { "default profiles, remediation false", DEFAULT_PROFILES,
      ALERT("Ip", "1.2.3.4", "false", "false"), 0, "" },
    { "default profiles, other scope", DEFAULT_PROFILES, ALERT("Username", "root", "true", "false"),
      0, "" },
    { "two matching profiles without break: the first attaches",
      PROFILE("a", "true", "ban", "4h", "") "---\n" PROFILE("b", "true", "captcha", "1h", ""),
      IP_ALERT, 0, BAN_IP_4H "\n" },
    { "on_success continue: the second only notifies",
      PROFILE("a", "true", "ban", "4h",
              "on_success: continue\n") "---\n" PROFILE("b", "true", "captcha", "1h", ""),
      IP_ALERT, 0, BAN_IP_4H "\n" },
    { "a matching profile without decisions lets the next one attach",
      "name: notify\nfilters:\n - true\nnotifications:\n - slack_default\n---\n" PROFILE(
          "b", "true", "captcha", "1h", ""),
      IP_ALERT, 0, "captcha 1h Ip 1.2.3.4 crowdsec crowdsecurity/ssh-bf - 2024-01-01T11:00:00Z\n" },
    { "on_success break stops even without decisions",
      "name: notify\nfilters:\n - true\non_success: break\n---\n" PROFILE("b", "true", "captcha",
                                                                          "1h", ""),
      IP_ALERT, 0, "" },
    { "an unmatched profile is skipped",
      PROFILE("a", "false", "ban", "4h",
              "on_success: break\n") "---\n" PROFILE("b", "true", "captcha", "1h", ""),
      IP_ALERT, 0, "captcha 1h Ip 1.2.3.4 crowdsec crowdsecurity/ssh-bf - 2024-01-01T11:00:00Z\n" },
    { "every true filter appends the decisions again",
      "name: a\nfilters:\n - true\n - false\n - Alert.GetScope() == 'Ip'\ndecisions:\n"
      " - type: ban\n   duration: 4h\n",
      IP_ALERT, 0, BAN_IP_4H "\n" BAN_IP_4H "\n" },
    { "on_failure break changes nothing",
      "name: a\non_failure: break\nfilters:\n - false\n - true\ndecisions:\n"
      " - type: ban\n   duration: 4h\n",
      IP_ALERT, 0, BAN_IP_4H "\n" },
    { "several decisions per profile",
      "name: a\nfilters:\n - true\ndecisions:\n - type: ban\n   duration: 4h\n"
      " - type: captcha\n   duration: 30m\n   scope: Country\n",
      IP_ALERT, 0,
      BAN_IP_4H "\ncaptcha 30m Country 1.2.3.4 crowdsec crowdsecurity/ssh-bf - "
                "2024-01-01T10:30:00Z\n" },
    { "duration_expr, first offence",
      PROFILE("a", "true", "ban", "1h",
              "duration_expr: Sprintf('%dh', 4 * (GetDecisionsCount(Alert.GetValue()) + 1))\n"),
      IP_ALERT, 0, BAN_IP_4H "\n" },
    { "duration_expr, third offence",
      PROFILE("a", "true", "ban", "1h",
              "duration_expr: Sprintf('%dh', 4 * (GetDecisionsCount(Alert.GetValue()) + 1))\n"),
      ALERT("Ip", "5.6.7.8", "true", "false"), 0,
      "ban 12h Ip 5.6.7.8 crowdsec crowdsecurity/ssh-bf - 2024-01-01T22:00:00Z\n" },
    { "duration_expr returning a Go duration",
      PROFILE("a", "true", "ban", "1h", "duration_expr: duration('90m')\n"), IP_ALERT, 0,
      "ban 1h30m0s Ip 1.2.3.4 crowdsec crowdsecurity/ssh-bf - 2024-01-01T11:30:00Z\n" },
    { "duration_expr with days", PROFILE("a", "true", "ban", "1h", "duration_expr: \"'2d'\"\n"),
      IP_ALERT, 0, "ban 2d Ip 1.2.3.4 crowdsec crowdsecurity/ssh-bf - 2024-01-03T10:00:00Z\n" },
    { "duration_expr not a duration keeps the static one",
      PROFILE("a", "true", "ban", "1h", "duration_expr: \"'soon'\"\n"), IP_ALERT, 0,
      "ban 1h Ip 1.2.3.4 crowdsec crowdsecurity/ssh-bf - 2024-01-01T11:00:00Z\n" },
    { "duration_expr giving an int keeps the static one",
      PROFILE("a", "true", "ban", "1h", "duration_expr: 2 + 2\n"), IP_ALERT, 0,
      "ban 1h Ip 1.2.3.4 crowdsec crowdsecurity/ssh-bf - 2024-01-01T11:00:00Z\n" },
    { "duration_expr failing without a static duration leaves it empty",
      "name: a\nfilters:\n - true\nduration_expr: " RUNTIME_ERROR "\ndecisions:\n - type: ban\n",
      IP_ALERT, 0, "ban \"\" Ip 1.2.3.4 crowdsec crowdsecurity/ssh-bf - -\n" },
    { "a decision without duration gets \"\" (CrowdSec's default is only checked)",
      "name: a\nfilters:\n - true\ndecisions:\n - type: ban\n", IP_ALERT, 0,
      "ban \"\" Ip 1.2.3.4 crowdsec crowdsecurity/ssh-bf - -\n" },
    { "profile scope and origin",
      PROFILE("a", "true", "ban", "4h", "") "   scope: Country\n   origin: lists\n", IP_ALERT, 0,
      "ban 4h Country 1.2.3.4 crowdsec/lists crowdsecurity/ssh-bf - " UNTIL_4H "\n" },
    { "an empty profile scope takes the source's",
      PROFILE("a", "true", "ban", "4h", "") "   scope: ''\n", IP_ALERT, 0, BAN_IP_4H "\n" },
    { "simulated decision", PROFILE("a", "true", "ban", "4h", "") "   simulated: true\n", IP_ALERT,
      0, "ban 4h Ip 1.2.3.4 crowdsec crowdsecurity/ssh-bf sim " UNTIL_4H "\n" },
    { "simulated alert", PROFILE("a", "true", "ban", "4h", ""),
      ALERT("Ip", "1.2.3.4", "true", "true"), 0,
      "ban 4h Ip 1.2.3.4 crowdsec crowdsecurity/ssh-bf sim " UNTIL_4H "\n" },
    { "stop_at with an offset and a day unit", PROFILE("a", "true", "ban", "1d12h", ""),
      "{\"scenario\":\"s\",\"stop_at\":\"2024-01-01T10:00:00.5+02:00\","
      "\"source\":{\"scope\":\"Ip\",\"value\":\"::1\"}}",
      0, "ban 1d12h Ip ::1 crowdsec s - 2024-01-02T22:00:00.5+02:00\n" },
    { "alert with decisions (cscli) is left alone", DEFAULT_PROFILES,
      "{\"scenario\":\"manual\",\"remediation\":true,\"stop_at\":\"2024-01-01T10:00:00Z\","
      "\"source\":{\"scope\":\"Ip\",\"value\":\"1.2.3.4\"},\"decisions\":[{\"type\":\"captcha\","
      "\"duration\":\"1h\",\"scope\":\"Ip\",\"value\":\"1.2.3.4\",\"origin\":\"cscli\","
      "\"scenario\":\"manual\"}]}",
      0, "captcha 1h Ip 1.2.3.4 cscli manual - -\n" },
    { "an empty decisions array counts as none", DEFAULT_PROFILES,
      "{\"scenario\":\"crowdsecurity/ssh-bf\",\"remediation\":true,"
      "\"stop_at\":\"2024-01-01T10:00:00Z\",\"source\":{\"scope\":\"Ip\",\"value\":\"1.2.3.4\"},"
      "\"decisions\":[]}",
      0, BAN_IP_4H "\n" },
    { "on_error unset: the request fails",
      PROFILE("a", RUNTIME_ERROR, "ban", "4h", "") "---\n" DEFAULT_PROFILES, IP_ALERT, -1,
      "while running expression " RUNTIME_ERROR ": " },
    { "a non-bool filter is an error", PROFILE("a", "Alert.GetValue()", "ban", "4h", ""), IP_ALERT,
      -1, "unexpected type %!t(string=1.2.3.4) (1.2.3.4) while running 'Alert.GetValue()'" },
    { "a nil filter result is an error", PROFILE("a", "nil", "ban", "4h", ""), IP_ALERT, -1,
      "unexpected type %!t(<nil>) (<nil>) while running 'nil'" },
    { "on_error continue",
      PROFILE("a", RUNTIME_ERROR, "captcha", "1h", "on_error: continue\n") "---\n" DEFAULT_PROFILES,
      IP_ALERT, 0, BAN_IP_4H "\n" },
    { "on_error ignore",
      PROFILE("a", RUNTIME_ERROR, "captcha", "1h", "on_error: ignore\n") "---\n" DEFAULT_PROFILES,
      IP_ALERT, 0, BAN_IP_4H "\n" },
    { "on_error apply matches without decisions, then on_success break",
      PROFILE("a", RUNTIME_ERROR, "captcha", "1h",
              "on_error: apply\non_success: break\n") "---\n" DEFAULT_PROFILES,
      IP_ALERT, 0, "" },
    { "on_error apply without break lets the next profile attach",
      PROFILE("a", RUNTIME_ERROR, "captcha", "1h", "on_error: apply\n") "---\n" DEFAULT_PROFILES,
      IP_ALERT, 0, BAN_IP_4H "\n" },
    { "on_error break on an unmatched profile goes on",
      PROFILE("a", RUNTIME_ERROR, "captcha", "1h", "on_error: break\n") "---\n" DEFAULT_PROFILES,
      IP_ALERT, 0, BAN_IP_4H "\n" },
    { "on_error break after a true filter stops without decisions",
      "name: a\non_error: break\nfilters:\n - true\n - " RUNTIME_ERROR "\ndecisions:\n"
      " - type: captcha\n   duration: 1h\n---\n" DEFAULT_PROFILES,
      IP_ALERT, 0, "" },
    { "an unknown on_error fails like an unset one",
      PROFILE("a", RUNTIME_ERROR, "captcha", "1h", "on_error: report\n") "---\n" DEFAULT_PROFILES,
      IP_ALERT, -1, "while running expression " },
};

/* The alert's decisions, one line each (see apply_case.want). */
static void
format_decisions(const struct alert *a, struct str *out)
{
    for (size_t i = 0; i < a->ndecisions; i++) {
        const struct decision *d = &a->decisions[i];
        assert_int_equal(str_appendf(out, "%s %s %s %s %s %s %s %s\n", d->type ? d->type : "-",
                                     d->duration && d->duration[0] ? d->duration : "\"\"",
                                     d->scope ? d->scope : "-", d->value ? d->value : "-",
                                     d->origin ? d->origin : "-", d->scenario ? d->scenario : "-",
                                     d->simulated_set ? (d->simulated ? "sim" : "nosim") : "-",
                                     d->until ? d->until : "-"),
                         0);
    }
}

static void
load_alert(const char *text, struct alert *ret)
{
    json_error_t jerr;
    json_t *j = json_loads(text, 0, &jerr);
    char err[256];

    if (j == NULL)
        fail_msg("bad alert JSON %s: %s", text, jerr.text);
    if (alert_from_json(j, ret, err, sizeof(err)) != 0)
        fail_msg("alert_from_json: %s", err);
    json_decref(j);
}

static void
test_apply(void **state)
{
    struct expr_vm *vm = expr_vm_new();
    int failures = 0;

    (void)state;
    assert_non_null(vm);
    expr_set_decisions_provider(&fake_db);
    for (size_t i = 0; i < ARRAY_SIZE(apply_cases); i++) {
        const struct apply_case *c = &apply_cases[i];
        struct profiles_error lerr;
        struct profiles *p = profiles_load_buffer("profiles.yaml", c->yaml, strlen(c->yaml), &lerr);
        struct alert a;
        struct str got = STR_INIT;
        char err[512] = "unset";
        int rc;

        if (p == NULL) {
            print_message("case %zu (%s): load failed: %s:%d: %s\n", i, c->name, lerr.file,
                          lerr.line, lerr.message);
            failures++;
            continue;
        }
        load_alert(c->alert, &a);
        rc = profiles_apply(p, vm, &a, err, sizeof(err));
        if (rc == 0)
            format_decisions(&a, &got);
        const char *g = rc == 0 ? (got.buf ? got.buf : "") : err;
        bool ok = rc == c->rc && (rc == 0 ? strcmp(g, c->want) == 0 : strstr(g, c->want) == g);
        if (!ok) {
            print_message("case %zu (%s):\n  want rc %d: %s\n  got  rc %d: %s\n", i, c->name, c->rc,
                          c->want, rc, g);
            failures++;
        }
        str_free(&got);
        alert_clear(&a);
        profiles_free(p);
    }
    expr_set_decisions_provider(NULL);
    expr_vm_free(vm);
    assert_int_equal(failures, 0);
}

static const struct load_case {
    const char *name;
    const char *yaml;
    int line;
    const char *message; /* prefix of the expected message */
} load_cases[] = {
    { "empty file", "", 0, "zero profiles loaded for LAPI" },
    { "comments only", "# nothing\n", 0, "zero profiles loaded for LAPI" },
    { "unknown key", "name: a\nfilters:\n - true\nfoo: 1\n", 4,
      "field foo not found in type csconfig.ProfileCfg" },
    { "unknown key in a later document", DEFAULT_PROFILES "---\nname: c\nbogus: true\n", 18,
      "field bogus not found in type csconfig.ProfileCfg" },
    { "unknown decision key", "name: a\ndecisions:\n - type: ban\n   durations: 4h\n", 4,
      "field durations not found in type models.Decision" },
    { "duplicate key", "name: a\nname: b\n", 2, "mapping key \"name\" already defined at line 1" },
    { "document not a map", "- a\n- b\n", 1, "cannot unmarshal !!seq into csconfig.ProfileCfg" },
    { "filters not a list", "name: a\nfilters: abc\n", 2,
      "cannot unmarshal !!str `abc` into []string" },
    { "name not a string", "name: [a]\n", 1, "cannot unmarshal !!seq into string" },
    { "debug not a bool", "name: a\ndebug: maybe\n", 2,
      "cannot unmarshal !!str `maybe` into bool" },
    { "simulated not a bool", "name: a\ndecisions:\n - type: ban\n   simulated: 2\n", 4,
      "cannot unmarshal !!int `2` into bool" },
    { "id not an int", "name: a\ndecisions:\n - type: ban\n   id: one\n", 4,
      "cannot unmarshal !!str `one` into int64" },
    { "a quoted number is a string", "name: a\ndebug: '1.5'\n", 2,
      "cannot unmarshal !!str `1.5` into bool" },
    { "a float", "name: a\ndebug: 1.5\n", 2, "cannot unmarshal !!float `1.5` into bool" },
    { "decisions not a list", "name: a\ndecisions: ban\n", 2,
      "cannot unmarshal !!str `ban` into []models.Decision" },
    { "YAML syntax error", "name: a\nfilters:\n - 'unterminated\n", 4, "yaml: " },
    { "decode errors come before profile errors",
      "name: a\non_success: stop\n---\nname: b\nfoo: 1\n", 5, "field foo not found" },
    { "invalid on_success", "name: a\nfilters:\n - true\non_success: stop\n", 4,
      "invalid 'on_success' for 'a': stop" },
    { "invalid on_failure", "name: a\non_failure: apply\n---\nname: b\non_failure: nope\n", 5,
      "invalid 'on_failure' for 'b' : nope" },
    { "filter does not compile", "name: a\nfilters:\n - true\n - Alert.Nope == 1\n", 4,
      "error compiling filter of 'a': " },
    { "duration_expr does not compile", "name: a\nduration_expr: Sprintf(\n", 2,
      "error compiling duration_expr of a: " },
    { "bad duration", "name: a\ndecisions:\n - type: ban\n   duration: 4x\n", 3,
      "error parsing duration '4x' of a: time: invalid duration \"4x\"" },
    { "decision without type", "name: a\ndecisions:\n - duration: 4h\n", 3,
      "decision 1 of 'a' has no type" },
};

static void
test_load_errors(void **state)
{
    int failures = 0;

    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(load_cases); i++) {
        const struct load_case *c = &load_cases[i];
        struct profiles_error err;
        struct profiles *p =
            profiles_load_buffer("/etc/phalanx/profiles.yaml", c->yaml, strlen(c->yaml), &err);

        if (p != NULL) {
            print_message("case %zu (%s): loaded, want an error\n", i, c->name);
            profiles_free(p);
            failures++;
            continue;
        }
        if (strcmp(err.file, "/etc/phalanx/profiles.yaml") != 0 || err.line != c->line ||
            strncmp(err.message, c->message, strlen(c->message)) != 0 || err.message[0] == '\0') {
            print_message("case %zu (%s):\n  want line %d: %s\n  got  %s:%d: %s\n", i, c->name,
                          c->line, c->message, err.file, err.line, err.message);
            failures++;
        }
    }
    assert_int_equal(failures, 0);
}

/* Decisions' other models.Decision fields are accepted (yaml.v3 knows them) and ignored. */
static void
test_accepted_keys(void **state)
{
    static const char yaml[] = "name: a\ndebug: yes\nfilters:\n - true\nnotifications:\n - http\n"
                               "decisions:\n - type: ban\n   duration: 4h\n   value: 9.9.9.9\n"
                               "   scenario: other\n   id: 12\n   uuid: x\n   until: y\n"
                               "on_failure: apply\non_error: ~\n---\n";
    struct profiles_error err;
    struct profiles *p = profiles_load_buffer("p.yaml", yaml, strlen(yaml), &err);
    struct expr_vm *vm = expr_vm_new();
    struct alert a;
    struct str got = STR_INIT;
    char msg[256];

    (void)state;
    if (p == NULL)
        fail_msg("%s:%d: %s", err.file, err.line, err.message);
    load_alert(IP_ALERT, &a);
    assert_int_equal(profiles_apply(p, vm, &a, msg, sizeof(msg)), 0);
    format_decisions(&a, &got);
    assert_string_equal(got.buf, BAN_IP_4H "\n");
    str_free(&got);
    alert_clear(&a);
    profiles_free(p);
    expr_vm_free(vm);
}

/* yaml.v3 decodes an empty document as an empty profile, which never matches. */
static void
test_empty_documents(void **state)
{
    static const char *const docs[] = { "---\n",
                                        "---\n---\n" PROFILE("b", "true", "ban", "4h", "") };
    struct expr_vm *vm = expr_vm_new();

    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(docs); i++) {
        struct profiles_error err;
        struct profiles *p = profiles_load_buffer("p.yaml", docs[i], strlen(docs[i]), &err);
        struct alert a;
        struct str got = STR_INIT;
        char msg[256];

        if (p == NULL)
            fail_msg("case %zu: %s:%d: %s", i, err.file, err.line, err.message);
        load_alert(IP_ALERT, &a);
        assert_int_equal(profiles_apply(p, vm, &a, msg, sizeof(msg)), 0);
        format_decisions(&a, &got);
        assert_string_equal(got.buf ? got.buf : "", i == 0 ? "" : BAN_IP_4H "\n");
        str_free(&got);
        alert_clear(&a);
        profiles_free(p);
    }
    expr_vm_free(vm);
}

static void
write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

/* profiles_load: the shipped config/profiles.yaml, a missing file, and .local prepended. */
static void
test_load_files(void **state)
{
    const char *root = getenv("PHALANX_SOURCE_ROOT");
    char path[1024], local[1100], dir[] = "/tmp/test_profiles.XXXXXX";
    struct profiles_error err;
    struct expr_vm *vm = expr_vm_new();
    struct profiles *p;
    struct alert a;
    struct str got = STR_INIT;
    char msg[256];

    (void)state;
    snprintf(path, sizeof(path), "%s/config/profiles.yaml", root ? root : ".");
    p = profiles_load(path, &err);
    if (p == NULL)
        fail_msg("%s:%d: %s", err.file, err.line, err.message);
    load_alert(ALERT("Range", "10.0.0.0/8", "true", "false"), &a);
    assert_int_equal(profiles_apply(p, vm, &a, msg, sizeof(msg)), 0);
    format_decisions(&a, &got);
    assert_string_equal(got.buf,
                        "ban 4h Range 10.0.0.0/8 crowdsec crowdsecurity/ssh-bf - " UNTIL_4H "\n");
    str_clear(&got);
    alert_clear(&a);
    profiles_free(p);

    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/profiles.yaml", dir);
    assert_null(profiles_load(path, &err));
    assert_string_equal(err.file, path);
    assert_non_null(strstr(err.message, "No such file"));

    write_file(path, DEFAULT_PROFILES);
    snprintf(local, sizeof(local), "%s.local", path);
    write_file(local, PROFILE("local", "true", "captcha", "1h", "on_success: break\n"));
    p = profiles_load(path, &err);
    if (p == NULL)
        fail_msg("%s:%d: %s", err.file, err.line, err.message);
    load_alert(IP_ALERT, &a);
    assert_int_equal(profiles_apply(p, vm, &a, msg, sizeof(msg)), 0);
    format_decisions(&a, &got);
    assert_string_equal(
        got.buf, "captcha 1h Ip 1.2.3.4 crowdsec crowdsecurity/ssh-bf - 2024-01-01T11:00:00Z\n");
    alert_clear(&a);
    profiles_free(p);

    /* An error in the main file names it and its own line, not the concatenation's. */
    write_file(path, "name: x\nfoo: 1\n");
    assert_null(profiles_load(path, &err));
    assert_string_equal(err.file, path);
    assert_int_equal(err.line, 2);
    write_file(local, "\nname: y\non_success: never\n");
    assert_null(profiles_load(path, &err));
    assert_string_equal(err.file, path); /* decoding errors first, from either file */
    write_file(path, DEFAULT_PROFILES);
    assert_null(profiles_load(path, &err));
    assert_string_equal(err.file, local);
    assert_int_equal(err.line, 3);

    str_free(&got);
    unlink(local);
    unlink(path);
    rmdir(dir);
    expr_vm_free(vm);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_apply),         cmocka_unit_test(test_load_errors),
        cmocka_unit_test(test_accepted_keys), cmocka_unit_test(test_empty_documents),
        cmocka_unit_test(test_load_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

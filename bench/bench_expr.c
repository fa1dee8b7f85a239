/*
 * bench_expr.c - evaluations per second of representative hub expressions.
 *
 * Seven hub filters/statics and one hubtest assert line are compiled once in
 * the exprenv context CrowdSec would use (parser for evt.*, hubtest_parser
 * for results[...]) and evaluated against one realistic nginx access-log
 * event, in a loop calibrated to last about `seconds` (default 0.7) each.
 * bench/expr_go/main.go runs the same expressions on the same event with
 * expr-lang in Go; bench/run.sh puts the two side by side.
 *
 * Output, one tab-separated line per expression after a '#' header:
 *   name  evals/s  ns/eval  result (Go %v)
 * and a last line "# peak_rss_kb N" (this process, from getrusage).
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "common/common.h"
#include "common/str.h"
#include "exprenv/exprenv.h"

/* The event, as the nginx and http-logs parsers leave it (pipeline.Event field names). */
static const char bench_event_json[] =
    "{\"Type\": 0, \"Stage\": \"s02-enrich\","
    " \"Line\": {\"Raw\": \"192.168.1.20 - - [27/Nov/2026:10:00:00 +0000] \\\"GET "
    "/wp-admin/install.php HTTP/1.1\\\" 404 153 \\\"-\\\" \\\"Mozilla/5.0\\\"\","
    " \"Src\": \"/var/log/nginx/access.log\", \"Module\": \"file\", \"Labels\": {\"type\": "
    "\"nginx\"}},"
    " \"Parsed\": {\"program\": \"nginx\", \"remote_addr\": \"192.168.1.20\", \"verb\": \"GET\","
    " \"request\": \"/wp-admin/install.php\", \"http_path\": \"/wp-admin/install.php\","
    " \"http_args\": \"\", \"status\": \"404\", \"body_bytes_sent\": \"153\","
    " \"http_user_agent\": \"Mozilla/5.0\", \"file_name\": \"install.php\","
    " \"file_ext\": \".php\", \"file_frag\": \"install\", \"file_dir\": \"/wp-admin/\","
    " \"static_ressource\": \"false\", \"target_fqdn\": \"example.com\"},"
    " \"Meta\": {\"log_type\": \"http_access-log\", \"service\": \"http\","
    " \"source_ip\": \"192.168.1.20\", \"http_status\": \"404\","
    " \"http_path\": \"/wp-admin/install.php\", \"http_verb\": \"GET\","
    " \"http_user_agent\": \"Mozilla/5.0\", \"target_fqdn\": \"example.com\"}}";

struct bench_case {
    const char *name;
    enum exprenv_context ctx;
    const char *src;
};

/* Keep in the same order and spelling as bench/expr_go/main.go. */
static const struct bench_case bench_cases[] = {
    { "log_type_eq", EXPRENV_PARSER, "evt.Meta.log_type == 'ssh_failed-auth'" },
    { "http_probing", EXPRENV_PARSER,
      "evt.Meta.service == 'http' && evt.Meta.http_status in ['404', '403', '400'] && "
      "evt.Parsed.static_ressource == 'false'" },
    { "program_prefix", EXPRENV_PARSER, "evt.Parsed.program startsWith 'nginx'" },
    { "http_access_get", EXPRENV_PARSER,
      "evt.Meta.log_type in ['http_access-log', 'http_error-log'] && "
      "evt.Parsed.static_ressource == 'false' && evt.Parsed.verb in ['GET', 'HEAD']" },
    { "static_ressource", EXPRENV_PARSER,
      "Upper(evt.Parsed.file_ext) in ['.JPG', '.CSS', '.JS', '.JPEG', '.PNG', '.SVG', '.MAP', "
      "'.ICO', '.OTF', '.GIF', '.MP3', '.MP4', '.WOFF', '.WOFF2', '.TTF', '.OTF', '.EOT', "
      "'.WEBP', '.WAV', '.GZ', '.BROTLI', '.BVR', '.TS', '.BMP', '.AVIF', '.MJS'] ? 'true' : "
      "'false'" },
    { "path_matches", EXPRENV_PARSER,
      "evt.Meta.log_type in ['http_access-log', 'http_error-log'] && evt.Meta.http_path matches "
      "'/ui/vcav-bootstrap/rest/vcav-providers/provider-logo\\\\?url=(file|http)'" },
    { "admin_any", EXPRENV_PARSER,
      "evt.Meta.log_type in ['http_access-log', 'http_error-log'] && any(['/admin', "
      "'/wp-admin', '/phpmyadmin', '/manager/html', '/administrator'], { "
      "Lower(evt.Meta.http_path) contains # })" },
    { "hubtest_assert", EXPRENV_HUBTEST_PARSER,
      "results[\"s01-parse\"][\"crowdsecurity/nginx-logs\"][0].Evt.Parsed[\"verb\"] == \"GET\"" },
};

static double
now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The variables of ctx filled from the event: evt itself, or a parser dump around it. */
static json_t *
bench_env_json(enum exprenv_context ctx, json_t *event)
{
    if (ctx == EXPRENV_HUBTEST_PARSER)
        return json_pack("{s:{s:{s:[{s:i,s:O,s:b}]}}}", "results", "s01-parse",
                         "crowdsecurity/nginx-logs", "Idx", 0, "Evt", event, "Success", 1);
    return json_pack("{s:O}", "evt", event);
}

/* Compiles and times one case; returns 0, or -1 after printing why on stderr. */
static int
bench_one(const struct bench_case *bc, json_t *event, double seconds)
{
    struct expr_env *env = exprenv_new(bc->ctx);
    struct expr_vm *vm = expr_vm_new();
    struct exprenv_vars *vars = NULL;
    struct expr_program *prog = NULL;
    json_t *env_json = bench_env_json(bc->ctx, event);
    struct expr_error err = { 0 };
    struct expr_value v;
    struct str shown = STR_INIT;
    char msg[256];
    int rc = -1;

    if (env == NULL || vm == NULL || env_json == NULL) {
        fprintf(stderr, "%s: out of memory\n", bc->name);
        goto out;
    }
    if (exprenv_vars_from_json(bc->ctx, env_json, &vars, msg, sizeof(msg)) < 0) {
        fprintf(stderr, "%s: %s\n", bc->name, msg);
        goto out;
    }
    prog = expr_compile(env, bc->src, strlen(bc->src), EXPR_T_ANY, &err);
    if (prog == NULL) {
        fprintf(stderr, "%s: compile error: %s\n", bc->name, err.message);
        goto out;
    }
    const struct expr_value *values = exprenv_vars_values(vars);
    if (expr_eval(vm, prog, values, &v, &err) < 0) {
        fprintf(stderr, "%s: run-time error: %s\n", bc->name, err.message);
        goto out;
    }
    if (expr_value_format_go(vm, &v, &shown) < 0)
        goto out;

    /* Calibrate: double the count until one batch lasts a tenth of the budget. */
    unsigned long n = 1000;
    double t0, dt;
    for (;;) {
        t0 = now_seconds();
        for (unsigned long i = 0; i < n; i++)
            if (expr_eval(vm, prog, values, &v, &err) < 0)
                goto out;
        dt = now_seconds() - t0;
        if (dt >= seconds / 10 || n >= (1UL << 40))
            break;
        n *= 2;
    }
    n = (unsigned long)((double)n * seconds / dt) + 1;
    t0 = now_seconds();
    for (unsigned long i = 0; i < n; i++)
        if (expr_eval(vm, prog, values, &v, &err) < 0)
            goto out;
    dt = now_seconds() - t0;
    printf("%s\t%.0f\t%.1f\t%s\n", bc->name, (double)n / dt, dt * 1e9 / (double)n,
           shown.buf ? shown.buf : "");
    rc = 0;
out:
    str_free(&shown);
    json_decref(env_json);
    expr_program_free(prog);
    exprenv_vars_free(vars);
    expr_vm_free(vm);
    expr_env_free(env);
    return rc;
}

int
main(int argc, char **argv)
{
    double seconds = argc > 1 ? atof(argv[1]) : 0.7;
    json_error_t jerr;
    json_t *event = json_loads(bench_event_json, 0, &jerr);
    struct rusage ru;
    int failed = 0;

    if (event == NULL) {
        fprintf(stderr, "bench event: %s\n", jerr.text);
        return 1;
    }
    if (seconds <= 0)
        seconds = 0.7;
    printf("# name\tevals/s\tns/eval\tresult\n");
    for (size_t i = 0; i < ARRAY_SIZE(bench_cases); i++)
        if (bench_one(&bench_cases[i], event, seconds) < 0)
            failed++;
    json_decref(event);
    getrusage(RUSAGE_SELF, &ru);
    printf("# peak_rss_kb %ld\n", ru.ru_maxrss);
    return failed ? 1 : 0;
}

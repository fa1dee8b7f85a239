/*
 * fuzz_expr.c - libFuzzer harness for the expression engine: compile, then
 * evaluate.
 *
 * The input is an expression. It is compiled in EXPRENV_PLAIN and in
 * EXPRENV_PARSER (as "any" and as a boolean filter); what compiles is
 * disassembled and evaluated against a small fixed event (a few Meta and
 * Parsed keys, a raw line, a fixed time) and its result formatted with %v and
 * as JSON. The engine must reject or evaluate anything without crashing,
 * leaking or running unbounded: the vm's own limits (stack, arena, steps) are
 * what is under test, so the harness adds none.
 *
 * Helpers with outside effects (HTTP, DNS, CTI, logging) are compiled but not
 * evaluated: a fuzzer must not talk to the network.
 *
 * FUZZ_EXPR_TRACE=1 prints what happened to each input on stderr (compile
 * error, run-time error or the result), to see what a corpus file exercises.
 */
#include "common/common.h"
#include "common/str.h"
#include "expr/expr.h"
#include "exprenv/exprenv.h"
#include "fuzz.h"

/* libFuzzer runs with -max_len=4096; replayed files may be bigger, which is fine up to this. */
#define FUZZ_MAX_INPUT (1u << 16)

struct fuzz_state {
    struct expr_env *plain, *parser;
    struct expr_vm *vm;
    struct event *evt;
    FILE *devnull;
    bool ready;
    bool trace;
};

static struct fuzz_state state;

static struct gotime
fixed_clock(void)
{
    /* 2024-03-05T10:20:30Z: hubtest pins the clock too, so runs are reproducible */
    return (struct gotime){ .unix_ns = INT64_C(1709634030) * 1000000000, .offset_s = 0 };
}

static int
build_event(struct event *e)
{
    static const char *const meta[][2] = {
        { "source_ip", "192.168.1.10" }, { "log_type", "http_access-log" },
        { "service", "http" },           { "http_path", "/admin/../etc/passwd" },
        { "http_status", "404" },
    };
    static const char *const parsed[][2] = {
        { "program", "nginx" },
        { "remote_addr", "192.168.1.10" },
        { "verb", "GET" },
        { "request", "/index.php?id=1%27%20OR%201=1&x=%E2%82%AC" },
        { "http_user_agent", "Mozilla/5.0 (X11; Linux x86_64) sqlmap/1.7" },
        { "body_bytes_sent", "1234" },
        { "json", "{\"a\": {\"b\": [1, 2.5, \"x\"]}, \"c\": true}" },
        { "xml", "<Event><System><EventID>4625</EventID></System></Event>" },
    };
    static const char raw[] = "192.168.1.10 - - [05/Mar/2024:10:20:30 +0000] \"GET /index.php "
                              "HTTP/1.1\" 404 1234 \"-\" \"sqlmap/1.7\"";

    for (size_t i = 0; i < ARRAY_SIZE(meta); i++)
        if (event_set_meta(e, meta[i][0], meta[i][1]) < 0)
            return -1;
    for (size_t i = 0; i < ARRAY_SIZE(parsed); i++)
        if (event_set_parsed(e, parsed[i][0], parsed[i][1]) < 0)
            return -1;
    if (event_set_enriched(e, "IsoCode", "FR") < 0 ||
        event_set_str(e, &e->line.raw, raw, sizeof(raw) - 1) < 0 ||
        event_set_str(e, &e->line.src, "/var/log/nginx/access.log", 25) < 0 ||
        event_set_str(e, &e->stage, "s01-parse", 9) < 0)
        return -1;
    e->time = fixed_clock();
    e->line.time = fixed_clock();
    return 0;
}

void
fuzz_expr_cleanup(void)
{
    expr_env_free(state.plain);
    expr_env_free(state.parser);
    expr_vm_free(state.vm);
    event_free(state.evt);
    if (state.devnull != NULL)
        fclose(state.devnull);
    state = (struct fuzz_state){ 0 };
}

static int
setup(void)
{
    if (state.ready)
        return 0;
    expr_set_clock(fixed_clock);
    state.trace = getenv("FUZZ_EXPR_TRACE") != NULL;
    state.plain = exprenv_new(EXPRENV_PLAIN);
    state.parser = exprenv_new(EXPRENV_PARSER);
    state.vm = expr_vm_new();
    state.evt = event_new(EVENT_LOG, EVENT_TIMEMACHINE, true);
    state.devnull = fopen("/dev/null", "w");
    if (state.plain == NULL || state.parser == NULL || state.vm == NULL || state.evt == NULL ||
        state.devnull == NULL || build_event(state.evt) < 0) {
        fuzz_expr_cleanup();
        return -1;
    }
    state.ready = true;
    return 0;
}

/* True when src names a helper that would reach outside the process. */
static bool
has_outside_effects(const char *src, size_t len)
{
    static const char *const names[] = { "HTTP", "LookupHost", "CrowdsecCTI", "LogInfo" };
    struct strv s = { src, len };

    for (size_t i = 0; i < ARRAY_SIZE(names); i++)
        if (strv_find(s, strv_from_cstr(names[i])) >= 0)
            return true;
    return false;
}

/*
 * Compiles src in env; if it compiles and evaluate is set, runs it once: a
 * boolean program through expr_eval_bool() (the filter path), any other
 * through expr_eval() with the result formatted with %v and as JSON (indented
 * or not, so both encoders get exercised across contexts).
 */
static void
run_one(const char *name, struct expr_env *env, const char *src, size_t len,
        struct expr_type expect, const struct expr_value *vars, bool evaluate, bool indent)
{
    struct expr_error err;
    struct expr_program *p = expr_compile(env, src, len, expect, &err);
    struct expr_value ret;
    struct str out = STR_INIT;
    int rc;

    if (p == NULL) {
        if (state.trace)
            fprintf(stderr, "  %s: compile error: %s\n", name, err.message);
        return;
    }
    (void)expr_program_type(p);
    expr_program_dump(p, state.devnull);
    if (!evaluate) {
        if (state.trace)
            fprintf(stderr, "  %s: compiled, not evaluated (outside effects)\n", name);
    } else if (expect.kind == EXPR_BOOL) {
        rc = expr_eval_bool(state.vm, p, vars, &err);
        if (state.trace)
            fprintf(stderr, "  %s: %d%s%s\n", name, rc, rc < 0 ? " " : "",
                    rc < 0 ? err.message : "");
    } else if (expr_eval(state.vm, p, vars, &ret, &err) < 0) {
        if (state.trace)
            fprintf(stderr, "  %s: run-time error: %s\n", name, err.message);
    } else {
        (void)expr_value_format_go(state.vm, &ret, &out);
        if (state.trace)
            fprintf(stderr, "  %s: %.200s\n", name, out.buf ? out.buf : "");
        str_clear(&out);
        (void)expr_value_to_json(state.vm, &ret, indent, &out);
    }
    str_free(&out);
    expr_program_free(p);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *src = (const char *)data;
    struct expr_value evt_vars[1];
    struct expr_value no_vars[1] = { { .kind = EXPR_NIL } };

    if (size > FUZZ_MAX_INPUT || setup() < 0)
        return 0;
    bool evaluate = !has_outside_effects(src, size);
    evt_vars[EXPRENV_SLOT_EVT] = exprenv_event_value(state.evt);
    run_one("plain", state.plain, src, size, EXPR_T_ANY, no_vars, evaluate, false);
    run_one("parser", state.parser, src, size, EXPR_T_ANY, evt_vars, evaluate, true);
    run_one("parser/bool", state.parser, src, size, EXPR_T(EXPR_BOOL), evt_vars, evaluate, false);
    return 0;
}

/*
 * fuzz_parser_yaml.c - libFuzzer harness for the parser loader: the input
 * is one parser file.
 *
 * Each input is loaded with parser_set_load_buffer() against a fresh grok
 * library holding the base patterns (pattern_syntax adds to it, so sharing
 * one would grow without bound), then, if it loads, three fixed events (a
 * syslog sshd line, an nginx access line, an overflow) go through it, so
 * compiled nodes are evaluated too. Inputs naming helpers or enrichers with
 * outside effects (HTTP, DNS, CTI, logging) are loaded but not evaluated: a
 * fuzzer must not talk to the network. Stash caches the input declared are
 * dropped after each input.
 *
 * FUZZ_EXPR_TRACE=1 prints the load error or the outcome of each event.
 */
#include "common/common.h"

#include "common/str.h"
#include "expr/expr.h"
#include "fuzz.h"
#include "grok/grok.h"
#include "parser/parser.h"

#ifndef FUZZ_PATTERNS_DIR
#define FUZZ_PATTERNS_DIR "config/patterns"
#endif

#define FUZZ_MAX_INPUT (1u << 16)

static struct gotime
fixed_clock(void)
{
    return (struct gotime){ .unix_ns = INT64_C(1709634030) * 1000000000, .offset_s = 0 };
}

void
fuzz_expr_cleanup(void)
{
    /* replay.c's end-of-run hook (named after the first harness): nothing is kept between inputs */
    expr_stash_reset();
}

static bool
has_outside_effects(const char *src, size_t len)
{
    static const char *const names[] = { "HTTP", "LookupHost", "CrowdsecCTI", "LogInfo",
                                         "reverse_dns" };
    struct strv s = { src, len };

    for (size_t i = 0; i < ARRAY_SIZE(names); i++)
        if (strv_find(s, strv_from_cstr(names[i])) >= 0)
            return true;
    return false;
}

static struct event *
make_event(int which)
{
    static const char *const raws[] = {
        "Mar  5 10:20:30 host sshd[1234]: Invalid user admin from 1.2.3.4 port 40000",
        "1.2.3.4 - - [05/Mar/2024:10:20:30 +0000] \"GET /index.php HTTP/1.1\" 404 12 \"-\" \"x\"",
    };
    struct event *e = event_new(which == 2 ? EVENT_OVFLW : EVENT_LOG, EVENT_TIMEMACHINE, false);

    if (e == NULL)
        return NULL;
    if (which == 2) {
        if (runtime_alert_add_source(&e->overflow, "1.2.3.4") == NULL)
            goto fail;
        return e;
    }
    if (event_set_str(e, &e->line.raw, raws[which], strlen(raws[which])) < 0 ||
        strmap_set_cstr(&e->line.labels, &e->arena, "type", which == 0 ? "syslog" : "nginx") < 0 ||
        event_set_parsed(e, "message", raws[which]) < 0 ||
        event_set_parsed(e, "program", which == 0 ? "sshd" : "nginx") < 0 ||
        event_set_meta(e, "source_ip", "1.2.3.4") < 0)
        goto fail;
    return e;
fail:
    event_free(e);
    return NULL;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool trace, ready;
    struct grok_library *lib;
    struct grok_error gerr;
    struct parser_error err;
    struct parser_set *ps;

    if (size > FUZZ_MAX_INPUT)
        return 0;
    if (!ready) {
        expr_set_clock(fixed_clock);
        trace = getenv("FUZZ_EXPR_TRACE") != NULL;
        ready = true;
    }
    if ((lib = grok_library_new()) == NULL)
        return 0;
    if (grok_library_load_dir(lib, FUZZ_PATTERNS_DIR, &gerr) < 0)
        goto out;
    struct parser_options opts = { .grok = lib, .postoverflow = false };
    ps = parser_set_load_buffer("fuzz.yaml", "s01-parse", (const char *)data, size, &opts, &err);
    if (ps == NULL) {
        if (trace)
            fprintf(stderr, "  load error: line %d: %s\n", err.line, err.message);
        goto out;
    }
    if (!has_outside_effects((const char *)data, size)) {
        struct parser_worker *w = parser_worker_new(ps);
        for (int i = 0; w != NULL && i < 3; i++) {
            struct event *e = make_event(i);
            if (e == NULL)
                break;
            enum parser_outcome o = parser_process(ps, w, e, NULL);
            if (trace)
                fprintf(stderr, "  event %d: outcome %d, %zu parsed, %zu meta\n", i, (int)o,
                        strmap_len(&e->parsed), strmap_len(&e->meta));
            event_free(e);
        }
        parser_worker_free(w);
    } else if (trace) {
        fprintf(stderr, "  loaded, not evaluated (outside effects)\n");
    }
    parser_set_free(ps);
out:
    grok_library_free(lib);
    expr_stash_reset();
    return 0;
}

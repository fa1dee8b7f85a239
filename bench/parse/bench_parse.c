/*
 * bench_parse.c - single-threaded throughput of a hub parser chain.
 *
 * `bench_parse TYPE LOGFILE PATTERN_DIR... -- PARSER.yaml...` loads the grok
 * pattern directories (first definition wins, so our base set goes first),
 * the parser files (stage = the directory two levels up, as in the hub:
 * parsers/<stage>/<author>/<name>.yaml), then replays LOGFILE as CrowdSec's
 * file datasource does in cat mode (one event per non-empty line, label
 * type=TYPE, time-machine mode) through parser_process on one worker.
 * It prints one tab-separated line:
 *   lines  parsed  unparsed  grok_limit_hits  seconds  lines_per_s  peak_rss_kib
 * Time covers reading and parsing, not loading; RSS is the process peak.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "common/common.h"
#include "common/gotime.h"
#include "grok/grok.h"
#include "model/model.h"
#include "parser/parser.h"

#define BENCH_MAX_PARSERS 64
#define BENCH_MAX_LINE    (1u << 20)

static double
now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* "…/parsers/s01-parse/crowdsecurity/x.yaml" -> "s01-parse" (malloc'd), or NULL. */
static char *
stage_of(const char *path)
{
    const char *end = strrchr(path, '/');
    if (end == NULL)
        return NULL;
    const char *p = end;
    while (p > path && p[-1] != '/')
        p--;
    if (p == path)
        return NULL;
    const char *stage_end = p - 1, *s = stage_end;
    while (s > path && s[-1] != '/')
        s--;
    return s < stage_end ? strndup(s, (size_t)(stage_end - s)) : NULL;
}

int
main(int argc, char **argv)
{
    struct parser_item items[BENCH_MAX_PARSERS];
    char *stages[BENCH_MAX_PARSERS] = { 0 };
    size_t nitems = 0;
    struct grok_library *lib = NULL;
    struct parser_set *ps = NULL;
    struct parser_worker *w = NULL;
    FILE *f = NULL;
    char *line = NULL;
    size_t cap = 0;
    int rc = 1, i = 3;

    if (argc < 5) {
        fprintf(stderr, "usage: bench_parse TYPE LOGFILE PATTERN_DIR... -- PARSER.yaml...\n");
        return 2;
    }
    const char *type = argv[1], *logfile = argv[2];
    struct grok_error gerr = { 0 };
    if ((lib = grok_library_new()) == NULL)
        goto out;
    for (; i < argc && strcmp(argv[i], "--") != 0; i++) {
        if (grok_library_load_dir(lib, argv[i], &gerr) < 0) {
            fprintf(stderr, "bench_parse: %s:%d: %s\n", gerr.file, gerr.line, gerr.message);
            goto out;
        }
    }
    for (i++; i < argc; i++) {
        if (nitems == BENCH_MAX_PARSERS || (stages[nitems] = stage_of(argv[i])) == NULL) {
            fprintf(stderr, "bench_parse: %s: expected <stage>/<author>/<file>.yaml\n", argv[i]);
            goto out;
        }
        items[nitems] = (struct parser_item){ argv[i], stages[nitems] };
        nitems++;
    }
    struct parser_options popts = { .grok = lib };
    struct parser_error perr = { 0 };
    if ((ps = parser_set_load(items, nitems, &popts, &perr)) == NULL) {
        fprintf(stderr, "bench_parse: %s:%d: %s\n", perr.file, perr.line, perr.message);
        goto out;
    }
    if ((w = parser_worker_new(ps)) == NULL)
        goto out;
    if ((f = fopen(logfile, "r")) == NULL) {
        fprintf(stderr, "bench_parse: %s: %s\n", logfile, strerror(errno));
        goto out;
    }
    char src[PATH_MAX];
    if (realpath(logfile, src) == NULL)
        snprintf(src, sizeof(src), "%s", logfile);

    uint64_t lines = 0, parsed = 0;
    ssize_t n;
    double t0 = now_s();
    while ((n = getline(&line, &cap, f)) >= 0) {
        size_t len = (size_t)n;
        if (len > 0 && line[len - 1] == '\n')
            len--;
        if (len > 0 && line[len - 1] == '\r')
            len--;
        if (len == 0 || len > BENCH_MAX_LINE)
            continue;
        struct event *e = event_new(EVENT_LOG, EVENT_TIMEMACHINE, true);
        if (e == NULL)
            goto out;
        struct gotime now = gotime_now();
        now.offset_s = 0;
        e->line.time = now;
        e->line.process = true;
        if (event_set_str(e, &e->line.raw, line, len) < 0 ||
            event_set_str(e, &e->line.src, src, strlen(src)) < 0 ||
            event_set_str(e, &e->line.module, "file", 4) < 0 ||
            strmap_set_cstr(&e->line.labels, &e->arena, "type", type) < 0) {
            event_free(e);
            goto out;
        }
        enum parser_outcome r = parser_process(ps, w, e, NULL);
        event_free(e);
        if (r == PARSER_FAILED)
            goto out;
        lines++;
        parsed += r == PARSER_PARSED;
    }
    double secs = now_s() - t0;
    if (ferror(f)) {
        fprintf(stderr, "bench_parse: %s: read error\n", logfile);
        goto out;
    }
    struct parser_stats st;
    parser_worker_stats(w, &st);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("%llu\t%llu\t%llu\t%llu\t%.3f\t%.0f\t%ld\n", (unsigned long long)lines,
           (unsigned long long)parsed, (unsigned long long)(lines - parsed),
           (unsigned long long)st.grok_limit_hits, secs, secs > 0 ? (double)lines / secs : 0.0,
           ru.ru_maxrss);
    rc = 0;
out:
    free(line);
    if (f != NULL)
        fclose(f);
    parser_worker_free(w);
    parser_set_free(ps);
    grok_library_free(lib);
    for (size_t k = 0; k < nitems; k++)
        free(stages[k]);
    return rc;
}

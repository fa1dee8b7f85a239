/*
 * test_cases.c - CrowdSec's 21 leaky-bucket fixtures (tests/bucket/cases/,
 * see the README there) replayed in event time, results matched as a
 * multiset on scenario, events_count and sources, like bucketstore_test.go.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <strings.h>

#include "bucket/bucket.h"
#include "common/common.h"
#include "exprenv/exprenv.h"

#ifndef CASES_DIR
#error CASES_DIR must be defined
#endif

struct results {
    struct event *items[256];
    size_t n;
    bool reprocessed[256];
};

static void
collect(void *ctx, struct bucket_overflow *ov)
{
    struct results *r = ctx;

    if (r->n < ARRAY_SIZE(r->items)) {
        r->items[r->n++] = ov->evt;
        ov->evt = NULL;
    }
}

/* encoding/json matches keys case-insensitively. */
static json_t *
jget(const json_t *o, const char *key)
{
    const char *k;
    json_t *v;

    if (!json_is_object(o))
        return NULL;
    json_object_foreach((json_t *)o, k, v)
    {
        if (strcasecmp(k, key) == 0)
            return v;
    }
    return NULL;
}

static const char *
jstr(const json_t *o, const char *key)
{
    const json_t *v = jget(o, key);

    return json_is_string(v) ? json_string_value(v) : "";
}

static const char *
nz(const char *s)
{
    return s ? s : "";
}

/* reflect.DeepEqual of one models.Source against its JSON. */
static bool
source_equal(const struct source *s, const json_t *j)
{
    const json_t *lat = jget(j, "latitude"), *lon = jget(j, "longitude");

    return strcmp(nz(s->as_name), jstr(j, "as_name")) == 0 &&
           strcmp(nz(s->as_number), jstr(j, "as_number")) == 0 &&
           strcmp(nz(s->cn), jstr(j, "cn")) == 0 && strcmp(nz(s->ip), jstr(j, "ip")) == 0 &&
           strcmp(nz(s->range), jstr(j, "range")) == 0 &&
           strcmp(nz(s->scope), jstr(j, "scope")) == 0 &&
           strcmp(nz(s->value), jstr(j, "value")) == 0 &&
           s->latitude == (float)(lat ? json_number_value(lat) : 0) &&
           s->longitude == (float)(lon ? json_number_value(lon) : 0);
}

/* matchOverflow */
static bool
match(const struct event *got, const json_t *want)
{
    const json_t *ra = jget(want, "Alert");
    const json_t *wa = jget(ra, "Alert");
    const struct runtime_alert *g = &got->overflow;
    const json_t *srcs;

    if (g->alert == NULL || wa == NULL)
        return g->alert == NULL && wa == NULL;
    if (strcmp(nz(g->alert->scenario), jstr(wa, "scenario")) != 0 ||
        g->alert->events_count != json_integer_value(jget(wa, "events_count")))
        return false;
    srcs = jget(ra, "sources");
    if (json_object_size(srcs) != g->nsources)
        return false;
    for (size_t i = 0; i < g->nsources; i++) {
        const json_t *s = json_object_get(srcs, g->sources[i].key);
        if (s == NULL || !source_equal(&g->sources[i].source, s))
            return false;
    }
    return true;
}

static char *
read_all(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;

    if (f == NULL)
        return NULL;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = calloc(1, (size_t)n + 1);
    if (buf != NULL && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    return buf;
}

/* scenarios.yaml: "- filename: {{.TestDirectory}}/x.yaml" lines. */
static size_t
scenario_files(const char *dir, char paths[][1200], size_t max)
{
    char p[600];
    char *text, *line, *save = NULL;
    size_t n = 0;

    snprintf(p, sizeof(p), "%s/scenarios.yaml", dir);
    assert_non_null(text = read_all(p));
    for (line = strtok_r(text, "\n", &save); line != NULL && n < max;
         line = strtok_r(NULL, "\n", &save)) {
        const char *v = strstr(line, "filename:");
        if (v == NULL)
            continue;
        v += strlen("filename:");
        while (*v == ' ')
            v++;
        const char *t = strstr(v, "{{.TestDirectory}}");
        if (t != NULL)
            snprintf(paths[n], 1200, "%s%s", dir, t + strlen("{{.TestDirectory}}"));
        else
            snprintf(paths[n], 1200, "%s", v);
        paths[n][strcspn(paths[n], " \r")] = '\0';
        n++;
    }
    free(text);
    return n;
}

static int
run_case(const char *name)
{
    char dir[512], paths[8][1200], err[512];
    struct bucket_file files[8];
    struct bucket_options opts = { .data_dir = CASES_DIR };
    struct bucket_error berr;
    struct results *res = calloc(1, sizeof(*res));
    json_error_t jerr;
    json_t *tf, *lines, *want;
    struct gotime latest = { INT64_MIN, 0 };
    int failed = 0;

    snprintf(dir, sizeof(dir), "%s/%s", CASES_DIR, name);
    size_t nf = scenario_files(dir, paths, ARRAY_SIZE(paths));
    for (size_t i = 0; i < nf; i++)
        files[i] = (struct bucket_file){ .path = paths[i] };
    struct bucket_set *set = bucket_set_load(files, nf, &opts, &berr);
    if (set == NULL) {
        printf("# %s: load: %s:%d: %s\n", name, berr.file, berr.line, berr.message);
        free(res);
        return 1;
    }
    snprintf(dir, sizeof(dir), "%s/%s/test.json", CASES_DIR, name);
    assert_non_null(tf = json_load_file(dir, 0, &jerr));
    lines = jget(tf, "lines");
    want = jget(tf, "results");

    struct bucket_shard_options so = { .clock = BUCKET_REPLAY, .emit = collect, .ctx = res };
    struct bucket_shard *sh = bucket_shard_new(set, &so);
    assert_non_null(sh);
    for (size_t i = 0; i < json_array_size(lines); i++) {
        struct event *e = event_new(EVENT_LOG, EVENT_TIMEMACHINE, true);
        struct gotime t;
        assert_int_equal(exprenv_event_from_json(json_array_get(lines, i), e, err, sizeof(err)), 0);
        e->expect_mode = EVENT_TIMEMACHINE;
        if (gotime_parse_rfc3339(e->marshaled_time.ptr, e->marshaled_time.len, &t) == 0 &&
            t.unix_ns > latest.unix_ns)
            latest = t;
        if (bucket_pour(sh, e, err, sizeof(err)) < 0) {
            printf("# %s: pour: %s\n", name, err);
            failed = 1;
        }
        event_free(e);
    }
    /* CrowdSec's harness waits about 3 s of wall clock for results. */
    struct gotime flush = { latest.unix_ns + 3000000000LL, 0 };
    assert_int_equal(bucket_advance(sh, flush), 0);
    for (size_t i = 0; i < res->n; i++) {
        if (res->items[i]->overflow.reprocess && !res->reprocessed[i]) {
            res->reprocessed[i] = true;
            if (bucket_pour(sh, res->items[i], err, sizeof(err)) < 0) {
                printf("# %s: reprocess: %s\n", name, err);
                failed = 1;
            }
            assert_int_equal(bucket_advance(sh, flush), 0);
        }
    }

    /* multiset match */
    size_t nwant = json_array_size(want);
    bool *used = calloc(nwant + 1, sizeof(bool));
    if (res->n != nwant) {
        printf("# %s: %zu results, want %zu\n", name, res->n, nwant);
        failed = 1;
    }
    for (size_t i = 0; i < res->n && !failed; i++) {
        bool found = false;
        for (size_t j = 0; j < nwant && !found; j++) {
            if (!used[j] && match(res->items[i], json_array_get(want, j)))
                used[j] = found = true;
        }
        if (!found) {
            const struct runtime_alert *g = &res->items[i]->overflow;
            printf("# %s: unexpected result %zu: %s count %d, %zu sources (%s)\n", name, i,
                   g->alert ? g->alert->scenario : "(dead notice)",
                   g->alert ? g->alert->events_count : 0, g->nsources,
                   g->nsources ? g->sources[0].key : "");
            failed = 1;
        }
    }
    free(used);
    for (size_t i = 0; i < res->n; i++)
        event_free(res->items[i]);
    free(res);
    json_decref(tf);
    bucket_shard_free(sh);
    bucket_set_free(set);
    expr_data_reset();
    return failed;
}

static int
name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
test_fixtures(void **state)
{
    DIR *d = opendir(CASES_DIR);
    struct dirent *de;
    char *names[64];
    size_t n = 0, failed = 0;

    (void)state;
    assert_non_null(d);
    while ((de = readdir(d)) != NULL && n < ARRAY_SIZE(names)) {
        if (de->d_name[0] == '.' || strcmp(de->d_name, "README.md") == 0)
            continue;
        names[n++] = strdup(de->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof(*names), name_cmp);
    for (size_t i = 0; i < n; i++) {
        int f = run_case(names[i]);
        printf("# %s %s\n", f ? "FAIL" : "ok  ", names[i]);
        failed += (size_t)f;
        free(names[i]);
    }
    assert_int_equal(n, 21);
    assert_int_equal(failed, 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixtures),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

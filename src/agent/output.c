/*
 * output.c - the output stage and the dumps. An overflow runs through the
 * postoverflow stages (the parser engine in postoverflow mode); a whitelisted
 * one gives no alert; the others become alerts as CrowdSec's agent sends
 * them to the Local API (dedupAlerts: an overflow with N sources gives N
 * alerts, each with one source), serialized once with alert_to_json and
 * model_json_dumps. The records are sorted by (overflow time, scenario,
 * bucket key) before they are written, so the output does not depend on
 * which shard or output thread saw an overflow first.
 *
 * -dump-data writes CrowdSec's three files: parser-dump.yaml (the hubtest
 * writer), bucketpour-dump.yaml (every event reaching the buckets under "OK"
 * and under each scenario it was poured to) and bucket-dump.yaml (every
 * overflow with an alert, after postoverflows, whitelisted ones included).
 */
#include "agent/pipeline.h"

#include "hubtest/internal.h"

#include <limits.h>

void
trace_list_clear(struct trace_list *l)
{
    for (size_t i = 0; i < l->len; i++) {
        free(l->items[i].stage);
        free(l->items[i].node);
        event_free(l->items[i].evt);
    }
    free(l->items);
    memset(l, 0, sizeof(*l));
}

void
trace_list_node_done(void *ctx, const char *stage, const char *node, bool success,
                     const struct event *evt)
{
    struct trace_list *l = ctx;
    if (l->len == l->cap) {
        size_t ncap = l->cap ? l->cap * 2 : 8;
        struct trace_rec *n = realloc(l->items, ncap * sizeof(*n));
        if (n == NULL)
            return; /* a dump entry lost to OOM; the pipeline goes on */
        l->items = n;
        l->cap = ncap;
    }
    struct trace_rec *r = &l->items[l->len];
    r->stage = strdup(stage);
    r->node = strdup(node);
    r->success = success;
    r->evt = event_clone(evt);
    /* The dump is a deep copy: later nodes must not change what this one saw. */
    if (r->evt != NULL && r->evt->unmarshaled != NULL) {
        json_t *deep = json_deep_copy(r->evt->unmarshaled);
        json_decref(r->evt->unmarshaled);
        r->evt->unmarshaled = deep;
    }
    if (r->stage == NULL || r->node == NULL || r->evt == NULL) {
        free(r->stage);
        free(r->node);
        event_free(r->evt);
        return;
    }
    l->len++;
}

int
trace_list_flush(struct trace_list *l, struct parser_results *results)
{
    int rc = 0;
    for (size_t i = 0; i < l->len; i++) {
        struct trace_rec *r = &l->items[i];
        const struct parser_stage_results *s =
            parser_results_stage(results, r->stage, strlen(r->stage));
        const struct parser_node_results *n =
            s != NULL ? parser_stage_node(s, r->node, strlen(r->node)) : NULL;
        int64_t idx;
        if (n != NULL && n->len > 0)
            idx = n->items[0].idx;
        else
            idx = (int64_t)(s != NULL ? s->len : 0) + (n == NULL ? 1 : 0);
        if (rc == 0 && parser_results_add(results, r->stage, r->node, idx, r->evt, r->success) < 0)
            rc = -ENOMEM;
        else if (rc != 0)
            event_free(r->evt);
        r->evt = NULL;
    }
    trace_list_clear(l);
    return rc;
}

void
out_rec_free(struct out_rec *r)
{
    if (r == NULL)
        return;
    free(r->scenario);
    free(r->mapkey);
    for (size_t i = 0; i < r->nlines; i++)
        free(r->lines[i]);
    free(r->lines);
    event_free(r->evt);
    trace_list_clear(&r->traces);
    free(r);
}

static int
add_line(struct out_rec *r, const struct alert *a)
{
    json_t *j = alert_to_json(a);
    char *s = j != NULL ? model_json_dumps(j) : NULL;
    json_decref(j);
    if (s == NULL)
        return -ENOMEM;
    char **n = realloc(r->lines, (r->nlines + 1) * sizeof(*n));
    if (n == NULL) {
        free(s);
        return -ENOMEM;
    }
    r->lines = n;
    r->lines[r->nlines++] = s;
    return 0;
}

struct out_rec *
output_process(const struct parser_set *po, struct parser_worker *w, struct event *evt, bool dump,
               bool *ret_whitelisted)
{
    struct out_rec *r = calloc(1, sizeof(*r));
    struct runtime_alert *ov = &evt->overflow;
    struct gotime t;

    if (r == NULL)
        return NULL;
    if (po != NULL && w != NULL) {
        struct parser_trace trace = { .ctx = &r->traces, .node_done = trace_list_node_done };
        (void)parser_process(po, w, evt, dump ? &trace : NULL);
    }
    if (evt->marshaled_time.len > 0 &&
        gotime_parse_rfc3339(evt->marshaled_time.ptr, evt->marshaled_time.len, &t) == 0)
        r->time_ns = t.unix_ns;
    r->scenario = strdup(ov->alert != NULL && ov->alert->scenario ? ov->alert->scenario : "");
    r->mapkey = strdup(ov->mapkey != NULL ? ov->mapkey : "");
    if (r->scenario == NULL || r->mapkey == NULL)
        goto oom;
    *ret_whitelisted = ov->whitelisted;
    if (!ov->whitelisted && ov->alert != NULL) {
        if (ov->nsources <= 1) {
            if (add_line(r, ov->alert) < 0)
                goto oom;
        } else {
            for (size_t i = 0; i < ov->nsources; i++) {
                struct alert copy = *ov->alert;
                copy.source = &ov->sources[i].source;
                if (add_line(r, &copy) < 0)
                    goto oom;
            }
        }
    }
    return r;
oom:
    out_rec_free(r);
    return NULL;
}

static int
cmp_rec(const void *a, const void *b)
{
    const struct out_rec *x = *(struct out_rec *const *)a, *y = *(struct out_rec *const *)b;
    int c;
    if (x->time_ns != y->time_ns)
        return x->time_ns < y->time_ns ? -1 : 1;
    if ((c = strcmp(x->scenario, y->scenario)) != 0)
        return c;
    if ((c = strcmp(x->mapkey, y->mapkey)) != 0)
        return c;
    if (x->nlines != y->nlines)
        return x->nlines < y->nlines ? -1 : 1;
    return x->nlines > 0 ? strcmp(x->lines[0], y->lines[0]) : 0;
}

void
output_sort(struct out_rec **recs, size_t n)
{
    if (n > 1)
        qsort(recs, n, sizeof(*recs), cmp_rec);
}

/* --- dumps --- */

static int
cmp_pour(const void *a, const void *b)
{
    const struct pour_rec *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    if (c != 0)
        return c;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static FILE *
open_in(const char *dir, const char *name, char *path, size_t size, struct agent_error *err)
{
    if ((size_t)snprintf(path, size, "%s/%s", dir, name) >= size) {
        agent_errorf(err, "%s: path too long", dir);
        return NULL;
    }
    FILE *f = fopen(path, "w");
    if (f == NULL)
        agent_errorf(err, "%s: %s", path, strerror(errno));
    return f;
}

int
dump_write_all(const char *dir, const struct parser_results *parse, struct pour_rec *pours,
               size_t npours, struct out_rec **recs, size_t nrecs, struct agent_error *err)
{
    char path[PATH_MAX], e[512];
    FILE *f;

    if (hubtest_mkdir_p(dir) < 0) {
        agent_errorf(err, "%s: %s", dir, strerror(errno));
        return -1;
    }
    if ((size_t)snprintf(path, sizeof(path), "%s/parser-dump.yaml", dir) >= sizeof(path) ||
        hubtest_dump_write(path, parse, e, sizeof(e)) < 0) {
        agent_errorf(err, "%s", e);
        return -1;
    }
    if ((f = open_in(dir, "bucket-dump.yaml", path, sizeof(path), err)) == NULL)
        return -1;
    size_t written = 0;
    for (size_t i = 0; i < nrecs; i++) {
        if (recs[i]->evt == NULL)
            continue;
        fputs("-\n", f);
        hubtest_dump_event(f, 2, recs[i]->evt);
        written++;
    }
    if (written == 0)
        fputs("[]\n", f);
    if (fclose(f) != 0) {
        agent_errorf(err, "%s: write failed", path);
        return -1;
    }
    if ((f = open_in(dir, "bucketpour-dump.yaml", path, sizeof(path), err)) == NULL)
        return -1;
    if (npours > 1)
        qsort(pours, npours, sizeof(*pours), cmp_pour);
    if (npours == 0)
        fputs("{}\n", f);
    for (size_t i = 0; i < npours; i++) {
        if (i == 0 || strcmp(pours[i].key, pours[i - 1].key) != 0) {
            json_t *j = json_string(pours[i].key);
            if (j != NULL)
                json_dumpf(j, f, JSON_ENCODE_ANY);
            json_decref(j);
            fputs(":\n", f);
        }
        fputs("    -\n", f);
        hubtest_dump_event(f, 6, pours[i].evt);
    }
    if (fclose(f) != 0) {
        agent_errorf(err, "%s: write failed", path);
        return -1;
    }
    return 0;
}

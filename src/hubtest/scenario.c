/*
 * scenario.c - the scenario side of a hub test, as crowdsec -dsn ... -dump-data
 * runs it: every parsed event (Process true, not whitelisted) is poured in
 * order into the buckets (one replay shard, timers on event time); what a
 * bucket emits goes through the output routine's steps: "bucket dead"
 * notices (no alert) are dropped, an overflow runs the postoverflow stages,
 * is kept for bucket-dump.yaml (whitelisted ones too), and unless
 * whitelisted a reprocess overflow is poured into the buckets again. At the
 * end the shard's timers are fired (counters, idle deaths) and the overflows
 * sorted as pkg/hubtest's BucketResults: descending by
 * Alert.GetScenario() + strings.Join(Overflow.GetSources(), "@") with Go's
 * sort.Sort (gosort.c), from emission order.
 */
#include "hubtest/internal.h"

#include "bucket/bucket.h"
#include "expr/expr.h"
#include "parser/parser.h"

/* Bounds on what one test may make: overflows kept, and pours of reprocessed overflows. */
#define SCEN_MAX_OVERFLOWS 100000
#define SCEN_MAX_REPROCESS 100000
/* CrowdSec waits for in-flight buckets a few seconds of wall clock after the file ends. */
#define SCEN_FLUSH_NS 3000000000LL

struct pour_entry {
    const char *key; /* a scenario name (borrowed from the set) or "OK" */
    struct event *evt;
};

struct hubtest_scen {
    const struct bucket_set *set;
    const struct parser_set *post;
    const struct parser_trace *trace;
    struct parser_worker *post_worker;
    struct bucket_shard *shard;
    struct expr_vm *vm;
    struct bucket_target *targets;
    struct event_list pending; /* emitted during the current pour, not yet handled */
    struct event_list results; /* overflows with an alert, after postoverflows */
    bool pour_dump;
    struct pour_entry *pours;
    size_t npours, cappours;
    int64_t latest_ns;
    bool have_latest;
    size_t reprocessed;
    int failed; /* out of memory inside the emit callback */
};

static void
on_emit(void *ctx, struct bucket_overflow *ov)
{
    struct hubtest_scen *s = ctx;
    /* Dead-bucket notices only free the bucket in crowdsec's output routine. */
    if (ov->evt == NULL || ov->evt->overflow.alert == NULL)
        return;
    if (s->pending.len + s->results.len >= SCEN_MAX_OVERFLOWS)
        return;
    struct event *e = ov->evt;
    ov->evt = NULL;
    if (event_list_push(&s->pending, e) < 0)
        s->failed = 1;
}

struct hubtest_scen *
hubtest_scen_new(const struct bucket_set *set, const struct parser_set *post,
                 const struct parser_trace *trace, bool pour_dump)
{
    struct hubtest_scen *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return NULL;
    s->set = set;
    s->post = post;
    s->trace = trace;
    s->pour_dump = pour_dump;
    struct bucket_shard_options so = { .clock = BUCKET_REPLAY, .emit = on_emit, .ctx = s };
    size_t n = bucket_set_count(set);
    s->shard = bucket_shard_new(set, &so);
    s->vm = expr_vm_new();
    s->targets = calloc(n > 0 ? n : 1, sizeof(*s->targets));
    if (post != NULL)
        s->post_worker = parser_worker_new(post);
    if (s->shard == NULL || s->vm == NULL || s->targets == NULL ||
        (post != NULL && s->post_worker == NULL)) {
        hubtest_scen_free(s);
        return NULL;
    }
    return s;
}

void
hubtest_scen_free(struct hubtest_scen *s)
{
    if (s == NULL)
        return;
    bucket_shard_free(s->shard);
    parser_worker_free(s->post_worker);
    expr_vm_free(s->vm);
    free(s->targets);
    event_list_clear(&s->pending);
    event_list_clear(&s->results);
    for (size_t i = 0; i < s->npours; i++)
        event_free(s->pours[i].evt);
    free(s->pours);
    free(s);
}

const struct event_list *
hubtest_scen_results(const struct hubtest_scen *s)
{
    return &s->results;
}

/* PourCollector.Add: a copy of the event under key. */
static int
record_pour(struct hubtest_scen *s, const char *key, const struct event *evt)
{
    if (!s->pour_dump)
        return 0;
    if (s->npours == s->cappours) {
        size_t cap = s->cappours ? s->cappours * 2 : 64;
        struct pour_entry *p = realloc(s->pours, cap * sizeof(*p));
        if (p == NULL)
            return -1;
        s->pours = p;
        s->cappours = cap;
    }
    struct event *copy = event_clone(evt);
    if (copy == NULL)
        return -1;
    s->pours[s->npours++] = (struct pour_entry){ key, copy };
    return 0;
}

/* PourItemToHolders: every scenario whose filter matches, in load order. */
static int
pour_one(struct hubtest_scen *s, const struct event *evt)
{
    size_t n = 0;
    char merr[256];
    if (record_pour(s, "OK", evt) < 0)
        return -1;
    /* A filter or groupby error stops this event's pours there, as in crowdsec (logged only). */
    (void)bucket_match(s->set, s->vm, evt, s->targets, &n, merr, sizeof(merr));
    for (size_t i = 0; i < n; i++) {
        int rc = bucket_pour_target(s->shard, &s->targets[i], evt);
        if (rc < 0)
            return -1;
        const struct bucket_factory *f = bucket_set_factory(s->set, s->targets[i].scenario);
        if (record_pour(s, f->spec.name != NULL ? f->spec.name : "", evt) < 0)
            return -1;
    }
    return s->failed ? -1 : 0;
}

static void
note_time(struct hubtest_scen *s, const struct event *evt)
{
    struct gotime t;
    if (evt->marshaled_time.len == 0 ||
        gotime_parse_rfc3339(evt->marshaled_time.ptr, evt->marshaled_time.len, &t) < 0)
        return;
    if (!s->have_latest || t.unix_ns > s->latest_ns) {
        s->latest_ns = t.unix_ns;
        s->have_latest = true;
    }
}

/*
 * The output routine on what the last pours emitted: postoverflows, keep,
 * reprocess. Reprocessed overflows can emit more; the loop takes them in
 * order until none is left (bounded by SCEN_MAX_REPROCESS pours).
 */
static int
drain(struct hubtest_scen *s)
{
    while (s->pending.len > 0) {
        struct event *e = s->pending.items[0];
        memmove(s->pending.items, s->pending.items + 1,
                (s->pending.len - 1) * sizeof(*s->pending.items));
        s->pending.len--;
        if (s->post != NULL &&
            parser_process(s->post, s->post_worker, e, s->trace) == PARSER_FAILED) {
            event_free(e);
            return -1;
        }
        if (event_list_push(&s->results, e) < 0)
            return -1;
        if (e->overflow.whitelisted || !e->overflow.reprocess ||
            s->reprocessed >= SCEN_MAX_REPROCESS)
            continue;
        s->reprocessed++;
        if (pour_one(s, e) < 0)
            return -1;
    }
    return 0;
}

int
hubtest_scen_pour(struct hubtest_scen *s, const struct event *evt, char *err, size_t errlen)
{
    note_time(s, evt);
    if (pour_one(s, evt) < 0 || drain(s) < 0) {
        snprintf(err, errlen, "out of memory while pouring into the scenarios");
        return -1;
    }
    return 0;
}

static const char *
alert_scenario(const struct event *e)
{
    const struct alert *a = e->overflow.alert;
    return a != NULL && a->scenario != NULL ? a->scenario : "";
}

/* The sort key of BucketResults.Less; malloc'd, NULL on OOM. */
static char *
sort_key(const struct event *e)
{
    struct str k = { 0 };
    int rc = str_append(&k, alert_scenario(e), strlen(alert_scenario(e)));
    for (size_t i = 0; rc == 0 && i < e->overflow.nsources; i++) {
        if (i > 0)
            rc = str_append(&k, "@", 1);
        if (rc == 0)
            rc = str_append(&k, e->overflow.sources[i].key, strlen(e->overflow.sources[i].key));
    }
    if (rc < 0) {
        str_free(&k);
        return NULL;
    }
    return k.buf != NULL ? str_steal(&k) : strdup("");
}

struct keyed {
    char *key;
    struct event *evt;
};

/* BucketResults.Less: descending by key. */
static bool
keyed_less(void *ctx, ptrdiff_t i, ptrdiff_t j)
{
    const struct keyed *k = ctx;
    return strcmp(k[i].key, k[j].key) > 0;
}

static void
keyed_swap(void *ctx, ptrdiff_t i, ptrdiff_t j)
{
    struct keyed *k = ctx;
    struct keyed t = k[i];
    k[i] = k[j];
    k[j] = t;
}

int
hubtest_scen_finish(struct hubtest_scen *s, char *err, size_t errlen)
{
    if (s->have_latest) {
        struct gotime flush = { s->latest_ns + SCEN_FLUSH_NS, 0 };
        if (bucket_advance(s->shard, flush) < 0 || drain(s) < 0 ||
            bucket_advance(s->shard, flush) < 0 || drain(s) < 0 || s->failed) {
            snprintf(err, errlen, "out of memory while flushing the buckets");
            return -1;
        }
    }
    size_t n = s->results.len;
    if (n < 2)
        return 0;
    struct keyed *k = calloc(n, sizeof(*k));
    int rc = k != NULL ? 0 : -1;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        k[i] = (struct keyed){ sort_key(s->results.items[i]), s->results.items[i] };
        if (k[i].key == NULL)
            rc = -1;
    }
    if (rc == 0) {
        hubtest_go_sort(k, n, keyed_less, keyed_swap);
        for (size_t i = 0; i < n; i++)
            s->results.items[i] = k[i].evt;
    }
    for (size_t i = 0; k != NULL && i < n; i++)
        free(k[i].key);
    free(k);
    if (rc < 0)
        snprintf(err, errlen, "out of memory while sorting the overflows");
    return rc;
}

static int
cmp_pour_key(const void *a, const void *b)
{
    const struct pour_entry *const *x = a, *const *y = b;
    int c = strcmp((*x)->key, (*y)->key);
    /* Stable: the events of one key stay in pour order. */
    return c != 0 ? c : (*x < *y ? -1 : *x > *y);
}

int
hubtest_scen_dump_write(const struct hubtest_scen *s, const char *dir, char *err, size_t errlen)
{
    char path[PATH_MAX];
    if ((size_t)snprintf(path, sizeof(path), "%s/bucket-dump.yaml", dir) >= sizeof(path)) {
        snprintf(err, errlen, "%s: path too long", dir);
        return -1;
    }
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (s->results.len == 0)
        fputs("[]\n", f);
    for (size_t i = 0; i < s->results.len; i++) {
        fputs("-\n", f);
        hubtest_dump_event(f, 2, s->results.items[i]);
    }
    if (fclose(f) != 0) {
        snprintf(err, errlen, "%s: could not write the bucket dump", path);
        return -1;
    }
    if (!s->pour_dump)
        return 0;
    snprintf(path, sizeof(path), "%s/bucketpour-dump.yaml", dir);
    const struct pour_entry **sorted = calloc(s->npours ? s->npours : 1, sizeof(*sorted));
    f = sorted != NULL ? fopen(path, "w") : NULL;
    if (f == NULL) {
        free(sorted);
        snprintf(err, errlen, "%s: cannot write", path);
        return -1;
    }
    for (size_t i = 0; i < s->npours; i++)
        sorted[i] = &s->pours[i];
    qsort(sorted, s->npours, sizeof(*sorted), cmp_pour_key);
    if (s->npours == 0)
        fputs("{}\n", f);
    for (size_t i = 0; i < s->npours; i++) {
        if (i == 0 || strcmp(sorted[i]->key, sorted[i - 1]->key) != 0) {
            json_t *j = json_string(sorted[i]->key);
            if (j != NULL)
                json_dumpf(j, f, JSON_ENCODE_ANY);
            json_decref(j);
            fputs(":\n", f);
        }
        fputs("    -\n", f);
        hubtest_dump_event(f, 6, sorted[i]->evt);
    }
    free(sorted);
    if (fclose(f) != 0) {
        snprintf(err, errlen, "%s: could not write the bucket pour dump", path);
        return -1;
    }
    return 0;
}

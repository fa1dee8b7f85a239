/*
 * pipeline.c - the replay pipeline: source (the calling thread) -> N parser
 * workers -> dispatcher -> M bucket shards -> K output threads.
 *
 * Determinism. Lines travel in batches numbered in read order; the workers
 * parse them and run bucket_match in any order, the dispatcher takes them
 * back in number order (a window of credits bounds how far the source may
 * run ahead), keeps the event clock (the largest MarshaledTime seen so far)
 * and gives each target to the shard owning its key. A shard therefore sees
 * its events in line order, and before every pour it is advanced to the
 * clock, so a timer fires before the same pours whatever the shard count
 * (timers stamp their own due time, not the moment they run). The output is
 * sorted at the end. With `reprocess` scenarios the dispatcher waits after
 * each batch until the shards and the output are idle and pours the
 * reprocessed overflows, sorted, before the next batch: the batch size is
 * fixed, so that point does not depend on threads either.
 *
 * Back-pressure: every queue is bounded (credits for batches, agent_queue
 * for shards and output); a full queue blocks its producer and the wait is
 * counted. The reprocess list is the one unbounded hand-off, bounded in
 * practice by the overflows of one batch.
 */
#include "agent/pipeline.h"

#include "acquisition/acquisition.h"

#include "expr/expr.h"

#include <stdatomic.h>

#define BATCH_LINES      512
#define BATCH_TEXT_MAX   ((size_t)1024 * 1024)
#define SHARD_QUEUE_CAP  16
#define OUT_QUEUE_CAP    1024
#define REPROCESS_ROUNDS 64 /* bound on overflow -> reprocess -> overflow chains per settle */

struct line_slot {
    size_t off, len;  /* the raw line in batch->text */
    const char *file; /* replay: the file it came from */
    /* live: Line.Src at batch->text + src_off, the source's labels, Module and read time */
    size_t src_off;
    const struct acq_common *common;
    const char *module;
    int64_t time_ns;
    struct event *evt; /* parsed event to pour, or NULL */
    size_t tgt_off, ntgt;
    struct trace_list traces; /* dump mode */
};

struct batch {
    uint64_t seq;
    struct gotime read_time; /* replay: Line.Time of its lines (read in well under a second) */
    size_t n;
    struct line_slot slots[BATCH_LINES];
    char *text;
    size_t text_len, text_cap;
    struct bucket_target *targets;
    size_t ntargets, ctargets;
};

struct shared_evt {
    struct event *evt;
    atomic_uint refs;
};

struct shard_item {
    struct shared_evt *se;
    struct bucket_target t;
    struct gotime clock;
};

struct shard_batch {
    struct shard_item *items;
    size_t n, cap;
    bool flush, barrier; /* advance to clock / acknowledge when done */
    struct gotime clock;
};

struct run;

struct shard_ctx {
    struct run *r;
    struct bucket_shard *sh;
    struct agent_queue q;
    pthread_t th;
    bool started;
    uint64_t poured;
    struct expr_vm *vm; /* for the alert context; NULL when there is none */
    uint64_t context_errors;
};

struct worker_ctx {
    struct run *r;
    pthread_t th;
    bool started;
    struct parser_worker *pw;
    struct expr_vm *vm;
    struct bucket_target *scratch;
    uint64_t parsed, unparsed, whitelisted;
};

struct out_ctx {
    struct run *r;
    pthread_t th;
    bool started;
    struct parser_worker *pw;
};

struct run {
    struct agent *a;
    const struct agent_replay_options *o;
    const struct agent_live_options *live; /* NULL in a replay */
    bool wall_clock; /* buckets on the wall clock (live sources); else on event time */
    unsigned np, nb, no;
    bool dump;
    size_t nscen;

    struct agent_queue parse_q;
    pthread_mutex_t ro_mu;
    pthread_cond_t ro_cond;
    struct batch **done;
    size_t window;
    uint64_t issued, consumed, total;
    bool src_done;

    struct shard_ctx *shards;
    struct worker_ctx *workers;
    struct out_ctx *outs;

    struct agent_queue out_q;
    pthread_mutex_t out_mu;
    pthread_cond_t out_cond;
    uint64_t inflight, acks;
    struct out_rec **recs;
    size_t nrecs, crecs;
    struct event_list reprocess;
    uint64_t overflows, po_whitelisted, reprocessed;

    bool clock_set;
    struct gotime clock;
    /* the MarshaledTime parsed last by update_clock: consecutive lines share their second */
    char last_text[64];
    size_t last_len;
    struct gotime last_time;
    pthread_t disp;
    bool disp_started;
    struct expr_vm *dvm; /* the dispatcher's, for reprocessed overflows */
    struct bucket_target *dscratch;
    struct parser_results parse_results;
    struct pour_rec *pours;
    size_t npours, cpours;

    atomic_uint_fast64_t alerts_sent; /* live: alerts the sink accepted */
    atomic_int failed;
    pthread_mutex_t err_mu;
    char errmsg[512];
};

static void
run_fail(struct run *r, const char *msg)
{
    pthread_mutex_lock(&r->err_mu);
    if (r->errmsg[0] == '\0')
        snprintf(r->errmsg, sizeof(r->errmsg), "%.500s", msg);
    pthread_mutex_unlock(&r->err_mu);
    atomic_store(&r->failed, 1);
    /* Wake everyone: a failed run drains and stops instead of waiting forever. */
    pthread_mutex_lock(&r->ro_mu);
    pthread_cond_broadcast(&r->ro_cond);
    pthread_mutex_unlock(&r->ro_mu);
    pthread_mutex_lock(&r->out_mu);
    pthread_cond_broadcast(&r->out_cond);
    pthread_mutex_unlock(&r->out_mu);
}

static bool
run_failed(struct run *r)
{
    return atomic_load(&r->failed) != 0;
}

void
batch_free(struct batch *b)
{
    if (b == NULL)
        return;
    for (size_t i = 0; i < b->n; i++) {
        event_free(b->slots[i].evt);
        trace_list_clear(&b->slots[i].traces);
    }
    free(b->text);
    free(b->targets);
    free(b);
}

/* --- parser workers --- */

/* A line read by a live source: its labels and Src come with it, its time is the read time. */
static struct event *
make_live_event(const struct batch *b, const struct line_slot *s)
{
    const struct acq_common *c = s->common;
    bool tm = c->use_time_machine || (c->mode != NULL && strcmp(c->mode, "cat") == 0);
    struct event *e = event_new(EVENT_LOG, tm ? EVENT_TIMEMACHINE : EVENT_LIVE, true);
    if (e == NULL)
        return NULL;
    const char *src = b->text + s->src_off;
    int rc = event_set_str(e, &e->line.raw, b->text + s->off, s->len);
    rc = rc < 0 ? rc : event_set_str(e, &e->line.src, src, strlen(src));
    rc = rc < 0 ? rc : event_set_str(e, &e->line.module, s->module, strlen(s->module));
    for (size_t i = 0; rc == 0 && i < c->nlabels; i++)
        rc = strmap_set_cstr(&e->line.labels, &e->arena, c->labels[i].key, c->labels[i].value);
    e->line.process = true;
    e->line.time = (struct gotime){ s->time_ns, 0 };
    if (rc < 0) {
        event_free(e);
        return NULL;
    }
    return e;
}

static struct event *
make_event(struct run *r, const struct batch *b, const struct line_slot *s)
{
    if (s->common != NULL)
        return make_live_event(b, s);
    struct event *e = event_new(EVENT_LOG, EVENT_TIMEMACHINE, true);
    if (e == NULL)
        return NULL;
    int rc = event_set_str(e, &e->line.raw, b->text + s->off, s->len);
    rc = rc < 0 ? rc : event_set_str(e, &e->line.src, s->file, strlen(s->file));
    rc = rc < 0 ? rc : event_set_str(e, &e->line.module, "file", 4);
    for (size_t i = 0; rc == 0 && i < r->o->nlabels; i++)
        rc =
            strmap_set_cstr(&e->line.labels, &e->arena, r->o->labels[i].key, r->o->labels[i].value);
    /* -type is set after the -label pairs, as CrowdSec's DSN acquisition does. */
    if (rc == 0)
        rc = strmap_set_cstr(&e->line.labels, &e->arena, "type",
                             r->o->type != NULL ? r->o->type : "");
    e->line.process = true;
    e->line.time = b->read_time;
    if (rc < 0) {
        event_free(e);
        return NULL;
    }
    return e;
}

static int
batch_add_targets(struct batch *b, const struct bucket_target *t, size_t n)
{
    if (b->ntargets + n > b->ctargets) {
        /* Room for two targets a line at first: an sshd batch needs ~2.6, nginx fewer. */
        size_t ncap = b->ctargets ? b->ctargets * 2 : (size_t)BATCH_LINES * 2;
        while (ncap < b->ntargets + n)
            ncap *= 2;
        struct bucket_target *nt = realloc(b->targets, ncap * sizeof(*nt));
        if (nt == NULL)
            return -ENOMEM;
        b->targets = nt;
        b->ctargets = ncap;
    }
    memcpy(b->targets + b->ntargets, t, n * sizeof(*t));
    b->ntargets += n;
    return 0;
}

static void
parse_slot(struct worker_ctx *w, struct batch *b, struct line_slot *s)
{
    struct run *r = w->r;
    struct event *e = make_event(r, b, s);
    char err[256];
    size_t n = 0;

    if (e == NULL) {
        run_fail(r, "out of memory while parsing");
        return;
    }
    struct parser_trace trace = { .ctx = &s->traces, .node_done = trace_list_node_done };
    enum parser_outcome out = parser_process(r->a->parsers, w->pw, e, r->dump ? &trace : NULL);
    if (out == PARSER_FAILED) {
        event_free(e);
        run_fail(r, "out of memory while parsing");
        return;
    }
    if (!e->process) {
        w->unparsed++;
        event_free(e);
        return;
    }
    if (e->whitelisted) {
        w->whitelisted++;
        event_free(e);
        return;
    }
    w->parsed++;
    /* A filter error stops the pour at that scenario, as in CrowdSec: keep the ones before. */
    (void)bucket_match(r->a->scenarios, w->vm, e, w->scratch, &n, err, sizeof(err));
    s->tgt_off = b->ntargets;
    s->ntgt = n;
    if (n > 0 && batch_add_targets(b, w->scratch, n) < 0) {
        event_free(e);
        run_fail(r, "out of memory while matching scenarios");
        return;
    }
    s->evt = e;
}

static void *
worker_main(void *arg)
{
    struct worker_ctx *w = arg;
    struct run *r = w->r;
    struct batch *b;

    while ((b = agent_queue_pop(&r->parse_q)) != NULL) {
        for (size_t i = 0; i < b->n && !run_failed(r); i++)
            parse_slot(w, b, &b->slots[i]);
        pthread_mutex_lock(&r->ro_mu);
        r->done[b->seq % r->window] = b;
        pthread_cond_broadcast(&r->ro_cond);
        pthread_mutex_unlock(&r->ro_mu);
    }
    return NULL;
}

/* --- shards --- */

/* Drops k references to se; the one dropping the last frees it. */
static void
shared_release_n(struct shared_evt *se, unsigned k)
{
    if (atomic_fetch_sub(&se->refs, k) == k) {
        event_free(se->evt);
        free(se);
    }
}

static void
shared_release(struct shared_evt *se)
{
    shared_release_n(se, 1);
}

/* The shard's emit callback: overflows with an alert go to the output, notices are counted. */
static void
shard_emit(void *ctx, struct bucket_overflow *ov)
{
    struct shard_ctx *sc = ctx;
    struct run *r = sc->r;

    if (ov->end != BUCKET_OVERFLOW || ov->evt == NULL || ov->evt->overflow.alert == NULL)
        return;
    struct event *evt = ov->evt;
    ov->evt = NULL;
    /*
     * The alert context is built here, while the bucket's queue still exists, as CrowdSec's
     * NewAlert does before postoverflows: every API alert of the overflow gets the same Meta.
     */
    if (sc->vm != NULL && ov->queue != NULL && !run_failed(r)) {
        struct runtime_alert *ra = &evt->overflow;
        int rc = agent_context_eval(r->a->context, sc->vm, &ov->queue->queue, &ra->alert->meta,
                                    &sc->context_errors);
        for (size_t i = 0; rc == 0 && i < ra->napi_alerts; i++)
            if (ra->api_alerts[i] != ra->alert)
                rc = agent_context_eval(r->a->context, sc->vm, &ov->queue->queue,
                                        &ra->api_alerts[i]->meta, &sc->context_errors);
        if (rc < 0)
            run_fail(r, "out of memory building the alert context");
    }
    pthread_mutex_lock(&r->out_mu);
    r->inflight++;
    pthread_mutex_unlock(&r->out_mu);
    if (agent_queue_push(&r->out_q, evt) < 0) {
        event_free(evt);
        pthread_mutex_lock(&r->out_mu);
        r->inflight--;
        pthread_cond_broadcast(&r->out_cond);
        pthread_mutex_unlock(&r->out_mu);
    }
}

static void *
shard_main(void *arg)
{
    struct shard_ctx *sc = arg;
    struct run *r = sc->r;
    struct shard_batch *sb;

    while ((sb = agent_queue_pop(&sc->q)) != NULL) {
        for (size_t i = 0; i < sb->n; i++) {
            struct shard_item *it = &sb->items[i];
            if (!run_failed(r)) {
                int rc = bucket_advance(sc->sh, it->clock);
                if (rc == 0)
                    rc = bucket_pour_target(sc->sh, &it->t, it->se->evt);
                if (rc < 0)
                    run_fail(r, "out of memory while pouring");
                else
                    sc->poured += (uint64_t)rc;
            }
            shared_release(it->se);
        }
        if (sb->flush && !run_failed(r) && bucket_advance(sc->sh, sb->clock) < 0)
            run_fail(r, "out of memory while flushing buckets");
        if (sb->barrier) {
            pthread_mutex_lock(&r->out_mu);
            r->acks++;
            pthread_cond_broadcast(&r->out_cond);
            pthread_mutex_unlock(&r->out_mu);
        }
        free(sb->items);
        free(sb);
    }
    return NULL;
}

/* --- output --- */

static int
push_rec(struct run *r, struct out_rec *rec)
{
    if (r->nrecs == r->crecs) {
        size_t ncap = r->crecs ? r->crecs * 2 : 64;
        struct out_rec **n = realloc(r->recs, ncap * sizeof(*n));
        if (n == NULL)
            return -ENOMEM;
        r->recs = n;
        r->crecs = ncap;
    }
    r->recs[r->nrecs++] = rec;
    return 0;
}

static void *
out_main(void *arg)
{
    struct out_ctx *oc = arg;
    struct run *r = oc->r;
    struct event *evt;

    while ((evt = agent_queue_pop(&r->out_q)) != NULL) {
        bool wl = false;
        struct out_rec *rec =
            run_failed(r) ? NULL : output_process(r->a->postoverflows, oc->pw, evt, r->dump, &wl);
        struct event *again = NULL;
        if (rec != NULL && !wl && evt->overflow.reprocess)
            again = r->dump ? event_clone(evt) : evt;
        pthread_mutex_lock(&r->out_mu);
        if (rec == NULL && !run_failed(r)) {
            pthread_mutex_unlock(&r->out_mu);
            run_fail(r, "out of memory in the output stage");
            pthread_mutex_lock(&r->out_mu);
        }
        if (rec != NULL && r->live != NULL) {
            /* Live: the alerts leave now (the sink retries on its own); nothing is kept. */
            r->overflows++;
            r->po_whitelisted += wl;
            pthread_mutex_unlock(&r->out_mu);
            for (size_t i = 0; i < rec->nlines && !wl; i++)
                if (r->live->alert_sink(r->live->sink_ctx, rec->lines[i]) == 0)
                    atomic_fetch_add(&r->alerts_sent, 1);
            out_rec_free(rec);
            rec = NULL;
            pthread_mutex_lock(&r->out_mu);
        }
        if (rec != NULL) {
            r->overflows++;
            r->po_whitelisted += wl;
            if (r->dump) {
                rec->evt = evt;
                evt = NULL;
            }
            if (push_rec(r, rec) < 0) {
                out_rec_free(rec);
                atomic_store(&r->failed, 1);
            }
        }
        if (again != NULL) {
            if (again == evt)
                evt = NULL;
            if (event_list_push(&r->reprocess, again) < 0)
                atomic_store(&r->failed, 1);
        }
        r->inflight--;
        pthread_cond_broadcast(&r->out_cond);
        pthread_mutex_unlock(&r->out_mu);
        event_free(evt);
    }
    return NULL;
}

/* --- the dispatcher --- */

static int
pour_dump_add(struct run *r, const char *key, struct event *evt, bool owner)
{
    if (r->npours == r->cpours) {
        size_t ncap = r->cpours ? r->cpours * 2 : 256;
        struct pour_rec *n = realloc(r->pours, ncap * sizeof(*n));
        if (n == NULL)
            return -ENOMEM;
        r->pours = n;
        r->cpours = ncap;
    }
    r->pours[r->npours] = (struct pour_rec){ key, r->npours, evt, owner };
    r->npours++;
    return 0;
}

static void
update_clock(struct run *r, const struct event *evt)
{
    struct gotime t;
    if (r->wall_clock) {
        /* Live buckets run on the wall clock (BUCKET_LIVE), whatever the log says. */
        r->clock = gotime_now();
        r->clock_set = true;
        return;
    }
    struct strv mt = evt->marshaled_time;
    if (mt.len == 0)
        return;
    if (mt.len == r->last_len && memcmp(mt.ptr, r->last_text, mt.len) == 0) {
        t = r->last_time;
    } else {
        if (gotime_parse_rfc3339(mt.ptr, mt.len, &t) < 0)
            return;
        if (mt.len <= sizeof(r->last_text)) {
            memcpy(r->last_text, mt.ptr, mt.len);
            r->last_len = mt.len;
            r->last_time = t;
        }
    }
    if (!r->clock_set || t.unix_ns > r->clock.unix_ns) {
        r->clock = t;
        r->clock_set = true;
    }
}

static struct shard_batch *
sbatch_get(struct shard_batch **sbs, size_t i)
{
    if (sbs[i] == NULL)
        sbs[i] = calloc(1, sizeof(**sbs));
    return sbs[i];
}

/* Room for one more item in sb. 0, or -ENOMEM with sb unchanged. */
static int
sbatch_reserve(struct shard_batch *sb)
{
    if (sb->n < sb->cap)
        return 0;
    size_t ncap = sb->cap ? sb->cap * 2 : 64;
    struct shard_item *items = realloc(sb->items, ncap * sizeof(*items));
    if (items == NULL)
        return -ENOMEM;
    sb->items = items;
    sb->cap = ncap;
    return 0;
}

/* One event (owned) and its targets into the pending shard batches. 0 or -ENOMEM. */
static int
dispatch_one(struct run *r, struct shard_batch **sbs, struct event *evt,
             const struct bucket_target *t, size_t n)
{
    update_clock(r, evt);
    if (r->dump) {
        struct event *copy = event_clone(evt);
        if (copy == NULL || pour_dump_add(r, "OK", copy, true) < 0) {
            event_free(copy);
            event_free(evt);
            return -ENOMEM;
        }
        for (size_t i = 0; i < n; i++)
            if (pour_dump_add(r, bucket_set_factory(r->a->scenarios, t[i].scenario)->spec.name,
                              copy, false) < 0) {
                event_free(evt);
                return -ENOMEM;
            }
    }
    if (n == 0) {
        event_free(evt);
        return 0;
    }
    struct shared_evt *se = malloc(sizeof(*se));
    if (se == NULL) {
        event_free(evt);
        return -ENOMEM;
    }
    se->evt = evt;
    atomic_init(&se->refs, (unsigned)n);
    for (size_t i = 0; i < n; i++) {
        struct shard_batch *sb = sbatch_get(sbs, bucket_target_hash(&t[i]) % r->nb);
        if (sb == NULL || sbatch_reserve(sb) < 0) {
            /* The shard batches hold i references; drop the n - i no shard will take. */
            shared_release_n(se, (unsigned)(n - i));
            return -ENOMEM;
        }
        sb->items[sb->n++] = (struct shard_item){ se, t[i], r->clock };
    }
    return 0;
}

static void
push_sbatches(struct run *r, struct shard_batch **sbs)
{
    for (size_t i = 0; i < r->nb; i++) {
        if (sbs[i] == NULL)
            continue;
        if (agent_queue_push(&r->shards[i].q, sbs[i]) < 0) {
            for (size_t k = 0; k < sbs[i]->n; k++)
                shared_release(sbs[i]->items[k].se);
            free(sbs[i]->items);
            free(sbs[i]);
        }
        sbs[i] = NULL;
    }
}

/* Waits until every shard acknowledged a barrier (with a flush to the clock when flush) and the
 * output is idle. */
static void
barrier(struct run *r, struct shard_batch **sbs, bool flush)
{
    for (size_t i = 0; i < r->nb; i++) {
        struct shard_batch *sb = sbatch_get(sbs, i);
        if (sb == NULL) {
            run_fail(r, "out of memory");
            return;
        }
        sb->barrier = true;
        sb->flush = flush && r->clock_set;
        sb->clock = r->clock;
    }
    pthread_mutex_lock(&r->out_mu);
    r->acks = 0;
    pthread_mutex_unlock(&r->out_mu);
    push_sbatches(r, sbs);
    pthread_mutex_lock(&r->out_mu);
    while ((r->acks < r->nb || r->inflight > 0) && !run_failed(r))
        pthread_cond_wait(&r->out_cond, &r->out_mu);
    pthread_mutex_unlock(&r->out_mu);
}

static int
cmp_overflow_evt(const void *a, const void *b)
{
    const struct event *x = *(struct event *const *)a, *y = *(struct event *const *)b;
    struct strv tx = x->marshaled_time, ty = y->marshaled_time;
    struct gotime gx = { 0, 0 }, gy = { 0, 0 };
    int c;
    (void)gotime_parse_rfc3339(tx.ptr, tx.len, &gx);
    (void)gotime_parse_rfc3339(ty.ptr, ty.len, &gy);
    if (gx.unix_ns != gy.unix_ns)
        return gx.unix_ns < gy.unix_ns ? -1 : 1;
    const char *sx =
        x->overflow.alert && x->overflow.alert->scenario ? x->overflow.alert->scenario : "";
    const char *sy =
        y->overflow.alert && y->overflow.alert->scenario ? y->overflow.alert->scenario : "";
    if ((c = strcmp(sx, sy)) != 0)
        return c;
    return strcmp(x->overflow.mapkey ? x->overflow.mapkey : "",
                  y->overflow.mapkey ? y->overflow.mapkey : "");
}

/* Pours the reprocessed overflows gathered so far, in a fixed order, until none is left. */
static void
settle(struct run *r, struct shard_batch **sbs, bool flush)
{
    for (int round = 0; round < REPROCESS_ROUNDS && !run_failed(r); round++) {
        barrier(r, sbs, flush);
        pthread_mutex_lock(&r->out_mu);
        struct event_list l = r->reprocess;
        memset(&r->reprocess, 0, sizeof(r->reprocess));
        pthread_mutex_unlock(&r->out_mu);
        if (l.len == 0) {
            event_list_clear(&l);
            return;
        }
        qsort(l.items, l.len, sizeof(*l.items), cmp_overflow_evt);
        for (size_t i = 0; i < l.len; i++) {
            size_t n = 0;
            char err[256];
            struct event *e = l.items[i];
            l.items[i] = NULL;
            r->reprocessed++;
            (void)bucket_match(r->a->scenarios, r->dvm, e, r->dscratch, &n, err, sizeof(err));
            if (dispatch_one(r, sbs, e, r->dscratch, n) < 0) {
                run_fail(r, "out of memory while reprocessing");
                break;
            }
        }
        event_list_clear(&l);
        push_sbatches(r, sbs);
    }
}

static void *
dispatcher_main(void *arg)
{
    struct run *r = arg;
    struct shard_batch **sbs = calloc(r->nb, sizeof(*sbs));

    if (sbs == NULL) {
        run_fail(r, "out of memory");
        return NULL;
    }
    for (uint64_t seq = 0;; seq++) {
        pthread_mutex_lock(&r->ro_mu);
        while (r->done[seq % r->window] == NULL && !(r->src_done && seq >= r->total) &&
               !run_failed(r))
            pthread_cond_wait(&r->ro_cond, &r->ro_mu);
        struct batch *b = r->done[seq % r->window];
        if (b == NULL) {
            pthread_mutex_unlock(&r->ro_mu);
            break;
        }
        r->done[seq % r->window] = NULL;
        r->consumed = seq + 1;
        pthread_cond_broadcast(&r->ro_cond);
        pthread_mutex_unlock(&r->ro_mu);
        for (size_t i = 0; i < b->n && !run_failed(r); i++) {
            struct line_slot *s = &b->slots[i];
            if (r->dump && trace_list_flush(&s->traces, &r->parse_results) < 0)
                run_fail(r, "out of memory in the parser dump");
            if (s->evt == NULL)
                continue;
            struct event *e = s->evt;
            s->evt = NULL;
            if (dispatch_one(r, sbs, e, b->targets + s->tgt_off, s->ntgt) < 0)
                run_fail(r, "out of memory while dispatching");
        }
        batch_free(b);
        if (r->wall_clock) {
            /* Live batches come at least every tick, empty or not: fire the timers due by now. */
            r->clock = gotime_now();
            r->clock_set = true;
            for (size_t i = 0; i < r->nb; i++) {
                struct shard_batch *sb = sbatch_get(sbs, i);
                if (sb == NULL) {
                    run_fail(r, "out of memory");
                    break;
                }
                sb->flush = true;
                sb->clock = r->clock;
            }
        }
        push_sbatches(r, sbs);
        if (r->a->has_reprocess)
            settle(r, sbs, false);
    }
    /* End of input: fire every timer due at the last event time (see docs/replay.md). */
    if (r->a->has_reprocess) {
        settle(r, sbs, true);
    } else {
        for (size_t i = 0; i < r->nb && r->clock_set; i++) {
            struct shard_batch *sb = sbatch_get(sbs, i);
            if (sb != NULL) {
                sb->flush = true;
                sb->clock = r->clock;
            }
        }
        push_sbatches(r, sbs);
    }
    free(sbs);
    return NULL;
}

/* --- the run --- */

static struct batch *
read_batch(struct run *r, struct agent_source *src, int *ret_rc, struct agent_error *err)
{
    struct batch *b = calloc(1, sizeof(*b));
    *ret_rc = 0;
    if (b == NULL) {
        *ret_rc = -1;
        agent_errorf(err, "out of memory");
        return NULL;
    }
    /* One clock read per batch rather than per line: Line.Time is the wall clock at reading. */
    b->read_time = gotime_now();
    while (b->n < BATCH_LINES && b->text_len < BATCH_TEXT_MAX) {
        const char *line, *file;
        size_t len;
        int rc = agent_source_next(src, &line, &len, &file, err);
        if (rc <= 0) {
            *ret_rc = rc;
            break;
        }
        /* text == NULL implies cap 0 and so a grow; saying it lets the analyzer see memcpy's
         * destination is never NULL. */
        if (b->text == NULL || b->text_len + len + 1 > b->text_cap) {
            size_t ncap = b->text_cap ? b->text_cap * 2 : (size_t)64 * 1024;
            while (ncap < b->text_len + len + 1)
                ncap *= 2;
            char *nt = realloc(b->text, ncap);
            if (nt == NULL) {
                *ret_rc = -1;
                agent_errorf(err, "out of memory");
                break;
            }
            b->text = nt;
            b->text_cap = ncap;
        }
        memcpy(b->text + b->text_len, line, len);
        b->text[b->text_len + len] = '\0';
        b->slots[b->n] = (struct line_slot){ .off = b->text_len, .len = len, .file = file };
        b->text_len += len + 1;
        b->n++;
    }
    (void)r;
    return b;
}

static void
run_cleanup(struct run *r)
{
    if (r->shards != NULL) {
        for (size_t i = 0; i < r->nb; i++) {
            bucket_shard_free(r->shards[i].sh);
            agent_queue_destroy(&r->shards[i].q);
            expr_vm_free(r->shards[i].vm);
        }
        free(r->shards);
    }
    if (r->workers != NULL) {
        for (size_t i = 0; i < r->np; i++) {
            parser_worker_free(r->workers[i].pw);
            expr_vm_free(r->workers[i].vm);
            free(r->workers[i].scratch);
        }
        free(r->workers);
    }
    if (r->outs != NULL) {
        for (size_t i = 0; i < r->no; i++)
            parser_worker_free(r->outs[i].pw);
        free(r->outs);
    }
    if (r->done != NULL) {
        for (size_t i = 0; i < r->window; i++)
            batch_free(r->done[i]);
        free(r->done);
    }
    for (size_t i = 0; i < r->nrecs; i++)
        out_rec_free(r->recs[i]);
    free(r->recs);
    event_list_clear(&r->reprocess);
    for (size_t i = 0; i < r->npours; i++)
        if (r->pours[i].owner)
            event_free(r->pours[i].evt);
    free(r->pours);
    parser_results_clear(&r->parse_results);
    expr_vm_free(r->dvm);
    free(r->dscratch);
    agent_queue_destroy(&r->parse_q);
    agent_queue_destroy(&r->out_q);
    pthread_mutex_destroy(&r->ro_mu);
    pthread_cond_destroy(&r->ro_cond);
    pthread_mutex_destroy(&r->out_mu);
    pthread_cond_destroy(&r->out_cond);
    pthread_mutex_destroy(&r->err_mu);
}

static int
run_setup(struct run *r)
{
    size_t room = r->nscen ? r->nscen : 1;
    const struct agent_config *cfg = &r->a->cfg;

    pthread_mutex_init(&r->ro_mu, NULL);
    pthread_cond_init(&r->ro_cond, NULL);
    pthread_mutex_init(&r->out_mu, NULL);
    pthread_cond_init(&r->out_cond, NULL);
    pthread_mutex_init(&r->err_mu, NULL);
    r->window = (size_t)r->np * 4 + 4;
    if (agent_queue_init(&r->parse_q, r->window) < 0 ||
        agent_queue_init(&r->out_q, OUT_QUEUE_CAP) < 0)
        return -ENOMEM;
    r->done = calloc(r->window, sizeof(*r->done));
    r->shards = calloc(r->nb, sizeof(*r->shards));
    r->workers = calloc(r->np, sizeof(*r->workers));
    r->outs = calloc(r->no, sizeof(*r->outs));
    r->dvm = expr_vm_new();
    r->dscratch = calloc(room, sizeof(*r->dscratch));
    if (r->done == NULL || r->shards == NULL || r->workers == NULL || r->outs == NULL ||
        r->dvm == NULL || r->dscratch == NULL)
        return -ENOMEM;
    if (r->dump && parser_results_node(&r->parse_results, "success", "") == NULL)
        return -ENOMEM;
    /* The caps are the agent's: each shard gets an even share (at least 1). */
    size_t per_shard = cfg->max_buckets ? (cfg->max_buckets + r->nb - 1) / r->nb : 0;
    size_t per_scen =
        cfg->max_buckets_per_scenario ? (cfg->max_buckets_per_scenario + r->nb - 1) / r->nb : 0;
    for (size_t i = 0; i < r->nb; i++) {
        struct shard_ctx *sc = &r->shards[i];
        sc->r = r;
        struct bucket_shard_options so = {
            .clock = r->wall_clock ? BUCKET_LIVE : BUCKET_REPLAY,
            .emit = shard_emit,
            .ctx = sc,
            .max_buckets = per_shard,
            .max_buckets_per_scenario = per_scen,
            .overflows_only = true, /* shard_emit drops the notices of other ends */
        };
        if (agent_queue_init(&sc->q, SHARD_QUEUE_CAP) < 0 ||
            (sc->sh = bucket_shard_new(r->a->scenarios, &so)) == NULL ||
            (r->a->context != NULL && (sc->vm = expr_vm_new()) == NULL))
            return -ENOMEM;
    }
    for (size_t i = 0; i < r->np; i++) {
        struct worker_ctx *w = &r->workers[i];
        w->r = r;
        if ((w->pw = parser_worker_new(r->a->parsers)) == NULL || (w->vm = expr_vm_new()) == NULL ||
            (w->scratch = calloc(room, sizeof(*w->scratch))) == NULL)
            return -ENOMEM;
    }
    for (size_t i = 0; i < r->no; i++) {
        r->outs[i].r = r;
        if (r->a->postoverflows != NULL &&
            (r->outs[i].pw = parser_worker_new(r->a->postoverflows)) == NULL)
            return -ENOMEM;
    }
    return 0;
}

static void
fill_stats(struct run *r, struct agent_source *src, struct agent_stats *st)
{
    memset(st, 0, sizeof(*st));
    st->lines = 0;
    for (size_t i = 0; i < r->np; i++) {
        st->parsed += r->workers[i].parsed;
        st->unparsed += r->workers[i].unparsed;
        st->whitelisted += r->workers[i].whitelisted;
    }
    st->lines = st->parsed + st->unparsed + st->whitelisted;
    st->too_long = src != NULL ? agent_source_too_long(src) : 0;
    st->overflows = r->overflows;
    st->po_whitelisted = r->po_whitelisted;
    st->reprocessed = r->reprocessed;
    st->waits = r->parse_q.waits + r->out_q.waits;
    for (size_t i = 0; i < r->nb; i++) {
        struct bucket_stats b;
        bucket_shard_stats(r->shards[i].sh, &b);
        st->poured += r->shards[i].poured;
        st->context_errors += r->shards[i].context_errors;
        st->waits += r->shards[i].q.waits;
        st->buckets.poured += b.poured;
        st->buckets.refused += b.refused;
        st->buckets.instantiated += b.instantiated;
        st->buckets.overflows += b.overflows;
        st->buckets.underflows += b.underflows;
        st->buckets.canceled += b.canceled;
        st->buckets.discarded += b.discarded;
        st->buckets.evicted += b.evicted;
        st->buckets.live += b.live;
    }
}

static int
write_alerts(struct run *r, FILE *out, uint64_t *ret_n)
{
    *ret_n = 0;
    for (size_t i = 0; i < r->nrecs; i++)
        for (size_t j = 0; j < r->recs[i]->nlines; j++) {
            if (out != NULL && (fputs(r->recs[i]->lines[j], out) == EOF || fputc('\n', out) == EOF))
                return -1;
            (*ret_n)++;
        }
    return out != NULL && fflush(out) != 0 ? -1 : 0;
}

/* Sizes the run from the options, builds its stages and starts their threads. 0 or -1 with err. */
int
pipeline_begin(struct run *r, struct agent *a, const struct agent_replay_options *o,
               const struct agent_live_options *live, bool wall_clock, struct agent_error *err)
{
    r->a = a;
    r->o = o;
    r->live = live;
    r->wall_clock = wall_clock;
    r->np = o->parser_routines ? o->parser_routines : a->cfg.parser_routines;
    r->nb = o->buckets_routines ? o->buckets_routines : a->cfg.buckets_routines;
    r->no = o->output_routines ? o->output_routines : a->cfg.output_routines;
    r->np = r->np ? (r->np > AGENT_MAX_ROUTINES ? AGENT_MAX_ROUTINES : r->np) : 1;
    r->nb = r->nb ? (r->nb > AGENT_MAX_ROUTINES ? AGENT_MAX_ROUTINES : r->nb) : 1;
    r->no = r->no ? (r->no > AGENT_MAX_ROUTINES ? AGENT_MAX_ROUTINES : r->no) : 1;
    r->dump = o->dump_dir != NULL;
    r->nscen = bucket_set_count(a->scenarios);
    if (run_setup(r) < 0) {
        agent_errorf(err, "out of memory setting up the pipeline");
        return -1;
    }
    for (size_t i = 0; i < r->nb; i++)
        r->shards[i].started =
            pthread_create(&r->shards[i].th, NULL, shard_main, &r->shards[i]) == 0;
    for (size_t i = 0; i < r->no; i++)
        r->outs[i].started = pthread_create(&r->outs[i].th, NULL, out_main, &r->outs[i]) == 0;
    for (size_t i = 0; i < r->np; i++)
        r->workers[i].started =
            pthread_create(&r->workers[i].th, NULL, worker_main, &r->workers[i]) == 0;
    r->disp_started = pthread_create(&r->disp, NULL, dispatcher_main, r) == 0;
    bool all = r->disp_started;
    for (size_t i = 0; i < r->nb; i++)
        all &= r->shards[i].started;
    for (size_t i = 0; i < r->no; i++)
        all &= r->outs[i].started;
    for (size_t i = 0; i < r->np; i++)
        all &= r->workers[i].started;
    if (!all)
        run_fail(r, "cannot start the pipeline threads");
    return 0;
}

/* Hands one batch (owned) to the workers, waiting for a credit. 0, or -1 once the run failed. */
int
pipeline_feed(struct run *r, struct batch *b)
{
    pthread_mutex_lock(&r->ro_mu);
    while (r->issued - r->consumed >= r->window && !run_failed(r)) {
        r->parse_q.waits++;
        pthread_cond_wait(&r->ro_cond, &r->ro_mu);
    }
    if (run_failed(r)) {
        pthread_mutex_unlock(&r->ro_mu);
        batch_free(b);
        return -1;
    }
    b->seq = r->issued++;
    pthread_mutex_unlock(&r->ro_mu);
    if (agent_queue_push(&r->parse_q, b) < 0) {
        batch_free(b);
        return -1;
    }
    return 0;
}

/* No more input: shuts the stages down, each after the one feeding it. */
void
pipeline_end(struct run *r)
{
    pthread_mutex_lock(&r->ro_mu);
    r->src_done = true;
    r->total = r->issued;
    pthread_cond_broadcast(&r->ro_cond);
    pthread_mutex_unlock(&r->ro_mu);

    agent_queue_close(&r->parse_q);
    for (size_t i = 0; i < r->np; i++)
        if (r->workers[i].started)
            pthread_join(r->workers[i].th, NULL);
    if (r->disp_started)
        pthread_join(r->disp, NULL);
    for (size_t i = 0; i < r->nb; i++) {
        agent_queue_close(&r->shards[i].q);
        if (r->shards[i].started)
            pthread_join(r->shards[i].th, NULL);
    }
    agent_queue_close(&r->out_q);
    for (size_t i = 0; i < r->no; i++)
        if (r->outs[i].started)
            pthread_join(r->outs[i].th, NULL);
    /* Shards closed after a failure may leave undrained batches: drop their references. */
    for (size_t i = 0; i < r->nb; i++) {
        struct shard_batch *sb;
        while ((sb = agent_queue_pop(&r->shards[i].q)) != NULL) {
            for (size_t k = 0; k < sb->n; k++)
                shared_release(sb->items[k].se);
            free(sb->items);
            free(sb);
        }
    }
    struct event *e;
    while ((e = agent_queue_pop(&r->out_q)) != NULL)
        event_free(e);
    struct batch *b;
    while ((b = agent_queue_pop(&r->parse_q)) != NULL)
        batch_free(b);
}

struct run *
pipeline_new(void)
{
    return calloc(1, sizeof(struct run));
}

void
pipeline_free(struct run *r)
{
    if (r == NULL)
        return;
    run_cleanup(r);
    free(r);
}

bool
pipeline_failed(struct run *r)
{
    return run_failed(r);
}

const char *
pipeline_error(struct run *r)
{
    return r->errmsg[0] ? r->errmsg : "out of memory";
}

void
pipeline_stats(struct run *r, struct agent_stats *ret)
{
    fill_stats(r, NULL, ret);
    ret->alerts = atomic_load(&r->alerts_sent);
}

/* --- live batches --- */

struct batch *
batch_new(void)
{
    return calloc(1, sizeof(struct batch));
}

size_t
batch_len(const struct batch *b)
{
    return b->n;
}

bool
batch_full(const struct batch *b)
{
    return b->n >= BATCH_LINES || b->text_len >= BATCH_TEXT_MAX;
}

/* Appends len bytes of s and a NUL to b->text; the offset of the copy in *ret_off. 0 or -ENOMEM. */
static int
batch_append_text(struct batch *b, const char *s, size_t len, size_t *ret_off)
{
    if (b->text == NULL || b->text_len + len + 1 > b->text_cap) {
        size_t ncap = b->text_cap ? b->text_cap * 2 : (size_t)64 * 1024;
        while (ncap < b->text_len + len + 1)
            ncap *= 2;
        char *nt = realloc(b->text, ncap);
        if (nt == NULL)
            return -ENOMEM;
        b->text = nt;
        b->text_cap = ncap;
    }
    memcpy(b->text + b->text_len, s, len);
    b->text[b->text_len + len] = '\0';
    *ret_off = b->text_len;
    b->text_len += len + 1;
    return 0;
}

int
batch_add_live(struct batch *b, const struct acq_line *l)
{
    size_t off, src_off;
    if (b->n >= BATCH_LINES || batch_append_text(b, l->line, l->len, &off) < 0 ||
        batch_append_text(b, l->src, strlen(l->src), &src_off) < 0)
        return -ENOMEM;
    b->slots[b->n++] = (struct line_slot){ .off = off,
                                           .len = l->len,
                                           .src_off = src_off,
                                           .common = l->common,
                                           .module = l->module,
                                           .time_ns = l->time_ns };
    return 0;
}

int
agent_replay(struct agent *a, const struct agent_replay_options *o, struct agent_stats *ret,
             struct agent_error *err)
{
    struct run *r = calloc(1, sizeof(*r));
    struct agent_source *src = NULL;
    int rc = -1, src_rc = 0;
    struct agent_error serr = { { 0 } };

    if (r == NULL) {
        agent_errorf(err, "out of memory");
        return -1;
    }
    if (agent_source_open(o->dsn, &src, err) < 0) {
        free(r);
        return -1;
    }
    if (pipeline_begin(r, a, o, NULL, false, err) < 0)
        goto out;
    /* The source: this thread. */
    while (!run_failed(r)) {
        struct batch *b = read_batch(r, src, &src_rc, &serr);
        if (b == NULL || b->n == 0) {
            batch_free(b);
            break;
        }
        if (pipeline_feed(r, b) < 0 || src_rc != 0)
            break;
    }
    if (src_rc < 0)
        run_fail(r, serr.message);
    pipeline_end(r);
    if (run_failed(r)) {
        agent_errorf(err, "%s", r->errmsg[0] ? r->errmsg : "out of memory");
        goto out;
    }
    output_sort(r->recs, r->nrecs);
    uint64_t nalerts = 0;
    if (!r->dump || o->alerts != NULL) {
        if (write_alerts(r, o->alerts, &nalerts) < 0) {
            agent_errorf(err, "writing alerts: %s", strerror(errno));
            goto out;
        }
    }
    if (r->dump) {
        /* Postoverflow node results join the parser dump in the sorted overflow order. */
        for (size_t i = 0; i < r->nrecs; i++)
            if (trace_list_flush(&r->recs[i]->traces, &r->parse_results) < 0) {
                agent_errorf(err, "out of memory in the parser dump");
                goto out;
            }
        if (dump_write_all(o->dump_dir, &r->parse_results, r->pours, r->npours, r->recs, r->nrecs,
                           err) < 0)
            goto out;
    }
    if (ret != NULL) {
        fill_stats(r, src, ret);
        ret->alerts = nalerts;
    }
    rc = 0;
out:
    if (rc < 0 && ret != NULL)
        fill_stats(r, src, ret);
    run_cleanup(r);
    free(r);
    agent_source_free(src);
    return rc;
}

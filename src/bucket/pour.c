/*
 * pour.c - an event's way into a bucket, and a bucket's end, in CrowdSec's
 * order (manager_run.go PourItemToHolders, bucket.go LeakRoutine, the
 * processors): filter -> groupby -> key -> find or create -> [trigger,
 * distinct, cancel_on] -> limiter and queue -> [condition, bayesian] -> idle
 * timer; an overflow then goes through overflow_filter and blackhole before
 * it is emitted. Everything runs synchronously in the shard's thread.
 */
#include "common/common.h"

#include "bucket/internal.h"

static int fail(char *err, size_t errlen, const char *fmt, ...) PRINTF_LIKE(3, 4);

static int
fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (err != NULL && errlen > 0) {
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/*
 * The scenario prefilter (guard.c) reads the members its guards need once,
 * at the first scenario that has a guard, and checks each guard once; a guard
 * that fails stands for a filter that would have returned false without
 * error, an exact one that holds for a filter that would have returned true.
 */
int
bucket_match(const struct bucket_set *s, struct expr_vm *vm, const struct event *evt,
             struct bucket_target *ret, size_t *ret_n, char *err, size_t errlen)
{
    struct expr_value vars[1] = { exprenv_event_value(evt) };
    struct expr_value v;
    struct expr_error e;
    struct strv gvals[BUCKET_GUARD_MEMBERS];
    int8_t gres[BUCKET_GUARDS]; /* per guard: -1 not checked yet, else whether it passes */
    bool gread = false;

    *ret_n = 0;
    for (size_t i = 0; i < s->n; i++) {
        const struct scenario *sc = &s->sc[i];
        const char *group = "";
        size_t glen = 0;
        bool known_true = false;

        if (sc->guard >= 0) {
            if (!gread) {
                for (size_t k = 0; k < s->ngm; k++)
                    gvals[k] = evt_member_value(evt, &s->gm[k]);
                memset(gres, -1, s->nguards);
                gread = true;
            }
            if (gres[sc->guard] < 0)
                gres[sc->guard] = (int8_t)bucket_guard_passes(&s->guards[sc->guard], gvals);
            if (!gres[sc->guard])
                continue;
            known_true = sc->guard_exact;
        }
        if (!known_true) {
            /* What the filter may write, the next guard must see. */
            gread = gread && !s->writes_event;
            if (expr_eval(vm, sc->filter, vars, &v, &e) < 0)
                return fail(err, errlen, "scenario %s: leaky failed : %s", sc->factory.spec.name,
                            e.message);
            if (v.kind != EXPR_BOOL)
                return fail(err, errlen, "scenario %s: unexpected non-bool return : %s",
                            sc->factory.spec.name, expr_kind_name(v.kind));
            if (!v.u.b)
                continue;
        }
        if (sc->groupby_m.key != NULL) {
            struct strv gv = evt_member_value(evt, &sc->groupby_m);
            group = gv.ptr;
            glen = gv.len;
        } else if (sc->groupby != NULL) {
            gread = gread && !s->writes_event;
            if (expr_eval(vm, sc->groupby, vars, &v, &e) < 0)
                return fail(err, errlen, "scenario %s: failed groupby : %s", sc->factory.spec.name,
                            e.message);
            if (v.kind != EXPR_STRING)
                return fail(err, errlen, "scenario %s: groupby wrong type (%s)",
                            sc->factory.spec.name, expr_kind_name(v.kind));
            group = v.u.s.ptr;
            glen = v.u.s.len;
        }
        ret[*ret_n].scenario = (uint32_t)i;
        if (bucket_key(sc->factory.spec.filter, group, glen, sc->factory.spec.name,
                       ret[*ret_n].key) < 0)
            return fail(err, errlen, "out of memory");
        (*ret_n)++;
    }
    return 0;
}

uint64_t
bucket_target_hash(const struct bucket_target *t)
{
    return hash_bytes(t->key, 40);
}

struct bucket *
bucket_new(struct bucket_shard *sh, uint32_t idx, const char *key)
{
    const struct scenario *sc = &sh->set->sc[idx];
    struct bucket *b = calloc(1, sizeof(*b));
    int64_t qsize = sc->qsize;

    if (b == NULL)
        return NULL;
    if (qsize < 0 || qsize > (int64_t)sh->opts.max_queue)
        qsize = (int64_t)sh->opts.max_queue;
    queue_init(&b->queue, qsize);
    memcpy(b->key, key, 40);
    b->key[40] = '\0';
    b->sc = sc;
    b->scenario_idx = idx;
    b->leaky.mode = sh->opts.clock == BUCKET_REPLAY ? EVENT_TIMEMACHINE : EVENT_LIVE;
    b->leaky.queue = &b->queue;
    b->leaky.mapkey = b->key;
    b->leaky.duration_ns = sc->lifetime_ns;
    b->leaky.factory = &sc->factory;
    if ((sc->distinct != NULL && (b->seen = hashmap_new(NULL)) == NULL) ||
        (sc->nbayes > 0 && (b->guillotine = calloc(sc->nbayes, sizeof(bool))) == NULL)) {
        bucket_free(b);
        return NULL;
    }
    return b;
}

void
bucket_free(struct bucket *b)
{
    if (b == NULL)
        return;
    queue_clear(&b->queue);
    hashmap_free(b->seen);
    free(b->guillotine);
    free(b);
}

/* Runs a condition-context program: 1 true, 0 false, -1 error or not a bool (ignored). */
static int
eval_cond(struct bucket_shard *sh, struct bucket *b, const struct expr_program *p,
          const struct event *evt)
{
    struct expr_value vars[3];
    struct expr_value v;
    struct expr_error e;

    vars[EXPRENV_SLOT_EVT] = exprenv_event_value(evt);
    vars[EXPRENV_SLOT_COND_QUEUE] = exprenv_queue_value(&b->queue);
    vars[EXPRENV_SLOT_COND_LEAKY] = exprenv_leaky_value(&b->leaky);
    if (expr_eval(sh->vm, p, vars, &v, &e) < 0 || v.kind != EXPR_BOOL)
        return -1;
    return v.u.b;
}

/* BayesianProcessor.AfterBucketPour: true when the posterior passes the threshold. */
static bool
bayes_overflows(struct bucket_shard *sh, struct bucket *b, const struct event *evt)
{
    const struct scenario *sc = b->sc;
    float p = sc->prior;

    for (size_t i = 0; i < sc->nbayes; i++) {
        const struct bayes_cond *c = &sc->bayes[i];
        if (c->condition == NULL)
            continue;
        if (c->guillotine && b->guillotine[i]) {
            p = bayes_update(p, c->prob_given_evil, c->prob_given_benign);
            continue;
        }
        int r = eval_cond(sh, b, c->condition, evt);
        if (r < 0)
            continue;
        if (r == 1) {
            p = bayes_update(p, c->prob_given_evil, c->prob_given_benign);
            b->guillotine[i] = true;
        } else {
            p = bayes_update(p, 1 - c->prob_given_evil, 1 - c->prob_given_benign);
        }
    }
    return p > sc->threshold;
}

/* UniqProcessor: false when the distinct value was already poured (the event is dropped). */
static int
distinct_new(struct bucket_shard *sh, struct bucket *b, const struct event *evt)
{
    struct expr_value vars[1] = { exprenv_event_value(evt) };
    struct expr_value v;
    struct expr_error e;
    const char *s = "";
    size_t n = 0;

    if (b->sc->distinct_m.key != NULL) {
        struct strv dv = evt_member_value(evt, &b->sc->distinct_m);
        s = dv.ptr;
        n = dv.len;
    } else if (expr_eval(sh->vm, b->sc->distinct, vars, &v, &e) < 0) {
        return 1; /* CrowdSec logs and lets the event through */
    } else if (v.kind == EXPR_STRING) {
        s = v.u.s.ptr;
        n = v.u.s.len;
    }
    if (hashmap_get(b->seen, s, n) != NULL)
        return 0;
    if (hashmap_put(b->seen, s, n, b) < 0)
        return -ENOMEM;
    return 1;
}

static bool
cancel_matches(struct bucket_shard *sh, struct bucket *b, const struct event *evt)
{
    struct expr_value vars[1] = { exprenv_event_value(evt) };
    struct expr_value v;
    struct expr_error e;

    if (expr_eval(sh->vm, b->sc->cancel_on, vars, &v, &e) < 0 || v.kind != EXPR_BOOL)
        return false;
    return v.u.b;
}

static int
enqueue(struct bucket *b, const struct event *evt)
{
    /* Poured events are no longer written (see struct scenario): share them when that holds. */
    struct event *copy = b->sc->share_events ? event_ref(evt) : event_clone(evt);

    if (copy == NULL)
        return -ENOMEM;
    return queue_add(&b->queue, copy);
}

static int64_t
add_ns(int64_t t, int64_t d)
{
    if (d > 0 && t > INT64_MAX - d)
        return INT64_MAX;
    return t + d;
}

/* One event into one bucket at time now. 1 poured, 0 dropped, -ENOMEM. */
static int
pour_into(struct bucket_shard *sh, struct bucket *b, const struct event *evt, struct gotime now)
{
    const struct scenario *sc = b->sc;
    struct leaky *l = &b->leaky;
    bool overflow = false;
    int rc;

    shard_touch(sh, b);
    if (sc->type == BTYPE_TRIGGER) {
        if ((rc = enqueue(b, evt)) < 0)
            return rc;
        l->first_ts = l->last_ts = l->ovflw_ts = now;
        b->has_first = true;
        l->total_count = 1;
        sh->stats.poured++;
        bucket_end(sh, b, BUCKET_OVERFLOW);
        return 1;
    }
    if (sc->distinct != NULL && (rc = distinct_new(sh, b, evt)) <= 0)
        return rc;
    if (sc->cancel_on != NULL && cancel_matches(sh, b, evt)) {
        bucket_end(sh, b, BUCKET_CANCELED);
        return 1;
    }

    /* Pour / TimeMachinePour */
    l->total_count++;
    if (!b->has_first) {
        l->first_ts = now;
        b->has_first = true;
    }
    l->last_ts = now;
    if ((rc = enqueue(b, evt)) < 0)
        return rc;
    sh->stats.poured++;
    if (sc->type != BTYPE_CONDITIONAL && sc->factory.spec.capacity != -1 &&
        !limiter_allow(&b->lim, now.unix_ns, sc->leakspeed_ns, sc->factory.spec.capacity)) {
        l->ovflw_ts = now;
        overflow = true;
    }

    /* AfterBucketPour: condition, then bayesian; an overflow there skips the timer. */
    const struct event *queued = b->queue.queue.items[b->queue.queue.len - 1];
    if (sc->condition != NULL && eval_cond(sh, b, sc->condition, queued) == 1) {
        l->ovflw_ts = l->last_ts;
        bucket_end(sh, b, BUCKET_OVERFLOW);
        return 1;
    }
    if (sc->threshold != 0 && sc->nbayes > 0 && bayes_overflows(sh, b, queued)) {
        l->ovflw_ts = l->last_ts;
        bucket_end(sh, b, BUCKET_OVERFLOW);
        return 1;
    }
    if (overflow) {
        bucket_end(sh, b, BUCKET_OVERFLOW);
        return 1;
    }
    /*
     * The idle timer restarts on every pour; a bucket with a duration (counter)
     * keeps the timer of its first event. An idle death happens strictly after
     * Last_ts + lifetime, as CrowdSec's replay check (d.After(...)) has it.
     */
    bool timed = sc->duration_ns != 0;
    if (!timed)
        shard_timer_set(sh, b, add_ns(now.unix_ns, add_ns(sc->lifetime_ns, 1)));
    else if (!b->timer_started)
        shard_timer_set(sh, b, add_ns(now.unix_ns, sc->lifetime_ns));
    b->timer_started = true;
    return 1;
}

/*
 * The time of a pour: MarshaledTime in replay, the clock live. The last text
 * parsed is remembered: an event goes to several buckets of a shard in a row
 * (ssh-bf and its siblings) and consecutive log lines share their second.
 */
static int
pour_time(struct bucket_shard *sh, const struct event *evt, struct gotime *ret)
{
    struct strv mt = evt->marshaled_time;

    if (sh->opts.clock != BUCKET_REPLAY) {
        *ret = shard_now(sh);
        return 0;
    }
    if (mt.len == 0)
        return -1;
    if (sh->last_time.len == mt.len && memcmp(sh->last_time.text, mt.ptr, mt.len) == 0) {
        *ret = sh->last_time.t;
        return 0;
    }
    if (gotime_parse_rfc3339(mt.ptr, mt.len, ret) < 0)
        return -1;
    if (mt.len <= sizeof(sh->last_time.text)) {
        memcpy(sh->last_time.text, mt.ptr, mt.len);
        sh->last_time.len = mt.len;
        sh->last_time.t = *ret;
    }
    return 0;
}

int
bucket_pour_target(struct bucket_shard *sh, const struct bucket_target *t, const struct event *evt)
{
    struct gotime now;
    struct bucket *b;
    int rc;

    if (t->scenario >= sh->set->n)
        return -EINVAL;
    if (pour_time(sh, evt, &now) < 0) {
        /*
         * CrowdSec's trigger overflows a replayed event without a valid
         * MarshaledTime at the current time (TriggerProcessor); every other
         * type refuses it (TimeMachinePour). Such an event does not move the
         * shard's event-time clock.
         */
        if (sh->set->sc[t->scenario].type != BTYPE_TRIGGER) {
            sh->stats.refused++;
            return 0;
        }
        now = shard_now(sh);
    } else if (sh->opts.clock == BUCKET_REPLAY && (rc = bucket_advance(sh, now)) < 0) {
        return rc;
    }
    if ((b = shard_lookup(sh, t->key)) == NULL) {
        shard_make_room(sh, t->scenario);
        if ((b = bucket_new(sh, t->scenario, t->key)) == NULL)
            return -ENOMEM;
        if ((rc = shard_insert(sh, b)) < 0) {
            bucket_free(b);
            return rc;
        }
    }
    rc = pour_into(sh, b, evt, now);
    if (rc == 0)
        sh->stats.refused++;
    return rc;
}

int
bucket_pour(struct bucket_shard *sh, const struct event *evt, char *err, size_t errlen)
{
    struct bucket_target stack[64], *targets = stack;
    size_t n = 0;
    int rc, poured = 0;

    if (sh->set->n > ARRAY_SIZE(stack) && (targets = calloc(sh->set->n, sizeof(*targets))) == NULL)
        return -ENOMEM;
    int mrc = bucket_match(sh->set, sh->vm, evt, targets, &n, err, errlen);
    for (size_t i = 0; i < n; i++) {
        if ((rc = bucket_pour_target(sh, &targets[i], evt)) < 0) {
            poured = rc;
            goto out;
        }
        poured += rc;
    }
    if (mrc < 0)
        poured = -1;
out:
    if (targets != stack)
        free(targets);
    return poured;
}

int
bucket_advance(struct bucket_shard *sh, struct gotime now)
{
    struct bucket *b;

    while ((b = shard_timer_min(sh)) != NULL && b->due_ns <= now.unix_ns) {
        /* The timer's own time, so a flush far in the future stamps what CrowdSec would. */
        struct gotime at = { b->due_ns, now.offset_s };
        b->leaky.ovflw_ts = at;
        bucket_end(sh, b, b->sc->duration_ns != 0 ? BUCKET_OVERFLOW : BUCKET_UNDERFLOW);
    }
    return 0;
}

static void
count_end(struct bucket_shard *sh, int end)
{
    switch (end) {
    case BUCKET_OVERFLOW: sh->stats.overflows++; break;
    case BUCKET_UNDERFLOW: sh->stats.underflows++; break;
    case BUCKET_CANCELED: sh->stats.canceled++; break;
    case BUCKET_DISCARDED: sh->stats.discarded++; break;
    default: sh->stats.evicted++; break;
    }
}

/* OverflowProcessor then BlackholeProcessor: true when the overflow is dropped. */
static bool
discarded(struct bucket_shard *sh, struct bucket *b, struct runtime_alert *ra)
{
    const struct scenario *sc = b->sc;

    if (sc->overflow_filter != NULL) {
        struct expr_value vars[3], v;
        struct expr_error e;
        vars[EXPRENV_SLOT_OVFL_QUEUE] = exprenv_queue_value(&b->queue);
        vars[EXPRENV_SLOT_OVFL_SIGNAL] = exprenv_runtime_alert_value(ra);
        vars[EXPRENV_SLOT_OVFL_LEAKY] = exprenv_leaky_value(&b->leaky);
        if (expr_eval(sh->vm, sc->overflow_filter, vars, &v, &e) == 0 && v.kind == EXPR_BOOL &&
            !v.u.b)
            return true;
    }
    /* On out of memory the overflow goes through rather than being lost. */
    return sc->blackhole_ns != 0 &&
           shard_blackholed(sh, b->scenario_idx, b->key, b->leaky.ovflw_ts.unix_ns,
                            sc->blackhole_ns) == 1;
}

void
bucket_end(struct bucket_shard *sh, struct bucket *b, int end)
{
    struct bucket_overflow ov = { .end = end, .scenario = &b->sc->factory, .leaky = &b->leaky };

    if (end != BUCKET_OVERFLOW && sh->opts.overflows_only) {
        /* Nobody wants the notice: most buckets die so (idle), skip building it. */
        count_end(sh, end);
        shard_remove(sh, b);
        return;
    }
    struct event *evt = event_new(EVENT_OVFLW, b->leaky.mode, false);

    if (evt != NULL && end == BUCKET_OVERFLOW) {
        char ts[GOTIME_RFC3339_MAX];
        size_t n = gotime_format_rfc3339nano(b->leaky.ovflw_ts, ts, sizeof(ts));
        (void)bucket_build_alert(sh, b, &evt->overflow);
        if (discarded(sh, b, &evt->overflow)) {
            runtime_alert_clear(&evt->overflow);
            end = ov.end = BUCKET_DISCARDED;
        }
        if (event_set_str(evt, &evt->marshaled_time, ts, n) < 0) {
            event_free(evt);
            evt = NULL;
        }
        ov.queue = &b->queue;
    }
    if (evt != NULL && evt->overflow.mapkey == NULL &&
        model_strset(&evt->overflow.mapkey, b->key) < 0) {
        event_free(evt);
        evt = NULL;
    }
    count_end(sh, end);
    /* Out of memory loses the notice, never the bucket's removal. */
    if (evt != NULL && sh->opts.emit != NULL &&
        (end == BUCKET_OVERFLOW || !sh->opts.overflows_only)) {
        ov.evt = evt;
        sh->opts.emit(sh->opts.ctx, &ov);
        evt = ov.evt;
    }
    event_free(evt);
    shard_remove(sh, b);
}

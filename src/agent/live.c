/*
 * live.c - the agent's live mode: the acquisition's source threads hand their
 * lines to an intake (one batch being filled, under a mutex) and this thread
 * feeds the pipeline with it at least every tick. An empty batch still goes
 * through: it is what advances the buckets' wall clock when no line comes, so
 * leaks, underflows and counters fire on time.
 *
 * Back-pressure: a source waits in emit while the batch being filled is full,
 * and the batch waits for a credit in pipeline_feed; nothing is dropped while
 * running. At shutdown the intake closes first (a source blocked in emit is
 * released and told to stop), then the sources are joined.
 */
#include "agent/pipeline.h"

#include "acquisition/acquisition.h"

#include <time.h>

#define LIVE_TICK_MS 100

struct intake {
    pthread_mutex_t mu;
    pthread_cond_t has_lines, has_room;
    struct batch *filling; /* NULL when nothing is waiting */
    bool closed;
    uint64_t dropped;                /* lines refused: out of memory, or read while shutting down */
    struct agent_transforms *transf; /* the sources' transform: expressions, or NULL */
};

/* Adds one line to the batch being filled, waiting for room; in->mu is held. 1 once closed. */
static int
intake_add_locked(void *ctx, const struct acq_line *l)
{
    struct intake *in = ctx;

    while (in->filling != NULL && batch_full(in->filling) && !in->closed)
        pthread_cond_wait(&in->has_room, &in->mu);
    if (in->closed) {
        in->dropped++;
        return 1;
    }
    if (in->filling == NULL)
        in->filling = batch_new();
    if (in->filling == NULL || batch_add_live(in->filling, l) < 0)
        in->dropped++;
    pthread_cond_signal(&in->has_lines);
    return 0;
}

static int
intake_emit(void *ctx, const struct acq_line *l)
{
    struct intake *in = ctx;

    pthread_mutex_lock(&in->mu);
    int rc = agent_transform_apply(in->transf, l, intake_add_locked, in);
    if (rc == -ENOMEM) {
        in->dropped++;
        rc = 0;
    }
    pthread_mutex_unlock(&in->mu);
    return rc;
}

/* The batch filled so far (possibly NULL), after waiting up to one tick for a first line. */
static struct batch *
intake_take(struct intake *in)
{
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_nsec += (long)LIVE_TICK_MS * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&in->mu);
    if (in->filling == NULL && !in->closed)
        (void)pthread_cond_timedwait(&in->has_lines, &in->mu, &deadline);
    struct batch *b = in->filling;
    in->filling = NULL;
    pthread_cond_broadcast(&in->has_room);
    pthread_mutex_unlock(&in->mu);
    return b;
}

static void
intake_close(struct intake *in)
{
    pthread_mutex_lock(&in->mu);
    in->closed = true;
    pthread_cond_broadcast(&in->has_room);
    pthread_mutex_unlock(&in->mu);
}

/* Forwards the acquisition's warnings to the caller's. */
static void
live_warn(void *ctx, const char *message)
{
    const struct agent_live_options *o = ctx;
    if (o->warn != NULL)
        o->warn(o->warn_ctx, message);
}

/*
 * Sources that read a whole file (mode: cat) or ask for use_time_machine give
 * time-machine events, which CrowdSec pours on the log's time. When every
 * source is of that kind the buckets run on event time, as in a replay; with
 * any tailing source they run on the wall clock (and time-machine events of
 * the others are poured on it too: one clock per agent).
 */
static bool
event_time(const struct acquisition *acq)
{
    for (size_t i = 0; i < acq_count(acq); i++) {
        const struct acq_common *c = acq_common_at(acq, i);
        if (!c->use_time_machine && (c->mode == NULL || strcmp(c->mode, "cat") != 0))
            return false;
    }
    return acq_count(acq) > 0;
}

int
agent_run_live(struct agent *a, const struct agent_live_options *o, struct agent_stats *ret,
               struct agent_error *err)
{
    struct intake in = { .filling = NULL };
    struct agent_replay_options ro = {
        .parser_routines = o->parser_routines,
        .buckets_routines = o->buckets_routines,
        .output_routines = o->output_routines,
    };
    struct acq_error aerr = { { 0 } };
    struct run *r = NULL;
    int rc = -1;

    if (agent_transforms_new(o->acq, &in.transf, err) < 0)
        return -1;
    if ((r = pipeline_new()) == NULL) {
        agent_transforms_free(in.transf);
        agent_errorf(err, "out of memory");
        return -1;
    }
    pthread_mutex_init(&in.mu, NULL);
    pthread_cond_init(&in.has_lines, NULL);
    pthread_cond_init(&in.has_room, NULL);
    if (pipeline_begin(r, a, &ro, o, !event_time(o->acq), err) < 0) {
        pipeline_free(r);
        goto out_intake;
    }
    if (acq_start(o->acq, intake_emit, &in, live_warn, (void *)o, &aerr) < 0) {
        agent_errorf(err, "%s", aerr.message);
        acq_stop(o->acq);
        pipeline_end(r);
        pipeline_free(r);
        goto out_intake;
    }
    while (atomic_load(o->stop) == 0 && !pipeline_failed(r)) {
        bool ended = acq_running(o->acq) == 0;
        struct batch *b = intake_take(&in);
        if (b == NULL && ended)
            break; /* every source ended (cat mode) and everything read was fed */
        if (b == NULL && (b = batch_new()) == NULL)
            continue;
        if (pipeline_feed(r, b) < 0)
            break;
    }
    intake_close(&in);
    acq_stop(o->acq);
    /* What was read before the stop is still processed. */
    struct batch *last = intake_take(&in);
    if (last != NULL)
        (void)pipeline_feed(r, last);
    pipeline_end(r);
    if (ret != NULL) {
        pipeline_stats(r, ret);
        ret->too_long = 0;
        for (size_t i = 0; i < acq_count(o->acq); i++) {
            struct acq_stats st;
            acq_stats_at(o->acq, i, &st);
            ret->too_long += st.truncated;
        }
    }
    if (pipeline_failed(r))
        agent_errorf(err, "%s", pipeline_error(r));
    else
        rc = 0;
    pipeline_free(r);
out_intake:
    batch_free(in.filling);
    agent_transforms_free(in.transf);
    pthread_cond_destroy(&in.has_room);
    pthread_cond_destroy(&in.has_lines);
    pthread_mutex_destroy(&in.mu);
    return rc;
}

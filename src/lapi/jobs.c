/*
 * jobs.c - the Local API's background database maintenance.
 *
 * One thread runs CrowdSec's flush every db_config.flush interval (a
 * minute): orphans, alerts beyond max_age / max_items without an active
 * decision, then the machines and bouncers auto-delete. When several LAPI
 * nodes share a PostgreSQL database only one of them runs it at a time: a
 * run starts by taking the flush lease (store_try_lease) and a node that
 * finds it held skips that run. On PostgreSQL the job has its own
 * connection, so a long purge never queues the API's requests behind it and
 * the lease (a session lock) lives exactly as long as that connection; after
 * a database error the connection is dropped and opened again on the next
 * run. SQLite keeps one writer: the job shares the API's store, whose
 * batched deletes interleave with requests.
 *
 * Nothing here is fatal: a failed run is logged and retried at the next
 * tick. Stopping wakes the thread at once (condition variable on the
 * monotonic clock); a run in progress finishes its current step first.
 */
#include "lapi/internal.h"

#include "common/gotime.h"
#include "common/log.h"

#include <time.h>

struct lapi_jobs {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;
    struct lapi_flush_config cfg;
    char *db_type, *db_dsn;
    struct store *shared; /* the API's store (SQLite) */
    struct store *own;    /* the job's connection (PostgreSQL), NULL until opened */
    bool was_skipping;    /* the previous run found the lease held elsewhere */
};

static bool
uses_own_connection(const struct lapi_jobs *j)
{
    return strcmp(j->db_type, "sqlite") != 0;
}

/* The store a run uses, opened on demand; NULL (logged) when the database is unreachable. */
static struct store *
job_store(struct lapi_jobs *j)
{
    struct store_error err = { { 0 } };

    if (!uses_own_connection(j))
        return j->shared;
    if (j->own == NULL && store_open(j->db_type, j->db_dsn, &j->own, &err) != 0) {
        log_warn("flush: cannot connect to the database, retrying at the next run: %s", err.msg);
        j->own = NULL;
    }
    return j->own;
}

/* After a database error: a fresh connection next time (this also frees a lease we hold). */
static void
job_store_reset(struct lapi_jobs *j)
{
    if (uses_own_connection(j)) {
        store_close(j->own);
        j->own = NULL;
    }
}

static void
log_duration(const char *what, int64_t ns, int64_t count, const char *unit)
{
    char d[GOTIME_DURATION_STR_MAX];

    gotime_format_duration(ns, d, sizeof(d));
    log_info("flush: deleted %lld %s (%s auth) not seen for %s or more", (long long)count, unit,
             what, d);
}

/* The flush proper, with the lease held; 0 or the failing step's error (logged). */
static int
flush_steps(struct lapi_jobs *j, struct store *s)
{
    struct store_flush_config fc = { .max_age = j->cfg.max_age, .max_items = j->cfg.max_items };
    struct store_autodelete limits = { .agents_cert = j->cfg.agents_cert,
                                       .agents_password = j->cfg.agents_password,
                                       .bouncers_cert = j->cfg.bouncers_cert,
                                       .bouncers_api_key = j->cfg.bouncers_api_key };
    struct store_flush_report rep = { 0 };
    struct store_autodelete gone = { 0 };
    struct store_error err = { { 0 } };
    int rc;

    rc = store_flush_run(s, &fc, lapi_now_ns(), &rep, &err);
    if (rc != 0) {
        log_warn("flush: alerts: %s", err.msg);
        return rc;
    }
    if (rep.orphan_events > 0)
        log_info("flush: %lld deleted orphan events", (long long)rep.orphan_events);
    if (rep.orphan_decisions > 0)
        log_info("flush: %lld deleted orphan decisions", (long long)rep.orphan_decisions);
    if (rep.by_count > 0)
        log_info("flush: flushed %lld/%lld alerts because the max number of alerts has been "
                 "reached (%lld max)",
                 (long long)rep.by_count, (long long)rep.total_alerts, (long long)fc.max_items);
    if (rep.by_age > 0) {
        char d[GOTIME_DURATION_STR_MAX];
        gotime_format_duration(fc.max_age, d, sizeof(d));
        log_info("flush: flushed %lld/%lld alerts because they were created %s ago or more",
                 (long long)rep.by_age, (long long)rep.total_alerts, d);
    }
    rc = store_autodelete_run(s, &limits, lapi_now_ns(), &gone, &err);
    if (rc != 0) {
        log_warn("flush: machines and bouncers auto-delete: %s", err.msg);
        return rc;
    }
    if (gone.agents_cert > 0)
        log_duration("tls", limits.agents_cert, gone.agents_cert, "machines");
    if (gone.agents_password > 0)
        log_duration("password", limits.agents_password, gone.agents_password, "machines");
    if (gone.bouncers_cert > 0)
        log_duration("tls", limits.bouncers_cert, gone.bouncers_cert, "bouncers");
    if (gone.bouncers_api_key > 0)
        log_duration("api-key", limits.bouncers_api_key, gone.bouncers_api_key, "bouncers");
    return 0;
}

/* One tick: take the lease, flush, give the lease back. */
static void
job_run(struct lapi_jobs *j)
{
    struct store_error err = { { 0 } };
    struct store *s = job_store(j);
    bool held = false;
    int rc;

    if (s == NULL)
        return;
    if (store_try_lease(s, STORE_LEASE_FLUSH, &held, &err) != 0) {
        log_warn("flush: cannot take the flush lease, retrying at the next run: %s", err.msg);
        job_store_reset(j);
        return;
    }
    if (!held) {
        /* Said once per change, not every tick, to keep a fleet's logs quiet. */
        if (!j->was_skipping)
            log_info("flush: lease held by another LAPI node, skipping the flush while it is");
        else
            log_debug("flush: lease held by another LAPI node, skipped");
        j->was_skipping = true;
        return;
    }
    if (j->was_skipping)
        log_info("flush: lease taken, this node runs the flush again");
    j->was_skipping = false;
    log_debug("flush: lease taken, flushing");
    rc = flush_steps(j, s);
    if (store_release_lease(s, STORE_LEASE_FLUSH, &err) != 0) {
        log_warn("flush: cannot release the flush lease: %s", err.msg);
        rc = -1;
    }
    if (rc != 0)
        job_store_reset(j);
    log_debug("flush: done, lease released");
}

static void *
job_main(void *arg)
{
    struct lapi_jobs *j = arg;

    pthread_mutex_lock(&j->mu);
    while (!j->stop) {
        struct timespec deadline;
        clock_gettime(CLOCK_MONOTONIC, &deadline);
        deadline.tv_sec += (time_t)(j->cfg.interval / 1000000000);
        deadline.tv_nsec += (long)(j->cfg.interval % 1000000000);
        if (deadline.tv_nsec >= 1000000000L) {
            deadline.tv_sec++;
            deadline.tv_nsec -= 1000000000L;
        }
        while (!j->stop && pthread_cond_timedwait(&j->cv, &j->mu, &deadline) != ETIMEDOUT)
            ;
        if (j->stop)
            break;
        pthread_mutex_unlock(&j->mu);
        job_run(j);
        pthread_mutex_lock(&j->mu);
    }
    pthread_mutex_unlock(&j->mu);
    return NULL;
}

static void
jobs_free(struct lapi_jobs *j)
{
    store_close(j->own);
    free(j->db_type);
    free(j->db_dsn);
    free(j);
}

struct lapi_jobs *
lapi_jobs_start(const struct lapi_config *c, struct store *shared, struct lapi_error *err)
{
    struct lapi_jobs *j = calloc(1, sizeof(*j));
    pthread_condattr_t ca;
    int rc;

    if (j == NULL || (j->db_type = strdup(c->db_type)) == NULL ||
        (j->db_dsn = strdup(c->db_dsn)) == NULL) {
        if (j != NULL)
            jobs_free(j);
        snprintf(err->msg, sizeof(err->msg), "out of memory");
        return NULL;
    }
    j->cfg = c->flush;
    if (j->cfg.interval <= 0)
        j->cfg.interval = (int64_t)60 * 1000000000; /* CrowdSec's flushInterval */
    j->shared = shared;
    if (c->flush.agents_api_key)
        log_warn("agents auto-delete for API auth is not supported (use cert or login_password)");
    if (c->flush.bouncers_password)
        log_warn("bouncers auto-delete for login/password auth is not supported (use cert or "
                 "api)");
    pthread_mutex_init(&j->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&j->cv, &ca);
    pthread_condattr_destroy(&ca);
    if ((rc = pthread_create(&j->thread, NULL, job_main, j)) != 0) {
        pthread_cond_destroy(&j->cv);
        pthread_mutex_destroy(&j->mu);
        jobs_free(j);
        snprintf(err->msg, sizeof(err->msg), "cannot start the flush thread: %s", strerror(rc));
        return NULL;
    }
    return j;
}

void
lapi_jobs_stop(struct lapi_jobs *j)
{
    if (j == NULL)
        return;
    pthread_mutex_lock(&j->mu);
    j->stop = true;
    pthread_cond_signal(&j->cv);
    pthread_mutex_unlock(&j->mu);
    pthread_join(j->thread, NULL);
    pthread_cond_destroy(&j->cv);
    pthread_mutex_destroy(&j->mu);
    jobs_free(j);
}

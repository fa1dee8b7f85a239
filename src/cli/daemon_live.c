/*
 * daemon_live.c - phalanxd's live mode, CrowdSec's `crowdsec -c config.yaml`:
 * the Local API and the agent in one process, each of which can be switched
 * off (-no-api / api.server.enable, -no-cs / crowdsec_service.enable).
 *
 * The agent reads the sources of acquis.yaml and acquis.d, and ships its
 * alerts to the Local API named by api.client.credentials_path over HTTP even
 * when that API runs in the same process (as CrowdSec does): the pusher's disk
 * spool (data_dir/alert-spool) keeps them through an outage or a restart.
 * With -alerts-file the alerts go to that file instead (JSON lines).
 *
 * Signals: SIGINT and SIGTERM are blocked before any thread starts, so only
 * the signal thread here sees them; it sets the stop flag the agent polls.
 */
#include "acquisition/acquisition.h"
#include "apiclient/apiclient.h"
#include "cli/cli.h"
#include "cli/daemon.h"
#include "common/log.h"
#include "lapi/lapi.h"

#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#define PUSH_FLUSH_MS 5000

struct live_ctx {
    atomic_int stop;
    sigset_t signals;
    const char *config;
    pthread_mutex_t lapi_mu; /* a reload and the stop never overlap */
    struct lapi *lapi;       /* set once the Local API runs: SIGHUP reloads it */
    /* where alerts go: one of these */
    struct apiclient_pusher *pusher;
    FILE *alerts_file;
    pthread_mutex_t file_mu;
    bool store_failing; /* the last pusher_add failed (logged once until it works again) */
};

/*
 * SIGHUP: the Local API reloads its profiles, network settings and TLS files
 * (lapi_reload keeps the old ones when the new ones are bad). The agent's items
 * and sources are not reloaded: that needs a restart, and it says so.
 */
static void
reload_lapi(struct live_ctx *lc)
{
    struct lapi_config c = { 0 };
    struct lapi_error err = { { 0 } };

    pthread_mutex_lock(&lc->lapi_mu);
    if (lc->lapi == NULL) {
        pthread_mutex_unlock(&lc->lapi_mu);
        log_warn("SIGHUP received: the agent reloads only on restart");
        return;
    }
    if (lapi_config_load(lc->config, &c, &err) != 0 || lapi_reload(lc->lapi, &c, &err) != 0)
        log_error("SIGHUP: reload refused, the previous settings stay: %s", err.msg);
    else
        log_info("SIGHUP: Local API settings reloaded from %s (the agent reloads only on "
                 "restart)",
                 lc->config);
    pthread_mutex_unlock(&lc->lapi_mu);
    lapi_config_clear(&c);
}

static void *
signal_main(void *arg)
{
    struct live_ctx *lc = arg;
    int sig = 0;

    while (sigwait(&lc->signals, &sig) != 0 || sig == SIGHUP) {
        if (sig == SIGHUP)
            reload_lapi(lc);
    }
    log_info("signal %d received, stopping", sig);
    atomic_store(&lc->stop, 1);
    return NULL;
}

/* The agent's alert sink: the file, or the pusher's spool (retried every second while full). */
static int
sink_alert(void *ctx, const char *json)
{
    struct live_ctx *lc = ctx;

    if (lc->alerts_file != NULL) {
        pthread_mutex_lock(&lc->file_mu);
        int rc = fputs(json, lc->alerts_file) == EOF || fputc('\n', lc->alerts_file) == EOF ||
                         fflush(lc->alerts_file) != 0
                     ? -1
                     : 0;
        pthread_mutex_unlock(&lc->file_mu);
        if (rc < 0)
            log_error("writing an alert to -alerts-file: %s", strerror(errno));
        return rc;
    }
    for (;;) {
        struct apiclient_error err = { { 0 }, 0 };
        if (apiclient_pusher_add(lc->pusher, json, strlen(json), &err) == 0) {
            if (lc->store_failing)
                log_info("alerts are stored in the spool again");
            lc->store_failing = false;
            return 0;
        }
        if (!lc->store_failing)
            log_error("cannot store an alert in the spool (%s); retrying every second",
                      err.message);
        lc->store_failing = true;
        if (atomic_load(&lc->stop) != 0)
            return -1;
        struct timespec ts = { 1, 0 };
        nanosleep(&ts, NULL);
    }
}

static void
warn_source(void *ctx, const char *message)
{
    (void)ctx;
    log_warn("%s", message);
}

/* The sources of the agent: acquis.yaml + acquis.d, as crowdsec_service names them. */
static struct acquisition *
load_sources(const struct agent_config *cfg, const char *config)
{
    struct acq_error err = { { 0 } };
    struct acquisition *acq = NULL;

    if (cfg->acquisition_path == NULL && cfg->acquisition_dir == NULL) {
        log_error("no datasource: set crowdsec_service.acquisition_path or acquisition_dir in %s "
                  "(or run with -no-cs)",
                  config);
        return NULL;
    }
    if (acq_load(cfg->acquisition_path, cfg->acquisition_dir, &acq, &err) < 0) {
        log_error("%s", err.message);
        return NULL;
    }
    for (size_t i = 0; i < acq_count(acq); i++)
        log_info("datasource %s", acq_describe(acq, i));
    return acq;
}

/* The Local API client and the pusher that sends the agent's alerts. 0, or -1 after logging. */
static int
start_pusher(struct live_ctx *lc, const struct agent_config *cfg, const struct agent *a,
             const char *config, struct apiclient **ret_client)
{
    struct apiclient_credentials creds = { 0 };
    struct apiclient_error err = { { 0 }, 0 };
    struct apiclient *c = NULL;
    char spool[4096];
    const char **names = NULL;
    size_t n = agent_scenario_count(a);
    int rc = -1;

    if (cfg->credentials_path == NULL) {
        log_error("api.client.credentials_path is not set in %s: the agent needs Local API "
                  "credentials to send its alerts (create them with `phalanx machines add "
                  "--auto`), or run with -no-cs",
                  config);
        return -1;
    }
    if (apiclient_credentials_load(cfg->credentials_path, &creds, &err) < 0) {
        log_error("%s", err.message);
        return -1;
    }
    if ((c = apiclient_new(&creds, NULL, &err)) == NULL) {
        log_error("Local API client: %s", err.message);
        goto out;
    }
    if (n > 0 && (names = calloc(n, sizeof(*names))) == NULL)
        goto oom;
    for (size_t i = 0; i < n; i++)
        names[i] = agent_scenario_name(a, i);
    if (apiclient_set_scenarios(c, names, n) < 0)
        goto oom;
    if ((size_t)snprintf(spool, sizeof(spool), "%s/alert-spool", cfg->data_dir) >= sizeof(spool)) {
        log_error("config_paths.data_dir is too long");
        goto out;
    }
    if ((lc->pusher = apiclient_pusher_new(c, spool, &err)) == NULL ||
        apiclient_pusher_start(lc->pusher, &err) < 0) {
        log_error("alert spool %s: %s", spool, err.message);
        goto out;
    }
    log_info("alerts go to the Local API at %s (spool %s)", creds.url, spool);
    *ret_client = c;
    c = NULL;
    rc = 0;
    goto out;
oom:
    log_error("out of memory");
out:
    if (rc < 0) {
        apiclient_pusher_free(lc->pusher, 0);
        lc->pusher = NULL;
    }
    apiclient_free(c);
    free(names);
    apiclient_credentials_clear(&creds);
    return rc;
}

int
daemon_push_alerts(const struct agent_config *cfg, const struct agent *a, const char *config,
                   const char *buf, size_t len)
{
    struct live_ctx lc = { .config = config };
    struct apiclient *client = NULL;
    struct apiclient_pusher_stats st = { 0 };
    size_t n = 0;
    int rc = 1;

    if (start_pusher(&lc, cfg, a, config, &client) < 0)
        return 1;
    for (const char *p = buf, *end = buf + len; p < end;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t l = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
        struct apiclient_error err = { { 0 }, 0 };
        if (l > 0) {
            char *line = strndup(p, l);
            if (line == NULL || apiclient_pusher_add(lc.pusher, line, l, &err) != 0) {
                log_error("cannot store an alert in the spool: %s",
                          line == NULL ? "out of memory" : err.message);
                free(line);
                goto out;
            }
            free(line);
            n++;
        }
        p += l + 1;
    }
    /* Wait for the acknowledgements (the pusher sends every second). */
    for (int i = 0; i < 600; i++) {
        apiclient_pusher_stats(lc.pusher, &st);
        if (st.pending == 0)
            break;
        struct timespec ts = { 0, 100L * 1000 * 1000 };
        nanosleep(&ts, NULL);
    }
    if (st.pending != 0)
        log_warn("%" PRIu64 " of %zu alerts not acknowledged by the Local API yet: they stay in "
                 "the spool and leave with the agent's next run",
                 st.pending, n);
    else
        log_info("%zu alerts sent to the Local API", n);
    rc = 0;
out:
    apiclient_pusher_free(lc.pusher, PUSH_FLUSH_MS);
    apiclient_free(client);
    return rc;
}

/* The agent half, in this thread until the stop flag is set. Returns the exit code. */
static int
run_agent(struct live_ctx *lc, const struct daemon_flags *fl, const struct agent_config *cfg)
{
    struct agent_error err = { { 0 } };
    struct agent *a = NULL;
    struct acquisition *acq = NULL;
    struct apiclient *client = NULL;
    struct agent_stats st;
    char pat[4096];
    int rc = 1;

    if ((a = agent_new(cfg, daemon_base_patterns(pat, sizeof(pat)), &err)) == NULL) {
        log_error("loading the items of %s: %s", cfg->config_dir, err.message);
        return 1;
    }
    log_info("%zu scenarios loaded from %s", agent_scenario_count(a), cfg->config_dir);
    if ((acq = load_sources(cfg, fl->config)) == NULL)
        goto out;
    if (fl->alerts_file != NULL) {
        if ((lc->alerts_file = fopen(fl->alerts_file, "a")) == NULL) {
            log_error("-alerts-file %s: %s", fl->alerts_file, strerror(errno));
            goto out;
        }
        log_info("alerts go to %s", fl->alerts_file);
    } else if (start_pusher(lc, cfg, a, fl->config, &client) < 0) {
        goto out;
    }
    struct agent_live_options o = {
        .acq = acq,
        .alert_sink = sink_alert,
        .sink_ctx = lc,
        .warn = warn_source,
        .stop = &lc->stop,
    };
    if (agent_run_live(a, &o, &st, &err) < 0) {
        log_error("agent: %s", err.message);
        goto out;
    }
    log_info("agent stopped: %" PRIu64 " lines (%" PRIu64 " parsed, %" PRIu64 " unparsed), %" PRIu64
             " overflows, %" PRIu64 " alerts",
             st.lines, st.parsed, st.unparsed, st.overflows, st.alerts);
    rc = 0;
out:
    apiclient_pusher_free(lc->pusher, PUSH_FLUSH_MS);
    lc->pusher = NULL;
    apiclient_free(client);
    if (lc->alerts_file != NULL)
        fclose(lc->alerts_file);
    lc->alerts_file = NULL;
    acq_free(acq);
    agent_free(a);
    return rc;
}

int
daemon_run_live(const struct daemon_flags *fl)
{
    struct live_ctx lc = { .config = fl->config };
    struct lapi_config lc_api = { 0 };
    struct agent_config cfg = { 0 };
    struct lapi_error lerr = { { 0 } };
    struct agent_error aerr = { { 0 } };
    struct lapi *l = NULL;
    pthread_t sig_th;
    bool want_api = !fl->no_api, want_agent = !fl->no_cs;
    char pid_path[4096] = "";
    int rc = 1;

    if (want_api && lapi_config_load(fl->config, &lc_api, &lerr) != 0) {
        fprintf(stderr, "phalanxd: %s\n", lerr.msg);
        return 1;
    }
    want_api = want_api && lc_api.enable;
    if (want_agent && agent_config_load(fl->config, &cfg, &aerr) < 0) {
        fprintf(stderr, "phalanxd: %s\n", aerr.message);
        goto out;
    }
    want_agent = want_agent && cfg.enable;
    if (!want_api && !want_agent) {
        fprintf(stderr,
                "phalanxd: both halves are off (the Local API by -no-api or api.server.enable, "
                "the agent by -no-cs or crowdsec_service.enable in %s): nothing to do\n",
                fl->config);
        goto out;
    }
    pthread_mutex_init(&lc.file_mu, NULL);
    pthread_mutex_init(&lc.lapi_mu, NULL);
    sigemptyset(&lc.signals);
    sigaddset(&lc.signals, SIGINT);
    sigaddset(&lc.signals, SIGTERM);
    sigaddset(&lc.signals, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &lc.signals, NULL);
    if (daemon_common_apply(fl->config, pid_path, sizeof(pid_path)) != 0)
        goto out_mu;
    if (pthread_create(&sig_th, NULL, signal_main, &lc) != 0) {
        log_error("cannot start the signal thread");
        goto out_mu;
    }
    pthread_detach(sig_th);
    if (want_api) {
        if (lapi_start(&lc_api, &l, &lerr) != 0) {
            log_error("cannot start the Local API: %s", lerr.msg);
            goto out_mu;
        }
        log_info("Local API listening on %s (port %u, %s database)", lc_api.listen_uri,
                 (unsigned)lapi_port(l), lc_api.db_type);
        pthread_mutex_lock(&lc.lapi_mu);
        lc.lapi = l;
        pthread_mutex_unlock(&lc.lapi_mu);
    }
    if (want_agent) {
        rc = run_agent(&lc, fl, &cfg);
    } else {
        while (atomic_load(&lc.stop) == 0) {
            struct timespec ts = { 0, 100L * 1000 * 1000 };
            nanosleep(&ts, NULL);
        }
        rc = 0;
    }
    /* A cat-mode agent ends on its own; the Local API keeps serving until a signal. */
    while (rc == 0 && l != NULL && atomic_load(&lc.stop) == 0) {
        struct timespec ts = { 0, 100L * 1000 * 1000 };
        nanosleep(&ts, NULL);
    }
    pthread_mutex_lock(&lc.lapi_mu);
    lc.lapi = NULL;
    pthread_mutex_unlock(&lc.lapi_mu);
    lapi_stop(l);
out_mu:
    if (pid_path[0] != '\0')
        unlink(pid_path);
    pthread_mutex_destroy(&lc.file_mu);
out:
    agent_config_clear(&cfg);
    lapi_config_clear(&lc_api);
    return rc;
}

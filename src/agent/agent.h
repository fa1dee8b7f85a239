/*
 * agent.h - the agent half of phalanxd (CrowdSec's cmd/crowdsec): config.yaml,
 * the items installed in config_dir, and the pipeline
 *
 *   source -> N parser workers -> dispatcher -> M bucket shards -> output
 *
 * Lines go through bounded queues in batches; a full queue makes the stage
 * before it wait (back-pressure), nothing is dropped. Parser workers also run
 * the scenarios' filters and groupby (bucket_match) so the dispatcher only
 * restores line order and hands each target to the shard that owns its key
 * (bucket_target_hash). Each shard pours its events in line order and is
 * advanced on a monotone event clock, so a replay gives the same overflows
 * for any number of workers and shards; the output stage runs postoverflows,
 * drops whitelisted overflows, re-injects `reprocess` ones into the bucket
 * input and writes the alerts sorted by (overflow time, scenario, key).
 *
 * Today the one mode is replay (-dsn): the file is read in event time and the
 * run ends when it is exhausted, after flushing the buckets' timers.
 */
#ifndef PHALANX_AGENT_H
#define PHALANX_AGENT_H

#include "bucket/bucket.h"
#include "common/common.h"

#include <stdatomic.h>
#include <stdio.h>

struct agent;

struct agent_error {
    char message[1024];
};

/* The parts of config.yaml the agent reads (CrowdSec's keys, plus two caps of ours). */
struct agent_config {
    char *config_dir;      /* config_paths.config_dir: parsers/, scenarios/, postoverflows/ */
    char *data_dir;        /* config_paths.data_dir */
    char *simulation_path; /* config_paths.simulation_path (missing file = no simulation) */
    char *hub_dir;         /* config_paths.hub_dir: holds .index.json for item versions */
    char *index_path;      /* config_paths.index_path */
    char *pattern_dir;     /* config_paths.pattern_dir; default config_dir/patterns */
    /* crowdsec_service.console_context_path; NULL = config_dir/console/context.yaml, which may
     * then be missing */
    char *console_context_path;
    size_t console_context_value_length; /* crowdsec_service; 0 or over 4000 = 4000 */
    unsigned parser_routines, buckets_routines, output_routines; /* crowdsec_service, default 1 */
    /* crowdsec_service.max_buckets / max_buckets_per_scenario (ours): live bucket caps of the
     * whole agent, split evenly over the shards; 0 = no cap. */
    size_t max_buckets, max_buckets_per_scenario;
    bool enable;            /* a crowdsec_service section, its enable not false: run the agent */
    char *acquisition_path; /* crowdsec_service.acquisition_path, NULL when unset */
    char *acquisition_dir;  /* crowdsec_service.acquisition_dir, NULL when unset */
    char *credentials_path; /* api.client.credentials_path, NULL when unset */
};

#define AGENT_DEFAULT_MAX_BUCKETS 1000000
#define AGENT_MAX_ROUTINES        64

/* Reads path (a CrowdSec config.yaml). 0, or -1 with err. */
int agent_config_load(const char *path, struct agent_config *ret, struct agent_error *err);
void agent_config_clear(struct agent_config *c);

/*
 * Loads everything installed under cfg->config_dir: grok patterns (our base
 * set from base_patterns, then pattern_dir), parsers/<stage>/<name>.yaml,
 * scenarios/<name>.yaml (versions from the hub index when the file is a hub
 * item), postoverflows/<stage>/<name>.yaml, simulation.yaml, the alert
 * context (contexts/<name>.yaml and console_context_path). NULL with err.
 */
struct agent *agent_new(const struct agent_config *cfg, const char *base_patterns,
                        struct agent_error *err);
void agent_free(struct agent *a);
/* Number of scenarios, parser stages loaded (for messages). */
size_t agent_scenario_count(const struct agent *a);
/* The name of the i-th scenario (borrowed from a). */
const char *agent_scenario_name(const struct agent *a, size_t i);

struct agent_label {
    const char *key;
    const char *value;
};

struct agent_replay_options {
    const char *dsn;                  /* file:///path[?max_buffer_size=N] (globs ok, .gz ok) */
    const char *type;                 /* -type: Labels["type"] */
    const struct agent_label *labels; /* -label k:v */
    size_t nlabels;
    FILE *alerts;         /* where alerts go, one JSON object a line; NULL = none */
    const char *dump_dir; /* -dump-data: parser-dump.yaml, bucketpour-dump.yaml, bucket-dump.yaml */
    /* 0 = the config's value */
    unsigned parser_routines, buckets_routines, output_routines;
};

struct agent_stats {
    uint64_t lines;              /* lines read (empty ones skipped, as CrowdSec) */
    uint64_t too_long;           /* lines over max_buffer_size, dropped */
    uint64_t parsed;             /* went through every stage */
    uint64_t unparsed;           /* failed a stage */
    uint64_t whitelisted;        /* dropped by a parser whitelist */
    uint64_t poured;             /* pours into buckets */
    uint64_t overflows;          /* overflows reaching the output */
    uint64_t po_whitelisted;     /* overflows dropped by a postoverflow whitelist */
    uint64_t reprocessed;        /* overflows poured again */
    uint64_t alerts;             /* alerts written */
    uint64_t context_errors;     /* alert context expressions that failed on an event */
    uint64_t waits;              /* times a stage waited on a full queue (back-pressure) */
    struct bucket_stats buckets; /* summed over shards */
};

/*
 * The live mode: lines from the acquisition's sources (src/acquisition), wall
 * clock buckets (BUCKET_LIVE, advanced at least every tick), alerts handed to
 * alert_sink as they leave the output stage.
 */
struct acquisition;
struct agent_live_options {
    struct acquisition *acq; /* loaded, not started: agent_run_live starts and stops it */
    /*
     * Called from output threads with one alert (a models.Alert JSON object).
     * It stores the alert (retrying as long as it must) and returns 0, or -1
     * when the agent is stopping and the alert could not be stored.
     */
    int (*alert_sink)(void *ctx, const char *alert_json);
    void *sink_ctx;
    /* Messages about sources that could not start; may be NULL. */
    void (*warn)(void *ctx, const char *message);
    void *warn_ctx;
    const atomic_int *stop; /* set to non-zero (e.g. by a signal handler) to end the run */
    unsigned parser_routines, buckets_routines, output_routines; /* 0 = the config's */
};

/*
 * Runs until *o->stop is set or every source has ended (cat mode); then the
 * sources are stopped, the lines read are processed, and the buckets still
 * alive are dropped (CrowdSec does not flush them at shutdown either). 0, or
 * -1 with err.
 */
int agent_run_live(struct agent *a, const struct agent_live_options *o, struct agent_stats *ret,
                   struct agent_error *err);

/* Runs a replay to the end. 0, or -1 with err (the alerts written so far stay written). */
int agent_replay(struct agent *a, const struct agent_replay_options *o, struct agent_stats *ret,
                 struct agent_error *err);

#endif

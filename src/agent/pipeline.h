/*
 * pipeline.h - what the pipeline stages (pipeline.c) and the output stage
 * (output.c) share: the overflow records the output keeps for the final,
 * sorted write and the dumps.
 */
#ifndef PHALANX_AGENT_PIPELINE_H
#define PHALANX_AGENT_PIPELINE_H

#include "agent/internal.h"

/* One node result recorded for the parser dump. */
struct trace_rec {
    char *stage, *node;
    bool success;
    struct event *evt;
};

struct trace_list {
    struct trace_rec *items;
    size_t len, cap;
};

void trace_list_clear(struct trace_list *l);
/* A parser_trace callback appending to the trace_list ctx (deep copies). */
void trace_list_node_done(void *ctx, const char *stage, const char *node, bool success,
                          const struct event *evt);
/* Moves every record of l into results, computing Idx as StageParseCollector.Add. 0 or -ENOMEM. */
int trace_list_flush(struct trace_list *l, struct parser_results *results);

/* An overflow after the output stage: its sort key, its alert lines, and for dumps its event. */
struct out_rec {
    int64_t time_ns;
    char *scenario;
    char *mapkey;
    char **lines; /* alert JSON, one per source (CrowdSec's dedupAlerts) */
    size_t nlines;
    struct event *evt;        /* kept for bucket-dump.yaml (dump mode), else NULL */
    struct trace_list traces; /* postoverflow node results (dump mode) */
};

void out_rec_free(struct out_rec *r);
/* Runs one overflow through the output stage; *ret owned by the caller. NULL on OOM. */
struct out_rec *output_process(const struct parser_set *po, struct parser_worker *w,
                               struct event *evt, bool dump, bool *ret_whitelisted);
/* Sorts by (time, scenario, key, first line) so the order does not depend on threads. */
void output_sort(struct out_rec **recs, size_t n);

/* Pours recorded for bucketpour-dump.yaml (in dispatch order). */
struct pour_rec {
    const char *key; /* "OK" or the scenario name (borrowed) */
    uint64_t seq;
    struct event *evt; /* shared between the records of one pour: freed through `owner` */
    bool owner;
};

int dump_write_all(const char *dir, const struct parser_results *parse, struct pour_rec *pours,
                   size_t npours, struct out_rec **recs, size_t nrecs, struct agent_error *err);

/* --- the run, shared by the replay (pipeline.c) and the live mode (live.c) --- */

struct run;
struct batch;
struct acq_line;

/* A zeroed run; NULL on OOM. pipeline_free() after pipeline_end() (or a failed begin). */
struct run *pipeline_new(void);
void pipeline_free(struct run *r);
/*
 * Builds the stages and starts their threads; live NULL for a replay. wall_clock: the buckets
 * run on the wall clock (live sources) instead of event time. 0 or -1 with err.
 */
int pipeline_begin(struct run *r, struct agent *a, const struct agent_replay_options *o,
                   const struct agent_live_options *live, bool wall_clock, struct agent_error *err);
/* Hands a batch (owned, even on failure) to the workers, waiting for room. 0 or -1 (run failed). */
int pipeline_feed(struct run *r, struct batch *b);
/* No more input: drains and joins every stage. */
void pipeline_end(struct run *r);
bool pipeline_failed(struct run *r);
const char *pipeline_error(struct run *r);
void pipeline_stats(struct run *r, struct agent_stats *ret);

struct batch *batch_new(void);
void batch_free(struct batch *b);
size_t batch_len(const struct batch *b);
bool batch_full(const struct batch *b);
/* Copies one live line into b (which must not be full). 0 or -ENOMEM. */
int batch_add_live(struct batch *b, const struct acq_line *l);

#endif

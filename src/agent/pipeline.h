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

#endif

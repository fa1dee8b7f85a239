/*
 * parser.h - CrowdSec's parser engine: stages of node trees that turn a raw
 * line into an event (s00-raw -> s01-parse -> s02-enrich), and the same engine
 * for postoverflow stages.
 *
 * Load once (YAML, strict keys, errors naming file, line and key), then run
 * parser_process() on any number of threads, each with its own worker. The
 * evaluation order is spec section 3 to the letter: filter, whitelist, grok
 * (on apply_on or expression) with its statics, stash, children (even when the
 * parent's grok failed), node statics, onsuccess next_stage|continue.
 */
#ifndef PHALANX_PARSER_H
#define PHALANX_PARSER_H

#include "common/common.h"
#include "grok/grok.h"
#include "model/model.h"

struct parser_set;
struct parser_worker;

struct parser_error {
    char file[512];
    int line; /* 1-based, 0 if unknown */
    char message[512];
};

/* One parser file and the stage it belongs to (its parent directory name, e.g. "s01-parse"). */
struct parser_item {
    const char *path;
    const char *stage;
};

struct parser_options {
    const char *data_dir;      /* data files (`data:` entries) and GeoLite2-*.mmdb; NULL = none */
    struct grok_library *grok; /* borrowed; pattern_syntax definitions are added to it */
    bool postoverflow;         /* postoverflow stages: whitelists also set Overflow.Whitelisted */
};

/*
 * Loads items (files sorted by full path within each stage, stages sorted by
 * name, each YAML document a top-level node). Returns NULL and fills err on
 * the first error.
 */
struct parser_set *parser_set_load(const struct parser_item *items, size_t n,
                                   const struct parser_options *opts, struct parser_error *err);
/*
 * The same from one YAML text (name is used in errors, stage is its stage):
 * for the fuzz harness, explain and tests.
 */
struct parser_set *parser_set_load_buffer(const char *name, const char *stage, const char *buf,
                                          size_t len, const struct parser_options *opts,
                                          struct parser_error *err);
void parser_set_free(struct parser_set *ps);
size_t parser_set_stage_count(const struct parser_set *ps);
const char *parser_set_stage_name(const struct parser_set *ps, size_t i);

/* Per-thread evaluation state (expression VM, scratch). */
struct parser_worker *parser_worker_new(const struct parser_set *ps);
void parser_worker_free(struct parser_worker *w);

/*
 * Called after each top-level node of a stage ran on the event (success or
 * not), in order, until one succeeds with onsuccess: next_stage - exactly the
 * entries of CrowdSec's parser dump. evt is the event after the node ran.
 */
struct parser_trace {
    void *ctx;
    void (*node_done)(void *ctx, const char *stage, const char *node_name, bool success,
                      const struct event *evt);
};

enum parser_outcome {
    PARSER_PARSED = 1,   /* went through every stage: evt->process = true */
    PARSER_UNPARSED = 0, /* some stage had no successful node */
    PARSER_FAILED = -1,  /* out of memory */
};

/* Runs every stage on evt (trace may be NULL). Grok limit hits count as no match. */
enum parser_outcome parser_process(const struct parser_set *ps, struct parser_worker *w,
                                   struct event *evt, const struct parser_trace *trace);

/* Counters since load, summed over workers (metrics, explain, tests). */
struct parser_stats {
    uint64_t lines, parsed, unparsed, grok_limit_hits, expr_errors;
};
void parser_worker_stats(const struct parser_worker *w, struct parser_stats *ret);

#endif

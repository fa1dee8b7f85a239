/*
 * internal.h - the pieces of the hub test runner (private to src/hubtest):
 * config.yaml, item resolution and the runtime directory, the log replay,
 * the parser dump writer and the assert evaluator.
 */
#ifndef PHALANX_HUBTEST_INTERNAL_H
#define PHALANX_HUBTEST_INTERNAL_H

#include "common/common.h"
#include "common/str.h"
#include "hubtest/hubtest.h"
#include "model/model.h"

#include <inttypes.h>
#include <jansson.h>
#include <limits.h>

/* A list of owned strings. */
struct hubtest_strlist {
    char **items;
    size_t len;
};

void hubtest_strlist_clear(struct hubtest_strlist *l);
int hubtest_strlist_push(struct hubtest_strlist *l, const char *s);

/* One static of override_statics, every key kept as text (as parser.Static's string fields). */
struct hubtest_kv {
    char *key;
    char *value;
};

struct hubtest_static {
    struct hubtest_kv *kv;
    size_t len;
};

/* config.yaml (pkg/hubtest HubTestItemConfig); unknown keys are ignored, as yaml.v3 does. */
struct hubtest_config {
    struct hubtest_strlist parsers;
    struct hubtest_strlist scenarios;
    struct hubtest_strlist postoverflows;
    char *log_file;
    char *log_type;
    struct hubtest_kv *labels;
    size_t nlabels;
    bool ignore_parsers;
    struct hubtest_static *statics; /* override_statics */
    size_t nstatics;
};

/* Reads path; 0, or -1 with a message in err. */
int hubtest_config_load(const char *path, struct hubtest_config *ret, char *err, size_t errlen);
void hubtest_config_clear(struct hubtest_config *c);

/* The hub's .index.json, loaded once per run of tests (read-only afterwards). */
struct hubtest_index;
struct hubtest_index *hubtest_index_load(const char *hub_dir, char *err, size_t errlen);
void hubtest_index_free(struct hubtest_index *idx);

/* An item resolved to its file and stage. */
struct hubtest_item {
    char *path;    /* absolute or hub-relative file, as found */
    char *stage;   /* "s01-parse" ...; "" for an index scenario */
    char *version; /* the index's version of the item, NULL for a custom path */
    bool from_index;
};

/*
 * Resolves one parsers/scenarios/postoverflows entry: an index name of section
 * `type` ("parsers", "scenarios", "postoverflows"), else a path relative to the hub root or the
 * test dir (stage = 3rd path component from the end). 0, or -1 with err.
 */
int hubtest_resolve_item(const struct hubtest_index *idx, const char *hub_dir, const char *test_dir,
                         const char *type, const char *entry, struct hubtest_item *ret, char *err,
                         size_t errlen);
void hubtest_item_clear(struct hubtest_item *it);

/*
 * Writes the YAML file of the synthetic `overrides` node (name overrides,
 * filter "1==1", the statics) to path. 0 or -1 with err.
 */
int hubtest_write_overrides(const char *path, const struct hubtest_static *statics, size_t n,
                            char *err, size_t errlen);

/* Writes results as CrowdSec's results/parser-dump.yaml; 0 or -1 with err. */
int hubtest_dump_write(const char *path, const struct parser_results *results, char *err,
                       size_t errlen);

/* One event as in the dumps (pipeline.Event's yaml tags, Overflow included), at indent. */
void hubtest_dump_event(FILE *f, int indent, const struct event *e);

/*
 * Evaluates every line of an assert file against results (hubtest's parser
 * context). Adds to ret->assertions; sets first_failure/actual for the first
 * false line unless ret already holds one; returns 1 when every line held, 0
 * when one failed, -1 on an error (compile/run/not a bool, missing file) with
 * err, in which case ret->first_failure names the line.
 */
int hubtest_assert_parser(const char *path, const struct parser_results *results,
                          struct hubtest_result *ret, char *err, size_t errlen);
/* The same for scenario.assert: results is the sorted list of overflow events. */
int hubtest_assert_scenario(const char *path, const struct event_list *results,
                            struct hubtest_result *ret, char *err, size_t errlen);

/*
 * The scenario side of a replay (scenario.c): parsed events poured in order
 * into one replay shard, each overflow with an alert run through the
 * postoverflow stages (recorded through trace, as crowdsec's parser dump
 * does) and kept, reprocessed overflows poured again, the shard flushed at
 * the end, the overflows sorted as hubtest sorts bucket-dump.yaml.
 */
struct bucket_set;
struct parser_set;
struct parser_trace;
struct hubtest_scen;

/*
 * set and post (may be NULL) are borrowed and must outlive the object; trace
 * (borrowed) is used by hubtest_scen_pour and hubtest_scen_finish only;
 * pour_dump keeps a copy of every poured event for bucketpour-dump.yaml. NULL on OOM.
 */
struct hubtest_scen *hubtest_scen_new(const struct bucket_set *set, const struct parser_set *post,
                                      const struct parser_trace *trace, bool pour_dump);
void hubtest_scen_free(struct hubtest_scen *s);
/* Pours one parsed event (copied). 0, or -1 with err (out of memory). */
int hubtest_scen_pour(struct hubtest_scen *s, const struct event *evt, char *err, size_t errlen);
/* Flushes the shard's timers and sorts the overflows. 0, or -1 with err. */
int hubtest_scen_finish(struct hubtest_scen *s, char *err, size_t errlen);
/* The overflows (after hubtest_scen_finish: sorted as hubtest's BucketResults). */
const struct event_list *hubtest_scen_results(const struct hubtest_scen *s);
/* results/bucket-dump.yaml and results/bucketpour-dump.yaml in dir. 0, or -1 with err. */
int hubtest_scen_dump_write(const struct hubtest_scen *s, const char *dir, char *err,
                            size_t errlen);

/* Go's filepath.Abs: joined with the working dir, cleaned lexically; 0 or -1 (too long). */
int hubtest_path_abs(const char *path, char *out, size_t size);
int hubtest_mkdir_p(const char *dir); /* 0 or -1 with errno */
void hubtest_remove_tree(const char *dir);
const char *hubtest_base_name(const char *path);

/* One test, with the hub index loaded by the caller (NULL: idx_err says why it could not be). */
int hubtest_run_indexed(const struct hubtest_options *opts, const struct hubtest_index *idx,
                        const char *idx_err, const char *name, struct hubtest_result *ret);

/* Go's sort.Sort (pdqsort, not stable) over n items through less and swap. */
void hubtest_go_sort(void *ctx, size_t n, bool (*less)(void *ctx, ptrdiff_t i, ptrdiff_t j),
                     void (*swap)(void *ctx, ptrdiff_t i, ptrdiff_t j));

/* basenameShim of pkg/hubtest: rewrites a line that tests datasource_path without basename(). */
char *hubtest_basename_shim(const char *line);

#endif

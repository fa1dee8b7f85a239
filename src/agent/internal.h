/*
 * internal.h - the pieces of the agent (private to src/agent): the bounded
 * queue between stages, the replay source and the loaded items.
 */
#ifndef PHALANX_AGENT_INTERNAL_H
#define PHALANX_AGENT_INTERNAL_H

#include "agent/agent.h"
#include "bucket/bucket.h"
#include "grok/grok.h"
#include "parser/parser.h"

#include <pthread.h>

/* Formats the message of err (vsnprintf: truncation of long paths is fine). */
void agent_errorf(struct agent_error *err, const char *fmt, ...) PRINTF_LIKE(2, 3);

/* --- a bounded blocking FIFO of pointers (mutex + two condvars) --- */

struct agent_queue {
    pthread_mutex_t mu;
    pthread_cond_t not_empty, not_full;
    void **ring;
    size_t cap, head, len;
    bool closed;
    uint64_t waits; /* pushes that found the queue full */
};

int agent_queue_init(struct agent_queue *q, size_t cap);
void agent_queue_destroy(struct agent_queue *q);
/* Waits while full. 0, or -EPIPE once closed (the item is not queued). */
int agent_queue_push(struct agent_queue *q, void *item);
/* Waits while empty; NULL once closed and drained. */
void *agent_queue_pop(struct agent_queue *q);
void agent_queue_close(struct agent_queue *q);

/* --- the replay source: CrowdSec's file datasource in cat mode --- */

/* bufio.Scanner's default as the file source sets it */
#define AGENT_MAX_LINE      ((size_t)64 * 1024)
#define AGENT_MAX_LINE_HARD ((size_t)16 * 1024 * 1024)

struct agent_source;

/* Opens the files a file:// DSN names (glob, sorted). 0, or -1 with err. */
int agent_source_open(const char *dsn, struct agent_source **ret, struct agent_error *err);
void agent_source_free(struct agent_source *s);
/*
 * The next non-empty line (without its \n or \r\n), valid until the next call,
 * and the file it came from. 1, 0 at the end, -1 on a read error with err.
 */
int agent_source_next(struct agent_source *s, const char **ret_line, size_t *ret_len,
                      const char **ret_file, struct agent_error *err);
/* Lines dropped for being longer than max_buffer_size. */
uint64_t agent_source_too_long(const struct agent_source *s);

/* --- the alert context (alertcontext.c): CrowdSec's contexts items + console_context_path --- */

#define AGENT_CONTEXT_MAX_VALUE_LEN 4000 /* alertcontext.MaxContextValueLen */

struct agent_context;

/* An empty context whose values are cut to value_len bytes (0 or over 4000 = 4000). NULL on OOM. */
struct agent_context *agent_context_new(size_t value_len);
void agent_context_free(struct agent_context *c);
/*
 * Merges the {key: [expr...]} map of path into c: under `context:` for an
 * item (other keys are its metadata), at the top for the console file. Each
 * new expression is compiled; a bad one is an error naming path:line. 0, or
 * -1 with err; -ENOENT (err filled) when path does not exist.
 */
int agent_context_add_file(struct agent_context *c, const char *path, bool item,
                           struct agent_error *err);
/*
 * LoadConsoleContext + NewAlertContext: every config_dir/contexts/<name>.yaml
 * (name order), then cfg->console_context_path (must exist), or when unset
 * config_dir/console/context.yaml (may be missing). 0 with *ret owned, or -1
 * with err.
 */
int agent_context_load(const struct agent_config *cfg, struct agent_context **ret,
                       struct agent_error *err);
/* Number of keys (a key without expressions counts, and never gives a Meta item). */
size_t agent_context_count(const struct agent_context *c);
/*
 * EventToContext: evaluates every expression over every event, appending one
 * {key, JSON array} item per key with values to ret, in key order. Evaluation
 * errors skip the value and are added to *ret_errors (CrowdSec warns). vm is
 * the caller's (one per thread). 0, or -ENOMEM.
 */
struct meta_list;
struct event_list;
int agent_context_eval(const struct agent_context *c, struct expr_vm *vm,
                       const struct event_list *events, struct meta_list *ret,
                       uint64_t *ret_errors);

/* --- the datasources' transform: expressions (transform.c) --- */

struct agent_transforms;
struct acquisition;
struct acq_line;
/* Compiles the transform of every source of acq; *ret NULL when none has one. 0 or -1 with err. */
int agent_transforms_new(const struct acquisition *acq, struct agent_transforms **ret,
                         struct agent_error *err);
void agent_transforms_free(struct agent_transforms *t);
/*
 * Calls add once per line the transform of l's source makes of l (l itself when its source has
 * none, or when the transform fails). Not thread-safe. add's first non-zero return, or -ENOMEM.
 */
int agent_transform_apply(struct agent_transforms *t, const struct acq_line *l,
                          int (*add)(void *ctx, const struct acq_line *l), void *ctx);
/* Lines sent as they were because their transform failed or returned no string(s). */
uint64_t agent_transforms_errors(const struct agent_transforms *t);

/* --- the loaded items --- */

struct agent {
    struct grok_library *grok;
    struct parser_set *parsers;
    struct parser_set *postoverflows; /* NULL when none is installed */
    struct bucket_set *scenarios;
    bool has_reprocess;            /* a scenario has reprocess: true */
    struct agent_context *context; /* NULL when no key is declared */
    struct agent_config cfg;
};

#endif

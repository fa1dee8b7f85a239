/*
 * acquisition.h - the agent's live log sources (CrowdSec's pkg/acquisition):
 * acquis.yaml and the *.yaml files of acquis.d, one datasource per YAML document, each a
 * type (file, syslog, journalctl) behind one table of functions.
 *
 * Every started source runs on its own thread(s) and hands each line to the
 * caller's emit callback, which may block (back-pressure: nothing is dropped
 * while the agent is slow). acq_stop() wakes and joins every thread; after it
 * returns emit is never called again.
 */
#ifndef PHALANX_ACQUISITION_H
#define PHALANX_ACQUISITION_H

#include "common/common.h"

struct acquisition;

struct acq_error {
    char message[1024];
};

struct acq_label {
    char *key, *value;
};

/* The keys every datasource has (CrowdSec's DataSourceCommonCfg). */
struct acq_common {
    char *source; /* "file", "syslog", "journalctl" (inferred when absent, as CrowdSec) */
    char *name;   /* name: (optional) */
    char *mode;   /* "tail" (default) or "cat" */
    char *log_level;
    char *unique_id;
    char *transform; /* an expression in the transform context, or NULL */
    bool use_time_machine;
    struct acq_label *labels; /* labels: (type drives the parsers' filters) */
    size_t nlabels;
    char *file; /* where the document was read, for messages */
    int line;   /* line of the document's first key */
};

/* One line read by a source. Everything is borrowed for the duration of the call. */
struct acq_line {
    const char *line; /* without its newline; not NUL-terminated beyond len is allowed */
    size_t len;
    const char *src;    /* file path, syslog peer address, "journalctl-<filters>" (Line.Src) */
    const char *module; /* "file", "syslog", "journalctl" (Line.Module) */
    int64_t time_ns;    /* when it was read (wall clock, Line.Time) */
    const struct acq_common *common; /* labels, use_time_machine, transform of the source */
    bool truncated;                  /* the line was cut at the source's maximum length */
};

/*
 * Called from source threads, possibly from several at once: the callee
 * synchronises and copies what it keeps. Returning non-zero asks the calling
 * source to stop.
 */
typedef int (*acq_emit_fn)(void *ctx, const struct acq_line *l);

/* Counters of one source, read while it runs (relaxed atomics). */
struct acq_stats {
    uint64_t lines;     /* lines emitted */
    uint64_t truncated; /* lines longer than the maximum, emitted cut (file) or dropped (syslog) */
    uint64_t errors;    /* read errors, malformed frames */
    uint64_t reopens;   /* file: rotations/truncations followed */
};

/* Messages about unavailable sources (skipped) are passed here; may be NULL. */
typedef void (*acq_warn_fn)(void *ctx, const char *message);

/*
 * Reads acquis_path (may be NULL) and every *.yaml / *.yml of acquis_dir (may
 * be NULL or missing), in name order. A syntax error, an unknown source:, an
 * unknown or ill-typed key is an error naming file:line. 0 with *ret owned,
 * or -1 with err.
 */
int acq_load(const char *acquis_path, const char *acquis_dir, struct acquisition **ret,
             struct acq_error *err);

/*
 * The same from one acquis document held in memory (len bytes of buf);
 * name stands for the file in messages ("NAME:LINE: ..."). For tests and
 * the fuzzer.
 */
int acq_load_buffer(const char *name, const char *buf, size_t len, struct acquisition **ret,
                    struct acq_error *err);

/*
 * One source from a DSN (`-dsn file:///x?..`, `journalctl://filters=...`),
 * in cat mode with Labels["type"] = type: what `phalanxd -dsn` replays.
 */
int acq_load_dsn(const char *dsn, const char *type, struct acquisition **ret,
                 struct acq_error *err);

void acq_free(struct acquisition *a);

size_t acq_count(const struct acquisition *a);
const struct acq_common *acq_common_at(const struct acquisition *a, size_t i);
/* "file:/var/log/auth.log", "syslog:127.0.0.1:514", ... for messages. */
const char *acq_describe(const struct acquisition *a, size_t i);
void acq_stats_at(const struct acquisition *a, size_t i, struct acq_stats *ret);

/*
 * Starts every source. A source that cannot start (missing journal, port in
 * use) is reported through warn and skipped; a file that does not exist yet
 * is waited for, not an error. Zero started sources: -1 with err.
 */
int acq_start(struct acquisition *a, acq_emit_fn emit, void *emit_ctx, acq_warn_fn warn,
              void *warn_ctx, struct acq_error *err);
/* Sources still running (cat-mode sources end when their input is read). */
size_t acq_running(const struct acquisition *a);
/* Stops and joins every source; safe to call twice or before acq_start. */
void acq_stop(struct acquisition *a);

#endif

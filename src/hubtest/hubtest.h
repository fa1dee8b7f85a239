/*
 * hubtest.h - CrowdSec's `cscli hubtest run`: replay the log of a hub test
 * through the parsers it lists and grade the parser dump with its asserts.
 *
 * A test is a directory HUB/.tests/NAME/ holding config.yaml (parsers,
 * scenarios, postoverflows, log_file, log_type, labels, override_statics,
 * ignore_parsers), the log file and parser.assert / scenario.assert. For each
 * test the runner builds a temporary runtime shaped like hubtest's (parsers
 * linked per stage by file name, an `overrides` s00-raw node for
 * override_statics, a data directory), reads the log as CrowdSec's file
 * datasource does in cat mode, records every top-level node result into a
 * parser dump (results/parser-dump.yaml) and evaluates parser.assert against
 * it. When the test lists scenarios, the parsed events are poured into them
 * (src/bucket, replay clock), overflows go through the postoverflows, and
 * scenario.assert is evaluated against the sorted overflows
 * (results/bucket-dump.yaml); the test passes when both sides do.
 *
 * Tests can run on several threads at once (hubtest_run_many): each test has
 * its own parser set and worker. The process-wide expression state (clock,
 * data files, stashes) is set once by hubtest_global_init().
 */
#ifndef PHALANX_HUBTEST_H
#define PHALANX_HUBTEST_H

#include "common/common.h"
#include "common/gotime.h"

struct hubtest_options {
    const char *hub_dir;      /* the hub checkout (holds .tests/ and .index.json) */
    const char *patterns_dir; /* our base grok patterns (config/patterns) */
    const char *data_dir;     /* data files of the items; NULL = HUB/data */
    const char *geoip_dir;    /* GeoLite2-City.mmdb / GeoLite2-ASN.mmdb for tests; NULL = none */
    const char *tmp_dir;      /* where runtimes are made; NULL = $TMPDIR or /tmp */
    bool keep_runtime;        /* --no-clean: leave the runtime and its results on disk */
};

enum hubtest_status {
    HUBTEST_PASS,
    HUBTEST_FAIL,
    HUBTEST_ERROR,
    HUBTEST_NOT_RUN, /* nothing failed, but a part the test needs was not run */
};

/* The state of one side (parser or scenario asserts) of a test. */
enum hubtest_part {
    HUBTEST_PART_NONE, /* nothing to check on this side */
    HUBTEST_PART_PASS,
    HUBTEST_PART_FAIL,
    HUBTEST_PART_NOT_RUN, /* would be checked, but an error stopped the test first */
};

struct hubtest_result {
    char *name;
    enum hubtest_status status;
    enum hubtest_part parser;
    enum hubtest_part scenario;
    size_t assertions;   /* assert lines evaluated */
    char *first_failure; /* the first failing assert line, or NULL */
    char *actual;        /* the value of its left side, as Go's %v prints it, or NULL */
    char *error;         /* what stopped the test (status ERROR), or NULL */
    char *runtime_dir;   /* kept runtime (keep_runtime), or NULL */
    size_t lines;        /* log lines replayed */
};

void hubtest_result_clear(struct hubtest_result *r);
const char *hubtest_status_name(enum hubtest_status s); /* "pass", "fail", "error", "not run" */
const char *hubtest_part_name(enum hubtest_part p);     /* "pass", "fail", "not run", "none" */

/*
 * Sets the process-wide state every test shares: the pinned clock (now, or
 * the wall clock when now is NULL). Call once before running tests.
 */
void hubtest_global_init(const struct gotime *now);
/* Restores the wall clock and forgets loaded data files and stashes. */
void hubtest_global_cleanup(void);

/*
 * The names of every test of the hub (directories of HUB/.tests holding a
 * config.yaml), sorted. *ret_names is a malloc'd array of malloc'd strings.
 * 0 or -errno.
 */
int hubtest_list(const char *hub_dir, char ***ret_names, size_t *ret_n);
void hubtest_names_free(char **names, size_t n);

/*
 * Runs one test. Always fills ret (status ERROR with a message for anything
 * that stops it); returns 0, or -ENOMEM when even that was impossible.
 */
int hubtest_run(const struct hubtest_options *opts, const char *name, struct hubtest_result *ret);

/* Runs names[0..n) on jobs threads; ret has n slots, in the order of names. 0 or -errno. */
int hubtest_run_many(const struct hubtest_options *opts, char *const *names, size_t n,
                     unsigned jobs, struct hubtest_result *ret);

#endif

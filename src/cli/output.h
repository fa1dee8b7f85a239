/*
 * output.h - what every `phalanx` command shares: the global flags (-c, -o,
 * --color), result tables printed as cscli prints them (-o human: a table
 * that fits 80 columns, colour only on a TTY; -o raw: CSV with a header;
 * -o json is written by each command, since its shape is cscli's), errors
 * and a progress bar shown only on a TTY.
 */
#ifndef PHALANX_CLI_OUTPUT_H
#define PHALANX_CLI_OUTPUT_H

#include "common/common.h"

#include <stdio.h>

#define CLI_DEFAULT_CONFIG "/etc/phalanx/config.yaml"

enum cli_format { CLI_OUT_HUMAN, CLI_OUT_JSON, CLI_OUT_RAW };

struct cli_globals {
    const char *config;   /* -c/--config, default CLI_DEFAULT_CONFIG or $PHALANX_CONFIG */
    enum cli_format format; /* -o/--output human|json|raw */
    bool color;           /* stdout is a TTY, NO_COLOR unset, --color not "no" */
    bool debug;           /* --debug */
};

/* Defaults from the environment ($PHALANX_CONFIG, isatty(stdout)). */
void cli_globals_init(struct cli_globals *g);
/*
 * When argv[*i] is a global flag (-c X, --config X, -o X, --output X,
 * --color yes|no|auto, --debug, --info, --warning, --error), consumes it
 * (and its value) advancing *i, and returns 1; 0 when it is not one; -1 after
 * printing an error for a bad value.
 */
int cli_globals_take(struct cli_globals *g, int argc, char **argv, int *i);

/* A table of string cells (copied). */
struct cli_table;
struct cli_table *cli_table_new(const char *const *headers, size_t ncols);
/* Adds one row of ncols cells; NULL cells print empty. 0 or -ENOMEM. */
int cli_table_add(struct cli_table *t, const char *const *cells);
size_t cli_table_rows(const struct cli_table *t);
/* human: aligned columns with a rule under the header (bold on colour); raw: RFC 4180 CSV. */
void cli_table_print(const struct cli_table *t, FILE *out, const struct cli_globals *g);
void cli_table_free(struct cli_table *t);

/* "Error: " + message + "\n" on stderr; returns 1 (the exit code) for `return cli_fail(...)`. */
int cli_fail(const char *fmt, ...) PRINTF_LIKE(1, 2);

/* A progress bar on stderr when it is a TTY; NULL (and every call a no-op) otherwise. */
struct cli_progress;
struct cli_progress *cli_progress_new(const char *label, uint64_t total);
void cli_progress_set(struct cli_progress *p, uint64_t done);
/* Clears the bar's line; NULL ok. */
void cli_progress_free(struct cli_progress *p);

#endif

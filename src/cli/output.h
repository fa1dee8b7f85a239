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
    const char *config;     /* -c/--config, default CLI_DEFAULT_CONFIG or $PHALANX_CONFIG */
    enum cli_format format; /* -o/--output human|json|raw */
    bool color;             /* stdout is a TTY, NO_COLOR unset, --color not "no" */
    bool debug;             /* --debug */
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
/*
 * The columns a terminal too narrow for the whole table may hide (human
 * output only), the first hidden first; a line under the table names them.
 * Columns empty in every row may always be hidden. 0 or -ENOMEM.
 */
int cli_table_set_hide_order(struct cli_table *t, const size_t *cols, size_t n);
/*
 * human: aligned columns with a rule under the header (bold on colour), as
 * wide as cli_output_columns(out) allows: the widest columns are narrowed and
 * their cells wrapped (at spaces when possible, as cscli wraps); raw: RFC
 * 4180 CSV.
 */
void cli_table_print(const struct cli_table *t, FILE *out, const struct cli_globals *g);
/* cli_table_print with an explicit limit on a human table's width (0: none). */
void cli_table_print_width(const struct cli_table *t, FILE *out, const struct cli_globals *g,
                           size_t max_width);
/* The columns out's terminal has, else $COLUMNS, else 80 on a TTY and 0 (no limit) otherwise. */
size_t cli_output_columns(FILE *out);
void cli_table_free(struct cli_table *t);
/* Inspect rows from the last usage metrics of a machine ("LP") or bouncer ("RC"). */
struct store;
int cli_inspect_metrics_rows(struct cli_table *t, struct store *s, const char *type,
                             const char *by);

/* ns since the epoch as RFC 3339 in UTC: with nanoseconds (Go's time.Time JSON) when nano, else to
 * the second; "" for 0 or less. Returns buf. */
const char *cli_format_time(int64_t ns, bool nano, char *buf, size_t size);
/* Prints v (stolen) indented by two spaces, keys in insertion order; 0, or 1 after an error. */
struct json_t;
int cli_print_json(struct json_t *v);

/* "Error: " + message + "\n" on stderr; returns 1 (the exit code) for `return cli_fail(...)`. */
int cli_fail(const char *fmt, ...) PRINTF_LIKE(1, 2);

/* A progress bar on stderr when it is a TTY; NULL (and every call a no-op) otherwise. */
struct cli_progress;
struct cli_progress *cli_progress_new(const char *label, uint64_t total);
void cli_progress_set(struct cli_progress *p, uint64_t done);
/* Changes the total (a download's size once announced); redraws. */
void cli_progress_set_total(struct cli_progress *p, uint64_t total);
/* Prints one line on stderr above the bar (which is redrawn); without a bar, just the line. */
void cli_progress_print(struct cli_progress *p, const char *line);
/* Clears the bar's line; NULL ok. */
void cli_progress_free(struct cli_progress *p);

/* --- flags of a subcommand (cobra's spellings: -x V, -xV, --long V, --long=V) --- */

enum cli_flag_kind { CLI_FLAG_STRING, CLI_FLAG_BOOL, CLI_FLAG_INT };

struct cli_flag {
    const char *shortf; /* "-i", or NULL */
    const char *longf;  /* "--ip" */
    enum cli_flag_kind kind;
    void *dst; /* const char ** (borrowed from argv), bool *, or long * */
};

#define CLI_FLAGS_HELP 2
/*
 * Parses argv[first..argc): the global flags (cli_globals_take), then flags,
 * the rest are positional arguments (at most max_pos, their pointers written
 * to pos[]). Returns 0, CLI_FLAGS_HELP for -h/--help, or 1 after printing an
 * error ("unknown flag", a bad number, too many arguments) naming usage_cmd
 * ("phalanx decisions list") so the user knows where to look.
 */
int cli_flags_parse(struct cli_globals *g, const struct cli_flag *flags, size_t nflags, int argc,
                    char **argv, int first, const char **pos, size_t max_pos, size_t *ret_npos,
                    const char *usage_cmd);

/* Appends "key=value" (both URL-encoded, '&' between pairs) to a query string. 0 or -ENOMEM. */
struct str;
int cli_query_add(struct str *q, const char *key, const char *value);

/*
 * Go's json.Indent(prefix "", indent): the layout of json.MarshalIndent,
 * applied to compact JSON text (model_json_dumps). malloc'd, NULL on OOM.
 */
char *cli_json_indent(const char *compact, const char *indent);

/* A configuration file's bytes (at most 1 MiB read), malloc'd with a NUL; NULL with errno set. */
char *cli_read_small_file(const char *path, size_t *ret_len);

/* api.client.{credentials_path (malloc'd), insecure_skip_verify} of config.yaml; 0 or 1 (printed).
 */
int cli_client_settings(const char *config, char **ret_path, bool *ret_insecure);

/*
 * A client of the Local API with the machine's credentials, as cscli's
 * commands do: config.yaml (g->config) api.client.credentials_path, then
 * that local_api_credentials.yaml. Prints the error (saying what to fix) and
 * returns 1, or 0 with *ret (apiclient_free) and, when ret_login is not NULL,
 * the machine login in *ret_login (free).
 */
struct apiclient;
int cli_lapi_connect(const struct cli_globals *g, struct apiclient **ret, char **ret_login);

/*
 * One request through c; the answer when its status is 2xx goes to *ret_body
 * (malloc'd, may be NULL). Anything else prints "Error: <what>: <LAPI message>"
 * and returns 1; 0 on success.
 */
int cli_lapi_call(struct apiclient *c, const char *what, const char *method, const char *path_query,
                  const char *body, size_t body_len, char **ret_body);

/* --- alerts and decisions, shared by `decisions` and `alerts` --- */

struct alert;
struct source;
/* types.NormalizeScope: "ip" -> "Ip", "range" -> "Range", "as" -> "AS", "country" -> "Country". */
const char *cli_normalize_scope(const char *scope);
/* clialert.SanitizeScope: checks -i IP / -r CIDR (NULL ok), normalizes *scope. 0 or 1 (printed). */
int cli_sanitize_scope(const char **scope, const char *ip, const char *range);
/* The LAPI's GET /v1/alerts answer ("null" or an array) as models. 0 or 1 (printed). */
int cli_alerts_parse(const char *body, struct alert **ret, size_t *ret_n);
void cli_alerts_free(struct alert *v, size_t n);
/* json.MarshalIndent(alerts, "", indent) on stdout ("[]" for none), then a newline if asked. */
int cli_alerts_print_json(const struct alert *v, size_t n, const char *indent, bool newline);
/* models.Source.GetAsNumberName: "<number> <name>" without a "0" number. */
void cli_as_number_name(const struct source *s, char *buf, size_t size);

#endif

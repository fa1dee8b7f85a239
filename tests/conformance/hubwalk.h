/*
 * hubwalk.h - finds every expression of a CrowdSec hub checkout, with its
 * file, line and the context CrowdSec compiles it in.
 *
 * The walker knows the hub layout (hub-tests.md §1, §4, §5, §7): parser and
 * postoverflow nodes (filter, statics, grok, whitelist, stash, nested nodes),
 * scenarios (filter, groupby, distinct, scope, cancel_on, condition,
 * bayesian conditions, overflow_filter), alert contexts, the hubtest profile
 * template and every line of the hubtest assert files. It does not compile
 * anything: the conformance test and the fuzz corpus generator do that.
 */
#ifndef PHALANX_TESTS_HUBWALK_H
#define PHALANX_TESTS_HUBWALK_H

#include "common/common.h"

/* Where an expression sits; each one maps to one exprenv context. */
enum hubwalk_category {
    HUBWALK_PARSER_FILTER,
    HUBWALK_PARSER_STATICS,
    HUBWALK_GROK_EXPRESSION,
    HUBWALK_WHITELIST,
    HUBWALK_STASH,
    HUBWALK_SCENARIO_FILTER,
    HUBWALK_GROUPBY,
    HUBWALK_DISTINCT,
    HUBWALK_SCOPE,
    HUBWALK_CANCEL_ON,
    HUBWALK_CONDITION,
    HUBWALK_BAYESIAN_CONDITION,
    HUBWALK_OVERFLOW_FILTER,
    HUBWALK_CONTEXT,
    HUBWALK_PROFILE_FILTER,
    HUBWALK_PROFILE_DURATION,
    HUBWALK_PARSER_ASSERT,
    HUBWALK_SCENARIO_ASSERT,
    HUBWALK_NCATEGORIES,
};

/* One expression found in a file. src is NUL-terminated and owned by the list. */
struct hubwalk_expr {
    enum hubwalk_category cat;
    int line;   /* 1-based line of the scalar (or assert line) in the file */
    char *src;  /* the text to compile (assert lines after the basename shim) */
    char *orig; /* the text as written when the shim rewrote it, else NULL */
    size_t len;
};

struct hubwalk_list {
    struct hubwalk_expr *items;
    size_t len;
    size_t cap;
};

/* The kind of hub file, which decides which keys hold expressions. */
enum hubwalk_kind {
    HUBWALK_KIND_PARSER, /* parsers/ and postoverflows/ */
    HUBWALK_KIND_SCENARIO,
    HUBWALK_KIND_CONTEXT,
    HUBWALK_KIND_PROFILE,
    HUBWALK_KIND_PARSER_ASSERT,
    HUBWALK_KIND_SCENARIO_ASSERT,
};

/* A file to walk: its path relative to the hub root, and its kind. */
struct hubwalk_file {
    char *rel;
    enum hubwalk_kind kind;
};

struct hubwalk_files {
    struct hubwalk_file *items;
    size_t len;
    size_t cap;
};

const char *hubwalk_category_name(enum hubwalk_category cat);

/*
 * Lists the files of the hub at root that hold expressions, in a stable
 * (sorted) order: items first, then the .tests assert files. Returns 0 or a
 * negative errno (-ENOENT when root has no parsers/ directory).
 */
int hubwalk_list_files(const char *root, struct hubwalk_files *ret_files);
void hubwalk_files_free(struct hubwalk_files *files);

/*
 * Appends the expressions of one file to out. Returns 0, or -1 with a
 * message in err (unreadable file, YAML syntax error, an expression key whose
 * value has an unexpected shape).
 */
int hubwalk_file_exprs(const char *root, const struct hubwalk_file *file, struct hubwalk_list *out,
                       char *err, size_t errsize);
void hubwalk_list_clear(struct hubwalk_list *list);
void hubwalk_list_free(struct hubwalk_list *list);

/*
 * hubtest's back-compat shim (pkg/hubtest basenameShim): a line that mentions
 * datasource_path without calling basename( is split on "==" and becomes
 * "basename(<part 0>) == <part 1>". Returns a malloc'd rewrite, or NULL when
 * the line is left alone (or on OOM: then *oom is set).
 */
char *hubwalk_basename_shim(const char *line, bool *oom);

#endif

/*
 * grok.h - grok patterns on PCRE2, as CrowdSec's grokky does them.
 *
 * A library maps pattern names to regex text: our own base set
 * (config/patterns/), every file of a pattern directory, and each parser's
 * pattern_syntax, in one namespace where the first definition wins.
 * grok_compile() expands %{NAME} / %{NAME:field} recursively into one PCRE2
 * pattern with uniquely named groups, compiled with JIT and RE2-like flags.
 * Only %{X:field} names become fields; an outer name shadows an inner one; a
 * pattern with no field never counts as a match. Every match runs under a
 * match limit and a depth limit, so a hostile line cannot stall the pipeline.
 */
#ifndef PHALANX_GROK_H
#define PHALANX_GROK_H

#include "common/common.h"
#include "common/str.h"

struct grok_library;
struct grok_pattern;

struct grok_error {
    char file[256]; /* "" when not from a file */
    int line;       /* 0 when unknown */
    char message[256];
};

struct grok_library *grok_library_new(void);
void grok_library_free(struct grok_library *lib);
/*
 * Adds one definition. A duplicate name returns -EEXIST and keeps the first
 * (callers decide: pattern files abort the rest of that file, pattern_syntax
 * warns and continues, as in CrowdSec). 0, -EEXIST, -EINVAL or -ENOMEM.
 */
int grok_library_add(struct grok_library *lib, const char *name, const char *regex);
/* Loads one pattern file (lines "NAME regex", '#' comments); 0 or -1 with err. */
int grok_library_load_file(struct grok_library *lib, const char *path, struct grok_error *err);
/* Loads every file of dir (sorted; names containing '.' skipped, as CrowdSec does); 0 or -1. */
int grok_library_load_dir(struct grok_library *lib, const char *dir, struct grok_error *err);
/* The regex text of a name, or NULL. */
const char *grok_library_get(const struct grok_library *lib, const char *name);

/*
 * Expands and compiles pattern against lib (borrowed; only read during this
 * call). NULL with err on an unknown %{NAME}, a recursion loop or a bad regex.
 */
struct grok_pattern *grok_compile(const struct grok_library *lib, const char *pattern,
                                  struct grok_error *err);
void grok_pattern_free(struct grok_pattern *p);
/* Field names of a compiled pattern, in a stable order (index = field id). */
size_t grok_field_count(const struct grok_pattern *p);
const char *grok_field_name(const struct grok_pattern *p, size_t i);
/* The fully expanded regex (for explain/debug). */
const char *grok_pattern_regex(const struct grok_pattern *p);

enum grok_result {
    GROK_MATCH = 1,    /* matched with at least one field */
    GROK_NO_MATCH = 0, /* no match, or matched with no field */
    GROK_LIMIT = -1,   /* match or depth limit hit: treat as unparsed, count it */
    GROK_ERROR = -2,   /* out of memory or internal PCRE2 error */
};

/*
 * Matches subject. On GROK_MATCH, ret_values[i] is the capture of field i
 * (pointers into subject; "" for an optional group that did not take part).
 * ret_values must have grok_field_count(p) slots. Thread-safe: per-thread
 * match data.
 */
enum grok_result grok_match(const struct grok_pattern *p, const char *subject, size_t len,
                            struct strv *ret_values);

/* Limits applied to every match (defaults: match 1,000,000, depth 10,000). */
void grok_set_limits(uint32_t match_limit, uint32_t depth_limit);

#endif

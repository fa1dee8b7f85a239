/*
 * internal.h - the compiled form of parser nodes, shared by the files of
 * src/parser (loading, evaluation, statics, whitelists, stash). Private.
 *
 * A node is compiled once at load time: expressions into programs of the
 * set's EXPRENV_PARSER environment, grok patterns against the shared grok
 * library, whitelist addresses into ip ranges, static targets into a small
 * enum. Evaluation then only reads these structs, from any number of
 * workers at once.
 */
#ifndef PHALANX_PARSER_INTERNAL_H
#define PHALANX_PARSER_INTERNAL_H

#include "common/common.h"

#include <stdatomic.h>

#include "common/ip.h"
#include "common/str.h"
#include "expr/expr.h"
#include "parser/enrich.h"
#include "parser/parser.h"

/* Where a static writes (spec section 3, runtime.go). */
enum parser_static_kind {
    PSTATIC_META,
    PSTATIC_PARSED,
    PSTATIC_ENRICHED,
    PSTATIC_TARGET,
    PSTATIC_METHOD,
};

/* The field a `target:` path names once `evt.` is stripped (SetTargetByName). */
enum parser_target {
    PTARGET_NONE, /* not a settable string: the static does nothing, as in CrowdSec */
    PTARGET_WHITELIST_REASON,
    PTARGET_STAGE,
    PTARGET_STR_TIME,
    PTARGET_STR_TIME_FORMAT,
    PTARGET_MARSHALED_TIME,
    PTARGET_META,     /* Meta.<key> */
    PTARGET_PARSED,   /* Parsed.<key> */
    PTARGET_ENRICHED, /* Enriched.<key> */
    PTARGET_UNMARSHALED,
    PTARGET_LINE_RAW,
    PTARGET_LINE_SRC,
    PTARGET_LINE_MODULE,
    PTARGET_LINE_LABELS,
    PTARGET_OVERFLOW_MAPKEY,
    PTARGET_OVERFLOW_BUCKET_ID,
    PTARGET_SOURCE_SCOPE, /* Overflow.Alert.Source.<field> */
    PTARGET_SOURCE_VALUE,
    PTARGET_SOURCE_IP,
    PTARGET_SOURCE_RANGE,
    PTARGET_SOURCE_AS_NAME,
    PTARGET_SOURCE_AS_NUMBER,
    PTARGET_SOURCE_CN,
};

struct parser_static {
    int kind;    /* enum parser_static_kind */
    int target;  /* enum parser_target when kind == PSTATIC_TARGET */
    char *key;   /* map key (meta/parsed/enriched or the target's map key) */
    char *value; /* `value:` (wins over expression), NULL when absent */
    size_t value_len;
    struct expr_program *expr; /* `expression:`, NULL when absent */
    enrich_fn method;
    bool parse_date; /* method ParseDate runs even on an empty value */
};

struct parser_grok {
    struct grok_pattern *pattern;
    char *apply_on;                  /* Parsed key, or NULL */
    bool apply_on_raw;               /* apply_on: Line.Raw */
    struct expr_program *expression; /* when the subject is an expression */
    struct parser_static *statics;   /* run only on a match */
    size_t nstatics;
};

struct parser_stash {
    char *name;
    struct expr_program *key, *value;
    int64_t ttl_ns;
};

struct parser_whitelist {
    char *reason;
    struct ip_addr *ips;
    size_t nips;
    struct ip_range *cidrs;
    size_t ncidrs;
    struct expr_program **exprs;
    size_t nexprs;
};

struct parser_node {
    char *name;
    size_t stage; /* index into the set's stages (top-level nodes) */
    bool next_stage;
    struct expr_program *filter;
    struct parser_whitelist wl;
    bool has_grok;
    struct parser_grok grok;
    struct parser_stash *stashes;
    size_t nstashes;
    struct parser_static *statics;
    size_t nstatics;
    struct parser_node *children;
    size_t nchildren;
};

struct parser_counters {
    _Atomic uint64_t lines, parsed, unparsed, grok_limit_hits, expr_errors;
};

struct parser_set {
    struct expr_env *env;
    struct enrich_ctx *enrich;
    bool postoverflow;
    struct parser_node *nodes; /* top-level nodes in load order */
    size_t nnodes, cap;
    char **stages; /* sorted unique names */
    size_t nstages;
    size_t max_fields;                /* largest grok field count, for the worker's scratch */
    struct parser_counters *counters; /* shared by every worker (heap, so the set stays const) */
};

struct parser_worker {
    const struct parser_set *ps;
    struct expr_vm *vm;
    struct strv *fields; /* grok captures, max_fields slots */
    struct expr_value *vars;
    size_t nvars;
    struct str scratch; /* stash values while the key is evaluated */
};

/* Load context, one per parser_set_load call. */
struct parser_loader {
    struct parser_set *ps;
    struct grok_library *grok;
    const char *data_dir;
    const char *file;
    struct parser_error *err;
    bool compile; /* false: only validate keys and types (documents CrowdSec skips) */
};

/* Fills err (file from the loader, line, printf-style message); returns -1. */
int parser_load_fail(struct parser_loader *ld, int line, const char *fmt, ...) PRINTF_LIKE(3, 4);

/* --- node evaluation (node.c) --- */
/* 1 = success, 0 = failure, -1 = error that stops the parse (unexpected static type), -ENOMEM. */
int parser_node_process(const struct parser_set *ps, struct parser_worker *w,
                        const struct parser_node *n, struct event *evt);
void parser_node_clear(struct parser_node *n);

/* --- statics (statics.c) --- */
struct ynode;
int parser_static_decode(struct parser_loader *ld, const struct ynode *y, struct parser_static *ret,
                         bool node_level);
void parser_static_clear(struct parser_static *s);
/* 0, -1 (expression result of an unexpected type: the node errors), -ENOMEM. */
int parser_statics_apply(const struct parser_set *ps, struct parser_worker *w,
                         const struct parser_static *st, size_t n, struct event *evt);
/* Go's formatting of an expression result used as a string: 0 = *ret set ("" = skip), -1 = bad
 * type. */
int parser_value_string(const struct expr_value *v, char *buf, size_t size, struct strv *ret);

/* --- whitelist (whitelist.c) --- */
int parser_whitelist_decode(struct parser_loader *ld, const struct ynode *y,
                            struct parser_whitelist *ret);
void parser_whitelist_clear(struct parser_whitelist *wl);
static inline bool
parser_whitelist_present(const struct parser_whitelist *wl)
{
    return wl->nips > 0 || wl->ncidrs > 0 || wl->nexprs > 0;
}
/* Whether the event is whitelisted by this node; sets Whitelisted/WhitelistReason. -ENOMEM. */
int parser_whitelist_check(const struct parser_set *ps, struct parser_worker *w,
                           const struct parser_whitelist *wl, struct event *evt);

/* --- stash (stash.c) --- */
int parser_stash_decode(struct parser_loader *ld, const struct ynode *y, struct parser_stash *ret);
void parser_stash_clear(struct parser_stash *s);
void parser_stash_apply(struct parser_worker *w, const struct parser_stash *s, size_t n,
                        struct event *evt);

/* --- yaml decoding helpers (load.c) --- */
/* A string field: any scalar's text, "" for null; a collection is an error. */
int parser_yaml_string(struct parser_loader *ld, const struct ynode *v, const char *key,
                       char **ret);
/* Compiles an expression of the set's environment (filters: expect bool). */
int parser_compile_expr(struct parser_loader *ld, const struct ynode *v, const char *key,
                        bool boolean, struct expr_program **ret);
/* A sequence of string scalars (a null value is empty). */
int parser_yaml_string_list(struct parser_loader *ld, const struct ynode *v, const char *key,
                            char ***ret, size_t *ret_n);
void parser_string_list_free(char **l, size_t n);

/* An integer scalar (null = 0). */
int parser_yaml_int(struct parser_loader *ld, const struct ynode *v, const char *key, int64_t *ret);
/* Checks that y is a mapping whose keys are all in allowed, each once (what names the Go type). */
int parser_yaml_check_keys(struct parser_loader *ld, const struct ynode *y, const char *what,
                           const char *const *allowed, size_t nallowed);
/* The value of key in mapping y, or NULL. */
const struct ynode *parser_yaml_get(const struct ynode *y, const char *key);
/* Decodes (and when ld->compile, compiles) one node and its children. */
int parser_node_decode(struct parser_loader *ld, const struct ynode *y, struct parser_node *n,
                       const char *parent_name);

/* Bumps a shared counter. */
#define PARSER_COUNT(ps, field)                                                                    \
    atomic_fetch_add_explicit(&(ps)->counters->field, 1, memory_order_relaxed)

#endif

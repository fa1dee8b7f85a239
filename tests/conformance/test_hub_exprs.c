/*
 * test_hub_exprs.c - every expression of the hub compiles in its context.
 *
 * Walks the hub named by $HUB (default $PHALANX_SOURCE_ROOT/../shared/hub):
 * parser/postoverflow/scenario/context items, the hubtest profile template and
 * every line of every .tests/<name>/{parser,scenario}.assert, and compiles
 * each expression with expr_compile() in the exprenv context CrowdSec uses
 * for that key (filters and asserts must be boolean). Output is TAP: one line
 * per (category, file), each failing expression printed below its line with
 * file:line and the compiler's message, then counts per category and the
 * most frequent messages. Identical expressions are compiled once per
 * context (assert lines repeat a lot).
 *
 * A hub expression that legitimately cannot compile goes into `exceptions`
 * below with its reason; an exception that starts compiling is reported too,
 * so the table cannot go stale. Without a hub the test prints a TAP skip.
 *
 * HUB_CONFORMANCE_ALL=1 prints every failing expression; by default at most
 * MAX_PRINTED per TAP line, since one engine gap can fail thousands of
 * assert lines in the same way.
 */
#include <sys/stat.h>

#include "common/hashmap.h"
#include "common/str.h"
#include "expr/expr.h"
#include "exprenv/exprenv.h"
#include "hubwalk.h"

#define MAX_PRINTED  25
#define TOP_MESSAGES 40

/* Hub expressions that cannot compile, with the reason. Keep it empty unless truly justified. */
static const struct {
    const char *file; /* relative to the hub root */
    const char *expr;
    const char *reason;
} exceptions[] = {
    { NULL, NULL, NULL }, /* end of table */
};

/* The context each category is compiled in, and whether CrowdSec uses its result as a bool. */
static const struct {
    enum exprenv_context ctx;
    bool want_bool;
} category_ctx[HUBWALK_NCATEGORIES] = {
    [HUBWALK_PARSER_FILTER] = { EXPRENV_PARSER, true },
    [HUBWALK_PARSER_STATICS] = { EXPRENV_PARSER, false },
    [HUBWALK_GROK_EXPRESSION] = { EXPRENV_PARSER, false },
    [HUBWALK_WHITELIST] = { EXPRENV_PARSER, true },
    [HUBWALK_STASH] = { EXPRENV_PARSER, false },
    [HUBWALK_SCENARIO_FILTER] = { EXPRENV_SCENARIO, true },
    [HUBWALK_GROUPBY] = { EXPRENV_SCENARIO, false },
    [HUBWALK_DISTINCT] = { EXPRENV_SCENARIO, false },
    [HUBWALK_SCOPE] = { EXPRENV_SCENARIO, false },
    [HUBWALK_CANCEL_ON] = { EXPRENV_SCENARIO, true },
    [HUBWALK_CONDITION] = { EXPRENV_CONDITION, true },
    [HUBWALK_BAYESIAN_CONDITION] = { EXPRENV_CONDITION, true },
    [HUBWALK_OVERFLOW_FILTER] = { EXPRENV_OVERFLOW_FILTER, true },
    [HUBWALK_CONTEXT] = { EXPRENV_ALERT_CONTEXT, false },
    [HUBWALK_PROFILE_FILTER] = { EXPRENV_PROFILE, true },
    [HUBWALK_PROFILE_DURATION] = { EXPRENV_PROFILE, false },
    [HUBWALK_PARSER_ASSERT] = { EXPRENV_HUBTEST_PARSER, true },
    [HUBWALK_SCENARIO_ASSERT] = { EXPRENV_HUBTEST_SCENARIO, true },
};

/* The outcome of one distinct (context, bool, source) compile. */
struct outcome {
    bool ok;
    int line, column;
    char message[]; /* "" when ok */
};

struct message_count {
    size_t count;
    char example[]; /* "file:line" of the first expression that got it */
};

struct stats {
    size_t found, compiled, failed, excepted;
};

struct run {
    const char *hub;
    struct expr_env *envs[EXPRENV_HUBTEST + 1];
    struct hashmap *cache;    /* key: ctx byte, bool byte, source -> struct outcome */
    struct hashmap *messages; /* message -> struct message_count */
    struct stats stats[HUBWALK_NCATEGORIES];
    bool exception_used[ARRAY_SIZE(exceptions)];
    bool print_all;
    int tap;       /* last TAP number */
    int failed;    /* TAP lines not ok */
    size_t errors; /* files the walker could not read */
};

static int tap_line(struct run *r, bool ok, const char *fmt, ...) PRINTF_LIKE(3, 4);

static int
tap_line(struct run *r, bool ok, const char *fmt, ...)
{
    va_list ap;

    r->tap++;
    if (!ok)
        r->failed++;
    printf("%s %d - ", ok ? "ok" : "not ok", r->tap);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    return ok ? 0 : -1;
}

/* Prints s on one TAP comment line, newlines shown as "\n". */
static void
print_oneline(const char *s)
{
    for (; *s; s++) {
        if (*s == '\n')
            fputs("\\n", stdout);
        else if (*s != '\r')
            putchar(*s);
    }
}

static const struct outcome *
compile_once(struct run *r, const struct hubwalk_expr *e, bool *ret_new)
{
    enum exprenv_context ctx = category_ctx[e->cat].ctx;
    bool want_bool = category_ctx[e->cat].want_bool;
    struct str key = STR_INIT;
    struct outcome *o = NULL;

    *ret_new = false;
    if (str_append_char(&key, (char)('A' + ctx)) < 0 ||
        str_append_char(&key, want_bool ? 'b' : 'a') < 0 || str_append(&key, e->src, e->len) < 0)
        goto out;
    o = hashmap_get(r->cache, key.buf, key.len);
    if (o != NULL)
        goto out;
    if (r->envs[ctx] == NULL) {
        r->envs[ctx] = exprenv_new(ctx);
        if (r->envs[ctx] == NULL)
            goto out;
    }
    struct expr_error err = { 0 };
    struct expr_program *p = expr_compile(r->envs[ctx], e->src, e->len,
                                          want_bool ? EXPR_T(EXPR_BOOL) : EXPR_T_ANY, &err);
    size_t msglen = p ? 0 : strnlen(err.message, sizeof(err.message));
    o = malloc(sizeof(*o) + msglen + 1);
    if (o == NULL) {
        expr_program_free(p);
        goto out;
    }
    o->ok = p != NULL;
    o->line = err.line;
    o->column = err.column;
    memcpy(o->message, err.message, msglen);
    o->message[msglen] = '\0';
    expr_program_free(p);
    if (hashmap_put(r->cache, key.buf, key.len, o) < 0) {
        free(o);
        o = NULL;
        goto out;
    }
    *ret_new = true;
out:
    str_free(&key);
    return o;
}

/* The exception entry for (file, expression), or -1. */
static int
find_exception(const char *rel, const struct hubwalk_expr *e)
{
    for (size_t i = 0; exceptions[i].file != NULL; i++) {
        const char *src = e->orig ? e->orig : e->src;
        if (strcmp(exceptions[i].file, rel) == 0 && strcmp(exceptions[i].expr, src) == 0)
            return (int)i;
    }
    return -1;
}

static void
count_message(struct run *r, const char *msg, const char *rel, int line)
{
    size_t n = strlen(msg);
    struct message_count *mc = hashmap_get(r->messages, msg, n);

    if (mc != NULL) {
        mc->count++;
        return;
    }
    char where[1024];
    int w = snprintf(where, sizeof(where), "%s:%d", rel, line);
    if (w < 0)
        return;
    mc = malloc(sizeof(*mc) + (size_t)w + 1);
    if (mc == NULL)
        return;
    mc->count = 1;
    memcpy(mc->example, where, (size_t)w + 1);
    if (hashmap_put(r->messages, msg, n, mc) < 0)
        free(mc);
}

/* What happened to one expression of a group, kept until the group's TAP line is out. */
enum verdict { VERDICT_OK, VERDICT_FAILED, VERDICT_EXCEPTED, VERDICT_STALE_EXCEPTION };

static void
print_failure(const char *rel, const struct hubwalk_expr *e, const struct outcome *o,
              enum verdict v, int exc)
{
    if (v == VERDICT_STALE_EXCEPTION) {
        const char *reason = exceptions[exc].reason;
        printf("#   %s:%d: listed as an exception (%s) but compiles\n", rel, e->line,
               reason ? reason : "");
        return;
    }
    printf("#   %s:%d: ", rel, e->line);
    print_oneline(e->src);
    if (e->orig != NULL) {
        fputs("    (as written: ", stdout);
        print_oneline(e->orig);
        putchar(')');
    }
    printf("\n#     -> %s (at %d:%d)\n", o->message, o->line, o->column);
}

/* Compiles the expressions of one category in one file and prints its TAP line. */
static int
check_group(struct run *r, const char *rel, const struct hubwalk_list *list,
            enum hubwalk_category cat)
{
    struct stats *st = &r->stats[cat];
    size_t found = 0, failed = 0, excepted = 0, printed = 0;
    const struct outcome **outcomes = calloc(list->len, sizeof(*outcomes));
    enum verdict *verdicts = calloc(list->len, sizeof(*verdicts));
    int *excs = calloc(list->len, sizeof(*excs));
    int rc;

    if (list->len > 0 && (outcomes == NULL || verdicts == NULL || excs == NULL)) {
        rc = tap_line(r, false, "%s %s: out of memory", hubwalk_category_name(cat), rel);
        goto out;
    }
    for (size_t i = 0; i < list->len; i++) {
        const struct hubwalk_expr *e = &list->items[i];
        if (e->cat != cat)
            continue;
        found++;
        bool fresh;
        const struct outcome *o = compile_once(r, e, &fresh);
        if (o == NULL) {
            rc = tap_line(r, false, "%s %s: out of memory, or exprenv_new(%s) failed",
                          hubwalk_category_name(cat), rel,
                          exprenv_context_name(category_ctx[cat].ctx));
            goto out;
        }
        outcomes[i] = o;
        if (fresh)
            st->compiled++;
        int exc = find_exception(rel, e);
        excs[i] = exc;
        if (exc >= 0) {
            r->exception_used[exc] = true;
            /* An exception that compiles is stale: fail so the table gets cleaned. */
            verdicts[i] = o->ok ? VERDICT_STALE_EXCEPTION : VERDICT_EXCEPTED;
        } else {
            verdicts[i] = o->ok ? VERDICT_OK : VERDICT_FAILED;
        }
        if (verdicts[i] == VERDICT_EXCEPTED)
            excepted++;
        else if (verdicts[i] != VERDICT_OK)
            failed++;
        if (verdicts[i] == VERDICT_FAILED)
            count_message(r, o->message, rel, e->line);
    }
    st->found += found;
    st->failed += failed;
    st->excepted += excepted;
    if (failed)
        rc = tap_line(r, false, "%s %s: %zu of %zu failed", hubwalk_category_name(cat), rel, failed,
                      found);
    else
        rc = tap_line(r, true, "%s %s (%zu%s)", hubwalk_category_name(cat), rel, found,
                      excepted ? ", with listed exceptions" : "");
    for (size_t i = 0; i < list->len; i++) {
        if (outcomes[i] == NULL || verdicts[i] == VERDICT_OK || verdicts[i] == VERDICT_EXCEPTED)
            continue;
        if (!r->print_all && printed == MAX_PRINTED) {
            printf("#   ... %zu more (HUB_CONFORMANCE_ALL=1 prints them all)\n", failed - printed);
            break;
        }
        printed++;
        print_failure(rel, &list->items[i], outcomes[i], verdicts[i], excs[i]);
    }
out:
    free(outcomes);
    free(verdicts);
    free(excs);
    return rc;
}

static int
check_file(struct run *r, const struct hubwalk_file *f, struct hubwalk_list *list)
{
    char err[512];

    hubwalk_list_clear(list);
    if (hubwalk_file_exprs(r->hub, f, list, err, sizeof(err)) < 0) {
        r->errors++;
        return tap_line(r, false, "read %s: %s", f->rel, err);
    }
    int rc = 0;
    for (int cat = 0; cat < HUBWALK_NCATEGORIES; cat++) {
        bool present = false;
        for (size_t i = 0; i < list->len && !present; i++)
            present = list->items[i].cat == (enum hubwalk_category)cat;
        if (present && check_group(r, f->rel, list, (enum hubwalk_category)cat) < 0)
            rc = -1;
    }
    return rc;
}

struct message_pair {
    const char *msg;
    size_t msglen;
    const struct message_count *mc;
};

static int
cmp_messages(const void *a, const void *b)
{
    const struct message_pair *x = a, *y = b;

    if (x->mc->count != y->mc->count)
        return x->mc->count < y->mc->count ? 1 : -1;
    return strcmp(x->mc->example, y->mc->example);
}

/* Prints the most frequent compiler messages: each is usually one engine gap. */
static void
print_top_messages(struct run *r)
{
    size_t n = hashmap_len(r->messages), i = 0, iter = 0;
    const void *key;
    size_t keylen;
    void *val;

    if (n == 0)
        return;
    struct message_pair *pairs = calloc(n, sizeof(*pairs));
    if (pairs == NULL)
        return;
    while (i < n && hashmap_next(r->messages, &iter, &key, &keylen, &val))
        pairs[i++] = (struct message_pair){ .msg = key, .msglen = keylen, .mc = val };
    qsort(pairs, i, sizeof(*pairs), cmp_messages);
    printf("# %zu distinct compiler messages; the most frequent:\n", n);
    for (size_t k = 0; k < i && k < TOP_MESSAGES; k++)
        printf("#   %6zu x %.*s  (first: %s)\n", pairs[k].mc->count, (int)MIN(pairs[k].msglen, 200),
               pairs[k].msg, pairs[k].mc->example);
    free(pairs);
}

static void
print_summary(struct run *r)
{
    struct stats items = { 0 };

    printf("# category                          found  compiled  failed  excepted\n");
    for (int c = 0; c < HUBWALK_NCATEGORIES; c++) {
        const struct stats *s = &r->stats[c];
        printf("# %-32s %6zu  %8zu  %6zu  %8zu\n", hubwalk_category_name((enum hubwalk_category)c),
               s->found, s->compiled, s->failed, s->excepted);
        if (c < HUBWALK_PARSER_ASSERT) {
            items.found += s->found;
            items.compiled += s->compiled;
            items.failed += s->failed;
        }
    }
    printf("# item expressions: %zu found, %zu failed; assert lines: %zu + %zu\n", items.found,
           items.failed, r->stats[HUBWALK_PARSER_ASSERT].found,
           r->stats[HUBWALK_SCENARIO_ASSERT].found);
}

static void
free_outcome(void *p)
{
    free(p);
}

/*
 * The hub directory: $HUB, else $PHALANX_SOURCE_ROOT/../shared/hub. A relative
 * $HUB that does not exist from the current directory is taken relative to
 * the source root: `make test HUB=../shared/hub` means the source tree's
 * sibling, while meson runs the test from the build directory.
 */
static int
hub_path(char *buf, size_t size)
{
    const char *hub = getenv("HUB");
    const char *root = getenv("PHALANX_SOURCE_ROOT");
    struct stat st;

    if (hub != NULL && *hub != '\0') {
        if (hub[0] != '/' && stat(hub, &st) < 0 && root != NULL && *root != '\0')
            return snprintf(buf, size, "%s/%s", root, hub) < (int)size ? 0 : -1;
        return snprintf(buf, size, "%s", hub) < (int)size ? 0 : -1;
    }
    if (root != NULL && *root != '\0')
        return snprintf(buf, size, "%s/../shared/hub", root) < (int)size ? 0 : -1;
    return -1;
}

int
main(void)
{
    struct run r = { 0 };
    struct hubwalk_files files = { 0 };
    struct hubwalk_list list = { 0 };
    char hub[4096];
    int rc;

    setvbuf(stdout, NULL, _IOFBF, 1 << 16);
    if (hub_path(hub, sizeof(hub)) < 0) {
        printf("1..1\nok 1 - hub expressions # SKIP neither HUB nor PHALANX_SOURCE_ROOT is set\n");
        return 0;
    }
    rc = hubwalk_list_files(hub, &files);
    if (rc == -ENOENT) {
        printf("1..1\nok 1 - hub expressions # SKIP no hub at %s (set HUB=/path/to/hub)\n", hub);
        return 0;
    }
    if (rc < 0) {
        printf("1..1\nnot ok 1 - listing %s: %s\n", hub, strerror(-rc));
        return 1;
    }
    r.hub = hub;
    r.print_all = getenv("HUB_CONFORMANCE_ALL") != NULL;
    r.cache = hashmap_new(free_outcome);
    r.messages = hashmap_new(free_outcome);
    if (r.cache == NULL || r.messages == NULL) {
        printf("1..1\nnot ok 1 - out of memory\n");
        rc = 1;
        goto out;
    }
    printf("# hub %s: %zu files\n", hub, files.len);
    for (size_t i = 0; i < files.len; i++)
        check_file(&r, &files.items[i], &list);

    /* Sanity of the walk itself, so a broken walker cannot pass by finding nothing. */
    size_t items = 0, asserts = 0;
    for (int c = 0; c < HUBWALK_NCATEGORIES; c++)
        if (c < HUBWALK_PARSER_ASSERT)
            items += r.stats[c].found;
        else
            asserts += r.stats[c].found;
    tap_line(&r, items >= 1000, "walker found %zu item expressions (expected >= 1000)", items);
    tap_line(&r,
             r.stats[HUBWALK_PARSER_FILTER].found > 0 &&
                 r.stats[HUBWALK_SCENARIO_FILTER].found > 0 &&
                 r.stats[HUBWALK_PARSER_STATICS].found > 0,
             "walker found parser filters, scenario filters and statics");
    tap_line(&r, asserts >= 1000, "walker found %zu assert lines (expected >= 1000)", asserts);
    for (size_t i = 0; exceptions[i].file != NULL; i++)
        if (!r.exception_used[i])
            tap_line(&r, false, "exception for %s `%s` matches no expression", exceptions[i].file,
                     exceptions[i].expr);
    print_summary(&r);
    print_top_messages(&r);
    printf("1..%d\n", r.tap);
    rc = r.failed ? 1 : 0;
out:
    for (size_t i = 0; i < ARRAY_SIZE(r.envs); i++)
        expr_env_free(r.envs[i]);
    hashmap_free(r.cache);
    hashmap_free(r.messages);
    hubwalk_list_free(&list);
    hubwalk_files_free(&files);
    return rc;
}

/*
 * parser.c - a parser set: loading files into top-level nodes grouped by
 * stage (unix_parser.go, stage.go), per-thread workers, and Parse() over the
 * stages (runtime.go).
 *
 * Files are taken in path order; each YAML document is a top-level node,
 * skipped when it has no name, description or author, or a format outside
 * [1.0, 3.0]. Stages are the sorted names of the stages that got a node.
 */
#include "common/common.h"

#include <sys/stat.h>

#include "config/config.h"
#include "exprenv/exprenv.h"
#include "parser/internal.h"

#define PARSER_FILE_MAX (64u << 20) /* a parser file above this is refused */

static int
add_stage(struct parser_set *ps, const char *name, size_t *ret)
{
    for (size_t i = 0; i < ps->nstages; i++)
        if (strcmp(ps->stages[i], name) == 0) {
            *ret = i;
            return 0;
        }
    char **st = realloc(ps->stages, (ps->nstages + 1) * sizeof(*st));
    if (st == NULL)
        return -ENOMEM;
    ps->stages = st;
    if ((st[ps->nstages] = strdup(name)) == NULL)
        return -ENOMEM;
    *ret = ps->nstages++;
    return 0;
}

/*
 * hashicorp/go-version against ">= 1.0, <= 3.0": an optional "v", numeric
 * segments, optional -prerelease/+metadata (a prerelease never satisfies a
 * constraint without one). 1 = satisfied, 0 = not, -1 = unparsable.
 */
static int
format_ok(const char *s)
{
    long seg[3] = { 0, 0, 0 };
    size_t n = 0;
    const char *p = s;
    char *end;

    if (*p == 'v')
        p++;
    for (;;) {
        if (*p < '0' || *p > '9')
            return -1;
        errno = 0;
        long x = strtol(p, &end, 10);
        if (errno != 0)
            return -1;
        if (n < 3)
            seg[n] = x;
        else if (x != 0 && seg[0] == 3 && seg[1] == 0 && seg[2] == 0)
            return 0;
        n++;
        p = end;
        if (*p != '.')
            break;
        p++;
    }
    if (*p == '-')
        return 0;
    if (*p != '\0' && *p != '+')
        return -1;
    long v = seg[0] * 1000000 + seg[1] * 1000 + seg[2];
    return v >= 1000000 && v <= 3000000 ? 1 : 0;
}

/* A top-level scalar of the document, "" when absent or not a string. */
static const char *
doc_string(const struct ynode *doc, const char *key)
{
    const struct ynode *v = parser_yaml_get(doc, key);
    return v != NULL && v->type == YNODE_SCALAR && !ynode_is_null(v) ? v->str : "";
}

static int
load_doc(struct parser_loader *ld, const struct ynode *doc, const char *stage)
{
    struct parser_set *ps = ld->ps;
    struct parser_node n;
    int rc;

    if (ynode_is_null(doc))
        return 0; /* an empty document: a zero node, skipped for having no name */
    ld->compile = false;
    rc = parser_node_decode(ld, doc, &n, NULL);
    parser_node_clear(&n);
    if (rc < 0)
        return rc;
    if (!doc_string(doc, "name")[0] && !doc_string(doc, "description")[0] &&
        !doc_string(doc, "author")[0])
        return 0;
    const char *format = doc_string(doc, "format");
    int ok = format_ok(format[0] ? format : "1.0");
    if (ok < 0)
        return parser_load_fail(ld, parser_yaml_get(doc, "format")->line,
                                "key \"format\": failed to check version : failed to parse "
                                "'%.40s'",
                                format);
    if (ok == 0)
        return 0;
    ld->compile = true;
    if ((rc = parser_node_decode(ld, doc, &n, NULL)) < 0) {
        parser_node_clear(&n);
        return rc;
    }
    if (ps->nnodes == ps->cap) {
        size_t ncap = ps->cap ? ps->cap * 2 : 16;
        struct parser_node *nodes = realloc(ps->nodes, ncap * sizeof(*nodes));
        if (nodes == NULL) {
            parser_node_clear(&n);
            return parser_load_fail(ld, doc->line, "out of memory");
        }
        ps->nodes = nodes;
        ps->cap = ncap;
    }
    if (add_stage(ps, stage, &n.stage) < 0) {
        parser_node_clear(&n);
        return parser_load_fail(ld, doc->line, "out of memory");
    }
    ps->nodes[ps->nnodes++] = n;
    return 0;
}

static int
load_buffer(struct parser_loader *ld, const char *buf, size_t len, const char *stage)
{
    struct ytree *t = NULL;
    char msg[256];
    int line, rc;

    rc = ytree_parse(buf, len, &t, msg, sizeof(msg), &line);
    if (rc == -ENOMEM)
        return parser_load_fail(ld, 0, "out of memory");
    if (rc < 0)
        return parser_load_fail(ld, line, "%s", msg);
    for (size_t i = 0; i < t->ndocs && rc == 0; i++)
        rc = load_doc(ld, t->docs[i], stage);
    ytree_free(t);
    return rc < 0 ? -1 : 0;
}

static bool
has_suffix(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

static int
load_file(struct parser_loader *ld, const struct parser_item *it)
{
    struct stat st;
    char *buf = NULL;
    FILE *f = NULL;
    int rc = -1;

    /* CrowdSec skips (with a warning) what is not .yaml/.yml, and directories */
    if (!has_suffix(it->path, ".yaml") && !has_suffix(it->path, ".yml"))
        return 0;
    if (stat(it->path, &st) < 0)
        return parser_load_fail(ld, 0, "failed to stat: %s", strerror(errno));
    if (S_ISDIR(st.st_mode))
        return 0;
    if (st.st_size > PARSER_FILE_MAX)
        return parser_load_fail(ld, 0, "file larger than %u bytes", PARSER_FILE_MAX);
    if ((f = fopen(it->path, "rb")) == NULL)
        return parser_load_fail(ld, 0, "can't access parsing configuration file: %s",
                                strerror(errno));
    if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
        parser_load_fail(ld, 0, "out of memory");
        goto out;
    }
    size_t len = fread(buf, 1, (size_t)st.st_size, f);
    if (ferror(f)) {
        parser_load_fail(ld, 0, "read error");
        goto out;
    }
    rc = load_buffer(ld, buf, len, it->stage);
out:
    free(buf);
    fclose(f);
    return rc;
}

void
parser_set_free(struct parser_set *ps)
{
    if (ps == NULL)
        return;
    for (size_t i = 0; i < ps->nnodes; i++)
        parser_node_clear(&ps->nodes[i]);
    free(ps->nodes);
    for (size_t i = 0; i < ps->nstages; i++)
        free(ps->stages[i]);
    free(ps->stages);
    enrich_ctx_free(ps->enrich);
    expr_env_free(ps->env);
    free(ps->counters);
    free(ps);
}

static struct parser_set *
set_new(const struct parser_options *opts, struct parser_error *err)
{
    struct parser_set *ps = calloc(1, sizeof(*ps));

    if (ps == NULL)
        goto oom;
    ps->postoverflow = opts->postoverflow;
    if ((ps->counters = calloc(1, sizeof(*ps->counters))) == NULL ||
        (ps->env = exprenv_new(EXPRENV_PARSER)) == NULL ||
        (ps->enrich = enrich_ctx_new(opts->data_dir)) == NULL)
        goto oom;
    return ps;
oom:
    parser_set_free(ps);
    snprintf(err->message, sizeof(err->message), "out of memory");
    return NULL;
}

static int
cmp_stage_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorts the stage names and renumbers the nodes' stage indexes accordingly. */
static int
finish_stages(struct parser_set *ps)
{
    char **old;

    if (ps->nstages == 0)
        return 0;
    if ((old = malloc(ps->nstages * sizeof(*old))) == NULL)
        return -ENOMEM;
    memcpy(old, ps->stages, ps->nstages * sizeof(*old));
    qsort(ps->stages, ps->nstages, sizeof(*ps->stages), cmp_stage_names);
    for (size_t i = 0; i < ps->nnodes; i++) {
        const char *name = old[ps->nodes[i].stage];
        for (size_t j = 0; j < ps->nstages; j++)
            if (ps->stages[j] == name)
                ps->nodes[i].stage = j;
    }
    free(old);
    return 0;
}

struct item_ref {
    const struct parser_item *item;
};

static int
cmp_items(const void *a, const void *b)
{
    return strcmp(((const struct item_ref *)a)->item->path,
                  ((const struct item_ref *)b)->item->path);
}

struct parser_set *
parser_set_load(const struct parser_item *items, size_t n, const struct parser_options *opts,
                struct parser_error *err)
{
    struct parser_loader ld = { .grok = opts->grok, .data_dir = opts->data_dir, .err = err };
    struct item_ref *order = NULL;
    struct parser_set *ps;

    memset(err, 0, sizeof(*err));
    if ((ps = set_new(opts, err)) == NULL)
        return NULL;
    ld.ps = ps;
    if (n > 0 && (order = calloc(n, sizeof(*order))) == NULL)
        goto oom;
    for (size_t i = 0; i < n; i++)
        order[i].item = &items[i];
    if (n > 0)
        qsort(order, n, sizeof(*order), cmp_items);
    for (size_t i = 0; i < n; i++) {
        ld.file = order[i].item->path;
        if (load_file(&ld, order[i].item) < 0)
            goto fail;
    }
    if (finish_stages(ps) < 0)
        goto oom;
    free(order);
    return ps;
oom:
    snprintf(err->message, sizeof(err->message), "out of memory");
fail:
    free(order);
    parser_set_free(ps);
    return NULL;
}

struct parser_set *
parser_set_load_buffer(const char *name, const char *stage, const char *buf, size_t len,
                       const struct parser_options *opts, struct parser_error *err)
{
    struct parser_loader ld = {
        .grok = opts->grok, .data_dir = opts->data_dir, .err = err, .file = name
    };
    struct parser_set *ps;

    memset(err, 0, sizeof(*err));
    if ((ps = set_new(opts, err)) == NULL)
        return NULL;
    ld.ps = ps;
    if (load_buffer(&ld, buf, len, stage) < 0)
        goto fail;
    if (finish_stages(ps) < 0) {
        snprintf(err->message, sizeof(err->message), "out of memory");
        goto fail;
    }
    return ps;
fail:
    parser_set_free(ps);
    return NULL;
}

size_t
parser_set_stage_count(const struct parser_set *ps)
{
    return ps->nstages;
}

const char *
parser_set_stage_name(const struct parser_set *ps, size_t i)
{
    return i < ps->nstages ? ps->stages[i] : NULL;
}

struct parser_worker *
parser_worker_new(const struct parser_set *ps)
{
    struct parser_worker *w = calloc(1, sizeof(*w));

    if (w == NULL)
        return NULL;
    w->ps = ps;
    w->nvars = exprenv_context_nvars(EXPRENV_PARSER);
    if ((w->vm = expr_vm_new()) == NULL ||
        (w->fields = calloc(ps->max_fields + 1, sizeof(*w->fields))) == NULL ||
        (w->vars = calloc(w->nvars + 1, sizeof(*w->vars))) == NULL) {
        parser_worker_free(w);
        return NULL;
    }
    return w;
}

void
parser_worker_free(struct parser_worker *w)
{
    if (w == NULL)
        return;
    expr_vm_free(w->vm);
    free(w->fields);
    free(w->vars);
    str_free(&w->scratch);
    free(w);
}

void
parser_worker_stats(const struct parser_worker *w, struct parser_stats *ret)
{
    const struct parser_counters *c = w->ps->counters;

    ret->lines = atomic_load_explicit(&c->lines, memory_order_relaxed);
    ret->parsed = atomic_load_explicit(&c->parsed, memory_order_relaxed);
    ret->unparsed = atomic_load_explicit(&c->unparsed, memory_order_relaxed);
    ret->grok_limit_hits = atomic_load_explicit(&c->grok_limit_hits, memory_order_relaxed);
    ret->expr_errors = atomic_load_explicit(&c->expr_errors, memory_order_relaxed);
}

/*
 * Runs one stage: its top-level nodes in load order until one succeeds with
 * next_stage or moves the event to another stage. 1 = some node succeeded,
 * 0 = none, <0 = error.
 */
static int
run_stage(const struct parser_set *ps, struct parser_worker *w, size_t s, struct event *evt,
          const struct parser_trace *trace)
{
    bool ok = false;

    for (size_t i = 0; i < ps->nnodes; i++) {
        const struct parser_node *n = &ps->nodes[i];
        if (n->stage != s)
            continue;
        int rc = parser_node_process(ps, w, n, evt);
        if (rc < 0)
            return rc;
        if (trace != NULL && trace->node_done != NULL)
            trace->node_done(trace->ctx, ps->stages[s], n->name, rc == 1, evt);
        if (rc == 1)
            ok = true;
        if (rc == 1 && n->next_stage)
            break;
        if (!strv_eq_cstr(evt->stage, ps->stages[s]))
            break;
    }
    return ok ? 1 : 0;
}

static ptrdiff_t
find_stage(const struct parser_set *ps, struct strv name)
{
    for (size_t i = 0; i < ps->nstages; i++)
        if (strv_eq_cstr(name, ps->stages[i]))
            return (ptrdiff_t)i;
    return -1;
}

enum parser_outcome
parser_process(const struct parser_set *ps, struct parser_worker *w, struct event *evt,
               const struct parser_trace *trace)
{
    int rc;

    PARSER_COUNT(ps, lines);
    if (evt->stage.len == 0 && ps->nstages > 0 &&
        event_set_str(evt, &evt->stage, ps->stages[0], strlen(ps->stages[0])) < 0)
        return PARSER_FAILED;
    evt->process = false;
    if (evt->time.unix_ns == 0 && evt->time.offset_s == 0)
        evt->time = expr_clock_now();
    for (size_t s = 0; s < ps->nstages; s++) {
        if (find_stage(ps, evt->stage) > (ptrdiff_t)s)
            continue;
        if (!strv_eq_cstr(evt->stage, ps->stages[s]))
            goto unparsed;
        rc = run_stage(ps, w, s, evt, trace);
        if (rc == -ENOMEM)
            return PARSER_FAILED;
        if (rc <= 0)
            goto unparsed;
    }
    evt->process = true;
    PARSER_COUNT(ps, parsed);
    return PARSER_PARSED;
unparsed:
    evt->process = false;
    PARSER_COUNT(ps, unparsed);
    return PARSER_UNPARSED;
}

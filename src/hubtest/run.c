/*
 * run.c - one hub test from config.yaml to a verdict.
 *
 * The runtime directory mirrors what pkg/hubtest builds: parsers linked into
 * runtime/parsers/<stage>/<file name> (so files load in the order crowdsec
 * loads them: by stage, then by file name; an index item does not replace a
 * file already there, a custom path does), override_statics as
 * runtime/parsers/s00-raw/00_overrides.yaml, and runtime/results/ for the
 * parser dump. The log is read like the file datasource in cat mode
 * (-dsn file://<abs test dir>/<log_file> -type <log_type> -label k:v).
 *
 * Loading goes through a lock: data files and stashes are process-wide
 * registries filled at load time, which the expression engine expects to be
 * done by one thread at a time. Replays and asserts run in parallel.
 */
#include "hubtest/internal.h"

#include "bucket/bucket.h"
#include "expr/expr.h"
#include "grok/grok.h"
#include "parser/parser.h"

#include <dirent.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#define ERRLEN 1024

static pthread_mutex_t load_lock = PTHREAD_MUTEX_INITIALIZER;

/* Everything one test needs while it runs; freed by test_ctx_clear. */
struct test_ctx {
    const struct hubtest_options *opts;
    const struct hubtest_index *index;
    char test_dir[PATH_MAX];
    char runtime[PATH_MAX];
    char data_dir[PATH_MAX];
    struct hubtest_config cfg;
    struct hubtest_strlist sources;  /* original file of each linked item, for error messages */
    struct hubtest_strlist links;    /* runtime path of each linked item */
    struct hubtest_strlist stages;   /* stage of each linked item */
    struct hubtest_strlist versions; /* index version of each linked item ("" = none) */
    struct grok_library *grok;
    struct grok_library *post_grok; /* postoverflows: crowdsec gives them their own parser host */
    struct parser_set *parsers;
    struct parser_set *post;
    struct bucket_set *scenarios;
    struct hubtest_scen *scen;
    struct parser_results results;
    char err[ERRLEN];
};

static void
test_ctx_clear(struct test_ctx *t)
{
    hubtest_scen_free(t->scen);
    bucket_set_free(t->scenarios);
    parser_set_free(t->post);
    parser_set_free(t->parsers);
    grok_library_free(t->post_grok);
    grok_library_free(t->grok);
    parser_results_clear(&t->results);
    hubtest_config_clear(&t->cfg);
    hubtest_strlist_clear(&t->sources);
    hubtest_strlist_clear(&t->links);
    hubtest_strlist_clear(&t->stages);
    hubtest_strlist_clear(&t->versions);
}

static void set_err(struct test_ctx *t, const char *fmt, ...) PRINTF_LIKE(2, 3);

/* The message of what stopped the test (vsnprintf: long paths are cut, not an error). */
static void
set_err(struct test_ctx *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->err, sizeof(t->err), fmt, ap);
    va_end(ap);
}

static int pathf(char *out, size_t size, const char *fmt, ...) PRINTF_LIKE(3, 4);

/* Formats a path; -1 when it does not fit (the caller then fails on the truncated path). */
static int
pathf(char *out, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out, size, fmt, ap);
    va_end(ap);
    return n < 0 || (size_t)n >= size ? -1 : 0;
}

/*
 * Links item into runtime/<kind>/<stage>/<file name>. An index item keeps a
 * file already there (os.Symlink fails with EEXIST, ignored by hubtest); a
 * custom one replaces it (hubtest copies over it).
 */
static int
link_item(struct test_ctx *t, const char *kind, const struct hubtest_item *it, bool replace)
{
    char dir[PATH_MAX], link[PATH_MAX];
    if (pathf(dir, sizeof(dir), "%s/%s/%s", t->runtime, kind, it->stage) < 0 ||
        pathf(link, sizeof(link), "%s/%s", dir, hubtest_base_name(it->path)) < 0) {
        set_err(t, "%s: path too long", it->path);
        return -1;
    }
    if (hubtest_mkdir_p(dir) < 0) {
        set_err(t, "%s: %s", dir, strerror(errno));
        return -1;
    }
    char target[PATH_MAX];
    if (hubtest_path_abs(it->path, target, sizeof(target)) < 0) {
        set_err(t, "%s: path too long", it->path);
        return -1;
    }
    for (size_t i = 0; i < t->links.len; i++) {
        if (strcmp(t->links.items[i], link) != 0)
            continue;
        if (!replace)
            return 0;
        if (unlink(link) != 0 || symlink(target, link) != 0) {
            set_err(t, "%s: %s", link, strerror(errno));
            return -1;
        }
        free(t->sources.items[i]);
        free(t->versions.items[i]);
        t->sources.items[i] = strdup(it->path);
        t->versions.items[i] = strdup(it->version != NULL ? it->version : "");
        return t->sources.items[i] != NULL && t->versions.items[i] != NULL ? 0 : -1;
    }
    if (symlink(target, link) != 0) {
        set_err(t, "%s: %s", link, strerror(errno));
        return -1;
    }
    if (hubtest_strlist_push(&t->links, link) < 0 ||
        hubtest_strlist_push(&t->sources, it->path) < 0 ||
        hubtest_strlist_push(&t->stages, it->stage) < 0 ||
        hubtest_strlist_push(&t->versions, it->version != NULL ? it->version : "") < 0) {
        set_err(t, "out of memory");
        return -1;
    }
    return 0;
}

/*
 * Mentions of a GeoLite2 database (`dest_file: X.mmdb`) in an item: such
 * items need the test databases the hub tests were written against. Returns
 * the first mmdb name missing from geoip_dir, or "" when all are there.
 */
static int
missing_mmdb(const char *item_path, const char *geoip_dir, char *ret, size_t retlen)
{
    ret[0] = '\0';
    FILE *f = fopen(item_path, "r");
    if (f == NULL)
        return 0;
    char line[4096];
    unsigned guard = 0;
    while (fgets(line, sizeof(line), f) != NULL && guard++ < 100000) {
        char *p = strstr(line, "dest_file:");
        if (p == NULL)
            continue;
        p += strlen("dest_file:");
        while (*p == ' ' || *p == '\t' || *p == '"' || *p == '\'')
            p++;
        char *e = p;
        while (*e != '\0' && *e != '\n' && *e != '\r' && *e != '"' && *e != '\'' && *e != ' ')
            e++;
        *e = '\0';
        size_t n = strlen(p);
        if (n < 5 || strcmp(p + n - 5, ".mmdb") != 0)
            continue;
        char path[PATH_MAX], alias[PATH_MAX];
        struct stat st;
        bool found = geoip_dir != NULL && pathf(path, sizeof(path), "%s/%s", geoip_dir, p) == 0 &&
                     stat(path, &st) == 0;
        /* The generated test databases are named GeoLite2-Test-*.mmdb. */
        if (!found && geoip_dir != NULL && strncmp(p, "GeoLite2-", 9) == 0)
            found = pathf(alias, sizeof(alias), "%s/GeoLite2-Test-%s", geoip_dir, p + 9) == 0 &&
                    stat(alias, &st) == 0;
        if (!found) {
            snprintf(ret, retlen, "%s", p);
            break;
        }
    }
    fclose(f);
    return 0;
}

/* runtime/data: every file of the data dir plus the GeoIP test databases, linked. */
static int
make_geoip_data_dir(struct test_ctx *t)
{
    if (pathf(t->data_dir, sizeof(t->data_dir), "%s/data", t->runtime) < 0 ||
        hubtest_mkdir_p(t->data_dir) < 0) {
        set_err(t, "cannot create the runtime data dir");
        return -1;
    }
    const char *dirs[] = { t->opts->geoip_dir, NULL };
    char hubdata[PATH_MAX];
    if (t->opts->data_dir != NULL)
        pathf(hubdata, sizeof(hubdata), "%s", t->opts->data_dir);
    else
        pathf(hubdata, sizeof(hubdata), "%s/data", t->opts->hub_dir);
    dirs[1] = hubdata;
    for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
        DIR *d = opendir(dirs[i]);
        if (d == NULL)
            continue;
        struct dirent *de;
        while ((de = readdir(d)) != NULL) {
            if (de->d_name[0] == '.')
                continue;
            char src[PATH_MAX], abs[PATH_MAX], dst[PATH_MAX];
            if (pathf(src, sizeof(src), "%s/%s", dirs[i], de->d_name) < 0 ||
                hubtest_path_abs(src, abs, sizeof(abs)) < 0 ||
                pathf(dst, sizeof(dst), "%s/%s", t->data_dir, de->d_name) < 0)
                continue;
            /* GeoLite2-Test-City.mmdb serves as GeoLite2-City.mmdb, which the items name. */
            if (i == 0 && strncmp(de->d_name, "GeoLite2-Test-", 14) == 0)
                pathf(dst, sizeof(dst), "%s/GeoLite2-%s", t->data_dir, de->d_name + 14);
            /* The GeoIP dir comes first and wins over a same-named hub file. */
            if (symlink(abs, dst) != 0 && errno != EEXIST) {
                set_err(t, "%s: %s", dst, strerror(errno));
                closedir(d);
                return -1;
            }
        }
        closedir(d);
    }
    return 0;
}

static int
cmp_item(const void *a, const void *b)
{
    const struct parser_item *x = a, *y = b;
    int c = strcmp(x->stage, y->stage);
    return c != 0 ? c : strcmp(x->path, y->path);
}

/* Rewrites an error naming a runtime link so it names the hub file instead. */
static void
source_name(const struct test_ctx *t, const char *file, char *out, size_t size)
{
    for (size_t i = 0; i < t->links.len; i++) {
        if (strcmp(t->links.items[i], file) == 0) {
            snprintf(out, size, "%s", t->sources.items[i]);
            return;
        }
    }
    snprintf(out, size, "%s", file);
}

static struct parser_set *
load_kind(struct test_ctx *t, const char *kind, bool postoverflow, struct grok_library *grok)
{
    struct parser_item *items = NULL;
    size_t n = 0;
    char prefix[PATH_MAX];
    pathf(prefix, sizeof(prefix), "%s/%s/", t->runtime, kind);
    size_t plen = strlen(prefix);
    for (size_t i = 0; i < t->links.len; i++)
        n += strncmp(t->links.items[i], prefix, plen) == 0;
    char overrides[PATH_MAX] = "";
    if (!postoverflow && t->cfg.nstatics > 0)
        n++;
    if (n == 0)
        return NULL;
    items = calloc(n, sizeof(*items));
    if (items == NULL) {
        set_err(t, "out of memory");
        return NULL;
    }
    size_t k = 0;
    for (size_t i = 0; i < t->links.len; i++) {
        const char *l = t->links.items[i];
        if (strncmp(l, prefix, plen) != 0)
            continue;
        items[k].path = l;
        items[k].stage = t->stages.items[i];
        k++;
    }
    if (!postoverflow && t->cfg.nstatics > 0) {
        pathf(overrides, sizeof(overrides), "%s/parsers/s00-raw/00_overrides.yaml", t->runtime);
        items[k].path = overrides;
        items[k].stage = "s00-raw";
        k++;
    }
    qsort(items, k, sizeof(*items), cmp_item);
    struct parser_options po = {
        .data_dir = t->data_dir,
        .grok = grok,
        .postoverflow = postoverflow,
    };
    struct parser_error perr = { 0 };
    pthread_mutex_lock(&load_lock);
    struct parser_set *ps = parser_set_load(items, k, &po, &perr);
    pthread_mutex_unlock(&load_lock);
    free(items);
    if (ps == NULL) {
        char file[PATH_MAX];
        source_name(t, perr.file, file, sizeof(file));
        if (perr.line > 0)
            set_err(t, "%s:%d: %s", file, perr.line, perr.message);
        else if (file[0] != '\0')
            set_err(t, "%s: %s", file, perr.message);
        else
            set_err(t, "%s", perr.message);
    }
    return ps;
}

static int
cmp_bucket_file(const void *a, const void *b)
{
    return strcmp(((const struct bucket_file *)a)->path, ((const struct bucket_file *)b)->path);
}

/* The linked scenarios, by file name, with the index's version (data files from the data dir). */
static int
load_scenarios(struct test_ctx *t)
{
    char prefix[PATH_MAX];
    pathf(prefix, sizeof(prefix), "%s/scenarios/", t->runtime);
    size_t plen = strlen(prefix), n = 0;
    struct bucket_file *files = calloc(t->links.len + 1, sizeof(*files));
    if (files == NULL) {
        set_err(t, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < t->links.len; i++) {
        if (strncmp(t->links.items[i], prefix, plen) != 0)
            continue;
        files[n].path = t->links.items[i];
        files[n].version = t->versions.items[i][0] != '\0' ? t->versions.items[i] : NULL;
        n++;
    }
    qsort(files, n, sizeof(*files), cmp_bucket_file);
    struct bucket_options bo = { .data_dir = t->data_dir };
    struct bucket_error berr = { 0 };
    pthread_mutex_lock(&load_lock);
    t->scenarios = bucket_set_load(files, n, &bo, &berr);
    pthread_mutex_unlock(&load_lock);
    free(files);
    if (t->scenarios == NULL) {
        char file[PATH_MAX];
        source_name(t, berr.file, file, sizeof(file));
        if (berr.line > 0)
            set_err(t, "%s:%d: %s", file, berr.line, berr.message);
        else if (file[0] != '\0')
            set_err(t, "%s: %s", file, berr.message);
        else
            set_err(t, "%s", berr.message);
        return -1;
    }
    return 0;
}

/* --- the replay: parser dump entries --- */

struct trace_state {
    struct parser_results *results;
    int failed; /* out of memory while recording */
};

static void
trace_node_done(void *ctx, const char *stage, const char *node, bool success,
                const struct event *evt)
{
    struct trace_state *ts = ctx;
    if (ts->failed)
        return;
    /* Idx as StageParseCollector.Add: a node's 1-based rank of first appearance in its stage. */
    int64_t idx;
    const struct parser_stage_results *s = parser_results_stage(ts->results, stage, strlen(stage));
    const struct parser_node_results *n =
        s != NULL ? parser_stage_node(s, node, strlen(node)) : NULL;
    if (n != NULL && n->len > 0)
        idx = n->items[0].idx;
    else
        idx = (int64_t)(s != NULL ? s->len : 0) + (n == NULL ? 1 : 0);
    struct event *copy = event_clone(evt);
    if (copy == NULL) {
        ts->failed = 1;
        return;
    }
    /* The dump is a deep copy: later nodes must not change what this one saw. */
    if (copy->unmarshaled != NULL) {
        json_t *deep = json_deep_copy(copy->unmarshaled);
        json_decref(copy->unmarshaled);
        copy->unmarshaled = deep;
    }
    if (parser_results_add(ts->results, stage, node, idx, copy, success) < 0)
        ts->failed = 1;
}

static int
make_event(struct test_ctx *t, const char *src, const char *line, size_t len, struct event **ret)
{
    struct event *e = event_new(EVENT_LOG, EVENT_TIMEMACHINE, true);
    if (e == NULL)
        return -ENOMEM;
    int rc = event_set_str(e, &e->line.raw, line, len);
    rc = rc < 0 ? rc : event_set_str(e, &e->line.src, src, strlen(src));
    rc = rc < 0 ? rc : event_set_str(e, &e->line.module, "file", 4);
    for (size_t i = 0; rc == 0 && i < t->cfg.nlabels; i++)
        rc = strmap_set_cstr(&e->line.labels, &e->arena, t->cfg.labels[i].key,
                             t->cfg.labels[i].value);
    /* -type sets Labels["type"] after the -label pairs. */
    if (rc == 0)
        rc = strmap_set_cstr(&e->line.labels, &e->arena, "type",
                             t->cfg.log_type != NULL ? t->cfg.log_type : "");
    e->line.process = true;
    e->line.time = expr_clock_now();
    if (rc < 0) {
        event_free(e);
        return rc;
    }
    *ret = e;
    return 0;
}

/* Reads the log as bufio.ScanLines does and runs every non-empty line through the parsers. */
static int
replay(struct test_ctx *t, struct hubtest_result *r)
{
    char rel[PATH_MAX], src[PATH_MAX];
    if (pathf(rel, sizeof(rel), "%s/%s", t->test_dir, t->cfg.log_file) < 0 ||
        hubtest_path_abs(rel, src, sizeof(src)) < 0) {
        set_err(t, "log_file: path too long");
        return -1;
    }
    FILE *f = fopen(src, "rb");
    if (f == NULL) {
        set_err(t, "%s: %s", src, strerror(errno));
        return -1;
    }
    struct parser_worker *w = parser_worker_new(t->parsers);
    if (w == NULL) {
        fclose(f);
        set_err(t, "out of memory");
        return -1;
    }
    struct trace_state ts = { .results = &t->results };
    struct parser_trace trace = { .ctx = &ts, .node_done = trace_node_done };
    if (t->scenarios != NULL) {
        t->scen = hubtest_scen_new(t->scenarios, t->post, &trace, t->opts->keep_runtime);
        if (t->scen == NULL) {
            parser_worker_free(w);
            fclose(f);
            set_err(t, "out of memory");
            return -1;
        }
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int rc = 0;
    while ((n = getline(&line, &cap, f)) > 0) {
        size_t len = (size_t)n;
        if (line[len - 1] == '\n')
            len--;
        if (len > 0 && line[len - 1] == '\r')
            len--;
        if (len == 0)
            continue;
        struct event *e = NULL;
        if (make_event(t, src, line, len, &e) < 0) {
            rc = -1;
            break;
        }
        enum parser_outcome out = parser_process(t->parsers, w, e, &trace);
        r->lines++;
        if (out == PARSER_FAILED || ts.failed) {
            event_free(e);
            rc = -1;
            break;
        }
        /* runParse hands on only processed, non-whitelisted events. */
        if (t->scen != NULL && e->process && !e->whitelisted &&
            hubtest_scen_pour(t->scen, e, t->err, sizeof(t->err)) < 0) {
            event_free(e);
            rc = -2;
            break;
        }
        event_free(e);
    }
    if (rc == 0 && t->scen != NULL && hubtest_scen_finish(t->scen, t->err, sizeof(t->err)) < 0)
        rc = -2;
    if (rc == 0 && ts.failed)
        rc = -1;
    if (rc == -1)
        set_err(t, "out of memory while replaying the log");
    else if (ferror(f)) {
        set_err(t, "%s: read error", src);
        rc = -1;
    }
    free(line);
    parser_worker_free(w);
    fclose(f);
    return rc < 0 ? -1 : 0;
}

static bool
has_entries(const struct hubtest_strlist *l)
{
    for (size_t i = 0; i < l->len; i++) {
        if (l->items[i][0] != '\0')
            return true;
    }
    return false;
}

static int
install_items(struct test_ctx *t, const char *type, const char *kind,
              const struct hubtest_strlist *list)
{
    for (size_t i = 0; i < list->len; i++) {
        if (list->items[i][0] == '\0')
            continue;
        struct hubtest_item it;
        if (hubtest_resolve_item(t->index, t->opts->hub_dir, t->test_dir, type, list->items[i], &it,
                                 t->err, sizeof(t->err)) < 0)
            return -1;
        char mmdb[256];
        missing_mmdb(it.path, t->opts->geoip_dir, mmdb, sizeof(mmdb));
        if (mmdb[0] != '\0') {
            set_err(t, "needs GeoIP test databases (%s; see --geoip-dir)", mmdb);
            hubtest_item_clear(&it);
            return -1;
        }
        int rc = link_item(t, kind, &it, !it.from_index);
        hubtest_item_clear(&it);
        if (rc < 0)
            return -1;
    }
    return 0;
}

static bool
items_need_geoip(const struct test_ctx *t)
{
    for (size_t i = 0; i < t->sources.len; i++) {
        char mmdb[256];
        missing_mmdb(t->sources.items[i], NULL, mmdb, sizeof(mmdb));
        if (mmdb[0] != '\0')
            return true;
    }
    return false;
}

static int
set_str(char **dst, const char *s)
{
    free(*dst);
    *dst = strdup(s);
    return *dst == NULL ? -ENOMEM : 0;
}

/* Our base grok set, then the hub's pattern files (items add their pattern_syntax later). */
static int
load_patterns(struct test_ctx *t, struct grok_library *grok)
{
    struct grok_error gerr = { 0 };
    char hubpat[PATH_MAX];
    pathf(hubpat, sizeof(hubpat), "%s/patterns", t->opts->hub_dir);
    if (grok_library_load_dir(grok, t->opts->patterns_dir, &gerr) < 0 ||
        grok_library_load_dir(grok, hubpat, &gerr) < 0) {
        set_err(t, "patterns: %s%s%s", gerr.file, gerr.file[0] ? ": " : "", gerr.message);
        return -1;
    }
    return 0;
}

static int
run_test(struct test_ctx *t, const char *name, struct hubtest_result *r)
{
    const struct hubtest_options *o = t->opts;
    if (pathf(t->test_dir, sizeof(t->test_dir), "%s/.tests/%s", o->hub_dir, name) < 0) {
        set_err(t, "test path too long");
        return -1;
    }
    char path[PATH_MAX];
    pathf(path, sizeof(path), "%s/config.yaml", t->test_dir);
    if (hubtest_config_load(path, &t->cfg, t->err, sizeof(t->err)) < 0)
        return -1;
    bool check_parser = !t->cfg.ignore_parsers;
    bool has_scenarios = has_entries(&t->cfg.scenarios);
    r->parser = check_parser ? HUBTEST_PART_NOT_RUN : HUBTEST_PART_NONE;
    r->scenario = has_scenarios ? HUBTEST_PART_NOT_RUN : HUBTEST_PART_NONE;
    if (t->cfg.log_file == NULL || t->cfg.log_file[0] == '\0') {
        set_err(t, "config.yaml: no log_file");
        return -1;
    }

    /* The runtime. */
    const char *tmp = o->tmp_dir != NULL ? o->tmp_dir : getenv("TMPDIR");
    if (tmp == NULL || tmp[0] == '\0')
        tmp = "/tmp";
    if (pathf(t->runtime, sizeof(t->runtime), "%s/phalanx-hubtest-XXXXXX", tmp) < 0 ||
        mkdtemp(t->runtime) == NULL) {
        set_err(t, "cannot create a runtime dir under %s: %s", tmp, strerror(errno));
        t->runtime[0] = '\0';
        return -1;
    }
    if (install_items(t, "parsers", "parsers", &t->cfg.parsers) < 0 ||
        install_items(t, "scenarios", "scenarios", &t->cfg.scenarios) < 0 ||
        install_items(t, "postoverflows", "postoverflows", &t->cfg.postoverflows) < 0)
        return -1;
    if (t->cfg.nstatics > 0) {
        char dir[PATH_MAX];
        pathf(dir, sizeof(dir), "%s/parsers/s00-raw", t->runtime);
        pathf(path, sizeof(path), "%s/00_overrides.yaml", dir);
        if (hubtest_mkdir_p(dir) < 0 ||
            hubtest_write_overrides(path, t->cfg.statics, t->cfg.nstatics, t->err, sizeof(t->err)) <
                0)
            return -1;
    }
    pathf(path, sizeof(path), "%s/results", t->runtime);
    if (hubtest_mkdir_p(path) < 0) {
        set_err(t, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (items_need_geoip(t)) {
        if (make_geoip_data_dir(t) < 0)
            return -1;
    } else if (o->data_dir != NULL) {
        pathf(t->data_dir, sizeof(t->data_dir), "%s", o->data_dir);
    } else {
        pathf(t->data_dir, sizeof(t->data_dir), "%s/data", o->hub_dir);
    }

    /* Grok: our base set, then the hub's pattern files; parsers add their pattern_syntax. */
    t->grok = grok_library_new();
    if (t->grok == NULL) {
        set_err(t, "out of memory");
        return -1;
    }
    if (load_patterns(t, t->grok) < 0)
        return -1;

    t->parsers = load_kind(t, "parsers", false, t->grok);
    if (t->parsers == NULL) {
        if (t->err[0] == '\0')
            set_err(t, "no parser to run");
        return -1;
    }
    /* Postoverflows only see overflows; without scenarios they are loaded so a broken one shows. */
    t->post_grok = grok_library_new();
    if (t->post_grok == NULL) {
        set_err(t, "out of memory");
        return -1;
    }
    if (load_patterns(t, t->post_grok) < 0)
        return -1;
    t->err[0] = '\0';
    t->post = load_kind(t, "postoverflows", true, t->post_grok);
    if (t->post == NULL && t->err[0] != '\0')
        return -1;
    if (has_scenarios && load_scenarios(t) < 0)
        return -1;

    if (parser_results_node(&t->results, "success", "") == NULL) {
        set_err(t, "out of memory");
        return -1;
    }
    if (replay(t, r) < 0)
        return -1;
    pathf(path, sizeof(path), "%s/results/parser-dump.yaml", t->runtime);
    if (hubtest_dump_write(path, &t->results, t->err, sizeof(t->err)) < 0)
        return -1;
    if (t->scen != NULL) {
        pathf(path, sizeof(path), "%s/results", t->runtime);
        if (hubtest_scen_dump_write(t->scen, path, t->err, sizeof(t->err)) < 0)
            return -1;
    }

    if (check_parser) {
        pathf(path, sizeof(path), "%s/parser.assert", t->test_dir);
        struct stat st;
        if (stat(path, &st) != 0) {
            r->parser = HUBTEST_PART_FAIL;
            set_str(&r->first_failure, "");
            set_err(t, "no parser.assert (hubtest would generate one)");
            return 1;
        }
        int arc = hubtest_assert_parser(path, &t->results, r, t->err, sizeof(t->err));
        if (arc < 0)
            return -1;
        if (r->assertions == 0) {
            r->parser = HUBTEST_PART_FAIL;
            set_err(t, "parser.assert is empty (hubtest would generate one)");
            return 1;
        }
        r->parser = arc == 1 ? HUBTEST_PART_PASS : HUBTEST_PART_FAIL;
    }
    if (has_scenarios) {
        pathf(path, sizeof(path), "%s/scenario.assert", t->test_dir);
        struct stat st;
        if (stat(path, &st) != 0) {
            r->scenario = HUBTEST_PART_FAIL;
            set_err(t, "no scenario.assert (hubtest would generate one)");
            return 1;
        }
        size_t before = r->assertions;
        int arc =
            hubtest_assert_scenario(path, hubtest_scen_results(t->scen), r, t->err, sizeof(t->err));
        if (arc < 0)
            return -1;
        if (r->assertions == before) {
            r->scenario = HUBTEST_PART_FAIL;
            set_err(t, "scenario.assert is empty (hubtest would generate one)");
            return 1;
        }
        r->scenario = arc == 1 ? HUBTEST_PART_PASS : HUBTEST_PART_FAIL;
    }
    return 0;
}

int
hubtest_run_indexed(const struct hubtest_options *opts, const struct hubtest_index *idx,
                    const char *idx_err, const char *name, struct hubtest_result *ret)
{
    memset(ret, 0, sizeof(*ret));
    ret->name = strdup(name);
    if (ret->name == NULL)
        return -ENOMEM;
    struct test_ctx *t = calloc(1, sizeof(*t));
    if (t == NULL)
        return -ENOMEM;
    t->opts = opts;
    t->index = idx;
    int rc = idx != NULL ? run_test(t, name, ret) : -1;
    if (idx == NULL)
        set_err(t, "%s", idx_err);
    if (rc < 0) {
        ret->status = HUBTEST_ERROR;
        if (ret->parser == HUBTEST_PART_PASS)
            ret->parser = HUBTEST_PART_NOT_RUN;
        set_str(&ret->error, t->err[0] != '\0' ? t->err : "unknown error");
    } else if (ret->parser == HUBTEST_PART_FAIL || ret->scenario == HUBTEST_PART_FAIL) {
        ret->status = HUBTEST_FAIL;
        if (rc > 0)
            set_str(&ret->error, t->err);
    } else if (ret->scenario == HUBTEST_PART_NOT_RUN) {
        ret->status = HUBTEST_NOT_RUN;
    } else {
        ret->status = HUBTEST_PASS;
    }
    if (t->runtime[0] != '\0') {
        if (opts->keep_runtime)
            set_str(&ret->runtime_dir, t->runtime);
        else
            hubtest_remove_tree(t->runtime);
    }
    test_ctx_clear(t);
    free(t);
    return 0;
}

int
hubtest_run(const struct hubtest_options *opts, const char *name, struct hubtest_result *ret)
{
    char ierr[512] = "";
    struct hubtest_index *idx = hubtest_index_load(opts->hub_dir, ierr, sizeof(ierr));
    int rc = hubtest_run_indexed(opts, idx, ierr, name, ret);
    hubtest_index_free(idx);
    return rc;
}

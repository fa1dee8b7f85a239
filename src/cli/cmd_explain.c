/*
 * cmd_explain.c - `phalanx explain`: runs log lines through the parsers and
 * shows, stage by stage and node by node, what each one did, exactly as
 * `cscli explain` prints its parser dump (pkg/dumps/parser_dump.go).
 *
 * cscli runs a whole crowdsec in dump mode and diffs the YAML dump with
 * r3labs/diff; we run the parser engine in-process with a trace callback,
 * keep a copy of the event after every top-level node, and diff those copies
 * field by field in the order of Go's pipeline.Event, so that the counters
 * "(+created ~updated -deleted)" and the -v lines match cscli's. Lines are
 * shown in file order (cscli's order is that of a Go map, i.e. random).
 *
 * Parsers: cscli explains with the installed parsers; we have no installed
 * set, so --parsers names them (hub index names or files), with a default per
 * acquisition type (see explain_usage()).
 */
#include <getopt.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/str.h"
#include "expr/expr.h"
#include "grok/grok.h"
#include "hubtest/internal.h"
#include "parser/parser.h"

#define EXPLAIN_MAX_LINES      100000
#define EXPLAIN_MAX_LINE_LEN   (1u << 20)
#define EXPLAIN_WARN_LINES     100
#define EXPLAIN_MAX_PARSERS    256
#define EXPLAIN_MAX_LABELS     64
#define EXPLAIN_JSON_MAX_DEPTH 64

static void
explain_usage(FILE *out)
{
    fprintf(
        out,
        "Explain log pipeline: run log lines through the parsers and show, stage by\n"
        "stage and node by node, what each one did.\n\n"
        "Usage:\n"
        "  phalanx explain [flags]\n\n"
        "Examples:\n"
        "  phalanx explain --file ./myfile.log --type nginx\n"
        "  phalanx explain --log \"Sep 19 18:33:22 scw-d95986 sshd[24347]: pam_unix(sshd:auth): "
        "authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=1.2.3.4\" --type "
        "syslog\n"
        "  tail -n 5 myfile.log | phalanx explain --type nginx -f -\n\n"
        "Flags:\n"
        "      --crowdsec-order          (ignored; lines are shown in file order)\n"
        "      --failures                Only show failed lines\n"
        "  -f, --file string             Log file to test (- for standard input)\n"
        "  -h, --help                    help for explain\n"
        "      --hub string              Hub directory holding .index.json, parsers/ and\n"
        "                                patterns/ (default ../shared/hub)\n"
        "      --labels string           Additional labels to add to the acquisition format\n"
        "                                (key:value,key2:value2)\n"
        "  -l, --log string              Log line to test\n"
        "      --only-successful-parsers Only show successful parsers\n"
        "      --parsers string          Parsers to run (index names or YAML files, comma\n"
        "                                separated). Default: crowdsecurity/syslog-logs,\n"
        "                                crowdsecurity/dateparse-enrich and the parsers of the\n"
        "                                type: syslog -> sshd-logs; nginx -> nginx-logs,\n"
        "                                http-logs; apache2 -> apache2-logs, http-logs;\n"
        "                                any other T -> crowdsecurity/T-logs if indexed\n"
        "      --patterns string         Base grok pattern directory (default config/patterns);\n"
        "                                HUB/patterns is loaded after it\n"
        "      --data string             Data files directory (default HUB/data)\n"
        "  -t, --type string             Type of the acquisition to test\n"
        "  -v, --verbose                 Display individual changes\n");
}

/* --- collecting the trace --- */

struct explain_step {
    const char *stage; /* interned in the run's stage list */
    size_t node;       /* index in that stage's node order */
    bool success;
    struct event *evt; /* copy after the node ran (owned) */
};

struct explain_line {
    struct explain_step *steps;
    size_t nsteps, cap;
    char *raw;
    bool parsed;
    bool whitelisted;
};

/* One stage and the names of its nodes in order of first appearance (the dump's Idx). */
struct explain_stage {
    char *name;
    char **nodes;
    size_t nnodes;
};

struct explain_run {
    struct explain_stage *stages;
    size_t nstages;
    struct explain_line *cur;
    int err; /* first error of the callback (-ENOMEM) */
};

static struct explain_stage *
run_stage(struct explain_run *run, const char *name)
{
    for (size_t i = 0; i < run->nstages; i++) {
        if (strcmp(run->stages[i].name, name) == 0)
            return &run->stages[i];
    }
    struct explain_stage *s = realloc(run->stages, (run->nstages + 1) * sizeof(*s));
    if (s == NULL)
        return NULL;
    run->stages = s;
    s = &run->stages[run->nstages];
    *s = (struct explain_stage){ .name = strdup(name) };
    if (s->name == NULL)
        return NULL;
    run->nstages++;
    return s;
}

/* Index of node in stage s, added at the end when first seen; (size_t)-1 on OOM. */
static size_t
stage_node(struct explain_stage *s, const char *node)
{
    for (size_t i = 0; i < s->nnodes; i++) {
        if (strcmp(s->nodes[i], node) == 0)
            return i;
    }
    char **n = realloc(s->nodes, (s->nnodes + 1) * sizeof(*n));
    if (n == NULL)
        return (size_t)-1;
    s->nodes = n;
    if ((n[s->nnodes] = strdup(node)) == NULL)
        return (size_t)-1;
    return s->nnodes++;
}

static void
on_node_done(void *ctx, const char *stage, const char *node_name, bool success,
             const struct event *evt)
{
    struct explain_run *run = ctx;
    struct explain_line *l = run->cur;

    if (run->err != 0)
        return;
    struct explain_stage *s = run_stage(run, stage);
    size_t idx = s != NULL ? stage_node(s, node_name) : (size_t)-1;
    if (idx == (size_t)-1)
        goto oom;
    if (l->nsteps == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 8;
        struct explain_step *st = realloc(l->steps, cap * sizeof(*st));
        if (st == NULL)
            goto oom;
        l->steps = st;
        l->cap = cap;
    }
    struct event *copy = event_clone(evt);
    if (copy == NULL)
        goto oom;
    /* event_clone shares Unmarshaled; later nodes must not change what this one saw. */
    if (copy->unmarshaled != NULL) {
        json_t *deep = json_deep_copy(copy->unmarshaled);
        json_decref(copy->unmarshaled);
        copy->unmarshaled = deep;
    }
    l->steps[l->nsteps++] = (struct explain_step){ s->name, idx, success, copy };
    return;
oom:
    run->err = -ENOMEM;
}

static void
explain_line_clear(struct explain_line *l)
{
    for (size_t i = 0; i < l->nsteps; i++)
        event_free(l->steps[i].evt);
    free(l->steps);
    free(l->raw);
    *l = (struct explain_line){ 0 };
}

static void
explain_run_clear(struct explain_run *run)
{
    for (size_t i = 0; i < run->nstages; i++) {
        for (size_t j = 0; j < run->stages[i].nnodes; j++)
            free(run->stages[i].nodes[j]);
        free(run->stages[i].nodes);
        free(run->stages[i].name);
    }
    free(run->stages);
    *run = (struct explain_run){ 0 };
}

/* --- r3labs/diff over pipeline.Event, printed as parser_dump.go does --- */

struct explain_out {
    bool color;
    bool details;
    const char *sep; /* the node's tree branch, repeated in its detail lines */
    struct str details_buf;
    int created, updated, deleted;
    bool whitelisted;
    int err;
};

static const char *
col(const struct explain_out *o, int code)
{
    if (!o->color)
        return "";
    return code == 32 ? "\x1b[32m" : code == 33 ? "\x1b[33m" : code == 31 ? "\x1b[31m" : "\x1b[0m";
}

static void
out_check(struct explain_out *o, int r)
{
    if (r < 0 && o->err == 0)
        o->err = r;
}

/* change.To is printed through color.SprintFunc (fmt.Sprint); change.From with a bare %s. */
static void
change_create(struct explain_out *o, const char *path, const char *to)
{
    o->created++;
    out_check(o, str_appendf(&o->details_buf, "\t|\t\t%s create evt.%s : %s%s%s\n", o->sep, path,
                             col(o, 32), to, col(o, 0)));
}

static void
change_update(struct explain_out *o, const char *path, const char *from, const char *to)
{
    o->updated++;
    out_check(o, str_appendf(&o->details_buf, "\t|\t\t%s update evt.%s : %s -> %s%s%s\n", o->sep,
                             path, from, col(o, 33), to, col(o, 0)));
}

static void
change_delete(struct explain_out *o, const char *path)
{
    o->deleted++;
    out_check(o, str_appendf(&o->details_buf, "\t|\t\t%s delete evt.%s%s%s\n", o->sep, col(o, 31),
                             path, col(o, 0)));
}

static void
diff_string(struct explain_out *o, const char *path, struct strv a, struct strv b)
{
    /* Event strings are NUL-terminated in their arena (or empty with a NULL pointer). */
    if (!strv_eq(a, b))
        change_update(o, path, a.len ? a.ptr : "", b.len ? b.ptr : "");
}

static void
diff_int(struct explain_out *o, const char *path, int a, int b)
{
    if (a == b)
        return;
    char from[48], to[24];
    snprintf(from, sizeof(from), "%%!s(int=%d)", a);
    snprintf(to, sizeof(to), "%d", b);
    change_update(o, path, from, to);
}

static void
diff_bool(struct explain_out *o, const char *path, bool a, bool b)
{
    if (a == b)
        return;
    change_update(o, path, a ? "%!s(bool=true)" : "%!s(bool=false)", b ? "true" : "false");
}

static void
format_time(struct gotime t, char *buf, size_t n)
{
    if (t.unix_ns == 0 && t.offset_s == 0)
        snprintf(buf, n, "0001-01-01 00:00:00 +0000 UTC");
    else
        gotime_format_string(t, buf, n);
}

static void
diff_time(struct explain_out *o, const char *path, struct gotime a, struct gotime b)
{
    if (a.unix_ns == b.unix_ns && a.offset_s == b.offset_s)
        return;
    char from[96], to[96];
    format_time(a, from, sizeof(from));
    format_time(b, to, sizeof(to));
    change_update(o, path, from, to);
}

/* Map entries: new keys are creates, changed values updates, missing keys deletes. */
static void
diff_map(struct explain_out *o, const char *name, const struct strmap *a, const struct strmap *b)
{
    struct str path = STR_INIT;

    for (size_t i = 0; i < strmap_len(a); i++) {
        const struct strmap_entry *e = strmap_at(a, i);
        const struct strv *v = strmap_get(b, e->key.ptr, e->key.len);
        str_clear(&path);
        out_check(o, str_appendf(&path, "%s.%s", name, e->key.ptr));
        if (path.buf == NULL)
            continue;
        if (v == NULL)
            change_delete(o, path.buf);
        else if (!strv_eq(e->value, *v))
            change_update(o, path.buf, e->value.ptr, v->ptr);
    }
    for (size_t i = 0; i < strmap_len(b); i++) {
        const struct strmap_entry *e = strmap_at(b, i);
        if (strmap_get(a, e->key.ptr, e->key.len) != NULL)
            continue;
        str_clear(&path);
        out_check(o, str_appendf(&path, "%s.%s", name, e->key.ptr));
        if (path.buf != NULL)
            change_create(o, path.buf, e->value.ptr);
    }
    str_free(&path);
}

/*
 * Go's fmt.Sprint of a value decoded from the YAML dump (maps print as
 * map[k:v] with sorted keys, slices as [a b], integral numbers as ints).
 * bare selects %s, which wraps non-strings as %!s(type=value).
 */
static void
go_sprint(struct str *b, const json_t *v, bool bare, int depth)
{
    if (depth > EXPLAIN_JSON_MAX_DEPTH) {
        str_append_cstr(b, "...");
        return;
    }
    switch (json_typeof(v)) {
    case JSON_STRING: str_append(b, json_string_value(v), json_string_length(v)); return;
    case JSON_INTEGER:
        str_appendf(b, bare ? "%%!s(int=%" JSON_INTEGER_FORMAT ")" : "%" JSON_INTEGER_FORMAT,
                    json_integer_value(v));
        return;
    case JSON_REAL: {
        double d = json_real_value(v);
        if (d == (double)(long long)d && d > -1e15 && d < 1e15)
            str_appendf(b, bare ? "%%!s(int=%lld)" : "%lld", (long long)d);
        else
            str_appendf(b, bare ? "%%!s(float64=%g)" : "%g", d);
        return;
    }
    case JSON_TRUE:
    case JSON_FALSE:
        str_appendf(b, bare ? "%%!s(bool=%s)" : "%s", json_is_true(v) ? "true" : "false");
        return;
    case JSON_NULL: str_append_cstr(b, bare ? "%!s(<nil>)" : "<nil>"); return;
    case JSON_ARRAY: {
        str_append_char(b, '[');
        for (size_t i = 0; i < json_array_size(v); i++) {
            if (i > 0)
                str_append_char(b, ' ');
            go_sprint(b, json_array_get(v, i), bare, depth + 1);
        }
        str_append_char(b, ']');
        return;
    }
    case JSON_OBJECT: {
        size_t n = json_object_size(v), k = 0;
        const char **keys = calloc(n ? n : 1, sizeof(*keys));
        const char *key;
        json_t *item;
        if (keys == NULL)
            return;
        json_object_foreach((json_t *)v, key, item) keys[k++] = key;
        for (size_t i = 1; i < k; i++) {
            for (size_t j = i; j > 0 && strcmp(keys[j - 1], keys[j]) > 0; j--) {
                const char *t = keys[j];
                keys[j] = keys[j - 1];
                keys[j - 1] = t;
            }
        }
        str_append_cstr(b, "map[");
        for (size_t i = 0; i < k; i++) {
            if (i > 0)
                str_append_char(b, ' ');
            str_appendf(b, "%s:", keys[i]);
            go_sprint(b, json_object_get(v, keys[i]), bare, depth + 1);
        }
        str_append_char(b, ']');
        free(keys);
        return;
    }
    }
}

static bool
json_same(const json_t *a, const json_t *b)
{
    if ((json_is_integer(a) || json_is_real(a)) && (json_is_integer(b) || json_is_real(b)))
        return json_number_value(a) == json_number_value(b);
    return json_equal((json_t *)a, (json_t *)b);
}

/* Unmarshaled (map[string]any): nested maps recurse, other values compare whole. */
static void
diff_json(struct explain_out *o, const char *path, const json_t *a, const json_t *b, int depth)
{
    struct str p = STR_INIT, from = STR_INIT, to = STR_INIT;
    const char *key;
    json_t *va;

    if (depth > EXPLAIN_JSON_MAX_DEPTH)
        return;
    if (json_is_object(a) && json_is_object(b)) {
        json_object_foreach((json_t *)a, key, va)
        {
            json_t *vb = json_object_get(b, key);
            str_clear(&p);
            str_appendf(&p, "%s.%s", path, key);
            if (p.buf == NULL)
                break;
            if (vb == NULL)
                change_delete(o, p.buf);
            else
                diff_json(o, p.buf, va, vb, depth + 1);
        }
        json_object_foreach((json_t *)b, key, va)
        {
            if (json_object_get(a, key) != NULL)
                continue;
            str_clear(&p);
            str_clear(&to);
            str_appendf(&p, "%s.%s", path, key);
            go_sprint(&to, va, false, 0);
            if (p.buf != NULL && to.buf != NULL)
                change_create(o, p.buf, to.buf);
        }
    } else if (!json_same(a, b)) {
        go_sprint(&from, a, true, 0);
        go_sprint(&to, b, false, 0);
        if (from.buf != NULL && to.buf != NULL)
            change_update(o, path, from.buf, to.buf);
    }
    str_free(&p);
    str_free(&from);
    str_free(&to);
}

/* The fields of pipeline.Event in declaration order (Overflow and Appsec stay empty for logs). */
static void
diff_event(struct explain_out *o, const struct event *a, const struct event *b)
{
    static json_t *empty;
    if (empty == NULL)
        empty = json_object();

    diff_int(o, "Type", a->type, b->type);
    diff_int(o, "ExpectMode", a->expect_mode, b->expect_mode);
    if (a->whitelisted != b->whitelisted) {
        diff_bool(o, "Whitelisted", a->whitelisted, b->whitelisted);
        if (b->whitelisted)
            o->whitelisted = true;
    }
    diff_string(o, "WhitelistReason", a->whitelist_reason, b->whitelist_reason);
    diff_string(o, "Stage", a->stage, b->stage);
    diff_string(o, "Line.Raw", a->line.raw, b->line.raw);
    diff_string(o, "Line.Src", a->line.src, b->line.src);
    diff_time(o, "Line.Time", a->line.time, b->line.time);
    diff_map(o, "Line.Labels", &a->line.labels, &b->line.labels);
    diff_bool(o, "Line.Process", a->line.process, b->line.process);
    diff_string(o, "Line.Module", a->line.module, b->line.module);
    diff_map(o, "Parsed", &a->parsed, &b->parsed);
    diff_map(o, "Enriched", &a->enriched, &b->enriched);
    if (empty != NULL)
        diff_json(o, "Unmarshaled", a->unmarshaled ? a->unmarshaled : empty,
                  b->unmarshaled ? b->unmarshaled : empty, 0);
    diff_time(o, "Time", a->time, b->time);
    diff_string(o, "StrTime", a->str_time, b->str_time);
    diff_string(o, "StrTimeFormat", a->str_time_format, b->str_time_format);
    diff_string(o, "MarshaledTime", a->marshaled_time, b->marshaled_time);
    diff_bool(o, "Process", a->process, b->process);
    diff_map(o, "Meta", &a->meta, &b->meta);
}

/* buildSummary of parser_dump.go. */
static void
print_summary(const struct explain_out *o)
{
    bool any = false;
    if (o->created > 0) {
        printf("%s+%d%s", col(o, 32), o->created, col(o, 0));
        any = true;
    }
    if (o->updated > 0) {
        printf("%s%s~%d%s", any ? " " : "", col(o, 33), o->updated, col(o, 0));
        any = true;
    }
    if (o->deleted > 0) {
        printf("%s%s-%d%s", any ? " " : "", col(o, 31), o->deleted, col(o, 0));
        any = true;
    }
    if (o->whitelisted) {
        printf("%s%s[whitelisted]%s", any ? " " : "", col(o, 31), col(o, 0));
        any = true;
    }
    if (!any)
        printf("%sunchanged%s", col(o, 33), col(o, 0));
}

struct explain_flags {
    bool details, skip_ok, only_ok, color;
};

static int
stage_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* displayResults of parser_dump.go for one line. */
static int
display_line(const struct explain_run *run, const struct explain_line *l,
             const struct explain_flags *fl)
{
    static struct event zero_event;
    const struct event *prev = &zero_event;
    const char *whitelist_reason = "";
    const char *stages[64];
    size_t nstages = 0;

    if (fl->skip_ok && l->parsed && !l->whitelisted)
        return 0;
    printf("line: %s\n", l->raw);
    for (size_t i = 0; i < l->nsteps && nstages < ARRAY_SIZE(stages); i++) {
        bool seen = false;
        for (size_t j = 0; j < nstages; j++)
            seen = seen || stages[j] == l->steps[i].stage;
        if (!seen)
            stages[nstages++] = l->steps[i].stage;
    }
    qsort(stages, nstages, sizeof(stages[0]), stage_cmp);
    for (size_t si = 0; si < nstages; si++) {
        const struct explain_stage *st = NULL;
        for (size_t k = 0; k < run->nstages; k++) {
            if (run->stages[k].name == stages[si])
                st = &run->stages[k];
        }
        if (st == NULL)
            continue;
        printf("\t├ %s\n", st->name);
        for (size_t ni = 0; ni < st->nnodes; ni++) {
            const char *sep = ni == st->nnodes - 1 ? "└" : "├";
            const struct explain_step *step = NULL;
            /* The dump keeps one result per node and line: the last one. */
            for (size_t i = 0; i < l->nsteps; i++) {
                if (l->steps[i].stage == st->name && l->steps[i].node == ni)
                    step = &l->steps[i];
            }
            if (step == NULL || !step->success) {
                if (!fl->only_ok)
                    printf("\t|\t%s 🔴 %s\n", sep, st->nodes[ni]);
                continue;
            }
            struct explain_out o = { .color = fl->color, .details = fl->details, .sep = sep };
            diff_event(&o, prev, step->evt);
            if (o.whitelisted && whitelist_reason[0] == '\0' && step->evt->whitelist_reason.len)
                whitelist_reason = step->evt->whitelist_reason.ptr;
            prev = step->evt;
            printf("\t|\t%s 🟢 %s (", sep, st->nodes[ni]);
            print_summary(&o);
            printf(")\n");
            if (fl->details && o.details_buf.len > 0)
                fputs(o.details_buf.buf, stdout);
            str_free(&o.details_buf);
            if (o.err != 0)
                return o.err;
        }
    }
    /* Without scenarios the only "bucket" is the OK marker of events that reached pour. */
    bool ok = l->parsed && !l->whitelisted;
    const char *sep = ok ? "├" : "└";
    if (ok)
        printf("\t%s-------- parser success 🟢\n", sep);
    else if (whitelist_reason[0] != '\0')
        printf("\t%s-------- parser success, ignored by whitelist (%s) 🟢\n", sep,
               whitelist_reason);
    else
        printf("\t%s-------- parser failure 🔴\n", sep);
    if (ok)
        printf("\t├ Scenarios\n");
    printf("\n");
    return 0;
}

/* --- loading the parsers --- */

static const char *const default_syslog[] = { "crowdsecurity/sshd-logs" };
static const char *const default_nginx[] = { "crowdsecurity/nginx-logs",
                                             "crowdsecurity/http-logs" };
static const char *const default_apache2[] = { "crowdsecurity/apache2-logs",
                                               "crowdsecurity/http-logs" };

struct explain_parsers {
    struct parser_item items[EXPLAIN_MAX_PARSERS];
    struct hubtest_item resolved[EXPLAIN_MAX_PARSERS];
    size_t n;
};

static int
add_parser(struct explain_parsers *ps, const struct hubtest_index *idx, const char *hub,
           const char *entry, bool required)
{
    char err[512];

    if (ps->n == EXPLAIN_MAX_PARSERS) {
        fprintf(stderr, "Error: more than %d parsers\n", EXPLAIN_MAX_PARSERS);
        return -1;
    }
    /* A file given by path: relative to the working directory, or absolute. */
    const char *base = entry[0] == '/' ? "" : ".";
    if (hubtest_resolve_item(idx, hub, base, "parsers", entry, &ps->resolved[ps->n], err,
                             sizeof(err)) < 0) {
        if (!required)
            return 0;
        fprintf(stderr, "Error: %s\n", err);
        return -1;
    }
    ps->items[ps->n] = (struct parser_item){ ps->resolved[ps->n].path, ps->resolved[ps->n].stage };
    ps->n++;
    return 0;
}

static void
explain_parsers_clear(struct explain_parsers *ps)
{
    for (size_t i = 0; i < ps->n; i++)
        hubtest_item_clear(&ps->resolved[i]);
    ps->n = 0;
}

/* --parsers a,b,... or the default set of the acquisition type. */
static int
collect_parsers(struct explain_parsers *ps, const struct hubtest_index *idx, const char *hub,
                const char *list, const char *type)
{
    if (list != NULL) {
        char *copy = strdup(list), *save = NULL;
        int rc = 0;
        if (copy == NULL)
            return -1;
        for (char *tok = strtok_r(copy, ",", &save); tok != NULL && rc == 0;
             tok = strtok_r(NULL, ",", &save)) {
            if (*tok != '\0')
                rc = add_parser(ps, idx, hub, tok, true);
        }
        free(copy);
        return rc;
    }
    const char *const *extra = NULL;
    size_t nextra = 0;
    if (strcmp(type, "syslog") == 0) {
        extra = default_syslog;
        nextra = ARRAY_SIZE(default_syslog);
    } else if (strcmp(type, "nginx") == 0) {
        extra = default_nginx;
        nextra = ARRAY_SIZE(default_nginx);
    } else if (strcmp(type, "apache2") == 0) {
        extra = default_apache2;
        nextra = ARRAY_SIZE(default_apache2);
    }
    if (add_parser(ps, idx, hub, "crowdsecurity/syslog-logs", true) < 0)
        return -1;
    for (size_t i = 0; i < nextra; i++) {
        if (add_parser(ps, idx, hub, extra[i], true) < 0)
            return -1;
    }
    if (extra == NULL) {
        char name[256];
        snprintf(name, sizeof(name), "crowdsecurity/%s-logs", type);
        if (add_parser(ps, idx, hub, name, false) < 0)
            return -1;
    }
    return add_parser(ps, idx, hub, "crowdsecurity/dateparse-enrich", true);
}

/* --- reading lines and making events as the file datasource does in cat mode --- */

struct explain_labels {
    char *keys[EXPLAIN_MAX_LABELS];
    char *values[EXPLAIN_MAX_LABELS];
    size_t n;
    char *buf;
};

/* "k:v,k2:v2" (cscli's -label); 0 or -1 with a message. */
static int
parse_labels(struct explain_labels *l, const char *type, const char *spec)
{
    char *save = NULL;

    l->n = 0;
    if (spec == NULL)
        goto type_label;
    if ((l->buf = strdup(spec)) == NULL)
        return -1;
    for (char *tok = strtok_r(l->buf, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
        char *colon = strchr(tok, ':');
        if (colon == NULL || colon == tok) {
            fprintf(stderr, "Error: invalid label '%s': expected key:value\n", tok);
            return -1;
        }
        if (l->n == EXPLAIN_MAX_LABELS) {
            fprintf(stderr, "Error: more than %d labels\n", EXPLAIN_MAX_LABELS);
            return -1;
        }
        *colon = '\0';
        l->keys[l->n] = tok;
        l->values[l->n] = colon + 1;
        l->n++;
    }
type_label:
    /* -type sets Labels["type"] after the -label pairs (it wins over a "type" label). */
    if (l->n == EXPLAIN_MAX_LABELS) {
        fprintf(stderr, "Error: more than %d labels\n", EXPLAIN_MAX_LABELS - 1);
        return -1;
    }
    l->keys[l->n] = (char *)"type";
    l->values[l->n] = (char *)type;
    l->n++;
    return 0;
}

static struct event *
make_event(const char *raw, size_t len, const char *src, const struct explain_labels *labels)
{
    struct event *e = event_new(EVENT_LOG, EVENT_TIMEMACHINE, true);
    if (e == NULL)
        return NULL;
    /* The acquisition time (time.Now().UTC()), through the expression clock so tests can pin it. */
    e->line.time = expr_clock_now();
    e->line.process = true;
    if (event_set_str(e, &e->line.raw, raw, len) < 0 ||
        event_set_str(e, &e->line.src, src, strlen(src)) < 0 ||
        event_set_str(e, &e->line.module, "file", 4) < 0)
        goto fail;
    for (size_t i = 0; i < labels->n; i++) {
        if (strmap_set_cstr(&e->line.labels, &e->arena, labels->keys[i], labels->values[i]) < 0)
            goto fail;
    }
    return e;
fail:
    event_free(e);
    return NULL;
}

struct explain_ctx {
    const struct parser_set *ps;
    struct parser_worker *w;
    struct explain_run run;
    struct explain_line *lines;
    size_t nlines, cap;
    const struct explain_labels *labels;
    const char *src;
};

static int
explain_one(struct explain_ctx *c, const char *raw, size_t len)
{
    if (c->nlines == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 16;
        struct explain_line *l = realloc(c->lines, cap * sizeof(*l));
        if (l == NULL)
            return -ENOMEM;
        c->lines = l;
        c->cap = cap;
    }
    struct explain_line *l = &c->lines[c->nlines];
    *l = (struct explain_line){ .raw = strndup(raw, len) };
    if (l->raw == NULL)
        return -ENOMEM;
    c->nlines++;
    struct event *e = make_event(raw, len, c->src, c->labels);
    if (e == NULL)
        return -ENOMEM;
    struct parser_trace trace = { &c->run, on_node_done };
    c->run.cur = l;
    enum parser_outcome r = parser_process(c->ps, c->w, e, &trace);
    l->parsed = r == PARSER_PARSED;
    l->whitelisted = e->whitelisted;
    event_free(e);
    if (r == PARSER_FAILED || c->run.err != 0)
        return -ENOMEM;
    return 0;
}

/* bufio.Scanner's ScanLines: split on \n, drop one trailing \r; cat mode skips empty lines. */
static int
explain_stream(struct explain_ctx *c, FILE *f, const char *name)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int rc = 0;

    while ((n = getline(&line, &cap, f)) >= 0) {
        size_t len = (size_t)n;
        if (len > 0 && line[len - 1] == '\n')
            len--;
        if (len > 0 && line[len - 1] == '\r')
            len--;
        if (len == 0)
            continue;
        if (len > EXPLAIN_MAX_LINE_LEN) {
            fprintf(stderr, "Error: %s: line %zu longer than %u bytes\n", name, c->nlines + 1,
                    EXPLAIN_MAX_LINE_LEN);
            rc = -1;
            break;
        }
        if (c->nlines == EXPLAIN_MAX_LINES) {
            fprintf(stderr, "Error: %s: more than %d lines\n", name, EXPLAIN_MAX_LINES);
            rc = -1;
            break;
        }
        if ((rc = explain_one(c, line, len)) < 0) {
            fprintf(stderr, "Error: out of memory\n");
            break;
        }
    }
    if (rc == 0 && ferror(f)) {
        fprintf(stderr, "Error: %s: %s\n", name, strerror(errno));
        rc = -1;
    }
    free(line);
    return rc;
}

static bool
is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int
cli_cmd_explain(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "log", required_argument, NULL, 'l' },
        { "file", required_argument, NULL, 'f' },
        { "type", required_argument, NULL, 't' },
        { "labels", required_argument, NULL, 'L' },
        { "hub", required_argument, NULL, 'H' },
        { "parsers", required_argument, NULL, 'P' },
        { "patterns", required_argument, NULL, 'p' },
        { "data", required_argument, NULL, 'D' },
        { "verbose", no_argument, NULL, 'v' },
        { "failures", no_argument, NULL, 'F' },
        { "only-successful-parsers", no_argument, NULL, 'O' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *log_line = NULL, *file = NULL, *type = NULL, *labels_spec = NULL;
    const char *hub = "../shared/hub", *parsers = NULL, *patterns = NULL, *data = NULL;
    struct explain_flags fl = { 0 };
    struct explain_labels labels = { 0 };
    struct explain_parsers items = { 0 };
    struct explain_ctx ctx = { 0 };
    struct hubtest_index *idx = NULL;
    struct grok_library *lib = NULL;
    struct parser_set *ps = NULL;
    char src[PATH_MAX], path[PATH_MAX], err[512];
    int opt, rc = 1;

    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":l:f:t:vh", longopts, NULL)) != -1) {
        switch (opt) {
        case 'l': log_line = optarg; break;
        case 'f': file = optarg; break;
        case 't': type = optarg; break;
        case 'L': labels_spec = optarg; break;
        case 'H': hub = optarg; break;
        case 'P': parsers = optarg; break;
        case 'p': patterns = optarg; break;
        case 'D': data = optarg; break;
        case 'v': fl.details = true; break;
        case 'F': fl.skip_ok = true; break;
        case 'O': fl.only_ok = true; break;
        case 'h': explain_usage(stdout); return 0;
        case ':':
            fprintf(stderr,
                    "Error: flag needs an argument: %s\nRun 'phalanx explain --help' for usage.\n",
                    argv[optind - 1]);
            return 1;
        default:
            fprintf(stderr, "Error: unknown flag: %s\nRun 'phalanx explain --help' for usage.\n",
                    argv[optind - 1]);
            return 1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "Error: unknown command \"%s\" for \"phalanx explain\"\n", argv[optind]);
        return 1;
    }
    if (type == NULL || type[0] == '\0') {
        fprintf(stderr, "Error: required flag(s) \"type\" not set\n"
                        "Run 'phalanx explain --help' for usage.\n");
        return 1;
    }
    if ((log_line == NULL) == (file == NULL)) {
        fprintf(stderr, "Error: exactly one of the flags --log or --file must be set\n"
                        "Run 'phalanx explain --help' for usage.\n");
        return 1;
    }
    if (file != NULL && strcmp(file, "-") == 0 && isatty(STDIN_FILENO)) {
        fprintf(stderr, "Error: the option -f - is intended to work with pipes\n");
        return 1;
    }
    const char *env = getenv("NO_COLOR"), *term = getenv("TERM");
    fl.color = isatty(STDOUT_FILENO) && (env == NULL || env[0] == '\0') &&
               (term == NULL || strcmp(term, "dumb") != 0);

    if (parse_labels(&labels, type, labels_spec) < 0)
        goto out;
    if ((idx = hubtest_index_load(hub, err, sizeof(err))) == NULL) {
        fprintf(stderr, "Error: %s\n", err);
        goto out;
    }
    if (collect_parsers(&items, idx, hub, parsers, type) < 0)
        goto out;

    /* Our base patterns first, then the hub's: the first definition of a name wins. */
    struct grok_error gerr = { 0 };
    if ((lib = grok_library_new()) == NULL)
        goto oom;
    if (patterns == NULL && is_dir("config/patterns"))
        patterns = "config/patterns";
    if (patterns != NULL && grok_library_load_dir(lib, patterns, &gerr) < 0)
        goto grok_fail;
    snprintf(path, sizeof(path), "%s/patterns", hub);
    if (is_dir(path) && grok_library_load_dir(lib, path, &gerr) < 0)
        goto grok_fail;

    char data_dir[PATH_MAX];
    snprintf(data_dir, sizeof(data_dir), "%s/data", hub);
    struct parser_options popts = { .data_dir = data != NULL ? data : data_dir, .grok = lib };
    struct parser_error perr = { 0 };
    if ((ps = parser_set_load(items.items, items.n, &popts, &perr)) == NULL) {
        if (perr.line > 0)
            fprintf(stderr, "Error: %s:%d: %s\n", perr.file, perr.line, perr.message);
        else if (perr.file[0] != '\0')
            fprintf(stderr, "Error: %s: %s\n", perr.file, perr.message);
        else
            fprintf(stderr, "Error: %s\n", perr.message);
        goto out;
    }
    ctx.ps = ps;
    ctx.labels = &labels;
    if ((ctx.w = parser_worker_new(ps)) == NULL)
        goto oom;

    if (log_line != NULL) {
        /* cscli writes the line to a temporary file named so and replays that. */
        ctx.src = "cscli_test_tmp.log";
        size_t len = strcspn(log_line, "\n");
        if (len > 0 && log_line[len - 1] == '\r')
            len--;
        if (len == 0) {
            fprintf(stderr, "Error: the log line is empty\n");
            goto out;
        }
        if (explain_one(&ctx, log_line, len) < 0)
            goto oom;
    } else if (strcmp(file, "-") == 0) {
        ctx.src = "cscli_test_tmp.log";
        if (explain_stream(&ctx, stdin, "stdin") < 0)
            goto out;
    } else {
        FILE *f = fopen(file, "r");
        if (f == NULL) {
            fprintf(stderr, "Error: %s: %s\n", file, strerror(errno));
            goto out;
        }
        ctx.src = realpath(file, src) != NULL ? src : file;
        int r = explain_stream(&ctx, f, file);
        fclose(f);
        if (r < 0)
            goto out;
    }
    if (ctx.nlines == 0) {
        fprintf(stderr, "Error: the log file is empty: %s\n", file != NULL ? file : "stdin");
        goto out;
    }
    if (ctx.nlines > EXPLAIN_WARN_LINES)
        fprintf(stderr, "warning: %zu lines. This may take a lot of resources.\n", ctx.nlines);
    for (size_t i = 0; i < ctx.nlines; i++) {
        if (display_line(&ctx.run, &ctx.lines[i], &fl) < 0)
            goto oom;
    }
    rc = fflush(stdout) == 0 ? 0 : 1;
    goto out;

grok_fail:
    if (gerr.line > 0)
        fprintf(stderr, "Error: %s:%d: %s\n", gerr.file, gerr.line, gerr.message);
    else
        fprintf(stderr, "Error: %s%s%s\n", gerr.file, gerr.file[0] ? ": " : "", gerr.message);
    goto out;
oom:
    fprintf(stderr, "Error: out of memory\n");
out:
    for (size_t i = 0; i < ctx.nlines; i++)
        explain_line_clear(&ctx.lines[i]);
    free(ctx.lines);
    explain_run_clear(&ctx.run);
    parser_worker_free(ctx.w);
    parser_set_free(ps);
    grok_library_free(lib);
    explain_parsers_clear(&items);
    hubtest_index_free(idx);
    free(labels.buf);
    return rc;
}

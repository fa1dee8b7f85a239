/*
 * hubwalk.c - the hub walker behind the expression conformance test and the
 * fuzz corpus generator (see hubwalk.h).
 *
 * YAML files are loaded with libyaml's document API so every scalar keeps the
 * line it started on; a file may hold several documents ("---"). The key
 * names follow CrowdSec's Go structs (pkg/parser Node/ExtraField/GrokPattern/
 * Whitelist/DataCapture, pkg/leakybucket BucketFactory, pkg/alertcontext,
 * pkg/csprofiles): a key we do not know is not an expression and is skipped.
 * Assert files are split the way bufio.ScanLines does it (one trailing \r
 * dropped, empty lines skipped).
 */
#include <dirent.h>
#include <sys/stat.h>
#include <yaml.h>

#include "hubwalk.h"

/* Hub files are small; anything bigger than this is not a hub file. */
#define HUBWALK_MAX_FILE (64u << 20)
/* Parser nodes nest three levels in the hub; this bounds a hostile file. */
#define HUBWALK_MAX_DEPTH 32

static const char *const category_names[HUBWALK_NCATEGORIES] = {
    [HUBWALK_PARSER_FILTER] = "parser.filter",
    [HUBWALK_PARSER_STATICS] = "statics.expression",
    [HUBWALK_GROK_EXPRESSION] = "grok.expression",
    [HUBWALK_WHITELIST] = "whitelist.expression",
    [HUBWALK_STASH] = "stash.key/value",
    [HUBWALK_SCENARIO_FILTER] = "scenario.filter",
    [HUBWALK_GROUPBY] = "groupby",
    [HUBWALK_DISTINCT] = "distinct",
    [HUBWALK_SCOPE] = "scope.expression",
    [HUBWALK_CANCEL_ON] = "cancel_on",
    [HUBWALK_CONDITION] = "condition",
    [HUBWALK_BAYESIAN_CONDITION] = "bayesian_conditions.condition",
    [HUBWALK_OVERFLOW_FILTER] = "overflow_filter",
    [HUBWALK_CONTEXT] = "context",
    [HUBWALK_PROFILE_FILTER] = "profile.filters",
    [HUBWALK_PROFILE_DURATION] = "profile.duration_expr",
    [HUBWALK_PARSER_ASSERT] = "parser.assert",
    [HUBWALK_SCENARIO_ASSERT] = "scenario.assert",
};

const char *
hubwalk_category_name(enum hubwalk_category cat)
{
    if ((unsigned)cat >= HUBWALK_NCATEGORIES)
        return "?";
    return category_names[cat];
}

/* ---- file list ---- */

static int
files_push(struct hubwalk_files *files, const char *rel, enum hubwalk_kind kind)
{
    if (files->len == files->cap) {
        size_t cap = files->cap ? files->cap * 2 : 256;
        struct hubwalk_file *n = realloc(files->items, cap * sizeof(*n));
        if (n == NULL)
            return -ENOMEM;
        files->items = n;
        files->cap = cap;
    }
    char *copy = strdup(rel);
    if (copy == NULL)
        return -ENOMEM;
    files->items[files->len++] = (struct hubwalk_file){ .rel = copy, .kind = kind };
    return 0;
}

static bool
has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

static bool
is_yaml_name(const char *name)
{
    return has_suffix(name, ".yaml") || has_suffix(name, ".yml");
}

static int
is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int
is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static int
skip_dot(const struct dirent *d)
{
    return d->d_name[0] != '.';
}

/* Adds every *.yaml / *.yml under root/rel (recursively, sorted by name) as kind. */
static int
collect_yaml(const char *root, const char *rel, enum hubwalk_kind kind, struct hubwalk_files *files,
             int depth)
{
    char path[4096];
    struct dirent **names = NULL;
    int n, rc = 0;

    if (depth > HUBWALK_MAX_DEPTH)
        return -ELOOP;
    if (snprintf(path, sizeof(path), "%s/%s", root, rel) >= (int)sizeof(path))
        return -ENAMETOOLONG;
    n = scandir(path, &names, skip_dot, alphasort);
    if (n < 0)
        return errno == ENOENT ? 0 : -errno;
    for (int i = 0; i < n; i++) {
        char sub[4096], full[4096];
        if (rc == 0 &&
            snprintf(sub, sizeof(sub), "%s/%s", rel, names[i]->d_name) < (int)sizeof(sub) &&
            snprintf(full, sizeof(full), "%s/%s", root, sub) < (int)sizeof(full)) {
            if (is_dir(full))
                rc = collect_yaml(root, sub, kind, files, depth + 1);
            else if (is_yaml_name(names[i]->d_name) && is_file(full))
                rc = files_push(files, sub, kind);
        }
        free(names[i]);
    }
    free(names);
    return rc;
}

int
hubwalk_list_files(const char *root, struct hubwalk_files *ret_files)
{
    static const struct {
        const char *dir;
        enum hubwalk_kind kind;
    } item_dirs[] = {
        { "parsers", HUBWALK_KIND_PARSER },
        { "postoverflows", HUBWALK_KIND_PARSER },
        { "scenarios", HUBWALK_KIND_SCENARIO },
        { "contexts", HUBWALK_KIND_CONTEXT },
    };
    struct hubwalk_files files = { 0 };
    struct dirent **tests = NULL;
    char path[4096];
    int ntests = 0, rc = 0;

    if (snprintf(path, sizeof(path), "%s/parsers", root) >= (int)sizeof(path))
        return -ENAMETOOLONG;
    if (!is_dir(path))
        return -ENOENT;
    for (size_t i = 0; i < ARRAY_SIZE(item_dirs) && rc == 0; i++)
        rc = collect_yaml(root, item_dirs[i].dir, item_dirs[i].kind, &files, 0);
    if (rc < 0)
        goto out;

    /*
     * Items that hubtest installs from a test's own directory
     * (".tests/geoip-enrich/parsers/..."), then the profile template every
     * hubtest runtime uses, then the assert files.
     */
    if (snprintf(path, sizeof(path), "%s/.tests", root) >= (int)sizeof(path)) {
        rc = -ENAMETOOLONG;
        goto out;
    }
    ntests = scandir(path, &tests, skip_dot, alphasort);
    if (ntests < 0) {
        ntests = 0;
        goto out; /* a hub without tests still has items to check */
    }
    for (int i = 0; i < ntests && rc == 0; i++) {
        char rel[1024];
        if (snprintf(rel, sizeof(rel), ".tests/%s", tests[i]->d_name) >= (int)sizeof(rel))
            continue;
        if (snprintf(path, sizeof(path), "%s/%s", root, rel) >= (int)sizeof(path) || !is_dir(path))
            continue;
        for (size_t k = 0; k < ARRAY_SIZE(item_dirs) && rc == 0; k++) {
            char sub[1100];
            snprintf(sub, sizeof(sub), "%s/%s", rel, item_dirs[k].dir);
            rc = collect_yaml(root, sub, item_dirs[k].kind, &files, 0);
        }
    }
    if (rc == 0 &&
        snprintf(path, sizeof(path), "%s/.tests/template_profiles.yaml", root) <
            (int)sizeof(path) &&
        is_file(path))
        rc = files_push(&files, ".tests/template_profiles.yaml", HUBWALK_KIND_PROFILE);
    for (int i = 0; i < ntests && rc == 0; i++) {
        static const struct {
            const char *name;
            enum hubwalk_kind kind;
        } asserts[] = {
            { "parser.assert", HUBWALK_KIND_PARSER_ASSERT },
            { "scenario.assert", HUBWALK_KIND_SCENARIO_ASSERT },
        };
        for (size_t k = 0; k < ARRAY_SIZE(asserts) && rc == 0; k++) {
            char rel[1024];
            if (snprintf(rel, sizeof(rel), ".tests/%s/%s", tests[i]->d_name, asserts[k].name) >=
                (int)sizeof(rel))
                continue;
            if (snprintf(path, sizeof(path), "%s/%s", root, rel) < (int)sizeof(path) &&
                is_file(path))
                rc = files_push(&files, rel, asserts[k].kind);
        }
    }
out:
    for (int i = 0; i < ntests; i++)
        free(tests[i]);
    free(tests);
    if (rc < 0) {
        hubwalk_files_free(&files);
        return rc;
    }
    *ret_files = files;
    return 0;
}

void
hubwalk_files_free(struct hubwalk_files *files)
{
    if (files == NULL)
        return;
    for (size_t i = 0; i < files->len; i++)
        free(files->items[i].rel);
    free(files->items);
    *files = (struct hubwalk_files){ 0 };
}

/* ---- expression list ---- */

static int
list_push(struct hubwalk_list *out, enum hubwalk_category cat, int line, const char *src,
          size_t len)
{
    if (out->len == out->cap) {
        size_t cap = out->cap ? out->cap * 2 : 64;
        struct hubwalk_expr *n = realloc(out->items, cap * sizeof(*n));
        if (n == NULL)
            return -ENOMEM;
        out->items = n;
        out->cap = cap;
    }
    char *copy = malloc(len + 1);
    if (copy == NULL)
        return -ENOMEM;
    memcpy(copy, src, len);
    copy[len] = '\0';
    out->items[out->len++] =
        (struct hubwalk_expr){ .cat = cat, .line = line, .src = copy, .orig = NULL, .len = len };
    return 0;
}

void
hubwalk_list_clear(struct hubwalk_list *list)
{
    if (list == NULL)
        return;
    for (size_t i = 0; i < list->len; i++) {
        free(list->items[i].src);
        free(list->items[i].orig);
    }
    list->len = 0;
}

void
hubwalk_list_free(struct hubwalk_list *list)
{
    if (list == NULL)
        return;
    hubwalk_list_clear(list);
    free(list->items);
    *list = (struct hubwalk_list){ 0 };
}

/* ---- YAML ---- */

struct walk {
    yaml_document_t *doc;
    struct hubwalk_list *out;
    char *err;
    size_t errsize;
};

static int
walk_fail(struct walk *w, const yaml_node_t *node, const char *what)
{
    snprintf(w->err, w->errsize, "line %zu: %s", node ? node->start_mark.line + 1 : 0, what);
    return -1;
}

/* A plain null ("", "~", "null") means "no expression", as yaml.v2 decodes it into "". */
static bool
scalar_is_null(const yaml_node_t *node)
{
    if (node->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return false;
    const char *v = (const char *)node->data.scalar.value;
    return node->data.scalar.length == 0 || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 ||
           strcmp(v, "Null") == 0 || strcmp(v, "NULL") == 0;
}

/* Records the scalar at node as one expression; empty ones are skipped as CrowdSec does. */
static int
take_scalar(struct walk *w, yaml_node_t *node, enum hubwalk_category cat)
{
    if (node == NULL)
        return 0;
    if (node->type != YAML_SCALAR_NODE) {
        char msg[128];
        snprintf(msg, sizeof(msg), "%s is not a string", hubwalk_category_name(cat));
        return walk_fail(w, node, msg);
    }
    if (scalar_is_null(node))
        return 0;
    if (list_push(w->out, cat, (int)node->start_mark.line + 1,
                  (const char *)node->data.scalar.value, node->data.scalar.length) < 0)
        return walk_fail(w, node, "out of memory");
    return 0;
}

/* Records a scalar or every scalar of a sequence (yaml.v2 []string accepts both shapes only as a
 * list). */
static int
take_list(struct walk *w, yaml_node_t *node, enum hubwalk_category cat)
{
    if (node == NULL || (node->type == YAML_SCALAR_NODE && scalar_is_null(node)))
        return 0;
    if (node->type != YAML_SEQUENCE_NODE) {
        char msg[128];
        snprintf(msg, sizeof(msg), "%s is not a list", hubwalk_category_name(cat));
        return walk_fail(w, node, msg);
    }
    for (yaml_node_item_t *it = node->data.sequence.items.start; it < node->data.sequence.items.top;
         it++)
        if (take_scalar(w, yaml_document_get_node(w->doc, *it), cat) < 0)
            return -1;
    return 0;
}

/* The value of key in a mapping node, or NULL. */
static yaml_node_t *
map_get(struct walk *w, yaml_node_t *map, const char *key)
{
    if (map == NULL || map->type != YAML_MAPPING_NODE)
        return NULL;
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = yaml_document_get_node(w->doc, p->key);
        if (k != NULL && k->type == YAML_SCALAR_NODE &&
            strcmp((const char *)k->data.scalar.value, key) == 0)
            return yaml_document_get_node(w->doc, p->value);
    }
    return NULL;
}

static bool
is_null_node(const yaml_node_t *node)
{
    return node == NULL || (node->type == YAML_SCALAR_NODE && scalar_is_null(node));
}

/* statics: [{meta|parsed|target, value|expression|method}]: only expression is compiled. */
static int
walk_statics(struct walk *w, yaml_node_t *statics)
{
    if (is_null_node(statics))
        return 0;
    if (statics->type != YAML_SEQUENCE_NODE)
        return walk_fail(w, statics, "statics is not a list");
    for (yaml_node_item_t *it = statics->data.sequence.items.start;
         it < statics->data.sequence.items.top; it++) {
        yaml_node_t *st = yaml_document_get_node(w->doc, *it);
        if (st == NULL || st->type != YAML_MAPPING_NODE)
            return walk_fail(w, st, "statics entry is not a mapping");
        if (take_scalar(w, map_get(w, st, "expression"), HUBWALK_PARSER_STATICS) < 0)
            return -1;
    }
    return 0;
}

/* One parser node (a document of parsers/ or postoverflows/, or an entry of nodes:). */
static int
walk_parser_node(struct walk *w, yaml_node_t *node, int depth)
{
    yaml_node_t *v;

    if (depth > HUBWALK_MAX_DEPTH)
        return walk_fail(w, node, "nodes nested too deeply");
    if (node == NULL || node->type != YAML_MAPPING_NODE)
        return walk_fail(w, node, "parser node is not a mapping");
    if (take_scalar(w, map_get(w, node, "filter"), HUBWALK_PARSER_FILTER) < 0)
        return -1;
    v = map_get(w, node, "grok");
    if (v != NULL && !is_null_node(v)) {
        if (v->type != YAML_MAPPING_NODE)
            return walk_fail(w, v, "grok is not a mapping");
        if (take_scalar(w, map_get(w, v, "expression"), HUBWALK_GROK_EXPRESSION) < 0 ||
            walk_statics(w, map_get(w, v, "statics")) < 0)
            return -1;
    }
    if (walk_statics(w, map_get(w, node, "statics")) < 0)
        return -1;
    v = map_get(w, node, "whitelist");
    if (v != NULL && !is_null_node(v)) {
        if (v->type != YAML_MAPPING_NODE)
            return walk_fail(w, v, "whitelist is not a mapping");
        if (take_list(w, map_get(w, v, "expression"), HUBWALK_WHITELIST) < 0)
            return -1;
    }
    v = map_get(w, node, "stash");
    if (v != NULL && !is_null_node(v)) {
        if (v->type != YAML_SEQUENCE_NODE)
            return walk_fail(w, v, "stash is not a list");
        for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top;
             it++) {
            yaml_node_t *st = yaml_document_get_node(w->doc, *it);
            if (st == NULL || st->type != YAML_MAPPING_NODE)
                return walk_fail(w, st, "stash entry is not a mapping");
            if (take_scalar(w, map_get(w, st, "key"), HUBWALK_STASH) < 0 ||
                take_scalar(w, map_get(w, st, "value"), HUBWALK_STASH) < 0)
                return -1;
        }
    }
    v = map_get(w, node, "nodes");
    if (v != NULL && !is_null_node(v)) {
        if (v->type != YAML_SEQUENCE_NODE)
            return walk_fail(w, v, "nodes is not a list");
        for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top;
             it++)
            if (walk_parser_node(w, yaml_document_get_node(w->doc, *it), depth + 1) < 0)
                return -1;
    }
    return 0;
}

static int
walk_scenario(struct walk *w, yaml_node_t *doc)
{
    static const struct {
        const char *key;
        enum hubwalk_category cat;
    } keys[] = {
        { "filter", HUBWALK_SCENARIO_FILTER }, { "groupby", HUBWALK_GROUPBY },
        { "distinct", HUBWALK_DISTINCT },      { "cancel_on", HUBWALK_CANCEL_ON },
        { "condition", HUBWALK_CONDITION },    { "overflow_filter", HUBWALK_OVERFLOW_FILTER },
    };
    yaml_node_t *v;

    if (doc->type != YAML_MAPPING_NODE)
        return walk_fail(w, doc, "scenario is not a mapping");
    for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
        if (take_scalar(w, map_get(w, doc, keys[i].key), keys[i].cat) < 0)
            return -1;
    v = map_get(w, doc, "scope");
    if (v != NULL && !is_null_node(v)) {
        if (v->type != YAML_MAPPING_NODE)
            return walk_fail(w, v, "scope is not a mapping");
        if (take_scalar(w, map_get(w, v, "expression"), HUBWALK_SCOPE) < 0)
            return -1;
    }
    v = map_get(w, doc, "bayesian_conditions");
    if (v != NULL && !is_null_node(v)) {
        if (v->type != YAML_SEQUENCE_NODE)
            return walk_fail(w, v, "bayesian_conditions is not a list");
        for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top;
             it++) {
            yaml_node_t *bc = yaml_document_get_node(w->doc, *it);
            if (bc == NULL || bc->type != YAML_MAPPING_NODE)
                return walk_fail(w, bc, "bayesian condition is not a mapping");
            if (take_scalar(w, map_get(w, bc, "condition"), HUBWALK_BAYESIAN_CONDITION) < 0)
                return -1;
        }
    }
    return 0;
}

/* context: {key: [expression, ...]} (pkg/alertcontext). */
static int
walk_context(struct walk *w, yaml_node_t *doc)
{
    yaml_node_t *ctx;

    if (doc->type != YAML_MAPPING_NODE)
        return walk_fail(w, doc, "context file is not a mapping");
    ctx = map_get(w, doc, "context");
    if (is_null_node(ctx))
        return 0;
    if (ctx->type != YAML_MAPPING_NODE)
        return walk_fail(w, ctx, "context is not a mapping");
    for (yaml_node_pair_t *p = ctx->data.mapping.pairs.start; p < ctx->data.mapping.pairs.top; p++)
        if (take_list(w, yaml_document_get_node(w->doc, p->value), HUBWALK_CONTEXT) < 0)
            return -1;
    return 0;
}

/* A profile (pkg/csprofiles): filters: [expression, ...], duration_expr. */
static int
walk_profile(struct walk *w, yaml_node_t *doc)
{
    if (doc->type != YAML_MAPPING_NODE)
        return walk_fail(w, doc, "profile is not a mapping");
    if (take_list(w, map_get(w, doc, "filters"), HUBWALK_PROFILE_FILTER) < 0 ||
        take_scalar(w, map_get(w, doc, "duration_expr"), HUBWALK_PROFILE_DURATION) < 0)
        return -1;
    return 0;
}

static int
walk_yaml(const char *text, size_t len, enum hubwalk_kind kind, struct hubwalk_list *out, char *err,
          size_t errsize)
{
    yaml_parser_t parser;
    int rc = 0;

    if (!yaml_parser_initialize(&parser)) {
        snprintf(err, errsize, "yaml: out of memory");
        return -1;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    for (;;) {
        yaml_document_t doc;
        if (!yaml_parser_load(&parser, &doc)) {
            snprintf(err, errsize, "yaml: line %zu: %s", parser.problem_mark.line + 1,
                     parser.problem ? parser.problem : "parse error");
            rc = -1;
            break;
        }
        yaml_node_t *root = yaml_document_get_root_node(&doc);
        if (root == NULL) { /* end of stream */
            yaml_document_delete(&doc);
            break;
        }
        struct walk w = { .doc = &doc, .out = out, .err = err, .errsize = errsize };
        if (!is_null_node(root)) {
            switch (kind) {
            case HUBWALK_KIND_PARSER: rc = walk_parser_node(&w, root, 0); break;
            case HUBWALK_KIND_SCENARIO: rc = walk_scenario(&w, root); break;
            case HUBWALK_KIND_CONTEXT: rc = walk_context(&w, root); break;
            case HUBWALK_KIND_PROFILE: rc = walk_profile(&w, root); break;
            default: rc = walk_fail(&w, root, "not a YAML kind");
            }
        }
        yaml_document_delete(&doc);
        if (rc < 0)
            break;
    }
    yaml_parser_delete(&parser);
    return rc;
}

/* ---- assert files ---- */

char *
hubwalk_basename_shim(const char *line, bool *oom)
{
    const char *eq, *rest, *next;
    size_t n;
    char *out;

    *oom = false;
    if (strstr(line, "datasource_path") == NULL || strstr(line, "basename(") != NULL)
        return NULL;
    eq = strstr(line, "==");
    if (eq == NULL)
        return NULL; /* hubtest would index past the split and panic; leave the line as is */
    /* Go keeps only the parts before the first and second "==". */
    rest = eq + 2;
    next = strstr(rest, "==");
    n = next ? (size_t)(next - rest) : strlen(rest);
    size_t total = sizeof("basename(") - 1 + (size_t)(eq - line) + sizeof(") == ") - 1 + n + 1;
    out = malloc(total);
    if (out == NULL) {
        *oom = true;
        return NULL;
    }
    snprintf(out, total, "basename(%.*s) == %.*s", (int)(eq - line), line, (int)n, rest);
    return out;
}

static int
walk_assert(const char *text, size_t len, enum hubwalk_category cat, struct hubwalk_list *out,
            char *err, size_t errsize)
{
    size_t pos = 0;
    int lineno = 0;

    while (pos < len) {
        const char *start = text + pos;
        const char *nl = memchr(start, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - start) : len - pos;

        pos += n + (nl ? 1 : 0);
        lineno++;
        if (n > 0 && start[n - 1] == '\r')
            n--;
        if (n == 0)
            continue;
        if (list_push(out, cat, lineno, start, n) < 0)
            goto oom;
        struct hubwalk_expr *e = &out->items[out->len - 1];
        bool oom = false;
        char *shim = hubwalk_basename_shim(e->src, &oom);
        if (oom)
            goto oom;
        if (shim != NULL) {
            e->orig = e->src;
            e->src = shim;
            e->len = strlen(shim);
        }
    }
    return 0;
oom:
    snprintf(err, errsize, "out of memory");
    return -1;
}

static char *
read_file(const char *path, size_t *ret_len, char *err, size_t errsize)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t len = 0, cap = 0;

    if (f == NULL) {
        snprintf(err, errsize, "cannot open: %s", strerror(errno));
        return NULL;
    }
    for (;;) {
        if (len + 4096 + 1 > cap) {
            if (cap > HUBWALK_MAX_FILE) {
                snprintf(err, errsize, "file larger than %u bytes", HUBWALK_MAX_FILE);
                goto fail;
            }
            size_t ncap = cap ? cap * 2 : 16384;
            char *n = realloc(buf, ncap);
            if (n == NULL) {
                snprintf(err, errsize, "out of memory");
                goto fail;
            }
            buf = n;
            cap = ncap;
        }
        size_t got = fread(buf + len, 1, cap - len - 1, f);
        len += got;
        if (got == 0)
            break;
    }
    if (ferror(f)) {
        snprintf(err, errsize, "read error");
        goto fail;
    }
    fclose(f);
    buf[len] = '\0';
    *ret_len = len;
    return buf;
fail:
    fclose(f);
    free(buf);
    return NULL;
}

int
hubwalk_file_exprs(const char *root, const struct hubwalk_file *file, struct hubwalk_list *out,
                   char *err, size_t errsize)
{
    char path[4096];
    size_t len = 0;
    char *text;
    int rc;

    if (snprintf(path, sizeof(path), "%s/%s", root, file->rel) >= (int)sizeof(path)) {
        snprintf(err, errsize, "path too long");
        return -1;
    }
    text = read_file(path, &len, err, errsize);
    if (text == NULL)
        return -1;
    switch (file->kind) {
    case HUBWALK_KIND_PARSER_ASSERT:
        rc = walk_assert(text, len, HUBWALK_PARSER_ASSERT, out, err, errsize);
        break;
    case HUBWALK_KIND_SCENARIO_ASSERT:
        rc = walk_assert(text, len, HUBWALK_SCENARIO_ASSERT, out, err, errsize);
        break;
    default: rc = walk_yaml(text, len, file->kind, out, err, errsize);
    }
    free(text);
    return rc;
}

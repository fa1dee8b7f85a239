/*
 * alertcontext.c - CrowdSec's alert context (pkg/alertcontext): named lists
 * of expressions, taken from the installed `contexts` items (their
 * `context:` key) and from the console_context_path file (a top-level
 * {key: [expr...]} map), evaluated over every event of an overflowing
 * bucket. Each key becomes one alert Meta item whose value is the JSON array
 * (Go's json.Marshal of a []string) of the unique non-empty results, in the
 * order they were first seen, cut to console_context_value_length by
 * dropping trailing values (or, for a lone value, by halving it and adding
 * "...").
 *
 * Expressions are compiled once, with the file and line they came from, in
 * the alert_context environment (evt, match, req). Outside AppSec, match is
 * an empty map and req is nil, as CrowdSec gives an empty MatchedRule and a
 * zero http.Request. CrowdSec keeps the keys in a Go map (random order);
 * the Meta items here are sorted by key so a replay's output is stable.
 */
#include "agent/internal.h"

#include "common/str.h"
#include "config/config.h"
#include "exprenv/exprenv.h"
#include "model/model.h"

#include <dirent.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <sys/stat.h>

/* A YAML file bigger than this is refused (hub context items are a few hundred bytes). */
#define CONTEXT_MAX_FILE ((size_t)4 * 1024 * 1024)
/* Caps on what the files can declare, so a hostile file cannot make every alert slow. */
#define CONTEXT_MAX_KEYS  1024
#define CONTEXT_MAX_EXPRS 4096

struct context_key {
    char *name;
    struct expr_program **progs; /* in file order, no source twice */
    size_t n, cap;
};

struct agent_context {
    struct expr_env *env;
    json_t *empty_match; /* the MatchedRule of a non-AppSec event: {} */
    size_t value_len;
    struct context_key *keys; /* sorted by name */
    size_t nkeys, cap;
    size_t nexprs;
};

struct agent_context *
agent_context_new(size_t value_len)
{
    struct agent_context *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    c->env = exprenv_new(EXPRENV_ALERT_CONTEXT);
    c->empty_match = json_object();
    if (c->env == NULL || c->empty_match == NULL) {
        agent_context_free(c);
        return NULL;
    }
    /* NewAlertContext: 0 means the default, and the default is also the ceiling. */
    c->value_len = value_len == 0 || value_len > AGENT_CONTEXT_MAX_VALUE_LEN
                       ? AGENT_CONTEXT_MAX_VALUE_LEN
                       : value_len;
    return c;
}

void
agent_context_free(struct agent_context *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->nkeys; i++) {
        for (size_t j = 0; j < c->keys[i].n; j++)
            expr_program_free(c->keys[i].progs[j]);
        free(c->keys[i].progs);
        free(c->keys[i].name);
    }
    free(c->keys);
    json_decref(c->empty_match);
    expr_env_free(c->env);
    free(c);
}

size_t
agent_context_count(const struct agent_context *c)
{
    return c != NULL ? c->nkeys : 0;
}

/* The key named name, added (empty, at its sorted place) when missing; NULL on OOM or cap. */
static struct context_key *
get_key(struct agent_context *c, const char *name)
{
    size_t lo = 0, hi = c->nkeys;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int cmp = strcmp(c->keys[mid].name, name);
        if (cmp == 0)
            return &c->keys[mid];
        if (cmp < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (c->nkeys >= CONTEXT_MAX_KEYS)
        return NULL;
    if (c->nkeys == c->cap) {
        size_t ncap = c->cap ? c->cap * 2 : 8;
        struct context_key *n = realloc(c->keys, ncap * sizeof(*n));
        if (n == NULL)
            return NULL;
        c->keys = n;
        c->cap = ncap;
    }
    char *dup = strdup(name);
    if (dup == NULL)
        return NULL;
    memmove(&c->keys[lo + 1], &c->keys[lo], (c->nkeys - lo) * sizeof(*c->keys));
    c->keys[lo] = (struct context_key){ .name = dup };
    c->nkeys++;
    return &c->keys[lo];
}

/* mergeContext for one expression: compiled and appended unless the key already has it. */
static int
add_expr(struct agent_context *c, struct context_key *k, const struct ynode *v, const char *path,
         struct agent_error *err)
{
    for (size_t i = 0; i < k->n; i++)
        if (strcmp(expr_program_source(k->progs[i]), v->str) == 0)
            return 0;
    if (c->nexprs >= CONTEXT_MAX_EXPRS) {
        agent_errorf(err, "%s:%d: more than %d context expressions", path, v->line,
                     CONTEXT_MAX_EXPRS);
        return -1;
    }
    if (k->n == k->cap) {
        size_t ncap = k->cap ? k->cap * 2 : 4;
        struct expr_program **n = realloc(k->progs, ncap * sizeof(*n));
        if (n == NULL)
            goto oom;
        k->progs = n;
        k->cap = ncap;
    }
    struct expr_error e = { 0 };
    struct expr_program *p = expr_compile(c->env, v->str, v->len, EXPR_T_ANY, &e);
    if (p == NULL) {
        /* The expression's own line: e.line counts within the expression text. */
        agent_errorf(err, "%s:%d: compilation of '%.200s' context value failed: %s", path,
                     v->line + (e.line > 1 ? e.line - 1 : 0), v->str, e.message);
        return -1;
    }
    k->progs[k->n++] = p;
    c->nexprs++;
    return 0;
oom:
    agent_errorf(err, "%s: out of memory", path);
    return -1;
}

/* Merges a {key: [expr...]} map (yaml.v3 decoding it into map[string][]string). */
static int
merge_map(struct agent_context *c, const struct ynode *map, const char *path,
          struct agent_error *err)
{
    for (size_t i = 0; i < map->n; i++) {
        const struct ynode *key = map->items[2 * i], *val = map->items[2 * i + 1];
        if (key->type != YNODE_SCALAR) {
            agent_errorf(err, "%s:%d: cannot unmarshal %s into a context key (a string)", path,
                         key->line, ynode_kind(key));
            return -1;
        }
        struct context_key *k = get_key(c, key->str);
        if (k == NULL) {
            agent_errorf(err, "%s:%d: out of memory or more than %d context keys", path, key->line,
                         CONTEXT_MAX_KEYS);
            return -1;
        }
        if (val->type == YNODE_SCALAR && ynode_is_null(val))
            continue; /* a key with no expression: kept, and never sent */
        if (val->type != YNODE_SEQ) {
            agent_errorf(err,
                         "%s:%d: cannot unmarshal %s into []string (context '%.100s' must be a "
                         "list of expressions)",
                         path, val->line, ynode_kind(val), key->str);
            return -1;
        }
        for (size_t j = 0; j < val->n; j++) {
            const struct ynode *v = val->items[j];
            if (v->type != YNODE_SCALAR) {
                agent_errorf(err, "%s:%d: cannot unmarshal %s into string", path, v->line,
                             ynode_kind(v));
                return -1;
            }
            if (add_expr(c, k, v, path, err) < 0)
                return -1;
        }
    }
    return 0;
}

/* The whole file in a malloc'd buffer; -errno with nothing to free on failure. */
static int
read_file(const char *path, char **ret_buf, size_t *ret_len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t len = 0;
    int rc = 0;

    if (f == NULL)
        return -errno;
    if ((buf = malloc(CONTEXT_MAX_FILE + 1)) == NULL) {
        rc = -ENOMEM;
        goto out;
    }
    len = fread(buf, 1, CONTEXT_MAX_FILE + 1, f);
    if (ferror(f))
        rc = -EIO;
    else if (len > CONTEXT_MAX_FILE)
        rc = -EFBIG;
out:
    fclose(f);
    if (rc < 0) {
        free(buf);
        return rc;
    }
    *ret_buf = buf;
    *ret_len = len;
    return 0;
}

int
agent_context_add_file(struct agent_context *c, const char *path, bool item,
                       struct agent_error *err)
{
    char *buf = NULL, msg[256];
    size_t len = 0;
    struct ytree *t = NULL;
    int line = 0, rc = read_file(path, &buf, &len);

    if (rc < 0) {
        agent_errorf(err, "%s: %s", path, rc == -EFBIG ? "file too big" : strerror(-rc));
        return rc == -ENOENT ? -ENOENT : -1;
    }
    rc = -1;
    int prc = ytree_parse(buf, len, &t, msg, sizeof(msg), &line);
    if (prc == -ENOMEM) {
        agent_errorf(err, "%s: out of memory", path);
        goto out;
    }
    if (prc != 0) {
        if (line > 0)
            agent_errorf(err, "%s:%d: %s", path, line, msg);
        else
            agent_errorf(err, "%s: %s", path, msg);
        goto out;
    }
    /* yaml.Unmarshal reads the first document only. */
    const struct ynode *root = t->ndocs > 0 ? t->docs[0] : NULL;
    if (root == NULL || ynode_is_null(root)) {
        rc = 0;
        goto out;
    }
    if (root->type != YNODE_MAP) {
        agent_errorf(err, "%s:%d: cannot unmarshal %s into a context map", path, root->line,
                     ynode_kind(root));
        goto out;
    }
    const struct ynode *map = root;
    if (item) {
        /* HubItemWrapper: only `context:` matters, the rest is the item's metadata. */
        map = ynode_map_get(root, "context");
        if (map == NULL || ynode_is_null(map)) {
            rc = 0;
            goto out;
        }
        if (map->type != YNODE_MAP) {
            agent_errorf(err, "%s:%d: cannot unmarshal %s into map[string][]string", path,
                         map->line, ynode_kind(map));
            goto out;
        }
    }
    rc = merge_map(c, map, path, err);
out:
    ytree_free(t);
    free(buf);
    return rc;
}

static bool
yaml_name(const char *s)
{
    size_t n = strlen(s);
    return (n > 5 && strcmp(s + n - 5, ".yaml") == 0) || (n > 4 && strcmp(s + n - 4, ".yml") == 0);
}

static int
cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The installed items: config_dir/contexts/<name>.yaml or .yml (symlinks followed), by name. */
static int
load_items(struct agent_context *c, const char *config_dir, struct agent_error *err)
{
    char dir[PATH_MAX], path[PATH_MAX];
    char **names = NULL;
    size_t n = 0, cap = 0;
    int rc = -1;
    DIR *d;
    const struct dirent *de;

    if ((size_t)snprintf(dir, sizeof(dir), "%s/contexts", config_dir) >= sizeof(dir)) {
        agent_errorf(err, "%s: path too long", config_dir);
        return -1;
    }
    if ((d = opendir(dir)) == NULL) {
        if (errno == ENOENT || errno == ENOTDIR)
            return 0;
        agent_errorf(err, "%s: %s", dir, strerror(errno));
        return -1;
    }
    while ((de = readdir(d)) != NULL) {
        struct stat st;
        if (de->d_name[0] == '.' || !yaml_name(de->d_name))
            continue;
        if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >= sizeof(path) ||
            stat(path, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            char **nn = realloc(names, ncap * sizeof(*nn));
            if (nn == NULL)
                goto oom;
            names = nn;
            cap = ncap;
        }
        if ((names[n] = strdup(de->d_name)) == NULL)
            goto oom;
        n++;
    }
    if (n > 1)
        qsort(names, n, sizeof(*names), cmp_names);
    for (size_t i = 0; i < n; i++) {
        if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, names[i]) >= sizeof(path))
            continue;
        if (agent_context_add_file(c, path, true, err) < 0)
            goto out;
    }
    rc = 0;
    goto out;
oom:
    agent_errorf(err, "%s: out of memory", dir);
out:
    closedir(d);
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return rc;
}

int
agent_context_load(const struct agent_config *cfg, struct agent_context **ret,
                   struct agent_error *err)
{
    char def[PATH_MAX];
    struct agent_context *c = agent_context_new(cfg->console_context_value_length);

    if (c == NULL) {
        agent_errorf(err, "out of memory");
        return -1;
    }
    if (load_items(c, cfg->config_dir, err) < 0)
        goto fail;
    if (cfg->console_context_path != NULL) {
        /* A path given in config.yaml must exist. */
        int rc = agent_context_add_file(c, cfg->console_context_path, false, err);
        if (rc == -ENOENT) {
            agent_errorf(err, "while checking console_context_path: %s: %s",
                         cfg->console_context_path, strerror(ENOENT));
            goto fail;
        }
        if (rc < 0)
            goto fail;
    } else {
        /* The default, config_dir/console/context.yaml, may be missing. */
        if ((size_t)snprintf(def, sizeof(def), "%s/console/context.yaml", cfg->config_dir) >=
            sizeof(def)) {
            agent_errorf(err, "%s: path too long", cfg->config_dir);
            goto fail;
        }
        int rc = agent_context_add_file(c, def, false, err);
        if (rc < 0 && rc != -ENOENT)
            goto fail;
    }
    *ret = c;
    return 0;
fail:
    agent_context_free(c);
    return -1;
}

/* --- evaluation --- */

/* The unique values of one key, each with its json.Marshal text. */
struct value_list {
    char **vals;
    size_t *lens; /* values may hold NUL bytes */
    char **enc;
    size_t n, cap;
    size_t json_len; /* of the whole array: 2 + sum(enc) + commas */
};

static void
value_list_clear(struct value_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->vals[i]);
        free(l->enc[i]);
    }
    free(l->vals);
    free(l->lens);
    free(l->enc);
    memset(l, 0, sizeof(*l));
}

/* json.Marshal of one string (HTML-safe, invalid UTF-8 as U+FFFD), malloc'd; NULL on OOM. */
static char *
encode(const char *s, size_t n)
{
    json_t *j = json_stringn_nocheck(s, n);
    char *out = j != NULL ? model_json_dumps(j) : NULL;
    json_decref(j);
    return out;
}

/*
 * Adds s unless it is empty or already there. Once the array is longer than
 * limit, later values can only be dropped again by the truncation, so they
 * are not kept (this bounds the memory and the linear duplicate search).
 */
static int
value_list_add(struct value_list *l, const char *s, size_t n, size_t limit)
{
    if (n == 0 || (l->n > 0 && l->json_len > limit))
        return 0;
    for (size_t i = 0; i < l->n; i++)
        if (l->lens[i] == n && memcmp(l->vals[i], s, n) == 0)
            return 0;
    if (l->n == l->cap) {
        size_t ncap = l->cap ? l->cap * 2 : 8;
        char **nv = realloc(l->vals, ncap * sizeof(*nv));
        if (nv == NULL)
            return -ENOMEM;
        l->vals = nv;
        size_t *nl = realloc(l->lens, ncap * sizeof(*nl));
        if (nl == NULL)
            return -ENOMEM;
        l->lens = nl;
        char **ne = realloc(l->enc, ncap * sizeof(*ne));
        if (ne == NULL)
            return -ENOMEM;
        l->enc = ne;
        l->cap = ncap;
    }
    char *v = malloc(n + 1), *e = encode(s, n);
    if (v == NULL || e == NULL) {
        free(v);
        free(e);
        return -ENOMEM;
    }
    memcpy(v, s, n);
    v[n] = '\0';
    l->vals[l->n] = v;
    l->lens[l->n] = n;
    l->enc[l->n] = e;
    l->json_len += strlen(e) + (l->n > 0 ? 1 : 2);
    l->n++;
    return 0;
}

static int
add_formatted(struct value_list *l, struct expr_vm *vm, const struct expr_value *v, size_t limit)
{
    struct str s = { 0 };
    int rc = expr_value_format_go(vm, v, &s);
    if (rc == 0)
        rc = value_list_add(l, s.buf != NULL ? s.buf : "", s.len, limit);
    str_free(&s);
    return rc;
}

/*
 * EvalAlertContextRules' type switch: a string; each element of a []string
 * or []int; an int in decimal; any other value as fmt's %v unless it is
 * nil or its type's zero value. An array of strings (or of ints) stands for
 * Go's []string ([]int): the engine does not tell a []string from a []any
 * holding strings. Values CrowdSec would crash on (reflect's IsNil on a
 * true bool or a non-zero float) are printed with %v instead.
 */
static int
add_result(struct value_list *l, struct expr_vm *vm, const struct expr_value *v, size_t limit)
{
    char num[32];

    switch (v->kind) {
    case EXPR_STRING: return value_list_add(l, v->u.s.ptr, v->u.s.len, limit);
    case EXPR_INT: {
        int n = snprintf(num, sizeof(num), "%" PRId64, v->u.i);
        return value_list_add(l, num, (size_t)n, limit);
    }
    case EXPR_NIL: return 0;
    case EXPR_BOOL: return v->u.b ? add_formatted(l, vm, v, limit) : 0;
    case EXPR_FLOAT: return v->u.f == 0 && !signbit(v->u.f) ? 0 : add_formatted(l, vm, v, limit);
    case EXPR_DURATION: return v->u.d == 0 ? 0 : add_formatted(l, vm, v, limit);
    case EXPR_ARRAY:
    case EXPR_OBJECT: {
        bool slice = v->kind == EXPR_ARRAY ||
                     (v->u.o.cls->at != NULL && v->u.o.cls->len != NULL && !v->u.o.cls->is_map);
        if (!slice)
            return add_formatted(l, vm, v, limit);
        int64_t n = expr_value_len(v);
        bool strs = true, ints = true;
        struct expr_value e;
        for (int64_t i = 0; i < n; i++) {
            if (expr_value_at(vm, v, (size_t)i, &e) < 0)
                return -EINVAL;
            strs &= e.kind == EXPR_STRING;
            ints &= e.kind == EXPR_INT;
        }
        if (!strs && !ints)
            return add_formatted(l, vm, v, limit);
        for (int64_t i = 0; i < n; i++) {
            int rc;
            if (expr_value_at(vm, v, (size_t)i, &e) < 0)
                return -EINVAL;
            rc = add_result(l, vm, &e, limit);
            if (rc < 0)
                return rc;
        }
        return 0;
    }
    default: return add_formatted(l, vm, v, limit);
    }
}

/*
 * TruncateContext: the JSON array of l, dropping trailing values while it is
 * longer than limit; a lone value too long is cut to half its bytes plus
 * "..." until it fits. CrowdSec loops forever when halving stops shortening
 * the value (a limit under a dozen bytes); the last value is kept then.
 */
static char *
truncate_json(struct value_list *l, size_t limit)
{
    size_t n = l->n, len = l->json_len;
    struct str out = { 0 };

    while (len > limit && n > 1) {
        len -= strlen(l->enc[n - 1]) + 1;
        n--;
    }
    while (len > limit) {
        size_t vlen = l->lens[0], half = vlen / 2;
        if (half + 3 >= vlen)
            break;
        char *v = malloc(half + 4);
        if (v == NULL)
            return NULL;
        memcpy(v, l->vals[0], half);
        memcpy(v + half, "...", 4);
        char *e = encode(v, half + 3);
        if (e == NULL) {
            free(v);
            return NULL;
        }
        free(l->vals[0]);
        free(l->enc[0]);
        l->vals[0] = v;
        l->lens[0] = half + 3;
        l->enc[0] = e;
        len = strlen(e) + 2;
    }
    if (str_append_char(&out, '[') < 0)
        goto oom;
    for (size_t i = 0; i < n; i++)
        if ((i > 0 && str_append_char(&out, ',') < 0) || str_append_cstr(&out, l->enc[i]) < 0)
            goto oom;
    if (str_append_char(&out, ']') < 0)
        goto oom;
    return str_steal(&out);
oom:
    str_free(&out);
    return NULL;
}

int
agent_context_eval(const struct agent_context *c, struct expr_vm *vm,
                   const struct event_list *events, struct meta_list *ret, uint64_t *ret_errors)
{
    struct expr_value vars[3];
    uint64_t errors = 0;
    int rc = 0;

    vars[EXPRENV_SLOT_CTX_MATCH] = exprenv_json_value(c->empty_match);
    vars[EXPRENV_SLOT_CTX_REQ] = expr_nil();
    for (size_t k = 0; k < c->nkeys && rc == 0; k++) {
        const struct context_key *key = &c->keys[k];
        struct value_list l = { 0 };
        for (size_t i = 0; i < events->len && rc == 0; i++) {
            vars[EXPRENV_SLOT_EVT] = exprenv_event_value(events->items[i]);
            for (size_t j = 0; j < key->n && rc == 0; j++) {
                struct expr_value out;
                struct expr_error e = { 0 };
                if (expr_eval(vm, key->progs[j], vars, &out, &e) < 0) {
                    errors++; /* CrowdSec warns and goes on */
                    continue;
                }
                rc = add_result(&l, vm, &out, c->value_len);
                if (rc == -EINVAL) {
                    errors++;
                    rc = 0;
                }
            }
        }
        if (rc == 0 && l.n > 0) {
            char *json = truncate_json(&l, c->value_len);
            if (json == NULL || meta_append(ret, key->name, json) < 0)
                rc = -ENOMEM;
            free(json);
        }
        value_list_clear(&l);
    }
    if (ret_errors != NULL)
        *ret_errors += errors;
    return rc;
}

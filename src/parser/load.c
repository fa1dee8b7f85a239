/*
 * load.c - one parser node from its YAML tree, decoded as strictly as
 * CrowdSec's yaml.v2 UnmarshalStrict does (unknown or duplicate key, a
 * collection where a string belongs: load error naming the line and key),
 * then compiled in CrowdSec's order (node.go compile): filter,
 * pattern_syntax, grok, stash, children, statics, whitelist, then the
 * "Node is empty" and onsuccess checks.
 *
 * A document is decoded twice: once only to validate (every document, even
 * one CrowdSec then skips for having no name, must be well-formed), then to
 * compile when it is kept.
 */
#include "common/common.h"

#include "common/gotime.h"
#include "config/config.h"
#include "exprenv/exprenv.h"
#include "grok/grok.h"
#include "parser/internal.h"

int
parser_load_fail(struct parser_loader *ld, int line, const char *fmt, ...)
{
    va_list ap;

    snprintf(ld->err->file, sizeof(ld->err->file), "%s", ld->file ? ld->file : "");
    ld->err->line = line;
    va_start(ap, fmt);
    vsnprintf(ld->err->message, sizeof(ld->err->message), fmt, ap);
    va_end(ap);
    return -1;
}

static int
oom(struct parser_loader *ld, int line)
{
    parser_load_fail(ld, line, "out of memory");
    return -ENOMEM;
}

int
parser_yaml_string(struct parser_loader *ld, const struct ynode *v, const char *key, char **ret)
{
    *ret = NULL;
    if (ynode_is_null(v))
        return 0;
    if (v->type != YNODE_SCALAR)
        return parser_load_fail(ld, v->line, "key \"%s\": cannot unmarshal %s into string", key,
                                ynode_kind(v));
    if ((*ret = strdup(v->str)) == NULL)
        return oom(ld, v->line);
    return 0;
}

/* yaml.v2's YAML 1.1 booleans. */
static int
yaml_bool(struct parser_loader *ld, const struct ynode *v, const char *key, bool *ret)
{
    int b;

    *ret = false;
    if (ynode_is_null(v))
        return 0;
    if ((b = ynode_bool_value(v)) >= 0) {
        *ret = b == 1;
        return 0;
    }
    return parser_load_fail(ld, v->line, "key \"%s\": cannot unmarshal %s `%.40s` into bool", key,
                            ynode_kind(v), v->type == YNODE_SCALAR ? v->str : "");
}

int
parser_yaml_int(struct parser_loader *ld, const struct ynode *v, const char *key, int64_t *ret)
{
    char *end;

    *ret = 0;
    if (ynode_is_null(v))
        return 0;
    if (v->type == YNODE_SCALAR && v->plain && v->len > 0 && v->len < 20) {
        errno = 0;
        long long x = strtoll(v->str, &end, 10);
        if (errno == 0 && *end == '\0') {
            *ret = x;
            return 0;
        }
    }
    return parser_load_fail(ld, v->line, "key \"%s\": cannot unmarshal %s `%.40s` into int", key,
                            ynode_kind(v), v->type == YNODE_SCALAR ? v->str : "");
}

void
parser_string_list_free(char **l, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(l[i]);
    free(l);
}

int
parser_yaml_string_list(struct parser_loader *ld, const struct ynode *v, const char *key,
                        char ***ret, size_t *ret_n)
{
    char **l = NULL;
    size_t n = 0;
    int rc;

    *ret = NULL;
    *ret_n = 0;
    if (ynode_is_null(v))
        return 0;
    if (v->type != YNODE_SEQ)
        return parser_load_fail(ld, v->line, "key \"%s\": cannot unmarshal %s into []string", key,
                                ynode_kind(v));
    if (v->n > 0 && (l = calloc(v->n, sizeof(*l))) == NULL)
        return oom(ld, v->line);
    for (; n < v->n; n++) {
        if ((rc = parser_yaml_string(ld, v->items[n], key, &l[n])) < 0) {
            parser_string_list_free(l, n);
            return rc;
        }
        if (l[n] == NULL && (l[n] = strdup("")) == NULL) {
            parser_string_list_free(l, n);
            return oom(ld, v->line);
        }
    }
    *ret = l;
    *ret_n = n;
    return 0;
}

int
parser_compile_expr(struct parser_loader *ld, const struct ynode *v, const char *key, bool boolean,
                    struct expr_program **ret)
{
    struct expr_error err;
    char *src = NULL;
    int rc;

    *ret = NULL;
    if ((rc = parser_yaml_string(ld, v, key, &src)) < 0 || src == NULL || src[0] == '\0' ||
        !ld->compile)
        goto out;
    *ret =
        expr_compile(ld->ps->env, src, strlen(src), boolean ? EXPR_T(EXPR_BOOL) : EXPR_T_ANY, &err);
    if (*ret == NULL)
        rc = parser_load_fail(ld, v->line + (err.line > 1 ? err.line - 1 : 0),
                              "key \"%s\": compilation of \"%.120s\" failed: %s", key, src,
                              err.message);
out:
    free(src);
    return rc;
}

int
parser_yaml_check_keys(struct parser_loader *ld, const struct ynode *y, const char *what,
                       const char *const *allowed, size_t nallowed)
{
    const struct ynode *k;

    switch (ynode_check_keys(y, allowed, nallowed, &k)) {
    case YKEYS_NOT_MAP:
        return parser_load_fail(ld, y->line, "cannot unmarshal %s into %s", ynode_kind(y), what);
    case YKEYS_NOT_STRING:
        return parser_load_fail(ld, k->line, "%s: a key must be a string, not %s", what,
                                ynode_kind(k));
    case YKEYS_UNKNOWN:
        return parser_load_fail(ld, k->line, "field \"%.60s\" not found in type %s", k->str, what);
    case YKEYS_DUPLICATE:
        return parser_load_fail(ld, k->line, "key \"%.60s\" already set in map", k->str);
    default: return 0;
    }
}

const struct ynode *
parser_yaml_get(const struct ynode *y, const char *key)
{
    return ynode_map_get(y, key);
}

static const char *const node_keys[] = {
    "format",     "debug",   "profiling", "name",      "author", "description",
    "references", "stage",   "onsuccess", "filter",    "nodes",  "pattern_syntax",
    "grok",       "statics", "stash",     "whitelist", "data",
};
static const char *const grok_keys[] = { "apply_on", "name", "pattern", "expression", "statics" };
static const char *const data_keys[] = { "source_url", "dest_file", "type", "cache",
                                         "strategy",   "size",      "ttl" };

/* A sequence (or null) whose items go to fn; collection type errors name key. */
static int
yaml_seq(struct parser_loader *ld, const struct ynode *v, const char *key)
{
    if (ynode_is_null(v))
        return 0;
    if (v->type != YNODE_SEQ)
        return parser_load_fail(ld, v->line, "key \"%s\": cannot unmarshal %s into a list", key,
                                ynode_kind(v));
    return 0;
}

/*
 * data: entries. Checked in both passes; loaded (compile pass) into the
 * helpers' data store. CrowdSec only logs a file that fails to load, so a
 * missing data file leaves File()/RegexpInFile() empty rather than failing.
 */
static int
decode_data(struct parser_loader *ld, const struct ynode *v, bool compile)
{
    int rc;

    if ((rc = yaml_seq(ld, v, "data")) < 0 || ynode_is_null(v))
        return rc;
    for (size_t i = 0; i < v->n; i++) {
        const struct ynode *d = v->items[i];
        char *dest = NULL, *type = NULL, *s = NULL;
        bool b;
        int64_t x;
        if ((rc = parser_yaml_check_keys(ld, d, "enrichment.DataProvider", data_keys,
                                         ARRAY_SIZE(data_keys))) < 0)
            return rc;
        if ((rc = parser_yaml_string(ld, parser_yaml_get(d, "source_url"), "source_url", &s)) < 0 ||
            (free(s), s = NULL,
             rc = parser_yaml_string(ld, parser_yaml_get(d, "strategy"), "strategy", &s)) < 0 ||
            (rc = yaml_bool(ld, parser_yaml_get(d, "cache"), "cache", &b)) < 0 ||
            (rc = parser_yaml_int(ld, parser_yaml_get(d, "size"), "size", &x)) < 0)
            goto next;
        free(s);
        s = NULL;
        if ((rc = parser_yaml_string(ld, parser_yaml_get(d, "ttl"), "ttl", &s)) < 0)
            goto next;
        if (s != NULL && gotime_parse_duration(s, strlen(s), &x) < 0) {
            rc = parser_load_fail(ld, parser_yaml_get(d, "ttl")->line,
                                  "key \"ttl\": time: invalid duration \"%.60s\"", s);
            goto next;
        }
        if ((rc = parser_yaml_string(ld, parser_yaml_get(d, "dest_file"), "dest_file", &dest)) <
                0 ||
            (rc = parser_yaml_string(ld, parser_yaml_get(d, "type"), "type", &type)) < 0)
            goto next;
        enum expr_data_type t;
        if (compile && ld->data_dir != NULL && type != NULL && type[0] != '\0' && dest != NULL &&
            expr_data_type_parse(type, &t) == 0) {
            struct expr_error err;
            (void)expr_data_load(ld->data_dir, dest, t, &err);
        }
    next:
        free(s);
        free(dest);
        free(type);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* pattern_syntax: NAME: regex, added in order; a name already defined keeps its first regex. */
static int
decode_pattern_syntax(struct parser_loader *ld, const struct ynode *v, bool compile)
{
    if (ynode_is_null(v))
        return 0;
    if (v->type != YNODE_MAP)
        return parser_load_fail(ld, v->line,
                                "key \"pattern_syntax\": cannot unmarshal %s into yaml.MapSlice",
                                ynode_kind(v));
    for (size_t i = 0; i < v->n; i++) {
        const struct ynode *k = v->items[2 * i], *r = v->items[2 * i + 1];
        if (k->type != YNODE_SCALAR || r == NULL || r->type != YNODE_SCALAR)
            return parser_load_fail(ld, k->line,
                                    "pattern_syntax: name and pattern must be strings");
        if (!compile)
            continue;
        int rc = grok_library_add(ld->grok, k->str, r->str);
        if (rc == -ENOMEM)
            return oom(ld, k->line);
        if (rc < 0 && rc != -EEXIST)
            return parser_load_fail(ld, k->line, "pattern_syntax: unable to add %.60s", k->str);
    }
    return 0;
}

static int
decode_statics(struct parser_loader *ld, const struct ynode *v, const char *key, bool node_level,
               bool compile, struct parser_static **ret, size_t *ret_n)
{
    int rc;

    if ((rc = yaml_seq(ld, v, key)) < 0 || ynode_is_null(v))
        return rc;
    if (!compile) {
        struct parser_static tmp;
        for (size_t i = 0; i < v->n; i++) {
            if ((rc = parser_static_decode(ld, v->items[i], &tmp, node_level)) < 0)
                return rc;
            parser_static_clear(&tmp);
        }
        return 0;
    }
    if (v->n > 0 && (*ret = calloc(v->n, sizeof(**ret))) == NULL)
        return oom(ld, v->line);
    for (size_t i = 0; i < v->n; i++) {
        if ((rc = parser_static_decode(ld, v->items[i], &(*ret)[i], node_level)) < 0)
            return rc;
        (*ret_n)++;
    }
    return 0;
}

static int
decode_grok(struct parser_loader *ld, const struct ynode *v, struct parser_node *n, bool compile)
{
    char *name = NULL, *pattern = NULL, *apply_on = NULL, *expression = NULL;
    struct grok_error gerr;
    const char *text;
    int rc;

    if (ynode_is_null(v))
        return 0;
    if ((rc = parser_yaml_check_keys(ld, v, "parser.GrokPattern", grok_keys,
                                     ARRAY_SIZE(grok_keys))) < 0)
        return rc;
    if ((rc = parser_yaml_string(ld, parser_yaml_get(v, "name"), "name", &name)) < 0 ||
        (rc = parser_yaml_string(ld, parser_yaml_get(v, "pattern"), "pattern", &pattern)) < 0 ||
        (rc = parser_yaml_string(ld, parser_yaml_get(v, "apply_on"), "apply_on", &apply_on)) < 0 ||
        (rc = parser_yaml_string(ld, parser_yaml_get(v, "expression"), "expression", &expression)) <
            0)
        goto out;
    bool has_name = name != NULL && name[0] != '\0', has_pattern = pattern != NULL && pattern[0];
    bool has_apply = apply_on != NULL && apply_on[0],
         has_expr = expression != NULL && expression[0];
    if (!has_name && !has_pattern && !has_apply && !has_expr) {
        rc = decode_statics(ld, parser_yaml_get(v, "statics"), "statics", false, compile,
                            &n->grok.statics, &n->grok.nstatics);
        goto out;
    }
    if (!has_name && !has_pattern) {
        rc = parser_load_fail(ld, v->line, "grok needs 'pattern' or 'name'");
        goto out;
    }
    if (!has_apply && !has_expr) {
        rc = parser_load_fail(ld, v->line, "grok requires 'expression' or 'apply_on'");
        goto out;
    }
    if (compile) {
        n->has_grok = true;
        if (has_name) {
            text = grok_library_get(ld->grok, name);
            if (text == NULL) {
                rc = parser_load_fail(ld, parser_yaml_get(v, "name")->line,
                                      "key \"name\": unable to find grok \"%.100s\"", name);
                goto out;
            }
        } else {
            text = pattern;
        }
        n->grok.pattern = grok_compile(ld->grok, text, &gerr);
        if (n->grok.pattern == NULL) {
            const struct ynode *at = parser_yaml_get(v, has_name ? "name" : "pattern");
            rc = parser_load_fail(ld, at->line, "key \"%s\": failed to compile grok \"%.100s\": %s",
                                  has_name ? "name" : "pattern", has_name ? name : pattern,
                                  gerr.message);
            goto out;
        }
        size_t nf = grok_field_count(n->grok.pattern);
        if (nf > ld->ps->max_fields)
            ld->ps->max_fields = nf;
        if (has_apply) {
            n->grok.apply_on_raw = strcmp(apply_on, "Line.Raw") == 0;
            n->grok.apply_on = apply_on;
            apply_on = NULL;
        } else if ((rc = parser_compile_expr(ld, parser_yaml_get(v, "expression"), "expression",
                                             false, &n->grok.expression)) < 0) {
            goto out;
        }
    }
    rc = decode_statics(ld, parser_yaml_get(v, "statics"), "statics", false, compile,
                        &n->grok.statics, &n->grok.nstatics);
out:
    free(name);
    free(pattern);
    free(apply_on);
    free(expression);
    return rc;
}

static int
decode_stashes(struct parser_loader *ld, const struct ynode *v, struct parser_node *n, bool compile)
{
    int rc;

    if ((rc = yaml_seq(ld, v, "stash")) < 0 || ynode_is_null(v))
        return rc;
    if (!compile) {
        for (size_t i = 0; i < v->n; i++) {
            struct parser_stash tmp;
            if ((rc = parser_stash_decode(ld, v->items[i], &tmp)) < 0)
                return rc;
            parser_stash_clear(&tmp);
        }
        return 0;
    }
    if (v->n > 0 && (n->stashes = calloc(v->n, sizeof(*n->stashes))) == NULL)
        return oom(ld, v->line);
    for (size_t i = 0; i < v->n; i++) {
        if ((rc = parser_stash_decode(ld, v->items[i], &n->stashes[i])) < 0)
            return rc;
        n->nstashes++;
    }
    return 0;
}

int
parser_node_decode(struct parser_loader *ld, const struct ynode *y, struct parser_node *n,
                   const char *parent_name)
{
    bool compile = ld->compile;
    char *s = NULL, **refs = NULL;
    size_t nrefs = 0;
    bool b, valid = false;
    int rc;

    memset(n, 0, sizeof(*n));
    if ((rc = parser_yaml_check_keys(ld, y, "parser.Node", node_keys, ARRAY_SIZE(node_keys))) < 0)
        return rc;
    /* metadata: checked for type, then dropped */
    static const char *const meta[] = { "format", "author", "description", "stage" };
    for (size_t i = 0; i < ARRAY_SIZE(meta); i++) {
        if ((rc = parser_yaml_string(ld, parser_yaml_get(y, meta[i]), meta[i], &s)) < 0)
            return rc;
        free(s);
        s = NULL;
    }
    if ((rc = yaml_bool(ld, parser_yaml_get(y, "debug"), "debug", &b)) < 0 ||
        (rc = yaml_bool(ld, parser_yaml_get(y, "profiling"), "profiling", &b)) < 0 ||
        (rc = parser_yaml_string_list(ld, parser_yaml_get(y, "references"), "references", &refs,
                                      &nrefs)) < 0)
        return rc;
    parser_string_list_free(refs, nrefs);

    if ((rc = parser_yaml_string(ld, parser_yaml_get(y, "name"), "name", &n->name)) < 0)
        return rc;
    if ((n->name == NULL || n->name[0] == '\0') && parent_name != NULL) {
        free(n->name);
        size_t len = strlen(parent_name) + sizeof("child-");
        if ((n->name = malloc(len)) == NULL)
            return oom(ld, y->line);
        snprintf(n->name, len, "child-%s", parent_name);
    }
    if (n->name == NULL && (n->name = strdup("")) == NULL)
        return oom(ld, y->line);

    const struct ynode *on = parser_yaml_get(y, "onsuccess");
    if ((rc = parser_yaml_string(ld, on, "onsuccess", &s)) < 0)
        return rc;
    if (s != NULL && strcmp(s, "continue") != 0 && strcmp(s, "next_stage") != 0 && s[0] != '\0') {
        rc = parser_load_fail(ld, on->line, "key \"onsuccess\": \"%.60s\" not continue,next_stage",
                              s);
        free(s);
        return rc;
    }
    n->next_stage = s != NULL && strcmp(s, "next_stage") == 0;
    free(s);
    s = NULL;

    if ((rc = parser_compile_expr(ld, parser_yaml_get(y, "filter"), "filter", true, &n->filter)) <
        0)
        return rc;
    if ((rc = decode_pattern_syntax(ld, parser_yaml_get(y, "pattern_syntax"), compile)) < 0 ||
        (rc = decode_grok(ld, parser_yaml_get(y, "grok"), n, compile)) < 0 ||
        (rc = decode_stashes(ld, parser_yaml_get(y, "stash"), n, compile)) < 0)
        return rc;
    valid = n->has_grok || n->grok.expression != NULL;
    if (!compile) {
        const struct ynode *g = parser_yaml_get(y, "grok");
        valid = g != NULL && g->type == YNODE_MAP &&
                (parser_yaml_get(g, "name") || parser_yaml_get(g, "pattern"));
    }

    const struct ynode *kids = parser_yaml_get(y, "nodes");
    if ((rc = yaml_seq(ld, kids, "nodes")) < 0)
        return rc;
    if (!ynode_is_null(kids) && kids->n > 0) {
        if ((n->children = calloc(kids->n, sizeof(*n->children))) == NULL)
            return oom(ld, kids->line);
        for (size_t i = 0; i < kids->n; i++) {
            rc = parser_node_decode(ld, kids->items[i], &n->children[i], n->name);
            n->nchildren++;
            if (rc < 0)
                return rc;
            valid = true;
        }
    }
    const struct ynode *st = parser_yaml_get(y, "statics");
    if ((rc = decode_statics(ld, st, "statics", true, compile, &n->statics, &n->nstatics)) < 0)
        return rc;
    if (!ynode_is_null(st) && st->n > 0)
        valid = true;
    const struct ynode *wl = parser_yaml_get(y, "whitelist");
    if (!ynode_is_null(wl)) {
        if ((rc = parser_whitelist_decode(ld, wl, &n->wl)) < 0)
            return rc;
        if (parser_whitelist_present(&n->wl))
            valid = true;
        if (!compile)
            parser_whitelist_clear(&n->wl);
    }
    if (!valid && compile)
        return parser_load_fail(ld, y->line, "node \"%.100s\": Node is empty", n->name);
    return decode_data(ld, parser_yaml_get(y, "data"), compile);
}

void
parser_node_clear(struct parser_node *n)
{
    if (n == NULL)
        return;
    free(n->name);
    expr_program_free(n->filter);
    parser_whitelist_clear(&n->wl);
    grok_pattern_free(n->grok.pattern);
    free(n->grok.apply_on);
    expr_program_free(n->grok.expression);
    for (size_t i = 0; i < n->grok.nstatics; i++)
        parser_static_clear(&n->grok.statics[i]);
    free(n->grok.statics);
    for (size_t i = 0; i < n->nstashes; i++)
        parser_stash_clear(&n->stashes[i]);
    free(n->stashes);
    for (size_t i = 0; i < n->nstatics; i++)
        parser_static_clear(&n->statics[i]);
    free(n->statics);
    for (size_t i = 0; i < n->nchildren; i++)
        parser_node_clear(&n->children[i]);
    free(n->children);
    memset(n, 0, sizeof(*n));
}

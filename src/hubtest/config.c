/*
 * config.c - a hub test's config.yaml, read as pkg/hubtest reads it with
 * yaml.v3: the keys it knows are typed, every other key (collections, the
 * `ostoverflows` typo of one test) is silently ignored. Sequences may hold
 * comments and "" entries; "" entries are kept here and skipped by the runner.
 */
#include "hubtest/internal.h"

#include <yaml.h>

void
hubtest_strlist_clear(struct hubtest_strlist *l)
{
    for (size_t i = 0; i < l->len; i++)
        free(l->items[i]);
    free(l->items);
    l->items = NULL;
    l->len = 0;
}

int
hubtest_strlist_push(struct hubtest_strlist *l, const char *s)
{
    char *copy = strdup(s);
    if (copy == NULL)
        return -ENOMEM;
    char **items = realloc(l->items, (l->len + 1) * sizeof(*items));
    if (items == NULL) {
        free(copy);
        return -ENOMEM;
    }
    items[l->len++] = copy;
    l->items = items;
    return 0;
}

static void
kv_free(struct hubtest_kv *kv, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(kv[i].key);
        free(kv[i].value);
    }
    free(kv);
}

void
hubtest_config_clear(struct hubtest_config *c)
{
    hubtest_strlist_clear(&c->parsers);
    hubtest_strlist_clear(&c->scenarios);
    hubtest_strlist_clear(&c->postoverflows);
    free(c->log_file);
    free(c->log_type);
    kv_free(c->labels, c->nlabels);
    for (size_t i = 0; i < c->nstatics; i++)
        kv_free(c->statics[i].kv, c->statics[i].len);
    free(c->statics);
    memset(c, 0, sizeof(*c));
}

static const char *
scalar(yaml_node_t *n)
{
    return n != NULL && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

/* A plain `~`, `null` or empty scalar is YAML's null. */
static bool
is_null(yaml_node_t *n)
{
    if (n == NULL)
        return true;
    if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return false;
    const char *s = scalar(n);
    return s[0] == '\0' || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 ||
           strcmp(s, "Null") == 0 || strcmp(s, "NULL") == 0;
}

static int
read_strlist(yaml_document_t *doc, yaml_node_t *n, struct hubtest_strlist *ret, const char *key,
             char *err, size_t errlen)
{
    if (is_null(n))
        return 0;
    if (n->type != YAML_SEQUENCE_NODE) {
        snprintf(err, errlen, "line %zu: %s: expected a list", n->start_mark.line + 1, key);
        return -1;
    }
    for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
         it++) {
        yaml_node_t *e = yaml_document_get_node(doc, *it);
        const char *s = scalar(e);
        if (s == NULL) {
            snprintf(err, errlen, "line %zu: %s: expected a list of strings",
                     e != NULL ? e->start_mark.line + 1 : 0, key);
            return -1;
        }
        if (hubtest_strlist_push(ret, is_null(e) ? "" : s) < 0) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
    }
    return 0;
}

/* A mapping of scalars into key/value pairs (labels, one static). */
static int
read_kv(yaml_document_t *doc, yaml_node_t *n, struct hubtest_kv **ret, size_t *ret_n,
        const char *key, char *err, size_t errlen)
{
    if (is_null(n))
        return 0;
    if (n->type != YAML_MAPPING_NODE) {
        snprintf(err, errlen, "line %zu: %s: expected a mapping", n->start_mark.line + 1, key);
        return -1;
    }
    size_t count = (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
    struct hubtest_kv *kv = calloc(count ? count : 1, sizeof(*kv));
    if (kv == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    size_t len = 0;
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        const char *k = scalar(yaml_document_get_node(doc, p->key));
        yaml_node_t *vn = yaml_document_get_node(doc, p->value);
        const char *v = scalar(vn);
        if (k == NULL || v == NULL) {
            snprintf(err, errlen, "line %zu: %s: expected string keys and values",
                     n->start_mark.line + 1, key);
            kv_free(kv, len);
            return -1;
        }
        kv[len].key = strdup(k);
        kv[len].value = strdup(is_null(vn) ? "" : v);
        len++;
        if (kv[len - 1].key == NULL || kv[len - 1].value == NULL) {
            snprintf(err, errlen, "out of memory");
            kv_free(kv, len);
            return -1;
        }
    }
    *ret = kv;
    *ret_n = len;
    return 0;
}

static int
read_statics(yaml_document_t *doc, yaml_node_t *n, struct hubtest_config *c, char *err,
             size_t errlen)
{
    if (is_null(n))
        return 0;
    if (n->type != YAML_SEQUENCE_NODE) {
        snprintf(err, errlen, "line %zu: override_statics: expected a list",
                 n->start_mark.line + 1);
        return -1;
    }
    size_t count = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
    if (count == 0)
        return 0;
    c->statics = calloc(count, sizeof(*c->statics));
    if (c->statics == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
         it++) {
        struct hubtest_static *st = &c->statics[c->nstatics++];
        if (read_kv(doc, yaml_document_get_node(doc, *it), &st->kv, &st->len, "override_statics",
                    err, errlen) < 0)
            return -1;
    }
    return 0;
}

static int
read_string(yaml_node_t *n, char **ret, const char *key, char *err, size_t errlen)
{
    const char *s = scalar(n);
    if (s == NULL) {
        snprintf(err, errlen, "line %zu: %s: expected a string", n->start_mark.line + 1, key);
        return -1;
    }
    free(*ret);
    *ret = strdup(is_null(n) ? "" : s);
    if (*ret == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

static int
read_bool(yaml_node_t *n, bool *ret, const char *key, char *err, size_t errlen)
{
    const char *s = scalar(n);
    if (is_null(n)) {
        *ret = false;
        return 0;
    }
    /* yaml.v3 decodes YAML 1.1 booleans into a bool field too. */
    static const char *const yes[] = {
        "true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON"
    };
    static const char *const no[] = { "false", "False", "FALSE", "no", "No",
                                      "NO",    "off",   "Off",   "OFF" };
    for (size_t i = 0; s != NULL && i < ARRAY_SIZE(yes); i++) {
        if (strcmp(s, yes[i]) == 0) {
            *ret = true;
            return 0;
        }
        if (strcmp(s, no[i]) == 0) {
            *ret = false;
            return 0;
        }
    }
    snprintf(err, errlen, "line %zu: %s: expected a boolean", n->start_mark.line + 1, key);
    return -1;
}

static int
read_root(yaml_document_t *doc, struct hubtest_config *c, char *err, size_t errlen)
{
    yaml_node_t *root = yaml_document_get_root_node(doc);
    if (root == NULL) {
        snprintf(err, errlen, "empty file");
        return -1;
    }
    if (root->type != YAML_MAPPING_NODE) {
        snprintf(err, errlen, "expected a mapping at the top");
        return -1;
    }
    for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top;
         p++) {
        const char *k = scalar(yaml_document_get_node(doc, p->key));
        yaml_node_t *v = yaml_document_get_node(doc, p->value);
        int rc = 0;
        if (k == NULL || v == NULL)
            continue;
        if (strcmp(k, "parsers") == 0)
            rc = read_strlist(doc, v, &c->parsers, k, err, errlen);
        else if (strcmp(k, "scenarios") == 0)
            rc = read_strlist(doc, v, &c->scenarios, k, err, errlen);
        else if (strcmp(k, "postoverflows") == 0)
            rc = read_strlist(doc, v, &c->postoverflows, k, err, errlen);
        else if (strcmp(k, "log_file") == 0)
            rc = read_string(v, &c->log_file, k, err, errlen);
        else if (strcmp(k, "log_type") == 0)
            rc = read_string(v, &c->log_type, k, err, errlen);
        else if (strcmp(k, "labels") == 0)
            rc = read_kv(doc, v, &c->labels, &c->nlabels, k, err, errlen);
        else if (strcmp(k, "ignore_parsers") == 0)
            rc = read_bool(v, &c->ignore_parsers, k, err, errlen);
        else if (strcmp(k, "override_statics") == 0)
            rc = read_statics(doc, v, c, err, errlen);
        if (rc < 0)
            return -1;
    }
    return 0;
}

int
hubtest_config_load(const char *path, struct hubtest_config *ret, char *err, size_t errlen)
{
    memset(ret, 0, sizeof(*ret));
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    yaml_parser_t parser;
    yaml_document_t doc;
    int rc = -1;
    if (!yaml_parser_initialize(&parser)) {
        fclose(f);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    yaml_parser_set_input_file(&parser, f);
    if (!yaml_parser_load(&parser, &doc)) {
        snprintf(err, errlen, "%s: line %zu: %s", path, parser.problem_mark.line + 1,
                 parser.problem != NULL ? parser.problem : "invalid YAML");
        goto out_parser;
    }
    char msg[384] = "";
    rc = read_root(&doc, ret, msg, sizeof(msg));
    if (rc < 0) {
        snprintf(err, errlen, "%s: %s", path, msg);
        hubtest_config_clear(ret);
    }
    yaml_document_delete(&doc);
out_parser:
    yaml_parser_delete(&parser);
    fclose(f);
    return rc;
}

/*
 * yaml_tree.c - libyaml's event stream turned into struct ynode trees, one
 * per document, with an explicit stack instead of recursion so hostile depth
 * costs nothing but an error.
 */
#include "common/common.h"

#include <yaml.h>

#include "config/config.h"

#define YTREE_ARENA_CHUNK 16384

static int
push_item(struct ytree *t, struct ynode *parent, struct ynode *child)
{
    if (parent->n == parent->cap) {
        size_t ncap = parent->cap ? parent->cap * 2 : 8;
        struct ynode **items = arena_realloc(&t->arena, parent->items, parent->cap * sizeof(*items),
                                             ncap * sizeof(*items));
        if (items == NULL)
            return -ENOMEM;
        parent->items = items;
        parent->cap = ncap;
    }
    parent->items[parent->n++] = child;
    return 0;
}

static int
push_doc(struct ytree *t, struct ynode *doc)
{
    if (t->ndocs == t->cap) {
        size_t ncap = t->cap ? t->cap * 2 : 4;
        struct ynode **docs =
            arena_realloc(&t->arena, t->docs, t->cap * sizeof(*docs), ncap * sizeof(*docs));
        if (docs == NULL)
            return -ENOMEM;
        t->docs = docs;
        t->cap = ncap;
    }
    t->docs[t->ndocs++] = doc;
    return 0;
}

static struct ynode *
new_node(struct ytree *t, int type, const yaml_event_t *ev)
{
    struct ynode *n = arena_zalloc(&t->arena, sizeof(*n));

    if (n == NULL)
        return NULL;
    n->type = type;
    n->line = (int)ev->start_mark.line + 1;
    return n;
}

void
ytree_free(struct ytree *t)
{
    if (t == NULL)
        return;
    arena_free(&t->arena);
    free(t);
}

/*
 * Reads events until the end of the stream. stack[depth-1] is the open
 * collection; a finished node goes into it, or becomes the document root.
 */
int
ytree_parse(const char *buf, size_t len, struct ytree **ret, char *err, size_t errlen,
            int *ret_line)
{
    yaml_parser_t parser;
    yaml_event_t ev;
    struct ytree *t = calloc(1, sizeof(*t));
    struct ynode *stack[YTREE_MAX_DEPTH];
    struct ynode *root = NULL;
    size_t depth = 0, count = 0;
    bool done = false;
    int rc = -1;

    *ret_line = 0;
    if (t == NULL)
        return -ENOMEM;
    arena_init(&t->arena, YTREE_ARENA_CHUNK);
    if (!yaml_parser_initialize(&parser)) {
        free(t);
        return -ENOMEM;
    }
    /* libyaml asserts on a NULL input, even an empty one */
    yaml_parser_set_input_string(&parser, (const unsigned char *)(buf != NULL ? buf : ""),
                                 buf != NULL ? len : 0);
    while (!done) {
        struct ynode *n = NULL;
        if (!yaml_parser_parse(&parser, &ev)) {
            snprintf(err, errlen, "yaml: %s%s%s", parser.problem ? parser.problem : "syntax error",
                     parser.context ? " " : "", parser.context ? parser.context : "");
            *ret_line = (int)parser.problem_mark.line + 1;
            goto out;
        }
        switch (ev.type) {
        case YAML_STREAM_END_EVENT: done = true; break;
        case YAML_DOCUMENT_START_EVENT: root = NULL; break;
        case YAML_DOCUMENT_END_EVENT:
            if (push_doc(t, root) < 0) {
                rc = -ENOMEM;
                goto out_event;
            }
            break;
        case YAML_ALIAS_EVENT:
            snprintf(err, errlen, "yaml: aliases are not supported");
            *ret_line = (int)ev.start_mark.line + 1;
            goto out_event;
        case YAML_SCALAR_EVENT:
        case YAML_SEQUENCE_START_EVENT:
        case YAML_MAPPING_START_EVENT:
            if ((ev.type == YAML_SCALAR_EVENT && ev.data.scalar.anchor != NULL) ||
                (ev.type == YAML_SEQUENCE_START_EVENT && ev.data.sequence_start.anchor != NULL) ||
                (ev.type == YAML_MAPPING_START_EVENT && ev.data.mapping_start.anchor != NULL)) {
                snprintf(err, errlen, "yaml: anchors are not supported");
                *ret_line = (int)ev.start_mark.line + 1;
                goto out_event;
            }
            if (++count > YTREE_MAX_NODES) {
                snprintf(err, errlen, "yaml: more than %u nodes", YTREE_MAX_NODES);
                *ret_line = (int)ev.start_mark.line + 1;
                goto out_event;
            }
            n = new_node(t,
                         ev.type == YAML_SCALAR_EVENT           ? YNODE_SCALAR
                         : ev.type == YAML_SEQUENCE_START_EVENT ? YNODE_SEQ
                                                                : YNODE_MAP,
                         &ev);
            if (n == NULL) {
                rc = -ENOMEM;
                goto out_event;
            }
            if (ev.type == YAML_SCALAR_EVENT) {
                n->str = arena_strndup(&t->arena, (const char *)ev.data.scalar.value,
                                       ev.data.scalar.length);
                if (n->str == NULL) {
                    rc = -ENOMEM;
                    goto out_event;
                }
                n->len = ev.data.scalar.length;
                n->plain = ev.data.scalar.plain_implicit && ev.data.scalar.tag == NULL;
            }
            if (depth > 0) {
                if (push_item(t, stack[depth - 1], n) < 0) {
                    rc = -ENOMEM;
                    goto out_event;
                }
            } else {
                root = n;
            }
            if (n->type != YNODE_SCALAR) {
                if (depth == YTREE_MAX_DEPTH) {
                    snprintf(err, errlen, "yaml: nesting deeper than %d", YTREE_MAX_DEPTH);
                    *ret_line = n->line;
                    goto out_event;
                }
                stack[depth++] = n;
            }
            break;
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT:
            if (depth == 0)
                break; /* libyaml never ends more than it started; be safe anyway */
            depth--;
            if (ev.type == YAML_MAPPING_END_EVENT && depth < YTREE_MAX_DEPTH &&
                stack[depth]->n % 2 != 0) {
                snprintf(err, errlen, "yaml: mapping without a value");
                *ret_line = stack[depth]->line;
                goto out_event;
            }
            if (ev.type == YAML_MAPPING_END_EVENT)
                stack[depth]->n /= 2;
            break;
        default: break;
        }
        yaml_event_delete(&ev);
    }
    *ret = t;
    t = NULL;
    rc = 0;
    goto out;
out_event:
    yaml_event_delete(&ev);
out:
    yaml_parser_delete(&parser);
    ytree_free(t);
    return rc;
}

bool
ynode_is_null(const struct ynode *n)
{
    if (n == NULL)
        return true;
    if (n->type != YNODE_SCALAR || !n->plain)
        return false;
    return n->len == 0 || strcmp(n->str, "~") == 0 || strcmp(n->str, "null") == 0 ||
           strcmp(n->str, "Null") == 0 || strcmp(n->str, "NULL") == 0;
}

const char *
ynode_kind(const struct ynode *n)
{
    if (n == NULL)
        return "!!null";
    switch (n->type) {
    case YNODE_MAP: return "!!map";
    case YNODE_SEQ: return "!!seq";
    default: return "!!str";
    }
}

int
ynode_bool_value(const struct ynode *v)
{
    static const char *const yes[] = { "y",    "Y",    "yes", "Yes", "YES", "true",
                                       "True", "TRUE", "on",  "On",  "ON" };
    static const char *const no[] = { "n",     "N",     "no",  "No",  "NO", "false",
                                      "False", "FALSE", "off", "Off", "OFF" };

    if (v == NULL || v->type != YNODE_SCALAR || !v->plain)
        return -1;
    for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
        if (strcmp(v->str, yes[i]) == 0)
            return 1;
        if (strcmp(v->str, no[i]) == 0)
            return 0;
    }
    return -1;
}

const struct ynode *
ynode_map_get(const struct ynode *map, const char *key)
{
    if (map == NULL || map->type != YNODE_MAP)
        return NULL;
    for (size_t i = 0; i < map->n; i++)
        if (map->items[2 * i]->type == YNODE_SCALAR && strcmp(map->items[2 * i]->str, key) == 0)
            return map->items[2 * i + 1];
    return NULL;
}

enum ynode_keys_problem
ynode_check_keys(const struct ynode *map, const char *const *allowed, size_t nallowed,
                 const struct ynode **ret_bad)
{
    *ret_bad = map;
    if (map->type != YNODE_MAP)
        return YKEYS_NOT_MAP;
    for (size_t i = 0; i < map->n; i++) {
        const struct ynode *k = map->items[2 * i];
        bool found = false;
        *ret_bad = k;
        if (k->type != YNODE_SCALAR)
            return YKEYS_NOT_STRING;
        for (size_t j = 0; j < nallowed && !found; j++)
            found = strcmp(k->str, allowed[j]) == 0;
        if (!found)
            return YKEYS_UNKNOWN;
        /* Earlier keys were checked to be scalars by the time this runs. */
        for (size_t j = 0; j < i; j++)
            if (strcmp(map->items[2 * j]->str, k->str) == 0)
                return YKEYS_DUPLICATE;
    }
    return YKEYS_OK;
}

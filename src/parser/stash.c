/*
 * stash.c - a node's `stash:` entries (stash.go): at load, a TTL cache is
 * declared for GetFromStash; at run time the key and value expressions are
 * evaluated and, when both give strings, stored with the entry's TTL.
 */
#include "common/common.h"

#include "common/gotime.h"
#include "config/config.h"
#include "exprenv/exprenv.h"
#include "parser/internal.h"

static const char *const stash_keys[] = { "name", "key", "value", "ttl", "size", "strategy" };

void
parser_stash_clear(struct parser_stash *s)
{
    if (s == NULL)
        return;
    free(s->name);
    expr_program_free(s->key);
    expr_program_free(s->value);
    memset(s, 0, sizeof(*s));
}

int
parser_stash_decode(struct parser_loader *ld, const struct ynode *y, struct parser_stash *ret)
{
    char *key = NULL, *value = NULL, *ttl = NULL, *strategy = NULL;
    int64_t size = 0;
    int rc;

    memset(ret, 0, sizeof(*ret));
    if ((rc = parser_yaml_check_keys(ld, y, "parser.Stash", stash_keys, ARRAY_SIZE(stash_keys))) <
            0 ||
        (rc = parser_yaml_string(ld, parser_yaml_get(y, "name"), "name", &ret->name)) < 0 ||
        (rc = parser_yaml_string(ld, parser_yaml_get(y, "key"), "key", &key)) < 0 ||
        (rc = parser_yaml_string(ld, parser_yaml_get(y, "value"), "value", &value)) < 0 ||
        (rc = parser_yaml_string(ld, parser_yaml_get(y, "ttl"), "ttl", &ttl)) < 0 ||
        (rc = parser_yaml_string(ld, parser_yaml_get(y, "strategy"), "strategy", &strategy)) < 0 ||
        (rc = parser_yaml_int(ld, parser_yaml_get(y, "size"), "size", &size)) < 0)
        goto out;
    if (ret->name == NULL || ret->name[0] == '\0') {
        rc = parser_load_fail(ld, y->line, "stash: name must be set");
        goto out;
    }
    if (value == NULL || value[0] == '\0' || key == NULL || key[0] == '\0' || ttl == NULL ||
        ttl[0] == '\0') {
        rc = parser_load_fail(ld, y->line, "stash %.60s: %s must be set", ret->name,
                              value == NULL || !value[0] ? "value expression"
                              : key == NULL || !key[0]   ? "key expression"
                                                         : "ttl");
        goto out;
    }
    if (gotime_parse_duration(ttl, strlen(ttl), &ret->ttl_ns) < 0) {
        rc = parser_load_fail(ld, parser_yaml_get(y, "ttl")->line,
                              "stash %.60s: while parsing stash ttl: time: invalid duration "
                              "\"%.60s\"",
                              ret->name, ttl);
        goto out;
    }
    if (strategy != NULL && strategy[0] != '\0' && strcmp(strategy, "LRU") != 0 &&
        strcmp(strategy, "LFU") != 0 && strcmp(strategy, "ARC") != 0) {
        rc = parser_load_fail(ld, parser_yaml_get(y, "strategy")->line,
                              "stash %.60s: unknown strategy '%.20s'", ret->name, strategy);
        goto out;
    }
    if (size == 0)
        size = 100;
    if (size < 0) {
        rc = parser_load_fail(ld, parser_yaml_get(y, "size")->line,
                              "stash %.60s: size must be positive", ret->name);
        goto out;
    }
    if ((rc = parser_compile_expr(ld, parser_yaml_get(y, "value"), "value", false, &ret->value)) <
            0 ||
        (rc = parser_compile_expr(ld, parser_yaml_get(y, "key"), "key", false, &ret->key)) < 0)
        goto out;
    if (ld->compile && (rc = expr_stash_declare(ret->name, (size_t)size, ret->ttl_ns)) < 0) {
        rc = parser_load_fail(ld, y->line, "stash %.60s: while initializing cache: %s", ret->name,
                              strerror(-rc));
        goto out;
    }
out:
    free(key);
    free(value);
    free(ttl);
    free(strategy);
    if (rc < 0)
        parser_stash_clear(ret);
    return rc;
}

/* Evaluates e to a string in the vm; false when it fails or is not a string. */
static bool
eval_string(struct parser_worker *w, const struct expr_program *e, struct strv *ret)
{
    struct expr_value out;
    struct expr_error err;

    if (expr_eval(w->vm, e, w->vars, &out, &err) < 0 || out.kind != EXPR_STRING)
        return false;
    *ret = (struct strv){ out.u.s.ptr, out.u.s.len };
    return true;
}

void
parser_stash_apply(struct parser_worker *w, const struct parser_stash *s, size_t n,
                   struct event *evt)
{
    struct strv key, value;

    for (size_t i = 0; i < n; i++) {
        w->vars[EXPRENV_SLOT_EVT] = exprenv_event_value(evt);
        if (!eval_string(w, s[i].value, &value))
            continue;
        /*
         * The key evaluation reuses the vm, whose arena holds the value: copy
         * the value out first (a per-worker buffer, so no malloc per line).
         */
        str_clear(&w->scratch);
        if (str_append(&w->scratch, value.ptr, value.len) < 0)
            continue;
        if (eval_string(w, s[i].key, &key))
            (void)expr_stash_set(s[i].name, key.ptr, key.len, w->scratch.buf, w->scratch.len,
                                 s[i].ttl_ns);
    }
}

/*
 * decode.c - YAML scalars and maps decoded as gopkg.in/yaml.v2 does in strict
 * mode, for the scenario loader. Messages follow yaml.v2's wording so a user
 * who knows CrowdSec's errors recognises ours.
 */
#include "common/common.h"

#include <math.h>

#include "bucket/decode.h"

int
load_fail(struct loader *ld, int line, const char *fmt, ...)
{
    va_list ap;

    snprintf(ld->err->file, sizeof(ld->err->file), "%s", ld->file ? ld->file : "");
    ld->err->line = line;
    va_start(ap, fmt);
    vsnprintf(ld->err->message, sizeof(ld->err->message), fmt, ap);
    va_end(ap);
    return -1;
}

const struct ynode *
yget(const struct ynode *map, const char *key)
{
    return ynode_map_get(map, key);
}

int
ycheck_keys(struct loader *ld, const struct ynode *y, const char *what, const char *const *allowed,
            size_t nallowed)
{
    const struct ynode *k;

    switch (ynode_check_keys(y, allowed, nallowed, &k)) {
    case YKEYS_NOT_MAP:
        return load_fail(ld, y->line, "yaml: cannot unmarshal %s into %s", ynode_kind(y), what);
    case YKEYS_NOT_STRING:
        return load_fail(ld, k->line, "yaml: %s: a key must be a string, not %s", what,
                         ynode_kind(k));
    case YKEYS_UNKNOWN:
        return load_fail(ld, k->line, "yaml: field %.60s not found in type %s", k->str, what);
    case YKEYS_DUPLICATE:
        return load_fail(ld, k->line, "yaml: key \"%.60s\" already set in map", k->str);
    default: return 0;
    }
}

static int
type_error(struct loader *ld, const struct ynode *v, const char *key, const char *into)
{
    return load_fail(ld, v->line, "key \"%s\": cannot unmarshal %s `%.40s` into %s", key,
                     ynode_kind(v), v->type == YNODE_SCALAR ? v->str : "", into);
}

int
ystring(struct loader *ld, const struct ynode *v, const char *key, char **ret)
{
    *ret = NULL;
    if (ynode_is_null(v))
        return 0;
    if (v->type != YNODE_SCALAR)
        return type_error(ld, v, key, "string");
    if ((*ret = strdup(v->str)) == NULL)
        return load_fail(ld, v->line, "out of memory");
    return 0;
}

/* A plain scalar without yaml.v2's '_' digit separators, in buf; false if too long. */
static bool
plain_number(const struct ynode *v, char *buf, size_t size)
{
    size_t n = 0;

    if (v->type != YNODE_SCALAR || !v->plain || v->len == 0)
        return false;
    for (size_t i = 0; i < v->len; i++) {
        if (v->str[i] == '_')
            continue;
        if (n + 1 >= size)
            return false;
        buf[n++] = v->str[i];
    }
    buf[n] = '\0';
    return true;
}

/* yaml.v2 resolves decimal, 0x, 0o/0 octal and 0b ints, then floats; a float fits an int. */
static int
parse_int(const char *s, int64_t *ret)
{
    const char *p = s;
    char *end;
    int base = 10;
    bool neg = false;

    if (*p == '+' || *p == '-')
        neg = *p++ == '-';
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
        base = 16, p += 2;
    else if (p[0] == '0' && p[1] == 'o')
        base = 8, p += 2;
    else if (p[0] == '0' && p[1] == 'b')
        base = 2, p += 2;
    else if (p[0] == '0' && p[1] != '\0')
        base = 8, p += 1;
    if (*p == '\0' || *p == '-' || *p == '+')
        return -1;
    errno = 0;
    unsigned long long u = strtoull(p, &end, base);
    if (errno != 0 || *end != '\0' || u > (unsigned long long)INT64_MAX)
        return -1;
    *ret = neg ? -(int64_t)u : (int64_t)u;
    return 0;
}

static int
parse_float(const char *s, double *ret)
{
    char *end;

    if (strcmp(s, ".inf") == 0 || strcmp(s, "+.inf") == 0 || strcmp(s, ".Inf") == 0) {
        *ret = INFINITY;
        return 0;
    }
    if (strcmp(s, "-.inf") == 0 || strcmp(s, "-.Inf") == 0) {
        *ret = -INFINITY;
        return 0;
    }
    if (strcmp(s, ".nan") == 0 || strcmp(s, ".NaN") == 0) {
        *ret = NAN;
        return 0;
    }
    /* strtod also takes hex floats and "inf"; YAML floats are decimal. */
    for (const char *p = s; *p; p++)
        if (!strchr("0123456789.eE+-", *p))
            return -1;
    errno = 0;
    *ret = strtod(s, &end);
    return errno == 0 && end != s && *end == '\0' ? 0 : -1;
}

int
yint(struct loader *ld, const struct ynode *v, const char *key, int64_t *ret)
{
    char buf[64];
    double f;

    *ret = 0;
    if (ynode_is_null(v))
        return 0;
    if (plain_number(v, buf, sizeof(buf))) {
        if (parse_int(buf, ret) == 0)
            return 0;
        if (parse_float(buf, &f) == 0 && f >= -9.2e18 && f <= 9.2e18) {
            *ret = (int64_t)f;
            return 0;
        }
    }
    return type_error(ld, v, key, "int");
}

int
yfloat32(struct loader *ld, const struct ynode *v, const char *key, float *ret)
{
    char buf[64];
    int64_t i;
    double f;

    *ret = 0;
    if (ynode_is_null(v))
        return 0;
    if (plain_number(v, buf, sizeof(buf))) {
        if (parse_int(buf, &i) == 0) {
            *ret = (float)i;
            return 0;
        }
        if (parse_float(buf, &f) == 0) {
            *ret = (float)f;
            return 0;
        }
    }
    return type_error(ld, v, key, "float32");
}

int
yaml_bool_value(const struct ynode *v)
{
    return ynode_bool_value(v);
}

int
ybool(struct loader *ld, const struct ynode *v, const char *key, bool *ret)
{
    int b;

    *ret = false;
    if (ynode_is_null(v))
        return 0;
    if ((b = yaml_bool_value(v)) < 0)
        return type_error(ld, v, key, "bool");
    *ret = b == 1;
    return 0;
}

int
yseq(struct loader *ld, const struct ynode *v, const char *key)
{
    if (ynode_is_null(v) || v->type == YNODE_SEQ)
        return 0;
    return type_error(ld, v, key, "a list");
}

int
ystring_seq(struct loader *ld, const struct ynode *v, const char *key)
{
    int rc;

    if ((rc = yseq(ld, v, key)) < 0 || ynode_is_null(v))
        return rc;
    for (size_t i = 0; i < v->n; i++)
        if (v->items[i]->type != YNODE_SCALAR)
            return type_error(ld, v->items[i], key, "string");
    return 0;
}

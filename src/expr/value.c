/*
 * value.c - value utilities of the expression engine: Go's == semantics,
 * fmt's %v formatting, encoding/json output and JSON input. (The arena
 * helpers that build strings, arrays and maps live in vm.c.)
 *
 * CrowdSec users compare strings produced by string(), Sprintf("%v") and
 * toJSON(), so every formatting rule here copies Go bit for bit: shortest
 * round-trip floats ("1e+06", "3.14"), sorted map keys, "<nil>", HTML-escaped
 * JSON strings. Values nest, so every recursion carries a depth bound.
 */
#include <inttypes.h>
#include <jansson.h>
#include <math.h>

#include "common/str.h"
#include "expr/internal.h"

#define VALUE_MAX_DEPTH 2000 /* nesting bound for formatting, equality and materialize */

/* --- UTF-8 like Go's unicode/utf8 --- */

int32_t
expr_utf8_decode(const char *s, size_t len, size_t *size)
{
    const unsigned char *p = (const unsigned char *)s;
    if (len == 0) {
        *size = 0;
        return 0xFFFD;
    }
    unsigned char c = p[0];
    if (c < 0x80) {
        *size = 1;
        return c;
    }
    *size = 1;
    if (c < 0xC2 || c > 0xF4)
        return 0xFFFD;
    if (c < 0xE0) {
        if (len < 2 || (p[1] & 0xC0) != 0x80)
            return 0xFFFD;
        *size = 2;
        return ((int32_t)(c & 0x1F) << 6) | (p[1] & 0x3F);
    }
    /* The second byte's range depends on the first (no overlongs, no surrogates, <= 10FFFF). */
    unsigned char lo = 0x80, hi = 0xBF;
    if (c == 0xE0)
        lo = 0xA0;
    else if (c == 0xED)
        hi = 0x9F;
    else if (c == 0xF0)
        lo = 0x90;
    else if (c == 0xF4)
        hi = 0x8F;
    if (len < 2 || p[1] < lo || p[1] > hi)
        return 0xFFFD;
    if (len < 3 || (p[2] & 0xC0) != 0x80)
        return 0xFFFD;
    if (c < 0xF0) {
        *size = 3;
        return ((int32_t)(c & 0x0F) << 12) | ((int32_t)(p[1] & 0x3F) << 6) | (p[2] & 0x3F);
    }
    if (len < 4 || (p[3] & 0xC0) != 0x80)
        return 0xFFFD;
    *size = 4;
    return ((int32_t)(c & 0x07) << 18) | ((int32_t)(p[1] & 0x3F) << 12) |
           ((int32_t)(p[2] & 0x3F) << 6) | (p[3] & 0x3F);
}

size_t
expr_utf8_encode(int32_t r, char *buf)
{
    unsigned char *b = (unsigned char *)buf;
    if (r < 0 || r > 0x10FFFF || (r >= 0xD800 && r <= 0xDFFF))
        r = 0xFFFD;
    if (r < 0x80) {
        b[0] = (unsigned char)r;
        return 1;
    }
    if (r < 0x800) {
        b[0] = (unsigned char)(0xC0 | (r >> 6));
        b[1] = (unsigned char)(0x80 | (r & 0x3F));
        return 2;
    }
    if (r < 0x10000) {
        b[0] = (unsigned char)(0xE0 | (r >> 12));
        b[1] = (unsigned char)(0x80 | ((r >> 6) & 0x3F));
        b[2] = (unsigned char)(0x80 | (r & 0x3F));
        return 3;
    }
    b[0] = (unsigned char)(0xF0 | (r >> 18));
    b[1] = (unsigned char)(0x80 | ((r >> 12) & 0x3F));
    b[2] = (unsigned char)(0x80 | ((r >> 6) & 0x3F));
    b[3] = (unsigned char)(0x80 | (r & 0x3F));
    return 4;
}

bool
expr_rune_is_space(int32_t r)
{
    switch (r) {
    case '\t':
    case '\n':
    case '\v':
    case '\f':
    case '\r':
    case ' ':
    case 0x85:
    case 0xA0:
    case 0x1680:
    case 0x2028:
    case 0x2029:
    case 0x202F:
    case 0x205F:
    case 0x3000: return true;
    default: return r >= 0x2000 && r <= 0x200A;
    }
}

/* --- names, truth, length, elements --- */

const char *
expr_kind_name(enum expr_kind k)
{
    switch (k) {
    case EXPR_NIL: return "nil";
    case EXPR_BOOL: return "bool";
    case EXPR_INT: return "int";
    case EXPR_FLOAT: return "float64";
    case EXPR_STRING: return "string";
    case EXPR_ARRAY: return "[]interface {}";
    case EXPR_MAP: return "map[string]interface {}";
    case EXPR_OBJECT: return "struct";
    case EXPR_TIME: return "time.Time";
    case EXPR_DURATION: return "time.Duration";
    case EXPR_FUNC: return "func";
    case EXPR_ANY: return "interface {}";
    }
    return "unknown";
}

const char *
expr_value_type_name(const struct expr_value *v)
{
    if (v->kind == EXPR_NIL)
        return "<nil>";
    if (v->kind == EXPR_OBJECT) {
        if (v->u.o.cls == &expr_weekday_class)
            return "time.Weekday";
        if (v->u.o.cls == &expr_month_class)
            return "time.Month";
        return v->u.o.cls && v->u.o.cls->name ? v->u.o.cls->name : "struct";
    }
    return expr_kind_name((enum expr_kind)v->kind);
}

bool
expr_value_truthy(const struct expr_value *v)
{
    return v->kind == EXPR_BOOL && v->u.b;
}

int64_t
expr_value_len(const struct expr_value *v)
{
    switch (v->kind) {
    case EXPR_STRING: return (int64_t)v->u.s.len;
    case EXPR_ARRAY: return v->u.a ? (int64_t)v->u.a->len : 0;
    case EXPR_MAP: return v->u.m ? (int64_t)v->u.m->len : 0;
    case EXPR_OBJECT:
        if (v->u.o.cls && v->u.o.cls->len)
            return (int64_t)v->u.o.cls->len(v->u.o.ptr);
        return -1;
    default: return -1;
    }
}

int
expr_value_at(struct expr_vm *vm, const struct expr_value *v, size_t i, struct expr_value *ret)
{
    if (v->kind == EXPR_ARRAY && v->u.a) {
        if (i >= v->u.a->len)
            return expr_vm_error(vm, "index out of range: %zu (array length is %zu)", i,
                                 v->u.a->len);
        *ret = v->u.a->items[i];
        return 0;
    }
    if (v->kind == EXPR_OBJECT && v->u.o.cls && v->u.o.cls->at)
        return v->u.o.cls->at(v->u.o.ptr, vm, i, ret);
    return expr_vm_error(vm, "cannot fetch %zu from %s", i, expr_value_type_name(v));
}

/* --- equality (vm/runtime.Equal, falling back to reflect.DeepEqual) --- */

static bool value_equal(const struct expr_value *a, const struct expr_value *b, bool deep,
                        int depth);

static bool
array_equal(const struct expr_array *x, const struct expr_array *y, bool deep, int depth)
{
    size_t nx = x ? x->len : 0, ny = y ? y->len : 0;
    if (nx != ny)
        return false;
    for (size_t i = 0; i < nx; i++)
        if (!value_equal(&x->items[i], &y->items[i], deep, depth + 1))
            return false;
    return true;
}

/*
 * deep = reflect.DeepEqual: the types must match exactly (1 != 1.0), which is
 * what runtime.Equal falls back to for maps and everything inside them.
 */
static bool
value_equal(const struct expr_value *a, const struct expr_value *b, bool deep, int depth)
{
    if (depth > VALUE_MAX_DEPTH)
        return false;
    if (!deep) {
        if (a->kind == EXPR_INT && b->kind == EXPR_FLOAT)
            return (double)a->u.i == b->u.f;
        if (a->kind == EXPR_FLOAT && b->kind == EXPR_INT)
            return a->u.f == (double)b->u.i;
    }
    if (a->kind != b->kind)
        return false;
    switch (a->kind) {
    case EXPR_NIL: return true;
    case EXPR_BOOL: return a->u.b == b->u.b;
    case EXPR_INT: return a->u.i == b->u.i;
    case EXPR_FLOAT: return a->u.f == b->u.f;
    case EXPR_STRING:
        return a->u.s.len == b->u.s.len &&
               (a->u.s.len == 0 || memcmp(a->u.s.ptr, b->u.s.ptr, a->u.s.len) == 0);
    case EXPR_ARRAY: return array_equal(a->u.a, b->u.a, deep, depth);
    case EXPR_MAP: {
        const struct expr_map *x = a->u.m, *y = b->u.m;
        size_t nx = x ? x->len : 0, ny = y ? y->len : 0;
        if (nx != ny)
            return false;
        for (size_t i = 0; i < nx; i++) {
            const struct expr_value *o = expr_map_get(y, x->entries[i].key, x->entries[i].keylen);
            if (!o || !value_equal(&x->entries[i].value, o, true, depth + 1))
                return false;
        }
        return true;
    }
    case EXPR_OBJECT:
        if (a->u.o.cls != b->u.o.cls)
            return false;
        return a->u.o.ptr == b->u.o.ptr;
    case EXPR_TIME:
        /* time.Time.Equal compares instants; DeepEqual also compares the zone. */
        return a->u.t.unix_ns == b->u.t.unix_ns && (!deep || a->u.t.offset_s == b->u.t.offset_s);
    case EXPR_DURATION: return a->u.d == b->u.d;
    default: return false;
    }
}

bool
expr_value_equal(const struct expr_value *a, const struct expr_value *b)
{
    return value_equal(a, b, false, 0);
}

/* --- floats like strconv.FormatFloat(f, fmt, -1, 64) --- */

/*
 * Shortest decimal digits of a finite, non-zero |f| that read back to f: the
 * first precision whose correctly rounded %e round-trips. Returns the digit
 * count (no trailing zeros) and sets *dp, the decimal point position
 * (value = 0.DIGITS x 10^dp).
 */
static int
float_digits(double f, char digits[24], int *dp)
{
    char buf[48];
    for (int prec = 0; prec <= 16; prec++) {
        snprintf(buf, sizeof(buf), "%.*e", prec, f);
        if (strtod(buf, NULL) == f || prec == 16)
            break;
    }
    int nd = 0;
    const char *p = buf;
    for (; *p && *p != 'e'; p++)
        if (*p >= '0' && *p <= '9' && nd < 23)
            digits[nd++] = *p;
    int exp = *p == 'e' ? (int)strtol(p + 1, NULL, 10) : 0;
    while (nd > 1 && digits[nd - 1] == '0')
        nd--;
    digits[nd] = '\0';
    *dp = exp + 1;
    return nd;
}

static size_t
put(char *buf, size_t size, size_t pos, char c)
{
    if (pos + 1 < size)
        buf[pos] = c;
    return pos + 1;
}

static size_t
finish(char *buf, size_t size, size_t pos)
{
    if (size)
        buf[pos < size ? pos : size - 1] = '\0';
    return pos;
}

/* %e-style with the given digits: d.ddde+XX (at least two exponent digits). */
static size_t
format_e(bool neg, const char *d, int nd, int dp, char *buf, size_t size)
{
    size_t n = 0;
    if (neg)
        n = put(buf, size, n, '-');
    n = put(buf, size, n, d[0]);
    if (nd > 1) {
        n = put(buf, size, n, '.');
        for (int i = 1; i < nd; i++)
            n = put(buf, size, n, d[i]);
    }
    int exp = dp - 1;
    n = put(buf, size, n, 'e');
    n = put(buf, size, n, exp < 0 ? '-' : '+');
    if (exp < 0)
        exp = -exp;
    char e[8];
    int ne = snprintf(e, sizeof(e), "%02d", exp);
    for (int i = 0; i < ne; i++)
        n = put(buf, size, n, e[i]);
    return finish(buf, size, n);
}

/* %f-style with exactly the digits needed. */
static size_t
format_f(bool neg, const char *d, int nd, int dp, char *buf, size_t size)
{
    size_t n = 0;
    if (neg)
        n = put(buf, size, n, '-');
    if (dp <= 0) {
        n = put(buf, size, n, '0');
        n = put(buf, size, n, '.');
        for (int i = 0; i < -dp; i++)
            n = put(buf, size, n, '0');
        for (int i = 0; i < nd; i++)
            n = put(buf, size, n, d[i]);
    } else {
        for (int i = 0; i < dp; i++)
            n = put(buf, size, n, i < nd ? d[i] : '0');
        if (nd > dp) {
            n = put(buf, size, n, '.');
            for (int i = dp; i < nd; i++)
                n = put(buf, size, n, d[i]);
        }
    }
    return finish(buf, size, n);
}

static size_t
format_special(double f, char *buf, size_t size)
{
    const char *s = isnan(f) ? "NaN" : f > 0 ? "+Inf" : "-Inf";
    return (size_t)snprintf(buf, size, "%s", s);
}

size_t
expr_format_float(double f, char *buf, size_t size)
{
    if (!isfinite(f))
        return format_special(f, buf, size);
    bool neg = signbit(f);
    if (f == 0)
        return (size_t)snprintf(buf, size, "%s", neg ? "-0" : "0");
    char d[24];
    int dp;
    int nd = float_digits(fabs(f), d, &dp);
    int exp = dp - 1;
    /* strconv's 'g' with the shortest precision switches to %e from exponent 6 (1e+06). */
    if (exp < -4 || exp >= 6)
        return format_e(neg, d, nd, dp, buf, size);
    return format_f(neg, d, nd, dp, buf, size);
}

/* encoding/json's float encoder: 'f' unless |f| < 1e-6 or >= 1e21, "e-07" cleaned to "e-7". */
static size_t
format_json_float(double f, char *buf, size_t size)
{
    bool neg = signbit(f);
    if (f == 0)
        return (size_t)snprintf(buf, size, "%s", neg ? "-0" : "0");
    char d[24];
    int dp;
    double a = fabs(f);
    int nd = float_digits(a, d, &dp);
    if (a < 1e-6 || a >= 1e21) {
        size_t n = format_e(neg, d, nd, dp, buf, size);
        if (n >= 4 && n < size && buf[n - 4] == 'e' && buf[n - 3] == '-' && buf[n - 2] == '0') {
            buf[n - 2] = buf[n - 1];
            buf[n - 1] = '\0';
            n--;
        }
        return n;
    }
    return format_f(neg, d, nd, dp, buf, size);
}

/* --- host objects --- */

static const struct expr_method *
class_method(const struct expr_class *cls, const char *name)
{
    if (!cls)
        return NULL;
    for (size_t i = 0; i < cls->nmethods; i++)
        if (strcmp(cls->methods[i].name, name) == 0)
            return &cls->methods[i];
    return NULL;
}

static bool
class_is_slice(const struct expr_class *cls)
{
    return cls && !cls->is_map && cls->len && cls->at;
}

static bool
class_is_map(const struct expr_class *cls)
{
    return cls && cls->is_map && cls->len && cls->at && cls->index;
}

static int
materialize(struct expr_vm *vm, const struct expr_value *v, struct expr_value *ret, int depth)
{
    if (depth > VALUE_MAX_DEPTH)
        return expr_vm_error(vm, "recursion depth exceeded");
    switch (v->kind) {
    case EXPR_ARRAY: {
        size_t n = v->u.a ? v->u.a->len : 0;
        struct expr_array *a = expr_vm_array(vm, n);
        if (!a)
            return expr_vm_error(vm, "out of memory");
        for (size_t i = 0; i < n; i++) {
            struct expr_value x = { 0 };
            if (materialize(vm, &v->u.a->items[i], &x, depth + 1) < 0)
                return -1;
            a->items[a->len++] = x;
        }
        *ret = (struct expr_value){ .kind = EXPR_ARRAY, .u.a = a };
        return 0;
    }
    case EXPR_MAP: {
        size_t n = v->u.m ? v->u.m->len : 0;
        struct expr_map *m = expr_vm_map(vm, n);
        if (!m)
            return expr_vm_error(vm, "out of memory");
        for (size_t i = 0; i < n; i++) {
            const struct expr_map_entry *e = &v->u.m->entries[i];
            struct expr_value x = { 0 };
            if (materialize(vm, &e->value, &x, depth + 1) < 0)
                return -1;
            if (expr_map_set(vm, m, e->key, e->keylen, x) < 0)
                return expr_vm_error(vm, "out of memory");
        }
        *ret = (struct expr_value){ .kind = EXPR_MAP, .u.m = m };
        return 0;
    }
    case EXPR_OBJECT: {
        const struct expr_class *cls = v->u.o.cls;
        const void *obj = v->u.o.ptr;
        if (class_is_map(cls)) {
            size_t n = cls->len(obj);
            struct expr_map *m = expr_vm_map(vm, n);
            if (!m)
                return expr_vm_error(vm, "out of memory");
            for (size_t i = 0; i < n; i++) {
                struct expr_value k = { 0 }, x = { 0 }, y = { 0 };
                if (cls->at(obj, vm, i, &k) < 0 || cls->index(obj, vm, &k, &x) < 0)
                    return -1;
                if (k.kind != EXPR_STRING)
                    continue;
                if (materialize(vm, &x, &y, depth + 1) < 0)
                    return -1;
                if (expr_map_set(vm, m, k.u.s.ptr, k.u.s.len, y) < 0)
                    return expr_vm_error(vm, "out of memory");
            }
            *ret = (struct expr_value){ .kind = EXPR_MAP, .u.m = m };
            return 0;
        }
        if (class_is_slice(cls)) {
            size_t n = cls->len(obj);
            struct expr_array *a = expr_vm_array(vm, n);
            if (!a)
                return expr_vm_error(vm, "out of memory");
            for (size_t i = 0; i < n; i++) {
                struct expr_value x = { 0 }, y = { 0 };
                if (cls->at(obj, vm, i, &x) < 0 || materialize(vm, &x, &y, depth + 1) < 0)
                    return -1;
                a->items[a->len++] = y;
            }
            *ret = (struct expr_value){ .kind = EXPR_ARRAY, .u.a = a };
            return 0;
        }
        if (cls && cls->nfields) {
            struct expr_map *m = expr_vm_map(vm, cls->nfields);
            if (!m)
                return expr_vm_error(vm, "out of memory");
            for (size_t i = 0; i < cls->nfields; i++) {
                const struct expr_field *f = &cls->fields[i];
                struct expr_value x = { 0 }, y = { 0 };
                if (f->get(obj, vm, &x) < 0 || materialize(vm, &x, &y, depth + 1) < 0)
                    return -1;
                if (expr_map_set(vm, m, f->name, strlen(f->name), y) < 0)
                    return expr_vm_error(vm, "out of memory");
            }
            *ret = (struct expr_value){ .kind = EXPR_MAP, .u.m = m };
            return 0;
        }
        *ret = *v;
        return 0;
    }
    default: *ret = *v; return 0;
    }
}

int
expr_value_materialize(struct expr_vm *vm, const struct expr_value *v, struct expr_value *ret)
{
    return materialize(vm, v, ret, 0);
}

/* --- fmt %v --- */

static int
cmp_entries(const void *pa, const void *pb)
{
    const struct expr_map_entry *a = *(const struct expr_map_entry *const *)pa;
    const struct expr_map_entry *b = *(const struct expr_map_entry *const *)pb;
    size_t n = MIN(a->keylen, b->keylen);
    int c = n ? memcmp(a->key, b->key, n) : 0;
    if (c)
        return c;
    return a->keylen < b->keylen ? -1 : a->keylen > b->keylen;
}

/* Map entries in Go's printing order (keys sorted bytewise); malloc'ed, NULL when empty or OOM. */
static const struct expr_map_entry **
sorted_entries(const struct expr_map *m, int *err)
{
    *err = 0;
    if (!m || m->len == 0)
        return NULL;
    const struct expr_map_entry **v = malloc(m->len * sizeof(*v));
    if (!v) {
        *err = -ENOMEM;
        return NULL;
    }
    for (size_t i = 0; i < m->len; i++)
        v[i] = &m->entries[i];
    qsort(v, m->len, sizeof(*v), cmp_entries);
    return v;
}

static int format_go(struct expr_vm *vm, const struct expr_value *v, struct str *out, int depth);

static int
format_go_map(struct expr_vm *vm, const struct expr_map *m, struct str *out, int depth)
{
    int err;
    const struct expr_map_entry **ents = sorted_entries(m, &err);
    if (err)
        return err;
    err = str_append_cstr(out, "map[");
    for (size_t i = 0; !err && m && i < m->len; i++) {
        if (i)
            err = str_append_char(out, ' ');
        if (!err)
            err = str_append(out, ents[i]->key, ents[i]->keylen);
        if (!err)
            err = str_append_char(out, ':');
        if (!err)
            err = format_go(vm, &ents[i]->value, out, depth + 1);
    }
    free(ents);
    return err ? err : str_append_char(out, ']');
}

static int
format_go_object(struct expr_vm *vm, const struct expr_value *v, struct str *out, int depth)
{
    const struct expr_class *cls = v->u.o.cls;
    const void *obj = v->u.o.ptr;
    const struct expr_method *str_m = class_method(cls, "String");
    /* fmt prints a Stringer through its String() method. */
    if (vm && str_m && str_m->min_args == 0) {
        struct expr_value s;
        if (str_m->call(obj, vm, NULL, 0, &s) == 0 && s.kind == EXPR_STRING)
            return str_append(out, s.u.s.ptr, s.u.s.len);
    }
    if (vm && cls && (class_is_map(cls) || cls->nfields)) {
        struct expr_value plain;
        if (class_is_map(cls) && materialize(vm, v, &plain, depth) == 0)
            return format_go(vm, &plain, out, depth);
        if (cls->nfields) {
            /* A struct prints as {field1 field2 ...}, in field order. */
            int err = str_append_char(out, '{');
            for (size_t i = 0; !err && i < cls->nfields; i++) {
                struct expr_value x;
                if (i)
                    err = str_append_char(out, ' ');
                if (!err && cls->fields[i].get(obj, vm, &x) == 0)
                    err = format_go(vm, &x, out, depth + 1);
            }
            return err ? err : str_append_char(out, '}');
        }
    }
    if (vm && cls && class_is_slice(cls)) {
        size_t n = cls->len(obj);
        int err = str_append_char(out, '[');
        for (size_t i = 0; !err && i < n; i++) {
            struct expr_value x;
            if (i)
                err = str_append_char(out, ' ');
            if (!err && cls->at(obj, vm, i, &x) == 0)
                err = format_go(vm, &x, out, depth + 1);
        }
        return err ? err : str_append_char(out, ']');
    }
    return str_appendf(out, "%s", cls && cls->name ? cls->name : "<object>");
}

static int
format_go(struct expr_vm *vm, const struct expr_value *v, struct str *out, int depth)
{
    char buf[64];
    if (depth > VALUE_MAX_DEPTH)
        return -ELOOP;
    switch (v->kind) {
    case EXPR_NIL: return str_append_cstr(out, "<nil>");
    case EXPR_BOOL: return str_append_cstr(out, v->u.b ? "true" : "false");
    case EXPR_INT: return str_appendf(out, "%" PRId64, v->u.i);
    case EXPR_FLOAT: {
        size_t n = expr_format_float(v->u.f, buf, sizeof(buf));
        return str_append(out, buf, n);
    }
    case EXPR_STRING: return str_append(out, v->u.s.ptr, v->u.s.len);
    case EXPR_ARRAY: {
        int err = str_append_char(out, '[');
        for (size_t i = 0; !err && v->u.a && i < v->u.a->len; i++) {
            if (i)
                err = str_append_char(out, ' ');
            if (!err)
                err = format_go(vm, &v->u.a->items[i], out, depth + 1);
        }
        return err ? err : str_append_char(out, ']');
    }
    case EXPR_MAP: return format_go_map(vm, v->u.m, out, depth);
    case EXPR_OBJECT: return format_go_object(vm, v, out, depth);
    case EXPR_TIME: {
        size_t n = gotime_format_string(v->u.t, buf, sizeof(buf));
        return str_append(out, buf, MIN(n, sizeof(buf) - 1));
    }
    case EXPR_DURATION: {
        size_t n = gotime_format_duration(v->u.d, buf, sizeof(buf));
        return str_append(out, buf, MIN(n, sizeof(buf) - 1));
    }
    case EXPR_FUNC: return str_append_cstr(out, "<func>");
    default: return str_append_cstr(out, "<nil>");
    }
}

int
expr_value_format_go(struct expr_vm *vm, const struct expr_value *v, struct str *out)
{
    return format_go(vm, v, out, 0);
}

/* --- encoding/json output --- */

static const char json_hex[] = "0123456789abcdef";

/* encoding/json's string encoder with HTML escaping (Go >= 1.22 writes \b and \f). */
static int
json_quote(const char *s, size_t len, struct str *out)
{
    int err = str_append_char(out, '"');
    size_t start = 0, i = 0;
    while (!err && i < len) {
        unsigned char b = (unsigned char)s[i];
        if (b < 0x80) {
            if (b >= 0x20 && b != '"' && b != '\\' && b != '<' && b != '>' && b != '&') {
                i++;
                continue;
            }
            err = str_append(out, s + start, i - start);
            char esc[7] = { '\\', 0 };
            size_t n = 2;
            switch (b) {
            case '\\':
            case '"': esc[1] = (char)b; break;
            case '\n': esc[1] = 'n'; break;
            case '\r': esc[1] = 'r'; break;
            case '\t': esc[1] = 't'; break;
            case '\b': esc[1] = 'b'; break;
            case '\f': esc[1] = 'f'; break;
            default:
                esc[1] = 'u';
                esc[2] = '0';
                esc[3] = '0';
                esc[4] = json_hex[b >> 4];
                esc[5] = json_hex[b & 0xF];
                n = 6;
            }
            if (!err)
                err = str_append(out, esc, n);
            i++;
            start = i;
            continue;
        }
        size_t size;
        int32_t c = expr_utf8_decode(s + i, len - i, &size);
        if (c == 0xFFFD && size == 1) {
            err = str_append(out, s + start, i - start);
            if (!err)
                err = str_append_cstr(out, "\\ufffd");
            i++;
            start = i;
            continue;
        }
        if (c == 0x2028 || c == 0x2029) {
            err = str_append(out, s + start, i - start);
            if (!err)
                err = str_appendf(out, "\\u202%c", json_hex[c & 0xF]);
            i += size;
            start = i;
            continue;
        }
        i += size;
    }
    if (!err)
        err = str_append(out, s + start, len - start);
    return err ? err : str_append_char(out, '"');
}

struct json_out {
    struct expr_vm *vm;
    struct str *out;
    bool indent;
};

static int to_json(struct json_out *j, const struct expr_value *v, int depth);

static int
json_newline(struct json_out *j, int depth)
{
    if (!j->indent)
        return 0;
    int err = str_append_char(j->out, '\n');
    for (int i = 0; !err && i < depth; i++)
        err = str_append(j->out, "  ", 2);
    return err;
}

static int
json_unsupported(struct json_out *j, const char *what)
{
    if (j->vm)
        expr_vm_error(j->vm, "json: unsupported value: %s", what);
    return -EINVAL;
}

static int
to_json_map(struct json_out *j, const struct expr_map *m, int depth)
{
    if (!m || m->len == 0)
        return str_append(j->out, "{}", 2);
    int err;
    const struct expr_map_entry **ents = sorted_entries(m, &err);
    if (err)
        return err;
    err = str_append_char(j->out, '{');
    for (size_t i = 0; !err && i < m->len; i++) {
        if (i)
            err = str_append_char(j->out, ',');
        if (!err)
            err = json_newline(j, depth + 1);
        if (!err)
            err = json_quote(ents[i]->key, ents[i]->keylen, j->out);
        if (!err)
            err = str_append(j->out, ": ", j->indent ? 2 : 1);
        if (!err)
            err = to_json(j, &ents[i]->value, depth + 1);
    }
    free(ents);
    if (!err)
        err = json_newline(j, depth);
    return err ? err : str_append_char(j->out, '}');
}

static int
to_json_object(struct json_out *j, const struct expr_value *v, int depth)
{
    const struct expr_class *cls = v->u.o.cls;
    const void *obj = v->u.o.ptr;
    /* Weekday and Month are ints underneath; encoding/json ignores String(). */
    if (cls == &expr_weekday_class || cls == &expr_month_class)
        return to_json(j, (const struct expr_value *)obj, depth);
    if (!j->vm)
        return str_append_cstr(j->out, "null");
    if (class_is_map(cls) || class_is_slice(cls)) {
        struct expr_value plain;
        if (materialize(j->vm, v, &plain, depth) < 0)
            return -EINVAL;
        return to_json(j, &plain, depth);
    }
    if (!cls || cls->nfields == 0)
        return str_append(j->out, "{}", 2);
    /* A struct keeps its field order. */
    int err = str_append_char(j->out, '{');
    for (size_t i = 0; !err && i < cls->nfields; i++) {
        struct expr_value x;
        if (cls->fields[i].get(obj, j->vm, &x) < 0)
            return -EINVAL;
        if (i)
            err = str_append_char(j->out, ',');
        if (!err)
            err = json_newline(j, depth + 1);
        if (!err)
            err = json_quote(cls->fields[i].name, strlen(cls->fields[i].name), j->out);
        if (!err)
            err = str_append(j->out, ": ", j->indent ? 2 : 1);
        if (!err)
            err = to_json(j, &x, depth + 1);
    }
    if (!err)
        err = json_newline(j, depth);
    return err ? err : str_append_char(j->out, '}');
}

static int
to_json(struct json_out *j, const struct expr_value *v, int depth)
{
    char buf[64];
    if (depth > VALUE_MAX_DEPTH) {
        if (j->vm)
            expr_vm_error(j->vm, "json: unsupported value: encountered a cycle");
        return -ELOOP;
    }
    switch (v->kind) {
    case EXPR_NIL: return str_append_cstr(j->out, "null");
    case EXPR_BOOL: return str_append_cstr(j->out, v->u.b ? "true" : "false");
    case EXPR_INT:
    case EXPR_DURATION: return str_appendf(j->out, "%" PRId64, v->u.i);
    case EXPR_FLOAT: {
        if (!isfinite(v->u.f)) {
            format_special(v->u.f, buf, sizeof(buf));
            return json_unsupported(j, buf);
        }
        size_t n = format_json_float(v->u.f, buf, sizeof(buf));
        return str_append(j->out, buf, n);
    }
    case EXPR_STRING: return json_quote(v->u.s.ptr, v->u.s.len, j->out);
    case EXPR_ARRAY: {
        if (!v->u.a || v->u.a->len == 0)
            return str_append(j->out, "[]", 2);
        int err = str_append_char(j->out, '[');
        for (size_t i = 0; !err && i < v->u.a->len; i++) {
            if (i)
                err = str_append_char(j->out, ',');
            if (!err)
                err = json_newline(j, depth + 1);
            if (!err)
                err = to_json(j, &v->u.a->items[i], depth + 1);
        }
        if (!err)
            err = json_newline(j, depth);
        return err ? err : str_append_char(j->out, ']');
    }
    case EXPR_MAP: return to_json_map(j, v->u.m, depth);
    case EXPR_OBJECT: return to_json_object(j, v, depth);
    case EXPR_TIME: {
        size_t n = gotime_format_rfc3339nano(v->u.t, buf, sizeof(buf));
        int err = str_append_char(j->out, '"');
        if (!err)
            err = str_append(j->out, buf, MIN(n, sizeof(buf) - 1));
        return err ? err : str_append_char(j->out, '"');
    }
    case EXPR_FUNC: return json_unsupported(j, "func");
    default: return str_append_cstr(j->out, "null");
    }
}

int
expr_value_to_json(struct expr_vm *vm, const struct expr_value *v, bool indent, struct str *out)
{
    struct json_out j = { .vm = vm, .out = out, .indent = indent };
    return to_json(&j, v, 0);
}

/* --- JSON input --- */

static int
from_jansson(struct expr_vm *vm, json_t *js, struct expr_value *ret)
{
    switch (json_typeof(js)) {
    case JSON_NULL: *ret = expr_nil(); return 0;
    case JSON_TRUE: *ret = expr_bool(true); return 0;
    case JSON_FALSE: *ret = expr_bool(false); return 0;
    case JSON_INTEGER: *ret = expr_int((int64_t)json_integer_value(js)); return 0;
    case JSON_REAL: *ret = expr_float(json_real_value(js)); return 0;
    case JSON_STRING:
        *ret = expr_vm_str(vm, json_string_value(js), json_string_length(js));
        return ret->kind == EXPR_STRING ? 0 : expr_vm_error(vm, "out of memory");
    case JSON_ARRAY: {
        size_t n = json_array_size(js);
        struct expr_array *a = expr_vm_array(vm, n);
        if (!a)
            return expr_vm_error(vm, "out of memory");
        for (size_t i = 0; i < n; i++) {
            if (from_jansson(vm, json_array_get(js, i), &a->items[i]) < 0)
                return -1;
            a->len++;
        }
        *ret = (struct expr_value){ .kind = EXPR_ARRAY, .u.a = a };
        return 0;
    }
    case JSON_OBJECT: {
        struct expr_map *m = expr_vm_map(vm, json_object_size(js));
        if (!m)
            return expr_vm_error(vm, "out of memory");
        const char *key;
        json_t *val;
        /* jansson keeps keys in the order of the text. */
        json_object_foreach(js, key, val)
        {
            size_t klen = strlen(key);
            struct expr_value k = expr_vm_str(vm, key, klen), x = { 0 };
            if (k.kind != EXPR_STRING)
                return expr_vm_error(vm, "out of memory");
            if (from_jansson(vm, val, &x) < 0)
                return -1;
            if (expr_map_set(vm, m, k.u.s.ptr, klen, x) < 0)
                return expr_vm_error(vm, "out of memory");
        }
        *ret = (struct expr_value){ .kind = EXPR_MAP, .u.m = m };
        return 0;
    }
    }
    *ret = expr_nil();
    return 0;
}

/*
 * Go-like message for a jansson error: encoding/json's wording for the
 * common cases (truncated input, a stray character), jansson's otherwise.
 */
static int
json_error(struct expr_vm *vm, const char *text, size_t len, const json_error_t *e)
{
    size_t first = 0;
    while (first < len && strchr(" \t\r\n", text[first]))
        first++;
    const char *near = strstr(e->text, "near '");
    char c = near ? near[6] : '\0';
    if (first == len || strstr(e->text, "near end of file") || strstr(e->text, "premature end"))
        return expr_vm_error(vm, "unexpected end of JSON input");
    if (strstr(e->text, "real number overflow"))
        return expr_vm_error(vm, "json: cannot unmarshal number into Go value of type float64");
    if ((unsigned char)c > 0x20 && (unsigned char)c < 0x7f) {
        if (strstr(e->text, "end of file expected"))
            return expr_vm_error(vm, "invalid character '%c' after top-level value", c);
        return expr_vm_error(vm, "invalid character '%c' looking for beginning of value", c);
    }
    return expr_vm_error(vm, "invalid JSON: %s", e->text);
}

int
expr_value_from_json_ex(struct expr_vm *vm, const char *text, size_t len, bool keep_ints,
                        struct expr_value *ret)
{
    json_error_t e;
    size_t flags = JSON_DECODE_ANY | JSON_ALLOW_NUL;
    if (!keep_ints)
        flags |= JSON_DECODE_INT_AS_REAL;
    json_t *js = json_loadb(text, len, flags, &e);
    if (!js && keep_ints && strstr(e.text, "too big integer"))
        js = json_loadb(text, len, flags | JSON_DECODE_INT_AS_REAL, &e);
    if (!js)
        return json_error(vm, text, len, &e);
    struct expr_value v;
    int rc = from_jansson(vm, js, &v);
    json_decref(js);
    if (rc < 0)
        return -1;
    *ret = v;
    return 0;
}

int
expr_value_from_json(struct expr_vm *vm, const char *text, size_t len, struct expr_value *ret)
{
    return expr_value_from_json_ex(vm, text, len, false, ret);
}

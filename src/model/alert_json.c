/*
 * alert_json.c - the JSON codec of models.Alert, Source, Decision, Event and
 * Meta, shared by the agent's output, the Local API, the store and the CLI.
 *
 * CrowdSec marshals these with Go's encoding/json over go-swagger models, so
 * the rules here are Go's: omitempty drops zero values, nil pointers and nil
 * slices become null, the decoder ignores unknown keys, matches keys without
 * regard to case when no exact match exists, lets null leave a field nil,
 * and reports the first type mismatch with the field's path. Required fields
 * are go-openapi's business (Validate), kept apart because the LAPI answers
 * a decode error with 400 and a validation error with 422.
 *
 * Jansson prints reals with 17 digits, which shows a float32 latitude as
 * 48.858200073242188 where Go prints 48.8582; model_json_dumps prints
 * documents the way Go does.
 */
#include <ctype.h>
#include <float.h>
#include <math.h>

#include "model/model.h"

/* --- Go's float32 formatting --- */

/*
 * Shortest decimal digits that read back as f (Go's shortest mode): for each
 * length, the correctly rounded candidate, else its neighbour on the other
 * side of the exact value. Writes the digits without trailing zeros and the
 * exponent of the first digit (d.ddd x 10^exp).
 */
static void
float32_shortest(float f, char digits[16], int *ret_exp)
{
    char tmp[48];

    for (int p = 1; p <= 9; p++) {
        snprintf(tmp, sizeof(tmp), "%.*e", p - 1, (double)f);
        char *e = strchr(tmp, 'e');
        int exp = (int)strtol(e + 1, NULL, 10);
        unsigned long long mant = 0;
        for (const char *c = tmp; c < e; c++) {
            if (*c >= '0' && *c <= '9')
                mant = mant * 10 + (unsigned)(*c - '0');
        }
        unsigned long long pick = 0;
        bool found = false;
        if (strtof(tmp, NULL) == f) {
            pick = mant;
            found = true;
        } else {
            unsigned long long other = strtod(tmp, NULL) < (double)f ? mant + 1 : mant - 1;
            char alt[48];
            snprintf(alt, sizeof(alt), "%llue%d", other, exp - (p - 1));
            if (other > 0 && strtof(alt, NULL) == f) {
                pick = other;
                found = true;
            }
        }
        if (!found && p < 9)
            continue;
        if (!found)
            pick = mant; /* nine significant digits always identify a float32 */
        /* pick has p digits, or p + 1 when rounding up carried (999 -> 1000). */
        char buf[24];
        int n = snprintf(buf, sizeof(buf), "%llu", pick);
        exp += n - p;
        while (n > 1 && buf[n - 1] == '0')
            n--;
        memcpy(digits, buf, (size_t)n);
        digits[n] = '\0';
        *ret_exp = exp;
        return;
    }
    digits[0] = '0';
    digits[1] = '\0';
    *ret_exp = 0;
}

int
model_format_float32(float f, char *buf, size_t len)
{
    char digits[16], out[64];
    int exp = 0;
    size_t n = 0, nd;

    if (!isfinite(f))
        return -EINVAL;
    if (signbit(f))
        out[n++] = '-';
    float abs = fabsf(f);
    if (abs == 0) {
        out[n++] = '0';
        goto done;
    }
    float32_shortest(abs, digits, &exp);
    nd = strlen(digits);
    if (abs < 1e-6f || abs >= 1e21f) {
        /* 'e' format, with encoding/json's e-09 -> e-9 clean-up */
        out[n++] = digits[0];
        if (nd > 1) {
            out[n++] = '.';
            memcpy(out + n, digits + 1, nd - 1);
            n += nd - 1;
        }
        int w = snprintf(out + n, sizeof(out) - n, "e%c%02d", exp < 0 ? '-' : '+',
                         exp < 0 ? -exp : exp);
        n += (size_t)w;
        if (n >= 4 && out[n - 4] == 'e' && out[n - 3] == '-' && out[n - 2] == '0') {
            out[n - 2] = out[n - 1];
            n--;
        }
        goto done;
    }
    /*
     * 'f' format: the digits around a decimal point at dp = exp + 1, which
     * lies within [-45, 21] here (float32 range, 'e' above 1e21).
     */
    int dp = exp + 1;
    if (dp < -46 || dp > 22 || nd > 10)
        return -EINVAL;
    if (dp > 0) {
        size_t whole = (size_t)dp;
        memcpy(out + n, digits, MIN(nd, whole));
        if (whole > nd)
            memset(out + n + nd, '0', whole - nd);
        n += whole;
    } else {
        out[n++] = '0';
    }
    if ((int)nd > dp) {
        size_t zeros = dp < 0 ? (size_t)-dp : 0, from = dp > 0 ? (size_t)dp : 0;
        out[n++] = '.';
        memset(out + n, '0', zeros);
        n += zeros;
        memcpy(out + n, digits + from, nd - from);
        n += nd - from;
    }
done:
    out[n] = '\0';
    if (n + 1 > len)
        return -EINVAL;
    memcpy(buf, out, n + 1);
    return (int)n;
}

/* --- strings: Go replaces each invalid UTF-8 byte with U+FFFD --- */

/* Length of the valid UTF-8 sequence at s (n bytes left), 0 if invalid (utf8.DecodeRune). */
static size_t
utf8_seq_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0], lo = 0x80, hi = 0xBF;
    size_t len;

    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        len = 2;
    else if (c >= 0xE0 && c <= 0xEF)
        len = 3;
    else if (c >= 0xF0 && c <= 0xF4)
        len = 4;
    else
        return 0;
    if (c == 0xE0)
        lo = 0xA0;
    else if (c == 0xED)
        hi = 0x9F;
    else if (c == 0xF0)
        lo = 0x90;
    else if (c == 0xF4)
        hi = 0x8F;
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++) {
        if (s[i] < 0x80 || s[i] > 0xBF)
            return 0;
    }
    return len;
}

static json_t *
go_string(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s), i = 0;
    struct str fixed = STR_INIT;
    json_t *j = NULL;

    while (i < n && utf8_seq_len(p + i, n - i) > 0)
        i += utf8_seq_len(p + i, n - i);
    if (i == n)
        return json_stringn(s, n);
    if (str_append(&fixed, s, i) < 0)
        goto out;
    while (i < n) {
        size_t l = utf8_seq_len(p + i, n - i);
        if (l == 0) {
            if (str_append(&fixed, "\xEF\xBF\xBD", 3) < 0)
                goto out;
            i++;
        } else {
            if (str_append(&fixed, s + i, l) < 0)
                goto out;
            i += l;
        }
    }
    j = json_stringn(fixed.buf, fixed.len);
out:
    str_free(&fixed);
    return j;
}

/* --- encoders --- */

/* Takes v (NULL = a failed constructor); -1 on failure. */
static int
put(json_t *o, const char *key, json_t *v)
{
    if (v == NULL)
        return -1;
    return json_object_set_new(o, key, v);
}

/* A Go *string: NULL is nil, printed null. */
static int
put_pstr(json_t *o, const char *key, const char *s)
{
    return put(o, key, s != NULL ? go_string(s) : json_null());
}

/* A Go string with omitempty. */
static int
put_omit_str(json_t *o, const char *key, const char *s)
{
    if (s == NULL || *s == '\0')
        return 0;
    return put(o, key, go_string(s));
}

static json_t *
float32_json(float f)
{
    if (!isfinite(f))
        return NULL;
    /* Integral values as integers, so that even json_dumps prints 46 like Go. */
    if (f == truncf(f) && fabsf(f) < 9.0e18f)
        return json_integer((json_int_t)f);
    return json_real((double)f);
}

static json_t *
meta_item_to_json(const struct meta_item *m)
{
    json_t *o = json_object();

    if (o == NULL || put_omit_str(o, "key", m->key) < 0 || put_omit_str(o, "value", m->value) < 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* models.Meta: null when items is NULL (a nil slice). */
static json_t *
meta_to_json(const struct meta_list *m)
{
    if (m->items == NULL)
        return json_null();
    json_t *arr = json_array();
    if (arr == NULL)
        return NULL;
    for (size_t i = 0; i < m->len; i++) {
        if (json_array_append_new(arr, meta_item_to_json(&m->items[i])) < 0) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

static json_t *
event_to_json(const struct alert_event *e)
{
    json_t *o = json_object();

    if (o == NULL || put(o, "meta", meta_to_json(&e->meta)) < 0 ||
        put_pstr(o, "timestamp", e->timestamp) < 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *
source_to_json(const struct source *s)
{
    json_t *o = json_object();

    if (o == NULL)
        return NULL;
    if (put_omit_str(o, "as_name", s->as_name) < 0 ||
        put_omit_str(o, "as_number", s->as_number) < 0 || put_omit_str(o, "cn", s->cn) < 0 ||
        put_omit_str(o, "ip", s->ip) < 0 ||
        (s->latitude != 0 && put(o, "latitude", float32_json(s->latitude)) < 0) ||
        (s->longitude != 0 && put(o, "longitude", float32_json(s->longitude)) < 0) ||
        put_omit_str(o, "range", s->range) < 0 || put_pstr(o, "scope", s->scope) < 0 ||
        put_pstr(o, "value", s->value) < 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

json_t *
decision_to_json(const struct decision *d)
{
    json_t *o = json_object();

    if (o == NULL)
        return NULL;
    if (put_pstr(o, "duration", d->duration) < 0 ||
        (d->id != 0 && put(o, "id", json_integer(d->id)) < 0) ||
        put_pstr(o, "origin", d->origin) < 0 || put_pstr(o, "scenario", d->scenario) < 0 ||
        put_pstr(o, "scope", d->scope) < 0 ||
        ((d->simulated || d->simulated_set) &&
         put(o, "simulated", json_boolean(d->simulated)) < 0) ||
        put_pstr(o, "type", d->type) < 0 || put_omit_str(o, "until", d->until) < 0 ||
        put_omit_str(o, "uuid", d->uuid) < 0 || put_pstr(o, "value", d->value) < 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

json_t *
decisions_to_json_array(const struct decision *d, size_t n)
{
    json_t *arr = json_array();

    if (arr == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (json_array_append_new(arr, decision_to_json(&d[i])) < 0) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

static json_t *
events_to_json(const struct alert *a)
{
    if (a->events == NULL)
        return json_null();
    json_t *arr = json_array();
    if (arr == NULL)
        return NULL;
    for (size_t i = 0; i < a->nevents; i++) {
        if (json_array_append_new(arr, event_to_json(&a->events[i])) < 0) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

static json_t *
labels_to_json(const struct alert *a)
{
    if (a->labels == NULL)
        return json_null();
    json_t *arr = json_array();
    if (arr == NULL)
        return NULL;
    for (size_t i = 0; i < a->nlabels; i++) {
        const char *l = a->labels[i] != NULL ? a->labels[i] : "";
        if (json_array_append_new(arr, go_string(l)) < 0) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

static json_t *
pint32_json(const struct alert *a, unsigned bit, int32_t v)
{
    return (a->absent & bit) ? json_null() : json_integer(v);
}

json_t *
alert_to_json(const struct alert *a)
{
    json_t *o = json_object();

    if (o == NULL)
        return NULL;
    if (put(o, "capacity", pint32_json(a, ALERT_ABSENT_CAPACITY, a->capacity)) < 0 ||
        put_omit_str(o, "created_at", a->created_at) < 0 ||
        put(o, "decisions",
            a->decisions != NULL ? decisions_to_json_array(a->decisions, a->ndecisions)
                                 : json_null()) < 0 ||
        put(o, "events", events_to_json(a)) < 0 ||
        put(o, "events_count", pint32_json(a, ALERT_ABSENT_EVENTS_COUNT, a->events_count)) < 0 ||
        (a->id != 0 && put(o, "id", json_integer(a->id)) < 0) ||
        put_omit_str(o, "kind", a->kind) < 0 || put(o, "labels", labels_to_json(a)) < 0 ||
        put_pstr(o, "leakspeed", a->leakspeed) < 0 ||
        put_omit_str(o, "machine_id", a->machine_id) < 0 ||
        put_pstr(o, "message", a->message) < 0 ||
        (a->meta.len > 0 && put(o, "meta", meta_to_json(&a->meta)) < 0) ||
        (a->remediation && put(o, "remediation", json_true()) < 0) ||
        put_pstr(o, "scenario", a->scenario) < 0 ||
        put_pstr(o, "scenario_hash", a->scenario_hash) < 0 ||
        put_pstr(o, "scenario_version", a->scenario_version) < 0 ||
        put(o, "simulated",
            (a->absent & ALERT_ABSENT_SIMULATED) ? json_null() : json_boolean(a->simulated)) < 0 ||
        put(o, "source", a->source != NULL ? source_to_json(a->source) : json_null()) < 0 ||
        put_pstr(o, "start_at", a->start_at) < 0 || put_pstr(o, "stop_at", a->stop_at) < 0 ||
        put_omit_str(o, "uuid", a->uuid) < 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

json_t *
alerts_to_json_array(const struct alert *a, size_t n)
{
    json_t *arr = json_array();

    if (arr == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (json_array_append_new(arr, alert_to_json(&a[i])) < 0) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

/* --- Go-like serialization --- */

#define DUMP_MAX_DEPTH 64

static int
dump_string(struct str *out, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s;

    if (str_append_char(out, '"') < 0)
        return -1;
    for (size_t i = 0; i < n;) {
        unsigned char c = p[i];
        int rc = 0;
        if (c >= 0x80) {
            size_t l = utf8_seq_len(p + i, n - i);
            if (l == 0) {
                rc = str_append_cstr(out, "\\ufffd");
                l = 1;
            } else if (l == 3 && c == 0xE2 && p[i + 1] == 0x80 && (p[i + 2] & 0xFE) == 0xA8) {
                rc = str_append_cstr(out, p[i + 2] == 0xA8 ? "\\u2028" : "\\u2029");
            } else {
                rc = str_append(out, s + i, l);
            }
            if (rc < 0)
                return -1;
            i += l;
            continue;
        }
        switch (c) {
        case '"': rc = str_append_cstr(out, "\\\""); break;
        case '\\': rc = str_append_cstr(out, "\\\\"); break;
        case '\b': rc = str_append_cstr(out, "\\b"); break;
        case '\f': rc = str_append_cstr(out, "\\f"); break;
        case '\n': rc = str_append_cstr(out, "\\n"); break;
        case '\r': rc = str_append_cstr(out, "\\r"); break;
        case '\t': rc = str_append_cstr(out, "\\t"); break;
        default:
            if (c < 0x20 || c == '<' || c == '>' || c == '&') {
                char esc[7] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 0xF], '\0' };
                rc = str_append_cstr(out, esc);
            } else {
                rc = str_append_char(out, (char)c);
            }
        }
        if (rc < 0)
            return -1;
        i++;
    }
    return str_append_char(out, '"');
}

static int
cmp_keys(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int
dump_value(struct str *out, const json_t *j, int depth)
{
    char num[64];

    if (depth > DUMP_MAX_DEPTH)
        return -1;
    switch (json_typeof(j)) {
    case JSON_NULL: return str_append_cstr(out, "null");
    case JSON_TRUE: return str_append_cstr(out, "true");
    case JSON_FALSE: return str_append_cstr(out, "false");
    case JSON_INTEGER: return str_appendf(out, "%" JSON_INTEGER_FORMAT, json_integer_value(j));
    case JSON_REAL:
        if (model_format_float32((float)json_real_value(j), num, sizeof(num)) < 0)
            return -1;
        return str_append_cstr(out, num);
    case JSON_STRING: return dump_string(out, json_string_value(j), json_string_length(j));
    case JSON_ARRAY: {
        if (str_append_char(out, '[') < 0)
            return -1;
        for (size_t i = 0; i < json_array_size(j); i++) {
            if ((i > 0 && str_append_char(out, ',') < 0) ||
                dump_value(out, json_array_get(j, i), depth + 1) < 0)
                return -1;
        }
        return str_append_char(out, ']');
    }
    case JSON_OBJECT: {
        size_t n = json_object_size(j), i = 0;
        const char **keys = calloc(n > 0 ? n : 1, sizeof(*keys));
        const char *key;
        json_t *v;
        int rc = -1;

        if (keys == NULL)
            return -1;
        json_object_foreach((json_t *)j, key, v)
        {
            if (i < n)
                keys[i++] = key;
        }
        qsort(keys, i, sizeof(*keys), cmp_keys);
        if (str_append_char(out, '{') < 0)
            goto out;
        for (size_t k = 0; k < i; k++) {
            if ((k > 0 && str_append_char(out, ',') < 0) ||
                dump_string(out, keys[k], strlen(keys[k])) < 0 || str_append_char(out, ':') < 0 ||
                dump_value(out, json_object_get(j, keys[k]), depth + 1) < 0)
                goto out;
        }
        rc = str_append_char(out, '}');
    out:
        free(keys);
        return rc;
    }
    }
    return -1;
}

char *
model_json_dumps(const json_t *j)
{
    struct str out = STR_INIT;

    if (j == NULL || dump_value(&out, j, 0) < 0) {
        str_free(&out);
        return NULL;
    }
    return str_steal(&out);
}

/* --- decoders --- */

/* Where the decoder is, for Go's "Go struct field Struct.path" wording. */
struct jdec {
    char *err;
    size_t errlen;
    const char *strct; /* innermost Go struct being filled, NULL at top level */
    char path[96];     /* JSON names of the fields entered, joined by '.' */
    /* The struct being filled when it is an Alert or a Decision, else NULL. */
    struct alert *alert;
    struct decision *decision;
};

static void set_err(char *err, size_t errlen, const char *fmt, ...) PRINTF_LIKE(3, 4);

static void
set_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL || errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static const char *
json_kind(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "object";
    case JSON_ARRAY: return "array";
    case JSON_STRING: return "string";
    case JSON_INTEGER:
    case JSON_REAL: return "number";
    case JSON_TRUE:
    case JSON_FALSE: return "bool";
    case JSON_NULL: break;
    }
    return "null";
}

/*
 * Go's UnmarshalTypeError. A number aimed at a numeric field quotes the
 * literal (Go has the source text; jansson only the value, printed here in
 * its shortest form).
 */
static int
type_error(struct jdec *d, const json_t *v, const char *gotype, bool numeric)
{
    char what[64];

    if (numeric && json_is_integer(v)) {
        snprintf(what, sizeof(what), "number %" JSON_INTEGER_FORMAT, json_integer_value(v));
    } else if (numeric && json_is_real(v)) {
        double x = json_real_value(v);
        for (int p = 1; p <= 17; p++) {
            snprintf(what, sizeof(what), "number %.*g", p, x);
            if (strtod(what + 7, NULL) == x)
                break;
        }
    } else {
        snprintf(what, sizeof(what), "%s", json_kind(v));
    }
    if (d->strct != NULL)
        set_err(d->err, d->errlen,
                "json: cannot unmarshal %s into Go struct field %s.%s of type %s", what, d->strct,
                d->path, gotype);
    else
        set_err(d->err, d->errlen, "json: cannot unmarshal %s into Go value of type %s", what,
                gotype);
    return -EINVAL;
}

/*
 * encoding/json's key matching for our lower-case ASCII field names: ASCII
 * case folding, plus the two non-ASCII letters that fold to ASCII ones,
 * KELVIN SIGN to k and LATIN SMALL LETTER LONG S to s.
 */
static bool
key_fold_eq(const char *key, const char *name)
{
    const unsigned char *k = (const unsigned char *)key;

    for (; *name != '\0'; name++) {
        if (k[0] == 0xE2 && k[1] == 0x84 && k[2] == 0xAA && *name == 'k') {
            k += 3;
        } else if (k[0] == 0xC5 && k[1] == 0xBF && *name == 's') {
            k += 2;
        } else if (*k != '\0' && tolower(*k) == *name) {
            k++;
        } else {
            return false;
        }
    }
    return *k == '\0';
}

enum jfield_type {
    JF_STR,       /* Go string: null leaves it alone */
    JF_PSTR,      /* Go *string: null makes it nil */
    JF_INT64,     /* int64 */
    JF_PINT32,    /* *int32, with an ALERT_ABSENT_* bit */
    JF_BOOL,      /* bool */
    JF_PBOOL,     /* Alert's *bool Simulated, with ALERT_ABSENT_SIMULATED */
    JF_DEC_SIM,   /* Decision's *bool Simulated (simulated_set) */
    JF_FLOAT32,   /* float32 */
    JF_META,      /* models.Meta */
    JF_SOURCE,    /* *models.Source */
    JF_EVENTS,    /* []*models.Event */
    JF_DECISIONS, /* []*models.Decision */
    JF_LABELS,    /* []string */
};

struct jfield {
    const char *name;
    enum jfield_type type;
    size_t off;
    unsigned bit;
};

struct jstruct {
    const char *name; /* Go type name */
    const struct jfield *fields;
    size_t nfields;
};

#define JF(s, n, t, member)                                                                        \
    {                                                                                              \
        n, t, offsetof(struct s, member), 0                                                        \
    }

static const struct jfield meta_item_fields[] = {
    JF(meta_item, "key", JF_STR, key),
    JF(meta_item, "value", JF_STR, value),
};
static const struct jstruct meta_item_struct = { "MetaItems0", meta_item_fields,
                                                 ARRAY_SIZE(meta_item_fields) };

static const struct jfield event_fields[] = {
    JF(alert_event, "meta", JF_META, meta),
    JF(alert_event, "timestamp", JF_PSTR, timestamp),
};
static const struct jstruct event_struct = { "Event", event_fields, ARRAY_SIZE(event_fields) };

static const struct jfield source_fields[] = {
    JF(source, "as_name", JF_STR, as_name),
    JF(source, "as_number", JF_STR, as_number),
    JF(source, "cn", JF_STR, cn),
    JF(source, "ip", JF_STR, ip),
    JF(source, "latitude", JF_FLOAT32, latitude),
    JF(source, "longitude", JF_FLOAT32, longitude),
    JF(source, "range", JF_STR, range),
    JF(source, "scope", JF_PSTR, scope),
    JF(source, "value", JF_PSTR, value),
};
static const struct jstruct source_struct = { "Source", source_fields, ARRAY_SIZE(source_fields) };

static const struct jfield decision_fields[] = {
    JF(decision, "duration", JF_PSTR, duration), JF(decision, "id", JF_INT64, id),
    JF(decision, "origin", JF_PSTR, origin),     JF(decision, "scenario", JF_PSTR, scenario),
    JF(decision, "scope", JF_PSTR, scope),       JF(decision, "simulated", JF_DEC_SIM, simulated),
    JF(decision, "type", JF_PSTR, type),         JF(decision, "until", JF_STR, until),
    JF(decision, "uuid", JF_STR, uuid),          JF(decision, "value", JF_PSTR, value),
};
static const struct jstruct decision_struct = { "Decision", decision_fields,
                                                ARRAY_SIZE(decision_fields) };

static const struct jfield alert_fields[] = {
    { "capacity", JF_PINT32, offsetof(struct alert, capacity), ALERT_ABSENT_CAPACITY },
    JF(alert, "created_at", JF_STR, created_at),
    JF(alert, "decisions", JF_DECISIONS, decisions),
    JF(alert, "events", JF_EVENTS, events),
    { "events_count", JF_PINT32, offsetof(struct alert, events_count), ALERT_ABSENT_EVENTS_COUNT },
    JF(alert, "id", JF_INT64, id),
    JF(alert, "kind", JF_STR, kind),
    JF(alert, "labels", JF_LABELS, labels),
    JF(alert, "leakspeed", JF_PSTR, leakspeed),
    JF(alert, "machine_id", JF_STR, machine_id),
    JF(alert, "message", JF_PSTR, message),
    JF(alert, "meta", JF_META, meta),
    JF(alert, "remediation", JF_BOOL, remediation),
    JF(alert, "scenario", JF_PSTR, scenario),
    JF(alert, "scenario_hash", JF_PSTR, scenario_hash),
    JF(alert, "scenario_version", JF_PSTR, scenario_version),
    { "simulated", JF_PBOOL, offsetof(struct alert, simulated), ALERT_ABSENT_SIMULATED },
    JF(alert, "source", JF_SOURCE, source),
    JF(alert, "start_at", JF_PSTR, start_at),
    JF(alert, "stop_at", JF_PSTR, stop_at),
    JF(alert, "uuid", JF_STR, uuid),
};
static const struct jstruct alert_struct = { "Alert", alert_fields, ARRAY_SIZE(alert_fields) };

static int decode_struct(struct jdec *d, const struct jstruct *st, const json_t *obj, void *base);

static int
decode_string(struct jdec *d, const json_t *v, char **dst)
{
    if (!json_is_string(v))
        return type_error(d, v, "string", false);
    const char *s = json_string_value(v);
    /* C strings cannot carry the NUL Go would keep: refuse rather than truncate. */
    if (strlen(s) != json_string_length(v)) {
        set_err(d->err, d->errlen, "json: NUL character in Go struct field %s.%s",
                d->strct != NULL ? d->strct : "", d->path);
        return -EINVAL;
    }
    return model_strset(dst, s);
}

/* Allocates a zeroed array for a JSON array of n elements (never NULL when n is 0). */
static void *
array_alloc(size_t n, size_t size)
{
    return calloc(n > 0 ? n : 1, size);
}

/* Decodes array elements that are objects of st (null: a zeroed element). */
static int
decode_elems(struct jdec *d, const json_t *arr, const struct jstruct *st, const char *gotype,
             void *elems, size_t size)
{
    for (size_t i = 0; i < json_array_size(arr); i++) {
        const json_t *e = json_array_get(arr, i);
        if (json_is_null(e))
            continue;
        if (!json_is_object(e))
            return type_error(d, e, gotype, false);
        int rc = decode_struct(d, st, e, (char *)elems + i * size);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int
decode_meta(struct jdec *d, const json_t *v, struct meta_list *m)
{
    meta_clear(m);
    if (json_is_null(v))
        return 0;
    if (!json_is_array(v))
        return type_error(d, v, "models.Meta", false);
    size_t n = json_array_size(v);
    m->items = array_alloc(n, sizeof(*m->items));
    if (m->items == NULL)
        return -ENOMEM;
    m->len = n;
    return decode_elems(d, v, &meta_item_struct, "models.MetaItems0", m->items, sizeof(*m->items));
}

static int
decode_events(struct jdec *d, const json_t *v, struct alert *a)
{
    for (size_t i = 0; i < a->nevents; i++)
        alert_event_clear(&a->events[i]);
    free(a->events);
    a->events = NULL;
    a->nevents = 0;
    if (json_is_null(v))
        return 0;
    if (!json_is_array(v))
        return type_error(d, v, "[]*models.Event", false);
    size_t n = json_array_size(v);
    a->events = array_alloc(n, sizeof(*a->events));
    if (a->events == NULL)
        return -ENOMEM;
    a->nevents = n;
    return decode_elems(d, v, &event_struct, "models.Event", a->events, sizeof(*a->events));
}

static int
decode_decisions(struct jdec *d, const json_t *v, struct alert *a)
{
    for (size_t i = 0; i < a->ndecisions; i++)
        decision_clear(&a->decisions[i]);
    free(a->decisions);
    a->decisions = NULL;
    a->ndecisions = 0;
    if (json_is_null(v))
        return 0;
    if (!json_is_array(v))
        return type_error(d, v, "[]*models.Decision", false);
    size_t n = json_array_size(v);
    a->decisions = array_alloc(n, sizeof(*a->decisions));
    if (a->decisions == NULL)
        return -ENOMEM;
    a->ndecisions = n;
    return decode_elems(d, v, &decision_struct, "models.Decision", a->decisions,
                        sizeof(*a->decisions));
}

static int
decode_labels(struct jdec *d, const json_t *v, struct alert *a)
{
    for (size_t i = 0; i < a->nlabels; i++)
        free(a->labels[i]);
    free(a->labels);
    a->labels = NULL;
    a->nlabels = 0;
    if (json_is_null(v))
        return 0;
    if (!json_is_array(v))
        return type_error(d, v, "[]string", false);
    size_t n = json_array_size(v);
    a->labels = array_alloc(n, sizeof(*a->labels));
    if (a->labels == NULL)
        return -ENOMEM;
    a->nlabels = n;
    for (size_t i = 0; i < n; i++) {
        const json_t *e = json_array_get(v, i);
        int rc =
            json_is_null(e) ? model_strset(&a->labels[i], "") : decode_string(d, e, &a->labels[i]);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int
decode_source(struct jdec *d, const json_t *v, struct alert *a)
{
    if (json_is_null(v)) {
        if (a->source != NULL) {
            source_clear(a->source);
            free(a->source);
            a->source = NULL;
        }
        return 0;
    }
    if (!json_is_object(v))
        return type_error(d, v, "models.Source", false);
    /* Like Go, a second "source" key fills the same struct again. */
    if (a->source == NULL) {
        a->source = calloc(1, sizeof(*a->source));
        if (a->source == NULL)
            return -ENOMEM;
    }
    return decode_struct(d, &source_struct, v, a->source);
}

static int
decode_field(struct jdec *d, const struct jfield *f, const json_t *v, void *base)
{
    void *p = (char *)base + f->off;

    /* The tables only give these kinds to Alert and Decision fields. */
    if ((f->type == JF_PINT32 || f->type == JF_PBOOL || f->type >= JF_SOURCE) && d->alert == NULL)
        return -EINVAL;
    if (f->type == JF_DEC_SIM && d->decision == NULL)
        return -EINVAL;

    switch (f->type) {
    case JF_STR: return json_is_null(v) ? 0 : decode_string(d, v, p);
    case JF_PSTR: return json_is_null(v) ? model_strset(p, NULL) : decode_string(d, v, p);
    case JF_INT64:
        if (json_is_null(v))
            return 0;
        if (!json_is_integer(v))
            return type_error(d, v, "int64", true);
        *(int64_t *)p = json_integer_value(v);
        return 0;
    case JF_PINT32:
        if (json_is_null(v)) {
            d->alert->absent |= f->bit;
            return 0;
        }
        if (!json_is_integer(v) || json_integer_value(v) < INT32_MIN ||
            json_integer_value(v) > INT32_MAX)
            return type_error(d, v, "int32", true);
        *(int32_t *)p = (int32_t)json_integer_value(v);
        d->alert->absent &= ~f->bit;
        return 0;
    case JF_BOOL:
    case JF_PBOOL:
    case JF_DEC_SIM:
        if (json_is_null(v)) {
            if (f->type == JF_PBOOL)
                d->alert->absent |= f->bit;
            if (f->type == JF_DEC_SIM) {
                d->decision->simulated = false;
                d->decision->simulated_set = false;
            }
            return 0;
        }
        if (!json_is_boolean(v))
            return type_error(d, v, "bool", false);
        *(bool *)p = json_is_true(v);
        if (f->type == JF_PBOOL)
            d->alert->absent &= ~f->bit;
        if (f->type == JF_DEC_SIM)
            d->decision->simulated_set = true;
        return 0;
    case JF_FLOAT32: {
        if (json_is_null(v))
            return 0;
        if (!json_is_number(v))
            return type_error(d, v, "float32", true);
        float x = json_is_integer(v) ? (float)json_integer_value(v) : (float)json_real_value(v);
        if (!isfinite(x))
            return type_error(d, v, "float32", true);
        *(float *)p = x;
        return 0;
    }
    case JF_META: return decode_meta(d, v, p);
    case JF_SOURCE: return decode_source(d, v, d->alert);
    case JF_EVENTS: return decode_events(d, v, d->alert);
    case JF_DECISIONS: return decode_decisions(d, v, d->alert);
    case JF_LABELS: return decode_labels(d, v, d->alert);
    }
    return -EINVAL;
}

/*
 * Fills base from obj, key by key in document order so that the first type
 * error is Go's first. The path and struct name are restored on the way out.
 */
static int
decode_struct(struct jdec *d, const struct jstruct *st, const json_t *obj, void *base)
{
    const char *saved_strct = d->strct;
    struct alert *saved_alert = d->alert;
    struct decision *saved_decision = d->decision;
    size_t saved_len = strlen(d->path);
    const char *key;
    json_t *v;
    int rc = 0;

    d->strct = st->name;
    d->alert = st == &alert_struct ? base : NULL;
    d->decision = st == &decision_struct ? base : NULL;
    json_object_foreach((json_t *)obj, key, v)
    {
        const struct jfield *f = NULL;
        for (size_t i = 0; i < st->nfields && f == NULL; i++) {
            if (strcmp(key, st->fields[i].name) == 0)
                f = &st->fields[i];
        }
        for (size_t i = 0; i < st->nfields && f == NULL; i++) {
            if (key_fold_eq(key, st->fields[i].name))
                f = &st->fields[i];
        }
        if (f == NULL)
            continue; /* unknown keys are ignored, as by Go */
        snprintf(d->path + saved_len, sizeof(d->path) - saved_len, "%s%s", saved_len > 0 ? "." : "",
                 f->name);
        rc = decode_field(d, f, v, base);
        d->path[saved_len] = '\0';
        if (rc < 0)
            break;
    }
    d->strct = saved_strct;
    d->alert = saved_alert;
    d->decision = saved_decision;
    return rc;
}

int
alert_from_json(const json_t *j, struct alert *ret, char *err, size_t errlen)
{
    struct jdec d = { .err = err, .errlen = errlen };
    struct alert a;
    int rc;

    memset(&a, 0, sizeof(a));
    a.absent = ALERT_ABSENT_CAPACITY | ALERT_ABSENT_EVENTS_COUNT | ALERT_ABSENT_SIMULATED;
    if (!json_is_object(j)) {
        if (json_is_null(j)) {
            *ret = a;
            return 0;
        }
        return type_error(&d, j, "models.Alert", false);
    }
    rc = decode_struct(&d, &alert_struct, j, &a);
    if (rc < 0) {
        if (rc == -ENOMEM)
            set_err(err, errlen, "out of memory");
        alert_clear(&a);
        return rc;
    }
    *ret = a;
    return 0;
}

int
decision_from_json(const json_t *j, struct decision *ret, char *err, size_t errlen)
{
    struct jdec d = { .err = err, .errlen = errlen };
    struct decision dec = { 0 };
    int rc;

    if (!json_is_object(j)) {
        if (json_is_null(j)) {
            *ret = dec;
            return 0;
        }
        return type_error(&d, j, "models.Decision", false);
    }
    rc = decode_struct(&d, &decision_struct, j, &dec);
    if (rc < 0) {
        if (rc == -ENOMEM)
            set_err(err, errlen, "out of memory");
        decision_clear(&dec);
        return rc;
    }
    *ret = dec;
    return 0;
}

int
alerts_from_json_array(const json_t *j, struct alert **ret, size_t *ret_n, char *err, size_t errlen)
{
    struct jdec d = { .err = err, .errlen = errlen };
    size_t n = json_is_array(j) ? json_array_size(j) : 0;
    struct alert *arr;

    if (!json_is_array(j) && !json_is_null(j))
        return type_error(&d, j, "models.AddAlertsRequest", false);
    arr = array_alloc(n, sizeof(*arr));
    if (arr == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        int rc = alert_from_json(json_array_get(j, i), &arr[i], err, errlen);
        if (rc < 0) {
            for (size_t k = 0; k < i; k++)
                alert_clear(&arr[k]);
            free(arr);
            return rc;
        }
    }
    *ret = arr;
    *ret_n = n;
    return 0;
}

int
decisions_from_json_array(const json_t *j, struct decision **ret, size_t *ret_n, char *err,
                          size_t errlen)
{
    struct jdec d = { .err = err, .errlen = errlen };
    size_t n = json_is_array(j) ? json_array_size(j) : 0;
    struct decision *arr;

    if (!json_is_array(j) && !json_is_null(j))
        return type_error(&d, j, "models.GetDecisionsResponse", false);
    arr = array_alloc(n, sizeof(*arr));
    if (arr == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        int rc = decision_from_json(json_array_get(j, i), &arr[i], err, errlen);
        if (rc < 0) {
            for (size_t k = 0; k < i; k++)
                decision_clear(&arr[k]);
            free(arr);
            return rc;
        }
    }
    *ret = arr;
    *ret_n = n;
    return 0;
}

/* --- validation (go-openapi's Validate over the swagger's required fields) --- */

/*
 * A go-openapi CompositeError being built: its children, each on its own
 * line, as Error() prints them.
 */
struct vlist {
    struct str text;
    int n;
    bool oom;
};

static void
v_required(struct vlist *l, const char *pfx, const char *name)
{
    if (str_appendf(&l->text, "\n%s%s in body is required", pfx, name) < 0)
        l->oom = true;
    l->n++;
}

/* Appends a nested composite (its own "validation failure list:" header). */
static void
v_nested(struct vlist *l, struct vlist *child)
{
    if (child->oom || str_append_cstr(&l->text, "\nvalidation failure list:") < 0 ||
        str_append(&l->text, child->text.buf, child->text.len) < 0)
        l->oom = true;
    l->n++;
}

static void
v_pstr(struct vlist *l, const char *pfx, const char *name, const char *value)
{
    if (value == NULL)
        v_required(l, pfx, name);
}

static void
decision_check(struct vlist *l, const char *pfx, const struct decision *d)
{
    v_pstr(l, pfx, "duration", d->duration);
    v_pstr(l, pfx, "origin", d->origin);
    v_pstr(l, pfx, "scenario", d->scenario);
    v_pstr(l, pfx, "scope", d->scope);
    v_pstr(l, pfx, "type", d->type);
    v_pstr(l, pfx, "value", d->value);
}

static void
alert_check(struct vlist *l, const char *pfx, const struct alert *a)
{
    char sub[96];

    if (a->absent & ALERT_ABSENT_CAPACITY)
        v_required(l, pfx, "capacity");
    /* Decisions and events: the first invalid element only, as the generated code returns. */
    for (size_t i = 0; a->decisions != NULL && i < a->ndecisions; i++) {
        struct vlist c = { 0 };
        snprintf(sub, sizeof(sub), "%sdecisions.%zu.", pfx, i);
        decision_check(&c, sub, &a->decisions[i]);
        if (c.n > 0)
            v_nested(l, &c);
        str_free(&c.text);
        if (c.n > 0)
            break;
    }
    if (a->events == NULL)
        v_required(l, pfx, "events");
    for (size_t i = 0; a->events != NULL && i < a->nevents; i++) {
        struct vlist c = { 0 };
        snprintf(sub, sizeof(sub), "%sevents.%zu.", pfx, i);
        if (a->events[i].meta.items == NULL)
            v_required(&c, sub, "meta");
        v_pstr(&c, sub, "timestamp", a->events[i].timestamp);
        if (c.n > 0)
            v_nested(l, &c);
        str_free(&c.text);
        if (c.n > 0)
            break;
    }
    if (a->absent & ALERT_ABSENT_EVENTS_COUNT)
        v_required(l, pfx, "events_count");
    v_pstr(l, pfx, "leakspeed", a->leakspeed);
    v_pstr(l, pfx, "message", a->message);
    v_pstr(l, pfx, "scenario", a->scenario);
    v_pstr(l, pfx, "scenario_hash", a->scenario_hash);
    v_pstr(l, pfx, "scenario_version", a->scenario_version);
    if (a->absent & ALERT_ABSENT_SIMULATED)
        v_required(l, pfx, "simulated");
    if (a->source == NULL) {
        v_required(l, pfx, "source");
    } else {
        struct vlist c = { 0 };
        snprintf(sub, sizeof(sub), "%ssource.", pfx);
        v_pstr(&c, sub, "scope", a->source->scope);
        v_pstr(&c, sub, "value", a->source->value);
        if (c.n > 0)
            v_nested(l, &c);
        str_free(&c.text);
    }
    v_pstr(l, pfx, "start_at", a->start_at);
    v_pstr(l, pfx, "stop_at", a->stop_at);
}

/* 0 if l is empty, else -EINVAL with the composite's text in err. */
static int
v_finish(struct vlist *l, char *err, size_t errlen)
{
    int rc = 0;

    if (l->oom) {
        set_err(err, errlen, "out of memory");
        rc = -ENOMEM;
    } else if (l->n > 0) {
        set_err(err, errlen, "validation failure list:%s", l->text.buf);
        rc = -EINVAL;
    }
    str_free(&l->text);
    return rc;
}

int
alert_validate(const struct alert *a, char *err, size_t errlen)
{
    struct vlist l = { 0 };

    alert_check(&l, "", a);
    return v_finish(&l, err, errlen);
}

int
alerts_validate(const struct alert *a, size_t n, char *err, size_t errlen)
{
    char pfx[32];

    for (size_t i = 0; i < n; i++) {
        struct vlist l = { 0 };
        snprintf(pfx, sizeof(pfx), "%zu.", i);
        alert_check(&l, pfx, &a[i]);
        int rc = v_finish(&l, err, errlen);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int
decision_validate(const struct decision *d, char *err, size_t errlen)
{
    struct vlist l = { 0 };

    decision_check(&l, "", d);
    return v_finish(&l, err, errlen);
}

/*
 * helpers_json.c - CrowdSec's JSON and key=value helpers (pkg/exprhelpers
 * jsonextract.go, helpers.go): JsonExtract*, ToJsonString, UnmarshalJSON,
 * ParseKV and ParseKVLax.
 *
 * The JsonExtract family uses buger/jsonparser, which does not validate a
 * document: it walks bytes to the requested key and returns the raw text of
 * the value there (strings without their quotes but with their escapes).
 * Garbage after the value, or in parts it skips, goes unnoticed. We port its
 * walker (v1.2.0: searchKeys, blockEnd, stringEnd, ArrayEach, getType)
 * rather than use a validating parser, so the same inputs give the same
 * text. Values that CrowdSec passes through encoding/json (JsonExtractSlice,
 * JsonExtractObject, UnmarshalJSON, ToJsonString) use value.c's JSON code.
 *
 * UnmarshalJSON, ParseKV and ParseKVLax write into their target map: a plain
 * map through expr_map_set, a host map (evt.Unmarshaled) through its class's
 * set callback, which must copy the value out of the vm's arena.
 */
#include "common/str.h"
#include "expr/helpers.h"
#include "expr/internal.h"

/* jsonparser's value types. */
enum jp_type { JP_NOT_EXIST, JP_STRING, JP_NUMBER, JP_OBJECT, JP_ARRAY, JP_BOOLEAN, JP_NULL };

struct jp_key {
    const char *p;
    size_t n;
};

/* jsonparser's path depth is bounded by the path text; this bounds its recursion too. */
#define JP_MAX_KEYS  128
#define KV_MAX_PAIRS 4096

static ptrdiff_t
jp_next_token(const char *d, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (d[i] != ' ' && d[i] != '\n' && d[i] != '\r' && d[i] != '\t')
            return (ptrdiff_t)i;
    return -1;
}

static size_t
jp_token_end(const char *d, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strchr(" \n\r\t,}]", d[i]) != NULL && d[i] != '\0')
            return i;
    return n;
}

/* Index just past the closing quote of a string body, or -1; *escaped if it has a backslash. */
static ptrdiff_t
jp_string_end(const char *d, size_t n, bool *escaped)
{
    bool esc = false;

    for (size_t i = 0; i < n; i++) {
        if (d[i] == '"') {
            if (!esc) {
                if (escaped != NULL)
                    *escaped = false;
                return (ptrdiff_t)i + 1;
            }
            ptrdiff_t j = (ptrdiff_t)i - 1;
            for (;;) {
                if (j < 0 || d[j] != '\\') {
                    if (escaped != NULL)
                        *escaped = true;
                    return (ptrdiff_t)i + 1; /* even number of backslashes */
                }
                j--;
                if (j < 0 || d[j] != '\\')
                    break; /* odd: the quote is escaped */
                j--;
            }
        } else if (d[i] == '\\') {
            esc = true;
        }
    }
    return -1;
}

static ptrdiff_t
jp_block_end(const char *d, size_t n, char open, char close)
{
    int64_t level = 0;
    size_t i = 0;

    while (i < n) {
        char c = d[i];
        if (c == '"') {
            ptrdiff_t se = jp_string_end(d + i + 1, n - i - 1, NULL);
            if (se < 0)
                return -1;
            i += (size_t)se;
        } else if (c == open) {
            level++;
        } else if (c == close) {
            level--;
            if (level == 0)
                return (ptrdiff_t)i + 1;
        }
        i++;
    }
    return -1;
}

/* Decodes \uXXXX at in (needs 6 bytes); -1 if malformed. */
static int32_t
jp_u4(const char *in, size_t n)
{
    int32_t r = 0;

    if (n < 6)
        return -1;
    for (int k = 2; k < 6; k++) {
        char c = in[k];
        int v = (c >= '0' && c <= '9')   ? c - '0'
                : (c >= 'a' && c <= 'f') ? c - 'a' + 10
                : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                         : -1;
        if (v < 0)
            return -1;
        r = r * 16 + v;
    }
    return r;
}

static size_t
jp_encode_rune(int32_t r, char *out)
{
    if (r < 0 || r > 0x10FFFF || (r >= 0xD800 && r <= 0xDFFF))
        r = 0xFFFD;
    if (r < 0x80) {
        out[0] = (char)r;
        return 1;
    }
    if (r < 0x800) {
        out[0] = (char)(0xC0 | (r >> 6));
        out[1] = (char)(0x80 | (r & 0x3F));
        return 2;
    }
    if (r < 0x10000) {
        out[0] = (char)(0xE0 | (r >> 12));
        out[1] = (char)(0x80 | ((r >> 6) & 0x3F));
        out[2] = (char)(0x80 | (r & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (r >> 18));
    out[1] = (char)(0x80 | ((r >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((r >> 6) & 0x3F));
    out[3] = (char)(0x80 | (r & 0x3F));
    return 4;
}

/*
 * jsonparser's Unescape: out must hold n bytes (unescaping never grows).
 * Returns the output length or -1 on a bad escape.
 */
static ptrdiff_t
jp_unescape(const char *in, size_t n, char *out)
{
    size_t i = 0, o = 0;

    while (i < n) {
        if (in[i] != '\\') {
            out[o++] = in[i++];
            continue;
        }
        if (i + 1 >= n)
            return -1;
        char e = in[i + 1];
        switch (e) {
        case '"': out[o++] = '"'; break;
        case '\\': out[o++] = '\\'; break;
        case '/': out[o++] = '/'; break;
        case 'b': out[o++] = '\b'; break;
        case 'f': out[o++] = '\f'; break;
        case 'n': out[o++] = '\n'; break;
        case 'r': out[o++] = '\r'; break;
        case 't': out[o++] = '\t'; break;
        case 'u': {
            int32_t r = jp_u4(in + i, n - i);
            size_t len = 6;
            if (r < 0)
                return -1;
            if (r >= 0xD800 && r <= 0xDFFF) {
                int32_t r2 = jp_u4(in + i + 6, n - i - 6 < n ? n - i - 6 : 0);
                if (i + 6 > n || r2 < 0 || r2 < 0xDC00)
                    return -1;
                r = 0x10000 + ((r - 0xD800) << 10) + (r2 - 0xDC00);
                len = 12;
            }
            o += jp_encode_rune(r, out + o);
            i += len;
            continue;
        }
        default: return -1;
        }
        i += 2;
    }
    return (ptrdiff_t)o;
}

/* getType: the extent and type of the value at d[off]. Returns 0, or -1 if malformed. */
static int
jp_get_type(const char *d, size_t n, size_t off, size_t *ret_end, enum jp_type *ret_type)
{
    char c = d[off];

    if (c == '"') {
        ptrdiff_t idx = jp_string_end(d + off + 1, n - off - 1, NULL);
        if (idx < 0)
            return -1;
        *ret_end = off + (size_t)idx + 1;
        *ret_type = JP_STRING;
        return 0;
    }
    if (c == '[' || c == '{') {
        ptrdiff_t e = jp_block_end(d + off, n - off, c, c == '[' ? ']' : '}');
        if (e < 0)
            return -1;
        *ret_end = off + (size_t)e;
        *ret_type = c == '[' ? JP_ARRAY : JP_OBJECT;
        return 0;
    }
    size_t end = jp_token_end(d + off, n - off);
    const char *v = d + off;
    if (c == 't' || c == 'f') {
        if (!((end == 4 && memcmp(v, "true", 4) == 0) || (end == 5 && memcmp(v, "false", 5) == 0)))
            return -1;
        *ret_type = JP_BOOLEAN;
    } else if (c == 'u' || c == 'n') {
        if (!(end == 4 && memcmp(v, "null", 4) == 0))
            return -1;
        *ret_type = JP_NULL;
    } else if ((c >= '0' && c <= '9') || c == '-') {
        *ret_type = JP_NUMBER;
    } else {
        return -1;
    }
    *ret_end = off + end;
    return 0;
}

static ptrdiff_t jp_search_keys(struct expr_vm *vm, const char *d, size_t n,
                                const struct jp_key *keys, size_t lk, bool *panicked);

/*
 * The array-index step of searchKeys: ArrayEach over d (which starts at '['),
 * remembering the start of element aidx (strings with their quotes).
 */
static bool
jp_array_element(const char *d, size_t n, int64_t aidx, size_t *ret_off, size_t *ret_len)
{
    ptrdiff_t t = jp_next_token(d, n);
    size_t off;
    int64_t cur = 0;
    bool found = false;

    if (n == 0 || t < 0)
        return false;
    off = (size_t)t + 1;
    t = jp_next_token(d + off, n - off);
    if (t < 0)
        return false;
    off += (size_t)t;
    if (d[off] == ']')
        return false;
    for (;;) {
        ptrdiff_t vt = jp_next_token(d + off, n - off);
        size_t vstart, vend;
        enum jp_type type;
        if (vt < 0)
            break;
        vstart = off + (size_t)vt;
        if (jp_get_type(d, n, vstart, &vend, &type) != 0)
            break;
        if (cur == aidx && !found) {
            found = true;
            *ret_off = vstart;
            *ret_len = vend - vstart;
        }
        cur++;
        off = vend;
        t = jp_next_token(d + off, n - off);
        if (t < 0)
            break;
        off += (size_t)t;
        if (d[off] == ']' || d[off] != ',')
            break;
        off++;
    }
    return found;
}

/* Go's strconv.Atoi on an index between brackets. */
static bool
jp_atoi(const char *p, size_t n, int64_t *ret)
{
    size_t i = 0;
    bool neg = false;
    int64_t v = 0;

    if (n > 0 && (p[0] == '+' || p[0] == '-')) {
        neg = p[0] == '-';
        i = 1;
    }
    if (i >= n)
        return false;
    for (; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return false;
        if (v > (INT64_MAX - 9) / 10)
            return false;
        v = v * 10 + (p[i] - '0');
    }
    *ret = neg ? -v : v;
    return true;
}

/*
 * searchKeys: the offset just after the ':' (or the element start) of the
 * value at the path, or -1. *panicked is set where jsonparser would index
 * an empty key component and panic.
 */
static ptrdiff_t
jp_search_keys(struct expr_vm *vm, const char *d, size_t n, const struct jp_key *keys, size_t lk,
               bool *panicked)
{
    size_t key_level = 0, level = 0, i = 0;
    bool last_matched = true;
    char stackbuf[256];

    if (lk == 0)
        return 0;
    while (i < n) {
        switch (d[i]) {
        case '"': {
            bool escaped = false;
            i++;
            size_t key_begin = i;
            ptrdiff_t se = jp_string_end(d + i, n - i, &escaped);
            if (se < 0)
                return -1;
            i += (size_t)se;
            size_t key_end = i - 1;
            ptrdiff_t vo = jp_next_token(d + i, n - i);
            if (vo < 0)
                return -1;
            i += (size_t)vo;
            if (d[i] != ':') {
                i--;
                break;
            }
            if (level < 1)
                return -1;
            if (level > lk)
                return -1;
            const char *key = d + key_begin;
            size_t klen = key_end - key_begin;
            char *heap = NULL;
            if (escaped) {
                char *buf = klen <= sizeof(stackbuf) ? stackbuf : (heap = malloc(klen));
                if (buf == NULL)
                    return -1;
                ptrdiff_t ul = jp_unescape(key, klen, buf);
                if (ul < 0) {
                    free(heap);
                    return -1;
                }
                key = buf;
                klen = (size_t)ul;
            }
            bool eq = klen == keys[level - 1].n && memcmp(key, keys[level - 1].p, klen) == 0;
            free(heap);
            if (eq) {
                last_matched = true;
                if (key_level == level - 1) {
                    key_level++;
                    if (key_level == lk)
                        return (ptrdiff_t)i + 1;
                }
            } else {
                last_matched = false;
            }
            break;
        }
        case '{':
            if (!last_matched) {
                ptrdiff_t end = jp_block_end(d + i, n - i, '{', '}');
                if (end < 0)
                    return -1;
                i += (size_t)end - 1;
            } else {
                level++;
            }
            break;
        case '}':
            level--;
            if (level == key_level)
                key_level--;
            break;
        case '[':
            if (key_level == level && key_level < lk && keys[level].n == 0) {
                *panicked = true;
                return expr_vm_error(vm, "runtime error: index out of range [0] with length 0");
            }
            if (key_level == level && key_level < lk && keys[level].p[0] == '[') {
                const struct jp_key *k = &keys[level];
                int64_t aidx;
                size_t eoff, elen;
                if (k->n < 3 || k->p[k->n - 1] != ']')
                    return -1;
                if (!jp_atoi(k->p + 1, k->n - 2, &aidx))
                    return -1;
                if (!jp_array_element(d + i, n - i, aidx, &eoff, &elen))
                    return -1;
                ptrdiff_t sub = jp_search_keys(vm, d + i + eoff, elen, keys + level + 1,
                                               lk - level - 1, panicked);
                if (sub < 0)
                    return -1;
                return (ptrdiff_t)(i + eoff) + sub;
            } else {
                ptrdiff_t skip = jp_block_end(d + i, n - i, '[', ']');
                if (skip < 0)
                    return -1;
                i += (size_t)skip - 1;
            }
            break;
        case ':': return -1;
        default: break;
        }
        i++;
    }
    return -1;
}

/*
 * jsonparser.Get: the value's text (strings without quotes) and type.
 * Returns 0 found, 1 not found / malformed, -1 run-time error (vm error set).
 */
static int
jp_get(struct expr_vm *vm, const char *d, size_t n, const struct jp_key *keys, size_t lk,
       const char **ret_p, size_t *ret_n, enum jp_type *ret_type)
{
    size_t off = 0, end;
    bool panicked = false;

    if (lk > 0) {
        ptrdiff_t o = jp_search_keys(vm, d, n, keys, lk, &panicked);
        if (panicked)
            return -1;
        if (o < 0)
            return 1;
        off = (size_t)o;
    }
    if (off > n)
        return 1;
    ptrdiff_t t = jp_next_token(d + off, n - off);
    if (t < 0)
        return 1;
    off += (size_t)t;
    if (jp_get_type(d, n, off, &end, ret_type) != 0)
        return 1;
    if (*ret_type == JP_STRING) {
        off++;
        end--;
    }
    *ret_p = d + off;
    *ret_n = end - off;
    return 0;
}

/* ------------------------------------------------------ argument access */

/*
 * JsonExtract's path: "a.b[0].c" -> a, b, [0], c ('[' becomes ".[" unless
 * the path starts with '['), split on '.'. Returns the key count or -1.
 */
static ptrdiff_t
path_to_keys(struct expr_vm *vm, const char *path, size_t n, struct jp_key **ret)
{
    bool lead = n > 0 && path[0] == '[';
    size_t extra = 0;

    for (size_t i = 0; i < n; i++)
        if (path[i] == '[' && !lead)
            extra++;
    char *buf = expr_vm_alloc(vm, n + extra + 1);
    if (buf == NULL)
        return expr_vm_error(vm, "out of memory");
    size_t len = 0, count = 1;
    for (size_t i = 0; i < n; i++) {
        if (path[i] == '[' && !lead)
            buf[len++] = '.';
        buf[len++] = path[i];
    }
    for (size_t i = 0; i < len; i++)
        if (buf[i] == '.')
            count++;
    if (count > JP_MAX_KEYS)
        return expr_vm_error(vm, "JsonExtract: path has more than %d parts", JP_MAX_KEYS);
    struct jp_key *keys = expr_vm_alloc(vm, count * sizeof(*keys));
    if (keys == NULL)
        return expr_vm_error(vm, "out of memory");
    size_t k = 0, start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i == len || buf[i] == '.') {
            keys[k].p = buf + start;
            keys[k].n = i - start;
            k++;
            start = i + 1;
        }
    }
    *ret = keys;
    return (ptrdiff_t)k;
}

/* Keys from a []string argument (or one string, as JsonExtractUnescape allows). */
static ptrdiff_t
arg_keys(struct expr_vm *vm, const struct expr_value *v, bool allow_string, struct jp_key **ret)
{
    if (allow_string && v->kind == EXPR_STRING) {
        struct jp_key *k = expr_vm_alloc(vm, sizeof(*k));
        if (k == NULL)
            return expr_vm_error(vm, "out of memory");
        k->p = v->u.s.ptr != NULL ? v->u.s.ptr : "";
        k->n = v->u.s.len;
        *ret = k;
        return 1;
    }
    bool seq = v->kind == EXPR_ARRAY ||
               (v->kind == EXPR_OBJECT && v->u.o.cls != NULL && !v->u.o.cls->is_map &&
                v->u.o.cls->at != NULL && v->u.o.cls->len != NULL);
    if (!seq)
        return expr_helper_type_error(vm, v, "[]string");
    int64_t n = expr_value_len(v);
    if (n > JP_MAX_KEYS)
        return expr_vm_error(vm, "JsonExtract: path has more than %d parts", JP_MAX_KEYS);
    struct jp_key *keys = expr_vm_alloc(vm, (size_t)MAX(n, 1) * sizeof(*keys));
    if (keys == NULL)
        return expr_vm_error(vm, "out of memory");
    for (int64_t i = 0; i < n; i++) {
        struct expr_value item;
        if (expr_value_at(vm, v, (size_t)i, &item) != 0)
            return -1;
        if (item.kind != EXPR_STRING)
            return expr_helper_type_error(vm, v, "[]string");
        keys[i].p = item.u.s.ptr != NULL ? item.u.s.ptr : "";
        keys[i].n = item.u.s.len;
    }
    *ret = keys;
    return n;
}

/* JsonExtractLib's answer: the raw text, or "" when absent or malformed. */
static int
extract_raw(struct expr_vm *vm, const char *js, size_t jn, const struct jp_key *keys, size_t lk,
            struct expr_value *ret)
{
    const char *p;
    size_t n;
    enum jp_type t;
    int rc = jp_get(vm, js, jn, keys, lk, &p, &n, &t);

    if (rc < 0)
        return -1;
    *ret = rc == 0 ? expr_strv(p, n) : expr_strv("", 0);
    return 0;
}

/* JsonExtract(js, "a.b[0].c") string. */
static int
h_json_extract(struct expr_vm *vm, const struct expr_value *args, size_t nargs,
               struct expr_value *ret)
{
    const char *js, *path;
    size_t jn, pn;
    struct jp_key *keys;

    EXPR_S_ARG(0, js, jn);
    EXPR_S_ARG(1, path, pn);
    ptrdiff_t lk = path_to_keys(vm, path, pn, &keys);
    if (lk < 0)
        return -1;
    return extract_raw(vm, js, jn, keys, (size_t)lk, ret);
}

/*
 * JsonExtractLib(js, keys...) string. CrowdSec type-asserts its second
 * parameter to []string, and expr passes variadic arguments one by one, so
 * only a list of keys in second position works; a string there panics.
 */
static int
h_json_extract_lib(struct expr_vm *vm, const struct expr_value *args, size_t nargs,
                   struct expr_value *ret)
{
    const char *js;
    size_t jn;
    struct jp_key *keys;

    EXPR_S_ARG(0, js, jn);
    if (nargs < 2)
        return expr_vm_error(vm, "runtime error: index out of range [1] with length 1");
    ptrdiff_t lk = arg_keys(vm, &args[1], false, &keys);
    if (lk < 0)
        return -1;
    return extract_raw(vm, js, jn, keys, (size_t)lk, ret);
}

/*
 * JsonExtractUnescape(js, keys...) string: jsonparser.GetString, so the
 * value must be a JSON string; it comes back unescaped. As in CrowdSec only
 * the second argument is used: one key, or a list of keys.
 */
static int
h_json_extract_unescape(struct expr_vm *vm, const struct expr_value *args, size_t nargs,
                        struct expr_value *ret)
{
    const char *js, *p;
    size_t jn, n;
    struct jp_key *keys = NULL;
    enum jp_type t;

    EXPR_S_ARG(0, js, jn);
    if (nargs < 2)
        return expr_vm_error(vm, "runtime error: index out of range [1] with length 1");
    *ret = expr_strv("", 0);
    if (args[1].kind != EXPR_STRING && args[1].kind != EXPR_ARRAY && args[1].kind != EXPR_OBJECT)
        return 0; /* neither case of CrowdSec's type switch: err stays nil, value "" */
    ptrdiff_t lk = arg_keys(vm, &args[1], true, &keys);
    if (lk < 0)
        return -1;
    int rc = jp_get(vm, js, jn, keys, (size_t)lk, &p, &n, &t);
    if (rc < 0)
        return -1;
    if (rc > 0 || t != JP_STRING)
        return 0;
    if (memchr(p, '\\', n) == NULL) {
        *ret = expr_strv(p, n);
        return 0;
    }
    char *out = expr_vm_alloc(vm, n + 1);
    if (out == NULL)
        return expr_vm_error(vm, "out of memory");
    ptrdiff_t ul = jp_unescape(p, n, out);
    if (ul >= 0)
        *ret = expr_strv(out, (size_t)ul);
    return 0;
}

/* JsonExtractSlice / JsonExtractObject: the value must have the wanted type; else nil. */
static int
extract_typed(struct expr_vm *vm, const struct expr_value *args, enum jp_type want,
              struct expr_value *ret)
{
    const char *js, *path, *p;
    size_t jn, pn, n;
    struct jp_key *keys = NULL;
    enum jp_type t;

    EXPR_S_ARG(0, js, jn);
    EXPR_S_ARG(1, path, pn);
    ptrdiff_t lk = path_to_keys(vm, path, pn, &keys);
    if (lk < 0)
        return -1;
    int rc = jp_get(vm, js, jn, keys, (size_t)lk, &p, &n, &t);
    if (rc < 0)
        return -1;
    *ret = expr_nil();
    if (rc > 0 || t != want)
        return 0;
    struct expr_value v;
    if (expr_value_from_json(vm, p, n, &v) != 0) {
        /* encoding/json rejected what jsonparser accepted: CrowdSec logs and returns nil. */
        vm->has_error = false;
        vm->error[0] = '\0';
        return 0;
    }
    *ret = v;
    return 0;
}

static int
h_json_extract_slice(struct expr_vm *vm, const struct expr_value *args, size_t nargs,
                     struct expr_value *ret)
{
    return extract_typed(vm, args, JP_ARRAY, ret);
}

static int
h_json_extract_object(struct expr_vm *vm, const struct expr_value *args, size_t nargs,
                      struct expr_value *ret)
{
    return extract_typed(vm, args, JP_OBJECT, ret);
}

/* ToJsonString(x): json.Marshal, compact; "" when it cannot be encoded. */
static int
h_to_json_string(struct expr_vm *vm, const struct expr_value *args, size_t nargs,
                 struct expr_value *ret)
{
    struct str out = STR_INIT;
    int rc = expr_value_to_json(vm, &args[0], false, &out);

    if (rc != 0) {
        str_free(&out);
        vm->has_error = false;
        vm->error[0] = '\0';
        if (rc == -ENOMEM)
            return expr_vm_error(vm, "out of memory");
        *ret = expr_strv("", 0);
        return 0;
    }
    *ret = expr_vm_str(vm, out.buf != NULL ? out.buf : "", out.len);
    str_free(&out);
    if (ret->kind != EXPR_STRING)
        return expr_vm_error(vm, "out of memory");
    return 0;
}

/* ---------------------------------------------------------- map targets */

static bool
is_host_map(const struct expr_value *v)
{
    return v->kind == EXPR_OBJECT && v->u.o.cls != NULL && v->u.o.cls->is_map;
}

static int
target_check(struct expr_vm *vm, const struct expr_value *t)
{
    if (t->kind == EXPR_MAP && t->u.m != NULL)
        return 0;
    if (is_host_map(t) && t->u.o.cls->set != NULL)
        return 0;
    return expr_helper_type_error(vm, t, "map[string]interface {}");
}

/* target[key] = v. */
static int
target_set(struct expr_vm *vm, const struct expr_value *t, const char *key, size_t klen,
           struct expr_value v)
{
    if (t->kind == EXPR_MAP) {
        if (expr_map_set(vm, t->u.m, key, klen, v) != 0)
            return expr_vm_error(vm, "out of memory");
        return 0;
    }
    struct expr_value k = expr_strv(key, klen);
    return t->u.o.cls->set(t->u.o.ptr, vm, &k, &v);
}

/* target[key] if present: 1 found, 0 absent, -1 error. */
static int
target_get(struct expr_vm *vm, const struct expr_value *t, const char *key, size_t klen,
           struct expr_value *ret)
{
    if (t->kind == EXPR_MAP) {
        const struct expr_value *v = expr_map_get(t->u.m, key, klen);
        if (v == NULL)
            return 0;
        *ret = *v;
        return 1;
    }
    const struct expr_class *cls = t->u.o.cls;
    struct expr_value k = expr_strv(key, klen);
    if (cls->has != NULL && !cls->has(t->u.o.ptr, &k))
        return 0;
    if (cls->index == NULL || cls->index(t->u.o.ptr, vm, &k, ret) != 0)
        return cls->index == NULL ? 0 : -1;
    return ret->kind == EXPR_NIL && cls->has == NULL ? 0 : 1;
}

/* UnmarshalJSON(s, target, key): target[key] = json.Unmarshal(s); bad JSON is a run-time error. */
static int
h_unmarshal_json(struct expr_vm *vm, const struct expr_value *args, size_t nargs,
                 struct expr_value *ret)
{
    const char *s, *key;
    size_t n, kn;
    struct expr_value v;

    EXPR_S_ARG(0, s, n);
    if (target_check(vm, &args[1]) != 0)
        return -1;
    EXPR_S_ARG(2, key, kn);
    if (expr_value_from_json(vm, s, n, &v) != 0)
        return -1;
    if (target_set(vm, &args[1], key, kn, v) != 0)
        return -1;
    *ret = expr_nil();
    return 0;
}

struct kv_pair {
    const char *k;
    size_t kn;
    const char *v;
    size_t vn;
};

struct kv_list {
    struct kv_pair *items;
    size_t len, cap;
};

static int
kv_add(struct expr_vm *vm, struct kv_list *l, const char *k, size_t kn, const char *v, size_t vn)
{
    if (l->len == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        if (cap > KV_MAX_PAIRS)
            return expr_vm_error(vm, "ParseKV: more than %d pairs", KV_MAX_PAIRS);
        struct kv_pair *p = expr_vm_alloc(vm, cap * sizeof(*p));
        if (p == NULL)
            return expr_vm_error(vm, "out of memory");
        if (l->len > 0)
            memcpy(p, l->items, l->len * sizeof(*p));
        l->items = p;
        l->cap = cap;
    }
    l->items[l->len++] = (struct kv_pair){ k, kn, v, vn };
    return 0;
}

static bool
kv_space(char c)
{
    /* RE2's \s: [\t\n\f\r ] (no \v). */
    return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r';
}

/*
 * FindAllStringSubmatch of CrowdSec's
 *   (?P<key>[^=\s]+)=(?:"(?P<quoted_value>[^"\\]*(?:\\.[^"\\]*)*)"|(?P<value>[^=\s]+)|\s*)
 * Quoted values keep their backslashes, as the regex captures them raw.
 */
static int
kv_scan_strict(struct expr_vm *vm, const char *s, size_t n, struct kv_list *out)
{
    size_t i = 0;

    while (i < n) {
        /* Leftmost match: a run of key bytes that ends at '='. */
        size_t ks = i;
        while (ks < n && (s[ks] == '=' || kv_space(s[ks])))
            ks++;
        if (ks >= n)
            break;
        size_t ke = ks;
        while (ke < n && s[ke] != '=' && !kv_space(s[ke]))
            ke++;
        if (ke >= n || s[ke] != '=') {
            i = ke;
            continue;
        }
        size_t p = ke + 1;
        const char *val = "";
        size_t vn = 0;
        bool done = false;
        if (p < n && s[p] == '"') {
            size_t q = p + 1;
            while (q < n && s[q] != '"') {
                if (s[q] == '\\') {
                    if (q + 1 >= n || s[q + 1] == '\n')
                        break;
                    q += 2;
                } else {
                    q++;
                }
            }
            if (q < n && s[q] == '"') {
                val = s + p + 1;
                vn = q - p - 1;
                p = q + 1;
                done = true;
            }
        }
        if (!done && p < n && s[p] != '=' && !kv_space(s[p])) {
            size_t q = p;
            while (q < n && s[q] != '=' && !kv_space(s[q]))
                q++;
            val = s + p;
            vn = q - p;
            p = q;
            done = true;
        }
        if (!done)
            while (p < n && kv_space(s[p]))
                p++;
        if (kv_add(vm, out, s + ks, ke - ks, val, vn) != 0)
            return -1;
        i = p;
    }
    return 0;
}

static bool
kv_key_start(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool
kv_key_char(char c)
{
    return kv_key_start(c) || (c >= '0' && c <= '9') || c == '.' || c == '-';
}

/* parseValueLax: strip surrounding quotes and unescape \\ then \" (in that order, as CrowdSec). */
static int
kv_lax_value(struct expr_vm *vm, const char *s, size_t n, const char **rp, size_t *rn)
{
    if (n == 0 || s[0] != '"') {
        *rp = s;
        *rn = n;
        return 0;
    }
    if (n < 2 || s[n - 1] != '"') {
        *rp = s + 1;
        *rn = n - 1;
        return 0;
    }
    s++;
    n -= 2;
    /* ReplaceAll(`\\`, `\`) then ReplaceAll(`\"`, `"`): two passes, as in Go. */
    char *a = expr_vm_alloc(vm, n + 1);
    char *b = expr_vm_alloc(vm, n + 1);
    if (a == NULL || b == NULL)
        return expr_vm_error(vm, "out of memory");
    size_t an = 0, bn = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\\' && i + 1 < n && s[i + 1] == '\\') {
            a[an++] = '\\';
            i++;
        } else {
            a[an++] = s[i];
        }
    }
    for (size_t i = 0; i < an; i++) {
        if (a[i] == '\\' && i + 1 < an && a[i + 1] == '"') {
            b[bn++] = '"';
            i++;
        } else {
            b[bn++] = a[i];
        }
    }
    *rp = b;
    *rn = bn;
    return 0;
}

/*
 * ParseKVLax: every `key=` of ([a-zA-Z_][a-zA-Z0-9_.-]*)= outside a quoted
 * value starts a pair; the value runs to the next such key, trimmed.
 */
static int
kv_scan_lax(struct expr_vm *vm, const char *s, size_t n, struct kv_list *out)
{
    struct kv_list m = { 0 };
    size_t i = 0;

    while (i < n) {
        if (!kv_key_start(s[i])) {
            i++;
            continue;
        }
        size_t e = i + 1;
        while (e < n && kv_key_char(s[e]))
            e++;
        if (e < n && s[e] == '=') {
            if (kv_add(vm, &m, s + i, e - i, NULL, e + 1) != 0)
                return -1;
            i = e + 1;
        } else {
            /* No key can start inside this run: they would all end at s[e] too. */
            i = e;
        }
    }
    /* isInsideQuotedValue for each match start, counting unescaped quotes incrementally. */
    bool in_quote = false;
    size_t scanned = 0, bs = 0, valid = 0;
    for (size_t k = 0; k < m.len; k++) {
        size_t pos = (size_t)(m.items[k].k - s);
        for (; scanned <= pos && scanned < n; scanned++) {
            if (s[scanned] == '"' && bs % 2 == 0)
                in_quote = !in_quote;
            bs = s[scanned] == '\\' ? bs + 1 : 0;
        }
        if (!in_quote)
            m.items[valid++] = m.items[k];
    }
    m.len = valid;
    for (size_t k = 0; k < m.len; k++) {
        size_t vs = m.items[k].vn; /* offset just after '=' */
        size_t ve = k + 1 < m.len ? (size_t)(m.items[k + 1].k - s) : n;
        const char *v = s + vs;
        size_t vn = ve - vs;
        expr_go_trim_space(&v, &vn);
        if (kv_lax_value(vm, v, vn, &v, &vn) != 0)
            return -1;
        if (kv_add(vm, out, m.items[k].k, m.items[k].kn, v, vn) != 0)
            return -1;
    }
    return 0;
}

/*
 * Copies the existing map at target[prefix] (it must hold only strings, as
 * CrowdSec's map[string]string does) into a fresh map. 0, or -1 on error.
 */
static int
kv_existing(struct expr_vm *vm, const struct expr_value *target, const char *prefix, size_t pn,
            struct expr_map **ret, const char *who)
{
    struct expr_value cur;
    struct expr_map *m = expr_vm_map(vm, 8);
    int found;

    if (m == NULL)
        return expr_vm_error(vm, "out of memory");
    found = target_get(vm, target, prefix, pn, &cur);
    if (found < 0)
        return -1;
    *ret = m;
    if (found == 0)
        return 0;
    if (cur.kind == EXPR_MAP && cur.u.m != NULL) {
        for (size_t i = 0; i < cur.u.m->len; i++) {
            const struct expr_map_entry *e = &cur.u.m->entries[i];
            if (e->value.kind != EXPR_STRING)
                goto bad;
            if (expr_map_set(vm, m, e->key, e->keylen, e->value) != 0)
                return expr_vm_error(vm, "out of memory");
        }
        return 0;
    }
    if (is_host_map(&cur) && cur.u.o.cls->len != NULL && cur.u.o.cls->at != NULL &&
        cur.u.o.cls->index != NULL) {
        size_t len = cur.u.o.cls->len(cur.u.o.ptr);
        for (size_t i = 0; i < len; i++) {
            struct expr_value k, v;
            if (cur.u.o.cls->at(cur.u.o.ptr, vm, i, &k) != 0 ||
                cur.u.o.cls->index(cur.u.o.ptr, vm, &k, &v) != 0)
                return -1;
            if (k.kind != EXPR_STRING || v.kind != EXPR_STRING)
                goto bad;
            if (expr_map_set(vm, m, k.u.s.ptr, k.u.s.len, v) != 0)
                return expr_vm_error(vm, "out of memory");
        }
        return 0;
    }
bad:
    return expr_vm_error(vm, "%s: target is not a map[string]string", who);
}

static int
parse_kv(struct expr_vm *vm, const struct expr_value *args, bool lax, struct expr_value *ret)
{
    const char *s, *prefix;
    size_t n, pn;
    struct kv_list pairs = { 0 };
    struct expr_map *m = NULL;
    const char *who = lax ? "ParseKVLax" : "ParseKV";

    EXPR_S_ARG(0, s, n);
    if (target_check(vm, &args[1]) != 0)
        return -1;
    EXPR_S_ARG(2, prefix, pn);
    if (!lax) {
        /* ParseKV fails on a line without pairs before it touches the target. */
        if (kv_scan_strict(vm, s, n, &pairs) != 0)
            return -1;
        if (pairs.len == 0)
            return expr_vm_error(vm, "invalid input format");
        if (kv_existing(vm, &args[1], prefix, pn, &m, who) != 0)
            return -1;
    } else {
        /* ParseKVLax creates target[prefix] first, then fails on a line without pairs. */
        if (kv_existing(vm, &args[1], prefix, pn, &m, who) != 0)
            return -1;
        if (kv_scan_lax(vm, s, n, &pairs) != 0)
            return -1;
        if (pairs.len == 0) {
            if (target_set(vm, &args[1], prefix, pn,
                           (struct expr_value){ .kind = EXPR_MAP, .u.m = m }) != 0)
                return -1;
            return expr_vm_error(vm, "invalid input format");
        }
    }
    for (size_t i = 0; i < pairs.len; i++) {
        struct kv_pair *p = &pairs.items[i];
        if (expr_map_set(vm, m, p->k, p->kn, expr_strv(p->v, p->vn)) != 0)
            return expr_vm_error(vm, "out of memory");
    }
    if (target_set(vm, &args[1], prefix, pn, (struct expr_value){ .kind = EXPR_MAP, .u.m = m }) !=
        0)
        return -1;
    *ret = expr_nil();
    return 0;
}

/* ParseKV(line, target, prefix): target[prefix][k] = v for each k=v / k="v" pair. */
static int
h_parse_kv(struct expr_vm *vm, const struct expr_value *args, size_t nargs, struct expr_value *ret)
{
    return parse_kv(vm, args, false, ret);
}

/* ParseKVLax(line, target, prefix): values may hold spaces ("host=My Server port=1"). */
static int
h_parse_kv_lax(struct expr_vm *vm, const struct expr_value *args, size_t nargs,
               struct expr_value *ret)
{
    return parse_kv(vm, args, true, ret);
}

#define T_STR EXPR_T(EXPR_STRING)

const struct expr_func expr_helpers_json[] = {
    { "JsonExtract", 2, 2, T_STR, h_json_extract },
    { "JsonExtractUnescape", 1, -1, T_STR, h_json_extract_unescape },
    { "JsonExtractLib", 1, -1, T_STR, h_json_extract_lib },
    { "JsonExtractSlice", 2, 2, EXPR_T(EXPR_ARRAY), h_json_extract_slice },
    { "JsonExtractObject", 2, 2, EXPR_T(EXPR_MAP), h_json_extract_object },
    { "ToJsonString", 1, 1, T_STR, h_to_json_string },
    /* These return Go's error type: nil on success. */
    { "UnmarshalJSON", 3, 3, EXPR_T_ANY, h_unmarshal_json },
    { "ParseKV", 3, 3, EXPR_T_ANY, h_parse_kv },
    { "ParseKVLax", 3, 3, EXPR_T_ANY, h_parse_kv_lax },
};
const size_t expr_helpers_json_count = ARRAY_SIZE(expr_helpers_json);

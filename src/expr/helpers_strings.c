/*
 * helpers_strings.c - CrowdSec's string helpers (pkg/exprhelpers strings.go
 * and helpers.go): Go's strings package, strconv.ParseFloat, fmt.Sprintf,
 * the `*`/`?` glob of Match, and the small list helpers.
 *
 * CrowdSec registers every helper with expr.Function and a Go signature, then
 * type-asserts its arguments (params[0].(string)). A value of the wrong type
 * that reaches a helper at run time therefore panics inside the VM, which
 * expr turns into a run-time error: we return the same error, worded like
 * Go's panic. Results follow Go byte for byte, including its UTF-8 rules:
 * an invalid byte decodes as U+FFFD of width 1, and case mapping rewrites it
 * as U+FFFD. Substrings of an argument are returned without copying (they
 * borrow the argument's memory, as Go's substrings do).
 */
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <unistd.h>
#include <wctype.h>

#include "common/gotime.h"
#include "common/hashmap.h"
#include "common/log.h"
#include "common/str.h"
#include "expr/helpers.h"
#include "expr/internal.h"

#define RUNE_ERROR 0xFFFD

/* ---------------------------------------------------------------- utf-8 */

static size_t
utf8_count(const char *s, size_t n)
{
    size_t count = 0, w;

    for (size_t i = 0; i < n; i += w, count++)
        expr_utf8_decode(s + i, n - i, &w);
    return count;
}

/*
 * Case mapping and printability come from glibc's C.UTF-8 locale, which
 * carries the Unicode simple case mappings Go's unicode package uses. The
 * locale object is private, so the process locale is left alone.
 */
static locale_t utf8_locale;
static pthread_once_t utf8_locale_once = PTHREAD_ONCE_INIT;

static void
utf8_locale_init(void)
{
    utf8_locale = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
}

static int32_t
rune_map(int32_t r, bool upper)
{
    if (r < 0x80) {
        if (upper && r >= 'a' && r <= 'z')
            return r - 32;
        if (!upper && r >= 'A' && r <= 'Z')
            return r + 32;
        return r;
    }
    pthread_once(&utf8_locale_once, utf8_locale_init);
    if (utf8_locale == (locale_t)0)
        return r;
    return (int32_t)(upper ? towupper_l((wint_t)r, utf8_locale)
                           : towlower_l((wint_t)r, utf8_locale));
}

/* Go's strconv.IsPrint: letters, marks, numbers, punctuation, symbols and ' '. */
static bool
rune_is_print(int32_t r)
{
    if (r < 0x80)
        return r >= 0x20 && r < 0x7F;
    if (expr_rune_is_space(r) || r == 0xAD)
        return false;
    pthread_once(&utf8_locale_once, utf8_locale_init);
    if (utf8_locale == (locale_t)0)
        return false;
    return iswprint_l((wint_t)r, utf8_locale) != 0;
}

/* ------------------------------------------------------ argument access */

static bool
is_sequence(const struct expr_value *v)
{
    if (v->kind == EXPR_ARRAY)
        return true;
    return v->kind == EXPR_OBJECT && v->u.o.cls != NULL && !v->u.o.cls->is_map &&
           v->u.o.cls->at != NULL && v->u.o.cls->len != NULL;
}

static struct expr_value
substr(const char *p, size_t n)
{
    return expr_strv(p, n);
}

static int
push(struct expr_vm *vm, struct expr_array *a, struct expr_value v)
{
    if (expr_array_push(vm, a, v) != 0)
        return expr_vm_error(vm, "out of memory");
    return 0;
}

static int
ret_str(struct expr_vm *vm, struct str *s, struct expr_value *ret)
{
    struct expr_value v = expr_vm_str(vm, s->buf != NULL ? s->buf : "", s->len);

    str_free(s);
    if (v.kind != EXPR_STRING)
        return expr_vm_error(vm, "out of memory");
    *ret = v;
    return 0;
}

/* ------------------------------------------------- Go library behaviour */

/* strconv's underscoreOK: '_' only between digits (or after a base prefix). */
static bool
underscore_ok(const char *s, size_t n)
{
    char saw = '^';
    size_t i = 0;
    bool hex = false;

    if (n >= 1 && (s[0] == '-' || s[0] == '+')) {
        s++;
        n--;
    }
    if (n >= 2 && s[0] == '0' && strchr("bBoOxX", s[1]) != NULL) {
        i = 2;
        saw = '0';
        hex = s[1] == 'x' || s[1] == 'X';
    }
    for (; i < n; i++) {
        char c = s[i];
        if ((c >= '0' && c <= '9') || (hex && ((c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))) {
            saw = '0';
            continue;
        }
        if (c == '_') {
            if (saw != '0')
                return false;
            saw = '_';
            continue;
        }
        if (saw == '_')
            return false;
        saw = '!';
    }
    return saw != '_';
}

static size_t
prefix_len_icase(const char *s, size_t n, const char *word)
{
    size_t i = 0;

    while (i < n && word[i] != '\0' && (s[i] | 0x20) == word[i])
        i++;
    return i;
}

int
expr_go_parse_float(const char *s, size_t n, double *ret)
{
    size_t i = 0, k;
    bool hex = false, digits = false, dot = false, unders = false;
    char buf[512];
    char *end;
    double f;

    *ret = 0;
    if (n == 0)
        return -EINVAL;
    /* Go's special(): [+-]inf, [+-]infinity, nan (any case). */
    if (s[0] == '+' || s[0] == '-' || s[0] == 'i' || s[0] == 'I') {
        size_t sign = (s[0] == '+' || s[0] == '-') ? 1 : 0;
        k = prefix_len_icase(s + sign, n - sign, "infinity");
        if (k > 3 && k < 8)
            k = 3;
        if ((k == 3 || k == 8) && sign + k == n) {
            *ret = s[0] == '-' ? -INFINITY : INFINITY;
            return 0;
        }
    } else if ((s[0] == 'n' || s[0] == 'N') && n == 3 && prefix_len_icase(s, n, "nan") == 3) {
        *ret = NAN;
        return 0;
    }
    if (s[i] == '+' || s[i] == '-')
        i++;
    if (i + 2 < n && s[i] == '0' && (s[i + 1] == 'x' || s[i + 1] == 'X')) {
        hex = true;
        i += 2;
    }
    for (; i < n; i++) {
        char c = s[i];
        if (c == '_') {
            unders = true;
        } else if (c == '.') {
            if (dot)
                break;
            dot = true;
        } else if ((c >= '0' && c <= '9') ||
                   (hex && ((c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))) {
            digits = true;
        } else {
            break;
        }
    }
    if (!digits)
        return -EINVAL;
    if (i < n && (hex ? (s[i] == 'p' || s[i] == 'P') : (s[i] == 'e' || s[i] == 'E'))) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        if (i >= n || s[i] < '0' || s[i] > '9')
            return -EINVAL;
        for (; i < n && ((s[i] >= '0' && s[i] <= '9') || s[i] == '_'); i++)
            if (s[i] == '_')
                unders = true;
    } else if (hex) {
        return -EINVAL; /* a hexadecimal mantissa requires a 'p' exponent */
    }
    if (i != n)
        return -EINVAL;
    if (unders && !underscore_ok(s, n))
        return -EINVAL;
    /* Long inputs: the copy drops '_'; strtod needs a NUL-terminated string. */
    char *copy = n < sizeof(buf) ? buf : malloc(n + 1);
    if (copy == NULL)
        return -ENOMEM;
    k = 0;
    for (i = 0; i < n; i++)
        if (s[i] != '_')
            copy[k++] = s[i];
    copy[k] = '\0';
    errno = 0;
    f = strtod(copy, &end);
    int err = errno;
    if (copy != buf)
        free(copy);
    if (err == ERANGE && isinf(f)) {
        *ret = f;
        return -ERANGE;
    }
    *ret = f;
    return 0;
}

void
expr_go_trim_space(const char **sp, size_t *np)
{
    const char *s = *sp;
    size_t n = *np, w;

    while (n > 0) {
        int32_t r = expr_utf8_decode(s, n, &w);
        if (!expr_rune_is_space(r) || r == RUNE_ERROR)
            break;
        s += w;
        n -= w;
    }
    /* From the end: step back to the start of the last rune. */
    while (n > 0) {
        size_t start = n - 1;
        while (start > 0 && n - start < 4 && ((unsigned char)s[start] & 0xC0) == 0x80)
            start--;
        int32_t r = expr_utf8_decode(s + start, n - start, &w);
        if (start + w != n) {
            /* The tail is not one whole rune: its last byte decodes on its own. */
            start = n - 1;
            r = expr_utf8_decode(s + start, 1, &w);
        }
        if (!expr_rune_is_space(r) || r == RUNE_ERROR)
            break;
        n = start;
    }
    *sp = s;
    *np = n;
}

/* Go's strings.Index (byte offset or -1). */
static ptrdiff_t
go_index(const char *s, size_t n, const char *sub, size_t m)
{
    if (m == 0)
        return 0;
    if (m > n)
        return -1;
    const char *p = memmem(s, n, sub, m);
    return p != NULL ? p - s : -1;
}

/* Go's strings.Count (runes + 1 for an empty separator). */
static size_t
go_count(const char *s, size_t n, const char *sub, size_t m)
{
    size_t count = 0;
    ptrdiff_t j;

    if (m == 0)
        return utf8_count(s, n) + 1;
    while ((j = go_index(s, n, sub, m)) >= 0) {
        count++;
        s += j + (ptrdiff_t)m;
        n -= (size_t)j + m;
    }
    return count;
}

static bool
rune_in(int32_t r, const char *set, size_t n)
{
    size_t w;

    for (size_t i = 0; i < n; i += w)
        if (expr_utf8_decode(set + i, n - i, &w) == r)
            return true;
    return false;
}

/* Upper/Lower: ASCII stays as is; anything else goes through strings.Map. */
static int
case_map(struct expr_vm *vm, const char *s, size_t n, bool upper, struct expr_value *ret)
{
    struct str out = STR_INIT;
    size_t w;
    char enc[4];
    bool ascii = true, change = false;

    /* Go's fast path for ASCII: the string itself when nothing changes, else a byte map. */
    for (size_t i = 0; i < n && ascii; i++) {
        unsigned char c = (unsigned char)s[i];
        ascii = c < 0x80;
        change |= upper ? (c >= 'a' && c <= 'z') : (c >= 'A' && c <= 'Z');
    }
    if (ascii && !change) {
        *ret = substr(s, n);
        return 0;
    }
    if (ascii) {
        char *p = expr_vm_alloc(vm, n + 1);
        if (p == NULL)
            return expr_vm_error(vm, "out of memory");
        for (size_t i = 0; i < n; i++) {
            unsigned char c = (unsigned char)s[i];
            if (upper && c >= 'a' && c <= 'z')
                c = (unsigned char)(c - 'a' + 'A');
            else if (!upper && c >= 'A' && c <= 'Z')
                c = (unsigned char)(c - 'A' + 'a');
            p[i] = (char)c;
        }
        p[n] = '\0';
        *ret = expr_strv(p, n);
        return 0;
    }
    for (size_t i = 0; i < n; i += w) {
        int32_t r = expr_utf8_decode(s + i, n - i, &w);
        size_t len = expr_utf8_encode(rune_map(r, upper), enc);
        if (str_append(&out, enc, len) != 0) {
            str_free(&out);
            return expr_vm_error(vm, "out of memory");
        }
    }
    return ret_str(vm, &out, ret);
}

/* Go's genSplit (sep != "") and explode (sep == ""); n < 0 = all. */
static int
go_split(struct expr_vm *vm, const char *s, size_t len, const char *sep, size_t seplen, size_t save,
         int64_t n, struct expr_value *ret)
{
    struct expr_array *a;

    if (n == 0) {
        a = expr_vm_array(vm, 0);
        goto out;
    }
    if (seplen == 0) {
        int64_t runes = (int64_t)utf8_count(s, len);
        if (n < 0 || n > runes)
            n = runes;
        a = expr_vm_array(vm, (size_t)n);
        if (a == NULL)
            return expr_vm_error(vm, "out of memory");
        size_t w;
        for (int64_t i = 0; i < n - 1; i++) {
            expr_utf8_decode(s, len, &w);
            if (push(vm, a, substr(s, w)) != 0)
                return -1;
            s += w;
            len -= w;
        }
        if (n > 0 && push(vm, a, substr(s, len)) != 0)
            return -1;
        goto out;
    }
    if (n < 0)
        n = (int64_t)go_count(s, len, sep, seplen) + 1;
    if ((uint64_t)n > len + 1)
        n = (int64_t)len + 1;
    a = expr_vm_array(vm, (size_t)MIN(n, 64));
    if (a == NULL)
        return expr_vm_error(vm, "out of memory");
    for (int64_t i = 0; i < n - 1; i++) {
        ptrdiff_t m = go_index(s, len, sep, seplen);
        if (m < 0)
            break;
        if (push(vm, a, substr(s, (size_t)m + save)) != 0)
            return -1;
        s += (size_t)m + seplen;
        len -= (size_t)m + seplen;
    }
    if (push(vm, a, substr(s, len)) != 0)
        return -1;
out:
    if (a == NULL)
        return expr_vm_error(vm, "out of memory");
    *ret = (struct expr_value){ .kind = EXPR_ARRAY, .u.a = a };
    return 0;
}

/* Go's strings.Replace. */
static int
go_replace(struct expr_vm *vm, const char *s, size_t len, const char *old, size_t oldlen,
           const char *new, size_t newlen, int64_t n, const struct expr_value *orig,
           struct expr_value *ret)
{
    struct str out = STR_INIT;
    size_t start = 0, m;

    if ((oldlen == newlen && memcmp(old, new, oldlen) == 0) || n == 0)
        goto same;
    m = go_count(s, len, old, oldlen);
    if (m == 0)
        goto same;
    if (n < 0 || m < (uint64_t)n)
        n = (int64_t)m;
    for (int64_t i = 0; i < n; i++) {
        size_t j = start;
        if (oldlen == 0) {
            if (i > 0) {
                size_t w;
                expr_utf8_decode(s + start, len - start, &w);
                j += w;
            }
        } else {
            j += (size_t)go_index(s + start, len - start, old, oldlen);
        }
        if (str_append(&out, s + start, j - start) != 0 || str_append(&out, new, newlen) != 0)
            goto oom;
        start = j + oldlen;
    }
    if (str_append(&out, s + start, len - start) != 0)
        goto oom;
    return ret_str(vm, &out, ret);
same:
    *ret = *orig;
    return 0;
oom:
    str_free(&out);
    return expr_vm_error(vm, "out of memory");
}

/* --------------------------------------------------------- fmt.Sprintf */

struct fmt_spec {
    bool minus, plus, sharp, zero, space;
    bool has_width, has_prec;
    int width, prec;
    char verb;
};

static int fmt_value(struct expr_vm *vm, struct str *out, const struct fmt_spec *sp,
                     const struct expr_value *v, int depth);

/* Pads body to the width in runes; zeros go after a sign when zero-padding numbers. */
static int
fmt_pad(struct str *out, const struct fmt_spec *sp, const char *body, size_t n, bool number)
{
    size_t runes = utf8_count(body, n);
    size_t pad = sp->has_width && (size_t)sp->width > runes ? (size_t)sp->width - runes : 0;
    int rc = 0;

    if (pad == 0)
        return str_append(out, body, n);
    if (sp->minus) {
        rc |= str_append(out, body, n);
        for (size_t i = 0; i < pad && rc == 0; i++)
            rc |= str_append_char(out, ' ');
        return rc;
    }
    if (sp->zero) {
        if (number && n > 0 && (body[0] == '+' || body[0] == '-' || body[0] == ' ')) {
            rc |= str_append_char(out, body[0]);
            body++;
            n--;
        }
        for (size_t i = 0; i < pad && rc == 0; i++)
            rc |= str_append_char(out, '0');
        return rc | str_append(out, body, n);
    }
    for (size_t i = 0; i < pad && rc == 0; i++)
        rc |= str_append_char(out, ' ');
    return rc | str_append(out, body, n);
}

/* strconv.Quote / QuoteToASCII / QuoteRune, appended to out. */
static int
go_quote(struct str *out, const char *s, size_t n, char q, bool ascii)
{
    int rc = str_append_char(out, q);
    size_t w;

    for (size_t i = 0; i < n && rc == 0; i += w) {
        int32_t r = expr_utf8_decode(s + i, n - i, &w);
        if (w == 1 && r == RUNE_ERROR) {
            rc |= str_appendf(out, "\\x%02x", (unsigned char)s[i]);
            continue;
        }
        if (r == q || r == '\\') {
            rc |= str_append_char(out, '\\');
            rc |= str_append_char(out, (char)r);
            continue;
        }
        if (ascii ? (r < 0x80 && rune_is_print(r)) : rune_is_print(r)) {
            rc |= str_append(out, s + i, w);
            continue;
        }
        switch (r) {
        case '\a': rc |= str_append_cstr(out, "\\a"); break;
        case '\b': rc |= str_append_cstr(out, "\\b"); break;
        case '\f': rc |= str_append_cstr(out, "\\f"); break;
        case '\n': rc |= str_append_cstr(out, "\\n"); break;
        case '\r': rc |= str_append_cstr(out, "\\r"); break;
        case '\t': rc |= str_append_cstr(out, "\\t"); break;
        case '\v': rc |= str_append_cstr(out, "\\v"); break;
        default:
            if (r < ' ' || r == 0x7F)
                rc |= str_appendf(out, "\\x%02x", (unsigned)r);
            else if (r < 0x10000)
                rc |= str_appendf(out, "\\u%04x", (unsigned)r);
            else
                rc |= str_appendf(out, "\\U%08x", (unsigned)r);
        }
    }
    return rc | str_append_char(out, q);
}

/* Shortest digits that read back as f (f finite, > 0): digits and decimal exponent. */
static void
float_shortest(double f, char *digits, int *nd, int *dp)
{
    char buf[40];

    for (int p = 1; p <= 17; p++) {
        snprintf(buf, sizeof(buf), "%.*e", p - 1, f);
        if (strtod(buf, NULL) == f || p == 17) {
            int k = 0;
            char *e = strchr(buf, 'e');
            for (char *c = buf; c < e; c++)
                if (*c >= '0' && *c <= '9')
                    digits[k++] = *c;
            while (k > 1 && digits[k - 1] == '0')
                k--;
            digits[k] = '\0';
            *nd = k;
            *dp = (int)strtol(e + 1, NULL, 10) + 1;
            return;
        }
    }
}

/* Go's %v / %g with the shortest representation (strconv 'g', -1). */
static int
float_format_shortest(struct str *out, double f, char expch)
{
    char digits[24];
    int nd, dp, rc = 0;

    if (f < 0 || (f == 0 && signbit(f))) {
        rc |= str_append_char(out, '-');
        f = -f;
    }
    if (f == 0)
        return rc | str_append_char(out, '0');
    float_shortest(f, digits, &nd, &dp);
    int eprec = 6;
    int exp = dp - 1;
    if (exp < -4 || exp >= eprec) {
        rc |= str_append_char(out, digits[0]);
        if (nd > 1) {
            rc |= str_append_char(out, '.');
            rc |= str_append(out, digits + 1, (size_t)nd - 1);
        }
        rc |= str_appendf(out, "%c%c%02d", expch, exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
        return rc;
    }
    if (dp <= 0) {
        rc |= str_append(out, "0.", 2);
        for (int i = 0; i < -dp; i++)
            rc |= str_append_char(out, '0');
        return rc | str_append(out, digits, (size_t)nd);
    }
    for (int i = 0; i < dp; i++)
        rc |= str_append_char(out, i < nd ? digits[i] : '0');
    if (nd > dp) {
        rc |= str_append_char(out, '.');
        rc |= str_append(out, digits + dp, (size_t)(nd - dp));
    }
    return rc;
}

/*
 * The C format below is assembled from a fixed alphabet (flags "+ #", ".*",
 * one of "eEfgGaA"), so the non-literal format warning does not apply.
 */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
static int
fmt_float(struct str *out, const struct fmt_spec *sp, double f)
{
    struct str body = STR_INIT;
    char verb = sp->verb == 'v' ? 'g' : sp->verb == 'F' ? 'f' : sp->verb;
    int rc = 0;

    if (isinf(f) || isnan(f)) {
        const char *t = isnan(f) ? "NaN" : f > 0 ? "+Inf" : "-Inf";
        struct fmt_spec nozero = *sp;
        nozero.zero = false;
        if (isnan(f) && sp->plus)
            t = "+NaN";
        else if (isnan(f) && sp->space)
            t = " NaN";
        else if (f > 0 && !sp->plus)
            t = sp->space ? " Inf" : "+Inf";
        return fmt_pad(out, &nozero, t, strlen(t), false);
    }
    if ((verb == 'g' || verb == 'G') && !sp->has_prec && !sp->sharp) {
        if (sp->plus && !signbit(f))
            rc |= str_append_char(&body, '+');
        else if (sp->space && !signbit(f))
            rc |= str_append_char(&body, ' ');
        rc |= float_format_shortest(&body, f, verb == 'G' ? 'E' : 'e');
    } else {
        char cfmt[16], buf[512];
        int k = 0;
        cfmt[k++] = '%';
        if (sp->plus)
            cfmt[k++] = '+';
        else if (sp->space)
            cfmt[k++] = ' ';
        if (sp->sharp)
            cfmt[k++] = '#';
        cfmt[k++] = '.';
        cfmt[k++] = '*';
        cfmt[k++] = (verb == 'x' || verb == 'X') ? (verb == 'x' ? 'a' : 'A') : verb;
        cfmt[k] = '\0';
        int prec = sp->has_prec ? sp->prec : (verb == 'x' || verb == 'X') ? -1 : 6;
        int len;
        if (prec < 0 && (verb == 'x' || verb == 'X')) {
            cfmt[k - 3] = cfmt[k - 1];
            cfmt[k - 2] = '\0';
            len = snprintf(buf, sizeof(buf), cfmt, f);
        } else {
            len = snprintf(buf, sizeof(buf), cfmt, prec, f);
        }
        if (len < 0)
            len = 0;
        if ((size_t)len >= sizeof(buf)) {
            /* Huge %f values: format again into a buffer of the right size. */
            char *big = malloc((size_t)len + 1);
            if (big == NULL)
                return -ENOMEM;
            if (prec < 0)
                snprintf(big, (size_t)len + 1, cfmt, f);
            else
                snprintf(big, (size_t)len + 1, cfmt, prec, f);
            rc |= str_append(&body, big, (size_t)len);
            free(big);
        } else if (verb == 'x' || verb == 'X') {
            /* Go writes at least two exponent digits: 0x1p+00. */
            char *p = strpbrk(buf, "pP");
            if (p != NULL && strlen(p) == 3) {
                rc |= str_append(&body, buf, (size_t)(p - buf) + 2);
                rc |= str_append_char(&body, '0');
                rc |= str_append_char(&body, p[2]);
            } else {
                rc |= str_append(&body, buf, (size_t)len);
            }
        } else {
            rc |= str_append(&body, buf, (size_t)len);
        }
    }
    if (rc == 0)
        rc = fmt_pad(out, sp, body.buf != NULL ? body.buf : "", body.len, true);
    str_free(&body);
    return rc;
}
#pragma GCC diagnostic pop

static int
fmt_integer(struct str *out, const struct fmt_spec *sp, int64_t v, char verb)
{
    char digits[80];
    size_t nd = 0;
    bool neg = v < 0;
    uint64_t u = neg ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    unsigned base = 10;
    const char *dig = "0123456789abcdefx";
    struct str body = STR_INIT;
    int rc = 0;

    switch (verb) {
    case 'b': base = 2; break;
    case 'o':
    case 'O': base = 8; break;
    case 'x': base = 16; break;
    case 'X':
        base = 16;
        dig = "0123456789ABCDEFX";
        break;
    default: break;
    }
    do {
        digits[nd++] = dig[u % base];
        u /= base;
    } while (u != 0);
    if (sp->has_prec && sp->prec == 0 && v == 0)
        nd = 0;
    int prec = sp->has_prec ? sp->prec : 1;
    bool zero_fill = sp->zero && sp->has_width && !sp->minus && !sp->has_prec;
    if (zero_fill) {
        prec = sp->width;
        if (neg || sp->plus || sp->space)
            prec--;
    }
    if (neg)
        rc |= str_append_char(&body, '-');
    else if (sp->plus)
        rc |= str_append_char(&body, '+');
    else if (sp->space)
        rc |= str_append_char(&body, ' ');
    if (sp->sharp || verb == 'O') {
        if (verb == 'b')
            rc |= str_append(&body, "0b", 2);
        else if (verb == 'o' && (nd == 0 || digits[nd - 1] != '0') && (size_t)prec <= nd)
            rc |= str_append_char(&body, '0');
        else if (verb == 'O')
            rc |= str_append(&body, "0o", 2);
        else if (verb == 'x' || verb == 'X')
            rc |= str_append(&body, verb == 'x' ? "0x" : "0X", 2);
    }
    for (size_t i = nd; (int)i < prec && i < 64; i++)
        rc |= str_append_char(&body, '0');
    while (nd > 0 && rc == 0)
        rc |= str_append_char(&body, digits[--nd]);
    struct fmt_spec nozero = *sp;
    nozero.zero = false;
    if (rc == 0)
        rc = fmt_pad(out, &nozero, body.buf != NULL ? body.buf : "", body.len, true);
    str_free(&body);
    return rc;
}

static int
fmt_string(struct str *out, const struct fmt_spec *sp, const char *s, size_t n)
{
    struct str body = STR_INIT;
    int rc = 0;

    if (sp->has_prec && sp->verb != 'x' && sp->verb != 'X') {
        /* Precision truncates to that many runes. */
        size_t i = 0, w;
        for (int r = 0; r < sp->prec && i < n; r++) {
            expr_utf8_decode(s + i, n - i, &w);
            i += w;
        }
        n = i;
    }
    switch (sp->verb) {
    case 'v':
    case 's': return fmt_pad(out, sp, s, n, false);
    case 'q': rc = go_quote(&body, s, n, '"', sp->plus); break;
    case 'x':
    case 'X': {
        const char *hex = sp->verb == 'x' ? "0123456789abcdef" : "0123456789ABCDEF";
        if (sp->has_prec && (size_t)sp->prec < n)
            n = (size_t)sp->prec;
        for (size_t i = 0; i < n && rc == 0; i++) {
            if (sp->space && i > 0)
                rc |= str_append_char(&body, ' ');
            if (sp->sharp && (sp->space || i == 0))
                rc |= str_append(&body, sp->verb == 'x' ? "0x" : "0X", 2);
            rc |= str_append_char(&body, hex[(unsigned char)s[i] >> 4]);
            rc |= str_append_char(&body, hex[(unsigned char)s[i] & 15]);
        }
        break;
    }
    default: break;
    }
    if (rc == 0)
        rc = fmt_pad(out, sp, body.buf != NULL ? body.buf : "", body.len, false);
    str_free(&body);
    return rc;
}

/* %!verb(type=value), Go's report of a verb that does not fit the argument. */
static int
fmt_bad_verb(struct expr_vm *vm, struct str *out, char verb, const struct expr_value *v)
{
    struct fmt_spec plain = { .verb = 'v' };
    int rc = str_appendf(out, "%%!%c(", verb);

    if (v->kind == EXPR_NIL)
        return rc | str_append_cstr(out, "<nil>)");
    rc |= str_appendf(out, "%s=", expr_helper_type_name(v));
    if (rc == 0)
        rc = fmt_value(vm, out, &plain, v, 0);
    return rc | str_append_char(out, ')');
}

static int
map_entry_cmp(const void *a, const void *b)
{
    const struct expr_map_entry *x = a, *y = b;
    int c = memcmp(x->key, y->key, MIN(x->keylen, y->keylen));

    if (c != 0)
        return c;
    return x->keylen < y->keylen ? -1 : x->keylen > y->keylen;
}

static int
fmt_value(struct expr_vm *vm, struct str *out, const struct fmt_spec *sp,
          const struct expr_value *v, int depth)
{
    char verb = sp->verb;
    char buf[GOTIME_RFC3339_MAX + 32];
    int rc = 0;

    if (verb == 'T') {
        const char *t = v->kind == EXPR_NIL ? "<nil>" : expr_helper_type_name(v);
        return fmt_pad(out, sp, t, strlen(t), false);
    }
    if (depth > 32)
        return str_append_cstr(out, "...");
    switch (v->kind) {
    case EXPR_NIL:
        if (verb == 'v' || depth > 0)
            return fmt_pad(out, sp, "<nil>", 5, false);
        return fmt_bad_verb(vm, out, verb, v);
    case EXPR_BOOL:
        if (verb == 't' || verb == 'v') {
            const char *t = v->u.b ? "true" : "false";
            return fmt_pad(out, sp, t, strlen(t), false);
        }
        return fmt_bad_verb(vm, out, verb, v);
    case EXPR_INT:
        switch (verb) {
        case 'v':
        case 'd': return fmt_integer(out, sp, v->u.i, 'd');
        case 'b':
        case 'o':
        case 'O':
        case 'x':
        case 'X': return fmt_integer(out, sp, v->u.i, verb);
        case 'c': {
            char enc[4];
            size_t n = expr_utf8_encode(
                v->u.i > 0x10FFFF || v->u.i < 0 ? RUNE_ERROR : (int32_t)v->u.i, enc);
            return fmt_pad(out, sp, enc, n, false);
        }
        case 'q': {
            char enc[4];
            struct str body = STR_INIT;
            size_t n = expr_utf8_encode(
                v->u.i > 0x10FFFF || v->u.i < 0 ? RUNE_ERROR : (int32_t)v->u.i, enc);
            rc = go_quote(&body, enc, n, '\'', sp->plus);
            if (rc == 0)
                rc = fmt_pad(out, sp, body.buf, body.len, false);
            str_free(&body);
            return rc;
        }
        case 'U': {
            char ubuf[32];
            int n = snprintf(ubuf, sizeof(ubuf), "U+%04llX", (unsigned long long)v->u.i);
            return fmt_pad(out, sp, ubuf, (size_t)n, false);
        }
        default: return fmt_bad_verb(vm, out, verb, v);
        }
    case EXPR_FLOAT:
        if (strchr("vgGeEfFxX", verb) != NULL)
            return fmt_float(out, sp, v->u.f);
        return fmt_bad_verb(vm, out, verb, v);
    case EXPR_STRING:
        if (strchr("vsqxX", verb) != NULL)
            return fmt_string(out, sp, v->u.s.ptr != NULL ? v->u.s.ptr : "", v->u.s.len);
        return fmt_bad_verb(vm, out, verb, v);
    case EXPR_DURATION:
        /* A Stringer for v s x X q; an int64 for the integer verbs. */
        if (strchr("vsxXq", verb) != NULL) {
            size_t n = gotime_format_duration(v->u.d, buf, sizeof(buf));
            return fmt_string(out, sp, buf, n);
        }
        {
            struct expr_value i = expr_int(v->u.d);
            return fmt_value(vm, out, sp, &i, depth);
        }
    case EXPR_TIME: {
        size_t n = gotime_format_string(v->u.t, buf, sizeof(buf));
        if (strchr("vsxXq", verb) != NULL)
            return fmt_string(out, sp, buf, n);
        return fmt_bad_verb(vm, out, verb, v);
    }
    case EXPR_ARRAY: {
        const struct expr_array *a = v->u.a;
        rc |= str_append_char(out, '[');
        for (size_t i = 0; a != NULL && i < a->len && rc == 0; i++) {
            if (i > 0)
                rc |= str_append_char(out, ' ');
            rc |= fmt_value(vm, out, sp, &a->items[i], depth + 1);
        }
        return rc | str_append_char(out, ']');
    }
    case EXPR_MAP: {
        const struct expr_map *m = v->u.m;
        size_t n = m != NULL ? m->len : 0;
        struct expr_map_entry *sorted = NULL;
        if (n > 0) {
            sorted = malloc(n * sizeof(*sorted));
            if (sorted == NULL)
                return -ENOMEM;
            memcpy(sorted, m->entries, n * sizeof(*sorted));
            qsort(sorted, n, sizeof(*sorted), map_entry_cmp);
        }
        rc |= str_append_cstr(out, "map[");
        for (size_t i = 0; i < n && rc == 0; i++) {
            struct expr_value k = expr_strv(sorted[i].key, sorted[i].keylen);
            if (i > 0)
                rc |= str_append_char(out, ' ');
            rc |= fmt_value(vm, out, sp, &k, depth + 1);
            rc |= str_append_char(out, ':');
            rc |= fmt_value(vm, out, sp, &sorted[i].value, depth + 1);
        }
        free(sorted);
        return rc | str_append_char(out, ']');
    }
    default: {
        /* Host objects print as Go prints the struct or map behind them. */
        struct str body = STR_INIT;
        rc = expr_value_format_go(vm, v, &body);
        if (rc == 0)
            rc = fmt_pad(out, sp, body.buf != NULL ? body.buf : "", body.len, false);
        str_free(&body);
        return rc;
    }
    }
}

/*
 * fmt's argNumber: an explicit "[n]" at f[*i] makes *argi n-1 (1-based in the
 * format). Returns whether an index was read; a bad one clears *good, as Go's
 * goodArgNum, and one that cannot be parsed skips only its '['.
 */
static bool
arg_number(const char *f, size_t n, size_t *i, size_t nargs, size_t *argi, bool *good,
           bool *reordered)
{
    if (*i >= n || f[*i] != '[')
        return false;
    *reordered = true;
    const char *p = f + *i;
    size_t len = n - *i;
    if (len < 3) {
        *good = false;
        *i += 1;
        return false;
    }
    for (size_t k = 1; k < len; k++) {
        if (p[k] != ']')
            continue;
        size_t idx = 0;
        bool ok = k > 1;
        for (size_t j = 1; j < k && ok; j++) {
            ok = p[j] >= '0' && p[j] <= '9';
            if (ok && idx <= 1000000)
                idx = idx * 10 + (size_t)(p[j] - '0');
        }
        *i += k + 1;
        if (ok && idx >= 1 && idx - 1 < nargs) {
            *argi = idx - 1;
            return true;
        }
        *good = false;
        return ok;
    }
    *good = false;
    *i += 1;
    return false;
}

/* Go's fmt.Sprintf(format, args...), appended to out. Returns 0 or -ENOMEM. */
static int
go_sprintf(struct expr_vm *vm, struct str *out, const char *f, size_t n,
           const struct expr_value *args, size_t nargs)
{
    size_t argi = 0, i = 0;
    int rc = 0;
    bool reordered = false;

    while (i < n && rc == 0) {
        bool good = true, after;
        size_t start = i;
        while (i < n && f[i] != '%')
            i++;
        rc |= str_append(out, f + start, i - start);
        if (i >= n)
            break;
        i++; /* '%' */
        struct fmt_spec sp = { 0 };
        for (; i < n; i++) {
            char c = f[i];
            if (c == '-') {
                sp.minus = true;
                sp.zero = false;
            } else if (c == '+') {
                sp.plus = true;
            } else if (c == '#') {
                sp.sharp = true;
            } else if (c == '0') {
                sp.zero = !sp.minus;
            } else if (c == ' ') {
                sp.space = true;
            } else {
                break;
            }
        }
        after = arg_number(f, n, &i, nargs, &argi, &good, &reordered);
        if (i < n && f[i] == '*') {
            i++;
            if (argi < nargs && args[argi].kind == EXPR_INT && args[argi].u.i > -1000000 &&
                args[argi].u.i < 1000000) {
                int64_t w = args[argi].u.i;
                sp.has_width = true;
                if (w < 0) {
                    sp.minus = true;
                    sp.zero = false;
                    w = -w;
                }
                sp.width = (int)w;
            } else {
                rc |= str_append_cstr(out, "%!(BADWIDTH)");
            }
            if (argi < nargs)
                argi++;
            after = false;
        } else {
            while (i < n && f[i] >= '0' && f[i] <= '9') {
                sp.width = sp.width * 10 + (f[i] - '0');
                if (sp.width > 1000000)
                    sp.width = 1000000;
                sp.has_width = true;
                i++;
            }
            if (after && sp.has_width)
                good = false; /* "%[3]2d" */
        }
        if (i + 1 < n && f[i] == '.') {
            i++;
            if (after)
                good = false; /* "%[3].2d" */
            after = arg_number(f, n, &i, nargs, &argi, &good, &reordered);
            sp.has_prec = true;
            if (i < n && f[i] == '*') {
                i++;
                if (argi < nargs && args[argi].kind == EXPR_INT && args[argi].u.i >= 0 &&
                    args[argi].u.i < 1000000) {
                    sp.prec = (int)args[argi].u.i;
                } else {
                    sp.has_prec = false;
                    rc |= str_append_cstr(out, "%!(BADPREC)");
                }
                if (argi < nargs)
                    argi++;
                after = false;
            } else {
                while (i < n && f[i] >= '0' && f[i] <= '9') {
                    sp.prec = sp.prec * 10 + (f[i] - '0');
                    if (sp.prec > 1000000)
                        sp.prec = 1000000;
                    i++;
                }
            }
        }
        if (!after)
            arg_number(f, n, &i, nargs, &argi, &good, &reordered);
        if (i >= n) {
            rc |= str_append_cstr(out, "%!(NOVERB)");
            break;
        }
        size_t w;
        int32_t verb = expr_utf8_decode(f + i, n - i, &w);
        i += w;
        if (verb == '%') {
            rc |= str_append_char(out, '%');
            continue;
        }
        if (!good) {
            char enc[4];
            size_t len = expr_utf8_encode(verb, enc);
            rc |= str_append(out, "%!", 2);
            rc |= str_append(out, enc, len);
            rc |= str_append_cstr(out, "(BADINDEX)");
            continue;
        }
        if (verb >= 0x80) {
            /* Non-ASCII verbs are never valid; Go reports them like any bad verb. */
            char enc[4];
            size_t len = expr_utf8_encode(verb, enc);
            rc |= str_append(out, "%!", 2);
            rc |= str_append(out, enc, len);
            if (argi >= nargs) {
                rc |= str_append_cstr(out, "(MISSING)");
            } else {
                struct fmt_spec plain = { .verb = 'v' };
                const struct expr_value *v = &args[argi++];
                if (v->kind == EXPR_NIL) {
                    rc |= str_append_cstr(out, "(<nil>)");
                } else {
                    rc |= str_appendf(out, "(%s=", expr_helper_type_name(v));
                    rc |= fmt_value(vm, out, &plain, v, 0);
                    rc |= str_append_char(out, ')');
                }
            }
            continue;
        }
        sp.verb = (char)verb;
        if (argi >= nargs) {
            rc |= str_appendf(out, "%%!%c(MISSING)", sp.verb);
            continue;
        }
        rc |= fmt_value(vm, out, &sp, &args[argi++], 0);
    }
    /* Like Go, arguments used out of order are not checked for extras. */
    if (!reordered && argi < nargs && rc == 0) {
        struct fmt_spec plain = { .verb = 'v' };
        rc |= str_append_cstr(out, "%!(EXTRA ");
        for (size_t k = argi; k < nargs && rc == 0; k++) {
            if (k > argi)
                rc |= str_append_cstr(out, ", ");
            if (args[k].kind == EXPR_NIL) {
                rc |= str_append_cstr(out, "<nil>");
                continue;
            }
            rc |= str_appendf(out, "%s=", expr_helper_type_name(&args[k]));
            rc |= fmt_value(vm, out, &plain, &args[k], 0);
        }
        rc |= str_append_char(out, ')');
    }
    return rc != 0 ? -ENOMEM : 0;
}

/* ------------------------------------------------------------ helpers */

/* Atof(s) float64: strconv.ParseFloat; a syntax error gives 0, overflow +-Inf (logged by CrowdSec).
 */
static int
h_atof(struct expr_vm *vm, const struct expr_value *args, size_t nargs, struct expr_value *ret)
{
    const char *s;
    size_t n;
    double f;

    EXPR_S_ARG(0, s, n);
    if (expr_go_parse_float(s, n, &f) == -ENOMEM)
        return expr_vm_error(vm, "out of memory");
    *ret = expr_float(f);
    return 0;
}

static int
h_upper(struct expr_vm *vm, const struct expr_value *args, size_t nargs, struct expr_value *ret)
{
    const char *s;
    size_t n;

    EXPR_S_ARG(0, s, n);
    return case_map(vm, s, n, true, ret);
}

static int
h_lower(struct expr_vm *vm, const struct expr_value *args, size_t nargs, struct expr_value *ret)
{
    const char *s;
    size_t n;

    EXPR_S_ARG(0, s, n);
    return case_map(vm, s, n, false, ret);
}

static int
h_trim_space(struct expr_vm *vm, const struct expr_value *args, size_t nargs,
             struct expr_value *ret)
{
    const char *s;
    size_t n;

    EXPR_S_ARG(0, s, n);
    expr_go_trim_space(&s, &n);
    *ret = substr(s, n);
    return 0;
}

/* Trim, TrimLeft, TrimRight: remove leading/trailing runes found in a cutset. */
static int
trim_cutset(struct expr_vm *vm, const struct expr_value *args, bool left, bool right,
            struct expr_value *ret)
{
    const char *s, *cut;
    size_t n, cn, w;

    EXPR_S_ARG(0, s, n);
    EXPR_S_ARG(1, cut, cn);
    if (cn == 0) {
        *ret = substr(s, n);
        return 0;
    }
    while (left && n > 0) {
        int32_t r = expr_utf8_decode(s, n, &w);
        if (!rune_in(r, cut, cn))
            break;
        s += w;
        n -= w;
    }
    while (right && n > 0) {
        size_t start = n - 1;
        while (start > 0 && n - start < 4 && ((unsigned char)s[start] & 0xC0) == 0x80)
            start--;
        int32_t r = expr_utf8_decode(s + start, n - start, &w);
        if (start + w != n) {
            start = n - 1;
            r = expr_utf8_decode(s + start, 1, &w);
        }
        if (!rune_in(r, cut, cn))
            break;
        n = start;
    }
    *ret = substr(s, n);
    return 0;
}

static int
h_trim(struct expr_vm *vm, const struct expr_value *args, size_t nargs, struct expr_value *ret)
{
    return trim_cutset(vm, args, true, true, ret);
}

static int
h_trim_left(struct expr_vm *vm, const struct expr_value *args, size_t nargs, struct expr_value *ret)
{
    return trim_cutset(vm, args, true, false, ret);
}

static int
h_trim_right(struct expr_vm *vm, const struct expr_value *args, size_t nargs,
             struct expr_value *ret)
{
    return trim_cutset(vm, args, false, true, ret);
}

static int
h_trim_prefix(struct expr_vm *vm, const struct expr_value *args, size_t nargs,
              struct expr_value *ret)
{
    const char *s, *p;
    size_t n, pn;

    EXPR_S_ARG(0, s, n);
    EXPR_S_ARG(1, p, pn);
    if (pn <= n && memcmp(s, p, pn) == 0) {
        s += pn;
        n -= pn;
    }
    *ret = substr(s, n);
    return 0;
}

static int
h_trim_suffix(struct expr_vm *vm, const struct expr_value *args, size_t nargs,
              struct expr_value *ret)
{
    const char *s, *p;
    size_t n, pn;

    EXPR_S_ARG(0, s, n);
    EXPR_S_ARG(1, p, pn);
    if (pn <= n && memcmp(s + n - pn, p, pn) == 0)
        n -= pn;
    *ret = substr(s, n);
    return 0;
}

/* Fields(s) []string: runs of non-space runes (unicode.IsSpace). */
static int
h_fields(struct expr_vm *vm, const struct expr_value *args, size_t nargs, struct expr_value *ret)
{
    const char *s;
    size_t n, w, i = 0;
    struct expr_array *a;

    EXPR_S_ARG(0, s, n);
    a = expr_vm_array(vm, 8);
    if (a == NULL)
        return expr_vm_error(vm, "out of memory");
    while (i < n) {
        while (i < n && expr_rune_is_space(expr_utf8_decode(s + i, n - i, &w)))
            i += w;
        if (i >= n)
            break;
        size_t start = i;
        while (i < n && !expr_rune_is_space(expr_utf8_decode(s + i, n - i, &w)))
            i += w;
        if (push(vm, a, substr(s + start, i - start)) != 0)
            return -1;
    }
    *ret = (struct expr_value){ .kind = EXPR_ARRAY, .u.a = a };
    return 0;
}

static int
h_index(struct expr_vm *vm, const struct expr_value *args, size_t nargs, struct expr_value *ret)
{
    const char *s, *sub;
    size_t n, m;

    EXPR_S_ARG(0, s, n);
    EXPR_S_ARG(1, sub, m);
    *ret = expr_int(go_index(s, n, sub, m));
    return 0;
}

static int
h_index_any(struct expr_vm *vm, const struct expr_value *args, size_t nargs, struct expr_value *ret)
{
    const char *s, *chars;
    size_t n, cn, w;

    EXPR_S_ARG(0, s, n);
    EXPR_S_ARG(1, chars, cn);
    *ret = expr_int(-1);
    for (size_t i = 0; cn > 0 && i < n; i += w) {
        if (rune_in(expr_utf8_decode(s + i, n - i, &w), chars, cn)) {
            *ret = expr_int((int64_t)i);
            break;
        }
    }
    return 0;
}

/* Join(elems []string, sep string): every element must be a string. */
static int
h_join(struct expr_vm *vm, const struct expr_value *args, size_t nargs, struct expr_value *ret)
{
    const char *sep;
    size_t sn;
    struct str out = STR_INIT;

    if (!is_sequence(&args[0]))
        return expr_helper_type_error(vm, &args[0], "[]string");
    EXPR_S_ARG(1, sep, sn);
    int64_t len = expr_value_len(&args[0]);
    for (int64_t i = 0; i < len; i++) {
        struct expr_value item;
        if (expr_value_at(vm, &args[0], (size_t)i, &item) != 0)
            goto fail;
        if (item.kind != EXPR_STRING) {
            expr_helper_type_error(vm, &args[0], "[]string");
            goto fail;
        }
        if ((i > 0 && str_append(&out, sep, sn) != 0) ||
            str_append(&out, item.u.s.ptr, item.u.s.len) != 0) {
            expr_vm_error(vm, "out of memory");
            goto fail;
        }
    }
    return ret_str(vm, &out, ret);
fail:
    str_free(&out);
    return -1;
}

static int
h_split(struct expr_vm *vm, const struct expr_value *args, size_t nargs, struct expr_value *ret)
{
    const char *s, *sep;
    size_t n, sn;

    EXPR_S_ARG(0, s, n);
    EXPR_S_ARG(1, sep, sn);
    return go_split(vm, s, n, sep, sn, 0, -1, ret);
}

static int
h_split_after(struct expr_vm *vm, const struct expr_value *args, size_t nargs,
              struct expr_value *ret)
{
    const char *s, *sep;
    size_t n, sn;

    EXPR_S_ARG(0, s, n);
    EXPR_S_ARG(1, sep, sn);
    return go_split(vm, s, n, sep, sn, sn, -1, ret);
}

static int
h_split_n(struct expr_vm *vm, const struct expr_value *args, size_t nargs, struct expr_value *ret)
{
    const char *s, *sep;
    size_t n, sn;
    int64_t cnt;

    EXPR_S_ARG(0, s, n);
    EXPR_S_ARG(1, sep, sn);
    if (expr_helper_arg_int(vm, &args[2], &cnt) != 0)
        return -1;
    return go_split(vm, s, n, sep, sn, 0, cnt, ret);
}

static int
h_split_after_n(struct expr_vm *vm, const struct expr_value *args, size_t nargs,
                struct expr_value *ret)
{
    const char *s, *sep;
    size_t n, sn;
    int64_t cnt;

    EXPR_S_ARG(0, s, n);
    EXPR_S_ARG(1, sep, sn);
    if (expr_helper_arg_int(vm, &args[2], &cnt) != 0)
        return -1;
    return go_split(vm, s, n, sep, sn, sn, cnt, ret);
}

static int
h_replace(struct expr_vm *vm, const struct expr_value *args, size_t nargs, struct expr_value *ret)
{
    const char *s, *old, *new;
    size_t n, on, nn;
    int64_t cnt;

    EXPR_S_ARG(0, s, n);
    EXPR_S_ARG(1, old, on);
    EXPR_S_ARG(2, new, nn);
    if (expr_helper_arg_int(vm, &args[3], &cnt) != 0)
        return -1;
    return go_replace(vm, s, n, old, on, new, nn, cnt, &args[0], ret);
}

static int
h_replace_all(struct expr_vm *vm, const struct expr_value *args, size_t nargs,
              struct expr_value *ret)
{
    const char *s, *old, *new;
    size_t n, on, nn;

    EXPR_S_ARG(0, s, n);
    EXPR_S_ARG(1, old, on);
    EXPR_S_ARG(2, new, nn);
    return go_replace(vm, s, n, old, on, new, nn, -1, &args[0], ret);
}

static int
h_sprintf(struct expr_vm *vm, const struct expr_value *args, size_t nargs, struct expr_value *ret)
{
    const char *f;
    size_t n;
    struct str out = STR_INIT;

    EXPR_S_ARG(0, f, n);
    if (go_sprintf(vm, &out, f, n, args + 1, nargs - 1) != 0) {
        str_free(&out);
        return expr_vm_error(vm, "out of memory");
    }
    return ret_str(vm, &out, ret);
}

/* ToString(x): x itself if it is a string, else "" (no conversion). */
static int
h_to_string(struct expr_vm *vm, const struct expr_value *args, size_t nargs, struct expr_value *ret)
{
    *ret = args[0].kind == EXPR_STRING ? args[0] : expr_strv("", 0);
    return 0;
}

/* Get(arr []string, i int): "" past the end; a negative index panics in Go. */
static int
h_get(struct expr_vm *vm, const struct expr_value *args, size_t nargs, struct expr_value *ret)
{
    int64_t idx, len;
    struct expr_value item;

    if (!is_sequence(&args[0]))
        return expr_helper_type_error(vm, &args[0], "[]string");
    if (expr_helper_arg_int(vm, &args[1], &idx) != 0)
        return -1;
    len = expr_value_len(&args[0]);
    if (idx >= len) {
        *ret = expr_strv("", 0);
        return 0;
    }
    if (idx < 0)
        return expr_vm_error(vm, "runtime error: index out of range [%lld]", (long long)idx);
    if (expr_value_at(vm, &args[0], (size_t)idx, &item) != 0)
        return -1;
    if (item.kind != EXPR_STRING)
        return expr_helper_type_error(vm, &args[0], "[]string");
    *ret = item;
    return 0;
}

/*
 * CrowdSec's recursive glob, evaluated bottom-up so that hostile patterns
 * ("*a*a*a*a*b") cost O(len(pattern) * len(name)) instead of exponential
 * time. Its quirks are kept: once the name is used up only "" or "*" match
 * the rest of the pattern ("a**" does not match "a"), and '?' is one byte.
 */
static int
glob_match(const char *pat, size_t pn, const char *name, size_t nn, bool *ret_match)
{
    /* next[j] = match(pi + 1, j), cur[j] = match(pi, j), j in 0..nn. */
    bool *next = calloc(nn + 1, sizeof(bool));
    bool *cur = calloc(nn + 1, sizeof(bool));

    if (next == NULL || cur == NULL) {
        free(next);
        free(cur);
        return -ENOMEM;
    }
    next[nn] = true; /* match("", "") */
    for (size_t pi = pn; pi-- > 0;) {
        char c = pat[pi];
        /* Empty name: only the exact remaining pattern "*" matches. */
        cur[nn] = (pi == pn - 1 && c == '*');
        if (c == '*') {
            bool any = next[nn];
            for (size_t j = nn; j-- > 0;) {
                any = any || next[j];
                cur[j] = any;
            }
        } else {
            for (size_t j = 0; j < nn; j++)
                cur[j] = (c == '?' || c == name[j]) && next[j + 1];
        }
        bool *t = next;
        next = cur;
        cur = t;
    }
    *ret_match = next[0];
    free(next);
    free(cur);
    return 0;
}

static int
h_match(struct expr_vm *vm, const struct expr_value *args, size_t nargs, struct expr_value *ret)
{
    const char *pat, *name;
    size_t pn, nn;
    bool m;

    EXPR_S_ARG(0, pat, pn);
    EXPR_S_ARG(1, name, nn);
    if (pn == 0) {
        *ret = expr_bool(nn == 0);
        return 0;
    }
    if (glob_match(pat, pn, name, nn, &m) != 0)
        return expr_vm_error(vm, "out of memory");
    *ret = expr_bool(m);
    return 0;
}

/* KeyExists(key, map[string]any): plain maps and host maps. */
static int
h_key_exists(struct expr_vm *vm, const struct expr_value *args, size_t nargs,
             struct expr_value *ret)
{
    const char *k;
    size_t kn;
    const struct expr_value *m = &args[1];

    EXPR_S_ARG(0, k, kn);
    if (m->kind == EXPR_MAP) {
        *ret = expr_bool(m->u.m != NULL && expr_map_get(m->u.m, k, kn) != NULL);
        return 0;
    }
    if (m->kind == EXPR_OBJECT && m->u.o.cls != NULL && m->u.o.cls->is_map &&
        m->u.o.cls->has != NULL) {
        *ret = expr_bool(m->u.o.cls->has(m->u.o.ptr, &args[0]));
        return 0;
    }
    return expr_helper_type_error(vm, m, "map[string]interface {}");
}

/* B64Decode(s): standard alphabet with padding; bad input is a run-time error. */
static int
h_b64_decode(struct expr_vm *vm, const struct expr_value *args, size_t nargs,
             struct expr_value *ret)
{
    const char *s;
    size_t n, k = 0, o = 0;
    unsigned char quad[4];
    char *out;

    EXPR_S_ARG(0, s, n);
    out = expr_vm_alloc(vm, n / 4 * 3 + 4);
    if (out == NULL)
        return expr_vm_error(vm, "out of memory");
    /* Go's decoder skips '\r' and '\n' anywhere in the input. */
    size_t i = 0, pad = 0;
    while (i < n) {
        unsigned char c = (unsigned char)s[i];
        int v;
        if (c == '\r' || c == '\n') {
            i++;
            continue;
        }
        if (c >= 'A' && c <= 'Z')
            v = c - 'A';
        else if (c >= 'a' && c <= 'z')
            v = c - 'a' + 26;
        else if (c >= '0' && c <= '9')
            v = c - '0' + 52;
        else if (c == '+')
            v = 62;
        else if (c == '/')
            v = 63;
        else if (c == '=' && k >= 2) {
            /* Padding must complete the quantum and end the input. */
            pad = 4 - k;
            size_t seen = 0;
            while (i < n && seen < pad) {
                if (s[i] == '\r' || s[i] == '\n') {
                    i++;
                    continue;
                }
                if (s[i] != '=')
                    goto bad;
                seen++;
                i++;
            }
            if (seen < pad)
                goto bad;
            while (i < n && (s[i] == '\r' || s[i] == '\n'))
                i++;
            if (i != n)
                goto bad;
            break;
        } else {
            goto bad;
        }
        quad[k++] = (unsigned char)v;
        i++;
        if (k == 4) {
            out[o++] = (char)((quad[0] << 2) | (quad[1] >> 4));
            out[o++] = (char)((quad[1] << 4) | (quad[2] >> 2));
            out[o++] = (char)((quad[2] << 6) | quad[3]);
            k = 0;
        }
    }
    if (pad == 0 && k != 0)
        goto bad;
    if (k >= 2)
        out[o++] = (char)((quad[0] << 2) | (quad[1] >> 4));
    if (k >= 3)
        out[o++] = (char)((quad[1] << 4) | (quad[2] >> 2));
    *ret = expr_strv(out, o);
    return 0;
bad:
    return expr_vm_error(vm, "illegal base64 data at input byte %zu", i);
}

/* Hostname(): os.Hostname(); an error is a run-time error. */
static int
h_hostname(struct expr_vm *vm, const struct expr_value *args, size_t nargs, struct expr_value *ret)
{
    char buf[256];

    if (gethostname(buf, sizeof(buf)) != 0)
        return expr_vm_error(vm, "hostname: %s", strerror(errno));
    buf[sizeof(buf) - 1] = '\0';
    *ret = expr_vm_str(vm, buf, strlen(buf));
    if (ret->kind != EXPR_STRING)
        return expr_vm_error(vm, "out of memory");
    return 0;
}

/*
 * LogInfo(format, args...) bool: CrowdSec's log.Infof, returning true. This
 * helper exists to log, so it is the one place where library code writes a
 * log line: the message, formatted like Sprintf, at info level.
 */
static int
h_log_info(struct expr_vm *vm, const struct expr_value *args, size_t nargs, struct expr_value *ret)
{
    const char *f;
    size_t n;
    struct str out = STR_INIT;

    EXPR_S_ARG(0, f, n);
    if (go_sprintf(vm, &out, f, n, args + 1, nargs - 1) != 0) {
        str_free(&out);
        return expr_vm_error(vm, "out of memory");
    }
    log_info("%.*s", (int)MIN(out.len, (size_t)INT32_MAX), out.buf != NULL ? out.buf : "");
    str_free(&out);
    *ret = expr_bool(true);
    return 0;
}

/*
 * Distinct keys: Go map keys of interface type, so 1 and 1.0 differ, NaN
 * never equals itself, and slices or maps panic ("unhashable").
 */
static bool
distinct_same(const struct expr_value *a, const struct expr_value *b)
{
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
    case EXPR_TIME: return a->u.t.unix_ns == b->u.t.unix_ns && a->u.t.offset_s == b->u.t.offset_s;
    case EXPR_DURATION: return a->u.d == b->u.d;
    case EXPR_OBJECT: return a->u.o.cls == b->u.o.cls && a->u.o.ptr == b->u.o.ptr;
    default: return false;
    }
}

static uint64_t
hash_int(int64_t i)
{
    return hash_bytes(&i, sizeof(i));
}

static uint64_t
distinct_hash(const struct expr_value *v)
{
    uint64_t h = v->kind * 0x9E3779B97F4A7C15ULL;

    switch (v->kind) {
    case EXPR_BOOL: return h ^ v->u.b;
    case EXPR_INT: return h ^ hash_int(v->u.i);
    case EXPR_FLOAT: {
        double f = v->u.f == 0 ? 0 : v->u.f; /* -0 and +0 are the same key */
        uint64_t bits;
        memcpy(&bits, &f, sizeof(bits));
        return h ^ hash_int((int64_t)bits);
    }
    case EXPR_STRING: return h ^ hash_bytes(v->u.s.ptr, v->u.s.len);
    case EXPR_TIME: return h ^ hash_int(v->u.t.unix_ns);
    case EXPR_DURATION: return h ^ hash_int(v->u.d);
    case EXPR_OBJECT: return h ^ hash_int((int64_t)(uintptr_t)v->u.o.ptr);
    default: return h;
    }
}

static int
distinct_array(struct expr_vm *vm, const struct expr_value *src, struct expr_value *ret)
{
    int64_t len = expr_value_len(src);
    struct expr_array *a = expr_vm_array(vm, (size_t)MAX(len, 0));
    size_t cap = 16;
    int rc = -1;

    if (a == NULL)
        return expr_vm_error(vm, "out of memory");
    while (cap < (size_t)len * 2)
        cap *= 2;
    /* An open-addressing set of indexes into a (SIZE_MAX = empty). */
    size_t *set = malloc(cap * sizeof(*set));
    if (set == NULL)
        return expr_vm_error(vm, "out of memory");
    memset(set, 0xFF, cap * sizeof(*set));
    for (int64_t i = 0; i < len; i++) {
        struct expr_value item;
        if (expr_value_at(vm, src, (size_t)i, &item) != 0)
            goto out;
        if (item.kind == EXPR_ARRAY || item.kind == EXPR_MAP || item.kind == EXPR_FUNC) {
            expr_vm_error(vm, "runtime error: hash of unhashable type %s",
                          expr_helper_type_name(&item));
            goto out;
        }
        size_t slot = distinct_hash(&item) & (cap - 1);
        bool seen = false;
        while (set[slot] != SIZE_MAX) {
            if (distinct_same(&a->items[set[slot]], &item)) {
                seen = true;
                break;
            }
            slot = (slot + 1) & (cap - 1);
        }
        if (seen)
            continue;
        set[slot] = a->len;
        if (push(vm, a, item) != 0)
            goto out;
    }
    *ret = (struct expr_value){ .kind = EXPR_ARRAY, .u.a = a };
    rc = 0;
out:
    free(set);
    return rc;
}

/* Distinct(list): order-preserving dedup; nil when the argument is not a list. */
static int
h_distinct(struct expr_vm *vm, const struct expr_value *args, size_t nargs, struct expr_value *ret)
{
    if (nargs == 0)
        return expr_vm_error(vm, "runtime error: index out of range [0] with length 0");
    if (!is_sequence(&args[0])) {
        *ret = expr_nil();
        return 0;
    }
    return distinct_array(vm, &args[0], ret);
}

static int
flatten_into(struct expr_vm *vm, struct expr_array *a, const struct expr_value *v, int depth)
{
    if (!is_sequence(v))
        return push(vm, a, *v);
    if (depth > 64)
        return expr_vm_error(vm, "Flatten: nesting too deep");
    int64_t len = expr_value_len(v);
    for (int64_t i = 0; i < len; i++) {
        struct expr_value item;
        if (expr_value_at(vm, v, (size_t)i, &item) != 0)
            return -1;
        if (flatten_into(vm, a, &item, depth + 1) != 0)
            return -1;
    }
    return 0;
}

static int
flatten_args(struct expr_vm *vm, const struct expr_value *args, size_t nargs,
             struct expr_value *ret)
{
    struct expr_array *a = expr_vm_array(vm, nargs);

    if (a == NULL)
        return expr_vm_error(vm, "out of memory");
    for (size_t i = 0; i < nargs; i++)
        if (flatten_into(vm, a, &args[i], 0) != 0)
            return -1;
    *ret = (struct expr_value){ .kind = EXPR_ARRAY, .u.a = a };
    return 0;
}

/* Flatten(args...): every argument, lists expanded recursively. */
static int
h_flatten(struct expr_vm *vm, const struct expr_value *args, size_t nargs, struct expr_value *ret)
{
    return flatten_args(vm, args, nargs, ret);
}

static int
h_flatten_distinct(struct expr_vm *vm, const struct expr_value *args, size_t nargs,
                   struct expr_value *ret)
{
    struct expr_value flat;

    if (flatten_args(vm, args, nargs, &flat) != 0)
        return -1;
    return distinct_array(vm, &flat, ret);
}

/* FloatApproxEqual(a, b float64): |a - b| < 1e-6. */
static int
h_float_approx_equal(struct expr_vm *vm, const struct expr_value *args, size_t nargs,
                     struct expr_value *ret)
{
    double a, b;

    if (expr_helper_arg_float(vm, &args[0], &a) != 0 ||
        expr_helper_arg_float(vm, &args[1], &b) != 0)
        return -1;
    *ret = expr_bool(fabs(a - b) < 1e-6);
    return 0;
}

#define T_STR EXPR_T(EXPR_STRING)
#define T_ARR EXPR_T(EXPR_ARRAY)

const struct expr_func expr_helpers_strings[] = {
    { "Atof", 1, 1, EXPR_T(EXPR_FLOAT), h_atof },
    { "Upper", 1, 1, T_STR, h_upper },
    { "Lower", 1, 1, T_STR, h_lower },
    { "TrimSpace", 1, 1, T_STR, h_trim_space },
    { "Trim", 2, 2, T_STR, h_trim },
    { "TrimLeft", 2, 2, T_STR, h_trim_left },
    { "TrimRight", 2, 2, T_STR, h_trim_right },
    { "TrimPrefix", 2, 2, T_STR, h_trim_prefix },
    { "TrimSuffix", 2, 2, T_STR, h_trim_suffix },
    { "Fields", 1, 1, T_ARR, h_fields },
    { "Index", 2, 2, EXPR_T(EXPR_INT), h_index },
    { "IndexAny", 2, 2, EXPR_T(EXPR_INT), h_index_any },
    { "Join", 2, 2, T_STR, h_join },
    { "Split", 2, 2, T_ARR, h_split },
    { "SplitN", 3, 3, T_ARR, h_split_n },
    { "SplitAfter", 2, 2, T_ARR, h_split_after },
    { "SplitAfterN", 3, 3, T_ARR, h_split_after_n },
    { "Replace", 4, 4, T_STR, h_replace },
    { "ReplaceAll", 3, 3, T_STR, h_replace_all },
    { "Sprintf", 1, -1, T_STR, h_sprintf },
    { "ToString", 1, 1, T_STR, h_to_string },
    { "Get", 2, 2, T_STR, h_get },
    { "Match", 2, 2, EXPR_T(EXPR_BOOL), h_match },
    { "KeyExists", 2, 2, EXPR_T(EXPR_BOOL), h_key_exists },
    { "B64Decode", 1, 1, T_STR, h_b64_decode },
    { "Hostname", 0, 0, T_STR, h_hostname },
    { "LogInfo", 1, -1, EXPR_T(EXPR_BOOL), h_log_info },
    /* Registered without a signature by CrowdSec: any arguments, untyped result. */
    { "Distinct", 0, -1, EXPR_T_ANY, h_distinct },
    { "Flatten", 0, -1, EXPR_T_ANY, h_flatten },
    { "FlattenDistinct", 0, -1, EXPR_T_ANY, h_flatten_distinct },
    { "FloatApproxEqual", 2, 2, EXPR_T(EXPR_BOOL), h_float_approx_equal },
};
const size_t expr_helpers_strings_count = ARRAY_SIZE(expr_helpers_strings);

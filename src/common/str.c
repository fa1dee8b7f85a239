/*
 * str.c - length-carrying string views and growable string buffers.
 *
 * Every growth path checks for size_t overflow, and a failed operation leaves
 * the string exactly as it was, so callers can report -ENOMEM and carry on.
 */
#include "common/str.h"

struct strv
strv_from_cstr(const char *s)
{
    return (struct strv){ .ptr = s, .len = s ? strlen(s) : 0 };
}

bool
strv_eq(struct strv a, struct strv b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

bool
strv_eq_cstr(struct strv a, const char *s)
{
    return strv_eq(a, strv_from_cstr(s));
}

int
strv_cmp(struct strv a, struct strv b)
{
    size_t n = MIN(a.len, b.len);
    int c = n ? memcmp(a.ptr, b.ptr, n) : 0;
    if (c != 0)
        return c < 0 ? -1 : 1;
    if (a.len == b.len)
        return 0;
    return a.len < b.len ? -1 : 1;
}

bool
strv_has_prefix(struct strv s, struct strv prefix)
{
    return s.len >= prefix.len && (prefix.len == 0 || memcmp(s.ptr, prefix.ptr, prefix.len) == 0);
}

bool
strv_has_suffix(struct strv s, struct strv suffix)
{
    return s.len >= suffix.len &&
           (suffix.len == 0 || memcmp(s.ptr + s.len - suffix.len, suffix.ptr, suffix.len) == 0);
}

ptrdiff_t
strv_find(struct strv hay, struct strv needle)
{
    if (needle.len == 0)
        return 0;
    if (needle.len > hay.len)
        return -1;
    const void *p = memmem(hay.ptr, hay.len, needle.ptr, needle.len);
    return p ? (const char *)p - hay.ptr : -1;
}

/*
 * Makes room for extra more bytes plus the NUL. Capacity doubles so that
 * appending byte by byte stays amortised linear.
 */
int
str_reserve(struct str *s, size_t extra)
{
    /* No object may exceed PTRDIFF_MAX bytes; asking malloc for more only fails later. */
    if (extra > (size_t)PTRDIFF_MAX - s->len - 1)
        return -ENOMEM;
    size_t need = s->len + extra + 1;
    if (need <= s->cap)
        return 0;
    size_t cap = s->cap ? s->cap : 16;
    while (cap < need) {
        if (cap > (size_t)PTRDIFF_MAX / 2) {
            cap = need;
            break;
        }
        cap *= 2;
    }
    char *nb = realloc(s->buf, cap);
    if (!nb)
        return -ENOMEM;
    if (s->cap == 0)
        nb[0] = '\0';
    s->buf = nb;
    s->cap = cap;
    return 0;
}

int
str_append(struct str *s, const char *p, size_t n)
{
    int r = str_reserve(s, n);
    if (r < 0)
        return r;
    if (n)
        memmove(s->buf + s->len, p, n);
    s->len += n;
    s->buf[s->len] = '\0';
    return 0;
}

int
str_append_cstr(struct str *s, const char *cstr)
{
    return str_append(s, cstr, strlen(cstr));
}

int
str_append_char(struct str *s, char c)
{
    return str_append(s, &c, 1);
}

int
str_appendf(struct str *s, const char *fmt, ...)
{
    va_list ap;
    int n, r;

    /* Try the spare room first; most formats fit and need only one pass. */
    char *dst = s->cap ? s->buf + s->len : NULL;
    size_t room = s->cap ? s->cap - s->len : 0;
    va_start(ap, fmt);
    n = vsnprintf(dst, room, fmt, ap);
    va_end(ap);
    if (n < 0) {
        if (s->cap)
            s->buf[s->len] = '\0';
        return -EINVAL;
    }
    if ((size_t)n < room) {
        s->len += (size_t)n;
        return 0;
    }
    r = str_reserve(s, (size_t)n);
    if (r < 0) {
        if (s->cap)
            s->buf[s->len] = '\0';
        return r;
    }
    va_start(ap, fmt);
    vsnprintf(s->buf + s->len, s->cap - s->len, fmt, ap);
    va_end(ap);
    s->len += (size_t)n;
    return 0;
}

void
str_clear(struct str *s)
{
    s->len = 0;
    if (s->cap)
        s->buf[0] = '\0';
}

void
str_free(struct str *s)
{
    if (!s)
        return;
    free(s->buf);
    *s = STR_INIT;
}

char *
str_steal(struct str *s)
{
    if (s->cap == 0 && str_reserve(s, 0) < 0)
        return NULL;
    char *b = s->buf;
    *s = STR_INIT;
    return b;
}

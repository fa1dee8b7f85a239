/*
 * litfilter.c - which regexes of a list may match a subject, from the
 * literals they require (see litfilter.h).
 *
 * The literals are bucketed by their first two folded bytes; a subject is
 * scanned once, and at each position only the literals of that position's
 * byte pair are compared. With a few hundred literals and a subject of a
 * hundred bytes that is a few hundred table lookups instead of a few hundred
 * regex runs.
 */
#include "common/common.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "expr/litfilter.h"

#define LF_BUCKETS 4096u

struct lf_entry {
    uint32_t pat;
    uint32_t len;
    char lit[LITFILTER_LITERAL_MAX]; /* folded */
};

struct litfilter {
    size_t n;
    bool *always;   /* patterns without a usable literal */
    uint32_t *offs; /* LF_BUCKETS + 1 offsets into entries, by bucket */
    struct lf_entry *entries;
};

static inline unsigned char
lf_fold(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 'a' - 'A') : c;
}

static inline uint32_t
lf_bucket(unsigned char a, unsigned char b)
{
    return (((uint32_t)a << 4) ^ (uint32_t)b) & (LF_BUCKETS - 1);
}

/* After a backslash, ASCII punctuation and space stand for themselves. */
static bool
lf_escaped_self(unsigned char c)
{
    return c >= 0x20 && c < 0x7f && !(c >= '0' && c <= '9') && !(c >= 'a' && c <= 'z') &&
           !(c >= 'A' && c <= 'Z');
}

/* Index of the `]` closing the class opened at pat[i], or len when there is none. */
static size_t
lf_skip_class(const char *pat, size_t len, size_t i)
{
    size_t j = i + 1;
    if (j < len && pat[j] == '^')
        j++;
    if (j < len && pat[j] == ']')
        j++;
    for (; j < len && pat[j] != ']'; j++) {
        if (pat[j] == '\\') {
            j++;
        } else if (pat[j] == '[' && j + 1 < len && pat[j + 1] == ':') {
            const char *end = memchr(pat + j + 2, ']', len - j - 2);
            if (end == NULL)
                return len;
            j = (size_t)(end - pat);
        }
    }
    return j;
}

/* Index of the `)` closing the group opened at pat[i], or len (also for \Q, which we do not parse).
 */
static size_t
lf_skip_group(const char *pat, size_t len, size_t i)
{
    int depth = 0;
    for (size_t j = i; j < len; j++) {
        char c = pat[j];
        if (c == '\\') {
            if (j + 1 < len && pat[j + 1] == 'Q')
                return len;
            j++;
        } else if (c == '[') {
            j = lf_skip_class(pat, len, j);
            if (j >= len)
                return len;
        } else if (c == '(') {
            depth++;
        } else if (c == ')' && --depth == 0) {
            return j;
        }
    }
    return len;
}

/* Length of the {n}, {n,} or {n,m} quantifier at pat[i], or 0 when `{` is a plain brace there. */
static size_t
lf_quantifier(const char *pat, size_t len, size_t i)
{
    size_t j = i + 1, digits = 0;
    while (j < len && pat[j] >= '0' && pat[j] <= '9') {
        j++;
        digits++;
    }
    if (digits == 0)
        return 0;
    if (j < len && pat[j] == ',') {
        j++;
        while (j < len && pat[j] >= '0' && pat[j] <= '9')
            j++;
    }
    return j < len && pat[j] == '}' ? j + 1 - i : 0;
}

struct lf_run {
    char run[LITFILTER_LITERAL_MAX];
    size_t n;
    char *best;
    size_t nbest;
};

static void
lf_end_run(struct lf_run *r)
{
    if (r->n > r->nbest) {
        memcpy(r->best, r->run, r->n);
        r->nbest = r->n;
    }
    r->n = 0;
}

/*
 * A walk over the top level of the pattern: plain characters and escaped
 * punctuation extend the current run; anything that matches something else
 * or nothing (classes, groups, dots, anchors, \d, \b...) ends it; a
 * quantifier that allows zero takes its character back out. Every run is a
 * string each match contains, so the longest one is kept.
 */
size_t
litfilter_required(const char *pat, size_t len, char buf[LITFILTER_LITERAL_MAX])
{
    struct lf_run r = { .n = 0, .best = buf, .nbest = 0 };
    bool icase = false, last_lit = false;
    size_t i = 0;

    while (i < len) {
        unsigned char c = (unsigned char)pat[i];
        if (c == '|' || c == ')')
            return 0;
        if (c == '\\') {
            if (i + 1 >= len)
                return 0;
            unsigned char d = (unsigned char)pat[i + 1];
            i += 2;
            if (strchr("bBAzZGdDsSwWhHvVRN", d) != NULL && d != '\0') {
                lf_end_run(&r);
                last_lit = false;
                continue;
            }
            if (!lf_escaped_self(d))
                return 0;
            c = d;
        } else if (c == '[') {
            size_t j = lf_skip_class(pat, len, i);
            if (j >= len)
                return 0;
            lf_end_run(&r);
            last_lit = false;
            i = j + 1;
            continue;
        } else if (c == '(') {
            if (i + 1 < len && pat[i + 1] == '?') {
                if (i + 3 < len && pat[i + 2] == 'i' && pat[i + 3] == ')') {
                    icase = true;
                    lf_end_run(&r);
                    last_lit = false;
                    i += 4;
                    continue;
                }
                if (!(i + 2 < len && pat[i + 2] == ':'))
                    return 0;
            }
            size_t j = lf_skip_group(pat, len, i);
            if (j >= len)
                return 0;
            lf_end_run(&r);
            last_lit = false;
            i = j + 1;
            continue;
        } else if (c == '*' || c == '?' || c == '+' || c == '{') {
            size_t qlen = c == '{' ? lf_quantifier(pat, len, i) : 1;
            if (qlen == 0) {
                /* A plain brace: an atom we do not keep. */
                lf_end_run(&r);
                last_lit = false;
                i++;
                continue;
            }
            if (last_lit && c != '+' && r.n > 0)
                r.n--;
            lf_end_run(&r);
            last_lit = false;
            i += qlen;
            if (i < len && (pat[i] == '?' || pat[i] == '+'))
                i++; /* lazy or possessive */
            continue;
        } else if (c == '.' || c == '^' || c == '$' || c < 0x20 || c >= 0x7f) {
            lf_end_run(&r);
            last_lit = false;
            i++;
            while (c >= 0x80 && i < len && ((unsigned char)pat[i] & 0xC0) == 0x80)
                i++;
            continue;
        } else {
            i++;
        }
        /* c is a literal character. */
        if (icase && (c == 'k' || c == 'K' || c == 's' || c == 'S')) {
            lf_end_run(&r);
            last_lit = false;
            continue;
        }
        if (r.n == LITFILTER_LITERAL_MAX)
            lf_end_run(&r);
        r.run[r.n++] = (char)c;
        last_lit = true;
    }
    lf_end_run(&r);
    return r.nbest;
}

static int
lf_entry_cmp(const void *x, const void *y)
{
    const struct lf_entry *a = x, *b = y;
    uint32_t ba = lf_bucket((unsigned char)a->lit[0], (unsigned char)a->lit[1]);
    uint32_t bb = lf_bucket((unsigned char)b->lit[0], (unsigned char)b->lit[1]);
    if (ba != bb)
        return ba < bb ? -1 : 1;
    return a->pat < b->pat ? -1 : a->pat > b->pat;
}

struct litfilter *
litfilter_new(const char *const *pats, const size_t *lens, size_t n)
{
    struct litfilter *f = calloc(1, sizeof(*f));
    if (f == NULL)
        return NULL;
    f->n = n;
    f->always = calloc(n ? n : 1, sizeof(*f->always));
    f->offs = calloc(LF_BUCKETS + 1, sizeof(*f->offs));
    f->entries = calloc(n ? n : 1, sizeof(*f->entries));
    if (f->always == NULL || f->offs == NULL || f->entries == NULL || n > UINT32_MAX) {
        litfilter_free(f);
        return NULL;
    }
    size_t ne = 0;
    for (size_t i = 0; i < n; i++) {
        struct lf_entry *e = &f->entries[ne];
        size_t l = litfilter_required(pats[i], lens[i], e->lit);
        /* One byte filters too little to be worth a bucket. */
        if (l < 2) {
            f->always[i] = true;
            continue;
        }
        for (size_t k = 0; k < l; k++)
            e->lit[k] = (char)lf_fold((unsigned char)e->lit[k]);
        e->pat = (uint32_t)i;
        e->len = (uint32_t)l;
        ne++;
    }
    qsort(f->entries, ne, sizeof(*f->entries), lf_entry_cmp);
    for (size_t i = 0; i < ne; i++)
        f->offs[lf_bucket((unsigned char)f->entries[i].lit[0],
                          (unsigned char)f->entries[i].lit[1]) +
                1]++;
    for (size_t b = 0; b < LF_BUCKETS; b++)
        f->offs[b + 1] += f->offs[b];
    return f;
}

void
litfilter_free(struct litfilter *f)
{
    if (f == NULL)
        return;
    free(f->always);
    free(f->offs);
    free(f->entries);
    free(f);
}

void
litfilter_candidates(const struct litfilter *f, const char *s, size_t len, bool *cand)
{
    memcpy(cand, f->always, f->n * sizeof(*cand));
    if (len < 2)
        return;
    unsigned char a = lf_fold((unsigned char)s[0]);
    for (size_t i = 0; i + 1 < len; i++) {
        unsigned char b = lf_fold((unsigned char)s[i + 1]);
        uint32_t h = lf_bucket(a, b);
        for (uint32_t k = f->offs[h]; k < f->offs[h + 1]; k++) {
            const struct lf_entry *e = &f->entries[k];
            if (cand[e->pat] || e->len > len - i || (unsigned char)e->lit[0] != a ||
                (unsigned char)e->lit[1] != b)
                continue;
            size_t m = 2;
            while (m < e->len && lf_fold((unsigned char)s[i + m]) == (unsigned char)e->lit[m])
                m++;
            if (m == e->len)
                cand[e->pat] = true;
        }
        a = b;
    }
}

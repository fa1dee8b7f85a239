/*
 * regex.c - RE2-like regular expressions on PCRE2 for the `matches`
 * operator, the Match-like helpers and RegexpInFile.
 *
 * Go's regexp (RE2) guarantees linear time; PCRE2 backtracks. We get close to
 * RE2's behaviour with compile flags ($ only at the very end, UTF-8 patterns,
 * invalid UTF-8 subjects tolerated, no \C) and bound the cost of every match
 * with a match limit and a depth limit. Patterns are JIT-compiled when the
 * platform supports it. Match data is per thread, so a compiled regex can be
 * shared by every evaluating thread.
 *
 * Matching is on the hot path of hub filters (`evt.Meta.http_path matches
 * '...'`), and nearly every subject fails. So a match first looks for a
 * literal that every match must contain (the pattern's leading literal run,
 * when the pattern has no top-level alternative), which rejects most
 * subjects with one memmem; the survivors go straight to the JIT code
 * (pcre2_jit_match) with the thread's cached match data.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <pthread.h>

#include "expr/helpers.h"

#define REGEX_MATCH_LIMIT 1000000
#define REGEX_DEPTH_LIMIT 10000

/* Below this length a required literal rejects too little to pay for the memmem. */
#define REGEX_LITERAL_MIN 3
#define REGEX_LITERAL_MAX 64

struct expr_regex {
    pcre2_code *code;
    bool jit; /* JIT-compiled: pcre2_jit_match applies */
    size_t litlen;
    char lit[REGEX_LITERAL_MAX]; /* a literal every match contains (litlen bytes), or none */
};

static pthread_once_t regex_once = PTHREAD_ONCE_INIT;
static pthread_key_t regex_md_key;
static pcre2_match_context *regex_mctx;
static bool regex_ready;

static void
regex_md_destroy(void *p)
{
    pcre2_match_data_free(p);
}

static void
regex_init(void)
{
    if (pthread_key_create(&regex_md_key, regex_md_destroy) != 0)
        return;
    regex_mctx = pcre2_match_context_create(NULL);
    if (!regex_mctx)
        return;
    pcre2_set_match_limit(regex_mctx, REGEX_MATCH_LIMIT);
    pcre2_set_depth_limit(regex_mctx, REGEX_DEPTH_LIMIT);
    regex_ready = true;
}

/*
 * The calling thread's match data; one ovector pair is enough to know
 * whether it matched. The thread-specific key owns it (and frees it when the
 * thread exits); a thread-local pointer is the fast way back to it.
 */
static _Thread_local pcre2_match_data *regex_tl_md;

static pcre2_match_data *
regex_match_data_slow(void)
{
    pthread_once(&regex_once, regex_init);
    if (!regex_ready)
        return NULL;
    pcre2_match_data *md = pthread_getspecific(regex_md_key);
    if (!md) {
        md = pcre2_match_data_create(1, NULL);
        if (!md)
            return NULL;
        if (pthread_setspecific(regex_md_key, md) != 0) {
            pcre2_match_data_free(md);
            return NULL;
        }
    }
    regex_tl_md = md;
    return md;
}

static inline pcre2_match_data *
regex_match_data(void)
{
    pcre2_match_data *md = regex_tl_md;
    return md ? md : regex_match_data_slow();
}

/* Characters that stand for themselves outside a class (in PCRE2's default, non-extended mode). */
static bool
regex_plain(unsigned char c)
{
    return c >= 0x20 && c < 0x7f && !strchr(".[]()*+?{}|^$\\", c);
}

/* After a backslash, ASCII punctuation and space always mean the character itself. */
static bool
regex_escaped_self(unsigned char c)
{
    return c >= 0x20 && c < 0x7f && !(c >= '0' && c <= '9') && !(c >= 'a' && c <= 'z') &&
           !(c >= 'A' && c <= 'Z');
}

/* Whether pat has a `|` outside every group and class (then no literal is required). */
static bool
regex_has_top_alternative(const char *pat, size_t len)
{
    int depth = 0;
    for (size_t i = 0; i < len; i++) {
        char c = pat[i];
        if (c == '\\') {
            if (i + 1 < len && pat[i + 1] == 'Q') {
                /* \Q...\E quotes everything up to \E (or the end). */
                size_t j = i + 2;
                while (j + 1 < len && !(pat[j] == '\\' && pat[j + 1] == 'E'))
                    j++;
                i = j + 1;
            } else {
                i++;
            }
        } else if (c == '[') {
            /* A class: `]` right after `[` or `[^` is a member, escapes count as one. */
            size_t j = i + 1;
            if (j < len && pat[j] == '^')
                j++;
            if (j < len && pat[j] == ']')
                j++;
            for (; j < len && pat[j] != ']'; j++) {
                if (pat[j] == '\\')
                    j++;
                else if (pat[j] == '[' && j + 1 < len && pat[j + 1] == ':') {
                    /* [:alpha:] inside a class */
                    const char *end = memchr(pat + j + 2, ']', len - j - 2);
                    if (end)
                        j = (size_t)(end - pat);
                }
            }
            i = j;
        } else if (c == '(') {
            if (i + 2 < len && pat[i + 1] == '?' && pat[i + 2] == '#') {
                /* (?#comment) */
                const char *end = memchr(pat + i, ')', len - i);
                if (!end)
                    return true;
                i = (size_t)(end - pat);
            } else {
                depth++;
            }
        } else if (c == ')') {
            depth--;
        } else if (c == '|' && depth <= 0) {
            return true;
        }
    }
    return false;
}

/*
 * Finds the literal every match of pat must contain: its leading run of
 * plain characters (and escaped punctuation), minus the last one when a
 * quantifier follows it, provided no top-level `|` offers a way around it.
 * Anything unusual (a group, a class, a non-ASCII byte) ends the run early,
 * which only makes the literal shorter: it never makes it wrong.
 */
static void
regex_find_literal(struct expr_regex *r, const char *pat, size_t len)
{
    size_t i = 0, n = 0;
    r->litlen = 0;
    if (len > 0 && pat[0] == '^')
        i = 1;
    while (i < len && n < REGEX_LITERAL_MAX) {
        unsigned char c = (unsigned char)pat[i];
        if (regex_plain(c)) {
            r->lit[n++] = (char)c;
            i++;
        } else if (c == '\\' && i + 1 < len && regex_escaped_self((unsigned char)pat[i + 1])) {
            /* A backslash before punctuation always means the character itself. */
            r->lit[n++] = pat[i + 1];
            i += 2;
        } else {
            break;
        }
    }
    if (n == REGEX_LITERAL_MAX)
        n--; /* the next character may be a quantifier: drop the one it would bind */
    else if (i < len && strchr("*+?{", pat[i]) && n > 0)
        n--;
    if (n < REGEX_LITERAL_MIN || regex_has_top_alternative(pat, len))
        return;
    r->litlen = n;
}

/*
 * Compiles pat (len bytes, may contain NUL). On error returns NULL and writes
 * a message shaped like Go's ("error parsing regexp: ...: `pat`") to err.
 */
struct expr_regex *
expr_regex_compile(const char *pat, size_t len, char *err, size_t errsize)
{
    int code = 0;
    PCRE2_SIZE off = 0;
    uint32_t flags =
        PCRE2_DOLLAR_ENDONLY | PCRE2_UTF | PCRE2_MATCH_INVALID_UTF | PCRE2_NEVER_BACKSLASH_C;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)pat, len, flags, &code, &off, NULL);
    if (!re) {
        if (err && errsize) {
            PCRE2_UCHAR msg[200];
            if (pcre2_get_error_message(code, msg, sizeof(msg)) < 0)
                snprintf((char *)msg, sizeof(msg), "error %d", code);
            int n = len > INT32_MAX ? INT32_MAX : (int)len;
            snprintf(err, errsize, "error parsing regexp: %s: `%.*s`", (const char *)msg, n, pat);
        }
        return NULL;
    }
    struct expr_regex *r = malloc(sizeof(*r));
    if (!r) {
        pcre2_code_free(re);
        if (err && errsize)
            snprintf(err, errsize, "out of memory");
        return NULL;
    }
    r->code = re;
    /* JIT is an optimisation: without it (unsupported CPU, no exec memory) the interpreter runs. */
    r->jit = pcre2_jit_compile(re, PCRE2_JIT_COMPLETE) == 0;
    regex_find_literal(r, pat, len);
    return r;
}

int
expr_regex_match(const struct expr_regex *re, const char *s, size_t len)
{
    if (!re)
        return -1;
    if (!s)
        s = "";
    if (re->litlen && (len < re->litlen || !memmem(s, len, re->lit, re->litlen)))
        return 0;
    pcre2_match_data *md = regex_match_data();
    if (!md)
        return -1;
    int rc = re->jit ? pcre2_jit_match(re->code, (PCRE2_SPTR)s, len, 0, 0, md, regex_mctx)
                     : pcre2_match(re->code, (PCRE2_SPTR)s, len, 0, 0, md, regex_mctx);
    if (rc >= 0)
        return 1;
    if (rc == PCRE2_ERROR_NOMATCH)
        return 0;
    return -1;
}

void
expr_regex_free(struct expr_regex *re)
{
    if (!re)
        return;
    pcre2_code_free(re->code);
    free(re);
}

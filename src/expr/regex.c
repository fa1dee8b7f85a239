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
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <pthread.h>

#include "expr/helpers.h"

#define REGEX_MATCH_LIMIT 1000000
#define REGEX_DEPTH_LIMIT 10000

struct expr_regex {
    pcre2_code *code;
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

/* The calling thread's match data; one ovector pair is enough to know whether it matched. */
static pcre2_match_data *
regex_match_data(void)
{
    pthread_once(&regex_once, regex_init);
    if (!regex_ready)
        return NULL;
    pcre2_match_data *md = pthread_getspecific(regex_md_key);
    if (md)
        return md;
    md = pcre2_match_data_create(1, NULL);
    if (!md)
        return NULL;
    if (pthread_setspecific(regex_md_key, md) != 0) {
        pcre2_match_data_free(md);
        return NULL;
    }
    return md;
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
    /* JIT is an optimisation: without it (unsupported CPU, no exec memory) the interpreter runs. */
    (void)pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);
    struct expr_regex *r = malloc(sizeof(*r));
    if (!r) {
        pcre2_code_free(re);
        if (err && errsize)
            snprintf(err, errsize, "out of memory");
        return NULL;
    }
    r->code = re;
    return r;
}

int
expr_regex_match(const struct expr_regex *re, const char *s, size_t len)
{
    if (!re)
        return -1;
    pcre2_match_data *md = regex_match_data();
    if (!md)
        return -1;
    if (!s)
        s = "";
    int rc = pcre2_match(re->code, (PCRE2_SPTR)s, len, 0, 0, md, regex_mctx);
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

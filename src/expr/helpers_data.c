/*
 * helpers_data.c - the data files of parsers and scenarios (`data:` entries)
 * and the helpers that read them: File, RegexpInFile, FileMap, LookupFile and
 * MatchKnownBot.
 *
 * Files are loaded once at load time by expr_data_load(), as CrowdSec's
 * FileInit does: one entry per line, lines starting with '#' and empty lines
 * skipped, a trailing '\r' dropped (bufio.ScanLines), at most 64 KiB per line
 * (bufio.Scanner's limit) and 64 MiB per file. Each (type, file name) pair is
 * kept once; loading it again is a no-op. After loading everything is
 * read-only, so any number of threads may evaluate; expr_data_reset() must
 * not run concurrently with evaluations.
 *
 * The helpers never fail on an unknown file name: CrowdSec logs and returns
 * an empty result, and so do we (without the log: library code is quiet).
 */
#include <jansson.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <time.h>

#include "common/hashmap.h"
#include "common/ip.h"
#include "common/str.h"
#include "expr/helpers.h"
#include "expr/litfilter.h"

#define DATA_MAX_FILE  (64u << 20)
#define DATA_MAX_LINE  (64u << 10)
#define DATA_MAX_FILES 4096

/* One row of a map file: its JSON keys and values, in file order. */
struct data_row {
    size_t n;
    char **keys;
    char **values;
    const char *pattern, *tag, *type; /* borrowed from keys/values */
};

/* A LookupFile pattern: index into rows, and the compiled regex for "regex" rows. */
struct data_pat {
    size_t row;
    struct expr_regex *re;
};

struct data_bot {
    char *name;
    struct expr_regex *ua; /* NULL = any */
    struct expr_regex **paths;
    size_t npaths;
    struct ip_addr *ips;
    size_t nips;
    struct ip_range *ranges;
    size_t nranges;
    struct expr_regex **rdns;
    size_t nrdns;
};

/*
 * The lines of a string file mapped through a pure helper, built once. f is
 * published last (release) so that a reader that sees it (acquire) sees array.
 */
#define DATA_MAPPED_MAX 4
struct data_mapped {
    _Atomic(const struct expr_func *) f;
    struct expr_array array;
    char **strs; /* the mapped lines (malloc'd), array.items point at them */
};

struct data_file {
    enum expr_data_type type;
    struct data_mapped mapped[DATA_MAPPED_MAX];
    /* string: the lines, also exposed as one prebuilt read-only array */
    char **lines;
    size_t nlines;
    struct expr_array array;
    /* regexp */
    struct expr_regex **res;
    size_t nres;
    struct litfilter *filter; /* which of res may match a subject */
    const char **res_src;     /* while loading: each regex's line (in the file text) */
    size_t *res_srclen;
    /* map */
    struct data_row *rows;
    size_t nrows;
    struct hashmap *equals; /* pattern -> row index + 1 (as a pointer) */
    struct data_pat *contains, *regexes;
    size_t ncontains, nregexes;
    /* bots */
    struct data_bot *bots;
    size_t nbots;
};

static struct hashmap *data_files; /* "<type>:<dest_file>" -> struct data_file */
static size_t data_nbots;          /* bot entries over all files (MatchKnownBot's fast exit) */

static void
data_bot_clear(struct data_bot *b)
{
    free(b->name);
    expr_regex_free(b->ua);
    for (size_t i = 0; i < b->npaths; i++)
        expr_regex_free(b->paths[i]);
    free(b->paths);
    free(b->ips);
    free(b->ranges);
    for (size_t i = 0; i < b->nrdns; i++)
        expr_regex_free(b->rdns[i]);
    free(b->rdns);
}

static void
data_file_free(void *p)
{
    struct data_file *df = p;
    if (!df)
        return;
    for (size_t i = 0; i < df->nlines; i++)
        free(df->lines[i]);
    free(df->lines);
    free(df->array.items);
    for (size_t m = 0; m < DATA_MAPPED_MAX; m++) {
        for (size_t i = 0; df->mapped[m].strs && i < df->mapped[m].array.len; i++)
            free(df->mapped[m].strs[i]);
        free(df->mapped[m].strs);
        free(df->mapped[m].array.items);
    }
    for (size_t i = 0; i < df->nres; i++)
        expr_regex_free(df->res[i]);
    free(df->res);
    litfilter_free(df->filter);
    free(df->res_src);
    free(df->res_srclen);
    for (size_t i = 0; i < df->nrows; i++) {
        for (size_t k = 0; k < df->rows[i].n; k++) {
            free(df->rows[i].keys[k]);
            free(df->rows[i].values[k]);
        }
        free(df->rows[i].keys);
        free(df->rows[i].values);
    }
    free(df->rows);
    hashmap_free(df->equals);
    free(df->contains);
    for (size_t i = 0; i < df->nregexes; i++)
        expr_regex_free(df->regexes[i].re);
    free(df->regexes);
    for (size_t i = 0; i < df->nbots; i++)
        data_bot_clear(&df->bots[i]);
    free(df->bots);
    free(df);
}

void
expr_data_reset(void)
{
    hashmap_free(data_files);
    data_files = NULL;
    data_nbots = 0;
}

static char
data_type_tag(enum expr_data_type type)
{
    switch (type) {
    case EXPR_DATA_STRING: return 's';
    case EXPR_DATA_REGEXP: return 'r';
    case EXPR_DATA_MAP: return 'm';
    case EXPR_DATA_BOTS: return 'b';
    }
    return '?';
}

static const struct data_file *
data_find(enum expr_data_type type, const char *name, size_t len)
{
    char key[512];
    if (!data_files || len > sizeof(key) - 2)
        return NULL;
    key[0] = data_type_tag(type);
    key[1] = ':';
    memcpy(key + 2, name, len);
    return hashmap_get(data_files, key, len + 2);
}

/* Grows *arr (of elem-size items) so that one more fits; 0 or -ENOMEM. */
static int
data_grow(void *arr, size_t *cap, size_t n, size_t elem)
{
    void **p = arr;
    if (n < *cap)
        return 0;
    size_t ncap = *cap ? *cap * 2 : 16;
    void *q = realloc(*p, ncap * elem);
    if (!q)
        return -ENOMEM;
    *p = q;
    *cap = ncap;
    return 0;
}

static int data_err(struct expr_error *err, const char *fmt, ...) PRINTF_LIKE(2, 3);

static int
data_err(struct expr_error *err, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof(err->message), fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* Reads the whole file (bounded) into *ret (NUL-terminated, free() it). */
static int
data_read(const char *path, char **ret, size_t *ret_len, struct expr_error *err)
{
    FILE *f = fopen(path, "rb");
    struct str buf = STR_INIT;
    char chunk[65536];
    size_t n;
    int rc = -1;

    if (!f)
        return data_err(err, "open %s: %s", path, strerror(errno));
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (buf.len + n > DATA_MAX_FILE) {
            data_err(err, "%s: file larger than %u bytes", path, DATA_MAX_FILE);
            goto out;
        }
        if (str_append(&buf, chunk, n) < 0) {
            data_err(err, "%s: out of memory", path);
            goto out;
        }
    }
    if (ferror(f)) {
        data_err(err, "read %s: %s", path, strerror(errno));
        goto out;
    }
    if (str_append(&buf, "", 0) < 0) {
        data_err(err, "%s: out of memory", path);
        goto out;
    }
    *ret_len = buf.len;
    *ret = str_steal(&buf);
    rc = 0;
out:
    str_free(&buf);
    fclose(f);
    return rc;
}

static int
data_compile(const char *pat, size_t len, bool icase, struct expr_regex **ret, char *msg,
             size_t msgsize)
{
    struct str s = STR_INIT;
    int rc = 0;
    if (icase && str_append_cstr(&s, "(?i)") < 0)
        return -ENOMEM;
    if (str_append(&s, pat, len) < 0) {
        str_free(&s);
        return -ENOMEM;
    }
    *ret = expr_regex_compile(s.buf, s.len, msg, msgsize);
    if (!*ret)
        rc = -EINVAL;
    str_free(&s);
    return rc;
}

/* --- per-type line loaders: 0, or -1 with err filled ("file:line: ...") --- */

static int
data_add_string(struct data_file *df, size_t *cap, const char *line, size_t len)
{
    if (data_grow(&df->lines, cap, df->nlines, sizeof(*df->lines)) < 0)
        return -ENOMEM;
    char *copy = strndup(line, len);
    if (!copy)
        return -ENOMEM;
    df->lines[df->nlines++] = copy;
    return 0;
}

static int
data_add_regexp(struct data_file *df, size_t *cap, const char *line, size_t len, const char *where,
                struct expr_error *err)
{
    char msg[256];
    struct expr_regex *re;
    size_t scap = *cap;
    if (data_grow(&df->res, cap, df->nres, sizeof(*df->res)) < 0)
        return data_err(err, "%s: out of memory", where);
    /* The source arrays grow in step with res (same count, same capacity). */
    if (*cap != scap) {
        const char **src = realloc(df->res_src, *cap * sizeof(*src));
        if (src)
            df->res_src = src;
        size_t *srclen = src ? realloc(df->res_srclen, *cap * sizeof(*srclen)) : NULL;
        if (srclen)
            df->res_srclen = srclen;
        if (!src || !srclen)
            return data_err(err, "%s: out of memory", where);
    }
    if (data_compile(line, len, false, &re, msg, sizeof(msg)) < 0)
        return data_err(err, "%s: invalid regexp: %s", where, msg);
    df->res_src[df->nres] = line;
    df->res_srclen[df->nres] = len;
    df->res[df->nres++] = re;
    return 0;
}

/* A JSON string field, "" for null or absent; -1 if present with another type. */
static int
data_json_str(const json_t *obj, const char *key, const char **ret)
{
    const json_t *v = json_object_get(obj, key);
    *ret = "";
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return -1;
    *ret = json_string_value(v);
    return 0;
}

static int
data_add_row(struct data_file *df, size_t *cap, const char *line, size_t len, const char *where,
             struct expr_error *err)
{
    json_error_t jerr;
    json_t *obj = json_loadb(line, len, 0, &jerr);
    struct data_row row = { 0 };
    const char *key;
    json_t *val;
    int rc = -1;

    if (!obj || !json_is_object(obj)) {
        data_err(err, "%s: failed to parse JSON line: %s", where,
                 obj ? "not an object" : jerr.text);
        goto out;
    }
    size_t n = json_object_size(obj);
    row.keys = calloc(n ? n : 1, sizeof(char *));
    row.values = calloc(n ? n : 1, sizeof(char *));
    if (!row.keys || !row.values) {
        data_err(err, "%s: out of memory", where);
        goto out;
    }
    json_object_foreach(obj, key, val)
    {
        if (!json_is_string(val) && !json_is_null(val)) {
            data_err(err, "%s: failed to parse JSON line: value of '%s' is not a string", where,
                     key);
            goto out;
        }
        row.keys[row.n] = strdup(key);
        row.values[row.n] = strdup(json_is_string(val) ? json_string_value(val) : "");
        row.n++;
        if (!row.keys[row.n - 1] || !row.values[row.n - 1]) {
            data_err(err, "%s: out of memory", where);
            goto out;
        }
        if (strcmp(key, "pattern") == 0)
            row.pattern = row.values[row.n - 1];
        else if (strcmp(key, "tag") == 0)
            row.tag = row.values[row.n - 1];
        else if (strcmp(key, "type") == 0)
            row.type = row.values[row.n - 1];
    }
    if (!row.pattern || !*row.pattern) {
        data_err(err, "%s: missing mandatory 'pattern' field", where);
        goto out;
    }
    if (!row.tag || !*row.tag) {
        data_err(err, "%s: missing mandatory 'tag' field", where);
        goto out;
    }
    if (!row.type || !*row.type) {
        data_err(err, "%s: missing mandatory 'type' field", where);
        goto out;
    }
    if (strcmp(row.type, "equals") != 0 && strcmp(row.type, "contains") != 0 &&
        strcmp(row.type, "regex") != 0) {
        data_err(err, "%s: unknown entry type '%s' (supported: equals, contains, regex)", where,
                 row.type);
        goto out;
    }
    if (data_grow(&df->rows, cap, df->nrows, sizeof(*df->rows)) < 0) {
        data_err(err, "%s: out of memory", where);
        goto out;
    }
    df->rows[df->nrows++] = row;
    row = (struct data_row){ 0 };
    rc = 0;
out:
    for (size_t i = 0; i < row.n; i++) {
        free(row.keys[i]);
        free(row.values[i]);
    }
    free(row.keys);
    free(row.values);
    json_decref(obj);
    return rc;
}

/*
 * The LookupFile index, built once the rows are in: equals patterns in a hash
 * (a later duplicate wins, as in CrowdSec's map), contains and regex patterns
 * in file order. A regex that does not compile is skipped, as CrowdSec only
 * logs it.
 */
static int
data_index_rows(struct data_file *df)
{
    df->equals = hashmap_new(NULL);
    df->contains = calloc(df->nrows ? df->nrows : 1, sizeof(*df->contains));
    df->regexes = calloc(df->nrows ? df->nrows : 1, sizeof(*df->regexes));
    if (!df->equals || !df->contains || !df->regexes)
        return -ENOMEM;
    for (size_t i = 0; i < df->nrows; i++) {
        const struct data_row *r = &df->rows[i];
        char msg[256];
        if (strcmp(r->type, "equals") == 0) {
            if (hashmap_put(df->equals, r->pattern, strlen(r->pattern),
                            (void *)(uintptr_t)(i + 1)) < 0)
                return -ENOMEM;
        } else if (strcmp(r->type, "contains") == 0) {
            df->contains[df->ncontains++].row = i;
        } else {
            struct expr_regex *re;
            int rc = data_compile(r->pattern, strlen(r->pattern), false, &re, msg, sizeof(msg));
            if (rc == -ENOMEM)
                return rc;
            if (rc == 0)
                df->regexes[df->nregexes++] = (struct data_pat){ .row = i, .re = re };
        }
    }
    return 0;
}

/* An optional JSON array of strings ("paths", "ips", ...); NULL/absent = empty. */
static int
data_json_strs(const json_t *v, size_t *ret_n)
{
    if (!v || json_is_null(v)) {
        *ret_n = 0;
        return 0;
    }
    if (!json_is_array(v))
        return -1;
    for (size_t i = 0; i < json_array_size(v); i++)
        if (!json_is_string(json_array_get(v, i)))
            return -1;
    *ret_n = json_array_size(v);
    return 0;
}

/*
 * One bot definition: {name, user_agent, paths, ips, ranges, rdns}; unknown
 * keys are an error (DisallowUnknownFields), so is an entry with no identity
 * check (a User-Agent alone is trivially spoofed). Regexes are
 * case-insensitive.
 */
static int
data_add_bot(struct data_file *df, size_t *cap, const char *line, size_t len, const char *where,
             struct expr_error *err)
{
    static const char *const known[] = { "name", "user_agent", "paths", "ips", "ranges", "rdns" };
    json_error_t jerr;
    json_t *obj = json_loadb(line, len, 0, &jerr);
    struct data_bot bot = { 0 };
    const char *key, *name = "", *ua = "";
    json_t *val, *paths, *ips, *ranges, *rdns;
    size_t npaths, nips, nranges, nrdns;
    char msg[256];
    int rc = -1;

    if (!obj || !json_is_object(obj)) {
        data_err(err, "%s: failed to parse JSON line: %s", where,
                 obj ? "not an object" : jerr.text);
        goto out;
    }
    json_object_foreach(obj, key, val)
    {
        bool ok = false;
        for (size_t i = 0; i < ARRAY_SIZE(known); i++)
            ok = ok || strcmp(key, known[i]) == 0;
        if (!ok) {
            data_err(err, "%s: failed to parse JSON line: json: unknown field \"%s\"", where, key);
            goto out;
        }
    }
    paths = json_object_get(obj, "paths");
    ips = json_object_get(obj, "ips");
    ranges = json_object_get(obj, "ranges");
    rdns = json_object_get(obj, "rdns");
    if (data_json_str(obj, "name", &name) < 0 || data_json_str(obj, "user_agent", &ua) < 0 ||
        data_json_strs(paths, &npaths) < 0 || data_json_strs(ips, &nips) < 0 ||
        data_json_strs(ranges, &nranges) < 0 || data_json_strs(rdns, &nrdns) < 0) {
        data_err(err, "%s: failed to parse JSON line: wrong field type", where);
        goto out;
    }
    if (!*name) {
        data_err(err, "%s: missing mandatory 'name' field", where);
        goto out;
    }
    if (nips + nranges + nrdns == 0) {
        data_err(err,
                 "%s: bot entry '%s' has no identity verification (need at least one of "
                 "ips/ranges/rdns)",
                 where, name);
        goto out;
    }
    bot.name = strdup(name);
    bot.paths = calloc(npaths + 1, sizeof(*bot.paths));
    bot.ips = calloc(nips + 1, sizeof(*bot.ips));
    bot.ranges = calloc(nranges + 1, sizeof(*bot.ranges));
    bot.rdns = calloc(nrdns + 1, sizeof(*bot.rdns));
    if (!bot.name || !bot.paths || !bot.ips || !bot.ranges || !bot.rdns) {
        data_err(err, "%s: out of memory", where);
        goto out;
    }
    if (*ua && data_compile(ua, strlen(ua), true, &bot.ua, msg, sizeof(msg)) < 0) {
        data_err(err, "%s: invalid user_agent regex for bot entry '%s': %s", where, name, msg);
        goto out;
    }
    for (size_t i = 0; i < npaths; i++) {
        const char *p = json_string_value(json_array_get(paths, i));
        if (data_compile(p, strlen(p), true, &bot.paths[bot.npaths], msg, sizeof(msg)) < 0) {
            data_err(err, "%s: invalid path regex '%s' for bot entry '%s': %s", where, p, name,
                     msg);
            goto out;
        }
        bot.npaths++;
    }
    for (size_t i = 0; i < nips; i++) {
        const char *p = json_string_value(json_array_get(ips, i));
        if (ip_parse(p, strlen(p), &bot.ips[bot.nips]) < 0) {
            data_err(err, "%s: invalid IP '%s' for bot entry '%s'", where, p, name);
            goto out;
        }
        bot.nips++;
    }
    for (size_t i = 0; i < nranges; i++) {
        const char *p = json_string_value(json_array_get(ranges, i));
        if (!strchr(p, '/') || ip_range_parse_cidr(p, strlen(p), &bot.ranges[bot.nranges]) < 0) {
            data_err(err, "%s: invalid CIDR range '%s' for bot entry '%s'", where, p, name);
            goto out;
        }
        bot.nranges++;
    }
    for (size_t i = 0; i < nrdns; i++) {
        const char *p = json_string_value(json_array_get(rdns, i));
        if (!*p) {
            data_err(err, "%s: empty rdns pattern for bot entry '%s'", where, name);
            goto out;
        }
        if (data_compile(p, strlen(p), true, &bot.rdns[bot.nrdns], msg, sizeof(msg)) < 0) {
            data_err(err, "%s: invalid rdns regex '%s' for bot entry '%s': %s", where, p, name,
                     msg);
            goto out;
        }
        bot.nrdns++;
    }
    if (data_grow(&df->bots, cap, df->nbots, sizeof(*df->bots)) < 0) {
        data_err(err, "%s: out of memory", where);
        goto out;
    }
    df->bots[df->nbots++] = bot;
    bot = (struct data_bot){ 0 };
    rc = 0;
out:
    data_bot_clear(&bot);
    json_decref(obj);
    return rc;
}

/* Splits text into lines like bufio.ScanLines and feeds the kept ones to the type's loader. */
static int
data_parse(struct data_file *df, const char *path, const char *text, size_t len,
           struct expr_error *err)
{
    size_t cap = 0, lineno = 0;
    const char *p = text, *end = text + len;
    char where[300];

    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        const char *line = p;
        p = nl ? nl + 1 : end;
        lineno++;
        if (n >= DATA_MAX_LINE)
            return data_err(err, "%s:%zu: bufio.Scanner: token too long", path, lineno);
        if (n > 0 && line[n - 1] == '\r')
            n--;
        if (n == 0 || line[0] == '#')
            continue;
        snprintf(where, sizeof(where), "%s:%zu", path, lineno);
        int rc = 0;
        switch (df->type) {
        case EXPR_DATA_STRING:
            if (data_add_string(df, &cap, line, n) < 0)
                return data_err(err, "%s: out of memory", where);
            break;
        case EXPR_DATA_REGEXP: rc = data_add_regexp(df, &cap, line, n, where, err); break;
        case EXPR_DATA_MAP: rc = data_add_row(df, &cap, line, n, where, err); break;
        case EXPR_DATA_BOTS: rc = data_add_bot(df, &cap, line, n, where, err); break;
        }
        if (rc < 0)
            return -1;
    }
    return 0;
}

int
expr_data_load(const char *data_dir, const char *dest_file, enum expr_data_type type,
               struct expr_error *err)
{
    struct str path = STR_INIT, key = STR_INIT;
    struct data_file *df = NULL;
    char *text = NULL;
    size_t len = 0;
    int rc = -1;

    if (err)
        memset(err, 0, sizeof(*err));
    if (data_type_tag(type) == '?')
        return data_err(err, "unknown data type %d for '%s'", (int)type, dest_file);
    if (data_find(type, dest_file, strlen(dest_file)))
        return 0;
    if (!data_files && !(data_files = hashmap_new(data_file_free)))
        return data_err(err, "out of memory");
    if (hashmap_len(data_files) >= DATA_MAX_FILES)
        return data_err(err, "%s: too many data files (limit %d)", dest_file, DATA_MAX_FILES);
    if (str_appendf(&key, "%c:%s", data_type_tag(type), dest_file) < 0 ||
        str_appendf(&path, "%s%s%s", data_dir ? data_dir : "",
                    data_dir && *data_dir && data_dir[strlen(data_dir) - 1] != '/' ? "/" : "",
                    dest_file) < 0) {
        data_err(err, "out of memory");
        goto out;
    }
    if (data_read(path.buf, &text, &len, err) < 0)
        goto out;
    df = calloc(1, sizeof(*df));
    if (!df) {
        data_err(err, "out of memory");
        goto out;
    }
    df->type = type;
    if (data_parse(df, path.buf, text, len, err) < 0)
        goto out;
    if (type == EXPR_DATA_REGEXP && df->nres > 0 &&
        !(df->filter = litfilter_new(df->res_src, df->res_srclen, df->nres))) {
        data_err(err, "%s: out of memory", path.buf);
        goto out;
    }
    /* The sources point into the file text, freed below. */
    free(df->res_src);
    free(df->res_srclen);
    df->res_src = NULL;
    df->res_srclen = NULL;
    if (type == EXPR_DATA_MAP && data_index_rows(df) < 0) {
        data_err(err, "%s: out of memory", path.buf);
        goto out;
    }
    if (type == EXPR_DATA_STRING && df->nlines > 0) {
        df->array.items = calloc(df->nlines, sizeof(*df->array.items));
        if (!df->array.items) {
            data_err(err, "%s: out of memory", path.buf);
            goto out;
        }
        for (size_t i = 0; i < df->nlines; i++)
            df->array.items[i] = expr_strv(df->lines[i], strlen(df->lines[i]));
        df->array.len = df->array.cap = df->nlines;
    }
    if (hashmap_put(data_files, key.buf, key.len, df) < 0) {
        data_err(err, "out of memory");
        goto out;
    }
    data_nbots += df->nbots;
    df = NULL;
    rc = 0;
out:
    data_file_free(df);
    free(text);
    str_free(&path);
    str_free(&key);
    return rc;
}

int
expr_data_type_parse(const char *s, enum expr_data_type *ret)
{
    if (strcmp(s, "string") == 0)
        *ret = EXPR_DATA_STRING;
    else if (strcmp(s, "regexp") == 0 || strcmp(s, "regex") == 0)
        *ret = EXPR_DATA_REGEXP;
    else if (strcmp(s, "map") == 0)
        *ret = EXPR_DATA_MAP;
    else if (strcmp(s, "bots") == 0)
        *ret = EXPR_DATA_BOTS;
    else
        return -1;
    return 0;
}

/* --- helpers --- */

/* File(name): the lines as a []string (shared, read-only); empty when not loaded. */
static int
fn_file(struct expr_vm *vm, const struct expr_value *args, size_t nargs, struct expr_value *ret)
{
    static struct expr_array empty;
    struct strv name;
    if (expr_helper_arg_strv(vm, "File", args, 0, &name) < 0)
        return -1;
    const struct data_file *df = data_find(EXPR_DATA_STRING, name.ptr, name.len);
    /* The array is never written through: expr values are immutable. */
    *ret = (struct expr_value){ .kind = EXPR_ARRAY,
                                .u.a = df ? (struct expr_array *)&df->array : &empty };
    return 0;
}

static pthread_mutex_t data_mapped_mu = PTHREAD_MUTEX_INITIALIZER;

/* Fills m with f applied to df's lines; 0 or -1 (error in vm, m left empty). */
static int
data_map_lines(struct expr_vm *vm, const struct data_file *df, const struct expr_func *f,
               struct data_mapped *m)
{
    size_t n = df->array.len;
    m->strs = calloc(n ? n : 1, sizeof(*m->strs));
    m->array.items = calloc(n ? n : 1, sizeof(*m->array.items));
    if (!m->strs || !m->array.items)
        goto oom;
    for (size_t i = 0; i < n; i++) {
        struct expr_value r;
        if (f->call(vm, &df->array.items[i], 1, &r) < 0)
            goto fail;
        if (r.kind != EXPR_STRING) {
            expr_vm_error(vm, "%s: unexpected result type", f->name);
            goto fail;
        }
        if (!(m->strs[i] = malloc(r.u.s.len + 1)))
            goto oom;
        memcpy(m->strs[i], r.u.s.ptr, r.u.s.len);
        m->strs[i][r.u.s.len] = '\0';
        m->array.items[i] = expr_strv(m->strs[i], r.u.s.len);
        m->array.len = i + 1;
    }
    m->array.cap = n;
    return 0;
oom:
    expr_vm_error(vm, "out of memory");
fail:
    for (size_t i = 0; m->strs && i < n; i++)
        free(m->strs[i]);
    free(m->strs);
    free(m->array.items);
    memset(&m->array, 0, sizeof(m->array));
    m->strs = NULL;
    return -1;
}

int
expr_data_file_mapped(struct expr_vm *vm, const char *name, size_t len, const struct expr_func *f,
                      struct expr_value *ret)
{
    static struct expr_array empty;
    /* Read-only after loading, like the lines; only the mapped slots fill in later. */
    struct data_file *df = (struct data_file *)data_find(EXPR_DATA_STRING, name, len);
    *ret = (struct expr_value){ .kind = EXPR_ARRAY, .u.a = &empty };
    if (!df)
        return 0;
    for (size_t i = 0; i < DATA_MAPPED_MAX; i++) {
        if (atomic_load_explicit(&df->mapped[i].f, memory_order_acquire) == f) {
            ret->u.a = &df->mapped[i].array;
            return 0;
        }
    }
    int rc = 0;
    pthread_mutex_lock(&data_mapped_mu);
    size_t i = 0;
    for (; i < DATA_MAPPED_MAX; i++) {
        const struct expr_func *g = atomic_load_explicit(&df->mapped[i].f, memory_order_relaxed);
        if (g == f || g == NULL)
            break;
    }
    if (i == DATA_MAPPED_MAX) {
        /* Every slot taken by other helpers: map into this evaluation's arena instead. */
        struct expr_array *a = expr_vm_array(vm, df->array.len);
        if (!a) {
            rc = expr_vm_error(vm, "out of memory");
            goto out;
        }
        for (size_t k = 0; k < df->array.len; k++) {
            if (f->call(vm, &df->array.items[k], 1, &a->items[k]) < 0) {
                rc = -1;
                goto out;
            }
            a->len = k + 1;
        }
        ret->u.a = a;
        goto out;
    }
    if (atomic_load_explicit(&df->mapped[i].f, memory_order_relaxed) == NULL) {
        if (data_map_lines(vm, df, f, &df->mapped[i]) < 0) {
            rc = -1;
            goto out;
        }
        atomic_store_explicit(&df->mapped[i].f, f, memory_order_release);
    }
    ret->u.a = &df->mapped[i].array;
out:
    pthread_mutex_unlock(&data_mapped_mu);
    return rc;
}

/* RegexpInFile(s, name): does any line's regex match s. */
static int
fn_regexp_in_file(struct expr_vm *vm, const struct expr_value *args, size_t nargs,
                  struct expr_value *ret)
{
    struct strv s, name;
    if (expr_helper_arg_strv(vm, "RegexpInFile", args, 0, &s) < 0 ||
        expr_helper_arg_strv(vm, "RegexpInFile", args, 1, &name) < 0)
        return -1;
    const struct data_file *df = data_find(EXPR_DATA_REGEXP, name.ptr, name.len);
    bool matched = false;
    bool *cand = NULL;
    if (df && df->filter) {
        cand = expr_vm_alloc(vm, df->nres * sizeof(*cand));
        if (!cand)
            return expr_vm_error(vm, "out of memory");
        litfilter_candidates(df->filter, s.ptr, s.len, cand);
    }
    for (size_t i = 0; df && !matched && i < df->nres; i++) {
        if (cand && !cand[i])
            continue; /* its required literal is not in s: it cannot match */
        int m = expr_regex_match(df->res[i], s.ptr, s.len);
        if (m < 0)
            return expr_vm_error(vm, "RegexpInFile: regex match limit exceeded");
        matched = m == 1;
    }
    *ret = expr_bool(matched);
    return 0;
}

/* FileMap(name): []map[string]string of the JSON lines (maps built in the vm arena). */
static int
fn_file_map(struct expr_vm *vm, const struct expr_value *args, size_t nargs, struct expr_value *ret)
{
    struct strv name;
    if (expr_helper_arg_strv(vm, "FileMap", args, 0, &name) < 0)
        return -1;
    const struct data_file *df = data_find(EXPR_DATA_MAP, name.ptr, name.len);
    size_t n = df ? df->nrows : 0;
    struct expr_array *a = expr_vm_array(vm, n);
    if (!a)
        return expr_vm_error(vm, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const struct data_row *r = &df->rows[i];
        struct expr_map *m = expr_vm_map(vm, r->n);
        if (!m)
            return expr_vm_error(vm, "out of memory");
        for (size_t k = 0; k < r->n; k++)
            if (expr_map_set(vm, m, r->keys[k], strlen(r->keys[k]),
                             expr_strv(r->values[k], strlen(r->values[k]))) < 0)
                return expr_vm_error(vm, "out of memory");
        if (expr_array_push(vm, a, (struct expr_value){ .kind = EXPR_MAP, .u.m = m }) < 0)
            return expr_vm_error(vm, "out of memory");
    }
    *ret = (struct expr_value){ .kind = EXPR_ARRAY, .u.a = a };
    return 0;
}

/*
 * LookupFile(s, name): the tag of the first matching row, "" if none. Equals
 * rows first (exact match), then contains rows with leftmost-first
 * Aho-Corasick semantics (the occurrence that starts earliest in s, ties to
 * the earlier row), then regex rows in file order.
 */
static int
fn_lookup_file(struct expr_vm *vm, const struct expr_value *args, size_t nargs,
               struct expr_value *ret)
{
    struct strv s, name;
    if (expr_helper_arg_strv(vm, "LookupFile", args, 0, &s) < 0 ||
        expr_helper_arg_strv(vm, "LookupFile", args, 1, &name) < 0)
        return -1;
    *ret = expr_strv("", 0);
    const struct data_file *df = data_find(EXPR_DATA_MAP, name.ptr, name.len);
    if (!df)
        return 0;
    void *eq = hashmap_get(df->equals, s.ptr, s.len);
    const struct data_row *row = eq ? &df->rows[(uintptr_t)eq - 1] : NULL;
    const struct data_row *first = NULL;
    size_t best = SIZE_MAX;
    for (size_t i = 0; !row && i < df->ncontains; i++) {
        const struct data_row *r = &df->rows[df->contains[i].row];
        size_t plen = strlen(r->pattern);
        /* Only an occurrence starting before the best one so far can win. */
        size_t limit = best == SIZE_MAX ? s.len : MIN(s.len, best + plen - 1);
        const char *at = memmem(s.ptr, limit, r->pattern, plen);
        if (at && (size_t)(at - s.ptr) < best) {
            best = (size_t)(at - s.ptr);
            first = r;
        }
    }
    if (!row)
        row = first;
    for (size_t i = 0; !row && i < df->nregexes; i++) {
        int m = expr_regex_match(df->regexes[i].re, s.ptr, s.len);
        if (m < 0)
            return expr_vm_error(vm, "LookupFile: regex match limit exceeded");
        if (m == 1)
            row = &df->rows[df->regexes[i].row];
    }
    if (row)
        *ret = expr_strv(row->tag, strlen(row->tag));
    return 0;
}

/* --- MatchKnownBot --- */

/*
 * Forward-confirmed reverse DNS, cached per address like CrowdSec's dnscache
 * (1 h for an answer, 5 min for none, at most DNS_CACHE_MAX addresses). The
 * cache is the one piece of state written at run time, hence the lock; the
 * lookups themselves run outside it.
 */
#define DNS_MAX_PTR      3
#define DNS_CACHE_MAX    16384
#define DNS_POSITIVE_TTL 3600
#define DNS_NEGATIVE_TTL 300
#define DNS_NAME_MAX     256

struct dns_entry {
    time_t expires;
    size_t n;
    char names[DNS_MAX_PTR][DNS_NAME_MAX];
};

static pthread_mutex_t dns_lock = PTHREAD_MUTEX_INITIALIZER;
static struct hashmap *dns_cache;

static void
dns_sockaddr(const struct ip_addr *ip, struct sockaddr_storage *ss, socklen_t *len)
{
    memset(ss, 0, sizeof(*ss));
    if (ip->family == IP_V4) {
        struct sockaddr_in *sin = (struct sockaddr_in *)ss;
        sin->sin_family = AF_INET;
        memcpy(&sin->sin_addr, ip->bytes + 12, 4);
        *len = sizeof(*sin);
    } else {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
        sin6->sin6_family = AF_INET6;
        memcpy(&sin6->sin6_addr, ip->bytes, 16);
        *len = sizeof(*sin6);
    }
}

/* Does host (a PTR name) resolve back to ip? */
static bool
dns_forward_confirms(const char *host, const struct ip_addr *ip)
{
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
    struct addrinfo *res = NULL, *ai;
    bool ok = false;

    if (getaddrinfo(host, NULL, &hints, &res) != 0)
        return false;
    for (ai = res; ai && !ok; ai = ai->ai_next) {
        struct ip_addr a;
        if (ai->ai_family == AF_INET) {
            const struct sockaddr_in *sin = (const struct sockaddr_in *)ai->ai_addr;
            static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
            memcpy(a.bytes, mapped, 12);
            memcpy(a.bytes + 12, &sin->sin_addr, 4);
            a.family = IP_V4;
        } else if (ai->ai_family == AF_INET6) {
            const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ai->ai_addr;
            static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
            memcpy(a.bytes, &sin6->sin6_addr, 16);
            a.family = memcmp(a.bytes, mapped, 12) == 0 ? IP_V4 : IP_V6;
        } else {
            continue;
        }
        ok = ip_cmp(&a, ip) == 0;
    }
    freeaddrinfo(res);
    return ok;
}

/* Lower-cases name and drops a trailing dot, as dnscache does. */
static void
dns_normalise(char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < n; i++)
        if (name[i] >= 'A' && name[i] <= 'Z')
            name[i] = (char)(name[i] - 'A' + 'a');
    if (n > 0 && name[n - 1] == '.')
        name[n - 1] = '\0';
}

/* Fills *ret with the forward-confirmed PTR names of ip (cached). */
static void
dns_fcrdns(const struct ip_addr *ip, struct dns_entry *ret)
{
    time_t now = time(NULL);
    struct dns_entry *cached;
    struct sockaddr_storage ss;
    socklen_t sslen;
    char host[NI_MAXHOST];

    pthread_mutex_lock(&dns_lock);
    cached = dns_cache ? hashmap_get(dns_cache, ip->bytes, sizeof(ip->bytes)) : NULL;
    if (cached && cached->expires > now) {
        *ret = *cached;
        pthread_mutex_unlock(&dns_lock);
        return;
    }
    pthread_mutex_unlock(&dns_lock);

    memset(ret, 0, sizeof(*ret));
    dns_sockaddr(ip, &ss, &sslen);
    /* getnameinfo gives one PTR name, which is what legitimate crawlers publish. */
    if (getnameinfo((struct sockaddr *)&ss, sslen, host, sizeof(host), NULL, 0, NI_NAMEREQD) == 0 &&
        strlen(host) < DNS_NAME_MAX) {
        dns_normalise(host);
        if (dns_forward_confirms(host, ip)) {
            memcpy(ret->names[0], host, strlen(host) + 1);
            ret->n = 1;
        }
    }
    ret->expires = now + (ret->n ? DNS_POSITIVE_TTL : DNS_NEGATIVE_TTL);

    pthread_mutex_lock(&dns_lock);
    if (!dns_cache)
        dns_cache = hashmap_new(free);
    if (dns_cache && hashmap_len(dns_cache) >= DNS_CACHE_MAX) {
        hashmap_free(dns_cache);
        dns_cache = hashmap_new(free);
    }
    struct dns_entry *copy = dns_cache ? malloc(sizeof(*copy)) : NULL;
    if (copy) {
        *copy = *ret;
        if (hashmap_put(dns_cache, ip->bytes, sizeof(ip->bytes), copy) < 0)
            free(copy);
    }
    pthread_mutex_unlock(&dns_lock);
}

/* "ip", "ip:port" or "[v6]:port", zone dropped (netip.ParseAddr, then net.SplitHostPort). */
static int
bot_parse_addr(const char *s, size_t len, struct ip_addr *ret)
{
    const char *pct;
    char buf[IP_STR_MAX];

    if (len == 0 || len >= sizeof(buf))
        return -EINVAL;
    memcpy(buf, s, len);
    buf[len] = '\0';
    if ((pct = strchr(buf, '%')) && strchr(buf, ':') && pct[1] && !strchr(pct, ']') &&
        ip_parse(buf, (size_t)(pct - buf), ret) == 0)
        return 0;
    if (!pct && ip_parse(buf, len, ret) == 0)
        return 0;
    /* SplitHostPort: "[host]:port" or "host:port" with exactly one colon. */
    const char *host = buf;
    size_t hlen;
    char *colon = strrchr(buf, ':');
    if (!colon)
        return -EINVAL;
    if (buf[0] == '[') {
        char *close = strchr(buf, ']');
        if (!close || close + 1 != colon)
            return -EINVAL;
        host = buf + 1;
        hlen = (size_t)(close - host);
    } else {
        if (memchr(buf, ':', (size_t)(colon - buf)))
            return -EINVAL; /* "too many colons in address" */
        hlen = (size_t)(colon - buf);
    }
    const char *zone = memchr(host, '%', hlen);
    if (zone && zone + 1 < host + hlen && memchr(host, ':', hlen))
        hlen = (size_t)(zone - host);
    return ip_parse(host, hlen, ret);
}

static bool
bot_any_regex(struct expr_regex *const *res, size_t n, const char *s, size_t len)
{
    for (size_t i = 0; i < n; i++)
        if (expr_regex_match(res[i], s, len) == 1)
            return true;
    return false;
}

/*
 * MatchKnownBot(ip, ua, path, files...): (UA && PATH) && (IP || RANGE ||
 * RDNS) over the "bots" files named. Exact IPs and ranges are checked over
 * every file first; the DNS lookups run once, only if still needed.
 */
/* The cheap preconditions of an entry: its User-Agent and path regexes. */
static bool
bot_preconditions(const struct data_bot *bot, struct strv ua, struct strv path)
{
    if (bot->ua && expr_regex_match(bot->ua, ua.ptr, ua.len) != 1)
        return false;
    return bot->npaths == 0 || bot_any_regex(bot->paths, bot->npaths, path.ptr, path.len);
}

/*
 * MatchKnownBot(ip, ua, path, files...): (UA && PATH) && (IP || RANGE ||
 * RDNS) over the "bots" files named. Exact IPs and ranges are checked over
 * every file first; the DNS lookups run once, only if an entry still needs
 * them, and a second pass then checks the rdns patterns.
 */
static int
fn_match_known_bot(struct expr_vm *vm, const struct expr_value *args, size_t nargs,
                   struct expr_value *ret)
{
    struct strv ip, ua, path;
    struct ip_addr addr;
    struct dns_entry names;
    bool need_rdns = false;

    *ret = expr_bool(false);
    if (expr_helper_arg_strv(vm, "MatchKnownBot", args, 0, &ip) < 0 ||
        expr_helper_arg_strv(vm, "MatchKnownBot", args, 1, &ua) < 0 ||
        expr_helper_arg_strv(vm, "MatchKnownBot", args, 2, &path) < 0)
        return -1;
    if (data_nbots == 0 || nargs <= 3 || bot_parse_addr(ip.ptr, ip.len, &addr) < 0)
        return 0;
    for (size_t f = 3; f < nargs; f++) {
        if (args[f].kind != EXPR_STRING)
            continue; /* CrowdSec skips non-string file names */
        const struct data_file *df = data_find(EXPR_DATA_BOTS, args[f].u.s.ptr, args[f].u.s.len);
        for (size_t b = 0; df && b < df->nbots; b++) {
            const struct data_bot *bot = &df->bots[b];
            if (!bot_preconditions(bot, ua, path))
                continue;
            for (size_t i = 0; i < bot->nips; i++)
                if (ip_cmp(&bot->ips[i], &addr) == 0)
                    goto found;
            for (size_t i = 0; i < bot->nranges; i++)
                if (ip_range_contains(&bot->ranges[i], &addr))
                    goto found;
            need_rdns = need_rdns || bot->nrdns > 0;
        }
    }
    if (!need_rdns)
        return 0;
    dns_fcrdns(&addr, &names);
    for (size_t n = 0; n < names.n; n++) {
        for (size_t f = 3; f < nargs; f++) {
            if (args[f].kind != EXPR_STRING)
                continue;
            const struct data_file *df =
                data_find(EXPR_DATA_BOTS, args[f].u.s.ptr, args[f].u.s.len);
            for (size_t b = 0; df && b < df->nbots; b++) {
                const struct data_bot *bot = &df->bots[b];
                if (bot->nrdns > 0 && bot_preconditions(bot, ua, path) &&
                    bot_any_regex(bot->rdns, bot->nrdns, names.names[n], strlen(names.names[n])))
                    goto found;
            }
        }
    }
    return 0;
found:
    *ret = expr_bool(true);
    return 0;
}

const struct expr_func expr_helpers_data[] = {
    { "File", 1, 1, EXPR_T(EXPR_ARRAY), fn_file },
    { "RegexpInFile", 2, 2, EXPR_T(EXPR_BOOL), fn_regexp_in_file },
    { "FileMap", 1, 1, EXPR_T(EXPR_ARRAY), fn_file_map },
    { "LookupFile", 2, 2, EXPR_T(EXPR_STRING), fn_lookup_file },
    { "MatchKnownBot", 3, -1, EXPR_T(EXPR_BOOL), fn_match_known_bot },
};
const size_t expr_helpers_data_count = ARRAY_SIZE(expr_helpers_data);

/*
 * grok.c - grok libraries, grokky-compatible expansion, PCRE2 matching.
 *
 * Expansion follows crowdsecurity/grokky (grok.go) step for step, because hub
 * tests depend on its exact captures, quirks included:
 *   - %{NAME} and %{NAME:field} (regex %\{(\w+)(:(\w+))?}) are replaced by
 *     "(" + the expansion of NAME + ")", a capturing group;
 *   - the group number of each field is computed the way grokky computes it:
 *     the literal text between references is counted with grokky's textual
 *     capCount() (which miscounts some texts, e.g. "s)"), the references with
 *     their real number of groups; the field then reads that group number;
 *   - a field named at this level shadows any nested field of the same name;
 *     between two references exposing the same nested name the later wins;
 *   - Add() expands and compiles the new definition at once, so a reference
 *     must name an earlier definition and a bad regex is refused when added.
 * Because every definition is checked when added, each library entry keeps
 * its finished expansion (text, group count, fields): a reference is then a
 * lookup, there is no recursion, and no reference loop can ever exist (a
 * name cannot refer to itself or to anything defined after it).
 *
 * The Go regex text is then translated to PCRE2 syntax (translate.c; group
 * numbers are kept) and compiled with UTF, DOLLAR_ENDONLY, no UCP (ASCII \d
 * \w \b like RE2) and JIT. A subject that is not valid UTF-8 is matched the
 * way Go does it, each bad byte standing for one U+FFFD, through a rewritten
 * copy whose offsets are mapped back, so captures stay slices of the input.
 */
#include <dirent.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/stat.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "common/hashmap.h"
#include "grok/grok.h"
#include "grok/translate.h"

#define GROK_COMPILE_FLAGS                                                                         \
    (PCRE2_UTF | PCRE2_MATCH_INVALID_UTF | PCRE2_DOLLAR_ENDONLY | PCRE2_NEVER_BACKSLASH_C |        \
     PCRE2_NEVER_UCP)
/* Bounds on what one definition or inline pattern may expand to. */
#define GROK_MAX_REGEX  (1u << 20)
#define GROK_MAX_FIELDS 1024
/* Go's bufio.Scanner refuses longer lines in pattern files. */
#define GROK_MAX_FILE_LINE ((size_t)64 * 1024)
/* Go's regexp refuses deeper nesting (regexp/syntax maxHeight). */
#define GROK_PARENS_NEST   1000
#define GROK_HEAP_LIMIT_KB (64u * 1024)
#define GROK_JIT_STACK_MAX (1u << 20)
#define GROK_MAX_WRAP      32

struct grok_field {
    char *name;
    int group;
};

struct grok_fields {
    struct grok_field *v;
    size_t n, cap;
};

/* One definition with its finished expansion. */
struct grok_entry {
    char *regex;    /* as written */
    char *expanded; /* Go syntax, references inlined */
    int ncap;       /* capturing groups in expanded */
    struct grok_fields fields;
};

struct grok_library {
    struct hashmap *entries;
};

/* A compiled regex; a pattern too big for PCRE2 is several, one per top-level alternative. */
struct grok_branch {
    pcre2_code *code;
    bool jit;
    /* plain text every match contains (grok_required_literal): absent, the regex is not run */
    char lit[GROK_LITERAL_MAX];
    size_t litlen;
    int first_group; /* pattern-wide number of this branch's group 1, minus one */
    int ncap;
    int nwhole; /* enclosing groups that capture exactly this branch's match */
    int whole[GROK_MAX_WRAP];
};

struct grok_pattern {
    struct grok_branch *br;
    size_t nbr;
    int ncap;
    char *expanded;
    size_t nfields;
    char **names; /* sorted */
    int *groups;
};

static _Atomic uint32_t limit_match = 1000000;
static _Atomic uint32_t limit_depth = 10000;

static void set_error(struct grok_error *err, const char *fmt, ...) PRINTF_LIKE(2, 3);

static void
set_error(struct grok_error *err, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL)
        return;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
}

static void
fields_clear(struct grok_fields *fs)
{
    for (size_t i = 0; i < fs->n; i++)
        free(fs->v[i].name);
    free(fs->v);
    *fs = (struct grok_fields){ 0 };
}

/* msi[name] = group, as a Go map assignment (overwrites). */
static int
fields_set(struct grok_fields *fs, const char *name, size_t len, int group)
{
    for (size_t i = 0; i < fs->n; i++) {
        if (strlen(fs->v[i].name) == len && memcmp(fs->v[i].name, name, len) == 0) {
            fs->v[i].group = group;
            return 0;
        }
    }
    if (fs->n == GROK_MAX_FIELDS)
        return -E2BIG;
    if (fs->n == fs->cap) {
        size_t cap = fs->cap ? fs->cap * 2 : 8;
        struct grok_field *v = realloc(fs->v, cap * sizeof(*v));
        if (v == NULL)
            return -ENOMEM;
        fs->v = v;
        fs->cap = cap;
    }
    char *copy = strndup(name, len);
    if (copy == NULL)
        return -ENOMEM;
    fs->v[fs->n++] = (struct grok_field){ .name = copy, .group = group };
    return 0;
}

static void
entry_free(void *p)
{
    struct grok_entry *e = p;

    if (e == NULL)
        return;
    free(e->regex);
    free(e->expanded);
    fields_clear(&e->fields);
    free(e);
}

struct grok_library *
grok_library_new(void)
{
    struct grok_library *lib = calloc(1, sizeof(*lib));

    if (lib == NULL)
        return NULL;
    lib->entries = hashmap_new(entry_free);
    if (lib->entries == NULL) {
        free(lib);
        return NULL;
    }
    return lib;
}

void
grok_library_free(struct grok_library *lib)
{
    if (lib == NULL)
        return;
    hashmap_free(lib->entries);
    free(lib);
}

const char *
grok_library_get(const struct grok_library *lib, const char *name)
{
    const struct grok_entry *e = hashmap_get(lib->entries, name, strlen(name));

    return e ? e->regex : NULL;
}

static bool
is_word(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

/* One match of grokky's %\{(\w+)(:(\w+))?} */
struct grok_ref {
    size_t start, end;
    struct strv name, sem; /* sem.len == 0: no field */
};

/* Finds the next reference at or after from, leftmost-first like Go's FindAll. */
static bool
next_ref(const char *s, size_t len, size_t from, struct grok_ref *ret)
{
    for (size_t i = from; i + 1 < len; i++) {
        if (s[i] != '%' || s[i + 1] != '{')
            continue;
        size_t j = i + 2, n0 = j;
        while (j < len && is_word(s[j]))
            j++;
        if (j == n0 || j >= len)
            continue;
        struct grok_ref r = { .start = i, .name = { s + n0, j - n0 } };
        if (s[j] == ':') {
            size_t k = j + 1, s0 = k;
            while (k < len && is_word(s[k]))
                k++;
            if (k > s0 && k < len && s[k] == '}') {
                r.sem = (struct strv){ s + s0, k - s0 };
                r.end = k + 1;
                *ret = r;
                return true;
            }
            /* the optional group fails; then '}' must follow the name, and ':' is not '}' */
            continue;
        }
        if (s[j] != '}')
            continue;
        r.end = j + 1;
        *ret = r;
        return true;
    }
    return false;
}

/* Counts non-overlapping matches of \(\?[imsU\-]*\: (with_q) or \(?[imsU\-]+\) (!with_q). */
static int
count_flag_groups(const char *s, size_t len, bool with_q)
{
    int n = 0;

    for (size_t i = 0; i < len;) {
        size_t j = i;
        if (with_q) {
            if (s[j] != '(' || j + 1 >= len || s[j + 1] != '?') {
                i++;
                continue;
            }
            j += 2;
        } else if (s[j] == '(') {
            j++;
        }
        size_t k = j;
        while (k < len && strchr("imsU-", s[k]) != NULL && s[k] != '\0')
            k++;
        char want = with_q ? ':' : ')';
        if ((with_q || k > j) && k < len && s[k] == want) {
            n++;
            i = k + 1;
        } else {
            i++;
        }
    }
    return n;
}

static int
count_sub(const char *s, size_t len, const char *needle, size_t nlen)
{
    int n = 0;

    for (size_t i = 0; i + nlen <= len;) {
        if (memcmp(s + i, needle, nlen) == 0) {
            n++;
            i += nlen;
        } else {
            i++;
        }
    }
    return n;
}

/* grokky's capCount(): a textual estimate of the capturing groups in s, kept with its quirks. */
static int
grokky_cap_count(const char *s, size_t len)
{
    return count_sub(s, len, "(", 1) - count_flag_groups(s, len, true) -
           count_flag_groups(s, len, false) - count_sub(s, len, "\\(", 2);
}

/*
 * grokky's compileExternal(): expands expr against lib into out (Go syntax)
 * and computes its field table. The group count is left to the caller (it
 * comes from the translation). 0, -EINVAL or -ENOMEM with err.
 */
static int
expand(const struct grok_library *lib, const char *expr, size_t len, struct str *out,
       struct grok_fields *fields, struct grok_error *err)
{
    struct grok_ref r;
    size_t pos = 0;
    int order = 1, rc;

    /* every reference must exist before anything is built, as in grokky */
    for (size_t from = 0; next_ref(expr, len, from, &r); from = r.end) {
        if (hashmap_get(lib->entries, r.name.ptr, r.name.len) == NULL) {
            set_error(err, "the '%.*s' pattern doesn't exist", (int)r.name.len, r.name.ptr);
            return -EINVAL;
        }
    }
    while (next_ref(expr, len, pos, &r)) {
        const struct grok_entry *sub = hashmap_get(lib->entries, r.name.ptr, r.name.len);
        const char *part = expr + pos;
        size_t partlen = r.start - pos;

        order += grokky_cap_count(part, partlen);
        if (str_append(out, part, partlen) < 0 || str_append_char(out, '(') < 0 ||
            str_append_cstr(out, sub->expanded) < 0 || str_append_char(out, ')') < 0)
            goto oom;
        if (out->len > GROK_MAX_REGEX) {
            set_error(err, "expanded pattern longer than %u bytes", GROK_MAX_REGEX);
            return -EINVAL;
        }
        if (r.sem.len > 0 && (rc = fields_set(fields, r.sem.ptr, r.sem.len, order)) < 0)
            goto fields_err;
        for (size_t k = 0; k < sub->fields.n; k++) {
            const char *name = sub->fields.v[k].name;
            bool shadowed = false;
            /* ts: every field named at this level, wherever it appears in expr */
            struct grok_ref t;
            for (size_t from = 0; !shadowed && next_ref(expr, len, from, &t); from = t.end)
                shadowed = t.sem.len > 0 && strv_eq_cstr(t.sem, name);
            if (!shadowed &&
                (rc = fields_set(fields, name, strlen(name), order + sub->fields.v[k].group)) < 0)
                goto fields_err;
        }
        order += sub->ncap + 1;
        pos = r.end;
    }
    if (str_append(out, expr + pos, len - pos) < 0)
        goto oom;
    return 0;
fields_err:
    if (rc == -E2BIG) {
        set_error(err, "more than %u fields", GROK_MAX_FIELDS);
        return -EINVAL;
    }
oom:
    set_error(err, "out of memory");
    return -ENOMEM;
}

/* Translates the Go regex text to PCRE2 syntax into out; 0, -EINVAL or -ENOMEM with err. */
static int
translate(const char *go, size_t len, struct str *out, int *ret_ncap, struct grok_error *err)
{
    char msg[200];
    int rc;

    msg[0] = '\0';
    rc = grok_translate(go, len, out, ret_ncap, msg, sizeof(msg));
    if (rc < 0)
        set_error(err, "%s", rc == -ENOMEM ? "out of memory" : msg);
    else if (out->buf == NULL && str_append(out, "", 0) < 0)
        rc = -ENOMEM;
    return rc;
}

/*
 * Compiles PCRE2 text; NULL with err and *ret_code set to PCRE2's error code
 * (0 when out of memory). *ret_ncap receives the number of capturing groups.
 */
static pcre2_code *
compile_pcre(const char *text, size_t len, int *ret_ncap, int *ret_code, struct grok_error *err)
{
    pcre2_compile_context *cctx = pcre2_compile_context_create(NULL);
    pcre2_code *code = NULL;
    int errcode = 0;
    PCRE2_SIZE erroff = 0;
    uint32_t count = 0;

    *ret_code = 0;
    if (cctx == NULL) {
        set_error(err, "out of memory");
        return NULL;
    }
    pcre2_set_newline(cctx, PCRE2_NEWLINE_LF);
    pcre2_set_bsr(cctx, PCRE2_BSR_UNICODE);
    pcre2_set_parens_nest_limit(cctx, GROK_PARENS_NEST);
    code = pcre2_compile((PCRE2_SPTR)text, len, GROK_COMPILE_FLAGS, &errcode, &erroff, cctx);
    pcre2_compile_context_free(cctx);
    if (code == NULL) {
        PCRE2_UCHAR msg[160];
        pcre2_get_error_message(errcode, msg, sizeof(msg));
        set_error(err, "error parsing regexp: %s at offset %zu", (const char *)msg, (size_t)erroff);
        *ret_code = errcode;
        return NULL;
    }
    if (pcre2_pattern_info(code, PCRE2_INFO_CAPTURECOUNT, &count) != 0 || count > INT_MAX) {
        set_error(err, "internal error: no group count");
        pcre2_code_free(code);
        return NULL;
    }
    *ret_ncap = (int)count;
    return code;
}

static int
valid_name(const char *name)
{
    if (name == NULL || *name == '\0')
        return -EINVAL;
    for (const char *p = name; *p; p++)
        if (!is_word(*p))
            return -EINVAL;
    return 0;
}

/* grokky's Host.Add: refuses duplicates, then expands and compiles the definition. */
static int
library_add(struct grok_library *lib, const char *name, const char *regex, struct grok_error *err)
{
    struct grok_entry *e = NULL;
    struct str out = STR_INIT, pcre = STR_INIT;
    pcre2_code *code;
    int rc, ncap = 0, pcre_err = 0;

    if (valid_name(name) < 0) {
        set_error(err, "an empty or invalid name");
        return -EINVAL;
    }
    if (regex == NULL || *regex == '\0') {
        set_error(err, "an empty expression");
        return -EINVAL;
    }
    if (hashmap_get(lib->entries, name, strlen(name)) != NULL) {
        set_error(err, "the pattern already exist");
        return -EEXIST;
    }
    e = calloc(1, sizeof(*e));
    if (e == NULL || (e->regex = strdup(regex)) == NULL)
        goto oom;
    rc = expand(lib, regex, strlen(regex), &out, &e->fields, err);
    if (rc < 0)
        goto fail;
    rc = translate(out.buf ? out.buf : "", out.len, &pcre, &e->ncap, err);
    if (rc < 0)
        goto fail;
    code = compile_pcre(pcre.buf, pcre.len, &ncap, &pcre_err, err);
    /*
     * RE2 takes regexes bigger than PCRE2's compiled-size limit (hub's
     * SSHD_LOG); such a definition is kept, and grok_compile() splits it
     * into its top-level alternatives when it is used.
     */
    if (code == NULL && pcre_err != PCRE2_ERROR_PATTERN_TOO_LARGE) {
        rc = pcre_err == 0 ? -ENOMEM : -EINVAL;
        goto fail;
    }
    pcre2_code_free(code);
    str_free(&pcre);
    e->expanded = str_steal(&out);
    if (e->expanded == NULL)
        goto oom;
    rc = hashmap_put(lib->entries, name, strlen(name), e);
    if (rc < 0) {
        entry_free(e);
        set_error(err, "out of memory");
    }
    return rc;
oom:
    set_error(err, "out of memory");
    rc = -ENOMEM;
fail:
    str_free(&out);
    str_free(&pcre);
    entry_free(e);
    return rc;
}

int
grok_library_add(struct grok_library *lib, const char *name, const char *regex)
{
    struct grok_error err;

    return library_add(lib, name, regex, &err);
}

/*
 * One line of a pattern file, as grokky's ^(\w+)\s+(.+)$: a word, a run of
 * RE2 spaces, then the rest (at least one character, which may be the last
 * space of the run). Other lines are ignored. 1 with name/regex, else 0.
 */
static int
parse_line(char *line, size_t len, char **ret_name, char **ret_regex)
{
    size_t i = 0, ws;

    while (i < len && is_word(line[i]))
        i++;
    if (i == 0)
        return 0;
    ws = i;
    while (ws < len && strchr("\t\n\f\r ", line[ws]) != NULL && line[ws] != '\0')
        ws++;
    if (ws == i)
        return 0;
    if (ws == len) {
        /* \s+ gives back its last space to .+ */
        if (ws - i < 2)
            return 0;
        ws--;
    }
    line[i] = '\0';
    *ret_name = line;
    *ret_regex = line + ws;
    return 1;
}

int
grok_library_load_file(struct grok_library *lib, const char *path, struct grok_error *err)
{
    FILE *f;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int lineno = 0, rc = 0;

    if (err != NULL) {
        snprintf(err->file, sizeof(err->file), "%s", path);
        err->line = 0;
        err->message[0] = '\0';
    }
    f = fopen(path, "r");
    if (f == NULL) {
        set_error(err, "open: %s", strerror(errno));
        return -1;
    }
    while ((n = getline(&line, &cap, f)) >= 0) {
        size_t len = (size_t)n;
        char *name, *regex;
        lineno++;
        /* bufio.ScanLines drops the newline and one carriage return before it */
        if (len > 0 && line[len - 1] == '\n')
            len--;
        if (len > 0 && line[len - 1] == '\r')
            len--;
        line[len] = '\0';
        if (err != NULL)
            err->line = lineno;
        if (len > GROK_MAX_FILE_LINE) {
            set_error(err, "bufio.Scanner: token too long");
            rc = -1;
            break;
        }
        if (memchr(line, '\0', len) != NULL) {
            set_error(err, "NUL byte in pattern file");
            rc = -1;
            break;
        }
        if (parse_line(line, len, &name, &regex) == 0)
            continue;
        if (library_add(lib, name, regex, err) < 0) {
            rc = -1;
            break;
        }
    }
    if (rc == 0 && ferror(f)) {
        set_error(err, "read: %s", strerror(errno));
        rc = -1;
    }
    if (rc == 0 && err != NULL)
        err->line = 0;
    free(line);
    fclose(f);
    return rc;
}

static int
skip_dotted(const struct dirent *d)
{
    return strchr(d->d_name, '.') == NULL;
}

/* Go's os.ReadDir order: bytewise by name. */
static int
by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

int
grok_library_load_dir(struct grok_library *lib, const char *dir, struct grok_error *err)
{
    struct dirent **names = NULL;
    int n, rc = 0;

    if (err != NULL) {
        snprintf(err->file, sizeof(err->file), "%s", dir);
        err->line = 0;
    }
    n = scandir(dir, &names, skip_dotted, by_name);
    if (n < 0) {
        set_error(err, "scandir: %s", strerror(errno));
        return -1;
    }
    for (int i = 0; i < n; i++) {
        char path[4096];
        struct stat st;
        if (rc == 0) {
            if (snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name) >= (int)sizeof(path)) {
                set_error(err, "path too long");
                rc = -1;
            } else if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
                /* CrowdSec skips directories */
            } else if (grok_library_load_file(lib, path, err) < 0) {
                rc = -1;
            }
        }
        free(names[i]);
    }
    free(names);
    return rc;
}

static int
cmp_field(const void *a, const void *b)
{
    return strcmp(((const struct grok_field *)a)->name, ((const struct grok_field *)b)->name);
}

void
grok_pattern_free(struct grok_pattern *p)
{
    if (p == NULL)
        return;
    for (size_t i = 0; i < p->nbr; i++)
        pcre2_code_free(p->br[i].code);
    free(p->br);
    for (size_t i = 0; i < p->nfields; i++)
        free(p->names[i]);
    free(p->names);
    free(p->groups);
    free(p->expanded);
    free(p);
}

#define GROK_MAX_BRANCHES 256

struct split_state {
    struct grok_pattern *p;
    int next_group; /* pattern-wide number of the last group seen */
    struct grok_error *err;
};

/*
 * Compiles text[a..b) as one branch or, when PCRE2 finds it too large,
 * splits it: a top-level alternation into its alternatives, a group
 * spanning the whole range into its inside (a capturing one is then
 * recorded as capturing the whole match of every branch inside).
 */
static int
split_compile(struct split_state *st, const char *text, size_t a, size_t b, const int *whole,
              int nwhole, int depth)
{
    struct grok_pattern *p = st->p;
    size_t bars[GROK_MAX_BRANCHES];
    int code_err = 0, ncap = 0, nbars, kind;
    pcre2_code *code;

    if (depth > GROK_MAX_WRAP || p->nbr >= GROK_MAX_BRANCHES) {
        set_error(st->err, "error parsing regexp: regular expression is too large");
        return -1;
    }
    code = compile_pcre(text + a, b - a, &ncap, &code_err, st->err);
    if (code != NULL) {
        struct grok_branch *br = &p->br[p->nbr++];
        *br = (struct grok_branch){ .code = code, .first_group = st->next_group, .ncap = ncap };
        br->litlen = grok_required_literal(text + a, b - a, br->lit, sizeof(br->lit));
        /* A character or two is what PCRE2's own start-up optimisations look for anyway. */
        if (br->litlen < 3)
            br->litlen = 0;
        br->nwhole = nwhole;
        if (nwhole > 0)
            memcpy(br->whole, whole, (size_t)nwhole * sizeof(*whole));
        st->next_group += ncap;
        return 0;
    }
    if (code_err != PCRE2_ERROR_PATTERN_TOO_LARGE)
        return -1;
    nbars = grok_split_alternatives(text + a, b - a, bars, ARRAY_SIZE(bars));
    if (nbars > 0) {
        for (int k = 0; k <= nbars; k++) {
            size_t x = k == 0 ? a : a + bars[k - 1] + 1, y = k == nbars ? b : a + bars[k];
            if (split_compile(st, text, x, y, whole, nwhole, depth + 1) < 0)
                return -1;
        }
        return 0;
    }
    kind = grok_whole_group(text + a, b - a);
    if (kind == 0 || nwhole >= GROK_MAX_WRAP)
        return -1; /* err still says "too large" */
    int inner[GROK_MAX_WRAP];
    if (nwhole > 0)
        memcpy(inner, whole, (size_t)nwhole * sizeof(*whole));
    if (kind == 1) {
        inner[nwhole++] = ++st->next_group;
        return split_compile(st, text, a + 1, b - 1, inner, nwhole, depth + 1);
    }
    return split_compile(st, text, a + 3, b - 1, inner, nwhole, depth + 1);
}

/*
 * Compiles the expanded Go regex into p->br: one PCRE2 regex, or, when that
 * is beyond PCRE2's compiled-size limit (RE2 has none so low), one per
 * alternative. Matching the alternatives one by one and keeping the
 * leftmost match (the earliest branch on a tie) is exactly what
 * leftmost-first matching of A|B|C does. 0 or -1 with err.
 */
static int
compile_branches(struct grok_pattern *p, const char *go, size_t len, struct grok_error *err)
{
    struct str pcre = STR_INIT;
    struct split_state st = { .p = p, .err = err };
    int rc = -1;

    if (translate(go, len, &pcre, &p->ncap, err) < 0)
        goto out;
    p->br = calloc(GROK_MAX_BRANCHES, sizeof(*p->br));
    if (p->br == NULL) {
        set_error(err, "out of memory");
        goto out;
    }
    if (split_compile(&st, pcre.buf, 0, pcre.len, NULL, 0, 0) < 0)
        goto out;
    /* the field table relies on Go's group numbers; PCRE2 must see the same groups */
    if (st.next_group != p->ncap) {
        set_error(err, "internal error: group count mismatch (%d vs %d)", st.next_group, p->ncap);
        goto out;
    }
    for (size_t k = 0; k < p->nbr; k++)
        p->br[k].jit = pcre2_jit_compile(p->br[k].code, PCRE2_JIT_COMPLETE) == 0;
    rc = 0;
out:
    str_free(&pcre);
    return rc;
}

struct grok_pattern *
grok_compile(const struct grok_library *lib, const char *pattern, struct grok_error *err)
{
    struct grok_fields fields = { 0 };
    struct str out = STR_INIT;
    struct grok_pattern *p = NULL;

    if (err != NULL) {
        err->file[0] = '\0';
        err->line = 0;
    }
    if (pattern == NULL || *pattern == '\0') {
        set_error(err, "an empty expression");
        return NULL;
    }
    p = calloc(1, sizeof(*p));
    if (p == NULL) {
        set_error(err, "out of memory");
        return NULL;
    }
    if (expand(lib, pattern, strlen(pattern), &out, &fields, err) < 0)
        goto fail;
    if (compile_branches(p, out.buf ? out.buf : "", out.len, err) < 0)
        goto fail;
    /* where Go would index out of its submatch slice (and panic), refuse the pattern */
    for (size_t i = 0; i < fields.n; i++) {
        if (fields.v[i].group < 0 || fields.v[i].group > p->ncap) {
            set_error(err, "field '%s' refers to group %d of %d", fields.v[i].name,
                      fields.v[i].group, p->ncap);
            goto fail;
        }
    }
    if (fields.n > 0) {
        qsort(fields.v, fields.n, sizeof(*fields.v), cmp_field);
        p->names = calloc(fields.n, sizeof(*p->names));
        p->groups = calloc(fields.n, sizeof(*p->groups));
        if (p->names == NULL || p->groups == NULL) {
            set_error(err, "out of memory");
            goto fail;
        }
        for (size_t i = 0; i < fields.n; i++) {
            p->names[i] = fields.v[i].name;
            p->groups[i] = fields.v[i].group;
            fields.v[i].name = NULL;
        }
    }
    p->nfields = fields.n;
    fields.n = 0;
    p->expanded = str_steal(&out);
    if (p->expanded == NULL) {
        set_error(err, "out of memory");
        goto fail;
    }
    fields_clear(&fields);
    return p;
fail:
    fields_clear(&fields);
    str_free(&out);
    grok_pattern_free(p);
    return NULL;
}

size_t
grok_field_count(const struct grok_pattern *p)
{
    return p->nfields;
}

const char *
grok_field_name(const struct grok_pattern *p, size_t i)
{
    return i < p->nfields ? p->names[i] : NULL;
}

const char *
grok_pattern_regex(const struct grok_pattern *p)
{
    return p->expanded;
}

void
grok_set_limits(uint32_t match_limit, uint32_t depth_limit)
{
    atomic_store(&limit_match, match_limit);
    atomic_store(&limit_depth, depth_limit);
}

/* Per-thread match state, released by a thread-exit destructor. */
struct grok_tls {
    pcre2_match_data *md;
    uint32_t md_pairs;
    pcre2_match_context *mctx;
    pcre2_jit_stack *jit_stack;
    uint32_t match_limit, depth_limit;
    char *fixed;   /* a subject with invalid UTF-8 rewritten */
    uint32_t *map; /* offset in fixed -> offset in the subject */
    size_t fixed_cap;
};

static pthread_key_t tls_key;
static pthread_once_t tls_once = PTHREAD_ONCE_INIT;
static bool tls_key_ok;
static _Thread_local struct grok_tls *tls_state;

static void
tls_free(void *p)
{
    struct grok_tls *t = p;

    if (t == NULL)
        return;
    pcre2_match_data_free(t->md);
    pcre2_match_context_free(t->mctx);
    pcre2_jit_stack_free(t->jit_stack);
    free(t->fixed);
    free(t->map);
    free(t);
}

static void
tls_init_key(void)
{
    tls_key_ok = pthread_key_create(&tls_key, tls_free) == 0;
}

static struct grok_tls *
tls_get(void)
{
    struct grok_tls *t = tls_state;

    if (t != NULL)
        return t;
    pthread_once(&tls_once, tls_init_key);
    if (!tls_key_ok)
        return NULL;
    t = calloc(1, sizeof(*t));
    if (t == NULL)
        return NULL;
    t->mctx = pcre2_match_context_create(NULL);
    t->jit_stack = pcre2_jit_stack_create((size_t)32 * 1024, GROK_JIT_STACK_MAX, NULL);
    if (t->mctx == NULL || pthread_setspecific(tls_key, t) != 0) {
        tls_free(t);
        return NULL;
    }
    if (t->jit_stack != NULL)
        pcre2_jit_stack_assign(t->mctx, NULL, t->jit_stack);
    pcre2_set_heap_limit(t->mctx, GROK_HEAP_LIMIT_KB);
    tls_state = t;
    return t;
}

/* Length of the valid UTF-8 sequence at s (Go's utf8.DecodeRune acceptance), 0 if invalid. */
static size_t
utf8_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0], lo = 0x80, hi = 0xBF;
    size_t need;

    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        need = 2;
    else if (c >= 0xE0 && c <= 0xEF)
        need = 3;
    else if (c >= 0xF0 && c <= 0xF4)
        need = 4;
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
    if (n < need || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t k = 2; k < need; k++)
        if (s[k] < 0x80 || s[k] > 0xBF)
            return 0;
    return need;
}

/* Offset of the first byte of subject that is not valid UTF-8, or len. */
static size_t
first_invalid(const unsigned char *s, size_t len)
{
    size_t i = 0;

    while (i < len) {
        /* Log lines are mostly ASCII: skip 8 bytes at a time while no high bit is set. */
        if (len - i >= 8) {
            uint64_t w;
            memcpy(&w, s + i, 8);
            if ((w & 0x8080808080808080u) == 0) {
                i += 8;
                continue;
            }
        }
        if (s[i] < 0x80) {
            i++;
            continue;
        }
        size_t k = utf8_len(s + i, len - i);
        if (k == 0)
            return i;
        i += k;
    }
    return len;
}

/* Copies subject into t->fixed with every invalid byte replaced by U+FFFD; fills t->map. */
static int
rewrite_invalid(struct grok_tls *t, const unsigned char *s, size_t len, size_t *ret_len)
{
    size_t need = len * 3 + 1, o = 0;

    if (len > UINT32_MAX / 4)
        return -E2BIG;
    if (t->fixed_cap < need) {
        char *f = realloc(t->fixed, need);
        if (f == NULL)
            return -ENOMEM;
        t->fixed = f;
        uint32_t *m = realloc(t->map, need * sizeof(*m));
        if (m == NULL)
            return -ENOMEM;
        t->map = m;
        t->fixed_cap = need;
    }
    for (size_t i = 0; i < len;) {
        size_t k = utf8_len(s + i, len - i);
        if (k == 0) {
            memcpy(t->fixed + o, "\xEF\xBF\xBD", 3);
            for (size_t b = 0; b < 3; b++)
                t->map[o + b] = (uint32_t)i;
            o += 3;
            i++;
        } else {
            memcpy(t->fixed + o, s + i, k);
            for (size_t b = 0; b < k; b++)
                t->map[o + b] = (uint32_t)i;
            o += k;
            i += k;
        }
    }
    t->map[o] = (uint32_t)len;
    *ret_len = o;
    return 0;
}

/*
 * Whether lit (litlen >= 1) occurs in s: memchr to each candidate first byte, then a compare.
 * Subjects are log fields of a few dozen bytes, where glibc's memmem spends more time setting
 * up its two-way search than searching.
 */
static bool
contains_literal(const unsigned char *s, size_t len, const char *lit, size_t litlen)
{
    const unsigned char *p = s, *end = s + len;

    while ((size_t)(end - p) >= litlen) {
        p = memchr(p, (unsigned char)lit[0], (size_t)(end - p) - litlen + 1);
        if (p == NULL)
            return false;
        if (memcmp(p + 1, lit + 1, litlen - 1) == 0)
            return true;
        p++;
    }
    return false;
}

static int
run_branch(const struct grok_branch *br, const unsigned char *s, size_t len, struct grok_tls *t)
{
    /*
     * Most patterns of a parser node fail on most lines (sshd tries ten in a row): a literal
     * the pattern requires, missing from the subject, rejects it faster than the regex. The
     * literal is ASCII, so it is in the rewritten copy of a bad-UTF-8 subject exactly when it
     * is in the subject.
     */
    if (br->litlen > 0 && !contains_literal(s, len, br->lit, br->litlen))
        return PCRE2_ERROR_NOMATCH;
    if (br->jit)
        return pcre2_jit_match(br->code, s, len, 0, 0, t->md, t->mctx);
    return pcre2_match(br->code, s, len, 0, 0, t->md, t->mctx);
}

enum grok_result
grok_match(const struct grok_pattern *p, const char *subject, size_t len, struct strv *ret_values)
{
    struct grok_tls *t = tls_get();
    const unsigned char *s = (const unsigned char *)subject;
    size_t slen = len;
    bool rewritten = false;
    int rc;

    if (t == NULL)
        return GROK_ERROR;
    if (t->md == NULL || t->md_pairs < (uint32_t)p->ncap + 1) {
        pcre2_match_data_free(t->md);
        t->md_pairs = MAX((uint32_t)p->ncap + 1, 64u);
        t->md = pcre2_match_data_create(t->md_pairs, NULL);
        if (t->md == NULL) {
            t->md_pairs = 0;
            return GROK_ERROR;
        }
    }
    uint32_t ml = atomic_load(&limit_match), dl = atomic_load(&limit_depth);
    if (ml != t->match_limit || dl != t->depth_limit) {
        pcre2_set_match_limit(t->mctx, ml);
        pcre2_set_depth_limit(t->mctx, dl);
        t->match_limit = ml;
        t->depth_limit = dl;
    }
    if (subject == NULL)
        s = (const unsigned char *)"";
    if (first_invalid(s, len) < len) {
        rc = rewrite_invalid(t, s, len, &slen);
        if (rc < 0)
            return rc == -E2BIG ? GROK_LIMIT : GROK_ERROR;
        s = (const unsigned char *)t->fixed;
        rewritten = true;
    }
    int best = -1;
    PCRE2_SIZE best_start = 0;
    for (size_t k = 0; k < p->nbr; k++) {
        rc = run_branch(&p->br[k], s, slen, t);
        if (rc == PCRE2_ERROR_NOMATCH)
            continue;
        if (rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT ||
            rc == PCRE2_ERROR_HEAPLIMIT || rc == PCRE2_ERROR_JIT_STACKLIMIT)
            return GROK_LIMIT;
        if (rc <= 0)
            return GROK_ERROR;
        PCRE2_SIZE start = pcre2_get_ovector_pointer(t->md)[0];
        if (best < 0 || start < best_start) {
            best = (int)k;
            best_start = start;
        }
        if (start == 0 || p->nbr == 1)
            break;
    }
    if (best < 0 || p->nfields == 0)
        return GROK_NO_MATCH;
    const struct grok_branch *br = &p->br[best];
    /* with several branches the last one run may not be the best: run the best again */
    if (p->nbr > 1 && (size_t)best != p->nbr - 1 && (rc = run_branch(br, s, slen, t)) <= 0)
        return GROK_ERROR;
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(t->md);
    for (size_t i = 0; i < p->nfields; i++) {
        int g = p->groups[i] == 0 ? 0 : p->groups[i] - br->first_group;
        PCRE2_SIZE a, b;
        for (int w = 0; w < br->nwhole; w++)
            if (br->whole[w] == p->groups[i])
                g = 0;
        if (g < 0 || g > br->ncap || g >= rc || (a = ov[(size_t)2 * g]) == PCRE2_UNSET ||
            (b = ov[(size_t)2 * g + 1]) < a) {
            ret_values[i] = (struct strv){ "", 0 };
            continue;
        }
        if (rewritten) {
            a = t->map[a];
            b = t->map[b];
        }
        ret_values[i] = (struct strv){ subject + a, b - a };
    }
    return GROK_MATCH;
}

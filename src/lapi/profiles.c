/*
 * profiles.c - loading and applying CrowdSec's profiles.yaml.
 *
 * Loading follows LocalApiServerCfg.LoadProfiles and csprofiles.NewProfile:
 * the documents of profiles.yaml.local (when present) come before those of
 * profiles.yaml, every document is decoded strictly as yaml.v3 with
 * KnownFields does, and only then are the profiles checked and compiled in
 * order, so the first error is the one CrowdSec would report.
 *
 * Applying follows CreateAlert in controllers/v1/alerts.go together with
 * EvaluateProfile and GenerateDecisionFromProfile, including their quirks:
 * every true filter of a profile appends the profile's decisions again, only
 * the first matching profile (with decisions) fills an empty alert, a
 * decision without a duration gets "" (the store then refuses it, as
 * CrowdSec's database does), a failing duration_expr keeps the static
 * duration, on_failure changes nothing, and on_error "break" only stops
 * after a filter had matched, because a profile that did not match is
 * skipped before the break is looked at.
 */
#include "common/common.h"

#include <sys/stat.h>
#include <unistd.h>

#include "common/gotime.h"
#include "common/str.h"
#include "config/config.h"
#include "exprenv/exprenv.h"
#include "lapi/profiles.h"

/* profiles.yaml is a small hand-written file; anything bigger is a mistake. */
#define PROFILES_MAX_FILE_SIZE (16u << 20)

enum profile_on_error {
    PROFILE_ON_ERROR_FAIL, /* unset or unknown: the request fails (HTTP 500) */
    PROFILE_ON_ERROR_APPLY,
    PROFILE_ON_ERROR_CONTINUE,
    PROFILE_ON_ERROR_BREAK,
    PROFILE_ON_ERROR_IGNORE,
};

/* One entry of decisions (a models.Decision as the YAML gives it; NULL = absent). */
struct profile_decision {
    char *type;
    char *duration;
    char *scope;
    char *origin;
    bool simulated;
    int line;
};

struct profile {
    const char *file; /* borrowed from struct profiles */
    int line;         /* the document's first line */
    char *name;
    bool debug;
    char **filter_src;
    int *filter_line;
    struct expr_program **filters;
    size_t nfilters;
    char *duration_expr_src;
    int duration_expr_line;
    struct expr_program *duration_expr;
    struct profile_decision *decisions;
    size_t ndecisions;
    char **notifications;
    size_t nnotifications;
    char *on_success, *on_failure, *on_error;
    int on_success_line, on_failure_line;
    bool brk; /* on_success: break */
    enum profile_on_error on_err;
};

struct profiles {
    struct expr_env *env;
    char *files[2]; /* path.local and path (or the buffer's name) */
    struct profile *items;
    size_t n, cap;
};

/* A loading pass: where errors go and which file is being read. */
struct ploader {
    struct profiles_error *err;
    const char *file;
};

static int ploader_fail(struct ploader *ld, int line, const char *fmt, ...) PRINTF_LIKE(3, 4);

/* Fills the error (file, line, message) and returns -1. */
static int
ploader_fail(struct ploader *ld, int line, const char *fmt, ...)
{
    va_list ap;

    snprintf(ld->err->file, sizeof(ld->err->file), "%s", ld->file ? ld->file : "");
    ld->err->line = line;
    va_start(ap, fmt);
    vsnprintf(ld->err->message, sizeof(ld->err->message), fmt, ap);
    va_end(ap);
    return -1;
}

static void
profile_clear(struct profile *pr)
{
    free(pr->name);
    for (size_t i = 0; i < pr->nfilters; i++) {
        free(pr->filter_src[i]);
        if (pr->filters)
            expr_program_free(pr->filters[i]);
    }
    free(pr->filter_src);
    free(pr->filter_line);
    free(pr->filters);
    free(pr->duration_expr_src);
    expr_program_free(pr->duration_expr);
    for (size_t i = 0; i < pr->ndecisions; i++) {
        struct profile_decision *d = &pr->decisions[i];
        free(d->type);
        free(d->duration);
        free(d->scope);
        free(d->origin);
    }
    free(pr->decisions);
    for (size_t i = 0; i < pr->nnotifications; i++)
        free(pr->notifications[i]);
    free(pr->notifications);
    free(pr->on_success);
    free(pr->on_failure);
    free(pr->on_error);
}

void
profiles_free(struct profiles *p)
{
    if (p == NULL)
        return;
    for (size_t i = 0; i < p->n; i++)
        profile_clear(&p->items[i]);
    free(p->items);
    free(p->files[0]);
    free(p->files[1]);
    expr_env_free(p->env);
    free(p);
}

/* --- strict decoding (yaml.v3 with KnownFields) --- */

/* The tag yaml.v3 resolves a scalar to, for its error messages (!!int `2`, !!str `abc`). */
static const char *
scalar_kind(const struct ynode *v)
{
    static const char *const bools[] = { "true", "True", "TRUE", "false", "False", "FALSE" };
    char buf[64], *end;
    size_t n = 0;

    if (v->type != YNODE_SCALAR || !v->plain)
        return ynode_kind(v);
    for (size_t i = 0; i < ARRAY_SIZE(bools); i++)
        if (strcmp(v->str, bools[i]) == 0)
            return "!!bool";
    for (size_t i = 0; i < v->len && n + 1 < sizeof(buf); i++)
        if (v->str[i] != '_')
            buf[n++] = v->str[i];
    buf[n] = '\0';
    if (n == 0 || n + 1 == sizeof(buf) || strspn(buf, "0123456789+-.eExXoObBabcdefABCDEF") != n)
        return ynode_kind(v);
    errno = 0;
    (void)strtoll(buf[0] == '0' && (buf[1] == 'o' || buf[1] == 'b') ? buf + 2 : buf, &end,
                  buf[0] == '0' && buf[1] == 'b'   ? 2
                  : buf[0] == '0' && buf[1] == 'o' ? 8
                                                   : 0);
    if (*end == '\0')
        return "!!int";
    if (strchr(buf, 'x') == NULL && strchr(buf, 'X') == NULL) {
        (void)strtod(buf, &end);
        if (*end == '\0')
            return "!!float";
    }
    return ynode_kind(v);
}

static int
type_error(struct ploader *ld, const struct ynode *v, const char *into)
{
    if (v->type == YNODE_SCALAR)
        return ploader_fail(ld, v->line, "cannot unmarshal %s `%.60s` into %s", scalar_kind(v),
                            v->str, into);
    return ploader_fail(ld, v->line, "cannot unmarshal %s into %s", ynode_kind(v), into);
}

static int
check_keys(struct ploader *ld, const struct ynode *map, const char *type,
           const char *const *allowed, size_t nallowed)
{
    const struct ynode *k;

    switch (ynode_check_keys(map, allowed, nallowed, &k)) {
    case YKEYS_NOT_MAP: return type_error(ld, map, type);
    case YKEYS_NOT_STRING:
        return ploader_fail(ld, k->line, "a key of %s must be a string, not %s", type,
                            ynode_kind(k));
    case YKEYS_UNKNOWN:
        return ploader_fail(ld, k->line, "field %.60s not found in type %s", k->str, type);
    case YKEYS_DUPLICATE:
        for (size_t i = 0; i < map->n; i += 2)
            if (map->items[i] != k && strcmp(map->items[i]->str, k->str) == 0)
                return ploader_fail(ld, k->line, "mapping key \"%.60s\" already defined at line %d",
                                    k->str, map->items[i]->line);
        return ploader_fail(ld, k->line, "mapping key \"%.60s\" already defined", k->str);
    default: return 0;
    }
}

/* A Go string: null leaves it empty (NULL here), any scalar gives its text. */
static int
decode_string(struct ploader *ld, const struct ynode *v, char **ret)
{
    free(*ret);
    *ret = NULL;
    if (v == NULL || ynode_is_null(v))
        return 0;
    if (v->type != YNODE_SCALAR)
        return type_error(ld, v, "string");
    if ((*ret = strdup(v->str)) == NULL)
        return ploader_fail(ld, v->line, "out of memory");
    return 0;
}

/* A Go *bool or bool (null leaves false). */
static int
decode_bool(struct ploader *ld, const struct ynode *v, bool *ret)
{
    int b;

    *ret = false;
    if (v == NULL || ynode_is_null(v))
        return 0;
    if (v->type != YNODE_SCALAR || (b = ynode_bool_value(v)) < 0)
        return type_error(ld, v, "bool");
    *ret = b == 1;
    return 0;
}

/* A Go []string: null gives none; null items give "". Lines go to *ret_lines when asked. */
static int
decode_strings(struct ploader *ld, const struct ynode *v, char ***ret, int **ret_lines,
               size_t *ret_n)
{
    if (v == NULL || ynode_is_null(v))
        return 0;
    if (v->type != YNODE_SEQ)
        return type_error(ld, v, "[]string");
    if (v->n == 0)
        return 0;
    *ret = calloc(v->n, sizeof(**ret));
    if (*ret == NULL || (ret_lines && (*ret_lines = calloc(v->n, sizeof(int))) == NULL))
        return ploader_fail(ld, v->line, "out of memory");
    for (size_t i = 0; i < v->n; i++) {
        const struct ynode *it = v->items[i];
        if (decode_string(ld, it, &(*ret)[i]) < 0)
            return -1;
        *ret_n = i + 1;
        if ((*ret)[i] == NULL && ((*ret)[i] = strdup("")) == NULL)
            return ploader_fail(ld, it->line, "out of memory");
        if (ret_lines)
            (*ret_lines)[i] = it->line;
    }
    return 0;
}

/* models.Decision has no yaml tags, so yaml.v3 knows its fields by their lowercased names. */
static const char *const decision_keys[] = { "duration",  "id",   "origin", "scenario", "scope",
                                             "simulated", "type", "until",  "uuid",     "value" };

static int
decode_decision(struct ploader *ld, const struct ynode *v, struct profile_decision *d)
{
    const struct ynode *id;
    char *ignored = NULL;
    int rc;

    d->line = v->line;
    if (ynode_is_null(v))
        return 0;
    if (check_keys(ld, v, "models.Decision", decision_keys, ARRAY_SIZE(decision_keys)) < 0)
        return -1;
    if (decode_string(ld, ynode_map_get(v, "type"), &d->type) < 0 ||
        decode_string(ld, ynode_map_get(v, "duration"), &d->duration) < 0 ||
        decode_string(ld, ynode_map_get(v, "scope"), &d->scope) < 0 ||
        decode_string(ld, ynode_map_get(v, "origin"), &d->origin) < 0 ||
        decode_bool(ld, ynode_map_get(v, "simulated"), &d->simulated) < 0)
        return -1;
    /* The other fields of models.Decision decode (so their types are checked) but profiles
     * never read them: the value, scenario and origin come from the alert. */
    rc = decode_string(ld, ynode_map_get(v, "scenario"), &ignored);
    rc = rc < 0 ? rc : decode_string(ld, ynode_map_get(v, "until"), &ignored);
    rc = rc < 0 ? rc : decode_string(ld, ynode_map_get(v, "uuid"), &ignored);
    rc = rc < 0 ? rc : decode_string(ld, ynode_map_get(v, "value"), &ignored);
    free(ignored);
    if (rc < 0)
        return -1;
    id = ynode_map_get(v, "id");
    if (id != NULL && !ynode_is_null(id)) {
        char *end;
        errno = 0;
        (void)strtoll(id->str, &end, 0);
        if (id->type != YNODE_SCALAR || !id->plain || id->len == 0 || *end != '\0' || errno != 0)
            return type_error(ld, id, "int64");
    }
    return 0;
}

static const char *const profile_keys[] = { "name",       "debug",         "filters",
                                            "decisions",  "duration_expr", "notifications",
                                            "on_success", "on_failure",    "on_error" };

/* Decodes one document into pr (a csconfig.ProfileCfg); a null document is an empty profile. */
static int
decode_profile(struct ploader *ld, const struct ynode *doc, struct profile *pr)
{
    const struct ynode *v;

    pr->file = ld->file;
    pr->line = doc ? doc->line : 0;
    if (doc == NULL || ynode_is_null(doc))
        return 0;
    if (check_keys(ld, doc, "csconfig.ProfileCfg", profile_keys, ARRAY_SIZE(profile_keys)) < 0)
        return -1;
    if (decode_string(ld, ynode_map_get(doc, "name"), &pr->name) < 0 ||
        decode_bool(ld, ynode_map_get(doc, "debug"), &pr->debug) < 0 ||
        decode_strings(ld, ynode_map_get(doc, "filters"), &pr->filter_src, &pr->filter_line,
                       &pr->nfilters) < 0 ||
        decode_string(ld, ynode_map_get(doc, "duration_expr"), &pr->duration_expr_src) < 0 ||
        decode_strings(ld, ynode_map_get(doc, "notifications"), &pr->notifications, NULL,
                       &pr->nnotifications) < 0 ||
        decode_string(ld, ynode_map_get(doc, "on_success"), &pr->on_success) < 0 ||
        decode_string(ld, ynode_map_get(doc, "on_failure"), &pr->on_failure) < 0 ||
        decode_string(ld, ynode_map_get(doc, "on_error"), &pr->on_error) < 0)
        return -1;
    if ((v = ynode_map_get(doc, "duration_expr")) != NULL)
        pr->duration_expr_line = v->line;
    if ((v = ynode_map_get(doc, "on_success")) != NULL)
        pr->on_success_line = v->line;
    if ((v = ynode_map_get(doc, "on_failure")) != NULL)
        pr->on_failure_line = v->line;
    v = ynode_map_get(doc, "decisions");
    if (v == NULL || ynode_is_null(v))
        return 0;
    if (v->type != YNODE_SEQ)
        return type_error(ld, v, "[]models.Decision");
    if (v->n == 0)
        return 0;
    if ((pr->decisions = calloc(v->n, sizeof(*pr->decisions))) == NULL)
        return ploader_fail(ld, v->line, "out of memory");
    for (size_t i = 0; i < v->n; i++) {
        pr->ndecisions = i + 1;
        if (decode_decision(ld, v->items[i], &pr->decisions[i]) < 0)
            return -1;
    }
    return 0;
}

static int
read_file(struct ploader *ld, const char *path, char **ret, size_t *ret_len)
{
    struct stat st;
    FILE *f;
    char *buf = NULL;
    size_t n;
    int rc = -1;

    if ((f = fopen(path, "rb")) == NULL)
        return ploader_fail(ld, 0, "open %s: %s", path, strerror(errno));
    if (fstat(fileno(f), &st) < 0) {
        ploader_fail(ld, 0, "stat %s: %s", path, strerror(errno));
        goto out;
    }
    if (st.st_size < 0 || (uint64_t)st.st_size > PROFILES_MAX_FILE_SIZE) {
        ploader_fail(ld, 0, "%s: bigger than %u bytes", path, PROFILES_MAX_FILE_SIZE);
        goto out;
    }
    if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
        ploader_fail(ld, 0, "out of memory");
        goto out;
    }
    n = fread(buf, 1, (size_t)st.st_size, f);
    if (ferror(f)) {
        ploader_fail(ld, 0, "read %s: %s", path, strerror(errno));
        goto out;
    }
    buf[n] = '\0';
    *ret = buf;
    *ret_len = n;
    buf = NULL;
    rc = 0;
out:
    free(buf);
    fclose(f);
    return rc;
}

/* Decodes every document of buf (file ld->file) and appends them to p. */
static int
decode_buffer(struct ploader *ld, struct profiles *p, const char *buf, size_t len)
{
    struct ytree *t = NULL;
    char msg[256];
    int line = 0, rc;

    rc = ytree_parse(buf, len, &t, msg, sizeof(msg), &line);
    if (rc == -ENOMEM)
        return ploader_fail(ld, 0, "out of memory");
    if (rc < 0)
        return ploader_fail(ld, line, "%s", msg);
    rc = 0;
    for (size_t i = 0; i < t->ndocs && rc == 0; i++) {
        if (p->n == p->cap) {
            size_t cap = p->cap ? 2 * p->cap : 4;
            struct profile *grown = realloc(p->items, cap * sizeof(*grown));
            if (grown == NULL) {
                rc = ploader_fail(ld, 0, "out of memory");
                break;
            }
            p->items = grown;
            p->cap = cap;
        }
        memset(&p->items[p->n], 0, sizeof(p->items[p->n]));
        /* Counted before decoding so a half-decoded profile is freed with the set. */
        rc = decode_profile(ld, t->docs[i], &p->items[p->n++]);
    }
    ytree_free(t);
    return rc;
}

/* csprofiles.NewProfile for one profile: checks, compiles. */
static int
build_profile(struct ploader *ld, struct profiles *p, struct profile *pr)
{
    const char *name = pr->name ? pr->name : "";
    struct expr_error e;

    ld->file = pr->file;
    if (pr->on_success && strcmp(pr->on_success, "") != 0 &&
        strcmp(pr->on_success, "continue") != 0 && strcmp(pr->on_success, "break") != 0)
        return ploader_fail(ld, pr->on_success_line, "invalid 'on_success' for '%s': %s", name,
                            pr->on_success);
    if (pr->on_failure && strcmp(pr->on_failure, "") != 0 &&
        strcmp(pr->on_failure, "continue") != 0 && strcmp(pr->on_failure, "break") != 0 &&
        strcmp(pr->on_failure, "apply") != 0)
        return ploader_fail(ld, pr->on_failure_line, "invalid 'on_failure' for '%s' : %s", name,
                            pr->on_failure);
    pr->brk = pr->on_success && strcmp(pr->on_success, "break") == 0;
    /* on_error is not checked at load time: an unknown value fails requests like an unset one. */
    const char *on_error = pr->on_error ? pr->on_error : "";
    pr->on_err = PROFILE_ON_ERROR_FAIL;
    if (strcmp(on_error, "apply") == 0)
        pr->on_err = PROFILE_ON_ERROR_APPLY;
    else if (strcmp(on_error, "continue") == 0)
        pr->on_err = PROFILE_ON_ERROR_CONTINUE;
    else if (strcmp(on_error, "break") == 0)
        pr->on_err = PROFILE_ON_ERROR_BREAK;
    else if (strcmp(on_error, "ignore") == 0)
        pr->on_err = PROFILE_ON_ERROR_IGNORE;

    if (pr->nfilters > 0 && (pr->filters = calloc(pr->nfilters, sizeof(*pr->filters))) == NULL)
        return ploader_fail(ld, pr->line, "out of memory");
    for (size_t i = 0; i < pr->nfilters; i++) {
        /* expr.Compile without AsBool: a non-bool result is a run-time error, as in CrowdSec. */
        pr->filters[i] =
            expr_compile(p->env, pr->filter_src[i], strlen(pr->filter_src[i]), EXPR_T_ANY, &e);
        if (pr->filters[i] == NULL)
            return ploader_fail(ld, pr->filter_line[i], "error compiling filter of '%s': %s", name,
                                e.message);
    }
    if (pr->duration_expr_src && pr->duration_expr_src[0] != '\0') {
        pr->duration_expr = expr_compile(p->env, pr->duration_expr_src,
                                         strlen(pr->duration_expr_src), EXPR_T_ANY, &e);
        if (pr->duration_expr == NULL)
            return ploader_fail(ld, pr->duration_expr_line,
                                "error compiling duration_expr of %s: %s", name, e.message);
    }
    for (size_t i = 0; i < pr->ndecisions; i++) {
        const struct profile_decision *d = &pr->decisions[i];
        int64_t ns;

        /* CrowdSec dereferences the type unchecked (a panic per alert); refuse it here. */
        if (d->type == NULL)
            return ploader_fail(ld, d->line, "decision %zu of '%s' has no type", i + 1, name);
        if (pr->duration_expr != NULL)
            continue;
        /* A missing duration passes as CrowdSec's 4h default here but stays empty in the
         * decisions (GenerateDecisionFromProfile never fills it in). */
        const char *dur = d->duration ? d->duration : "4h";
        if (gotime_parse_duration_days(dur, strlen(dur), &ns) < 0)
            return ploader_fail(ld, d->line,
                                "error parsing duration '%s' of %s: time: invalid duration \"%s\"",
                                dur, name, dur);
    }
    return 0;
}

static int
set_file(struct ploader *ld, struct profiles *p, int i, const char *name, const char *suffix)
{
    size_t n = strlen(name) + strlen(suffix) + 1;

    if ((p->files[i] = malloc(n)) == NULL)
        return ploader_fail(ld, 0, "out of memory");
    snprintf(p->files[i], n, "%s%s", name, suffix);
    return 0;
}

/*
 * The common tail of both loaders: p holds the decoded documents; checks
 * there is at least one, then builds them. Frees p on error.
 */
static struct profiles *
finish(struct ploader *ld, struct profiles *p, const char *name)
{
    if (p->n == 0) {
        ld->file = name;
        ploader_fail(ld, 0, "zero profiles loaded for LAPI");
        goto fail;
    }
    if ((p->env = exprenv_new(EXPRENV_PROFILE)) == NULL) {
        ploader_fail(ld, 0, "out of memory");
        goto fail;
    }
    for (size_t i = 0; i < p->n; i++)
        if (build_profile(ld, p, &p->items[i]) < 0)
            goto fail;
    return p;
fail:
    profiles_free(p);
    return NULL;
}

struct profiles *
profiles_load_buffer(const char *name, const char *buf, size_t len, struct profiles_error *err)
{
    struct ploader ld = { .err = err, .file = name };
    struct profiles *p;

    memset(err, 0, sizeof(*err));
    if ((p = calloc(1, sizeof(*p))) == NULL) {
        ploader_fail(&ld, 0, "out of memory");
        return NULL;
    }
    if (set_file(&ld, p, 1, name, "") < 0)
        goto fail;
    ld.file = p->files[1];
    if (decode_buffer(&ld, p, buf, len) < 0)
        goto fail;
    return finish(&ld, p, name);
fail:
    profiles_free(p);
    return NULL;
}

struct profiles *
profiles_load(const char *path, struct profiles_error *err)
{
    struct ploader ld = { .err = err, .file = path };
    struct profiles *p;
    char *buf = NULL;
    size_t len = 0;

    memset(err, 0, sizeof(*err));
    if ((p = calloc(1, sizeof(*p))) == NULL) {
        ploader_fail(&ld, 0, "out of memory");
        return NULL;
    }
    if (set_file(&ld, p, 0, path, ".local") < 0 || set_file(&ld, p, 1, path, "") < 0)
        goto fail;
    /* profiles.yaml.local documents are prepended (csyaml's PrependedPatchContent). */
    if (access(p->files[0], F_OK) == 0) {
        ld.file = p->files[0];
        if (read_file(&ld, p->files[0], &buf, &len) < 0 || decode_buffer(&ld, p, buf, len) < 0)
            goto fail;
        free(buf);
        buf = NULL;
    }
    ld.file = p->files[1];
    if (read_file(&ld, p->files[1], &buf, &len) < 0 || decode_buffer(&ld, p, buf, len) < 0)
        goto fail;
    free(buf);
    return finish(&ld, p, path);
fail:
    free(buf);
    profiles_free(p);
    return NULL;
}

/* --- applying --- */

/*
 * Moves the decisions collected in src (a scratch alert used only for its
 * array) into dst, which has none. Like Go's append, nothing to move leaves
 * dst's nil or empty array as it was.
 */
static void
move_decisions(struct alert *dst, struct alert *src)
{
    if (src->ndecisions == 0)
        return;
    free(dst->decisions);
    dst->decisions = src->decisions;
    dst->ndecisions = src->ndecisions;
    src->decisions = NULL;
    src->ndecisions = 0;
}

/*
 * The duration of one decision: duration_expr's result printed as fmt.Sprint
 * does when it parses as a duration, else the profile's (maybe "").
 */
static int
decision_duration(const struct profile *pr, struct expr_vm *vm, const struct expr_value *vars,
                  const struct profile_decision *ref, struct str *out)
{
    struct expr_value v;
    struct expr_error e;
    struct str s = STR_INIT;
    int64_t ns;
    int rc = 0;

    str_clear(out);
    if (str_append_cstr(out, ref->duration ? ref->duration : "") < 0)
        return -ENOMEM;
    if (pr->duration_expr == NULL)
        return 0;
    /* CrowdSec only logs a failing duration_expr and keeps the static duration. */
    if (expr_eval(vm, pr->duration_expr, vars, &v, &e) < 0)
        return 0;
    if ((rc = expr_value_format_go(vm, &v, &s)) < 0)
        goto out;
    if (gotime_parse_duration_days(s.buf ? s.buf : "", s.len, &ns) == 0) {
        str_clear(out);
        rc = str_append(out, s.buf, s.len);
    }
out:
    str_free(&s);
    return rc;
}

/* until = stop_at + duration, stop_at read as RFC3339 (now when it does not parse). */
static int
decision_until(const struct alert *a, const char *duration, struct decision *d)
{
    struct gotime stop;
    int64_t ns, until;
    char buf[GOTIME_RFC3339_MAX];

    if (gotime_parse_duration_days(duration, strlen(duration), &ns) < 0)
        return 0;
    if (a->stop_at == NULL || gotime_parse_rfc3339(a->stop_at, strlen(a->stop_at), &stop) < 0)
        stop = gotime_now();
    if (__builtin_add_overflow(stop.unix_ns, ns, &until))
        return 0;
    gotime_format_rfc3339nano((struct gotime){ .unix_ns = until, .offset_s = stop.offset_s }, buf,
                              sizeof(buf));
    return model_strset(&d->until, buf);
}

/* GenerateDecisionFromProfile: appends pr's decisions for a to out. */
static int
generate_decisions(const struct profile *pr, struct expr_vm *vm, const struct expr_value *vars,
                   const struct alert *a, struct alert *out, char *err, size_t errlen)
{
    struct str duration = STR_INIT, origin = STR_INIT;
    bool alert_simulated = a->simulated && !(a->absent & ALERT_ABSENT_SIMULATED);
    int rc = 0;

    if (pr->ndecisions > 0 && (a->source == NULL || a->source->scope == NULL ||
                               a->source->value == NULL || a->scenario == NULL)) {
        snprintf(err, errlen, "alert without %s: no decision can be made from profile %s",
                 a->scenario == NULL ? "scenario" : "source scope and value",
                 pr->name ? pr->name : "");
        return -1;
    }
    for (size_t i = 0; i < pr->ndecisions; i++) {
        const struct profile_decision *ref = &pr->decisions[i];
        struct decision *d;

        if ((rc = decision_duration(pr, vm, vars, ref, &duration)) < 0)
            break;
        str_clear(&origin);
        rc = ref->origin ? str_appendf(&origin, "crowdsec/%s", ref->origin)
                         : str_append_cstr(&origin, "crowdsec");
        if (rc < 0 || (d = alert_add_decision(out)) == NULL) {
            rc = -ENOMEM;
            break;
        }
        if (ref->simulated || alert_simulated) {
            d->simulated = true;
            d->simulated_set = true;
        }
        rc = model_strset(&d->scope, ref->scope && ref->scope[0] ? ref->scope : a->source->scope);
        rc = rc < 0 ? rc : model_strset(&d->duration, duration.buf ? duration.buf : "");
        rc = rc < 0 ? rc : model_strset(&d->type, ref->type);
        rc = rc < 0 ? rc : model_strset(&d->value, a->source->value);
        rc = rc < 0 ? rc : model_strset(&d->origin, origin.buf);
        rc = rc < 0 ? rc : model_strset(&d->scenario, a->scenario);
        rc = rc < 0 ? rc : decision_until(a, d->duration, d);
        if (rc < 0)
            break;
    }
    str_free(&duration);
    str_free(&origin);
    if (rc < 0)
        snprintf(err, errlen, "out of memory");
    return rc < 0 ? -1 : 0;
}

/* Go's fmt "%t (%v)" of a value that is not a bool, for the "unexpected type" error. */
static void
describe_non_bool(struct expr_vm *vm, const struct expr_value *v, char *buf, size_t size)
{
    struct str s = STR_INIT;

    if (v->kind == EXPR_NIL) {
        snprintf(buf, size, "%%!t(<nil>) (<nil>)");
        return;
    }
    if (expr_value_format_go(vm, v, &s) < 0)
        str_clear(&s);
    snprintf(buf, size, "%%!t(%s=%s) (%s)", expr_kind_name(v->kind), s.buf ? s.buf : "",
             s.buf ? s.buf : "");
    str_free(&s);
}

/*
 * EvaluateProfile: runs pr's filters over a, collecting into out the
 * decisions of every true one. Returns 0, or -1 with the error in err (out
 * is then emptied, as CrowdSec returns no decisions with an error; *matched
 * keeps what it was when the error happened).
 */
static int
evaluate_profile(const struct profile *pr, struct expr_vm *vm, const struct alert *a,
                 struct alert *out, bool *matched, char *err, size_t errlen)
{
    struct expr_value vars[1] = { exprenv_alert_value(a) };
    struct expr_value v;
    struct expr_error e;

    *matched = false;
    for (size_t i = 0; i < pr->nfilters; i++) {
        if (expr_eval(vm, pr->filters[i], vars, &v, &e) < 0) {
            snprintf(err, errlen, "while running expression %s: %s", pr->filter_src[i], e.message);
            goto fail;
        }
        if (v.kind != EXPR_BOOL) {
            char what[192];
            describe_non_bool(vm, &v, what, sizeof(what));
            snprintf(err, errlen, "unexpected type %s while running '%s'", what, pr->filter_src[i]);
            goto fail;
        }
        /* on_failure: break only leaves a Go switch in CrowdSec, so a false filter never stops
         * the loop. */
        if (!v.u.b)
            continue;
        *matched = true;
        if (generate_decisions(pr, vm, vars, a, out, err, errlen) < 0)
            goto fail;
    }
    return 0;
fail:
    for (size_t i = 0; i < out->ndecisions; i++)
        decision_clear(&out->decisions[i]);
    free(out->decisions);
    out->decisions = NULL;
    out->ndecisions = 0;
    return -1;
}

int
profiles_apply(const struct profiles *p, struct expr_vm *vm, struct alert *a, char *err,
               size_t errlen)
{
    if (errlen > 0)
        err[0] = '\0';
    /* Decisions given with the alert (cscli) are kept as they are; profiles only notify. */
    if (a->ndecisions > 0)
        return 0;
    for (size_t i = 0; i < p->n; i++) {
        const struct profile *pr = &p->items[i];
        struct alert scratch = { 0 };
        bool matched = false, force_break = false;
        char msg[512];

        if (evaluate_profile(pr, vm, a, &scratch, &matched, msg, sizeof(msg)) < 0) {
            switch (pr->on_err) {
            case PROFILE_ON_ERROR_APPLY: matched = true; break;
            case PROFILE_ON_ERROR_BREAK: force_break = true; break;
            case PROFILE_ON_ERROR_CONTINUE:
            case PROFILE_ON_ERROR_IGNORE: break;
            default: snprintf(err, errlen, "%s", msg); return -1;
            }
        }
        if (!matched) {
            alert_clear(&scratch);
            continue;
        }
        /* Only the first matching profile with decisions fills the alert; later ones notify. */
        if (a->ndecisions == 0)
            move_decisions(a, &scratch);
        alert_clear(&scratch);
        if (pr->brk || force_break)
            break;
    }
    return 0;
}

/*
 * load.c - scenario files into compiled scenarios, in CrowdSec's order
 * (manager_load.go): strict YAML decode, name, format constraint (a document
 * whose format is outside >= 1.0, <= 3.0 is skipped), durations, filter and
 * groupby, the optional processors' expressions (distinct, cancel_on,
 * overflow_filter, blackhole, condition, bayesian conditions), data files,
 * then the per-type validation and the scope.
 */
#include <inttypes.h>

#include "common/common.h"

#include "bucket/decode.h"
#include "bucket/internal.h"

static const char *const spec_keys[] = {
    "format",
    "description",
    "references",
    "type",
    "name",
    "capacity",
    "leakspeed",
    "filter",
    "groupby",
    "distinct",
    "debug",
    "labels",
    "blackhole",
    "scope",
    "reprocess",
    "data",
    "condition",
    "cache_size",
    "cancel_on",
    "bayesian_prior",
    "bayesian_threshold",
    "bayesian_conditions",
    "overflow_filter",
    "duration",
    "version",
};
static const char *const scope_keys[] = { "type", "expression" };
static const char *const bayes_keys[] = { "condition", "prob_given_evil", "prob_given_benign",
                                          "guillotine" };
static const char *const data_keys[] = { "source_url", "dest_file", "type", "cache",
                                         "strategy",   "size",      "ttl" };

void
scenario_clear(struct scenario *sc)
{
    scenario_guard_clear(sc);
    bucket_factory_clear(&sc->factory);
    expr_program_free(sc->filter);
    expr_program_free(sc->groupby);
    expr_program_free(sc->distinct);
    expr_program_free(sc->cancel_on);
    expr_program_free(sc->condition);
    expr_program_free(sc->overflow_filter);
    expr_program_free(sc->scope_expr);
    free(sc->scope_type);
    for (size_t i = 0; i < sc->nbayes; i++)
        expr_program_free(sc->bayes[i].condition);
    free(sc->bayes);
    memset(sc, 0, sizeof(*sc));
}

/*
 * hashicorp/go-version's check of a scenario format against ">= 1.0, <= 3.0":
 * 1 satisfied, 0 not (skip the document), -1 unparsable. Versions are dotted
 * numbers, optionally with a leading "v"; a pre-release never satisfies a
 * constraint without one.
 */
static int
format_satisfied(const char *s)
{
    int64_t seg[3] = { 0, 0, 0 };
    size_t n = 0;
    const char *p = s;

    if (*p == 'v')
        p++;
    while (true) {
        if (*p < '0' || *p > '9')
            return -1;
        int64_t x = 0;
        while (*p >= '0' && *p <= '9') {
            x = x * 10 + (*p++ - '0');
            if (x > 1000000000)
                return -1;
        }
        if (n < 3)
            seg[n] = x;
        else if (x != 0)
            seg[2] = INT64_MAX; /* 3.0.0.1 > 3.0 */
        n++;
        if (*p == '.')
            p++;
        else
            break;
    }
    if (*p == '-' || *p == '+') {
        if (*p == '-')
            return 0; /* pre-release */
    } else if (*p != '\0') {
        return -1;
    }
    /* >= 1.0 and <= 3.0 */
    if (seg[0] < 1)
        return 0;
    if (seg[0] > 3 || (seg[0] == 3 && (seg[1] > 0 || seg[2] > 0)))
        return 0;
    return 1;
}

static int
parse_dur(struct loader *ld, const struct ynode *v, const char *what, const char *s, int64_t *ret)
{
    *ret = 0;
    if (s == NULL || s[0] == '\0')
        return 0;
    if (gotime_parse_duration(s, strlen(s), ret) < 0)
        return load_fail(ld, v ? v->line : 0,
                         "invalid %s '%.60s' in %s: time: invalid duration \"%.60s\"", what, s,
                         ld->file, s);
    return 0;
}

static int
compile(struct loader *ld, const struct expr_env *env, const struct ynode *v, const char *what,
        const char *src, struct expr_type expect, struct expr_program **ret)
{
    struct expr_error e;

    *ret = expr_compile(env, src, strlen(src), expect, &e);
    if (*ret == NULL)
        return load_fail(ld, v ? v->line : 0, "invalid %s '%.200s' in %s: %s", what, src, ld->file,
                         e.message);
    return 0;
}

/* data: decoded strictly; loaded like CrowdSec's initDataFiles, which only logs a failure. */
static int
decode_data(struct loader *ld, const struct ynode *v, bool load)
{
    int rc;

    if ((rc = yseq(ld, v, "data")) < 0 || ynode_is_null(v))
        return rc;
    for (size_t i = 0; i < v->n; i++) {
        const struct ynode *d = v->items[i];
        char *dest = NULL, *type = NULL, *s = NULL;
        bool b;
        int64_t x;
        enum expr_data_type t;

        if ((rc = ycheck_keys(ld, d, "enrichment.DataProvider", data_keys, ARRAY_SIZE(data_keys))) <
            0)
            return rc;
        if ((rc = ystring(ld, yget(d, "source_url"), "source_url", &s)) < 0)
            goto next;
        free(s);
        s = NULL;
        if ((rc = ystring(ld, yget(d, "strategy"), "strategy", &s)) < 0 ||
            (rc = ybool(ld, yget(d, "cache"), "cache", &b)) < 0 ||
            (rc = yint(ld, yget(d, "size"), "size", &x)) < 0)
            goto next;
        free(s);
        s = NULL;
        if ((rc = ystring(ld, yget(d, "ttl"), "ttl", &s)) < 0 ||
            (rc = parse_dur(ld, yget(d, "ttl"), "ttl", s, &x)) < 0 ||
            (rc = ystring(ld, yget(d, "dest_file"), "dest_file", &dest)) < 0 ||
            (rc = ystring(ld, yget(d, "type"), "type", &type)) < 0)
            goto next;
        if (load && ld->opts->data_dir != NULL && dest != NULL && dest[0] != '\0' && type != NULL &&
            expr_data_type_parse(type, &t) == 0) {
            struct expr_error e;
            (void)expr_data_load(ld->opts->data_dir, dest, t, &e);
        }
    next:
        free(s);
        free(dest);
        free(type);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int
decode_bayes(struct loader *ld, const struct bucket_set *set, const struct ynode *v,
             struct scenario *sc)
{
    int rc;

    if ((rc = yseq(ld, v, "bayesian_conditions")) < 0 || ynode_is_null(v))
        return rc;
    if ((sc->bayes = calloc(v->n ? v->n : 1, sizeof(*sc->bayes))) == NULL)
        return load_fail(ld, v->line, "out of memory");
    for (size_t i = 0; i < v->n; i++) {
        const struct ynode *c = v->items[i];
        struct bayes_cond *bc = &sc->bayes[i];
        char *cond = NULL;

        if ((rc = ycheck_keys(ld, c, "leakybucket.RawBayesianCondition", bayes_keys,
                              ARRAY_SIZE(bayes_keys))) < 0 ||
            (rc = ystring(ld, yget(c, "condition"), "condition", &cond)) < 0)
            return rc;
        sc->nbayes++;
        rc = yfloat32(ld, yget(c, "prob_given_evil"), "prob_given_evil", &bc->prob_given_evil);
        if (rc == 0)
            rc = yfloat32(ld, yget(c, "prob_given_benign"), "prob_given_benign",
                          &bc->prob_given_benign);
        if (rc == 0)
            rc = ybool(ld, yget(c, "guillotine"), "guillotine", &bc->guillotine);
        /* An empty condition has no program: CrowdSec skips it in the update. */
        if (rc == 0 && cond != NULL && cond[0] != '\0')
            rc = compile(ld, set->env_condition, c, "bayesian condition", cond, EXPR_T_ANY,
                         &bc->condition);
        free(cond);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* labels: map[string]any; only remediation: true (a YAML bool) matters to the engine. */
static int
decode_labels(struct loader *ld, const struct ynode *v, struct scenario *sc)
{
    const struct ynode *r;

    if (ynode_is_null(v))
        return 0;
    if (v->type != YNODE_MAP)
        return load_fail(ld, v->line,
                         "key \"labels\": cannot unmarshal %s into map[string]interface {}",
                         ynode_kind(v));
    r = yget(v, "remediation");
    sc->remediation = r != NULL && yaml_bool_value(r) == 1;
    return 0;
}

static int
decode_scope(struct loader *ld, const struct bucket_set *set, const struct ynode *v,
             struct scenario *sc, char **expression)
{
    int rc;

    *expression = NULL;
    if (ynode_is_null(v))
        return 0;
    if ((rc = ycheck_keys(ld, v, "leakybucket.ScopeType", scope_keys, ARRAY_SIZE(scope_keys))) <
            0 ||
        (rc = ystring(ld, yget(v, "type"), "type", &sc->scope_type)) < 0 ||
        (rc = ystring(ld, yget(v, "expression"), "expression", expression)) < 0)
        return rc;
    (void)set;
    return 0;
}

/* Per-type validation (buckettype.go), after compilation as in LoadBucket. */
static int
validate(struct loader *ld, const struct ynode *doc, struct scenario *sc)
{
    const struct bucket_spec *s = &sc->factory.spec;
    int line = doc->line;

    if (s->description == NULL || s->description[0] == '\0')
        return load_fail(ld, line, "invalid bucket from %s: description is mandatory", ld->file);
    switch (sc->type) {
    case BTYPE_LEAKY:
        if (s->capacity <= 0)
            return load_fail(ld, line,
                             "invalid bucket from %s: leaky bucket: invalid capacity '%" PRId64
                             "': must be > 0",
                             ld->file, s->capacity);
        if (s->leakspeed == NULL || s->leakspeed[0] == '\0')
            return load_fail(
                ld, line, "invalid bucket from %s: leaky bucket: leakspeed is required", ld->file);
        if (sc->leakspeed_ns <= 0)
            return load_fail(
                ld, line,
                "invalid bucket from %s: leaky bucket: invalid leakspeed '%s': must be > 0",
                ld->file, s->leakspeed);
        break;
    case BTYPE_TRIGGER:
        if (s->capacity != 0)
            return load_fail(ld, line,
                             "invalid bucket from %s: trigger bucket: invalid capacity '%" PRId64
                             "': must be 0",
                             ld->file, s->capacity);
        break;
    case BTYPE_COUNTER:
        if (s->capacity != -1)
            return load_fail(ld, line,
                             "invalid bucket from %s: counter bucket: invalid capacity '%" PRId64
                             "': must be -1",
                             ld->file, s->capacity);
        if (s->duration == NULL || s->duration[0] == '\0')
            return load_fail(
                ld, line, "invalid bucket from %s: counter bucket: duration is required", ld->file);
        if (sc->duration_ns <= 0)
            return load_fail(ld, line,
                             "invalid bucket from %s: counter bucket: invalid duration '%" PRId64
                             "': must be > 0",
                             ld->file, sc->duration_ns);
        break;
    case BTYPE_CONDITIONAL:
        if (sc->condition == NULL)
            return load_fail(ld, line,
                             "invalid bucket from %s: conditional bucket: a condition is required",
                             ld->file);
        if (s->leakspeed == NULL || s->leakspeed[0] == '\0')
            return load_fail(ld, line,
                             "invalid bucket from %s: conditional bucket: leakspeed is required",
                             ld->file);
        if (sc->leakspeed_ns <= 0)
            return load_fail(
                ld, line,
                "invalid bucket from %s: conditional bucket: invalid leakspeed '%s': must be > 0",
                ld->file, s->leakspeed);
        break;
    case BTYPE_BAYESIAN:
        if (sc->nbayes == 0)
            return load_fail(
                ld, line,
                "invalid bucket from %s: bayesian bucket: bayesian conditions are required",
                ld->file);
        if (sc->prior <= 0 || sc->prior > 1)
            return load_fail(
                ld, line,
                "invalid bucket from %s: bayesian bucket: invalid prior: must be > 0 and <= 1",
                ld->file);
        if (sc->threshold == 0 || sc->threshold > 1)
            return load_fail(
                ld, line,
                "invalid bucket from %s: bayesian bucket: invalid threshold: must be > 0 and <= 1",
                ld->file);
        if (s->capacity != -1)
            return load_fail(
                ld, line, "invalid bucket from %s: bayesian bucket: capacity must be -1", ld->file);
        /* CrowdSec accepts it, then panics on a zero ticker at the first pour. */
        if (sc->leakspeed_ns <= 0)
            return load_fail(ld, line,
                             "invalid bucket from %s: bayesian bucket: leakspeed is required",
                             ld->file);
        break;
    }
    return 0;
}

/* ScopeType.CompileFilter */
static int
compile_scope(struct loader *ld, const struct bucket_set *set, const struct ynode *doc,
              struct scenario *sc, const char *expression)
{
    const struct ynode *v = yget(doc, "scope");
    bool has_expr = expression != NULL && expression[0] != '\0';

    if (sc->scope_type == NULL || sc->scope_type[0] == '\0') {
        free(sc->scope_type);
        if ((sc->scope_type = strdup("Ip")) == NULL)
            return load_fail(ld, doc->line, "out of memory");
    }
    if (strcmp(sc->scope_type, "Ip") == 0) {
        if (has_expr)
            return load_fail(ld, v ? v->line : doc->line,
                             "invalid bucket from %s: filter is not allowed for IP scope",
                             ld->file);
        return 0;
    }
    if (strcmp(sc->scope_type, "Range") == 0 && !has_expr)
        return 0;
    if (!has_expr)
        return load_fail(ld, v ? v->line : doc->line,
                         "invalid bucket from %s: filter is mandatory for non-IP, non-Range scope",
                         ld->file);
    return compile(ld, set->env_scenario, v, "scope expression", expression, EXPR_T_ANY,
                   &sc->scope_expr);
}

static int
type_of(const char *s)
{
    static const char *const names[] = { "leaky", "trigger", "counter", "conditional", "bayesian" };

    for (size_t i = 0; s != NULL && i < ARRAY_SIZE(names); i++)
        if (strcmp(s, names[i]) == 0)
            return (int)i;
    return -1;
}

static bool
excluded(const struct bucket_options *o, const char *name)
{
    for (size_t i = 0; i < o->nexclusions; i++)
        if (o->exclusions[i] != NULL && strcmp(o->exclusions[i], name) == 0)
            return true;
    return false;
}

/*
 * One document into sc. Returns 1 when loaded, 0 when skipped (format out of
 * range), -1 on error.
 */
static int
load_doc(struct loader *ld, struct bucket_set *set, const struct ynode *doc, const char *version,
         const char *hash, struct scenario *sc)
{
    struct bucket_spec *s = &sc->factory.spec;
    char *format = NULL, *cond = NULL, *ovfl = NULL, *cancel = NULL, *expression = NULL;
    int64_t x;
    int rc, ok;

    if ((rc = ycheck_keys(ld, doc, "leakybucket.BucketSpec", spec_keys, ARRAY_SIZE(spec_keys))) < 0)
        return rc;
    if ((rc = ystring(ld, yget(doc, "format"), "format", &format)) < 0 ||
        (rc = ystring(ld, yget(doc, "description"), "description", &s->description)) < 0 ||
        (rc = ystring_seq(ld, yget(doc, "references"), "references")) < 0 ||
        (rc = ystring(ld, yget(doc, "type"), "type", &s->type)) < 0 ||
        (rc = ystring(ld, yget(doc, "name"), "name", &s->name)) < 0 ||
        (rc = yint(ld, yget(doc, "capacity"), "capacity", &s->capacity)) < 0 ||
        (rc = ystring(ld, yget(doc, "leakspeed"), "leakspeed", &s->leakspeed)) < 0 ||
        (rc = ystring(ld, yget(doc, "filter"), "filter", &s->filter)) < 0 ||
        (rc = ystring(ld, yget(doc, "groupby"), "groupby", &s->groupby)) < 0 ||
        (rc = ystring(ld, yget(doc, "distinct"), "distinct", &s->distinct)) < 0 ||
        (rc = ybool(ld, yget(doc, "debug"), "debug", &s->debug)) < 0 ||
        (rc = decode_labels(ld, yget(doc, "labels"), sc)) < 0 ||
        (rc = ystring(ld, yget(doc, "blackhole"), "blackhole", &s->blackhole)) < 0 ||
        (rc = decode_scope(ld, set, yget(doc, "scope"), sc, &expression)) < 0 ||
        (rc = ybool(ld, yget(doc, "reprocess"), "reprocess", &s->reprocess)) < 0 ||
        (rc = decode_data(ld, yget(doc, "data"), false)) < 0 ||
        (rc = ystring(ld, yget(doc, "condition"), "condition", &cond)) < 0 ||
        (rc = yint(ld, yget(doc, "cache_size"), "cache_size", &s->cache_size)) < 0 ||
        (rc = ystring(ld, yget(doc, "cancel_on"), "cancel_on", &cancel)) < 0 ||
        (rc = yfloat32(ld, yget(doc, "bayesian_prior"), "bayesian_prior", &sc->prior)) < 0 ||
        (rc = yfloat32(ld, yget(doc, "bayesian_threshold"), "bayesian_threshold", &sc->threshold)) <
            0 ||
        (rc = yseq(ld, yget(doc, "bayesian_conditions"), "bayesian_conditions")) < 0 ||
        (rc = ystring(ld, yget(doc, "overflow_filter"), "overflow_filter", &ovfl)) < 0 ||
        (rc = ystring(ld, yget(doc, "duration"), "duration", &s->duration)) < 0 ||
        (rc = ystring(ld, yget(doc, "version"), "version", &s->version)) < 0)
        goto out;
    rc = -1;
    if (s->name == NULL || s->name[0] == '\0') {
        load_fail(ld, doc->line, "nameless bucket");
        goto out;
    }
    ok = format_satisfied(format != NULL && format[0] != '\0' ? format : "1.0");
    if (ok < 0) {
        load_fail(ld, doc->line, "failed to check version: failed to parse '%.40s'", format);
        goto out;
    }
    if (ok == 0) {
        rc = 0;
        goto out;
    }
    if (version != NULL && model_strset(&s->version, version) < 0) {
        load_fail(ld, doc->line, "out of memory");
        goto out;
    }
    if (s->version == NULL && (s->version = strdup("")) == NULL) {
        load_fail(ld, doc->line, "out of memory");
        goto out;
    }
    memcpy(sc->hash, hash, sizeof(sc->hash));
    sc->factory.simulated = ld->opts->simulation != excluded(ld->opts, s->name);
    if ((ld->file != NULL && (sc->factory.filename = strdup(ld->file)) == NULL) ||
        (ld->opts->data_dir != NULL &&
         (sc->factory.data_dir = strdup(ld->opts->data_dir)) == NULL)) {
        load_fail(ld, doc->line, "out of memory");
        goto out;
    }

    /* parseDurations */
    if (parse_dur(ld, yget(doc, "leakspeed"), "leakspeed", s->leakspeed, &sc->leakspeed_ns) < 0 ||
        parse_dur(ld, yget(doc, "duration"), "duration", s->duration, &sc->duration_ns) < 0)
        goto out;
    /* compileExpr */
    if (s->filter == NULL || s->filter[0] == '\0') {
        load_fail(ld, doc->line, "bucket %s: missing filter directive", s->name);
        goto out;
    }
    if (compile(ld, set->env_scenario, yget(doc, "filter"), "filter", s->filter, EXPR_T(EXPR_BOOL),
                &sc->filter) < 0)
        goto out;
    if (s->groupby != NULL && s->groupby[0] != '\0' &&
        compile(ld, set->env_scenario, yget(doc, "groupby"), "groupby", s->groupby, EXPR_T_ANY,
                &sc->groupby) < 0)
        goto out;
    if ((sc->type = type_of(s->type)) < 0) {
        load_fail(ld, yget(doc, "type") ? yget(doc, "type")->line : doc->line,
                  "invalid type '%.40s' in %s", s->type ? s->type : "", ld->file);
        goto out;
    }
    /* buildOptionalProcessors */
    if (s->distinct != NULL && s->distinct[0] != '\0' &&
        compile(ld, set->env_scenario, yget(doc, "distinct"), "distinct", s->distinct, EXPR_T_ANY,
                &sc->distinct) < 0)
        goto out;
    if (cancel != NULL && cancel[0] != '\0' &&
        compile(ld, set->env_scenario, yget(doc, "cancel_on"), "cancel_on", cancel, EXPR_T_ANY,
                &sc->cancel_on) < 0)
        goto out;
    if (ovfl != NULL && ovfl[0] != '\0' &&
        compile(ld, set->env_ovfl, yget(doc, "overflow_filter"), "overflow_filter", ovfl,
                EXPR_T_ANY, &sc->overflow_filter) < 0)
        goto out;
    if (s->blackhole != NULL && s->blackhole[0] != '\0' &&
        gotime_parse_duration(s->blackhole, strlen(s->blackhole), &sc->blackhole_ns) < 0) {
        load_fail(ld, yget(doc, "blackhole")->line,
                  "error creating blackhole : blackhole duration not valid '%.60s'", s->blackhole);
        goto out;
    }
    if (cond != NULL && cond[0] != '\0' &&
        compile(ld, set->env_condition, yget(doc, "condition"), "condition", cond, EXPR_T_ANY,
                &sc->condition) < 0)
        goto out;
    if (decode_bayes(ld, set, yget(doc, "bayesian_conditions"), sc) < 0 ||
        decode_data(ld, yget(doc, "data"), true) < 0 || validate(ld, doc, sc) < 0 ||
        compile_scope(ld, set, doc, sc, expression) < 0)
        goto out;

    if (scenario_guard_init(set, sc) < 0) {
        load_fail(ld, doc->line, "out of memory");
        goto out;
    }
    sc->share_events = !expr_program_calls_methods(sc->condition) &&
                       !expr_program_calls_methods(sc->overflow_filter);
    for (size_t i = 0; i < sc->nbayes; i++)
        sc->share_events &= !expr_program_calls_methods(sc->bayes[i].condition);

    /* NewLeakyFromFactory: queue bound and lifetime */
    sc->qsize = s->capacity;
    if (s->cache_size > 0 && (s->cache_size <= s->capacity || s->capacity == -1))
        sc->qsize = s->cache_size;
    if (s->capacity > 0 && sc->leakspeed_ns != 0) {
        if (__builtin_mul_overflow(s->capacity + 1, sc->leakspeed_ns, &x))
            x = INT64_MAX;
        sc->lifetime_ns = x;
    }
    if (sc->duration_ns != 0)
        sc->lifetime_ns = sc->duration_ns;
    if (sc->type == BTYPE_CONDITIONAL || sc->type == BTYPE_BAYESIAN)
        sc->lifetime_ns = sc->leakspeed_ns;
    rc = 1;
out:
    free(format);
    free(cond);
    free(ovfl);
    free(cancel);
    free(expression);
    return rc;
}

static struct bucket_set *
set_new(void)
{
    struct bucket_set *s = calloc(1, sizeof(*s));

    if (s == NULL)
        return NULL;
    s->env_scenario = exprenv_new(EXPRENV_SCENARIO);
    s->env_condition = exprenv_new(EXPRENV_CONDITION);
    s->env_ovfl = exprenv_new(EXPRENV_OVERFLOW_FILTER);
    if (s->env_scenario == NULL || s->env_condition == NULL || s->env_ovfl == NULL) {
        bucket_set_free(s);
        return NULL;
    }
    return s;
}

static int
load_text(struct loader *ld, struct bucket_set *set, const char *buf, size_t len,
          const char *version)
{
    struct ytree *t = NULL;
    char msg[400], hash[65];
    int line = 0, rc;

    if (bucket_sha256_hex(buf, len, hash) < 0)
        return load_fail(ld, 0, "out of memory");
    if ((rc = ytree_parse(buf, len, &t, msg, sizeof(msg), &line)) < 0) {
        if (rc == -ENOMEM)
            return load_fail(ld, 0, "out of memory");
        return load_fail(ld, line, "bad yaml in %s: %s", ld->file, msg);
    }
    rc = 0;
    for (size_t i = 0; i < t->ndocs && rc == 0; i++) {
        const struct ynode *doc = t->docs[i];
        struct scenario sc = { 0 };

        if (ynode_is_null(doc)) {
            /* yaml.v2 decodes an empty document into a zero BucketSpec. */
            rc = load_fail(ld, doc ? doc->line : 0, "nameless bucket");
            break;
        }
        if (set->n == set->cap) {
            size_t ncap = set->cap ? set->cap * 2 : 16;
            struct scenario *nsc = realloc(set->sc, ncap * sizeof(*nsc));
            if (nsc == NULL) {
                rc = load_fail(ld, doc->line, "out of memory");
                break;
            }
            set->sc = nsc;
            set->cap = ncap;
        }
        int r = load_doc(ld, set, doc, version, hash, &sc);
        if (r == 1)
            set->sc[set->n++] = sc;
        else
            scenario_clear(&sc);
        if (r < 0)
            rc = -1;
    }
    ytree_free(t);
    return rc;
}

static const struct bucket_options default_opts;

struct bucket_set *
bucket_set_load_buffer(const char *name, const char *buf, size_t len, const char *version,
                       const struct bucket_options *opts, struct bucket_error *err)
{
    struct loader ld = { .file = name, .err = err, .opts = opts ? opts : &default_opts };
    struct bucket_set *s;

    memset(err, 0, sizeof(*err));
    if ((s = set_new()) == NULL) {
        load_fail(&ld, 0, "out of memory");
        return NULL;
    }
    if (load_text(&ld, s, buf, len, version) < 0) {
        bucket_set_free(s);
        return NULL;
    }
    return s;
}

/* Whole file into memory; scenario files are small, so cap them. */
#define BUCKET_MAX_FILE (16u << 20)

static int
read_file(struct loader *ld, const char *path, char **ret, size_t *ret_len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t len = 0, cap = 0;

    if (f == NULL)
        return load_fail(ld, 0, "can't access leaky configuration file %s: %s", path,
                         strerror(errno));
    while (true) {
        if (len == cap) {
            if (cap >= BUCKET_MAX_FILE) {
                free(buf);
                fclose(f);
                return load_fail(ld, 0, "%s: file larger than %u bytes", path, BUCKET_MAX_FILE);
            }
            size_t ncap = cap ? cap * 2 : 8192;
            char *nb = realloc(buf, ncap + 1);
            if (nb == NULL) {
                free(buf);
                fclose(f);
                return load_fail(ld, 0, "out of memory");
            }
            buf = nb;
            cap = ncap;
        }
        size_t r = fread(buf + len, 1, cap - len, f);
        len += r;
        if (r == 0)
            break;
    }
    bool bad = ferror(f) != 0;
    fclose(f);
    if (bad) {
        free(buf);
        return load_fail(ld, 0, "%s: read error", path);
    }
    buf[len] = '\0';
    *ret = buf;
    *ret_len = len;
    return 0;
}

struct bucket_set *
bucket_set_load(const struct bucket_file *files, size_t n, const struct bucket_options *opts,
                struct bucket_error *err)
{
    struct loader ld = { .err = err, .opts = opts ? opts : &default_opts };
    struct bucket_set *s;

    memset(err, 0, sizeof(*err));
    if ((s = set_new()) == NULL) {
        load_fail(&ld, 0, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        char *buf = NULL;
        size_t len = 0;
        ld.file = files[i].path;
        if (read_file(&ld, files[i].path, &buf, &len) < 0 ||
            load_text(&ld, s, buf, len, files[i].version) < 0) {
            free(buf);
            bucket_set_free(s);
            return NULL;
        }
        free(buf);
    }
    return s;
}

void
bucket_set_free(struct bucket_set *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < s->n; i++)
        scenario_clear(&s->sc[i]);
    free(s->sc);
    bucket_set_guards_clear(s);
    /* Programs borrow their env: free them first. */
    expr_env_free(s->env_scenario);
    expr_env_free(s->env_condition);
    expr_env_free(s->env_ovfl);
    free(s);
}

size_t
bucket_set_count(const struct bucket_set *s)
{
    return s->n;
}

const struct bucket_factory *
bucket_set_factory(const struct bucket_set *s, size_t i)
{
    return i < s->n ? &s->sc[i].factory : NULL;
}

const char *
bucket_set_hash(const struct bucket_set *s, size_t i)
{
    return i < s->n ? s->sc[i].hash : NULL;
}

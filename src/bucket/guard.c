/*
 * guard.c - the scenario prefilter: what bucket_match can decide about a
 * scenario from the event's maps alone, without running its filter.
 *
 * Of the 35 scenarios Debian enables, 33 are about HTTP and every one of them
 * runs its filter on every sshd event; most filters open with
 * `evt.Meta.log_type in [...]` or test an HTTP member that an sshd event does
 * not have. expr_program_shape() recognises those first conjuncts; here they
 * become guards over the event members they read (evt.Meta.x, evt.Parsed.x,
 * evt.Enriched.x), and the members of every guard of the set are read once
 * per event. A guard that fails means the filter would have returned false
 * with no error and nothing else run (its first conjunct is false), so
 * skipping it changes nothing. groupby and distinct expressions that are one
 * member are read directly as well.
 */
#include "common/common.h"

#include "bucket/internal.h"

/* Maps the shape's member to an event map; false when it is not evt.Meta/Parsed/Enriched.x. */
static bool
to_evt_member(const struct expr_shape_member *m, int *ret_map)
{
    static const char *const fields[] = {
        [EVT_MAP_META] = "Meta", [EVT_MAP_PARSED] = "Parsed", [EVT_MAP_ENRICHED] = "Enriched"
    };

    if (m->var != EXPRENV_SLOT_EVT)
        return false;
    for (size_t i = 0; i < ARRAY_SIZE(fields); i++)
        if (strcmp(m->field, fields[i]) == 0) {
            *ret_map = (int)i;
            return true;
        }
    return false;
}

/* The index of the member in the set's table, adding it. -1 when full, -ENOMEM. */
static int
set_member(struct bucket_set *set, int map, const char *key, size_t keylen)
{
    for (size_t i = 0; i < set->ngm; i++)
        if (set->gm[i].map == map && set->gm[i].keylen == keylen &&
            memcmp(set->gm[i].key, key, keylen) == 0)
            return (int)i;
    if (set->ngm == BUCKET_GUARD_MEMBERS)
        return -1;
    char *k = malloc(keylen + 1);
    if (k == NULL)
        return -ENOMEM;
    memcpy(k, key, keylen);
    k[keylen] = '\0';
    set->gm[set->ngm] = (struct evt_member){ .map = map, .key = k, .keylen = keylen };
    return (int)set->ngm++;
}

/* A groupby or distinct that is one member: *ret set (key owned), else left zeroed. */
static int
direct_member(const struct expr_program *p, struct evt_member *ret)
{
    struct expr_shape sh;
    int map, rc;

    memset(ret, 0, sizeof(*ret));
    if (p == NULL)
        return 0;
    if ((rc = expr_program_shape(p, &sh)) < 0)
        return rc;
    if (sh.kind == EXPR_SHAPE_MEMBER && sh.nmembers == 1 && to_evt_member(&sh.members[0], &map)) {
        ret->key = sh.members[0].key;
        sh.members[0].key = NULL;
        ret->keylen = sh.members[0].keylen;
        ret->map = map;
    }
    expr_shape_clear(&sh);
    return 0;
}

static bool
same_guard(const struct scen_guard *a, const struct scen_guard *b)
{
    if (a->kind != b->kind || a->nidx != b->nidx || a->nvalues != b->nvalues ||
        memcmp(a->idx, b->idx, a->nidx) != 0)
        return false;
    for (size_t i = 0; i < a->nvalues; i++)
        if (a->values[i].len != b->values[i].len ||
            memcmp(a->values[i].ptr, b->values[i].ptr, a->values[i].len) != 0)
            return false;
    return true;
}

static int
filter_guard(struct bucket_set *set, struct scenario *sc)
{
    struct expr_shape sh;
    struct scen_guard g = { .kind = EXPR_SHAPE_NONE };
    int rc;

    sc->guard = -1;
    if ((rc = expr_program_shape(sc->filter, &sh)) < 0)
        return rc;
    if (sh.kind != EXPR_SHAPE_IN && sh.kind != EXPR_SHAPE_EMPTY)
        goto out;
    for (size_t i = 0; i < sh.nmembers; i++) {
        int map, idx;
        if (!to_evt_member(&sh.members[i], &map))
            goto out;
        idx = set_member(set, map, sh.members[i].key, sh.members[i].keylen);
        if (idx == -ENOMEM) {
            rc = -ENOMEM;
            goto out;
        }
        if (idx < 0)
            goto out;
        g.idx[g.nidx++] = (uint8_t)idx;
    }
    g.kind = sh.kind;
    g.values = sh.values;
    g.nvalues = sh.nvalues;
    size_t k = 0;
    while (k < set->nguards && !same_guard(&set->guards[k], &g))
        k++;
    if (k == set->nguards) {
        if (k == BUCKET_GUARDS)
            goto out;
        set->guards[set->nguards++] = g;
        sh.values = NULL; /* now the set's */
        sh.nvalues = 0;
    }
    sc->guard = (int)k;
    sc->guard_exact = sh.exact;
out:
    expr_shape_clear(&sh);
    return rc;
}

int
scenario_guard_init(struct bucket_set *set, struct scenario *sc)
{
    int rc;

    set->writes_event |=
        expr_program_calls_methods(sc->filter) || expr_program_calls_methods(sc->groupby);
    if ((rc = filter_guard(set, sc)) < 0 || (rc = direct_member(sc->groupby, &sc->groupby_m)) < 0 ||
        (rc = direct_member(sc->distinct, &sc->distinct_m)) < 0)
        return rc;
    return 0;
}

void
scenario_guard_clear(struct scenario *sc)
{
    free(sc->groupby_m.key);
    free(sc->distinct_m.key);
    sc->guard = -1;
    memset(&sc->groupby_m, 0, sizeof(sc->groupby_m));
    memset(&sc->distinct_m, 0, sizeof(sc->distinct_m));
}

void
bucket_set_guards_clear(struct bucket_set *set)
{
    for (size_t i = 0; i < set->nguards; i++) {
        for (size_t k = 0; k < set->guards[i].nvalues; k++)
            free(set->guards[i].values[k].ptr);
        free(set->guards[i].values);
    }
    for (size_t i = 0; i < set->ngm; i++)
        free(set->gm[i].key);
    set->nguards = set->ngm = 0;
}

struct strv
evt_member_value(const struct event *evt, const struct evt_member *m)
{
    const struct strmap *map = m->map == EVT_MAP_META     ? &evt->meta
                               : m->map == EVT_MAP_PARSED ? &evt->parsed
                                                          : &evt->enriched;
    const struct strv *v = strmap_get(map, m->key, m->keylen);

    if (v == NULL || v->ptr == NULL)
        return (struct strv){ "", 0 };
    return *v;
}

bool
bucket_guard_passes(const struct scen_guard *g, const struct strv *vals)
{
    if (g->kind == EXPR_SHAPE_EMPTY) {
        for (size_t i = 0; i < g->nidx; i++)
            if (vals[g->idx[i]].len > 0)
                return true;
        return false;
    }
    struct strv v = vals[g->idx[0]];
    for (size_t i = 0; i < g->nvalues; i++) {
        const struct expr_shape_value *c = &g->values[i];
        /* The first byte tells most log types apart (http_access-log vs ssh_failed-auth). */
        if (c->len == v.len &&
            (v.len == 0 || (c->ptr[0] == v.ptr[0] && memcmp(c->ptr, v.ptr, v.len) == 0)))
            return true;
    }
    return false;
}

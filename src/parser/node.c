/*
 * node.c - one node run on an event, in CrowdSec's order (node.go process):
 * filter; whitelist; grok on apply_on or on the expression's string (match:
 * captures merged into Parsed, then the grok's statics); stash when the grok
 * matched or there is none; children, run even when the grok failed; then,
 * if the node succeeded, its statics (only when it has no whitelist or the
 * whitelist matched) and onsuccess: next_stage.
 */
#include "common/common.h"

#include "exprenv/exprenv.h"
#include "grok/grok.h"
#include "parser/internal.h"

/* The subject of the grok, or false when there is none (apply_on names a missing key). */
static bool
grok_subject(const struct parser_set *ps, struct parser_worker *w, const struct parser_grok *g,
             struct event *evt, char *buf, size_t size, struct strv *ret)
{
    struct expr_value out;
    struct expr_error err;

    if (g->apply_on_raw) {
        *ret = evt->line.raw;
        return true;
    }
    if (g->apply_on != NULL) {
        const struct strv *v = strmap_get_cstr(&evt->parsed, g->apply_on);
        if (v == NULL)
            return false;
        *ret = *v;
        return true;
    }
    w->vars[EXPRENV_SLOT_EVT] = exprenv_event_value(evt);
    if (expr_eval(w->vm, g->expression, w->vars, &out, &err) < 0) {
        PARSER_COUNT(ps, expr_errors);
        return false;
    }
    /* string, int, float; any other type greps an empty string, as grok.go does */
    *ret = (struct strv){ "", 0 };
    if (out.kind == EXPR_STRING || out.kind == EXPR_INT || out.kind == EXPR_FLOAT)
        (void)parser_value_string(&out, buf, size, ret);
    return true;
}

/*
 * Runs the grok: 1 = matched (captures merged, statics applied), 0 = no
 * match, <0 = error from the statics.
 */
static int
run_grok(const struct parser_set *ps, struct parser_worker *w, const struct parser_grok *g,
         struct event *evt)
{
    char buf[64];
    struct strv subject;
    const struct grok_pattern *p = g->pattern;
    int rc;

    if (!grok_subject(ps, w, g, evt, buf, sizeof(buf), &subject))
        return 0;
    switch (grok_match(p, subject.ptr, subject.len, w->fields)) {
    case GROK_MATCH: break;
    case GROK_LIMIT: PARSER_COUNT(ps, grok_limit_hits); return 0;
    default: return 0;
    }
    /*
     * The captures point into the subject, which may itself be a Parsed value;
     * strmap_set copies into the event's arena and never frees, so they stay
     * valid while later keys are written.
     */
    size_t nf = grok_field_count(p);
    for (size_t i = 0; i < nf; i++) {
        const char *name = grok_field_name(p, i);
        if ((rc = strmap_set(&evt->parsed, &evt->arena, name, strlen(name), w->fields[i].ptr,
                             w->fields[i].len)) < 0)
            return rc;
    }
    if ((rc = parser_statics_apply(ps, w, g->statics, g->nstatics, evt)) < 0)
        return rc;
    return 1;
}

/* Go's slices.Index(stages, evt.Stage). */
static ptrdiff_t
stage_index(const struct parser_set *ps, const struct event *evt)
{
    for (size_t i = 0; i < ps->nstages; i++)
        if (strv_eq_cstr(evt->stage, ps->stages[i]))
            return (ptrdiff_t)i;
    return -1;
}

int
parser_node_process(const struct parser_set *ps, struct parser_worker *w,
                    const struct parser_node *n, struct event *evt)
{
    struct expr_error err;
    bool state = true, grok_ok = false, whitelisted = false;
    int rc;

    if (n->filter != NULL) {
        w->vars[EXPRENV_SLOT_EVT] = exprenv_event_value(evt);
        rc = expr_eval_bool(w->vm, n->filter, w->vars, &err);
        if (rc < 0)
            PARSER_COUNT(ps, expr_errors);
        if (rc != 1)
            return 0;
    }
    if (parser_whitelist_present(&n->wl)) {
        if ((rc = parser_whitelist_check(ps, w, &n->wl, evt)) < 0)
            return rc;
        whitelisted = rc == 1;
    }
    if (n->has_grok) {
        if ((rc = run_grok(ps, w, &n->grok, evt)) < 0)
            return rc;
        grok_ok = rc == 1;
        state = grok_ok;
    }
    if (grok_ok || !n->has_grok)
        parser_stash_apply(w, n->stashes, n->nstashes, evt);

    for (size_t i = 0; i < n->nchildren; i++) {
        if ((rc = parser_node_process(ps, w, &n->children[i], evt)) < 0)
            return rc;
        if (rc == 1) {
            state = true;
            if (n->next_stage)
                break;
        } else if (!grok_ok) {
            /* a skeleton node (no successful grok) needs its children to succeed */
            state = false;
        }
    }
    if (!state)
        return 0;
    if (n->nstatics > 0 && (whitelisted || !parser_whitelist_present(&n->wl)) &&
        (rc = parser_statics_apply(ps, w, n->statics, n->nstatics, evt)) < 0)
        return rc;
    if (n->next_stage) {
        ptrdiff_t idx = stage_index(ps, evt);
        if ((size_t)(idx + 1) != ps->nstages) {
            const char *next = ps->stages[idx + 1];
            if ((rc = event_set_str(evt, &evt->stage, next, strlen(next))) < 0)
                return rc;
        }
    }
    return 1;
}

/*
 * transform.c - the datasources' `transform:` expression (CrowdSec's
 * pkg/acquisition transform()): run on each line read, with `evt` holding
 * only the Line, before any parsing. A string result replaces Line.Raw; an
 * array of strings gives one line each; anything else, an error or nil sends
 * the line as it was (CrowdSec logs and does the same), and is counted.
 *
 * One expression VM serves every source: the caller serialises the calls (the
 * live intake holds its mutex), since transforms are rare and cheap next to
 * parsing.
 */
#include "agent/internal.h"

#include "acquisition/acquisition.h"
#include "exprenv/exprenv.h"
#include "model/model.h"

struct transform_prog {
    const struct acq_common *common; /* the source it belongs to (borrowed from the acquisition) */
    struct expr_program *prog;
};

struct agent_transforms {
    struct expr_env *env;
    struct expr_vm *vm;
    struct transform_prog *progs;
    size_t n;
    uint64_t errors;
};

void
agent_transforms_free(struct agent_transforms *t)
{
    if (t == NULL)
        return;
    for (size_t i = 0; i < t->n; i++)
        expr_program_free(t->progs[i].prog);
    free(t->progs);
    expr_vm_free(t->vm);
    expr_env_free(t->env);
    free(t);
}

int
agent_transforms_new(const struct acquisition *acq, struct agent_transforms **ret,
                     struct agent_error *err)
{
    struct agent_transforms *t = NULL;
    size_t n = 0;

    *ret = NULL;
    for (size_t i = 0; i < acq_count(acq); i++)
        n += acq_common_at(acq, i)->transform != NULL;
    if (n == 0)
        return 0;
    if ((t = calloc(1, sizeof(*t))) == NULL || (t->progs = calloc(n, sizeof(*t->progs))) == NULL ||
        (t->env = exprenv_new(EXPRENV_PARSER)) == NULL || (t->vm = expr_vm_new()) == NULL)
        goto oom;
    for (size_t i = 0; i < acq_count(acq); i++) {
        const struct acq_common *c = acq_common_at(acq, i);
        struct expr_error e = { 0 };
        if (c->transform == NULL)
            continue;
        struct expr_program *p =
            expr_compile(t->env, c->transform, strlen(c->transform), EXPR_T_ANY, &e);
        if (p == NULL) {
            agent_errorf(err, "%s:%d: transform: compilation of '%.200s' failed: %s",
                         c->file != NULL ? c->file : "acquisition", c->line, c->transform,
                         e.message);
            agent_transforms_free(t);
            return -1;
        }
        t->progs[t->n++] = (struct transform_prog){ c, p };
    }
    *ret = t;
    return 0;
oom:
    agent_transforms_free(t);
    agent_errorf(err, "out of memory");
    return -1;
}

uint64_t
agent_transforms_errors(const struct agent_transforms *t)
{
    return t != NULL ? t->errors : 0;
}

/* The event a transform sees: Line only, as the datasource made it. NULL on OOM. */
static struct event *
line_event(const struct acq_line *l)
{
    const struct acq_common *c = l->common;
    struct event *e =
        event_new(EVENT_LOG, c->use_time_machine ? EVENT_TIMEMACHINE : EVENT_LIVE, true);
    if (e == NULL)
        return NULL;
    int rc = event_set_str(e, &e->line.raw, l->line, l->len);
    rc = rc < 0 ? rc : event_set_str(e, &e->line.src, l->src, strlen(l->src));
    rc = rc < 0 ? rc : event_set_str(e, &e->line.module, l->module, strlen(l->module));
    for (size_t i = 0; rc == 0 && i < c->nlabels; i++)
        rc = strmap_set_cstr(&e->line.labels, &e->arena, c->labels[i].key, c->labels[i].value);
    e->line.process = true;
    e->line.time = (struct gotime){ l->time_ns, 0 };
    if (rc < 0) {
        event_free(e);
        return NULL;
    }
    return e;
}

int
agent_transform_apply(struct agent_transforms *t, const struct acq_line *l,
                      int (*add)(void *ctx, const struct acq_line *l), void *ctx)
{
    const struct transform_prog *tp = NULL;

    for (size_t i = 0; t != NULL && i < t->n && tp == NULL; i++)
        if (t->progs[i].common == l->common)
            tp = &t->progs[i];
    if (tp == NULL)
        return add(ctx, l);
    struct event *e = line_event(l);
    if (e == NULL)
        return -ENOMEM;
    struct expr_value vars[1] = { exprenv_event_value(e) }, out;
    struct expr_error err = { 0 };
    struct acq_line nl = *l;
    int rc;

    if (expr_eval(t->vm, tp->prog, vars, &out, &err) < 0) {
        t->errors++;
        rc = add(ctx, l);
    } else if (out.kind == EXPR_STRING) {
        nl.line = out.u.s.ptr;
        nl.len = out.u.s.len;
        rc = add(ctx, &nl);
    } else if (out.kind == EXPR_ARRAY) {
        rc = 0;
        for (size_t i = 0; rc == 0 && i < out.u.a->len; i++) {
            const struct expr_value *v = &out.u.a->items[i];
            if (v->kind != EXPR_STRING) {
                t->errors++;
                rc = add(ctx, l);
                continue;
            }
            nl.line = v->u.s.ptr;
            nl.len = v->u.s.len;
            rc = add(ctx, &nl);
        }
    } else {
        t->errors++;
        rc = add(ctx, l);
    }
    event_free(e);
    return rc;
}

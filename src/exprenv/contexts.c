/*
 * contexts.c - the expression environments of CrowdSec, one per place it
 * compiles expressions (spec section 6, "Variables"): which variables exist
 * there, with which static types, plus the builtins and the CrowdSec
 * helpers every context has, and hubtest's basename().
 */
#include "exprenv/classes.h"

struct context_var {
    const char *name;
    struct expr_type type;
};

struct context_desc {
    const char *name;
    const struct context_var *vars;
    size_t nvars;
    bool hubtest; /* has basename() */
};

static const struct context_var evt_vars[] = {
    { "evt", T_OBJ(exprenv_event_class) },
};

static const struct context_var condition_vars[] = {
    { "evt", T_OBJ(exprenv_event_class) },
    { "queue", T_OBJ(exprenv_queue_class) },
    { "leaky", T_OBJ(exprenv_leaky_class) },
};

static const struct context_var overflow_filter_vars[] = {
    { "queue", T_OBJ(exprenv_queue_class) },
    { "signal", T_OBJ(exprenv_runtime_alert_class) },
    { "leaky", T_OBJ(exprenv_leaky_class) },
};

static const struct context_var profile_vars[] = {
    { "Alert", T_OBJ(exprenv_alert_class) },
};

/* match is a MatchedRule (map[string]any); req an *http.Request, dynamic here. */
static const struct context_var alert_context_vars[] = {
    { "evt", T_OBJ(exprenv_event_class) },
    { "match", T_OBJ(exprenv_json_object_class) },
    { "req", T_ANY },
};

static const struct context_var hubtest_parser_vars[] = {
    { "results", T_OBJ(exprenv_parser_results_class) },
};

static const struct context_var hubtest_scenario_vars[] = {
    { "results", T_OBJ(exprenv_event_list_class) },
};

static const struct context_var hubtest_vars[] = {
    { "results", T_ANY },
};

#define VARS(v) v, ARRAY_SIZE(v)

static const struct context_desc contexts[EXPRENV_NCONTEXTS] = {
    [EXPRENV_PLAIN] = { "plain", NULL, 0, false },
    [EXPRENV_PARSER] = { "parser", VARS(evt_vars), false },
    [EXPRENV_SCENARIO] = { "scenario", VARS(evt_vars), false },
    [EXPRENV_CONDITION] = { "condition", VARS(condition_vars), false },
    [EXPRENV_OVERFLOW_FILTER] = { "overflow_filter", VARS(overflow_filter_vars), false },
    [EXPRENV_PROFILE] = { "profile", VARS(profile_vars), false },
    [EXPRENV_ALERT_CONTEXT] = { "alert_context", VARS(alert_context_vars), false },
    [EXPRENV_HUBTEST_PARSER] = { "hubtest_parser", VARS(hubtest_parser_vars), true },
    [EXPRENV_HUBTEST_SCENARIO] = { "hubtest_scenario", VARS(hubtest_scenario_vars), true },
    [EXPRENV_HUBTEST] = { "hubtest", VARS(hubtest_vars), true },
};

/* Go's filepath.Base on a Unix path. */
static int
fn_basename(struct expr_vm *vm, const struct expr_value *args, size_t nargs, struct expr_value *ret)
{
    if (args[0].kind != EXPR_STRING)
        return expr_vm_error(vm, "cannot use %s as argument (type string) to call basename",
                             expr_kind_name(args[0].kind));
    const char *p = args[0].u.s.ptr;
    size_t n = args[0].u.s.len;

    if (n == 0) {
        *ret = expr_strv(".", 1);
        return 0;
    }
    while (n > 0 && p[n - 1] == '/')
        n--;
    if (n == 0) {
        *ret = expr_strv("/", 1);
        return 0;
    }
    size_t start = n;
    while (start > 0 && p[start - 1] != '/')
        start--;
    *ret = expr_strv(p + start, n - start);
    return 0;
}

static const struct expr_func hubtest_funcs[] = {
    { "basename", 1, 1, T_STR, fn_basename },
};

struct expr_env *
exprenv_new(enum exprenv_context ctx)
{
    if ((unsigned)ctx >= EXPRENV_NCONTEXTS)
        return NULL;
    const struct context_desc *d = &contexts[ctx];
    struct expr_env *env = expr_env_new();

    if (env == NULL)
        return NULL;
    if (expr_env_add_crowdsec_helpers(env) < 0)
        goto fail;
    if (d->hubtest && expr_env_add_funcs(env, hubtest_funcs, ARRAY_SIZE(hubtest_funcs)) < 0)
        goto fail;
    for (size_t i = 0; i < d->nvars; i++) {
        /* The slot constants in exprenv.h rely on declaration order. */
        if (expr_env_add_var(env, d->vars[i].name, d->vars[i].type) != (int)i)
            goto fail;
    }
    return env;
fail:
    expr_env_free(env);
    return NULL;
}

int
exprenv_context_parse(const char *name, enum exprenv_context *ret)
{
    for (size_t i = 0; i < EXPRENV_NCONTEXTS; i++) {
        if (strcmp(contexts[i].name, name) == 0) {
            *ret = (enum exprenv_context)i;
            return 0;
        }
    }
    return -EINVAL;
}

const char *
exprenv_context_name(enum exprenv_context ctx)
{
    if ((unsigned)ctx >= EXPRENV_NCONTEXTS)
        return "unknown";
    return contexts[ctx].name;
}

size_t
exprenv_context_nvars(enum exprenv_context ctx)
{
    if ((unsigned)ctx >= EXPRENV_NCONTEXTS)
        return 0;
    return contexts[ctx].nvars;
}

const char *
exprenv_context_var(enum exprenv_context ctx, size_t i)
{
    if ((unsigned)ctx >= EXPRENV_NCONTEXTS || i >= contexts[ctx].nvars)
        return NULL;
    return contexts[ctx].vars[i].name;
}

/*
 * env.c - the environment an expression is compiled against: declared
 * variables (name, static type, slot) and function tables.
 *
 * An env is built once at load time and then only read, by the compiler. The
 * function tables are borrowed (static arrays in builtins.c and helpers_*.c);
 * lookups walk the tables newest first, so a table added later shadows the
 * names of an earlier one (hubtest's basename, a test's fake helper).
 */
#include "common/common.h"

#include "expr/helpers.h"
#include "expr/internal.h"

struct env_var {
    char *name;
    struct expr_type type;
};

struct env_table {
    const struct expr_func *funcs;
    size_t n;
};

struct expr_env {
    struct env_var *vars;
    size_t nvars, varcap;
    struct env_table *tables;
    size_t ntables, tablecap;
};

struct expr_env *
expr_env_new(void)
{
    struct expr_env *env = calloc(1, sizeof(*env));
    if (!env)
        return NULL;
    if (expr_env_add_funcs(env, expr_builtins, expr_builtins_count) < 0) {
        expr_env_free(env);
        return NULL;
    }
    return env;
}

void
expr_env_free(struct expr_env *env)
{
    if (!env)
        return;
    for (size_t i = 0; i < env->nvars; i++)
        free(env->vars[i].name);
    free(env->vars);
    free(env->tables);
    free(env);
}

int
expr_env_add_var(struct expr_env *env, const char *name, struct expr_type type)
{
    if (!env || !name)
        return -EINVAL;
    if (expr_env_find_var(env, name, NULL) >= 0)
        return -EEXIST;
    if (env->nvars == env->varcap) {
        size_t ncap = env->varcap ? env->varcap * 2 : 8;
        struct env_var *nv = realloc(env->vars, ncap * sizeof(*nv));
        if (!nv)
            return -ENOMEM;
        env->vars = nv;
        env->varcap = ncap;
    }
    char *copy = strdup(name);
    if (!copy)
        return -ENOMEM;
    env->vars[env->nvars].name = copy;
    env->vars[env->nvars].type = type;
    return (int)env->nvars++;
}

int
expr_env_add_funcs(struct expr_env *env, const struct expr_func *funcs, size_t n)
{
    if (!env || (!funcs && n))
        return -EINVAL;
    if (env->ntables == env->tablecap) {
        size_t ncap = env->tablecap ? env->tablecap * 2 : 8;
        struct env_table *nt = realloc(env->tables, ncap * sizeof(*nt));
        if (!nt)
            return -ENOMEM;
        env->tables = nt;
        env->tablecap = ncap;
    }
    env->tables[env->ntables].funcs = funcs;
    env->tables[env->ntables].n = n;
    env->ntables++;
    return 0;
}

int
expr_env_add_crowdsec_helpers(struct expr_env *env)
{
    static const struct {
        const struct expr_func *funcs;
        const size_t *n;
    } tables[] = {
        { expr_helpers_strings, &expr_helpers_strings_count },
        { expr_helpers_json, &expr_helpers_json_count },
        { expr_helpers_misc, &expr_helpers_misc_count },
        { expr_helpers_ip, &expr_helpers_ip_count },
        { expr_helpers_data, &expr_helpers_data_count },
        { expr_helpers_net, &expr_helpers_net_count },
        { expr_helpers_xml, &expr_helpers_xml_count },
    };
    for (size_t i = 0; i < ARRAY_SIZE(tables); i++) {
        int rc = expr_env_add_funcs(env, tables[i].funcs, *tables[i].n);
        if (rc < 0)
            return rc;
    }
    return 0;
}

size_t
expr_env_nvars(const struct expr_env *env)
{
    return env ? env->nvars : 0;
}

int
expr_env_find_var(const struct expr_env *env, const char *name, struct expr_type *ret_type)
{
    for (size_t i = 0; i < env->nvars; i++) {
        if (strcmp(env->vars[i].name, name) == 0) {
            if (ret_type)
                *ret_type = env->vars[i].type;
            return (int)i;
        }
    }
    return -1;
}

const char *
expr_env_var_name(const struct expr_env *env, size_t slot)
{
    return slot < env->nvars ? env->vars[slot].name : NULL;
}

const struct expr_func *
expr_env_find_func(const struct expr_env *env, const char *name)
{
    for (size_t t = env->ntables; t-- > 0;) {
        const struct env_table *tb = &env->tables[t];
        for (size_t i = 0; i < tb->n; i++)
            if (tb->funcs[i].name && strcmp(tb->funcs[i].name, name) == 0)
                return &tb->funcs[i];
    }
    return NULL;
}

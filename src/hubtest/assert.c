/*
 * assert.c - parser.assert and scenario.assert, evaluated as pkg/hubtest's
 * ParserAssert and ScenarioAssert do:
 * lines split like bufio.ScanLines (one trailing \r dropped), empty lines
 * skipped, the datasource_path basename() shim applied, each line compiled in
 * hubtest's environment (results + every helper + basename) and run;
 * it must give a bool. A false line is a failure (the run goes on, counting
 * every line, as hubtest does); a line that does not compile, fails at run
 * time or is not a bool stops the test with an error. One difference: hubtest
 * does not count a false scenario line as failed when it has no " == " to
 * show a value of (`"1.2.3.4" in results[0].Overflow.GetSources()`); here
 * every false line fails, so a wrong source cannot pass unnoticed.
 */
#include "hubtest/internal.h"

#include "exprenv/exprenv.h"

char *
hubtest_basename_shim(const char *line)
{
    if (strstr(line, "datasource_path") == NULL || strstr(line, "basename(") != NULL)
        return strdup(line);
    /* strings.Split(expression, "=="): part 0 and part 1 only, as hubtest does. */
    const char *eq = strstr(line, "==");
    if (eq == NULL)
        return NULL; /* Go would index out of range and panic: report it as an error */
    const char *rhs = eq + 2;
    const char *next = strstr(rhs, "==");
    size_t rhs_len = next != NULL ? (size_t)(next - rhs) : strlen(rhs);
    struct str s = { 0 };
    if (str_appendf(&s, "basename(%.*s) == %.*s", (int)(eq - line), line, (int)rhs_len, rhs) < 0) {
        str_free(&s);
        return NULL;
    }
    return str_steal(&s);
}

/*
 * hubtest's variableRE `([^ =]+) == .*`: the run of non-space, non-'='
 * bytes right before the first " == " that has one. NULL when none.
 */
static char *
assert_variable(const char *line)
{
    for (const char *p = strstr(line, " == "); p != NULL; p = strstr(p + 1, " == ")) {
        const char *start = p;
        while (start > line && start[-1] != ' ' && start[-1] != '=')
            start--;
        if (start < p)
            return strndup(start, (size_t)(p - start));
    }
    return NULL;
}

/* Evaluates the left side of a failed line for the report; NULL when it cannot. */
static char *
actual_value(const struct expr_env *env, struct expr_vm *vm, const struct expr_value *vars,
             const char *line)
{
    char *var = assert_variable(line);
    if (var == NULL)
        return NULL;
    char *shimmed = hubtest_basename_shim(var);
    free(var);
    if (shimmed == NULL)
        return NULL;
    struct expr_error eerr;
    struct expr_program *p = expr_compile(env, shimmed, strlen(shimmed), EXPR_T_ANY, &eerr);
    free(shimmed);
    if (p == NULL)
        return NULL;
    struct expr_value v;
    char *out = NULL;
    if (expr_eval(vm, p, vars, &v, &eerr) == 0) {
        struct str s = { 0 };
        /* Strings are shown quoted so an empty value is visible. */
        if (v.kind == EXPR_STRING) {
            json_t *j = json_stringn(v.u.s.ptr, v.u.s.len);
            out = j != NULL ? json_dumps(j, JSON_ENCODE_ANY) : NULL;
            json_decref(j);
        } else if (expr_value_format_go(vm, &v, &s) == 0) {
            out = str_steal(&s);
        }
        str_free(&s);
    }
    expr_program_free(p);
    return out;
}

static int
read_file(const char *path, char **ret, size_t *ret_len, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    struct str s = { 0 };
    char buf[65536];
    size_t n;
    int rc = 0;
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
        if (str_append(&s, buf, n) < 0) {
            rc = -1;
            break;
        }
    }
    if (ferror(f))
        rc = -1;
    fclose(f);
    if (rc < 0) {
        str_free(&s);
        snprintf(err, errlen, "%s: could not read", path);
        return -1;
    }
    *ret_len = s.len;
    *ret = s.buf != NULL ? str_steal(&s) : strdup("");
    return *ret == NULL ? -1 : 0;
}

static int
set_owned(char **dst, const char *s)
{
    free(*dst);
    *dst = strdup(s);
    return *dst == NULL ? -1 : 0;
}

/* One assert file in env ctx with results bound to the `results` variable. */
static int
assert_file(const char *path, enum exprenv_context ctx, struct expr_value results,
            struct hubtest_result *ret, char *err, size_t errlen)
{
    char *text = NULL;
    size_t len = 0;
    if (read_file(path, &text, &len, err, errlen) < 0)
        return -1;
    int rc = -1;
    struct expr_env *env = exprenv_new(ctx);
    struct expr_vm *vm = expr_vm_new();
    if (env == NULL || vm == NULL) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    struct expr_value vars[1] = { results };
    bool failed = false;
    char *line = text;
    char *end = text + len;
    while (line < end) {
        char *nl = memchr(line, '\n', (size_t)(end - line));
        char *next = nl != NULL ? nl + 1 : end;
        char *stop = nl != NULL ? nl : end;
        if (stop > line && stop[-1] == '\r')
            stop--;
        *stop = '\0';
        if (stop == line || memchr(line, '\0', (size_t)(stop - line)) != NULL) {
            if (stop != line) {
                snprintf(err, errlen, "NUL byte in an assert line");
                set_owned(&ret->first_failure, "");
                goto out;
            }
            line = next;
            continue;
        }
        char *expr = hubtest_basename_shim(line);
        if (expr == NULL) {
            snprintf(err, errlen, "cannot apply the basename shim");
            set_owned(&ret->first_failure, line);
            goto out;
        }
        struct expr_error eerr;
        struct expr_program *p = expr_compile(env, expr, strlen(expr), EXPR_T_ANY, &eerr);
        free(expr);
        if (p == NULL) {
            snprintf(err, errlen, "unable to run assert: compile error: %s", eerr.message);
            set_owned(&ret->first_failure, line);
            goto out;
        }
        struct expr_value v;
        int erc = expr_eval(vm, p, vars, &v, &eerr);
        expr_program_free(p);
        if (erc < 0) {
            snprintf(err, errlen, "unable to run assert: runtime error: %s", eerr.message);
            set_owned(&ret->first_failure, line);
            goto out;
        }
        if (v.kind != EXPR_BOOL) {
            snprintf(err, errlen, "assertion is not a condition (%s)", expr_kind_name(v.kind));
            set_owned(&ret->first_failure, line);
            goto out;
        }
        ret->assertions++;
        if (!v.u.b && !failed) {
            failed = true;
            /* The first failure of the test: a parser one is kept over a scenario one. */
            if (ret->first_failure != NULL) {
                line = next;
                continue;
            }
            if (set_owned(&ret->first_failure, line) < 0) {
                snprintf(err, errlen, "out of memory");
                goto out;
            }
            free(ret->actual);
            ret->actual = actual_value(env, vm, vars, line);
        }
        line = next;
    }
    rc = failed ? 0 : 1;
out:
    expr_vm_free(vm);
    expr_env_free(env);
    free(text);
    return rc;
}

int
hubtest_assert_parser(const char *path, const struct parser_results *results,
                      struct hubtest_result *ret, char *err, size_t errlen)
{
    return assert_file(path, EXPRENV_HUBTEST_PARSER, exprenv_parser_results_value(results), ret,
                       err, errlen);
}

int
hubtest_assert_scenario(const char *path, const struct event_list *results,
                        struct hubtest_result *ret, char *err, size_t errlen)
{
    return assert_file(path, EXPRENV_HUBTEST_SCENARIO, exprenv_event_list_value(results), ret, err,
                       errlen);
}

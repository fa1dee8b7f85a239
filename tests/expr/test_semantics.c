/*
 * test_semantics.c - the table-driven semantics suite of the expression
 * engine.
 *
 * Every *.jsonl file of tests/expr/semantics/ holds one case a line (lines
 * starting with '#' are comments):
 *
 *   {"expr": "1 + 2", "env": {"x": 1}, "want": 3, "type": "int"}
 *   {"expr": "1 % z", "env": {"z": 0}, "error": "integer divide by zero", "phase": "run"}
 *
 * Each case is compiled in a plain environment holding the builtins, the
 * CrowdSec helpers and one variable per env key (statically typed after its
 * JSON value; integers stay int), evaluated, and its result compared with
 * `want` as JSON (numbers by value) plus its `type` (int, float, string,
 * bool, nil, array, map, duration, time), or its error message with the
 * `error` substring and, when given, the phase (compile or run). `data`
 * lists helper data files to load from semantics/data/ first.
 *
 * The expectations are expr-lang's own answers: check_go/check.sh replays the
 * files through expr-lang 1.17.8 in Go; cases it cannot run carry
 * "verified" with their source (CrowdSec's tests). The output is TAP, one
 * line per case, with the expected and actual values under a failing one.
 */
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "common/str.h"
#include "expr/expr.h"
#include "expr/internal.h"

#define SEMANTICS_MAX_VARS 32

struct semantics_run {
    const char *dir; /* the case directory */
    int n;           /* cases run so far */
    int failed;      /* cases that failed */
    int skipped;     /* known gaps, reported as TAP SKIP */
    struct str diag; /* the failure message of the current case */
};

/* Builds an expression value from JSON in the vm's arena, keeping integers as int. */
static int
value_from_jansson(struct expr_vm *vm, const json_t *j, struct expr_value *ret)
{
    switch (json_typeof(j)) {
    case JSON_NULL: *ret = expr_nil(); return 0;
    case JSON_TRUE: *ret = expr_bool(true); return 0;
    case JSON_FALSE: *ret = expr_bool(false); return 0;
    case JSON_INTEGER: *ret = expr_int(json_integer_value(j)); return 0;
    case JSON_REAL: *ret = expr_float(json_real_value(j)); return 0;
    case JSON_STRING:
        *ret = expr_vm_str(vm, json_string_value(j), json_string_length(j));
        return ret->kind == EXPR_STRING ? 0 : -1;
    case JSON_ARRAY: {
        struct expr_array *a = expr_vm_array(vm, json_array_size(j));
        if (a == NULL)
            return -1;
        size_t i;
        const json_t *x;
        json_array_foreach(j, i, x)
        {
            struct expr_value v;
            if (value_from_jansson(vm, x, &v) < 0 || expr_array_push(vm, a, v) < 0)
                return -1;
        }
        *ret = (struct expr_value){ .kind = EXPR_ARRAY, .u.a = a };
        return 0;
    }
    case JSON_OBJECT: {
        struct expr_map *m = expr_vm_map(vm, json_object_size(j));
        if (m == NULL)
            return -1;
        const char *key;
        json_t *x;
        json_object_foreach((json_t *)j, key, x)
        {
            struct expr_value k = expr_vm_str(vm, key, strlen(key)), v;
            if (k.kind != EXPR_STRING || value_from_jansson(vm, x, &v) < 0 ||
                expr_map_set(vm, m, k.u.s.ptr, k.u.s.len, v) < 0)
                return -1;
        }
        *ret = (struct expr_value){ .kind = EXPR_MAP, .u.m = m };
        return 0;
    }
    }
    return -1;
}

/* The static type a Go env map gives a value of this JSON type. */
static struct expr_type
type_of_jansson(const json_t *j)
{
    switch (json_typeof(j)) {
    case JSON_TRUE:
    case JSON_FALSE: return EXPR_T(EXPR_BOOL);
    case JSON_INTEGER: return EXPR_T(EXPR_INT);
    case JSON_REAL: return EXPR_T(EXPR_FLOAT);
    case JSON_STRING: return EXPR_T(EXPR_STRING);
    case JSON_ARRAY: return EXPR_T(EXPR_ARRAY);
    case JSON_OBJECT: return EXPR_T(EXPR_MAP);
    case JSON_NULL: return EXPR_T(EXPR_NIL);
    }
    return EXPR_T_ANY;
}

/* The case-file name of a result's type. */
static const char *
type_name(const struct expr_value *v)
{
    switch ((enum expr_kind)v->kind) {
    case EXPR_NIL: return "nil";
    case EXPR_BOOL: return "bool";
    case EXPR_INT: return "int";
    case EXPR_FLOAT: return "float";
    case EXPR_STRING: return "string";
    case EXPR_ARRAY: return "array";
    case EXPR_MAP: return "map";
    case EXPR_TIME: return "time";
    case EXPR_DURATION: return "duration";
    case EXPR_OBJECT:
        /* Go's time.Weekday and time.Month are ints to reflect's Kind(), as check_go reports. */
        if (v->u.o.cls == &expr_weekday_class || v->u.o.cls == &expr_month_class)
            return "int";
        return v->u.o.cls->is_map ? "map" : v->u.o.cls->at ? "array" : "object";
    case EXPR_FUNC: return "func";
    case EXPR_ANY: return "any";
    }
    return "?";
}

/* JSON equality with numbers compared by value, as Go's 1 and 1.0 both print 1. */
static bool
json_same(const json_t *a, const json_t *b)
{
    if (json_is_number(a) && json_is_number(b))
        return json_number_value(a) == json_number_value(b) &&
               (!json_is_integer(a) || !json_is_integer(b) ||
                json_integer_value(a) == json_integer_value(b));
    if (json_typeof(a) != json_typeof(b))
        return false;
    if (json_is_array(a)) {
        if (json_array_size(a) != json_array_size(b))
            return false;
        for (size_t i = 0; i < json_array_size(a); i++)
            if (!json_same(json_array_get(a, i), json_array_get(b, i)))
                return false;
        return true;
    }
    if (json_is_object(a)) {
        if (json_object_size(a) != json_object_size(b))
            return false;
        const char *key;
        json_t *x;
        json_object_foreach((json_t *)a, key, x)
        {
            const json_t *y = json_object_get(b, key);
            if (y == NULL || !json_same(x, y))
                return false;
        }
        return true;
    }
    return json_equal((json_t *)a, (json_t *)b);
}

static int
load_data(struct semantics_run *r, const json_t *data)
{
    char dir[1024];
    size_t i;
    const json_t *d;

    snprintf(dir, sizeof(dir), "%s/data", r->dir);
    json_array_foreach(data, i, d)
    {
        const char *file = json_string_value(json_object_get(d, "file"));
        const char *type = json_string_value(json_object_get(d, "type"));
        enum expr_data_type t = EXPR_DATA_STRING;
        struct expr_error err = { 0 };

        if (file == NULL || type == NULL)
            return str_appendf(&r->diag, "bad data entry"), -1;
        if (strcmp(type, "regexp") == 0)
            t = EXPR_DATA_REGEXP;
        else if (strcmp(type, "map") == 0)
            t = EXPR_DATA_MAP;
        else if (strcmp(type, "bots") == 0)
            t = EXPR_DATA_BOTS;
        if (expr_data_load(dir, file, t, &err) < 0)
            return str_appendf(&r->diag, "loading %s: %s", file, err.message), -1;
    }
    return 0;
}

/* Checks an error against the case; returns true when it was expected. */
static bool
check_error(struct semantics_run *r, const json_t *c, const char *phase, const char *msg)
{
    const char *want = json_string_value(json_object_get(c, "error"));
    const char *want_phase = json_string_value(json_object_get(c, "phase"));

    if (want == NULL) {
        str_appendf(&r->diag, "unexpected %s error: %s", phase, msg);
        return false;
    }
    if (strstr(msg, want) == NULL || (want_phase != NULL && strcmp(want_phase, phase) != 0)) {
        str_appendf(&r->diag, "want %s error containing \"%s\", got %s error: %s",
                    want_phase ? want_phase : "an", want, phase, msg);
        return false;
    }
    return true;
}

/* Runs one case; returns true when it passed, else leaves the reason in r->diag. */
static bool
run_case(struct semantics_run *r, const json_t *c)
{
    const char *src = json_string_value(json_object_get(c, "expr"));
    const json_t *env_json = json_object_get(c, "env");
    const json_t *data = json_object_get(c, "data");
    struct expr_env *env = expr_env_new();
    struct expr_vm *env_vm = expr_vm_new(), *vm = expr_vm_new();
    struct expr_program *prog = NULL;
    struct expr_value vars[SEMANTICS_MAX_VARS];
    struct expr_error err = { 0 };
    struct expr_value result;
    struct str got = STR_INIT;
    json_t *got_json = NULL;
    bool ok = false;

    if (src == NULL || env == NULL || env_vm == NULL || vm == NULL ||
        expr_env_add_crowdsec_helpers(env) < 0) {
        str_appendf(&r->diag, "bad case or out of memory");
        goto out;
    }
    if (json_is_array(data) && load_data(r, data) < 0)
        goto out;
    if (json_is_object(env_json)) {
        const char *key;
        json_t *val;
        json_object_foreach((json_t *)env_json, key, val)
        {
            int slot = expr_env_add_var(env, key, type_of_jansson(val));
            if (slot < 0 || slot >= SEMANTICS_MAX_VARS ||
                value_from_jansson(env_vm, val, &vars[slot]) < 0) {
                str_appendf(&r->diag, "cannot bind env variable %s", key);
                goto out;
            }
        }
    }

    prog = expr_compile(env, src, strlen(src), EXPR_T_ANY, &err);
    if (prog == NULL) {
        ok = check_error(r, c, "compile", err.message);
        goto out;
    }
    if (expr_eval(vm, prog, vars, &result, &err) < 0) {
        ok = check_error(r, c, "run", err.message);
        goto out;
    }
    if (json_object_get(c, "error") != NULL) {
        str_appendf(&r->diag, "want error containing \"%s\", got a value",
                    json_string_value(json_object_get(c, "error")));
        goto out;
    }
    if (expr_value_to_json(vm, &result, false, &got) < 0) {
        str_appendf(&r->diag, "cannot encode the %s result as JSON", type_name(&result));
        goto out;
    }
    got_json = json_loadb(got.buf ? got.buf : "", got.len, JSON_DECODE_ANY, NULL);
    const json_t *want = json_object_get(c, "want");
    const char *want_type = json_string_value(json_object_get(c, "type"));
    if (got_json == NULL || want == NULL || !json_same(want, got_json)) {
        char *w = want ? json_dumps(want, JSON_ENCODE_ANY) : NULL;
        str_appendf(&r->diag, "want %s, got %.*s", w ? w : "(none)", (int)got.len,
                    got.buf ? got.buf : "");
        free(w);
        goto out;
    }
    if (want_type != NULL && strcmp(want_type, type_name(&result)) != 0) {
        str_appendf(&r->diag, "want type %s, got %s", want_type, type_name(&result));
        goto out;
    }
    ok = true;
out:
    json_decref(got_json);
    str_free(&got);
    expr_program_free(prog);
    expr_vm_free(vm);
    expr_vm_free(env_vm);
    expr_env_free(env);
    return ok;
}

/* Prints s on one TAP line: newlines and tabs escaped. */
static void
print_escaped(const char *s)
{
    for (; *s; s++) {
        if (*s == '\n')
            fputs("\\n", stdout);
        else if (*s == '\t')
            fputs("\\t", stdout);
        else
            putchar(*s);
    }
}

static void
run_file(struct semantics_run *r, const char *name)
{
    char path[1024], line[65536];
    int lineno = 0;
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", r->dir, name);
    f = fopen(path, "r");
    if (f == NULL) {
        printf("not ok %d - %s: %s\n", ++r->n, name, strerror(errno));
        r->failed++;
        return;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        json_error_t jerr;
        json_t *c;
        const char *p = line;

        lineno++;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '#' || *p == '\n' || *p == '\0')
            continue;
        str_clear(&r->diag);
        c = json_loads(p, 0, &jerr);
        bool ok = c != NULL && run_case(r, c);
        if (c == NULL)
            str_appendf(&r->diag, "bad case: %s", jerr.text);
        /*
         * A known gap ("gap": "reason") still runs: failing, it is a TAP SKIP
         * with the reason; passing, it fails so that the stale marker goes.
         */
        const char *gap = c ? json_string_value(json_object_get(c, "gap")) : NULL;
        r->n++;
        if (gap && !ok) {
            printf("ok %d - %s:%d ", r->n, name, lineno);
            print_escaped(json_string_value(json_object_get(c, "expr")));
            fputs(" # SKIP ", stdout);
            print_escaped(gap);
            putchar('\n');
            r->skipped++;
            json_decref(c);
            continue;
        }
        if (gap) {
            ok = false;
            str_appendf(&r->diag, "marked as a gap but passes: remove its \"gap\" field");
        }
        printf("%s %d - %s:%d ", ok ? "ok" : "not ok", r->n, name, lineno);
        print_escaped(c ? json_string_value(json_object_get(c, "expr")) : "");
        putchar('\n');
        if (!ok) {
            r->failed++;
            printf("# ");
            print_escaped(r->diag.buf ? r->diag.buf : "");
            putchar('\n');
        }
        json_decref(c);
    }
    fclose(f);
}

static int
filter_jsonl(const struct dirent *d)
{
    size_t n = strlen(d->d_name);
    return n > 6 && strcmp(d->d_name + n - 6, ".jsonl") == 0;
}

int
main(void)
{
    const char *root = getenv("PHALANX_SOURCE_ROOT");
    char dir[1024];
    struct dirent **names = NULL;
    struct semantics_run r = { .dir = dir, .diag = STR_INIT };
    int n;

    snprintf(dir, sizeof(dir), "%s/tests/expr/semantics", root ? root : ".");
    /* The stash the GetFromStash/SetInStash cases use: 100 keys for an hour. */
    if (expr_stash_declare("semantics", 100, 3600LL * 1000000000LL) < 0) {
        printf("1..0 # cannot declare the stash\n");
        return 1;
    }
    n = scandir(dir, &names, filter_jsonl, alphasort);
    if (n <= 0) {
        printf("1..0 # no case files in %s\n", dir);
        return 1;
    }
    for (int i = 0; i < n; i++) {
        run_file(&r, names[i]->d_name);
        free(names[i]);
    }
    free(names);
    printf("1..%d\n", r.n);
    if (r.failed)
        printf("# %d of %d cases failed\n", r.failed, r.n);
    if (r.skipped)
        printf("# %d known gaps skipped\n", r.skipped);
    str_free(&r.diag);
    expr_data_reset();
    expr_stash_reset();
    return r.failed ? 1 : 0;
}

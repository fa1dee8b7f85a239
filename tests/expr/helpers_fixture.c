/*
 * helpers_fixture.c - the shared part of the CrowdSec helper tests
 * (helpers_fixture.h): helper look-up and calls, the rendering of results
 * as comparable text, the fixture folder and the table runner.
 */
#include "helpers_fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/gotime.h"
#include "expr/internal.h"

const struct expr_func *
fixture_find_func(const struct expr_func *tab, size_t ntab, const char *name)
{
    for (size_t i = 0; i < ntab; i++)
        if (strcmp(tab[i].name, name) == 0)
            return &tab[i];
    return NULL;
}

const struct expr_func *
fixture_find(const struct expr_func *tab, size_t ntab, const char *name)
{
    const struct expr_func *f = fixture_find_func(tab, ntab, name);
    if (f == NULL) {
        fail_msg("helper %s not registered", name);
        abort();
    }
    return f;
}

int
fixture_call(struct expr_vm *vm, const struct expr_func *tab, size_t ntab, const char *name,
             const struct expr_value *args, size_t n, struct expr_value *ret)
{
    const struct expr_func *f = fixture_find(tab, ntab, name);
    assert_true((int)n >= f->min_args && (f->max_args < 0 || (int)n <= f->max_args));
    return f->call(vm, args, n, ret);
}

void
fixture_check_registry(const struct expr_func *tab, size_t ntab, const struct fixture_arity *want,
                       size_t nwant)
{
    assert_int_equal(ntab, nwant);
    for (size_t i = 0; i < nwant; i++) {
        const struct expr_func *f = fixture_find_func(tab, ntab, want[i].name);
        if (f == NULL) {
            fail_msg("%s missing", want[i].name);
            return;
        }
        if (f->min_args != want[i].min || f->max_args != want[i].max)
            fail_msg("%s: arity [%d, %d]", want[i].name, f->min_args, f->max_args);
    }
}

struct expr_value
fixture_str(const char *s)
{
    return expr_strv(s, strlen(s));
}

bool
fixture_str_is(const struct expr_value *v, const char *want)
{
    return v->kind == EXPR_STRING && v->u.s.len == strlen(want) &&
           memcmp(v->u.s.ptr, want, v->u.s.len) == 0;
}

static int
entry_cmp(const void *a, const void *b)
{
    const struct expr_map_entry *x = a, *y = b;
    int c = memcmp(x->key, y->key, x->keylen < y->keylen ? x->keylen : y->keylen);
    return c != 0 ? c : (x->keylen > y->keylen) - (x->keylen < y->keylen);
}

void
fixture_render(struct expr_vm *vm, const struct expr_value *v, struct str *out)
{
    char buf[64];

    switch (v->kind) {
    case EXPR_NIL: str_append_cstr(out, "nil"); break;
    case EXPR_BOOL: str_append_cstr(out, v->u.b ? "true" : "false"); break;
    case EXPR_INT: str_appendf(out, "%lld", (long long)v->u.i); break;
    case EXPR_FLOAT: str_appendf(out, "%.10gf", v->u.f); break;
    case EXPR_STRING:
        str_append_char(out, '"');
        str_append(out, v->u.s.ptr, v->u.s.len);
        str_append_char(out, '"');
        break;
    case EXPR_DURATION:
        gotime_format_duration(v->u.d, buf, sizeof(buf));
        str_appendf(out, "d%s", buf);
        break;
    case EXPR_ARRAY:
        str_append_char(out, '[');
        for (size_t i = 0; v->u.a != NULL && i < v->u.a->len; i++) {
            if (i > 0)
                str_append_cstr(out, ", ");
            fixture_render(vm, &v->u.a->items[i], out);
        }
        str_append_char(out, ']');
        break;
    case EXPR_MAP: {
        size_t n = v->u.m != NULL ? v->u.m->len : 0;
        struct expr_map_entry *e = calloc(n + 1, sizeof(*e));
        if (n > 0)
            memcpy(e, v->u.m->entries, n * sizeof(*e));
        qsort(e, n, sizeof(*e), entry_cmp);
        str_append_char(out, '{');
        for (size_t i = 0; i < n; i++) {
            if (i > 0)
                str_append_cstr(out, ", ");
            str_append(out, e[i].key, e[i].keylen);
            str_append_cstr(out, ": ");
            fixture_render(vm, &e[i].value, out);
        }
        str_append_char(out, '}');
        free(e);
        break;
    }
    default: str_appendf(out, "<kind %d>", v->kind); break;
    }
}

void
fixture_data_dir(char *buf, size_t size)
{
    const char *root = getenv("PHALANX_SOURCE_ROOT");
    const char *slash = strrchr(__FILE__, '/');
    if (root)
        snprintf(buf, size, "%s/tests/expr/data", root);
    else
        snprintf(buf, size, "%.*s/data", slash ? (int)(slash - __FILE__) : 1,
                 slash ? __FILE__ : ".");
}

static const struct expr_func *cur_tab;
static size_t cur_ntab;

/* One case = one cmocka test, so that every case is one TAP line. */
static void
run_one(void **state)
{
    const struct fixture_case *c = *state;
    const struct expr_func *f = fixture_find_func(cur_tab, cur_ntab, c->fn);
    struct expr_value ret = { 0 };
    struct str got = STR_INIT;
    bool ok;

    if (f == NULL) {
        fail_msg("%s is not registered", c->fn);
        return;
    }
    if ((int)c->nargs < f->min_args || (f->max_args >= 0 && (int)c->nargs > f->max_args))
        fail_msg("%s: arity %zu out of [%d, %d]", c->fn, c->nargs, f->min_args, f->max_args);
    struct expr_vm *vm = expr_vm_new();
    if (vm == NULL)
        abort();
    int rc = f->call(vm, c->args, c->nargs, &ret);
    if (rc != 0) {
        str_appendf(&got, "ERR:%s", vm->error);
        ok = strncmp(c->want, "ERR:", 4) == 0 && strstr(vm->error, c->want + 4) != NULL;
    } else {
        fixture_render(vm, &ret, &got);
        ok = strcmp(got.buf, c->want) == 0;
    }
    if (!ok)
        printf("# %s: got %s, want %s\n", c->fn, got.buf, c->want);
    str_free(&got);
    expr_vm_free(vm);
    assert_true(ok);
}

int
fixture_run_all(const char *group, const struct expr_func *tab, size_t ntab,
                const struct CMUnitTest *extra, size_t nextra, const struct fixture_case *cases,
                size_t n)
{
    struct CMUnitTest *tests = calloc(nextra + n, sizeof(*tests));
    char **names = calloc(n, sizeof(*names));
    int rc;

    cur_tab = tab;
    cur_ntab = ntab;
    if (tests == NULL || names == NULL)
        return 1;
    memcpy(tests, extra, nextra * sizeof(*tests));
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(cases[i].fn) + 32;
        names[i] = malloc(len);
        if (names[i] == NULL)
            return 1;
        snprintf(names[i], len, "%s #%zu", cases[i].fn, i);
        tests[nextra + i] = (struct CMUnitTest){ .name = names[i],
                                                 .test_func = run_one,
                                                 .initial_state = (void *)&cases[i] };
    }
    rc = _cmocka_run_group_tests(group, tests, nextra + n, NULL, NULL);
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    free(tests);
    return rc;
}

/*
 * test_cases.c - data-driven parser cases, shaped like CrowdSec's
 * pkg/parser/testdata: each directory of tests/parser/cases/ holds parser
 * files, a parsers.yaml listing them with their stage ([{filename, stage}]),
 * and a test.yaml whose documents give input events (`lines`) and the
 * expected result of each (`results`, same order): Stage (when set),
 * Process, Whitelisted, WhitelistReason (when set) and every expected key of
 * Parsed, Meta and Enriched must match. One cmocka test per directory.
 */
#include "common/common.h"

#include <dirent.h>
#include <setjmp.h>

#include <cmocka.h>

#include "exprenv/exprenv.h"
#include "helpers.h"
#include "parser/parser.h"

struct case_dir {
    char path[4096];
    char name[256];
};

static struct grok_library *lib;

static struct gotime
fixed_clock(void)
{
    return (struct gotime){ .unix_ns = INT64_C(1709634030) * 1000000000, .offset_s = 0 };
}

/* The expected value as text (YAML may have typed it as a number or bool). */
static const char *
json_text(const json_t *v, char *buf, size_t size)
{
    if (json_is_string(v))
        return json_string_value(v);
    if (json_is_integer(v))
        snprintf(buf, size, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    else if (json_is_true(v))
        snprintf(buf, size, "true");
    else if (json_is_false(v))
        snprintf(buf, size, "false");
    else
        buf[0] = '\0';
    return buf;
}

static bool
check_map(const char *label, const json_t *exp, const struct strmap *got, size_t line)
{
    const char *key;
    json_t *v;
    char buf[64];
    bool ok = true;

    json_object_foreach((json_t *)exp, key, v)
    {
        const char *want = json_text(v, buf, sizeof(buf));
        const struct strv *g = strmap_get_cstr(got, key);
        if (g == NULL || !strv_eq_cstr(*g, want)) {
            print_error("line %zu: %s[%s] = %s%.*s%s, want \"%s\"\n", line, label, key,
                        g ? "\"" : "", g ? (int)g->len : 7, g ? g->ptr : "missing", g ? "\"" : "",
                        want);
            ok = false;
        }
    }
    return ok;
}

static bool
check_result(const json_t *exp, const struct event *evt, size_t line)
{
    bool ok = true;
    const json_t *v;

    if ((v = json_object_get(exp, "Stage")) != NULL && json_string_length(v) > 0 &&
        !strv_eq_cstr(evt->stage, json_string_value(v))) {
        print_error("line %zu: Stage = %.*s, want %s\n", line, (int)evt->stage.len, evt->stage.ptr,
                    json_string_value(v));
        ok = false;
    }
    bool process = json_is_true(json_object_get(exp, "Process"));
    if (process != evt->process) {
        print_error("line %zu: Process = %d, want %d\n", line, evt->process, process);
        ok = false;
    }
    bool wl = json_is_true(json_object_get(exp, "Whitelisted"));
    if (wl != evt->whitelisted) {
        print_error("line %zu: Whitelisted = %d, want %d\n", line, evt->whitelisted, wl);
        ok = false;
    }
    if ((v = json_object_get(exp, "WhitelistReason")) != NULL &&
        !strv_eq_cstr(evt->whitelist_reason, json_string_value(v))) {
        print_error("line %zu: WhitelistReason = %.*s\n", line, (int)evt->whitelist_reason.len,
                    evt->whitelist_reason.ptr);
        ok = false;
    }
    if ((v = json_object_get(exp, "Parsed")) != NULL)
        ok &= check_map("Parsed", v, &evt->parsed, line);
    if ((v = json_object_get(exp, "Meta")) != NULL)
        ok &= check_map("Meta", v, &evt->meta, line);
    if ((v = json_object_get(exp, "Enriched")) != NULL)
        ok &= check_map("Enriched", v, &evt->enriched, line);
    return ok;
}

static void
run_case(void **state)
{
    const struct case_dir *c = *state;
    char path[4200], err[512];
    struct parser_item items[16];
    char files[16][4200];
    size_t nitems = 0, failures = 0, nlines = 0;
    struct parser_error perr;
    json_t *list, *tests;

    snprintf(path, sizeof(path), "%s/parsers.yaml", c->path);
    list = ptest_yaml_file_to_json(path, err, sizeof(err));
    if (list == NULL)
        fail_msg("%s: %s", path, err);
    const json_t *entries = json_array_get(list, 0);
    assert_true(json_is_array(entries));
    for (size_t i = 0; i < json_array_size(entries) && nitems < ARRAY_SIZE(items); i++) {
        const json_t *e = json_array_get(entries, i);
        snprintf(files[nitems], sizeof(files[nitems]), "%s/%s", c->path,
                 json_string_value(json_object_get(e, "filename")));
        items[nitems].path = files[nitems];
        items[nitems].stage = json_string_value(json_object_get(e, "stage"));
        nitems++;
    }
    snprintf(path, sizeof(path), "%s/data", c->path);
    struct parser_options opts = { .data_dir = path, .grok = lib };
    struct parser_set *ps = parser_set_load(items, nitems, &opts, &perr);
    if (ps == NULL)
        fail_msg("%s: load: %s:%d: %s", c->name, perr.file, perr.line, perr.message);
    struct parser_worker *w = parser_worker_new(ps);
    assert_non_null(w);

    snprintf(path, sizeof(path), "%s/test.yaml", c->path);
    tests = ptest_yaml_file_to_json(path, err, sizeof(err));
    if (tests == NULL)
        fail_msg("%s: %s", path, err);
    for (size_t d = 0; d < json_array_size(tests); d++) {
        const json_t *doc = json_array_get(tests, d);
        const json_t *lines = json_object_get(doc, "lines"),
                     *results = json_object_get(doc, "results");
        assert_int_equal(json_array_size(lines), json_array_size(results));
        for (size_t i = 0; i < json_array_size(lines); i++) {
            struct event *evt = event_new(EVENT_LOG, EVENT_LIVE, false);
            assert_non_null(evt);
            if (exprenv_event_from_json(json_array_get(lines, i), evt, err, sizeof(err)) < 0)
                fail_msg("%s: line %zu: %s", c->name, nlines, err);
            enum parser_outcome o = parser_process(ps, w, evt, NULL);
            assert_true(o != PARSER_FAILED);
            assert_int_equal(o == PARSER_PARSED, evt->process);
            if (!check_result(json_array_get(results, i), evt, nlines))
                failures++;
            event_free(evt);
            nlines++;
        }
    }
    json_decref(tests);
    json_decref(list);
    parser_worker_free(w);
    parser_set_free(ps);
    if (failures > 0)
        fail_msg("%s: %zu of %zu lines differ", c->name, failures, nlines);
    assert_true(nlines > 0);
}

static int
skip_dots(const struct dirent *d)
{
    return d->d_name[0] != '.';
}

int
main(void)
{
    char dir[4200];
    struct dirent **names;
    int n, rc;

    expr_set_clock(fixed_clock);
    snprintf(dir, sizeof(dir), "%s/tests/parser/cases", ptest_source_root());
    n = scandir(dir, &names, skip_dots, alphasort);
    if (n <= 0) {
        fprintf(stderr, "no cases in %s\n", dir);
        return 1;
    }
    lib = ptest_grok_library(false);
    if (lib == NULL)
        return 1;
    struct case_dir *cases = calloc((size_t)n, sizeof(*cases));
    struct CMUnitTest *tests = calloc((size_t)n, sizeof(*tests));
    for (int i = 0; i < n; i++) {
        if (snprintf(cases[i].path, sizeof(cases[i].path), "%s/%s", dir, names[i]->d_name) >=
            (int)sizeof(cases[i].path))
            return 1;
        snprintf(cases[i].name, sizeof(cases[i].name), "%s", names[i]->d_name);
        tests[i] = (struct CMUnitTest){ .name = cases[i].name,
                                        .test_func = run_case,
                                        .initial_state = &cases[i] };
        free(names[i]);
    }
    free(names);
    rc = _cmocka_run_group_tests("parser_cases", tests, (size_t)n, NULL, NULL);
    free(tests);
    free(cases);
    grok_library_free(lib);
    expr_stash_reset();
    expr_data_reset();
    return rc;
}

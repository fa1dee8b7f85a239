/*
 * test_load.c - scenario loading: strict keys and types, per-type validation
 * and expression errors (each naming the line), plus what a good load keeps:
 * version from the hub or the YAML, simulation with exclusions, skipped
 * formats, scenario hash.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>

#include "bucket/internal.h"
#include "common/common.h"

#define HEAD "name: t/x\ndescription: d\nfilter: \"true\"\n"

static void
test_errors(void **state)
{
    static const struct {
        const char *yaml;
        int line;
        const char *substr;
    } cases[] = {
        { HEAD "type: leaky\ncapacity: 5\nleakspeed: 10s\nbogus: 1\n", 7, "field bogus not found" },
        { HEAD "type: leaky\ncapacity: five\nleakspeed: 10s\n", 5,
          "cannot unmarshal !!str `five` into int" },
        { HEAD "type: leaky\ncapacity: \"5\"\nleakspeed: 10s\n", 5, "into int" },
        { HEAD "type: leaky\ncapacity: 5\nleakspeed: 10s\nreprocess: maybe\n", 7, "into bool" },
        { HEAD "type: leaky\ncapacity: 5\nleakspeed: 10s\ncapacity: 6\n", 7, "already set" },
        { HEAD "type: leaky\ncapacity: 5\nleakspeed: 10s\nlabels: [a]\n", 7, "labels" },
        { "description: d\nfilter: \"true\"\ntype: trigger\n", 1, "nameless bucket" },
        { "name: t/x\ndescription: d\ntype: trigger\n", 1, "missing filter directive" },
        { HEAD "type: leaky\ncapacity: 0\nleakspeed: 10s\n", 1,
          "invalid capacity '0': must be > 0" },
        { HEAD "type: leaky\ncapacity: 5\n", 1, "leakspeed is required" },
        { HEAD "type: leaky\ncapacity: 5\nleakspeed: 10 s\n", 6, "invalid leakspeed" },
        { HEAD "type: trigger\ncapacity: 5\n", 1, "must be 0" },
        { HEAD "type: counter\ncapacity: -1\n", 1, "duration is required" },
        { HEAD "type: counter\ncapacity: 3\nduration: 10s\n", 1, "must be -1" },
        { HEAD "type: conditional\ncapacity: -1\nleakspeed: 1s\n", 1, "a condition is required" },
        { HEAD "type: bayesian\ncapacity: -1\nleakspeed: 1s\nbayesian_prior: "
               "0.5\nbayesian_threshold: 0.8\n",
          1, "bayesian conditions are required" },
        { HEAD "type: bayesian\ncapacity: -1\nleakspeed: 1s\nbayesian_prior: "
               "1.5\nbayesian_threshold: 0.8\n"
               "bayesian_conditions:\n- condition: \"true\"\n  prob_given_evil: 0.5\n  "
               "prob_given_benign: 0.5\n",
          1, "invalid prior" },
        { HEAD "type: nope\n", 4, "invalid type 'nope'" },
        { "name: t/x\ndescription: d\nfilter: \"1 + 1\"\ntype: trigger\n", 3, "invalid filter" },
        { HEAD "type: trigger\ngroupby: evt.Nope\n", 5, "invalid groupby" },
        { HEAD "type: trigger\nscope:\n  type: Ip\n  expression: evt.Meta.x\n", 6,
          "filter is not allowed for IP scope" },
        { HEAD "type: trigger\nscope:\n  type: AS\n", 6, "filter is mandatory" },
        { HEAD "type: trigger\nblackhole: 1 min\n", 5, "blackhole duration not valid" },
        { HEAD "type: trigger\nformat: abc\n", 1, "failed to parse 'abc'" },
        { HEAD "type: trigger\n---\n", 0, "nameless bucket" },
        { HEAD "type: trigger\n  bad: [\n", 0, "bad yaml" },
    };
    struct bucket_error err;

    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct bucket_set *s = bucket_set_load_buffer("x.yaml", cases[i].yaml,
                                                      strlen(cases[i].yaml), NULL, NULL, &err);
        if (s != NULL)
            fail_msg("case %zu: loaded, want error %s", i, cases[i].substr);
        if (strstr(err.message, cases[i].substr) == NULL ||
            (cases[i].line != 0 && err.line != cases[i].line) || strcmp(err.file, "x.yaml") != 0)
            fail_msg("case %zu: got %s:%d: %s; want line %d, %s", i, err.file, err.line,
                     err.message, cases[i].line, cases[i].substr);
    }
}

static void
test_good(void **state)
{
    static const char yaml[] =
        "type: leaky\nname: a/one\ndescription: d\nfilter: \"true\"\ncapacity: 5\nleakspeed: "
        "10s\nversion: \"0.3\"\nlabels:\n  remediation: true\n  classification: [x]\n"
        "references: [http://x]\ndata:\n  - source_url: http://x\n    dest_file: nope.txt\n    "
        "type: string\n---\n"
        "type: trigger\nname: a/two\ndescription: d\nfilter: \"true\"\nformat: 4.0\n---\n"
        "type: counter\nname: a/three\ndescription: d\nfilter: \"true\"\ncapacity: -1\n"
        "duration: 10s\ncache_size: 5\nlabels:\n  remediation: \"true\"\n---\n"
        "type: leaky\nname: a/four\ndescription: d\nfilter: \"true\"\ncapacity: 3\nleakspeed: "
        "0.5s\ncache_size: 2\nscope:\n  type: Range\n";
    static const char *const excl[] = { "a/three" };
    struct bucket_options o = { .simulation = true, .exclusions = excl, .nexclusions = 1 };
    struct bucket_error err;
    char hash[65];
    struct bucket_set *s;

    (void)state;
    s = bucket_set_load_buffer("x.yaml", yaml, strlen(yaml), NULL, &o, &err);
    if (s == NULL)
        fail_msg("%s:%d: %s", err.file, err.line, err.message);
    /* format 4.0 is skipped */
    assert_int_equal(bucket_set_count(s), 3);
    assert_string_equal(bucket_set_factory(s, 0)->spec.name, "a/one");
    assert_string_equal(bucket_set_factory(s, 0)->spec.version, "0.3");
    assert_true(bucket_set_factory(s, 0)->simulated);
    assert_false(bucket_set_factory(s, 1)->simulated);
    assert_true(s->sc[0].remediation);
    assert_false(s->sc[1].remediation); /* the string "true" is not the bool */
    assert_int_equal(s->sc[0].lifetime_ns, 60000000000LL);
    assert_int_equal(s->sc[1].lifetime_ns, 10000000000LL);
    assert_int_equal(s->sc[1].qsize, 5);
    assert_int_equal(s->sc[2].qsize, 2);
    assert_string_equal(s->sc[2].scope_type, "Range");
    assert_string_equal(s->sc[0].scope_type, "Ip");
    assert_int_equal(bucket_sha256_hex(yaml, strlen(yaml), hash), 0);
    assert_string_equal(bucket_set_hash(s, 2), hash);
    bucket_set_free(s);

    /* the hub's version wins over the YAML's */
    s = bucket_set_load_buffer("x.yaml", yaml, strlen(yaml), "1.7", NULL, &err);
    assert_non_null(s);
    assert_string_equal(bucket_set_factory(s, 0)->spec.version, "1.7");
    assert_false(bucket_set_factory(s, 0)->simulated);
    bucket_set_free(s);
}

static void
test_hub(void **state)
{
    /* Every public hub scenario loads (skipped visibly without the hub checkout). */
    static const char root[] = "/work/shared/hub/scenarios";
    struct bucket_options o = { .data_dir = "/work/shared/hub/data" };
    struct bucket_error err;
    DIR *d = opendir(root), *sub;
    struct dirent *a, *b;
    size_t files = 0, scenarios = 0, failed = 0;

    (void)state;
    if (d == NULL)
        skip();
    while ((a = readdir(d)) != NULL) {
        char dir[512];
        if (a->d_name[0] == '.')
            continue;
        snprintf(dir, sizeof(dir), "%s/%s", root, a->d_name);
        if ((sub = opendir(dir)) == NULL)
            continue;
        while ((b = readdir(sub)) != NULL) {
            char path[1024];
            size_t n = strlen(b->d_name);
            if (n < 5 || strcmp(b->d_name + n - 5, ".yaml") != 0)
                continue;
            snprintf(path, sizeof(path), "%s/%s", dir, b->d_name);
            struct bucket_file bf = { .path = path };
            struct bucket_set *s = bucket_set_load(&bf, 1, &o, &err);
            files++;
            if (s == NULL) {
                printf("# %s:%d: %s\n", err.file, err.line, err.message);
                failed++;
                continue;
            }
            scenarios += bucket_set_count(s);
            bucket_set_free(s);
        }
        closedir(sub);
    }
    closedir(d);
    printf("# hub: %zu files, %zu scenarios, %zu failed\n", files, scenarios, failed);
    expr_data_reset();
    assert_true(files > 200);
    assert_int_equal(failed, 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_good),
        cmocka_unit_test(test_hub),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

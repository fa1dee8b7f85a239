/*
 * test_load.c - parser files that must not load, and what the error says:
 * the file, the line and a part of the message (the key or the reason).
 * Plus a few that must load, with the number of stages they give.
 */
#include "common/common.h"

#include <setjmp.h>
#include <unistd.h>

#include <cmocka.h>

#include "expr/expr.h"
#include "helpers.h"
#include "parser/parser.h"

static struct grok_library *lib;

struct bad_case {
    const char *yaml;
    int line;
    const char *message; /* substring */
};

static const struct bad_case bad_cases[] = {
    { "name: a\nfoo: bar\nstatics:\n  - meta: x\n    value: y\n", 2, "field \"foo\" not found" },
    { "name: a\nfilter: evt.Meta.x ==\nstatics:\n  - meta: x\n    value: y\n", 2,
      "key \"filter\": compilation" },
    { "name: a\nfilter: evt.Nope == 'x'\nstatics:\n  - meta: x\n    value: y\n", 2,
      "key \"filter\"" },
    { "name: a\nfilter: evt.Meta.x\nstatics:\n  - meta: x\n    value: y\n", 2, "key \"filter\"" },
    { "name: a\ngrok:\n  pattern: '%{NOPE_NOT_A_PATTERN:x}'\n  apply_on: Line.Raw\n", 3,
      "key \"pattern\": failed to compile grok" },
    { "name: a\ngrok:\n  name: NOPE_NOT_A_PATTERN\n  apply_on: Line.Raw\n", 3,
      "unable to find grok" },
    { "name: a\ngrok:\n  pattern: '%{WORD:x}'\n", 3, "grok requires 'expression' or 'apply_on'" },
    { "name: a\ngrok:\n  apply_on: message\n", 3, "grok needs 'pattern' or 'name'" },
    { "name: a\ngrok:\n  pattern: '%{WORD:x}'\n  apply_on: Line.Raw\n  bogus: 1\n", 5,
      "field \"bogus\" not found in type parser.GrokPattern" },
    { "name: a\nstatics:\n  - method: NoSuchEnricher\n    expression: evt.Line.Raw\n", 3,
      "unknown enricher \"NoSuchEnricher\"" },
    { "name: a\nstatics:\n  - meta: x\n", 3, "value or expression must be set" },
    { "name: a\nstatics:\n  - value: x\n", 3, "at least one of meta/parsed/target" },
    { "name: a\nstatics:\n  - enriched: x\n    value: y\n", 3,
      "at least one of meta/event/target" },
    { "name: a\nstatics:\n  - method: ParseDate\n", 3, "when method is set, expression" },
    { "name: a\nstatics:\n  - meta: x\n    expression: 1 +\n", 4, "key \"expression\"" },
    { "name: a\nstatics:\n  - meta: x\n    value: y\n    tag: z\n", 5,
      "field \"tag\" not found in type parser.Static" },
    { "name: a\nstatics:\n  meta: x\n", 3, "cannot unmarshal !!map into a list" },
    { "name: a\nfilter: [a, b]\nstatics:\n  - meta: x\n    value: y\n", 2,
      "key \"filter\": cannot unmarshal !!seq into string" },
    { "name: a\nonsuccess: next\nstatics:\n  - meta: x\n    value: y\n", 2,
      "not continue,next_stage" },
    { "name: a\ndebug: maybe\nstatics:\n  - meta: x\n    value: y\n", 2, "into bool" },
    { "name: a\n", 1, "Node is empty" },
    { "name: a\nwhitelist:\n  reason: r\n  ip:\n    - 1.2.3.999\n", 5, "key \"ip\"" },
    { "name: a\nwhitelist:\n  reason: r\n  cidr:\n    - 1.2.3.4\n", 5, "key \"cidr\"" },
    { "name: a\nwhitelist:\n  reason: r\n  expression:\n    - evt.Meta.x ==\n", 5,
      "key \"expression\"" },
    { "name: a\nwhitelist:\n  reason: r\n  ips:\n    - 1.2.3.4\n", 4,
      "field \"ips\" not found in type parser.Whitelist" },
    { "name: a\nstash:\n  - name: s\n    key: evt.Meta.x\n    value: evt.Meta.y\n", 3,
      "ttl must be set" },
    { "name: a\nstash:\n  - name: s\n    key: evt.Meta.x\n    value: evt.Meta.y\n    ttl: 10x\n", 6,
      "invalid duration" },
    { "name: a\nstash:\n  - name: s\n    key: evt.Meta.x\n    value: evt.Meta.y\n    ttl: 10s\n"
      "    strategy: FIFO\n",
      7, "unknown strategy" },
    { "name: a\nnodes:\n  - filter: \"true\"\n    grok:\n      pattern: '%{NOPE:x}'\n"
      "      apply_on: Line.Raw\n",
      5, "failed to compile grok" },
    { "name: a\nnodes:\n  - unknown_child_key: 1\n", 3, "field \"unknown_child_key\" not found" },
    { "name: a\nname: b\nstatics:\n  - meta: x\n    value: y\n", 2, "already set" },
    { "name: a\nstatics:\n  - meta: x\n    value: y\n---\nname: b\nbad: 1\n", 7,
      "field \"bad\" not found" },
    /* a document CrowdSec skips (no name) must still be well-formed */
    { "filter: 1\nbogus: 2\n", 2, "field \"bogus\" not found" },
    { "name: a\nformat: x.y\nstatics:\n  - meta: x\n    value: y\n", 2, "failed to check version" },
    { "name: a\ndata:\n  - dest_file: f\n    type: string\n    cache: maybe\n", 5, "into bool" },
    { "name: a\nstatics: [\n", 3, "yaml:" },
    { "name: &x a\n", 1, "anchors are not supported" },
    { "- a\n- b\n", 1, "cannot unmarshal !!seq into parser.Node" },
};

struct good_case {
    const char *yaml;
    size_t stages;
};

static const struct good_case good_cases[] = {
    /* no name/description/author: skipped, no stage */
    { "filter: \"true\"\nstatics:\n  - meta: x\n    value: y\n", 0 },
    { "", 0 },
    { "---\n---\n", 0 },
    /* format out of [1.0, 3.0]: skipped */
    { "name: a\nformat: 4.0\nstatics:\n  - meta: x\n    value: y\n", 0 },
    { "name: a\nformat: 2.0\nstatics:\n  - meta: x\n    value: y\n", 1 },
    { "description: only a description\nstatics:\n  - meta: x\n    value: y\n", 1 },
    /* a dup pattern_syntax name keeps the first (not an error) */
    { "name: a\npattern_syntax:\n  WORD: 'x+'\n  MYNEW: 'y+'\ngrok:\n  pattern: '%{MYNEW:x}'\n"
      "  apply_on: Line.Raw\n",
      1 },
    /* an unknown target is accepted (CrowdSec only logs it when applied) */
    { "name: a\nstatics:\n  - target: evt.NoSuchField\n    value: y\n", 1 },
    /* an empty grok section is ignored */
    { "name: a\ngrok: {}\nstatics:\n  - meta: x\n    value: y\n", 1 },
    { "name: a\ndebug: yes\nreferences: [a, b]\nauthor: me\nstage: ignored\nprofiling: false\n"
      "statics:\n  - meta: x\n    value: 1\n",
      1 },
};

static void
test_bad(void **state)
{
    struct parser_options opts = { .grok = lib };
    struct parser_error err;
    int failures = 0;

    for (size_t i = 0; i < ARRAY_SIZE(bad_cases); i++) {
        const struct bad_case *c = &bad_cases[i];
        struct parser_set *ps =
            parser_set_load_buffer("mem.yaml", "s01-parse", c->yaml, strlen(c->yaml), &opts, &err);
        if (ps != NULL) {
            print_error("case %zu: loaded, want an error\n", i);
            parser_set_free(ps);
            failures++;
            continue;
        }
        if (strcmp(err.file, "mem.yaml") != 0 || err.line != c->line ||
            strstr(err.message, c->message) == NULL) {
            print_error("case %zu: got %s:%d: %s\n   want line %d, \"%s\"\n", i, err.file, err.line,
                        err.message, c->line, c->message);
            failures++;
        }
    }
    assert_int_equal(failures, 0);
}

static void
test_good(void **state)
{
    struct parser_options opts = { .grok = lib };
    struct parser_error err;
    int failures = 0;

    for (size_t i = 0; i < ARRAY_SIZE(good_cases); i++) {
        const struct good_case *c = &good_cases[i];
        struct parser_set *ps =
            parser_set_load_buffer("mem.yaml", "s01-parse", c->yaml, strlen(c->yaml), &opts, &err);
        if (ps == NULL) {
            print_error("case %zu: %s:%d: %s\n", i, err.file, err.line, err.message);
            failures++;
            continue;
        }
        if (parser_set_stage_count(ps) != c->stages) {
            print_error("case %zu: %zu stages, want %zu\n", i, parser_set_stage_count(ps),
                        c->stages);
            failures++;
        }
        parser_set_free(ps);
    }
    assert_int_equal(failures, 0);
}

/* A file on disk: the error names its path; files load in path order, stages sorted. */
static void
test_files(void **state)
{
    char dir[] = "/tmp/phalanx-parser-XXXXXX";
    char a[128], b[128], c[128];
    struct parser_error err;
    struct parser_options opts = { .grok = lib };

    assert_non_null(mkdtemp(dir));
    snprintf(a, sizeof(a), "%s/b.yaml", dir);
    snprintf(b, sizeof(b), "%s/a.yaml", dir);
    snprintf(c, sizeof(c), "%s/c.txt", dir);
    FILE *f = fopen(a, "w");
    assert_non_null(f);
    fputs("name: b\nstatics:\n  - meta: x\n    value: y\n", f);
    fclose(f);
    f = fopen(b, "w");
    assert_non_null(f);
    fputs("name: a\nstatics:\n  - meta: x\n    value: y\n", f);
    fclose(f);
    f = fopen(c, "w");
    assert_non_null(f);
    fputs("not yaml: [\n", f);
    fclose(f);
    struct parser_item items[] = { { a, "s02-enrich" }, { b, "s00-raw" }, { c, "s01-parse" } };
    struct parser_set *ps = parser_set_load(items, ARRAY_SIZE(items), &opts, &err);
    assert_non_null(ps);
    assert_int_equal(parser_set_stage_count(ps), 2);
    assert_string_equal(parser_set_stage_name(ps, 0), "s00-raw");
    assert_string_equal(parser_set_stage_name(ps, 1), "s02-enrich");
    parser_set_free(ps);

    f = fopen(a, "w");
    assert_non_null(f);
    fputs("name: b\nstatics:\n  - meta: x\n    value: y\n---\nname: c\n\n  oops: [\n", f);
    fclose(f);
    ps = parser_set_load(items, ARRAY_SIZE(items), &opts, &err);
    assert_null(ps);
    assert_string_equal(err.file, a);
    assert_true(err.line >= 7);
    unlink(a);
    unlink(b);
    unlink(c);
    rmdir(dir);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad),
        cmocka_unit_test(test_good),
        cmocka_unit_test(test_files),
    };
    lib = ptest_grok_library(false);
    if (lib == NULL)
        return 1;
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    grok_library_free(lib);
    expr_stash_reset();
    return rc;
}

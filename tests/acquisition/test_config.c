/*
 * test_config.c - acquis.yaml / acquis.d loading and DSN parsing: tables of
 * good documents with what they must decode to, and bad ones with the
 * file:line message they must produce.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <sys/stat.h>
#include <unistd.h>

#include "acquisition/acquisition.h"

static char tmpdir[256];

static void
write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static int
setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/phalanx-acqcfg-XXXXXX");
    if (mkdtemp(tmpdir) == NULL)
        return -1;
    return 0;
}

static int
teardown(void **state)
{
    char cmd[512];
    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static const char *
label(const struct acq_common *c, const char *key)
{
    for (size_t i = 0; i < c->nlabels; i++)
        if (strcmp(c->labels[i].key, key) == 0)
            return c->labels[i].value;
    return NULL;
}

struct good_case {
    const char *yaml;
    size_t count;
    /* of the first source, when count > 0 */
    const char *source, *mode, *type_label, *describe, *name;
    bool time_machine;
};

static void
test_good(void **state)
{
    static const struct good_case cases[] = {
        { "filename: /var/log/auth.log\nlabels:\n  type: syslog\n", 1, "file", "tail", "syslog",
          "file:/var/log/auth.log", NULL, false },
        { "source: file\nfilenames:\n  - /a/*.log\n  - /b.log\nmode: cat\nname: web\n"
          "use_time_machine: true\nlabels: {type: nginx, env: prod}\n",
          1, "file", "cat", "nginx", "file:/a/*.log,/b.log", "web", true },
        { "filenames: [/a.log]\nfilename: /b.log\nlabels: {type: x}\n", 1, "file", "tail", "x",
          "file:/a.log,/b.log", NULL, false },
        { "---\n---\nfilename: /a\nlabels: {type: x}\n---\n", 1, "file", "tail", "x", "file:/a",
          NULL, false },
        { "mode: tail\n", 0, NULL, NULL, NULL, NULL, NULL, false },
        { "", 0, NULL, NULL, NULL, NULL, NULL, false },
        { "# only a comment\n", 0, NULL, NULL, NULL, NULL, NULL, false },
        /* As CrowdSec: the type-specific key decides over source:. */
        { "source: syslog\nfilename: /a\nlabels: {type: x}\n", 1, "file", "tail", "x", "file:/a",
          NULL, false },
        { "filename: /a\nlabels: {type: 12}\nmax_buffer_size: 1_024\npoll_without_inotify: yes\n"
          "force_inotify: false\ndiscovery_poll_enable: true\ndiscovery_poll_interval: 10s\n"
          "exclude_regexps: ['\\.gz$', '^/tmp/']\nlog_level: Debug\nunique_id: u1\n"
          "transform: evt.Line.Raw\n",
          1, "file", "tail", "12", "file:/a", NULL, false },
        { "filename: /a\nlabels: {type: x}\n---\nfilename: /b\nlabels: {type: y}\nmode: cat\n", 2,
          "file", "tail", "x", "file:/a", NULL, false },
        { "filename: /a\nlabels: {type: x}\ndiscovery_poll_interval: 1000000000\n", 1, "file",
          "tail", "x", "file:/a", NULL, false },
    };
    char path[512];
    (void)state;

    snprintf(path, sizeof(path), "%s/acquis.yaml", tmpdir);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct good_case *c = &cases[i];
        struct acquisition *a = NULL;
        struct acq_error err = { { 0 } };
        write_file(path, c->yaml);
        if (acq_load(path, NULL, &a, &err) != 0)
            fail_msg("case %zu: unexpected error: %s", i, err.message);
        if (acq_count(a) != c->count)
            fail_msg("case %zu: %zu sources, expected %zu", i, acq_count(a), c->count);
        if (c->count > 0) {
            const struct acq_common *cm = acq_common_at(a, 0);
            assert_string_equal(cm->source, c->source);
            assert_string_equal(cm->mode, c->mode);
            assert_string_equal(label(cm, "type"), c->type_label);
            assert_string_equal(acq_describe(a, 0), c->describe);
            if (c->name != NULL)
                assert_string_equal(cm->name, c->name);
            else
                assert_null(cm->name);
            assert_int_equal(cm->use_time_machine, c->time_machine);
            assert_string_equal(cm->file, path);
        }
        acq_free(a);
    }
}

static void
test_common_fields(void **state)
{
    char path[512];
    struct acquisition *a = NULL;
    struct acq_error err = { { 0 } };
    const struct acq_common *c;
    (void)state;

    snprintf(path, sizeof(path), "%s/acquis.yaml", tmpdir);
    write_file(path, "---\nfilename: /a\nlabels:\n  type: syslog\n  program: sshd\n"
                     "log_level: info\nunique_id: abc\ntransform: evt.Line.Raw + 'x'\n");
    assert_int_equal(acq_load(path, NULL, &a, &err), 0);
    c = acq_common_at(a, 0);
    assert_int_equal(c->line, 2);
    assert_int_equal(c->nlabels, 2);
    assert_string_equal(label(c, "program"), "sshd");
    assert_string_equal(c->log_level, "info");
    assert_string_equal(c->unique_id, "abc");
    assert_string_equal(c->transform, "evt.Line.Raw + 'x'");
    assert_null(acq_common_at(a, 1));
    acq_free(a);
}

struct bad_case {
    const char *yaml;
    const char *expected; /* after "<path>:" */
};

static void
test_bad(void **state)
{
    static const struct bad_case cases[] = {
        { "filename: /x\n", "1: missing labels in datasource 0" },
        { "filename: /a\nlabels: {type: x}\n---\nfilename: /b\n",
          "4: missing labels in datasource 1" },
        { "source: nope\nlabels: {type: x}\n",
          "1: unknown data source \"nope\" (expected file, syslog or journalctl)" },
        { "labels: {type: x}\n", "1: data source type is empty ('source')" },
        { "filename: /x\nlabels:\n  type: x\nbogus: 1\n",
          "4: unknown key \"bogus\" for a file datasource (expected one of: source, labels, mode, "
          "name, log_level, use_time_machine, unique_id, transform, filename, filenames," },
        { "filenames: /a.log\nlabels: {type: x}\n",
          "1: filenames: expected a list of strings, got !!str `/a.log`" },
        { "filenames: [[a]]\nlabels: {type: x}\n",
          "1: filenames: expected a list of strings, got !!seq" },
        { "filename: [a]\nlabels: {type: x}\n", "1: filename: expected a string, got !!seq" },
        { "filename: /a\nlabels: [a]\n",
          "2: labels: expected a map of strings (type: ...), got !!seq" },
        { "filename: /a\nlabels: {type: {a: b}}\n",
          "2: labels: expected a string value, got !!map" },
        { "filename: /a\nlabels: {type: x}\nmode: follow\n",
          "3: mode: expected tail or cat, got \"follow\"" },
        { "filename: /a\nlabels: {type: x}\nuse_time_machine: maybe\n",
          "3: use_time_machine: expected a boolean (true or false), got !!str `maybe`" },
        { "filename: /a\nlabels: {type: x}\npoll_without_inotify: \"true\"\n",
          "3: poll_without_inotify: expected a boolean" },
        { "filename: /a\nlabels: {type: x}\nmax_buffer_size: lots\n",
          "3: max_buffer_size: expected an integer, got !!str `lots`" },
        { "filename: /a\nlabels: {type: x}\nmax_buffer_size: 99999999999\n",
          "3: max_buffer_size: expected an integer from" },
        { "filename: /a\nlabels: {type: x}\ndiscovery_poll_interval: soon\n",
          "3: discovery_poll_interval: expected a duration such as 30s or 1m, got !!str `soon`" },
        { "filename: /a\nlabels: {type: x}\nexclude_regexps:\n  - ok\n  - '('\n",
          "5: exclude_regexps: could not compile regexp (: missing closing parenthesis" },
        { "filename: /a\nlabels: {type: x}\nlog_level: loud\n",
          "3: log_level: expected one of panic, fatal, error, warn, info, debug, trace, got "
          "\"loud\"" },
        { "filename: /a\nlabels: {type: x}\nfilename: /b\n", "3: key \"filename\" given twice" },
        { "- a\n- b\n", "1: expected a datasource (a map of keys), got !!seq" },
        { "filename: /a\nlabels: {type: x\n", "" },
        { "source: [file]\nlabels: {type: x}\n", "1: source: expected a string" },
        { "source: file\nlabels: {type: x}\nmode: cat\n",
          "1: no filename or filenames configuration provided" },
    };
    char path[512];
    (void)state;

    snprintf(path, sizeof(path), "%s/acquis.yaml", tmpdir);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct bad_case *c = &cases[i];
        struct acquisition *a = NULL;
        struct acq_error err = { { 0 } };
        char want[1200];
        write_file(path, c->yaml);
        if (acq_load(path, NULL, &a, &err) == 0) {
            acq_free(a);
            fail_msg("case %zu: loaded, expected an error", i);
        }
        snprintf(want, sizeof(want), "%s:%s", path, c->expected);
        if (strncmp(err.message, want, strlen(want)) != 0)
            fail_msg("case %zu: got \"%s\", expected a message starting \"%s\"", i, err.message,
                     want);
        assert_null(a);
    }
}

static void
test_dir_order(void **state)
{
    char dir[512], p[600];
    struct acquisition *a = NULL;
    struct acq_error err = { { 0 } };
    (void)state;

    snprintf(dir, sizeof(dir), "%s/acquis.d", tmpdir);
    mkdir(dir, 0700);
    snprintf(p, sizeof(p), "%s/b.yaml", dir);
    write_file(p, "filename: /b\nlabels: {type: b}\n");
    snprintf(p, sizeof(p), "%s/a.yml", dir);
    write_file(p, "filename: /a\nlabels: {type: a}\n---\nfilename: /a2\nlabels: {type: a2}\n");
    snprintf(p, sizeof(p), "%s/c.txt", dir);
    write_file(p, "not: [yaml\n");
    snprintf(p, sizeof(p), "%s/main.yaml", tmpdir);
    write_file(p, "filename: /main\nlabels: {type: m}\n");

    assert_int_equal(acq_load(p, dir, &a, &err), 0);
    assert_int_equal(acq_count(a), 4);
    assert_string_equal(acq_describe(a, 0), "file:/main");
    assert_string_equal(acq_describe(a, 1), "file:/a");
    assert_string_equal(acq_describe(a, 2), "file:/a2");
    assert_string_equal(acq_describe(a, 3), "file:/b");
    acq_free(a);

    /* A missing directory is no error; a missing acquis file is. */
    snprintf(p, sizeof(p), "%s/nope.d", tmpdir);
    assert_int_equal(acq_load(NULL, p, &a, &err), 0);
    assert_int_equal(acq_count(a), 0);
    acq_free(a);
    snprintf(p, sizeof(p), "%s/nope.yaml", tmpdir);
    assert_int_equal(acq_load(p, NULL, &a, &err), -1);
    assert_non_null(strstr(err.message, "nope.yaml"));

    /* An error in acquis.d names that file and line. */
    snprintf(p, sizeof(p), "%s/z.yaml", dir);
    write_file(p, "filename: /z\nlabels: {type: z}\nwhat: 1\n");
    assert_int_equal(acq_load(NULL, dir, &a, &err), -1);
    {
        char want[800];
        snprintf(want, sizeof(want), "%s:3: unknown key \"what\"", p);
        assert_true(strncmp(err.message, want, strlen(want)) == 0);
    }
    unlink(p);
}

static void
test_start_nothing(void **state)
{
    struct acquisition *a = NULL;
    struct acq_error err = { { 0 } };
    char p[512];
    (void)state;

    snprintf(p, sizeof(p), "%s/empty.yaml", tmpdir);
    write_file(p, "---\n");
    assert_int_equal(acq_load(p, NULL, &a, &err), 0);
    assert_int_equal(acq_start(a, NULL, NULL, NULL, NULL, &err), -1);
    assert_string_equal(err.message, "no datasource configured");
    acq_stop(a);
    acq_free(a);
}

struct dsn_case {
    const char *dsn;      /* @ is the temp dir */
    const char *expected; /* NULL: loads */
};

static void
test_dsn(void **state)
{
    static const struct dsn_case cases[] = {
        { "file://@/a.log", NULL },
        { "file://@/*.log?max_buffer_size=10&log_level=debug", NULL },
        { "file://@/a.log?", NULL },
        { "nope", "nope isn't valid dsn (no protocol)" },
        { "foo://bar", "no acquisition for protocol foo:// - unknown data source foo" },
        { "file:@/a.log", "invalid DSN file:" },
        { "file://", "while configuring datasource for file://: empty file:// DSN" },
        { "file://@/none.log", "while configuring datasource for file://" },
        { "file://@/a.log?bogus=1", "unknown parameter bogus" },
        { "file://@/a.log?max_buffer_size=abc", "could not parse max_buffer_size abc" },
        { "file://@/a.log?log_level=loud", "unknown level loud" },
        { "file://@/a.log?max_buffer_size=1&max_buffer_size=2",
          "expected zero or one value for 'max_buffer_size'" },
        { "file://@/a.log?log_level=%zz", "could not parse file args: invalid URL escape" },
        { "file://@/a.log?log_level=info;x=1", "invalid semicolon separator" },
    };
    char logp[512];
    (void)state;

    snprintf(logp, sizeof(logp), "%s/a.log", tmpdir);
    write_file(logp, "x\n");
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct acquisition *a = NULL;
        struct acq_error err = { { 0 } };
        char dsn[600];
        int rc;
        size_t o = 0;
        for (const char *c = cases[i].dsn; *c != '\0' && o + 1 < sizeof(dsn); c++) {
            if (*c == '@')
                o += (size_t)snprintf(dsn + o, sizeof(dsn) - o, "%s", tmpdir);
            else
                dsn[o++] = *c;
        }
        dsn[o] = '\0';
        rc = acq_load_dsn(dsn, "syslog", &a, &err);
        if (cases[i].expected == NULL) {
            const struct acq_common *c;
            if (rc != 0)
                fail_msg("case %zu (%s): unexpected error %s", i, dsn, err.message);
            assert_int_equal(acq_count(a), 1);
            c = acq_common_at(a, 0);
            assert_string_equal(c->mode, "cat");
            assert_string_equal(c->source, "file");
            assert_string_equal(label(c, "type"), "syslog");
            if (i == 1)
                assert_string_equal(c->log_level, "debug");
            acq_free(a);
        } else {
            if (rc == 0) {
                acq_free(a);
                fail_msg("case %zu (%s): loaded, expected an error", i, dsn);
            }
            if (strstr(err.message, cases[i].expected) == NULL)
                fail_msg("case %zu (%s): got \"%s\", expected \"%s\"", i, dsn, err.message,
                         cases[i].expected);
        }
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good),          cmocka_unit_test(test_common_fields),
        cmocka_unit_test(test_bad),           cmocka_unit_test(test_dir_order),
        cmocka_unit_test(test_start_nothing), cmocka_unit_test(test_dsn),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

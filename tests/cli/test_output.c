/*
 * test_output.c - the shared CLI output module: global flag parsing, human
 * and raw (CSV) tables byte for byte against what cscli prints.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <unistd.h>

#include "cli/output.h"
#include "common/str.h"

static char *
render(const struct cli_table *t, enum cli_format f)
{
    struct cli_globals g = { .config = "x", .format = f, .color = false };
    char *buf = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);
    assert_non_null(mem);
    cli_table_print(t, mem, &g);
    fclose(mem);
    return buf;
}

static void
test_table_raw(void **state)
{
    (void)state;
    static const char *const hdr[] = { "id", "reason", "ip" };
    static const struct {
        const char *cells[3];
        const char *line;
    } cases[] = {
        { { "1", "plain", "1.2.3.4" }, "1,plain,1.2.3.4\n" },
        { { "2", "a,b", "" }, "2,\"a,b\",\n" },
        { { "3", "say \"hi\"", NULL }, "3,\"say \"\"hi\"\"\",\n" },
        { { "4", " lead", "x\ny" }, "4,\" lead\",\"x\ny\"\n" },
        { { "5", "\\.", "é" }, "5,\"\\.\",é\n" },
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct cli_table *t = cli_table_new(hdr, 3);
        assert_non_null(t);
        assert_int_equal(cli_table_add(t, cases[i].cells), 0);
        assert_int_equal(cli_table_rows(t), 1);
        char *out = render(t, CLI_OUT_RAW);
        char want[256];
        snprintf(want, sizeof(want), "id,reason,ip\n%s", cases[i].line);
        if (strcmp(out, want) != 0)
            fail_msg("case %zu: got [%s] want [%s]", i, out, want);
        free(out);
        cli_table_free(t);
    }
}

static void
test_table_human(void **state)
{
    (void)state;
    static const char *const hdr[] = { "ID", "Scope:Value" };
    static const char *const r1[] = { "12345", "Ip:1.2.3.4" };
    static const char *const r2[] = { "7", "Range:é" };
    struct cli_table *t = cli_table_new(hdr, 2);
    assert_non_null(t);
    assert_int_equal(cli_table_add(t, r1), 0);
    assert_int_equal(cli_table_add(t, r2), 0);
    char *out = render(t, CLI_OUT_HUMAN);
    const char *want = "+-------+-------------+\n"
                       "|  ID   | Scope:Value |\n"
                       "+-------+-------------+\n"
                       "| 12345 | Ip:1.2.3.4  |\n"
                       "| 7     | Range:é     |\n"
                       "+-------+-------------+\n";
    assert_string_equal(out, want);
    free(out);

    /* With colour: rounded Unicode box, grey lines, italic header. */
    struct cli_globals g = { .config = "x", .format = CLI_OUT_HUMAN, .color = true };
    char *buf = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);
    assert_non_null(mem);
    cli_table_print(t, mem, &g);
    fclose(mem);
    assert_non_null(strstr(buf, "\033[90m╭───────┬─────────────╮\033[0m\n"));
    assert_non_null(strstr(buf, "\033[3mID\033[0m"));
    assert_non_null(strstr(buf, " 12345 \033[90m│\033[0m"));
    free(buf);
    cli_table_free(t);
}

static char *
render_width(const struct cli_table *t, size_t max_width)
{
    struct cli_globals g = { .config = "x", .format = CLI_OUT_HUMAN, .color = false };
    char *buf = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);
    assert_non_null(mem);
    cli_table_print_width(t, mem, &g, max_width);
    fclose(mem);
    return buf;
}

/* Human tables narrowed to a terminal's width: widest column first, cells wrapped at spaces. */
static void
test_table_wrap(void **state)
{
    (void)state;
    static const char *const hdr[] = { "ID", "Reason" };
    static const struct {
        size_t max_width;
        const char *reason;
        const char *want;
    } cases[] = {
        { 20, "a very long reason here",
          "+----+-------------+\n| ID |   Reason    |\n+----+-------------+\n"
          "| 1  | a very long |\n|    | reason here |\n+----+-------------+\n" },
        { 20, "abcdefghijklmnopqrstuvwxyz",
          "+----+-------------+\n| ID |   Reason    |\n+----+-------------+\n"
          "| 1  | abcdefghijk |\n|    | lmnopqrstuv |\n|    | wxyz        |\n"
          "+----+-------------+\n" },
        /* Fits already, or no limit: unchanged. */
        { 80, "short",
          "+----+--------+\n| ID | Reason |\n+----+--------+\n"
          "| 1  | short  |\n+----+--------+\n" },
        { 0, "short",
          "+----+--------+\n| ID | Reason |\n+----+--------+\n"
          "| 1  | short  |\n+----+--------+\n" },
        /* Code points, not bytes, are columns. */
        { 14, "ééééé ééééé",
          "+----+-------+\n| ID | Reaso |\n|    |   n   |\n+----+-------+\n"
          "| 1  | ééééé |\n|    | ééééé |\n+----+-------+\n" },
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct cli_table *t = cli_table_new(hdr, 2);
        const char *row[] = { "1", cases[i].reason };
        assert_non_null(t);
        assert_int_equal(cli_table_add(t, row), 0);
        char *out = render_width(t, cases[i].max_width);
        if (strcmp(out, cases[i].want) != 0)
            fail_msg("case %zu: got\n%s\nwant\n%s", i, out, cases[i].want);
        free(out);
        cli_table_free(t);
    }

    /* A wide table of ten columns fits 80 columns, every line. */
    static const char *const wide[] = {
        "ID",      "Source", "Scope:Value", "Reason",     "Action",
        "Country", "AS",     "Events",      "expiration", "Alert ID"
    };
    static const char *const cells[] = { "1",
                                         "crowdsec",
                                         "Ip:2001:db8:1234:5678:9abc:def0:1234:5678",
                                         "crowdsecurity/http-bad-user-agent",
                                         "ban",
                                         "FR",
                                         "64500 EXAMPLE-AS",
                                         "6",
                                         "3h59m58s",
                                         "1" };
    struct cli_table *t = cli_table_new(wide, 10);
    assert_non_null(t);
    assert_int_equal(cli_table_add(t, cells), 0);
    char *out = render_width(t, 80);
    size_t lines = 0;
    for (char *line = out, *nl; (nl = strchr(line, '\n')) != NULL; line = nl + 1, lines++) {
        if (nl - line > 80)
            fail_msg("line %zu is %td columns: %.*s", lines, nl - line, (int)(nl - line), line);
    }
    assert_true(lines > 5);
    assert_non_null(strstr(out, "| 1 "));
    free(out);
    cli_table_free(t);
}

static void
test_table_many_rows(void **state)
{
    (void)state;
    static const char *const hdr[] = { "n" };
    struct cli_table *t = cli_table_new(hdr, 1);
    assert_non_null(t);
    for (int i = 0; i < 1000; i++) {
        char b[16];
        snprintf(b, sizeof(b), "%d", i);
        const char *cells[] = { b };
        assert_int_equal(cli_table_add(t, cells), 0);
    }
    assert_int_equal(cli_table_rows(t), 1000);
    char *out = render(t, CLI_OUT_RAW);
    assert_non_null(strstr(out, "\n999\n"));
    assert_int_equal(strncmp(out, "n\n0\n1\n", 6), 0);
    free(out);
    cli_table_free(t);
    cli_table_free(NULL);
}

static void
test_globals(void **state)
{
    (void)state;
    static const struct {
        const char *argv[3];
        int argc;
        int ret;
        int advance;
        enum cli_format format;
        const char *config;
    } cases[] = {
        { { "-o", "json" }, 2, 1, 2, CLI_OUT_JSON, "def" },
        { { "--output=raw" }, 1, 1, 1, CLI_OUT_RAW, "def" },
        { { "-ojson" }, 1, 1, 1, CLI_OUT_JSON, "def" },
        { { "--output", "human" }, 2, 1, 2, CLI_OUT_HUMAN, "def" },
        { { "-o", "yaml" }, 2, -1, 0, CLI_OUT_HUMAN, "def" },
        { { "-o" }, 1, -1, 0, CLI_OUT_HUMAN, "def" },
        { { "-c", "/tmp/c.yaml" }, 2, 1, 2, CLI_OUT_HUMAN, "/tmp/c.yaml" },
        { { "--config=/x.yaml" }, 1, 1, 1, CLI_OUT_HUMAN, "/x.yaml" },
        { { "--debug" }, 1, 1, 1, CLI_OUT_HUMAN, "def" },
        { { "--color", "no" }, 2, 1, 2, CLI_OUT_HUMAN, "def" },
        { { "--color", "purple" }, 2, -1, 0, CLI_OUT_HUMAN, "def" },
        { { "-i", "1.2.3.4" }, 2, 0, 0, CLI_OUT_HUMAN, "def" },
        { { "--ip" }, 1, 0, 0, CLI_OUT_HUMAN, "def" },
    };
    for (size_t k = 0; k < ARRAY_SIZE(cases); k++) {
        struct cli_globals g;
        cli_globals_init(&g);
        g.config = "def";
        g.format = CLI_OUT_HUMAN;
        int i = 0;
        int r = cli_globals_take(&g, cases[k].argc, (char **)cases[k].argv, &i);
        if (r != cases[k].ret || (r > 0 && i != cases[k].advance) || g.format != cases[k].format ||
            strcmp(g.config, cases[k].config) != 0)
            fail_msg("case %zu (%s): ret %d advance %d format %d config %s", k, cases[k].argv[0], r,
                     i, (int)g.format, g.config);
    }
    struct cli_globals g;
    cli_globals_init(&g);
    int i = 0;
    char *argv[] = { (char *)"--color", (char *)"yes" };
    assert_int_equal(cli_globals_take(&g, 2, argv, &i), 1);
    assert_true(g.color);
}

static void
test_progress_not_tty(void **state)
{
    (void)state;
    /* Under the test runner stderr is not a terminal: no bar, and every call is a no-op. */
    if (isatty(2))
        skip();
    struct cli_progress *p = cli_progress_new("importing", 10);
    assert_null(p);
    cli_progress_set(p, 5);
    cli_progress_free(p);
}

static void
test_json_indent(void **state)
{
    (void)state;
    /* Expected layouts are what Go's json.MarshalIndent prints. */
    static const struct {
        const char *in, *indent, *want;
    } cases[] = {
        { "[]", " ", "[]" },
        { "{}", " ", "{}" },
        { "[{\"a\":1,\"b\":[],\"c\":{}}]", " ",
          "[\n {\n  \"a\": 1,\n  \"b\": [],\n  \"c\": {}\n }\n]" },
        { "{\"k\":\"x,y:{z}[\\\"q\"}", "  ", "{\n  \"k\": \"x,y:{z}[\\\"q\"\n}" },
        { "[1,[2,3]]", "  ", "[\n  1,\n  [\n    2,\n    3\n  ]\n]" },
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        char *got = cli_json_indent(cases[i].in, cases[i].indent);
        assert_non_null(got);
        if (strcmp(got, cases[i].want) != 0)
            fail_msg("case %zu: got [%s] want [%s]", i, got, cases[i].want);
        free(got);
    }
}

static void
test_query_add(void **state)
{
    (void)state;
    struct str q = STR_INIT;
    assert_int_equal(cli_query_add(&q, "scope", "Ip"), 0);
    assert_int_equal(cli_query_add(&q, "range", "1.2.3.0/24"), 0);
    assert_int_equal(cli_query_add(&q, "scenario", "a b&c=d"), 0);
    assert_string_equal(q.buf, "scope=Ip&range=1.2.3.0%2F24&scenario=a+b%26c%3Dd");
    str_free(&q);
}

static void
test_flags_parse(void **state)
{
    (void)state;
    const char *ip = NULL, *pos[2] = { NULL, NULL };
    bool all = false;
    long limit = 100;
    const struct cli_flag flags[] = {
        { "-i", "--ip", CLI_FLAG_STRING, &ip },
        { "-a", "--all", CLI_FLAG_BOOL, &all },
        { "-l", "--limit", CLI_FLAG_INT, &limit },
    };
    char *argv[] = { (char *)"list", (char *)"-i", (char *)"1.2.3.4", (char *)"--all",
                     (char *)"-l5",  (char *)"-o", (char *)"json",    (char *)"42" };
    struct cli_globals g;
    size_t npos = 0;
    cli_globals_init(&g);
    assert_int_equal(
        cli_flags_parse(&g, flags, ARRAY_SIZE(flags), 8, argv, 1, pos, 2, &npos, "phalanx x"), 0);
    assert_string_equal(ip, "1.2.3.4");
    assert_true(all);
    assert_int_equal(limit, 5);
    assert_int_equal(g.format, CLI_OUT_JSON);
    assert_int_equal(npos, 1);
    assert_string_equal(pos[0], "42");

    static const struct {
        const char *arg, *arg2;
        int ret;
    } bad[] = {
        { "--nope", NULL, 1 },
        { "-l", "many", 1 },
        { "--limit=", NULL, 1 },
        { "-i", NULL, 1 },
        { "--help", NULL, CLI_FLAGS_HELP },
        { "-h", NULL, CLI_FLAGS_HELP },
    };
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        char *av[] = { (char *)"list", (char *)bad[i].arg, (char *)bad[i].arg2 };
        int ac = bad[i].arg2 != NULL ? 3 : 2;
        int r = cli_flags_parse(&g, flags, ARRAY_SIZE(flags), ac, av, 1, NULL, 0, NULL, "x");
        if (r != bad[i].ret)
            fail_msg("bad case %zu (%s): got %d want %d", i, bad[i].arg, r, bad[i].ret);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_raw),        cmocka_unit_test(test_table_human),
        cmocka_unit_test(test_table_many_rows),  cmocka_unit_test(test_globals),
        cmocka_unit_test(test_progress_not_tty), cmocka_unit_test(test_json_indent),
        cmocka_unit_test(test_query_add),        cmocka_unit_test(test_flags_parse),
        cmocka_unit_test(test_table_wrap),
    };
    /* Tables on a memory stream take their width from $COLUMNS: none here. */
    unsetenv("COLUMNS");
    return cmocka_run_group_tests(tests, NULL, NULL);
}

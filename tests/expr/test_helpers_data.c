/*
 * test_helpers_data.c - expr_data_load and File, RegexpInFile, FileMap,
 * LookupFile, MatchKnownBot.
 *
 * Fixtures are in tests/expr/data: the test_data_* files are CrowdSec's
 * pkg/exprhelpers/testdata (their cases are reused below as facts), the
 * test_* others are ours.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <unistd.h>

#include "common/str.h"
#include "expr/helpers.h"

#include "helpers_fixture.h"

static int
call(struct expr_vm *vm, const char *name, const struct expr_value *args, size_t n,
     struct expr_value *ret)
{
    return fixture_call(vm, expr_helpers_data, expr_helpers_data_count, name, args, n, ret);
}

static char data_dir[512];

static void
load_ok(const char *file, enum expr_data_type type)
{
    struct expr_error err;
    if (expr_data_load(data_dir, file, type, &err) != 0)
        fail_msg("loading %s: %s", file, err.message);
}

static int
setup(void **state)
{
    (void)state;
    fixture_data_dir(data_dir, sizeof(data_dir));
    expr_data_reset();
    return 0;
}

static int
teardown(void **state)
{
    (void)state;
    expr_data_reset();
    return 0;
}

/* --- File --- */

static void
test_file(void **state)
{
    static const struct {
        const char *file, *line;
        bool in;
    } cases[] = {
        { "test_data.txt", "Crowdsec", true },
        { "test_data.txt", "CrowdSecurity", false },
        { "test_data.txt", "test", false },
        { "test_data.txt", "CrowdSec", true }, /* last line, no newline at the end */
        { "non_existing_data.txt", "test", false },
        { "test_empty_line.txt", "foo", true },
        { "test_empty_line.txt", "#toto", false },
        { "test_empty_line.txt", "", false },
        { "test_crlf.txt", "alpha", true },
        { "test_crlf.txt", "delta", true },
        { "test_crlf.txt", "alpha\r", false },
    };
    struct expr_vm *vm = expr_vm_new();
    (void)state;
    load_ok("test_data.txt", EXPR_DATA_STRING);
    load_ok("test_empty_line.txt", EXPR_DATA_STRING);
    load_ok("test_crlf.txt", EXPR_DATA_STRING);
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct expr_value ret, arg = fixture_str(cases[i].file);
        assert_int_equal(call(vm, "File", &arg, 1, &ret), 0);
        assert_int_equal(ret.kind, EXPR_ARRAY);
        bool in = false;
        for (size_t k = 0; k < ret.u.a->len; k++)
            in = in || fixture_str_is(&ret.u.a->items[k], cases[i].line);
        if (in != cases[i].in)
            fail_msg("case %zu: \"%s\" in File(%s) = %d", i, cases[i].line, cases[i].file, in);
    }
    /* CrowdSec's TestFileInit counts: 3 lines, and 3 once empty lines and comments are gone. */
    static const struct {
        const char *file;
        size_t n;
    } counts[] = {
        { "test_data.txt", 3 },
        { "test_empty_line.txt", 3 },
        { "test_crlf.txt", 3 },
        { "nope.txt", 0 },
    };
    for (size_t i = 0; i < ARRAY_SIZE(counts); i++) {
        struct expr_value ret, arg = fixture_str(counts[i].file);
        assert_int_equal(call(vm, "File", &arg, 1, &ret), 0);
        assert_int_equal(ret.u.a->len, counts[i].n);
    }
    /* A file loaded as string is not a regexp file. */
    struct expr_value ret, args[2] = { fixture_str("Crowdsec"), fixture_str("test_data.txt") };
    assert_int_equal(call(vm, "RegexpInFile", args, 2, &ret), 0);
    assert_false(ret.u.b);
    expr_vm_free(vm);
}

static void
test_load_errors(void **state)
{
    static const struct {
        const char *file;
        enum expr_data_type type;
        const char *msg;
    } cases[] = {
        { "missing.txt", EXPR_DATA_STRING, "missing.txt" },
        { "test_bad_regexp.txt", EXPR_DATA_REGEXP, "test_bad_regexp.txt:3: invalid regexp" },
        { "test_data_map_invalid.json", EXPR_DATA_MAP, "failed to parse JSON line" },
        { "test_data_map_no_type.json", EXPR_DATA_MAP, "missing mandatory 'type' field" },
        { "test_data_map_bad_type.json", EXPR_DATA_MAP, "unknown entry type 'foobar'" },
        { "test_data_map_no_pattern.json", EXPR_DATA_MAP, "missing mandatory 'pattern' field" },
        { "test_data_map_no_tag.json", EXPR_DATA_MAP, "missing mandatory 'tag' field" },
        { "test_lookup_bad_value.json", EXPR_DATA_MAP, "failed to parse JSON line" },
        { "test_data_bots_invalid.json", EXPR_DATA_BOTS, "failed to parse JSON line" },
        { "test_data_bots_no_name.json", EXPR_DATA_BOTS, "missing mandatory 'name' field" },
        { "test_data_bots_no_identity.json", EXPR_DATA_BOTS, "no identity verification" },
        { "test_data_bots_bad_regex.json", EXPR_DATA_BOTS, "invalid user_agent regex" },
        { "test_data_bots_bad_rdns.json", EXPR_DATA_BOTS, "invalid rdns regex" },
        { "test_data_bots_bad_cidr.json", EXPR_DATA_BOTS, "invalid CIDR range" },
        { "test_data_bots_bad_ip.json", EXPR_DATA_BOTS, "invalid IP" },
        { "test_data_bots_unknown_field.json", EXPR_DATA_BOTS, "unknown field" },
    };
    struct expr_error err;
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        int rc = expr_data_load(data_dir, cases[i].file, cases[i].type, &err);
        if (rc != -1 || !strstr(err.message, cases[i].msg))
            fail_msg("case %zu (%s): rc %d, message \"%s\", want \"%s\"", i, cases[i].file, rc,
                     err.message, cases[i].msg);
    }
    assert_int_equal(expr_data_load(data_dir, "test_data.txt", (enum expr_data_type)42, &err), -1);
    assert_non_null(strstr(err.message, "unknown data type"));
}

/* Lines of 64 KiB and more are refused like bufio.Scanner does; a file is loaded once. */
static void
test_load_limits_and_reload(void **state)
{
    char dir[] = "/tmp/phalanx-data-XXXXXX";
    char path[600];
    struct expr_error err;
    struct expr_vm *vm = expr_vm_new();
    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/long.txt", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("short\n", f);
    for (int i = 0; i < 70000; i++)
        fputc('a', f);
    fputc('\n', f);
    fclose(f);
    assert_int_equal(expr_data_load(dir, "long.txt", EXPR_DATA_STRING, &err), -1);
    assert_non_null(strstr(err.message, "long.txt:2: bufio.Scanner: token too long"));

    snprintf(path, sizeof(path), "%s/reload.txt", dir);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("one\n", f);
    fclose(f);
    /* data_dir with a trailing slash is fine too. */
    char dirslash[64];
    snprintf(dirslash, sizeof(dirslash), "%s/", dir);
    assert_int_equal(expr_data_load(dirslash, "reload.txt", EXPR_DATA_STRING, &err), 0);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("one\ntwo\n", f);
    fclose(f);
    /* Already loaded: a no-op, the first content stays. */
    assert_int_equal(expr_data_load(dir, "reload.txt", EXPR_DATA_STRING, &err), 0);
    struct expr_value ret, arg = fixture_str("reload.txt");
    assert_int_equal(call(vm, "File", &arg, 1, &ret), 0);
    assert_int_equal(ret.u.a->len, 1);
    /* After a reset it is read again. */
    expr_data_reset();
    assert_int_equal(expr_data_load(dir, "reload.txt", EXPR_DATA_STRING, &err), 0);
    assert_int_equal(call(vm, "File", &arg, 1, &ret), 0);
    assert_int_equal(ret.u.a->len, 2);
    unlink(path);
    snprintf(path, sizeof(path), "%s/long.txt", dir);
    unlink(path);
    rmdir(dir);
    expr_vm_free(vm);
}

/* --- RegexpInFile --- */

static void
test_regexp_in_file(void **state)
{
    static const struct {
        const char *s, *file;
        bool want;
    } cases[] = {
        { "crowdsec", "test_data_re.txt", false },
        { "Crowdsec", "test_data_re.txt", true },
        { "test Crowdsec", "test_data_re.txt", true },
        { "test CrowdSec", "test_data_re.txt", true },
        { "CROWDSEC", "test_data_re.txt", false },
        { "", "test_data_re.txt", false },
        { "Crowdsec", "not_loaded.txt", false },
    };
    struct expr_vm *vm = expr_vm_new();
    (void)state;
    load_ok("test_data_re.txt", EXPR_DATA_REGEXP);
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct expr_value ret, args[2] = { fixture_str(cases[i].s), fixture_str(cases[i].file) };
        assert_int_equal(call(vm, "RegexpInFile", args, 2, &ret), 0);
        assert_int_equal(ret.kind, EXPR_BOOL);
        if (ret.u.b != cases[i].want)
            fail_msg("case %zu: RegexpInFile(%s, %s) = %d", i, cases[i].s, cases[i].file, ret.u.b);
    }
    /* A regexp file is not visible to File(). */
    struct expr_value ret, arg = fixture_str("test_data_re.txt");
    assert_int_equal(call(vm, "File", &arg, 1, &ret), 0);
    assert_int_equal(ret.u.a->len, 0);
    struct expr_value bad[2] = { expr_int(1), fixture_str("test_data_re.txt") };
    assert_int_equal(call(vm, "RegexpInFile", bad, 2, &ret), -1);
    expr_vm_free(vm);
}

/*
 * Predicates over File() whose body applies a pure helper to # run over the
 * lines mapped once (FILE_MAP), and loop-invariant calls and lookups in
 * predicate bodies are computed once per loop (MEMO_*): the results must be
 * those of the plain loop. The last column says whether the rewrite applies.
 */
static void
test_loops_over_files(void **state)
{
    static const struct {
        const char *src, *s;
        int64_t want;   /* bool as 0/1, or the count */
        const char *op; /* an opcode the program must contain, or NULL */
    } cases[] = {
        { "any(File('test_data.txt'), {Upper(s) contains Upper(#)})", "xx crowdSEC yy", 1,
          "FILE_MAP" },
        { "any(File('test_data.txt'), {Upper(s) contains Upper(#)})", "crowd", 0, "MEMO_GET" },
        { "count(File('test_data.txt'), {Upper(#) == 'CROWDSEC'})", "", 2, "FILE_MAP" },
        { "all(File('test_data.txt'), {Lower(#) startsWith Lower(s)})", "CROWDS", 1, "FILE_MAP" },
        { "all(File('test_data.txt'), {Lower(#) startsWith Lower(s)})", "crowdsecu", 0, NULL },
        { "none(File('test_data.txt'), {Upper(#) == Upper(s)})", "crowdsecurity", 0, NULL },
        { "none(File('test_data.txt'), {Upper(#) == Upper(s)})", "x", 1, NULL },
        { "one(File('test_data.txt'), {Upper(#) == Upper(s)})", "crowdsecurity", 1, NULL },
        { "one(File('test_data.txt'), {Upper(#) == Upper(s)})", "crowdsec", 0, NULL },
        { "any(File('not_loaded.txt'), {Upper(#) == s})", "", 0, "FILE_MAP" },
        /* # used bare too: the items stay the file's lines. */
        { "any(File('test_data.txt'), {Upper(#) == 'CROWDSEC' && # == 'CrowdSec'})", "", 1, NULL },
        { "any(File('test_data.txt'), {Upper(#) == 'CROWDSEC' && # == 'CROWDSEC'})", "", 0, NULL },
        /* Two different helpers on #: not mapped, still right. */
        { "any(File('test_data.txt'), {Upper(#) == 'CROWDSEC' && Lower(#) == s})", "crowdsec", 1,
          NULL },
        { "any(['a', 'b'], {Upper(s) + # == 'Xb'})", "x", 1, "MEMO_GET" },
        { "filter(['a', 'b'], {Upper(s) + # == 'Xb'})[0] == 'b'", "x", 1, "MEMO_GET" },
        /* A let in the body: not memoized; the inner loop memoizes on its own. */
        { "any(['a', 'b'], {let y = #; any(['c'], {y + Upper(s) == 'bS'})})", "s", 1, NULL },
        { "any(['a', 'b'], {any(['x', #], {Upper(#) == Upper(s)})})", "B", 1, NULL },
        { "count(['a', 'b', 'c'], {len(Trim(s, #)) == 2})", "abc", 2, NULL },
        /* any(coll, {X op #}): the native scan, and its way back to the generic body. */
        { "any(File('test_data.txt'), {s == #})", "CrowdSec", 1, "SCAN_EQ" },
        { "any(File('test_data.txt'), {s == #})", "crowdsec", 0, "SCAN_EQ" },
        { "any(File('test_data.txt'), {s startsWith Upper(#)})", "CROWDSECURITY!", 1,
          "SCAN_STARTSWITH" },
        { "any(File('test_data.txt'), {s endsWith #})", "xCrowdsecurity", 1, "SCAN_ENDSWITH" },
        { "any(File('test_data.txt'), {Lower(s) contains Lower(#)})", "a crowdsec b", 1,
          "SCAN_CONTAINS" },
        { "any(['a', 1, 'b'], {s contains #})", "ab", 1, "SCAN_CONTAINS" },
        { "any(['x', nil, 'b'], {s contains #})", "b", 1, "SCAN_CONTAINS" },
        { "any(['x', nil, 'y'], {s contains #})", "b", 0, "SCAN_CONTAINS" },
        { "any([1, 'b'], {s == #})", "b", 1, "SCAN_EQ" },
        { "any(['a', 'b'], {'b' == #})", "", 1, NULL },
        { "any([], {s contains #})", "", 0, NULL },
        { "!any(['a', 'b'], {s endsWith #}) || s == 'xa'", "xa", 1, NULL },
    };
    struct expr_env *env = expr_env_new();
    struct expr_vm *vm = expr_vm_new();
    (void)state;
    assert_non_null(env);
    assert_non_null(vm);
    assert_int_equal(expr_env_add_var(env, "s", EXPR_T(EXPR_STRING)), 0);
    assert_int_equal(expr_env_add_crowdsec_helpers(env), 0);
    load_ok("test_data.txt", EXPR_DATA_STRING);
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct expr_error err;
        struct expr_program *p =
            expr_compile(env, cases[i].src, strlen(cases[i].src), EXPR_T_ANY, &err);
        if (!p)
            fail_msg("case %zu: %s: %s", i, cases[i].src, err.message);
        struct expr_value vars[1] = { fixture_str(cases[i].s) }, v;
        /* Twice: the second run reuses the mapped lines and the vm's slots. */
        for (int run = 0; run < 2; run++) {
            if (expr_eval(vm, p, vars, &v, &err) != 0)
                fail_msg("case %zu: %s: %s", i, cases[i].src, err.message);
            int64_t got = v.kind == EXPR_BOOL ? v.u.b : v.kind == EXPR_INT ? v.u.i : -1;
            if (got != cases[i].want)
                fail_msg("case %zu (run %d): %s with s=%s: got %lld, want %lld", i, run,
                         cases[i].src, cases[i].s, (long long)got, (long long)cases[i].want);
        }
        if (cases[i].op) {
            char *dump = NULL;
            size_t dlen = 0;
            FILE *f = open_memstream(&dump, &dlen);
            assert_non_null(f);
            expr_program_dump(p, f);
            fclose(f);
            if (!strstr(dump, cases[i].op))
                fail_msg("case %zu: %s: no %s in\n%s", i, cases[i].src, cases[i].op, dump);
            free(dump);
        }
        expr_program_free(p);
    }
    /* A non-string item met by the scan fails as the plain body does. */
    static const char *const failing[] = { "any(['x', 1, 'b'], {s contains #})",
                                           "any(File('test_data.txt'), {s contains #}) || "
                                           "any(['y', 2], {s startsWith #})" };
    for (size_t i = 0; i < ARRAY_SIZE(failing); i++) {
        struct expr_error err;
        struct expr_program *p =
            expr_compile(env, failing[i], strlen(failing[i]), EXPR_T_ANY, &err);
        assert_non_null(p);
        struct expr_value vars[1] = { fixture_str("b") }, v;
        if (expr_eval(vm, p, vars, &v, &err) == 0)
            fail_msg("%s: no error", failing[i]);
        expr_program_free(p);
    }
    expr_vm_free(vm);
    expr_env_free(env);
}

/* --- FileMap / LookupFile --- */

static void
test_file_map(void **state)
{
    struct expr_vm *vm = expr_vm_new();
    struct expr_value ret, arg = fixture_str("test_data_map.json");
    (void)state;
    load_ok("test_data_map.json", EXPR_DATA_MAP);
    load_ok("test_data_map.json", EXPR_DATA_MAP); /* already loaded: no-op */
    assert_int_equal(call(vm, "FileMap", &arg, 1, &ret), 0);
    assert_int_equal(ret.kind, EXPR_ARRAY);
    assert_int_equal(ret.u.a->len, 9);
    static const struct {
        size_t row;
        const char *key, *value;
    } cells[] = {
        { 0, "pattern", "/tmui/" },
        { 0, "tag", "F5" },
        { 0, "type", "contains" },
        { 6, "pattern", "/specific/endpoint.php" },
        { 6, "tag", "SpecificApp" },
        { 6, "type", "equals" },
        { 7, "type", "regex" },
        { 7, "tag", "WordPress-Plugin" },
        { 7, "pattern", "/wp-content/plugins/[^/]+/readme\\.txt" },
    };
    for (size_t i = 0; i < ARRAY_SIZE(cells); i++) {
        const struct expr_value *row = &ret.u.a->items[cells[i].row];
        assert_int_equal(row->kind, EXPR_MAP);
        const struct expr_value *v = expr_map_get(row->u.m, cells[i].key, strlen(cells[i].key));
        if (!v || !fixture_str_is(v, cells[i].value))
            fail_msg("cell %zu: rows[%zu][%s]", i, cells[i].row, cells[i].key);
    }
    /* Every key of the JSON line is kept, null becomes "". */
    load_ok("test_lookup.json", EXPR_DATA_MAP);
    arg = fixture_str("test_lookup.json");
    assert_int_equal(call(vm, "FileMap", &arg, 1, &ret), 0);
    assert_int_equal(ret.u.a->len, 8);
    const struct expr_value *extra = expr_map_get(ret.u.a->items[4].u.m, "extra", 5);
    assert_non_null(extra);
    assert_true(fixture_str_is(extra, ""));
    const struct expr_value *comment = expr_map_get(ret.u.a->items[5].u.m, "comment", 7);
    assert_non_null(comment);
    assert_true(fixture_str_is(comment, "versioned"));
    arg = fixture_str("missing.json");
    assert_int_equal(call(vm, "FileMap", &arg, 1, &ret), 0);
    assert_int_equal(ret.kind, EXPR_ARRAY);
    assert_int_equal(ret.u.a->len, 0);
    expr_vm_free(vm);
}

static void
test_lookup_file(void **state)
{
    static const struct {
        const char *s, *file, *want;
    } cases[] = {
        /* CrowdSec's filemap_test.go */
        { "/admin/tmui/login.jsp", "test_data_map.json", "F5" },
        { "/webfig/winbox", "test_data_map.json", "MikroTik" },
        { "/cgi-bin/luci/admin", "test_data_map.json", "OpenWrt" },
        { "/.env", "test_data_map.json", "Generic" },
        { "/wp-admin/options.php", "test_data_map.json", "WordPress" },
        { "/normal/page.html", "test_data_map.json", "" },
        { "", "test_data_map.json", "" },
        { "/specific/endpoint.php", "test_data_map.json", "SpecificApp" },
        { "/specific/endpoint.php/extra", "test_data_map.json", "" },
        { "/specific/endpoint", "test_data_map.json", "" },
        { "/wp-content/plugins/akismet/readme.txt", "test_data_map.json", "WordPress-Plugin" },
        { "/dana/somepath", "test_data_map.json", "VPN-Endpoint" },
        { "/logon/LogonPoint/receiver", "test_data_map.json", "VPN-Endpoint" },
        { "/wp-admin/plugins/akismet/readme.txt", "test_data_map.json", "WordPress" },
        { "/tmui/", "nonexistent.json", "" },
        /* ours: leftmost-first among contains, later equals duplicate wins, bad regex skipped */
        { "/wp-login.php?admin", "test_lookup.json", "WordPress" },
        { "/x/admin/wp-login", "test_lookup.json", "Admin" },
        { "/y/wp-login", "test_lookup.json", "WordPress" },
        { "/exact", "test_lookup.json", "Second" },
        { "/exact/admin", "test_lookup.json", "Admin" },
        { "/api/v2/users", "test_lookup.json", "API" },
        { "/api/v1/admin", "test_lookup.json", "Admin" },
        { "/index.php", "test_lookup.json", "PHP" },
        { "/index.php5", "test_lookup.json", "" },
        { "([", "test_lookup.json", "" },
    };
    struct expr_vm *vm = expr_vm_new();
    (void)state;
    load_ok("test_data_map.json", EXPR_DATA_MAP);
    load_ok("test_lookup.json", EXPR_DATA_MAP);
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct expr_value ret, args[2] = { fixture_str(cases[i].s), fixture_str(cases[i].file) };
        assert_int_equal(call(vm, "LookupFile", args, 2, &ret), 0);
        if (!fixture_str_is(&ret, cases[i].want))
            fail_msg("case %zu: LookupFile(%s, %s) = \"%.*s\", want \"%s\"", i, cases[i].s,
                     cases[i].file, ret.kind == EXPR_STRING ? (int)ret.u.s.len : 0,
                     ret.kind == EXPR_STRING ? ret.u.s.ptr : "", cases[i].want);
    }
    expr_vm_free(vm);
}

/* --- MatchKnownBot --- */

static void
test_match_known_bot(void **state)
{
    static const struct {
        const char *ip, *ua, *path;
        bool want;
    } cases[] = {
        /* CrowdSec's TestMatchKnownBotNoDNS */
        { "10.1.2.3", "", "/", true },
        { "2001:db8::42", "", "/", true },
        { "10.1.2.3:54321", "", "/", true },
        { "::ffff:10.1.2.3", "", "/", true },
        { "192.0.2.77", "anything", "/any/path", true },
        { "192.0.3.77", "anything", "/any/path", false },
        { "69.162.124.230", "UptimeRobot/2.0", "/health/db", true },
        { "216.144.250.150", "uptimerobot", "/status", true },
        { "[2607:ff68:107::25]:443", "UptimeRobot/2.0", "/health", true },
        { "69.162.124.230", "UPTIMEROBOT", "/health", true },
        { "69.162.124.230", "uptimerobot", "/HEALTH", true },
        { "69.162.124.230", "uptimerobot", "/index.html", false },
        { "69.162.124.230", "definitely-not-it", "/health", false },
        { "69.162.124.230", "", "/health", false },
        { "not-an-ip", "uptimerobot", "/health", false },
        { "", "uptimerobot", "/health", false },
        /* parseBotAddr cases */
        { "fe80::1%eth0", "", "/", false },
        { "1.2.3.4:port:extra", "", "/", false },
        { "[2001:db8::42]:8080", "", "/", true },
    };
    struct expr_vm *vm = expr_vm_new();
    (void)state;
    load_ok("test_data_bots.json", EXPR_DATA_BOTS);
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct expr_value ret,
            args[4] = { fixture_str(cases[i].ip), fixture_str(cases[i].ua),
                        fixture_str(cases[i].path), fixture_str("test_data_bots.json") };
        assert_int_equal(call(vm, "MatchKnownBot", args, 4, &ret), 0);
        if (ret.kind != EXPR_BOOL || ret.u.b != cases[i].want)
            fail_msg("case %zu: MatchKnownBot(%s, %s, %s)", i, cases[i].ip, cases[i].ua,
                     cases[i].path);
    }
    /* Without file names, or with only unknown ones, nothing matches. */
    struct expr_value ret, args[5] = { fixture_str("10.1.2.3"), fixture_str(""), fixture_str("/"),
                                       fixture_str("nope.json"), expr_int(3) };
    assert_int_equal(call(vm, "MatchKnownBot", args, 3, &ret), 0);
    assert_false(ret.u.b);
    assert_int_equal(call(vm, "MatchKnownBot", args, 5, &ret), 0);
    assert_false(ret.u.b);
    /* Several files: any may match. */
    args[3] = fixture_str("nope.json");
    args[4] = fixture_str("test_data_bots.json");
    assert_int_equal(call(vm, "MatchKnownBot", args, 5, &ret), 0);
    assert_true(ret.u.b);
    expr_vm_free(vm);
}

/* Forward-confirmed reverse DNS, offline: 127.0.0.1 <-> localhost through /etc/hosts. */
static void
test_match_known_bot_fcrdns(void **state)
{
    static const struct {
        const char *ip, *ua;
        bool want;
    } cases[] = {
        { "127.0.0.1", "localbot/1.0", true },
        { "127.0.0.1:8080", "LocalBot", true },
        { "127.0.0.1", "otherbot", false }, /* its rdns pattern wants example.org */
        { "127.0.0.1", "somebody", false }, /* no UA precondition holds */
    };
    struct expr_vm *vm = expr_vm_new();
    (void)state;
    load_ok("test_bots_local.json", EXPR_DATA_BOTS);
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct expr_value ret, args[4] = { fixture_str(cases[i].ip), fixture_str(cases[i].ua),
                                           fixture_str("/"), fixture_str("test_bots_local.json") };
        assert_int_equal(call(vm, "MatchKnownBot", args, 4, &ret), 0);
        if (ret.u.b != cases[i].want)
            fail_msg("case %zu: MatchKnownBot(%s, %s) = %d", i, cases[i].ip, cases[i].ua, ret.u.b);
    }
    expr_vm_free(vm);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_load_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_load_limits_and_reload, setup, teardown),
        cmocka_unit_test_setup_teardown(test_regexp_in_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_loops_over_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_map, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lookup_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_match_known_bot, setup, teardown),
        cmocka_unit_test_setup_teardown(test_match_known_bot_fcrdns, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

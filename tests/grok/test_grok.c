/*
 * test_grok.c - tests for src/grok: the base set, expansion semantics
 * (fields, shadowing, grokky's group numbering), Go-only syntax, pattern
 * files, the hub's patterns and hostile subjects.
 *
 * oracle_cases.inc holds {pattern, subject, expected fields} produced by
 * crowdsecurity/grokky itself (Go regexp) on the same base set, so a
 * difference in any capture is a failure here. Every base pattern has lines
 * that must match and lines that must not.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/str.h"
#include "grok/grok.h"
#include "grok/translate.h"

struct oracle_case {
    const char *pattern, *subject;
    const char *fields; /* "name=value\037..." sorted by name, NULL: no match */
};

static const struct oracle_case oracle_cases[] = {
#include "oracle_cases.inc"
};

static char base_path[4096];

static const char *
source_root(void)
{
    const char *root = getenv("PHALANX_SOURCE_ROOT");
    return root ? root : ".";
}

static struct grok_library *
base_library(void)
{
    struct grok_library *lib = grok_library_new();
    struct grok_error err;

    assert_non_null(lib);
    snprintf(base_path, sizeof(base_path), "%s/config/patterns/base", source_root());
    if (grok_library_load_file(lib, base_path, &err) < 0)
        fail_msg("%s:%d: %s", err.file, err.line, err.message);
    return lib;
}

/* Formats a match the way oracle_cases.inc spells it. */
static void
format_fields(const struct grok_pattern *p, const struct strv *v, struct str *out)
{
    for (size_t i = 0; i < grok_field_count(p); i++) {
        assert_int_equal(str_appendf(out, "%s=", grok_field_name(p, i)), 0);
        assert_int_equal(str_append(out, v[i].ptr, v[i].len), 0);
        assert_int_equal(str_append_char(out, '\037'), 0);
    }
}

static void
test_oracle_table(void **state)
{
    struct grok_library *lib = base_library();
    int failed = 0;

    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(oracle_cases); i++) {
        const struct oracle_case *c = &oracle_cases[i];
        struct grok_error err;
        struct grok_pattern *p = grok_compile(lib, c->pattern, &err);
        if (p == NULL) {
            printf("# case %zu %s: compile error %s\n", i, c->pattern, err.message);
            failed++;
            continue;
        }
        struct strv v[64];
        struct str got = STR_INIT;
        assert_true(grok_field_count(p) <= ARRAY_SIZE(v));
        enum grok_result r = grok_match(p, c->subject, strlen(c->subject), v);
        if (r == GROK_MATCH)
            format_fields(p, v, &got);
        bool ok = c->fields == NULL
                      ? r == GROK_NO_MATCH
                      : r == GROK_MATCH && strcmp(got.buf ? got.buf : "", c->fields) == 0;
        if (!ok) {
            printf("# case %zu %s on \"%s\": got %d {%s}, want {%s}\n", i, c->pattern, c->subject,
                   r, got.buf ? got.buf : "", c->fields ? c->fields : "no match");
            failed++;
        }
        str_free(&got);
        grok_pattern_free(p);
    }
    printf("# %zu oracle cases\n", ARRAY_SIZE(oracle_cases));
    grok_library_free(lib);
    assert_int_equal(failed, 0);
}

/* Every base name is defined and compiles on its own. */
static void
test_base_set(void **state)
{
    static const char *const names[] = {
        "USERNAME",
        "USER",
        "EMAILLOCALPART",
        "EMAILADDRESS",
        "HTTPDUSER",
        "INT",
        "BASE10NUM",
        "NUMBER",
        "BASE16NUM",
        "BASE16FLOAT",
        "POSINT",
        "NONNEGINT",
        "WORD",
        "NOTSPACE",
        "SPACE",
        "DATA",
        "GREEDYDATA",
        "QUOTEDSTRING",
        "UUID",
        "MAC",
        "CISCOMAC",
        "WINDOWSMAC",
        "COMMONMAC",
        "IPV6",
        "IPV4",
        "IP",
        "HOSTNAME",
        "IPORHOST",
        "HOSTPORT",
        "PATH",
        "UNIXPATH",
        "TTY",
        "WINPATH",
        "URIPROTO",
        "URIHOST",
        "URIPATH",
        "URIPARAM",
        "URIPATHPARAM",
        "URI",
        "MONTH",
        "MONTHNUM",
        "MONTHNUM2",
        "MONTHDAY",
        "DAY",
        "YEAR",
        "HOUR",
        "MINUTE",
        "SECOND",
        "TIME",
        "DATE_US",
        "DATE_EU",
        "DATE_X",
        "ISO8601_TIMEZONE",
        "ISO8601_SECOND",
        "TIMESTAMP_ISO8601",
        "DATE",
        "DATESTAMP",
        "TZ",
        "NUMTZ",
        "DATESTAMP_RFC822",
        "DATESTAMP_RFC2822",
        "DATESTAMP_OTHER",
        "DATESTAMP_EVENTLOG",
        "HTTPDERROR_DATE",
        "ANSIC",
        "UNIXDATE",
        "RUBYDATE",
        "RFC822Z",
        "RFC850",
        "RFC1123",
        "RFC1123Z",
        "RFC3339",
        "RFC3339NANO",
        "KITCHEN",
        "SYSLOGTIMESTAMP",
        "PROG",
        "SYSLOGPROG",
        "SYSLOGHOST",
        "SYSLOGFACILITY",
        "HTTPDATE",
        "QS",
        "LOGLEVEL",
        "SYSLOGBASE",
        "COMMONAPACHELOG",
        "COMBINEDAPACHELOG",
        "HTTPD20_ERRORLOG",
        "HTTPD24_ERRORLOG",
        "HTTPD_ERRORLOG",
    };
    struct grok_library *lib = base_library();

    (void)state;
    assert_int_equal(ARRAY_SIZE(names), 88);
    for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
        char pat[64];
        struct grok_error err;
        snprintf(pat, sizeof(pat), "%%{%s:x}", names[i]);
        struct grok_pattern *p = grok_compile(lib, pat, &err);
        if (p == NULL)
            fail_msg("%s: %s", names[i], err.message);
        grok_pattern_free(p);
    }
    assert_string_equal(grok_library_get(lib, "DATA"), ".*?");
    assert_string_equal(grok_library_get(lib, "USER"), "%{USERNAME}");
    assert_null(grok_library_get(lib, "HOST")); /* not a grokky base name */
    grok_library_free(lib);
}

struct field_case {
    const char *pattern, *subject;
    const char *fields; /* as in the oracle table */
    enum grok_result result;
};

/* Expansion semantics that the oracle table does not spell out by name. */
static void
test_expansion(void **state)
{
    static const struct field_case cases[] = {
        /* nested fields surface: SYSLOGPROG exposes program and pid */
        { "%{SYSLOGPROG}", "sshd[42]", "pid=42\037program=sshd\037", GROK_MATCH },
        /* the outer name shadows the nested one, wherever it stands */
        { "%{WORD:program} %{SYSLOGPROG}", "k c[7]", "pid=7\037program=k\037", GROK_MATCH },
        { "%{SYSLOGPROG} %{WORD:program}", "c[7] k", "pid=7\037program=k\037", GROK_MATCH },
        /* two references exposing the same nested name: the later wins */
        { "%{SYSLOGPROG} %{SYSLOGPROG}", "a[1] b[2]", "pid=2\037program=b\037", GROK_MATCH },
        /* the same field twice at one level: the later wins */
        { "%{INT:a} %{INT:a}", "1 2", "a=2\037", GROK_MATCH },
        /* unmatched optional group: "" */
        { "(%{INT:a})?%{WORD:b}", "xyz", "a=\037b=xyz\037", GROK_MATCH },
        /* no field: a match that counts as none */
        { "%{WORD}", "hello", "", GROK_NO_MATCH },
        { "hello", "hello", "", GROK_NO_MATCH },
        /* raw named groups are not fields (but keep their group number) */
        { "(?P<x>a+)-%{WORD:w}", "aaa-b", "w=b\037", GROK_MATCH },
        { "(?<x>a+)-%{WORD:w}", "aa-b", "w=b\037", GROK_MATCH },
        /* grokky counts "(foo|process)" as no group ("s)" looks like flags): w reads group 1 */
        { "(foo|process) %{WORD:w}", "process x", "w=process\037", GROK_MATCH },
        /* unanchored, leftmost-first */
        { "%{INT:n}", "ab 12 34", "n=12\037", GROK_MATCH },
        { "%{DATA:a},%{GREEDYDATA:b}", "x,y,z", "a=x\037b=y,z\037", GROK_MATCH },
        /* RE2 \s has no vertical tab; Go's \v is a vertical tab */
        { "%{WORD:x}\\s%{WORD:y}", "a\vb c", "x=b\037y=c\037", GROK_MATCH },
        { "^a\\vb$%{SPACE:s}", "a\vb", "s=\037", GROK_MATCH },
        /* $ is the end of the text only; . does not take \n */
        { "^%{WORD:w}$", "abc\n", "", GROK_NO_MATCH },
        { "^%{GREEDYDATA:g}", "ab\ncd", "g=ab\037", GROK_MATCH },
        /* ASCII \w and \b */
        { "%{WORD:w}", "\xc3\xa9t\xc3\xa9", "w=t\037", GROK_MATCH },
        /* UTF-8 literal in MONTH */
        { "^%{MONTH:m}$", "M\xc3\xa4r", "m=M\xc3\xa4r\037", GROK_MATCH },
        /* a '{' that is no Go repeat is literal; octal escapes are characters */
        { "a{,2}%{INT:n}", "a{,2}5", "n=5\037", GROK_MATCH },
        { "\\101%{INT:n}", "A5", "n=5\037", GROK_MATCH },
        { "\\Q%{\\E%{INT:n}", "%{7", "n=7\037", GROK_MATCH },
        /* a %{ that is not a reference stays literal text */
        { "%{INT:n:int}|%{INT:m}", "%{INT:n:int}", "m=\037", GROK_MATCH },
    };
    struct grok_library *lib = base_library();
    int failed = 0;

    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct grok_error err;
        struct grok_pattern *p = grok_compile(lib, cases[i].pattern, &err);
        if (p == NULL) {
            printf("# expansion %zu %s: %s\n", i, cases[i].pattern, err.message);
            failed++;
            continue;
        }
        struct strv v[16];
        struct str got = STR_INIT;
        enum grok_result r = grok_match(p, cases[i].subject, strlen(cases[i].subject), v);
        if (r == GROK_MATCH)
            format_fields(p, v, &got);
        if (r != cases[i].result || strcmp(got.buf ? got.buf : "", cases[i].fields) != 0) {
            printf("# expansion %zu %s: got %d {%s}, want %d {%s}\n", i, cases[i].pattern, r,
                   got.buf ? got.buf : "", cases[i].result, cases[i].fields);
            failed++;
        }
        str_free(&got);
        grok_pattern_free(p);
    }
    grok_library_free(lib);
    assert_int_equal(failed, 0);
}

/* Patterns that must not compile, with a word of the expected message. */
static void
test_compile_errors(void **state)
{
    static const struct {
        const char *pattern, *message;
    } cases[] = {
        { "%{NOPE:x}", "'NOPE' pattern doesn't exist" },
        { "%{WORD:a} %{MISSING}", "'MISSING' pattern doesn't exist" },
        { "", "empty" },
        { "(%{WORD:a}", "missing closing )" },
        { "%{WORD:a})", "unexpected )" },
        { "(?=x)%{WORD:a}", "Perl syntax" },
        { "(?!x)%{WORD:a}", "Perl syntax" },
        { "(?<=x)%{WORD:a}", "named capture" },
        { "(?>x)%{WORD:a}", "Perl syntax" },
        { "(?#c)%{WORD:a}", "Perl syntax" },
        { "(*UCP)%{WORD:a}", "missing argument" },
        { "(a)\\1%{WORD:a}", "invalid escape" },
        { "a*+%{WORD:a}", "nested repetition" },
        { "a**%{WORD:a}", "nested repetition" },
        { "a{2}{3}%{WORD:a}", "nested repetition" },
        { "a{1001}%{WORD:a}", "invalid repeat count" },
        { "\\C%{WORD:a}", "invalid escape" },
        { "\\K%{WORD:a}", "invalid escape" },
        { "\\h%{WORD:a}", "invalid escape" },
        { "(?P<x>a)(?P<x>b)%{WORD:a}", "duplicate capture group name" },
        { "%{WORD:a}[a", "missing closing ]" },
        /* grokky counts the "(" of \\Q(\\E as a group: n would read past the last group (Go panics)
         */
        { "\\Q(%{\\E%{INT:n}", "refers to group 2 of 1" },
        { "%{WORD:a}\\", "trailing backslash" },
        { "\\x{110000}%{WORD:a}", "invalid escape" },
        { "\xff%{WORD:a}", "UTF-8" },
    };
    struct grok_library *lib = base_library();
    int failed = 0;

    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct grok_error err = { 0 };
        struct grok_pattern *p = grok_compile(lib, cases[i].pattern, &err);
        if (p != NULL || strstr(err.message, cases[i].message) == NULL) {
            printf("# error case %zu %s: got %s, want \"%s\"\n", i, cases[i].pattern,
                   p ? "a pattern" : err.message, cases[i].message);
            failed++;
        }
        grok_pattern_free(p);
    }
    grok_library_free(lib);
    assert_int_equal(failed, 0);
}

/* grokky's Add: duplicates, references to later names, loops, bad regexes. */
static void
test_library_add(void **state)
{
    struct grok_library *lib = grok_library_new();
    struct grok_error err;

    (void)state;
    assert_int_equal(grok_library_add(lib, "A", "a+"), 0);
    assert_int_equal(grok_library_add(lib, "A", "b+"), -EEXIST);
    assert_string_equal(grok_library_get(lib, "A"), "a+"); /* the first definition stays */
    assert_int_equal(grok_library_add(lib, "", "x"), -EINVAL);
    assert_int_equal(grok_library_add(lib, "B", ""), -EINVAL);
    assert_int_equal(grok_library_add(lib, "bad name", "x"), -EINVAL);
    /* a definition may only refer to earlier ones, so no reference loop can be built */
    assert_int_equal(grok_library_add(lib, "SELF", "x%{SELF}"), -EINVAL);
    assert_int_equal(grok_library_add(lib, "C", "%{D}"), -EINVAL);
    assert_int_equal(grok_library_add(lib, "D", "%{C}"), -EINVAL);
    assert_null(grok_library_get(lib, "C"));
    assert_int_equal(grok_library_add(lib, "E", "(?=x)"), -EINVAL);
    assert_int_equal(grok_library_add(lib, "F", "%{A:inner}-"), 0);
    assert_int_equal(grok_library_add(lib, "G", "<%{F}|%{F:outer}>"), 0);

    struct grok_pattern *p = grok_compile(lib, "%{G:g}", &err);
    assert_non_null(p);
    assert_int_equal(grok_field_count(p), 3);
    assert_string_equal(grok_field_name(p, 0), "g");
    assert_string_equal(grok_field_name(p, 1), "inner");
    assert_string_equal(grok_field_name(p, 2), "outer");
    assert_null(grok_field_name(p, 3));
    assert_string_equal(grok_pattern_regex(p), "(<((a+)-)|((a+)-)>)");
    struct strv v[3];
    /* inner comes from the later %{F:outer} (group 4), unset here, as grokky has it */
    assert_int_equal(grok_match(p, "<aa-", 4, v), GROK_MATCH);
    assert_true(strv_eq_cstr(v[0], "<aa-"));
    assert_true(strv_eq_cstr(v[1], ""));
    assert_true(strv_eq_cstr(v[2], ""));
    assert_int_equal(grok_match(p, "a->", 3, v), GROK_MATCH);
    assert_true(strv_eq_cstr(v[0], "a->"));
    assert_true(strv_eq_cstr(v[1], "a"));
    assert_true(strv_eq_cstr(v[2], "a-"));
    grok_pattern_free(p);
    grok_library_free(lib);
    grok_library_free(NULL);
    grok_pattern_free(NULL);
}

static void
write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* Pattern files: "NAME regex" lines, others ignored; errors name file and line. */
static void
test_load_file(void **state)
{
    char dir[] = "/tmp/test_grok_XXXXXX", path[4200];
    struct grok_library *lib = grok_library_new();
    struct grok_error err;

    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/one", dir);
    write_file(path, "# comment\n"
                     "\n"
                     "  INDENTED x\n"
                     "NUM\t [0-9]+ \r\n"
                     "PAIR %{NUM:a}-%{NUM:b}\n"
                     "ONLYNAME\n"
                     "SPACES   \n");
    snprintf(path, sizeof(path), "%s/two.txt", dir); /* skipped: the name has a dot */
    write_file(path, "NUM other\n");
    snprintf(path, sizeof(path), "%s/zz", dir);
    write_file(path, "LATER %{PAIR:p}\nNUM again\nNEVER x\n");
    assert_int_equal(grok_library_load_dir(lib, dir, &err), -1);
    assert_int_equal(err.line, 2);
    assert_non_null(strstr(err.file, "/zz"));
    assert_non_null(strstr(err.message, "already exist"));
    assert_string_equal(grok_library_get(lib, "NUM"), "[0-9]+ "); /* \r dropped, space kept */
    assert_null(grok_library_get(lib, "INDENTED"));
    assert_null(grok_library_get(lib, "ONLYNAME"));
    assert_string_equal(grok_library_get(lib, "SPACES"), " "); /* \s+ gives back one */
    assert_non_null(grok_library_get(lib, "LATER"));
    assert_null(grok_library_get(lib, "NEVER")); /* the rest of that file is not read */

    snprintf(path, sizeof(path), "%s/bad", dir);
    write_file(path, "OK1 x\nBROKEN %{NOWHERE}\n");
    assert_int_equal(grok_library_load_file(lib, path, &err), -1);
    assert_int_equal(err.line, 2);
    assert_non_null(strstr(err.message, "NOWHERE"));
    assert_int_equal(grok_library_load_file(lib, "/nonexistent/x", &err), -1);
    assert_int_equal(grok_library_load_dir(lib, "/nonexistent", &err), -1);

    static const char *const names[] = { "one", "two.txt", "zz", "bad" };
    for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        unlink(path);
    }
    rmdir(dir);
    grok_library_free(lib);
}

static const char *
hub_dir(char *buf, size_t len)
{
    const char *hub = getenv("HUB");
    if (hub != NULL)
        return hub;
    snprintf(buf, len, "%s/../shared/hub", source_root());
    return buf;
}

/* Every name of the hub's pattern files compiles and SSHD_LOG (too big for one PCRE2 regex)
 * matches. */
static void
test_hub_patterns(void **state)
{
    char hubbuf[4096], dir[4200];
    struct grok_library *lib;
    struct grok_error err;
    struct dirent **ents = NULL;
    int n, total = 0, failed = 0;

    (void)state;
    snprintf(dir, sizeof(dir), "%s/patterns", hub_dir(hubbuf, sizeof(hubbuf)));
    n = scandir(dir, &ents, NULL, alphasort);
    if (n < 0) {
        printf("# SKIP hub patterns: %s not found\n", dir);
        skip();
    }
    lib = base_library();
    if (grok_library_load_dir(lib, dir, &err) < 0)
        fail_msg("%s:%d: %s", err.file, err.line, err.message);
    for (int i = 0; i < n; i++) {
        char path[4608], *line = NULL;
        size_t cap = 0;
        snprintf(path, sizeof(path), "%s/%s", dir, ents[i]->d_name);
        FILE *f = strchr(ents[i]->d_name, '.') ? NULL : fopen(path, "r");
        while (f != NULL && getline(&line, &cap, f) > 0) {
            char name[256], pat[300];
            if (sscanf(line, "%255[A-Za-z0-9_]", name) != 1)
                continue;
            snprintf(pat, sizeof(pat), "%%{%s}", name);
            struct grok_pattern *p = grok_compile(lib, pat, &err);
            total++;
            if (p == NULL) {
                printf("# hub %s: %s\n", name, err.message);
                failed++;
            }
            grok_pattern_free(p);
        }
        free(line);
        if (f != NULL)
            fclose(f);
        free(ents[i]);
    }
    free(ents);
    printf("# %d hub pattern names compiled\n", total);
    assert_true(total > 250);
    assert_int_equal(failed, 0);

    /*
     * SSHD_LOG is too big for one PCRE2 regex and is matched branch by
     * branch. grokky's textual group count goes wrong inside it, so all its
     * fields read unset groups: real grokky returns every field "" here too.
     */
    static const char *const pats[] = { "%{SSHD_LOG}", "%{SSHD_LISTEN}" };
    static const char line[] = "Server listening on 0.0.0.0 port 22.";
    for (size_t k = 0; k < ARRAY_SIZE(pats); k++) {
        struct grok_pattern *p = grok_compile(lib, pats[k], &err);
        assert_non_null(p);
        struct strv *v = calloc(grok_field_count(p), sizeof(*v));
        assert_non_null(v);
        assert_int_equal(grok_match(p, line, sizeof(line) - 1, v), GROK_MATCH);
        for (size_t i = 0; i < grok_field_count(p); i++) {
            const char *name = grok_field_name(p, i);
            const char *want = k == 0 ? "" : strcmp(name, "sshd_listen_ip") == 0 ? "0.0.0.0" : "22";
            if (!strv_eq_cstr(v[i], want))
                fail_msg("%s: %s = %.*s, want %s", pats[k], name, (int)v[i].len, v[i].ptr, want);
        }
        free(v);
        grok_pattern_free(p);
    }
    grok_library_free(lib);
}

static double
now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Hostile subjects: bounded time, captures still slices of the input. */
static void
test_pathological(void **state)
{
    struct grok_library *lib = base_library();
    struct grok_error err;
    size_t big = (size_t)64 * 1024;
    char *s = malloc(big + 1);
    struct strv v[64];
    double worst = 0;

    (void)state;
    assert_non_null(s);
    assert_int_equal(grok_library_add(lib, "EVIL", "(a+)+$"), 0);
    static const char *const pats[] = {
        "%{EVIL:x}",
        "^(%{DATA:a} )*%{GREEDYDATA:b}$",
        "%{COMBINEDAPACHELOG}",
        "%{IPORHOST:h}:%{INT:p}x",
        "%{HTTPD_ERRORLOG}",
        "^(%{WORD:w}|%{INT:i}|\\s)*$",
    };
    for (size_t k = 0; k < ARRAY_SIZE(pats); k++) {
        struct grok_pattern *p = grok_compile(lib, pats[k], &err);
        assert_non_null(p);
        assert_true(grok_field_count(p) <= ARRAY_SIZE(v));
        for (int kind = 0; kind < 4; kind++) {
            for (size_t i = 0; i < big; i++) {
                static const char mix[] = "aaaa 1.2.3.4:80 ";
                s[i] = kind == 0   ? 'a'
                       : kind == 1 ? mix[i % (sizeof(mix) - 1)]
                       : kind == 2 ? (char)(i % 7 == 0 ? 0 : 'a')
                                   : (char)(0x80 | (i & 0x3f));
            }
            s[big - 1] = '!';
            double t0 = now_ms();
            enum grok_result r = grok_match(p, s, big, v);
            double dt = now_ms() - t0;
            worst = MAX(worst, dt);
            assert_true(r == GROK_MATCH || r == GROK_NO_MATCH || r == GROK_LIMIT);
            if (dt > 2000)
                fail_msg("%s on subject kind %d took %.0f ms", pats[k], kind, dt);
        }
        grok_pattern_free(p);
    }
    printf("# worst pathological line: %.1f ms\n", worst);

    /* (a+)+$ on a..a! backtracks exponentially: the match limit stops it */
    struct grok_pattern *p = grok_compile(lib, "%{EVIL:x}", &err);
    assert_non_null(p);
    grok_set_limits(10000, 1000);
    memset(s, 'a', 40);
    s[40] = '!';
    enum grok_result r = grok_match(p, s, 41, v);
    assert_true(r == GROK_LIMIT || r == GROK_NO_MATCH);
    grok_set_limits(1000000, 10000);
    assert_int_equal(grok_match(p, "xaaa", 4, v), GROK_MATCH);
    assert_true(strv_eq_cstr(v[0], "aaa"));
    grok_pattern_free(p);

    /* invalid UTF-8: each bad byte is one U+FFFD to the regex, captures are input bytes */
    p = grok_compile(lib, "^%{NOTSPACE:a} %{DATA:b}x%{GREEDYDATA:c}$", &err);
    assert_non_null(p);
    static const char bad[] = "\xff\xfe\xc3 \xe2\x82x\xed\xa0\x80\xf4\x90\x80\x80\x00z";
    assert_int_equal(grok_match(p, bad, sizeof(bad) - 1, v), GROK_MATCH);
    assert_int_equal(v[0].len, 3);
    assert_ptr_equal(v[0].ptr, bad);
    assert_int_equal(v[1].len, 2);
    assert_ptr_equal(v[1].ptr, bad + 4);
    assert_int_equal(v[2].len, 9);
    assert_memory_equal(v[2].ptr, "\xed\xa0\x80\xf4\x90\x80\x80\x00z", 9);
    grok_pattern_free(p);

    /* one U+FFFD per bad byte: . takes exactly one of them */
    p = grok_compile(lib, "^(.)%{GREEDYDATA:rest}", &err);
    assert_non_null(p);
    assert_int_equal(grok_match(p, "\xe2\x82x", 3, v), GROK_MATCH);
    assert_true(strv_eq_cstr(v[0], "\x82x"));
    grok_pattern_free(p);
    free(s);
    grok_library_free(lib);
}

/* The required literal of a translated regex: what every match contains, or nothing. */
static void
test_required_literal(void **state)
{
    static const struct {
        const char *re, *lit;
    } cases[] = {
        { "Failed (\\b\\w+\\b) for ([a-z]+) from", "Failed " },
        { "Connection closed by (authenticating|invalid) user ([a-z]+)", "Connection closed by " },
        { "Invalid user\\s*([a-z]+)? from", "Invalid user" },
        { "pam_(.*?)\\(sshd:auth\\): authentication failure; logname=",
          "(sshd:auth): authentication failure; logname=" },
        { "abc?de", "ab" },
        { "abcd*efg", "abc" }, /* a tie keeps the first */
        { "xy{2,3}zzz", "zzz" },
        { "wxyz+q", "wxy" },
        { "(abc)?defg", "defg" },
        { "[]x]yz[^]a]uvw", "uvw" },
        { "[[:alpha:]]word", "word" },
        { "a.b.cdef$", "cdef" },
        { "^GET /index", "GET /index" },
        { "ab|cdef", "" },
        { "(?i)mask", "" },
        { "x(?s:.)yz", "" },
        { "\\Qa.b\\E", "" },
        { "\\x41bcdef", "" },
        { "caf\xc3\xa9s", "caf" },
        { "a\\.b\\-c", "a.b-c" },
        { "(unclosed", "" },
        { "", "" },
    };
    char buf[GROK_LITERAL_MAX + 1];

    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        size_t n = grok_required_literal(cases[i].re, strlen(cases[i].re), buf, GROK_LITERAL_MAX);
        buf[n] = '\0';
        if (strcmp(buf, cases[i].lit) != 0)
            fail_msg("case %zu /%s/: '%s', want '%s'", i, cases[i].re, buf, cases[i].lit);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_oracle_table),     cmocka_unit_test(test_base_set),
        cmocka_unit_test(test_expansion),        cmocka_unit_test(test_compile_errors),
        cmocka_unit_test(test_library_add),      cmocka_unit_test(test_load_file),
        cmocka_unit_test(test_hub_patterns),     cmocka_unit_test(test_pathological),
        cmocka_unit_test(test_required_literal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_litfilter.c - the literal prefilter of regex lists: the literal
 * extracted from each pattern, and the filter's one promise (a pattern that
 * matches a subject is always a candidate for it), checked against PCRE2 on
 * a grid of tricky patterns and subjects.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "expr/helpers.h"
#include "expr/litfilter.h"

static const struct {
    const char *pat;
    const char *lit; /* "" = no literal */
} required_cases[] = {
    { "\\bsqlmap\\b", "sqlmap" },
    { "\\b\\b404enemy\\b\\b", "404enemy" },
    { "\\bBattleztar\\ Bazinga\\b", "Battleztar Bazinga" },
    { "\\bcom.plumanalytics\\b", "plumanalytics" },
    { "\\bGo!Zilla\\b", "Go!Zilla" },
    { "\\bGT::WWW\\b", "GT::WWW" },
    { "^abc$", "abc" },
    { "abc?de", "ab" },
    { "abcd*e", "abc" },
    { "ab+cd", "ab" },
    { "xy{2,3}zzz", "zzz" },
    { "wxy{2}z", "wx" },
    { "ab{cdef", "cdef" },
    { "abc+?defg", "defg" },
    { "a|bcdef", "" },
    { "(foo|bar)bazz", "bazz" },
    { "(?:a|b)cd(e)fghij", "fghij" },
    { "[a-z]+hello[0-9]", "hello" },
    { "[]x]yz", "yz" },
    { "[[:alpha:]]word", "word" },
    { "\\d+long\\sx", "long" },
    { "(?i)mask", "ma" },
    { "(?i)aaksss", "aa" },
    { "KS(?i)bot", "bot" },
    { "(?x)a b c", "" },
    { "(?s)abc", "" },
    { "\\Qa.b\\E", "" },
    { "\\x41bc", "" },
    { "\\pLword", "" },
    { "caf\xc3\xa9s", "caf" },
    { "a\\.b\\-c", "a.b-c" },
    { "rate-limited-proxy-[0-9]{1,3}-[0-9]{1,3}.google.com.$", "rate-limited-proxy-" },
    { "(unclosed", "" },
    { "abc)", "" },
    { "", "" },
};

static void
test_required(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(required_cases) / sizeof(required_cases[0]); i++) {
        char buf[LITFILTER_LITERAL_MAX];
        const char *pat = required_cases[i].pat;
        size_t n = litfilter_required(pat, strlen(pat), buf);
        if (n != strlen(required_cases[i].lit) || memcmp(buf, required_cases[i].lit, n) != 0) {
            print_error("case %zu: %s: got '%.*s', want '%s'\n", i, pat, (int)n, buf,
                        required_cases[i].lit);
            fail();
        }
    }
}

static const char *const grid_pats[] = {
    "\\bsqlmap\\b", "\\bNikto\\b", "(?i)nessus", "(?i)sKipfish", "ab?c",        "a+b",
    "x*yz",         "(?:ab)+cd",   "^GET /",     "\\bcurl/7",    "[Zz]grab",    "Mass\\ Down",
    "a|b",          "\\.php$",     "w{2,}get",   "BOT",          "caf\xc3\xa9", "\\d\\d\\dxx",
};

static const char *const grid_subjects[] = {
    "sqlmap/1.5",
    "Mozilla/5.0 (compatible; Nikto)",
    "NESSUS scanner",
    "s\xe2\x84\xaaipfish", /* Kelvin sign: (?i) k matches it */
    "ac",
    "b",
    "yz",
    "ababcd",
    "GET /index",
    "curl/7.88",
    "zgrab/0.x",
    "Mass Downloader",
    "",
    "index.php",
    "wget",
    "bot",
    "CAF\xc3\x89",
    "123xx",
    "x",
};

static void
test_never_drops_a_match(void **state)
{
    (void)state;
    size_t np = sizeof(grid_pats) / sizeof(grid_pats[0]);
    size_t lens[sizeof(grid_pats) / sizeof(grid_pats[0])];
    struct expr_regex *res[sizeof(grid_pats) / sizeof(grid_pats[0])];
    bool cand[sizeof(grid_pats) / sizeof(grid_pats[0])];
    char err[256];
    size_t checked = 0, skipped = 0;

    for (size_t i = 0; i < np; i++) {
        lens[i] = strlen(grid_pats[i]);
        res[i] = expr_regex_compile(grid_pats[i], lens[i], err, sizeof(err));
        assert_non_null(res[i]);
    }
    struct litfilter *f = litfilter_new(grid_pats, lens, np);
    assert_non_null(f);
    for (size_t s = 0; s < sizeof(grid_subjects) / sizeof(grid_subjects[0]); s++) {
        const char *subj = grid_subjects[s];
        litfilter_candidates(f, subj, strlen(subj), cand);
        for (size_t i = 0; i < np; i++) {
            int m = expr_regex_match(res[i], subj, strlen(subj));
            if (m == 1 && !cand[i]) {
                print_error("pattern %s matches '%s' but was filtered out\n", grid_pats[i], subj);
                fail();
            }
            checked++;
            skipped += !cand[i];
        }
    }
    /* The filter must also filter: most pairs here cannot match. */
    assert_true(skipped > checked / 2);
    litfilter_free(f);
    for (size_t i = 0; i < np; i++)
        expr_regex_free(res[i]);
}

static void
test_candidates(void **state)
{
    (void)state;
    const char *pats[] = { "\\bsqlmap\\b", "a|b", "\\bNikto\\b", "x" };
    size_t lens[] = { 10, 3, 9, 1 };
    bool cand[4];
    struct litfilter *f = litfilter_new(pats, lens, 4);
    assert_non_null(f);
    litfilter_candidates(f, "Mozilla SQLMAP", 14, cand);
    assert_true(cand[0]);
    assert_true(cand[1]); /* no literal: always */
    assert_false(cand[2]);
    assert_true(cand[3]); /* a one-byte literal is not used */
    litfilter_candidates(f, "niktO", 5, cand);
    assert_false(cand[0]);
    assert_true(cand[2]);
    litfilter_candidates(f, "", 0, cand);
    assert_false(cand[0]);
    assert_false(cand[2]);
    litfilter_free(f);
    litfilter_free(NULL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_required),
        cmocka_unit_test(test_never_drops_a_match),
        cmocka_unit_test(test_candidates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

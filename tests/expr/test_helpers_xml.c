/*
 * test_helpers_xml.c - XMLGetNodeValue and XMLGetAttributeValue.
 *
 * CrowdSec's xml_test.go cases, then the hub's real Windows event samples
 * (the .log files of tests/expr/data, copied from the hub's .tests; their expected
 * values are the ones the hub's parser.assert files check), then etree path
 * grammar corners, namespaces, and hostile XML.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "common/str.h"
#include "expr/helpers.h"

#include "helpers_fixture.h"

static const struct expr_func *
find(const char *name)
{
    return fixture_find(expr_helpers_xml, expr_helpers_xml_count, name);
}

/* XMLGetNodeValue(xml, path), or XMLGetAttributeValue(xml, path, attr) when attr is set. */
static void
check(struct expr_vm *vm, const char *xml, size_t xmllen, const char *path, const char *attr,
      const char *want, const char *what)
{
    struct expr_value ret, args[3] = { expr_strv(xml, xmllen), fixture_str(path),
                                       attr ? fixture_str(attr) : expr_nil() };
    const struct expr_func *f = find(attr ? "XMLGetAttributeValue" : "XMLGetNodeValue");
    assert_int_equal(f->call(vm, args, attr ? 3 : 2, &ret), 0);
    if (ret.kind != EXPR_STRING || ret.u.s.len != strlen(want) ||
        memcmp(ret.u.s.ptr, want, ret.u.s.len) != 0)
        fail_msg("%s: %s(%s%s%s) = \"%.*s\", want \"%s\"", what, f->name, path, attr ? ", " : "",
                 attr ? attr : "", ret.kind == EXPR_STRING ? (int)ret.u.s.len : -1,
                 ret.kind == EXPR_STRING ? ret.u.s.ptr : "", want);
}

struct xml_case {
    const char *xml, *path, *attr, *want;
};

static void
run_cases(const struct xml_case *cases, size_t n)
{
    struct expr_vm *vm = expr_vm_new();
    for (size_t i = 0; i < n; i++) {
        char what[32];
        snprintf(what, sizeof(what), "case %zu", i);
        check(vm, cases[i].xml, strlen(cases[i].xml), cases[i].path, cases[i].attr, cases[i].want,
              what);
    }
    expr_vm_free(vm);
}

static void
test_crowdsec_cases(void **state)
{
    static const struct xml_case cases[] = {
        { "<root><child attr=\"value\"/></root>", "/root/child", "attr", "value" },
        { "<root><child attr=\"value\"/></root>", "/root/child", "asdasd", "" },
        { "<root><child attr=\"value\"/></root>", "/foo/bar", "asdasd", "" },
        { "<root><", "/foo/bar", "asdasd", "" },
        { "<root><child attr=\"value\"/></root>", "/foo/bar[@", "asdasd", "" },
        { "<root><child>foobar</child></root>", "/root/child", NULL, "foobar" },
        { "<root><child>foobar</child></root>", "/foo/bar", NULL, "" },
        { "<root><", "/foo/bar", NULL, "" },
        { "<root><child>foobar</child></root>", "/foo/bar[@", NULL, "" },
    };
    (void)state;
    run_cases(cases, ARRAY_SIZE(cases));
}

/* Reads line `lineno` (1-based) of a data file into out. */
static void
read_line(const char *file, int lineno, struct str *out)
{
    char dir[400], path[512], buf[8192];
    fixture_data_dir(dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/%s", dir, file);
    FILE *f = fopen(path, "r");
    if (!f)
        fail_msg("cannot open %s", path);
    str_clear(out);
    int n = 0;
    while (fgets(buf, sizeof(buf), f)) {
        if (n + 1 == lineno)
            assert_int_equal(str_append_cstr(out, buf), 0);
        if (strchr(buf, '\n'))
            n++;
        if (n >= lineno)
            break;
    }
    fclose(f);
    while (out->len > 0 && (out->buf[out->len - 1] == '\n' || out->buf[out->len - 1] == '\r'))
        out->buf[--out->len] = '\0';
    if (out->len == 0)
        fail_msg("%s has no line %d", file, lineno);
}

static void
test_hub_windows_events(void **state)
{
    static const struct {
        const char *file;
        int line;
        const char *path, *attr, *want;
    } cases[] = {
        { "windows-bf.log", 1, "/Event/System/EventID", NULL, "4625" },
        { "windows-bf.log", 1, "/Event/System[1]/EventID", NULL, "4625" },
        { "windows-bf.log", 1, "/Event/System[1]/Channel", NULL, "Security" },
        { "windows-bf.log", 1, "/Event/System[1]/Computer", NULL, "exchange-1.mydomain.test" },
        { "windows-bf.log", 1, "/Event/EventData[1]/Data[@Name='TargetUserName']", NULL,
          "asdfasdf" },
        { "windows-bf.log", 1, "/Event/EventData/Data[@Name='TargetUserName']", NULL, "asdfasdf" },
        { "windows-bf.log", 1, "/Event/EventData[1]/Data[@Name='IpAddress']", NULL,
          "192.168.9.212" },
        { "windows-bf.log", 1, "/Event/EventData[1]/Data[@Name='LogonType']", NULL, "3" },
        { "windows-bf.log", 1, "/Event/EventData[1]/Data[@Name='NoSuchField']", NULL, "" },
        { "windows-bf.log", 1, "/Event/EventData[1]/Data[1]", NULL, "S-1-0-0" },
        { "windows-bf.log", 1, "/Event/EventData[1]/Data[2]", NULL, "-" },
        { "windows-bf.log", 1, "/Event/EventData[1]/Data[-1]", NULL, "0" },
        { "windows-bf.log", 1, "/Event/System[1]/Provider", "Name",
          "Microsoft-Windows-Security-Auditing" },
        { "windows-bf.log", 1, "/Event/System[1]/TimeCreated", "SystemTime",
          "2022-04-29T12:36:01.9027913Z" },
        { "windows-bf.log", 1, "/Event/System[1]/Security", "UserID", "" },
        { "windows-bf.log", 1, "/Event", "xmlns",
          "http://schemas.microsoft.com/win/2004/08/events/event" },
        { "windows-bf.log", 2, "/Event/EventData[1]/Data[@Name='TargetUserName']", NULL,
          "asdfasdf" },
        { "windows-logs.log", 1, "/Event/System[1]/EventID", NULL, "4625" },
        { "windows-logs.log", 1, "/Event/System[1]/Channel", NULL, "Security" },
        { "windows-logs.log", 1, "/Event/System[1]/Computer", NULL, "exchange-1.mydomain.test" },
        { "windows-logs.log", 1, "/Event/System[1]/Provider", "Name",
          "Microsoft-Windows-Security-Auditing" },
        { "windows-logs.log", 1, "/Event/System[1]/TimeCreated", "SystemTime",
          "2022-04-28T16:09:28.9443547Z" },
        { "iis-logs.log", 1, "/Event/System[1]/EventID", NULL, "6200" },
        { "iis-logs.log", 1, "/Event/System[1]/Security", "UserID", "S-1-5-18" },
        { "iis-logs.log", 1, "/Event/EventData[1]/Data[@Name='cs-uri-query']", NULL,
          "bla=powershell&CorrelationID=;&cafeReqId=f1351975-5024-4240-9508-3b4ea50eaf70;" },
        { "iis-logs.log", 1, "/Event/EventData[1]/Data[@Name='cs-uri-stem']", NULL,
          "/autodiscover/autodiscover.json" },
        { "iis-logs.log", 1, "/Event/EventData[1]/Data[@Name='cs-method']", NULL, "GET" },
        { "iis-logs.log", 1, "/Event/EventData[1]/Data[@Name='CustomFields']", NULL, "" },
        { "cve-2023-23397.log", 1, "/Event/EventData[1]/Data[@Name='Image']", NULL,
          "C:\\Windows\\System32\\rundll32.exe" },
        { "cve-2023-23397.log", 2, "/Event/System[1]/EventID", NULL, "1" },
        { "cve-2023-23397.log", 1, "/Event/System[1]/Provider", "Name",
          "Microsoft-Windows-Sysmon" },
    };
    struct expr_vm *vm = expr_vm_new();
    struct str line = STR_INIT;
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        char what[64];
        snprintf(what, sizeof(what), "case %zu (%s:%d)", i, cases[i].file, cases[i].line);
        read_line(cases[i].file, cases[i].line, &line);
        check(vm, line.buf, line.len, cases[i].path, cases[i].attr, cases[i].want, what);
    }
    str_free(&line);
    expr_vm_free(vm);
}

#define EVT                                                                                        \
    "<Event xmlns=\"http://schemas.microsoft.com/win/2004/08/events/event\"><System>"              \
    "<Provider Name=\"P\"/><EventID>4625</EventID><Channel>Security</Channel></System>"            \
    "<EventData><Data Name=\"A\">1</Data><Data Name=\"B\">2</Data><Data>3</Data></EventData>"      \
    "</Event>"

static void
test_path_grammar(void **state)
{
    static const struct xml_case cases[] = {
        { EVT, "Event/System/EventID", NULL, "4625" }, /* relative to the document */
        { EVT, "//EventID", NULL, "4625" },
        { EVT, "/Event//Data[@Name='B']", NULL, "2" },
        { EVT, "//Data", NULL, "1" },
        { EVT, "/Event/System/*[2]", NULL, "4625" },
        { EVT, "/Event/*[2]/Data[3]", NULL, "3" },
        { EVT, "/Event/EventData/Data[0]", NULL, "1" }, /* [0] is the first, as in etree */
        { EVT, "/Event/EventData/Data[-2]", NULL, "2" },
        { EVT, "/Event/EventData/Data[4]", NULL, "" },
        { EVT, "/Event/EventData/Data[@Name]", NULL, "1" },
        { EVT, "/Event/EventData/Data[@Name][2]", NULL, "2" },
        { EVT, "/Event/System/EventID[text()='4625']", NULL, "4625" },
        { EVT, "/Event/System/EventID[text()='1']", NULL, "" },
        { EVT, "/Event/System[EventID='4625']/Channel", NULL, "Security" },
        { EVT, "/Event/System[EventID='1']/Channel", NULL, "" },
        { EVT, "/Event/System[Channel]/EventID", NULL, "4625" },
        { EVT, "/Event/System[Nope]/EventID", NULL, "" },
        { EVT, "/Event/System/*[local-name()='Channel']", NULL, "Security" },
        { EVT, "/Event/System/EventID/../Channel", NULL, "Security" },
        { EVT, "/Event/System/./EventID", NULL, "4625" },
        { EVT, "/Event/EventData/Data[@Name='A']", "Name", "A" },
        { EVT,
          "/Event/System/*[namespace-uri()='http://schemas.microsoft.com/win/2004/08/"
          "events/event'][2]",
          NULL, "4625" },
        { EVT, "/Event/EventData/Data[text()][3]", NULL, "3" },
        { EVT, "/Event/System[@Name]", NULL, "" },
        { EVT, "/Event/System/Provider[@Name='P']", "Name", "P" },
        /* bad paths compile to nothing: "" */
        { EVT, "/Event/System[]", NULL, "" },
        { EVT, "/Event/System[EventID='4625]", NULL, "" },
        { EVT, "/Event/System[foo()]", NULL, "" },
        { EVT, "/Event/System[bar()='x']", NULL, "" },
        { EVT, "/Event/System[", NULL, "" },
        { EVT, "/Event/System]", NULL, "" },
    };
    (void)state;
    run_cases(cases, ARRAY_SIZE(cases));
}

static void
test_text_and_namespaces(void **state)
{
    static const struct xml_case cases[] = {
        /* Text(): leading character data, comments skipped, stops at the first element */
        { "<r>a<!--c-->b<x/>c</r>", "/r", NULL, "ab" },
        { "<r><![CDATA[<x>&]]></r>", "/r", NULL, "<x>&" },
        { "<r> <x>1</x></r>", "/r", NULL, " " },
        { "<r>&lt;&amp;&#65;</r>", "/r", NULL, "<&A" },
        { "<r a=\"x&amp;y\"/>", "/r", "a", "x&y" },
        /* prefixes: an unprefixed path step matches any prefix */
        { "<a:root xmlns:a=\"urn:a\"><a:child>x</a:child></a:root>", "/root/child", NULL, "x" },
        { "<a:root xmlns:a=\"urn:a\"><a:child>x</a:child><b:child xmlns:b=\"urn:b\">y</b:child>"
          "</a:root>",
          "/a:root/b:child", NULL, "y" },
        { "<a:root xmlns:a=\"urn:a\"><a:child>x</a:child></a:root>", "/root/c:child", NULL, "" },
        { "<root xmlns:p=\"urn:p\"><c p:k=\"v\" k=\"w\"/></root>", "/root/c", "p:k", "v" },
        { "<root xmlns:p=\"urn:p\"><c p:k=\"v\"/></root>", "/root/c", "k", "v" },
        { "<root xmlns:p=\"urn:p\"/>", "/root", "xmlns:p", "urn:p" },
        /* text outside the root and several roots are fine for etree */
        { "- <a>1</a>", "/a", NULL, "1" },
        { "<a>1</a><b>2</b>", "/b", NULL, "2" },
        { "<?xml version=\"1.0\" encoding=\"UTF-8\"?><a>1</a>", "/a", NULL, "1" },
        /* broken XML */
        { "<a></b>", "/a", NULL, "" },
        { "", "/a", NULL, "" },
        { "not xml at all", "/a", NULL, "" },
        { "<a>&undefined;</a>", "/a", NULL, "" },
    };
    (void)state;
    run_cases(cases, ARRAY_SIZE(cases));
}

/* No external entity is fetched and no entity expanded (XXE, billion laughs). */
static void
test_hostile_xml(void **state)
{
    static const struct xml_case cases[] = {
        { "<!DOCTYPE r [<!ENTITY x SYSTEM \"file:///etc/hostname\">]><r>&x;</r>", "/r", NULL, "" },
        { "<!DOCTYPE r [<!ENTITY x SYSTEM \"http://127.0.0.1:9/x\">]><r>&x;</r>", "/r", NULL, "" },
        { "<!DOCTYPE r [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">"
          "<!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\"><!ENTITY d \"&c;&c;&c;&c;&c;&c;&c;&c;&c;"
          "&c;\">]><r>&d;</r>",
          "/r", NULL, "" },
        { "<r><x>1</x></r>", "////////////////////////////////x", NULL, "1" },
    };
    (void)state;
    run_cases(cases, ARRAY_SIZE(cases));
}

/* The per-thread document cache must never serve a stale document. */
static void
test_cache_and_types(void **state)
{
    struct expr_vm *vm = expr_vm_new();
    (void)state;
    for (int i = 0; i < 3; i++) {
        check(vm, "<a>1</a>", 8, "/a", NULL, "1", "first");
        check(vm, "<a>2</a>", 8, "/a", NULL, "2", "second");
        check(vm, "<a>2</a>", 8, "/a", NULL, "2", "second again");
        check(vm, "<a>", 3, "/a", NULL, "", "broken");
        check(vm, "<a>", 3, "/a", NULL, "", "broken again");
    }
    /* Same length and prefix, different text. */
    check(vm, "<a>x</a><b/>", 12, "/a", NULL, "x", "x");
    check(vm, "<a>y</a><b/>", 12, "/a", NULL, "y", "y");
    struct expr_value ret, args[3] = { expr_int(1), fixture_str("/a"), fixture_str("k") };
    assert_int_equal(find("XMLGetNodeValue")->call(vm, args, 2, &ret), -1);
    args[0] = fixture_str("<a/>");
    args[2] = expr_bool(true);
    assert_int_equal(find("XMLGetAttributeValue")->call(vm, args, 3, &ret), -1);
    expr_vm_free(vm);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crowdsec_cases), cmocka_unit_test(test_hub_windows_events),
        cmocka_unit_test(test_path_grammar),   cmocka_unit_test(test_text_and_namespaces),
        cmocka_unit_test(test_hostile_xml),    cmocka_unit_test(test_cache_and_types),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_ip.c - unit tests for common/ip.
 *
 * The parse, format, CIDR and sortable-encoding tables were produced by Go
 * 1.19 (net.ParseIP, net.IP.String, net.ParseCIDR) and CrowdSec's uint2int.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "common/ip.h"

struct ip_case {
    const char *in;
    bool ok;
    int family;
    const char *str;
    int64_t hi, lo;
};

static const struct ip_case ip_cases[] = {
    { "1.2.3.4", true, 4, "1.2.3.4", INT64_C(-9223372036837866747), INT64_C(-9223372036854775807) },
    { "0.0.0.0", true, 4, "0.0.0.0", INT64_C(-9223372036854775807), INT64_C(-9223372036854775807) },
    { "255.255.255.255", true, 4, "255.255.255.255", INT64_C(-9223372032559808512),
      INT64_C(-9223372036854775807) },
    { "256.1.1.1", false, 0, "", 0, 0 },
    { "1.2.3", false, 0, "", 0, 0 },
    { "1.2.3.4.5", false, 0, "", 0, 0 },
    { "01.2.3.4", false, 0, "", 0, 0 },
    { "1.2.3.04", false, 0, "", 0, 0 },
    { "1.2.3.0", true, 4, "1.2.3.0", INT64_C(-9223372036837866751), INT64_C(-9223372036854775807) },
    { "0.0.0.00", false, 0, "", 0, 0 },
    { "1.2.3.4 ", false, 0, "", 0, 0 },
    { " 1.2.3.4", false, 0, "", 0, 0 },
    { "1.2.3.-4", false, 0, "", 0, 0 },
    { "1..2.3", false, 0, "", 0, 0 },
    { "1.2.3.4/24", false, 0, "", 0, 0 },
    { "", false, 0, "", 0, 0 },
    { "::", true, 6, "::", INT64_C(-9223372036854775807), INT64_C(-9223372036854775807) },
    { "::1", true, 6, "::1", INT64_C(-9223372036854775807), INT64_C(-9223372036854775806) },
    { "1::", true, 6, "1::", INT64_C(-9223090561878065151), INT64_C(-9223372036854775807) },
    { "::ffff:1.2.3.4", true, 4, "1.2.3.4", INT64_C(-9223372036837866747),
      INT64_C(-9223372036854775807) },
    { "::FFFF:1.2.3.4", true, 4, "1.2.3.4", INT64_C(-9223372036837866747),
      INT64_C(-9223372036854775807) },
    { "::ffff:0102:0304", true, 4, "1.2.3.4", INT64_C(-9223372036837866747),
      INT64_C(-9223372036854775807) },
    { "0:0:0:0:0:ffff:1.2.3.4", true, 4, "1.2.3.4", INT64_C(-9223372036837866747),
      INT64_C(-9223372036854775807) },
    { "::1.2.3.4", true, 6, "::102:304", INT64_C(-9223372036854775807),
      INT64_C(-9223372036837866747) },
    { "2001:db8::1", true, 6, "2001:db8::1", INT64_C(-6917232468739227647),
      INT64_C(-9223372036854775806) },
    { "2001:DB8:0:0:0:0:0:1", true, 6, "2001:db8::1", INT64_C(-6917232468739227647),
      INT64_C(-9223372036854775806) },
    { "2001:db8:0:0:1:0:0:1", true, 6, "2001:db8::1:0:0:1", INT64_C(-6917232468739227647),
      INT64_C(-9223090561878065150) },
    { "2001:0:0:1:0:0:0:1", true, 6, "2001:0:0:1::1", INT64_C(-6917247552664371198),
      INT64_C(-9223372036854775806) },
    { "2001:db8:0:1:1:1:1:1", true, 6, "2001:db8:0:1:1:1:1:1", INT64_C(-6917232468739227646),
      INT64_C(-9223090557583032318) },
    { "2001:db8::1:0:0:1", true, 6, "2001:db8::1:0:0:1", INT64_C(-6917232468739227647),
      INT64_C(-9223090561878065150) },
    { "fe80::1%eth0", false, 0, "", 0, 0 },
    { "1:2:3:4:5:6:7:8", true, 6, "1:2:3:4:5:6:7:8", INT64_C(-9223090553287933947),
      INT64_C(-9221964636200959991) },
    { "1:2:3:4:5:6:7:8:9", false, 0, "", 0, 0 },
    { "1:2:3:4:5:6:7::", true, 6, "1:2:3:4:5:6:7:0", INT64_C(-9223090553287933947),
      INT64_C(-9221964636200959999) },
    { "::2:3:4:5:6:7:8", true, 6, "0:2:3:4:5:6:7:8", INT64_C(-9223372028264644603),
      INT64_C(-9221964636200959991) },
    { "1:2:3:4:5:6::8", true, 6, "1:2:3:4:5:6:0:8", INT64_C(-9223090553287933947),
      INT64_C(-9221964636201418743) },
    { "1::2::3", false, 0, "", 0, 0 },
    { ":::", false, 0, "", 0, 0 },
    { "1:::2", false, 0, "", 0, 0 },
    { "12345::", false, 0, "", 0, 0 },
    { "0000000001::", true, 6, "1::", INT64_C(-9223090561878065151),
      INT64_C(-9223372036854775807) },
    { "::ffff:01.2.3.4", false, 0, "", 0, 0 },
    { "1:2:3:4:5:6:1.2.3.4", true, 6, "1:2:3:4:5:6:102:304", INT64_C(-9223090553287933947),
      INT64_C(-9221964636184509691) },
    { "1:2:3:4:5:6:7:1.2.3.4", false, 0, "", 0, 0 },
    { "::ffff:1.2.3", false, 0, "", 0, 0 },
    { "2001:db8::", true, 6, "2001:db8::", INT64_C(-6917232468739227647),
      INT64_C(-9223372036854775807) },
    { "abcd:ef01:2345:6789:abcd:ef01:2345:6789", true, 6, "abcd:ef01:2345:6789:abcd:ef01:2345:6789",
      INT64_C(3156441702022342538), INT64_C(3156441702022342538) },
    { "::ffff:ffff:ffff", true, 4, "255.255.255.255", INT64_C(-9223372032559808512),
      INT64_C(-9223372036854775807) },
    { "0:0:0:0:0:0:0:0", true, 6, "::", INT64_C(-9223372036854775807),
      INT64_C(-9223372036854775807) },
    { "1:0:0:2:0:0:0:3", true, 6, "1:0:0:2::3", INT64_C(-9223090561878065149),
      INT64_C(-9223372036854775804) },
    { "::0:1", true, 6, "::1", INT64_C(-9223372036854775807), INT64_C(-9223372036854775806) },
    { "1:2", false, 0, "", 0, 0 },
    { "g::1", false, 0, "", 0, 0 },
    { "1:", false, 0, "", 0, 0 },
    { ":1", false, 0, "", 0, 0 },
    { "::ffff:0.0.0.0", true, 4, "0.0.0.0", INT64_C(-9223372036854775807),
      INT64_C(-9223372036854775807) },
    { "64:ff9b::1.2.3.4", true, 6, "64:ff9b::102:304", INT64_C(-9194943497998696447),
      INT64_C(-9223372036837866747) },
    { "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", true, 6, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
      INT64_C(9223372036854775807), INT64_C(9223372036854775807) },
    { "8000::", true, 6, "8000::", INT64_C(1), INT64_C(-9223372036854775807) },
    { "7fff:ffff:ffff:ffff:8000::", true, 6, "7fff:ffff:ffff:ffff:8000::", INT64_C(0), INT64_C(1) },
};

static void
test_ip_parse_table(void **state)
{
    (void)state;
    int failures = 0;
    for (size_t i = 0; i < ARRAY_SIZE(ip_cases); i++) {
        const struct ip_case *c = &ip_cases[i];
        struct ip_addr ip;
        char buf[IP_STR_MAX];
        int r = ip_parse(c->in, strlen(c->in), &ip);
        if ((r == 0) != c->ok) {
            print_error("case %zu \"%s\": ip_parse returned %d, want ok=%d\n", i, c->in, r, c->ok);
            failures++;
            continue;
        }
        if (!c->ok) {
            assert_int_equal(r, -EINVAL);
            continue;
        }
        size_t n = ip_format(&ip, buf, sizeof(buf));
        int64_t hi, lo;
        ip_to_sortable(&ip, &hi, &lo);
        if (ip.family != c->family || n != strlen(c->str) || strcmp(buf, c->str) != 0 ||
            hi != c->hi || lo != c->lo) {
            print_error(
                "case %zu \"%s\": family %d \"%s\" (%zu) %lld %lld, want %d \"%s\" %lld %lld\n", i,
                c->in, ip.family, buf, n, (long long)hi, (long long)lo, c->family, c->str,
                (long long)c->hi, (long long)c->lo);
            failures++;
        }
    }
    assert_int_equal(failures, 0);
}

/* The formatted text must parse back to the same address. */
static void
test_ip_roundtrip(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(ip_cases); i++) {
        if (!ip_cases[i].ok)
            continue;
        struct ip_addr a, b;
        char buf[IP_STR_MAX];
        assert_int_equal(ip_parse(ip_cases[i].in, strlen(ip_cases[i].in), &a), 0);
        ip_format(&a, buf, sizeof(buf));
        assert_int_equal(ip_parse(buf, strlen(buf), &b), 0);
        assert_int_equal(ip_cmp(&a, &b), 0);
        assert_memory_equal(a.bytes, b.bytes, 16);
    }
}

/* Length-bounded input: bytes after len are not part of the address. */
static void
test_ip_parse_len(void **state)
{
    (void)state;
    struct ip_addr ip;
    char buf[IP_STR_MAX];
    assert_int_equal(ip_parse("10.0.0.1xyz", 8, &ip), 0);
    ip_format(&ip, buf, sizeof(buf));
    assert_string_equal(buf, "10.0.0.1");
    assert_int_equal(ip_parse("::1:2", 3, &ip), 0);
    ip_format(&ip, buf, sizeof(buf));
    assert_string_equal(buf, "::1");
    assert_int_equal(ip_parse("1.2.3.4", 0, &ip), -EINVAL);
    assert_int_equal(ip_parse("1.2.3.4\0", 8, &ip), -EINVAL);
}

static void
test_ip_format_truncation(void **state)
{
    (void)state;
    struct ip_addr ip;
    char buf[8];
    const char *s = "2001:db8::1:0:0:1";
    assert_int_equal(ip_parse(s, strlen(s), &ip), 0);
    assert_int_equal(ip_format(&ip, buf, sizeof(buf)), strlen(s));
    assert_string_equal(buf, "2001:db");
    assert_int_equal(ip_format(&ip, NULL, 0), strlen(s));
    assert_int_equal(ip_parse("192.168.100.200", 15, &ip), 0);
    assert_int_equal(ip_format(&ip, buf, sizeof(buf)), 15);
    assert_string_equal(buf, "192.168");
}

struct cidr_case {
    const char *in;
    bool ok;
    const char *net;  /* Go's IPNet.String() */
    const char *last; /* last address of the network */
};

static const struct cidr_case cidr_cases[] = {
    { "1.2.3.4/24", true, "1.2.3.0/24", "1.2.3.255" },
    { "1.2.3.4/32", true, "1.2.3.4/32", "1.2.3.4" },
    { "1.2.3.4/0", true, "0.0.0.0/0", "255.255.255.255" },
    { "1.2.3.4/33", false, "", "" },
    { "1.2.3.4/-1", false, "", "" },
    { "1.2.3.4/", false, "", "" },
    { "1.2.3.4/024", true, "1.2.3.0/24", "1.2.3.255" },
    { "1.2.3.4/8", true, "1.0.0.0/8", "1.255.255.255" },
    { "10.255.255.255/9", true, "10.128.0.0/9", "10.255.255.255" },
    { "192.168.1.130/25", true, "192.168.1.128/25", "192.168.1.255" },
    { "192.168.1.130/31", true, "192.168.1.130/31", "192.168.1.131" },
    { "2001:db8::1/64", true, "2001:db8::/64", "2001:db8::ffff:ffff:ffff:ffff" },
    { "2001:db8:abcd:ef01::/48", true, "2001:db8:abcd::/48",
      "2001:db8:abcd:ffff:ffff:ffff:ffff:ffff" },
    { "2001:db8::1/128", true, "2001:db8::1/128", "2001:db8::1" },
    { "2001:db8::1/129", false, "", "" },
    { "::/0", true, "::/0", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff" },
    { "::1/127", true, "::/127", "::1" },
    { "::ffff:1.2.3.4/120", true, "1.2.3.0/24", "1.2.3.255" },
    { "::ffff:1.2.3.4/128", true, "1.2.3.4/32", "1.2.3.4" },
    { "01.2.3.4/24", false, "", "" },
    { "1.2.3.4/2 4", false, "", "" },
    { "1.2.3.4/+8", false, "", "" },
    { "fe80::1/10", true, "fe80::/10", "febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff" },
    { "1.2.3.4/24/1", false, "", "" },
    { "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/65", true, "ffff:ffff:ffff:ffff:8000::/65",
      "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff" },
    /* Not Go's ParseCIDR but ours: a bare address is a host route. */
    { "1.2.3.4", true, "1.2.3.4/32", "1.2.3.4" },
    { "2001:db8::1", true, "2001:db8::1/128", "2001:db8::1" },
    { "::ffff:10.0.0.1", true, "10.0.0.1/32", "10.0.0.1" },
    /* CrowdSec's csnet.NewRange: a 4in6 prefix needs a mask of at least 96. */
    { "::ffff:1.2.3.4/95", false, "", "" },
    { "::ffff:1.2.3.4/96", true, "0.0.0.0/0", "255.255.255.255" },
    { "", false, "", "" },
    { "/24", false, "", "" },
};

static void
test_ip_cidr_table(void **state)
{
    (void)state;
    int failures = 0;
    for (size_t i = 0; i < ARRAY_SIZE(cidr_cases); i++) {
        const struct cidr_case *c = &cidr_cases[i];
        struct ip_range r;
        char net[IP_STR_MAX], last[IP_STR_MAX];
        int rc = ip_range_parse_cidr(c->in, strlen(c->in), &r);
        if ((rc == 0) != c->ok) {
            print_error("case %zu \"%s\": returned %d, want ok=%d\n", i, c->in, rc, c->ok);
            failures++;
            continue;
        }
        if (!c->ok)
            continue;
        ip_range_format(&r, net, sizeof(net));
        ip_format(&r.end, last, sizeof(last));
        if (strcmp(net, c->net) != 0 || strcmp(last, c->last) != 0) {
            print_error("case %zu \"%s\": \"%s\" last \"%s\", want \"%s\" last \"%s\"\n", i, c->in,
                        net, last, c->net, c->last);
            failures++;
        }
        if (!ip_range_contains(&r, &r.start) || !ip_range_contains(&r, &r.end)) {
            print_error("case %zu \"%s\": range does not contain its ends\n", i, c->in);
            failures++;
        }
    }
    assert_int_equal(failures, 0);
}

static struct ip_addr
ip_of(const char *s)
{
    struct ip_addr ip;
    assert_int_equal(ip_parse(s, strlen(s), &ip), 0);
    return ip;
}

static struct ip_range
range_of(const char *s)
{
    struct ip_range r;
    assert_int_equal(ip_range_parse_cidr(s, strlen(s), &r), 0);
    return r;
}

static void
test_ip_mask(void **state)
{
    (void)state;
    static const struct {
        const char *ip;
        int prefix;
        int rc;
        const char *out;
    } cases[] = {
        { "192.168.1.77", 24, 0, "192.168.1.0/24" },
        { "192.168.1.77", 16, 0, "192.168.0.0/16" },
        { "192.168.1.77", 32, 0, "192.168.1.77/32" },
        { "192.168.1.77", 0, 0, "0.0.0.0/0" },
        { "192.168.1.77", 33, -EINVAL, "" },
        { "192.168.1.77", -1, -EINVAL, "" },
        { "::ffff:192.168.1.77", 24, 0, "192.168.1.0/24" },
        { "2001:db8:1:2:3:4:5:6", 64, 0, "2001:db8:1:2::/64" },
        { "2001:db8:1:2:3:4:5:6", 128, 0, "2001:db8:1:2:3:4:5:6/128" },
        { "2001:db8:1:2:3:4:5:6", 129, -EINVAL, "" },
        { "2001:db8:1:2:3:4:5:6", 33, 0, "2001:db8::/33" },
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct ip_addr ip = ip_of(cases[i].ip);
        struct ip_range r;
        char buf[IP_STR_MAX];
        int rc = ip_mask(&ip, cases[i].prefix, &r);
        if (rc != cases[i].rc)
            print_error("case %zu: rc %d want %d\n", i, rc, cases[i].rc);
        assert_int_equal(rc, cases[i].rc);
        if (rc < 0)
            continue;
        ip_range_format(&r, buf, sizeof(buf));
        if (strcmp(buf, cases[i].out) != 0)
            print_error("case %zu: \"%s\" want \"%s\"\n", i, buf, cases[i].out);
        assert_string_equal(buf, cases[i].out);
        assert_true(ip_range_contains(&r, &ip));
    }
}

static void
test_ip_range_format_dash(void **state)
{
    (void)state;
    struct ip_range r = { .start = ip_of("1.2.3.4"), .end = ip_of("1.2.3.9"), .prefix = -1 };
    char buf[IP_STR_MAX];
    assert_int_equal(ip_range_format(&r, buf, sizeof(buf)), strlen("1.2.3.4-1.2.3.9"));
    assert_string_equal(buf, "1.2.3.4-1.2.3.9");
    /* An aligned range without a recorded prefix is still shown as a CIDR. */
    r = (struct ip_range){ .start = ip_of("10.0.0.0"), .end = ip_of("10.0.255.255"), .prefix = -1 };
    ip_range_format(&r, buf, sizeof(buf));
    assert_string_equal(buf, "10.0.0.0/16");
    r = (struct ip_range){ .start = ip_of("2001:db8::"),
                           .end = ip_of("2001:db8::5"),
                           .prefix = -1 };
    ip_range_format(&r, buf, sizeof(buf));
    assert_string_equal(buf, "2001:db8::-2001:db8::5");
    r = (struct ip_range){ .start = ip_of("::"), .end = ip_of("::"), .prefix = -1 };
    ip_range_format(&r, buf, sizeof(buf));
    assert_string_equal(buf, "::/128");
}

static void
test_ip_cmp_contains(void **state)
{
    (void)state;
    struct ip_addr a = ip_of("1.2.3.4"), b = ip_of("1.2.3.5"), c = ip_of("::ffff:1.2.3.4");
    struct ip_addr v6 = ip_of("::1"), v6b = ip_of("2001:db8::1");
    assert_int_equal(ip_cmp(&a, &b), -1);
    assert_int_equal(ip_cmp(&b, &a), 1);
    assert_int_equal(ip_cmp(&a, &c), 0);
    /* IPv4 sorts before IPv6 even when its bytes are larger. */
    assert_int_equal(ip_cmp(&b, &v6), -1);
    assert_int_equal(ip_cmp(&v6, &a), 1);
    assert_int_equal(ip_cmp(&v6, &v6b), -1);

    struct ip_range r24 = range_of("1.2.3.0/24"), r16 = range_of("1.2.0.0/16");
    struct ip_range r6 = range_of("2001:db8::/32"), r6in = range_of("2001:db8:1::/48");
    assert_true(ip_range_contains(&r24, &a));
    assert_true(ip_range_contains(&r24, &c));
    struct ip_addr out = ip_of("1.2.4.0");
    assert_false(ip_range_contains(&r24, &out));
    assert_true(ip_range_contains(&r16, &out));
    /* Families never mix: ::0102:0304 is not 1.2.3.4. */
    struct ip_addr compat = ip_of("::1.2.3.4");
    assert_false(ip_range_contains(&r24, &compat));
    assert_true(ip_range_contains(&r6, &v6b));
    assert_false(ip_range_contains(&r6, &a));
    assert_true(ip_range_contains_range(&r16, &r24));
    assert_false(ip_range_contains_range(&r24, &r16));
    assert_true(ip_range_contains_range(&r24, &r24));
    assert_true(ip_range_contains_range(&r6, &r6in));
    assert_false(ip_range_contains_range(&r6in, &r6));
    assert_false(ip_range_contains_range(&r6, &r24));
}

/* The encoding preserves order within a family, as the database relies on. */
static void
test_ip_sortable_order(void **state)
{
    (void)state;
    static const char *const v4[] = { "0.0.0.0",         "0.0.0.1",        "1.2.3.4",
                                      "127.255.255.255", "128.0.0.0",      "200.1.1.1",
                                      "255.255.255.254", "255.255.255.255" };
    static const char *const v6[] = {
        "::",      "::1",   "::ffff:ffff:ffff:ffff", "1::", "7fff:ffff:ffff:fffe::", "8000::",
        "8000::1", "ffff::"
    };
    for (size_t i = 1; i < ARRAY_SIZE(v4); i++) {
        struct ip_addr a = ip_of(v4[i - 1]), b = ip_of(v4[i]);
        int64_t ah, al, bh, bl;
        ip_to_sortable(&a, &ah, &al);
        ip_to_sortable(&b, &bh, &bl);
        assert_true(ah < bh);
        assert_true(al == bl);
    }
    for (size_t i = 1; i < ARRAY_SIZE(v6); i++) {
        struct ip_addr a = ip_of(v6[i - 1]), b = ip_of(v6[i]);
        int64_t ah, al, bh, bl;
        ip_to_sortable(&a, &ah, &al);
        ip_to_sortable(&b, &bh, &bl);
        if (!(ah < bh || (ah == bh && al < bl)))
            print_error("%s !< %s\n", v6[i - 1], v6[i]);
        assert_true(ah < bh || (ah == bh && al < bl));
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ip_parse_table),       cmocka_unit_test(test_ip_roundtrip),
        cmocka_unit_test(test_ip_parse_len),         cmocka_unit_test(test_ip_format_truncation),
        cmocka_unit_test(test_ip_cidr_table),        cmocka_unit_test(test_ip_mask),
        cmocka_unit_test(test_ip_range_format_dash), cmocka_unit_test(test_ip_cmp_contains),
        cmocka_unit_test(test_ip_sortable_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

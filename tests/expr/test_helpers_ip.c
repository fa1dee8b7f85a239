/*
 * test_helpers_ip.c - IpInRange, IsIP*, IpToRange and the GeoIP helpers.
 *
 * The address cases are CrowdSec's exprlib_test.go tables plus the answers
 * Go 1.19's net / net/netip give for the corner cases (checked with go run).
 * The GeoIP cases use GeoLite2-Test-*.mmdb, which meson writes into the
 * build tree with tests/expr/data/make-test-mmdb.pl ($PHALANX_TEST_MMDB_DIR);
 * without them (no libmaxmind-db-writer-perl) those cases are skipped.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "common/str.h"
#include "expr/helpers.h"

#include "helpers_fixture.h"

static int
call(struct expr_vm *vm, const char *name, const struct expr_value *args, size_t n,
     struct expr_value *ret)
{
    return fixture_call(vm, expr_helpers_ip, expr_helpers_ip_count, name, args, n, ret);
}

static const char *
data_path(const char *file, char *buf, size_t size)
{
    char dir[400];
    fixture_data_dir(dir, sizeof(dir));
    snprintf(buf, size, "%s/%s", dir, file);
    return buf;
}

/* The generated test database file in buf; false when it was not generated. */
static bool
mmdb_path(const char *file, char *buf, size_t size)
{
    const char *dir = getenv("PHALANX_TEST_MMDB_DIR");
    if (!dir)
        return false;
    snprintf(buf, size, "%s/%s", dir, file);
    FILE *f = fopen(buf, "rb");
    if (f)
        fclose(f);
    return f != NULL;
}

static bool have_mmdb;

static void
skip_no_mmdb(void **state)
{
    (void)state;
    skip();
}

static void
assert_str(const struct expr_value *v, const char *want, const char *what)
{
    if (v->kind != EXPR_STRING || v->u.s.len != strlen(want) ||
        memcmp(v->u.s.ptr, want, v->u.s.len) != 0)
        fail_msg("%s: got kind %d \"%.*s\", want \"%s\"", what, v->kind,
                 v->kind == EXPR_STRING ? (int)v->u.s.len : 0,
                 v->kind == EXPR_STRING ? v->u.s.ptr : "", want);
}

static const struct expr_value *
field(const struct expr_value *m, const char *key)
{
    assert_int_equal(m->kind, EXPR_MAP);
    const struct expr_value *v = expr_map_get(m->u.m, key, strlen(key));
    if (!v) {
        fail_msg("missing field %s", key);
        abort();
    }
    return v;
}

/* --- address helpers --- */

static void
test_ip_in_range(void **state)
{
    static const struct {
        const char *ip, *range;
        bool want;
    } cases[] = {
        { "192.168.0.1", "192.168.0.0/24", true },
        { "192.168.0", "192.168.0.0/24", false },
        { "192.168.0.0/255", "192.168.0.0/24", false },
        { "192.168.1.1", "192.168.0.0/24", false },
        { "10.1.2.3", "10.0.0.0/8", true },
        { "2001:db8::1", "2001:db8::/32", true },
        { "2001:db9::1", "2001:db8::/32", false },
        { "1.2.3.4", "1.2.3.4", false }, /* ParseCIDR wants a prefix */
        { "1.2.3.4", "1.2.3.4/32", true },
        { "::ffff:1.2.3.4", "1.2.3.0/24", true },
        { "1.2.3.4", "::ffff:1.2.3.0/120", true },
        { "1.2.3.4", "0.0.0.0/0", true },
        { "::1", "0.0.0.0/0", false },
        { "1.2.3.4", "1.2.3.0/33", false },
        { "1.2.3.4", "", false },
    };
    struct expr_vm *vm = expr_vm_new();
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct expr_value args[2] = { expr_strv(cases[i].ip, strlen(cases[i].ip)),
                                      expr_strv(cases[i].range, strlen(cases[i].range)) };
        struct expr_value ret;
        assert_int_equal(call(vm, "IpInRange", args, 2, &ret), 0);
        assert_int_equal(ret.kind, EXPR_BOOL);
        if (ret.u.b != cases[i].want)
            fail_msg("case %zu: IpInRange(%s, %s) = %d", i, cases[i].ip, cases[i].range, ret.u.b);
    }
    expr_vm_free(vm);
}

static void
test_is_ip(void **state)
{
    static const struct {
        const char *s;
        bool ip, v4, v6;
    } cases[] = {
        { "1.2.3.4", true, true, false },
        { "2001:0db8:85a3:0000:0000:8a2e:0370:7334", true, false, true },
        { "foo.bar", false, false, false },
        { "::ffff:1.2.3.4", true, true, false },
        { "::1", true, false, true },
        { "", false, false, false },
        { "1.2.3.04", false, false, false },
        { "1.2.3", false, false, false },
        { "fe80::1%eth0", false, false, false },
        { "1.2.3.4 ", false, false, false },
        { "::", true, false, true },
        { "0.0.0.0", true, true, false },
        { "256.1.1.1", false, false, false },
        { "::ffff:0102:0304", true, true, false },
    };
    struct expr_vm *vm = expr_vm_new();
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct expr_value arg = expr_strv(cases[i].s, strlen(cases[i].s));
        struct expr_value r1, r2, r3;
        assert_int_equal(call(vm, "IsIP", &arg, 1, &r1), 0);
        assert_int_equal(call(vm, "IsIPV4", &arg, 1, &r2), 0);
        assert_int_equal(call(vm, "IsIPV6", &arg, 1, &r3), 0);
        if (r1.u.b != cases[i].ip || r2.u.b != cases[i].v4 || r3.u.b != cases[i].v6)
            fail_msg("case %zu \"%s\": IsIP=%d IsIPV4=%d IsIPV6=%d", i, cases[i].s, r1.u.b, r2.u.b,
                     r3.u.b);
    }
    expr_vm_free(vm);
}

static void
test_ip_to_range(void **state)
{
    static const struct {
        const char *ip, *mask, *want;
    } cases[] = {
        { "192.168.1.1", "16", "192.168.0.0/16" },
        { "2001:db8::1", "/64", "2001:db8::/64" },
        { "192.168.0.1", "test", "" },
        { "a.b.c.d", "24", "" },
        { "192.168.1.1", "35", "" },
        { "1.2.3.4", "/24", "1.2.3.0/24" },
        { "1.2.3.4", "/0", "0.0.0.0/0" },
        { "::ffff:1.2.3.4", "/120", "::ffff:1.2.3.0/120" },
        { "::ffff:1.2.3.4", "/24", "::/24" },
        { "fe80::1%eth0", "/64", "fe80::/64" },
        { "1.2.3.4", "-1", "" },
        { "1.2.3.4", "+8", "1.0.0.0/8" },
        { "10.0.0.1", "32", "10.0.0.1/32" },
        { "1.2.3.4", "//24", "" },
        { "1.2.3.4", "", "" },
        { "2001:db8::1", "129", "" },
        { "2001:db8::1", "128", "2001:db8::1/128" },
        { " 1.2.3.4", "24", "" },
        { "fe80::1%", "64", "" },
        { "1.2.3.4", "024", "1.2.3.0/24" },
    };
    struct expr_vm *vm = expr_vm_new();
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct expr_value args[2] = { expr_strv(cases[i].ip, strlen(cases[i].ip)),
                                      expr_strv(cases[i].mask, strlen(cases[i].mask)) };
        struct expr_value ret;
        char what[64];
        snprintf(what, sizeof(what), "case %zu", i);
        assert_int_equal(call(vm, "IpToRange", args, 2, &ret), 0);
        assert_str(&ret, cases[i].want, what);
    }
    expr_vm_free(vm);
}

static void
test_wrong_types(void **state)
{
    static const char *const names[] = { "IsIP", "IsIPV4", "IsIPV6", "IPToCountry", "GeoIPEnrich" };
    struct expr_vm *vm = expr_vm_new();
    struct expr_value ret, args[2] = { expr_int(42), fixture_str("1.2.3.0/24") };
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(names); i++)
        assert_int_equal(call(vm, names[i], args, 1, &ret), -1);
    assert_int_equal(call(vm, "IpInRange", args, 2, &ret), -1);
    args[0] = fixture_str("1.2.3.4");
    args[1] = expr_int(24);
    assert_int_equal(call(vm, "IpToRange", args, 2, &ret), -1);
    expr_vm_free(vm);
}

/* --- GeoIP --- */

static void
test_geoip_without_db(void **state)
{
    static const char *const obj[] = { "GeoIPEnrich", "GeoIPASNEnrich", "GeoIPRangeEnrich" };
    struct expr_vm *vm = expr_vm_new();
    struct expr_value ret, arg = fixture_str("1.2.3.4");
    (void)state;
    expr_geoip_close();
    for (size_t i = 0; i < ARRAY_SIZE(obj); i++) {
        ret = expr_bool(true);
        assert_int_equal(call(vm, obj[i], &arg, 1, &ret), 0);
        assert_int_equal(ret.kind, EXPR_NIL);
        /* Without a database even a bad address is not looked at. */
        struct expr_value bad = fixture_str("not an ip");
        assert_int_equal(call(vm, obj[i], &bad, 1, &ret), 0);
        assert_int_equal(ret.kind, EXPR_NIL);
    }
    assert_int_equal(call(vm, "IPToCountry", &arg, 1, &ret), 0);
    assert_str(&ret, "", "IPToCountry without db");
    expr_vm_free(vm);
}

static void
test_geoip_open_errors(void **state)
{
    struct expr_error err;
    char city[512], asn[512];
    (void)state;
    assert_int_equal(expr_geoip_open("/nonexistent/GeoLite2-City.mmdb", NULL, &err), -1);
    assert_non_null(strstr(err.message, "/nonexistent/GeoLite2-City.mmdb"));
    mmdb_path("GeoLite2-Test-ASN.mmdb", asn, sizeof(asn));
    mmdb_path("GeoLite2-Test-City.mmdb", city, sizeof(city));
    /* An ASN database cannot serve City lookups, nor the reverse. */
    assert_int_equal(expr_geoip_open(asn, NULL, &err), -1);
    assert_non_null(strstr(err.message, "City method does not support"));
    assert_int_equal(expr_geoip_open(NULL, city, &err), -1);
    assert_non_null(strstr(err.message, "ASN method does not support"));
    data_path("make-test-mmdb.pl", city, sizeof(city));
    assert_int_equal(expr_geoip_open(city, NULL, &err), -1);
    assert_int_equal(expr_geoip_open(NULL, NULL, &err), 0);
}

static int
geo_setup(void **state)
{
    struct expr_error err;
    char city[512], asn[512];
    (void)state;
    mmdb_path("GeoLite2-Test-City.mmdb", city, sizeof(city));
    mmdb_path("GeoLite2-Test-ASN.mmdb", asn, sizeof(asn));
    if (expr_geoip_open(city, asn, &err) < 0) {
        fprintf(stderr, "# %s\n", err.message);
        return -1;
    }
    return 0;
}

static int
geo_teardown(void **state)
{
    (void)state;
    expr_geoip_close();
    return 0;
}

static void
test_geoip_enrich(void **state)
{
    struct expr_vm *vm = expr_vm_new();
    struct expr_value ret, arg = fixture_str("1.2.3.4");
    (void)state;
    assert_int_equal(call(vm, "GeoIPEnrich", &arg, 1, &ret), 0);
    const struct expr_value *country = field(&ret, "Country");
    assert_str(field(country, "IsoCode"), "FR", "Country.IsoCode");
    assert_true(field(country, "IsInEuropeanUnion")->u.b);
    assert_int_equal(field(country, "GeoNameID")->u.i, 3017382);
    assert_str(field(field(country, "Names"), "en"), "France", "Country.Names.en");
    const struct expr_value *loc = field(&ret, "Location");
    assert_int_equal(field(loc, "Latitude")->kind, EXPR_FLOAT);
    assert_true(field(loc, "Latitude")->u.f == 46.0);
    assert_true(field(loc, "Longitude")->u.f == 2.0);
    assert_int_equal(field(loc, "AccuracyRadius")->u.i, 500);
    assert_int_equal(field(loc, "MetroCode")->u.i, 0);
    assert_str(field(loc, "TimeZone"), "Europe/Paris", "TimeZone");
    assert_str(field(field(field(&ret, "City"), "Names"), "en"), "Paris", "City.Names.en");
    assert_str(field(field(&ret, "Continent"), "Code"), "EU", "Continent.Code");
    assert_str(field(field(&ret, "Postal"), "Code"), "75001", "Postal.Code");
    assert_str(field(field(&ret, "RegisteredCountry"), "IsoCode"), "FR", "RegisteredCountry");
    assert_str(field(field(&ret, "RepresentedCountry"), "IsoCode"), "", "RepresentedCountry");
    const struct expr_value *subs = field(&ret, "Subdivisions");
    assert_int_equal(subs->kind, EXPR_ARRAY);
    assert_int_equal(subs->u.a->len, 2);
    assert_str(field(&subs->u.a->items[0], "IsoCode"), "IDF", "Subdivisions[0]");
    assert_str(field(&subs->u.a->items[1], "IsoCode"), "75", "Subdivisions[1]");
    assert_false(field(field(&ret, "Traits"), "IsAnonymousProxy")->u.b);
    expr_vm_free(vm);
}

static void
test_geoip_enrich_table(void **state)
{
    /* ip -> Country.IsoCode, RegisteredCountry.IsoCode, Traits.IsAnonymousProxy */
    static const struct {
        const char *ip, *country, *registered;
        bool proxy;
    } cases[] = {
        { "1.2.3.4", "FR", "FR", false },
        { "1.2.3.255", "FR", "FR", false },
        { "::ffff:1.2.3.4", "FR", "FR", false },
        { "5.6.7.8", "", "US", false },
        { "2001:db8::1", "DE", "", true },
        { "9.9.9.9", "", "", false }, /* not in the tree: the zero struct, not nil */
        { "::1", "", "", false },
    };
    struct expr_vm *vm = expr_vm_new();
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct expr_value ret, arg = expr_strv(cases[i].ip, strlen(cases[i].ip));
        char what[64];
        assert_int_equal(call(vm, "GeoIPEnrich", &arg, 1, &ret), 0);
        snprintf(what, sizeof(what), "case %zu country", i);
        assert_str(field(field(&ret, "Country"), "IsoCode"), cases[i].country, what);
        snprintf(what, sizeof(what), "case %zu registered", i);
        assert_str(field(field(&ret, "RegisteredCountry"), "IsoCode"), cases[i].registered, what);
        assert_int_equal(field(field(&ret, "Traits"), "IsAnonymousProxy")->u.b, cases[i].proxy);
        assert_int_equal(field(&ret, "Subdivisions")->kind, EXPR_ARRAY);
    }
    /* geoip2 refuses a nil net.IP: a run-time error, not nil. */
    struct expr_value ret, bad = fixture_str("not-an-ip");
    assert_int_equal(call(vm, "GeoIPEnrich", &bad, 1, &ret), -1);
    assert_int_equal(call(vm, "GeoIPASNEnrich", &bad, 1, &ret), -1);
    assert_int_equal(call(vm, "GeoIPRangeEnrich", &bad, 1, &ret), -1);
    expr_vm_free(vm);
}

static void
test_ip_to_country(void **state)
{
    static const struct {
        const char *ip, *want;
    } cases[] = {
        { "1.2.3.4", "FR" },        { "5.6.7.8", "" }, /* registered country only: no fallback */
        { "2001:db8::5", "DE" },    { "9.9.9.9", "" }, { "bad", "" }, { "", "" },
        { "::ffff:1.2.3.9", "FR" },
    };
    struct expr_vm *vm = expr_vm_new();
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct expr_value ret, arg = expr_strv(cases[i].ip, strlen(cases[i].ip));
        char what[64];
        snprintf(what, sizeof(what), "case %zu (%s)", i, cases[i].ip);
        assert_int_equal(call(vm, "IPToCountry", &arg, 1, &ret), 0);
        assert_str(&ret, cases[i].want, what);
    }
    expr_vm_free(vm);
}

static void
test_geoip_asn(void **state)
{
    static const struct {
        const char *ip;
        int64_t asn;
        const char *org;
    } cases[] = {
        { "1.2.3.4", 4242, "Crowdsec" },
        { "8.8.8.8", 15169, "Google LLC" },
        { "8.8.255.255", 15169, "Google LLC" },
        { "2001:db8:1::1", 64512, "Phalanx Test v6" },
        { "2001:db8:2::1", 0, "" },
        { "9.9.9.9", 0, "" },
    };
    struct expr_vm *vm = expr_vm_new();
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct expr_value ret, arg = expr_strv(cases[i].ip, strlen(cases[i].ip));
        char what[64];
        snprintf(what, sizeof(what), "case %zu (%s)", i, cases[i].ip);
        assert_int_equal(call(vm, "GeoIPASNEnrich", &arg, 1, &ret), 0);
        assert_int_equal(field(&ret, "AutonomousSystemNumber")->u.i, cases[i].asn);
        assert_str(field(&ret, "AutonomousSystemOrganization"), cases[i].org, what);
    }
    expr_vm_free(vm);
}

static void
test_geoip_range(void **state)
{
    static const struct {
        const char *ip, *want; /* NULL = nil */
    } cases[] = {
        { "1.2.3.4", "1.2.3.0/24" }, { "1.2.3.200", "1.2.3.0/24" },
        { "8.8.4.4", "8.8.0.0/16" }, { "2001:db8:1::5", "2001:db8:1::/48" },
        { "9.9.9.9", NULL },         { "2001:db8:2::1", NULL },
    };
    struct expr_vm *vm = expr_vm_new();
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct expr_value ret, str, arg = expr_strv(cases[i].ip, strlen(cases[i].ip));
        char what[64];
        snprintf(what, sizeof(what), "case %zu (%s)", i, cases[i].ip);
        assert_int_equal(call(vm, "GeoIPRangeEnrich", &arg, 1, &ret), 0);
        if (!cases[i].want) {
            assert_int_equal(ret.kind, EXPR_NIL);
            continue;
        }
        assert_int_equal(ret.kind, EXPR_OBJECT);
        const struct expr_class *cls = ret.u.o.cls;
        assert_int_equal(cls->nmethods, 1);
        assert_string_equal(cls->methods[0].name, "String");
        assert_int_equal(cls->methods[0].call(ret.u.o.ptr, vm, NULL, 0, &str), 0);
        assert_str(&str, cases[i].want, what);
    }
    expr_vm_free(vm);
}

/* A GeoIP case, or a visible skip when the test databases were not generated. */
static struct CMUnitTest
geo_test(const char *name, CMUnitTestFunction f, CMFixtureFunction setup,
         CMFixtureFunction teardown)
{
    struct CMUnitTest t = { name, have_mmdb ? f : skip_no_mmdb, have_mmdb ? setup : NULL,
                            have_mmdb ? teardown : NULL, NULL };
    return t;
}

int
main(void)
{
    char buf[512];
    have_mmdb = mmdb_path("GeoLite2-Test-City.mmdb", buf, sizeof(buf)) &&
                mmdb_path("GeoLite2-Test-ASN.mmdb", buf, sizeof(buf));
    if (!have_mmdb)
        printf("# GeoIP cases skipped: no generated test databases (libmaxmind-db-writer-perl)\n");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ip_in_range),
        cmocka_unit_test(test_is_ip),
        cmocka_unit_test(test_ip_to_range),
        cmocka_unit_test(test_wrong_types),
        cmocka_unit_test(test_geoip_without_db),
        geo_test("test_geoip_open_errors", test_geoip_open_errors, NULL, NULL),
        geo_test("test_geoip_enrich", test_geoip_enrich, geo_setup, geo_teardown),
        geo_test("test_geoip_enrich_table", test_geoip_enrich_table, geo_setup, geo_teardown),
        geo_test("test_ip_to_country", test_ip_to_country, geo_setup, geo_teardown),
        geo_test("test_geoip_asn", test_geoip_asn, geo_setup, geo_teardown),
        geo_test("test_geoip_range", test_geoip_range, geo_setup, geo_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * helpers_ip.c - CrowdSec's IP and GeoIP expression helpers: IpInRange,
 * IsIP, IsIPV4, IsIPV6, IpToRange, IPToCountry, GeoIPEnrich, GeoIPASNEnrich
 * and GeoIPRangeEnrich.
 *
 * Address parsing is common/ip.c (Go's net.ParseIP rules). The GeoIP helpers
 * read MaxMind databases with libmaxminddb and give back what CrowdSec's
 * geoip2-golang readers give: a *geoip2.City / *geoip2.ASN shaped as a map
 * with the Go field names (every field present, zero when the database has
 * no value, so `GeoIPEnrich(ip).Country.IsoCode` is "" for an unknown
 * address exactly like the zero struct geoip2 returns), and a *net.IPNet
 * host object for the range. Without a database the helpers return nil;
 * an unparsable address is a run-time error, as geoip2 reports it.
 *
 * The databases are opened once at load time (expr_geoip_open) and only
 * read afterwards; libmaxminddb lookups are safe from many threads.
 */
#include "common/geoip.h"
#include "common/ip.h"
#include "common/str.h"
#include "expr/helpers.h"

/* Nesting bound for decoding a record; GeoIP records are 3 levels deep. */
#define GEO_MAX_DEPTH 16

static struct {
    struct geoip_db city, asn;
} geo;

/* --- plain address helpers --- */

static int
fn_ip_in_range(struct expr_vm *vm, const struct expr_value *args, size_t nargs,
               struct expr_value *ret)
{
    struct strv ip, cidr;
    struct ip_addr addr;
    struct ip_range range;

    if (expr_helper_arg_strv(vm, "IpInRange", args, 0, &ip) < 0 ||
        expr_helper_arg_strv(vm, "IpInRange", args, 1, &cidr) < 0)
        return -1;
    /* net.ParseCIDR wants a prefix: a bare address is not a range there. */
    if (ip_parse(ip.ptr, ip.len, &addr) < 0 || !memchr(cidr.ptr, '/', cidr.len) ||
        ip_range_parse_cidr(cidr.ptr, cidr.len, &range) < 0) {
        *ret = expr_bool(false);
        return 0;
    }
    *ret = expr_bool(ip_range_contains(&range, &addr));
    return 0;
}

/* which: 0 = any, 4 = IPv4 (net.IP.To4() != nil), 6 = not IPv4. */
static int
ip_is_family(struct expr_vm *vm, const char *fn, const struct expr_value *args, int which,
             struct expr_value *ret)
{
    struct strv s;
    struct ip_addr addr;

    if (expr_helper_arg_strv(vm, fn, args, 0, &s) < 0)
        return -1;
    if (ip_parse(s.ptr, s.len, &addr) < 0)
        *ret = expr_bool(false);
    else
        *ret = expr_bool(which == 0 || addr.family == which);
    return 0;
}

static int
fn_is_ip(struct expr_vm *vm, const struct expr_value *args, size_t nargs, struct expr_value *ret)
{
    return ip_is_family(vm, "IsIP", args, 0, ret);
}

static int
fn_is_ipv4(struct expr_vm *vm, const struct expr_value *args, size_t nargs, struct expr_value *ret)
{
    return ip_is_family(vm, "IsIPV4", args, IP_V4, ret);
}

static int
fn_is_ipv6(struct expr_vm *vm, const struct expr_value *args, size_t nargs, struct expr_value *ret)
{
    return ip_is_family(vm, "IsIPV6", args, IP_V6, ret);
}

/* strconv.Atoi: optional sign, decimal digits, no spaces; -1 on failure. */
static int
ip_atoi(const char *s, size_t len, int64_t *ret)
{
    size_t i = 0;
    bool neg = false;
    int64_t n = 0;

    if (len > 0 && (s[0] == '+' || s[0] == '-')) {
        neg = s[0] == '-';
        i = 1;
    }
    if (i == len)
        return -1;
    for (; i < len; i++) {
        if (s[i] < '0' || s[i] > '9' || n > (INT64_MAX - 9) / 10)
            return -1;
        n = n * 10 + (s[i] - '0');
    }
    *ret = neg ? -n : n;
    return 0;
}

/*
 * IpToRange(ip, "/24") is netip.ParseAddr(ip).Prefix(n).String(). netip keeps
 * an IPv4-mapped IPv6 address as 128 bits ("::ffff:1.2.3.4" masked to /120 is
 * "::ffff:1.2.3.0/120") and drops a zone; every failure gives "".
 */
static int
fn_ip_to_range(struct expr_vm *vm, const struct expr_value *args, size_t nargs,
               struct expr_value *ret)
{
    struct strv ip, cidr;
    struct ip_addr addr;
    struct ip_range range;
    int64_t bits;
    char buf[IP_STR_MAX + 8];
    size_t n;

    if (expr_helper_arg_strv(vm, "IpToRange", args, 0, &ip) < 0 ||
        expr_helper_arg_strv(vm, "IpToRange", args, 1, &cidr) < 0)
        return -1;
    *ret = expr_strv("", 0);
    if (cidr.len > 0 && cidr.ptr[0] == '/') {
        cidr.ptr++;
        cidr.len--;
    }
    if (ip_atoi(cidr.ptr, cidr.len, &bits) < 0)
        return 0;
    const char *colon = memchr(ip.ptr, ':', ip.len);
    const char *zone = colon ? memchr(ip.ptr, '%', ip.len) : NULL;
    if (zone) {
        if (zone == ip.ptr + ip.len - 1)
            return 0; /* netip: "zone must be a non-empty string" */
        ip.len = (size_t)(zone - ip.ptr);
    }
    if (ip_parse(ip.ptr, ip.len, &addr) < 0)
        return 0;
    bool as_v6 = colon != NULL || addr.family == IP_V6;
    if (bits < 0 || bits > (as_v6 ? 128 : 32))
        return 0;
    if (as_v6)
        addr.family = IP_V6;
    if (ip_mask(&addr, (int)bits, &range) < 0)
        return 0;
    static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
    const uint8_t *b = range.start.bytes;
    if (as_v6 && memcmp(b, mapped, sizeof(mapped)) == 0)
        n = (size_t)snprintf(buf, sizeof(buf), "::ffff:%u.%u.%u.%u/%d", b[12], b[13], b[14], b[15],
                             (int)bits);
    else
        n = ip_range_format(&range, buf, sizeof(buf));
    if (n >= sizeof(buf))
        return 0;
    *ret = expr_vm_str(vm, buf, n);
    return ret->kind == EXPR_NIL ? expr_vm_error(vm, "out of memory") : 0;
}

/* --- GeoIP --- */

void
expr_geoip_close(void)
{
    geoip_db_close(&geo.city);
    geoip_db_close(&geo.asn);
}

int
expr_geoip_open(const char *city_mmdb, const char *asn_mmdb, struct expr_error *err)
{
    if (err)
        memset(err, 0, sizeof(*err));
    expr_geoip_close();
    if (city_mmdb && geoip_db_open(&geo.city, city_mmdb, GEOIP_CITY, err ? err->message : NULL,
                                   err ? sizeof(err->message) : 0) < 0)
        return -1;
    if (asn_mmdb && geoip_db_open(&geo.asn, asn_mmdb, GEOIP_ASN, err ? err->message : NULL,
                                  err ? sizeof(err->message) : 0) < 0) {
        expr_geoip_close();
        return -1;
    }
    return 0;
}

/*
 * Looks addr up in db. Returns 1 with *ret_result filled when the address is
 * in the tree, 0 when not, -1 on a database error (a vm error when vm is set).
 */
static int
geo_lookup(struct expr_vm *vm, const struct geoip_db *db, const struct ip_addr *addr,
           MMDB_lookup_result_s *ret_result, int *ret_prefix)
{
    int status = MMDB_SUCCESS;
    int rc = geoip_db_lookup(db, addr, ret_result, ret_prefix, &status);
    if (rc < 0)
        return vm ? expr_vm_error(vm, "%s", MMDB_strerror(status)) : -1;
    return rc;
}

/* Decodes one MMDB value (and its children) from *cur into plain values. */
static int
geo_decode(struct expr_vm *vm, MMDB_entry_data_list_s **cur, int depth, struct expr_value *ret)
{
    MMDB_entry_data_list_s *item = *cur;

    if (!item || depth > GEO_MAX_DEPTH)
        return expr_vm_error(vm, "geoip: malformed record");
    *cur = item->next;
    const MMDB_entry_data_s *d = &item->entry_data;
    switch (d->type) {
    case MMDB_DATA_TYPE_MAP: {
        struct expr_map *m = expr_vm_map(vm, d->data_size);
        if (!m)
            return expr_vm_error(vm, "out of memory");
        for (uint32_t i = 0; i < d->data_size; i++) {
            MMDB_entry_data_list_s *k = *cur;
            struct expr_value v = { 0 };
            if (!k || k->entry_data.type != MMDB_DATA_TYPE_UTF8_STRING)
                return expr_vm_error(vm, "geoip: malformed record");
            *cur = k->next;
            if (geo_decode(vm, cur, depth + 1, &v) < 0)
                return -1;
            struct expr_value key =
                expr_vm_str(vm, k->entry_data.utf8_string, k->entry_data.data_size);
            if (key.kind == EXPR_NIL || expr_map_set(vm, m, key.u.s.ptr, key.u.s.len, v) < 0)
                return expr_vm_error(vm, "out of memory");
        }
        *ret = (struct expr_value){ .kind = EXPR_MAP, .u.m = m };
        return 0;
    }
    case MMDB_DATA_TYPE_ARRAY: {
        struct expr_array *a = expr_vm_array(vm, d->data_size);
        if (!a)
            return expr_vm_error(vm, "out of memory");
        for (uint32_t i = 0; i < d->data_size; i++) {
            struct expr_value v = { 0 };
            if (geo_decode(vm, cur, depth + 1, &v) < 0)
                return -1;
            if (expr_array_push(vm, a, v) < 0)
                return expr_vm_error(vm, "out of memory");
        }
        *ret = (struct expr_value){ .kind = EXPR_ARRAY, .u.a = a };
        return 0;
    }
    case MMDB_DATA_TYPE_UTF8_STRING: *ret = expr_vm_str(vm, d->utf8_string, d->data_size); break;
    case MMDB_DATA_TYPE_BYTES: *ret = expr_vm_str(vm, (const char *)d->bytes, d->data_size); break;
    case MMDB_DATA_TYPE_DOUBLE: *ret = expr_float(d->double_value); return 0;
    case MMDB_DATA_TYPE_FLOAT: *ret = expr_float(d->float_value); return 0;
    case MMDB_DATA_TYPE_UINT16: *ret = expr_int(d->uint16); return 0;
    case MMDB_DATA_TYPE_UINT32: *ret = expr_int(d->uint32); return 0;
    case MMDB_DATA_TYPE_INT32: *ret = expr_int(d->int32); return 0;
    case MMDB_DATA_TYPE_UINT64: *ret = expr_int((int64_t)d->uint64); return 0;
    case MMDB_DATA_TYPE_BOOLEAN: *ret = expr_bool(d->boolean); return 0;
    default: *ret = expr_nil(); return 0;
    }
    return ret->kind == EXPR_NIL ? expr_vm_error(vm, "out of memory") : 0;
}

/*
 * The Go structs of geoip2-golang 1.13 (City, ASN) as a schema: each field
 * has its Go name, its database key and a shape. Projecting the decoded
 * record through it gives exactly the fields Go exposes, zero-filled.
 */
enum geo_shape { GEO_STR, GEO_UINT, GEO_BOOL, GEO_FLOAT, GEO_NAMES, GEO_STRUCT, GEO_STRUCTS };

struct geo_field {
    const char *go_name;
    const char *db_key;
    enum geo_shape shape;
    const struct geo_field *sub; /* GEO_STRUCT(S): fields, NULL-terminated */
};

static const struct geo_field geo_city_names[] = {
    { "Names", "names", GEO_NAMES, NULL },
    { "GeoNameID", "geoname_id", GEO_UINT, NULL },
    { NULL, NULL, 0, NULL },
};
static const struct geo_field geo_postal[] = {
    { "Code", "code", GEO_STR, NULL },
    { NULL, NULL, 0, NULL },
};
static const struct geo_field geo_continent[] = {
    { "Names", "names", GEO_NAMES, NULL },
    { "Code", "code", GEO_STR, NULL },
    { "GeoNameID", "geoname_id", GEO_UINT, NULL },
    { NULL, NULL, 0, NULL },
};
static const struct geo_field geo_subdivision[] = {
    { "Names", "names", GEO_NAMES, NULL },
    { "IsoCode", "iso_code", GEO_STR, NULL },
    { "GeoNameID", "geoname_id", GEO_UINT, NULL },
    { NULL, NULL, 0, NULL },
};
static const struct geo_field geo_represented[] = {
    { "Names", "names", GEO_NAMES, NULL },
    { "IsoCode", "iso_code", GEO_STR, NULL },
    { "Type", "type", GEO_STR, NULL },
    { "GeoNameID", "geoname_id", GEO_UINT, NULL },
    { "IsInEuropeanUnion", "is_in_european_union", GEO_BOOL, NULL },
    { NULL, NULL, 0, NULL },
};
static const struct geo_field geo_country[] = {
    { "Names", "names", GEO_NAMES, NULL },
    { "IsoCode", "iso_code", GEO_STR, NULL },
    { "GeoNameID", "geoname_id", GEO_UINT, NULL },
    { "IsInEuropeanUnion", "is_in_european_union", GEO_BOOL, NULL },
    { NULL, NULL, 0, NULL },
};
static const struct geo_field geo_location[] = {
    { "TimeZone", "time_zone", GEO_STR, NULL },
    { "Latitude", "latitude", GEO_FLOAT, NULL },
    { "Longitude", "longitude", GEO_FLOAT, NULL },
    { "MetroCode", "metro_code", GEO_UINT, NULL },
    { "AccuracyRadius", "accuracy_radius", GEO_UINT, NULL },
    { NULL, NULL, 0, NULL },
};
static const struct geo_field geo_traits[] = {
    { "IsAnonymousProxy", "is_anonymous_proxy", GEO_BOOL, NULL },
    { "IsAnycast", "is_anycast", GEO_BOOL, NULL },
    { "IsSatelliteProvider", "is_satellite_provider", GEO_BOOL, NULL },
    { NULL, NULL, 0, NULL },
};
static const struct geo_field geo_city[] = {
    { "City", "city", GEO_STRUCT, geo_city_names },
    { "Postal", "postal", GEO_STRUCT, geo_postal },
    { "Continent", "continent", GEO_STRUCT, geo_continent },
    { "Subdivisions", "subdivisions", GEO_STRUCTS, geo_subdivision },
    { "RepresentedCountry", "represented_country", GEO_STRUCT, geo_represented },
    { "Country", "country", GEO_STRUCT, geo_country },
    { "RegisteredCountry", "registered_country", GEO_STRUCT, geo_country },
    { "Location", "location", GEO_STRUCT, geo_location },
    { "Traits", "traits", GEO_STRUCT, geo_traits },
    { NULL, NULL, 0, NULL },
};
static const struct geo_field geo_asn[] = {
    { "AutonomousSystemOrganization", "autonomous_system_organization", GEO_STR, NULL },
    { "AutonomousSystemNumber", "autonomous_system_number", GEO_UINT, NULL },
    { NULL, NULL, 0, NULL },
};

static int geo_project(struct expr_vm *vm, const struct geo_field *fields,
                       const struct expr_value *src, struct expr_value *ret);

static int
geo_project_field(struct expr_vm *vm, const struct geo_field *f, const struct expr_value *v,
                  struct expr_value *ret)
{
    switch (f->shape) {
    case GEO_STR: *ret = v && v->kind == EXPR_STRING ? *v : expr_strv("", 0); return 0;
    case GEO_UINT: *ret = v && v->kind == EXPR_INT ? *v : expr_int(0); return 0;
    case GEO_BOOL: *ret = v && v->kind == EXPR_BOOL ? *v : expr_bool(false); return 0;
    case GEO_FLOAT: *ret = v && v->kind == EXPR_FLOAT ? *v : expr_float(0); return 0;
    case GEO_NAMES:
        /* A Go nil map reads like an empty one; an empty map keeps lookups uniform. */
        if (v && v->kind == EXPR_MAP) {
            *ret = *v;
            return 0;
        }
        ret->kind = EXPR_MAP;
        ret->u.m = expr_vm_map(vm, 0);
        return ret->u.m ? 0 : expr_vm_error(vm, "out of memory");
    case GEO_STRUCT: return geo_project(vm, f->sub, v, ret);
    case GEO_STRUCTS: {
        size_t n = v && v->kind == EXPR_ARRAY ? v->u.a->len : 0;
        struct expr_array *a = expr_vm_array(vm, n);
        if (!a)
            return expr_vm_error(vm, "out of memory");
        for (size_t i = 0; i < n; i++) {
            struct expr_value item;
            if (geo_project(vm, f->sub, &v->u.a->items[i], &item) < 0)
                return -1;
            if (expr_array_push(vm, a, item) < 0)
                return expr_vm_error(vm, "out of memory");
        }
        *ret = (struct expr_value){ .kind = EXPR_ARRAY, .u.a = a };
        return 0;
    }
    }
    return expr_vm_error(vm, "geoip: bad schema");
}

static int
geo_project(struct expr_vm *vm, const struct geo_field *fields, const struct expr_value *src,
            struct expr_value *ret)
{
    size_t n = 0;
    while (fields[n].go_name)
        n++;
    struct expr_map *m = expr_vm_map(vm, n);
    if (!m)
        return expr_vm_error(vm, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const struct geo_field *f = &fields[i];
        const struct expr_value *v = NULL;
        struct expr_value out = { 0 };
        if (src && src->kind == EXPR_MAP)
            v = expr_map_get(src->u.m, f->db_key, strlen(f->db_key));
        if (geo_project_field(vm, f, v, &out) < 0)
            return -1;
        if (expr_map_set(vm, m, f->go_name, strlen(f->go_name), out) < 0)
            return expr_vm_error(vm, "out of memory");
    }
    *ret = (struct expr_value){ .kind = EXPR_MAP, .u.m = m };
    return 0;
}

/*
 * geoip2's City()/ASN(): nil without a database; an invalid address is an
 * error; an address absent from the tree is the zero struct.
 */
static int
geo_record(struct expr_vm *vm, const char *fn, const struct geoip_db *db,
           const struct geo_field *schema, const struct expr_value *args, struct expr_value *ret)
{
    struct strv s;
    struct ip_addr addr;
    MMDB_lookup_result_s res;
    struct expr_value raw = expr_nil();
    MMDB_entry_data_list_s *list = NULL;
    int rc;

    if (expr_helper_arg_strv(vm, fn, args, 0, &s) < 0)
        return -1;
    if (!db->open) {
        *ret = expr_nil();
        return 0;
    }
    if (ip_parse(s.ptr, s.len, &addr) < 0)
        return expr_vm_error(vm, "IP cannot be nil");
    rc = geo_lookup(vm, db, &addr, &res, NULL);
    if (rc < 0)
        return -1;
    if (rc > 0) {
        int status = MMDB_get_entry_data_list(&res.entry, &list);
        if (status != MMDB_SUCCESS) {
            MMDB_free_entry_data_list(list);
            return expr_vm_error(vm, "%s", MMDB_strerror(status));
        }
        MMDB_entry_data_list_s *cur = list;
        rc = geo_decode(vm, &cur, 0, &raw);
        MMDB_free_entry_data_list(list);
        if (rc < 0)
            return -1;
    }
    return geo_project(vm, schema, &raw, ret);
}

static int
fn_geoip_enrich(struct expr_vm *vm, const struct expr_value *args, size_t nargs,
                struct expr_value *ret)
{
    return geo_record(vm, "GeoIPEnrich", &geo.city, geo_city, args, ret);
}

static int
fn_geoip_asn_enrich(struct expr_vm *vm, const struct expr_value *args, size_t nargs,
                    struct expr_value *ret)
{
    return geo_record(vm, "GeoIPASNEnrich", &geo.asn, geo_asn, args, ret);
}

/* IPToCountry: City(ip).Country.IsoCode, "" on any failure (no fallback to registered country). */
static int
fn_ip_to_country(struct expr_vm *vm, const struct expr_value *args, size_t nargs,
                 struct expr_value *ret)
{
    struct strv s;
    struct ip_addr addr;
    MMDB_lookup_result_s res;
    MMDB_entry_data_s d;

    if (expr_helper_arg_strv(vm, "IPToCountry", args, 0, &s) < 0)
        return -1;
    *ret = expr_strv("", 0);
    if (!geo.city.open || ip_parse(s.ptr, s.len, &addr) < 0)
        return 0;
    if (geo_lookup(NULL, &geo.city, &addr, &res, NULL) <= 0)
        return 0;
    if (MMDB_get_value(&res.entry, &d, "country", "iso_code", NULL) != MMDB_SUCCESS ||
        !d.has_data || d.type != MMDB_DATA_TYPE_UTF8_STRING)
        return 0;
    *ret = expr_vm_str(vm, d.utf8_string, d.data_size);
    return ret->kind == EXPR_NIL ? expr_vm_error(vm, "out of memory") : 0;
}

/* *net.IPNet: the range GeoIPRangeEnrich returns; String() gives the CIDR. */
static int
ipnet_string(const void *obj, struct expr_vm *vm, const struct expr_value *args, size_t nargs,
             struct expr_value *ret)
{
    char buf[IP_STR_MAX + 8];
    size_t n = ip_range_format(obj, buf, sizeof(buf));
    *ret = expr_vm_str(vm, buf, MIN(n, sizeof(buf) - 1));
    return ret->kind == EXPR_NIL ? expr_vm_error(vm, "out of memory") : 0;
}

static const struct expr_method ipnet_methods[] = {
    { "String", 0, 0, EXPR_T(EXPR_STRING), ipnet_string },
};

static const struct expr_class ipnet_class = {
    .name = "*net.IPNet",
    .methods = ipnet_methods,
    .nmethods = ARRAY_SIZE(ipnet_methods),
};

/*
 * GeoIPRangeEnrich: the network of the ASN database record holding ip
 * (maxminddb's LookupNetwork), nil when not found.
 */
static int
fn_geoip_range_enrich(struct expr_vm *vm, const struct expr_value *args, size_t nargs,
                      struct expr_value *ret)
{
    struct strv s;
    struct ip_addr addr;
    MMDB_lookup_result_s res;
    struct ip_range *range;
    int rc;

    if (expr_helper_arg_strv(vm, "GeoIPRangeEnrich", args, 0, &s) < 0)
        return -1;
    *ret = expr_nil();
    if (!geo.asn.open)
        return 0;
    if (ip_parse(s.ptr, s.len, &addr) < 0)
        return expr_vm_error(vm, "IP cannot be nil");
    int prefix = 0;
    rc = geo_lookup(vm, &geo.asn, &addr, &res, &prefix);
    if (rc <= 0)
        return rc;
    range = expr_vm_alloc(vm, sizeof(*range));
    if (!range)
        return expr_vm_error(vm, "out of memory");
    if (ip_mask(&addr, prefix, range) < 0)
        return expr_vm_error(vm, "geoip: bad network prefix %d", prefix);
    *ret = expr_object(&ipnet_class, range);
    return 0;
}

const struct expr_func expr_helpers_ip[] = {
    { "IpInRange", 2, 2, EXPR_T(EXPR_BOOL), fn_ip_in_range },
    { "IpToRange", 2, 2, EXPR_T(EXPR_STRING), fn_ip_to_range },
    { "IsIPV6", 1, 1, EXPR_T(EXPR_BOOL), fn_is_ipv6 },
    { "IsIPV4", 1, 1, EXPR_T(EXPR_BOOL), fn_is_ipv4 },
    { "IsIP", 1, 1, EXPR_T(EXPR_BOOL), fn_is_ip },
    { "GeoIPEnrich", 1, 1, EXPR_T_ANY, fn_geoip_enrich },
    { "GeoIPASNEnrich", 1, 1, EXPR_T_ANY, fn_geoip_asn_enrich },
    { "GeoIPRangeEnrich", 1, 1, EXPR_T_OBJ(&ipnet_class), fn_geoip_range_enrich },
    { "IPToCountry", 1, 1, EXPR_T(EXPR_STRING), fn_ip_to_country },
};
const size_t expr_helpers_ip_count = ARRAY_SIZE(expr_helpers_ip);

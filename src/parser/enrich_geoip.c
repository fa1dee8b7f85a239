/*
 * enrich_geoip.c - the GeoIpCity, GeoIpASN and IpToRange enrichers
 * (CrowdSec's pkg/parser/enrich_geoip.go).
 *
 * They mirror geoip2-golang's readers: without a database, or for a value
 * that is not an address, nothing is set; an address missing from the
 * database yields geoip2's zero record, so GeoIpCity still sets IsoCode ""
 * and IsInEU "false" and GeoIpASN sets ASNNumber "0" (the hub's
 * geoip-enrich test relies on this). IpToRange sets nothing for an address
 * outside every network of the ASN database.
 */
#include <inttypes.h>
#include <limits.h>

#include "common/common.h"

#include "parser/enrich_internal.h"

/* Parses the enricher's input like net.ParseIP; false for "" or junk. */
static bool
enrich_ip(const char *input, size_t len, struct ip_addr *ret)
{
    return len > 0 && ip_parse(input, len, ret) == 0;
}

/* A string field of the record at path (NULL-terminated), or "" when absent. */
static int
entry_str(MMDB_entry_s *entry, const char **path, char *buf, size_t size)
{
    MMDB_entry_data_s d;
    buf[0] = '\0';
    if (MMDB_aget_value(entry, &d, path) != MMDB_SUCCESS || !d.has_data ||
        d.type != MMDB_DATA_TYPE_UTF8_STRING)
        return 0;
    snprintf(buf, size, "%.*s", (int)MIN(d.data_size, (uint32_t)INT_MAX), d.utf8_string);
    return 1;
}

static bool
entry_bool(MMDB_entry_s *entry, const char **path)
{
    MMDB_entry_data_s d;
    return MMDB_aget_value(entry, &d, path) == MMDB_SUCCESS && d.has_data &&
           d.type == MMDB_DATA_TYPE_BOOLEAN && d.boolean;
}

static double
entry_double(MMDB_entry_s *entry, const char **path)
{
    MMDB_entry_data_s d;
    if (MMDB_aget_value(entry, &d, path) != MMDB_SUCCESS || !d.has_data)
        return 0;
    if (d.type == MMDB_DATA_TYPE_DOUBLE)
        return d.double_value;
    if (d.type == MMDB_DATA_TYPE_FLOAT)
        return d.float_value;
    return 0;
}

static uint64_t
entry_uint(MMDB_entry_s *entry, const char **path)
{
    MMDB_entry_data_s d;
    if (MMDB_aget_value(entry, &d, path) != MMDB_SUCCESS || !d.has_data)
        return 0;
    switch (d.type) {
    case MMDB_DATA_TYPE_UINT16: return d.uint16;
    case MMDB_DATA_TYPE_UINT32: return d.uint32;
    case MMDB_DATA_TYPE_UINT64: return d.uint64;
    case MMDB_DATA_TYPE_INT32: return d.int32 < 0 ? 0 : (uint64_t)d.int32;
    default: return 0;
    }
}

/*
 * Looks input up in db: 1 found, 0 absent from the tree (geoip2's zero
 * record), -1 when nothing must be set (no database, not an address, a
 * database error).
 */
static int
enrich_geo_lookup(const struct geoip_db *db, const char *input, size_t len,
                  MMDB_lookup_result_s *res, struct ip_addr *ret_addr, int *ret_prefix)
{
    if (!db->open || !enrich_ip(input, len, ret_addr))
        return -1;
    return geoip_db_lookup(db, ret_addr, res, ret_prefix, NULL);
}

int
enrich_geoip_city(struct enrich_ctx *ctx, const char *input, size_t len, struct event *evt)
{
    static const char *const countries[] = { "country", "registered_country",
                                             "represented_country" };
    MMDB_lookup_result_s res;
    struct ip_addr addr;
    char iso[64] = "", buf[64];
    bool eu = false;
    double lat = 0, lon = 0;

    int rc = enrich_geo_lookup(&ctx->city, input, len, &res, &addr, NULL);
    if (rc < 0)
        return 0;
    if (rc > 0) {
        /* The first of country, registered, represented with an ISO code wins. */
        for (size_t i = 0; i < ARRAY_SIZE(countries); i++) {
            const char *iso_path[] = { countries[i], "iso_code", NULL };
            const char *eu_path[] = { countries[i], "is_in_european_union", NULL };
            if (entry_str(&res.entry, iso_path, iso, sizeof(iso)) && iso[0]) {
                eu = entry_bool(&res.entry, eu_path);
                break;
            }
        }
        const char *lat_path[] = { "location", "latitude", NULL };
        const char *lon_path[] = { "location", "longitude", NULL };
        lat = entry_double(&res.entry, lat_path);
        lon = entry_double(&res.entry, lon_path);
    }
    int err = event_set_enriched(evt, "IsoCode", iso);
    if (!err)
        err = event_set_enriched(evt, "IsInEU", eu ? "true" : "false");
    snprintf(buf, sizeof(buf), "%f", lat);
    if (!err)
        err = event_set_enriched(evt, "Latitude", buf);
    snprintf(buf, sizeof(buf), "%f", lon);
    if (!err)
        err = event_set_enriched(evt, "Longitude", buf);
    return err;
}

int
enrich_geoip_asn(struct enrich_ctx *ctx, const char *input, size_t len, struct event *evt)
{
    MMDB_lookup_result_s res;
    struct ip_addr addr;
    char org[512] = "", num[24];
    uint64_t asn = 0;

    int rc = enrich_geo_lookup(&ctx->asn, input, len, &res, &addr, NULL);
    if (rc < 0)
        return 0;
    if (rc > 0) {
        const char *num_path[] = { "autonomous_system_number", NULL };
        const char *org_path[] = { "autonomous_system_organization", NULL };
        /* geoip2 decodes the number into a uint. */
        asn = entry_uint(&res.entry, num_path) & UINT32_MAX;
        entry_str(&res.entry, org_path, org, sizeof(org));
    }
    snprintf(num, sizeof(num), "%" PRIu64, asn);
    int err = event_set_enriched(evt, "ASNNumber", num);
    if (!err)
        err = event_set_enriched(evt, "ASNumber", num); /* CrowdSec's back-compat key */
    if (!err)
        err = event_set_enriched(evt, "ASNOrg", org);
    return err;
}

int
enrich_ip_to_range(struct enrich_ctx *ctx, const char *input, size_t len, struct event *evt)
{
    MMDB_lookup_result_s res;
    struct ip_addr addr;
    struct ip_range range;
    char buf[IP_STR_MAX + 8];
    int prefix = 0;

    if (enrich_geo_lookup(&ctx->asn, input, len, &res, &addr, &prefix) <= 0)
        return 0;
    if (ip_mask(&addr, prefix, &range) < 0)
        return 0;
    size_t n = ip_range_format(&range, buf, sizeof(buf));
    buf[MIN(n, sizeof(buf) - 1)] = '\0';
    return event_set_enriched(evt, "SourceRange", buf);
}

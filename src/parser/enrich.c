/*
 * enrich.c - the enricher table (CrowdSec's parser.Loadplugin) and the
 * context the enrichers share: the two GeoIP databases and the reverse-DNS
 * cache with its resolver threads.
 *
 * The databases are optional, as in CrowdSec: a missing or unreadable
 * GeoLite2-City.mmdb / GeoLite2-ASN.mmdb leaves its enrichers setting
 * nothing. Everything here is read-only after enrich_ctx_new except the DNS
 * cache, which has its own lock.
 */
#include <limits.h>

#include "common/common.h"

#include "parser/enrich_internal.h"

static void
enrich_open_db(struct geoip_db *db, const char *data_dir, const char *file, enum geoip_kind kind)
{
    char path[PATH_MAX];
    int n = snprintf(path, sizeof(path), "%s/%s", data_dir, file);
    if (n < 0 || (size_t)n >= sizeof(path))
        return;
    (void)geoip_db_open(db, path, kind, NULL, 0);
}

struct enrich_ctx *
enrich_ctx_new(const char *data_dir)
{
    struct enrich_ctx *ctx = calloc(1, sizeof(*ctx));
    if (!ctx)
        return NULL;
    ctx->rdns = enrich_rdns_new(NULL);
    if (!ctx->rdns) {
        free(ctx);
        return NULL;
    }
    if (data_dir) {
        enrich_open_db(&ctx->city, data_dir, "GeoLite2-City.mmdb", GEOIP_CITY);
        enrich_open_db(&ctx->asn, data_dir, "GeoLite2-ASN.mmdb", GEOIP_ASN);
    }
    return ctx;
}

void
enrich_ctx_free(struct enrich_ctx *ctx)
{
    if (!ctx)
        return;
    geoip_db_close(&ctx->city);
    geoip_db_close(&ctx->asn);
    enrich_rdns_free(ctx->rdns);
    free(ctx);
}

int
enrich_ctx_set_rdns(struct enrich_ctx *ctx, const struct enrich_rdns_config *cfg)
{
    struct enrich_rdns *r = enrich_rdns_new(cfg);
    if (!r)
        return -ENOMEM;
    enrich_rdns_free(ctx->rdns);
    ctx->rdns = r;
    return 0;
}

static const struct {
    const char *name;
    enrich_fn fn;
} enrichers[] = {
    { "GeoIpCity", enrich_geoip_city },  { "GeoIpASN", enrich_geoip_asn },
    { "IpToRange", enrich_ip_to_range }, { "reverse_dns", enrich_reverse_dns },
    { "ParseDate", enrich_parse_date },  { "UnmarshalJSON", enrich_unmarshal_json },
};

enrich_fn
enrich_lookup(const char *name)
{
    for (size_t i = 0; i < ARRAY_SIZE(enrichers); i++)
        if (strcmp(enrichers[i].name, name) == 0)
            return enrichers[i].fn;
    return NULL;
}

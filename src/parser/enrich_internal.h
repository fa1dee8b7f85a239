/*
 * enrich_internal.h - what the enricher files share, and the knobs tests turn.
 *
 * enrich.c owns the context and the name table; each enrich_*.c file holds
 * one family of enrichers. The reverse-DNS resolver and its timings can be
 * replaced (as CrowdSec's dnscache.SetResolver / Configure do in its tests)
 * so tests never depend on a real DNS server.
 */
#ifndef PHALANX_PARSER_ENRICH_INTERNAL_H
#define PHALANX_PARSER_ENRICH_INTERNAL_H

#include "common/geoip.h"
#include "common/ip.h"
#include "parser/enrich.h"

struct enrich_rdns;

struct enrich_ctx {
    struct geoip_db city, asn; /* closed when the file is missing or unreadable */
    struct enrich_rdns *rdns;
};

int enrich_parse_date(struct enrich_ctx *ctx, const char *input, size_t len, struct event *evt);
int enrich_geoip_city(struct enrich_ctx *ctx, const char *input, size_t len, struct event *evt);
int enrich_geoip_asn(struct enrich_ctx *ctx, const char *input, size_t len, struct event *evt);
int enrich_ip_to_range(struct enrich_ctx *ctx, const char *input, size_t len, struct event *evt);
int enrich_reverse_dns(struct enrich_ctx *ctx, const char *input, size_t len, struct event *evt);
int enrich_unmarshal_json(struct enrich_ctx *ctx, const char *input, size_t len, struct event *evt);

/* --- reverse DNS (enrich_dns.c) --- */

/*
 * A PTR resolver: writes the first name for addr (NUL-terminated, as the
 * system gives it) and returns 0, or returns -1 when there is none. It may
 * block; it runs on the resolver threads.
 */
typedef int (*enrich_resolver_fn)(void *userdata, const struct ip_addr *addr, char *buf,
                                  size_t size);

struct enrich_rdns_config {
    enrich_resolver_fn resolve; /* NULL = getnameinfo() */
    void *userdata;
    int64_t timeout_ms;      /* how long a caller waits for a fresh lookup (3000) */
    int64_t positive_ttl_ms; /* 1 h */
    int64_t negative_ttl_ms; /* 5 min */
    size_t max_entries;      /* cache bound, least recently used evicted (16384) */
};

struct enrich_rdns *enrich_rdns_new(const struct enrich_rdns_config *cfg);
void enrich_rdns_free(struct enrich_rdns *r);
/* Replaces ctx's resolver and timings (before any lookup; tests only). 0 or -ENOMEM. */
int enrich_ctx_set_rdns(struct enrich_ctx *ctx, const struct enrich_rdns_config *cfg);
/* Lookups that reached the resolver so far (tests check the cache with it). */
uint64_t enrich_rdns_resolver_calls(const struct enrich_ctx *ctx);

#endif

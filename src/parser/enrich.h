/*
 * enrich.h - the enrichers statics call with `method:` (private to src/parser).
 *
 * ParseDate, GeoIpCity, GeoIpASN, IpToRange, reverse_dns, UnmarshalJSON: each
 * takes the static's input string and the event, and merges its results into
 * evt->enriched (UnmarshalJSON fills evt->unmarshaled from Line.Raw), with the
 * keys and formatting of spec section 3.
 */
#ifndef PHALANX_PARSER_ENRICH_H
#define PHALANX_PARSER_ENRICH_H

#include "model/model.h"

struct enrich_ctx; /* shared, read-only after enrich_ctx_new (mmdb handles, rdns cache) */

/* data_dir holds GeoLite2-City.mmdb / GeoLite2-ASN.mmdb (optional); NULL = none. */
struct enrich_ctx *enrich_ctx_new(const char *data_dir);
void enrich_ctx_free(struct enrich_ctx *ctx);

/* Returns 0 (possibly with no keys set: not found, bad input), or -ENOMEM. */
typedef int (*enrich_fn)(struct enrich_ctx *ctx, const char *input, size_t len, struct event *evt);

/* The enricher of that name (CrowdSec's spelling), or NULL: an unknown method is a load error. */
enrich_fn enrich_lookup(const char *name);

#endif

/*
 * geoip.h - MaxMind database handles shared by the GeoIP expression helpers
 * (src/expr/helpers_ip.c) and the parser's GeoIP enrichers.
 *
 * Opening checks the database type the way geoip2-golang's City()/ASN()
 * readers do, and a lookup reports the network prefix in the address's own
 * family (maxminddb-golang's LookupNetwork), which libmaxminddb counts from
 * the top of an IPv6 tree for IPv4 addresses. Handles are read-only after
 * opening, so lookups are safe from many threads.
 */
#ifndef PHALANX_GEOIP_H
#define PHALANX_GEOIP_H

#include <maxminddb.h>

#include "common.h"
#include "ip.h"

enum geoip_kind { GEOIP_CITY, GEOIP_ASN };

struct geoip_db {
    MMDB_s mmdb;
    bool open;
};

/*
 * Opens path (mmap) and checks that geoip2's kind method accepts its type.
 * 0, or -1 with a message in err (when err is not NULL). A zeroed struct is
 * a closed handle.
 */
int geoip_db_open(struct geoip_db *db, const char *path, enum geoip_kind kind, char *err,
                  size_t errsize);
/* Closes an open handle; a closed one is left alone. */
void geoip_db_close(struct geoip_db *db);
/*
 * Looks addr up. 1 when found (*ret_result filled, *ret_prefix the network
 * prefix length for addr's family), 0 when the address is not in the tree,
 * -1 on a database error (*ret_status = the MMDB_* code).
 */
int geoip_db_lookup(const struct geoip_db *db, const struct ip_addr *addr,
                    MMDB_lookup_result_s *ret_result, int *ret_prefix, int *ret_status);

#endif

/*
 * geoip.c - opening and querying MaxMind databases with libmaxminddb, for
 * every part of phalanx that reads GeoLite2-City / GeoLite2-ASN.
 */
#include <netinet/in.h>
#include <sys/socket.h>

#include "common/geoip.h"

/* geoip2-golang accepts these database types for City() and ASN(). */
static bool
geoip_type_ok(const char *type, enum geoip_kind kind)
{
    if (!type)
        return false;
    if (kind == GEOIP_CITY)
        return strstr(type, "City") || strstr(type, "Country") || strstr(type, "Enterprise");
    return strstr(type, "ASN") || strstr(type, "ISP");
}

int
geoip_db_open(struct geoip_db *db, const char *path, enum geoip_kind kind, char *err,
              size_t errsize)
{
    db->open = false;
    int rc = MMDB_open(path, MMDB_MODE_MMAP, &db->mmdb);
    if (rc != MMDB_SUCCESS) {
        if (err)
            snprintf(err, errsize, "unable to open %s: %s", path, MMDB_strerror(rc));
        return -1;
    }
    if (!geoip_type_ok(db->mmdb.metadata.database_type, kind)) {
        if (err)
            snprintf(err, errsize, "%s: geoip2: the %s method does not support the %s database",
                     path, kind == GEOIP_CITY ? "City" : "ASN", db->mmdb.metadata.database_type);
        MMDB_close(&db->mmdb);
        return -1;
    }
    db->open = true;
    return 0;
}

void
geoip_db_close(struct geoip_db *db)
{
    if (db->open)
        MMDB_close(&db->mmdb);
    db->open = false;
}

int
geoip_db_lookup(const struct geoip_db *db, const struct ip_addr *addr,
                MMDB_lookup_result_s *ret_result, int *ret_prefix, int *ret_status)
{
    struct sockaddr_storage ss;
    int status = MMDB_SUCCESS;

    memset(&ss, 0, sizeof(ss));
    if (addr->family == IP_V4) {
        struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
        sin->sin_family = AF_INET;
        memcpy(&sin->sin_addr, addr->bytes + 12, 4);
    } else {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
        sin6->sin6_family = AF_INET6;
        memcpy(&sin6->sin6_addr, addr->bytes, 16);
    }
    *ret_result = MMDB_lookup_sockaddr(&db->mmdb, (struct sockaddr *)&ss, &status);
    if (ret_status)
        *ret_status = status;
    if (status != MMDB_SUCCESS)
        return -1;
    /* libmaxminddb counts an IPv4 address's prefix from the top of an IPv6 tree. */
    int prefix = ret_result->netmask;
    if (addr->family == IP_V4 && db->mmdb.metadata.ip_version == 6)
        prefix -= 96;
    if (ret_prefix)
        *ret_prefix = MAX(prefix, 0);
    return ret_result->found_entry ? 1 : 0;
}

/*
 * ip.h - IPv4/IPv6 addresses and ranges.
 *
 * Every address is kept as 16 bytes (IPv4 as ::ffff:a.b.c.d) plus a family,
 * and an IPv4-mapped IPv6 address is normalised to IPv4, as CrowdSec does.
 * A range is [start, end] inclusive; a CIDR is one kind of range.
 */
#ifndef PHALANX_IP_H
#define PHALANX_IP_H

#include "common.h"

enum ip_family { IP_V4 = 4, IP_V6 = 6 };

struct ip_addr {
    uint8_t family;    /* enum ip_family */
    uint8_t bytes[16]; /* network order; v4 in bytes[12..15] with ::ffff: prefix */
};

struct ip_range {
    struct ip_addr start, end;
    int prefix; /* prefix length when parsed from a CIDR, else -1 */
};

#define IP_STR_MAX 64 /* enough for any address or CIDR text */

/* Parses an address ("1.2.3.4", "::1", "::ffff:1.2.3.4"); 0 or -EINVAL. No zones, no spaces. */
int ip_parse(const char *s, size_t len, struct ip_addr *ret);
/* Parses "a.b.c.d/n" or "x::/n" (host bits are masked off) or a bare address (/32, /128). */
int ip_range_parse_cidr(const char *s, size_t len, struct ip_range *ret);
/* Formats like Go's net.IP.String() (RFC 5952 for v6); returns the length. */
size_t ip_format(const struct ip_addr *ip, char *buf, size_t size);
/* Formats a range as CIDR if it is one, else "start-end". */
size_t ip_range_format(const struct ip_range *r, char *buf, size_t size);
/* Address masked to the given prefix (e.g. IpToRange(ip, "/24")); -EINVAL if prefix too long. */
int ip_mask(const struct ip_addr *ip, int prefix, struct ip_range *ret);

int ip_cmp(const struct ip_addr *a, const struct ip_addr *b); /* v4 sorts before v6 */
bool ip_range_contains(const struct ip_range *r, const struct ip_addr *ip);
bool ip_range_contains_range(const struct ip_range *outer, const struct ip_range *inner);

/*
 * CrowdSec's order-preserving int64 encoding (spec section 8): f(u) = u - (2^63-1).
 * For IPv4, *ret_hi = f(u32) and *ret_lo = f(0); for IPv6 the high and low 64 bits.
 */
void ip_to_sortable(const struct ip_addr *ip, int64_t *ret_hi, int64_t *ret_lo);

#endif

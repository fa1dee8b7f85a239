/*
 * ip.c - IPv4/IPv6 addresses and ranges with Go's net package semantics.
 *
 * Parsing follows Go's net.ParseIP byte for byte (the family is chosen by the
 * first '.' or ':'; IPv4 octets may not have leading zeros; IPv6 groups may),
 * because CrowdSec accepts or rejects a source address by that function and
 * a divergence would let an address be banned by one engine and not the other.
 * Addresses are kept as 16 bytes; an IPv4-mapped address is IPv4. Formatting
 * is net.IP.String(): dotted quad for IPv4, RFC 5952 for IPv6.
 */
#include "common/ip.h"

static const uint8_t ip_v4_prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

/* Go's dtoi/xtoi stop accumulating at this bound and report failure. */
#define IP_GO_BIG 0xFFFFFF

static bool
ip_is_mapped(const uint8_t b[16])
{
    return memcmp(b, ip_v4_prefix, 12) == 0;
}

static void
ip_set_family(struct ip_addr *ip)
{
    ip->family = ip_is_mapped(ip->bytes) ? IP_V4 : IP_V6;
}

/* Decimal digits at s[0..len); returns the count consumed, 0 on failure. */
static size_t
ip_dtoi(const char *s, size_t len, int *ret_n)
{
    int n = 0;
    size_t i;
    for (i = 0; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
        n = n * 10 + (s[i] - '0');
        if (n >= IP_GO_BIG)
            return 0;
    }
    *ret_n = n;
    return i;
}

static int
ip_hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static size_t
ip_xtoi(const char *s, size_t len, int *ret_n)
{
    int n = 0;
    size_t i;
    for (i = 0; i < len; i++) {
        int v = ip_hexval(s[i]);
        if (v < 0)
            break;
        n = n * 16 + v;
        if (n >= IP_GO_BIG)
            return 0;
    }
    *ret_n = n;
    return i;
}

/* Go's parseIPv4: exactly four decimal octets, no leading zeros. */
static int
ip_parse_v4(const char *s, size_t len, uint8_t out[4])
{
    size_t pos = 0;
    for (int i = 0; i < 4; i++) {
        if (pos >= len)
            return -EINVAL;
        if (i > 0) {
            if (s[pos] != '.')
                return -EINVAL;
            pos++;
        }
        int n;
        size_t c = ip_dtoi(s + pos, len - pos, &n);
        if (c == 0 || n > 0xFF)
            return -EINVAL;
        if (c > 1 && s[pos] == '0')
            return -EINVAL;
        pos += c;
        out[i] = (uint8_t)n;
    }
    return pos == len ? 0 : -EINVAL;
}

/* Go's parseIPv6, including a trailing dotted IPv4 part. */
static int
ip_parse_v6(const char *s, size_t len, uint8_t ip[16])
{
    int ellipsis = -1;
    int i = 0;
    size_t pos = 0;

    memset(ip, 0, 16);
    if (len >= 2 && s[0] == ':' && s[1] == ':') {
        ellipsis = 0;
        pos = 2;
        if (pos == len)
            return 0;
    }

    while (i < 16) {
        int n;
        size_t c = ip_xtoi(s + pos, len - pos, &n);
        if (c == 0 || n > 0xFFFF)
            return -EINVAL;
        if (pos + c < len && s[pos + c] == '.') {
            if (ellipsis < 0 && i != 12)
                return -EINVAL;
            if (i + 4 > 16)
                return -EINVAL;
            uint8_t v4[4];
            if (ip_parse_v4(s + pos, len - pos, v4) < 0)
                return -EINVAL;
            memcpy(ip + i, v4, 4);
            pos = len;
            i += 4;
            break;
        }
        ip[i] = (uint8_t)(n >> 8);
        ip[i + 1] = (uint8_t)n;
        i += 2;
        pos += c;
        if (pos == len)
            break;
        if (s[pos] != ':' || pos + 1 == len)
            return -EINVAL;
        pos++;
        if (s[pos] == ':') {
            if (ellipsis >= 0)
                return -EINVAL;
            ellipsis = i;
            pos++;
            if (pos == len)
                break;
        }
    }
    if (pos != len)
        return -EINVAL;

    if (i < 16) {
        if (ellipsis < 0)
            return -EINVAL;
        int n = 16 - i;
        for (int j = i - 1; j >= ellipsis; j--)
            ip[j + n] = ip[j];
        for (int j = ellipsis + n - 1; j >= ellipsis; j--)
            ip[j] = 0;
    } else if (ellipsis >= 0) {
        /* "::" must stand for at least one zero group. */
        return -EINVAL;
    }
    return 0;
}

static void
ip_from_v4(struct ip_addr *ret, const uint8_t v4[4])
{
    memcpy(ret->bytes, ip_v4_prefix, 12);
    memcpy(ret->bytes + 12, v4, 4);
    ret->family = IP_V4;
}

int
ip_parse(const char *s, size_t len, struct ip_addr *ret)
{
    struct ip_addr ip;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '.') {
            uint8_t v4[4];
            if (ip_parse_v4(s, len, v4) < 0)
                return -EINVAL;
            ip_from_v4(&ip, v4);
            *ret = ip;
            return 0;
        }
        if (s[i] == ':') {
            if (ip_parse_v6(s, len, ip.bytes) < 0)
                return -EINVAL;
            ip_set_family(&ip);
            *ret = ip;
            return 0;
        }
    }
    return -EINVAL;
}

/* start = ip with the host bits cleared, end = ip with them set; bits counts over 128. */
static void
ip_apply_prefix(const uint8_t in[16], int bits, uint8_t start[16], uint8_t end[16])
{
    for (int b = 0; b < 16; b++) {
        int keep = bits - b * 8;
        uint8_t m = keep >= 8 ? 0xff : keep <= 0 ? 0 : (uint8_t)(0xff << (8 - keep));
        start[b] = in[b] & m;
        end[b] = in[b] | (uint8_t)~m;
    }
}

int
ip_mask(const struct ip_addr *ip, int prefix, struct ip_range *ret)
{
    int maxbits = ip->family == IP_V4 ? 32 : 128;
    if (prefix < 0 || prefix > maxbits)
        return -EINVAL;
    struct ip_range r = { 0 };
    int bits = ip->family == IP_V4 ? prefix + 96 : prefix;
    ip_apply_prefix(ip->bytes, bits, r.start.bytes, r.end.bytes);
    r.start.family = r.end.family = ip->family;
    r.prefix = prefix;
    *ret = r;
    return 0;
}

/*
 * Go's ParseCIDR: the address part is tried as IPv4, then as IPv6, and the
 * prefix is decimal digits only (leading zeros allowed) up to 32 or 128. A
 * bare address is a /32 or /128. An IPv4-mapped address written in IPv6
 * syntax needs a prefix of at least 96 and then is an IPv4 range, the rule
 * CrowdSec's csnet.NewRange applies.
 */
int
ip_range_parse_cidr(const char *s, size_t len, struct ip_range *ret)
{
    const char *slash = memchr(s, '/', len);
    struct ip_addr ip;

    if (!slash) {
        if (ip_parse(s, len, &ip) < 0)
            return -EINVAL;
        ret->start = ret->end = ip;
        ret->prefix = ip.family == IP_V4 ? 32 : 128;
        return 0;
    }

    size_t alen = (size_t)(slash - s);
    const char *m = slash + 1;
    size_t mlen = len - alen - 1;
    int maxbits;
    uint8_t v4[4];
    if (ip_parse_v4(s, alen, v4) == 0) {
        ip_from_v4(&ip, v4);
        maxbits = 32;
    } else if (ip_parse_v6(s, alen, ip.bytes) == 0) {
        ip_set_family(&ip);
        maxbits = 128;
    } else {
        return -EINVAL;
    }
    int n;
    size_t c = ip_dtoi(m, mlen, &n);
    if (c == 0 || c != mlen || n > maxbits)
        return -EINVAL;
    if (maxbits == 128 && ip.family == IP_V4) {
        if (n < 96)
            return -EINVAL;
        n -= 96;
    }
    return ip_mask(&ip, n, ret);
}

static size_t
ip_emit(char *buf, size_t size, size_t off, const char *p, size_t n)
{
    if (size > 0 && off < size - 1) {
        size_t k = MIN(n, size - 1 - off);
        memcpy(buf + off, p, k);
        buf[off + k] = '\0';
    }
    return off + n;
}

/*
 * Writes ip into buf like net.IP.String(), truncating (always NUL-terminated
 * when size > 0); returns the untruncated length, as snprintf does.
 */
size_t
ip_format(const struct ip_addr *ip, char *buf, size_t size)
{
    char tmp[IP_STR_MAX];
    size_t n = 0;
    const uint8_t *p = ip->bytes;

    if (size > 0)
        buf[0] = '\0';
    if (ip->family == IP_V4 || ip_is_mapped(p)) {
        int k = snprintf(tmp, sizeof(tmp), "%u.%u.%u.%u", p[12], p[13], p[14], p[15]);
        return ip_emit(buf, size, 0, tmp, (size_t)k);
    }

    /* Longest run of zero groups (first one wins a tie); "::" needs two or more. */
    int e0 = -1, e1 = -1;
    for (int i = 0; i < 16; i += 2) {
        int j = i;
        while (j < 16 && p[j] == 0 && p[j + 1] == 0)
            j += 2;
        if (j > i && j - i > e1 - e0) {
            e0 = i;
            e1 = j;
            i = j;
        }
    }
    if (e1 - e0 <= 2)
        e0 = e1 = -1;

    for (int i = 0; i < 16; i += 2) {
        if (i == e0) {
            tmp[n++] = ':';
            tmp[n++] = ':';
            i = e1;
            if (i >= 16)
                break;
        } else if (i > 0) {
            tmp[n++] = ':';
        }
        int k = snprintf(tmp + n, sizeof(tmp) - n, "%x", (unsigned)(p[i] << 8 | p[i + 1]));
        n += (size_t)k;
    }
    return ip_emit(buf, size, 0, tmp, n);
}

/* The prefix length that makes [start, end] a CIDR block, or -1. */
static int
ip_range_prefix(const struct ip_range *r)
{
    if (r->start.family != r->end.family)
        return -1;
    int maxbits = r->start.family == IP_V4 ? 32 : 128;
    for (int n = 0; n <= maxbits; n++) {
        struct ip_range m;
        ip_mask(&r->start, n, &m);
        if (memcmp(m.start.bytes, r->start.bytes, 16) == 0 &&
            memcmp(m.end.bytes, r->end.bytes, 16) == 0)
            return n;
    }
    return -1;
}

size_t
ip_range_format(const struct ip_range *r, char *buf, size_t size)
{
    char a[IP_STR_MAX], b[IP_STR_MAX];
    int prefix = r->prefix >= 0 ? r->prefix : ip_range_prefix(r);
    size_t n = ip_format(&r->start, a, sizeof(a));
    if (size > 0)
        buf[0] = '\0';
    n = ip_emit(buf, size, 0, a, n);
    if (prefix >= 0) {
        int k = snprintf(b, sizeof(b), "/%d", prefix);
        return ip_emit(buf, size, n, b, (size_t)k);
    }
    n = ip_emit(buf, size, n, "-", 1);
    size_t k = ip_format(&r->end, b, sizeof(b));
    return ip_emit(buf, size, n, b, k);
}

int
ip_cmp(const struct ip_addr *a, const struct ip_addr *b)
{
    if (a->family != b->family)
        return a->family == IP_V4 ? -1 : 1;
    int c = memcmp(a->bytes, b->bytes, 16);
    return c < 0 ? -1 : c > 0;
}

bool
ip_range_contains(const struct ip_range *r, const struct ip_addr *ip)
{
    return r->start.family == ip->family && ip_cmp(&r->start, ip) <= 0 && ip_cmp(ip, &r->end) <= 0;
}

bool
ip_range_contains_range(const struct ip_range *outer, const struct ip_range *inner)
{
    return outer->start.family == inner->start.family &&
           ip_cmp(&outer->start, &inner->start) <= 0 && ip_cmp(&inner->end, &outer->end) <= 0;
}

/* CrowdSec's uint2int, including its special cases at the top of the range. */
static int64_t
ip_uint2int(uint64_t u)
{
    if (u == (uint64_t)INT64_MAX)
        return 0;
    if (u == UINT64_MAX)
        return INT64_MAX;
    if (u > (uint64_t)INT64_MAX)
        return (int64_t)(u - (uint64_t)INT64_MAX);
    return (int64_t)u - INT64_MAX;
}

static uint64_t
ip_load_be64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

void
ip_to_sortable(const struct ip_addr *ip, int64_t *ret_hi, int64_t *ret_lo)
{
    if (ip->family == IP_V4) {
        const uint8_t *p = ip->bytes + 12;
        uint32_t u = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
        *ret_hi = ip_uint2int(u);
        *ret_lo = ip_uint2int(0);
        return;
    }
    *ret_hi = ip_uint2int(ip_load_be64(ip->bytes));
    *ret_lo = ip_uint2int(ip_load_be64(ip->bytes + 8));
}

/*
 * netcfg.c - who the client is and what its address allows: gin's
 * ClientIP() with trusted_proxies (X-Forwarded-For, then X-Real-IP, only
 * from a trusted proxy), CrowdSec's authIP (127.0.0.1, ::1 and trusted_ips
 * may delete alerts) and the auto-registration check (token, then the
 * allowed ranges).
 */
#include <openssl/crypto.h>

#include "lapi/internal.h"

/* X-Forwarded-For is attacker-sized: at most this many hops are looked at. */
#define XFF_MAX_HOPS 64

static int
parse_list(const struct lapi_strlist *l, bool need_slash, const char *what, struct ip_range **ret,
           size_t *ret_n, struct lapi_error *err)
{
    *ret = NULL;
    *ret_n = 0;
    if (l->n == 0)
        return 0;
    struct ip_range *v = calloc(l->n, sizeof(*v));
    if (v == NULL) {
        snprintf(err->msg, sizeof(err->msg), "out of memory");
        return -1;
    }
    for (size_t i = 0; i < l->n; i++) {
        const char *s = l->v[i];
        if ((need_slash && strchr(s, '/') == NULL) ||
            ip_range_parse_cidr(s, strlen(s), &v[i]) != 0) {
            snprintf(err->msg, sizeof(err->msg), "%s: invalid CIDR address: %.200s", what, s);
            free(v);
            return -1;
        }
    }
    *ret = v;
    *ret_n = l->n;
    return 0;
}

struct lapi_netcfg *
lapi_netcfg_new(const struct lapi_config *c, struct lapi_error *err)
{
    struct lapi_netcfg *n = calloc(1, sizeof(*n));
    if (n == NULL) {
        snprintf(err->msg, sizeof(err->msg), "out of memory");
        return NULL;
    }
    if (parse_list(&c->trusted_ips, false, "api.server.trusted_ips", &n->trusted_ips,
                   &n->ntrusted_ips, err) != 0 ||
        parse_list(&c->trusted_proxies, false, "api.server.trusted_proxies", &n->trusted_proxies,
                   &n->ntrusted_proxies, err) != 0)
        goto fail;
    const struct lapi_auto_registration *ar = &c->auto_registration;
    if (ar->enabled) {
        if (ar->token == NULL || ar->token[0] == '\0') {
            snprintf(err->msg, sizeof(err->msg),
                     "missing token value for api.server.auto_register");
            goto fail;
        }
        if (strlen(ar->token) < 32) {
            snprintf(err->msg, sizeof(err->msg),
                     "token value for api.server.auto_register is too short (min 32 characters)");
            goto fail;
        }
        if (ar->allowed_ranges.n == 0) {
            snprintf(err->msg, sizeof(err->msg),
                     "missing allowed_ranges value for api.server.auto_register");
            goto fail;
        }
        if (parse_list(&ar->allowed_ranges, true, "auto_register: allowed range",
                       &n->autoreg_ranges, &n->nautoreg_ranges, err) != 0 ||
            (n->autoreg_token = strdup(ar->token)) == NULL)
            goto fail;
        n->autoreg_enabled = true;
    }
    return n;
fail:
    if (err->msg[0] == '\0')
        snprintf(err->msg, sizeof(err->msg), "out of memory");
    lapi_netcfg_free(n);
    return NULL;
}

void
lapi_netcfg_free(struct lapi_netcfg *n)
{
    if (n == NULL)
        return;
    free(n->trusted_ips);
    free(n->trusted_proxies);
    free(n->autoreg_ranges);
    if (n->autoreg_token != NULL) {
        explicit_bzero(n->autoreg_token, strlen(n->autoreg_token));
        free(n->autoreg_token);
    }
    free(n);
}

static bool
in_ranges(const struct ip_range *v, size_t n, const struct ip_addr *ip)
{
    for (size_t i = 0; i < n; i++) {
        if (ip_range_contains(&v[i], ip))
            return true;
    }
    return false;
}

bool
lapi_netcfg_trusted(const struct lapi_netcfg *n, const struct ip_addr *ip)
{
    static const uint8_t v6_loopback[16] = { [15] = 1 };
    static const uint8_t v4_loopback[16] = { [10] = 0xff, [11] = 0xff, [12] = 127, [15] = 1 };

    if (ip->family == IP_V4 && memcmp(ip->bytes, v4_loopback, 16) == 0)
        return true;
    if (ip->family == IP_V6 && memcmp(ip->bytes, v6_loopback, 16) == 0)
        return true;
    return n != NULL && in_ranges(n->trusted_ips, n->ntrusted_ips, ip);
}

static bool
is_space(char c)
{
    return c == ' ' || c == '\t';
}

/*
 * gin's validateHeader: the comma-separated list walked from the right;
 * the first address that is not a trusted proxy (or the leftmost one) is
 * the client. false when an item does not parse.
 */
static bool
walk_header(const struct lapi_netcfg *n, const char *h, struct ip_addr *ret)
{
    const char *end = h + strlen(h);
    for (int hops = 0; hops < XFF_MAX_HOPS; hops++) {
        const char *start = end;
        while (start > h && start[-1] != ',')
            start--;
        const char *a = start, *b = end;
        while (a < b && is_space(*a))
            a++;
        while (b > a && is_space(b[-1]))
            b--;
        struct ip_addr ip;
        if (b == a || ip_parse(a, (size_t)(b - a), &ip) != 0)
            return false;
        if (start == h || !in_ranges(n->trusted_proxies, n->ntrusted_proxies, &ip)) {
            *ret = ip;
            return true;
        }
        end = start - 1;
    }
    return false;
}

void
lapi_netcfg_client_ip(const struct lapi_netcfg *n, const struct ip_addr *peer, const char *xff,
                      const char *x_real_ip, struct ip_addr *ret)
{
    *ret = *peer;
    if (n == NULL || n->ntrusted_proxies == 0 || peer->family == 0 ||
        !in_ranges(n->trusted_proxies, n->ntrusted_proxies, peer))
        return;
    if (xff != NULL && xff[0] != '\0' && walk_header(n, xff, ret))
        return;
    if (x_real_ip != NULL && x_real_ip[0] != '\0' && walk_header(n, x_real_ip, ret))
        return;
    *ret = *peer;
}

int
lapi_netcfg_autoregister(const struct lapi_netcfg *n, const char *token,
                         const struct ip_addr *client, char *msg, size_t msglen)
{
    if (n == NULL || !n->autoreg_enabled || client->family == 0 || token == NULL ||
        token[0] == '\0')
        return 0;
    size_t tl = strlen(token), ml = strlen(n->autoreg_token);
    if (tl != ml || CRYPTO_memcmp(token, n->autoreg_token, ml) != 0) {
        snprintf(msg, msglen, "invalid token for auto registration");
        return -1;
    }
    if (!in_ranges(n->autoreg_ranges, n->nautoreg_ranges, client)) {
        snprintf(msg, msglen, "IP not in allowed range for auto registration");
        return -1;
    }
    return 1;
}

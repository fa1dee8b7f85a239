/*
 * gen_logs.c - the deterministic log generator of the parse benchmark.
 *
 * `gen_logs sshd|nginx LINES [SEED]` writes LINES lines to stdout: an OpenSSH
 * auth log in syslog format (failed passwords, invalid users, accepted logins,
 * disconnects, PAM sessions, scanners) or an nginx access log in the combined
 * format (pages, assets, API calls, redirects, 404s, bots and a few percent of
 * attacks: SQL injection, XSS, path traversal, scanners' favourite paths).
 * The same LINES and SEED always give the same bytes (a xoshiro256** PRNG
 * seeded through splitmix64, our own clock arithmetic), so that Phalanx and
 * CrowdSec are measured on the same input, run after run. Timestamps advance
 * from 2024-03-01 by 0-1 s per line, so 1M lines stay inside one year (a
 * yearless syslog date never crosses New Year).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GEN_MAX_LINES 100000000ULL

static uint64_t rng_state[4];

static uint64_t
splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t
rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static uint64_t
rng_next(void)
{
    uint64_t result = rotl(rng_state[1] * 5, 7) * 9;
    uint64_t t = rng_state[1] << 17;
    rng_state[2] ^= rng_state[0];
    rng_state[3] ^= rng_state[1];
    rng_state[1] ^= rng_state[2];
    rng_state[0] ^= rng_state[3];
    rng_state[2] ^= t;
    rng_state[3] = rotl(rng_state[3], 45);
    return result;
}

/* Uniform in [0, n) (n > 0); the modulo bias is irrelevant for a benchmark input. */
static uint32_t
rng_below(uint32_t n)
{
    return (uint32_t)((rng_next() >> 32) % n);
}

static void
rng_seed(uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        rng_state[i] = splitmix64(&seed);
}

#define PICK(arr) (arr)[rng_below((uint32_t)(sizeof(arr) / sizeof((arr)[0])))]

static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

struct civil {
    int year, month, day, hour, min, sec;
};

/* Seconds since the Unix epoch to a UTC calendar date (Howard Hinnant's days_from_civil inverse).
 */
static void
civil_from_unix(int64_t t, struct civil *c)
{
    int64_t days = t / 86400, rem = t % 86400;
    days += 719468;
    int64_t era = days / 146097;
    int64_t doe = days - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t d = doy - (153 * mp + 2) / 5 + 1;
    int64_t m = mp < 10 ? mp + 3 : mp - 9;
    c->year = (int)(yoe + era * 400 + (m <= 2));
    c->month = (int)m;
    c->day = (int)d;
    c->hour = (int)(rem / 3600);
    c->min = (int)(rem % 3600 / 60);
    c->sec = (int)(rem % 60);
}

/* A public-looking IPv4 address: avoids 0/8, 10/8, 127/8 and multicast. */
static void
random_public_ip(char *buf, size_t n)
{
    static const uint8_t firsts[] = { 1,   2,   5,   23,  31,  37,  45,  46,  49,  51,  58,  59,
                                      61,  77,  78,  80,  81,  82,  85,  88,  89,  91,  92,  93,
                                      94,  95,  103, 104, 107, 109, 110, 112, 113, 114, 116, 117,
                                      118, 119, 121, 122, 123, 124, 125, 134, 138, 139, 141, 142,
                                      143, 147, 151, 154, 159, 162, 164, 165, 167, 170, 171, 175,
                                      176, 177, 178, 179, 180, 181, 182, 183, 185, 186, 187, 188,
                                      189, 190, 191, 193, 194, 195, 196, 197, 200, 201, 202, 203,
                                      210, 211, 212, 213, 217, 218, 219, 220, 221, 222, 223 };
    snprintf(buf, n, "%u.%u.%u.%u", (unsigned)PICK(firsts), rng_below(256), rng_below(256),
             1 + rng_below(254));
}

#define ATTACKERS 3000
#define CLIENTS   400
#define ADMINS    24

static char attacker_ips[ATTACKERS][16];
static char client_ips[CLIENTS][16];
static char admin_ips[ADMINS][16];

static void
make_pools(void)
{
    for (int i = 0; i < ATTACKERS; i++)
        random_public_ip(attacker_ips[i], sizeof(attacker_ips[i]));
    for (int i = 0; i < CLIENTS; i++)
        random_public_ip(client_ips[i], sizeof(client_ips[i]));
    for (int i = 0; i < ADMINS; i++) {
        if (i % 3 == 0)
            snprintf(admin_ips[i], sizeof(admin_ips[i]), "10.%u.%u.%u", rng_below(256),
                     rng_below(256), 1 + rng_below(254));
        else
            random_public_ip(admin_ips[i], sizeof(admin_ips[i]));
    }
}

/* Attackers come back: a small hot set makes most of the traffic, as in real brute force. */
static const char *
attacker(void)
{
    if (rng_below(4) != 0)
        return attacker_ips[rng_below(ATTACKERS / 20)];
    return attacker_ips[rng_below(ATTACKERS)];
}

static const char *const attack_users[] = {
    "root",     "admin",         "test",     "user",    "ubuntu",    "oracle",
    "postgres", "git",           "ftpuser",  "guest",   "pi",        "support",
    "mysql",    "deploy",        "jenkins",  "hadoop",  "nagios",    "devops",
    "centos",   "ec2-user",      "www-data", "tomcat",  "minecraft", "steam",
    "debian",   "kafka",         "elastic",  "vagrant", "odoo",      "sysadmin",
    "1234",     "administrator",
};
static const char *const real_users[] = { "alice", "bob", "carol", "deploy", "backup", "ops" };
static const char *const hosts[] = { "web-01", "web-02", "bastion", "db-primary", "scw-d95986" };

static int
gen_sshd_line(char *buf, size_t n, int64_t t)
{
    struct civil c;
    char head[96], msg[512];
    const char *ip;
    unsigned port = 1024 + rng_below(64511);
    unsigned r = rng_below(1000);

    civil_from_unix(t, &c);
    /* Syslog's day is space-padded to two columns: "Mar  1". */
    snprintf(head, sizeof(head), "%s %2d %02d:%02d:%02d %s sshd[%u]:", months[c.month - 1], c.day,
             c.hour, c.min, c.sec, PICK(hosts), 1000 + rng_below(60000));
    if (r < 220) {
        ip = attacker();
        snprintf(msg, sizeof(msg), "Failed password for invalid user %s from %s port %u ssh2",
                 PICK(attack_users), ip, port);
    } else if (r < 380) {
        snprintf(msg, sizeof(msg), "Failed password for %s from %s port %u ssh2",
                 rng_below(3) ? "root" : PICK(attack_users), attacker(), port);
    } else if (r < 520) {
        snprintf(msg, sizeof(msg), "Invalid user %s from %s port %u", PICK(attack_users),
                 attacker(), port);
    } else if (r < 600) {
        snprintf(msg, sizeof(msg),
                 "Connection closed by authenticating user %s %s port %u [preauth]",
                 PICK(attack_users), attacker(), port);
    } else if (r < 660) {
        snprintf(msg, sizeof(msg), "Disconnected from invalid user %s %s port %u [preauth]",
                 PICK(attack_users), attacker(), port);
    } else if (r < 730) {
        snprintf(msg, sizeof(msg), "Received disconnect from %s port %u:11: Bye Bye [preauth]",
                 attacker(), port);
    } else if (r < 760) {
        snprintf(msg, sizeof(msg), "Did not receive identification string from %s port %u",
                 attacker(), port);
    } else if (r < 780) {
        snprintf(msg, sizeof(msg),
                 "Unable to negotiate with %s port %u: no matching key exchange method found. "
                 "Their offer: diffie-hellman-group1-sha1 [preauth]",
                 attacker(), port);
    } else if (r < 800) {
        snprintf(msg, sizeof(msg),
                 "error: maximum authentication attempts exceeded for %s from %s port %u ssh2 "
                 "[preauth]",
                 PICK(attack_users), attacker(), port);
    } else if (r < 860) {
        snprintf(msg, sizeof(msg),
                 "Accepted publickey for %s from %s port %u ssh2: ED25519 "
                 "SHA256:%016" PRIx64 "%016" PRIx64,
                 PICK(real_users), admin_ips[rng_below(ADMINS)], port, rng_next(), rng_next());
    } else if (r < 880) {
        snprintf(msg, sizeof(msg), "Accepted password for %s from %s port %u ssh2",
                 PICK(real_users), admin_ips[rng_below(ADMINS)], port);
    } else if (r < 900) {
        /* A legitimate user's typo. */
        snprintf(msg, sizeof(msg), "Failed password for %s from %s port %u ssh2", PICK(real_users),
                 admin_ips[rng_below(ADMINS)], port);
    } else if (r < 940) {
        snprintf(msg, sizeof(msg),
                 "pam_unix(sshd:session): session opened for user %s(uid=%u) "
                 "by (uid=0)",
                 PICK(real_users), 1000 + rng_below(8));
    } else if (r < 970) {
        snprintf(msg, sizeof(msg), "pam_unix(sshd:session): session closed for user %s",
                 PICK(real_users));
    } else {
        snprintf(msg, sizeof(msg),
                 "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh "
                 "ruser= rhost=%s  user=%s",
                 attacker(), rng_below(2) ? "root" : PICK(attack_users));
    }
    return snprintf(buf, n, "%s %s\n", head, msg);
}

static const char *const pages[] = {
    "/",
    "/index.html",
    "/about",
    "/contact",
    "/blog",
    "/blog/2024/02/release-notes",
    "/docs/getting-started",
    "/docs/configuration",
    "/pricing",
    "/login",
    "/account/settings",
    "/search",
    "/products",
    "/cart",
    "/checkout",
    "/api/v1/items",
    "/api/v1/users/me",
    "/feed.xml",
    "/sitemap.xml",
    "/robots.txt",
};
static const char *const assets[] = {
    "/static/css/main.css",      "/static/js/app.js",     "/static/js/vendor.js",
    "/static/img/logo.png",      "/static/img/hero.jpg",  "/favicon.ico",
    "/static/fonts/inter.woff2", "/static/img/icons.svg",
};
static const char *const attacks[] = {
    "/wp-login.php",
    "/wp-admin/admin-ajax.php",
    "/xmlrpc.php",
    "/.env",
    "/.git/config",
    "/phpmyadmin/index.php",
    "/admin/config.php",
    "/cgi-bin/.%2e/.%2e/.%2e/.%2e/bin/sh",
    "/index.php?page=../../../../etc/passwd",
    "/download?file=..%2f..%2f..%2fetc%2fshadow",
    "/products?id=1%27%20OR%20%271%27=%271",
    "/search?q=1%20UNION%20SELECT%20username,password%20FROM%20users--",
    "/search?q=%3Cscript%3Ealert(document.cookie)%3C/script%3E",
    "/comment?text=%22%3E%3Cimg%20src=x%20onerror=alert(1)%3E",
    "/shell.php?cmd=id",
    "/solr/admin/info/system?wt=json",
    "/actuator/env",
    "/vendor/phpunit/phpunit/src/Util/PHP/eval-stdin.php",
    "/boaform/admin/formLogin",
    "/HNAP1/",
};
static const char *const browsers[] = {
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/121.0.0.0 Safari/537.36"),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "Version/17.2 Safari/605.1.15"),
    "Mozilla/5.0 (X11; Linux x86_64; rv:122.0) Gecko/20100101 Firefox/122.0",
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
     "Gecko) Version/17.2 Mobile/15E148 Safari/604.1"),
    ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/121.0.0.0 Mobile Safari/537.36"),
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
    "curl/8.5.0",
    "python-requests/2.31.0",
};
static const char *const attack_agents[] = {
    "sqlmap/1.7.12#stable (https://sqlmap.org)",
    "Mozilla/5.00 (Nikto/2.5.0) (Evasions:None) (Test:000001)",
    "Mozilla/5.0 zgrab/0.x",
    "masscan/1.3 (https://github.com/robertdavidgraham/masscan)",
    "Go-http-client/1.1",
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/121.0.0.0 Safari/537.36"),
};
static const char *const referers[] = {
    "-",
    "-",
    "-",
    "https://www.google.com/",
    "https://example.org/",
    "https://example.org/blog",
    "https://duckduckgo.com/",
};

static int
gen_nginx_line(char *buf, size_t n, int64_t t)
{
    struct civil c;
    char path[256];
    const char *ip, *verb = "GET", *ua, *ref = PICK(referers);
    unsigned status, bytes;
    unsigned r = rng_below(1000);

    civil_from_unix(t, &c);
    if (r < 50) {
        /* Attacks and scanners: mostly 404/403, from the attacker pool. */
        ip = attacker();
        snprintf(path, sizeof(path), "%s", PICK(attacks));
        ua = PICK(attack_agents);
        status = rng_below(5) ? 404 : 403;
        if (rng_below(10) == 0)
            verb = "POST";
        bytes = 150 + rng_below(400);
        ref = "-";
    } else {
        ip = client_ips[rng_below(CLIENTS)];
        ua = PICK(browsers);
        unsigned k = rng_below(100);
        if (k < 45) {
            snprintf(path, sizeof(path), "%s", PICK(assets));
        } else if (k < 60) {
            snprintf(path, sizeof(path), "/api/v1/items/%u?page=%u&sort=%s", rng_below(50000),
                     1 + rng_below(20), rng_below(2) ? "asc" : "desc");
        } else if (k < 70) {
            snprintf(path, sizeof(path), "/blog/%u/%02u/post-%u", 2019 + rng_below(6),
                     1 + rng_below(12), rng_below(900));
        } else {
            snprintf(path, sizeof(path), "%s", PICK(pages));
        }
        unsigned s = rng_below(1000);
        status = s < 780   ? 200
                 : s < 850 ? 304
                 : s < 900 ? 301
                 : s < 920 ? 302
                 : s < 975 ? 404
                 : s < 985 ? 403
                 : s < 995 ? 500
                           : 502;
        unsigned v = rng_below(100);
        verb = v < 88 ? "GET" : v < 96 ? "POST" : v < 98 ? "HEAD" : v < 99 ? "PUT" : "OPTIONS";
        bytes = status == 304 ? 0 : 200 + rng_below(250000);
    }
    return snprintf(buf, n,
                    "%s - - [%02d/%s/%d:%02d:%02d:%02d +0000] \"%s %s HTTP/1.1\" %u %u "
                    "\"%s\" \"%s\"\n",
                    ip, c.day, months[c.month - 1], c.year, c.hour, c.min, c.sec, verb, path,
                    status, bytes, ref, ua);
}

int
main(int argc, char **argv)
{
    char line[2048];
    char *end = NULL;
    int64_t t = 1709251200; /* 2024-03-01T00:00:00Z */

    if (argc < 3 || argc > 4 || (strcmp(argv[1], "sshd") != 0 && strcmp(argv[1], "nginx") != 0)) {
        fprintf(stderr, "usage: gen_logs sshd|nginx LINES [SEED]\n");
        return 2;
    }
    errno = 0;
    unsigned long long lines = strtoull(argv[2], &end, 10);
    if (errno != 0 || *end != '\0' || lines > GEN_MAX_LINES) {
        fprintf(stderr, "gen_logs: LINES must be an integer <= %llu\n", GEN_MAX_LINES);
        return 2;
    }
    uint64_t seed = 42;
    if (argc == 4) {
        errno = 0;
        seed = strtoull(argv[3], &end, 10);
        if (errno != 0 || *end != '\0') {
            fprintf(stderr, "gen_logs: SEED must be an integer\n");
            return 2;
        }
    }
    rng_seed(seed);
    make_pools();
    int nginx = strcmp(argv[1], "nginx") == 0;
    for (unsigned long long i = 0; i < lines; i++) {
        int len =
            nginx ? gen_nginx_line(line, sizeof(line), t) : gen_sshd_line(line, sizeof(line), t);
        if (len < 0 || (size_t)len >= sizeof(line))
            return 1;
        if (fwrite(line, 1, (size_t)len, stdout) != (size_t)len) {
            perror("gen_logs: write");
            return 1;
        }
        t += rng_below(2);
    }
    if (fflush(stdout) != 0) {
        perror("gen_logs: write");
        return 1;
    }
    return 0;
}

/*
 * config.c - the parts of CrowdSec's config.yaml the Local API reads:
 * api.server (enable, listen_uri, profiles_path, tls, trusted_ips,
 * trusted_proxies, use_forwarded_for_headers, auto_registration) and db_config (type,
 * db_path for SQLite; host, port, user, password, db_name, sslmode for
 * PostgreSQL, turned into a libpq conninfo with every value quoted; flush).
 * Other sections and keys belong to other modules and are left alone.
 */
#include "config/config.h"
#include "lapi/internal.h"

#include "common/gotime.h"

#define CONFIG_MAX_BYTES ((size_t)4 * 1024 * 1024)

static const char *scalar(const struct ynode *map, const char *key);

static void
strlist_clear(struct lapi_strlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

void
lapi_config_clear(struct lapi_config *c)
{
    free(c->listen_uri);
    free(c->profiles_path);
    free(c->db_type);
    free(c->db_dsn);
    free(c->tls.cert_file);
    free(c->tls.key_file);
    free(c->tls.ca_cert_path);
    free(c->tls.crl_path);
    strlist_clear(&c->tls.agents_allowed_ou);
    strlist_clear(&c->tls.bouncers_allowed_ou);
    strlist_clear(&c->trusted_ips);
    strlist_clear(&c->trusted_proxies);
    if (c->auto_registration.token != NULL) {
        explicit_bzero(c->auto_registration.token, strlen(c->auto_registration.token));
        free(c->auto_registration.token);
    }
    strlist_clear(&c->auto_registration.allowed_ranges);
    memset(c, 0, sizeof(*c));
}

/*
 * A YAML sequence of scalars (or one scalar) into *ret, replacing it; an
 * absent or null key leaves *ret alone. -1 with a message on another shape.
 */
static int
strlist_get(const struct ynode *map, const char *key, const char *path, const char *what,
            struct lapi_strlist *ret, struct lapi_error *err)
{
    const struct ynode *v = ynode_map_get(map, key);
    struct lapi_strlist l = { 0 };

    if (v == NULL || ynode_is_null(v))
        return 0;
    size_t n = v->type == YNODE_SEQ ? v->n : 1;
    if (v->type == YNODE_MAP) {
        snprintf(err->msg, sizeof(err->msg), "%s:%d: %s must be a list", path, v->line, what);
        return -1;
    }
    if ((l.v = calloc(n > 0 ? n : 1, sizeof(*l.v))) == NULL)
        goto oom;
    for (size_t i = 0; i < n; i++) {
        const struct ynode *it = v->type == YNODE_SEQ ? v->items[i] : v;
        if (it == NULL || it->type != YNODE_SCALAR) {
            snprintf(err->msg, sizeof(err->msg), "%s:%d: %s must be a list of strings", path,
                     it != NULL ? it->line : v->line, what);
            strlist_clear(&l);
            return -1;
        }
        if ((l.v[l.n] = strdup(it->str)) == NULL)
            goto oom;
        l.n++;
    }
    strlist_clear(ret);
    *ret = l;
    return 0;
oom:
    strlist_clear(&l);
    snprintf(err->msg, sizeof(err->msg), "out of memory");
    return -1;
}

/* Replaces *l (which may hold an empty list's array) with the one string s. */
static int
strlist_set1(struct lapi_strlist *l, const char *s)
{
    struct lapi_strlist one = { 0 };

    if ((one.v = calloc(1, sizeof(*one.v))) == NULL || (one.v[0] = strdup(s)) == NULL) {
        free(one.v);
        return -1;
    }
    one.n = 1;
    strlist_clear(l);
    *l = one;
    return 0;
}

static int
dup_opt(const char *s, char **ret)
{
    *ret = NULL;
    return s != NULL && s[0] != '\0' && (*ret = strdup(s)) == NULL ? -1 : 0;
}

/* TLSAuth.setAllowedOu: no empty entry. */
static int
check_ous(const struct lapi_strlist *l, const char *path, struct lapi_error *err)
{
    for (size_t i = 0; i < l->n; i++) {
        if (l->v[i][0] == '\0') {
            snprintf(err->msg, sizeof(err->msg),
                     "%s: allowed_ou configuration contains invalid empty string", path);
            return -1;
        }
    }
    return 0;
}

static const struct {
    const char *name;
    enum lapi_client_verification v;
} verifications[] = {
    { "NoClientCert", LAPI_TLS_NO_CLIENT_CERT },
    { "RequestClientCert", LAPI_TLS_REQUEST_CLIENT_CERT },
    { "RequireAnyClientCert", LAPI_TLS_REQUIRE_ANY_CLIENT_CERT },
    { "VerifyClientCertIfGiven", LAPI_TLS_VERIFY_IF_GIVEN },
    { "RequireAndVerifyClientCert", LAPI_TLS_REQUIRE_AND_VERIFY },
};

/* api.server.tls, trusted_ips, trusted_proxies, auto_registration. */
static int
load_server_extras(const struct ynode *server, const char *path, struct lapi_config *c,
                   struct lapi_error *err)
{
    const struct ynode *tls = ynode_map_get(server, "tls");
    const struct ynode *ar = ynode_map_get(server, "auto_registration");

    if (strlist_set1(&c->tls.agents_allowed_ou, "agent-ou") != 0 ||
        strlist_set1(&c->tls.bouncers_allowed_ou, "bouncer-ou") != 0)
        goto oom;
    if (tls != NULL && !ynode_is_null(tls)) {
        const char *cv = scalar(tls, "client_verification");
        if (dup_opt(scalar(tls, "cert_file"), &c->tls.cert_file) != 0 ||
            dup_opt(scalar(tls, "key_file"), &c->tls.key_file) != 0 ||
            dup_opt(scalar(tls, "ca_cert_path"), &c->tls.ca_cert_path) != 0 ||
            dup_opt(scalar(tls, "crl_path"), &c->tls.crl_path) != 0)
            goto oom;
        if (cv != NULL && cv[0] != '\0') {
            size_t i;
            for (i = 0; i < ARRAY_SIZE(verifications); i++) {
                if (strcmp(cv, verifications[i].name) == 0)
                    break;
            }
            if (i == ARRAY_SIZE(verifications)) {
                snprintf(err->msg, sizeof(err->msg),
                         "%s: unknown TLS client_verification value: %.100s", path, cv);
                return -1;
            }
            c->tls.client_verification = verifications[i].v;
        }
        if (strlist_get(tls, "agents_allowed_ou", path, "api.server.tls.agents_allowed_ou",
                        &c->tls.agents_allowed_ou, err) != 0 ||
            strlist_get(tls, "bouncers_allowed_ou", path, "api.server.tls.bouncers_allowed_ou",
                        &c->tls.bouncers_allowed_ou, err) != 0 ||
            check_ous(&c->tls.agents_allowed_ou, path, err) != 0 ||
            check_ous(&c->tls.bouncers_allowed_ou, path, err) != 0)
            return -1;
        if ((c->tls.cert_file != NULL) != (c->tls.key_file != NULL)) {
            snprintf(err->msg, sizeof(err->msg), "%s: missing TLS %s file", path,
                     c->tls.key_file == NULL ? "key" : "cert");
            return -1;
        }
    }
    if (strlist_get(server, "trusted_ips", path, "api.server.trusted_ips", &c->trusted_ips, err) !=
            0 ||
        strlist_get(server, "trusted_proxies", path, "api.server.trusted_proxies",
                    &c->trusted_proxies, err) != 0)
        return -1;
    /* CrowdSec: use_forwarded_for_headers without trusted_proxies trusts 0.0.0.0/0. */
    const struct ynode *uff = ynode_map_get(server, "use_forwarded_for_headers");
    if (uff != NULL && ynode_bool_value(uff) == 1 && c->trusted_proxies.n == 0 &&
        strlist_set1(&c->trusted_proxies, "0.0.0.0/0") != 0)
        goto oom;
    if (ar != NULL && !ynode_is_null(ar)) {
        const struct ynode *en = ynode_map_get(ar, "enabled");
        if (en != NULL && !ynode_is_null(en)) {
            int b = ynode_bool_value(en);
            if (b < 0) {
                snprintf(err->msg, sizeof(err->msg),
                         "%s:%d: api.server.auto_registration.enabled must be a boolean", path,
                         en->line);
                return -1;
            }
            c->auto_registration.enabled = b == 1;
        }
        if (dup_opt(scalar(ar, "token"), &c->auto_registration.token) != 0)
            goto oom;
        if (strlist_get(ar, "allowed_ranges", path, "api.server.auto_registration.allowed_ranges",
                        &c->auto_registration.allowed_ranges, err) != 0)
            return -1;
    }
    /* The same checks lapi_start() makes, so a bad file is reported at load time. */
    struct lapi_netcfg *n = lapi_netcfg_new(c, err);
    if (n == NULL) {
        char tmp[sizeof(err->msg)];
        snprintf(tmp, sizeof(tmp), "%s", err->msg);
        snprintf(err->msg, sizeof(err->msg), "%s: %.400s", path, tmp);
        return -1;
    }
    lapi_netcfg_free(n);
    return 0;
oom:
    snprintf(err->msg, sizeof(err->msg), "out of memory");
    return -1;
}

static const char *
scalar(const struct ynode *map, const char *key)
{
    const struct ynode *v = ynode_map_get(map, key);
    if (v == NULL || v->type != YNODE_SCALAR || ynode_is_null(v))
        return NULL;
    return v->str;
}

/* Appends " key='value'" with libpq's quoting (backslash before ' and \). */
static int
conninfo_add(char *buf, size_t size, size_t *len, const char *key, const char *value)
{
    if (value == NULL || value[0] == '\0')
        return 0;
    int n = snprintf(buf + *len, size - *len, "%s%s='", *len > 0 ? " " : "", key);
    if (n < 0 || (size_t)n >= size - *len)
        return -1;
    *len += (size_t)n;
    for (const char *p = value; *p != '\0'; p++) {
        if (*len + 3 >= size)
            return -1;
        if (*p == '\'' || *p == '\\')
            buf[(*len)++] = '\\';
        buf[(*len)++] = *p;
    }
    buf[(*len)++] = '\'';
    buf[*len] = '\0';
    return 0;
}

/* A duration key of db_config.flush (Go syntax, "d" accepted) into *ret; absent leaves it. */
static int
flush_duration(const struct ynode *map, const char *key, const char *what, const char *path,
               int64_t *ret, struct lapi_error *err)
{
    const char *v = scalar(map, key);
    int64_t ns = 0;

    if (v == NULL)
        return 0;
    if (gotime_parse_duration_days(v, strlen(v), &ns) != 0 || ns < 0) {
        snprintf(err->msg, sizeof(err->msg), "%s: db_config.flush.%s: invalid duration '%.100s'",
                 path, what, v);
        return -1;
    }
    *ret = ns;
    return 0;
}

/* db_config.flush, as CrowdSec's StartFlushScheduler reads it. */
static int
load_flush(const struct ynode *db, const char *path, struct lapi_flush_config *f,
           struct lapi_error *err)
{
    const struct ynode *fl = ynode_map_get(db, "flush");
    const struct ynode *ag, *bo;
    const char *mi;

    f->interval = (int64_t)60 * 1000000000;
    if (fl == NULL || fl->type != YNODE_MAP)
        return 0;
    f->enabled = true;
    if ((mi = scalar(fl, "max_items")) != NULL) {
        char *end = NULL;
        errno = 0;
        long long n = strtoll(mi, &end, 10);
        if (errno != 0 || end == mi || *end != '\0' || n <= 0) {
            snprintf(err->msg, sizeof(err->msg),
                     "%s: db_config.flush.max_items can't be zero or negative (%.60s)", path, mi);
            return -1;
        }
        f->max_items = n;
    }
    ag = ynode_map_get(fl, "agents_autodelete");
    bo = ynode_map_get(fl, "bouncers_autodelete");
    if (flush_duration(fl, "max_age", "max_age", path, &f->max_age, err) != 0 ||
        flush_duration(fl, "interval", "interval", path, &f->interval, err) != 0 ||
        flush_duration(ag, "cert", "agents_autodelete.cert", path, &f->agents_cert, err) != 0 ||
        flush_duration(ag, "login_password", "agents_autodelete.login_password", path,
                       &f->agents_password, err) != 0 ||
        flush_duration(bo, "cert", "bouncers_autodelete.cert", path, &f->bouncers_cert, err) != 0 ||
        flush_duration(bo, "api_key", "bouncers_autodelete.api_key", path, &f->bouncers_api_key,
                       err) != 0)
        return -1;
    if (f->interval <= 0) {
        snprintf(err->msg, sizeof(err->msg), "%s: db_config.flush.interval must be positive", path);
        return -1;
    }
    f->agents_api_key = scalar(ag, "api_key") != NULL;
    f->bouncers_password = scalar(bo, "login_password") != NULL;
    return 0;
}

static int
read_file(const char *path, char **ret, size_t *ret_len, struct lapi_error *err)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t len = 0;

    if (f == NULL) {
        snprintf(err->msg, sizeof(err->msg), "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    if ((buf = malloc(CONFIG_MAX_BYTES + 1)) == NULL) {
        fclose(f);
        snprintf(err->msg, sizeof(err->msg), "out of memory");
        return -1;
    }
    len = fread(buf, 1, CONFIG_MAX_BYTES + 1, f);
    bool bad = ferror(f) != 0;
    fclose(f);
    if (bad || len > CONFIG_MAX_BYTES) {
        free(buf);
        snprintf(err->msg, sizeof(err->msg), "%s: %s", path,
                 bad ? "read error" : "larger than 4 MiB");
        return -1;
    }
    buf[len] = '\0';
    *ret = buf;
    *ret_len = len;
    return 0;
}

int
lapi_config_load(const char *path, struct lapi_config *ret, struct lapi_error *err)
{
    struct lapi_config c = { .enable = true,
                             .threads = 4,
                             .max_connections = 1024,
                             .connection_timeout_sec = 30,
                             .login_rate_burst = 20,
                             .login_rate_per_minute = 120 };
    struct ytree *t = NULL;
    char *buf = NULL, yerr[256];
    size_t len;
    int line = 0, rc = -1;

    if (read_file(path, &buf, &len, err) != 0)
        return -1;
    if (ytree_parse(buf, len, &t, yerr, sizeof(yerr), &line) != 0) {
        snprintf(err->msg, sizeof(err->msg), "%s:%d: %s", path, line, yerr);
        goto out;
    }
    const struct ynode *root = t->ndocs > 0 ? t->docs[0] : NULL;
    const struct ynode *api = ynode_map_get(root, "api");
    const struct ynode *server = ynode_map_get(api, "server");
    const struct ynode *db = ynode_map_get(root, "db_config");
    const struct ynode *en = ynode_map_get(server, "enable");
    if (en != NULL && !ynode_is_null(en)) {
        int b = ynode_bool_value(en);
        if (b < 0) {
            snprintf(err->msg, sizeof(err->msg), "%s:%d: api.server.enable must be a boolean", path,
                     en->line);
            goto out;
        }
        c.enable = b == 1;
    }
    if (load_server_extras(server, path, &c, err) != 0 || load_flush(db, path, &c.flush, err) != 0)
        goto out;
    const char *s = scalar(server, "listen_uri");
    const char *prof = scalar(server, "profiles_path");
    const char *type = scalar(db, "type");
    if ((c.listen_uri = strdup(s != NULL ? s : LAPI_DEFAULT_LISTEN)) == NULL ||
        (prof != NULL && (c.profiles_path = strdup(prof)) == NULL))
        goto oom;
    if (type == NULL || strcmp(type, "sqlite") == 0) {
        const char *p = scalar(db, "db_path");
        if (p == NULL) {
            snprintf(err->msg, sizeof(err->msg), "%s: db_config.db_path is required for sqlite",
                     path);
            goto out;
        }
        if ((c.db_type = strdup("sqlite")) == NULL || (c.db_dsn = strdup(p)) == NULL)
            goto oom;
    } else if (strcmp(type, "postgres") == 0 || strcmp(type, "postgresql") == 0 ||
               strcmp(type, "pgx") == 0) {
        char ci[2048] = "";
        size_t cl = 0;
        const char *sslmode = scalar(db, "sslmode");
        if (conninfo_add(ci, sizeof(ci), &cl, "host", scalar(db, "host")) != 0 ||
            conninfo_add(ci, sizeof(ci), &cl, "port", scalar(db, "port")) != 0 ||
            conninfo_add(ci, sizeof(ci), &cl, "user", scalar(db, "user")) != 0 ||
            conninfo_add(ci, sizeof(ci), &cl, "password", scalar(db, "password")) != 0 ||
            conninfo_add(ci, sizeof(ci), &cl, "dbname", scalar(db, "db_name")) != 0 ||
            conninfo_add(ci, sizeof(ci), &cl, "sslmode", sslmode != NULL ? sslmode : "disable") !=
                0) {
            snprintf(err->msg, sizeof(err->msg), "%s: db_config is too long", path);
            goto out;
        }
        if ((c.db_type = strdup("postgres")) == NULL || (c.db_dsn = strdup(ci)) == NULL)
            goto oom;
    } else {
        snprintf(err->msg, sizeof(err->msg),
                 "%s: db_config.type '%s' is not supported (sqlite or postgres)", path, type);
        goto out;
    }
    *ret = c;
    memset(&c, 0, sizeof(c));
    rc = 0;
    goto out;
oom:
    snprintf(err->msg, sizeof(err->msg), "out of memory");
out:
    lapi_config_clear(&c);
    ytree_free(t);
    free(buf);
    return rc;
}

int
lapi_store_open(const char *config_path, struct store **ret, struct lapi_error *err)
{
    struct lapi_config c = { 0 };
    struct store_error serr = { { 0 } };
    struct store *s = NULL;

    if (lapi_config_load(config_path, &c, err) != 0)
        return -1;
    if (store_open(c.db_type, c.db_dsn, &s, &serr) != 0 || store_migrate(s, &serr) != 0) {
        snprintf(err->msg, sizeof(err->msg), "database (%s): %s", c.db_type, serr.msg);
        store_close(s);
        lapi_config_clear(&c);
        return -1;
    }
    lapi_config_clear(&c);
    *ret = s;
    return 0;
}

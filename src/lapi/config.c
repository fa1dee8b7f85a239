/*
 * config.c - the parts of CrowdSec's config.yaml the Local API reads:
 * api.server (enable, listen_uri, profiles_path) and db_config (type,
 * db_path for SQLite; host, port, user, password, db_name, sslmode for
 * PostgreSQL, turned into a libpq conninfo with every value quoted).
 * Other sections and keys belong to other modules and are left alone.
 */
#include "config/config.h"
#include "lapi/internal.h"

#define CONFIG_MAX_BYTES ((size_t)4 * 1024 * 1024)

void
lapi_config_clear(struct lapi_config *c)
{
    free(c->listen_uri);
    free(c->profiles_path);
    free(c->db_type);
    free(c->db_dsn);
    memset(c, 0, sizeof(*c));
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
    struct lapi_config c = {
        .enable = true, .threads = 4, .max_connections = 1024, .connection_timeout_sec = 30
    };
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

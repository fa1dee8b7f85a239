/*
 * index.c - the hub as data: config.yaml's paths, the .index.json items, the
 * state of each item on disk (installed symlink, local file, tainted hash)
 * and collection dependencies, computed as cscli 1.4 computes them.
 */
#include "hub/hub.h"

#include <dirent.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "common/str.h"
#include "config/config.h"

static const char *const type_names[HUB_NTYPES] = {
    [HUB_PARSERS] = "parsers",
    [HUB_POSTOVERFLOWS] = "postoverflows",
    [HUB_SCENARIOS] = "scenarios",
    [HUB_CONTEXTS] = "contexts",
    [HUB_APPSEC_CONFIGS] = "appsec-configs",
    [HUB_APPSEC_RULES] = "appsec-rules",
    [HUB_COLLECTIONS] = "collections",
};

const char *
hub_type_name(enum hub_type t)
{
    return (unsigned)t < HUB_NTYPES ? type_names[t] : "?";
}

int
hub_type_from_name(const char *name)
{
    for (int i = 0; i < HUB_NTYPES; i++) {
        if (strcmp(type_names[i], name) == 0)
            return i;
    }
    return -1;
}

bool
hub_type_has_stage(enum hub_type t)
{
    return t == HUB_PARSERS || t == HUB_POSTOVERFLOWS;
}

static void PRINTF_LIKE(2, 3) errorf(struct hub_error *err, const char *fmt, ...)
{
    if (err == NULL)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
}

static char *
xstrdup(const char *s)
{
    return s != NULL ? strdup(s) : NULL;
}

static char *
path_join(const char *dir, const char *name)
{
    size_t n = strlen(dir);
    size_t total = n + strlen(name) + 2;
    char *s = malloc(total);
    if (s != NULL)
        snprintf(s, total, "%s%s%s", dir, n > 0 && dir[n - 1] == '/' ? "" : "/", name);
    return s;
}

/* ---- config.yaml ---- */

void
hub_config_clear(struct hub_config *c)
{
    free(c->config_dir);
    free(c->data_dir);
    free(c->hub_dir);
    free(c->index_path);
    free(c->simulation_path);
    free(c->hub_branch);
    free(c->hub_url);
    free(c->data_url);
    memset(c, 0, sizeof(*c));
}

static int
get_str(const struct ynode *sec, const char *key, char **dst, const char *section,
        struct hub_error *err)
{
    const struct ynode *n = ynode_map_get(sec, key);
    if (n == NULL || ynode_is_null(n))
        return 0;
    if (n->type != YNODE_SCALAR) {
        errorf(err, "line %d: %s.%s must be a string", n->line, section, key);
        return -1;
    }
    if (n->len == 0)
        return 0;
    char *s = strdup(n->str);
    if (s == NULL) {
        errorf(err, "out of memory");
        return -1;
    }
    free(*dst);
    *dst = s;
    return 0;
}

static int
read_file(const char *path, char **ret, size_t *ret_len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return -errno;
    struct str s = { 0 };
    char buf[65536];
    size_t n;
    int rc = 0;
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
        if (s.len + n > HUB_MAX_FILE_SIZE) {
            rc = -EFBIG;
            break;
        }
        if (str_append(&s, buf, n) < 0) {
            rc = -ENOMEM;
            break;
        }
    }
    if (rc == 0 && ferror(f))
        rc = -EIO;
    fclose(f);
    if (rc == 0 && s.buf == NULL && str_append(&s, "", 0) < 0)
        rc = -ENOMEM;
    if (rc < 0) {
        str_free(&s);
        return rc;
    }
    *ret_len = s.len;
    *ret = str_steal(&s);
    return 0;
}

int
hub_config_load(const char *path, struct hub_config *ret, struct hub_error *err)
{
    struct hub_config c = { 0 };
    struct ytree *t = NULL;
    char *buf = NULL;
    size_t len = 0;
    int rc = -1;
    memset(ret, 0, sizeof(*ret));

    int r = read_file(path, &buf, &len);
    if (r < 0) {
        errorf(err, "%s: %s", path, strerror(-r));
        return -1;
    }
    char yerr[256];
    int line = 0;
    if (ytree_parse(buf, len, &t, yerr, sizeof(yerr), &line) != 0) {
        errorf(err, "%s:%d: %s", path, line, yerr);
        goto out;
    }
    const struct ynode *root = t->ndocs > 0 ? t->docs[0] : NULL;
    const struct ynode *paths = ynode_map_get(root, "config_paths");
    const struct ynode *cscli = ynode_map_get(root, "cscli");
    if (get_str(paths, "config_dir", &c.config_dir, "config_paths", err) < 0 ||
        get_str(paths, "data_dir", &c.data_dir, "config_paths", err) < 0 ||
        get_str(paths, "hub_dir", &c.hub_dir, "config_paths", err) < 0 ||
        get_str(paths, "index_path", &c.index_path, "config_paths", err) < 0 ||
        get_str(paths, "simulation_path", &c.simulation_path, "config_paths", err) < 0 ||
        get_str(cscli, "hub_branch", &c.hub_branch, "cscli", err) < 0 ||
        get_str(cscli, "hub_url", &c.hub_url, "cscli", err) < 0) {
        char msg[sizeof(err->message)];
        memcpy(msg, err->message, sizeof(msg));
        errorf(err, "%s: %.900s", path, msg);
        goto out;
    }
    if ((c.config_dir == NULL && (c.config_dir = strdup("/etc/crowdsec/")) == NULL) ||
        (c.data_dir == NULL && (c.data_dir = strdup("/var/lib/crowdsec/data/")) == NULL) ||
        (c.hub_dir == NULL && (c.hub_dir = path_join(c.config_dir, "hub")) == NULL) ||
        (c.index_path == NULL && (c.index_path = path_join(c.hub_dir, ".index.json")) == NULL) ||
        (c.simulation_path == NULL &&
         (c.simulation_path = path_join(c.config_dir, "simulation.yaml")) == NULL) ||
        (c.hub_branch == NULL && (c.hub_branch = strdup("master")) == NULL))
        goto oom;
    const char *env = getenv("PHALANX_HUB_URL");
    if (env != NULL && env[0] != '\0') {
        free(c.hub_url);
        if ((c.hub_url = strdup(env)) == NULL)
            goto oom;
    }
    if (c.hub_url == NULL) {
        char url[512];
        if ((size_t)snprintf(url, sizeof(url), "https://cdn-hub.crowdsec.net/crowdsecurity/%s",
                             c.hub_branch) >= sizeof(url)) {
            errorf(err, "%s: cscli.hub_branch is too long", path);
            goto out;
        }
        if ((c.hub_url = strdup(url)) == NULL)
            goto oom;
    }
    env = getenv("PHALANX_HUB_DATA_DIR");
    if (env != NULL && env[0] != '\0' && (c.data_url = strdup(env)) == NULL)
        goto oom;
    *ret = c;
    memset(&c, 0, sizeof(c));
    rc = 0;
    goto out;
oom:
    errorf(err, "out of memory");
out:
    hub_config_clear(&c);
    ytree_free(t);
    free(buf);
    return rc;
}

static int
config_copy(struct hub_config *dst, const struct hub_config *src)
{
    memset(dst, 0, sizeof(*dst));
    dst->config_dir = xstrdup(src->config_dir);
    dst->data_dir = xstrdup(src->data_dir);
    dst->hub_dir = xstrdup(src->hub_dir);
    dst->index_path = xstrdup(src->index_path);
    dst->simulation_path = xstrdup(src->simulation_path);
    dst->hub_branch = xstrdup(src->hub_branch);
    dst->hub_url = xstrdup(src->hub_url);
    dst->data_url = xstrdup(src->data_url);
    if ((src->config_dir && !dst->config_dir) || (src->data_dir && !dst->data_dir) ||
        (src->hub_dir && !dst->hub_dir) || (src->index_path && !dst->index_path) ||
        (src->simulation_path && !dst->simulation_path) || (src->hub_branch && !dst->hub_branch) ||
        (src->hub_url && !dst->hub_url) || (src->data_url && !dst->data_url)) {
        hub_config_clear(dst);
        return -ENOMEM;
    }
    return 0;
}

/* ---- items ---- */

static void
item_clear_state(struct hub_item *it)
{
    free(it->local_path);
    free(it->local_version);
    free(it->local_hash);
    free(it->belongs_to);
    it->local_path = it->local_version = it->local_hash = NULL;
    it->belongs_to = NULL;
    it->nbelongs = 0;
    it->installed = it->downloaded = it->tainted = it->uptodate = false;
}

static void
item_free(struct hub_item *it)
{
    item_clear_state(it);
    free(it->name);
    free(it->author);
    free(it->stage);
    free(it->fname);
    free(it->remote_path);
    free(it->version);
    free(it->description);
    for (size_t i = 0; i < it->nversions; i++) {
        free(it->versions[i].version);
        free(it->versions[i].digest);
    }
    free(it->versions);
    for (int t = 0; t < HUB_NTYPES; t++) {
        for (size_t i = 0; i < it->ndeps[t]; i++)
            free(it->deps[t][i]);
        free(it->deps[t]);
    }
    memset(it, 0, sizeof(*it));
}

struct hub *
hub_new(const struct hub_config *cfg)
{
    struct hub *h = calloc(1, sizeof(*h));
    if (h == NULL)
        return NULL;
    if (config_copy(&h->cfg, cfg) < 0) {
        free(h);
        return NULL;
    }
    return h;
}

void
hub_free(struct hub *h)
{
    if (h == NULL)
        return;
    for (size_t i = 0; i < h->nitems; i++)
        item_free(&h->items[i]);
    free(h->items);
    hub_config_clear(&h->cfg);
    free(h);
}

static int
item_cmp(const void *a, const void *b)
{
    const struct hub_item *x = a, *y = b;
    if (x->type != y->type)
        return x->type < y->type ? -1 : 1;
    int c = strcmp(x->name, y->name);
    if (c != 0)
        return c;
    /* A local file may share a hub item's name; the hub item comes first. */
    return (int)x->local - (int)y->local;
}

struct hub_item *
hub_find(const struct hub *h, enum hub_type t, const char *name)
{
    size_t lo = 0, hi = h->nitems;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const struct hub_item *it = &h->items[mid];
        int c = it->type != t ? (it->type < t ? -1 : 1) : strcmp(it->name, name);
        if (c == 0) {
            /* The first of equal names: the hub item before a local one. */
            while (mid > 0 && h->items[mid - 1].type == t &&
                   strcmp(h->items[mid - 1].name, name) == 0)
                mid--;
            return &h->items[mid];
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

static const char *
json_str(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

/* Parses one index entry into *it. 0, -ENOMEM, or -EINVAL with err. */
static int
parse_entry(enum hub_type t, const char *name, json_t *e, struct hub_item *it,
            struct hub_error *err)
{
    memset(it, 0, sizeof(*it));
    it->type = t;
    const char *path = json_str(e, "path");
    if (!json_is_object(e) || path == NULL || path[0] == '\0') {
        errorf(err, "index: %s %s has no path", type_names[t], name);
        return -EINVAL;
    }
    /* The path becomes a file name under hub_dir: it must stay inside it. */
    if (path[0] == '/' || strstr(path, "..") != NULL ||
        strncmp(path, type_names[t], strlen(type_names[t])) != 0 ||
        path[strlen(type_names[t])] != '/') {
        errorf(err, "index: %s %s has a bad path '%s'", type_names[t], name, path);
        return -EINVAL;
    }
    const char *slash = strrchr(path, '/');
    it->name = strdup(name);
    it->remote_path = strdup(path);
    it->fname = strdup(slash + 1);
    it->version = xstrdup(json_str(e, "version"));
    it->description = strdup(json_str(e, "description") ? json_str(e, "description") : "");
    it->author = xstrdup(json_str(e, "author"));
    it->stage = xstrdup(json_str(e, "stage"));
    if (!it->name || !it->remote_path || !it->fname || !it->description ||
        (json_str(e, "version") && !it->version) || (json_str(e, "author") && !it->author) ||
        (json_str(e, "stage") && !it->stage))
        return -ENOMEM;
    if (hub_type_has_stage(t) && it->stage == NULL) {
        /* Old indexes leave the stage out; it is the directory after the type. */
        const char *s = path + strlen(type_names[t]) + 1;
        const char *e2 = strchr(s, '/');
        if (e2 == NULL) {
            errorf(err, "index: %s %s has no stage", type_names[t], name);
            return -EINVAL;
        }
        if ((it->stage = strndup(s, (size_t)(e2 - s))) == NULL)
            return -ENOMEM;
    }
    if (it->stage != NULL && (strchr(it->stage, '/') != NULL || strstr(it->stage, "..") != NULL)) {
        errorf(err, "index: %s %s has a bad stage", type_names[t], name);
        return -EINVAL;
    }
    json_t *vers = json_object_get(e, "versions");
    if (json_is_object(vers) && json_object_size(vers) > 0) {
        if (json_object_size(vers) > HUB_MAX_DEPS) {
            errorf(err, "index: %s %s has too many versions", type_names[t], name);
            return -EINVAL;
        }
        it->versions = calloc(json_object_size(vers), sizeof(*it->versions));
        if (it->versions == NULL)
            return -ENOMEM;
        const char *vk;
        json_t *vv;
        json_object_foreach(vers, vk, vv)
        {
            struct hub_version *v = &it->versions[it->nversions++];
            v->version = strdup(vk);
            v->digest = xstrdup(json_str(vv, "digest"));
            v->deprecated = json_is_true(json_object_get(vv, "deprecated"));
            if (v->version == NULL || (json_str(vv, "digest") && v->digest == NULL))
                return -ENOMEM;
        }
    }
    for (int d = 0; d < HUB_NTYPES; d++) {
        json_t *arr = json_object_get(e, type_names[d]);
        if (!json_is_array(arr) || json_array_size(arr) == 0)
            continue;
        if (json_array_size(arr) > HUB_MAX_DEPS) {
            errorf(err, "index: %s %s has too many %s", type_names[t], name, type_names[d]);
            return -EINVAL;
        }
        it->deps[d] = calloc(json_array_size(arr), sizeof(char *));
        if (it->deps[d] == NULL)
            return -ENOMEM;
        size_t i;
        json_t *dv;
        json_array_foreach(arr, i, dv)
        {
            if (!json_is_string(dv))
                continue;
            if ((it->deps[d][it->ndeps[d]++] = strdup(json_string_value(dv))) == NULL)
                return -ENOMEM;
        }
    }
    return 0;
}

static void
drop_items(struct hub *h)
{
    for (size_t i = 0; i < h->nitems; i++)
        item_free(&h->items[i]);
    free(h->items);
    h->items = NULL;
    h->nitems = 0;
}

int
hub_load_index_buf(struct hub *h, const char *buf, size_t len, struct hub_error *err)
{
    json_error_t jerr;
    json_t *root = json_loadb(buf, len, 0, &jerr);
    int rc = -1;
    drop_items(h);
    if (root == NULL || !json_is_object(root)) {
        errorf(err, "index: line %d: %s", root ? 0 : jerr.line,
               root ? "not a JSON object" : jerr.text);
        goto out;
    }
    size_t total = 0;
    for (int t = 0; t < HUB_NTYPES; t++) {
        json_t *sec = json_object_get(root, type_names[t]);
        if (json_is_object(sec))
            total += json_object_size(sec);
    }
    if (total > HUB_MAX_ITEMS) {
        errorf(err, "index: %zu items, more than the limit of %d", total, HUB_MAX_ITEMS);
        goto out;
    }
    h->items = calloc(total > 0 ? total : 1, sizeof(*h->items));
    if (h->items == NULL) {
        errorf(err, "out of memory");
        goto out;
    }
    for (int t = 0; t < HUB_NTYPES; t++) {
        json_t *sec = json_object_get(root, type_names[t]);
        const char *k;
        json_t *v;
        if (!json_is_object(sec))
            continue;
        json_object_foreach(sec, k, v)
        {
            int r = parse_entry((enum hub_type)t, k, v, &h->items[h->nitems], err);
            h->nitems++;
            if (r == -ENOMEM)
                errorf(err, "out of memory");
            if (r < 0) {
                drop_items(h);
                goto out;
            }
        }
    }
    qsort(h->items, h->nitems, sizeof(*h->items), item_cmp);
    rc = 0;
out:
    json_decref(root);
    return rc;
}

int
hub_load(const struct hub_config *cfg, struct hub **ret, struct hub_error *err)
{
    char *buf = NULL;
    size_t len = 0;
    struct hub *h = hub_new(cfg);
    if (h == NULL) {
        errorf(err, "out of memory");
        return -1;
    }
    int r = read_file(cfg->index_path, &buf, &len);
    if (r < 0) {
        if (r == -ENOENT)
            errorf(err, "%s: no hub index; run 'phalanx hub update' to download it",
                   cfg->index_path);
        else
            errorf(err, "%s: %s", cfg->index_path, strerror(-r));
        goto fail;
    }
    if (hub_load_index_buf(h, buf, len, err) < 0) {
        char msg[sizeof(err->message)];
        memcpy(msg, err->message, sizeof(msg));
        errorf(err, "%s: %.900s", cfg->index_path, msg);
        goto fail;
    }
    if (hub_scan(h, err) < 0)
        goto fail;
    free(buf);
    *ret = h;
    return 0;
fail:
    free(buf);
    hub_free(h);
    return -1;
}

/* ---- state on disk ---- */

int
hub_sha256_file(const char *path, char ret_hex[65])
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return -errno;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int rc = 0;
    if (ctx == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
        rc = -ENOMEM;
        goto out;
    }
    unsigned char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
        EVP_DigestUpdate(ctx, buf, n);
    if (ferror(f)) {
        rc = -EIO;
        goto out;
    }
    unsigned char md[32];
    unsigned int mdlen = 0;
    EVP_DigestFinal_ex(ctx, md, &mdlen);
    for (size_t i = 0; i < sizeof(md); i++)
        snprintf(ret_hex + 2 * i, 3, "%02x", md[i]);
out:
    EVP_MD_CTX_free(ctx);
    fclose(f);
    return rc;
}

const char *
hub_item_latest_digest(const struct hub_item *it)
{
    for (size_t i = 0; it->version != NULL && i < it->nversions; i++) {
        if (strcmp(it->versions[i].version, it->version) == 0)
            return it->versions[i].digest;
    }
    return NULL;
}

/* Sets local_hash, local_version, tainted and uptodate of an installed item. */
static int
hash_state(struct hub_item *it)
{
    char hex[65];
    int r = hub_sha256_file(it->local_path, hex);
    if (r < 0)
        return r == -ENOMEM ? r : 0;
    if ((it->local_hash = strdup(hex)) == NULL)
        return -ENOMEM;
    const char *ver = NULL;
    for (size_t i = 0; i < it->nversions; i++) {
        if (it->versions[i].digest != NULL && strcmp(it->versions[i].digest, hex) == 0)
            ver = it->versions[i].version;
    }
    it->tainted = ver == NULL;
    if ((it->local_version = strdup(ver != NULL ? ver : "?")) == NULL)
        return -ENOMEM;
    it->uptodate = ver != NULL && it->version != NULL && strcmp(ver, it->version) == 0;
    return 0;
}

/* The item of the index whose hub file is realpath target (a symlink's), or NULL. */
static struct hub_item *
item_by_target(struct hub *h, enum hub_type t, const char *hub_real, const char *target)
{
    size_t n = strlen(hub_real);
    if (strncmp(target, hub_real, n) != 0 || target[n] != '/')
        return NULL;
    const char *rel = target + n + 1;
    for (size_t i = 0; i < h->nitems; i++) {
        struct hub_item *it = &h->items[i];
        if (it->type == t && !it->local && strcmp(it->remote_path, rel) == 0)
            return it;
    }
    return NULL;
}

static bool
is_yaml(const char *name)
{
    size_t n = strlen(name);
    return (n > 5 && strcmp(name + n - 5, ".yaml") == 0) ||
           (n > 4 && strcmp(name + n - 4, ".yml") == 0);
}

/* Appends a local item (a plain file, or a symlink out of the hub) found at path. */
static int
add_local(struct hub *h, enum hub_type t, const char *stage, const char *fname, const char *path)
{
    if (h->nitems >= (size_t)HUB_MAX_ITEMS * 2)
        return -E2BIG;
    struct hub_item *items = realloc(h->items, (h->nitems + 1) * sizeof(*items));
    if (items == NULL)
        return -ENOMEM;
    h->items = items;
    struct hub_item *it = &items[h->nitems];
    memset(it, 0, sizeof(*it));
    it->type = t;
    it->local = it->installed = it->uptodate = true;
    it->name = strdup(fname);
    it->fname = strdup(fname);
    it->stage = xstrdup(stage);
    it->description = strdup("");
    it->local_path = strdup(path);
    h->nitems++;
    if (!it->name || !it->fname || (stage && !it->stage) || !it->description || !it->local_path)
        return -ENOMEM;
    return 0;
}

/* Scans config_dir/<type>[/<stage>] for installed items. */
static int
scan_dir(struct hub *h, enum hub_type t, const char *dir, const char *stage, const char *hub_real,
         struct hub_error *err)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return 0;
    struct dirent *de;
    int rc = 0;
    size_t count = 0;
    while ((de = readdir(d)) != NULL && rc == 0) {
        if (de->d_name[0] == '.' || ++count > HUB_MAX_ITEMS)
            continue;
        char *path = path_join(dir, de->d_name);
        if (path == NULL) {
            rc = -ENOMEM;
            break;
        }
        struct stat lst, st;
        if (lstat(path, &lst) < 0) {
            free(path);
            continue;
        }
        if (S_ISDIR(lst.st_mode)) {
            if (hub_type_has_stage(t) && stage == NULL)
                rc = scan_dir(h, t, path, de->d_name, hub_real, err);
            free(path);
            continue;
        }
        if (!is_yaml(de->d_name) || stat(path, &st) < 0 || !S_ISREG(st.st_mode)) {
            free(path);
            continue;
        }
        struct hub_item *it = NULL;
        if (S_ISLNK(lst.st_mode)) {
            char *target = realpath(path, NULL);
            if (target != NULL && hub_real != NULL)
                it = item_by_target(h, t, hub_real, target);
            free(target);
        }
        if (it != NULL && !it->installed) {
            it->installed = true;
            it->local_path = path;
            path = NULL;
            rc = hash_state(it);
        } else {
            rc = add_local(h, t, stage, de->d_name, path);
        }
        free(path);
    }
    closedir(d);
    if (rc == -ENOMEM)
        errorf(err, "out of memory");
    else if (rc < 0)
        errorf(err, "%s: %s", dir, strerror(-rc));
    return rc < 0 ? -1 : 0;
}

static int
add_belongs(struct hub_item *it, const char *coll)
{
    for (size_t i = 0; i < it->nbelongs; i++) {
        if (strcmp(it->belongs_to[i], coll) == 0)
            return 0;
    }
    char **b = realloc(it->belongs_to, (it->nbelongs + 1) * sizeof(*b));
    if (b == NULL)
        return -ENOMEM;
    b[it->nbelongs++] = (char *)coll; /* borrowed from the collection item */
    it->belongs_to = b;
    return 0;
}

/*
 * An installed collection is tainted when a dependency is tainted or not
 * installed, outdated when one is outdated (cscli's CollecDepsCheck), nested
 * collections first. The belongs_to lists are filled on the way.
 */
static int
check_collection(struct hub *h, struct hub_item *c, unsigned char *done, int depth)
{
    size_t idx = (size_t)(c - h->items);
    if (done[idx] != 0 || depth > HUB_MAX_DEPTH)
        return 0;
    done[idx] = 1;
    for (int t = 0; t < HUB_NTYPES; t++) {
        for (size_t i = 0; i < c->ndeps[t]; i++) {
            struct hub_item *d = hub_find(h, (enum hub_type)t, c->deps[t][i]);
            if (d == NULL || d->local)
                continue;
            if (t == HUB_COLLECTIONS && d->installed && check_collection(h, d, done, depth + 1) < 0)
                return -ENOMEM;
            if (d->installed && add_belongs(d, c->name) < 0)
                return -ENOMEM;
            if (d->tainted || !d->installed)
                c->tainted = true;
            else if (!d->uptodate)
                c->uptodate = false;
        }
    }
    return 0;
}

int
hub_scan(struct hub *h, struct hub_error *err)
{
    /* Local items are found again by the walk below. */
    size_t keep = 0;
    for (size_t i = 0; i < h->nitems; i++) {
        if (h->items[i].local)
            item_free(&h->items[i]);
        else
            h->items[keep++] = h->items[i];
    }
    h->nitems = keep;
    for (size_t i = 0; i < h->nitems; i++) {
        struct hub_item *it = &h->items[i];
        item_clear_state(it);
        char *p = path_join(h->cfg.hub_dir, it->remote_path);
        if (p == NULL) {
            errorf(err, "out of memory");
            return -1;
        }
        it->downloaded = access(p, F_OK) == 0;
        free(p);
    }
    char *hub_real = realpath(h->cfg.hub_dir, NULL);
    int rc = 0;
    size_t nindex = h->nitems;
    for (int t = 0; t < HUB_NTYPES && rc == 0; t++) {
        char *dir = path_join(h->cfg.config_dir, type_names[t]);
        if (dir == NULL) {
            errorf(err, "out of memory");
            rc = -1;
            break;
        }
        rc = scan_dir(h, (enum hub_type)t, dir, NULL, hub_real, err);
        free(dir);
    }
    free(hub_real);
    if (rc < 0)
        return -1;
    /* Local items were appended unsorted; hub_find needs the order back. */
    if (h->nitems != nindex)
        qsort(h->items, h->nitems, sizeof(*h->items), item_cmp);
    unsigned char *done = calloc(h->nitems > 0 ? h->nitems : 1, 1);
    if (done == NULL) {
        errorf(err, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < h->nitems && rc == 0; i++) {
        struct hub_item *it = &h->items[i];
        if (it->type == HUB_COLLECTIONS && it->installed && !it->local)
            rc = check_collection(h, it, done, 0);
    }
    free(done);
    if (rc < 0) {
        errorf(err, "out of memory");
        return -1;
    }
    return 0;
}

const char *
hub_item_status(const struct hub_item *it, char *buf, size_t len)
{
    snprintf(buf, len, "%s%s%s", it->installed ? "enabled" : "disabled", it->local ? ",local" : "",
             it->tainted                   ? ",tainted"
             : !it->uptodate && !it->local ? ",update-available"
                                           : "");
    return buf;
}

/* ---- dependencies ---- */

struct resolve {
    const struct hub *h;
    struct hub_item **out;
    size_t n;
    unsigned char *mark; /* 1 = being visited, 2 = done */
    struct hub_error *err;
};

static int
resolve_item(struct resolve *r, struct hub_item *it, int depth)
{
    size_t idx = (size_t)(it - r->h->items);
    if (r->mark[idx] != 0)
        return 0; /* done, or a cycle back to an item being visited: taken once */
    if (depth > HUB_MAX_DEPTH) {
        errorf(r->err, "%s: collections nested deeper than %d", it->name, HUB_MAX_DEPTH);
        return -1;
    }
    r->mark[idx] = 1;
    for (int t = 0; t < HUB_NTYPES; t++) {
        for (size_t i = 0; i < it->ndeps[t]; i++) {
            struct hub_item *d = hub_find(r->h, (enum hub_type)t, it->deps[t][i]);
            if (d == NULL || d->local) {
                errorf(r->err, "%s needs %s %s, which is not in the hub index", it->name,
                       type_names[t], it->deps[t][i]);
                return -1;
            }
            if (resolve_item(r, d, depth + 1) < 0)
                return -1;
        }
    }
    r->mark[idx] = 2;
    r->out[r->n++] = it;
    return 0;
}

int
hub_deps_resolve(const struct hub *h, struct hub_item *it, struct hub_item ***ret, size_t *ret_n,
                 struct hub_error *err)
{
    struct resolve r = { .h = h, .err = err };
    r.out = calloc(h->nitems > 0 ? h->nitems : 1, sizeof(*r.out));
    r.mark = calloc(h->nitems > 0 ? h->nitems : 1, 1);
    if (r.out == NULL || r.mark == NULL) {
        errorf(err, "out of memory");
        goto fail;
    }
    if (resolve_item(&r, it, 0) < 0)
        goto fail;
    free(r.mark);
    *ret = r.out;
    *ret_n = r.n;
    return 0;
fail:
    free(r.out);
    free(r.mark);
    return -1;
}

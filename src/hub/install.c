/*
 * install.c - changing the hub on disk as cscli does: fetching the index and
 * items (libcurl for http(s), a copy for a local hub), their data files,
 * enabling items as symlinks, removing and upgrading them.
 *
 * Downloads land in a temporary file renamed over the target, so a failed
 * fetch never leaves a half-written item behind, and an item is enabled only
 * once its sha256 matches the index.
 */
#include "hub/hub.h"

#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "common/str.h"
#include "config/config.h"

static void PRINTF_LIKE(2, 3) errorf(struct hub_error *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
}

static void PRINTF_LIKE(2, 3) note(const struct hub_opts *o, const char *fmt, ...)
{
    if (o == NULL || o->note == NULL)
        return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    o->note(o->note_arg, msg);
}

/* dir/name into buf; -ENAMETOOLONG when it does not fit. */
static int
join(char *buf, size_t len, const char *dir, const char *name)
{
    size_t n = strlen(dir);
    if ((size_t)snprintf(buf, len, "%s%s%s", dir, n > 0 && dir[n - 1] == '/' ? "" : "/", name) >=
        len)
        return -ENAMETOOLONG;
    return 0;
}

/* mkdir -p of the directory part of path. */
static int
mkdir_parents(const char *path)
{
    char buf[PATH_MAX];
    if ((size_t)snprintf(buf, sizeof(buf), "%s", path) >= sizeof(buf))
        return -ENAMETOOLONG;
    for (char *p = buf + 1; *p != '\0'; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0755) < 0 && errno != EEXIST)
            return -errno;
        *p = '/';
    }
    return 0;
}

static bool
is_http(const char *url)
{
    return strncmp(url, "http://", 7) == 0 || strncmp(url, "https://", 8) == 0;
}

struct sink {
    FILE *f;
    size_t n;
    const struct hub_opts *o; /* its progress callback, or NULL */
};

static void
progress(const struct hub_opts *o, uint64_t done, uint64_t total)
{
    if (o != NULL && o->progress != NULL)
        o->progress(o->progress_arg, done, total);
}

/* libcurl's transfer callback: bytes received of the announced size (0 while unknown). */
static int
xfer_info(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
    (void)ultotal;
    (void)ulnow;
    const struct sink *s = arg;
    progress(s->o, dlnow > 0 ? (uint64_t)dlnow : 0, dltotal > 0 ? (uint64_t)dltotal : 0);
    return 0;
}

static size_t
sink_write(char *p, size_t size, size_t nmemb, void *arg)
{
    struct sink *s = arg;
    size_t n = size * nmemb;
    if (s->n + n > HUB_MAX_FILE_SIZE)
        return 0;
    s->n += n;
    return fwrite(p, 1, n, s->f);
}

static int
fetch_http(const char *url, FILE *f, const struct hub_opts *o, struct hub_error *err)
{
    CURL *c = curl_easy_init();
    if (c == NULL) {
        errorf(err, "%s: cannot start libcurl", url);
        return -1;
    }
    struct sink s = { .f = f, .o = o };
    char ebuf[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 20L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 300L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "phalanx/" PHALANX_VERSION);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, ebuf);
    if (o != NULL && o->progress != NULL) {
        curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, xfer_info);
        curl_easy_setopt(c, CURLOPT_XFERINFODATA, &s);
        curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    }
    CURLcode rc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(c);
    if (rc != CURLE_OK) {
        errorf(err, "%s: %s", url, ebuf[0] ? ebuf : curl_easy_strerror(rc));
        return -1;
    }
    if (status != 200) {
        errorf(err, "%s: the server answered HTTP %ld%s", url, status,
               status == 404 ? " (not found: check the hub URL, or update the index)" : "");
        return -1;
    }
    return 0;
}

static int
fetch_copy(const char *src, FILE *f, const struct hub_opts *o, struct hub_error *err)
{
    FILE *in = fopen(src, "rb");
    if (in == NULL) {
        errorf(err, "%s: %s", src, strerror(errno));
        return -1;
    }
    struct stat st;
    uint64_t size = fstat(fileno(in), &st) == 0 && st.st_size > 0 ? (uint64_t)st.st_size : 0;
    char buf[65536];
    size_t n, total = 0;
    int rc = 0;
    progress(o, 0, size);
    while ((n = fread(buf, 1, sizeof(buf), in)) > 0) {
        total += n;
        progress(o, total, size);
        if (total > HUB_MAX_FILE_SIZE || fwrite(buf, 1, n, f) != n) {
            errorf(err, "%s: %s", src, total > HUB_MAX_FILE_SIZE ? "too big" : strerror(errno));
            rc = -1;
            break;
        }
    }
    if (rc == 0 && ferror(in)) {
        errorf(err, "%s: read error", src);
        rc = -1;
    }
    fclose(in);
    return rc;
}

static int
fetch_to(const char *url, const char *dest, const struct hub_opts *o, struct hub_error *err)
{
    char tmp[PATH_MAX];
    int r = mkdir_parents(dest);
    if (r < 0 || (size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", dest) >= sizeof(tmp)) {
        errorf(err, "%s: %s", dest, strerror(r < 0 ? -r : ENAMETOOLONG));
        return -1;
    }
    FILE *f = fopen(tmp, "wb");
    if (f == NULL) {
        errorf(err, "%s: %s", tmp, strerror(errno));
        return -1;
    }
    int rc;
    if (is_http(url))
        rc = fetch_http(url, f, o, err);
    else
        rc = fetch_copy(strncmp(url, "file://", 7) == 0 ? url + 7 : url, f, o, err);
    if (fclose(f) != 0 && rc == 0) {
        errorf(err, "%s: %s", tmp, strerror(errno));
        rc = -1;
    }
    if (rc == 0 && rename(tmp, dest) < 0) {
        errorf(err, "%s: %s", dest, strerror(errno));
        rc = -1;
    }
    if (rc < 0)
        unlink(tmp);
    return rc;
}

int
hub_fetch(const char *url, const char *dest, struct hub_error *err)
{
    return fetch_to(url, dest, NULL, err);
}

/* base + "/" + rel (base may end with a slash). */
static int
url_join(char *buf, size_t len, const char *base, const char *rel)
{
    return join(buf, len, base, rel);
}

int
hub_update_index(const struct hub_config *cfg, const struct hub_opts *o, struct hub_error *err)
{
    char url[PATH_MAX], tmp[PATH_MAX];
    if (url_join(url, sizeof(url), cfg->hub_url, ".index.json") < 0 ||
        (size_t)snprintf(tmp, sizeof(tmp), "%s.new", cfg->index_path) >= sizeof(tmp)) {
        errorf(err, "%s: URL too long", cfg->hub_url);
        return -1;
    }
    if (fetch_to(url, tmp, o, err) < 0)
        return -1;
    /* A broken download must not replace a working index. */
    struct hub *h = hub_new(cfg);
    char *buf = NULL;
    int rc = -1;
    FILE *f = fopen(tmp, "rb");
    struct str s = { 0 };
    if (h == NULL || f == NULL) {
        errorf(err, "%s: %s", tmp, h == NULL ? "out of memory" : strerror(errno));
        goto out;
    }
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (str_append(&s, chunk, n) < 0) {
            errorf(err, "out of memory");
            goto out;
        }
    }
    if (hub_load_index_buf(h, s.buf != NULL ? s.buf : "", s.len, err) < 0) {
        char msg[sizeof(err->message)];
        memcpy(msg, err->message, sizeof(msg));
        errorf(err, "%s: %.900s", url, msg);
        goto out;
    }
    if (rename(tmp, cfg->index_path) < 0) {
        errorf(err, "%s: %s", cfg->index_path, strerror(errno));
        goto out;
    }
    rc = 0;
out:
    if (f != NULL)
        fclose(f);
    if (rc < 0)
        unlink(tmp);
    str_free(&s);
    free(buf);
    hub_free(h);
    return rc;
}

static int
hub_path(const struct hub *h, const struct hub_item *it, char *buf, size_t len)
{
    return join(buf, len, h->cfg.hub_dir, it->remote_path);
}

/* config_dir/<type>/[<stage>/]<fname> */
static int
link_path(const struct hub *h, const struct hub_item *it, char *buf, size_t len)
{
    size_t n = strlen(h->cfg.config_dir);
    const char *sep = n > 0 && h->cfg.config_dir[n - 1] == '/' ? "" : "/";
    int w;
    if (it->stage != NULL)
        w = snprintf(buf, len, "%s%s%s/%s/%s", h->cfg.config_dir, sep, hub_type_name(it->type),
                     it->stage, it->fname);
    else
        w = snprintf(buf, len, "%s%s%s/%s", h->cfg.config_dir, sep, hub_type_name(it->type),
                     it->fname);
    return (size_t)w >= len ? -ENAMETOOLONG : 0;
}

/* A data file's dest_file stays inside data_dir. */
static bool
safe_rel(const char *p)
{
    return p[0] != '\0' && p[0] != '/' && strstr(p, "..") == NULL;
}

/* Where a local hub keeps a data file: the mirror directory, by dest_file then its base name. */
static int
local_data_source(const struct hub *h, const char *dest_file, char *buf, size_t len)
{
    char mirror[PATH_MAX];
    if (h->cfg.data_url != NULL) {
        if ((size_t)snprintf(mirror, sizeof(mirror), "%s", h->cfg.data_url) >= sizeof(mirror))
            return -ENAMETOOLONG;
    } else {
        const char *base = h->cfg.hub_url;
        if (strncmp(base, "file://", 7) == 0)
            base += 7;
        if (join(mirror, sizeof(mirror), base, "data") < 0)
            return -ENAMETOOLONG;
    }
    const char *mbase = strncmp(mirror, "file://", 7) == 0 ? mirror + 7 : mirror;
    if (join(buf, len, mbase, dest_file) == 0 && access(buf, R_OK) == 0)
        return 0;
    const char *slash = strrchr(dest_file, '/');
    if (slash != NULL && join(buf, len, mbase, slash + 1) == 0 && access(buf, R_OK) == 0)
        return 0;
    return -ENOENT;
}

/*
 * Fetches the data files the item's YAML lists (`data:` entries with
 * source_url and dest_file, in every document) into data_dir; existing files
 * are kept unless force.
 */
static int
fetch_data(const struct hub *h, const struct hub_item *it, const char *file,
           const struct hub_opts *o, struct hub_error *err)
{
    struct ytree *t = NULL;
    FILE *f = fopen(file, "rb");
    struct str s = { 0 };
    int rc = -1;
    if (f == NULL) {
        errorf(err, "%s: %s", file, strerror(errno));
        return -1;
    }
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (s.len + n > HUB_MAX_FILE_SIZE || str_append(&s, chunk, n) < 0) {
            errorf(err, "%s: too big", file);
            goto out;
        }
    }
    char yerr[256];
    int line = 0;
    if (ytree_parse(s.buf != NULL ? s.buf : "", s.len, &t, yerr, sizeof(yerr), &line) != 0) {
        errorf(err, "%s:%d: %s", file, line, yerr);
        goto out;
    }
    for (size_t d = 0; d < t->ndocs; d++) {
        const struct ynode *data = ynode_map_get(t->docs[d], "data");
        if (data == NULL || data->type != YNODE_SEQ)
            continue;
        for (size_t i = 0; i < data->n; i++) {
            const struct ynode *src = ynode_map_get(data->items[i], "source_url");
            const struct ynode *dst = ynode_map_get(data->items[i], "dest_file");
            if (src == NULL || dst == NULL || src->type != YNODE_SCALAR ||
                dst->type != YNODE_SCALAR)
                continue;
            if (!safe_rel(dst->str)) {
                errorf(err, "%s: data file '%s' would leave the data directory", it->name,
                       dst->str);
                goto out;
            }
            char dest[PATH_MAX], from[PATH_MAX];
            if (join(dest, sizeof(dest), h->cfg.data_dir, dst->str) < 0) {
                errorf(err, "%s: path too long", dst->str);
                goto out;
            }
            if (!o->force && access(dest, F_OK) == 0)
                continue;
            if (is_http(h->cfg.hub_url) && h->cfg.data_url == NULL) {
                if ((size_t)snprintf(from, sizeof(from), "%s", src->str) >= sizeof(from)) {
                    errorf(err, "%s: URL too long", src->str);
                    goto out;
                }
            } else if (local_data_source(h, dst->str, from, sizeof(from)) < 0) {
                errorf(err,
                       "%s: data file %s (%s) is not in the local data mirror; set "
                       "PHALANX_HUB_DATA_DIR to a directory holding it",
                       it->name, dst->str, src->str);
                goto out;
            }
            if (hub_fetch(from, dest, err) < 0) {
                char msg[sizeof(err->message)];
                memcpy(msg, err->message, sizeof(msg));
                errorf(err, "while downloading data for %s: %.900s", it->fname, msg);
                goto out;
            }
            note(o, "downloaded %s", dest);
        }
    }
    rc = 0;
out:
    fclose(f);
    str_free(&s);
    ytree_free(t);
    return rc;
}

/* Downloads the latest version of it into hub_dir (checking its sha256) and its data files. */
static int
download(struct hub *h, struct hub_item *it, bool refetch, const struct hub_opts *o,
         struct hub_error *err)
{
    char dest[PATH_MAX], url[PATH_MAX], hex[65];
    const char *want = hub_item_latest_digest(it);
    if (hub_path(h, it, dest, sizeof(dest)) < 0 ||
        url_join(url, sizeof(url), h->cfg.hub_url, it->remote_path) < 0) {
        errorf(err, "%s: path too long", it->name);
        return -1;
    }
    /* The file already there at the latest version needs no download. */
    bool have = !refetch && !o->force && want != NULL && hub_sha256_file(dest, hex) == 0 &&
                strcmp(hex, want) == 0;
    if (!have) {
        char tmp[PATH_MAX + 8];
        snprintf(tmp, sizeof(tmp), "%s.dl", dest);
        if (hub_fetch(url, tmp, err) < 0)
            return -1;
        int r = hub_sha256_file(tmp, hex);
        if (r < 0 || want == NULL || strcmp(hex, want) != 0) {
            /* Never installed: what was served is not what the index vouches for. */
            errorf(err,
                   "%s: refused, hash mismatch: the index expects sha256 %s, the file "
                   "downloaded from %s has %s (the hub changed since the index was fetched, or "
                   "the download was altered: update the index and retry)",
                   it->name, want ? want : "(none)", url, r < 0 ? strerror(-r) : hex);
            unlink(tmp);
            return -1;
        }
        if (rename(tmp, dest) < 0) {
            errorf(err, "%s: %s", dest, strerror(errno));
            unlink(tmp);
            return -1;
        }
        note(o, "downloaded %s", dest);
    }
    it->downloaded = true;
    return fetch_data(h, it, dest, o, err);
}

static int
enable(struct hub *h, struct hub_item *it, const struct hub_opts *o, struct hub_error *err)
{
    char lp[PATH_MAX], target[PATH_MAX];
    if (link_path(h, it, lp, sizeof(lp)) < 0 || hub_path(h, it, target, sizeof(target)) < 0) {
        errorf(err, "%s: path too long", it->name);
        return -1;
    }
    /* The link is absolute, as cscli makes it, so it stays valid wherever config_dir moves. */
    char *abs = realpath(target, NULL);
    if (abs == NULL) {
        errorf(err, "%s: %s", target, strerror(errno));
        return -1;
    }
    struct stat st;
    int rc = 0;
    if (lstat(lp, &st) == 0) {
        if (!S_ISLNK(st.st_mode)) {
            errorf(err, "%s: a local file is there, not replacing it", lp);
            rc = -1;
            goto out;
        }
        char cur[PATH_MAX];
        ssize_t n = readlink(lp, cur, sizeof(cur) - 1);
        if (n >= 0) {
            cur[n] = '\0';
            if (strcmp(cur, abs) == 0)
                goto done;
        }
        if (unlink(lp) < 0) {
            errorf(err, "%s: %s", lp, strerror(errno));
            rc = -1;
            goto out;
        }
    }
    int r = mkdir_parents(lp);
    if (r < 0 || symlink(abs, lp) < 0) {
        errorf(err, "%s: %s", lp, strerror(r < 0 ? -r : errno));
        rc = -1;
        goto out;
    }
    note(o, "Enabled %s", it->name);
done:
    it->installed = true;
out:
    free(abs);
    return rc;
}

static int
install_one(struct hub *h, struct hub_item *it, const struct hub_opts *o, struct hub_error *err)
{
    if (it->installed && !o->force && !o->download_only) {
        note(o, "%s is already installed", it->name);
        return 0;
    }
    if (it->tainted && !o->force) {
        errorf(err, "%s is tainted, use '--force' to overwrite it", it->name);
        return -1;
    }
    if (download(h, it, false, o, err) < 0)
        return -1;
    if (o->download_only) {
        note(o, "Downloaded %s", it->name);
        return 0;
    }
    return enable(h, it, o, err);
}

int
hub_install(struct hub *h, struct hub_item *it, const struct hub_opts *o, struct hub_error *err)
{
    if (it->local) {
        errorf(err, "%s is a local item, not managed by the hub", it->name);
        return -1;
    }
    struct hub_item **list = NULL;
    size_t n = 0;
    if (hub_deps_resolve(h, it, &list, &n, err) < 0)
        return -1;
    int rc = 0;
    progress(o, 0, n);
    for (size_t i = 0; i < n && rc == 0; i++) {
        rc = install_one(h, list[i], o, err);
        if (rc == 0)
            progress(o, i + 1, n);
    }
    free(list);
    return rc;
}

/* Whether an installed collection other than `except` needs it. */
static bool
needed_elsewhere(const struct hub_item *it, const struct hub_item *except)
{
    for (size_t i = 0; i < it->nbelongs; i++) {
        if (except == NULL || strcmp(it->belongs_to[i], except->name) != 0)
            return true;
    }
    return false;
}

static int
remove_rec(struct hub *h, struct hub_item *it, const struct hub_opts *o, struct hub_error *err,
           int depth)
{
    if (depth > HUB_MAX_DEPTH) {
        errorf(err, "%s: collections nested deeper than %d", it->name, HUB_MAX_DEPTH);
        return -1;
    }
    if (it->type == HUB_COLLECTIONS) {
        /* Marked removed first, so a cycle back to it stops here. */
        it->installed = false;
        for (int t = 0; t < HUB_NTYPES; t++) {
            for (size_t i = 0; i < it->ndeps[t]; i++) {
                struct hub_item *d = hub_find(h, (enum hub_type)t, it->deps[t][i]);
                if (d == NULL || d->local || !d->installed)
                    continue;
                if (needed_elsewhere(d, it)) {
                    note(o, "%s was not removed because it belongs to another collection", d->name);
                    continue;
                }
                if (remove_rec(h, d, o, err, depth + 1) < 0)
                    return -1;
            }
        }
    }
    if (it->local_path != NULL) {
        if (unlink(it->local_path) < 0 && errno != ENOENT) {
            errorf(err, "%s: %s", it->local_path, strerror(errno));
            return -1;
        }
        note(o, "Removed symlink [%s] : %s", it->name, it->local_path);
    }
    it->installed = false;
    if (o->purge && it->downloaded) {
        char p[PATH_MAX];
        if (hub_path(h, it, p, sizeof(p)) == 0 && unlink(p) == 0)
            note(o, "Removed source file [%s] : %s", it->name, p);
        it->downloaded = false;
    }
    return 0;
}

int
hub_remove(struct hub *h, struct hub_item *it, const struct hub_opts *o, struct hub_error *err)
{
    if (it->local) {
        errorf(err, "%s isn't managed by hub. Please delete manually", it->name);
        return -1;
    }
    if (!it->installed) {
        if (o->purge && it->downloaded)
            return remove_rec(h, it, o, err, 0);
        errorf(err, "%s is not installed", it->name);
        return -1;
    }
    if (!o->force && it->nbelongs > 0) {
        struct str s = { 0 };
        for (size_t i = 0; i < it->nbelongs; i++)
            str_appendf(&s, "%s%s", i ? ", " : "", it->belongs_to[i]);
        errorf(err,
               "%s belongs to other collections: %s; run 'phalanx %s remove %s --force' to "
               "remove it anyway",
               it->name, s.buf ? s.buf : "", hub_type_name(it->type), it->name);
        str_free(&s);
        return -1;
    }
    if (it->tainted && !o->force) {
        errorf(err, "%s is tainted, use '--force' to remove it", it->name);
        return -1;
    }
    return remove_rec(h, it, o, err, 0);
}

static int
upgrade_rec(struct hub *h, struct hub_item *it, const struct hub_opts *o, struct hub_error *err,
            unsigned char *seen, int depth)
{
    size_t idx = (size_t)(it - h->items);
    if (seen[idx])
        return 0;
    seen[idx] = 1;
    if (depth > HUB_MAX_DEPTH) {
        errorf(err, "%s: collections nested deeper than %d", it->name, HUB_MAX_DEPTH);
        return -1;
    }
    if (it->local) {
        note(o, "%s is local, can't upgrade", it->name);
        return 0;
    }
    if (it->type == HUB_COLLECTIONS) {
        for (int t = 0; t < HUB_NTYPES; t++) {
            for (size_t i = 0; i < it->ndeps[t]; i++) {
                struct hub_item *d = hub_find(h, (enum hub_type)t, it->deps[t][i]);
                if (d == NULL) {
                    errorf(err, "%s needs %s %s, which is not in the hub index", it->name,
                           hub_type_name((enum hub_type)t), it->deps[t][i]);
                    return -1;
                }
                /* A dependency the new collection version added is installed. */
                int r = d->installed ? upgrade_rec(h, d, o, err, seen, depth + 1)
                                     : hub_install(h, d, o, err);
                if (r < 0)
                    return -1;
            }
        }
    }
    /* A collection's own taint comes from its dependencies, handled above. */
    bool own_taint =
        it->tainted && it->local_version != NULL && strcmp(it->local_version, "?") == 0;
    if (own_taint && !o->force) {
        note(o, "%s is tainted, use '--force' to overwrite it", it->name);
        return 0;
    }
    bool outdated = it->local_version == NULL || it->version == NULL ||
                    strcmp(it->local_version, it->version) != 0;
    if (!outdated && !o->force) {
        note(o, "%s: up-to-date", it->name);
        return 0;
    }
    if (download(h, it, true, o, err) < 0)
        return -1;
    if (enable(h, it, o, err) < 0)
        return -1;
    note(o, "%s: updated to %s", it->name, it->version ? it->version : "?");
    return 0;
}

int
hub_upgrade(struct hub *h, struct hub_item *it, const struct hub_opts *o, struct hub_error *err)
{
    if (!it->installed) {
        errorf(err, "can't upgrade %s: not installed", it->name);
        return -1;
    }
    unsigned char *seen = calloc(h->nitems > 0 ? h->nitems : 1, 1);
    if (seen == NULL) {
        errorf(err, "out of memory");
        return -1;
    }
    int rc = upgrade_rec(h, it, o, err, seen, 0);
    free(seen);
    return rc;
}

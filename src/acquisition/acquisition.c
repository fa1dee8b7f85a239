/*
 * acquisition.c - acquis.yaml and acquis.d/ read into a list of datasources,
 * and their lifecycle (CrowdSec's pkg/acquisition).
 *
 * Each YAML document is one datasource. The common keys (source, labels,
 * mode, name, log_level, use_time_machine, unique_id, transform) are decoded
 * here; the rest of the document goes to the type's table of functions in
 * internal.h, which also decodes the `type://` DSNs of `-dsn`. Decoding is
 * strict as CrowdSec's (yaml.v2 SetStrict): an unknown key, a key given
 * twice or a value of the wrong shape is an error that names file:line and
 * what was expected. As in CrowdSec, filename(s) or journalctl_filter decide
 * the type even when source: says otherwise, a document with neither labels
 * nor source is skipped, and labels are required otherwise.
 *
 * The decoding helpers exported through internal.h are shared with the
 * syslog and journalctl types so that every error reads the same way.
 */
#include "common/common.h"

#include <dirent.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include "acquisition/internal.h"
#include "common/gotime.h"

/* acquis files are a few hundred bytes; anything this big is not one. */
#define ACQ_MAX_FILE_SIZE (4u << 20)
/* Bounds what a hostile acquis.d can make us hold. */
#define ACQ_MAX_SOURCES   4096
#define ACQ_MAX_DIR_FILES 4096

struct acquisition {
    struct acq_source **v;
    bool *started; /* ops->start succeeded and ops->stop is still owed */
    size_t n, cap;
};

static const struct acq_source_ops *const registry[] = {
    &acq_file_ops,
    &acq_syslog_ops,
    &acq_journalctl_ops,
};

static const char *const common_keys[] = {
    "source", "labels", "mode", "name", "log_level", "use_time_machine", "unique_id", "transform"
};

static const char *const log_levels[] = { "panic",   "fatal", "error", "warn",
                                          "warning", "info",  "debug", "trace" };

void
acq_errorf(struct acq_error *err, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL)
        return;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
}

int
acq_config_errorf(const struct acq_source *s, int line, struct acq_error *err, const char *fmt, ...)
{
    char msg[sizeof(err->message)];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    acq_errorf(err, "%s:%d: %s", s->common.file != NULL ? s->common.file : "", line, msg);
    return -1;
}

void
acq_warnf(struct acq_source *s, const char *fmt, ...)
{
    char msg[1024];
    char full[1200];
    va_list ap;

    if (s->warn == NULL)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    snprintf(full, sizeof(full), "%s: %s", s->describe != NULL ? s->describe : s->ops->type, msg);
    s->warn(s->warn_ctx, full);
}

int
acq_emit_line(struct acq_source *s, const char *src, const char *line, size_t len, bool truncated)
{
    struct timespec ts;
    struct acq_line l;

    clock_gettime(CLOCK_REALTIME, &ts);
    l = (struct acq_line){
        .line = line,
        .len = len,
        .src = src,
        .module = s->ops->type,
        .time_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec,
        .common = &s->common,
        .truncated = truncated,
    };
    atomic_fetch_add_explicit(&s->lines, 1, memory_order_relaxed);
    if (truncated)
        atomic_fetch_add_explicit(&s->truncated, 1, memory_order_relaxed);
    if (s->emit == NULL)
        return 0;
    return s->emit(s->emit_ctx, &l);
}

/* ---- decoding helpers shared with the types ---- */

static int
shape_error(const struct acq_source *s, const struct ynode *v, const char *key,
            const char *expected, struct acq_error *err)
{
    return acq_config_errorf(s, v->line, err, "%s: expected %s, got %s%s%.60s%s", key, expected,
                             ynode_kind(v), v->type == YNODE_SCALAR ? " `" : "",
                             v->type == YNODE_SCALAR ? v->str : "",
                             v->type == YNODE_SCALAR ? "`" : "");
}

int
acq_yaml_string(const struct acq_source *s, const struct ynode *doc, const char *key, char **ret,
                struct acq_error *err)
{
    const struct ynode *v = ynode_map_get(doc, key);
    char *copy;

    if (v == NULL || ynode_is_null(v))
        return 0;
    /* yaml.v2 decodes any scalar (number, boolean) into a string as written. */
    if (v->type != YNODE_SCALAR)
        return shape_error(s, v, key, "a string", err);
    if ((copy = strdup(v->str)) == NULL)
        return acq_config_errorf(s, v->line, err, "%s: out of memory", key);
    free(*ret);
    *ret = copy;
    return 0;
}

int
acq_yaml_bool(const struct acq_source *s, const struct ynode *doc, const char *key, bool *ret,
              struct acq_error *err)
{
    const struct ynode *v = ynode_map_get(doc, key);
    int b;

    if (v == NULL || ynode_is_null(v))
        return 0;
    if (v->type != YNODE_SCALAR || !v->plain || (b = ynode_bool_value(v)) < 0)
        return shape_error(s, v, key, "a boolean (true or false)", err);
    *ret = b == 1;
    return 0;
}

/* A plain YAML 1.1 integer (sign, 0x/0o/0 prefixes, '_' separators) or false. */
static bool
parse_yaml_int(const struct ynode *v, long long *ret)
{
    char buf[64];
    size_t n = 0;
    char *end;

    if (v->type != YNODE_SCALAR || !v->plain || v->len == 0 || v->len >= sizeof(buf))
        return false;
    for (size_t i = 0; i < v->len; i++)
        if (v->str[i] != '_')
            buf[n++] = v->str[i];
    buf[n] = '\0';
    if (n == 0 || (buf[0] != '-' && buf[0] != '+' && (buf[0] < '0' || buf[0] > '9')))
        return false;
    errno = 0;
    if (n > 2 && buf[0] == '0' && buf[1] == 'o')
        *ret = strtoll(buf + 2, &end, 8);
    else
        *ret = strtoll(buf, &end, 0);
    return errno == 0 && *end == '\0';
}

int
acq_yaml_int(const struct acq_source *s, const struct ynode *doc, const char *key, long long min,
             long long max, long long *ret, struct acq_error *err)
{
    const struct ynode *v = ynode_map_get(doc, key);
    long long x;

    if (v == NULL || ynode_is_null(v))
        return 0;
    if (!parse_yaml_int(v, &x))
        return shape_error(s, v, key, "an integer", err);
    if (x < min || x > max)
        return acq_config_errorf(s, v->line, err,
                                 "%s: expected an integer from %lld to %lld, got %lld", key, min,
                                 max, x);
    *ret = x;
    return 0;
}

int
acq_yaml_duration(const struct acq_source *s, const struct ynode *doc, const char *key,
                  int64_t *ret_ns, struct acq_error *err)
{
    const struct ynode *v = ynode_map_get(doc, key);
    long long x;
    int64_t ns;

    if (v == NULL || ynode_is_null(v))
        return 0;
    /* yaml.v2 reads an integer as nanoseconds, a string with time.ParseDuration. */
    if (parse_yaml_int(v, &x)) {
        *ret_ns = x;
        return 0;
    }
    if (v->type != YNODE_SCALAR || gotime_parse_duration(v->str, v->len, &ns) < 0)
        return shape_error(s, v, key, "a duration such as 30s or 1m", err);
    *ret_ns = ns;
    return 0;
}

void
acq_strings_free(char **v, size_t n)
{
    if (v == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

int
acq_yaml_strings(const struct acq_source *s, const struct ynode *doc, const char *key, char ***ret,
                 size_t *ret_n, struct acq_error *err)
{
    const struct ynode *v = ynode_map_get(doc, key);
    char **out;
    size_t n = 0;

    if (v == NULL || ynode_is_null(v))
        return 0;
    if (v->type != YNODE_SEQ)
        return shape_error(s, v, key, "a list of strings", err);
    if ((out = calloc(v->n + 1, sizeof(*out))) == NULL)
        return acq_config_errorf(s, v->line, err, "%s: out of memory", key);
    for (size_t i = 0; i < v->n; i++) {
        const struct ynode *it = v->items[i];
        if (it->type != YNODE_SCALAR) {
            acq_strings_free(out, n);
            return shape_error(s, it, key, "a list of strings", err);
        }
        if ((out[n] = strdup(ynode_is_null(it) ? "" : it->str)) == NULL) {
            acq_strings_free(out, n);
            return acq_config_errorf(s, it->line, err, "%s: out of memory", key);
        }
        n++;
    }
    acq_strings_free(*ret, *ret_n);
    *ret = out;
    *ret_n = n;
    return 0;
}

/* ---- sources ---- */

static void
common_free(struct acq_common *c)
{
    free(c->source);
    free(c->name);
    free(c->mode);
    free(c->log_level);
    free(c->unique_id);
    free(c->transform);
    free(c->file);
    for (size_t i = 0; i < c->nlabels; i++) {
        free(c->labels[i].key);
        free(c->labels[i].value);
    }
    free(c->labels);
}

static void
source_free(struct acq_source *s)
{
    if (s == NULL)
        return;
    if (s->ops != NULL && s->ops->free != NULL)
        s->ops->free(s);
    common_free(&s->common);
    free(s->describe);
    free(s);
}

static struct acq_source *
source_new(const struct acq_source_ops *ops, const char *file, int line)
{
    struct acq_source *s = calloc(1, sizeof(*s));

    if (s == NULL)
        return NULL;
    s->ops = ops;
    s->common.line = line;
    atomic_init(&s->stopping, false);
    atomic_init(&s->running, false);
    atomic_init(&s->lines, 0);
    atomic_init(&s->truncated, 0);
    atomic_init(&s->errors, 0);
    atomic_init(&s->reopens, 0);
    if ((s->common.source = strdup(ops->type)) == NULL || (s->common.file = strdup(file)) == NULL) {
        source_free(s);
        return NULL;
    }
    return s;
}

static const struct acq_source_ops *
find_ops(const char *type, size_t len)
{
    for (size_t i = 0; i < ARRAY_SIZE(registry); i++)
        if (strlen(registry[i]->type) == len && strncmp(registry[i]->type, type, len) == 0)
            return registry[i];
    return NULL;
}

static int
add_source(struct acquisition *a, struct acq_source *s, struct acq_error *err)
{
    if (a->n == a->cap) {
        size_t cap = a->cap ? 2 * a->cap : 4;
        struct acq_source **v;
        bool *st;
        if (a->n >= ACQ_MAX_SOURCES) {
            acq_errorf(err, "too many datasources (at most %d)", ACQ_MAX_SOURCES);
            return -1;
        }
        if ((v = realloc(a->v, cap * sizeof(*v))) == NULL)
            goto oom;
        a->v = v;
        if ((st = realloc(a->started, cap * sizeof(*st))) == NULL)
            goto oom;
        a->started = st;
        a->cap = cap;
    }
    a->v[a->n] = s;
    a->started[a->n] = false;
    a->n++;
    return 0;
oom:
    acq_errorf(err, "out of memory");
    return -1;
}

static int
decode_labels(struct acq_source *s, const struct ynode *v, struct acq_error *err)
{
    if (v->type != YNODE_MAP)
        return shape_error(s, v, "labels", "a map of strings (type: ...)", err);
    if ((s->common.labels = calloc(v->n + 1, sizeof(*s->common.labels))) == NULL)
        return acq_config_errorf(s, v->line, err, "labels: out of memory");
    /* Entries [0, nlabels) are the ones this loop filled; a failed strdup returns at once. */
    s->common.nlabels = 0;
    for (size_t i = 0; i < v->n; i++) {
        const struct ynode *k = v->items[2 * i], *val = v->items[2 * i + 1];
        struct acq_label *l = &s->common.labels[s->common.nlabels];
        if (k->type != YNODE_SCALAR)
            return shape_error(s, k, "labels", "string keys", err);
        if (val->type != YNODE_SCALAR)
            return shape_error(s, val, "labels", "a string value", err);
        for (size_t j = 0; j < s->common.nlabels; j++)
            if (strcmp(s->common.labels[j].key, k->str) == 0)
                return acq_config_errorf(s, k->line, err, "labels: key \"%.60s\" already set",
                                         k->str);
        l->key = strdup(k->str);
        l->value = strdup(ynode_is_null(val) ? "" : val->str);
        s->common.nlabels++;
        if (l->key == NULL || l->value == NULL)
            return acq_config_errorf(s, k->line, err, "labels: out of memory");
    }
    return 0;
}

static int
decode_common(struct acq_source *s, const struct ynode *doc, struct acq_error *err)
{
    const struct ynode *v;

    if (acq_yaml_string(s, doc, "name", &s->common.name, err) < 0 ||
        acq_yaml_string(s, doc, "mode", &s->common.mode, err) < 0 ||
        acq_yaml_string(s, doc, "log_level", &s->common.log_level, err) < 0 ||
        acq_yaml_string(s, doc, "unique_id", &s->common.unique_id, err) < 0 ||
        acq_yaml_string(s, doc, "transform", &s->common.transform, err) < 0 ||
        acq_yaml_bool(s, doc, "use_time_machine", &s->common.use_time_machine, err) < 0)
        return -1;
    if ((v = ynode_map_get(doc, "labels")) != NULL && !ynode_is_null(v) &&
        decode_labels(s, v, err) < 0)
        return -1;
    if (s->common.mode == NULL || s->common.mode[0] == '\0') {
        free(s->common.mode);
        if ((s->common.mode = strdup("tail")) == NULL)
            return acq_config_errorf(s, doc->line, err, "out of memory");
    } else if (strcmp(s->common.mode, "tail") != 0 && strcmp(s->common.mode, "cat") != 0) {
        v = ynode_map_get(doc, "mode");
        return acq_config_errorf(s, v->line, err, "mode: expected tail or cat, got \"%.60s\"",
                                 s->common.mode);
    }
    if (s->common.log_level != NULL) {
        bool ok = false;
        for (size_t i = 0; i < ARRAY_SIZE(log_levels) && !ok; i++)
            ok = strcasecmp(s->common.log_level, log_levels[i]) == 0;
        if (!ok) {
            v = ynode_map_get(doc, "log_level");
            return acq_config_errorf(s, v->line, err,
                                     "log_level: expected one of panic, fatal, error, warn, info, "
                                     "debug, trace, got \"%.60s\"",
                                     s->common.log_level);
        }
    }
    return 0;
}

static int
check_keys(struct acq_source *s, const struct ynode *doc, struct acq_error *err)
{
    const char *allowed[64];
    size_t n = 0;
    const struct ynode *bad;
    char expected[600];
    size_t off = 0;

    for (size_t i = 0; i < ARRAY_SIZE(common_keys); i++)
        allowed[n++] = common_keys[i];
    for (size_t i = 0; s->ops->keys != NULL && s->ops->keys[i] != NULL; i++)
        if (n < ARRAY_SIZE(allowed))
            allowed[n++] = s->ops->keys[i];
    switch (ynode_check_keys(doc, allowed, n, &bad)) {
    case YKEYS_OK: return 0;
    case YKEYS_NOT_MAP: return shape_error(s, doc, "datasource", "a map of keys", err);
    case YKEYS_NOT_STRING: return shape_error(s, bad, "key", "a string", err);
    case YKEYS_DUPLICATE:
        return acq_config_errorf(s, bad->line, err, "key \"%.60s\" given twice", bad->str);
    case YKEYS_UNKNOWN:
    default: break;
    }
    for (size_t i = 0; i < n && off < sizeof(expected); i++) {
        int w = snprintf(expected + off, sizeof(expected) - off, "%s%s", i ? ", " : "", allowed[i]);
        if (w < 0)
            break;
        off += (size_t)w;
    }
    return acq_config_errorf(s, bad->line, err,
                             "unknown key \"%.60s\" for a %s datasource (expected one of: %s)",
                             bad->str, s->ops->type, expected);
}

/* The type a document asks for, as CrowdSec: the type-specific keys win over source:. */
static int
doc_type(const char *file, const struct ynode *doc, const char **ret, int *ret_line,
         struct acq_error *err)
{
    const struct ynode *v;

    *ret = NULL;
    *ret_line = doc->line;
    if ((v = ynode_map_get(doc, "filename")) != NULL || (v = ynode_map_get(doc, "filenames")))
        *ret = "file";
    else if ((v = ynode_map_get(doc, "journalctl_filter")) != NULL)
        *ret = "journalctl";
    else if ((v = ynode_map_get(doc, "source")) != NULL && !ynode_is_null(v)) {
        if (v->type != YNODE_SCALAR) {
            acq_errorf(err, "%s:%d: source: expected a string (file, syslog or journalctl), got %s",
                       file, v->line, ynode_kind(v));
            return -1;
        }
        *ret = v->str;
    }
    if (v != NULL)
        *ret_line = v->line;
    return 0;
}

static int
load_doc(struct acquisition *a, const char *file, const struct ynode *doc, size_t idx,
         struct acq_error *err)
{
    const struct acq_source_ops *ops;
    const struct ynode *labels;
    struct acq_source *s;
    const char *type;
    int line;

    if (doc == NULL || ynode_is_null(doc))
        return 0;
    if (doc->type != YNODE_MAP) {
        acq_errorf(err, "%s:%d: expected a datasource (a map of keys), got %s", file, doc->line,
                   ynode_kind(doc));
        return -1;
    }
    if (doc->n == 0)
        return 0;
    if (doc_type(file, doc, &type, &line, err) < 0)
        return -1;
    labels = ynode_map_get(doc, "labels");
    if (labels == NULL || ynode_is_null(labels) || (labels->type == YNODE_MAP && labels->n == 0)) {
        if (type == NULL || type[0] == '\0')
            return 0; /* CrowdSec skips an item with neither labels nor source */
        acq_errorf(err, "%s:%d: missing labels in datasource %zu (at least labels: {type: ...})",
                   file, doc->line, idx);
        return -1;
    }
    if (type == NULL || type[0] == '\0') {
        acq_errorf(err,
                   "%s:%d: data source type is empty ('source') in datasource %zu (expected file, "
                   "syslog or journalctl)",
                   file, doc->line, idx);
        return -1;
    }
    if ((ops = find_ops(type, strlen(type))) == NULL) {
        acq_errorf(err,
                   "%s:%d: unknown data source \"%.60s\" (expected file, syslog or journalctl)",
                   file, line, type);
        return -1;
    }
    if ((s = source_new(ops, file, doc->line)) == NULL) {
        acq_errorf(err, "out of memory");
        return -1;
    }
    if (check_keys(s, doc, err) < 0 || decode_common(s, doc, err) < 0 ||
        ops->configure(s, doc, err) < 0)
        goto fail;
    if (s->describe == NULL && (s->describe = strdup(ops->type)) == NULL) {
        acq_errorf(err, "out of memory");
        goto fail;
    }
    if (add_source(a, s, err) < 0)
        goto fail;
    return 0;
fail:
    source_free(s);
    return -1;
}

static int
read_whole(const char *path, char **ret, size_t *ret_len, struct acq_error *err)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t len = 0;
    struct stat st;

    if (f == NULL) {
        acq_errorf(err, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (fstat(fileno(f), &st) < 0 || !S_ISREG(st.st_mode)) {
        acq_errorf(err, "%s: not a regular file", path);
        goto fail;
    }
    if ((uint64_t)st.st_size > ACQ_MAX_FILE_SIZE) {
        acq_errorf(err, "%s: too big for an acquisition file (%lld bytes)", path,
                   (long long)st.st_size);
        goto fail;
    }
    if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
        acq_errorf(err, "out of memory");
        goto fail;
    }
    len = fread(buf, 1, (size_t)st.st_size, f);
    if (ferror(f)) {
        acq_errorf(err, "%s: read error", path);
        goto fail;
    }
    buf[len] = '\0';
    fclose(f);
    *ret = buf;
    *ret_len = len;
    return 0;
fail:
    free(buf);
    fclose(f);
    return -1;
}

static int
load_text(struct acquisition *a, const char *path, const char *buf, size_t len,
          struct acq_error *err)
{
    struct ytree *t = NULL;
    char msg[512];
    int line = 0, rc = -1;

    if (ytree_parse(buf, len, &t, msg, sizeof(msg), &line) != 0) {
        acq_errorf(err, "%s:%d: %s", path, line, msg);
        goto out;
    }
    for (size_t i = 0; i < t->ndocs; i++)
        if (load_doc(a, path, t->docs[i], i, err) < 0)
            goto out;
    rc = 0;
out:
    ytree_free(t);
    return rc;
}

static int
load_file(struct acquisition *a, const char *path, struct acq_error *err)
{
    char *buf = NULL;
    size_t len;
    int rc;

    if (read_whole(path, &buf, &len, err) < 0)
        return -1;
    rc = load_text(a, path, buf, len, err);
    free(buf);
    return rc;
}

static int
cmp_names(const void *x, const void *y)
{
    return strcmp(*(char *const *)x, *(char *const *)y);
}

static bool
is_yaml_name(const char *n)
{
    size_t l = strlen(n);
    return (l > 5 && strcmp(n + l - 5, ".yaml") == 0) || (l > 4 && strcmp(n + l - 4, ".yml") == 0);
}

static int
load_dir(struct acquisition *a, const char *dir, struct acq_error *err)
{
    DIR *d = opendir(dir);
    char **names = NULL;
    size_t n = 0;
    struct dirent *e;
    int rc = -1;

    if (d == NULL) {
        if (errno == ENOENT)
            return 0;
        acq_errorf(err, "%s: %s", dir, strerror(errno));
        return -1;
    }
    if ((names = calloc(ACQ_MAX_DIR_FILES, sizeof(*names))) == NULL) {
        acq_errorf(err, "out of memory");
        goto out;
    }
    while ((e = readdir(d)) != NULL) {
        if (!is_yaml_name(e->d_name))
            continue;
        if (n == ACQ_MAX_DIR_FILES) {
            acq_errorf(err, "%s: too many files (at most %d)", dir, ACQ_MAX_DIR_FILES);
            goto out;
        }
        size_t sz = strlen(dir) + strlen(e->d_name) + 2;
        if ((names[n] = malloc(sz)) == NULL) {
            acq_errorf(err, "out of memory");
            goto out;
        }
        snprintf(names[n], sz, "%s/%s", dir, e->d_name);
        n++;
    }
    qsort(names, n, sizeof(*names), cmp_names);
    for (size_t i = 0; i < n; i++) {
        struct stat st;
        if (stat(names[i], &st) == 0 && S_ISDIR(st.st_mode))
            continue;
        if (load_file(a, names[i], err) < 0)
            goto out;
    }
    rc = 0;
out:
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    closedir(d);
    return rc;
}

int
acq_load(const char *acquis_path, const char *acquis_dir, struct acquisition **ret,
         struct acq_error *err)
{
    struct acquisition *a = calloc(1, sizeof(*a));

    if (a == NULL) {
        acq_errorf(err, "out of memory");
        return -1;
    }
    if (acquis_path != NULL && acquis_path[0] != '\0' && load_file(a, acquis_path, err) < 0)
        goto fail;
    if (acquis_dir != NULL && acquis_dir[0] != '\0' && load_dir(a, acquis_dir, err) < 0)
        goto fail;
    *ret = a;
    return 0;
fail:
    acq_free(a);
    return -1;
}

int
acq_load_buffer(const char *name, const char *buf, size_t len, struct acquisition **ret,
                struct acq_error *err)
{
    struct acquisition *a = calloc(1, sizeof(*a));

    if (a == NULL) {
        acq_errorf(err, "out of memory");
        return -1;
    }
    if (len > ACQ_MAX_FILE_SIZE) {
        acq_errorf(err, "%s: too big for an acquisition file (%zu bytes)", name, len);
        goto fail;
    }
    if (load_text(a, name, buf, len, err) < 0)
        goto fail;
    *ret = a;
    return 0;
fail:
    acq_free(a);
    return -1;
}

int
acq_load_dsn(const char *dsn, const char *type, struct acquisition **ret, struct acq_error *err)
{
    const struct acq_source_ops *ops;
    struct acquisition *a = NULL;
    struct acq_source *s = NULL;
    const char *colon = strchr(dsn, ':');

    if (colon == NULL) {
        acq_errorf(err, "%s isn't valid dsn (no protocol)", dsn);
        return -1;
    }
    if ((ops = find_ops(dsn, (size_t)(colon - dsn))) == NULL) {
        acq_errorf(err,
                   "no acquisition for protocol %.*s:// - unknown data source %.*s (expected "
                   "file or journalctl)",
                   (int)MIN(colon - dsn, 60), dsn, (int)MIN(colon - dsn, 60), dsn);
        return -1;
    }
    if (ops->configure_dsn == NULL) {
        acq_errorf(err, "no acquisition for protocol %s:// - the %s datasource has no DSN form",
                   ops->type, ops->type);
        return -1;
    }
    if (strncmp(colon, "://", 3) != 0) {
        acq_errorf(err, "invalid DSN %s for %s source, must start with %s://", dsn, ops->type,
                   ops->type);
        return -1;
    }
    if ((a = calloc(1, sizeof(*a))) == NULL || (s = source_new(ops, "dsn", 0)) == NULL ||
        (s->common.mode = strdup("cat")) == NULL ||
        (s->common.labels = calloc(1, sizeof(*s->common.labels))) == NULL)
        goto oom;
    if (type != NULL && type[0] != '\0') {
        s->common.labels[0].key = strdup("type");
        s->common.labels[0].value = strdup(type);
        s->common.nlabels = 1;
        if (s->common.labels[0].key == NULL || s->common.labels[0].value == NULL)
            goto oom;
    }
    if (ops->configure_dsn(s, colon + 3, err) < 0) {
        char inner[sizeof(err->message)];
        snprintf(inner, sizeof(inner), "%s", err->message);
        acq_errorf(err, "while configuring datasource for %s: %s", dsn, inner);
        goto fail;
    }
    if (s->describe == NULL && (s->describe = strdup(ops->type)) == NULL)
        goto oom;
    if (add_source(a, s, err) < 0)
        goto fail;
    *ret = a;
    return 0;
oom:
    acq_errorf(err, "out of memory");
fail:
    source_free(s);
    acq_free(a);
    return -1;
}

void
acq_free(struct acquisition *a)
{
    if (a == NULL)
        return;
    acq_stop(a);
    for (size_t i = 0; i < a->n; i++)
        source_free(a->v[i]);
    free(a->v);
    free(a->started);
    free(a);
}

size_t
acq_count(const struct acquisition *a)
{
    return a != NULL ? a->n : 0;
}

const struct acq_common *
acq_common_at(const struct acquisition *a, size_t i)
{
    return i < a->n ? &a->v[i]->common : NULL;
}

const char *
acq_describe(const struct acquisition *a, size_t i)
{
    return i < a->n ? a->v[i]->describe : NULL;
}

void
acq_stats_at(const struct acquisition *a, size_t i, struct acq_stats *ret)
{
    const struct acq_source *s;

    memset(ret, 0, sizeof(*ret));
    if (i >= a->n)
        return;
    s = a->v[i];
    ret->lines = atomic_load_explicit(&s->lines, memory_order_relaxed);
    ret->truncated = atomic_load_explicit(&s->truncated, memory_order_relaxed);
    ret->errors = atomic_load_explicit(&s->errors, memory_order_relaxed);
    ret->reopens = atomic_load_explicit(&s->reopens, memory_order_relaxed);
}

int
acq_start(struct acquisition *a, acq_emit_fn emit, void *emit_ctx, acq_warn_fn warn, void *warn_ctx,
          struct acq_error *err)
{
    size_t started = 0;

    for (size_t i = 0; i < a->n; i++) {
        struct acq_source *s = a->v[i];
        struct acq_error e = { { 0 } };
        if (a->started[i]) {
            started++;
            continue;
        }
        s->emit = emit;
        s->emit_ctx = emit_ctx;
        s->warn = warn;
        s->warn_ctx = warn_ctx;
        atomic_store(&s->stopping, false);
        if (s->ops->start(s, &e) < 0) {
            if (warn != NULL) {
                char msg[sizeof(e.message) + 200];
                snprintf(msg, sizeof(msg), "datasource '%s' is not available: %s", s->describe,
                         e.message);
                warn(warn_ctx, msg);
            }
            continue;
        }
        a->started[i] = true;
        started++;
    }
    if (started == 0) {
        if (a->n == 0)
            acq_errorf(err, "no datasource configured");
        else
            acq_errorf(err, "no datasource could be started (%zu configured)", a->n);
        return -1;
    }
    return 0;
}

size_t
acq_running(const struct acquisition *a)
{
    size_t n = 0;

    for (size_t i = 0; i < a->n; i++)
        if (a->started[i] && atomic_load(&a->v[i]->running))
            n++;
    return n;
}

void
acq_stop(struct acquisition *a)
{
    if (a == NULL)
        return;
    for (size_t i = 0; i < a->n; i++) {
        if (!a->started[i])
            continue;
        atomic_store(&a->v[i]->stopping, true);
        a->v[i]->ops->stop(a->v[i]);
        a->started[i] = false;
    }
}

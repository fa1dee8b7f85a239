/*
 * file.c - the file datasource (CrowdSec's modules/file): files named by
 * globs, read whole (mode cat) or followed by name like `tail -F` (mode tail).
 *
 * A tail source runs one thread with ONE inotify instance for all its files:
 * it watches the literal directory of every pattern (creations, renames,
 * deletions) and every followed file (writes; the watch follows symlinks to
 * their target). Events are only a hint: each wake-up re-checks every file
 * by stat() of its name against the inode of the descriptor it holds, so the
 * same code handles inotify, the 250 ms stat-poll fallback (used when
 * poll_without_inotify is set, or when inotify is unavailable or exhausted)
 * and the one-second safety tick that catches what inotify misses (network
 * file systems, watches lost).
 *
 * Per file: the name resolves to another inode (rename + create, delete +
 * create, symlink retarget) => the old descriptor is drained to EOF, its
 * partial line flushed, and the new file read from offset 0; the name is
 * gone => a deleted file (no links left) is drained and dropped, a renamed
 * one is kept and drained until a new file takes the name; size below our
 * offset => truncated (copytruncate), restart at 0. A glob gaining a file,
 * or a file appearing late, is read from 0; files present at start are read
 * from their end. A file found under a second matching name (renamed into
 * the glob) keeps its offset, so no line is read twice.
 *
 * Lines: reads go through pread at our own offset in bounded chunks; a line
 * is held in a per-file buffer of at most max_buffer_size bytes (64 KiB by
 * default); a longer one is emitted cut at that size with truncated=true and
 * the rest up to its newline is dropped. A final line without its newline is
 * kept until the newline arrives (flushed when its file is rotated away, or
 * at the end of a cat). Empty lines are skipped, one trailing CR is removed.
 */
#include "common/common.h"

#include <fcntl.h>
#include <glob.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "acquisition/internal.h"

#define FILE_DEFAULT_MAX_BUFFER ((size_t)64 * 1024)
#define FILE_MAX_MAX_BUFFER     (64LL * 1024 * 1024)
#define FILE_CHUNK              ((size_t)64 * 1024)
/* Bytes read from one file per wake-up, so one busy file cannot starve the rest or stop. */
#define FILE_READ_BUDGET   ((size_t)1024 * 1024)
#define FILE_POLL_MS       250
#define FILE_SAFETY_MS     1000
#define FILE_MAX_FILES     4096
#define FILE_RETIRED       64
#define FILE_RETIRED_NS    (INT64_C(120) * 1000000000)
#define FILE_REGEX_MATCHES 100000
#define FILE_REGEX_DEPTH   10000

struct tfile {
    char *path;
    int fd; /* -1: not open */
    dev_t dev;
    ino_t ino;
    off_t off; /* next byte to read */
    int wd;    /* inotify watch of the file, -1 none */
    bool warned;
    char *buf; /* the current partial line */
    size_t len, cap;
    bool dropping; /* the current line was emitted truncated; drop up to its newline */
};

/*
 * A file we stopped following after a rotation: if it shows up under a
 * matching name, resume at its offset. Its descriptor is kept so that its
 * inode number cannot be reused by a new file while the entry exists.
 */
struct retired {
    int fd;
    dev_t dev;
    ino_t ino;
    off_t off;
    int64_t when_ns;
};

struct file_priv {
    char **patterns;
    size_t npatterns;
    char **exclude_src;
    size_t nexclude;
    pcre2_code **exclude;
    pcre2_match_context *mctx;
    pcre2_match_data *md;
    bool force_inotify, poll_without_inotify, discovery_poll_enable;
    int64_t discovery_poll_interval_ns;
    size_t max_buffer;

    /* run time, owned by the thread once it runs */
    struct tfile **files;
    size_t nfiles;
    struct retired retired[FILE_RETIRED];
    size_t nretired;
    int ino_fd;      /* -1: stat-polling */
    int *pattern_wd; /* watch of each pattern's literal directory, -1 none */
    bool *pattern_warned;
    int stop_fd;
    pthread_t thread;
    bool thread_started;
    bool cat;
    bool more; /* a file stopped at its read budget: loop again at once */
    bool full_warned;
    int64_t last_discovery_ns;
    char *chunk;
};

static const char *const file_keys[] = { "filename",
                                         "filenames",
                                         "exclude_regexps",
                                         "force_inotify",
                                         "poll_without_inotify",
                                         "discovery_poll_enable",
                                         "discovery_poll_interval",
                                         "max_buffer_size",
                                         NULL };

static const char *const logrus_levels[] = { "panic",   "fatal", "error", "warn",
                                             "warning", "info",  "debug", "trace" };

static int64_t
mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- configuration ---- */

static struct file_priv *
priv_new(void)
{
    struct file_priv *p = calloc(1, sizeof(*p));

    if (p == NULL)
        return NULL;
    p->ino_fd = -1;
    p->stop_fd = -1;
    p->discovery_poll_interval_ns = INT64_C(30) * 1000000000;
    p->max_buffer = FILE_DEFAULT_MAX_BUFFER;
    return p;
}

static int
add_pattern(struct file_priv *p, const char *pat)
{
    char **v = realloc(p->patterns, (p->npatterns + 1) * sizeof(*v));

    if (v == NULL)
        return -1;
    p->patterns = v;
    if ((v[p->npatterns] = strdup(pat)) == NULL)
        return -1;
    p->npatterns++;
    return 0;
}

static int
set_describe(struct acq_source *s)
{
    struct file_priv *p = s->priv;
    size_t sz = 6;
    char *d;

    for (size_t i = 0; i < p->npatterns; i++)
        sz += strlen(p->patterns[i]) + 1;
    if ((d = malloc(sz)) == NULL)
        return -1;
    size_t off = (size_t)snprintf(d, sz, "file:");
    for (size_t i = 0; i < p->npatterns; i++)
        off += (size_t)snprintf(d + off, sz - off, "%s%s", i ? "," : "", p->patterns[i]);
    free(s->describe);
    s->describe = d;
    return 0;
}

static int
compile_excludes(struct acq_source *s, const struct ynode *doc, struct acq_error *err)
{
    struct file_priv *p = s->priv;
    const struct ynode *v = ynode_map_get(doc, "exclude_regexps");

    if (p->nexclude == 0)
        return 0;
    if ((p->exclude = calloc(p->nexclude, sizeof(*p->exclude))) == NULL ||
        (p->mctx = pcre2_match_context_create(NULL)) == NULL ||
        (p->md = pcre2_match_data_create(1, NULL)) == NULL)
        return acq_config_errorf(s, v->line, err, "out of memory");
    pcre2_set_match_limit(p->mctx, FILE_REGEX_MATCHES);
    pcre2_set_depth_limit(p->mctx, FILE_REGEX_DEPTH);
    for (size_t i = 0; i < p->nexclude; i++) {
        int ec;
        PCRE2_SIZE eo;
        p->exclude[i] =
            pcre2_compile((PCRE2_SPTR)p->exclude_src[i], PCRE2_ZERO_TERMINATED, 0, &ec, &eo, NULL);
        if (p->exclude[i] == NULL) {
            PCRE2_UCHAR msg[256];
            pcre2_get_error_message(ec, msg, sizeof(msg));
            return acq_config_errorf(s, v->items[i]->line, err,
                                     "exclude_regexps: could not compile regexp %.200s: %s "
                                     "(at offset %zu)",
                                     p->exclude_src[i], (const char *)msg, (size_t)eo);
        }
    }
    return 0;
}

static int
file_configure(struct acq_source *s, const struct ynode *doc, struct acq_error *err)
{
    struct file_priv *p;
    char *filename = NULL;
    char **filenames = NULL;
    size_t nfilenames = 0;
    long long maxbuf = 0;
    int64_t interval = 0;
    int rc = -1;

    if ((p = priv_new()) == NULL)
        return acq_config_errorf(s, doc->line, err, "out of memory");
    s->priv = p;
    if (acq_yaml_string(s, doc, "filename", &filename, err) < 0 ||
        acq_yaml_strings(s, doc, "filenames", &filenames, &nfilenames, err) < 0 ||
        acq_yaml_strings(s, doc, "exclude_regexps", &p->exclude_src, &p->nexclude, err) < 0 ||
        acq_yaml_bool(s, doc, "force_inotify", &p->force_inotify, err) < 0 ||
        acq_yaml_bool(s, doc, "poll_without_inotify", &p->poll_without_inotify, err) < 0 ||
        acq_yaml_bool(s, doc, "discovery_poll_enable", &p->discovery_poll_enable, err) < 0 ||
        acq_yaml_duration(s, doc, "discovery_poll_interval", &interval, err) < 0 ||
        acq_yaml_int(s, doc, "max_buffer_size", LLONG_MIN, FILE_MAX_MAX_BUFFER, &maxbuf, err) < 0)
        goto out;
    if (interval > 0)
        p->discovery_poll_interval_ns = interval;
    if (maxbuf > 0)
        p->max_buffer = (size_t)maxbuf;
    /* CrowdSec appends filename after filenames. */
    for (size_t i = 0; i < nfilenames; i++)
        if (filenames[i][0] != '\0' && add_pattern(p, filenames[i]) < 0)
            goto oom;
    if (filename != NULL && filename[0] != '\0' && add_pattern(p, filename) < 0)
        goto oom;
    if (p->npatterns == 0) {
        acq_config_errorf(s, doc->line, err,
                          "no filename or filenames configuration provided (expected filename: "
                          "PATH or filenames: [GLOB, ...])");
        goto out;
    }
    p->cat = strcmp(s->common.mode, "cat") == 0;
    if (compile_excludes(s, doc, err) < 0)
        goto out;
    if (set_describe(s) < 0)
        goto oom;
    rc = 0;
    goto out;
oom:
    acq_config_errorf(s, doc->line, err, "out of memory");
out:
    free(filename);
    acq_strings_free(filenames, nfilenames);
    return rc;
}

static int
hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Go's url.QueryUnescape of s[0..n) into a new string, or NULL (bad escape / no memory). */
static char *
query_unescape(const char *s, size_t n)
{
    char *out = malloc(n + 1);
    size_t j = 0;

    if (out == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '+') {
            out[j++] = ' ';
        } else if (s[i] == '%') {
            if (i + 2 >= n) {
                free(out);
                return NULL;
            }
            int hi = hexval(s[i + 1]), lo = hexval(s[i + 2]);
            if (hi < 0 || lo < 0) {
                free(out);
                return NULL;
            }
            out[j++] = (char)(hi * 16 + lo);
            i += 2;
        } else {
            out[j++] = s[i];
        }
    }
    out[j] = '\0';
    return out;
}

static int
dsn_param(struct acq_source *s, const char *key, const char *val, bool *seen_level, bool *seen_size,
          struct acq_error *err)
{
    struct file_priv *p = s->priv;

    if (strcmp(key, "log_level") == 0) {
        bool ok = false;
        if (*seen_level) {
            acq_errorf(err, "expected zero or one value for 'log_level'");
            return -1;
        }
        *seen_level = true;
        for (size_t i = 0; i < ARRAY_SIZE(logrus_levels) && !ok; i++)
            ok = strcasecmp(val, logrus_levels[i]) == 0;
        if (!ok) {
            acq_errorf(err, "unknown level %.60s: not a valid logrus Level", val);
            return -1;
        }
        free(s->common.log_level);
        if ((s->common.log_level = strdup(val)) == NULL) {
            acq_errorf(err, "out of memory");
            return -1;
        }
        return 0;
    }
    if (strcmp(key, "max_buffer_size") == 0) {
        char *end;
        long long n;
        if (*seen_size) {
            acq_errorf(err, "expected zero or one value for 'max_buffer_size'");
            return -1;
        }
        *seen_size = true;
        errno = 0;
        n = strtoll(val, &end, 10);
        if (val[0] == '\0' || *end != '\0' || errno != 0 || (val[0] == ' ') ||
            n > FILE_MAX_MAX_BUFFER) {
            acq_errorf(err,
                       "could not parse max_buffer_size %.60s (expected an integer up to %lld)",
                       val, FILE_MAX_MAX_BUFFER);
            return -1;
        }
        if (n > 0)
            p->max_buffer = (size_t)n;
        return 0;
    }
    acq_errorf(err, "unknown parameter %.60s (expected log_level or max_buffer_size)", key);
    return -1;
}

static int
file_configure_dsn(struct acq_source *s, const char *rest, struct acq_error *err)
{
    struct file_priv *p;
    const char *q = strchr(rest, '?');
    size_t plen = q != NULL ? (size_t)(q - rest) : strlen(rest);
    bool seen_level = false, seen_size = false;
    char *path = NULL;
    glob_t g;
    int rc = -1;

    if ((p = priv_new()) == NULL) {
        acq_errorf(err, "out of memory");
        return -1;
    }
    s->priv = p;
    p->cat = true;
    if (plen == 0) {
        acq_errorf(err, "empty file:// DSN");
        return -1;
    }
    if ((path = strndup(rest, plen)) == NULL || add_pattern(p, path) < 0) {
        acq_errorf(err, "out of memory");
        goto out;
    }
    /* A second '?' makes Go's strings.Split give three parts: the query is then ignored. */
    if (q != NULL && q[1] != '\0' && strchr(q + 1, '?') == NULL) {
        const char *it = q + 1;
        for (size_t guard = 0; *it != '\0' && guard < 1024; guard++) {
            size_t n = strcspn(it, "&;");
            const char *eq;
            char *k = NULL, *v = NULL;
            int r;
            if (it[n] == ';') {
                acq_errorf(err, "could not parse file args: invalid semicolon separator in query");
                goto out;
            }
            if (n > 0) {
                eq = memchr(it, '=', n);
                k = query_unescape(it, eq != NULL ? (size_t)(eq - it) : n);
                v = eq != NULL ? query_unescape(eq + 1, n - (size_t)(eq + 1 - it)) : strdup("");
                if (k == NULL || v == NULL) {
                    free(k);
                    free(v);
                    acq_errorf(err, "could not parse file args: invalid URL escape");
                    goto out;
                }
                r = dsn_param(s, k, v, &seen_level, &seen_size, err);
                free(k);
                free(v);
                if (r < 0)
                    goto out;
            }
            it += n;
            if (*it == '&')
                it++;
        }
    }
    if (glob(path, 0, NULL, &g) != 0) {
        acq_errorf(err, "no matching files for pattern %s", path);
        goto out;
    }
    globfree(&g);
    if (set_describe(s) < 0) {
        acq_errorf(err, "out of memory");
        goto out;
    }
    rc = 0;
out:
    free(path);
    return rc;
}

static void
file_free(struct acq_source *s)
{
    struct file_priv *p = s->priv;

    if (p == NULL)
        return;
    acq_strings_free(p->patterns, p->npatterns);
    for (size_t i = 0; p->exclude != NULL && i < p->nexclude; i++)
        pcre2_code_free(p->exclude[i]);
    free(p->exclude);
    acq_strings_free(p->exclude_src, p->nexclude);
    pcre2_match_context_free(p->mctx);
    pcre2_match_data_free(p->md);
    free(p);
    s->priv = NULL;
}

/* ---- lines ---- */

static bool
excluded(struct file_priv *p, const char *path)
{
    for (size_t i = 0; i < p->nexclude; i++) {
        /* A match-limit error counts as no match: the file is followed rather than lost. */
        if (pcre2_match(p->exclude[i], (PCRE2_SPTR)path, strlen(path), 0, 0, p->md, p->mctx) >= 0)
            return true;
    }
    return false;
}

/* Emits one complete line (CR stripped, empty skipped); non-zero: stop. */
static int
emit(struct acq_source *s, struct tfile *f, const char *line, size_t len, bool truncated)
{
    if (!truncated && len > 0 && line[len - 1] == '\r')
        len--;
    if (len == 0)
        return 0;
    return acq_emit_line(s, f->path, line, len, truncated);
}

static int
buf_append(struct tfile *f, const char *data, size_t n, size_t max)
{
    if (f->len + n > f->cap) {
        size_t cap = f->cap ? f->cap : 256;
        char *b;
        while (cap < f->len + n)
            cap *= 2;
        if (cap > max)
            cap = max;
        if ((b = realloc(f->buf, cap)) == NULL)
            return -1;
        f->buf = b;
        f->cap = cap;
    }
    memcpy(f->buf + f->len, data, n);
    f->len += n;
    return 0;
}

/* Splits data into lines against f's partial line. Non-zero: stop asked by emit. */
static int
consume(struct acq_source *s, struct file_priv *p, struct tfile *f, const char *data, size_t n)
{
    while (n > 0) {
        const char *nl = memchr(data, '\n', n);
        size_t seg = nl != NULL ? (size_t)(nl - data) : n;
        int r = 0;

        if (!f->dropping) {
            size_t room = p->max_buffer - f->len;
            if (seg > room) {
                /* Too long: emit it cut at the maximum, drop the rest up to its newline. */
                if (f->len == 0) {
                    r = emit(s, f, data, p->max_buffer, true);
                } else {
                    if (buf_append(f, data, room, p->max_buffer) < 0)
                        atomic_fetch_add(&s->errors, 1);
                    r = emit(s, f, f->buf, f->len, true);
                }
                f->len = 0;
                f->dropping = true;
            } else if (nl != NULL && f->len == 0) {
                r = emit(s, f, data, seg, false);
            } else if (nl != NULL) {
                if (buf_append(f, data, seg, p->max_buffer) < 0)
                    atomic_fetch_add(&s->errors, 1);
                r = emit(s, f, f->buf, f->len, false);
                f->len = 0;
            } else if (buf_append(f, data, seg, p->max_buffer) < 0) {
                atomic_fetch_add(&s->errors, 1);
            }
        }
        if (r != 0)
            return r;
        if (nl == NULL)
            break;
        f->dropping = false;
        data = nl + 1;
        n -= seg + 1;
    }
    return 0;
}

/* The partial line of a file that is rotated away or fully read. */
static int
flush_partial(struct acq_source *s, struct tfile *f)
{
    int r = 0;

    if (f->len > 0 && !f->dropping)
        r = emit(s, f, f->buf, f->len, false);
    f->len = 0;
    f->dropping = false;
    return r;
}

enum { READ_EOF, READ_MORE, READ_ERROR, READ_STOP };

/* Reads f from its offset up to budget bytes. */
static int
read_some(struct acq_source *s, struct file_priv *p, struct tfile *f, size_t budget)
{
    size_t done = 0;

    while (done < budget) {
        ssize_t r;
        if (atomic_load(&s->stopping))
            return READ_STOP;
        r = pread(f->fd, p->chunk, FILE_CHUNK, f->off);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            atomic_fetch_add(&s->errors, 1);
            return READ_ERROR;
        }
        if (r == 0)
            return READ_EOF;
        f->off += r;
        done += (size_t)r;
        if (consume(s, p, f, p->chunk, (size_t)r) != 0)
            return READ_STOP;
    }
    return READ_MORE;
}

/* ---- following files ---- */

static void
unwatch_file(struct file_priv *p, struct tfile *f)
{
    if (p->ino_fd >= 0 && f->wd >= 0) {
        bool shared = false;
        for (size_t i = 0; i < p->nfiles && !shared; i++)
            shared = p->files[i] != f && p->files[i]->wd == f->wd;
        for (size_t i = 0; i < p->npatterns && !shared; i++)
            shared = p->pattern_wd[i] == f->wd;
        if (!shared)
            inotify_rm_watch(p->ino_fd, f->wd);
    }
    f->wd = -1;
}

static void
close_file(struct file_priv *p, struct tfile *f)
{
    unwatch_file(p, f);
    if (f->fd >= 0)
        close(f->fd);
    f->fd = -1;
}

static void
fall_back_to_polling(struct acq_source *s, struct file_priv *p, const char *what, int e)
{
    if (p->ino_fd < 0)
        return;
    acq_warnf(s, "inotify %s failed (%s): polling every %d ms instead", what, strerror(e),
              FILE_POLL_MS);
    close(p->ino_fd);
    p->ino_fd = -1;
    for (size_t i = 0; i < p->nfiles; i++)
        p->files[i]->wd = -1;
    for (size_t i = 0; i < p->npatterns; i++)
        p->pattern_wd[i] = -1;
}

/* Adds an inotify watch; -1 when the path cannot be watched (missing) or inotify gave up. */
static int
add_watch(struct acq_source *s, struct file_priv *p, const char *path, uint32_t mask)
{
    int wd;

    if (p->ino_fd < 0)
        return -1;
    wd = inotify_add_watch(p->ino_fd, path, mask);
    if (wd < 0 && (errno == ENOSPC || errno == ENOMEM || errno == EMFILE))
        fall_back_to_polling(s, p, "add_watch", errno);
    return wd;
}

static void
watch_file(struct acq_source *s, struct file_priv *p, struct tfile *f)
{
    if (f->wd < 0)
        f->wd = add_watch(s, p, f->path,
                          IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | IN_DELETE_SELF | IN_MOVE_SELF);
}

static void
retired_drop(struct file_priv *p, size_t i)
{
    close(p->retired[i].fd);
    p->retired[i] = p->retired[--p->nretired];
}

/* Deleted or old entries can match nothing any more: release them. */
static void
retired_prune(struct file_priv *p)
{
    int64_t now = mono_ns();

    for (size_t i = 0; i < p->nretired;) {
        struct stat st;
        if (now - p->retired[i].when_ns > FILE_RETIRED_NS || fstat(p->retired[i].fd, &st) < 0 ||
            st.st_nlink == 0)
            retired_drop(p, i);
        else
            i++;
    }
}

static off_t
retired_offset(struct file_priv *p, dev_t dev, ino_t ino, off_t size)
{
    retired_prune(p);
    for (size_t i = 0; i < p->nretired; i++) {
        struct retired *r = &p->retired[i];
        if (r->dev == dev && r->ino == ino && r->off <= size) {
            off_t off = r->off;
            retired_drop(p, i);
            return off;
        }
    }
    return 0;
}

/* Takes f's descriptor into the retired list. */
static void
retire(struct file_priv *p, struct tfile *f)
{
    if (p->nretired == FILE_RETIRED) {
        size_t oldest = 0;
        for (size_t i = 1; i < p->nretired; i++)
            if (p->retired[i].when_ns < p->retired[oldest].when_ns)
                oldest = i;
        retired_drop(p, oldest);
    }
    p->retired[p->nretired++] = (struct retired){ f->fd, f->dev, f->ino, f->off, mono_ns() };
    f->fd = -1;
}

/*
 * Opens f->path: from its end (a file present at start) or from 0 (a new
 * file). 0, or -1 when it is missing or not a regular file.
 */
static int
open_file(struct acq_source *s, struct file_priv *p, struct tfile *f, bool from_end)
{
    struct stat st;
    int fd = open(f->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);

    if (fd < 0) {
        if (errno != ENOENT && !f->warned) {
            acq_warnf(s, "cannot open %s: %s", f->path, strerror(errno));
            f->warned = true;
        }
        return -1;
    }
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return -1;
    }
    f->fd = fd;
    f->dev = st.st_dev;
    f->ino = st.st_ino;
    f->off = from_end ? st.st_size : retired_offset(p, st.st_dev, st.st_ino, st.st_size);
    f->len = 0;
    f->dropping = false;
    f->warned = false;
    watch_file(s, p, f);
    return 0;
}

enum { CHECK_OK, CHECK_GONE, CHECK_STOP };

/* One look at one file: rotation, truncation, then new data. */
static int
check_file(struct acq_source *s, struct file_priv *p, struct tfile *f)
{
    struct stat st;
    bool exists = stat(f->path, &st) == 0 && S_ISREG(st.st_mode);
    int r;

    if (f->fd >= 0 && !(exists && st.st_dev == f->dev && st.st_ino == f->ino)) {
        struct stat old;
        /* Rotated away: whatever was written to the old file before the switch comes first. */
        r = read_some(s, p, f, FILE_READ_BUDGET);
        if (r == READ_STOP)
            return CHECK_STOP;
        if (r == READ_MORE) {
            p->more = true;
            return CHECK_OK;
        }
        if (!exists && fstat(f->fd, &old) == 0 && old.st_nlink > 0)
            return CHECK_OK; /* renamed, no successor yet: keep draining it */
        if (flush_partial(s, f) != 0)
            return CHECK_STOP;
        unwatch_file(p, f);
        if (exists)
            retire(p, f);
        close_file(p, f);
        if (!exists)
            return CHECK_GONE;
        atomic_fetch_add(&s->reopens, 1);
    }
    if (f->fd < 0) {
        if (!exists || open_file(s, p, f, false) < 0)
            return CHECK_GONE;
    } else if (fstat(f->fd, &st) == 0 && st.st_size < f->off) {
        /* Truncated in place (copytruncate): what was pending belonged to the old content. */
        if (flush_partial(s, f) != 0)
            return CHECK_STOP;
        f->off = 0;
        atomic_fetch_add(&s->reopens, 1);
    }
    r = read_some(s, p, f, FILE_READ_BUDGET);
    if (r == READ_STOP)
        return CHECK_STOP;
    if (r == READ_MORE)
        p->more = true;
    return CHECK_OK;
}

static void
tfile_free(struct tfile *f)
{
    if (f == NULL)
        return;
    if (f->fd >= 0)
        close(f->fd);
    free(f->buf);
    free(f->path);
    free(f);
}

static void
drop_file(struct file_priv *p, size_t i)
{
    close_file(p, p->files[i]);
    tfile_free(p->files[i]);
    p->files[i] = p->files[--p->nfiles];
}

static struct tfile *
find_file(struct file_priv *p, const char *path)
{
    for (size_t i = 0; i < p->nfiles; i++)
        if (strcmp(p->files[i]->path, path) == 0)
            return p->files[i];
    return NULL;
}

/*
 * path matched a pattern and is not followed yet. A file we already follow
 * under another name is either renamed into the glob (take the new name,
 * keep the offset) or a second link to it (ignored, so lines are not doubled).
 */
static void
discover_one(struct acq_source *s, struct file_priv *p, const char *path, bool initial)
{
    struct stat st;
    struct tfile *f;

    if (stat(path, &st) < 0 || !S_ISREG(st.st_mode) || excluded(p, path))
        return;
    for (size_t i = 0; i < p->nfiles; i++) {
        struct tfile *o = p->files[i];
        struct stat cur;
        if (o->fd < 0 || o->dev != st.st_dev || o->ino != st.st_ino)
            continue;
        if (stat(o->path, &cur) == 0 && cur.st_dev == o->dev && cur.st_ino == o->ino)
            return;
        char *np = strdup(path);
        if (np != NULL) {
            free(o->path);
            o->path = np;
        }
        return;
    }
    if (p->nfiles >= FILE_MAX_FILES) {
        if (!p->full_warned)
            acq_warnf(s, "too many files (at most %d): %s and later ones are not followed",
                      FILE_MAX_FILES, path);
        p->full_warned = true;
        return;
    }
    if ((f = calloc(1, sizeof(*f))) == NULL || (f->path = strdup(path)) == NULL) {
        free(f);
        atomic_fetch_add(&s->errors, 1);
        return;
    }
    f->fd = -1;
    f->wd = -1;
    if (open_file(s, p, f, initial) < 0) {
        tfile_free(f);
        return;
    }
    p->files[p->nfiles++] = f;
}

static bool
has_glob_chars(const char *s)
{
    return strpbrk(s, "*?[") != NULL;
}

/* Watches the literal directory of each pattern that has none yet; true if all are watched. */
static bool
watch_pattern_dirs(struct acq_source *s, struct file_priv *p)
{
    bool all = true;

    for (size_t i = 0; i < p->npatterns; i++) {
        char *copy;
        const char *dir;
        if (p->pattern_wd[i] >= 0)
            continue;
        if (p->ino_fd < 0 || (copy = strdup(p->patterns[i])) == NULL)
            return false;
        dir = dirname(copy);
        if (!has_glob_chars(dir))
            p->pattern_wd[i] =
                add_watch(s, p, dir,
                          IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_MODIFY |
                              IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR);
        free(copy);
        if (p->pattern_wd[i] < 0)
            all = false;
    }
    return all;
}

static void
discover(struct acq_source *s, struct file_priv *p, bool initial)
{
    for (size_t i = 0; i < p->npatterns; i++) {
        glob_t g;
        int r = glob(p->patterns[i], GLOB_NOSORT, NULL, &g);
        if (r == 0) {
            for (size_t j = 0; j < g.gl_pathc; j++)
                if (find_file(p, g.gl_pathv[j]) == NULL)
                    discover_one(s, p, g.gl_pathv[j], initial);
            globfree(&g);
        } else if (r == GLOB_NOMATCH && !p->pattern_warned[i]) {
            acq_warnf(s, "no file matches %s yet: waiting for it", p->patterns[i]);
            p->pattern_warned[i] = true;
        } else if (r == GLOB_NOSPACE || r == GLOB_ABORTED) {
            atomic_fetch_add(&s->errors, 1);
        }
    }
    p->last_discovery_ns = mono_ns();
}

/* Every followed file looked at once; false when the source must stop. */
static bool
check_all(struct acq_source *s, struct file_priv *p)
{
    for (size_t i = 0; i < p->nfiles;) {
        int r = check_file(s, p, p->files[i]);
        if (r == CHECK_STOP)
            return false;
        if (r == CHECK_GONE)
            drop_file(p, i); /* the rescan finds it again if it comes back */
        else
            i++;
    }
    return true;
}

/* Reads what inotify has; true if an event can mean a new or renamed file. */
static bool
drain_inotify(struct file_priv *p)
{
    char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
    bool dir_event = false;

    for (int guard = 0; guard < 64; guard++) {
        ssize_t n = read(p->ino_fd, buf, sizeof(buf));
        if (n <= 0)
            break;
        for (char *q = buf; q < buf + n;) {
            const struct inotify_event *ev = (const struct inotify_event *)(void *)q;
            if (ev->mask & (IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_DELETE_SELF |
                            IN_MOVE_SELF | IN_Q_OVERFLOW | IN_IGNORED))
                dir_event = true;
            if (ev->mask & IN_IGNORED)
                for (size_t i = 0; i < p->npatterns; i++)
                    if (p->pattern_wd[i] == ev->wd)
                        p->pattern_wd[i] = -1;
            q += sizeof(*ev) + ev->len;
        }
    }
    return dir_event;
}

static void
tail_loop(struct acq_source *s, struct file_priv *p)
{
    bool dirs_watched = p->ino_fd >= 0;

    /* Directories missing at start are retried (then rescanned) on the first round. */
    for (size_t i = 0; i < p->npatterns; i++)
        if (p->pattern_wd[i] < 0)
            dirs_watched = false;
    p->more = !dirs_watched && p->ino_fd >= 0;

    for (;;) {
        struct pollfd pfd[2] = { { .fd = p->stop_fd, .events = POLLIN },
                                 { .fd = p->ino_fd, .events = POLLIN } };
        int timeout = p->ino_fd >= 0 ? FILE_SAFETY_MS : FILE_POLL_MS;
        bool rescan = false;
        int n;

        if (p->more)
            timeout = 0;
        p->more = false;
        n = poll(pfd, p->ino_fd >= 0 ? 2 : 1, timeout);
        if (n < 0 && errno != EINTR)
            break;
        if (atomic_load(&s->stopping) || (n > 0 && (pfd[0].revents & POLLIN)))
            break;
        if (p->ino_fd < 0) {
            rescan = true;
        } else {
            if (n > 0 && (pfd[1].revents & POLLIN))
                rescan = drain_inotify(p);
            if (!dirs_watched) {
                /* A directory that was missing may have appeared with files in it already. */
                dirs_watched = watch_pattern_dirs(s, p);
                rescan = rescan || n == 0 || dirs_watched;
            } else if (rescan) {
                dirs_watched = watch_pattern_dirs(s, p);
            }
            if (p->discovery_poll_enable &&
                mono_ns() - p->last_discovery_ns >= p->discovery_poll_interval_ns)
                rescan = true;
        }
        if (n == 0)
            retired_prune(p);
        if (rescan)
            discover(s, p, false);
        if (!check_all(s, p))
            break;
    }
}

static void
cat_files(struct acq_source *s, struct file_priv *p)
{
    for (size_t i = 0; i < p->npatterns; i++) {
        glob_t g;
        int r = glob(p->patterns[i], 0, NULL, &g);
        if (r == GLOB_NOMATCH) {
            acq_warnf(s, "no file matches %s", p->patterns[i]);
            continue;
        }
        if (r != 0) {
            atomic_fetch_add(&s->errors, 1);
            continue;
        }
        for (size_t j = 0; j < g.gl_pathc; j++) {
            struct tfile f = { .fd = -1, .wd = -1 };
            int rr;
            if (excluded(p, g.gl_pathv[j]))
                continue;
            f.path = g.gl_pathv[j];
            if (open_file(s, p, &f, false) < 0)
                continue;
            do {
                rr = read_some(s, p, &f, FILE_READ_BUDGET);
            } while (rr == READ_MORE);
            if (rr == READ_EOF)
                rr = flush_partial(s, &f) != 0 ? READ_STOP : READ_EOF;
            close(f.fd);
            free(f.buf);
            if (rr == READ_STOP) {
                globfree(&g);
                return;
            }
        }
        globfree(&g);
    }
}

static void *
file_thread(void *arg)
{
    struct acq_source *s = arg;
    struct file_priv *p = s->priv;

    if (p->cat)
        cat_files(s, p);
    else
        tail_loop(s, p);
    atomic_store(&s->running, false);
    return NULL;
}

static void
runtime_free(struct file_priv *p)
{
    for (size_t i = 0; p->files != NULL && i < p->nfiles; i++)
        tfile_free(p->files[i]);
    free(p->files);
    p->files = NULL;
    p->nfiles = 0;
    free(p->pattern_wd);
    p->pattern_wd = NULL;
    free(p->pattern_warned);
    p->pattern_warned = NULL;
    free(p->chunk);
    p->chunk = NULL;
    if (p->ino_fd >= 0)
        close(p->ino_fd);
    p->ino_fd = -1;
    if (p->stop_fd >= 0)
        close(p->stop_fd);
    p->stop_fd = -1;
    while (p->nretired > 0)
        retired_drop(p, p->nretired - 1);
}

static int
file_start(struct acq_source *s, struct acq_error *err)
{
    struct file_priv *p = s->priv;
    int e;

    /*
     * The table starts empty (priv_new and runtime_free leave nfiles at 0); said
     * here so the loops over files[0, nfiles) never meet the calloc's NULL slots.
     */
    p->nfiles = 0;
    if ((p->files = calloc(FILE_MAX_FILES, sizeof(*p->files))) == NULL ||
        (p->pattern_wd = malloc(p->npatterns * sizeof(*p->pattern_wd))) == NULL ||
        (p->pattern_warned = calloc(p->npatterns, sizeof(*p->pattern_warned))) == NULL ||
        (p->chunk = malloc(FILE_CHUNK)) == NULL) {
        acq_errorf(err, "out of memory");
        goto fail;
    }
    for (size_t i = 0; i < p->npatterns; i++)
        p->pattern_wd[i] = -1;
    if ((p->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0) {
        acq_errorf(err, "eventfd: %s", strerror(errno));
        goto fail;
    }
    if (!p->cat) {
        if (!p->poll_without_inotify) {
            p->ino_fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
            if (p->ino_fd < 0)
                acq_warnf(s, "inotify_init failed (%s): polling every %d ms instead",
                          strerror(errno), FILE_POLL_MS);
        }
        /* Before acq_start returns: what is written afterwards is not missed. */
        watch_pattern_dirs(s, p);
        discover(s, p, true);
    }
    atomic_store(&s->running, true);
    if ((e = pthread_create(&p->thread, NULL, file_thread, s)) != 0) {
        atomic_store(&s->running, false);
        acq_errorf(err, "cannot start a thread: %s", strerror(e));
        goto fail;
    }
    p->thread_started = true;
    return 0;
fail:
    runtime_free(p);
    return -1;
}

static void
file_stop(struct acq_source *s)
{
    struct file_priv *p = s->priv;
    uint64_t one = 1;

    if (p == NULL || !p->thread_started)
        return;
    if (write(p->stop_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
        atomic_fetch_add(&s->errors, 1);
    pthread_join(p->thread, NULL);
    p->thread_started = false;
    runtime_free(p);
}

const struct acq_source_ops acq_file_ops = {
    .type = "file",
    .keys = file_keys,
    .configure = file_configure,
    .configure_dsn = file_configure_dsn,
    .start = file_start,
    .stop = file_stop,
    .free = file_free,
};

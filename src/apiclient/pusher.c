/*
 * pusher.c - the alert pusher: apiclient_pusher_add() appends each alert to an
 * append-only segment file in the spool directory and returns only once it is
 * on disk; a sender thread ships the oldest segment in batches of up to 100
 * alerts to POST /v1/alerts every second and forgets alerts only after the
 * LAPI answered 201 for them.
 *
 * Layout of the spool directory:
 *   NNNNNNNNNNNNNNNNNNNN.seg  segments, oldest first; one record a line:
 *                             16 hex digits (FNV-1a 64 of the JSON), a space,
 *                             the alert as compact JSON, "\n"
 *   ack                       "<segment> <offset>\n": how far the oldest
 *                             segment has been acknowledged by the LAPI
 *   rejected.jsonl            alerts the LAPI refused as malformed (400/422),
 *                             kept for inspection instead of blocking the queue
 *   lock                      flock()ed by the pusher that owns the spool
 *
 * Durability: adds that come together share one fdatasync (group commit: the
 * first waiting add syncs everything written so far while the others wait).
 * A failed write or sync truncates the segment back, so an alert the caller
 * was told failed is never sent. A crash can resend the last batch (the LAPI
 * answered but the ack was not yet written) but never loses an acknowledged
 * alert. A torn record at the end of a segment (crash during a write that was
 * never acknowledged) is cut off when the spool is opened again.
 *
 * The writers append to the newest ("active") segment; the sender seals it
 * (syncs and closes it) only when it has nothing older to send or it grew past
 * SEG_ROTATE_BYTES, so an outage does not turn into thousands of small files.
 */
#include "apiclient/apiclient.h"
#include "common/str.h"

#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SPOOL_MAX_ALERTS 100000u
#define SPOOL_MAX_BYTES  ((uint64_t)256 * 1024 * 1024)
#define RECORD_MAX       ((size_t)4 * 1024 * 1024) /* one alert, as JSON */
#define BATCH_MAX_ALERTS 100u
#define BATCH_MAX_BYTES  ((size_t)8 * 1024 * 1024)
#define SEG_ROTATE_BYTES ((uint64_t)4 * 1024 * 1024)
#define SEND_INTERVAL_MS 1000
#define BACKOFF_MAX_MS   60000
#define HEARTBEAT_MS     60000
/* Batches sent back to back in one tick while a backlog drains. */
#define BATCHES_PER_TICK 50
#define HASH_HEX         16

struct seg {
    uint64_t seq;
    int fd;             /* open for appends while active, else -1 */
    uint64_t size;      /* bytes written (and not truncated away) */
    uint64_t acked_off; /* bytes acknowledged by the LAPI */
};

/* One add waiting for its record to be synced (lives on the adder's stack). */
struct waiter {
    struct waiter *next;
    uint64_t off, len;
    bool done;
    int rc; /* 0 or -errno of the sync */
};

struct apiclient_pusher {
    struct apiclient *client;
    char *dir;
    int dirfd, lockfd;

    pthread_mutex_t mu;
    pthread_cond_t synced; /* a sync finished */
    pthread_cond_t wake;   /* the sender's tick (CLOCK_MONOTONIC), or stop */
    struct seg *segs;      /* oldest first; the last one is active when active */
    size_t nsegs, cap;
    bool active;
    bool syncing;
    struct waiter *pending; /* written to the active segment, not yet synced */
    uint64_t next_seq;
    uint64_t pending_n, pending_bytes; /* on disk, not acknowledged by the LAPI */
    struct apiclient_pusher_stats st;

    pthread_t thread;
    bool started, stopping;
    unsigned flush_ms;
    unsigned solo_left; /* after a 400/422 on a batch, send one alert at a time */
    uint64_t max_alerts, max_bytes;
};

static int PRINTF_LIKE(2, 3) fail(struct apiclient_error *err, const char *fmt, ...)
{
    va_list ap;
    if (err == NULL)
        return -1;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
    err->status = 0;
    return -1;
}

static int64_t
mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint64_t
fnv1a64(const char *s, size_t n)
{
    uint64_t h = UINT64_C(14695981039346656037);
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= UINT64_C(1099511628211);
    }
    return h;
}

static void
seg_name(uint64_t seq, char *out, size_t size)
{
    snprintf(out, size, "%020" PRIu64 ".seg", seq);
}

static int
write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -errno;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* --- spool recovery --- */

/*
 * Counts the complete records of an existing segment from its acked offset,
 * cutting off a torn record at its end. 0 or -errno.
 */
static int
seg_scan(struct apiclient_pusher *p, struct seg *s)
{
    char name[32], buf[65536];
    uint64_t off = 0, last_nl = 0, n = 0;
    bool any_nl = false;
    int fd, rc = 0;

    seg_name(s->seq, name, sizeof(name));
    if ((fd = openat(p->dirfd, name, O_RDWR | O_CLOEXEC)) < 0)
        return -errno;
    for (;;) {
        ssize_t r = pread(fd, buf, sizeof(buf), (off_t)off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = -errno;
            goto out;
        }
        if (r == 0)
            break;
        for (ssize_t i = 0; i < r; i++) {
            if (buf[i] != '\n')
                continue;
            if (off + (uint64_t)i >= s->acked_off)
                n++;
            last_nl = off + (uint64_t)i + 1;
            any_nl = true;
        }
        off += (uint64_t)r;
    }
    s->size = any_nl ? last_nl : 0;
    if (off != s->size && ftruncate(fd, (off_t)s->size) != 0) {
        rc = -errno;
        goto out;
    }
    if (s->acked_off > s->size)
        s->acked_off = s->size;
    p->pending_n += n;
    p->pending_bytes += s->size - s->acked_off;
out:
    close(fd);
    return rc;
}

static int
seg_cmp(const void *a, const void *b)
{
    const struct seg *x = a, *y = b;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int
segs_push(struct apiclient_pusher *p, uint64_t seq)
{
    if (p->nsegs == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 16;
        struct seg *v = realloc(p->segs, cap * sizeof(*v));
        if (v == NULL)
            return -ENOMEM;
        p->segs = v;
        p->cap = cap;
    }
    p->segs[p->nsegs++] = (struct seg){ .seq = seq, .fd = -1 };
    return 0;
}

/* Reads the ack file: the segment and offset acknowledged so far (0 0 when none). */
static void
ack_read(struct apiclient_pusher *p, uint64_t *ret_seq, uint64_t *ret_off)
{
    char buf[64];
    *ret_seq = *ret_off = 0;
    int fd = openat(p->dirfd, "ack", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return;
    buf[n] = '\0';
    /* ack_write's "SEQ OFF\n"; anything else (or an overflow) counts as no ack. */
    const char *q = buf;
    char *end;
    unsigned long long v[2];
    for (int k = 0; k < 2; k++) {
        if (k == 1 && *q++ != ' ')
            return;
        if (*q < '0' || *q > '9')
            return;
        errno = 0;
        v[k] = strtoull(q, &end, 10);
        if (errno != 0)
            return;
        q = end;
    }
    while (isspace((unsigned char)*q))
        q++;
    if (*q != '\0')
        return;
    *ret_seq = v[0];
    *ret_off = v[1];
}

static int
spool_open(struct apiclient_pusher *p, struct apiclient_error *err)
{
    uint64_t ack_seq, ack_off;
    DIR *d;
    struct dirent *de;

    ack_read(p, &ack_seq, &ack_off);
    p->next_seq = ack_seq + 1;
    int fd = dup(p->dirfd);
    if (fd < 0 || (d = fdopendir(fd)) == NULL) {
        if (fd >= 0)
            close(fd);
        return fail(err, "%s: %s", p->dir, strerror(errno));
    }
    while ((de = readdir(d)) != NULL) {
        char *end;
        size_t len = strlen(de->d_name);
        if (len != 24 || strcmp(de->d_name + 20, ".seg") != 0)
            continue;
        errno = 0;
        unsigned long long seq = strtoull(de->d_name, &end, 10);
        if (errno != 0 || end != de->d_name + 20)
            continue;
        if (segs_push(p, seq) != 0) {
            closedir(d);
            return fail(err, "out of memory");
        }
        if (seq >= p->next_seq)
            p->next_seq = seq + 1;
    }
    closedir(d);
    if (p->nsegs > 1)
        qsort(p->segs, p->nsegs, sizeof(*p->segs), seg_cmp);
    for (size_t i = 0; i < p->nsegs; i++) {
        if (p->segs[i].seq == ack_seq)
            p->segs[i].acked_off = ack_off;
        int rc = seg_scan(p, &p->segs[i]);
        if (rc != 0)
            return fail(err, "%s: segment %" PRIu64 ": %s", p->dir, p->segs[i].seq, strerror(-rc));
    }
    return 0;
}

struct apiclient_pusher *
apiclient_pusher_new(struct apiclient *c, const char *spool_dir, struct apiclient_error *err)
{
    struct apiclient_pusher *p = calloc(1, sizeof(*p));
    pthread_condattr_t ca;

    if (p == NULL) {
        fail(err, "out of memory");
        return NULL;
    }
    p->client = c;
    p->max_alerts = SPOOL_MAX_ALERTS;
    p->max_bytes = SPOOL_MAX_BYTES;
    p->dirfd = p->lockfd = -1;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->synced, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&p->wake, &ca);
    pthread_condattr_destroy(&ca);
    if ((p->dir = strdup(spool_dir)) == NULL) {
        fail(err, "out of memory");
        goto fail;
    }
    if (mkdir(spool_dir, 0700) != 0 && errno != EEXIST) {
        fail(err, "%s: cannot create the spool directory: %s", spool_dir, strerror(errno));
        goto fail;
    }
    if ((p->dirfd = open(spool_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
        fail(err, "%s: %s", spool_dir, strerror(errno));
        goto fail;
    }
    if ((p->lockfd = openat(p->dirfd, "lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0 ||
        flock(p->lockfd, LOCK_EX | LOCK_NB) != 0) {
        fail(err, "%s: the spool is in use by another pusher (%s)", spool_dir, strerror(errno));
        goto fail;
    }
    if (spool_open(p, err) != 0)
        goto fail;
    p->st.pending = p->pending_n;
    return p;
fail:
    apiclient_pusher_free(p, 0);
    return NULL;
}

/* --- writers --- */

/*
 * Ends the sync of list (records from offset first_off of the active
 * segment) with result rc. On failure the segment is cut back to first_off,
 * which also drops the records written during the sync: their adds fail too.
 * Called with the lock held.
 */
static void
sync_resolve_locked(struct apiclient_pusher *p, struct waiter *list, uint64_t first_off, int rc)
{
    struct seg *s = &p->segs[p->nsegs - 1];
    if (rc != 0) {
        /* The later writers are cut off with the failed group. */
        struct waiter *w = p->pending;
        while (w != NULL) {
            struct waiter *next = w->next;
            w->next = list;
            list = w;
            w = next;
        }
        p->pending = NULL;
        s->size = first_off;
        if (ftruncate(s->fd, (off_t)first_off) != 0) {
            /*
             * The failed records stay in the file: the segment is sealed so
             * nothing is appended after them, and the reader stops at size.
             */
            close(s->fd);
            s->fd = -1;
            p->active = false;
        }
    }
    for (struct waiter *w = list; w != NULL; w = w->next) {
        if (rc != 0) {
            p->pending_n--;
            p->pending_bytes -= w->len;
            p->st.queued--;
        }
        w->rc = rc;
        w->done = true;
    }
    p->st.pending = p->pending_n;
    pthread_cond_broadcast(&p->synced);
}

static uint64_t
list_first_off(const struct waiter *list)
{
    uint64_t off = UINT64_MAX;
    for (; list != NULL; list = list->next)
        off = MIN(off, list->off);
    return off;
}

/* The group commit: syncs everything written so far, without the lock during the sync. */
static void
commit_locked(struct apiclient_pusher *p)
{
    struct waiter *list = p->pending;
    int fd = p->segs[p->nsegs - 1].fd;
    uint64_t first = list_first_off(list);

    p->pending = NULL;
    p->syncing = true;
    pthread_mutex_unlock(&p->mu);
    int rc = fdatasync(fd) == 0 ? 0 : -errno;
    pthread_mutex_lock(&p->mu);
    p->syncing = false;
    sync_resolve_locked(p, list, first, rc);
}

static int
seg_create_locked(struct apiclient_pusher *p)
{
    char name[32];
    seg_name(p->next_seq, name, sizeof(name));
    int fd = openat(p->dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    /* The new name must survive a crash along with the records synced into it. */
    if (fsync(p->dirfd) != 0 || segs_push(p, p->next_seq) != 0) {
        int e = errno ? -errno : -ENOMEM;
        close(fd);
        unlinkat(p->dirfd, name, 0);
        return e;
    }
    p->segs[p->nsegs - 1].fd = fd;
    p->next_seq++;
    p->active = true;
    return 0;
}

/* The record of one alert: the hash, a space, the compact JSON and a newline. */
static int
record_build(const char *alert_json, size_t len, struct str *rec, struct apiclient_error *err)
{
    json_error_t je;
    json_t *j = json_loadb(alert_json, len, 0, &je);
    char *dump = NULL;
    int rc = -1;

    if (j == NULL)
        return fail(err, "the alert is not valid JSON: %s (line %d)", je.text, je.line);
    if (!json_is_object(j)) {
        fail(err, "the alert is not a JSON object");
        goto out;
    }
    /* Compact JSON escapes control characters, so a record is a single line. */
    if ((dump = json_dumps(j, JSON_COMPACT)) == NULL) {
        fail(err, "out of memory");
        goto out;
    }
    size_t dl = strlen(dump);
    if (dl > RECORD_MAX) {
        fail(err, "the alert is larger than %zu bytes", RECORD_MAX);
        goto out;
    }
    if (str_appendf(rec, "%016" PRIx64 " ", fnv1a64(dump, dl)) != 0 ||
        str_append(rec, dump, dl) != 0 || str_append_char(rec, '\n') != 0) {
        fail(err, "out of memory");
        goto out;
    }
    rc = 0;
out:
    free(dump);
    json_decref(j);
    return rc;
}

int
apiclient_pusher_add(struct apiclient_pusher *p, const char *alert_json, size_t len,
                     struct apiclient_error *err)
{
    struct str rec = { 0 };
    struct waiter w = { 0 };
    int rc;

    if (record_build(alert_json, len, &rec, err) != 0)
        return -1;
    pthread_mutex_lock(&p->mu);
    if (p->pending_n >= p->max_alerts || p->pending_bytes + rec.len > p->max_bytes) {
        rc = fail(err, "the spool %s is full (%" PRIu64 " alerts, %" PRIu64 " bytes pending)",
                  p->dir, p->pending_n, p->pending_bytes);
        goto out;
    }
    if (!p->active && (rc = seg_create_locked(p)) != 0) {
        rc = fail(err, "%s: cannot create a spool segment: %s", p->dir, strerror(-rc));
        goto out;
    }
    struct seg *s = &p->segs[p->nsegs - 1];
    w.off = s->size;
    w.len = rec.len;
    if ((rc = write_all(s->fd, rec.buf, rec.len)) != 0) {
        /* A short write (disk full) must not leave half a record behind. */
        if (ftruncate(s->fd, (off_t)s->size) != 0 && p->pending == NULL && !p->syncing) {
            /* It stays: seal the segment so nothing lands after it (the reader stops at size). */
            close(s->fd);
            s->fd = -1;
            p->active = false;
        }
        rc = fail(err, "%s: cannot store the alert: %s", p->dir, strerror(-rc));
        goto out;
    }
    s->size += rec.len;
    p->pending_n++;
    p->pending_bytes += rec.len;
    p->st.queued++;
    w.next = p->pending;
    /* Group commit: w stays on the list only until commit_locked marks it done, below. */
    /* cppcheck-suppress autoVariables */
    p->pending = &w;
    while (!w.done) {
        if (!p->syncing)
            commit_locked(p);
        else
            pthread_cond_wait(&p->synced, &p->mu);
    }
    rc = 0;
    if (w.rc != 0)
        rc = fail(err, "%s: cannot sync the spool: %s", p->dir, strerror(-w.rc));
out:
    pthread_mutex_unlock(&p->mu);
    str_free(&rec);
    return rc;
}

/* Seals the active segment: syncs what it holds and closes it. Lock held. */
static void
seal_locked(struct apiclient_pusher *p)
{
    while (p->syncing)
        pthread_cond_wait(&p->synced, &p->mu);
    if (!p->active)
        return;
    struct seg *s = &p->segs[p->nsegs - 1];
    if (p->pending != NULL) {
        struct waiter *list = p->pending;
        p->pending = NULL;
        sync_resolve_locked(p, list, list_first_off(list), fdatasync(s->fd) == 0 ? 0 : -errno);
    }
    if (s->fd >= 0)
        close(s->fd);
    s->fd = -1;
    p->active = false;
    if (s->size == 0) {
        char name[32];
        seg_name(s->seq, name, sizeof(name));
        unlinkat(p->dirfd, name, 0);
        p->nsegs--;
    }
}

/* --- sender --- */

static int
ack_write(struct apiclient_pusher *p, uint64_t seq, uint64_t off)
{
    char buf[64];
    int n = snprintf(buf, sizeof(buf), "%" PRIu64 " %" PRIu64 "\n", seq, off);
    int fd = openat(p->dirfd, "ack.tmp", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    int rc = write_all(fd, buf, (size_t)n);
    if (rc == 0 && fdatasync(fd) != 0)
        rc = -errno;
    close(fd);
    if (rc == 0 && renameat(p->dirfd, "ack.tmp", p->dirfd, "ack") != 0)
        rc = -errno;
    return rc;
}

static void
reject_store(struct apiclient_pusher *p, const char *json, size_t len)
{
    int fd = openat(p->dirfd, "rejected.jsonl", O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0)
        return;
    if (write_all(fd, json, len) == 0 && write_all(fd, "\n", 1) == 0)
        fdatasync(fd);
    close(fd);
}

/* Reads [off, off + want) of a sealed segment into buf (malloc'd). 0 or -errno. */
static int
seg_read(struct apiclient_pusher *p, uint64_t seq, uint64_t off, size_t want, char **ret_buf,
         size_t *ret_len)
{
    char name[32];
    seg_name(seq, name, sizeof(name));
    int fd = openat(p->dirfd, name, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    char *buf = malloc(want + 1);
    size_t got = 0;
    int rc = 0;
    if (buf == NULL) {
        close(fd);
        return -ENOMEM;
    }
    while (got < want) {
        ssize_t r = pread(fd, buf + got, want - got, (off_t)(off + got));
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = -errno;
            break;
        }
        if (r == 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    if (rc != 0) {
        free(buf);
        return rc;
    }
    buf[got] = '\0';
    *ret_buf = buf;
    *ret_len = got;
    return 0;
}

enum send_result { SEND_IDLE, SEND_OK, SEND_FAILED };

/*
 * Sends the next batch of the oldest segment and forgets it once the LAPI
 * answered 201. Runs on the sender thread only (the only one that removes
 * segments), so the segment it reads cannot disappear under it.
 */
static enum send_result
send_batch(struct apiclient_pusher *p)
{
    struct str body = { 0 };
    char *buf = NULL, *answer = NULL;
    size_t len = 0, off = 0;
    unsigned k = 0, max = BATCH_MAX_ALERTS;
    enum send_result res = SEND_FAILED;

    pthread_mutex_lock(&p->mu);
    if (p->nsegs == 1 && p->active)
        seal_locked(p);
    else if (p->active && p->segs[p->nsegs - 1].size >= SEG_ROTATE_BYTES)
        seal_locked(p);
    while (p->nsegs > 0 && !(p->nsegs == 1 && p->active) &&
           p->segs[0].acked_off >= p->segs[0].size) {
        /* An empty or fully acknowledged segment left over: drop it. */
        char name[32];
        seg_name(p->segs[0].seq, name, sizeof(name));
        unlinkat(p->dirfd, name, 0);
        memmove(p->segs, p->segs + 1, (p->nsegs - 1) * sizeof(*p->segs));
        p->nsegs--;
    }
    if (p->nsegs == 0 || (p->nsegs == 1 && p->active)) {
        pthread_mutex_unlock(&p->mu);
        return SEND_IDLE;
    }
    struct seg head = p->segs[0];
    if (p->solo_left > 0)
        max = 1;
    pthread_mutex_unlock(&p->mu);

    size_t want =
        (size_t)MIN(head.size - head.acked_off, (uint64_t)(BATCH_MAX_BYTES + RECORD_MAX + 64));
    if (seg_read(p, head.seq, head.acked_off, want, &buf, &len) != 0)
        goto out;
    if (str_append_char(&body, '[') != 0)
        goto out;
    uint64_t skipped = 0;
    const char *first_json = NULL;
    size_t first_len = 0;
    while (off < len && k < max && body.len < BATCH_MAX_BYTES) {
        char *nl = memchr(buf + off, '\n', len - off);
        if (nl == NULL)
            break;
        size_t ll = (size_t)(nl - (buf + off));
        const char *line = buf + off;
        off += ll + 1;
        char hex[HASH_HEX + 1];
        if (ll <= HASH_HEX + 1 || line[HASH_HEX] != ' ') {
            skipped++;
            continue;
        }
        memcpy(hex, line, HASH_HEX);
        hex[HASH_HEX] = '\0';
        const char *json = line + HASH_HEX + 1;
        size_t jl = ll - HASH_HEX - 1;
        if (strtoull(hex, NULL, 16) != fnv1a64(json, jl)) {
            /* A damaged record cannot be sent; it is dropped with the batch. */
            skipped++;
            continue;
        }
        if ((k > 0 && str_append_char(&body, ',') != 0) || str_append(&body, json, jl) != 0)
            goto out;
        if (k == 0) {
            first_json = json;
            first_len = jl;
        }
        k++;
    }
    if (off == 0 || str_append_char(&body, ']') != 0)
        goto out;
    long status = 0;
    struct apiclient_error err = { { 0 }, 0 };
    if (k > 0) {
        if (apiclient_request(p->client, "POST", "/v1/alerts", body.buf, body.len, &status, &answer,
                              &err) != 0)
            goto out;
        if (status == 400 || status == 422) {
            /* The LAPI refuses the content: find the culprit one alert at a time. */
            if (k > 1) {
                pthread_mutex_lock(&p->mu);
                p->solo_left = k;
                p->st.failures++;
                pthread_mutex_unlock(&p->mu);
                res = SEND_OK;
                goto out_nofail;
            }
            reject_store(p, first_json, first_len);
        } else if (status != 201) {
            goto out;
        }
    }
    uint64_t new_off = head.acked_off + off;
    if (new_off >= head.size) {
        char name[32];
        seg_name(head.seq, name, sizeof(name));
        unlinkat(p->dirfd, name, 0);
        unlinkat(p->dirfd, "ack", 0);
        fsync(p->dirfd);
    } else if (ack_write(p, head.seq, new_off) != 0) {
        /* A lost ack only means this batch may be sent again after a restart. */
    }
    pthread_mutex_lock(&p->mu);
    if (new_off >= head.size) {
        memmove(p->segs, p->segs + 1, (p->nsegs - 1) * sizeof(*p->segs));
        p->nsegs--;
    } else {
        p->segs[0].acked_off = new_off;
    }
    p->pending_n -= k + skipped;
    p->pending_bytes -= off;
    if (status == 201)
        p->st.sent += k;
    else
        p->st.failures++;
    if (p->solo_left > 0)
        p->solo_left--;
    p->st.pending = p->pending_n;
    pthread_mutex_unlock(&p->mu);
    res = SEND_OK;
    goto out_nofail;
out:
    pthread_mutex_lock(&p->mu);
    p->st.failures++;
    pthread_mutex_unlock(&p->mu);
out_nofail:
    free(answer);
    free(buf);
    str_free(&body);
    return res;
}

static void
heartbeat(struct apiclient_pusher *p)
{
    long status = 0;
    char *answer = NULL;
    struct apiclient_error err = { { 0 }, 0 };
    if (apiclient_request(p->client, "GET", "/v1/heartbeat", NULL, 0, &status, &answer, &err) ==
            0 &&
        status == 200) {
        pthread_mutex_lock(&p->mu);
        p->st.heartbeats++;
        pthread_mutex_unlock(&p->mu);
    }
    free(answer);
}

static void *
sender_main(void *arg)
{
    struct apiclient_pusher *p = arg;
    int64_t now = mono_ms(), next_send = now + SEND_INTERVAL_MS, next_hb = now;
    int64_t backoff = 0;

    for (;;) {
        pthread_mutex_lock(&p->mu);
        for (;;) {
            now = mono_ms();
            int64_t until = MIN(next_send, next_hb);
            if (p->stopping || now >= until)
                break;
            struct timespec ts = { .tv_sec = until / 1000, .tv_nsec = (until % 1000) * 1000000 };
            pthread_cond_timedwait(&p->wake, &p->mu, &ts);
        }
        bool stop = p->stopping;
        pthread_mutex_unlock(&p->mu);
        if (stop)
            break;
        if (now >= next_hb) {
            heartbeat(p);
            next_hb = mono_ms() + HEARTBEAT_MS;
        }
        if (now >= next_send) {
            enum send_result r = SEND_OK;
            for (int i = 0; i < BATCHES_PER_TICK && r == SEND_OK &&
                            !__atomic_load_n(&p->stopping, __ATOMIC_RELAXED);
                 i++)
                r = send_batch(p);
            if (r == SEND_FAILED) {
                backoff = backoff == 0 ? SEND_INTERVAL_MS : MIN(backoff * 2, BACKOFF_MAX_MS);
                next_send = mono_ms() + backoff;
            } else {
                backoff = 0;
                next_send = mono_ms() + SEND_INTERVAL_MS;
            }
        }
    }
    /* Stopping: send what is pending until flush_ms runs out or a send fails. */
    int64_t deadline = mono_ms() + p->flush_ms;
    while (mono_ms() < deadline && send_batch(p) == SEND_OK)
        ;
    return NULL;
}

void
apiclient_pusher_set_limits(struct apiclient_pusher *p, uint64_t max_alerts, uint64_t max_bytes)
{
    pthread_mutex_lock(&p->mu);
    p->max_alerts = max_alerts > 0 ? max_alerts : SPOOL_MAX_ALERTS;
    p->max_bytes = max_bytes > 0 ? max_bytes : SPOOL_MAX_BYTES;
    pthread_mutex_unlock(&p->mu);
}

int
apiclient_pusher_start(struct apiclient_pusher *p, struct apiclient_error *err)
{
    if (p->started)
        return fail(err, "the pusher is already started");
    int rc = pthread_create(&p->thread, NULL, sender_main, p);
    if (rc != 0)
        return fail(err, "cannot start the sender thread: %s", strerror(rc));
    p->started = true;
    return 0;
}

void
apiclient_pusher_free(struct apiclient_pusher *p, unsigned flush_ms)
{
    if (p == NULL)
        return;
    if (p->started) {
        pthread_mutex_lock(&p->mu);
        __atomic_store_n(&p->stopping, true, __ATOMIC_RELAXED);
        p->flush_ms = flush_ms;
        pthread_cond_broadcast(&p->wake);
        pthread_mutex_unlock(&p->mu);
        pthread_join(p->thread, NULL);
    }
    pthread_mutex_lock(&p->mu);
    if (p->nsegs > 0)
        seal_locked(p);
    pthread_mutex_unlock(&p->mu);
    if (p->lockfd >= 0)
        close(p->lockfd);
    if (p->dirfd >= 0)
        close(p->dirfd);
    free(p->segs);
    free(p->dir);
    pthread_cond_destroy(&p->wake);
    pthread_cond_destroy(&p->synced);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

void
apiclient_pusher_stats(struct apiclient_pusher *p, struct apiclient_pusher_stats *ret)
{
    pthread_mutex_lock(&p->mu);
    *ret = p->st;
    ret->pending = p->pending_n;
    pthread_mutex_unlock(&p->mu);
}

/*
 * source.c - the replay source: CrowdSec's file datasource in cat mode
 * (pkg/acquisition/modules/file, ConfigureByDSN + readFile). The DSN is
 * file://PATH[?max_buffer_size=N&log_level=L]; PATH may be a glob, whose
 * matches are read one after the other in sorted order; a name ending in .gz
 * is decompressed (zlib). Lines are split as bufio.ScanLines does (\n, a
 * trailing \r dropped), empty lines are skipped.
 *
 * One difference: a line longer than max_buffer_size (64 KiB by default)
 * makes CrowdSec's scanner fail and stop reading that file; we drop the line,
 * count it and go on, so one hostile line cannot hide the rest of a log.
 */
#include "agent/internal.h"

#include <glob.h>
#include <zlib.h>

#define READ_CHUNK ((size_t)256 * 1024)

struct agent_source {
    char **files;
    size_t nfiles, next_file;
    size_t max_line;
    gzFile gz;       /* the file being read, or NULL */
    const char *cur; /* its name */
    char *buf;       /* bytes read and not yet returned: buf[start, end) */
    size_t start, end, cap;
    bool eof;      /* the current file has no more bytes */
    bool skipping; /* inside a too-long line: drop until its \n */
    uint64_t too_long;
};

static void
source_close_file(struct agent_source *s)
{
    if (s->gz != NULL)
        gzclose(s->gz);
    s->gz = NULL;
    s->start = s->end = 0;
    s->eof = false;
    s->skipping = false;
}

void
agent_source_free(struct agent_source *s)
{
    if (s == NULL)
        return;
    source_close_file(s);
    if (s->files != NULL)
        for (size_t i = 0; i < s->nfiles; i++)
            free(s->files[i]);
    free(s->files);
    free(s->buf);
    free(s);
}

/* Parses the query string: max_buffer_size is used, log_level accepted, anything else refused. */
static int
parse_args(struct agent_source *s, const char *q, struct agent_error *err)
{
    while (q != NULL && *q != '\0') {
        const char *amp = strchr(q, '&');
        size_t n = amp != NULL ? (size_t)(amp - q) : strlen(q);
        if (n > 16 && strncmp(q, "max_buffer_size=", 16) == 0) {
            char num[32];
            char *end;
            if (n - 16 >= sizeof(num))
                goto bad;
            memcpy(num, q + 16, n - 16);
            num[n - 16] = '\0';
            errno = 0;
            unsigned long long v = strtoull(num, &end, 10);
            if (errno != 0 || *end != '\0' || v == 0 || v > AGENT_MAX_LINE_HARD)
                goto bad;
            s->max_line = (size_t)v;
        } else if (n < 10 || strncmp(q, "log_level=", 10) != 0) {
            goto bad;
        }
        q = amp != NULL ? amp + 1 : NULL;
    }
    return 0;
bad:
    agent_errorf(
        err,
        "dsn: unsupported argument '%.*s' (file:// accepts max_buffer_size=N up to %zu and "
        "log_level)",
        (int)(strchr(q, '&') ? (size_t)(strchr(q, '&') - q) : strlen(q)), q, AGENT_MAX_LINE_HARD);
    return -1;
}

int
agent_source_open(const char *dsn, struct agent_source **ret, struct agent_error *err)
{
    struct agent_source *s = NULL;
    char *path = NULL;
    glob_t g = { 0 };
    int rc = -1;

    if (strncmp(dsn, "file://", 7) != 0) {
        agent_errorf(err, "dsn '%s': only file:// is supported (file:///path/to/log[.gz])", dsn);
        return -1;
    }
    if ((s = calloc(1, sizeof(*s))) == NULL || (path = strdup(dsn + 7)) == NULL)
        goto oom;
    s->max_line = AGENT_MAX_LINE;
    char *q = strchr(path, '?');
    if (q != NULL) {
        *q++ = '\0';
        if (parse_args(s, q, err) < 0)
            goto out;
    }
    if (path[0] == '\0') {
        agent_errorf(err, "dsn '%s': empty path", dsn);
        goto out;
    }
    int grc = glob(path, GLOB_ERR, NULL, &g);
    if (grc == GLOB_NOMATCH || (grc == 0 && g.gl_pathc == 0)) {
        agent_errorf(err, "dsn '%s': no file matches %s", dsn, path);
        goto out;
    }
    if (grc != 0) {
        agent_errorf(err, "dsn '%s': cannot read %s", dsn, path);
        goto out;
    }
    /* glob() sorts its matches, as Go's filepath.Glob does. */
    if ((s->files = calloc(g.gl_pathc, sizeof(*s->files))) == NULL)
        goto oom;
    for (size_t i = 0; i < g.gl_pathc; i++) {
        if ((s->files[i] = strdup(g.gl_pathv[i])) == NULL)
            goto oom;
        s->nfiles++;
    }
    s->cap = READ_CHUNK + s->max_line + 1;
    if ((s->buf = malloc(s->cap)) == NULL)
        goto oom;
    *ret = s;
    s = NULL;
    rc = 0;
    goto out;
oom:
    agent_errorf(err, "out of memory");
out:
    globfree(&g);
    free(path);
    agent_source_free(s);
    return rc;
}

uint64_t
agent_source_too_long(const struct agent_source *s)
{
    return s->too_long;
}

/* Reads more bytes of the current file after buf[start, end). 0, or -1 with err. */
static int
fill(struct agent_source *s, struct agent_error *err)
{
    if (s->start > 0) {
        memmove(s->buf, s->buf + s->start, s->end - s->start);
        s->end -= s->start;
        s->start = 0;
    }
    size_t room = s->cap - s->end;
    int n = gzread(s->gz, s->buf + s->end, (unsigned)(room > READ_CHUNK ? READ_CHUNK : room));
    if (n < 0) {
        int zerr;
        const char *msg = gzerror(s->gz, &zerr);
        agent_errorf(err, "%s: %s", s->cur, msg);
        return -1;
    }
    if (n == 0)
        s->eof = true;
    s->end += (size_t)n;
    return 0;
}

int
agent_source_next(struct agent_source *s, const char **ret_line, size_t *ret_len,
                  const char **ret_file, struct agent_error *err)
{
    for (;;) {
        if (s->gz == NULL) {
            if (s->next_file >= s->nfiles)
                return 0;
            s->cur = s->files[s->next_file++];
            if ((s->gz = gzopen(s->cur, "rb")) == NULL) {
                agent_errorf(err, "%s: %s", s->cur, strerror(errno));
                return -1;
            }
            gzbuffer(s->gz, 128 * 1024);
        }
        char *nl = memchr(s->buf + s->start, '\n', s->end - s->start);
        size_t len;
        const char *line = s->buf + s->start;
        if (nl != NULL) {
            len = (size_t)(nl - line);
            s->start += len + 1;
        } else if (s->end - s->start > s->max_line) {
            /* A line that does not fit: drop what we have and the rest up to its \n. */
            s->start = s->end;
            if (!s->skipping)
                s->too_long++;
            s->skipping = true;
            if (!s->eof && fill(s, err) < 0)
                return -1;
            if (s->eof && s->start == s->end)
                source_close_file(s);
            continue;
        } else if (!s->eof) {
            if (fill(s, err) < 0)
                return -1;
            continue;
        } else if (s->end > s->start) {
            /* The last line of a file without a final \n. */
            len = s->end - s->start;
            s->start = s->end;
        } else {
            source_close_file(s);
            continue;
        }
        if (s->skipping) {
            s->skipping = false;
            continue;
        }
        if (len > s->max_line) {
            s->too_long++;
            continue;
        }
        if (len > 0 && line[len - 1] == '\r')
            len--;
        if (len == 0)
            continue;
        *ret_line = line;
        *ret_len = len;
        *ret_file = s->cur;
        return 1;
    }
}

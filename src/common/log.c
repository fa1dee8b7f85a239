/*
 * log.c - levelled logging to stderr or syslog(3).
 *
 * The state is a few process-wide variables set once at start-up by the main;
 * stderr lines carry an ISO-8601 UTC timestamp and the level so that they can
 * be read without a journal. Each line is built in one buffer and written with
 * one call so that lines from several threads do not interleave.
 */
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"

static enum log_level log_level_current = LOG_LEVEL_INFO;
static enum log_target log_target_current = LOG_TARGET_STDERR;

static const char *const log_level_names[] = {
    [LOG_LEVEL_ERROR] = "error", [LOG_LEVEL_WARN] = "warn",   [LOG_LEVEL_INFO] = "info",
    [LOG_LEVEL_DEBUG] = "debug", [LOG_LEVEL_TRACE] = "trace",
};

void
log_init(const char *ident, enum log_level level, enum log_target target)
{
    log_level_current = level;
    if (log_target_current == LOG_TARGET_SYSLOG && target != LOG_TARGET_SYSLOG)
        closelog();
    log_target_current = target;
    if (target == LOG_TARGET_SYSLOG)
        openlog(ident ? ident : "phalanx", LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void
log_set_level(enum log_level level)
{
    log_level_current = level;
}

enum log_level
log_get_level(void)
{
    return log_level_current;
}

int
log_level_parse(const char *name, enum log_level *ret_level)
{
    if (!name)
        return -EINVAL;
    for (size_t i = 0; i < ARRAY_SIZE(log_level_names); i++) {
        if (strcmp(name, log_level_names[i]) == 0) {
            *ret_level = (enum log_level)i;
            return 0;
        }
    }
    if (strcmp(name, "warning") == 0) {
        *ret_level = LOG_LEVEL_WARN;
        return 0;
    }
    return -EINVAL;
}

static int
log_syslog_priority(enum log_level level)
{
    switch (level) {
    case LOG_LEVEL_ERROR: return LOG_ERR;
    case LOG_LEVEL_WARN: return LOG_WARNING;
    case LOG_LEVEL_INFO: return LOG_INFO;
    case LOG_LEVEL_DEBUG:
    case LOG_LEVEL_TRACE: break;
    }
    return LOG_DEBUG;
}

void
log_vmsg(enum log_level level, const char *fmt, va_list ap)
{
    char line[4096];
    size_t off = 0;
    int n;

    if ((int)level < 0 || level > log_level_current)
        return;
    if (log_target_current == LOG_TARGET_SYSLOG) {
        vsyslog(log_syslog_priority(level), fmt, ap);
        return;
    }

    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    off = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%SZ", &tm);
    n = snprintf(line + off, sizeof(line) - off, " [%s] ",
                 (size_t)level < ARRAY_SIZE(log_level_names) ? log_level_names[level] : "?");
    if (n > 0)
        off += (size_t)n;
    n = vsnprintf(line + off, sizeof(line) - off, fmt, ap);
    if (n > 0)
        off += (size_t)n;
    /* A truncated line still ends with its newline. */
    if (off > sizeof(line) - 2)
        off = sizeof(line) - 2;
    line[off++] = '\n';
    line[off] = '\0';

    const char *p = line;
    while (off > 0) {
        ssize_t w = write(STDERR_FILENO, p, off);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        p += w;
        off -= (size_t)w;
    }
}

void
log_msg(enum log_level level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_vmsg(level, fmt, ap);
    va_end(ap);
}

void
fatal(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    /* Error is the lowest configurable level, so this line is never filtered. */
    log_vmsg(LOG_LEVEL_ERROR, fmt, ap);
    va_end(ap);
    exit(1);
}

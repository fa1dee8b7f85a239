/*
 * log.h - levelled logging to stderr or syslog.
 *
 * Library code does not log (it returns errors); mains and request handlers do.
 * fatal() is for start-up errors only.
 */
#ifndef PHALANX_LOG_H
#define PHALANX_LOG_H

#include "common.h"

enum log_level {
    LOG_LEVEL_ERROR,
    LOG_LEVEL_WARN,
    LOG_LEVEL_INFO,
    LOG_LEVEL_DEBUG,
    LOG_LEVEL_TRACE
};
enum log_target { LOG_TARGET_STDERR, LOG_TARGET_SYSLOG };

/* Set the minimum level and where lines go; ident names the program in syslog. */
void log_init(const char *ident, enum log_level level, enum log_target target);
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Parses "error|warn|warning|info|debug|trace"; returns 0 or -EINVAL. */
int log_level_parse(const char *name, enum log_level *ret_level);

void log_msg(enum log_level level, const char *fmt, ...) PRINTF_LIKE(2, 3);
void log_vmsg(enum log_level level, const char *fmt, va_list ap) PRINTF_LIKE(2, 0);
_Noreturn void fatal(const char *fmt, ...) PRINTF_LIKE(1, 2);

#define log_error(...) log_msg(LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__)

#endif

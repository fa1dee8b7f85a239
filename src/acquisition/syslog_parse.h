/*
 * syslog_parse.h - the pure parts of the syslog datasource, kept apart from
 * the sockets so that tests and the fuzzer reach them directly: CrowdSec's
 * RFC 3164 and RFC 5424 parsers, the line it rebuilds from them, and the TCP
 * framer (RFC 6587 octet counting and LF framing).
 */
#ifndef PHALANX_ACQUISITION_SYSLOG_PARSE_H
#define PHALANX_ACQUISITION_SYSLOG_PARSE_H

#include "common/common.h"

/* A wall-clock time as written by the sender, with its UTC offset. */
struct syslog_time {
    int year, month, day, hour, min, sec; /* month 1..12 */
    long nsec;
    int offset; /* seconds east of UTC */
};

/* Fields of a parsed message; strings point into the parsed buffer. */
struct syslog_msg {
    struct syslog_time ts;
    const char *host, *tag, *pid, *msg;
    size_t host_len, tag_len, pid_len, msg_len;
};

/*
 * CrowdSec's rfc3164 parser with WithCurrentYear (a timestamp without a year
 * takes current_year). 0, or -1 when buf is no RFC 3164 message.
 */
int syslog_parse_rfc3164(const char *buf, size_t len, int current_year, struct syslog_msg *ret);
/*
 * CrowdSec's rfc5424 parser; a nil timestamp ("-") takes now_s (UTC). 0 or -1.
 */
int syslog_parse_rfc5424(const char *buf, size_t len, int64_t now_s, struct syslog_msg *ret);

/*
 * The line CrowdSec hands to the parsers for one received message:
 * RFC 3164 tried first, then RFC 5424, rebuilt as
 * "Jan 2 15:04:05 host tag[pid]: msg" with one trailing "\n" removed; with
 * disable_rfc only the "<PRI>" is removed. now_s (UTC seconds) stands in for a
 * missing timestamp and gives the current year. Writes at most outsz bytes
 * (no NUL) and the length to *ret_len. 0, -1 when the message is not
 * recognised (CrowdSec drops it), -ENOSPC when out is too small (outsz >=
 * len + SYSLOG_LINE_EXTRA always suffices).
 */
#define SYSLOG_LINE_EXTRA 64
int syslog_build_line(const char *buf, size_t len, bool disable_rfc, int64_t now_s, char *out,
                      size_t outsz, size_t *ret_len);

/*
 * The TCP byte stream of one connection cut into messages. A frame that
 * starts with a digit is octet-counted ("LEN SP MSG"), any other is ended by
 * LF. Messages longer than max_len are skipped whole and counted in
 * truncated; a bad octet count is malformed and ends the stream (there is no
 * way to find the next frame).
 */
struct syslog_framer {
    char *buf;
    size_t cap, used; /* cap = max_len + SYSLOG_FRAME_SLACK */
    size_t max_len;
    size_t skip_bytes; /* rest of an oversized octet-counted frame */
    bool skip_line;    /* rest of an oversized LF frame */
    uint64_t truncated, malformed;
};
#define SYSLOG_FRAME_SLACK 16

/* Called for each message (without its framing); non-zero stops feeding. */
typedef int (*syslog_frame_fn)(void *ctx, const char *msg, size_t len);

/* 0 or -ENOMEM. */
int syslog_framer_init(struct syslog_framer *f, size_t max_len);
void syslog_framer_release(struct syslog_framer *f);
/*
 * Where the next received bytes go (*ret_room bytes of room, never 0 after
 * syslog_framer_process) and how many arrived.
 */
char *syslog_framer_space(struct syslog_framer *f, size_t *ret_room);
void syslog_framer_commit(struct syslog_framer *f, size_t n);
/*
 * Cuts every complete message out of the buffer. 0, -EBADMSG on a malformed
 * stream, or the callback's non-zero return. at_eof: the peer closed, an
 * unterminated LF frame is a message, an incomplete octet-counted one is
 * malformed.
 */
int syslog_framer_process(struct syslog_framer *f, bool at_eof, syslog_frame_fn cb, void *ctx);

#endif

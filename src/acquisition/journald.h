/*
 * journald.h - the pure parts of the journalctl datasource, shared with its
 * tests: the journalctl arguments of journalctl_filter turned into sd-journal
 * match operations, and an entry rendered the way `journalctl -o short`
 * prints it (the lines CrowdSec reads from journalctl's stdout).
 */
#ifndef PHALANX_ACQUISITION_JOURNALD_H
#define PHALANX_ACQUISITION_JOURNALD_H

#include "common/common.h"

enum journald_op_kind {
    JOURNALD_MATCH, /* sd_journal_add_match(str) */
    JOURNALD_OR,    /* sd_journal_add_disjunction */
    JOURNALD_AND,   /* sd_journal_add_conjunction */
};

struct journald_op {
    int kind; /* enum journald_op_kind */
    char *str;
};

/*
 * The matches journalctl builds from args: `-u UNIT`/`--unit=UNIT` (with
 * its coredump, PID 1 and OBJECT_SYSTEMD_UNIT companions), `-t ID` /
 * `--identifier=ID`, then the positional FIELD=value terms with "+" for OR.
 * 0 with *ret (free with journald_ops_free), or -1 with a message in err.
 */
int journald_compile_filters(char *const *args, size_t nargs, struct journald_op **ret,
                             size_t *ret_n, char *err, size_t errlen);
void journald_ops_free(struct journald_op *ops, size_t n);

/* The fields output_short reads; NULL when absent. Values are not NUL-terminated. */
struct journald_entry {
    const char *hostname, *identifier, *comm, *pid, *syslog_pid, *message;
    size_t hostname_len, identifier_len, comm_len, pid_len, syslog_pid_len, message_len;
    uint64_t realtime_usec; /* _SOURCE_REALTIME_TIMESTAMP when valid, else the entry's */
};

/*
 * The entry as `journalctl -o short` prints it (local time), its lines
 * separated by '\n' without a final one: a multi-line message continues on
 * lines indented to the message column. 0 with *ret malloc'ed, -1 when the
 * entry has no MESSAGE (journalctl skips it), -ENOMEM.
 */
int journald_format_short(const struct journald_entry *e, char **ret, size_t *ret_len);

/*
 * journalctl's --since for the forms used in practice: "YYYY-MM-DD",
 * "YYYY-MM-DD HH:MM[:SS]" (local time), "now", "today", "yesterday", and
 * "-N[s|m|h|d]" relative to now_usec. 0 or -1.
 */
int journald_parse_since(const char *s, uint64_t now_usec, uint64_t *ret_usec);

#endif

/*
 * fuzz_syslog.c - libFuzzer harness for what the syslog datasource does
 * with a peer's bytes: the RFC 3164 / RFC 5424 parsers with the rebuilt
 * line, the disable_rfc_parser PRI strip, and the TCP framer fed the same
 * bytes in chunks of a size the input chooses.
 *
 * The first byte holds the chunk size (low 6 bits, +1) and whether the
 * stream ends with EOF; the rest is the message / stream. The line must fit
 * in len + SYSLOG_LINE_EXTRA, and every framed message must lie inside the
 * framer's buffer and respect max_len.
 */
#include "acquisition/syslog_parse.h"
#include "common/common.h"
#include "fuzz.h"

#define FUZZ_MAX_LEN 256

/* replay.c calls this name at exit for every harness; nothing is kept here. */
void
fuzz_expr_cleanup(void)
{
}

struct frame_check {
    const struct syslog_framer *f;
    size_t n;
};

static int
on_frame(void *ctx, const char *msg, size_t len)
{
    struct frame_check *c = ctx;
    if (len == 0 || len > FUZZ_MAX_LEN || msg < c->f->buf || msg + len > c->f->buf + c->f->used)
        abort();
    c->n++;
    return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *msg;
    size_t len, chunk, off = 0, n = 0;
    char *out;
    bool eof;
    struct syslog_framer f;
    struct frame_check c = { .f = &f };
    int rc = 0;

    if (size < 1 || size > (1u << 16))
        return 0;
    chunk = (size_t)(data[0] & 0x3f) + 1;
    eof = (data[0] & 0x40) != 0;
    msg = (const char *)data + 1;
    len = size - 1;

    out = malloc(len + SYSLOG_LINE_EXTRA);
    if (out == NULL)
        return 0;
    for (int disable = 0; disable < 2; disable++) {
        if (syslog_build_line(msg, len, disable, 1700000000, out, len + SYSLOG_LINE_EXTRA, &n) ==
                0 &&
            n > len + SYSLOG_LINE_EXTRA)
            abort();
    }
    free(out);

    if (syslog_framer_init(&f, FUZZ_MAX_LEN) < 0)
        return 0;
    while (off < len && rc == 0) {
        size_t room;
        char *dst = syslog_framer_space(&f, &room);
        size_t k = MIN(MIN(chunk, room), len - off);
        if (room == 0)
            abort();
        memcpy(dst, msg + off, k);
        syslog_framer_commit(&f, k);
        off += k;
        rc = syslog_framer_process(&f, false, on_frame, &c);
    }
    if (rc == 0 && eof)
        syslog_framer_process(&f, true, on_frame, &c);
    syslog_framer_release(&f);
    return 0;
}

/*
 * fuzz_acquis.c - libFuzzer harness for the acquisition loader: the input
 * is one acquis.yaml (any number of documents), loaded with
 * acq_load_buffer(). Loading only decodes and validates (file globs are
 * expanded at start, sockets opened at start), so nothing here touches the
 * file system or the network; the sources are never started.
 *
 * FUZZ_ACQUIS_TRACE=1 prints the load error or the sources loaded.
 */
#include "common/common.h"

#include "acquisition/acquisition.h"
#include "fuzz.h"

#define FUZZ_MAX_INPUT (1u << 16)

void
fuzz_expr_cleanup(void)
{
    /* replay.c's end-of-run hook (named after the first harness): nothing is kept between inputs */
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct acquisition *a = NULL;
    struct acq_error err = { { 0 } };
    bool trace = getenv("FUZZ_ACQUIS_TRACE") != NULL;
    char *buf;

    if (size > FUZZ_MAX_INPUT || (buf = malloc(size + 1)) == NULL)
        return 0;
    memcpy(buf, data, size);
    buf[size] = '\0';
    if (acq_load_buffer("fuzz.yaml", buf, size, &a, &err) != 0) {
        /* Every error names the document: "fuzz.yaml:LINE: ..." or a plain resource message. */
        if (strncmp(err.message, "fuzz.yaml:", 10) != 0 &&
            strcmp(err.message, "out of memory") != 0 && strstr(err.message, "too many") == NULL)
            abort();
        if (trace)
            fprintf(stderr, "error: %s\n", err.message);
        free(buf);
        return 0;
    }
    for (size_t i = 0; i < acq_count(a); i++) {
        const struct acq_common *c = acq_common_at(a, i);
        const char *d = acq_describe(a, i);
        if (c == NULL || d == NULL || c->source == NULL || c->mode == NULL || c->nlabels == 0)
            abort();
        if (trace)
            fprintf(stderr, "source %zu: %s (%s, %zu labels)\n", i, d, c->mode, c->nlabels);
    }
    acq_free(a);
    free(buf);
    return 0;
}

/*
 * fuzz_grok.c - libFuzzer harness for the grok engine: expand, translate,
 * compile, match.
 *
 * The input is a pattern, a newline, then a subject (any bytes, NULs and
 * invalid UTF-8 included). The pattern is compiled against a library holding
 * the base set (config/patterns/base) and, when it compiles, matched against
 * the subject under the normal match limits. Whatever the input, the engine
 * must answer without crashing, leaking or running unbounded, and a match
 * must hand back captures that lie inside the subject.
 */
#include "common/common.h"
#include "common/str.h"
#include "fuzz.h"
#include "grok/grok.h"

#ifndef PHALANX_GROK_BASE
#define PHALANX_GROK_BASE "config/patterns/base"
#endif

#define FUZZ_MAX_INPUT (1u << 16)

static struct grok_library *lib;
static bool lib_failed;

/*
 * replay.c calls this name at exit for every harness it is linked with;
 * here it releases the grok library.
 */
void
fuzz_expr_cleanup(void)
{
    grok_library_free(lib);
    lib = NULL;
}

static int
setup(void)
{
    struct grok_error err;

    if (lib != NULL)
        return 0;
    if (lib_failed)
        return -1;
    lib = grok_library_new();
    if (lib == NULL || grok_library_load_file(lib, PHALANX_GROK_BASE, &err) < 0) {
        fprintf(stderr, "fuzz_grok: cannot load %s: %s\n", PHALANX_GROK_BASE,
                lib ? err.message : "out of memory");
        grok_library_free(lib);
        lib = NULL;
        lib_failed = true;
        return -1;
    }
    return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *nl;
    char *pattern;
    struct grok_error err;

    if (size > FUZZ_MAX_INPUT || setup() < 0)
        return 0;
    nl = memchr(data, '\n', size);
    size_t plen = nl ? (size_t)(nl - (const char *)data) : size;
    pattern = strndup((const char *)data, plen); /* stops at a NUL too */
    if (pattern == NULL)
        return 0;
    const char *subject = nl ? nl + 1 : "";
    size_t slen = nl ? size - plen - 1 : 0;

    struct grok_pattern *p = grok_compile(lib, pattern, &err);
    if (p != NULL) {
        size_t n = grok_field_count(p);
        struct strv *v = calloc(n + 1, sizeof(*v));
        if (v != NULL && grok_match(p, subject, slen, v) == GROK_MATCH) {
            for (size_t i = 0; i < n; i++) {
                bool inside = v[i].ptr >= subject && v[i].ptr + v[i].len <= subject + slen;
                if (!inside && v[i].len != 0)
                    abort(); /* a capture must be a slice of the subject */
            }
        }
        (void)grok_pattern_regex(p);
        free(v);
        grok_pattern_free(p);
    }
    free(pattern);
    return 0;
}

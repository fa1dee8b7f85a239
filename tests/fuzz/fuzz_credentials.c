/*
 * fuzz_credentials.c - libFuzzer harness for local_api_credentials.yaml
 * (apiclient_credentials_load). The loader only reads files, so each input
 * is written to a file in a private temporary directory made once (under
 * /dev/shm when it exists, so the fsync of the save below costs nothing).
 *
 * An input that loads must have a non-empty url; it is then saved with
 * apiclient_credentials_save (what `cscli machines add` / `lapi register`
 * write) and loaded again, and every field must come back identical: the
 * writer's quoting has to survive the reader for any value the reader
 * accepts. A load error must name the file.
 *
 * FUZZ_CREDENTIALS_TRACE=1 prints the load error or the fields loaded.
 */
#include "common/common.h"

#include <unistd.h>

#include "apiclient/apiclient.h"
#include "fuzz.h"

#define FUZZ_MAX_INPUT (1u << 17)

static struct {
    char dir[64], input[96], saved[96];
    bool ready, trace;
} state;

void
fuzz_expr_cleanup(void)
{
    if (state.dir[0] == '\0')
        return;
    unlink(state.input);
    unlink(state.saved);
    rmdir(state.dir);
    memset(&state, 0, sizeof(state));
}

/* A broken property: the temporary files go first, since abort() skips atexit. */
static _Noreturn void
die(void)
{
    fuzz_expr_cleanup();
    abort();
}

static int
setup(void)
{
    if (state.ready)
        return 0;
    state.trace = getenv("FUZZ_CREDENTIALS_TRACE") != NULL;
    const char *tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm"
                      : getenv("TMPDIR") != NULL    ? getenv("TMPDIR")
                                                    : "/tmp";
    snprintf(state.dir, sizeof(state.dir), "%s/phalanx-fuzz-cred.XXXXXX", tmp);
    if (mkdtemp(state.dir) == NULL) {
        state.dir[0] = '\0';
        return -1;
    }
    snprintf(state.input, sizeof(state.input), "%s/input.yaml", state.dir);
    snprintf(state.saved, sizeof(state.saved), "%s/saved.yaml", state.dir);
    atexit(fuzz_expr_cleanup);
    state.ready = true;
    return 0;
}

static int
write_input(const uint8_t *data, size_t size)
{
    FILE *f = fopen(state.input, "wb");

    if (f == NULL)
        return -1;
    size_t w = size > 0 ? fwrite(data, 1, size, f) : 0;
    return fclose(f) == 0 && w == size ? 0 : -1;
}

/* The saver drops empty strings (cscli's omitempty), so NULL and "" are the same value. */
static bool
same(const char *a, const char *b)
{
    return strcmp(a != NULL ? a : "", b != NULL ? b : "") == 0;
}

static void
check_field(const char *name, const char *want, const char *got)
{
    if (!same(want, got)) {
        fprintf(stderr, "fuzz_credentials: %s changed by save + load: '%s' -> '%s'\n", name,
                want ? want : "(null)", got ? got : "(null)");
        die();
    }
}

static void
check_save_load(const struct apiclient_credentials *c)
{
    struct apiclient_credentials again = { 0 };
    struct apiclient_error err = { { 0 }, 0 };

    if (apiclient_credentials_save(state.saved, c, &err) != 0) {
        fprintf(stderr, "fuzz_credentials: save failed: %s\n", err.message);
        die();
    }
    if (apiclient_credentials_load(state.saved, &again, &err) != 0) {
        fprintf(stderr, "fuzz_credentials: the saved file does not load: %s\n", err.message);
        die();
    }
    check_field("url", c->url, again.url);
    check_field("login", c->login, again.login);
    check_field("password", c->password, again.password);
    check_field("ca_cert_path", c->ca_cert_path, again.ca_cert_path);
    check_field("cert_path", c->cert_path, again.cert_path);
    check_field("key_path", c->key_path, again.key_path);
    apiclient_credentials_clear(&again);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct apiclient_credentials c = { 0 };
    struct apiclient_error err = { { 0 }, 0 };

    if (size > FUZZ_MAX_INPUT)
        return 0;
    if (setup() < 0 || write_input(data, size) < 0) {
        fprintf(stderr, "fuzz_credentials: cannot write the input file\n");
        die();
    }
    if (apiclient_credentials_load(state.input, &c, &err) != 0) {
        if (strncmp(err.message, state.input, strlen(state.input)) != 0) {
            fprintf(stderr, "fuzz_credentials: error without the file name: %s\n", err.message);
            die();
        }
        if (state.trace)
            fprintf(stderr, "  load error: %s\n", err.message);
        return 0;
    }
    if (c.url == NULL || c.url[0] == '\0') {
        fprintf(stderr, "fuzz_credentials: loaded without a url\n");
        die();
    }
    if (state.trace)
        fprintf(stderr, "  url '%s' login '%s'%s%s%s\n", c.url, c.login ? c.login : "",
                c.ca_cert_path ? " ca" : "", c.cert_path ? " cert" : "", c.key_path ? " key" : "");
    check_save_load(&c);
    apiclient_credentials_clear(&c);
    return 0;
}

/*
 * replay.c - replays a fuzz corpus as an ordinary test: feeds every file of
 * the directories given on the command line to LLVMFuzzerTestOneInput, in
 * name order, under the sanitizers of the normal build. A crash, leak or
 * sanitizer report fails the test; a hang hits meson's timeout.
 *
 * Output is TAP, one line per BATCH files (the corpus has ~2,000 files),
 * naming the batch's first and last file. When an input crashes, trips a
 * sanitizer or runs longer than INPUT_TIMEOUT seconds, its path is written to
 * stderr before the process dies, so the report names it.
 */
#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/common.h"
#include "fuzz.h"

#define BATCH            100
#define REPLAY_MAX_INPUT (1u << 20)
#define INPUT_TIMEOUT    20 /* seconds, generous for a sanitizer build */

/* Present only in sanitizer builds: called before a sanitizer kills the process. */
extern void __sanitizer_set_death_callback(void (*callback)(void)) __attribute__((weak));

static char current[4096]; /* the input being run, for the death reports */
static size_t current_len;

static void
report_current(void)
{
    static const char prefix[] = "\nreplay: died on input ";
    ssize_t w = write(STDERR_FILENO, prefix, sizeof(prefix) - 1);
    w = write(STDERR_FILENO, current, current_len);
    w = write(STDERR_FILENO, "\n", 1);
    (void)w;
}

static void
on_signal(int sig)
{
    if (sig == SIGALRM) {
        static const char msg[] = "\nreplay: timeout";
        ssize_t w = write(STDERR_FILENO, msg, sizeof(msg) - 1);
        (void)w;
    }
    report_current();
    signal(sig, SIG_DFL);
    raise(sig);
}

static void
install_reporters(void)
{
    if (__sanitizer_set_death_callback != NULL)
        __sanitizer_set_death_callback(report_current);
    signal(SIGALRM, on_signal);
    /* Sanitizers install their own SEGV handlers (which call the death callback); keep them. */
    if (__sanitizer_set_death_callback == NULL) {
        signal(SIGSEGV, on_signal);
        signal(SIGBUS, on_signal);
        signal(SIGFPE, on_signal);
        signal(SIGABRT, on_signal);
    }
}

static int
skip_hidden(const struct dirent *d)
{
    return d->d_name[0] != '.';
}

/* Reads path into a malloc'd buffer (NULL with *ret_len 0 for an empty file). */
static int
read_input(const char *path, uint8_t **ret_buf, size_t *ret_len)
{
    struct stat st;
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    int rc = -1;

    if (f == NULL)
        return -1;
    if (fstat(fileno(f), &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > REPLAY_MAX_INPUT)
        goto out;
    if (st.st_size > 0) {
        buf = malloc((size_t)st.st_size);
        if (buf == NULL || fread(buf, 1, (size_t)st.st_size, f) != (size_t)st.st_size)
            goto out;
    }
    *ret_buf = buf;
    *ret_len = (size_t)st.st_size;
    buf = NULL;
    rc = 0;
out:
    free(buf);
    fclose(f);
    return rc;
}

int
main(int argc, char **argv)
{
    int tap = 0, failed = 0;
    size_t total = 0;

    if (argc < 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR...\n", argv[0]);
        return 2;
    }
    bool trace = getenv("FUZZ_EXPR_TRACE") != NULL; /* the harness then says what each input did */

    setvbuf(stdout, NULL, _IOLBF, 0);
    install_reporters();
    for (int d = 1; d < argc; d++) {
        struct dirent **names = NULL;
        int n = scandir(argv[d], &names, skip_hidden, alphasort);
        if (n < 0) {
            printf("not ok %d - %s: %s\n", ++tap, argv[d], strerror(errno));
            failed++;
            continue;
        }
        if (n == 0) {
            printf("not ok %d - %s: empty corpus\n", ++tap, argv[d]);
            failed++;
        }
        for (int start = 0; start < n; start += BATCH) {
            int end = MIN(n, start + BATCH), bad = 0;
            for (int i = start; i < end; i++) {
                char path[4096];
                uint8_t *buf = NULL;
                size_t len = 0;
                if (snprintf(path, sizeof(path), "%s/%s", argv[d], names[i]->d_name) >=
                        (int)sizeof(path) ||
                    read_input(path, &buf, &len) < 0) {
                    printf("# cannot read %s/%s\n", argv[d], names[i]->d_name);
                    bad++;
                    continue;
                }
                current_len = strlen(path);
                memcpy(current, path, current_len + 1);
                if (trace)
                    fprintf(stderr, "%s\n", path);
                alarm(INPUT_TIMEOUT);
                LLVMFuzzerTestOneInput(buf, len);
                alarm(0);
                free(buf);
                total++;
            }
            printf("%s %d - %s: %s .. %s (%d files)\n", bad ? "not ok" : "ok", ++tap, argv[d],
                   names[start]->d_name, names[end - 1]->d_name, end - start);
            failed += bad ? 1 : 0;
        }
        for (int i = 0; i < n; i++)
            free(names[i]);
        free(names);
    }
    fuzz_expr_cleanup();
    printf("# %zu inputs replayed\n1..%d\n", total, tap);
    return failed ? 1 : 0;
}

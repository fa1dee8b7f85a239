/*
 * test_log.c - unit tests for common/log: level names, filtering, the
 * stderr line format, and fatal()'s exit status.
 *
 * Output is captured by pointing file descriptor 2 at a temporary file for
 * the duration of one call.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <regex.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/log.h"

static void
test_log_level_parse(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        int rc;
        enum log_level level;
    } cases[] = {
        { "error", 0, LOG_LEVEL_ERROR },
        { "warn", 0, LOG_LEVEL_WARN },
        { "warning", 0, LOG_LEVEL_WARN },
        { "info", 0, LOG_LEVEL_INFO },
        { "debug", 0, LOG_LEVEL_DEBUG },
        { "trace", 0, LOG_LEVEL_TRACE },
        { "", -EINVAL, 0 },
        { "INFO", -EINVAL, 0 },
        { "fatal", -EINVAL, 0 },
        { "infos", -EINVAL, 0 },
        { "inf", -EINVAL, 0 },
        { NULL, -EINVAL, 0 },
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        enum log_level l = LOG_LEVEL_TRACE;
        int rc = log_level_parse(cases[i].name, &l);
        if (rc != cases[i].rc)
            print_error("case %zu \"%s\": rc %d\n", i, cases[i].name ? cases[i].name : "(null)",
                        rc);
        assert_int_equal(rc, cases[i].rc);
        if (rc == 0)
            assert_int_equal(l, cases[i].level);
    }
}

/* Runs fn with fd 2 redirected to a temporary file and returns what it wrote. */
static char *
capture_stderr(void (*fn)(void))
{
    FILE *tmp = tmpfile();
    assert_non_null(tmp);
    int saved = dup(STDERR_FILENO);
    assert_true(saved >= 0);
    assert_true(dup2(fileno(tmp), STDERR_FILENO) >= 0);
    fn();
    assert_true(dup2(saved, STDERR_FILENO) >= 0);
    close(saved);
    long n = ftell(tmp);
    if (n <= 0)
        n = lseek(fileno(tmp), 0, SEEK_END);
    assert_true(n >= 0);
    char *buf = calloc(1, (size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(pread(fileno(tmp), buf, (size_t)n, 0), n);
    fclose(tmp);
    return buf;
}

static void
emit_all_levels(void)
{
    log_error("e %d", 1);
    log_warn("w %s", "two");
    log_info("i");
    log_debug("d");
    log_msg(LOG_LEVEL_TRACE, "t");
}

static void
test_log_filtering(void **state)
{
    (void)state;
    static const struct {
        enum log_level level;
        const char *want; /* the level tags expected, in order */
    } cases[] = {
        { LOG_LEVEL_ERROR, "error" },
        { LOG_LEVEL_WARN, "error warn" },
        { LOG_LEVEL_INFO, "error warn info" },
        { LOG_LEVEL_DEBUG, "error warn info debug" },
        { LOG_LEVEL_TRACE, "error warn info debug trace" },
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        log_init("test", cases[i].level, LOG_TARGET_STDERR);
        assert_int_equal(log_get_level(), cases[i].level);
        char *out = capture_stderr(emit_all_levels);
        char tags[128] = "";
        size_t tl = 0;
        for (const char *p = out; (p = strchr(p, '[')) != NULL; p++) {
            const char *e = strchr(p, ']');
            assert_non_null(e);
            int k = snprintf(tags + tl, sizeof(tags) - tl, "%s%.*s", tl ? " " : "",
                             (int)(e - p - 1), p + 1);
            tl += (size_t)k;
        }
        if (strcmp(tags, cases[i].want) != 0)
            print_error("level %d: got \"%s\" from:\n%s", cases[i].level, tags, out);
        assert_string_equal(tags, cases[i].want);
        free(out);
    }
    log_set_level(LOG_LEVEL_INFO);
    assert_int_equal(log_get_level(), LOG_LEVEL_INFO);
}

static void
emit_one(void)
{
    log_warn("bucket %s overflowed after %d events", "ssh-bf", 6);
}

static void
emit_long(void)
{
    char big[6000];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    log_error("%s", big);
}

static void
test_log_format(void **state)
{
    (void)state;
    log_init("test", LOG_LEVEL_INFO, LOG_TARGET_STDERR);
    char *out = capture_stderr(emit_one);
    regex_t re;
    assert_int_equal(regcomp(&re,
                             "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z \\[warn\\] "
                             "bucket ssh-bf overflowed after 6 events\n$",
                             REG_EXTENDED),
                     0);
    int m = regexec(&re, out, 0, NULL, 0);
    if (m != 0)
        print_error("unexpected line: \"%s\"\n", out);
    assert_int_equal(m, 0);
    regfree(&re);
    free(out);

    /* An over-long message is cut but still ends the line. */
    out = capture_stderr(emit_long);
    size_t n = strlen(out);
    assert_true(n > 1000 && n < 4096);
    assert_int_equal(out[n - 1], '\n');
    assert_ptr_equal(strchr(out, '\n'), out + n - 1);
    free(out);
}

static void
test_fatal_exits_1(void **state)
{
    (void)state;
    int pipefd[2];
    assert_int_equal(pipe(pipefd), 0);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(pipefd[1], STDERR_FILENO);
        close(pipefd[0]);
        /* Error is the lowest level there is, so fatal's message always gets out. */
        log_init("test", LOG_LEVEL_ERROR, LOG_TARGET_STDERR);
        fatal("cannot open %s", "/etc/phalanx.yaml");
    }
    close(pipefd[1]);
    char buf[512] = "";
    size_t got = 0;
    ssize_t r;
    while ((r = read(pipefd[0], buf + got, sizeof(buf) - 1 - got)) > 0)
        got += (size_t)r;
    buf[got] = '\0';
    close(pipefd[0]);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 1);
    assert_non_null(strstr(buf, "[error] cannot open /etc/phalanx.yaml\n"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_log_level_parse),
        cmocka_unit_test(test_log_filtering),
        cmocka_unit_test(test_log_format),
        cmocka_unit_test(test_fatal_exits_1),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

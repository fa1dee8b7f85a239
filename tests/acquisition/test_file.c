/*
 * test_file.c - the file datasource against real files in a temp directory:
 * the rotation matrix (rename + create, copytruncate, truncate, symlink
 * swap, delete + re-create, a glob gaining a file, a file appearing late),
 * partial and over-long lines, exclude_regexps and cat mode, each tail
 * scenario run once with inotify and once with poll_without_inotify.
 *
 * Every scenario ends by writing an "end" line to the live file and waiting
 * for it, then compares the exact sequence of lines received: nothing lost,
 * nothing twice. Waits are on a condition variable with a generous timeout,
 * never a sleep, so a busy machine only makes the tests slower.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "acquisition/acquisition.h"

#define WAIT_MS 15000

struct collector {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    char *lines[256];
    char *srcs[256];
    bool trunc[256];
    size_t n;
};

static int
collect(void *ctx, const struct acq_line *l)
{
    struct collector *c = ctx;

    pthread_mutex_lock(&c->mu);
    if (c->n < 256) {
        c->lines[c->n] = strndup(l->line, l->len);
        c->srcs[c->n] = strdup(l->src);
        c->trunc[c->n] = l->truncated;
        c->n++;
    }
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
    return 0;
}

static void
warn_ignore(void *ctx, const char *msg)
{
    (void)ctx;
    (void)msg;
}

static void
collector_init(struct collector *c)
{
    memset(c, 0, sizeof(*c));
    pthread_mutex_init(&c->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&c->cv, &ca);
    pthread_condattr_destroy(&ca);
}

static void
collector_free(struct collector *c)
{
    for (size_t i = 0; i < c->n; i++) {
        free(c->lines[i]);
        free(c->srcs[i]);
    }
    pthread_mutex_destroy(&c->mu);
    pthread_cond_destroy(&c->cv);
}

/* Waits until at least n lines arrived; the count seen. */
static size_t
wait_lines(struct collector *c, size_t n)
{
    struct timespec dl;
    size_t got;

    clock_gettime(CLOCK_MONOTONIC, &dl);
    dl.tv_sec += WAIT_MS / 1000;
    pthread_mutex_lock(&c->mu);
    while (c->n < n && pthread_cond_timedwait(&c->cv, &c->mu, &dl) == 0)
        ;
    got = c->n;
    pthread_mutex_unlock(&c->mu);
    return got;
}

static void
write_at(const char *path, const char *text, int flags)
{
    int fd = open(path, O_WRONLY | O_CREAT | flags, 0644);
    size_t len = strlen(text);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, len), (ssize_t)len);
    close(fd);
}

static void
append(const char *path, const char *text)
{
    write_at(path, text, O_APPEND);
}

static char base[256];

struct scenario_ctx {
    char dir[300];
    char file[400]; /* dir/f.log */
    const char *name;
    bool poll;
    struct collector c;
    struct acquisition *a;
};

static void
path_in(const struct scenario_ctx *x, char *buf, size_t size, const char *name)
{
    snprintf(buf, size, "%s/%s", x->dir, name);
}

/* Loads and starts a source on pattern (relative to the scenario dir). */
static void
start_source(struct scenario_ctx *x, const char *pattern, const char *extra)
{
    char yaml[400], doc[2000];
    struct acq_error err = { { 0 } };

    path_in(x, yaml, sizeof(yaml), "acquis.yaml");
    snprintf(doc, sizeof(doc),
             "filename: %s/%s\nlabels:\n  type: test\npoll_without_inotify: %s\n%s", x->dir,
             pattern, x->poll ? "true" : "false", extra != NULL ? extra : "");
    write_at(yaml, doc, O_TRUNC);
    if (acq_load(yaml, NULL, &x->a, &err) != 0)
        fail_msg("acq_load: %s", err.message);
    if (acq_start(x->a, collect, &x->c, warn_ignore, NULL, &err) != 0)
        fail_msg("acq_start: %s", err.message);
    assert_int_equal(acq_running(x->a), 1);
}

/* Writes the end marker to path, then checks the whole sequence received. */
static void
finish(struct scenario_ctx *x, const char *name, const char *end_path, const char *const *expected,
       size_t nexpected)
{
    struct timespec t0, t1;
    size_t got;

    append(end_path, "end\n");
    got = wait_lines(&x->c, nexpected + 1);
    pthread_mutex_lock(&x->c.mu);
    for (size_t i = 0; i < got; i++)
        if (i >= nexpected + 1 || strcmp(x->c.lines[i], i < nexpected ? expected[i] : "end") != 0) {
            for (size_t j = 0; j < got; j++)
                print_message("# %s got[%zu] = \"%s\" (%s)\n", name, j, x->c.lines[j],
                              x->c.srcs[j]);
            pthread_mutex_unlock(&x->c.mu);
            fail_msg("%s (%s): line %zu is \"%s\", expected \"%s\"", name,
                     x->poll ? "poll" : "inotify", i, x->c.lines[i],
                     i < nexpected    ? expected[i]
                     : i == nexpected ? "end"
                                      : "(nothing)");
        }
    pthread_mutex_unlock(&x->c.mu);
    if (got != nexpected + 1)
        fail_msg("%s (%s): %zu lines received, expected %zu", name, x->poll ? "poll" : "inotify",
                 got, nexpected + 1);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    acq_stop(x->a);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    /* eventfd in the poll set: stopping does not wait for a tick. */
    assert_true(t1.tv_sec - t0.tv_sec < 2);
    assert_int_equal(acq_running(x->a), 0);
}

#define FINISH(x, name, end_path, ...)                                                             \
    do {                                                                                           \
        static const char *const exp_[] = { __VA_ARGS__ };                                         \
        finish(x, name, end_path, exp_, sizeof(exp_) / sizeof(exp_[0]));                           \
    } while (0)

static void
need(struct scenario_ctx *x, size_t n)
{
    size_t got = wait_lines(&x->c, n);
    if (got < n)
        fail_msg("%s (%s): %zu lines received, expected at least %zu", x->name,
                 x->poll ? "poll" : "inotify", got, n);
}

static uint64_t
reopens(const struct scenario_ctx *x)
{
    struct acq_stats st;
    acq_stats_at(x->a, 0, &st);
    return st.reopens;
}

/* ---- scenarios ---- */

static void
sc_existing_from_end(struct scenario_ctx *x)
{
    append(x->file, "old1\nold2\n");
    start_source(x, "f.log", NULL);
    append(x->file, "n1\n\n\nn2\r\n");
    need(x, 2);
    FINISH(x, "existing_from_end", x->file, "n1", "n2");
}

static void
sc_rename_create(struct scenario_ctx *x)
{
    char old[500];
    path_in(x, old, sizeof(old), "f.log.1");
    append(x->file, "");
    start_source(x, "f.log", NULL);
    append(x->file, "r1\nhalf");
    need(x, 1);
    assert_int_equal(rename(x->file, old), 0);
    append(old, "-line\nr2\n"); /* the writer still holds the old file */
    append(x->file, "r3\n");
    FINISH(x, "rename_create", x->file, "r1", "half-line", "r2", "r3");
    assert_int_equal(reopens(x), 1);
}

static void
sc_copytruncate(struct scenario_ctx *x)
{
    char old[500];
    path_in(x, old, sizeof(old), "f.log.1");
    append(x->file, "");
    start_source(x, "f.log", NULL);
    append(x->file, "c1 long enough line\nc2 long enough line\n");
    need(x, 2);
    write_at(old, "c1 long enough line\nc2 long enough line\n", O_TRUNC);
    assert_int_equal(truncate(x->file, 0), 0);
    append(x->file, "c3\n");
    FINISH(x, "copytruncate", x->file, "c1 long enough line", "c2 long enough line", "c3");
    assert_int_equal(reopens(x), 1);
}

static void
sc_truncate(struct scenario_ctx *x)
{
    append(x->file, "before\n");
    start_source(x, "f.log", NULL);
    append(x->file, "t1 some text\n");
    need(x, 1);
    write_at(x->file, "t2\n", O_TRUNC);
    FINISH(x, "truncate", x->file, "t1 some text", "t2");
    assert_int_equal(reopens(x), 1);
}

static void
sc_symlink_swap(struct scenario_ctx *x)
{
    char t1[500], t2[500], link[500], tmp[500];
    path_in(x, t1, sizeof(t1), "t1");
    path_in(x, t2, sizeof(t2), "t2");
    path_in(x, link, sizeof(link), "cur.log");
    path_in(x, tmp, sizeof(tmp), "cur.tmp");
    append(t1, "");
    assert_int_equal(symlink("t1", link), 0);
    start_source(x, "cur.log", NULL);
    append(t1, "s1\n");
    need(x, 1);
    append(t2, "s2\n");
    assert_int_equal(symlink("t2", tmp), 0);
    assert_int_equal(rename(tmp, link), 0);
    FINISH(x, "symlink_swap", link, "s1", "s2");
    /* Src is the name followed (the link), not its target. */
    assert_string_equal(x->c.srcs[0], link);
}

static void
sc_delete_recreate(struct scenario_ctx *x)
{
    append(x->file, "");
    start_source(x, "f.log", NULL);
    append(x->file, "d1\n");
    need(x, 1);
    assert_int_equal(unlink(x->file), 0);
    append(x->file, "d2\n");
    FINISH(x, "delete_recreate", x->file, "d1", "d2");
}

static void
sc_glob_gains(struct scenario_ctx *x)
{
    char b[500], c[500];
    path_in(x, b, sizeof(b), "b.log");
    path_in(x, c, sizeof(c), "c.txt");
    append(x->file, "");
    start_source(x, "*.log", NULL);
    append(x->file, "g1\n");
    need(x, 1);
    append(c, "not matched\n");
    append(b, "g2\ng3\n"); /* new: read from its start */
    need(x, 3);
    FINISH(x, "glob_gains", b, "g1", "g2", "g3");
    assert_string_equal(x->c.srcs[1], b);
}

static void
sc_appears_late(struct scenario_ctx *x)
{
    char late[500];
    path_in(x, late, sizeof(late), "late.log");
    start_source(x, "late.log", NULL);
    append(late, "l1\nl2\n");
    need(x, 2);
    FINISH(x, "appears_late", late, "l1", "l2");
}

static void
sc_dir_appears_late(struct scenario_ctx *x)
{
    char sub[500], late[600];
    path_in(x, sub, sizeof(sub), "sub");
    snprintf(late, sizeof(late), "%s/late.log", sub);
    start_source(x, "sub/late.log", NULL);
    assert_int_equal(mkdir(sub, 0700), 0);
    append(late, "m1\n");
    need(x, 1);
    FINISH(x, "dir_appears_late", late, "m1");
}

static void
sc_partial_line(struct scenario_ctx *x)
{
    append(x->file, "");
    start_source(x, "f.log", NULL);
    append(x->file, "p1\npar");
    need(x, 1); /* "par" was read in the same read as p1 and is held */
    append(x->file, "tial\n");
    FINISH(x, "partial_line", x->file, "p1", "partial");
}

static void
sc_long_line(struct scenario_ctx *x)
{
    struct acq_stats st;
    append(x->file, "");
    start_source(x, "f.log", "max_buffer_size: 16\n");
    append(x->file, "0123456789abcdefXYZ\nshort\n");
    need(x, 2);
    append(x->file, "ABCDEFGHIJKLMNOPQRSTUV");
    need(x, 3); /* cut as soon as it is too long */
    append(x->file, "WXYZ\nok\n0123456789abcdef\n");
    FINISH(x, "long_line", x->file, "0123456789abcdef", "short", "ABCDEFGHIJKLMNOP", "ok",
           "0123456789abcdef");
    assert_true(x->c.trunc[0]);
    assert_false(x->c.trunc[1]);
    assert_true(x->c.trunc[2]);
    assert_false(x->c.trunc[3]);
    assert_false(x->c.trunc[4]);
    acq_stats_at(x->a, 0, &st);
    assert_int_equal(st.truncated, 2);
    assert_int_equal(st.lines, 6);
}

static void
sc_exclude(struct scenario_ctx *x)
{
    char b[500];
    path_in(x, b, sizeof(b), "b.log");
    append(x->file, "");
    append(b, "");
    start_source(x, "*.log", "exclude_regexps: ['b\\.log$']\n");
    append(b, "excluded\n");
    append(x->file, "x1\n");
    need(x, 1);
    FINISH(x, "exclude", x->file, "x1");
}

static void
sc_rotation_twice(struct scenario_ctx *x)
{
    char old[500];
    path_in(x, old, sizeof(old), "f.log.1");
    append(x->file, "");
    start_source(x, "f.log", NULL);
    for (int round = 0; round < 3; round++) {
        char line[32];
        snprintf(line, sizeof(line), "round%d\n", round);
        append(x->file, line);
        need(x, (size_t)round + 1);
        assert_int_equal(rename(x->file, old), 0);
    }
    append(x->file, "last\n");
    FINISH(x, "rotation_twice", x->file, "round0", "round1", "round2", "last");
}

struct scenario {
    const char *name;
    void (*fn)(struct scenario_ctx *x);
};

static const struct scenario scenarios[] = {
    { "existing_from_end", sc_existing_from_end },
    { "rename_create", sc_rename_create },
    { "copytruncate", sc_copytruncate },
    { "truncate", sc_truncate },
    { "symlink_swap", sc_symlink_swap },
    { "delete_recreate", sc_delete_recreate },
    { "glob_gains", sc_glob_gains },
    { "appears_late", sc_appears_late },
    { "dir_appears_late", sc_dir_appears_late },
    { "partial_line", sc_partial_line },
    { "long_line", sc_long_line },
    { "exclude", sc_exclude },
    { "rotation_twice", sc_rotation_twice },
};

static void
run_scenarios(bool poll)
{
    for (size_t i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++) {
        struct scenario_ctx x;
        memset(&x, 0, sizeof(x));
        x.poll = poll;
        x.name = scenarios[i].name;
        snprintf(x.dir, sizeof(x.dir), "%s/%s-%s", base, scenarios[i].name,
                 poll ? "poll" : "inotify");
        assert_int_equal(mkdir(x.dir, 0700), 0);
        snprintf(x.file, sizeof(x.file), "%s/f.log", x.dir);
        collector_init(&x.c);
        scenarios[i].fn(&x);
        acq_free(x.a);
        collector_free(&x.c);
    }
}

static void
test_tail_inotify(void **state)
{
    (void)state;
    run_scenarios(false);
}

static void
test_tail_poll(void **state)
{
    (void)state;
    run_scenarios(true);
}

static void
test_cat(void **state)
{
    struct scenario_ctx x;
    char a[500], b[500], dsn[600];
    struct acq_error err = { { 0 } };
    (void)state;

    memset(&x, 0, sizeof(x));
    snprintf(x.dir, sizeof(x.dir), "%s/cat", base);
    assert_int_equal(mkdir(x.dir, 0700), 0);
    collector_init(&x.c);
    path_in(&x, a, sizeof(a), "a.log");
    path_in(&x, b, sizeof(b), "b.log");
    append(a, "c1\n\nc2\r\nc3");
    append(b, "0123456789TOOLONG\nd2\n");
    snprintf(dsn, sizeof(dsn), "file://%s/*.log?max_buffer_size=10", x.dir);
    assert_int_equal(acq_load_dsn(dsn, "test", &x.a, &err), 0);
    assert_int_equal(acq_start(x.a, collect, &x.c, warn_ignore, NULL, &err), 0);
    assert_int_equal(wait_lines(&x.c, 5), 5);
    /* The source ends by itself once everything is read. */
    for (int i = 0; i < WAIT_MS / 10 && acq_running(x.a) > 0; i++) {
        struct timespec ts = { 0, 10 * 1000 * 1000 };
        nanosleep(&ts, NULL);
    }
    assert_int_equal(acq_running(x.a), 0);
    assert_int_equal(x.c.n, 5);
    assert_string_equal(x.c.lines[0], "c1");
    assert_string_equal(x.c.lines[1], "c2");
    assert_string_equal(x.c.lines[2], "c3");
    assert_string_equal(x.c.lines[3], "0123456789");
    assert_true(x.c.trunc[3]);
    assert_string_equal(x.c.lines[4], "d2");
    assert_string_equal(x.c.srcs[0], a);
    assert_string_equal(x.c.srcs[4], b);
    acq_free(x.a);
    collector_free(&x.c);
}

static void
test_stop_before_start(void **state)
{
    struct acquisition *a = NULL;
    struct acq_error err = { { 0 } };
    char dsn[600], f[500];
    (void)state;

    snprintf(f, sizeof(f), "%s/s.log", base);
    append(f, "x\n");
    snprintf(dsn, sizeof(dsn), "file://%s", f);
    assert_int_equal(acq_load_dsn(dsn, "t", &a, &err), 0);
    acq_stop(a);
    acq_stop(a);
    assert_int_equal(acq_running(a), 0);
    acq_free(a);
}

static int
setup(void **state)
{
    (void)state;
    snprintf(base, sizeof(base), "/tmp/phalanx-acqfile-XXXXXX");
    return mkdtemp(base) != NULL ? 0 : -1;
}

static int
teardown(void **state)
{
    char cmd[400];
    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
    return system(cmd) == 0 ? 0 : -1;
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tail_inotify),
        cmocka_unit_test(test_tail_poll),
        cmocka_unit_test(test_cat),
        cmocka_unit_test(test_stop_before_start),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

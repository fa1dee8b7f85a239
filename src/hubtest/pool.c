/*
 * pool.c - what every test of a run shares: the pinned clock, the list of
 * tests of a hub, the names of verdicts, and the threads that run tests in
 * parallel (each test has its own parser set and worker; the hub index is
 * loaded once and only read).
 */
#include "hubtest/internal.h"

#include "expr/expr.h"

#include <dirent.h>
#include <pthread.h>
#include <sys/stat.h>

static struct gotime pinned_now;

static struct gotime
pinned_clock(void)
{
    return pinned_now;
}

void
hubtest_global_init(const struct gotime *now)
{
    if (now != NULL) {
        pinned_now = *now;
        expr_set_clock(pinned_clock);
    } else {
        expr_set_clock(NULL);
    }
}

void
hubtest_global_cleanup(void)
{
    expr_set_clock(NULL);
    expr_data_reset();
    expr_stash_reset();
}

const char *
hubtest_status_name(enum hubtest_status s)
{
    switch (s) {
    case HUBTEST_PASS: return "pass";
    case HUBTEST_FAIL: return "fail";
    case HUBTEST_ERROR: return "error";
    case HUBTEST_NOT_RUN: return "not run";
    }
    return "error";
}

const char *
hubtest_part_name(enum hubtest_part p)
{
    switch (p) {
    case HUBTEST_PART_NONE: return "none";
    case HUBTEST_PART_PASS: return "pass";
    case HUBTEST_PART_FAIL: return "fail";
    case HUBTEST_PART_NOT_RUN: return "not run";
    }
    return "none";
}

void
hubtest_result_clear(struct hubtest_result *r)
{
    free(r->name);
    free(r->first_failure);
    free(r->actual);
    free(r->error);
    free(r->runtime_dir);
    memset(r, 0, sizeof(*r));
}

static int
cmp_cstr(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void
hubtest_names_free(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

int
hubtest_list(const char *hub_dir, char ***ret_names, size_t *ret_n)
{
    char path[PATH_MAX];
    if ((size_t)snprintf(path, sizeof(path), "%s/.tests", hub_dir) >= sizeof(path))
        return -ENAMETOOLONG;
    DIR *d = opendir(path);
    if (d == NULL)
        return -errno;
    struct hubtest_strlist l = { 0 };
    struct dirent *de;
    int rc = 0;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        char cfg[PATH_MAX];
        struct stat st;
        if ((size_t)snprintf(cfg, sizeof(cfg), "%s/%s/config.yaml", path, de->d_name) >=
                sizeof(cfg) ||
            stat(cfg, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        rc = hubtest_strlist_push(&l, de->d_name);
        if (rc < 0)
            break;
    }
    closedir(d);
    if (rc < 0) {
        hubtest_strlist_clear(&l);
        return rc;
    }
    if (l.len > 0)
        qsort(l.items, l.len, sizeof(*l.items), cmp_cstr);
    *ret_names = l.items;
    *ret_n = l.len;
    return 0;
}

/* --- many tests on a few threads --- */

struct pool {
    const struct hubtest_options *opts;
    const struct hubtest_index *index;
    const char *index_err;
    char *const *names;
    struct hubtest_result *results;
    size_t n;
    size_t next;
    pthread_mutex_t lock;
    int rc;
};

static void *
pool_worker(void *arg)
{
    struct pool *p = arg;
    for (;;) {
        pthread_mutex_lock(&p->lock);
        size_t i = p->next < p->n ? p->next++ : p->n;
        pthread_mutex_unlock(&p->lock);
        if (i >= p->n)
            break;
        if (hubtest_run_indexed(p->opts, p->index, p->index_err, p->names[i], &p->results[i]) < 0) {
            pthread_mutex_lock(&p->lock);
            p->rc = -ENOMEM;
            pthread_mutex_unlock(&p->lock);
        }
    }
    return NULL;
}

int
hubtest_run_many(const struct hubtest_options *opts, char *const *names, size_t n, unsigned jobs,
                 struct hubtest_result *ret)
{
    char ierr[512] = "";
    struct hubtest_index *idx = hubtest_index_load(opts->hub_dir, ierr, sizeof(ierr));
    struct pool p = {
        .opts = opts, .index = idx, .index_err = ierr, .names = names, .results = ret, .n = n
    };
    pthread_mutex_init(&p.lock, NULL);
    if (jobs < 1)
        jobs = 1;
    if (jobs > 64)
        jobs = 64;
    if (jobs > n)
        jobs = n > 0 ? (unsigned)n : 1;
    pthread_t tids[64];
    unsigned started = 0;
    for (unsigned i = 1; i < jobs; i++) {
        if (pthread_create(&tids[started], NULL, pool_worker, &p) != 0)
            break;
        started++;
    }
    pool_worker(&p); /* the calling thread works too */
    for (unsigned i = 0; i < started; i++)
        pthread_join(tids[i], NULL);
    pthread_mutex_destroy(&p.lock);
    hubtest_index_free(idx);
    return p.rc;
}

/*
 * test_hub.c - the hub library on small synthetic hubs written to a temporary
 * directory: index parsing (good and bad indexes), dependency resolution
 * (order, cycles, missing items), sha256, install/remove as symlinks, tainted
 * and local detection, and the removal guard of collection dependencies.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hub/hub.h"

static char root[256];

static void
write_file(const char *path, const char *content)
{
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "mkdir -p \"$(dirname '%s')\"", path);
    assert_int_equal(system(cmd), 0);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(content, f);
    fclose(f);
}

static void
sha_of(const char *path, char hex[65])
{
    assert_int_equal(hub_sha256_file(path, hex), 0);
}

/* Source items of the synthetic hub: relative path and content. */
static const struct {
    const char *path;
    const char *content;
} src_items[] = {
    { "parsers/s01-parse/me/p1.yaml", "name: me/p1\nfilter: \"1 == 1\"\n" },
    { "scenarios/me/s1.yaml", "name: me/s1\ntype: trigger\n" },
    { "scenarios/me/s2.yaml", "name: me/s2\ntype: trigger\ndata:\n  - source_url: "
                              "https://hub-data.crowdsec.net/web/words.txt\n    dest_file: "
                              "words.txt\n    type: string\n" },
    { "collections/me/c1.yaml", "name: me/c1\n" },
    { "collections/me/c2.yaml", "name: me/c2\n" },
    { "collections/me/c3.yaml", "name: me/c3\n" },
    { "data/words.txt", "alpha\nbeta\n" },
};

/* Writes the source hub under root/src with an index whose digests match the files. */
static void
make_source(void)
{
    char p[512], hex[7][65];
    for (size_t i = 0; i < sizeof(src_items) / sizeof(src_items[0]); i++) {
        snprintf(p, sizeof(p), "%s/src/%s", root, src_items[i].path);
        write_file(p, src_items[i].content);
        sha_of(p, hex[i]);
    }
    char idx[8192];
    snprintf(idx, sizeof(idx),
             "{\"parsers\": {\"me/p1\": {\"path\": \"parsers/s01-parse/me/p1.yaml\", "
             "\"stage\": \"s01-parse\", \"version\": \"0.2\", \"description\": \"P one\", "
             "\"author\": \"me\", \"versions\": {\"0.1\": {\"digest\": \"%064d\"}, "
             "\"0.2\": {\"digest\": \"%s\"}}}},"
             "\"scenarios\": {\"me/s1\": {\"path\": \"scenarios/me/s1.yaml\", \"version\": "
             "\"1.0\", \"versions\": {\"1.0\": {\"digest\": \"%s\"}}},"
             "\"me/s2\": {\"path\": \"scenarios/me/s2.yaml\", \"version\": \"1.0\", "
             "\"versions\": {\"1.0\": {\"digest\": \"%s\"}}}},"
             "\"collections\": {"
             "\"me/c1\": {\"path\": \"collections/me/c1.yaml\", \"version\": \"0.1\", "
             "\"versions\": {\"0.1\": {\"digest\": \"%s\"}}, \"parsers\": [\"me/p1\"], "
             "\"scenarios\": [\"me/s1\"], \"collections\": [\"me/c2\"]},"
             "\"me/c2\": {\"path\": \"collections/me/c2.yaml\", \"version\": \"0.1\", "
             "\"versions\": {\"0.1\": {\"digest\": \"%s\"}}, \"scenarios\": [\"me/s2\"], "
             "\"collections\": [\"me/c1\"]},"
             "\"me/c3\": {\"path\": \"collections/me/c3.yaml\", \"version\": \"0.1\", "
             "\"versions\": {\"0.1\": {\"digest\": \"%s\"}}, \"parsers\": [\"me/missing\"]}}}",
             0, hex[0], hex[1], hex[2], hex[3], hex[4], hex[5]);
    snprintf(p, sizeof(p), "%s/src/.index.json", root);
    write_file(p, idx);
}

static struct hub_config cfg;

static int
setup(void **state)
{
    (void)state;
    snprintf(root, sizeof(root), "/tmp/phalanx-test-hub-XXXXXX");
    if (mkdtemp(root) == NULL)
        return -1;
    make_source();
    char p[512];
    snprintf(p, sizeof(p), "%s/config.yaml", root);
    char conf[2048];
    snprintf(conf, sizeof(conf),
             "config_paths:\n  config_dir: %s/etc/\n  data_dir: %s/data/\n  hub_dir: "
             "%s/etc/hub/\ncscli:\n  hub_url: file://%s/src\n",
             root, root, root, root);
    write_file(p, conf);
    unsetenv("PHALANX_HUB_URL");
    unsetenv("PHALANX_HUB_DATA_DIR");
    struct hub_error err;
    if (hub_config_load(p, &cfg, &err) != 0)
        return -1;
    return hub_update_index(&cfg, NULL, &err);
}

static int
teardown(void **state)
{
    (void)state;
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
    hub_config_clear(&cfg);
    return system(cmd) == 0 ? 0 : -1;
}

static struct hub *
load(void)
{
    struct hub *h = NULL;
    struct hub_error err = { { 0 } };
    if (hub_load(&cfg, &h, &err) != 0)
        fail_msg("hub_load: %s", err.message);
    return h;
}

static void
test_config_defaults(void **state)
{
    (void)state;
    char expect[512];
    snprintf(expect, sizeof(expect), "%s/etc/hub/.index.json", root);
    assert_string_equal(cfg.index_path, expect);
    snprintf(expect, sizeof(expect), "%s/etc/simulation.yaml", root);
    assert_string_equal(cfg.simulation_path, expect);
    assert_string_equal(cfg.hub_branch, "master");
    snprintf(expect, sizeof(expect), "file://%s/src", root);
    assert_string_equal(cfg.hub_url, expect);
}

static void
test_sha256(void **state)
{
    (void)state;
    char p[512], hex[65];
    snprintf(p, sizeof(p), "%s/abc.txt", root);
    write_file(p, "abc");
    sha_of(p, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert_int_equal(hub_sha256_file("/nonexistent/x", hex), -ENOENT);
}

static void
test_index_parse(void **state)
{
    (void)state;
    struct hub *h = load();
    static const struct {
        enum hub_type type;
        const char *name, *fname, *stage, *version;
        size_t nversions;
    } cases[] = {
        { HUB_PARSERS, "me/p1", "p1.yaml", "s01-parse", "0.2", 2 },
        { HUB_SCENARIOS, "me/s1", "s1.yaml", NULL, "1.0", 1 },
        { HUB_COLLECTIONS, "me/c3", "c3.yaml", NULL, "0.1", 1 },
    };
    assert_int_equal(h->nitems, 6);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct hub_item *it = hub_find(h, cases[i].type, cases[i].name);
        if (it == NULL)
            fail_msg("case %zu: %s not found", i, cases[i].name);
        assert_string_equal(it->fname, cases[i].fname);
        if (cases[i].stage != NULL)
            assert_string_equal(it->stage, cases[i].stage);
        else
            assert_null(it->stage);
        assert_string_equal(it->version, cases[i].version);
        assert_int_equal(it->nversions, cases[i].nversions);
        assert_false(it->installed);
    }
    const struct hub_item *c1 = hub_find(h, HUB_COLLECTIONS, "me/c1");
    assert_non_null(c1);
    assert_int_equal(c1->ndeps[HUB_PARSERS], 1);
    assert_string_equal(c1->deps[HUB_COLLECTIONS][0], "me/c2");
    assert_null(hub_find(h, HUB_SCENARIOS, "me/p1"));
    hub_free(h);
}

static void
test_index_bad(void **state)
{
    (void)state;
    static const struct {
        const char *json;
        const char *msg; /* part of the error */
    } cases[] = {
        { "not json", "index" },
        { "[1,2]", "not a JSON object" },
        { "{\"parsers\": {\"a/b\": {\"version\": \"1\"}}}", "has no path" },
        { "{\"parsers\": {\"a/b\": {\"path\": \"parsers/s01/../../../etc/x.yaml\"}}}", "bad path" },
        { "{\"scenarios\": {\"a/b\": {\"path\": \"/etc/passwd\"}}}", "bad path" },
        { "{\"scenarios\": {\"a/b\": {\"path\": \"parsers/a/b.yaml\"}}}", "bad path" },
        { "{\"parsers\": {\"a/b\": {\"path\": \"parsers/b.yaml\"}}}", "no stage" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct hub *h = hub_new(&cfg);
        struct hub_error err = { { 0 } };
        assert_non_null(h);
        int r = hub_load_index_buf(h, cases[i].json, strlen(cases[i].json), &err);
        if (r != -1 || strstr(err.message, cases[i].msg) == NULL)
            fail_msg("case %zu (%s): rc %d, error '%s'", i, cases[i].json, r, err.message);
        assert_int_equal(h->nitems, 0);
        hub_free(h);
    }
}

static size_t
pos(struct hub_item **list, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(list[i]->name, name) == 0)
            return i;
    }
    fail_msg("%s not in the resolved list", name);
    return 0;
}

static void
test_deps(void **state)
{
    (void)state;
    struct hub *h = load();
    struct hub_item **list = NULL;
    size_t n = 0;
    struct hub_error err = { { 0 } };

    /* c1 -> c2 -> c1 is a cycle: each item once, dependencies first, c1 last. */
    assert_int_equal(hub_deps_resolve(h, hub_find(h, HUB_COLLECTIONS, "me/c1"), &list, &n, &err),
                     0);
    assert_int_equal(n, 5);
    assert_string_equal(list[n - 1]->name, "me/c1");
    assert_true(pos(list, n, "me/s2") < pos(list, n, "me/c2"));
    assert_true(pos(list, n, "me/p1") < pos(list, n, "me/c1"));
    free(list);

    assert_int_equal(hub_deps_resolve(h, hub_find(h, HUB_SCENARIOS, "me/s1"), &list, &n, &err), 0);
    assert_int_equal(n, 1);
    free(list);

    list = NULL;
    assert_int_equal(hub_deps_resolve(h, hub_find(h, HUB_COLLECTIONS, "me/c3"), &list, &n, &err),
                     -1);
    assert_null(list);
    assert_non_null(strstr(err.message, "me/missing"));
    hub_free(h);
}

static void
test_install_taint_remove(void **state)
{
    (void)state;
    struct hub *h = load();
    struct hub_error err = { { 0 } };
    struct hub_opts o = { 0 };
    char p[512], buf[64];

    /* A collection whose dependency is missing installs nothing. */
    assert_int_equal(hub_install(h, hub_find(h, HUB_COLLECTIONS, "me/c3"), &o, &err), -1);
    assert_non_null(strstr(err.message, "me/missing"));

    if (hub_install(h, hub_find(h, HUB_COLLECTIONS, "me/c1"), &o, &err) != 0)
        fail_msg("install: %s", err.message);
    assert_int_equal(hub_scan(h, &err), 0);
    static const struct {
        enum hub_type type;
        const char *name, *link;
    } inst[] = {
        { HUB_PARSERS, "me/p1", "etc/parsers/s01-parse/p1.yaml" },
        { HUB_SCENARIOS, "me/s1", "etc/scenarios/s1.yaml" },
        { HUB_SCENARIOS, "me/s2", "etc/scenarios/s2.yaml" },
        { HUB_COLLECTIONS, "me/c1", "etc/collections/c1.yaml" },
        { HUB_COLLECTIONS, "me/c2", "etc/collections/c2.yaml" },
    };
    for (size_t i = 0; i < sizeof(inst) / sizeof(inst[0]); i++) {
        struct hub_item *it = hub_find(h, inst[i].type, inst[i].name);
        struct stat st;
        snprintf(p, sizeof(p), "%s/%s", root, inst[i].link);
        if (it == NULL || !it->installed || lstat(p, &st) != 0 || !S_ISLNK(st.st_mode))
            fail_msg("case %zu: %s is not installed as %s", i, inst[i].name, p);
        assert_string_equal(hub_item_status(it, buf, sizeof(buf)), "enabled");
        assert_false(it->tainted);
    }
    /* The data file came from the local hub's data directory. */
    snprintf(p, sizeof(p), "%s/data/words.txt", root);
    assert_int_equal(access(p, R_OK), 0);

    /* p1 is needed by c1: removing it is refused without force. */
    struct hub_item *p1 = hub_find(h, HUB_PARSERS, "me/p1");
    assert_int_equal(p1->nbelongs, 1);
    assert_int_equal(hub_remove(h, p1, &o, &err), -1);
    assert_non_null(strstr(err.message, "me/c1"));

    /* An edit makes p1 tainted, and c1 with it. */
    snprintf(p, sizeof(p), "%s/etc/parsers/s01-parse/p1.yaml", root);
    FILE *f = fopen(p, "a");
    assert_non_null(f);
    fputs("# local change\n", f);
    fclose(f);
    assert_int_equal(hub_scan(h, &err), 0);
    p1 = hub_find(h, HUB_PARSERS, "me/p1");
    assert_true(p1->tainted);
    assert_string_equal(p1->local_version, "?");
    assert_string_equal(hub_item_status(p1, buf, sizeof(buf)), "enabled,tainted");
    assert_true(hub_find(h, HUB_COLLECTIONS, "me/c1")->tainted);
    assert_false(hub_find(h, HUB_SCENARIOS, "me/s1")->tainted);

    /* A plain file is a local item, named by its file name. */
    snprintf(p, sizeof(p), "%s/etc/scenarios/mine.yaml", root);
    write_file(p, "name: me/mine\n");
    assert_int_equal(hub_scan(h, &err), 0);
    struct hub_item *mine = hub_find(h, HUB_SCENARIOS, "mine.yaml");
    assert_non_null(mine);
    assert_string_equal(hub_item_status(mine, buf, sizeof(buf)), "enabled,local");
    assert_int_equal(hub_remove(h, mine, &o, &err), -1);

    /* Upgrading with force restores the hub content. */
    struct hub_opts force = { .force = true };
    p1 = hub_find(h, HUB_PARSERS, "me/p1");
    assert_int_equal(hub_upgrade(h, p1, &force, &err), 0);
    assert_int_equal(hub_scan(h, &err), 0);
    assert_false(hub_find(h, HUB_PARSERS, "me/p1")->tainted);
    assert_false(hub_find(h, HUB_COLLECTIONS, "me/c1")->tainted);

    /* c2 includes c1 (a cycle): removing c1 alone is refused, forced it takes
     * along everything no other installed collection needs, c2 included. */
    assert_int_equal(hub_remove(h, hub_find(h, HUB_COLLECTIONS, "me/c1"), &o, &err), -1);
    assert_non_null(strstr(err.message, "me/c2"));
    if (hub_remove(h, hub_find(h, HUB_COLLECTIONS, "me/c1"), &force, &err) != 0)
        fail_msg("remove: %s", err.message);
    assert_int_equal(hub_scan(h, &err), 0);
    for (size_t i = 0; i < sizeof(inst) / sizeof(inst[0]); i++) {
        struct hub_item *it = hub_find(h, inst[i].type, inst[i].name);
        if (it->installed)
            fail_msg("case %zu: %s still installed", i, inst[i].name);
        assert_true(it->downloaded);
    }
    hub_free(h);
}

/* What a progress callback saw: (done, total) in order. */
struct seen {
    uint64_t done[64], total[64];
    size_t n;
};

static void
record_progress(void *arg, uint64_t done, uint64_t total)
{
    struct seen *s = arg;
    if (s->n < 64) {
        s->done[s->n] = done;
        s->total[s->n] = total;
        s->n++;
    }
}

static void
test_progress_and_hash_mismatch(void **state)
{
    (void)state;
    struct hub *h = load();
    struct hub_error err = { { 0 } };
    struct seen seen = { 0 };
    struct hub_opts o = { .progress = record_progress, .progress_arg = &seen };

    /* c1 pulls p1, s1, s2, c2 and itself: 0/5 then one step per item. */
    if (hub_install(h, hub_find(h, HUB_COLLECTIONS, "me/c1"), &o, &err) != 0)
        fail_msg("install: %s", err.message);
    assert_int_equal(seen.n, 6);
    for (size_t i = 0; i < seen.n; i++) {
        if (seen.done[i] != i || seen.total[i] != 5)
            fail_msg("step %zu: %llu/%llu, expected %zu/5", i, (unsigned long long)seen.done[i],
                     (unsigned long long)seen.total[i], i);
    }

    /* The index update reports bytes: it ends with size/size. */
    char p[512];
    struct stat st;
    snprintf(p, sizeof(p), "%s/src/.index.json", root);
    assert_int_equal(stat(p, &st), 0);
    seen.n = 0;
    if (hub_update_index(&cfg, &o, &err) != 0)
        fail_msg("update: %s", err.message);
    assert_true(seen.n >= 2);
    assert_int_equal(seen.done[0], 0);
    assert_int_equal(seen.done[seen.n - 1], (uint64_t)st.st_size);
    assert_int_equal(seen.total[seen.n - 1], (uint64_t)st.st_size);

    /* A served file that is not what the index vouches for is refused, and
     * the copy already in the hub directory stays as it was. */
    char kept[65], after[65];
    snprintf(p, sizeof(p), "%s/etc/hub/scenarios/me/s1.yaml", root);
    sha_of(p, kept);
    snprintf(p, sizeof(p), "%s/src/scenarios/me/s1.yaml", root);
    write_file(p, "name: me/s1\ntype: trigger\n# altered\n");
    struct hub_opts force = { .force = true };
    assert_int_equal(hub_install(h, hub_find(h, HUB_SCENARIOS, "me/s1"), &force, &err), -1);
    assert_non_null(strstr(err.message, "me/s1: refused, hash mismatch"));
    assert_non_null(strstr(err.message, "update the index"));
    snprintf(p, sizeof(p), "%s/etc/hub/scenarios/me/s1.yaml", root);
    sha_of(p, after);
    assert_string_equal(kept, after);
    snprintf(p, sizeof(p), "%s/src/scenarios/me/s1.yaml", root);
    write_file(p, src_items[1].content);
    hub_free(h);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_defaults),
        cmocka_unit_test(test_sha256),
        cmocka_unit_test(test_index_parse),
        cmocka_unit_test(test_index_bad),
        cmocka_unit_test(test_deps),
        cmocka_unit_test(test_install_taint_remove),
        cmocka_unit_test(test_progress_and_hash_mismatch),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

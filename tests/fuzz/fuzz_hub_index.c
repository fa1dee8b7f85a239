/*
 * fuzz_hub_index.c - libFuzzer harness for the hub index (.index.json, a
 * downloaded file): the input is the index text, loaded with
 * hub_load_index_buf into a hub whose directories are a small fixed tree
 * made once in a temporary directory (a collection, a parser and a
 * scenario installed as links into the hub, two local files), so hub_scan
 * matches fuzzed items against installed files, hashes them (tainted or
 * not, as the fuzzed digests say) and walks the collections.
 *
 * Then, for every item (up to a bound), the contract is checked:
 *  - the items are sorted by (type, name) and hub_find finds each name;
 *  - paths stay inside the hub (no "..", no leading '/', under the type);
 *  - hub_deps_resolve either fails with a message or returns each item
 *    once, the item itself last, every one of them known to the index;
 *  - hub_item_status and hub_item_latest_digest answer.
 *
 * FUZZ_HUB_TRACE=1 prints the load error, or the items with their status.
 */
#include "common/common.h"

#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"
#include "hub/hub.h"

#define FUZZ_MAX_INPUT (1u << 20)
/* Dependency resolution per item is linear in the index; this keeps an input's cost bounded. */
#define FUZZ_MAX_RESOLVE 256

static struct {
    char root[64];
    struct hub_config cfg;
    bool ready, trace;
} state;

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void
fuzz_expr_cleanup(void)
{
    if (state.root[0] != '\0')
        nftw(state.root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    hub_config_clear(&state.cfg);
    memset(&state, 0, sizeof(state));
}

/* A broken property: the temporary files go first, since abort() skips atexit. */
static _Noreturn void
die(void)
{
    fuzz_expr_cleanup();
    abort();
}

static char *
join(const char *a, const char *b)
{
    size_t n = strlen(a) + strlen(b) + 2;
    char *s = malloc(n);

    if (s != NULL)
        snprintf(s, n, "%s/%s", a, b);
    return s;
}

/* Creates root/rel with its parent directories; content NULL = a directory. */
static int
make_file(const char *rel, const char *content)
{
    char path[512];

    if (snprintf(path, sizeof(path), "%s/%s", state.root, rel) >= (int)sizeof(path))
        return -1;
    for (char *p = path + strlen(state.root) + 1; *p != '\0'; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(path, 0700) < 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    if (content == NULL)
        return mkdir(path, 0700) < 0 && errno != EEXIST ? -1 : 0;
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return -1;
    fputs(content, f);
    return fclose(f);
}

static int
make_link(const char *target_rel, const char *link_rel)
{
    char target[512], link[512];

    snprintf(target, sizeof(target), "%s/%s", state.root, target_rel);
    snprintf(link, sizeof(link), "%s/%s", state.root, link_rel);
    return symlink(target, link);
}

/*
 * root/hub holds the downloaded items, root/etc the installed ones: the
 * names and contents match the fixture-* seeds (crowdsecurity/linux,
 * sshd-logs, ssh-bf with their sha256 digests).
 */
static int
setup(void)
{
    static const char *const files[][2] = {
        { "hub/collections/crowdsecurity/linux.yaml", "parsers:\n - crowdsecurity/sshd-logs\n" },
        { "hub/parsers/s01-parse/crowdsecurity/sshd-logs.yaml", "name: crowdsecurity/sshd-logs\n" },
        { "hub/scenarios/crowdsecurity/ssh-bf.yaml", "name: crowdsecurity/ssh-bf\n" },
        { "etc/parsers/s01-parse", NULL },
        { "etc/collections", NULL },
        { "etc/scenarios", NULL },
        { "etc/scenarios/my-local.yaml", "name: me/local\n" },
        { "etc/postoverflows/s01-whitelist/local-wl.yaml", "name: me/wl\n" },
        { "data", NULL },
    };

    if (state.ready)
        return 0;
    state.trace = getenv("FUZZ_HUB_TRACE") != NULL;
    const char *tmp = getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp";
    if (snprintf(state.root, sizeof(state.root), "%s/phalanx-fuzz-hub.XXXXXX", tmp) >=
            (int)sizeof(state.root) ||
        mkdtemp(state.root) == NULL) {
        state.root[0] = '\0';
        return -1;
    }
    for (size_t i = 0; i < ARRAY_SIZE(files); i++)
        if (make_file(files[i][0], files[i][1]) < 0)
            return -1;
    if (make_link("hub/collections/crowdsecurity/linux.yaml", "etc/collections/linux.yaml") < 0 ||
        make_link("hub/parsers/s01-parse/crowdsecurity/sshd-logs.yaml",
                  "etc/parsers/s01-parse/sshd-logs.yaml") < 0 ||
        make_link("hub/scenarios/crowdsecurity/ssh-bf.yaml", "etc/scenarios/ssh-bf.yaml") < 0)
        return -1;
    state.cfg.config_dir = join(state.root, "etc");
    state.cfg.hub_dir = join(state.root, "hub");
    state.cfg.data_dir = join(state.root, "data");
    state.cfg.index_path = join(state.root, "hub/.index.json");
    if (state.cfg.config_dir == NULL || state.cfg.hub_dir == NULL || state.cfg.data_dir == NULL ||
        state.cfg.index_path == NULL)
        return -1;
    atexit(fuzz_expr_cleanup);
    state.ready = true;
    return 0;
}

static int
item_order(const struct hub_item *a, const struct hub_item *b)
{
    if (a->type != b->type)
        return a->type < b->type ? -1 : 1;
    int c = strcmp(a->name, b->name);
    return c != 0 ? c : (int)a->local - (int)b->local;
}

static void
check_item(struct hub *h, size_t idx)
{
    struct hub_item *it = &h->items[idx];
    char buf[64];

    if (it->name == NULL || it->fname == NULL || it->description == NULL ||
        (unsigned)it->type >= HUB_NTYPES)
        die();
    if (idx > 0 && item_order(&h->items[idx - 1], it) > 0) {
        fprintf(stderr, "fuzz_hub_index: items %zu and %zu out of order\n", idx - 1, idx);
        die();
    }
    struct hub_item *found = hub_find(h, it->type, it->name);
    if (found == NULL || found->type != it->type || strcmp(found->name, it->name) != 0 ||
        (found->local && !it->local)) {
        fprintf(stderr, "fuzz_hub_index: hub_find misses %s %s\n", hub_type_name(it->type),
                it->name);
        die();
    }
    if (!it->local) {
        const char *tn = hub_type_name(it->type);
        const char *p = it->remote_path;
        if (p == NULL || p[0] == '/' || strstr(p, "..") != NULL ||
            strncmp(p, tn, strlen(tn)) != 0 || p[strlen(tn)] != '/' ||
            (hub_type_has_stage(it->type) && it->stage == NULL) ||
            (it->stage != NULL && strchr(it->stage, '/') != NULL)) {
            fprintf(stderr, "fuzz_hub_index: %s %s escapes the hub: path '%s'\n", tn, it->name,
                    p ? p : "(null)");
            die();
        }
    }
    if (hub_item_status(it, buf, sizeof(buf)) == NULL)
        die();
    if (state.trace)
        fprintf(stderr, "    %s %s: %s\n", hub_type_name(it->type), it->name, buf);
    const char *digest = hub_item_latest_digest(it);
    if (digest != NULL && it->version == NULL)
        die();
}

static void
check_resolve(struct hub *h, struct hub_item *it)
{
    struct hub_item **deps = NULL;
    struct hub_error err = { { 0 } };
    size_t n = 0;

    if (hub_deps_resolve(h, it, &deps, &n, &err) < 0) {
        if (err.message[0] == '\0')
            die();
        return;
    }
    if (n == 0 || n > h->nitems || deps[n - 1] != it) {
        fprintf(stderr, "fuzz_hub_index: %s resolves to %zu items, not ending with itself\n",
                it->name, n);
        die();
    }
    for (size_t i = 0; i < n; i++) {
        if (deps[i] < h->items || deps[i] >= h->items + h->nitems) {
            fprintf(stderr, "fuzz_hub_index: %s resolves outside the index\n", it->name);
            die();
        }
        for (size_t k = 0; k < i; k++) {
            if (deps[k] == deps[i]) {
                fprintf(stderr, "fuzz_hub_index: %s needs %s twice\n", it->name, deps[i]->name);
                die();
            }
        }
    }
    free(deps);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct hub_error err = { { 0 } };
    struct hub *h = NULL;
    char *buf;

    /* A NUL-terminated copy, never NULL (even empty), as hub_load's file reader gives. */
    if (size > FUZZ_MAX_INPUT || (buf = malloc(size + 1)) == NULL)
        return 0;
    if (size > 0)
        memcpy(buf, data, size);
    buf[size] = '\0';
    if (setup() < 0) {
        fprintf(stderr, "fuzz_hub_index: cannot make the hub tree under %s\n", state.root);
        die();
    }
    if ((h = hub_new(&state.cfg)) == NULL)
        goto out;
    if (hub_load_index_buf(h, buf, size, &err) < 0) {
        if (err.message[0] == '\0' || h->nitems != 0)
            die();
        if (state.trace)
            fprintf(stderr, "  load error: %s\n", err.message);
        goto out;
    }
    if (hub_scan(h, &err) < 0) {
        if (err.message[0] == '\0')
            die();
        if (state.trace)
            fprintf(stderr, "  scan error: %s\n", err.message);
        goto out;
    }
    if (state.trace)
        fprintf(stderr, "  %zu items\n", h->nitems);
    for (size_t i = 0; i < h->nitems; i++)
        check_item(h, i);
    for (size_t i = 0, resolved = 0; i < h->nitems && resolved < FUZZ_MAX_RESOLVE; i++) {
        if (h->items[i].local)
            continue;
        check_resolve(h, &h->items[i]);
        resolved++;
    }
out:
    hub_free(h);
    free(buf);
    return 0;
}

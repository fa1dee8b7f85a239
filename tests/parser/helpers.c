/*
 * helpers.c - see helpers.h.
 */
#include "common/common.h"

#include <sys/stat.h>

#include "config/config.h"
#include "helpers.h"

static json_t *
scalar_json(const struct ynode *n)
{
    char *end;

    if (ynode_is_null(n))
        return json_null();
    if (n->plain) {
        if (strcmp(n->str, "true") == 0)
            return json_true();
        if (strcmp(n->str, "false") == 0)
            return json_false();
        if (n->len > 0 && n->len < 19) {
            long long x = strtoll(n->str, &end, 10);
            if (*end == '\0')
                return json_integer(x);
        }
    }
    return json_stringn(n->str, n->len);
}

static json_t *
node_json(const struct ynode *n, int depth)
{
    json_t *j;

    if (n == NULL || depth > YTREE_MAX_DEPTH)
        return json_null();
    switch (n->type) {
    case YNODE_SCALAR: return scalar_json(n);
    case YNODE_SEQ:
        j = json_array();
        for (size_t i = 0; j && i < n->n; i++)
            json_array_append_new(j, node_json(n->items[i], depth + 1));
        return j;
    default:
        j = json_object();
        for (size_t i = 0; j && i < n->n; i++)
            json_object_set_new(j, n->items[2 * i]->str, node_json(n->items[2 * i + 1], depth + 1));
        return j;
    }
}

json_t *
ptest_yaml_file_to_json(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    struct ytree *t = NULL;
    char *buf = NULL;
    json_t *docs = NULL;
    long size;
    int line;

    if (f == NULL) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    if (fseek(f, 0, SEEK_END) < 0 || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) < 0 ||
        (buf = malloc((size_t)size + 1)) == NULL ||
        fread(buf, 1, (size_t)size, f) != (size_t)size) {
        snprintf(err, errlen, "%s: read error", path);
        goto out;
    }
    if (ytree_parse(buf, (size_t)size, &t, err, errlen, &line) < 0)
        goto out;
    docs = json_array();
    for (size_t i = 0; docs && i < t->ndocs; i++)
        json_array_append_new(docs, node_json(t->docs[i], 0));
out:
    ytree_free(t);
    free(buf);
    fclose(f);
    return docs;
}

const char *
ptest_source_root(void)
{
    const char *r = getenv("PHALANX_SOURCE_ROOT");
    return r != NULL && r[0] ? r : ".";
}

const char *
ptest_hub_dir(void)
{
    static char buf[4096];
    struct stat st;
    const char *h = getenv("HUB");

    if (h != NULL && h[0])
        snprintf(buf, sizeof(buf), "%s", h);
    else
        snprintf(buf, sizeof(buf), "%s/../shared/hub", ptest_source_root());
    char probe[4200];
    snprintf(probe, sizeof(probe), "%s/parsers", buf);
    if (stat(probe, &st) < 0 || !S_ISDIR(st.st_mode))
        return NULL;
    return buf;
}

struct grok_library *
ptest_grok_library(bool hub_patterns)
{
    struct grok_library *lib = grok_library_new();
    struct grok_error err;
    char dir[4200];

    if (lib == NULL)
        return NULL;
    snprintf(dir, sizeof(dir), "%s/config/patterns", ptest_source_root());
    if (grok_library_load_dir(lib, dir, &err) < 0) {
        fprintf(stderr, "# %s: %s:%d: %s\n", dir, err.file, err.line, err.message);
        grok_library_free(lib);
        return NULL;
    }
    const char *hub = hub_patterns ? ptest_hub_dir() : NULL;
    if (hub != NULL) {
        snprintf(dir, sizeof(dir), "%s/patterns", hub);
        /* the hub's files repeat our base set's names: the first definition wins, as in grokky */
        if (grok_library_load_dir(lib, dir, &err) < 0)
            fprintf(stderr, "# %s: %s:%d: %s (kept what loaded)\n", dir, err.file, err.line,
                    err.message);
    }
    return lib;
}

/*
 * resolve.c - from the names in config.yaml to parser files: an index name
 * goes through HUB/.index.json (`path`, `stage`), anything else is a path
 * relative to the hub root or to the test dir, whose stage is the third path
 * component from the end (parsers/<stage>/<author>/<file>), as
 * pkg/hubtest's installParserCustom does. Also writes the `overrides` node
 * hubtest makes from override_statics.
 */
#include "hubtest/internal.h"

#include <sys/stat.h>

struct hubtest_index {
    json_t *root;
};

struct hubtest_index *
hubtest_index_load(const char *hub_dir, char *err, size_t errlen)
{
    char path[PATH_MAX];
    if ((size_t)snprintf(path, sizeof(path), "%s/.index.json", hub_dir) >= sizeof(path)) {
        snprintf(err, errlen, "hub path too long");
        return NULL;
    }
    json_error_t jerr;
    json_t *root = json_load_file(path, 0, &jerr);
    if (root == NULL) {
        snprintf(err, errlen, "%s: line %d: %s", path, jerr.line, jerr.text);
        return NULL;
    }
    if (!json_is_object(root)) {
        json_decref(root);
        snprintf(err, errlen, "%s: expected an object", path);
        return NULL;
    }
    struct hubtest_index *idx = calloc(1, sizeof(*idx));
    if (idx == NULL) {
        json_decref(root);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    idx->root = root;
    return idx;
}

void
hubtest_index_free(struct hubtest_index *idx)
{
    if (idx == NULL)
        return;
    json_decref(idx->root);
    free(idx);
}

void
hubtest_item_clear(struct hubtest_item *it)
{
    free(it->path);
    free(it->stage);
    free(it->version);
    it->path = it->stage = it->version = NULL;
}

static bool
is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* The third path component from the end of path ("" when there are fewer). */
static int
stage_of(const char *path, char **ret)
{
    const char *end = path + strlen(path);
    const char *comp_end = end;
    /* Walk back over two separators: file, then author. */
    for (int seps = 0; seps < 2; seps++) {
        while (comp_end > path && comp_end[-1] != '/')
            comp_end--;
        if (comp_end == path)
            return -1;
        comp_end--; /* the '/' */
        while (comp_end > path && comp_end[-1] == '/')
            comp_end--;
    }
    const char *start = comp_end;
    while (start > path && start[-1] != '/')
        start--;
    if (start == comp_end)
        return -1;
    *ret = strndup(start, (size_t)(comp_end - start));
    return *ret == NULL ? -ENOMEM : 0;
}

int
hubtest_resolve_item(const struct hubtest_index *idx, const char *hub_dir, const char *test_dir,
                     const char *type, const char *entry, struct hubtest_item *ret, char *err,
                     size_t errlen)
{
    memset(ret, 0, sizeof(*ret));
    json_t *item = idx != NULL ? json_object_get(json_object_get(idx->root, type), entry) : NULL;
    if (item != NULL) {
        const char *rel = json_string_value(json_object_get(item, "path"));
        const char *stage = json_string_value(json_object_get(item, "stage"));
        const char *version = json_string_value(json_object_get(item, "version"));
        /* Scenarios have no stage in the index. */
        if (stage == NULL && strcmp(type, "scenarios") == 0)
            stage = "";
        if (rel == NULL || stage == NULL) {
            snprintf(err, errlen, "%s %s: no path or stage in .index.json", type, entry);
            return -1;
        }
        char path[PATH_MAX];
        if ((size_t)snprintf(path, sizeof(path), "%s/%s", hub_dir, rel) >= sizeof(path)) {
            snprintf(err, errlen, "%s: path too long", entry);
            return -1;
        }
        ret->path = strdup(path);
        ret->stage = strdup(stage);
        ret->from_index = true;
        if (version != NULL && (ret->version = strdup(version)) == NULL) {
            hubtest_item_clear(ret);
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        goto out;
    }
    /* Custom items: the hub root first, then the test dir (CustomItemsLocation). */
    const char *bases[] = { hub_dir, test_dir };
    while (entry[0] == '.' && entry[1] == '/')
        entry += 2; /* filepath.Join cleans "./x" to "x" */
    for (size_t i = 0; i < ARRAY_SIZE(bases); i++) {
        char path[PATH_MAX];
        if ((size_t)snprintf(path, sizeof(path), "%s/%s", bases[i], entry) >= sizeof(path))
            continue;
        if (!is_file(path))
            continue;
        char *stage = NULL;
        if (strcmp(type, "scenarios") == 0)
            stage = strdup(""); /* a scenario file has no stage */
        else if (stage_of(path, &stage) < 0) {
            snprintf(err, errlen, "%s: cannot tell its stage (expected <stage>/<author>/<file>)",
                     entry);
            return -1;
        }
        ret->path = strdup(path);
        ret->stage = stage;
        goto out;
    }
    snprintf(err, errlen, "couldn't find %s '%s' in .index.json, the hub or the test dir",
             strcmp(type, "parsers") == 0 ? "parser" : type, entry);
    return -1;
out:
    if (ret->path == NULL || ret->stage == NULL) {
        hubtest_item_clear(ret);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

/* A YAML double-quoted scalar: JSON's escapes are valid YAML escapes. */
static int
put_quoted(FILE *f, const char *s)
{
    json_t *j = json_string(s);
    if (j == NULL)
        return -1;
    int rc = json_dumpf(j, f, JSON_ENCODE_ANY);
    json_decref(j);
    return rc;
}

int
hubtest_write_overrides(const char *path, const struct hubtest_static *statics, size_t n, char *err,
                        size_t errlen)
{
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    int rc = 0;
    fputs("name: overrides\nfilter: \"1==1\"\nstatics:\n", f);
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (statics[i].len == 0) {
            fputs("  - {}\n", f);
            continue;
        }
        for (size_t k = 0; k < statics[i].len && rc == 0; k++) {
            fputs(k == 0 ? "  - " : "    ", f);
            rc |= put_quoted(f, statics[i].kv[k].key);
            fputs(": ", f);
            rc |= put_quoted(f, statics[i].kv[k].value);
            fputc('\n', f);
        }
    }
    if (fclose(f) != 0 || rc != 0) {
        snprintf(err, errlen, "%s: could not write the overrides", path);
        return -1;
    }
    return 0;
}

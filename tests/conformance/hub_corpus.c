/*
 * hub_corpus.c - writes the distinct item expressions of a hub as a fuzz seed
 * corpus: one file per expression, named by a 64-bit FNV-1a hash of its text
 * (16 hex digits), so re-running it over the same hub rewrites the same files.
 *
 *   hub_corpus HUB_DIR OUT_DIR      (e.g. tests/fuzz/corpus/expr)
 *
 * Assert lines are left out: they only compile in the hubtest contexts, and a
 * handful of their shapes would add nothing the item expressions lack.
 */
#include <sys/stat.h>

#include "common/hashmap.h"
#include "hubwalk.h"

static uint64_t
fnv1a64(const char *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;

    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

static int
write_seed(const char *dir, const char *src, size_t len)
{
    char path[4096];
    FILE *f;

    if (snprintf(path, sizeof(path), "%s/%016llx", dir, (unsigned long long)fnv1a64(src, len)) >=
        (int)sizeof(path))
        return -1;
    f = fopen(path, "wb");
    if (f == NULL)
        return -1;
    size_t w = fwrite(src, 1, len, f);
    if (fclose(f) != 0 || w != len)
        return -1;
    return 0;
}

int
main(int argc, char **argv)
{
    struct hubwalk_files files = { 0 };
    struct hubwalk_list list = { 0 };
    struct hashmap *seen = NULL;
    size_t found = 0, written = 0;
    char err[512];
    int rc = 1;

    if (argc != 3) {
        fprintf(stderr, "usage: %s HUB_DIR OUT_DIR\n", argv[0]);
        return 2;
    }
    if (mkdir(argv[2], 0755) < 0 && errno != EEXIST) {
        fprintf(stderr, "%s: %s\n", argv[2], strerror(errno));
        return 1;
    }
    int lrc = hubwalk_list_files(argv[1], &files);
    if (lrc < 0) {
        fprintf(stderr, "%s: %s\n", argv[1], strerror(-lrc));
        return 1;
    }
    seen = hashmap_new(NULL);
    if (seen == NULL)
        goto out;
    for (size_t i = 0; i < files.len; i++) {
        const struct hubwalk_file *f = &files.items[i];
        if (f->kind == HUBWALK_KIND_PARSER_ASSERT || f->kind == HUBWALK_KIND_SCENARIO_ASSERT)
            continue;
        hubwalk_list_clear(&list);
        if (hubwalk_file_exprs(argv[1], f, &list, err, sizeof(err)) < 0) {
            fprintf(stderr, "%s: %s\n", f->rel, err);
            goto out;
        }
        for (size_t k = 0; k < list.len; k++) {
            const struct hubwalk_expr *e = &list.items[k];
            found++;
            if (hashmap_get(seen, e->src, e->len) != NULL)
                continue;
            if (hashmap_put(seen, e->src, e->len, (void *)1) < 0)
                goto out;
            if (write_seed(argv[2], e->src, e->len) < 0) {
                fprintf(stderr, "%s: cannot write a seed: %s\n", argv[2], strerror(errno));
                goto out;
            }
            written++;
        }
    }
    printf("%zu expressions, %zu distinct seeds written to %s\n", found, written, argv[2]);
    rc = 0;
out:
    hashmap_free(seen);
    hubwalk_list_free(&list);
    hubwalk_files_free(&files);
    return rc;
}

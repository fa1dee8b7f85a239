/*
 * decode.h - strict decoding of YAML values into C values, with the errors
 * yaml.v2's UnmarshalStrict gives (unknown key, duplicate key, a collection
 * where a scalar belongs, a string where an int belongs), naming the file,
 * line and key. Shared by the scenario loader's files.
 */
#ifndef PHALANX_BUCKET_DECODE_H
#define PHALANX_BUCKET_DECODE_H

#include "bucket/bucket.h"
#include "config/config.h"

struct loader {
    const char *file;
    struct bucket_error *err;
    const struct bucket_options *opts;
};

/* Fills ld->err; returns -1. */
int load_fail(struct loader *ld, int line, const char *fmt, ...) PRINTF_LIKE(3, 4);
/* Value of key in a map node, or NULL. */
const struct ynode *yget(const struct ynode *map, const char *key);
/* Checks y is a map whose keys are all in allowed, each once. */
int ycheck_keys(struct loader *ld, const struct ynode *y, const char *what,
                const char *const *allowed, size_t nallowed);
/* Scalars: a NULL or null node leaves the zero value (NULL string, 0, false). */
int ystring(struct loader *ld, const struct ynode *v, const char *key, char **ret);
int yint(struct loader *ld, const struct ynode *v, const char *key, int64_t *ret);
int yfloat32(struct loader *ld, const struct ynode *v, const char *key, float *ret);
int ybool(struct loader *ld, const struct ynode *v, const char *key, bool *ret);
/* A sequence of strings (checked, not kept). */
int ystring_seq(struct loader *ld, const struct ynode *v, const char *key);
/* Checks that v is a sequence (or null). */
int yseq(struct loader *ld, const struct ynode *v, const char *key);
/* YAML 1.1 boolean spelling of a plain scalar: 1 true, 0 false, -1 not a bool. */
int yaml_bool_value(const struct ynode *v);

#endif

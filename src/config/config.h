/*
 * config.h - configuration files as data: a YAML stream read with libyaml into
 * a small tree that keeps the line of every node, so the loaders of parsers,
 * scenarios and configuration can decode it strictly (unknown key, wrong type)
 * and name the line in their errors.
 *
 * Every node and string lives in the tree's arena. Anchors and aliases are
 * refused (no hub file uses them, and refusing them rules out alias bombs);
 * so are documents deeper than YTREE_MAX_DEPTH or bigger than YTREE_MAX_NODES.
 */
#ifndef PHALANX_CONFIG_H
#define PHALANX_CONFIG_H

#include "common/arena.h"
#include "common/common.h"

#define YTREE_MAX_DEPTH 64
#define YTREE_MAX_NODES (1u << 20)

enum ynode_type { YNODE_SCALAR, YNODE_MAP, YNODE_SEQ };

struct ynode {
    int type;        /* enum ynode_type */
    int line;        /* 1-based */
    bool plain;      /* scalar written without quotes (so "null"/"true" may be resolved) */
    const char *str; /* scalar text, NUL-terminated */
    size_t len;
    /* seq: n items; map: n pairs as items[2i] (key) and items[2i+1] (value) */
    struct ynode **items;
    size_t n, cap;
};

struct ytree {
    struct arena arena;
    struct ynode **docs; /* NULL entries for empty documents */
    size_t ndocs, cap;
};

/*
 * Parses buf (len bytes) into *ret. Returns 0, or -1 with a message in err
 * and the 1-based line in *ret_line (0 if unknown); -ENOMEM on allocation
 * failure.
 */
int ytree_parse(const char *buf, size_t len, struct ytree **ret, char *err, size_t errlen,
                int *ret_line);
void ytree_free(struct ytree *t);

/* A plain scalar YAML reads as null ("", "~", "null", "Null", "NULL"). */
bool ynode_is_null(const struct ynode *n);
/* The kind name as yaml.v2 says it in errors: "!!map", "!!seq", "!!str". */
const char *ynode_kind(const struct ynode *n);

/*
 * Strict decoding helpers shared by the loaders (they word their own errors).
 * ynode_bool_value: yaml.v2's YAML 1.1 booleans (y/yes/true/on ... n/no/false/off in
 * their three casings) of a plain scalar: 1, 0, or -1 when v is not one.
 * ynode_map_get: the value of key in a map, NULL when absent or map is no map.
 * ynode_check_keys: every key of map a string, in allowed, and given once;
 * returns YKEYS_OK, or the problem with the offending key node in *ret_bad.
 */
enum ynode_keys_problem {
    YKEYS_OK,
    YKEYS_NOT_MAP,
    YKEYS_NOT_STRING,
    YKEYS_UNKNOWN,
    YKEYS_DUPLICATE
};
int ynode_bool_value(const struct ynode *v);
const struct ynode *ynode_map_get(const struct ynode *map, const char *key);
enum ynode_keys_problem ynode_check_keys(const struct ynode *map, const char *const *allowed,
                                         size_t nallowed, const struct ynode **ret_bad);

#endif

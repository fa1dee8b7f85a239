/*
 * yaml_doc.h - a YAML stream read with libyaml into a small tree that keeps
 * the line of every node, so the scenario loader can decode it strictly (unknown
 * key, wrong type) and name the line in its errors. Private to src/bucket (a copy of
 * src/parser/yaml_tree.h: a module may not include another module's private header; both could move
 * to common later).
 *
 * Every node and string lives in the tree's arena. Anchors and aliases are
 * refused (no hub file uses them, and refusing them rules out alias bombs);
 * so are documents deeper than BYAML_MAX_DEPTH or bigger than BYAML_MAX_NODES.
 */
#ifndef PHALANX_BUCKET_YAML_H
#define PHALANX_BUCKET_YAML_H

#include "common/arena.h"
#include "common/common.h"

#define BYAML_MAX_DEPTH 64
#define BYAML_MAX_NODES (1u << 20)

enum byaml_type { BYAML_SCALAR, BYAML_MAP, BYAML_SEQ };

struct byaml_node {
    int type;        /* enum byaml_type */
    int line;        /* 1-based */
    bool plain;      /* scalar written without quotes (so "null"/"true" may be resolved) */
    const char *str; /* scalar text, NUL-terminated */
    size_t len;
    /* seq: n items; map: n pairs as items[2i] (key) and items[2i+1] (value) */
    struct byaml_node **items;
    size_t n, cap;
};

struct byaml_tree {
    struct arena arena;
    struct byaml_node **docs; /* NULL entries for empty documents */
    size_t ndocs, cap;
};

/*
 * Parses buf (len bytes) into *ret. Returns 0, or -1 with a message in err
 * and the 1-based line in *ret_line (0 if unknown); -ENOMEM on allocation
 * failure.
 */
int byaml_parse(const char *buf, size_t len, struct byaml_tree **ret, char *err, size_t errlen,
                int *ret_line);
void byaml_free(struct byaml_tree *t);

/* A plain scalar YAML reads as null ("", "~", "null", "Null", "NULL"). */
bool byaml_is_null(const struct byaml_node *n);
/* The kind name as yaml.v2 says it in errors: "!!map", "!!seq", "!!str". */
const char *byaml_kind(const struct byaml_node *n);

#endif

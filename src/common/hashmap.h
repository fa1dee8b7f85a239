/*
 * hashmap.h - an open-addressing hash map from byte-string keys to pointers.
 *
 * Keys are copied into the map; values are borrowed unless a value destructor
 * is given, in which case the map frees them on removal and in hashmap_free().
 * Hashing is SipHash-1-3 with a per-process random key, so attacker-chosen keys
 * cannot force collisions.
 */
#ifndef PHALANX_HASHMAP_H
#define PHALANX_HASHMAP_H

#include "common.h"

struct hashmap;

struct hashmap *hashmap_new(void (*free_value)(void *value));
void hashmap_free(struct hashmap *m);

/* Inserts or replaces; returns 0 or -ENOMEM. A replaced value is freed. */
int hashmap_put(struct hashmap *m, const void *key, size_t keylen, void *value);
/* Returns the value or NULL. */
void *hashmap_get(const struct hashmap *m, const void *key, size_t keylen);
/* Removes and frees the value; returns 0, or -ENOENT if absent. */
int hashmap_remove(struct hashmap *m, const void *key, size_t keylen);
size_t hashmap_len(const struct hashmap *m);

/* Iteration in unspecified order: start with *iter = 0; returns false at the end. */
bool hashmap_next(const struct hashmap *m, size_t *iter, const void **ret_key, size_t *ret_keylen,
                  void **ret_value);

/* The hash used by the map, exposed for sharding (e.g. bucket shards). */
uint64_t hash_bytes(const void *p, size_t n);

#endif

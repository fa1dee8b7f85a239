/*
 * str.h - length-carrying strings.
 *
 * struct strv is a borrowed view (pointer + length, not NUL-terminated).
 * struct str is an owned, growable buffer that always keeps a NUL after its
 * bytes, so buf can be handed to C APIs. str_free(NULL) is a no-op.
 */
#ifndef PHALANX_STR_H
#define PHALANX_STR_H

#include "common.h"

struct strv {
    const char *ptr;
    size_t len;
};

struct str {
    char *buf; /* owned; NUL-terminated when cap > 0 */
    size_t len;
    size_t cap;
};

#define STRV(lit) ((struct strv){ .ptr = (lit), .len = sizeof(lit) - 1 })
#define STR_INIT  ((struct str){ 0 })

struct strv strv_from_cstr(const char *s);
bool strv_eq(struct strv a, struct strv b);
bool strv_eq_cstr(struct strv a, const char *s);
int strv_cmp(struct strv a, struct strv b); /* bytewise, like Go's string compare */
bool strv_has_prefix(struct strv s, struct strv prefix);
bool strv_has_suffix(struct strv s, struct strv suffix);
/* Byte offset of the first occurrence of needle, or -1. */
ptrdiff_t strv_find(struct strv hay, struct strv needle);

/* All return 0 or -ENOMEM; on failure the string is unchanged. */
int str_reserve(struct str *s, size_t extra);
int str_append(struct str *s, const char *p, size_t n);
int str_append_cstr(struct str *s, const char *cstr);
int str_append_char(struct str *s, char c);
int str_appendf(struct str *s, const char *fmt, ...) PRINTF_LIKE(2, 3);
void str_clear(struct str *s); /* keeps the buffer */
void str_free(struct str *s);  /* releases the buffer, leaves an empty string */
/* Hands the buffer to the caller (free() it) and leaves s empty; never NULL unless OOM. */
char *str_steal(struct str *s);

#endif

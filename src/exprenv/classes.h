/*
 * classes.h - what the class files of src/exprenv share: short type
 * initialisers for the field tables and argument checks for methods.
 */
#ifndef PHALANX_EXPRENV_CLASSES_H
#define PHALANX_EXPRENV_CLASSES_H

#include "exprenv/exprenv.h"

#define T_ANY                                                                                      \
    {                                                                                              \
        .kind = EXPR_ANY                                                                           \
    }
#define T_BOOL                                                                                     \
    {                                                                                              \
        .kind = EXPR_BOOL                                                                          \
    }
#define T_INT                                                                                      \
    {                                                                                              \
        .kind = EXPR_INT                                                                           \
    }
#define T_FLOAT                                                                                    \
    {                                                                                              \
        .kind = EXPR_FLOAT                                                                         \
    }
#define T_STR                                                                                      \
    {                                                                                              \
        .kind = EXPR_STRING                                                                        \
    }
#define T_TIME                                                                                     \
    {                                                                                              \
        .kind = EXPR_TIME                                                                          \
    }
#define T_DURATION                                                                                 \
    {                                                                                              \
        .kind = EXPR_DURATION                                                                      \
    }
#define T_OBJ(c)                                                                                   \
    {                                                                                              \
        .kind = EXPR_OBJECT, .cls = &(c)                                                           \
    }
#define T_ARRAY_OF(t)                                                                              \
    {                                                                                              \
        .kind = EXPR_ARRAY, .elem = &(t)                                                           \
    }

extern const struct expr_type exprenv_t_string;
extern const struct expr_type exprenv_t_int;
extern const struct expr_type exprenv_t_any;

/* A C string (NULL = "") as a borrowed expression string. */
static inline struct expr_value
exprenv_cstr(const char *s)
{
    if (s == NULL)
        return expr_strv("", 0);
    return expr_strv(s, strlen(s));
}

static inline struct expr_value
exprenv_strv(struct strv s)
{
    if (s.ptr == NULL)
        return expr_strv("", 0);
    return expr_strv(s.ptr, s.len);
}

/*
 * Copies string argument i of a method into the vm's arena as a C string;
 * NULL after a run-time error when the argument is not a string.
 */
const char *exprenv_arg_cstr(struct expr_vm *vm, const char *method, const struct expr_value *args,
                             size_t i);
/* Resolves a Go slice index (negative counts from the end); -1 after an error. */
int exprenv_slice_index(struct expr_vm *vm, const struct expr_value *key, size_t len, size_t *ret);
/* A map key as (ptr, len); false when the key is not a string. */
bool exprenv_map_key(const struct expr_value *key, const char **ret_ptr, size_t *ret_len);
/* exprenv_map_key for an index callback: 0, or -1 with Go's error for a non-string key. */
int exprenv_map_key_arg(struct expr_vm *vm, const struct expr_value *key, const char **ret_ptr,
                        size_t *ret_len);
/* Go's out-of-range panic for element i of a slice of len elements; returns -1. */
int exprenv_index_error(struct expr_vm *vm, size_t i, size_t len);

/* An expression value as a new JSON value (for helpers writing into Unmarshaled); NULL on error. */
json_t *exprenv_value_to_json(struct expr_vm *vm, const struct expr_value *v, int depth);

#endif

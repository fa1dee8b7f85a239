/*
 * internal.h - what the files of src/expr share and nobody else sees.
 *
 * struct expr_vm is owned by vm.c; value.c and the helpers only use the
 * arena and the error buffer. Methods of Go value types (time.Time,
 * time.Duration, time.Weekday) are classes too: their callbacks receive a
 * pointer to the struct expr_value as `obj`.
 * Owners: vm.c has expr_vm_new/free, expr_vm_error, expr_eval,
 * expr_vm_call_closure and the arena helpers (expr_vm_alloc/str/strf/array/map,
 * expr_array_push, expr_map_set/get); value.c has the "value utilities" of
 * expr.h; builtins.c has expr_builtins[] and the Go value-type classes.
 */
#ifndef PHALANX_EXPR_INTERNAL_H
#define PHALANX_EXPR_INTERNAL_H

#include "common/arena.h"
#include "expr.h"

#define EXPR_VM_ERROR_MAX 256

struct expr_vm {
    struct arena arena; /* per-evaluation scratch, reset by expr_eval() */
    char error[EXPR_VM_ERROR_MAX];
    bool has_error;
    struct vm_state *state; /* stack, frames: private to vm.c */
};

/* Method tables of Go value types, looked up by the compiler for EXPR_TIME etc. (builtins.c). */
/* Hour() Minute() Weekday() Unix() Format() Sub() ... */
extern const struct expr_class expr_time_class;
extern const struct expr_class expr_duration_class; /* Hours() Minutes() Seconds() String() ... */
/* String(); obj is the struct expr_value (int) */
extern const struct expr_class expr_weekday_class;
/*
 * time.Weekday and time.Month values are EXPR_OBJECT values of these classes
 * whose ptr points at a static struct expr_value holding the number (Sunday=0,
 * January=1), from expr_weekday_value()/expr_month_value(). %v prints the
 * name (Go's String()), JSON and int() give the number, == compares them with
 * each other only (Go: Weekday(1) != 1).
 */
extern const struct expr_class expr_month_class; /* String() */
struct expr_value expr_weekday_value(int wd);    /* 0..6 (builtins.c) */
struct expr_value expr_month_value(int m);       /* 1..12 (builtins.c) */

/*
 * Go's *time.Location (tzdb.c): timezone() returns an EXPR_OBJECT of
 * expr_location_class whose ptr is a struct expr_tz in the vm arena.
 */
struct expr_tz;
extern const struct expr_class expr_location_class; /* String() */
/* time.LoadLocation; 0, or -1 with Go's message ("unknown time zone X") on vm. */
int expr_tz_load(struct expr_vm *vm, const char *name, size_t len, const struct expr_tz **ret);
/* Seconds east of UTC in zone tz at the instant unix_s. */
int32_t expr_tz_offset(const struct expr_tz *tz, int64_t unix_s);
const char *expr_tz_name(const struct expr_tz *tz, size_t *ret_len);

/*
 * Compile-time argument checks (sigs.c). expr_func_sig() is the Go signature
 * of a default builtin or CrowdSec helper ("string,string;string" = two
 * overloads), NULL for unchecked functions. expr_func_validator() describes
 * the builtins that expr-lang checks with a validator: arity worded "invalid
 * number of arguments (expected N, got M)" and an argument class.
 */
enum expr_validate_class {
    EXPR_VALIDATE_NONE,
    EXPR_VALIDATE_LEN,     /* string, array or map */
    EXPR_VALIDATE_NUMBER,  /* int or float */
    EXPR_VALIDATE_CONVERT, /* int, float or string */
};
struct expr_validator {
    const char *name;
    int min_args, max_args; /* max_args -1 = variadic */
    enum expr_validate_class arg_class;
};
const char *expr_func_sig(const struct expr_func *f);
const struct expr_validator *expr_func_validator(const struct expr_func *f);

/* Shared by value.c, builtins.c, lexer.c and the helpers (value.c). */
/* Go's %T of a value: "int", "float64", "[]interface {}", "time.Time", the class name... */
const char *expr_value_type_name(const struct expr_value *v);
/* Decodes one rune like Go's utf8.DecodeRune: invalid => 0xFFFD with *size 1 (0 at end). */
int32_t expr_utf8_decode(const char *s, size_t len, size_t *size);
/* Appends r as UTF-8 (invalid runes as U+FFFD); returns the bytes written (1..4) into buf. */
size_t expr_utf8_encode(int32_t r, char *buf);
/* Go's unicode.IsSpace: the Latin-1 and Unicode White_Space runes. */
bool expr_rune_is_space(int32_t r);
/* Like expr_value_from_json, but keeps integers that fit int64 as ints (JSON env files). */
int expr_value_from_json_ex(struct expr_vm *vm, const char *text, size_t len, bool keep_ints,
                            struct expr_value *ret);

/* Environment lookups for the compiler (env.c). */
/* Slot of variable name (and its type in *ret_type), or -1. */
int expr_env_find_var(const struct expr_env *env, const char *name, struct expr_type *ret_type);
const char *expr_env_var_name(const struct expr_env *env, size_t slot);
/* The newest function of that name, or NULL. */
const struct expr_func *expr_env_find_func(const struct expr_env *env, const char *name);

#endif

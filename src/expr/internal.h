/*
 * internal.h - what the files of src/expr share and nobody else sees.
 *
 * struct expr_vm is owned by vm.c; value.c and the helpers only use the
 * arena and the error buffer. Methods of Go value types (time.Time,
 * time.Duration, time.Weekday) are classes too: their callbacks receive a
 * pointer to the struct expr_value as `obj`.
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
extern const struct expr_class expr_time_class;     /* Hour() Minute() Weekday() Unix() Format() Sub() ... */
extern const struct expr_class expr_duration_class; /* Hours() Minutes() Seconds() String() ... */
extern const struct expr_class expr_weekday_class;  /* String(); obj is the struct expr_value (int) */

#endif

/*
 * builtins.c - the expr-lang builtin functions and the Go value-type methods.
 */
#include "expr/helpers.h"
#include "expr/internal.h"

const struct expr_func expr_builtins[] = { { 0 } };
const size_t expr_builtins_count = 0;

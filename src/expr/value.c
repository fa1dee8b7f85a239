/*
 * value.c - value utilities of the expression engine: Go-like formatting,
 * JSON, equality, and the arena helpers that build values during an eval.
 */
#include "expr/internal.h"

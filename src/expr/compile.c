/*
 * compile.c - part of the expression engine (compiler, vm, environment); being written.
 */
#include "expr/internal.h"

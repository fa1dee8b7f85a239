/*
 * helpers_strings.c - CrowdSec expression helpers (strings family).
 */
#include "expr/helpers.h"

const struct expr_func expr_helpers_strings[] = { { 0 } };
const size_t expr_helpers_strings_count = 0;

/*
 * helpers_misc.c - CrowdSec expression helpers (misc family).
 */
#include "expr/helpers.h"

const struct expr_func expr_helpers_misc[] = { { 0 } };
const size_t expr_helpers_misc_count = 0;

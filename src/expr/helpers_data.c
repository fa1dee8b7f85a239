/*
 * helpers_data.c - CrowdSec expression helpers (data family).
 */
#include "expr/helpers.h"

const struct expr_func expr_helpers_data[] = { { 0 } };
const size_t expr_helpers_data_count = 0;

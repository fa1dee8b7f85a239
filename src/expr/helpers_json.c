/*
 * helpers_json.c - CrowdSec expression helpers (json family).
 */
#include "expr/helpers.h"

const struct expr_func expr_helpers_json[] = { { 0 } };
const size_t expr_helpers_json_count = 0;

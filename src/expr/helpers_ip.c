/*
 * helpers_ip.c - CrowdSec expression helpers (ip family).
 */
#include "expr/helpers.h"

const struct expr_func expr_helpers_ip[] = { { 0 } };
const size_t expr_helpers_ip_count = 0;

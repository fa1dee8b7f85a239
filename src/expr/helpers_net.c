/*
 * helpers_net.c - CrowdSec expression helpers (net family).
 */
#include "expr/helpers.h"

const struct expr_func expr_helpers_net[] = { { 0 } };
const size_t expr_helpers_net_count = 0;

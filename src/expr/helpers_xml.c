/*
 * helpers_xml.c - CrowdSec expression helpers (xml family).
 */
#include "expr/helpers.h"

const struct expr_func expr_helpers_xml[] = { { 0 } };
const size_t expr_helpers_xml_count = 0;

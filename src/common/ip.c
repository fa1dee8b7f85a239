/*
 * ip.c - see ip.h.
 */
#include "common/ip.h"

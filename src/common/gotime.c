/*
 * gotime.c - see gotime.h.
 */
#include "common/gotime.h"

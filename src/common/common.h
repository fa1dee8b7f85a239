/*
 * common.h - the one header every Phalanx file may include first.
 *
 * It pulls the standard headers nearly every file needs, defines a few tiny
 * macros, and poisons the C library calls that have no bound on their output
 * (sprintf, strcpy, strcat, strtok, gets): use snprintf and struct str.
 */
#ifndef PHALANX_COMMON_H
#define PHALANX_COMMON_H

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MIN(a, b)     ((a) < (b) ? (a) : (b))
#define MAX(a, b)     ((a) > (b) ? (a) : (b))
#define UNUSED(x)     ((void)(x))

#if defined(__GNUC__)
#define PRINTF_LIKE(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define PRINTF_LIKE(fmt, args)
#endif

#ifndef PHALANX_NO_POISON
#pragma GCC poison sprintf vsprintf strcpy strcat strtok gets
#endif

#endif

/*
 * bench_expr.c - evaluations per second of representative hub expressions
 * (being filled in).
 */
#include <stdio.h>

int
main(void)
{
    return 0;
}

/*
 * fuzz.h - the entry points shared by the libFuzzer targets and replay.c,
 * the plain main() that replays their committed corpora as ordinary tests.
 */
#ifndef PHALANX_TESTS_FUZZ_H
#define PHALANX_TESTS_FUZZ_H

#include <stddef.h>
#include <stdint.h>

/* libFuzzer's entry point: must never crash, leak or hang, whatever data holds. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* Releases what the harness keeps between inputs (replay calls it at exit). */
void fuzz_expr_cleanup(void);

#endif

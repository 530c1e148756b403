/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz.h - what every qrdesk fuzz target shares.
 *
 * A target is one file defining LLVMFuzzerTestOneInput.  It is linked either
 * with libFuzzer (clang, -fsanitize=fuzzer: tests/fuzz/CMakeLists.txt) or with
 * replay_main.c, which feeds it every file of a corpus (any compiler, the
 * normal build: tests/fuzz/replay.cmake).  Memory errors are found by the
 * sanitizers; broken properties (a round trip that does not round-trip) by
 * FUZZ_CHECK, which aborts in every build, sanitized or not.
 */
#ifndef QRDESK_FUZZ_H
#define QRDESK_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* The libFuzzer entry point; always returns 0. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                                           \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: property violated: %s\n", __FILE__, __LINE__,      \
			        #cond);                                                            \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

/*
 * Read every byte of p[0..n): under ASan a span reaching past its buffer is
 * reported here, at the caller that was handed the span.
 */
static inline uint8_t fuzz_touch(const uint8_t *p, size_t n)
{
	volatile uint8_t acc = 0;
	for (size_t i = 0; i < n; i++)
		acc ^= p[i];
	return acc;
}

/* Is p[0..n) inside buf[0..len)?  (An empty span may also be NULL.) */
static inline int fuzz_inside(const uint8_t *p, size_t n, const uint8_t *buf, size_t len)
{
	if (n == 0 && p == NULL)
		return 1;
	if (p == NULL || buf == NULL)
		return 0;
	uintptr_t a = (uintptr_t)p, b = (uintptr_t)buf;
	return a >= b && a - b <= len && n <= len - (a - b);
}

/* malloc that never returns NULL (size 0 gives a 1-byte block). */
static inline void *fuzz_alloc(size_t n)
{
	void *p = malloc(n > 0 ? n : 1);
	if (p == NULL)
		abort();
	return p;
}

#endif

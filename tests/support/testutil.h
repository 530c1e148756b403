/* SPDX-License-Identifier: Apache-2.0 */
/*
 * testutil.h - helpers shared by the unit tests: files, hex, the shared
 * vectors.  Failures abort the test through cmocka (fail_msg), so callers
 * need not check results.
 */
#ifndef QRDESK_TESTUTIL_H
#define QRDESK_TESTUTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <jansson.h>

/* Path of a file under ../shared/vectors (static buffer, valid until next call). */
const char *tu_vector_path(const char *relative);

/* Load a JSON file under the vectors dir; fails the test if absent or invalid. */
json_t *tu_load_vector_json(const char *relative);

/* Decode hex (upper or lower case) into a malloc'd buffer; fails on bad hex. */
uint8_t *tu_hex_decode(const char *hex, size_t *len);
/* Decode hex into out[0..cap); returns the length; fails on bad hex or overflow. */
size_t tu_hex_into(const char *hex, uint8_t *out, size_t cap);

/* Decode base64url without padding (as in JWK/COSE keys) into out; returns length. */
size_t tu_base64url_into(const char *text, uint8_t *out, size_t cap);

/* Read a whole file into a malloc'd buffer (NUL appended, not counted). */
uint8_t *tu_read_file(const char *path, size_t *len);

/* Copies the file at from to to (created or replaced); fails the test on any error. */
void tu_copy_file(const char *from, const char *to);

/*
 * The nice of this process's thread named comm (/proc/self/task/TID/comm and
 * stat), found within about a second; fails the test if there is none.
 */
int tu_thread_nice(const char *comm);
/* Its scheduling policy (SCHED_OTHER 0, SCHED_FIFO 1, ...), the same way. */
int tu_thread_policy(const char *comm);
/* Its blocked signals (SigBlk of its status: bit signo - 1), the same way. */
unsigned long long tu_thread_sigblk(const char *comm);
/* Whether a thread of this process may take SCHED_FIFO at priority (tried in a thread of
 * its own). */
bool tu_fifo_allowed(int priority);

/*
 * Whether a thread of this process at nice `from` may go to nice `to`, found by
 * trying in a throwaway thread (root without CAP_SYS_NICE, an RLIMIT_NICE: the
 * kernel's answer, not a guess).  from must not be below the caller's nice.
 */
bool tu_nice_allowed(int from, int to);

/* A fresh temporary directory (removed by tu_rmtree). */
char *tu_mkdtemp(void);
void tu_rmtree(const char *path);

/*
 * A stick on a loop device (root only): a 16 MiB image at img with a vfat file
 * system (ext4 when the kernel has no vfat: *fs says which), attached; its node
 * in dev.  NULL, or why it cannot be done here (the caller skips).  Detach
 * with `losetup -d`.
 */
const char *tu_loop_stick(const char *img, const char **fs, char *dev, size_t dev_size);

#endif

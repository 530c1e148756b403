/* SPDX-License-Identifier: Apache-2.0 */
/*
 * file.h - reading a whole small file at a path we do not control (the
 * configuration, trust documents, images in a folder, files on a USB stick).
 *
 * The file must be a regular file of at most cap bytes, and the same size
 * from fstat to the end of the read.  The open never blocks (O_NONBLOCK: a
 * FIFO or a device put at the path is refused, not waited on), is not
 * inherited (O_CLOEXEC) and takes no controlling tty (O_NOCTTY).
 */
#ifndef QRDESK_FILE_H
#define QRDESK_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "qrdesk/error.h"

/* Flags of struct file_read_options. */
enum {
	FILE_READ_NOFOLLOW = 1u << 0, /* refuse a symbolic link as the last component */
};

struct file_read_options {
	unsigned flags; /* FILE_READ_* */
	/* The code for a path that is not a regular file (QD_OK: QD_ERR_IO). */
	enum qd_err not_regular;
	/* Called after each chunk read (at most 1 MiB) with the bytes so far; may be NULL. */
	void (*progress)(void *arg, size_t done, size_t total);
	void *progress_arg;
};

/*
 * Read path (relative to the directory dir, or AT_FDCWD) whole into *data
 * (malloc'd, the caller frees; one NUL byte follows the *len bytes, so text
 * can be used in place).  opt may be NULL.  On failure *data is NULL and why
 * says what, without the path (the caller names the file):
 *   QD_ERR_NOT_FOUND  no such file (ENOENT, ENOTDIR)
 *   QD_ERR_IO         open, stat or read failed; the file changed size while read;
 *                     not a regular file (unless opt->not_regular says otherwise)
 *   QD_ERR_TOO_LARGE  more than cap bytes
 *   QD_ERR_NOMEM
 */
enum qd_err file_read_at(int dir, const char *path, size_t cap, const struct file_read_options *opt,
                         uint8_t **data, size_t *len, struct qd_errmsg *why);

/*
 * A small secret (a key, a token) read whole into buf, not malloc'd, so the caller can wipe
 * it: a regular file (a symbolic link as the last component refused, not followed) with no
 * mode bit of forbidden_mode set (077: the owner alone; 026: the group may read), holding
 * at most cap - 1 bytes (a longer file is refused, never cut).  buf is wiped on failure.
 * why, without the path: hint follows a mode refusal ("chmod 600").
 *   QD_ERR_NOT_FOUND  no such file
 *   QD_ERR_IO         open or read failed; a symbolic link; not a regular file
 *   QD_ERR_PERM       a forbidden mode bit
 *   QD_ERR_TOO_LARGE  more than cap - 1 bytes
 */
enum qd_err file_read_secret(const char *path, unsigned forbidden_mode, const char *hint, char *buf,
                             size_t cap, size_t *len, struct qd_errmsg *why);

/* file_read_at(AT_FDCWD, path, cap, NULL, ...). */
enum qd_err file_read(const char *path, size_t cap, uint8_t **data, size_t *len,
                      struct qd_errmsg *why);

#endif

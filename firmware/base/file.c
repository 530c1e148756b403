/* SPDX-License-Identifier: Apache-2.0 */
/*
 * file.c - the bounded whole-file read shared by every reader of files at
 * paths we do not control (see file.h).
 */
#include "qrdesk/file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* One read's size: large files report progress in steps of this. */
#define FILE_READ_CHUNK (1024u * 1024u)

enum qd_err file_read_at(int dir, const char *path, size_t cap, const struct file_read_options *opt,
                         uint8_t **data, size_t *len, struct qd_errmsg *why)
{
	static const struct file_read_options none = {0};
	if (opt == NULL)
		opt = &none;
	if (data != NULL)
		*data = NULL;
	if (len != NULL)
		*len = 0;
	if (path == NULL || data == NULL || len == NULL || cap == SIZE_MAX) {
		qd_errmsg_set(why, "bad argument");
		return QD_ERR_ARG;
	}
	int flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
	if (opt->flags & FILE_READ_NOFOLLOW)
		flags |= O_NOFOLLOW;
	int fd = openat(dir, path, flags);
	if (fd < 0) {
		int e = errno;
		if (e == ELOOP && (opt->flags & FILE_READ_NOFOLLOW)) {
			qd_errmsg_set(why, "a symbolic link, not followed");
			return opt->not_regular != QD_OK ? opt->not_regular : QD_ERR_IO;
		}
		qd_errmsg_set(why, "cannot open it: %s", strerror(e));
		return e == ENOENT || e == ENOTDIR ? QD_ERR_NOT_FOUND : QD_ERR_IO;
	}
	struct stat st;
	if (fstat(fd, &st) != 0) {
		qd_errmsg_set(why, "cannot stat it: %s", strerror(errno));
		close(fd);
		return QD_ERR_IO;
	}
	if (!S_ISREG(st.st_mode)) {
		qd_errmsg_set(why, "not a regular file");
		close(fd);
		return opt->not_regular != QD_OK ? opt->not_regular : QD_ERR_IO;
	}
	if (st.st_size < 0 || (uint64_t)st.st_size > cap) {
		qd_errmsg_set(why, "%lld bytes, larger than %zu (the most allowed)",
		              (long long)st.st_size, cap);
		close(fd);
		return QD_ERR_TOO_LARGE;
	}
	size_t size = (size_t)st.st_size;
	/* One byte more than announced: a file that grew since fstat is seen and refused. */
	uint8_t *buf = malloc(size + 1);
	if (buf == NULL) {
		qd_errmsg_set(why, "out of memory for %zu bytes", size);
		close(fd);
		return QD_ERR_NOMEM;
	}
	size_t got = 0;
	enum qd_err rc = QD_OK;
	while (got <= size) {
		size_t want = size + 1 - got;
		ssize_t n = read(fd, buf + got, want < FILE_READ_CHUNK ? want : FILE_READ_CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			qd_errmsg_set(why, "read failed after %zu of %zu bytes: %s", got, size,
			              strerror(errno));
			rc = QD_ERR_IO;
			break;
		}
		if (n == 0)
			break;
		got += (size_t)n;
		if (opt->progress != NULL)
			opt->progress(opt->progress_arg, got, size);
	}
	close(fd);
	if (rc == QD_OK && got != size) {
		qd_errmsg_set(why, "%s while it was read (%zu of %zu bytes)",
		              got < size ? "shrank" : "grew", got, size);
		rc = QD_ERR_IO;
	}
	if (rc != QD_OK) {
		free(buf);
		return rc;
	}
	buf[size] = '\0';
	*data = buf;
	*len = size;
	return QD_OK;
}

enum qd_err file_read(const char *path, size_t cap, uint8_t **data, size_t *len,
                      struct qd_errmsg *why)
{
	return file_read_at(AT_FDCWD, path, cap, NULL, data, len, why);
}

enum qd_err file_read_secret(const char *path, unsigned forbidden_mode, const char *hint, char *buf,
                             size_t cap, size_t *len, struct qd_errmsg *why)
{
	*len = 0;
	if (path == NULL || buf == NULL || cap < 2) {
		qd_errmsg_set(why, "bad argument");
		return QD_ERR_ARG;
	}
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		int e = errno;
		qd_errmsg_set(why, "%s",
		              e == ELOOP ? "a symbolic link (not followed)" : strerror(e));
		return e == ENOENT ? QD_ERR_NOT_FOUND : QD_ERR_IO;
	}
	struct stat st;
	enum qd_err rc = QD_OK;
	ssize_t n = 0;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		qd_errmsg_set(why, "not a regular file");
		rc = QD_ERR_IO;
	} else if ((st.st_mode & forbidden_mode) != 0) {
		qd_errmsg_set(why, "mode %04o lets others read or change it (%s)",
		              (unsigned)(st.st_mode & 07777), hint);
		rc = QD_ERR_PERM;
	} else if ((n = read(fd, buf, cap)) < 0) {
		qd_errmsg_set(why, "%s", strerror(errno));
		rc = QD_ERR_IO;
	} else if ((size_t)n > cap - 1) { /* a byte past the limit: never parse a cut file */
		qd_errmsg_set(why, "more than %zu bytes", cap - 1);
		rc = QD_ERR_TOO_LARGE;
	}
	close(fd);
	if (rc != QD_OK) {
		explicit_bzero(buf, cap);
		return rc;
	}
	buf[n] = '\0';
	*len = (size_t)n;
	return QD_OK;
}

/* SPDX-License-Identifier: Apache-2.0 */
/* toolutil.c - files, times and exit codes for the command-line tools. */
#define _XOPEN_SOURCE 700 /* strptime */
#include "toolutil.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int tool_exit_for(enum qd_err err)
{
	switch (err) {
	case QD_OK:
		return TOOL_EXIT_OK;
	case QD_ERR_ARG:
		return TOOL_EXIT_USAGE;
	case QD_ERR_IO:
		return TOOL_EXIT_IO;
	case QD_ERR_NOT_FOUND:
		return TOOL_EXIT_NOINPUT;
	case QD_ERR_NOMEM:
	case QD_ERR_CRYPTO:
	case QD_ERR_STORE:
		return TOOL_EXIT_SOFTWARE;
	case QD_ERR_EXISTS:
		return TOOL_EXIT_CANTCREAT;
	case QD_ERR_NETWORK:
		return TOOL_EXIT_UNAVAILABLE;
	case QD_ERR_PERM:
		return TOOL_EXIT_NOPERM;
	default:
		return TOOL_EXIT_DATA;
	}
}

enum qd_err tool_read_file(const char *path, size_t max, uint8_t **data, size_t *len,
                           struct qd_errmsg *why)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	if (f == NULL) {
		qd_errmsg_set(why, "%s: %s", path, strerror(errno));
		return errno == ENOENT ? QD_ERR_NOT_FOUND : QD_ERR_IO;
	}
	size_t cap = 4096, n = 0;
	uint8_t *buf = malloc(cap);
	enum qd_err rc = buf != NULL ? QD_OK : QD_ERR_NOMEM;
	while (rc == QD_OK) {
		if (n + 1 >= cap) {
			uint8_t *bigger = realloc(buf, cap * 2);
			if (bigger == NULL) {
				rc = QD_ERR_NOMEM;
				break;
			}
			buf = bigger;
			cap *= 2;
		}
		size_t got = fread(buf + n, 1, cap - n - 1, f);
		n += got;
		if (n > max) {
			qd_errmsg_set(why, "%s: larger than %zu bytes", path, max);
			rc = QD_ERR_TOO_LARGE;
			break;
		}
		if (got == 0) {
			if (ferror(f)) {
				qd_errmsg_set(why, "%s: read error", path);
				rc = QD_ERR_IO;
			}
			break;
		}
	}
	if (f != stdin)
		fclose(f);
	if (rc == QD_ERR_NOMEM)
		qd_errmsg_set(why, "%s: out of memory", path);
	if (rc != QD_OK) {
		free(buf);
		return rc;
	}
	buf[n] = 0;
	*data = buf;
	*len = n;
	return QD_OK;
}

enum qd_err tool_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode,
                                   struct qd_errmsg *why)
{
	char tmp[4096];
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp-XXXXXX", path) >= sizeof(tmp)) {
		qd_errmsg_set(why, "%s: path too long", path);
		return QD_ERR_ARG;
	}
	int fd = mkstemp(tmp);
	if (fd < 0) {
		qd_errmsg_set(why, "%s: cannot create a temporary file: %s", path, strerror(errno));
		return QD_ERR_IO;
	}
	const uint8_t *p = data;
	size_t left = len;
	bool ok = fchmod(fd, mode) == 0;
	while (ok && left > 0) {
		ssize_t w = write(fd, p, left);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			ok = false;
			break;
		}
		p += w;
		left -= (size_t)w;
	}
	ok = ok && fsync(fd) == 0;
	int saved = errno;
	if (close(fd) != 0)
		ok = false;
	if (ok && rename(tmp, path) != 0) {
		saved = errno;
		ok = false;
	}
	if (!ok) {
		unlink(tmp);
		qd_errmsg_set(why, "%s: write failed: %s", path, strerror(saved));
		return QD_ERR_IO;
	}
	/* The rename is durable only once the directory entry is. */
	char dir_copy[4096];
	snprintf(dir_copy, sizeof(dir_copy), "%s", path);
	int dfd = open(dirname(dir_copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	return QD_OK;
}

enum qd_err tool_parse_time(const char *text, int64_t *out)
{
	char *end;
	errno = 0;
	long long secs = strtoll(text, &end, 10);
	if (*text != '\0' && *end == '\0' && errno == 0 && secs >= 0) {
		*out = secs;
		return QD_OK;
	}
	struct tm tm = {0};
	const char *rest = strptime(text, "%Y-%m-%d", &tm);
	if (rest == NULL)
		return QD_ERR_FORMAT;
	if (*rest == 'T') {
		rest = strptime(rest + 1, "%H:%M:%S", &tm);
		if (rest == NULL || strcmp(rest, "Z") != 0)
			return QD_ERR_FORMAT;
	} else if (*rest != '\0') {
		return QD_ERR_FORMAT;
	}
	time_t t = timegm(&tm);
	if (t == (time_t)-1)
		return QD_ERR_FORMAT;
	*out = (int64_t)t;
	return QD_OK;
}

void tool_format_time(int64_t t, char *out, size_t cap)
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (gmtime_r(&tt, &tm) == NULL || strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, cap, "%lld", (long long)t);
}

static bool now_fixed;
static int64_t now_value;

int64_t tool_now(void)
{
	return now_fixed ? now_value : (int64_t)time(NULL);
}

void tool_set_now(int64_t t)
{
	now_fixed = true;
	now_value = t;
}

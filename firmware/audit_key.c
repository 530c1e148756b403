/* SPDX-License-Identifier: Apache-2.0 */
/*
 * audit_key.c - the audit key file (see audit_key.h).  The key is a secret
 * the daemon alone reads: the file is opened without following a link and
 * refused if group or others could read it, rather than trusted and warned.
 */
#include "qrdesk/audit_key.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "qrdesk/file.h"
#include "qrdesk/hex.h"

#define KEY_FILE_MAX 256 /* 64 digits and some white space */

enum qd_err audit_key_parse(const char *text, size_t len, uint8_t key[CREDENTIAL_AUDIT_KEY_LEN],
                            struct qd_errmsg *why)
{
	const size_t digits = 2 * CREDENTIAL_AUDIT_KEY_LEN;
	for (size_t i = digits; i < len; i++)
		if (text[i] != '\n' && text[i] != '\r' && text[i] != ' ' && text[i] != '\t') {
			qd_errmsg_set(why, "expected %zu hex digits, found more text", digits);
			return QD_ERR_FORMAT;
		}
	size_t n = 0;
	if (len < digits || hex_decode(text, digits, key, CREDENTIAL_AUDIT_KEY_LEN, &n) != QD_OK ||
	    n != CREDENTIAL_AUDIT_KEY_LEN) {
		qd_errmsg_set(why, "expected %zu hex digits", digits);
		return QD_ERR_FORMAT;
	}
	return QD_OK;
}

enum qd_err audit_key_load(const char *path, uint8_t key[CREDENTIAL_AUDIT_KEY_LEN],
                           struct qd_errmsg *why)
{
	char text[KEY_FILE_MAX + 1];
	size_t n = 0;
	struct qd_errmsg inner = {{0}};
	enum qd_err rc = file_read_secret(path, 077, "chmod 600", text, sizeof(text), &n, &inner);
	if (rc == QD_ERR_TOO_LARGE)
		rc = QD_ERR_FORMAT;
	if (rc == QD_OK)
		rc = audit_key_parse(text, n, key, &inner);
	if (rc != QD_OK)
		qd_errmsg_set(why, "%s: %s", path, inner.text);
	explicit_bzero(text, sizeof(text));
	return rc;
}

enum qd_err audit_key_write(const char *path, const uint8_t key[CREDENTIAL_AUDIT_KEY_LEN],
                            uid_t uid, gid_t gid, struct qd_errmsg *why)
{
	char text[2 * CREDENTIAL_AUDIT_KEY_LEN + 2];
	hex_encode(key, CREDENTIAL_AUDIT_KEY_LEN, text, sizeof(text));
	size_t len = strlen(text);
	text[len++] = '\n';
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		int e = errno;
		qd_errmsg_set(why, "%s: %s", path, strerror(e));
		explicit_bzero(text, sizeof(text));
		return e == EEXIST ? QD_ERR_EXISTS : QD_ERR_IO;
	}
	enum qd_err rc = QD_OK;
	/* fchmod: a umask could only make 0600 stricter, but say what we mean. */
	if (write(fd, text, len) != (ssize_t)len || fchmod(fd, 0600) != 0 ||
	    ((uid != (uid_t)-1 || gid != (gid_t)-1) && fchown(fd, uid, gid) != 0) ||
	    fsync(fd) != 0) {
		qd_errmsg_set(why, "%s: %s", path, strerror(errno));
		rc = QD_ERR_IO;
	}
	explicit_bzero(text, sizeof(text));
	if (close(fd) != 0 && rc == QD_OK) {
		qd_errmsg_set(why, "%s: %s", path, strerror(errno));
		rc = QD_ERR_IO;
	}
	if (rc != QD_OK)
		unlink(path);
	return rc;
}

void audit_key_default_path(const char *store, char *out, size_t cap)
{
	const char *slash = strrchr(store, '/');
	if (slash == NULL)
		snprintf(out, cap, "audit.key");
	else
		snprintf(out, cap, "%.*s/audit.key", (int)(slash - store), store);
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * error.h - the one error enum shared by every module, and a message buffer.
 *
 * A function that can fail returns enum qd_err.  Where the caller needs more
 * than the code to tell a person what went wrong (which file, which version),
 * the function also fills a struct qd_errmsg.  The function itself never logs:
 * the caller that handles the error logs it, once.
 *
 * Codes are only ever appended, never renumbered.
 */
#ifndef QRDESK_ERROR_H
#define QRDESK_ERROR_H

#include <stddef.h>

enum qd_err {
	QD_OK = 0,
	QD_ERR_ARG,             /* the caller passed something impossible */
	QD_ERR_NOMEM,           /* an allocation failed */
	QD_ERR_IO,              /* a read, write or open failed */
	QD_ERR_TOO_LARGE,       /* input exceeds a documented size cap */
	QD_ERR_FORMAT,          /* the bytes do not parse as what they claim */
	QD_ERR_SIGNATURE,       /* no trusted key verifies the signature */
	QD_ERR_ROLE,            /* signed by a known key of the wrong role */
	QD_ERR_KEY,             /* signer key revoked or outside its window */
	QD_ERR_EXPIRED,         /* signed data past its expiry */
	QD_ERR_ROLLBACK,        /* older version than the one installed */
	QD_ERR_NOT_PROVISIONED, /* the store has no pinned root yet */
	QD_ERR_STORE,           /* the database failed */
	QD_ERR_CRYPTO,          /* the crypto library failed (not a bad signature) */
	QD_ERR_NOT_FOUND,       /* the thing asked for does not exist */
	QD_ERR_UNSUPPORTED,     /* a well-formed request we do not implement */
	QD_ERR_EXISTS,          /* refusing to overwrite something present */
	QD_ERR_NETWORK,         /* a transfer failed: connect, TLS, HTTP status, timeout */
	QD_ERR_BASE,            /* a delta or new root that does not follow what is installed */
	QD_ERR_WRONG_DESK,      /* signed for another desk (USB bundle, export request) */
	QD_ERR_PERM,            /* the caller may not do this (control socket, file modes) */
};

/* A stable lower-case name for the code ("rollback"), for logs and JSON. */
const char *qd_err_name(enum qd_err err);

struct qd_errmsg {
	char text[320];
};

/* Format a message into msg (printf-style); msg may be NULL.  Truncates. */
void qd_errmsg_set(struct qd_errmsg *msg, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

#endif

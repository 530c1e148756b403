/* SPDX-License-Identifier: Apache-2.0 */
/* error.c - names of error codes and the message buffer. */
#include "qrdesk/error.h"

#include <stdarg.h>
#include <stdio.h>

const char *qd_err_name(enum qd_err err)
{
	switch (err) {
	case QD_OK:
		return "ok";
	case QD_ERR_ARG:
		return "bad-argument";
	case QD_ERR_NOMEM:
		return "out-of-memory";
	case QD_ERR_IO:
		return "io-error";
	case QD_ERR_TOO_LARGE:
		return "too-large";
	case QD_ERR_FORMAT:
		return "bad-format";
	case QD_ERR_SIGNATURE:
		return "bad-signature";
	case QD_ERR_ROLE:
		return "wrong-role";
	case QD_ERR_KEY:
		return "key-not-usable";
	case QD_ERR_EXPIRED:
		return "expired";
	case QD_ERR_ROLLBACK:
		return "rollback";
	case QD_ERR_NOT_PROVISIONED:
		return "not-provisioned";
	case QD_ERR_STORE:
		return "store-error";
	case QD_ERR_CRYPTO:
		return "crypto-error";
	case QD_ERR_NOT_FOUND:
		return "not-found";
	case QD_ERR_UNSUPPORTED:
		return "unsupported";
	case QD_ERR_EXISTS:
		return "exists";
	case QD_ERR_NETWORK:
		return "network";
	case QD_ERR_BASE:
		return "wrong-base";
	case QD_ERR_WRONG_DESK:
		return "wrong-desk";
	case QD_ERR_PERM:
		return "permission-denied";
	}
	return "unknown-error";
}

void qd_errmsg_set(struct qd_errmsg *msg, const char *fmt, ...)
{
	if (msg == NULL)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg->text, sizeof(msg->text), fmt, ap);
	va_end(ap);
}

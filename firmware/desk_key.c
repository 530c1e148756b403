/* SPDX-License-Identifier: Apache-2.0 */
/*
 * desk_key.c - the desk's batch-signing key (see desk_key.h).  The file is
 * the audit key's (a 32-byte secret as hex, 0600), so the same strict reader
 * and writer guard it.
 */
#include "qrdesk/desk_key.h"

#include <stdio.h>
#include <string.h>

#include "qrdesk/audit_key.h"

void desk_key_default_path(const char *store, char *out, size_t cap)
{
	const char *slash = strrchr(store, '/');
	if (slash == NULL)
		snprintf(out, cap, "desk.key");
	else
		snprintf(out, cap, "%.*s/desk.key", (int)(slash - store), store);
}

enum qd_err desk_key_load(const char *path, struct signature_keypair *kp, struct qd_errmsg *why)
{
	uint8_t seed[SIGNATURE_SECRET_LEN];
	enum qd_err rc = audit_key_load(path, seed, why);
	if (rc == QD_OK && (rc = signature_keypair_from_secret(SIGNATURE_ALG_EDDSA, seed,
	                                                       sizeof(seed), kp)) != QD_OK)
		qd_errmsg_set(why, "%s: not an Ed25519 secret", path);
	explicit_bzero(seed, sizeof(seed));
	return rc;
}

enum qd_err desk_key_create(const char *path, uid_t uid, gid_t gid, struct signature_keypair *kp,
                            struct qd_errmsg *why)
{
	enum qd_err rc = signature_keypair_generate(SIGNATURE_ALG_EDDSA, kp);
	if (rc != QD_OK) {
		qd_errmsg_set(why, "no random source for the desk key");
		return rc;
	}
	rc = audit_key_write(path, kp->secret, uid, gid, why);
	if (rc != QD_OK)
		signature_keypair_wipe(kp);
	return rc;
}

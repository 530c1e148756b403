/* SPDX-License-Identifier: Apache-2.0 */
/*
 * audit_key.h - the deployment's audit key on a desk: the secret under which
 * audit rows, uploads and status carry keyed pseudonyms of clearance numbers
 * (credential_pseudonym; docs/security.md).
 *
 * The back office makes one key per deployment and keeps it; a desk gets it
 * at provisioning (`qrdeskctl provision --audit-key FILE`).  On the desk it
 * is a file of 64 hex digits (and a newline), mode 0600, owned by the
 * daemon's user: a file any other user could read is refused.
 */
#ifndef QRDESK_AUDIT_KEY_H
#define QRDESK_AUDIT_KEY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "qrdesk/credential.h"
#include "qrdesk/error.h"

/* Parse the file's text: 64 hex digits, then at most white space. */
enum qd_err audit_key_parse(const char *text, size_t len, uint8_t key[CREDENTIAL_AUDIT_KEY_LEN],
                            struct qd_errmsg *why);

/*
 * Read the key at path: a regular file (a symbolic link is refused), not
 * readable or writable by group or others.  QD_ERR_NOT_FOUND if absent,
 * QD_ERR_PERM for a lax mode, QD_ERR_FORMAT for bad text.
 */
enum qd_err audit_key_load(const char *path, uint8_t key[CREDENTIAL_AUDIT_KEY_LEN],
                           struct qd_errmsg *why);

/*
 * Write key to path, which must not exist yet (QD_ERR_EXISTS), mode 0600,
 * synced; owner: the given uid/gid unless -1 (provisioning as root for the
 * daemon's user).
 */
enum qd_err audit_key_write(const char *path, const uint8_t key[CREDENTIAL_AUDIT_KEY_LEN],
                            uid_t uid, gid_t gid, struct qd_errmsg *why);

/* Where the key lives when the configuration names none: audit.key beside the store. */
void audit_key_default_path(const char *store, char *out, size_t cap);

#endif

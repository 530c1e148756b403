/* SPDX-License-Identifier: Apache-2.0 */
/*
 * desk_key.h - the desk's own Ed25519 key pair, which signs its audit batches
 * (docs/fleet.md).
 *
 * Made on the desk by `qrdeskctl enroll` (or `provision`) and never leaves
 * it: only the public half goes to the back office (`qrdesk-issuer desk add`).
 * The secret is the 32-byte Ed25519 seed in the audit key's file format (64
 * hex digits, mode 0600, owned by the daemon's user, refused when any other
 * user could read it): desk.key beside the store.
 */
#ifndef QRDESK_DESK_KEY_H
#define QRDESK_DESK_KEY_H

#include <stddef.h>
#include <sys/types.h>

#include "qrdesk/error.h"
#include "qrdesk/signature.h"

/* desk.key beside the store. */
void desk_key_default_path(const char *store, char *out, size_t cap);

/* Load the key pair at path (audit_key_load's checks).  QD_ERR_NOT_FOUND if absent. */
enum qd_err desk_key_load(const char *path, struct signature_keypair *kp, struct qd_errmsg *why);

/*
 * Make a fresh key pair and write its secret to path, which must not exist
 * (QD_ERR_EXISTS: an enrolled desk keeps its key); owner uid/gid unless -1.
 */
enum qd_err desk_key_create(const char *path, uid_t uid, gid_t gid, struct signature_keypair *kp,
                            struct qd_errmsg *why);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * demo.h - demo trust data for `qrdeskd --demo`, made by `qrdesk-issuer demo
 * DIR` with the back office's own code (the desk daemon ships no signing
 * code): a trust domain, published trust documents imported into a desk
 * store, and sample cards (text and PNG) for an officer to try.
 *
 *   DIR/domain/   the demo back office (private keys: demo only)
 *   DIR/repo/     published keyset, revocations, policy (the repository's
 *                 example, tools/issuer/example-policy.json), timestamp
 *   DIR/desk.db   the desk's store, provisioned and imported
 *   DIR/cards/    valid, valid-es256, revoked, expired, domestic-kw (.txt, .png);
 *                 domestic-kw is a 20-year-old domestic worker to Kuwait, so
 *                 the example's Kuwait age rule makes it review (POLICY_FAILED)
 *   DIR/inbox/    drop card images here (the replay image source watches it)
 */
#ifndef QRDESK_DEMO_H
#define QRDESK_DEMO_H

#include <stdbool.h>

#include "qrdesk/error.h"

/* Make DIR's demo data if DIR/desk.db does not exist yet; *made says whether it did. */
enum qd_err demo_prepare(const char *dir, bool *made, struct qd_errmsg *why);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ranges.h - the domain's revoked issuance windows (DIR/ranges.json): every
 * card signed by a key with iat in [from, to) is refused on desks, against
 * genuine-but-illegal issuance through one compromised account.
 *
 *   {"format": "qrdesk-ranges-1", "ranges": [{"kid": hex, "from": T, "to": T,
 *    "reason": text}, ...]}
 *
 * Kept in the trust documents' order (trustdoc.h), a kid's windows disjoint:
 * a new window overlapping or touching one of its key's is merged into it.
 * The next publish signs them into the revocation list and its delta.
 */
#ifndef QRDESK_ISSUER_RANGES_H
#define QRDESK_ISSUER_RANGES_H

#include <stddef.h>

#include "domain.h"
#include "qrdesk/trust.h"

#define RANGES_REASON_MAX 200

struct domain_range {
	struct trust_range r;
	char reason[RANGES_REASON_MAX + 1];
};

/* Load DIR/name (absent: none); *out malloc'd (free it). */
enum qd_err ranges_load(const struct domain *d, const char *name, struct domain_range **out,
                        size_t *count, struct qd_errmsg *why);
enum qd_err ranges_save(const struct domain *d, const char *name, const struct domain_range *list,
                        size_t count, struct qd_errmsg *why);

/*
 * Add window add to the domain's list, merged with its key's windows it
 * overlaps or touches; *merged gets how many it absorbed.  Saved atomically.
 */
enum qd_err ranges_add(const struct domain *d, const struct domain_range *add,
                       struct trust_range *result, size_t *merged, struct qd_errmsg *why);

#endif

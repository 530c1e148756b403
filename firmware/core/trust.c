/* SPDX-License-Identifier: Apache-2.0 */
/* trust.c - names of roles, the list of trust-document types, and key-id derivation. */
#include "qrdesk/trust.h"

#include <string.h>

#include "qrdesk/airport.h"
#include "qrdesk/desklist.h"
#include "qrdesk/digest.h"
#include "qrdesk/policy.h"
#include "qrdesk/usedlist.h"

static const char *const role_names[] = {
        [KEY_ROLE_ROOT] = "root",
        [KEY_ROLE_ISSUER] = "issuer",
        [KEY_ROLE_REPOSITORY] = "repository",
        [KEY_ROLE_UPDATE] = "update",
};

/*
 * The one list of trust-document types (trust.h).  The order is the order sync applies them:
 * a new root first (what follows may be signed by its keys), the key set next (it lists the
 * repository keys), the timestamp last (installing it says everything it names is installed).
 */
const struct trust_doc_info trust_doc_types[] = {
        {.type = TRUST_DOC_ROOT,
         .name = "root",
         .label = "root",
         .signer = KEY_ROLE_ROOT,
         .kind = TRUST_DOC_KIND_ROOT,
         .publish_days = 3650},
        {.type = TRUST_DOC_KEYSET,
         .name = "keyset",
         .label = "key set",
         .signer = KEY_ROLE_ROOT,
         .kind = TRUST_DOC_KIND_KEYS,
         .synced = true,
         .required = true,
         .shown = true,
         .needed = true,
         .publish_days = 365},
        {.type = TRUST_DOC_REVOCATIONS,
         .name = "revocations",
         .label = "revocations",
         .signer = KEY_ROLE_REPOSITORY,
         .kind = TRUST_DOC_KIND_REVOCATIONS,
         .synced = true,
         .required = true,
         .shown = true,
         .needed = true,
         .publish_days = 7,
         .delta = TRUST_DOC_REVOCATIONS_DELTA},
        /* as the revocations it produces */
        {.type = TRUST_DOC_REVOCATIONS_DELTA,
         .name = "revocations-delta",
         .label = "revocations-delta",
         .signer = KEY_ROLE_REPOSITORY,
         .kind = TRUST_DOC_KIND_DELTA,
         .publish_days = 7,
         .delta_of = TRUST_DOC_REVOCATIONS},
        {.type = TRUST_DOC_POLICY,
         .name = "policy",
         .label = "policy",
         .signer = KEY_ROLE_REPOSITORY,
         .kind = TRUST_DOC_KIND_BODY,
         .synced = true,
         .required = true,
         .shown = true,
         .publish_days = 30,
         .check_body = policy_check_body},
        /* Optional: a desk without one keeps the table shipped with its firmware. */
        {.type = TRUST_DOC_AIRPORTS,
         .name = "airports",
         .label = "airport table",
         .signer = KEY_ROLE_REPOSITORY,
         .kind = TRUST_DOC_KIND_BODY,
         .synced = true,
         .publish_days = 90,
         .check_body = airport_check_body},
        /* Optional: the back office's list of desks (docs/fleet.md); ingest checks against it. */
        {.type = TRUST_DOC_DESKS,
         .name = "desks",
         .label = "desk list",
         .signer = KEY_ROLE_REPOSITORY,
         .kind = TRUST_DOC_KIND_BODY,
         .synced = true,
         .publish_days = 30,
         .check_body = desklist_check_body},
        /* Optional: the fleet's "already used" cards (docs/fleet.md); shown, for its age. */
        {.type = TRUST_DOC_USED,
         .name = "used",
         .label = "fleet used list",
         .signer = KEY_ROLE_REPOSITORY,
         .kind = TRUST_DOC_KIND_BODY,
         .synced = true,
         .shown = true,
         .publish_days = 7,
         .delta = TRUST_DOC_USED_DELTA,
         .check_body = usedlist_check_body},
        /* as the used version it produces */
        {.type = TRUST_DOC_USED_DELTA,
         .name = "used-delta",
         .label = "fleet used list delta",
         .signer = KEY_ROLE_REPOSITORY,
         .kind = TRUST_DOC_KIND_BODY_DELTA,
         .publish_days = 7,
         .delta_of = TRUST_DOC_USED,
         .check_body = usedlist_delta_check_body,
         .apply_delta = usedlist_apply_delta_body},
        {.type = TRUST_DOC_TIMESTAMP,
         .name = "timestamp",
         .label = "timestamp",
         .signer = KEY_ROLE_REPOSITORY,
         .kind = TRUST_DOC_KIND_TIMESTAMP,
         .shown = true,
         .needed = true,
         .publish_days = 1},
};
const size_t trust_doc_types_count = sizeof(trust_doc_types) / sizeof(trust_doc_types[0]);

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* Find name[0..len) in a table indexed by enum value; 0 if absent. */
static int name_lookup(const char *const *table, size_t n, const char *name, size_t len)
{
	for (size_t i = 1; i < n; i++)
		if (table[i] != NULL && strlen(table[i]) == len && memcmp(table[i], name, len) == 0)
			return (int)i;
	return 0;
}

const char *key_role_name(enum key_role role)
{
	if ((size_t)role >= COUNT(role_names))
		return NULL;
	return role_names[role];
}

enum qd_err key_role_parse(const char *name, size_t len, enum key_role *role)
{
	int v = name_lookup(role_names, COUNT(role_names), name, len);
	if (v == 0)
		return QD_ERR_FORMAT;
	*role = (enum key_role)v;
	return QD_OK;
}

const struct trust_doc_info *trust_doc_info(enum trust_doc_type type)
{
	for (size_t i = 0; i < trust_doc_types_count; i++)
		if (trust_doc_types[i].type == type)
			return &trust_doc_types[i];
	return NULL;
}

const char *trust_doc_type_name(enum trust_doc_type type)
{
	const struct trust_doc_info *info = trust_doc_info(type);
	return info != NULL ? info->name : NULL;
}

enum qd_err trust_doc_type_parse(const char *name, size_t len, enum trust_doc_type *type)
{
	for (size_t i = 0; i < trust_doc_types_count; i++) {
		const char *n = trust_doc_types[i].name;
		if (strlen(n) == len && memcmp(n, name, len) == 0) {
			*type = trust_doc_types[i].type;
			return QD_OK;
		}
	}
	return QD_ERR_FORMAT;
}

enum key_role trust_doc_signer_role(enum trust_doc_type type)
{
	const struct trust_doc_info *info = trust_doc_info(type);
	return info != NULL ? info->signer : KEY_ROLE_REPOSITORY;
}

enum trust_doc_type trust_doc_installs(enum trust_doc_type type)
{
	const struct trust_doc_info *info = trust_doc_info(type);
	return info != NULL && info->delta_of != 0 ? info->delta_of : type;
}

const struct trust_freshness *trust_view_freshness(const struct trust_view *v,
                                                   enum trust_doc_type type)
{
	switch (type) {
	case TRUST_DOC_KEYSET:
		return &v->keyset;
	case TRUST_DOC_REVOCATIONS:
		return &v->revocations;
	case TRUST_DOC_POLICY:
		return &v->policy;
	case TRUST_DOC_TIMESTAMP:
		return &v->timestamp;
	default:
		return &v->more[(size_t)type < TRUST_DOC_SLOTS ? (size_t)type : 0];
	}
}

void trust_kid_derive(const uint8_t *pub, size_t pub_len, uint8_t kid[TRUST_KID_DEFAULT_LEN])
{
	uint8_t digest[DIGEST_SHA256_LEN];
	digest_sha256(pub, pub_len, digest);
	memcpy(kid, digest, TRUST_KID_DEFAULT_LEN);
}

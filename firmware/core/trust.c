/* SPDX-License-Identifier: Apache-2.0 */
/* trust.c - names of roles and document types, and key-id derivation. */
#include "qrdesk/trust.h"

#include <string.h>

#include "qrdesk/digest.h"

static const char *const role_names[] = {
        [KEY_ROLE_ROOT] = "root",
        [KEY_ROLE_ISSUER] = "issuer",
        [KEY_ROLE_REPOSITORY] = "repository",
        [KEY_ROLE_UPDATE] = "update",
};

static const char *const doc_names[] = {
        [TRUST_DOC_KEYSET] = "keyset",
        [TRUST_DOC_REVOCATIONS] = "revocations",
        [TRUST_DOC_POLICY] = "policy",
        [TRUST_DOC_TIMESTAMP] = "timestamp",
        [TRUST_DOC_REVOCATIONS_DELTA] = "revocations-delta",
        [TRUST_DOC_ROOT] = "root",
};

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

const char *trust_doc_type_name(enum trust_doc_type type)
{
	if ((size_t)type >= COUNT(doc_names))
		return NULL;
	return doc_names[type];
}

enum qd_err trust_doc_type_parse(const char *name, size_t len, enum trust_doc_type *type)
{
	int v = name_lookup(doc_names, COUNT(doc_names), name, len);
	if (v == 0)
		return QD_ERR_FORMAT;
	*type = (enum trust_doc_type)v;
	return QD_OK;
}

enum key_role trust_doc_signer_role(enum trust_doc_type type)
{
	return type == TRUST_DOC_KEYSET || type == TRUST_DOC_ROOT ? KEY_ROLE_ROOT
	                                                          : KEY_ROLE_REPOSITORY;
}

void trust_kid_derive(const uint8_t *pub, size_t pub_len, uint8_t kid[TRUST_KID_DEFAULT_LEN])
{
	uint8_t digest[DIGEST_SHA256_LEN];
	digest_sha256(pub, pub_len, digest);
	memcpy(kid, digest, TRUST_KID_DEFAULT_LEN);
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * publish.c - signing for the back office: cards (domain_sign_card) and the
 * four trust documents desks import (domain_publish).  Shared by
 * qrdesk-issuer and by qrdeskd --demo, so demo data is made exactly as the
 * back office makes real data.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "domain.h"
#include "pkcs11.h"
#include "ranges.h"
#include "qrdesk/hex.h"
#include "qrdesk/airport.h"
#include "qrdesk/desklist.h"
#include "qrdesk/policy.h"
#include "qrdesk/usedlist.h"
#include "qrdesk/base45.h"
#include "qrdesk/cbor.h"
#include "qrdesk/cose.h"
#include "qrdesk/digest.h"
#include "qrdesk/trustdoc.h"
#include "toolutil.h"

#define DAY (24LL * 3600)
/* A root file is a few hundred bytes; desks take at most 64 KiB (sync.h). */
#define ROOT_FILE_MAX (64u * 1024u)

void domain_publish_days_defaults(long days[DOMAIN_DOC_TYPES])
{
	for (size_t t = 0; t < DOMAIN_DOC_TYPES; t++)
		days[t] = 0;
	for (size_t i = 0; i < trust_doc_types_count; i++)
		days[trust_doc_types[i].type] = trust_doc_types[i].publish_days;
}

enum qd_err domain_sign_card(const struct domain *d, size_t index, const struct credential *cred,
                             char *text, size_t cap, size_t *cose_len, struct qd_errmsg *why)
{
	uint8_t payload[1024];
	size_t payload_len;
	enum qd_err rc = credential_encode(cred, payload, sizeof(payload), &payload_len, why);
	if (rc != QD_OK)
		return rc;
	uint8_t cose[1200];
	rc = domain_cose_sign(d, index, payload, payload_len, cose, sizeof(cose), cose_len, why);
	if (rc != QD_OK)
		return rc;
	size_t text_len;
	if (cap < CREDENTIAL_PREFIX_LEN + base45_encoded_len(*cose_len) + 1) {
		qd_errmsg_set(why, "code text needs more room");
		return QD_ERR_TOO_LARGE;
	}
	memcpy(text, CREDENTIAL_PREFIX, CREDENTIAL_PREFIX_LEN);
	base45_encode(cose, *cose_len, text + CREDENTIAL_PREFIX_LEN, cap - CREDENTIAL_PREFIX_LEN,
	              &text_len);
	text[CREDENTIAL_PREFIX_LEN + text_len] = '\0';
	return QD_OK;
}

enum qd_err domain_cose_sign(const struct domain *d, size_t i, const uint8_t *payload,
                             size_t payload_len, uint8_t *out, size_t cap, size_t *out_len,
                             struct qd_errmsg *why)
{
	const struct trust_key *k = &d->keys[i];
	enum qd_err rc;
	if (d->info[i].secret == DOMAIN_SECRET_PKCS11) {
		struct pkcs11_key *token = NULL;
		rc = pkcs11_open(d->info[i].uri, &token, why);
		if (rc != QD_OK)
			return rc;
		int64_t alg = 0;
		uint8_t pub[SIGNATURE_PUBLIC_MAX];
		size_t pub_len = 0;
		pkcs11_public(token, &alg, pub, &pub_len, why);
		if (alg != k->alg || pub_len != k->public_len ||
		    memcmp(pub, k->public_key, pub_len) != 0) {
			char kid[2 * TRUST_KID_MAX + 1];
			hex_encode(k->kid, k->kid_len, kid, sizeof(kid));
			qd_errmsg_set(why, "key %s: the token's key at %s is another key", kid,
			              d->info[i].uri);
			rc = QD_ERR_KEY;
		} else {
			rc = cose_sign1_sign_by(k->alg, pkcs11_sign, token, k->kid, k->kid_len,
			                        payload, payload_len, out, cap, out_len);
			if (rc != QD_OK && rc != QD_ERR_TOO_LARGE)
				qd_errmsg_set(why, "%s: the token did not sign", d->info[i].uri);
		}
		pkcs11_close(token);
		return rc;
	}
	struct signature_keypair kp;
	rc = domain_keypair(d, i, &kp, why);
	if (rc != QD_OK)
		return rc;
	rc = cose_sign1_sign(&kp, k->kid, k->kid_len, payload, payload_len, out, cap, out_len);
	signature_keypair_wipe(&kp);
	if (rc != QD_OK)
		qd_errmsg_set(why, "signing failed: %s", qd_err_name(rc));
	return rc;
}

enum qd_err domain_register_pkcs11(struct domain *d, enum key_role role, const char *uri,
                                   int64_t not_before, int64_t not_after, const char *label,
                                   size_t *index, struct qd_errmsg *why)
{
	if (strlen(uri) > DOMAIN_URI_MAX) {
		qd_errmsg_set(why, "%.64s...: a URI of at most %d characters", uri, DOMAIN_URI_MAX);
		return QD_ERR_ARG;
	}
	struct pkcs11_key *token = NULL;
	enum qd_err rc = pkcs11_open(uri, &token, why);
	if (rc != QD_OK)
		return rc;
	struct trust_key k = {.role = role,
	                      .status = KEY_STATUS_ACTIVE,
	                      .not_before = not_before,
	                      .not_after = not_after};
	size_t pub_len = 0;
	pkcs11_public(token, &k.alg, k.public_key, &pub_len, why);
	pkcs11_close(token);
	k.public_len = (uint8_t)pub_len;
	trust_kid_derive(k.public_key, pub_len, k.kid);
	k.kid_len = TRUST_KID_DEFAULT_LEN;
	struct domain_key_info info = {.secret = DOMAIN_SECRET_PKCS11};
	snprintf(info.uri, sizeof(info.uri), "%s", uri);
	snprintf(info.label, sizeof(info.label), "%s", label != NULL ? label : "");
	return domain_register_key(d, &k, &info, index, why);
}

/* A COSE_Sign1 of payload by key index (malloc'd into *out). */
static enum qd_err sign_with(const struct domain *d, size_t index, const uint8_t *payload,
                             size_t payload_len, uint8_t **out, size_t *out_len,
                             struct qd_errmsg *why)
{
	size_t cap = cose_sign1_encoded_len(d->keys[index].kid_len, payload_len);
	uint8_t *cose = malloc(cap);
	size_t len = 0;
	enum qd_err rc = cose == NULL ? QD_ERR_NOMEM
	                              : domain_cose_sign(d, index, payload, payload_len, cose, cap,
	                                                 &len, why);
	if (rc != QD_OK) {
		free(cose);
		return rc;
	}
	*out = cose;
	*out_len = len;
	return QD_OK;
}

/* Sign payload with the domain's key of role and write OUTDIR/name atomically. */
static enum qd_err sign_and_write(const struct domain *d, enum key_role role, int64_t now,
                                  const char *outdir, const char *name, const uint8_t *payload,
                                  size_t payload_len, struct trustdoc_timestamp_entry *entry,
                                  struct qd_errmsg *why)
{
	int index = domain_pick_key(d, role, 0, now);
	if (index < 0) {
		qd_errmsg_set(why, "no active %s key to sign %s", key_role_name(role), name);
		return QD_ERR_NOT_FOUND;
	}
	uint8_t *cose = NULL;
	size_t len = 0;
	enum qd_err rc = sign_with(d, (size_t)index, payload, payload_len, &cose, &len, why);
	if (rc == QD_OK) {
		char path[4096];
		snprintf(path, sizeof(path), "%s/%s", outdir, name);
		rc = tool_write_file_atomic(path, cose, len, 0644, why);
		if (entry != NULL) {
			entry->length = len;
			digest_sha256(cose, len, entry->sha256);
		}
	}
	free(cose);
	return rc;
}

/* Encode with a counting pass, then for real. */
typedef void (*encode_fn)(struct cbor_writer *w, const void *arg);

static uint8_t *encode_alloc(encode_fn fn, const void *arg, size_t *len)
{
	struct cbor_writer w;
	cbor_writer_init(&w, NULL, 0);
	fn(&w, arg);
	uint8_t *buf = malloc(w.len > 0 ? w.len : 1);
	if (buf == NULL)
		return NULL;
	size_t need = w.len;
	cbor_writer_init(&w, buf, need);
	fn(&w, arg);
	*len = w.len;
	return buf;
}

/* The optional documents kept whole (TRUST_DOC_KIND_BODY) the domain may hold as
 * DIR/NAME.cbor, each set by its own command: none set, none published. */
static const struct {
	enum trust_doc_type type;
	const char *command;
	size_t max;
} optional_bodies[] = {
        {TRUST_DOC_AIRPORTS, "qrdesk-issuer airports", AIRPORT_TEXT_MAX + 16},
        {TRUST_DOC_DESKS, "qrdesk-issuer desk add", DESKLIST_BODY_MAX},
        {TRUST_DOC_USED, "qrdesk-issuer used publish", USEDLIST_BODY_MAX},
};
#define N_OPTIONAL (sizeof(optional_bodies) / sizeof(optional_bodies[0]))

struct publish_ctx {
	struct trustdoc_header header;
	const struct domain *d;
	const uint8_t *hashes;
	size_t n_hashes;
	const uint8_t *policy;
	size_t policy_len;
	uint8_t *optional[N_OPTIONAL]; /* optional_bodies[i]; NULL: none set, none published */
	size_t optional_len[N_OPTIONAL];
	struct trustdoc_timestamp ts;
	struct trustdoc_revocations_delta delta;
	struct trustdoc_body_delta used_delta; /* its changes: owned */
	uint8_t *delta_lists;                  /* added, then removed: owned */
	struct domain_range *windows;          /* the revoked issuance windows: owned */
	size_t n_windows;
	struct trust_range *ranges;       /* their ranges, in order: owned */
	struct trust_range *delta_ranges; /* added, then removed: owned */
};

static void enc_keyset(struct cbor_writer *w, const void *arg)
{
	const struct publish_ctx *p = arg;
	/* Desks get every key but the roots: roots are pinned, not listed. */
	struct trust_key keys[TRUST_KEYS_MAX];
	size_t n = 0;
	for (size_t i = 0; i < p->d->n_keys; i++)
		if (p->d->keys[i].role != KEY_ROLE_ROOT)
			keys[n++] = p->d->keys[i];
	trustdoc_encode_keyset(w, &p->header, keys, n);
}

static void enc_revocations(struct cbor_writer *w, const void *arg)
{
	const struct publish_ctx *p = arg;
	trustdoc_encode_revocations_ranges(w, &p->header, p->hashes, p->n_hashes, p->ranges,
	                                   p->n_windows);
}

static void enc_policy(struct cbor_writer *w, const void *arg)
{
	const struct publish_ctx *p = arg;
	trustdoc_encode_policy(w, &p->header, p->policy, p->policy_len);
}

static void enc_optional(struct cbor_writer *w, const void *arg)
{
	const struct publish_ctx *p = arg;
	for (size_t i = 0; i < N_OPTIONAL; i++)
		if (optional_bodies[i].type == p->header.type)
			trustdoc_encode_body(w, &p->header, p->optional[i], p->optional_len[i]);
}

/* DIR/NAME.cbor of optional body i if the domain has one, checked as desks will. */
static enum qd_err load_optional(const struct domain *d, size_t i, uint8_t **body, size_t *len,
                                 struct qd_errmsg *why)
{
	const struct trust_doc_info *info = trust_doc_info(optional_bodies[i].type);
	char name[64], path[4096];
	snprintf(name, sizeof(name), "%s.cbor", info->name);
	domain_path(d, name, path, sizeof(path));
	enum qd_err rc = tool_read_file(path, optional_bodies[i].max, body, len, why);
	if (rc == QD_ERR_NOT_FOUND)
		return QD_OK; /* optional: desks keep what they have (airports: the built-in table)
		               */
	size_t n = 0;
	struct qd_errmsg bad = {{0}};
	if (rc == QD_OK && (rc = info->check_body(*body, *len, &n, &bad)) != QD_OK)
		qd_errmsg_set(why, "%s: %s (set it with `%s`)", path, bad.text,
		              optional_bodies[i].command);
	return rc;
}

static void enc_delta(struct cbor_writer *w, const void *arg)
{
	const struct publish_ctx *p = arg;
	trustdoc_encode_revocations_delta(w, &p->header, &p->delta);
}

static void enc_used_delta(struct cbor_writer *w, const void *arg)
{
	const struct publish_ctx *p = arg;
	trustdoc_encode_body_delta(w, &p->header, &p->used_delta);
}

static void enc_timestamp(struct cbor_writer *w, const void *arg)
{
	const struct publish_ctx *p = arg;
	trustdoc_encode_timestamp(w, &p->header, &p->ts);
}

/* Hashes of revocations version v as published (the base of the next delta). */
static void published_path(const struct domain *d, uint64_t v, char *out, size_t cap)
{
	char name[64];
	snprintf(name, sizeof(name), "published/revocations-%" PRIu64 ".bin", v);
	domain_path(d, name, out, cap);
}

/*
 * The delta from the list published as version base to the current one:
 * both sorted, so one merge pass.  QD_ERR_NOT_FOUND: no base kept (the first
 * publish, or a domain from before deltas): no delta this time.
 */
static enum qd_err make_delta(const struct domain *d, uint64_t base, struct publish_ctx *p,
                              struct qd_errmsg *why)
{
	char path[4096];
	published_path(d, base, path, sizeof(path));
	uint8_t *old = NULL;
	size_t old_len = 0;
	enum qd_err rc = tool_read_file(path, (size_t)TRUST_HASH_LEN * TRUSTDOC_REVOCATIONS_MAX,
	                                &old, &old_len, why);
	if (rc != QD_OK)
		return rc;
	size_t n_old = old_len / TRUST_HASH_LEN, n_new = p->n_hashes;
	p->delta_lists = malloc((n_old + n_new) * TRUST_HASH_LEN + 1);
	if (p->delta_lists == NULL) {
		free(old);
		return QD_ERR_NOMEM;
	}
	/* Added first, from the front; removed from the back, then moved up. */
	uint8_t *added = p->delta_lists;
	size_t na = 0, nr = 0, i = 0, j = 0;
	uint8_t *removed = malloc(n_old * TRUST_HASH_LEN + 1);
	if (removed == NULL) {
		free(old);
		return QD_ERR_NOMEM;
	}
	while (i < n_old || j < n_new) {
		int c = i == n_old   ? 1
		        : j == n_new ? -1
		                     : memcmp(old + i * TRUST_HASH_LEN,
		                              p->hashes + j * TRUST_HASH_LEN, TRUST_HASH_LEN);
		if (c < 0)
			memcpy(removed + nr++ * TRUST_HASH_LEN, old + i++ * TRUST_HASH_LEN,
			       TRUST_HASH_LEN);
		else if (c > 0)
			memcpy(added + na++ * TRUST_HASH_LEN, p->hashes + j++ * TRUST_HASH_LEN,
			       TRUST_HASH_LEN);
		else
			i++, j++;
	}
	memcpy(added + na * TRUST_HASH_LEN, removed, nr * TRUST_HASH_LEN);
	free(removed);
	free(old);
	p->delta = (struct trustdoc_revocations_delta){
	        .base_version = base,
	        .added = added,
	        .n_added = na,
	        .removed = added + na * TRUST_HASH_LEN,
	        .n_removed = nr,
	};
	return QD_OK;
}

static void published_ranges_name(uint64_t v, char *out, size_t cap)
{
	snprintf(out, cap, "published/ranges-%" PRIu64 ".json", v);
}

static bool same_range(const struct trust_range *a, const struct trust_range *b)
{
	return trustdoc_range_cmp(a, b) == 0 && a->to == b->to;
}

/* The windows added and removed since version base (exact entries). */
static enum qd_err delta_windows(const struct domain *d, uint64_t base, struct publish_ctx *p,
                                 struct qd_errmsg *why)
{
	char name[64];
	published_ranges_name(base, name, sizeof(name));
	struct domain_range *old = NULL;
	size_t n_old = 0;
	enum qd_err rc = ranges_load(d, name, &old, &n_old, why);
	if (rc != QD_OK)
		return rc;
	p->delta_ranges = calloc(n_old + p->n_windows + 1, sizeof(*p->delta_ranges));
	if (p->delta_ranges == NULL) {
		free(old);
		return QD_ERR_NOMEM;
	}
	size_t na = 0, nr = 0;
	for (size_t j = 0; j < p->n_windows; j++) {
		bool kept = false;
		for (size_t i = 0; i < n_old && !kept; i++)
			kept = same_range(&old[i].r, &p->ranges[j]);
		if (!kept)
			p->delta_ranges[na++] = p->ranges[j];
	}
	for (size_t i = 0; i < n_old; i++) {
		bool kept = false;
		for (size_t j = 0; j < p->n_windows && !kept; j++)
			kept = same_range(&old[i].r, &p->ranges[j]);
		if (!kept)
			p->delta_ranges[na + nr++] = old[i].r;
	}
	free(old);
	p->delta.put_ranges_added = p->delta_ranges;
	p->delta.n_put_ranges_added = na;
	p->delta.put_ranges_removed = p->delta_ranges + na;
	p->delta.n_put_ranges_removed = nr;
	return QD_OK;
}

/*
 * Sign and write the delta document of type as file (its NAME.cose), from base to the
 * version just published of the type it installs, named in the timestamp with its base.
 */
static enum qd_err sign_delta(const struct domain *d, const char *outdir,
                              const long days[DOMAIN_DOC_TYPES], int64_t now,
                              enum trust_doc_type type, const char *file, uint64_t base,
                              encode_fn enc, struct publish_ctx *p, struct domain_publication *pub,
                              struct qd_errmsg *why)
{
	const struct trust_doc_info *info = trust_doc_info(type);
	uint64_t version = d->versions[info->delta_of];
	p->header = (struct trustdoc_header){type, version, now, now + days[type] * DAY};
	size_t len = 0;
	uint8_t *payload = encode_alloc(enc, p, &len);
	if (payload == NULL)
		return QD_ERR_NOMEM;
	struct trustdoc_timestamp_entry *entry = &p->ts.entries[p->ts.count++];
	*entry = (struct trustdoc_timestamp_entry){
	        .type = type, .version = version, .base_version = base};
	enum qd_err rc =
	        sign_and_write(d, KEY_ROLE_REPOSITORY, now, outdir, file, payload, len, entry, why);
	free(payload);
	if (rc == QD_OK) {
		pub->files[pub->count].name = file;
		pub->files[pub->count].version = version;
		pub->files[pub->count].days = days[type];
		pub->count++;
	}
	return rc;
}

/* The used list as published as version v (the base of the next used-delta). */
static void published_used_path(const struct domain *d, uint64_t v, char *out, size_t cap)
{
	char name[64];
	snprintf(name, sizeof(name), "published/used-%" PRIu64 ".cbor", v);
	domain_path(d, name, out, cap);
}

/* The used list being published: optional_bodies' row of TRUST_DOC_USED. */
static size_t used_slot(void)
{
	size_t i = 0;
	while (optional_bodies[i].type != TRUST_DOC_USED)
		i++;
	return i;
}

/*
 * The changes from the used list published as version base to body, into
 * p->used_delta.  QD_ERR_NOT_FOUND: no base kept (the first publish of a used
 * list, or one from before deltas): no delta this time.
 */
static enum qd_err used_changes(const struct domain *d, uint64_t base, const uint8_t *body,
                                size_t len, struct publish_ctx *p, struct qd_errmsg *why)
{
	char path[4096];
	published_used_path(d, base, path, sizeof(path));
	uint8_t *old = NULL;
	size_t old_len = 0;
	enum qd_err rc = tool_read_file(path, USEDLIST_BODY_MAX, &old, &old_len, why);
	if (rc != QD_OK)
		return rc;
	struct used_list from = {0}, to = {0};
	struct used_delta delta = {0};
	rc = usedlist_from_body(old, old_len, &from, why);
	if (rc == QD_OK)
		rc = usedlist_from_body(body, len, &to, why);
	if (rc == QD_OK)
		rc = usedlist_delta_make(&from, &to, &delta, why);
	size_t need = rc == QD_OK ? usedlist_delta_encode(&delta, NULL, 0) : 0;
	uint8_t *changes = rc == QD_OK ? malloc(need) : NULL;
	if (rc == QD_OK && changes == NULL)
		rc = QD_ERR_NOMEM;
	if (rc == QD_OK)
		p->used_delta = (struct trustdoc_body_delta){
		        base, changes, usedlist_delta_encode(&delta, changes, need)};
	usedlist_delta_free(&delta);
	usedlist_free(&from);
	usedlist_free(&to);
	free(old);
	return rc;
}

/*
 * used-delta.cose from the used list published as version base to the one just
 * signed, named in the timestamp; the snapshot used.cose is always published
 * too (a desk not at the base takes it).  No base kept, or no used list: no
 * delta (a stale one from an earlier publish is removed).
 */
static enum qd_err publish_used_delta(const struct domain *d, const char *outdir,
                                      const long days[DOMAIN_DOC_TYPES], int64_t now, uint64_t base,
                                      struct publish_ctx *p, struct domain_publication *pub,
                                      struct qd_errmsg *why)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/used-delta.cose", outdir);
	size_t slot = used_slot();
	struct qd_errmsg ignored = {{0}};
	enum qd_err rc = base > 0 && p->optional[slot] != NULL
	                         ? used_changes(d, base, p->optional[slot], p->optional_len[slot],
	                                        p, &ignored)
	                         : QD_ERR_NOT_FOUND;
	if (rc == QD_ERR_NOT_FOUND) {
		(void)unlink(path);
		return QD_OK;
	}
	if (rc != QD_OK) {
		qd_errmsg_set(why, "the used delta's base: %s", ignored.text);
		return rc;
	}
	return sign_delta(d, outdir, days, now, TRUST_DOC_USED_DELTA, "used-delta.cose", base,
	                  enc_used_delta, p, pub, why);
}

/* Keep the used list just published as version v (if any), the base of the next delta; the
 * old base goes only once the domain's versions are saved (publish, below). */
static enum qd_err keep_published_used(const struct domain *d, uint64_t base, uint64_t v,
                                       const struct publish_ctx *p, struct qd_errmsg *why)
{
	size_t slot = used_slot();
	if (p->optional[slot] == NULL || v == base)
		return QD_OK;
	char path[4096];
	published_used_path(d, v, path, sizeof(path));
	return tool_write_file_atomic(path, p->optional[slot], p->optional_len[slot], 0644, why);
}

/* Keep the list just published as version v, the base of the next delta. */
static enum qd_err keep_published(const struct domain *d, uint64_t v, const struct publish_ctx *p,
                                  struct qd_errmsg *why)
{
	char path[4096];
	domain_path(d, "published", path, sizeof(path));
	if (mkdir(path, 0755) != 0 && errno != EEXIST) {
		qd_errmsg_set(why, "%s: %s", path, strerror(errno));
		return QD_ERR_IO;
	}
	published_path(d, v, path, sizeof(path));
	enum qd_err rc =
	        tool_write_file_atomic(path, p->hashes != NULL ? p->hashes : (const uint8_t *)"",
	                               p->n_hashes * TRUST_HASH_LEN, 0644, why);
	char name[64];
	published_ranges_name(v, name, sizeof(name));
	return rc == QD_OK ? ranges_save(d, name, p->windows, p->n_windows, why) : rc;
}

/*
 * Ship the root chain: DIR/roots/root-2..N.cose into OUTDIR, and name
 * root-N in the timestamp.  Nothing to do before the first rotation.
 */
static enum qd_err publish_roots(const struct domain *d, const char *outdir,
                                 struct trustdoc_timestamp *ts, struct qd_errmsg *why)
{
	uint64_t n = d->versions[TRUST_DOC_ROOT];
	for (uint64_t v = 2; v <= n; v++) {
		char name[64], from[4096], to[4096];
		snprintf(name, sizeof(name), "roots/root-%" PRIu64 ".cose", v);
		domain_path(d, name, from, sizeof(from));
		snprintf(to, sizeof(to), "%s/%s", outdir, name + strlen("roots/"));
		uint8_t *bytes = NULL;
		size_t len = 0;
		enum qd_err rc = tool_read_file(from, ROOT_FILE_MAX, &bytes, &len, why);
		if (rc == QD_OK)
			rc = tool_write_file_atomic(to, bytes, len, 0644, why);
		if (rc == QD_OK && v == n) {
			struct trustdoc_timestamp_entry *e = &ts->entries[ts->count++];
			*e = (struct trustdoc_timestamp_entry){
			        .type = TRUST_DOC_ROOT, .version = v, .length = len};
			digest_sha256(bytes, len, e->sha256);
		}
		free(bytes);
		if (rc != QD_OK)
			return rc;
	}
	return QD_OK;
}

/*
 * revocations-delta.cose from the list published as version base to the one
 * just signed, named in the timestamp; without a kept base there is none (and
 * a stale file from an earlier publish is removed).
 */
static enum qd_err publish_delta(const struct domain *d, const char *outdir,
                                 const long days[DOMAIN_DOC_TYPES], int64_t now, uint64_t base,
                                 struct publish_ctx *p, struct domain_publication *pub,
                                 struct qd_errmsg *why)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/revocations-delta.cose", outdir);
	struct qd_errmsg ignored = {{0}};
	enum qd_err rc = base > 0 ? make_delta(d, base, p, &ignored) : QD_ERR_NOT_FOUND;
	if (rc == QD_OK)
		rc = delta_windows(d, base, p, &ignored);
	if (rc == QD_ERR_NOT_FOUND) {
		(void)unlink(path);
		return QD_OK;
	}
	if (rc != QD_OK) {
		qd_errmsg_set(why, "the delta's base: %s", ignored.text);
		return rc;
	}
	return sign_delta(d, outdir, days, now, TRUST_DOC_REVOCATIONS_DELTA,
	                  "revocations-delta.cose", base, enc_delta, p, pub, why);
}

enum qd_err domain_rotate_root(struct domain *d, int64_t now, const char *pkcs11_uri,
                               uint64_t *version, struct qd_errmsg *why)
{
	int old = domain_pick_key(d, KEY_ROLE_ROOT, 0, now);
	if (old < 0) {
		qd_errmsg_set(why, "no active root key to sign the new root");
		return QD_ERR_NOT_FOUND;
	}
	size_t fresh;
	enum qd_err rc = pkcs11_uri != NULL
	                         ? domain_register_pkcs11(d, KEY_ROLE_ROOT, pkcs11_uri, now,
	                                                  now + 20 * 365 * DAY, NULL, &fresh, why)
	                         : domain_add_key(d, KEY_ROLE_ROOT, d->keys[old].alg, now,
	                                          now + 20 * 365 * DAY, &fresh, why);
	if (rc != QD_OK)
		return rc;
	uint64_t v = (d->versions[TRUST_DOC_ROOT] > 0 ? d->versions[TRUST_DOC_ROOT] : 1) + 1;
	struct trustdoc_header h = {TRUST_DOC_ROOT, v, now, now + 3650 * DAY};
	struct cbor_writer w;
	cbor_writer_init(&w, NULL, 0);
	trustdoc_encode_root(&w, &h, &d->keys[fresh], 1);
	size_t need = w.len;
	uint8_t *payload = malloc(need);
	if (payload == NULL)
		return QD_ERR_NOMEM;
	cbor_writer_init(&w, payload, need);
	trustdoc_encode_root(&w, &h, &d->keys[fresh], 1);
	/* Signed by the new root, then that by the old: both vouch for it. */
	uint8_t *inner = NULL, *outer = NULL;
	size_t inner_len = 0, outer_len = 0;
	rc = sign_with(d, fresh, payload, need, &inner, &inner_len, why);
	if (rc == QD_OK)
		rc = sign_with(d, (size_t)old, inner, inner_len, &outer, &outer_len, why);
	char path[4096];
	domain_path(d, "roots", path, sizeof(path));
	if (rc == QD_OK && mkdir(path, 0755) != 0 && errno != EEXIST) {
		qd_errmsg_set(why, "%s: %s", path, strerror(errno));
		rc = QD_ERR_IO;
	}
	if (rc == QD_OK) {
		char name[64];
		snprintf(name, sizeof(name), "roots/root-%" PRIu64 ".cose", v);
		domain_path(d, name, path, sizeof(path));
		rc = tool_write_file_atomic(path, outer, outer_len, 0644, why);
	}
	free(payload);
	free(inner);
	free(outer);
	if (rc != QD_OK)
		return rc;
	/* The old root signs nothing more; the next key set is the new root's. */
	d->keys[old].status = KEY_STATUS_REVOKED;
	d->versions[TRUST_DOC_ROOT] = v;
	*version = v;
	return domain_save(d, why);
}

enum qd_err domain_publish(struct domain *d, const char *outdir, const long days[DOMAIN_DOC_TYPES],
                           int64_t now, struct domain_publication *pub, struct qd_errmsg *why)
{
	memset(pub, 0, sizeof(*pub));
	if (mkdir(outdir, 0755) != 0 && errno != EEXIST) {
		qd_errmsg_set(why, "%s: %s", outdir, strerror(errno));
		return QD_ERR_IO;
	}
	struct publish_ctx *p = calloc(1, sizeof(*p));
	uint8_t *hashes = NULL, *policy = NULL;
	size_t policy_len = 0;
	enum qd_err rc = p ? domain_revocations_load(d, &hashes, &p->n_hashes, why) : QD_ERR_NOMEM;
	if (rc == QD_OK) {
		char path[4096];
		domain_path(d, "policy.cbor", path, sizeof(path));
		rc = tool_read_file(path, POLICY_BODY_MAX, &policy, &policy_len, why);
		if (rc == QD_OK) {
			/* Never sign what desks will refuse: a refused policy would hold back
			 * the revocation list published with it on every desk. */
			struct policy *check = malloc(sizeof(*check));
			struct qd_errmsg bad = {{0}};
			rc = check ? policy_decode(policy, policy_len, check, &bad) : QD_ERR_NOMEM;
			if (rc != QD_OK && rc != QD_ERR_NOMEM)
				qd_errmsg_set(why,
				              "%s: %s (set the policy with `qrdesk-issuer policy`)",
				              path, bad.text);
			free(check);
		} else if (rc == QD_ERR_NOT_FOUND) {
			/* No policy yet: publish "no destination rules", {1: []}. */
			static const uint8_t empty_rules[] = {0xa1, 0x01, 0x80};
			policy = malloc(sizeof(empty_rules));
			rc = policy ? QD_OK : QD_ERR_NOMEM;
			if (policy)
				memcpy(policy, empty_rules, sizeof(empty_rules));
			policy_len = sizeof(empty_rules);
		}
	}
	for (size_t i = 0; i < N_OPTIONAL && rc == QD_OK; i++)
		rc = load_optional(d, i, &p->optional[i], &p->optional_len[i], why);
	if (rc == QD_OK)
		rc = ranges_load(d, "ranges.json", &p->windows, &p->n_windows, why);
	if (rc == QD_OK) {
		p->ranges = calloc(p->n_windows + 1, sizeof(*p->ranges));
		rc = p->ranges != NULL ? QD_OK : QD_ERR_NOMEM;
		for (size_t i = 0; rc == QD_OK && i < p->n_windows; i++)
			p->ranges[i] = p->windows[i].r;
	}
	if (rc != QD_OK)
		goto out;
	p->d = d;
	p->hashes = hashes;
	p->policy = policy;
	p->policy_len = policy_len;

	static const struct {
		enum trust_doc_type type;
		const char *file;
		encode_fn fn;
	} docs[] = {
	        {TRUST_DOC_KEYSET, "keyset.cose", enc_keyset},
	        {TRUST_DOC_REVOCATIONS, "revocations.cose", enc_revocations},
	        {TRUST_DOC_POLICY, "policy.cose", enc_policy},
	        {TRUST_DOC_AIRPORTS, "airports.cose", enc_optional},
	        {TRUST_DOC_DESKS, "desks.cose", enc_optional},
	        {TRUST_DOC_USED, "used.cose", enc_optional},
	        {TRUST_DOC_TIMESTAMP, "timestamp.cose", enc_timestamp},
	};
	rc = publish_roots(d, outdir, &p->ts, why);
	if (rc != QD_OK)
		goto out;
	uint64_t base = d->versions[TRUST_DOC_REVOCATIONS];
	uint64_t used_base = d->versions[TRUST_DOC_USED];
	for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		enum trust_doc_type type = docs[i].type;
		bool absent = false;
		for (size_t j = 0; j < N_OPTIONAL; j++)
			absent = absent ||
			         (optional_bodies[j].type == type && p->optional[j] == NULL);
		if (absent)
			continue;
		if (type == TRUST_DOC_TIMESTAMP) {
			rc = publish_delta(d, outdir, days, now, base, p, pub, why);
			if (rc == QD_OK)
				rc = publish_used_delta(d, outdir, days, now, used_base, p, pub,
				                        why);
			if (rc != QD_OK)
				goto out;
		}
		/* Every publish is a new version of everything: a re-signed file with a
		 * later expiry must be installable, and versions only go up. */
		d->versions[type]++;
		p->header = (struct trustdoc_header){type, d->versions[type], now,
		                                     now + days[type] * DAY};
		size_t len = 0;
		uint8_t *payload = encode_alloc(docs[i].fn, p, &len);
		if (payload == NULL) {
			rc = QD_ERR_NOMEM;
			goto out;
		}
		struct trustdoc_timestamp_entry *entry = NULL;
		if (type != TRUST_DOC_TIMESTAMP) {
			entry = &p->ts.entries[p->ts.count++];
			entry->type = type;
			entry->version = d->versions[type];
		}
		rc = sign_and_write(d, trust_doc_signer_role(type), now, outdir, docs[i].file,
		                    payload, len, entry, why);
		free(payload);
		if (rc != QD_OK)
			goto out;
		pub->files[pub->count].name = docs[i].file;
		pub->files[pub->count].version = d->versions[type];
		pub->files[pub->count].days = days[type];
		pub->count++;
	}
	rc = keep_published(d, d->versions[TRUST_DOC_REVOCATIONS], p, why);
	if (rc == QD_OK)
		rc = keep_published_used(d, used_base, d->versions[TRUST_DOC_USED], p, why);
	if (rc == QD_OK)
		rc = domain_save(d, why);
	if (rc == QD_OK && base > 0) {
		/* Only the newest base is needed; an old one left behind is harmless. */
		char path[4096];
		published_path(d, base, path, sizeof(path));
		(void)unlink(path);
		char name[64];
		published_ranges_name(base, name, sizeof(name));
		domain_path(d, name, path, sizeof(path));
		(void)unlink(path);
	}
	/* As the revocations' base: after the save, so a failed save still finds the base the
	 * saved versions name. */
	if (rc == QD_OK && used_base > 0 && used_base != d->versions[TRUST_DOC_USED] &&
	    p->optional[used_slot()] != NULL) {
		char path[4096];
		published_used_path(d, used_base, path, sizeof(path));
		(void)unlink(path);
	}
out:
	free(hashes);
	free(policy);
	if (p != NULL) {
		for (size_t i = 0; i < N_OPTIONAL; i++)
			free(p->optional[i]);
		free(p->delta_lists);
		free((uint8_t *)p->used_delta.changes);
		free(p->windows);
		free(p->ranges);
		free(p->delta_ranges);
	}
	free(p);
	return rc;
}

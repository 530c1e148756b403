/* SPDX-License-Identifier: Apache-2.0 */
/* demo.c - demo trust data for qrdeskd --demo, made by qrdesk-issuer demo (see demo.h). */
#include "demo.h"

#include <errno.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "domain.h"
#include "qrdesk/import.h"
#include "qrdesk/store.h"
#include "qrdesk/travel_specimen.h"
#include "policy_source.h"
#include "qrpng.h"
#include "toolutil.h"

#define DAY (24LL * 3600)

struct demo_card {
	const char *name;
	const char *clearance_no;
	const char *holder;
	char sex;
	const char *destination;
	const char *category;
	const char *birth;     /* NULL: twenty years before today (see below) */
	int64_t issued_offset; /* from now */
	int64_t expires_offset;
	int64_t alg;
	bool documents; /* also a matching passport MRZ and boarding pass (docs/binding.md) */
};

static const struct demo_card cards[] = {
        {"valid", "2611000101", "MD ABDUR RAHIM", 'M', "SA", "GW", "1990-07-14", -DAY, 180 * DAY,
         SIGNATURE_ALG_EDDSA, false},
        {"valid-es256", "2611000102", "MD KAMAL HOSSAIN", 'M', "AE", "DR", "1987-01-30", -DAY,
         180 * DAY, SIGNATURE_ALG_ES256, false},
        {"revoked", "2611000103", "SHAHIDUL ISLAM", 'M', "QA", "CW", "1992-11-02", -DAY, 180 * DAY,
         SIGNATURE_ALG_EDDSA, false},
        {"expired", "2611000104", "NASIMA BEGUM", 'F', "OM", "GW", "1985-05-21", -300 * DAY,
         -120 * DAY, SIGNATURE_ALG_EDDSA, false},
        /* Twenty on any day the demo runs: under the example policy's Kuwait age floor. */
        {"domestic-kw", "2611000105", "RAHIMA KHATUN", 'F', "KW", "DW", NULL, -DAY, 180 * DAY,
         SIGNATURE_ALG_EDDSA, false},
        /* A traveller with passport and boarding pass: bound.txt, bound.mrz, bound.bcbp. */
        {"bound", "2611000106", "MD JAHANGIR ALAM", 'M', "SA", "GW", "1991-04-02", -DAY, 180 * DAY,
         SIGNATURE_ALG_EDDSA, true},
};

static enum qd_err make_dir(const char *path, struct qd_errmsg *why)
{
	if (mkdir(path, 0700) != 0 && errno != EEXIST) {
		qd_errmsg_set(why, "%s: %s", path, strerror(errno));
		return QD_ERR_IO;
	}
	return QD_OK;
}

/* The same month and day twenty years before now (28 February for a 29th). */
static int32_t twenty_years_before(int64_t now)
{
	int y;
	unsigned m, d;
	credential_date_civil((int32_t)(now / DAY), &y, &m, &d);
	char text[32];
	snprintf(text, sizeof(text), "%04d-%02u-%02u", y - 20, m, m == 2 && d == 29 ? 28u : d);
	int32_t days = 0;
	(void)credential_date_parse(text, &days); /* a valid date by construction */
	return days;
}

static enum qd_err write_text(const char *dir, const char *name, const char *ext, const char *text,
                              struct qd_errmsg *why)
{
	char path[4096], body[BCBP_TEXT_MAX + 2];
	snprintf(path, sizeof(path), "%s/cards/%s.%s", dir, name, ext);
	int n = snprintf(body, sizeof(body), "%s\n", text);
	return tool_write_file_atomic(path, body, (size_t)n, 0644, why);
}

/* The card holder's passport (valid five more years) and a boarding pass for tomorrow. */
static enum qd_err write_documents(const char *dir, const char *name,
                                   const struct clearance_claims *cl, int64_t now,
                                   struct qd_errmsg *why)
{
	static struct airport_table airports;
	size_t len = 0;
	const char *table = airport_builtin_text(&len);
	enum qd_err rc = airport_table_parse(table, len, &airports, why);
	char mrz[MRZ_TEXT_MAX + 1], pass[BCBP_TEXT_MAX + 1];
	int y = 0;
	unsigned m = 0, d = 0;
	int32_t tomorrow = (int32_t)(now / DAY) + 1, jan1 = 0;
	credential_date_civil(tomorrow, &y, &m, &d);
	char first[16];
	snprintf(first, sizeof(first), "%04d-01-01", y);
	(void)credential_date_parse(first, &jan1); /* a valid date by construction */
	if (rc == QD_OK)
		rc = travel_specimen_mrz(cl, tomorrow + 5 * 365, mrz);
	if (rc == QD_OK)
		rc = travel_specimen_bcbp(cl, &airports, (unsigned)(tomorrow - jan1 + 1), pass,
		                          sizeof(pass));
	if (rc != QD_OK) {
		qd_errmsg_set(why, "demo: no specimen documents for %s (%s)", name,
		              qd_err_name(rc));
		return rc;
	}
	rc = write_text(dir, name, "mrz", mrz, why);
	return rc == QD_OK ? write_text(dir, name, "bcbp", pass, why) : rc;
}

static enum qd_err write_card(const struct domain *d, const char *dir, const struct demo_card *c,
                              int64_t now, struct qd_errmsg *why)
{
	struct credential cred = {.issued_at = now + c->issued_offset,
	                          .expires_at = now + c->expires_offset};
	struct clearance_claims *cl = &cred.clearance;
	snprintf(cl->clearance_no, sizeof(cl->clearance_no), "%s", c->clearance_no);
	snprintf(cl->passport_no, sizeof(cl->passport_no), "A0%s", c->clearance_no + 3);
	snprintf(cl->name, sizeof(cl->name), "%s", c->holder);
	if (c->birth != NULL)
		credential_date_parse(c->birth, &cl->birth_days);
	else
		cl->birth_days = twenty_years_before(now);
	cl->sex = c->sex;
	snprintf(cl->destination, sizeof(cl->destination), "%s", c->destination);
	snprintf(cl->category, sizeof(cl->category), "%s", c->category);
	snprintf(cl->employer, sizeof(cl->employer), "AL MADINA GENERAL TRADING");
	snprintf(cl->agency_licence, sizeof(cl->agency_licence), "RL-0571");
	snprintf(cl->bmet_reg_no, sizeof(cl->bmet_reg_no), "BMET%s", c->clearance_no);
	cl->pdo_completed = true;
	/* Sign inside the key's window: the expired card was issued long ago. */
	int index = domain_pick_key(d, KEY_ROLE_ISSUER, c->alg, cred.issued_at);
	if (index < 0) {
		qd_errmsg_set(why, "demo: no issuer key for %s", c->name);
		return QD_ERR_NOT_FOUND;
	}
	char text[2048], path[4096];
	size_t cose_len;
	enum qd_err rc =
	        domain_sign_card(d, (size_t)index, &cred, text, sizeof(text), &cose_len, why);
	if (rc != QD_OK)
		return rc;
	snprintf(path, sizeof(path), "%s/cards/%s.txt", dir, c->name);
	size_t len = strlen(text);
	text[len] = '\n';
	rc = tool_write_file_atomic(path, text, len + 1, 0644, why);
	text[len] = '\0';
	if (rc != QD_OK)
		return rc;
	snprintf(path, sizeof(path), "%s/cards/%s.png", dir, c->name);
	int version;
	rc = qrpng_write(text, path, &version, why);
	if (rc == QD_OK && c->documents)
		rc = write_documents(dir, c->name, cl, now, why);
	return rc;
}

enum qd_err demo_prepare(const char *dir, bool *made, struct qd_errmsg *why)
{
	*made = false;
	char path[4096];
	snprintf(path, sizeof(path), "%s/desk.db", dir);
	struct stat st;
	if (stat(path, &st) == 0)
		return QD_OK;

	int64_t now = (int64_t)time(NULL);
	enum qd_err rc = make_dir(dir, why);
	char sub[4096];
	static const char *const subdirs[] = {"cards", "inbox"};
	for (size_t i = 0; rc == QD_OK && i < 2; i++) {
		snprintf(sub, sizeof(sub), "%s/%s", dir, subdirs[i]);
		rc = make_dir(sub, why);
	}
	if (rc != QD_OK)
		return rc;
	struct domain *d = malloc(sizeof(*d));
	if (d == NULL)
		return QD_ERR_NOMEM;
	snprintf(sub, sizeof(sub), "%s/domain", dir);
	/* Keys valid from a year back, so the expired sample was signed in their window. */
	rc = domain_init(sub, now - 365 * DAY, d, why);
	for (size_t i = 0; rc == QD_OK && i < sizeof(cards) / sizeof(cards[0]); i++)
		rc = write_card(d, dir, &cards[i], now, why);
	if (rc == QD_OK) {
		uint8_t hash[TRUST_HASH_LEN];
		size_t added;
		credential_clearance_hash("2611000103", hash);
		rc = domain_revocations_add(d, hash, 1, &added, why);
	}
	/* The repository's example policy: domestic-kw turns amber with Kuwait's age rule. */
	struct policy *policy = rc == QD_OK ? malloc(sizeof(*policy)) : NULL;
	if (rc == QD_OK && policy == NULL)
		rc = QD_ERR_NOMEM;
	if (rc == QD_OK)
		rc = policy_source_parse(policy_source_example, policy_source_example_len, policy,
		                         why);
	if (rc == QD_OK)
		rc = domain_policy_set(d, policy, NULL, why);
	free(policy);
	snprintf(sub, sizeof(sub), "%s/repo", dir);
	long days[DOMAIN_DOC_TYPES];
	domain_publish_days_defaults(days);
	days[TRUST_DOC_TIMESTAMP] = 30; /* a demo left running for days stays green */
	days[TRUST_DOC_REVOCATIONS] = 30;
	struct domain_publication pub;
	if (rc == QD_OK)
		rc = domain_publish(d, sub, days, now, &pub, why);

	/* The desk: pin the root, import what the back office published. */
	struct store *store = NULL;
	if (rc == QD_OK) {
		snprintf(path, sizeof(path), "%s/desk.db.tmp", dir);
		unlink(path);
		rc = store_open(path, STORE_OPEN_CREATE, &store, why);
	}
	if (rc == QD_OK)
		rc = store_root_pin(store, &d->keys[0], why);
	/* What a repository serves, in the list's order (the timestamp last); an optional type
	 * not published is skipped. */
	for (size_t i = 0; rc == QD_OK && i < trust_doc_types_count; i++) {
		const struct trust_doc_info *doc = &trust_doc_types[i];
		if (!doc->synced && doc->kind != TRUST_DOC_KIND_TIMESTAMP)
			continue;
		char file[4096];
		struct import_result res;
		snprintf(file, sizeof(file), "%s/repo/%s.cose", dir, doc->name);
		if (!doc->required && doc->kind != TRUST_DOC_KIND_TIMESTAMP &&
		    access(file, F_OK) != 0)
			continue;
		rc = import_file(store, file, now, &res, why);
	}
	store_close(store);
	free(d);
	if (rc != QD_OK)
		return rc;
	/* Only a complete store gets the real name: a failed first start is redone. */
	char final[4096];
	snprintf(final, sizeof(final), "%s/desk.db", dir);
	if (rename(path, final) != 0) {
		qd_errmsg_set(why, "%s: %s", final, strerror(errno));
		return QD_ERR_IO;
	}
	*made = true;
	return QD_OK;
}

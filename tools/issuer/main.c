/* SPDX-License-Identifier: Apache-2.0 */
/*
 * qrdesk-issuer - the back office's tool: make a trust domain, sign
 * clearance cards, revoke them, and publish the signed trust documents that
 * desks import.  Private keys never leave DIR/keys.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stddef.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include <sys/stat.h>

#include "domain.h"
#include "qrdesk/airport.h"
#include "qrdesk/audit_key.h"
#include "qrdesk/auditbatch.h"
#include "qrdesk/auditexport.h"
#include "qrdesk/desklist.h"
#include "qrdesk/fleetdb.h"
#include "qrdesk/base45.h"
#include "qrdesk/cbor.h"
#include "qrdesk/cose.h"
#include "qrdesk/credential.h"
#include "qrdesk/digest.h"
#include "qrdesk/hex.h"
#include "qrdesk/keyfile.h"
#include "qrdesk/log.h"
#include "qrdesk/signature.h"
#include "qrdesk/trustdoc.h"
#include "qrdesk/usedlist.h"
#include "demo.h"
#include "ingest.h"
#include "pkcs11.h"
#include "ranges.h"
#include "policy_source.h"
#include "qrpng.h"
#include "toolutil.h"
#include "usb.h"

#define CLAIMS_JSON_MAX (64 * 1024)
#define DAY             (24LL * 3600)
/* A bundle's documents: IMPORT_FILE_MAX (import.h), without linking the import module. */
#define IMPORT_FILE_MAX_BYTES (300u * 1024u * 1024u)

static const char usage_text[] =
        "usage: qrdesk-issuer [--now TIME] [--pin-file FILE] COMMAND ARGS...\n"
        "\n"
        "  init DIR                       create a trust domain: root, issuer (EdDSA and\n"
        "                                 ES256), repository and update keys; DIR/root.pub\n"
        "                                 is the root key to pin on desks\n"
        "  sign DIR CLAIMS.json [--alg es256|eddsa] [--key KID] [--png FILE]\n"
        "                                 sign a clearance card; prints its code text.\n"
        "                                 Without --key: the newest issuer key of the alg\n"
        "                                 whose secret this tool holds\n"
        "  add-key DIR --role issuer|repository|update (--public FILE | --pkcs11 URI)\n"
        "          [--not-before TIME] [--not-after TIME] [--label TEXT]\n"
        "                                 register a key whose secret is not in a file: a\n"
        "                                 public key (PEM, raw, hex or a qrdesk key file)\n"
        "                                 whose secret is elsewhere, or a key in a PKCS#11\n"
        "                                 token (RFC 7512 URI, e.g. pkcs11:token=bmet;\n"
        "                                 object=issuer-2027), its public half read from\n"
        "                                 the token; window default now .. now + 5 years\n"
        "  keys DIR                       list every key: role, algorithm, kid, window,\n"
        "                                 where its secret lives, state, label\n"
        "  retire-key DIR KID --after TIME\n"
        "                                 end a key's window at TIME: cards it issued up to\n"
        "                                 TIME stay valid, later ones are refused\n"
        "  revoke DIR CLEARANCE_NO...     add clearance numbers to the revocation list\n"
        "  revoke-key DIR KID             mark a key revoked in the next key set\n"
        "  revoke-range DIR KID FROM TO --reason TEXT\n"
        "                                 revoke every card key KID signed with an issue\n"
        "                                 time in [FROM, TO) (insider mis-issuance); its\n"
        "                                 other cards stay valid; the next publish signs it\n"
        "                                 into the revocation list and its delta\n"
        "  policy DIR SOURCE.json         set the destination policy (rules per destination\n"
        "                                 and category, docs/policy.md) from a JSON source;\n"
        "                                 the next publish signs it.  Example:\n"
        "                                 tools/issuer/example-policy.json\n"
        "  airports DIR TABLE.txt         set the airport table desks match boarding\n"
        "                                 passes with (docs/binding.md; the format of\n"
        "                                 firmware/core/airports.txt); the next publish\n"
        "                                 signs it as airports.cose\n"
        "  desk add DIR DESK_ID PUBKEY    register a desk and the Ed25519 key it signs its\n"
        "                                 audit batches with (PUBKEY: the hex `qrdeskctl\n"
        "                                 enroll` printed, or a file holding it); the next\n"
        "                                 publish signs the desk list as desks.cose\n"
        "  desk retire DIR DESK_ID        retire a desk: its batches signed from now on\n"
        "                                 are refused (docs/fleet.md)\n"
        "  desk list DIR                  the registered desks: id, state, key\n"
        "  ingest DIR SRC                 load the desks' signed audit batches from SRC\n"
        "                                 (SRC/DESK_ID/SEQUENCE.cose: the upload storage)\n"
        "                                 into DIR/fleet.db: signatures and chains checked\n"
        "                                 against the desk list; each refused batch named on\n"
        "                                 its own line, the rest loaded; a re-run adds\n"
        "                                 nothing; exit 65 if any was refused\n"
        "  used publish DIR               the fleet's \"already used\" list from DIR/fleet.db:\n"
        "                                 each card's first green (time, desk), cards\n"
        "                                 expired left out, as DIR/used.cbor; the next\n"
        "                                 publish signs it as used.cose (docs/fleet.md)\n"
        "  audit query DIR CLEARANCE_NO --audit-key FILE\n"
        "                                 where and when the card was scanned, from\n"
        "                                 DIR/fleet.db (FILE: the deployment's audit key);\n"
        "                                 exit 1 if never\n"
        "  publish DIR OUTDIR [--keyset-days N] [--revocations-days N]\n"
        "                     [--policy-days N] [--timestamp-days N]\n"
        "                                 sign and write keyset.cose, revocations.cose,\n"
        "                                 policy.cose and timestamp.cose (versions +1),\n"
        "                                 revocations-delta.cose from the last publish,\n"
        "                                 used.cose and used-delta.cose (the change since\n"
        "                                 the last published used list) once used publish\n"
        "                                 made one, and the root chain root-2..N.cose\n"
        "  rotate-root DIR [--pkcs11 URI] make root version N+1 (a new root key, signed\n"
        "                                 by the old root and by itself; --pkcs11: the key\n"
        "                                 in a token); the next publish ships it\n"
        "                                 (docs/repository.md)\n"
        "  bundle DIR OUT [--docs FILE...] [--set SECTION.KEY=VALUE]... [--desk ID]\n"
        "                 [--id ID] [--days N] [--root | --key KID]\n"
        "                                 a USB update bundle (docs/usb-bundle.md): signed\n"
        "                                 documents as published, allowed settings; for\n"
        "                                 desk ID (default any); signed by the update key\n"
        "                                 (--root: the root key); expires in N days (30)\n"
        "  export-request DIR OUT [--desk ID] [--id ID] [--days N]\n"
        "                                 ask desks for their audit log on a USB stick\n"
        "                                 (copy OUT to the stick as qrdesk/export-request)\n"
        "  open-export DIR FILE           decrypt and check an export (qrdesk/export/*.qrlog);\n"
        "                                 prints its rows as JSON lines\n"
        "  open-export DIR FILE... --batches OUTDIR\n"
        "                                 decrypt exports and write their signed batches as\n"
        "                                 OUTDIR/DESK/SEQUENCE.cose (the upload's names) for\n"
        "                                 ingest; other bytes under a name: refused\n"
        "  demo DIR                       demo trust data for qrdeskd's demo mode in DIR:\n"
        "                                 a demo trust domain, its published documents\n"
        "                                 imported into DIR/desk.db, sample cards in\n"
        "                                 DIR/cards; nothing done if DIR/desk.db exists\n"
        "\n"
        "  --now TIME    act as if the clock said TIME (Unix seconds, YYYY-MM-DD or\n"
        "                YYYY-MM-DDTHH:MM:SSZ): for tests and back-dated re-issues\n"
        "  --pin-file FILE  the PKCS#11 user PIN, first line of FILE (else the URI's\n"
        "                pin-source, else $QRDESK_PKCS11_PIN; never on the command line)\n"
        "  --help        this text\n"
        "\n"
        "Claims JSON fields: clearance_no, passport_no, name, birth_date (YYYY-MM-DD),\n"
        "sex (M|F|X), destination (ISO 3166-1 alpha-2), category (DW, GW, SK, SS, PR,\n"
        "DR, CW, NU...), employer, agency_licence, bmet_reg_no, pdo_completed (bool),\n"
        "issued_at and expires_at (times as above; default now and now + 180 days),\n"
        "optional not_before and iss.  See docs/credential-format.md.\n";

__attribute__((format(printf, 1, 2))) static int usage_error(const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_err("%s", msg);
	fprintf(stderr, "Try 'qrdesk-issuer --help'.\n");
	return TOOL_EXIT_USAGE;
}

static int fail(enum qd_err rc, const struct qd_errmsg *why)
{
	log_err("%s", why->text[0] ? why->text : qd_err_name(rc));
	return tool_exit_for(rc);
}

static int cmd_init(int argc, char **argv)
{
	if (argc != 2)
		return usage_error("init takes one argument: DIR%s", "");
	struct domain *d = malloc(sizeof(*d));
	struct qd_errmsg why = {{0}};
	if (d == NULL)
		return TOOL_EXIT_SOFTWARE;
	enum qd_err rc = domain_init(argv[1], tool_now(), d, &why);
	if (rc != QD_OK) {
		free(d);
		return fail(rc, &why);
	}
	for (size_t i = 0; i < d->n_keys; i++) {
		char kid[2 * TRUST_KID_MAX + 1];
		hex_encode(d->keys[i].kid, d->keys[i].kid_len, kid, sizeof(kid));
		printf("%-10s %-5s %s\n", key_role_name(d->keys[i].role),
		       signature_alg_name(d->keys[i].alg), kid);
	}
	printf("pin on desks: %s/root.pub\n", argv[1]);
	free(d);
	return TOOL_EXIT_OK;
}

/* Claims JSON -> struct credential, with messages that name the field. */
static int claims_from_json(const char *path, struct credential *cred)
{
	uint8_t *text;
	size_t len;
	struct qd_errmsg why = {{0}};
	enum qd_err rc = tool_read_file(path, CLAIMS_JSON_MAX, &text, &len, &why);
	if (rc != QD_OK)
		return fail(rc, &why);
	json_error_t jerr;
	json_t *root = json_loadb((const char *)text, len, JSON_REJECT_DUPLICATES, &jerr);
	free(text);
	if (root == NULL || !json_is_object(root)) {
		log_err("%s: line %d: %s", path, jerr.line, root ? "not a JSON object" : jerr.text);
		json_decref(root);
		return TOOL_EXIT_DATA;
	}
	static const struct {
		const char *name;
		size_t offset, size;
	} texts[] = {
#define FIELD(n)                                                                                   \
	{#n, offsetof(struct clearance_claims, n), sizeof(((struct clearance_claims *)0)->n)}
	        FIELD(clearance_no), FIELD(passport_no), FIELD(name),           FIELD(destination),
	        FIELD(category),     FIELD(employer),    FIELD(agency_licence), FIELD(bmet_reg_no),
#undef FIELD
	};
	memset(cred, 0, sizeof(*cred));
	int status = TOOL_EXIT_DATA;
	const char *key;
	json_t *value;
	bool have_birth = false, have_sex = false, have_pdo = false, have_iat = false,
	     have_exp = false;
	json_object_foreach(root, key, value)
	{
		bool known = false;
		for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
			if (strcmp(key, texts[i].name) != 0)
				continue;
			known = true;
			const char *s = json_string_value(value);
			if (s == NULL || strlen(s) >= texts[i].size) {
				log_err("%s: %s must be a string of at most %zu characters", path,
				        key, texts[i].size - 1);
				goto out;
			}
			memcpy((char *)&cred->clearance + texts[i].offset, s, strlen(s) + 1);
		}
		if (known)
			continue;
		const char *s = json_string_value(value);
		int64_t t;
		if (strcmp(key, "birth_date") == 0) {
			if (s == NULL ||
			    credential_date_parse(s, &cred->clearance.birth_days) != QD_OK) {
				log_err("%s: birth_date must be YYYY-MM-DD between 1900 and 2100",
				        path);
				goto out;
			}
			have_birth = true;
		} else if (strcmp(key, "sex") == 0) {
			if (s == NULL || strlen(s) != 1) {
				log_err("%s: sex must be \"M\", \"F\" or \"X\"", path);
				goto out;
			}
			cred->clearance.sex = s[0];
			have_sex = true;
		} else if (strcmp(key, "pdo_completed") == 0) {
			if (!json_is_boolean(value)) {
				log_err("%s: pdo_completed must be true or false", path);
				goto out;
			}
			cred->clearance.pdo_completed = json_is_true(value);
			have_pdo = true;
		} else if (strcmp(key, "iss") == 0) {
			if (s == NULL || strlen(s) > CREDENTIAL_ISS_MAX) {
				log_err("%s: iss must be a string of at most %d characters", path,
				        CREDENTIAL_ISS_MAX);
				goto out;
			}
			strcpy(cred->iss, s);
		} else if (strcmp(key, "issued_at") == 0 || strcmp(key, "expires_at") == 0 ||
		           strcmp(key, "not_before") == 0) {
			char buf[32];
			if (json_is_integer(value))
				snprintf(buf, sizeof(buf), "%lld",
				         (long long)json_integer_value(value));
			else
				snprintf(buf, sizeof(buf), "%s", s ? s : "");
			if (tool_parse_time(buf, &t) != QD_OK) {
				log_err("%s: %s must be Unix seconds, YYYY-MM-DD or "
				        "YYYY-MM-DDTHH:MM:SSZ",
				        path, key);
				goto out;
			}
			if (key[0] == 'i') {
				cred->issued_at = t;
				have_iat = true;
			} else if (key[0] == 'e') {
				cred->expires_at = t;
				have_exp = true;
			} else {
				cred->not_before = t;
				cred->has_nbf = true;
			}
		} else {
			log_err("%s: unknown field \"%s\"", path, key);
			goto out;
		}
	}
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
		if (json_object_get(root, texts[i].name) == NULL) {
			log_err("%s: %s is missing", path, texts[i].name);
			goto out;
		}
	if (!have_birth || !have_sex || !have_pdo) {
		log_err("%s: %s is missing", path,
		        !have_birth ? "birth_date"
		        : !have_sex ? "sex"
		                    : "pdo_completed");
		goto out;
	}
	if (!have_iat)
		cred->issued_at = tool_now();
	if (!have_exp)
		cred->expires_at = cred->issued_at + 180 * DAY;
	status = TOOL_EXIT_OK;
out:
	json_decref(root);
	return status;
}

static int cmd_sign(int argc, char **argv)
{
	const char *alg_name = NULL, *kid_hex = NULL, *png = NULL;
	static const struct option opts[] = {{"alg", required_argument, NULL, 'a'},
	                                     {"key", required_argument, NULL, 'k'},
	                                     {"png", required_argument, NULL, 'p'},
	                                     {NULL, 0, NULL, 0}};
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'a':
			alg_name = optarg;
			break;
		case 'k':
			kid_hex = optarg;
			break;
		case 'p':
			png = optarg;
			break;
		default:
			return usage_error("sign: bad option%s", "");
		}
	}
	if (argc - optind != 2)
		return usage_error("sign takes DIR CLAIMS.json%s", "");
	const char *dir = argv[optind], *claims = argv[optind + 1];
	int64_t alg = SIGNATURE_ALG_EDDSA;
	if (alg_name != NULL && signature_alg_parse(alg_name, &alg) != QD_OK)
		return usage_error("--alg %s: use eddsa or es256", alg_name);

	struct credential cred;
	int status = claims_from_json(claims, &cred);
	if (status != TOOL_EXIT_OK)
		return status;

	struct qd_errmsg why = {{0}};
	struct domain *d = malloc(sizeof(*d));
	if (d == NULL)
		return TOOL_EXIT_SOFTWARE;
	enum qd_err rc = domain_load(dir, d, &why);
	if (rc != QD_OK)
		goto fail;
	int index;
	if (kid_hex != NULL) {
		index = domain_find_kid(d, kid_hex);
		if (index < 0) {
			qd_errmsg_set(&why, "no key %s in %s", kid_hex, dir);
			rc = QD_ERR_NOT_FOUND;
			goto fail;
		}
		if (d->keys[index].role != KEY_ROLE_ISSUER)
			log_warn("key %s is a %s key: desks will reject this card", kid_hex,
			         key_role_name(d->keys[index].role));
	} else {
		index = domain_pick_key(d, KEY_ROLE_ISSUER, alg, tool_now());
		if (index < 0) {
			qd_errmsg_set(&why,
			              "no active %s issuer key whose secret this tool holds in %s "
			              "(name one with --key)",
			              signature_alg_name(alg), dir);
			rc = QD_ERR_NOT_FOUND;
			goto fail;
		}
	}
	char text[CREDENTIAL_PREFIX_LEN + 2000];
	size_t cose_len;
	rc = domain_sign_card(d, (size_t)index, &cred, text, sizeof(text), &cose_len, &why);
	if (rc != QD_OK)
		goto fail;
	size_t text_len = strlen(text) - CREDENTIAL_PREFIX_LEN;
	printf("%s\n", text);
	int version = qrpng_version_needed(text);
	if (png != NULL) {
		rc = qrpng_write(text, png, &version, &why);
		if (rc != QD_OK)
			goto fail;
	}
	log_info("%zu bytes COSE, %zu characters, QR version %d-M", cose_len,
	         CREDENTIAL_PREFIX_LEN + text_len, version);
	free(d);
	return TOOL_EXIT_OK;
fail:
	free(d);
	return fail(rc, &why);
}

/* The domain, loaded; NULL (and the error logged) if it cannot be. */
static struct domain *load_domain(const char *dir, int *status)
{
	struct qd_errmsg why = {{0}};
	struct domain *d = malloc(sizeof(*d));
	enum qd_err rc = d != NULL ? domain_load(dir, d, &why) : QD_ERR_NOMEM;
	if (rc != QD_OK) {
		free(d);
		*status = fail(rc, &why);
		return NULL;
	}
	return d;
}

static int parse_time_opt(const char *name, const char *arg, int64_t *t)
{
	if (tool_parse_time(arg, t) != QD_OK)
		return usage_error("%s %s: not a time", name, arg);
	return TOOL_EXIT_OK;
}

static int cmd_add_key(int argc, char **argv)
{
	static const struct option opts[] = {{"role", required_argument, NULL, 'r'},
	                                     {"public", required_argument, NULL, 'p'},
	                                     {"not-before", required_argument, NULL, 'b'},
	                                     {"not-after", required_argument, NULL, 'a'},
	                                     {"label", required_argument, NULL, 'l'},
	                                     {"pkcs11", required_argument, NULL, 'u'},
	                                     {NULL, 0, NULL, 0}};
	const char *role_name = NULL, *public_file = NULL, *uri = NULL;
	struct domain_key_info info = {.secret = DOMAIN_SECRET_NONE};
	int64_t nb = tool_now(), na = 0;
	int c, status;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			role_name = optarg;
			break;
		case 'p':
			public_file = optarg;
			break;
		case 'u':
			uri = optarg;
			break;
		case 'b':
		case 'a':
			if ((status = parse_time_opt(c == 'b' ? "--not-before" : "--not-after",
			                             optarg, c == 'b' ? &nb : &na)) != TOOL_EXIT_OK)
				return status;
			break;
		case 'l':
			if (strlen(optarg) > DOMAIN_LABEL_MAX)
				return usage_error("--label: at most %d characters",
				                   DOMAIN_LABEL_MAX);
			snprintf(info.label, sizeof(info.label), "%s", optarg);
			break;
		default:
			return usage_error("add-key: bad option%s", "");
		}
	}
	if (argc - optind != 1)
		return usage_error("add-key takes DIR%s", "");
	enum key_role role;
	if (role_name == NULL || key_role_parse(role_name, strlen(role_name), &role) != QD_OK ||
	    role == KEY_ROLE_ROOT)
		return usage_error("add-key: --role issuer, repository or update (a root is made "
		                   "by rotate-root)%s",
		                   "");
	if ((public_file == NULL) == (uri == NULL))
		return usage_error("add-key: one of --public FILE or --pkcs11 URI%s", "");
	if (na == 0)
		na = nb + 5 * 365 * DAY;
	if (na <= nb)
		return usage_error("add-key: --not-after must be after --not-before%s", "");
	const char *dir = argv[optind];
	struct domain *d = load_domain(dir, &status);
	if (d == NULL)
		return status;
	struct qd_errmsg why = {{0}}, inner = {{0}};
	struct trust_key key = {0};
	size_t index = 0;
	if (uri != NULL) {
		enum qd_err rc =
		        domain_register_pkcs11(d, role, uri, nb, na, info.label, &index, &why);
		if (rc == QD_OK)
			rc = domain_save(d, &why);
		if (rc == QD_OK) {
			char kid[2 * TRUST_KID_MAX + 1];
			hex_encode(d->keys[index].kid, d->keys[index].kid_len, kid, sizeof(kid));
			printf("%s %s %s added (secret in the token %s); publish to ship the new "
			       "key "
			       "set\n",
			       key_role_name(role), signature_alg_name(d->keys[index].alg), kid,
			       uri);
		}
		free(d);
		return rc == QD_OK ? TOOL_EXIT_OK : fail(rc, &why);
	}
	uint8_t *bytes = NULL;
	size_t len = 0;
	enum qd_err rc = tool_read_file(public_file, KEYFILE_MAX, &bytes, &len, &why);
	if (rc == QD_ERR_TOO_LARGE)
		qd_errmsg_set(&why, "%s: larger than a public key file (%d bytes)", public_file,
		              KEYFILE_MAX);
	if (rc == QD_OK && (rc = keyfile_parse_any(bytes, len, &key, &inner)) != QD_OK)
		qd_errmsg_set(&why, "%s: %s", public_file, inner.text);
	if (rc == QD_OK && key.role != 0 && key.role != role) {
		qd_errmsg_set(&why, "%s: a %s key, not a %s key", public_file,
		              key_role_name(key.role), key_role_name(role));
		rc = QD_ERR_FORMAT;
	}
	free(bytes);
	if (rc == QD_OK) {
		key.role = role;
		key.status = KEY_STATUS_ACTIVE;
		key.not_before = nb;
		key.not_after = na;
		rc = domain_register_key(d, &key, &info, &index, &why);
	}
	if (rc == QD_OK)
		rc = domain_save(d, &why);
	if (rc == QD_OK) {
		char kid[2 * TRUST_KID_MAX + 1];
		hex_encode(key.kid, key.kid_len, kid, sizeof(kid));
		printf("%s %s %s added (secret %s); publish to ship the new key set\n",
		       key_role_name(role), signature_alg_name(key.alg), kid,
		       domain_secret_name(info.secret));
	}
	free(d);
	return rc == QD_OK ? TOOL_EXIT_OK : fail(rc, &why);
}

static int cmd_keys(int argc, char **argv)
{
	if (argc != 2)
		return usage_error("keys takes DIR%s", "");
	int status;
	struct domain *d = load_domain(argv[1], &status);
	if (d == NULL)
		return status;
	printf("%-10s %-5s %-16s %-20s %-20s %-9s %-8s %s\n", "ROLE", "ALG", "KID", "NOT_BEFORE",
	       "NOT_AFTER", "SECRET", "STATE", "LABEL URI");
	for (size_t i = 0; i < d->n_keys; i++) {
		const struct trust_key *k = &d->keys[i];
		char kid[2 * TRUST_KID_MAX + 1], nb[32], na[32];
		hex_encode(k->kid, k->kid_len, kid, sizeof(kid));
		tool_format_time(k->not_before, nb, sizeof(nb));
		tool_format_time(k->not_after, na, sizeof(na));
		printf("%-10s %-5s %-16s %-20s %-20s %-9s %-8s %s%s%s\n", key_role_name(k->role),
		       signature_alg_name(k->alg), kid, nb, na,
		       domain_secret_name(d->info[i].secret), domain_key_state(d, i, tool_now()),
		       d->info[i].label,
		       d->info[i].label[0] != '\0' && d->info[i].uri[0] != '\0' ? " " : "",
		       d->info[i].uri);
	}
	free(d);
	return TOOL_EXIT_OK;
}

static int cmd_retire_key(int argc, char **argv)
{
	static const struct option opts[] = {{"after", required_argument, NULL, 'a'},
	                                     {NULL, 0, NULL, 0}};
	int64_t after = 0;
	bool have_after = false;
	int c, status;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != 'a')
			return usage_error("retire-key: bad option%s", "");
		if ((status = parse_time_opt("--after", optarg, &after)) != TOOL_EXIT_OK)
			return status;
		have_after = true;
	}
	if (argc - optind != 2 || !have_after)
		return usage_error("retire-key takes DIR KID --after TIME%s", "");
	const char *dir = argv[optind], *kid = argv[optind + 1];
	struct domain *d = load_domain(dir, &status);
	if (d == NULL)
		return status;
	struct qd_errmsg why = {{0}};
	enum qd_err rc = QD_OK;
	int i = domain_find_kid(d, kid);
	if (i < 0) {
		qd_errmsg_set(&why, "no key %s in %s", kid, dir);
		rc = QD_ERR_NOT_FOUND;
	} else if (d->keys[i].role == KEY_ROLE_ROOT) {
		qd_errmsg_set(&why, "key %s: the root key is replaced by rotate-root, not retired",
		              kid);
		rc = QD_ERR_ARG;
	} else if (after < d->keys[i].not_before || after >= d->keys[i].not_after) {
		char nb[32], na[32];
		tool_format_time(d->keys[i].not_before, nb, sizeof(nb));
		tool_format_time(d->keys[i].not_after, na, sizeof(na));
		qd_errmsg_set(&why, "key %s: --after must fall inside its window %s .. %s", kid, nb,
		              na);
		rc = QD_ERR_ARG;
	} else {
		d->keys[i].not_after = after;
		d->info[i].retired = true;
		rc = domain_save(d, &why);
	}
	free(d);
	if (rc != QD_OK)
		return fail(rc, &why);
	char when[32];
	tool_format_time(after, when, sizeof(when));
	printf("key %s retired after %s; publish to ship the new key set\n", kid, when);
	return TOOL_EXIT_OK;
}

static int cmd_revoke(int argc, char **argv)
{
	if (argc < 3)
		return usage_error("revoke takes DIR CLEARANCE_NO...%s", "");
	struct qd_errmsg why = {{0}};
	struct domain *d = malloc(sizeof(*d));
	if (d == NULL)
		return TOOL_EXIT_SOFTWARE;
	enum qd_err rc = domain_load(argv[1], d, &why);
	size_t n = (size_t)argc - 2, added = 0;
	uint8_t *hashes = malloc(n * TRUST_HASH_LEN);
	if (rc == QD_OK && hashes == NULL)
		rc = QD_ERR_NOMEM;
	for (size_t i = 0; rc == QD_OK && i < n; i++) {
		const char *no = argv[2 + i];
		struct credential probe = {0};
		snprintf(probe.clearance.clearance_no, sizeof(probe.clearance.clearance_no), "%s",
		         no);
		if (strlen(no) == 0 || strlen(no) > CREDENTIAL_CLEARANCE_NO_MAX ||
		    strspn(no, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-/") != strlen(no)) {
			qd_errmsg_set(&why, "\"%s\" is not a clearance number (A-Z 0-9 - /)", no);
			rc = QD_ERR_FORMAT;
			break;
		}
		credential_clearance_hash(no, hashes + i * TRUST_HASH_LEN);
	}
	if (rc == QD_OK)
		rc = domain_revocations_add(d, hashes, n, &added, &why);
	free(hashes);
	free(d);
	if (rc != QD_OK)
		return fail(rc, &why);
	printf("%zu added (%zu already revoked); publish to ship them\n", added, n - added);
	return TOOL_EXIT_OK;
}

static int cmd_revoke_key(int argc, char **argv)
{
	if (argc != 3)
		return usage_error("revoke-key takes DIR KID%s", "");
	struct qd_errmsg why = {{0}};
	struct domain *d = malloc(sizeof(*d));
	if (d == NULL)
		return TOOL_EXIT_SOFTWARE;
	enum qd_err rc = domain_load(argv[1], d, &why);
	if (rc == QD_OK) {
		int i = domain_find_kid(d, argv[2]);
		if (i < 0) {
			qd_errmsg_set(&why, "no key %s in %s", argv[2], argv[1]);
			rc = QD_ERR_NOT_FOUND;
		} else if (d->keys[i].role == KEY_ROLE_ROOT) {
			qd_errmsg_set(&why, "the root key is replaced by rotation, not revoked");
			rc = QD_ERR_ARG;
		} else {
			d->keys[i].status = KEY_STATUS_REVOKED;
			rc = domain_save(d, &why);
		}
	}
	free(d);
	if (rc != QD_OK)
		return fail(rc, &why);
	printf("key %s revoked; publish to ship the new key set\n", argv[2]);
	return TOOL_EXIT_OK;
}

static int cmd_revoke_range(int argc, char **argv)
{
	static const struct option opts[] = {{"reason", required_argument, NULL, 'r'},
	                                     {NULL, 0, NULL, 0}};
	struct domain_range add = {0};
	bool have_reason = false;
	int c, status;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != 'r' || strlen(optarg) == 0 || strlen(optarg) > RANGES_REASON_MAX)
			return usage_error("revoke-range: --reason TEXT (1 to %d characters)",
			                   RANGES_REASON_MAX);
		snprintf(add.reason, sizeof(add.reason), "%s", optarg);
		have_reason = true;
	}
	if (argc - optind != 4 || !have_reason)
		return usage_error("revoke-range takes DIR KID FROM TO --reason TEXT%s", "");
	const char *dir = argv[optind], *kid = argv[optind + 1];
	if ((status = parse_time_opt("FROM", argv[optind + 2], &add.r.from)) != TOOL_EXIT_OK ||
	    (status = parse_time_opt("TO", argv[optind + 3], &add.r.to)) != TOOL_EXIT_OK)
		return status;
	if (add.r.to <= add.r.from)
		return usage_error("revoke-range: TO must be after FROM%s", "");
	struct domain *d = load_domain(dir, &status);
	if (d == NULL)
		return status;
	struct qd_errmsg why = {{0}};
	enum qd_err rc = QD_OK;
	int i = domain_find_kid(d, kid);
	if (i < 0) {
		qd_errmsg_set(&why, "no key %s in %s", kid, dir);
		rc = QD_ERR_NOT_FOUND;
	} else if (d->keys[i].role != KEY_ROLE_ISSUER) {
		qd_errmsg_set(&why, "key %s is a %s key: only issuer keys sign cards", kid,
		              key_role_name(d->keys[i].role));
		rc = QD_ERR_ARG;
	}
	struct trust_range result;
	size_t merged = 0;
	if (rc == QD_OK) {
		memcpy(add.r.kid, d->keys[i].kid, d->keys[i].kid_len);
		add.r.kid_len = d->keys[i].kid_len;
		rc = ranges_add(d, &add, &result, &merged, &why);
	}
	free(d);
	if (rc != QD_OK)
		return fail(rc, &why);
	char from[32], to[32];
	tool_format_time(result.from, from, sizeof(from));
	tool_format_time(result.to, to, sizeof(to));
	printf("cards of key %s issued in [%s, %s) revoked%s; publish to ship it\n", kid, from, to,
	       merged > 0 ? " (merged with the window it touches)" : "");
	return TOOL_EXIT_OK;
}

static int cmd_policy(int argc, char **argv)
{
	if (argc != 3)
		return usage_error("policy takes DIR SOURCE.json%s", "");
	struct qd_errmsg why = {{0}};
	struct domain *d = malloc(sizeof(*d));
	struct policy *policy = malloc(sizeof(*policy));
	enum qd_err rc = d != NULL && policy != NULL ? domain_load(argv[1], d, &why) : QD_ERR_NOMEM;
	if (rc == QD_OK)
		rc = policy_source_load(argv[2], policy, &why);
	size_t len = 0;
	if (rc == QD_OK) {
		struct qd_errmsg inner = {{0}};
		rc = domain_policy_set(d, policy, &len, &inner);
		if (rc != QD_OK)
			qd_errmsg_set(&why, "%s: %s", argv[2], inner.text);
	}
	if (rc == QD_OK) {
		printf("policy: %zu rule%s, %zu bytes", policy->n_rules,
		       policy->n_rules == 1 ? "" : "s", len);
		for (size_t i = 0; i < policy->n_rules; i++)
			printf("%s%s", i == 0 ? ": " : ", ", policy->rules[i].id);
		printf("\n");
		if (policy->note[0] != '\0')
			printf("note: %s\n", policy->note);
		printf("publish to sign and ship it\n");
	}
	free(policy);
	free(d);
	return rc == QD_OK ? TOOL_EXIT_OK : fail(rc, &why);
}

static int cmd_airports(int argc, char **argv)
{
	if (argc != 3)
		return usage_error("airports takes DIR TABLE.txt%s", "");
	struct qd_errmsg why = {{0}};
	struct domain *d = malloc(sizeof(*d));
	uint8_t *text = NULL;
	size_t len = 0, n = 0;
	enum qd_err rc = d != NULL ? domain_load(argv[1], d, &why) : QD_ERR_NOMEM;
	if (rc == QD_OK)
		rc = tool_read_file(argv[2], AIRPORT_TEXT_MAX, &text, &len, &why);
	if (rc == QD_OK) {
		struct qd_errmsg inner = {{0}};
		rc = domain_airports_set(d, (const char *)text, len, &n, &inner);
		if (rc != QD_OK)
			qd_errmsg_set(&why, "%s: %s", argv[2], inner.text);
	}
	if (rc == QD_OK)
		printf("airports: %zu, publish to sign and ship them\n", n);
	free(text);
	free(d);
	return rc == QD_OK ? TOOL_EXIT_OK : fail(rc, &why);
}

/* A public key as given: a file holding it, else the argument itself (hex). */
static enum qd_err read_public_key(const char *arg, struct trust_key *key, struct qd_errmsg *why)
{
	uint8_t *data = NULL;
	size_t len = 0;
	struct qd_errmsg inner = {{0}};
	enum qd_err rc = tool_read_file(arg, KEYFILE_MAX, &data, &len, &inner);
	if (rc == QD_ERR_NOT_FOUND)
		rc = keyfile_parse_any((const uint8_t *)arg, strlen(arg), key, &inner);
	else if (rc == QD_OK)
		rc = keyfile_parse_any(data, len, key, &inner);
	free(data);
	if (rc != QD_OK)
		qd_errmsg_set(why, "%s: %s", arg, inner.text);
	return rc;
}

static int cmd_desk(int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : "";
	bool add = strcmp(sub, "add") == 0, retire = strcmp(sub, "retire") == 0,
	     list = strcmp(sub, "list") == 0;
	if (!(add && argc == 5) && !(retire && argc == 4) && !(list && argc == 3))
		return usage_error("desk takes add DIR DESK_ID PUBKEY, retire DIR DESK_ID or list "
		                   "DIR%s",
		                   "");
	struct qd_errmsg why = {{0}};
	struct domain *d = malloc(sizeof(*d));
	struct desk_list *desks = malloc(sizeof(*desks));
	enum qd_err rc = d != NULL && desks != NULL ? domain_load(argv[2], d, &why) : QD_ERR_NOMEM;
	if (rc == QD_OK && add) {
		struct trust_key key;
		rc = read_public_key(argv[4], &key, &why);
		if (rc == QD_OK && key.alg != SIGNATURE_ALG_EDDSA) {
			qd_errmsg_set(&why, "%s: a %s key; desks sign with Ed25519", argv[4],
			              signature_alg_name(key.alg));
			rc = QD_ERR_FORMAT;
		}
		if (rc == QD_OK)
			rc = domain_desk_add(d, argv[3], key.public_key, key.public_len, tool_now(),
			                     &why);
		if (rc == QD_OK)
			printf("desk %s added, publish to sign and ship the desk list\n", argv[3]);
	} else if (rc == QD_OK && retire) {
		rc = domain_desk_retire(d, argv[3], tool_now(), &why);
		if (rc == QD_OK)
			printf("desk %s retired, publish to sign and ship the desk list\n",
			       argv[3]);
	} else if (rc == QD_OK) {
		rc = domain_desks_load(d, desks, &why);
		for (size_t i = 0; rc == QD_OK && i < desks->n; i++) {
			const struct desk_entry *e = &desks->rows[i];
			char pub[2 * sizeof(e->public_key) + 1], added[32], retired[32] = "";
			hex_encode(e->public_key, sizeof(e->public_key), pub, sizeof(pub));
			tool_format_time(e->added_at, added, sizeof(added));
			if (e->retired_at != 0)
				tool_format_time(e->retired_at, retired, sizeof(retired));
			printf("%-16s %-8s added %s%s%s  %s\n", e->id,
			       e->retired_at != 0 ? "retired" : "active", added,
			       e->retired_at != 0 ? ", retired " : "", retired, pub);
		}
	}
	free(desks);
	free(d);
	return rc == QD_OK ? TOOL_EXIT_OK : fail(rc, &why);
}

static int cmd_ingest(int argc, char **argv)
{
	if (argc != 3)
		return usage_error("ingest takes DIR SRC%s", "");
	struct qd_errmsg why = {{0}};
	struct domain *d = malloc(sizeof(*d));
	enum qd_err rc = d != NULL ? domain_load(argv[1], d, &why) : QD_ERR_NOMEM;
	struct ingest_result res = {0};
	if (rc == QD_OK) {
		char db[4096];
		domain_path(d, "fleet.db", db, sizeof(db));
		rc = ingest_run(d, argv[2], db, tool_now(), stderr, &res, &why);
	}
	free(d);
	if (rc != QD_OK)
		return fail(rc, &why);
	printf("ingest: %zu batch%s, %zu row%s loaded; %zu loaded before; %zu refused\n",
	       res.batches, res.batches == 1 ? "" : "es", res.rows, res.rows == 1 ? "" : "s",
	       res.known, res.problems);
	return res.problems == 0 ? TOOL_EXIT_OK : TOOL_EXIT_DATA;
}

static void print_scan(void *ctx, const struct fleetdb_scan *sc)
{
	(void)ctx;
	char when[32];
	tool_format_time(sc->time_us / 1000000, when, sizeof(when));
	printf("%s  desk %s  %s %s  (%s, batch %llu row %lld)\n", when, sc->desk,
	       sc->verdict != NULL ? sc->verdict : "event", sc->reason != NULL ? sc->reason : "",
	       sc->source != NULL ? sc->source : "-", (unsigned long long)sc->seq,
	       (long long)sc->row_id);
}

static int cmd_audit(int argc, char **argv)
{
	if (argc != 6 || strcmp(argv[1], "query") != 0 || strcmp(argv[4], "--audit-key") != 0)
		return usage_error("audit takes query DIR CLEARANCE_NO --audit-key FILE%s", "");
	struct qd_errmsg why = {{0}};
	struct domain *d = malloc(sizeof(*d));
	enum qd_err rc = d != NULL ? domain_load(argv[2], d, &why) : QD_ERR_NOMEM;
	uint8_t *text = NULL, key[CREDENTIAL_AUDIT_KEY_LEN], hash[TRUST_HASH_LEN];
	size_t len = 0, count = 0;
	if (rc == QD_OK)
		rc = tool_read_file(argv[5], 256, &text, &len, &why);
	if (rc == QD_OK) {
		struct qd_errmsg inner = {{0}};
		rc = audit_key_parse((const char *)text, len, key, &inner);
		if (rc != QD_OK)
			qd_errmsg_set(&why, "%s: %s", argv[5], inner.text);
	}
	free(text);
	struct fleetdb *db = NULL;
	if (rc == QD_OK) {
		credential_pseudonym(key, argv[3], hash);
		sodium_memzero(key, sizeof(key));
		char path[4096];
		domain_path(d, "fleet.db", path, sizeof(path));
		rc = fleetdb_open(path, &db, &why);
	}
	if (rc == QD_OK)
		rc = fleetdb_scans(db, hash, print_scan, NULL, &count, &why);
	fleetdb_close(db);
	free(d);
	if (rc != QD_OK)
		return fail(rc, &why);
	if (count == 0)
		printf("clearance %s: no scan in the fleet database\n", argv[3]);
	return count > 0 ? TOOL_EXIT_OK : 1;
}

/* The cards gathered for the used list, in the database's order (ascending pseudonym). */
struct used_gather {
	struct used_list list;
	size_t cap;
	struct qd_errmsg *why;
};

static enum qd_err gather_used(void *ctx, const uint8_t *pseudonym, int64_t time_us,
                               const char *desk)
{
	struct used_gather *g = ctx;
	if (desk == NULL || !desk_id_valid(desk, strlen(desk)) || time_us < 0) {
		qd_errmsg_set(g->why,
		              "fleet.db: a green row with desk \"%s\" or time %lld: not a "
		              "desk id or a time",
		              desk != NULL ? desk : "", (long long)time_us);
		return QD_ERR_FORMAT;
	}
	if (g->list.n == USEDLIST_MAX) {
		qd_errmsg_set(g->why, "more than %d cards passed: more than a used list holds",
		              USEDLIST_MAX);
		return QD_ERR_TOO_LARGE;
	}
	if (g->list.n == g->cap) {
		size_t cap = g->cap ? g->cap * 2 : 1024;
		struct used_entry *rows = realloc(g->list.rows, cap * sizeof(*rows));
		if (rows == NULL)
			return QD_ERR_NOMEM;
		g->list.rows = rows;
		g->cap = cap;
	}
	struct used_entry *e = &g->list.rows[g->list.n++];
	memset(e, 0, sizeof(*e));
	memcpy(e->pseudonym, pseudonym, TRUST_HASH_LEN);
	e->first_at = time_us / 1000000;
	snprintf(e->desk, sizeof(e->desk), "%s", desk);
	return QD_OK;
}

/* used publish DIR: DIR/used.cbor from DIR/fleet.db's first greens; the next publish signs it. */
static int cmd_used(int argc, char **argv)
{
	if (argc != 3 || strcmp(argv[1], "publish") != 0)
		return usage_error("used takes publish DIR%s", "");
	struct qd_errmsg why = {{0}};
	struct domain *d = malloc(sizeof(*d));
	enum qd_err rc = d != NULL ? domain_load(argv[2], d, &why) : QD_ERR_NOMEM;
	struct fleetdb *db = NULL;
	struct used_gather g = {.why = &why};
	char path[4096];
	if (rc == QD_OK) {
		domain_path(d, "fleet.db", path, sizeof(path));
		rc = fleetdb_open(path, &db, &why);
	}
	if (rc == QD_OK)
		rc = fleetdb_first_greens(db, tool_now(), gather_used, &g, &why);
	fleetdb_close(db);
	uint8_t *body = NULL;
	size_t len = 0, n = 0;
	if (rc == QD_OK) {
		len = usedlist_encode(&g.list, NULL, 0);
		body = malloc(len);
		rc = body != NULL ? QD_OK : QD_ERR_NOMEM;
	}
	/* What desks would refuse is never written. */
	if (rc == QD_OK && usedlist_encode(&g.list, body, len) == len &&
	    (rc = usedlist_check_body(body, len, &n, &why)) == QD_OK) {
		domain_path(d, "used.cbor", path, sizeof(path));
		rc = tool_write_file_atomic(path, body, len, 0644, &why);
	}
	if (rc == QD_OK)
		printf("used: %zu card%s passed in the fleet; publish to sign and ship the list\n",
		       n, n == 1 ? "" : "s");
	free(body);
	free(g.list.rows);
	free(d);
	return rc == QD_OK ? TOOL_EXIT_OK : fail(rc, &why);
}

static int cmd_publish(int argc, char **argv)
{
	long days[DOMAIN_DOC_TYPES] = {0};
	domain_publish_days_defaults(days);
	static const struct option opts[] = {{"keyset-days", required_argument, NULL, 1},
	                                     {"revocations-days", required_argument, NULL, 2},
	                                     {"policy-days", required_argument, NULL, 3},
	                                     {"timestamp-days", required_argument, NULL, 4},
	                                     {NULL, 0, NULL, 0}};
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c < 1 || c > 4)
			return usage_error("publish: bad option%s", "");
		char *end;
		days[c] = strtol(optarg, &end, 10);
		if (*end != '\0' || days[c] < 1 || days[c] > 3650)
			return usage_error("publish: days must be 1..3650, not %s", optarg);
	}
	if (argc - optind != 2)
		return usage_error("publish takes DIR OUTDIR%s", "");
	const char *dir = argv[optind], *outdir = argv[optind + 1];
	struct qd_errmsg why = {{0}};
	struct domain *d = malloc(sizeof(*d));
	enum qd_err rc = d ? domain_load(dir, d, &why) : QD_ERR_NOMEM;
	struct domain_publication pub;
	if (rc == QD_OK)
		rc = domain_publish(d, outdir, days, tool_now(), &pub, &why);
	free(d);
	if (rc != QD_OK)
		return fail(rc, &why);
	for (size_t i = 0; i < pub.count; i++)
		printf("%-16s version %llu, expires in %ld days\n", pub.files[i].name,
		       (unsigned long long)pub.files[i].version, pub.files[i].days);
	return TOOL_EXIT_OK;
}

static int cmd_rotate_root(int argc, char **argv)
{
	static const struct option opts[] = {{"pkcs11", required_argument, NULL, 'u'},
	                                     {NULL, 0, NULL, 0}};
	const char *uri = NULL;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != 'u')
			return usage_error("rotate-root: bad option%s", "");
		uri = optarg;
	}
	if (argc - optind != 1)
		return usage_error("rotate-root takes DIR [--pkcs11 URI]%s", "");
	struct qd_errmsg why = {{0}};
	struct domain *d = malloc(sizeof(*d));
	enum qd_err rc = d ? domain_load(argv[optind], d, &why) : QD_ERR_NOMEM;
	uint64_t version = 0;
	if (rc == QD_OK)
		rc = domain_rotate_root(d, tool_now(), uri, &version, &why);
	free(d);
	if (rc != QD_OK)
		return fail(rc, &why);
	printf("root version %llu made; publish to ship it\n", (unsigned long long)version);
	return TOOL_EXIT_OK;
}

/* --- USB sticks ------------------------------------------------------- */

/* --desk, --id, --days shared by bundle and export-request. */
static int bundle_common(struct bundle *b, int c, const char *arg)
{
	if (c == 'd') {
		if (strcmp(arg, "any") != 0 && !bundle_name_ok(arg, strlen(arg), BUNDLE_DESK_MAX))
			return usage_error("--desk %s: not a desk id", arg);
		snprintf(b->desk, sizeof(b->desk), "%s", arg);
	} else if (c == 'i') {
		if (!bundle_name_ok(arg, strlen(arg), BUNDLE_ID_MAX))
			return usage_error("--id %s: 1 to 64 of A-Z a-z 0-9 . _ -", arg);
		snprintf(b->id, sizeof(b->id), "%s", arg);
	} else if (c == 'n') {
		char *end;
		long days = strtol(arg, &end, 10);
		if (*end != '\0' || days < 1 || days > 3650)
			return usage_error("--days must be 1..3650, not %s", arg);
		b->expires_at = b->created_at + days * DAY;
	}
	return TOOL_EXIT_OK;
}

static void bundle_defaults(struct bundle *b, enum bundle_kind kind)
{
	memset(b, 0, sizeof(*b));
	b->kind = kind;
	b->created_at = tool_now();
	b->expires_at = b->created_at + 30 * DAY;
	snprintf(b->desk, sizeof(b->desk), "any");
	char when[32];
	tool_format_time(b->created_at, when, sizeof(when));
	/* "2026-11-23T10:15:00Z" -> an id that sorts by time */
	snprintf(b->id, sizeof(b->id), "%s-%.4s%.2s%.2sT%.2s%.2s%.2s",
	         kind == BUNDLE_UPDATE ? "bundle" : "export", when, when + 5, when + 8, when + 11,
	         when + 14, when + 17);
}

static int cmd_bundle(int argc, char **argv, enum bundle_kind kind)
{
	static const struct option opts[] = {
	        {"docs", required_argument, NULL, 'f'}, {"set", required_argument, NULL, 's'},
	        {"desk", required_argument, NULL, 'd'}, {"id", required_argument, NULL, 'i'},
	        {"days", required_argument, NULL, 'n'}, {"root", no_argument, NULL, 'r'},
	        {"key", required_argument, NULL, 'k'},  {NULL, 0, NULL, 0}};
	static struct bundle b;
	const char *kid = NULL;
	bundle_defaults(&b, kind);
	const char *docs[BUNDLE_DOCS_MAX];
	size_t n_docs = 0;
	bool use_root = false;
	int c, status;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (kind == BUNDLE_EXPORT_REQUEST && (c == 'f' || c == 's' || c == 'r'))
			return usage_error("export-request takes --desk, --id and --days only%s",
			                   "");
		switch (c) {
		case 'f':
			/* --docs A B C: every following argument that is not an option */
			optind--;
			while (optind < argc && argv[optind][0] != '-') {
				if (n_docs == BUNDLE_DOCS_MAX)
					return usage_error("at most %d documents", BUNDLE_DOCS_MAX);
				docs[n_docs++] = argv[optind++];
			}
			break;
		case 's': {
			const char *eq = strchr(optarg, '=');
			if (eq == NULL || b.n_settings == BUNDLE_SETTINGS_MAX ||
			    (size_t)(eq - optarg) > BUNDLE_NAME_MAX ||
			    strlen(eq + 1) > BUNDLE_VALUE_MAX)
				return usage_error("--set %s: expected SECTION.KEY=VALUE", optarg);
			struct bundle_setting *set = &b.settings[b.n_settings++];
			snprintf(set->name, sizeof(set->name), "%.*s", (int)(eq - optarg), optarg);
			snprintf(set->value, sizeof(set->value), "%s", eq + 1);
			break;
		}
		case 'r':
			use_root = true;
			break;
		case 'k':
			kid = optarg;
			break;
		case 'd':
		case 'i':
		case 'n':
			if ((status = bundle_common(&b, c, optarg)) != TOOL_EXIT_OK)
				return status;
			break;
		default:
			return usage_error("%s: bad option", argv[0]);
		}
	}
	if (argc - optind != 2)
		return usage_error("%s takes DIR OUT", argv[0]);
	const char *dir = argv[optind], *out = argv[optind + 1];
	struct qd_errmsg why = {{0}};
	uint8_t *bytes[BUNDLE_DOCS_MAX] = {0};
	enum qd_err rc = QD_OK;
	for (size_t i = 0; i < n_docs && rc == QD_OK; i++) {
		rc = tool_read_file(docs[i], IMPORT_FILE_MAX_BYTES, &bytes[i], &b.docs[i].len,
		                    &why);
		b.docs[i].bytes = bytes[i];
	}
	b.n_docs = n_docs;
	struct domain *d = malloc(sizeof(*d));
	if (rc == QD_OK)
		rc = d != NULL ? domain_load(dir, d, &why) : QD_ERR_NOMEM;
	if (rc == QD_OK)
		rc = usb_sign_bundle(d, &b, use_root, kid, tool_now(), out, &why);
	free(d);
	for (size_t i = 0; i < n_docs; i++)
		free(bytes[i]);
	if (rc != QD_OK)
		return fail(rc, &why);
	printf("%s %s for desk %s: %zu document%s, %zu setting%s -> %s\n", bundle_kind_name(kind),
	       b.id, b.desk, b.n_docs, b.n_docs == 1 ? "" : "s", b.n_settings,
	       b.n_settings == 1 ? "" : "s", out);
	return TOOL_EXIT_OK;
}

static int cmd_demo(int argc, char **argv)
{
	if (argc != 2)
		return usage_error("demo needs DIR%s", "");
	bool made = false;
	struct qd_errmsg why = {{0}};
	enum qd_err rc = demo_prepare(argv[1], &made, &why);
	if (rc != QD_OK)
		return fail(rc, &why);
	if (made)
		printf("demo trust data and sample cards made in %s (cards in %s/cards)\n", argv[1],
		       argv[1]);
	else
		printf("%s/desk.db exists: the demo data is there already\n", argv[1]);
	return TOOL_EXIT_OK;
}

/* A length-counted text as JSON (null when absent). */
static json_t *json_text(const char *t, size_t n)
{
	return t != NULL ? json_stringn(t, n) : json_null();
}

static json_t *json_hex(const uint8_t *b, size_t n)
{
	if (b == NULL)
		return json_null();
	char hex[2 * 32 + 1];
	hex_encode(b, n, hex, sizeof(hex));
	return json_string(hex);
}

/* An opened export of signed batches: its header to stderr, its rows to stdout (JSON lines). */
static int print_batches(const struct usb_export *e)
{
	const struct auditexport *x = &e->batches;
	json_t *seqs = json_array();
	for (size_t i = 0; i < x->n_batches; i++)
		json_array_append_new(seqs, json_integer((json_int_t)x->batches[i].sequence));
	json_t *head =
	        json_pack("{s:s, s:s, s:s, s:I, s:o, s:I}", "format", AUDITEXPORT_FORMAT, "desk",
	                  x->desk, "request", x->request, "created_at", (json_int_t)x->created_at,
	                  "batches", seqs, "rows", (json_int_t)e->rows);
	char *text = head != NULL ? json_dumps(head, JSON_COMPACT) : NULL;
	json_decref(head);
	if (text == NULL)
		return TOOL_EXIT_SOFTWARE;
	fprintf(stderr, "%s\n", text);
	free(text);
	for (size_t i = 0; i < x->n_batches; i++) {
		struct auditbatch b;
		struct qd_errmsg why = {{0}};
		if (auditbatch_parse(x->batches[i].bytes, x->batches[i].len, &b, &why) != QD_OK)
			return TOOL_EXIT_SOFTWARE; /* parsed by usb_open_export: cannot fail */
		size_t at = 0;
		struct auditbatch_row r;
		while (auditbatch_row_next(&b, &at, &r)) {
			json_t *o = json_pack("{s:I, s:I, s:I, s:o, s:o, s:o, s:o, s:o, s:I, s:I}",
			                      "sequence", (json_int_t)b.sequence, "id",
			                      (json_int_t)r.id, "time_us", (json_int_t)r.time_us,
			                      "source", json_text(r.source, r.source_len),
			                      "verdict", json_text(r.verdict, r.verdict_len),
			                      "reason", json_text(r.reason, r.reason_len), "kid",
			                      json_hex(r.kid, r.kid_len), "clearance_hash",
			                      json_hex(r.clearance_hash, TRUST_HASH_LEN),
			                      "latency_us", (json_int_t)r.latency_us,
			                      "card_expires_at", (json_int_t)r.card_expires_at);
			char *line =
			        o != NULL ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
			json_decref(o);
			if (line == NULL)
				return TOOL_EXIT_SOFTWARE;
			puts(line);
			free(line);
		}
	}
	return TOOL_EXIT_OK;
}

static int cmd_open_export(int argc, char **argv)
{
	const char *outdir = NULL;
	int n_files = 0;
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--batches") == 0 && i + 1 < argc)
			outdir = argv[++i];
		else if (argv[i][0] == '-')
			return usage_error("open-export: unknown option %s", argv[i]);
		else
			argv[2 + n_files++] = argv[i];
	}
	if (argc < 2 || n_files < 1 || (outdir == NULL && n_files != 1))
		return usage_error("open-export takes DIR FILE, or DIR FILE... --batches OUTDIR%s",
		                   "");
	struct qd_errmsg why = {{0}};
	struct domain *d = malloc(sizeof(*d));
	enum qd_err rc = d != NULL ? domain_load(argv[1], d, &why) : QD_ERR_NOMEM;
	if (rc != QD_OK) {
		free(d);
		return fail(rc, &why);
	}
	int status = TOOL_EXIT_OK;
	for (int i = 0; i < n_files; i++) {
		struct usb_export e;
		rc = usb_open_export(d, argv[2 + i], &e, &why);
		if (rc != QD_OK) {
			status = fail(rc, &why);
			continue;
		}
		if (outdir != NULL) {
			size_t written = 0, same = 0;
			rc = usb_export_unpack(&e, outdir, &written, &same, &why);
			if (rc != QD_OK)
				status = fail(rc, &why);
			else
				printf("%s: desk %s, batches %llu..%llu (%zu rows): %zu written, "
				       "%zu "
				       "there already\n",
				       argv[2 + i], e.batches.desk,
				       (unsigned long long)e.batches.batches[0].sequence,
				       (unsigned long long)e.batches
				               .batches[e.batches.n_batches - 1]
				               .sequence,
				       e.rows, written, same);
		} else if (e.lines) {
			/* The first format: the header line to stderr, the rows to stdout. */
			char *text = (char *)e.plain;
			char *nl = strchr(text, '\n');
			fprintf(stderr, "%.*s\n", (int)(nl - text), text);
			fputs(nl + 1, stdout);
		} else {
			status = print_batches(&e);
		}
		usb_export_free(&e);
	}
	free(d);
	return status;
}

int main(int argc, char **argv)
{
	log_init("qrdesk-issuer", LOG_STYLE_PLAIN, LOG_INFO);
	int i = 1;
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			fputs(usage_text, stdout);
			return TOOL_EXIT_OK;
		}
		if (strcmp(argv[i], "--pin-file") == 0 && i + 1 < argc) {
			pkcs11_set_pin_file(argv[++i]);
			continue;
		}
		if (strcmp(argv[i], "--now") == 0 && i + 1 < argc) {
			int64_t t;
			if (tool_parse_time(argv[++i], &t) != QD_OK)
				return usage_error("--now %s: not a time", argv[i]);
			tool_set_now(t);
			continue;
		}
		return usage_error("unknown option %s", argv[i]);
	}
	if (i >= argc)
		return usage_error("no command given%s", "");
	if (signature_init() != QD_OK) {
		log_err("cannot initialise the crypto library");
		return TOOL_EXIT_SOFTWARE;
	}
	const char *cmd = argv[i];
	int sub_argc = argc - i;
	char **sub_argv = argv + i;
	for (int j = 1; j < sub_argc; j++)
		if (strcmp(sub_argv[j], "--help") == 0) {
			fputs(usage_text, stdout);
			return TOOL_EXIT_OK;
		}
	if (strcmp(cmd, "init") == 0)
		return cmd_init(sub_argc, sub_argv);
	if (strcmp(cmd, "sign") == 0)
		return cmd_sign(sub_argc, sub_argv);
	if (strcmp(cmd, "revoke") == 0)
		return cmd_revoke(sub_argc, sub_argv);
	if (strcmp(cmd, "revoke-range") == 0)
		return cmd_revoke_range(sub_argc, sub_argv);
	if (strcmp(cmd, "add-key") == 0)
		return cmd_add_key(sub_argc, sub_argv);
	if (strcmp(cmd, "keys") == 0)
		return cmd_keys(sub_argc, sub_argv);
	if (strcmp(cmd, "retire-key") == 0)
		return cmd_retire_key(sub_argc, sub_argv);
	if (strcmp(cmd, "revoke-key") == 0)
		return cmd_revoke_key(sub_argc, sub_argv);
	if (strcmp(cmd, "policy") == 0)
		return cmd_policy(sub_argc, sub_argv);
	if (strcmp(cmd, "airports") == 0)
		return cmd_airports(sub_argc, sub_argv);
	if (strcmp(cmd, "desk") == 0)
		return cmd_desk(sub_argc, sub_argv);
	if (strcmp(cmd, "ingest") == 0)
		return cmd_ingest(sub_argc, sub_argv);
	if (strcmp(cmd, "audit") == 0)
		return cmd_audit(sub_argc, sub_argv);
	if (strcmp(cmd, "used") == 0)
		return cmd_used(sub_argc, sub_argv);
	if (strcmp(cmd, "publish") == 0)
		return cmd_publish(sub_argc, sub_argv);
	if (strcmp(cmd, "rotate-root") == 0)
		return cmd_rotate_root(sub_argc, sub_argv);
	if (strcmp(cmd, "bundle") == 0)
		return cmd_bundle(sub_argc, sub_argv, BUNDLE_UPDATE);
	if (strcmp(cmd, "export-request") == 0)
		return cmd_bundle(sub_argc, sub_argv, BUNDLE_EXPORT_REQUEST);
	if (strcmp(cmd, "open-export") == 0)
		return cmd_open_export(sub_argc, sub_argv);
	if (strcmp(cmd, "demo") == 0)
		return cmd_demo(sub_argc, sub_argv);
	return usage_error("unknown command %s", cmd);
}

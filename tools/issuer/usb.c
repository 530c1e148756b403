/* SPDX-License-Identifier: Apache-2.0 */
/* usb.c - update bundles, export requests and sealed exports for the back office (usb.h). */
#include "usb.h"

#include <errno.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "qrdesk/auditexport.h"
#include "qrdesk/cose.h"
#include "qrdesk/hex.h"
#include "qrdesk/usb_update.h"
#include "toolutil.h"

#define EXPORT_MAX (512u * 1024u * 1024u)

/* Read a hex file of exactly n bytes. */
static enum qd_err read_hex(const char *path, uint8_t *out, size_t n, struct qd_errmsg *why)
{
	uint8_t *text;
	size_t len, got = 0;
	enum qd_err rc = tool_read_file(path, 4 * n + 16, &text, &len, why);
	if (rc != QD_OK)
		return rc;
	while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r'))
		len--;
	rc = hex_decode((const char *)text, len, out, n, &got);
	sodium_memzero(text, len);
	free(text);
	if (rc != QD_OK || got != n) {
		qd_errmsg_set(why, "%s: expected %zu bytes in hex", path, n);
		return QD_ERR_FORMAT;
	}
	return QD_OK;
}

static enum qd_err write_hex(const char *path, const uint8_t *data, size_t n, mode_t mode,
                             struct qd_errmsg *why)
{
	char hex[2 * 64 + 2];
	hex_encode(data, n, hex, sizeof(hex));
	size_t len = strlen(hex);
	hex[len++] = '\n';
	enum qd_err rc = tool_write_file_atomic(path, hex, len, mode, why);
	sodium_memzero(hex, sizeof(hex));
	return rc;
}

/* The export key pair; made on first use. */
static enum qd_err export_keys(const struct domain *d, bool create, uint8_t pub[32],
                               uint8_t secret[32], struct qd_errmsg *why)
{
	char pub_path[4096], key_path[4096];
	domain_path(d, "export.pub", pub_path, sizeof(pub_path));
	domain_path(d, "keys/export.key", key_path, sizeof(key_path));
	struct stat st;
	if (stat(key_path, &st) != 0) {
		if (!create) {
			qd_errmsg_set(why, "%s: no export key (make an export request first)",
			              key_path);
			return QD_ERR_NOT_FOUND;
		}
		crypto_box_keypair(pub, secret);
		enum qd_err rc = write_hex(key_path, secret, 32, 0600, why);
		if (rc == QD_OK)
			rc = write_hex(pub_path, pub, 32, 0644, why);
		return rc;
	}
	enum qd_err rc = read_hex(key_path, secret, 32, why);
	if (rc == QD_OK)
		rc = read_hex(pub_path, pub, 32, why);
	uint8_t check[32];
	if (rc == QD_OK &&
	    (crypto_scalarmult_base(check, secret) != 0 || sodium_memcmp(check, pub, 32) != 0)) {
		qd_errmsg_set(why, "%s does not match %s", pub_path, key_path);
		rc = QD_ERR_FORMAT;
	}
	return rc;
}

enum qd_err usb_sign_bundle(const struct domain *d, struct bundle *b, bool use_root,
                            const char *kid_hex, int64_t now, const char *out,
                            struct qd_errmsg *why)
{
	if (b->kind == BUNDLE_EXPORT_REQUEST) {
		uint8_t secret[32];
		enum qd_err rc = export_keys(d, true, b->recipient, secret, why);
		sodium_memzero(secret, sizeof(secret));
		if (rc != QD_OK)
			return rc;
	}
	enum key_role role = use_root ? KEY_ROLE_ROOT : KEY_ROLE_UPDATE;
	int index =
	        kid_hex != NULL ? domain_find_kid(d, kid_hex) : domain_pick_key(d, role, 0, now);
	if (index < 0 && kid_hex != NULL) {
		qd_errmsg_set(why, "no key %s in this domain", kid_hex);
		return QD_ERR_NOT_FOUND;
	}
	if (index < 0) {
		qd_errmsg_set(why, "no active %s key to sign with", key_role_name(role));
		return QD_ERR_NOT_FOUND;
	}
	struct cbor_writer w;
	cbor_writer_init(&w, NULL, 0);
	bundle_encode(&w, b);
	size_t payload_len = w.len;
	uint8_t *payload = malloc(payload_len > 0 ? payload_len : 1);
	const struct trust_key *k = &d->keys[index];
	size_t cap = cose_sign1_encoded_len(k->kid_len, payload_len);
	uint8_t *cose = malloc(cap);
	enum qd_err rc = payload != NULL && cose != NULL ? QD_OK : QD_ERR_NOMEM;
	if (rc == QD_OK) {
		cbor_writer_init(&w, payload, payload_len);
		bundle_encode(&w, b);
		/* The desk decodes exactly what was signed: check it here first. */
		struct bundle *back = malloc(sizeof(*back));
		rc = back == NULL ? QD_ERR_NOMEM : bundle_decode(payload, payload_len, back, why);
		free(back);
	}
	size_t len = 0;
	if (rc == QD_OK)
		rc = domain_cose_sign(d, (size_t)index, payload, payload_len, cose, cap, &len, why);
	if (rc == QD_OK)
		rc = tool_write_file_atomic(out, cose, len, 0644, why);
	free(cose);
	free(payload);
	return rc;
}

/* The first format (JSON lines): the header, the row count, ids strictly ascending. */
static enum qd_err check_lines(char *text, size_t len, size_t *rows, struct qd_errmsg *why)
{
	char *nl = memchr(text, '\n', len);
	if (nl == NULL) {
		qd_errmsg_set(why, "no header line");
		return QD_ERR_FORMAT;
	}
	json_error_t jerr;
	json_t *head = json_loadb(text, (size_t)(nl - text), JSON_REJECT_DUPLICATES, &jerr);
	const char *format = json_string_value(json_object_get(head, "format"));
	json_int_t want = json_integer_value(json_object_get(head, "rows"));
	bool ok = format != NULL && strcmp(format, USB_EXPORT_FORMAT_1) == 0;
	json_decref(head);
	if (!ok) {
		qd_errmsg_set(why, "not a %s file", USB_EXPORT_FORMAT_1);
		return QD_ERR_FORMAT;
	}
	size_t n = 0;
	json_int_t last = 0;
	for (char *p = nl + 1; p < text + len;) {
		char *end = memchr(p, '\n', (size_t)(text + len - p));
		if (end == NULL) {
			qd_errmsg_set(why, "row %zu is cut short", n + 1);
			return QD_ERR_FORMAT;
		}
		json_t *row = json_loadb(p, (size_t)(end - p), JSON_REJECT_DUPLICATES, &jerr);
		json_int_t id = json_integer_value(json_object_get(row, "id"));
		json_decref(row);
		if (row == NULL || id <= last) {
			qd_errmsg_set(why, "row %zu: not a row, or ids not ascending", n + 1);
			return QD_ERR_FORMAT;
		}
		last = id;
		n++;
		p = end + 1;
	}
	if ((json_int_t)n != want) {
		qd_errmsg_set(why, "the header says %lld rows, the file holds %zu", (long long)want,
		              n);
		return QD_ERR_FORMAT;
	}
	*rows = n;
	return QD_OK;
}

enum qd_err usb_open_export(const struct domain *d, const char *path, struct usb_export *out,
                            struct qd_errmsg *why)
{
	memset(out, 0, sizeof(*out));
	uint8_t pub[32], secret[32];
	enum qd_err rc = export_keys(d, false, pub, secret, why);
	uint8_t *sealed = NULL;
	size_t len = 0;
	if (rc == QD_OK)
		rc = tool_read_file(path, EXPORT_MAX, &sealed, &len, why);
	if (rc == QD_OK && len < crypto_box_SEALBYTES) {
		qd_errmsg_set(why, "%s: too short to be a sealed export", path);
		rc = QD_ERR_FORMAT;
	}
	uint8_t *plain = NULL;
	size_t plain_len = 0;
	if (rc == QD_OK) {
		plain_len = len - crypto_box_SEALBYTES;
		plain = malloc(plain_len + 1);
		if (plain == NULL)
			rc = QD_ERR_NOMEM;
	}
	if (rc == QD_OK && crypto_box_seal_open(plain, sealed, len, pub, secret) != 0) {
		qd_errmsg_set(why,
		              "%s: cannot open it with this domain's export key (another "
		              "domain's, or damaged)",
		              path);
		rc = QD_ERR_SIGNATURE;
	}
	sodium_memzero(secret, sizeof(secret));
	free(sealed);
	if (rc == QD_OK) {
		plain[plain_len] = '\0';
		struct qd_errmsg inner = {{0}};
		/* The first format is JSON (a '{'); the signed batches' is a CBOR map. */
		out->lines = plain_len > 0 && plain[0] == '{';
		if (out->lines)
			rc = check_lines((char *)plain, plain_len, &out->rows, &inner);
		else
			rc = auditexport_parse(plain, plain_len, &out->batches, &inner);
		for (size_t i = 0; rc == QD_OK && !out->lines && i < out->batches.n_batches; i++)
			out->rows += out->batches.batches[i].rows;
		if (rc != QD_OK)
			qd_errmsg_set(why, "%s: %s", path, inner.text);
	}
	if (rc != QD_OK) {
		free(plain);
		memset(out, 0, sizeof(*out));
		return rc;
	}
	out->plain = plain;
	out->len = plain_len;
	return QD_OK;
}

void usb_export_free(struct usb_export *e)
{
	free(e->plain);
	memset(e, 0, sizeof(*e));
}

/* outdir and outdir/desk made if absent (the desk's a plain folder, not a link). */
static enum qd_err desk_folder(const char *outdir, const char *desk, char *dir, size_t cap,
                               struct qd_errmsg *why)
{
	if (mkdir(outdir, 0755) != 0 && errno != EEXIST) {
		qd_errmsg_set(why, "%s: %s", outdir, strerror(errno));
		return QD_ERR_IO;
	}
	snprintf(dir, cap, "%s/%s", outdir, desk);
	if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
		qd_errmsg_set(why, "%s: %s", dir, strerror(errno));
		return QD_ERR_IO;
	}
	struct stat st;
	if (lstat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		qd_errmsg_set(why, "%s: not a folder", dir);
		return QD_ERR_IO;
	}
	return QD_OK;
}

enum qd_err usb_export_unpack(const struct usb_export *e, const char *outdir, size_t *written,
                              size_t *same, struct qd_errmsg *why)
{
	*written = *same = 0;
	if (e->lines) {
		qd_errmsg_set(why,
		              "a %s export holds rows, not signed batches: open it without "
		              "--batches",
		              USB_EXPORT_FORMAT_1);
		return QD_ERR_FORMAT;
	}
	const struct auditexport *x = &e->batches;
	char dir[4096 + 64];
	enum qd_err rc = desk_folder(outdir, x->desk, dir, sizeof(dir), why);
	bool there[AUDITEXPORT_BATCHES_MAX] = {false};
	/* Every name checked before any is written: a batch already there with other bytes is a
	 * fork for ingest to report, never overwritten, and then nothing of this export is written.
	 */
	for (size_t i = 0; rc == QD_OK && i < x->n_batches; i++) {
		char path[sizeof(dir) + 32];
		snprintf(path, sizeof(path), "%s/%llu.cose", dir,
		         (unsigned long long)x->batches[i].sequence);
		struct stat st;
		if (lstat(path, &st) != 0 && errno == ENOENT)
			continue;
		uint8_t *have = NULL;
		size_t have_len = 0;
		rc = tool_read_file(path, AUDITBATCH_MAX + 1, &have, &have_len, why);
		if (rc == QD_OK) {
			there[i] = have_len == x->batches[i].len &&
			           memcmp(have, x->batches[i].bytes, have_len) == 0;
			if (!there[i]) {
				qd_errmsg_set(
				        why,
				        "%s holds other bytes than desk %s's batch %llu in this "
				        "export: nothing written (two batches of one number: "
				        "a fork; ingest both to see it)",
				        path, x->desk, (unsigned long long)x->batches[i].sequence);
				rc = QD_ERR_EXISTS;
			}
		}
		free(have);
	}
	for (size_t i = 0; rc == QD_OK && i < x->n_batches; i++) {
		if (there[i]) {
			(*same)++;
			continue;
		}
		char path[sizeof(dir) + 32];
		snprintf(path, sizeof(path), "%s/%llu.cose", dir,
		         (unsigned long long)x->batches[i].sequence);
		rc = tool_write_file_atomic(path, x->batches[i].bytes, x->batches[i].len, 0644,
		                            why);
		if (rc == QD_OK)
			(*written)++;
	}
	return rc;
}

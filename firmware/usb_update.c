/* SPDX-License-Identifier: Apache-2.0 */
/*
 * usb_update.c - a technician's USB stick: update bundle, log export, RAUC
 * hand-off.  See usb_update.h for the order of things and
 * docs/usb-bundle.md for the formats.
 *
 * The rule throughout: read everything, verify everything, and only then
 * change anything - in one store batch for a bundle; after the file is on
 * the stick (fsync'd and renamed) for an export.  A stick pulled while we
 * read shows up as a short read or an I/O error and changes nothing.
 */
#define _GNU_SOURCE
#include "qrdesk/usb_update.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "qrdesk/audit_seal.h"
#include "qrdesk/auditexport.h"
#include "qrdesk/config.h"
#include "qrdesk/cose.h"
#include "qrdesk/file.h"
#include "qrdesk/hex.h"
#include "qrdesk/import.h"
#include "qrdesk/trustdoc.h"
#include "usb_rauc.h"

const char *usb_stage_name(enum usb_stage stage)
{
	switch (stage) {
	case USB_IDLE:
		return "idle";
	case USB_READING:
		return "reading";
	case USB_APPLIED:
		return "applied";
	case USB_UNCHANGED:
		return "unchanged";
	case USB_REJECTED:
		return "rejected";
	case USB_REMOVED:
		return "removed";
	}
	return "unknown";
}

static void progress(const struct usb_options *opt, const char *what, uint64_t done, uint64_t total)
{
	if (opt->hooks.progress != NULL)
		opt->hooks.progress(opt->hooks.arg, what, done, total);
}

/* ---- reading ------------------------------------------------------------ */

struct read_progress {
	const struct usb_options *opt;
	const char *name;
};

static void on_read_progress(void *arg, size_t done, size_t total)
{
	const struct read_progress *p = arg;
	progress(p->opt, p->name, done, total);
}

/*
 * Read dir/name whole, at most cap bytes.  A file that is not regular (or a
 * symbolic link) is malformed; one that grows or shrinks while read, or whose
 * read fails (a pulled stick: EIO or ENODEV) is an I/O error.
 */
static enum qd_err read_capped(int dir, const char *name, size_t cap, const struct usb_options *opt,
                               uint8_t **data, size_t *len, struct qd_errmsg *why)
{
	struct read_progress p = {opt, name};
	const struct file_read_options fo = {.flags = FILE_READ_NOFOLLOW,
	                                     .not_regular = QD_ERR_FORMAT,
	                                     .progress = on_read_progress,
	                                     .progress_arg = &p};
	struct qd_errmsg inner = {{0}};
	enum qd_err rc = file_read_at(dir, name, cap, &fo, data, len, &inner);
	if (rc == QD_ERR_NOT_FOUND)
		rc = QD_ERR_IO; /* listed a moment ago: the stick went */
	if (rc == QD_ERR_IO)
		qd_errmsg_set(why, "%s: %s (was the stick pulled?)", name, inner.text);
	else if (rc != QD_OK)
		qd_errmsg_set(why, "%s: %s", name, inner.text);
	return rc;
}

static bool has_suffix(const char *name, const char *suffix)
{
	size_t n = strlen(name), s = strlen(suffix);
	return n > s && strcmp(name + n - s, suffix) == 0;
}

/* What is in qrdesk/: the names we act on. */
struct listing {
	char bundle[3][128]; /* more than one is an error; the first names are kept for it */
	size_t n_bundles;
	char firmware[3][128];
	size_t n_firmware;
	bool export_request;
	size_t ignored;
};

static void keep_name(char names[3][128], size_t *n, const char *name)
{
	if (*n < 3)
		snprintf(names[*n], sizeof(names[0]), "%s", name);
	(*n)++;
}

static enum qd_err list_folder(int dir, struct listing *l, struct qd_errmsg *why)
{
	memset(l, 0, sizeof(*l));
	int fd = dup(dir);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (d == NULL) {
		if (fd >= 0)
			close(fd);
		qd_errmsg_set(why, "cannot list qrdesk/: %s", strerror(errno));
		return QD_ERR_IO;
	}
	errno = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		const char *n = e->d_name;
		if (n[0] == '.') { /* ., .., macOS ._* and .DS_Store, .Trashes */
			if (strcmp(n, ".") != 0 && strcmp(n, "..") != 0)
				l->ignored++;
			continue;
		}
		bool fits = strlen(n) < sizeof(l->bundle[0]); /* longer names are ignored */
		if (fits && has_suffix(n, USB_BUNDLE_SUFFIX))
			keep_name(l->bundle, &l->n_bundles, n);
		else if (fits && has_suffix(n, USB_FIRMWARE_SUFFIX))
			keep_name(l->firmware, &l->n_firmware, n);
		else if (strcmp(n, USB_EXPORT_REQUEST) == 0)
			l->export_request = true;
		else if (strcmp(n, USB_EXPORT_FOLDER) != 0)
			l->ignored++;
		errno = 0;
	}
	int err = errno;
	closedir(d);
	if (err != 0) {
		qd_errmsg_set(why, "cannot list qrdesk/: %s (stick pulled?)", strerror(err));
		return QD_ERR_IO;
	}
	return QD_OK;
}

/* ---- signed files from the stick ------------------------------------------ */

/*
 * A desk that has never seen the update key (a fresh one, or a key set that
 * introduced a new update key) can still take a bundle whose own key set,
 * verified against the pinned root, lists the key that signed it.  The
 * payload is decoded here before its signature is known good: only by the
 * strict, fuzzed decoder, and nothing from it is used unless the key set in
 * it verifies against the root and then the outer signature verifies.
 */
static enum qd_err verify_with_inner_keyset(struct store *store, const uint8_t *bytes, size_t len,
                                            const struct usb_options *opt,
                                            const enum key_role *roles, size_t n_roles,
                                            struct cose_sign1 *msg, struct trust_key *signer,
                                            struct bundle *unverified, struct qd_errmsg *why)
{
	struct cose_error cerr;
	if (cose_sign1_parse(bytes, len, msg, &cerr) != COSE_OK ||
	    bundle_decode(msg->payload, msg->payload_len, unverified, NULL) != QD_OK)
		return QD_ERR_SIGNATURE;
	enum qd_err rc = QD_ERR_SIGNATURE;
	for (size_t i = 0; i < unverified->n_docs && rc != QD_OK; i++) {
		struct import_verified ks;
		if (import_verify(store, unverified->docs[i].bytes, unverified->docs[i].len,
		                  opt->clock_now, NULL, 0, &ks, NULL) != QD_OK)
			continue;
		if (ks.result.type == TRUST_DOC_KEYSET &&
		    ks.result.version > ks.result.previous_version)
			rc = import_verify_signer(store, bytes, len, ks.doc->body.keyset.keys,
			                          ks.doc->body.keyset.count, roles, n_roles, msg,
			                          signer, why);
		import_verified_release(&ks);
	}
	return rc;
}

/* Verify a bundle's or a request's signature and header; b points into bytes (scratch:
 * the caller's room for a bundle decoded before its signature is known). */
static enum qd_err verify_signed(struct store *store, const uint8_t *bytes, size_t len,
                                 enum bundle_kind kind, const struct usb_options *opt,
                                 struct bundle *b, struct trust_key *signer, struct bundle *scratch,
                                 struct qd_errmsg *why)
{
	static const enum key_role roles[] = {KEY_ROLE_UPDATE, KEY_ROLE_ROOT};
	struct cose_sign1 msg;
	enum qd_err rc =
	        import_verify_signer(store, bytes, len, NULL, 0, roles, 2, &msg, signer, why);
	if (rc == QD_ERR_SIGNATURE && kind == BUNDLE_UPDATE &&
	    verify_with_inner_keyset(store, bytes, len, opt, roles, 2, &msg, signer, scratch,
	                             why) == QD_OK)
		rc = QD_OK;
	if (rc != QD_OK)
		return rc;
	struct qd_errmsg inner = {{0}};
	rc = bundle_decode(msg.payload, msg.payload_len, b, &inner);
	if (rc != QD_OK) {
		qd_errmsg_set(why, "not a valid %s: %s", bundle_kind_name(kind), inner.text);
		return rc;
	}
	if (b->kind != kind) {
		qd_errmsg_set(why, "this is an %s, not an %s", bundle_kind_name(b->kind),
		              bundle_kind_name(kind));
		return QD_ERR_FORMAT;
	}
	if (b->created_at < signer->not_before || b->created_at > signer->not_after) {
		qd_errmsg_set(why, "the signing key was not valid when %s %s was made", b->id,
		              bundle_kind_name(kind));
		return QD_ERR_KEY;
	}
	int64_t floor = 0;
	if (store_time_floor_get(store, &floor) != QD_OK) {
		qd_errmsg_set(why, "cannot read the time floor");
		return QD_ERR_STORE;
	}
	int64_t trusted = opt->clock_now > floor ? opt->clock_now : floor;
	if (b->expires_at <= trusted) {
		qd_errmsg_set(why, "%s %s expired at %lld", bundle_kind_name(kind), b->id,
		              (long long)b->expires_at);
		return QD_ERR_EXPIRED;
	}
	if (!bundle_for_desk(b, opt->desk_id)) {
		qd_errmsg_set(why, "%s %s is for desk %s, this is desk %s", bundle_kind_name(kind),
		              b->id, b->desk, opt->desk_id);
		return QD_ERR_WRONG_DESK;
	}
	return QD_OK;
}

/* ---- the update bundle ------------------------------------------------------ */

/* The list's label ("key set" reads better on the kiosk than the file type "keyset"). */
static const char *doc_label(enum trust_doc_type type)
{
	const struct trust_doc_info *info = trust_doc_info(type);
	return info != NULL ? info->label : "document";
}

/* Append "label vN[ note]" to a comma-separated list. */
static void append(char *buf, size_t cap, const char *label, unsigned long long v, const char *note)
{
	size_t n = strlen(buf);
	if (n < cap)
		snprintf(buf + n, cap - n, "%s%s v%llu%s", n > 0 ? ", " : "", label, v, note);
}

/* Every setting on the allow-list with a value the config file would accept (tried on
 * scratch, which is only checked, never used). */
static enum qd_err check_settings(const struct bundle *b, const struct usb_options *opt,
                                  struct config *scratch, struct qd_errmsg *why)
{
	if (b->n_settings > 0 && (opt->dropin_path == NULL || opt->dropin_path[0] == '\0')) {
		qd_errmsg_set(why, "bundle %s changes settings, but this desk has no drop-in file",
		              b->id);
		return QD_ERR_UNSUPPORTED;
	}
	config_defaults(scratch);
	for (size_t i = 0; i < b->n_settings; i++) {
		char section[BUNDLE_NAME_MAX + 1];
		snprintf(section, sizeof(section), "%s", b->settings[i].name);
		char *dot = strchr(section, '.');
		*dot = '\0'; /* bundle_decode checked the name has one */
		const char *key = dot + 1;
		if (!config_dropin_allowed(section, key)) {
			qd_errmsg_set(why, "bundle %s: [%s] %s cannot be set from a USB stick",
			              b->id, section, key);
			return QD_ERR_ROLE;
		}
		struct qd_errmsg bad = {{0}};
		if (config_set(scratch, section, key, b->settings[i].value, &bad) != QD_OK) {
			qd_errmsg_set(why, "bundle %s: [%s] %s", b->id, section, bad.text);
			return QD_ERR_FORMAT;
		}
	}
	return QD_OK;
}

struct verified_docs {
	struct import_verified v[BUNDLE_DOCS_MAX];
	size_t n;
};

/* One stick's large working state, owned by its usb_process_stick call (off the stack:
 * tens of KiB), so sticks may be read by any number of callers at once. */
struct usb_work {
	struct bundle bundle, unverified, request;
	struct verified_docs docs;
	struct config settings; /* check_settings' trial configuration */
};

static void docs_release(struct verified_docs *d)
{
	for (size_t i = 0; i < d->n; i++)
		import_verified_release(&d->v[i]);
	d->n = 0;
}

/*
 * Verify every inner document.  As in sync, a key set newer than the
 * installed one is verified against the pinned root, and then its keys
 * stand in for the installed key set as the signers of the others.
 */
static enum qd_err verify_docs(struct store *store, const struct bundle *b,
                               const struct usb_options *opt, struct verified_docs *out,
                               struct qd_errmsg *why)
{
	memset(out, 0, sizeof(*out));
	const struct trust_key *keys = NULL;
	size_t n_keys = 0;
	int keyset_at = -1;
	/* The key set first, on its own. */
	for (size_t i = 0; i < b->n_docs; i++) {
		struct import_verified probe;
		struct qd_errmsg ignore = {{0}};
		if (import_verify(store, b->docs[i].bytes, b->docs[i].len, opt->clock_now, NULL, 0,
		                  &probe, &ignore) == QD_OK &&
		    probe.result.type == TRUST_DOC_KEYSET &&
		    probe.result.version > probe.result.previous_version) {
			out->v[i] = probe;
			keyset_at = (int)i;
			keys = probe.doc->body.keyset.keys;
			n_keys = probe.doc->body.keyset.count;
			break;
		}
		import_verified_release(&probe);
	}
	for (size_t i = 0; i < b->n_docs; i++) {
		if ((int)i == keyset_at)
			continue;
		struct qd_errmsg inner = {{0}};
		enum qd_err rc = import_verify(store, b->docs[i].bytes, b->docs[i].len,
		                               opt->clock_now, keys, n_keys, &out->v[i], &inner);
		if (rc != QD_OK) {
			out->n = b->n_docs;
			docs_release(out);
			qd_errmsg_set(why, "document %zu of bundle %s: %s", i + 1, b->id,
			              inner.text);
			return rc;
		}
	}
	out->n = b->n_docs;
	/* No downgrade: a document older than the installed one refuses the bundle. */
	for (size_t i = 0; i < out->n; i++) {
		const struct import_result *r = &out->v[i].result;
		if (r->version < r->previous_version) {
			qd_errmsg_set(why,
			              "bundle %s: %s version %llu is older than installed "
			              "version %llu",
			              b->id, doc_label(r->type), (unsigned long long)r->version,
			              (unsigned long long)r->previous_version);
			docs_release(out);
			return QD_ERR_ROLLBACK;
		}
		/* Two of one type in one bundle would make the order matter: refuse. */
		for (size_t j = 0; j < i; j++)
			if (out->v[j].result.type == r->type) {
				qd_errmsg_set(why, "bundle %s carries two %s documents", b->id,
				              doc_label(r->type));
				docs_release(out);
				return QD_ERR_FORMAT;
			}
	}
	return QD_OK;
}

/* The drop-in as text: one [section] per group, from the settings table. */
struct dropin_text {
	char *buf;
	size_t len, cap;
	char section[BUNDLE_NAME_MAX + 1];
	bool failed;
};

static void dropin_add(struct dropin_text *t, const char *line)
{
	size_t n = strlen(line);
	if (t->len + (size_t)n + 1 > t->cap) {
		size_t cap = (t->cap + (size_t)n + 1) * 2;
		char *p = realloc(t->buf, cap);
		if (p == NULL) {
			t->failed = true;
			return;
		}
		t->buf = p;
		t->cap = cap;
	}
	memcpy(t->buf + t->len, line, n + 1);
	t->len += n;
}

static void dropin_setting(void *arg, const char *name, const char *value)
{
	struct dropin_text *t = arg;
	const char *dot = strchr(name, '.');
	if (dot == NULL || (size_t)(dot - name) >= sizeof(t->section))
		return;
	char section[BUNDLE_NAME_MAX + 1];
	snprintf(section, sizeof(section), "%.*s", (int)(dot - name), name);
	char line[BUNDLE_NAME_MAX + BUNDLE_VALUE_MAX + 16];
	if (strcmp(section, t->section) != 0) {
		snprintf(line, sizeof(line), "\n[%s]\n", section);
		dropin_add(t, line);
		snprintf(t->section, sizeof(t->section), "%s", section);
	}
	if ((size_t)snprintf(line, sizeof(line), "%s = %s\n", dot + 1, value) >= sizeof(line))
		t->failed = true;
	else
		dropin_add(t, line);
}

/* fsync a folder, so a rename in it survives a power cut. */
static int fsync_dir_of(const char *path)
{
	char dir[CONFIG_PATH_MAX + 8];
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash == NULL)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int rc = fsync(fd);
	close(fd);
	return rc;
}

/* Write all of data to fd; -1 with errno on failure. */
static int write_all(int fd, const void *data, size_t len)
{
	const uint8_t *p = data;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Render the drop-in from the settings table (inside the batch: it sees this
 * bundle's settings) into tmp, fsync'd.  The caller renames it after commit.
 */
static enum qd_err dropin_prepare(struct store *store, const char *path, const char *bundle_id,
                                  char *tmp, size_t tmp_cap, struct qd_errmsg *why)
{
	struct dropin_text t = {0};
	char head[BUNDLE_ID_MAX + 128];
	snprintf(head, sizeof(head),
	         "# Written by qrdeskd from USB bundles (last: %s); do not edit.\n"
	         "# Only the keys docs/usb-bundle.md allows are read from here.\n",
	         bundle_id);
	dropin_add(&t, head);
	if (store_usb_settings_list(store, dropin_setting, &t) != QD_OK || t.failed) {
		free(t.buf);
		qd_errmsg_set(why, "cannot render the settings");
		return QD_ERR_STORE;
	}
	snprintf(tmp, tmp_cap, "%s.tmp", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0640);
	enum qd_err rc = QD_OK;
	if (fd < 0 || write_all(fd, t.buf, t.len) != 0 || fsync(fd) != 0) {
		qd_errmsg_set(why, "%s: %s", tmp, strerror(errno));
		rc = QD_ERR_IO;
	}
	if (fd >= 0 && close(fd) != 0 && rc == QD_OK) {
		qd_errmsg_set(why, "%s: %s", tmp, strerror(errno));
		rc = QD_ERR_IO;
	}
	if (rc != QD_OK)
		unlink(tmp);
	free(t.buf);
	return rc;
}

/* Apply verified documents, the bundle's record and its settings in one batch. */
static enum qd_err apply_bundle(struct store *store, const struct bundle *b,
                                const struct trust_key *signer, struct verified_docs *docs,
                                const struct usb_options *opt, struct usb_report *rep,
                                struct qd_errmsg *why)
{
	enum qd_err rc = store_batch_begin(store, why);
	if (rc != QD_OK)
		return rc;
	/* The key set first: the others were verified against it. */
	for (int pass = 0; pass < 2 && rc == QD_OK; pass++)
		for (size_t i = 0; i < docs->n && rc == QD_OK; i++) {
			bool keyset = docs->v[i].result.type == TRUST_DOC_KEYSET;
			if (keyset != (pass == 0))
				continue;
			rc = import_apply(store, &docs->v[i], why);
		}
	if (rc == QD_OK)
		rc = store_usb_bundle_record(store, b->id, b->created_at, opt->clock_now,
		                             signer->kid, signer->kid_len, why);
	for (size_t i = 0; i < b->n_settings && rc == QD_OK; i++)
		rc = store_usb_setting_set(store, b->settings[i].name, b->settings[i].value, b->id,
		                           opt->clock_now, why);
	char tmp[CONFIG_PATH_MAX + 8] = "";
	if (rc == QD_OK && b->n_settings > 0)
		rc = dropin_prepare(store, opt->dropin_path, b->id, tmp, sizeof(tmp), why);
	if (rc != QD_OK) {
		store_batch_abort(store);
		return rc;
	}
	rc = store_batch_commit(store, why);
	if (rc != QD_OK) {
		if (tmp[0])
			unlink(tmp);
		return rc;
	}
	if (tmp[0]) {
		if (rename(tmp, opt->dropin_path) != 0 || fsync_dir_of(opt->dropin_path) != 0) {
			/* The documents are in; the settings are recorded and will be written by
			 * the next bundle.  Say so rather than pretend. */
			qd_errmsg_set(why, "%s: cannot write the settings: %s", opt->dropin_path,
			              strerror(errno));
			unlink(tmp);
			return QD_ERR_IO;
		}
		rep->settings_changed = true;
	}
	for (size_t i = 0; i < docs->n; i++)
		if (!docs->v[i].result.unchanged)
			rep->trust_changed = true;
	return QD_OK;
}

static void summarise(const struct bundle *b, const struct verified_docs *docs, char *out,
                      size_t cap)
{
	out[0] = '\0';
	for (size_t i = 0; i < docs->n; i++) {
		const struct import_result *r = &docs->v[i].result;
		append(out, cap, doc_label(r->type), (unsigned long long)r->version,
		       r->unchanged ? " (already installed)" : "");
	}
	size_t n = strlen(out);
	if (b->n_settings > 0 && n < cap)
		snprintf(out + n, cap - n, "%s%zu setting%s", n > 0 ? ", " : "", b->n_settings,
		         b->n_settings == 1 ? "" : "s");
}

static void audit(struct store *store, const struct usb_options *opt, const char *event,
                  enum qd_err status, const char *result, const struct trust_key *signer,
                  const char *detail)
{
	struct audit_event ev = {
	        .time_us = (int64_t)time(NULL) * 1000000,
	        .source = "usb",
	        .event = event,
	        .result = result != NULL    ? result
	                  : status == QD_OK ? "applied"
	                                    : qd_err_name(status),
	        .kid = signer != NULL && signer->kid_len > 0 ? signer->kid : NULL,
	        .kid_len = signer != NULL ? signer->kid_len : 0,
	        .desk = opt->desk_id,
	        .detail = detail,
	};
	/* The audit row is a record, not a condition: a failure here is only logged by
	 * the caller's status (the step's own outcome stands). */
	(void)store_audit_event(store, &ev, NULL);
}

static void do_bundle(struct store *store, int dir, const struct listing *l,
                      const struct usb_options *opt, struct usb_work *w, struct usb_report *rep)
{
	struct bundle *const b = &w->bundle;
	struct verified_docs *const docs = &w->docs;
	struct usb_step *st = &rep->bundle;
	st->present = true;
	snprintf(st->file, sizeof(st->file), "%s", l->bundle[0]);
	struct qd_errmsg why = {{0}};
	struct trust_key signer = {0};
	if (l->n_bundles > 1) {
		st->status = QD_ERR_ARG;
		qd_errmsg_set(&why,
		              "%zu update bundles in qrdesk/ (%s, %s%s): leave exactly one on the "
		              "stick",
		              l->n_bundles, l->bundle[0], l->bundle[1],
		              l->n_bundles > 2 ? ", ..." : "");
		goto done;
	}
	size_t cap = opt->max_bundle_bytes > 0 ? opt->max_bundle_bytes : IMPORT_FILE_MAX;
	uint8_t *bytes = NULL;
	size_t len = 0;
	st->status = read_capped(dir, l->bundle[0], cap, opt, &bytes, &len, &why);
	if (st->status != QD_OK)
		goto done;
	st->status = verify_signed(store, bytes, len, BUNDLE_UPDATE, opt, b, &signer,
	                           &w->unverified, &why);
	if (st->status == QD_OK) {
		snprintf(rep->bundle_id, sizeof(rep->bundle_id), "%s", b->id);
		hex_encode(signer.kid, signer.kid_len, rep->signer_kid, sizeof(rep->signer_kid));
	}
	bool seen = false;
	if (st->status == QD_OK && store_usb_bundle_seen(store, b->id, &seen) != QD_OK)
		st->status = QD_ERR_STORE;
	if (st->status == QD_OK && seen) {
		free(bytes);
		snprintf(st->detail, sizeof(st->detail), "bundle %s was applied before", b->id);
		st->status = QD_OK;
		rep->stage = USB_UNCHANGED;
		audit(store, opt, "usb-update", QD_OK, "already-applied", &signer, st->detail);
		return;
	}
	struct store_usb_bundle last;
	bool have_last = false;
	if (st->status == QD_OK && store_usb_bundle_last(store, &last, &have_last) != QD_OK)
		st->status = QD_ERR_STORE;
	if (st->status == QD_OK && have_last && b->created_at < last.created_at) {
		qd_errmsg_set(&why, "bundle %s is older than bundle %s already applied", b->id,
		              last.id);
		st->status = QD_ERR_ROLLBACK;
	}
	if (st->status == QD_OK)
		st->status = check_settings(b, opt, &w->settings, &why);
	if (st->status == QD_OK)
		st->status = verify_docs(store, b, opt, docs, &why);
	if (st->status == QD_OK) {
		st->status = apply_bundle(store, b, &signer, docs, opt, rep, &why);
		if (st->status == QD_OK)
			summarise(b, docs, st->detail, sizeof(st->detail));
		docs_release(docs);
	}
	free(bytes);
done:
	if (st->status != QD_OK)
		snprintf(st->detail, sizeof(st->detail), "%s", why.text);
	char detail[BUNDLE_ID_MAX + sizeof(st->detail) + 16];
	snprintf(detail, sizeof(detail), "%s%s%s", rep->bundle_id, rep->bundle_id[0] ? ": " : "",
	         st->detail);
	audit(store, opt, "usb-update", st->status, NULL, signer.kid_len > 0 ? &signer : NULL,
	      detail);
}

/* ---- the export ----------------------------------------------------------------- */

/* Write data to dir/name: temp name, fsync, rename, fsync the folder. */
static enum qd_err write_durable(int dir, const char *name, const void *data, size_t len,
                                 struct qd_errmsg *why)
{
	char tmp[160];
	snprintf(tmp, sizeof(tmp), ".%s.tmp", name);
	int fd = openat(dir, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0) {
		qd_errmsg_set(why, "export/%s: %s", tmp, strerror(errno));
		return QD_ERR_IO;
	}
	bool ok = write_all(fd, data, len) == 0 && fsync(fd) == 0;
	int saved = errno;
	ok = close(fd) == 0 && ok;
	if (ok && renameat(dir, tmp, dir, name) != 0) {
		ok = false;
		saved = errno;
	}
	if (ok && fsync(dir) != 0) {
		ok = false;
		saved = errno;
	}
	if (!ok) {
		unlinkat(dir, tmp, 0);
		qd_errmsg_set(why, "export/%s: %s", name, strerror(saved));
		return QD_ERR_IO;
	}
	return QD_OK;
}

/* One sealed batch as the export file's plain bytes (malloc'd): auditexport.h. */
static enum qd_err export_plain(const struct bundle *req, const struct usb_options *opt,
                                const struct audit_sealed *sb, uint8_t **plain, size_t *len)
{
	const uint8_t *batches[1] = {sb->bytes};
	size_t lens[1] = {sb->len};
	struct cbor_writer w;
	cbor_writer_init(&w, NULL, 0);
	auditexport_put(&w, opt->desk_id, req->id, opt->clock_now, batches, lens, 1);
	size_t cap = w.len;
	*plain = malloc(cap);
	if (*plain == NULL)
		return QD_ERR_NOMEM;
	cbor_writer_init(&w, *plain, cap);
	auditexport_put(&w, opt->desk_id, req->id, opt->clock_now, batches, lens, 1);
	*len = w.len;
	return cbor_writer_status(&w) == CBOR_OK ? QD_OK : QD_ERR_NOMEM;
}

/* Seal one batch to the request's recipient and write it as <desk>-<sequence>.qrlog: the
 * batch's name, so the same batch written again (its delivery not recorded) is one file. */
static enum qd_err write_batch(int edir, const struct bundle *req, const struct usb_options *opt,
                               const struct audit_sealed *sb, char *name, size_t name_cap,
                               struct qd_errmsg *why)
{
	uint8_t *plain = NULL;
	size_t plain_len = 0;
	enum qd_err rc = export_plain(req, opt, sb, &plain, &plain_len);
	uint8_t *sealed = rc == QD_OK ? malloc(plain_len + crypto_box_SEALBYTES) : NULL;
	if (rc == QD_OK && sealed == NULL)
		rc = QD_ERR_NOMEM;
	if (rc == QD_OK && crypto_box_seal(sealed, plain, plain_len, req->recipient) != 0) {
		qd_errmsg_set(why, "cannot seal the export");
		rc = QD_ERR_CRYPTO;
	}
	snprintf(name, name_cap, "%s-%llu.qrlog", opt->desk_id, (unsigned long long)sb->seq);
	if (rc == QD_OK)
		rc = write_durable(edir, name, sealed, plain_len + crypto_box_SEALBYTES, why);
	else if (why->text[0] == '\0')
		qd_errmsg_set(why, "no memory for the export");
	free(plain);
	free(sealed);
	return rc;
}

/*
 * The rows not yet delivered, batch by batch, as the upload would send them (audit_seal.h):
 * each batch sealed to the back office, durable on the stick, and only then delivered
 * (store_upload_batch_done).  A failure stops at that batch; those before it are on the stick.
 */
static enum qd_err export_batches(struct store *store, int edir, const struct bundle *req,
                                  const struct usb_options *opt, struct usb_report *rep, char *file,
                                  size_t file_cap, uint64_t seqs[2], struct qd_errmsg *why)
{
	enum qd_err rc = QD_OK;
	int64_t now_us = opt->clock_now * 1000000;
	for (size_t i = 0; i < USB_EXPORT_BATCHES_MAX && rc == QD_OK; i++) {
		struct audit_sealed sb;
		bool found = false;
		/* The upload's batch size: a batch sealed here and left open (the stick failed)
		 * is sent by the upload as these very bytes, which its gateway must take. */
		rc = audit_seal_next(store, opt->batch_rows > 0 ? opt->batch_rows : 500,
		                     opt->desk_id, opt->desk_key, now_us, &sb, &found, why);
		if (rc != QD_OK || !found)
			break;
		rc = write_batch(edir, req, opt, &sb, file, file_cap, why);
		free(sb.bytes);
		/* Collected (the stick's mark), then delivered; a failure between the two exports
		 * the same batch again next time. */
		if (rc == QD_OK &&
		    store_audit_mark_exported(store, &sb.batch, opt->clock_now) != QD_OK) {
			qd_errmsg_set(why, "batch %llu written, but its rows cannot be marked",
			              (unsigned long long)sb.seq);
			rc = QD_ERR_STORE;
		}
		if (rc == QD_OK)
			rc = store_upload_batch_done(store, &sb.batch, now_us, why);
		if (rc != QD_OK)
			break;
		if (seqs[0] == 0)
			seqs[0] = sb.seq;
		seqs[1] = sb.seq;
		rep->exported_rows += sb.batch.rows;
		rep->exported_batches++;
		char what[160];
		snprintf(what, sizeof(what), "exported %.100s (%llu log rows so far)", file,
		         (unsigned long long)rep->exported_rows);
		progress(opt, what, rep->exported_rows, 0);
	}
	return rc;
}

/* Make the stick writable and export/ there; *edir its descriptor. */
static enum qd_err open_export_folder(int qdir, const struct usb_options *opt, int *edir,
                                      struct qd_errmsg *why)
{
	*edir = -1;
	if (opt->hooks.set_writable != NULL) {
		enum qd_err rc = opt->hooks.set_writable(opt->hooks.arg, true, why);
		if (rc != QD_OK)
			return rc;
	}
	if (mkdirat(qdir, USB_EXPORT_FOLDER, 0755) != 0 && errno != EEXIST) {
		qd_errmsg_set(why, "cannot make qrdesk/export/: %s", strerror(errno));
		return QD_ERR_IO;
	}
	*edir = openat(qdir, USB_EXPORT_FOLDER, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (*edir < 0) {
		qd_errmsg_set(why, "cannot open qrdesk/export/: %s", strerror(errno));
		return QD_ERR_IO;
	}
	return QD_OK;
}

static void do_export(struct store *store, int qdir, const struct usb_options *opt,
                      struct usb_work *w, struct usb_report *rep)
{
	struct bundle *const req = &w->request;
	struct usb_step *st = &rep->export_;
	st->present = true;
	snprintf(st->file, sizeof(st->file), "%s", USB_EXPORT_REQUEST);
	struct qd_errmsg why = {{0}};
	struct trust_key signer = {0};
	uint8_t *bytes = NULL;
	size_t len = 0;
	st->status =
	        read_capped(qdir, USB_EXPORT_REQUEST, USB_REQUEST_MAX, opt, &bytes, &len, &why);
	if (st->status == QD_OK)
		st->status = verify_signed(store, bytes, len, BUNDLE_EXPORT_REQUEST, opt, req,
		                           &signer, &w->unverified, &why);
	free(bytes);
	if (st->status == QD_OK && opt->desk_key == NULL) {
		qd_errmsg_set(&why, "this desk has no desk key to sign its audit batches with "
		                    "(qrdeskctl enroll): nothing exported");
		st->status = QD_ERR_NOT_PROVISIONED;
	}
	uint64_t pending = 0;
	if (st->status == QD_OK && store_audit_pending_count(store, &pending) != QD_OK) {
		qd_errmsg_set(&why, "cannot read the audit log");
		st->status = QD_ERR_STORE;
	}
	char name[96] = "";
	uint64_t seqs[2] = {0, 0};
	if (st->status == QD_OK && pending > 0) {
		int edir = -1;
		st->status = open_export_folder(qdir, opt, &edir, &why);
		if (st->status == QD_OK)
			st->status = export_batches(store, edir, req, opt, rep, name, sizeof(name),
			                            seqs, &why);
		if (edir >= 0)
			close(edir);
		if (opt->hooks.set_writable != NULL) {
			struct qd_errmsg ro = {{0}};
			/* The files are durable (fsync'd) even if this fails: they count. */
			if (opt->hooks.set_writable(opt->hooks.arg, false, &ro) != QD_OK)
				progress(opt, ro.text, 0, 0);
		}
	}
	if (st->status == QD_OK && rep->exported_batches == 0) {
		snprintf(st->detail, sizeof(st->detail),
		         "request %s: no log rows waiting (all uploaded or exported before)",
		         req->id);
	} else if (st->status == QD_OK) {
		snprintf(st->file, sizeof(st->file), "export/%s", name);
		snprintf(st->detail, sizeof(st->detail),
		         "request %s: %llu log rows in batches %llu..%llu to export/", req->id,
		         (unsigned long long)rep->exported_rows, (unsigned long long)seqs[0],
		         (unsigned long long)seqs[1]);
	} else if (rep->exported_batches > 0) {
		snprintf(st->detail, sizeof(st->detail),
		         "request %s: batches %llu..%llu written, then: %.160s", req->id,
		         (unsigned long long)seqs[0], (unsigned long long)seqs[1], why.text);
	} else {
		snprintf(st->detail, sizeof(st->detail), "%s", why.text);
	}
	audit(store, opt, "usb-export", st->status, NULL, signer.kid_len > 0 ? &signer : NULL,
	      st->detail);
}

/* ---- firmware ---------------------------------------------------------------------- */

static void do_firmware(struct store *store, int qdir, const char *root, const struct listing *l,
                        const struct usb_options *opt, struct usb_report *rep)
{
	(void)qdir;
	struct usb_step *st = &rep->firmware;
	st->present = true;
	snprintf(st->file, sizeof(st->file), "%s", l->firmware[0]);
	struct qd_errmsg why = {{0}};
	if (l->n_firmware > 1) {
		st->status = QD_ERR_ARG;
		qd_errmsg_set(&why, "%zu firmware bundles in qrdesk/: leave exactly one",
		              l->n_firmware);
	} else if (!opt->firmware) {
		st->status = QD_ERR_UNSUPPORTED;
		qd_errmsg_set(&why, "firmware updates from USB are off on this desk");
	} else {
		char path[CONFIG_PATH_MAX * 2];
		snprintf(path, sizeof(path), "%s/%s/%s", root, USB_FOLDER, l->firmware[0]);
		st->status = usb_rauc_install(opt->rauc, path, &opt->hooks, &why);
	}
	if (st->status == QD_OK)
		snprintf(st->detail, sizeof(st->detail),
		         "firmware %s installed; it runs after a "
		         "restart",
		         l->firmware[0]);
	else
		snprintf(st->detail, sizeof(st->detail), "%s", why.text);
	audit(store, opt, "usb-firmware", st->status, NULL, NULL, st->detail);
}

/* ---- the stick ---------------------------------------------------------------------- */

static void headline(struct usb_report *rep)
{
	const struct usb_step *steps[] = {&rep->bundle, &rep->export_, &rep->firmware};
	char *h = rep->headline;
	size_t cap = sizeof(rep->headline);
	h[0] = '\0';
	for (size_t i = 0; i < 3; i++) {
		const struct usb_step *s = steps[i];
		if (!s->present || s->status == QD_OK)
			continue;
		rep->stage = USB_REJECTED;
		snprintf(h, cap, "rejected: %s", s->detail);
		return;
	}
	if (rep->stage == USB_UNCHANGED && rep->bundle.present) {
		snprintf(h, cap, "nothing to do: %s", rep->bundle.detail);
		return;
	}
	size_t n = 0;
	for (size_t i = 0; i < 3 && n < cap; i++)
		if (steps[i]->present)
			n += (size_t)snprintf(h + n, cap - n, "%s%s", n ? "; " : "applied ",
			                      steps[i]->detail);
	if (n > 0) {
		rep->stage = USB_APPLIED;
		return;
	}
	rep->stage = USB_UNCHANGED;
	if (rep->no_folder)
		snprintf(h, cap, "no qrdesk folder on this stick: nothing to do");
	else
		snprintf(h, cap, "nothing for this desk in qrdesk/ (%zu other file%s ignored)",
		         rep->ignored, rep->ignored == 1 ? "" : "s");
}

enum qd_err usb_process_stick(struct store *store, const char *root, const struct usb_options *opt,
                              struct usb_report *rep)
{
	memset(rep, 0, sizeof(*rep));
	rep->stage = USB_READING;
	int rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0) {
		/* Gone before it could be read: pulled out, not empty. */
		rep->stage = USB_REJECTED;
		snprintf(rep->headline, sizeof(rep->headline),
		         "rejected: the stick could not be read (pulled out?): %s",
		         strerror(errno));
		return QD_ERR_IO;
	}
	int qdir = openat(rootfd, USB_FOLDER, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	int open_errno = errno;
	close(rootfd);
	errno = open_errno;
	if (qdir < 0) {
		if (errno == ENOENT && access(root, F_OK) != 0) {
			rep->stage = USB_REJECTED;
			snprintf(rep->headline, sizeof(rep->headline),
			         "rejected: the stick went away while it was read");
			return QD_ERR_IO;
		}
		if (errno == ENOENT) {
			rep->no_folder = true;
			headline(rep);
			return QD_OK;
		}
		rep->stage = USB_REJECTED;
		snprintf(rep->headline, sizeof(rep->headline),
		         "rejected: cannot open the stick's qrdesk folder: %s", strerror(errno));
		return QD_ERR_IO;
	}
	struct listing l;
	struct qd_errmsg why = {{0}};
	if (list_folder(qdir, &l, &why) != QD_OK) {
		close(qdir);
		rep->stage = USB_REJECTED;
		snprintf(rep->headline, sizeof(rep->headline), "rejected: %s", why.text);
		return QD_ERR_IO;
	}
	rep->ignored = l.ignored;
	struct usb_work *w = NULL;
	if ((l.n_bundles > 0 || l.export_request) && (w = calloc(1, sizeof(*w))) == NULL) {
		close(qdir);
		rep->stage = USB_REJECTED;
		snprintf(rep->headline, sizeof(rep->headline),
		         "rejected: no memory to read the stick");
		return QD_ERR_NOMEM;
	}
	if (l.n_bundles > 0)
		do_bundle(store, qdir, &l, opt, w, rep);
	if (l.export_request)
		do_export(store, qdir, opt, w, rep);
	free(w);
	if (l.n_firmware > 0)
		do_firmware(store, qdir, root, &l, opt, rep);
	close(qdir);
	headline(rep);
	return rep->stage == USB_REJECTED ? QD_ERR_FORMAT : QD_OK;
}

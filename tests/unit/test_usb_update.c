/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_usb_update.c - a USB stick pulled while its bundle is read (the file
 * shrinks under the reader) changes nothing; the size cap refuses before
 * reading; and, where this machine allows it (root, loop devices, a kernel
 * with vfat - else ext4, the other file system qrdeskd mounts), udev mode's
 * mount steps on a real file system image: mounted read-only, nosuid,
 * nodev, noexec; a bundle applied from it; an export written through a
 * read-write remount and the stick read-only again after; unmounted.  The libudev monitor itself
 * needs udevd and a real device: not exercised here (docs/usb-bundle.md).
 */
#define _GNU_SOURCE
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sodium.h>

#include "domain.h"
#include "qrdesk/audit_seal.h"
#include "qrdesk/auditbatch.h"
#include "qrdesk/auditexport.h"
#include "qrdesk/credential.h"
#include "qrdesk/import.h"
#include "qrdesk/signature.h"
#include "qrdesk/store.h"
#include "qrdesk/usb_mountd.h"
#include "qrdesk/usb_update.h"
#include "qrdesk/usb_stick.h"
#include "qrdesk/usb_watch.h"
#include "usb.h"

#define NOW              1795000000
#define DAY              86400
#define MANY_REVOCATIONS 200000 /* a 3.2 MiB list: several read chunks */

struct fx {
	char *dir;
	char db[4096];
	char bundle[4096];  /* a good bundle, outside any stick */
	char request[4096]; /* an export request for DESK-7 */
	struct store *store;
	struct domain *d;                  /* the back office (its export key opens exports) */
	struct signature_keypair desk_key; /* DESK-7's own key: signs its batches */
};

static void path(char *out, size_t cap, const struct fx *f, const char *name)
{
	snprintf(out, cap, "%s/%s", f->dir, name);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	f->dir = tu_mkdtemp();
	struct qd_errmsg why = {{0}};
	static struct domain d;
	char p[4096];
	path(p, sizeof(p), f, "bo");
	assert_int_equal(domain_init(p, NOW - 60 * DAY, &d, &why), QD_OK);
	long days[DOMAIN_DOC_TYPES];
	domain_publish_days_defaults(days);
	struct domain_publication pub;
	path(p, sizeof(p), f, "repo1");
	assert_int_equal(domain_publish(&d, p, days, NOW, &pub, &why), QD_OK);
	/* Many revocations, so the bundle is read in several chunks. */
	uint8_t *hashes = malloc((size_t)MANY_REVOCATIONS * TRUST_HASH_LEN);
	for (size_t i = 0; i < MANY_REVOCATIONS; i++) {
		char no[16];
		snprintf(no, sizeof(no), "26%08zu", i);
		credential_clearance_hash(no, hashes + i * TRUST_HASH_LEN);
	}
	size_t added = 0;
	assert_int_equal(domain_revocations_add(&d, hashes, MANY_REVOCATIONS, &added, &why), QD_OK);
	free(hashes);
	path(p, sizeof(p), f, "repo2");
	assert_int_equal(domain_publish(&d, p, days, NOW, &pub, &why), QD_OK);

	path(f->db, sizeof(f->db), f, "desk.db");
	assert_int_equal(store_open(f->db, STORE_OPEN_CREATE, &f->store, &why), QD_OK);
	assert_int_equal(store_root_pin(f->store, &d.keys[0], &why), QD_OK);
	struct import_result res;
	path(p, sizeof(p), f, "repo1/keyset.cose");
	assert_int_equal(import_file(f->store, p, NOW, &res, &why), QD_OK);

	static struct bundle b;
	memset(&b, 0, sizeof(b));
	b.kind = BUNDLE_UPDATE;
	snprintf(b.id, sizeof(b.id), "pulled-1");
	b.created_at = NOW;
	b.expires_at = NOW + 30 * DAY;
	snprintf(b.desk, sizeof(b.desk), "DESK-7");
	static const char *const docs[] = {"repo2/keyset.cose", "repo2/revocations.cose"};
	uint8_t *bytes[2];
	for (size_t i = 0; i < 2; i++) {
		path(p, sizeof(p), f, docs[i]);
		bytes[i] = tu_read_file(p, &b.docs[i].len);
		b.docs[i].bytes = bytes[i];
	}
	b.n_docs = 2;
	path(f->bundle, sizeof(f->bundle), f, "u.qrbundle");
	assert_int_equal(usb_sign_bundle(&d, &b, false, NULL, NOW, f->bundle, &why), QD_OK);
	free(bytes[0]);
	free(bytes[1]);
	memset(&b, 0, sizeof(b));
	b.kind = BUNDLE_EXPORT_REQUEST;
	snprintf(b.id, sizeof(b.id), "export-1");
	b.created_at = NOW;
	b.expires_at = NOW + DAY;
	snprintf(b.desk, sizeof(b.desk), "DESK-7");
	path(f->request, sizeof(f->request), f, "export-request");
	assert_int_equal(usb_sign_bundle(&d, &b, false, NULL, NOW, f->request, &why), QD_OK);
	f->d = &d;
	assert_int_equal(signature_keypair_generate(SIGNATURE_ALG_EDDSA, &f->desk_key), QD_OK);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	store_close(f->store);
	tu_rmtree(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

/* What a refused stick must leave as it was. */
struct snapshot {
	struct trust_freshness keyset, revocations;
	uint64_t revoked;
	bool have_bundle;
};

static void snap(struct store *s, struct snapshot *out)
{
	memset(out, 0, sizeof(*out));
	assert_int_equal(store_freshness_get(s, TRUST_DOC_KEYSET, &out->keyset), QD_OK);
	assert_int_equal(store_freshness_get(s, TRUST_DOC_REVOCATIONS, &out->revocations), QD_OK);
	assert_int_equal(store_revocation_count(s, &out->revoked), QD_OK);
	struct store_usb_bundle last;
	assert_int_equal(store_usb_bundle_last(s, &last, &out->have_bundle), QD_OK);
}

/* A stick with the good bundle on it, at DIR/name. */
static void make_stick(const struct fx *f, const char *name, char *root, size_t cap)
{
	path(root, cap, f, name);
	char q[4096 + 16], file[4096 + 32];
	mkdir(root, 0755);
	snprintf(q, sizeof(q), "%s/qrdesk", root);
	mkdir(q, 0755);
	snprintf(file, sizeof(file), "%s/u.qrbundle", q);
	tu_copy_file(f->bundle, file);
}

struct pull {
	char file[4096 + 32];
	int calls;
};

/* The stick is pulled once the first chunk is in: the rest of the file is gone. */
static void pull_stick(void *arg, const char *what, uint64_t done, uint64_t total)
{
	(void)what;
	struct pull *p = arg;
	if (p->calls++ == 0 && done < total)
		assert_int_equal(truncate(p->file, (off_t)done + 10), 0);
}

static void test_pulled_mid_read(void **state)
{
	struct fx *f = *state;
	char root[4096];
	make_stick(f, "pulled", root, sizeof(root));
	struct pull pull = {0};
	snprintf(pull.file, sizeof(pull.file), "%s/qrdesk/u.qrbundle", root);
	struct snapshot before, after;
	snap(f->store, &before);
	struct usb_options opt = {.desk_id = "DESK-7",
	                          .clock_now = NOW,
	                          .hooks = {.progress = pull_stick, .arg = &pull}};
	static struct usb_report rep;
	usb_process_stick(f->store, root, &opt, &rep);
	assert_true(pull.calls >= 1);
	assert_int_equal(rep.stage, USB_REJECTED);
	assert_int_equal(rep.bundle.status, QD_ERR_IO);
	assert_non_null(strstr(rep.headline, "shrank"));
	snap(f->store, &after);
	assert_memory_equal(&before, &after, sizeof(before));

	/* The same stick, whole: applied. */
	tu_copy_file(f->bundle, pull.file);
	opt.hooks.progress = NULL;
	usb_process_stick(f->store, root, &opt, &rep);
	assert_int_equal(rep.stage, USB_APPLIED);
	snap(f->store, &after);
	assert_int_equal(after.revoked, MANY_REVOCATIONS);
	assert_int_equal(after.revocations.version, 2);
}

/* A stick gone before its folder could be read is "could not be read", never "empty". */
static void test_pulled_before_read(void **state)
{
	struct fx *f = *state;
	char root[4096];
	make_stick(f, "gone", root, sizeof(root));
	char cmd[4200];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	assert_int_equal(system(cmd), 0);
	struct snapshot before, after;
	snap(f->store, &before);
	struct usb_options opt = {.desk_id = "DESK-7", .clock_now = NOW};
	static struct usb_report rep;
	assert_int_equal(usb_process_stick(f->store, root, &opt, &rep), QD_ERR_IO);
	assert_int_equal(rep.stage, USB_REJECTED);
	assert_non_null(strstr(rep.headline, "could not be read"));
	assert_null(strstr(rep.headline, "nothing to do"));
	snap(f->store, &after);
	assert_memory_equal(&before, &after, sizeof(before));
}

static void test_size_cap(void **state)
{
	struct fx *f = *state;
	char root[4096];
	make_stick(f, "capped", root, sizeof(root));
	struct snapshot before, after;
	snap(f->store, &before);
	struct usb_options opt = {.desk_id = "DESK-7", .clock_now = NOW, .max_bundle_bytes = 1024};
	static struct usb_report rep;
	usb_process_stick(f->store, root, &opt, &rep);
	assert_int_equal(rep.bundle.status, QD_ERR_TOO_LARGE);
	snap(f->store, &after);
	assert_memory_equal(&before, &after, sizeof(before));
}

/* ---- the export: signed batches, sealed; opened and unpacked by the back office ---- */

/* A stick with only the export request on it. */
static void export_stick(const struct fx *f, const char *name, char *root, size_t cap)
{
	path(root, cap, f, name);
	char q[4096 + 16], file[4096 + 32];
	mkdir(root, 0755);
	snprintf(q, sizeof(q), "%s/qrdesk", root);
	mkdir(q, 0755);
	snprintf(file, sizeof(file), "%s/export-request", q);
	tu_copy_file(f->request, file);
}

static void add_verdicts(const struct fx *f, int n)
{
	static const uint8_t hash[TRUST_HASH_LEN] = {9, 9};
	for (int i = 0; i < n; i++) {
		struct audit_record r = {.time_us = (int64_t)NOW * 1000000 + i,
		                         .source = "fifo",
		                         .verdict = "valid",
		                         .reason = "OK",
		                         .clearance_hash = hash,
		                         .desk = "DESK-7",
		                         .latency_us = 700};
		assert_int_equal(store_audit_append(f->store, &r, NULL), QD_OK);
	}
}

static uint64_t pending_rows(const struct fx *f)
{
	uint64_t n = 0;
	assert_int_equal(store_audit_pending_count(f->store, &n), QD_OK);
	return n;
}

/* Seal plain to the back office's export key as path (a made-up export). */
static void seal_to_back_office(const struct fx *f, const uint8_t *plain, size_t len,
                                const char *out)
{
	char p[4096];
	path(p, sizeof(p), f, "bo/export.pub");
	size_t hex_len = 0;
	uint8_t *hex = tu_read_file(p, &hex_len);
	uint8_t pub[32];
	char text[2 * sizeof(pub) + 1];
	assert_true(hex_len >= 2 * sizeof(pub));
	snprintf(text, sizeof(text), "%.*s", (int)(2 * sizeof(pub)), (const char *)hex);
	assert_int_equal(tu_hex_into(text, pub, sizeof(pub)), sizeof(pub));
	free(hex);
	uint8_t *sealed = malloc(len + crypto_box_SEALBYTES);
	assert_int_equal(crypto_box_seal(sealed, plain, len, pub), 0);
	FILE *fp = fopen(out, "wb");
	assert_non_null(fp);
	assert_int_equal(fwrite(sealed, 1, len + crypto_box_SEALBYTES, fp),
	                 len + crypto_box_SEALBYTES);
	assert_int_equal(fclose(fp), 0);
	free(sealed);
}

/* A made-up export of the given batches under desk, sealed as path; *refused what opening says. */
static enum qd_err open_made_up(const struct fx *f, const char *desk, const uint8_t *batch,
                                size_t batch_len, const char *file, struct qd_errmsg *why)
{
	const uint8_t *batches[1] = {batch};
	size_t lens[1] = {batch_len};
	struct cbor_writer w;
	cbor_writer_init(&w, NULL, 0);
	auditexport_put(&w, desk, "export-1", NOW, batches, lens, 1);
	uint8_t *plain = malloc(w.len);
	size_t cap = w.len;
	cbor_writer_init(&w, plain, cap);
	auditexport_put(&w, desk, "export-1", NOW, batches, lens, 1);
	seal_to_back_office(f, plain, w.len, file);
	free(plain);
	struct usb_export e;
	enum qd_err rc = usb_open_export(f->d, file, &e, why);
	if (rc == QD_OK)
		usb_export_free(&e);
	return rc;
}

static void test_export_batches(void **state)
{
	struct fx *f = *state;
	add_verdicts(f, 5);
	uint64_t waiting = pending_rows(f);
	assert_true(waiting >= 5);
	char root[4096], file[4096 + 160], out[4096], batch_file[4096 + 64];
	struct usb_options opt = {.desk_id = "DESK-7", .clock_now = NOW};
	static struct usb_report rep;

	/* No desk key: refused, nothing written, nothing marked. */
	export_stick(f, "nokey", root, sizeof(root));
	usb_process_stick(f->store, root, &opt, &rep);
	assert_int_equal(rep.export_.status, QD_ERR_NOT_PROVISIONED);
	assert_non_null(strstr(rep.export_.detail, "enroll"));
	snprintf(file, sizeof(file), "%s/qrdesk/export", root);
	assert_true(access(file, F_OK) != 0);
	assert_int_equal(pending_rows(f), waiting + 1); /* + the refusal's own row */

	/* With the key: every row waiting, as signed batches of the desk's chain. */
	opt.desk_key = &f->desk_key;
	export_stick(f, "exp", root, sizeof(root));
	usb_process_stick(f->store, root, &opt, &rep);
	assert_int_equal(rep.export_.status, QD_OK);
	assert_int_equal(rep.exported_rows, waiting + 1);
	assert_int_equal(rep.exported_batches, 1);
	assert_int_equal(pending_rows(f), 1); /* the export's own row */
	snprintf(file, sizeof(file), "%s/qrdesk/%s", root, rep.export_.file);
	struct qd_errmsg why = {{0}};
	struct usb_export e;
	assert_int_equal(usb_open_export(f->d, file, &e, &why), QD_OK);
	assert_int_equal(e.rows, waiting + 1);
	assert_string_equal(e.batches.request, "export-1");
	uint64_t seq = e.batches.batches[0].sequence;

	/* Unpacked as the upload names them; again: nothing new. */
	path(out, sizeof(out), f, "batches");
	assert_int_equal(mkdir(out, 0755), 0);
	size_t written = 0, same = 0;
	assert_int_equal(usb_export_unpack(&e, out, &written, &same, &why), QD_OK);
	assert_int_equal(written, 1);
	snprintf(batch_file, sizeof(batch_file), "%s/DESK-7/%llu.cose", out,
	         (unsigned long long)seq);
	size_t len = 0;
	uint8_t *bytes = tu_read_file(batch_file, &len);
	assert_int_equal(len, e.batches.batches[0].len);
	assert_memory_equal(bytes, e.batches.batches[0].bytes, len);
	free(bytes);
	assert_int_equal(usb_export_unpack(&e, out, &written, &same, &why), QD_OK);
	assert_int_equal(written, 0);
	assert_int_equal(same, 1);
	/* Other bytes under the name (a fork): refused, never overwritten. */
	FILE *fp = fopen(batch_file, "ab");
	assert_non_null(fp);
	fputc('x', fp);
	fclose(fp);
	assert_int_equal(usb_export_unpack(&e, out, &written, &same, &why), QD_ERR_EXISTS);
	assert_non_null(strstr(why.text, "other bytes"));
	bytes = tu_read_file(batch_file, &len);
	assert_int_equal(len, e.batches.batches[0].len + 1);
	free(bytes);

	/* The next export continues the chain: the next number, naming this one's hash. */
	struct auditbatch first;
	assert_int_equal(auditbatch_parse(e.batches.batches[0].bytes, e.batches.batches[0].len,
	                                  &first, &why),
	                 QD_OK);
	usb_export_free(&e);
	/* An upload round sealed the next batch and failed to deliver it: the stick carries the
	 * very same bytes under the same number. */
	struct audit_sealed up;
	bool found = false;
	assert_int_equal(audit_seal_next(f->store, 500, "DESK-7", &f->desk_key,
	                                 (int64_t)(NOW + 60) * 1000000, &up, &found, &why),
	                 QD_OK);
	assert_true(found);
	export_stick(f, "exp2", root, sizeof(root));
	usb_process_stick(f->store, root, &opt, &rep);
	assert_int_equal(rep.export_.status, QD_OK);
	snprintf(file, sizeof(file), "%s/qrdesk/%s", root, rep.export_.file);
	assert_int_equal(usb_open_export(f->d, file, &e, &why), QD_OK);
	assert_int_equal(e.batches.n_batches, 1);
	assert_int_equal(e.batches.batches[0].sequence, up.seq);
	assert_int_equal(e.batches.batches[0].len, up.len);
	assert_memory_equal(e.batches.batches[0].bytes, up.bytes, up.len);
	free(up.bytes);
	struct auditbatch second;
	assert_int_equal(auditbatch_parse(e.batches.batches[0].bytes, e.batches.batches[0].len,
	                                  &second, &why),
	                 QD_OK);
	assert_int_equal(second.sequence, seq + 1);
	assert_memory_equal(second.previous, first.hash, AUDITBATCH_HASH_LEN);
	assert_int_equal(second.n_rows, 1);

	/* Bad input to the back office: each refused with a clear error. */
	size_t sealed_len = 0;
	uint8_t *sealed = tu_read_file(file, &sealed_len);
	char bad[4096 + 16];
	path(bad, sizeof(bad), f, "bad.qrlog");
	/* truncated */
	fp = fopen(bad, "wb");
	assert_int_equal(fwrite(sealed, 1, sealed_len - 7, fp), sealed_len - 7);
	fclose(fp);
	struct usb_export x;
	assert_int_equal(usb_open_export(f->d, bad, &x, &why), QD_ERR_SIGNATURE);
	assert_non_null(strstr(why.text, "cannot open it"));
	free(sealed);
	/* another back office's key */
	static struct domain other;
	char p2[4096 + 16];
	path(p2, sizeof(p2), f, "bo-other");
	assert_int_equal(domain_init(p2, NOW - DAY, &other, &why), QD_OK);
	static struct bundle req;
	memset(&req, 0, sizeof(req));
	req.kind = BUNDLE_EXPORT_REQUEST;
	snprintf(req.id, sizeof(req.id), "other-1");
	req.created_at = NOW;
	req.expires_at = NOW + DAY;
	snprintf(req.desk, sizeof(req.desk), "any");
	path(p2, sizeof(p2), f, "other-request");
	assert_int_equal(usb_sign_bundle(&other, &req, false, NULL, NOW, p2, &why), QD_OK);
	assert_int_equal(usb_open_export(&other, file, &x, &why), QD_ERR_SIGNATURE);
	assert_non_null(strstr(why.text, "another domain's"));
	/* a bad batch inside */
	static const uint8_t junk[] = {0xd2, 0x84, 0x40, 0xa0, 0x41, 0x00, 0x40};
	assert_int_equal(open_made_up(f, "DESK-7", junk, sizeof(junk), bad, &why), QD_ERR_FORMAT);
	assert_non_null(strstr(why.text, "batch 1"));
	/* path tricks in the desk's name */
	const struct auditexport_batch *b0 = &e.batches.batches[0];
	assert_int_equal(open_made_up(f, "../x", b0->bytes, b0->len, bad, &why), QD_ERR_FORMAT);
	assert_non_null(strstr(why.text, "desk id"));
	assert_int_equal(open_made_up(f, "a/b", b0->bytes, b0->len, bad, &why), QD_ERR_FORMAT);
	/* a batch of another desk in DESK-8's export */
	assert_int_equal(open_made_up(f, "DESK-8", b0->bytes, b0->len, bad, &why), QD_ERR_FORMAT);
	assert_non_null(strstr(why.text, "DESK-7"));
	/* well-formed: opened */
	assert_int_equal(open_made_up(f, "DESK-7", b0->bytes, b0->len, bad, &why), QD_OK);
	usb_export_free(&e);
	char p[4096 + 16];
	snprintf(p, sizeof(p), "%s/x", out);
	assert_true(access(p, F_OK) != 0);
}

/* ---- udev mode's mounts on a loop device ------------------------------------------ */

static int run(const char *cmd)
{
	int rc = system(cmd);
	return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

struct mount_hook {
	const char *dir;
	int remounts;
};

static enum qd_err remount_hook(void *arg, bool writable, struct qd_errmsg *why)
{
	struct mount_hook *h = arg;
	h->remounts++;
	return usb_remount(h->dir, writable, why);
}

/* The export seals batches of the upload's size ([upload] batch_rows), never bigger: one
 * left open by a failed stick is sent by the upload as those bytes. */
static void test_export_batch_rows(void **state)
{
	struct fx *f = *state;
	add_verdicts(f, 5);
	uint64_t waiting = pending_rows(f);
	char root[4096], file[4096 + 160];
	struct usb_options opt = {
	        .desk_id = "DESK-7", .batch_rows = 2, .clock_now = NOW, .desk_key = &f->desk_key};
	static struct usb_report rep;
	uint64_t before = 0;
	uint8_t hash[32];
	struct qd_errmsg why = {{0}};
	assert_int_equal(store_upload_chain(f->store, &before, hash, &why), QD_OK);
	export_stick(f, "small", root, sizeof(root));
	usb_process_stick(f->store, root, &opt, &rep);
	assert_int_equal(rep.export_.status, QD_OK);
	assert_int_equal(rep.exported_rows, waiting);
	assert_int_equal(rep.exported_batches, (waiting + 1) / 2);
	/* The last batch: numbered on from the chain, at most batch_rows rows. */
	snprintf(file, sizeof(file), "%s/qrdesk/%s", root, rep.export_.file);
	struct usb_export e;
	assert_int_equal(usb_open_export(f->d, file, &e, &why), QD_OK);
	assert_int_equal(e.batches.n_batches, 1);
	assert_int_equal(e.batches.batches[0].sequence, before + rep.exported_batches);
	assert_true(e.batches.batches[0].rows >= 1 && e.batches.batches[0].rows <= 2);
	usb_export_free(&e);
}

static void test_fat_loop_mount(void **state)
{
	struct fx *f = *state;
	char img[4096], cmd[16384], dev[64] = "";
	path(img, sizeof(img), f, "stick.img");
	const char *fs = "vfat";
	const char *no = tu_loop_stick(img, &fs, dev, sizeof(dev));
	if (no != NULL) {
		print_message("SKIP: %s\n", no);
		skip();
	}
	if (strcmp(fs, "ext4") == 0)
		print_message("note: this kernel has no vfat: testing the mount steps on ext4\n");
	/* Fill it without mounting: mtools is not needed if we mount it writable once. */

	char mnt[4096];
	path(mnt, sizeof(mnt), f, "usb");
	mkdir(mnt, 0700);
	char dir[4096 + 8];
	snprintf(dir, sizeof(dir), "%s/loop", mnt);
	struct qd_errmsg why = {{0}};
	/* Put the bundle on the stick through a plain writable mount. */
	mkdir(dir, 0700);
	if (mount(dev, dir, fs, 0, NULL) != 0) {
		print_message("SKIP: cannot mount %s here: %s\n", fs, strerror(errno));
		snprintf(cmd, sizeof(cmd), "losetup -d %s", dev);
		(void)run(cmd);
		skip();
	}
	char q[4096 + 16], file[4096 + 256];
	snprintf(q, sizeof(q), "%s/qrdesk", dir);
	assert_int_equal(mkdir(q, 0755), 0);
	snprintf(file, sizeof(file), "%s/u.qrbundle", q);
	tu_copy_file(f->bundle, file);
	snprintf(file, sizeof(file), "%s/._u.qrbundle", q);
	tu_copy_file(f->bundle, file); /* macOS's shadow file: ignored */
	snprintf(file, sizeof(file), "%s/export-request", q);
	tu_copy_file(f->request, file);
	assert_int_equal(umount(dir), 0);
	rmdir(dir);

	/* udev mode's steps. */
	assert_int_equal(usb_mount(dev, "ntfs", dir, &why), QD_ERR_UNSUPPORTED);
	assert_int_equal(usb_mount(dev, fs, dir, &why), QD_OK);
	struct statvfs sv;
	assert_int_equal(statvfs(dir, &sv), 0);
	assert_true(sv.f_flag & ST_RDONLY);
	assert_true(sv.f_flag & ST_NOSUID);
	assert_true(sv.f_flag & ST_NODEV);
	assert_true(sv.f_flag & ST_NOEXEC);
	snprintf(file, sizeof(file), "%s/qrdesk/new", dir);
	assert_true(open(file, O_WRONLY | O_CREAT, 0644) < 0 && errno == EROFS);

	/* Bundle and export from the read-only stick; the export through a remount. */
	struct snapshot before, after;
	snap(f->store, &before);
	struct mount_hook hook = {.dir = dir};
	struct usb_options opt = {.desk_id = "DESK-7",
	                          .clock_now = NOW,
	                          .desk_key = &f->desk_key,
	                          .hooks = {.set_writable = remount_hook, .arg = &hook}};
	static struct usb_report rep;
	usb_process_stick(f->store, dir, &opt, &rep);
	snap(f->store, &after);
	/* The pulled-stick test may have applied this bundle already. */
	assert_true(rep.stage == USB_APPLIED || rep.stage == USB_UNCHANGED);
	assert_int_equal(rep.ignored, 1);
	assert_int_equal(after.revocations.version, 2);
	assert_int_equal(rep.export_.status, QD_OK);
	assert_int_equal(hook.remounts, 2); /* writable for the export, read-only again */
	assert_int_equal(statvfs(dir, &sv), 0);
	assert_true(sv.f_flag & ST_RDONLY);
	snprintf(file, sizeof(file), "%s/qrdesk/%s", dir, rep.export_.file);
	struct stat st;
	assert_int_equal(stat(file, &st), 0);
	assert_true(st.st_size > 48); /* sealed: at least the box overhead and a header */
	uint64_t left = 0;
	assert_int_equal(store_audit_count(f->store, &left), QD_OK);
	assert_true(left >= 1);
	/* The back office opens it: DESK-7's signed batches, every row given before. */
	struct usb_export e;
	assert_int_equal(usb_open_export(f->d, file, &e, &why), QD_OK);
	assert_false(e.lines);
	assert_string_equal(e.batches.desk, "DESK-7");
	assert_int_equal(e.batches.n_batches, 1);
	assert_int_equal(e.rows, rep.exported_rows);
	struct auditbatch ab;
	assert_int_equal(
	        auditbatch_parse(e.batches.batches[0].bytes, e.batches.batches[0].len, &ab, &why),
	        QD_OK);
	assert_int_equal(auditbatch_verify(&ab, f->desk_key.pub, f->desk_key.pub_len), QD_OK);
	usb_export_free(&e);
	uint64_t pending = 0;
	assert_int_equal(store_audit_pending_count(f->store, &pending), QD_OK);
	assert_int_equal(pending, 1); /* the export's own row, written after it */

	assert_int_equal(usb_unmount(dir, &why), QD_OK);
	assert_true(access(dir, F_OK) != 0); /* the mount point is gone too */
	snprintf(cmd, sizeof(cmd), "losetup -d %s", dev);
	assert_int_equal(run(cmd), 0);
}

/* udev mode starts its monitor (no udevd here to send events: docs/usb-bundle.md). */
static void test_udev_monitor_starts(void **state)
{
	struct fx *f = *state;
	struct loop *loop = NULL;
	assert_int_equal(loop_create(&loop), QD_OK);
	struct usb_stick_config cfg = {0};
	cfg.usb.mode = CONFIG_USB_UDEV;
	path(cfg.usb.mount_dir, sizeof(cfg.usb.mount_dir), f, "udev-mounts");
	path(cfg.store, sizeof(cfg.store), f, "desk.db");
	snprintf(cfg.desk_id, sizeof(cfg.desk_id), "DESK-7");
	struct usb_stick *w = NULL;
	struct qd_errmsg why = {{0}};
	/* Without its mount helper udev mode does not start. */
	assert_int_equal(usb_stick_start(loop, &cfg, &w, &why), QD_ERR_ARG);
	assert_null(w);
	assert_int_equal(usb_mountd_start(cfg.usb.mount_dir, NULL, &cfg.mountd, &why), QD_OK);
	enum qd_err rc = usb_stick_start(loop, &cfg, &w, &why);
	if (rc != QD_OK) {
		usb_mountd_stop(cfg.mountd);
		loop_destroy(loop);
		print_message("SKIP: no udev netlink socket here: %s\n", why.text);
		skip();
	}
	struct stat st;
	assert_int_equal(stat(cfg.usb.mount_dir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700); /* private */
	usb_stick_stop(w);
	usb_mountd_stop(cfg.mountd);
	/* automount mode on a folder that does not exist: a clear error, nothing left running */
	cfg.usb.mode = CONFIG_USB_AUTOMOUNT;
	path(cfg.usb.watch_dir, sizeof(cfg.usb.watch_dir), f, "no-such-folder");
	assert_int_equal(usb_stick_start(loop, &cfg, &w, &why), QD_ERR_IO);
	assert_null(w);
	assert_non_null(strstr(why.text, "cannot watch"));
	loop_destroy(loop);
}

int main(void)
{
	assert_int_equal(signature_init(), QD_OK);
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_size_cap),
	        cmocka_unit_test(test_pulled_mid_read),
	        cmocka_unit_test(test_pulled_before_read),
	        cmocka_unit_test(test_export_batches),
	        cmocka_unit_test(test_export_batch_rows),
	        cmocka_unit_test(test_fat_loop_mount),
	        cmocka_unit_test(test_udev_monitor_starts),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_upload.c - the audit upload (upload.c, the store's batch functions)
 * against a real HTTPS endpoint on 127.0.0.1: tests/support/upload_server.py,
 * Python's standard library behind TLS with a test CA made here by openssl.
 *
 * The store fails in every way the network does - connection refused, 500,
 * a hang past the desk's timeout, a reply lost after the batch was stored -
 * then succeeds; it must hold every row exactly once, in signed batches
 * chained 1, 2, 3, each retry carrying the very same bytes.  An object
 * already there with other bytes, a 409, a store that keeps other bytes than
 * it was given and a redirect to another host are reported and the rows stay
 * pending, and an error page that echoes the bearer token is not quoted.
 * Then retention, the batch format and the abort flag.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <sqlite3.h>

#include "qrdesk/auditbatch.h"
#include "qrdesk/store.h"
#include "qrdesk/upload.h"
#include "testutil.h"

extern char **environ;

#define NOW_US 1795000000000000LL
#define DAY_US (86400LL * 1000000LL)

struct fx {
	char *dir;
	char path[512], ca[512], cert[512], key[512], log[512], port_file[512], root[512];
	struct store *store;
	struct signature_keypair desk_key;
	pid_t server;
	char url[128];
};

static const char *source_path(const char *relative)
{
	static char path[4096];
	const char *self = __FILE__, *suffix = "tests/unit/test_upload.c";
	size_t n = strlen(self), m = strlen(suffix);
	if (n < m || strcmp(self + n - m, suffix) != 0)
		fail_msg("cannot find the source tree from __FILE__ = %s", self);
	snprintf(path, sizeof(path), "%.*s%s", (int)(n - m), self, relative);
	return path;
}

__attribute__((format(printf, 1, 2))) static void run_shell(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	int rc = system(cmd);
	if (rc != 0)
		fail_msg("command failed (%d): %s", rc, cmd);
}

/* A test CA and a certificate for 127.0.0.1 signed by it. */
static void make_certs(struct fx *fx)
{
	run_shell("cd %s && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
	          "-days 2 -subj '/CN=qrdesk upload test CA' -keyout ca.key -out ca.pem "
	          "2>/dev/null && openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
	          "-subj /CN=127.0.0.1 -keyout server.key -out server.csr 2>/dev/null && "
	          "printf 'subjectAltName=IP:127.0.0.1\\nextendedKeyUsage=serverAuth\\n' "
	          ">server.ext && openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key "
	          "-CAcreateserial -days 2 -extfile server.ext -out server.crt 2>/dev/null",
	          fx->dir);
}

/* A port nothing listens on (bound, then closed). */
static int free_port(void)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(s >= 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(s, (struct sockaddr *)&a, &len), 0);
	close(s);
	return ntohs(a.sin_port);
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* Start the endpoint with script; wait until it listens. */
static void server_start(struct fx *fx, const char *script, const char *hang_seconds)
{
	unlink(fx->port_file);
	const char *python = access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3";
	char *argv[] = {(char *)python,
	                (char *)source_path("tests/support/upload_server.py"),
	                "--cert",
	                fx->cert,
	                "--key",
	                fx->key,
	                "--port-file",
	                fx->port_file,
	                "--log",
	                fx->log,
	                "--script",
	                (char *)script,
	                "--hang-seconds",
	                (char *)hang_seconds,
	                "--root",
	                fx->root,
	                NULL};
	assert_int_equal(posix_spawnp(&fx->server, python, NULL, NULL, argv, environ), 0);
	/* Start-up is not timed: wait for the port file, bounded only by ctest's timeout. */
	for (;;) {
		size_t len = 0;
		uint8_t *port =
		        access(fx->port_file, R_OK) == 0 ? tu_read_file(fx->port_file, &len) : NULL;
		if (port != NULL) {
			snprintf(fx->url, sizeof(fx->url), "https://127.0.0.1:%.*s/audit", (int)len,
			         (const char *)port);
			free(port);
			return;
		}
		int status;
		if (waitpid(fx->server, &status, WNOHANG) == fx->server)
			fail_msg("the upload server exited (status %d)", status);
		sleep_ms(20);
	}
}

static void server_stop(struct fx *fx)
{
	if (fx->server > 0) {
		kill(fx->server, SIGTERM);
		waitpid(fx->server, NULL, 0);
		fx->server = 0;
	}
}

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	fx->dir = tu_mkdtemp();
	snprintf(fx->path, sizeof(fx->path), "%s/desk.db", fx->dir);
	snprintf(fx->ca, sizeof(fx->ca), "%s/ca.pem", fx->dir);
	snprintf(fx->cert, sizeof(fx->cert), "%s/server.crt", fx->dir);
	snprintf(fx->key, sizeof(fx->key), "%s/server.key", fx->dir);
	snprintf(fx->log, sizeof(fx->log), "%s/server.log", fx->dir);
	snprintf(fx->port_file, sizeof(fx->port_file), "%s/port", fx->dir);
	snprintf(fx->root, sizeof(fx->root), "%s/storage", fx->dir);
	assert_int_equal(mkdir(fx->root, 0755), 0);
	assert_int_equal(signature_keypair_generate(SIGNATURE_ALG_EDDSA, &fx->desk_key), QD_OK);
	make_certs(fx);
	struct qd_errmsg why = {{0}};
	assert_int_equal(store_open(fx->path, STORE_OPEN_CREATE, &fx->store, &why), QD_OK);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;
	server_stop(fx);
	store_close(fx->store);
	tu_rmtree(fx->dir);
	free(fx->dir);
	free(fx);
	return 0;
}

static void add_rows(struct fx *fx, int n, int64_t t0_us)
{
	static const uint8_t hash[TRUST_HASH_LEN] = {1, 2, 3};
	static const uint8_t kid[8] = {0xaa, 0xbb};
	for (int i = 0; i < n; i++) {
		struct audit_record r = {.time_us = t0_us + i,
		                         .source = "fifo",
		                         .verdict = i % 3 == 0 ? "invalid" : "valid",
		                         .reason = i % 3 == 0 ? "CARD_REVOKED" : "OK",
		                         .kid = kid,
		                         .kid_len = sizeof(kid),
		                         .clearance_hash = i % 2 ? hash : NULL,
		                         .desk = "DAC-T1-03",
		                         .latency_us = 900 + i};
		assert_int_equal(store_audit_append(fx->store, &r, NULL), QD_OK);
	}
}

static uint64_t pending(struct fx *fx)
{
	uint64_t n = 0;
	assert_int_equal(store_audit_pending_count(fx->store, &n), QD_OK);
	return n;
}

static struct upload_options options(struct fx *fx, const char *url)
{
	return (struct upload_options){.url = url,
	                               .ca_file = fx->ca,
	                               .timeout_s = 1,
	                               .batch_rows = 10,
	                               .desk = "DAC-T1-03",
	                               .desk_key = &fx->desk_key};
}

/* The open batch's id, without changing it (new_id is used only if none is open). */
static void open_batch(struct fx *fx, struct store_upload_batch *b)
{
	bool found = false;
	struct qd_errmsg why = {{0}};
	assert_int_equal(store_upload_batch_open(fx->store, 10, "unused-id", 0, b, &found, &why),
	                 QD_OK);
	assert_true(found);
	assert_string_not_equal(b->id, "unused-id");
}

static json_t *read_log(struct fx *fx)
{
	json_t *all = json_array();
	FILE *f = fopen(fx->log, "r");
	if (f == NULL)
		return all;
	char line[65536];
	while (fgets(line, sizeof(line), f) != NULL) {
		json_error_t err;
		json_t *o = json_loads(line, 0, &err);
		assert_non_null(o);
		json_array_append_new(all, o);
	}
	fclose(f);
	return all;
}

/* The stored batch DESK/seq.cose (malloc'd; NULL if absent). */
static uint8_t *stored(struct fx *fx, uint64_t seq, size_t *len)
{
	char p[700];
	snprintf(p, sizeof(p), "%s/audit/DAC-T1-03/%llu.cose", fx->root, (unsigned long long)seq);
	return access(p, R_OK) == 0 ? tu_read_file(p, len) : NULL;
}

/* Every stored batch: signed by the desk key, chained from 1; each row counted. */
static size_t check_storage(struct fx *fx, int *counted, int max_row)
{
	uint8_t previous[AUDITBATCH_HASH_LEN] = {0};
	size_t n = 0;
	for (uint64_t seq = 1;; seq++) {
		size_t len = 0;
		uint8_t *buf = stored(fx, seq, &len);
		if (buf == NULL)
			break;
		struct auditbatch b;
		struct qd_errmsg why = {{0}};
		if (auditbatch_parse(buf, len, &b, &why) != QD_OK)
			fail_msg("batch %llu: %s", (unsigned long long)seq, why.text);
		assert_int_equal(auditbatch_verify(&b, fx->desk_key.pub, fx->desk_key.pub_len),
		                 QD_OK);
		assert_string_equal(b.desk, "DAC-T1-03");
		assert_int_equal(b.sequence, seq);
		assert_memory_equal(b.previous, previous, sizeof(previous));
		memcpy(previous, b.hash, sizeof(previous));
		size_t at = 0;
		struct auditbatch_row row;
		while (auditbatch_row_next(&b, &at, &row)) {
			assert_true(row.id >= 1 && row.id <= max_row);
			counted[row.id]++;
		}
		free(buf);
		n++;
	}
	return n;
}

static void test_every_row_once_through_failures(void **state)
{
	struct fx *fx = *state;
	add_rows(fx, 25, NOW_US);
	struct upload_result res;

	/* 1: nothing listens: connection refused; the batch is opened, sealed and kept. */
	char refused[64];
	snprintf(refused, sizeof(refused), "https://127.0.0.1:%d/audit", free_port());
	struct upload_options o = options(fx, refused);
	assert_int_equal(upload_run(fx->store, &o, NOW_US, &res), QD_ERR_NETWORK);
	assert_non_null(strstr(res.why.text, "127.0.0.1"));
	assert_int_equal(res.rows, 0);
	assert_int_equal(pending(fx), 25);
	assert_string_equal(res.last_batch, "DAC-T1-03/1.cose");
	struct store_upload_batch first;
	open_batch(fx, &first);
	assert_int_equal(first.rows, 10);

	/* Rows that arrive meanwhile do not join the open batch. */
	add_rows(fx, 5, NOW_US + 100);

	/* 500, a hang past the 1 s timeout, a reply lost after the object was stored: every
	 * round fails somewhere, the rows of an unanswered batch stay pending, and a batch the
	 * store took while its reply was lost is found there by the next round. */
	server_start(fx, "500,hang,drop", "3");
	o = options(fx, fx->url);
	assert_int_equal(upload_run(fx->store, &o, NOW_US, &res), QD_ERR_NETWORK); /* 500 */
	assert_non_null(strstr(res.why.text, "HTTP status 500"));
	assert_non_null(strstr(res.why.text, "DAC-T1-03/1.cose"));
	assert_int_equal(pending(fx), 30);
	assert_int_equal(upload_run(fx->store, &o, NOW_US, &res), QD_ERR_NETWORK); /* hang */
	assert_int_equal(pending(fx), 30);
	/* The hung one is stored: this round finds it, then batch 2's reply is lost. */
	assert_int_equal(upload_run(fx->store, &o, NOW_US, &res), QD_ERR_NETWORK);
	assert_int_equal(res.batches, 1);
	assert_int_equal(pending(fx), 20);
	/* The endpoint works: batch 2 found there, then 3. */
	assert_int_equal(upload_run(fx->store, &o, NOW_US + 1, &res), QD_OK);
	assert_int_equal(res.rows, 20);
	assert_int_equal(res.batches, 2);
	assert_int_equal(pending(fx), 0);
	/* Nothing left: a round sends nothing. */
	assert_int_equal(upload_run(fx->store, &o, NOW_US + 2, &res), QD_OK);
	assert_int_equal(res.batches, 0);
	server_stop(fx);

	/* What the store holds: three batches, chained, every row once. */
	int counted[31] = {0};
	assert_int_equal(check_storage(fx, counted, 30), 3);
	for (int row = 1; row <= 30; row++)
		if (counted[row] != 1)
			fail_msg("row %d stored %d times", row, counted[row]);
	/* Every PUT of batch 1 carried the same bytes, asked not to replace, never over an
	 * object; batch 3 was PUT once. */
	json_t *log = read_log(fx);
	size_t i, first_sent = 0;
	json_t *e;
	const char *sha = NULL;
	json_array_foreach(log, i, e)
	{
		assert_false(json_is_true(json_object_get(e, "existed")));
		assert_string_equal(json_string_value(json_object_get(e, "if_none_match")), "*");
		if (strcmp(json_string_value(json_object_get(e, "path")),
		           "/audit/DAC-T1-03/1.cose") != 0)
			continue;
		first_sent++;
		const char *h = json_string_value(json_object_get(e, "sha256"));
		if (sha == NULL)
			sha = h;
		assert_string_equal(h, sha);
	}
	assert_int_equal(first_sent, 2); /* 500, then the hang (found stored afterwards) */
	assert_int_equal(json_array_size(log), 4);
	json_decref(log);
}

/* Other bytes under the batch's name, a 409, a store that keeps other bytes, a redirect to
 * another host: each reported, nothing overwritten, the rows pending. */
static void test_conflicts_reported(void **state)
{
	struct fx *fx = *state;
	add_rows(fx, 3, NOW_US);
	char dir[700];
	snprintf(dir, sizeof(dir), "%s/audit", fx->root);
	assert_int_equal(mkdir(dir, 0755), 0);
	snprintf(dir, sizeof(dir), "%s/audit/DAC-T1-03", fx->root);
	assert_int_equal(mkdir(dir, 0755), 0);
	char p[800];
	snprintf(p, sizeof(p), "%s/1.cose", dir);
	FILE *f = fopen(p, "wb");
	assert_non_null(f);
	fputs("another desk's batch", f);
	fclose(f);

	server_start(fx, "conflict,lie,redirect", "0");
	struct upload_options o = options(fx, fx->url);
	struct upload_result res;
	assert_int_equal(upload_run(fx->store, &o, NOW_US, &res), QD_ERR_EXISTS);
	assert_non_null(strstr(res.why.text, "not overwritten"));
	assert_int_equal(pending(fx), 3);
	size_t len = 0;
	uint8_t *there = stored(fx, 1, &len);
	assert_int_equal(len, strlen("another desk's batch"));
	free(there);
	json_t *log = read_log(fx);
	assert_int_equal(json_array_size(log), 0); /* never PUT over it */
	json_decref(log);

	assert_int_equal(unlink(p), 0);
	assert_int_equal(upload_run(fx->store, &o, NOW_US, &res), QD_ERR_EXISTS); /* 409 */
	assert_non_null(strstr(res.why.text, "409"));
	assert_int_equal(upload_run(fx->store, &o, NOW_US, &res), QD_ERR_EXISTS); /* lie */
	assert_non_null(strstr(res.why.text, "holds other bytes"));
	assert_int_equal(pending(fx), 3);
	assert_int_equal(unlink(p), 0);
	assert_int_equal(upload_run(fx->store, &o, NOW_US, &res), QD_ERR_NETWORK); /* 307 */
	assert_non_null(strstr(res.why.text, "HTTP status 307"));
	assert_int_equal(pending(fx), 3);
	/* Then a plain store: taken. */
	assert_int_equal(upload_run(fx->store, &o, NOW_US, &res), QD_OK);
	assert_int_equal(pending(fx), 0);
	int counted[4] = {0};
	assert_int_equal(check_storage(fx, counted, 3), 1);
}

static void test_batch_format(void **state)
{
	struct fx *fx = *state;
	add_rows(fx, 2, NOW_US);
	struct store_upload_batch b;
	bool found = false;
	struct qd_errmsg why = {{0}};
	assert_int_equal(store_upload_batch_open(fx->store, 10, "b-1", NOW_US, &b, &found, &why),
	                 QD_OK);
	assert_true(found);
	assert_string_equal(b.id, "b-1");
	uint64_t seq = 0;
	uint8_t *bytes = NULL;
	size_t len = 0;
	assert_int_equal(upload_batch_seal(fx->store, &b, "DESK-X", &fx->desk_key, 1795000000, &seq,
	                                   &bytes, &len, &why),
	                 QD_OK);
	assert_int_equal(seq, 1);
	struct auditbatch ab;
	assert_int_equal(auditbatch_parse(bytes, len, &ab, &why), QD_OK);
	assert_int_equal(auditbatch_verify(&ab, fx->desk_key.pub, fx->desk_key.pub_len), QD_OK);
	assert_string_equal(ab.desk, "DESK-X");
	assert_int_equal(ab.created_at, 1795000000);
	assert_int_equal(ab.n_rows, 2);
	static const uint8_t zeros[AUDITBATCH_HASH_LEN];
	assert_memory_equal(ab.previous, zeros, sizeof(zeros));
	size_t at = 0;
	struct auditbatch_row row;
	assert_true(auditbatch_row_next(&ab, &at, &row));
	assert_int_equal(row.id, 1);
	assert_int_equal(row.time_us, NOW_US);
	assert_memory_equal(row.verdict, "invalid", row.verdict_len);
	assert_memory_equal(row.reason, "CARD_REVOKED", row.reason_len);
	assert_memory_equal(row.source, "fifo", row.source_len);
	assert_int_equal(row.kid_len, 8);
	assert_null(row.clearance_hash);
	assert_int_equal(row.latency_us, 900);
	assert_true(auditbatch_row_next(&ab, &at, &row));
	assert_non_null(row.clearance_hash);
	assert_int_equal(row.clearance_hash[0], 1);
	assert_false(auditbatch_row_next(&ab, &at, &row));
	uint8_t hash1[AUDITBATCH_HASH_LEN];
	memcpy(hash1, ab.hash, sizeof(hash1));

	/* Sealed once: asked again (a retry, a restart), the very same bytes. */
	uint8_t *again = NULL;
	size_t again_len = 0;
	uint64_t seq2 = 0;
	assert_int_equal(upload_batch_seal(fx->store, &b, "DESK-X", &fx->desk_key, 1795009999,
	                                   &seq2, &again, &again_len, &why),
	                 QD_OK);
	assert_int_equal(seq2, 1);
	assert_int_equal(again_len, len);
	assert_memory_equal(again, bytes, len);
	free(again);
	free(bytes);

	/* Taken: the chain moves on; a second acknowledgement changes nothing. */
	assert_int_equal(store_upload_batch_done(fx->store, &b, NOW_US, &why), QD_OK);
	assert_int_equal(pending(fx), 0);
	add_rows(fx, 1, NOW_US + 5);
	assert_int_equal(store_upload_batch_done(fx->store, &b, NOW_US, &why), QD_OK);
	assert_int_equal(pending(fx), 1);
	assert_int_equal(store_upload_batch_open(fx->store, 10, "b-2", NOW_US, &b, &found, &why),
	                 QD_OK);
	assert_int_equal(upload_batch_seal(fx->store, &b, "DESK-X", &fx->desk_key, 1795000001, &seq,
	                                   &bytes, &len, &why),
	                 QD_OK);
	assert_int_equal(seq, 2);
	assert_int_equal(auditbatch_parse(bytes, len, &ab, &why), QD_OK);
	assert_memory_equal(ab.previous, hash1, sizeof(hash1));
	free(bytes);
}

/*
 * Two ways out of one chain (the upload and the USB export, each on its own store connection):
 * a batch sealed by one is the same bytes for the other; the one that delivers it first closes
 * it, the other's acknowledgement changes nothing, a seal with a stale number is refused, and the
 * next batch names the first one's hash.
 */
static void test_two_ways_one_chain(void **state)
{
	struct fx *fx = *state;
	add_rows(fx, 3, NOW_US);
	struct store *other = NULL;
	struct qd_errmsg why = {{0}};
	assert_int_equal(store_open(fx->path, STORE_OPEN_READWRITE, &other, &why), QD_OK);
	struct audit_sealed up, usb;
	bool found = false;
	assert_int_equal(
	        audit_seal_next(fx->store, 2, "DESK-X", &fx->desk_key, NOW_US, &up, &found, &why),
	        QD_OK);
	assert_true(found);
	assert_int_equal(up.seq, 1);
	/* Later, another size asked: still the open batch, the very same bytes. */
	assert_int_equal(
	        audit_seal_next(other, 50, "DESK-X", &fx->desk_key, NOW_US + 7, &usb, &found, &why),
	        QD_OK);
	assert_true(found);
	assert_int_equal(usb.seq, 1);
	assert_string_equal(usb.batch.id, up.batch.id);
	assert_int_equal(usb.len, up.len);
	assert_memory_equal(usb.bytes, up.bytes, up.len);
	struct auditbatch first;
	assert_int_equal(auditbatch_parse(up.bytes, up.len, &first, &why), QD_OK);
	assert_int_equal(first.n_rows, 2);
	/* The stick takes it first; the network's late acknowledgement changes nothing. */
	assert_int_equal(store_upload_batch_done(other, &usb.batch, NOW_US, &why), QD_OK);
	assert_int_equal(store_upload_batch_done(fx->store, &up.batch, NOW_US, &why), QD_OK);
	assert_int_equal(pending(fx), 1);
	/* A seal with the number already used is refused, whoever asks. */
	struct store_upload_batch next;
	assert_int_equal(
	        store_upload_batch_open(fx->store, 10, "stale", NOW_US, &next, &found, &why),
	        QD_OK);
	assert_int_equal(store_upload_batch_seal(fx->store, &next, 1, up.bytes, up.len, &why),
	                 QD_ERR_EXISTS);
	free(up.bytes);
	free(usb.bytes);
	assert_int_equal(
	        audit_seal_next(fx->store, 10, "DESK-X", &fx->desk_key, NOW_US, &up, &found, &why),
	        QD_OK);
	assert_int_equal(up.seq, 2);
	struct auditbatch second;
	assert_int_equal(auditbatch_parse(up.bytes, up.len, &second, &why), QD_OK);
	assert_memory_equal(second.previous, first.hash, AUDITBATCH_HASH_LEN);
	assert_int_equal(second.n_rows, 1);
	assert_int_equal(store_upload_batch_done(fx->store, &up.batch, NOW_US, &why), QD_OK);
	free(up.bytes);
	/* The chain never moves back: the first batch acknowledged again leaves it at 2. */
	assert_int_equal(store_upload_batch_done(other, &usb.batch, NOW_US, &why), QD_OK);
	uint64_t last = 0;
	uint8_t hash[AUDITBATCH_HASH_LEN];
	assert_int_equal(store_upload_chain(other, &last, hash, &why), QD_OK);
	assert_int_equal(last, 2);
	assert_memory_equal(hash, second.hash, AUDITBATCH_HASH_LEN);
	assert_int_equal(
	        audit_seal_next(other, 10, "DESK-X", &fx->desk_key, NOW_US, &usb, &found, &why),
	        QD_OK);
	assert_false(found);
	store_close(other);
}

/*
 * The other way out sealing and delivering the batch between this one's two reads of its rows
 * (SQLite's own trace hook on this connection, the store's real code on both): "the other way
 * took it" (the next batch sealed), never a store fault.
 */
static struct {
	struct store *other; /* the other way out */
	const struct signature_keypair *kp;
	int reads;
	bool took;
} race;

static int on_stmt(unsigned type, void *ctx, void *stmt, void *sql)
{
	(void)ctx;
	(void)stmt;
	if (type != SQLITE_TRACE_STMT || strstr(sql, "SELECT id, time_us, source") == NULL ||
	    ++race.reads != 2)
		return 0;
	struct audit_sealed sb;
	bool found = false;
	struct qd_errmsg why = {{0}};
	race.took = audit_seal_next(race.other, 2, "DESK-X", race.kp, NOW_US, &sb, &found, &why) ==
	                    QD_OK &&
	            found && sb.seq == 1 &&
	            store_upload_batch_done(race.other, &sb.batch, NOW_US, &why) == QD_OK;
	free(sb.bytes);
	return 0;
}

static int trace_rows(sqlite3 *db, char **err, const struct sqlite3_api_routines *api)
{
	(void)err;
	(void)api;
	sqlite3_trace_v2(db, SQLITE_TRACE_STMT, on_stmt, NULL);
	return SQLITE_OK;
}

static void test_delivered_while_sealing(void **state)
{
	struct fx *fx = *state;
	add_rows(fx, 3, NOW_US);
	struct store *traced = NULL;
	struct qd_errmsg why = {{0}};
	race.other = fx->store;
	race.kp = &fx->desk_key;
	assert_int_equal(sqlite3_auto_extension((void (*)(void))trace_rows), SQLITE_OK);
	enum qd_err rc = store_open(fx->path, STORE_OPEN_READWRITE, &traced, &why);
	sqlite3_cancel_auto_extension((void (*)(void))trace_rows);
	assert_int_equal(rc, QD_OK);
	struct audit_sealed sb;
	bool found = false;
	assert_int_equal(
	        audit_seal_next(traced, 2, "DESK-X", &fx->desk_key, NOW_US, &sb, &found, &why),
	        QD_OK);
	assert_true(race.took); /* batch 1 went the other way between the reads */
	assert_true(found);
	assert_int_equal(sb.seq, 2);
	struct auditbatch b;
	assert_int_equal(auditbatch_parse(sb.bytes, sb.len, &b, &why), QD_OK);
	assert_int_equal(b.n_rows, 1);
	assert_int_equal(store_upload_batch_done(traced, &sb.batch, NOW_US, &why), QD_OK);
	free(sb.bytes);
	assert_int_equal(pending(fx), 0);
	store_close(traced);
}

/* Retention as the worker runs it with upload set up: only rows copied go. */
static enum qd_err upload_purge(struct store *store, uint32_t days, int64_t now_us,
                                uint64_t *purged)
{
	struct store_retention r = {
	        .before_us = now_us - (int64_t)days * DAY_US,
	        .keep_until_copied = true,
	        .now = now_us / 1000000,
	        .max_rows = 3, /* more than one chunk */
	};
	struct store_retention_result res = {.more = true};
	*purged = 0;
	while (res.more) {
		enum qd_err rc = store_audit_retain(store, &r, &res, NULL);
		if (rc != QD_OK)
			return rc;
		*purged += res.rows;
	}
	return QD_OK;
}

static void test_retention(void **state)
{
	struct fx *fx = *state;
	add_rows(fx, 4, NOW_US - 40 * DAY_US); /* old */
	add_rows(fx, 3, NOW_US - 1 * DAY_US);  /* recent */
	struct store_upload_batch b;
	bool found = false;
	struct qd_errmsg why = {{0}};
	assert_int_equal(store_upload_batch_open(fx->store, 5, "r-1", NOW_US, &b, &found, &why),
	                 QD_OK);
	assert_int_equal(store_upload_batch_done(fx->store, &b, NOW_US, &why), QD_OK);
	/* Uploaded: rows 1-5 (4 old, 1 recent); waiting: 6-7 (recent). Add an old row not
	 * uploaded: retention never deletes it. */
	add_rows(fx, 1, NOW_US - 400 * DAY_US);
	uint64_t purged = 0, total = 0;
	assert_int_equal(upload_purge(fx->store, 30, NOW_US, &purged), QD_OK);
	assert_int_equal(purged, 4);
	assert_int_equal(store_audit_count(fx->store, &total), QD_OK);
	assert_int_equal(total, 4);
	assert_int_equal(pending(fx), 3);
	assert_int_equal(upload_purge(fx->store, 30, NOW_US, &purged), QD_OK);
	assert_int_equal(purged, 0);
}

struct abort_ctx {
	struct fx *fx;
	struct upload_options o;
	struct upload_result res;
};

static void *upload_thread(void *arg)
{
	struct abort_ctx *a = arg;
	(void)upload_run(a->fx->store, &a->o, NOW_US, &a->res);
	return NULL;
}

/* The daemon's stop: the flag ends a PUT the store is sitting on. */
static void test_abort_in_flight(void **state)
{
	struct fx *fx = *state;
	add_rows(fx, 3, NOW_US);
	server_start(fx, "hang", "600");
	atomic_bool abort_flag;
	atomic_init(&abort_flag, false);
	struct abort_ctx a = {.fx = fx, .o = options(fx, fx->url)};
	a.o.timeout_s = 600; /* only the flag can end it within the test's time limit */
	a.o.abort = &abort_flag;
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, upload_thread, &a), 0);
	/* Wait until the endpoint has the batch (its log line), then stop. */
	for (;;) {
		struct stat st;
		if (stat(fx->log, &st) == 0 && st.st_size > 0)
			break;
		sleep_ms(20);
	}
	atomic_store(&abort_flag, true);
	pthread_join(t, NULL);
	assert_int_equal(a.res.status, QD_ERR_NETWORK);
	assert_non_null(strstr(a.res.why.text, "shutting down"));
	assert_int_equal(pending(fx), 3);
}

static void test_refuses_plain_http(void **state)
{
	struct fx *fx = *state;
	add_rows(fx, 1, NOW_US);
	struct upload_options o = options(fx, "http://127.0.0.1:1/audit");
	struct upload_result res;
	assert_int_equal(upload_run(fx->store, &o, NOW_US, &res), QD_ERR_ARG);
	assert_int_equal(pending(fx), 1);
}

/*
 * An error page that echoes the request's Authorization header: shown when the token is past
 * the bytes a message quotes (the first 120), hidden when it is within them; rows pending.
 */
static void test_token_echo(void **state)
{
	struct fx *fx = *state;
	add_rows(fx, 2, NOW_US);
	server_start(fx, "echofar,echo", "0");
	struct upload_options o = options(fx, fx->url);
	o.bearer_token = "qd-unit-Token-0123456789";
	struct upload_result res;
	assert_int_equal(upload_run(fx->store, &o, NOW_US, &res), QD_ERR_NETWORK);
	assert_non_null(strstr(res.why.text, "HTTP status 401: denied by the gateway. Ask the"));
	assert_null(strstr(res.why.text, "not shown"));
	assert_null(strstr(res.why.text, "Token-01"));
	assert_int_equal(pending(fx), 2);
	assert_int_equal(upload_run(fx->store, &o, NOW_US, &res), QD_ERR_NETWORK);
	assert_non_null(strstr(res.why.text, "HTTP status 401: (a reply that quotes the request's "
	                                     "token: not shown)"));
	assert_null(strstr(res.why.text, "Token-01"));
	assert_int_equal(pending(fx), 2);
	assert_int_equal(upload_run(fx->store, &o, NOW_US, &res), QD_OK);
	assert_int_equal(pending(fx), 0);
}

/* The key pin of a PEM key file: what libcurl's CURLOPT_PINNEDPUBLICKEY takes. */
static void pin_of(struct fx *fx, const char *key, char *out, size_t cap)
{
	char file[600];
	snprintf(file, sizeof(file), "%s/pin.txt", fx->dir);
	run_shell("openssl pkey -in %s -pubout -outform der 2>/dev/null | openssl dgst -sha256 "
	          "-binary | base64 > %s",
	          key, file);
	size_t len = 0;
	char *b64 = (char *)tu_read_file(file, &len);
	while (len > 0 && (b64[len - 1] == '\n' || b64[len - 1] == '\r'))
		len--;
	snprintf(out, cap, "sha256//%.*s", (int)len, b64);
	free(b64);
}

/* The upload honours a key pin as the sync does: a wrong one refuses the endpoint. */
static void test_pin(void **state)
{
	struct fx *fx = *state;
	add_rows(fx, 3, NOW_US);
	server_start(fx, "", "0");
	char right[128], wrong[128];
	pin_of(fx, fx->key, right, sizeof(right));
	char ca_key[600];
	snprintf(ca_key, sizeof(ca_key), "%s/ca.key", fx->dir);
	pin_of(fx, ca_key, wrong, sizeof(wrong));
	struct upload_options o = options(fx, fx->url);
	o.pinned_public_key = wrong;
	struct upload_result res;
	assert_int_equal(upload_run(fx->store, &o, NOW_US, &res), QD_ERR_NETWORK);
	assert_int_equal(pending(fx), 3);
	json_t *log = read_log(fx);
	assert_int_equal(json_array_size(log), 0); /* refused before a byte was sent */
	json_decref(log);
	o.pinned_public_key = right;
	assert_int_equal(upload_run(fx->store, &o, NOW_US, &res), QD_OK);
	assert_int_equal(res.rows, 3);
	assert_int_equal(pending(fx), 0);
}

/*
 * A CONNECT proxy on 127.0.0.1, a thread per connection until its listener is shut down:
 * it keeps the first request line, opens the tunnel and relays both ways until either side
 * closes.
 */
struct proxy {
	int listener;
	int port;
	char request[256];
};

static void proxy_one(struct proxy *p, int c);

struct proxy_conn {
	struct proxy *p;
	int c;
};

static void *proxy_conn_thread(void *arg)
{
	struct proxy_conn pc = *(struct proxy_conn *)arg;
	free(arg);
	proxy_one(pc.p, pc.c);
	return NULL;
}

static void *proxy_thread(void *arg)
{
	struct proxy *p = arg;
	int c;
	while ((c = accept(p->listener, NULL, NULL)) >= 0) {
		struct proxy_conn *pc = malloc(sizeof(*pc));
		pthread_t t;
		if (pc == NULL) {
			close(c);
			continue;
		}
		*pc = (struct proxy_conn){p, c};
		if (pthread_create(&t, NULL, proxy_conn_thread, pc) != 0) {
			free(pc);
			close(c);
			continue;
		}
		pthread_detach(t);
	}
	return NULL;
}

static void proxy_one(struct proxy *p, int c)
{
	char head[2048];
	size_t n = 0;
	while (n < sizeof(head) - 1) {
		ssize_t r = read(c, head + n, sizeof(head) - 1 - n);
		if (r <= 0)
			break;
		n += (size_t)r;
		head[n] = '\0';
		if (strstr(head, "\r\n\r\n") != NULL)
			break;
	}
	head[n] = '\0';
	char *eol = strstr(head, "\r\n");
	if (eol != NULL && p->request[0] == '\0')
		snprintf(p->request, sizeof(p->request), "%.*s", (int)(eol - head), head);
	int port = 0;
	int t = -1;
	if (sscanf(head, "CONNECT 127.0.0.1:%d ", &port) == 1) {
		t = socket(AF_INET, SOCK_STREAM, 0);
		struct sockaddr_in a = {.sin_family = AF_INET,
		                        .sin_port = htons((uint16_t)port),
		                        .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
		if (t >= 0 && connect(t, (struct sockaddr *)&a, sizeof(a)) != 0) {
			close(t);
			t = -1;
		}
	}
	static const char ok[] = "HTTP/1.1 200 Connection established\r\n\r\n";
	static const char no[] = "HTTP/1.1 502 Bad Gateway\r\n\r\n";
	if (t < 0) {
		(void)!write(c, no, sizeof(no) - 1);
		close(c);
		return;
	}
	(void)!write(c, ok, sizeof(ok) - 1);
	struct pollfd fds[2] = {{.fd = c, .events = POLLIN}, {.fd = t, .events = POLLIN}};
	for (;;) {
		if (poll(fds, 2, -1) < 0)
			break;
		char buf[16384];
		int from = (fds[0].revents & (POLLIN | POLLHUP)) ? 0 : 1;
		ssize_t r = read(fds[from].fd, buf, sizeof(buf));
		if (r <= 0 || write(fds[1 - from].fd, buf, (size_t)r) != r)
			break;
	}
	close(t);
	close(c);
}

/* The upload goes through the configured proxy, as the sync does. */
static void test_proxy(void **state)
{
	struct fx *fx = *state;
	add_rows(fx, 2, NOW_US);
	server_start(fx, "", "0");
	struct proxy p = {0};
	p.listener = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(p.listener >= 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t alen = sizeof(a);
	assert_int_equal(bind(p.listener, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(p.listener, 8), 0);
	assert_int_equal(getsockname(p.listener, (struct sockaddr *)&a, &alen), 0);
	p.port = ntohs(a.sin_port);
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, proxy_thread, &p), 0);
	char proxy[64];
	snprintf(proxy, sizeof(proxy), "http://127.0.0.1:%d", p.port);
	struct upload_options o = options(fx, fx->url);
	o.timeout_s = 30;
	o.proxy = proxy;
	struct upload_result res;
	assert_int_equal(upload_run(fx->store, &o, NOW_US, &res), QD_OK);
	shutdown(p.listener, SHUT_RDWR);
	pthread_join(t, NULL);
	close(p.listener);
	assert_int_equal(res.rows, 2);
	assert_int_equal(pending(fx), 0);
	char want[64];
	snprintf(want, sizeof(want), "CONNECT %s", fx->url + strlen("https://"));
	*strchr(want + strlen("CONNECT "), '/') = '\0';
	assert_true(strncmp(p.request, want, strlen(want)) == 0);
}

/* A bearer token file: what is taken, and every way it is refused, never quoting the bytes. */
static void write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(path, mode), 0);
}

static void test_token_file(void **state)
{
	(void)state;
	char dir[] = "/tmp/qrdesk-token-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[64], link_path[64], tok[UPLOAD_TOKEN_MAX + 1];
	snprintf(path, sizeof(path), "%s/token", dir);
	snprintf(link_path, sizeof(link_path), "%s/link", dir);
	struct qd_errmsg why = {{0}};

	write_file(path, "ya29.a0-B_c~d+e/f==\n", 0600);
	assert_int_equal(upload_token_load(path, tok, sizeof(tok), &why), QD_OK);
	assert_string_equal(tok, "ya29.a0-B_c~d+e/f==");
	write_file(path, "abc\r\n", 0640);
	assert_int_equal(upload_token_load(path, tok, sizeof(tok), &why), QD_OK);
	assert_string_equal(tok, "abc");
	write_file(path, "abc", 0600);
	assert_int_equal(upload_token_load(path, tok, sizeof(tok), &why), QD_OK);
	assert_string_equal(tok, "abc");

	static const char *const bad[] = {
	        "",          "\n",        "se cret\n",  "secret\n\n",  "sec\nret",
	        "=secret\n", "sec=ret\n", "secret\t\n", "s\xc3\xa9\n", "secret\r",
	        "\r\n",      "secret \n", "sec\"ret\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		write_file(path, bad[i], 0600);
		memset(&why, 0, sizeof(why));
		enum qd_err rc = upload_token_load(path, tok, sizeof(tok), &why);
		if (rc != QD_ERR_FORMAT || tok[0] != '\0' || strstr(why.text, path) == NULL ||
		    (strlen(bad[i]) > 3 && strstr(why.text, "sec") != NULL))
			fail_msg("bad token %zu: %s, \"%s\", why: %s", i, qd_err_name(rc), tok,
			         why.text);
	}
	/* One byte past the longest. */
	char *big = malloc(UPLOAD_TOKEN_MAX + 2);
	assert_non_null(big);
	memset(big, 'a', UPLOAD_TOKEN_MAX + 1);
	big[UPLOAD_TOKEN_MAX + 1] = '\0';
	write_file(path, big, 0600);
	assert_int_equal(upload_token_load(path, tok, sizeof(tok), &why), QD_ERR_FORMAT);
	assert_non_null(strstr(why.text, "longer than"));
	big[UPLOAD_TOKEN_MAX] = '\n'; /* the longest, with its line end: taken */
	write_file(path, big, 0600);
	assert_int_equal(upload_token_load(path, tok, sizeof(tok), &why), QD_OK);
	assert_int_equal(strlen(tok), UPLOAD_TOKEN_MAX);
	free(big);

	/* Modes others could read or change, a link, a folder, nothing there. */
	static const mode_t open_modes[] = {0604, 0602, 0620, 0666};
	for (size_t i = 0; i < sizeof(open_modes) / sizeof(open_modes[0]); i++) {
		write_file(path, "abc\n", open_modes[i]);
		assert_int_equal(upload_token_load(path, tok, sizeof(tok), &why), QD_ERR_PERM);
		assert_non_null(strstr(why.text, "lets others read or change it"));
		assert_string_equal(tok, "");
	}
	write_file(path, "abc\n", 0600);
	assert_int_equal(symlink(path, link_path), 0);
	assert_int_equal(upload_token_load(link_path, tok, sizeof(tok), &why), QD_ERR_IO);
	assert_non_null(strstr(why.text, "symbolic link"));
	assert_int_equal(upload_token_load(dir, tok, sizeof(tok), &why), QD_ERR_IO);
	assert_non_null(strstr(why.text, "not a regular file"));
	unlink(link_path);
	unlink(path);
	assert_int_equal(upload_token_load(path, tok, sizeof(tok), &why), QD_ERR_NOT_FOUND);
	char small[8];
	assert_int_equal(upload_token_load(path, small, sizeof(small), &why), QD_ERR_ARG);
	assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || signature_init() != QD_OK)
		return 1;
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_every_row_once_through_failures, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_conflicts_reported, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_batch_format, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_two_ways_one_chain, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_delivered_while_sealing, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_retention, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_abort_in_flight, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_refuses_plain_http, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_token_echo, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_pin, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_proxy, setup, teardown),
	        cmocka_unit_test(test_token_file),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return rc;
}

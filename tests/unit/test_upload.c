/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_upload.c - the audit upload (upload.c, the store's batch functions)
 * against a real HTTPS endpoint on 127.0.0.1: tests/support/upload_server.py,
 * Python's standard library behind TLS with a test CA made here by openssl.
 *
 * The endpoint fails in every way the network does - connection refused,
 * 500, a hang past the desk's timeout, a reply lost after the batch was
 * counted - then succeeds; it must have counted every row exactly once, each
 * retry carrying the same rows under the same batch id.  Then retention, the
 * body format and the abort flag.
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

#include "qrdesk/store.h"
#include "qrdesk/upload.h"
#include "testutil.h"

extern char **environ;

#define NOW_US 1795000000000000LL
#define DAY_US (86400LL * 1000000LL)

struct fx {
	char *dir;
	char path[512], ca[512], cert[512], key[512], log[512], port_file[512];
	struct store *store;
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
	                               .desk = "DAC-T1-03"};
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

static void test_every_row_once_through_failures(void **state)
{
	struct fx *fx = *state;
	add_rows(fx, 25, NOW_US);
	struct upload_result res;

	/* 1: nothing listens: connection refused; the batch is opened and kept. */
	char refused[64];
	snprintf(refused, sizeof(refused), "https://127.0.0.1:%d/audit", free_port());
	struct upload_options o = options(fx, refused);
	assert_int_equal(upload_run(fx->store, &o, NOW_US, &res), QD_ERR_NETWORK);
	assert_non_null(strstr(res.why.text, "127.0.0.1"));
	assert_int_equal(res.rows, 0);
	assert_int_equal(pending(fx), 25);
	struct store_upload_batch first;
	open_batch(fx, &first);
	assert_int_equal(first.rows, 10);
	assert_string_equal(res.last_batch, first.id);

	/* Rows that arrive meanwhile do not join the open batch. */
	add_rows(fx, 5, NOW_US + 100);

	/* 2-4: 500, a hang past the 1 s timeout, a reply lost after the batch was counted. */
	server_start(fx, "500,hang,drop", "3");
	o = options(fx, fx->url);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(upload_run(fx->store, &o, NOW_US, &res), QD_ERR_NETWORK);
		assert_string_equal(res.last_batch, first.id);
		assert_int_equal(pending(fx), 30);
	}
	assert_non_null(strstr(res.why.text, first.id));

	/* 5: the endpoint works: the same batch again, then the rest. */
	assert_int_equal(upload_run(fx->store, &o, NOW_US + 1, &res), QD_OK);
	assert_int_equal(res.rows, 30);
	assert_int_equal(res.batches, 3);
	assert_int_equal(pending(fx), 0);
	/* Nothing left: a round sends nothing. */
	assert_int_equal(upload_run(fx->store, &o, NOW_US + 2, &res), QD_OK);
	assert_int_equal(res.batches, 0);
	server_stop(fx);

	/* What the endpoint saw: every row counted once; the first batch id every time with
	 * the same rows; no line without its batch id. */
	json_t *log = read_log(fx);
	int counted[31] = {0};
	size_t i;
	json_t *e;
	size_t first_sent = 0;
	json_array_foreach(log, i, e)
	{
		const char *batch = json_string_value(json_object_get(e, "batch"));
		const char *action = json_string_value(json_object_get(e, "action"));
		assert_int_equal(json_integer_value(json_object_get(e, "bad_lines")), 0);
		assert_string_not_equal(action, "mismatch");
		assert_string_equal(json_string_value(json_object_get(e, "desk")), "DAC-T1-03");
		json_t *rows = json_object_get(e, "rows");
		char n[16];
		snprintf(n, sizeof(n), "%zu", json_array_size(rows));
		assert_string_equal(json_string_value(json_object_get(e, "header_rows")), n);
		if (strcmp(batch, first.id) == 0) {
			first_sent++;
			assert_int_equal(json_array_size(rows), 10);
			assert_int_equal(json_integer_value(json_array_get(rows, 0)),
			                 first.first_id);
		}
		bool counts = !json_is_true(json_object_get(e, "duplicate")) &&
		              strcmp(action, "500") != 0;
		size_t j;
		json_t *id;
		json_array_foreach(rows, j, id)
		{
			json_int_t row = json_integer_value(id);
			assert_true(row >= 1 && row <= 30);
			counted[row] += counts;
		}
	}
	assert_int_equal(first_sent, 4); /* 500, hang, drop, then the accepted retry */
	for (int row = 1; row <= 30; row++)
		if (counted[row] != 1)
			fail_msg("row %d counted %d times", row, counted[row]);
	json_decref(log);
}

static void test_body_format(void **state)
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
	char *body = NULL;
	size_t len = 0;
	assert_int_equal(upload_batch_body(fx->store, &b, "DESK-X", &body, &len, &why), QD_OK);
	assert_int_equal(strlen(body), len);
	char *nl = strchr(body, '\n');
	assert_non_null(nl);
	assert_int_equal(body[len - 1], '\n');
	*nl = '\0';
	json_error_t err;
	json_t *line = json_loads(body, JSON_REJECT_DUPLICATES, &err);
	assert_non_null(line);
	assert_string_equal(json_string_value(json_object_get(line, "batch")), "b-1");
	assert_string_equal(json_string_value(json_object_get(line, "desk")), "DAC-T1-03");
	assert_int_equal(json_integer_value(json_object_get(line, "id")), 1);
	assert_int_equal(json_integer_value(json_object_get(line, "time_us")), NOW_US);
	assert_string_equal(json_string_value(json_object_get(line, "verdict")), "invalid");
	assert_string_equal(json_string_value(json_object_get(line, "reason")), "CARD_REVOKED");
	assert_string_equal(json_string_value(json_object_get(line, "kid")), "aabb000000000000");
	assert_true(json_is_null(json_object_get(line, "clearance_hash")));
	assert_int_equal(json_integer_value(json_object_get(line, "latency_us")), 900);
	assert_int_equal(json_object_size(line), 10);
	json_decref(line);
	line = json_loads(nl + 1, JSON_REJECT_DUPLICATES, &err);
	assert_non_null(line);
	assert_string_equal(json_string_value(json_object_get(line, "clearance_hash")),
	                    "01020300000000000000000000000000");
	json_decref(line);
	free(body);

	/* A second acknowledgement of the same batch changes nothing. */
	assert_int_equal(store_upload_batch_done(fx->store, &b, NOW_US, &why), QD_OK);
	assert_int_equal(pending(fx), 0);
	add_rows(fx, 1, NOW_US + 5);
	assert_int_equal(store_upload_batch_done(fx->store, &b, NOW_US, &why), QD_OK);
	assert_int_equal(pending(fx), 1);
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

/* The daemon's stop: the flag ends a POST the endpoint is sitting on. */
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
 * A CONNECT proxy on 127.0.0.1 for one connection: it keeps the request line, opens the
 * tunnel and relays both ways until either side closes.
 */
struct proxy {
	int listener;
	int port;
	char request[256];
};

static void *proxy_thread(void *arg)
{
	struct proxy *p = arg;
	int c = accept(p->listener, NULL, NULL);
	if (c < 0)
		return NULL;
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
	if (eol != NULL)
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
		return NULL;
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
	return NULL;
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
	assert_int_equal(listen(p.listener, 1), 0);
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
	pthread_join(t, NULL);
	close(p.listener);
	assert_int_equal(res.rows, 2);
	assert_int_equal(pending(fx), 0);
	char want[64];
	snprintf(want, sizeof(want), "CONNECT %s", fx->url + strlen("https://"));
	*strchr(want + strlen("CONNECT "), '/') = '\0';
	assert_true(strncmp(p.request, want, strlen(want)) == 0);
}

int main(void)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return 1;
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_every_row_once_through_failures, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_body_format, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_retention, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_abort_in_flight, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_refuses_plain_http, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_pin, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_proxy, setup, teardown),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return rc;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_control - the control socket's request framing (firmware/control.c)
 * over arbitrary bytes from a client: a real control_open() socket on a
 * real loop, one connection per input.  The framing (read until '\n', at
 * most CONTROL_REQUEST_MAX bytes, in as many reads as the bytes arrive) is
 * static in control.c and reached only through the socket, so this is the
 * smallest public entry.  The request's JSON is parsed by the daemon's
 * handler (on_control in firmware/qrdeskd.c, static in the executable): not
 * reachable from here, see README.md.
 *
 * The client sends the input in two writes, split at a point taken from the
 * first byte, the second once the server has read the first (so the server
 * also sees a line arrive in pieces); then it closes its sending side and
 * reads the reply.  Exactly one of:
 *  - a '\n' among the first CONTROL_REQUEST_MAX bytes: the handler gets the
 *    bytes before the first one, NUL-terminated, and the client gets the
 *    handler's reply and a '\n' (the "internal" error when it returns NULL);
 *  - no '\n' there and CONTROL_REQUEST_MAX bytes or more: the "too-large"
 *    error;
 *  - otherwise (the client stopped before a whole line): no reply at all.
 */
#include <errno.h>
#include <linux/sockios.h>
#include <stddef.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "fuzz.h"
#include "qrdesk/control.h"

#define INPUT_MAX  (CONTROL_REQUEST_MAX + 4096) /* the socket buffer holds it all */
#define REPLY_MAX  (64 * 1024)
#define GUARD_MS   10000
#define NULL_REPLY "null-reply" /* the request for which the handler returns NULL */
#define TOO_LARGE_RE                                                                               \
	"{\"error\": \"too-large\", \"message\": \"request longer than 16384 bytes\"}\n"
#define INTERNAL_RE "{\"error\": \"internal\", \"message\": \"no reply\"}\n"

static struct loop *loop;
static struct control *ctl;
static struct loop_timer *guard;
static char dir[64], sock_path[96];

/* One exchange (one input). */
struct exchange {
	unsigned gen; /* which input: posted work of an earlier one is ignored */
	const uint8_t *data;
	size_t size, split;
	int fd;              /* the client's end */
	unsigned handled;    /* handler calls */
	unsigned post_turns; /* loop turns to wait, at most, for the first part to be read */
	bool done;           /* the server closed */
	size_t reply_len;
	char reply[REPLY_MAX + 1]; /* last: not cleared for each input */
};

static struct exchange x;

static char *handler(void *arg, const char *request, size_t len)
{
	FUZZ_CHECK(arg == &x);
	x.handled++;
	FUZZ_CHECK(len < CONTROL_REQUEST_MAX && len <= x.size);
	FUZZ_CHECK(request[len] == '\0');
	FUZZ_CHECK(memchr(request, '\n', len) == NULL);
	FUZZ_CHECK(len == 0 || memcmp(request, x.data, len) == 0);
	FUZZ_CHECK(x.data[len] == '\n'); /* the first '\n' of the input */
	if (len == sizeof(NULL_REPLY) - 1 && memcmp(request, NULL_REPLY, len) == 0)
		return NULL;
	char *reply = fuzz_alloc(64);
	snprintf(reply, 64, "{\"len\": %zu}", len);
	return reply;
}

static void send_part(const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t sent = send(x.fd, p, n, MSG_NOSIGNAL);
		if (sent < 0 && errno == EINTR)
			continue;
		if (sent <= 0)
			return; /* the server has closed already (it answered the first line) */
		p += sent;
		n -= (size_t)sent;
	}
}

/* Bytes sent that the server has not read yet. */
static int unread(void)
{
	int n = 0;
	return ioctl(x.fd, SIOCOUTQ, &n) == 0 ? n : 0;
}

/*
 * Posted work, re-posted each turn of the loop until the server has read the
 * first part (and is waiting for more, or has answered): then the rest.
 */
static void second_part(struct loop *l, void *arg)
{
	if ((uintptr_t)arg != x.gen)
		return; /* left over from an earlier input */
	if (unread() > 0 && x.post_turns-- > 0) {
		FUZZ_CHECK(loop_post(l, second_part, arg) == QD_OK);
		return;
	}
	send_part(x.data + x.split, x.size - x.split);
	shutdown(x.fd, SHUT_WR);
}

static void on_reply(struct loop *l, int fd, uint32_t events, void *arg)
{
	(void)events;
	(void)arg;
	for (;;) {
		ssize_t n = recv(fd, x.reply + x.reply_len, REPLY_MAX - x.reply_len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		FUZZ_CHECK(n >= 0 || errno == ECONNRESET);
		if (n <= 0) {
			x.done = true;
			loop_stop(l);
			return;
		}
		x.reply_len += (size_t)n;
		FUZZ_CHECK(x.reply_len < REPLY_MAX);
	}
}

static void on_guard(struct loop *l, struct loop_timer *t, void *arg)
{
	(void)l;
	(void)t;
	(void)arg;
	fprintf(stderr, "fuzz_control: no answer within %d ms\n", GUARD_MS);
	abort();
}

static void cleanup(void)
{
	control_close(ctl); /* unlinks the socket */
	loop_timer_destroy(guard);
	loop_destroy(loop);
	rmdir(dir);
}

static void setup(void)
{
	snprintf(dir, sizeof(dir), "%s", "/tmp/qrdesk-fuzz-control-XXXXXX");
	FUZZ_CHECK(mkdtemp(dir) != NULL);
	snprintf(sock_path, sizeof(sock_path), "%s/control.sock", dir);
	struct qd_errmsg why = {{0}};
	FUZZ_CHECK(loop_create(&loop) == QD_OK);
	FUZZ_CHECK(loop_timer_create(loop, on_guard, NULL, &guard) == QD_OK);
	if (control_open(loop, sock_path, (gid_t)-1, handler, &x, &ctl, &why) != QD_OK) {
		fprintf(stderr, "control_open %s: %s\n", sock_path, why.text);
		abort();
	}
	atexit(cleanup);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (loop == NULL)
		setup();
	if (size > INPUT_MAX)
		size = INPUT_MAX;
	const unsigned gen = x.gen + 1;
	memset(&x, 0, offsetof(struct exchange, reply));
	x.gen = gen;
	x.data = data;
	x.size = size;
	x.split = size > 0 ? (size_t)data[0] * size / 256 : 0;
	x.post_turns = 10000;

	x.fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	FUZZ_CHECK(x.fd >= 0);
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	memcpy(addr.sun_path, sock_path, strlen(sock_path) + 1);
	FUZZ_CHECK(connect(x.fd, (struct sockaddr *)&addr, sizeof(addr)) == 0);
	send_part(data, x.split);
	FUZZ_CHECK(loop_add_fd(loop, x.fd, EPOLLIN, on_reply, NULL) == QD_OK);
	FUZZ_CHECK(loop_post(loop, second_part, (void *)(uintptr_t)x.gen) == QD_OK);
	loop_timer_arm(guard, GUARD_MS, 0);
	FUZZ_CHECK(loop_run(loop) == QD_OK);
	loop_timer_disarm(guard);
	loop_remove_fd(loop, x.fd);
	close(x.fd);
	FUZZ_CHECK(x.done);
	x.reply[x.reply_len] = '\0';

	const size_t window = size < CONTROL_REQUEST_MAX ? size : CONTROL_REQUEST_MAX;
	const uint8_t *nl = memchr(data, '\n', window);
	if (nl != NULL) {
		const size_t len = (size_t)(nl - data);
		FUZZ_CHECK(x.handled == 1);
		char want[80];
		if (len == sizeof(NULL_REPLY) - 1 && memcmp(data, NULL_REPLY, len) == 0)
			snprintf(want, sizeof(want), "%s", INTERNAL_RE);
		else
			snprintf(want, sizeof(want), "{\"len\": %zu}\n", len);
		FUZZ_CHECK(x.reply_len == strlen(want) && memcmp(x.reply, want, x.reply_len) == 0);
	} else if (size >= CONTROL_REQUEST_MAX) {
		FUZZ_CHECK(x.handled == 0);
		FUZZ_CHECK(x.reply_len == strlen(TOO_LARGE_RE) &&
		           memcmp(x.reply, TOO_LARGE_RE, x.reply_len) == 0);
	} else {
		FUZZ_CHECK(x.handled == 0 && x.reply_len == 0);
	}
	return 0;
}

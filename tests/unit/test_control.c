/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_control.c - the control socket's held replies on a real loop and socket:
 * a reply kept by the handler goes out only at control_release, also to a client
 * that shut its side after the request; a client gone meanwhile costs nothing,
 * and a stale token never answers the next connection in its slot.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "qrdesk/control.h"
#include "testutil.h"

struct fx {
	char *dir;
	char path[100];
	struct loop *loop;
	struct control *ctl;
	uint64_t token;
	int requests;
};

/* "hold": the reply is kept; anything else is answered at once. */
static char *handler(void *arg, const char *request, size_t len)
{
	struct fx *fx = arg;
	fx->requests++;
	if (len == 4 && memcmp(request, "hold", 4) == 0) {
		fx->token = control_hold_reply(fx->ctl);
		assert_int_not_equal(fx->token, 0);
		return strdup("{\"held\": true}");
	}
	return strdup("{\"plain\": true}");
}

/* A client on its own thread: connect, send the request, optionally shut the write
 * side, read the reply line. */
struct client {
	const char *path, *request;
	bool shut;
	char reply[256];
	bool done;
	pthread_mutex_t mu;
};

static void *client_main(void *arg)
{
	struct client *c = arg;
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", c->path);
	char buf[256] = "";
	size_t len = 0;
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0) {
		(void)!write(fd, c->request, strlen(c->request));
		(void)!write(fd, "\n", 1);
		if (c->shut)
			shutdown(fd, SHUT_WR);
		ssize_t n;
		while (len < sizeof(buf) - 1 &&
		       (n = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0)
			len += (size_t)n;
	}
	buf[len] = '\0';
	close(fd);
	pthread_mutex_lock(&c->mu);
	memcpy(c->reply, buf, sizeof(buf));
	c->done = true;
	pthread_mutex_unlock(&c->mu);
	return NULL;
}

static bool client_done(struct client *c)
{
	pthread_mutex_lock(&c->mu);
	bool d = c->done;
	pthread_mutex_unlock(&c->mu);
	return d;
}

/* Run the loop for ms (it stops itself only through the timer). */
static void on_stop(struct loop *loop, struct loop_timer *timer, void *arg)
{
	(void)timer;
	(void)arg;
	loop_stop(loop);
}

static void run_for(struct fx *fx, uint64_t ms)
{
	struct loop_timer *t = NULL;
	assert_int_equal(loop_timer_create(fx->loop, on_stop, NULL, &t), QD_OK);
	loop_timer_arm(t, ms, 0);
	assert_int_equal(loop_run(fx->loop), QD_OK);
	loop_timer_destroy(t);
}

/* Run the loop until the client has its reply (20 s at most). */
static void run_until_done(struct fx *fx, struct client *c)
{
	for (int i = 0; i < 2000 && !client_done(c); i++)
		run_for(fx, 10);
	assert_true(client_done(c));
}

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	fx->dir = tu_mkdtemp();
	snprintf(fx->path, sizeof(fx->path), "%s/control.sock", fx->dir);
	assert_int_equal(loop_create(&fx->loop), QD_OK);
	struct qd_errmsg why = {{0}};
	assert_int_equal(control_open(fx->loop, fx->path, (gid_t)-1, handler, fx, &fx->ctl, &why),
	                 QD_OK);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;
	control_close(fx->ctl);
	loop_destroy(fx->loop);
	tu_rmtree(fx->dir);
	free(fx->dir);
	free(fx);
	return 0;
}

static void start(struct client *c, pthread_t *th, const char *path, const char *request, bool shut)
{
	memset(c, 0, sizeof(*c));
	c->path = path;
	c->request = request;
	c->shut = shut;
	pthread_mutex_init(&c->mu, NULL);
	assert_int_equal(pthread_create(th, NULL, client_main, c), 0);
}

static void finish(struct client *c, pthread_t th)
{
	pthread_join(th, NULL);
	pthread_mutex_destroy(&c->mu);
}

static void test_plain_and_held(void **state)
{
	struct fx *fx = *state;
	struct client c;
	pthread_t th;
	start(&c, &th, fx->path, "status", false);
	run_until_done(fx, &c);
	finish(&c, th);
	assert_string_equal(c.reply, "{\"plain\": true}\n");
	assert_int_equal(control_hold_reply(fx->ctl), 0); /* outside a handler: nothing */

	/* Held: nothing reaches the client, however long the loop runs, until the release. */
	for (int shut = 0; shut <= 1; shut++) {
		fx->token = 0;
		start(&c, &th, fx->path, "hold", shut);
		for (int i = 0; i < 2000 && fx->token == 0; i++)
			run_for(fx, 10);
		assert_int_not_equal(fx->token, 0);
		run_for(fx, 300);
		assert_false(client_done(&c));
		control_release(fx->ctl, fx->token);
		run_until_done(fx, &c);
		finish(&c, th);
		assert_string_equal(c.reply, "{\"held\": true}\n");
		control_release(fx->ctl, fx->token); /* twice: nothing */
	}
}

static void test_client_gone_and_stale_token(void **state)
{
	struct fx *fx = *state;
	/* A client that sends, is held, and goes away. */
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", fx->path);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(write(fd, "hold\n", 5), 5);
	for (int i = 0; i < 2000 && fx->token == 0; i++)
		run_for(fx, 10);
	uint64_t stale = fx->token;
	assert_int_not_equal(stale, 0);
	close(fd);
	run_for(fx, 100);                /* the loop sees it gone: its slot is kept for the reply */
	control_release(fx->ctl, stale); /* sent into nothing; the slot is free again */

	/* The next connection takes the same slot; the old token must not answer it. */
	struct client c;
	pthread_t th;
	fx->token = 0;
	start(&c, &th, fx->path, "hold", false);
	for (int i = 0; i < 2000 && fx->token == 0; i++)
		run_for(fx, 10);
	assert_int_not_equal(fx->token, stale);
	assert_int_equal((fx->token - 1) & 0xff, (stale - 1) & 0xff); /* the same slot */
	control_release(fx->ctl, stale);
	run_for(fx, 200);
	assert_false(client_done(&c));
	control_release(fx->ctl, fx->token);
	run_until_done(fx, &c);
	finish(&c, th);
	assert_string_equal(c.reply, "{\"held\": true}\n");
	control_release(fx->ctl, 0);
	control_release(NULL, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_plain_and_held, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_client_gone_and_stale_token, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

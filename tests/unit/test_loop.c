/* SPDX-License-Identifier: Apache-2.0 */
/* test_loop.c - the event loop: fds, timers, signals, cross-thread posts. */
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "qrdesk/loop.h"
#include "testutil.h"

struct counts {
	int reads, timer_fires, signals, posts;
	char last[16];
	struct loop_timer *stopper;
};

static void stop_cb(struct loop *loop, struct loop_timer *t, void *arg)
{
	(void)t;
	(void)arg;
	loop_stop(loop);
}

static void read_cb(struct loop *loop, int fd, uint32_t events, void *arg)
{
	struct counts *c = arg;
	assert_true(events & EPOLLIN);
	ssize_t n = read(fd, c->last, sizeof(c->last) - 1);
	assert_true(n > 0);
	c->last[n] = '\0';
	c->reads++;
	/* A callback may remove its own watch. */
	loop_remove_fd(loop, fd);
}

static void test_fd_watch(void **state)
{
	(void)state;
	struct loop *loop;
	assert_int_equal(loop_create(&loop), QD_OK);
	int p[2];
	assert_int_equal(pipe(p), 0);
	struct counts c = {0};
	assert_int_equal(loop_add_fd(loop, p[0], EPOLLIN, read_cb, &c), QD_OK);
	assert_int_equal(loop_add_fd(loop, p[0], EPOLLIN, read_cb, &c), QD_ERR_EXISTS);
	struct loop_timer *t;
	assert_int_equal(loop_timer_create(loop, stop_cb, NULL, &t), QD_OK);
	loop_timer_arm(t, 100, 0);
	assert_int_equal(write(p[1], "hello", 5), 5);
	assert_int_equal(loop_run(loop), QD_OK);
	assert_int_equal(c.reads, 1);
	assert_string_equal(c.last, "hello");
	/* Removed: more data does not call it again. */
	assert_int_equal(write(p[1], "again", 5), 5);
	loop_timer_arm(t, 50, 0);
	assert_int_equal(loop_run(loop), QD_OK);
	assert_int_equal(c.reads, 1);
	loop_timer_destroy(t);
	close(p[0]);
	close(p[1]);
	loop_destroy(loop);
}

static void periodic_cb(struct loop *loop, struct loop_timer *t, void *arg)
{
	struct counts *c = arg;
	c->timer_fires++;
	if (c->timer_fires == 3) {
		loop_timer_disarm(t);
		assert_false(loop_timer_armed(t));
		loop_timer_arm(c->stopper, 60, 0);
	}
	(void)loop;
}

static void test_timers(void **state)
{
	(void)state;
	struct loop *loop;
	assert_int_equal(loop_create(&loop), QD_OK);
	struct counts c = {0};
	struct loop_timer *periodic, *never;
	assert_int_equal(loop_timer_create(loop, periodic_cb, &c, &periodic), QD_OK);
	assert_int_equal(loop_timer_create(loop, stop_cb, NULL, &c.stopper), QD_OK);
	assert_int_equal(loop_timer_create(loop, periodic_cb, &c, &never), QD_OK);
	loop_timer_arm(never, 10, 0);
	loop_timer_disarm(never); /* disarmed before it fires: never runs */
	loop_timer_arm(periodic, 0, 5);
	assert_true(loop_timer_armed(periodic));
	int64_t t0 = loop_now_us();
	assert_int_equal(loop_run(loop), QD_OK);
	assert_int_equal(c.timer_fires, 3);
	assert_true(loop_now_us() - t0 >= 60000); /* the stopper's 60 ms at least */
	loop_timer_destroy(periodic);
	loop_timer_destroy(never);
	loop_timer_destroy(c.stopper);
	loop_destroy(loop);
}

static void signal_cb(struct loop *loop, int signo, void *arg)
{
	struct counts *c = arg;
	assert_int_equal(signo, SIGUSR1);
	c->signals++;
	loop_stop(loop);
}

static void raise_cb(struct loop *loop, struct loop_timer *t, void *arg)
{
	(void)loop;
	(void)t;
	(void)arg;
	raise(SIGUSR1);
}

static void test_signals(void **state)
{
	(void)state;
	struct loop *loop;
	assert_int_equal(loop_create(&loop), QD_OK);
	struct counts c = {0};
	assert_int_equal(loop_add_signal(loop, SIGUSR1, signal_cb, &c), QD_OK);
	struct loop_timer *t;
	assert_int_equal(loop_timer_create(loop, raise_cb, NULL, &t), QD_OK);
	loop_timer_arm(t, 5, 0);
	assert_int_equal(loop_run(loop), QD_OK);
	assert_int_equal(c.signals, 1);
	loop_timer_destroy(t);
	loop_destroy(loop);
}

struct poster {
	struct loop *loop;
	struct counts *c;
};

static void post_cb(struct loop *loop, void *arg)
{
	struct counts *c = arg;
	c->posts++;
	if (c->posts == 1000)
		loop_stop(loop);
}

static void *post_thread(void *arg)
{
	struct poster *p = arg;
	for (int i = 0; i < 1000; i++)
		assert_int_equal(loop_post(p->loop, post_cb, p->c), QD_OK);
	return NULL;
}

static void test_posts_from_threads(void **state)
{
	(void)state;
	struct loop *loop;
	assert_int_equal(loop_create(&loop), QD_OK);
	struct counts c = {0};
	struct poster p = {loop, &c};
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, post_thread, &p), 0);
	assert_int_equal(loop_run(loop), QD_OK);
	pthread_join(th, NULL);
	assert_int_equal(c.posts, 1000);
	loop_destroy(loop);
}

static void test_time(void **state)
{
	(void)state;
	int64_t a = loop_now_us(), b = loop_now_us();
	assert_true(b >= a);
	assert_true(loop_wall_us() > 1700000000LL * 1000000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_fd_watch), cmocka_unit_test(test_timers),
	        cmocka_unit_test(test_signals),  cmocka_unit_test(test_posts_from_threads),
	        cmocka_unit_test(test_time),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

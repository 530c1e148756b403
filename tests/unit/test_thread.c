/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_thread.c - a thread's name and nice (firmware/base/thread.c): per
 * thread, not per process; raising a priority only as far as RLIMIT_NICE
 * allows (qrdeskd.service's LimitNICE=-10) when the process has no
 * CAP_SYS_NICE.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "qrdesk/thread.h"
#include "testutil.h"

struct lowered {
	int want;
	enum qd_err err;
	int nice;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool done, quit;
};

static void *lower_self(void *arg)
{
	struct lowered *l = arg;
	l->err = thread_set_nice(l->want, NULL, 0);
	l->nice = thread_nice();
	thread_name("qrdesk-t-low");
	pthread_mutex_lock(&l->mu);
	l->done = true;
	pthread_cond_broadcast(&l->cv);
	while (!l->quit) /* stay, so that the test can look at it from outside */
		pthread_cond_wait(&l->cv, &l->mu);
	pthread_mutex_unlock(&l->mu);
	return NULL;
}

/* A thread lowers its own priority; the process's other threads keep theirs. */
static void test_nice_is_per_thread(void **state)
{
	(void)state;
	int before = thread_nice();
	if (before >= 19)
		skip(); /* no room to lower the priority: the test would prove nothing */
	struct lowered l = {.want = before + 3 > 19 ? 19 : before + 3,
	                    .mu = PTHREAD_MUTEX_INITIALIZER,
	                    .cv = PTHREAD_COND_INITIALIZER};
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, lower_self, &l), 0);
	pthread_mutex_lock(&l.mu);
	while (!l.done)
		pthread_cond_wait(&l.cv, &l.mu);
	pthread_mutex_unlock(&l.mu);
	assert_int_equal(l.err, QD_OK);
	assert_int_equal(l.nice, l.want);
	/* Seen from outside, under its name, as ps -L and the image test see it. */
	assert_int_equal(tu_thread_nice("qrdesk-t-low"), l.want);
	assert_int_equal(thread_nice(), before);
	pthread_mutex_lock(&l.mu);
	l.quit = true;
	pthread_cond_broadcast(&l.cv);
	pthread_mutex_unlock(&l.mu);
	pthread_join(t, NULL);
}

static void test_out_of_range(void **state)
{
	(void)state;
	char why[128] = "";
	int before = thread_nice();
	assert_int_equal(thread_set_nice(-21, why, sizeof(why)), QD_ERR_ARG);
	assert_non_null(strstr(why, "-21"));
	assert_int_equal(thread_set_nice(20, why, sizeof(why)), QD_ERR_ARG);
	assert_int_equal(thread_set_nice(20, NULL, 0), QD_ERR_ARG);
	assert_int_equal(thread_nice(), before);
}

/*
 * In a child that is no longer root (no CAP_SYS_NICE) with RLIMIT_NICE as
 * qrdeskd.service sets it (LimitNICE=-10: rlimit 30): the thread can go down
 * to -10 and no further.  With the default rlimit (0): not below its nice.
 * The child's exit status says which step failed.  Raising the limit needs
 * CAP_SYS_RESOURCE, which a container may not give: then only the second
 * half runs here, and the image test (tests/image) sees the first in qrdeskd.
 */
enum { SKIPPED = 99 };

static int raise_as_nobody(rlim_t limit)
{
	struct rlimit rl = {limit, limit};
	if (setrlimit(RLIMIT_NICE, &rl) != 0)
		return errno == EPERM ? SKIPPED : 10; /* raising it needs CAP_SYS_RESOURCE */
	if (setresgid(65534, 65534, 65534) != 0 || setresuid(65534, 65534, 65534) != 0)
		return 11;
	char why[128] = "";
	if (limit >= 30) {
		if (thread_set_nice(-10, why, sizeof(why)) != QD_OK || thread_nice() != -10)
			return 12;
		if (thread_set_nice(-11, why, sizeof(why)) != QD_ERR_PERM || thread_nice() != -10 ||
		    why[0] == '\0')
			return 13;
		return 0;
	}
	int before = thread_nice();
	if (thread_set_nice(before - 1, why, sizeof(why)) != QD_ERR_PERM ||
	    thread_nice() != before || why[0] == '\0')
		return 14;
	/* Lowering is always allowed. */
	if (before < 19 &&
	    (thread_set_nice(before + 1, NULL, 0) != QD_OK || thread_nice() != before + 1))
		return 15;
	return 0;
}

/*
 * Each limit in a child that runs step(limit) as nobody: its exit status is 0, SKIPPED
 * (the limit cannot be raised here) or the number of the step that failed.  At least one
 * must run (lowering a limit is always allowed).
 */
static void run_as_nobody(const char *what, const rlim_t *limits, size_t n, int (*step)(rlim_t))
{
	if (geteuid() != 0)
		skip(); /* setting a hard limit and dropping to nobody need root */
	int ran = 0;
	for (size_t i = 0; i < n; i++) {
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0)
			_exit(step(limits[i]));
		int status;
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFEXITED(status));
		if (WEXITSTATUS(status) == SKIPPED) {
			print_message("%s %u: cannot be set here (no CAP_SYS_RESOURCE)\n", what,
			              (unsigned)limits[i]);
			continue;
		}
		ran++;
		if (WEXITSTATUS(status) != 0)
			fail_msg("%s %u: step %d failed", what, (unsigned)limits[i],
			         WEXITSTATUS(status));
	}
	assert_true(ran > 0);
}

static void test_raise_only_as_far_as_the_limit(void **state)
{
	(void)state;
	static const rlim_t limits[] = {30, 0};
	run_as_nobody("RLIMIT_NICE", limits, 2, raise_as_nobody);
}

/* --- SCHED_FIFO (the HID reader's, qrdeskd.service's LimitRTPRIO=10) ---------------- */

struct fifo_result {
	enum qd_err err;
	int policy;
};

static void *fifo_self(void *arg)
{
	struct fifo_result *r = arg;
	r->err = thread_set_fifo(10, NULL, 0);
	r->policy = sched_getscheduler(0);
	return NULL;
}

static void test_fifo_is_per_thread(void **state)
{
	(void)state;
	char why[128] = "";
	assert_int_equal(thread_set_fifo(0, why, sizeof(why)), QD_ERR_ARG);
	assert_non_null(strstr(why, "0"));
	assert_int_equal(thread_set_fifo(100, NULL, 0), QD_ERR_ARG);
	assert_int_equal(sched_getscheduler(0), SCHED_OTHER);
	if (!tu_fifo_allowed(10))
		skip(); /* neither CAP_SYS_NICE nor RLIMIT_RTPRIO here: the child below covers it */
	struct fifo_result r = {QD_ERR_IO, -1};
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, fifo_self, &r), 0);
	pthread_join(th, NULL);
	assert_int_equal(r.err, QD_OK);
	assert_int_equal(r.policy, SCHED_FIFO);
	assert_int_equal(sched_getscheduler(0), SCHED_OTHER); /* this thread is untouched */
}

/* As nobody: with RLIMIT_RTPRIO 10 (qrdeskd.service's) priority 10 and no higher; with 0
 * none.  Raising the limit needs CAP_SYS_RESOURCE (skipped where missing, as above). */
static int fifo_as_nobody(rlim_t limit)
{
	struct rlimit rl = {limit, limit};
	if (setrlimit(RLIMIT_RTPRIO, &rl) != 0)
		return errno == EPERM ? SKIPPED : 20;
	if (setresgid(65534, 65534, 65534) != 0 || setresuid(65534, 65534, 65534) != 0)
		return 21;
	char why[128] = "";
	if (limit >= 10) {
		if (thread_set_fifo(11, why, sizeof(why)) != QD_ERR_PERM || why[0] == '\0')
			return 22;
		if (thread_set_fifo(10, why, sizeof(why)) != QD_OK ||
		    sched_getscheduler(0) != SCHED_FIFO)
			return 23;
		return 0;
	}
	if (thread_set_fifo(1, why, sizeof(why)) != QD_ERR_PERM || why[0] == '\0' ||
	    sched_getscheduler(0) != SCHED_OTHER)
		return 24;
	return 0;
}

static void test_fifo_only_as_far_as_the_limit(void **state)
{
	(void)state;
	static const rlim_t limits[] = {10, 0};
	run_as_nobody("RLIMIT_RTPRIO", limits, 2, fifo_as_nobody);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_nice_is_per_thread),
	        cmocka_unit_test(test_out_of_range),
	        cmocka_unit_test(test_raise_only_as_far_as_the_limit),
	        cmocka_unit_test(test_fifo_is_per_thread),
	        cmocka_unit_test(test_fifo_only_as_far_as_the_limit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

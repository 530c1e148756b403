/* SPDX-License-Identifier: Apache-2.0 */
/*
 * thread.c - a thread's own name and CPU priority.
 *
 * Linux keeps the nice per thread (a task), not per process as POSIX says:
 * setpriority(PRIO_PROCESS, tid) changes that thread alone.  The reading back
 * is how a caller knows it took: getpriority's -1 is also a valid nice, so
 * errno is cleared first.
 */
#define _GNU_SOURCE
#include "qrdesk/thread.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

void thread_name(const char *name)
{
	char buf[16];
	snprintf(buf, sizeof(buf), "%s", name);
	(void)pthread_setname_np(pthread_self(), buf); /* only ERANGE, prevented above */
}

int thread_nice(void)
{
	errno = 0;
	int nice = getpriority(PRIO_PROCESS, (id_t)gettid());
	return errno == 0 ? nice : 0;
}

enum qd_err thread_set_nice(int nice, char *why, size_t why_len)
{
	if (nice < -20 || nice > 19) {
		if (why != NULL && why_len > 0)
			snprintf(why, why_len, "nice %d is outside -20..19", nice);
		return QD_ERR_ARG;
	}
	if (setpriority(PRIO_PROCESS, (id_t)gettid(), nice) != 0) {
		int e = errno;
		if (why != NULL && why_len > 0)
			snprintf(why, why_len, "%s", strerror(e));
		return e == EPERM || e == EACCES ? QD_ERR_PERM : QD_ERR_IO;
	}
	return QD_OK;
}

enum qd_err thread_set_fifo(int priority, char *why, size_t why_len)
{
	if (priority < 1 || priority > 99) {
		if (why != NULL && why_len > 0)
			snprintf(why, why_len, "real-time priority %d is outside 1..99", priority);
		return QD_ERR_ARG;
	}
	/* 0: the calling thread (Linux's scheduling attributes are per thread). */
	struct sched_param sp = {.sched_priority = priority};
	if (sched_setscheduler(0, SCHED_FIFO, &sp) != 0) {
		int e = errno;
		if (why != NULL && why_len > 0)
			snprintf(why, why_len, "%s", strerror(e));
		return e == EPERM || e == EACCES ? QD_ERR_PERM : QD_ERR_IO;
	}
	return QD_OK;
}

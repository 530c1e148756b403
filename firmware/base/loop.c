/* SPDX-License-Identifier: Apache-2.0 */
/*
 * loop.c - one epoll loop for the daemon (see loop.h).
 *
 * Every watch - an fd, a timer's timerfd, the signalfd, the wake eventfd -
 * is a struct watch registered with epoll by pointer.  Removing a watch
 * during dispatch only marks it dead; dead watches are freed after the
 * batch, so a callback can never be handed a freed watch.
 */
#include "qrdesk/loop.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define LOOP_EVENTS_MAX  32
#define LOOP_SIGNALS_MAX 8

enum watch_kind { WATCH_FD, WATCH_TIMER, WATCH_SIGNAL, WATCH_WAKE };

struct watch {
	enum watch_kind kind;
	int fd;
	bool dead;
	loop_fd_cb fd_cb;
	void *arg;
	struct loop_timer *timer;
	struct watch *next; /* all watches, for lookup and cleanup */
};

struct loop_timer {
	struct loop *loop;
	struct watch *watch;
	loop_timer_cb cb;
	void *arg;
	bool armed;
};

struct work_item {
	loop_work_cb cb;
	void *arg;
	struct work_item *next;
};

struct loop {
	int epfd;
	bool stop;
	struct watch *watches;
	/* Signals */
	struct watch *signal_watch;
	sigset_t signals;
	struct {
		int signo;
		loop_signal_cb cb;
		void *arg;
	} handlers[LOOP_SIGNALS_MAX];
	size_t n_handlers;
	/* Work posted from other threads */
	struct watch *wake_watch;
	pthread_mutex_t lock;
	struct work_item *work_head, *work_tail;
};

int64_t loop_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t loop_wall_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static struct watch *watch_add(struct loop *loop, enum watch_kind kind, int fd, uint32_t events)
{
	struct watch *w = calloc(1, sizeof(*w));
	if (w == NULL)
		return NULL;
	w->kind = kind;
	w->fd = fd;
	struct epoll_event ev = {.events = events, .data.ptr = w};
	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
		free(w);
		return NULL;
	}
	w->next = loop->watches;
	loop->watches = w;
	return w;
}

static struct watch *watch_find_fd(struct loop *loop, int fd)
{
	for (struct watch *w = loop->watches; w != NULL; w = w->next)
		if (!w->dead && w->kind == WATCH_FD && w->fd == fd)
			return w;
	return NULL;
}

/* Unregister now; free after the dispatch batch (see the file comment). */
static void watch_kill(struct loop *loop, struct watch *w)
{
	if (w == NULL || w->dead)
		return;
	epoll_ctl(loop->epfd, EPOLL_CTL_DEL, w->fd, NULL);
	w->dead = true;
}

static void watches_reap(struct loop *loop)
{
	struct watch **pp = &loop->watches;
	while (*pp != NULL) {
		struct watch *w = *pp;
		if (w->dead) {
			*pp = w->next;
			free(w);
		} else {
			pp = &w->next;
		}
	}
}

enum qd_err loop_create(struct loop **out)
{
	struct loop *loop = calloc(1, sizeof(*loop));
	if (loop == NULL)
		return QD_ERR_NOMEM;
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	int wake = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	sigemptyset(&loop->signals);
	if (loop->epfd < 0 || wake < 0 || pthread_mutex_init(&loop->lock, NULL) != 0) {
		if (wake >= 0)
			close(wake);
		if (loop->epfd >= 0)
			close(loop->epfd);
		free(loop);
		return QD_ERR_IO;
	}
	loop->wake_watch = watch_add(loop, WATCH_WAKE, wake, EPOLLIN);
	if (loop->wake_watch == NULL) {
		close(wake);
		close(loop->epfd);
		pthread_mutex_destroy(&loop->lock);
		free(loop);
		return QD_ERR_IO;
	}
	*out = loop;
	return QD_OK;
}

void loop_destroy(struct loop *loop)
{
	if (loop == NULL)
		return;
	struct watch *w = loop->watches;
	while (w != NULL) {
		struct watch *next = w->next;
		/* The loop owns its timerfds, signalfd and eventfd; fd watches belong to others.
		 * A destroyed timer's fd was closed then (and may have been reused since). */
		if (w->kind != WATCH_FD && !w->dead)
			close(w->fd);
		if (w->kind == WATCH_TIMER && !w->dead)
			free(w->timer);
		free(w);
		w = next;
	}
	struct work_item *item = loop->work_head;
	while (item != NULL) {
		struct work_item *next = item->next;
		free(item);
		item = next;
	}
	if (loop->n_handlers > 0)
		pthread_sigmask(SIG_UNBLOCK, &loop->signals, NULL);
	pthread_mutex_destroy(&loop->lock);
	close(loop->epfd);
	free(loop);
}

enum qd_err loop_add_fd(struct loop *loop, int fd, uint32_t events, loop_fd_cb cb, void *arg)
{
	if (watch_find_fd(loop, fd) != NULL)
		return QD_ERR_EXISTS;
	struct watch *w = watch_add(loop, WATCH_FD, fd, events);
	if (w == NULL)
		return errno == ENOMEM ? QD_ERR_NOMEM : QD_ERR_IO;
	w->fd_cb = cb;
	w->arg = arg;
	return QD_OK;
}

enum qd_err loop_modify_fd(struct loop *loop, int fd, uint32_t events)
{
	struct watch *w = watch_find_fd(loop, fd);
	if (w == NULL)
		return QD_ERR_NOT_FOUND;
	struct epoll_event ev = {.events = events, .data.ptr = w};
	return epoll_ctl(loop->epfd, EPOLL_CTL_MOD, fd, &ev) == 0 ? QD_OK : QD_ERR_IO;
}

void loop_remove_fd(struct loop *loop, int fd)
{
	watch_kill(loop, watch_find_fd(loop, fd));
}

enum qd_err loop_timer_create(struct loop *loop, loop_timer_cb cb, void *arg,
                              struct loop_timer **out)
{
	struct loop_timer *t = calloc(1, sizeof(*t));
	if (t == NULL)
		return QD_ERR_NOMEM;
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (fd < 0) {
		free(t);
		return QD_ERR_IO;
	}
	t->watch = watch_add(loop, WATCH_TIMER, fd, EPOLLIN);
	if (t->watch == NULL) {
		close(fd);
		free(t);
		return QD_ERR_IO;
	}
	t->watch->timer = t;
	t->loop = loop;
	t->cb = cb;
	t->arg = arg;
	*out = t;
	return QD_OK;
}

static void timer_set(struct loop_timer *t, uint64_t delay_ms, uint64_t interval_ms)
{
	struct itimerspec its = {
	        .it_value = {(time_t)(delay_ms / 1000), (long)(delay_ms % 1000) * 1000000},
	        .it_interval = {(time_t)(interval_ms / 1000), (long)(interval_ms % 1000) * 1000000},
	};
	timerfd_settime(t->watch->fd, 0, &its, NULL);
}

void loop_timer_arm(struct loop_timer *t, uint64_t delay_ms, uint64_t interval_ms)
{
	/* A zero it_value disarms a timerfd: "now" is one nanosecond. */
	if (delay_ms == 0) {
		struct itimerspec its = {.it_value = {0, 1},
		                         .it_interval = {(time_t)(interval_ms / 1000),
		                                         (long)(interval_ms % 1000) * 1000000}};
		timerfd_settime(t->watch->fd, 0, &its, NULL);
	} else {
		timer_set(t, delay_ms, interval_ms);
	}
	t->armed = true;
}

void loop_timer_disarm(struct loop_timer *t)
{
	timer_set(t, 0, 0);
	/* Drop an expiry that is already pending, so it cannot fire after disarm. */
	uint64_t expirations;
	ssize_t n = read(t->watch->fd, &expirations, sizeof(expirations));
	(void)n;
	t->armed = false;
}

bool loop_timer_armed(const struct loop_timer *t)
{
	return t->armed;
}

void loop_timer_destroy(struct loop_timer *t)
{
	if (t == NULL)
		return;
	close(t->watch->fd);
	t->watch->dead = true; /* closing the fd removed it from epoll */
	t->watch->timer = NULL;
	free(t);
}

enum qd_err loop_add_signal(struct loop *loop, int signo, loop_signal_cb cb, void *arg)
{
	if (loop->n_handlers >= LOOP_SIGNALS_MAX)
		return QD_ERR_TOO_LARGE;
	sigaddset(&loop->signals, signo);
	if (pthread_sigmask(SIG_BLOCK, &loop->signals, NULL) != 0)
		return QD_ERR_IO;
	int fd = signalfd(loop->signal_watch ? loop->signal_watch->fd : -1, &loop->signals,
	                  SFD_NONBLOCK | SFD_CLOEXEC);
	if (fd < 0)
		return QD_ERR_IO;
	if (loop->signal_watch == NULL) {
		loop->signal_watch = watch_add(loop, WATCH_SIGNAL, fd, EPOLLIN);
		if (loop->signal_watch == NULL) {
			close(fd);
			return QD_ERR_IO;
		}
	}
	loop->handlers[loop->n_handlers].signo = signo;
	loop->handlers[loop->n_handlers].cb = cb;
	loop->handlers[loop->n_handlers].arg = arg;
	loop->n_handlers++;
	return QD_OK;
}

enum qd_err loop_post(struct loop *loop, loop_work_cb cb, void *arg)
{
	struct work_item *item = malloc(sizeof(*item));
	if (item == NULL)
		return QD_ERR_NOMEM;
	item->cb = cb;
	item->arg = arg;
	item->next = NULL;
	pthread_mutex_lock(&loop->lock);
	if (loop->work_tail != NULL)
		loop->work_tail->next = item;
	else
		loop->work_head = item;
	loop->work_tail = item;
	pthread_mutex_unlock(&loop->lock);
	uint64_t one = 1;
	ssize_t n = write(loop->wake_watch->fd, &one, sizeof(one));
	(void)n; /* a full counter still wakes the loop */
	return QD_OK;
}

static void run_posted(struct loop *loop)
{
	uint64_t count;
	ssize_t n = read(loop->wake_watch->fd, &count, sizeof(count));
	(void)n;
	pthread_mutex_lock(&loop->lock);
	struct work_item *item = loop->work_head;
	loop->work_head = loop->work_tail = NULL;
	pthread_mutex_unlock(&loop->lock);
	while (item != NULL) {
		struct work_item *next = item->next;
		item->cb(loop, item->arg);
		free(item);
		item = next;
	}
}

static void run_signals(struct loop *loop)
{
	struct signalfd_siginfo si;
	while (read(loop->signal_watch->fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		for (size_t i = 0; i < loop->n_handlers; i++)
			if (loop->handlers[i].signo == (int)si.ssi_signo)
				loop->handlers[i].cb(loop, (int)si.ssi_signo,
				                     loop->handlers[i].arg);
	}
}

static void dispatch(struct loop *loop, struct watch *w, uint32_t events)
{
	if (w->dead)
		return;
	switch (w->kind) {
	case WATCH_FD:
		w->fd_cb(loop, w->fd, events, w->arg);
		break;
	case WATCH_TIMER: {
		uint64_t expirations = 0;
		if (read(w->fd, &expirations, sizeof(expirations)) != (ssize_t)sizeof(expirations))
			break; /* disarmed since the wake-up */
		struct loop_timer *t = w->timer;
		struct itimerspec cur;
		if (timerfd_gettime(w->fd, &cur) == 0 && cur.it_value.tv_sec == 0 &&
		    cur.it_value.tv_nsec == 0)
			t->armed = false;
		t->cb(loop, t, t->arg);
		break;
	}
	case WATCH_SIGNAL:
		run_signals(loop);
		break;
	case WATCH_WAKE:
		run_posted(loop);
		break;
	}
}

enum qd_err loop_run(struct loop *loop)
{
	loop->stop = false;
	struct epoll_event events[LOOP_EVENTS_MAX];
	while (!loop->stop) {
		int n = epoll_wait(loop->epfd, events, LOOP_EVENTS_MAX, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return QD_ERR_IO;
		}
		for (int i = 0; i < n; i++)
			dispatch(loop, events[i].data.ptr, events[i].events);
		watches_reap(loop);
	}
	return QD_OK;
}

void loop_stop(struct loop *loop)
{
	loop->stop = true;
}

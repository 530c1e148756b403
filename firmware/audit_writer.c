/* SPDX-License-Identifier: Apache-2.0 */
/*
 * audit_writer.c - the audit rows' own thread (see qrdesk/audit_writer.h).
 *
 * A ring of AUDIT_WRITER_QUEUE copies: the loop fills slots past the waiting
 * ones, the thread writes the waiting ones without the lock (the loop never
 * touches a slot until the thread has let it go), then frees them.  The thread
 * tells the loop through an eventfd the loop watches, so nothing of the writer
 * is left in the loop's queues once it is stopped.
 */
#include "qrdesk/audit_writer.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "qrdesk/log.h"
#include "qrdesk/source.h"
#include "qrdesk/thread.h"

/* A row and everything it points to. */
struct row_copy {
	struct audit_record rec;
	struct audit_binding binding;
	char source[SOURCE_NAME_MAX];
	char verdict[32];
	char reason[64];
	char desk[64];
	uint8_t kid[TRUST_KID_MAX];
	uint8_t hash[TRUST_HASH_LEN];
	char outcome[3][AUDIT_WRITER_OUTCOME_MAX];
	uint8_t passport_pseudonym[TRUST_HASH_LEN];
	uint8_t boarding_pseudonym[TRUST_HASH_LEN];
};

struct audit_writer {
	struct loop *loop;
	audit_writer_done done;
	void *arg;
	int efd;
	bool watched;
	pthread_t thread;
	bool running;
	struct store *store; /* the thread's own connection */
	pthread_mutex_t mu;
	pthread_cond_t work; /* rows wait, or stop */
	pthread_cond_t room; /* a slot was freed */
	/* under mu */
	struct row_copy ring[AUDIT_WRITER_QUEUE];
	size_t head, count;   /* waiting rows: ring[head], ... count of them */
	uint64_t next_ticket; /* the ticket of ring[head] */
	uint64_t through;     /* every row up to this ticket is done */
	uint64_t failed;      /* refused since the loop last looked */
	bool stop;
	/* the thread's own: the records of one batch */
	struct audit_record batch[AUDIT_WRITER_QUEUE];
};

static bool copy_text(char *dst, size_t cap, const char *src, const char **out)
{
	if (src == NULL) {
		*out = NULL;
		return true;
	}
	size_t n = strlen(src);
	if (n >= cap)
		return false;
	memcpy(dst, src, n + 1);
	*out = dst;
	return true;
}

static const uint8_t *copy_bytes(uint8_t *dst, const uint8_t *src, size_t n)
{
	if (src == NULL)
		return NULL;
	memcpy(dst, src, n);
	return dst;
}

/* rec into c, every pointer into c itself; false if a text does not fit. */
static bool copy_record(struct row_copy *c, const struct audit_record *rec)
{
	c->rec = *rec;
	if (rec->kid != NULL && rec->kid_len > sizeof(c->kid))
		return false;
	c->rec.kid = copy_bytes(c->kid, rec->kid, rec->kid_len);
	c->rec.clearance_hash = copy_bytes(c->hash, rec->clearance_hash, TRUST_HASH_LEN);
	bool ok = copy_text(c->source, sizeof(c->source), rec->source, &c->rec.source) &&
	          copy_text(c->verdict, sizeof(c->verdict), rec->verdict, &c->rec.verdict) &&
	          copy_text(c->reason, sizeof(c->reason), rec->reason, &c->rec.reason) &&
	          copy_text(c->desk, sizeof(c->desk), rec->desk, &c->rec.desk);
	if (!ok || rec->binding == NULL) {
		c->rec.binding = NULL;
		return ok;
	}
	const struct audit_binding *b = rec->binding;
	ok = copy_text(c->outcome[0], sizeof(c->outcome[0]), b->card, &c->binding.card) &&
	     copy_text(c->outcome[1], sizeof(c->outcome[1]), b->passport, &c->binding.passport) &&
	     copy_text(c->outcome[2], sizeof(c->outcome[2]), b->boarding, &c->binding.boarding);
	c->binding.passport_pseudonym =
	        copy_bytes(c->passport_pseudonym, b->passport_pseudonym, TRUST_HASH_LEN);
	c->binding.boarding_pseudonym =
	        copy_bytes(c->boarding_pseudonym, b->boarding_pseudonym, TRUST_HASH_LEN);
	c->rec.binding = &c->binding;
	return ok;
}

/* The rows of a batch in one transaction; if the store refuses it, one at a time, so that
 * one bad row costs only itself.  The rows refused. */
static uint64_t write_batch(struct audit_writer *w, size_t n, uint64_t first)
{
	if (store_audit_append_rows(w->store, w->batch, n) == QD_OK)
		return 0;
	uint64_t failed = n;
	if (n > 1) {
		failed = 0;
		for (size_t i = 0; i < n; i++)
			failed += store_audit_append(w->store, &w->batch[i], NULL) != QD_OK;
	}
	if (failed > 0)
		log_err("audit: %llu of the rows %llu-%llu not written (store error)",
		        (unsigned long long)failed, (unsigned long long)first,
		        (unsigned long long)(first + n - 1));
	return failed;
}

static void tell_loop(struct audit_writer *w)
{
	uint64_t one = 1;
	/* The counter only grows (to 2^64-2): a write fails only if the loop is gone. */
	while (write(w->efd, &one, sizeof(one)) < 0 && errno == EINTR)
		;
}

static void *writer_main(void *arg)
{
	struct audit_writer *w = arg;
	thread_name("qrdesk-audit");
	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (w->count == 0 && !w->stop)
			pthread_cond_wait(&w->work, &w->mu);
		if (w->count == 0)
			break; /* stopping, and nothing waits */
		/* The waiting rows stay where they are; the loop fills only slots after them. */
		size_t n = w->count, head = w->head;
		uint64_t first = w->next_ticket;
		pthread_mutex_unlock(&w->mu);
		for (size_t i = 0; i < n; i++)
			w->batch[i] = w->ring[(head + i) % AUDIT_WRITER_QUEUE].rec;
		uint64_t failed = write_batch(w, n, first);
		pthread_mutex_lock(&w->mu);
		w->head = (w->head + n) % AUDIT_WRITER_QUEUE;
		w->count -= n;
		w->next_ticket += n;
		w->through = first + n - 1;
		w->failed += failed;
		pthread_cond_broadcast(&w->room);
		tell_loop(w);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

/* Loop thread: how far the rows are done, to the owner. */
static void report(struct audit_writer *w)
{
	pthread_mutex_lock(&w->mu);
	uint64_t through = w->through, failed = w->failed;
	w->failed = 0;
	pthread_mutex_unlock(&w->mu);
	w->done(w->arg, through, failed);
}

static void on_event(struct loop *loop, int fd, uint32_t events, void *arg)
{
	(void)loop;
	(void)events;
	uint64_t n;
	/* Non-blocking: EAGAIN if another wake-up was already read with this one. */
	if (read(fd, &n, sizeof(n)) == (ssize_t)sizeof(n))
		report(arg);
}

static void writer_free(struct audit_writer *w)
{
	if (w->watched)
		loop_remove_fd(w->loop, w->efd);
	if (w->efd >= 0)
		close(w->efd);
	store_close(w->store);
	pthread_cond_destroy(&w->room);
	pthread_cond_destroy(&w->work);
	pthread_mutex_destroy(&w->mu);
	free(w);
}

enum qd_err audit_writer_start(struct loop *loop, const char *store_path, audit_writer_done done,
                               void *arg, struct audit_writer **out, struct qd_errmsg *why)
{
	*out = NULL;
	if (loop == NULL || store_path == NULL || done == NULL) {
		qd_errmsg_set(why, "audit writer: no loop, store or callback");
		return QD_ERR_ARG;
	}
	struct audit_writer *w = calloc(1, sizeof(*w));
	if (w == NULL) {
		qd_errmsg_set(why, "audit writer: out of memory");
		return QD_ERR_NOMEM;
	}
	w->loop = loop;
	w->done = done;
	w->arg = arg;
	w->next_ticket = 1;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->work, NULL);
	pthread_cond_init(&w->room, NULL);
	w->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (w->efd < 0) {
		qd_errmsg_set(why, "audit writer: eventfd: %s", strerror(errno));
		writer_free(w);
		return QD_ERR_IO;
	}
	enum qd_err rc = store_open(store_path, STORE_OPEN_READWRITE, &w->store, why);
	if (rc == QD_OK) {
		rc = loop_add_fd(loop, w->efd, EPOLLIN, on_event, w);
		w->watched = rc == QD_OK;
		if (rc != QD_OK)
			qd_errmsg_set(why, "audit writer: cannot watch its eventfd (%s)",
			              qd_err_name(rc));
	}
	int err = 0;
	if (rc == QD_OK) {
		/* Signals are the loop's (signalfd): the thread starts with all of them blocked, so
		 * a SIGTERM is never delivered to it (where its default action would kill). */
		sigset_t all, old;
		sigfillset(&all);
		pthread_sigmask(SIG_SETMASK, &all, &old);
		err = pthread_create(&w->thread, NULL, writer_main, w);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	}
	if (err != 0) {
		qd_errmsg_set(why, "audit writer: cannot start its thread: %s", strerror(err));
		rc = QD_ERR_IO;
	}
	if (rc != QD_OK) {
		writer_free(w);
		return rc;
	}
	w->running = true;
	*out = w;
	return QD_OK;
}

enum qd_err audit_writer_submit(struct audit_writer *w, const struct audit_record *rec,
                                uint64_t *ticket)
{
	*ticket = 0;
	pthread_mutex_lock(&w->mu);
	while (w->count == AUDIT_WRITER_QUEUE)
		pthread_cond_wait(&w->room, &w->mu);
	struct row_copy *c = &w->ring[(w->head + w->count) % AUDIT_WRITER_QUEUE];
	pthread_mutex_unlock(&w->mu);
	/* The slot is the loop's until count covers it. */
	if (!copy_record(c, rec))
		return QD_ERR_ARG;
	pthread_mutex_lock(&w->mu);
	*ticket = w->next_ticket + w->count;
	w->count++;
	pthread_cond_signal(&w->work);
	pthread_mutex_unlock(&w->mu);
	return QD_OK;
}

void audit_writer_stop(struct audit_writer *w)
{
	if (w == NULL)
		return;
	if (w->running) {
		pthread_mutex_lock(&w->mu);
		w->stop = true;
		pthread_cond_signal(&w->work);
		pthread_mutex_unlock(&w->mu);
		pthread_join(w->thread, NULL);
		report(w);
	}
	writer_free(w);
}

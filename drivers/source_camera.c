/* SPDX-License-Identifier: Apache-2.0 */
/*
 * source_camera.c - the camera source (see source.h): a V4L2 camera read in
 * a capture thread of its own, each frame decoded by the decoder chain
 * (qrdecode_frame, with the frame's timestamp: ZBar's turns are paid by
 * frame time).
 *
 * Two threads, one mailbox.  The capture thread owns the device and the
 * decoder: it opens the camera (v4l2_capture.h), waits for frames, decodes
 * them, and puts what the loop must know in the mailbox under a mutex: the
 * state and its detail, the count and reason of dropped frames, and the
 * texts found (a bounded queue: when the loop falls behind, texts past
 * MAILBOX_TEXTS are dropped and counted).  It then writes to an eventfd the
 * loop watches, and the loop thread empties the mailbox, updates
 * src->status, logs, and calls on_code.  So all of source.h's promises
 * hold: status and on_code are only ever touched on the loop thread.  (An
 * eventfd of our own rather than loop_post: a posted item cannot be taken
 * back, and one still queued when the source is destroyed would point at
 * freed memory; a watched fd is simply removed.)
 *
 * In view.  Decoding at 30 frames a second sees a card held under the
 * camera dozens of times.  A text is delivered when it appears, then not
 * again while it keeps being seen; once it has been out of sight for
 * gone_us (CAMERA_GONE_MS, or three frame times if longer, so one frame
 * where a decoder misses it does not count as leaving) and for at least
 * CAMERA_GONE_FRAMES decoded frames it may be delivered again.  Both, because on a
 * slow machine (a board under load, an emulator) one frame's decoding can
 * take longer than gone_us: the card was then in every frame looked at and
 * never left, and must not be judged again as ALREADY_USED.
 *
 * States.  Opening fails with "no such device": SOURCE_ABSENT; with
 * anything else (permissions, not a camera, no usable format): SOURCE_FAILED;
 * both are retried every retry_ms.  An unplug (ENODEV from a dequeue) goes
 * back to ABSENT.  No frame at all for stall_ms: SOURCE_STALLED, the device
 * is closed and opened again at once; the state stays STALLED until a frame
 * comes.  Each change of state is logged once; dropped frames at most once
 * every DROP_LOG_US.
 *
 * Stopping.  stop() sets the quit flag, wakes the thread if it waits to
 * retry, and joins it: a capture thread never outlives its source.  It polls
 * the device in slices of at most POLL_SLICE_MS, so it notices within that.
 */
#include "qrdesk/source_camera.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "qrdesk/log.h"
#include "qrdecode.h"
#include "v4l2_capture.h"

_Static_assert(CAMERA_DECODE_ZXING == QRDECODE_ZXING && CAMERA_DECODE_ZBAR == QRDECODE_ZBAR &&
                       CAMERA_DECODE_ALL == QRDECODE_DECODERS_ALL &&
                       CAMERA_DECODE_BUDGET_DEFAULT_KPX == QRDECODE_BUDGET_DEFAULT_KPX &&
                       CAMERA_DECODE_BUDGET_MAX_KPX == QRDECODE_BUDGET_MAX_KPX &&
                       CAMERA_FORMAT_QR == QRDECODE_FORMAT_QR &&
                       CAMERA_FORMAT_PDF417 == QRDECODE_FORMAT_PDF417 &&
                       CAMERA_FORMAT_AZTEC == QRDECODE_FORMAT_AZTEC,
               "source_camera.h's decoder settings are qrdecode.h's");

#define RETRY_DEFAULT_MS 1000
#define POLL_SLICE_MS    100
#define MAILBOX_TEXTS    8  /* texts waiting for the loop, at most */
#define IN_VIEW_MAX      16 /* texts remembered as in view, at most */
#define DROP_LOG_US      (10 * 1000000LL)

struct text {
	char bytes[SOURCE_TEXT_MAX];
	size_t len;
	int64_t t_us;
};

struct in_view {
	char bytes[SOURCE_TEXT_MAX];
	size_t len;
	int64_t last_us; /* last frame it was seen in */
	unsigned missed; /* decoded frames since, without it */
	bool seen;       /* seen in the frame being decoded */
};

struct camera {
	struct source src; /* src.priv points back here */
	struct source_camera_config cfg;
	struct loop *loop;
	int wake_fd; /* eventfd: the thread's "look in the mailbox" */
	bool active;
	pthread_t thread;
	atomic_bool quit;
	bool look_now; /* hot-plug: end the retry wait early (under lock) */

	/* The mailbox: written by the thread, emptied by the loop, under lock. */
	pthread_mutex_t lock;
	pthread_cond_t cond; /* signalled on quit (CLOCK_MONOTONIC) */
	struct {
		enum source_state state;
		char detail[sizeof(((struct source_status *)0)->detail)];
		uint64_t dropped;
		char drop_reason[96];
		struct text texts[MAILBOX_TEXTS];
		size_t n_texts;
	} box;

	/* The capture thread's own. */
	struct qrdecode *dec;
	enum source_state state; /* as last put in the mailbox */
	struct in_view view[IN_VIEW_MAX];
	int64_t gone_us;
	int64_t frame_us; /* the frame being decoded */

	/* The loop thread's own. */
	struct text out[MAILBOX_TEXTS]; /* texts taken from the mailbox */
	char logged[96];
	int logged_state;
	int64_t drop_logged_us;
	uint64_t drops_logged;
};

/* ---- the capture thread --------------------------------------------------------------- */

static void wake_loop(struct camera *c)
{
	uint64_t one = 1;
	ssize_t n = write(c->wake_fd, &one, sizeof(one));
	(void)n; /* a full counter still wakes the loop */
}

static void publish(struct camera *c, enum source_state state, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/* A new state and detail for the loop. */
static void publish(struct camera *c, enum source_state state, const char *fmt, ...)
{
	char detail[sizeof(c->box.detail)];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	c->state = state;
	pthread_mutex_lock(&c->lock);
	c->box.state = state;
	memcpy(c->box.detail, detail, sizeof(detail));
	pthread_mutex_unlock(&c->lock);
	wake_loop(c);
}

static void publish_drop(struct camera *c, const char *reason)
{
	pthread_mutex_lock(&c->lock);
	c->box.dropped++;
	snprintf(c->box.drop_reason, sizeof(c->box.drop_reason), "%.95s", reason);
	pthread_mutex_unlock(&c->lock);
	wake_loop(c);
}

static void publish_text(struct camera *c, const char *bytes, size_t len)
{
	pthread_mutex_lock(&c->lock);
	if (c->box.n_texts < MAILBOX_TEXTS) {
		struct text *t = &c->box.texts[c->box.n_texts++];
		memcpy(t->bytes, bytes, len);
		t->len = len;
		t->t_us = c->frame_us;
	} else {
		c->box.dropped++;
		snprintf(c->box.drop_reason, sizeof(c->box.drop_reason),
		         "code dropped: %d codes already waiting for the loop", MAILBOX_TEXTS);
	}
	pthread_mutex_unlock(&c->lock);
	wake_loop(c);
}

/* A symbol ZBar found: deliver it unless it has been in view all along. */
static void on_symbol(void *arg, const char *data, size_t len)
{
	struct camera *c = arg;
	if (len > SOURCE_TEXT_MAX)
		len = SOURCE_TEXT_MAX; /* source.h: cut, so the check answers TOO_LARGE */
	struct in_view *oldest = &c->view[0];
	for (size_t i = 0; i < IN_VIEW_MAX; i++) {
		struct in_view *v = &c->view[i];
		if (v->len == len && memcmp(v->bytes, data, len) == 0 &&
		    (c->frame_us - v->last_us <= c->gone_us || v->missed < CAMERA_GONE_FRAMES)) {
			v->last_us = c->frame_us; /* still in view */
			v->seen = true;
			return;
		}
		if (v->last_us < oldest->last_us)
			oldest = v;
	}
	memcpy(oldest->bytes, data, len);
	oldest->len = len;
	oldest->last_us = c->frame_us;
	oldest->missed = 0;
	oldest->seen = true;
	publish_text(c, data, len);
}

static void on_frame(void *arg, const struct capture_frame *fr)
{
	struct camera *c = arg;
	c->frame_us = fr->t_us;
	int found = 0;
	struct qrdecode_stats before, after;
	qrdecode_get_stats(c->dec, &before);
	(void)qrdecode_frame(c->dec, fr->luma, fr->width, fr->height, fr->stride, fr->t_us,
	                     on_symbol, c, &found);
	qrdecode_get_stats(c->dec, &after);
	for (size_t i = 0; i < IN_VIEW_MAX; i++) {
		struct in_view *v = &c->view[i];
		if (v->seen)
			v->missed = 0;
		else if (v->missed < UINT_MAX)
			v->missed++;
		v->seen = false;
	}
	if (after.conflicts != before.conflicts)
		publish_drop(c, "the decoders read different texts from one frame: none reported");
}

static int64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Sleep ms unless told to quit, or by hot-plug to look again, first. */
static void wait_or_quit(struct camera *c, unsigned ms)
{
	struct timespec until;
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += ms / 1000;
	until.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&c->lock);
	while (!atomic_load(&c->quit) && !c->look_now) {
		if (pthread_cond_timedwait(&c->cond, &c->lock, &until) == ETIMEDOUT)
			break;
	}
	c->look_now = false;
	pthread_mutex_unlock(&c->lock);
}

static void describe_running(struct camera *c, const struct capture_info *in, enum source_state st)
{
	char rate[32];
	if (in->fps_den > 0)
		snprintf(rate, sizeof(rate), "%.3g fps", (double)in->fps_num / in->fps_den);
	else
		snprintf(rate, sizeof(rate), "driver's rate");
	if (st == SOURCE_STALLED) /* the stall stays the news until a frame comes */
		publish(c, st, "no frame for %u ms; re-opened at %ux%u %s %s", c->cfg.stall_ms,
		        in->width, in->height, capture_format_name(in->format), rate);
	else
		publish(c, st, "%.40s %ux%u %s %s", in->card, in->width, in->height,
		        capture_format_name(in->format), rate);
}

static void *capture_thread(void *arg)
{
	struct camera *c = arg;
	struct capture *cap = NULL;
	struct qd_errmsg why = {{0}};
	int64_t last_frame_us = 0;
	const int64_t stall_us = (int64_t)c->cfg.stall_ms * 1000;

	while (!atomic_load(&c->quit)) {
		if (cap == NULL) {
			enum qd_err rc = capture_open(&c->cfg.capture, c->cfg.io, &cap, &why);
			if (rc != QD_OK) {
				/* A stalled camera that cannot be re-opened is absent or failed
				 * now. */
				publish(c, rc == QD_ERR_NOT_FOUND ? SOURCE_ABSENT : SOURCE_FAILED,
				        "%s", why.text);
				wait_or_quit(c, c->cfg.retry_ms);
				continue;
			}
			const struct capture_info *in = capture_get_info(cap);
			int64_t frame_us = in->fps_den > 0 && in->fps_num > 0
			                           ? (int64_t)1000000 * in->fps_den / in->fps_num
			                           : 1000000 / (int64_t)c->cfg.capture.fps;
			c->gone_us = CAMERA_GONE_MS * 1000LL;
			if (3 * frame_us > c->gone_us)
				c->gone_us = 3 * frame_us;
			describe_running(c, in,
			                 c->state == SOURCE_STALLED ? SOURCE_STALLED
			                                            : SOURCE_RUNNING);
			last_frame_us = now_us();
		}
		int64_t left_ms = (last_frame_us + stall_us - now_us()) / 1000;
		int slice = left_ms < 1               ? 1
		            : left_ms < POLL_SLICE_MS ? (int)left_ms
		                                      : POLL_SLICE_MS;
		enum capture_result res = CAPTURE_TIMEOUT;
		enum qd_err rc = capture_next(cap, slice, on_frame, c, &res, NULL, &why);
		if (rc != QD_OK) {
			capture_close(cap);
			cap = NULL;
			publish(c, rc == QD_ERR_NOT_FOUND ? SOURCE_ABSENT : SOURCE_FAILED, "%s",
			        why.text);
			wait_or_quit(c, c->cfg.retry_ms);
			continue;
		}
		if (res == CAPTURE_TIMEOUT) {
			if (now_us() - last_frame_us >= stall_us) {
				capture_close(cap);
				cap = NULL;
				publish(c, SOURCE_STALLED, "%s: no frame for %u ms; re-opening",
				        c->cfg.capture.device, c->cfg.stall_ms);
			}
			continue;
		}
		last_frame_us = now_us();
		if (res == CAPTURE_DROPPED)
			publish_drop(c, why.text);
		else if (c->state != SOURCE_RUNNING)
			describe_running(c, capture_get_info(cap), SOURCE_RUNNING);
	}
	capture_close(cap);
	return NULL;
}

/* ---- the loop thread ------------------------------------------------------------------ */

static void log_change(struct camera *c)
{
	struct source_status *st = &c->src.status;
	if ((int)st->state == c->logged_state && strcmp(c->logged, st->detail) == 0)
		return;
	c->logged_state = (int)st->state;
	memcpy(c->logged, st->detail, sizeof(c->logged));
	int prio = st->state == SOURCE_RUNNING ? LOG_INFO : LOG_WARNING;
	log_emit(prio, "source %s: %s: %s", c->src.name, source_state_name(st->state), st->detail);
}

/* The mailbox, on the loop thread: status, logs, then texts. */
static void mailbox(struct loop *loop, int fd, uint32_t events, void *arg)
{
	(void)loop;
	(void)events;
	struct camera *c = arg;
	uint64_t count;
	ssize_t n = read(fd, &count, sizeof(count));
	(void)n;
	struct text *texts = c->out;
	size_t n_texts;
	char drop_reason[sizeof(c->box.drop_reason)];
	pthread_mutex_lock(&c->lock);
	c->src.status.state = c->box.state;
	memcpy(c->src.status.detail, c->box.detail, sizeof(c->src.status.detail));
	c->src.status.dropped = c->box.dropped;
	memcpy(drop_reason, c->box.drop_reason, sizeof(drop_reason));
	n_texts = c->box.n_texts;
	memcpy(texts, c->box.texts, n_texts * sizeof(texts[0]));
	c->box.n_texts = 0;
	pthread_mutex_unlock(&c->lock);

	log_change(c);
	int64_t now = loop_now_us();
	if (c->src.status.dropped > c->drops_logged && now - c->drop_logged_us >= DROP_LOG_US) {
		log_warn("source %s: %llu frame(s) dropped, the last: %s", c->src.name,
		         (unsigned long long)(c->src.status.dropped - c->drops_logged),
		         drop_reason);
		c->drops_logged = c->src.status.dropped;
		c->drop_logged_us = now;
	}
	for (size_t i = 0; i < n_texts && c->active; i++) {
		c->src.status.codes++;
		c->src.on_code(c->src.cb_arg, c->src.name, texts[i].bytes, texts[i].len,
		               texts[i].t_us);
	}
}

static enum qd_err camera_start(struct source *src, struct loop *loop)
{
	struct camera *c = src->priv;
	if (loop == NULL)
		return QD_ERR_ARG;
	if (c->active)
		return QD_ERR_EXISTS;
	c->loop = loop;
	c->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (c->wake_fd < 0) {
		snprintf(src->status.detail, sizeof(src->status.detail), "eventfd: %s",
		         strerror(errno));
		src->status.state = SOURCE_FAILED;
		return QD_ERR_IO;
	}
	enum qd_err rc = loop_add_fd(loop, c->wake_fd, EPOLLIN, mailbox, c);
	if (rc != QD_OK) {
		snprintf(src->status.detail, sizeof(src->status.detail),
		         "cannot watch the mailbox (%s)", qd_err_name(rc));
		goto fail;
	}
	memset(&c->box, 0, sizeof(c->box));
	memset(c->view, 0, sizeof(c->view));
	c->box.state = SOURCE_ABSENT;
	snprintf(c->box.detail, sizeof(c->box.detail), "opening %.80s", c->cfg.capture.device);
	c->state = SOURCE_ABSENT;
	src->status.state = SOURCE_ABSENT;
	memcpy(src->status.detail, c->box.detail, sizeof(src->status.detail));
	atomic_store(&c->quit, false);
	/* Signals are the loop's (signalfd): the thread must never take one. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int e = pthread_create(&c->thread, NULL, capture_thread, c);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (e != 0) {
		loop_remove_fd(loop, c->wake_fd);
		snprintf(src->status.detail, sizeof(src->status.detail),
		         "cannot start the capture thread: %s", strerror(e));
		rc = QD_ERR_NOMEM;
		goto fail;
	}
	c->active = true;
	return QD_OK;
fail:
	close(c->wake_fd);
	c->wake_fd = -1;
	src->status.state = SOURCE_FAILED;
	return rc;
}

static void camera_stop(struct source *src)
{
	struct camera *c = src->priv;
	if (!c->active)
		return;
	c->active = false;
	pthread_mutex_lock(&c->lock);
	atomic_store(&c->quit, true);
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
	pthread_join(c->thread, NULL);
	loop_remove_fd(c->loop, c->wake_fd);
	close(c->wake_fd);
	c->wake_fd = -1;
	src->status.state = SOURCE_STOPPED;
	snprintf(src->status.detail, sizeof(src->status.detail), "stopped");
}

static void camera_destroy(struct source *src)
{
	if (src == NULL)
		return;
	struct camera *c = src->priv;
	camera_stop(src);
	qrdecode_destroy(c->dec);
	pthread_cond_destroy(&c->cond);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

/* Hot-plug (loop thread): a device appeared; if the thread waits to retry, retry now. */
static void camera_rescan(struct source *src)
{
	struct camera *c = src->priv;
	if (!c->active)
		return;
	pthread_mutex_lock(&c->lock);
	c->look_now = true;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
}

static const struct source_ops camera_ops = {
        .kind = "camera",
        .start = camera_start,
        .stop = camera_stop,
        .destroy = camera_destroy,
        .rescan = camera_rescan,
};

enum qd_err source_camera(const char *name, const struct source_camera_config *cfg,
                          source_code_cb cb, void *arg, struct source **out)
{
	if (out == NULL)
		return QD_ERR_ARG;
	*out = NULL;
	const struct capture_config *cc = cfg != NULL ? &cfg->capture : NULL;
	if (name == NULL || cfg == NULL || cb == NULL || cc->device[0] == '\0' ||
	    memchr(cc->device, '\0', sizeof(cc->device)) == NULL || cc->width < CAPTURE_DIM_MIN ||
	    cc->width > CAPTURE_DIM_MAX || cc->height < CAPTURE_DIM_MIN ||
	    cc->height > CAPTURE_DIM_MAX || cc->fps < CAPTURE_FPS_MIN ||
	    cc->fps > CAPTURE_FPS_MAX || cc->format > CAPTURE_FORMAT_MJPEG ||
	    cfg->stall_ms < CAMERA_STALL_MIN_MS || cfg->stall_ms > CAMERA_STALL_MAX_MS)
		return QD_ERR_ARG;
	struct camera *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return QD_ERR_NOMEM;
	c->cfg = *cfg;
	if (c->cfg.retry_ms == 0)
		c->cfg.retry_ms = RETRY_DEFAULT_MS;
	enum qd_err rc = qrdecode_create(&c->dec);
	if (rc == QD_OK && cfg->decoders != 0)
		rc = qrdecode_set_chain(c->dec, cfg->decoders, cfg->decode_budget_kpx);
	if (rc != QD_OK) {
		qrdecode_destroy(c->dec);
		free(c);
		return rc;
	}
	qrdecode_set_formats(c->dec, cfg->formats);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	int e = pthread_cond_init(&c->cond, &ca);
	pthread_condattr_destroy(&ca);
	if (e != 0 || pthread_mutex_init(&c->lock, NULL) != 0) {
		if (e == 0)
			pthread_cond_destroy(&c->cond);
		qrdecode_destroy(c->dec);
		free(c);
		return QD_ERR_NOMEM;
	}
	c->wake_fd = -1;
	c->logged_state = -1;
	c->src.ops = &camera_ops;
	snprintf(c->src.name, sizeof(c->src.name), "%s", name);
	c->src.on_code = cb;
	c->src.cb_arg = arg;
	c->src.status.state = SOURCE_STOPPED;
	c->src.priv = c;
	*out = &c->src;
	return QD_OK;
}

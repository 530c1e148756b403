/* SPDX-License-Identifier: Apache-2.0 */
/*
 * source_hid.c - the keyboard-wedge scanner source (see source.h): a USB
 * HID scanner that "types" each code, read through evdev.
 *
 * Finding the device.  By path (/dev/input/by-id/...-event-kbd is the stable
 * name), or by USB vendor:product: the /dev/input/event* nodes are opened in
 * name order and the first whose EVIOCGID matches is taken.  Opened
 * O_RDONLY | O_NONBLOCK.  With grab on, EVIOCGRAB makes the device ours
 * alone: the scanner's keystrokes never reach a console or the kiosk
 * browser (where they would be typed into whatever has focus).  The event
 * clock is switched to CLOCK_MONOTONIC (EVIOCSCLOCKID), the loop's clock, so
 * the inter-key timeout can be checked against the loop's timer; Caps Lock
 * is seeded from the device's LED (EVIOCGLED).
 *
 * A FIFO at the path is a recorded event stream: struct input_event records,
 * read with no ioctls (there is no device to grab).  Tests use it where
 * /dev/uinput is absent, and a recording of a real scanner can be replayed.
 * Records may arrive split; a writer closing the FIFO is treated like an
 * unplug (the partial code is dropped) and the FIFO is opened again.
 *
 * Two threads, one mailbox.  The kernel queues only 64 events for an
 * evdev reader (a handful of keys): a loop turn that takes a while (a slow
 * verdict, a status build) must not stand between the keys and their read.
 * So while a device is open, a reader thread of its own polls it, reads the
 * events as they come and assembles the codes (hid_assembler.h); each whole
 * code, and each dropped one, goes into a mailbox under a mutex, and an
 * eventfd the loop watches says so.  The loop thread empties the mailbox,
 * counts, logs, and calls on_code: src->status and on_code stay the loop's.
 * The loop opens the device (at start, on its retry timer, on hot-plug) and
 * starts the reader on it; the reader ends when the device goes away (it
 * says so in the mailbox) or when told to (an eventfd), and the loop joins it
 * before it closes the device.  A mailbox that is full (MAILBOX_CODES codes
 * the loop has not taken) drops the next code, counted and logged.
 *
 * Time.  Gaps between keys are measured on the events' own timestamps, so a
 * burst read late is judged as typed, not as read.  The reader drops a code
 * whose Enter never comes at the assembler's deadline, mapped from the event
 * clock to the monotonic clock through the last event read (an offset that
 * is ~0 for a device, and whatever the recording's origin is for a FIFO).  A
 * code is delivered with the monotonic time (the loop's clock) at which its
 * Enter was read.
 *
 * Coming and going: as the serial source (source_serial.c): absent at start
 * or unplugged later (read fails with ENODEV, poll reports a hang-up), the
 * source is SOURCE_ABSENT and looked for again every retry_ms; a device
 * grabbed by another program is SOURCE_FAILED and retried.  Each change is
 * logged once.
 */
#include "qrdesk/source_hid.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/input.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sched.h>
#include <pthread.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "hid_assembler.h"
#include "qrdesk/log.h"
#include "qrdesk/thread.h"

#define READ_EVENTS       64
#define READ_ROUNDS       16
#define RETRY_DEFAULT_MS  1000
#define INPUT_DIR         "/dev/input"
#define HID_READER_RTPRIO 10    /* the reader thread's; qrdeskd.service's LimitRTPRIO= matches */
#define HID_READER_NICE   (-10) /* without real time; qrdeskd.service's LimitNICE= matches */

#define MAILBOX_CODES 8 /* codes waiting for the loop, at most */
#define MAILBOX_DROPS 8 /* dropped codes waiting to be told, at most */

struct code {
	char text[HID_CODE_MAX + 1];
	size_t len;
	int64_t t_us;
};

struct drop {
	enum hid_drop why;
	size_t len;
};

struct hid {
	struct source src; /* src.priv points back here */
	struct source_hid_config cfg;
	bool by_id;
	uint16_t vendor, product;

	/* The loop thread's own. */
	struct loop *loop;
	struct loop_timer *retry;
	int wake_fd; /* eventfd: the reader's "look in the mailbox" */
	int fd;      /* the device: opened and closed here, read by the reader between */
	bool fifo;
	bool active;
	bool reading; /* the reader thread runs (from open to close_device) */
	pthread_t reader;
	int quit_fd;                    /* eventfd: the reader's "end now" */
	char path[PATH_MAX];            /* the node opened */
	struct code out[MAILBOX_CODES]; /* codes taken from the mailbox */
	char logged[96];
	int logged_state;
	bool drop_unlogged; /* a code was dropped since the last log line */

	/* The reader thread's own while it runs (the loop's before and after). */
	struct hid_assembler as;
	unsigned char partial[sizeof(struct input_event)];
	size_t partial_len;
	int64_t read_us;   /* monotonic time of the read being handled */
	int64_t offset_us; /* event clock - monotonic clock, from the last event */
	bool nice_told;    /* the reader's priority could not be raised: said once */

	/* The mailbox: filled by the reader, emptied by the loop, under lock. */
	pthread_mutex_t lock;
	struct {
		struct code codes[MAILBOX_CODES];
		size_t n_codes;
		struct drop drops[MAILBOX_DROPS];
		size_t n_drops;
		uint64_t full;   /* codes dropped: MAILBOX_CODES already waiting */
		uint64_t untold; /* codes dropped past MAILBOX_DROPS: counted only */
		bool gone;       /* the reader ended: the device went away */
		char gone_why[64];
	} box;
};

static void set_detail(struct hid *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void set_detail(struct hid *h, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(h->src.status.detail, sizeof(h->src.status.detail), fmt, ap);
	va_end(ap);
}

static int64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts); /* loop_now_us()'s clock */
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* ---- the reader thread (and the loop, while no reader runs) ------------------------- */

static void wake_loop(struct hid *h)
{
	uint64_t one = 1;
	ssize_t n = write(h->wake_fd, &one, sizeof(one));
	(void)n; /* a full counter still wakes the loop */
}

static void on_code(void *arg, const char *text, size_t len, int64_t t_us)
{
	(void)t_us; /* the event clock; delivered on the monotonic one, as read */
	struct hid *h = arg;
	pthread_mutex_lock(&h->lock);
	if (h->box.n_codes < MAILBOX_CODES) {
		struct code *c = &h->box.codes[h->box.n_codes++];
		memcpy(c->text, text, len + 1);
		c->len = len;
		c->t_us = h->read_us;
	} else {
		h->box.full++;
	}
	pthread_mutex_unlock(&h->lock);
	wake_loop(h);
}

static void on_drop(void *arg, enum hid_drop why, size_t len)
{
	struct hid *h = arg;
	pthread_mutex_lock(&h->lock);
	if (h->box.n_drops < MAILBOX_DROPS)
		h->box.drops[h->box.n_drops++] = (struct drop){.why = why, .len = len};
	else
		h->box.untold++;
	pthread_mutex_unlock(&h->lock);
	wake_loop(h);
}

static const struct hid_assembler_ops as_ops = {.on_code = on_code, .on_drop = on_drop};

/* The reader ends: the device went away (why); a half-typed code is dropped (counted). */
static void reader_gone(struct hid *h, const char *why)
{
	hid_assembler_reset(&h->as);
	pthread_mutex_lock(&h->lock);
	h->box.gone = true;
	snprintf(h->box.gone_why, sizeof(h->box.gone_why), "%s", why);
	pthread_mutex_unlock(&h->lock);
	wake_loop(h);
}

static void handle(struct hid *h, const struct input_event *ev)
{
	int64_t t_us = (int64_t)ev->input_event_sec * 1000000 + (int64_t)ev->input_event_usec;
	h->offset_us = t_us - h->read_us;
	hid_assembler_event(&h->as, ev->type, ev->code, ev->value, t_us);
}

/* Feed n bytes of records, keeping a split record's head for the next read. */
static void feed(struct hid *h, const unsigned char *p, size_t n)
{
	const size_t rec = sizeof(struct input_event);
	while (n > 0) {
		struct input_event ev;
		if (h->partial_len > 0 || n < rec) {
			size_t take = rec - h->partial_len < n ? rec - h->partial_len : n;
			memcpy(h->partial + h->partial_len, p, take);
			h->partial_len += take;
			p += take;
			n -= take;
			if (h->partial_len < rec)
				return;
			memcpy(&ev, h->partial, rec);
			h->partial_len = 0;
		} else {
			memcpy(&ev, p, rec);
			p += rec;
			n -= rec;
		}
		handle(h, &ev);
	}
}

/* Read what is queued.  False if the device went away (reader_gone done). */
static bool read_queued(struct hid *h, short revents)
{
	struct input_event buf[READ_EVENTS];
	for (int round = 0; round < READ_ROUNDS; round++) {
		ssize_t n = read(h->fd, buf, sizeof(buf));
		if (n > 0) {
			h->read_us = now_us();
			feed(h, (const unsigned char *)buf, (size_t)n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (revents & (POLLHUP | POLLERR)) {
				reader_gone(h, "hung up");
				return false;
			}
			return true;
		}
		reader_gone(h, n == 0 ? "end of input" : strerror(errno));
		return false;
	}
	return true; /* more may be queued: poll says so at once */
}

/*
 * The reader: waits for the device's events (or the end), reads them as they come
 * and assembles codes, whatever the loop is doing; a code whose Enter never comes
 * is dropped at the assembler's deadline.  Nothing here touches src->status.
 */
static void *reader_thread(void *arg)
{
	struct hid *h = arg;
	/* Before the desk's other work: the kernel keeps 64 events (a handful of keys) for a
	 * reader that is late, and a scanner types a code of hundreds of keys in well under a
	 * second.  SCHED_FIFO: woken by an event, it runs at once, whatever else is runnable (a
	 * busy CPU once overran the queue at nice -10, docs/daemon.md#threads); it only blocks
	 * in poll and hands codes on.  Allowed by qrdeskd.service's LimitRTPRIO; without it,
	 * nice -10 (LimitNICE); elsewhere the reader keeps nice 0. */
	char why_rt[128], why[128] = "";
	bool rt = thread_set_fifo(HID_READER_RTPRIO, why_rt, sizeof(why_rt)) == QD_OK;
	bool high = !rt && thread_set_nice(HID_READER_NICE, why, sizeof(why)) == QD_OK;
	if (!rt && !h->nice_told) {
		h->nice_told = true;
		if (high)
			log_warn(
			        "source hid: the reader runs at nice %d, not real-time priority %d "
			        "(%s; LimitRTPRIO=%d in qrdeskd.service allows it)",
			        HID_READER_NICE, HID_READER_RTPRIO, why_rt, HID_READER_RTPRIO);
		else
			log_warn("source hid: the reader stays at nice %d, not real-time priority "
			         "%d "
			         "(%s) nor nice %d (%s): a fast scanner on a busy desk may lose "
			         "keys "
			         "(LimitRTPRIO=%d and LimitNICE=%d in qrdeskd.service allow them)",
			         thread_nice(), HID_READER_RTPRIO, why_rt, HID_READER_NICE, why,
			         HID_READER_RTPRIO, HID_READER_NICE);
	}
	thread_name("qrdesk-hid"); /* after the priority: a thread of this name has it */
	struct pollfd p[2] = {{.fd = h->fd, .events = POLLIN},
	                      {.fd = h->quit_fd, .events = POLLIN}};
	for (;;) {
		int timeout = -1;
		int64_t deadline = hid_assembler_deadline(&h->as);
		if (deadline >= 0) {
			int64_t wait_us = deadline - h->offset_us - now_us();
			int64_t ms = wait_us > 0 ? (wait_us + 999) / 1000 : 0;
			timeout = ms > INT_MAX ? INT_MAX : (int)ms;
		}
		int n = poll(p, 2, timeout);
		if (n < 0 && errno != EINTR) {
			reader_gone(h, strerror(errno));
			break;
		}
		if (n > 0 && p[1].revents != 0)
			break; /* close_device: the loop ends us */
		if (n > 0 && p[0].revents & POLLNVAL) {
			reader_gone(h, "closed");
			break;
		}
		if (n > 0 && p[0].revents != 0 && !read_queued(h, p[0].revents))
			break;
		hid_assembler_expire(&h->as, now_us() + h->offset_us);
	}
	return NULL;
}

/* ---- the loop thread ------------------------------------------------------------------ */

/*
 * A change of state or detail is logged once; a dropped code always is, as a
 * warning: a second code dropped like the first (same length, same reason)
 * leaves the detail as it was, and must not go unseen.
 */
static void log_change(struct hid *h)
{
	if ((int)h->src.status.state == h->logged_state &&
	    strcmp(h->logged, h->src.status.detail) == 0 && !h->drop_unlogged)
		return;
	h->logged_state = (int)h->src.status.state;
	memcpy(h->logged, h->src.status.detail, sizeof(h->logged));
	int prio =
	        h->src.status.state == SOURCE_RUNNING && !h->drop_unlogged ? LOG_INFO : LOG_WARNING;
	h->drop_unlogged = false;
	log_emit(prio, "source %s: %s: %s", h->src.name, source_state_name(h->src.status.state),
	         h->src.status.detail);
}

static void count_drop(struct hid *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* One code dropped: counted; its detail is logged by the caller's log_change. */
static void count_drop(struct hid *h, const char *fmt, ...)
{
	h->src.status.dropped++;
	h->drop_unlogged = true;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(h->src.status.detail, sizeof(h->src.status.detail), fmt, ap);
	va_end(ap);
}

/*
 * Empty the mailbox: drops are counted and logged, then the codes are delivered
 * (while the source is active: a code still waiting when it stops is counted as
 * dropped).  True if the reader said the device went away (its reason in why).
 */
static bool take_mailbox(struct hid *h, char *why, size_t why_size)
{
	static const char *const reasons[] = {
	        [HID_DROP_TIMEOUT] = "keys too slow (key_timeout_ms)",
	        [HID_DROP_OVERLONG] = "too long",
	        [HID_DROP_UNEXPECTED] = "a non-character key in it",
	        [HID_DROP_RESET] = "device gone",
	        [HID_DROP_OVERRUN] = "keys lost (the kernel's event queue overflowed)",
	};
	struct drop drops[MAILBOX_DROPS];
	pthread_mutex_lock(&h->lock);
	size_t n_codes = h->box.n_codes, n_drops = h->box.n_drops;
	memcpy(h->out, h->box.codes, n_codes * sizeof(h->out[0]));
	memcpy(drops, h->box.drops, n_drops * sizeof(drops[0]));
	uint64_t full = h->box.full, untold = h->box.untold;
	bool gone = h->box.gone;
	snprintf(why, why_size, "%s", h->box.gone_why);
	h->box.n_codes = h->box.n_drops = 0;
	h->box.full = h->box.untold = 0;
	h->box.gone = false;
	pthread_mutex_unlock(&h->lock);

	/* Each drop is logged, but the one the device's going cut off: went_away says it. */
	bool tell = h->active && h->reading;
	for (size_t i = 0; i < n_drops; i++) {
		count_drop(h, "code dropped after %zu characters: %s", drops[i].len,
		           reasons[drops[i].why]);
		if (tell && !(gone && drops[i].why == HID_DROP_RESET))
			log_change(h);
	}
	for (uint64_t i = 0; i < untold; i++) {
		count_drop(h, "code dropped (%d more dropped codes were waiting to be told)",
		           MAILBOX_DROPS);
		if (tell)
			log_change(h);
	}
	for (uint64_t i = 0; i < full; i++) {
		count_drop(h, "code dropped: %d codes already waiting for the loop", MAILBOX_CODES);
		if (tell)
			log_change(h);
	}
	for (size_t i = 0; i < n_codes; i++) {
		if (!h->active) { /* stopping: the pipeline takes no more */
			count_drop(h, "code dropped: the source stopped before it was handled");
			continue;
		}
		h->src.status.codes++;
		h->src.on_code(h->src.cb_arg, h->src.name, h->out[i].text, h->out[i].len,
		               h->out[i].t_us);
	}
	return gone;
}

/* End the reader (if it runs), take what it left, and close the device. */
static void close_device(struct hid *h)
{
	if (h->fd < 0)
		return;
	if (h->reading) {
		uint64_t one = 1;
		ssize_t n = write(h->quit_fd, &one, sizeof(one));
		(void)n;
		pthread_join(h->reader, NULL);
		h->reading = false;
		close(h->quit_fd);
		h->quit_fd = -1;
	}
	close(h->fd); /* also ends the grab */
	h->fd = -1;
	h->partial_len = 0;
	hid_assembler_reset(&h->as); /* drops a code cut off mid-way (counted) */
	char why[sizeof(h->box.gone_why)];
	(void)take_mailbox(h, why, sizeof(why));
}

static void went_away(struct hid *h, const char *why)
{
	close_device(h);
	h->src.status.state = SOURCE_ABSENT;
	set_detail(h, "%.40s: %s; waiting for it%s", h->path, why,
	           h->drop_unlogged ? " (a code was cut off)" : "");
	log_change(h);
	loop_timer_arm(h->retry, h->cfg.retry_ms, h->cfg.retry_ms);
}

/* The mailbox, on the loop thread. */
static void mailbox(struct loop *loop, int fd, uint32_t events, void *arg)
{
	(void)loop;
	(void)events;
	struct hid *h = arg;
	uint64_t count;
	ssize_t n = read(fd, &count, sizeof(count));
	(void)n;
	char why[sizeof(h->box.gone_why)];
	if (take_mailbox(h, why, sizeof(why)) && h->active && h->fd >= 0)
		went_away(h, why);
}

/* Start the reader on the device just opened (h->fd); the loop leaves it alone meanwhile. */
static enum qd_err start_reader(struct hid *h)
{
	h->quit_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (h->quit_fd < 0) {
		set_detail(h, "eventfd: %s", strerror(errno));
		return QD_ERR_IO;
	}
	h->partial_len = 0;
	h->read_us = h->offset_us = 0;
	/* Signals are the loop's (signalfd): the thread must never take one. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int e = pthread_create(&h->reader, NULL, reader_thread, h);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (e != 0) {
		close(h->quit_fd);
		h->quit_fd = -1;
		set_detail(h, "cannot start the reader thread: %s", strerror(e));
		return QD_ERR_NOMEM;
	}
	h->reading = true;
	return QD_OK;
}

/* Open path and check it is an input device (or a FIFO).  -1 with errno. */
static int open_node(struct hid *h, const char *path, bool *fifo)
{
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -1;
	struct stat st;
	if (fstat(fd, &st) != 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	*fifo = S_ISFIFO(st.st_mode);
	int version;
	if (!*fifo && (!S_ISCHR(st.st_mode) || ioctl(fd, EVIOCGVERSION, &version) != 0)) {
		close(fd);
		errno = ENOTTY;
		return -1;
	}
	(void)h;
	return fd;
}

/* Find the first event node with the configured vendor:product. */
static int find_by_id(struct hid *h, bool *fifo)
{
	struct dirent **list = NULL;
	int n = scandir(INPUT_DIR, &list, NULL, alphasort);
	int found = -1;
	for (int i = 0; i < n; i++) {
		if (found < 0 && strncmp(list[i]->d_name, "event", 5) == 0) {
			char path[PATH_MAX];
			snprintf(path, sizeof(path), INPUT_DIR "/%s", list[i]->d_name);
			int fd = open_node(h, path, fifo);
			struct input_id id;
			if (fd >= 0 && !*fifo && ioctl(fd, EVIOCGID, &id) == 0 &&
			    id.vendor == h->vendor && id.product == h->product) {
				found = fd;
				snprintf(h->path, sizeof(h->path), "%s", path);
			} else if (fd >= 0) {
				close(fd);
			}
		}
		free(list[i]);
	}
	free(list);
	errno = ENOENT;
	return found;
}

static enum qd_err open_device(struct hid *h)
{
	bool fifo = false;
	int fd;
	if (h->by_id) {
		snprintf(h->path, sizeof(h->path), "%04x:%04x", h->vendor, h->product);
		fd = find_by_id(h, &fifo);
		if (fd < 0) {
			set_detail(h, "no input device %04x:%04x", h->vendor, h->product);
			return QD_ERR_NOT_FOUND;
		}
	} else {
		snprintf(h->path, sizeof(h->path), "%s", h->cfg.device);
		fd = open_node(h, h->path, &fifo);
		if (fd < 0) {
			int e = errno;
			set_detail(h, "%s: %s", h->path,
			           e == ENOTTY ? "not an input device" : strerror(e));
			return e == ENOENT || e == ENODEV || e == ENXIO ? QD_ERR_NOT_FOUND
			                                                : QD_ERR_IO;
		}
	}
	char name[64] = "recorded events";
	hid_assembler_reset(&h->as);
	if (!fifo) {
		int clk = CLOCK_MONOTONIC;
		if (ioctl(fd, EVIOCSCLOCKID, &clk) != 0) {
			set_detail(h, "%s: cannot use the monotonic clock: %s", h->path,
			           strerror(errno));
			close(fd);
			return QD_ERR_IO;
		}
		if (h->cfg.grab && ioctl(fd, EVIOCGRAB, (void *)1) != 0) {
			set_detail(h, "%s: cannot grab it: %s", h->path,
			           errno == EBUSY ? "another program has it" : strerror(errno));
			close(fd);
			return QD_ERR_IO;
		}
		unsigned char leds[(LED_MAX + 7) / 8] = {0};
		if (ioctl(fd, EVIOCGLED(sizeof(leds)), leds) >= 0)
			hid_assembler_set_caps(&h->as,
			                       (leds[LED_CAPSL / 8] >> (LED_CAPSL % 8)) & 1);
		if (ioctl(fd, EVIOCGNAME(sizeof(name)), name) < 0)
			snprintf(name, sizeof(name), "input device");
		name[sizeof(name) - 1] = '\0';
	}
	h->fd = fd;
	h->fifo = fifo;
	enum qd_err rc = start_reader(h);
	if (rc != QD_OK) {
		close(fd);
		h->fd = -1;
		return rc;
	}
	set_detail(h, "%.40s: %.40s%s", h->path, name, !fifo && h->cfg.grab ? " (grabbed)" : "");
	return QD_OK;
}

static void try_open(struct hid *h)
{
	enum qd_err rc = open_device(h);
	if (rc == QD_OK) {
		loop_timer_disarm(h->retry);
		h->src.status.state = SOURCE_RUNNING;
	} else {
		h->src.status.state = rc == QD_ERR_NOT_FOUND ? SOURCE_ABSENT : SOURCE_FAILED;
		if (!loop_timer_armed(h->retry))
			loop_timer_arm(h->retry, h->cfg.retry_ms, h->cfg.retry_ms);
	}
	log_change(h);
}

static void retry_tick(struct loop *loop, struct loop_timer *timer, void *arg)
{
	(void)loop;
	(void)timer;
	struct hid *h = arg;
	if (h->active && h->fd < 0)
		try_open(h);
}

static enum qd_err hid_start(struct source *src, struct loop *loop)
{
	struct hid *h = src->priv;
	if (loop == NULL)
		return QD_ERR_ARG;
	if (h->active)
		return QD_ERR_EXISTS;
	h->loop = loop;
	enum qd_err rc = QD_ERR_IO;
	h->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (h->wake_fd < 0) {
		set_detail(h, "eventfd: %s", strerror(errno));
		goto fail;
	}
	rc = loop_add_fd(loop, h->wake_fd, EPOLLIN, mailbox, h);
	if (rc != QD_OK) {
		set_detail(h, "cannot watch the mailbox (%s)", qd_err_name(rc));
		goto fail;
	}
	rc = loop_timer_create(loop, retry_tick, h, &h->retry);
	if (rc != QD_OK) {
		loop_remove_fd(loop, h->wake_fd);
		set_detail(h, "cannot create a timer (%s)", qd_err_name(rc));
		goto fail;
	}
	memset(&h->box, 0, sizeof(h->box));
	h->active = true;
	try_open(h); /* absent at start is not an error: it is retried */
	return QD_OK;
fail:
	if (h->wake_fd >= 0)
		close(h->wake_fd);
	h->wake_fd = -1;
	src->status.state = SOURCE_FAILED;
	return rc;
}

static void hid_stop(struct source *src)
{
	struct hid *h = src->priv;
	if (!h->active)
		return;
	h->active = false;
	close_device(h);
	loop_timer_destroy(h->retry);
	h->retry = NULL;
	loop_remove_fd(h->loop, h->wake_fd);
	close(h->wake_fd);
	h->wake_fd = -1;
	src->status.state = SOURCE_STOPPED;
	set_detail(h, "stopped");
}

static void hid_destroy(struct source *src)
{
	if (src == NULL)
		return;
	struct hid *h = src->priv;
	hid_stop(src);
	pthread_mutex_destroy(&h->lock);
	free(h);
}

/* Hot-plug: a device appeared somewhere; if ours is still missing, try it now. */
static void hid_rescan(struct source *src)
{
	struct hid *h = src->priv;
	retry_tick(h->loop, h->retry, h);
}

static const struct source_ops hid_ops = {
        .kind = "hid",
        .start = hid_start,
        .stop = hid_stop,
        .destroy = hid_destroy,
        .rescan = hid_rescan,
};

/* "vvvv:pppp", exactly 4 hex digits each. */
static bool parse_id(const char *s, uint16_t *vendor, uint16_t *product)
{
	if (strlen(s) != 9 || s[4] != ':')
		return false;
	unsigned v = 0, p = 0;
	for (int i = 0; i < 9; i++) {
		if (i == 4)
			continue;
		char c = s[i];
		unsigned d;
		if (c >= '0' && c <= '9')
			d = (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			d = (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			d = (unsigned)(c - 'A' + 10);
		else
			return false;
		if (i < 4)
			v = v * 16 + d;
		else
			p = p * 16 + d;
	}
	*vendor = (uint16_t)v;
	*product = (uint16_t)p;
	return true;
}

enum qd_err source_hid(const char *name, const struct source_hid_config *cfg, source_code_cb cb,
                       void *arg, struct source **out)
{
	if (out == NULL)
		return QD_ERR_ARG;
	*out = NULL;
	if (name == NULL || cfg == NULL || cb == NULL ||
	    memchr(cfg->device, '\0', sizeof(cfg->device)) == NULL)
		return QD_ERR_ARG;
	struct hid *h = calloc(1, sizeof(*h));
	if (h == NULL)
		return QD_ERR_NOMEM;
	h->cfg = *cfg;
	if (h->cfg.retry_ms == 0)
		h->cfg.retry_ms = RETRY_DEFAULT_MS;
	h->by_id = cfg->device[0] != '/';
	if ((h->by_id && !parse_id(cfg->device, &h->vendor, &h->product)) ||
	    hid_assembler_init(&h->as, cfg->key_timeout_ms, &as_ops, h) != QD_OK) {
		free(h);
		return QD_ERR_ARG;
	}
	if (pthread_mutex_init(&h->lock, NULL) != 0) {
		free(h);
		return QD_ERR_NOMEM;
	}
	h->fd = h->wake_fd = h->quit_fd = -1;
	h->logged_state = -1;
	h->src.ops = &hid_ops;
	snprintf(h->src.name, sizeof(h->src.name), "%s", name);
	h->src.on_code = cb;
	h->src.cb_arg = arg;
	h->src.status.state = SOURCE_STOPPED;
	h->src.priv = h;
	*out = &h->src;
	return QD_OK;
}

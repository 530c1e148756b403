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
 * Time.  Gaps between keys are measured on the events' own timestamps, so a
 * burst read late is judged as typed, not as read.  The timer that drops a
 * code whose Enter never comes runs on the loop's clock; the driver maps it
 * to the event clock through the last event read (an offset that is ~0 for
 * a device, and whatever the recording's origin is for a FIFO).  A code is
 * delivered with the loop time at which its Enter was read.
 *
 * Coming and going: as the serial source (source_serial.c): absent at start
 * or unplugged later (read fails with ENODEV, epoll reports a hang-up), the
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
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "hid_assembler.h"
#include "qrdesk/log.h"

#define READ_EVENTS      64
#define READ_ROUNDS      16
#define RETRY_DEFAULT_MS 1000
#define INPUT_DIR        "/dev/input"

struct hid {
	struct source src; /* src.priv points back here */
	struct source_hid_config cfg;
	bool by_id;
	uint16_t vendor, product;
	struct hid_assembler as;
	struct loop *loop;
	struct loop_timer *retry;
	struct loop_timer *expire;
	int fd;
	bool fifo;
	bool active;
	char path[PATH_MAX]; /* the node opened */
	unsigned char partial[sizeof(struct input_event)];
	size_t partial_len;
	int64_t read_us;   /* loop time of the read being handled */
	int64_t offset_us; /* event clock - loop clock, from the last event */
	char logged[96];
	int logged_state;
	bool drop_unlogged; /* a code was dropped since the last log line */
};

static void set_detail(struct hid *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void set_detail(struct hid *h, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(h->src.status.detail, sizeof(h->src.status.detail), fmt, ap);
	va_end(ap);
}

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

static void on_code(void *arg, const char *text, size_t len, int64_t t_us)
{
	(void)t_us; /* the event clock; delivered on the loop's */
	struct hid *h = arg;
	h->src.status.codes++;
	h->src.on_code(h->src.cb_arg, h->src.name, text, len, h->read_us);
}

static void on_drop(void *arg, enum hid_drop why, size_t len)
{
	struct hid *h = arg;
	static const char *const reasons[] = {
	        [HID_DROP_TIMEOUT] = "keys too slow (key_timeout_ms)",
	        [HID_DROP_OVERLONG] = "too long",
	        [HID_DROP_UNEXPECTED] = "a non-character key in it",
	        [HID_DROP_RESET] = "device gone",
	        [HID_DROP_OVERRUN] = "keys lost (the kernel's event queue overflowed)",
	};
	h->src.status.dropped++;
	h->drop_unlogged = true;
	set_detail(h, "code dropped after %zu characters: %s", len, reasons[why]);
}

static const struct hid_assembler_ops as_ops = {.on_code = on_code, .on_drop = on_drop};

/* Arm the expiry timer for the assembler's next deadline (loop clock). */
static void arm_expire(struct hid *h)
{
	int64_t deadline = hid_assembler_deadline(&h->as);
	if (deadline < 0) {
		loop_timer_disarm(h->expire);
		return;
	}
	int64_t wait_us = deadline - h->offset_us - loop_now_us();
	loop_timer_arm(h->expire, wait_us > 0 ? (uint64_t)(wait_us + 999) / 1000 : 0, 0);
}

static void expire_tick(struct loop *loop, struct loop_timer *timer, void *arg)
{
	(void)loop;
	(void)timer;
	struct hid *h = arg;
	if (!h->active || h->fd < 0)
		return;
	hid_assembler_expire(&h->as, loop_now_us() + h->offset_us);
	arm_expire(h);
	log_change(h);
}

static void close_device(struct hid *h)
{
	if (h->fd < 0)
		return;
	loop_remove_fd(h->loop, h->fd);
	close(h->fd); /* also ends the grab */
	h->fd = -1;
	h->partial_len = 0;
	loop_timer_disarm(h->expire);
	hid_assembler_reset(&h->as);
}

static void went_away(struct hid *h, const char *why)
{
	close_device(h); /* drops a code cut off mid-way (counted) */
	h->src.status.state = SOURCE_ABSENT;
	set_detail(h, "%.40s: %s; waiting for it%s", h->path, why,
	           h->drop_unlogged ? " (a code was cut off)" : "");
	log_change(h);
	loop_timer_arm(h->retry, h->cfg.retry_ms, h->cfg.retry_ms);
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
	while (n > 0 && h->active && h->fd >= 0) {
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

static void readable(struct loop *loop, int fd, uint32_t events, void *arg)
{
	(void)loop;
	struct hid *h = arg;
	struct input_event buf[READ_EVENTS];
	for (int round = 0; round < READ_ROUNDS && h->active && h->fd == fd; round++) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n > 0) {
			h->read_us = loop_now_us();
			feed(h, (const unsigned char *)buf, (size_t)n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (events & (EPOLLHUP | EPOLLERR))
				went_away(h, "hung up");
			break;
		}
		went_away(h, n == 0 ? "end of input" : strerror(errno));
		return;
	}
	if (h->active && h->fd == fd) {
		arm_expire(h);
		log_change(h);
	}
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
	enum qd_err rc = loop_add_fd(h->loop, fd, EPOLLIN, readable, h);
	if (rc != QD_OK) {
		set_detail(h, "%s: cannot watch it (%s)", h->path, qd_err_name(rc));
		close(fd);
		return rc;
	}
	h->fd = fd;
	h->fifo = fifo;
	h->partial_len = 0;
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

static void release_timers(struct hid *h)
{
	loop_timer_destroy(h->retry);
	loop_timer_destroy(h->expire);
	h->retry = h->expire = NULL;
}

static enum qd_err hid_start(struct source *src, struct loop *loop)
{
	struct hid *h = src->priv;
	if (loop == NULL)
		return QD_ERR_ARG;
	if (h->active)
		return QD_ERR_EXISTS;
	h->loop = loop;
	enum qd_err rc = loop_timer_create(loop, retry_tick, h, &h->retry);
	if (rc == QD_OK)
		rc = loop_timer_create(loop, expire_tick, h, &h->expire);
	if (rc != QD_OK) {
		release_timers(h);
		set_detail(h, "cannot create a timer (%s)", qd_err_name(rc));
		src->status.state = SOURCE_FAILED;
		return rc;
	}
	h->active = true;
	try_open(h); /* absent at start is not an error: it is retried */
	return QD_OK;
}

static void hid_stop(struct source *src)
{
	struct hid *h = src->priv;
	if (!h->active)
		return;
	h->active = false;
	close_device(h);
	release_timers(h);
	src->status.state = SOURCE_STOPPED;
	set_detail(h, "stopped");
}

static void hid_destroy(struct source *src)
{
	if (src == NULL)
		return;
	hid_stop(src);
	free(src->priv);
}

/* Hot-plug: a device appeared somewhere; if ours is still missing, try it now. */
static void hid_rescan(struct source *src)
{
	struct hid *h = src->priv;
	retry_tick(h->loop, h->retry, h);
}

/* A code is being typed (or the rest of a dropped one): its keystrokes must be read as
 * they come, or the kernel's small queue overflows and the code is lost. */
static bool hid_typing(const struct source *src)
{
	const struct hid *h = src->priv;
	return h->active && h->fd >= 0 && (h->as.len > 0 || h->as.discarding);
}

static const struct source_ops hid_ops = {
        .kind = "hid",
        .start = hid_start,
        .stop = hid_stop,
        .destroy = hid_destroy,
        .rescan = hid_rescan,
        .typing = hid_typing,
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
	h->fd = -1;
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

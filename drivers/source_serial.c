/* SPDX-License-Identifier: Apache-2.0 */
/*
 * source_serial.c - the serial scanner source (see source.h): a hand
 * scanner on USB CDC-ACM (/dev/ttyACM*) or a UART, read raw through termios.
 *
 * Opening.  The device is opened O_RDWR | O_NOCTTY | O_NONBLOCK (a scanner
 * must never become our controlling terminal, and an absent carrier must
 * not block the open), must be a terminal, and is set raw: the configured
 * speed both ways, data bits, parity, stop bits, CLOCAL | CREAD, no flow
 * control, no echo, no line editing, no CR/LF translation (the framer sees
 * the scanner's own terminators), VMIN 1 / VTIME 0.  The settings are read
 * back: tcsetattr() succeeds when any one of them took, so a driver that
 * silently refused the speed is caught here.  Bytes queued before we opened
 * are flushed: they belong to nobody's scan.
 *
 * Coming and going.  A device that cannot be opened (not plugged in, no
 * permission yet because udev has not applied its rule) leaves the source
 * SOURCE_ABSENT, and it looks again every retry_ms.  A device that goes away
 * while open (read() fails with EIO or ENODEV, returns 0, or epoll reports
 * a hang-up with nothing to read: what unplugging a CDC-ACM scanner or
 * closing a pty master does) is closed, its partial line dropped and
 * counted, and the source goes back to SOURCE_ABSENT.  Each change of state
 * is logged once, not each retry.
 *
 * Callbacks: on_code runs on the loop thread and may stop the source, but
 * must not destroy it.
 */
#include "qrdesk/source_serial.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "qrdesk/log.h"
#include "serial_framer.h"

#define READ_CHUNK       1024
#define READ_ROUNDS      16 /* chunks per wake-up, so other watches get their turn */
#define RETRY_DEFAULT_MS 1000

struct serial {
	struct source src; /* src.priv points back here */
	struct source_serial_config cfg;
	speed_t speed;
	tcflag_t csize, parity, cstopb;
	struct serial_framer framer;
	struct loop *loop;
	struct loop_timer *retry;
	int fd; /* -1 while absent */
	bool active;
	int64_t t_us;     /* when the bytes being framed were read */
	char logged[96];  /* the detail last logged: each new one once */
	int logged_state; /* ... and its state */
};

static void set_detail(struct serial *s, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

static void set_detail(struct serial *s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(s->src.status.detail, sizeof(s->src.status.detail), fmt, ap);
	va_end(ap);
}

/* Log the state and detail if they differ from the last ones logged. */
static void log_change(struct serial *s)
{
	if ((int)s->src.status.state == s->logged_state &&
	    strcmp(s->logged, s->src.status.detail) == 0)
		return;
	s->logged_state = (int)s->src.status.state;
	memcpy(s->logged, s->src.status.detail, sizeof(s->logged));
	int prio = s->src.status.state == SOURCE_RUNNING ? LOG_INFO : LOG_WARNING;
	log_emit(prio, "source %s: %s: %s", s->src.name, source_state_name(s->src.status.state),
	         s->src.status.detail);
}

static void on_line(void *arg, const char *text, size_t len)
{
	struct serial *s = arg;
	s->src.status.codes++;
	s->src.on_code(s->src.cb_arg, s->src.name, text, len, s->t_us);
}

static void on_drop(void *arg, enum serial_drop why, size_t len)
{
	struct serial *s = arg;
	s->src.status.dropped++;
	if (why == SERIAL_DROP_OVERLONG)
		set_detail(s, "line longer than %u bytes dropped", s->cfg.max_line);
	else
		set_detail(s, "partial line of %zu bytes dropped (device gone)", len);
}

static const struct serial_framer_ops framer_ops = {.on_line = on_line, .on_drop = on_drop};

/* Close the device (if open); the caller sets the state. */
static void close_device(struct serial *s)
{
	if (s->fd < 0)
		return;
	loop_remove_fd(s->loop, s->fd);
	close(s->fd);
	s->fd = -1;
	serial_framer_reset(&s->framer);
}

static void went_away(struct serial *s, const char *why)
{
	close_device(s);
	s->src.status.state = SOURCE_ABSENT;
	set_detail(s, "%s: %s; waiting for it", s->cfg.device, why);
	log_change(s);
	loop_timer_arm(s->retry, s->cfg.retry_ms, s->cfg.retry_ms);
}

static void readable(struct loop *loop, int fd, uint32_t events, void *arg)
{
	(void)loop;
	struct serial *s = arg;
	uint8_t chunk[READ_CHUNK];
	for (int round = 0; round < READ_ROUNDS && s->active && s->fd == fd; round++) {
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n > 0) {
			s->t_us = loop_now_us();
			serial_framer_feed(&s->framer, chunk, (size_t)n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			/* Nothing to read and a hang-up: the far end is gone for good. */
			if (events & (EPOLLHUP | EPOLLERR))
				went_away(s, "hung up");
			return;
		}
		went_away(s, n == 0 ? "end of input" : strerror(errno));
		return;
	}
}

static bool settings_match(const struct serial *s, const struct termios *t)
{
	return cfgetispeed(t) == s->speed && cfgetospeed(t) == s->speed &&
	       (t->c_cflag & CSIZE) == s->csize && (t->c_cflag & (PARENB | PARODD)) == s->parity &&
	       (t->c_cflag & CSTOPB) == s->cstopb && (t->c_cflag & CRTSCTS) == 0 &&
	       (t->c_lflag & (ICANON | ECHO | ISIG)) == 0 &&
	       (t->c_iflag & (ICRNL | INLCR | IGNCR | IXON)) == 0;
}

/*
 * Open and set up the device.  QD_OK: running.  Otherwise the detail says
 * why and the caller keeps retrying.
 */
static enum qd_err open_device(struct serial *s)
{
	int fd = open(s->cfg.device, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		set_detail(s, "%s: %s", s->cfg.device, strerror(e));
		return e == ENOENT || e == ENODEV || e == ENXIO ? QD_ERR_NOT_FOUND : QD_ERR_IO;
	}
	struct termios t;
	if (!isatty(fd) || tcgetattr(fd, &t) != 0) {
		set_detail(s, "%s: not a serial device", s->cfg.device);
		close(fd);
		return QD_ERR_UNSUPPORTED;
	}
	/* Exclusive use: another program opening the tty would take the scanner's bytes
	 * (HID has EVIOCGRAB for the same reason).  Best effort: root may still open it. */
	(void)ioctl(fd, TIOCEXCL);
	cfmakeraw(&t);
	t.c_cflag &= ~(tcflag_t)(CSIZE | PARENB | PARODD | CSTOPB | CRTSCTS);
	t.c_cflag |= s->csize | s->parity | s->cstopb | CLOCAL | CREAD;
	t.c_iflag &= ~(tcflag_t)(IXON | IXOFF | IXANY);
	t.c_cc[VMIN] = 1;
	t.c_cc[VTIME] = 0;
	struct termios back;
	if (cfsetispeed(&t, s->speed) != 0 || cfsetospeed(&t, s->speed) != 0 ||
	    tcsetattr(fd, TCSANOW, &t) != 0 || tcgetattr(fd, &back) != 0 ||
	    !settings_match(s, &back)) {
		set_detail(s, "%s: cannot set %u %s", s->cfg.device, s->cfg.baud, s->cfg.framing);
		close(fd);
		return QD_ERR_IO;
	}
	(void)tcflush(fd, TCIFLUSH);
	enum qd_err rc = loop_add_fd(s->loop, fd, EPOLLIN, readable, s);
	if (rc != QD_OK) {
		set_detail(s, "%s: cannot watch it (%s)", s->cfg.device, qd_err_name(rc));
		close(fd);
		return rc;
	}
	s->fd = fd;
	return QD_OK;
}

static void try_open(struct serial *s)
{
	enum qd_err rc = open_device(s);
	if (rc == QD_OK) {
		loop_timer_disarm(s->retry);
		s->src.status.state = SOURCE_RUNNING;
		set_detail(s, "%s open at %u %s", s->cfg.device, s->cfg.baud, s->cfg.framing);
	} else {
		/* Absent or not (yet) usable: either way a scanner may appear there. */
		s->src.status.state = rc == QD_ERR_NOT_FOUND ? SOURCE_ABSENT : SOURCE_FAILED;
		if (!loop_timer_armed(s->retry))
			loop_timer_arm(s->retry, s->cfg.retry_ms, s->cfg.retry_ms);
	}
	log_change(s);
}

static void retry_tick(struct loop *loop, struct loop_timer *timer, void *arg)
{
	(void)loop;
	(void)timer;
	struct serial *s = arg;
	if (s->active && s->fd < 0)
		try_open(s);
}

static enum qd_err serial_start(struct source *src, struct loop *loop)
{
	struct serial *s = src->priv;
	if (loop == NULL)
		return QD_ERR_ARG;
	if (s->active)
		return QD_ERR_EXISTS;
	s->loop = loop;
	enum qd_err rc = loop_timer_create(loop, retry_tick, s, &s->retry);
	if (rc != QD_OK) {
		set_detail(s, "cannot create a timer (%s)", qd_err_name(rc));
		src->status.state = SOURCE_FAILED;
		return rc;
	}
	s->active = true;
	try_open(s); /* absent at start is not an error: it is retried */
	return QD_OK;
}

static void serial_stop(struct source *src)
{
	struct serial *s = src->priv;
	if (!s->active)
		return;
	s->active = false;
	serial_framer_stop(&s->framer);
	close_device(s);
	loop_timer_destroy(s->retry);
	s->retry = NULL;
	src->status.state = SOURCE_STOPPED;
	set_detail(s, "stopped");
}

static void serial_destroy(struct source *src)
{
	if (src == NULL)
		return;
	struct serial *s = src->priv;
	serial_stop(src);
	serial_framer_free(&s->framer);
	free(s);
}

/* Hot-plug: a device appeared somewhere; if ours is still missing, try it now. */
static void serial_rescan(struct source *src)
{
	struct serial *s = src->priv;
	retry_tick(s->loop, s->retry, s);
}

static const struct source_ops serial_ops = {
        .kind = "serial",
        .start = serial_start,
        .stop = serial_stop,
        .destroy = serial_destroy,
        .rescan = serial_rescan,
};

static bool baud_speed(unsigned baud, speed_t *out)
{
	static const struct {
		unsigned baud;
		speed_t speed;
	} rates[] = {{1200, B1200},     {2400, B2400},     {4800, B4800},    {9600, B9600},
	             {19200, B19200},   {38400, B38400},   {57600, B57600},  {115200, B115200},
	             {230400, B230400}, {460800, B460800}, {921600, B921600}};
	for (size_t i = 0; i < sizeof(rates) / sizeof(rates[0]); i++) {
		if (rates[i].baud == baud) {
			*out = rates[i].speed;
			return true;
		}
	}
	return false;
}

/* "8N1": data bits 5-8, parity N/E/O, stop bits 1 or 2. */
static bool parse_framing(const char *f, struct serial *s)
{
	static const tcflag_t sizes[] = {CS5, CS6, CS7, CS8};
	if (strlen(f) != 3 || f[0] < '5' || f[0] > '8')
		return false;
	s->csize = sizes[f[0] - '5'];
	switch (f[1]) {
	case 'N':
		s->parity = 0;
		break;
	case 'E':
		s->parity = PARENB;
		break;
	case 'O':
		s->parity = PARENB | PARODD;
		break;
	default:
		return false;
	}
	if (f[2] != '1' && f[2] != '2')
		return false;
	s->cstopb = f[2] == '2' ? CSTOPB : 0;
	return true;
}

enum qd_err source_serial(const char *name, const struct source_serial_config *cfg,
                          source_code_cb cb, void *arg, struct source **out)
{
	if (out == NULL)
		return QD_ERR_ARG;
	*out = NULL;
	if (name == NULL || cfg == NULL || cb == NULL || cfg->device[0] == '\0' ||
	    memchr(cfg->device, '\0', sizeof(cfg->device)) == NULL ||
	    memchr(cfg->framing, '\0', sizeof(cfg->framing)) == NULL)
		return QD_ERR_ARG;
	struct serial *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return QD_ERR_NOMEM;
	s->cfg = *cfg;
	if (s->cfg.retry_ms == 0)
		s->cfg.retry_ms = RETRY_DEFAULT_MS;
	if (!baud_speed(cfg->baud, &s->speed) || !parse_framing(cfg->framing, s)) {
		free(s);
		return QD_ERR_ARG;
	}
	enum qd_err rc = serial_framer_init(&s->framer, cfg->max_line, &framer_ops, s);
	if (rc != QD_OK) {
		free(s);
		return rc;
	}
	s->fd = -1;
	s->logged_state = -1;
	s->src.ops = &serial_ops;
	snprintf(s->src.name, sizeof(s->src.name), "%s", name);
	s->src.on_code = cb;
	s->src.cb_arg = arg;
	s->src.status.state = SOURCE_STOPPED;
	s->src.priv = s;
	*out = &s->src;
	return QD_OK;
}

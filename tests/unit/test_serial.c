/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_serial.c - the serial scanner: its framer (serial_framer.h) on
 * tables of byte streams, whole and cut into every pair of feeds; and the
 * real driver (drivers/source_serial.c) on a pseudo-terminal pair from
 * posix_openpt(), the way a CDC-ACM scanner looks to it: termios settings
 * read back from the slave with tcgetattr(), lines written on the master,
 * the master closed (unplugged) and a new one plugged in behind the same
 * by-id style symlink.
 */
#define _GNU_SOURCE /* posix_openpt, ptsname_r */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "qrdesk/loop.h"
#include "serial_framer.h"
#include "qrdesk/source.h"
#include "qrdesk/source_serial.h"
#include "testutil.h"

#define WAIT_MS    3000 /* a wait not met by then fails the test */
#define WATCHDOG_S 30
#define LINES_MAX  16

/* ---- The framer ----------------------------------------------------------- */

struct got {
	size_t n;
	char text[LINES_MAX][80];
	size_t len[LINES_MAX];
	size_t overlong, partial;
	size_t stop_at; /* serial_framer_stop() after this many lines (0: never) */
	struct serial_framer *f;
};

static void got_line(void *arg, const char *text, size_t len)
{
	struct got *g = arg;
	assert_true(g->n < LINES_MAX);
	assert_true(len < sizeof(g->text[0]));
	assert_int_equal(text[len], '\0');
	memcpy(g->text[g->n], text, len);
	g->len[g->n++] = len;
	if (g->stop_at != 0 && g->n == g->stop_at)
		serial_framer_stop(g->f);
}

static void got_drop(void *arg, enum serial_drop why, size_t len)
{
	struct got *g = arg;
	if (why == SERIAL_DROP_OVERLONG) {
		assert_int_equal(len, 17); /* max_line 16 in the tables, + 1 */
		g->overlong++;
	} else {
		assert_true(len > 0);
		g->partial++;
	}
}

static const struct serial_framer_ops got_ops = {.on_line = got_line, .on_drop = got_drop};

struct frame_case {
	const char *in;
	size_t in_len; /* 0: strlen(in) */
	const char *out[5];
	size_t overlong, partial; /* partial: after serial_framer_reset() at the end */
};

static const struct frame_case frame_cases[] = {
        {"BC1:A\r", 0, {"BC1:A"}, 0, 0},
        {"BC1:A\n", 0, {"BC1:A"}, 0, 0},
        {"BC1:A\r\n", 0, {"BC1:A"}, 0, 0},
        {"BC1:A\r\nBC1:B\rBC1:C\nBC1:D\r\n", 0, {"BC1:A", "BC1:B", "BC1:C", "BC1:D"}, 0, 0},
        /* Empty lines (LF CR, CR CR, lone terminators) are not codes. */
        {"\r\n\r\n\n\r\rBC1:A\n\rBC1:B\r\r", 0, {"BC1:A", "BC1:B"}, 0, 0},
        /* No terminator yet: nothing; the reset drops it and says so. */
        {"BC1:HALF", 0, {NULL}, 0, 1},
        /* Exactly max_line (16) bytes is fine; 17 is dropped whole, never cut. */
        {"0123456789ABCDEF\r\n", 0, {"0123456789ABCDEF"}, 0, 0},
        {"0123456789ABCDEFG\r\nBC1:NEXT\r\n", 0, {"BC1:NEXT"}, 1, 0},
        {"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ\nok\n", 0, {"ok"}, 1, 0},
        /* Overlong and unterminated: counted once, not again as partial. */
        {"0123456789ABCDEFGHIJ", 0, {NULL}, 1, 0},
        /* NUL and 8-bit bytes are kept. */
        {"a\0b\xff\r\n", 6, {"a\0b\xff"}, 0, 0},
        /* LF after CR across lines: "A\r" "\n" "\n" is one line, then an empty one. */
        {"A\r\n\nB\n", 0, {"A", "B"}, 0, 0},
};

static void run_frame_case(const struct frame_case *c, size_t cut)
{
	size_t len = c->in_len ? c->in_len : strlen(c->in);
	struct serial_framer f;
	struct got g = {0};
	assert_int_equal(serial_framer_init(&f, 16, &got_ops, &g), QD_OK);
	g.f = &f;
	if (cut > len)
		cut = len;
	serial_framer_feed(&f, (const uint8_t *)c->in, cut);
	serial_framer_feed(&f, (const uint8_t *)c->in + cut, len - cut);
	serial_framer_reset(&f);
	size_t want = 0;
	while (want < 5 && c->out[want] != NULL)
		want++;
	if (g.n != want)
		fail_msg("case '%s' cut at %zu: %zu lines, wanted %zu", c->in, cut, g.n, want);
	for (size_t i = 0; i < want; i++) {
		/* The one line with a NUL is the only one with in_len set. */
		size_t wl = c->in_len ? 4 : strlen(c->out[i]);
		assert_int_equal(g.len[i], wl);
		assert_memory_equal(g.text[i], c->out[i], wl);
	}
	assert_int_equal(g.overlong, c->overlong);
	assert_int_equal(g.partial, c->partial);
	assert_int_equal(f.lines, want);
	assert_int_equal(f.overlong, c->overlong);
	serial_framer_free(&f);
}

static void test_framer_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(frame_cases) / sizeof(frame_cases[0]); i++) {
		const struct frame_case *c = &frame_cases[i];
		size_t len = c->in_len ? c->in_len : strlen(c->in);
		/* Every split point: a slow UART delivers any line in pieces. */
		for (size_t cut = 0; cut <= len; cut++)
			run_frame_case(c, cut);
	}
}

static void test_framer_args_and_stop(void **state)
{
	(void)state;
	struct serial_framer f;
	struct got g = {0};
	assert_int_equal(serial_framer_init(&f, SERIAL_LINE_MIN - 1, &got_ops, &g), QD_ERR_ARG);
	assert_int_equal(serial_framer_init(&f, SERIAL_LINE_MAX + 1, &got_ops, &g), QD_ERR_ARG);
	struct serial_framer_ops half = {.on_line = got_line};
	assert_int_equal(serial_framer_init(&f, 16, &half, &g), QD_ERR_ARG);
	assert_int_equal(serial_framer_init(NULL, 16, &got_ops, &g), QD_ERR_ARG);

	/* A callback stops the feed: the rest of it is not looked at. */
	assert_int_equal(serial_framer_init(&f, SERIAL_LINE_MAX, &got_ops, &g), QD_OK);
	g.f = &f;
	g.stop_at = 1;
	static const char in[] = "ONE\nTWO\nTHREE\n";
	serial_framer_feed(&f, (const uint8_t *)in, sizeof(in) - 1);
	assert_int_equal(g.n, 1);
	/* The next feed starts afresh. */
	g.stop_at = 0;
	serial_framer_feed(&f, (const uint8_t *)"FOUR\n", 5);
	assert_int_equal(g.n, 2);
	assert_memory_equal(g.text[1], "FOUR", 4);
	serial_framer_free(&f);
}

/* ---- The driver on a pty --------------------------------------------------- */

struct harness {
	struct loop *loop;
	struct loop_timer *tick;
	struct source *src;
	size_t n;
	char text[LINES_MAX][128];
	size_t want_n;
	int want_state;
	int64_t deadline_us;
};

static bool reached(const struct harness *h)
{
	return h->n >= h->want_n && (int)h->src->status.state == h->want_state;
}

static void on_code(void *arg, const char *name, const char *text, size_t len, int64_t t_us)
{
	struct harness *h = arg;
	assert_string_equal(name, "scanner");
	assert_true(t_us > 0 && t_us <= loop_now_us());
	assert_true(h->n < LINES_MAX && len < sizeof(h->text[0]));
	memcpy(h->text[h->n], text, len);
	h->text[h->n][len] = '\0';
	h->n++;
	if (reached(h))
		loop_stop(h->loop);
}

static void tick_cb(struct loop *loop, struct loop_timer *t, void *arg)
{
	(void)t;
	struct harness *h = arg;
	if (reached(h) || loop_now_us() >= h->deadline_us)
		loop_stop(loop);
}

static void wait_for(struct harness *h, size_t n, enum source_state state)
{
	h->want_n = n;
	h->want_state = (int)state;
	h->deadline_us = loop_now_us() + WAIT_MS * 1000LL;
	if (!reached(h)) {
		loop_timer_arm(h->tick, 1, 1);
		assert_int_equal(loop_run(h->loop), QD_OK);
		loop_timer_disarm(h->tick);
	}
	if (!reached(h))
		fail_msg("after %d ms: %zu codes, %s (%s); wanted %zu, %s", WAIT_MS, h->n,
		         source_state_name(h->src->status.state), h->src->status.detail, n,
		         source_state_name(state));
	assert_int_equal(h->n, n);
	assert_int_equal(h->src->status.codes, n);
}

/* Run the loop for ms whatever arrives (wants nothing it can reach). */
static void run_briefly(struct harness *h, int ms)
{
	h->want_n = 99;
	h->want_state = SOURCE_RUNNING;
	h->deadline_us = loop_now_us() + ms * 1000LL;
	loop_timer_arm(h->tick, 1, 1);
	assert_int_equal(loop_run(h->loop), QD_OK);
	loop_timer_disarm(h->tick);
}

/* A pty pair; the slave's path is written to slave (PATH_MAX-ish buffer). */
static int pty_open(char *slave, size_t size)
{
	int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	assert_true(m >= 0);
	assert_int_equal(grantpt(m), 0);
	assert_int_equal(unlockpt(m), 0);
	assert_int_equal(ptsname_r(m, slave, size), 0);
	return m;
}

static void write_all(int fd, const char *s)
{
	size_t n = strlen(s);
	while (n > 0) {
		ssize_t w = write(fd, s, n);
		if (w < 0 && errno == EINTR)
			continue;
		assert_true(w > 0);
		s += w;
		n -= (size_t)w;
	}
}

static struct source_serial_config serial_cfg(const char *device)
{
	struct source_serial_config c = {0};
	/* Test paths are short; the bound keeps gcc's truncation analysis quiet at -O3. */
	snprintf(c.device, sizeof(c.device), "%.*s", (int)sizeof(c.device) - 1, device);
	c.baud = 19200;
	snprintf(c.framing, sizeof(c.framing), "8N2");
	c.max_line = 64;
	c.retry_ms = 20;
	return c;
}

static void test_serial_args(void **state)
{
	(void)state;
	struct source *src = (struct source *)1;
	struct source_serial_config c = serial_cfg("/dev/ttyACM0");
	assert_int_equal(source_serial("s", &c, on_code, NULL, &src), QD_OK);
	assert_string_equal(src->ops->kind, "serial");
	assert_int_equal(src->status.state, SOURCE_STOPPED);
	src->ops->destroy(src);
	static const struct {
		unsigned baud;
		const char *framing;
		unsigned max_line;
	} bad[] = {{9601, "8N1", 64}, {0, "8N1", 64},     {9600, "9N1", 64}, {9600, "4N1", 64},
	           {9600, "8X1", 64}, {9600, "8N3", 64},  {9600, "8N", 64},  {9600, "8n1", 64},
	           {9600, "8N1", 15}, {9600, "8N1", 4297}};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		c.baud = bad[i].baud;
		snprintf(c.framing, sizeof(c.framing), "%s", bad[i].framing);
		c.max_line = bad[i].max_line;
		src = (struct source *)1;
		assert_int_equal(source_serial("s", &c, on_code, NULL, &src), QD_ERR_ARG);
		assert_null(src);
	}
	c = serial_cfg("");
	assert_int_equal(source_serial("s", &c, on_code, NULL, &src), QD_ERR_ARG);
	c = serial_cfg("/dev/ttyACM0");
	assert_int_equal(source_serial("s", &c, NULL, NULL, &src), QD_ERR_ARG);
	assert_int_equal(source_serial("s", NULL, on_code, NULL, &src), QD_ERR_ARG);
}

static struct harness *harness_new(const struct source_serial_config *c)
{
	struct harness *h = calloc(1, sizeof(*h));
	assert_non_null(h);
	assert_int_equal(loop_create(&h->loop), QD_OK);
	assert_int_equal(loop_timer_create(h->loop, tick_cb, h, &h->tick), QD_OK);
	assert_int_equal(source_serial("scanner", c, on_code, h, &h->src), QD_OK);
	return h;
}

static void harness_free(struct harness *h)
{
	h->src->ops->destroy(h->src);
	loop_timer_destroy(h->tick);
	loop_destroy(h->loop);
	free(h);
}

static void test_serial_pty(void **state)
{
	(void)state;
	char *dir = tu_mkdtemp();
	char link[512], slave[128];
	snprintf(link, sizeof(link), "%s/usb-Scanner-if00", dir);
	struct source_serial_config c = serial_cfg(link);
	struct harness *h = harness_new(&c);

	/* Not plugged in at start: absent, not an error, and looked for again. */
	assert_int_equal(h->src->ops->start(h->src, h->loop), QD_OK);
	assert_int_equal(h->src->status.state, SOURCE_ABSENT);
	assert_non_null(strstr(h->src->status.detail, "No such file"));
	int m = pty_open(slave, sizeof(slave));
	assert_int_equal(symlink(slave, link), 0);
	wait_for(h, 0, SOURCE_RUNNING);
	assert_non_null(strstr(h->src->status.detail, "19200 8N2"));

	/* The termios settings, as anyone opening the device now sees them. */
	int s = open(slave, O_RDWR | O_NOCTTY | O_CLOEXEC);
	assert_true(s >= 0);
	struct termios t;
	assert_int_equal(tcgetattr(s, &t), 0);
	assert_int_equal(cfgetispeed(&t), B19200);
	assert_int_equal(cfgetospeed(&t), B19200);
	assert_int_equal(t.c_cflag & CSIZE, CS8);
	assert_int_equal(t.c_cflag & (PARENB | PARODD), 0);
	assert_int_equal(t.c_cflag & CSTOPB, CSTOPB);
	assert_int_equal(t.c_cflag & (CLOCAL | CREAD), CLOCAL | CREAD);
	assert_int_equal(t.c_cflag & CRTSCTS, 0);
	assert_int_equal(t.c_lflag & (ICANON | ECHO | ISIG | IEXTEN), 0);
	assert_int_equal(t.c_iflag & (ICRNL | INLCR | IGNCR | IXON | ISTRIP), 0);
	assert_int_equal(t.c_oflag & OPOST, 0);
	assert_int_equal(t.c_cc[VMIN], 1);
	assert_int_equal(t.c_cc[VTIME], 0);
	close(s);

	/* All three terminators, a line written in two pieces. */
	write_all(m, "BC1:ONE\r\nBC1:TWO\rBC1:THR");
	wait_for(h, 2, SOURCE_RUNNING);
	write_all(m, "EE\n");
	wait_for(h, 3, SOURCE_RUNNING);
	assert_string_equal(h->text[0], "BC1:ONE");
	assert_string_equal(h->text[1], "BC1:TWO");
	assert_string_equal(h->text[2], "BC1:THREE");

	/* Overlong (max_line 64): dropped with a reason, the next line is fine. */
	char longline[200];
	memset(longline, 'X', 100);
	strcpy(longline + 100, "\r\nBC1:AFTER\r\n");
	write_all(m, longline);
	wait_for(h, 4, SOURCE_RUNNING);
	assert_string_equal(h->text[3], "BC1:AFTER");
	assert_int_equal(h->src->status.dropped, 1);
	assert_non_null(strstr(h->src->status.detail, "longer than 64 bytes dropped"));

	/* Unplugged mid-line: absent, the half line counted as dropped, never delivered. */
	write_all(m, "BC1:HALF");
	/* Let the driver read the half before the hang-up. */
	run_briefly(h, 100);
	close(m);
	wait_for(h, 4, SOURCE_ABSENT);
	assert_int_equal(h->src->status.dropped, 2);

	/* Plugged back in (a new tty behind the same symlink): picked up again. */
	m = pty_open(slave, sizeof(slave));
	assert_int_equal(unlink(link), 0);
	assert_int_equal(symlink(slave, link), 0);
	wait_for(h, 4, SOURCE_RUNNING);
	write_all(m, "BC1:BACK\r\n");
	wait_for(h, 5, SOURCE_RUNNING);
	assert_string_equal(h->text[4], "BC1:BACK");

	h->src->ops->stop(h->src);
	assert_int_equal(h->src->status.state, SOURCE_STOPPED);
	/* Stopped: a line written now goes nowhere, however long the loop runs. */
	write_all(m, "BC1:LATE\r\n");
	run_briefly(h, 100);
	assert_int_equal(h->src->status.codes, 5);
	close(m);
	harness_free(h);
	unlink(link);
	tu_rmtree(dir);
	free(dir);
}

/*
 * A setting the device does not take is caught by reading them back: a pty
 * always forces 8 data bits and no parity, as a CDC-ACM driver may refuse a
 * rate.  The source says so and keeps trying (a different scanner may be
 * plugged in), rather than read garbage.
 */
static void test_serial_refused_setting(void **state)
{
	(void)state;
	char slave[128];
	int m = pty_open(slave, sizeof(slave));
	struct source_serial_config c = serial_cfg(slave);
	snprintf(c.framing, sizeof(c.framing), "7E1");
	struct harness *h = harness_new(&c);
	assert_int_equal(h->src->ops->start(h->src, h->loop), QD_OK);
	assert_int_equal(h->src->status.state, SOURCE_FAILED);
	assert_non_null(strstr(h->src->status.detail, "cannot set 19200 7E1"));
	harness_free(h);
	close(m);
}

static void test_serial_not_a_tty(void **state)
{
	(void)state;
	struct source_serial_config c = serial_cfg("/dev/null");
	struct harness *h = harness_new(&c);
	assert_int_equal(h->src->ops->start(h->src, h->loop), QD_OK);
	assert_int_equal(h->src->status.state, SOURCE_FAILED);
	assert_non_null(strstr(h->src->status.detail, "not a serial device"));
	assert_int_equal(h->src->ops->start(h->src, h->loop), QD_ERR_EXISTS);
	harness_free(h);
}

int main(void)
{
	alarm(WATCHDOG_S);
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_framer_table),
	        cmocka_unit_test(test_framer_args_and_stop),
	        cmocka_unit_test(test_serial_args),
	        cmocka_unit_test(test_serial_pty),
	        cmocka_unit_test(test_serial_refused_setting),
	        cmocka_unit_test(test_serial_not_a_tty),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_source_replay.c - the replay sources (drivers/source_replay.c) on real
 * pipes, files, FIFOs and an inotify-watched folder, driven by the real loop;
 * and the image decoding behind them (drivers/image.c, drivers/qrdecode.c)
 * fed damaged and hostile files.
 *
 * Every wait runs the loop under a deadline, so a driver that never delivers
 * fails the test instead of hanging it (and an alarm ends the whole run if a
 * blocking call ever hangs).  The QR images are drawn by the issuer's own
 * qrpng_write (qrdesk_domain): what the desk must read is what the back
 * office prints.  The PGM and JPEG files are made from the same pixels.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jpeglib.h>

#include "qrdesk/loop.h"
#include "qrdecode.h"
#include "qrdesk/source.h"
#include "qrdesk/source_camera.h"
#include "qrdesk/source_replay.h"
#include "qrpng.h"
#include "testutil.h"

#define WAIT_MS    2000 /* a wait not met by then fails the test */
#define CODES_MAX  32
#define WATCHDOG_S 20         /* the whole run: a hang in a blocking call ends it */
#define BIG_FILE   (64 << 20) /* well over image.c's 32 MiB file cap */
#define IEND_CHUNK 12         /* length, "IEND", CRC: the last bytes of every PNG */

/* ---- Fixture: QR images of known texts ---------------------------------- */

/* A real code's shape: base45, long enough for a mid-size symbol. */
#define CODE_A                                                                                     \
	"BC1:6BFOXN*TS0BI$ZD4N9:9S6RCVN5+O30K3/XIV0W23NTDEPWK "                                    \
	"G2EP4J0BGJLFX3R3VHXK.PJ:2DPF6R:5SVBHABVCNN95SK.3T1L4XGI0T2"

enum { T_A, T_B, T_C, T_D, T_E, T_F, T_G, T_H, T_COUNT };

static const char *const texts[T_COUNT] = {
        [T_A] = CODE_A,
        [T_B] = "BC1:SECOND CODE",
        [T_C] = "BC1:THIRD",
        [T_D] = "BC1:FOURTH",
        /* 8-bit bytes (lower case, UTF-8): binary mode hands them back untouched. */
        [T_E] = "fifth code, caf\xc3\xa9",
        [T_F] = "BC1:SIXTH",
        [T_G] = "BC1:SEVENTH",
        [T_H] = "BC1:EIGHTH",
};

struct img {
	uint8_t *px;
	unsigned w, h;
};

static struct {
	char *dir;
	char png[T_COUNT][PATH_MAX];
	struct img img[T_COUNT];
	struct img two; /* T_C and T_D side by side: two symbols in one image */
} g;

static void path_join(char *out, const char *dir, const char *name)
{
	int n = snprintf(out, PATH_MAX, "%s/%s", dir, name);
	assert_true(n > 0 && n < PATH_MAX);
}

static void write_all(int fd, const void *data, size_t len)
{
	const char *p = data;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			fail_msg("write: %s", strerror(errno));
		p += n;
		len -= (size_t)n;
	}
}

static void put(int fd, const char *text)
{
	write_all(fd, text, strlen(text));
}

static void write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		fail_msg("%s: %s", path, strerror(errno));
	write_all(fd, data, len);
	assert_int_equal(close(fd), 0);
}

/* A binary PGM, with a comment in its header as real tools write them. */
static uint8_t *pgm_of(const struct img *im, size_t *len)
{
	char head[96];
	int n = snprintf(head, sizeof(head), "P5\n# test_source_replay\n%u %u\n255\n", im->w,
	                 im->h);
	size_t px = (size_t)im->w * im->h;
	uint8_t *out = malloc((size_t)n + px);
	assert_non_null(out);
	memcpy(out, head, (size_t)n);
	memcpy(out + n, im->px, px);
	*len = (size_t)n + px;
	return out;
}

static void write_pgm(const char *path, const struct img *im)
{
	size_t len;
	uint8_t *data = pgm_of(im, &len);
	write_file(path, data, len);
	free(data);
}

/* A grey baseline JPEG of im (libjpeg's default error handler: the input is ours). */
static uint8_t *jpeg_of(const struct img *im, size_t *len)
{
	struct jpeg_compress_struct c;
	struct jpeg_error_mgr err;
	unsigned char *out = NULL;
	unsigned long size = 0;
	c.err = jpeg_std_error(&err);
	jpeg_create_compress(&c);
	jpeg_mem_dest(&c, &out, &size);
	c.image_width = im->w;
	c.image_height = im->h;
	c.input_components = 1;
	c.in_color_space = JCS_GRAYSCALE;
	jpeg_set_defaults(&c);
	jpeg_set_quality(&c, 90, TRUE);
	jpeg_start_compress(&c, TRUE);
	while (c.next_scanline < c.image_height) {
		JSAMPROW row = im->px + (size_t)c.next_scanline * im->w;
		jpeg_write_scanlines(&c, &row, 1);
	}
	jpeg_finish_compress(&c);
	jpeg_destroy_compress(&c);
	*len = size;
	return out;
}

/* Deterministic noise, so a failure reproduces. */
static void noise(uint8_t *out, size_t len, uint32_t seed)
{
	for (size_t i = 0; i < len; i++) {
		seed = seed * 1103515245u + 12345u;
		out[i] = (uint8_t)(seed >> 16);
	}
}

static int group_setup(void **state)
{
	(void)state;
	g.dir = tu_mkdtemp();
	for (int i = 0; i < T_COUNT; i++) {
		char name[32];
		snprintf(name, sizeof(name), "qr%d.png", i);
		path_join(g.png[i], g.dir, name);
		int version = 0;
		struct qd_errmsg why = {{0}};
		if (qrpng_write(texts[i], g.png[i], &version, &why) != QD_OK)
			fail_msg("qrpng_write: %s", why.text);
		/* The pixels for the PGM and JPEG copies: the PNG as the driver reads it. */
		struct img *im = &g.img[i];
		assert_int_equal(image_load_gray(g.png[i], &im->px, &im->w, &im->h, &why), QD_OK);
		unsigned side = (unsigned)((17 + 4 * version + 2 * QRPNG_QUIET) * QRPNG_MODULE_PX);
		assert_int_equal(im->w, side);
		assert_int_equal(im->h, side);
	}
	const struct img *c = &g.img[T_C], *d = &g.img[T_D];
	g.two.w = c->w + d->w;
	g.two.h = c->h > d->h ? c->h : d->h;
	g.two.px = malloc((size_t)g.two.w * g.two.h);
	assert_non_null(g.two.px);
	memset(g.two.px, 255, (size_t)g.two.w * g.two.h);
	for (unsigned y = 0; y < g.two.h; y++) {
		if (y < c->h)
			memcpy(g.two.px + (size_t)y * g.two.w, c->px + (size_t)y * c->w, c->w);
		if (y < d->h)
			memcpy(g.two.px + (size_t)y * g.two.w + c->w, d->px + (size_t)y * d->w,
			       d->w);
	}
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	for (int i = 0; i < T_COUNT; i++)
		free(g.img[i].px);
	free(g.two.px);
	tu_rmtree(g.dir);
	free(g.dir);
	return 0;
}

/* ---- Harness: a loop, a source, what it delivered ----------------------- */

struct code {
	char text[SOURCE_TEXT_MAX + 1];
	size_t len;
	int64_t t_us;
};

struct harness {
	struct loop *loop;
	struct loop_timer *tick;
	struct source *src;
	size_t stop_source_at; /* on_code stops the source at this many codes (0: never) */
	size_t n;
	struct code codes[CODES_MAX];
	/* What the running wait is for. */
	bool settling;
	size_t want_codes;
	uint64_t want_dropped;
	int want_state; /* enum source_state, or -1 for any */
	int64_t deadline_us;
};

static bool reached(const struct harness *h)
{
	const struct source_status *st = &h->src->status;
	return h->n >= h->want_codes && st->dropped >= h->want_dropped &&
	       (h->want_state < 0 || (int)st->state == h->want_state);
}

static void on_code(void *arg, const char *name, const char *text, size_t len, int64_t t_us)
{
	struct harness *h = arg;
	assert_string_equal(name, h->src->name);
	assert_true(len <= SOURCE_TEXT_MAX);
	assert_true(t_us <= loop_now_us());
	if (h->n == CODES_MAX)
		fail_msg("more than %d codes delivered", CODES_MAX);
	struct code *c = &h->codes[h->n++];
	memcpy(c->text, text, len);
	c->text[len] = '\0';
	c->len = len;
	c->t_us = t_us;
	if (h->stop_source_at != 0 && h->n == h->stop_source_at)
		h->src->ops->stop(h->src);
	if (!h->settling && reached(h))
		loop_stop(h->loop);
}

static void tick_cb(struct loop *loop, struct loop_timer *t, void *arg)
{
	(void)t;
	struct harness *h = arg;
	if (h->settling || reached(h) || loop_now_us() >= h->deadline_us)
		loop_stop(loop);
}

static struct harness *harness_new(void)
{
	struct harness *h = calloc(1, sizeof(*h));
	assert_non_null(h);
	assert_int_equal(loop_create(&h->loop), QD_OK);
	assert_int_equal(loop_timer_create(h->loop, tick_cb, h, &h->tick), QD_OK);
	return h;
}

static void harness_free(struct harness *h)
{
	if (h->src != NULL)
		h->src->ops->destroy(h->src);
	loop_timer_destroy(h->tick);
	loop_destroy(h->loop);
	free(h);
}

/*
 * Run the loop until the source has delivered `codes` texts, dropped
 * `dropped` inputs and (unless -1) is in `state`; then insist on exactly
 * that, since more would be a spurious delivery.
 */
static void wait_for_ms(struct harness *h, size_t codes, uint64_t dropped, int state, int ms)
{
	h->settling = false;
	h->want_codes = codes;
	h->want_dropped = dropped;
	h->want_state = state;
	h->deadline_us = loop_now_us() + ms * 1000LL;
	if (!reached(h)) {
		loop_timer_arm(h->tick, 1, 1);
		assert_int_equal(loop_run(h->loop), QD_OK);
		loop_timer_disarm(h->tick);
	}
	const struct source_status *st = &h->src->status;
	if (!reached(h))
		fail_msg("after %d ms: %zu codes, %llu dropped, %s (%s); wanted %zu, %llu, %s", ms,
		         h->n, (unsigned long long)st->dropped, source_state_name(st->state),
		         st->detail, codes, (unsigned long long)dropped,
		         state < 0 ? "any state" : source_state_name((enum source_state)state));
	assert_int_equal(h->n, codes);
	assert_int_equal(st->dropped, dropped);
	assert_int_equal(st->codes, h->n);
}

static void wait_for(struct harness *h, size_t codes, uint64_t dropped, int state)
{
	wait_for_ms(h, codes, dropped, state, WAIT_MS);
}

/* Run the loop for ms whatever happens: to see that nothing (more) is delivered. */
static void settle(struct harness *h, unsigned ms)
{
	h->settling = true;
	loop_timer_arm(h->tick, ms, 0);
	assert_int_equal(loop_run(h->loop), QD_OK);
	loop_timer_disarm(h->tick);
	h->settling = false;
}

static void expect_bytes(const struct harness *h, size_t i, const void *text, size_t len)
{
	assert_true(i < h->n);
	assert_int_equal(h->codes[i].len, len);
	assert_memory_equal(h->codes[i].text, text, len);
}

static void expect(const struct harness *h, size_t i, const char *text)
{
	expect_bytes(h, i, text, strlen(text));
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	assert_non_null(d);
	int n = 0;
	for (struct dirent *e; (e = readdir(d)) != NULL;)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static int64_t cpu_us(void)
{
	struct timespec ts;
	assert_int_equal(clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts), 0);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void start(struct harness *h)
{
	assert_int_equal(h->src->ops->start(h->src, h->loop), QD_OK);
	assert_int_equal(h->src->status.state, SOURCE_RUNNING);
}

/* ---- Arguments ---------------------------------------------------------- */

static void test_arguments(void **state)
{
	(void)state;
	/* Not NULL to begin with: a refusal must clear *out. */
	static struct source sentinel;
	struct source *src = &sentinel;
	assert_int_equal(source_replay_lines_fd("in", -1, on_code, NULL, &src), QD_ERR_ARG);
	assert_null(src);
	assert_int_equal(source_replay_lines_fd(NULL, 0, on_code, NULL, &src), QD_ERR_ARG);
	assert_int_equal(source_replay_lines_fd("in", 0, NULL, NULL, &src), QD_ERR_ARG);
	assert_int_equal(source_replay_lines_fd("in", 0, on_code, NULL, NULL), QD_ERR_ARG);

	src = &sentinel;
	assert_int_equal(source_replay_lines_fifo("fifo", NULL, on_code, NULL, &src), QD_ERR_ARG);
	assert_null(src);
	src = &sentinel;
	assert_int_equal(source_replay_lines_fifo("fifo", "", on_code, NULL, &src), QD_ERR_ARG);
	assert_null(src);
	char *longpath = malloc(PATH_MAX + 1);
	assert_non_null(longpath);
	memset(longpath, 'a', PATH_MAX);
	longpath[PATH_MAX] = '\0';
	assert_int_equal(source_replay_lines_fifo("fifo", longpath, on_code, NULL, &src),
	                 QD_ERR_TOO_LARGE);
	assert_null(src);

	src = &sentinel;
	assert_int_equal(source_replay_images("img", NULL, on_code, NULL, &src), QD_ERR_ARG);
	assert_null(src);
	src = &sentinel;
	assert_int_equal(source_replay_images("img", "", on_code, NULL, &src), QD_ERR_ARG);
	assert_null(src);
	assert_int_equal(source_replay_images("img", longpath, on_code, NULL, &src),
	                 QD_ERR_TOO_LARGE);
	assert_null(src);
	free(longpath);

	/* Start without a loop, start twice, stop what never started. */
	struct harness *h = harness_new();
	int p[2];
	assert_int_equal(pipe(p), 0);
	assert_int_equal(source_replay_lines_fd("in", p[0], on_code, h, &h->src), QD_OK);
	h->src->ops->stop(h->src);
	assert_int_equal(h->src->status.state, SOURCE_STOPPED);
	assert_int_equal(h->src->ops->start(h->src, NULL), QD_ERR_ARG);
	start(h);
	assert_int_equal(h->src->ops->start(h->src, h->loop), QD_ERR_EXISTS);
	assert_int_equal(h->src->status.state, SOURCE_RUNNING);
	h->src->ops->stop(h->src);
	h->src->ops->stop(h->src);
	assert_int_equal(h->src->status.state, SOURCE_STOPPED);
	h->src->ops->destroy(h->src);

	/* A number that is not an open fd: accepted, refused at start. */
	int closed = dup(p[0]);
	assert_true(closed >= 0);
	close(closed);
	assert_int_equal(source_replay_lines_fd("in", closed, on_code, h, &h->src), QD_OK);
	assert_int_equal(h->src->ops->start(h->src, h->loop), QD_ERR_IO);
	assert_int_equal(h->src->status.state, SOURCE_FAILED);
	assert_true(h->src->status.detail[0] != '\0');
	close(p[0]);
	close(p[1]);
	harness_free(h);

	/* The decoders refuse what they cannot use. */
	uint8_t *px = NULL;
	unsigned w = 1, hh = 1;
	struct qd_errmsg why = {{0}};
	assert_int_equal(image_decode_gray(NULL, 5, &px, &w, &hh, &why), QD_ERR_ARG);
	assert_int_equal(image_decode_gray((const uint8_t *)"P5", 2, NULL, &w, &hh, &why),
	                 QD_ERR_ARG);
	assert_int_equal(image_load_gray(NULL, &px, &w, &hh, &why), QD_ERR_ARG);
	assert_int_equal(qrdecode_create(NULL), QD_ERR_ARG);
	struct qrdecode *dec;
	assert_int_equal(qrdecode_create(&dec), QD_OK);
	uint8_t white[16];
	memset(white, 255, sizeof(white));
	int found = -1;
	assert_int_equal(qrdecode_gray(NULL, white, 4, 4, 4, NULL, NULL, &found), QD_ERR_ARG);
	assert_int_equal(found, 0);
	assert_int_equal(qrdecode_gray(dec, NULL, 4, 4, 4, NULL, NULL, &found), QD_ERR_ARG);
	assert_int_equal(qrdecode_gray(dec, white, 0, 4, 4, NULL, NULL, &found), QD_ERR_ARG);
	assert_int_equal(qrdecode_gray(dec, white, 4, 0, 4, NULL, NULL, &found), QD_ERR_ARG);
	assert_int_equal(qrdecode_gray(dec, white, 4, 4, 3, NULL, NULL, &found), QD_ERR_ARG);
	qrdecode_destroy(dec);
	qrdecode_destroy(NULL);
}

/* ---- Lines from an fd --------------------------------------------------- */

static void test_lines_fd(void **state)
{
	(void)state;
	struct harness *h = harness_new();
	int p[2];
	assert_int_equal(pipe(p), 0);
	int fds = count_fds();
	assert_int_equal(source_replay_lines_fd("stdin", p[0], on_code, h, &h->src), QD_OK);
	assert_string_equal(h->src->ops->kind, "replay-lines");
	assert_string_equal(h->src->name, "stdin");
	assert_int_equal(h->src->status.state, SOURCE_STOPPED);
	int64_t t0 = loop_now_us();
	start(h);
	/* Our dup shares the caller's open file: non-blocking while we read it. */
	assert_true(fcntl(p[0], F_GETFL) & O_NONBLOCK);

	/* LF and CRLF, several lines in one write. */
	put(p[1], "one\ntwo\r\nthree\n");
	wait_for(h, 3, 0, SOURCE_RUNNING);
	expect(h, 0, "one");
	expect(h, 1, "two");
	expect(h, 2, "three");

	/* Empty lines are delivered too, with length 0: the pipeline counts them. */
	put(p[1], "\n\r\n");
	wait_for(h, 5, 0, SOURCE_RUNNING);
	expect(h, 3, "");
	expect(h, 4, "");

	/* Only the one '\r' right before '\n' goes: any other is part of the text. */
	put(p[1], "x\r\r\na\rb\n");
	wait_for(h, 7, 0, SOURCE_RUNNING);
	expect(h, 5, "x\r");
	expect(h, 6, "a\rb");

	/* A line split across writes is delivered once, whole, when its '\n' comes. */
	put(p[1], "spl");
	settle(h, 20);
	assert_int_equal(h->n, 7);
	put(p[1], "it\n");
	wait_for(h, 8, 0, SOURCE_RUNNING);
	expect(h, 7, "split");

	/* Bytes as they are, NUL included: the length says where the text ends. */
	static const char bin[] = "\0bin\0ary\xff\x01\n";
	write_all(p[1], bin, sizeof(bin) - 1);
	wait_for(h, 9, 0, SOURCE_RUNNING);
	expect_bytes(h, 8, bin, sizeof(bin) - 2);

	/* End of input: the unterminated last line, then DONE. */
	put(p[1], "tail");
	close(p[1]);
	wait_for(h, 10, 0, SOURCE_DONE);
	expect(h, 9, "tail");
	assert_string_equal(source_state_name(h->src->status.state), "done");
	/* Let go of: our dup closed, the caller's fd open and its flags as they were. */
	assert_int_equal(count_fds(), fds - 1);
	assert_true(fcntl(p[0], F_GETFD) >= 0);
	assert_false(fcntl(p[0], F_GETFL) & O_NONBLOCK);
	for (size_t i = 0; i < h->n; i++) {
		assert_true(h->codes[i].t_us >= t0);
		if (i > 0)
			assert_true(h->codes[i].t_us >= h->codes[i - 1].t_us);
	}
	/* Nothing after the end; stop after DONE keeps DONE. */
	settle(h, 10);
	assert_int_equal(h->n, 10);
	h->src->ops->stop(h->src);
	assert_int_equal(h->src->status.state, SOURCE_DONE);
	h->src->ops->destroy(h->src);
	h->src = NULL;
	assert_int_equal(count_fds(), fds - 1);
	close(p[0]);
	harness_free(h);
}

static void test_lines_fd_overlong(void **state)
{
	(void)state;
	struct harness *h = harness_new();
	int p[2];
	assert_int_equal(pipe(p), 0);
	assert_int_equal(source_replay_lines_fd("in", p[0], on_code, h, &h->src), QD_OK);
	start(h);
	const size_t max = SOURCE_TEXT_MAX, big = SOURCE_TEXT_MAX + 10000;
	char *buf = malloc(big);
	assert_non_null(buf);
	for (size_t i = 0; i < big; i++)
		buf[i] = (char)('A' + i % 26);

	/* Exactly SOURCE_TEXT_MAX bytes: whole. */
	write_all(p[1], buf, max);
	put(p[1], "\n");
	wait_for(h, 1, 0, SOURCE_RUNNING);
	expect_bytes(h, 0, buf, max);

	/* SOURCE_TEXT_MAX bytes and CRLF: whole too (the '\r' is not text). */
	write_all(p[1], buf, max);
	put(p[1], "\r\n");
	wait_for(h, 2, 0, SOURCE_RUNNING);
	expect_bytes(h, 1, buf, max);

	/* One byte more: cut to SOURCE_TEXT_MAX (so the check says TOO_LARGE), counted. */
	write_all(p[1], buf, max + 1);
	put(p[1], "\n");
	wait_for(h, 3, 1, SOURCE_RUNNING);
	expect_bytes(h, 2, buf, max);
	assert_non_null(strstr(h->src->status.detail, "cut"));

	/* Far longer and no '\n' yet: delivered, cut, as soon as it is known too long. */
	write_all(p[1], buf, big);
	wait_for(h, 4, 2, SOURCE_RUNNING);
	expect_bytes(h, 3, buf, max);
	/* The rest up to its '\n' is dropped; the line after it is whole. */
	put(p[1], "more of the same");
	settle(h, 10);
	put(p[1], "\nnext\n");
	wait_for(h, 5, 2, SOURCE_RUNNING);
	expect(h, 4, "next");

	/* Overlong and unterminated at the end of input: once, cut. */
	write_all(p[1], buf, max + 5);
	close(p[1]);
	wait_for(h, 6, 3, SOURCE_DONE);
	expect_bytes(h, 5, buf, max);
	free(buf);
	close(p[0]);
	harness_free(h);
}

/* on_code may stop the source: nothing more is delivered, the fd is let go. */
static void test_lines_stop_from_callback(void **state)
{
	(void)state;
	struct harness *h = harness_new();
	int p[2];
	assert_int_equal(pipe(p), 0);
	int fds = count_fds();
	assert_int_equal(source_replay_lines_fd("in", p[0], on_code, h, &h->src), QD_OK);
	start(h);
	h->stop_source_at = 1;
	put(p[1], "a\nb\nc\n");
	wait_for(h, 1, 0, SOURCE_STOPPED);
	settle(h, 20);
	assert_int_equal(h->n, 1);
	expect(h, 0, "a");
	assert_string_equal(h->src->status.detail, "stopped");
	assert_int_equal(count_fds(), fds);
	assert_false(fcntl(p[0], F_GETFL) & O_NONBLOCK);
	close(p[0]);
	close(p[1]);
	harness_free(h);
}

/* A regular file (and /dev/null) cannot be watched by epoll: read on a timer instead. */
static void test_lines_regular_file(void **state)
{
	(void)state;
	char *dir = tu_mkdtemp();
	char path[PATH_MAX];
	path_join(path, dir, "codes.txt");
	write_file(path, "first\r\nsecond\n\nlast", 19);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);

	struct harness *h = harness_new();
	assert_int_equal(source_replay_lines_fd("file", fd, on_code, h, &h->src), QD_OK);
	start(h);
	wait_for(h, 4, 0, SOURCE_DONE);
	expect(h, 0, "first");
	expect(h, 1, "second");
	expect(h, 2, "");
	expect(h, 3, "last");
	assert_false(fcntl(fd, F_GETFL) & O_NONBLOCK);
	h->src->ops->destroy(h->src);
	close(fd);

	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(source_replay_lines_fd("null", fd, on_code, h, &h->src), QD_OK);
	start(h);
	h->n = 0;
	wait_for(h, 0, 0, SOURCE_DONE);
	close(fd);
	harness_free(h);
	tu_rmtree(dir);
	free(dir);
}

/* ---- Lines from a FIFO -------------------------------------------------- */

static int open_writer(const char *path)
{
	/* Non-blocking: with no reader this fails (ENXIO) instead of waiting. */
	return open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
}

static void test_lines_fifo(void **state)
{
	(void)state;
	char *dir = tu_mkdtemp();
	char path[PATH_MAX];
	path_join(path, dir, "codes.fifo");
	struct harness *h = harness_new();
	int fds = count_fds();
	assert_int_equal(source_replay_lines_fifo("fifo", path, on_code, h, &h->src), QD_OK);
	/* Created on start, not before; 0660 whatever the umask. */
	struct stat st;
	assert_int_equal(stat(path, &st), -1);
	mode_t old = umask(077);
	start(h);
	umask(old);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISFIFO(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0660);

	/* First writer: lines, then a last line without '\n', then it goes away. */
	int w = open_writer(path);
	assert_true(w >= 0);
	put(w, "first\nsecond");
	wait_for(h, 1, 0, SOURCE_RUNNING);
	close(w);
	wait_for(h, 2, 0, SOURCE_RUNNING);
	expect(h, 0, "first");
	expect(h, 1, "second");

	/*
	 * With no writer the re-opened read end must stay quiet: a read end that
	 * kept reporting EOF would burn the whole wait in CPU.
	 */
	int64_t cpu0 = cpu_us();
	settle(h, 100);
	assert_true(cpu_us() - cpu0 < 50000);
	assert_int_equal(h->n, 2);
	assert_int_equal(h->src->status.state, SOURCE_RUNNING);

	/* A second writer is heard, and its first line is not glued to "second". */
	w = open_writer(path);
	assert_true(w >= 0);
	put(w, "third\r\n");
	close(w);
	wait_for(h, 3, 0, SOURCE_RUNNING);
	expect(h, 2, "third");

	/* Stop: the read end is closed (a writer finds no reader), no fd is left. */
	h->src->ops->stop(h->src);
	assert_int_equal(h->src->status.state, SOURCE_STOPPED);
	errno = 0;
	assert_int_equal(open_writer(path), -1);
	assert_int_equal(errno, ENXIO);
	assert_int_equal(count_fds(), fds);

	/* Started again on the FIFO now present. */
	start(h);
	w = open_writer(path);
	assert_true(w >= 0);
	put(w, "fourth\n");
	close(w);
	wait_for(h, 4, 0, SOURCE_RUNNING);
	expect(h, 3, "fourth");

	h->src->ops->destroy(h->src);
	h->src = NULL;
	errno = 0;
	assert_int_equal(open_writer(path), -1);
	assert_int_equal(errno, ENXIO);
	assert_int_equal(count_fds(), fds);
	harness_free(h);
	tu_rmtree(dir);
	free(dir);
}

static void test_lines_fifo_path_kinds(void **state)
{
	(void)state;
	char *dir = tu_mkdtemp();
	char path[PATH_MAX];
	struct harness *h = harness_new();

	/* Something else at the path: refused and left alone. */
	path_join(path, dir, "file");
	write_file(path, "keep", 4);
	assert_int_equal(source_replay_lines_fifo("fifo", path, on_code, h, &h->src), QD_OK);
	assert_int_equal(h->src->ops->start(h->src, h->loop), QD_ERR_EXISTS);
	assert_int_equal(h->src->status.state, SOURCE_FAILED);
	assert_true(h->src->status.detail[0] != '\0');
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_size, 4);
	h->src->ops->destroy(h->src);

	/* In a folder that does not exist: an I/O error, no crash. */
	path_join(path, dir, "missing/codes.fifo");
	assert_int_equal(source_replay_lines_fifo("fifo", path, on_code, h, &h->src), QD_OK);
	assert_int_equal(h->src->ops->start(h->src, h->loop), QD_ERR_IO);
	assert_int_equal(h->src->status.state, SOURCE_FAILED);
	h->src->ops->destroy(h->src);

	/* A FIFO made by someone else is used as it is, its mode untouched. */
	path_join(path, dir, "theirs.fifo");
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_int_equal(source_replay_lines_fifo("fifo", path, on_code, h, &h->src), QD_OK);
	start(h);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	int w = open_writer(path);
	assert_true(w >= 0);
	put(w, "theirs\n");
	close(w);
	wait_for(h, 1, 0, SOURCE_RUNNING);
	expect(h, 0, "theirs");
	harness_free(h);
	tu_rmtree(dir);
	free(dir);
}

/* ---- Images in a folder ------------------------------------------------- */

static void put_png(const char *dir, const char *name, int t)
{
	char path[PATH_MAX];
	path_join(path, dir, name);
	tu_copy_file(g.png[t], path);
}

static void put_pgm(const char *dir, const char *name, const struct img *im)
{
	char path[PATH_MAX];
	path_join(path, dir, name);
	write_pgm(path, im);
}

static void put_jpeg(const char *dir, const char *name, int t)
{
	char path[PATH_MAX];
	path_join(path, dir, name);
	size_t len;
	uint8_t *data = jpeg_of(&g.img[t], &len);
	write_file(path, data, len);
	free(data);
}

static void put_noise_png(const char *dir, const char *name)
{
	static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
	uint8_t data[2048];
	memcpy(data, sig, sizeof(sig));
	noise(data + sizeof(sig), sizeof(data) - sizeof(sig), 7);
	char path[PATH_MAX];
	path_join(path, dir, name);
	write_file(path, data, sizeof(data));
}

static void put_noise_pgm(const char *dir, const char *name)
{
	struct img im = {.w = 200, .h = 200};
	im.px = malloc((size_t)im.w * im.h);
	assert_non_null(im.px);
	noise(im.px, (size_t)im.w * im.h, 11);
	put_pgm(dir, name, &im);
	free(im.px);
}

static bool delivered(const struct harness *h, size_t from, size_t to, const char *text)
{
	for (size_t i = from; i < to && i < h->n; i++)
		if (h->codes[i].len == strlen(text) &&
		    memcmp(h->codes[i].text, text, h->codes[i].len) == 0)
			return true;
	return false;
}

static void test_images_folder(void **state)
{
	(void)state;
	char *dir = tu_mkdtemp();
	char *stage = tu_mkdtemp(); /* elsewhere on the same file system, as a drop tool would */
	char path[PATH_MAX], tmp[PATH_MAX];

	/* Present at start: read in name order, whatever the format. */
	put_pgm(dir, "a.pgm", &g.img[T_A]);
	put_png(dir, "b.png", T_B);
	put_pgm(dir, "c-two.pgm", &g.two);
	put_jpeg(dir, "d.JPG", T_E);
	/* Undecodable: counted as dropped, nothing delivered. */
	put_noise_png(dir, "noise.png");
	put_noise_pgm(dir, "noise.pgm");
	path_join(path, dir, "pipe.png"); /* not a regular file: must not block the loop */
	assert_int_equal(mkfifo(path, 0600), 0);
	/* Not images by name: never opened, though they hold QR codes. */
	put_png(dir, ".hidden.png", T_F);
	put_png(dir, "e.png.part", T_F);
	put_png(dir, "readme.txt", T_F);
	put_png(dir, "noext", T_F);

	struct harness *h = harness_new();
	int fds = count_fds();
	assert_int_equal(source_replay_images("images", dir, on_code, h, &h->src), QD_OK);
	assert_string_equal(h->src->ops->kind, "replay-images");
	int64_t t0 = loop_now_us();
	start(h);
	wait_for(h, 5, 3, SOURCE_RUNNING);
	expect(h, 0, texts[T_A]);
	expect(h, 1, texts[T_B]);
	/* Both symbols of one image, in whatever order ZBar finds them. */
	assert_true(delivered(h, 2, 4, texts[T_C]));
	assert_true(delivered(h, 2, 4, texts[T_D]));
	expect(h, 4, texts[T_E]);
	for (size_t i = 0; i < h->n; i++)
		assert_true(h->codes[i].t_us >= t0);
	settle(h, 30);
	assert_int_equal(h->n, 5);
	assert_int_equal(h->src->status.dropped, 3);

	/* Dropped in later: written under a dot name, then renamed into place. */
	path_join(tmp, dir, ".f.png.tmp");
	tu_copy_file(g.png[T_F], tmp);
	path_join(path, dir, "f.png");
	assert_int_equal(rename(tmp, path), 0);
	wait_for(h, 6, 3, SOURCE_RUNNING);
	expect(h, 5, texts[T_F]);

	/* Written elsewhere and moved in. */
	path_join(tmp, stage, "g.png");
	tu_copy_file(g.png[T_G], tmp);
	path_join(path, dir, "g.png");
	assert_int_equal(rename(tmp, path), 0);
	wait_for(h, 7, 3, SOURCE_RUNNING);
	expect(h, 6, texts[T_G]);

	/* Written in place, in two halves: not read until it is closed. */
	size_t len;
	uint8_t *pgm = pgm_of(&g.img[T_H], &len);
	path_join(path, dir, "h.pgm");
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	write_all(fd, pgm, len / 2);
	settle(h, 30);
	assert_int_equal(h->n, 7);
	assert_int_equal(h->src->status.dropped, 3);
	write_all(fd, pgm + len / 2, len - len / 2);
	assert_int_equal(close(fd), 0);
	free(pgm);
	wait_for(h, 8, 3, SOURCE_RUNNING);
	expect(h, 7, texts[T_H]);

	/* An undecodable file dropped in later: dropped, named in the detail. */
	put_noise_png(dir, "junk.png");
	wait_for(h, 8, 4, SOURCE_RUNNING);
	assert_non_null(strstr(h->src->status.detail, "junk.png"));
	/* A later non-image is ignored. */
	put_png(dir, "notes.txt", T_A);
	settle(h, 30);
	assert_int_equal(h->n, 8);
	assert_int_equal(h->src->status.dropped, 4);

	/* Stopped: a new file is not read, the watch and its fd are gone. */
	h->src->ops->stop(h->src);
	assert_int_equal(h->src->status.state, SOURCE_STOPPED);
	assert_int_equal(count_fds(), fds);
	put_png(dir, "late.png", T_B);
	settle(h, 30);
	assert_int_equal(h->n, 8);
	h->src->ops->destroy(h->src);
	h->src = NULL;
	assert_int_equal(count_fds(), fds);
	harness_free(h);
	tu_rmtree(stage);
	free(stage);
	tu_rmtree(dir);
	free(dir);
}

/* A camera fuzz seed (tests/fuzz/corpus/camera: a GREY frame) as a PGM in dir. */
static void put_corpus_pgm(const char *dir, const char *seed, const char *name)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", QRDESK_CAMERA_CORPUS, seed);
	size_t len;
	uint8_t *data = tu_read_file(path, &len);
	assert_true(len > 6 && data[0] == 0); /* GREY, then width - 1 and height - 1 */
	struct img im = {.px = data + 6,
	                 .w = 1u + (data[1] | (unsigned)data[2] << 8),
	                 .h = 1u + (data[3] | (unsigned)data[4] << 8)};
	assert_true(len >= 6 + (size_t)im.w * im.h);
	put_pgm(dir, name, &im);
	free(data);
}

/*
 * Boarding passes in the folder (docs/binding.md): a PDF417 and an Aztec
 * symbol are read when formats asks for them (the daemon does when it binds
 * documents), and are undecodable, dropped, when it does not (QR only).
 */
static void test_images_boarding_formats(void **state)
{
	(void)state;
	const char *bcbp = "M1DESMARAIS/LUC       EABC123 YULFRAAC 0834 326J001A0025 100";
	static const unsigned formats[] = {0, CAMERA_FORMAT_PDF417 | CAMERA_FORMAT_AZTEC};
	for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
		char *dir = tu_mkdtemp();
		put_corpus_pgm(dir, "grey-pdf417-bcbp.bin", "a-pdf417.pgm");
		put_corpus_pgm(dir, "grey-aztec-bcbp.bin", "b-aztec.pgm");
		struct source_images_config cfg = {.formats = formats[i]};
		struct harness *h = harness_new();
		assert_int_equal(
		        source_replay_images_with("images", dir, &cfg, on_code, h, &h->src), QD_OK);
		start(h);
		/* A hang guard only: a still gets every look, slow under emulation. */
		if (formats[i] == 0) {
			wait_for_ms(h, 0, 2, SOURCE_RUNNING, 60000);
			assert_non_null(strstr(h->src->status.detail, "no QR code found"));
		} else {
			wait_for_ms(h, 2, 0, SOURCE_RUNNING, 60000);
			expect(h, 0, bcbp);
			expect(h, 1, bcbp);
		}
		h->src->ops->stop(h->src);
		harness_free(h);
		tu_rmtree(dir);
		free(dir);
	}
}

/* on_code may stop the source mid-image: the image's other symbol is not delivered. */
static void test_images_stop_from_callback(void **state)
{
	(void)state;
	char *dir = tu_mkdtemp();
	put_pgm(dir, "a-two.pgm", &g.two);
	put_png(dir, "b.png", T_B);
	struct harness *h = harness_new();
	assert_int_equal(source_replay_images("images", dir, on_code, h, &h->src), QD_OK);
	h->stop_source_at = 1;
	start(h);
	wait_for(h, 1, 0, SOURCE_STOPPED);
	settle(h, 30);
	assert_int_equal(h->n, 1);
	assert_true(delivered(h, 0, 1, texts[T_C]) || delivered(h, 0, 1, texts[T_D]));
	harness_free(h);
	tu_rmtree(dir);
	free(dir);
}

static void test_images_folder_errors(void **state)
{
	(void)state;
	char *dir = tu_mkdtemp();
	char path[PATH_MAX];
	struct harness *h = harness_new();

	path_join(path, dir, "missing");
	assert_int_equal(source_replay_images("images", path, on_code, h, &h->src), QD_OK);
	assert_int_equal(h->src->ops->start(h->src, h->loop), QD_ERR_NOT_FOUND);
	assert_int_equal(h->src->status.state, SOURCE_FAILED);
	assert_true(h->src->status.detail[0] != '\0');
	h->src->ops->destroy(h->src);

	path_join(path, dir, "file.png");
	tu_copy_file(g.png[T_B], path);
	assert_int_equal(source_replay_images("images", path, on_code, h, &h->src), QD_OK);
	assert_int_equal(h->src->ops->start(h->src, h->loop), QD_ERR_IO);
	assert_int_equal(h->src->status.state, SOURCE_FAILED);
	h->src->ops->destroy(h->src);

	/* The folder removed while watched: FAILED, said so. */
	path_join(path, dir, "watched");
	assert_int_equal(mkdir(path, 0755), 0);
	int fds = count_fds();
	assert_int_equal(source_replay_images("images", path, on_code, h, &h->src), QD_OK);
	start(h);
	assert_int_equal(rmdir(path), 0);
	wait_for(h, 0, 0, SOURCE_FAILED);
	assert_string_equal(h->src->status.detail, "folder removed");
	assert_int_equal(count_fds(), fds);
	harness_free(h);
	tu_rmtree(dir);
	free(dir);
}

/* ---- Decoding hostile image bytes --------------------------------------- */

static void expect_refused(const uint8_t *data, size_t len, enum qd_err want)
{
	static uint8_t sentinel;
	uint8_t *px = &sentinel; /* a refusal must clear the outputs */
	unsigned w = 7, h = 7;
	struct qd_errmsg why = {{0}};
	enum qd_err rc = image_decode_gray(data, len, &px, &w, &h, &why);
	if (rc != want)
		fail_msg("%zu bytes: %s (%s), wanted %s", len, qd_err_name(rc), why.text,
		         qd_err_name(want));
	assert_null(px);
	assert_int_equal(w, 0);
	assert_int_equal(h, 0);
	assert_true(why.text[0] != '\0');
}

static void expect_decoded(const uint8_t *data, size_t len, unsigned w, unsigned h)
{
	uint8_t *px = NULL;
	unsigned gw, gh;
	struct qd_errmsg why = {{0}};
	enum qd_err rc = image_decode_gray(data, len, &px, &gw, &gh, &why);
	if (rc != QD_OK)
		fail_msg("%s: %s", qd_err_name(rc), why.text);
	assert_int_equal(gw, w);
	assert_int_equal(gh, h);
	free(px);
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t crc32_png(const uint8_t *p, size_t len)
{
	uint32_t c = 0xffffffffu;
	for (size_t i = 0; i < len; i++) {
		c ^= p[i];
		for (int k = 0; k < 8; k++)
			c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
	}
	return c ^ 0xffffffffu;
}

/* Declare other dimensions in a PNG's IHDR (its CRC made right, so libpng reads on). */
static void png_set_dims(uint8_t *png, uint32_t w, uint32_t h)
{
	assert_memory_equal(png + 12, "IHDR", 4);
	put_be32(png + 16, w);
	put_be32(png + 20, h);
	put_be32(png + 29, crc32_png(png + 12, 17));
}

static void test_image_png_damaged(void **state)
{
	(void)state;
	size_t len;
	uint8_t *png = tu_read_file(g.png[T_B], &len);
	const struct img *im = &g.img[T_B];
	assert_true(len > 64);
	assert_memory_equal(png + len - 8, "IEND", 4);
	expect_decoded(png, len, im->w, im->h);

	/* Cut anywhere before the end of its pixel data: refused, never a crash. */
	for (size_t cut = 0; cut < len - IEND_CHUNK; cut++) {
		uint8_t *copy = malloc(cut > 0 ? cut : 1); /* exact: ASan sees any over-read */
		assert_non_null(copy);
		memcpy(copy, png, cut);
		uint8_t *px = NULL;
		unsigned w, h;
		struct qd_errmsg why = {{0}};
		enum qd_err rc = image_decode_gray(cut ? copy : NULL, cut, &px, &w, &h, &why);
		if (rc == QD_OK)
			fail_msg("a PNG cut to %zu of %zu bytes decoded", cut, len);
		assert_null(px);
		assert_true(why.text[0] != '\0');
		free(copy);
	}

	/* A flipped bit in the pixel data: the chunk's CRC catches it. */
	uint8_t *bad = malloc(len);
	assert_non_null(bad);
	memcpy(bad, png, len);
	bad[len - IEND_CHUNK - 8] ^= 0x10;
	expect_refused(bad, len, QD_ERR_FORMAT);

	/* Huge declared dimensions: refused before any pixel buffer is made. */
	memcpy(bad, png, len);
	png_set_dims(bad, IMAGE_DIM_MAX + 1, IMAGE_DIM_MAX + 1);
	expect_refused(bad, len, QD_ERR_TOO_LARGE);
	png_set_dims(bad, IMAGE_DIM_MAX + 1, 1);
	expect_refused(bad, len, QD_ERR_TOO_LARGE);
	png_set_dims(bad, 1, IMAGE_DIM_MAX + 1);
	expect_refused(bad, len, QD_ERR_TOO_LARGE);
	png_set_dims(bad, 1000000, 1000000); /* libpng's own limit, still ours to refuse */
	expect_refused(bad, len, QD_ERR_TOO_LARGE);
	/* Beyond what libpng accepts at all, and zero: not a PNG. */
	png_set_dims(bad, 0x7fffffffu, 0x7fffffffu);
	expect_refused(bad, len, QD_ERR_FORMAT);
	png_set_dims(bad, 0, 16);
	expect_refused(bad, len, QD_ERR_FORMAT);
	/* At the limit: allowed by size, then the pixel data falls short of it. */
	png_set_dims(bad, IMAGE_DIM_MAX, 64);
	expect_refused(bad, len, QD_ERR_FORMAT);
	free(bad);
	free(png);
}

static void test_image_pgm(void **state)
{
	(void)state;
	uint8_t buf[64 + 9000];
	struct qd_errmsg why = {{0}};
	uint8_t *px = NULL;
	unsigned w, h;
	size_t n;

#define PGM(head, ...)                                                                             \
	do {                                                                                       \
		static const uint8_t tail_[] = {__VA_ARGS__};                                      \
		n = strlen(head);                                                                  \
		memcpy(buf, head, n);                                                              \
		memcpy(buf + n, tail_, sizeof(tail_));                                             \
		n += sizeof(tail_);                                                                \
	} while (0)

	/* Comments anywhere in the header; maxval below 255 is scaled up. */
	PGM("P5#c\n2 # width\n2\n15\n", 0, 15, 7, 8);
	assert_int_equal(image_decode_gray(buf, n, &px, &w, &h, &why), QD_OK);
	assert_int_equal(w, 2);
	assert_int_equal(h, 2);
	assert_memory_equal(px, ((const uint8_t[]){0, 255, 119, 136}), 4);
	free(px);
	PGM("P5 2 2 1\n", 0, 1, 1, 0);
	assert_int_equal(image_decode_gray(buf, n, &px, &w, &h, &why), QD_OK);
	assert_memory_equal(px, ((const uint8_t[]){0, 255, 255, 0}), 4);
	free(px);

	/* Huge declared dimensions: refused on the header alone. */
	PGM("P5\n100000 100000\n255\n", 1, 2, 3, 4);
	expect_refused(buf, n, QD_ERR_TOO_LARGE);
	PGM("P5 8193 1 255\n", 0);
	memset(buf + n - 1, 0, 8193);
	n += 8192;
	expect_refused(buf, n, QD_ERR_TOO_LARGE);
	PGM("P5 1 8193 255\n", 0);
	memset(buf + n - 1, 0, 8193);
	n += 8192;
	expect_refused(buf, n, QD_ERR_TOO_LARGE);
	/* Within the limit but the bytes are not there: refused before allocating 64 MiB. */
	PGM("P5 8192 8192 255\n", 1, 2, 3, 4);
	expect_refused(buf, n, QD_ERR_FORMAT);
	PGM("P5 99999999999999999999 1 255\n", 0);
	expect_refused(buf, n, QD_ERR_FORMAT);

	/* Truncated or over-long pixel data, bad numbers, bad separators. */
	PGM("P5 2 2 255\n", 1, 2, 3);
	expect_refused(buf, n, QD_ERR_FORMAT);
	PGM("P5 2 2 255\n", 1, 2, 3, 4, 5);
	expect_refused(buf, n, QD_ERR_FORMAT);
	PGM("P5 2 2 255", 0);
	expect_refused(buf, n - 1, QD_ERR_FORMAT);
	PGM("P5 2 2 1\n", 0, 1, 1, 2); /* a pixel above maxval */
	expect_refused(buf, n, QD_ERR_FORMAT);
	PGM("P5 0 2 255\n", 0);
	expect_refused(buf, n, QD_ERR_FORMAT);
	PGM("P5 2 2 0\n", 0, 0, 0, 0);
	expect_refused(buf, n, QD_ERR_FORMAT);
	PGM("P5 2 2 65535\n", 0, 0, 0, 0, 0, 0, 0, 0);
	expect_refused(buf, n, QD_ERR_UNSUPPORTED);
	PGM("P52 2 255\n", 0, 0, 0, 0);
	expect_refused(buf, n, QD_ERR_FORMAT);
	PGM("P5 2 x 255\n", 0, 0, 0, 0);
	expect_refused(buf, n, QD_ERR_FORMAT);
	PGM("P5", 0);
	expect_refused(buf, n - 1, QD_ERR_FORMAT);
	PGM("P5 2 2 255#", 0, 0, 0, 0);
	expect_refused(buf, n, QD_ERR_FORMAT);
#undef PGM
}

static size_t jpeg_sof0(const uint8_t *j, size_t len)
{
	for (size_t p = 2; p + 4 <= len && j[p] == 0xff;) {
		if (j[p + 1] == 0xc0)
			return p;
		p += 2 + ((size_t)j[p + 2] << 8 | j[p + 3]);
	}
	fail_msg("no SOF0 segment");
	return 0;
}

static void test_image_jpeg_damaged(void **state)
{
	(void)state;
	const struct img *im = &g.img[T_B];
	size_t len;
	uint8_t *jpg = jpeg_of(im, &len);
	expect_decoded(jpg, len, im->w, im->h);

	/* Cut short: libjpeg only warns, and a warning is an error here. */
	for (size_t cut = 3; cut < len - 2; cut += len / 64) {
		uint8_t *copy = malloc(cut);
		assert_non_null(copy);
		memcpy(copy, jpg, cut);
		expect_refused(copy, cut, QD_ERR_FORMAT);
		free(copy);
	}

	/* Huge declared dimensions: refused on the header. */
	size_t sof = jpeg_sof0(jpg, len);
	uint8_t *bad = malloc(len);
	assert_non_null(bad);
	memcpy(bad, jpg, len);
	bad[sof + 5] = 60000 >> 8; /* height */
	bad[sof + 6] = 60000 & 0xff;
	bad[sof + 7] = 60000 >> 8; /* width */
	bad[sof + 8] = 60000 & 0xff;
	expect_refused(bad, len, QD_ERR_TOO_LARGE);
	bad[sof + 5] = bad[sof + 6] = 0;
	expect_refused(bad, len, QD_ERR_FORMAT);
	free(bad);
	free(jpg);

	/* Neither PNG, PGM nor JPEG. */
	uint8_t junk[512];
	noise(junk, sizeof(junk), 3);
	junk[0] = 'x';
	expect_refused(junk, sizeof(junk), QD_ERR_FORMAT);
	expect_refused(NULL, 0, QD_ERR_FORMAT);
}

static void test_image_files(void **state)
{
	(void)state;
	char *dir = tu_mkdtemp();
	char path[PATH_MAX];
	uint8_t *px = NULL;
	unsigned w, h;
	struct qd_errmsg why = {{0}};

	assert_int_equal(image_load_gray(g.png[T_A], &px, &w, &h, &why), QD_OK);
	assert_int_equal(w, g.img[T_A].w);
	free(px);

	path_join(path, dir, "missing.png");
	assert_int_equal(image_load_gray(path, &px, &w, &h, &why), QD_ERR_NOT_FOUND);
	assert_non_null(strstr(why.text, "missing.png"));
	assert_int_equal(image_load_gray(dir, &px, &w, &h, &why), QD_ERR_FORMAT);
	/* A FIFO: refused at once, not waited on for a writer. */
	path_join(path, dir, "pipe.png");
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_int_equal(image_load_gray(path, &px, &w, &h, &why), QD_ERR_FORMAT);
	/* A symbolic link, even to a good image: not followed (a link to /etc/shadow). */
	path_join(path, dir, "link.png");
	assert_int_equal(symlink(g.png[T_A], path), 0);
	assert_int_equal(image_load_gray(path, &px, &w, &h, &why), QD_ERR_FORMAT);
	assert_null(px);
	assert_non_null(strstr(why.text, "symbolic link"));
	/* Too big a file: refused by its size, unread (sparse, so cheap to make). */
	path_join(path, dir, "big.png");
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, BIG_FILE), 0);
	close(fd);
	assert_int_equal(image_load_gray(path, &px, &w, &h, &why), QD_ERR_TOO_LARGE);
	assert_null(px);
	/* A bad image names its file. */
	path_join(path, dir, "bad.pgm");
	write_file(path, "P5 1 1 255\n", 11);
	assert_int_equal(image_load_gray(path, &px, &w, &h, &why), QD_ERR_FORMAT);
	assert_non_null(strstr(why.text, "bad.pgm"));
	tu_rmtree(dir);
	free(dir);
}

/* ---- The QR decoder ----------------------------------------------------- */

static void collect(void *arg, const char *data, size_t len)
{
	struct code *c = arg;
	assert_true(len <= SOURCE_TEXT_MAX);
	memcpy(c->text, data, len);
	c->len = len;
	c->t_us++; /* symbols seen */
}

static void test_qrdecode(void **state)
{
	(void)state;
	struct qrdecode *dec;
	assert_int_equal(qrdecode_create(&dec), QD_OK);
	struct code c = {.t_us = 0};
	int found = -1;

	/* Rows further apart than the width (a camera's padded frame). */
	const struct img *im = &g.img[T_A];
	size_t stride = im->w + 13;
	uint8_t *padded = malloc(stride * im->h);
	assert_non_null(padded);
	memset(padded, 0, stride * im->h); /* black padding: it must not be read */
	for (unsigned y = 0; y < im->h; y++)
		memcpy(padded + y * stride, im->px + (size_t)y * im->w, im->w);
	assert_int_equal(qrdecode_gray(dec, padded, im->w, im->h, stride, collect, &c, &found),
	                 QD_OK);
	assert_int_equal(found, 1);
	assert_int_equal(c.t_us, 1);
	assert_int_equal(c.len, strlen(texts[T_A]));
	assert_memory_equal(c.text, texts[T_A], c.len);
	free(padded);

	/* The same image again: reported again (no inter-image cache). */
	c.t_us = 0;
	assert_int_equal(qrdecode_gray(dec, im->px, im->w, im->h, im->w, collect, &c, &found),
	                 QD_OK);
	assert_int_equal(found, 1);

	/* Two symbols; and without a callback, only counted. */
	c.t_us = 0;
	assert_int_equal(
	        qrdecode_gray(dec, g.two.px, g.two.w, g.two.h, g.two.w, collect, &c, &found),
	        QD_OK);
	assert_int_equal(found, 2);
	assert_int_equal(c.t_us, 2);
	assert_int_equal(
	        qrdecode_gray(dec, g.two.px, g.two.w, g.two.h, g.two.w, NULL, NULL, &found), QD_OK);
	assert_int_equal(found, 2);

	/* Nothing to find. */
	uint8_t *blank = malloc(100 * 100);
	assert_non_null(blank);
	memset(blank, 255, 100 * 100);
	assert_int_equal(qrdecode_gray(dec, blank, 100, 100, 100, collect, &c, &found), QD_OK);
	assert_int_equal(found, 0);
	free(blank);
	qrdecode_destroy(dec);
}

int main(void)
{
	/* A hang in a blocking call (open on a FIFO, a read) ends the run instead. */
	alarm(WATCHDOG_S);
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_arguments),
	        cmocka_unit_test(test_lines_fd),
	        cmocka_unit_test(test_lines_fd_overlong),
	        cmocka_unit_test(test_lines_stop_from_callback),
	        cmocka_unit_test(test_lines_regular_file),
	        cmocka_unit_test(test_lines_fifo),
	        cmocka_unit_test(test_lines_fifo_path_kinds),
	        cmocka_unit_test(test_images_folder),
	        cmocka_unit_test(test_images_stop_from_callback),
	        cmocka_unit_test(test_images_folder_errors),
	        cmocka_unit_test(test_images_boarding_formats),
	        cmocka_unit_test(test_image_png_damaged),
	        cmocka_unit_test(test_image_pgm),
	        cmocka_unit_test(test_image_jpeg_damaged),
	        cmocka_unit_test(test_image_files),
	        cmocka_unit_test(test_qrdecode),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_camera.c - the V4L2 capture (drivers/v4l2_capture.c) and the camera
 * source (drivers/source_camera.c), driven through a fake V4L2 device
 * (tests/fakes/fake_v4l2.c) that serves pictures of real signed cards in
 * GREY, YUYV and MJPEG, and can be unplugged, stalled, or made to send bad
 * frames.
 *
 * The real capture loop, the real decoder (ZBar) and the real event loop
 * run; every wait has a deadline, so a driver that never delivers fails the
 * test instead of hanging it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "card_scene.h"
#include "fake_v4l2.h"
#include "qrdesk/loop.h"
#include "qrdecode.h"
#include "qrdesk/source.h"
#include "qrdesk/source_camera.h"
#include "v4l2_capture.h"
#include "testutil.h"

#define DEV       "/dev/video-fake"
#define W         640
#define H         480
#define WAIT_MS   60000 /* a hang guard only: every wait ends on its event */
#define CODES_MAX 16
#define ALL_FORMATS                                                                                \
	(FAKE_V4L2_FORMAT(CAPTURE_FORMAT_GREY) | FAKE_V4L2_FORMAT(CAPTURE_FORMAT_YUYV) |           \
	 FAKE_V4L2_FORMAT(CAPTURE_FORMAT_MJPEG))

enum { CARD_A, CARD_B, CARDS };

static struct {
	char *dir;
	struct card_image cards[CARDS];
	uint8_t *scene[CARDS]; /* W x H, each card in the middle */
	uint8_t *small;        /* W x H, card A small enough to survive a 320x240 crop */
	uint8_t *blank;        /* W x H, the desk without a card */
} g;

static int group_setup(void **state)
{
	(void)state;
	g.dir = tu_mkdtemp();
	struct qd_errmsg why = {{0}};
	if (card_scene_cards(g.dir, g.cards, CARDS, &why) != QD_OK)
		fail_msg("cards: %s", why.text);
	for (int i = 0; i < CARDS; i++) {
		assert_int_equal(strncmp(g.cards[i].text, "BC1:", 4), 0);
		g.scene[i] = card_scene_render(W, H, &g.cards[i], 70, 50, 50);
		assert_non_null(g.scene[i]);
	}
	g.small = card_scene_render(W, H, &g.cards[CARD_A], 45, 50, 50);
	g.blank = card_scene_render(W, H, NULL, 0, 0, 0);
	assert_non_null(g.small);
	assert_non_null(g.blank);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	card_scene_free(g.cards, CARDS);
	for (int i = 0; i < CARDS; i++)
		free(g.scene[i]);
	free(g.small);
	free(g.blank);
	tu_rmtree(g.dir);
	free(g.dir);
	return 0;
}

static struct capture_config cam_config(enum capture_format fmt)
{
	struct capture_config c = {.width = W, .height = H, .fps = 30, .format = fmt};
	snprintf(c.device, sizeof(c.device), "%s", DEV);
	return c;
}

static void assert_fake_idle(struct fake_v4l2 *f)
{
	struct fake_v4l2_stats st;
	fake_v4l2_stats(f, &st);
	assert_int_equal(st.open_fds, 0);
	assert_int_equal(st.mapped, 0);
}

/* ---- the capture, directly ---------------------------------------------------------------- */

struct decoded {
	struct qrdecode *dec;
	unsigned frames;
	char text[CARD_SCENE_TEXT_MAX];
	size_t n_symbols;
};

static void on_symbol(void *arg, const char *data, size_t len)
{
	struct decoded *d = arg;
	assert_true(len < sizeof(d->text));
	memcpy(d->text, data, len);
	d->text[len] = '\0';
	d->n_symbols++;
}

static void on_frame(void *arg, const struct capture_frame *fr)
{
	struct decoded *d = arg;
	d->frames++;
	assert_true(fr->stride >= fr->width);
	int found = 0;
	assert_int_equal(qrdecode_gray(d->dec, fr->luma, fr->width, fr->height, fr->stride,
	                               on_symbol, d, &found),
	                 QD_OK);
}

/* Close the capture and check the fake was left with nothing open or mapped. */
static void finish(struct capture *cap, struct decoded *d, struct fake_v4l2 *f)
{
	capture_close(cap);
	qrdecode_destroy(d->dec);
	assert_fake_idle(f);
	fake_v4l2_destroy(f);
}

/* capture_next until a result other than a timeout, within WAIT_MS: each frame decoded by on_frame;
 * or, with d NULL, not decoded: then handling takes only the capture's own work, so on a slow
 * machine (arm64 under qemu, loaded) frames still come one at a time. */
static enum qd_err next_result_skipped(struct capture *cap, struct decoded *d,
                                       enum capture_result *res, unsigned *skipped,
                                       struct qd_errmsg *why)
{
	for (int i = 0; i < WAIT_MS / 50; i++) {
		enum qd_err rc =
		        capture_next(cap, 50, d != NULL ? on_frame : NULL, d, res, skipped, why);
		if (rc != QD_OK || *res != CAPTURE_TIMEOUT)
			return rc;
	}
	fail_msg("no frame in %d ms", WAIT_MS);
	return QD_ERR_IO;
}

static enum qd_err next_result(struct capture *cap, struct decoded *d, enum capture_result *res,
                               struct qd_errmsg *why)
{
	return next_result_skipped(cap, d, res, NULL, why);
}

/* Open the fake offering mask, read one frame of card A's scene, check the text. */
static void read_card(unsigned mask, enum capture_format want, enum capture_format expect)
{
	struct fake_v4l2 *f = fake_v4l2_create(DEV, mask);
	fake_v4l2_show(f, g.scene[CARD_A], W, H);
	struct capture_config cfg = cam_config(want);
	struct capture *cap = NULL;
	struct qd_errmsg why = {{0}};
	if (capture_open(&cfg, fake_v4l2_io(f), &cap, &why) != QD_OK)
		fail_msg("open: %s", why.text);
	const struct capture_info *in = capture_get_info(cap);
	assert_int_equal(in->format, expect);
	assert_int_equal(in->width, W);
	assert_int_equal(in->height, H);
	assert_int_equal(in->fps_num, 30);
	assert_int_equal(in->fps_den, 1);
	assert_int_equal(in->buffers, CAPTURE_BUFFERS);
	assert_string_equal(in->card, "Fake Desk Camera");
	struct decoded d = {0};
	assert_int_equal(qrdecode_create(&d.dec), QD_OK);
	enum capture_result res;
	assert_int_equal(next_result(cap, &d, &res, &why), QD_OK);
	if (res != CAPTURE_FRAME)
		fail_msg("%s frame dropped: %s", capture_format_name(expect), why.text);
	assert_int_equal(d.frames, 1);
	assert_int_equal(d.n_symbols, 1);
	assert_string_equal(d.text, g.cards[CARD_A].text);
	finish(cap, &d, f);
}

static void test_grey(void **state)
{
	(void)state;
	read_card(FAKE_V4L2_FORMAT(CAPTURE_FORMAT_GREY), CAPTURE_FORMAT_AUTO, CAPTURE_FORMAT_GREY);
}

static void test_yuyv(void **state)
{
	(void)state;
	read_card(FAKE_V4L2_FORMAT(CAPTURE_FORMAT_YUYV), CAPTURE_FORMAT_AUTO, CAPTURE_FORMAT_YUYV);
}

static void test_mjpeg(void **state)
{
	(void)state;
	read_card(FAKE_V4L2_FORMAT(CAPTURE_FORMAT_MJPEG), CAPTURE_FORMAT_AUTO,
	          CAPTURE_FORMAT_MJPEG);
}

/* AUTO prefers GREY, then YUYV (no decompression); a configured format wins. */
static void test_format_choice(void **state)
{
	(void)state;
	read_card(ALL_FORMATS, CAPTURE_FORMAT_AUTO, CAPTURE_FORMAT_GREY);
	read_card(ALL_FORMATS & ~FAKE_V4L2_FORMAT(CAPTURE_FORMAT_GREY), CAPTURE_FORMAT_AUTO,
	          CAPTURE_FORMAT_YUYV);
	read_card(ALL_FORMATS, CAPTURE_FORMAT_MJPEG, CAPTURE_FORMAT_MJPEG);

	/* A format the camera does not offer is refused, naming it. */
	struct fake_v4l2 *f = fake_v4l2_create(DEV, FAKE_V4L2_FORMAT(CAPTURE_FORMAT_MJPEG));
	struct capture_config cfg = cam_config(CAPTURE_FORMAT_GREY);
	struct capture *cap = NULL;
	struct qd_errmsg why = {{0}};
	assert_int_equal(capture_open(&cfg, fake_v4l2_io(f), &cap, &why), QD_ERR_UNSUPPORTED);
	assert_null(cap);
	assert_non_null(strstr(why.text, "grey"));
	/* Absent: not found. */
	snprintf(cfg.device, sizeof(cfg.device), "/dev/video-none");
	assert_int_equal(capture_open(&cfg, fake_v4l2_io(f), &cap, &why), QD_ERR_NOT_FOUND);
	assert_fake_idle(f);
	fake_v4l2_destroy(f);
}

/* The driver grants 320x240 for 640x480: taken, reported, and read at that size. */
static void test_granted_size(void **state)
{
	(void)state;
	struct fake_v4l2 *f = fake_v4l2_create(DEV, FAKE_V4L2_FORMAT(CAPTURE_FORMAT_YUYV));
	fake_v4l2_grant_size(f, 320, 240);
	fake_v4l2_show(f, g.small, W, H);
	struct capture_config cfg = cam_config(CAPTURE_FORMAT_AUTO);
	struct capture *cap = NULL;
	struct qd_errmsg why = {{0}};
	assert_int_equal(capture_open(&cfg, fake_v4l2_io(f), &cap, &why), QD_OK);
	assert_int_equal(capture_get_info(cap)->width, 320);
	assert_int_equal(capture_get_info(cap)->height, 240);
	struct decoded d = {0};
	assert_int_equal(qrdecode_create(&d.dec), QD_OK);
	enum capture_result res;
	assert_int_equal(next_result(cap, &d, &res, &why), QD_OK);
	assert_int_equal(res, CAPTURE_FRAME);
	assert_string_equal(d.text, g.cards[CARD_A].text);
	finish(cap, &d, f);
}

/* Each bad frame is dropped with its own reason; the stream goes on. */
static void test_bad_frames(void **state)
{
	(void)state;
	static const struct {
		enum fake_v4l2_fault fault;
		enum capture_format fmt;
		const char *reason;
	} cases[] = {
	        {FAKE_V4L2_EMPTY, CAPTURE_FORMAT_MJPEG, "bytesused 0"},
	        {FAKE_V4L2_OVERSIZE, CAPTURE_FORMAT_MJPEG, "in a buffer of"},
	        {FAKE_V4L2_CORRUPT, CAPTURE_FORMAT_MJPEG, "corrupt MJPEG frame"},
	        {FAKE_V4L2_FLAGGED, CAPTURE_FORMAT_MJPEG, "flagged as corrupt"},
	        {FAKE_V4L2_BIG_JPEG, CAPTURE_FORMAT_MJPEG, "MJPEG frame of 1280x960"},
	        {FAKE_V4L2_CORRUPT, CAPTURE_FORMAT_YUYV, "short yuyv frame"},
	        {FAKE_V4L2_CORRUPT, CAPTURE_FORMAT_GREY, "short grey frame"},
	        {FAKE_V4L2_EMPTY, CAPTURE_FORMAT_GREY, "bytesused 0"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fake_v4l2 *f = fake_v4l2_create(DEV, FAKE_V4L2_FORMAT(cases[i].fmt));
		fake_v4l2_show(f, g.scene[CARD_B], W, H);
		fake_v4l2_pace(f, 8); /* frames far apart: the bad one is rarely skipped */
		fake_v4l2_inject(f, cases[i].fault);
		struct capture_config cfg = cam_config(CAPTURE_FORMAT_AUTO);
		struct capture *cap = NULL;
		struct qd_errmsg why = {{0}};
		assert_int_equal(capture_open(&cfg, fake_v4l2_io(f), &cap, &why), QD_OK);
		struct decoded d = {0};
		assert_int_equal(qrdecode_create(&d.dec), QD_OK);
		enum capture_result res;
		unsigned skipped = 0;
		/* On a busy machine several frames may be ready at once and the newest is
		 * taken: a bad one among them is given back unread.  Inject it again then
		 * (so it may come twice: extra drops are allowed below).  The frames are not
		 * decoded meanwhile: a decode slower than two frame periods (arm64 under qemu)
		 * would leave the bad frame, always the older one, skipped every time. */
		for (int attempt = 0; attempt < 20; attempt++) {
			assert_int_equal(next_result_skipped(cap, NULL, &res, &skipped, &why),
			                 QD_OK);
			if (res != CAPTURE_FRAME)
				break;
			if (skipped > 0)
				fake_v4l2_inject(f, cases[i].fault);
		}
		if (res != CAPTURE_DROPPED || strstr(why.text, cases[i].reason) == NULL)
			fail_msg("case %zu: result %d, reason '%s'; wanted a drop for '%s'", i,
			         (int)res, why.text, cases[i].reason);
		/* The stream goes on: whole frames again. */
		for (int attempt = 0; attempt < 5 && res != CAPTURE_FRAME; attempt++)
			assert_int_equal(next_result(cap, &d, &res, &why), QD_OK);
		assert_int_equal(res, CAPTURE_FRAME);
		assert_string_equal(d.text, g.cards[CARD_B].text);
		finish(cap, &d, f);
	}
}

/* A dequeue error and an unplug end the stream with the right code; nothing leaks. */
static void test_stream_errors(void **state)
{
	(void)state;
	struct fake_v4l2 *f = fake_v4l2_create(DEV, FAKE_V4L2_FORMAT(CAPTURE_FORMAT_YUYV));
	struct capture_config cfg = cam_config(CAPTURE_FORMAT_AUTO);
	struct capture *cap = NULL;
	struct qd_errmsg why = {{0}};
	struct decoded d = {0};
	enum capture_result res;
	assert_int_equal(qrdecode_create(&d.dec), QD_OK);

	fake_v4l2_inject(f, FAKE_V4L2_DQBUF_EIO);
	assert_int_equal(capture_open(&cfg, fake_v4l2_io(f), &cap, &why), QD_OK);
	assert_int_equal(next_result(cap, &d, &res, &why), QD_ERR_IO);
	assert_non_null(strstr(why.text, "VIDIOC_DQBUF"));
	capture_close(cap);
	assert_fake_idle(f);

	assert_int_equal(capture_open(&cfg, fake_v4l2_io(f), &cap, &why), QD_OK);
	assert_int_equal(next_result(cap, &d, &res, &why), QD_OK);
	assert_int_equal(res, CAPTURE_FRAME);
	fake_v4l2_plug(f, false);
	assert_int_equal(next_result(cap, &d, &res, &why), QD_ERR_NOT_FOUND);
	capture_close(cap);
	assert_fake_idle(f);
	assert_int_equal(capture_open(&cfg, fake_v4l2_io(f), &cap, &why), QD_ERR_NOT_FOUND);
	fake_v4l2_plug(f, true);
	assert_int_equal(capture_open(&cfg, fake_v4l2_io(f), &cap, &why), QD_OK);
	capture_close(cap);
	assert_fake_idle(f);
	qrdecode_destroy(d.dec);
	fake_v4l2_destroy(f);
}

/* The luma conversion on its own: strides honoured, short input refused. */
static void test_luma(void **state)
{
	(void)state;
	enum { LW = 20, LH = 16 };
	uint8_t grey[LW * LH], scratch[LW * LH];
	for (size_t i = 0; i < sizeof(grey); i++)
		grey[i] = (uint8_t)(i * 37);
	const uint8_t *luma;
	size_t stride, len;
	struct qd_errmsg why = {{0}};

	struct capture_info in = {
	        .format = CAPTURE_FORMAT_GREY, .width = LW, .height = LH, .bytesperline = LW + 12};
	uint8_t *bytes = fake_v4l2_encode(in.format, grey, LW, LH, in.bytesperline, &len);
	assert_int_equal(capture_luma(&in, bytes, len, scratch, &luma, &stride, &why), QD_OK);
	assert_ptr_equal(luma, bytes); /* used in place */
	assert_int_equal(stride, LW + 12);
	for (size_t y = 0; y < LH; y++)
		assert_memory_equal(luma + y * stride, grey + y * LW, LW);
	/* The last row need not be padded; one byte less than that is short. */
	size_t need = (LW + 12) * (LH - 1) + LW;
	assert_int_equal(capture_luma(&in, bytes, need, scratch, &luma, &stride, &why), QD_OK);
	assert_int_equal(capture_luma(&in, bytes, need - 1, scratch, &luma, &stride, &why),
	                 QD_ERR_FORMAT);
	assert_null(luma);
	free(bytes);

	in = (struct capture_info){.format = CAPTURE_FORMAT_YUYV,
	                           .width = LW,
	                           .height = LH,
	                           .bytesperline = 2 * LW + 8};
	bytes = fake_v4l2_encode(in.format, grey, LW, LH, in.bytesperline, &len);
	assert_int_equal(capture_luma(&in, bytes, len, scratch, &luma, &stride, &why), QD_OK);
	assert_ptr_equal(luma, scratch);
	assert_int_equal(stride, LW);
	assert_memory_equal(scratch, grey, sizeof(grey));
	assert_int_equal(capture_luma(&in, bytes, 0, scratch, &luma, &stride, &why), QD_ERR_FORMAT);
	free(bytes);

	in = (struct capture_info){
	        .format = CAPTURE_FORMAT_MJPEG, .width = LW, .height = LH, .bytesperline = LW};
	bytes = fake_v4l2_encode(in.format, grey, LW, LH, 0, &len);
	assert_int_equal(capture_luma(&in, bytes, len, scratch, &luma, &stride, &why), QD_OK);
	int worst = 0; /* JPEG is lossy: close, not equal */
	for (size_t i = 0; i < sizeof(grey); i++) {
		int diff = abs((int)scratch[i] - (int)grey[i]);
		worst = diff > worst ? diff : worst;
	}
	assert_true(worst < 128);
	in.width = LW + 1; /* the stream says another size */
	assert_int_equal(capture_luma(&in, bytes, len, scratch, &luma, &stride, &why),
	                 QD_ERR_FORMAT);
	in.width = LW;
	assert_int_equal(capture_luma(&in, bytes, len / 2, scratch, &luma, &stride, &why),
	                 QD_ERR_FORMAT);
	assert_non_null(strstr(why.text, "corrupt MJPEG"));
	assert_int_equal(capture_luma(&in, grey, sizeof(grey), scratch, &luma, &stride, &why),
	                 QD_ERR_FORMAT);
	free(bytes);
}

/*
 * Webcams' MJPEG frames usually carry no Huffman tables (DHT): the decoder
 * must use the standard ones.  The fuzz seed mjpeg-no-dht is such a frame
 * (bench_camera --seeds writes it: a 96x72 card scene with its DHT cut out).
 */
static void test_mjpeg_without_huffman_tables(void **state)
{
	(void)state;
	static char path[4096];
	const char *self = __FILE__, *suffix = "unit/test_camera.c";
	size_t n = strlen(self), m = strlen(suffix);
	assert_true(n > m && strcmp(self + n - m, suffix) == 0);
	snprintf(path, sizeof(path), "%.*sfuzz/corpus/camera/mjpeg-no-dht", (int)(n - m), self);
	size_t len;
	uint8_t *seed = tu_read_file(path, &len);
	assert_true(len > 6 && seed[0] == 2); /* the fuzz header: MJPEG, 96x72 */
	const uint8_t *jpeg = seed + 6;
	bool has_dht = false;
	for (size_t i = 0; i + 1 < len - 6; i++)
		has_dht |= jpeg[i] == 0xff && jpeg[i + 1] == 0xc4;
	assert_false(has_dht);
	struct capture_info in = {
	        .format = CAPTURE_FORMAT_MJPEG, .width = 96, .height = 72, .bytesperline = 96};
	uint8_t scratch[96 * 72];
	const uint8_t *luma;
	size_t stride;
	struct qd_errmsg why = {{0}};
	if (capture_luma(&in, jpeg, len - 6, scratch, &luma, &stride, &why) != QD_OK)
		fail_msg("MJPEG without DHT: %s", why.text);
	free(seed);
}

/* ---- the source, through the loop --------------------------------------------------------- */

struct delivered {
	char text[CARD_SCENE_TEXT_MAX];
	int64_t t_us;
};

struct harness {
	struct loop *loop;
	struct loop_timer *tick;
	struct source *src;
	struct fake_v4l2 *fake;
	size_t n;
	struct delivered codes[CODES_MAX];
	bool stop_on_code; /* on_code stops the source (allowed by source.h) */
	/* What the running wait is for. */
	size_t want_codes;
	int want_state;
	uint64_t want_dropped;
	uint64_t want_looked;    /* frames of the shown scene the source has read */
	const char *want_detail; /* in status.detail */
	bool hit;                /* the tick saw it reached (later events may change it) */
	int64_t deadline_us;
};

static uint64_t looked(const struct harness *h)
{
	struct fake_v4l2_stats s;
	fake_v4l2_stats(h->fake, &s);
	return s.looked;
}

static bool reached(const struct harness *h)
{
	const struct source_status *st = &h->src->status;
	return h->n >= h->want_codes && st->dropped >= h->want_dropped &&
	       (h->want_state < 0 || (int)st->state == h->want_state) &&
	       looked(h) >= h->want_looked &&
	       (h->want_detail == NULL || strstr(st->detail, h->want_detail) != NULL);
}

static void on_code(void *arg, const char *name, const char *text, size_t len, int64_t t_us)
{
	struct harness *h = arg;
	assert_string_equal(name, "cam");
	assert_true(len < CARD_SCENE_TEXT_MAX);
	assert_true(t_us <= loop_now_us());
	if (h->n == CODES_MAX)
		fail_msg("more than %d codes delivered", CODES_MAX);
	memcpy(h->codes[h->n].text, text, len);
	h->codes[h->n].text[len] = '\0';
	h->codes[h->n].t_us = t_us;
	h->n++;
	if (h->stop_on_code)
		h->src->ops->stop(h->src);
}

static void tick_cb(struct loop *loop, struct loop_timer *t, void *arg)
{
	(void)t;
	struct harness *h = arg;
	h->hit = h->want_codes != SIZE_MAX && reached(h);
	if (h->hit || loop_now_us() >= h->deadline_us)
		loop_stop(loop);
}

/* Run the loop until what h wants is reached, or for ms when it wants nothing (want_codes
 * SIZE_MAX).  True if reached. */
static bool run_loop(struct harness *h, int64_t ms)
{
	h->deadline_us = loop_now_us() + ms * 1000LL;
	h->hit = false;
	loop_timer_arm(h->tick, 5, 5);
	assert_int_equal(loop_run(h->loop), QD_OK);
	loop_timer_disarm(h->tick);
	bool ok = h->hit;
	h->want_looked = 0;
	h->want_detail = NULL;
	return ok;
}

/* Run the loop until codes / state / dropped are reached; fail after WAIT_MS. */
static void wait_for(struct harness *h, size_t codes, int state, uint64_t dropped)
{
	h->want_codes = codes;
	h->want_state = state;
	h->want_dropped = dropped;
	const struct source_status *st = &h->src->status;
	if (!run_loop(h, WAIT_MS))
		fail_msg("after %d ms: %zu codes, %s (%s), %llu dropped; wanted %zu, %s, %llu",
		         WAIT_MS, h->n, source_state_name(st->state), st->detail,
		         (unsigned long long)st->dropped, codes,
		         state < 0 ? "any" : source_state_name((enum source_state)state),
		         (unsigned long long)dropped);
	assert_int_equal(h->n, codes);
	assert_int_equal(st->codes, codes);
}

/* The thread found the camera absent (at start, status says ABSENT "opening" before it tried). */
static void wait_absent(struct harness *h)
{
	h->want_detail = "cannot open";
	wait_for(h, h->n, SOURCE_ABSENT, 0);
}

/* Run the loop for ms, whatever happens. */
static void settle(struct harness *h, unsigned ms)
{
	h->want_codes = SIZE_MAX;
	(void)run_loop(h, ms);
}

/* Take the card away: the blank is shown until CAMERA_GONE_MS has passed and the source has
 * read more than CAMERA_GONE_FRAMES frames of it, the last after that time, so the card
 * counts as gone however slowly frames are decoded (arm64 under qemu, a loaded machine). */
static void take_away(struct harness *h)
{
	fake_v4l2_show(h->fake, g.blank, W, H);
	settle(h, CAMERA_GONE_MS + 100);
	uint64_t after = looked(h) + 1;
	h->want_looked = after > CAMERA_GONE_FRAMES + 1 ? after : CAMERA_GONE_FRAMES + 1;
	wait_for(h, h->n, -1, 0);
}

static struct harness *harness_new_formats(unsigned mask, bool present, unsigned retry_ms,
                                           unsigned formats)
{
	struct harness *h = calloc(1, sizeof(*h));
	assert_non_null(h);
	assert_int_equal(loop_create(&h->loop), QD_OK);
	assert_int_equal(loop_timer_create(h->loop, tick_cb, h, &h->tick), QD_OK);
	h->fake = fake_v4l2_create(DEV, mask);
	fake_v4l2_plug(h->fake, present);
	fake_v4l2_show(h->fake, g.blank, W, H);
	struct source_camera_config cfg = {
	        .capture = cam_config(CAPTURE_FORMAT_AUTO),
	        .stall_ms = 600,
	        .retry_ms = retry_ms,
	        .io = fake_v4l2_io(h->fake),
	        .formats = formats,
	};
	assert_int_equal(source_camera("cam", &cfg, on_code, h, &h->src), QD_OK);
	assert_string_equal(h->src->ops->kind, "camera");
	assert_int_equal(h->src->ops->start(h->src, h->loop), QD_OK);
	return h;
}

static struct harness *harness_new_retry(unsigned mask, bool present, unsigned retry_ms)
{
	return harness_new_formats(mask, present, retry_ms, CAMERA_FORMAT_QR);
}

static struct harness *harness_new(unsigned mask, bool present)
{
	return harness_new_retry(mask, present, 100);
}

static void harness_free(struct harness *h)
{
	h->src->ops->stop(h->src);
	assert_int_equal(h->src->status.state, SOURCE_STOPPED);
	assert_fake_idle(h->fake); /* the thread closed and unmapped everything */
	h->src->ops->destroy(h->src);
	fake_v4l2_destroy(h->fake);
	loop_timer_destroy(h->tick);
	loop_destroy(h->loop);
	free(h);
}

/* A card under the camera is delivered once while it stays, again after it left. */
static void test_source_delivers_once(void **state)
{
	(void)state;
	struct harness *h = harness_new(FAKE_V4L2_FORMAT(CAPTURE_FORMAT_YUYV), true);
	wait_for(h, 0, SOURCE_RUNNING, 0);
	assert_non_null(strstr(h->src->status.detail, "640x480 yuyv 30 fps"));

	int64_t shown = loop_now_us();
	fake_v4l2_show(h->fake, g.scene[CARD_A], W, H);
	wait_for(h, 1, SOURCE_RUNNING, 0);
	assert_string_equal(h->codes[0].text, g.cards[CARD_A].text);
	assert_true(h->codes[0].t_us >= shown);
	settle(h, 400); /* a dozen more frames of the same card: no more deliveries */
	assert_int_equal(h->n, 1);

	fake_v4l2_show(h->fake, g.scene[CARD_B], W, H); /* another card: at once */
	wait_for(h, 2, SOURCE_RUNNING, 0);
	assert_string_equal(h->codes[1].text, g.cards[CARD_B].text);

	take_away(h); /* taken away, then shown again */
	assert_int_equal(h->n, 2);
	fake_v4l2_show(h->fake, g.scene[CARD_B], W, H);
	wait_for(h, 3, SOURCE_RUNNING, 0);
	assert_string_equal(h->codes[2].text, g.cards[CARD_B].text);

	/* A corrupt frame in the middle is counted, and the stream goes on.  A slow
	 * machine (arm64 under qemu) decodes only the newest of the frames ready, so
	 * a run of 16 corrupt frames (533 ms) is injected, and again while all were
	 * skipped unread.  (A dropped frame is not one without the card: it stays in view.) */
	int64_t until = loop_now_us() + WAIT_MS * 1000LL;
	while (h->src->status.dropped == 0 && loop_now_us() < until) {
		for (int k = 0; k < 16; k++)
			fake_v4l2_inject(h->fake, FAKE_V4L2_CORRUPT);
		settle(h, 600);
	}
	wait_for(h, 3, SOURCE_RUNNING, 1);
	assert_true(h->src->status.dropped >= 1);
	harness_free(h);
}

/*
 * A boarding pass under the camera (docs/binding.md): with PDF417 and Aztec
 * among its formats (the daemon asks for them when it binds documents) the
 * camera delivers the pass's text from either symbol, as from a QR card.
 * The symbols are the camera fuzz target's seeds, pasted on the empty desk.
 */
static void test_source_boarding_pass(void **state)
{
	(void)state;
	const char *bcbp = "M1DESMARAIS/LUC       EABC123 YULFRAAC 0834 326J001A0025 100";
	static const char *const seeds[] = {"grey-pdf417-bcbp.bin", "grey-aztec-bcbp.bin"};
	for (size_t i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++) {
		char path[512];
		snprintf(path, sizeof(path), "%s/%s", QRDESK_CAMERA_CORPUS, seeds[i]);
		size_t len;
		uint8_t *seed = tu_read_file(path, &len);
		assert_true(len > 6 && seed[0] == 0); /* GREY, then width - 1 and height - 1 */
		unsigned sw = 1u + (seed[1] | (unsigned)seed[2] << 8);
		unsigned sh = 1u + (seed[3] | (unsigned)seed[4] << 8);
		assert_true(sw <= W && sh <= H && len >= 6 + (size_t)sw * sh);
		uint8_t *scene = malloc((size_t)W * H);
		assert_non_null(scene);
		memcpy(scene, g.blank, (size_t)W * H);
		for (unsigned y = 0; y < sh; y++)
			memcpy(scene + (size_t)(y + (H - sh) / 2) * W + (W - sw) / 2,
			       seed + 6 + (size_t)y * sw, sw);
		struct harness *h =
		        harness_new_formats(FAKE_V4L2_FORMAT(CAPTURE_FORMAT_GREY), true, 100,
		                            CAMERA_FORMAT_PDF417 | CAMERA_FORMAT_AZTEC);
		wait_for(h, 0, SOURCE_RUNNING, 0);
		fake_v4l2_show(h->fake, scene, W, H);
		wait_for(h, 1, SOURCE_RUNNING, 0);
		assert_string_equal(h->codes[0].text, bcbp);
		harness_free(h);
		free(scene);
		free(seed);
	}
}

/* Frames far apart (a slow decoder, a board under load: here the driver goes silent
 * for longer than CAMERA_GONE_MS) with the card in every one looked at: the card
 * never left, so it is not delivered again (it would be judged ALREADY_USED). */
static void test_source_slow_frames_same_card(void **state)
{
	(void)state;
	struct harness *h = harness_new(FAKE_V4L2_FORMAT(CAPTURE_FORMAT_GREY), true);
	wait_for(h, 0, SOURCE_RUNNING, 0);
	fake_v4l2_show(h->fake, g.scene[CARD_A], W, H);
	wait_for(h, 1, SOURCE_RUNNING, 0);
	fake_v4l2_stall(h->fake, true);
	wait_for(h, 1, SOURCE_STALLED, 0); /* stall_ms (600) > CAMERA_GONE_MS without a frame */
	fake_v4l2_stall(h->fake, false);
	wait_for(h, 1, SOURCE_RUNNING, 0);
	settle(h, 300); /* frames again, the same card in each */
	assert_int_equal(h->n, 1);

	/* Taken away for CAMERA_GONE_FRAMES decoded frames and CAMERA_GONE_MS: delivered again. */
	take_away(h);
	fake_v4l2_show(h->fake, g.scene[CARD_A], W, H);
	wait_for(h, 2, SOURCE_RUNNING, 0);
	harness_free(h);
}

/* ABSENT at start, RUNNING when plugged, STALLED when silent, RUNNING again. */
static void test_source_states(void **state)
{
	(void)state;
	struct harness *h = harness_new(FAKE_V4L2_FORMAT(CAPTURE_FORMAT_MJPEG), false);
	wait_absent(h);
	assert_non_null(strstr(h->src->status.detail, DEV));
	settle(h, 250); /* retried meanwhile, still absent */
	assert_int_equal(h->src->status.state, SOURCE_ABSENT);

	fake_v4l2_plug(h->fake, true);
	wait_for(h, 0, SOURCE_RUNNING, 0);
	fake_v4l2_show(h->fake, g.scene[CARD_A], W, H);
	wait_for(h, 1, SOURCE_RUNNING, 0);

	/* Silent past stall_ms: STALLED, re-opened (a second STREAMON), still STALLED.
	 * (The card is taken away first, so that the codes below are a new arrival.) */
	fake_v4l2_show(h->fake, g.blank, W, H);
	settle(h, 100);
	struct fake_v4l2_stats before, after;
	fake_v4l2_stats(h->fake, &before);
	fake_v4l2_stall(h->fake, true);
	wait_for(h, 1, SOURCE_STALLED, 0);
	assert_non_null(strstr(h->src->status.detail, "no frame for 600 ms"));
	settle(h, 300);
	assert_int_equal(h->src->status.state, SOURCE_STALLED);
	fake_v4l2_stats(h->fake, &after);
	assert_true(after.streamons > before.streamons);
	fake_v4l2_stall(h->fake, false);
	wait_for(h, 1, SOURCE_RUNNING, 0);

	/* Unplugged while streaming: ABSENT; plugged back: RUNNING, and codes again. */
	fake_v4l2_plug(h->fake, false);
	wait_for(h, 1, SOURCE_ABSENT, 0);
	fake_v4l2_show(h->fake, g.scene[CARD_B], W, H);
	fake_v4l2_plug(h->fake, true);
	wait_for(h, 2, SOURCE_RUNNING, 0);
	assert_string_equal(h->codes[1].text, g.cards[CARD_B].text);
	harness_free(h);
}

/* Hot-plug: with a 10-minute retry, only source_rescan can find the camera in time. */
static void test_source_rescan_on_hotplug(void **state)
{
	(void)state;
	struct harness *h = harness_new_retry(ALL_FORMATS, false, 600000);
	wait_absent(h);
	fake_v4l2_plug(h->fake, true);
	settle(h, 300);
	assert_int_equal(h->src->status.state, SOURCE_ABSENT); /* nobody told it */
	source_rescan(h->src);
	wait_for(h, 0, SOURCE_RUNNING, 0);
	harness_free(h);
}

/* Stopping while the device is absent (the thread waits to retry) returns at once. */
static void test_source_stop_while_absent(void **state)
{
	(void)state;
	struct harness *h = harness_new_retry(ALL_FORMATS, false, 600000);
	wait_absent(h);
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	h->src->ops->stop(h->src);
	clock_gettime(CLOCK_MONOTONIC, &b);
	long ms = (long)(b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
	assert_true(ms < 10000); /* woken: not after the 10-minute retry */
	/* ... and it can start again. */
	assert_int_equal(h->src->ops->start(h->src, h->loop), QD_OK);
	fake_v4l2_plug(h->fake, true);
	source_rescan(h->src);
	wait_for(h, 0, SOURCE_RUNNING, 0);
	harness_free(h);
}

/* on_code may stop the source: the thread is joined from inside its own delivery. */
static void test_source_stop_from_callback(void **state)
{
	(void)state;
	struct harness *h = harness_new(FAKE_V4L2_FORMAT(CAPTURE_FORMAT_GREY), true);
	wait_for(h, 0, SOURCE_RUNNING, 0);
	h->stop_on_code = true;
	fake_v4l2_show(h->fake, g.scene[CARD_A], W, H);
	wait_for(h, 1, SOURCE_STOPPED, 0);
	assert_fake_idle(h->fake);
	settle(h, 200); /* nothing more, from nowhere */
	assert_int_equal(h->n, 1);
	h->stop_on_code = false;
	harness_free(h);
}

static void test_source_bad_config(void **state)
{
	(void)state;
	struct source *src = NULL;
	struct source_camera_config cfg = {.capture = cam_config(CAPTURE_FORMAT_AUTO),
	                                   .stall_ms = 100};
	assert_int_equal(source_camera("cam", &cfg, on_code, NULL, &src), QD_ERR_ARG);
	cfg.stall_ms = 2000;
	cfg.capture.fps = 0;
	assert_int_equal(source_camera("cam", &cfg, on_code, NULL, &src), QD_ERR_ARG);
	cfg.capture.fps = 30;
	cfg.capture.width = 8;
	assert_int_equal(source_camera("cam", &cfg, on_code, NULL, &src), QD_ERR_ARG);
	cfg.capture.width = W;
	cfg.capture.device[0] = '\0';
	assert_int_equal(source_camera("cam", &cfg, on_code, NULL, &src), QD_ERR_ARG);
	assert_null(src);
}

int main(void)
{
	alarm(900); /* a hang anywhere ends the run */
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_grey),
	        cmocka_unit_test(test_yuyv),
	        cmocka_unit_test(test_mjpeg),
	        cmocka_unit_test(test_format_choice),
	        cmocka_unit_test(test_granted_size),
	        cmocka_unit_test(test_bad_frames),
	        cmocka_unit_test(test_stream_errors),
	        cmocka_unit_test(test_luma),
	        cmocka_unit_test(test_mjpeg_without_huffman_tables),
	        cmocka_unit_test(test_source_delivers_once),
	        cmocka_unit_test(test_source_boarding_pass),
	        cmocka_unit_test(test_source_slow_frames_same_card),
	        cmocka_unit_test(test_source_states),
	        cmocka_unit_test(test_source_rescan_on_hotplug),
	        cmocka_unit_test(test_source_stop_while_absent),
	        cmocka_unit_test(test_source_stop_from_callback),
	        cmocka_unit_test(test_source_bad_config),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_decode_chain.c - the decoder chain (drivers/qrdecode.c: zxing-cpp,
 * then ZBar and the second looks in turns) on the decode-quality test set
 * (bench/qrscene.c), and ZBar's looks on large frames.
 *
 * Camera frames carry timestamps (15 fps); what an empty desk costs is
 * judged in ZBar pixels (the chain's own accounting), never in time.  An
 * empty desk between cards is a few frames with a gap in their timestamps:
 * the buckets fill by frame time, not by frame count.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <qrencode.h>

#include "qrdecode.h"
#include "qrscene.h"
#include "scene_cards.h"
#include "testutil.h"

#define VGA_W 640
#define VGA_H 480

static uint8_t *corpus_frame(const char *name, unsigned *w, unsigned *h);

/* Decoded within a burst by a decoder with these passes and budget? */
static bool decodes_with(unsigned passes, size_t budget, const uint8_t *px, unsigned w, unsigned h,
                         const char *want)
{
	struct qrdecode *dec;
	assert_int_equal(qrdecode_create(&dec), QD_OK);
	qrdecode_set_passes(dec, passes, budget);
	bool ok = scene_decode_burst(dec, px, w, h, want);
	qrdecode_destroy(dec);
	return ok;
}

static void expect_nothing(struct qrdecode *dec, const uint8_t *px, unsigned w, unsigned h,
                           size_t stride)
{
	struct scene_seen s = {NULL, 0, 0, 0};
	int found = -1;
	assert_int_equal(qrdecode_gray(dec, px, w, h, stride, scene_on_symbol, &s, &found), QD_OK);
	assert_int_equal(found, 0);
	assert_int_equal(s.calls, 0);
}

/* ---- Large frames (issue 21, defect 1) ------------------------------------- */

/*
 * Over 0.96 Mpx the full-size look does not fit the budget beside the x0.5
 * look.  It must be passed over, not waited for: waiting kept the invert
 * and adaptive looks from ever running, so a phone in dark mode was never
 * read at 1280 x 960 or 1920 x 1080, in any number of frames.
 */
static void test_large_frames_take_every_look(void **state)
{
	(void)state;
	static const unsigned dims[][2] = {{1280, 960}, {1920, 1080}};
	for (size_t d = 0; d < sizeof(dims) / sizeof(dims[0]); d++) {
		const unsigned w = dims[d][0], h = dims[d][1];
		const char *text = scene_texts[d];
		uint8_t *px = scene_render(text, w, h, QRSCENE_SCREEN_DARK, 0, 0);
		/* ZBar with the looks and budget it shipped with before the chain. */
		const unsigned looks =
		        QRDECODE_PASS_HALF | QRDECODE_PASS_INVERT | QRDECODE_PASS_ADAPTIVE;
		assert_false(decodes_with(QRDECODE_PASS_HALF, 1200u * 1000u, px, w, h, text));
		assert_true(decodes_with(looks, 1200u * 1000u, px, w, h, text));
		free(px);
	}
}

/* ---- The chain (zxing-cpp, then ZBar in turns) ------------------------------ */

#define FPS_US      66667   /* 15 fps, the camera's default */
#define DESK_GAP_US 3000000 /* an empty desk between cards: 3 s */

/* Offer px as SCENE_BURST camera frames from *t_us on; true if the card's text came back. */
static bool frames_burst(struct qrdecode *dec, const uint8_t *px, unsigned w, unsigned h,
                         const char *want, int64_t *t_us)
{
	struct scene_seen s = {want, 0, 0, 0};
	for (int b = 0; b < SCENE_BURST && s.right == 0; b++) {
		int found = -1;
		*t_us += FPS_US;
		assert_int_equal(
		        qrdecode_frame(dec, px, w, h, w, *t_us, scene_on_symbol, &s, &found),
		        QD_OK);
		assert_int_equal((unsigned)found, s.calls);
		s.calls = 0;
	}
	assert_int_equal(s.wrong, 0);
	return s.right > 0;
}

/* n frames of one empty desk, from *t_us on: nothing may be read. */
static void idle_desk(struct qrdecode *dec, const uint8_t *desk, unsigned w, unsigned h, unsigned n,
                      int64_t *t_us)
{
	for (unsigned i = 0; i < n; i++) {
		struct scene_seen s = {NULL, 0, 0, 0};
		int found = -1;
		*t_us += FPS_US;
		assert_int_equal(
		        qrdecode_frame(dec, desk, w, h, w, *t_us, scene_on_symbol, &s, &found),
		        QD_OK);
		assert_int_equal(found, 0);
	}
}

/* The card taken away, the desk left empty for DESK_GAP_US (the buckets fill), then the card. */
static void empty_desk(struct qrdecode *dec, const uint8_t *desk, unsigned w, unsigned h,
                       int64_t *t_us)
{
	idle_desk(dec, desk, w, h, 1, t_us);
	*t_us += DESK_GAP_US;
	idle_desk(dec, desk, w, h, 1, t_us);
}

/* Does zxing-cpp's first look alone read px?  A new decoder's first frame: its buckets are
 * empty, so no second look runs. */
static bool first_look_reads(const uint8_t *px, unsigned w, unsigned h, const char *want)
{
	struct qrdecode *dec;
	assert_int_equal(qrdecode_create(&dec), QD_OK);
	assert_int_equal(qrdecode_set_chain(dec, QRDECODE_ZXING, 0), QD_OK);
	struct scene_seen s = {want, 0, 0, 0};
	int found = -1;
	assert_int_equal(qrdecode_frame(dec, px, w, h, w, 0, scene_on_symbol, &s, &found), QD_OK);
	struct qrdecode_stats st;
	qrdecode_get_stats(dec, &st);
	assert_int_equal(st.zxing_looks, 0);
	assert_int_equal(s.wrong, 0);
	qrdecode_destroy(dec);
	return s.right > 0;
}

/*
 * Cards the first look misses are read on the camera path within a burst:
 * a phone in dark mode (zxing-cpp's inverted look) and heavy sensor noise
 * (ZBar's x0.5 and adaptive looks; zxing-cpp reads none of these), each
 * after three seconds of an empty desk (DESK_GAP_US).
 */
static void test_chain_second_looks_on_camera_frames(void **state)
{
	(void)state;
	struct qrdecode *dec;
	assert_int_equal(qrdecode_create(&dec), QD_OK);
	uint8_t *desk = malloc((size_t)VGA_W * VGA_H);
	assert_non_null(desk);
	qrscene_empty(VGA_W, VGA_H, 7, desk);
	int64_t t = 0;
	static const struct {
		enum qrscene_kind kind;
		int level;
	} cases[] = {{QRSCENE_SCREEN_DARK, 0}, {QRSCENE_SCREEN_DARK, 2}, {QRSCENE_NOISE, 3}};
	const unsigned looks = QRDECODE_PASS_HALF | QRDECODE_PASS_INVERT | QRDECODE_PASS_ADAPTIVE;
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		unsigned tried = 0;
		for (unsigned i = 0; i < 8 && tried < 2; i++) {
			const char *text = scene_texts[i % SCENE_CARDS];
			uint8_t *px =
			        scene_render(text, VGA_W, VGA_H, cases[c].kind, cases[c].level, i);
			/* Cards that zxing-cpp's first look alone misses, and a second
			 * look - ZBar's, as a still - reads. */
			if (first_look_reads(px, VGA_W, VGA_H, text) ||
			    !decodes_with(looks, 1200u * 1000u, px, VGA_W, VGA_H, text)) {
				free(px);
				continue;
			}
			tried++;
			empty_desk(dec, desk, VGA_W, VGA_H, &t);
			if (!frames_burst(dec, px, VGA_W, VGA_H, text, &t))
				fail_msg("%s level %d image %u: not read within %d frames",
				         qrscene_kind_name(cases[c].kind), cases[c].level, i,
				         SCENE_BURST);
			free(px);
		}
		assert_int_equal(tried, 2);
	}
	struct qrdecode_stats st;
	qrdecode_get_stats(dec, &st);
	assert_int_equal(st.conflicts, 0);
	assert_true(st.zbar_looks > 0);
	free(desk);
	qrdecode_destroy(dec);
}

/*
 * What an empty desk costs is the budget: ZBar's pixels over ten seconds
 * of one unchanging scene stay within ten seconds' budget (plus the bucket
 * it may start with), and turns do run.  A scene that changes every frame
 * may add the credit, which fills at the same rate.  Budget 0: no ZBar.
 */
static void test_chain_idle_desk_costs_the_budget(void **state)
{
	(void)state;
	const size_t budget = (size_t)QRDECODE_BUDGET_DEFAULT_KPX * 1000;
	const size_t seconds = 10, frames = seconds * 15, largest = (size_t)VGA_W * VGA_H;
	uint8_t *a = malloc((size_t)VGA_W * VGA_H), *b = malloc((size_t)VGA_W * VGA_H);
	assert_non_null(a);
	assert_non_null(b);
	qrscene_empty(VGA_W, VGA_H, 1, a);
	qrscene_empty(VGA_W, VGA_H, 2, b);
	for (int changing = 0; changing <= 1; changing++) {
		struct qrdecode *dec;
		assert_int_equal(qrdecode_create(&dec), QD_OK);
		int64_t t = 0;
		for (size_t i = 0; i < frames; i++)
			idle_desk(dec, changing && i % 2 ? b : a, VGA_W, VGA_H, 1, &t);
		struct qrdecode_stats st;
		qrdecode_get_stats(dec, &st);
		assert_int_equal(st.images, frames);
		assert_int_equal(st.conflicts, 0);
		print_message("%s scene: ZBar %llu kpx in %zu s (budget %zu kpx/s)\n",
		              changing ? "changing" : "unchanging",
		              (unsigned long long)(st.zbar_pixels / 1000), seconds, budget / 1000);
		assert_true(st.zbar_pixels > budget * seconds / 2);
		assert_true(st.zbar_pixels <=
		            (changing ? 2 : 1) * budget * (seconds + 1) + largest);
		qrdecode_destroy(dec);
	}
	struct qrdecode *dec;
	assert_int_equal(qrdecode_create(&dec), QD_OK);
	assert_int_equal(qrdecode_set_chain(dec, QRDECODE_DECODERS_ALL, 0), QD_OK);
	int64_t t = 0;
	for (size_t i = 0; i < 30; i++)
		idle_desk(dec, i % 2 ? b : a, VGA_W, VGA_H, 1, &t);
	struct qrdecode_stats st;
	qrdecode_get_stats(dec, &st);
	assert_int_equal(st.zbar_pixels, 0);
	/* Bad chains are refused. */
	assert_int_equal(qrdecode_set_chain(dec, 0, 600), QD_ERR_ARG);
	assert_int_equal(qrdecode_set_chain(dec, 4, 600), QD_ERR_ARG);
	assert_int_equal(qrdecode_set_chain(dec, QRDECODE_ZBAR, QRDECODE_BUDGET_MAX_KPX + 1),
	                 QD_ERR_ARG);
	assert_int_equal(qrdecode_set_chain(NULL, QRDECODE_ZBAR, 0), QD_ERR_ARG);
	qrdecode_destroy(dec);
	free(a);
	free(b);
}

/*
 * zxing-cpp's second looks have their own allowance: with ZBar's budget at
 * 0 (ZBar never looks at a camera frame), a phone in dark mode - read by
 * zxing-cpp's inverted look, never by its first - is still read within a
 * burst after an empty desk.  (Before, zxing-cpp's looks were paid from
 * ZBar's budget: at 0 they never ran.)
 */
static void test_chain_zxing_has_its_own_allowance(void **state)
{
	(void)state;
	struct qrdecode *dec;
	assert_int_equal(qrdecode_create(&dec), QD_OK);
	assert_int_equal(qrdecode_set_chain(dec, QRDECODE_DECODERS_ALL, 0), QD_OK);
	uint8_t *desk = malloc((size_t)VGA_W * VGA_H);
	assert_non_null(desk);
	qrscene_empty(VGA_W, VGA_H, 7, desk);
	int64_t t = 0;
	for (unsigned i = 0; i < 2; i++) {
		const char *text = scene_texts[i];
		uint8_t *px = scene_render(text, VGA_W, VGA_H, QRSCENE_SCREEN_DARK, 0, i);
		empty_desk(dec, desk, VGA_W, VGA_H, &t);
		if (!frames_burst(dec, px, VGA_W, VGA_H, text, &t))
			fail_msg("dark-mode image %u: not read within %d frames", i, SCENE_BURST);
		free(px);
	}
	struct qrdecode_stats st;
	qrdecode_get_stats(dec, &st);
	assert_true(st.zxing_looks > 0);
	assert_int_equal(st.zbar_pixels, 0);
	free(desk);
	qrdecode_destroy(dec);
}

/*
 * A look that does not fit its bucket is skipped for that frame, and the
 * next one tried - never waited for.  At 1280 x 720 ZBar's looks are the
 * x0.5 copy, the full frame (921,600 px), then the inverted and the
 * thresholded x0.5 copy (230,400 px each).  With 300 kpx a second, three
 * seconds of an empty desk pay for the x0.5, inverted and thresholded
 * looks; the full look waits for its bucket without holding them up.
 * (Before, the turns stopped at the full look until the bucket covered it,
 * so three seconds saw one ZBar look.)
 */
static void test_chain_skips_a_look_that_does_not_fit(void **state)
{
	(void)state;
	const unsigned w = 1280, h = 720, kpx = 300, seconds = 3;
	struct qrdecode *dec;
	assert_int_equal(qrdecode_create(&dec), QD_OK);
	assert_int_equal(qrdecode_set_chain(dec, QRDECODE_DECODERS_ALL, kpx), QD_OK);
	uint8_t *desk = malloc((size_t)w * h);
	assert_non_null(desk);
	qrscene_empty(w, h, 3, desk);
	int64_t t = 0;
	idle_desk(dec, desk, w, h, seconds * 15, &t);
	struct qrdecode_stats st;
	qrdecode_get_stats(dec, &st);
	print_message("1280x720, %u kpx/s, %u s: ZBar %llu looks, %llu kpx\n", kpx, seconds,
	              (unsigned long long)st.zbar_looks,
	              (unsigned long long)(st.zbar_pixels / 1000));
	assert_true(st.zbar_looks >= 3);
	assert_true(st.zbar_pixels < (size_t)w * h); /* the full look did not run yet */
	assert_true(st.zbar_pixels <= 2 * (size_t)kpx * 1000 * seconds);
	assert_true(st.zxing_looks > 0);
	free(desk);
	qrdecode_destroy(dec);
}

/* A QR symbol of text at (x0, y0), s px a module, dark on light or (inverted) light on dark. */
static void draw_qr(uint8_t *px, unsigned w, unsigned x0, unsigned y0, const char *text, unsigned s,
                    bool inverted)
{
	QRcode *q = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
	assert_non_null(q);
	const unsigned qw = (unsigned)q->width, quiet = 4;
	for (unsigned y = 0; y < (qw + 2 * quiet) * s; y++)
		for (unsigned x = 0; x < (qw + 2 * quiet) * s; x++) {
			unsigned mx = x / s, my = y / s;
			bool dark = mx >= quiet && my >= quiet && mx < qw + quiet &&
			            my < qw + quiet &&
			            (q->data[(my - quiet) * qw + mx - quiet] & 1);
			px[(size_t)(y0 + y) * w + x0 + x] = (dark != inverted) ? 20 : 235;
		}
	QRcode_free(q);
}

/*
 * Never a wrong text: a frame in which the two decoders read different
 * texts reports neither, and the conflict is counted.  Made for real: a
 * PDF417 boarding pass (only zxing-cpp reads PDF417) beside a QR code in
 * dark mode (light modules on black; zxing-cpp 1.4 reads it only in its
 * inverted look, which it does not take once it has read the PDF417, while
 * ZBar reads it in its inverted look).  Each alone is read.
 */
static void test_conflict_reports_neither(void **state)
{
	(void)state;
	const char *bcbp = "M1DESMARAIS/LUC       EABC123 YULFRAAC 0834 326J001A0025 100";
	const char *qr = "BC1:CONFLICT-TEST-0123456789";
	unsigned pw, ph;
	uint8_t *pdf = corpus_frame("grey-pdf417-bcbp.bin", &pw, &ph);
	const unsigned s = 5, side = 45 * s, w = pw + side + 20;
	const unsigned h = ph > side ? ph : side;
	for (int which = 0; which < 3; which++) { /* PDF417 alone, QR alone, both */
		uint8_t *px = malloc((size_t)w * h);
		assert_non_null(px);
		memset(px, 235, (size_t)w * h);
		if (which != 1)
			for (unsigned y = 0; y < ph; y++)
				memcpy(px + (size_t)y * w, pdf + (size_t)y * pw, pw);
		if (which != 0)
			draw_qr(px, w, pw + 20, 0, qr, s, true);
		struct qrdecode *dec;
		assert_int_equal(qrdecode_create(&dec), QD_OK);
		qrdecode_set_formats(dec, QRDECODE_FORMAT_PDF417);
		struct scene_seen seen = {which == 0 ? bcbp : qr, 0, 0, 0};
		int found = -1;
		assert_int_equal(qrdecode_gray(dec, px, w, h, w, scene_on_symbol, &seen, &found),
		                 QD_OK);
		struct qrdecode_stats st;
		qrdecode_get_stats(dec, &st);
		if (which < 2) {
			assert_int_equal(found, 1);
			assert_int_equal(seen.right, 1);
			assert_int_equal(st.conflicts, 0);
		} else {
			assert_int_equal(found, 0);
			assert_int_equal(seen.calls, 0);
			assert_int_equal(st.conflicts, 1);
		}
		qrdecode_destroy(dec);
		free(px);
	}
	free(pdf);
}

/* Structured append: the parts of one text, as separate symbols (4 px a module). */
static uint8_t *render_parts(const char *text, int only, unsigned *w, unsigned *h, int *count)
{
	QRcode_List *list = QRcode_encodeStringStructured(text, 2, QR_ECLEVEL_M, QR_MODE_8, 1);
	assert_non_null(list);
	const unsigned s = 4, m = 4;
	*w = 0;
	*h = 0;
	*count = 0;
	for (QRcode_List *e = list; e != NULL; e = e->next, (*count)++) {
		unsigned side = ((unsigned)e->code->width + 2 * m) * s;
		*w += side;
		*h = side > *h ? side : *h;
	}
	uint8_t *px = malloc((size_t)*w * *h);
	assert_non_null(px);
	memset(px, 255, (size_t)*w * *h);
	unsigned x0 = 0;
	int i = 0;
	for (QRcode_List *e = list; e != NULL; e = e->next, i++) {
		const QRcode *q = e->code;
		const unsigned qw = (unsigned)q->width;
		for (unsigned y = 0; (only < 0 || only == i) && y < qw * s; y++)
			for (unsigned x = 0; x < qw * s; x++)
				if (q->data[(y / s) * qw + x / s] & 1)
					px[(size_t)(y + m * s) * *w + x0 + m * s + x] = 0;
		x0 += (qw + 2 * m) * s;
	}
	QRcode_List_free(list);
	return px;
}

/*
 * A structured-append sequence is one text: delivered joined, once, when
 * every part is in the image; a part alone is never a text, from either
 * decoder (ZBar hands it back as ZBAR_PARTIAL, zxing-cpp as a result with
 * a sequence index).
 */
static void test_structured_append(void **state)
{
	(void)state;
	const char *text = "BC1:STRUCTURED-APPEND-TEST-0123456789-ABCDEFGHIJKLMNOPQRSTUVWXYZ-"
	                   "0123456789-ABCDEFGHIJKLMNOPQRSTUVWXYZ-0123456789";
	for (unsigned chain = 0; chain < 3; chain++) {
		struct qrdecode *dec;
		assert_int_equal(qrdecode_create(&dec), QD_OK);
		if (chain > 0)
			assert_int_equal(qrdecode_set_chain(dec, chain, 0), QD_OK);
		unsigned w, h;
		int parts;
		uint8_t *px = render_parts(text, -1, &w, &h, &parts);
		assert_true(parts >= 2);
		struct scene_seen s = {text, 0, 0, 0};
		int found = -1;
		assert_int_equal(qrdecode_gray(dec, px, w, h, w, scene_on_symbol, &s, &found),
		                 QD_OK);
		assert_int_equal(found, 1);
		assert_int_equal(s.right, 1);
		assert_int_equal(s.wrong, 0);
		free(px);
		for (int only = 0; only < parts; only++) {
			px = render_parts(text, only, &w, &h, &parts);
			expect_nothing(dec, px, w, h, w);
			free(px);
		}
		qrdecode_destroy(dec);
	}
}

/* A GREY frame from the camera fuzz corpus (fuzz_camera.c's 6-byte header, then the rows). */
static uint8_t *corpus_frame(const char *name, unsigned *w, unsigned *h)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", QRDESK_CAMERA_CORPUS, name);
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	uint8_t hdr[6];
	assert_int_equal(fread(hdr, 1, sizeof(hdr), f), sizeof(hdr));
	assert_int_equal(hdr[0], 0); /* GREY */
	*w = 1u + (hdr[1] | (unsigned)hdr[2] << 8);
	*h = 1u + (hdr[3] | (unsigned)hdr[4] << 8);
	uint8_t *px = malloc((size_t)*w * *h);
	assert_non_null(px);
	assert_int_equal(fread(px, 1, (size_t)*w * *h, f), (size_t)*w * *h);
	fclose(f);
	return px;
}

/*
 * Boarding passes: PDF417 and Aztec are read only when asked for
 * (qrdecode_set_formats), by zxing-cpp; QR stays on whatever is asked.
 */
static void test_formats(void **state)
{
	(void)state;
	const char *bcbp = "M1DESMARAIS/LUC       EABC123 YULFRAAC 0834 326J001A0025 100";
	static const struct {
		const char *file;
		unsigned format;
	} symbols[] = {{"grey-pdf417-bcbp.bin", QRDECODE_FORMAT_PDF417},
	               {"grey-aztec-bcbp.bin", QRDECODE_FORMAT_AZTEC}};
	for (size_t i = 0; i < sizeof(symbols) / sizeof(symbols[0]); i++) {
		unsigned w, h;
		uint8_t *px = corpus_frame(symbols[i].file, &w, &h);
		struct qrdecode *dec;
		assert_int_equal(qrdecode_create(&dec), QD_OK);
		expect_nothing(dec, px, w, h, w); /* QR only, by default */
		qrdecode_set_formats(dec, QRDECODE_FORMATS_ALL & ~symbols[i].format);
		expect_nothing(dec, px, w, h, w);
		qrdecode_set_formats(dec, symbols[i].format);
		struct scene_seen s = {bcbp, 0, 0, 0};
		int found = -1;
		assert_int_equal(qrdecode_gray(dec, px, w, h, w, scene_on_symbol, &s, &found),
		                 QD_OK);
		assert_int_equal(found, 1);
		assert_int_equal(s.right, 1);
		/* The same on camera frames. */
		s = (struct scene_seen){bcbp, 0, 0, 0};
		assert_int_equal(
		        qrdecode_frame(dec, px, w, h, w, 1000, scene_on_symbol, &s, &found), QD_OK);
		assert_int_equal(s.right, 1);
		/* ZBar alone reads QR only. */
		qrdecode_set_passes(dec, QRDECODE_PASSES_ALL, SIZE_MAX);
		expect_nothing(dec, px, w, h, w);
		qrdecode_destroy(dec);
		free(px);
	}
	unsigned w, h;
	uint8_t *px = corpus_frame("grey-qr.bin", &w, &h);
	struct qrdecode *dec;
	assert_int_equal(qrdecode_create(&dec), QD_OK);
	qrdecode_set_formats(dec, QRDECODE_FORMAT_PDF417);
	struct scene_seen s = {"BC1:FUZZ", 0, 0, 0};
	int found = -1;
	assert_int_equal(qrdecode_gray(dec, px, w, h, w, scene_on_symbol, &s, &found), QD_OK);
	assert_int_equal(s.right, 1);
	qrdecode_destroy(dec);
	free(px);
}

/*
 * The kinds added for the chain - strong perspective, 2.5 and 2 px a
 * module, dots, cloth, faint ink - at their mild levels (0 and 1): at
 * least MILD_SHARE_MIN of them read within a burst, never a wrong text.
 */
#define MILD_IMAGES    4
#define MILD_SHARE_MIN 0.75

static void test_new_kinds_mild_levels(void **state)
{
	(void)state;
	struct qrdecode *dec;
	assert_int_equal(qrdecode_create(&dec), QD_OK);
	const unsigned images = scene_images(MILD_IMAGES);
	for (int k = QRSCENE_STEEP; k < QRSCENE_KINDS; k++) {
		unsigned decoded = 0, total = 0;
		for (int level = 0; level <= 1; level++)
			for (unsigned i = 0; i < images; i++) {
				const char *text = scene_texts[i % SCENE_CARDS];
				uint8_t *px = scene_render(text, VGA_W, VGA_H, (enum qrscene_kind)k,
				                           level, i);
				decoded += scene_decode_burst(dec, px, VGA_W, VGA_H, text);
				total++;
				free(px);
			}
		print_message("%-13s mild levels: %u/%u decoded\n",
		              qrscene_kind_name((enum qrscene_kind)k), decoded, total);
		if ((double)decoded / total < MILD_SHARE_MIN)
			fail_msg("%s: %u/%u decoded", qrscene_kind_name((enum qrscene_kind)k),
			         decoded, total);
	}
	qrdecode_destroy(dec);
}

/*
 * Soft focus (blur level 2: Gaussian sigma 0.45 module) is what the sharpened
 * looks are for: ZBar's looks and zxing-cpp's before them read one of these
 * four images (the decode-quality bench's cell); with them the still reads at
 * least three of four (all of them today), never a wrong text.
 */
static void test_sharpened_looks_read_soft_focus(void **state)
{
	(void)state;
	struct qrdecode *dec;
	assert_int_equal(qrdecode_create(&dec), QD_OK);
	const unsigned images = scene_images(MILD_IMAGES);
	unsigned decoded = 0;
	for (unsigned i = 0; i < images; i++) {
		const char *text = scene_texts[i % SCENE_CARDS];
		uint8_t *px = scene_render(text, VGA_W, VGA_H, QRSCENE_BLUR, 2, i);
		decoded += scene_decode_burst(dec, px, VGA_W, VGA_H, text);
		free(px);
	}
	print_message("blur level 2: %u/%u decoded\n", decoded, images);
	assert_true(decoded >= images - images / 4);
	qrdecode_destroy(dec);
}

/*
 * A card no still of the chain reads (text drawn as kind at level, image index) shown to a
 * chain fed as a camera feeds it: an idle desk and a scene that changes every frame take no
 * look at rest; the desk comes to rest (*before: the stats then, at most one look of each
 * kind, as nothing tells an empty desk from a blurred card); the card, read within its
 * burst (*after: the stats then), with no conflict.
 */
static void card_at_rest(const char *text, enum qrscene_kind kind, int level, unsigned image,
                         unsigned w, unsigned h, struct qrdecode_stats *before,
                         struct qrdecode_stats *after)
{
	uint8_t *px = scene_render(text, w, h, kind, level, image);
	struct qrdecode *dec;
	assert_int_equal(qrdecode_create(&dec), QD_OK);
	expect_nothing(dec, px, w, h, w);
	uint8_t *desk = malloc((size_t)w * h), *other = malloc((size_t)w * h);
	assert_non_null(desk);
	assert_non_null(other);
	qrscene_empty(w, h, 7, desk);
	qrscene_empty(w, h, 8, other);
	int64_t t = 0;
	empty_desk(dec, desk, w, h, &t);
	idle_desk(dec, desk, w, h, 10, &t);
	for (unsigned i = 0; i < 10; i++)
		idle_desk(dec, i % 2 ? desk : other, w, h, 1, &t);
	qrdecode_get_stats(dec, before);
	assert_int_equal(before->deblur_looks, 0);
	assert_int_equal(before->grey_looks, 0);
	empty_desk(dec, desk, w, h, &t);
	qrdecode_get_stats(dec, before);
	assert_true(before->deblur_looks <= 1);
	assert_true(before->grey_looks <= 1);
	assert_true(frames_burst(dec, px, w, h, text, &t));
	qrdecode_get_stats(dec, after);
	assert_int_equal(after->conflicts, 0);
	free(other);
	free(desk);
	free(px);
	qrdecode_destroy(dec);
}

/*
 * The deblur look (Richardson-Lucy, then x2) reads a card no other look of
 * either decoder reads - heavy sensor noise, level 4 (image 4 of the bench's
 * choosing set, not of the set it reports on) - once the card has come to
 * rest: the frame after the new scene.  It costs some sixty first looks, so
 * a scene that changes every frame, and an idle desk, never take it.
 */
static void test_deblur_look_on_a_card_at_rest(void **state)
{
	(void)state;
	struct qrdecode_stats before, after;
	card_at_rest(scene_texts[0], QRSCENE_NOISE, 4, 4, VGA_W, VGA_H, &before, &after);
	assert_int_equal(after.deblur_looks, before.deblur_looks + 1);
	assert_int_equal(after.grey_reads, before.grey_reads); /* the deblur look read it */
}

/*
 * The grey look (drivers/greyread.c: modules sampled on the grey image, the
 * symbol drawn again for zxing-cpp's pure reader) reads a card no other look
 * reads - focus blur 0.6 module at 640 x 480, image 4 of the choosing set -
 * on the frame after its new scene, once the deblur look has missed it.  An
 * idle desk and a scene that changes every frame never take it.
 */
static void test_grey_look_on_a_card_at_rest(void **state)
{
	(void)state;
	struct qrdecode_stats before, after;
	card_at_rest(scene_texts[1], QRSCENE_BLUR, 3, 4, VGA_W, VGA_H, &before, &after);
	assert_int_equal(after.deblur_looks, before.deblur_looks + 1); /* taken first, and missed */
	assert_int_equal(after.grey_looks, before.grey_looks + 1);
	assert_int_equal(after.grey_reads, before.grey_reads + 1); /* and it is what read it */
	assert_int_equal(after.sharp_reads, before.sharp_reads);   /* on the frame */
}

/*
 * The grey look's second pass (the same look on a sharpened copy, x0.5 first at 1280 x 720)
 * reads focus blur of 0.75 module - image 4 of the choosing set at both sizes - which the
 * deblur look and the grey look on the frame itself miss; no conflict, no other look taken.
 */
static void test_grey_look_sharpened_reads_heavy_blur(void **state)
{
	(void)state;
	static const unsigned sizes[][2] = {{VGA_W, VGA_H}, {1280, 720}};
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		struct qrdecode_stats before, after;
		card_at_rest(scene_texts[2], QRSCENE_BLUR, 4, 4, sizes[i][0], sizes[i][1], &before,
		             &after);
		assert_int_equal(after.deblur_looks, before.deblur_looks + 1);
		assert_int_equal(after.grey_looks, before.grey_looks + 1);
		assert_int_equal(after.grey_reads, before.grey_reads + 1);
		assert_int_equal(after.sharp_reads, before.sharp_reads + 1);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_large_frames_take_every_look),
	        cmocka_unit_test(test_chain_second_looks_on_camera_frames),
	        cmocka_unit_test(test_chain_idle_desk_costs_the_budget),
	        cmocka_unit_test(test_chain_zxing_has_its_own_allowance),
	        cmocka_unit_test(test_chain_skips_a_look_that_does_not_fit),
	        cmocka_unit_test(test_conflict_reports_neither),
	        cmocka_unit_test(test_structured_append),
	        cmocka_unit_test(test_formats),
	        cmocka_unit_test(test_new_kinds_mild_levels),
	        cmocka_unit_test(test_sharpened_looks_read_soft_focus),
	        cmocka_unit_test(test_deblur_look_on_a_card_at_rest),
	        cmocka_unit_test(test_grey_look_on_a_card_at_rest),
	        cmocka_unit_test(test_grey_look_sharpened_reads_heavy_blur),
	};
	return cmocka_run_group_tests(tests, scene_cards_setup, scene_cards_teardown);
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_qrdecode.c - the camera path's decoder (drivers/qrdecode.c) on the
 * decode-quality test set (bench/qrscene.c): real cards signed by the
 * issuer code, rendered as a desk camera sees them.
 *
 * The mild levels (0 and 1) of every degradation must decode at least at a
 * stated share - set from bench/decode_quality.c's figures with a margin
 * (docs/decode.md), never timed - and no image may ever yield a text that
 * is not its card's.  Then the edges: tiny, odd and huge frames, padded
 * rows, flat frames, and what each second look is for (a pass switched off
 * must lose exactly the images it exists for).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qrdecode.h"
#include "qrscene.h"
#include "scene_cards.h"
#include "testutil.h"

#define IMAGES 4 /* per degradation and mild level (natively: scene_images) */
#define VGA_W  640
#define VGA_H  480
#define HD_W   1280
#define HD_H   720
#define PAD    13 /* stride - width in the padded-rows test */

/* Least share (of IMAGES x 2 mild levels) each degradation must decode at 640 x 480:
 * bench/decode_quality.c measured 92 % (perspective, occlusion) to 100 % (the rest). */
#define MILD_SHARE_MIN 0.75

/* ---- The test set ------------------------------------------------------- */

static void test_texts_and_images_repeat(void **state)
{
	(void)state;
	char *dir = tu_mkdtemp();
	static char again[SCENE_CARDS][QRSCENE_TEXT_MAX];
	struct qd_errmsg why = {{0}};
	assert_int_equal(qrscene_cards(dir, SCENE_CARDS, again, &why), QD_OK);
	for (int i = 0; i < SCENE_CARDS; i++) {
		assert_string_equal(scene_texts[i], again[i]);
		assert_memory_equal(scene_texts[i], "BC1:", 4);
		for (int j = 0; j < i; j++)
			assert_string_not_equal(scene_texts[i], scene_texts[j]);
	}
	tu_rmtree(dir);
	free(dir);
	uint8_t *a = scene_render(scene_texts[0], VGA_W, VGA_H, QRSCENE_DESK_MIX, 2, 7);
	uint8_t *b = scene_render(scene_texts[0], VGA_W, VGA_H, QRSCENE_DESK_MIX, 2, 7);
	uint8_t *c = scene_render(scene_texts[0], VGA_W, VGA_H, QRSCENE_DESK_MIX, 2, 8);
	assert_memory_equal(a, b, (size_t)VGA_W * VGA_H);
	assert_true(memcmp(a, c, (size_t)VGA_W * VGA_H) != 0);
	free(a);
	free(b);
	free(c);
}

static void test_mild_levels_decode(void **state)
{
	(void)state;
	struct qrdecode *dec;
	assert_int_equal(qrdecode_create(&dec), QD_OK);
	/* The kinds up to desk-mix; the chain's own (steep ... faint): test_decode_chain.c. */
	const unsigned images = scene_images(IMAGES);
	for (int k = 0; k <= QRSCENE_DESK_MIX; k++) {
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
		double share = (double)decoded / total;
		print_message("%-13s mild levels: %u/%u decoded\n",
		              qrscene_kind_name((enum qrscene_kind)k), decoded, total);
		if (share < MILD_SHARE_MIN)
			fail_msg("%s: %.0f %% decoded, want >= %.0f %%",
			         qrscene_kind_name((enum qrscene_kind)k), 100 * share,
			         100 * MILD_SHARE_MIN);
	}
	qrdecode_destroy(dec);
}

/* ---- What each second look is for --------------------------------------- */

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

static void test_invert_pass_reads_dark_mode(void **state)
{
	(void)state;
	const char *text = scene_texts[1];
	for (int f = 0; f < 2; f++) {
		unsigned w = f ? HD_W : VGA_W, h = f ? HD_H : VGA_H;
		uint8_t *px = scene_render(text, w, h, QRSCENE_SCREEN_DARK, 0, 0);
		assert_false(decodes_with(0, 0, px, w, h, text));
		assert_false(decodes_with(QRDECODE_PASSES_ALL & ~QRDECODE_PASS_INVERT, SIZE_MAX, px,
		                          w, h, text));
		assert_true(decodes_with(QRDECODE_PASS_INVERT, SIZE_MAX, px, w, h, text));
		/* The shipped budget at 1280 x 720 covers a few looks a frame, in turn: the burst
		 * meets the invert pass. */
		struct qrdecode *dec;
		assert_int_equal(qrdecode_create(&dec), QD_OK);
		assert_true(scene_decode_burst(dec, px, w, h, text));
		qrdecode_destroy(dec);
		free(px);
	}
}

static void test_half_pass_reads_noisy_hd(void **state)
{
	(void)state;
	const char *text = scene_texts[2];
	uint8_t *px = scene_render(text, HD_W, HD_H, QRSCENE_NOISE, 3, 0);
	assert_false(decodes_with(0, 0, px, HD_W, HD_H, text));
	assert_true(decodes_with(QRDECODE_PASS_HALF, SIZE_MAX, px, HD_W, HD_H, text));
	free(px);
}

/* A budget under the first look's own pixels leaves the first look only. */
static void test_budget_bounds_passes(void **state)
{
	(void)state;
	const char *text = scene_texts[3];
	uint8_t *px = scene_render(text, VGA_W, VGA_H, QRSCENE_SCREEN_DARK, 1, 0);
	assert_false(
	        decodes_with(QRDECODE_PASSES_ALL, (size_t)VGA_W * VGA_H, px, VGA_W, VGA_H, text));
	assert_true(decodes_with(QRDECODE_PASSES_ALL, SIZE_MAX, px, VGA_W, VGA_H, text));
	free(px);
}

/* ---- Edges --------------------------------------------------------------- */

static void expect_nothing(struct qrdecode *dec, const uint8_t *px, unsigned w, unsigned h,
                           size_t stride)
{
	struct scene_seen s = {NULL, 0, 0, 0};
	int found = -1;
	assert_int_equal(qrdecode_gray(dec, px, w, h, stride, scene_on_symbol, &s, &found), QD_OK);
	assert_int_equal(found, 0);
	assert_int_equal(s.calls, 0);
}

static void test_tiny_and_odd_frames(void **state)
{
	(void)state;
	static const unsigned dims[][2] = {{1, 1},   {1, 2},   {2, 1},   {2, 2},     {3, 3},
	                                   {1, 777}, {777, 1}, {17, 13}, {641, 479}, {3, 1001}};
	struct qrdecode *dec;
	assert_int_equal(qrdecode_create(&dec), QD_OK);
	uint8_t *px = malloc(1001 * 1001);
	assert_non_null(px);
	uint32_t seed = 12345;
	for (size_t i = 0; i < 1001 * 1001; i++) {
		seed = seed * 1103515245u + 12345u;
		px[i] = (uint8_t)(seed >> 16);
	}
	for (size_t d = 0; d < sizeof(dims) / sizeof(dims[0]); d++) {
		/* Random bytes: nothing real to find, and nothing may be read past the end. */
		size_t n = (size_t)dims[d][0] * dims[d][1];
		uint8_t *exact = malloc(n);
		assert_non_null(exact);
		memcpy(exact, px, n);
		struct scene_seen s = {NULL, 0, 0, 0};
		int found = -1;
		assert_int_equal(qrdecode_gray(dec, exact, dims[d][0], dims[d][1], dims[d][0],
		                               scene_on_symbol, &s, &found),
		                 QD_OK);
		assert_int_equal((unsigned)found, s.calls);
		free(exact);
	}
	free(px);
	qrdecode_destroy(dec);
}

static void test_flat_frames(void **state)
{
	(void)state;
	struct qrdecode *dec;
	assert_int_equal(qrdecode_create(&dec), QD_OK);
	uint8_t *px = malloc((size_t)HD_W * HD_H);
	assert_non_null(px);
	for (int v = 0; v <= 255; v += 255) {
		memset(px, v, (size_t)HD_W * HD_H);
		expect_nothing(dec, px, HD_W, HD_H, HD_W);
		expect_nothing(dec, px, VGA_W, VGA_H, VGA_W);
	}
	free(px);
	qrdecode_destroy(dec);
}

/* Over the size where second looks stop (4K UHD), and ZBar still runs once. */
static void test_huge_frames(void **state)
{
	(void)state;
	struct qrdecode *dec;
	assert_int_equal(qrdecode_create(&dec), QD_OK);
	qrdecode_set_passes(dec, QRDECODE_PASSES_ALL, SIZE_MAX);
	const unsigned w = 4000, h = 2200;
	uint8_t *px = malloc((size_t)w * h);
	assert_non_null(px);
	memset(px, 255, (size_t)w * h);
	/* The card in the top-left 1280 x 720, on white. */
	uint8_t *card = scene_render(scene_texts[0], HD_W, HD_H, QRSCENE_ROTATION, 1, 0);
	for (unsigned y = 0; y < HD_H; y++)
		memcpy(px + (size_t)y * w, card + (size_t)y * HD_W, HD_W);
	struct scene_seen s = {scene_texts[0], 0, 0, 0};
	int found = -1;
	assert_int_equal(qrdecode_gray(dec, px, w, h, w, scene_on_symbol, &s, &found), QD_OK);
	assert_int_equal(found, 1);
	assert_int_equal(s.right, 1);
	free(card);
	free(px);
	qrdecode_destroy(dec);
}

static void test_padded_rows(void **state)
{
	(void)state;
	const char *text = scene_texts[0];
	uint8_t *px = scene_render(text, VGA_W, VGA_H, QRSCENE_SCREEN_DARK, 1, 3);
	const size_t stride = VGA_W + PAD;
	uint8_t *padded = malloc(stride * VGA_H);
	assert_non_null(padded);
	/* Stripes in the padding: read as pixels they would spoil the finder patterns. */
	for (size_t i = 0; i < stride * VGA_H; i++)
		padded[i] = (i / 2) % 2 ? 0 : 255;
	for (unsigned y = 0; y < VGA_H; y++)
		memcpy(padded + y * stride, px + (size_t)y * VGA_W, VGA_W);
	struct qrdecode *dec;
	assert_int_equal(qrdecode_create(&dec), QD_OK);
	struct scene_seen s = {text, 0, 0, 0};
	int found = -1;
	assert_int_equal(
	        qrdecode_gray(dec, padded, VGA_W, VGA_H, stride, scene_on_symbol, &s, &found),
	        QD_OK);
	assert_int_equal(found, 1);
	assert_int_equal(s.right, 1);
	assert_int_equal(s.wrong, 0);
	/* Bad arguments are refused before any pixel is read. */
	assert_int_equal(qrdecode_gray(dec, padded, VGA_W, VGA_H, VGA_W - 1, NULL, NULL, &found),
	                 QD_ERR_ARG);
	assert_int_equal(found, 0);
	qrdecode_set_passes(NULL, 0, 0); /* harmless */
	free(padded);
	free(px);
	qrdecode_destroy(dec);
}

/* Frames with no code through every pass: nothing found, never a text. */
static void test_empty_frames(void **state)
{
	(void)state;
	struct qrdecode *dec;
	assert_int_equal(qrdecode_create(&dec), QD_OK);
	qrdecode_set_passes(dec, QRDECODE_PASSES_ALL, SIZE_MAX);
	uint8_t *px = malloc((size_t)HD_W * HD_H);
	assert_non_null(px);
	for (unsigned i = 0; i < scene_images(3); i++) {
		qrscene_empty(VGA_W, VGA_H, i, px);
		expect_nothing(dec, px, VGA_W, VGA_H, VGA_W);
		qrscene_empty(HD_W, HD_H, i, px);
		expect_nothing(dec, px, HD_W, HD_H, HD_W);
	}
	free(px);
	qrdecode_destroy(dec);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_texts_and_images_repeat),
	        cmocka_unit_test(test_mild_levels_decode),
	        cmocka_unit_test(test_invert_pass_reads_dark_mode),
	        cmocka_unit_test(test_half_pass_reads_noisy_hd),
	        cmocka_unit_test(test_budget_bounds_passes),
	        cmocka_unit_test(test_tiny_and_odd_frames),
	        cmocka_unit_test(test_flat_frames),
	        cmocka_unit_test(test_huge_frames),
	        cmocka_unit_test(test_padded_rows),
	        cmocka_unit_test(test_empty_frames),
	};
	return cmocka_run_group_tests(tests, scene_cards_setup, scene_cards_teardown);
}

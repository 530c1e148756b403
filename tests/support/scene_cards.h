/* SPDX-License-Identifier: Apache-2.0 */
/*
 * scene_cards.h - what the decoder tests share: real signed cards made once per
 * group (bench/qrscene.c), rendered into degraded scenes, offered to a decoder
 * for a burst of frames with every symbol it reports checked against the card.
 */
#ifndef QRDESK_TEST_SCENE_CARDS_H
#define QRDESK_TEST_SCENE_CARDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "qrdecode.h"
#include "qrscene.h"

#define SCENE_CARDS 4
#define SCENE_BURST 3 /* frames a card stays in view (100 ms at 30 fps) */

/* The group's cards: made by scene_cards_setup, removed by scene_cards_teardown. */
extern char scene_texts[SCENE_CARDS][QRSCENE_TEXT_MAX];

int scene_cards_setup(void **state);
int scene_cards_teardown(void **state);

/* What a decoder reported: the wanted text (NULL: nothing should be found). */
struct scene_seen {
	const char *want;
	unsigned right, wrong, calls;
};
void scene_on_symbol(void *arg, const char *data, size_t len);

/* A w x h scene of text (malloc'd; fails the test if it cannot be made). */
uint8_t *scene_render(const char *text, unsigned w, unsigned h, enum qrscene_kind kind, int level,
                      unsigned index);

/*
 * How many images per case a test renders: native, or 1 under emulation
 * (QRDESK_TEST_EMULATED set: scripts/arm64.sh's qemu-user pass, where a scene
 * costs 50 times its native time).  The full set runs natively in the release,
 * clang and ASan passes; under emulation every case still runs, on one image.
 */
unsigned scene_images(unsigned native);

/* Offer px for up to SCENE_BURST frames; true if want came back, and never a wrong text. */
bool scene_decode_burst(struct qrdecode *dec, const uint8_t *px, unsigned w, unsigned h,
                        const char *want);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * card_scene.h - camera pictures of real card codes, for the camera tests
 * and benchmark: cards signed by a fresh trust domain (the back office's
 * own domain_sign_card), rendered by its qrpng_write, then placed, shrunk,
 * on a desk-grey canvas of the camera's size.
 */
#ifndef QRDESK_CARD_SCENE_H
#define QRDESK_CARD_SCENE_H

#include <stddef.h>
#include <stdint.h>

#include "qrdesk/error.h"

#define CARD_SCENE_TEXT_MAX 2048

struct card_image {
	char text[CARD_SCENE_TEXT_MAX]; /* the code text, "BC1:..." */
	uint8_t *px;                    /* grey, as printed: 8 px a module */
	unsigned w, h;
};

/* n cards (different clearance numbers) signed in a domain made under dir. */
enum qd_err card_scene_cards(const char *dir, struct card_image *cards, size_t n,
                             struct qd_errmsg *why);
void card_scene_free(struct card_image *cards, size_t n);

/*
 * A width x height canvas (malloc'd): an uneven desk grey, and card (may be
 * NULL) shrunk by an integer factor so it fills at most `fill` percent of
 * the shorter side, its centre at (cx, cy) percent of the canvas.
 */
uint8_t *card_scene_render(unsigned width, unsigned height, const struct card_image *card,
                           unsigned fill, unsigned cx, unsigned cy);

#endif

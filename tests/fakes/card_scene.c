/* SPDX-License-Identifier: Apache-2.0 */
/* card_scene.c - camera pictures of real card codes (see card_scene.h). */
#include "card_scene.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain.h"
#include "qrdecode.h"
#include "qrpng.h"

#define DAY 86400

enum qd_err card_scene_cards(const char *dir, struct card_image *cards, size_t n,
                             struct qd_errmsg *why)
{
	static struct domain d; /* large */
	const int64_t now = 1795000000;
	char sub[2048];
	snprintf(sub, sizeof(sub), "%s/domain", dir);
	enum qd_err rc = domain_init(sub, now - 30 * DAY, &d, why);
	if (rc != QD_OK)
		return rc;
	for (size_t i = 0; i < n; i++) {
		struct credential cred = {.issued_at = now - 3600, .expires_at = now + 180 * DAY};
		struct clearance_claims *cl = &cred.clearance;
		snprintf(cl->clearance_no, sizeof(cl->clearance_no), "26110%05u",
		         (unsigned)(i % 10000) + 1);
		snprintf(cl->passport_no, sizeof(cl->passport_no), "A%08u",
		         12345678u + (unsigned)(i % 1000));
		snprintf(cl->name, sizeof(cl->name), "%s",
		         i % 2 ? "MD ABDUR RAHIM" : "RAHIMA KHATUN");
		(void)credential_date_parse("1994-03-12", &cl->birth_days);
		cl->sex = i % 2 ? 'M' : 'F';
		snprintf(cl->destination, sizeof(cl->destination), "KW");
		snprintf(cl->category, sizeof(cl->category), "DW");
		snprintf(cl->employer, sizeof(cl->employer), "AL FAHAD TRADING CO");
		snprintf(cl->agency_licence, sizeof(cl->agency_licence), "RL-1234");
		snprintf(cl->bmet_reg_no, sizeof(cl->bmet_reg_no), "BMET1122%04u",
		         (unsigned)(i % 10000));
		cl->pdo_completed = true;
		int index = domain_pick_key(&d, KEY_ROLE_ISSUER, 0, cred.issued_at);
		if (index < 0) {
			qd_errmsg_set(why, "no issuer key");
			return QD_ERR_NOT_FOUND;
		}
		size_t cose_len;
		rc = domain_sign_card(&d, (size_t)index, &cred, cards[i].text,
		                      sizeof(cards[i].text), &cose_len, why);
		if (rc != QD_OK)
			return rc;
		char png[2100];
		snprintf(png, sizeof(png), "%s/card%zu.png", dir, i);
		int version = 0;
		rc = qrpng_write(cards[i].text, png, &version, why);
		if (rc == QD_OK)
			rc = image_load_gray(png, &cards[i].px, &cards[i].w, &cards[i].h, why);
		if (rc != QD_OK)
			return rc;
	}
	return QD_OK;
}

void card_scene_free(struct card_image *cards, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(cards[i].px);
		cards[i].px = NULL;
	}
}

uint8_t *card_scene_render(unsigned width, unsigned height, const struct card_image *card,
                           unsigned fill, unsigned cx, unsigned cy)
{
	uint8_t *out = malloc((size_t)width * height);
	if (out == NULL)
		return NULL;
	/* A desk under a lamp: brighter in the middle, never flat. */
	for (unsigned y = 0; y < height; y++)
		for (unsigned x = 0; x < width; x++) {
			int dx = (int)x - (int)width / 2, dy = (int)y - (int)height / 2;
			int v = 150 - (dx * dx + dy * dy) / (int)(width * 8) +
			        (int)((x * 7 + y * 13) % 5);
			out[(size_t)y * width + x] = (uint8_t)(v < 40 ? 40 : v);
		}
	if (card == NULL)
		return out;
	unsigned side = width < height ? width : height;
	unsigned limit = side * fill / 100;
	unsigned shrink = 1;
	while (card->w / shrink > limit || card->h / shrink > limit)
		shrink++;
	unsigned cw = card->w / shrink, ch = card->h / shrink;
	long x0 = (long)width * cx / 100 - cw / 2, y0 = (long)height * cy / 100 - ch / 2;
	for (unsigned y = 0; y < ch; y++) {
		for (unsigned x = 0; x < cw; x++) {
			long ox = x0 + x, oy = y0 + y;
			if (ox < 0 || oy < 0 || ox >= (long)width || oy >= (long)height)
				continue;
			unsigned sum = 0; /* a box filter: what a lens and sensor do to edges */
			for (unsigned j = 0; j < shrink; j++)
				for (unsigned i = 0; i < shrink; i++)
					sum += card->px[(size_t)(y * shrink + j) * card->w +
					                x * shrink + i];
			/* Printed on paper under the same lamp: white is not 255. */
			unsigned v = sum / (shrink * shrink);
			out[(size_t)oy * width + (size_t)ox] = (uint8_t)(30 + v * 190 / 255);
		}
	}
	return out;
}

/* SPDX-License-Identifier: Apache-2.0 */
#include "scene_cards.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

char scene_texts[SCENE_CARDS][QRSCENE_TEXT_MAX];
static char *scene_dir;

int scene_cards_setup(void **state)
{
	(void)state;
	scene_dir = tu_mkdtemp();
	struct qd_errmsg why = {{0}};
	if (qrscene_cards(scene_dir, SCENE_CARDS, scene_texts, &why) != QD_OK) {
		fprintf(stderr, "qrscene_cards: %s\n", why.text);
		return -1;
	}
	return 0;
}

int scene_cards_teardown(void **state)
{
	(void)state;
	tu_rmtree(scene_dir);
	free(scene_dir);
	scene_dir = NULL;
	return 0;
}

void scene_on_symbol(void *arg, const char *data, size_t len)
{
	struct scene_seen *s = arg;
	s->calls++;
	if (s->want != NULL && strlen(s->want) == len && memcmp(s->want, data, len) == 0)
		s->right++;
	else
		s->wrong++;
}

unsigned scene_images(unsigned native)
{
	const char *emulated = getenv("QRDESK_TEST_EMULATED");
	return emulated != NULL && *emulated != '\0' && native > 1 ? 1 : native;
}

uint8_t *scene_render(const char *text, unsigned w, unsigned h, enum qrscene_kind kind, int level,
                      unsigned index)
{
	uint8_t *px = malloc((size_t)w * h);
	assert_non_null(px);
	struct qd_errmsg why = {{0}};
	if (qrscene_render(text, w, h, kind, level, index, px, &why) != QD_OK)
		fail_msg("qrscene_render: %s", why.text);
	return px;
}

bool scene_decode_burst(struct qrdecode *dec, const uint8_t *px, unsigned w, unsigned h,
                        const char *want)
{
	struct scene_seen s = {want, 0, 0, 0};
	for (int b = 0; b < SCENE_BURST && s.right == 0; b++) {
		int found = -1;
		assert_int_equal(qrdecode_gray(dec, px, w, h, w, scene_on_symbol, &s, &found),
		                 QD_OK);
		assert_int_equal((unsigned)found, s.calls);
		s.calls = 0;
	}
	assert_int_equal(s.wrong, 0);
	return s.right > 0;
}

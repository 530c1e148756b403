/* SPDX-License-Identifier: Apache-2.0 */
/*
 * decode_quality.c - how often the camera path's decoder reads a card, per
 * degradation and level, and what a frame costs.
 *
 * The test set is bench/qrscene.c's: real cards signed by the issuer code,
 * rendered as a desk camera sees them and degraded by one kind at levels
 * 0..4; the same images on every run.  Each image is decoded once per
 * decoder configuration (ZBar alone, ZBar plus one pass, ZBar with the
 * looks it shipped with before the chain, zxing-cpp alone, the chain as
 * shipped), so the columns compare like with like.  The chain is fed as a
 * camera feeds it (qrdecode_frame): frames --fps apart, and before each
 * card --idle frames of an empty desk, so ZBar's turns stand where an idle
 * desk leaves them; the others as stills (qrdecode_gray).  A decoded text
 * that is not the card's is counted as wrong (and makes the exit status 1:
 * it must never happen).  Then frames without a code - the camera's usual
 * frame - are timed per configuration, the chain's --fps apart.  Times are
 * this thread's CPU time (one core), not wall time.
 *
 * Prints Markdown tables (docs/performance.md, "Decode quality"); asserts
 * no figure.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "qrdecode.h"
#include "qrscene.h"

#define CARDS_MAX     16
#define CONFIGS_MAX   12
#define FRAMES_MAX    4
#define EMPTY_REPEATS 5 /* runs of --empty frames; the least mean and max are reported */

enum mode {
	ZBAR,   /* ZBar alone with these passes and budget (qrdecode_set_passes) */
	ZXING,  /* zxing-cpp alone */
	SHIPPED /* the chain as qrdecode_create sets it, fed as camera frames */
};

struct config {
	const char *name;
	enum mode mode;
	unsigned passes;
	size_t budget_pixels;
};

/* ZBar's looks as shipped before the chain (zbdecode.c's defaults). */
#define ZBAR_LOOKS_PASSES (QRDECODE_PASS_HALF | QRDECODE_PASS_INVERT | QRDECODE_PASS_ADAPTIVE)
#define ZBAR_LOOKS_BUDGET (1200u * 1000u)

static const struct config all_configs[] = {
        {"zbar", ZBAR, 0, 0},
        {"+half", ZBAR, QRDECODE_PASS_HALF, SIZE_MAX},
        {"+invert", ZBAR, QRDECODE_PASS_INVERT, SIZE_MAX},
        {"+adaptive", ZBAR, QRDECODE_PASS_ADAPTIVE, SIZE_MAX},
        {"+stretch", ZBAR, QRDECODE_PASS_STRETCH, SIZE_MAX},
        {"+sharpen", ZBAR, QRDECODE_PASS_SHARPEN, SIZE_MAX},
        {"all", ZBAR, QRDECODE_PASSES_ALL, SIZE_MAX},
        {"zbar-looks", ZBAR, ZBAR_LOOKS_PASSES, ZBAR_LOOKS_BUDGET},
        {"zxing", ZXING, 0, 0},
        {"shipped", SHIPPED, 0, 0},
};
#define ALL_CONFIGS (sizeof(all_configs) / sizeof(all_configs[0]))

struct frame {
	unsigned w, h;
};

struct result {
	unsigned decoded, wrong;
	double cpu_ms;
};

struct check {
	const char *want;
	bool right, wrong;
};

static void on_symbol(void *arg, const char *data, size_t len)
{
	struct check *c = arg;
	if (strlen(c->want) == len && memcmp(c->want, data, len) == 0)
		c->right = true;
	else
		c->wrong = true;
}

static double cpu_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: qrdesk-decode-quality [--images N] [--empty N] [--frames WxH,...]\n"
	        "                             [--configs NAME,...] [--kinds NAME,...] [--dir DIR]\n"
	        "  --images N   images per degradation, level and frame size (default 12)\n"
	        "  --first N    the first image's index (default 0; indices 0-3 are the held-out\n"
	        "               set, 4-7 the one looks are chosen on: docs/decode.md)\n"
	        "  --empty N    frames without a code timed per configuration (default 30)\n"
	        "  --burst N    frames each image stays in view; decoded if any frame\n"
	        "               reads it (default 3: 200 ms at 15 fps)\n"
	        "  --fps N      the chain's frame rate (default 15, the camera's default)\n"
	        "  --idle N     empty-desk frames the chain sees before each card (default 45:\n"
	        "               3 s at 15 fps)\n"
	        "  --frames     frame sizes (default 640x480,1280x720)\n"
	        "  --configs    decoder configurations, of: zbar +half +invert +adaptive\n"
	        "               +stretch +sharpen all zbar-looks zxing shipped\n"
	        "               (default: zbar zbar-looks zxing shipped)\n"
	        "  --kinds      degradations (default: all); e.g. rotation,blur\n"
	        "  --dir DIR    where the test key is written (default /tmp)\n"
	        "  --dump DIR   also write every image to DIR as PGM "
	        "(SIZE-KIND-LEVEL-INDEX.pgm)\n");
}

static bool in_list(const char *list, const char *name)
{
	if (list == NULL)
		return true;
	size_t n = strlen(name);
	for (const char *p = list; *p != '\0';) {
		const char *e = strchr(p, ',');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		if (len == n && strncmp(p, name, n) == 0)
			return true;
		p += len + (e ? 1 : 0);
	}
	return false;
}

static int parse_frames(const char *text, struct frame *frames, size_t *count)
{
	*count = 0;
	for (const char *p = text; *p != '\0' && *count < FRAMES_MAX;) {
		unsigned w, h;
		int used = 0;
		if (sscanf(p, "%ux%u%n", &w, &h, &used) != 2 || w < 64 || h < 64 || w > 4096 ||
		    h > 4096)
			return -1;
		frames[(*count)++] = (struct frame){w, h};
		p += used;
		if (*p == ',')
			p++;
		else if (*p != '\0')
			return -1;
	}
	return *count > 0 ? 0 : -1;
}

static int write_pgm(const char *dir, unsigned w, unsigned h, const char *kind, int level,
                     unsigned index, const uint8_t *px)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%ux%u-%s-%d-%u.pgm", dir, w, h, kind, level, index);
	FILE *f = fopen(path, "wb");
	if (f == NULL) {
		fprintf(stderr, "qrdesk-decode-quality: %s: %s\n", path, strerror(errno));
		return -1;
	}
	fprintf(f, "P5\n%u %u\n255\n", w, h);
	size_t n = fwrite(px, 1, (size_t)w * h, f);
	if (fclose(f) != 0 || n != (size_t)w * h) {
		fprintf(stderr, "qrdesk-decode-quality: %s: write failed\n", path);
		return -1;
	}
	return 0;
}

static struct qrdecode *make_decoder(const struct config *c)
{
	struct qrdecode *dec = NULL;
	if (qrdecode_create(&dec) != QD_OK)
		return NULL;
	if (c->mode == ZBAR)
		qrdecode_set_passes(dec, c->passes, c->budget_pixels);
	else if (c->mode == ZXING && qrdecode_set_chain(dec, QRDECODE_ZXING, 0) != QD_OK) {
		qrdecode_destroy(dec);
		return NULL;
	}
	return dec;
}

/* The chain's camera clock: one frame period per frame it is fed. */
struct clock {
	int64_t t_us, period_us;
};

/* One image through one configuration: a still, or the chain's next camera frame. */
static enum qd_err decode(struct qrdecode *dec, const struct config *c, struct clock *clk,
                          const uint8_t *px, unsigned w, unsigned h, qrdecode_cb cb, void *arg,
                          int *found)
{
	if (c->mode != SHIPPED)
		return qrdecode_gray(dec, px, w, h, w, cb, arg, found);
	clk->t_us += clk->period_us;
	return qrdecode_frame(dec, px, w, h, w, clk->t_us, cb, arg, found);
}

int main(int argc, char **argv)
{
	unsigned images = 12, first = 0, empty = 30, burst = 3, fps = 15, idle = 45;
	const char *config_list = "zbar,zbar-looks,zxing,shipped", *kind_list = NULL, *dir = "/tmp",
	           *dump = NULL;
	struct frame frames[FRAMES_MAX];
	size_t n_frames = 0;
	parse_frames("640x480,1280x720", frames, &n_frames);
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "--help") == 0) {
			usage(stdout);
			return 0;
		}
		if (v == NULL) {
			usage(stderr);
			return 2;
		}
		i++;
		if (strcmp(a, "--images") == 0)
			images = (unsigned)strtoul(v, NULL, 10);
		else if (strcmp(a, "--first") == 0)
			first = (unsigned)strtoul(v, NULL, 10);
		else if (strcmp(a, "--burst") == 0)
			burst = (unsigned)strtoul(v, NULL, 10);
		else if (strcmp(a, "--fps") == 0)
			fps = (unsigned)strtoul(v, NULL, 10);
		else if (strcmp(a, "--idle") == 0)
			idle = (unsigned)strtoul(v, NULL, 10);
		else if (strcmp(a, "--empty") == 0)
			empty = (unsigned)strtoul(v, NULL, 10);
		else if (strcmp(a, "--configs") == 0)
			config_list = v;
		else if (strcmp(a, "--kinds") == 0)
			kind_list = v;
		else if (strcmp(a, "--dir") == 0)
			dir = v;
		else if (strcmp(a, "--dump") == 0)
			dump = v;
		else if (strcmp(a, "--frames") == 0) {
			if (parse_frames(v, frames, &n_frames) != 0) {
				fprintf(stderr, "qrdesk-decode-quality: bad --frames %s\n", v);
				return 2;
			}
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (images == 0 || images > 1000 || first > 1000 || empty > 10000 || burst == 0 ||
	    burst > 30 || fps == 0 || fps > 120 || idle > 300) {
		fprintf(stderr, "qrdesk-decode-quality: --images 1..1000, --first 0..1000, --empty "
		                "0..10000, "
		                "--burst 1..30, --fps 1..120, --idle 0..300\n");
		return 2;
	}

	const struct config *configs[CONFIGS_MAX];
	struct qrdecode *decs[CONFIGS_MAX];
	size_t n_configs = 0;
	for (size_t i = 0; i < ALL_CONFIGS && n_configs < CONFIGS_MAX; i++)
		if (in_list(config_list, all_configs[i].name)) {
			configs[n_configs] = &all_configs[i];
			decs[n_configs] = make_decoder(&all_configs[i]);
			if (decs[n_configs] == NULL) {
				fprintf(stderr, "qrdesk-decode-quality: cannot create a decoder\n");
				return 1;
			}
			n_configs++;
		}
	if (n_configs == 0) {
		fprintf(stderr, "qrdesk-decode-quality: no such configuration in --configs\n");
		return 2;
	}

	/* The cards: signed with the fixed test key under a fresh directory. */
	char keydir[4096];
	snprintf(keydir, sizeof(keydir), "%s/qrdesk-decode-quality-XXXXXX", dir);
	if (mkdtemp(keydir) == NULL) {
		fprintf(stderr, "qrdesk-decode-quality: %s: %s\n", keydir, strerror(errno));
		return 1;
	}
	static char texts[CARDS_MAX][QRSCENE_TEXT_MAX];
	const size_t n_cards = first + images < CARDS_MAX ? first + images : CARDS_MAX;
	struct qd_errmsg why = {{0}};
	enum qd_err rc = qrscene_cards(keydir, n_cards, texts, &why);
	char cmd[4200];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", keydir);
	if (system(cmd) != 0)
		fprintf(stderr, "qrdesk-decode-quality: could not remove %s\n", keydir);
	if (rc != QD_OK) {
		fprintf(stderr, "qrdesk-decode-quality: cards: %s\n", why.text);
		return 1;
	}
	printf("# %zu cards (%zu..%zu characters), %u images per cell (indices %u..%u), each in "
	       "view for %u frames (the chain: at %u fps, after %u frames of an empty desk)\n\n",
	       n_cards, strlen(texts[0]), strlen(texts[n_cards - 1]), images, first,
	       first + images - 1, burst, fps, idle);

	unsigned total_wrong = 0;
	for (size_t f = 0; f < n_frames; f++) {
		const unsigned w = frames[f].w, h = frames[f].h;
		uint8_t *px = malloc((size_t)w * h);
		uint8_t *desk = malloc((size_t)w * h);
		if (px == NULL || desk == NULL)
			return 1;
		/* The desk the camera watches between cards: one scene, frame after frame. */
		qrscene_empty(w, h, 1000, desk);
		struct clock clocks[CONFIGS_MAX];
		for (size_t c = 0; c < n_configs; c++)
			clocks[c] = (struct clock){0, 1000000 / fps};
		printf("## %ux%u: share decoded, CPU ms per frame\n\n| degradation | level | ", w,
		       h);
		for (size_t c = 0; c < n_configs; c++)
			printf("%s | ", configs[c]->name);
		for (size_t c = 0; c < n_configs; c++)
			printf("%s ms | ", configs[c]->name);
		printf("either | wrong |\n| --- | --- |");
		for (size_t c = 0; c < 2 * n_configs + 2; c++)
			printf(" --- |");
		printf("\n");
		unsigned sum_decoded[CONFIGS_MAX] = {0}, sum_images = 0, sum_either = 0;
		double sum_ms[CONFIGS_MAX] = {0};
		for (int k = 0; k < QRSCENE_KINDS; k++) {
			if (!in_list(kind_list, qrscene_kind_name((enum qrscene_kind)k)))
				continue;
			for (int level = 0; level < QRSCENE_LEVELS; level++) {
				struct result res[CONFIGS_MAX];
				memset(res, 0, sizeof(res));
				unsigned either = 0;
				for (unsigned i = first; i < first + images; i++) {
					bool ref_read = false;
					const char *text = texts[i % n_cards];
					rc = qrscene_render(text, w, h, (enum qrscene_kind)k, level,
					                    i, px, &why);
					if (rc != QD_OK) {
						fprintf(stderr,
						        "qrdesk-decode-quality: render: %s\n",
						        why.text);
						return 1;
					}
					if (dump != NULL &&
					    write_pgm(dump, w, h,
					              qrscene_kind_name((enum qrscene_kind)k),
					              level, i, px) != 0)
						return 1;
					for (size_t c = 0; c < n_configs; c++) {
						struct check chk = {text, false, false};
						int found = 0;
						/* The camera watched an empty desk until now. */
						for (unsigned e = 0;
						     configs[c]->mode == SHIPPED && e < idle; e++) {
							struct check none = {"", false, false};
							rc = decode(decs[c], configs[c], &clocks[c],
							            desk, w, h, on_symbol, &none,
							            &found);
							res[c].wrong += none.wrong;
						}
						/* The card stays in view for a burst of frames. */
						for (unsigned b = 0; b < burst && !chk.right; b++) {
							double t0 = cpu_ms();
							rc = decode(decs[c], configs[c], &clocks[c],
							            px, w, h, on_symbol, &chk,
							            &found);
							if (b == 0)
								res[c].cpu_ms += cpu_ms() - t0;
							if (rc != QD_OK) {
								fprintf(stderr,
								        "qrdesk-decode-quality: "
								        "decode: %s\n",
								        qd_err_name(rc));
								return 1;
							}
						}
						res[c].decoded += chk.right;
						res[c].wrong += chk.wrong;
						if (configs[c]->mode == ZXING ||
						    strcmp(configs[c]->name, "zbar-looks") == 0)
							ref_read |= chk.right;
					}
					either += ref_read;
				}
				printf("| %s | %d: %s |", qrscene_kind_name((enum qrscene_kind)k),
				       level, qrscene_level_label((enum qrscene_kind)k, level));
				unsigned wrong = 0;
				for (size_t c = 0; c < n_configs; c++) {
					printf(" %3.0f %% |", 100.0 * res[c].decoded / images);
					sum_decoded[c] += res[c].decoded;
					wrong += res[c].wrong;
				}
				for (size_t c = 0; c < n_configs; c++) {
					printf(" %.1f |", res[c].cpu_ms / images);
					sum_ms[c] += res[c].cpu_ms;
				}
				printf(" %3.0f %% |", 100.0 * either / images);
				sum_either += either;
				sum_images += images;
				total_wrong += wrong;
				printf(" %u |\n", wrong);
				fflush(stdout);
			}
		}
		printf("| **all** | |");
		for (size_t c = 0; c < n_configs; c++)
			printf(" **%.1f %%** |",
			       100.0 * sum_decoded[c] / (sum_images ? sum_images : 1));
		for (size_t c = 0; c < n_configs; c++)
			printf(" %.1f |", sum_ms[c] / (sum_images ? sum_images : 1));
		printf(" **%.1f %%** | |\n\n", 100.0 * sum_either / (sum_images ? sum_images : 1));

		if (empty > 0) {
			printf("## %ux%u: frames without a code (%u; the chain's %u fps apart), "
			       "CPU ms per frame, the least of %d runs\n\n"
			       "| configuration | frames | mean | max | share of a core at %u fps "
			       "|\n"
			       "| --- | --- | --- | --- | --- |\n",
			       w, h, empty, fps, EMPTY_REPEATS, fps);
			for (size_t c = 0; c < n_configs; c++)
				for (int scene = 0; scene < 2; scene++) {
					/* The chain: an empty desk (one scene), then the worst
					 * case, a new scene every frame; the rest see new scenes
					 * (they cost the same either way). */
					if (scene == 0 && configs[c]->mode != SHIPPED)
						continue;
					/* Repeat-min: the machine's load only ever adds time, so
					 * of EMPTY_REPEATS runs of `empty` frames the least mean
					 * (and the least max) is the decoder's own cost. */
					double best_mean = 0, best_max = 0;
					for (unsigned r = 0; r < EMPTY_REPEATS; r++) {
						double sum = 0, max = 0;
						for (unsigned i = 0; i < empty; i++) {
							if (scene == 0)
								memcpy(px, desk, (size_t)w * h);
							else
								qrscene_empty(w, h, i, px);
							struct check chk = {"", false, false};
							int found = 0;
							double t0 = cpu_ms();
							rc = decode(decs[c], configs[c], &clocks[c],
							            px, w, h, on_symbol, &chk,
							            &found);
							double t = cpu_ms() - t0;
							sum += t;
							max = t > max ? t : max;
							if (rc != QD_OK || found != 0) {
								fprintf(stderr,
								        "qrdesk-decode-quality: an "
								        "empty frame gave %d "
								        "symbols "
								        "(%s)\n",
								        found, qd_err_name(rc));
								total_wrong++;
							}
						}
						if (r == 0 || sum / empty < best_mean)
							best_mean = sum / empty;
						if (r == 0 || max < best_max)
							best_max = max;
					}
					const double sum = best_mean * empty, max = best_max;
					printf("| %s | %s | %.1f | %.1f | %.1f %% |\n",
					       configs[c]->name,
					       scene == 0 ? "an empty desk" : "a new scene each",
					       sum / empty, max, sum / empty * fps / 10.0);
				}
			printf("\n");
		}
		for (size_t c = 0; c < n_configs; c++) {
			struct qrdecode_stats st;
			qrdecode_get_stats(decs[c], &st);
			total_wrong += (unsigned)st.conflicts;
			if (configs[c]->mode == SHIPPED)
				printf("%s at %ux%u: %llu frames, ZBar looked in %llu (%.0f kpx a "
				       "frame), %llu conflicts\n\n",
				       configs[c]->name, w, h, (unsigned long long)st.images,
				       (unsigned long long)st.zbar_looks,
				       st.images ? st.zbar_pixels / 1e3 / st.images : 0.0,
				       (unsigned long long)st.conflicts);
		}
		free(desk);
		free(px);
	}
	for (size_t c = 0; c < n_configs; c++)
		qrdecode_destroy(decs[c]);
	printf("wrong texts: %u\n", total_wrong);
	return total_wrong == 0 ? 0 : 1;
}

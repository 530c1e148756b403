/* SPDX-License-Identifier: Apache-2.0 */
/*
 * qrdesk-bench-camera - the camera path, measured through the fake V4L2
 * device of the tests (tests/fakes/fake_v4l2.c) with pictures of real
 * signed cards:
 *
 *   1. decode cost: one frame's bytes to luma (capture_luma) and through
 *      the decoder chain as the camera path runs it (qrdecode_frame, frames
 *      stamped 1/15 s apart), unpaced, on this thread: wall and thread CPU
 *      time per frame (p50/p99), and the frame rate one core sustains (from
 *      the mean CPU time), with a card in view and without;
 *   2. the live path: source_camera (its capture thread, the loop) on the
 *      fake device paced at the frame rate; four cards shown in turn, 250 ms
 *      each: frame-to-text latency (from when the first frame showing a card
 *      was ready at the device to on_code on the loop thread) p50/p99; then
 *      the desk without a card (the common case).  CPU share: process CPU
 *      time (getrusage) over wall time, in per cent of one core.
 *
 * usage: qrdesk-bench-camera [--seconds N] [--smoke] [--dir DIR] [--seeds DIR]
 *   --smoke      a tiny run (ctest bench_camera_smoke): one size, one rate
 *   --seeds DIR  write the fuzz_camera seed corpus to DIR and exit
 */
#define _XOPEN_SOURCE 700 /* nftw */
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "card_scene.h"
#include "fake_v4l2.h"
#include "qrdesk/log.h"
#include "qrdesk/loop.h"
#include "qrdecode.h"
#include "qrdesk/source.h"
#include "qrdesk/source_camera.h"
#include "v4l2_capture.h"

#define DEV           "/dev/video-bench"
#define CARDS         4
#define SHOW_MS       250
#define SMOKE_SHOW_MS 1000 /* the smoke runs on emulated (arm64) and loaded machines too */
#define SAMPLES_MAX   4096

static struct card_image cards[CARDS];

static int die(const char *what)
{
	fprintf(stderr, "qrdesk-bench-camera: %s\n", what);
	return 1;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void percentiles(double *v, size_t n, double *p50, double *p99)
{
	*p50 = *p99 = 0;
	if (n == 0)
		return;
	qsort(v, n, sizeof(double), cmp_double);
	*p50 = v[n / 2];
	size_t i = (size_t)((double)n * 0.99);
	*p99 = v[i < n ? i : n - 1];
}

static double cpu_seconds(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* This thread's CPU time: what "one core" buys, whatever else the machine runs. */
static double thread_cpu_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* ---- 1. decode cost ---------------------------------------------------------------------- */

static void count_symbol(void *arg, const char *data, size_t len)
{
	(void)data;
	(void)len;
	(*(unsigned *)arg)++;
}

static int decode_cost(unsigned w, unsigned h, enum capture_format fmt, bool with_card,
                       unsigned frames)
{
	uint8_t *scene = card_scene_render(w, h, with_card ? &cards[0] : NULL, 70, 50, 50);
	struct capture_info in = {.format = fmt, .width = w, .height = h};
	in.bytesperline = fmt == CAPTURE_FORMAT_YUYV ? 2 * (size_t)w : w;
	size_t len = 0;
	uint8_t *bytes = fake_v4l2_encode(fmt, scene, w, h, in.bytesperline, &len);
	uint8_t *scratch = malloc((size_t)w * h);
	struct qrdecode *dec = NULL;
	if (scene == NULL || bytes == NULL || scratch == NULL || qrdecode_create(&dec) != QD_OK)
		return die("out of memory");
	double *ms = calloc(frames, sizeof(double)), *cpu = calloc(frames, sizeof(double));
	unsigned found = 0;
	int64_t stamp = 0; /* the frames' timestamps: 15 fps, the camera's default */
	for (unsigned i = 0; i < frames; i++) {
		int64_t t0 = loop_now_us();
		double c0 = thread_cpu_ms();
		const uint8_t *luma;
		size_t stride;
		struct qd_errmsg why = {{0}};
		if (capture_luma(&in, bytes, len, scratch, &luma, &stride, &why) != QD_OK)
			return die(why.text);
		int n = 0;
		stamp += 1000000 / 15;
		qrdecode_frame(dec, luma, w, h, stride, stamp, count_symbol, &found, &n);
		cpu[i] = thread_cpu_ms() - c0;
		ms[i] = (double)(loop_now_us() - t0) / 1000.0;
	}
	double sum = 0, p50, p99, c50, c99;
	for (unsigned i = 0; i < frames; i++)
		sum += cpu[i];
	double mean = sum / frames;
	percentiles(ms, frames, &p50, &p99);
	percentiles(cpu, frames, &c50, &c99);
	printf("  %4ux%-4u %-5s %-7s wall p50 %5.1f p99 %5.1f ms | CPU p50 %5.1f p99 %5.1f ms "
	       "-> %4.0f fps on one core (%u/%u decoded a card)\n",
	       w, h, capture_format_name(fmt), with_card ? "card" : "no card", p50, p99, c50, c99,
	       1000.0 / mean, found, frames);
	free(ms);
	free(cpu);
	qrdecode_destroy(dec);
	free(scratch);
	free(bytes);
	free(scene);
	return with_card && found != frames ? die("a card frame was not decoded") : 0;
}

/* ---- 2. the live path ----------------------------------------------------------------- */

struct live {
	struct loop *loop;
	struct loop_timer *timer;
	struct fake_v4l2 *fake;
	uint8_t *scenes[CARDS];
	uint8_t *blank;
	unsigned w, h;
	int showing; /* card index, -1: blank */
	unsigned step, steps;
	unsigned show_ms; /* each card this long */
	double lat_ms[SAMPLES_MAX];
	size_t n_lat;
	unsigned codes, wrong;
};

static void on_code(void *arg, const char *name, const char *text, size_t len, int64_t t_us)
{
	(void)name;
	(void)t_us;
	struct live *l = arg;
	int64_t now = loop_now_us();
	l->codes++;
	if (l->showing < 0 || strlen(cards[l->showing].text) != len ||
	    memcmp(cards[l->showing].text, text, len) != 0) {
		l->wrong++;
		return;
	}
	struct fake_v4l2_stats st;
	fake_v4l2_stats(l->fake, &st);
	if (st.show_ready_us > 0 && l->n_lat < SAMPLES_MAX)
		l->lat_ms[l->n_lat++] = (double)(now - st.show_ready_us) / 1000.0;
}

static void next_scene(struct loop *loop, struct loop_timer *t, void *arg)
{
	(void)t;
	struct live *l = arg;
	if (l->step >= l->steps) {
		loop_stop(loop);
		return;
	}
	l->step++;
	if (l->scenes[0] == NULL) { /* the no-card phase */
		l->showing = -1;
		return;
	}
	l->showing = (int)(l->step % CARDS);
	fake_v4l2_show(l->fake, l->scenes[l->showing], l->w, l->h);
}

static int live_run(struct live *l, struct source *src, double seconds, double *cpu_pct)
{
	l->steps = (unsigned)(seconds * 1000 / l->show_ms);
	if (l->steps == 0) /* a run shorter than a card still runs for one card's time */
		l->steps = 1;
	l->step = 0;
	double c0 = cpu_seconds();
	int64_t t0 = loop_now_us();
	loop_timer_arm(l->timer, 1, l->show_ms);
	if (loop_run(l->loop) != QD_OK)
		return die("loop_run");
	loop_timer_disarm(l->timer);
	double wall = (double)(loop_now_us() - t0) / 1e6;
	*cpu_pct = 100.0 * (cpu_seconds() - c0) / wall;
	(void)src;
	return 0;
}

static int live(unsigned w, unsigned h, unsigned fps, enum capture_format fmt, double seconds,
                unsigned show_ms)
{
	static struct live l; /* large */
	memset(&l, 0, sizeof(l));
	l.w = w;
	l.h = h;
	l.show_ms = show_ms;
	l.showing = -1;
	for (int i = 0; i < CARDS; i++)
		l.scenes[i] = card_scene_render(w, h, &cards[i], 60, 50, 50);
	l.blank = card_scene_render(w, h, NULL, 0, 0, 0);
	l.fake = fake_v4l2_create(DEV, FAKE_V4L2_FORMAT(fmt));
	if (l.fake == NULL || l.blank == NULL || loop_create(&l.loop) != QD_OK ||
	    loop_timer_create(l.loop, next_scene, &l, &l.timer) != QD_OK)
		return die("setup");
	fake_v4l2_show(l.fake, l.blank, w, h);
	struct source_camera_config cfg = {
	        .capture = {.width = w, .height = h, .fps = fps, .format = fmt},
	        .stall_ms = 5000,
	        .io = fake_v4l2_io(l.fake),
	};
	snprintf(cfg.capture.device, sizeof(cfg.capture.device), "%s", DEV);
	struct source *src = NULL;
	if (source_camera("cam", &cfg, on_code, &l, &src) != QD_OK ||
	    src->ops->start(src, l.loop) != QD_OK)
		return die("source_camera");
	/* Let it open and settle before measuring: half a second at a time until it runs (an
	 * emulated or loaded machine takes its time to open), a minute at most. */
	uint8_t *keep[CARDS];
	memcpy(keep, l.scenes, sizeof(keep));
	memset(l.scenes, 0, sizeof(l.scenes));
	double cpu_idle, cpu_cards;
	for (int i = 0; i < 120 && src->status.state != SOURCE_RUNNING; i++)
		live_run(&l, src, 0.5, &cpu_idle);
	if (src->status.state != SOURCE_RUNNING)
		return die(src->status.detail);

	memcpy(l.scenes, keep, sizeof(keep));
	struct fake_v4l2_stats s0, s1, s2;
	fake_v4l2_stats(l.fake, &s0);
	live_run(&l, src, seconds, &cpu_cards);
	fake_v4l2_stats(l.fake, &s1);
	unsigned codes = l.codes, wrong = l.wrong;

	fake_v4l2_show(l.fake, l.blank, w, h);
	memset(l.scenes, 0, sizeof(l.scenes));
	live_run(&l, src, seconds / 2, &cpu_idle);
	fake_v4l2_stats(l.fake, &s2);

	double p50, p99;
	size_t n = l.n_lat;
	percentiles(l.lat_ms, n, &p50, &p99);
	printf("  %4ux%-4u %2u fps %-5s  cards: latency p50 %6.1f ms  p99 %6.1f ms (%zu codes%s), "
	       "CPU %5.1f%%, %llu frames, %llu lost  |  no card: CPU %5.1f%%\n",
	       w, h, fps, capture_format_name(fmt), p50, p99, n,
	       wrong > 0 || codes != n ? ", some out of turn" : "", cpu_cards,
	       (unsigned long long)(s1.frames - s0.frames), (unsigned long long)(s1.lost - s0.lost),
	       cpu_idle);
	(void)s2;
	src->ops->destroy(src);
	loop_timer_destroy(l.timer);
	loop_destroy(l.loop);
	fake_v4l2_destroy(l.fake);
	for (int i = 0; i < CARDS; i++)
		free(keep[i]);
	free(l.blank);
	return n == 0 ? die("no card was read") : 0;
}

/* ---- fuzz seeds ----------------------------------------------------------------------- */

static int write_seed(const char *dir, const char *name, enum capture_format fmt, unsigned w,
                      unsigned h, unsigned pad, const uint8_t *bytes, size_t len)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	if (f == NULL)
		return die(path);
	uint8_t head[6] = {(uint8_t)(fmt - CAPTURE_FORMAT_GREY),
	                   (uint8_t)((w - 1) & 0xff),
	                   (uint8_t)((w - 1) >> 8),
	                   (uint8_t)((h - 1) & 0xff),
	                   (uint8_t)((h - 1) >> 8),
	                   (uint8_t)pad};
	fwrite(head, 1, sizeof(head), f);
	fwrite(bytes, 1, len, f);
	return fclose(f) == 0 ? 0 : die(path);
}

/* The same JPEG without its DHT segments: what many webcams send. */
static size_t strip_dht(uint8_t *j, size_t len)
{
	size_t i = 2, o = 2;
	while (i + 4 <= len && j[i] == 0xff && j[i + 1] != 0xda) {
		size_t seg = 2 + ((size_t)j[i + 2] << 8 | j[i + 3]);
		if (i + seg > len)
			break;
		if (j[i + 1] != 0xc4) {
			memmove(j + o, j + i, seg);
			o += seg;
		}
		i += seg;
	}
	memmove(j + o, j + i, len - i);
	return o + len - i;
}

static int seeds(const char *dir)
{
	enum { SW = 96, SH = 72 };
	mkdir(dir, 0755);
	uint8_t *scene = card_scene_render(SW, SH, &cards[0], 95, 50, 50);
	size_t len;
	uint8_t *b = fake_v4l2_encode(CAPTURE_FORMAT_GREY, scene, SW, SH, SW + 5, &len);
	int rc = write_seed(dir, "grey-padded", CAPTURE_FORMAT_GREY, SW, SH, 5, b, len);
	rc |= write_seed(dir, "grey-short", CAPTURE_FORMAT_GREY, SW, SH, 5, b, len / 2);
	free(b);
	b = fake_v4l2_encode(CAPTURE_FORMAT_YUYV, scene, SW, SH, 2 * SW, &len);
	rc |= write_seed(dir, "yuyv", CAPTURE_FORMAT_YUYV, SW, SH, 0, b, len);
	free(b);
	b = fake_v4l2_encode(CAPTURE_FORMAT_MJPEG, scene, SW, SH, 0, &len);
	rc |= write_seed(dir, "mjpeg-422", CAPTURE_FORMAT_MJPEG, SW, SH, 0, b, len);
	rc |= write_seed(dir, "mjpeg-truncated", CAPTURE_FORMAT_MJPEG, SW, SH, 0, b, len * 2 / 3);
	rc |= write_seed(dir, "mjpeg-other-size", CAPTURE_FORMAT_MJPEG, SW + 8, SH, 0, b, len);
	len = strip_dht(b, len);
	rc |= write_seed(dir, "mjpeg-no-dht", CAPTURE_FORMAT_MJPEG, SW, SH, 0, b, len);
	free(b);
	free(scene);
	return rc;
}

int main(int argc, char **argv)
{
	double seconds = 6;
	bool smoke = false;
	const char *dir = "/tmp", *seed_dir = NULL;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc)
			seconds = strtod(argv[++i], NULL);
		else if (strcmp(argv[i], "--smoke") == 0)
			smoke = true;
		else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
			dir = argv[++i];
		else if (strcmp(argv[i], "--seeds") == 0 && i + 1 < argc)
			seed_dir = argv[++i];
		else
			return die("usage: qrdesk-bench-camera [--seconds N] [--smoke] [--dir DIR] "
			           "[--seeds DIR]");
	}
	if (seconds < 1)
		seconds = 1;
	log_init("qrdesk-bench-camera", LOG_STYLE_PLAIN, LOG_WARNING);
	char tmp[4096];
	snprintf(tmp, sizeof(tmp), "%s/qrdesk-bench-camera.XXXXXX", dir);
	if (mkdtemp(tmp) == NULL)
		return die(strerror(errno));
	struct qd_errmsg why = {{0}};
	if (card_scene_cards(tmp, cards, CARDS, &why) != QD_OK)
		return die(why.text);
	if (nftw(tmp, remove_entry, 8, FTW_DEPTH | FTW_PHYS) != 0)
		fprintf(stderr, "qrdesk-bench-camera: could not remove %s\n", tmp);
	if (seed_dir != NULL) {
		int rc = seeds(seed_dir);
		card_scene_free(cards, CARDS);
		return rc;
	}

	static const struct {
		unsigned w, h;
	} sizes[] = {{640, 480}, {1280, 720}};
	static const enum capture_format fmts[] = {CAPTURE_FORMAT_GREY, CAPTURE_FORMAT_YUYV,
	                                           CAPTURE_FORMAT_MJPEG};
	int rc = 0;
	unsigned frames = smoke ? 3 : 60;
	printf("decode cost per frame (bytes -> luma -> the decoder chain, frames stamped 15 fps "
	       "apart), unpaced, one thread:\n");
	for (size_t s = 0; s < (smoke ? 1 : 2); s++)
		for (size_t f = 0; f < 3; f++)
			for (int card = 1; card >= 0; card--)
				rc |= decode_cost(sizes[s].w, sizes[s].h, fmts[f], card, frames);

	printf("live: fake camera paced at the frame rate, %d cards %d ms each, then none "
	       "(CPU: %% of one core, whole process):\n",
	       CARDS, smoke ? SMOKE_SHOW_MS : SHOW_MS);
	static const unsigned rates[] = {15, 30};
	for (size_t s = 0; s < (smoke ? 1 : 2); s++)
		for (size_t r = 0; r < (smoke ? 1 : 2); r++)
			for (size_t f = 1; f < 3; f++)
				rc |= live(sizes[s].w, sizes[s].h, rates[r], fmts[f],
				           smoke ? CARDS * SMOKE_SHOW_MS / 1000.0 : seconds,
				           smoke ? SMOKE_SHOW_MS : SHOW_MS);
	card_scene_free(cards, CARDS);
	return rc;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * qrscene.c - card codes as a desk camera sees them (see qrscene.h).
 *
 * A frame is made the way light makes it, in this order:
 *
 *   1. geometry: every output pixel is traced back to the card's plane
 *      through a homography (card turned by theta in its plane, tilted by
 *      alpha about an in-plane axis, seen by a pin-hole camera of focal
 *      length = frame width), 2 x 2 samples a pixel;
 *   2. the card's reflectance there: ink and paper in the symbol, lines of
 *      print beside it, the desk around it - or a phone's emissive screen
 *      and black body - with a crease or a thumb where the kind asks;
 *   3. light: exposure, a shadow gradient and vignette, a glare spot that
 *      saturates, the screen's moire;
 *   4. optics and sensor: Gaussian (focus) or line (motion) blur, read and
 *      shot noise, 8-bit quantisation, and an MJPEG camera's JPEG round trip.
 *
 * The symbol itself comes from libqrencode with the issuer's parameters
 * (tools/issuer/qrpng.c: level M, 8-bit hint, case-sensitive), so the
 * module grid is the one printed on real cards.  Module sizes: 3-4 px at
 * 640 x 480 and 5-6.5 px at 1280 x 720, a card 10-15 cm under a 60 degree
 * webcam (the 39 mm symbol of a 300 dpi print).
 */
#include "qrscene.h"

#include <math.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jpeglib.h>
#include <qrencode.h>

#include "domain.h"
#include "qrdecode.h"

#define PI     3.14159265358979323846
#define SS     2 /* samples per pixel and axis in the geometry step */
#define DAY    (24LL * 3600)
#define ISSUED 1767225600LL /* 2026-01-01T00:00:00Z: fixed, so texts repeat */

/* ---- PRNG: splitmix64, seeded per image ---------------------------------- */

struct rng {
	uint64_t s;
};

static uint64_t rng_next(struct rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15u);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

/* Uniform in [0, 1). */
static double rng_unit(struct rng *r)
{
	return (double)(rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

static double rng_range(struct rng *r, double lo, double hi)
{
	return lo + (hi - lo) * rng_unit(r);
}

static double rng_gauss(struct rng *r)
{
	double u = rng_unit(r), v = rng_unit(r);
	return sqrt(-2.0 * log(u + 1e-300)) * cos(2 * PI * v);
}

/* A hash of grid cell (i, j): fixed texture without storing it. */
static double cell_noise(uint64_t seed, long i, long j)
{
	struct rng r = {seed ^ ((uint64_t)i * 0x9e3779b97f4a7c15u) ^ ((uint64_t)j << 32)};
	return rng_unit(&r);
}

/* ---- Names and levels ----------------------------------------------------- */

static const char *const kind_names[QRSCENE_KINDS] = {
        [QRSCENE_ROTATION] = "rotation",
        [QRSCENE_PERSPECTIVE] = "perspective",
        [QRSCENE_BLUR] = "blur",
        [QRSCENE_MOTION] = "motion",
        [QRSCENE_NOISE] = "noise",
        [QRSCENE_CONTRAST] = "contrast",
        [QRSCENE_SHADOW] = "shadow",
        [QRSCENE_GLARE] = "glare",
        [QRSCENE_JPEG] = "jpeg",
        [QRSCENE_SCREEN_DARK] = "screen-dark",
        [QRSCENE_SCREEN_MOIRE] = "screen-moire",
        [QRSCENE_CREASE] = "crease",
        [QRSCENE_OCCLUSION] = "occlusion",
        [QRSCENE_DESK_MIX] = "desk-mix",
        [QRSCENE_STEEP] = "steep",
        [QRSCENE_SMALL] = "small",
        [QRSCENE_DOTS] = "dots",
        [QRSCENE_CLOTH] = "cloth",
        [QRSCENE_FAINT] = "faint",
};

/* The parameter of each kind, level 0..4. */
static const double rotation_deg[QRSCENE_LEVELS] = {0, 11, 22, 33, 45};
static const double tilt_deg[QRSCENE_LEVELS] = {0, 20, 35, 50, 60};
static const double blur_modules[QRSCENE_LEVELS] = {0.15, 0.3, 0.45, 0.6, 0.75}; /* sigma */
static const double motion_modules[QRSCENE_LEVELS] = {0, 0.75, 1.5, 2.25, 3};    /* length */
static const double noise_sigma[QRSCENE_LEVELS] = {2, 8, 16, 24, 32};            /* 8-bit */
static const double contrast[QRSCENE_LEVELS] = {0.9, 0.4, 0.2, 0.12, 0.07};      /* ink depth */
static const double shadow[QRSCENE_LEVELS] = {0, 0.3, 0.5, 0.7, 0.85};           /* darkening */
static const double glare[QRSCENE_LEVELS] = {0, 0.4, 0.8, 1.2, 1.6};             /* peak */
static const int jpeg_quality[QRSCENE_LEVELS] = {0, 70, 40, 20, 10};             /* 0: none */
static const double moire[QRSCENE_LEVELS] = {0, 0.15, 0.3, 0.45, 0.6};           /* depth */
static const double crease[QRSCENE_LEVELS] = {0, 0.2, 0.4, 0.6, 0.8};            /* shift */
static const double occlusion[QRSCENE_LEVELS] = {0, 0.04, 0.08, 0.12, 0.16};     /* area */
static const double steep_deg[QRSCENE_LEVELS] = {20, 27, 34, 42, 50};            /* f = w/2 */
static const double small_px[QRSCENE_LEVELS] = {2.5, 2, 1.5, 1.25, 1};           /* a module */
static const double dot_radius[QRSCENE_LEVELS] = {0.5, 0.42, 0.36, 0.31, 0.27};  /* modules */
static const double cloth_wave[QRSCENE_LEVELS] = {0, 0.15, 0.3, 0.45, 0.6};      /* modules */
static const double faint[QRSCENE_LEVELS] = {0.5, 0.35, 0.25, 0.18, 0.13};       /* ink depth */

const char *qrscene_kind_name(enum qrscene_kind kind)
{
	return (unsigned)kind < QRSCENE_KINDS ? kind_names[kind] : "?";
}

const char *qrscene_level_label(enum qrscene_kind kind, int level)
{
	static char buf[48];
	if (level < 0 || level >= QRSCENE_LEVELS)
		return "?";
	switch (kind) {
	case QRSCENE_ROTATION:
		snprintf(buf, sizeof(buf), "%.0f deg", rotation_deg[level]);
		break;
	case QRSCENE_PERSPECTIVE:
		snprintf(buf, sizeof(buf), "tilt %.0f deg", tilt_deg[level]);
		break;
	case QRSCENE_BLUR:
		snprintf(buf, sizeof(buf), "sigma %.2f mod", blur_modules[level]);
		break;
	case QRSCENE_MOTION:
		snprintf(buf, sizeof(buf), "%.2f mod", motion_modules[level]);
		break;
	case QRSCENE_NOISE:
		snprintf(buf, sizeof(buf), "sigma %.0f", noise_sigma[level]);
		break;
	case QRSCENE_CONTRAST:
		snprintf(buf, sizeof(buf), "ink %.0f%%", 100 * contrast[level]);
		break;
	case QRSCENE_SHADOW:
		snprintf(buf, sizeof(buf), "%.0f%% darker", 100 * shadow[level]);
		break;
	case QRSCENE_GLARE:
		snprintf(buf, sizeof(buf), "peak %.1f", glare[level]);
		break;
	case QRSCENE_JPEG:
		if (jpeg_quality[level] == 0)
			snprintf(buf, sizeof(buf), "none");
		else
			snprintf(buf, sizeof(buf), "q%d", jpeg_quality[level]);
		break;
	case QRSCENE_SCREEN_DARK:
	case QRSCENE_SCREEN_MOIRE:
		snprintf(buf, sizeof(buf), "moire %.0f%%", 100 * moire[level]);
		break;
	case QRSCENE_CREASE:
		snprintf(buf, sizeof(buf), "fold %.1f mod", crease[level]);
		break;
	case QRSCENE_OCCLUSION:
		snprintf(buf, sizeof(buf), "%.0f%% covered", 100 * occlusion[level]);
		break;
	case QRSCENE_DESK_MIX:
		snprintf(buf, sizeof(buf), "mix %d", level);
		break;
	case QRSCENE_STEEP:
		snprintf(buf, sizeof(buf), "tilt %.0f deg, close", steep_deg[level]);
		break;
	case QRSCENE_SMALL:
		snprintf(buf, sizeof(buf), "%.2f px/mod", small_px[level]);
		break;
	case QRSCENE_DOTS:
		snprintf(buf, sizeof(buf), "dot r %.2f mod", dot_radius[level]);
		break;
	case QRSCENE_CLOTH:
		snprintf(buf, sizeof(buf), "wave %.1f mod", cloth_wave[level]);
		break;
	case QRSCENE_FAINT:
		snprintf(buf, sizeof(buf), "ink %.0f%%", 100 * faint[level]);
		break;
	default:
		return "?";
	}
	return buf;
}

/* ---- Cards ---------------------------------------------------------------- */

static const char *const holders[] = {
        "RAHIMA KHATUN",    "MD ABDUR RAHIM", "NASIMA BEGUM",       "SHAHIDUL ISLAM",
        "MD KAMAL HOSSAIN", "FATEMA AKTER",   "MOHAMMAD ALI HASAN", "ROKSANA PARVIN",
};
static const char *const destinations[] = {"SA", "AE", "KW", "QA", "OM", "MY", "SG", "BH"};
static const char *const categories[] = {"GW", "DW", "DR", "CW"};

/* The fixed test key's secret: anything constant; this is no one's key. */
static const uint8_t test_secret[SIGNATURE_SECRET_LEN] = "qrdesk decode-quality test key!";

enum qd_err qrscene_cards(const char *dir, size_t n, char (*texts)[QRSCENE_TEXT_MAX],
                          struct qd_errmsg *why)
{
	enum qd_err rc = signature_init();
	if (rc != QD_OK) {
		qd_errmsg_set(why, "signature_init failed");
		return rc;
	}
	struct domain *d = calloc(1, sizeof(*d));
	if (d == NULL)
		return QD_ERR_NOMEM;
	snprintf(d->dir, sizeof(d->dir), "%s", dir);
	struct signature_keypair kp;
	rc = signature_keypair_from_secret(SIGNATURE_ALG_EDDSA, test_secret, sizeof(test_secret),
	                                   &kp);
	if (rc != QD_OK) {
		qd_errmsg_set(why, "test key: %s", qd_err_name(rc));
		free(d);
		return rc;
	}
	/* A domain of one issuer key, our fixed one, laid out as domain.h says. */
	char path[4096];
	snprintf(path, sizeof(path), "%s/keys", dir);
	size_t index = 0;
	if (mkdir(path, 0700) != 0) {
		qd_errmsg_set(why, "%s: cannot create", path);
		rc = QD_ERR_IO;
	} else {
		rc = domain_add_keypair(d, KEY_ROLE_ISSUER, &kp, ISSUED - DAY, ISSUED + 3650 * DAY,
		                        &index, why);
	}
	signature_keypair_wipe(&kp);

	for (size_t i = 0; rc == QD_OK && i < n; i++) {
		struct credential cred = {.issued_at = ISSUED + (int64_t)i * 3600,
		                          .expires_at = ISSUED + 180 * DAY};
		struct clearance_claims *cl = &cred.clearance;
		snprintf(cl->clearance_no, sizeof(cl->clearance_no), "26110%05zu", 1000 + i * 37);
		snprintf(cl->passport_no, sizeof(cl->passport_no), "A%08zu", 12345678 + i * 7919);
		snprintf(cl->name, sizeof(cl->name), "%s", holders[i % 8]);
		credential_date_parse(i % 2 ? "1990-07-14" : "1994-03-12", &cl->birth_days);
		cl->sex = strstr(holders[i % 8], "MD ") || strstr(holders[i % 8], "MOHAMMAD") ||
		                          strstr(holders[i % 8], "SHAHIDUL")
		                  ? 'M'
		                  : 'F';
		snprintf(cl->destination, sizeof(cl->destination), "%s", destinations[i % 8]);
		snprintf(cl->category, sizeof(cl->category), "%s", categories[i % 4]);
		snprintf(cl->employer, sizeof(cl->employer), "AL MADINA GENERAL TRADING");
		snprintf(cl->agency_licence, sizeof(cl->agency_licence), "RL-%04zu", 571 + i);
		snprintf(cl->bmet_reg_no, sizeof(cl->bmet_reg_no), "BMET26110%05zu", 1000 + i * 37);
		cl->pdo_completed = true;
		size_t cose_len;
		rc = domain_sign_card(d, index, &cred, texts[i], QRSCENE_TEXT_MAX, &cose_len, why);
	}
	free(d);
	return rc;
}

/* ---- Scene parameters ----------------------------------------------------- */

struct scene {
	/* The symbol: width x width modules, 1 = dark. */
	const unsigned char *modules;
	int width;
	bool screen;   /* a phone's screen instead of a printed card */
	bool inverted; /* light modules on a dark screen */
	bool field;    /* random modules, no finder patterns (the empty frame) */
	uint64_t seed; /* for textures */
	double hinv[9];
	/* Reflectance (or emission) of ink, paper, desk. */
	double ink, paper;
	/* Crease: a fold line through (cu, cv) with normal (nu, nv). */
	double crease_shift, crease_shade, cu, cv, nu, nv;
	/* Thumb: a disc at (tu, tv) of radius tr, in modules. */
	double tr, tu, tv;
	/* Dots: dark modules drawn as discs of this radius (0: squares), in modules. */
	double dot;
	/* Cloth: waves of this amplitude (modules), wave numbers and phases. */
	double wave, wave_k[2], wave_phase[2];
	/* Light and optics, in frame pixels. */
	double gain, shadow, shadow_dx, shadow_dy, vignette;
	double glare, glare_x, glare_y, glare_r;
	double moire, moire_k1[2], moire_k2[2], moire_fine[2];
	double blur, motion, motion_dir;
	double read_noise, shot_noise;
	int jpeg;
};

/* 3x3 inverse (adjugate over determinant); the matrix is never singular here. */
static void invert3(const double m[9], double out[9])
{
	double a = m[0], b = m[1], c = m[2], d = m[3], e = m[4], f = m[5], g = m[6], h = m[7],
	       i = m[8];
	double A = e * i - f * h, B = -(d * i - f * g), C = d * h - e * g;
	double det = a * A + b * B + c * C;
	out[0] = A / det;
	out[1] = -(b * i - c * h) / det;
	out[2] = (b * f - c * e) / det;
	out[3] = B / det;
	out[4] = (a * i - c * g) / det;
	out[5] = -(a * f - c * d) / det;
	out[6] = C / det;
	out[7] = -(a * h - b * g) / det;
	out[8] = (a * e - b * d) / det;
}

/*
 * The frame-to-card homography: card point (u, v) in modules -> 3-D point
 * X = u m r1 + v m r2 + t (r1, r2 the rotated card axes, m px a module at
 * the card's depth f) -> pixel (f X / Z + cx, f Y / Z + cy).
 */
static void place(struct scene *s, double module_px, double theta, double tilt, double axis,
                  double cx, double cy, double f)
{
	/* R = Rz(theta) * Raxis(tilt), axis in the card plane at angle `axis`. */
	double ax = cos(axis), ay = sin(axis), ct = cos(tilt), st = sin(tilt);
	double ra[9] = {ct + ax * ax * (1 - ct),
	                ax * ay * (1 - ct),
	                ay * st,
	                ax * ay * (1 - ct),
	                ct + ay * ay * (1 - ct),
	                -ax * st,
	                -ay * st,
	                ax * st,
	                ct};
	double cz = cos(theta), sz = sin(theta);
	double rz[9] = {cz, -sz, 0, sz, cz, 0, 0, 0, 1};
	double r[9];
	for (int i = 0; i < 3; i++)
		for (int j = 0; j < 3; j++)
			r[3 * i + j] = rz[3 * i] * ra[j] + rz[3 * i + 1] * ra[3 + j] +
			               rz[3 * i + 2] * ra[6 + j];
	const double half = s->width / 2.0;
	/* Columns of G: m r1, m r2, t - m half (r1 + r2), t = (0, 0, f). */
	double g[9];
	for (int i = 0; i < 3; i++) {
		g[3 * i] = module_px * r[3 * i];
		g[3 * i + 1] = module_px * r[3 * i + 1];
		g[3 * i + 2] = (i == 2 ? f : 0) - module_px * half * (r[3 * i] + r[3 * i + 1]);
	}
	double k[9] = {f, 0, cx, 0, f, cy, 0, 0, 1}, h[9];
	for (int i = 0; i < 3; i++)
		for (int j = 0; j < 3; j++)
			h[3 * i + j] =
			        k[3 * i] * g[j] + k[3 * i + 1] * g[3 + j] + k[3 * i + 2] * g[6 + j];
	invert3(h, s->hinv);
}

static bool in_finder(int x, int y, int w)
{
	return (x < 8 && y < 8) || (x >= w - 8 && y < 8) || (x < 8 && y >= w - 8);
}

/* Reflectance (card) or emission (screen) of the surface at card point (u, v), in 0..1. */
static double surface(const struct scene *s, double u, double v)
{
	const int w = s->width;
	if (s->screen) {
		if (u < -5 || u > w + 5 || v < -16 || v > w + 22) {
			if (u < -9 || u > w + 9 || v < -22 || v > w + 30)
				return 0.3 + 0.1 * cell_noise(s->seed, (long)floor(u / 4),
				                              (long)floor(v / 4));
			return 0.03; /* the phone's body */
		}
		bool dark = false;
		if (u >= 0 && v >= 0 && u < w && v < w)
			dark = s->modules[(int)v * w + (int)u] & 1;
		/* Dark mode draws the modules light on black. */
		return dark != s->inverted ? s->ink : s->paper;
	}
	if (u < -8 || u > w + 60 || v < -10 || v > w + 12)
		return 0.28 + 0.12 * cell_noise(s->seed, (long)floor(u / 3), (long)floor(v / 3));
	if (u >= 0 && v >= 0 && u < w && v < w) {
		int x = (int)u, y = (int)v;
		bool dark;
		if (s->field) /* random print with no finder pattern: busy, but no code */
			dark = !in_finder(x, y, w) && cell_noise(s->seed ^ 3, x, y) < 0.5;
		else
			dark = s->modules[y * w + x] & 1;
		if (dark && s->dot > 0 && !in_finder(x, y, w)) {
			double du = u - x - 0.5, dv = v - y - 0.5;
			dark = du * du + dv * dv <= s->dot * s->dot;
		}
		return dark ? s->ink : s->paper;
	}
	if (u > w + 6 && u < w + 56 && v > 0 && v < w) {
		/* Lines of print: a row every 4 modules, words a few modules long. */
		double row = fmod(v, 4.0);
		long word = (long)floor(u / 3);
		bool ink =
		        row > 1 && row < 2.6 && cell_noise(s->seed ^ 5, word, (long)(v / 4)) < 0.7;
		return ink ? s->ink : s->paper;
	}
	return s->paper;
}

/* The surface with what lies on it or bends it: a crease, a thumb. */
static double material(const struct scene *s, double u, double v)
{
	double shade = 1;
	if (s->wave > 0) {
		/* Cloth: two crossing waves shift the print and shade their slopes. */
		double a = s->wave_k[0] * v + s->wave_phase[0],
		       b = s->wave_k[1] * u + s->wave_phase[1];
		u += s->wave * sin(a);
		v += s->wave * sin(b);
		shade = 1 - 0.25 * (cos(a) + cos(b)) * s->wave / 0.6;
	}
	if (s->crease_shift > 0) {
		double dist = (u - s->cu) * s->nu + (v - s->cv) * s->nv;
		if (dist > 0) { /* beyond the fold the paper stands off its plane */
			u -= s->crease_shift * s->nu;
			v -= s->crease_shift * s->nv;
		}
		/* A dark valley with a bright ridge beside it. */
		shade = 1 - s->crease_shade * exp(-dist * dist / 0.5) +
		        0.5 * s->crease_shade * exp(-(dist - 1.2) * (dist - 1.2) / 0.3);
	}
	double m = surface(s, u, v) * shade;
	if (s->tr > 0) {
		double du = u - s->tu, dv = v - s->tv, r = sqrt(du * du + dv * dv);
		if (r < s->tr + 0.5) {
			double skin =
			        0.45 + 0.1 * cell_noise(s->seed ^ 7, (long)(u * 2), (long)(v * 2));
			double t = r < s->tr - 0.5
			                   ? 0
			                   : r - (s->tr - 0.5); /* a module-wide soft edge */
			m = skin * (1 - t) + m * t;
		}
	}
	return m;
}

/* ---- Light, optics, sensor ------------------------------------------------- */

static void gaussian_blur(float *img, float *tmp, unsigned w, unsigned h, double sigma)
{
	if (sigma < 0.05)
		return;
	int r = (int)ceil(3 * sigma);
	float *k = malloc(sizeof(float) * (size_t)(2 * r + 1));
	if (k == NULL)
		return;
	double sum = 0;
	for (int i = -r; i <= r; i++)
		sum += k[i + r] = (float)exp(-(double)(i * i) / (2 * sigma * sigma));
	for (int i = 0; i <= 2 * r; i++)
		k[i] = (float)(k[i] / sum);
	for (unsigned y = 0; y < h; y++)
		for (unsigned x = 0; x < w; x++) {
			float acc = 0;
			for (int i = -r; i <= r; i++) {
				long xx = (long)x + i;
				xx = xx < 0 ? 0 : xx >= (long)w ? (long)w - 1 : xx;
				acc += k[i + r] * img[(size_t)y * w + (size_t)xx];
			}
			tmp[(size_t)y * w + x] = acc;
		}
	for (unsigned y = 0; y < h; y++)
		for (unsigned x = 0; x < w; x++) {
			float acc = 0;
			for (int i = -r; i <= r; i++) {
				long yy = (long)y + i;
				yy = yy < 0 ? 0 : yy >= (long)h ? (long)h - 1 : yy;
				acc += k[i + r] * tmp[(size_t)yy * w + x];
			}
			img[(size_t)y * w + x] = acc;
		}
	free(k);
}

static float sample_clamped(const float *img, unsigned w, unsigned h, double x, double y)
{
	x = x < 0 ? 0 : x > w - 1 ? w - 1 : x;
	y = y < 0 ? 0 : y > h - 1 ? h - 1 : y;
	unsigned x0 = (unsigned)x, y0 = (unsigned)y;
	unsigned x1 = x0 + 1 < w ? x0 + 1 : x0, y1 = y0 + 1 < h ? y0 + 1 : y0;
	double fx = x - x0, fy = y - y0;
	return (float)((1 - fy) * ((1 - fx) * img[(size_t)y0 * w + x0] +
	                           fx * img[(size_t)y0 * w + x1]) +
	               fy * ((1 - fx) * img[(size_t)y1 * w + x0] + fx * img[(size_t)y1 * w + x1]));
}

/* The exposure integrated along a straight path of length px. */
static void motion_blur(float *img, float *tmp, unsigned w, unsigned h, double length, double dir)
{
	if (length < 0.5)
		return;
	int steps = (int)ceil(length) + 1;
	double dx = cos(dir), dy = sin(dir);
	for (unsigned y = 0; y < h; y++)
		for (unsigned x = 0; x < w; x++) {
			double acc = 0;
			for (int i = 0; i < steps; i++) {
				double t = length * ((double)i / (steps - 1) - 0.5);
				acc += sample_clamped(img, w, h, x + t * dx, y + t * dy);
			}
			tmp[(size_t)y * w + x] = (float)(acc / steps);
		}
	memcpy(img, tmp, sizeof(float) * (size_t)w * h);
}

struct jpeg_guard {
	struct jpeg_error_mgr mgr; /* first: libjpeg hands back a pointer to it */
	jmp_buf env;
};

static void jpeg_fail(j_common_ptr cinfo)
{
	longjmp(((struct jpeg_guard *)cinfo->err)->env, 1);
}

/* Through libjpeg at quality q and back (decoded by the firmware's own image.c). */
static enum qd_err jpeg_round_trip(uint8_t *px, unsigned w, unsigned h, int q,
                                   struct qd_errmsg *why)
{
	struct jpeg_compress_struct c;
	struct jpeg_guard guard;
	unsigned char *buf = NULL;
	unsigned long size = 0;
	c.err = jpeg_std_error(&guard.mgr);
	guard.mgr.error_exit = jpeg_fail;
	if (setjmp(guard.env)) {
		jpeg_destroy_compress(&c);
		free(buf);
		qd_errmsg_set(why, "JPEG compression failed");
		return QD_ERR_FORMAT;
	}
	jpeg_create_compress(&c);
	jpeg_mem_dest(&c, &buf, &size);
	c.image_width = w;
	c.image_height = h;
	c.input_components = 1;
	c.in_color_space = JCS_GRAYSCALE;
	jpeg_set_defaults(&c);
	jpeg_set_quality(&c, q, TRUE);
	jpeg_start_compress(&c, TRUE);
	while (c.next_scanline < c.image_height) {
		JSAMPROW row = px + (size_t)c.next_scanline * w;
		jpeg_write_scanlines(&c, &row, 1);
	}
	jpeg_finish_compress(&c);
	jpeg_destroy_compress(&c);
	uint8_t *back = NULL;
	unsigned bw = 0, bh = 0;
	enum qd_err rc = image_decode_gray(buf, size, &back, &bw, &bh, why);
	free(buf);
	if (rc == QD_OK && (bw != w || bh != h)) {
		qd_errmsg_set(why, "JPEG came back %ux%u", bw, bh);
		rc = QD_ERR_FORMAT;
	}
	if (rc == QD_OK)
		memcpy(px, back, (size_t)w * h);
	free(back);
	return rc;
}

/* Steps 1-4 of the file comment for a prepared scene. */
static enum qd_err develop(const struct scene *s, unsigned w, unsigned h, struct rng *r,
                           uint8_t *out, struct qd_errmsg *why)
{
	size_t n = (size_t)w * h;
	float *img = malloc(sizeof(float) * n), *tmp = malloc(sizeof(float) * n);
	if (img == NULL || tmp == NULL) {
		free(img);
		free(tmp);
		return QD_ERR_NOMEM;
	}
	const double *hi = s->hinv;
	for (unsigned y = 0; y < h; y++)
		for (unsigned x = 0; x < w; x++) {
			double acc = 0;
			for (int sy = 0; sy < SS; sy++)
				for (int sx = 0; sx < SS; sx++) {
					double fx = x + (sx + 0.5) / SS, fy = y + (sy + 0.5) / SS;
					double zu = hi[6] * fx + hi[7] * fy + hi[8];
					if (zu <=
					    1e-9) { /* a ray that never meets the card's plane */
						acc += 0.3;
						continue;
					}
					double u = (hi[0] * fx + hi[1] * fy + hi[2]) / zu;
					double v = (hi[3] * fx + hi[4] * fy + hi[5]) / zu;
					acc += material(s, u, v);
				}
			double e = acc / (SS * SS);
			/* Light: shadow ramp across the frame, vignette, glare on top. */
			double nx = (x - w / 2.0) / w, ny = (y - h / 2.0) / h;
			double ramp = 0.5 + nx * s->shadow_dx + ny * s->shadow_dy; /* 0..1 */
			ramp = ramp < 0 ? 0 : ramp > 1 ? 1 : ramp;
			double light =
			        (1 - s->shadow * ramp) * (1 - s->vignette * (nx * nx + ny * ny));
			e *= light;
			if (s->moire > 0) {
				double b = 0.5 +
				           0.25 * cos(2 * PI *
				                      (x * s->moire_k1[0] + y * s->moire_k1[1])) +
				           0.25 * cos(2 * PI *
				                      (x * s->moire_k2[0] + y * s->moire_k2[1]));
				double fine =
				        0.5 +
				        0.5 * cos(2 * PI *
				                  (x * s->moire_fine[0] + y * s->moire_fine[1]));
				e *= 1 - s->moire * (0.7 * b + 0.3 * fine);
			}
			if (s->glare > 0) {
				double gx = x - s->glare_x, gy = y - s->glare_y;
				e += s->glare *
				     exp(-(gx * gx + gy * gy) / (2 * s->glare_r * s->glare_r));
			}
			img[(size_t)y * w + x] = (float)(e * s->gain);
		}
	gaussian_blur(img, tmp, w, h, s->blur);
	motion_blur(img, tmp, w, h, s->motion, s->motion_dir);
	for (size_t i = 0; i < n; i++) {
		double v = img[i] * 255.0;
		v = v > 255 ? 255 : v; /* the sensor saturates before the noise */
		double sigma =
		        sqrt(s->read_noise * s->read_noise + s->shot_noise * (v > 0 ? v : 0));
		v += sigma * rng_gauss(r);
		out[i] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : lround(v));
	}
	free(img);
	free(tmp);
	if (s->jpeg > 0)
		return jpeg_round_trip(out, w, h, s->jpeg, why);
	return QD_OK;
}

/* The module size this frame size sees a card at (see the file comment). */
static double module_px_for(unsigned width, struct rng *r)
{
	return width >= 1000 ? rng_range(r, 5.0, 6.5) : rng_range(r, 3.0, 4.0);
}

/* Camera defaults shared by every kind: a little of everything a real frame has. */
static void scene_defaults(struct scene *s, unsigned w, unsigned h, double module_px, struct rng *r)
{
	s->ink = 0.07;
	s->paper = 0.9;
	s->gain = rng_range(r, 0.85, 0.95);
	s->shadow_dx = rng_range(r, -1, 1);
	s->shadow_dy = rng_range(r, -1, 1);
	s->vignette = 0.3;
	s->blur = 0.15 * module_px; /* a decent lens, focused */
	s->motion_dir = rng_range(r, 0, PI);
	s->read_noise = 2;
	s->shot_noise = 0.05;
	s->glare_x = rng_range(r, 0.35, 0.65) * w;
	s->glare_y = rng_range(r, 0.35, 0.65) * h;
	s->glare_r = module_px * s->width * rng_range(r, 0.12, 0.2);
	double a = rng_range(r, 0, PI), b = a + PI / 2 + rng_range(r, -0.3, 0.3);
	double p1 = rng_range(r, 6, 14), p2 = rng_range(r, 6, 14), pf = rng_range(r, 2.1, 2.6);
	s->moire_k1[0] = cos(a) / p1;
	s->moire_k1[1] = sin(a) / p1;
	s->moire_k2[0] = cos(b) / p2;
	s->moire_k2[1] = sin(b) / p2;
	s->moire_fine[0] = cos(a + 0.1) / pf;
	s->moire_fine[1] = sin(a + 0.1) / pf;
}

static struct rng rng_for(unsigned width, unsigned height, int kind, int level, unsigned index)
{
	struct rng r = {0x5eed0f0de5c0de00u ^ ((uint64_t)width << 48) ^ ((uint64_t)height << 32) ^
	                ((uint64_t)kind << 24) ^ ((uint64_t)level << 16) ^ index};
	(void)rng_next(&r);
	return r;
}

enum qd_err qrscene_render(const char *text, unsigned width, unsigned height,
                           enum qrscene_kind kind, int level, unsigned index, uint8_t *out,
                           struct qd_errmsg *why)
{
	if (text == NULL || out == NULL || (unsigned)kind >= QRSCENE_KINDS || level < 0 ||
	    level >= QRSCENE_LEVELS || width < 16 || height < 16) {
		qd_errmsg_set(why, "qrscene_render: bad arguments");
		return QD_ERR_ARG;
	}
	/* As tools/issuer/qrpng.c encodes: level M, 8-bit hint, case-sensitive. */
	QRcode *qr = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
	if (qr == NULL) {
		qd_errmsg_set(why, "libqrencode cannot encode the text");
		return QD_ERR_TOO_LARGE;
	}
	struct rng r = rng_for(width, height, kind, level, index);
	struct scene s = {.modules = qr->data, .width = qr->width, .seed = rng_next(&r)};
	double m = module_px_for(width, &r);
	scene_defaults(&s, width, height, m, &r);
	double theta = rng_range(&r, -4, 4) * PI / 180, tilt = rng_range(&r, 0, 8) * PI / 180;
	double axis = rng_range(&r, 0, 2 * PI);
	double sign = rng_unit(&r) < 0.5 ? -1 : 1;
	double focal = (double)width; /* a 60-degree webcam */
	const double jpeg_mix[QRSCENE_LEVELS] = {0, 80, 60, 45, 30};
	switch (kind) {
	case QRSCENE_ROTATION:
		theta = sign * rotation_deg[level] * PI / 180 + theta / 4;
		break;
	case QRSCENE_PERSPECTIVE:
		tilt = tilt_deg[level] * PI / 180;
		break;
	case QRSCENE_BLUR:
		s.blur = blur_modules[level] * m;
		break;
	case QRSCENE_MOTION:
		s.motion = motion_modules[level] * m;
		break;
	case QRSCENE_NOISE:
		s.read_noise = noise_sigma[level];
		s.shot_noise = noise_sigma[level] / 16;
		s.gain *= 1 - 0.1 * level; /* a dim room: less signal, same noise */
		break;
	case QRSCENE_CONTRAST:
		s.paper = rng_range(&r, 0.55, 0.8);
		s.ink = s.paper * (1 - contrast[level]);
		break;
	case QRSCENE_SHADOW:
		s.shadow = shadow[level];
		s.vignette = 0.3 + shadow[level] / 2;
		break;
	case QRSCENE_GLARE:
		s.glare = glare[level];
		break;
	case QRSCENE_JPEG:
		s.jpeg = jpeg_quality[level];
		break;
	case QRSCENE_SCREEN_DARK:
	case QRSCENE_SCREEN_MOIRE:
		s.screen = true;
		s.inverted = kind == QRSCENE_SCREEN_DARK;
		s.ink = 0.04;
		s.paper = 1.0;
		s.moire = moire[level];
		break;
	case QRSCENE_CREASE:
		s.crease_shift = crease[level];
		s.crease_shade = crease[level] * 0.6;
		s.cu = s.width * rng_range(&r, 0.35, 0.65);
		s.cv = s.width * rng_range(&r, 0.35, 0.65);
		{
			double a = rng_range(&r, 0, PI);
			s.nu = cos(a);
			s.nv = sin(a);
		}
		break;
	case QRSCENE_OCCLUSION:
		/* A quarter disc over the corner without a finder pattern. */
		s.tr = s.width * sqrt(4 * occlusion[level] / PI);
		s.tu = s.width;
		s.tv = s.width;
		break;
	case QRSCENE_DESK_MIX:
		theta = sign * 8 * level * PI / 180;
		tilt = 8 * level * PI / 180;
		s.blur = (0.15 + 0.06 * level) * m;
		s.read_noise = 2 + 3 * level;
		s.paper = 0.9 - 0.06 * level;
		s.ink = s.paper * (1 - (0.92 - 0.12 * level));
		s.shadow = 0.12 * level;
		s.jpeg = (int)jpeg_mix[level];
		break;
	case QRSCENE_STEEP:
		tilt = steep_deg[level] * PI / 180;
		theta = sign * rng_range(&r, 0, 30) * PI / 180;
		focal = width / 2.0;
		break;
	case QRSCENE_SMALL:
		m = small_px[level];
		s.blur =
		        0.35; /* the lens's own blur, in pixels: no longer a fraction of a module */
		break;
	case QRSCENE_DOTS:
		s.dot = dot_radius[level];
		break;
	case QRSCENE_CLOTH:
		s.wave = cloth_wave[level];
		s.wave_k[0] = 2 * PI / rng_range(&r, 30, 50); /* a fold every 30-50 modules */
		s.wave_k[1] = 2 * PI / rng_range(&r, 30, 50);
		s.wave_phase[0] = rng_range(&r, 0, 2 * PI);
		s.wave_phase[1] = rng_range(&r, 0, 2 * PI);
		break;
	case QRSCENE_FAINT:
		s.paper = 0.9;
		s.ink = s.paper * (1 - faint[level]);
		s.gain *= 0.6; /* a dim room */
		s.read_noise = 4;
		break;
	default:
		break;
	}
	/* The card's centre: anywhere that keeps the turned symbol in the frame. */
	/* Half the turned symbol with its quiet zone, and room for the near side to grow. */
	double extent = m * (s.width / 2.0 + 4) * (fabs(cos(theta)) + fabs(sin(theta))) * 1.15;
	double mx = width / 2.0 - extent, my = height / 2.0 - extent;
	if (mx < 0 || my < 0) {
		QRcode_free(qr);
		qd_errmsg_set(why, "a %d-module symbol does not fit %ux%u", s.width, width, height);
		return QD_ERR_TOO_LARGE;
	}
	double cx = width / 2.0 + rng_range(&r, -0.6, 0.6) * mx;
	double cy = height / 2.0 + rng_range(&r, -0.6, 0.6) * my;
	place(&s, m, theta, tilt, axis, cx, cy, focal);
	enum qd_err rc = develop(&s, width, height, &r, out, why);
	QRcode_free(qr);
	return rc;
}

void qrscene_empty(unsigned width, unsigned height, unsigned index, uint8_t *out)
{
	struct rng r = rng_for(width, height, 0xff, 0, index);
	static const unsigned char none[1] = {0};
	struct scene s = {.modules = none, .width = 57, .field = true, .seed = rng_next(&r)};
	double m = module_px_for(width, &r);
	scene_defaults(&s, width, height, m, &r);
	place(&s, m, rng_range(&r, -0.5, 0.5), rng_range(&r, 0, 0.3), rng_range(&r, 0, 2 * PI),
	      width / 2.0, height / 2.0, (double)width);
	struct qd_errmsg why;
	if (develop(&s, width, height, &r, out, &why) != QD_OK)
		memset(out, 128, (size_t)width * height); /* out of memory: still a frame */
}

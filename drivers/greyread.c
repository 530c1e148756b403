/* SPDX-License-Identifier: Apache-2.0 */
/*
 * greyread.c - the grey look (see greyread.h; why and what it reads:
 * docs/decode.md, "The grey look").
 *
 * 1. Finder candidates: the correlation of each window with a finder
 *    pattern (dark 7 x 7, light 5 x 5, dark 3 x 3 modules; three box sums
 *    from an integral image, so any module size costs the same) at module
 *    sizes from 1 px up, normalised by the window's variance: blur and
 *    faint ink lower the contrast, not the correlation.  Local maxima over
 *    a threshold, the best few kept, then refined to a fraction of a pixel.
 * 2. Triples: three candidates of like size forming a right angle; the
 *    corner is the top-left finder, the turn's sense tells the other two.
 *    The version from their distance in modules, and its neighbours.
 * 3. The grid: the symbol's four corners (a perspective transform),
 *    started from the three finders and moved, a fraction of a module at
 *    a time, while the known modules (finders and their separators, the
 *    timing and alignment patterns, the version blocks) correlate better
 *    with what they must be.  The version whose grid fits best is kept.
 * 4. The modules: the grey level at each module's centre (five points),
 *    made relative to the 9 x 9 modules around it (shadows, glare), then
 *    decided with the blur taken out: a 3 x 3 kernel fitted by least
 *    squares on the known modules predicts each module's value from its
 *    neighbours' colours, and a few sweeps choose each colour against what
 *    the neighbours already spill into it.
 * 5. Drawn again black on white with a quiet zone, and handed to the
 *    caller's decoder (both the plain and the de-blurred decision).
 */
#include "greyread.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MODULE_MIN     1.0  /* px: the smallest module looked for */
#define SCALE_STEP     1.18 /* between module sizes tried */
#define FINDER_MIN     0.30 /* correlation of a finder candidate */
#define VARIANCE_MIN   4.0  /* grey levels squared: flat windows are not finders */
#define CANDIDATES_MAX GREYREAD_CANDIDATES_MAX
#define TRIPLES_MAX    (GREYREAD_TRIES_MAX / 4) /* triples tried, best first: four drawings each */
#define FIT_MIN        0.35 /* correlation of the known modules with a fitted grid */
#define LOCAL_R        4    /* modules: the neighbourhood a module is judged against */
#define DRAW_PX        3    /* px a module when drawn */
#define DRAW_QUIET     4    /* modules of quiet zone drawn */
#define VERSION_MAX    40
#define CAND_CAP       20000 /* raw local maxima kept before suppression */
#define SQRT2          1.4142135623730951
#define TURNED_M_MIN                                                                               \
	2.0 /* px of the turned copy: its smallest module (the first size of the                   \
	     * 1.18 steps over it is 2.29 px there, 3.2 px in the frame) */

struct cand {
	double x, y, m, corr; /* in the frame's pixels */
	bool turned;          /* found in the turned copy (struct turned) */
	double tx, ty, tm;    /* there, in its pixels */
};

struct integral {
	uint32_t *s; /* sums of grey, (w + 1) x (h + 1) */
	uint64_t *q; /* sums of squares */
	unsigned w, h;
};

/* Grey sums over [x0, x1) x [y0, y1), in the image. */
static uint32_t box_s(const struct integral *ii, unsigned x0, unsigned y0, unsigned x1, unsigned y1)
{
	const size_t sw = (size_t)ii->w + 1;
	return ii->s[y1 * sw + x1] - ii->s[y0 * sw + x1] - ii->s[y1 * sw + x0] +
	       ii->s[y0 * sw + x0];
}

static uint64_t box_q(const struct integral *ii, unsigned x0, unsigned y0, unsigned x1, unsigned y1)
{
	const size_t sw = (size_t)ii->w + 1;
	return ii->q[y1 * sw + x1] - ii->q[y0 * sw + x1] - ii->q[y1 * sw + x0] +
	       ii->q[y0 * sw + x0];
}

static bool integral_build(struct integral *ii, const uint8_t *src, unsigned w, unsigned h)
{
	const size_t sw = (size_t)w + 1, n = sw * ((size_t)h + 1);
	ii->w = w;
	ii->h = h;
	ii->s = calloc(n, sizeof(*ii->s));
	ii->q = calloc(n, sizeof(*ii->q));
	if (ii->s == NULL || ii->q == NULL)
		return false;
	for (unsigned y = 0; y < h; y++) {
		uint32_t rs = 0;
		uint64_t rq = 0;
		for (unsigned x = 0; x < w; x++) {
			const unsigned v = src[(size_t)y * w + x];
			rs += v;
			rq += (uint64_t)v * v;
			ii->s[(y + 1) * sw + x + 1] = ii->s[y * sw + x + 1] + rs;
			ii->q[(y + 1) * sw + x + 1] = ii->q[y * sw + x + 1] + rq;
		}
	}
	return true;
}

/* A finder template's half sides in px (boxes of 2r + 1) for a module of m px: the pattern's
 * 7, 5 and 3 modules, and 9 with its light separator. */
struct radii {
	int r9, r7, r5, r3;
};

static struct radii radii_for(double m)
{
	struct radii r = {(int)lround(4.5 * m - 0.5), (int)lround(3.5 * m - 0.5),
	                  (int)lround(2.5 * m - 0.5), (int)lround(1.5 * m - 0.5)};
	if (r.r7 >= r.r9)
		r.r7 = r.r9 - 1;
	if (r.r5 >= r.r7)
		r.r5 = r.r7 - 1;
	if (r.r3 >= r.r5)
		r.r3 = r.r5 - 1;
	if (r.r3 < 0)
		r.r3 = 0;
	return r;
}

/* The grey sum of the box of half side r around pixel (x, y), in the image. */
static double box_at(const struct integral *ii, int x, int y, int r)
{
	return box_s(ii, (unsigned)(x - r), (unsigned)(y - r), (unsigned)(x + r + 1),
	             (unsigned)(y + r + 1));
}

/*
 * The correlation of the window centred on pixel (x, y) with a finder pattern and its
 * separator (dark 1, light 0, its mean taken out): 1 for a perfect one, whatever its
 * contrast.  -2 where the window leaves the image or is flat.
 */
static double finder_corr(const struct integral *ii, int x, int y, struct radii r)
{
	if (r.r5 < 1 || x - r.r9 < 0 || y - r.r9 < 0 || x + r.r9 >= (int)ii->w ||
	    y + r.r9 >= (int)ii->h)
		return -2;
	const double a9 = (double)(2 * r.r9 + 1) * (2 * r.r9 + 1),
	             a7 = (double)(2 * r.r7 + 1) * (2 * r.r7 + 1),
	             a5 = (double)(2 * r.r5 + 1) * (2 * r.r5 + 1),
	             a3 = (double)(2 * r.r3 + 1) * (2 * r.r3 + 1);
	const double s9 = box_at(ii, x, y, r.r9), s7 = box_at(ii, x, y, r.r7),
	             s5 = box_at(ii, x, y, r.r5), s3 = box_at(ii, x, y, r.r3);
	const double q = (double)box_q(ii, (unsigned)(x - r.r9), (unsigned)(y - r.r9),
	                               (unsigned)(x + r.r9 + 1), (unsigned)(y + r.r9 + 1)) -
	                 s9 * s9 / a9;
	if (q < VARIANCE_MIN * a9)
		return -2;
	/* Template t = -B9 + 2 B7 - 2 B5 + 2 B3 (+1 the dark rings, -1 the light), less its mean
	 * k; its square sums to a9 (1 - k^2). */
	const double k = (-a9 + 2 * a7 - 2 * a5 + 2 * a3) / a9;
	const double dot = -s9 + 2 * s7 - 2 * s5 + 2 * s3 - k * s9;
	const double norm = a9 * (1 - k * k) * q;
	return norm > 0 ? -dot / sqrt(norm) : -2;
}

/* How far a candidate stands out: its correlation weighted by the root of its side (the same
 * correlation over more pixels is less likely to be texture or noise). */
static double weight(const struct cand *c)
{
	return c->corr * sqrt(c->m);
}

/* By weight, the heaviest first; equals by place and size (upright first, then top to bottom,
 * left to right, small to large), so the order never depends on qsort's among equals. */
static int cand_by_weight(const void *a, const void *b)
{
	const struct cand *p = a, *q = b;
	const double wp = weight(p), wq = weight(q);
	if (wp != wq)
		return wp < wq ? 1 : -1;
	if (p->turned != q->turned)
		return p->turned ? 1 : -1;
	const double kp[3] = {p->y, p->x, p->m}, kq[3] = {q->y, q->x, q->m};
	for (int i = 0; i < 3; i++)
		if (kp[i] != kq[i])
			return kp[i] < kq[i] ? -1 : 1;
	return 0;
}

/*
 * The frame turned 45 degrees, for symbols the upright boxes miss (turned 25-65 degrees): its
 * pixel (p, q) is the mean of the frame's pixels (x, y) and (x + 1, y), x = p + q - off,
 * y = p - q + off (the frame's pixels on every other diagonal; a turn and a mirror, which a
 * finder pattern does not tell apart).  A module of m px in the frame is m / sqrt 2 px here.
 */
struct turned {
	uint8_t *px;
	unsigned side;
	int off;
	unsigned w, h; /* the frame's */
};

/* Where a point (x, y) of the turned copy is in the frame. */
static void turned_to_frame(const struct turned *t, double x, double y, double *fx, double *fy)
{
	*fx = x + y - t->off;
	*fy = x - y + t->off + 0.5;
}

/* The largest module looked for: a symbol of 25 modules across the frame's short side. */
static double module_max(unsigned w, unsigned h)
{
	return (w < h ? w : h) / 25.0;
}

/* The side of the frame turned 45 degrees (its copy is side x side). */
static unsigned turned_side(unsigned w, unsigned h)
{
	return (w + h) / 2 + 1;
}

/*
 * Whether the turned search is taken: its smallest module must fit the frame's largest
 * (a side of 25 modules), and its copy, (w + h)^2 / 4 pixels, must stay within twice the
 * frame's limit — a long thin frame of few pixels would otherwise ask for gigabytes.
 */
static bool turned_wanted(unsigned w, unsigned h)
{
	const size_t side = turned_side(w, h);
	return module_max(w, h) / SQRT2 >= TURNED_M_MIN &&
	       side * side <= 2 * (size_t)GREYREAD_PIXELS_MAX;
}

/*
 * Whether the window of half side r centred on the turned copy's pixel (x, y) reads only the
 * frame's pixels: its four corners within the frame (the frame is convex there too).  The rest
 * of the copy, about half of it, is the frame's border repeated, where no finder can be.
 */
static bool turned_holds(const struct turned *t, int x, int y, int r)
{
	const long w = t->w, h = t->h, off = t->off, a = (long)x + y, b = (long)x - y;
	return a - 2 * r - off >= 0 && a + 2 * r - off <= w - 2 && b - 2 * r + off >= 0 &&
	       b + 2 * r + off <= h - 1;
}

static bool turned_build(struct turned *t, const uint8_t *src, unsigned w, unsigned h)
{
	t->w = w;
	t->h = h;
	t->off = (int)h / 2;
	t->side = turned_side(w, h);
	t->px = malloc((size_t)t->side * t->side);
	if (t->px == NULL)
		return false;
	for (int q = 0; q < (int)t->side; q++)
		for (int p = 0; p < (int)t->side; p++) {
			int x = p + q - t->off, y = p - q + t->off;
			/* Outside the frame: its nearest border pixel. */
			x = x < 0 ? 0 : x > (int)w - 2 ? (int)w - 2 : x;
			y = y < 0 ? 0 : y > (int)h - 1 ? (int)h - 1 : y;
			const uint8_t *r = src + (size_t)y * w + (size_t)x;
			t->px[(size_t)q * t->side + (size_t)p] = (uint8_t)((r[0] + r[1] + 1) / 2);
		}
	return true;
}

/* A candidate found in the turned copy (at tx, ty, tm), placed in the frame. */
static void cand_place(const struct turned *t, struct cand *c)
{
	if (t == NULL || !c->turned)
		return;
	turned_to_frame(t, c->tx, c->ty, &c->x, &c->y);
	c->m = c->tm * SQRT2;
}

/* What the finder search counted (greyread_stats). */
struct scan_count {
	size_t windows; /* windows correlated */
	size_t grid;    /* windows in the grids scanned, those not correlated included */
	unsigned halved;
};

/* The local maxima of the finder correlation at one module size, appended to *list (t: the
 * integral is the turned copy's, NULL the frame's; only its windows over the frame's pixels
 * are correlated). */
static bool scan_scale(const struct integral *ii, const struct turned *t, double m, float *map,
                       struct cand *list, size_t *n, struct scan_count *count)
{
	const struct radii r = radii_for(m);
	/* The frame at a step of half a module; the turned copy, a second look, of a module
	 * (refine finds the peak between). */
	const int step = m < 2 ? 1 : t != NULL ? (int)m : (int)(m / 2);
	const int x0 = r.r9, y0 = r.r9;
	if ((unsigned)(2 * r.r9 + 1) >= ii->w || (unsigned)(2 * r.r9 + 1) >= ii->h)
		return false;
	const int gw = ((int)ii->w - 2 * r.r9 - 1) / step + 1,
	          gh = ((int)ii->h - 2 * r.r9 - 1) / step + 1;
	count->grid += (size_t)gw * gh;
	for (int j = 0; j < gh; j++)
		for (int i = 0; i < gw; i++) {
			const int x = x0 + i * step, y = y0 + j * step;
			const bool in = t == NULL || turned_holds(t, x, y, r.r9);
			map[(size_t)j * gw + i] = in ? (float)finder_corr(ii, x, y, r) : -2.0f;
			count->windows += in;
		}
	for (int j = 0; j < gh; j++)
		for (int i = 0; i < gw; i++) {
			const float c = map[(size_t)j * gw + i];
			if (c < FINDER_MIN)
				continue;
			bool peak = true;
			for (int dj = -1; dj <= 1 && peak; dj++)
				for (int di = -1; di <= 1 && peak; di++) {
					const int u = i + di, v = j + dj;
					if ((di || dj) && u >= 0 && v >= 0 && u < gw && v < gh) {
						const float o = map[(size_t)v * gw + u];
						/* Ties: the first in scan order is the peak. */
						peak = o < c ||
						       (o == c && (dj > 0 || (dj == 0 && di > 0)));
					}
				}
			if (!peak)
				continue;
			/* Full (a frame of fine texture): the better half kept, so a texture of
			 * small sizes, scanned first, never crowds out a symbol's finders. */
			if (*n == CAND_CAP) {
				qsort(list, *n, sizeof(*list), cand_by_weight);
				*n = CAND_CAP / 2;
				count->halved++;
			}
			{
				struct cand *k = &list[(*n)++];
				*k = (struct cand){
				        x0 + i * step + 0.5, y0 + j * step + 0.5, m, c, t != NULL,
				        x0 + i * step + 0.5, y0 + j * step + 0.5, m};
				cand_place(t, k);
			}
		}
	return true;
}

/* The vertex of the parabola through (-1, a), (0, b), (1, c), within half a step. */
static double vertex(double a, double b, double c)
{
	const double d = a - 2 * b + c;
	if (d >= 0 || a < -1 || c < -1)
		return 0;
	const double t = 0.5 * (a - c) / d;
	return t < -0.5 ? -0.5 : t > 0.5 ? 0.5 : t;
}

/* A candidate moved to the best pixel and size near it, then to a fraction of a pixel. */
static void refine(const struct integral *ii, struct cand *c)
{
	const int span = c->m < 2 ? 1 : (int)(c->m / 2);
	const int cx = (int)c->x, cy = (int)c->y;
	double best = c->corr, bm = c->m;
	int bx = cx, by = cy;
	static const double sizes[] = {0.85, 0.92, 1.0, 1.08, 1.17};
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		const double m = c->m * sizes[s];
		const struct radii r = radii_for(m);
		for (int dy = -span; dy <= span; dy++)
			for (int dx = -span; dx <= span; dx++) {
				const double v = finder_corr(ii, cx + dx, cy + dy, r);
				if (v > best) {
					best = v;
					bm = m;
					bx = cx + dx;
					by = cy + dy;
				}
			}
	}
	const struct radii r = radii_for(bm);
	c->x = bx + 0.5 +
	       vertex(finder_corr(ii, bx - 1, by, r), best, finder_corr(ii, bx + 1, by, r));
	c->y = by + 0.5 +
	       vertex(finder_corr(ii, bx, by - 1, r), best, finder_corr(ii, bx, by + 1, r));
	c->m = bm;
	c->corr = best;
}

/* The module sizes from m_min to m_max px scanned in one image (t: the turned copy). */
static void scan_sizes(const struct integral *ii, const struct turned *t, double m_min,
                       double m_max, float *map, struct cand *list, size_t *n,
                       struct scan_count *count)
{
	struct radii last = {-1, -1, -1, -1};
	for (int i = 0;; i++) {
		const double m = MODULE_MIN * pow(SCALE_STEP, i);
		if (m > m_max)
			break;
		if (m < m_min)
			continue;
		const struct radii r = radii_for(m);
		if (r.r9 == last.r9 && r.r7 == last.r7 && r.r5 == last.r5 && r.r3 == last.r3)
			continue; /* the same boxes as the last size */
		last = r;
		if (!scan_scale(ii, t, m, map, list, n, count))
			break;
	}
}

/*
 * Finder candidates: the best CANDIDATES_MAX local maxima, none within another's pattern, in
 * the frame (t NULL: ii is the frame's integral) or in its turned copy (ii is t's; the
 * candidates placed in the frame, those whose window leaves it dropped).
 */
static size_t find_finders(const struct integral *ii, const struct turned *t, unsigned w,
                           unsigned h, struct cand *out, struct scan_count *count, bool *nomem)
{
	const double m_max = module_max(w, h);
	struct cand *list = malloc(CAND_CAP * sizeof(*list));
	float *map = malloc((size_t)ii->w * ii->h * sizeof(*map));
	size_t n = 0, kept = 0;
	if (list == NULL || map == NULL) {
		*nomem = true;
		goto out;
	}
	if (t == NULL)
		scan_sizes(ii, NULL, MODULE_MIN, m_max, map, list, &n, count);
	else
		scan_sizes(ii, t, TURNED_M_MIN, m_max / SQRT2, map, list, &n, count);
	qsort(list, n, sizeof(*list), cand_by_weight);
	for (size_t i = 0; i < n && kept < CANDIDATES_MAX; i++) {
		/* The turned copy's window, a square of 9 modules, in the frame. */
		const double half = 4.5 * list[i].m * SQRT2;
		if (list[i].turned && (list[i].x < half || list[i].y < half ||
		                       list[i].x + half > w || list[i].y + half > h))
			continue;
		bool near = false;
		for (size_t k = 0; k < kept && !near; k++) {
			const double dx = list[i].x - out[k].x, dy = list[i].y - out[k].y,
			             m = list[i].m > out[k].m ? list[i].m : out[k].m;
			near = dx * dx + dy * dy < 3.5 * m * 3.5 * m;
		}
		if (!near)
			out[kept++] = list[i];
	}
	for (size_t k = 0; k < kept; k++) {
		struct cand *c = &out[k];
		if (!c->turned) {
			refine(ii, c);
			continue;
		}
		struct cand r = {c->tx, c->ty, c->tm, c->corr, false, 0, 0, 0};
		refine(ii, &r);
		c->tx = r.x;
		c->ty = r.y;
		c->tm = r.m;
		c->corr = r.corr;
		cand_place(t, c);
	}
out:
	free(list);
	free(map);
	return kept;
}

/* A perspective transform of the unit square onto a quadrilateral (corners p[0..3]: (0,0),
 * (1,0), (1,1), (0,1)). */
struct persp {
	double a11, a12, a13, a21, a22, a23, a31, a32;
};

static bool persp_from(const double p[8], struct persp *t)
{
	const double x0 = p[0], y0 = p[1], x1 = p[2], y1 = p[3], x2 = p[4], y2 = p[5], x3 = p[6],
	             y3 = p[7];
	const double dx3 = x0 - x1 + x2 - x3, dy3 = y0 - y1 + y2 - y3;
	const double dx1 = x1 - x2, dx2 = x3 - x2, dy1 = y1 - y2, dy2 = y3 - y2;
	const double den = dx1 * dy2 - dx2 * dy1;
	if (!(fabs(den) > 1e-9))
		return false;
	t->a13 = (dx3 * dy2 - dx2 * dy3) / den;
	t->a23 = (dx1 * dy3 - dx3 * dy1) / den;
	t->a11 = x1 - x0 + t->a13 * x1;
	t->a21 = x3 - x0 + t->a23 * x3;
	t->a31 = x0;
	t->a12 = y1 - y0 + t->a13 * y1;
	t->a22 = y3 - y0 + t->a23 * y3;
	t->a32 = y0;
	return true;
}

/* The grey level at (x, y) in pixel coordinates (pixel i spans [i, i + 1)), bilinear; the
 * border repeats, and a point that is not a number reads the corner. */
static double grey_at(const uint8_t *p, unsigned w, unsigned h, double x, double y)
{
	x -= 0.5;
	y -= 0.5;
	if (!(x >= 0))
		x = 0;
	if (!(y >= 0))
		y = 0;
	if (x > w - 1.0)
		x = w - 1.0;
	if (y > h - 1.0)
		y = h - 1.0;
	unsigned ix = (unsigned)x, iy = (unsigned)y;
	if (ix + 1 >= w)
		ix = w - 2;
	if (iy + 1 >= h)
		iy = h - 2;
	const double fx = x - ix, fy = y - iy;
	const uint8_t *r0 = p + (size_t)iy * w + ix, *r1 = r0 + w;
	return (r0[0] * (1 - fx) + r0[1] * fx) * (1 - fy) + (r1[0] * (1 - fx) + r1[1] * fx) * fy;
}

/* Where t puts module coordinates (u, v) of a symbol n modules a side; false where it is
 * degenerate. */
static bool persp_map(const struct persp *t, int n, double u, double v, double *x, double *y)
{
	u /= n;
	v /= n;
	const double den = t->a13 * u + t->a23 * v + 1;
	if (!(fabs(den) > 1e-9))
		return false;
	*x = (t->a11 * u + t->a21 * v + t->a31) / den;
	*y = (t->a12 * u + t->a22 * v + t->a32) / den;
	return true;
}

/* The grey level at module coordinates (u, v) of a symbol n modules a side. */
static double sample(const uint8_t *p, unsigned w, unsigned h, const struct persp *t, int n,
                     double u, double v)
{
	double x = 0, y = 0; /* degenerate: the corner pixel, a sample the rest outvote */
	(void)persp_map(t, n, u, v, &x, &y);
	return grey_at(p, w, h, x, y);
}

/* Pearson's correlation of samples s with known colours t (-1 dark, 1 light), summed as
 * they come. */
struct corr_acc {
	double st, ss, stt, sss, sst;
	unsigned n;
};

static void corr_add(struct corr_acc *c, double s, double t)
{
	c->st += t;
	c->ss += s;
	c->stt += t * t;
	c->sss += s * s;
	c->sst += s * t;
	c->n++;
}

static double corr_value(const struct corr_acc *c)
{
	const double k = (double)c->n;
	const double cov = c->sst - c->st * c->ss / k, vt = c->stt - c->st * c->st / k,
	             vs = c->sss - c->ss * c->ss / k;
	return vt > 0 && vs > 0 ? cov / sqrt(vt * vs) : -2;
}

/* Alignment pattern centres of a version (ISO/IEC 18004, annex E); 0 ends the list. */
static const uint8_t align_pos[VERSION_MAX + 1][8] = {
        {0},
        {0},
        {6, 18},
        {6, 22},
        {6, 26},
        {6, 30},
        {6, 34},
        {6, 22, 38},
        {6, 24, 42},
        {6, 26, 46},
        {6, 28, 50},
        {6, 30, 54},
        {6, 32, 58},
        {6, 34, 62},
        {6, 26, 46, 66},
        {6, 26, 48, 70},
        {6, 26, 50, 74},
        {6, 30, 54, 78},
        {6, 30, 56, 82},
        {6, 30, 58, 86},
        {6, 34, 62, 90},
        {6, 28, 50, 72, 94},
        {6, 26, 50, 74, 98},
        {6, 30, 54, 78, 102},
        {6, 28, 54, 80, 106},
        {6, 32, 58, 84, 110},
        {6, 30, 58, 86, 114},
        {6, 34, 62, 90, 118},
        {6, 26, 50, 74, 98, 122},
        {6, 30, 54, 78, 102, 126},
        {6, 26, 52, 78, 104, 130},
        {6, 30, 56, 82, 108, 134},
        {6, 34, 60, 86, 112, 138},
        {6, 30, 58, 86, 114, 142},
        {6, 34, 62, 90, 118, 146},
        {6, 30, 54, 78, 102, 126, 150},
        {6, 24, 50, 76, 102, 128, 154},
        {6, 28, 54, 80, 106, 132, 158},
        {6, 32, 58, 84, 110, 136, 162},
        {6, 26, 54, 82, 110, 138, 166},
        {6, 30, 58, 86, 114, 142, 170},
};

/* The 18-bit version information block: the version and its BCH(18, 6) check bits. */
unsigned greyread_version_info(unsigned version)
{
	unsigned v = version << 12;
	for (int i = 17; i >= 12; i--)
		if (v & (1u << i))
			v ^= 0x1F25u << (i - 12);
	return version << 12 | v;
}

/* The modules whose colour the standard fixes, for a symbol of a version: -1 unknown, 0 light,
 * 1 dark (n x n, row-major). */
static void known_modules(unsigned version, int n, int8_t *k)
{
	memset(k, -1, (size_t)n * n);
	/* Finders with their separators (the separator's far side is the quiet zone). */
	const int fx[3] = {0, n - 7, 0}, fy[3] = {0, 0, n - 7};
	for (int f = 0; f < 3; f++)
		for (int dy = -1; dy <= 7; dy++)
			for (int dx = -1; dx <= 7; dx++) {
				const int u = fx[f] + dx, v = fy[f] + dy;
				if (u < 0 || v < 0 || u >= n || v >= n)
					continue;
				const int ring =
				        abs(dx - 3) > abs(dy - 3) ? abs(dx - 3) : abs(dy - 3);
				k[v * n + u] = ring == 4 || ring == 2 ? 0 : 1;
			}
	for (int i = 8; i < n - 8; i++) {
		k[6 * n + i] = (int8_t)(i % 2 == 0);
		k[i * n + 6] = (int8_t)(i % 2 == 0);
	}
	const uint8_t *pos = align_pos[version];
	for (int a = 0; a < 8 && pos[a]; a++)
		for (int b = 0; b < 8 && pos[b]; b++) {
			const int cx = pos[a], cy = pos[b];
			if ((cx == 6 && cy == 6) || (cx == 6 && cy == n - 7) ||
			    (cx == n - 7 && cy == 6))
				continue; /* under a finder */
			for (int dy = -2; dy <= 2; dy++)
				for (int dx = -2; dx <= 2; dx++) {
					const int ring = abs(dx) > abs(dy) ? abs(dx) : abs(dy);
					k[(cy + dy) * n + cx + dx] = ring != 1;
				}
		}
	k[(n - 8) * n + 8] = 1; /* the dark module */
	if (version >= 7) {
		const unsigned info = greyread_version_info(version);
		for (int b = 0; b < 18; b++) {
			const int8_t bit = (int8_t)((info >> b) & 1);
			k[(n - 11 + b % 3) * n + b / 3] = bit;
			k[(b / 3) * n + n - 11 + b % 3] = bit;
		}
	}
}

struct grid {
	const uint8_t *src;
	unsigned w, h;
	int n;
	const int8_t *known;
	const int *idx; /* the known modules' indices */
	size_t nidx;
};

/* How well a grid (the symbol's corners) fits: the known modules' correlation with their
 * colours (dark low), -2 for a degenerate one. */
static double fit_score(const struct grid *g, const double corners[8])
{
	struct persp t;
	if (!persp_from(corners, &t))
		return -2;
	struct corr_acc c = {0};
	for (size_t i = 0; i < g->nidx; i++) {
		const int u = g->idx[i] % g->n, v = g->idx[i] / g->n;
		corr_add(&c, sample(g->src, g->w, g->h, &t, g->n, u + 0.5, v + 0.5),
		         g->known[g->idx[i]] ? -1 : 1);
	}
	return corr_value(&c);
}

/* The corners moved a fraction of a module at a time while the fit improves. */
static double fit_grid(const struct grid *g, double corners[8], double module_px)
{
	double best = fit_score(g, corners);
	static const double steps[] = {0.5, 0.25, 0.12};
	for (size_t s = 0; s < sizeof(steps) / sizeof(steps[0]); s++) {
		const double d = steps[s] * module_px;
		for (int pass = 0; pass < 4; pass++) {
			bool moved = false;
			for (int i = 0; i < 8; i++)
				for (int sign = -1; sign <= 1; sign += 2) {
					const double keep = corners[i];
					corners[i] = keep + sign * d;
					const double v = fit_score(g, corners);
					if (v > best) {
						best = v;
						moved = true;
					} else {
						corners[i] = keep;
					}
				}
			if (!moved)
				break;
		}
	}
	return best;
}

/* Solves a (n x n, row-major, with the right-hand side as column n) by elimination;
 * false when singular. */
static bool solve(double *a, int n, double *x)
{
	const int c = n + 1;
	for (int i = 0; i < n; i++) {
		int p = i;
		for (int r = i + 1; r < n; r++)
			if (fabs(a[r * c + i]) > fabs(a[p * c + i]))
				p = r;
		if (!(fabs(a[p * c + i]) > 1e-12))
			return false;
		for (int k = 0; k < c; k++) {
			const double tmp = a[i * c + k];
			a[i * c + k] = a[p * c + k];
			a[p * c + k] = tmp;
		}
		for (int r = 0; r < n; r++) {
			if (r == i)
				continue;
			const double f = a[r * c + i] / a[i * c + i];
			for (int k = i; k < c; k++)
				a[r * c + k] -= f * a[i * c + k];
		}
	}
	for (int i = 0; i < n; i++)
		x[i] = a[i * c + n] / a[i * c + i];
	return true;
}

/* A module's colour as +1 dark, -1 light; outside the symbol the quiet zone (light). */
static int colour(const uint8_t *bits, int n, int u, int v)
{
	return u < 0 || v < 0 || u >= n || v >= n ? -1 : bits[v * n + u] ? 1 : -1;
}

#define KERNEL_R_MAX 2 /* the widest blur kernel fitted: 5 x 5 modules */
#define KERNEL_MAX   ((2 * KERNEL_R_MAX + 1) * (2 * KERNEL_R_MAX + 1) + 1)

/*
 * Fits z = w[0] + the sum over the (2r + 1)^2 modules around of w[1 + j] * colour (+1 dark,
 * -1 light), least squares over the modules with a colour: the known ones whose neighbours
 * are all known (known_only), or all of them as bits has them.  False when too few modules
 * or a kernel without a positive centre.
 */
static bool fit_kernel(const double *z, const int8_t *known, const uint8_t *bits, int n, int r,
                       bool known_only, double *w)
{
	const int side = 2 * r + 1, m = side * side + 1, c = m + 1;
	double a[KERNEL_MAX * (KERNEL_MAX + 1)];
	memset(a, 0, sizeof(a));
	int rows = 0;
	for (int v = 0; v < n; v++)
		for (int u = 0; u < n; u++) {
			if (known_only && known[v * n + u] < 0)
				continue;
			double f[KERNEL_MAX] = {1};
			bool all = true;
			for (int j = 0; j < side * side && all; j++) {
				const int uu = u + j % side - r, vv = v + j / side - r;
				all = !known_only || uu < 0 || vv < 0 || uu >= n || vv >= n ||
				      known[vv * n + uu] >= 0;
				f[j + 1] = colour(bits, n, uu, vv);
			}
			if (!all)
				continue;
			rows++;
			for (int i = 0; i < m; i++) {
				for (int j = 0; j < m; j++)
					a[i * c + j] += f[i] * f[j];
				a[i * c + m] += f[i] * z[v * n + u];
			}
		}
	if (rows < 2 * m)
		return false;
	for (int i = 0; i < m; i++)
		a[i * c + i] += 1e-3 * rows; /* a little ridge: the finders alone are symmetric */
	return solve(a, m, w) && w[1 + (side * side) / 2] > 0.05;
}

/* Each unknown module's colour chosen against what its neighbours spill into it (kernel w of
 * radius r), a few sweeps from bits as they are. */
static void equalise(const double *z, const int8_t *known, int n, int r, const double *w,
                     uint8_t *bits)
{
	const int side = 2 * r + 1, centre = (side * side) / 2;
	for (int sweep = 0; sweep < 4; sweep++)
		for (int v = 0; v < n; v++)
			for (int u = 0; u < n; u++) {
				if (known[v * n + u] >= 0)
					continue;
				double rest = w[0];
				for (int j = 0; j < side * side; j++)
					if (j != centre)
						rest += w[j + 1] * colour(bits, n, u + j % side - r,
						                          v + j / side - r);
				bits[v * n + u] = z[v * n + u] - rest > 0;
			}
}

/*
 * The modules' colours from their samples z (darkness relative to the neighbourhood): plain
 * (z > 0); eq3, the blur of a 3 x 3 kernel fitted on the known modules taken out; eq5, a 5 x 5
 * kernel fitted on every module as eq3 has them (heavier blur, motion) taken out.  Returns
 * how many of eq3, eq5 were made (0: plain only).
 */
static int decide(const double *z, const int8_t *known, int n, uint8_t *plain, uint8_t *eq3,
                  uint8_t *eq5)
{
	for (int i = 0; i < n * n; i++)
		plain[i] = known[i] >= 0 ? (uint8_t)known[i] : z[i] > 0;
	double w[KERNEL_MAX];
	if (!fit_kernel(z, known, plain, n, 1, true, w))
		return 0;
	memcpy(eq3, plain, (size_t)n * n);
	equalise(z, known, n, 1, w, eq3);
	if (!fit_kernel(z, known, eq3, n, 2, false, w))
		return 1;
	memcpy(eq5, eq3, (size_t)n * n);
	equalise(z, known, n, 2, w, eq5);
	return 2;
}

/* Darkness of each module against the LOCAL_R neighbourhood: (mean - s) / deviation. */
static void normalise(const double *s, int n, double *z)
{
	for (int v = 0; v < n; v++)
		for (int u = 0; u < n; u++) {
			double sum = 0, sq = 0;
			int cnt = 0;
			for (int dv = -LOCAL_R; dv <= LOCAL_R; dv++)
				for (int du = -LOCAL_R; du <= LOCAL_R; du++) {
					const int uu = u + du, vv = v + dv;
					if (uu < 0 || vv < 0 || uu >= n || vv >= n)
						continue;
					const double x = s[vv * n + uu];
					sum += x;
					sq += x * x;
					cnt++;
				}
			const double mean = sum / cnt, var = sq / cnt - mean * mean;
			z[v * n + u] = (mean - s[v * n + u]) / sqrt(var > 1 ? var : 1);
		}
}

/* bits drawn black on white, DRAW_PX a module, with a quiet zone; then try. */
static enum qd_err draw_try(const uint8_t *bits, int n, uint8_t *img, greyread_try_fn try_fn,
                            void *arg, bool *done, struct greyread_stats *st)
{
	const unsigned side = (unsigned)(n + 2 * DRAW_QUIET) * DRAW_PX;
	memset(img, 255, (size_t)side * side);
	for (int v = 0; v < n; v++)
		for (int u = 0; u < n; u++)
			if (bits[v * n + u])
				for (int y = 0; y < DRAW_PX; y++)
					memset(img +
					               ((size_t)(v + DRAW_QUIET) * DRAW_PX + y) *
					                       side +
					               (size_t)(u + DRAW_QUIET) * DRAW_PX,
					       0, DRAW_PX);
	st->tries++;
	return try_fn(arg, img, side, side, done);
}

/* Scratch for one symbol of up to VERSION_MAX. */
#define N_MAX (17 + 4 * VERSION_MAX)
struct symbol {
	int8_t known[N_MAX * N_MAX];
	int8_t guess[N_MAX * N_MAX]; /* every module's colour as a first read has it */
	int idx[N_MAX * N_MAX];
	double s[N_MAX * N_MAX], z[N_MAX * N_MAX];
	uint8_t plain[N_MAX * N_MAX], eq3[N_MAX * N_MAX], eq5[N_MAX * N_MAX];
	uint8_t img[(N_MAX + 2 * DRAW_QUIET) * DRAW_PX * (N_MAX + 2 * DRAW_QUIET) * DRAW_PX];
};

/* The grid of one version on a triple: its fit, and the corners in c. */
static double fit_version(const uint8_t *src, unsigned w, unsigned h, const struct cand *tl,
                          const struct cand *tr, const struct cand *bl, unsigned version,
                          struct symbol *sym, double c[8])
{
	const int n = 17 + 4 * (int)version;
	known_modules(version, n, sym->known);
	size_t k = 0;
	for (int i = 0; i < n * n; i++)
		if (sym->known[i] >= 0)
			sym->idx[k++] = i;
	const struct grid g = {src, w, h, n, sym->known, sym->idx, k};
	/* p(u, v) = tl + (u - 3.5) ex + (v - 3.5) ey, the finders' centres at 3.5 and n - 3.5. */
	const double ex = (tr->x - tl->x) / (n - 7), ey_x = (bl->x - tl->x) / (n - 7);
	const double exy = (tr->y - tl->y) / (n - 7), ey = (bl->y - tl->y) / (n - 7);
	const double uu[4] = {0, n, n, 0}, vv[4] = {0, 0, n, n};
	for (int i = 0; i < 4; i++) {
		c[2 * i] = tl->x + (uu[i] - 3.5) * ex + (vv[i] - 3.5) * ey_x;
		c[2 * i + 1] = tl->y + (uu[i] - 3.5) * exy + (vv[i] - 3.5) * ey;
	}
	const double module_px = sqrt(ex * ex + exy * exy);
	return fit_grid(&g, c, module_px);
}

/*
 * Where module coordinates fall in the image: the perspective transform, plus the local
 * shifts measured at the alignment patterns (nodes: their centres, a grid of them), for
 * print that is not flat (cloth, a fold).
 */
#define NODES_MAX 26 /* a node every 7 modules at version 40 */
#define NODE_STEP 7
_Static_assert((17 + 4 * VERSION_MAX - 7 + NODE_STEP - 1) / NODE_STEP + 1 <= NODES_MAX,
               "the nodes of the largest symbol fit");
struct place {
	struct persp t;
	int n, nodes;
	double pos[NODES_MAX];
	double dx[NODES_MAX * NODES_MAX], dy[NODES_MAX * NODES_MAX];
};

/* Between nodes: node i below u (clamped to the grid), and how far towards the next. */
static int node_below(const struct place *p, double u, double *f)
{
	int i = 0;
	while (i + 2 < p->nodes && u >= p->pos[i + 1])
		i++;
	const double t = (u - p->pos[i]) / (p->pos[i + 1] - p->pos[i]);
	*f = t < 0 ? 0 : t > 1 ? 1 : t;
	return i;
}

static double sample_at(const uint8_t *src, unsigned w, unsigned h, const struct place *p, double u,
                        double v)
{
	double x = 0, y = 0;
	if (!persp_map(&p->t, p->n, u, v, &x, &y))
		return grey_at(src, w, h, 0, 0);
	if (p->nodes >= 2) {
		double fu, fv;
		const int i = node_below(p, u, &fu), j = node_below(p, v, &fv), k = p->nodes;
		const int a = j * k + i, b = a + 1, c = a + k, d = c + 1;
		x += (p->dx[a] * (1 - fu) + p->dx[b] * fu) * (1 - fv) +
		     (p->dx[c] * (1 - fu) + p->dx[d] * fu) * fv;
		y += (p->dy[a] * (1 - fu) + p->dy[b] * fu) * (1 - fv) +
		     (p->dy[c] * (1 - fu) + p->dy[d] * fu) * fv;
	}
	return grey_at(src, w, h, x, y);
}

/*
 * The shift at each node (k a side, at modules pos[]): where the modules of a known colour
 * within 4 of it fit best, within 3/4 of a module of where the transform puts them.
 */
static void measure_shifts(const uint8_t *src, unsigned w, unsigned h, const int *pos, int k,
                           const int8_t *known, double module_px, struct place *p)
{
	p->nodes = k < 2 ? 0 : k; /* k <= NODES_MAX: the assertion at NODES_MAX */
	if (p->nodes == 0)
		return;
	for (int i = 0; i < p->nodes; i++)
		p->pos[i] = pos[i] + 0.5;
	memset(p->dx, 0, sizeof(p->dx));
	memset(p->dy, 0, sizeof(p->dy));
	for (int b = 0; b < k; b++)
		for (int a = 0; a < k; a++) {
			double px[81], py[81], t[81];
			int m = 0;
			for (int v = pos[b] - 4; v <= pos[b] + 4; v++)
				for (int u = pos[a] - 4; u <= pos[a] + 4; u++) {
					if (u < 0 || v < 0 || u >= p->n || v >= p->n ||
					    known[v * p->n + u] < 0)
						continue;
					/* Where the transform alone puts the module's centre. */
					if (!persp_map(&p->t, p->n, u + 0.5, v + 0.5, &px[m],
					               &py[m]))
						continue;
					t[m++] = known[v * p->n + u] ? -1 : 1;
				}
			if (m < 20)
				continue;
			double best = -2, bx = 0, by = 0;
			for (int pass = 0; pass < 2; pass++) {
				const double step = module_px * (pass ? 0.125 : 0.25);
				const int span = pass ? 1 : 3;
				const double cx = bx, cy = by;
				for (int oy = -span; oy <= span; oy++)
					for (int ox = -span; ox <= span; ox++) {
						const double dx = cx + ox * step,
						             dy = cy + oy * step;
						struct corr_acc acc = {0};
						for (int i = 0; i < m; i++)
							corr_add(&acc,
							         grey_at(src, w, h, px[i] + dx,
							                 py[i] + dy),
							         t[i]);
						const double c = corr_value(&acc);
						/* Ties keep the smaller shift (the first, at the
						 * centre). */
						if (c > best + 1e-9 ||
						    (ox == 0 && oy == 0 && c >= best)) {
							best = c;
							bx = dx;
							by = dy;
						}
					}
			}
			if (best >= FIT_MIN) {
				p->dx[b * k + a] = bx;
				p->dy[b * k + a] = by;
			}
		}
}

/* The modules sampled where p puts them, decided, drawn and tried: the decision with the
 * widest kernel, and (all) the 3 x 3 one too. */
static enum qd_err read_modules(const uint8_t *src, unsigned w, unsigned h, const struct place *p,
                                bool all, struct symbol *sym, greyread_try_fn try_fn, void *arg,
                                bool *done, struct greyread_stats *st)
{
	const int n = p->n;
	for (int v = 0; v < n; v++)
		for (int u = 0; u < n; u++) {
			/* The centre and four points a quarter module around it. */
			const double cu = u + 0.5, cv = v + 0.5;
			sym->s[v * n + u] = (2 * sample_at(src, w, h, p, cu, cv) +
			                     sample_at(src, w, h, p, cu - 0.25, cv) +
			                     sample_at(src, w, h, p, cu + 0.25, cv) +
			                     sample_at(src, w, h, p, cu, cv - 0.25) +
			                     sample_at(src, w, h, p, cu, cv + 0.25)) /
			                    6;
		}
	normalise(sym->s, n, sym->z);
	const int eq = decide(sym->z, sym->known, n, sym->plain, sym->eq3, sym->eq5);
	const uint8_t *best = eq == 2 ? sym->eq5 : eq == 1 ? sym->eq3 : sym->plain;
	for (int i = 0; i < n * n; i++)
		sym->guess[i] = (int8_t)best[i];
	enum qd_err rc = draw_try(best, n, sym->img, try_fn, arg, done, st);
	if (rc == QD_OK && !*done && all && eq == 2)
		rc = draw_try(sym->eq3, n, sym->img, try_fn, arg, done, st);
	return rc;
}

/* One triple: the best-fitting version's modules, with the local shifts and without. */
static enum qd_err read_triple(const uint8_t *src, unsigned w, unsigned h, const struct cand *tl,
                               const struct cand *tr, const struct cand *bl, struct symbol *sym,
                               greyread_try_fn try_fn, void *arg, bool *done,
                               struct greyread_stats *st)
{
	const double da = hypot(tr->x - tl->x, tr->y - tl->y),
	             db = hypot(bl->x - tl->x, bl->y - tl->y);
	const double m = (tl->m + tr->m + bl->m) / 3;
	const int v0 = (int)lround(((da + db) / 2 / m + 7 - 17) / 4);
	double best = FIT_MIN, bc[8] = {0};
	unsigned bv = 0;
	for (int v = v0 - 2; v <= v0 + 2; v++) {
		if (v < 1 || v > VERSION_MAX)
			continue;
		double c[8];
		const double f = fit_version(src, w, h, tl, tr, bl, (unsigned)v, sym, c);
		if (f > best) {
			best = f;
			bv = (unsigned)v;
			memcpy(bc, c, sizeof(bc));
		}
	}
	if (bv == 0)
		return QD_OK;
	st->grids++;
	struct place p = {.n = 17 + 4 * (int)bv};
	known_modules(bv, p.n, sym->known);
	if (!persp_from(bc, &p.t))
		return QD_OK;
	enum qd_err rc = QD_OK;
	const double module_px = hypot(bc[2] - bc[0], bc[3] - bc[1]) / p.n;
	/* Shifts at the alignment patterns; then, from the colours that read gave every module,
	 * at a node every NODE_STEP modules (waves shorter than the alignment patterns' spacing);
	 * then none. */
	int pos[NODES_MAX], k = 0;
	while (k < 7 && align_pos[bv][k]) {
		pos[k] = align_pos[bv][k];
		k++;
	}
	measure_shifts(src, w, h, pos, k, sym->known, module_px, &p);
	if (p.nodes > 0)
		rc = read_modules(src, w, h, &p, false, sym, try_fn, arg, done, st);
	if (rc == QD_OK && !*done && p.nodes > 0) {
		k = (p.n - 7 + NODE_STEP - 1) / NODE_STEP + 1;
		for (int i = 0; i < k; i++)
			pos[i] = 3 + i * (p.n - 7) / (k - 1);
		measure_shifts(src, w, h, pos, k, sym->guess, module_px, &p);
		rc = read_modules(src, w, h, &p, false, sym, try_fn, arg, done, st);
	}
	p.nodes = 0;
	if (rc == QD_OK && !*done)
		rc = read_modules(src, w, h, &p, true, sym, try_fn, arg, done, st);
	return rc;
}

struct triple {
	int tl, tr, bl;
	double score;
};

/* By score, the best first; equals by their candidates' ranks (those are in a total order). */
static int triple_by_score(const void *a, const void *b)
{
	const struct triple *p = a, *q = b;
	if (p->score != q->score)
		return p->score < q->score ? 1 : -1;
	const int kp[3] = {p->tl, p->tr, p->bl}, kq[3] = {q->tl, q->tr, q->bl};
	for (int i = 0; i < 3; i++)
		if (kp[i] != kq[i])
			return kp[i] < kq[i] ? -1 : 1;
	return 0;
}

/* Triples of candidates that can be a symbol's finders (indices from base on). */
#define TRIPLES_POOL (CANDIDATES_MAX * (CANDIDATES_MAX - 1) * (CANDIDATES_MAX - 2) / 6)

static size_t triples(const struct cand *c, size_t n, int base, struct triple *out)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++)
			for (size_t l = j + 1; l < n; l++) {
				const size_t ids[3] = {i, j, l};
				const double mmin = fmin(c[i].m, fmin(c[j].m, c[l].m)),
				             mmax = fmax(c[i].m, fmax(c[j].m, c[l].m));
				if (mmax > 1.6 * mmin)
					continue;
				struct triple best = {0, 0, 0, -1e9};
				for (int corner = 0; corner < 3; corner++) {
					const struct cand *o = &c[ids[corner]],
					                  *p = &c[ids[(corner + 1) % 3]],
					                  *q = &c[ids[(corner + 2) % 3]];
					const double ax = p->x - o->x, ay = p->y - o->y,
					             bx = q->x - o->x, by = q->y - o->y;
					const double la = hypot(ax, ay), lb = hypot(bx, by);
					const double mm = (o->m + p->m + q->m) / 3;
					if (la < 10 * mm || lb < 10 * mm || la > 1.6 * lb ||
					    lb > 1.6 * la)
						continue;
					const double cosang = (ax * bx + ay * by) / (la * lb);
					if (fabs(cosang) > 0.5)
						continue;
					const double score = (weight(o) + weight(p) + weight(q)) *
					                     (1 - fabs(cosang)) /
					                     (1 + fabs(log(la / lb)));
					if (score <= best.score)
						continue;
					best.score = score;
					best.tl = (int)ids[corner];
					/* y grows down: from the top-right finder to the
					 * bottom-left one the turn is clockwise on screen (a
					 * positive cross product). */
					const bool cw = ax * by - ay * bx > 0;
					best.tr =
					        (int)ids[cw ? (corner + 1) % 3 : (corner + 2) % 3];
					best.bl =
					        (int)ids[cw ? (corner + 2) % 3 : (corner + 1) % 3];
				}
				if (best.score > -1e9) {
					best.tl += base;
					best.tr += base;
					best.bl += base;
					out[k++] = best;
				}
			}
	return k;
}

enum qd_err greyread_look(const uint8_t *src, unsigned width, unsigned height,
                          greyread_try_fn try_fn, void *arg, struct greyread_stats *stats)
{
	struct greyread_stats local = {0};
	struct greyread_stats *st = stats != NULL ? stats : &local;
	memset(st, 0, sizeof(*st));
	/* Under 21 px a side no symbol fits; over the maximum the look is not taken. */
	if (src == NULL || try_fn == NULL || width < 21 || height < 21 ||
	    (size_t)width * height > GREYREAD_PIXELS_MAX)
		return QD_OK;
	struct integral ii = {0};
	struct symbol *sym = NULL;
	enum qd_err rc = QD_OK;
	bool nomem = false;
	/* Two pools, the frame's candidates and the turned copy's: a symbol's finders are all
	 * found in one, so their triples are made apart, and tried in turns, each pool's best
	 * first (a symbol the upright boxes find is tried first, as without the turned copy). */
	struct cand c[2 * CANDIDATES_MAX] = {{0}};
	struct triple *tu = calloc(2 * TRIPLES_POOL, sizeof(*tu));
	struct triple *tt = tu != NULL ? tu + TRIPLES_POOL : NULL;
	struct integral ti = {0};
	struct turned turn = {0};
	if (tu == NULL || !integral_build(&ii, src, width, height))
		nomem = true;
	struct scan_count upright = {0}, turned = {0};
	const size_t nc = nomem ? 0 : find_finders(&ii, NULL, width, height, c, &upright, &nomem);
	/* One search's buffers at a time: the drawings read only src. */
	free(ii.s);
	free(ii.q);
	size_t ntc = 0;
	if (!nomem && turned_wanted(width, height)) {
		if (!turned_build(&turn, src, width, height) ||
		    !integral_build(&ti, turn.px, turn.side, turn.side))
			nomem = true;
		st->turned_px = (size_t)turn.side * turn.side;
		free(turn.px); /* placing a candidate needs only the copy's geometry */
		turn.px = NULL;
		if (!nomem)
			ntc = find_finders(&ti, &turn, width, height, c + CANDIDATES_MAX, &turned,
			                   &nomem);
		free(ti.s);
		free(ti.q);
	}
	st->finders = (unsigned)(nc + ntc);
	st->windows = upright.windows;
	st->turned_windows = turned.windows;
	st->turned_grid = turned.grid;
	st->halved = upright.halved + turned.halved;
	for (size_t i = 0; i < nc + ntc; i++) {
		const struct cand *f = &c[i < nc ? i : CANDIDATES_MAX + i - nc];
		st->finder_at[i] = (struct greyread_finder){f->x, f->y, f->m, f->turned};
	}
	const size_t nu = nomem ? 0 : triples(c, nc, 0, tu),
	             nw = nomem ? 0 : triples(c + CANDIDATES_MAX, ntc, CANDIDATES_MAX, tt);
	if (nu > 0)
		qsort(tu, nu, sizeof(*tu), triple_by_score);
	if (nw > 0)
		qsort(tt, nw, sizeof(*tt), triple_by_score);
	if (nu + nw > 0 && !nomem && (sym = malloc(sizeof(*sym))) == NULL)
		nomem = true;
	bool done = false;
	for (size_t i = 0, a = 0, b = 0;
	     i < TRIPLES_MAX && a + b < nu + nw && !nomem && rc == QD_OK && !done; i++) {
		const struct triple *x = (i % 2 == 0 && a < nu) || b >= nw ? &tu[a++] : &tt[b++];
		rc = read_triple(src, width, height, &c[x->tl], &c[x->tr], &c[x->bl], sym, try_fn,
		                 arg, &done, st);
	}
	free(sym);
	free(tu);
	return nomem ? QD_ERR_NOMEM : rc;
}

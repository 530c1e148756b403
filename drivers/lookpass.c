/* SPDX-License-Identifier: Apache-2.0 */
/*
 * lookpass.c - the image passes behind the decoders' second looks (see
 * lookpass.h; why each: docs/decode.md).
 */
#include "lookpass.h"

#include <stdlib.h>
#include <string.h>

void pass_half(const uint8_t *src, unsigned w, unsigned h, uint8_t *dst, unsigned *ow, unsigned *oh)
{
	*ow = w / 2;
	*oh = h / 2;
	for (unsigned y = 0; y < *oh; y++) {
		const uint8_t *a = src + (size_t)(2 * y) * w, *b = a + w;
		uint8_t *o = dst + (size_t)y * *ow;
		for (unsigned x = 0; x < *ow; x++)
			o[x] = (uint8_t)((a[2 * x] + a[2 * x + 1] + b[2 * x] + b[2 * x + 1] + 2) /
			                 4);
	}
}

/* x2, bilinear: each output pixel 3/4 from its nearer input neighbour, 1/4 from the other,
 * in both directions (edges repeat). */
void pass_double(const uint8_t *src, unsigned w, unsigned h, uint8_t *dst)
{
	const size_t ow = (size_t)w * 2;
	for (unsigned y = 0; y < h; y++) {
		const uint8_t *row = src + (size_t)y * w;
		const uint8_t *up = y > 0 ? row - w : row, *down = y + 1 < h ? row + w : row;
		uint8_t *o0 = dst + (size_t)(2 * y) * ow, *o1 = o0 + ow;
		for (unsigned x = 0; x < w; x++) {
			const unsigned l = x > 0 ? x - 1 : x, r = x + 1 < w ? x + 1 : x;
			/* The column sums 3/4 this row + 1/4 the row above (o0) or below (o1). */
			const unsigned c0 = 3u * row[x] + up[x], c1 = 3u * row[x] + down[x];
			const unsigned l0 = 3u * row[l] + up[l], l1 = 3u * row[l] + down[l];
			const unsigned r0 = 3u * row[r] + up[r], r1 = 3u * row[r] + down[r];
			o0[2 * x] = (uint8_t)((3u * c0 + l0 + 8) / 16);
			o0[2 * x + 1] = (uint8_t)((3u * c0 + r0 + 8) / 16);
			o1[2 * x] = (uint8_t)((3u * c1 + l1 + 8) / 16);
			o1[2 * x + 1] = (uint8_t)((3u * c1 + r1 + 8) / 16);
		}
	}
}

void pass_invert(const uint8_t *src, size_t n, uint8_t *dst)
{
	for (size_t i = 0; i < n; i++)
		dst[i] = (uint8_t)(255 - src[i]);
}

/* Returns false when the image is flat (nothing to stretch). */
bool pass_stretch(const uint8_t *src, size_t n, uint8_t *dst)
{
	size_t hist[256] = {0};
	for (size_t i = 0; i < n; i++)
		hist[src[i]]++;
	size_t cut = n / 100, acc = 0;
	unsigned lo = 0, hi = 255;
	for (lo = 0; lo < 255 && acc + hist[lo] <= cut; lo++)
		acc += hist[lo];
	acc = 0;
	for (hi = 255; hi > 0 && acc + hist[hi] <= cut; hi--)
		acc += hist[hi];
	if (hi <= lo)
		return false;
	uint8_t map[256];
	for (unsigned v = 0; v < 256; v++)
		map[v] = v <= lo ? 0 : v >= hi ? 255 : (uint8_t)((v - lo) * 255 / (hi - lo));
	for (size_t i = 0; i < n; i++)
		dst[i] = map[src[i]];
	return true;
}

/*
 * Black where a pixel is darker than the mean of the square around it (a
 * side of about an eighth of the smaller dimension: a few modules at any
 * distance a code is readable from), white elsewhere; the mean comes from
 * an integral image, so the pass costs the same at any window size.
 */
void pass_adaptive(const uint8_t *src, unsigned w, unsigned h, uint32_t *sums, uint8_t *dst)
{
	const size_t sw = (size_t)w + 1;
	memset(sums, 0, sizeof(*sums) * sw);
	for (unsigned y = 0; y < h; y++) {
		uint32_t row = 0;
		sums[(y + 1) * sw] = 0;
		for (unsigned x = 0; x < w; x++) {
			row += src[(size_t)y * w + x];
			sums[(y + 1) * sw + x + 1] = sums[y * sw + x + 1] + row;
		}
	}
	unsigned r = (w < h ? w : h) / 16;
	if (r < 4)
		r = 4;
	for (unsigned y = 0; y < h; y++) {
		unsigned y0 = y > r ? y - r : 0, y1 = y + r + 1 < h ? y + r + 1 : h;
		for (unsigned x = 0; x < w; x++) {
			unsigned x0 = x > r ? x - r : 0, x1 = x + r + 1 < w ? x + r + 1 : w;
			/* Modulo 2^32: exact, since one window sums to under 2^32. */
			uint32_t sum = sums[y1 * sw + x1] - sums[y0 * sw + x1] -
			               sums[y1 * sw + x0] + sums[y0 * sw + x0];
			uint64_t area = (uint64_t)(x1 - x0) * (y1 - y0);
			/* 3 % under the mean: flat paper with sensor noise stays white. */
			uint64_t v = (uint64_t)src[(size_t)y * w + x] * area * 100;
			dst[(size_t)y * w + x] = v < (uint64_t)sum * 97 ? 0 : 255;
		}
	}
}

/* A box mean of radius r along one line of n values step apart (the window shrinks at the
 * ends); values are grey levels x 64. */
static void box_line(const uint16_t *in, uint16_t *out, unsigned n, size_t step, unsigned r)
{
	uint32_t sum = 0;
	unsigned lo = 0, hi = 0; /* the window: [lo, hi) */
	for (unsigned i = 0; i < n; i++) {
		const unsigned want_hi = n - i > r ? i + r + 1 : n, want_lo = i > r ? i - r : 0;
		while (hi < want_hi)
			sum += in[(size_t)hi++ * step];
		while (lo < want_lo)
			sum -= in[(size_t)lo++ * step];
		const unsigned count = hi - lo; /* at least 1: i is in the window */
		out[(size_t)i * step] = (uint16_t)(count ? sum / count : 0);
	}
}

void pass_unsharp(const uint8_t *src, unsigned w, unsigned h, unsigned r, unsigned amount,
                  uint16_t *tmp, uint8_t *dst)
{
	const size_t n = (size_t)w * h;
	uint16_t *a = tmp, *b = tmp + n;
	for (size_t i = 0; i < n; i++)
		a[i] = (uint16_t)(src[i] * 64u);
	for (int pass = 0; pass < 3; pass++) {
		for (unsigned y = 0; y < h; y++)
			box_line(a + (size_t)y * w, b + (size_t)y * w, w, 1, r);
		for (unsigned x = 0; x < w; x++)
			box_line(b + x, a + x, h, w, r);
	}
	for (size_t i = 0; i < n; i++) {
		const long v = (long)src[i] * 64, out = v + (long)amount * (v - (long)a[i]);
		dst[i] = (uint8_t)(out < 0 ? 0 : out > 255 * 64 ? 255 : (out + 32) / 64);
	}
}

/* Box means of radius r along each row of a (w x h) into b; the window shrinks at the ends. */
static void box_rows(const float *a, float *b, unsigned w, unsigned h, unsigned r)
{
	for (unsigned y = 0; y < h; y++) {
		const float *in = a + (size_t)y * w;
		float *out = b + (size_t)y * w;
		float sum = 0;
		unsigned lo = 0, hi = 0; /* the window: [lo, hi) */
		for (unsigned x = 0; x < w; x++) {
			const unsigned want_hi = w - x > r ? x + r + 1 : w,
			               want_lo = x > r ? x - r : 0;
			while (hi < want_hi)
				sum += in[hi++];
			while (lo < want_lo)
				sum -= in[lo++];
			out[x] = sum / (float)(hi - lo);
		}
	}
}

/* The same down the columns, a whole row at a time (acc: w running sums). */
static void box_cols(const float *b, float *a, unsigned w, unsigned h, unsigned r, float *acc)
{
	memset(acc, 0, sizeof(*acc) * w);
	unsigned lo = 0, hi = 0;
	for (unsigned y = 0; y < h; y++) {
		const unsigned want_hi = h - y > r ? y + r + 1 : h, want_lo = y > r ? y - r : 0;
		for (; hi < want_hi; hi++)
			for (unsigned x = 0; x < w; x++)
				acc[x] += b[(size_t)hi * w + x];
		for (; lo < want_lo; lo++)
			for (unsigned x = 0; x < w; x++)
				acc[x] -= b[(size_t)lo * w + x];
		const float k = 1.0f / (float)(hi - lo);
		for (unsigned x = 0; x < w; x++)
			a[(size_t)y * w + x] = acc[x] * k;
	}
}

/* In place: three box passes of radius r each way, about a Gaussian of sigma sqrt(r (r + 1)). */
static void box3(float *a, float *b, unsigned w, unsigned h, unsigned r, float *acc)
{
	for (int pass = 0; pass < 3; pass++) {
		box_rows(a, b, w, h, r);
		box_cols(b, a, w, h, r, acc);
	}
}

void pass_deblur(const uint8_t *src, unsigned w, unsigned h, unsigned r, unsigned iterations,
                 float *tmp, uint8_t *dst)
{
	const size_t n = (size_t)w * h;
	float *u = tmp, *e = tmp + n, *t = tmp + 2 * n, *acc = tmp + 3 * n;
	/* +1: no division by zero where the frame is black. */
	for (size_t i = 0; i < n; i++)
		u[i] = (float)src[i] + 1.0f;
	for (unsigned k = 0; k < iterations; k++) {
		/* u *= blur(d / blur(u)): the Richardson-Lucy step (the blur is symmetric). */
		memcpy(e, u, n * sizeof(*e));
		box3(e, t, w, h, r, acc);
		for (size_t i = 0; i < n; i++)
			e[i] = ((float)src[i] + 1.0f) / (e[i] > 0.5f ? e[i] : 0.5f);
		box3(e, t, w, h, r, acc);
		for (size_t i = 0; i < n; i++)
			u[i] *= e[i];
	}
	for (size_t i = 0; i < n; i++) {
		const float v = u[i] - 1.0f;
		dst[i] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : (unsigned)(v + 0.5f));
	}
}

void pass_sharpen(const uint8_t *src, unsigned w, unsigned h, uint8_t *dst)
{
	for (unsigned y = 0; y < h; y++)
		for (unsigned x = 0; x < w; x++) {
			size_t i = (size_t)y * w + x;
			if (x == 0 || y == 0 || x + 1 == w || y + 1 == h) {
				dst[i] = src[i];
				continue;
			}
			int sum = 0;
			for (int dy = -1; dy <= 1; dy++)
				for (int dx = -1; dx <= 1; dx++)
					sum += src[i + (size_t)((long)dy * w + dx)];
			int v = 2 * src[i] - (sum + 4) / 9;
			dst[i] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
		}
}

bool pass_grow(void **buf, size_t *cap, size_t need)
{
	if (need <= *cap)
		return true;
	void *p = realloc(*buf, need);
	if (p == NULL)
		return false;
	*buf = p;
	*cap = need;
	return true;
}

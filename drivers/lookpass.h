/* SPDX-License-Identifier: Apache-2.0 */
/*
 * lookpass.h - image passes for the decoders' second looks (backend-only;
 * zbdecode.c and the chain in qrdecode.c use them).  Each reads src (w x h,
 * contiguous) and writes a transformed copy to dst, never in place.
 */
#ifndef QRDESK_LOOKPASS_H
#define QRDESK_LOOKPASS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* x0.5 by 2x2 means: dst is (w/2) x (h/2), its size in *ow, *oh. */
void pass_half(const uint8_t *src, unsigned w, unsigned h, uint8_t *dst, unsigned *ow,
               unsigned *oh);
/* x2 (bilinear): dst is (2w) x (2h).  Small modules (1.5 px and less) get enough pixels for
 * zxing-cpp's detector. */
void pass_double(const uint8_t *src, unsigned w, unsigned h, uint8_t *dst);
/* 255 - v: light modules on dark. */
void pass_invert(const uint8_t *src, size_t n, uint8_t *dst);
/* 1st..99th percentile to 0..255; false (dst untouched) when the image is flat. */
bool pass_stretch(const uint8_t *src, size_t n, uint8_t *dst);
/* Local-mean threshold; sums holds (w + 1) x (h + 1) integral-image entries. */
void pass_adaptive(const uint8_t *src, unsigned w, unsigned h, uint32_t *sums, uint8_t *dst);
/*
 * Unsharp mask with a wide blur: v + amount * (v - b), b three box passes of radius r (about
 * a Gaussian of sigma sqrt(r (r + 1)) px), for soft focus and motion, where a lone module's
 * contrast falls under the local mean.  tmp holds 2 w h entries.
 */
void pass_unsharp(const uint8_t *src, unsigned w, unsigned h, unsigned r, unsigned amount,
                  uint16_t *tmp, uint8_t *dst);
/*
 * Richardson-Lucy deconvolution for a Gaussian blur of sigma about sqrt(r (r + 1)) px
 * (three box passes of radius r), iterations steps: focus blur too wide for an unsharp mask.
 * tmp holds 3 w h + w floats.
 */
void pass_deblur(const uint8_t *src, unsigned w, unsigned h, unsigned r, unsigned iterations,
                 float *tmp, uint8_t *dst);
/* Unsharp mask (3x3). */
void pass_sharpen(const uint8_t *src, unsigned w, unsigned h, uint8_t *dst);

/* *buf holds at least need bytes (realloc'd, *cap updated); false when out of memory. */
bool pass_grow(void **buf, size_t *cap, size_t need);

#endif

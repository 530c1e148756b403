/* SPDX-License-Identifier: Apache-2.0 */
/*
 * zbdecode.h - ZBar and its second looks behind a C interface (backend-only;
 * the decoder chain in qrdecode.c calls it).
 *
 * The scanner is set for QR only and binary mode (ZBAR_CFG_BINARY), so ZBar
 * hands back the symbol's bytes as they are.  Looks and passes: qrdecode.h
 * (enum qrdecode_pass) and docs/decode.md.  Images are contiguous (stride ==
 * width); a decoder serves one thread at a time.
 */
#ifndef QRDESK_ZBDECODE_H
#define QRDESK_ZBDECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "qrdesk/error.h"
#include "qrdecode.h"

struct zbdecode;

enum qd_err zbdecode_create(struct zbdecode **out);
void zbdecode_destroy(struct zbdecode *dec);

/* The passes (a mask of enum qrdecode_pass) and zbdecode_gray's pixel budget per call. */
void zbdecode_set_passes(struct zbdecode *dec, unsigned passes, size_t budget_pixels);

/*
 * ZBar on its own: the first look always, then the later looks within the
 * budget per call (in turns across calls when they do not all fit), until
 * one finds a symbol.  Symbols to cb and counted in *found; parts of an
 * incomplete structured-append sequence counted in *parts, never delivered;
 * the pixels looked at in *spent.
 */
enum qd_err zbdecode_gray(struct zbdecode *dec, const uint8_t *data, unsigned width,
                          unsigned height, qrdecode_cb cb, void *arg, int *found, int *parts,
                          size_t *spent);

/* The most looks a frame takes (the first, and every pass). */
#define ZBDECODE_LOOKS_MAX 6

/*
 * The looks zbdecode_gray takes at a width x height frame, in its order
 * (the first look first): how many, and each one's pixels in cost[].
 */
size_t zbdecode_plan(struct zbdecode *dec, unsigned width, unsigned height,
                     size_t cost[ZBDECODE_LOOKS_MAX]);

/*
 * Look number i of zbdecode_plan's list at data, alone: the chain takes
 * them in turns across frames, each when its budget covers it.  fresh says
 * data is a new frame (its x0.5 copy is made again); the looks at one frame
 * share that copy.  Symbols to cb, counted in *found; parts as above.
 */
enum qd_err zbdecode_look(struct zbdecode *dec, const uint8_t *data, unsigned width,
                          unsigned height, unsigned i, bool fresh, qrdecode_cb cb, void *arg,
                          int *found, int *parts);

#endif

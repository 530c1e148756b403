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

/*
 * ZBar as the chain's second opinion: at most max_looks looks (the first
 * among them) in one turn order that continues across calls, while their
 * pixels fit in allowance; none is forced, so a call with a small
 * allowance costs nothing.  What was spent in *spent.  Stops at the first
 * look that finds a symbol.
 */
enum qd_err zbdecode_turn(struct zbdecode *dec, const uint8_t *data, unsigned width,
                          unsigned height, size_t allowance, unsigned max_looks, qrdecode_cb cb,
                          void *arg, int *found, int *parts, size_t *spent);

/* Pixels of every look at a width x height frame; the largest single look in *largest. */
size_t zbdecode_round_pixels(struct zbdecode *dec, unsigned width, unsigned height,
                             size_t *largest);

#endif

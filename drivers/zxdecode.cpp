/* SPDX-License-Identifier: Apache-2.0 */
/*
 * zxdecode.cpp - the zxing-cpp shim (see zxdecode.h).
 *
 * Hints: the formats asked for; tryHarder and tryRotate on (the library's
 * defaults: rotated and mirrored symbols, a denser finder-pattern search),
 * the binariser the caller asks for, downscaling left to the library
 * (frames whose smaller side is 500 px and more are also read at a third
 * of their size).  returnErrors is on only so that a located symbol
 * that fails to decode can be counted; such a result is never delivered.
 */
#define ZX_USE_UTF8 1 /* zxing-cpp 1.4: text() as UTF-8, and no transition warning */

#include "zxdecode.h"

#include <new>
#include <vector>

#include <ZXing/ReadBarcode.h>

struct zxdecode {
	ZXing::DecodeHints hints;
	ZXing::DecodeHints pure; /* zxdecode_pure's */
};

static ZXing::BarcodeFormats to_zxing(unsigned formats)
{
	ZXing::BarcodeFormats f = ZXing::BarcodeFormat::QRCode;
	if (formats & QRDECODE_FORMAT_PDF417)
		f |= ZXing::BarcodeFormat::PDF417;
	if (formats & QRDECODE_FORMAT_AZTEC)
		f |= ZXing::BarcodeFormat::Aztec;
	return f;
}

enum qd_err zxdecode_create(struct zxdecode **out)
{
	if (out == nullptr)
		return QD_ERR_ARG;
	*out = nullptr;
	try {
		zxdecode *zx = new zxdecode;
		zx->hints.setFormats(to_zxing(QRDECODE_FORMAT_QR))
		        .setTryHarder(true)
		        .setTryRotate(true)
		        .setBinarizer(ZXing::Binarizer::LocalAverage)
		        .setReturnErrors(true);
		zx->pure.setFormats(ZXing::BarcodeFormat::QRCode)
		        .setIsPure(true)
		        .setTryRotate(false)
		        .setBinarizer(ZXing::Binarizer::FixedThreshold);
		*out = zx;
		return QD_OK;
	} catch (const std::bad_alloc &) {
		return QD_ERR_NOMEM;
	} catch (...) {
		return QD_ERR_UNSUPPORTED;
	}
}

void zxdecode_destroy(struct zxdecode *zx)
{
	delete zx;
}

void zxdecode_set_formats(struct zxdecode *zx, unsigned formats)
{
	if (zx != nullptr)
		zx->hints.setFormats(to_zxing(formats));
}

static void deliver(const ZXing::Result &r, qrdecode_cb cb, void *arg, int *found)
{
	const ZXing::ByteArray &bytes = r.bytes();
	(*found)++;
	if (cb != nullptr)
		cb(arg, reinterpret_cast<const char *>(bytes.data()), bytes.size());
}

enum qd_err zxdecode_gray(struct zxdecode *zx, const uint8_t *pixels, unsigned width,
                          unsigned height, enum zxdecode_binarizer binarizer, qrdecode_cb cb,
                          void *arg, int *found, int *unread)
{
	if (zx == nullptr || pixels == nullptr || found == nullptr || unread == nullptr ||
	    width == 0 || height == 0 || width > INT32_MAX / height)
		return QD_ERR_ARG;
	try {
		ZXing::ImageView view(pixels, static_cast<int>(width), static_cast<int>(height),
		                      ZXing::ImageFormat::Lum);
		zx->hints.setBinarizer(binarizer == ZXDECODE_GLOBAL
		                               ? ZXing::Binarizer::GlobalHistogram
		                               : ZXing::Binarizer::LocalAverage);
		ZXing::Results all = ZXing::ReadBarcodes(view, zx->hints);
		ZXing::Results parts;
		for (const ZXing::Result &r : all) {
			if (!r.isValid())
				(*unread)++;
			else if (r.isPartOfSequence())
				parts.push_back(r);
			else
				deliver(r, cb, arg, found);
		}
		if (parts.empty())
			return QD_OK;
		/* Whole sequences only: a part alone is not the text (docs/decode.md). */
		int whole = 0;
		for (const ZXing::Result &r : ZXing::MergeStructuredAppendSequences(parts))
			if (r.isValid()) {
				deliver(r, cb, arg, found);
				whole++;
			}
		if (whole == 0)
			(*unread)++;
		return QD_OK;
	} catch (const std::bad_alloc &) {
		return QD_ERR_NOMEM;
	} catch (...) {
		return QD_ERR_FORMAT;
	}
}

enum qd_err zxdecode_pure(struct zxdecode *zx, const uint8_t *pixels, unsigned width,
                          unsigned height, qrdecode_cb cb, void *arg, int *found)
{
	if (zx == nullptr || pixels == nullptr || found == nullptr || width == 0 || height == 0 ||
	    width > INT32_MAX / height)
		return QD_ERR_ARG;
	try {
		ZXing::ImageView view(pixels, static_cast<int>(width), static_cast<int>(height),
		                      ZXing::ImageFormat::Lum);
		ZXing::Result r = ZXing::ReadBarcode(view, zx->pure);
		/* A part of a structured-append sequence alone is not the text (docs/decode.md). */
		if (r.isValid() && !r.isPartOfSequence())
			deliver(r, cb, arg, found);
		return QD_OK;
	} catch (const std::bad_alloc &) {
		return QD_ERR_NOMEM;
	} catch (...) {
		return QD_ERR_FORMAT;
	}
}

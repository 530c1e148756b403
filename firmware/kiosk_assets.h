/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kiosk_assets.h - the kiosk page's files, compiled into qrdeskd so the page
 * works with no network and nothing on disk.  The sources are in
 * firmware/kiosk/; firmware/kiosk/embed.cmake turns them into C arrays at
 * build time (kiosk_assets.c in the build tree).
 */
#ifndef QRDESK_KIOSK_ASSETS_H
#define QRDESK_KIOSK_ASSETS_H

#include <stddef.h>

struct kiosk_asset {
	const char *path;         /* URL path: "/", "/kiosk.js" */
	const char *content_type; /* with charset for text */
	const unsigned char *data;
	size_t size;
};

/* The asset served at this URL path, or NULL. */
const struct kiosk_asset *kiosk_asset_find(const char *path);

#endif

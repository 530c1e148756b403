/* SPDX-License-Identifier: Apache-2.0 */
/*
 * source_replay.h - the replay drivers: code texts from lines or image files
 * (the interface they implement: source.h).
 */
#ifndef QRDESK_SOURCE_REPLAY_H
#define QRDESK_SOURCE_REPLAY_H

#include <stdbool.h>

#include "qrdesk/error.h"
#include "qrdesk/source.h"

/* The image folder's budgets and what becomes of a judged file ([replay] images_*). */
#define SOURCE_IMAGES_MAX_KPX_DEFAULT   12000u /* 12 megapixels: a 4000 x 3000 photo */
#define SOURCE_IMAGES_MAX_KPX_MAX       67109u /* 8192 x 8192, the decoder's limit */
#define SOURCE_IMAGES_BUDGET_MS_DEFAULT 5000u
struct source_images_config {
	unsigned max_kpx; /* thousands of pixels an image may have (from its header); 0: default */
	unsigned budget_ms; /* a file read slower than this is not decoded; 0: default */
	bool delete_judged; /* false: a file is moved to done/ in the folder once judged */
	/* The symbologies read: CAMERA_FORMAT_* bits (source_camera.h; QR is always read),
	 * not a key: the daemon adds PDF417 and Aztec when it binds boarding passes. */
	unsigned formats;
};

/*
 * The replay drivers (drivers/source_replay.c):
 *  - lines: code texts, one per line (LF or CRLF), from an fd (stdin) or a
 *    FIFO path (re-opened when its writer goes away);
 *  - images: PNG, PGM or JPEG files dropped into a folder (watched with
 *    inotify; files present at start are read too, in name order), each
 *    read and decoded on a worker thread of the source's own within its
 *    budgets; every QR symbol found (and PDF417 and Aztec, if formats asks)
 *    is delivered, on the loop thread, and the file is then moved to done/
 *    (or deleted), so a restart does not judge it again.  Regular files
 *    only, no symbolic link followed.
 */
enum qd_err source_replay_lines_fd(const char *name, int fd, source_code_cb cb, void *arg,
                                   struct source **out);
enum qd_err source_replay_lines_fifo(const char *name, const char *path, source_code_cb cb,
                                     void *arg, struct source **out);
enum qd_err source_replay_images(const char *name, const char *dir, source_code_cb cb, void *arg,
                                 struct source **out);
/* The same with budgets and the judged files' fate; cfg NULL: the defaults. */
enum qd_err source_replay_images_with(const char *name, const char *dir,
                                      const struct source_images_config *cfg, source_code_cb cb,
                                      void *arg, struct source **out);

#endif

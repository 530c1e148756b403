/* SPDX-License-Identifier: Apache-2.0 */
/*
 * source_replay.h - the replay drivers: code texts from lines or image files
 * (the interface they implement: source.h).
 */
#ifndef QRDESK_SOURCE_REPLAY_H
#define QRDESK_SOURCE_REPLAY_H

#include <stdbool.h>

#include "qrdesk/error.h"
#include "qrdesk/scanner.h"
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

/* [replay]'s three sources, each a row of the registry with its own settings:
 * stdin = true, fifo = a path, images = a folder (and its budgets). */
struct source_replay_stdin_config {
	bool enabled;
};
struct source_replay_fifo_config {
	char path[SCANNER_PATH_MAX];
};
struct source_replay_images_config {
	char dir[SCANNER_PATH_MAX];
	struct source_images_config images; /* the folder's budgets, done/ or delete */
};

/* Their keys and defaults, as data for the registry (drivers/scanners.c). */
#define SOURCE_REPLAY_STDIN_KEYS(T)    SCANNER_KEY("stdin", BOOL, T, enabled, 0, 0)
#define SOURCE_REPLAY_STDIN_DEFAULTS() .enabled = false
#define SOURCE_REPLAY_FIFO_KEYS(T)     SCANNER_KEY("fifo", PATH, T, path, 0, 0)
#define SOURCE_REPLAY_FIFO_DEFAULTS()  .path = ""
#define SOURCE_REPLAY_IMAGES_KEYS(T)                                                               \
	SCANNER_KEY("images", PATH, T, dir, 0, 0),                                                 \
	        SCANNER_KEY("images_max_kpx", COUNT, T, images.max_kpx, 1,                         \
	                    SOURCE_IMAGES_MAX_KPX_MAX),                                            \
	        SCANNER_KEY("images_budget_ms", MS, T, images.budget_ms, 100, 60000),              \
	        SCANNER_KEY("images_delete", BOOL, T, images.delete_judged, 0, 0)
#define SOURCE_REPLAY_IMAGES_DEFAULTS()                                                            \
	.images = {.max_kpx = SOURCE_IMAGES_MAX_KPX_DEFAULT,                                       \
	           .budget_ms = SOURCE_IMAGES_BUDGET_MS_DEFAULT,                                   \
	           .delete_judged = false}

/* Their settings in a configuration's scanner settings. */
static inline struct source_replay_stdin_config *
source_replay_stdin_settings(const struct scanner_settings *s)
{
	return scanner_settings_of(s, "stdin");
}
static inline struct source_replay_fifo_config *
source_replay_fifo_settings(const struct scanner_settings *s)
{
	return scanner_settings_of(s, "fifo");
}
static inline struct source_replay_images_config *
source_replay_images_settings(const struct scanner_settings *s)
{
	return scanner_settings_of(s, "images");
}

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

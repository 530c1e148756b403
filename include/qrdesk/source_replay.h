/* SPDX-License-Identifier: Apache-2.0 */
/*
 * source_replay.h - the replay drivers: code texts from lines or image files
 * (the interface they implement: source.h).
 */
#ifndef QRDESK_SOURCE_REPLAY_H
#define QRDESK_SOURCE_REPLAY_H

#include "qrdesk/error.h"
#include "qrdesk/source.h"

/*
 * The replay drivers (drivers/source_replay.c):
 *  - lines: code texts, one per line (LF or CRLF), from an fd (stdin) or a
 *    FIFO path (re-opened when its writer goes away);
 *  - images: PNG, PGM or JPEG files dropped into a folder (watched with
 *    inotify; files present at start are read too, in name order), each
 *    decoded with ZBar; every QR symbol found is delivered.
 */
enum qd_err source_replay_lines_fd(const char *name, int fd, source_code_cb cb, void *arg,
                                   struct source **out);
enum qd_err source_replay_lines_fifo(const char *name, const char *path, source_code_cb cb,
                                     void *arg, struct source **out);
enum qd_err source_replay_images(const char *name, const char *dir, source_code_cb cb, void *arg,
                                 struct source **out);

#endif

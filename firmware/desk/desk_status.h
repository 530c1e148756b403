/* SPDX-License-Identifier: Apache-2.0 */
/*
 * desk_status.h - the daemon's one status snapshot (backend-only).
 *
 * Parts mark it dirty when something they show changes (a verdict, a sync,
 * a USB stick, a reload); nothing is rendered then.  A loop timer (the
 * status cron, once a second) rebuilds it from every part's contribution
 * (desk.h): the status JSON, the Prometheus text, and the systemd STATUS
 * line.  The JSON feeds `qrdeskctl status` and the kiosk's /api/status and
 * event stream; the text feeds /metrics.  A reader that wants it current
 * (the control socket's status command, an HTTP request for /api/status or
 * /metrics while it is dirty) has it rebuilt first: the cost falls on the
 * one who asks, never on a scan.
 *
 * A build holds up no scanner: every source whose device must be read
 * while the loop is busy (a HID scanner's keystrokes, a camera's frames)
 * reads it on a thread of its own.
 */
#ifndef QRDESK_DESK_STATUS_H
#define QRDESK_DESK_STATUS_H

#include "qrdesk/error.h"

struct desk;
struct desk_status;

/* Loop thread, before the parts open. */
enum qd_err desk_status_create(struct desk *d, struct desk_status **out);
/* After the parts are open: the first build as soon as the loop runs, then the cron. */
void desk_status_start(struct desk_status *s);
void desk_status_destroy(struct desk_status *s);

/* Loop thread: something shown changed (cheap: a flag). */
void desk_status_dirty(struct desk_status *s);

/* Loop thread: the status JSON as of now (one line; a new string, free() it; NULL: no
 * memory). */
char *desk_status_now(struct desk_status *s);

/*
 * Any thread but the loop's (the kiosk's connection threads): if the
 * snapshot is dirty, have the loop rebuild it and wait for that, at most
 * half a second.  Rebuilds asked for this way are at least 50 ms apart.
 */
void desk_status_freshen(void *status);

#endif

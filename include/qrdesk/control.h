/* SPDX-License-Identifier: Apache-2.0 */
/*
 * control.h - the daemon's control socket, for qrdeskctl.
 *
 * A UNIX stream socket.  Each connection carries one request and one reply,
 * each a single line of JSON (at most CONTROL_REQUEST_MAX bytes):
 *   {"cmd": "status"}                 -> the daemon's status object
 *   {"cmd": "scan", "code": "BC1:…"}  -> the verdict, as `qrdeskctl check --json`
 *   {"cmd": "reload"}                 -> re-read the trust store (as SIGHUP does)
 * Errors: {"error": "<code>", "message": "…"}.
 *
 * Who may connect: the peer's credentials (SO_PEERCRED) must be root, the
 * daemon's own user, or (if a control group is configured) that group; the
 * socket file is mode 0660 as well.  A refused peer gets
 *   {"error": "permission-denied", "message": "permission denied (not in group X)"}
 * and its uid is logged (at most one line per 10 s, with a count of the rest).
 */
#ifndef QRDESK_CONTROL_H
#define QRDESK_CONTROL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "qrdesk/error.h"
#include "qrdesk/loop.h"

#define CONTROL_REQUEST_MAX (16 * 1024)
#define CONTROL_CLIENTS_MAX 8
#define CONTROL_TIMEOUT_MS  2000  /* a client that sends nothing is dropped */
#define CONTROL_HOLD_MS     30000 /* a held reply not released by then: an error instead */

/*
 * The handler turns one request line into one reply line (malloc'd, no
 * newline); it runs on the loop thread.
 */
typedef char *(*control_handler)(void *arg, const char *request, size_t len);

struct control;

/* Bind path (replacing a stale socket), listen, and serve on loop. group: -1 for none. */
enum qd_err control_open(struct loop *loop, const char *path, gid_t group, control_handler handler,
                         void *arg, struct control **out, struct qd_errmsg *why);
void control_close(struct control *ctl);

/*
 * In a handler: keep the reply it returns and send it at control_release(token)
 * instead of at once (a scan is answered when its audit row is durable).  A
 * client that goes away meanwhile loses it; one still waiting after
 * CONTROL_HOLD_MS gets {"error": "audit-timeout"}.  0 outside a handler.
 */
uint64_t control_hold_reply(struct control *ctl);
/* Send a held reply now; nothing if its client is gone.  Loop thread. */
void control_release(struct control *ctl, uint64_t token);

/*
 * Client side (qrdeskctl): send request, read the reply line into a malloc'd
 * string.  QD_ERR_NOT_FOUND if no daemon listens at path.
 */
enum qd_err control_call(const char *path, const char *request, char **reply,
                         struct qd_errmsg *why);

#endif

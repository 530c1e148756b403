/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kiosk.h - the desk's local web interface: the kiosk page the officer
 * looks at, its event stream, and read-only status, served by libmicrohttpd
 * inside qrdeskd (docs/kiosk.md).
 *
 *   GET /             the kiosk page (assets compiled into the binary)
 *   GET /events       Server-Sent Events: each verdict as it happens, and the
 *                     status once a second (which doubles as the keep-alive)
 *   GET /api/status   the daemon's status JSON
 *   GET /metrics      Prometheus text
 *   /api/tech/...     technician requests; 404 unless a token is configured,
 *                     then 401 without "Authorization: Bearer TOKEN"
 *
 * Threads.  The loop thread owns the pipeline; libmicrohttpd runs a thread
 * per connection.  The two meet only in this module's shared state, behind
 * one mutex: the latest status and metrics texts, and a ring of the latest
 * verdict events, each already serialised.  The loop thread publishes
 * (kiosk_publish_*), connection threads copy out; an event stream's thread
 * sleeps on a condition variable until a newer verdict or a second passes.
 * Nothing here ever calls into the pipeline, so a slow or hostile browser
 * cannot delay a verdict or the indicators.
 */
#ifndef QRDESK_KIOSK_H
#define QRDESK_KIOSK_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "qrdesk/error.h"
#include "qrdesk/pipeline.h"

#define KIOSK_TOKEN_MAX     128 /* technician token, characters */
#define KIOSK_STREAMS_MAX   8   /* concurrent GET /events from one client; one more gets 503 */
#define KIOSK_STREAMS_TOTAL 24  /* ... and from all clients together */
#define KIOSK_CONNECTIONS   48  /* concurrent connections in all */
/* Concurrent connections from one client: one local user (the socket's uid,
 * from sock_diag) on a loopback address, else one IP address. */
#define KIOSK_PER_CLIENT 12
/* A request's headers (and any body) must be whole within this, however
 * slowly its bytes trickle in; an event stream is exempt once it runs. */
#define KIOSK_REQUEST_DEADLINE_S 10
/* Connections on the display's own listener (one local user's browser). */
#define KIOSK_DISPLAY_CONNECTIONS 16
#define KIOSK_RING                16 /* verdict events kept for Last-Event-ID resumes */
#define KIOSK_KEEPALIVE_MS        1000

/* Runs on a connection thread: must be thread-safe (qrdeskd posts to its loop). */
typedef void (*kiosk_reload_cb)(void *arg);

struct kiosk_config {
	char address[64]; /* IPv4 or IPv6 literal to bind */
	uint16_t port;    /* 0: any free port (tests; see kiosk_port) */
	uint32_t idle_ms; /* how long the page shows a verdict; resumes replay younger ones */
	/* The display's own listener on 127.0.0.1:display_port (0: any free port,
	 * see kiosk_display_port): the same page and stream, but a connection is
	 * accepted only from a socket of local user display_uid (the kiosk
	 * browser's), asked of the kernel before it takes a slot.  Nobody else
	 * can fill its slots.  Off unless display is set. */
	bool display;
	uint16_t display_port;
	uint32_t display_uid;
	char technician_token[KIOSK_TOKEN_MAX + 1]; /* "": technician requests off */
	kiosk_reload_cb on_reload;                  /* POST /api/tech/reload; NULL: 404 */
	void *cb_arg;
	/* Optional, on a connection thread before GET /api/status or /metrics is
	 * answered: the owner may publish a newer status first (qrdeskd: if it is
	 * stale, desk_status.h).  Must be thread-safe and return within a second. */
	void (*on_status_read)(void *status_arg);
	void *status_arg;
};

struct kiosk;

/*
 * Bind and start serving (loop thread, at start-up).  QD_ERR_IO with why
 * naming the address if the port cannot be bound; QD_ERR_ARG for an address
 * that is not an IP literal.  Until the first kiosk_publish_status the
 * status endpoints answer 503.
 */
enum qd_err kiosk_start(const struct kiosk_config *cfg, struct kiosk **out, struct qd_errmsg *why);

/* Close every stream and connection, join the threads, free k (NULL is fine). */
void kiosk_stop(struct kiosk *k);

/* The bound port (useful after port 0). */
uint16_t kiosk_port(const struct kiosk *k);

/* The display listener's bound port; 0 when it is off. */
uint16_t kiosk_display_port(const struct kiosk *k);

/* Change how long a verdict is shown (SIGHUP); any thread. */
void kiosk_set_idle_ms(struct kiosk *k, uint32_t idle_ms);

/*
 * Publish one verdict to every event stream (loop thread, from a pipeline
 * observer).  The event is serialised here, once: see kiosk_event_json.
 */
enum qd_err kiosk_publish_verdict(struct kiosk *k, const struct pipeline_event *ev,
                                  const char *desk_id);

/*
 * Publish the latest status JSON (one line, as json_dumps(JSON_COMPACT)
 * writes it) and the Prometheus text; both are copied.
 */
enum qd_err kiosk_publish_status(struct kiosk *k, const char *status_json, const char *metrics);

/*
 * The event the page gets for a verdict (a new object, or NULL without
 * memory): seq, time_us (wall clock of the verdict), desk, source, verdict,
 * reason, reason_en, reason_bn, latency_us, and "card" - only when a trusted
 * key verified the card, since an unverified card's claims are the forger's
 * words - with name, passport (masked), destination {code, en, bn},
 * clearance_no, category {code, en, bn}, expires_at; "first_use" {time_us,
 * desk} for ALREADY_USED.  The full passport number never leaves C.
 */
json_t *kiosk_event_json(const struct pipeline_event *ev, const char *desk_id);

/*
 * A passport number as the page shows it: "••••" and the last 4 characters
 * ("••••5678"); only bullets if it has 4 or fewer.  out needs 17 bytes.
 */
/*
 * The two request values the kiosk reads itself (libmicrohttpd parses the
 * rest), exposed for tests and the fuzz target:
 *  - a Host header is allowed if it is an IP literal or "localhost", with an
 *    optional numeric port (a DNS name means a rebinding page: refused);
 *  - a Last-Event-ID "<boot>.<seq>" from this run gives its seq.
 */
bool kiosk_host_allowed(const char *host);
bool kiosk_parse_event_id(const char *id, const char *boot, uint64_t *seq);

void kiosk_mask_passport(const char *passport, char out[17]);

#endif

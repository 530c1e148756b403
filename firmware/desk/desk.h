/* SPDX-License-Identifier: Apache-2.0 */
/*
 * desk.h - qrdeskd's parts and the table that wires them (backend-only:
 * the daemon and its tests include it; docs/architecture.md draws it).
 *
 * A desk part is one job of the daemon (the store, the indicators, the
 * pipeline, the control socket, the kiosk, the code sources, hot-plug, the
 * sync worker, the audit upload, USB sticks).  Each declares the
 * configuration keys it owns, each marked live (applied by a reload) or
 * restart (a reload that finds it changed says so), and provides open,
 * reload, close and its share of the status.  desk_run() opens the parts in
 * table order and desk_close() closes them in exactly the reverse order, so
 * a part may use every part above it from open to close.
 *
 * Everything here runs on the loop thread.
 */
#ifndef QRDESK_DESK_H
#define QRDESK_DESK_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "qrdesk/config.h"
#include "qrdesk/error.h"
#include "qrdesk/indicator.h"
#include "qrdesk/loop.h"
#include "qrdesk/metrics.h"
#include "qrdesk/sync_worker.h"
#include "qrdesk/usb_update.h"

struct usb_mountd;

#define DESK_VERSION          "0.1.0"
#define DESK_SOURCES_MAX      8
#define DESK_HELD_REPLIES_MAX 8 /* control.h's CONTROL_CLIENTS_MAX (part_control.c checks) */

/* When a changed key takes effect. */
enum desk_key_when {
	DESK_KEY_LIVE = 1, /* at the reload (SIGHUP, qrdeskctl reload, a USB bundle) */
	DESK_KEY_RESTART,  /* at the next start; a reload that sees it changed warns */
};

/* A configuration key a part owns.  name NULL: every key of the section. */
struct desk_key {
	const char *section;
	const char *name;
	enum desk_key_when when;
};

struct desk;

struct desk_part {
	const char *name;
	const struct desk_key *keys; /* ends with {NULL}; or NULL and owns says */
	/* Optional, for keys listed elsewhere (the scanner registry): true if this part
	 * owns [section] name, with when set. */
	bool (*owns)(const char *section, const char *name, enum desk_key_when *when);
	/* 0, or -1 when the daemon cannot run without it (the part logged why).
	 * A part that may run without its resource logs, and returns 0. */
	int (*open)(struct desk *d);
	/* Optional: d->cfg holds the new live values; hand them to the part's objects. */
	void (*reload)(struct desk *d);
	/* Optional; called even if open failed half-way (release what is there). */
	void (*close)(struct desk *d);
	/* Optional: add this part's members to the status object (desk_status.h). */
	void (*status)(struct desk *d, json_t *status, int64_t now);
	/* Optional: the systemd DeviceAllow= lines for what cfg makes this part open. */
	void (*devices)(const struct config *cfg, FILE *out);
};

/* The parts, in start-up order (desk.c). */
extern const struct desk_part *const desk_parts[];
extern const size_t desk_parts_count;

/* The owner of [section] name and when it takes effect; NULL if no part owns it. */
const struct desk_part *desk_key_owner(const char *section, const char *name,
                                       enum desk_key_when *when);

/*
 * The configuration the daemon runs, built the same way at start and on
 * every reload (qrdeskd.c: defaults, file, USB drop-in, demo, command line).
 * QD_ERR_NOT_FOUND / QD_ERR_IO: unreadable; QD_ERR_FORMAT: errs says what;
 * QD_ERR_ARG: a command-line value is bad (why says which).
 */
typedef enum qd_err (*desk_compose_fn)(const void *arg, struct config *out,
                                       struct config_errors *errs, struct qd_errmsg *why);

/* What the last reload did, for `qrdeskctl reload`. */
struct desk_reload {
	bool config_ok, trust_ok;
	char config_error[400]; /* the first bad line, "file:line: message" */
	char trust_error[320];
};

struct desk_status;
struct store;
struct indicator_player;
struct pipeline;
struct audit_writer;
struct control;
struct kiosk;
struct source;
struct hotplug;
struct usb_stick;

struct desk {
	struct config cfg; /* the running configuration */
	desk_compose_fn compose;
	const void *compose_arg;
	bool demo;
	struct desk_reload last_reload;
	/* desk_reload's own: the configuration a reload composes before it takes the live keys
	 * (large: here rather than on the stack; valid only during a reload). */
	struct config reload_cfg;
	struct loop *loop;
	int64_t started_us;
	struct desk_status *status;
	struct loop_timer *watchdog;
	/* desk */
	struct store *store;
	/* indicators */
	struct indicator_backend indicators;
	bool indicators_open;
	struct indicator_player *player;
	/* pipeline */
	struct pipeline *pipeline;
	struct loop_timer *pipeline_tick; /* binding transactions that ran out */
	struct metrics_latency latency;
	struct audit_writer *audit_writer; /* NULL: rows written on the loop's turn */
	/* control */
	struct control *control;
	/* scan replies held until their audit rows are durable (one per client at most) */
	struct desk_held_reply {
		uint64_t token, ticket;
	} held_replies[DESK_HELD_REPLIES_MAX];
	size_t n_held_replies;
	/* kiosk */
	struct kiosk *kiosk; /* NULL: off, or the port could not be bound */
	/* sources */
	struct source *sources[DESK_SOURCES_MAX];
	size_t n_sources;
	unsigned source_formats; /* CAMERA_FORMAT_* the camera and image folder read */
	/* hotplug */
	struct hotplug *hotplug;  /* NULL: off, or could not start (hotplug_detail says) */
	char hotplug_detail[320]; /* why it is off, or the last event */
	uint64_t hotplug_events;
	int64_t hotplug_last_us; /* wall clock of the last event; 0: none */
	/* sync and upload */
	struct sync_worker *worker; /* NULL: not started (libcurl could not start) */
	bool curl_ready;
	uint64_t sync_changed_seen;        /* worker's changed count the pipeline reloaded for */
	struct sync_worker_status sync_st; /* as of the last status rebuild */
	/* usb */
	struct usb_stick *usb;
	/* udev mode: the privileged mount helper, forked in main() before it drops every
	 * capability (usb_mountd.h); NULL in the other modes. */
	struct usb_mountd *mountd;
	enum usb_stage usb_stage;
	char usb_text[400];
	int64_t usb_time; /* wall seconds of the last USB event; 0: none yet */
	/* firmware (a desk image's slot; "" when not known) */
	char fw_version[64], fw_compatible[64];
	int64_t fw_event_time;    /* wall seconds of the last update or rollback; 0: none seen */
	char fw_event_result[16]; /* "updated" or "rolled-back" */
	char fw_event_text[256];
};

/*
 * Open every part in table order, tell systemd READY and run the loop until
 * SIGTERM or SIGINT.  d->cfg, compose and demo are set by the caller.
 * 0, or 1 when a part could not open or the loop failed (logged).  Call
 * desk_close() after it in either case.
 */
int desk_run(struct desk *d);
void desk_close(struct desk *d);

/*
 * Re-read the configuration (all or nothing) and the trust data, between two
 * scans.  Restart keys that changed are named in a warning; live keys are
 * copied into d->cfg and every part's reload applies them.
 */
void desk_reload(struct desk *d);
/* part_control: send the held scan replies whose audit rows are now durable. */
void desk_release_replies(struct desk *d);

/* Every restart key whose value differs between run and fresh: fn(arg, "[section] key"). */
void desk_changed_restart_keys(const struct config *run, const struct config *fresh,
                               void (*fn)(void *arg, const char *key), void *arg);

/* The systemd drop-in allowing exactly the devices cfg uses (--unit-devices). */
void desk_unit_devices(const struct config *cfg, const char *path, FILE *out);

/* Each part's status members into one object (desk_status.c rebuilds with it). */
json_t *desk_status_build(struct desk *d);

/* The parts (part_*.c). */
extern const struct desk_part desk_part_desk, desk_part_indicators, desk_part_pipeline,
        desk_part_control, desk_part_kiosk, desk_part_sources, desk_part_hotplug, desk_part_sync,
        desk_part_upload, desk_part_usb, desk_part_firmware;

#endif

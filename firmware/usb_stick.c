/* SPDX-License-Identifier: Apache-2.0 */
/*
 * usb_stick.c - the desk's USB part: sticks from the driver (usb_watch.c),
 * read by usb_update.c; see usb_stick.h.
 *
 * Threads: the part lives on the loop thread.  A stick is read on one worker
 * thread (joined before the stick is given back, so before the next starts)
 * with its own store connection; the worker talks back only through
 * loop_post().
 */
#include "qrdesk/usb_stick.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "qrdesk/desk_key.h"
#include "qrdesk/log.h"
#include "qrdesk/store.h"
#include "qrdesk/usb_watch.h"

struct usb_stick {
	struct loop *loop;
	struct usb_stick_config cfg;
	struct usb_watch *watch;
	pthread_t worker;
	bool busy;
	char root[CONFIG_PATH_MAX + 64]; /* what usb_process_stick reads */
	struct usb_report report; /* written by the worker, read on the loop after it posts */
	int64_t last_progress_us;
};

static void stage(struct usb_stick *s, enum usb_stage st, const char *text)
{
	if (s->cfg.on_stage != NULL)
		s->cfg.on_stage(s->cfg.arg, st, text);
}

/* ---- the worker ---------------------------------------------------------------- */

struct stage_msg {
	struct usb_stick *s;
	enum usb_stage stage;
	char text[200];
};

static void deliver_stage(struct loop *loop, void *arg)
{
	(void)loop;
	struct stage_msg *m = arg;
	stage(m->s, m->stage, m->text);
	free(m);
}

static void post_stage(struct usb_stick *s, enum usb_stage st, const char *text)
{
	struct stage_msg *m = calloc(1, sizeof(*m));
	if (m == NULL)
		return;
	m->s = s;
	m->stage = st;
	snprintf(m->text, sizeof(m->text), "%.*s", (int)sizeof(m->text) - 1, text);
	if (loop_post(s->loop, deliver_stage, m) != QD_OK)
		free(m);
}

static int64_t mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void on_progress(void *arg, const char *what, uint64_t done, uint64_t total)
{
	struct usb_stick *s = arg;
	int64_t now = mono_us();
	/* At most 4 updates a second, and always the last one. */
	if (total > 0 && done < total && now - s->last_progress_us < 250000)
		return;
	s->last_progress_us = now;
	char text[200];
	if (total > 0)
		snprintf(text, sizeof(text), "reading %s %llu%%", what,
		         (unsigned long long)(done * 100 / total));
	else
		snprintf(text, sizeof(text), "%s", what);
	post_stage(s, USB_READING, text);
}

static enum qd_err on_writable(void *arg, bool writable, struct qd_errmsg *why)
{
	struct usb_stick *s = arg;
	return usb_watch_set_writable(s->watch, writable, why);
}

static void worker_done(struct loop *loop, void *arg)
{
	(void)loop;
	struct usb_stick *s = arg;
	pthread_join(s->worker, NULL);
	s->busy = false;
	if (s->cfg.on_report != NULL)
		s->cfg.on_report(s->cfg.arg, &s->report);
	usb_watch_done(s->watch); /* unmounts it, hands out the next */
}

static void *worker_main(void *arg)
{
	struct usb_stick *s = arg;
	struct store *store = NULL;
	struct qd_errmsg why = {{0}};
	memset(&s->report, 0, sizeof(s->report));
	if (store_open(s->cfg.store, STORE_OPEN_READWRITE, &store, &why) != QD_OK) {
		s->report.stage = USB_REJECTED;
		snprintf(s->report.headline, sizeof(s->report.headline),
		         "rejected: cannot open the store: %s", why.text);
	} else {
		/* Only a stick we mounted ourselves is remounted for the export. */
		bool ours = s->cfg.usb.mode == CONFIG_USB_UDEV;
		/* The desk's key, read for each stick: enrolling needs no restart. */
		char key_path[CONFIG_PATH_MAX + 16];
		desk_key_default_path(s->cfg.store, key_path, sizeof(key_path));
		struct signature_keypair kp;
		struct qd_errmsg key_why = {{0}};
		bool have_key = desk_key_load(key_path, &kp, &key_why) == QD_OK;
		struct usb_options opt = {
		        .desk_key = have_key ? &kp : NULL,
		        .desk_id = s->cfg.desk_id,
		        .batch_rows = s->cfg.batch_rows,
		        .dropin_path = s->cfg.usb.dropin,
		        .max_bundle_bytes = (size_t)s->cfg.usb.max_bundle_mb * 1024 * 1024,
		        .clock_now = (int64_t)time(NULL),
		        .firmware = s->cfg.firmware,
		        .hooks = {.progress = on_progress,
		                  .set_writable = ours ? on_writable : NULL,
		                  .arg = s},
		};
		(void)usb_process_stick(store, s->root, &opt, &s->report);
		if (have_key)
			signature_keypair_wipe(&kp);
		store_close(store);
	}
	if (loop_post(s->loop, worker_done, s) != QD_OK)
		log_err("usb: cannot report the stick's result (no memory)");
	return NULL;
}

/* ---- what the driver tells ------------------------------------------------------- */

static void on_stick(void *arg, const char *root)
{
	struct usb_stick *s = arg;
	snprintf(s->root, sizeof(s->root), "%s", root);
	log_info("usb: reading the stick at %s", root);
	stage(s, USB_READING, "reading the stick");
	s->busy = true;
	if (pthread_create(&s->worker, NULL, worker_main, s) != 0) {
		s->busy = false;
		log_err("usb: cannot start the worker thread");
		usb_watch_done(s->watch);
	}
}

static void on_removed(void *arg, const char *root, bool held)
{
	(void)root;
	(void)held; /* the worker sees the files vanish and reports it */
	stage(arg, USB_REMOVED, "stick removed");
}

static void on_refused(void *arg, const char *why)
{
	stage(arg, USB_REJECTED, why);
}

/* ---- start, stop ------------------------------------------------------------------ */

enum qd_err usb_stick_start(struct loop *loop, const struct usb_stick_config *cfg,
                            struct usb_stick **out, struct qd_errmsg *why)
{
	*out = NULL;
	struct usb_stick *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return QD_ERR_NOMEM;
	s->loop = loop;
	s->cfg = *cfg;
	if (cfg->usb.mode == CONFIG_USB_OFF) {
		*out = s; /* sticks are ignored: nothing to watch */
		return QD_OK;
	}
	struct usb_watch_config wc = {
	        .mode = cfg->usb.mode == CONFIG_USB_UDEV ? USB_WATCH_UDEV : USB_WATCH_AUTOMOUNT,
	        .on_stick = on_stick,
	        .on_removed = on_removed,
	        .on_refused = on_refused,
	        .arg = s,
	};
	snprintf(wc.watch_dir, sizeof(wc.watch_dir), "%s", cfg->usb.watch_dir);
	snprintf(wc.mount_dir, sizeof(wc.mount_dir), "%s", cfg->usb.mount_dir);
	wc.mountd = cfg->mountd;
	enum qd_err rc = usb_watch_start(loop, &wc, &s->watch, why);
	if (rc != QD_OK) {
		free(s);
		return rc;
	}
	*out = s;
	return QD_OK;
}

void usb_stick_stop(struct usb_stick *s)
{
	if (s == NULL)
		return;
	/* The worker posts its result to a loop that no longer runs: join it here. */
	if (s->busy)
		pthread_join(s->worker, NULL);
	usb_watch_stop(s->watch); /* unmounts a stick it mounted */
	free(s);
}

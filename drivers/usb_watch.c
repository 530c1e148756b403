/* SPDX-License-Identifier: Apache-2.0 */
/*
 * usb_watch.c - noticing USB sticks: inotify on an automount folder, or a
 * libudev monitor with our own read-only mounts; see usb_watch.h.
 *
 * Threads: the watch lives on the loop thread.  One stick is handed out at
 * a time; a stick that appears meanwhile is remembered (one) and handed out
 * when the holder is done.  Only usb_watch_set_writable() is called from the
 * holder's thread: it reads root, which does not change while a stick is held.
 */
#define _GNU_SOURCE
#include "qrdesk/usb_watch.h"

#include <errno.h>
#include <libudev.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "qrdesk/log.h"
#include "qrdesk/usb_mountd.h"

/*
 * automount: an automounter makes the folder, then mounts the stick on it.
 * Reading the folder at once could see the empty mount point: wait this
 * long after the folder appears.
 */
#define SETTLE_MS 1000

struct usb_watch {
	struct loop *loop;
	struct usb_watch_config cfg;
	int inotify_fd;
	struct loop_timer *settle; /* automount: start the pending stick when it fires */
	struct udev *udev;
	struct udev_monitor *monitor;
	/* the stick handed out (between on_stick and usb_watch_done) */
	bool busy;
	char root[USB_WATCH_PATH_MAX + 64];
	char devname[USB_MOUNTD_NAME_MAX]; /* udev mode: the device the helper mounted, "" otherwise
	                                    */
	char pending_root[USB_WATCH_PATH_MAX + 64];
	char pending_devname[USB_MOUNTD_NAME_MAX];
	char pending_fstype[16];
};

/* ---- handing sticks out ---------------------------------------------------------- */

static void refuse(struct usb_watch *w, const char *why)
{
	if (w->cfg.on_refused != NULL)
		w->cfg.on_refused(w->cfg.arg, why);
}

static void start_next(struct usb_watch *w);

void usb_watch_done(struct usb_watch *w)
{
	if (w == NULL || !w->busy)
		return;
	w->busy = false;
	if (w->devname[0]) {
		struct qd_errmsg why = {{0}};
		if (usb_mountd_unmount(w->cfg.mountd, w->devname, &why) != QD_OK)
			log_err("usb: %s", why.text);
		w->devname[0] = '\0';
	}
	start_next(w);
}

enum qd_err usb_watch_set_writable(struct usb_watch *w, bool writable, struct qd_errmsg *why)
{
	if (w == NULL || !w->busy || w->devname[0] == '\0')
		return QD_OK;
	return usb_mountd_remount(w->cfg.mountd, w->devname, writable, why);
}

/* Hand out root (the helper mounting device devname there first, in udev mode). */
static void start_stick(struct usb_watch *w, const char *root, const char *devname,
                        const char *fstype)
{
	snprintf(w->root, sizeof(w->root), "%s", root);
	w->devname[0] = '\0';
	if (devname != NULL && devname[0]) {
		struct qd_errmsg why = {{0}};
		if (usb_mountd_mount(w->cfg.mountd, devname, fstype, &why) != QD_OK) {
			log_err("usb: %s", why.text);
			refuse(w, why.text);
			return;
		}
		snprintf(w->devname, sizeof(w->devname), "%s", devname);
	}
	w->busy = true;
	if (w->cfg.on_stick != NULL)
		w->cfg.on_stick(w->cfg.arg, root);
	else
		usb_watch_done(w);
}

static void start_next(struct usb_watch *w)
{
	if (w->busy || w->pending_root[0] == '\0')
		return;
	char root[sizeof(w->pending_root)], dev[sizeof(w->pending_devname)], fs[16];
	snprintf(root, sizeof(root), "%s", w->pending_root);
	snprintf(dev, sizeof(dev), "%s", w->pending_devname);
	snprintf(fs, sizeof(fs), "%s", w->pending_fstype);
	w->pending_root[0] = w->pending_devname[0] = w->pending_fstype[0] = '\0';
	start_stick(w, root, dev, fs);
}

static void stick_appeared(struct usb_watch *w, const char *root, const char *devname,
                           const char *fstype)
{
	snprintf(w->pending_root, sizeof(w->pending_root), "%s", root);
	snprintf(w->pending_devname, sizeof(w->pending_devname), "%s", devname ? devname : "");
	snprintf(w->pending_fstype, sizeof(w->pending_fstype), "%s", fstype ? fstype : "");
	if (w->settle != NULL)
		loop_timer_arm(w->settle, SETTLE_MS, 0);
	else
		start_next(w);
}

static void on_settled(struct loop *loop, struct loop_timer *timer, void *arg)
{
	(void)loop;
	(void)timer;
	start_next(arg);
}

static void stick_removed(struct usb_watch *w, const char *root)
{
	if (strcmp(w->pending_root, root) == 0)
		w->pending_root[0] = '\0';
	bool held = w->busy && strcmp(w->root, root) == 0;
	log_info("usb: the stick at %s was removed%s", root, held ? " while it was read" : "");
	if (w->cfg.on_removed != NULL)
		w->cfg.on_removed(w->cfg.arg, root, held);
}

/* ---- automount: inotify --------------------------------------------------------- */

static void on_inotify(struct loop *loop, int fd, uint32_t events, void *arg)
{
	(void)loop;
	(void)events;
	struct usb_watch *w = arg;
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n <= 0)
			return; /* EAGAIN: all read */
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)p;
			p += sizeof(*ev) + ev->len;
			if (ev->len == 0 || ev->name[0] == '.')
				continue;
			char root[sizeof(w->root)];
			snprintf(root, sizeof(root), "%s/%s", w->cfg.watch_dir, ev->name);
			if (ev->mask & (IN_CREATE | IN_MOVED_TO))
				stick_appeared(w, root, NULL, NULL);
			else if (ev->mask & (IN_DELETE | IN_MOVED_FROM))
				stick_removed(w, root);
		}
	}
}

/* ---- udev: a monitor for block devices --------------------------------------- */

static void on_udev(struct loop *loop, int fd, uint32_t events, void *arg)
{
	(void)loop;
	(void)fd;
	(void)events;
	struct usb_watch *w = arg;
	struct udev_device *dev;
	while ((dev = udev_monitor_receive_device(w->monitor)) != NULL) {
		const char *action = udev_device_get_action(dev);
		const char *node = udev_device_get_devnode(dev);
		const char *sysname = udev_device_get_sysname(dev);
		const char *fstype = udev_device_get_property_value(dev, "ID_FS_TYPE");
		const char *bus = udev_device_get_property_value(dev, "ID_BUS");
		char root[sizeof(w->root)];
		snprintf(root, sizeof(root), "%s/%s", w->cfg.mount_dir,
		         sysname != NULL ? sysname : "stick");
		if (action != NULL && node != NULL && strcmp(action, "add") == 0) {
			if (bus == NULL || strcmp(bus, "usb") != 0) {
				/* not a USB device: not ours */
			} else if (!usb_fstype_supported(fstype)) {
				log_info("usb: %s has %s, not vfat, exfat or ext4: ignored", node,
				         fstype != NULL ? fstype : "no file system");
				if (fstype != NULL)
					refuse(w, "the stick's file system is not vfat, exfat or "
					          "ext4");
			} else if (sysname != NULL) {
				stick_appeared(w, root, sysname, fstype);
			}
		} else if (action != NULL && strcmp(action, "remove") == 0) {
			if (w->busy && strcmp(w->root, root) == 0)
				stick_removed(w, root);
		}
		udev_device_unref(dev);
	}
}

/* ---- start, stop ------------------------------------------------------------------ */

enum qd_err usb_watch_start(struct loop *loop, const struct usb_watch_config *cfg,
                            struct usb_watch **out, struct qd_errmsg *why)
{
	*out = NULL;
	struct usb_watch *w = calloc(1, sizeof(*w));
	if (w == NULL)
		return QD_ERR_NOMEM;
	w->loop = loop;
	w->cfg = *cfg;
	w->inotify_fd = -1;
	enum qd_err rc = QD_OK;
	if (cfg->mode == USB_WATCH_AUTOMOUNT) {
		w->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
		if (w->inotify_fd < 0 ||
		    inotify_add_watch(w->inotify_fd, cfg->watch_dir,
		                      IN_CREATE | IN_MOVED_TO | IN_DELETE | IN_MOVED_FROM |
		                              IN_ONLYDIR) < 0) {
			qd_errmsg_set(why, "cannot watch %s: %s", cfg->watch_dir, strerror(errno));
			rc = QD_ERR_IO;
		} else {
			rc = loop_add_fd(loop, w->inotify_fd, EPOLLIN, on_inotify, w);
			if (rc == QD_OK)
				rc = loop_timer_create(loop, on_settled, w, &w->settle);
		}
	} else if (cfg->mode == USB_WATCH_UDEV) {
		if (cfg->mountd == NULL) {
			qd_errmsg_set(why, "udev mode has no mount helper (qrdeskd starts it)");
			rc = QD_ERR_ARG;
		} else if (mkdir(cfg->mount_dir, 0700) != 0 && errno != EEXIST) {
			qd_errmsg_set(why, "%s: %s", cfg->mount_dir, strerror(errno));
			rc = QD_ERR_IO;
		}
		w->udev = rc == QD_OK ? udev_new() : NULL;
		w->monitor =
		        w->udev != NULL ? udev_monitor_new_from_netlink(w->udev, "udev") : NULL;
		if (rc == QD_OK && (w->monitor == NULL ||
		                    udev_monitor_filter_add_match_subsystem_devtype(
		                            w->monitor, "block", NULL) < 0 ||
		                    udev_monitor_enable_receiving(w->monitor) < 0)) {
			qd_errmsg_set(why, "cannot listen to udev for USB sticks");
			rc = QD_ERR_IO;
		}
		if (rc == QD_OK)
			rc = loop_add_fd(loop, udev_monitor_get_fd(w->monitor), EPOLLIN, on_udev,
			                 w);
	}
	if (rc != QD_OK) {
		usb_watch_stop(w);
		return rc;
	}
	*out = w;
	return QD_OK;
}

void usb_watch_stop(struct usb_watch *w)
{
	if (w == NULL)
		return;
	if (w->busy) {
		w->busy = false;
		if (w->devname[0]) {
			struct qd_errmsg why = {{0}};
			(void)usb_mountd_unmount(w->cfg.mountd, w->devname, &why);
		}
	}
	loop_timer_destroy(w->settle);
	if (w->inotify_fd >= 0) {
		loop_remove_fd(w->loop, w->inotify_fd);
		close(w->inotify_fd);
	}
	if (w->monitor != NULL) {
		loop_remove_fd(w->loop, udev_monitor_get_fd(w->monitor));
		udev_monitor_unref(w->monitor);
	}
	if (w->udev != NULL)
		udev_unref(w->udev);
	free(w);
}

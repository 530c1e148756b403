/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hotplug.c - device arrivals and departures, from udev or inotify
 * (hotplug.h).
 *
 * Both backends only say "something changed here": the sources decide for
 * themselves whether their device is now present (they open it, or fail to),
 * so a missed, duplicated or misattributed event costs at worst one extra
 * open attempt, never a wrong state.
 */
#include "qrdesk/hotplug.h"

#include <errno.h>
#include <libudev.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "qrdesk/log.h"

#define UDEV_RUNNING_PATH "/run/udev/control"

/* inotify: the device directory and the subfolders where scanners and cameras appear. */
static const char *const watched_subdirs[] = {"", "input", "serial/by-id", "v4l/by-id"};
#define N_WATCHED (sizeof(watched_subdirs) / sizeof(watched_subdirs[0]))

struct hotplug {
	struct loop *loop;
	enum hotplug_backend backend;
	hotplug_cb on_event;
	void *arg;
	int fd;
	/* udev */
	struct udev *udev;
	struct udev_monitor *monitor;
	/* inotify */
	char dev_dir[256];
	int wd[N_WATCHED]; /* -1: not watched (the folder does not exist yet) */
};

const char *hotplug_action_name(enum hotplug_action action)
{
	switch (action) {
	case HOTPLUG_ADD:
		return "add";
	case HOTPLUG_REMOVE:
		return "remove";
	case HOTPLUG_CHANGE:
		return "change";
	}
	return "unknown";
}

enum hotplug_backend hotplug_backend_in_use(const struct hotplug *hp)
{
	return hp ? hp->backend : HOTPLUG_OFF;
}

/* ---- udev ---------------------------------------------------------------- */

static bool udev_action(const char *action, enum hotplug_action *out)
{
	if (action == NULL)
		return false;
	if (strcmp(action, "add") == 0)
		*out = HOTPLUG_ADD;
	else if (strcmp(action, "remove") == 0)
		*out = HOTPLUG_REMOVE;
	else if (strcmp(action, "change") == 0 || strcmp(action, "move") == 0)
		*out = HOTPLUG_CHANGE;
	else /* bind, unbind: the driver side of an add or remove already seen */
		return false;
	return true;
}

static void on_udev_readable(struct loop *loop, int fd, uint32_t events, void *arg)
{
	struct hotplug *hp = arg;
	(void)loop;
	(void)fd;
	(void)events;
	/* The monitor's socket is non-blocking: take everything queued. */
	struct udev_device *dev;
	while ((dev = udev_monitor_receive_device(hp->monitor)) != NULL) {
		struct hotplug_event ev = {0};
		const char *node = udev_device_get_devnode(dev);
		const char *subsystem = udev_device_get_subsystem(dev);
		/* input%d parents have no node; their eventN child has the same news. */
		if (node != NULL && udev_action(udev_device_get_action(dev), &ev.action)) {
			snprintf(ev.subsystem, sizeof(ev.subsystem), "%s",
			         subsystem ? subsystem : "");
			snprintf(ev.devnode, sizeof(ev.devnode), "%s", node);
			hp->on_event(hp->arg, &ev);
		}
		udev_device_unref(dev);
	}
}

static enum qd_err start_udev(struct hotplug *hp, struct qd_errmsg *why)
{
	static const char *const subsystems[] = {"tty", "input", "video4linux"};
	hp->udev = udev_new();
	if (hp->udev == NULL) {
		qd_errmsg_set(why, "udev: cannot create a context");
		return QD_ERR_NOMEM;
	}
	hp->monitor = udev_monitor_new_from_netlink(hp->udev, "udev");
	if (hp->monitor == NULL) {
		qd_errmsg_set(why, "udev: cannot open the netlink monitor");
		return QD_ERR_IO;
	}
	for (size_t i = 0; i < sizeof(subsystems) / sizeof(subsystems[0]); i++) {
		if (udev_monitor_filter_add_match_subsystem_devtype(hp->monitor, subsystems[i],
		                                                    NULL) < 0) {
			qd_errmsg_set(why, "udev: cannot filter on %s", subsystems[i]);
			return QD_ERR_IO;
		}
	}
	int rc = udev_monitor_enable_receiving(hp->monitor);
	if (rc < 0) {
		qd_errmsg_set(why, "udev: cannot receive events: %s", strerror(-rc));
		return QD_ERR_IO;
	}
	hp->fd = udev_monitor_get_fd(hp->monitor);
	if (loop_add_fd(hp->loop, hp->fd, EPOLLIN, on_udev_readable, hp) != QD_OK) {
		qd_errmsg_set(why, "udev: cannot watch the monitor");
		hp->fd = -1;
		return QD_ERR_IO;
	}
	return QD_OK;
}

/* ---- inotify ------------------------------------------------------------- */

#define INOTIFY_MASK (IN_CREATE | IN_DELETE | IN_MOVED_TO | IN_MOVED_FROM | IN_ATTRIB)

/* Watch every watched folder that exists now (folders appear with the first device). */
static void inotify_add_missing(struct hotplug *hp)
{
	for (size_t i = 0; i < N_WATCHED; i++) {
		if (hp->wd[i] >= 0)
			continue;
		char path[PATH_MAX];
		int n = snprintf(path, sizeof(path), "%s%s%s", hp->dev_dir,
		                 watched_subdirs[i][0] ? "/" : "", watched_subdirs[i]);
		if (n < 0 || (size_t)n >= sizeof(path))
			continue;
		hp->wd[i] = inotify_add_watch(hp->fd, path, INOTIFY_MASK | IN_ONLYDIR);
	}
}

/* What a node's name says about its kind: ttyACM0, input/event3, video0... */
static const char *guess_subsystem(const char *subdir, const char *name)
{
	if (strncmp(subdir, "input", 5) == 0 || strncmp(name, "event", 5) == 0)
		return "input";
	if (strncmp(subdir, "serial", 6) == 0 || strncmp(name, "tty", 3) == 0)
		return "tty";
	if (strncmp(subdir, "v4l", 3) == 0 || strncmp(name, "video", 5) == 0)
		return "video4linux";
	return "";
}

static void on_inotify_readable(struct loop *loop, int fd, uint32_t events, void *arg)
{
	struct hotplug *hp = arg;
	(void)loop;
	(void)events;
	_Alignas(struct inotify_event) char buf[8192];
	bool folders_changed = false;
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n <= 0)
			break; /* EAGAIN: all read */
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ie = (const struct inotify_event *)(void *)p;
			p += sizeof(*ie) + ie->len;
			size_t i = 0;
			while (i < N_WATCHED && hp->wd[i] != ie->wd)
				i++;
			if (i == N_WATCHED)
				continue;
			if (ie->mask & IN_IGNORED) { /* the folder went away */
				hp->wd[i] = -1;
				continue;
			}
			if (ie->len == 0)
				continue;
			if (ie->mask &
			    IN_ISDIR) { /* e.g. /dev/input made with the first input device */
				folders_changed = true;
				continue;
			}
			struct hotplug_event ev = {0};
			ev.action = (ie->mask & (IN_CREATE | IN_MOVED_TO))     ? HOTPLUG_ADD
			            : (ie->mask & (IN_DELETE | IN_MOVED_FROM)) ? HOTPLUG_REMOVE
			                                                       : HOTPLUG_CHANGE;
			snprintf(ev.subsystem, sizeof(ev.subsystem), "%s",
			         guess_subsystem(watched_subdirs[i], ie->name));
			int len = snprintf(ev.devnode, sizeof(ev.devnode), "%s%s%s/%s", hp->dev_dir,
			                   watched_subdirs[i][0] ? "/" : "", watched_subdirs[i],
			                   ie->name);
			if (len < 0 || (size_t)len >= sizeof(ev.devnode))
				continue; /* a name no configured path can have */
			hp->on_event(hp->arg, &ev);
		}
	}
	if (folders_changed)
		inotify_add_missing(hp);
}

static enum qd_err start_inotify(struct hotplug *hp, const char *dev_dir, struct qd_errmsg *why)
{
	snprintf(hp->dev_dir, sizeof(hp->dev_dir), "%s", dev_dir[0] ? dev_dir : "/dev");
	hp->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (hp->fd < 0) {
		qd_errmsg_set(why, "inotify: %s", strerror(errno));
		return QD_ERR_IO;
	}
	inotify_add_missing(hp);
	if (hp->wd[0] < 0) {
		qd_errmsg_set(why, "inotify: cannot watch %s: %s", hp->dev_dir, strerror(errno));
		return errno == ENOENT ? QD_ERR_NOT_FOUND : QD_ERR_IO;
	}
	if (loop_add_fd(hp->loop, hp->fd, EPOLLIN, on_inotify_readable, hp) != QD_OK) {
		qd_errmsg_set(why, "inotify: cannot watch the descriptor");
		return QD_ERR_IO;
	}
	return QD_OK;
}

/* ---- both ---------------------------------------------------------------- */

/*
 * Is udevd running?  Its control socket must exist and take a connection: a
 * udevd that was killed leaves the socket file behind, and a monitor would
 * then open fine and never hear a thing.
 */
bool hotplug_udev_running(void)
{
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", UDEV_RUNNING_PATH);
	bool up = connect(fd, (const struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return up;
}

enum qd_err hotplug_start(struct loop *loop, const struct hotplug_config *cfg, hotplug_cb on_event,
                          void *arg, struct hotplug **out, struct qd_errmsg *why)
{
	*out = NULL;
	if (cfg->backend == HOTPLUG_OFF)
		return QD_OK;
	struct hotplug *hp = calloc(1, sizeof(*hp));
	if (hp == NULL) {
		qd_errmsg_set(why, "out of memory");
		return QD_ERR_NOMEM;
	}
	hp->loop = loop;
	hp->on_event = on_event;
	hp->arg = arg;
	hp->fd = -1;
	for (size_t i = 0; i < N_WATCHED; i++)
		hp->wd[i] = -1;

	bool udev_running = hotplug_udev_running();
	hp->backend = cfg->backend;
	if (hp->backend == HOTPLUG_AUTO)
		hp->backend = udev_running ? HOTPLUG_UDEV : HOTPLUG_INOTIFY;
	enum qd_err rc;
	if (hp->backend == HOTPLUG_UDEV && !udev_running) {
		/* A monitor would open fine and never hear anything: say so now. */
		qd_errmsg_set(why, "udev: udevd is not running (%s does not answer)",
		              UDEV_RUNNING_PATH);
		rc = QD_ERR_NOT_FOUND;
	} else if (hp->backend == HOTPLUG_UDEV) {
		rc = start_udev(hp, why);
	} else {
		rc = start_inotify(hp, cfg->dev_dir, why);
	}
	if (rc != QD_OK) {
		hotplug_stop(hp);
		return rc;
	}
	*out = hp;
	return QD_OK;
}

void hotplug_stop(struct hotplug *hp)
{
	if (hp == NULL)
		return;
	if (hp->fd >= 0)
		loop_remove_fd(hp->loop, hp->fd);
	if (hp->monitor != NULL)
		udev_monitor_unref(hp->monitor); /* closes its socket (hp->fd) */
	else if (hp->fd >= 0)
		close(hp->fd);
	udev_unref(hp->udev);
	free(hp);
}

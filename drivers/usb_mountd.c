/* SPDX-License-Identifier: Apache-2.0 */
/*
 * usb_mountd.c - the privileged mount helper of udev mode and its client; see
 * usb_mountd.h.
 *
 * The helper trusts nothing the daemon sends: the daemon parses network
 * replies, HTTP requests and images, so it is the part that may be taken
 * over.  Every request is one fixed-size message, parsed strictly
 * (usb_mountd_request_parse, fuzzed); the helper derives every path itself
 * (/dev/<name>, <mount_dir>/<name>), asks the policy about the device, and
 * keeps the list of what it mounted so that it never unmounts anything else.
 * Paths are resolved through file descriptors (the mount folder opened once,
 * the mount point opened O_NOFOLLOW, then named as /proc/self/fd/N) so that
 * a link swapped in by the daemon's user is never followed.  Given a user of
 * its own (usb_mountd_start_as), the helper takes the mount folder and
 * becomes that user before it serves: the daemon's uid then cannot signal,
 * ptrace or read it, nor put anything in its folder.
 */
#define _GNU_SOURCE
#include "qrdesk/usb_mountd.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libudev.h>
#include <linux/capability.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "qrdesk/log.h"

#define MOUNT_FLAGS (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC)
/* Sticks mounted at once: udev mode reads one at a time, and one may wait. */
#define MAX_MOUNTS 4
/* A mount point as logged: mount_dir/name. */
#define SHOWN_MAX 320

struct usb_mountd {
	int fd;               /* our end of the socketpair */
	pid_t pid;            /* the helper */
	pthread_mutex_t lock; /* one request at a time: the loop and the stick's worker both ask */
};

/* ---- the mount steps ----------------------------------------------------------- */

bool usb_fstype_supported(const char *fstype)
{
	return fstype != NULL && (strcmp(fstype, "vfat") == 0 || strcmp(fstype, "exfat") == 0 ||
	                          strcmp(fstype, "ext4") == 0);
}

/* owner: whose FAT's files are (FAT has no owners; the mounter's uid by default). */
static enum qd_err mount_on(const char *devnode, const char *fstype, const char *target,
                            const char *shown, uid_t owner, gid_t group, struct qd_errmsg *why)
{
	if (!usb_fstype_supported(fstype)) {
		qd_errmsg_set(why, "%s: file system %s is not one we read (vfat, exfat, ext4)",
		              devnode, fstype != NULL ? fstype : "unknown");
		return QD_ERR_UNSUPPORTED;
	}
	/* FAT has no owners: files owned by the daemon, not executable, not writable by others. */
	char fat[80];
	snprintf(fat, sizeof(fat), "uid=%u,gid=%u,fmask=0133,dmask=0022", (unsigned)owner,
	         (unsigned)group);
	const char *data = strcmp(fstype, "ext4") == 0 ? NULL : fat;
	if (mount(devnode, target, fstype, MOUNT_FLAGS, data) != 0) {
		qd_errmsg_set(why, "cannot mount %s (%s) at %s: %s", devnode, fstype, shown,
		              strerror(errno));
		return QD_ERR_IO;
	}
	return QD_OK;
}

enum qd_err usb_mount(const char *devnode, const char *fstype, const char *dir,
                      struct qd_errmsg *why)
{
	if (!usb_fstype_supported(fstype))
		return mount_on(devnode, fstype, dir, dir, getuid(), getgid(), why);
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		qd_errmsg_set(why, "%s: %s", dir, strerror(errno));
		return QD_ERR_IO;
	}
	enum qd_err rc = mount_on(devnode, fstype, dir, dir, getuid(), getgid(), why);
	if (rc != QD_OK)
		rmdir(dir);
	return rc;
}

static enum qd_err remount_path(const char *dir, const char *shown, bool writable,
                                struct qd_errmsg *why)
{
	unsigned long flags = MS_REMOUNT | MS_NOSUID | MS_NODEV | MS_NOEXEC;
	if (!writable)
		flags |= MS_RDONLY;
	if (mount(NULL, dir, NULL, flags, NULL) != 0) {
		qd_errmsg_set(why, "cannot remount %s %s: %s", shown,
		              writable ? "read-write" : "read-only", strerror(errno));
		return QD_ERR_IO;
	}
	return QD_OK;
}

enum qd_err usb_remount(const char *dir, bool writable, struct qd_errmsg *why)
{
	return remount_path(dir, dir, writable, why);
}

/* Unmounts dir (detached if busy: a pulled stick may keep it busy); no link followed. */
static enum qd_err unmount_path(const char *dir, const char *shown, struct qd_errmsg *why)
{
	if (umount2(dir, UMOUNT_NOFOLLOW) != 0 && umount2(dir, MNT_DETACH | UMOUNT_NOFOLLOW) != 0 &&
	    errno != EINVAL) {
		qd_errmsg_set(why, "cannot unmount %s: %s", shown, strerror(errno));
		return QD_ERR_IO;
	}
	return QD_OK;
}

enum qd_err usb_unmount(const char *dir, struct qd_errmsg *why)
{
	enum qd_err rc = unmount_path(dir, dir, why);
	if (rc == QD_OK)
		rmdir(dir);
	return rc;
}

/* ---- the wire format ------------------------------------------------------------ */

static bool name_ok(const char *s, size_t field)
{
	size_t n = strnlen(s, field);
	if (n == 0 || n == field)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9')))
			return false;
	return true;
}

/* The field is its text and NULs only: no bytes after the terminator. */
static bool padded(const char *s, size_t field)
{
	for (size_t i = strnlen(s, field); i < field; i++)
		if (s[i] != '\0')
			return false;
	return true;
}

enum qd_err usb_mountd_request_parse(const void *buf, size_t len, struct usb_mountd_request *out,
                                     struct qd_errmsg *why)
{
	memset(out, 0, sizeof(*out));
	if (len != USB_MOUNTD_REQUEST_SIZE) {
		qd_errmsg_set(why, "a request of %zu bytes, not %d", len, USB_MOUNTD_REQUEST_SIZE);
		return QD_ERR_FORMAT;
	}
	const unsigned char *p = buf;
	uint32_t magic, op;
	memcpy(&magic, p, 4);
	memcpy(&op, p + 4, 4);
	char name[USB_MOUNTD_NAME_MAX], fstype[USB_MOUNTD_FSTYPE_MAX];
	memcpy(name, p + 8, sizeof(name));
	memcpy(fstype, p + 8 + sizeof(name), sizeof(fstype));
	if (magic != USB_MOUNTD_MAGIC) {
		qd_errmsg_set(why, "not a mount request (magic %08x)", (unsigned)magic);
		return QD_ERR_FORMAT;
	}
	if (op < USB_MOUNTD_MOUNT || op > USB_MOUNTD_UNMOUNT) {
		qd_errmsg_set(why, "unknown request %u", (unsigned)op);
		return QD_ERR_FORMAT;
	}
	if (!name_ok(name, sizeof(name)) || !padded(name, sizeof(name))) {
		qd_errmsg_set(why, "the device name is not 1 to 31 of a-z, 0-9");
		return QD_ERR_FORMAT;
	}
	if (strnlen(fstype, sizeof(fstype)) == sizeof(fstype) || !padded(fstype, sizeof(fstype))) {
		qd_errmsg_set(why, "the file system field is not a terminated name");
		return QD_ERR_FORMAT;
	}
	if (op == USB_MOUNTD_MOUNT ? !usb_fstype_supported(fstype) : fstype[0] != '\0') {
		qd_errmsg_set(why, "%s",
		              op == USB_MOUNTD_MOUNT ? "the file system is not vfat, exfat or ext4"
		                                     : "only a mount request names a file system");
		return QD_ERR_FORMAT;
	}
	out->op = (enum usb_mountd_op)op;
	memcpy(out->name, name, sizeof(name));
	memcpy(out->fstype, fstype, sizeof(fstype));
	return QD_OK;
}

void usb_mountd_request_encode(const struct usb_mountd_request *req,
                               unsigned char out[USB_MOUNTD_REQUEST_SIZE])
{
	memset(out, 0, USB_MOUNTD_REQUEST_SIZE);
	uint32_t magic = USB_MOUNTD_MAGIC, op = (uint32_t)req->op;
	memcpy(out, &magic, 4);
	memcpy(out + 4, &op, 4);
	memcpy(out + 8, req->name, strnlen(req->name, USB_MOUNTD_NAME_MAX - 1));
	memcpy(out + 8 + USB_MOUNTD_NAME_MAX, req->fstype,
	       strnlen(req->fstype, USB_MOUNTD_FSTYPE_MAX - 1));
}

/* ---- the policy ----------------------------------------------------------------- */

enum qd_err usb_mountd_policy_udev(void *arg, const char *name, dev_t rdev, const char *fstype,
                                   struct qd_errmsg *why)
{
	(void)arg;
	struct udev *udev = udev_new();
	struct udev_device *dev =
	        udev != NULL ? udev_device_new_from_devnum(udev, 'b', rdev) : NULL;
	enum qd_err rc = QD_ERR_PERM;
	if (dev == NULL) {
		qd_errmsg_set(why, "%s: udev does not know the device", name);
		rc = QD_ERR_NOT_FOUND;
		goto out;
	}
	const char *bus = udev_device_get_property_value(dev, "ID_BUS");
	const char *fs = udev_device_get_property_value(dev, "ID_FS_TYPE");
	const char *type = udev_device_get_devtype(dev);
	/* A partition's removable flag is its disk's. */
	struct udev_device *disk =
	        type != NULL && strcmp(type, "partition") == 0
	                ? udev_device_get_parent_with_subsystem_devtype(dev, "block", "disk")
	                : dev;
	const char *removable =
	        disk != NULL ? udev_device_get_sysattr_value(disk, "removable") : NULL;
	if (bus == NULL || strcmp(bus, "usb") != 0)
		qd_errmsg_set(why, "%s is not a USB device (udev: ID_BUS=%s)", name,
		              bus != NULL ? bus : "none");
	else if (removable == NULL || strcmp(removable, "1") != 0)
		qd_errmsg_set(why, "%s is not a removable disk", name);
	else if (fs == NULL || strcmp(fs, fstype) != 0)
		qd_errmsg_set(why, "%s holds %s, not %s", name, fs != NULL ? fs : "no file system",
		              fstype);
	else
		rc = QD_OK;
out:
	udev_device_unref(dev);
	udev_unref(udev);
	return rc;
}

/* ---- the helper ----------------------------------------------------------------- */

struct helper {
	int fd;          /* the socketpair */
	int dir_fd;      /* mount_dir, opened once */
	const char *dir; /* for messages */
	struct usb_mountd_policy policy;
	bool become; /* switch to uid/gid before serving */
	uid_t uid;   /* the helper's own user (become) */
	gid_t gid;   /* its primary group */
	uid_t owner; /* the daemon's uid and gid: FAT files are theirs */
	gid_t group;
	char mounted[MAX_MOUNTS][USB_MOUNTD_NAME_MAX]; /* what we mounted; "" free */
};

static int mounted_slot(const struct helper *h, const char *name)
{
	for (int i = 0; i < MAX_MOUNTS; i++)
		if (strcmp(h->mounted[i], name) == 0)
			return i;
	return -1;
}

static enum qd_err do_mount(struct helper *h, const struct usb_mountd_request *rq,
                            struct qd_errmsg *why)
{
	if (mounted_slot(h, rq->name) >= 0) {
		qd_errmsg_set(why, "%s is mounted already", rq->name);
		return QD_ERR_EXISTS;
	}
	int slot = mounted_slot(h, "");
	if (slot < 0) {
		qd_errmsg_set(why, "%d sticks are mounted already", MAX_MOUNTS);
		return QD_ERR_TOO_LARGE;
	}
	char devnode[sizeof("/dev/") + USB_MOUNTD_NAME_MAX];
	snprintf(devnode, sizeof(devnode), "/dev/%s", rq->name);
	struct stat st;
	if (lstat(devnode, &st) != 0) {
		qd_errmsg_set(why, "%s: %s", devnode, strerror(errno));
		return QD_ERR_NOT_FOUND;
	}
	if (!S_ISBLK(st.st_mode)) {
		qd_errmsg_set(why, "%s is not a block device", devnode);
		return QD_ERR_PERM;
	}
	enum qd_err rc = h->policy.allow(h->policy.arg, rq->name, st.st_rdev, rq->fstype, why);
	if (rc != QD_OK)
		return rc;
	/* The mount point: a folder of ours, never a link the daemon's user swapped in. */
	if (mkdirat(h->dir_fd, rq->name, 0700) != 0 && errno != EEXIST) {
		qd_errmsg_set(why, "%s/%s: %s", h->dir, rq->name, strerror(errno));
		return QD_ERR_IO;
	}
	int t = openat(h->dir_fd, rq->name, O_PATH | O_NOFOLLOW | O_DIRECTORY | O_CLOEXEC);
	if (t < 0) {
		qd_errmsg_set(why, "%s/%s is not a plain folder: %s", h->dir, rq->name,
		              strerror(errno));
		return QD_ERR_PERM;
	}
	char target[64], shown[SHOWN_MAX];
	snprintf(target, sizeof(target), "/proc/self/fd/%d", t);
	snprintf(shown, sizeof(shown), "%s/%s", h->dir, rq->name);
	rc = mount_on(devnode, rq->fstype, target, shown, h->owner, h->group, why);
	close(t);
	if (rc != QD_OK) {
		unlinkat(h->dir_fd, rq->name, AT_REMOVEDIR);
		return rc;
	}
	snprintf(h->mounted[slot], sizeof(h->mounted[slot]), "%s", rq->name);
	return QD_OK;
}

/* The mounted stick's path through our folder's descriptor. */
static void mounted_path(const struct helper *h, const char *name, char *out, size_t size)
{
	snprintf(out, size, "/proc/self/fd/%d/%s", h->dir_fd, name);
}

static enum qd_err do_unmount(struct helper *h, int slot, struct qd_errmsg *why)
{
	char path[64 + USB_MOUNTD_NAME_MAX], shown[SHOWN_MAX];
	mounted_path(h, h->mounted[slot], path, sizeof(path));
	snprintf(shown, sizeof(shown), "%s/%s", h->dir, h->mounted[slot]);
	enum qd_err rc = unmount_path(path, shown, why);
	if (rc == QD_OK) {
		unlinkat(h->dir_fd, h->mounted[slot], AT_REMOVEDIR);
		h->mounted[slot][0] = '\0';
	}
	return rc;
}

static enum qd_err handle(struct helper *h, const struct usb_mountd_request *rq,
                          struct qd_errmsg *why)
{
	if (rq->op == USB_MOUNTD_MOUNT)
		return do_mount(h, rq, why);
	int slot = mounted_slot(h, rq->name);
	if (slot < 0) {
		qd_errmsg_set(why, "%s is not a stick this helper mounted", rq->name);
		return QD_ERR_PERM;
	}
	if (rq->op == USB_MOUNTD_UNMOUNT)
		return do_unmount(h, slot, why);
	char path[64 + USB_MOUNTD_NAME_MAX], shown[SHOWN_MAX];
	mounted_path(h, rq->name, path, sizeof(path));
	snprintf(shown, sizeof(shown), "%s/%s", h->dir, rq->name);
	return remount_path(path, shown, rq->op == USB_MOUNTD_REMOUNT_RW, why);
}

static void reply(int fd, enum qd_err rc, const char *text)
{
	unsigned char out[USB_MOUNTD_REPLY_SIZE] = {0};
	uint32_t magic = USB_MOUNTD_MAGIC, status = (uint32_t)rc;
	memcpy(out, &magic, 4);
	memcpy(out + 4, &status, 4);
	memcpy(out + 8, text, strnlen(text, USB_MOUNTD_REASON_MAX - 1));
	(void)send(fd, out, sizeof(out), MSG_NOSIGNAL);
}

/* The helper's whole life: requests until the daemon closes its end. */
static void serve(struct helper *h)
{
	for (;;) {
		unsigned char buf[USB_MOUNTD_REQUEST_SIZE + 1];
		/* MSG_TRUNC: the real length of a longer message, so that it is refused. */
		ssize_t n = recv(h->fd, buf, sizeof(buf), MSG_TRUNC);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		struct usb_mountd_request rq;
		struct qd_errmsg why = {{0}};
		enum qd_err rc = usb_mountd_request_parse(buf, (size_t)n, &rq, &why);
		if (rc == QD_OK)
			rc = handle(h, &rq, &why);
		if (rc != QD_OK)
			log_warn("usb-mountd: refused: %s", why.text);
		reply(h->fd, rc, rc == QD_OK ? "" : why.text);
	}
	/* The daemon is gone (stopped or crashed): leave no stick mounted. */
	for (int i = 0; i < MAX_MOUNTS; i++) {
		struct qd_errmsg why = {{0}};
		if (h->mounted[i][0] && do_unmount(h, i, &why) != QD_OK)
			log_err("usb-mountd: %s", why.text);
	}
}

static int cap_get(struct __user_cap_data_struct data[2])
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	return (int)syscall(SYS_capget, &hdr, data);
}

static int cap_set(const struct __user_cap_data_struct data[2])
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	return (int)syscall(SYS_capset, &hdr, data);
}

/* Drops from the bounding set what keep does not name, when CAP_SETPCAP allows it. */
static void drop_bounding(uint32_t keep, const struct __user_cap_data_struct data[2])
{
	if (data[0].effective & (1u << CAP_SETPCAP))
		for (int cap = 0; cap <= 63; cap++)
			if (!(cap < 32 && (keep & (1u << cap))) &&
			    prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno == EINVAL)
				break; /* past the kernel's last capability */
}

/*
 * Keeps the capabilities in keep (a mask of the low 32, which CAP_SYS_ADMIN
 * is in) that the process has, drops the rest.
 */
static enum qd_err keep_caps(uint32_t keep, struct qd_errmsg *why)
{
	struct __user_cap_data_struct data[2];
	if (cap_get(data) != 0) {
		qd_errmsg_set(why, "capget: %s", strerror(errno));
		return QD_ERR_IO;
	}
	/* The bounding set first: it needs CAP_SETPCAP, about to go. */
	drop_bounding(keep, data);
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL) {
		qd_errmsg_set(why, "clearing ambient capabilities: %s", strerror(errno));
		return QD_ERR_IO;
	}
	/* Effective from permitted: a switch from root with PR_SET_KEEPCAPS cleared it. */
	bool more = (data[0].permitted & ~keep) || data[0].inheritable || data[1].permitted ||
	            data[1].inheritable || data[0].effective != (data[0].permitted & keep);
	data[0].effective = data[0].permitted & keep;
	data[0].permitted &= keep;
	data[0].inheritable = 0;
	data[1].effective = data[1].permitted = data[1].inheritable = 0;
	/* Nothing to drop (the shipped unit gives none): no capset, which its filter denies. */
	if (more && cap_set(data) != 0) {
		qd_errmsg_set(why, "capset: %s", strerror(errno));
		return QD_ERR_IO;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
		qd_errmsg_set(why, "no_new_privs: %s", strerror(errno));
		return QD_ERR_IO;
	}
	return QD_OK;
}

enum qd_err usb_mountd_drop_privileges(struct qd_errmsg *why)
{
	return keep_caps(0, why);
}

/* Closes every descriptor but a and b. */
static void close_others(int a, int b)
{
	int lo = a < b ? a : b, hi = a < b ? b : a;
	if (lo > 3)
		close_range(3, (unsigned)lo - 1, 0);
	if (hi > lo + 1)
		close_range((unsigned)lo + 1, (unsigned)hi - 1, 0);
	close_range((unsigned)hi + 1, ~0u, 0);
}

/* CAP_CHOWN, CAP_SETUID and CAP_SETGID in effect: asked before any switch, because where
 * the unit lacks them its system-call filter kills a caller of fchown or setresuid
 * outright, with nothing logged. */
static bool can_switch_user(void)
{
	const uint32_t need = 1u << CAP_CHOWN | 1u << CAP_SETUID | 1u << CAP_SETGID;
	struct __user_cap_data_struct data[2];
	return cap_get(data) == 0 && (data[0].effective & need) == need;
}

/*
 * The helper takes its folder (owner: itself, group: the daemon's, 0750) and
 * becomes its own user, no supplementary groups.  PR_SET_KEEPCAPS: from root,
 * the permitted set survives the switch (keep_caps then keeps CAP_SYS_ADMIN).
 */
static enum qd_err become(const struct helper *h, struct qd_errmsg *why)
{
	/* usb_mountd_start_as asked can_switch_user() before the fork. */
	int d = openat(h->dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (d < 0 || fchown(d, h->uid, h->group) != 0) {
		qd_errmsg_set(why, "cannot take %s: %s", h->dir, strerror(errno));
		if (d >= 0)
			close(d);
		return QD_ERR_PERM;
	}
	enum qd_err rc = QD_OK;
	(void)prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0);
	if (setgroups(0, NULL) != 0 || setresgid(h->gid, h->gid, h->gid) != 0 ||
	    setresuid(h->uid, h->uid, h->uid) != 0) {
		qd_errmsg_set(why, "cannot become uid %u gid %u: %s", (unsigned)h->uid,
		              (unsigned)h->gid, strerror(errno));
		rc = QD_ERR_PERM;
	} else if (fchmod(d, 0750) != 0) {
		qd_errmsg_set(why, "%s: %s", h->dir, strerror(errno));
		rc = QD_ERR_IO;
	}
	(void)prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
	close(d);
	return rc;
}

/* In the child: confine, then serve.  Returns the exit status. */
static int helper_main(struct helper *h)
{
	close_others(h->fd, h->dir_fd);
	/* The daemon stops on these and then asks us to unmount: outlive it until it closes. */
	signal(SIGTERM, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	/* Without a user of our own, the daemon's uid: no ptrace, no /proc/PID/mem into us. */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	struct qd_errmsg why = {{0}};
	struct __user_cap_data_struct now[2];
	/* The bounding set while CAP_SETPCAP is still effective: a switch from root clears it. */
	if (h->become && cap_get(now) == 0)
		drop_bounding(1u << CAP_SYS_ADMIN, now);
	if (h->become && become(h, &why) != QD_OK) {
		log_err("usb-mountd: %s; no stick will be mounted", why.text);
		return 1;
	}
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0); /* a change of credentials may have reset it */
	if (keep_caps(1u << CAP_SYS_ADMIN, &why) != QD_OK) {
		log_err("usb-mountd: %s", why.text);
		return 1;
	}
	struct __user_cap_data_struct data[2];
	if (cap_get(data) == 0 && !(data[0].effective & (1u << CAP_SYS_ADMIN)))
		log_warn("usb-mountd: no CAP_SYS_ADMIN: sticks cannot be mounted (the unit's "
		         "drop-in "
		         "in docs/usb-bundle.md gives it)");
	serve(h);
	return 0;
}

static enum qd_err start(const char *mount_dir, const struct usb_mountd_policy *policy,
                         const struct passwd *user, struct usb_mountd **out, struct qd_errmsg *why)
{
	*out = NULL;
	if (mkdir(mount_dir, 0700) != 0 && errno != EEXIST) {
		qd_errmsg_set(why, "%s: %s", mount_dir, strerror(errno));
		return QD_ERR_IO;
	}
	struct helper h = {
	        .dir = mount_dir,
	        .policy = policy != NULL
	                          ? *policy
	                          : (struct usb_mountd_policy){.allow = usb_mountd_policy_udev},
	        .become = user != NULL,
	        .uid = user != NULL ? user->pw_uid : 0,
	        .gid = user != NULL ? user->pw_gid : 0,
	        .owner = getuid(),
	        .group = getgid()};
	h.dir_fd = open(mount_dir, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (h.dir_fd < 0) {
		qd_errmsg_set(why, "%s is not a folder: %s", mount_dir, strerror(errno));
		return QD_ERR_IO;
	}
	struct usb_mountd *m = calloc(1, sizeof(*m));
	int sv[2];
	if (m == NULL || socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
		qd_errmsg_set(why, "cannot make the mount helper's channel: %s", strerror(errno));
		free(m);
		close(h.dir_fd);
		return QD_ERR_IO;
	}
	fflush(NULL); /* nothing buffered is written twice */
	pid_t pid = fork();
	if (pid < 0) {
		qd_errmsg_set(why, "cannot fork the mount helper: %s", strerror(errno));
		close(sv[0]);
		close(sv[1]);
		close(h.dir_fd);
		free(m);
		return QD_ERR_IO;
	}
	if (pid == 0) {
		close(sv[0]);
		h.fd = sv[1];
		_exit(helper_main(&h)); /* the child's own main: never returns into the daemon */
	}
	close(sv[1]);
	close(h.dir_fd);
	m->fd = sv[0];
	m->pid = pid;
	pthread_mutex_init(&m->lock, NULL);
	*out = m;
	return QD_OK;
}

enum qd_err usb_mountd_start(const char *mount_dir, const struct usb_mountd_policy *policy,
                             struct usb_mountd **out, struct qd_errmsg *why)
{
	return start(mount_dir, policy, NULL, out, why);
}

enum qd_err usb_mountd_start_as(const char *mount_dir, const struct usb_mountd_policy *policy,
                                const char *user, struct usb_mountd **out, struct qd_errmsg *why)
{
	*out = NULL;
	struct passwd pw, *found = NULL;
	char buf[4096];
	int err = getpwnam_r(user, &pw, buf, sizeof(buf), &found);
	if (found == NULL) {
		qd_errmsg_set(why, "no user %s%s%s", user, err != 0 ? ": " : "",
		              err != 0 ? strerror(err) : "");
		return QD_ERR_NOT_FOUND;
	}
	if (pw.pw_uid == getuid()) {
		qd_errmsg_set(why, "%s is this process's own user", user);
		return QD_ERR_ARG;
	}
	/* Asked before the fork: a unit with the old drop-in (CAP_SYS_ADMIN alone) gets a
	 * helper of the caller's user, not one that ends at once and mounts nothing. */
	if (!can_switch_user()) {
		qd_errmsg_set(why,
		              "CAP_SETUID, CAP_SETGID and CAP_CHOWN are needed to become %s (the "
		              "unit's drop-in in docs/usb-bundle.md gives them)",
		              user);
		return QD_ERR_PERM;
	}
	return start(mount_dir, policy, &pw, out, why);
}

pid_t usb_mountd_pid(const struct usb_mountd *m)
{
	return m != NULL ? m->pid : -1;
}

enum qd_err usb_mountd_send_raw(struct usb_mountd *m, const void *buf, size_t len,
                                struct qd_errmsg *why)
{
	if (m == NULL) {
		qd_errmsg_set(why, "no mount helper (udev mode starts it)");
		return QD_ERR_ARG;
	}
	pthread_mutex_lock(&m->lock);
	unsigned char in[USB_MOUNTD_REPLY_SIZE + 1];
	ssize_t n = -1;
	if (send(m->fd, buf, len, MSG_NOSIGNAL) == (ssize_t)len)
		do
			n = recv(m->fd, in, sizeof(in), 0);
		while (n < 0 && errno == EINTR);
	pthread_mutex_unlock(&m->lock);
	uint32_t magic = 0, status = 0;
	if (n == USB_MOUNTD_REPLY_SIZE) {
		memcpy(&magic, in, 4);
		memcpy(&status, in + 4, 4);
	}
	if (magic != USB_MOUNTD_MAGIC) {
		qd_errmsg_set(why, "the mount helper does not answer (%s)",
		              n < 0    ? strerror(errno)
		              : n == 0 ? "it has ended"
		                       : "a bad reply");
		return QD_ERR_IO;
	}
	if (status != QD_OK) {
		in[USB_MOUNTD_REPLY_SIZE - 1] = '\0';
		qd_errmsg_set(why, "%s", (const char *)in + 8);
		return status <= QD_ERR_PERM ? (enum qd_err)status : QD_ERR_IO;
	}
	return QD_OK;
}

static enum qd_err ask(struct usb_mountd *m, enum usb_mountd_op op, const char *name,
                       const char *fstype, struct qd_errmsg *why)
{
	struct usb_mountd_request rq = {.op = op};
	snprintf(rq.name, sizeof(rq.name), "%s", name);
	snprintf(rq.fstype, sizeof(rq.fstype), "%s", fstype);
	unsigned char buf[USB_MOUNTD_REQUEST_SIZE];
	usb_mountd_request_encode(&rq, buf);
	return usb_mountd_send_raw(m, buf, sizeof(buf), why);
}

enum qd_err usb_mountd_mount(struct usb_mountd *m, const char *name, const char *fstype,
                             struct qd_errmsg *why)
{
	return ask(m, USB_MOUNTD_MOUNT, name, fstype, why);
}

enum qd_err usb_mountd_remount(struct usb_mountd *m, const char *name, bool writable,
                               struct qd_errmsg *why)
{
	return ask(m, writable ? USB_MOUNTD_REMOUNT_RW : USB_MOUNTD_REMOUNT_RO, name, "", why);
}

enum qd_err usb_mountd_unmount(struct usb_mountd *m, const char *name, struct qd_errmsg *why)
{
	return ask(m, USB_MOUNTD_UNMOUNT, name, "", why);
}

void usb_mountd_stop(struct usb_mountd *m)
{
	if (m == NULL)
		return;
	close(m->fd); /* the helper sees the end, unmounts what is left, exits */
	while (waitpid(m->pid, NULL, 0) < 0 && errno == EINTR)
		;
	pthread_mutex_destroy(&m->lock);
	free(m);
}

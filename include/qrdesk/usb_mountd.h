/* SPDX-License-Identifier: Apache-2.0 */
/*
 * usb_mountd.h - udev mode's privileged half, separated as OpenBSD's daemons
 * do it: a child process, forked by qrdeskd before it drops every capability,
 * that keeps CAP_SYS_ADMIN alone and does nothing but mount, remount and
 * unmount USB sticks.  The daemon (libmicrohttpd, libcurl, the image
 * decoders) then holds no capability at all.
 *
 * They talk over a SOCK_SEQPACKET socketpair in fixed-size typed messages.
 * A request names a device by its kernel name ("sdb1") and nothing else: the
 * helper mounts /dev/<name> at <mount_dir>/<name>, mount_dir fixed when it was
 * forked, read-only, nosuid, nodev, noexec, with the file system udev found on
 * it.  It refuses a request that is not exactly one message of the wire
 * format, a name that is not [a-z0-9]{1,31}, a node that is not a block
 * device, a device udev does not call a removable USB disk or partition, a
 * file system other than the one udev found (vfat, exfat or ext4 only), a
 * mount point that is not a plain folder (a symbolic link is not followed),
 * and a remount or unmount of anything it did not mount itself.
 */
#ifndef QRDESK_USB_MOUNTD_H
#define QRDESK_USB_MOUNTD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "qrdesk/error.h"

/* Wire format of a request: u32 magic, u32 op (host order: a socketpair never
 * leaves the machine), name[32] and fstype[16], NUL-padded. */
#define USB_MOUNTD_MAGIC        0x71646d31u /* "qdm1" */
#define USB_MOUNTD_NAME_MAX     32
#define USB_MOUNTD_FSTYPE_MAX   16
#define USB_MOUNTD_REQUEST_SIZE (8 + USB_MOUNTD_NAME_MAX + USB_MOUNTD_FSTYPE_MAX)
/* A reply: u32 magic, u32 status (enum qd_err), a NUL-terminated reason. */
#define USB_MOUNTD_REASON_MAX 200
#define USB_MOUNTD_REPLY_SIZE (8 + USB_MOUNTD_REASON_MAX)

enum usb_mountd_op {
	USB_MOUNTD_MOUNT = 1,  /* fstype: vfat, exfat or ext4 */
	USB_MOUNTD_REMOUNT_RW, /* fstype empty, as for the rest */
	USB_MOUNTD_REMOUNT_RO,
	USB_MOUNTD_UNMOUNT,
};

struct usb_mountd_request {
	enum usb_mountd_op op;
	char name[USB_MOUNTD_NAME_MAX];     /* kernel name of the device, NUL-terminated */
	char fstype[USB_MOUNTD_FSTYPE_MAX]; /* USB_MOUNTD_MOUNT only, else "" */
};

/*
 * The request in buf (len bytes, as received) into out: QD_OK, or
 * QD_ERR_FORMAT and why (out zeroed) for anything but a well-formed request.
 */
enum qd_err usb_mountd_request_parse(const void *buf, size_t len, struct usb_mountd_request *out,
                                     struct qd_errmsg *why);
/* req into its USB_MOUNTD_REQUEST_SIZE wire bytes (names longer than the fields are cut). */
void usb_mountd_request_encode(const struct usb_mountd_request *req,
                               unsigned char out[USB_MOUNTD_REQUEST_SIZE]);

/*
 * Which block devices the helper mounts.  The desk's policy (policy NULL at
 * start) asks udev: ID_BUS=usb, the disk's `removable` attribute 1, and
 * ID_FS_TYPE equal to the request's fstype.  Tests of the mount steps on a
 * loop device (no udev, no USB here) give their own; it runs in the helper.
 */
struct usb_mountd_policy {
	enum qd_err (*allow)(void *arg, const char *name, dev_t rdev, const char *fstype,
	                     struct qd_errmsg *why);
	void *arg;
};
enum qd_err usb_mountd_policy_udev(void *arg, const char *name, dev_t rdev, const char *fstype,
                                   struct qd_errmsg *why);

struct usb_mountd;

/*
 * Forks the helper for mount_dir (made 0700 if missing; it must be a folder,
 * not a link).  Call while the process has one thread, before dropping
 * capabilities: the helper keeps CAP_SYS_ADMIN only (if the caller had it;
 * without, its mounts fail with the kernel's reason).  The helper keeps the
 * caller's uid: usb_mountd_start_as gives it a user of its own.
 */
enum qd_err usb_mountd_start(const char *mount_dir, const struct usb_mountd_policy *policy,
                             struct usb_mountd **out, struct qd_errmsg *why);
/*
 * As usb_mountd_start, and the helper becomes `user` (its uid, primary gid, no
 * supplementary groups) before it serves, so that the caller's uid - the
 * daemon's, once it has dropped its capabilities - can neither signal nor
 * ptrace it.  mount_dir becomes the helper's, mode 0750, group the caller's
 * gid (the caller reads sticks through it, cannot put anything in it); FAT
 * files are owned by the caller's uid and gid.  Switching needs CAP_SETUID,
 * CAP_SETGID and CAP_CHOWN (or root), which the helper drops after.
 * QD_ERR_NOT_FOUND: no such user; QD_ERR_ARG: it is the caller's own uid (no
 * separation); QD_ERR_PERM: the caller lacks those capabilities; nothing forked
 * then.  A helper that still cannot switch does not serve: it logs why and
 * ends, and every request fails.
 */
enum qd_err usb_mountd_start_as(const char *mount_dir, const struct usb_mountd_policy *policy,
                                const char *user, struct usb_mountd **out, struct qd_errmsg *why);
/* The helper's process id (tests look at its capabilities). */
pid_t usb_mountd_pid(const struct usb_mountd *m);
/* The requests; each waits for the helper's answer.  Safe from any thread. */
enum qd_err usb_mountd_mount(struct usb_mountd *m, const char *name, const char *fstype,
                             struct qd_errmsg *why);
enum qd_err usb_mountd_remount(struct usb_mountd *m, const char *name, bool writable,
                               struct qd_errmsg *why);
enum qd_err usb_mountd_unmount(struct usb_mountd *m, const char *name, struct qd_errmsg *why);
/* len raw bytes as one request, and the helper's answer (tests of bad requests). */
enum qd_err usb_mountd_send_raw(struct usb_mountd *m, const void *buf, size_t len,
                                struct qd_errmsg *why);
/* Closes the channel (the helper unmounts what it still holds and ends) and reaps it. */
void usb_mountd_stop(struct usb_mountd *m);

/*
 * The daemon's side of the separation: drops every capability of the calling
 * process (bounding set when allowed, ambient, inheritable, permitted,
 * effective) and forbids gaining new ones (no_new_privs).  Call with one
 * thread: capabilities are per thread.
 */
enum qd_err usb_mountd_drop_privileges(struct qd_errmsg *why);

/*
 * udev mode's mount steps as the helper runs them, for tests: mount devnode
 * (fstype vfat, exfat or ext4) read-only, nosuid, nodev, noexec at dir (made,
 * 0700); remount it writable or read-only again; unmount it and remove dir.
 */
enum qd_err usb_mount(const char *devnode, const char *fstype, const char *dir,
                      struct qd_errmsg *why);
enum qd_err usb_remount(const char *dir, bool writable, struct qd_errmsg *why);
enum qd_err usb_unmount(const char *dir, struct qd_errmsg *why);
/* Is fstype one we mount? */
bool usb_fstype_supported(const char *fstype);

#endif

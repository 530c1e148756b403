/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_usb_mountd - udev mode's privileged mount helper (usb_mountd.h): its
 * request parser on good and bad messages; the real helper process refusing
 * malformed and out-of-policy requests (a path outside the mount folder, a
 * node that is not a block device, a block device udev does not call a
 * removable USB disk, a stick it did not mount, a mount point swapped for a
 * link); the real mount steps on a loop device (root and loop devices needed,
 * else skipped with the reason: no USB here, so a policy that allows that one
 * device stands in for udev's word); the capabilities each side keeps; and,
 * given a user of its own, a helper the daemon's credentials cannot signal,
 * ptrace or read (with none, they can: the case checks that too).
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/ptrace.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <pwd.h>
#include <unistd.h>

#include "qrdesk/usb_mountd.h"

struct fx {
	char *tmp;
	char mnt[4096]; /* the helper's mount folder */
	char dev[64];   /* a loop device we attached, "" if none */
	char name[32];  /* its kernel name */
	struct usb_mountd *m;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	f->tmp = tu_mkdtemp();
	snprintf(f->mnt, sizeof(f->mnt), "%s/usb", f->tmp);
	*state = f;
	return 0;
}

static int run(const char *cmd)
{
	int rc = system(cmd);
	return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	usb_mountd_stop(f->m); /* unmounts what it still holds */
	char cmd[16384];
	if (f->dev[0]) {
		snprintf(cmd, sizeof(cmd),
		         "grep -q ' %s/' /proc/mounts && umount -l %s/*; losetup -d %s", f->mnt,
		         f->mnt, f->dev);
		(void)run(cmd);
	}
	tu_rmtree(f->tmp);
	free(f->tmp);
	free(f);
	return 0;
}

/* Is anything mounted under the helper's folder? */
static bool mounted_under(const char *dir)
{
	FILE *p = fopen("/proc/mounts", "r");
	char line[8192];
	size_t n = strlen(dir);
	bool found = false;
	while (p != NULL && fgets(line, sizeof(line), p) != NULL) {
		char *at = strchr(line, ' ');
		if (at != NULL && strncmp(at + 1, dir, n) == 0 && at[1 + n] == '/')
			found = true;
	}
	if (p != NULL)
		fclose(p);
	return found;
}

static void wire(unsigned char *out, uint32_t magic, uint32_t op, const char *name, size_t nlen,
                 const char *fs, size_t flen)
{
	memset(out, 0, USB_MOUNTD_REQUEST_SIZE);
	memcpy(out, &magic, 4);
	memcpy(out + 4, &op, 4);
	memcpy(out + 8, name, nlen);
	memcpy(out + 8 + USB_MOUNTD_NAME_MAX, fs, flen);
}

/* ---- the parser ------------------------------------------------------------------ */

static void test_parse_good(void **state)
{
	(void)state;
	const struct usb_mountd_request good[] = {
	        {USB_MOUNTD_MOUNT, "sdb1", "vfat"},      {USB_MOUNTD_MOUNT, "sdc", "exfat"},
	        {USB_MOUNTD_MOUNT, "mmcblk0p1", "ext4"}, {USB_MOUNTD_REMOUNT_RW, "sdb1", ""},
	        {USB_MOUNTD_REMOUNT_RO, "sdb1", ""},     {USB_MOUNTD_UNMOUNT, "sdb1", ""},
	};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		unsigned char buf[USB_MOUNTD_REQUEST_SIZE];
		usb_mountd_request_encode(&good[i], buf);
		struct usb_mountd_request rq;
		struct qd_errmsg why = {{0}};
		assert_int_equal(usb_mountd_request_parse(buf, sizeof(buf), &rq, &why), QD_OK);
		assert_int_equal(rq.op, good[i].op);
		assert_string_equal(rq.name, good[i].name);
		assert_string_equal(rq.fstype, good[i].fstype);
	}
}

static void test_parse_bad(void **state)
{
	(void)state;
#define NAME32 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	struct {
		uint32_t magic, op;
		const char *name;
		size_t nlen;
		const char *fs;
		size_t flen;
		size_t len; /* bytes sent, 0: the message size */
		const char *why;
	} bad[] = {
	        {USB_MOUNTD_MAGIC, 1, "sdb1", 4, "vfat", 4, 1, "a request of 1 bytes"},
	        {USB_MOUNTD_MAGIC, 1, "sdb1", 4, "vfat", 4, USB_MOUNTD_REQUEST_SIZE - 1,
	         "bytes, not"},
	        {USB_MOUNTD_MAGIC, 1, "sdb1", 4, "vfat", 4, USB_MOUNTD_REQUEST_SIZE + 1,
	         "bytes, not"},
	        {0x31646d71, 1, "sdb1", 4, "vfat", 4, 0, "magic"},
	        {USB_MOUNTD_MAGIC, 0, "sdb1", 4, "", 0, 0, "unknown request 0"},
	        {USB_MOUNTD_MAGIC, 5, "sdb1", 4, "", 0, 0, "unknown request 5"},
	        {USB_MOUNTD_MAGIC, 1, "", 0, "vfat", 4, 0, "device name"},
	        {USB_MOUNTD_MAGIC, 1, "../etc", 6, "ext4", 4, 0, "device name"},
	        {USB_MOUNTD_MAGIC, 4, "sd/b1", 5, "", 0, 0, "device name"},
	        {USB_MOUNTD_MAGIC, 4, "SDB1", 4, "", 0, 0, "device name"},
	        {USB_MOUNTD_MAGIC, 4, "sdb1\0x", 6, "", 0, 0, "device name"},
	        {USB_MOUNTD_MAGIC, 4, NAME32, 32, "", 0, 0, "device name"},
	        {USB_MOUNTD_MAGIC, 1, "sdb1", 4, "ntfs", 4, 0, "not vfat, exfat or ext4"},
	        {USB_MOUNTD_MAGIC, 1, "sdb1", 4, "", 0, 0, "not vfat, exfat or ext4"},
	        {USB_MOUNTD_MAGIC, 4, "sdb1", 4, "vfat", 4, 0, "only a mount request"},
	        {USB_MOUNTD_MAGIC, 1, "sdb1", 4, "vfat\0x", 6, 0, "terminated name"},
	        {USB_MOUNTD_MAGIC, 1, "sdb1", 4, "vfatvfatvfatvfat", 16, 0, "terminated name"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		unsigned char buf[USB_MOUNTD_REQUEST_SIZE + 1] = {0};
		wire(buf, bad[i].magic, bad[i].op, bad[i].name, bad[i].nlen, bad[i].fs,
		     bad[i].flen);
		struct usb_mountd_request rq, zero;
		memset(&rq, 0x55, sizeof(rq));
		memset(&zero, 0, sizeof(zero));
		struct qd_errmsg why = {{0}};
		size_t len = bad[i].len != 0 ? bad[i].len : USB_MOUNTD_REQUEST_SIZE;
		assert_int_equal(usb_mountd_request_parse(buf, len, &rq, &why), QD_ERR_FORMAT);
		if (strstr(why.text, bad[i].why) == NULL)
			fail_msg("case %zu: \"%s\" does not say \"%s\"", i, why.text, bad[i].why);
		assert_memory_equal(&rq, &zero, sizeof(rq));
	}
}

/* ---- the helper refusing -------------------------------------------------------- */

static void test_helper_refuses(void **state)
{
	struct fx *f = *state;
	struct qd_errmsg why = {{0}};
	assert_int_equal(usb_mountd_start(f->mnt, NULL, &f->m, &why), QD_OK);
	struct stat st;
	assert_int_equal(lstat(f->mnt, &st), 0);
	assert_true(S_ISDIR(st.st_mode) && (st.st_mode & 0777) == 0700);

	/* Malformed: short, long (bigger than the helper's buffer), wrong magic. */
	unsigned char big[4096];
	memset(big, 'a', sizeof(big));
	assert_int_equal(usb_mountd_send_raw(f->m, big, 3, &why), QD_ERR_FORMAT);
	assert_non_null(strstr(why.text, "a request of 3 bytes"));
	assert_int_equal(usb_mountd_send_raw(f->m, big, sizeof(big), &why), QD_ERR_FORMAT);
	assert_non_null(strstr(why.text, "a request of 4096 bytes"));
	assert_int_equal(usb_mountd_send_raw(f->m, big, USB_MOUNTD_REQUEST_SIZE, &why),
	                 QD_ERR_FORMAT);
	/* A path outside the mount folder cannot even be named. */
	assert_int_equal(usb_mountd_mount(f->m, "../../etc", "ext4", &why), QD_ERR_FORMAT);
	assert_int_equal(usb_mountd_unmount(f->m, "..", &why), QD_ERR_FORMAT);
	/* Not a block device: /dev/null, and a name with no node. */
	assert_int_equal(usb_mountd_mount(f->m, "null", "vfat", &why), QD_ERR_PERM);
	assert_non_null(strstr(why.text, "/dev/null is not a block device"));
	assert_int_equal(usb_mountd_mount(f->m, "nosuchdisk9", "vfat", &why), QD_ERR_NOT_FOUND);
	/* A block device that is not a removable USB disk (udev's word): a loop device. */
	struct stat lst;
	if (stat("/dev/loop0", &lst) == 0 && S_ISBLK(lst.st_mode)) {
		enum qd_err rc = usb_mountd_mount(f->m, "loop0", "ext4", &why);
		assert_true(rc == QD_ERR_PERM || rc == QD_ERR_NOT_FOUND);
		assert_true(strstr(why.text, "not a USB device") != NULL ||
		            strstr(why.text, "udev does not know") != NULL);
	} else {
		print_message("note: no /dev/loop0 here: the udev policy's refusal is not tried\n");
	}
	/* Remount or unmount of anything it did not mount. */
	assert_int_equal(usb_mountd_remount(f->m, "sda1", true, &why), QD_ERR_PERM);
	assert_non_null(strstr(why.text, "not a stick this helper mounted"));
	assert_int_equal(usb_mountd_unmount(f->m, "sda1", &why), QD_ERR_PERM);
	/* Nothing was mounted, nothing made in the folder, and the helper still answers. */
	assert_false(mounted_under(f->mnt));
	assert_int_equal(rmdir(f->mnt), 0);
	assert_int_equal(mkdir(f->mnt, 0700), 0);
	assert_int_equal(usb_mountd_unmount(f->m, "sdb1", &why), QD_ERR_PERM);
	/* The helper gone: a clear error, not a hang. */
	pid_t pid = usb_mountd_pid(f->m);
	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(usb_mountd_unmount(f->m, "sdb1", &why), QD_ERR_IO);
	assert_non_null(strstr(why.text, "the mount helper does not answer"));
}

/* A mount folder that is a link is refused at start. */
static void test_helper_link_folder(void **state)
{
	struct fx *f = *state;
	char target[4096 + 8];
	snprintf(target, sizeof(target), "%s/elsewhere", f->tmp);
	assert_int_equal(mkdir(target, 0700), 0);
	assert_int_equal(symlink(target, f->mnt), 0);
	struct qd_errmsg why = {{0}};
	assert_int_equal(usb_mountd_start(f->mnt, NULL, &f->m, &why), QD_ERR_IO);
	assert_null(f->m);
	assert_non_null(strstr(why.text, "is not a folder"));
}

/* ---- the mount steps through the helper, on a loop device ----------------------------- */

struct only {
	dev_t rdev;
	const char *fstype;
};

/* Stands in for udev (no USB here): this one device, with the file system it holds. */
static enum qd_err allow_only(void *arg, const char *name, dev_t rdev, const char *fstype,
                              struct qd_errmsg *why)
{
	const struct only *o = arg;
	if (rdev != o->rdev || strcmp(fstype, o->fstype) != 0) {
		qd_errmsg_set(why, "%s is not the test's device", name);
		return QD_ERR_PERM;
	}
	return QD_OK;
}

/* A loop device holding a stick's file system, and a policy allowing it alone; else skips. */
static struct usb_mountd_policy loop_stick(struct fx *f, const char **fs, struct only *o)
{
	char img[4096 + 16];
	snprintf(img, sizeof(img), "%s/stick.img", f->tmp);
	*fs = "vfat";
	const char *no = tu_loop_stick(img, fs, f->dev, sizeof(f->dev));
	if (no != NULL) {
		print_message("SKIP: %s\n", no);
		skip();
	}
	snprintf(f->name, sizeof(f->name), "%s", strrchr(f->dev, '/') + 1);
	struct stat st;
	assert_int_equal(stat(f->dev, &st), 0);
	*o = (struct only){.rdev = st.st_rdev, .fstype = *fs};
	return (struct usb_mountd_policy){.allow = allow_only, .arg = o};
}

static void test_helper_mounts(void **state)
{
	struct fx *f = *state;
	const char *fs;
	struct only o;
	struct usb_mountd_policy policy = loop_stick(f, &fs, &o);
	struct qd_errmsg why = {{0}};
	assert_int_equal(usb_mountd_start(f->mnt, &policy, &f->m, &why), QD_OK);

	/* The wrong file system for the device: refused by the policy, nothing mounted. */
	assert_int_equal(
	        usb_mountd_mount(f->m, f->name, strcmp(fs, "vfat") == 0 ? "ext4" : "vfat", &why),
	        QD_ERR_PERM);
	assert_false(mounted_under(f->mnt));

	/* The mount point swapped for a link by the daemon's user: not followed. */
	char dir[4096 + 40], elsewhere[4096 + 16];
	snprintf(dir, sizeof(dir), "%s/%s", f->mnt, f->name);
	snprintf(elsewhere, sizeof(elsewhere), "%s/elsewhere", f->tmp);
	assert_int_equal(mkdir(elsewhere, 0700), 0);
	assert_int_equal(symlink(elsewhere, dir), 0);
	assert_int_equal(usb_mountd_mount(f->m, f->name, fs, &why), QD_ERR_PERM);
	assert_non_null(strstr(why.text, "is not a plain folder"));
	assert_false(mounted_under(f->mnt));
	assert_false(mounted_under(f->tmp));
	assert_int_equal(unlink(dir), 0);

	/* Mounted read-only, nosuid, nodev, noexec at <mount_dir>/<name>. */
	assert_int_equal(usb_mountd_mount(f->m, f->name, fs, &why), QD_OK);
	assert_true(mounted_under(f->mnt));
	const unsigned long locked = ST_RDONLY | ST_NOSUID | ST_NODEV | ST_NOEXEC;
	struct statvfs sv;
	assert_int_equal(statvfs(dir, &sv), 0);
	assert_int_equal(sv.f_flag & locked, locked);
	char file[4096 + 64];
	snprintf(file, sizeof(file), "%s/new", dir);
	assert_true(open(file, O_WRONLY | O_CREAT, 0644) < 0 && errno == EROFS);
	/* Twice: refused. */
	assert_int_equal(usb_mountd_mount(f->m, f->name, fs, &why), QD_ERR_EXISTS);
	/* Writable for an export, read-only again. */
	assert_int_equal(usb_mountd_remount(f->m, f->name, true, &why), QD_OK);
	int fd = open(file, O_WRONLY | O_CREAT, 0644);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(statvfs(dir, &sv), 0);
	assert_false(sv.f_flag & ST_RDONLY);
	assert_true(sv.f_flag & ST_NOSUID && sv.f_flag & ST_NODEV && sv.f_flag & ST_NOEXEC);
	assert_int_equal(usb_mountd_remount(f->m, f->name, false, &why), QD_OK);
	assert_int_equal(statvfs(dir, &sv), 0);
	assert_true(sv.f_flag & ST_RDONLY);
	/* Unmounted, its folder removed. */
	assert_int_equal(usb_mountd_unmount(f->m, f->name, &why), QD_OK);
	assert_false(mounted_under(f->mnt));
	assert_true(access(dir, F_OK) != 0);
	assert_int_equal(usb_mountd_unmount(f->m, f->name, &why), QD_ERR_PERM);

	/* The daemon gone with a stick mounted: the helper unmounts it and ends. */
	assert_int_equal(usb_mountd_mount(f->m, f->name, fs, &why), QD_OK);
	assert_true(mounted_under(f->mnt));
	usb_mountd_stop(f->m);
	f->m = NULL;
	assert_false(mounted_under(f->mnt));
}

/* ---- capabilities ---------------------------------------------------------------- */

/* The capability set `key` ("CapEff") of process pid, from /proc. */
static unsigned long long caps_of(pid_t pid, const char *key)
{
	char path[64], line[256];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	FILE *p = fopen(path, "r");
	assert_non_null(p);
	unsigned long long v = ~0ull;
	size_t n = strlen(key);
	while (fgets(line, sizeof(line), p) != NULL)
		if (strncmp(line, key, n) == 0 && line[n] == ':')
			v = strtoull(line + n + 1, NULL, 16);
	fclose(p);
	return v;
}

static void test_capabilities(void **state)
{
	struct fx *f = *state;
	if (caps_of(getpid(), "CapEff") == 0) {
		print_message("SKIP: this process holds no capability to keep or drop\n");
		skip();
	}
	bool admin = caps_of(getpid(), "CapEff") & (1ull << 21); /* CAP_SYS_ADMIN */
	struct qd_errmsg why = {{0}};
	assert_int_equal(usb_mountd_start(f->mnt, NULL, &f->m, &why), QD_OK);
	/* A request answered: the helper has confined itself by then. */
	assert_int_equal(usb_mountd_unmount(f->m, "sdb1", &why), QD_ERR_PERM);
	pid_t pid = usb_mountd_pid(f->m);
	unsigned long long want = admin ? 1ull << 21 : 0;
	assert_int_equal(caps_of(pid, "CapEff"), want);
	assert_int_equal(caps_of(pid, "CapPrm"), want);
	assert_int_equal(caps_of(pid, "CapInh"), 0);
	assert_int_equal(caps_of(pid, "CapAmb"), 0);
	assert_int_equal(caps_of(pid, "NoNewPrivs"), 1);
	if (caps_of(getpid(), "CapEff") & (1ull << 8)) /* CAP_SETPCAP: the bounding set too */
		assert_int_equal(caps_of(pid, "CapBnd"), want);

	/* The daemon's side, in a child of ours: nothing left, nothing to gain. */
	int pipefd[2];
	assert_int_equal(pipe(pipefd), 0);
	pid_t child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		struct qd_errmsg e = {{0}};
		char ok = usb_mountd_drop_privileges(&e) == QD_OK ? 'y' : 'n';
		(void)write(pipefd[1], &ok, 1);
		pause();
		_exit(0);
	}
	char ok = 0;
	assert_int_equal(read(pipefd[0], &ok, 1), 1);
	assert_int_equal(ok, 'y');
	static const char *const keys[] = {"CapEff", "CapPrm", "CapInh", "CapAmb", "CapBnd"};
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (caps_of(child, keys[i]) != 0)
			fail_msg("%s of the dropped process is %llx", keys[i],
			         caps_of(child, keys[i]));
	assert_int_equal(caps_of(child, "NoNewPrivs"), 1);
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	close(pipefd[0]);
	close(pipefd[1]);
}

/* ---- the helper's own user -------------------------------------------------------- */

/*
 * What a taken-over daemon could do to the helper at pid: in a child with the
 * daemon's credentials (this process's uid, every capability dropped as
 * qrdeskd drops them), "k" if kill(pid, 0) works, "p" if ptrace attaches,
 * "m" if /proc/pid/mem opens; "" if none.
 */
static void as_daemon_try(pid_t pid, char out[8])
{
	int pipefd[2];
	assert_int_equal(pipe(pipefd), 0);
	pid_t child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		struct qd_errmsg e = {{0}};
		char got[8] = "", *at = got;
		if (usb_mountd_drop_privileges(&e) != QD_OK)
			*at++ = '!';
		if (kill(pid, 0) == 0)
			*at++ = 'k';
		if (ptrace(PTRACE_ATTACH, pid, NULL, NULL) == 0) {
			*at++ = 'p';
			(void)ptrace(PTRACE_DETACH, pid, NULL, NULL);
		}
		char mem[64];
		snprintf(mem, sizeof(mem), "/proc/%d/mem", (int)pid);
		int fd = open(mem, O_RDONLY);
		if (fd >= 0) {
			*at++ = 'm';
			close(fd);
		}
		(void)write(pipefd[1], got, sizeof(got));
		_exit(0);
	}
	close(pipefd[1]);
	memset(out, 0, 8);
	assert_int_equal(read(pipefd[0], out, 8), 8);
	close(pipefd[0]);
	waitpid(child, NULL, 0);
	out[7] = '\0';
}

static void test_helper_own_user(void **state)
{
	struct fx *f = *state;
	/* CAP_SETUID, CAP_SETGID and CAP_CHOWN: what the unit's drop-in gives. */
	unsigned long long need = 1ull << 6 | 1ull << 7 | 1ull << 0;
	if ((caps_of(getpid(), "CapEff") & need) != need || getpwnam("nobody") == NULL ||
	    getpwnam("nobody")->pw_uid == getuid()) {
		print_message("SKIP: needs CAP_SETUID, CAP_SETGID, CAP_CHOWN and a user nobody\n");
		skip();
	}
	uid_t nobody = getpwnam("nobody")->pw_uid;
	gid_t nobody_gid = getpwnam("nobody")->pw_gid;
	bool admin = caps_of(getpid(), "CapEff") & (1ull << 21);
	struct qd_errmsg why = {{0}};
	char got[8];

	/* Without a user of its own: the daemon's credentials reach the helper (the old way). */
	assert_int_equal(usb_mountd_start(f->mnt, NULL, &f->m, &why), QD_OK);
	assert_int_equal(usb_mountd_unmount(f->m, "sdb1", &why), QD_ERR_PERM);
	as_daemon_try(usb_mountd_pid(f->m), got);
	assert_non_null(strchr(got, 'k'));
	usb_mountd_stop(f->m);
	f->m = NULL;

	/* No such user, or our own: refused, nothing forked. */
	assert_int_equal(usb_mountd_start_as(f->mnt, NULL, "qrdesk-nosuchuser", &f->m, &why),
	                 QD_ERR_NOT_FOUND);
	assert_null(f->m);
	assert_int_equal(
	        usb_mountd_start_as(f->mnt, NULL, getpwuid(getuid())->pw_name, &f->m, &why),
	        QD_ERR_ARG);
	assert_null(f->m);

	/* nobody: the helper is nobody, through and through, and owns its folder. */
	assert_int_equal(usb_mountd_start_as(f->mnt, NULL, "nobody", &f->m, &why), QD_OK);
	assert_int_equal(usb_mountd_unmount(f->m, "sdb1", &why), QD_ERR_PERM); /* it serves */
	pid_t pid = usb_mountd_pid(f->m);
	char line[256], path[64];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	FILE *p = fopen(path, "r");
	assert_non_null(p);
	char uids[256] = "", gids[256] = "", groups[256] = "";
	while (fgets(line, sizeof(line), p) != NULL) {
		if (strncmp(line, "Uid:", 4) == 0)
			snprintf(uids, sizeof(uids), "%s", line);
		if (strncmp(line, "Gid:", 4) == 0)
			snprintf(gids, sizeof(gids), "%s", line);
		if (strncmp(line, "Groups:", 7) == 0)
			snprintf(groups, sizeof(groups), "%s", line);
	}
	fclose(p);
	char want[128];
	snprintf(want, sizeof(want), "Uid:\t%u\t%u\t%u\t%u\n", nobody, nobody, nobody, nobody);
	assert_string_equal(uids, want);
	snprintf(want, sizeof(want), "Gid:\t%u\t%u\t%u\t%u\n", nobody_gid, nobody_gid, nobody_gid,
	         nobody_gid);
	assert_string_equal(gids, want);
	assert_true(strspn(groups + 7, " \t\n") == strlen(groups + 7)); /* none */
	unsigned long long caps = admin ? 1ull << 21 : 0;
	assert_int_equal(caps_of(pid, "CapEff"), caps);
	assert_int_equal(caps_of(pid, "CapPrm"), caps);
	assert_int_equal(caps_of(pid, "CapAmb"), 0);
	assert_int_equal(caps_of(pid, "NoNewPrivs"), 1);
	struct stat st;
	assert_int_equal(lstat(f->mnt, &st), 0);
	assert_int_equal(st.st_uid, nobody);
	assert_int_equal(st.st_gid, getgid());
	assert_int_equal(st.st_mode & 07777, 0750);

	/* The daemon's credentials: no signal, no ptrace, no memory. */
	as_daemon_try(pid, got);
	assert_string_equal(got, "");
	assert_int_equal(usb_mountd_unmount(f->m, "sdb1", &why), QD_ERR_PERM); /* alive */
	usb_mountd_stop(f->m);
	f->m = NULL;

	/* Without the capability to become its user (a unit with the old drop-in): refused
	 * before any fork, naming what is missing, so the daemon can fall back to a helper of
	 * its own user instead of one that mounts nothing. */
	pid_t child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		char dir[4096 + 8];
		snprintf(dir, sizeof(dir), "%s/usb2", f->tmp);
		struct qd_errmsg e = {{0}};
		struct usb_mountd *m = NULL;
		if (usb_mountd_drop_privileges(&e) != QD_OK)
			_exit(2);
		enum qd_err rc = usb_mountd_start_as(dir, NULL, "nobody", &m, &e);
		_exit(rc == QD_ERR_PERM && m == NULL && strstr(e.text, "CAP_SETUID") != NULL ? 0
		                                                                             : 1);
	}
	int status = 0;
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* Mounted by a helper of another user: a FAT stick's files are still the daemon's. */
static void test_helper_own_user_mounts(void **state)
{
	struct fx *f = *state;
	unsigned long long need = 1ull << 6 | 1ull << 7 | 1ull << 0 | 1ull << 21;
	if ((caps_of(getpid(), "CapEff") & need) != need || getpwnam("nobody") == NULL) {
		print_message("SKIP: needs CAP_SYS_ADMIN, CAP_SETUID, CAP_SETGID, CAP_CHOWN\n");
		skip();
	}
	const char *fs;
	struct only o;
	struct usb_mountd_policy policy = loop_stick(f, &fs, &o);
	struct stat st;
	struct qd_errmsg why = {{0}};
	assert_int_equal(usb_mountd_start_as(f->mnt, &policy, "nobody", &f->m, &why), QD_OK);
	assert_int_equal(usb_mountd_mount(f->m, f->name, fs, &why), QD_OK);
	char dir[4096 + 40], file[4096 + 64];
	snprintf(dir, sizeof(dir), "%s/%s", f->mnt, f->name);
	snprintf(file, sizeof(file), "%s/new", dir);
	assert_true(mounted_under(f->mnt));
	assert_int_equal(usb_mountd_remount(f->m, f->name, true, &why), QD_OK);
	int fd = open(file, O_WRONLY | O_CREAT, 0644);
	assert_true(fd >= 0);
	close(fd);
	if (strcmp(fs, "vfat") == 0) {
		/* FAT has no owners: without uid= they would be the mounter's, nobody's. */
		assert_int_equal(stat(dir, &st), 0);
		assert_int_equal(st.st_uid, getuid());
		assert_int_equal(stat(file, &st), 0);
		assert_int_equal(st.st_uid, getuid());
		assert_int_equal(st.st_gid, getgid());
	} else {
		print_message("note: no vfat in this kernel: FAT files' owner not checked (%s)\n",
		              fs);
	}
	assert_int_equal(usb_mountd_unmount(f->m, f->name, &why), QD_OK);
	assert_false(mounted_under(f->mnt));
	assert_true(access(dir, F_OK) != 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_parse_good),
	        cmocka_unit_test(test_parse_bad),
	        cmocka_unit_test_setup_teardown(test_helper_refuses, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_helper_link_folder, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_helper_mounts, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_capabilities, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_helper_own_user, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_helper_own_user_mounts, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

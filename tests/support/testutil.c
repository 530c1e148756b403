/* SPDX-License-Identifier: Apache-2.0 */
#include "testutil.h"

#include <ctype.h>
#include <dirent.h>
#include <stdbool.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <pthread.h>
#include <sched.h>
#include <unistd.h>

const char *tu_vector_path(const char *relative)
{
	static char path[4096];
	snprintf(path, sizeof(path), "%s/%s", QRDESK_VECTORS_DIR, relative);
	return path;
}

json_t *tu_load_vector_json(const char *relative)
{
	json_error_t jerr;
	const char *path = tu_vector_path(relative);
	json_t *root = json_load_file(path, 0, &jerr);
	if (root == NULL)
		fail_msg("cannot load %s: %s (line %d)", path, jerr.text, jerr.line);
	return root;
}

static int hex_value(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

size_t tu_hex_into(const char *hex, uint8_t *out, size_t cap)
{
	size_t n = strlen(hex);
	if (n % 2 != 0)
		fail_msg("odd-length hex: %s", hex);
	if (n / 2 > cap)
		fail_msg("hex too long (%zu bytes, room for %zu)", n / 2, cap);
	for (size_t i = 0; i < n / 2; i++) {
		int hi = hex_value((unsigned char)hex[2 * i]);
		int lo = hex_value((unsigned char)hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			fail_msg("bad hex digit in %s", hex);
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return n / 2;
}

uint8_t *tu_hex_decode(const char *hex, size_t *len)
{
	size_t cap = strlen(hex) / 2 + 1;
	uint8_t *out = malloc(cap);
	if (out == NULL)
		fail_msg("out of memory");
	*len = tu_hex_into(hex, out, cap);
	return out;
}

size_t tu_base64url_into(const char *text, uint8_t *out, size_t cap)
{
	static const char alphabet[] =
	        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	uint32_t acc = 0;
	int bits = 0;
	size_t n = 0;
	for (const char *p = text; *p != '\0' && *p != '='; p++) {
		const char *at = strchr(alphabet, *p);
		if (at == NULL)
			fail_msg("bad base64url character in %s", text);
		acc = acc << 6 | (uint32_t)(at - alphabet);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (n >= cap)
				fail_msg("base64url too long");
			out[n++] = (uint8_t)(acc >> bits);
		}
	}
	return n;
}

uint8_t *tu_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		fail_msg("cannot open %s: %s", path, strerror(errno));
	size_t cap = 4096, n = 0;
	uint8_t *buf = malloc(cap);
	for (;;) {
		if (n + 1 >= cap) {
			cap *= 2;
			buf = realloc(buf, cap);
		}
		if (buf == NULL)
			fail_msg("out of memory");
		size_t got = fread(buf + n, 1, cap - n - 1, f);
		n += got;
		if (got == 0)
			break;
	}
	fclose(f);
	buf[n] = 0;
	*len = n;
	return buf;
}

void tu_copy_file(const char *from, const char *to)
{
	size_t len;
	uint8_t *data = tu_read_file(from, &len);
	FILE *f = fopen(to, "wb");
	if (f == NULL)
		fail_msg("cannot create %s: %s", to, strerror(errno));
	if (fwrite(data, 1, len, f) != len || fclose(f) != 0)
		fail_msg("cannot write %s: %s", to, strerror(errno));
	free(data);
}

/* Field 19 of a task's stat, after the ')' that ends its name (which may hold spaces). */
/* Field `field` (1-based, as proc(5) counts) of /proc/self/task/TID/stat, as an int. */
static bool task_stat_field(const char *tid, int field, int *value)
{
	char path[300], buf[1024];
	snprintf(path, sizeof(path), "/proc/self/task/%s/stat", tid);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return false;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	char *p = strrchr(buf, ')'); /* after the comm, which may hold spaces */
	for (int at = 2; p != NULL && at < field; at++)
		p = strchr(p + 1, ' ');
	return p != NULL && sscanf(p + 1, "%d", value) == 1;
}

/* A value read from /proc/self/task/TID (arg says which); false if the thread is gone. */
typedef bool (*task_reader)(const char *tid, const void *arg, unsigned long long *value);

static bool read_stat_field(const char *tid, const void *arg, unsigned long long *value)
{
	int v;
	if (!task_stat_field(tid, *(const int *)arg, &v))
		return false;
	*value = (unsigned long long)(long long)v;
	return true;
}

/* The line "Name: hex" of /proc/self/task/TID/status (Name is arg, with its colon). */
static bool read_status_hex(const char *tid, const void *arg, unsigned long long *value)
{
	char path[300], line[256];
	snprintf(path, sizeof(path), "/proc/self/task/%s/status", tid);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return false;
	size_t len = strlen(arg);
	bool found = false;
	while (!found && fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, arg, len) == 0) {
			char *end;
			*value = strtoull(line + len, &end, 16);
			found = end != line + len;
		}
	fclose(f);
	return found;
}

/* What reader gives for the thread named comm (waiting up to 20 s for it to be named). */
static unsigned long long thread_value(const char *comm, task_reader reader, const void *arg)
{
	for (int tries = 0; tries < 2000; tries++) { /* 20 s: a loaded machine, a sanitizer */
		DIR *d = opendir("/proc/self/task");
		if (d == NULL)
			fail_msg("cannot list /proc/self/task: %s", strerror(errno));
		struct dirent *e;
		while ((e = readdir(d)) != NULL) {
			if (e->d_name[0] == '.')
				continue;
			char path[300], name[64] = "";
			snprintf(path, sizeof(path), "/proc/self/task/%s/comm", e->d_name);
			FILE *f = fopen(path, "r");
			if (f == NULL)
				continue; /* the thread has just ended */
			if (fgets(name, sizeof(name), f) == NULL)
				name[0] = '\0';
			fclose(f);
			name[strcspn(name, "\n")] = '\0';
			unsigned long long value;
			if (strcmp(name, comm) == 0 && reader(e->d_name, arg, &value)) {
				closedir(d);
				return value;
			}
		}
		closedir(d);
		usleep(10000);
	}
	fail_msg("no thread named %s", comm);
	return 0;
}

int tu_thread_nice(const char *comm)
{
	static const int field = 19;
	return (int)(long long)thread_value(comm, read_stat_field, &field);
}

int tu_thread_policy(const char *comm)
{
	static const int field = 41;
	return (int)thread_value(comm, read_stat_field, &field);
}

unsigned long long tu_thread_sigblk(const char *comm)
{
	return thread_value(comm, read_status_hex, "SigBlk:");
}

struct fifo_try {
	int priority;
	bool ok;
};

static void *try_fifo(void *arg)
{
	struct fifo_try *t = arg;
	struct sched_param sp = {.sched_priority = t->priority};
	t->ok = sched_setscheduler(0, SCHED_FIFO, &sp) == 0;
	return NULL;
}

bool tu_fifo_allowed(int priority)
{
	struct fifo_try t = {priority, false};
	pthread_t th;
	if (pthread_create(&th, NULL, try_fifo, &t) != 0)
		fail_msg("cannot start a thread");
	pthread_join(th, NULL);
	return t.ok;
}

struct nice_try {
	int from, to;
	bool ok;
};

static void *try_nice(void *arg)
{
	struct nice_try *t = arg;
	pid_t tid = (pid_t)syscall(SYS_gettid);
	t->ok = setpriority(PRIO_PROCESS, (id_t)tid, t->from) == 0 &&
	        setpriority(PRIO_PROCESS, (id_t)tid, t->to) == 0;
	return NULL;
}

bool tu_nice_allowed(int from, int to)
{
	struct nice_try t = {from, to, false};
	pthread_t th;
	if (pthread_create(&th, NULL, try_nice, &t) != 0)
		fail_msg("cannot start a thread");
	pthread_join(th, NULL);
	return t.ok;
}

char *tu_mkdtemp(void)
{
	const char *base = getenv("TMPDIR");
	char tmpl[4096];
	snprintf(tmpl, sizeof(tmpl), "%s/qrdesk-test-XXXXXX", base ? base : "/tmp");
	if (mkdtemp(tmpl) == NULL)
		fail_msg("mkdtemp: %s", strerror(errno));
	return strdup(tmpl);
}

void tu_rmtree(const char *path)
{
	char cmd[4200];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
	if (system(cmd) != 0)
		fail_msg("cannot remove %s", path);
}

static int run_shell(const char *cmd)
{
	int rc = system(cmd);
	return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

const char *tu_loop_stick(const char *img, const char **fs, char *dev, size_t dev_size)
{
	dev[0] = '\0';
	if (geteuid() != 0)
		return "not root: cannot make loop devices or mount";
	/* Sticks are FAT; a kernel without vfat (some CI containers) still has ext4. */
	*fs = run_shell("grep -qw vfat /proc/filesystems") == 0 ? "vfat" : "ext4";
	const char *mkfs = strcmp(*fs, "vfat") == 0 ? "mkfs.vfat -n QRDESK" : "mkfs.ext4 -q -F";
	char cmd[8192];
	snprintf(cmd, sizeof(cmd), "truncate -s 16M '%s' && %s '%s' >/dev/null 2>&1", img, mkfs,
	         img);
	if (run_shell(cmd) != 0)
		return strcmp(*fs, "vfat") == 0 ? "cannot make a vfat image (mkfs.vfat missing?)"
		                                : "cannot make an ext4 image (mkfs.ext4 missing?)";
	snprintf(cmd, sizeof(cmd), "losetup -f --show '%s' 2>/dev/null", img);
	FILE *p = popen(cmd, "r");
	bool ok = p != NULL && fgets(dev, (int)dev_size, p) != NULL;
	if (p != NULL)
		pclose(p);
	if (!ok) {
		dev[0] = '\0';
		return "no loop device available here (losetup failed)";
	}
	dev[strcspn(dev, "\n")] = '\0';
	return NULL;
}

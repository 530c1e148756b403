/* SPDX-License-Identifier: Apache-2.0 */
/*
 * wal_sync_stop.so - an LD_PRELOAD seam for the crash tests: with
 * QRDESK_STOP_AT_WAL_SYNC=BYTES in the environment, the first fsync or
 * fdatasync of a file named "*-wal" that has grown to BYTES or more stops the
 * process (SIGSTOP) before the sync.  SQLite syncs the WAL at a commit while it
 * still holds the write lock, so a large apply is caught there: its rows
 * written, not yet durable, the lock held - the moment a power cut is worst -
 * at a point the test waits for instead of polling for it.  Without the
 * variable it only passes the calls on.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static bool stopped;

static bool stop_here(int fd)
{
	const char *min = getenv("QRDESK_STOP_AT_WAL_SYNC");
	if (min == NULL || stopped)
		return false;
	char link[64], path[4096];
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(link, path, sizeof(path) - 1);
	if (n < 4)
		return false;
	path[n] = '\0';
	struct stat st;
	if (strcmp(path + n - 4, "-wal") != 0 || fstat(fd, &st) != 0 ||
	    st.st_size < strtoll(min, NULL, 10))
		return false;
	stopped = true;
	return true;
}

int fsync(int fd)
{
	int (*real)(int) = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
	if (stop_here(fd))
		raise(SIGSTOP);
	return real(fd);
}

int fdatasync(int fd)
{
	int (*real)(int) = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
	if (stop_here(fd))
		raise(SIGSTOP);
	return real(fd);
}

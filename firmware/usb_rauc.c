/* SPDX-License-Identifier: Apache-2.0 */
/*
 * usb_rauc.c - hand a RAUC firmware bundle to `rauc install` (usb_rauc.h).
 * RAUC checks the bundle's signature against its own keyring; we only run
 * it without a shell, relay its lines and report its exit status.
 */
#define _GNU_SOURCE
#include "usb_rauc.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "qrdesk/usb_update.h"

extern char **environ;

/*
 * Find prog as execvp would (a name with a '/' as it is, else along PATH).
 * Looked up here rather than left to posix_spawnp, whose "not found" can
 * only be told from the child's exit status 127 on some systems (qemu-user
 * among them) - and "rauc is not installed" must be said plainly.
 */
static bool find_program(const char *prog, char *out, size_t size)
{
	if (strchr(prog, '/') != NULL) {
		snprintf(out, size, "%s", prog);
		return access(out, X_OK) == 0;
	}
	const char *path = getenv("PATH");
	if (path == NULL || path[0] == '\0')
		path = "/usr/bin:/bin";
	for (const char *dir = path;;) {
		size_t len = strcspn(dir, ":");
		int n = snprintf(out, size, "%.*s%s%s", (int)len, dir, len ? "/" : "", prog);
		if (n > 0 && (size_t)n < size && access(out, X_OK) == 0)
			return true;
		if (dir[len] == '\0')
			return false;
		dir += len + 1; /* past the ':' */
	}
}

enum qd_err usb_rauc_install(const char *rauc, const char *path, const struct usb_hooks *hooks,
                             struct qd_errmsg *why)
{
	const char *name = rauc != NULL && rauc[0] ? rauc : "rauc";
	char prog[4096];
	if (!find_program(name, prog, sizeof(prog))) {
		qd_errmsg_set(why, "rauc is not installed on this desk: the firmware bundle "
		                   "was not installed");
		return QD_ERR_UNSUPPORTED;
	}
	int pipefd[2];
	if (pipe2(pipefd, O_CLOEXEC) != 0) {
		qd_errmsg_set(why, "cannot make a pipe: %s", strerror(errno));
		return QD_ERR_IO;
	}
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], STDOUT_FILENO);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], STDERR_FILENO);
	char *argv[] = {prog, (char *)"install", (char *)path, NULL};
	pid_t pid;
	int err = posix_spawn(&pid, prog, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(pipefd[1]);
	if (err != 0) {
		close(pipefd[0]);
		qd_errmsg_set(why, "cannot start %s: %s", prog, strerror(err));
		return QD_ERR_IO;
	}
	/* Lines as rauc prints them ("20% Checking bundle"), each to progress. */
	char line[256], last[256] = "";
	size_t n = 0;
	FILE *f = fdopen(pipefd[0], "r");
	if (f == NULL) {
		close(pipefd[0]);
	} else {
		int c;
		while ((c = fgetc(f)) != EOF) {
			if (c != '\n' && n + 1 < sizeof(line)) {
				line[n++] = (char)c;
				continue;
			}
			if (c != '\n')
				continue; /* an over-long line: the rest is dropped */
			line[n] = '\0';
			if (n > 0) {
				snprintf(last, sizeof(last), "%s", line);
				if (hooks != NULL && hooks->progress != NULL)
					hooks->progress(hooks->arg, line, 0, 0);
			}
			n = 0;
		}
		if (n > 0) {
			line[n] = '\0';
			snprintf(last, sizeof(last), "%s", line);
		}
		fclose(f);
	}
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return QD_OK;
	qd_errmsg_set(why, "rauc install failed (%s %d)%s%s", WIFEXITED(status) ? "exit" : "signal",
	              WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status),
	              last[0] ? ": " : "", last);
	return QD_ERR_IO;
}

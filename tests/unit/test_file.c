/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_file.c - the bounded whole-file read (file.h): contents and the NUL
 * after them, the size cap, what is refused (missing, a directory, a FIFO
 * without a writer, a symbolic link when asked, a file that changes size
 * while read), progress reports, and no descriptor left open.
 */
#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "qrdesk/file.h"

struct fx {
	char *dir;
	char path[4200];
};

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	assert_non_null(fx);
	fx->dir = tu_mkdtemp();
	assert_non_null(fx->dir);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;
	tu_rmtree(fx->dir);
	free(fx->dir);
	free(fx);
	return 0;
}

static const char *at(struct fx *fx, const char *name)
{
	snprintf(fx->path, sizeof(fx->path), "%s/%s", fx->dir, name);
	return fx->path;
}

static void put(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	assert_int_equal(close(fd), 0);
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	assert_non_null(d);
	int n = 0;
	while (readdir(d) != NULL)
		n++;
	closedir(d);
	return n;
}

/* Reads whose failure is expected: *data stays NULL, *len 0, and why names the reason. */
static enum qd_err refused(int dir, const char *path, size_t cap,
                           const struct file_read_options *opt, const char *reason)
{
	uint8_t *data = (uint8_t *)"sentinel";
	size_t len = 99;
	struct qd_errmsg why = {{0}};
	enum qd_err rc = file_read_at(dir, path, cap, opt, &data, &len, &why);
	assert_int_not_equal(rc, QD_OK);
	assert_null(data);
	assert_int_equal(len, 0);
	if (strstr(why.text, reason) == NULL)
		fail_msg("%s: expected \"%s\" in \"%s\"", path, reason, why.text);
	return rc;
}

static void test_reads_whole_file(void **state)
{
	struct fx *fx = *state;
	int fds = count_fds();
	const char text[] = "[desk]\nid = gate-12\n";
	put(at(fx, "a.conf"), text, sizeof(text) - 1);
	uint8_t *data = NULL;
	size_t len = 0;
	struct qd_errmsg why = {{0}};
	assert_int_equal(file_read(fx->path, 1024, &data, &len, &why), QD_OK);
	assert_int_equal(len, sizeof(text) - 1);
	assert_memory_equal(data, text, len);
	assert_int_equal(data[len], '\0'); /* text can be used in place */
	free(data);

	/* Exactly at the cap is allowed. */
	assert_int_equal(file_read(fx->path, sizeof(text) - 1, &data, &len, &why), QD_OK);
	assert_int_equal(len, sizeof(text) - 1);
	free(data);

	/* Empty: a buffer all the same, holding just the NUL. */
	put(at(fx, "empty"), "", 0);
	assert_int_equal(file_read(fx->path, 16, &data, &len, &why), QD_OK);
	assert_non_null(data);
	assert_int_equal(len, 0);
	assert_int_equal(data[0], '\0');
	free(data);

	/* Relative to a directory descriptor. */
	int dfd = open(fx->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(dfd >= 0);
	assert_int_equal(file_read_at(dfd, "a.conf", 1024, NULL, &data, &len, &why), QD_OK);
	assert_int_equal(len, sizeof(text) - 1);
	free(data);
	close(dfd);
	assert_int_equal(count_fds(), fds);
}

static void test_oversized(void **state)
{
	struct fx *fx = *state;
	int fds = count_fds();
	/* Sparse, 64 MiB and one byte: refused by its size, never read nor allocated. */
	int fd = open(at(fx, "huge"), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)64 * 1024 * 1024 + 1), 0);
	assert_int_equal(close(fd), 0);
	assert_int_equal(refused(AT_FDCWD, fx->path, 64u * 1024 * 1024, NULL, "67108865 bytes"),
	                 QD_ERR_TOO_LARGE);
	/* One byte over a small cap. */
	put(at(fx, "five"), "12345", 5);
	assert_int_equal(refused(AT_FDCWD, fx->path, 4, NULL, "larger than 4"), QD_ERR_TOO_LARGE);
	assert_int_equal(count_fds(), fds);
}

static void test_missing(void **state)
{
	struct fx *fx = *state;
	assert_int_equal(refused(AT_FDCWD, at(fx, "absent"), 16, NULL, "cannot open it"),
	                 QD_ERR_NOT_FOUND);
	put(at(fx, "plain"), "x", 1);
	assert_int_equal(refused(AT_FDCWD, at(fx, "plain/below"), 16, NULL, "cannot open it"),
	                 QD_ERR_NOT_FOUND);
}

static void on_alarm(int sig)
{
	(void)sig;
	static const char msg[] = "file_read blocked on a FIFO\n";
	(void)!write(STDERR_FILENO, msg, sizeof(msg) - 1);
	_exit(1);
}

static void test_not_regular(void **state)
{
	struct fx *fx = *state;
	int fds = count_fds();
	/* A directory. */
	assert_int_equal(refused(AT_FDCWD, fx->dir, 16, NULL, "not a regular file"), QD_ERR_IO);
	/* A FIFO no one writes to: a blocking open would wait for ever; the alarm says so. */
	assert_int_equal(mkfifo(at(fx, "pipe"), 0600), 0);
	signal(SIGALRM, on_alarm);
	alarm(10);
	assert_int_equal(refused(AT_FDCWD, fx->path, 16, NULL, "not a regular file"), QD_ERR_IO);
	/* The caller's code for it. */
	const struct file_read_options fmt = {.not_regular = QD_ERR_FORMAT};
	assert_int_equal(refused(AT_FDCWD, fx->path, 16, &fmt, "not a regular file"),
	                 QD_ERR_FORMAT);
	alarm(0);
	/* A character device. */
	assert_int_equal(refused(AT_FDCWD, "/dev/null", 16, NULL, "not a regular file"), QD_ERR_IO);
	assert_int_equal(count_fds(), fds);
}

static void test_symlink(void **state)
{
	struct fx *fx = *state;
	put(at(fx, "target"), "abc", 3);
	assert_int_equal(symlink("target", at(fx, "link")), 0);
	uint8_t *data = NULL;
	size_t len = 0;
	struct qd_errmsg why = {{0}};
	/* Followed by default. */
	assert_int_equal(file_read(fx->path, 16, &data, &len, &why), QD_OK);
	assert_int_equal(len, 3);
	assert_memory_equal(data, "abc", 3);
	free(data);
	/* Refused with FILE_READ_NOFOLLOW, with the caller's code for what is not a file. */
	const struct file_read_options nofollow = {.flags = FILE_READ_NOFOLLOW};
	assert_int_equal(refused(AT_FDCWD, fx->path, 16, &nofollow, "symbolic link"), QD_ERR_IO);
	const struct file_read_options fmt = {.flags = FILE_READ_NOFOLLOW,
	                                      .not_regular = QD_ERR_FORMAT};
	assert_int_equal(refused(AT_FDCWD, fx->path, 16, &fmt, "symbolic link"), QD_ERR_FORMAT);
	/* A link in the middle of the path is still followed. */
	assert_int_equal(symlink(".", at(fx, "here")), 0);
	assert_int_equal(
	        file_read_at(AT_FDCWD, at(fx, "here/target"), 16, &nofollow, &data, &len, &why),
	        QD_OK);
	free(data);
}

static void test_changed_size(void **state)
{
	(void)state;
	/* procfs files are regular and announce 0 bytes, then hold more: "grew". */
	assert_int_equal(refused(AT_FDCWD, "/proc/self/status", 1024, NULL, "grew"), QD_ERR_IO);
}

struct seen {
	size_t calls, last_done, last_total;
};

static void on_progress(void *arg, size_t done, size_t total)
{
	struct seen *s = arg;
	assert_true(done > s->last_done);
	s->calls++;
	s->last_done = done;
	s->last_total = total;
}

static void test_progress(void **state)
{
	struct fx *fx = *state;
	size_t size = 2 * 1024 * 1024 + 512 * 1024; /* two whole chunks and a half */
	uint8_t *want = malloc(size);
	assert_non_null(want);
	for (size_t i = 0; i < size; i++)
		want[i] = (uint8_t)(i * 131 + (i >> 12));
	put(at(fx, "big"), want, size);
	struct seen s = {0};
	const struct file_read_options opt = {.progress = on_progress, .progress_arg = &s};
	uint8_t *data = NULL;
	size_t len = 0;
	struct qd_errmsg why = {{0}};
	assert_int_equal(file_read_at(AT_FDCWD, fx->path, size, &opt, &data, &len, &why), QD_OK);
	assert_int_equal(len, size);
	assert_memory_equal(data, want, size);
	assert_int_equal(s.calls, 3);
	assert_int_equal(s.last_done, size);
	assert_int_equal(s.last_total, size);
	free(data);
	free(want);
}

static void test_bad_arguments(void **state)
{
	(void)state;
	uint8_t *data = NULL;
	size_t len = 0;
	struct qd_errmsg why = {{0}};
	assert_int_equal(file_read(NULL, 16, &data, &len, &why), QD_ERR_ARG);
	assert_int_equal(file_read("/etc/hostname", 16, NULL, &len, &why), QD_ERR_ARG);
	assert_int_equal(file_read("/etc/hostname", 16, &data, NULL, &why), QD_ERR_ARG);
	assert_int_equal(file_read("/etc/hostname", SIZE_MAX, &data, &len, &why), QD_ERR_ARG);
	assert_null(data);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_reads_whole_file, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_oversized, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_missing, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_not_regular, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_symlink, setup, teardown),
	        cmocka_unit_test(test_changed_size),
	        cmocka_unit_test_setup_teardown(test_progress, setup, teardown),
	        cmocka_unit_test(test_bad_arguments),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

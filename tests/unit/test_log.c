/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_log.c - the logger while its settings change: a reload (log_init on the loop thread)
 * while other threads log.  Every line is whole and one of the two settings, never a mix of
 * a line's parts; the level set last is the one that holds.  Built with ThreadSanitizer
 * (scripts/test.sh's TSan pass), an unsynchronised setting is a reported race.  And a
 * message carrying control characters (a server's reason, a device name) cannot forge a
 * journal line or move the terminal's cursor.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qrdesk/log.h"
#include "testutil.h"

#define LINES_PER_THREAD 2000

static atomic_bool stop;

static void *logger(void *arg)
{
	(void)arg;
	for (int i = 0; i < LINES_PER_THREAD; i++)
		log_warn("line %d", i);
	return NULL;
}

static void *reloader(void *arg)
{
	(void)arg;
	for (unsigned i = 0; !atomic_load(&stop); i++)
		log_init(i % 2 ? "b" : "a", i % 2 ? LOG_STYLE_JOURNAL : LOG_STYLE_PLAIN,
		         i % 2 ? LOG_DEBUG : LOG_WARNING);
	return NULL;
}

/* Run body with stderr going to a file; return what was written (NUL-terminated). */
static char *capture(void (*body)(void))
{
	char path[] = "/tmp/qrdesk-test-log-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	unlink(path);
	int saved = dup(STDERR_FILENO);
	assert_true(saved >= 0);
	assert_int_equal(dup2(fd, STDERR_FILENO), STDERR_FILENO);
	body();
	assert_int_equal(dup2(saved, STDERR_FILENO), STDERR_FILENO);
	close(saved);
	off_t len = lseek(fd, 0, SEEK_END);
	assert_true(len >= 0);
	char *text = malloc((size_t)len + 1);
	assert_non_null(text);
	assert_int_equal(pread(fd, text, (size_t)len, 0), len);
	text[len] = '\0';
	close(fd);
	return text;
}

static void log_during_reloads(void)
{
	atomic_store(&stop, false);
	log_init("a", LOG_STYLE_PLAIN, LOG_WARNING); /* before the first reload comes */
	pthread_t r, l[2];
	assert_int_equal(pthread_create(&r, NULL, reloader, NULL), 0);
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&l[i], NULL, logger, NULL), 0);
	for (int i = 0; i < 2; i++)
		pthread_join(l[i], NULL);
	atomic_store(&stop, true);
	pthread_join(r, NULL);
	/* The last setting holds. */
	log_init("after", LOG_STYLE_PLAIN, LOG_WARNING);
	log_info("not printed");
	log_warn("printed");
}

static void test_reload_while_logging(void **state)
{
	(void)state;
	char *text = capture(log_during_reloads);
	size_t lines = 0;
	for (char *line = strtok(text, "\n"); line != NULL; line = strtok(NULL, "\n")) {
		lines++;
		/* Whole, in one of the two styles: "a: line N" or "<4>line N". */
		bool plain = strncmp(line, "a: line ", 8) == 0 || strncmp(line, "b: line ", 8) == 0;
		bool journal = strncmp(line, "<4>line ", 8) == 0;
		if (strcmp(line, "after: printed") == 0)
			continue;
		if (!plain && !journal)
			fail_msg("a torn or foreign line: \"%s\"", line);
	}
	assert_int_equal(lines, 2 * LINES_PER_THREAD + 1);
	free(text);
}

static void log_hostile(void)
{
	log_init("qrdeskd", LOG_STYLE_JOURNAL, LOG_INFO);
	/* What a hostile server or stick could send as a reason or a name. */
	log_err("sync: the server said %s", "no\n<3>verdict 1 valid\x1b[2J\r\x7f\xc2\x9b end");
}

static void test_control_characters_escaped(void **state)
{
	(void)state;
	char *text = capture(log_hostile);
	/* One line, its own priority; the forged one and every control byte written as \xNN. */
	assert_int_equal(strchr(text, '\n') - text, (long)strlen(text) - 1);
	static const char want[] = "<3>sync: the server said no\\x0a<3>verdict 1 valid\\x1b[2J";
	assert_int_equal(strncmp(text, want, strlen(want)), 0);
	assert_null(strchr(text, '\x1b'));
	assert_null(strchr(text, '\r'));
	assert_null(strchr(text, '\x7f'));
	assert_null(strstr(text, "\xc2\x9b"));
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_reload_while_logging),
	        cmocka_unit_test(test_control_characters_escaped),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_hotplug.c - the hot-plug watcher (drivers/hotplug.c) on the real event
 * loop.  inotify runs against a temporary "device directory"; the udev
 * backend is exercised for real by tests/integration/hotplug.sh, which starts
 * udevd; here only its refusal when udevd is not running (and auto's choice).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "qrdesk/hotplug.h"
#include "qrdesk/loop.h"
#include "testutil.h"

#define EVENTS_MAX 16

struct harness {
	struct loop *loop;
	struct loop_timer *deadline;
	struct hotplug_event events[EVENTS_MAX];
	size_t n_events;
	size_t want;
};

static void on_event(void *arg, const struct hotplug_event *ev)
{
	struct harness *h = arg;
	if (h->n_events < EVENTS_MAX)
		h->events[h->n_events] = *ev;
	h->n_events++;
	if (h->n_events >= h->want)
		loop_stop(h->loop);
}

static void on_deadline(struct loop *loop, struct loop_timer *timer, void *arg)
{
	(void)timer;
	(void)arg;
	loop_stop(loop);
}

/* Run the loop until `want` events in all have come, or 2 s have passed. */
static void wait_events(struct harness *h, size_t want)
{
	h->want = want;
	if (h->n_events >= want)
		return;
	loop_timer_arm(h->deadline, 2000, 0);
	assert_int_equal(loop_run(h->loop), QD_OK);
	loop_timer_disarm(h->deadline);
	if (h->n_events < want)
		fail_msg("%zu hot-plug events, wanted %zu", h->n_events, want);
}

static void touch(const char *dir, const char *name)
{
	char path[1024];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	int fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	close(fd);
}

static void assert_event(const struct hotplug_event *ev, enum hotplug_action action,
                         const char *subsystem, const char *dir, const char *name)
{
	char node[1024];
	snprintf(node, sizeof(node), "%s/%s", dir, name);
	assert_string_equal(hotplug_action_name(ev->action), hotplug_action_name(action));
	assert_string_equal(ev->subsystem, subsystem);
	assert_string_equal(ev->devnode, node);
}

static void test_inotify_nodes_and_folders(void **state)
{
	(void)state;
	char *dir = tu_mkdtemp();
	struct harness h = {0};
	assert_int_equal(loop_create(&h.loop), QD_OK);
	assert_int_equal(loop_timer_create(h.loop, on_deadline, &h, &h.deadline), QD_OK);
	struct hotplug_config cfg = {.backend = HOTPLUG_INOTIFY};
	snprintf(cfg.dev_dir, sizeof(cfg.dev_dir), "%s", dir);
	struct hotplug *hp = NULL;
	struct qd_errmsg why = {{0}};
	assert_int_equal(hotplug_start(h.loop, &cfg, on_event, &h, &hp, &why), QD_OK);
	assert_non_null(hp);
	assert_int_equal(hotplug_backend_in_use(hp), HOTPLUG_INOTIFY);

	/* A serial scanner's node appears, then goes. */
	touch(dir, "ttyACM0");
	wait_events(&h, 1);
	assert_event(&h.events[0], HOTPLUG_ADD, "tty", dir, "ttyACM0");
	char path[512];
	snprintf(path, sizeof(path), "%s/ttyACM0", dir);
	assert_int_equal(unlink(path), 0);
	wait_events(&h, 2);
	assert_event(&h.events[1], HOTPLUG_REMOVE, "tty", dir, "ttyACM0");

	/* input/ does not exist at start: made with the first input device, then watched. */
	snprintf(path, sizeof(path), "%s/input", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	/* The folder itself is no device event; give the watcher a turn to add its watch. */
	loop_timer_arm(h.deadline, 100, 0);
	assert_int_equal(loop_run(h.loop), QD_OK);
	assert_int_equal(h.n_events, 2);
	touch(path, "event7");
	wait_events(&h, 3);
	assert_event(&h.events[2], HOTPLUG_ADD, "input", path, "event7");

	/* A by-id link renamed into place (as udev does) counts as an add. */
	snprintf(path, sizeof(path), "%s/video0", dir);
	char tmp[512];
	snprintf(tmp, sizeof(tmp), "%s/.tmp-video0", dir);
	int fd = open(tmp, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	close(fd);
	wait_events(&h, 4); /* the temporary file's own creation */
	assert_int_equal(rename(tmp, path), 0);
	wait_events(&h, 6); /* moved from .tmp-video0, moved to video0 */
	assert_event(&h.events[4], HOTPLUG_REMOVE, "", dir, ".tmp-video0");
	assert_event(&h.events[5], HOTPLUG_ADD, "video4linux", dir, "video0");

	hotplug_stop(hp);
	loop_timer_destroy(h.deadline);
	loop_destroy(h.loop);
	tu_rmtree(dir);
	free(dir);
}

static void test_inotify_missing_dir(void **state)
{
	(void)state;
	struct loop *loop = NULL;
	assert_int_equal(loop_create(&loop), QD_OK);
	struct hotplug_config cfg = {.backend = HOTPLUG_INOTIFY};
	snprintf(cfg.dev_dir, sizeof(cfg.dev_dir), "%s", "/nonexistent/qrdesk-dev");
	struct hotplug *hp = (struct hotplug *)&cfg; /* must be reset to NULL */
	struct qd_errmsg why = {{0}};
	assert_int_equal(hotplug_start(loop, &cfg, on_event, NULL, &hp, &why), QD_ERR_NOT_FOUND);
	assert_null(hp);
	assert_non_null(strstr(why.text, "/nonexistent/qrdesk-dev"));
	loop_destroy(loop);
}

static void test_off_and_udev_choice(void **state)
{
	(void)state;
	struct loop *loop = NULL;
	assert_int_equal(loop_create(&loop), QD_OK);
	struct qd_errmsg why = {{0}};
	struct hotplug *hp = NULL;

	struct hotplug_config off = {.backend = HOTPLUG_OFF};
	assert_int_equal(hotplug_start(loop, &off, on_event, NULL, &hp, &why), QD_OK);
	assert_null(hp);
	assert_int_equal(hotplug_backend_in_use(hp), HOTPLUG_OFF);

	bool udevd = hotplug_udev_running();
	struct hotplug_config udev = {.backend = HOTPLUG_UDEV};
	enum qd_err rc = hotplug_start(loop, &udev, on_event, NULL, &hp, &why);
	if (udevd) {
		assert_int_equal(rc, QD_OK);
		assert_int_equal(hotplug_backend_in_use(hp), HOTPLUG_UDEV);
		hotplug_stop(hp);
	} else {
		/* A monitor would open and never hear a thing: refused, with the reason. */
		assert_int_equal(rc, QD_ERR_NOT_FOUND);
		assert_null(hp);
		assert_non_null(strstr(why.text, "udevd is not running"));
	}

	struct hotplug_config automatic = {.backend = HOTPLUG_AUTO, .dev_dir = "/dev"};
	assert_int_equal(hotplug_start(loop, &automatic, on_event, NULL, &hp, &why), QD_OK);
	assert_int_equal(hotplug_backend_in_use(hp), udevd ? HOTPLUG_UDEV : HOTPLUG_INOTIFY);
	hotplug_stop(hp);
	loop_destroy(loop);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_inotify_nodes_and_folders),
	        cmocka_unit_test(test_inotify_missing_dir),
	        cmocka_unit_test(test_off_and_udev_choice),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

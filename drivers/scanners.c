/* SPDX-License-Identifier: Apache-2.0 */
/* scanners.c - the registry of code sources (see scanner.h): one row per scanner. */
#include "qrdesk/scanner.h"

#include <string.h>
#include <unistd.h>

/* --- replay: code texts from standard input, a FIFO, QR images in a folder ---------- */

static const char *stdin_wanted(const struct scanner_settings *s)
{
	return s->replay_stdin ? "stdin" : NULL;
}

static enum qd_err stdin_create(const struct scanner_settings *s, source_code_cb cb, void *arg,
                                struct source **out)
{
	(void)s;
	return source_replay_lines_fd("stdin", STDIN_FILENO, cb, arg, out);
}

static const char *fifo_wanted(const struct scanner_settings *s)
{
	return s->replay_fifo[0] ? s->replay_fifo : NULL;
}

static enum qd_err fifo_create(const struct scanner_settings *s, source_code_cb cb, void *arg,
                               struct source **out)
{
	return source_replay_lines_fifo("fifo", s->replay_fifo, cb, arg, out);
}

static const char *images_wanted(const struct scanner_settings *s)
{
	return s->replay_images[0] ? s->replay_images : NULL;
}

static enum qd_err images_create(const struct scanner_settings *s, source_code_cb cb, void *arg,
                                 struct source **out)
{
	return source_replay_images_with("images", s->replay_images, &s->images, cb, arg, out);
}

/* --- a serial scanner: absent is not a failure, the source waits for it ------------------ */

static const char *serial_wanted(const struct scanner_settings *s)
{
	return s->serial.device[0] ? s->serial.device : NULL;
}

static enum qd_err serial_create(const struct scanner_settings *s, source_code_cb cb, void *arg,
                                 struct source **out)
{
	return source_serial("serial", &s->serial, cb, arg, out);
}

static void serial_devices(const struct scanner_settings *s, FILE *out)
{
	if (strncmp(s->serial.device, "/dev/tty", 8) == 0)
		fprintf(out, "DeviceAllow=%s rw\n", s->serial.device);
	else /* a /dev/serial/by-id link: the node behind it may change on re-plug */
		fprintf(out, "DeviceAllow=char-ttyACM rw\nDeviceAllow=char-ttyUSB rw\n");
}

/* --- a keyboard-wedge scanner ---------------------------------------------------------- */

static const char *hid_wanted(const struct scanner_settings *s)
{
	return s->hid.device[0] ? s->hid.device : NULL;
}

static enum qd_err hid_create(const struct scanner_settings *s, source_code_cb cb, void *arg,
                              struct source **out)
{
	return source_hid("hid", &s->hid, cb, arg, out);
}

static void hid_devices(const struct scanner_settings *s, FILE *out)
{
	(void)s; /* event node numbers change on re-plug */
	fprintf(out, "DeviceAllow=char-input r\n");
}

/* --- the camera: absent or stalled is not a failure, its thread keeps trying --------------- */

static const char *camera_wanted(const struct scanner_settings *s)
{
	return s->camera.capture.device[0] ? s->camera.capture.device : NULL;
}

static enum qd_err camera_create(const struct scanner_settings *s, source_code_cb cb, void *arg,
                                 struct source **out)
{
	return source_camera("camera", &s->camera, cb, arg, out);
}

static void camera_devices(const struct scanner_settings *s, FILE *out)
{
	(void)s; /* /dev/videoN changes on re-plug too */
	fprintf(out, "DeviceAllow=char-video4linux rw\n");
}

const struct scanner_kind scanner_kinds[] = {
        {"stdin", "replay", stdin_wanted, stdin_create, NULL},
        {"fifo", "replay", fifo_wanted, fifo_create, NULL},
        {"images", "replay", images_wanted, images_create, NULL},
        {"serial", "serial", serial_wanted, serial_create, serial_devices},
        {"hid", "hid", hid_wanted, hid_create, hid_devices},
        {"camera", "camera", camera_wanted, camera_create, camera_devices},
};
const size_t scanner_kinds_count = sizeof(scanner_kinds) / sizeof(scanner_kinds[0]);

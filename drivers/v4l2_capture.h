/* SPDX-License-Identifier: Apache-2.0 */
/*
 * v4l2_capture.h - frames from a V4L2 camera, as 8-bit luma (our own
 * capture: no libv4l).  Open a device, choose a pixel format (GREY, else
 * YUYV, else MJPEG through libjpeg, or the one configured), ask for a size
 * and a frame rate (and report what the driver granted), stream through a
 * few mmap'd buffers, and hand each frame's luma to a callback.
 *
 * All device I/O goes through struct capture_io (open, close, ioctl, mmap,
 * munmap, poll), which defaults to the real system calls: a test links a
 * fake V4L2 device in there (tests/fakes/fake_v4l2.c).
 *
 * A capture is used by one thread at a time (the camera source's own).
 */
#ifndef QRDESK_V4L2_CAPTURE_H
#define QRDESK_V4L2_CAPTURE_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "qrdesk/error.h"
#include "qrdesk/source_camera.h" /* capture_config, capture_format, CAPTURE_*_MIN/MAX */

#define CAPTURE_BUFFERS   4                   /* mmap buffers asked for */
#define CAPTURE_FRAME_MAX (32u * 1024 * 1024) /* bytes in one buffer, at most */

/* The device seam: every call the capture makes to the kernel. */
struct capture_io {
	int (*open)(void *ctx, const char *path, int flags);
	int (*close)(void *ctx, int fd);
	int (*ioctl)(void *ctx, int fd, unsigned long request, void *arg);
	void *(*mmap)(void *ctx, size_t length, int prot, int flags, int fd, off_t offset);
	int (*munmap)(void *ctx, void *addr, size_t length);
	int (*poll)(void *ctx, struct pollfd *fds, nfds_t n, int timeout_ms);
	void *ctx;
};

/* The real system calls. */
const struct capture_io *capture_io_system(void);

/* What the driver granted. */
struct capture_info {
	enum capture_format format;
	unsigned width, height;
	size_t bytesperline;       /* GREY, YUYV: bytes from one row to the next */
	unsigned fps_num, fps_den; /* frames per second as granted (0/0: not settable) */
	unsigned buffers;
	char card[32]; /* the driver's name for the device */
};

/* The luma of one frame, valid during the callback only. */
struct capture_frame {
	const uint8_t *luma;
	unsigned width, height;
	size_t stride;
	uint32_t sequence; /* the driver's frame counter */
	int64_t t_us;      /* when it was dequeued (monotonic) */
};

typedef void (*capture_frame_cb)(void *arg, const struct capture_frame *frame);

struct capture;

/*
 * Open the device and start streaming.  QD_ERR_NOT_FOUND: no such device
 * (absent, unplugged); QD_ERR_UNSUPPORTED: not a streaming capture device,
 * or none of our formats; QD_ERR_IO: anything else.  why says which.
 */
enum qd_err capture_open(const struct capture_config *cfg, const struct capture_io *io,
                         struct capture **out, struct qd_errmsg *why);

const struct capture_info *capture_get_info(const struct capture *cap);

/* What capture_next saw. */
enum capture_result {
	CAPTURE_FRAME,   /* a frame went to the callback */
	CAPTURE_TIMEOUT, /* nothing within the timeout */
	CAPTURE_DROPPED, /* a frame came but was unusable: why says so */
};

/*
 * Wait up to timeout_ms for a frame, and hand the newest one ready to cb
 * (older ones ready at the same time are given back unread and counted in
 * *skipped, if not NULL).  Errors: QD_ERR_NOT_FOUND when the device is
 * gone (ENODEV), QD_ERR_IO for any other failure: close and re-open.
 */
enum qd_err capture_next(struct capture *cap, int timeout_ms, capture_frame_cb cb, void *arg,
                         enum capture_result *result, unsigned *skipped, struct qd_errmsg *why);

/* Stop streaming, unmap, close.  NULL is fine. */
void capture_close(struct capture *cap);

/*
 * The luma of one frame's bytes (len of them, as the driver filled them)
 * laid out as info says: GREY is used in place (*luma points into data),
 * YUYV and MJPEG are written to scratch (width x height bytes, stride
 * width).  QD_ERR_FORMAT (short, corrupt, wrong size) or QD_ERR_TOO_LARGE
 * with the reason in why; nothing is returned then.  This is the parser of
 * untrusted frame bytes: tests/fuzz/fuzz_camera.c.
 */
enum qd_err capture_luma(const struct capture_info *info, const uint8_t *data, size_t len,
                         uint8_t *scratch, const uint8_t **luma, size_t *stride,
                         struct qd_errmsg *why);

#endif

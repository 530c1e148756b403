/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fake_v4l2.h - a fake V4L2 camera behind struct capture_io (v4l2_capture.h),
 * for the tests and the camera benchmark where no camera exists.
 *
 * It answers the ioctls the capture makes (QUERYCAP, ENUM_FMT, S_FMT,
 * G_PARM/S_PARM, REQBUFS, QUERYBUF, QBUF, DQBUF, STREAMON/OFF) with the
 * semantics of a real driver: buffers cycle between the application and the
 * driver, a frame becomes ready every 1/fps seconds after STREAMON and fills
 * the oldest queued buffer (or is lost when none is queued), poll() waits for
 * a filled buffer.  Frames show the current scene (an 8-bit grey picture set
 * by fake_v4l2_show), cropped or padded to the size granted, written in the
 * negotiated format: GREY (rows padded), YUYV, or MJPEG (libjpeg, YCbCr 4:2:2
 * as webcams send it).
 *
 * Faults to inject: unplug (open fails ENOENT; an open descriptor polls
 * POLLERR|POLLHUP and its ioctls fail ENODEV) and re-plug; a stall (no frame
 * becomes ready); one-shot bad frames; a driver granting another size.
 * Thread-safe: the capture thread calls the io, the test thread the rest.
 */
#ifndef QRDESK_FAKE_V4L2_H
#define QRDESK_FAKE_V4L2_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "v4l2_capture.h"

struct fake_v4l2;

/* A device at path offering the formats in mask (bits 1 << CAPTURE_FORMAT_x). */
struct fake_v4l2 *fake_v4l2_create(const char *path, unsigned format_mask);
void fake_v4l2_destroy(struct fake_v4l2 *f);
const struct capture_io *fake_v4l2_io(struct fake_v4l2 *f);

#define FAKE_V4L2_FORMAT(x) (1u << (x))

/* S_FMT grants this size whatever is asked (0 x 0: what is asked). */
void fake_v4l2_grant_size(struct fake_v4l2 *f, unsigned width, unsigned height);
/* Frame pacing: fps > 0 overrides what S_PARM asked for; 0 follows it. */
void fake_v4l2_pace(struct fake_v4l2 *f, unsigned fps);

/* The picture frames show from now on (copied); NULL: mid-grey. */
void fake_v4l2_show(struct fake_v4l2 *f, const uint8_t *grey, unsigned width, unsigned height);

void fake_v4l2_plug(struct fake_v4l2 *f, bool present);
void fake_v4l2_stall(struct fake_v4l2 *f, bool stalled);

enum fake_v4l2_fault {
	FAKE_V4L2_CORRUPT,   /* MJPEG: cut and garbled; GREY/YUYV: short */
	FAKE_V4L2_EMPTY,     /* bytesused 0 */
	FAKE_V4L2_OVERSIZE,  /* bytesused larger than the buffer */
	FAKE_V4L2_FLAGGED,   /* V4L2_BUF_FLAG_ERROR */
	FAKE_V4L2_DQBUF_EIO, /* the next VIDIOC_DQBUF fails with EIO */
	FAKE_V4L2_BIG_JPEG,  /* MJPEG whose header says another size */
};
/* The next frame (or dequeue) has this fault. */
void fake_v4l2_inject(struct fake_v4l2 *f, enum fake_v4l2_fault fault);

struct fake_v4l2_stats {
	unsigned opens;    /* successful opens */
	unsigned open_fds; /* descriptors open now */
	unsigned mapped;   /* buffers mapped now */
	unsigned streamons;
	uint64_t frames;       /* frames filled into buffers */
	uint64_t lost;         /* frames lost: no buffer queued */
	int64_t show_ready_us; /* when the first frame of the last show() became ready (0: not yet)
	                        */
	uint64_t looked; /* frames of the last show() the application went on to read (a dequeue
	                    found no newer one while it held it) */
};
void fake_v4l2_stats(struct fake_v4l2 *f, struct fake_v4l2_stats *out);

/* The frame bytes as the device would send them (malloc'd), for benches and seeds. */
uint8_t *fake_v4l2_encode(enum capture_format fmt, const uint8_t *grey, unsigned width,
                          unsigned height, size_t bytesperline, size_t *len);

#endif

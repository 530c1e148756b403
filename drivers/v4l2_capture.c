/* SPDX-License-Identifier: Apache-2.0 */
/*
 * v4l2_capture.c - V4L2 capture of our own (see v4l2_capture.h).
 *
 * Opening, in the order the V4L2 specification describes:
 *  1. open O_RDWR | O_NONBLOCK (a dequeue must never block: we poll);
 *  2. VIDIOC_QUERYCAP: a video capture device with streaming I/O (the
 *     device's own caps when the driver gives them, not the whole driver's);
 *  3. VIDIOC_ENUM_FMT, then VIDIOC_S_FMT with the chosen format and the
 *     configured size; the driver answers with what it granted (often a
 *     different size), which we take if it is within bounds and consistent;
 *  4. VIDIOC_S_PARM for the frame rate, when the driver can set it;
 *  5. VIDIOC_REQBUFS (mmap), VIDIOC_QUERYBUF + mmap of each buffer,
 *     VIDIOC_QBUF of all, VIDIOC_STREAMON.
 *
 * Frames.  capture_next polls, dequeues every buffer that is ready and keeps
 * the newest (the older ones go straight back: a slow decoder sees the
 * present, not a queue of the past), converts it to luma, calls back, and
 * queues it again before returning.  A buffer is never held across calls.
 *
 * The frame bytes are the camera's, not ours: a buffer whose bytesused is 0,
 * larger than the buffer, or smaller than the format needs is dropped with
 * a reason; MJPEG goes through libjpeg with an error manager that longjmps
 * back (libjpeg's default calls exit()), its warnings (corrupt data) count
 * as errors, a frame whose header announces another size or a progressive
 * scan is refused before any pixel is decoded, and libjpeg's memory is
 * capped.  Webcams' MJPEG often omits the Huffman tables (DHT): libjpeg-turbo
 * then uses the standard ones, as the MJPEG convention says.
 */
#include "v4l2_capture.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <linux/videodev2.h>

#include "jpeg_guard.h"

#define BUFFERS_MAX     8  /* a driver may grant more than we ask: we map at most these */
#define ENUM_FMT_MAX    64 /* formats listed, at most */
#define IOCTL_EINTR_MAX 16 /* an ioctl interrupted this often in a row: give up */
#define JPEG_MEMORY_MAX (64L * 1024 * 1024)

struct mapped {
	void *start;
	size_t length;
};

struct capture {
	const struct capture_io *io;
	int fd;
	bool streaming;
	struct capture_info info;
	char device[CAPTURE_DEVICE_MAX];
	struct mapped buf[BUFFERS_MAX];
	unsigned n_buf;   /* mapped */
	uint8_t *scratch; /* width x height: YUYV and MJPEG luma */
};

/* ---- the real system calls ------------------------------------------------------------ */

static int sys_open(void *ctx, const char *path, int flags)
{
	(void)ctx;
	return open(path, flags);
}

static int sys_close(void *ctx, int fd)
{
	(void)ctx;
	return close(fd);
}

static int sys_ioctl(void *ctx, int fd, unsigned long request, void *arg)
{
	(void)ctx;
	return ioctl(fd, request, arg);
}

static void *sys_mmap(void *ctx, size_t length, int prot, int flags, int fd, off_t offset)
{
	(void)ctx;
	return mmap(NULL, length, prot, flags, fd, offset);
}

static int sys_munmap(void *ctx, void *addr, size_t length)
{
	(void)ctx;
	return munmap(addr, length);
}

static int sys_poll(void *ctx, struct pollfd *fds, nfds_t n, int timeout_ms)
{
	(void)ctx;
	return poll(fds, n, timeout_ms);
}

static const struct capture_io system_io = {
        .open = sys_open,
        .close = sys_close,
        .ioctl = sys_ioctl,
        .mmap = sys_mmap,
        .munmap = sys_munmap,
        .poll = sys_poll,
        .ctx = NULL,
};

const struct capture_io *capture_io_system(void)
{
	return &system_io;
}

const char *capture_format_name(enum capture_format fmt)
{
	switch (fmt) {
	case CAPTURE_FORMAT_AUTO:
		return "auto";
	case CAPTURE_FORMAT_GREY:
		return "grey";
	case CAPTURE_FORMAT_YUYV:
		return "yuyv";
	case CAPTURE_FORMAT_MJPEG:
		return "mjpeg";
	}
	return "?";
}

static uint32_t fourcc_of(enum capture_format fmt)
{
	switch (fmt) {
	case CAPTURE_FORMAT_GREY:
		return V4L2_PIX_FMT_GREY;
	case CAPTURE_FORMAT_YUYV:
		return V4L2_PIX_FMT_YUYV;
	case CAPTURE_FORMAT_MJPEG:
		return V4L2_PIX_FMT_MJPEG;
	case CAPTURE_FORMAT_AUTO:
		break;
	}
	return 0;
}

/* An ioctl, again when a signal interrupted it. */
static int xioctl(const struct capture *cap, unsigned long request, void *arg)
{
	int r = -1;
	for (int i = 0; i < IOCTL_EINTR_MAX; i++) {
		r = cap->io->ioctl(cap->io->ctx, cap->fd, request, arg);
		if (r != -1 || errno != EINTR)
			return r;
	}
	return r;
}

/* The error code for an errno from the device: gone, or something else. */
static enum qd_err device_err(int e)
{
	return e == ENODEV || e == ENOENT || e == ENXIO ? QD_ERR_NOT_FOUND : QD_ERR_IO;
}

/* ---- luma from frame bytes ------------------------------------------------------------ */

static enum qd_err mjpeg_luma(const struct capture_info *info, const uint8_t *data, size_t len,
                              uint8_t *out, struct qd_errmsg *why)
{
	struct jpeg_decompress_struct cinfo;
	struct jpeg_guard guard;
	memset(&cinfo, 0, sizeof(cinfo));
	cinfo.err = jpeg_guard_init(&guard);
	if (setjmp(guard.env) != 0) {
		qd_errmsg_set(why, "corrupt MJPEG frame: %s", guard.message);
		jpeg_destroy_decompress(&cinfo);
		return QD_ERR_FORMAT;
	}
	jpeg_create_decompress(&cinfo);
	cinfo.mem->max_memory_to_use = JPEG_MEMORY_MAX;
	jpeg_mem_src(&cinfo, data, (unsigned long)len);
	jpeg_read_header(&cinfo, TRUE);
	enum qd_err rc = QD_OK;
	if (cinfo.image_width != info->width || cinfo.image_height != info->height) {
		qd_errmsg_set(why, "MJPEG frame of %ux%u, the stream is %ux%u",
		              (unsigned)cinfo.image_width, (unsigned)cinfo.image_height,
		              info->width, info->height);
		rc = QD_ERR_FORMAT;
	} else if (cinfo.progressive_mode) {
		qd_errmsg_set(why, "progressive JPEG in an MJPEG stream");
		rc = QD_ERR_FORMAT;
	}
	if (rc != QD_OK) {
		jpeg_destroy_decompress(&cinfo);
		return rc;
	}
	cinfo.out_color_space = JCS_GRAYSCALE;
	cinfo.dct_method = JDCT_ISLOW;
	jpeg_start_decompress(&cinfo);
	if (cinfo.output_components != 1 || cinfo.output_width != info->width ||
	    cinfo.output_height != info->height) {
		qd_errmsg_set(why, "MJPEG frame decodes to an unexpected layout");
		jpeg_destroy_decompress(&cinfo);
		return QD_ERR_FORMAT;
	}
	jpeg_guard_read_rows(&cinfo, out, info->width);
	jpeg_finish_decompress(&cinfo);
	jpeg_destroy_decompress(&cinfo);
	return QD_OK;
}

/* Bytes a packed frame needs: every row but the last at its full stride. */
static size_t packed_need(const struct capture_info *info, size_t bytes_per_pixel)
{
	return info->bytesperline * (info->height - 1) + (size_t)info->width * bytes_per_pixel;
}

enum qd_err capture_luma(const struct capture_info *info, const uint8_t *data, size_t len,
                         uint8_t *scratch, const uint8_t **luma, size_t *stride,
                         struct qd_errmsg *why)
{
	if (info == NULL || luma == NULL || stride == NULL || (data == NULL && len > 0) ||
	    info->width < 1 || info->width > CAPTURE_DIM_MAX || info->height < 1 ||
	    info->height > CAPTURE_DIM_MAX) {
		qd_errmsg_set(why, "bad argument");
		return QD_ERR_ARG;
	}
	*luma = NULL;
	*stride = 0;
	if (len == 0) {
		qd_errmsg_set(why, "empty frame (bytesused 0)");
		return QD_ERR_FORMAT;
	}
	if (len > CAPTURE_FRAME_MAX) {
		qd_errmsg_set(why, "frame of %zu bytes (at most %u)", len, CAPTURE_FRAME_MAX);
		return QD_ERR_TOO_LARGE;
	}
	const unsigned w = info->width, h = info->height;
	switch (info->format) {
	case CAPTURE_FORMAT_GREY:
	case CAPTURE_FORMAT_YUYV: {
		size_t bpp = info->format == CAPTURE_FORMAT_GREY ? 1 : 2;
		if (info->bytesperline < (size_t)w * bpp ||
		    info->bytesperline > (size_t)CAPTURE_DIM_MAX * 4) {
			qd_errmsg_set(why, "bad row stride %zu for %u pixels", info->bytesperline,
			              w);
			return QD_ERR_ARG;
		}
		size_t need = packed_need(info, bpp);
		if (len < need) {
			qd_errmsg_set(why, "short %s frame: %zu bytes, %zu needed for %ux%u",
			              capture_format_name(info->format), len, need, w, h);
			return QD_ERR_FORMAT;
		}
		if (bpp == 1) {
			*luma = data;
			*stride = info->bytesperline;
			return QD_OK;
		}
		if (scratch == NULL)
			return QD_ERR_ARG;
		for (size_t y = 0; y < h; y++) {
			const uint8_t *in = data + y * info->bytesperline;
			uint8_t *o = scratch + y * w;
			for (size_t x = 0; x < w; x++)
				o[x] = in[2 * x]; /* Y0 U Y1 V: luma at every even byte */
		}
		*luma = scratch;
		*stride = w;
		return QD_OK;
	}
	case CAPTURE_FORMAT_MJPEG: {
		if (scratch == NULL)
			return QD_ERR_ARG;
		if (len < 4 || data[0] != 0xff || data[1] != 0xd8) {
			qd_errmsg_set(why, "MJPEG frame does not start with a JPEG marker");
			return QD_ERR_FORMAT;
		}
		enum qd_err rc = mjpeg_luma(info, data, len, scratch, why);
		if (rc != QD_OK)
			return rc;
		*luma = scratch;
		*stride = w;
		return QD_OK;
	}
	case CAPTURE_FORMAT_AUTO:
		break;
	}
	qd_errmsg_set(why, "no pixel format");
	return QD_ERR_ARG;
}

/* ---- opening -------------------------------------------------------------------------- */

static enum qd_err fail_errno(struct capture *cap, const char *what, struct qd_errmsg *why)
{
	int e = errno;
	qd_errmsg_set(why, "%s: %s: %s", cap->device, what, strerror(e));
	return device_err(e);
}

static enum qd_err check_caps(struct capture *cap, struct qd_errmsg *why)
{
	struct v4l2_capability vc;
	memset(&vc, 0, sizeof(vc));
	if (xioctl(cap, VIDIOC_QUERYCAP, &vc) != 0) {
		int e = errno;
		if (e == ENOTTY || e == EINVAL) {
			qd_errmsg_set(why, "%s: not a V4L2 device", cap->device);
			return QD_ERR_UNSUPPORTED;
		}
		errno = e;
		return fail_errno(cap, "VIDIOC_QUERYCAP", why);
	}
	uint32_t caps = (vc.capabilities & V4L2_CAP_DEVICE_CAPS) ? vc.device_caps : vc.capabilities;
	snprintf(cap->info.card, sizeof(cap->info.card), "%.*s", (int)sizeof(vc.card) - 1,
	         (const char *)vc.card);
	for (char *p = cap->info.card; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
			*p = '?';
	if (!(caps & V4L2_CAP_VIDEO_CAPTURE)) {
		qd_errmsg_set(why, "%s (%s): not a video capture device", cap->device,
		              cap->info.card);
		return QD_ERR_UNSUPPORTED;
	}
	if (!(caps & V4L2_CAP_STREAMING)) {
		qd_errmsg_set(why, "%s (%s): no streaming I/O", cap->device, cap->info.card);
		return QD_ERR_UNSUPPORTED;
	}
	return QD_OK;
}

/* The format to use: the configured one if offered, else GREY, YUYV, MJPEG in order. */
static enum qd_err choose_format(struct capture *cap, enum capture_format want,
                                 enum capture_format *out, struct qd_errmsg *why)
{
	bool offered[CAPTURE_FORMAT_MJPEG + 1] = {false};
	for (uint32_t i = 0; i < ENUM_FMT_MAX; i++) {
		struct v4l2_fmtdesc d;
		memset(&d, 0, sizeof(d));
		d.index = i;
		d.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
		if (xioctl(cap, VIDIOC_ENUM_FMT, &d) != 0) {
			if (errno == EINVAL)
				break; /* the end of the list */
			return fail_errno(cap, "VIDIOC_ENUM_FMT", why);
		}
		for (int f = CAPTURE_FORMAT_GREY; f <= CAPTURE_FORMAT_MJPEG; f++)
			if (d.pixelformat == fourcc_of((enum capture_format)f))
				offered[f] = true;
	}
	if (want != CAPTURE_FORMAT_AUTO) {
		if (offered[want]) {
			*out = want;
			return QD_OK;
		}
		qd_errmsg_set(why, "%s (%s): does not offer %s", cap->device, cap->info.card,
		              capture_format_name(want));
		return QD_ERR_UNSUPPORTED;
	}
	for (int f = CAPTURE_FORMAT_GREY; f <= CAPTURE_FORMAT_MJPEG; f++) {
		if (offered[f]) {
			*out = (enum capture_format)f;
			return QD_OK;
		}
	}
	qd_errmsg_set(why, "%s (%s): offers none of GREY, YUYV, MJPEG", cap->device,
	              cap->info.card);
	return QD_ERR_UNSUPPORTED;
}

static enum qd_err set_format(struct capture *cap, const struct capture_config *cfg,
                              enum capture_format fmt, struct qd_errmsg *why)
{
	struct v4l2_format f;
	memset(&f, 0, sizeof(f));
	f.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
	f.fmt.pix.width = cfg->width;
	f.fmt.pix.height = cfg->height;
	f.fmt.pix.pixelformat = fourcc_of(fmt);
	f.fmt.pix.field = V4L2_FIELD_NONE;
	if (xioctl(cap, VIDIOC_S_FMT, &f) != 0)
		return fail_errno(cap, "VIDIOC_S_FMT", why);
	const struct v4l2_pix_format *p = &f.fmt.pix;
	if (p->pixelformat != fourcc_of(fmt)) {
		qd_errmsg_set(why, "%s: asked for %s, the driver set another format", cap->device,
		              capture_format_name(fmt));
		return QD_ERR_UNSUPPORTED;
	}
	if (p->width < CAPTURE_DIM_MIN || p->width > CAPTURE_DIM_MAX ||
	    p->height < CAPTURE_DIM_MIN || p->height > CAPTURE_DIM_MAX) {
		qd_errmsg_set(why, "%s: the driver granted %ux%u (%u to %u a side)", cap->device,
		              (unsigned)p->width, (unsigned)p->height, CAPTURE_DIM_MIN,
		              CAPTURE_DIM_MAX);
		return QD_ERR_UNSUPPORTED;
	}
	if (p->field != V4L2_FIELD_NONE && p->field != V4L2_FIELD_ANY) {
		qd_errmsg_set(why, "%s: interlaced frames (field %u) are not supported",
		              cap->device, (unsigned)p->field);
		return QD_ERR_UNSUPPORTED;
	}
	cap->info.format = fmt;
	cap->info.width = p->width;
	cap->info.height = p->height;
	size_t bpp = fmt == CAPTURE_FORMAT_YUYV ? 2 : 1;
	size_t min_line = (size_t)p->width * bpp;
	cap->info.bytesperline = fmt == CAPTURE_FORMAT_MJPEG ? min_line : p->bytesperline;
	if (cap->info.bytesperline == 0)
		cap->info.bytesperline = min_line; /* "0: the driver did not say": packed */
	if (cap->info.bytesperline < min_line || cap->info.bytesperline > min_line + 4096) {
		qd_errmsg_set(why, "%s: the driver gave a row stride of %zu for %u pixels",
		              cap->device, cap->info.bytesperline, (unsigned)p->width);
		return QD_ERR_UNSUPPORTED;
	}
	return QD_OK;
}

/* The frame rate, where the driver lets us set it; what it granted, either way. */
static void set_rate(struct capture *cap, unsigned fps)
{
	struct v4l2_streamparm parm;
	memset(&parm, 0, sizeof(parm));
	parm.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
	if (xioctl(cap, VIDIOC_G_PARM, &parm) != 0 ||
	    !(parm.parm.capture.capability & V4L2_CAP_TIMEPERFRAME))
		return; /* fixed rate: fps_num/fps_den stay 0 */
	parm.parm.capture.timeperframe.numerator = 1;
	parm.parm.capture.timeperframe.denominator = fps;
	if (xioctl(cap, VIDIOC_S_PARM, &parm) != 0)
		return;
	const struct v4l2_fract *t = &parm.parm.capture.timeperframe;
	if (t->numerator > 0 && t->denominator > 0) {
		cap->info.fps_num = t->denominator; /* frames per second = 1 / time per frame */
		cap->info.fps_den = t->numerator;
	}
}

/* A buffer description for QUERYBUF, QBUF and DQBUF: capture, mmap, index. */
static struct v4l2_buffer mmap_buffer(unsigned index)
{
	struct v4l2_buffer b;
	memset(&b, 0, sizeof(b));
	b.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
	b.memory = V4L2_MEMORY_MMAP;
	b.index = index;
	return b;
}

static enum qd_err map_buffers(struct capture *cap, struct qd_errmsg *why)
{
	struct v4l2_requestbuffers req;
	memset(&req, 0, sizeof(req));
	req.count = CAPTURE_BUFFERS;
	req.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
	req.memory = V4L2_MEMORY_MMAP;
	if (xioctl(cap, VIDIOC_REQBUFS, &req) != 0) {
		if (errno == EINVAL) {
			qd_errmsg_set(why, "%s: no mmap streaming", cap->device);
			return QD_ERR_UNSUPPORTED;
		}
		return fail_errno(cap, "VIDIOC_REQBUFS", why);
	}
	if (req.count < 1) {
		qd_errmsg_set(why, "%s: the driver granted no buffers", cap->device);
		return QD_ERR_IO;
	}
	unsigned n = req.count < BUFFERS_MAX ? req.count : BUFFERS_MAX;
	size_t need = cap->info.format == CAPTURE_FORMAT_MJPEG
	                      ? 1
	                      : cap->info.bytesperline * cap->info.height;
	for (unsigned i = 0; i < n; i++) {
		struct v4l2_buffer b = mmap_buffer(i);
		if (xioctl(cap, VIDIOC_QUERYBUF, &b) != 0)
			return fail_errno(cap, "VIDIOC_QUERYBUF", why);
		if (b.length < need || b.length > CAPTURE_FRAME_MAX) {
			qd_errmsg_set(why, "%s: buffer %u of %u bytes (%zu to %u needed)",
			              cap->device, i, (unsigned)b.length, need, CAPTURE_FRAME_MAX);
			return QD_ERR_IO;
		}
		void *p = cap->io->mmap(cap->io->ctx, b.length, PROT_READ | PROT_WRITE, MAP_SHARED,
		                        cap->fd, (off_t)b.m.offset);
		if (p == MAP_FAILED)
			return fail_errno(cap, "mmap", why);
		cap->buf[i].start = p;
		cap->buf[i].length = b.length;
		cap->n_buf = i + 1;
	}
	cap->info.buffers = n;
	return QD_OK;
}

static enum qd_err queue_buffer(struct capture *cap, unsigned index, struct qd_errmsg *why)
{
	struct v4l2_buffer b = mmap_buffer(index);
	if (xioctl(cap, VIDIOC_QBUF, &b) != 0)
		return fail_errno(cap, "VIDIOC_QBUF", why);
	return QD_OK;
}

static enum qd_err start_streaming(struct capture *cap, struct qd_errmsg *why)
{
	for (unsigned i = 0; i < cap->n_buf; i++) {
		enum qd_err rc = queue_buffer(cap, i, why);
		if (rc != QD_OK)
			return rc;
	}
	int type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
	if (xioctl(cap, VIDIOC_STREAMON, &type) != 0)
		return fail_errno(cap, "VIDIOC_STREAMON", why);
	cap->streaming = true;
	return QD_OK;
}

enum qd_err capture_open(const struct capture_config *cfg, const struct capture_io *io,
                         struct capture **out, struct qd_errmsg *why)
{
	if (out == NULL)
		return QD_ERR_ARG;
	*out = NULL;
	if (cfg == NULL || memchr(cfg->device, '\0', sizeof(cfg->device)) == NULL ||
	    cfg->device[0] == '\0' || cfg->width < CAPTURE_DIM_MIN ||
	    cfg->width > CAPTURE_DIM_MAX || cfg->height < CAPTURE_DIM_MIN ||
	    cfg->height > CAPTURE_DIM_MAX || cfg->fps < CAPTURE_FPS_MIN ||
	    cfg->fps > CAPTURE_FPS_MAX || cfg->format > CAPTURE_FORMAT_MJPEG) {
		qd_errmsg_set(why, "bad camera settings");
		return QD_ERR_ARG;
	}
	struct capture *cap = calloc(1, sizeof(*cap));
	if (cap == NULL)
		return QD_ERR_NOMEM;
	cap->io = io != NULL ? io : &system_io;
	snprintf(cap->device, sizeof(cap->device), "%s", cfg->device);
	cap->fd = cap->io->open(cap->io->ctx, cfg->device, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (cap->fd < 0) {
		enum qd_err rc = fail_errno(cap, "cannot open", why);
		free(cap);
		return rc;
	}
	enum capture_format fmt = CAPTURE_FORMAT_AUTO;
	enum qd_err rc = check_caps(cap, why);
	if (rc == QD_OK)
		rc = choose_format(cap, cfg->format, &fmt, why);
	if (rc == QD_OK)
		rc = set_format(cap, cfg, fmt, why);
	if (rc == QD_OK) {
		set_rate(cap, cfg->fps);
		rc = map_buffers(cap, why);
	}
	if (rc == QD_OK) {
		cap->scratch = malloc((size_t)cap->info.width * cap->info.height);
		if (cap->scratch == NULL)
			rc = QD_ERR_NOMEM;
	}
	if (rc == QD_OK)
		rc = start_streaming(cap, why);
	if (rc != QD_OK) {
		capture_close(cap);
		return rc;
	}
	*out = cap;
	return QD_OK;
}

const struct capture_info *capture_get_info(const struct capture *cap)
{
	return cap != NULL ? &cap->info : NULL;
}

/* ---- frames --------------------------------------------------------------------------- */

static int64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/*
 * Dequeue one buffer.  1: got one in *b; 0: none ready; -1: error (rc, why).
 * A buffer index the driver should never give is an error, not a crash.
 */
static int dequeue(struct capture *cap, struct v4l2_buffer *b, enum qd_err *rc,
                   struct qd_errmsg *why)
{
	*b = mmap_buffer(0);
	if (xioctl(cap, VIDIOC_DQBUF, b) != 0) {
		if (errno == EAGAIN)
			return 0;
		*rc = fail_errno(cap, "VIDIOC_DQBUF", why);
		return -1;
	}
	if (b->index >= cap->n_buf) {
		qd_errmsg_set(why, "%s: VIDIOC_DQBUF gave buffer %u of %u", cap->device,
		              (unsigned)b->index, cap->n_buf);
		*rc = QD_ERR_IO;
		return -1;
	}
	return 1;
}

/* Why a dequeued buffer cannot be read (NULL: it can). */
static const char *unusable(const struct capture *cap, const struct v4l2_buffer *b, char *tmp,
                            size_t tmpsz)
{
	if (b->flags & V4L2_BUF_FLAG_ERROR)
		return "frame flagged as corrupt by the driver";
	if (b->bytesused == 0)
		return "empty frame (bytesused 0)";
	if (b->bytesused > cap->buf[b->index].length) {
		snprintf(tmp, tmpsz, "frame of %u bytes in a buffer of %zu", (unsigned)b->bytesused,
		         cap->buf[b->index].length);
		return tmp;
	}
	return NULL;
}

enum qd_err capture_next(struct capture *cap, int timeout_ms, capture_frame_cb cb, void *arg,
                         enum capture_result *result, unsigned *skipped, struct qd_errmsg *why)
{
	if (skipped != NULL)
		*skipped = 0;
	if (cap == NULL || result == NULL || !cap->streaming)
		return QD_ERR_ARG;
	*result = CAPTURE_TIMEOUT;
	struct pollfd pfd = {.fd = cap->fd, .events = POLLIN};
	int n = cap->io->poll(cap->io->ctx, &pfd, 1, timeout_ms);
	if (n < 0) {
		if (errno == EINTR)
			return QD_OK; /* the caller loops and checks its deadlines */
		return fail_errno(cap, "poll", why);
	}
	if (n == 0)
		return QD_OK;
	if (pfd.revents & POLLNVAL) {
		qd_errmsg_set(why, "%s: poll: descriptor not open", cap->device);
		return QD_ERR_IO;
	}
	/* POLLERR/POLLHUP: the dequeue says why (ENODEV when unplugged). */
	struct v4l2_buffer newest, b;
	bool have = false;
	enum qd_err rc = QD_OK;
	for (unsigned i = 0; i <= cap->n_buf; i++) {
		int got = dequeue(cap, &b, &rc, why);
		if (got < 0) {
			if (have)
				(void)queue_buffer(cap, newest.index, NULL);
			return rc;
		}
		if (got == 0)
			break;
		if (have) {
			rc = queue_buffer(cap, newest.index, why);
			if (rc != QD_OK) {
				(void)queue_buffer(cap, b.index, NULL);
				return rc;
			}
			if (skipped != NULL)
				(*skipped)++;
		}
		newest = b;
		have = true;
	}
	if (!have) {
		if (pfd.revents & (POLLERR | POLLHUP)) {
			qd_errmsg_set(why, "%s: the device reports an error", cap->device);
			return QD_ERR_IO;
		}
		return QD_OK; /* woken, but nothing to take: a timeout for the caller */
	}
	char tmp[96];
	const char *bad = unusable(cap, &newest, tmp, sizeof(tmp));
	if (bad != NULL) {
		qd_errmsg_set(why, "%s", bad);
		*result = CAPTURE_DROPPED;
	} else {
		const uint8_t *luma = NULL;
		size_t stride = 0;
		rc = capture_luma(&cap->info, cap->buf[newest.index].start, newest.bytesused,
		                  cap->scratch, &luma, &stride, why);
		if (rc == QD_OK) {
			struct capture_frame fr = {
			        .luma = luma,
			        .width = cap->info.width,
			        .height = cap->info.height,
			        .stride = stride,
			        .sequence = newest.sequence,
			        .t_us = now_us(),
			};
			*result = CAPTURE_FRAME;
			if (cb != NULL)
				cb(arg, &fr);
		} else {
			*result = CAPTURE_DROPPED;
		}
	}
	struct qd_errmsg qwhy = {{0}};
	rc = queue_buffer(cap, newest.index, &qwhy);
	if (rc != QD_OK) {
		if (why != NULL)
			*why = qwhy;
		return rc;
	}
	return QD_OK;
}

void capture_close(struct capture *cap)
{
	if (cap == NULL)
		return;
	if (cap->streaming) {
		int type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
		(void)xioctl(cap, VIDIOC_STREAMOFF, &type); /* fails when unplugged: fine */
	}
	for (unsigned i = 0; i < cap->n_buf; i++)
		(void)cap->io->munmap(cap->io->ctx, cap->buf[i].start, cap->buf[i].length);
	if (cap->n_buf > 0) {
		/* Free the driver's buffers too (REQBUFS 0), so a re-open can allocate again. */
		struct v4l2_requestbuffers req;
		memset(&req, 0, sizeof(req));
		req.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
		req.memory = V4L2_MEMORY_MMAP;
		(void)xioctl(cap, VIDIOC_REQBUFS, &req);
	}
	if (cap->fd >= 0)
		(void)cap->io->close(cap->io->ctx, cap->fd);
	free(cap->scratch);
	free(cap);
}

/* SPDX-License-Identifier: Apache-2.0 */
/* fake_v4l2.c - a fake V4L2 camera behind struct capture_io (see fake_v4l2.h). */
#include "fake_v4l2.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include <jpeglib.h>
#include <linux/videodev2.h>

#define FILES_MAX   4
#define FD_BASE     1000
#define BUFS_MAX    8
#define OFFSET_STEP 0x1000000 /* mmap offset of buffer i: i * OFFSET_STEP */
#define GREY_PAD    32        /* GREY rows are padded: the capture must honour the stride */
#define FAULTS_MAX  16
#define CATCH_UP    64 /* frames filled or lost per advance, at most */

struct file {
	bool used;
	unsigned gen; /* the plug generation it was opened in */
	bool streaming;
};

struct buf {
	uint8_t *mem;
	size_t length;
	bool queued, done, mapped;
	uint32_t bytesused, flags, sequence;
	unsigned show; /* the show() its frame is of */
};

struct fake_v4l2 {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct capture_io io;
	char path[256];
	unsigned formats;
	unsigned grant_w, grant_h, pace_fps;
	bool present, stalled;
	unsigned gen;
	struct file files[FILES_MAX];
	int owner; /* the file that owns the buffers, -1: none */
	/* negotiated */
	enum capture_format fmt;
	unsigned w, h, fps;
	size_t bpl;
	struct buf bufs[BUFS_MAX];
	unsigned n_bufs;
	unsigned done_order[BUFS_MAX]; /* filled buffers, oldest first */
	unsigned n_done;
	int64_t t0_us;
	uint64_t next_frame; /* index of the next frame to become ready */
	/* the scene */
	uint8_t *scene;
	unsigned scene_w, scene_h;
	bool scene_new;
	unsigned show;    /* show() calls so far */
	uint8_t *encoded; /* the scene in the negotiated format and size */
	size_t encoded_len;
	uint8_t *big; /* MJPEG: a frame of twice the size, for FAKE_V4L2_BIG_JPEG */
	size_t big_len;
	enum fake_v4l2_fault faults[FAULTS_MAX];
	unsigned n_faults;
	struct fake_v4l2_stats stats;
};

static int64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* ---- frame bytes ------------------------------------------------------------------------ */

static uint8_t *jpeg_encode(const uint8_t *grey, unsigned w, unsigned h, unsigned jw, unsigned jh,
                            size_t *len)
{
	struct jpeg_compress_struct c;
	struct jpeg_error_mgr err;
	unsigned char *out = NULL;
	unsigned long size = 0;
	c.err = jpeg_std_error(&err);
	jpeg_create_compress(&c);
	jpeg_mem_dest(&c, &out, &size);
	c.image_width = jw;
	c.image_height = jh;
	c.input_components = 3;
	c.in_color_space = JCS_RGB;
	jpeg_set_defaults(&c);
	jpeg_set_quality(&c, 85, TRUE);
	/* YCbCr 4:2:2, as UVC webcams send MJPEG. */
	c.comp_info[0].h_samp_factor = 2;
	c.comp_info[0].v_samp_factor = 1;
	jpeg_start_compress(&c, TRUE);
	uint8_t *row = malloc((size_t)jw * 3);
	while (c.next_scanline < c.image_height) {
		unsigned y = c.next_scanline;
		for (unsigned x = 0; x < jw; x++) {
			uint8_t v = x < w && y < h ? grey[(size_t)y * w + x] : 128;
			row[3 * x] = row[3 * x + 1] = row[3 * x + 2] = v;
		}
		JSAMPROW r = row;
		jpeg_write_scanlines(&c, &r, 1);
	}
	free(row);
	jpeg_finish_compress(&c);
	jpeg_destroy_compress(&c);
	*len = size;
	return out;
}

uint8_t *fake_v4l2_encode(enum capture_format fmt, const uint8_t *grey, unsigned width,
                          unsigned height, size_t bytesperline, size_t *len)
{
	if (fmt == CAPTURE_FORMAT_MJPEG)
		return jpeg_encode(grey, width, height, width, height, len);
	size_t bpp = fmt == CAPTURE_FORMAT_YUYV ? 2 : 1;
	*len = bytesperline * height;
	uint8_t *out = malloc(*len);
	if (out == NULL)
		return NULL;
	memset(out, 0x5a, *len); /* padding: never luma */
	for (size_t y = 0; y < height; y++)
		for (size_t x = 0; x < width; x++) {
			uint8_t v = grey[y * width + x];
			if (bpp == 1) {
				out[y * bytesperline + x] = v;
			} else {
				out[y * bytesperline + 2 * x] = v;
				out[y * bytesperline + 2 * x + 1] = (uint8_t)(x % 2 ? 120 : 136);
			}
		}
	return out;
}

/* The scene, cropped or padded (centred) to the negotiated size, encoded. */
static void encode_scene(struct fake_v4l2 *f)
{
	free(f->encoded);
	f->encoded = NULL;
	uint8_t *canvas = malloc((size_t)f->w * f->h);
	if (canvas == NULL)
		return;
	memset(canvas, 128, (size_t)f->w * f->h);
	if (f->scene != NULL) {
		long ox = ((long)f->w - (long)f->scene_w) / 2,
		     oy = ((long)f->h - (long)f->scene_h) / 2;
		for (long y = 0; y < (long)f->h; y++) {
			long sy = y - oy;
			if (sy < 0 || sy >= (long)f->scene_h)
				continue;
			for (long x = 0; x < (long)f->w; x++) {
				long sx = x - ox;
				if (sx >= 0 && sx < (long)f->scene_w)
					canvas[y * (long)f->w + x] =
					        f->scene[sy * (long)f->scene_w + sx];
			}
		}
	}
	f->encoded = fake_v4l2_encode(f->fmt, canvas, f->w, f->h, f->bpl, &f->encoded_len);
	free(canvas);
	free(f->big);
	f->big = NULL;
	f->big_len = 0;
	if (f->fmt == CAPTURE_FORMAT_MJPEG)
		f->big = jpeg_encode(NULL, 0, 0, f->w * 2, f->h * 2, &f->big_len); /* all grey */
	f->scene_new = false;
}

static bool take_fault(struct fake_v4l2 *f, enum fake_v4l2_fault want)
{
	for (unsigned i = 0; i < f->n_faults; i++) {
		if (f->faults[i] == want) {
			memmove(&f->faults[i], &f->faults[i + 1],
			        (f->n_faults - i - 1) * sizeof(f->faults[0]));
			f->n_faults--;
			return true;
		}
	}
	return false;
}

/* The next frame-level fault, if any (DQBUF_EIO is not one). */
static int next_frame_fault(struct fake_v4l2 *f)
{
	for (unsigned i = 0; i < f->n_faults; i++) {
		if (f->faults[i] != FAKE_V4L2_DQBUF_EIO) {
			int fault = (int)f->faults[i];
			take_fault(f, f->faults[i]);
			return fault;
		}
	}
	return -1;
}

static void fill(struct fake_v4l2 *f, struct buf *b, uint64_t seq)
{
	if (f->scene_new || f->encoded == NULL)
		encode_scene(f);
	b->flags = 0;
	b->sequence = (uint32_t)seq;
	b->show = f->show;
	size_t n = f->encoded_len < b->length ? f->encoded_len : b->length;
	memcpy(b->mem, f->encoded, n);
	b->bytesused = (uint32_t)n;
	switch (next_frame_fault(f)) {
	case FAKE_V4L2_CORRUPT:
		if (f->fmt == CAPTURE_FORMAT_MJPEG) {
			/* Cut after 40%, and garble a stretch of entropy-coded data before. */
			b->bytesused = (uint32_t)(n * 4 / 10);
			for (size_t i = n * 3 / 10; i < n * 4 / 10; i += 3)
				b->mem[i] ^= 0x5a;
		} else {
			b->bytesused = (uint32_t)(n / 2);
		}
		break;
	case FAKE_V4L2_EMPTY:
		b->bytesused = 0;
		break;
	case FAKE_V4L2_OVERSIZE:
		b->bytesused = (uint32_t)b->length + 100;
		break;
	case FAKE_V4L2_FLAGGED:
		b->flags |= V4L2_BUF_FLAG_ERROR;
		break;
	case FAKE_V4L2_BIG_JPEG:
		if (f->big != NULL && f->big_len <= b->length) {
			memcpy(b->mem, f->big, f->big_len);
			b->bytesused = (uint32_t)f->big_len;
		}
		break;
	default:
		break;
	}
}

/* Frames that became ready since the last call: into queued buffers, or lost. */
static void advance(struct fake_v4l2 *f)
{
	struct file *owner = f->owner >= 0 ? &f->files[f->owner] : NULL;
	if (owner == NULL || !owner->streaming || owner->gen != f->gen || !f->present || f->stalled)
		return;
	int64_t period = 1000000 / (f->pace_fps > 0 ? f->pace_fps : f->fps > 0 ? f->fps : 30);
	int64_t now = now_us();
	uint64_t due = (uint64_t)((now - f->t0_us) / period) + 1; /* frames ready by now */
	if (due > f->next_frame + CATCH_UP)
		f->next_frame = due - CATCH_UP;
	for (; f->next_frame < due; f->next_frame++) {
		int free_buf = -1;
		for (unsigned i = 0; i < f->n_bufs; i++) {
			if (f->bufs[i].queued) {
				free_buf = (int)i;
				break;
			}
		}
		bool first_of_show = f->stats.show_ready_us == 0;
		if (free_buf < 0) {
			f->stats.lost++;
			continue;
		}
		struct buf *b = &f->bufs[free_buf];
		fill(f, b, f->next_frame);
		if (first_of_show)
			f->stats.show_ready_us = f->t0_us + (int64_t)f->next_frame * period;
		b->queued = false;
		b->done = true;
		f->done_order[f->n_done++] = (unsigned)free_buf;
		f->stats.frames++;
	}
}

/* Microseconds until the next frame is due (or -1: none will come). */
static int64_t until_next(struct fake_v4l2 *f)
{
	struct file *owner = f->owner >= 0 ? &f->files[f->owner] : NULL;
	if (owner == NULL || !owner->streaming || f->stalled || !f->present)
		return -1;
	int64_t period = 1000000 / (f->pace_fps > 0 ? f->pace_fps : f->fps > 0 ? f->fps : 30);
	int64_t t = f->t0_us + (int64_t)f->next_frame * period - now_us();
	return t < 0 ? 0 : t;
}

/* A dequeue found no more frames while the application holds one dequeued: that one is
 * the newest it has, which it reads now (v4l2_capture.c gives older ones straight back). */
static void count_looked(struct fake_v4l2 *f)
{
	for (unsigned i = 0; i < f->n_bufs; i++) {
		const struct buf *b = &f->bufs[i];
		if (b->mapped && !b->queued && !b->done && b->show == f->show)
			f->stats.looked++;
	}
}

/* ---- the io ----------------------------------------------------------------------------- */

static struct file *file_of(struct fake_v4l2 *f, int fd)
{
	int i = fd - FD_BASE;
	if (i < 0 || i >= FILES_MAX || !f->files[i].used)
		return NULL;
	return &f->files[i];
}

static void free_bufs(struct fake_v4l2 *f)
{
	for (unsigned i = 0; i < f->n_bufs; i++) {
		if (f->bufs[i].mapped)
			continue; /* freed at its munmap, as the kernel keeps mapped memory */
		free(f->bufs[i].mem);
		f->bufs[i].mem = NULL;
	}
	bool any_mapped = false;
	for (unsigned i = 0; i < f->n_bufs; i++)
		any_mapped |= f->bufs[i].mapped;
	if (!any_mapped)
		f->n_bufs = 0;
	f->n_done = 0;
	f->owner = -1;
}

static int fk_open(void *ctx, const char *path, int flags)
{
	struct fake_v4l2 *f = ctx;
	(void)flags;
	pthread_mutex_lock(&f->lock);
	int fd = -1;
	if (strcmp(path, f->path) != 0 || !f->present) {
		errno = ENOENT;
	} else {
		for (int i = 0; i < FILES_MAX; i++) {
			if (!f->files[i].used) {
				f->files[i] = (struct file){.used = true, .gen = f->gen};
				fd = FD_BASE + i;
				f->stats.opens++;
				f->stats.open_fds++;
				break;
			}
		}
		if (fd < 0)
			errno = EBUSY;
	}
	pthread_mutex_unlock(&f->lock);
	return fd;
}

static int fk_close(void *ctx, int fd)
{
	struct fake_v4l2 *f = ctx;
	pthread_mutex_lock(&f->lock);
	struct file *file = file_of(f, fd);
	int r = 0;
	if (file == NULL) {
		errno = EBADF;
		r = -1;
	} else {
		if (f->owner == fd - FD_BASE)
			free_bufs(f);
		file->used = false;
		f->stats.open_fds--;
	}
	pthread_mutex_unlock(&f->lock);
	return r;
}

static int do_ioctl(struct fake_v4l2 *f, int fd, unsigned long req, void *arg)
{
	struct file *file = file_of(f, fd);
	if (file == NULL) {
		errno = EBADF;
		return -1;
	}
	if (file->gen != f->gen) {
		errno = ENODEV;
		return -1;
	}
	int idx = fd - FD_BASE;
	switch (req) {
	case VIDIOC_QUERYCAP: {
		struct v4l2_capability *c = arg;
		memset(c, 0, sizeof(*c));
		snprintf((char *)c->driver, sizeof(c->driver), "fake_v4l2");
		snprintf((char *)c->card, sizeof(c->card), "Fake Desk Camera");
		c->device_caps = V4L2_CAP_VIDEO_CAPTURE | V4L2_CAP_STREAMING;
		c->capabilities = c->device_caps | V4L2_CAP_DEVICE_CAPS;
		return 0;
	}
	case VIDIOC_ENUM_FMT: {
		struct v4l2_fmtdesc *d = arg;
		static const uint32_t order[] = {
		        V4L2_PIX_FMT_MJPEG, V4L2_PIX_FMT_YUYV,
		        V4L2_PIX_FMT_GREY}; /* a webcam lists MJPEG first */
		static const enum capture_format fmts[] = {
		        CAPTURE_FORMAT_MJPEG, CAPTURE_FORMAT_YUYV, CAPTURE_FORMAT_GREY};
		uint32_t n = 0;
		for (size_t i = 0; i < 3; i++) {
			if (!(f->formats & FAKE_V4L2_FORMAT(fmts[i])))
				continue;
			if (n++ == d->index) {
				d->pixelformat = order[i];
				return 0;
			}
		}
		errno = EINVAL;
		return -1;
	}
	case VIDIOC_S_FMT: {
		struct v4l2_format *vf = arg;
		if (f->owner >= 0 && f->n_bufs > 0) {
			errno = EBUSY;
			return -1;
		}
		struct v4l2_pix_format *p = &vf->fmt.pix;
		enum capture_format fmt =
		        p->pixelformat == V4L2_PIX_FMT_GREY    ? CAPTURE_FORMAT_GREY
		        : p->pixelformat == V4L2_PIX_FMT_YUYV  ? CAPTURE_FORMAT_YUYV
		        : p->pixelformat == V4L2_PIX_FMT_MJPEG ? CAPTURE_FORMAT_MJPEG
		                                               : CAPTURE_FORMAT_AUTO;
		if (fmt == CAPTURE_FORMAT_AUTO || !(f->formats & FAKE_V4L2_FORMAT(fmt))) {
			/* A driver answers with a format it has. */
			fmt = f->formats & FAKE_V4L2_FORMAT(CAPTURE_FORMAT_MJPEG)
			              ? CAPTURE_FORMAT_MJPEG
			      : f->formats & FAKE_V4L2_FORMAT(CAPTURE_FORMAT_YUYV)
			              ? CAPTURE_FORMAT_YUYV
			              : CAPTURE_FORMAT_GREY;
		}
		f->fmt = fmt;
		f->w = f->grant_w > 0 ? f->grant_w : p->width;
		f->h = f->grant_h > 0 ? f->grant_h : p->height;
		f->bpl = fmt == CAPTURE_FORMAT_GREY   ? f->w + GREY_PAD
		         : fmt == CAPTURE_FORMAT_YUYV ? (size_t)f->w * 2
		                                      : 0;
		p->width = f->w;
		p->height = f->h;
		p->pixelformat = fmt == CAPTURE_FORMAT_GREY   ? V4L2_PIX_FMT_GREY
		                 : fmt == CAPTURE_FORMAT_YUYV ? V4L2_PIX_FMT_YUYV
		                                              : V4L2_PIX_FMT_MJPEG;
		p->field = V4L2_FIELD_NONE;
		p->bytesperline = (uint32_t)f->bpl;
		p->sizeimage =
		        fmt == CAPTURE_FORMAT_MJPEG ? f->w * f->h : (uint32_t)(f->bpl * f->h);
		f->scene_new = true;
		return 0;
	}
	case VIDIOC_G_PARM:
	case VIDIOC_S_PARM: {
		struct v4l2_streamparm *sp = arg;
		if (req == VIDIOC_S_PARM && sp->parm.capture.timeperframe.numerator > 0)
			f->fps = sp->parm.capture.timeperframe.denominator /
			         sp->parm.capture.timeperframe.numerator;
		if (f->fps == 0)
			f->fps = 30;
		memset(&sp->parm, 0, sizeof(sp->parm));
		sp->parm.capture.capability = V4L2_CAP_TIMEPERFRAME;
		sp->parm.capture.timeperframe.numerator = 1;
		sp->parm.capture.timeperframe.denominator = f->pace_fps > 0 ? f->pace_fps : f->fps;
		return 0;
	}
	case VIDIOC_REQBUFS: {
		struct v4l2_requestbuffers *rb = arg;
		if (rb->memory != V4L2_MEMORY_MMAP) {
			errno = EINVAL;
			return -1;
		}
		if (f->owner >= 0 && f->owner != idx) {
			errno = EBUSY;
			return -1;
		}
		if (file->streaming) {
			errno = EBUSY;
			return -1;
		}
		free_bufs(f);
		if (rb->count == 0)
			return 0;
		if (f->n_bufs > 0) { /* still mapped from before */
			errno = EBUSY;
			return -1;
		}
		unsigned n = rb->count > BUFS_MAX ? BUFS_MAX : rb->count;
		size_t length =
		        f->fmt == CAPTURE_FORMAT_MJPEG ? (size_t)f->w * f->h : f->bpl * f->h;
		for (unsigned i = 0; i < n; i++) {
			f->bufs[i] = (struct buf){.mem = calloc(1, length), .length = length};
			if (f->bufs[i].mem == NULL) {
				errno = ENOMEM;
				return -1;
			}
		}
		f->n_bufs = n;
		f->owner = idx;
		rb->count = n;
		return 0;
	}
	case VIDIOC_QUERYBUF:
	case VIDIOC_QBUF: {
		struct v4l2_buffer *b = arg;
		if (f->owner != idx || b->index >= f->n_bufs ||
		    b->type != V4L2_BUF_TYPE_VIDEO_CAPTURE) {
			errno = EINVAL;
			return -1;
		}
		struct buf *fb = &f->bufs[b->index];
		if (req == VIDIOC_QUERYBUF) {
			b->length = (uint32_t)fb->length;
			b->m.offset = b->index * OFFSET_STEP;
			return 0;
		}
		if (fb->queued || fb->done) {
			errno = EINVAL; /* queued twice: a bug in the application */
			return -1;
		}
		fb->queued = true;
		return 0;
	}
	case VIDIOC_DQBUF: {
		struct v4l2_buffer *b = arg;
		if (f->owner != idx || !file->streaming) {
			errno = EINVAL;
			return -1;
		}
		if (take_fault(f, FAKE_V4L2_DQBUF_EIO)) {
			errno = EIO;
			return -1;
		}
		advance(f);
		if (f->n_done == 0) {
			count_looked(f);
			errno = EAGAIN;
			return -1;
		}
		unsigned i = f->done_order[0];
		memmove(&f->done_order[0], &f->done_order[1], (f->n_done - 1) * sizeof(unsigned));
		f->n_done--;
		struct buf *fb = &f->bufs[i];
		fb->done = false;
		b->index = i;
		b->bytesused = fb->bytesused;
		b->flags = fb->flags | V4L2_BUF_FLAG_TIMESTAMP_MONOTONIC;
		b->sequence = fb->sequence;
		b->length = (uint32_t)fb->length;
		b->field = V4L2_FIELD_NONE;
		return 0;
	}
	case VIDIOC_STREAMON:
		if (f->owner != idx || f->n_bufs == 0) {
			errno = EINVAL;
			return -1;
		}
		if (!file->streaming) {
			/* Encoded now, not in a frame's time: a slow encode (a loaded machine)
			 * would make the first frame old before it is read, and a fault in it
			 * skipped. */
			if (f->scene_new || f->encoded == NULL)
				encode_scene(f);
			file->streaming = true;
			f->t0_us = now_us();
			f->next_frame = 0;
			f->stats.streamons++;
		}
		return 0;
	case VIDIOC_STREAMOFF:
		if (f->owner == idx) {
			file->streaming = false;
			f->n_done = 0;
			for (unsigned i = 0; i < f->n_bufs; i++)
				f->bufs[i].queued = f->bufs[i].done = false;
		}
		return 0;
	default:
		errno = ENOTTY;
		return -1;
	}
}

static int fk_ioctl(void *ctx, int fd, unsigned long req, void *arg)
{
	struct fake_v4l2 *f = ctx;
	pthread_mutex_lock(&f->lock);
	int r = do_ioctl(f, fd, req, arg);
	int e = errno;
	pthread_mutex_unlock(&f->lock);
	errno = e;
	return r;
}

static void *fk_mmap(void *ctx, size_t length, int prot, int flags, int fd, off_t offset)
{
	struct fake_v4l2 *f = ctx;
	(void)prot;
	(void)flags;
	void *p = MAP_FAILED;
	pthread_mutex_lock(&f->lock);
	struct file *file = file_of(f, fd);
	size_t i = (size_t)offset / OFFSET_STEP;
	if (file == NULL || file->gen != f->gen) {
		errno = file == NULL ? EBADF : ENODEV;
	} else if (f->owner != fd - FD_BASE || offset % OFFSET_STEP != 0 || i >= f->n_bufs ||
	           length != f->bufs[i].length || f->bufs[i].mapped) {
		errno = EINVAL;
	} else {
		f->bufs[i].mapped = true;
		f->stats.mapped++;
		p = f->bufs[i].mem;
	}
	pthread_mutex_unlock(&f->lock);
	return p;
}

static int fk_munmap(void *ctx, void *addr, size_t length)
{
	struct fake_v4l2 *f = ctx;
	int r = -1;
	pthread_mutex_lock(&f->lock);
	errno = EINVAL;
	for (unsigned i = 0; i < f->n_bufs; i++) {
		struct buf *b = &f->bufs[i];
		if (b->mapped && b->mem == addr && b->length == length) {
			b->mapped = false;
			f->stats.mapped--;
			r = 0;
			if (f->owner <
			    0) { /* the file is gone: the memory goes with its last map */
				free(b->mem);
				b->mem = NULL;
				bool any = false;
				for (unsigned j = 0; j < f->n_bufs; j++)
					any |= f->bufs[j].mapped;
				if (!any)
					f->n_bufs = 0;
			}
			break;
		}
	}
	pthread_mutex_unlock(&f->lock);
	return r;
}

static int fk_poll(void *ctx, struct pollfd *fds, nfds_t n, int timeout_ms)
{
	struct fake_v4l2 *f = ctx;
	if (n != 1) {
		errno = EINVAL;
		return -1;
	}
	int64_t deadline = now_us() + (int64_t)timeout_ms * 1000;
	pthread_mutex_lock(&f->lock);
	int r = 0;
	fds[0].revents = 0;
	for (;;) {
		struct file *file = file_of(f, fds[0].fd);
		if (file == NULL) {
			fds[0].revents = POLLNVAL;
			r = 1;
			break;
		}
		if (file->gen != f->gen) {
			fds[0].revents = POLLERR | POLLHUP;
			r = 1;
			break;
		}
		advance(f);
		if (f->owner == fds[0].fd - FD_BASE && f->n_done > 0) {
			fds[0].revents = POLLIN;
			r = 1;
			break;
		}
		int64_t now = now_us();
		if (now >= deadline)
			break;
		int64_t wait = deadline - now, next = until_next(f);
		if (next >= 0 && next < wait)
			wait = next + 200;
		struct timespec until;
		clock_gettime(CLOCK_MONOTONIC, &until);
		int64_t ns = until.tv_nsec + (wait % 1000000) * 1000;
		until.tv_sec += (time_t)(wait / 1000000 + ns / 1000000000);
		until.tv_nsec = (long)(ns % 1000000000);
		pthread_cond_timedwait(&f->cond, &f->lock, &until);
	}
	pthread_mutex_unlock(&f->lock);
	return r;
}

/* ---- control ---------------------------------------------------------------------------- */

struct fake_v4l2 *fake_v4l2_create(const char *path, unsigned format_mask)
{
	struct fake_v4l2 *f = calloc(1, sizeof(*f));
	if (f == NULL)
		return NULL;
	pthread_mutex_init(&f->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&f->cond, &ca);
	pthread_condattr_destroy(&ca);
	snprintf(f->path, sizeof(f->path), "%s", path);
	f->formats = format_mask;
	f->present = true;
	f->owner = -1;
	f->io = (struct capture_io){.open = fk_open,
	                            .close = fk_close,
	                            .ioctl = fk_ioctl,
	                            .mmap = fk_mmap,
	                            .munmap = fk_munmap,
	                            .poll = fk_poll,
	                            .ctx = f};
	return f;
}

void fake_v4l2_destroy(struct fake_v4l2 *f)
{
	if (f == NULL)
		return;
	for (unsigned i = 0; i < BUFS_MAX; i++)
		free(f->bufs[i].mem);
	free(f->scene);
	free(f->encoded);
	free(f->big);
	pthread_cond_destroy(&f->cond);
	pthread_mutex_destroy(&f->lock);
	free(f);
}

const struct capture_io *fake_v4l2_io(struct fake_v4l2 *f)
{
	return &f->io;
}

void fake_v4l2_grant_size(struct fake_v4l2 *f, unsigned width, unsigned height)
{
	pthread_mutex_lock(&f->lock);
	f->grant_w = width;
	f->grant_h = height;
	pthread_mutex_unlock(&f->lock);
}

void fake_v4l2_pace(struct fake_v4l2 *f, unsigned fps)
{
	pthread_mutex_lock(&f->lock);
	f->pace_fps = fps;
	pthread_mutex_unlock(&f->lock);
}

void fake_v4l2_show(struct fake_v4l2 *f, const uint8_t *grey, unsigned width, unsigned height)
{
	uint8_t *copy = NULL;
	if (grey != NULL) {
		copy = malloc((size_t)width * height);
		if (copy != NULL)
			memcpy(copy, grey, (size_t)width * height);
	}
	pthread_mutex_lock(&f->lock);
	free(f->scene);
	f->scene = copy;
	f->scene_w = copy != NULL ? width : 0;
	f->scene_h = copy != NULL ? height : 0;
	f->scene_new = true;
	f->stats.show_ready_us = 0;
	f->stats.looked = 0;
	f->show++;
	if (f->owner >= 0 && f->files[f->owner].streaming)
		encode_scene(f); /* now, not in the time of the next frame */
	pthread_mutex_unlock(&f->lock);
}

void fake_v4l2_plug(struct fake_v4l2 *f, bool present)
{
	pthread_mutex_lock(&f->lock);
	if (f->present && !present)
		f->gen++; /* every open descriptor is dead from now on */
	f->present = present;
	pthread_cond_broadcast(&f->cond);
	pthread_mutex_unlock(&f->lock);
}

void fake_v4l2_stall(struct fake_v4l2 *f, bool stalled)
{
	pthread_mutex_lock(&f->lock);
	if (f->stalled && !stalled && f->owner >= 0) {
		/* Frames resume from now, not a burst of the ones missed. */
		int64_t period = 1000000 / (f->pace_fps > 0 ? f->pace_fps
		                            : f->fps > 0    ? f->fps
		                                            : 30);
		f->next_frame = (uint64_t)((now_us() - f->t0_us) / period) + 1;
	}
	f->stalled = stalled;
	pthread_cond_broadcast(&f->cond);
	pthread_mutex_unlock(&f->lock);
}

void fake_v4l2_inject(struct fake_v4l2 *f, enum fake_v4l2_fault fault)
{
	pthread_mutex_lock(&f->lock);
	if (f->n_faults < FAULTS_MAX)
		f->faults[f->n_faults++] = fault;
	pthread_mutex_unlock(&f->lock);
}

void fake_v4l2_stats(struct fake_v4l2 *f, struct fake_v4l2_stats *out)
{
	pthread_mutex_lock(&f->lock);
	*out = f->stats;
	pthread_mutex_unlock(&f->lock);
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vm_framefeed.c - feeds card images to vivid's video output, looped back to
 * its video capture, for the VM tests' camera cases (tests/vm/).  vivid is
 * loaded with one HDMI input and one HDMI output (input_types=0x3
 * output_types=0x1), which is what its "Loop Video" control needs.
 *
 *   vm_framefeed setup CAPTURE OUTPUT WIDTH HEIGHT [YUYV|GREY]
 *     sets both nodes to WIDTHxHEIGHT progressive in that format (YUYV by
 *     default: vivid loops only when both sides agree), turns on the
 *     capture's "Loop Video" control and its OSD text off (controls found by
 *     name), so what is written to OUTPUT is what CAPTURE delivers.
 *   vm_framefeed feed OUTPUT PNG [FRAMES] [BLUR]
 *     writes the PNG (grey or colour; its luma) centred on white, scaled up
 *     by the largest whole factor that fits, FRAMES times (default 30),
 *     with BLUR passes of a 3x3 box blur (a degraded frame; default 0);
 *     prints "streaming" once the output streams (grab after that).
 *   vm_framefeed grab CAPTURE OUT.pgm [SKIP]
 *     reads frames from CAPTURE (read() I/O), SKIP of them first (default
 *     2: the first may predate the loop), and writes the next one's luma as
 *     PGM.
 *   vm_framefeed formats CAPTURE
 *     prints the capture node's pixel formats (VIDIOC_ENUM_FMT), one fourcc
 *     a line.
 *
 * Exit 0 on success, 1 on a device or file error, 64 on bad usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/videodev2.h>
#include <png.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

struct grey {
	unsigned w, h;
	uint8_t *px;
};

static int xioctl(int fd, unsigned long req, void *arg)
{
	int rc;
	do
		rc = ioctl(fd, req, arg);
	while (rc < 0 && errno == EINTR);
	return rc;
}

static int open_node(const char *path)
{
	int fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		perror(path);
	return fd;
}

/* A control of the node by its name (vivid's private controls have no
 * public ids). */
static int set_control_by_name(int fd, const char *name, int value)
{
	struct v4l2_queryctrl q;
	memset(&q, 0, sizeof(q));
	q.id = V4L2_CTRL_FLAG_NEXT_CTRL;
	while (xioctl(fd, VIDIOC_QUERYCTRL, &q) == 0) {
		if (strcmp((const char *)q.name, name) == 0) {
			struct v4l2_control c = {.id = q.id, .value = value};
			if (xioctl(fd, VIDIOC_S_CTRL, &c) != 0) {
				fprintf(stderr, "vm_framefeed: setting '%s': %s\n", name,
				        strerror(errno));
				return -1;
			}
			return 0;
		}
		q.id |= V4L2_CTRL_FLAG_NEXT_CTRL;
	}
	fprintf(stderr, "vm_framefeed: no control '%s'\n", name);
	return -1;
}

/* The two layouts the feeder writes and reads: the luma is every byte
 * (GREY) or every other byte (YUYV). */
static unsigned luma_step(uint32_t fourcc)
{
	return fourcc == V4L2_PIX_FMT_GREY ? 1 : 2;
}

static int set_format(int fd, enum v4l2_buf_type type, unsigned w, unsigned h, uint32_t fourcc,
                      struct v4l2_format *out)
{
	memset(out, 0, sizeof(*out));
	out->type = type;
	out->fmt.pix.width = w;
	out->fmt.pix.height = h;
	out->fmt.pix.pixelformat = fourcc;
	out->fmt.pix.field = V4L2_FIELD_NONE;
	if (xioctl(fd, VIDIOC_S_FMT, out) != 0) {
		perror("vm_framefeed: VIDIOC_S_FMT");
		return -1;
	}
	if (out->fmt.pix.width != w || out->fmt.pix.height != h ||
	    out->fmt.pix.pixelformat != fourcc) {
		fprintf(stderr, "vm_framefeed: the node gives %ux%u %.4s instead of %ux%u %.4s\n",
		        out->fmt.pix.width, out->fmt.pix.height,
		        (const char *)&out->fmt.pix.pixelformat, w, h, (const char *)&fourcc);
		return -1;
	}
	return 0;
}

static int get_format(int fd, enum v4l2_buf_type type, struct v4l2_format *out)
{
	memset(out, 0, sizeof(*out));
	out->type = type;
	if (xioctl(fd, VIDIOC_G_FMT, out) != 0 || (out->fmt.pix.pixelformat != V4L2_PIX_FMT_YUYV &&
	                                           out->fmt.pix.pixelformat != V4L2_PIX_FMT_GREY)) {
		fprintf(stderr,
		        "vm_framefeed: the node is not set to YUYV or GREY (run setup first)\n");
		return -1;
	}
	return 0;
}

static int cmd_setup(const char *cap, const char *outp, unsigned w, unsigned h, uint32_t fourcc)
{
	int cfd = open_node(cap), ofd = open_node(outp), rc = 1;
	struct v4l2_format f;
	if (cfd >= 0 && ofd >= 0 &&
	    set_format(cfd, V4L2_BUF_TYPE_VIDEO_CAPTURE, w, h, fourcc, &f) == 0 &&
	    set_format(ofd, V4L2_BUF_TYPE_VIDEO_OUTPUT, w, h, fourcc, &f) == 0 &&
	    set_control_by_name(cfd, "OSD Text Mode", 2) == 0 && /* 2: none */
	    set_control_by_name(cfd, "Loop Video", 1) == 0)
		rc = 0;
	if (cfd >= 0)
		close(cfd);
	if (ofd >= 0)
		close(ofd);
	return rc;
}

static int read_png(const char *path, struct grey *img)
{
	png_image pi;
	memset(&pi, 0, sizeof(pi));
	pi.version = PNG_IMAGE_VERSION;
	if (!png_image_begin_read_from_file(&pi, path)) {
		fprintf(stderr, "vm_framefeed: %s: %s\n", path, pi.message);
		return -1;
	}
	pi.format = PNG_FORMAT_GRAY;
	img->w = pi.width;
	img->h = pi.height;
	img->px = malloc(PNG_IMAGE_SIZE(pi));
	if (!img->px || !png_image_finish_read(&pi, NULL, img->px, 0, NULL)) {
		fprintf(stderr, "vm_framefeed: %s: %s\n", path,
		        img->px ? pi.message : "out of memory");
		png_image_free(&pi);
		free(img->px);
		return -1;
	}
	return 0;
}

/* A 3x3 box blur over the rectangle (x0, y0, w, h) of a frame whose rows
 * are stride bytes long (only where the card is: TCG is slow). */
static void box_blur(uint8_t *y, unsigned stride, unsigned x0, unsigned y0, unsigned w, unsigned h)
{
	if (w < 3 || h < 3)
		return;
	uint8_t *src = malloc((size_t)w * h);
	if (!src)
		return;
	for (unsigned r = 0; r < h; r++)
		memcpy(src + (size_t)r * w, y + (size_t)(y0 + r) * stride + x0, w);
	for (unsigned r = 1; r + 1 < h; r++)
		for (unsigned c = 1; c + 1 < w; c++) {
			unsigned sum = 0;
			for (int dr = -1; dr <= 1; dr++)
				for (int dc = -1; dc <= 1; dc++)
					sum += src[(size_t)(r + dr) * w + c + dc];
			y[(size_t)(y0 + r) * stride + x0 + c] = (uint8_t)(sum / 9);
		}
	free(src);
}

/* Queue the frame FRAMES times through MMAP streaming I/O (vivid 6.1's
 * output rejects the write() emulation's buffers with EINVAL). */
static int stream_frames(int fd, const uint8_t *frame, size_t size, long frames)
{
	enum { NBUF = 4 };
	struct v4l2_requestbuffers rb;
	memset(&rb, 0, sizeof(rb));
	rb.count = NBUF;
	rb.type = V4L2_BUF_TYPE_VIDEO_OUTPUT;
	rb.memory = V4L2_MEMORY_MMAP;
	if (xioctl(fd, VIDIOC_REQBUFS, &rb) != 0 || rb.count == 0 || rb.count > NBUF) {
		perror("vm_framefeed: VIDIOC_REQBUFS");
		return 1;
	}
	void *maps[NBUF] = {0};
	size_t lens[NBUF] = {0};
	int rc = 0;
	long queued = 0;
	for (unsigned i = 0; i < rb.count && rc == 0; i++) {
		struct v4l2_buffer b;
		memset(&b, 0, sizeof(b));
		b.type = rb.type;
		b.memory = rb.memory;
		b.index = i;
		if (xioctl(fd, VIDIOC_QUERYBUF, &b) != 0 || b.length < size) {
			perror("vm_framefeed: VIDIOC_QUERYBUF");
			rc = 1;
			break;
		}
		maps[i] = mmap(NULL, b.length, PROT_READ | PROT_WRITE, MAP_SHARED, fd, b.m.offset);
		if (maps[i] == MAP_FAILED) {
			maps[i] = NULL;
			perror("vm_framefeed: mmap");
			rc = 1;
			break;
		}
		lens[i] = b.length;
		memcpy(maps[i], frame, size);
		b.bytesused = (unsigned)size;
		b.field = V4L2_FIELD_NONE;
		if (queued < frames) {
			if (xioctl(fd, VIDIOC_QBUF, &b) != 0) {
				perror("vm_framefeed: VIDIOC_QBUF");
				rc = 1;
			}
			queued++;
		}
	}
	int type = V4L2_BUF_TYPE_VIDEO_OUTPUT;
	if (rc == 0 && xioctl(fd, VIDIOC_STREAMON, &type) != 0) {
		perror("vm_framefeed: VIDIOC_STREAMON");
		rc = 1;
	}
	if (rc == 0) { /* the caller may grab from now on */
		printf("streaming\n");
		fflush(stdout);
	}
	while (rc == 0 && queued < frames) {
		struct v4l2_buffer b;
		memset(&b, 0, sizeof(b));
		b.type = rb.type;
		b.memory = rb.memory;
		if (xioctl(fd, VIDIOC_DQBUF, &b) != 0) {
			perror("vm_framefeed: VIDIOC_DQBUF");
			rc = 1;
			break;
		}
		b.bytesused = (unsigned)size;
		b.field = V4L2_FIELD_NONE;
		if (xioctl(fd, VIDIOC_QBUF, &b) != 0) {
			perror("vm_framefeed: VIDIOC_QBUF");
			rc = 1;
		}
		queued++;
	}
	xioctl(fd, VIDIOC_STREAMOFF, &type);
	for (unsigned i = 0; i < NBUF; i++)
		if (maps[i])
			munmap(maps[i], lens[i]);
	return rc;
}

static int cmd_feed(const char *outp, const char *png, long frames, long blur)
{
	struct grey img = {0};
	struct v4l2_format f;
	int fd = open_node(outp);
	if (fd < 0 || get_format(fd, V4L2_BUF_TYPE_VIDEO_OUTPUT, &f) != 0 ||
	    read_png(png, &img) != 0) {
		if (fd >= 0)
			close(fd);
		return 1;
	}
	unsigned w = f.fmt.pix.width, h = f.fmt.pix.height;
	unsigned scale = w / img.w < h / img.h ? w / img.w : h / img.h;
	if (scale == 0) {
		fprintf(stderr, "vm_framefeed: %s (%ux%u) is larger than the frame\n", png, img.w,
		        img.h);
		free(img.px);
		close(fd);
		return 1;
	}
	uint8_t *y = malloc((size_t)w * h);
	size_t size = f.fmt.pix.sizeimage;
	uint8_t *frame = malloc(size);
	int rc = 1;
	unsigned step = luma_step(f.fmt.pix.pixelformat);
	if (y && frame && size >= (size_t)w * h * step) {
		memset(y, 255, (size_t)w * h);
		unsigned x0 = (w - img.w * scale) / 2, y0 = (h - img.h * scale) / 2;
		for (unsigned r = 0; r < img.h * scale; r++)
			for (unsigned c = 0; c < img.w * scale; c++)
				y[(size_t)(y0 + r) * w + x0 + c] =
				        img.px[(size_t)(r / scale) * img.w + c / scale];
		for (long i = 0; i < blur; i++)
			box_blur(y, w, x0, y0, img.w * scale, img.h * scale);
		memset(frame, 128, size);
		for (size_t i = 0; i < (size_t)w * h; i++)
			frame[step * i] = y[i]; /* YUYV: luma in every even byte */
		rc = stream_frames(fd, frame, size, frames);
	}
	free(frame);
	free(y);
	free(img.px);
	close(fd);
	return rc;
}

static int cmd_grab(const char *cap, const char *pgm, long skip)
{
	struct v4l2_format f;
	int fd = open_node(cap);
	if (fd < 0 || get_format(fd, V4L2_BUF_TYPE_VIDEO_CAPTURE, &f) != 0) {
		if (fd >= 0)
			close(fd);
		return 1;
	}
	size_t size = f.fmt.pix.sizeimage;
	unsigned w = f.fmt.pix.width, h = f.fmt.pix.height;
	uint8_t *frame = malloc(size);
	ssize_t n = -1;
	for (long i = 0; frame && i <= skip; i++)
		if ((n = read(fd, frame, size)) != (ssize_t)size)
			break;
	close(fd);
	FILE *out = n == (ssize_t)size ? fopen(pgm, "wb") : NULL;
	int rc = 1;
	if (out) {
		fprintf(out, "P5\n%u %u\n255\n", w, h);
		for (size_t i = 0; i < (size_t)w * h; i++)
			fputc(frame[luma_step(f.fmt.pix.pixelformat) * i], out);
		rc = fclose(out) == 0 ? 0 : 1;
	} else {
		fprintf(stderr, "vm_framefeed: grab: %s\n",
		        n < 0 ? strerror(errno) : "short frame or output file");
	}
	free(frame);
	return rc;
}

static int cmd_formats(const char *cap)
{
	int fd = open_node(cap);
	if (fd < 0)
		return 1;
	struct v4l2_fmtdesc d;
	memset(&d, 0, sizeof(d));
	d.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
	for (; xioctl(fd, VIDIOC_ENUM_FMT, &d) == 0; d.index++)
		printf("%.4s\n", (const char *)&d.pixelformat);
	close(fd);
	return d.index > 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
	/* setup's format: YUYV unless GREY is named; anything else is a usage error */
	bool setup_fourcc_ok =
	        argc == 6 ||
	        (argc == 7 && (strcmp(argv[6], "YUYV") == 0 || strcmp(argv[6], "GREY") == 0));
	if (setup_fourcc_ok && strcmp(argv[1], "setup") == 0)
		return cmd_setup(argv[2], argv[3], (unsigned)strtoul(argv[4], NULL, 10),
		                 (unsigned)strtoul(argv[5], NULL, 10),
		                 argc == 7 && strcmp(argv[6], "GREY") == 0 ? V4L2_PIX_FMT_GREY
		                                                           : V4L2_PIX_FMT_YUYV);
	if (argc == 3 && strcmp(argv[1], "formats") == 0)
		return cmd_formats(argv[2]);
	if (argc >= 4 && argc <= 6 && strcmp(argv[1], "feed") == 0)
		return cmd_feed(argv[2], argv[3], argc >= 5 ? strtol(argv[4], NULL, 10) : 30,
		                argc == 6 ? strtol(argv[5], NULL, 10) : 0);
	if ((argc == 4 || argc == 5) && strcmp(argv[1], "grab") == 0)
		return cmd_grab(argv[2], argv[3], argc == 5 ? strtol(argv[4], NULL, 10) : 2);
	fprintf(stderr, "usage: vm_framefeed setup CAPTURE OUTPUT WIDTH HEIGHT [YUYV|GREY]\n"
	                "       vm_framefeed formats CAPTURE\n"
	                "       vm_framefeed feed OUTPUT PNG [FRAMES] [BLUR]\n"
	                "       vm_framefeed grab CAPTURE OUT.pgm [SKIP]\n");
	return 64;
}

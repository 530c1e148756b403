/* SPDX-License-Identifier: Apache-2.0 */
/*
 * source_replay.c - the replay sources (see source.h): code texts as lines
 * from an fd or a FIFO, and QR codes in image files dropped into a folder.
 *
 * Lines.  Bytes are read without blocking as the loop reports them and cut
 * at '\n'; one '\r' before it is removed.  Every line is delivered, empty
 * ones too (the pipeline counts them), bytes as they are (NUL included).  A
 * line longer than SOURCE_TEXT_MAX is delivered once, cut to SOURCE_TEXT_MAX
 * bytes, as soon as it is known to be too long; the rest up to its newline
 * is dropped (status.dropped counts the line).  At the end of the input an
 * unterminated last line is delivered like any other.
 *  - fd: the caller's fd is dup'ed (the dup is ours to close; the caller's
 *    stays open) and set O_NONBLOCK; its file status flags, shared with the
 *    caller's fd, are put back when we let go.  A regular file (or /dev/null,
 *    which epoll refuses) is read on a 1 ms timer instead.  End of input:
 *    SOURCE_DONE.
 *  - FIFO: created (0660) if the path does not exist, refused if the path is
 *    something else.  When the last writer closes, its unterminated last line
 *    is delivered and the FIFO is opened again for the next writer.  We do
 *    NOT keep a write end of our own open (the classic trick against an EOF
 *    spin): it would hide the writer's close, so a last line without '\n'
 *    would be glued to the next writer's first line.  There is no spin
 *    without it either: Linux reports EPOLLHUP on a FIFO's read end only
 *    after a writer has come and gone since that read end was opened, so a
 *    freshly opened read end stays quiet until the next writer arrives.
 *
 * Images.  The folder is watched with inotify (IN_CLOSE_WRITE, IN_MOVED_TO:
 * a file written in place or renamed in); the files already there are
 * queued at start, in byte order of their names.  Names starting with '.'
 * (dotfiles, macOS "._" files) and names without a .png/.pgm/.jpg/.jpeg
 * extension (any case) are ignored, so temporary files renamed in later are
 * not noise.  Files are decoded one per loop turn, so the loop stays
 * responsive during a backlog; every QR symbol found is delivered, and an
 * image that cannot be read or holds no QR code is dropped with the reason
 * in status.detail.  The time of receipt is taken when the file's turn
 * comes, before it is read: decoding counts in the latency, queueing does not.
 *
 * Callbacks: on_code runs on the loop thread and may stop the source (the
 * driver notices and stops reading), but must not destroy it.
 */
#include "qrdesk/source_replay.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "qrdecode.h"

#define LINE_CAP         (SOURCE_TEXT_MAX + 1) /* room to see a '\r' before '\n' */
#define READ_CHUNK       4096
#define READ_ROUNDS      16    /* chunks per wake-up, so other watches get their turn */
#define POLL_INTERVAL_MS 1     /* regular files: read on a timer */
#define PENDING_MAX      10000 /* image files waiting for their turn */

enum replay_kind { REPLAY_FD, REPLAY_FIFO, REPLAY_IMAGES };

struct replay {
	struct source src; /* src.priv points back here */
	enum replay_kind kind;
	struct loop *loop;
	bool active; /* registered with the loop: cleared by stop, end of input, failure */

	/* Lines (fd and FIFO). */
	int in_fd;                /* REPLAY_FD: the caller's fd, never closed here */
	int fd;                   /* ours: the dup or the FIFO's read end; -1 */
	int saved_flags;          /* REPLAY_FD: file status flags to put back, or -1 */
	bool watched;             /* fd registered with loop_add_fd (else polled) */
	struct loop_timer *timer; /* polled fd / image queue */
	char path[PATH_MAX];      /* FIFO or folder */
	char line[LINE_CAP + 1];  /* + a NUL after the text, for convenience */
	size_t line_len;
	bool skipping; /* the rest of an overlong line, up to '\n' */

	/* Images. */
	struct qrdecode *dec;
	int ino; /* inotify fd, -1 */
	char **pending;
	size_t pending_head, pending_len, pending_cap;
	int64_t image_t_us;
	const char *image_name;
};

static void set_detail(struct replay *r, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

static void set_detail(struct replay *r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->src.status.detail, sizeof(r->src.status.detail), fmt, ap);
	va_end(ap);
}

static void deliver(struct replay *r, const char *text, size_t len, int64_t t_us)
{
	r->src.status.codes++;
	r->src.on_code(r->src.cb_arg, r->src.name, text, len, t_us);
}

/* Let go of everything registered with the loop; the state is the caller's. */
static void detach(struct replay *r)
{
	r->active = false;
	if (r->timer != NULL) {
		loop_timer_destroy(r->timer);
		r->timer = NULL;
	}
	if (r->fd >= 0) {
		if (r->watched)
			loop_remove_fd(r->loop, r->fd);
		if (r->saved_flags >= 0)
			(void)fcntl(r->fd, F_SETFL, r->saved_flags);
		close(r->fd);
		r->fd = -1;
	}
	r->watched = false;
	r->saved_flags = -1;
	if (r->ino >= 0) {
		loop_remove_fd(r->loop, r->ino);
		close(r->ino);
		r->ino = -1;
	}
	for (size_t i = r->pending_head; i < r->pending_len; i++)
		free(r->pending[i]);
	r->pending_head = r->pending_len = 0;
	r->line_len = 0;
	r->skipping = false;
}

/* ---- Lines -------------------------------------------------------------- */

static void line_cut(struct replay *r, int64_t t_us)
{
	r->line[SOURCE_TEXT_MAX] = '\0';
	r->src.status.dropped++;
	set_detail(r, "line longer than %d bytes cut", SOURCE_TEXT_MAX);
	deliver(r, r->line, SOURCE_TEXT_MAX, t_us);
}

/* The end of a line ('\n' or the end of the input). */
static void line_end(struct replay *r, int64_t t_us)
{
	size_t len = r->line_len;
	bool skipping = r->skipping;
	r->line_len = 0;
	r->skipping = false;
	if (skipping)
		return; /* delivered when it overflowed */
	if (len > 0 && r->line[len - 1] == '\r')
		len--;
	if (len > SOURCE_TEXT_MAX) {
		line_cut(r, t_us);
		return;
	}
	r->line[len] = '\0';
	deliver(r, r->line, len, t_us);
}

static void lines_feed(struct replay *r, const char *data, size_t n, int64_t t_us)
{
	for (size_t i = 0; i < n && r->active; i++) {
		char c = data[i];
		if (c == '\n') {
			line_end(r, t_us);
		} else if (r->skipping) {
			continue;
		} else if (r->line_len == LINE_CAP) {
			/* SOURCE_TEXT_MAX + 1 bytes and more to come: too long whatever they are.
			 */
			line_cut(r, t_us);
			r->line_len = 0;
			r->skipping = true;
		} else {
			r->line[r->line_len++] = c;
		}
	}
}

static void lines_readable(struct loop *loop, int fd, uint32_t events, void *arg);

static enum qd_err fifo_open(struct replay *r)
{
	r->fd = open(r->path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (r->fd < 0) {
		set_detail(r, "cannot open FIFO: %s", strerror(errno));
		return QD_ERR_IO;
	}
	struct stat st;
	if (fstat(r->fd, &st) != 0 || !S_ISFIFO(st.st_mode)) {
		set_detail(r, "%s is not a FIFO", r->path);
		close(r->fd);
		r->fd = -1;
		return QD_ERR_EXISTS;
	}
	enum qd_err rc = loop_add_fd(r->loop, r->fd, EPOLLIN, lines_readable, r);
	if (rc != QD_OK) {
		set_detail(r, "cannot watch FIFO (%s)", qd_err_name(rc));
		close(r->fd);
		r->fd = -1;
		return rc;
	}
	r->watched = true;
	return QD_OK;
}

static void lines_eof(struct replay *r)
{
	int64_t t_us = loop_now_us();
	if (r->line_len > 0 || r->skipping)
		line_end(r, t_us);
	if (!r->active)
		return; /* stopped by the callback */
	if (r->kind == REPLAY_FIFO) {
		/* The writer went away: a fresh read end waits quietly for the next one. */
		loop_remove_fd(r->loop, r->fd);
		close(r->fd);
		r->fd = -1;
		r->watched = false;
		if (fifo_open(r) != QD_OK) {
			detach(r);
			r->src.status.state = SOURCE_FAILED;
			return;
		}
		set_detail(r, "writer closed; waiting for the next");
		return;
	}
	detach(r);
	r->src.status.state = SOURCE_DONE;
	set_detail(r, "end of input");
}

/* Read what is there, a bounded amount (the loop calls again while more is ready). */
static void lines_read(struct replay *r)
{
	char chunk[READ_CHUNK];
	for (int round = 0; round < READ_ROUNDS && r->active; round++) {
		ssize_t n = read(r->fd, chunk, sizeof(chunk));
		if (n > 0) {
			lines_feed(r, chunk, (size_t)n, loop_now_us());
		} else if (n == 0) {
			lines_eof(r);
			return;
		} else if (errno == EINTR) {
			continue;
		} else if (errno == EAGAIN || errno == EWOULDBLOCK) {
			return;
		} else {
			int e = errno;
			detach(r);
			r->src.status.state = SOURCE_FAILED;
			set_detail(r, "read: %s", strerror(e));
			return;
		}
	}
}

static void lines_readable(struct loop *loop, int fd, uint32_t events, void *arg)
{
	(void)loop;
	(void)fd;
	(void)events;
	lines_read(arg);
}

static void lines_tick(struct loop *loop, struct loop_timer *timer, void *arg)
{
	(void)loop;
	(void)timer;
	lines_read(arg);
}

static enum qd_err lines_fd_start(struct replay *r)
{
	r->fd = fcntl(r->in_fd, F_DUPFD_CLOEXEC, 3);
	if (r->fd < 0) {
		set_detail(r, "cannot dup fd %d: %s", r->in_fd, strerror(errno));
		return QD_ERR_IO;
	}
	int flags = fcntl(r->fd, F_GETFL);
	if (flags < 0 || fcntl(r->fd, F_SETFL, flags | O_NONBLOCK) != 0) {
		set_detail(r, "cannot make fd %d non-blocking: %s", r->in_fd, strerror(errno));
		close(r->fd);
		r->fd = -1;
		return QD_ERR_IO;
	}
	r->saved_flags = flags;
	struct stat st;
	bool pollable = fstat(r->fd, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode);
	if (pollable && loop_add_fd(r->loop, r->fd, EPOLLIN, lines_readable, r) == QD_OK) {
		r->watched = true;
		set_detail(r, "reading fd %d", r->in_fd);
		return QD_OK;
	}
	/* Regular files are always "ready" and epoll refuses them: read on a timer. */
	enum qd_err rc = loop_timer_create(r->loop, lines_tick, r, &r->timer);
	if (rc != QD_OK) {
		set_detail(r, "cannot create a timer (%s)", qd_err_name(rc));
		return rc;
	}
	loop_timer_arm(r->timer, 0, POLL_INTERVAL_MS);
	set_detail(r, "reading fd %d (polled)", r->in_fd);
	return QD_OK;
}

static enum qd_err lines_fifo_start(struct replay *r)
{
	struct stat st;
	bool created = false;
	if (stat(r->path, &st) != 0) {
		if (errno != ENOENT) {
			set_detail(r, "cannot stat FIFO: %s", strerror(errno));
			return QD_ERR_IO;
		}
		if (mkfifo(r->path, 0660) != 0 && errno != EEXIST) {
			set_detail(r, "cannot create FIFO: %s", strerror(errno));
			return QD_ERR_IO;
		}
		created = true;
	} else if (!S_ISFIFO(st.st_mode)) {
		set_detail(r, "path exists and is not a FIFO");
		return QD_ERR_EXISTS;
	}
	enum qd_err rc = fifo_open(r);
	if (rc != QD_OK)
		return rc;
	if (created)
		(void)fchmod(r->fd, 0660); /* exactly, whatever the umask */
	set_detail(r, "waiting for a writer");
	return QD_OK;
}

/* ---- Images ------------------------------------------------------------- */

static bool image_name_wanted(const char *name)
{
	if (name[0] == '.') /* dotfiles, and macOS "._" resource files */
		return false;
	const char *dot = strrchr(name, '.');
	if (dot == NULL)
		return false;
	return strcasecmp(dot, ".png") == 0 || strcasecmp(dot, ".pgm") == 0 ||
	       strcasecmp(dot, ".jpg") == 0 || strcasecmp(dot, ".jpeg") == 0;
}

static void images_tick(struct loop *loop, struct loop_timer *timer, void *arg);

static void pending_push(struct replay *r, const char *name, bool check_dup)
{
	if (check_dup)
		for (size_t i = r->pending_head; i < r->pending_len; i++)
			if (strcmp(r->pending[i], name) == 0)
				return;
	if (r->pending_len - r->pending_head >= PENDING_MAX) {
		r->src.status.dropped++;
		set_detail(r, "%.60s: dropped, %d files already waiting", name, PENDING_MAX);
		return;
	}
	if (r->pending_head > 0 && r->pending_len == r->pending_cap) {
		memmove(r->pending, r->pending + r->pending_head,
		        (r->pending_len - r->pending_head) * sizeof(*r->pending));
		r->pending_len -= r->pending_head;
		r->pending_head = 0;
	}
	if (r->pending_len == r->pending_cap) {
		size_t cap = r->pending_cap ? r->pending_cap * 2 : 16;
		char **p = realloc(r->pending, cap * sizeof(*p));
		if (p == NULL)
			goto nomem;
		r->pending = p;
		r->pending_cap = cap;
	}
	char *copy = strdup(name);
	if (copy == NULL)
		goto nomem;
	r->pending[r->pending_len++] = copy;
	if (!loop_timer_armed(r->timer))
		loop_timer_arm(r->timer, 0, 0);
	return;
nomem:
	r->src.status.dropped++;
	set_detail(r, "%.60s: dropped, out of memory", name);
}

static void image_symbol(void *arg, const char *data, size_t len)
{
	struct replay *r = arg;
	if (!r->active)
		return; /* stopped by an earlier delivery */
	if (len > SOURCE_TEXT_MAX) {
		len = SOURCE_TEXT_MAX;
		r->src.status.dropped++;
		set_detail(r, "%.60s: code longer than %d bytes cut", r->image_name,
		           SOURCE_TEXT_MAX);
	}
	deliver(r, data, len, r->image_t_us);
}

static void image_process(struct replay *r, const char *name)
{
	char path[PATH_MAX];
	int n = snprintf(path, sizeof(path), "%s/%s", r->path, name);
	if (n < 0 || (size_t)n >= sizeof(path)) {
		r->src.status.dropped++;
		set_detail(r, "%.60s: path too long", name);
		return;
	}
	r->image_t_us = loop_now_us();
	r->image_name = name;
	uint8_t *px = NULL;
	unsigned w = 0, h = 0;
	struct qd_errmsg why = {{0}};
	enum qd_err rc = image_load_gray(path, &px, &w, &h, &why);
	if (rc != QD_OK) {
		/* why starts with the path: name the file by its name only. */
		size_t plen = strlen(path);
		const char *reason = why.text;
		if (strncmp(reason, path, plen) == 0 && reason[plen] == ':')
			reason += plen + 1;
		while (*reason == ' ')
			reason++;
		r->src.status.dropped++;
		set_detail(r, "%.40s: %s", name, reason[0] ? reason : qd_err_name(rc));
		return;
	}
	int found = 0;
	uint64_t before = r->src.status.dropped;
	rc = qrdecode_gray(r->dec, px, w, h, w, image_symbol, r, &found);
	free(px);
	if (!r->active)
		return;
	if (rc != QD_OK) {
		r->src.status.dropped++;
		set_detail(r, "%.60s: QR decoder failed (%s)", name, qd_err_name(rc));
	} else if (found == 0) {
		r->src.status.dropped++;
		set_detail(r, "%.60s: no QR code found", name);
	} else if (r->src.status.dropped == before) {
		set_detail(r, "%.60s: %d code%s", name, found, found == 1 ? "" : "s");
	}
}

static void images_tick(struct loop *loop, struct loop_timer *timer, void *arg)
{
	(void)loop;
	(void)timer;
	struct replay *r = arg;
	if (!r->active || r->pending_head == r->pending_len)
		return;
	char *name = r->pending[r->pending_head++];
	if (r->pending_head == r->pending_len)
		r->pending_head = r->pending_len = 0;
	image_process(r, name);
	free(name);
	if (r->active && r->pending_head < r->pending_len)
		loop_timer_arm(r->timer, 0, 0);
}

static void images_event(struct loop *loop, int fd, uint32_t events, void *arg)
{
	(void)loop;
	(void)events;
	struct replay *r = arg;
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	for (int round = 0; round < READ_ROUNDS && r->active; round++) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return; /* EAGAIN: all read */
		for (size_t off = 0;
		     off + sizeof(struct inotify_event) <= (size_t)n && r->active;) {
			const struct inotify_event *ev = (const void *)(buf + off);
			off += sizeof(*ev) + ev->len;
			if (ev->mask & IN_Q_OVERFLOW) {
				r->src.status.dropped++;
				set_detail(r, "inotify queue overflow: files may have been missed");
			} else if (ev->mask & (IN_IGNORED | IN_DELETE_SELF)) {
				detach(r);
				r->src.status.state = SOURCE_FAILED;
				set_detail(r, "folder removed");
			} else if ((ev->mask & (IN_CLOSE_WRITE | IN_MOVED_TO)) &&
			           !(ev->mask & IN_ISDIR) && ev->len > 0 &&
			           image_name_wanted(ev->name)) {
				pending_push(r, ev->name, true);
			}
		}
	}
}

static int name_order(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static enum qd_err images_start(struct replay *r)
{
	r->ino = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (r->ino < 0) {
		set_detail(r, "inotify: %s", strerror(errno));
		return QD_ERR_IO;
	}
	/* Watch first, then list: a file arriving in between is seen at least once. */
	if (inotify_add_watch(r->ino, r->path,
	                      IN_CLOSE_WRITE | IN_MOVED_TO | IN_DELETE_SELF | IN_ONLYDIR) < 0) {
		int e = errno;
		set_detail(r, "cannot watch folder: %s", strerror(e));
		return e == ENOENT ? QD_ERR_NOT_FOUND : QD_ERR_IO;
	}
	enum qd_err rc = loop_timer_create(r->loop, images_tick, r, &r->timer);
	if (rc != QD_OK) {
		set_detail(r, "cannot create a timer (%s)", qd_err_name(rc));
		return rc;
	}
	rc = loop_add_fd(r->loop, r->ino, EPOLLIN, images_event, r);
	if (rc != QD_OK) {
		set_detail(r, "cannot watch inotify (%s)", qd_err_name(rc));
		return rc;
	}
	struct dirent **list = NULL;
	int n = scandir(r->path, &list, NULL, name_order);
	if (n < 0) {
		set_detail(r, "cannot list folder: %s", strerror(errno));
		return QD_ERR_IO;
	}
	for (int i = 0; i < n; i++) {
		if (image_name_wanted(list[i]->d_name))
			pending_push(r, list[i]->d_name, false);
		free(list[i]);
	}
	free(list);
	set_detail(r, "watching folder, %zu files waiting", r->pending_len - r->pending_head);
	return QD_OK;
}

/* ---- The source interface ----------------------------------------------- */

static enum qd_err replay_start(struct source *src, struct loop *loop)
{
	struct replay *r = src->priv;
	if (loop == NULL)
		return QD_ERR_ARG;
	if (r->active)
		return QD_ERR_EXISTS;
	r->loop = loop;
	r->active = true;
	r->line_len = 0;
	r->skipping = false;
	enum qd_err rc;
	switch (r->kind) {
	case REPLAY_FD:
		rc = lines_fd_start(r);
		break;
	case REPLAY_FIFO:
		rc = lines_fifo_start(r);
		break;
	default:
		rc = images_start(r);
		break;
	}
	if (rc != QD_OK) {
		char detail[sizeof(src->status.detail)];
		memcpy(detail, src->status.detail, sizeof(detail));
		detach(r);
		memcpy(src->status.detail, detail, sizeof(detail));
		src->status.state = SOURCE_FAILED;
		return rc;
	}
	src->status.state = SOURCE_RUNNING;
	return QD_OK;
}

static void replay_stop(struct source *src)
{
	struct replay *r = src->priv;
	if (!r->active)
		return; /* never started, stopped, done or failed: nothing registered */
	detach(r);
	src->status.state = SOURCE_STOPPED;
	set_detail(r, "stopped");
}

static void replay_destroy(struct source *src)
{
	if (src == NULL)
		return;
	struct replay *r = src->priv;
	replay_stop(src);
	free(r->pending);
	qrdecode_destroy(r->dec);
	free(r);
}

static const struct source_ops lines_ops = {
        .kind = "replay-lines",
        .start = replay_start,
        .stop = replay_stop,
        .destroy = replay_destroy,
};

static const struct source_ops images_ops = {
        .kind = "replay-images",
        .start = replay_start,
        .stop = replay_stop,
        .destroy = replay_destroy,
};

static enum qd_err replay_new(enum replay_kind kind, const char *name, const char *path,
                              source_code_cb cb, void *arg, struct source **out)
{
	if (out == NULL)
		return QD_ERR_ARG;
	*out = NULL;
	if (name == NULL || cb == NULL)
		return QD_ERR_ARG;
	if (path != NULL && (path[0] == '\0' || strlen(path) >= PATH_MAX))
		return path[0] == '\0' ? QD_ERR_ARG : QD_ERR_TOO_LARGE;
	struct replay *r = calloc(1, sizeof(*r));
	if (r == NULL)
		return QD_ERR_NOMEM;
	r->kind = kind;
	r->in_fd = -1;
	r->fd = -1;
	r->ino = -1;
	r->saved_flags = -1;
	if (path != NULL)
		memcpy(r->path, path, strlen(path) + 1);
	r->src.ops = kind == REPLAY_IMAGES ? &images_ops : &lines_ops;
	snprintf(r->src.name, sizeof(r->src.name), "%s", name);
	r->src.on_code = cb;
	r->src.cb_arg = arg;
	r->src.status.state = SOURCE_STOPPED;
	r->src.priv = r;
	*out = &r->src;
	return QD_OK;
}

enum qd_err source_replay_lines_fd(const char *name, int fd, source_code_cb cb, void *arg,
                                   struct source **out)
{
	if (fd < 0) {
		if (out != NULL)
			*out = NULL;
		return QD_ERR_ARG;
	}
	enum qd_err rc = replay_new(REPLAY_FD, name, NULL, cb, arg, out);
	if (rc == QD_OK)
		((struct replay *)(*out)->priv)->in_fd = fd;
	return rc;
}

enum qd_err source_replay_lines_fifo(const char *name, const char *path, source_code_cb cb,
                                     void *arg, struct source **out)
{
	if (path == NULL) {
		if (out != NULL)
			*out = NULL;
		return QD_ERR_ARG;
	}
	return replay_new(REPLAY_FIFO, name, path, cb, arg, out);
}

enum qd_err source_replay_images(const char *name, const char *dir, source_code_cb cb, void *arg,
                                 struct source **out)
{
	if (dir == NULL) {
		if (out != NULL)
			*out = NULL;
		return QD_ERR_ARG;
	}
	enum qd_err rc = replay_new(REPLAY_IMAGES, name, dir, cb, arg, out);
	if (rc != QD_OK)
		return rc;
	struct replay *r = (*out)->priv;
	rc = qrdecode_create(&r->dec);
	if (rc != QD_OK) {
		free(r);
		*out = NULL;
	}
	return rc;
}

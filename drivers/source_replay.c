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
 * not noise.  Files are read and decoded on a worker thread of the
 * source's own, one at a time in arrival order, never on the loop thread
 * that judges every scan: a huge image delays no other scanner's card.
 * The worker opens a file relative to the folder, regular files only and
 * no symbolic link followed (a FIFO is refused, not waited on); an image
 * of more pixels than the budget is refused from its header, and one read
 * slower than the time budget is not decoded.  Its results go back to the
 * loop through an eventfd: every QR symbol found is delivered there, an
 * image that cannot be read or holds no QR code is dropped with the
 * reason in status.detail, and then the file is moved to done/ (or
 * deleted), so a restart does not judge it again.  The time of receipt is
 * taken when the file's turn comes, before it is read: decoding counts in
 * the latency, queueing does not.
 *
 * Callbacks: on_code runs on the loop thread and may stop the source (the
 * driver notices and stops reading), but must not destroy it.
 */
#include "qrdesk/source_replay.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "qrdecode.h"
#include "qrdesk/log.h"

#define LINE_CAP         (SOURCE_TEXT_MAX + 1) /* room to see a '\r' before '\n' */
#define READ_CHUNK       4096
#define READ_ROUNDS      16    /* chunks per wake-up, so other watches get their turn */
#define POLL_INTERVAL_MS 1     /* regular files: read on a timer */
#define PENDING_MAX      10000 /* image files waiting for their turn */
#define IMAGE_CODES_MAX  16    /* symbols kept from one image; more are dropped */
#define DONE_DIR         "done"

/* What the worker made of one file, for the loop thread. */
struct image_result {
	struct image_result *next;
	char *name;
	int64_t t_us; /* receipt: when its turn came */
	unsigned ncodes;
	char *codes[IMAGE_CODES_MAX];
	size_t lens[IMAGE_CODES_MAX];
	unsigned dropped; /* for status.dropped */
	bool gone;        /* the file vanished before it was read: nothing to file away */
	char detail[sizeof(((struct source_status *)0)->detail)];
};

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

	/* Images: the loop thread owns ino, efd, the fds and the status; the worker
	 * owns dec; the queues and worker_stop are under lock. */
	struct source_images_config icfg;
	struct qrdecode *dec;
	int ino; /* inotify fd, -1 */
	int efd; /* eventfd: the worker has results, -1 */
	pthread_t worker;
	bool worker_running;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	bool worker_stop;
	char **pending;
	size_t pending_head, pending_len, pending_cap;
	char *busy; /* the name the worker is reading, or NULL */
	struct image_result *results, *results_tail;
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

static void images_detach(struct replay *r);

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
	images_detach(r);
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

static void result_free(struct image_result *res)
{
	if (res == NULL)
		return;
	for (unsigned i = 0; i < res->ncodes; i++)
		free(res->codes[i]);
	free(res->name);
	free(res);
}

/* Loop thread: queue a name for the worker (once: a name already waiting or being read is not
 * queued again). */
static void pending_push(struct replay *r, const char *name, bool check_dup)
{
	pthread_mutex_lock(&r->lock);
	if (check_dup) {
		bool dup = r->busy != NULL && strcmp(r->busy, name) == 0;
		for (size_t i = r->pending_head; !dup && i < r->pending_len; i++)
			dup = strcmp(r->pending[i], name) == 0;
		if (dup)
			goto out;
	}
	if (r->pending_len - r->pending_head >= PENDING_MAX) {
		r->src.status.dropped++;
		set_detail(r, "%.60s: dropped, %d files already waiting", name, PENDING_MAX);
		goto out;
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
	pthread_cond_signal(&r->wake);
	goto out;
nomem:
	r->src.status.dropped++;
	set_detail(r, "%.60s: dropped, out of memory", name);
out:
	pthread_mutex_unlock(&r->lock);
}

/* --- the worker: read and decode, nothing else --------------------------------------- */

__attribute__((format(printf, 2, 3))) static void result_detail(struct image_result *res,
                                                                const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(res->detail, sizeof(res->detail), fmt, ap);
	va_end(ap);
}

static void image_symbol(void *arg, const char *data, size_t len)
{
	struct image_result *res = arg;
	if (len > SOURCE_TEXT_MAX) {
		len = SOURCE_TEXT_MAX;
		res->dropped++;
		result_detail(res, "%.60s: code longer than %d bytes cut", res->name,
		              SOURCE_TEXT_MAX);
	}
	char *copy = res->ncodes < IMAGE_CODES_MAX ? malloc(len + 1) : NULL;
	if (copy == NULL) {
		res->dropped++;
		result_detail(res, "%.60s: more than %d codes, or no memory: some dropped",
		              res->name, IMAGE_CODES_MAX);
		return;
	}
	memcpy(copy, data, len);
	copy[len] = '\0';
	res->codes[res->ncodes] = copy;
	res->lens[res->ncodes++] = len;
}

static void image_read(struct replay *r, struct image_result *res)
{
	const char *name = res->name;
	res->t_us = loop_now_us();
	log_debug("images: %s: reading", name);
	uint8_t *px = NULL;
	unsigned w = 0, h = 0;
	struct qd_errmsg why = {{0}};
	size_t max_pixels = (size_t)r->icfg.max_kpx * 1000u;
	/* The folder is opened for each file, not held: a held folder would hide its removal
	 * from inotify. */
	int dir = open(r->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	enum qd_err rc = QD_ERR_NOT_FOUND;
	if (dir >= 0) {
		rc = image_load_gray_at(dir, name, max_pixels, &px, &w, &h, &why);
		close(dir);
	}
	if (rc == QD_ERR_NOT_FOUND) {
		res->gone = true; /* gone since it was queued (a second event for a filed name) */
		log_debug("images: %s: gone", name);
		return;
	}
	if (rc != QD_OK) {
		/* why starts with the name: name the file once. */
		size_t nlen = strlen(name);
		const char *reason = why.text;
		if (strncmp(reason, name, nlen) == 0 && reason[nlen] == ':')
			reason += nlen + 1;
		while (*reason == ' ')
			reason++;
		res->dropped++;
		result_detail(res, "%.40s: %s", name, reason[0] ? reason : qd_err_name(rc));
		log_debug("images: %s: not read", name);
		return;
	}
	int64_t took_ms = (loop_now_us() - res->t_us) / 1000;
	if (took_ms > (int64_t)r->icfg.budget_ms) {
		free(px);
		res->dropped++;
		result_detail(res, "%.40s: read in %lld ms, over the budget of %u ms: not decoded",
		              name, (long long)took_ms, r->icfg.budget_ms);
		log_debug("images: %s: over the time budget", name);
		return;
	}
	log_debug("images: %s: decoding %ux%u", name, w, h);
	int found = 0;
	rc = qrdecode_gray(r->dec, px, w, h, w, image_symbol, res, &found);
	free(px);
	if (rc != QD_OK) {
		res->dropped++;
		result_detail(res, "%.60s: QR decoder failed (%s)", name, qd_err_name(rc));
	} else if (found == 0) {
		res->dropped++;
		result_detail(res, "%.60s: no QR code found", name);
	} else if (res->dropped == 0) {
		result_detail(res, "%.60s: %d code%s", name, found, found == 1 ? "" : "s");
	}
	log_debug("images: %s: decoded in %lld ms", name,
	          (long long)((loop_now_us() - res->t_us) / 1000));
}

static void *image_worker(void *arg)
{
	struct replay *r = arg;
	pthread_mutex_lock(&r->lock);
	while (!r->worker_stop) {
		if (r->pending_head == r->pending_len) {
			pthread_cond_wait(&r->wake, &r->lock);
			continue;
		}
		char *name = r->pending[r->pending_head++];
		if (r->pending_head == r->pending_len)
			r->pending_head = r->pending_len = 0;
		r->busy = name;
		pthread_mutex_unlock(&r->lock);
		struct image_result *res = calloc(1, sizeof(*res));
		if (res != NULL) {
			res->name = name;
			image_read(r, res);
		}
		pthread_mutex_lock(&r->lock);
		r->busy = NULL;
		if (res == NULL) {
			free(name); /* no memory: the file stays for the next start */
			continue;
		}
		if (r->results_tail != NULL)
			r->results_tail->next = res;
		else
			r->results = res;
		r->results_tail = res;
		uint64_t one = 1;
		ssize_t n = write(r->efd, &one, sizeof(one));
		(void)n; /* the counter cannot overflow: the loop reads it at each wake-up */
	}
	pthread_mutex_unlock(&r->lock);
	return NULL;
}

/* --- the loop thread: deliver, then file the image away -------------------------------- */

/*
 * Move a judged file to done/ (made when first needed; a symbolic link named
 * done is not followed) or delete it.  The folder and done/ are opened for
 * this only: held open, they would hide the folder's removal from inotify.
 */
static void image_file_away(struct replay *r, const char *name)
{
	int rc = -1, e = 0, done = -1;
	int dir = open(r->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir >= 0 && r->icfg.delete_judged) {
		rc = unlinkat(dir, name, 0);
	} else if (dir >= 0 && (mkdirat(dir, DONE_DIR, 0750) == 0 || errno == EEXIST)) {
		done = openat(dir, DONE_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (done >= 0)
			rc = renameat(dir, name, done, name);
	}
	e = errno;
	if (done >= 0)
		close(done);
	if (dir >= 0)
		close(dir);
	if (rc == 0 || e == ENOENT)
		return;
	static struct log_limit limit = {.interval_s = 10};
	unsigned long skipped = 0;
	if (log_limit_pass(&limit, &skipped))
		log_warn("images: %s: cannot %s: %s; a restart reads it again (%lu more not "
		         "logged)",
		         name, r->icfg.delete_judged ? "delete it" : "move it to " DONE_DIR "/",
		         strerror(e), skipped);
}

static void images_results(struct loop *loop, int fd, uint32_t events, void *arg)
{
	(void)loop;
	(void)events;
	struct replay *r = arg;
	uint64_t count;
	ssize_t n = read(fd, &count, sizeof(count));
	(void)n; /* EAGAIN: a wake-up for results already taken */
	while (r->active) {
		pthread_mutex_lock(&r->lock);
		struct image_result *res = r->results;
		if (res != NULL) {
			r->results = res->next;
			if (r->results == NULL)
				r->results_tail = NULL;
		}
		pthread_mutex_unlock(&r->lock);
		if (res == NULL)
			return;
		for (unsigned i = 0; i < res->ncodes && r->active; i++)
			deliver(r, res->codes[i], res->lens[i], res->t_us);
		if (r->active) { /* on_code may have stopped the source: then the fds are gone */
			r->src.status.dropped += res->dropped;
			if (res->detail[0] != '\0')
				set_detail(r, "%s", res->detail);
			if (!res->gone)
				image_file_away(r, res->name);
		}
		result_free(res);
	}
}

/* Stop the worker (after the file it is reading) and let go of the images' state. */
static void images_detach(struct replay *r)
{
	if (r->kind != REPLAY_IMAGES)
		return;
	if (r->worker_running) {
		pthread_mutex_lock(&r->lock);
		r->worker_stop = true;
		pthread_cond_signal(&r->wake);
		pthread_mutex_unlock(&r->lock);
		pthread_join(r->worker, NULL);
		r->worker_running = false;
	}
	if (r->efd >= 0) {
		loop_remove_fd(r->loop, r->efd);
		close(r->efd);
		r->efd = -1;
	}
	for (size_t i = r->pending_head; i < r->pending_len; i++)
		free(r->pending[i]);
	r->pending_head = r->pending_len = 0;
	while (r->results != NULL) {
		struct image_result *next = r->results->next;
		result_free(r->results);
		r->results = next;
	}
	r->results_tail = NULL;
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

/* The results' eventfd and the worker. */
static enum qd_err images_open(struct replay *r)
{
	r->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (r->efd < 0) {
		set_detail(r, "eventfd: %s", strerror(errno));
		return QD_ERR_IO;
	}
	enum qd_err rc = loop_add_fd(r->loop, r->efd, EPOLLIN, images_results, r);
	if (rc != QD_OK) {
		close(r->efd);
		r->efd = -1;
		set_detail(r, "cannot watch the worker (%s)", qd_err_name(rc));
		return rc;
	}
	r->worker_stop = false;
	/* Every signal blocked in the worker: they are the loop's (signalfd). */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	int e = pthread_create(&r->worker, NULL, image_worker, r);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (e != 0) {
		set_detail(r, "cannot start the image worker: %s", strerror(e));
		return QD_ERR_IO;
	}
	r->worker_running = true;
	return QD_OK;
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
	enum qd_err rc = loop_add_fd(r->loop, r->ino, EPOLLIN, images_event, r);
	if (rc != QD_OK) {
		set_detail(r, "cannot watch inotify (%s)", qd_err_name(rc));
		return rc;
	}
	rc = images_open(r);
	if (rc != QD_OK)
		return rc;
	struct dirent **list = NULL;
	int n = scandir(r->path, &list, NULL, name_order);
	if (n < 0) {
		set_detail(r, "cannot list folder: %s", strerror(errno));
		return QD_ERR_IO;
	}
	size_t queued = 0;
	for (int i = 0; i < n; i++) {
		if (image_name_wanted(list[i]->d_name)) {
			pending_push(r, list[i]->d_name, false);
			queued++;
		}
		free(list[i]);
	}
	free(list);
	set_detail(r, "watching folder, %zu files waiting", queued);
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
	if (r->kind == REPLAY_IMAGES) {
		qrdecode_destroy(r->dec);
		pthread_cond_destroy(&r->wake);
		pthread_mutex_destroy(&r->lock);
	}
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
	r->efd = -1;
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
	return source_replay_images_with(name, dir, NULL, cb, arg, out);
}

enum qd_err source_replay_images_with(const char *name, const char *dir,
                                      const struct source_images_config *cfg, source_code_cb cb,
                                      void *arg, struct source **out)
{
	if (dir == NULL || (cfg != NULL && cfg->max_kpx > SOURCE_IMAGES_MAX_KPX_MAX)) {
		if (out != NULL)
			*out = NULL;
		return QD_ERR_ARG;
	}
	enum qd_err rc = replay_new(REPLAY_IMAGES, name, dir, cb, arg, out);
	if (rc != QD_OK)
		return rc;
	struct replay *r = (*out)->priv;
	if (cfg != NULL)
		r->icfg = *cfg;
	if (r->icfg.max_kpx == 0)
		r->icfg.max_kpx = SOURCE_IMAGES_MAX_KPX_DEFAULT;
	if (r->icfg.budget_ms == 0)
		r->icfg.budget_ms = SOURCE_IMAGES_BUDGET_MS_DEFAULT;
	rc = qrdecode_create(&r->dec);
	if (rc != QD_OK) {
		free(r);
		*out = NULL;
		return rc;
	}
	qrdecode_set_formats(r->dec, r->icfg.formats); /* before the worker: it owns dec */
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->wake, NULL);
	return QD_OK;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * control.c - the control socket (see control.h): one request line, one
 * reply line, per connection; bounded, non-blocking, peer-checked.
 */
/* SO_PEERCRED (struct ucred) and accept4 are Linux interfaces. */
#define _GNU_SOURCE
#include "qrdesk/control.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "qrdesk/log.h"

struct client {
	struct control *ctl;
	int fd;
	char buf[CONTROL_REQUEST_MAX + 1];
	size_t len;
	struct loop_timer *timeout;
	bool in_use;
	uint32_t generation; /* of the connection in this slot: a held reply's token names it */
	char *held;          /* the reply kept by control_hold_reply, until control_release */
	bool watched;        /* its fd is in the loop (not after a held client's end of input) */
};

struct control {
	struct loop *loop;
	int fd;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	gid_t group;
	char reason[96];   /* why a peer is refused: "not in group qrdesk" */
	char refusal[128]; /* the message it gets: "permission denied (<reason>)" */
	control_handler handler;
	void *arg;
	struct client clients[CONTROL_CLIENTS_MAX];
	struct client *current; /* whose request the handler is answering */
	bool hold;              /* the handler asked to keep its reply */
};

static void client_close(struct client *c)
{
	if (!c->in_use)
		return;
	if (c->watched)
		loop_remove_fd(c->ctl->loop, c->fd);
	c->watched = false;
	close(c->fd);
	loop_timer_disarm(c->timeout);
	free(c->held);
	c->held = NULL;
	c->in_use = false;
}

/* The reply is small; a peer that does not read it within the timeout loses it. */
static void send_all(int fd, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			struct pollfd pfd = {.fd = fd, .events = POLLOUT};
			if (poll(&pfd, 1, CONTROL_TIMEOUT_MS) <= 0)
				return;
			continue;
		}
		if (n <= 0)
			return;
		data += n;
		len -= (size_t)n;
	}
}

static void client_reply(struct client *c, const char *reply)
{
	send_all(c->fd, reply, strlen(reply));
	send_all(c->fd, "\n", 1);
}

static void on_client(struct loop *loop, int fd, uint32_t events, void *arg)
{
	(void)loop;
	(void)fd;
	(void)events;
	struct client *c = arg;
	for (;;) {
		ssize_t n = recv(c->fd, c->buf + c->len, CONTROL_REQUEST_MAX - c->len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return; /* wait for more */
		if (n == 0 && c->held != NULL) {
			/* It shut its side after the request: the reply can still go out. */
			loop_remove_fd(c->ctl->loop, c->fd);
			c->watched = false;
			return;
		}
		if (n <= 0) {
			client_close(c); /* closed before a whole line: nothing to answer */
			return;
		}
		if (c->held != NULL)
			continue; /* its reply is kept: more bytes are not another request */
		c->len += (size_t)n;
		char *nl = memchr(c->buf, '\n', c->len);
		if (nl == NULL && c->len < CONTROL_REQUEST_MAX)
			continue;
		if (nl == NULL) {
			client_reply(c, "{\"error\": \"too-large\", \"message\": \"request longer "
			                "than 16384 bytes\"}");
			client_close(c);
			return;
		}
		*nl = '\0';
		struct control *ctl = c->ctl;
		ctl->current = c;
		ctl->hold = false;
		char *reply = ctl->handler(ctl->arg, c->buf, (size_t)(nl - c->buf));
		ctl->current = NULL;
		if (ctl->hold && reply != NULL) {
			/* Sent at control_release; nothing more is read from this client. */
			c->held = reply;
			c->len = 0;
			loop_timer_arm(c->timeout, CONTROL_HOLD_MS, 0);
			return;
		}
		client_reply(c, reply != NULL
		                        ? reply
		                        : "{\"error\": \"internal\", \"message\": \"no reply\"}");
		free(reply);
		client_close(c);
		return;
	}
}

static void on_timeout(struct loop *loop, struct loop_timer *timer, void *arg)
{
	(void)loop;
	(void)timer;
	struct client *c = arg;
	if (c->held != NULL) {
		log_err("control: a reply held %d s for its audit row was not released",
		        CONTROL_HOLD_MS / 1000);
		client_reply(c, "{\"error\": \"audit-timeout\", \"message\": \"the verdict's "
		                "audit row was not on disk in time\"}");
	}
	client_close(c);
}

uint64_t control_hold_reply(struct control *ctl)
{
	if (ctl == NULL || ctl->current == NULL)
		return 0;
	ctl->hold = true;
	struct client *c = ctl->current;
	return ((uint64_t)c->generation << 8 | (uint64_t)(c - ctl->clients)) + 1;
}

void control_release(struct control *ctl, uint64_t token)
{
	if (ctl == NULL || token == 0)
		return;
	uint64_t slot = (token - 1) & 0xff;
	if (slot >= CONTROL_CLIENTS_MAX)
		return;
	struct client *c = &ctl->clients[slot];
	/* Gone (closed, timed out) or the slot serves another connection now: nothing to send. */
	if (!c->in_use || c->held == NULL || c->generation != (uint32_t)((token - 1) >> 8))
		return;
	client_reply(c, c->held);
	client_close(c);
}

/* A group name safe to put in a JSON string and a log line as it is. */
static bool name_is_plain(const char *name)
{
	if (name[0] == '\0' || strlen(name) > 60)
		return false;
	for (const char *p = name; *p != '\0'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '_' || *p == '-' || *p == '.'))
			return false;
	return true;
}

static bool peer_allowed(const struct control *ctl, int fd, uid_t *uid)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	*uid = (uid_t)-1;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0)
		return false;
	*uid = cred.uid;
	if (cred.uid == 0 || cred.uid == geteuid())
		return true;
	if (ctl->group == (gid_t)-1)
		return false;
	if (cred.gid == ctl->group)
		return true;
	/* An operator is usually in the group as a supplementary member, which
	 * SO_PEERCRED does not show: ask for the peer's groups (Linux >= 4.13). */
	gid_t groups[256];
	socklen_t glen = sizeof(groups);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &glen) != 0)
		return false; /* ERANGE (over 256 groups) or an old kernel: refuse */
	for (size_t i = 0; i < glen / sizeof(gid_t); i++)
		if (groups[i] == ctl->group)
			return true;
	return false;
}

static void on_accept(struct loop *loop, int fd, uint32_t events, void *arg)
{
	(void)events;
	struct control *ctl = arg;
	for (;;) {
		int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (cfd < 0)
			return; /* EAGAIN, or a transient error: the next event retries */
		uid_t uid;
		if (!peer_allowed(ctl, cfd, &uid)) {
			/* Say why (a silent close reads as a crashed daemon), and log who
			 * knocked - at most one line per interval: anyone may knock. */
			static struct log_limit limit = {.interval_s = 10};
			unsigned long skipped = 0;
			if (log_limit_pass(&limit, &skipped))
				log_warn("control: refused uid %ld (%s); %lu more refusals not "
				         "logged",
				         uid == (uid_t)-1 ? -1L : (long)uid, ctl->reason, skipped);
			char reply[sizeof(ctl->refusal) + 64];
			int n = snprintf(
			        reply, sizeof(reply),
			        "{\"error\": \"permission-denied\", \"message\": \"%s\"}\n",
			        ctl->refusal);
			send_all(cfd, reply, (size_t)n < sizeof(reply) ? (size_t)n : 0);
			close(cfd);
			continue;
		}
		struct client *c = NULL;
		for (size_t i = 0; i < CONTROL_CLIENTS_MAX; i++)
			if (!ctl->clients[i].in_use) {
				c = &ctl->clients[i];
				break;
			}
		if (c == NULL) {
			static const char busy[] = "{\"error\": \"busy\", \"message\": \"too many "
			                           "clients\"}\n";
			send_all(cfd, busy, sizeof(busy) - 1);
			close(cfd);
			continue;
		}
		c->fd = cfd;
		c->len = 0;
		c->in_use = true;
		c->generation++;
		if (loop_add_fd(loop, cfd, EPOLLIN, on_client, c) != QD_OK) {
			close(cfd);
			c->in_use = false;
			continue;
		}
		c->watched = true;
		loop_timer_arm(c->timeout, CONTROL_TIMEOUT_MS, 0);
	}
}

enum qd_err control_open(struct loop *loop, const char *path, gid_t group, control_handler handler,
                         void *arg, struct control **out, struct qd_errmsg *why)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(addr.sun_path)) {
		qd_errmsg_set(why, "%s: path too long for a UNIX socket", path);
		return QD_ERR_ARG;
	}
	struct control *ctl = calloc(1, sizeof(*ctl));
	if (ctl == NULL)
		return QD_ERR_NOMEM;
	ctl->fd = -1; /* fd 0 is a valid socket when stdin is closed */
	ctl->loop = loop;
	ctl->group = group;
	struct group *gr = group != (gid_t)-1 ? getgrgid(group) : NULL;
	if (group == (gid_t)-1)
		snprintf(ctl->reason, sizeof(ctl->reason), "not root or the daemon's user");
	else if (gr != NULL && name_is_plain(gr->gr_name))
		snprintf(ctl->reason, sizeof(ctl->reason), "not in group %.60s", gr->gr_name);
	else
		snprintf(ctl->reason, sizeof(ctl->reason), "not in group %u", (unsigned)group);
	snprintf(ctl->refusal, sizeof(ctl->refusal), "permission denied (%s)", ctl->reason);
	ctl->handler = handler;
	ctl->arg = arg;
	snprintf(ctl->path, sizeof(ctl->path), "%s", path);
	memcpy(addr.sun_path, path, strlen(path) + 1);
	for (size_t i = 0; i < CONTROL_CLIENTS_MAX; i++) {
		ctl->clients[i].ctl = ctl;
		if (loop_timer_create(loop, on_timeout, &ctl->clients[i],
		                      &ctl->clients[i].timeout) != QD_OK) {
			control_close(ctl);
			return QD_ERR_IO;
		}
	}
	ctl->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (ctl->fd < 0) {
		qd_errmsg_set(why, "socket: %s", strerror(errno));
		control_close(ctl);
		return QD_ERR_IO;
	}
	/* A socket file left by a daemon that died is stale: nobody listens on it. */
	struct stat st;
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			qd_errmsg_set(why, "%s exists and is not a socket", path);
			control_close(ctl);
			return QD_ERR_EXISTS;
		}
		char *probe = NULL;
		if (control_call(path, NULL, &probe, NULL) == QD_OK) {
			free(probe);
			qd_errmsg_set(why, "%s: another qrdeskd is listening there", path);
			control_close(ctl);
			return QD_ERR_EXISTS;
		}
		unlink(path);
	}
	mode_t old = umask(0117); /* the socket file: 0660 */
	int rc = bind(ctl->fd, (struct sockaddr *)&addr, sizeof(addr));
	umask(old);
	if (rc != 0 || listen(ctl->fd, 16) != 0) {
		qd_errmsg_set(why, "%s: %s", path, strerror(errno));
		control_close(ctl);
		return QD_ERR_IO;
	}
	if (group != (gid_t)-1 && chown(path, (uid_t)-1, group) != 0) {
		qd_errmsg_set(why, "%s: cannot give it to group %u: %s", path, (unsigned)group,
		              strerror(errno));
		control_close(ctl);
		return QD_ERR_IO;
	}
	if (loop_add_fd(loop, ctl->fd, EPOLLIN, on_accept, ctl) != QD_OK) {
		qd_errmsg_set(why, "%s: cannot watch the socket", path);
		control_close(ctl);
		return QD_ERR_IO;
	}
	*out = ctl;
	return QD_OK;
}

void control_close(struct control *ctl)
{
	if (ctl == NULL)
		return;
	for (size_t i = 0; i < CONTROL_CLIENTS_MAX; i++) {
		client_close(&ctl->clients[i]);
		loop_timer_destroy(ctl->clients[i].timeout);
	}
	if (ctl->fd >= 0) {
		loop_remove_fd(ctl->loop, ctl->fd);
		close(ctl->fd);
		unlink(ctl->path);
	}
	free(ctl);
}

enum qd_err control_call(const char *path, const char *request, char **reply, struct qd_errmsg *why)
{
	*reply = NULL;
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(addr.sun_path)) {
		qd_errmsg_set(why, "%s: path too long", path);
		return QD_ERR_ARG;
	}
	memcpy(addr.sun_path, path, strlen(path) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return QD_ERR_IO;
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0) {
		int saved = errno;
		close(fd);
		struct stat st;
		if (saved == EACCES && stat(path, &st) == 0) {
			/* The socket's mode refused us: name the group that would not. */
			struct group *gr = getgrgid(st.st_gid);
			if (gr != NULL && name_is_plain(gr->gr_name))
				qd_errmsg_set(why, "%s: permission denied (not in group %s)", path,
				              gr->gr_name);
			else
				qd_errmsg_set(why, "%s: permission denied (not in group %u)", path,
				              (unsigned)st.st_gid);
			return QD_ERR_PERM;
		}
		qd_errmsg_set(why, "%s: %s (is qrdeskd running?)", path, strerror(saved));
		return saved == ENOENT || saved == ECONNREFUSED ? QD_ERR_NOT_FOUND : QD_ERR_IO;
	}
	struct timeval tv = {.tv_sec = 10};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (request == NULL) { /* a liveness probe: connecting was the answer */
		close(fd);
		*reply = calloc(1, 1);
		return *reply ? QD_OK : QD_ERR_NOMEM;
	}
	send_all(fd, request, strlen(request));
	send_all(fd, "\n", 1);
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap);
	if (buf == NULL) {
		close(fd);
		return QD_ERR_NOMEM;
	}
	enum qd_err rc = QD_OK;
	for (;;) {
		if (len + 1 >= cap) {
			if (cap >= 1024 * 1024) {
				rc = QD_ERR_TOO_LARGE;
				break;
			}
			char *bigger = realloc(buf, cap * 2);
			if (bigger == NULL) {
				rc = QD_ERR_NOMEM;
				break;
			}
			buf = bigger;
			cap *= 2;
		}
		ssize_t n = recv(fd, buf + len, cap - len - 1, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
		if (memchr(buf + len - (size_t)n, '\n', (size_t)n) != NULL)
			break;
	}
	close(fd);
	if (rc != QD_OK || len == 0) {
		free(buf);
		qd_errmsg_set(why, "%s: %s", path,
		              rc == QD_ERR_TOO_LARGE ? "reply too large"
		              : rc != QD_OK          ? "out of memory"
		                                     : "no reply");
		return rc != QD_OK ? rc : QD_ERR_IO;
	}
	buf[len] = '\0';
	char *nl = strchr(buf, '\n');
	if (nl != NULL)
		*nl = '\0';
	*reply = buf;
	return QD_OK;
}

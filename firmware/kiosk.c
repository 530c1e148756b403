/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kiosk.c - the kiosk's HTTP server (see kiosk.h and docs/kiosk.md).
 *
 * libmicrohttpd 0.9.75 runs in thread-per-connection mode: an event
 * stream's content reader may then simply block (on our condition variable,
 * at most KIOSK_KEEPALIVE_MS) without stalling any other connection, which
 * is the plainest correct way to push from another thread in that version.
 * Every reader returns data at least once a second, so a browser that went
 * away is noticed at the next write and its thread ends.  Connections are
 * capped (KIOSK_CONNECTIONS, and KIOSK_STREAMS_MAX streams among them) and
 * idle ones time out, so a misbehaving client costs a bounded few threads.
 *
 * The display's own listener (cfg.display): a second server on 127.0.0.1
 * whose accept policy asks the kernel (sock_diag) which local user owns the
 * connecting socket and closes it at once unless that is the kiosk
 * browser's user: no other user's connection ever holds one of its slots,
 * so however the main port is starved, the display's page and stream load.
 * A kernel-reported uid rather than a token: a token would sit in the
 * browser's command line, which every local user can read in /proc.
 *
 * Shared state (struct kiosk, under k->lock) is written only by the
 * publishers on the loop thread, and read by copying out; texts in it are
 * immutable once published (a new one replaces the old pointer).
 *
 * Security.  Every response carries a strict Content-Security-Policy (no
 * inline script, Trusted Types so no markup can be built from strings),
 * nosniff and frame-ancestors 'none'.  A request whose Host is a name
 * other than "localhost" is refused: that is what a DNS-rebinding page
 * would send, and the event stream carries holder names.  Technician
 * requests need the configured token, compared in constant time.
 */
#include "qrdesk/kiosk.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "qrdesk/country.h"
#include "kiosk_assets.h"
#include "qrdesk/log.h"
#include "qrdesk/loop.h"
#include "qrdesk/verdict_event.h"

#define CONNECTION_TIMEOUT_S 10
#define STREAM_BLOCK         8192
#define KIOSK_STOP_WAIT_MS   1000 /* for the streams to end when the daemon stops */

static const char csp[] = "default-src 'self'; script-src 'self'; style-src 'self'; "
                          "img-src 'self'; font-src 'self'; connect-src 'self'; "
                          "object-src 'none'; base-uri 'none'; form-action 'none'; "
                          "frame-ancestors 'none'; require-trusted-types-for 'script'; "
                          "trusted-types 'none'";

struct ring_entry {
	uint64_t seq;         /* 0: empty */
	int64_t published_us; /* monotonic */
	char *text;           /* the event JSON, one line */
	/* The technician's summary of it: nothing personal. */
	int64_t time_us;
	int64_t latency_us;
	char verdict[8];
	char reason[32];
	char source[SOURCE_NAME_MAX];
};

/* Who a connection comes from, for the per-client cap. */
struct client_key {
	bool by_uid; /* a local user (loopback): uid; else the address */
	uint32_t uid;
	uint8_t addr[16];
};

/* One open connection (MHD's socket context); under k->lock. */
struct conn {
	bool used;
	int fd;
	struct client_key key;
	int64_t since_us; /* monotonic: connected, or the last request's headers began */
	bool streaming;   /* an event stream runs on it: no deadline */
	bool display;     /* on the display's listener: its own slots, no stream cap */
};

/* One listening server; the callbacks' argument. */
struct listener {
	struct kiosk *k;
	bool display;
	struct MHD_Daemon *mhd;
	atomic_uint port; /* bound port; 0 until known (the display's accept policy needs it) */
};

struct kiosk {
	struct kiosk_config cfg;
	struct listener main_side, display_side;
	/* While MHD_start_daemon runs: the library's start-up errors are dropped,
	 * since kiosk_start reports them itself (logged once, by its caller). */
	atomic_bool starting;
	/* Event ids are "<boot>.<seq>": a restarted daemon's seq starts again at 1,
	 * and a browser's Last-Event-ID from before the restart must not match. */
	char boot[24];
	pthread_mutex_t lock;
	pthread_cond_t changed; /* on CLOCK_MONOTONIC; broadcast on publish and stop */
	/* Under lock: */
	bool stopping;
	uint32_t idle_ms;
	char *status;  /* latest status JSON, or NULL */
	char *metrics; /* latest Prometheus text, or NULL */
	struct ring_entry ring[KIOSK_RING];
	uint64_t newest_seq; /* 0: no verdict yet */
	unsigned streams;
	unsigned display_streams; /* of streams: on the display listener, outside the caps */
	uint64_t streams_refused;
	uint64_t tech_refused;
	/* [0, KIOSK_CONNECTIONS): the main listener's; then the display's. */
	struct conn conns[KIOSK_CONNECTIONS + KIOSK_DISPLAY_CONNECTIONS];
	uint64_t client_capped;   /* connections closed: their client had KIOSK_PER_CLIENT */
	uint64_t deadline_closed; /* connections closed: no whole request within the deadline */
	uint64_t display_refused; /* display listener: connections of another user, closed */
	pthread_t watchdog;
	bool watchdog_running;
};

/* --- helpers ----------------------------------------------------------------------------- */

void kiosk_mask_passport(const char *passport, char out[17])
{
	verdict_mask_passport(passport, out);
}

json_t *kiosk_event_json(const struct pipeline_event *ev, const char *desk_id)
{
	return verdict_event_json(ev, desk_id, VERDICT_JSON_PAGE);
}

/* One line: the SSE data field must not be split by a newline. */
static bool one_line(const char *s)
{
	return strpbrk(s, "\r\n") == NULL;
}

/* Replace *slot with a copy of text (under the lock). */
static enum qd_err replace_text(char **slot, const char *text)
{
	char *copy = NULL;
	if (text != NULL) {
		copy = strdup(text);
		if (copy == NULL)
			return QD_ERR_NOMEM;
	}
	free(*slot);
	*slot = copy;
	return QD_OK;
}

static void abs_deadline(int64_t mono_us, struct timespec *ts)
{
	ts->tv_sec = (time_t)(mono_us / 1000000);
	ts->tv_nsec = (long)(mono_us % 1000000) * 1000;
}

/* --- publishing (loop thread) ------------------------------------------------------------ */

enum qd_err kiosk_publish_verdict(struct kiosk *k, const struct pipeline_event *ev,
                                  const char *desk_id)
{
	json_t *obj = kiosk_event_json(ev, desk_id);
	char *text = obj ? json_dumps(obj, JSON_COMPACT) : NULL;
	json_decref(obj);
	if (text == NULL)
		return QD_ERR_NOMEM;
	if (!one_line(text)) { /* jansson escapes control characters; never expected */
		free(text);
		return QD_ERR_FORMAT;
	}
	pthread_mutex_lock(&k->lock);
	struct ring_entry *e = &k->ring[ev->seq % KIOSK_RING];
	free(e->text);
	e->seq = ev->seq;
	e->published_us = loop_now_us();
	e->text = text;
	e->time_us = ev->wall_us;
	e->latency_us = ev->latency_us;
	snprintf(e->verdict, sizeof(e->verdict), "%s", verdict_kind_name(ev->verdict.kind));
	snprintf(e->reason, sizeof(e->reason), "%s", reason_code(ev->verdict.reason));
	snprintf(e->source, sizeof(e->source), "%s", ev->source);
	k->newest_seq = ev->seq;
	pthread_cond_broadcast(&k->changed);
	pthread_mutex_unlock(&k->lock);
	return QD_OK;
}

/*
 * The status as anyone who can reach the port sees it: the last verdict cut
 * to seq, verdict, reason and time.  Its detail ("age 20 on ..."), policy
 * rules and pseudonym are claim-derived; they stay on the control socket,
 * the technician API and the officer's screen.
 */
static char *public_status(const char *status_json)
{
	json_error_t jerr;
	json_t *st = json_loads(status_json, 0, &jerr);
	if (st == NULL)
		return NULL;
	json_t *lv = json_object_get(st, "last_verdict");
	if (json_is_object(lv)) {
		json_t *cut = json_object();
		static const char *const keep[] = {"seq", "verdict", "reason", "time"};
		for (size_t i = 0; cut != NULL && i < sizeof(keep) / sizeof(keep[0]); i++) {
			json_t *v = json_object_get(lv, keep[i]);
			if (v != NULL)
				json_object_set(cut, keep[i], v);
		}
		json_object_set_new(st, "last_verdict", cut != NULL ? cut : json_null());
	}
	char *text = json_dumps(st, JSON_COMPACT);
	json_decref(st);
	return text;
}

enum qd_err kiosk_publish_status(struct kiosk *k, const char *status_json, const char *metrics)
{
	if (status_json != NULL && !one_line(status_json))
		return QD_ERR_FORMAT;
	char *pub = NULL;
	if (status_json != NULL && (pub = public_status(status_json)) == NULL)
		return QD_ERR_FORMAT; /* not JSON, or no memory: the old status stays */
	pthread_mutex_lock(&k->lock);
	enum qd_err rc = replace_text(&k->status, pub);
	free(pub);
	if (rc == QD_OK)
		rc = replace_text(&k->metrics, metrics);
	pthread_mutex_unlock(&k->lock);
	return rc;
}

void kiosk_set_idle_ms(struct kiosk *k, uint32_t idle_ms)
{
	pthread_mutex_lock(&k->lock);
	k->idle_ms = idle_ms;
	pthread_mutex_unlock(&k->lock);
}

uint16_t kiosk_port(const struct kiosk *k)
{
	return (uint16_t)atomic_load(&k->main_side.port);
}

uint16_t kiosk_display_port(const struct kiosk *k)
{
	return k->cfg.display ? (uint16_t)atomic_load(&k->display_side.port) : 0;
}

/* --- responses ------------------------------------------------------------------------- */

static void security_headers(struct MHD_Response *r)
{
	MHD_add_response_header(r, "Content-Security-Policy", csp);
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(r, "X-Frame-Options", "DENY");
	MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(r, "Cross-Origin-Opener-Policy", "same-origin");
	MHD_add_response_header(r, "Cross-Origin-Resource-Policy", "same-origin");
	MHD_add_response_header(r, "Permissions-Policy",
	                        "camera=(), microphone=(), geolocation=(), usb=()");
}

/* One response: the security headers, a type, a cache policy and at most one extra header. */
static enum MHD_Result send_copy_with(struct MHD_Connection *c, unsigned status, const char *type,
                                      const char *body, size_t len, const char *cache,
                                      const char *extra_name, const char *extra_value)
{
	struct MHD_Response *r =
	        MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
	if (r == NULL)
		return MHD_NO;
	security_headers(r);
	MHD_add_response_header(r, "Content-Type", type);
	MHD_add_response_header(r, "Cache-Control", cache);
	if (extra_name != NULL)
		MHD_add_response_header(r, extra_name, extra_value);
	enum MHD_Result ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result send_copy(struct MHD_Connection *c, unsigned status, const char *type,
                                 const char *body, size_t len, const char *cache)
{
	return send_copy_with(c, status, type, body, len, cache, NULL, NULL);
}

/* A short plain-text answer (errors), with an optional extra header (Allow, Retry-After...). */
static enum MHD_Result send_text_with(struct MHD_Connection *c, unsigned status, const char *text,
                                      const char *extra_name, const char *extra_value)
{
	return send_copy_with(c, status, "text/plain; charset=utf-8", text, strlen(text),
	                      "no-store", extra_name, extra_value);
}

static enum MHD_Result send_text(struct MHD_Connection *c, unsigned status, const char *text)
{
	return send_text_with(c, status, text, NULL, NULL);
}

static enum MHD_Result send_json(struct MHD_Connection *c, unsigned status, json_t *obj)
{
	char *text = obj ? json_dumps(obj, JSON_COMPACT) : NULL;
	json_decref(obj);
	if (text == NULL)
		return send_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
	enum MHD_Result ret =
	        send_copy(c, status, "application/json", text, strlen(text), "no-store");
	free(text);
	return ret;
}

static enum MHD_Result send_asset(struct MHD_Connection *c, const struct kiosk_asset *a)
{
	struct MHD_Response *r =
	        MHD_create_response_from_buffer(a->size, (void *)a->data, MHD_RESPMEM_PERSISTENT);
	if (r == NULL)
		return MHD_NO;
	security_headers(r);
	MHD_add_response_header(r, "Content-Type", a->content_type);
	/* Revalidate each load: a firmware update must not leave an old page. */
	MHD_add_response_header(r, "Cache-Control", "no-cache");
	enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

/* Copy a published text out, or answer 503 while there is none yet. */
static enum MHD_Result send_published(struct kiosk *k, struct MHD_Connection *c, bool metrics)
{
	static const char own_fmt[] =
	        "# HELP qrdesk_kiosk_event_streams Kiosk event streams open now.\n"
	        "# TYPE qrdesk_kiosk_event_streams gauge\n"
	        "qrdesk_kiosk_event_streams %u\n"
	        "# HELP qrdesk_kiosk_streams_refused_total Event streams refused (limit reached).\n"
	        "# TYPE qrdesk_kiosk_streams_refused_total counter\n"
	        "qrdesk_kiosk_streams_refused_total %llu\n"
	        "# HELP qrdesk_kiosk_technician_refused_total Technician requests refused (no or "
	        "wrong token).\n"
	        "# TYPE qrdesk_kiosk_technician_refused_total counter\n"
	        "qrdesk_kiosk_technician_refused_total %llu\n"
	        "# HELP qrdesk_kiosk_client_capped_total Connections closed: their client had "
	        "too many open.\n"
	        "# TYPE qrdesk_kiosk_client_capped_total counter\n"
	        "qrdesk_kiosk_client_capped_total %llu\n"
	        "# HELP qrdesk_kiosk_deadline_closed_total Connections closed: no whole request "
	        "within the deadline.\n"
	        "# TYPE qrdesk_kiosk_deadline_closed_total counter\n"
	        "qrdesk_kiosk_deadline_closed_total %llu\n"
	        "# HELP qrdesk_kiosk_display_refused_total Connections to the display's listener "
	        "closed: not the display's user.\n"
	        "# TYPE qrdesk_kiosk_display_refused_total counter\n"
	        "qrdesk_kiosk_display_refused_total %llu\n";
	if (k->cfg.on_status_read != NULL)
		k->cfg.on_status_read(k->cfg.status_arg);
	pthread_mutex_lock(&k->lock);
	const char *src = metrics ? k->metrics : k->status;
	bool have = src != NULL;
	char *text = NULL;
	if (have) {
		size_t n = strlen(src), own = 0;
		char tail[2048] = "";
		if (metrics) /* the server's own numbers, known only here */
			own = (size_t)snprintf(tail, sizeof(tail), own_fmt, k->streams,
			                       (unsigned long long)k->streams_refused,
			                       (unsigned long long)k->tech_refused,
			                       (unsigned long long)k->client_capped,
			                       (unsigned long long)k->deadline_closed,
			                       (unsigned long long)k->display_refused);
		text = malloc(n + own + 1);
		if (text != NULL) {
			memcpy(text, src, n);
			memcpy(text + n, tail, own + 1);
		}
	}
	pthread_mutex_unlock(&k->lock);
	if (!have)
		return send_text(c, MHD_HTTP_SERVICE_UNAVAILABLE, "starting\n");
	if (text == NULL)
		return send_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
	enum MHD_Result ret =
	        metrics ? send_copy(c, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8",
	                            text, strlen(text), "no-store")
	                : send_copy(c, MHD_HTTP_OK, "application/json", text, strlen(text),
	                            "no-store");
	free(text);
	return ret;
}

/* --- connections: a cap per client, a deadline per request ------------------------------ */

/*
 * The uid owning the other end of a loopback TCP connection from peer to
 * self: one exact sock_diag lookup of the peer's socket (the kernel keeps
 * its uid).  False if the kernel will not say.
 */
static bool diag_peer_uid(const struct sockaddr_storage *pp, const struct sockaddr_storage *sp,
                          uint32_t *uid)
{
	const struct sockaddr_storage peer = *pp, self = *sp;
	if (peer.ss_family != self.ss_family)
		return false;
	struct {
		struct nlmsghdr nlh;
		struct inet_diag_req_v2 r;
	} req = {.nlh = {.nlmsg_len = sizeof(req),
	                 .nlmsg_type = SOCK_DIAG_BY_FAMILY,
	                 .nlmsg_flags = NLM_F_REQUEST},
	         .r = {.sdiag_family = (uint8_t)peer.ss_family,
	               .sdiag_protocol = IPPROTO_TCP,
	               .idiag_states = ~0u,
	               .id = {.idiag_cookie = {INET_DIAG_NOCOOKIE, INET_DIAG_NOCOOKIE}}}};
	/* The peer's socket: its source is the peer's address, its destination ours. */
	if (peer.ss_family == AF_INET) {
		const struct sockaddr_in *p4 = (const void *)&peer, *s4 = (const void *)&self;
		if ((ntohl(p4->sin_addr.s_addr) >> 24) != 127)
			return false;
		req.r.id.idiag_sport = p4->sin_port;
		req.r.id.idiag_dport = s4->sin_port;
		memcpy(req.r.id.idiag_src, &p4->sin_addr, 4);
		memcpy(req.r.id.idiag_dst, &s4->sin_addr, 4);
	} else if (peer.ss_family == AF_INET6) {
		const struct sockaddr_in6 *p6 = (const void *)&peer, *s6 = (const void *)&self;
		if (!IN6_IS_ADDR_LOOPBACK(&p6->sin6_addr))
			return false;
		req.r.id.idiag_sport = p6->sin6_port;
		req.r.id.idiag_dport = s6->sin6_port;
		memcpy(req.r.id.idiag_src, &p6->sin6_addr, 16);
		memcpy(req.r.id.idiag_dst, &s6->sin6_addr, 16);
	} else {
		return false;
	}
	int nl = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (nl < 0)
		return false;
	struct timeval tv = {.tv_usec = 200000};
	setsockopt(nl, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	union {
		struct nlmsghdr h;
		char buf[1024];
	} ans;
	bool ok = false;
	if (send(nl, &req, sizeof(req), 0) == (ssize_t)sizeof(req)) {
		ssize_t n = recv(nl, &ans, sizeof(ans), 0);
		if (n >= (ssize_t)NLMSG_LENGTH(sizeof(struct inet_diag_msg)) &&
		    NLMSG_OK(&ans.h, (size_t)n) && ans.h.nlmsg_type == SOCK_DIAG_BY_FAMILY) {
			const struct inet_diag_msg *m = NLMSG_DATA(&ans.h);
			*uid = m->idiag_uid;
			ok = true;
		}
	}
	close(nl);
	return ok;
}

/* The uid of a loopback connection's other end; false: the client is keyed by its address. */
static bool loopback_peer_uid(int fd, uint32_t *uid)
{
	struct sockaddr_storage peer, self;
	socklen_t plen = sizeof(peer), slen = sizeof(self);
	if (getpeername(fd, (struct sockaddr *)&peer, &plen) != 0 ||
	    getsockname(fd, (struct sockaddr *)&self, &slen) != 0)
		return false;
	return diag_peer_uid(&peer, &self, uid);
}

/*
 * The display listener's accept policy, before the connection takes a slot
 * or a thread: the kiosk browser's user only.  The listener is bound to
 * 127.0.0.1, so our end of the connection is known without its fd.
 */
static enum MHD_Result display_accept(void *cls, const struct sockaddr *addr, socklen_t len)
{
	struct listener *l = cls;
	struct kiosk *k = l->k;
	unsigned port = atomic_load(&l->port);
	uint32_t uid = 0;
	bool ok = false;
	if (port != 0 && addr != NULL && addr->sa_family == AF_INET &&
	    len >= (socklen_t)sizeof(struct sockaddr_in)) {
		struct sockaddr_storage peer = {0}, self = {0};
		memcpy(&peer, addr, sizeof(struct sockaddr_in));
		struct sockaddr_in *s4 = (struct sockaddr_in *)&self;
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		ok = diag_peer_uid(&peer, &self, &uid) && uid == k->cfg.display_uid;
	}
	if (ok)
		return MHD_YES;
	pthread_mutex_lock(&k->lock);
	k->display_refused++;
	pthread_mutex_unlock(&k->lock);
	static struct log_limit limit = {.interval_s = 10};
	unsigned long skipped = 0;
	if (log_limit_pass(&limit, &skipped))
		log_warn("kiosk: display listener: a connection of local uid %ld closed: only uid "
		         "%u's (the display's) are served there (%lu more not logged)",
		         port != 0 && uid != k->cfg.display_uid ? (long)uid : -1L,
		         (unsigned)k->cfg.display_uid, skipped);
	return MHD_NO;
}

/* Member by member: the struct has padding, so its bytes are no key. */
static bool client_key_equal(const struct client_key *a, const struct client_key *b)
{
	if (a->by_uid != b->by_uid)
		return false;
	if (a->by_uid)
		return a->uid == b->uid;
	return memcmp(a->addr, b->addr, sizeof(a->addr)) == 0;
}

static void client_key_of(int fd, const struct sockaddr *addr, struct client_key *key)
{
	memset(key, 0, sizeof(*key));
	if (loopback_peer_uid(fd, &key->uid)) {
		key->by_uid = true;
		return;
	}
	if (addr != NULL && addr->sa_family == AF_INET)
		memcpy(key->addr, &((const struct sockaddr_in *)(const void *)addr)->sin_addr, 4);
	else if (addr != NULL && addr->sa_family == AF_INET6)
		memcpy(key->addr, &((const struct sockaddr_in6 *)(const void *)addr)->sin6_addr,
		       16);
}

static void on_connection(void *cls, struct MHD_Connection *c, void **ctx,
                          enum MHD_ConnectionNotificationCode toe)
{
	struct listener *l = cls;
	struct kiosk *k = l->k;
	if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
		struct conn *conn = *ctx;
		if (conn != NULL) {
			pthread_mutex_lock(&k->lock);
			conn->used = false;
			pthread_mutex_unlock(&k->lock);
		}
		*ctx = NULL;
		return;
	}
	const union MHD_ConnectionInfo *fdi =
	        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
	const union MHD_ConnectionInfo *ai =
	        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	*ctx = NULL;
	if (fdi == NULL)
		return;
	struct client_key key;
	client_key_of(fdi->connect_fd, ai != NULL ? ai->client_addr : NULL, &key);
	pthread_mutex_lock(&k->lock);
	struct conn *free_slot = NULL;
	unsigned same = 0;
	size_t lo = l->display ? KIOSK_CONNECTIONS : 0;
	size_t hi = l->display ? KIOSK_CONNECTIONS + KIOSK_DISPLAY_CONNECTIONS : KIOSK_CONNECTIONS;
	for (size_t i = lo; i < hi; i++) {
		struct conn *o = &k->conns[i];
		if (!o->used)
			free_slot = free_slot != NULL ? free_slot : o;
		else if (client_key_equal(&o->key, &key))
			same++;
	}
	/* The display's listener serves one user: its own connection limit is the cap. */
	bool capped = (!l->display && same >= KIOSK_PER_CLIENT) || free_slot == NULL;
	if (capped) {
		k->client_capped++;
	} else {
		*free_slot = (struct conn){.used = true,
		                           .fd = fdi->connect_fd,
		                           .key = key,
		                           .since_us = loop_now_us(),
		                           .display = l->display};
		*ctx = free_slot;
	}
	pthread_mutex_unlock(&k->lock);
	if (capped) {
		/* Its thread sees the end of the stream and closes it. */
		shutdown(fdi->connect_fd, SHUT_RDWR);
		static struct log_limit limit = {.interval_s = 10};
		unsigned long skipped = 0;
		if (log_limit_pass(&limit, &skipped))
			log_warn("kiosk: a connection closed: %s %u has %d open (%lu more not "
			         "logged)",
			         key.by_uid ? "local uid" : "client",
			         key.by_uid ? (unsigned)key.uid : 0u, KIOSK_PER_CLIENT, skipped);
	}
}

/* The connection's headers are complete: its next deadline starts. */
static void conn_request(struct kiosk *k, struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci =
	        MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	struct conn *conn = ci != NULL ? ci->socket_context : NULL;
	if (conn == NULL)
		return;
	pthread_mutex_lock(&k->lock);
	conn->since_us = loop_now_us();
	conn->streaming = false;
	pthread_mutex_unlock(&k->lock);
}

/*
 * Twice a second: a connection whose request is not whole within the
 * deadline is shut down, however slowly its bytes came (libmicrohttpd's own
 * timeout restarts with every byte).  Under the lock, so a slot freed by
 * NOTIFY_CLOSED - before libmicrohttpd closes the fd - is never touched.
 */
static void *watchdog(void *arg)
{
	struct kiosk *k = arg;
	pthread_mutex_lock(&k->lock);
	while (!k->stopping) {
		struct timespec ts;
		abs_deadline(loop_now_us() + 500000, &ts);
		pthread_cond_timedwait(&k->changed, &k->lock, &ts);
		int64_t too_old = loop_now_us() - (int64_t)KIOSK_REQUEST_DEADLINE_S * 1000000;
		unsigned closed = 0;
		for (size_t i = 0; i < KIOSK_CONNECTIONS + KIOSK_DISPLAY_CONNECTIONS; i++) {
			struct conn *o = &k->conns[i];
			if (o->used && !o->streaming && o->since_us < too_old) {
				shutdown(o->fd, SHUT_RDWR);
				o->since_us = INT64_MAX; /* once */
				closed++;
			}
		}
		k->deadline_closed += closed;
		if (closed > 0) {
			static struct log_limit limit = {.interval_s = 10};
			unsigned long skipped = 0;
			if (log_limit_pass(&limit, &skipped))
				log_warn("kiosk: %u connection%s closed: no whole request within "
				         "%d s "
				         "(%lu more not logged)",
				         closed, closed == 1 ? "" : "s", KIOSK_REQUEST_DEADLINE_S,
				         skipped);
		}
	}
	pthread_mutex_unlock(&k->lock);
	return NULL;
}

/* --- the event stream ------------------------------------------------------------------ */

struct stream {
	struct kiosk *k;
	bool display;         /* counted in display_streams too */
	uint64_t next_seq;    /* the next verdict to send */
	int64_t last_send_us; /* monotonic; 0: nothing sent yet */
	char *buf;
	size_t len, off, cap;
};

static bool stream_reserve(struct stream *s, size_t need)
{
	if (need <= s->cap)
		return true;
	char *b = realloc(s->buf, need);
	if (b == NULL)
		return false;
	s->buf = b;
	s->cap = need;
	return true;
}

/*
 * Wait for the next thing to send and put it in s->buf: a verdict newer than
 * the last sent, or - when a keep-alive period passed - the status.  False
 * when the server is stopping or memory ran out (the stream then ends; the
 * page reconnects).
 */
static bool stream_fill(struct stream *s)
{
	struct kiosk *k = s->k;
	bool ok = false;
	pthread_mutex_lock(&k->lock);
	int64_t deadline = s->last_send_us + (int64_t)KIOSK_KEEPALIVE_MS * 1000;
	struct timespec ts;
	abs_deadline(deadline, &ts);
	while (!k->stopping && k->newest_seq < s->next_seq && loop_now_us() < deadline)
		if (pthread_cond_timedwait(&k->changed, &k->lock, &ts) == ETIMEDOUT)
			break;
	if (k->stopping)
		goto out;
	s->len = s->off = 0;
	const char *retry = s->last_send_us == 0 ? "retry: 1000\n" : "";
	if (k->newest_seq >= s->next_seq) {
		/* Fell behind by more than the ring holds: skip to the oldest kept. */
		uint64_t seq = s->next_seq;
		if (k->newest_seq - seq >= KIOSK_RING)
			seq = k->newest_seq - KIOSK_RING + 1;
		const struct ring_entry *e = &k->ring[seq % KIOSK_RING];
		size_t need = strlen(e->text) + strlen(k->boot) + 80;
		if (e->seq != seq || !stream_reserve(s, need))
			goto out;
		s->len = (size_t)snprintf(s->buf, s->cap,
		                          "%sid: %s.%llu\nevent: verdict\ndata: %s\n\n", retry,
		                          k->boot, (unsigned long long)seq, e->text);
		s->next_seq = seq + 1;
	} else {
		const char *status = k->status != NULL ? k->status : "null";
		if (!stream_reserve(s, strlen(status) + 48))
			goto out;
		s->len = (size_t)snprintf(s->buf, s->cap, "%sevent: status\ndata: %s\n\n", retry,
		                          status);
	}
	s->last_send_us = loop_now_us();
	ok = true;
out:
	pthread_mutex_unlock(&k->lock);
	return ok;
}

static ssize_t stream_read(void *cls, uint64_t pos, char *out, size_t max)
{
	(void)pos;
	struct stream *s = cls;
	if (s->off >= s->len && !stream_fill(s))
		return MHD_CONTENT_READER_END_OF_STREAM;
	size_t n = s->len - s->off;
	if (n > max)
		n = max;
	memcpy(out, s->buf + s->off, n);
	s->off += n;
	return (ssize_t)n;
}

static void stream_free(void *cls)
{
	struct stream *s = cls;
	pthread_mutex_lock(&s->k->lock);
	s->k->streams--;
	if (s->display)
		s->k->display_streams--;
	pthread_cond_broadcast(&s->k->changed); /* kiosk_stop waits for the last */
	pthread_mutex_unlock(&s->k->lock);
	free(s->buf);
	free(s);
}

/*
 * Where a stream starts.  A browser that reconnects sends the id of the
 * last verdict it saw; it gets the verdicts it missed, but only those still
 * young enough to be on screen - an old verdict shown now would mislead.
 */
bool kiosk_parse_event_id(const char *id, const char *boot, uint64_t *seq)
{
	if (id == NULL || boot == NULL || seq == NULL)
		return false;
	size_t blen = strlen(boot);
	if (strncmp(id, boot, blen) != 0 || id[blen] != '.')
		return false;
	const char *digits = id + blen + 1;
	if (digits[0] < '0' || digits[0] > '9') /* strtoull would take blanks and signs */
		return false;
	char *end = NULL;
	errno = 0;
	unsigned long long v = strtoull(digits, &end, 10);
	if (errno != 0 || *end != '\0')
		return false;
	*seq = v;
	return true;
}

static uint64_t stream_start(struct kiosk *k, const char *last_event_id)
{
	uint64_t start = k->newest_seq + 1;
	uint64_t seen = 0;
	if (!kiosk_parse_event_id(last_event_id, k->boot, &seen) || seen >= k->newest_seq)
		return start;
	int64_t oldest_shown = loop_now_us() - (int64_t)k->idle_ms * 1000;
	for (uint64_t seq = seen + 1; seq <= k->newest_seq; seq++) {
		const struct ring_entry *e = &k->ring[seq % KIOSK_RING];
		if (e->seq == seq && e->published_us >= oldest_shown)
			return seq;
	}
	return start;
}

static enum MHD_Result serve_events(struct kiosk *k, struct MHD_Connection *c)
{
	struct stream *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return send_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
	s->k = k;
	const char *last_id = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Last-Event-ID");
	const union MHD_ConnectionInfo *ci =
	        MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	struct conn *conn = ci != NULL ? ci->socket_context : NULL;
	pthread_mutex_lock(&k->lock);
	/* Streams are capped per client too: one local user holding them all
	 * would leave the display's browser (another user) none. */
	unsigned mine = 0;
	for (size_t i = 0; conn != NULL && i < KIOSK_CONNECTIONS; i++)
		if (k->conns[i].used && k->conns[i].streaming &&
		    client_key_equal(&k->conns[i].key, &conn->key))
			mine++;
	/* The display's streams are bounded by its listener's own slots. */
	s->display = conn != NULL && conn->display;
	bool full = !s->display && (k->streams - k->display_streams >= KIOSK_STREAMS_TOTAL ||
	                            mine >= KIOSK_STREAMS_MAX);
	if (full) {
		k->streams_refused++;
	} else {
		k->streams++;
		if (s->display)
			k->display_streams++;
		if (conn != NULL) /* a running stream has no request deadline */
			conn->streaming = true;
	}
	s->next_seq = stream_start(k, last_id);
	pthread_mutex_unlock(&k->lock);
	if (full) {
		free(s);
		return send_text_with(c, MHD_HTTP_SERVICE_UNAVAILABLE, "too many event streams\n",
		                      "Retry-After", "1");
	}
	/* From here stream_free owns s (and gives back the stream slot). */
	struct MHD_Response *r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, STREAM_BLOCK,
	                                                           stream_read, s, stream_free);
	if (r == NULL) {
		stream_free(s);
		return MHD_NO;
	}
	security_headers(r);
	MHD_add_response_header(r, "Content-Type", "text/event-stream; charset=utf-8");
	MHD_add_response_header(r, "Cache-Control", "no-store");
	enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

/* --- technician requests --------------------------------------------------------------- */

/* Equal in time independent of where they differ (the token's length is not secret). */
static bool token_equal(const char *given, const char *want)
{
	size_t n = strlen(want);
	if (strlen(given) != n)
		return false;
	unsigned char diff = 0;
	for (size_t i = 0; i < n; i++)
		diff |= (unsigned char)(given[i] ^ want[i]);
	return diff == 0;
}

static bool tech_authorised(struct kiosk *k, struct MHD_Connection *c)
{
	const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
	if (auth != NULL && strncasecmp(auth, "Bearer ", 7) == 0 &&
	    token_equal(auth + 7, k->cfg.technician_token))
		return true;
	pthread_mutex_lock(&k->lock);
	k->tech_refused++;
	pthread_mutex_unlock(&k->lock);
	return false;
}

static enum MHD_Result tech_recent(struct kiosk *k, struct MHD_Connection *c)
{
	json_t *list = json_array();
	pthread_mutex_lock(&k->lock);
	uint64_t first = k->newest_seq >= KIOSK_RING ? k->newest_seq - KIOSK_RING + 1 : 1;
	for (uint64_t seq = first; list != NULL && seq <= k->newest_seq; seq++) {
		const struct ring_entry *e = &k->ring[seq % KIOSK_RING];
		if (e->seq != seq)
			continue;
		json_array_append_new(list, json_pack("{s:I, s:I, s:s, s:s, s:s, s:I}", "seq",
		                                      (json_int_t)e->seq, "time_us",
		                                      (json_int_t)e->time_us, "verdict", e->verdict,
		                                      "reason", e->reason, "source", e->source,
		                                      "latency_us", (json_int_t)e->latency_us));
	}
	pthread_mutex_unlock(&k->lock);
	return send_json(c, MHD_HTTP_OK, json_pack("{s:o?}", "recent", list));
}

static enum MHD_Result serve_tech(struct kiosk *k, struct MHD_Connection *c, const char *url,
                                  bool post)
{
	/* Off unless configured: the endpoints do not exist. */
	if (k->cfg.technician_token[0] == '\0')
		return send_text(c, MHD_HTTP_NOT_FOUND, "not found\n");
	if (!tech_authorised(k, c)) {
		/* Anyone can send these: a count per interval, not a line each. */
		static struct log_limit limit = {.interval_s = 10};
		unsigned long skipped = 0;
		if (log_limit_pass(&limit, &skipped))
			log_warn(
			        "kiosk: technician request %s refused: no or wrong token (%lu more "
			        "refused, not logged)",
			        url, skipped);
		return send_text_with(c, MHD_HTTP_UNAUTHORIZED, "token required\n",
		                      "WWW-Authenticate", "Bearer realm=\"qrdesk\"");
	}
	if (strcmp(url, "/api/tech/recent") == 0 && !post)
		return tech_recent(k, c);
	if (strcmp(url, "/api/tech/reload") == 0 && post && k->cfg.on_reload != NULL) {
		log_info("kiosk: technician asked for a reload");
		k->cfg.on_reload(k->cfg.cb_arg);
		return send_json(c, MHD_HTTP_ACCEPTED, json_pack("{s:s}", "reload", "queued"));
	}
	return send_text(c, MHD_HTTP_NOT_FOUND, "not found\n");
}

/* --- routing ----------------------------------------------------------------------------- */

/*
 * Is this Host header one a page served by us would send?  An IP literal
 * or "localhost", with an optional port.  A DNS name is refused: a
 * rebinding attack reaches 127.0.0.1 under its own name.
 */
bool kiosk_host_allowed(const char *host)
{
	if (host == NULL)
		return true; /* HTTP/1.0 without Host: no browser sends that */
	char name[64];
	const char *port = NULL;
	if (host[0] == '[') {
		const char *close = strchr(host, ']');
		if (close == NULL || (size_t)(close - host - 1) >= sizeof(name))
			return false;
		snprintf(name, sizeof(name), "%.*s", (int)(close - host - 1), host + 1);
		if (close[1] == ':')
			port = close + 2;
		else if (close[1] != '\0')
			return false;
		struct in6_addr a6;
		if (inet_pton(AF_INET6, name, &a6) != 1)
			return false;
	} else {
		const char *colon = strchr(host, ':');
		size_t n = colon ? (size_t)(colon - host) : strlen(host);
		if (n >= sizeof(name))
			return false;
		snprintf(name, sizeof(name), "%.*s", (int)n, host);
		if (colon != NULL)
			port = colon + 1;
		struct in_addr a4;
		if (inet_pton(AF_INET, name, &a4) != 1 && strcasecmp(name, "localhost") != 0)
			return false;
	}
	if (port != NULL) {
		if (*port == '\0' || strlen(port) > 5)
			return false;
		for (const char *p = port; *p != '\0'; p++)
			if (*p < '0' || *p > '9')
				return false;
	}
	return true;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
	(void)version;
	(void)upload_data;
	struct kiosk *k = cls;
	/* The first call of a request: its headers are whole; the deadline restarts. */
	static char request_seen;
	if (*con_cls == NULL) {
		*con_cls = &request_seen;
		conn_request(k, c);
	}
	/* Answer at the first call, before any body: no request here carries one
	 * (libmicrohttpd discards a body sent anyway). */
	*upload_data_size = 0;
	log_debug("kiosk: %s %s", method, url);
	if (!kiosk_host_allowed(MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Host")))
		return send_text(c, MHD_HTTP_FORBIDDEN, "forbidden host\n");
	bool get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
	bool post = strcmp(method, "POST") == 0;
	if (strncmp(url, "/api/tech/", 10) == 0 && (get || post))
		return serve_tech(k, c, url, post);
	if (!get) {
		return send_text_with(c, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed\n",
		                      "Allow", "GET, HEAD");
	}
	if (strcmp(url, "/events") == 0)
		return serve_events(k, c);
	if (strcmp(url, "/api/status") == 0)
		return send_published(k, c, false);
	if (strcmp(url, "/metrics") == 0)
		return send_published(k, c, true);
	/* The kiosk's start page (file://, an opaque origin: ACAO "null") waits for this
	 * before it loads the page, so that a browser started while the daemon is down shows
	 * "Disconnected" rather than its own error.  It says only that the daemon is up. */
	if (strcmp(url, "/alive") == 0)
		return send_text_with(c, MHD_HTTP_OK, "up\n", "Access-Control-Allow-Origin",
		                      "null");
	const struct kiosk_asset *a = kiosk_asset_find(url);
	if (a != NULL)
		return send_asset(c, a);
	return send_text(c, MHD_HTTP_NOT_FOUND, "not found\n");
}

__attribute__((format(printf, 2, 0))) static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	const struct kiosk *k = cls;
	if (k->starting)
		return;
	char text[256];
	vsnprintf(text, sizeof(text), fmt, ap);
	size_t n = strlen(text);
	while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == '\r'))
		text[--n] = '\0';
	/* Mostly what clients did wrong (half-sent requests...): anyone can cause it. */
	static struct log_limit limit = {.interval_s = 10};
	unsigned long skipped = 0;
	if (log_limit_pass(&limit, &skipped))
		log_warn("kiosk: libmicrohttpd: %s (%lu more messages not logged)", text, skipped);
}

/* --- start and stop ------------------------------------------------------------------------ */

/*
 * Start one server on addr: the main one (everyone, capped per client) or
 * the display's (the accept policy admits its user only).  Server threads
 * inherit this thread's signal mask: everything is blocked while they are
 * made, so that SIGTERM, SIGHUP... reach the loop's signalfd and never a
 * server thread (whose default action would end the daemon uncleanly).
 */
static int start_listener(struct kiosk *k, struct listener *l, unsigned flags,
                          const struct sockaddr *addr, uint16_t port)
{
	l->k = k;
	atomic_store(&l->port, port); /* 0 until the bound port is known */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	k->starting = true;
	errno = 0;
	/* The logger first: libmicrohttpd logs about the options after it. */
	l->mhd = MHD_start_daemon(
	        flags, port, l->display ? display_accept : NULL, l, on_request, k,
	        MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, k, MHD_OPTION_SOCK_ADDR, addr,
	        MHD_OPTION_CONNECTION_LIMIT,
	        (unsigned)(l->display ? KIOSK_DISPLAY_CONNECTIONS : KIOSK_CONNECTIONS),
	        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)CONNECTION_TIMEOUT_S,
	        MHD_OPTION_NOTIFY_CONNECTION, on_connection, l, MHD_OPTION_END);
	int err = errno;
	k->starting = false;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (l->mhd == NULL)
		return err != 0 ? err : -1;
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(l->mhd, MHD_DAEMON_INFO_BIND_PORT);
	atomic_store(&l->port, info != NULL ? info->port : port);
	return 0;
}

enum qd_err kiosk_start(const struct kiosk_config *cfg, struct kiosk **out, struct qd_errmsg *why)
{
	struct sockaddr_in a4 = {.sin_family = AF_INET, .sin_port = htons(cfg->port)};
	struct sockaddr_in6 a6 = {.sin6_family = AF_INET6, .sin6_port = htons(cfg->port)};
	unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
	                 MHD_USE_POLL | MHD_USE_ERROR_LOG;
	const struct sockaddr *addr = (const struct sockaddr *)&a4;
	bool v6 = false;
	if (inet_pton(AF_INET, cfg->address, &a4.sin_addr) != 1) {
		if (inet_pton(AF_INET6, cfg->address, &a6.sin6_addr) != 1) {
			qd_errmsg_set(why, "address %s is not an IPv4 or IPv6 address",
			              cfg->address);
			return QD_ERR_ARG;
		}
		addr = (const struct sockaddr *)&a6;
		v6 = true;
	}
	struct kiosk *k = calloc(1, sizeof(*k));
	if (k == NULL)
		return QD_ERR_NOMEM;
	k->cfg = *cfg;
	k->idle_ms = cfg->idle_ms;
	k->display_side.display = true;
	snprintf(k->boot, sizeof(k->boot), "%llx", (unsigned long long)loop_wall_us());
	pthread_condattr_t attr;
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC); /* loop_now_us() is monotonic */
	pthread_mutex_init(&k->lock, NULL);
	pthread_cond_init(&k->changed, &attr);
	pthread_condattr_destroy(&attr);

	int err =
	        start_listener(k, &k->main_side, flags | (v6 ? MHD_USE_IPv6 : 0u), addr, cfg->port);
	if (err != 0) {
		qd_errmsg_set(why, "cannot serve on %s%s%s:%u: %s", v6 ? "[" : "", cfg->address,
		              v6 ? "]" : "", (unsigned)cfg->port,
		              err > 0 ? strerror(err) : "libmicrohttpd failed to start");
		pthread_cond_destroy(&k->changed);
		pthread_mutex_destroy(&k->lock);
		free(k);
		return QD_ERR_IO;
	}
	if (cfg->display) {
		/* Loopback only: the display is this machine's screen. */
		struct sockaddr_in d4 = {.sin_family = AF_INET,
		                         .sin_port = htons(cfg->display_port),
		                         .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
		err = start_listener(k, &k->display_side, flags, (const struct sockaddr *)&d4,
		                     cfg->display_port);
		if (err != 0) {
			qd_errmsg_set(why, "cannot serve the display on 127.0.0.1:%u: %s",
			              (unsigned)cfg->display_port,
			              err > 0 ? strerror(err) : "libmicrohttpd failed to start");
			kiosk_stop(k);
			return QD_ERR_IO;
		}
	}
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	k->watchdog_running = pthread_create(&k->watchdog, NULL, watchdog, k) == 0;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!k->watchdog_running) {
		qd_errmsg_set(why, "cannot start the kiosk's request watchdog");
		kiosk_stop(k);
		return QD_ERR_IO;
	}
	*out = k;
	return QD_OK;
}

void kiosk_stop(struct kiosk *k)
{
	if (k == NULL)
		return;
	/*
	 * Wake every stream so its reader returns end-of-stream, and give them
	 * up to KIOSK_STOP_WAIT_MS to send it: a stream cut by MHD_stop_daemon
	 * before its last chunk is a broken response to the browser
	 * (ERR_INCOMPLETE_CHUNKED_ENCODING), where an ended one just reconnects.
	 */
	pthread_mutex_lock(&k->lock);
	k->stopping = true;
	pthread_cond_broadcast(&k->changed);
	struct timespec ts;
	abs_deadline(loop_now_us() + (int64_t)KIOSK_STOP_WAIT_MS * 1000, &ts);
	while (k->streams > 0)
		if (pthread_cond_timedwait(&k->changed, &k->lock, &ts) == ETIMEDOUT)
			break;
	pthread_mutex_unlock(&k->lock);
	if (k->watchdog_running)
		pthread_join(k->watchdog, NULL);
	if (k->display_side.mhd != NULL)
		MHD_stop_daemon(k->display_side.mhd);
	if (k->main_side.mhd != NULL)
		MHD_stop_daemon(k->main_side.mhd);
	for (size_t i = 0; i < KIOSK_RING; i++)
		free(k->ring[i].text);
	free(k->status);
	free(k->metrics);
	pthread_cond_destroy(&k->changed);
	pthread_mutex_destroy(&k->lock);
	free(k);
}

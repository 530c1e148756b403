/* SPDX-License-Identifier: Apache-2.0 */
/*
 * doctor.c - `qrdeskctl doctor`: one command a technician runs after set-up
 * and when something is wrong.  Each check prints one line, ok / warn / fail,
 * and for warn and fail the fix; the exit code is the worst line's.
 *
 * What it reads: the configuration file (as the daemon does), the store
 * (read-only), the daemon's status over the control socket, the kiosk page
 * over HTTP, and the system: timedatectl or chronyc (run from PATH), the RTC
 * in sysfs, device nodes, free space, file modes.
 *
 * Seams for tests (the real system is the default): QRDESK_DOCTOR_SYSFS
 * replaces /sys; timedatectl, chronyc and systemctl are found on PATH.
 * Permissions are judged for --user (default qrdesk) from the files' modes,
 * owners and the user's groups, so doctor run as root still says whether the
 * daemon's user can read them.
 */
#include "doctor.h"

#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <jansson.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "qrdesk/config.h"
#include "qrdesk/control.h"
#include "qrdesk/log.h"
#include "qrdesk/store.h"
#include "toolutil.h"

enum level { LVL_OK, LVL_WARN, LVL_FAIL };
static const char *const level_name[] = {"ok", "warn", "fail"};

/* Trust data that expires sooner than this, with less than a quarter of its
 * validity left, is a warning (a day-long timestamp is renewed by every sync). */
#define EXPIRY_WARN_S (2 * 86400)
/* Free space below these (bytes) beside the store: warn, fail. */
#define DISK_WARN_BYTES (512ULL << 20)
#define DISK_FAIL_BYTES (64ULL << 20)

struct doctor {
	struct config cfg;
	const char *config_path;
	const char *socket;
	const char *user;
	bool json;
	struct passwd pw; /* --user, if it exists */
	char pw_buf[1024];
	bool have_user;
	gid_t groups[64];
	int n_groups;
	json_t *status; /* the daemon's status reply, NULL if it did not answer */
	json_t *lines;  /* for --json */
	enum level worst;
};

/* One result line: "ok   name: detail", then "     fix: ..." for warn/fail. */
static void report(struct doctor *d, enum level lvl, const char *name, const char *fix,
                   const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void report(struct doctor *d, enum level lvl, const char *name, const char *fix,
                   const char *fmt, ...)
{
	char detail[600], shown[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	if (lvl > d->worst)
		d->worst = lvl;
	if (d->json) {
		json_array_append_new(d->lines,
		                      json_pack("{s:s, s:s, s:s, s:s?}", "check", name, "status",
		                                level_name[lvl], "detail", detail, "fix",
		                                lvl == LVL_OK ? NULL : fix));
		return;
	}
	printf("%-4s  %s: %s\n", level_name[lvl], name, log_escape(detail, shown, sizeof(shown)));
	if (lvl != LVL_OK && fix != NULL)
		printf("      fix: %s\n", fix);
}

/* --- permissions as the daemon's user --------------------------------------------------- */

static bool user_in_group(const struct doctor *d, gid_t g)
{
	for (int i = 0; i < d->n_groups; i++)
		if (d->groups[i] == g)
			return true;
	return false;
}

/* May the user do `want` (R_OK, W_OK, X_OK bits) to st, by its mode? */
static bool mode_allows(const struct doctor *d, const struct stat *st, int want)
{
	if (d->pw.pw_uid == 0)
		return true; /* root: the desk's tools run as root sometimes */
	int shift = st->st_uid == d->pw.pw_uid ? 6 : user_in_group(d, st->st_gid) ? 3 : 0;
	int bits = (int)(st->st_mode >> shift) & 7;
	return (bits & want) == want;
}

/*
 * Can the user reach path (search every folder above it) and do `want` to
 * it?  False with why filled if not.
 */
static bool user_can(const struct doctor *d, const char *path, int want, char *why, size_t whysz)
{
	char dir[CONFIG_PATH_MAX];
	snprintf(dir, sizeof(dir), "%s", path);
	for (char *slash = strchr(dir + 1, '/'); slash != NULL; slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		struct stat st;
		if (stat(dir, &st) == 0 && !mode_allows(d, &st, X_OK)) {
			snprintf(why, whysz, "%s cannot enter %s (mode %03o, owner %u:%u)",
			         d->pw.pw_name, dir, (unsigned)(st.st_mode & 0777),
			         (unsigned)st.st_uid, (unsigned)st.st_gid);
			return false;
		}
		*slash = '/';
	}
	struct stat st;
	if (stat(path, &st) != 0) {
		snprintf(why, whysz, "%s: %s", path, strerror(errno));
		return false;
	}
	if (!mode_allows(d, &st, want)) {
		snprintf(why, whysz, "%s cannot %s %s (mode %03o, owner %u:%u)", d->pw.pw_name,
		         want & W_OK ? "write" : "read", path, (unsigned)(st.st_mode & 0777),
		         (unsigned)st.st_uid, (unsigned)st.st_gid);
		return false;
	}
	return true;
}

/* --- checks ----------------------------------------------------------------------------- */

static void check_config(struct doctor *d)
{
	struct config_errors errs = {0};
	config_defaults(&d->cfg);
	enum qd_err rc = config_load(d->config_path, &d->cfg, &errs);
	if (rc == QD_OK)
		rc = config_validate(&d->cfg, &errs);
	if (rc == QD_OK) {
		report(d, LVL_OK, "config", NULL, "%s is valid", d->config_path);
		return;
	}
	report(d, LVL_FAIL, "config", "qrdeskd --check-config shows every error; fix them",
	       "%s: %s", d->config_path, errs.count > 0 ? errs.items[0].message : qd_err_name(rc));
	config_defaults(&d->cfg); /* go on with the defaults: the other checks still help */
}

static void check_daemon(struct doctor *d)
{
	const char *path = d->socket ? d->socket : d->cfg.control_socket;
	char *reply = NULL;
	struct qd_errmsg why = {{0}};
	enum qd_err rc = control_call(path, "{\"cmd\":\"status\"}", &reply, &why);
	if (rc == QD_OK) {
		d->status = json_loads(reply, JSON_REJECT_DUPLICATES, NULL);
		free(reply);
		if (json_string_value(json_object_get(d->status, "error")) != NULL) {
			json_decref(d->status);
			d->status = NULL;
			rc = QD_ERR_PERM;
			snprintf(why.text, sizeof(why.text), "the daemon refused: not allowed");
		}
	}
	if (d->status != NULL)
		report(d, LVL_OK, "daemon", NULL, "qrdeskd answers on %s (desk %s)", path,
		       json_string_value(json_object_get(d->status, "desk")));
	else
		report(d, LVL_FAIL, "daemon",
		       rc == QD_ERR_PERM
		               ? "run doctor as root or as a member of [desk] control_group"
		               : "systemctl start qrdeskd; journalctl -u qrdeskd says why "
		                 "it stopped",
		       "qrdeskd does not answer on %s: %s", path,
		       why.text[0] ? why.text : qd_err_name(rc));
}

/* The first line a command prints, "" if it could not run. */
static void command_line(const char *cmd, char *out, size_t size)
{
	out[0] = '\0';
	FILE *p = popen(cmd, "r");
	if (p == NULL)
		return;
	if (fgets(out, (int)size, p) == NULL)
		out[0] = '\0';
	out[strcspn(out, "\n")] = '\0';
	char rest[256];
	while (fgets(rest, sizeof(rest), p) != NULL) {
	}
	pclose(p);
}

static void check_clock(struct doctor *d)
{
	static const char fix[] =
	        "turn on time sync: timedatectl set-ntp true (systemd-timesyncd) or install "
	        "chrony, and let the desk reach its time server";
	char out[256];
	command_line("timedatectl show -p NTPSynchronized --value 2>/dev/null", out, sizeof(out));
	bool timedated = out[0] != '\0';
	if (strcmp(out, "yes") == 0) {
		report(d, LVL_OK, "clock", NULL, "synchronised (timedatectl)");
	} else {
		/* chrony: "Leap status     : Normal" once it has a source. */
		command_line("chronyc -n tracking 2>/dev/null | grep '^Leap status'", out,
		             sizeof(out));
		if (strstr(out, "Normal") != NULL)
			report(d, LVL_OK, "clock", NULL, "synchronised (chronyc: %s)", out);
		else
			report(d, LVL_WARN, "clock", fix, "not known to be synchronised (%s)",
			       timedated ? "timedatectl: NTPSynchronized=no"
			                 : "neither timedatectl nor chronyc answered");
	}
	/* The daemon's own judgement: the clock is behind the newest signed time. */
	json_t *tr = json_object_get(d->status, "trust");
	if (json_is_true(json_object_get(tr, "clock_suspect")))
		report(d, LVL_FAIL, "clock", fix,
		       "the clock is behind the newest signed time the desk has seen: verdicts "
		       "are suspect");
}

static void check_rtc(struct doctor *d)
{
	const char *sys = getenv("QRDESK_DOCTOR_SYSFS");
	char path[512], name[128] = "";
	snprintf(path, sizeof(path), "%s/class/rtc/rtc0/name", sys && sys[0] ? sys : "/sys");
	FILE *f = fopen(path, "r");
	if (f != NULL) {
		if (fgets(name, sizeof(name), f) == NULL)
			name[0] = '\0';
		fclose(f);
		name[strcspn(name, "\n")] = '\0';
		report(d, LVL_OK, "rtc", NULL, "rtc0 present (%s)", name[0] ? name : "unnamed");
	} else {
		report(d, LVL_WARN, "rtc",
		       "fit a battery-backed RTC (or the board's RTC battery): without one the "
		       "clock is wrong after a power cut until time sync answers",
		       "no real-time clock (%s: %s)", path, strerror(errno));
	}
}

static void check_trust(struct doctor *d)
{
	static const char provision_fix[] =
	        "as the qrdesk user: qrdeskctl provision --store STORE --root root.pub, then "
	        "qrdeskctl import --store STORE repo/*.cose (README.Debian)";
	struct store *store = NULL;
	struct qd_errmsg why = {{0}};
	if (store_open(d->cfg.store, STORE_OPEN_READONLY, &store, &why) != QD_OK) {
		report(d, LVL_FAIL, "trust", provision_fix, "cannot open the store %s: %s",
		       d->cfg.store, why.text);
		return;
	}
	struct store_trust *trust = malloc(sizeof(*trust));
	size_t n_roots = 0;
	enum qd_err rc = trust ? store_trust_load(store, trust) : QD_ERR_NOMEM;
	if (rc == QD_OK)
		rc = store_roots_load(store, trust->keys, TRUST_KEYS_MAX, &n_roots);
	if (rc != QD_OK) {
		report(d, LVL_FAIL, "trust", provision_fix, "cannot read the store %s: %s",
		       d->cfg.store, qd_err_name(rc));
		free(trust);
		store_close(store);
		return;
	}
	if (n_roots > 0)
		report(d, LVL_OK, "root", NULL, "root key pinned in %s", d->cfg.store);
	else
		report(d, LVL_FAIL, "root", provision_fix, "no root key pinned in %s",
		       d->cfg.store);
	/* After store_roots_load, trust->keys holds roots, not the view's keys; the
	 * freshness records are separate fields and still hold. */
	const struct trust_view *tv = &trust->view;
	int64_t now = tool_now();
	const char *fix = d->cfg.sync.url[0]
	                          ? "qrdeskctl sync (then see the sync line), or a USB bundle"
	                          : "import newer documents (qrdeskctl import) or bring a USB "
	                            "bundle; or set [sync] url";
	for (size_t i = 0; i < trust_doc_types_count; i++) {
		const struct trust_doc_info *doc = &trust_doc_types[i];
		if (!doc->shown)
			continue;
		const struct trust_freshness *f = trust_view_freshness(tv, doc->type);
		char name[32], expires[32];
		snprintf(name, sizeof(name), "trust %s", doc->name);
		/* Optional (the fleet's used list): a desk works without it, and an old one is
		 * still true, only not complete. */
		bool optional = !doc->needed && !doc->required;
		if (!f->present) {
			if (optional)
				report(d, LVL_OK, name, NULL, "none installed (optional)");
			else
				report(d, doc->needed ? LVL_FAIL : LVL_WARN, name, provision_fix,
				       "not installed");
			continue;
		}
		tool_format_time(f->expires_at, expires, sizeof(expires));
		long long age_h = (long long)(now - f->signed_at) / 3600;
		if (now >= f->expires_at)
			report(d, optional ? LVL_WARN : LVL_FAIL, name, fix,
			       "version %llu EXPIRED at %s (signed %lld h ago)",
			       (unsigned long long)f->version, expires, age_h);
		else if (f->expires_at - now < EXPIRY_WARN_S &&
		         f->expires_at - now < (f->expires_at - f->signed_at) / 4)
			report(d, LVL_WARN, name, fix,
			       "version %llu expires soon, at %s (signed %lld h ago)",
			       (unsigned long long)f->version, expires, age_h);
		else
			report(d, LVL_OK, name, NULL, "version %llu, signed %lld h ago, expires %s",
			       (unsigned long long)f->version, age_h, expires);
	}
	free(trust);
	store_close(store);
}

static void check_sync_upload(struct doctor *d)
{
	json_t *s = json_object_get(d->status, "sync");
	if (d->cfg.sync.url[0] == '\0') {
		report(d, LVL_WARN, "sync",
		       "set [sync] url (and ca_file) in the configuration, or plan USB bundles "
		       "before the trust data expires",
		       "off: trust data comes only by import or USB");
	} else if (s == NULL) {
		report(d, LVL_WARN, "sync", "start qrdeskd (see the daemon line)",
		       "no result: the daemon does not answer");
	} else {
		json_t *last = json_object_get(s, "last");
		const char *st = json_string_value(json_object_get(last, "status"));
		const char *msg = json_string_value(json_object_get(last, "message"));
		if (st == NULL)
			report(d, LVL_WARN, "sync",
			       "wait for the first sync, or run qrdeskctl sync",
			       "%s: no sync finished yet", d->cfg.sync.url);
		else if (strcmp(st, "ok") == 0)
			report(d, LVL_OK, "sync", NULL, "%s: last sync ok", d->cfg.sync.url);
		else
			report(d, LVL_WARN, "sync",
			       "check the network, the URL, ca_file and pin; qrdeskctl sync shows "
			       "the "
			       "error",
			       "%s: last sync failed (%s%s%s)", d->cfg.sync.url, st,
			       msg && msg[0] ? ": " : "", msg ? msg : "");
	}
	json_t *u = json_object_get(s, "upload");
	if (d->cfg.upload.url[0] == '\0') {
		report(d, LVL_OK, "upload", NULL, "off (the audit log stays on the desk and USB)");
	} else if (u == NULL) {
		report(d, LVL_WARN, "upload", "start qrdeskd (see the daemon line)",
		       "no result: the daemon does not answer");
	} else {
		const char *st = json_string_value(json_object_get(u, "status"));
		const char *msg = json_string_value(json_object_get(u, "message"));
		long long pending = (long long)json_integer_value(json_object_get(u, "pending"));
		if (st == NULL || strcmp(st, "none") == 0)
			report(d, LVL_WARN, "upload", "wait for the first upload round",
			       "no upload finished yet, %lld rows pending", pending);
		else if (strcmp(st, "ok") == 0)
			report(d, LVL_OK, "upload", NULL, "last upload ok, %lld rows pending",
			       pending);
		else
			report(d, LVL_WARN, "upload",
			       "check the network, [upload] url and ca_file (docs/audit-upload.md)",
			       "last upload failed (%s%s%s), %lld rows pending", st,
			       msg && msg[0] ? ": " : "", msg ? msg : "", pending);
	}
}

/* A configured device: present, and readable (rw if want has W_OK) by the user. */
static void check_device(struct doctor *d, const char *name, const char *path, int want)
{
	char why[600];
	if (path[0] != '/') { /* a USB vendor:product id: the daemon finds the node */
		report(d, LVL_OK, name, NULL, "by USB id %s (see its source in qrdeskctl status)",
		       path);
		return;
	}
	struct stat st;
	if (stat(path, &st) != 0) {
		report(d, LVL_FAIL, name,
		       "plug it in (and check the cable); ls -l /dev/serial/by-id "
		       "/dev/input/by-id /dev/v4l/by-id lists what is there",
		       "%s: %s", path, strerror(errno));
		return;
	}
	if (!d->have_user) {
		report(d, LVL_OK, name, NULL, "%s present", path);
		return;
	}
	if (user_can(d, path, want, why, sizeof(why)))
		report(d, LVL_OK, name, NULL, "%s present, usable by %s", path, d->user);
	else
		report(d, LVL_FAIL, name,
		       "install the package's udev rules (60-qrdesk.rules) and replug, or add the "
		       "user to the device's group",
		       "%s", why);
}

static void check_devices(struct doctor *d)
{
	bool reads_cards = false; /* the scanner registry's rows, as configured */
	struct config_scanner sc;
	for (size_t k = 0; config_scanner_at(&d->cfg, k, &sc); k++) {
		if (sc.wants == NULL)
			continue;
		reads_cards |= sc.reads_cards;
		if (sc.device_label != NULL)
			check_device(d, sc.device_label, sc.wants, sc.device_access);
	}
	if (!reads_cards)
		report(d, LVL_FAIL, "scanners", "set [camera], [serial] or [hid] device",
		       "no camera or scanner configured: the desk cannot read a card");
	/* Sources the daemon runs, as it sees them. */
	size_t i;
	json_t *s;
	json_array_foreach(json_object_get(d->status, "sources"), i, s)
	{
		const char *state = json_string_value(json_object_get(s, "state"));
		const char *src = json_string_value(json_object_get(s, "name"));
		char name[64];
		snprintf(name, sizeof(name), "source %s", src ? src : "?");
		if (state == NULL)
			continue;
		if (strcmp(state, "running") == 0 || strcmp(state, "done") == 0)
			report(d, LVL_OK, name, NULL, "%s", state);
		else
			report(d, strcmp(state, "absent") == 0 ? LVL_WARN : LVL_FAIL, name,
			       "plug the device in; journalctl -u qrdeskd shows the source's "
			       "errors",
			       "%s: %s", state,
			       json_string_value(json_object_get(s, "detail"))
			               ? json_string_value(json_object_get(s, "detail"))
			               : "");
	}
}

static void check_gpio(struct doctor *d)
{
	if (d->cfg.indicator_backend != CONFIG_INDICATOR_GPIOD) {
		report(d, LVL_WARN, "gpio", "set [indicators] backend = gpiod, chip and lines",
		       "indicators simulated (backend = sim): no lights or buzzer");
		return;
	}
	const char *chip = d->cfg.gpio.chip;
	char path[128];
	snprintf(path, sizeof(path), "%s%s", chip[0] == '/' ? "" : "/dev/", chip);
	if (chip[0] == '/' || strncmp(chip, "gpiochip", 8) == 0)
		check_device(d, "gpio chip", path, R_OK | W_OK);
	json_t *ind = json_object_get(d->status, "indicators");
	if (ind == NULL)
		return;
	/* The daemon holds the lines while it runs: its claim is the test. */
	if (json_is_true(json_object_get(ind, "healthy")))
		report(d, LVL_OK, "gpio lines", NULL, "claimed by qrdeskd on %s", chip);
	else
		report(d, LVL_FAIL, "gpio lines",
		       "check [indicators] chip and line offsets (gpioinfo lists them) and that "
		       "no other program holds the lines",
		       "qrdeskd cannot drive them: %s",
		       json_string_value(json_object_get(ind, "detail"))
		               ? json_string_value(json_object_get(ind, "detail"))
		               : "");
}

static size_t discard(char *p, size_t size, size_t n, void *user)
{
	(void)p;
	(void)user;
	return size * n;
}

static void check_kiosk(struct doctor *d)
{
	if (!d->cfg.kiosk_enabled) {
		report(d, LVL_WARN, "kiosk", "set [kiosk] enabled = true",
		       "the kiosk page is off: the officer sees only the lights");
		return;
	}
	char url[128];
	bool v6 = strchr(d->cfg.kiosk_address, ':') != NULL;
	snprintf(url, sizeof(url), "http://%s%s%s:%u/", v6 ? "[" : "", d->cfg.kiosk_address,
	         v6 ? "]" : "", (unsigned)d->cfg.kiosk_port);
	CURL *c = curl_easy_init();
	long code = 0;
	CURLcode rc = CURLE_FAILED_INIT;
	if (c != NULL) {
		curl_easy_setopt(c, CURLOPT_URL, url);
		curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
		curl_easy_setopt(c, CURLOPT_TIMEOUT, 5L);
		curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
		rc = curl_easy_perform(c);
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
		curl_easy_cleanup(c);
	}
	if (rc == CURLE_OK && code == 200)
		report(d, LVL_OK, "kiosk", NULL, "%s answers", url);
	else
		report(d, LVL_FAIL, "kiosk", "start qrdeskd; check [kiosk] address and port",
		       "%s: %s", url, rc != CURLE_OK ? curl_easy_strerror(rc) : "not HTTP 200");

	char out[64];
	command_line("systemctl is-active qrdesk-kiosk.service 2>/dev/null", out, sizeof(out));
	char cond[16] = "";
	if (strcmp(out, "inactive") == 0)
		command_line("systemctl show -p ConditionResult --value qrdesk-kiosk.service "
		             "2>/dev/null",
		             cond, sizeof(cond));
	if (strcmp(out, "active") == 0)
		report(d, LVL_OK, "kiosk unit", NULL, "qrdesk-kiosk.service is running");
	else if (strcmp(cond, "no") == 0) /* its conditions: a DRM card, virtual terminals */
		report(d, LVL_WARN, "kiosk unit",
		       "connect the desk's screen, then systemctl start qrdesk-kiosk.service (a "
		       "desk image starts it when the screen's card appears)",
		       "qrdesk-kiosk.service was skipped: no screen (no DRM card in /dev/dri, or "
		       "no virtual terminals)");
	else
		report(d, LVL_WARN, "kiosk unit",
		       "systemctl enable --now qrdesk-kiosk.service (README.Debian: the kiosk "
		       "screen)",
		       "qrdesk-kiosk.service is %s: the page is not on the desk's screen",
		       out[0] ? out : "unknown (systemctl did not answer)");
}

/* A desk image's firmware (docs/image.md): a rolled-back update is worth a look. */
static void check_firmware(struct doctor *d)
{
	json_t *fw = json_object_get(d->status, "firmware");
	if (!json_is_object(fw))
		return; /* installed from the package, not an image: nothing to say */
	const char *version = json_string_value(json_object_get(fw, "version"));
	json_t *last = json_object_get(fw, "last_update");
	const char *result = json_string_value(json_object_get(last, "result"));
	const char *text = json_string_value(json_object_get(last, "text"));
	if (result != NULL && strcmp(result, "rolled-back") == 0)
		report(d, LVL_WARN, "firmware",
		       "the new firmware did not become ready: journalctl -b -1 shows why; bring a "
		       "fixed bundle from the back office (docs/image.md)",
		       "firmware %s; the last update was rolled back: %s", version ? version : "?",
		       text ? text : "");
	else
		report(d, LVL_OK, "firmware", NULL, "firmware %s%s%s", version ? version : "?",
		       text ? "; last update: " : "", text ? text : "");
}

static void check_disk(struct doctor *d)
{
	char dir[CONFIG_PATH_MAX];
	snprintf(dir, sizeof(dir), "%s", d->cfg.store);
	char *slash = strrchr(dir, '/');
	if (slash != NULL)
		*(slash == dir ? slash + 1 : slash) = '\0';
	struct statvfs vfs;
	if (statvfs(dir, &vfs) != 0) {
		report(d, LVL_FAIL, "disk",
		       "create the store's folder (the package's tmpfiles.d does)", "%s: %s", dir,
		       strerror(errno));
		return;
	}
	unsigned long long avail = (unsigned long long)vfs.f_bavail * vfs.f_frsize;
	enum level lvl = avail < DISK_FAIL_BYTES   ? LVL_FAIL
	                 : avail < DISK_WARN_BYTES ? LVL_WARN
	                                           : LVL_OK;
	report(d, lvl, "disk",
	       "free space on that file system: the store and its WAL grow with the audit log "
	       "(upload it, or lower [upload] retention_days)",
	       "%llu MiB free for the store and its WAL in %s", avail >> 20, dir);
}

static void check_permissions(struct doctor *d)
{
	if (!d->have_user) {
		report(d, LVL_FAIL, "permissions",
		       "install the package (its sysusers.d file makes the user), or pass --user",
		       "no user %s", d->user);
		return;
	}
	char why[600];
	char dir[CONFIG_PATH_MAX];
	snprintf(dir, sizeof(dir), "%s", d->cfg.store);
	char *slash = strrchr(dir, '/');
	if (slash != NULL)
		*(slash == dir ? slash + 1 : slash) = '\0';
	const struct {
		const char *what, *path;
		int want;
		bool optional;
	} files[] = {
	        {"config", d->config_path, R_OK, false},
	        {"store folder", dir, R_OK | W_OK | X_OK, false},
	        {"store", d->cfg.store, R_OK | W_OK, true},
	        {"sync ca_file", d->cfg.sync.ca_file, R_OK, false},
	        {"upload ca_file", d->cfg.upload.ca_file, R_OK, false},
	};
	int bad = 0;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		if (files[i].path[0] == '\0')
			continue;
		if (files[i].optional && access(files[i].path, F_OK) != 0)
			continue;
		if (!user_can(d, files[i].path, files[i].want, why, sizeof(why))) {
			char name[64];
			snprintf(name, sizeof(name), "permissions %s", files[i].what);
			report(d, LVL_FAIL, name,
			       "give the file to the daemon's user: chown qrdesk:qrdesk FILE "
			       "(store), "
			       "chgrp qrdesk FILE && chmod g+r FILE (config, CA); do the set-up as "
			       "that user (README.Debian)",
			       "%s", why);
			bad++;
		}
	}
	if (bad == 0)
		report(d, LVL_OK, "permissions", NULL,
		       "%s can read the configuration and CA files and use the store", d->user);
}

/* --- command ---------------------------------------------------------------------------- */

static const char usage[] = "doctor takes [--config FILE] [--socket PATH] [--user NAME] "
                            "[--json] [--now TIME]";

int doctor_main(int argc, char **argv)
{
	static struct doctor d; /* large (config, status); one per process */
	d.config_path = CONFIG_DEFAULT_PATH;
	d.user = "qrdesk";
	static const struct option opts[] = {
	        {"config", required_argument, NULL, 'c'}, {"socket", required_argument, NULL, 'S'},
	        {"user", required_argument, NULL, 'u'},   {"json", no_argument, NULL, 'j'},
	        {"now", required_argument, NULL, 'n'},    {NULL, 0, NULL, 0}};
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		int64_t t;
		switch (c) {
		case 'c':
			d.config_path = optarg;
			break;
		case 'S':
			d.socket = optarg;
			break;
		case 'u':
			d.user = optarg;
			break;
		case 'j':
			d.json = true;
			break;
		case 'n':
			if (tool_parse_time(optarg, &t) != QD_OK) {
				log_err("%s", usage);
				return TOOL_EXIT_USAGE;
			}
			tool_set_now(t);
			break;
		default:
			log_err("%s", usage);
			return TOOL_EXIT_USAGE;
		}
	}
	if (optind != argc) {
		log_err("%s", usage);
		return TOOL_EXIT_USAGE;
	}
	struct passwd *found = NULL;
	d.have_user =
	        getpwnam_r(d.user, &d.pw, d.pw_buf, sizeof(d.pw_buf), &found) == 0 && found != NULL;
	if (d.have_user) {
		d.n_groups = (int)(sizeof(d.groups) / sizeof(d.groups[0]));
		if (getgrouplist(d.user, d.pw.pw_gid, d.groups, &d.n_groups) < 0)
			d.n_groups = (int)(sizeof(d.groups) / sizeof(d.groups[0]));
	}
	d.lines = json_array();
	if (d.lines == NULL)
		return TOOL_EXIT_SOFTWARE;
	check_config(&d);
	check_daemon(&d);
	check_clock(&d);
	check_rtc(&d);
	check_trust(&d);
	check_sync_upload(&d);
	check_devices(&d);
	check_gpio(&d);
	check_kiosk(&d);
	check_firmware(&d);
	check_disk(&d);
	check_permissions(&d);
	if (d.json) {
		json_t *out =
		        json_pack("{s:s, s:o}", "worst", level_name[d.worst], "checks", d.lines);
		char *text = out ? json_dumps(out, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
		if (text != NULL)
			printf("%s\n", text);
		free(text);
		json_decref(out);
	} else {
		printf("%s\n", d.worst == LVL_OK ? "doctor: all ok"
		               : d.worst == LVL_WARN
		                       ? "doctor: warnings (see the fixes above)"
		                       : "doctor: FAILED checks (see the fixes above)");
		json_decref(d.lines);
	}
	json_decref(d.status);
	return (int)d.worst;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * qrdeskctl - the operator's and technician's tool for a desk's store:
 * pin the root, import signed trust documents, check a code exactly as the
 * daemon does, and show what the store holds.
 */
#include <getopt.h>
#include <stdbool.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "qrdesk/check.h"
#include "qrdesk/config.h"
#include "qrdesk/control.h"
#include "qrdesk/hex.h"
#include "qrdesk/import.h"
#include "qrdesk/keyfile.h"
#include "qrdesk/log.h"
#include "qrdesk/policy.h"
#include "qrdesk/signature.h"
#include "qrdesk/store.h"
#include "qrdesk/sync.h"
#include "qrdesk/verdict_json.h"
#include "doctor.h"
#include "toolutil.h"
#include "qrdesk/audit_key.h"
#include "qrdesk/desk_key.h"
#include "qrdesk/desklist.h"
#include "qrdesk/usb_update.h"

/* Exit codes of `check`, fixed by the interface: scripts branch on them. */
enum { CHECK_EXIT_VALID = 0, CHECK_EXIT_INVALID = 1, CHECK_EXIT_REVIEW = 2 };

static const char usage_text[] =
        "usage: qrdeskctl COMMAND [OPTIONS] ARGS...\n"
        "\n"
        "  provision --store DB --root ROOT.pub [--audit-key KEY] [--desk ID]\n"
        "                                         create the store, pin the root key, install\n"
        "                                         the deployment's audit key beside the store,\n"
        "                                         and enroll (below)\n"
        "  enroll --store DB [--desk ID]          make the desk's Ed25519 key pair (desk.key\n"
        "                                         beside the store, mode 0600; kept if made\n"
        "                                         before) and print its public half for\n"
        "                                         `qrdesk-issuer desk add` (docs/fleet.md)\n"
        "  import --store DB FILE...              verify and install signed trust\n"
        "                                         documents (key set, revocations, policy,\n"
        "                                         timestamp)\n"
        "  check --store DB [--json] CODE|-       check one code text (- reads a line from\n"
        "                                         stdin) exactly as the desk does; exit 0\n"
        "                                         valid, 1 invalid, 2 review\n"
        "  show --store DB [--json]               versions, ages and counts in the store\n"
        "  sync --once --store DB --url URL [--ca FILE]\n"
        "                                         one sync from the signed repository at\n"
        "                                         URL (https://): fetch, verify, install\n"
        "                                         (docs/repository.md); --ca trusts the\n"
        "                                         CAs in FILE instead of the system's\n"
        "        [--pin sha256//BASE64[;...]]     the server's public key must be one of these\n"
        "        [--proxy URL]                    proxy (default: https_proxy etc.; \"\" none)\n"
        "        [--connect-timeout S] [--low-speed-limit BYTES] [--low-speed-time S]\n"
        "                                         transfer limits (defaults 15, 64, 30)\n"
        "  sync [--socket PATH] [--json]          ask the running qrdeskd to sync now; wait\n"
        "                                         for that sync and print its result\n"
        "  usb --store DB [--config FILE] [--desk ID] [--dropin FILE] [--max-mb N]\n"
        "      [--firmware] DIR                   process a USB stick mounted at DIR as\n"
        "                                         qrdeskd does (docs/usb-bundle.md): update\n"
        "                                         bundle, log export, RAUC firmware; the desk\n"
        "                                         id and batch_rows come from the --config\n"
        "                                         file (--desk must match its desk_id)\n"
        "  status [--socket PATH] [--json]        the running daemon's state\n"
        "  scan [--socket PATH] [--full] CODE|-   give the running daemon one code text;\n"
        "                                         exit as check; the passport number masked\n"
        "                                         as on the kiosk unless --full\n"
        "  reload [--socket PATH]                 make the daemon reload its configuration\n"
        "                                         and trust data\n"
        "  doctor [--config FILE] [--socket PATH] [--user NAME] [--json]\n"
        "                                         check the whole desk: clock, RTC, trust\n"
        "                                         data, sync, upload, devices, GPIO, kiosk,\n"
        "                                         disk, permissions for NAME (default\n"
        "                                         qrdesk); exit 0 ok, 1 warnings, 2 failures\n"
        "\n"
        "  --socket PATH  the daemon's control socket (default: [desk] control_socket\n"
        "                 of the --config file)\n"
        "  --config FILE  the configuration file (default " CONFIG_DEFAULT_PATH ")\n"
        "  --now TIME     judge as if the clock said TIME (Unix seconds, YYYY-MM-DD or\n"
        "                 YYYY-MM-DDTHH:MM:SSZ)\n"
        "  --help         this text\n"
        "\n"
        "Exit codes: 64 usage, 65 refused input, 66 missing file, 69 server unreachable or\n"
        "refusing (sync), 70 internal, 74 I/O, 77 permission denied.\n";

static int usage_error(const char *what)
{
	log_err("%s", what);
	fprintf(stderr, "Try 'qrdeskctl --help'.\n");
	return TOOL_EXIT_USAGE;
}

struct options {
	const char *store;
	const char *root;
	const char *socket;
	const char *config;
	const char *url;
	const char *ca;
	bool json;
	bool once;
	bool full;             /* scan: the passport number unmasked */
	const char *audit_key; /* provision: the deployment's audit key file */
	const char *desk;      /* enroll: the desk id printed in the back office's command */
	/* sync transfer options */
	const char *pin;
	const char *proxy;
	long connect_timeout_s;
	long low_speed_bytes;
	long low_speed_time_s;
};

/* A whole number 1..86400 for a timeout or rate option; -1 if not. */
static long parse_positive(const char *text)
{
	char *end;
	long v = strtol(text, &end, 10);
	return *end == '\0' && end != text && v >= 1 && v <= 86400 ? v : -1;
}

/* Parse the options shared by all commands; returns optind or -1. */
static int parse_options(int argc, char **argv, struct options *o)
{
	static const struct option opts[] = {{"store", required_argument, NULL, 's'},
	                                     {"root", required_argument, NULL, 'r'},
	                                     {"json", no_argument, NULL, 'j'},
	                                     {"now", required_argument, NULL, 'n'},
	                                     {"socket", required_argument, NULL, 'S'},
	                                     {"config", required_argument, NULL, 'c'},
	                                     {"url", required_argument, NULL, 'u'},
	                                     {"ca", required_argument, NULL, 'C'},
	                                     {"once", no_argument, NULL, 'o'},
	                                     {"full", no_argument, NULL, 'F'},
	                                     {"audit-key", required_argument, NULL, 'A'},
	                                     {"desk", required_argument, NULL, 'D'},
	                                     {"pin", required_argument, NULL, 'P'},
	                                     {"proxy", required_argument, NULL, 'X'},
	                                     {"connect-timeout", required_argument, NULL, 'T'},
	                                     {"low-speed-limit", required_argument, NULL, 'L'},
	                                     {"low-speed-time", required_argument, NULL, 'W'},
	                                     {NULL, 0, NULL, 0}};
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		int64_t t;
		switch (c) {
		case 's':
			o->store = optarg;
			break;
		case 'r':
			o->root = optarg;
			break;
		case 'j':
			o->json = true;
			break;
		case 'S':
			o->socket = optarg;
			break;
		case 'c':
			o->config = optarg;
			break;
		case 'u':
			o->url = optarg;
			break;
		case 'C':
			o->ca = optarg;
			break;
		case 'o':
			o->once = true;
			break;
		case 'F':
			o->full = true;
			break;
		case 'A':
			o->audit_key = optarg;
			break;
		case 'D':
			o->desk = optarg;
			break;
		case 'P':
			o->pin = optarg;
			break;
		case 'X':
			o->proxy = optarg;
			break;
		case 'T':
			if ((o->connect_timeout_s = parse_positive(optarg)) < 0)
				return -1;
			break;
		case 'L':
			if ((o->low_speed_bytes = parse_positive(optarg)) < 0)
				return -1;
			break;
		case 'W':
			if ((o->low_speed_time_s = parse_positive(optarg)) < 0)
				return -1;
			break;
		case 'n':
			if (tool_parse_time(optarg, &t) != QD_OK)
				return -1;
			tool_set_now(t);
			break;
		default:
			return -1;
		}
	}
	return optind;
}

static int open_store(const char *path, enum store_mode mode, struct store **store)
{
	struct qd_errmsg why = {{0}};
	enum qd_err rc = store_open(path, mode, store, &why);
	if (rc != QD_OK) {
		log_err("%s", why.text);
		return tool_exit_for(rc);
	}
	return TOOL_EXIT_OK;
}

/*
 * Copy the deployment's audit key beside the store, mode 0600, owned like the
 * store (provisioning runs as root for the daemon's user).  An installed key
 * is never replaced: pseudonyms already written would stop matching.
 */
static int install_audit_key(const char *from, const char *store)
{
	uint8_t *text = NULL, key[CREDENTIAL_AUDIT_KEY_LEN];
	size_t len = 0;
	struct qd_errmsg why = {{0}};
	enum qd_err rc = tool_read_file(from, 4096, &text, &len, &why);
	if (rc == QD_OK) {
		rc = audit_key_parse((const char *)text, len, key, &why);
		sodium_memzero(text, len);
		if (rc != QD_OK)
			log_err("%s: %s", from, why.text);
	} else {
		log_err("%s", why.text);
	}
	free(text);
	if (rc != QD_OK)
		return tool_exit_for(rc);
	char path[512];
	audit_key_default_path(store, path, sizeof(path));
	struct stat st;
	if (stat(store, &st) != 0)
		st.st_uid = (uid_t)-1, st.st_gid = (gid_t)-1;
	uint8_t have[CREDENTIAL_AUDIT_KEY_LEN];
	if (audit_key_load(path, have, &why) == QD_OK) {
		bool same = sodium_memcmp(have, key, sizeof(key)) == 0;
		sodium_memzero(have, sizeof(have));
		sodium_memzero(key, sizeof(key));
		if (same) {
			printf("audit key already in %s\n", path);
			return TOOL_EXIT_OK;
		}
		log_err("%s: a different audit key is installed; not replaced", path);
		return TOOL_EXIT_CANTCREAT;
	}
	rc = audit_key_write(path, key, geteuid() == 0 ? st.st_uid : (uid_t)-1,
	                     geteuid() == 0 ? st.st_gid : (gid_t)-1, &why);
	sodium_memzero(key, sizeof(key));
	if (rc != QD_OK) {
		log_err("%s", why.text);
		return tool_exit_for(rc);
	}
	printf("audit key installed in %s (mode 0600)\n", path);
	return TOOL_EXIT_OK;
}

/*
 * Make the desk's key pair beside the store, owned like the store, unless one is there (an
 * enrolled desk keeps its key: the back office knows it by it).  Prints its public half.
 */
static int enroll_desk(const char *store, const char *desk)
{
	char path[512];
	desk_key_default_path(store, path, sizeof(path));
	struct signature_keypair kp;
	struct qd_errmsg why = {{0}};
	enum qd_err rc = desk_key_load(path, &kp, &why);
	bool made = false;
	if (rc == QD_ERR_NOT_FOUND) {
		struct stat st;
		if (stat(store, &st) != 0)
			st.st_uid = (uid_t)-1, st.st_gid = (gid_t)-1;
		rc = desk_key_create(path, geteuid() == 0 ? st.st_uid : (uid_t)-1,
		                     geteuid() == 0 ? st.st_gid : (gid_t)-1, &kp, &why);
		made = rc == QD_OK;
	}
	if (rc != QD_OK) {
		log_err("%s", why.text);
		return tool_exit_for(rc);
	}
	char pub[2 * SIGNATURE_ED25519_PUBLIC_LEN + 1];
	hex_encode(kp.pub, kp.pub_len, pub, sizeof(pub));
	signature_keypair_wipe(&kp);
	printf("desk key %s %s (mode 0600)\n", made ? "made in" : "already in", path);
	printf("public key: %s\n", pub);
	printf("register it at the back office: qrdesk-issuer desk add DIR %s %s\n",
	       desk != NULL ? desk : "DESK_ID", pub);
	return TOOL_EXIT_OK;
}

static int cmd_enroll(int argc, char **argv)
{
	struct options o = {0};
	int first = parse_options(argc, argv, &o);
	if (first < 0 || first != argc || o.store == NULL)
		return usage_error("enroll needs --store DB");
	if (o.desk != NULL && !desk_id_valid(o.desk, strlen(o.desk)))
		return usage_error("enroll: --desk: 1..31 of A-Z a-z 0-9 . _ -");
	if (access(o.store, F_OK) != 0) {
		log_err("%s: no store (provision the desk first)", o.store);
		return TOOL_EXIT_NOINPUT;
	}
	return enroll_desk(o.store, o.desk);
}

static int cmd_provision(int argc, char **argv)
{
	struct options o = {0};
	int first = parse_options(argc, argv, &o);
	if (first < 0 || first != argc || o.store == NULL || o.root == NULL)
		return usage_error("provision needs --store DB --root ROOT.pub");
	uint8_t *text;
	size_t len;
	struct qd_errmsg why = {{0}};
	enum qd_err rc = tool_read_file(o.root, KEYFILE_MAX, &text, &len, &why);
	if (rc != QD_OK) {
		log_err("%s", why.text);
		return tool_exit_for(rc);
	}
	struct trust_key root;
	rc = keyfile_parse_public((const char *)text, len, &root, &why);
	free(text);
	if (rc != QD_OK) {
		log_err("%s: %s", o.root, why.text);
		return tool_exit_for(rc);
	}
	if (root.role != KEY_ROLE_ROOT) {
		log_err("%s: a %s key, not a root key", o.root, key_role_name(root.role));
		return TOOL_EXIT_DATA;
	}
	struct store *store;
	int status = open_store(o.store, STORE_OPEN_CREATE, &store);
	if (status != TOOL_EXIT_OK)
		return status;
	rc = store_root_pin(store, &root, &why);
	store_close(store);
	if (rc != QD_OK) {
		log_err("%s: %s", o.store, why.text);
		return tool_exit_for(rc);
	}
	char kid[2 * TRUST_KID_MAX + 1];
	hex_encode(root.kid, root.kid_len, kid, sizeof(kid));
	printf("root %s pinned in %s\n", kid, o.store);
	int status_key =
	        o.audit_key != NULL ? install_audit_key(o.audit_key, o.store) : TOOL_EXIT_OK;
	return status_key == TOOL_EXIT_OK ? enroll_desk(o.store, o.desk) : status_key;
}

static int cmd_import(int argc, char **argv)
{
	struct options o = {0};
	int first = parse_options(argc, argv, &o);
	if (first < 0 || first >= argc || o.store == NULL)
		return usage_error("import needs --store DB FILE...");
	struct store *store;
	int status = open_store(o.store, STORE_OPEN_READWRITE, &store);
	if (status != TOOL_EXIT_OK)
		return status;
	for (int i = first; i < argc; i++) {
		struct import_result res;
		struct qd_errmsg why = {{0}};
		enum qd_err rc = import_file(store, argv[i], tool_now(), &res, &why);
		if (rc != QD_OK) {
			log_err("refused %s", why.text);
			if (status == TOOL_EXIT_OK)
				status = tool_exit_for(rc);
			continue;
		}
		char expires[32];
		tool_format_time(res.expires_at, expires, sizeof(expires));
		if (res.unchanged)
			printf("%s: %s version %llu already installed\n", argv[i],
			       trust_doc_type_name(res.type), (unsigned long long)res.version);
		else
			printf("%s: %s version %llu installed (was %llu), %zu entries, expires "
			       "%s\n",
			       argv[i], trust_doc_type_name(res.type),
			       (unsigned long long)res.version,
			       (unsigned long long)res.previous_version, res.entries, expires);
	}
	store_close(store);
	return status;
}

/* One installed document's line, for a sync run here or through the daemon. */
static void print_file_line(const char *doc, unsigned long long offered,
                            unsigned long long installed, unsigned long long bytes, bool delta,
                            const char *refused)
{
	printf("%s version %llu installed (was %llu), %llu bytes", doc, offered, installed, bytes);
	if (refused != NULL)
		printf(": the delta was refused (%s), the snapshot taken\n", refused);
	else
		printf("%s\n", delta ? " as a delta" : "");
}

static void print_sync(const struct sync_result *res)
{
	if (res->not_modified) {
		printf("up to date: timestamp not modified (304)\n");
		return;
	}
	if (!res->changed) {
		printf("up to date: timestamp version %llu\n",
		       (unsigned long long)res->timestamp_version);
		return;
	}
	for (size_t i = 0; i < res->n_files; i++) {
		const struct sync_file *f = &res->files[i];
		if (f->fetched)
			print_file_line(trust_doc_type_name(f->type), f->offered, f->installed,
			                f->bytes, f->delta,
			                f->delta_refused[0] != '\0' ? f->delta_refused : NULL);
		else
			printf("%s version %llu unchanged\n", trust_doc_type_name(f->type),
			       (unsigned long long)f->offered);
	}
}

static int cmd_sync_daemon(const struct options *o);

static int cmd_sync(int argc, char **argv)
{
	struct options o = {0};
	int first = parse_options(argc, argv, &o);
	/* Without a store and a URL: ask the running daemon. */
	if (first == argc && o.store == NULL && o.url == NULL && o.ca == NULL)
		return cmd_sync_daemon(&o);
	if (first < 0 || first != argc || o.store == NULL || o.url == NULL)
		return usage_error(
		        "sync needs --once --store DB --url URL [--ca FILE] [--pin PINS] "
		        "[--proxy URL] [--connect-timeout S] [--low-speed-limit B] "
		        "[--low-speed-time S]");
	/* The continuous sync is qrdeskd's worker; this tool only does one. */
	if (!o.once)
		return usage_error("sync needs --once (qrdeskd runs the periodic sync)");
	struct qd_errmsg why = {{0}};
	enum qd_err rc = sync_global_init(&why);
	if (rc != QD_OK) {
		log_err("%s", why.text);
		return tool_exit_for(rc);
	}
	struct sync_https *https = NULL;
	struct store *store = NULL;
	struct sync_https_options ho = {
	        .url = o.url,
	        .ca_file = o.ca,
	        .pinned_public_key = o.pin,
	        .proxy = o.proxy,
	        .connect_timeout_s = o.connect_timeout_s,
	        .low_speed_bytes = o.low_speed_bytes,
	        .low_speed_time_s = o.low_speed_time_s,
	};
	int status = TOOL_EXIT_OK;
	rc = sync_https_open(&ho, &https, &why);
	if (rc != QD_OK) {
		log_err("%s", why.text);
		status = tool_exit_for(rc);
		goto out;
	}
	status = open_store(o.store, STORE_OPEN_READWRITE, &store);
	if (status != TOOL_EXIT_OK)
		goto out;
	struct sync_fetcher fetcher = {sync_https_fetch, https};
	struct sync_result res;
	rc = sync_run(store, &fetcher, tool_now(), 0, &res);
	if (rc != QD_OK) {
		log_err("sync refused (%s): %s", qd_err_name(rc), res.why.text);
		status = tool_exit_for(rc);
		goto out;
	}
	print_sync(&res);
out:
	if (store != NULL)
		store_close(store);
	sync_https_close(https);
	sync_global_cleanup();
	return status;
}

/*
 * Read one code from stdin: the first line, without its line end.  Bounded
 * like every source: a longer line is cut just past CHECK_TEXT_MAX (so the
 * check answers TOO_LARGE) and the rest of it is skipped, not buffered.
 */
static int read_code_stdin(char **code, size_t *len)
{
	/* Byte by byte, not fgets: a NUL inside the text must reach the check, not end it. */
	size_t cap = CHECK_TEXT_MAX + 2; /* one byte over the limit, and a NUL */
	char *line = malloc(cap);
	if (line == NULL)
		return TOOL_EXIT_SOFTWARE;
	size_t n = 0;
	int ch = EOF;
	bool any = false;
	while ((ch = getchar()) != EOF && ch != '\n') {
		any = true;
		if (n < cap - 1)
			line[n++] = (char)ch;
	}
	if (!any && ch == EOF) {
		free(line);
		return usage_error("no code on standard input");
	}
	if (n > 0 && line[n - 1] == '\r')
		n--;
	line[n] = '\0';
	*code = line;
	*len = n;
	return TOOL_EXIT_OK;
}

/*
 * Text for the terminal: control characters escaped (log_escape), so a file
 * name, a device name or a server's reason cannot forge a line or move the
 * cursor.  From a small ring of buffers: valid until 16 more calls.
 */
static const char *tty_text(const char *s)
{
	static char ring[16][1024];
	static unsigned next;
	char *buf = ring[next++ % 16];
	return log_escape(s != NULL ? s : "", buf, sizeof(ring[0]));
}

static void print_verdict_json(const struct verdict *v)
{
	json_t *obj = verdict_to_json(v);
	char *text = obj ? json_dumps(obj, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
	if (text != NULL)
		printf("%s\n", text);
	free(text);
	json_decref(obj);
}

static void print_verdict_text(const struct verdict *v)
{
	printf("%s %s: %s / %s\n", verdict_kind_name(v->kind), reason_code(v->reason),
	       reason_text_en(v->reason), reason_text_bn(v->reason));
	if (v->reason == REASON_POLICY_FAILED) {
		/* The rule's own words, as the policy's authors wrote them for the officer. */
		printf("  rule %s: %s\n", tty_text(v->policy.failed_id),
		       tty_text(verdict_message_en(v)));
		printf("  %s\n", tty_text(verdict_message_bn(v)));
	}
	if (v->detail[0] != '\0')
		printf("  detail: %s\n", tty_text(v->detail));
	if (v->has_claims) {
		const struct clearance_claims *c = &v->cred.clearance;
		char birth[11];
		credential_date_format(c->birth_days, birth);
		printf("  %s, passport %s, born %s, %c, to %s as %s\n", tty_text(c->name),
		       tty_text(c->passport_no), birth,
		       c->sex >= 0x20 && c->sex < 0x7f ? c->sex : '?', tty_text(c->destination),
		       tty_text(c->category));
		printf("  clearance %s, BMET %s, agency %s, employer %s, PDO %s\n",
		       tty_text(c->clearance_no), tty_text(c->bmet_reg_no),
		       tty_text(c->agency_licence), tty_text(c->employer),
		       c->pdo_completed ? "done" : "not done");
	}
	const struct policy_result *p = &v->policy;
	if (p->evaluated) {
		char departure[11];
		credential_date_format(p->departure_day, departure);
		printf("  policy version %llu on %s: %zu rule%s in scope, %zu failed\n",
		       (unsigned long long)p->version, departure, p->n_applicable,
		       p->n_applicable == 1 ? "" : "s", p->n_failed);
		for (size_t i = 0; i < p->n_results; i++)
			printf("    %-*s %s%s%s\n", POLICY_RULE_ID_MAX, tty_text(p->results[i].id),
			       policy_outcome_name(p->results[i].outcome),
			       p->results[i].detail[0] ? ": " : "", tty_text(p->results[i].detail));
		if (p->n_applicable > p->n_results)
			printf("    (%zu more not listed)\n", p->n_applicable - p->n_results);
	}
}

static int cmd_check(int argc, char **argv)
{
	struct options o = {0};
	int first = parse_options(argc, argv, &o);
	if (first < 0 || first != argc - 1 || o.store == NULL)
		return usage_error("check needs --store DB and one CODE (or -)");
	char *code = argv[first], *owned = NULL;
	size_t len = strlen(code);
	if (strcmp(code, "-") == 0) {
		int status = read_code_stdin(&owned, &len);
		if (status != TOOL_EXIT_OK)
			return status;
		code = owned;
	}
	struct store *store;
	int status = open_store(o.store, STORE_OPEN_READONLY, &store);
	if (status != TOOL_EXIT_OK) {
		free(owned);
		return status;
	}
	struct store_trust *trust = malloc(sizeof(*trust));
	enum qd_err rc = trust ? store_trust_load(store, trust) : QD_ERR_NOMEM;
	if (rc != QD_OK) {
		log_err("%s: cannot read the trust data: %s", o.store, qd_err_name(rc));
		status = tool_exit_for(rc);
		goto out;
	}
	struct verdict v;
	check_code(code, len, &trust->view, tool_now(), &v);
	if (o.json)
		print_verdict_json(&v);
	else
		print_verdict_text(&v);
	status = v.kind == VERDICT_VALID     ? CHECK_EXIT_VALID
	         : v.kind == VERDICT_INVALID ? CHECK_EXIT_INVALID
	                                     : CHECK_EXIT_REVIEW;
out:
	free(trust);
	store_close(store);
	free(owned);
	return status;
}

static int cmd_show(int argc, char **argv)
{
	struct options o = {0};
	int first = parse_options(argc, argv, &o);
	if (first < 0 || first != argc || o.store == NULL)
		return usage_error("show needs --store DB");
	struct store *store;
	int status = open_store(o.store, STORE_OPEN_READONLY, &store);
	if (status != TOOL_EXIT_OK)
		return status;
	struct store_trust *trust = malloc(sizeof(*trust));
	enum qd_err rc = trust ? store_trust_load(store, trust) : QD_ERR_NOMEM;
	uint64_t revoked = 0, audit = 0;
	if (rc == QD_OK)
		rc = store_revocation_count(store, &revoked);
	if (rc == QD_OK)
		rc = store_audit_count(store, &audit);
	if (rc != QD_OK) {
		log_err("%s: cannot read the store: %s", o.store, qd_err_name(rc));
		free(trust);
		store_close(store);
		return tool_exit_for(rc);
	}
	const struct trust_view *tv = &trust->view;
	int64_t now = tool_now();
	json_t *obj = json_object();
	for (size_t i = 0; i < trust_doc_types_count; i++) {
		const struct trust_doc_info *doc = &trust_doc_types[i];
		if (!doc->shown)
			continue;
		const struct trust_freshness *f = trust_view_freshness(tv, doc->type);
		char signed_at[32] = "-", expires[32] = "-";
		if (f->present) {
			tool_format_time(f->signed_at, signed_at, sizeof(signed_at));
			tool_format_time(f->expires_at, expires, sizeof(expires));
		}
		if (o.json)
			json_object_set_new(
			        obj, doc->name,
			        f->present ? json_pack("{s:I, s:I, s:I, s:I, s:b}", "version",
			                               (json_int_t)f->version, "signed_at",
			                               (json_int_t)f->signed_at, "expires_at",
			                               (json_int_t)f->expires_at, "age_seconds",
			                               (json_int_t)(now - f->signed_at), "expired",
			                               now >= f->expires_at)
			                   : json_null());
		else if (f->present)
			printf("%-12s version %-6llu signed %s  expires %s%s\n", doc->name,
			       (unsigned long long)f->version, signed_at, expires,
			       now >= f->expires_at ? "  EXPIRED" : "");
		else
			printf("%-12s not installed\n", doc->name);
	}
	char floor[32];
	tool_format_time(tv->time_floor, floor, sizeof(floor));
	const struct policy *rules = tv->policy_rules;
	if (o.json) {
		json_object_set_new(obj, "policy_rules",
		                    rules ? json_integer((json_int_t)rules->n_rules) : json_null());
		json_object_set_new(obj, "policy_note", json_string(rules ? rules->note : ""));
		json_object_set_new(obj, "policy_unreadable", json_boolean(tv->policy_unreadable));
		json_object_set_new(obj, "keys", json_integer((json_int_t)tv->n_keys));
		json_object_set_new(obj, "revocations_count", json_integer((json_int_t)revoked));
		json_object_set_new(obj, "audit_rows", json_integer((json_int_t)audit));
		json_object_set_new(obj, "time_floor", json_integer(tv->time_floor));
		json_object_set_new(obj, "clock_suspect", json_boolean(now < tv->time_floor));
		char *text = json_dumps(obj, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		if (text)
			printf("%s\n", text);
		free(text);
	} else {
		if (tv->policy_unreadable)
			printf("policy       CANNOT BE READ: %s\n", trust->policy_error.text);
		else if (rules != NULL)
			printf("policy       %zu destination rule%s%s%s\n", rules->n_rules,
			       rules->n_rules == 1 ? "" : "s", rules->note[0] ? "; note: " : "",
			       rules->note);
		printf("keys %zu, revoked clearances %llu, audit rows %llu\n", tv->n_keys,
		       (unsigned long long)revoked, (unsigned long long)audit);
		printf("time floor %s%s\n", floor,
		       now < tv->time_floor ? "  (clock is behind it: CLOCK SUSPECT)" : "");
	}
	json_decref(obj);
	free(trust);
	store_close(store);
	return TOOL_EXIT_OK;
}

/* The control socket: --socket, else the config's, else the packaged default. */
static const char *socket_path(const struct options *o, struct config *cfg)
{
	if (o->socket != NULL)
		return o->socket;
	config_defaults(cfg);
	const char *path = o->config ? o->config : CONFIG_DEFAULT_PATH;
	struct config_errors errs = {0};
	if (config_load(path, cfg, &errs) != QD_OK && o->config != NULL)
		log_warn("%s: cannot use it; trying %s", path, cfg->control_socket);
	return cfg->control_socket;
}

/* One request to the daemon; the reply parsed, or NULL with the error logged. */
/* A string member of a daemon reply, "" if absent (a reply is not trusted to be
 * complete), escaped for the terminal. */
static const char *jstr(const json_t *obj, const char *key)
{
	return tty_text(json_string_value(json_object_get(obj, key)));
}

static json_t *daemon_call(const struct options *o, json_t *request, int *status)
{
	struct config cfg;
	const char *path = socket_path(o, &cfg);
	char *text = json_dumps(request, JSON_COMPACT);
	char *reply = NULL;
	struct qd_errmsg why = {{0}};
	enum qd_err rc = text ? control_call(path, text, &reply, &why) : QD_ERR_NOMEM;
	free(text);
	if (rc != QD_OK) {
		log_err("%s", why.text[0] ? why.text : qd_err_name(rc));
		*status = rc == QD_ERR_NOT_FOUND ? TOOL_EXIT_NOINPUT
		          : rc == QD_ERR_PERM    ? TOOL_EXIT_NOPERM
		                                 : TOOL_EXIT_IO;
		return NULL;
	}
	json_error_t jerr;
	json_t *obj = json_loads(reply, JSON_REJECT_DUPLICATES, &jerr);
	free(reply);
	if (obj == NULL) {
		log_err("%s: the daemon's reply is not JSON", path);
		*status = TOOL_EXIT_SOFTWARE;
		return NULL;
	}
	const char *err = jstr(obj, "error");
	if (strcmp(err, "permission-denied") == 0) {
		log_err("%s: %s", path, jstr(obj, "message"));
		json_decref(obj);
		*status = TOOL_EXIT_NOPERM;
		return NULL;
	}
	if (err[0] != '\0') {
		log_err("daemon: %s: %s", err, jstr(obj, "message"));
		json_decref(obj);
		*status = TOOL_EXIT_DATA;
		return NULL;
	}
	return obj;
}

static void print_json(json_t *obj)
{
	char *text = json_dumps(obj, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (text != NULL)
		printf("%s\n", text);
	free(text);
}

static void print_freshness(const char *name, json_t *f)
{
	if (!json_is_object(f)) {
		printf("  %-12s not installed\n", name);
		return;
	}
	char signed_at[32], expires[32];
	tool_format_time(json_integer_value(json_object_get(f, "signed_at")), signed_at,
	                 sizeof(signed_at));
	tool_format_time(json_integer_value(json_object_get(f, "expires_at")), expires,
	                 sizeof(expires));
	long long age = (long long)json_integer_value(json_object_get(f, "age_seconds"));
	printf("  %-12s v%-6lld signed %s (%lldh %02lldm ago), expires %s%s\n", name,
	       (long long)json_integer_value(json_object_get(f, "version")), signed_at, age / 3600,
	       age / 60 % 60, expires,
	       json_is_true(json_object_get(f, "expired")) ? "  EXPIRED" : "");
}

/* A desk image's firmware and its last update or rollback (docs/image.md). */
static void print_firmware(json_t *fw)
{
	if (!json_is_object(fw))
		return;
	printf("firmware %s (%s)\n", jstr(fw, "version"), jstr(fw, "compatible"));
	json_t *last = json_object_get(fw, "last_update");
	if (!json_is_object(last))
		return;
	char at[32];
	tool_format_time(json_integer_value(json_object_get(last, "time")), at, sizeof(at));
	printf("  last update %s: %s: %s\n", at, jstr(last, "result"), jstr(last, "text"));
}

/* The exit code for an error name in a daemon reply (tool_exit_for of the same code). */
static int exit_for_name(const char *name)
{
	for (int e = 0; e < 64; e++)
		if (strcmp(qd_err_name((enum qd_err)e), name) == 0)
			return tool_exit_for((enum qd_err)e);
	return TOOL_EXIT_SOFTWARE;
}

#define SYNC_WAIT_POLL_MS 200
#define SYNC_WAIT_MAX_S   900 /* a sync slower than this is reported as not finished */

/*
 * `qrdeskctl sync` with no store: the daemon's worker runs a sync now; the
 * reply names its run number and we poll the status until that run is done
 * (the control socket answers at once: a sync may take minutes).
 */
static int cmd_sync_daemon(const struct options *o)
{
	json_t *req = json_pack("{s:s}", "cmd", "sync");
	int status = TOOL_EXIT_OK;
	json_t *reply = daemon_call(o, req, &status);
	json_decref(req);
	if (reply == NULL)
		return status;
	json_int_t run = json_integer_value(json_object_get(reply, "run"));
	json_decref(reply);
	json_t *sync = NULL;
	for (long waited = 0; waited <= SYNC_WAIT_MAX_S * 1000L; waited += SYNC_WAIT_POLL_MS) {
		req = json_pack("{s:s}", "cmd", "status");
		json_t *st = daemon_call(o, req, &status);
		json_decref(req);
		if (st == NULL)
			return status;
		json_t *s = json_object_get(st, "sync");
		if (json_integer_value(json_object_get(s, "runs")) >= run) {
			sync = json_incref(s);
			json_decref(st);
			break;
		}
		json_decref(st);
		struct timespec ts = {0, SYNC_WAIT_POLL_MS * 1000000L};
		nanosleep(&ts, NULL);
	}
	if (sync == NULL) {
		log_err("the daemon's sync did not finish within %d s", SYNC_WAIT_MAX_S);
		return TOOL_EXIT_UNAVAILABLE;
	}
	json_t *last = json_object_get(sync, "last");
	const char *outcome = jstr(last, "status");
	status = strcmp(outcome, "ok") == 0 ? TOOL_EXIT_OK : exit_for_name(outcome);
	if (o->json) {
		print_json(last);
	} else if (status != TOOL_EXIT_OK) {
		log_err("sync refused (%s): %s", outcome, jstr(last, "message"));
	} else if (!json_is_true(json_object_get(last, "changed"))) {
		printf("up to date: timestamp version %lld\n",
		       (long long)json_integer_value(json_object_get(last, "timestamp_version")));
	} else {
		size_t i;
		json_t *f;
		json_array_foreach(json_object_get(last, "files"), i, f)
		{
			if (json_is_true(json_object_get(f, "fetched")))
				print_file_line(
				        jstr(f, "document"),
				        (unsigned long long)json_integer_value(
				                json_object_get(f, "offered")),
				        (unsigned long long)json_integer_value(
				                json_object_get(f, "installed")),
				        (unsigned long long)json_integer_value(
				                json_object_get(f, "bytes")),
				        json_is_true(json_object_get(f, "delta")),
				        json_string_value(json_object_get(f, "delta_refused")));
			else
				printf("%s version %lld unchanged\n", jstr(f, "document"),
				       (long long)json_integer_value(
				               json_object_get(f, "offered")));
		}
	}
	json_decref(sync);
	return status;
}

/* Print the sync, upload and freeze lines of `qrdeskctl status`. */
static void print_sync_status(json_t *st)
{
	json_t *tr = json_object_get(st, "trust");
	json_t *since = json_object_get(tr, "stale_since");
	if (json_is_integer(since)) {
		char when[32];
		tool_format_time(json_integer_value(since), when, sizeof(when));
		printf("  TRUST DATA STALE since %s%s\n", when,
		       json_is_true(json_object_get(tr, "stale_amber"))
		               ? ": verdicts that would be green are amber"
		               : " (within the grace: verdicts unchanged)");
	}
	json_t *s = json_object_get(st, "sync");
	if (!json_is_true(json_object_get(s, "enabled"))) {
		printf("sync: off\n");
	} else {
		json_t *last = json_object_get(s, "last");
		char when[32] = "never";
		json_t *ok_at = json_object_get(s, "last_success_at");
		if (json_is_integer(ok_at))
			tool_format_time(json_integer_value(ok_at), when, sizeof(when));
		printf("sync: %s, %s; %lld runs (%lld ok, %lld failed); last success %s\n",
		       jstr(s, "url"), jstr(s, "state"),
		       (long long)json_integer_value(json_object_get(s, "runs")),
		       (long long)json_integer_value(json_object_get(s, "ok")),
		       (long long)json_integer_value(json_object_get(s, "failed")), when);
		if (json_is_object(last)) {
			const char *msg = jstr(last, "message");
			printf("  last sync: %s%s%s\n", jstr(last, "status"), msg[0] ? ": " : "",
			       msg);
		}
	}
	json_t *u = json_object_get(s, "upload");
	if (json_is_true(json_object_get(u, "enabled"))) {
		const char *msg = jstr(u, "message");
		printf("upload: %s%s%s; %lld rows uploaded, %lld pending\n", jstr(u, "status"),
		       msg[0] ? ": " : "", msg,
		       (long long)json_integer_value(json_object_get(u, "rows")),
		       (long long)json_integer_value(json_object_get(u, "pending")));
	}
	json_t *a = json_object_get(st, "audit");
	if (json_is_object(a)) {
		char oldest[32] = "none", next[32] = "not yet planned";
		json_t *t = json_object_get(a, "oldest_row_at");
		if (json_is_integer(t))
			tool_format_time(json_integer_value(t), oldest, sizeof(oldest));
		t = json_object_get(a, "next_purge_at");
		if (json_is_integer(t))
			tool_format_time(json_integer_value(t), next, sizeof(next));
		printf("audit: oldest row %s; next purge %s (rows older than %lld days, %s)\n",
		       oldest, next,
		       (long long)json_integer_value(json_object_get(a, "retention_days")),
		       jstr(a, "keep"));
	}
}

static int cmd_status(int argc, char **argv)
{
	struct options o = {0};
	int first = parse_options(argc, argv, &o);
	if (first < 0 || first != argc)
		return usage_error("status takes [--socket PATH] [--json]");
	json_t *req = json_pack("{s:s}", "cmd", "status");
	int status = TOOL_EXIT_OK;
	json_t *st = daemon_call(&o, req, &status);
	json_decref(req);
	if (st == NULL)
		return status;
	if (o.json) {
		print_json(st);
		json_decref(st);
		return TOOL_EXIT_OK;
	}
	printf("desk %s, qrdeskd %s%s, up %llds\n", jstr(st, "desk"), jstr(st, "version"),
	       json_is_true(json_object_get(st, "demo")) ? " (demo)" : "",
	       (long long)json_integer_value(json_object_get(st, "uptime_seconds")));
	print_firmware(json_object_get(st, "firmware"));
	printf("sources:\n");
	size_t i;
	json_t *s;
	json_array_foreach(json_object_get(st, "sources"), i, s)
	{
		printf("  %-10s %-14s %-8s codes %lld, dropped %lld  %s\n", jstr(s, "name"),
		       jstr(s, "kind"), jstr(s, "state"),
		       (long long)json_integer_value(json_object_get(s, "codes")),
		       (long long)json_integer_value(json_object_get(s, "dropped")),
		       jstr(s, "detail"));
	}
	json_t *hp = json_object_get(st, "hotplug");
	if (hp != NULL)
		printf("hotplug: %s, %lld events (%s)\n", jstr(hp, "backend"),
		       (long long)json_integer_value(json_object_get(hp, "events")),
		       jstr(hp, "detail"));
	json_t *ind = json_object_get(st, "indicators");
	const char *ind_detail = jstr(ind, "detail");
	printf("indicators: %s, %s%s%s\n", jstr(ind, "backend"),
	       json_is_true(json_object_get(ind, "healthy")) ? "healthy" : "NOT HEALTHY",
	       ind_detail[0] ? ": " : "", ind_detail);
	json_t *tr = json_object_get(st, "trust");
	printf("trust data:\n");
	for (size_t k = 0; k < trust_doc_types_count; k++)
		if (trust_doc_types[k].shown)
			print_freshness(trust_doc_types[k].name,
			                json_object_get(tr, trust_doc_types[k].name));
	if (json_is_true(json_object_get(tr, "clock_suspect")))
		printf("  CLOCK SUSPECT: the clock is behind the newest signed time\n");
	print_sync_status(st);
	json_t *c = json_object_get(st, "counters");
	printf("counters: %lld scans, %lld valid, %lld invalid, %lld review, %lld duplicates, "
	       "%lld empty; last latency %lld us, max %lld us; audit failures %lld\n",
	       (long long)json_integer_value(json_object_get(c, "scans")),
	       (long long)json_integer_value(json_object_get(c, "valid")),
	       (long long)json_integer_value(json_object_get(c, "invalid")),
	       (long long)json_integer_value(json_object_get(c, "review")),
	       (long long)json_integer_value(json_object_get(c, "duplicates")),
	       (long long)json_integer_value(json_object_get(c, "empty")),
	       (long long)json_integer_value(json_object_get(c, "last_latency_us")),
	       (long long)json_integer_value(json_object_get(c, "max_latency_us")),
	       (long long)json_integer_value(json_object_get(c, "audit_failures")));
	json_t *usb = json_object_get(st, "usb");
	if (json_is_object(usb))
		printf("USB: %s: %s\n", jstr(usb, "stage"), jstr(usb, "headline"));
	json_t *last = json_object_get(st, "last_verdict");
	if (json_is_object(last))
		printf("last verdict: #%lld %s %s from %s\n",
		       (long long)json_integer_value(json_object_get(last, "seq")),
		       jstr(last, "verdict"), jstr(last, "reason"), jstr(last, "source"));
	json_decref(st);
	return TOOL_EXIT_OK;
}

static int cmd_scan(int argc, char **argv)
{
	struct options o = {0};
	int first = parse_options(argc, argv, &o);
	if (first < 0 || first != argc - 1)
		return usage_error("scan takes [--socket PATH] CODE (or -)");
	char *code = argv[first], *owned = NULL;
	size_t len = strlen(code);
	if (strcmp(code, "-") == 0) {
		int status = read_code_stdin(&owned, &len);
		if (status != TOOL_EXIT_OK)
			return status;
		code = owned;
	}
	json_t *req =
	        json_pack("{s:s, s:s%, s:b}", "cmd", "scan", "code", code, len, "full", o.full);
	free(owned);
	if (req == NULL) {
		log_err("the code is not valid UTF-8 text");
		return TOOL_EXIT_DATA;
	}
	int status = TOOL_EXIT_OK;
	json_t *v = daemon_call(&o, req, &status);
	json_decref(req);
	if (v == NULL)
		return status;
	print_json(v);
	const char *kind = jstr(v, "verdict");
	status = kind[0] == '\0'                ? TOOL_EXIT_OK /* a duplicate: no verdict */
	         : strcmp(kind, "valid") == 0   ? CHECK_EXIT_VALID
	         : strcmp(kind, "invalid") == 0 ? CHECK_EXIT_INVALID
	                                        : CHECK_EXIT_REVIEW;
	json_decref(v);
	return status;
}

/* --- USB sticks ------------------------------------------------------- */

static void print_usb_progress(void *arg, const char *what, uint64_t done, uint64_t total)
{
	(void)arg;
	if (total == 0)
		fprintf(stderr, "  %s\n", what);
	else if (done == total)
		fprintf(stderr, "  read %s (%llu bytes)\n", what, (unsigned long long)total);
}

/* The configuration as the daemon composes it: the file, then the settings USB bundles made
 * (dropin: --dropin, else the file's [usb] dropin). */
static int usb_config(const char *path, const char *dropin, struct config *cfg)
{
	static struct config_errors errs;
	config_defaults(cfg);
	enum qd_err rc = config_load(path, cfg, &errs);
	if (rc == QD_OK)
		rc = config_load_dropin(dropin != NULL ? dropin : cfg->usb.dropin, cfg, &errs);
	if (rc == QD_OK)
		return TOOL_EXIT_OK;
	if (errs.count == 0)
		log_err("%s: cannot read it (the desk id comes from its [desk] desk_id)", path);
	for (size_t i = 0; i < errs.count && i < CONFIG_ERRORS_MAX; i++)
		log_err("%s:%d: %s", errs.file, errs.items[i].line, errs.items[i].message);
	return TOOL_EXIT_CONFIG;
}

static int cmd_usb(int argc, char **argv)
{
	static const struct option opts[] = {
	        {"store", required_argument, NULL, 's'},  {"config", required_argument, NULL, 'c'},
	        {"desk", required_argument, NULL, 'd'},   {"dropin", required_argument, NULL, 'D'},
	        {"max-mb", required_argument, NULL, 'm'}, {"firmware", no_argument, NULL, 'f'},
	        {"now", required_argument, NULL, 'n'},    {NULL, 0, NULL, 0}};
	struct usb_options uo = {.desk_id = NULL, .hooks = {.progress = print_usb_progress}};
	const char *store_path = NULL, *config_path = CONFIG_DEFAULT_PATH, *desk = NULL;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		int64_t t;
		char *end;
		switch (c) {
		case 's':
			store_path = optarg;
			break;
		case 'c':
			config_path = optarg;
			break;
		case 'd':
			desk = optarg;
			break;
		case 'D':
			uo.dropin_path = optarg;
			break;
		case 'm': {
			unsigned long mb = strtoul(optarg, &end, 10);
			if (*end != '\0' || mb < 1 || mb > 300)
				return usage_error("--max-mb takes 1..300");
			uo.max_bundle_bytes = mb * 1024 * 1024;
			break;
		}
		case 'f':
			uo.firmware = true;
			break;
		case 'n':
			if (tool_parse_time(optarg, &t) != QD_OK)
				return usage_error("--now: not a time");
			tool_set_now(t);
			break;
		default:
			return usage_error("usb: bad option");
		}
	}
	if (store_path == NULL || argc - optind != 1)
		return usage_error("usb needs --store DB DIR");
	/* The desk's id signs its batches into its one chain: the configured one, as the
	 * daemon's, never a typed one (a typo would break the chain for good). */
	static struct config cfg;
	int status = usb_config(config_path, uo.dropin_path, &cfg);
	if (status != TOOL_EXIT_OK)
		return status;
	if (desk != NULL && strcmp(desk, cfg.desk_id) != 0) {
		log_err("--desk %s: this desk is %s ([desk] desk_id in %s); nothing done",
		        tty_text(desk), cfg.desk_id, config_path);
		return TOOL_EXIT_CONFIG;
	}
	uo.desk_id = cfg.desk_id;
	uo.batch_rows = cfg.upload.batch_rows;
	uo.clock_now = tool_now();
	/* The desk's key beside the store signs an export's batches, as the daemon's does. */
	char key_path[4200];
	desk_key_default_path(store_path, key_path, sizeof(key_path));
	struct signature_keypair kp;
	struct qd_errmsg key_why = {{0}};
	bool have_key = desk_key_load(key_path, &kp, &key_why) == QD_OK;
	uo.desk_key = have_key ? &kp : NULL;
	struct store *store;
	status = open_store(store_path, STORE_OPEN_READWRITE, &store);
	if (status != TOOL_EXIT_OK) {
		if (have_key)
			signature_keypair_wipe(&kp);
		return status;
	}
	static struct usb_report rep;
	enum qd_err rc = usb_process_stick(store, argv[optind], &uo, &rep);
	store_close(store);
	if (have_key)
		signature_keypair_wipe(&kp);
	const struct usb_step *steps[] = {&rep.bundle, &rep.export_, &rep.firmware};
	static const char *const names[] = {"bundle", "export", "firmware"};
	for (size_t i = 0; i < 3; i++)
		if (steps[i]->present)
			printf("%-8s %s: %s: %s\n", names[i], tty_text(steps[i]->file),
			       qd_err_name(steps[i]->status), tty_text(steps[i]->detail));
	if (rep.ignored > 0)
		printf("ignored  %zu other file%s in qrdesk/\n", rep.ignored,
		       rep.ignored == 1 ? "" : "s");
	printf("USB: %s\n", tty_text(rep.headline));
	return rep.stage == USB_REJECTED ? tool_exit_for(rc == QD_OK ? QD_ERR_FORMAT : rc)
	                                 : TOOL_EXIT_OK;
}

static int cmd_reload(int argc, char **argv)
{
	struct options o = {0};
	int first = parse_options(argc, argv, &o);
	if (first < 0 || first != argc)
		return usage_error("reload takes [--socket PATH]");
	json_t *req = json_pack("{s:s}", "cmd", "reload");
	int status = TOOL_EXIT_OK;
	json_t *r = daemon_call(&o, req, &status);
	json_decref(req);
	if (r == NULL)
		return status;
	bool config_ok = json_is_true(json_object_get(r, "config_ok"));
	bool trust_ok = json_is_true(json_object_get(r, "trust_ok"));
	if (config_ok)
		printf("configuration: reloaded\n");
	else
		printf("configuration: REFUSED, the running one kept: %s\n",
		       jstr(r, "config_error"));
	if (trust_ok)
		printf("trust data: reloaded\n");
	else
		printf("trust data: NOT reloaded, the loaded one kept: %s\n",
		       jstr(r, "trust_error"));
	json_decref(r);
	/* A refusal is the technician's to fix: 78 for the file, 65 for the trust data. */
	return !config_ok ? TOOL_EXIT_CONFIG : !trust_ok ? TOOL_EXIT_DATA : TOOL_EXIT_OK;
}

int main(int argc, char **argv)
{
	log_init("qrdeskctl", LOG_STYLE_PLAIN, LOG_INFO);
	if (argc < 2)
		return usage_error("no command given");
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			fputs(usage_text, stdout);
			return TOOL_EXIT_OK;
		}
	if (signature_init() != QD_OK) {
		log_err("cannot initialise the crypto library");
		return TOOL_EXIT_SOFTWARE;
	}
	const char *cmd = argv[1];
	if (strcmp(cmd, "provision") == 0)
		return cmd_provision(argc - 1, argv + 1);
	if (strcmp(cmd, "enroll") == 0)
		return cmd_enroll(argc - 1, argv + 1);
	if (strcmp(cmd, "import") == 0)
		return cmd_import(argc - 1, argv + 1);
	if (strcmp(cmd, "check") == 0)
		return cmd_check(argc - 1, argv + 1);
	if (strcmp(cmd, "sync") == 0)
		return cmd_sync(argc - 1, argv + 1);
	if (strcmp(cmd, "show") == 0)
		return cmd_show(argc - 1, argv + 1);
	if (strcmp(cmd, "status") == 0)
		return cmd_status(argc - 1, argv + 1);
	if (strcmp(cmd, "scan") == 0)
		return cmd_scan(argc - 1, argv + 1);
	if (strcmp(cmd, "reload") == 0)
		return cmd_reload(argc - 1, argv + 1);
	if (strcmp(cmd, "usb") == 0)
		return cmd_usb(argc - 1, argv + 1);
	if (strcmp(cmd, "doctor") == 0)
		return doctor_main(argc - 1, argv + 1);
	log_err("unknown command %s", cmd);
	fprintf(stderr, "Try 'qrdeskctl --help'.\n");
	return TOOL_EXIT_USAGE;
}

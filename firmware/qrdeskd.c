/* SPDX-License-Identifier: Apache-2.0 */
/*
 * qrdeskd - the desk daemon: the command line, then the desk's parts.
 *
 * The parts and their order are the table in desk/desk.c (docs/architecture.md):
 * desk (the store), indicators, pipeline, control (socket and signals),
 * kiosk, hotplug, sync, upload, usb, sources.  desk_run() opens them in that
 * order, tells systemd READY and runs the one loop that owns everything
 * (the kiosk's HTTP threads and the sync worker only post to it);
 * desk_close() closes them in exactly the reverse order.  Signals arrive
 * through the loop:
 *   SIGTERM/SIGINT  finish the verdict in flight (callbacks never overlap),
 *                   close the parts: sources first, the store last, with
 *                   the audit rows still deferred written; exit 0;
 *   SIGHUP          re-read the configuration (live keys applied, changed
 *                   restart keys named in a warning) and the trust data,
 *                   without dropping a scan.
 */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "desk/desk.h"
#include "qrdesk/config.h"
#include "qrdesk/log.h"
#include "qrdesk/source_replay.h"
#include "qrdesk/usb_mountd.h"

static const char usage_text[] =
        "usage: qrdeskd [OPTIONS]\n"
        "\n"
        "  --config FILE          configuration file (default " CONFIG_DEFAULT_PATH ")\n"
        "  --check-config [FILE]  check the configuration, print file:line errors, exit\n"
        "  --unit-devices [FILE]  print a systemd drop-in allowing FILE's devices only\n"
        "  --demo                 demo mode: the demo trust data in DIR (qrdesk-issuer demo\n"
        "                         DIR makes it), simulated indicators, codes from standard\n"
        "                         input and from DIR/inbox\n"
        "  --demo-dir DIR         where demo mode keeps its data (default ./qrdesk-demo)\n"
        "  --store DB             override [desk] store\n"
        "  --socket PATH          override [desk] control_socket\n"
        "  --desk ID              override [desk] desk_id\n"
        "  --log-level LEVEL      override [desk] log_level (err, warning, info, debug)\n"
        "  --version, --help\n";

/* Command-line options; OPT_STORE..OPT_LEVEL override [desk] keys. */
enum option_id {
	OPT_CHECK = 1,
	OPT_UNIT_DEVICES,
	OPT_DEMO,
	OPT_DEMO_DIR,
	OPT_STORE,
	OPT_SOCKET,
	OPT_DESK,
	OPT_LEVEL
};
static const char *const override_keys[] = {[OPT_STORE] = "store",
                                            [OPT_SOCKET] = "control_socket",
                                            [OPT_DESK] = "desk_id",
                                            [OPT_LEVEL] = "log_level"};
static const char *const override_options[] = {[OPT_STORE] = "--store",
                                               [OPT_SOCKET] = "--socket",
                                               [OPT_DESK] = "--desk",
                                               [OPT_LEVEL] = "--log-level"};

/* What the command line asked for; the configuration is composed from it at start and
 * on every reload (compose_config). */
struct cmdline {
	const char *config_path;
	bool demo;
	const char *demo_dir;
	const char *overrides[OPT_LEVEL + 1]; /* the last of each option given wins */
};

/* --- command line -------------------------------------------------------------------- */

/* p made absolute from the working directory (p itself if it is, or if the
 * result would not fit: the configuration check then says what is wrong). */
static const char *absolute_path(const char *p, char *buf, size_t size)
{
	if (p[0] == '/' || p[0] == '\0' || getcwd(buf, size) == NULL)
		return p;
	size_t n = strlen(buf);
	int w = snprintf(buf + n, size - n, "%s%s", n > 0 && buf[n - 1] == '/' ? "" : "/", p);
	return w < 0 || (size_t)w >= size - n ? p : buf;
}

static void print_config_line(const char *line)
{
	fprintf(stderr, "%s\n", line);
}

static enum qd_err compose_config(const void *arg, struct config *out, struct config_errors *errs,
                                  struct qd_errmsg *why);

/*
 * The configuration a start runs (compose_config), for the start itself and
 * for --check-config and --unit-devices, so all three agree.  Prints what is
 * wrong; returns the exit code, or 0.
 */
static int compose_or_report(const struct cmdline *d, struct config *cfg)
{
	struct config_errors errs = {0};
	struct qd_errmsg why = {{0}};
	enum qd_err rc = compose_config(d, cfg, &errs, &why);
	if (rc == QD_OK)
		return 0;
	if (rc == QD_ERR_NOT_FOUND || rc == QD_ERR_IO)
		fprintf(stderr, "qrdeskd: %s: cannot read it\n",
		        errs.file[0] ? errs.file : d->config_path);
	else if (errs.count > 0)
		config_errors_print(&errs, print_config_line);
	else
		fprintf(stderr, "qrdeskd: %s\n", why.text);
	return rc == QD_ERR_ARG ? 64 : rc == QD_ERR_FORMAT ? 78 : 66;
}

static int check_config(const struct cmdline *d)
{
	struct config cfg;
	int status = compose_or_report(d, &cfg);
	if (status == 0)
		printf("%s: OK\n", d->config_path);
	return status;
}

/*
 * Print a systemd drop-in that lets the unit open exactly the devices this
 * configuration uses (the shipped unit allows only the GPIO chips): each
 * part names the devices of what it opens (desk.h).
 */
static int print_unit_devices(const struct cmdline *d)
{
	struct config cfg;
	int status = compose_or_report(d, &cfg);
	if (status != 0)
		return status;
	desk_unit_devices(&cfg, d->config_path, stdout);
	return 0;
}

/* What demo mode sets, over the file (if any) and under the command line. */
static void demo_apply(struct config *c, const char *dir)
{
	snprintf(c->desk_id, sizeof(c->desk_id), "DEMO-1");
	snprintf(c->store, sizeof(c->store), "%s/desk.db", dir);
	snprintf(c->control_socket, sizeof(c->control_socket), "%s/control.sock", dir);
	c->indicator_backend = CONFIG_INDICATOR_SIM;
	snprintf(c->sim_record, sizeof(c->sim_record), "%s/indicators.log", dir);
	source_replay_stdin_settings(&c->scanners)->enabled = true;
	struct source_replay_images_config *images = source_replay_images_settings(&c->scanners);
	snprintf(images->dir, sizeof(images->dir), "%s/inbox", dir);
}

/*
 * The configuration the daemon runs: defaults, then the file, then demo
 * settings, then the command line - the same steps at start and on reload,
 * so a reload never forgets a command-line override.  QD_ERR_NOT_FOUND or
 * QD_ERR_IO: the file cannot be read; QD_ERR_FORMAT: errs says what is
 * wrong; QD_ERR_ARG: a command-line value is bad (why says which).
 */
static enum qd_err compose_config(const void *arg, struct config *out, struct config_errors *errs,
                                  struct qd_errmsg *why)
{
	const struct cmdline *d = arg;
	config_defaults(out);
	if (d->config_path != NULL) {
		enum qd_err rc = config_load(d->config_path, out, errs);
		if (rc != QD_OK) {
			if (errs->count == 0)
				qd_errmsg_set(why, "%s: cannot read it", d->config_path);
			return rc;
		}
	}
	/* Settings made by USB bundles, over the file (docs/usb-bundle.md). */
	enum qd_err drc = config_load_dropin(out->usb.dropin, out, errs);
	if (drc != QD_OK) {
		if (errs->count == 0)
			qd_errmsg_set(why, "%s: cannot read it", out->usb.dropin);
		return drc;
	}
	if (d->demo)
		demo_apply(out, d->demo_dir);
	for (int opt = OPT_STORE; opt <= OPT_LEVEL; opt++) {
		struct qd_errmsg bad = {{0}};
		if (d->overrides[opt] != NULL &&
		    config_set(out, "desk", override_keys[opt], d->overrides[opt], &bad) != QD_OK) {
			qd_errmsg_set(why, "%s: %s", override_options[opt], bad.text);
			return QD_ERR_ARG;
		}
	}
	return config_validate(out, errs);
}

/*
 * udev mode: forks the mount helper while this is the only thread and the
 * process may hold CAP_SYS_ADMIN, then gives up every capability, so that the
 * code that parses HTTP, network replies and images holds none
 * (docs/security.md).  A helper that cannot start leaves the desk running
 * without sticks; privileges that cannot be dropped stop it.
 */
static int separate_privileges(struct desk *desk)
{
	struct qd_errmsg why = {{0}};
	const struct config_usb *u = &desk->cfg.usb;
	enum qd_err rc = QD_ERR_NOT_FOUND;
	if (u->mount_user[0] != '\0') {
		rc = usb_mountd_start_as(u->mount_dir, NULL, u->mount_user, &desk->mountd, &why);
		if (rc == QD_ERR_NOT_FOUND || rc == QD_ERR_ARG || rc == QD_ERR_PERM)
			log_warn(
			        "usb: [usb] mount_user: %s: the mount helper keeps qrdeskd's user, "
			        "which can signal it (docs/security.md)",
			        why.text);
	} else {
		log_warn("usb: [usb] mount_user is empty: the mount helper keeps qrdeskd's user, "
		         "which can signal it (docs/security.md)");
	}
	if (rc == QD_ERR_NOT_FOUND || rc == QD_ERR_ARG || rc == QD_ERR_PERM)
		rc = usb_mountd_start(u->mount_dir, NULL, &desk->mountd, &why);
	if (rc != QD_OK)
		log_err("usb: cannot start the mount helper: %s; USB sticks will not be mounted",
		        why.text);
	if (usb_mountd_drop_privileges(&why) != QD_OK) {
		log_err("cannot drop privileges: %s", why.text);
		return 1;
	}
	if (desk->mountd != NULL)
		log_info(
		        "usb: the mount helper (pid %d) mounts sticks; qrdeskd holds no capability",
		        (int)usb_mountd_pid(desk->mountd));
	return 0;
}

int main(int argc, char **argv)
{
	static struct desk desk; /* large; static keeps it off the stack */
	static struct cmdline d = {.demo_dir = "qrdesk-demo"}; /* desk keeps a pointer to it */
	log_init("qrdeskd", LOG_STYLE_JOURNAL, LOG_INFO);
	static const struct option opts[] = {
	        {"config", required_argument, NULL, 'c'},
	        {"check-config", optional_argument, NULL, OPT_CHECK},
	        {"unit-devices", optional_argument, NULL, OPT_UNIT_DEVICES},
	        {"demo", no_argument, NULL, OPT_DEMO},
	        {"demo-dir", required_argument, NULL, OPT_DEMO_DIR},
	        {"store", required_argument, NULL, OPT_STORE},
	        {"socket", required_argument, NULL, OPT_SOCKET},
	        {"desk", required_argument, NULL, OPT_DESK},
	        {"log-level", required_argument, NULL, OPT_LEVEL},
	        {"help", no_argument, NULL, 'h'},
	        {"version", no_argument, NULL, 'V'},
	        {NULL, 0, NULL, 0}};
	int c, mode = 0;
	const char *mode_path = NULL;
	while ((c = getopt_long(argc, argv, "c:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			d.config_path = optarg;
			break;
		case OPT_CHECK:
		case OPT_UNIT_DEVICES:
			/* Accept "--check-config FILE" as well as "--check-config=FILE".
			 * Done after every option is read: the overrides count too. */
			mode = c;
			mode_path = optarg;
			if (mode_path == NULL && optind < argc && argv[optind][0] != '-')
				mode_path = argv[optind++];
			break;
		case OPT_DEMO:
			d.demo = true;
			break;
		case OPT_DEMO_DIR:
			d.demo_dir = optarg;
			break;
		case OPT_STORE:
		case OPT_SOCKET:
		case OPT_DESK:
		case OPT_LEVEL:
			d.overrides[c] = optarg;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		case 'V':
			printf("qrdeskd %s\n", DESK_VERSION);
			return 0;
		default:
			fputs(usage_text, stderr);
			return 64;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "qrdeskd: unexpected argument %s\n", argv[optind]);
		return 64;
	}
	/* Paths given on the command line are taken from where it was typed; the
	 * configuration itself takes absolute paths only. */
	static char abs_paths[OPT_LEVEL + 1][PATH_MAX], abs_demo[PATH_MAX];
	for (int opt = OPT_STORE; opt <= OPT_SOCKET; opt++)
		if (d.overrides[opt] != NULL)
			d.overrides[opt] =
			        absolute_path(d.overrides[opt], abs_paths[opt], PATH_MAX);
	d.demo_dir = absolute_path(d.demo_dir, abs_demo, sizeof(abs_demo));
	if (mode != 0) {
		d.config_path = mode_path != NULL       ? mode_path
		                : d.config_path != NULL ? d.config_path
		                                        : CONFIG_DEFAULT_PATH;
		return mode == OPT_CHECK ? check_config(&d) : print_unit_devices(&d);
	}
	if (!d.demo && d.config_path == NULL && access(CONFIG_DEFAULT_PATH, R_OK) == 0)
		d.config_path = CONFIG_DEFAULT_PATH;
	if (d.demo) {
		/* The desk ships no signing code: the back office's tool made the demo data. */
		char db[PATH_MAX + 16];
		snprintf(db, sizeof(db), "%s/desk.db", d.demo_dir);
		if (access(db, R_OK) != 0) {
			log_err("demo: no demo trust data in %s (make it with: qrdesk-issuer demo "
			        "%s)",
			        d.demo_dir, d.demo_dir);
			return 1;
		}
	}
	int bad = compose_or_report(&d, &desk.cfg);
	if (bad != 0)
		return bad;
	log_init("qrdeskd", LOG_STYLE_JOURNAL, desk.cfg.log_level);
	desk.compose = compose_config;
	desk.compose_arg = &d;
	desk.demo = d.demo;
	if (desk.cfg.usb.mode == CONFIG_USB_UDEV && separate_privileges(&desk) != 0) {
		usb_mountd_stop(desk.mountd);
		return 1;
	}
	int status = desk_run(&desk);
	desk_close(&desk);
	usb_mountd_stop(desk.mountd); /* after the USB part asked it to unmount */
	if (status == 0)
		log_info("stopped");
	return status;
}

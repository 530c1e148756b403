/* SPDX-License-Identifier: Apache-2.0 */
/*
 * config.h - qrdeskd's configuration: an INI file read with inih, every key
 * documented in docs/configuration.md.  Values are range-checked; every
 * problem is reported as "file:line: message" and the whole file is refused
 * if any line is wrong (a half-applied config is worse than none).
 */
#ifndef QRDESK_CONFIG_H
#define QRDESK_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "qrdesk/binding.h"
#include "qrdesk/error.h"
#include "qrdesk/hotplug.h"
#include "qrdesk/indicator.h"
#include "qrdesk/scanner.h"

#define CONFIG_PATH_MAX     256
#define CONFIG_DEFAULT_PATH "/etc/qrdesk/qrdesk.conf"
#define CONFIG_FILE_MAX     (256 * 1024) /* bytes: a config file is a few kilobytes */

enum config_indicator_backend {
	CONFIG_INDICATOR_GPIOD = 0,
	CONFIG_INDICATOR_SIM,
};

#define CONFIG_URL_MAX 512

/* [sync]: see docs/configuration.md.  Times in seconds, sizes in bytes. */
struct config_sync {
	char url[CONFIG_URL_MAX];      /* https:// base URL of the repository; "": no sync */
	char ca_file[CONFIG_PATH_MAX]; /* PEM bundle instead of the system's; "": system */
	char pin[CONFIG_URL_MAX];   /* "sha256//BASE64[;sha256//...]": server key pins; "": none */
	char proxy[CONFIG_URL_MAX]; /* proxy URL; "": libcurl's environment (https_proxy...) */
	uint32_t period_s;          /* between two syncs */
	uint32_t jitter_s;          /* random 0..jitter_s added to every wait */
	uint32_t retry_s;           /* first wait after a failure; doubles per failure */
	uint32_t backoff_max_s;     /* ... up to this */
	uint32_t connect_timeout_s;
	unsigned low_speed_bytes;  /* a transfer slower than this many bytes/s ... */
	uint32_t low_speed_time_s; /* ... for this long is dropped */
	unsigned max_file_bytes;   /* cap per file (the timestamp's length caps tighter) */
	uint32_t stale_grace_s;    /* after the timestamp expires: green stays green this long */
};

/* [upload]: see docs/audit-upload.md. */
struct config_upload {
	char url[CONFIG_URL_MAX];      /* https:// base the signed batches are PUT under; "": off */
	char ca_file[CONFIG_PATH_MAX]; /* "": the system's CAs */
	char pin[CONFIG_URL_MAX];      /* as [sync] pin: the endpoint's key pins; "": none */
	char proxy[CONFIG_URL_MAX];    /* as [sync] proxy; "": libcurl's environment */
	char client_cert[CONFIG_PATH_MAX]; /* TLS client certificate (PEM); "": none */
	char client_key[CONFIG_PATH_MAX];  /* its key (PEM); "": none, or in client_cert */
	char token_file[CONFIG_PATH_MAX];  /* a bearer token, read every round; "": none */
	uint32_t batch_rows;               /* audit rows per batch */
	uint32_t period_s;                 /* between two upload rounds */
	uint32_t timeout_s;                /* one request, connect to reply */
	uint32_t retention_days;           /* uploaded rows older than this are purged */
};

/* How qrdeskd notices a technician's USB stick. */
enum config_usb_mode {
	CONFIG_USB_OFF = 0,   /* sticks are ignored */
	CONFIG_USB_AUTOMOUNT, /* the system mounts sticks under watch_dir: watch it (inotify) */
	CONFIG_USB_UDEV,      /* qrdeskd itself: libudev monitor, mount read-only under mount_dir */
};
struct config_usb {
	enum config_usb_mode mode;
	char watch_dir[CONFIG_PATH_MAX]; /* automount: where sticks appear as folders */
	char mount_dir[CONFIG_PATH_MAX]; /* udev: private folder sticks are mounted under */
	char mount_user[32 + 1];         /* udev: the mount helper's own user ("": qrdeskd's) */
	char dropin[CONFIG_PATH_MAX];    /* settings made by bundles, read after the file */
	unsigned max_bundle_mb;          /* a bundle file larger than this is refused */
};

struct config {
	/* [desk] */
	char desk_id[32];                     /* e.g. "DAC-T1-03"; [A-Za-z0-9._-] */
	char store[CONFIG_PATH_MAX];          /* the SQLite trust store */
	char control_socket[CONFIG_PATH_MAX]; /* UNIX socket for qrdeskctl */
	char control_group[32];               /* group also allowed on the socket ("" none) */
	char audit_key[CONFIG_PATH_MAX]; /* the audit key file ("": audit.key beside the store) */
	int log_level;                   /* syslog priority: err, warning, info, debug */
	char firmware_release[CONFIG_PATH_MAX]; /* the image's VERSION= file ("" none) */
	/* [pipeline] */
	uint32_t holdoff_ms;     /* same code within this: one verdict */
	bool already_used_check; /* flag a card that already passed */
	/* [binding]: what a traveller shows (docs/binding.md) */
	enum binding_require binding_require;
	uint32_t binding_timeout_s;
	/* [indicators] */
	enum config_indicator_backend indicator_backend;
	struct indicator_gpiod_config gpio;
	struct pattern_timing timing;
	uint32_t min_show_ms;             /* [indicators] min_show_ms: least time a verdict shows */
	char sim_record[CONFIG_PATH_MAX]; /* sim: transitions appended here ("" none) */
	/* [replay], [serial], [hid], [camera]: the scanner registry's settings (scanner.h) */
	struct scanner_settings scanners;
	/* [hotplug] */
	struct hotplug_config hotplug;
	/* [kiosk] */
	bool kiosk_enabled;
	char kiosk_address[64];               /* IPv4 or IPv6 literal */
	uint32_t kiosk_port;                  /* 1..65535 */
	uint32_t kiosk_idle_ms;               /* how long the page shows a verdict */
	char kiosk_technician_token[128 + 1]; /* "": technician requests off */
	uint32_t kiosk_display_port;          /* 0: no display listener */
	char kiosk_display_user[32 + 1];      /* the kiosk browser's user (with display_port) */
	/* [sync] (the trust-data sync worker; url "" : off) */
	struct config_sync sync;
	/* [upload] (the audit-log upload; url "" : off) */
	struct config_upload upload;
	/* [usb] (docs/usb-bundle.md) */
	struct config_usb usb;
};

#define CONFIG_ERRORS_MAX 32
struct config_errors {
	size_t count;
	struct {
		int line; /* 0: not tied to a line (e.g. a missing required key) */
		char message[200];
	} items[CONFIG_ERRORS_MAX];
	char file[CONFIG_PATH_MAX];
};

/* Defaults for every key (what docs/configuration.md lists). */
void config_defaults(struct config *cfg);

/*
 * Read path over the current contents of cfg (call config_defaults first).
 * QD_OK; QD_ERR_NOT_FOUND / QD_ERR_IO if the file cannot be read;
 * QD_ERR_FORMAT with errs listing every bad line (cfg is then unchanged).
 */
enum qd_err config_load(const char *path, struct config *cfg, struct config_errors *errs);

/* The same from a buffer; name is used in messages (the fuzz target's entry). */
enum qd_err config_parse(const char *name, const char *text, size_t len, struct config *cfg,
                         struct config_errors *errs);

/*
 * Set one key as the file would ("indicators", "backend", "sim"): for
 * command-line overrides.  QD_ERR_FORMAT with a message in why.
 */
enum qd_err config_set(struct config *cfg, const char *section, const char *key, const char *value,
                       struct qd_errmsg *why);

/* Cross-key checks (e.g. gpio offsets distinct); fills errs with line 0. */
enum qd_err config_validate(const struct config *cfg, struct config_errors *errs);

/* Row i of the scanner registry (scanner.h) as cfg configures it, for qrdeskctl doctor:
 * wants is what it reads (a device, a folder, or its name), NULL if not configured;
 * device_label names a device to check with device_access (access(2)), NULL: none.
 * False past the last row. */
struct config_scanner {
	const char *name;
	const char *wants;
	const char *device_label;
	int device_access;
	bool reads_cards; /* counts as a way to read a card */
};
bool config_scanner_at(const struct config *cfg, size_t i, struct config_scanner *out);

/* The known keys, in table order (tests check the example file and the docs list each). */
size_t config_key_count(void);
void config_key_at(size_t i, const char **section, const char **name);
/* Key i (config_key_at's numbering): equal in a and b?  Copy it from src to dst. */
bool config_key_same(const struct config *a, const struct config *b, size_t i);
void config_key_copy(struct config *dst, const struct config *src, size_t i);

/*
 * USB drop-in: may a bundle set [section] key?  And read the
 * drop-in over cfg (after the main file): only allowed keys, all or nothing;
 * a missing file is QD_OK (no bundle has set anything).
 */
bool config_dropin_allowed(const char *section, const char *key);
enum qd_err config_load_dropin(const char *path, struct config *cfg, struct config_errors *errs);
/* "off", "automount", "udev"; NULL if unknown. */
const char *config_usb_mode_name(enum config_usb_mode mode);

/* Print errs as "file:line: message" lines to stderr-style output via fn. */
void config_errors_print(const struct config_errors *errs, void (*fn)(const char *line));

#endif

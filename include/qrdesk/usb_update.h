/* SPDX-License-Identifier: Apache-2.0 */
/*
 * usb_update.h - what qrdeskd does with a technician's USB stick
 * (docs/usb-bundle.md).  Given the stick's root folder (mounted by qrdeskd
 * or by the system), it looks only at ROOT/qrdesk/ and, in this order:
 *
 *  1. an update bundle (*.qrbundle; exactly one): read within a size cap,
 *     verified completely - outer signature (update or root key), desk,
 *     no replay and no downgrade, every setting on the allow-list, every
 *     inner document through import_verify - and only then applied in one
 *     store batch; settings go to the config drop-in (temp, fsync, rename);
 *  2. an export request (export-request): the audit rows not yet delivered
 *     (uploaded or exported), as the signed batches the upload would send
 *     (audit_seal.h: one chain shared with the upload), each sealed to the
 *     back office's key from the signed request and written to
 *     ROOT/qrdesk/export/<desk>-<sequence>.qrlog (auditexport.h; temp, fsync,
 *     rename, fsync folder) and only then marked delivered;
 *  3. a RAUC firmware bundle (*.raucb; exactly one): handed to
 *     `rauc install` (no shell); rauc absent is reported, nothing else.
 *
 * Names starting with '.' (macOS ._* files, .Trashes) are skipped.  Every
 * outcome goes to the audit log.  Nothing is changed by a step that fails.
 * Runs on any thread with its own store connection.
 */
#ifndef QRDESK_USB_UPDATE_H
#define QRDESK_USB_UPDATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "qrdesk/bundle.h"
#include "qrdesk/error.h"
#include "qrdesk/signature.h"
#include "qrdesk/store.h"

#define USB_FOLDER          "qrdesk"
#define USB_BUNDLE_SUFFIX   ".qrbundle"
#define USB_FIRMWARE_SUFFIX ".raucb"
#define USB_EXPORT_REQUEST  "export-request"
#define USB_EXPORT_FOLDER   "export"
#define USB_REQUEST_MAX     (64u * 1024u) /* an export request is a few hundred bytes */
/* Batches (of up to AUDITBATCH_ROWS_MAX rows) per export; the rest on the next one. */
#define USB_EXPORT_BATCHES_MAX 100u
/* The export's first format (JSON lines), which qrdesk-issuer still opens. */
#define USB_EXPORT_FORMAT_1 "qrdesk-export-1"

/* What the technician is told (kiosk, status, audit). */
enum usb_stage {
	USB_IDLE = 0,
	USB_READING,   /* a stick is being read */
	USB_APPLIED,   /* something was applied / exported / installed */
	USB_UNCHANGED, /* nothing to do: already applied, no qrdesk/ folder, nothing on it */
	USB_REJECTED,  /* refused: the headline says why */
	USB_REMOVED,   /* the stick was pulled */
};
const char *usb_stage_name(enum usb_stage stage);

struct usb_hooks {
	/* Progress: "reading bundle.qrbundle", done of total bytes (total 0: unknown). */
	void (*progress)(void *arg, const char *what, uint64_t done, uint64_t total);
	/*
	 * Make the stick writable (true) for the export file, then read-only
	 * again (false).  NULL: the folder is writable as it is.
	 */
	enum qd_err (*set_writable)(void *arg, bool writable, struct qd_errmsg *why);
	void *arg;
};

struct usb_options {
	const char *desk_id;     /* the configured [desk] desk_id: its batches carry it */
	size_t batch_rows;       /* [upload] batch_rows: rows per exported batch (0: 500) */
	const char *dropin_path; /* settings are written here; NULL or "": settings refused */
	size_t max_bundle_bytes; /* 0: IMPORT_FILE_MAX */
	int64_t clock_now;       /* seconds */
	bool firmware;           /* hand *.raucb to rauc (false: reported, not installed) */
	const char *rauc;        /* the rauc program (NULL: "rauc" on PATH) */
	/* The desk's key (desk_key.h): signs the exported batches; NULL: exports refused. */
	const struct signature_keypair *desk_key;
	struct usb_hooks hooks;
};

/* One step's outcome. */
struct usb_step {
	bool present; /* the stick had this kind of file */
	enum qd_err status;
	char file[128];
	char detail[320]; /* "key set v12, revocations v340" or why it was refused */
};

struct usb_report {
	enum usb_stage stage;
	char headline[400]; /* "applied key set v12, revocations v340" / "rejected: ..." */
	bool no_folder;     /* the stick has no qrdesk/ folder */
	size_t ignored;     /* other files in qrdesk/ (including ._*) */
	/* update bundle */
	struct usb_step bundle;
	char bundle_id[BUNDLE_ID_MAX + 1];
	char signer_kid[2 * 16 + 1];
	bool trust_changed;    /* documents installed: reload the trust view */
	bool settings_changed; /* the drop-in was rewritten: reload the config */
	/* export */
	struct usb_step export_;
	uint64_t exported_rows;
	uint64_t exported_batches;
	/* firmware */
	struct usb_step firmware;
};

/* Process the stick mounted (or simulated) at root.  Not reentrant: one stick at a time. */
enum qd_err usb_process_stick(struct store *store, const char *root, const struct usb_options *opt,
                              struct usb_report *report);

#endif

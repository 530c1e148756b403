/* SPDX-License-Identifier: Apache-2.0 */
/*
 * paced_vfs.h - inside the store module (cache/): an SQLite VFS over the
 * platform's that syncs a main database or WAL file after every
 * PACED_VFS_CHUNK bytes written, so a big apply reaches the disk in steps:
 * at most about a quarter MiB of it is unsynced ahead of a verdict's audit-row fsync
 * (paced_vfs.c).
 * The trust store's connections use it.  Both it and the audit log's VFS
 * grow a WAL file in zero-filled steps, so a commit's fdatasync seldom has a
 * file system journal commit to wait for (paced_vfs.c says why).
 */
#ifndef QRDESK_PACED_VFS_H
#define QRDESK_PACED_VFS_H

#include <stdbool.h>

#include <sqlite3.h>

#define PACED_VFS_NAME       "qrdesk-paced"
#define PACED_VFS_AUDIT_NAME "qrdesk-audit"
#define PACED_VFS_CHUNK      (256 * 1024)
/* A WAL grows in zeroed steps: the trust store's by 1 MiB, the audit log's by
 * 4 MiB, its whole WAL at SQLite's auto-checkpoint (1000 frames of 4 KiB + 24). */
#define PACED_VFS_TRUST_STEP (1024 * 1024)
#define PACED_VFS_AUDIT_STEP (4 * 1024 * 1024)

enum paced_vfs_kind {
	PACED_VFS_TRUST, /* syncs every PACED_VFS_CHUNK written; WAL grows by TRUST_STEP */
	PACED_VFS_AUDIT, /* no pacing (short commits); WAL grows by AUDIT_STEP */
};

/* Registers both VFSes once (thread-safe); the name of one for sqlite3_open_v2,
 * or NULL if they cannot be registered (then the caller opens with the default). */
const char *paced_vfs_name(enum paced_vfs_kind kind);

/* Syncs made for pacing since the process started (tests and status). */
unsigned long paced_vfs_syncs(void);

/* Steps by which WAL files grew since the process started (tests). */
unsigned long paced_vfs_grow_steps(void);

#endif

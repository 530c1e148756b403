/* SPDX-License-Identifier: Apache-2.0 */
/*
 * paced_vfs.h - inside the store module (cache/): an SQLite VFS over the
 * platform's that syncs a main database or WAL file after every
 * PACED_VFS_CHUNK bytes written, so a big apply reaches the disk in steps:
 * at most about one MiB of it is unsynced ahead of a verdict's audit-row fsync
 * (paced_vfs.c).
 * The trust store's connections use it; the audit log's do not need it.
 */
#ifndef QRDESK_PACED_VFS_H
#define QRDESK_PACED_VFS_H

#include <stdbool.h>

#include <sqlite3.h>

#define PACED_VFS_NAME  "qrdesk-paced"
#define PACED_VFS_CHUNK (1024 * 1024)

/* Registers the VFS once (thread-safe); its name for sqlite3_open_v2, or NULL
 * if it cannot be registered (then the caller opens with the default VFS). */
const char *paced_vfs_name(void);

/* Syncs made for pacing since the process started (tests and status). */
unsigned long paced_vfs_syncs(void);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * paced_vfs.c - an SQLite VFS shim over the platform's own that makes a big
 * writer sync as it goes (see paced_vfs.h).
 *
 * Why: a 1M-entry apply writes ~30 MiB of WAL and then checkpoints ~24 MiB
 * into the trust file, each ended by one fsync.  That fsync meets the disk
 * with everything at once, and the daemon loop's own fdatasync of a
 * verdict's audit row, queued behind it, waited 20-30 ms on a quiet machine
 * and over 100 ms on a loaded one (strace of the daemon during the sync
 * bench).  Syncing every PACED_VFS_CHUNK bytes written (RocksDB's
 * bytes_per_sync, PostgreSQL's backend_flush_after) keeps at most one chunk
 * between an audit row and the disk.  Extra syncs only add durability, so
 * SQLite's own guarantees are untouched.
 *
 * Both VFSes also grow a WAL file ahead of its writer, in zero-filled steps
 * (1 MiB for the trust store, 4 MiB, a whole auto-checkpoint's WAL, for the
 * audit log, whose connections use the second VFS, "qrdesk-audit", which
 * does not pace).  Why: a commit's fdatasync that finds its file grown (new
 * blocks, a new size) must commit the file system's journal, and on ext4
 * (data=ordered) that commit first writes out the blocks the trust apply has
 * just allocated: the loop's audit fdatasync waited 20-30 ms there even with
 * the apply paced.  A write into blocks already allocated and written needs
 * no journal commit, only its own data flushed.  Zeros, not fallocate():
 * ext4 keeps fallocated blocks "unwritten", and the first write into them is
 * again a journal change.  SQLite is at home with a WAL longer than its
 * frames: its end is the last frame with a valid checksum.  Database files
 * are left to grow as SQLite grows them (a checkpoint, off the loop for the
 * trust store, once per ~1000 pages for the audit log).
 */
#include "paced_vfs.h"

#include <pthread.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stddef.h>
#include <string.h>

struct paced_file {
	sqlite3_file base;   /* pMethods: paced_io, or NULL if the real open failed */
	sqlite3_file *real;  /* the platform VFS's file, right after this struct */
	sqlite3_int64 since; /* bytes written since the last sync */
	bool paced;          /* a main database or WAL file: the big writers */
	sqlite3_int64 step;  /* a WAL file: grows in zeroed steps of this size; else 0 */
	sqlite3_int64 size;  /* step: the file's size as last known, -1 unknown */
};

/* Where the real file starts, aligned for whatever the platform keeps in it. */
#define REAL_OFFSET                                                                                \
	((sizeof(struct paced_file) + alignof(max_align_t) - 1) / alignof(max_align_t) *           \
	 alignof(max_align_t))

static sqlite3_vfs *root_vfs;
static atomic_ulong paced_syncs;
static atomic_ulong grow_steps;

unsigned long paced_vfs_syncs(void)
{
	return atomic_load(&paced_syncs);
}

unsigned long paced_vfs_grow_steps(void)
{
	return atomic_load(&grow_steps);
}

static sqlite3_int64 round_up(sqlite3_int64 n, sqlite3_int64 step)
{
	return (n + step - 1) / step * step;
}

/*
 * Makes the file at least `want` bytes long by writing zeros after its end,
 * up to the end of its step.  SQLite writes a WAL only while it holds the
 * WAL's write lock, so no other writer can be past our end.
 */
static int grow_wal(struct paced_file *p, sqlite3_int64 want)
{
	sqlite3_file *r = p->real;
	if (p->size < 0 && r->pMethods->xFileSize(r, &p->size) != SQLITE_OK) {
		p->size = -1;
		return SQLITE_IOERR_FSTAT;
	}
	if (want <= p->size)
		return SQLITE_OK;
	static const char zeros[64 * 1024];
	sqlite3_int64 end = round_up(want, p->step);
	for (sqlite3_int64 at = p->size; at < end;) {
		sqlite3_int64 left = end - at;
		int n = left < (sqlite3_int64)sizeof(zeros) ? (int)left : (int)sizeof(zeros);
		int rc = r->pMethods->xWrite(r, zeros, n, at);
		if (rc != SQLITE_OK) {
			p->size = -1; /* partly grown: ask the file again next time */
			return rc;
		}
		at += n;
	}
	p->size = end;
	atomic_fetch_add(&grow_steps, 1);
	/* A paced file's zeros go to the disk now, with the journal commit of its new size. */
	if (p->paced) {
		p->since = 0;
		return r->pMethods->xSync(r, SQLITE_SYNC_NORMAL);
	}
	return SQLITE_OK;
}

static sqlite3_file *real_of(sqlite3_file *f)
{
	return ((struct paced_file *)f)->real;
}

/* ---- the file: every method forwards; xWrite counts and syncs ---------- */

static int paced_close(sqlite3_file *f)
{
	sqlite3_file *r = real_of(f);
	int rc = r->pMethods != NULL ? r->pMethods->xClose(r) : SQLITE_OK;
	f->pMethods = NULL;
	return rc;
}

static int paced_read(sqlite3_file *f, void *buf, int n, sqlite3_int64 off)
{
	sqlite3_file *r = real_of(f);
	return r->pMethods->xRead(r, buf, n, off);
}

static int paced_write(sqlite3_file *f, const void *buf, int n, sqlite3_int64 off)
{
	struct paced_file *p = (struct paced_file *)f;
	if (p->step > 0) {
		/* Zeros first, then the data: no data lands in a block the zeros allocate. */
		int rc = grow_wal(p, off + n);
		if (rc != SQLITE_OK)
			return rc;
	}
	int rc = p->real->pMethods->xWrite(p->real, buf, n, off);
	if (rc != SQLITE_OK || !p->paced)
		return rc;
	p->since += n;
	if (p->since < PACED_VFS_CHUNK)
		return SQLITE_OK;
	p->since = 0;
	atomic_fetch_add(&paced_syncs, 1);
	return p->real->pMethods->xSync(p->real, SQLITE_SYNC_NORMAL);
}

static int paced_truncate(sqlite3_file *f, sqlite3_int64 size)
{
	struct paced_file *p = (struct paced_file *)f;
	/* journal_size_limit cuts a WAL: keep whole steps (unixTruncate with a chunk size). */
	if (p->step > 0 && size > 0)
		size = round_up(size, p->step);
	int rc = p->real->pMethods->xTruncate(p->real, size);
	p->size = rc == SQLITE_OK && p->step > 0 ? size : -1;
	return rc;
}

static int paced_sync(sqlite3_file *f, int flags)
{
	struct paced_file *p = (struct paced_file *)f;
	p->since = 0;
	return p->real->pMethods->xSync(p->real, flags);
}

static int paced_file_size(sqlite3_file *f, sqlite3_int64 *size)
{
	sqlite3_file *r = real_of(f);
	return r->pMethods->xFileSize(r, size);
}

static int paced_lock(sqlite3_file *f, int level)
{
	sqlite3_file *r = real_of(f);
	return r->pMethods->xLock(r, level);
}

static int paced_unlock(sqlite3_file *f, int level)
{
	sqlite3_file *r = real_of(f);
	return r->pMethods->xUnlock(r, level);
}

static int paced_check_reserved(sqlite3_file *f, int *out)
{
	sqlite3_file *r = real_of(f);
	return r->pMethods->xCheckReservedLock(r, out);
}

static int paced_file_control(sqlite3_file *f, int op, void *arg)
{
	sqlite3_file *r = real_of(f);
	return r->pMethods->xFileControl(r, op, arg);
}

static int paced_sector_size(sqlite3_file *f)
{
	sqlite3_file *r = real_of(f);
	return r->pMethods->xSectorSize(r);
}

static int paced_device_characteristics(sqlite3_file *f)
{
	sqlite3_file *r = real_of(f);
	return r->pMethods->xDeviceCharacteristics(r);
}

static int paced_shm_map(sqlite3_file *f, int region, int size, int extend, void volatile **out)
{
	sqlite3_file *r = real_of(f);
	if (r->pMethods->iVersion < 2)
		return SQLITE_IOERR_SHMMAP;
	return r->pMethods->xShmMap(r, region, size, extend, out);
}

static int paced_shm_lock(sqlite3_file *f, int offset, int n, int flags)
{
	sqlite3_file *r = real_of(f);
	return r->pMethods->xShmLock(r, offset, n, flags);
}

static void paced_shm_barrier(sqlite3_file *f)
{
	sqlite3_file *r = real_of(f);
	r->pMethods->xShmBarrier(r);
}

static int paced_shm_unmap(sqlite3_file *f, int delete_flag)
{
	sqlite3_file *r = real_of(f);
	return r->pMethods->xShmUnmap(r, delete_flag);
}

static int paced_fetch(sqlite3_file *f, sqlite3_int64 off, int n, void **out)
{
	sqlite3_file *r = real_of(f);
	if (r->pMethods->iVersion < 3) { /* no mapping: SQLite reads instead */
		*out = NULL;
		return SQLITE_OK;
	}
	return r->pMethods->xFetch(r, off, n, out);
}

static int paced_unfetch(sqlite3_file *f, sqlite3_int64 off, void *p)
{
	sqlite3_file *r = real_of(f);
	if (r->pMethods->iVersion < 3)
		return SQLITE_OK;
	return r->pMethods->xUnfetch(r, off, p);
}

/*
 * The wrapper offers what the wrapped file offers, as SQLite's own shims do: SQLite reads the
 * version (and the shm entries) to decide whether WAL and memory-mapped reads are possible.
 */
#define PACED_IO_BASE                                                                              \
	.xClose = paced_close, .xRead = paced_read, .xWrite = paced_write,                         \
	.xTruncate = paced_truncate, .xSync = paced_sync, .xFileSize = paced_file_size,            \
	.xLock = paced_lock, .xUnlock = paced_unlock, .xCheckReservedLock = paced_check_reserved,  \
	.xFileControl = paced_file_control, .xSectorSize = paced_sector_size,                      \
	.xDeviceCharacteristics = paced_device_characteristics
#define PACED_IO_SHM                                                                               \
	.xShmMap = paced_shm_map, .xShmLock = paced_shm_lock, .xShmBarrier = paced_shm_barrier,    \
	.xShmUnmap = paced_shm_unmap

static const sqlite3_io_methods paced_io_v1 = {.iVersion = 1, PACED_IO_BASE};
static const sqlite3_io_methods paced_io_v2 = {.iVersion = 2, PACED_IO_BASE, PACED_IO_SHM};
static const sqlite3_io_methods paced_io_v3 = {.iVersion = 3,
                                               PACED_IO_BASE,
                                               PACED_IO_SHM,
                                               .xFetch = paced_fetch,
                                               .xUnfetch = paced_unfetch};

/* ---- the VFS: opens wrap the platform's files, the rest forwards ------- */

static const char audit_mode = 'a'; /* pAppData of the audit log's VFS */

static int paced_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags,
                      int *out_flags)
{
	struct paced_file *p = (struct paced_file *)f;
	memset(p, 0, sizeof(*p));
	p->real = (sqlite3_file *)((char *)f + REAL_OFFSET);
	bool audit = vfs->pAppData == &audit_mode;
	p->paced = !audit && (flags & (SQLITE_OPEN_MAIN_DB | SQLITE_OPEN_WAL)) != 0;
	p->step = (flags & SQLITE_OPEN_WAL) == 0 ? 0
	          : audit                        ? PACED_VFS_AUDIT_STEP
	                                         : PACED_VFS_TRUST_STEP;
	p->size = -1;
	int rc = root_vfs->xOpen(root_vfs, name, p->real, flags, out_flags);
	/* SQLite calls xClose only if pMethods is set; a failed open leaves it NULL. */
	if (p->real->pMethods == NULL)
		return rc;
	int version = p->real->pMethods->iVersion;
	p->base.pMethods = version >= 3 ? &paced_io_v3 : version == 2 ? &paced_io_v2 : &paced_io_v1;
	return rc;
}

static int paced_delete(sqlite3_vfs *vfs, const char *name, int sync_dir)
{
	(void)vfs;
	return root_vfs->xDelete(root_vfs, name, sync_dir);
}

static int paced_access(sqlite3_vfs *vfs, const char *name, int flags, int *out)
{
	(void)vfs;
	return root_vfs->xAccess(root_vfs, name, flags, out);
}

static int paced_full_pathname(sqlite3_vfs *vfs, const char *name, int n, char *out)
{
	(void)vfs;
	return root_vfs->xFullPathname(root_vfs, name, n, out);
}

static void *paced_dlopen(sqlite3_vfs *vfs, const char *name)
{
	(void)vfs;
	return root_vfs->xDlOpen(root_vfs, name);
}

static void paced_dlerror(sqlite3_vfs *vfs, int n, char *out)
{
	(void)vfs;
	root_vfs->xDlError(root_vfs, n, out);
}

static void (*paced_dlsym(sqlite3_vfs *vfs, void *handle, const char *sym))(void)
{
	(void)vfs;
	return root_vfs->xDlSym(root_vfs, handle, sym);
}

static void paced_dlclose(sqlite3_vfs *vfs, void *handle)
{
	(void)vfs;
	root_vfs->xDlClose(root_vfs, handle);
}

static int paced_randomness(sqlite3_vfs *vfs, int n, char *out)
{
	(void)vfs;
	return root_vfs->xRandomness(root_vfs, n, out);
}

static int paced_sleep(sqlite3_vfs *vfs, int us)
{
	(void)vfs;
	return root_vfs->xSleep(root_vfs, us);
}

static int paced_current_time(sqlite3_vfs *vfs, double *out)
{
	(void)vfs;
	return root_vfs->xCurrentTime(root_vfs, out);
}

static int paced_last_error(sqlite3_vfs *vfs, int n, char *out)
{
	(void)vfs;
	return root_vfs->xGetLastError(root_vfs, n, out);
}

static int paced_current_time64(sqlite3_vfs *vfs, sqlite3_int64 *out)
{
	(void)vfs;
	return root_vfs->xCurrentTimeInt64(root_vfs, out);
}

static sqlite3_vfs paced_vfs = {
        .iVersion = 2,
        .zName = PACED_VFS_NAME,
        .xOpen = paced_open,
        .xDelete = paced_delete,
        .xAccess = paced_access,
        .xFullPathname = paced_full_pathname,
        .xDlOpen = paced_dlopen,
        .xDlError = paced_dlerror,
        .xDlSym = paced_dlsym,
        .xDlClose = paced_dlclose,
        .xRandomness = paced_randomness,
        .xSleep = paced_sleep,
        .xCurrentTime = paced_current_time,
        .xGetLastError = paced_last_error,
        .xCurrentTimeInt64 = paced_current_time64,
};

static sqlite3_vfs audit_vfs;

static pthread_once_t register_once = PTHREAD_ONCE_INIT;
static int register_rc = SQLITE_ERROR;

static void register_paced(void)
{
	root_vfs = sqlite3_vfs_find(NULL); /* the platform's: "unix" */
	if (root_vfs == NULL || root_vfs->iVersion < 2)
		return;
	paced_vfs.szOsFile = (int)(REAL_OFFSET + (size_t)root_vfs->szOsFile);
	paced_vfs.mxPathname = root_vfs->mxPathname;
	audit_vfs = paced_vfs;
	audit_vfs.zName = PACED_VFS_AUDIT_NAME;
	audit_vfs.pAppData = (void *)&audit_mode;
	register_rc = sqlite3_vfs_register(&paced_vfs, 0);
	if (register_rc == SQLITE_OK)
		register_rc = sqlite3_vfs_register(&audit_vfs, 0);
}

const char *paced_vfs_name(enum paced_vfs_kind kind)
{
	pthread_once(&register_once, register_paced);
	if (register_rc != SQLITE_OK)
		return NULL;
	return kind == PACED_VFS_AUDIT ? PACED_VFS_AUDIT_NAME : PACED_VFS_NAME;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * thread.h - a thread's own name and CPU priority (Linux: both per thread).
 *
 * qrdeskd's threads are not equal: the HID reader must read a scanner's keys
 * before the kernel's 64-event queue fills (a handful of keys), while the
 * sync worker's hashing and sorting of a large list must yield to the loop.
 * Lowering a thread's nice (a higher priority) needs CAP_SYS_NICE or an
 * RLIMIT_NICE that reaches the new value (qrdeskd.service: LimitNICE=);
 * raising it is always allowed.
 * The name shows in ps -L, top -H and /proc/PID/task/TID/comm.
 */
#ifndef QRDESK_THREAD_H
#define QRDESK_THREAD_H

#include <stddef.h>

#include "qrdesk/error.h"

/* Name the calling thread (at most 15 bytes are kept). */
void thread_name(const char *name);

/*
 * Set the calling thread's nice (-20..19).  On failure
 * the thread keeps its nice and why (why_len bytes; may be NULL) says why:
 *   QD_ERR_ARG   nice outside -20..19
 *   QD_ERR_PERM  not allowed (neither CAP_SYS_NICE nor RLIMIT_NICE down to nice)
 *   QD_ERR_IO    any other failure
 */
enum qd_err thread_set_nice(int nice, char *why, size_t why_len);

/* The calling thread's nice (0 in the unlikely case it cannot be read). */
int thread_nice(void);

/*
 * Put the calling thread under SCHED_FIFO at priority (1..99): it runs before every
 * normal thread as soon as it is runnable, and until it blocks.  For a thread that
 * only waits on a device and hands what it reads on.  Errors as thread_set_nice:
 *   QD_ERR_PERM  neither CAP_SYS_NICE nor an RLIMIT_RTPRIO that reaches priority
 *                (or systemd's RestrictRealtime=yes, or a seccomp filter: EPERM)
 */
enum qd_err thread_set_fifo(int priority, char *why, size_t why_len);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/* doctor.h - `qrdeskctl doctor`: is this desk set up and working? */
#ifndef QRDESKCTL_DOCTOR_H
#define QRDESKCTL_DOCTOR_H

/*
 * Run every check of a desk (clock, RTC, trust data, sync and upload, devices,
 * kiosk, disk, permissions), print one line each (ok/warn/fail with the fix)
 * or --json, and return the exit code of the worst line: 0 ok, 1 warn, 2 fail
 * (64 for a usage error).  argv[0] is "doctor".
 */
int doctor_main(int argc, char **argv);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_stats.h - what the bench programs share: a monotonic clock in
 * microseconds and percentiles of a sample (sorted in place).
 */
#ifndef QRDESK_BENCH_STATS_H
#define QRDESK_BENCH_STATS_H

#include <stddef.h>

double bench_now_us(void);
void bench_percentiles(double *v, size_t n, double *p50, double *p99);

#endif

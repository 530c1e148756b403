/* SPDX-License-Identifier: Apache-2.0 */
/* bench_stats.c - see bench_stats.h. */
#include "bench_stats.h"

#include <stdlib.h>
#include <time.h>

double bench_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

void bench_percentiles(double *v, size_t n, double *p50, double *p99)
{
	qsort(v, n, sizeof(double), cmp_double);
	*p50 = v[n / 2];
	*p99 = v[(size_t)((double)n * 0.99)];
}

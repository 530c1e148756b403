/* SPDX-License-Identifier: Apache-2.0 */
/*
 * loop.h - the daemon's one event loop: epoll over file descriptors, one
 * timerfd per timer (CLOCK_MONOTONIC), a signalfd for signals, and an
 * eventfd through which other threads post work to the loop thread.
 *
 * Everything but loop_post() must be called on the loop thread.  Callbacks
 * run on the loop thread, one at a time; a callback may add or remove any
 * watch, including its own.
 */
#ifndef QRDESK_LOOP_H
#define QRDESK_LOOP_H

#include <stdbool.h>
#include <stdint.h>

#include "qrdesk/error.h"

struct loop;
struct loop_timer;

typedef void (*loop_fd_cb)(struct loop *loop, int fd, uint32_t events, void *arg);
typedef void (*loop_timer_cb)(struct loop *loop, struct loop_timer *timer, void *arg);
typedef void (*loop_signal_cb)(struct loop *loop, int signo, void *arg);
typedef void (*loop_work_cb)(struct loop *loop, void *arg);

enum qd_err loop_create(struct loop **out);
/* Frees the loop; watched fds are not closed (their owners close them). */
void loop_destroy(struct loop *loop);

/* Watch fd for events (EPOLLIN, EPOLLOUT...). One watch per fd. */
enum qd_err loop_add_fd(struct loop *loop, int fd, uint32_t events, loop_fd_cb cb, void *arg);
enum qd_err loop_modify_fd(struct loop *loop, int fd, uint32_t events);
void loop_remove_fd(struct loop *loop, int fd);

enum qd_err loop_timer_create(struct loop *loop, loop_timer_cb cb, void *arg,
                              struct loop_timer **out);
/* Fire after delay_ms, then every interval_ms (0: once). Re-arming replaces the old setting. */
void loop_timer_arm(struct loop_timer *timer, uint64_t delay_ms, uint64_t interval_ms);
void loop_timer_disarm(struct loop_timer *timer);
bool loop_timer_armed(const struct loop_timer *timer);
void loop_timer_destroy(struct loop_timer *timer);

/* Deliver signo through the loop (it is blocked for the process). */
enum qd_err loop_add_signal(struct loop *loop, int signo, loop_signal_cb cb, void *arg);

/* Thread-safe: run cb(arg) on the loop thread soon. QD_ERR_NOMEM if the queue cannot grow. */
enum qd_err loop_post(struct loop *loop, loop_work_cb cb, void *arg);

/* Run until loop_stop(); QD_OK, or an error if epoll itself fails. */
enum qd_err loop_run(struct loop *loop);
void loop_stop(struct loop *loop);

/* Monotonic and wall-clock time in microseconds. */
int64_t loop_now_us(void);
int64_t loop_wall_us(void);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * indicator_gpiod.c - the LEDs and buzzer on GPIO lines through libgpiod 1.6
 * (Debian 12 ships 1.6.3; this is the 1.x API, not 2.x).
 *
 * The four lines are requested together, as outputs, in one bulk request
 * (one kernel line handle) with default values all logically off.  With
 * active_low the request carries GPIOD_LINE_REQUEST_FLAG_ACTIVE_LOW, so the
 * values this file writes stay logical (1 = lit) and the kernel inverts.
 *
 * A bulk request is all or nothing (one GPIO_GET_LINEHANDLE ioctl), so a
 * failed request leaves nothing to release; every later failure releases
 * the lines and closes the chip before returning.  A released line reverts
 * to its default, which is why destroy() drives everything off first.
 */
#include "qrdesk/indicator.h"

#include <errno.h>
#include <gpiod.h>
#include <stdlib.h>
#include <string.h>

struct gpiod_ind {
	struct gpiod_chip *chip;
	struct gpiod_line_bulk bulk; /* green, red, amber, buzzer: INDICATOR_* order */
};

static enum qd_err gpiod_ind_set(void *ctx, const bool on[INDICATOR_LINES])
{
	struct gpiod_ind *g = ctx;
	int values[INDICATOR_LINES];
	for (size_t i = 0; i < INDICATOR_LINES; i++)
		values[i] = on[i] ? 1 : 0;
	/* errno stays as libgpiod left it: the wrapper puts it in the detail. */
	return gpiod_line_set_value_bulk(&g->bulk, values) == 0 ? QD_OK : QD_ERR_IO;
}

static void gpiod_ind_all_off(void *ctx)
{
	struct gpiod_ind *g = ctx;
	static const int off[INDICATOR_LINES];
	(void)gpiod_line_set_value_bulk(&g->bulk, off);
}

static void gpiod_ind_destroy(void *ctx)
{
	struct gpiod_ind *g = ctx;
	if (g == NULL)
		return;
	gpiod_ind_all_off(g);
	gpiod_line_release_bulk(&g->bulk);
	gpiod_chip_close(g->chip);
	free(g);
}

static const struct indicator_backend_ops gpiod_ops = {
        .name = "gpiod",
        .set = gpiod_ind_set,
        .all_off = gpiod_ind_all_off,
        .destroy = gpiod_ind_destroy,
};

static enum qd_err errno_code(int err)
{
	switch (err) {
	case ENOMEM:
		return QD_ERR_NOMEM;
	case ENOENT:
	case ENODEV:
	case ENXIO:
		return QD_ERR_NOT_FOUND;
	default:
		return QD_ERR_IO;
	}
}

static const char *holder(struct gpiod_line *line)
{
	const char *c = gpiod_line_consumer(line);
	return c != NULL && c[0] != '\0' ? c : "the kernel";
}

/* The index of a line another consumer holds; INDICATOR_LINES if none. */
static size_t find_used(struct gpiod_ind *g, bool refresh)
{
	for (size_t i = 0; i < INDICATOR_LINES; i++) {
		struct gpiod_line *line = gpiod_line_bulk_get_line(&g->bulk, (unsigned)i);
		if (refresh)
			(void)gpiod_line_update(line);
		if (gpiod_line_is_used(line))
			return i;
	}
	return INDICATOR_LINES;
}

static enum qd_err check_config(const struct indicator_gpiod_config *cfg, struct qd_errmsg *why)
{
	if (memchr(cfg->chip, '\0', sizeof(cfg->chip)) == NULL || cfg->chip[0] == '\0') {
		qd_errmsg_set(why, "gpiod: no GPIO chip named");
		return QD_ERR_ARG;
	}
	for (size_t i = 0; i < INDICATOR_LINES; i++) {
		for (size_t j = i + 1; j < INDICATOR_LINES; j++) {
			if (cfg->offsets[i] == cfg->offsets[j]) {
				qd_errmsg_set(why, "%s: line %u is configured for both %s and %s",
				              cfg->chip, cfg->offsets[i],
				              indicator_line_name((enum indicator_line)i),
				              indicator_line_name((enum indicator_line)j));
				return QD_ERR_ARG;
			}
		}
	}
	return QD_OK;
}

enum qd_err indicator_gpiod_open(const struct indicator_gpiod_config *cfg,
                                 struct indicator_backend *out, struct qd_errmsg *why)
{
	if (cfg == NULL || out == NULL) {
		qd_errmsg_set(why, "gpiod: no configuration");
		return QD_ERR_ARG;
	}
	enum qd_err rc = check_config(cfg, why);
	if (rc != QD_OK)
		return rc;

	struct gpiod_ind *g = calloc(1, sizeof(*g));
	if (g == NULL) {
		qd_errmsg_set(why, "%s: out of memory", cfg->chip);
		return QD_ERR_NOMEM;
	}
	errno = 0;
	g->chip = gpiod_chip_open_lookup(cfg->chip);
	if (g->chip == NULL) {
		int err = errno != 0 ? errno : ENOENT;
		qd_errmsg_set(why, "%s: cannot open the GPIO chip: %s", cfg->chip, strerror(err));
		free(g);
		return errno_code(err);
	}
	const char *name = gpiod_chip_name(g->chip);
	if (name == NULL || name[0] == '\0')
		name = cfg->chip;

	unsigned n_lines = gpiod_chip_num_lines(g->chip);
	for (size_t i = 0; i < INDICATOR_LINES; i++) {
		if (cfg->offsets[i] >= n_lines) {
			qd_errmsg_set(why, "%s: line %u (%s) does not exist: the chip has %u lines",
			              name, cfg->offsets[i],
			              indicator_line_name((enum indicator_line)i), n_lines);
			rc = QD_ERR_ARG;
			goto fail_chip;
		}
	}

	unsigned offsets[INDICATOR_LINES];
	memcpy(offsets, cfg->offsets, sizeof(offsets));
	if (gpiod_chip_get_lines(g->chip, offsets, INDICATOR_LINES, &g->bulk) != 0) {
		int err = errno;
		qd_errmsg_set(why, "%s: cannot get lines %u,%u,%u,%u: %s", name, offsets[0],
		              offsets[1], offsets[2], offsets[3], strerror(err));
		rc = errno_code(err);
		goto fail_chip;
	}

	size_t used = find_used(g, false);
	if (used < INDICATOR_LINES) {
		struct gpiod_line *line = gpiod_line_bulk_get_line(&g->bulk, (unsigned)used);
		qd_errmsg_set(why, "%s: line %u (%s) is in use by '%s'", name, offsets[used],
		              indicator_line_name((enum indicator_line)used), holder(line));
		rc = QD_ERR_IO;
		goto fail_chip;
	}

	const struct gpiod_line_request_config req = {
	        .consumer = INDICATOR_CONSUMER,
	        .request_type = GPIOD_LINE_REQUEST_DIRECTION_OUTPUT,
	        .flags = cfg->active_low ? GPIOD_LINE_REQUEST_FLAG_ACTIVE_LOW : 0,
	};
	static const int defaults[INDICATOR_LINES]; /* logically off */
	if (gpiod_line_request_bulk(&g->bulk, &req, defaults) != 0) {
		int err = errno;
		/* Taken between the check and the request?  Name the holder. */
		used = err == EBUSY ? find_used(g, true) : INDICATOR_LINES;
		if (used < INDICATOR_LINES) {
			struct gpiod_line *line =
			        gpiod_line_bulk_get_line(&g->bulk, (unsigned)used);
			qd_errmsg_set(why, "%s: line %u (%s) is in use by '%s'", name,
			              offsets[used], indicator_line_name((enum indicator_line)used),
			              holder(line));
		} else {
			qd_errmsg_set(why, "%s: cannot request lines %u,%u,%u,%u as outputs: %s",
			              name, offsets[0], offsets[1], offsets[2], offsets[3],
			              strerror(err));
		}
		rc = err == EBUSY ? QD_ERR_IO : errno_code(err);
		/* A bulk request is all or nothing; should any line be ours anyway, let it go. */
		for (unsigned i = 0; i < INDICATOR_LINES; i++) {
			if (gpiod_line_is_requested(gpiod_line_bulk_get_line(&g->bulk, i))) {
				gpiod_line_release_bulk(&g->bulk);
				break;
			}
		}
		goto fail_chip;
	}

	memset(out, 0, sizeof(*out));
	out->ops = &gpiod_ops;
	out->ctx = g;
	out->healthy = true;
	return QD_OK;

fail_chip:
	gpiod_chip_close(g->chip);
	free(g);
	return rc;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * part_indicators.c - the LEDs and the buzzer: a backend (GPIO or the
 * simulation) and the pattern player.  A desk without them still runs: the
 * kiosk shows the verdict and the status says why they are off.
 */
#include "desk.h"

#include <string.h>

#include "qrdesk/indicator.h"
#include "qrdesk/log.h"

static const struct desk_key keys[] = {
        {"indicators", "valid_ms", DESK_KEY_LIVE},
        {"indicators", "invalid_ms", DESK_KEY_LIVE},
        {"indicators", "review_ms", DESK_KEY_LIVE},
        {"indicators", "beep_ms", DESK_KEY_LIVE},
        {"indicators", "gap_ms", DESK_KEY_LIVE},
        {"indicators", "min_show_ms", DESK_KEY_LIVE},
        {"indicators", NULL, DESK_KEY_RESTART}, /* backend, chip, lines, active_low, sim_record */
        {NULL, NULL, 0},
};

static int open_indicators(struct desk *d)
{
	struct qd_errmsg why = {{0}};
	enum qd_err rc;
	if (d->cfg.indicator_backend == CONFIG_INDICATOR_SIM)
		rc = indicator_sim_open(d->cfg.sim_record[0] ? d->cfg.sim_record : NULL,
		                        &d->indicators, &why);
	else
		rc = indicator_gpiod_open(&d->cfg.gpio, &d->indicators, &why);
	if (rc != QD_OK) {
		/* The desk still works: the kiosk shows the verdict; status says why. */
		log_err("indicators: %s; running without LEDs and buzzer", why.text);
		return 0;
	}
	d->indicators_open = true;
	if (indicator_player_create(d->loop, &d->indicators, &d->cfg.timing, &d->player) != QD_OK) {
		log_err("indicators: cannot create the pattern player");
		return -1;
	}
	indicator_player_set_min_show(d->player, d->cfg.min_show_ms);
	return 0;
}

static void reload_indicators(struct desk *d)
{
	indicator_player_set_timing(d->player, &d->cfg.timing);
	indicator_player_set_min_show(d->player, d->cfg.min_show_ms);
}

static void close_indicators(struct desk *d)
{
	indicator_player_destroy(d->player); /* stops the pattern: all off */
	d->player = NULL;
	if (d->indicators_open)
		indicator_close(&d->indicators);
	d->indicators_open = false;
}

static void status_indicators(struct desk *d, json_t *obj, int64_t now)
{
	(void)now;
	json_object_set_new(obj, "indicators",
	                    json_pack("{s:s, s:b, s:s}", "backend",
	                              d->indicators_open ? d->indicators.ops->name : "none",
	                              "healthy", d->indicators_open && d->indicators.healthy,
	                              "detail",
	                              d->indicators_open ? d->indicators.detail : "not available"));
}

static void devices_indicators(const struct config *cfg, FILE *out)
{
	if (cfg->indicator_backend != CONFIG_INDICATOR_GPIOD)
		return;
	const char *chip = cfg->gpio.chip;
	if (chip[0] == '/')
		fprintf(out, "DeviceAllow=%s rw\n", chip);
	else if (strncmp(chip, "gpiochip", 8) == 0)
		fprintf(out, "DeviceAllow=/dev/%s rw\n", chip);
	else /* a label: its /dev node is only known at run time */
		fprintf(out, "DeviceAllow=char-gpiochip rw\n");
}

const struct desk_part desk_part_indicators = {
        .name = "indicators",
        .keys = keys,
        .open = open_indicators,
        .reload = reload_indicators,
        .close = close_indicators,
        .status = status_indicators,
        .devices = devices_indicators,
};

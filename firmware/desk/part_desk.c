/* SPDX-License-Identifier: Apache-2.0 */
/*
 * part_desk.c - the desk part: the store every other part reads, the desk's
 * name and the log level.
 */
#include "desk.h"

#include "qrdesk/log.h"
#include "qrdesk/store.h"

static const struct desk_key keys[] = {
        {"desk", "desk_id", DESK_KEY_LIVE},
        {"desk", "store", DESK_KEY_RESTART},
        {"desk", "log_level", DESK_KEY_LIVE},
        {NULL, NULL, 0},
};

static int open_desk(struct desk *d)
{
	struct qd_errmsg why = {{0}};
	if (store_open(d->cfg.store, STORE_OPEN_CREATE, &d->store, &why) != QD_OK) {
		log_err("store: %s", why.text);
		return -1;
	}
	/* An unprovisioned desk still runs (a technician may be about to import), but it
	 * can only say red: say so once, loudly, rather than let every card look forged. */
	size_t n_roots = 0;
	struct trust_key root;
	if (store_roots_load(d->store, &root, 1, &n_roots) == QD_OK && n_roots == 0)
		log_warn("store %s has no root key: every card will be refused until it is "
		         "provisioned (qrdeskctl provision, then import)",
		         d->cfg.store);
	return 0;
}

static void reload_desk(struct desk *d)
{
	log_init("qrdeskd", LOG_STYLE_JOURNAL, d->cfg.log_level);
}

static void close_desk(struct desk *d)
{
	store_close(d->store); /* after every part that writes to it */
	d->store = NULL;
}

static void status_desk(struct desk *d, json_t *obj, int64_t now)
{
	(void)now;
	json_object_set_new(obj, "desk", json_string(d->cfg.desk_id));
	json_object_set_new(obj, "version", json_string(DESK_VERSION));
	json_object_set_new(obj, "demo", json_boolean(d->demo));
	json_object_set_new(obj, "uptime_seconds",
	                    json_integer((json_int_t)((loop_now_us() - d->started_us) / 1000000)));
}

const struct desk_part desk_part_desk = {
        .name = "desk",
        .keys = keys,
        .open = open_desk,
        .reload = reload_desk,
        .close = close_desk,
        .status = status_desk,
};

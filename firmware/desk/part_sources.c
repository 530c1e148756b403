/* SPDX-License-Identifier: Apache-2.0 */
/*
 * part_sources.c - the code sources: one per configured row of the scanner
 * registry (scanner.h), each delivering into the pipeline.  Opened last, so
 * a scanner is read from the moment everything it feeds is there; a source
 * that cannot start stops the daemon (exit 1), an absent device does not
 * (its source waits for it).
 */
#include "desk.h"

#include <stdbool.h>
#include <string.h>

#include "qrdesk/binding.h"
#include "qrdesk/log.h"
#include "qrdesk/pipeline.h"
#include "qrdesk/scanner.h"
#include "qrdesk/source.h"
#include "qrdesk/source_camera.h" /* the symbologies: CAMERA_FORMAT_* */

static bool owns(const char *section, const char *name, enum desk_key_when *when)
{
	if (!scanner_owns_key(section, name))
		return false;
	*when = DESK_KEY_RESTART; /* a source is opened once, with its device */
	return true;
}

/* The symbologies the camera and the image folder read: QR always; with binding on, the
 * boarding pass's PDF417 and Aztec too (zxing-cpp reads them; a desk without binding
 * spares the camera their search on every frame). */
static unsigned formats_for(enum binding_require require)
{
	return require == BINDING_REQUIRE_CARD
	               ? CAMERA_FORMAT_QR
	               : CAMERA_FORMAT_QR | CAMERA_FORMAT_PDF417 | CAMERA_FORMAT_AZTEC;
}

static int open_sources(struct desk *d)
{
	d->source_formats = formats_for(d->cfg.binding_require);
	for (size_t i = 0; i < scanner_kinds_count; i++) {
		const char *what = scanner_wanted(&d->cfg.scanners, i);
		if (what == NULL)
			continue;
		if (d->n_sources == DESK_SOURCES_MAX) {
			log_err("source %s: more than %d sources", what, DESK_SOURCES_MAX);
			return -1;
		}
		struct source *src = NULL;
		enum qd_err rc = scanner_create(i, &d->cfg.scanners, d->source_formats,
		                                pipeline_on_code, d->pipeline, &src);
		if (rc != QD_OK) {
			log_err("source %s: cannot create it (%s)", what, qd_err_name(rc));
			return -1;
		}
		d->sources[d->n_sources++] = src;
		if (src->ops->start(src, d->loop) != QD_OK) {
			log_err("source %s: cannot start: %s", what, src->status.detail);
			return -1;
		}
		log_info("source %s (%s) started", src->name, src->ops->kind);
	}
	if (d->n_sources == 0)
		log_warn("no code source configured: only `qrdeskctl scan` will produce verdicts");
	return 0;
}

/* [binding] require is live, but a source's decoder is set up once, when it opens. */
static void reload_sources(struct desk *d)
{
	if (formats_for(d->cfg.binding_require) == d->source_formats)
		return;
	bool reads_pictures = false; /* a desk without either has nothing to warn of */
	for (size_t i = 0; i < d->n_sources; i++)
		reads_pictures |= strcmp(d->sources[i]->ops->kind, "camera") == 0 ||
		                  strcmp(d->sources[i]->ops->kind, "replay-images") == 0;
	if (!reads_pictures)
		return;
	if (d->source_formats == CAMERA_FORMAT_QR)
		log_warn("reload: [binding] require = %s: the camera and the image folder read "
		         "PDF417 and Aztec (boarding passes) from the next restart",
		         binding_require_name(d->cfg.binding_require));
	else
		log_warn("reload: [binding] require = card: the camera and the image folder read "
		         "PDF417 and Aztec until the next restart");
}

static void close_sources(struct desk *d)
{
	for (size_t i = d->n_sources; i-- > 0;) {
		d->sources[i]->ops->stop(d->sources[i]);
		d->sources[i]->ops->destroy(d->sources[i]);
	}
	d->n_sources = 0;
}

static void status_sources(struct desk *d, json_t *obj, int64_t now)
{
	(void)now;
	json_t *sources = json_array();
	for (size_t i = 0; i < d->n_sources; i++) {
		const struct source *s = d->sources[i];
		json_array_append_new(sources, json_pack("{s:s, s:s, s:s, s:I, s:I, s:s}", "name",
		                                         s->name, "kind", s->ops->kind, "state",
		                                         source_state_name(s->status.state),
		                                         "codes", (json_int_t)s->status.codes,
		                                         "dropped", (json_int_t)s->status.dropped,
		                                         "detail", s->status.detail));
	}
	json_object_set_new(obj, "sources", sources);
}

static void devices_sources(const struct config *cfg, FILE *out)
{
	for (size_t i = 0; i < scanner_kinds_count; i++)
		if (scanner_kinds[i].devices != NULL && scanner_wanted(&cfg->scanners, i) != NULL)
			scanner_kinds[i].devices(cfg->scanners.kind[i].bytes, out);
}

const struct desk_part desk_part_sources = {
        .name = "sources",
        .owns = owns,
        .open = open_sources,
        .reload = reload_sources,
        .close = close_sources,
        .status = status_sources,
        .devices = devices_sources,
};

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * auditexport.c - a USB export's batches (see auditexport.h).
 */
#include "qrdesk/auditexport.h"

#include <string.h>

enum { E_FORMAT = 1, E_DESK = 2, E_REQUEST = 3, E_CREATED = 4, E_BATCHES = 5 };

static bool request_ok(const char *t, size_t n)
{
	if (n == 0 || n > AUDITEXPORT_REQUEST_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (t[i] < 0x20 || t[i] > 0x7e)
			return false;
	return true;
}

/* The batches array: each one a batch of desk, sequences ascending. */
static enum qd_err read_batches(struct cbor_reader *r, const char *desk, struct auditexport *out,
                                struct qd_errmsg *why)
{
	size_t n = 0;
	enum cbor_status st = cbor_read_array(r, &n);
	if (st != CBOR_OK)
		return cbor_field_error(why, "export batches", st);
	if (n == 0 || n > AUDITEXPORT_BATCHES_MAX) {
		qd_errmsg_set(why, "export: %zu batches, want 1..%d", n, AUDITEXPORT_BATCHES_MAX);
		return QD_ERR_FORMAT;
	}
	uint64_t last = 0;
	for (size_t i = 0; i < n; i++) {
		struct auditexport_batch *e = &out->batches[i];
		if ((st = cbor_read_bstr(r, &e->bytes, &e->len)) != CBOR_OK) {
			qd_errmsg_set(why, "export: batch %zu: %s", i + 1, cbor_status_name(st));
			return QD_ERR_FORMAT;
		}
		struct auditbatch b;
		struct qd_errmsg inner = {{0}};
		enum qd_err rc = auditbatch_parse(e->bytes, e->len, &b, &inner);
		if (rc != QD_OK) {
			qd_errmsg_set(why, "export: batch %zu: %s", i + 1, inner.text);
			return rc;
		}
		if (desk[0] != '\0' && strcmp(b.desk, desk) != 0) {
			qd_errmsg_set(why, "export: batch %zu is desk %s's, the export desk %s's",
			              i + 1, b.desk, desk);
			return QD_ERR_FORMAT;
		}
		if (b.sequence <= last) {
			qd_errmsg_set(why, "export: batch %zu: sequence %llu not above %llu", i + 1,
			              (unsigned long long)b.sequence, (unsigned long long)last);
			return QD_ERR_FORMAT;
		}
		last = b.sequence;
		e->sequence = b.sequence;
		e->rows = b.n_rows;
		/* The export's desk may come after its batches: check them against the first. */
		if (i == 0 && desk[0] == '\0')
			memcpy(out->desk, b.desk, sizeof(out->desk));
		if (desk[0] == '\0')
			desk = out->desk;
	}
	out->n_batches = n;
	return QD_OK;
}

static enum qd_err parse(const uint8_t *buf, size_t len, struct auditexport *out,
                         struct qd_errmsg *why)
{
	if (len > AUDITEXPORT_MAX) {
		qd_errmsg_set(why, "export: %zu bytes, more than %d", len, AUDITEXPORT_MAX);
		return QD_ERR_TOO_LARGE;
	}
	struct cbor_reader r;
	cbor_reader_init(&r, buf, len);
	size_t count = 0;
	enum cbor_status st = cbor_read_map(&r, &count);
	if (st != CBOR_OK)
		return cbor_field_error(why, "export", st);
	if (count != 5) {
		qd_errmsg_set(why, "export: %zu fields, want 5", count);
		return QD_ERR_FORMAT;
	}
	struct cbor_int_keys seen;
	cbor_int_keys_init(&seen);
	char desk[DESK_ID_MAX + 1] = "";
	for (size_t i = 0; i < count; i++) {
		int64_t key = 0;
		if ((st = cbor_read_int_key(&r, &seen, &key)) != CBOR_OK)
			return cbor_field_error(why, "export key", st);
		const char *text = NULL;
		size_t n = 0;
		enum qd_err rc = QD_OK;
		switch (key) {
		case E_FORMAT:
			st = cbor_read_tstr(&r, &text, &n);
			if (st == CBOR_OK && (n != strlen(AUDITEXPORT_FORMAT) ||
			                      memcmp(text, AUDITEXPORT_FORMAT, n) != 0)) {
				qd_errmsg_set(why, "export: not a %s file", AUDITEXPORT_FORMAT);
				return QD_ERR_FORMAT;
			}
			break;
		case E_DESK:
			st = cbor_read_tstr(&r, &text, &n);
			if (st == CBOR_OK && !desk_id_valid(text, n)) {
				qd_errmsg_set(why, "export: desk id not 1..%d of A-Z a-z 0-9 . _ -",
				              DESK_ID_MAX);
				return QD_ERR_FORMAT;
			}
			if (st != CBOR_OK)
				break;
			memcpy(desk, text, n);
			desk[n] = '\0';
			if (out->n_batches > 0 && strcmp(desk, out->desk) != 0) {
				qd_errmsg_set(why, "export: desk %s, its batches desk %s's", desk,
				              out->desk);
				return QD_ERR_FORMAT;
			}
			memcpy(out->desk, desk, n + 1);
			break;
		case E_REQUEST:
			st = cbor_read_tstr(&r, &text, &n);
			if (st == CBOR_OK && !request_ok(text, n)) {
				qd_errmsg_set(why, "export: request id not 1..%d printable ASCII",
				              AUDITEXPORT_REQUEST_MAX);
				return QD_ERR_FORMAT;
			}
			if (st == CBOR_OK)
				memcpy(out->request, text, n);
			break;
		case E_CREATED:
			st = cbor_read_time(&r, &out->created_at);
			break;
		case E_BATCHES:
			rc = read_batches(&r, desk, out, why);
			if (rc != QD_OK)
				return rc;
			break;
		default:
			qd_errmsg_set(why, "export: unknown key %lld", (long long)key);
			return QD_ERR_FORMAT;
		}
		if (st != CBOR_OK)
			return cbor_field_error(why, "export field", st);
	}
	if ((st = cbor_expect_end(&r)) != CBOR_OK)
		return cbor_field_error(why, "export", st);
	return QD_OK;
}

enum qd_err auditexport_parse(const uint8_t *buf, size_t len, struct auditexport *out,
                              struct qd_errmsg *why)
{
	memset(out, 0, sizeof(*out));
	enum qd_err rc = parse(buf, len, out, why);
	if (rc != QD_OK)
		memset(out, 0, sizeof(*out));
	return rc;
}

void auditexport_put(struct cbor_writer *w, const char *desk, const char *request,
                     int64_t created_at, const uint8_t *const *batches, const size_t *lens,
                     size_t n)
{
	cbor_put_map(w, 5);
	cbor_put_uint(w, E_FORMAT);
	cbor_put_cstr(w, AUDITEXPORT_FORMAT);
	cbor_put_uint(w, E_DESK);
	cbor_put_cstr(w, desk);
	cbor_put_uint(w, E_REQUEST);
	cbor_put_cstr(w, request);
	cbor_put_uint(w, E_CREATED);
	cbor_put_uint(w, (uint64_t)(created_at > 0 ? created_at : 0));
	cbor_put_uint(w, E_BATCHES);
	cbor_put_array(w, n);
	for (size_t i = 0; i < n; i++)
		cbor_put_bstr(w, batches[i], lens[i]);
}

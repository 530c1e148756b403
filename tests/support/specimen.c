/* SPDX-License-Identifier: Apache-2.0 */
/*
 * specimen.c - qrdesk-specimen: test documents that match a card, for
 * qrdesk-issuer sign --png users and the tests (docs/binding.md).
 *
 *   qrdesk-specimen CLAIMS.json [--expiry YYYY-MM-DD] [--day N]
 *                   [--png FILE [--aztec | --qr]]
 *
 * Reads the same claims file as `qrdesk-issuer sign` and prints a specimen
 * passport MRZ (two lines) and a boarding pass (one line) for that traveller
 * (travel_specimen.h): the passport expiring on --expiry (default
 * 2034-12-31), the flight on Julian day --day (default 1).  --png writes the
 * boarding pass as a PDF417 symbol (--aztec: Aztec, --qr: QR), as airlines
 * print it, through libzint.  Exit 0, or 2 with a message.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qrdesk/travel_specimen.h"

#ifdef QRDESK_HAVE_ZINT
#include <zint.h>
#endif

static int usage(void)
{
	fprintf(stderr, "usage: qrdesk-specimen CLAIMS.json [--expiry YYYY-MM-DD] [--day N] "
	                "[--png FILE [--aztec | --qr]]\n");
	return 2;
}

static int die(const char *what)
{
	fprintf(stderr, "qrdesk-specimen: %s\n", what);
	return 2;
}

static const char *field(json_t *claims, const char *name)
{
	const char *v = json_string_value(json_object_get(claims, name));
	return v != NULL ? v : "";
}

static int write_png(const char *path, const char *text, int symbology)
{
#ifdef QRDESK_HAVE_ZINT
	struct zint_symbol *sym = ZBarcode_Create();
	if (sym == NULL)
		return die("libzint: no memory");
	sym->symbology = symbology;
	sym->scale = 2;
	snprintf(sym->outfile, sizeof(sym->outfile), "%s", path);
	int rc = ZBarcode_Encode_and_Print(sym, (const unsigned char *)text, (int)strlen(text), 0);
	if (rc >= ZINT_ERROR) {
		fprintf(stderr, "qrdesk-specimen: libzint: %s\n", sym->errtxt);
		ZBarcode_Delete(sym);
		return 2;
	}
	ZBarcode_Delete(sym);
	return 0;
#else
	(void)path;
	(void)text;
	(void)symbology;
	return die("--png: built without libzint (install libzint-dev)");
#endif
}

int main(int argc, char **argv)
{
	const char *claims_path = NULL, *png = NULL, *expiry = "2034-12-31";
	unsigned day = 1;
	bool aztec = false, qr = false;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--expiry") == 0 && i + 1 < argc)
			expiry = argv[++i];
		else if (strcmp(argv[i], "--day") == 0 && i + 1 < argc)
			day = (unsigned)strtoul(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--png") == 0 && i + 1 < argc)
			png = argv[++i];
		else if (strcmp(argv[i], "--aztec") == 0 && !qr)
			aztec = true;
		else if (strcmp(argv[i], "--qr") == 0 && !aztec)
			qr = true;
		else if (argv[i][0] != '-' && claims_path == NULL)
			claims_path = argv[i];
		else
			return usage();
	}
	if (claims_path == NULL)
		return usage();
	json_error_t jerr;
	json_t *claims = json_load_file(claims_path, JSON_REJECT_DUPLICATES, &jerr);
	if (claims == NULL) {
		fprintf(stderr, "qrdesk-specimen: %s:%d: %s\n", claims_path, jerr.line, jerr.text);
		return 2;
	}
	struct clearance_claims c;
	memset(&c, 0, sizeof(c));
	snprintf(c.passport_no, sizeof(c.passport_no), "%s", field(claims, "passport_no"));
	snprintf(c.name, sizeof(c.name), "%s", field(claims, "name"));
	snprintf(c.destination, sizeof(c.destination), "%s", field(claims, "destination"));
	c.sex = field(claims, "sex")[0];
	int32_t expiry_days = 0;
	bool dates = credential_date_parse(field(claims, "birth_date"), &c.birth_days) == QD_OK &&
	             credential_date_parse(expiry, &expiry_days) == QD_OK;
	json_decref(claims);
	if (!dates)
		return die("birth_date or --expiry is not YYYY-MM-DD");

	size_t len = 0;
	const char *text = airport_builtin_text(&len);
	static struct airport_table airports;
	struct qd_errmsg why = {{0}};
	if (airport_table_parse(text, len, &airports, &why) != QD_OK)
		return die(why.text);
	char mrz[MRZ_TEXT_MAX + 1], pass[BCBP_TEXT_MAX + 1];
	if (travel_specimen_mrz(&c, expiry_days, mrz) != QD_OK)
		return die("cannot write an MRZ for these claims (name, passport number, sex, "
		           "expiry)");
	enum qd_err rc = travel_specimen_bcbp(&c, &airports, day, pass, sizeof(pass));
	if (rc == QD_ERR_NOT_FOUND)
		return die("no airport of the destination in firmware/core/airports.txt");
	if (rc != QD_OK)
		return die("cannot write a boarding pass for these claims");
	printf("%s\n%s\n", mrz, pass);
	if (png == NULL)
		return 0;
#ifdef QRDESK_HAVE_ZINT
	int symbology = BARCODE_PDF417;
	if (aztec)
		symbology = BARCODE_AZTEC;
	else if (qr)
		symbology = BARCODE_QRCODE;
#else
	int symbology = 0;
#endif
	return write_png(png, pass, symbology);
}

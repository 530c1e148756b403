/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_kiosk - the two request values the kiosk server reads itself (HTTP
 * itself is libmicrohttpd's): the Host header (DNS-rebinding guard) and the
 * SSE Last-Event-ID.  The input is split at its first NUL: Host, then the id.
 *
 * Properties: an allowed Host is an IP literal or "localhost" with at most a
 * five-digit port; an id that parses carries this run's boot prefix, and the
 * seq printed back in the server's own format parses to the same value.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "fuzz.h"
#include "qrdesk/kiosk.h"

#define BOOT "1795400000"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 512)
		return 0; /* libmicrohttpd bounds header sizes long before this */
	char buf[513];
	memcpy(buf, data, size);
	buf[size] = '\0';
	const char *host = buf;
	size_t hlen = strlen(host);
	const char *id = hlen < size ? buf + hlen + 1 : "";

	if (kiosk_host_allowed(host)) {
		FUZZ_CHECK(hlen < 64 + 8); /* a name of at most 63 bytes, ":" and a port */
		FUZZ_CHECK(strchr(host, ' ') == NULL && strchr(host, '/') == NULL);
		const char *colon = strrchr(host, ':');
		bool bracketed = host[0] == '[';
		if (!bracketed && colon != NULL)
			FUZZ_CHECK(strlen(colon + 1) >= 1 && strlen(colon + 1) <= 5);
	}

	uint64_t seq = 0;
	if (kiosk_parse_event_id(id, BOOT, &seq)) {
		FUZZ_CHECK(strncmp(id, BOOT ".", sizeof(BOOT)) == 0);
		char again[64];
		snprintf(again, sizeof(again), BOOT ".%" PRIu64, seq);
		uint64_t seq2 = 0;
		FUZZ_CHECK(kiosk_parse_event_id(again, BOOT, &seq2) && seq2 == seq);
	}
	/* Another run's ids never parse. */
	FUZZ_CHECK(!kiosk_parse_event_id(id, BOOT "9", &seq) || strncmp(id, BOOT "9.", 11) == 0);
	return 0;
}

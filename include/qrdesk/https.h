/* SPDX-License-Identifier: Apache-2.0 */
/*
 * https.h - the one HTTPS client set-up of the desk: every transfer to the
 * back office (the trust sync's fetches, the audit upload, and what comes
 * later) is set up here, so each honours the same CA file, key pin, proxy,
 * timeouts, byte cap and abort flag (docs/configuration.md).
 */
#ifndef QRDESK_HTTPS_H
#define QRDESK_HTTPS_H

#include <curl/curl.h>
#include <stdatomic.h>
#include <stdbool.h>

struct https_options {
	const char *ca_file; /* PEM bundle to trust instead of the system's; NULL or "": system */
	/* "sha256//BASE64[;sha256//...]" or a PEM/DER file: the server's key must be one of these,
	 * whatever CA signed it; NULL or "": no pin. */
	const char *pinned_public_key;
	const char *proxy;      /* "http://host:port"; NULL: libcurl's environment; "": none */
	bool allow_http;        /* plain http:// too (tests of the checks only; never on a desk) */
	bool follow_redirects;  /* at most 3, never to another scheme (CDNs redirect) */
	long connect_timeout_s; /* 0: 15 */
	long timeout_s;        /* the whole transfer; 0: none (a full list on a bad line is slow) */
	long low_speed_bytes;  /* drop a transfer below this many bytes/s ... (0: 64) */
	long low_speed_time_s; /* ... for this long (0: 30) */
	/* Set (by another thread) to cut a transfer short, e.g. at shutdown; NULL: never. */
	const atomic_bool *abort;
};

/*
 * Reset c and set it up for one transfer to url with o: protocols, peer and host
 * verification, CA, pin, proxy, timeouts, no signals, abort, errbuf (CURL_ERROR_SIZE bytes;
 * the caller clears CURLOPT_ERRORBUFFER before errbuf goes) and max_download, a cap on the
 * response body that libcurl enforces from the Content-Length (0: none; a chunked body is
 * the caller's write callback to cap).  The caller adds its method, headers and callbacks.
 */
CURLcode https_setup(CURL *c, const struct https_options *o, const char *url,
                     curl_off_t max_download, char *errbuf);

/*
 * Make libcurl end the transfers of c (CURLE_ABORTED_BY_CALLBACK) as soon as *abort is set;
 * abort NULL leaves c as it is.  https_setup calls it.
 */
CURLcode https_abort_on(CURL *c, const atomic_bool *abort);

#endif

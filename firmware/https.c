/* SPDX-License-Identifier: Apache-2.0 */
/* https.c - the desk's one HTTPS client set-up; see https.h. */
#include "qrdesk/https.h"

static long or_default(long v, long d)
{
	return v > 0 ? v : d;
}

static bool set(const char *s)
{
	return s != NULL && s[0] != '\0';
}

/* libcurl's progress callback: non-zero ends the transfer (CURLE_ABORTED_BY_CALLBACK). */
static int on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	const atomic_bool *abort = arg;
	return atomic_load(abort) ? 1 : 0;
}

CURLcode https_abort_on(CURL *c, const atomic_bool *abort)
{
	if (abort == NULL)
		return CURLE_OK;
	CURLcode rc = curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(c, CURLOPT_XFERINFODATA, (void *)abort);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	return rc;
}

CURLcode https_setup(CURL *c, const struct https_options *o, const char *url,
                     curl_off_t max_download, char *errbuf)
{
	const char *protocols = o->allow_http ? "http,https" : "https";
	curl_easy_reset(c);
	CURLcode rc = curl_easy_setopt(c, CURLOPT_URL, url);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, protocols);
	/* Redirects are followed only when asked, and never to another scheme. */
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, protocols);
	if (rc == CURLE_OK && o->follow_redirects)
		rc = curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
	if (rc == CURLE_OK && o->follow_redirects)
		rc = curl_easy_setopt(c, CURLOPT_MAXREDIRS, 3L);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	if (rc == CURLE_OK && set(o->ca_file))
		rc = curl_easy_setopt(c, CURLOPT_CAINFO, o->ca_file);
	/* The server's public key must be one of these, whatever CA signed it. */
	if (rc == CURLE_OK && set(o->pinned_public_key))
		rc = curl_easy_setopt(c, CURLOPT_PINNEDPUBLICKEY, o->pinned_public_key);
	/* Unset: libcurl reads https_proxy, all_proxy and no_proxy itself. */
	if (rc == CURLE_OK && o->proxy != NULL)
		rc = curl_easy_setopt(c, CURLOPT_PROXY, o->proxy);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT,
		                      or_default(o->connect_timeout_s, 15));
	if (rc == CURLE_OK && o->timeout_s > 0)
		rc = curl_easy_setopt(c, CURLOPT_TIMEOUT, o->timeout_s);
	/* A transfer that stalls is dropped, even without an overall timeout. */
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT,
		                      or_default(o->low_speed_bytes, 64));
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME,
		                      or_default(o->low_speed_time_s, 30));
	/* A Content-Length over the cap is refused before the body comes. */
	if (rc == CURLE_OK && max_download > 0)
		rc = curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, max_download);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	if (rc == CURLE_OK && errbuf != NULL)
		rc = curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	if (rc == CURLE_OK)
		rc = https_abort_on(c, o->abort);
	return rc;
}

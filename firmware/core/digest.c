/* SPDX-License-Identifier: Apache-2.0 */
/*
 * digest.c - SHA-256 through mbedTLS 2.28 (the *_ret functions; the names
 * without _ret are deprecated there).
 *
 * The software SHA-256 of mbedTLS cannot fail once its context is
 * initialised; the _ret functions only report errors from hardware (_ALT)
 * back ends.  The API here returns void, so such an error - which would
 * leave the output undefined - stops the process rather than hand back a
 * wrong digest.
 */
#include "qrdesk/digest.h"

#include <stdlib.h>

#include <mbedtls/md.h>
#include <mbedtls/sha256.h>

_Static_assert(sizeof(mbedtls_sha256_context) <= sizeof(((struct digest_sha256_ctx *)0)->opaque),
               "digest_sha256_ctx too small for mbedtls_sha256_context");
_Static_assert(_Alignof(mbedtls_sha256_context) <= _Alignof(struct digest_sha256_ctx),
               "digest_sha256_ctx under-aligned for mbedtls_sha256_context");

static mbedtls_sha256_context *sha_ctx(struct digest_sha256_ctx *ctx)
{
	return (mbedtls_sha256_context *)(void *)ctx->opaque;
}

static void must(int ret)
{
	if (ret != 0)
		abort();
}

void digest_sha256(const void *data, size_t len, uint8_t out[DIGEST_SHA256_LEN])
{
	struct digest_sha256_ctx ctx;

	digest_sha256_begin(&ctx);
	digest_sha256_update(&ctx, data, len);
	digest_sha256_end(&ctx, out);
}

void digest_sha256_begin(struct digest_sha256_ctx *ctx)
{
	mbedtls_sha256_init(sha_ctx(ctx));
	must(mbedtls_sha256_starts_ret(sha_ctx(ctx), 0));
}

void digest_sha256_update(struct digest_sha256_ctx *ctx, const void *data, size_t len)
{
	if (len == 0)
		return;
	must(mbedtls_sha256_update_ret(sha_ctx(ctx), data, len));
}

void digest_sha256_end(struct digest_sha256_ctx *ctx, uint8_t out[DIGEST_SHA256_LEN])
{
	must(mbedtls_sha256_finish_ret(sha_ctx(ctx), out));
	mbedtls_sha256_free(sha_ctx(ctx)); /* zeroises the state */
}

void digest_hmac_sha256(const void *key, size_t key_len, const void *data, size_t len,
                        uint8_t out[DIGEST_SHA256_LEN])
{
	const mbedtls_md_info_t *md = mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);
	if (md == NULL)
		abort(); /* SHA-256 is always compiled into Debian's mbedTLS */
	must(mbedtls_md_hmac(md, key, key_len, data, len, out));
}

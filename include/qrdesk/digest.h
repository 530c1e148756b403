/* SPDX-License-Identifier: Apache-2.0 */
/*
 * digest.h - SHA-256 (mbedTLS), one-shot and streaming.
 */
#ifndef QRDESK_DIGEST_H
#define QRDESK_DIGEST_H

#include <stddef.h>
#include <stdint.h>

#define DIGEST_SHA256_LEN 32

void digest_sha256(const void *data, size_t len, uint8_t out[DIGEST_SHA256_LEN]);

/* HMAC-SHA-256 (RFC 2104) of data under key. */
void digest_hmac_sha256(const void *key, size_t key_len, const void *data, size_t len,
                        uint8_t out[DIGEST_SHA256_LEN]);

/* Opaque-sized streaming context (big enough for mbedtls_sha256_context). */
struct digest_sha256_ctx {
	_Alignas(16) unsigned char opaque[256];
};

void digest_sha256_begin(struct digest_sha256_ctx *ctx);
void digest_sha256_update(struct digest_sha256_ctx *ctx, const void *data, size_t len);
void digest_sha256_end(struct digest_sha256_ctx *ctx, uint8_t out[DIGEST_SHA256_LEN]);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_keys.h - the public keys of the fuzzing trust domain, written by
 * make-corpus.sh from the domain it makes (qrdesk-issuer init; the private
 * keys are thrown away with it).  The seed cards in corpus/qrtext and
 * corpus/cose are signed by these keys, so fuzz_qrtext and fuzz_cose get
 * past the signature.  Regenerate the seeds and this file together.
 */
#ifndef QRDESK_FUZZ_KEYS_H
#define QRDESK_FUZZ_KEYS_H

#include "qrdesk/signature.h"
#include "qrdesk/trust.h"

/* The fixtures' clock: cards issued an hour before it, documents ten minutes before. */
#define FUZZ_NOW       1795000000LL
#define FUZZ_KEY_START 1760440000LL /* the domain's created_at (FUZZ_NOW - 400 days) */
#define FUZZ_KEY_END   1918120000LL /* its keys' not_after */
#define FUZZ_KEY_EDDSA 0            /* issuer, EdDSA, kid c78ca818e8105f12 */
#define FUZZ_KEY_ES256 1            /* issuer, ES256, kid 5b963e467cebd7a1 */
#define FUZZ_KEY_REPO  2 /* repository, EdDSA, kid 3416b33dd7a7605f (may not sign cards) */
#define FUZZ_KEY_COUNT 3

static const struct trust_key fuzz_keys[FUZZ_KEY_COUNT] = {
        [FUZZ_KEY_EDDSA] =
                {
                        .kid = {0xc7, 0x8c, 0xa8, 0x18, 0xe8, 0x10, 0x5f, 0x12},
                        .kid_len = 8,
                        .alg = SIGNATURE_ALG_EDDSA,
                        .role = KEY_ROLE_ISSUER,
                        .status = KEY_STATUS_ACTIVE,
                        .public_key = {0x23, 0xf1, 0xc9, 0xf8, 0xa1, 0xde, 0x71, 0x6b,
                                       0xcf, 0x38, 0x2a, 0x79, 0x25, 0xb1, 0xcc, 0xee,
                                       0xce, 0xfd, 0x8f, 0x4a, 0x68, 0xd4, 0x1a, 0x8c,
                                       0xc1, 0xc2, 0x70, 0xf2, 0x15, 0x21, 0x1a, 0x36},
                        .public_len = SIGNATURE_ED25519_PUBLIC_LEN,
                        .not_before = FUZZ_KEY_START,
                        .not_after = FUZZ_KEY_END,
                },
        [FUZZ_KEY_ES256] =
                {
                        .kid = {0x5b, 0x96, 0x3e, 0x46, 0x7c, 0xeb, 0xd7, 0xa1},
                        .kid_len = 8,
                        .alg = SIGNATURE_ALG_ES256,
                        .role = KEY_ROLE_ISSUER,
                        .status = KEY_STATUS_ACTIVE,
                        .public_key = {0x04, 0xb2, 0x6f, 0xae, 0x2c, 0x04, 0x8c, 0xf6, 0x37, 0xe8,
                                       0x98, 0xf5, 0x57, 0x15, 0xe7, 0x80, 0x93, 0x69, 0x9d, 0x73,
                                       0x9a, 0xba, 0x5a, 0xaa, 0x22, 0xe5, 0x3e, 0x43, 0xfc, 0xd8,
                                       0x77, 0xa1, 0xcc, 0x50, 0xf7, 0xdf, 0x85, 0xd0, 0x54, 0x44,
                                       0x4a, 0x3d, 0xe4, 0x91, 0xc9, 0x3b, 0x9d, 0xe2, 0x0d, 0xd2,
                                       0x06, 0xaa, 0x2d, 0x82, 0x01, 0xff, 0x67, 0x3f, 0xfb, 0xd6,
                                       0xe1, 0x2b, 0xb9, 0x24, 0x73},
                        .public_len = SIGNATURE_P256_PUBLIC_LEN,
                        .not_before = FUZZ_KEY_START,
                        .not_after = FUZZ_KEY_END,
                },
        [FUZZ_KEY_REPO] =
                {
                        .kid = {0x34, 0x16, 0xb3, 0x3d, 0xd7, 0xa7, 0x60, 0x5f},
                        .kid_len = 8,
                        .alg = SIGNATURE_ALG_EDDSA,
                        .role = KEY_ROLE_REPOSITORY,
                        .status = KEY_STATUS_ACTIVE,
                        .public_key = {0x3c, 0x7b, 0x3b, 0x2f, 0x35, 0xcc, 0x42, 0x3d,
                                       0x3c, 0x62, 0x34, 0x17, 0xf6, 0x6a, 0x33, 0x2d,
                                       0xb7, 0xc2, 0x53, 0xf2, 0xce, 0x5f, 0xb5, 0xdc,
                                       0xde, 0x75, 0x86, 0xc8, 0x83, 0xf6, 0x73, 0x01},
                        .public_len = SIGNATURE_ED25519_PUBLIC_LEN,
                        .not_before = FUZZ_KEY_START,
                        .not_after = FUZZ_KEY_END,
                },
};

#endif

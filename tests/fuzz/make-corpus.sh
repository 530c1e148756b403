#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Regenerate the seed corpora in tests/fuzz/corpus/<target>/ and fuzz_keys.h,
# with the project's own tools: a fresh trust domain (qrdesk-issuer init, in a
# temporary directory that is deleted afterwards: no private key is kept),
# cards signed by it, trust documents published by it, and images of a card.
# Edge cases of each parser are written here by hand.
#
#   tests/fuzz/make-corpus.sh [BUILD_DIR]     (default: build; needs tools/qrdesk-issuer)
#
# Only the seed files named here are replaced; crash-* and other regression
# inputs stay.  The domain's keys are new on every run, so fuzz_keys.h is
# rewritten with them: commit it together with the seeds.  Everything is
# signed on the fixed clock of fuzz_keys.h (FUZZ_NOW), so seeds stay valid
# for fuzz_qrtext whatever the date.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
issuer=$build/tools/qrdesk-issuer
[[ -x $issuer ]] || { echo "make-corpus: $issuer not built" >&2; exit 2; }
command -v python3 >/dev/null || { echo "make-corpus: needs python3" >&2; exit 2; }
command -v jq >/dev/null || { echo "make-corpus: needs jq" >&2; exit 2; }

# The fixture clock (fuzz_keys.h, fuzz_qrtext.c).
NOW=1795000000              # FUZZ_NOW
CREATED=$((NOW - 400 * 86400)) # FUZZ_KEY_START: the domain's created_at
ISSUED=$((NOW - 3600))      # cards: an hour before
PUBLISHED=$((NOW - 600))    # trust documents: ten minutes before
DAY=86400

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
corpus=$here/corpus
mkdir -p "$corpus"/{base45,cbor,cose,claims,trustdoc,qrtext,keyfile,config,image,control,lines,policy}

iss() { "$issuer" "$@" 2>/dev/null; }

# --- the domain --------------------------------------------------------------------------
iss --now "$CREATED" init "$tmp/dom" >/dev/null
kid_of() { jq -r --arg r "$1" --arg a "$2" '.keys[] | select(.role == $r and .alg == $a) | .kid' "$tmp/dom/domain.json"; }
repo_kid=$(kid_of repository EdDSA)

claims() { # claims FILE CLEARANCE_NO [jq filter]
	jq -n --arg no "$2" --argjson iat "$ISSUED" --argjson exp "$((ISSUED + 180 * DAY))" \
		'{clearance_no: $no, passport_no: "A12345678", name: "RAHIMA KHATUN",
		  birth_date: "1994-03-12", sex: "F", destination: "KW", category: "DW",
		  employer: "AL FAHAD TRADING CO", agency_licence: "RL-1234",
		  bmet_reg_no: "BMET11223344", pdo_completed: true,
		  issued_at: $iat, expires_at: $exp}' | jq "${3:-.}" >"$1"
}
card() { # card NAME CLEARANCE_NO [jq filter] [sign options...]
	local name=$1 no=$2 filter=${3:-.}
	shift 3 || shift $#
	claims "$tmp/$name.json" "$no" "$filter"
	iss --now "$ISSUED" sign "$tmp/dom" "$tmp/$name.json" "$@" >"$tmp/$name.txt"
	tr -d '\n' <"$tmp/$name.txt" >"$corpus/qrtext/$name"
}
card valid-eddsa 2611000001 .
card valid-es256 2611000003 . --alg es256
card revoked 2611000002 .         # on the revocation list of fuzz_qrtext's stub
card lookup-fails 2611000009 .    # the stub's lookup fails for this one
card wrong-role 2611000004 . --key "$repo_kid"
card expired 2611000005 ".issued_at = $((NOW - 200 * DAY)) | .expires_at = $((NOW - 10 * DAY))"
card not-yet-valid 2611000006 ".not_before = $((NOW + 10 * DAY))"
card with-iss 2611000007 '.iss = "BMET" | .name = "MD ABDUR RAHIM" | .sex = "M" | .pdo_completed = false'
iss --now "$ISSUED" sign "$tmp/dom" "$tmp/valid-eddsa.json" --png "$tmp/card.png" >/dev/null

iss --now "$PUBLISHED" revoke "$tmp/dom" 2611000002 2611000008 >/dev/null
iss policy "$tmp/dom" "$root/tools/issuer/example-policy.json" >/dev/null
iss --now "$PUBLISHED" publish "$tmp/dom" "$tmp/repo" >/dev/null
# Deltas and roots, from a second domain so fuzz_keys.h keeps one root:
# publish, rotate the root, revoke two, publish (a delta of two, root-2 named).
iss --now "$CREATED" init "$tmp/dom2" >/dev/null
iss --now "$PUBLISHED" publish "$tmp/dom2" "$tmp/repo2" >/dev/null
iss --now "$PUBLISHED" rotate-root "$tmp/dom2" >/dev/null
iss --now "$PUBLISHED" revoke "$tmp/dom2" 2611012345 2611012346 >/dev/null
iss --now "$PUBLISHED" publish "$tmp/dom2" "$tmp/repo2" >/dev/null
# Revoked issuance windows: a full list and a delta (two added, one removed by a merge).
iss --now "$CREATED" init "$tmp/dom3" >/dev/null
kid3=$(jq -r '.keys[] | select(.role == "issuer" and .alg == "EdDSA") | .kid' "$tmp/dom3/domain.json")
iss revoke-range "$tmp/dom3" "$kid3" $((NOW - 9 * DAY)) $((NOW - 8 * DAY)) --reason a >/dev/null
iss --now "$PUBLISHED" publish "$tmp/dom3" "$tmp/repo3" >/dev/null
iss revoke-range "$tmp/dom3" "$kid3" $((NOW - 8 * DAY)) $((NOW - 7 * DAY)) --reason b >/dev/null
iss revoke-range "$tmp/dom3" "$kid3" $((NOW - 3 * DAY)) $((NOW - 2 * DAY)) --reason c >/dev/null
iss --now "$PUBLISHED" publish "$tmp/dom3" "$tmp/repo3" >/dev/null
cp "$tmp/dom/root.pub" "$corpus/keyfile/root.pub"

# --- destination policy bodies, as qrdesk-issuer policy writes (and publish signs) them ---
cp "$tmp/dom/policy.cbor" "$corpus/policy/example"
policy_seed() { # policy_seed NAME SOURCE-JSON
	printf '%s' "$2" >"$tmp/policy.json"
	iss policy "$tmp/dom" "$tmp/policy.json" >/dev/null
	cp "$tmp/dom/policy.cbor" "$corpus/policy/$1"
}
policy_seed no-rules '{"format": "qrdesk-policy-1", "rules": []}'
policy_seed every-field '{"format": "qrdesk-policy-1", "note": "every field", "utc_offset_minutes": -90,
 "rules": [{"id": "all.of_it-1", "when": {"destinations": ["SA", "AE"], "categories": ["DW", "NU"],
  "sexes": ["F", "X"]}, "effective_from": "1999-02-28", "require": {"age_min": 0, "age_max": 150,
  "claims_true": ["pdo_completed"], "categories": ["NU"], "sexes": ["M", "F"]},
  "message_en": "e", "message_bn": "বাংলা"}, {"id": "r2", "require": {"age_max": 44},
  "message_en": "only this", "message_bn": "শুধু"}]}'
printf '\xa1\x01\x80' >"$corpus/policy/no-offset"                      # the issuer always writes it
printf '\xa1\x01\x81\xa1\x01\x61x' >"$corpus/policy/rule-missing-fields" # refused

# --- byte-level seeds, cut out of the cards and documents --------------------------------
python3 - "$tmp" "$corpus" "$here/fuzz_keys.h" "$NOW" "$CREATED" <<'PY'
import json, os, sys

tmp, corpus, header, now, created = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"

def b45decode(s):
    out = bytearray()
    for i in range(0, len(s), 3):
        g = [ALPHABET.index(c) for c in s[i:i + 3]]
        v = sum(d * 45 ** k for k, d in enumerate(g))
        out += v.to_bytes(2 if len(g) == 3 else 1, "big")
    return bytes(out)

def head(b, p):
    ib = b[p]; major, ai = ib >> 5, ib & 31
    if ai < 24:
        return major, ai, p + 1
    n = 1 << (ai - 24)
    return major, int.from_bytes(b[p + 1:p + 1 + n], "big"), p + 1 + n

def skip(b, p):
    major, arg, p = head(b, p)
    if major in (2, 3):
        return p + arg
    if major == 4:
        for _ in range(arg): p = skip(b, p)
    elif major == 5:
        for _ in range(2 * arg): p = skip(b, p)
    elif major == 6:
        p = skip(b, p)
    return p

def cose_payload(b):
    p = 0
    major, arg, p = head(b, p)
    if major == 6:
        major, arg, p = head(b, p)
    assert major == 4 and arg == 4
    p = skip(b, p)          # protected
    p = skip(b, p)          # unprotected
    major, arg, q = head(b, p)
    assert major == 2
    return b[q:q + arg]

def write(target, name, data):
    with open(os.path.join(corpus, target, name), "wb") as f:
        f.write(data)

card = {}
for name in ("valid-eddsa", "valid-es256", "not-yet-valid", "with-iss", "wrong-role"):
    text = open(os.path.join(tmp, name + ".txt")).read().strip()
    assert text.startswith("BC1:")
    card[name] = b45decode(text[4:])
write("base45", "card-eddsa", open(os.path.join(tmp, "valid-eddsa.txt")).read().strip()[4:].encode())
write("cose", "card-eddsa", card["valid-eddsa"])
write("cose", "card-es256", card["valid-es256"])
write("cose", "card-wrong-role", card["wrong-role"])
for name in ("valid-eddsa", "not-yet-valid", "with-iss"):
    write("claims", name, cose_payload(card[name]))
write("cbor", "claims", cose_payload(card["with-iss"]))
write("cbor", "cose-sign1", card["valid-es256"])
for doc in ("keyset", "revocations", "policy", "timestamp"):
    raw = open(os.path.join(tmp, "repo", doc + ".cose"), "rb").read()
    write("trustdoc", doc, cose_payload(raw))
    if doc in ("revocations", "timestamp"):
        write("cose", doc, raw)
write("cbor", "keyset", cose_payload(open(os.path.join(tmp, "repo", "keyset.cose"), "rb").read()))
# A delta, a root (the payload of the countersigned payload) and a timestamp naming both.
repo2 = os.path.join(tmp, "repo2")
write("trustdoc", "revocations-delta",
      cose_payload(open(os.path.join(repo2, "revocations-delta.cose"), "rb").read()))
repo3 = os.path.join(tmp, "repo3")
write("trustdoc", "revocations-ranges",
      cose_payload(open(os.path.join(repo3, "revocations.cose"), "rb").read()))
write("trustdoc", "revocations-delta-ranges",
      cose_payload(open(os.path.join(repo3, "revocations-delta.cose"), "rb").read()))
root2 = open(os.path.join(repo2, "root-2.cose"), "rb").read()
write("trustdoc", "root", cose_payload(cose_payload(root2)))
write("cose", "root-countersigned", root2)
write("trustdoc", "timestamp-delta-root",
      cose_payload(open(os.path.join(repo2, "timestamp.cose"), "rb").read()))

# Key files of every role and algorithm, in root.pub's format.
domain = json.load(open(os.path.join(tmp, "dom", "domain.json")))
for k in domain["keys"]:
    if k["role"] in ("issuer", "update"):
        body = {"format": "qrdesk-public-key-1", "role": k["role"], "alg": k["alg"],
                "kid": k["kid"], "public_key": k["public_key"]}
        write("keyfile", "%s-%s.pub" % (k["role"], k["alg"].lower()),
              (json.dumps(body, indent=2) + "\n").encode())

# fuzz_keys.h: the public keys fuzz_cose and fuzz_qrtext trust.
def key_of(role, alg):
    ks = [k for k in domain["keys"] if k["role"] == role and k["alg"] == alg]
    assert len(ks) == 1, (role, alg)
    k = ks[0]
    assert k["not_before"] == created
    return k

def c_bytes(hexstr, indent, per_line):
    b = bytes.fromhex(hexstr)
    rows = [", ".join("0x%02x" % x for x in b[i:i + per_line]) for i in range(0, len(b), per_line)]
    return (",\n" + indent).join(rows)

eddsa, es256, repo = key_of("issuer", "EdDSA"), key_of("issuer", "ES256"), key_of("repository", "EdDSA")
assert eddsa["not_after"] == es256["not_after"] == repo["not_after"]
I = "\t\t\t"
def entry(index, k, alg, role, length):
    return f"""\t[{index}] =
\t\t{{
{I}.kid = {{{c_bytes(k["kid"], I, 8)}}},
{I}.kid_len = 8,
{I}.alg = {alg},
{I}.role = {role},
{I}.status = KEY_STATUS_ACTIVE,
{I}.public_key = {{{c_bytes(k["public_key"], I + "               ", 11 if length == "SIGNATURE_P256_PUBLIC_LEN" else 8)}}},
{I}.public_len = {length},
{I}.not_before = FUZZ_KEY_START,
{I}.not_after = FUZZ_KEY_END,
\t\t}},
"""
with open(header, "w") as f:
    f.write(f"""/*
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
#define FUZZ_NOW       {now}LL
#define FUZZ_KEY_START {created}LL /* the domain's created_at (FUZZ_NOW - 400 days) */
#define FUZZ_KEY_END   {eddsa["not_after"]}LL /* its keys' not_after */
#define FUZZ_KEY_EDDSA 0 /* issuer, EdDSA, kid {eddsa["kid"]} */
#define FUZZ_KEY_ES256 1 /* issuer, ES256, kid {es256["kid"]} */
#define FUZZ_KEY_REPO  2 /* repository, EdDSA, kid {repo["kid"]} (may not sign cards) */
#define FUZZ_KEY_COUNT 3

static const struct trust_key fuzz_keys[FUZZ_KEY_COUNT] = {{
{entry("FUZZ_KEY_EDDSA", eddsa, "SIGNATURE_ALG_EDDSA", "KEY_ROLE_ISSUER", "SIGNATURE_ED25519_PUBLIC_LEN")}{entry("FUZZ_KEY_ES256", es256, "SIGNATURE_ALG_ES256", "KEY_ROLE_ISSUER", "SIGNATURE_P256_PUBLIC_LEN")}{entry("FUZZ_KEY_REPO", repo, "SIGNATURE_ALG_EDDSA", "KEY_ROLE_REPOSITORY", "SIGNATURE_ED25519_PUBLIC_LEN")}}};

#endif
""")
PY
command -v clang-format >/dev/null && clang-format -i "$here/fuzz_keys.h"

# --- images: the card as PNG (qrdesk-issuer --png), PGM and JPEG; PNG colour types ------
cat >"$tmp/mkimages.c" <<'C'
/* mkimages CARD.png OUTDIR: small image seeds (libpng's simplified API, libjpeg). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <png.h>

static unsigned char *gray, *small;
static unsigned w, h, sw, sh;

static void write_png(const char *path, unsigned format, unsigned width, unsigned height,
                      const void *px)
{
	png_image img;
	memset(&img, 0, sizeof(img));
	img.version = PNG_IMAGE_VERSION;
	img.width = width;
	img.height = height;
	img.format = format;
	if (!png_image_write_to_file(&img, path, 0, px, 0, NULL)) {
		fprintf(stderr, "%s: %s\n", path, img.message);
		exit(1);
	}
}

static void write_jpeg(const char *path, int progressive, int quality)
{
	FILE *f = fopen(path, "wb");
	struct jpeg_compress_struct c;
	struct jpeg_error_mgr err;
	c.err = jpeg_std_error(&err);
	jpeg_create_compress(&c);
	jpeg_stdio_dest(&c, f);
	c.image_width = sw;
	c.image_height = sh;
	c.input_components = 1;
	c.in_color_space = JCS_GRAYSCALE;
	jpeg_set_defaults(&c);
	jpeg_set_quality(&c, quality, TRUE);
	if (progressive)
		jpeg_simple_progression(&c);
	jpeg_start_compress(&c, TRUE);
	while (c.next_scanline < sh) {
		JSAMPROW row = small + (size_t)c.next_scanline * sw;
		jpeg_write_scanlines(&c, &row, 1);
	}
	jpeg_finish_compress(&c);
	jpeg_destroy_compress(&c);
	fclose(f);
}

static void shrink(unsigned by)
{
	sw = w / by;
	sh = h / by;
	free(small);
	small = malloc((size_t)sw * sh);
	for (unsigned y = 0; y < sh; y++)
		for (unsigned x = 0; x < sw; x++)
			small[y * sw + x] = gray[(by * y) * w + by * x];
}

int main(int argc, char **argv)
{
	char path[4096];
	png_image img;
	memset(&img, 0, sizeof(img));
	img.version = PNG_IMAGE_VERSION;
	if (argc != 3 || !png_image_begin_read_from_file(&img, argv[1]))
		return 1;
	img.format = PNG_FORMAT_GRAY;
	w = img.width;
	h = img.height;
	gray = malloc(PNG_IMAGE_SIZE(img));
	if (!png_image_finish_read(&img, NULL, gray, 0, NULL))
		return 1;
	/* The card (8 pixels a module) at 4 pixels a module: ZBar reads it. */
	shrink(2);
	snprintf(path, sizeof(path), "%s/card-half.png", argv[2]);
	write_png(path, PNG_FORMAT_GRAY, sw, sh, small);
	/* At 1 pixel a module: small JPEG files. */
	shrink(8);
	snprintf(path, sizeof(path), "%s/card-tiny.jpg", argv[2]);
	write_jpeg(path, 0, 50);
	snprintf(path, sizeof(path), "%s/card-tiny-progressive.jpg", argv[2]);
	write_jpeg(path, 1, 30);

	/* Tiny images in the PNG colour types the decoder converts to grey. */
	unsigned char px[4 * 4 * 8];
	for (unsigned i = 0; i < sizeof(px); i++)
		px[i] = (unsigned char)(i * 37);
	snprintf(path, sizeof(path), "%s/rgba-4x4.png", argv[2]);
	write_png(path, PNG_FORMAT_RGBA, 4, 4, px);
	snprintf(path, sizeof(path), "%s/gray-alpha-3x2.png", argv[2]);
	write_png(path, PNG_FORMAT_GA, 3, 2, px);
	snprintf(path, sizeof(path), "%s/rgb16-2x2.png", argv[2]);
	write_png(path, PNG_FORMAT_LINEAR_RGB, 2, 2, px);
	snprintf(path, sizeof(path), "%s/gray-1x1.png", argv[2]);
	write_png(path, PNG_FORMAT_GRAY, 1, 1, px);
	return 0;
}
C
# shellcheck disable=SC2046 # pkg-config's flags are meant to be split
cc -O1 -o "$tmp/mkimages" "$tmp/mkimages.c" $(pkg-config --cflags --libs libpng libjpeg)
"$tmp/mkimages" "$tmp/card.png" "$corpus/image"
printf 'P5\n# a comment\n3 2\n255\n\x00\x80\xff\x10\x20\x30' >"$corpus/image/p5-3x2.pgm"
printf 'P5 2 2 15\n\x00\x05\x0a\x0f' >"$corpus/image/p5-maxval15.pgm"
printf 'P5\n1 1\n255\n\x00\x00' >"$corpus/image/p5-extra-byte.pgm"

# --- the rest: by hand --------------------------------------------------------------------
b=$corpus/base45
printf '' >"$b/empty"
printf 'BB8' >"$b/ab"                    # RFC 9285: "AB"
printf '%%69 VD92EX0' >"$b/hello"         # "Hello!!"
printf 'FGW' >"$b/max-group"             # 0xffff
printf 'GGW' >"$b/value-too-large"       # 0x10000
printf 'U5' >"$b/max-pair"               # 0xff
printf 'V5' >"$b/pair-too-large"
printf 'A' >"$b/dangling"
printf 'bb8' >"$b/lowercase"

c=$corpus/cbor
printf '\x83\x01\x82\x02\x03\x82\x04\x05' >"$c/nested-arrays"
printf '\xa2\x01\x61\x61\x20\x40' >"$c/map-int-keys"
printf '\xa2\x01\x00\x01\x00' >"$c/duplicate-key"
printf '\xd8\x12\x84\x40\xa0\xf6\x40' >"$c/tagged-null-payload"
printf '\x1b\xff\xff\xff\xff\xff\xff\xff\xff\x3b\x80\x00\x00\x00\x00\x00\x00\x00' >"$c/big-ints"
printf '\x18\x05\xf9\x3c\x00\x9f\xff\x7f\xff\xf7\xf8\x10' >"$c/non-minimal-float-indefinite"
printf '\x62\xc3\xa9\x63\xed\xa0\x80\xf4\xf5\xf6' >"$c/utf8-and-simple"
printf '\x81\x81\x81\x81\x81\x81\x81\x81\x81\x81\x81\x81\x81\x81\x81\x81\x81\x80' >"$c/too-deep"

q=$corpus/qrtext
printf 'BC1:' >"$q/prefix-only"
# shellcheck disable=SC2016 # a literal '$'
printf '%s' 'HC1:6BFOXN*TS0BI$ZD4N9' >"$q/wrong-prefix"
printf 'BC1:A' >"$q/dangling-base45"

k=$corpus/keyfile
printf '{"format": "qrdesk-public-key-1", "role": "root", "alg": "EdDSA", "kid": "00", "public_key": "00"}' >"$k/short-key"
printf '{"format": "qrdesk-public-key-1", "role": "root", "alg": "ES256"}' >"$k/missing-fields"
# The other forms add-key takes (keyfile_parse_any): PEM, hex, raw.
printf -- '-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n-----END PUBLIC KEY-----\n' >"$k/ed25519.pem"
printf -- '-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAER943x6brOriTQ4JBYrisTR+WCe5a\nYm2oGgY/NdigghC1Dgrw9MROa31RrbK2FFI1Lf3kwP8RP+aELh79HTOT8Q==\n-----END PUBLIC KEY-----\n' >"$k/p256.pem"
jq -r .public_key "$k/issuer-es256.pub" >"$k/p256.hex"
jq -r .public_key "$k/root.pub" | xxd -r -p >"$k/ed25519.raw"

g=$corpus/config
cp "$root/firmware/dist/qrdesk.conf" "$g/packaged"
printf '[desk]\ndesk_id = DAC-T1-03\nstore = /var/lib/qrdesk/desk.db\ncontrol_socket = /run/qrdesk/control.sock\ncontrol_group = qrdesk\nlog_level = debug\n[indicators]\nbackend = sim\nsim_record = /tmp/ind.log\n[replay]\nstdin = yes\nfifo = /run/qrdesk/codes\nimages = /var/spool/qrdesk/inbox\n' >"$g/sim-replay"
printf '\xef\xbb\xbf; CRLF, a BOM, inline comments\r\n[ pipeline ]  ; spaced\r\nholdoff_ms = 0 ; none\r\nalready_used_check: off\r\n\r\n# gpio\r\n[indicators]\r\ngreen=1\r\nred=2\r\namber=3\r\nbuzzer=1023\r\nactive_low = 1\r\nvalid_ms = 100\r\nbeep_ms = 10\r\ngap_ms = 5000\r\n' >"$g/crlf-bom-comments"
printf 'key = before any section\n[nowhere]\nx = 1\n[desk]\ndesk_id = "quoted"\ndesk_id = twice\nstore =\nnot a key line\n[desk\nlog_level = loud\ncontrol_socket = /a/very/long/path/that/does/not/fit/in/a/unix/socket/address/because/those/hold/at/most/one/hundred/and/seven/bytes.sock\n[pipeline]\nholdoff_ms = -1\nholdoff_ms = 600001\nbackend = sim\n\x01\n' >"$g/errors"
printf '[indicators]\ngreen = 5\nred = 5\ninvalid_ms = 100\nbeep_ms = 100\n' >"$g/cross-key"

o=$corpus/control
printf '{"cmd": "status"}\n' >"$o/status"
printf '{"cmd": "scan", "code": "%s"}\n' "$(cat "$q/valid-eddsa")" >"$o/scan"
printf '{"cmd": "reload"}\r\n{"cmd": "status"}\n' >"$o/two-lines"
printf '\n' >"$o/empty-line"
printf 'null-reply\n' >"$o/null-reply"
printf '{"cmd": "status"}' >"$o/no-newline"
head -c 16384 /dev/zero | tr '\0' 'A' >"$o/too-large" # CONTROL_REQUEST_MAX bytes, no newline

l=$corpus/lines
{ cat "$q/valid-eddsa"; printf '\n'; cat "$q/valid-es256"; printf '\r\n\n\r\nSTOP\nnot delivered\n'; } >"$l/cards-stop"
printf 'a\r\r\nb\0c\n\n\r\nlast-without-newline\r' >"$l/crlf-nul-eof"
printf '\n' >"$l/empty-line-first" # an empty first line: the harness once did NULL + 0
{ head -c 4297 /dev/zero | tr '\0' 'A'; printf '\r\n'; head -c 4298 /dev/zero | tr '\0' 'B'; printf '\nafter\n'; } >"$l/long-lines" # SOURCE_TEXT_MAX

# serial: byte 0 = max_line - 16, byte 1 = the seed of the piece sizes, then the bytes.
s=$corpus/serial
mkdir -p "$s"
printf '\x10\x07BC1:ONE\r\nBC1:TWO\rBC1:THREE\nBC1:FOUR\r\n' >"$s/terminators"
printf '\x00\x33\r\n\n\r\rABCDEFGHIJKLMNOPQRSTUVWXYZ\r\nok\nHALF' >"$s/overlong-empty-partial"
printf '\xff\x01a\0b\xff\xaa\r\n\r\n\rBC1:\0\0\0\nTAIL-WITHOUT-END' >"$s/binary"
# hid: the seeds in corpus/hid/ are 5-byte key events (see fuzz_hid.c), written by hand
# (python3 struct '<HBH'); they are not regenerated here.

# camera: frames as a camera sends them (fuzz_camera.c's header, then GREY/YUYV/MJPEG bytes of a
# card picture; one MJPEG without its Huffman tables, as webcams send them), by the camera bench.
"$build/bench/qrdesk-bench-camera" --seeds "$corpus/camera" --dir "$tmp"
# grey-qr.bin, grey-pdf417-bcbp.bin and grey-aztec-bcbp.bin (GREY frames of a QR, and of a
# boarding pass's PDF417 and Aztec symbols, for the decoder chain) were drawn once with zxing-cpp's
# MultiFormatWriter; they are not regenerated here.

# mountd: messages to udev mode's mount helper (usb_mountd.h's wire format: u32 magic "qdm1",
# u32 op, name[32], fstype[16], host byte order), good and refused.
m=$corpus/mountd
mkdir -p "$m"
python3 - "$m" <<'PY'
import struct, sys
d = sys.argv[1]
def req(op, name, fs=b"", magic=0x71646d31):
    return struct.pack("=II32s16s", magic, op, name, fs)
seeds = {
    "mount-vfat": req(1, b"sdb1", b"vfat"),
    "mount-exfat": req(1, b"sdc", b"exfat"),
    "remount-rw": req(2, b"sdb1"),
    "remount-ro": req(3, b"sdb1"),
    "unmount": req(4, b"mmcblk0p1"),
    "dotdot": req(1, b"../etc", b"ext4"),
    "slash": req(4, b"sd/b1"),
    "ntfs": req(1, b"sdb1", b"ntfs"),
    "fstype-on-unmount": req(4, b"sdb1", b"vfat"),
    "garbage-after-name": req(4, b"sdb1\0x"),
    "unterminated-name": req(4, b"a" * 32),
    "bad-magic": req(1, b"sdb1", b"vfat", 0x31646d71),
    "unknown-op": req(9, b"sdb1"),
    "short": req(1, b"sdb1", b"vfat")[:-1],
    "long": req(1, b"sdb1", b"vfat") + b"\0",
}
for name, data in seeds.items():
    open(f"{d}/{name}", "wb").write(data)
PY

echo "make-corpus: seeds in $corpus:"
for d in "$corpus"/*/; do
	printf '  %-10s %3d files %7d bytes\n' "$(basename "$d")" "$(find "$d" -type f | wc -l)" \
		"$(find "$d" -type f -exec cat {} + | wc -c)"
done

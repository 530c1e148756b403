#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Seeds from the public vectors, made at run time and never committed (the
# vectors are read in place from ../shared/vectors): RFC 9285 base45, the COSE
# WG examples, the EU DCC test data and a third-party issuer's COSE messages,
# written one input per file into OUT/<target>/.
# Usage: vector-seeds.sh VECTORS_DIR OUT_DIR [REPLAY_DIR]
# With REPLAY_DIR (where the fuzz_<x>_replay programs are), each target's
# replay program then runs over its seeds: ctest fuzz_regression_vectors.
set -euo pipefail
vec=${1:?vectors dir}
out=${2:?output dir}
[[ -d $vec ]] || { echo "vector-seeds: no $vec: nothing to do" >&2; exit 0; }
rm -rf "$out"
mkdir -p "$out"/{base45,qrtext,cose,cbor,claims,image}

put() { cat >"$out/$1/$2"; } # put TARGET NAME (data on stdin)
hex() { tr -d ' \n' | tr a-f A-F | basenc --base16 -d; }

# RFC 9285: valid and invalid encodings.
i=0
while IFS= read -r s; do put base45 "rfc9285-$((i++))" <<<"$s"; done \
	< <(jq -r '.valid[].base45, .invalid[].base45' "$vec/rfc/rfc9285_base45.json")

# Third-party issuer: QR texts (their prefix, and ours on the same base45) and COSE bytes.
i=0
while IFS=$'\t' read -r text cose; do
	printf '%s' "$text" | put qrtext "interop-$i"
	printf 'BC1:%s' "${text#*:}" | put qrtext "interop-bc1-$i"
	printf '%s' "${text#*:}" | put base45 "interop-$i"
	hex <<<"$cose" | put cose "interop-$i"
	hex <<<"$cose" | put cbor "interop-$i"
	i=$((i + 1))
done < <(jq -r '.samples[] | [.qr_text, .cose_sign1_hex] | @tsv' "$vec/interop/cose-ts_issued_samples.json")

# COSE WG examples: each message.
for f in "$vec"/cose-wg-examples/{eddsa-examples,ecdsa-examples,sign1-tests,CWT,RFC8152}/*.json; do
	[[ -f $f ]] || continue
	c=$(jq -r '.output.cbor // empty' "$f")
	[[ -n $c ]] || continue
	name=coswg-$(basename "$f" .json)
	hex <<<"$c" | put cose "$name"
	hex <<<"$c" | put cbor "$name"
done

# EU DCC test data: COSE, the CWT payload (other claims: good negatives), base45, the QR PNG.
for f in "$vec"/dgc-testdata/common/2DCode/raw/*.json; do
	name=dgc-$(basename "$f" .json)
	c=$(jq -r '.COSE // empty' "$f" 2>/dev/null) || continue
	[[ -n $c ]] && hex <<<"$c" | put cose "$name"
	c=$(jq -r '.CBOR // empty' "$f")
	[[ -n $c ]] && { hex <<<"$c" | put cbor "$name"; hex <<<"$c" | put claims "$name"; }
	c=$(jq -r '.PREFIX // empty' "$f")
	[[ -n $c ]] && printf '%s' "$c" | put qrtext "$name"
	c=$(jq -r '.["2DCODE"] // empty' "$f")
	[[ -n $c ]] && base64 -d <<<"$c" 2>/dev/null | put image "$name"
done
echo "vector-seeds: $(find "$out" -type f | wc -l) inputs in $out" >&2

replay=${3:-}
if [[ -n $replay ]]; then
	status=0
	for d in "$out"/*/; do
		t=$(basename "$d")
		"$replay/fuzz_${t}_replay" "$d" || status=1
	done
	exit $status
fi

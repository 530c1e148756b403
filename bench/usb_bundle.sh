#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Time a USB update bundle end to end, as qrdeskd's worker runs it (qrdeskctl usb
# calls the same usb_process_stick): read, verify (outer signature, every inner
# document), apply in one store batch.  Prints figures; asserts nothing.
# Usage: bench/usb_bundle.sh BUILD_DIR [REVOCATIONS...]   (default 100000 1000000)
set -euo pipefail
build=$(realpath "${1:?usage: usb_bundle.sh BUILD_DIR [REVOCATIONS...]}")
shift
sizes=("${@:-100000}")
[[ $# -eq 0 ]] && sizes=(100000 1000000)
issuer=$build/tools/qrdesk-issuer
ctl=$build/tools/qrdeskctl
work=$(mktemp -d "${TMPDIR:-/tmp}/qrdesk-bench-usb-XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"
printf '%-12s %-12s %-10s %s\n' revocations "bundle MiB" "seconds" "MiB/s"
for n in "${sizes[@]}"; do
	rm -rf bo repo desk.db stick
	"$issuer" init bo >/dev/null
	seq -f '26%08.0f' 1 "$n" | xargs -n 100000 "$issuer" revoke bo >/dev/null
	"$issuer" publish bo repo >/dev/null
	"$ctl" provision --store desk.db --root bo/root.pub >/dev/null
	mkdir -p stick/qrdesk
	printf '[desk]\ndesk_id = BENCH-1\n' >desk.conf
	"$issuer" bundle bo stick/qrdesk/b.qrbundle --docs repo/keyset.cose repo/revocations.cose \
		repo/policy.cose >/dev/null
	size=$(stat -c %s stick/qrdesk/b.qrbundle)
	start=$(date +%s.%N)
	"$ctl" usb --store desk.db --config desk.conf stick >/dev/null 2>&1
	end=$(date +%s.%N)
	awk -v n="$n" -v s="$size" -v a="$start" -v b="$end" \
		'BEGIN { t = b - a; printf "%-12d %-12.1f %-10.2f %.1f\n", n, s / 1048576, t, s / 1048576 / t }'
done

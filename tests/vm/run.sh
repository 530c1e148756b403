#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The appliance in a VM: Debian 12's own kernel boots an initramfs holding
# the built qrdeskd, qrdeskctl and qrdesk-issuer, test trust data and a
# runner (busybox sh) that drives kernel-simulated devices - gpio-sim, a USB
# keyboard gadget on dummy_hcd, uinput, a CDC-ACM gadget - against the real
# drivers.  See docs/vm-tests.md.
#
# Usage: tests/vm/run.sh [--accel auto|kvm|tcg] [--cases a,b] [--timeout S]
#                        [--out DIR] BUILD_DIR
#   BUILD_DIR   a CMake build of this tree (release): its firmware/qrdeskd,
#               tools/qrdeskctl, tools/qrdesk-issuer, tests/vm_keytype and
#               tests/vm_framefeed.
#   --accel     KVM when it is usable (auto, the default), or force one.
#   --cases     a comma-separated subset of tests/vm/guest/cases/ names
#               (without the number and .sh), e.g. gpio,serial_acm.
#   --timeout   seconds for the whole boot and run (default 600).
#   --out       where the initramfs, the serial log and the host side's
#               files go (default BUILD_DIR/vm-last, replaced each run).
# Downloads (apt-get download) and the built gpio-sim are cached in
# BUILD_DIR/vm-cache and reused.  Exit 0 only if every case passed.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
export PATH=$PATH:/usr/sbin:/sbin # depmod, mkfs.vfat for a user whose PATH lacks them
accel=auto
cases=""
timeout_s=600
out=""
while (($# > 1)); do
	case $1 in
	--accel) accel=$2 ;;
	--cases) cases=$2 ;;
	--timeout) timeout_s=$2 ;;
	--out) out=$2 ;;
	*) echo "vm: unknown option $1" >&2; exit 64 ;;
	esac
	shift 2
done
(($# == 1)) || { sed -n '8,20p' "$0" >&2; exit 64; }
build=$(realpath "$1")
out=${out:-$build/vm-last}
cache=$build/vm-cache

# shellcheck source=tests/vm/host/kernel.sh
. "$here/host/kernel.sh"
# shellcheck source=tests/vm/host/initramfs.sh
. "$here/host/initramfs.sh"
# shellcheck source=tests/vm/host/trustdata.sh
. "$here/host/trustdata.sh"
# shellcheck source=tests/vm/host/usbstick.sh
. "$here/host/usbstick.sh"

bins=("$build/firmware/qrdeskd" "$build/tools/qrdeskctl" "$build/tools/qrdesk-issuer" "$build/tests/vm_keytype"
	"$build/tests/vm_framefeed")
# On the host only: the bound traveller's passport MRZ and boarding pass (hid_usb types them).
specimen=$build/tests/qrdesk-specimen
for b in "${bins[@]}" "$specimen"; do
	[[ -x $b ]] || { log "missing $b: build the tree first"; exit 2; }
done
for tool in qemu-system-x86_64 apt-get dpkg-deb depmod modprobe cpio gzip make gcc-12 sqlite3 jq mkfs.vfat mcopy udevadm; do
	command -v "$tool" >/dev/null || { log "missing $tool: run scripts/install-deps.sh"; exit 2; }
done

elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
t0=$(date +%s.%N)
kernel_prepare "$cache" || { log "kernel preparation failed"; exit 2; }

rm -rf "$out"
mkdir -p "$out/stage/data"
trustdata_make "$out/host" "$out/stage/data" "${bins[2]}" "${bins[1]}" "$specimen" || { log "trust data failed"; exit 2; }
echo "qrdesk VM stick" >"$out/host/hello.txt"
head -c 4M /dev/urandom >"$out/host/big.bin"
sha256sum <"$out/host/big.bin" | cut -d' ' -f1 >"$out/stage/data/stick-big.sha256"
usbstick_bundles "$out/host" "${bins[2]}" || { log "stick bundles failed"; exit 2; }
usbstick_image "$out/stage/data/stick.img" "$out/host/hello.txt" "$out/host/big.bin" "$out/host/stick/qrdesk" ||
	{ log "stick image failed"; exit 2; }
usbstick_image "$out/stage/data/stick-big.img" "$out/host/stick-big/qrdesk" || { log "stick image failed"; exit 2; }
# udevd for qrdeskd's udev stick mode: Debian's, with the rules that give a
# USB disk ID_BUS and ID_FS_TYPE (udevadm is systemd-udevd by another name).
initramfs_add_program "$out/stage" "$(command -v udevadm)" /bin/udevadm || { log "udevadm"; exit 2; }
ln -s udevadm "$out/stage/bin/systemd-udevd"
install -D -m 0644 /usr/lib/udev/rules.d/60-persistent-storage.rules "$out/stage/usr/lib/udev/rules.d/60-persistent-storage.rules"
cp -r "$here/guest/." "$out/stage/"
chmod 0755 "$out/stage/init"
initramfs_build "$out/stage" "$out/initramfs.gz" "${bins[@]}" "$(command -v sqlite3)" ||
	{ log "initramfs failed"; exit 2; }
t1=$(date +%s.%N)

accel_args=(-accel tcg)
# "Usable" KVM: the node opens and the CPU has VT-x or AMD-V.  A sandbox may
# offer a /dev/kvm without them, where a guest hangs before its first line.
kvm_usable() { [[ -r /dev/kvm && -w /dev/kvm ]] && grep -qwE 'vmx|svm' /proc/cpuinfo; }
if [[ $accel == kvm || ($accel == auto && $(kvm_usable && echo y) == y) ]]; then
	accel_args=(-accel kvm)
	accel=kvm
else
	accel=tcg
fi
log "booting $KVER under $accel ($(du -h "$out/initramfs.gz" | cut -f1) initramfs, prepared in $(elapsed "$t0" "$t1") s)"
serial=$out/serial.log
# No network, no disk: the console on the first serial port is the only
# way out.  A panic or a hung runner ends in the timeout.
timeout --foreground -k 5 "$timeout_s" qemu-system-x86_64 "${accel_args[@]}" -m 1024 -smp 1 \
	-kernel "$KROOT/boot/vmlinuz-$KVER" -initrd "$out/initramfs.gz" \
	-append "console=ttyS0 panic=-1 quiet loglevel=4 qrdesk.cases=$cases" \
	-nographic -no-reboot -nic none -monitor none -serial "file:$serial" </dev/null >"$out/qemu.out" 2>&1
rc=$?
t2=$(date +%s.%N)
tr -d '\r' <"$serial" >"$serial.txt"
grep -E '^(VM |ok |FAIL|#)' "$serial.txt"
((rc == 124)) && log "timed out after $timeout_s s; the whole console is in $serial.txt"
((rc != 0 && rc != 124)) && { log "qemu exited $rc"; cat "$out/qemu.out" >&2; }
log "boot and run: $(elapsed "$t1" "$t2") s under $accel"

done_line=$(grep -E '^VM DONE ' "$serial.txt" | tail -n1)
if [[ -z $done_line ]]; then
	log "the runner did not finish; last console lines:"
	tail -n 40 "$serial.txt" >&2
	exit 1
fi
passed=$(sed -E 's/.*passed=([0-9]+).*/\1/' <<<"$done_line")
failed=$(sed -E 's/.*failed=([0-9]+).*/\1/' <<<"$done_line")

# The sealed export qrdeskd wrote on the stick comes back on the console
# (base64, "EXPORT-B64 " lines, usb_stick case): the back office opens it
# with the domain's export key, which never entered the VM.
if grep -q '^EXPORT-B64 ' "$serial.txt"; then
	sed -n 's/^EXPORT-B64 //p' "$serial.txt" | base64 -d >"$out/export.qrlog"
	if "${bins[2]}" open-export "$out/host/dom" "$out/export.qrlog" >"$out/export.jsonl" 2>"$out/export.head" &&
		grep -q '"desk": *"VM-1"' "$out/export.head" &&
		[[ $(wc -l <"$out/export.jsonl") -ge 2 ]] &&
		grep -q '"verdict": *"valid"' "$out/export.jsonl"; then
		echo "ok - usb_stick (host): the sealed export opens with the domain's key: $(wc -l <"$out/export.jsonl") rows from desk VM-1"
	else
		echo "FAIL: usb_stick (host): the export does not open or holds the wrong rows: $(head -c 300 "$out/export.head")"
		failed=$((failed + 1))
	fi
fi
echo "$passed passed, $failed failed"
((failed == 0 && passed > 0))

#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The desk image in a VM (docs/image.md): scripts/image.sh builds the real disk image
# from Debian's packages and this tree's qrdesk .deb, GRUB boots slot A under
# qemu-system-x86_64 (KVM when usable, else TCG), systemd starts qrdeskd under its hardened unit, and a test
# harness (added to the test image's root only: tests/image/guest/) checks what the
# boot did and drives USB gadgets on dummy_hcd.
#
# Usage: tests/image/run.sh [--full] [--timeout S] BUILD_DIR
#   BUILD_DIR   a release build of this tree (its qrdesk-issuer, qrdeskctl, vm_keytype)
#   --full      the whole A/B cycle (ctest image_ab), else the reduced boot (ctest image_boot):
#               slot A, qrdeskd ready, a verdict from the HID gadget, a wrongly signed
#               RAUC bundle refused, a rightly signed one verified with the clock set back,
#               the kiosk unit skipped (the VM has no display)
#   --timeout   seconds for qemu (default 1500; --full 4500)
# The base root file system (by its package list) is cached outside the tree, in
# $QRDESK_IMAGE_CACHE or ~/.cache/qrdesk/image; the .debs (by the tree's files) in
# BUILD_DIR/image-debs.  A missing base is made: by scripts/test.sh in the background (this
# waits for it) or else by the image build here (docs/image.md#time).  QRDESK_IMAGE=0 skips
# the test.  Needs root.  Exit 0 only if every check passed, 77 when skipped (saying why).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
export PATH=$PATH:/usr/sbin:/sbin
full=0
timeout_s=""
while (($# > 1)); do
	case $1 in
	--full) full=1; shift ;;
	--timeout) timeout_s=$2; shift 2 ;;
	*) echo "image test: unknown option $1" >&2; exit 64 ;;
	esac
done
(($# == 1)) || { sed -n '9,17p' "$0" >&2; exit 64; }
# The full cycle boots four times; its first boot alone took 18 minutes under TCG at load 16.
((full)) && timeout_s=${timeout_s:-4500}
timeout_s=${timeout_s:-1500}
build=$(realpath "$1")
# The base's cache, kept across build directories and fresh clones (scripts/image.sh).
cache=${QRDESK_IMAGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/qrdesk/image}
out=$build/image-test
((full)) && out=$build/image-test-ab
log() { echo "image test: $*" >&2; }
if ((full)) && [[ ${QRDESK_IMAGE_AB:-0} != 1 ]]; then
	echo "image test: SKIP: the whole A/B cycle runs only with QRDESK_IMAGE_AB=1 (docs/image.md)"
	exit 77
fi
if ((!full)) && [[ ${QRDESK_IMAGE:-1} == 0 ]]; then
	echo "image test: SKIP: QRDESK_IMAGE=0 in the environment"
	exit 77
fi
if [[ $(id -u) -ne 0 ]]; then
	echo "image test: SKIP: needs root (mmdebstrap, chroot)"
	exit 77
fi
for tool in qemu-system-x86_64 mmdebstrap rauc mksquashfs openssl jq xxd mkfs.vfat mcopy sqlite3 sfdisk; do
	command -v "$tool" >/dev/null || { log "missing $tool: run scripts/install-deps.sh"; exit 2; }
done
issuer=$build/tools/qrdesk-issuer ctl=$build/tools/qrdeskctl keytype=$build/tests/vm_keytype
specimen=$build/tests/qrdesk-specimen
for b in "$issuer" "$ctl" "$keytype" "$specimen"; do
	[[ -x $b ]] || { log "missing $b: build the tree first"; exit 2; }
done
t0=$SECONDS
rm -rf "$out"
mkdir -p "$out" "$build/image-debs"

# -- the packages, rebuilt only when a file that goes into them changed (tests/image/debs.sh)
# shellcheck source=tests/image/debs.sh
. "$src/tests/image/debs.sh"
image_debs "$src" "$build" "$out/deb.log" || exit 1
log "packages ready ($((SECONDS - t0)) s)"
# The base (scripts/image.sh --base-only): scripts/test.sh starts making it in the background
# before it builds anything and names its log in QRDESK_IMAGE_BASE_LOG; wait for that maker to
# end (it holds LOG.lock until then) and stop here if it failed.  Else, or if it is still not
# there, the image build below makes it (one maker at a time: a lock in the cache).  The maker
# ends by its deadline (QRDESK_IMAGE_BASE_DEADLINE, scripts/test.sh); this waits no longer
# than that and its kill's grace: a hang guard, so a stuck maker fails here, saying so.
if [[ -n ${QRDESK_IMAGE_BASE_LOG:-} && -e $QRDESK_IMAGE_BASE_LOG.lock ]]; then
	tw=$SECONDS
	wait_s=$((${QRDESK_IMAGE_BASE_DEADLINE:-3000} + 120))
	log "waiting for the image base that scripts/test.sh is making ($QRDESK_IMAGE_BASE_LOG; at most $wait_s s)"
	if ! flock -w "$wait_s" "$QRDESK_IMAGE_BASE_LOG.lock" true; then
		tail -n 20 "$QRDESK_IMAGE_BASE_LOG" >&2
		log "FAIL: the image base's maker did not end in $wait_s s (it holds $QRDESK_IMAGE_BASE_LOG.lock); its log: $QRDESK_IMAGE_BASE_LOG"
		exit 1
	fi
	base_rc=$(cat "$QRDESK_IMAGE_BASE_LOG.rc" 2>/dev/null || echo "none (the maker was stopped)")
	if [[ $base_rc != 0 ]]; then
		tail -n 20 "$QRDESK_IMAGE_BASE_LOG" >&2
		log "FAIL: making the image base failed (exit status $base_rc); its log: $QRDESK_IMAGE_BASE_LOG"
		exit 1
	fi
	log "image base made or found by scripts/test.sh (waited $((SECONDS - tw)) s)"
fi
base=$("$src/scripts/image.sh" --base-only --check --cache "$cache" "$debs")
case $? in
0) log "image base cached: $base" ;;
3) log "no image base cached: the image build makes it ($base; docs/image.md#time)" ;;
*) exit 1 ;; # image.sh said why (the package's Depends are not the base's list)
esac

# -- the back office: a trust domain, cards, a provisioned store, the firmware keyring
# shellcheck source=tests/vm/host/trustdata.sh
. "$src/tests/vm/host/trustdata.sh"
# shellcheck source=tests/vm/host/usbstick.sh
. "$src/tests/vm/host/usbstick.sh"
# shellcheck source=tests/vm/host/accel.sh
. "$src/tests/vm/host/accel.sh"
disk=$out/testdisk
mkdir -p "$disk" "$out/data/qrdesk"
trustdata_make "$out/host" "$disk" "$issuer" "$ctl" "$specimen" || { log "trust data failed"; exit 1; }
mv "$disk/desk.db" "$out/data/qrdesk/desk.db"
"$src/scripts/firmware-bundle.sh" keyring "$out/host/dom" "$out/keyring.pem" || exit 1

# A bundle signed by another domain's firmware key: refused by the desk's keyring.
(cd "$out/host" && "$issuer" init other >/dev/null) || exit 1
mkdir -p "$out/tiny" "$out/stick-wrongkey/qrdesk"
echo "not the desk's firmware" >"$out/tiny/README"
head -c 256K /dev/urandom >"$out/tiny/filler" # squashfs must be larger than a block
mkfs.ext4 -q -L qrdesk-root -d "$out/tiny" "$out/tiny.ext4" 8M
"$src/scripts/firmware-bundle.sh" bundle "$out/host/other" "$out/tiny.ext4" 9.9.9 \
	"$out/stick-wrongkey/qrdesk/firmware.raucb" || exit 1
usbstick_image "$disk/stick-wrongkey.img" "$out/stick-wrongkey/qrdesk" || { log "stick image failed"; exit 1; }
# A bundle of the desk's own domain, verified (not installed) with the guest's clock set back.
"$src/scripts/firmware-bundle.sh" bundle "$out/host/dom" "$out/tiny.ext4" 9.9.8 "$disk/own.raucb" || exit 1

# -- the harness, in the test image's root only
extra=$out/extra
lib=$extra/usr/lib/qrdesk-vmtest
mkdir -p "$lib/lib" "$extra/etc/systemd/system/multi-user.target.wants"
install -m 0644 "$src/tests/vm/guest/gadget.sh" "$lib/"
install -m 0755 "$here/guest/run.sh" "$keytype" "$(command -v sqlite3)" "$(command -v jq)" "$lib/"
ldd "$(command -v sqlite3)" "$(command -v jq)" | awk '$3 ~ /^\// {print $3}' | grep -vE '/(libc|libm|ld-linux)[.-]' |
	sort -u | xargs -r cp -L -t "$lib/lib/"
install -m 0644 "$here/guest/qrdesk-vmtest.service" "$extra/etc/systemd/system/"
ln -s ../qrdesk-vmtest.service "$extra/etc/systemd/system/multi-user.target.wants/qrdesk-vmtest.service"
# A slot whose qrdeskd is not ready in 240 s is given up (300 s on a desk): enough under TCG
# on a loaded machine, where qrdeskd is ready some 30 s after systemd starts it.
mkdir -p "$extra/etc/systemd/system/qrdesk-slot-check.service.d"
printf '[Service]\nEnvironment=QRDESK_READY_TIMEOUT=240\n' >"$extra/etc/systemd/system/qrdesk-slot-check.service.d/test.conf"
# qrdeskd's watchdog 60 s instead of 10: under TCG on a loaded host the guest stalls for
# seconds at a time (the kernel's "Long readout interval" lines), and systemd killed a
# qrdeskd that was waiting for rauc in the middle of an install.
mkdir -p "$extra/etc/systemd/system/qrdeskd.service.d"
printf '[Service]\nWatchdogSec=60\n' >"$extra/etc/systemd/system/qrdeskd.service.d/vmtest.conf"

# -- the image
log "building the image ($((SECONDS - t0)) s)"
nice -n 10 "$src/scripts/image.sh" --keyring "$out/keyring.pem" --config "$here/guest/desk-vm.conf" \
	--extra "$extra" --data "$out/data" --cache "$cache" --version 1.0.0 "$debs" "$out/img" 2>&1 |
	tee "$out/image.log" >&2
((PIPESTATUS[0] == 0)) || { log "the image build failed"; exit 1; }

# -- the plan: one line per boot, "SLOT step..."
if ((full)); then
	# Slot B's firmware (2.0.0) and a broken one (qrdeskd never starts: the slot must be
	# rolled back), built as the back office would, with the same harness; their bundles.
	bstick() { # bstick NAME BUNDLE: a FAT stick image big enough for the bundle
		local kib=$(($(stat -c %s "$2") / 1024 + 16384))
		mkdir -p "$out/$1/qrdesk"
		ln -f "$2" "$out/$1/qrdesk/firmware.raucb"
		rm -f "$disk/$1.img"
		mkfs.vfat -C -n QRDESK "$disk/$1.img" "$kib" >/dev/null && MTOOLS_SKIP_CHECK=1 mcopy -s -i "$disk/$1.img" "$out/$1/qrdesk" ::/
	}
	mkdir -p "$out/extra-broken/etc/systemd/system/qrdeskd.service.d"
	cp -a "$extra/." "$out/extra-broken/"
	printf '[Service]\nExecStartPre=/bin/false\n' >"$out/extra-broken/etc/systemd/system/qrdeskd.service.d/broken.conf"
	for v in good broken; do
		x=$extra ver=2.0.0
		[[ $v == broken ]] && x=$out/extra-broken ver=2.0.1-broken
		nice -n 10 "$src/scripts/image.sh" --rootfs-only --keyring "$out/keyring.pem" --config "$here/guest/desk-vm.conf" \
			--extra "$x" --cache "$cache" --version "$ver" "$debs" "$out/img-$v" >>"$out/image.log" 2>&1 ||
			{ tail -20 "$out/image.log" >&2; exit 1; }
		"$src/scripts/firmware-bundle.sh" bundle "$out/host/dom" "$out/img-$v/rootfs.ext4" "$ver" "$out/$v.raucb" || exit 1
		rm -f "$out/img-$v/rootfs.ext4"
		bstick "stick-$v" "$out/$v.raucb" || { log "stick image failed"; exit 1; }
	done
	# A corrupted copy: one byte changed in the middle of the bundle's image.
	cp "$out/good.raucb" "$out/corrupt.raucb"
	size=$(stat -c %s "$out/corrupt.raucb")
	printf '\x55' | dd of="$out/corrupt.raucb" bs=1 seek=$((size / 2)) conv=notrunc status=none
	cmp -s "$out/good.raucb" "$out/corrupt.raucb" && printf '\xaa' | dd of="$out/corrupt.raucb" bs=1 seek=$((size / 2)) conv=notrunc status=none
	bstick stick-corrupt "$out/corrupt.raucb" || { log "stick image failed"; exit 1; }
	rm -f "$out/good.raucb" "$out/broken.raucb" "$out/corrupt.raucb"
	echo 2.0.0 >"$disk/version-b"
	echo 2.0.1-broken >"$disk/version-broken"
	# One line per run of the harness: the broken B reboots before it runs.
	cat >"$disk/PLAN" <<PLAN
A system headless verdict wrongkey clock corrupt pulled installbroken reboot
A system rollback installgood reboot
B system updated
PLAN
else
	echo "A system headless verdict wrongkey clock" >"$disk/PLAN"
fi
echo 1.0.0 >"$disk/version-A"
[[ -f $disk/version-b ]] && cp "$disk/version-b" "$disk/version-B"
boots=$(wc -l <"$disk/PLAN")
# No reserved blocks and room to spare: the harness writes its state here (its boot count
# across reboots), and the full cycle's stick images fill most of the file system.
mkfs.ext4 -q -m 0 -L qrdesk-vmtest -d "$disk" "$out/testdisk.img" $(($(du -sm "$disk" | cut -f1) + 128))M
t1=$SECONDS

accel_pick "${QRDESK_VM_ACCEL:-auto}"
log "booting the image under $ACCEL ($boots boots; prepared in $((t1 - t0)) s)"
reboot_args=(-no-reboot)
((boots > 1)) && reboot_args=()
# No graphics device (-vga none): a desk without a screen, whose kiosk unit is skipped.
timeout --foreground -k 5 "$timeout_s" nice -n 10 qemu-system-x86_64 "${ACCEL_ARGS[@]}" -m 1024 -smp 1 \
	-drive "file=$out/img/disk.img,format=raw,if=virtio" -drive "file=$out/testdisk.img,format=raw,if=virtio" \
	-vga none -display none -monitor none -nic none "${reboot_args[@]}" \
	-serial "file:$out/console.log" -serial "file:$out/harness.log" </dev/null >"$out/qemu.out" 2>&1
rc=$?
tr -d '\r' <"$out/harness.log" >"$out/harness.txt"
tr -d '\r' <"$out/console.log" >"$out/console.txt"
cat "$out/harness.txt"
((rc == 124)) && log "timed out after $timeout_s s; the console is in $out/console.txt"
((rc != 0 && rc != 124)) && { log "qemu exited $rc"; cat "$out/qemu.out" >&2; }
log "boot and checks: $((SECONDS - t1)) s; whole test $((SECONDS - t0)) s"
done_boots=$(grep -c '^VMTEST BOOT [0-9]* DONE' "$out/harness.txt")
failed=$(grep -c '^FAIL' "$out/harness.txt")
passed=$(grep -c '^ok ' "$out/harness.txt")
if ((done_boots != boots)); then
	log "$done_boots of $boots boots finished; the console's last lines:"
	tail -n 40 "$out/console.txt" >&2
	exit 1
fi
echo "$passed passed, $failed failed"
((failed == 0 && passed > 0))

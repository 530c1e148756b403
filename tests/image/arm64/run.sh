#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The arm64 (Raspberry Pi-class) desk image under emulation (docs/image.md): the qrdesk
# package cross-built for arm64 (scripts/deb-arm64.sh), the image built by scripts/image.sh
# --arch arm64 from Debian's arm64 packages, booted by qemu-system-aarch64's raspi3b
# machine the way a Pi boots it: U-Boot (u-boot-rpi's rpi_arm64, from the image's FAT
# partition) with its environment in uboot.env on that partition runs boot.scr, which
# chooses slot A and boots its kernel; systemd starts the hardened qrdeskd.  qemu stands in
# for the Pi's own boot firmware (start.elf: it loads u-boot.bin and the device tree);
# the rest is the image's.  One boot of slot A: its checks, an amd64 bundle refused, RAUC
# making slot B (a copy of A's file system) primary.  With --switch a second boot follows,
# of slot B.
#
# Usage: tests/image/arm64/run.sh [--switch] [--timeout S] BUILD_DIR
#   BUILD_DIR   a release build of this tree (its qrdesk-issuer, qrdeskctl, specimen)
#   --timeout   seconds for each qemu boot (default 3600: TCG emulates four Cortex-A53)
#   --switch    a second boot, of slot B, once RAUC has made it primary
# Runs only with QRDESK_IMAGE_ARM64=1 (ctest image_arm64, label image-arm64): about half
# an hour on a clean machine (the arm64 base is made under qemu-user), 5-7 minutes with it
# cached, see docs/image.md.
# Needs root.  Exit 0 only if every check passed, 77 when skipped (saying why).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../../.." && pwd)
export PATH=$PATH:/usr/sbin:/sbin
timeout_s=3600 switch=0
while (($# > 1)); do
	case $1 in
	--switch) switch=1; shift ;;
	--timeout) timeout_s=$2; shift 2 ;;
	*) echo "arm64 image test: unknown option $1" >&2; exit 64 ;;
	esac
done
(($# == 1)) || { sed -n '14,18p' "$0" >&2; exit 64; }
log() { echo "arm64 image test: $*" >&2; }
if [[ ${QRDESK_IMAGE_ARM64:-0} != 1 ]]; then
	echo "arm64 image test: SKIP: runs only with QRDESK_IMAGE_ARM64=1 (docs/image.md)"
	exit 77
fi
if [[ $(id -u) -ne 0 ]]; then
	echo "arm64 image test: SKIP: needs root (mmdebstrap, chroot, binfmt_misc)"
	exit 77
fi
for tool in qemu-system-aarch64 qemu-aarch64-static mmdebstrap rauc mksquashfs mkimage mkfs.vfat mcopy debugfs sfdisk \
	aarch64-linux-gnu-gcc; do
	command -v "$tool" >/dev/null || { log "missing $tool: run scripts/install-deps.sh"; exit 2; }
done
build=$(realpath "$1")
issuer=$build/tools/qrdesk-issuer ctl=$build/tools/qrdeskctl specimen=$build/tests/qrdesk-specimen
for b in "$issuer" "$ctl" "$specimen"; do
	[[ -x $b ]] || { log "missing $b: build the tree first"; exit 2; }
done
cache=${QRDESK_IMAGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/qrdesk/image}
out=$build/image-arm64
t0=$SECONDS
rm -rf "$out/img" "$out/host" "$out/data" "$out/extra"
mkdir -p "$out"

# -- the packages: the amd64 one as image_boot gets it (deb_install's, unless a file that
# goes into it is newer; else built once per tree state), then its arm64 twin
# shellcheck source=tests/image/debs.sh
. "$src/tests/image/debs.sh"
image_debs "$src" "$build" "$out/deb.log" || exit 1
amd64_debs=$debs
debs=$out/debs
rm -rf "$debs"
mkdir -p "$debs"
cp "$amd64_debs"/qrdesk_*_amd64.deb "$debs/"
"$src/scripts/deb-arm64.sh" "$debs" "$out/cross" || exit 1
log "packages ready ($((SECONDS - t0)) s)"

# -- the back office: a provisioned store, the firmware keyring, an amd64 desk's bundle
# shellcheck source=tests/vm/host/trustdata.sh
. "$src/tests/vm/host/trustdata.sh"
mkdir -p "$out/data/qrdesk" "$out/data/vmtest"
trustdata_make "$out/host" "$out/host/disk" "$issuer" "$ctl" "$specimen" || { log "trust data failed"; exit 1; }
mv "$out/host/disk/desk.db" "$out/data/qrdesk/desk.db"
"$src/scripts/firmware-bundle.sh" keyring "$out/host/dom" "$out/keyring.pem" || exit 1
mkdir -p "$out/tiny/etc"
printf 'VERSION=9.9.9\nCOMPATIBLE=qrdesk-desk-amd64\n' >"$out/tiny/etc/qrdesk-firmware"
head -c 256K /dev/urandom >"$out/tiny/filler" # squashfs must be larger than a block
rm -f "$out/tiny.ext4"
mkfs.ext4 -q -L qrdesk-root -d "$out/tiny" "$out/tiny.ext4" 8M
"$src/scripts/firmware-bundle.sh" bundle "$out/host/dom" "$out/tiny.ext4" 9.9.9 "$out/data/vmtest/amd64.raucb" || exit 1
echo 1.0.0 >"$out/data/vmtest/version"
date +%s >"$out/data/vmtest/now"
if ((switch)); then
	printf '%s\n' "A system wrongarch switch reboot" "B system" >"$out/data/vmtest/PLAN"
else
	echo "A system wrongarch switch" >"$out/data/vmtest/PLAN"
fi

# -- the harness, in the test image's root only
extra=$out/extra
mkdir -p "$extra/usr/lib/qrdesk-vmtest" "$extra/etc/systemd/system/multi-user.target.wants"
install -m 0755 "$here/guest.sh" "$extra/usr/lib/qrdesk-vmtest/"
install -m 0644 "$here/qrdesk-vmtest.service" "$extra/etc/systemd/system/"
ln -s ../qrdesk-vmtest.service "$extra/etc/systemd/system/multi-user.target.wants/qrdesk-vmtest.service"
# Emulated, qrdeskd needs minutes where a board needs seconds: slot-check's limit and
# the watchdog are widened (the same settings the amd64 image test widens, for the same reason).
mkdir -p "$extra/etc/systemd/system/qrdesk-slot-check.service.d" "$extra/etc/systemd/system/qrdeskd.service.d"
printf '[Service]\nEnvironment=QRDESK_READY_TIMEOUT=1200\n' >"$extra/etc/systemd/system/qrdesk-slot-check.service.d/test.conf"
printf '[Service]\nWatchdogSec=120\n' >"$extra/etc/systemd/system/qrdeskd.service.d/vmtest.conf"

# -- the image
log "building the image ($((SECONDS - t0)) s)"
nice -n 10 "$src/scripts/image.sh" --arch arm64 --keyring "$out/keyring.pem" --config "$src/tests/image/guest/desk-vm.conf" \
	--extra "$extra" --data "$out/data" --cache "$cache" --version 1.0.0 "$debs" "$out/img" 2>&1 | tee "$out/image.log" >&2
((PIPESTATUS[0] == 0)) || { log "the image build failed"; exit 1; }
. "$out/img/image.env"
disk=$out/img/disk.img
# Slot B holds the same system, for the switch (as if RAUC had written it).
dd if="$out/img/rootfs.ext4" of="$disk" bs=1M seek=$((1 + BOOT_MB + SLOT_MB)) conv=notrunc,sparse status=none
# qemu's SD card must be a power of two in size (sparse: nothing is written).
size=$(stat -c %s "$disk") pow=1
while ((pow < size)); do pow=$((pow * 2)); done
truncate -s "$pow" "$disk"
# What the Pi's firmware would load from the FAT partition: U-Boot and the board's device tree.
MTOOLS_SKIP_CHECK=1 mcopy -o -i "$disk@@1M" ::u-boot.bin ::bcm2837-rpi-3-b.dtb "$out/img/" || exit 1
t1=$SECONDS

boots=$(wc -l <"$out/data/vmtest/PLAN")
data_off=$(((1 + BOOT_MB + 2 * SLOT_MB) * 1024 * 1024))
harness() { debugfs -R 'cat /vmtest/harness.txt' "$disk?offset=$data_off" 2>/dev/null; }
: >"$out/console.log"
for ((run = 1; run <= boots; run++)); do
	log "boot $run of $boots under qemu-system-aarch64 -M raspi3b (TCG; prepared in $((t1 - t0)) s)"
	tb=$SECONDS
	timeout --foreground -k 5 "$timeout_s" nice -n 10 qemu-system-aarch64 -M raspi3b -m 1G \
		-kernel "$out/img/u-boot.bin" -dtb "$out/img/bcm2837-rpi-3-b.dtb" \
		-drive "file=$disk,format=raw,if=sd" -display none -monitor none -no-reboot \
		-serial null -serial "file:$out/console-$run.log" </dev/null >"$out/qemu.out" 2>&1
	rc=$?
	tr -d '\r' <"$out/console-$run.log" >>"$out/console.log"
	log "boot $run: qemu exited $rc after $((SECONDS - tb)) s"
	((rc == 124)) && { log "timed out after $timeout_s s"; break; }
	harness | grep -q "^VMTEST BOOT $run DONE" || { log "boot $run did not finish"; break; }
done
harness >"$out/harness.txt"
cat "$out/harness.txt"
log "boots and checks: $((SECONDS - t1)) s; whole test $((SECONDS - t0)) s"
# What U-Boot's boot.scr said on the console: the slot it chose and the counters.
fails=0 passes=0
check_host() { if eval "$1"; then echo "ok - host: $2"; passes=$((passes + 1)); else echo "FAIL: host: $2"; fails=$((fails + 1)); fi; }
check_host 'grep -q "^qrdesk: booting slot A (BOOT_ORDER=A B BOOT_A_LEFT=2 BOOT_B_LEFT=3)" "$out/console.log"' \
	"U-Boot ran boot.scr and chose slot A, taking one attempt: $(grep '^qrdesk: booting' "$out/console.log" | head -n1)"
((switch)) && check_host 'grep -q "^qrdesk: booting slot B (BOOT_ORDER=B A BOOT_A_LEFT=3 BOOT_B_LEFT=2)" "$out/console.log"' \
	"after RAUC made B primary, boot.scr chose slot B: $(grep '^qrdesk: booting' "$out/console.log" | sed -n 2p)"
done_boots=$(grep -c '^VMTEST BOOT [0-9]* DONE' "$out/harness.txt")
failed=$(($(grep -c '^FAIL' "$out/harness.txt") + fails))
passed=$(($(grep -c '^ok ' "$out/harness.txt") + passes))
if ((done_boots != boots)); then
	log "$done_boots of $boots boots finished; the console's last lines:"
	tail -n 40 "$out/console.log" >&2
	exit 1
fi
echo "$passed passed, $failed failed"
((failed == 0 && passed > 0))

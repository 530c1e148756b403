#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Build the desk's disk image (docs/image.md): Debian 12 from Debian's packages plus the
# qrdesk .deb (and on amd64 qrdesk-kiosk's: the page on the desk's screen), two
# root-file-system slots (A/B) for RAUC, a data partition that survives slot switches,
# GRUB (BIOS) choosing the slot with RAUC's grub backend; or, with --arch arm64, a Raspberry Pi-class board's image: the Pi firmware and U-Boot on a FAT
# partition, U-Boot's boot.scr choosing the slot with RAUC's uboot backend.
#
# Usage: scripts/image.sh [options] DEB_DIR OUT_DIR
#        scripts/image.sh --base-only [--check] [--cache DIR] [DEB_DIR]
#   DEB_DIR            holds qrdesk_*.deb and, for amd64, qrdesk-kiosk_*_all.deb
#                      (scripts/deb.sh DEB_DIR)
#   --keyring PEM      the RAUC keyring: the back office's firmware root certificate
#                      (scripts/firmware-bundle.sh DOMAIN keyring makes it); required
#   --config FILE      /etc/qrdesk/qrdesk.conf for this desk model (default: the
#                      package's, with [usb] mode = automount)
#   --version V        the firmware version (default: the qrdesk package's)
#   --extra DIR        files copied over the root file system last (the VM test's harness)
#   --data DIR         the data partition's initial files (e.g. a provisioned store)
#   --cache DIR        the cached base root file system (default $QRDESK_IMAGE_CACHE,
#                      else ~/.cache/qrdesk/image: outside the tree, kept across clones)
#   --rootfs-only      only OUT_DIR/rootfs.ext4 (a slot image, for a bundle), no disk
#   --arch ARCH        amd64 (default: GRUB, a PC or VM) or arm64 (U-Boot, a Pi 3/4 board);
#                      DEB_DIR then holds qrdesk_*_arm64.deb (scripts/deb-arm64.sh)
#   --base-only        only the cached base (made if missing); no package is needed (the
#                      base is keyed by this script, qrdesk_depends below); with --check,
#                      nothing is made: exit 0 if it is cached, 3 if not
# Writes OUT_DIR/rootfs.ext4 (one slot's file system) and OUT_DIR/disk.img (the whole
# disk, sparse).  Needs root (chroot, mmdebstrap), mmdebstrap, e2fsprogs, fdisk.
#
# Why a plain mmdebstrap + mkfs.ext4 -d + sfdisk script and not mkosi, debos or vmdb2:
# debos needs fakemachine (KVM or user-mode Linux), mkosi 14 (Debian 12's) wants
# systemd-nspawn/loop partition devices, and vmdb2 and grub-install need loop devices
# with partition nodes, which a container without udev does not get (losetup -P makes
# none here).  Every step below works on plain files: the slots and the data partition
# are file systems made from folders (mkfs.ext4 -d), GRUB's core image is written with
# grub-mkimage and dd, and the disk is assembled with dd at sfdisk's offsets.
set -euo pipefail
export LC_ALL=C.UTF-8
here=$(cd "$(dirname "$0")/.." && pwd)
suite=bookworm
mirror=${QRDESK_DEBIAN_MIRROR:-http://deb.debian.org/debian}

keyring="" config="" version="" extra="" data="" cache="" rootfs_only=0 base_only=0 check=0 arch=amd64
while (($# > 0)); do
	case $1 in
	--keyring) keyring=$2 ;;
	--config) config=$2 ;;
	--version) version=$2 ;;
	--extra) extra=$2 ;;
	--data) data=$2 ;;
	--cache) cache=$2 ;;
	--arch) arch=$2 ;;
	--rootfs-only) rootfs_only=1; shift; continue ;;
	--base-only) base_only=1; shift; continue ;;
	--check) check=1; shift; continue ;;
	-*) echo "image: unknown option $1" >&2; exit 64 ;;
	*) break ;;
	esac
	shift 2
done
(($# == 2 || (base_only && $# <= 1))) || { sed -n '9,29p' "$0" >&2; exit 64; }
debs=$(realpath "${1:-.}")
out=$(realpath -m "${2:-.}")
cache=$(realpath -m "${cache:-${QRDESK_IMAGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/qrdesk/image}}")
# Each architecture in its own folder of the cache: its own lock, log, packages and
# clean-up, so the two makers (the test command's amd64 one, image_arm64's) never meet.
[[ $arch == amd64 ]] || cache=$cache/$arch
log() { echo "image: $*" >&2; }
# arm64 programs run on this amd64 host (mmdebstrap's maintainer scripts, the chroot steps
# below) through qemu-user-static, registered with binfmt_misc as its package's
# /usr/lib/binfmt.d file says (the F flag: the interpreter is opened now, so it works in
# the chroot); a container has no systemd-binfmt to do it.
binfmt_arm64() {
	local conf=/usr/lib/binfmt.d/qemu-aarch64.conf fs=/proc/sys/fs/binfmt_misc
	[[ -e $fs/register ]] || mount -t binfmt_misc binfmt_misc "$fs" ||
		{ log "cannot mount binfmt_misc: arm64 programs cannot run here"; return 1; }
	[[ -e $fs/qemu-aarch64 ]] && return 0
	[[ -s $conf ]] || { log "missing $conf: install qemu-user-static"; return 1; }
	cat "$conf" >"$fs/register"
}
((base_only && check)) || [[ $(id -u) -eq 0 ]] || { log "needs root (mmdebstrap, chroot)"; exit 2; }
((base_only)) || [[ -n $keyring && -s $keyring ]] || { log "--keyring PEM is required"; exit 64; }
[[ $arch == amd64 || $arch == arm64 ]] || { log "--arch: amd64 or arm64, not $arch"; exit 64; }
deb="" kiosk_deb=""
if (($# > 0)); then
	deb=$(ls "$debs"/qrdesk_*_"$arch".deb 2>/dev/null | tail -n1)
	[[ -n $deb ]] || { log "no qrdesk_*_$arch.deb in $debs: run scripts/deb.sh (amd64) or scripts/deb-arm64.sh"; exit 2; }
	if [[ $arch == amd64 ]]; then
		kiosk_deb=$(ls "$debs"/qrdesk-kiosk_*_all.deb 2>/dev/null | tail -n1)
		[[ -n $kiosk_deb ]] || { log "no qrdesk-kiosk_*_all.deb in $debs: run scripts/deb.sh"; exit 2; }
	fi
fi
for tool in mmdebstrap mkfs.ext4 sfdisk dpkg-deb; do
	command -v "$tool" >/dev/null || { log "missing $tool: run scripts/install-deps.sh"; exit 2; }
done
[[ -z $deb ]] || version=${version:-$(dpkg-deb -f "$deb" Version)}
t0=$SECONDS

# -- The base root file system, cached by its inputs: the suite, the mirror, the
# image's package list, the qrdesk package's run-time dependencies and this function's
# text.  Only a change in one of those builds it again.  mmdebstrap rather than
# debootstrap: apt downloads in parallel and resolves the set at once, dpkg unpacks
# without what a desk never reads (documentation, man pages, translations; the
# path-excludes stay in the image, so later packages skip them too), and nothing is
# installed that is only recommended.  The downloaded packages stay in CACHE/debs.
# The kernel and the boot loader differ by architecture.  arm64: no GRUB but U-Boot
# (u-boot-rpi: rpi_arm64, one binary for the Pi 3 and 4) and RAUC's access to its
# environment (libubootenv-tool: fw_printenv/fw_setenv).
case $arch in
amd64) boot_packages=(linux-image-amd64 initramfs-tools grub-pc-bin grub-common) ;;
arm64) boot_packages=(linux-image-arm64 initramfs-tools u-boot-rpi libubootenv-tool) ;;
esac
base_packages=(systemd systemd-sysv udev dbus "${boot_packages[@]}"
	rauc rauc-service e2fsprogs dosfstools kmod procps util-linux)
# The kiosk on the desk's screen (the qrdesk-kiosk package: cage and Chromium): the amd64
# image only.  Its Depends, by name and without qrdesk itself, as debian/control says; a
# package whose Depends differ is refused below, as for qrdesk_depends.  The arm64 image has
# no kiosk yet (docs/image.md says why).
kiosk_depends=()
[[ $arch == amd64 ]] && kiosk_depends=(cage chromium fonts-noto-core libpam-systemd polkitd systemd xwayland)
if [[ $arch == arm64 ]]; then
	# mmdebstrap for arm64 on an amd64 host: the packages' maintainer scripts run under
	# qemu-user-static through binfmt_misc (binfmt_arm64 above).  The Pi's boot firmware
	# (raspi-firmware, non-free-firmware) is unpacked, not installed: its kernel hooks copy
	# every kernel onto the FAT partition, where U-Boot must not take it from (the kernel
	# is the slot's).  initramfs-tools gets only the modules a Pi needs for its root
	# (image/arm64/initramfs-tools, before the kernel is configured).  base_make runs
	# mmdebstrap under nice, so these options reach it by a wrapper first on PATH; its text
	# and those files are part of the arm64 base's key.
	arm64_mmdebstrap='#!/bin/sh
exec /usr/bin/mmdebstrap --architectures=arm64 --components=main,non-free-firmware \
	--essential-hook='"'"'mkdir -p "$1/etc/initramfs-tools" && cp -a "$QRDESK_ARM64_INITRAMFS/." "$1/etc/initramfs-tools/"'"'"' \
	--customize-hook='"'"'chroot "$1" sh -c "cd /tmp && apt-get -q download raspi-firmware && dpkg-deb -x raspi-firmware_*.deb rf &&
		mkdir -p /usr/lib/raspi-firmware /usr/share/doc/raspi-firmware && cp -a rf/usr/lib/raspi-firmware/. /usr/lib/raspi-firmware/ &&
		cp rf/usr/share/doc/raspi-firmware/copyright /usr/share/doc/raspi-firmware/ && rm -rf rf raspi-firmware_*.deb"'"'"' \
	"$@"'
fi
# The qrdesk package's run-time dependencies, by name (the first of alternatives, no
# versions): its Depends as dpkg-shlibdeps makes it from the libraries the programs link.
# They are written here rather than read from the .deb so that the base's key needs no
# package: scripts/test.sh makes the base in the background while the tree is still being
# built.  A package whose Depends differ is refused below, saying what to change here.
qrdesk_depends=(libc6 libcurl4 libgcc-s1 libgpiod2 libinih1 libjansson4 libjpeg62-turbo libmbedcrypto7
	libmicrohttpd12 libpng16-16 libsodium23 libsqlite3-0 libstdc++6 libsystemd0 libudev1 libzbar0 libzxing2
	procps systemd)
mapfile -t deb_deps < <(printf '%s\n' "${qrdesk_depends[@]}" "${kiosk_depends[@]}" | sort -u)
depends_match() { # depends_match DEB LIST_NAME NAME...: the package's Depends (but qrdesk) are NAME...
	local pkg=$1 list=$2 want got
	shift 2
	want=$(printf '%s\n' "$@" | sort -u)
	got=$(dpkg-deb -f "$pkg" Depends | tr ',' '\n' | sed -E 's/\(.*\)//; s/\|.*//; s/[[:space:]]//g' |
		grep -vx -e '' -e qrdesk | sort -u)
	[[ $got == "$want" ]] && return 0
	log "$(basename "$pkg") depends on other packages than $list in $0 names;" \
		"the image's base is made from that list: make it the package's ('<' only in the list," \
		"'>' only in the package: $(diff <(echo "$want") <(echo "$got") | grep '^[<>]' | tr '\n' ' '))"
	return 1
}
[[ -z $deb ]] || depends_match "$deb" qrdesk_depends "${qrdesk_depends[@]}" || exit 1
[[ -z $kiosk_deb ]] || depends_match "$kiosk_deb" kiosk_depends "${kiosk_depends[@]}" || exit 1
base_make() { # base_make TARBALL
	log "mmdebstrap $suite (once per package list; cached in $1)"
	mkdir -p "$cache/debs"
	local excl=(/usr/share/doc/\* /usr/share/man/\* /usr/share/info/\* /usr/share/locale/\* /usr/share/lintian/\*)
	TMPDIR=$cache nice -n 10 mmdebstrap --mode=root --variant=minbase --format=tar \
		--aptopt='APT::Install-Recommends "false"' --aptopt='Acquire::Languages "none"' \
		"${excl[@]/#/--dpkgopt=path-exclude=}" --dpkgopt=path-include=/usr/share/doc/\*/copyright \
		--dpkgopt=path-include=/usr/share/locale/locale.alias \
		--include="$(IFS=,; echo "${base_packages[*]},${deb_deps[*]}")" \
		--skip=download/empty \
		--setup-hook='mkdir -p "$1/var/cache/apt/archives"' \
		--setup-hook="find '$cache/debs' -name '*.deb' -exec cp -l -t \"\$1/var/cache/apt/archives/\" {} + 2>/dev/null || find '$cache/debs' -name '*.deb' -exec cp -t \"\$1/var/cache/apt/archives/\" {} +" \
		--customize-hook="find \"\$1/var/cache/apt/archives\" -maxdepth 1 -name '*.deb' -exec cp -n -t '$cache/debs/' {} +" \
		"$suite" "$1.tmp" "$mirror" >"$cache/mmdebstrap.log" 2>&1 || {
		tail -20 "$cache/mmdebstrap.log" >&2
		return 1
	}
	mv "$1.tmp" "$1"
}
base_key=$({
	printf '%s\n' "$suite" "$mirror" "${base_packages[@]}" "${deb_deps[@]}"
	declare -f base_make
	[[ $arch == amd64 ]] || { echo "$arm64_mmdebstrap"; tar -C "$here/image/arm64/initramfs-tools" -c --sort=name --owner=0 \
		--group=0 --mtime=@0 . | sha256sum; }
} | sha256sum | cut -c1-16)
base=$cache/base-$base_key.tar
if ((base_only && check)); then
	echo "$base"
	[[ -s $base ]] && exit 0
	exit 3
fi
mkdir -p "$cache"
if [[ $arch == arm64 ]]; then
	binfmt_arm64 || exit 2
	mkdir -p "$cache/arm64-bin"
	printf '%s\n' "$arm64_mmdebstrap" >"$cache/arm64-bin/mmdebstrap"
	chmod 0755 "$cache/arm64-bin/mmdebstrap"
	PATH=$cache/arm64-bin:$PATH
	export QRDESK_ARM64_INITRAMFS=$here/image/arm64/initramfs-tools
fi
# One maker at a time per cache folder (it may be shared by build directories and clones).
lock=$cache/lock
exec {lockfd}>"$lock"
# Waiting for another maker is bounded (a hang guard, as scripts/test.sh bounds its own maker).
lock_wait=${QRDESK_IMAGE_BASE_DEADLINE:-3000}
flock -n "$lockfd" || {
	log "another maker holds $lock: waiting for it (at most $lock_wait s; its log: $cache/mmdebstrap.log)"
	flock -w "$lock_wait" "$lockfd" || { log "another maker still holds $lock after $lock_wait s: giving up"; exit 1; }
}
if [[ ! -s $base ]]; then
	base_make "$base" || { log "mmdebstrap failed; its log: $cache/mmdebstrap.log"; exit 1; }
fi
# Bases of other package lists go once unused for two weeks (another checkout may use one).
touch "$base"
find "$cache" -maxdepth 1 -name 'base-*.tar' ! -name "base-$base_key.tar" -mtime +14 -delete
flock -u "$lockfd"
log "base root file system $base_key ($((SECONDS - t0)) s)"
if ((base_only)); then
	echo "$base"
	exit 0
fi
mkdir -p "$out"

# -- The slot's root file system: the base, the qrdesk package, the desk's settings.
work=$out/work
root=$work/root
umount_all() {
	for m in dev/pts dev proc sys; do mountpoint -q "$root/$m" 2>/dev/null && umount -l "$root/$m"; done
	return 0
}
trap umount_all EXIT
umount_all
rm -rf "$work"
mkdir -p "$root"
tar --numeric-owner --xattrs -C "$root" -xf "$base"
mount -t proc proc "$root/proc"
mount -t sysfs sysfs "$root/sys"
mount --bind /dev "$root/dev"
in_root() { chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 "$@"; }
cp "$deb" ${kiosk_deb:+"$kiosk_deb"} "$root/tmp/"
pkgs=("/tmp/$(basename "$deb")")
[[ -z $kiosk_deb ]] || pkgs+=("/tmp/$(basename "$kiosk_deb")")
if ! in_root dpkg -i "${pkgs[@]}" >"$work/dpkg.log" 2>&1; then
	# A dependency newer than the cached base: apt fetches it (and its own).
	log "qrdesk needs packages the base lacks: apt-get install -f"
	cp /etc/resolv.conf "$root/etc/resolv.conf"
	{ in_root apt-get -q update && in_root env DEBIAN_FRONTEND=noninteractive apt-get -q -y -f install --no-install-recommends; } \
		>>"$work/dpkg.log" 2>&1 || { cat "$work/dpkg.log" >&2; exit 1; }
	rm -f "$root/etc/resolv.conf" "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*_Packages
fi
rm -f "$root/tmp/"*.deb
qrdesk_ids=$(in_root id -u qrdesk):$(in_root id -g qrdesk)
cp -a "$here/image/rootfs/." "$root/"
# arm64: RAUC's uboot backend, U-Boot's environment on the FAT partition (image/arm64/rootfs).
[[ $arch == amd64 ]] || cp -a "$here/image/$arch/rootfs/." "$root/"
install -m 0644 "$keyring" "$root/etc/rauc/keyring.pem"
if [[ -n $config ]]; then
	install -m 0644 "$config" "$root/etc/qrdesk/qrdesk.conf"
else
	# The package's configuration, sticks mounted by the image's udev rule.
	sed -i -E '/^\[usb\]/,/^\[/ { s|^mode = .*|mode = automount|; s|^watch_dir =.*|watch_dir = /run/media/qrdesk| }' \
		"$root/etc/qrdesk/qrdesk.conf"
	# The kiosk browser gets the daemon's display listener, served to its user only
	# (README.Debian, "The kiosk on the desk's screen").
	[[ -z $kiosk_deb ]] || sed -i -E '/^\[kiosk\]/,/^\[/ { s|^display_port = .*|display_port = 8081|;
		s|^display_user =.*|display_user = qrdesk-kiosk| }' "$root/etc/qrdesk/qrdesk.conf"
fi
in_root qrdeskd --check-config /etc/qrdesk/qrdesk.conf >&2 || { log "qrdeskd refuses the configuration"; exit 1; }
# The unit opens only the devices this configuration names (docs/daemon.md).
mkdir -p "$root/etc/systemd/system/qrdeskd.service.d"
in_root qrdeskd --unit-devices /etc/qrdesk/qrdesk.conf >"$root/etc/systemd/system/qrdeskd.service.d/devices.conf"
if [[ -n $kiosk_deb ]]; then
	# The kiosk browser shows the display listener when the configuration has one (the
	# package's unit defaults to the kiosk's port, 8080), and starts when a DRM card appears.
	dport=$(sed -n -E '/^\[kiosk\]/,/^\[/ s|^display_port[[:space:]]*=[[:space:]]*([0-9]+).*|\1|p' "$root/etc/qrdesk/qrdesk.conf")
	if [[ -n $dport && $dport != 0 ]]; then
		printf 'QRDESK_KIOSK_URL=http://127.0.0.1:%s/\n' "$dport" >"$root/etc/qrdesk/kiosk.env"
	fi
	cp -a "$here/image/kiosk/." "$root/"
	# Chromium's profile (the unit's StateDirectory) is volatile like the rest of /var: a
	# fresh one at each boot, on the read-only root where systemd cannot make the folder.
	mkdir -p "$root/var/lib/qrdesk-kiosk"
	printf '%s\n' '# The kiosk browser'"'"'s profile (qrdesk-kiosk.service'"'"'s StateDirectory), fresh at each boot.' \
		'tmpfs              /var/lib/qrdesk-kiosk tmpfs nosuid,nodev,mode=0700,size=256M  0 0' >>"$root/etc/fstab"
fi
printf 'VERSION=%s\nCOMPATIBLE=qrdesk-desk-%s\n' "$version" "$arch" >"$root/etc/qrdesk-firmware"
echo qrdesk >"$root/etc/hostname"
mkdir -p "$root/data" "$root/run/media"
if [[ $arch == amd64 ]]; then
	mkdir -p "$root/boot/loader"
else
	# U-Boot loads the kernel, initramfs and device tree from the slot it boots, the device
	# tree by the name U-Boot gives the board (fdtfile, e.g. broadcom/bcm2711-rpi-4-b.dtb)
	# under a path that does not change with the kernel's version.
	mkdir -p "$root/boot/firmware" "$root/boot/dtbs"
	cp -a "$(ls -d "$root"/usr/lib/linux-image-*/broadcom | tail -n1)" "$root/boot/dtbs/"
fi
in_root systemctl enable qrdeskd.service qrdesk-slot-check.service qrdesk-firmware-record.service \
	${kiosk_deb:+qrdesk-kiosk.service} >/dev/null 2>&1
# A desk has no console login: root stays locked (mmdebstrap leaves no password).
in_root passwd -l root >/dev/null
# The machine id is made afresh at each boot (a read-only root: systemd mounts it from /run).
: >"$root/etc/machine-id"
rm -f "$root/var/lib/dbus/machine-id"
ln -s /etc/machine-id "$root/var/lib/dbus/machine-id"
[[ -z $extra ]] || cp -a "$extra/." "$root/"
umount_all
# Boot-time jobs that would rewrite the read-only root see it as already up to date.
touch "$root/etc/.updated" "$root/var/.updated"
rm -rf "$root/tmp/"* "$root/var/tmp/"* "$root/var/log/"*
root_mb=$(du -sm "$root" | cut -f1)
fs_mb=$((root_mb + root_mb / 4 + 64))
rm -f "$out/rootfs.ext4"
nice -n 10 mkfs.ext4 -q -L qrdesk-root -O ^has_journal -d "$root" "$out/rootfs.ext4" "${fs_mb}M"
log "rootfs.ext4: ${fs_mb} MiB, $root_mb MiB used, version $version ($((SECONDS - t0)) s)"
if ((rootfs_only)); then
	rm -rf "$work"
	exit 0
fi

# -- The disk: MBR, boot + slot A + slot B + data (docs/image.md).
disk_id=0de5c0de
boot_mb=64 slot_mb=${QRDESK_SLOT_MB:-2560} data_mb=256
((fs_mb <= slot_mb)) || { log "the root file system ($fs_mb MiB) does not fit a slot ($slot_mb MiB)"; exit 1; }
boot_type=83
if [[ $arch == amd64 ]]; then
	grubdir=$work/boot/grub
	mkdir -p "$grubdir/i386-pc"
	cp "$root"/usr/lib/grub/i386-pc/*.mod "$root"/usr/lib/grub/i386-pc/*.lst "$grubdir/i386-pc/"
	sed -e "s/@DISKID@/$disk_id/" -e "s|@CMDLINE@|console=tty0 console=ttyS0,115200 panic=10|" \
		"$here/image/grub.cfg" >"$grubdir/grub.cfg"
	mkdir -p "$root/tmp/boot"
	in_root grub-editenv /tmp/boot/grubenv create
	in_root grub-editenv /tmp/boot/grubenv set ORDER="A B" A_OK=1 A_TRY=0 B_OK=0 B_TRY=0
	mv "$root/tmp/boot/grubenv" "$grubdir/grubenv"
	# GRUB's core image finds its modules and grub.cfg on the boot partition (the first).
	in_root grub-mkimage -O i386-pc -o /tmp/boot/core.img -p '(hd0,msdos1)/grub' \
		biosdisk part_msdos ext2 normal configfile linux echo test loadenv
	mv "$root/tmp/boot/core.img" "$work/core.img"
	core_sectors=$((($(stat -c %s "$work/core.img") + 511) / 512))
	((core_sectors < 2047)) || { log "GRUB's core image ($core_sectors sectors) does not fit before the first partition"; exit 1; }
	rm -f "$out/boot.ext4" "$out/data.ext4"
	mkfs.ext4 -q -L qrdesk-boot -d "$work/boot" "$work/boot.ext4" "${boot_mb}M"
	boot_part=$work/boot.ext4
else
	# The Pi's boot partition (FAT, type 0x0c): the board's firmware (start*.elf, fixup*.dat,
	# bootcode.bin for the Pi 3, the device trees it hands on), config.txt starting U-Boot,
	# U-Boot and its boot.scr (image/arm64/boot.cmd, the slot choice).  U-Boot keeps its
	# environment in uboot.env here, made by its first saveenv (boot.scr's first run): a
	# uboot.env made beforehand would replace U-Boot's whole default environment.
	boot_type=c
	fat=$work/fat
	mkdir -p "$fat"
	cp -a "$root"/usr/lib/raspi-firmware/. "$fat/"
	cp "$root"/boot/dtbs/broadcom/bcm27*.dtb "$root"/boot/dtbs/broadcom/bcm2837*.dtb "$fat/"
	cp "$root/usr/lib/u-boot/rpi_arm64/u-boot.bin" "$fat/"
	printf '%s\n' '# The Pi firmware starts U-Boot (docs/image.md).' arm_64bit=1 kernel=u-boot.bin enable_uart=1 \
		>"$fat/config.txt"
	sed -e "s/@DISKID@/$disk_id/" "$here/image/arm64/boot.cmd" >"$work/boot.cmd"
	mkimage -A arm64 -O linux -T script -C none -n "qrdesk slot choice" -d "$work/boot.cmd" "$fat/boot.scr" >/dev/null
	boot_part=$work/boot.vfat
	rm -f "$boot_part"
	mkfs.vfat -C -F 32 -n QRDESK-BOOT "$boot_part" $((boot_mb * 1024)) >/dev/null
	MTOOLS_SKIP_CHECK=1 mcopy -s -i "$boot_part" "$fat"/* ::/
fi
datadir=$work/data
mkdir -p "$datadir/qrdesk" "$datadir/rauc"
if [[ -n $data ]]; then
	# What lies in the data's qrdesk/ folder (a provisioned store) is the daemon's: its
	# user's uid as sysusers made it in this image.  The folder itself stays as it is;
	# systemd-tmpfiles gives it to qrdesk at boot.
	cp -a "$data/." "$datadir/"
	find "$datadir/qrdesk" -mindepth 1 -exec chown "$qrdesk_ids" {} +
fi
mkfs.ext4 -q -L qrdesk-data -d "$datadir" "$work/data.ext4" "${data_mb}M"

disk=$out/disk.img
rm -f "$disk"
truncate -s $((1 + boot_mb + 2 * slot_mb + data_mb))M "$disk"
sfdisk -q "$disk" <<SFDISK
label: dos
label-id: 0x$disk_id
unit: sectors
start=2048, size=$((boot_mb * 2048)), type=$boot_type, bootable
size=$((slot_mb * 2048)), type=83
size=$((slot_mb * 2048)), type=83
size=$((data_mb * 2048)), type=83
SFDISK
put() { dd if="$1" of="$disk" bs=1M seek="$2" conv=notrunc,sparse status=none; }
put "$boot_part" 1
put "$out/rootfs.ext4" $((1 + boot_mb))
put "$work/data.ext4" $((1 + boot_mb + 2 * slot_mb))
# GRUB's boot sector (its code only: the partition table stays) and core image right
# after it; boot.img reads its next stage from sector 1 and core.img's own first sector
# lists the rest from sector 2, which is where they lie.
if [[ $arch == amd64 ]]; then
	dd if="$root/usr/lib/grub/i386-pc/boot.img" of="$disk" bs=440 count=1 conv=notrunc status=none
	dd if="$work/core.img" of="$disk" bs=512 seek=1 conv=notrunc status=none
fi
printf 'DISK_ID=%s\nBOOT_MB=%s\nSLOT_MB=%s\nDATA_MB=%s\nVERSION=%s\nARCH=%s\n' "$disk_id" "$boot_mb" "$slot_mb" "$data_mb" \
	"$version" "$arch" >"$out/image.env"
rm -rf "$work"
log "disk.img: $((1 + boot_mb + 2 * slot_mb + data_mb)) MiB (sparse: $(du -h "$disk" | cut -f1)), version $version ($((SECONDS - t0)) s)"

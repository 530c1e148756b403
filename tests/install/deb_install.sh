#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Install test: build the Debian packages (scripts/deb.sh: dpkg-buildpackage, then lintian,
# which must report no error), install them with apt into a throwaway Debian 12 root made
# by debootstrap, and check the result as systemd would see it on a desk:
#   - the files land where the unit expects them, the conffile is registered, the postinst
#     made the qrdesk user, its groups and /var/lib/qrdesk (sysusers.d, tmpfiles.d);
#   - qrdeskd --check-config /etc/qrdesk/qrdesk.conf passes inside the root (chroot);
#   - systemd-analyze verify accepts the unit, and systemd-analyze security rates it
#     2.0 or lower ("OK"); the figure is written to OUT/exposure.txt (docs/daemon.md).
# Also: debian/control's Build-Depends hold every build and library package of
# scripts/install-deps.sh.
#
# Why debootstrap rather than `dpkg --root`: the check must run qrdeskd inside the root, so
# the root needs the packages' run-time libraries and systemd-sysusers/-tmpfiles for the
# postinst, i.e. a real Debian system with apt resolving the Depends.  The minimal base
# (and apt's downloaded packages) are cached under OUT, so a rerun takes about a minute.
#
# Usage: deb_install.sh SOURCE_DIR OUT_DIR         (needs root: debootstrap and chroot)
set -euo pipefail
src=$(realpath "$1")
out=$(realpath -m "$2")
mirror=${QRDESK_DEBIAN_MIRROR:-http://deb.debian.org/debian}
start=$SECONDS

if [[ $(id -u) -ne 0 ]]; then
	echo "deb_install: SKIP: needs root (debootstrap, chroot, dpkg in the throwaway root)"
	exit 77
fi
for tool in debootstrap dpkg-buildpackage lintian systemd-analyze; do
	command -v "$tool" >/dev/null || {
		echo "deb_install: $tool is missing: run scripts/install-deps.sh" >&2
		exit 1
	}
done
mkdir -p "$out"

# -- Build-Depends cover install-deps.sh's build and library packages.
mapfile -t wanted < <(awk '/^\t# build/ {on = 1; next} /^\t# tests/ {on = 0} on && !/^\t#/' \
	"$src/scripts/install-deps.sh" | tr -s ' \t' '\n' | grep -Ev '^$|^(build-essential|clang-format)$')
build_deps=$(sed -n '/^Build-Depends:/,/^[A-Z]/p' "$src/debian/control" | tr ',' '\n' |
	sed -E 's/^Build-Depends://; s/\(.*\)//; s/^[[:space:]]+//; s/[[:space:]]+$//')
for p in "${wanted[@]}"; do
	grep -qx "$p" <<<"$build_deps" || {
		echo "deb_install: $p is in scripts/install-deps.sh but not in debian/control's Build-Depends" >&2
		exit 1
	}
done
echo "deb_install: Build-Depends hold install-deps.sh's ${#wanted[@]} build and library packages"

# -- the packages
"$src/scripts/deb.sh" "$out/deb" >"$out/deb.log" 2>&1 || {
	cat "$out/deb.log" >&2
	exit 1
}
grep -E '^[EW]: ' "$out/deb/lintian.txt" || true
echo "deb_install: packages built, lintian: $(grep -c '^E: ' "$out/deb/lintian.txt" || true) errors," \
	"$(grep -c '^W: ' "$out/deb/lintian.txt" || true) warnings ($((SECONDS - start)) s)"

# -- the throwaway root: a cached minbase bookworm with systemd, unpacked afresh each run
base=$out/bookworm-minbase.tar
if [[ ! -s $base ]]; then
	echo "deb_install: debootstrap bookworm (once; cached in $base)"
	rm -rf "$out/bootstrap"
	debootstrap --variant=minbase --include=systemd bookworm "$out/bootstrap" "$mirror" \
		>"$out/debootstrap.log" 2>&1 || {
		tail -20 "$out/debootstrap.log" >&2
		exit 1
	}
	tar -C "$out/bootstrap" -cf "$base.tmp" . && mv "$base.tmp" "$base"
	rm -rf "$out/bootstrap"
fi
root=$out/root
cleanup() {
	umount "$root/proc" 2>/dev/null || true
	rm -rf "$root"
}
trap cleanup EXIT
cleanup
mkdir -p "$root" "$out/archives"
tar -C "$root" -xf "$base"
mount -t proc proc "$root/proc"
cp /etc/resolv.conf "$root/etc/resolv.conf"
cp "$out/archives/"*.deb "$root/var/cache/apt/archives/" 2>/dev/null || true
debs=()
for f in "$out"/deb/qrdesk_*.deb "$out"/deb/qrdesk-issuer_*.deb; do
	cp "$f" "$root/tmp/"
	debs+=("/tmp/$(basename "$f")")
done
in_root() { chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 "$@"; }
in_root apt-get -qq update >"$out/apt.log" 2>&1 || {
	cat "$out/apt.log" >&2
	exit 1
}
in_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
	"${debs[@]}" >>"$out/apt.log" 2>&1 || {
	tail -30 "$out/apt.log" >&2
	exit 1
}
cp "$root"/var/cache/apt/archives/*.deb "$out/archives/" 2>/dev/null || true
echo "deb_install: installed in a throwaway bookworm root ($((SECONDS - start)) s)"

# -- what landed where
failures=0
fail() {
	echo "deb_install: $*" >&2
	failures=$((failures + 1))
}
unit=/lib/systemd/system/qrdeskd.service
for f in /usr/sbin/qrdeskd /usr/bin/qrdeskctl /usr/bin/qrdesk-issuer; do
	[[ -x $root$f ]] || fail "$f is not installed"
done
for f in $unit /lib/udev/rules.d/60-qrdesk.rules /usr/lib/sysusers.d/qrdesk.conf \
	/usr/lib/tmpfiles.d/qrdesk.conf /etc/qrdesk/qrdesk.conf /usr/share/man/man8/qrdeskd.8.gz \
	/usr/share/man/man8/qrdeskctl.8.gz /usr/share/man/man5/qrdesk.conf.5.gz \
	/usr/share/man/man1/qrdesk-issuer.1.gz; do
	[[ -f $root$f ]] || fail "$f is not installed"
done
in_root dpkg-query -W -f='${Conffiles}\n' qrdesk | grep -q '^ /etc/qrdesk/qrdesk.conf ' ||
	fail "/etc/qrdesk/qrdesk.conf is not a conffile"
# Every program the unit starts exists in the root.
while read -r exe; do
	[[ -x $root$exe ]] || fail "the unit runs $exe, which is not installed"
done < <(sed -nE 's/^Exec[A-Za-z]*=[-@+!:]*([^ ]+).*/\1/p' "$root$unit")
# The unit's user and groups exist (made by the postinst from sysusers.d).
user=$(sed -n 's/^User=//p' "$root$unit")
in_root getent passwd "$user" >/dev/null || fail "the unit's User=$user does not exist"
for g in $(sed -n 's/^Group=//p; s/^SupplementaryGroups=//p' "$root$unit"); do
	in_root getent group "$g" >/dev/null || fail "the unit's group $g does not exist"
done
in_root id -nG "$user" | tr ' ' '\n' | grep -qx gpio || fail "$user is not in group gpio"
# The state directory (tmpfiles.d) belongs to the user, and the default config's store and
# socket lie in the unit's StateDirectory= and RuntimeDirectory=.
[[ $(in_root stat -c %U /var/lib/qrdesk) == "$user" ]] || fail "/var/lib/qrdesk is not owned by $user"
state=/var/lib/$(sed -n 's/^StateDirectory=//p' "$root$unit")
runtime=/run/$(sed -n 's/^RuntimeDirectory=//p' "$root$unit")
store=$(sed -n 's/^store *= *//p' "$root/etc/qrdesk/qrdesk.conf")
socket=$(sed -n 's/^control_socket *= *//p' "$root/etc/qrdesk/qrdesk.conf")
[[ $(dirname "$store") == "$state" ]] || fail "store $store is not in StateDirectory $state"
[[ $(dirname "$socket") == "$runtime" ]] || fail "control_socket $socket is not in RuntimeDirectory $runtime"
grep -q "^ReadWritePaths=.*$state" "$root$unit" || fail "$state is not in ReadWritePaths"

# -- the daemon accepts the shipped configuration, run as it runs under systemd
in_root runuser -u "$user" -- /usr/sbin/qrdeskd --check-config /etc/qrdesk/qrdesk.conf ||
	fail "qrdeskd --check-config /etc/qrdesk/qrdesk.conf failed in the root"
in_root /usr/bin/qrdesk-issuer --help >/dev/null || fail "qrdesk-issuer does not run in the root"

# -- systemd's view of the unit
# (Documentation= man pages are looked up with man(1) on this host: point it at the root's.)
if ! verify=$(MANPATH=$root/usr/share/man systemd-analyze verify --root="$root" qrdeskd.service 2>&1) ||
	[[ -n $verify ]]; then
	fail "systemd-analyze verify: $verify"
fi
security=$(systemd-analyze security --offline=true --root="$root" qrdeskd.service 2>&1) ||
	fail "systemd-analyze security failed: $security"
echo "$security" >"$out/security.txt"
overall=$(grep -o 'Overall exposure level for qrdeskd.service: .*' <<<"$security" || true)
echo "deb_install: $overall"
exposure=$(grep -oE '[0-9]+\.[0-9]+' <<<"$overall" | head -1)
if [[ -z $exposure ]] || ! awk -v e="$exposure" 'BEGIN { exit !(e <= 2.0) }'; then
	fail "exposure ${exposure:-?} is above the target 2.0 (the ✗ lines in $out/security.txt say why)"
fi
printf '%s\n' "$exposure" >"$out/exposure.txt"

if ((failures)); then
	echo "deb_install: $failures check(s) failed" >&2
	exit 1
fi
echo "deb_install: all checks passed ($((SECONDS - start)) s)"

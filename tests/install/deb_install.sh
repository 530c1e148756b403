#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Install test: build the Debian packages (scripts/deb.sh: dpkg-buildpackage, then lintian,
# which must report no error), install them with apt into a throwaway Debian 12 root made
# by debootstrap, and check the result as systemd would see it on a desk:
#   - the files land where the unit expects them, the conffile is registered, the postinst
#     made the qrdesk user, its groups and /var/lib/qrdesk (sysusers.d, tmpfiles.d);
#   - qrdeskd --check-config /etc/qrdesk/qrdesk.conf passes inside the root (chroot);
#   - systemd-analyze verify accepts the unit, and systemd-analyze security rates it
#     1.7 or lower ("OK"); the figure is written to OUT/exposure.txt (docs/daemon.md);
#   - then debian/README.Debian's set-up, step by step, in the root: time sync, the
#     configuration, provisioning from the back office's root.pub and repository as the
#     qrdesk user (and the "Permission denied" it warns of), sync and upload with a CA
#     file, the operators' group, the devices drop-in, the daemon started, and
#     `qrdeskctl doctor` reporting no fail.  What a throwaway root cannot do (a running
#     systemd, GPIO, a scanner, a screen) is said where the step is.
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

# -- Build-Depends cover install-deps.sh's build and library packages: its demo_packages
# array (the compiler and every library the programs link), read by bash itself so that
# comments and line breaks inside the array do not matter.  build-essential is implied for
# every Debian build (and debhelper-compat pulls in the rest); it is never listed.
mapfile -t wanted < <(bash -c 'eval "$(sed -n "/^demo_packages=(/,/^)/p" "$1")"
	printf "%s\n" "${demo_packages[@]}"' _ "$src/scripts/install-deps.sh" | grep -vx 'build-essential')
if ((${#wanted[@]} < 5)); then
	echo "deb_install: cannot read demo_packages from scripts/install-deps.sh (${#wanted[@]} packages)" >&2
	exit 1
fi
build_deps=$(sed -n '/^Build-Depends:/,/^[A-Z]/p' "$src/debian/control" | tr ',' '\n' |
	sed -E 's/^Build-Depends://; s/\(.*\)//; s/^[[:space:]]+//; s/[[:space:]]+$//')
for p in "${wanted[@]}"; do
	grep -qx "$p" <<<"$build_deps" || {
		echo "deb_install: $p is in scripts/install-deps.sh but not in debian/control's Build-Depends" >&2
		exit 1
	}
done
echo "deb_install: Build-Depends hold install-deps.sh's ${#wanted[@]} build and library packages"

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
daemon_pid=
cleanup() {
	if [[ -n $daemon_pid ]]; then
		kill -TERM "$daemon_pid" 2>/dev/null || true
		wait "$daemon_pid" 2>/dev/null || true
	fi
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
# docs/security.md: other local users cannot read the store.
[[ $(in_root stat -c %a /var/lib/qrdesk) == 750 ]] || fail "/var/lib/qrdesk is not mode 0750"
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
if [[ -z $exposure ]] || ! awk -v e="$exposure" 'BEGIN { exit !(e <= 1.7) }'; then
	fail "exposure ${exposure:-?} is above the target 1.7 (the ✗ lines in $out/security.txt say why)"
fi
printf '%s\n' "$exposure" >"$out/exposure.txt"

# -- README.Debian, step by step (the numbers are its sections) --------------------------
conf=/etc/qrdesk/qrdesk.conf
set_key() { # set_key SECTION KEY VALUE: edit the root's qrdesk.conf as a technician would
	python3 - "$root$conf" "$1" "$2" "$3" <<'PY'
import re, sys
path, section, key, value = sys.argv[1:]
lines = open(path).read().split("\n")
cur = None
for i, line in enumerate(lines):
    m = re.match(r"\[\s*([a-z]+)\s*\]", line)
    if m:
        cur = m.group(1)
    elif cur == section and re.match(rf"{key}\s*=", line):
        lines[i] = f"{key} = {value}"
        break
else:
    sys.exit(f"no {key} in [{section}]")
open(path, "w").write("\n".join(lines))
PY
}
step() { echo "deb_install: README.Debian $*"; }

# 1. Install: done above for qrdesk and qrdesk-issuer.  qrdesk-kiosk would pull Chromium
# and cage (hundreds of MB) into every run; its unit is run by ctest kiosk_display, and
# here its package must hold the unit, launcher, PAM file and user.
step "1: install"
kiosk_deb=$(ls "$out"/deb/qrdesk-kiosk_*.deb 2>/dev/null | head -1)
if [[ -z $kiosk_deb ]]; then
	fail "no qrdesk-kiosk package was built"
else
	kiosk_files=$(dpkg-deb -c "$kiosk_deb")
	for f in ./lib/systemd/system/qrdesk-kiosk.service ./usr/libexec/qrdesk/qrdesk-kiosk \
		./etc/pam.d/qrdesk-kiosk ./usr/lib/sysusers.d/qrdesk-kiosk.conf; do
		grep -q " $f\$" <<<"$kiosk_files" || fail "qrdesk-kiosk lacks $f"
	done
	dpkg-deb -f "$kiosk_deb" Depends | grep -q 'cage' || fail "qrdesk-kiosk does not depend on cage"
fi

# 2. Time: systemd-timesyncd installed and enabled (no systemd runs in the root, so
# `--now` and `timedatectl set-ntp` have nothing to talk to: doctor's clock line warns).
step "2: time sync"
in_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
	systemd-timesyncd >>"$out/apt.log" 2>&1 || fail "apt-get install systemd-timesyncd failed"
in_root systemctl enable systemd-timesyncd >/dev/null 2>&1 || fail "systemctl enable systemd-timesyncd failed"
[[ -L $root/etc/systemd/system/sysinit.target.wants/systemd-timesyncd.service ]] ||
	fail "systemd-timesyncd is not enabled"
cp "$root"/var/cache/apt/archives/*.deb "$out/archives/" 2>/dev/null || true

# 3. Configure.  No GPIO chip here: the simulated lights; the scanner by its USB id (the
# daemon waits for it); the kiosk on a free port, since the root shares this host's network.
step "3: configure"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
set_key desk desk_id DAC-T1-07
set_key indicators backend sim
set_key hid device 05e0:1200
set_key kiosk port "$port"
in_root qrdeskd --check-config "$conf" || fail "qrdeskd --check-config after step 3"

# 4. Provision.  The back office's tool (installed here too) makes the domain and the
# repository in /root, as an office would hand them over.
step "4: provision from root.pub and the repository"
in_root qrdesk-issuer init /root/bo >/dev/null || fail "qrdesk-issuer init"
in_root qrdesk-issuer publish /root/bo /root/repo >/dev/null || fail "qrdesk-issuer publish"
openssl rand -hex 32 >"$root/root/audit.key"
store=/var/lib/qrdesk/desk.db
# The failure README.Debian warns of: files left in /root.
if in_root runuser -u qrdesk -- qrdeskctl provision --store $store --root /root/bo/root.pub \
	>"$out/provision-root.txt" 2>&1; then
	fail "provisioning as qrdesk from /root worked: README.Debian says it does not"
else
	grep -qi 'permission denied' "$out/provision-root.txt" ||
		fail "provisioning from /root failed, but not with Permission denied: $(cat "$out/provision-root.txt")"
fi
rm -f "$root$store"
in_root install -d -o root -g qrdesk -m 0750 /var/lib/qrdesk/handover || fail "install -d handover"
in_root sh -c 'install -o root -g qrdesk -m 0640 /root/bo/root.pub /root/audit.key /root/repo/*.cose /var/lib/qrdesk/handover/' ||
	fail "install the handover files"
in_root runuser -u qrdesk -- qrdeskctl provision --store $store \
	--root /var/lib/qrdesk/handover/root.pub --audit-key /var/lib/qrdesk/handover/audit.key \
	>/dev/null || fail "qrdeskctl provision as qrdesk"
in_root runuser -u qrdesk -- sh -c "qrdeskctl import --store $store /var/lib/qrdesk/handover/*.cose" \
	>/dev/null || fail "qrdeskctl import as qrdesk"
in_root runuser -u qrdesk -- qrdeskctl show --store $store >"$out/show.txt" || fail "qrdeskctl show"
[[ $(in_root stat -c %U $store) == qrdesk ]] || fail "the store is not qrdesk's"
[[ $(in_root stat -c %U:%a /var/lib/qrdesk/audit.key) == qrdesk:600 ]] ||
	fail "the audit key is not qrdesk's, mode 0600"
[[ $(tr -d '[:space:]' <"$root/root/audit.key") == $(tr -d '[:space:]' <"$root/var/lib/qrdesk/audit.key") ]] ||
	fail "the installed audit key is not the deployment's"
rm -r "$root/var/lib/qrdesk/handover"

# 5. Sync and upload.  The repository and the upload endpoint are not reachable from here
# (doctor's sync line warns "last sync failed", which is what a desk without network shows).
step "5: sync and upload"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout /dev/null \
	-subj /CN=qrdesk-test-ca -days 2 -out "$out/repo-ca.pem" 2>/dev/null || fail "a test CA"
cp "$out/repo-ca.pem" "$root/root/repo-ca.pem"
in_root install -o root -g qrdesk -m 0640 /root/repo-ca.pem /etc/qrdesk/repo-ca.pem || fail "install the CA"
set_key sync url https://repo.invalid/qrdesk
set_key sync ca_file /etc/qrdesk/repo-ca.pem
set_key upload url https://audit.invalid/qrdesk/upload
set_key upload ca_file /etc/qrdesk/repo-ca.pem

# 6. The operators' group.
step "6: operators' group"
in_root groupadd --system qrdesk-ops || fail "groupadd qrdesk-ops"
in_root useradd --create-home officer1 || fail "useradd officer1"
in_root usermod -aG qrdesk-ops officer1 || fail "usermod -aG qrdesk-ops officer1"
in_root usermod -aG qrdesk-ops qrdesk || fail "usermod -aG qrdesk-ops qrdesk"
set_key desk control_group qrdesk-ops
in_root qrdeskd --check-config "$conf" || fail "qrdeskd --check-config after steps 5 and 6"

# 7. The devices drop-in and the daemon.  No systemd runs here: `enable` is done offline,
# and the daemon is started as the unit would start it (its user, its config).
step "7: devices and the daemon"
mkdir -p "$root/etc/systemd/system/qrdeskd.service.d"
in_root qrdeskd --unit-devices "$conf" >"$root/etc/systemd/system/qrdeskd.service.d/devices.conf" ||
	fail "qrdeskd --unit-devices"
grep -q '^DeviceAllow=' "$root/etc/systemd/system/qrdeskd.service.d/devices.conf" ||
	fail "the devices drop-in allows nothing"
in_root systemctl enable qrdeskd >/dev/null 2>&1 || fail "systemctl enable qrdeskd"
[[ -L $root/etc/systemd/system/multi-user.target.wants/qrdeskd.service ]] || fail "qrdeskd is not enabled"
in_root setpriv --reuid=qrdesk --regid=qrdesk --init-groups \
	/usr/sbin/qrdeskd --config "$conf" >"$out/daemon.log" 2>&1 &
daemon_pid=$!
for _ in $(seq 200); do
	[[ -S $root/run/qrdesk/control.sock ]] && break
	kill -0 $daemon_pid 2>/dev/null || break
	sleep 0.1
done
[[ -S $root/run/qrdesk/control.sock ]] || fail "the daemon made no control socket: $(tail -5 "$out/daemon.log")"
[[ $(in_root stat -c %G /run/qrdesk/control.sock) == qrdesk-ops ]] ||
	fail "the control socket is not the operators' group's"
in_root runuser -u officer1 -- qrdeskctl status >/dev/null ||
	fail "an operator (group qrdesk-ops) cannot use qrdeskctl status"

# 8. The kiosk: qrdesk-kiosk is not installed here (step 1); doctor's kiosk unit line warns.
# 10. doctor: no line may fail.
step "10: qrdeskctl doctor"
doctor_rc=0
in_root qrdeskctl doctor >"$out/doctor.txt" 2>&1 || doctor_rc=$?
cat "$out/doctor.txt"
grep -q '^fail' "$out/doctor.txt" && fail "doctor reports a fail (exit $doctor_rc)"
grep -q 'made a desk-local' "$out/daemon.log" && fail "the daemon made its own audit key"

((doctor_rc < 2)) || fail "doctor exits $doctor_rc"
kill -TERM $daemon_pid 2>/dev/null || true
wait $daemon_pid 2>/dev/null || true
daemon_pid=

if ((failures)); then
	echo "deb_install: $failures check(s) failed" >&2
	exit 1
fi
echo "deb_install: all checks passed ($((SECONDS - start)) s)"

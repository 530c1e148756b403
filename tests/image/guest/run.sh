#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The VM test's checks inside the desk image (tests/image/run.sh, docs/image.md), run by
# qrdesk-vmtest.service once per boot; output on the second serial port.  The host's
# test disk (label qrdesk-vmtest) holds the cards, the stick images and what the host
# expects; PLAN on it says what this boot does.
set -u
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
lib=/usr/lib/qrdesk-vmtest
# The host's sqlite3 and jq, for the checks only (not part of the desk's image).
sqlite3() { LD_LIBRARY_PATH=$lib/lib $lib/sqlite3 "$@"; }
jq() { LD_LIBRARY_PATH=$lib/lib $lib/jq "$@"; }
t=/run/vmtest
mkdir -p $t
# A slot that did not become ready is rebooting (qrdesk-slot-check.service): not a test run.
systemctl is-failed -q qrdesk-slot-check.service && exit 0
mount LABEL=qrdesk-vmtest $t || { echo "FAIL: the test disk does not mount"; echo "VMTEST DONE passed=0 failed=1"; systemctl poweroff; exit 1; }
boot=$(($(cat $t/boots 2>/dev/null || echo 0) + 1))
echo $boot >$t/boots
sync
slot=$(sed -n 's/.*rauc\.slot=\([A-Z]\).*/\1/p' /proc/cmdline)
plan=$(sed -n "${boot}p" $t/PLAN)
echo "VMTEST BOOT $boot slot $slot plan '$plan' uptime $(cut -d' ' -f1 /proc/uptime) s"

passed=0 failed=0
ok() { echo "ok - boot $boot ($slot): $*"; passed=$((passed + 1)); }
fail() { echo "FAIL: boot $boot ($slot): $*"; failed=$((failed + 1)); }
check() { if eval "$1"; then ok "$2"; else fail "$2"; fi; }
wait_for() { # wait_for SECONDS CONDITION
	local end=$((SECONDS + $1))
	until eval "$2"; do
		((SECONDS > end)) && return 1
		sleep 0.2
	done
}
daemon_log() { journalctl -b -o cat -u qrdeskd.service --no-pager; }
nice_limit() { # soft and hard RLIMIT_NICE of qrdeskd
	sed -n 's/^Max nice priority *\([0-9]*\) *\([0-9]*\).*/\1 \2/p' /proc/$(systemctl show -p MainPID --value qrdeskd.service)/limits
}
rtprio_limit() { # soft and hard RLIMIT_RTPRIO of qrdeskd
	sed -n 's/^Max realtime priority *\([0-9]*\) *\([0-9]*\).*/\1 \2/p' /proc/$(systemctl show -p MainPID --value qrdeskd.service)/limits
}
thread_stat() { # thread_stat NAME FIELD: field FIELD (proc(5)'s count) of qrdeskd's thread NAME's stat
	local pid task
	pid=$(systemctl show -p MainPID --value qrdeskd.service)
	for task in /proc/$pid/task/*; do
		[ "$(cat $task/comm 2>/dev/null)" = "$1" ] || continue
		sed 's/.*) //' $task/stat | cut -d' ' -f$(($2 - 2)) # fields from the third on
		return
	done
}
thread_policy() { thread_stat "$1" 41; } # SCHED_OTHER 0, SCHED_FIFO 1
genv() { grub-editenv /boot/loader/grub/grubenv list | sed -n "s/^$1=//p"; }
store_dump() { # the store without the audit rows (they grow on purpose)
	sqlite3 -readonly /var/lib/qrdesk/desk.db .dump | grep -v '^INSERT INTO audit' | sha256sum | cut -c1-16
}
audit() { # the audit rows as verdict:REASON, or event:reason for the USB ones
	sqlite3 -readonly /var/lib/qrdesk/desk-audit.db "SELECT coalesce(d.event, a.verdict) || ':' || coalesce(a.reason, 'ok')
		FROM audit a LEFT JOIN audit_detail d ON d.audit_id = a.id ORDER BY a.id" | tr '\n' ' '
}
finish() {
	echo "VMTEST BOOT $boot DONE passed=$passed failed=$failed uptime=$(cut -d' ' -f1 /proc/uptime)"
	echo "# qrdeskd's log, last lines:" && daemon_log | tail -n 15 | sed 's/^/# /'
	((failed == 0)) || { echo "# failed units:"; systemctl --failed --no-legend | sed 's/^/# /'; }
	sync
	umount $t
	case ${1:-poweroff} in
	reboot) systemctl reboot ;;
	*) systemctl poweroff ;;
	esac
	exit 0
}

# USB gadgets on dummy_hcd, as in the appliance VM (tests/vm/guest/gadget.sh).
. $lib/gadget.sh

# /var/tmp, /var/log, /var/lib/systemd and /var/cache are tmpfs, /etc/machine-id is made at
# boot (mounted over the empty file), the journal is kept in /run.
volatile() {
	local d
	for d in /var/tmp /var/log /var/lib/systemd /var/cache; do
		[ "$(findmnt -n -o FSTYPE "$d")" = tmpfs ] || return 1
	done
	[ -s /etc/machine-id ] && findmnt -n /etc/machine-id >/dev/null && compgen -G "/run/log/journal/*/system.journal" >/dev/null
}
part_ok() { # part_ok N MIB [LABEL]: partition N of the disk, its size, PARTUUID and label
	[ "$(lsblk -bndo SIZE /dev/vda$1)" = $(($2 * 1048576)) ] && [ "$(lsblk -ndo PARTUUID /dev/vda$1)" = 0de5c0de-0$1 ] &&
		{ [ -z "${3:-}" ] || [ "$(lsblk -ndo LABEL /dev/vda$1)" = "$3" ]; }
}

# -- every boot: the system as the image made it
case_system() {
	check '[ -n "$slot" ] && [ "$slot" = "${plan%% *}" ]' "GRUB booted slot $slot (the plan expects ${plan%% *})"
	wait_for 300 'systemctl is-active -q qrdeskd.service' ||
		{ fail "qrdeskd did not become active (READY) in 300 s"; return 1; }
	ok "qrdeskd is active: its READY=1 reached systemd ($(cut -d' ' -f1 /proc/uptime) s after boot)"
	# Where the boot's time went (for docs/image.md's table; not a check).
	echo "# boot: $(systemd-analyze time 2>/dev/null | head -n1)"
	systemd-analyze blame --no-pager 2>/dev/null | head -n 8 | sed 's/^ */# blame: /'
	echo "# qrdeskd: $(systemctl show -p ExecMainStartTimestampMonotonic,ActiveEnterTimestampMonotonic qrdeskd.service | tr '\n' ' ')"
	local pid
	pid=$(systemctl show -p MainPID --value qrdeskd.service)
	check '[ "$(ps -o user= -p "$pid")" = qrdesk ]' "qrdeskd runs as the qrdesk user ($(ps -o user=,group= -p "$pid"))"
	check 'grep -q "^NoNewPrivs:[[:space:]]*1" /proc/$pid/status && grep -q "^Seccomp:[[:space:]]*2" /proc/$pid/status &&
		grep -q "^CapEff:[[:space:]]*0000000000000000" /proc/$pid/status' \
		"qrdeskd runs hardened: no new privileges, a seccomp filter, no capabilities"
	check '[ "$(readlink /proc/$pid/ns/mnt)" != "$(readlink /proc/1/ns/mnt)" ]' \
		"qrdeskd has its own mount namespace (ProtectSystem=strict)"
	check 'getent passwd qrdesk >/dev/null && id -nG qrdesk | tr " " "\n" | sort | tr "\n" " " | grep -q "dialout gpio input qrdesk video"' \
		"sysusers made the qrdesk user with its groups: $(id -nG qrdesk)"
	check '[ "$(stat -c "%U:%G %a" /var/lib/qrdesk)" = "qrdesk:qrdesk 750" ]' \
		"tmpfiles gave /var/lib/qrdesk to qrdesk, 0750 ($(stat -c "%U:%G %a" /var/lib/qrdesk))"
	check 'findmnt -n -o SOURCE /var/lib/qrdesk | grep -q "\[/qrdesk\]$"' \
		"/var/lib/qrdesk is the data partition's qrdesk folder ($(findmnt -n -o SOURCE /var/lib/qrdesk))"
	check 'findmnt -n -o OPTIONS / | grep -qE "^ro(,|$)"' "the root file system is read-only ($(findmnt -n -o SOURCE,OPTIONS /))"
	check 'volatile' "what is written at run time is volatile: $(for d in /var/tmp /var/log /var/lib/systemd /var/cache /etc/machine-id; do findmnt -n -o TARGET,FSTYPE $d; done | tr -s ' \n' ': '), the journal in /run/log/journal"
	local spart=2
	[ "$slot" = B ] && spart=3
	check 'part_ok 1 64 qrdesk-boot && part_ok 2 2560 && part_ok 3 2560 && part_ok 4 256 qrdesk-data && part_ok $spart 2560 qrdesk-root' \
		"the disk is laid out as docs/image.md says: $(lsblk -bnro NAME,SIZE,LABEL,PARTUUID /dev/vda | tr '\n' ' ')"
	check '[ "$(rauc status --output-format=json 2>/dev/null | sed -n "s/.*\"booted\":\"\([A-Z]\)\".*/\1/p")" = "$slot" ]' \
		"rauc sees slot $slot booted"
	wait_for 120 '[ "$(genv ${slot}_OK) $(genv ${slot}_TRY)" = "1 0" ]'
	check '[ "$(genv ${slot}_OK) $(genv ${slot}_TRY)" = "1 0" ]' \
		"the slot was marked good once qrdeskd was ready (grubenv ${slot}_OK=$(genv ${slot}_OK) ${slot}_TRY=$(genv ${slot}_TRY))"
	# Clean: no failed unit, and no job left but this harness's own (it is part of the
	# boot, so systemd says "starting" until it ends).
	wait_for 120 '[ "$(systemctl list-jobs --no-legend | grep -vc qrdesk-vmtest)" = 0 ]'
	check '[ "$(systemctl list-units --failed --no-legend | wc -l)" = 0 ] && [ "$(systemctl list-jobs --no-legend | grep -vc qrdesk-vmtest)" = 0 ]' \
		"systemd: every unit up, none failed ($(systemctl list-units --failed --no-legend | tr -s ' ' | cut -d' ' -f2 | tr '\n' ' '))"
	qrdeskctl status >$t/status.txt 2>&1
	check '[ $? = 0 ]' "qrdeskctl status answers: $(tr '\n' ' ' <$t/status.txt | cut -c1-300)"
	local want
	want=$(cat $t/version-$slot)
	check '[ "$(fw .version)" = "$want" ] && grep -q "^firmware $want (qrdesk-desk-amd64)" $t/status.txt' \
		"qrdeskctl status shows the slot's firmware $want: $(grep -A1 '^firmware' $t/status.txt | tr '\n' ' ')"
	qrdeskctl doctor --json >$t/doctor.json 2>/dev/null
	check '[ "$(doctor_line firmware status)" = "$(doctor_expect)" ]' \
		"qrdeskctl doctor's firmware line: $(doctor_line firmware status): $(doctor_line firmware detail)"
}

# -- a code typed on the USB HID gadget (a keyboard-wedge scanner)
case_verdict() {
	gadget_hid_keyboard scanner 1209 0001 "VM barcode scanner" || { fail "cannot make and plug the HID gadget"; return 1; }
	local ev
	wait_for 30 'ev=$(grep -A8 "Vendor=1209 Product=0001" /proc/bus/input/devices | sed -n "s/.*Handlers=.*\(event[0-9]*\).*/\1/p" | head -n1); [ -n "$ev" ] && [ -e /dev/input/$ev ]'
	wait_for 30 '[ "$(stat -c "%G %a" /dev/input/$ev 2>/dev/null)" = "input 660" ]'
	check '[ "$(stat -c "%G %a" /dev/input/$ev 2>/dev/null)" = "input 660" ]' \
		"udev gave the scanner's /dev/input/$ev to group input, 0660 (60-qrdesk.rules): $(stat -c '%G %a' /dev/input/$ev 2>&1)"
	wait_for 30 'daemon_log | grep -qE "source hid: running: .*\(grabbed\)"'
	check 'daemon_log | grep -qE "source hid: running: .*\(grabbed\)"' "qrdeskd's HID source took the scanner (DeviceAllow from --unit-devices)"
	# Before the desk's other work, so that a fast scanner's keys are read before the kernel's
	# 64-event queue fills: SCHED_FIFO 10 (policy 1), the unit's LimitRTPRIO=10 and its filter
	# allowing sched_setscheduler.  The reader names itself once its priority is set.
	wait_for 30 '[ "$(thread_policy qrdesk-hid)" = 1 ]'
	check '[ "$(thread_policy qrdesk-hid)" = 1 ] && ! daemon_log | grep -qE "the reader (stays|runs) at nice"' \
		"qrdeskd's HID reader thread runs at SCHED_FIFO: policy $(thread_policy qrdesk-hid) $(daemon_log | grep -E 'the reader (stays|runs) at nice')"
	check '[ "$(rtprio_limit)" = "10 10" ]' "qrdeskd's RLIMIT_RTPRIO is 10 (LimitRTPRIO=10): $(rtprio_limit)"
	check '[ "$(nice_limit)" = "30 30" ]' "qrdeskd's RLIMIT_NICE is 30 (LimitNICE=-10: no thread goes above -10): $(nice_limit)"
	local u0 u1
	u0=$(cut -d' ' -f1 /proc/uptime)
	# The emulated scanner types at a real-time priority (2), at its own pace whatever the
	# guest does, as a scanner's hardware would.  With the reader at nice -10 that overran
	# qrdeskd's evdev queue once in five runs (after a host stall the guest caught up in a burst
	# the typer filled before any normal thread ran); the reader at SCHED_FIFO 10 runs before
	# the typer whenever an event is there (docs/image.md).
	VM_KEYTYPE_STATS=1 chrt -f 2 $lib/vm_keytype hidg /dev/hidg0 <$t/cards/valid.txt >/dev/null 2>/run/vmtest-keytype.err ||
		fail "typing into /dev/hidg0 failed: $(cat /run/vmtest-keytype.err)"
	u1=$(cut -d' ' -f1 /proc/uptime)
	echo "# typed $(wc -c <$t/cards/valid.txt) bytes from uptime $u0 to $u1 s ($(cat /run/vmtest-keytype.err))"
	wait_for 60 'daemon_log | grep -qE "verdict [0-9]+ valid OK"'
	# The HID source's own lines too: a code it dropped (split by a stall longer than
	# key_timeout_ms, say) says so there and gives no verdict.
	check 'daemon_log | grep -qE "verdict [0-9]+ valid OK .*source=hid"' "a valid card typed on the scanner: $(daemon_log | grep -E 'verdict [0-9]+ |source hid: ' | tail -n3 | tr '\n' ' ')"
	check 'audit | grep -q "valid:OK"' "its audit row on the data partition: $(audit)"
	gadget_remove scanner
}

# -- a stick with a RAUC bundle: plug the f_mass_storage gadget backed by IMAGE
stick_plug() { gadget_stick stick 1209 0002 "$1" ro; } # stick_plug IMAGE
stick_pull() { gadget_remove stick; }
fw() { qrdeskctl status --json 2>/dev/null | jq -r ".firmware$1 // empty"; }
doctor_line() { jq -r --arg c "$1" ".checks[] | select(.check == \$c) | .$2" $t/doctor.json; }
# doctor warns after a rolled-back update, else says ok.
doctor_expect() { if [ "$(fw .last_update.result)" = rolled-back ]; then echo warn; else echo ok; fi; }
usb_line() { qrdeskctl status --json 2>/dev/null | jq -r '.usb.headline // empty'; }
usb_stage() { qrdeskctl status --json 2>/dev/null | jq -r '.usb.stage // empty'; }
usb_done_since() { # usb_done_since T: a stick's result (not its progress) at or after T
	qrdeskctl status --json 2>/dev/null |
		jq -e --argjson t "$1" '.usb != null and .usb.time >= $t and (.usb.stage | IN("applied", "rejected", "unchanged"))' >/dev/null
}

removals() { daemon_log | grep -c "usb: the stick at /run/media/qrdesk/sda was removed"; }
stick_gone() { # stick_gone N: unmounted, its link gone, and qrdeskd's N+1st "removed"
	! findmnt -rn -o TARGET | grep -q "^/run/media/qrdesk-mnt/sda$" && [ ! -e /run/media/qrdesk/sda ] &&
		[ "$(removals)" -gt "$1" ]
}
case_refused() { # case_refused IMAGE WHAT REASON (rauc's words, in qrdeskd's log)
	local before after env_before reason=$3
	before=$(store_dump)
	env_before=$(grub-editenv /boot/loader/grub/grubenv list | sort | tr '\n' ' ')
	local since removed
	since=$(date +%s)
	removed=$(removals)
	stick_plug "$t/$1" || { fail "cannot plug the stick gadget"; return 1; }
	wait_for 60 'findmnt -rn -o TARGET | grep -q "^/run/media/qrdesk-mnt/" && [ -d /run/media/qrdesk/sda/qrdesk ]'
	check 'findmnt -rn -o TARGET | grep -q "^/run/media/qrdesk-mnt/" && [ -d /run/media/qrdesk/sda/qrdesk ] &&
		findmnt -rn -o OPTIONS /run/media/qrdesk-mnt/sda | tr , "\n" | grep -cxE "ro|nosuid|nodev|noexec|fmask=0133|dmask=0022" | grep -qx 6' \
		"the stick was mounted by the image's qrdesk-stick@ unit, read-only, nosuid, nodev, noexec, fmask=0133, dmask=0022: $(findmnt -rn -o TARGET,OPTIONS | grep "^/run/media/qrdesk-mnt/")"
	wait_for 600 'usb_done_since $since'
	check 'usb_done_since $since && usb_line | grep -q "^rejected: rauc install failed"' "$2: refused: $(usb_line)"
	check 'journalctl -b -o cat -u rauc.service | grep -q "$reason"' "$2: rauc's service says why: $(journalctl -b -o cat -u rauc.service | grep -iE 'fail|error' | tail -n1)"
	stick_pull
	wait_for 120 'stick_gone $removed'
	check 'stick_gone $removed' \
		"$2: the stick pulled: unmounted, its link gone, qrdeskd says removed ($(ls /run/media/qrdesk 2>&1 | tr '\n' ' '))"
	after=$(store_dump)
	check '[ "$before" = "$after" ]' "$2: the trust store on the data partition is unchanged ($after)"
	check '[ "$(grub-editenv /boot/loader/grub/grubenv list | sort | tr "\n" " ")" = "$env_before" ]' \
		"$2: the boot order is unchanged: $env_before"
	check 'audit | grep -q "usb-firmware"' "$2: an audit row: $(audit)"
}

# -- the stick pulled while rauc installs from it
case_pulled() {
	local before env_before
	before=$(store_dump)
	env_before=$(grub-editenv /boot/loader/grub/grubenv list | sort | tr '\n' ' ')
	local since
	since=$(date +%s)
	stick_plug "$t/stick-good.img" || { fail "cannot plug the stick gadget"; return 1; }
	wait_for 300 '[ "$(usb_stage)" = reading ] && usb_line | grep -qE "Copying|Updating"' || fail "no rauc copying progress in qrdeskctl status: $(usb_line)"
	ok "rauc is installing: $(usb_line)"
	stick_pull
	wait_for 300 'usb_done_since $since'
	check 'usb_done_since $since && usb_line | grep -q "^rejected: rauc install failed"' "the stick pulled during the install: refused: $(usb_line)"
	check '[ "$before" = "$(store_dump)" ]' "pulled: the trust store is unchanged"
	check '[ "$(genv ORDER)" = "A B" ] && [ "$(genv B_OK)" = 0 ]' "pulled: slot A stays primary, B not good ($(genv ORDER), B_OK=$(genv B_OK))"
}

# -- a bundle that rauc installs: slot B written and made primary
case_install() { # case_install IMAGE WHAT
	local since
	since=$(date +%s)
	stick_plug "$t/$1" || { fail "cannot plug the stick gadget"; return 1; }
	wait_for 900 'usb_done_since $since'
	check 'usb_line | grep -q "^applied .*installed; it runs after a restart"' "$2: rauc installed it: $(usb_line)"
	stick_pull
	check '[ "$(genv ORDER)" = "B A" ] && [ "$(genv B_OK) $(genv B_TRY)" = "1 0" ]' \
		"$2: slot B is primary and to be tried (ORDER=$(genv ORDER) B_OK=$(genv B_OK) B_TRY=$(genv B_TRY))"
	check 'audit | tr " " "\n" | grep usb-firmware | tail -n1 | grep -q ":applied$"' "$2: audit row: $(audit | tr ' ' '\n' | grep usb-firmware | tail -n1)"
	store_dump >$t/store-before
	audit | wc -w >$t/audit-before
}

# -- back on A after a B that never became ready
case_rollback() {
	check '[ "$slot" = A ]' "slot A booted again"
	check 'grep -q "slot B did not become ready and was rolled back" /data/rauc/update-failed' \
		"the failed update is recorded: $(tail -n1 /data/rauc/update-failed 2>&1)"
	check 'journalctl -b -o cat -u qrdesk-slot-check.service | grep -q "firmware update failed"' "and in the journal"
	check '[ "$(genv ORDER)" = "A B" ] && [ "$(genv B_OK)" = 0 ]' "slot A is primary again, B is bad ($(genv ORDER), B_OK=$(genv B_OK))"
	check '[ "$(store_dump)" = "$(cat $t/store-before)" ]' "the trust store on the data partition is intact"
	check '[ "$(fw .last_update.result)" = rolled-back ] && fw .last_update.text | grep -q "slot B (firmware $(cat $t/version-broken)) did not become ready"' \
		"qrdeskctl status reports the rollback: $(fw .last_update.text)"
	check 'audit | grep -q "firmware:rolled-back"' "and the audit log: $(audit | tr ' ' '\n' | grep firmware)"
	check '[ "$(doctor_line firmware status)" = warn ]' "qrdeskctl doctor warns: $(doctor_line firmware detail)"
}

# -- on B after the good update
case_updated() {
	check '[ "$slot" = B ]' "slot B booted"
	check '[ "$(sed -n "s/^VERSION=//p" /etc/qrdesk-firmware)" = "$(cat $t/version-b)" ]' \
		"slot B runs firmware $(sed -n 's/^VERSION=//p' /etc/qrdesk-firmware) (expected $(cat $t/version-b))"
	check 'rauc status --detailed 2>/dev/null | grep -q "$(cat $t/version-b)"' "rauc's status shows B's bundle version $(cat $t/version-b)"
	check '[ "$(store_dump)" = "$(cat $t/store-before)" ]' "the trust store on the data partition is intact"
	check '[ "$(audit | wc -w)" -ge "$(cat $t/audit-before)" ]' "the audit rows written on A are there ($(audit | wc -w) rows)"
	check '[ "$(fw .last_update.result)" = updated ] && fw .last_update.text | grep -q "firmware $(cat $t/version-b) on slot B (was 1.0.0 on slot A)"' \
		"qrdeskctl status reports the update: $(fw .last_update.text)"
	check 'audit | tr " " "\n" | tail -n 3 | grep -q "firmware:updated"' "and the audit log: $(audit | tr ' ' '\n' | grep firmware | tr '\n' ' ')"
}

# -- a desk whose clock is behind (no battery-backed clock: a Pi starts at an old date): RAUC
# checks the firmware certificates at the bundle's signing time, not the clock's.
case_clock() {
	local now up0 rc_desk rc_clock
	now=$(date +%s)
	up0=$(cut -d. -f1 /proc/uptime)
	sed '/^use-bundle-signing-time/d' /etc/rauc/system.conf >/run/vmtest-rauc-clock.conf
	# The clock goes back whatever happens below (the later steps and the journal need it).
	trap 'date -s @$((now + $(cut -d. -f1 /proc/uptime) - up0)) >/dev/null; trap - RETURN' RETURN
	date -s 2025-01-01 >/dev/null
	timeout 120 rauc info $t/own.raucb >/dev/null 2>/run/vmtest-rauc-desk.err
	rc_desk=$?
	timeout 120 rauc -c /run/vmtest-rauc-clock.conf info $t/own.raucb >/dev/null 2>/run/vmtest-rauc-clock.err
	rc_clock=$?
	date -s @$((now + $(cut -d. -f1 /proc/uptime) - up0)) >/dev/null
	check '[ $rc_desk = 0 ]' \
		"the clock at 2025-01-01, before the firmware certificates' start: the desk's RAUC still verifies its own domain's bundle (use-bundle-signing-time): $(tail -n1 /run/vmtest-rauc-desk.err)"
	check '[ $rc_clock != 0 ] && grep -q "not yet valid" /run/vmtest-rauc-clock.err' \
		"and the same configuration without use-bundle-signing-time refuses it: $(grep -o 'certificate is not yet valid' /run/vmtest-rauc-clock.err | head -n1)"
}

# -- the kiosk unit (qrdesk-kiosk, cage + Chromium on tty7): installed and enabled, its user
# made by sysusers
kiosk_show() { systemctl show -p "$1" --value qrdesk-kiosk.service; }
kiosk_state() { systemctl show -p ActiveState,SubState,Result,ConditionResult,NRestarts qrdesk-kiosk.service | tr '\n' ' '; }
kiosk_installed() {
	check '[ -x /usr/libexec/qrdesk/qrdesk-kiosk ] && [ "$(systemctl is-enabled qrdesk-kiosk.service 2>&1)" = enabled ]' \
		"the kiosk unit is installed and enabled: $(systemctl is-enabled qrdesk-kiosk.service 2>&1)"
	check 'getent passwd qrdesk-kiosk | grep -q ":/var/lib/qrdesk-kiosk:" && id -nG qrdesk-kiosk | tr " " "\n" | sort | tr "\n" " " | grep -qx "qrdesk-kiosk render video "' \
		"sysusers made the qrdesk-kiosk user with its groups: $(getent passwd qrdesk-kiosk) $(id -nG qrdesk-kiosk 2>&1)"
	check 'command -v cage >/dev/null && command -v chromium >/dev/null' "cage and chromium are in the image"
}

# -- no display (the VM has no graphics device): the kiosk unit is skipped at boot by its
# condition, not failed and not restarting; qrdeskd's checks (system) are unaffected
case_headless() {
	kiosk_installed
	check '! compgen -G "/dev/dri/card*" >/dev/null' "the VM has no display: no DRM card ($(ls /dev/dri 2>&1 | tr '\n' ' '))"
	check '[ "$(kiosk_show ConditionResult)" = no ] && [ "$(kiosk_show ConditionTimestampMonotonic)" -gt 0 ] &&
		[ "$(kiosk_show ActiveState)" = inactive ] && [ "$(kiosk_show Result)" = success ] && [ "$(kiosk_show NRestarts)" = 0 ]' \
		"the boot skipped the kiosk unit by its condition, not failed, not restarting: $(kiosk_state)"
	check 'journalctl -b -o cat -u qrdesk-kiosk.service | grep -q "unmet condition check (ConditionPathExistsGlob=/dev/dri/card\*)"' \
		"the journal says why: $(journalctl -b -o cat -u qrdesk-kiosk.service | tail -n1)"
	check '! pgrep -x cage >/dev/null && ! pgrep -x chromium >/dev/null' "no cage or chromium runs"
	qrdeskctl doctor --json >$t/doctor.json 2>/dev/null
	check '[ "$(doctor_line "kiosk unit" status)" = warn ] && doctor_line "kiosk unit" detail | grep -q "was skipped: no screen"' \
		"qrdeskctl doctor says why the page is not on a screen: $(doctor_line "kiosk unit" detail)"
}

for step in ${plan#* }; do
	case $step in
	system) case_system ;;
	verdict) case_verdict ;;
	wrongkey) case_refused stick-wrongkey.img "a bundle signed by another domain's key" "signature verification failed" ;;
	clock) case_clock ;;
	headless) case_headless ;;
	corrupt) case_refused stick-corrupt.img "a corrupted bundle" "failed" ;;
	pulled) case_pulled ;;
	installbroken) case_install stick-broken.img "a firmware whose qrdeskd never becomes ready" ;;
	installgood) case_install stick-good.img "the new firmware" ;;
	rollback) case_rollback ;;
	updated) case_updated ;;
	reboot) finish reboot ;;
	*) fail "unknown step $step" ;;
	esac
done
finish

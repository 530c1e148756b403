#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Crash safety of a large apply: `qrdeskctl import` of a revocation list of
# ENTRIES hashes (default 500,000) onto a desk holding a small list, killed
# with SIGKILL at a random point of the apply, KILLS times (default 50).
# After each kill: PRAGMA integrity_check is "ok", and the store holds the old
# version or the new one, never a mix: the revocations document's version,
# the rows of the revocations table and meta.revocation_count agree (1 and
# OLD rows, or 2 and ENTRIES rows).  The large list is generated once per run.
# Usage: crash.sh QRDESK-ISSUER QRDESKCTL [ENTRIES] [KILLS]
set -uo pipefail

issuer=$(realpath "$1")
ctl=$(realpath "$2")
entries=${3:-500000}
kills=${4:-50}
old_entries=1000
work=$(mktemp -d "${TMPDIR:-/tmp}/qrdesk-crash-XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"

NOW=1795000000
fail() { echo "FAIL: $*" >&2; exit 1; }

# Sorted unique random 16-byte hashes: the domain's revocations.bin format (domain.h).
hashes() { # COUNT FILE
	python3 - "$1" "$2" <<'PY'
import os, sys
n, path = int(sys.argv[1]), sys.argv[2]
raw = os.urandom(16 * n)
out = sorted({raw[i:i + 16] for i in range(0, len(raw), 16)})
open(path, "wb").write(b"".join(out))
print(len(out))
PY
}

"$issuer" --now "$NOW" init dom >/dev/null || fail "init"
old_entries=$(hashes "$old_entries" dom/revocations.bin)
"$issuer" --now "$NOW" publish dom old >/dev/null || fail "publish old"
entries=$(hashes "$entries" dom/revocations.bin)
"$issuer" --now "$((NOW + 60))" publish dom new >/dev/null || fail "publish new"

"$ctl" provision --store base.db --root dom/root.pub >/dev/null || fail "provision"
"$ctl" import --store base.db --now "$((NOW + 120))" old/keyset.cose old/revocations.cose \
	>/dev/null || fail "import old"
sqlite3 base.db "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null

fresh() { rm -f desk.db desk.db-wal desk.db-shm && cp base.db desk.db; }

# One uninterrupted apply: how long the kills should spread over.
fresh
start=$(date +%s%N)
"$ctl" import --store desk.db --now "$((NOW + 180))" new/revocations.cose >/dev/null ||
	fail "uninterrupted import"
apply_ms=$((($(date +%s%N) - start) / 1000000))
echo "apply of $entries entries: $apply_ms ms (uninterrupted)"

# state: "VERSION ROWS COUNT", and integrity
check() { # N
	local integrity state
	integrity=$(sqlite3 desk.db "PRAGMA integrity_check" 2>&1)
	[[ $integrity == ok ]] || fail "kill $1: integrity_check: $integrity"
	state=$(sqlite3 desk.db "SELECT (SELECT version FROM documents WHERE type = 2),
		(SELECT count(*) FROM revocations),
		(SELECT value FROM meta WHERE name = 'revocation_count')" 2>&1 | tr '|' ' ')
	case $state in
	"1 $old_entries $old_entries") old=$((old + 1)) ;;
	"2 $entries $entries") new=$((new + 1)) ;;
	*) fail "kill $1: a mixed store: version, rows, count = $state" ;;
	esac
}

kill_once() { # N: one import killed at a random point, then the store checked
	fresh
	# A point from a tenth of the way in (the file is read and verified first) to just past the end.
	delay_ms=$((apply_ms / 10 + RANDOM % (apply_ms + 1)))
	"$ctl" import --store desk.db --now "$((NOW + 180))" new/revocations.cose >/dev/null 2>&1 &
	pid=$!
	sleep "$(printf '%d.%03d' $((delay_ms / 1000)) $((delay_ms % 1000)))"
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	check "$1"
}

old=0
new=0
for i in $(seq "$kills"); do kill_once "$i"; done
# The machine's speed changes under load (other tests on the other core): if every kill fell
# on one side of the commit, move the window that way and go on, up to 40 more kills.
i=$kills
while ((old == 0 || new == 0)) && ((i < kills + 40)); do
	i=$((i + 1))
	if ((new == 0)); then apply_ms=$((apply_ms * 3 / 2)); else apply_ms=$((apply_ms * 2 / 3 + 1)); fi
	kill_once "$i"
done
kills=$i
echo "crash: $kills kills: $old left the old version, $new the new one; every store intact"
# Kills that all landed after the commit (or all before) would prove nothing.
[[ $old -gt 0 && $new -gt 0 ]] || fail "the kills did not spread over the apply (old $old, new $new)"

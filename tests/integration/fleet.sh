#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The fleet's desk identities (docs/fleet.md) with the real tools:
#  - provisioning makes the desk's Ed25519 key beside the store, mode 0600, kept on
#    a second provision or `enroll`; enroll prints the public half;
#  - the back office registers it (`qrdesk-issuer desk add`), refuses a second id for
#    the same key, a second key for the same id, a bad id and a key that is not Ed25519;
#  - publish signs the desk list as desks.cose and the desk imports it; a retirement
#    reaches the desk with the next publish.
# Usage: fleet.sh QRDESK-ISSUER QRDESKCTL
set -uo pipefail

issuer=$(realpath "$1")
ctl=$(realpath "$2")
here=$(dirname "$(realpath "$0")")
work=$(mktemp -d "${TMPDIR:-/tmp}/qrdesk-fleet-XXXXXX")
trap 'rm -rf "$work"' EXIT; [[ -n ${KEEP:-} ]] && trap - EXIT
cd "$work"
. "$here/checks.sh"

now=$(date +%s)
"$issuer" --now "$((now - 86400))" init dom >/dev/null || { echo "FAIL: init" >&2; exit 1; }

# --- the desk makes its key at provisioning ------------------------------------------
"$ctl" provision --store desk.db --root dom/root.pub --desk DAC-T1-07 >prov.out 2>&1; rc=$?
check '[[ $rc == 0 && -f desk.key && $(stat -c %a desk.key) == 600 ]]' \
	"provision makes desk.key mode 0600: $(cat prov.out)"
pub=$(sed -n 's/^public key: //p' prov.out)
check '[[ $pub =~ ^[0-9a-f]{64}$ ]]' "provision prints the public key: $(cat prov.out)"
check 'grep -q "qrdesk-issuer desk add DIR DAC-T1-07 $pub" prov.out' \
	"provision says how to register the desk: $(cat prov.out)"
"$ctl" enroll --store desk.db >enroll.out 2>&1; rc=$?
check '[[ $rc == 0 ]] && grep -q "already in" enroll.out && grep -q "public key: $pub" enroll.out' \
	"enroll keeps the key provision made: $(cat enroll.out)"
"$ctl" provision --store desk.db --root dom/root.pub >/dev/null 2>&1
check '[[ $(sed -n "s/^public key: //p" <("$ctl" enroll --store desk.db)) == "$pub" ]]' \
	"a second provision keeps the desk key"
"$ctl" enroll --store nowhere/desk.db >/dev/null 2>&1; rc=$?
check '[[ $rc == 66 ]]' "enroll without a store: exit 66"
chmod 644 desk.key
"$ctl" enroll --store desk.db >lax.out 2>&1; rc=$?
check '[[ $rc == 77 ]] && grep -q "chmod 600" lax.out' "a desk key others can read is refused: $(cat lax.out)"
chmod 600 desk.key

# a second desk, enrolled on its own
mkdir b && "$ctl" provision --store b/desk.db --root dom/root.pub >/dev/null 2>&1
pub_b=$("$ctl" enroll --store b/desk.db --desk CGP-T1-01 | sed -n 's/^public key: //p')
check '[[ $pub_b =~ ^[0-9a-f]{64}$ && $pub_b != "$pub" ]]' "each desk has its own key"

# --- the back office registers them --------------------------------------------------
"$issuer" desk add dom DAC-T1-07 "$pub" >add.out 2>&1; rc=$?
check '[[ $rc == 0 ]]' "desk add: $(cat add.out)"
echo "$pub_b" >b.pub
"$issuer" desk add dom CGP-T1-01 b.pub >/dev/null 2>&1
check '[[ $? == 0 ]]' "desk add takes a file holding the key"
"$issuer" desk add dom ZYL-1 "$pub" >dup.out 2>&1; rc=$?
check '[[ $rc != 0 ]] && grep -q "DAC-T1-07" dup.out' "one key, one desk: $(cat dup.out)"
"$issuer" desk add dom DAC-T1-07 "$pub_b" >/dev/null 2>&1
check '[[ $? != 0 ]]' "one id, one key"
"$issuer" desk add dom ../etc "$pub_b" >bad.out 2>&1; rc=$?
check '[[ $rc == 65 ]]' "a desk id that is not a folder name is refused: $(cat bad.out)"
"$issuer" desk add dom X-1 0011 >bad.out 2>&1; rc=$?
check '[[ $rc == 65 ]]' "a key that is not Ed25519 is refused: $(cat bad.out)"
"$issuer" desk list dom >list.out
check '[[ $(wc -l <list.out) == 2 ]] && grep -q "^CGP-T1-01 .*active.*$pub_b" list.out' \
	"desk list: $(cat list.out)"

# --- published, imported by the desk ---------------------------------------------------
"$issuer" publish dom repo >pub.out 2>&1; rc=$?
check '[[ $rc == 0 && -f repo/desks.cose ]] && grep -q "^desks.cose" pub.out' "publish signs desks.cose: $(cat pub.out)"
"$ctl" import --store desk.db repo/keyset.cose >/dev/null 2>&1 # the key set first: it names the repository key
"$ctl" import --store desk.db repo/*.cose >imp.out 2>&1; rc=$?
check '[[ $rc == 0 ]] && grep -q "desks version 1 installed" imp.out' "the desk imports the desk list: $(cat imp.out)"
"$issuer" desk retire dom CGP-T1-01 >/dev/null 2>&1
check '[[ $? == 0 ]]' "desk retire"
"$issuer" desk retire dom CGP-T1-01 >/dev/null 2>&1
check '[[ $? != 0 ]]' "a desk is retired once"
check '"$issuer" desk list dom | grep -q "^CGP-T1-01 .*retired"' "the list shows the retirement"
"$issuer" publish dom repo >/dev/null 2>&1 && "$ctl" import --store desk.db repo/*.cose >imp2.out 2>&1; rc=$?
check '[[ $rc == 0 ]] && grep -q "desks version 2 installed" imp2.out' "the retirement reaches the desk: $(cat imp2.out)"

# --- ingest: the tool's answers (the batches themselves: test_ingest) -------------------
mkdir -p up/DAC-T1-07 && printf 'not a batch' >up/DAC-T1-07/1.cose && : >up/DAC-T1-07/notes.txt
"$issuer" ingest dom up >ing.out 2>ing.err; rc=$?
check '[[ $rc == 65 ]] && grep -qx "desk DAC-T1-07 batch 1: does not parse: .*" ing.err' \
	"ingest names a refused batch by desk and sequence, exit 65: $(cat ing.out ing.err)"
check 'grep -q "0 batches, 0 rows loaded; 0 loaded before; 1 refused" ing.out' "ingest's summary: $(cat ing.out)"
openssl rand -hex 32 >audit.key
"$issuer" audit query dom 2611012345 --audit-key audit.key >q.out 2>&1; rc=$?
check '[[ $rc == 1 ]] && grep -q "no scan" q.out' "audit query of a card never scanned: exit 1: $(cat q.out)"

echo "fleet: $passes passed, $failures failed"
((failures == 0))

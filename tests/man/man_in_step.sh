#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The man pages say what the programs and the configuration file really take:
#   - every --option and every command in a program's --help is in its man page, and every
#     --option the man page names is in --help (so a removed option leaves no trace);
#   - qrdesk.conf(5) (made from docs/configuration.md) documents exactly the sections and
#     keys of the commented example firmware/dist/qrdesk.conf, section by section.
# Usage: man_in_step.sh MAN_DIR DIST_CONF QRDESKD QRDESKCTL QRDESK_ISSUER
# MAN_DIR holds the built pages (roff, from scdoc).
set -euo pipefail
man_dir=$1 dist_conf=$2
declare -A prog=([qrdeskd.8]=$3 [qrdeskctl.8]=$4 [qrdesk-issuer.1]=$5)
failures=0
fail() {
	echo "man_in_step: $*" >&2
	failures=$((failures + 1))
}

# Words set in bold in a roff page (scdoc writes *x* as \fBx\fR), one a line.
bold_words() {
	grep -o '\\fB[^\\]*\\fR' "$1" | sed 's/^\\fB//; s/\\fR$//; s/\\&//g' | sort -u
}

for page in "${!prog[@]}"; do
	roff=$man_dir/$page
	[[ -s $roff ]] || {
		fail "$roff is missing"
		continue
	}
	help=$("${prog[$page]}" --help)
	bold=$(bold_words "$roff")
	# Options: any --word in --help; in the page, bold --words.
	help_opts=$(grep -oE -- '--[a-z][a-z0-9-]*' <<<"$help" | sort -u)
	page_opts=$(grep -xE -- '--[a-z][a-z0-9-]*' <<<"$bold" | sort -u || true)
	for o in $help_opts; do
		grep -qxF -- "$o" <<<"$page_opts" || fail "$page does not document $o (it is in --help)"
	done
	for o in $page_opts; do
		grep -qxF -- "$o" <<<"$help_opts" || fail "$page documents $o, which --help does not list"
	done
	# Commands: the first word of a --help line indented by two spaces, when it is not an
	# option (qrdeskctl and qrdesk-issuer have commands; qrdeskd has none).
	for c in $(sed -nE 's/^  ([a-z][a-z-]+)( |$).*/\1/p' <<<"$help" | sort -u); do
		grep -qxF -- "$c" <<<"$bold" || fail "$page does not document the command $c"
	done
	echo "$page: $(wc -w <<<"$help_opts") options in step"
done

# qrdesk.conf(5): "section.key" pairs of the example file and of the page.
conf_pairs() {
	awk '/^\[[a-z]+\]/ { s = substr($1, 2, length($1) - 2) }
	     /^[a-z_]+ *=/ { sub(/ *=.*/, ""); print s "." $0 }' "$dist_conf" | sort
}
page_pairs() {
	# A section is a ".SH [NAME]" heading; a key is a bold word opening an entry line.
	awk '/^\.SH \[/ { s = tolower($2); gsub(/[][]/, "", s) }
	     /^\\fB[a-z_]+\\fR \(/ && s != "" { k = $1; sub(/^\\fB/, "", k); sub(/\\fR$/, "", k); print s "." k }
	     /^\.SH [^[]/ { s = "" }' "$man_dir/qrdesk.conf.5" | sort
}
if [[ -s $man_dir/qrdesk.conf.5 ]]; then
	while read -r pair; do
		fail "qrdesk.conf.5 (docs/configuration.md) does not document $pair of $dist_conf"
	done < <(comm -23 <(conf_pairs) <(page_pairs))
	while read -r pair; do
		fail "qrdesk.conf.5 (docs/configuration.md) documents $pair, which $dist_conf lacks"
	done < <(comm -13 <(conf_pairs) <(page_pairs))
	echo "qrdesk.conf.5: $(conf_pairs | wc -l) keys in step"
else
	fail "$man_dir/qrdesk.conf.5 is missing"
fi

if ((failures)); then
	echo "man_in_step: $failures mismatch(es); update docs/man/*.scd or docs/configuration.md" >&2
	exit 1
fi

#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Kiosk latency: from the verdict in the pipeline to the page showing it.
# The real qrdeskd (replay FIFO, simulated indicators, kiosk on 127.0.0.1 and a
# free port), the real page in Debian's headless Chromium (playwright-core, as
# the browser test installs it), N scans 100 ms apart.  Each verdict event
# carries the daemon's wall-clock time of the verdict (time_us); the page notes
# when the event arrived and when the next frame after filling the DOM began
# (requestAnimationFrame).  Prints p50/p99/max of both.  Nothing is asserted.
#
# Usage: bench/kiosk_latency.sh BUILD_DIR [SCANS]      (default 200 scans)
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(realpath "${1:?usage: kiosk_latency.sh BUILD_DIR [SCANS]}")
scans=${2:-200}
qrdeskd=$build/firmware/qrdeskd
ctl=$build/tools/qrdeskctl
issuer=$build/tools/qrdesk-issuer
node_dir=$build/browser-node
browser_dir=$here/../tests/browser
if ! cmp -s "$browser_dir/package-lock.json" "$node_dir/package-lock.json" || [[ ! -d $node_dir/node_modules/playwright-core ]]; then
	mkdir -p "$node_dir"
	cp "$browser_dir/package.json" "$browser_dir/package-lock.json" "$node_dir/"
	(cd "$node_dir" && npm ci --no-audit --no-fund --loglevel=error) || exit 1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/qrdesk-kbench-XXXXXX")
cleanup() {
	[[ -f $work/daemon.pid ]] && kill -TERM "$(cat "$work/daemon.pid")" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
cd "$work"
"$issuer" --now "$(($(date +%s) - 86400))" init dom >/dev/null
for n in 1 2; do
	jq -n --arg no "261100000$n" '{clearance_no: $no, passport_no: "A12345678", name: "MD ABDUR RAHIM",
		birth_date: "1990-07-14", sex: "M", destination: "SA", category: "GW",
		employer: "AL MADINA GENERAL TRADING", agency_licence: "RL-0571",
		bmet_reg_no: "BMET20261122", pdo_completed: true}' >"card$n.json"
	"$issuer" sign dom "card$n.json" 2>/dev/null >"card$n.txt"
done
"$issuer" revoke dom 2611000002 >/dev/null
"$issuer" publish dom repo >/dev/null
"$ctl" provision --store desk.db --root dom/root.pub >/dev/null
"$ctl" import --store desk.db repo/*.cose >/dev/null
port=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >desk.conf <<CONF
[desk]
desk_id = BENCH-1
store = $work/desk.db
control_socket = $work/control.sock
log_level = warning
[pipeline]
holdoff_ms = 0
already_used_check = false
[indicators]
backend = sim
[replay]
fifo = $work/codes.fifo
[kiosk]
port = $port
CONF

QRDESKD=$qrdeskd WORK=$work PORT=$port NODE_DIR=$node_dir SCANS=$scans node --input-type=module -e '
import { spawn } from "node:child_process";
import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
const { QRDESKD, WORK, PORT, NODE_DIR, SCANS } = process.env;
const { chromium } = createRequire(path.join(NODE_DIR, "package.json"))("playwright-core");
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const base = `http://127.0.0.1:${PORT}`;
const daemon = spawn(QRDESKD, ["--config", path.join(WORK, "desk.conf")], { stdio: "inherit" });
fs.writeFileSync(path.join(WORK, "daemon.pid"), String(daemon.pid));
for (let i = 0; ; i++) {
  try { if ((await fetch(`${base}/api/status`)).ok) break; } catch (e) { /* starting */ }
  if (i > 200) throw new Error("qrdeskd did not start");
  await sleep(100);
}
const fifo = fs.openSync(path.join(WORK, "codes.fifo"), "w");
const cards = [1, 2].map((n) => fs.readFileSync(path.join(WORK, `card${n}.txt`), "utf8").trim());
const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", headless: true,
  args: process.getuid() === 0 ? ["--no-sandbox"] : [] });
const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
await page.goto(`${base}/`);
await page.waitForSelector("body[data-connection=\"up\"]");
const n = Number(SCANS);
for (let i = 0; i < n; i++) {
  fs.writeSync(fifo, `${cards[i % 2]}\n`); // valid and revoked in turn: every verdict has a card
  await sleep(100);
}
await page.waitForFunction((want) => window.qrdeskKiosk.timings.filter((t) => t.shownMs > 0).length >= want, n);
const t = await page.evaluate(() => window.qrdeskKiosk.timings);
const pct = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.ceil(p / 100 * s.length) - 1)]; };
const show = (name, xs) => console.log(`${name.padEnd(28)} p50 ${pct(xs, 50).toFixed(2).padStart(7)} ms   p99 ${pct(xs, 99).toFixed(2).padStart(7)} ms   max ${Math.max(...xs).toFixed(2).padStart(7)} ms`);
console.log(`kiosk latency over ${t.length} verdicts (scans ${n}, 100 ms apart), Chromium ${browser.version()}`);
show("verdict -> event received", t.map((x) => x.receivedMs - x.judgedMs));
show("verdict -> on screen (rAF)", t.map((x) => x.shownMs - x.judgedMs));
await browser.close();
fs.closeSync(fifo);
daemon.kill("SIGTERM");
await new Promise((r) => daemon.once("exit", r));
'

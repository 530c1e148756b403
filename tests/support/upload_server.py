#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""A test audit-upload endpoint over HTTPS on 127.0.0.1 (Python's standard library only).

It behaves as the back office must (docs/audit-upload.md): a batch is counted once by its
Idempotency-Key, whatever the number of times it arrives.  To test the desk's retries it answers
the first requests as told by --script, a comma-separated list used one entry per POST:
  500      answer 500 without counting the batch
  hang     read the batch, then wait --hang-seconds before answering 200 (the desk times out)
  drop     count the batch, then close the connection without an answer (a lost reply)
  ok       count the batch and answer 200 (also what comes after the script)
Every POST is logged to --log as one JSON line: batch, rows (the line ids), the action, and
whether the batch was already counted.  The port is written to --port-file once listening.
"""
import argparse
import http.server
import json
import ssl
import threading
import time

parser = argparse.ArgumentParser()
parser.add_argument("--cert", required=True)
parser.add_argument("--key", required=True)
parser.add_argument("--port-file", required=True)
parser.add_argument("--log", required=True)
parser.add_argument("--script", default="")
parser.add_argument("--hang-seconds", type=float, default=5.0)
args = parser.parse_args()

script = [s for s in args.script.split(",") if s]
lock = threading.Lock()
counted = {}  # batch id -> row ids


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length).decode("ascii")
        key = self.headers.get("Idempotency-Key", "")
        lines = [json.loads(line) for line in body.splitlines() if line]
        ids = [line["id"] for line in lines]
        bad = [line for line in lines if line.get("batch") != key]
        with lock:
            action = script.pop(0) if script else "ok"
            duplicate = key in counted
            if action in ("ok", "drop", "hang") and not bad:
                if duplicate and counted[key] != ids:
                    action = "mismatch"  # the same id for other rows: the desk's bug
                else:
                    counted.setdefault(key, ids)
            with open(args.log, "a") as f:
                f.write(json.dumps({"batch": key, "rows": ids, "action": action,
                                    "duplicate": duplicate, "bad_lines": len(bad),
                                    "header_rows": self.headers.get("X-Qrdesk-Rows"),
                                    "desk": self.headers.get("X-Qrdesk-Desk")}) + "\n")
        if action == "drop":
            self.close_connection = True
            self.connection.shutdown(2)
            return
        if action == "hang":
            time.sleep(args.hang_seconds)
        status = 200 if action in ("ok", "hang") and not bad else 500 if action == "500" else 422
        reply = json.dumps({"batch": key, "duplicate": duplicate}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(args.cert, args.key)
server.socket = ctx.wrap_socket(server.socket, server_side=True)
with open(args.port_file + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
import os
os.rename(args.port_file + ".tmp", args.port_file)
server.serve_forever()

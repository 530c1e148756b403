#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""A test audit-upload store over HTTPS on 127.0.0.1 (Python's standard library only).

It behaves as a WebDAV server or an object store does for the desk (docs/audit-upload.md): PUT
stores the body under its path in --root, GET returns it (404 when absent).  To test the desk's
retries it answers the PUTs as told by --script, a comma-separated list used one entry per PUT:
  500       answer 500, store nothing
  hang      store the body, then wait --hang-seconds before answering 201 (the desk times out)
  drop      store the body, then close the connection without an answer (a lost reply)
  conflict  answer 409, store nothing
  lie       answer 201 but store other bytes
  redirect  answer 307 to https://example.invalid/ (another host), store nothing
  echo      answer 401 with a page that starts by quoting the request's Authorization header
  echofar   answer 401 with a long page (4 KiB) that quotes the Authorization header at its end
  ok        store the body, answer 201 (also what comes after the script)
Every PUT is logged to --log as one JSON line: path, action, the body's SHA-256 and size, and
whether the path held an object before.  The port is written to --port-file once listening.
"""
import argparse
import hashlib
import http.server
import json
import os
import ssl
import threading
import time

parser = argparse.ArgumentParser()
parser.add_argument("--cert", required=True)
parser.add_argument("--key", required=True)
parser.add_argument("--port-file", required=True)
parser.add_argument("--log", required=True)
parser.add_argument("--root", required=True)
parser.add_argument("--script", default="")
parser.add_argument("--hang-seconds", type=float, default=5.0)
args = parser.parse_args()

script = [s for s in args.script.split(",") if s]
lock = threading.Lock()


def local(path):
    parts = [p for p in path.split("?")[0].split("/") if p]
    if not parts or any(p in (".", "..") for p in parts):
        return None
    return os.path.join(args.root, *parts)


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def answer(self, status, body=b"", extra=()):
        self.send_response(status)
        for k, v in extra:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        p = local(self.path)
        if p is None or not os.path.isfile(p):
            return self.answer(404, b"not found")
        with open(p, "rb") as f:
            self.answer(200, f.read(), [("Content-Type", "application/cose")])

    def do_PUT(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        p = local(self.path)
        with lock:
            action = script.pop(0) if script else "ok"
            existed = p is not None and os.path.exists(p)
            if p is not None and action in ("ok", "hang", "drop", "lie"):
                os.makedirs(os.path.dirname(p), exist_ok=True)
                with open(p + ".tmp", "wb") as f:
                    f.write(body if action != "lie" else body[::-1])
                os.rename(p + ".tmp", p)
            with open(args.log, "a") as f:
                f.write(json.dumps({"path": self.path, "action": action, "existed": existed,
                                    "sha256": hashlib.sha256(body).hexdigest(),
                                    "size": len(body),
                                    "if_none_match": self.headers.get("If-None-Match")}) + "\n")
        if action == "drop":
            self.close_connection = True
            self.connection.shutdown(2)
            return
        if action == "hang":
            time.sleep(args.hang_seconds)
        if action == "500":
            return self.answer(500, b"server trouble")
        if action == "conflict":
            return self.answer(409, b"conflict")
        if action in ("echo", "echofar"):
            auth = self.headers.get("Authorization", "").encode()
            if action == "echo":
                return self.answer(401, b"denied: " + auth + b" " + b"is not a key we know. " * 8)
            return self.answer(401, b"denied by the gateway. " + b"Ask the storage's owner. " * 160
                               + b"The request had: " + auth)
        if action == "redirect":
            return self.answer(307, b"", [("Location", "https://example.invalid" + self.path)])
        self.answer(201, b"")


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(args.cert, args.key)
server.socket = ctx.wrap_socket(server.socket, server_side=True)
with open(args.port_file + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(args.port_file + ".tmp", args.port_file)
server.serve_forever()

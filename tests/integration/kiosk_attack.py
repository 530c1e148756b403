#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The local attacker of docs/security.md against the kiosk port: SLOW connections
that send one header line a second and never finish, and STREAMS event streams held
open and never read from.  Prints "ready" once they are open and, after SECONDS, how many slow connections the
server left open and the longest any of them lived.
With "reconnect" as a fifth argument, a slow connection the server closes is opened
again (at most five times a second): the attacker keeps its share of slots full.
Usage: kiosk_attack.py PORT SLOW STREAMS SECONDS [reconnect]"""
import select
import socket
import sys
import time

port, n_slow, n_streams, duration = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
reconnect = len(sys.argv) > 5 and sys.argv[5] == "reconnect"
t0 = time.monotonic()


def connect(first):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(first)
    return s


streams = []
for _ in range(n_streams):
    try:
        streams.append(connect(b"GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"))
    except OSError:
        pass
slow = {}
for i in range(n_slow):
    try:
        slow[i] = connect(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    except OSError:
        pass
print("ready", flush=True)
lived = {i: 0.0 for i in slow}
while time.monotonic() - t0 < duration and (slow or reconnect):
    if not slow:  # every one closed at once: try again shortly
        time.sleep(0.2)
    readable, _, _ = select.select(list(slow.values()), [], [], 1.0)
    now = time.monotonic() - t0
    for i, s in list(slow.items()):
        closed = False
        if s in readable:
            try:
                closed = s.recv(4096) == b""
            except OSError:
                closed = True
        if not closed:
            try:
                s.sendall(b"X-Trickle: 1\r\n")
            except OSError:
                closed = True
        if closed:
            s.close()
            del slow[i]
        else:
            lived[i] = now
    if reconnect and len(slow) < n_slow:
        time.sleep(0.2)
        for i in range(n_slow):
            if i not in slow:
                try:
                    slow[i] = connect(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")
                    lived[i] = 0.0
                except OSError:
                    pass
print(len(slow), round(max(lived.values(), default=0.0), 1), len(streams))

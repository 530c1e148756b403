#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""A serial hand scanner for tests: a pty pair whose slave side appears at LINK.

Commands, one per line on stdin:
  plug            open a new pty pair and link its slave at LINK (the scanner arrives)
  unplug          close the master and remove LINK (the scanner is pulled: the
                  daemon's side reads a hang-up)
  send HEX EOL    write the bytes (hex) then the line end (cr, lf or crlf)
  quit
Each command is answered with "ok" on stdout once done, so a test can wait.
"""
import os
import sys

link = sys.argv[1]
master = None
EOLS = {"cr": b"\r", "lf": b"\n", "crlf": b"\r\n", "none": b""}

for line in sys.stdin:
    words = line.split()
    if not words:
        continue
    cmd = words[0]
    if cmd == "plug":
        master, slave = os.openpty()
        name = os.ttyname(slave)
        os.close(slave)  # the daemon opens it by name, as it would /dev/ttyACM0
        tmp = link + ".new"
        os.symlink(name, tmp)
        os.rename(tmp, link)  # appears at once, as udev's by-id links do
    elif cmd == "unplug":
        os.unlink(link)
        os.close(master)
        master = None
    elif cmd == "send":
        data = bytes.fromhex(words[1]) + EOLS[words[2]]
        while data:
            data = data[os.write(master, data):]
    elif cmd == "quit":
        break
    print("ok", flush=True)

#!/usr/bin/python3
"""Self-checks of the benchmark machine.

  probe.py rtt HOST PORT [COUNT]
      opens COUNT (default 7) TCP connections to a POP3 server and prints
      the median time to connect and the median time until the greeting
      line has arrived, in milliseconds: "connect_ms greeting_ms".
  probe.py pop3 HOST PORT USER PASSWORD [COUNT]
      the server's own cost of a poll: times (median of COUNT, default 3)
      plain-TCP sessions USER, PASS, then STAT / UIDL / LIST + UIDL, then
      QUIT, each command sent after the previous response (no pipelining),
      and prints "stat_ms uidl_ms list_uidl_ms".
  probe.py index HOST PORT USER PASSWORD
      one plain-TCP session USER, PASS, LIST, UIDL, QUIT (Dovecot then
      indexes the mailbox and caches the sizes); prints the number of
      messages.
  probe.py fsync DIR [COUNT]
      writes COUNT (default 100) files of 10 KB in DIR, fsyncing each, then
      COUNT more fsyncing each file and DIR; prints the median latency of
      one "file" and one "file+dir" step in milliseconds; removes them.
"""

import os
import socket
import statistics
import sys
import time


def rtt(host, port, count):
    conn, greet = [], []
    for _ in range(count):
        t0 = time.monotonic()
        s = socket.create_connection((host, port), timeout=10)
        t1 = time.monotonic()
        data = b""
        while b"\n" not in data:
            b = s.recv(512)
            if not b:
                break
            data += b
        t2 = time.monotonic()
        s.close()
        if not data.startswith(b"+OK"):
            sys.stderr.write("probe.py: no POP3 greeting from %s:%d\n" % (host, port))
            return 1
        conn.append((t1 - t0) * 1000)
        greet.append((t2 - t0) * 1000)
        time.sleep(0.05)
    print("%.1f %.1f" % (statistics.median(conn), statistics.median(greet)))
    return 0


def pop3_session(host, port, user, password, cmds, timeout=120):
    s = socket.create_connection((host, port), timeout=timeout)
    f = s.makefile("rb")

    def status():
        line = f.readline()
        if not line.startswith(b"+OK"):
            raise RuntimeError("server said %r" % line[:80])

    def multiline():
        status()
        while True:
            line = f.readline()
            if not line:
                raise RuntimeError("connection closed")
            if line == b".\r\n":
                return
            lines.append(line)

    lines = []
    t0 = time.monotonic()
    status()
    for c, multi in [("USER " + user, False), ("PASS " + password, False)] + cmds + [("QUIT", False)]:
        s.sendall(c.encode() + b"\r\n")
        multiline() if multi else status()
    t = time.monotonic() - t0
    s.close()
    return t * 1000, lines


def pop3(host, port, user, password, count):
    kinds = [[("STAT", False)], [("UIDL", True)], [("LIST", True), ("UIDL", True)]]
    res = []
    for cmds in kinds:
        res.append(statistics.median(pop3_session(host, port, user, password, cmds)[0] for _ in range(count)))
    print(" ".join("%.1f" % x for x in res))
    return 0


def index(host, port, user, password):
    _, lines = pop3_session(host, port, user, password, [("LIST", True), ("UIDL", True)], timeout=900)
    print(len(lines) // 2)
    return 0


def fsync(d, count):
    os.makedirs(d, exist_ok=True)
    data = b"x" * 10240
    dfd = os.open(d, os.O_RDONLY)
    steps = {"file": [], "dir": []}
    try:
        for kind in ("file", "dir"):
            for i in range(count):
                p = os.path.join(d, "%s%d" % (kind, i))
                t0 = time.monotonic()
                fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                os.write(fd, data)
                os.fsync(fd)
                os.close(fd)
                if kind == "dir":
                    os.fsync(dfd)
                steps[kind].append((time.monotonic() - t0) * 1000)
    finally:
        os.close(dfd)
        for kind in ("file", "dir"):
            for i in range(count):
                try:
                    os.unlink(os.path.join(d, "%s%d" % (kind, i)))
                except FileNotFoundError:
                    pass
    print("%.2f %.2f" % (statistics.median(steps["file"]), statistics.median(steps["dir"])))
    return 0


def main():
    a = sys.argv[1:]
    if len(a) in (3, 4) and a[0] == "rtt":
        return rtt(a[1], int(a[2]), int(a[3]) if len(a) == 4 else 7)
    if len(a) in (5, 6) and a[0] == "pop3":
        return pop3(a[1], int(a[2]), a[3], a[4], int(a[5]) if len(a) == 6 else 3)
    if len(a) == 5 and a[0] == "index":
        return index(a[1], int(a[2]), a[3], a[4])
    if len(a) in (2, 3) and a[0] == "fsync":
        return fsync(a[1], int(a[2]) if len(a) == 3 else 100)
    sys.stderr.write(__doc__)
    return 64


if __name__ == "__main__":
    sys.exit(main())

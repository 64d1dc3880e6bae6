#!/usr/bin/python3
"""A tiny SOCKS5 server for the tests (RFC 1928, CONNECT, no authentication).

  socks5.py --port-file F [--map NAME=ADDR]... [--reply N] [--method-reply HEX]
            [--log F] [--sessions N] [--max-lifetime S]

Listens on 127.0.0.1 (random port, written to F). Names in CONNECT requests
are resolved ONLY through --map (so a test can use a name that nothing but
the proxy knows); an unknown name gets reply 4 (host unreachable). --reply N
answers every CONNECT with status N instead of connecting. --method-reply
replaces the answer to the greeting (e.g. 05ff: no acceptable method,
0400: not SOCKS5). Each request is logged as "ATYP NAME PORT" to --log.
Relays bytes both ways until either side closes. Exits after --sessions
connections (default 1) or --max-lifetime seconds (default 60).
"""

import argparse
import os
import select
import socket
import struct
import sys
import time


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise EOFError
        buf += chunk
    return buf


def relay(a, b, deadline):
    socks = [a, b]
    while time.monotonic() < deadline:
        r, _, _ = select.select(socks, [], [], 1.0)
        for s in r:
            data = s.recv(65536)
            other = b if s is a else a
            if not data:
                try:
                    other.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
                return
            other.sendall(data)


def serve(c, args, deadline):
    greeting = recv_exact(c, 2)
    recv_exact(c, greeting[1])
    if args.method_reply:
        c.sendall(bytes.fromhex(args.method_reply))
        return
    c.sendall(b"\x05\x00")
    ver, cmd, _, atyp = recv_exact(c, 4)
    if atyp == 1:
        name = socket.inet_ntop(socket.AF_INET, recv_exact(c, 4))
    elif atyp == 4:
        name = socket.inet_ntop(socket.AF_INET6, recv_exact(c, 16))
    elif atyp == 3:
        name = recv_exact(c, recv_exact(c, 1)[0]).decode("utf-8", "replace")
    else:
        c.sendall(b"\x05\x08\x00\x01\0\0\0\0\0\0")
        return
    port = struct.unpack("!H", recv_exact(c, 2))[0]
    if args.log:
        with open(args.log, "a") as f:
            f.write("%d %s %d\n" % (atyp, name, port))
    if args.reply is not None:
        c.sendall(bytes([5, args.reply, 0, 1, 0, 0, 0, 0, 0, 0]))
        return
    addr = dict(m.split("=", 1) for m in args.map).get(name) if atyp == 3 else name
    if addr is None or cmd != 1:
        c.sendall(bytes([5, 4 if addr is None else 7, 0, 1, 0, 0, 0, 0, 0, 0]))
        return
    try:
        t = socket.create_connection((addr, port), timeout=5)
    except OSError:
        c.sendall(b"\x05\x05\x00\x01\0\0\0\0\0\0")
        return
    c.sendall(b"\x05\x00\x00\x01\x7f\x00\x00\x01" + struct.pack("!H", t.getsockname()[1]))
    relay(c, t, deadline)
    t.close()


def main():
    p = argparse.ArgumentParser(description="tiny SOCKS5 server for tests")
    p.add_argument("--port-file", required=True)
    p.add_argument("--map", action="append", default=[])
    p.add_argument("--reply", type=int)
    p.add_argument("--method-reply")
    p.add_argument("--log")
    p.add_argument("--sessions", type=int, default=1)
    p.add_argument("--max-lifetime", type=float, default=60.0)
    args = p.parse_args()
    deadline = time.monotonic() + args.max_lifetime
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", 0))
    ls.listen(8)
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % ls.getsockname()[1])
    os.rename(tmp, args.port_file)
    for _ in range(args.sessions):
        ls.settimeout(max(0.1, deadline - time.monotonic()))
        try:
            c, _ = ls.accept()
        except socket.timeout:
            break
        c.settimeout(10)
        try:
            serve(c, args, deadline)
        except (EOFError, OSError) as e:
            sys.stderr.write("socks5.py: %s\n" % e)
        finally:
            c.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

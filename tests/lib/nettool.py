#!/usr/bin/python3
"""Small network helpers for the tests (loopback only).

  nettool.py freeports [--host H] N
      print N distinct TCP ports that were free on H (default 127.0.0.1),
      one per line (bound to port 0 at the same time, then released).

  nettool.py wait [--host H] [--timeout S] [--greeting] [--pid PID] PORT...
      wait until every PORT accepts a TCP connection (with --greeting: and
      the first PORT sends a line starting with "+OK"); polls every 20 ms, gives up after S
      seconds (default 15) or as soon as process PID is gone. Exit 0 when
      ready, 1 on timeout, 2 when PID died.

  nettool.py session [--host H] [--tls] [--cafile F] [--servername N]
                     [--timeout S] PORT  < commands
      a scripted POP3 client: prints the greeting, then for each line of
      stdin sends it (CRLF-terminated) and prints the complete response
      (multi-line responses of CAPA, LIST, UIDL, RETR, TOP up to the final
      "."), CRLF turned into LF, byte for byte. With --tls the connection is
      TLS from the start (pop3s); after a successful "STLS" command the
      session continues over TLS. Certificates are verified only when
      --cafile is given (host name checked against --servername, default
      "localhost"). Stops after QUIT's response or at end of input.
      Exit 0, or 3 if the server closed the connection unexpectedly, 4 on a
      timeout, 5 on a TLS error.
"""

import argparse
import os
import socket
import ssl
import sys
import time


def family(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def cmd_freeports(a):
    socks, ports = [], []
    try:
        while len(ports) < a.n:
            s = socket.socket(family(a.host), socket.SOCK_STREAM)
            s.bind((a.host, 0))
            socks.append(s)
            p = s.getsockname()[1]
            if p not in ports:
                ports.append(p)
    finally:
        for s in socks:
            s.close()
    for p in ports:
        print(p)
    return 0


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            st = f.read()
        return st[st.rindex(")") + 2] not in "ZX"
    except (OSError, ValueError, IndexError):
        try:
            os.kill(pid, 0)
            return True
        except ProcessLookupError:
            return False
        except PermissionError:
            return True


def probe(host, port, greeting):
    try:
        with socket.create_connection((host, port), timeout=2) as s:
            if not greeting:
                return True
            s.settimeout(2)
            buf = b""
            while b"\n" not in buf:
                d = s.recv(512)
                if not d:
                    return False
                buf += d
            return buf.startswith(b"+OK")
    except OSError:
        return False


def cmd_wait(a):
    deadline = time.monotonic() + a.timeout
    todo = list(a.ports)
    while True:
        todo = [p for p in todo if not probe(a.host, p, a.greeting and p == a.ports[0])]
        if not todo:
            return 0
        if a.pid and not alive(a.pid):
            return 2
        if time.monotonic() > deadline:
            sys.stderr.write("nettool: ports not ready after %gs: %s\n"
                             % (a.timeout, " ".join(map(str, todo))))
            return 1
        time.sleep(0.02)


class Closed(Exception):
    pass


class Conn:
    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def line(self):
        while b"\n" not in self.buf:
            d = self.sock.recv(65536)
            if not d:
                raise Closed()
            self.buf += d
        i = self.buf.index(b"\n") + 1
        ln, self.buf = self.buf[:i], self.buf[i:]
        return ln

    def send(self, data):
        self.sock.sendall(data)


def out(ln):
    if ln.endswith(b"\r\n"):
        ln = ln[:-2] + b"\n"
    sys.stdout.buffer.write(ln)
    sys.stdout.buffer.flush()


def tls_wrap(sock, a):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if a.cafile:
        ctx.load_verify_locations(a.cafile)
    else:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx.wrap_socket(sock, server_hostname=a.servername)


MULTI_ALWAYS = {b"CAPA", b"RETR", b"TOP"}
MULTI_NOARG = {b"LIST", b"UIDL"}


def cmd_session(a):
    try:
        sock = socket.create_connection((a.host, a.port), timeout=a.timeout)
        if a.tls:
            sock = tls_wrap(sock, a)
        c = Conn(sock)
        out(c.line())
        for raw in sys.stdin.buffer:
            cmd = raw.rstrip(b"\r\n")
            c.send(cmd + b"\r\n")
            words = cmd.split()
            verb = words[0].upper() if words else b""
            first = c.line()
            out(first)
            if first.startswith(b"+OK") and (verb in MULTI_ALWAYS or
                                             (verb in MULTI_NOARG and len(words) == 1)):
                while True:
                    ln = c.line()
                    out(ln)
                    if ln in (b".\r\n", b".\n"):
                        break
            if verb == b"STLS" and first.startswith(b"+OK"):
                if c.buf:
                    sys.stderr.write("nettool: data after STLS +OK\n")
                    return 5
                c = Conn(tls_wrap(c.sock, a))
            if verb == b"QUIT":
                break
        return 0
    except Closed:
        sys.stderr.write("nettool: connection closed by server\n")
        return 3
    except socket.timeout:
        sys.stderr.write("nettool: timeout\n")
        return 4
    except ssl.SSLError as e:
        sys.stderr.write("nettool: TLS error: %s\n" % e)
        return 5
    except OSError as e:
        sys.stderr.write("nettool: %s\n" % e)
        return 3


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    f = sub.add_parser("freeports")
    f.add_argument("--host", default="127.0.0.1")
    f.add_argument("n", type=int)
    w = sub.add_parser("wait")
    w.add_argument("--host", default="127.0.0.1")
    w.add_argument("--timeout", type=float, default=15)
    w.add_argument("--greeting", action="store_true")
    w.add_argument("--pid", type=int, default=0)
    w.add_argument("ports", type=int, nargs="+")
    s = sub.add_parser("session")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--tls", action="store_true")
    s.add_argument("--cafile")
    s.add_argument("--servername", default="localhost")
    s.add_argument("--timeout", type=float, default=20)
    s.add_argument("port", type=int)
    a = p.parse_args()
    return {"freeports": cmd_freeports, "wait": cmd_wait,
            "session": cmd_session}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())

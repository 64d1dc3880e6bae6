#!/usr/bin/python3
"""popchat: a tiny scripted POP3 client for testing faultpop (and servers).

Reads a script from stdin, one item per line, and prints what the server
sends, one received line per output line (CRLF removed, control and 8-bit
bytes shown as \\xNN).  Script lines:

    COMMAND ARGS      send "COMMAND ARGS\\r\\n" and read its reply: one line,
                      or up to the "." line when the command has a
                      multi-line answer (CAPA, LIST, UIDL, TOP, RETR, AUTH
                      without arguments) and the reply starts with "+OK"
    !send TEXT        send TEXT + CRLF without reading anything
    !raw TEXT         send TEXT as is (escapes \\r \\n \\xNN \\\\ allowed)
    !read             read one line
    !readml           read a multi-line reply
    !drain            read until the server closes or --timeout passes
    !starttls         TLS handshake (no certificate check)
    !pipeline on|off  with on, commands are sent at once and their replies
                      read when the script ends, a !read*, or !pipeline off

Markers: "[closed]" when the server closed the connection, "[timeout]"
when nothing arrived within --timeout seconds.  Exit status: 0, or 3 if
the connection was closed early, 4 on a timeout.
"""

import argparse
import re
import socket
import ssl
import sys
import time

MULTI = {"CAPA", "RETR", "TOP"}


class Gone(Exception):
    pass


class Chat:
    def __init__(self, sock, timeout, out):
        self.sock = sock
        self.timeout = timeout
        self.buf = b""
        self.out = out
        self.status = 0

    def show(self, line):
        text = "".join(chr(c) if 32 <= c < 127 else "\\x%02x" % c for c in line)
        self.out.write(text + "\n")
        self.out.flush()

    def recv_line(self, limit=2 * 1024 * 1024):
        deadline = time.monotonic() + self.timeout
        while b"\n" not in self.buf:
            if len(self.buf) > limit:
                line, self.buf = self.buf, b""
                return line
            left = deadline - time.monotonic()
            if left <= 0:
                self.out.write("[timeout]\n")
                self.status = 4
                raise Gone()
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            except (ConnectionError, ssl.SSLError, OSError):
                data = b""
            if not data:
                if self.buf:
                    self.show(self.buf)
                    self.buf = b""
                self.out.write("[closed]\n")
                self.status = 3
                raise Gone()
            self.buf += data
        line, _, self.buf = self.buf.partition(b"\n")
        return line[:-1] if line.endswith(b"\r") else line

    def read_reply(self, multi):
        line = self.recv_line()
        self.show(line)
        if multi and line.startswith(b"+OK"):
            while True:
                line = self.recv_line()
                self.show(line)
                if line == b".":
                    break

    def send(self, data):
        try:
            self.sock.sendall(data)
        except OSError:
            self.out.write("[closed]\n")
            self.status = 3
            raise Gone()


def is_multi(cmd):
    words = cmd.split()
    if not words:
        return False
    verb = words[0].upper()
    return verb in MULTI or (verb in ("LIST", "UIDL", "AUTH") and len(words) == 1)


def unescape(text):
    return re.sub(rb"\\(x[0-9a-fA-F]{2}|r|n|\\)",
                  lambda m: {b"r": b"\r", b"n": b"\n", b"\\": b"\\"}.get(
                      m.group(1), bytes([int(m.group(1)[1:], 16)]) if m.group(1)[:1] == b"x"
                      else b""), text)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int)
    p.add_argument("--unix")
    p.add_argument("--tls", action="store_true", help="TLS right after connecting")
    p.add_argument("--timeout", type=float, default=5.0)
    p.add_argument("--no-greeting", action="store_true",
                   help="do not wait for the greeting first")
    a = p.parse_args()
    if a.unix:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(a.timeout)
        sock.connect(a.unix)
    else:
        sock = socket.create_connection((a.host, a.port), timeout=a.timeout)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if a.tls:
        sock = ctx.wrap_socket(sock)
    chat = Chat(sock, a.timeout, sys.stdout)
    pending = []
    pipeline = False

    def collect():
        while pending:
            chat.read_reply(pending.pop(0))

    try:
        if not a.no_greeting:
            chat.read_reply(False)
        for raw in sys.stdin.buffer.read().split(b"\n"):
            line = raw.rstrip(b"\r")
            if not line:
                continue
            if line.startswith(b"!"):
                word, _, rest = line[1:].partition(b" ")
                word = word.decode()
                if word == "send":
                    chat.send(rest + b"\r\n")
                elif word == "raw":
                    chat.send(unescape(rest))
                elif word == "read":
                    collect()
                    chat.show(chat.recv_line())
                elif word == "readml":
                    collect()
                    chat.read_reply(True)
                elif word == "drain":
                    collect()
                    while True:
                        chat.show(chat.recv_line())
                elif word == "starttls":
                    collect()
                    sock = ctx.wrap_socket(sock)
                    chat.sock = sock
                elif word == "pipeline":
                    collect()
                    pipeline = rest.strip() == b"on"
                else:
                    sys.exit("popchat: unknown directive !%s" % word)
                continue
            chat.send(line + b"\r\n")
            pending.append(is_multi(line.decode("latin-1")))
            if not pipeline:
                collect()
        collect()
    except Gone:
        pass
    sys.exit(chat.status)


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""A one-session POP3 server doing SCRAM-SHA-256 (RFC 5802/7677) on
127.0.0.1, for the SASL success-rule tests.

  scramsrv.py --port-file FILE --user U --password P [--bad-signature]
              [--timeout S]

Offers "SASL SCRAM-SHA-256", verifies the client's proof, and answers
with the server signature (a wrong one with --bad-signature); after the
client's final (empty) line it says +OK. It prints one line at the end:
"proof ok", "proof bad", "cancelled" (the client sent "*"), or "closed".
"""

import argparse
import base64
import hashlib
import hmac
import os
import socket
import sys


def H(x):
    return hashlib.sha256(x).digest()


def HMAC(k, x):
    return hmac.new(k, x, hashlib.sha256).digest()


def xor(a, b):
    return bytes(i ^ j for i, j in zip(a, b))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port-file", required=True)
    p.add_argument("--user", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--bad-signature", action="store_true")
    p.add_argument("--timeout", type=float, default=20)
    a = p.parse_args()
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(1)
    ls.settimeout(a.timeout)
    tmp = a.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % ls.getsockname()[1])
    os.rename(tmp, a.port_file)
    c, _ = ls.accept()
    c.settimeout(a.timeout)
    rf = c.makefile("rb")

    def send(line):
        c.sendall(line.encode() + b"\r\n")

    def recv():
        line = rf.readline()
        if not line:
            raise EOFError
        return line.rstrip(b"\r\n").decode()

    result = "closed"
    try:
        send("+OK scramsrv ready")
        while True:
            cmd = recv()
            verb = cmd.split(" ")[0].upper()
            if verb == "CAPA":
                send("+OK\r\nUSER\r\nSASL SCRAM-SHA-256\r\n.")
            elif verb == "QUIT":
                send("+OK bye")
                break
            elif verb == "AUTH":
                parts = cmd.split(" ")
                if len(parts) > 2:
                    first = parts[2]
                else:
                    send("+ ")
                    first = recv()
                cf = base64.b64decode(first).decode()
                gs2, bare = cf[:3], cf[3:]
                attrs = dict(kv.split("=", 1) for kv in bare.split(","))
                salt, it = os.urandom(16), 4096
                snonce = attrs["r"] + base64.b64encode(os.urandom(18)).decode()
                sf = "r=%s,s=%s,i=%d" % (snonce, base64.b64encode(salt).decode(), it)
                send("+ " + base64.b64encode(sf.encode()).decode())
                final = recv()
                if final == "*":
                    result = "cancelled"
                    send("-ERR cancelled")
                    continue
                fin = base64.b64decode(final).decode()
                without_proof, proof = fin.rsplit(",p=", 1)
                am = ",".join([bare, sf, without_proof]).encode()
                salted = hashlib.pbkdf2_hmac("sha256", a.password.encode(), salt, it)
                ck = HMAC(salted, b"Client Key")
                sig = HMAC(H(ck), am)
                if xor(ck, sig) != base64.b64decode(proof) or attrs.get("n") != a.user:
                    result = "proof bad"
                    send("-ERR [AUTH] bad proof")
                    continue
                result = "proof ok"
                ssig = HMAC(HMAC(salted, b"Server Key"), am)
                if a.bad_signature:
                    ssig = bytes(b ^ 1 for b in ssig)
                send("+ " + base64.b64encode(b"v=" + base64.b64encode(ssig)).decode())
                last = recv()
                if last == "*":
                    result = "proof ok, cancelled"
                    send("-ERR cancelled")
                    continue
                send("+OK logged in")
            else:
                send("-ERR unknown command")
    except (EOFError, OSError, socket.timeout):
        pass
    print(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())

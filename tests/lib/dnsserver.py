#!/usr/bin/env python3
"""A tiny DNS responder for tests: answers from a small zone file.

Usage: dnsserver.py ZONEFILE [--addr 127.0.0.1] [--port 53] [--ready FILE]
                    [--log FILE] [--lifetime SECONDS]

Zone file, one record per line ('#' starts a comment; names are matched
without case and without a trailing dot):

    NAME SRV PRIORITY WEIGHT PORT TARGET   an SRV record ("." is the root)
    NAME CNAME TARGET                      a CNAME; SRV records of TARGET follow it
    NAME SERVFAIL                          answer with rcode 2 (server failure)
    NAME REFUSED                           answer with rcode 5
    NAME RAW COUNT HEX                     COUNT answer records given as raw bytes
    NAME DROP                              never answer

A query for a name that has records but none of the asked type gets an
empty NOERROR answer; any other name gets NXDOMAIN. It serves UDP and TCP
on the same port. Every query is appended to the log file as "NAME TYPE".
The ready file is written once both sockets listen. The server exits after
--lifetime seconds (default 60) so that a forgotten one cannot linger.
"""

import argparse
import os
import select
import socket
import struct
import sys
import time

T_SRV, T_CNAME, C_IN = 33, 5, 1


def encode_name(name):
    name = name.rstrip('.')
    out = b''
    if name:
        for label in name.split('.'):
            b = label.encode()
            out += bytes([len(b)]) + b
    return out + b'\0'


def norm(name):
    return name.rstrip('.').lower()


def load_zone(path):
    zone = {}
    with open(path) as f:
        for line in f:
            line = line.split('#', 1)[0].split()
            if not line:
                continue
            name, kind, args = norm(line[0]), line[1].upper(), line[2:]
            zone.setdefault(name, []).append((kind, args))
    return zone


def read_name(msg, off):
    labels = []
    while True:
        n = msg[off]
        off += 1
        if n == 0:
            return '.'.join(labels), off
        labels.append(msg[off:off + n].decode('utf-8', 'replace'))
        off += n


def rr(owner, rtype, rdata):
    return encode_name(owner) + struct.pack('>HHIH', rtype, C_IN, 300, len(rdata)) + rdata


def answer(zone, msg):
    qid, flags, qd = struct.unpack('>HHH', msg[:6])
    qname, off = read_name(msg, 12)
    qtype, _ = struct.unpack('>HH', msg[off:off + 4])
    question = msg[12:off + 4]
    rd = flags & 0x0100
    entries = zone.get(norm(qname))
    rcode, records, count = 0, b'', 0
    if entries is None:
        rcode = 3
    for kind, args in entries or []:
        if kind == 'DROP':
            return None
        if kind == 'SERVFAIL':
            rcode = 2
        elif kind == 'REFUSED':
            rcode = 5
        elif kind == 'RAW':
            count += int(args[0])
            records += bytes.fromhex(''.join(args[1:]))
        elif kind == 'CNAME':
            records += rr(qname, T_CNAME, encode_name(args[0]))
            count += 1
            for k2, a2 in zone.get(norm(args[0]), []):
                if k2 == 'SRV' and qtype == T_SRV:
                    records += rr(args[0], T_SRV, struct.pack('>HHH', *map(int, a2[:3])) + encode_name(a2[3]))
                    count += 1
        elif kind == 'SRV' and qtype == T_SRV:
            records += rr(qname, T_SRV, struct.pack('>HHH', *map(int, args[:3])) + encode_name(args[3]))
            count += 1
    if rcode:
        records, count = b'', 0
    header = struct.pack('>HHHHHH', qid, 0x8000 | 0x0400 | rd | 0x0080 | rcode, 1, count, 0, 0)
    return header + question + records


def truncated(out):
    # too big for plain UDP: the TC bit and no records, the client retries over TCP
    qid, flags = struct.unpack('>HH', out[:4])
    _, off = read_name(out, 12)
    return struct.pack('>HHHHHH', qid, flags | 0x0200, 1, 0, 0, 0) + out[12:off + 4]


def main():
    p = argparse.ArgumentParser()
    p.add_argument('zone')
    p.add_argument('--addr', default='127.0.0.1')
    p.add_argument('--port', type=int, default=53)
    p.add_argument('--ready')
    p.add_argument('--log')
    p.add_argument('--lifetime', type=float, default=60)
    a = p.parse_args()
    zone = load_zone(a.zone)
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind((a.addr, a.port))
    tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    tcp.bind((a.addr, a.port))
    tcp.listen(8)
    log = open(a.log, 'a') if a.log else None
    if a.ready:
        with open(a.ready + '.tmp', 'w') as f:
            f.write('%d\n' % os.getpid())
        os.rename(a.ready + '.tmp', a.ready)
    end = time.monotonic() + a.lifetime

    def handle(msg):
        try:
            if log:
                qname, off = read_name(msg, 12)
                log.write('%s %d\n' % (qname, struct.unpack('>H', msg[off:off + 2])[0]))
                log.flush()
            return answer(zone, msg)
        except (IndexError, struct.error, ValueError):
            return None

    while time.monotonic() < end:
        r, _, _ = select.select([udp, tcp], [], [], max(0.0, end - time.monotonic()))
        if udp in r:
            msg, peer = udp.recvfrom(65535)
            out = handle(msg)
            if out is not None:
                udp.sendto(truncated(out) if len(out) > 512 else out, peer)
        if tcp in r:
            conn, _ = tcp.accept()
            conn.settimeout(2)
            try:
                n = struct.unpack('>H', conn.recv(2, socket.MSG_WAITALL))[0]
                out = handle(conn.recv(n, socket.MSG_WAITALL))
                if out is not None:
                    conn.sendall(struct.pack('>H', len(out)) + out)
            except (OSError, struct.error):
                pass
            conn.close()
    return 0


if __name__ == '__main__':
    sys.exit(main())

"""NTLM (v1) for faultpop's server side: messages and response checks.

Pure Python on purpose: OpenSSL 3 disables MD4 and single DES by default, so
hashlib and the ssl module cannot be relied on for them. Slow, but a login
needs six DES blocks.

  md4(data)                    RFC 1320
  des_encrypt(key8, block8)    FIPS 46-3, one block
  nt_hash(password)            MD4(UTF-16LE(password))
  lm_hash(password)            DES("KGS!@#$%") under the upper-cased, 14-byte
                               OEM password
  response(hash16, challenge8) the 24-byte answer: the hash padded to 21
                               bytes, three DES keys of 7 bytes each
  type2(challenge8, target)    a challenge message (flags: Unicode, NTLM)
  parse(msg, kind)             a type 1 or 3 message as a dict, or a str
                               saying what is wrong with it
"""

import struct


def _rotl(v, s):
    v &= 0xFFFFFFFF
    return ((v << s) | (v >> (32 - s))) & 0xFFFFFFFF


def md4(data):
    msg = bytearray(data)
    bits = len(data) * 8
    msg.append(0x80)
    while len(msg) % 64 != 56:
        msg.append(0)
    msg += struct.pack("<Q", bits & 0xFFFFFFFFFFFFFFFF)
    state = [0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476]
    rounds = (
        (lambda x, y, z: (x & y) | (~x & z), range(16), (3, 7, 11, 19), 0),
        (lambda x, y, z: (x & y) | (x & z) | (y & z),
         (0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15), (3, 5, 9, 13), 0x5A827999),
        (lambda x, y, z: x ^ y ^ z,
         (0, 8, 4, 12, 2, 10, 6, 14, 1, 9, 5, 13, 3, 11, 7, 15), (3, 9, 11, 15), 0x6ED9EBA1),
    )
    for off in range(0, len(msg), 64):
        x = struct.unpack("<16I", bytes(msg[off:off + 64]))
        h = list(state)
        for fn, order, shifts, const in rounds:
            for j, k in enumerate(order):
                i = -j % 4
                h[i] = _rotl(h[i] + fn(h[(i + 1) % 4], h[(i + 2) % 4], h[(i + 3) % 4]) + x[k] + const,
                             shifts[j % 4])
        state = [(a + b) & 0xFFFFFFFF for a, b in zip(state, h)]
    return struct.pack("<4I", *state)


_PC1 = (57, 49, 41, 33, 25, 17, 9, 1, 58, 50, 42, 34, 26, 18, 10, 2, 59, 51, 43, 35, 27, 19, 11, 3,
        60, 52, 44, 36, 63, 55, 47, 39, 31, 23, 15, 7, 62, 54, 46, 38, 30, 22, 14, 6, 61, 53, 45, 37,
        29, 21, 13, 5, 28, 20, 12, 4)
_PC2 = (14, 17, 11, 24, 1, 5, 3, 28, 15, 6, 21, 10, 23, 19, 12, 4, 26, 8, 16, 7, 27, 20, 13, 2,
        41, 52, 31, 37, 47, 55, 30, 40, 51, 45, 33, 48, 44, 49, 39, 56, 34, 53, 46, 42, 50, 36, 29, 32)
_SHIFTS = (1, 1, 2, 2, 2, 2, 2, 2, 1, 2, 2, 2, 2, 2, 2, 1)
_IP = (58, 50, 42, 34, 26, 18, 10, 2, 60, 52, 44, 36, 28, 20, 12, 4, 62, 54, 46, 38, 30, 22, 14, 6,
       64, 56, 48, 40, 32, 24, 16, 8, 57, 49, 41, 33, 25, 17, 9, 1, 59, 51, 43, 35, 27, 19, 11, 3,
       61, 53, 45, 37, 29, 21, 13, 5, 63, 55, 47, 39, 31, 23, 15, 7)
_FP = tuple(_IP.index(i) + 1 for i in range(1, 65))
_E = (32, 1, 2, 3, 4, 5, 4, 5, 6, 7, 8, 9, 8, 9, 10, 11, 12, 13, 12, 13, 14, 15, 16, 17,
      16, 17, 18, 19, 20, 21, 20, 21, 22, 23, 24, 25, 24, 25, 26, 27, 28, 29, 28, 29, 30, 31, 32, 1)
_P = (16, 7, 20, 21, 29, 12, 28, 17, 1, 15, 23, 26, 5, 18, 31, 10,
      2, 8, 24, 14, 32, 27, 3, 9, 19, 13, 30, 6, 22, 11, 4, 25)
_S = (
    "14 4 13 1 2 15 11 8 3 10 6 12 5 9 0 7 0 15 7 4 14 2 13 1 10 6 12 11 9 5 3 8 "
    "4 1 14 8 13 6 2 11 15 12 9 7 3 10 5 0 15 12 8 2 4 9 1 7 5 11 3 14 10 0 6 13",
    "15 1 8 14 6 11 3 4 9 7 2 13 12 0 5 10 3 13 4 7 15 2 8 14 12 0 1 10 6 9 11 5 "
    "0 14 7 11 10 4 13 1 5 8 12 6 9 3 2 15 13 8 10 1 3 15 4 2 11 6 7 12 0 5 14 9",
    "10 0 9 14 6 3 15 5 1 13 12 7 11 4 2 8 13 7 0 9 3 4 6 10 2 8 5 14 12 11 15 1 "
    "13 6 4 9 8 15 3 0 11 1 2 12 5 10 14 7 1 10 13 0 6 9 8 7 4 15 14 3 11 5 2 12",
    "7 13 14 3 0 6 9 10 1 2 8 5 11 12 4 15 13 8 11 5 6 15 0 3 4 7 2 12 1 10 14 9 "
    "10 6 9 0 12 11 7 13 15 1 3 14 5 2 8 4 3 15 0 6 10 1 13 8 9 4 5 11 12 7 2 14",
    "2 12 4 1 7 10 11 6 8 5 3 15 13 0 14 9 14 11 2 12 4 7 13 1 5 0 15 10 3 9 8 6 "
    "4 2 1 11 10 13 7 8 15 9 12 5 6 3 0 14 11 8 12 7 1 14 2 13 6 15 0 9 10 4 5 3",
    "12 1 10 15 9 2 6 8 0 13 3 4 14 7 5 11 10 15 4 2 7 12 9 5 6 1 13 14 0 11 3 8 "
    "9 14 15 5 2 8 12 3 7 0 4 10 1 13 11 6 4 3 2 12 9 5 15 10 11 14 1 7 6 0 8 13",
    "4 11 2 14 15 0 8 13 3 12 9 7 5 10 6 1 13 0 11 7 4 9 1 10 14 3 5 12 2 15 8 6 "
    "1 4 11 13 12 3 7 14 10 15 6 8 0 5 9 2 6 11 13 8 1 4 10 7 9 5 0 15 14 2 3 12",
    "13 2 8 4 6 15 11 1 10 9 3 14 5 0 12 7 1 15 13 8 10 3 7 4 12 5 6 11 0 14 9 2 "
    "7 11 4 1 9 12 14 2 0 6 10 13 15 3 5 8 2 1 14 7 4 10 8 13 15 12 9 0 3 5 6 11",
)
_SBOX = tuple(tuple(int(v) for v in s.split()) for s in _S)


def _bits(data):
    return [(byte >> (7 - i)) & 1 for byte in data for i in range(8)]


def _bytes(bits):
    return bytes(sum(b << (7 - i) for i, b in enumerate(bits[k:k + 8])) for k in range(0, len(bits), 8))


def _perm(bits, table):
    return [bits[t - 1] for t in table]


def _subkeys(key8):
    cd = _perm(_bits(key8), _PC1)
    c, d = cd[:28], cd[28:]
    keys = []
    for s in _SHIFTS:
        c, d = c[s:] + c[:s], d[s:] + d[:s]
        keys.append(_perm(c + d, _PC2))
    return keys


def des_encrypt(key8, block8):
    bits = _perm(_bits(block8), _IP)
    left, right = bits[:32], bits[32:]
    for k in _subkeys(key8):
        x = [a ^ b for a, b in zip(_perm(right, _E), k)]
        out = []
        for n in range(8):
            six = x[6 * n:6 * n + 6]
            row = six[0] * 2 + six[5]
            col = six[1] * 8 + six[2] * 4 + six[3] * 2 + six[4]
            v = _SBOX[n][row * 16 + col]
            out += [(v >> 3) & 1, (v >> 2) & 1, (v >> 1) & 1, v & 1]
        left, right = right, [a ^ b for a, b in zip(left, _perm(out, _P))]
    return _bytes(_perm(right + left, _FP))


def _key56(seven):
    """7 key bytes spread over 8 (the low bit of each is DES's parity bit,
    which DES ignores)."""
    n = int.from_bytes(seven, "big")
    return bytes(((n >> (49 - 7 * i)) & 0x7F) << 1 for i in range(8))


def nt_hash(password):
    return md4(password.encode("utf-16-le"))


def lm_hash(password):
    pw = password.upper().encode("latin-1", "replace")[:14].ljust(14, b"\0")
    return des_encrypt(_key56(pw[:7]), b"KGS!@#$%") + des_encrypt(_key56(pw[7:]), b"KGS!@#$%")


def response(hash16, challenge8):
    h = hash16.ljust(21, b"\0")
    return b"".join(des_encrypt(_key56(h[i:i + 7]), challenge8) for i in (0, 7, 14))


SIGNATURE = b"NTLMSSP\0"
FLAGS = 0x00008201  # NEGOTIATE_UNICODE | NEGOTIATE_NTLM | NEGOTIATE_ALWAYS_SIGN


def type2(challenge8, target):
    name = target.encode("utf-16-le")
    return (SIGNATURE + struct.pack("<IHHII", 2, len(name), len(name), 48, FLAGS)
            + challenge8 + b"\0" * 8 + struct.pack("<HHI", 0, 0, 48 + len(name)) + name)


def _field(msg, at):
    """The payload a security buffer (length, allocated, offset) at `at` names."""
    if len(msg) < at + 8:
        return None
    length, _, offset = struct.unpack_from("<HHI", msg, at)
    if offset + length > len(msg):
        return None
    return msg[offset:offset + length]


def parse(msg, kind):
    if len(msg) < 12 or msg[:8] != SIGNATURE:
        return "no NTLMSSP signature"
    if struct.unpack_from("<I", msg, 8)[0] != kind:
        return "message type %d, want %d" % (struct.unpack_from("<I", msg, 8)[0], kind)
    if kind == 1:
        # flags at 12, then two OEM strings (libntlm: user, then domain)
        f = {"flags": struct.unpack_from("<I", msg, 12)[0] if len(msg) >= 16 else 0}
        for name, at in (("field1", 16), ("field2", 24)):
            v = _field(msg, at)
            if v is None:
                return "type 1: %s out of bounds" % name
            f[name] = v
        return f
    f = {}
    for name, at in (("lm", 12), ("nt", 20), ("domain", 28), ("user", 36), ("workstation", 44)):
        v = _field(msg, at)
        if v is None:
            return "type 3: %s field out of bounds" % name
        f[name] = v
    return f

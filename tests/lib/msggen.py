#!/usr/bin/python3
"""Deterministic RFC 5322 message corpus for the tests and benchmarks.

  msggen.py --seed S --count N --out DIR [--mix default|small|bench]
            [--start K] [--big MB] [--list]

Writes N messages with LF line ends to DIR/msg-KKKKKK.eml, K = START ..
START+N-1 (default START 0). Message K depends only on (seed, K, mix), so
"--count 10" writes the first ten messages of "--count 20", and a later
"--start 10 --count 10" adds the next ten. Every message has a unique
"Message-ID: <msggen.S.K@mpop-test.invalid>" (S = seed) and an
"X-Msggen: seed=S index=K kind=KIND" header, so that delivered copies can be
matched to their originals (see compare-maildir.py).

Mixes:
  default  K = 0..6 are the edge cases, in this order (when K < 7 is in range):
             0 empty-body   headers, blank line, nothing else
             1 no-newline   the last line has no trailing LF
             2 long-line    a single 70 000-byte body line (~75 KB message)
             3 dots         lines ".", "..", "...", ".x", "..y", ". ", a line
                            of only dots, a "." as last line
             4 from         lines "From ", ">From ", ">>From ", "From:", "from ",
                            "From" at the start of the body and at the end
             5 8bit         every byte 0x80..0xff, UTF-8 and Latin-1 text, TABs
             6 large        a 100 KB..1 MB message
           after that: 90 % 2-20 KB, 10 % 100 KB-1 MB, sprinkled with dot
           lines, From lines and 8-bit text.
  small    edge cases 0, 1, 3, 4, 5 as K = 0..4, then 1-4 KB messages. Fast.
  bench    no edge cases, all lines <= 78 bytes and every message ends with a
           LF (safe for fetchmail, which mangles lines > 8191 bytes):
           70 % 2-20 KB, 25 % 20-100 KB, 5 % 100 KB-1 MB.
--big MB   the last message (K = START+N-1) is replaced by a message of
           MB MiB (kind "big"), written in chunks.
--list     print the written file names.
"""

import argparse
import os
import random
import sys

WORDS = (
    "the of and to in is that for it as was with be by on not he this are or "
    "his from at which but have an they you were her she there been one all "
    "would their we him more when if will up other what about out so some "
    "time into only could new these two may then do first any my now such "
    "like our over man me even most made after also did many before must "
    "through back years where much your way well down should because each "
    "just those people how too little state good very make world still own "
    "see men work long get here between both life being under never day same "
    "another know while last might us great old year off come since against "
    "go came right used take three mailbox retrieve server message delivery "
    "pop3 maildir mbox uidl stream netstring certificate fingerprint account"
).split()

NAMES = ["Alice Archer", "Bob Baker", "Carol Cooper", "Dave Dyer", "Erin Evans",
         "Frank Fisher", "Grace Gardner", "Heidi Hunter", "Ivan Ives", "Judy Joiner"]

UTF8_LINES = [  # each at most 78 bytes in UTF-8
    "Grüße aus Köln, naïve café, smörgåsbord, œuvre, façade",
    "日本語のテキスト、中文文本",
    "한국어 텍스트, Ελληνικά, русский текст",
    "emoji: \U0001F4EC \U0001F4E8 \u2709 and math: \u2200x \u2208 \u211d, \u221e",
]
LATIN1_LINE = "Latin-1: d\xe9j\xe0 vu, na\xefve, \xa9 \xae \xb1 \xbd \xdf \xff".encode("latin-1")

DOT_LINES = [b".", b"..", b"...", b".x", b"..y", b". ", b".From x", b"....."]
FROM_LINES = [b"From the desk of the editor", b">From quoted", b">>From twice quoted",
              b"From: not a header", b"from lower case", b"From"]

BASE_DATE = 1583143200  # 2020-03-02 10:00:00 UTC
DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct",
          "Nov", "Dec"]


def rfc_date(t):
    import time
    tm = time.gmtime(t)
    return "%s, %02d %s %04d %02d:%02d:%02d +0000" % (
        DAYS[tm.tm_wday], tm.tm_mday, MONTHS[tm.tm_mon - 1], tm.tm_year,
        tm.tm_hour, tm.tm_min, tm.tm_sec)


def header(rng, seed, k, kind, charset="utf-8"):
    sender = rng.choice(NAMES)
    login = sender.split()[0].lower()
    t = BASE_DATE + k * 3600 + rng.randrange(3600)
    h = []
    if rng.random() < 0.5:
        h.append("Received: from mx%d.example.org (mx%d.example.org [192.0.2.%d])\n"
                 "\tby mail.example.net (Postfix) with ESMTPS id %08X\n"
                 "\tfor <test@example.net>; %s"
                 % (k % 7, k % 7, 1 + k % 250, rng.getrandbits(32), rfc_date(t + 5)))
    subj = " ".join(rng.choice(WORDS) for _ in range(rng.randrange(2, 7)))
    h += [
        "Date: %s" % rfc_date(t),
        "From: %s <%s@example.org>" % (sender, login),
        "To: Test User <test@example.net>",
        "Subject: [msggen %s/%d] %s" % (seed, k, subj),
        "Message-ID: <msggen.%s.%d@mpop-test.invalid>" % (seed, k),
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=%s" % charset,
        "Content-Transfer-Encoding: 8bit",
        "X-Msggen: seed=%s index=%d kind=%s" % (seed, k, kind),
    ]
    return ("\n".join(h) + "\n\n").encode("utf-8")


def text_line(rng, maxlen=76):
    n = rng.randrange(20, maxlen)
    words = rng.choices(WORDS, k=n // 4 + 1)
    s = " ".join(words)[:n].rstrip()
    return s.encode("ascii")


def _pool(sprinkle, maxlen):
    """A fixed pool of body lines (the same in every run): message bodies are
    drawn from it, which is much faster than composing every line."""
    rng = random.Random("msggen-pool:%s:%d" % (sprinkle, maxlen))
    pool = []
    for _ in range(8192):
        r = rng.random()
        if r < 0.08:
            pool.append(b"")
        elif sprinkle and r < 0.10:
            pool.append(rng.choice(DOT_LINES))
        elif sprinkle and r < 0.12:
            pool.append(rng.choice(FROM_LINES))
        elif sprinkle and r < 0.13:
            pool.append(rng.choice(UTF8_LINES).encode("utf-8"))
        else:
            pool.append(text_line(rng, maxlen))
    return pool


_POOLS = {}


def body(rng, target, sprinkle=True, maxlen=76):
    """Lines of text until about target bytes; returns bytes ending in LF."""
    key = (sprinkle, maxlen)
    if key not in _POOLS:
        _POOLS[key] = _pool(sprinkle, maxlen)
    pool = _POOLS[key]
    parts = []
    size = 0
    while size < target:
        lines = rng.choices(pool, k=max(8, (target - size) // 40))
        chunk = b"\n".join(lines) + b"\n"
        parts.append(chunk)
        size += len(chunk)
    return b"".join(parts)


def special(rng, seed, k, kind):
    if kind == "empty-body":
        return header(rng, seed, k, kind)
    if kind == "no-newline":
        return header(rng, seed, k, kind) + body(rng, 3000, False) + b"this last line has no newline"
    if kind == "long-line":
        line = b"".join(text_line(rng) + b" " for _ in range(1500))[:70000]
        return (header(rng, seed, k, kind) + body(rng, 2000, False) + line + b"\n"
                + body(rng, 2000, False))
    if kind == "dots":
        lines = [b".", b"first line above was a lone dot", b"..", b"...", b".x", b"..y",
                 b". ", b".\t", b"." * 80, b"", b"... and some text", b"."]
        return (header(rng, seed, k, kind) + b".starts with a dot\n" + body(rng, 1500, False)
                + b"\n".join(lines) + b"\n" + body(rng, 1500, False) + b".\n")
    if kind == "from":
        lines = FROM_LINES + [b"From ", b">From ", b">>>From deep", b"", b"From again"]
        return (header(rng, seed, k, kind) + b"From the start of the body\n"
                + body(rng, 1500, False) + b"\n".join(lines) + b"\n"
                + body(rng, 1500, False) + b"From the end of the body\n")
    if kind == "8bit":
        allhigh = bytes(range(0x80, 0x100))
        parts = [allhigh[i:i + 32] for i in range(0, 128, 32)]
        lines = parts + [u.encode("utf-8") for u in UTF8_LINES] + [LATIN1_LINE,
                                                                   b"\ttab\tseparated\tcolumns\t",
                                                                   b"trailing spaces   "]
        return (header(rng, seed, k, kind, "iso-8859-1") + body(rng, 1500, False)
                + b"\n".join(lines) + b"\n" + body(rng, 1500, False))
    if kind == "large":
        return header(rng, seed, k, kind) + body(rng, rng.randrange(100_000, 1_000_000))
    raise ValueError(kind)


SPECIALS = {
    "default": ["empty-body", "no-newline", "long-line", "dots", "from", "8bit", "large"],
    "small": ["empty-body", "no-newline", "dots", "from", "8bit"],
    "bench": [],
}


def regular(rng, seed, k, mix):
    r = rng.random()
    if mix == "default":
        size = rng.randrange(2000, 20000) if r < 0.9 else rng.randrange(100_000, 1_000_000)
        return header(rng, seed, k, "regular") + body(rng, size)
    if mix == "small":
        return header(rng, seed, k, "regular") + body(rng, rng.randrange(1000, 4000))
    if r < 0.70:
        size = rng.randrange(2000, 20000)
    elif r < 0.95:
        size = rng.randrange(20000, 100_000)
    else:
        size = rng.randrange(100_000, 1_000_000)
    return header(rng, seed, k, "regular") + body(rng, size, True, 76)


def message(seed, k, mix):
    rng = random.Random("msggen:%s:%d:%s" % (seed, k, mix))
    sp = SPECIALS[mix]
    if k < len(sp):
        return special(rng, seed, k, sp[k])
    return regular(rng, seed, k, mix)


def write_big(path, seed, k, mib):
    rng = random.Random("msggen:%s:%d:big" % (seed, k))
    target = mib * 1024 * 1024
    with open(path + ".tmp", "wb") as f:
        h = header(rng, seed, k, "big")
        f.write(h)
        size = len(h)
        block = body(rng, 256 * 1024, True)
        n = 0
        while size < target:
            chunk = b"chunk %d\n" % n + block
            f.write(chunk)
            size += len(chunk)
            n += 1
    os.rename(path + ".tmp", path)


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seed", default="1")
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--mix", choices=sorted(SPECIALS), default="default")
    p.add_argument("--start", type=int, default=0)
    p.add_argument("--big", type=int, default=0, metavar="MB")
    p.add_argument("--list", action="store_true")
    a = p.parse_args()
    if a.count < 0 or a.start < 0 or (a.big and a.count < 1):
        p.error("bad --count/--start/--big")
    os.makedirs(a.out, exist_ok=True)
    for k in range(a.start, a.start + a.count):
        path = os.path.join(a.out, "msg-%06d.eml" % k)
        if a.big and k == a.start + a.count - 1:
            write_big(path, a.seed, k, a.big)
        else:
            with open(path + ".tmp", "wb") as f:
                f.write(message(a.seed, k, a.mix))
            os.rename(path + ".tmp", path)
        if a.list:
            print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())

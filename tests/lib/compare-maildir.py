#!/usr/bin/python3
"""Check that a set of original messages was delivered exactly once, intact.

  compare-maildir.py ORIG_DIR TARGET [--strip-received] [--verbose]

ORIG_DIR holds the originals (e.g. from msggen.py): every regular file in it,
or in its new/ and cur/ when it is itself a maildir. TARGET is a maildir (a
directory: messages in new/ and cur/; leftovers in tmp/ are counted
separately) or an mbox file (mboxrd: messages separated by "From " lines, a
blank line after each message, ">From " quoting undone).

Messages are matched by their Message-ID header (originals must have unique
ones). A delivered copy is intact when it equals the original byte for byte,
after:
  --strip-received  removing the first header field of the copy when it is a
                    "Received:" field (with its continuation lines): the
                    header a retriever prepends;
  and allowing one added LF when the original does not end with a newline
  (POP3 cannot transfer a last line without a line end).

Output (stdout), one "name count" per line:
  originals N     number of originals
  delivered N     number of messages found in TARGET
  ok N            originals delivered exactly once and intact
  lost N          originals not delivered
  duplicate N     extra copies of originals delivered more than once
  corrupt N       copies whose bytes differ from their original
  unknown N       delivered messages with no or an unknown Message-ID
  tmp N           (maildir only) files left in tmp/
Details (which Message-ID, which file, first differing offset) go to stderr.
Exit status: 0 when lost, duplicate, corrupt and unknown are all 0; 1
otherwise; 2 on a usage or I/O error.
"""

import argparse
import os
import re
import sys

MSGID_RE = re.compile(rb"^message-id:[ \t]*(.*(?:\n[ \t].*)*)", re.I | re.M)


def header_part(msg):
    i = msg.find(b"\n\n")
    return msg if i < 0 else msg[:i + 1]


def message_id(msg):
    m = MSGID_RE.search(header_part(msg))
    if not m:
        return None
    return b" ".join(m.group(1).split())


def strip_received(msg):
    if not msg[:9].lower() == b"received:":
        return msg
    i = 0
    while True:
        j = msg.find(b"\n", i)
        if j < 0:
            return b""
        i = j + 1
        if i >= len(msg) or msg[i:i + 1] not in (b" ", b"\t"):
            return msg[i:]


def read_files(d):
    out = []
    for name in sorted(os.listdir(d)):
        p = os.path.join(d, name)
        if os.path.isfile(p) and not name.startswith("."):
            with open(p, "rb") as f:
                out.append((p, f.read()))
    return out


def read_dir(d):
    if os.path.isdir(os.path.join(d, "new")) or os.path.isdir(os.path.join(d, "cur")):
        msgs = []
        for sub in ("new", "cur"):
            if os.path.isdir(os.path.join(d, sub)):
                msgs += read_files(os.path.join(d, sub))
        return msgs
    return read_files(d)


FROM_RE = re.compile(rb"^>+From ")


def read_mbox(path):
    with open(path, "rb") as f:
        data = f.read()
    if not data:
        return []
    if not data.startswith(b"From "):
        raise ValueError("%s: not an mbox (does not start with 'From ')" % path)
    msgs = []
    cur = None
    n = 0
    for line in data.splitlines(keepends=True):
        if line.startswith(b"From "):
            if cur is not None:
                msgs.append(cur)
            n += 1
            cur = ["%s#%d" % (path, n), []]
            continue
        if FROM_RE.match(line):
            line = line[1:]
        cur[1].append(line)
    msgs.append(cur)
    out = []
    for name, lines in msgs:
        m = b"".join(lines)
        if m.endswith(b"\n\n"):
            m = m[:-1]        # the blank separator line after each message
        out.append((name, m))
    return out


def first_diff(a, b):
    n = min(len(a), len(b))
    for i in range(n):
        if a[i] != b[i]:
            return i
    return n


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("orig")
    p.add_argument("target")
    p.add_argument("--strip-received", action="store_true")
    p.add_argument("--verbose", "-v", action="store_true")
    a = p.parse_args()
    try:
        originals = read_dir(a.orig)
        tmp = 0
        if os.path.isdir(a.target):
            delivered = read_dir(a.target)
            t = os.path.join(a.target, "tmp")
            if os.path.isdir(t):
                tmp = len(os.listdir(t))
        elif os.path.isfile(a.target):
            delivered = read_mbox(a.target)
        elif not os.path.exists(a.target):
            delivered = []
            sys.stderr.write("compare-maildir: %s does not exist (nothing delivered)\n" % a.target)
        else:
            raise ValueError("%s: neither a directory nor a file" % a.target)
    except (OSError, ValueError) as e:
        sys.stderr.write("compare-maildir: %s\n" % e)
        return 2

    want = {}
    for name, m in originals:
        mid = message_id(m)
        if mid is None:
            sys.stderr.write("compare-maildir: original %s has no Message-ID\n" % name)
            return 2
        if mid in want:
            sys.stderr.write("compare-maildir: originals %s and %s share Message-ID %s\n"
                             % (want[mid][0], name, mid.decode("utf-8", "replace")))
            return 2
        if not m.endswith(b"\n"):
            m += b"\n"
        want[mid] = (name, m)

    seen = {}          # Message-ID -> number of copies
    bad = set()        # Message-IDs with at least one corrupt copy
    unknown = corrupt = duplicate = 0
    for name, m in delivered:
        if a.strip_received:
            m = strip_received(m)
        mid = message_id(m)
        if mid is None or mid not in want:
            unknown += 1
            sys.stderr.write("unknown: %s (Message-ID %s)\n"
                             % (name, mid.decode("utf-8", "replace") if mid else "missing"))
            continue
        seen[mid] = seen.get(mid, 0) + 1
        if seen[mid] > 1:
            duplicate += 1
            sys.stderr.write("duplicate: %s is another copy of %s\n" % (name, want[mid][0]))
        orig = want[mid][1]
        if not m.endswith(b"\n"):
            m += b"\n"
        if m != orig:
            corrupt += 1
            bad.add(mid)
            sys.stderr.write("corrupt: %s differs from %s at byte %d (sizes %d, %d)\n"
                             % (name, want[mid][0], first_diff(m, orig), len(m), len(orig)))
        elif a.verbose:
            sys.stderr.write("ok: %s = %s\n" % (name, want[mid][0]))
    lost = 0
    for mid, (name, _) in want.items():
        if mid not in seen:
            lost += 1
            sys.stderr.write("lost: %s (%s)\n" % (name, mid.decode("utf-8", "replace")))
    ok = sum(1 for mid, n in seen.items() if n == 1 and mid not in bad)
    print("originals %d" % len(want))
    print("delivered %d" % len(delivered))
    print("ok %d" % ok)
    print("lost %d" % lost)
    print("duplicate %d" % duplicate)
    print("corrupt %d" % corrupt)
    print("unknown %d" % unknown)
    if os.path.isdir(a.target):
        print("tmp %d" % tmp)
    return 0 if lost == duplicate == corrupt == unknown == 0 else 1


if __name__ == "__main__":
    sys.exit(main())

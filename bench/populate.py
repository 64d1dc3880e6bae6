#!/usr/bin/python3
"""Put a corpus of messages into a Dovecot user's Maildir, fast.

  populate.py MAILDIR CORPUS_DIR

Every regular file of CORPUS_DIR (sorted by name) becomes a message in
MAILDIR/new, in that order: the file names carry increasing time stamps,
which is how Dovecot orders new messages. The files are hard links to the
corpus (Dovecot never rewrites a message file, it only renames and unlinks
it), or copies when CORPUS_DIR is on another file system. Prints the
number of messages.
"""

import errno
import os
import shutil
import sys


def main():
    if len(sys.argv) != 3:
        sys.stderr.write("usage: populate.py MAILDIR CORPUS_DIR\n")
        return 64
    md, corpus = sys.argv[1], sys.argv[2]
    new = os.path.join(md, "new")
    if not os.path.isdir(new):
        sys.stderr.write("populate.py: %s is not a maildir\n" % md)
        return 66
    names = sorted(n for n in os.listdir(corpus)
                   if not n.startswith(".") and os.path.isfile(os.path.join(corpus, n)))
    for seq, name in enumerate(names, 1):
        src = os.path.join(corpus, name)
        dst = os.path.join(new, "%d.M%dP1.mpopbench" % (1500000000 + seq, seq))
        try:
            os.link(src, dst)
        except OSError as e:
            if e.errno != errno.EXDEV:
                raise
            shutil.copyfile(src, dst)
            os.chmod(dst, 0o644)
    print(len(names))
    return 0


if __name__ == "__main__":
    sys.exit(main())

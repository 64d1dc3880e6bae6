# Helpers for tests/mdeliver.bats: message corpus, expected outputs of each
# delivery format, a stream cut into pieces, waits (all bounded).

MD="$BIN/mdeliver"
STREAMGEN="$TESTBIN/streamgen"

# corpus DIR: msggen's edge cases (empty body, no final newline, a 70 KB
# line, dot lines, From lines, 8-bit, a large message) plus hand-made ones
make_corpus () {
  local c=$1
  mkdir -p "$c"
  python3 "$TESTS_DIR/lib/msggen.py" --seed 4 --count 7 --out "$c" >/dev/null
  printf 'Return-Path: <bob@example.org>\nSubject: from lines\n\nFrom the start\n>From quoted\n>>From twice\nFrom\nFromage\n >From not at start\n>From\n>>>>From deep\n>>>Fro\nFrom \n.\n..\n.dot\nFrom the end' > "$c/x-from.eml"
  printf 'From someone at the top\nSubject: cr\n\ncr\rinside\r\nand\rat end\r' > "$c/x-cr.eml"
  : > "$c/x-empty.eml"
  printf 'Subject: one line, no newline' > "$c/x-noeol.eml"
  printf '\n\n\n' > "$c/x-blank.eml"
}

mkmaildir () { mkdir -p "$1/tmp" "$1/new" "$1/cur" ; }

# The stored form of a message: as is, with a final LF added if missing
stored () {
  python3 -c 'import sys
d = open(sys.argv[1], "rb").read()
sys.stdout.buffer.write(d if not d or d.endswith(b"\n") else d + b"\n")' "$1"
}

# What single-message mode stores: CRLF turned into LF (a bare CR kept),
# then a final LF added if missing
single_form () {
  python3 -c 'import sys
d = open(sys.argv[1], "rb").read().replace(b"\r\n", b"\n")
sys.stdout.buffer.write(d if not d or d.endswith(b"\n") else d + b"\n")' "$1"
}

stored_crlf () {
  python3 -c 'import sys
d = open(sys.argv[1], "rb").read()
if d and not d.endswith(b"\n"): d += b"\n"
sys.stdout.buffer.write(d.replace(b"\n", b"\r\n"))' "$1"
}

# mbox_expect SENDER FILE... : the mboxrd entries, with DATE for the date
mbox_expect () {
  python3 -c 'import re, sys
out = sys.stdout.buffer
for f in sys.argv[2:]:
    d = open(f, "rb").read()
    if d and not d.endswith(b"\n"): d += b"\n"
    out.write(b"From " + sys.argv[1].encode() + b" DATE\n")
    out.write(re.sub(rb"(?m)^(>*From )", rb">\1", d))
    out.write(b"\n")' "$@"
}

# mbox_dates FILE : the mbox with the date of every From_ line replaced by
# DATE; fails if a date is not in asctime form
mbox_dates () {
  python3 -c 'import re, sys
d = open(sys.argv[1], "rb").read()
pat = rb"(?m)^(From \S+) (?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [ 123][0-9] [0-2][0-9]:[0-5][0-9]:[0-6][0-9] [0-9]{4}$"
n = len(re.findall(rb"(?m)^From ", d))
r, k = re.subn(pat, rb"\1 DATE", d)
if k != n: sys.exit("bad From_ line date")
sys.stdout.buffer.write(r)' "$1"
}

# the single file in DIR (fails unless there is exactly one)
only_file () {
  local f n=0
  for f in "$1"/* ; do [ -e "$f" ] && n=$((n + 1)) ; done
  [ "$n" -eq 1 ] || { echo "expected one file in $1, found $n" >&2 ; return 1 ; }
  printf '%s\n' "$1"/*
}

count_files () { find "$1" -mindepth 1 -maxdepth 1 | wc -l ; }

# wait_for COMMAND... : runs it every 0.1 s until it succeeds, up to 10 s
wait_for () {
  local i
  for i in $(seq 100) ; do
    "$@" && return 0
    sleep 0.1
  done
  echo "timed out waiting for: $*" >&2
  return 1
}

bigger_than () { [ "$(stat -c %s "$1")" -gt "$2" ] ; }

# same_bytes A B : cmp with a readable failure (A and B may be pipes)
same_bytes () {
  local d
  d=$(mktemp -d "$BATS_TEST_TMPDIR/cmp.XXXXXX")
  cat "$1" > "$d/a" ; cat "$2" > "$d/b"
  cmp "$d/a" "$d/b" || { diff <(od -c "$d/a" | head -60) <(od -c "$d/b" | head -60) ; return 1 ; }
}

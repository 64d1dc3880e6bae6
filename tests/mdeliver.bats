#!/usr/bin/env bats
# mdeliver: the four delivery formats byte for byte, stream mode and acks,
# broken streams, failing targets (unwritable, full, locked, symlinks),
# %F sanitising, and use as another program's MDA.

load lib/common
load lib/mdeliver

setup () {
  common_setup
  C="$T/corpus"
  make_corpus "$C"
  umask 022
}

teardown () {
  [ -z "${IMMUTABLE:-}" ] || chattr -i "$IMMUTABLE" 2>/dev/null || true
  [ -z "${MOUNTED:-}" ] || umount "$MOUNTED" 2>/dev/null || true
  [ -z "${BGPID:-}" ] || kill "$BGPID" 2>/dev/null || true
}

# --- command line ------------------------------------------------------------

@test "mdeliver: usage errors exit 64" {
  run "$MD" ; assert_failure 64 ; assert_output --partial "MPOP_DELIVERY is not set"
  run "$MD" -x maildir "$T" ; assert_failure 64 ; assert_output --partial "usage: mdeliver"
  run "$MD" maildir ; assert_failure 64
  run "$MD" maildir a b ; assert_failure 64
  run "$MD" pigeon "$T" ; assert_failure 64 ; assert_output "mdeliver: unknown delivery method pigeon"
  run "$MD" mda "" ; assert_failure 64
}

@test "mdeliver: the method comes from MPOP_DELIVERY when not given" {
  mkmaildir "$T/M"
  MPOP_DELIVERY="maildir $T/M" "$MD" < "$C/x-from.eml"
  same_bytes "$(only_file "$T/M/new")" <(stored "$C/x-from.eml")
  MPOP_DELIVERY="mbox $T/with space" "$MD" -f a@b < "$C/x-cr.eml"
  [ -s "$T/with space" ]
  MPOP_DELIVERY="mda cat > '$T/mda out'" "$MD" < "$C/x-cr.eml"
  same_bytes "$T/mda out" <(single_form "$C/x-cr.eml")
  run env MPOP_DELIVERY="pigeon x" "$MD" < /dev/null ; assert_failure 78
  run env MPOP_DELIVERY="maildir" "$MD" < /dev/null ; assert_failure 78
}

# --- single-message mode: each format, byte for byte -------------------------

@test "mdeliver: maildir stores each corpus message byte for byte, 0600, nothing in tmp/" {
  umask 000
  for m in "$C"/* ; do
    rm -rf "$T/M" ; mkmaildir "$T/M"
    "$MD" maildir "$T/M" < "$m"
    f=$(only_file "$T/M/new")
    same_bytes "$f" <(single_form "$m")
    [ "$(stat -c %a "$f")" = 600 ]
    [ "$(count_files "$T/M/tmp")" -eq 0 ]
    [[ "${f##*/}" =~ ^[0-9]+\.M[0-9]{6}P[0-9]+Q1R[0-9a-f]{16}\.[^/]+$ ]]
  done
}

@test "mdeliver: mbox writes From_ line, mboxrd quoting and a blank line, byte for byte" {
  umask 000
  for m in "$C"/* ; do
    rm -f "$T/mbox"
    "$MD" -f sender@example.org mbox "$T/mbox" < "$m"
    [ "$(stat -c %a "$T/mbox")" = 600 ]
    single_form "$m" > "$T/lf"
    same_bytes <(mbox_dates "$T/mbox") <(mbox_expect sender@example.org "$T/lf")
  done
}

@test "mdeliver: mbox appends to an existing file and quotes From lines anywhere" {
  printf 'From old Thu Jan  1 00:00:00 1970\nold\n\n' > "$T/mbox"
  "$MD" -f a@b mbox "$T/mbox" < "$C/x-from.eml"
  "$MD" -f c@d mbox "$T/mbox" < "$C/x-empty.eml"
  run mbox_dates "$T/mbox"
  assert_success
  expected=$(printf 'From old DATE\nold\n\n' ; mbox_expect a@b "$C/x-from.eml" ; mbox_expect c@d "$C/x-empty.eml")
  [ "$output" = "$expected" ]
  grep -qx '>From the start' "$T/mbox"
  grep -qx '>>>>>From deep' "$T/mbox"
  grep -qx '>>>Fro' "$T/mbox"
  grep -qx 'Fromage' "$T/mbox"
}

@test "mdeliver: exchange writes CRLF .eml files under a temporary name, 0600" {
  umask 000
  for m in "$C"/* ; do
    rm -rf "$T/X" ; mkdir "$T/X"
    "$MD" exchange "$T/X" < "$m"
    f=$(only_file "$T/X")
    [[ "${f##*/}" =~ ^mpop-[0-9]+-M[0-9]{6}P[0-9]+Q1R[0-9a-f]{16}-.+\.eml$ ]]
    [ "$(stat -c %a "$f")" = 600 ]
    single_form "$m" > "$T/lf"
    same_bytes "$f" <(stored_crlf "$T/lf")
    [ -z "$(ls -A "$T/X" | grep -v '\.eml$')" ]
  done
}

@test "mdeliver: mda gets each message on stdin, byte for byte" {
  for m in "$C"/* ; do
    rm -f "$T/out"
    "$MD" mda "cat > '$T/out'" < "$m"
    same_bytes "$T/out" <(single_form "$m")
  done
}

@test "mdeliver: CRLF input becomes LF, a missing final newline is added" {
  mkmaildir "$T/M"
  printf 'Subject: crlf\r\n\r\nline 1\r\nbare\rcr\r\nlast' | "$MD" maildir "$T/M"
  same_bytes "$(only_file "$T/M/new")" <(printf 'Subject: crlf\n\nline 1\nbare\rcr\nlast\n')
}

@test "mdeliver: -1 forces single-message mode on stream-looking input" {
  mkmaildir "$T/M"
  "$STREAMGEN" "$C/x-from.eml" > "$T/stream"
  run "$MD" -1 maildir "$T/M" < "$T/stream"
  assert_success
  assert_output ""
  same_bytes "$(only_file "$T/M/new")" <(stored "$T/stream")
}

# --- envelope sender ----------------------------------------------------------

@test "mdeliver: the mbox sender comes from Return-Path/Sender, -f, or MAILER-DAEMON" {
  printf 'Subject: a\nSender: "S" <s@x.org>\nReturn-Path: <r@x.org>\n\nbody\n' > "$T/m1"
  printf 'Subject: b\nFrom: f@x.org\n\nReturn-Path: <body@x.org>\n' > "$T/m2"
  printf 'Return-Path: <>\nReturn-Path: "Q" <q$u`o;t@x.org>\n\n' > "$T/m3"
  "$MD" mbox "$T/mbox" < "$T/m1"
  "$MD" mbox "$T/mbox" < "$T/m2"
  "$MD" mbox "$T/mbox" < "$T/m3"
  "$MD" -f '<given@x.org>' mbox "$T/mbox" < "$T/m1"
  "$MD" -f '' mbox "$T/mbox" < "$T/m1"
  run grep '^From ' "$T/mbox"
  assert_line --index 0 --regexp '^From s@x\.org '
  assert_line --index 1 --regexp '^From MAILER-DAEMON '
  assert_line --index 2 --regexp '^From q_u_o_t@x\.org '
  assert_line --index 3 --regexp '^From given@x\.org '
  assert_line --index 4 --regexp '^From MAILER-DAEMON '
}

@test "mdeliver: the sender search reads at most the header, then streams" {
  python3 -c 'import sys
sys.stdout.write("Subject: big\n\n" + ("x" * 999 + "\n") * 3000 + "Return-Path: <late@x>\n")' > "$T/big"
  "$MD" mbox "$T/mbox" < "$T/big"
  run head -n 1 "$T/mbox"
  assert_output --regexp '^From MAILER-DAEMON '
}

# --- %F sanitising --------------------------------------------------------------

@test "mdeliver: %F injection attempts land as one harmless argument" {
  cd "$T"
  mda="printf '[%s]\\n' %F >> '$T/argv'; cat > /dev/null"
  for s in ';touch pwn1' '$(touch pwn2)' '`touch pwn3`' '-rf' '--help' "a
touch pwn4" "x' ; touch pwn5 ; '" 'a|touch pwn6' 'a&&touch pwn7' '<>' ; do
    "$MD" -f "$s" mda "$mda" < "$C/x-noeol.eml"
  done
  for h in '<;touch pwn8@x>' '<$(touch pwn9)@x>' '"a" <`touch pwn10`>' '<-rf>' '< -x>' ; do
    printf 'Return-Path: %s\n\nbody\n' "$h" | "$MD" mda "$mda"
  done
  [ -z "$(ls "$T" | grep pwn)" ]
  run cat "$T/argv"
  assert_equal "${#lines[@]}" 15
  refute_output --regexp '\[-'
  refute_output --regexp '[;$`|&'\'' ]'
  assert_line --index 0 '[_touch-pwn1]'
  assert_line --index 3 '[_rf]'
  assert_line --index 5 '[a-touch-pwn4]'
  assert_line --index 9 '[MAILER-DAEMON]'
  assert_line --index 13 '[_rf]'
  assert_line --index 14 '[_-x]'
}

@test "mdeliver: %F in stream mode comes from each message's header" {
  printf 'Return-Path: <one@x>\n\n1\n' > "$T/a"
  printf 'Sender: two;rm@x\n\n2\n' > "$T/b"
  "$STREAMGEN" "$T/a" "$T/b" | "$MD" mda "echo %F >> '$T/senders'; cat > /dev/null" > "$T/acks"
  printf 'one@x\ntwo\n' | same_bytes - "$T/senders"
  printf 'a\nb\n' | same_bytes - "$T/acks"
}

# --- mda results ------------------------------------------------------------------

@test "mdeliver: an mda's EX_TEMPFAIL passes through, other failures are 74" {
  run "$MD" mda 'cat > /dev/null ; exit 75' < "$C/x-from.eml"
  assert_failure 75
  assert_output --partial "returned exit status 75 (EX_TEMPFAIL: temporary failure)"
  run "$MD" mda 'cat > /dev/null ; exit 3' < "$C/x-from.eml"
  assert_failure 74
  assert_output "mdeliver: cat > /dev/null ; exit 3 returned exit status 3"
  run "$MD" mda 'kill -9 $$' < "$C/x-from.eml"
  assert_failure 74
  assert_output --partial "killed by signal 9"
  head -c 2000000 /dev/zero > "$T/big"
  run "$MD" mda 'exit 0' < "$T/big"
  assert_failure 74
  assert_output "mdeliver: exit 0 did not read mail data"
}

@test "mdeliver: an mda's stdout never reaches the acks" {
  "$STREAMGEN" "$C/x-from.eml" "$C/x-cr.eml" | "$MD" mda 'echo NOISE ; cat > /dev/null' > "$T/acks" 2> "$T/err"
  printf 'x-from.eml\nx-cr.eml\n' | same_bytes - "$T/acks"
  [ "$(grep -c NOISE "$T/err")" -eq 2 ]
}

# --- stream mode ----------------------------------------------------------------

@test "mdeliver: stream mode delivers many messages and acks them in order" {
  mkmaildir "$T/M"
  mkdir "$T/many"
  python3 "$TESTS_DIR/lib/msggen.py" --seed 9 --count 300 --mix small --out "$T/many" >/dev/null
  "$STREAMGEN" "$T/many"/* > "$T/stream"
  run "$MD" maildir "$T/M" < "$T/stream"
  assert_success
  [ "$output" = "$(ls "$T/many")" ]
  run python3 "$TESTS_DIR/lib/compare-maildir.py" "$T/many" "$T/M"
  assert_line "ok 300"
  assert_line "tmp 0"
}

@test "mdeliver: stream mode, every format, byte for byte" {
  mkmaildir "$T/M" ; mkdir "$T/X"
  files=$(ls "$C"/* | sort)
  "$STREAMGEN" $files > "$T/stream"
  "$MD" maildir "$T/M" < "$T/stream" > "$T/acks.maildir"
  "$MD" -f s@x mbox "$T/mbox" < "$T/stream" > "$T/acks.mbox"
  "$MD" exchange "$T/X" < "$T/stream" > "$T/acks.exchange"
  "$MD" mda "cat >> '$T/mda'" < "$T/stream" > "$T/acks.mda"
  for a in maildir mbox exchange mda ; do
    same_bytes "$T/acks.$a" <(for f in $files ; do echo "${f##*/}" ; done)
  done
  same_bytes <(mbox_dates "$T/mbox") <(mbox_expect s@x $files)
  same_bytes "$T/mda" <(for f in $files ; do stored "$f" ; done)
  i=0
  for f in $(ls "$T/M/new" | sort -t Q -k 2 -n) ; do
    i=$((i + 1))
    same_bytes "$T/M/new/$f" <(stored "$(echo "$files" | sed -n "${i}p")")
  done
  [ "$i" -eq "$(echo "$files" | wc -l)" ]
  i=0
  for f in $(ls "$T/X" | sort -t Q -k 2 -n) ; do
    i=$((i + 1))
    same_bytes "$T/X/$f" <(stored_crlf "$(echo "$files" | sed -n "${i}p")")
  done
}

@test "mdeliver: earlier messages are acked while a slow message is in progress" {
  printf 'Subject: one\n\nfirst\n' > "$T/one"
  python3 -c 'print("Subject: two\n\n" + "y" * 5000)' > "$T/two"
  "$STREAMGEN" "$T/one" "$T/two" > "$T/all"
  mkmaildir "$T/M"
  # the next message stops in its header netstring, in a data netstring's
  # length, in its data
  for extra in 2 9 30 34 100 ; do
  n=$(( $("$STREAMGEN" -T "$T/one" | wc -c) + extra ))
  head -c "$n" "$T/all" > "$T/part1"
  tail -c +$((n + 1)) "$T/all" > "$T/part2"
  for method in "maildir $T/M" "mbox $T/mbox" ; do
    rm -f "$T/fifo" "$T/acks" ; mkfifo "$T/fifo"
    "$MD" -f s@x $method < "$T/fifo" > "$T/acks" &
    pid=$! ; BGPID=$pid
    exec 7> "$T/fifo"
    cat "$T/part1" >&7
    wait_for test -s "$T/acks"
    printf 'one\n' | same_bytes - "$T/acks"
    cat "$T/part2" >&7
    exec 7>&-
    wait "$pid"
    BGPID=
    printf 'one\ntwo\n' | same_bytes - "$T/acks"
  done
  done
  same_bytes <(mbox_dates "$T/mbox") <(mbox_expect s@x "$T/one" "$T/two" "$T/one" "$T/two" "$T/one" "$T/two" "$T/one" "$T/two" "$T/one" "$T/two")
  [ "$(count_files "$T/M/new")" -eq 10 ]
}

@test "mdeliver: mbox output is byte-identical to what mpop 1.4.18 writes" {
  [ -x "$REFMPOP" ] || skip "no reference mpop"
  mkdir "$T/msgs"
  python3 "$TESTS_DIR/lib/msggen.py" --seed 4 --count 7 --out "$T/msgs" >/dev/null
  cp "$C/x-from.eml" "$C/x-empty.eml" "$C/x-noeol.eml" "$C/x-blank.eml" "$T/msgs/"
  printf 'Sender: "S" <s;x@y>\nReturn-Path: <r@x>\n\nbody\n' > "$T/msgs/x-sender.eml"
  printf 'Return-Path: <> x@y.z\n\n' > "$T/msgs/x-rp.eml"
  printf 'user u\npassword p\nmessages 0\n' > "$T/s.scn"
  python3 "$TESTS_DIR/faultpop/faultpop.py" --scenario "$T/s.scn" --messages "$T/msgs" \
    --unix "$T/sock" --port-file "$T/ready" --idle-timeout 20 --max-lifetime 60 &
  BGPID=$!
  wait_for test -e "$T/ready"
  f=$(rc rc <<EOF
account default
host localhost
socket $T/sock
user u
password p
auth user
tls off
received_header off
uidls_file $T/uidls
delivery mbox $T/mbox.ref
EOF
)
  "$REFMPOP" -C "$f" -q
  wait "$BGPID" || true
  BGPID=
  "$STREAMGEN" $(ls -d "$T/msgs"/* | sort) | "$MD" mbox "$T/mbox.ours" > /dev/null
  [ "$(grep -c '^From ' "$T/mbox.ref")" -eq 13 ]
  same_bytes <(mbox_dates "$T/mbox.ref") <(mbox_dates "$T/mbox.ours")
}

@test "mdeliver: a message larger than a data netstring and a 2 MiB header survive" {
  mkmaildir "$T/M"
  python3 -c 'import sys
sys.stdout.write("X-Long: " + "h" * 2200000 + "\nReturn-Path: <deep@x>\n\n" + ("b" * 80 + "\n") * 40000)' > "$T/huge"
  "$STREAMGEN" "$T/huge" | "$MD" maildir "$T/M" > "$T/acks"
  same_bytes "$(only_file "$T/M/new")" "$T/huge"
  "$STREAMGEN" "$T/huge" | "$MD" mbox "$T/mbox" > "$T/acks"
  run head -c 30 "$T/mbox"
  assert_output --regexp '^From MAILER-DAEMON '
  [ "$(stat -c %s "$T/mbox")" -gt "$(stat -c %s "$T/huge")" ]
}

@test "mdeliver: a truncated stream delivers only the complete messages, at every cut" {
  printf 'Subject: one\n\nfirst\n' > "$T/one"
  printf 'Subject: two\n\nsecond\nFrom x\n' > "$T/two"
  printf 'Subject: three\n\n' > "$T/three"
  "$STREAMGEN" "$T/one" "$T/two" "$T/three" > "$T/stream"
  len=$(stat -c %s "$T/stream")
  ends=( $("$STREAMGEN" -T "$T/one" | wc -c) $("$STREAMGEN" -T "$T/one" "$T/two" | wc -c) $("$STREAMGEN" -T "$T/one" "$T/two" "$T/three" | wc -c) )
  for cut in $(seq 0 $((len - 1))) ; do
    rm -rf "$T/M" "$T/mbox" ; mkmaildir "$T/M"
    head -c "$cut" "$T/stream" > "$T/cut"
    complete=0
    for e in "${ends[@]}" ; do [ "$cut" -ge "$e" ] && complete=$((complete + 1)) ; done
    rc=0 ; "$MD" maildir "$T/M" < "$T/cut" > "$T/acks" 2> "$T/err" || rc=$?
    if [ "$cut" -lt 17 ] ; then  # not even a banner: one message
      [ "$rc" -eq 0 ] || { echo "cut $cut: single mode expected, rc $rc" ; return 1 ; }
      continue
    fi
    [ "$rc" -eq 65 ] || { echo "cut $cut: rc $rc" ; cat "$T/err" ; return 1 ; }
    [ "$(wc -l < "$T/acks")" -eq "$complete" ] || { echo "cut $cut: acks" ; return 1 ; }
    [ "$(count_files "$T/M/new")" -eq "$complete" ] || { echo "cut $cut: files" ; return 1 ; }
    [ "$(count_files "$T/M/tmp")" -eq 0 ] || { echo "cut $cut: tmp" ; return 1 ; }
    rc=0 ; "$MD" -f s@x mbox "$T/mbox" < "$T/cut" > "$T/acks" 2> "$T/err" || rc=$?
    [ "$rc" -eq 65 ] || { echo "cut $cut: mbox rc $rc" ; return 1 ; }
    set -- "$T/one" "$T/two" "$T/three"
    same_bytes <(mbox_dates "$T/mbox") <(mbox_expect s@x "${@:1:$complete}") || { echo "cut $cut: mbox" ; return 1 ; }
  done
}

@test "mdeliver: garbage in a stream is refused with 65, nothing of it delivered" {
  mkmaildir "$T/M"
  "$STREAMGEN" -T "$C/x-from.eml" > "$T/stream"
  printf 'garbage' >> "$T/stream"
  run "$MD" maildir "$T/M" < "$T/stream"
  assert_failure 65
  assert_line --index 0 "x-from.eml"
  assert_line --index 1 --partial "bad netstring length"
  [ "$(count_files "$T/M/new")" -eq 1 ]
  printf '13:mpop-stream 1,5:hello,3:end,' > "$T/bad"
  run "$MD" maildir "$T/M" < "$T/bad"
  assert_failure 65
  assert_output --partial "expected a message header or the trailer"
  printf '13:mpop-stream 1,12:msg\nuid=a\nx\n,' > "$T/bad"
  run "$MD" maildir "$T/M" < "$T/bad"
  assert_failure 65
  printf '13:mpop-stream 1,23:msg\nuid=a\nsize=1\nnum=1\n,99999999:' > "$T/bad"
  run "$MD" maildir "$T/M" < "$T/bad"
  assert_failure 65
  assert_output --partial "netstring too long"
  [ "$(count_files "$T/M/new")" -eq 1 ]
  [ "$(count_files "$T/M/tmp")" -eq 0 ]
}

@test "mdeliver: a broken stream kills the mda before it sees end of file" {
  printf 'Subject: x\n\n' > "$T/m"
  head -c 300000 /dev/zero | tr '\0' 'x' >> "$T/m"
  "$STREAMGEN" "$T/m" | head -c 200000 > "$T/cut"
  run "$MD" mda "cat > '$T/partial' ; touch '$T/completed'" < "$T/cut"
  assert_failure 65
  [ ! -e "$T/completed" ]
}

# --- failing targets --------------------------------------------------------------

@test "mdeliver: a missing maildir or subdirectory is an error, nothing is created" {
  run "$MD" maildir "$T/nope" < "$C/x-from.eml"
  assert_failure 74
  assert_output "mdeliver: cannot open maildir $T/nope: No such file or directory"
  [ ! -e "$T/nope" ]
  mkdir -p "$T/half/new"
  run "$MD" maildir "$T/half" < "$C/x-from.eml"
  assert_failure 74
  assert_output "mdeliver: cannot open maildir subdirectory $T/half/tmp: No such file or directory"
  mkdir -p "$T/half2/tmp"
  run "$MD" maildir "$T/half2" < "$C/x-from.eml"
  assert_failure 74
  assert_output --partial "$T/half2/new: No such file or directory"
  [ ! -e "$T/half/tmp" ] && [ ! -e "$T/half2/new" ]
}

@test "mdeliver: unwritable new/ fails cleanly, the failed message is not acked" {
  mkmaildir "$T/M"
  "$STREAMGEN" -T "$C/x-from.eml" > "$T/part1"
  "$STREAMGEN" "$C/x-from.eml" "$C/x-cr.eml" > "$T/all"
  tail -c +$(( $(stat -c %s "$T/part1") + 1 )) "$T/all" > "$T/part2"
  mkfifo "$T/fifo"
  "$MD" maildir "$T/M" < "$T/fifo" > "$T/acks" 2> "$T/err" &
  pid=$! ; BGPID=$pid
  exec 7> "$T/fifo"
  cat "$T/part1" >&7
  wait_for test -s "$T/acks"
  if [ "$(id -u)" -eq 0 ] ; then chattr +i "$T/M/new" ; IMMUTABLE="$T/M/new" ; else chmod 555 "$T/M/new" ; fi
  cat "$T/part2" >&7
  exec 7>&-
  rc=0 ; wait "$pid" || rc=$?
  BGPID=
  [ "$rc" -eq 74 ]
  printf 'x-from.eml\n' | same_bytes - "$T/acks"
  grep -q "^mdeliver: $T/M: cannot move tmp/.* to new/.*: \(Operation not permitted\|Permission denied\)$" "$T/err"
  [ "$(count_files "$T/M/new")" -eq 1 ]
  [ "$(count_files "$T/M/tmp")" -eq 0 ]
}

full_fs () {  # full_fs DIR : a 256 KiB file system at DIR (root), else skip
  mkdir -p "$1"
  if [ "$(id -u)" -eq 0 ] && mount -t tmpfs -o size=256k tmpfs "$1" 2>/dev/null ; then
    MOUNTED=$1
  else
    skip "needs root to mount a small tmpfs"
  fi
}

@test "mdeliver: full disk: mbox truncated back, the message not acked" {
  full_fs "$T/fs"
  printf 'Subject: small\n\nsmall\n' > "$T/small"
  head -c 600000 /dev/zero | tr '\0' 'z' | fold -w 70 > "$T/large"
  printf 'From old Thu Jan  1 00:00:00 1970\nold\n\n' > "$T/fs/mbox"
  "$STREAMGEN" "$T/small" "$T/large" "$T/small" > "$T/stream"
  run "$MD" -f s@x mbox "$T/fs/mbox" < "$T/stream"
  assert_failure 74
  assert_line --index 0 small
  assert_line --index 1 "mdeliver: cannot write to $T/fs/mbox: No space left on device"
  same_bytes <(mbox_dates "$T/fs/mbox") <(printf 'From old DATE\nold\n\n' ; mbox_expect s@x "$T/small")
}

@test "mdeliver: full disk: maildir keeps nothing partial" {
  full_fs "$T/fs"
  mkmaildir "$T/fs/M"
  printf 'Subject: small\n\nsmall\n' > "$T/small"
  head -c 600000 /dev/zero | tr '\0' 'z' | fold -w 70 > "$T/large"
  "$STREAMGEN" "$T/small" "$T/large" > "$T/stream"
  run "$MD" maildir "$T/fs/M" < "$T/stream"
  assert_failure 74
  assert_line --index 0 small
  assert_line --index 1 --regexp "^mdeliver: cannot write to $T/fs/M/tmp/.*: No space left on device$"
  [ "$(count_files "$T/fs/M/new")" -eq 1 ]
  [ "$(count_files "$T/fs/M/tmp")" -eq 0 ]
  same_bytes "$(only_file "$T/fs/M/new")" "$T/small"
}

@test "mdeliver: file size limit (ulimit -f) is a clean error too" {
  printf 'From old Thu Jan  1 00:00:00 1970\nold\n\n' > "$T/mbox"
  cp "$T/mbox" "$T/mbox.orig"
  head -c 600000 /dev/zero | tr '\0' 'z' | fold -w 70 > "$T/large"
  run bash -c 'ulimit -f 100 ; exec "$1" -f s@x mbox "$2" < "$3"' _ "$MD" "$T/mbox" "$T/large"
  assert_failure 74
  assert_output "mdeliver: cannot write to $T/mbox: File too large"
  same_bytes "$T/mbox" "$T/mbox.orig"
}

@test "mdeliver: a locked mbox is waited for, then fails cleanly with the file intact" {
  printf 'From old Thu Jan  1 00:00:00 1970\nold\n\n' > "$T/mbox"
  cp "$T/mbox" "$T/mbox.orig"
  python3 -c 'import fcntl, sys, time
f = open(sys.argv[1], "a")
fcntl.lockf(f, fcntl.LOCK_EX)
open(sys.argv[2], "w").close()
time.sleep(30)' "$T/mbox" "$T/locked" &
  BGPID=$!
  wait_for test -e "$T/locked"
  run "$MD" -f s@x mbox "$T/mbox" < "$C/x-from.eml"
  assert_failure 74
  assert_output "mdeliver: cannot lock $T/mbox (tried for 10 seconds): Resource temporarily unavailable"
  same_bytes "$T/mbox" "$T/mbox.orig"
}

@test "mdeliver: a lock released within the timeout is waited for" {
  : > "$T/mbox"
  python3 -c 'import fcntl, sys, time
f = open(sys.argv[1], "a")
fcntl.lockf(f, fcntl.LOCK_EX)
open(sys.argv[2], "w").close()
time.sleep(1)' "$T/mbox" "$T/locked" &
  BGPID=$!
  wait_for test -e "$T/locked"
  "$MD" -f s@x mbox "$T/mbox" < "$C/x-from.eml"
  same_bytes <(mbox_dates "$T/mbox") <(mbox_expect s@x "$C/x-from.eml")
}

@test "mdeliver: a symlink at the mbox path is not followed" {
  printf 'precious\n' > "$T/target"
  ln -s "$T/target" "$T/mbox"
  run "$MD" mbox "$T/mbox" < "$C/x-from.eml"
  assert_failure 74
  assert_output "mdeliver: cannot open $T/mbox: it is a symbolic link, which is never followed"
  [ "$(cat "$T/target")" = precious ]
  ln -s "$T/absent" "$T/dangling"
  run "$MD" mbox "$T/dangling" < "$C/x-from.eml"
  assert_failure 74
  [ ! -e "$T/absent" ]
}

# An mbox with one old message ($T/mbox, copied to $T/mbox.orig) and the
# first 250000 bytes of a stream of one big message ($T/cut)
mbox_and_cut_stream () {
  printf 'From old Thu Jan  1 00:00:00 1970\nold\n\n' > "$T/mbox"
  cp "$T/mbox" "$T/mbox.orig"
  printf 'Subject: x\n\n' > "$T/m"
  head -c 300000 /dev/zero | tr '\0' 'x' | fold -w 70 >> "$T/m"
  "$STREAMGEN" -T "$T/m" | head -c 250000 > "$T/cut"
}

# signal_mid_mbox SIGNAL: mdeliver appends $T/cut to $T/mbox and gets
# SIGNAL in the middle of the message; its exit status goes to rc
signal_mid_mbox () {
  rm -f "$T/fifo" ; mkfifo "$T/fifo"
  "$MD" -f s@x mbox "$T/mbox" < "$T/fifo" > "$T/acks" 2> "$T/err" &
  pid=$! ; BGPID=$pid
  exec 7> "$T/fifo"
  cat "$T/cut" >&7
  wait_for bigger_than "$T/mbox" 100000
  kill -"$1" "$pid"
  rc=0 ; wait "$pid" || rc=$?
  exec 7>&-
  BGPID=
}

@test "mdeliver: a signal in the middle of a message removes it" {
  mbox_and_cut_stream
  signal_mid_mbox TERM
  [ "$rc" -eq 143 ]
  same_bytes "$T/mbox" "$T/mbox.orig"
}

@test "mdeliver: an mda killed by a signal: the rest of its process group is killed too, nothing delivered" {
  run "$MD" mda "( sleep 0.5 ; touch $T/survivor ) & kill -9 \$\$" < "$C/x-from.eml"
  assert_failure 74
  assert_output --partial "killed by signal 9"
  sleep 1.5
  [ ! -e "$T/survivor" ]
}

@test "mdeliver: an mda that stops reading times out after the timeout setting: 74, nothing acked" {
  printf 'Subject: big\n\n' > "$T/m"
  head -c 300000 /dev/zero | tr '\0' 'x' | fold -w 70 >> "$T/m"
  MPOP_TIMEOUT=1 run timeout 60 "$MD" mda "echo started > $T/mda ; exec sleep 30" < "$T/m"
  assert_failure 74
  assert_output "mdeliver: echo started > $T/mda ; exec sleep 30 timed out"
  [ -s "$T/mda" ]
  # in stream mode, nothing is acked for that message
  "$STREAMGEN" "$T/m" > "$T/stream"
  MPOP_TIMEOUT=1 run timeout 60 "$MD" mda "exec sleep 30" < "$T/stream"
  assert_failure 74
  assert_output "mdeliver: exec sleep 30 timed out"
}

# SIGKILL cannot truncate back: the tail record FILE.mdeliver-tail lets the
# next mdeliver remove what the killed one left (and keep what another
# program appended after it)
@test "mdeliver: after a SIGKILL in the middle of an mbox message, the next run removes the partial tail" {
  mbox_and_cut_stream
  for foreign in no yes ; do
    cp "$T/mbox.orig" "$T/mbox"
    signal_mid_mbox KILL
    [ "$rc" -eq 137 ]
    # the partial message is there, and the tail record
    bigger_than "$T/mbox" 100000
    [ -e "$T/mbox.mdeliver-tail" ]
    cp "$T/mbox.orig" "$T/expect"
    if [ "$foreign" = yes ] ; then
      printf 'From foreign Thu Jan  1 00:00:00 1970\nforeign\n\n' | tee -a "$T/expect" >> "$T/mbox"
    fi
    run "$MD" -f new@x mbox "$T/mbox" < "$C/x-from.eml"
    assert_success
    cat "$T/mbox.orig" > "$T/expect2"
    [ "$foreign" = no ] || printf 'From foreign Thu Jan  1 00:00:00 1970\nforeign\n\n' >> "$T/expect2"
    # what the next run found: the file as before the kill (+ the foreign message)
    same_bytes <(head -c "$(stat -c %s "$T/expect2")" "$T/mbox") "$T/expect2"
    # then its own message, whole
    run sh -c "tail -c +$(( $(stat -c %s "$T/expect2") + 1 )) '$T/mbox' | head -n 1"
    assert_output --regexp '^From new@x '
    # nothing else: exactly one message more
    [ "$(grep -c '^From ' "$T/mbox")" -eq $(( $(grep -c '^From ' "$T/expect2") + 1 )) ]
    [ ! -e "$T/mbox.mdeliver-tail" ]
  done
}

# A killed run leaves the acks of its last batch unread: the record in tmp/
# names those messages, and the next run does not store them again.
has_files () { [ "$(count_files "$1")" -ge "$2" ] ; }

leave_acks_unread () {   # origin msgfile...: mdeliver killed with the batch visible, acks unread
  local origin=$1 ; shift
  rm -f "$T/in" "$T/ackfifo" ; mkfifo "$T/in" "$T/ackfifo"
  exec 8<> "$T/ackfifo"
  "$MD" maildir "$T/M" < "$T/in" > "$T/ackfifo" &
  pid=$! ; BGPID=$pid
  exec 7> "$T/in"
  "$STREAMGEN" -T -o "$origin" "$@" >&7
  wait_for has_files "$T/M/new" $#
  kill -KILL "$pid"
  wait "$pid" || true
  BGPID=
  exec 7>&- 8>&-
}

@test "mdeliver: after a kill with acks unread, the batch record keeps the next run from storing them again" {
  for m in a b c d ; do printf 'Subject: %s\n\nbody %s\n' "$m" "$m" > "$T/$m" ; done
  mkmaildir "$T/M"
  leave_acks_unread u@pop.example "$T/a" "$T/b" "$T/c"
  [ "$(count_files "$T/M/new")" -eq 3 ]
  record=$(ls -A "$T/M/tmp" | grep '^\.mdeliver-')
  grep -c "$(printf '\t')" "$T/M/tmp/$record" | grep -qx 3
  # a MUA has seen b meanwhile (new/ -> cur/ with flags)
  f=$(grep "^b$(printf '\t')" "$T/M/tmp/$record" | cut -f 2)
  mv "$T/M/new/$f" "$T/M/cur/$f:2,S"
  "$STREAMGEN" -o u@pop.example "$T/a" "$T/b" "$T/c" "$T/d" | "$MD" maildir "$T/M" > "$T/acks"
  printf 'a\nb\nc\nd\n' | same_bytes - "$T/acks"
  [ "$(count_files "$T/M/new")" -eq 3 ]
  [ "$(count_files "$T/M/cur")" -eq 1 ]
  for m in a b c d ; do [ "$(grep -rlx "body $m" "$T/M/new" "$T/M/cur" | wc -l)" -eq 1 ] ; done
  # a clean end removes the record
  [ -z "$(ls -A "$T/M/tmp")" ]
}

@test "mdeliver: the batch record only vouches for files still there, and only for its own origin" {
  for m in a b c ; do printf 'Subject: %s\n\nbody %s\n' "$m" "$m" > "$T/$m" ; done
  mkmaildir "$T/M"
  leave_acks_unread u@pop.example "$T/a" "$T/b"
  record=$(ls -A "$T/M/tmp" | grep '^\.mdeliver-')
  # deleted since: stored again
  f=$(grep "^a$(printf '\t')" "$T/M/tmp/$record" | cut -f 2)
  rm "$T/M/new/$f"
  # another mailbox with the same UIDs: stored, and its own record is apart
  "$STREAMGEN" -o v@other.example "$T/a" "$T/b" | "$MD" maildir "$T/M" > "$T/acks"
  printf 'a\nb\n' | same_bytes - "$T/acks"
  [ "$(count_files "$T/M/new")" -eq 3 ]
  [ -e "$T/M/tmp/$record" ]
  # no origin: no record used either
  "$STREAMGEN" "$T/b" | "$MD" maildir "$T/M" > "$T/acks"
  [ "$(count_files "$T/M/new")" -eq 4 ]
  "$STREAMGEN" -o u@pop.example "$T/a" "$T/b" "$T/c" | "$MD" maildir "$T/M" > "$T/acks"
  printf 'a\nb\nc\n' | same_bytes - "$T/acks"
  [ "$(count_files "$T/M/new")" -eq 6 ]
  [ "$(grep -rlx "body b" "$T/M/new" | wc -l)" -eq 3 ]
  [ -z "$(ls -A "$T/M/tmp")" ]
}

# mkrecord VERSION ORIGIN BODYLINES [HASHFIX]: a batch record as mdeliver writes it
mkrecord () {
  python3 - "$@" <<'PY'
import sys
ver, origin, lines = sys.argv[1], sys.argv[2], sys.argv[3]
body = (origin + "\n" + lines).encode()
h = 14695981039346656037
for b in body:
    h = ((h ^ b) * 1099511628211) % (1 << 64)
if len(sys.argv) > 4:
    h ^= 1
sys.stdout.buffer.write(b"mdeliver-record %s %d %016x\n" % (ver.encode(), len(body), h) + body)
PY
}

@test "mdeliver: a garbled or foreign batch record is ignored, never trusted" {
  for m in a b ; do printf 'Subject: %s\n\nbody %s\n' "$m" "$m" > "$T/$m" ; done
  mkmaildir "$T/M"
  leave_acks_unread u@pop.example "$T/a"
  record=$(ls -A "$T/M/tmp" | grep '^\.mdeliver-')
  f=$(ls "$T/M/new")
  tab=$(printf '\t')
  n=1
  for bad in "2 u@pop.example" "1 x@pop.example" "1 u@pop.example ../new/" "1 u@pop.example . torn" ; do
    set -- $bad
    mkrecord "$1" "$2" "a$tab${3#.}$f
" ${4:+torn} > "$T/M/tmp/$record"
    "$STREAMGEN" -o u@pop.example "$T/a" | "$MD" maildir "$T/M" > "$T/acks"
    printf 'a\n' | same_bytes - "$T/acks"
    n=$((n + 1))
    [ "$(count_files "$T/M/new")" -eq "$n" ]
  done
  # the same record whole and right: believed, and a longer one left over past its end does not matter
  { mkrecord 1 u@pop.example "a$tab$f
" ; printf 'b\t%s\n' "$f" ; } > "$T/M/tmp/$record"
  "$STREAMGEN" -o u@pop.example "$T/a" "$T/b" | "$MD" maildir "$T/M" > "$T/acks"
  printf 'a\nb\n' | same_bytes - "$T/acks"
  [ "$(count_files "$T/M/new")" -eq $((n + 1)) ]
}

# --- as another program's MDA ------------------------------------------------------

@test "mdeliver: works as a plain MDA: one message on stdin, exit 0" {
  mkmaildir "$T/M"
  run "$MD" maildir "$T/M" < "$C/x-from.eml"
  assert_success
  assert_output ""
  same_bytes "$(only_file "$T/M/new")" <(stored "$C/x-from.eml")
}

@test "mdeliver: works as fetchmail's mda" {
  command -v fetchmail > /dev/null || skip "no fetchmail"
  mkdir "$T/msgs"
  python3 "$TESTS_DIR/lib/msggen.py" --seed 5 --count 20 --mix small --out "$T/msgs" >/dev/null
  printf 'user u\npassword p\nmessages 0\n' > "$T/s.scn"
  python3 "$TESTS_DIR/faultpop/faultpop.py" --scenario "$T/s.scn" --messages "$T/msgs" \
    --port-file "$T/port" --idle-timeout 20 --max-lifetime 60 &
  BGPID=$!
  wait_for test -s "$T/port"
  mkmaildir "$T/M"
  printf 'poll 127.0.0.1 protocol pop3 port %s user "u" password "p" mda "%s maildir %s"\n' \
    "$(cat "$T/port")" "$MD" "$T/M" > "$T/fetchmailrc"
  chmod 600 "$T/fetchmailrc"
  run timeout 60 fetchmail -f "$T/fetchmailrc" --nodetach --keep --sslproto ''
  wait "$BGPID" || true
  BGPID=
  run python3 "$TESTS_DIR/lib/compare-maildir.py" "$T/msgs" "$T/M" --strip-received
  assert_line "ok 20"
  assert_line "tmp 0"
}

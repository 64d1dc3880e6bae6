#!/usr/bin/env bats
# pop3fetch: retrieval against a private Dovecot (the real protocol) and the
# scripted faultpop server (faults); delivery through mdeliver.
# RETRIEVAL_CRASH_KILLS=N sets the number of kills of the crash test (default 20).

load lib/common
load lib/dovecot

LIB="$BATS_TEST_DIRNAME/lib"
FAULTPOP="$BATS_TEST_DIRNAME/faultpop/faultpop.py"

# The server's mailboxes live on a tmpfs when we may mount one: the tests
# copy many messages into them, and the disk is not what is tested there.
setup_file () {
  mkdir -p "$BATS_FILE_TMPDIR/dovecot"
  if [ "$(id -u)" = 0 ] && mount -t tmpfs -o size=512m tmpfs "$BATS_FILE_TMPDIR/dovecot" 2>/dev/null ; then
    touch "$BATS_FILE_TMPDIR/dovecot.tmpfs"
  fi
  dovecot_start "$BATS_FILE_TMPDIR/dovecot"
  # every user up front
  for u in mixed keepon keepoff ref piped crash mdafail ro full spy tls ; do
    dovecot_user "$u" secret
  done
}

teardown_file () {
  dovecot_stop "$BATS_FILE_TMPDIR/dovecot"
  if [ -e "$BATS_FILE_TMPDIR/dovecot.tmpfs" ] ; then umount "$BATS_FILE_TMPDIR/dovecot" ; fi
}

setup () {
  common_setup
  FP_PID=''
}

teardown () {
  fp_stop
  if [ -n "${TMPFS:-}" ] ; then umount "$TMPFS" 2>/dev/null || true ; fi
  if [ -n "${IMMUTABLE:-}" ] ; then chattr -i "$IMMUTABLE" 2>/dev/null || true ; fi
}

py () { /usr/bin/python3 "$@" ; }

# ------------------------------------------------------------ helpers

# maildir DIR: an empty maildir
maildir () { mkdir -p "$1/new" "$1/cur" "$1/tmp" ; }

# count DIR: messages in a maildir
count () { find "$1/new" "$1/cur" -type f | wc -l ; }

# drc NAME USER DELIVERY [LINE...]: rc file $T/NAME.rc, account NAME for
# Dovecot user USER (password secret), UIDLs file $T/uidls.NAME
drc () {
  local name=$1 user=$2 delivery=$3 ; shift 3
  {
    printf 'account %s\nhost %s\nport %s\nuser %s\npassword secret\nauth user\ntls off\n' \
      "$name" "$DOVECOT_HOST" "$DOVECOT_PORT" "$user"
    printf 'uidls_file %s\ndelivery %s\n' "$T/uidls.$name" "$delivery"
    [ $# -gt 0 ] && printf '%s\n' "$@"
  } | rc "$name.rc" >/dev/null
}

# fetch NAME [pop3fetch options]: one session with mdeliver as the deliverer
fetch () {
  local name=$1 ; shift
  timeout 300 "$BIN/rcparse" -C "$T/$name.rc" "$name" "$BIN/pop3fetch" "$@" "$BIN/mdeliver"
}

# dnew USER COUNT SEED [MIX]: COUNT generated messages for a Dovecot user
# (created by setup_file)
dnew () {
  dovecot_add_generated "$1" "$2" "$3" "${4:-small}" >/dev/null
}

# compare ORIG TARGET: every original delivered once, intact
compare () {
  run py "$LIB/compare-maildir.py" "$1" "$2" --strip-received
  [ "$status" -eq 0 ] || { echo "$output" ; return 1 ; }
}

# scenario NAME < text: writes $T/NAME.scn
scenario () { cat > "$T/$1.scn" ; }

# fp_start NAME [faultpop options]: serves $T/NAME.scn; sets FP_PORT
fp_start () {
  local scn="$T/$1.scn" i ; shift
  rm -f "$T/fp.port"
  py "$FAULTPOP" --scenario "$scn" --port-file "$T/fp.port" --state "$T/fp.state" \
    --log "$T/fp.log" --idle-timeout 30 --max-lifetime 300 "$@" \
    </dev/null >"$T/fp.out" 2>&1 3>&- &
  FP_PID=$!
  for i in $(seq 1 300) ; do [ -s "$T/fp.port" ] && break ; sleep 0.05 ; done
  FP_PORT=$(cat "$T/fp.port")
}

fp_stop () {
  if [ -n "${FP_PID:-}" ] ; then kill "$FP_PID" 2>/dev/null || true ; wait "$FP_PID" 2>/dev/null || true ; fi
  FP_PID=''
}

# frc NAME [LINE...]: rc file for faultpop (user u, password p), maildir $T/md
frc () {
  local name=$1 ; shift
  {
    printf 'account %s\nhost 127.0.0.1\nport %s\nuser u\npassword p\nauth user\ntls off\ntimeout 10\n' "$name" "$FP_PORT"
    printf 'uidls_file %s\ndelivery maildir %s\n' "$T/uidls.$name" "$T/md"
    [ $# -gt 0 ] && printf '%s\n' "$@"
  } | rc "$name.rc" >/dev/null
  maildir "$T/md"
}

# fp_keys remaining|deleted: faultpop's message keys, space-separated
fp_keys () {
  py -c 'import json, sys ; print(" ".join(json.load(open(sys.argv[1]))[sys.argv[2]]))' "$T/fp.state" "$1"
}

# fp_commands: the commands faultpop received, one line each
fp_commands () {
  py -c '
import json, sys
for l in open(sys.argv[1]):
    e = json.loads(l)
    if e["event"] == "command":
        print(e["line"])' "$T/fp.log"
}

# subjects DIR: the Subject lines of a maildir, sorted
subjects () { cat "$1"/new/* "$1"/cur/* 2>/dev/null | sed -n 's/^Subject: //p' | sort ; }

# uids NAME: the UIDs recorded for account NAME (list merges the journal)
uids () { "$BIN/rcparse" -C "$T/$1.rc" "$1" "$BIN/uidlstore" list | cut -d' ' -f1 ; }

# After a failure during message 2 of account a: message 1 delivered and
# recorded, nothing else, nothing deleted, no QUIT (the output of
# fp_commands stays in $output for more checks)
only_message_1_kept () {
  [ "$(subjects "$T/md")" = "faultpop message 1" ]
  [ -z "$(ls "$T/md/tmp")" ]
  [ "$(uids a)" = uid1 ]
  [ -z "$(fp_keys deleted)" ]
  run fp_commands
  refute_line QUIT
}

# ------------------------------------------------------------ Dovecot

@test "retrieval: 200 mixed messages into maildir, mbox, mda and exchange, byte for byte" {
  od=$(dovecot_orig_dir mixed)
  mkdir -p "$od"
  py "$LIB/msggen.py" --seed 3 --count 200 --out "$od" --big 20 > /dev/null
  dovecot_add_message mixed "$od"/*.eml
  maildir "$T/md" ; mkdir -p "$T/ex" ; maildir "$T/mda"
  drc md mixed "maildir $T/md" "keep on"
  drc mb mixed "mbox $T/mbox" "keep on"
  drc mda mixed "mda \"cat > $T/mda/new/m.\$\$\"" "keep on"
  drc ex mixed "exchange $T/ex" "keep on"
  for a in md mb mda ex ; do
    run fetch "$a" -Q
    [ "$status" -eq 0 ] || { echo "$a: $output" ; return 1 ; }
    [[ "${lines[0]}" =~ ^new:\ 200\ messages\ in\ [0-9.]+\ MiB,\ total:\ 200\ messages\ in\ [0-9.]+\ MiB$ ]] || [[ "${lines[1]}" =~ ^new:\ 200\ messages\ in\ [0-9.]+\ MiB,\ total:\ 200\ messages\ in\ [0-9.]+\ MiB$ ]] || { echo "$a: $output" ; return 1 ; }
  done
  compare "$od" "$T/md"
  compare "$od" "$T/mbox"
  compare "$od" "$T/mda"
  maildir "$T/exlf"
  for f in "$T"/ex/*.eml ; do sed 's/\r$//' "$f" > "$T/exlf/new/${f##*/}" ; done
  compare "$od" "$T/exlf"
  # the Received header, as mpop writes it
  f=$(grep -l '^X-Msggen: seed=3 index=3 ' "$T"/md/new/*)
  run sed -n 1,3p "$f"
  assert_line --index 0 --regexp "^Received: from $DOVECOT_HOST \\((localhost )?\\[127\\.0\\.0\\.1\\]\\)\$"
  assert_line --index 1 --regexp $'^\tby [^ ]+ \\(mpop-[0-9.]+\\) with POP3$'
  assert_line --index 2 --regexp $'^\tfor <[A-Za-z0-9._-]+>; [A-Z][a-z][a-z], [0-9]{2} [A-Z][a-z][a-z] [0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2} [-+][0-9]{4}$'
}

@test "retrieval: over TLS (implicit and STARTTLS), messages intact" {
  dnew tls 40 22 default
  maildir "$T/md" ; maildir "$T/md2"
  drc a tls "maildir $T/md" "keep on" "port $DOVECOT_PORT_TLS" "tls on" "tls_starttls off" "tls_trust_file $DOVECOT_CA"
  run fetch a -q
  assert_success
  compare "$(dovecot_orig_dir tls)" "$T/md"
  drc b tls "maildir $T/md2" "keep off" "tls on" "tls_starttls on" "tls_trust_file $DOVECOT_CA"
  run fetch b -q
  assert_success
  compare "$(dovecot_orig_dir tls)" "$T/md2"
  [ "$(dovecot_message_count tls)" -eq 0 ]
}

@test "retrieval: keep on: a second run retrieves nothing, deletes nothing, rewrites nothing" {
  dnew keepon 20 11
  maildir "$T/md"
  drc a keepon "maildir $T/md" "keep on"
  run fetch a
  assert_success
  assert_line --index 0 "keepon at $DOVECOT_HOST:"
  assert_line --index 1 --regexp '^new: 20 messages in [0-9.]+ KiB, total: 20 messages in [0-9.]+ KiB$'
  assert_line --index 2 --regexp '^retrieving message 1 of 20 \([0-9.]+ (bytes|KiB)\): 100%$'
  [ "${#lines[@]}" -eq 22 ]
  [ "$(count "$T/md")" -eq 20 ]
  cp -p "$T/uidls.a" "$T/uidls.first"
  inode=$(stat -c %i "$T/uidls.a")
  run fetch a
  assert_success
  assert_line --index 1 --regexp '^new: no messages, total: 20 messages in [0-9.]+ KiB$'
  [ "${#lines[@]}" -eq 2 ]
  [ "$(count "$T/md")" -eq 20 ]
  [ "$(dovecot_message_count keepon)" -eq 20 ]
  [ "$(uids a | wc -l)" -eq 20 ]
  compare "$(dovecot_orig_dir keepon)" "$T/md"
  # nothing changed: the file was neither replaced nor written
  [ "$(stat -c %i "$T/uidls.a")" = "$inode" ]
  [ "$(stat -c %Y.%y "$T/uidls.a")" = "$(stat -c %Y.%y "$T/uidls.first")" ]
  [ ! -e "$T/uidls.a.journal" ]
  # one new message: the file is rewritten, first-seen times kept
  dnew keepon 1 12
  run fetch a
  assert_success
  [ "$(uids a | wc -l)" -eq 21 ]
  [ "$(stat -c %i "$T/uidls.a")" != "$inode" ]
  grep -v '^#' "$T/uidls.first" | sed 1d > "$T/first.entries"
  [ "$(wc -l < "$T/first.entries")" -eq 20 ]
  [ "$(grep -vxFf "$T/uidls.a" "$T/first.entries" | wc -l)" -eq 0 ]
}

@test "retrieval: keep off: the server is emptied, and so is the account's list" {
  dnew keepoff 30 12
  maildir "$T/md"
  drc a keepoff "maildir $T/md" "keep off"
  run fetch a -q
  assert_success
  assert_output ''
  [ "$(dovecot_message_count keepoff)" -eq 0 ]
  compare "$(dovecot_orig_dir keepoff)" "$T/md"
  [ -z "$(uids a)" ]
  run fetch a
  assert_success
  assert_output "keepoff at $DOVECOT_HOST:
no messages"
}

@test "retrieval: a UIDLs file written by mpop 1.4.18 is honoured" {
  dnew ref 15 13
  maildir "$T/ref" ; maildir "$T/md"
  rc ref.rc >/dev/null <<EOF
account ref
host $DOVECOT_HOST
port $DOVECOT_PORT
user ref
password secret
auth user
tls off
uidls_file $T/uidls.a
delivery maildir $T/ref
keep on
EOF
  run timeout 120 "$REFMPOP" -C "$T/ref.rc" -q ref
  assert_success
  [ "$(count "$T/ref")" -eq 15 ]
  run grep -c . "$T/uidls.a"
  drc a ref "maildir $T/md" "keep on"
  run fetch a -Q
  assert_success
  assert_line --index 1 --regexp '^new: no messages, total: 15 messages'
  [ "$(count "$T/md")" -eq 0 ]
  # rewritten in mpop 1.4.23's format: every UID with its first-seen time
  [ "$(uids a | wc -l)" -eq 15 ]
  run "$BIN/rcparse" -C "$T/a.rc" a "$BIN/uidlstore" list
  refute_line --regexp '^[^ ]+$'
  dovecot_add_generated ref 5 14 small >/dev/null
  run fetch a -q
  assert_success
  [ "$(count "$T/md")" -eq 5 ]
}

@test "retrieval: pipe mode: pop3fetch | mdeliver | uidlstore add delivers everything once" {
  dnew piped 25 15
  maildir "$T/md"
  drc a piped "maildir $T/md" "keep on"
  pipeline () {
    timeout 120 "$BIN/rcparse" -C "$T/a.rc" a "$BIN/pop3fetch" 2>"$T/err" |
      "$BIN/mdeliver" maildir "$T/md" |
      "$BIN/rcparse" -C "$T/a.rc" a "$BIN/uidlstore" add
    echo "${PIPESTATUS[*]}"
  }
  run pipeline
  assert_output "0 0 0"
  [ "$(count "$T/md")" -eq 25 ]
  # human output on stderr, never in the stream
  run cat "$T/err"
  assert_line --index 1 --regexp '^new: 25 messages in '
  [ "$(uids a | wc -l)" -eq 25 ]
  run pipeline
  assert_output "0 0 0"
  run cat "$T/err"
  assert_line --index 1 --regexp '^new: no messages, total: 25 messages'
  [ "$(count "$T/md")" -eq 25 ]
  compare "$(dovecot_orig_dir piped)" "$T/md"
  # pipe mode records and deletes nothing of its own session, even with keep off
  drc b piped "maildir $T/md" "keep off"
  cp "$T/uidls.a" "$T/uidls.b"
  dovecot_add_generated piped 3 16 small >/dev/null
  run sh -c "\"$BIN/rcparse\" -C \"$T/b.rc\" b \"$BIN/pop3fetch\" -q | \"$BIN/mdeliver\" maildir \"$T/md\" > \"$T/acks\""
  assert_success
  [ "$(wc -l < "$T/acks")" -eq 3 ]
  [ "$(dovecot_message_count piped)" -eq 3 ]
}

# One session of 300 messages is SIGKILLed (the whole process group) at a
# seeded random moment, then run again to the end: nothing may be lost, no
# partial message may be in the mailbox, the UIDLs file stays valid, and
# few messages are delivered twice.
@test "retrieval: SIGKILL at random moments: nothing lost, at most one duplicate per kill on average" {
  kills=${RETRIEVAL_CRASH_KILLS:-20}
  dnew crash 300 17
  md=$(dovecot_maildir crash)
  orig=$(dovecot_orig_dir crash)
  # SIGKILL does not need a real disk: a tmpfs (when we may mount one)
  # keeps the rounds fast
  mkdir -p "$T/fs"
  if [ "$(id -u)" = 0 ] && mount -t tmpfs -o size=64m tmpfs "$T/fs" 2>/dev/null ; then TMPFS="$T/fs" ; fi
  drc a crash "maildir $T/fs/md" "keep off" "uidls_file $T/fs/uidls"
  # index the mailbox once, then keep a copy to restore it after each round
  run dovecot_pop3_session <<<$'USER crash\nPASS secret\nSTAT\nQUIT'
  cp -a "$md" "$T/template"
  # the length of a whole session: the second of two (the first warms up)
  for i in 1 2 ; do
    rm -rf "$md" "$T/fs/md" "$T"/fs/uidls*
    cp -a "$T/template" "$md"
    maildir "$T/fs/md"
    start=$(date +%s%N)
    run fetch a -q
    assert_success
    duration=$(( ($(date +%s%N) - start) / 1000000 ))
  done
  RANDOM=4242
  dups=0 killed=0 tmps=0
  for round in $(seq 1 "$kills") ; do
    rm -rf "$md" "$T/fs/md" "$T"/fs/uidls*
    cp -a "$T/template" "$md"
    maildir "$T/fs/md"
    ms=$(( RANDOM % (duration + 1) ))
    run py "$LIB/crashkill.py" "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))" -- \
      "$BIN/rcparse" -C "$T/a.rc" a "$BIN/pop3fetch" -q "$BIN/mdeliver"
    [ "$output" = killed ] && killed=$((killed + 1))
    run "$BIN/rcparse" -C "$T/a.rc" a "$BIN/uidlstore" check
    [ "$status" -eq 0 ] || { echo "round $round (kill at $ms ms): $output" ; return 1 ; }
    tmps=$((tmps + $(ls "$T/fs/md/tmp" | wc -l)))
    rm -f "$T"/fs/md/tmp/*
    run fetch a -q
    [ "$status" -eq 0 ] || { echo "round $round (kill at $ms ms): rerun: $output" ; return 1 ; }
    run py "$LIB/compare-maildir.py" "$orig" "$T/fs/md" --strip-received
    echo "$output" | grep -qx 'lost 0' || { echo "round $round (kill at $ms ms): $output" ; return 1 ; }
    echo "$output" | grep -qx 'corrupt 0' || { echo "round $round (kill at $ms ms): $output" ; return 1 ; }
    echo "$output" | grep -qx 'unknown 0' || { echo "round $round (kill at $ms ms): $output" ; return 1 ; }
    d=$(echo "$output" | sed -n 's/^duplicate //p')
    dups=$((dups + d))
    [ "$(dovecot_message_count crash)" -eq 0 ]
  done
  echo "# crash: $kills rounds of 300 messages (session ${duration} ms${TMPFS:+ on a tmpfs}), $killed kills during the session, $dups duplicates, $tmps files left in tmp/" >&3
  [ "$dups" -le "$kills" ]
}

@test "retrieval: a deliverer failing mid-session: its exit code, nothing unacked deleted, the next run completes" {
  dnew mdafail 12 18
  maildir "$T/md"
  cat > "$T/mda.sh" <<EOF
#!/bin/sh
n=\$(cat "$T/n" 2>/dev/null || echo 0)
n=\$((n + 1))
echo \$n > "$T/n"
[ -e "$T/fail" ] && [ \$n -eq 5 ] && { echo "mda: no space for message \$n" >&2 ; exit 75 ; }
cat > "$T/md/new/m.\$n"
EOF
  chmod +x "$T/mda.sh"
  drc a mdafail "mda $T/mda.sh" "keep off"
  touch "$T/fail"
  run fetch a -q
  [ "$status" -eq 75 ]
  assert_line --index 0 "mda: no space for message 5"
  assert_line --index 1 --partial "mda.sh returned exit status 75"
  assert_line --index 2 "pop3fetch: error during mail retrieval (account a from $T/a.rc)"
  [ "$(count "$T/md")" -eq 4 ]
  [ "$(uids a | wc -l)" -eq 4 ]
  [ "$(dovecot_message_count mdafail)" -eq 12 ]
  rm "$T/fail"
  run fetch a -q
  assert_success
  [ "$(count "$T/md")" -eq 12 ]
  [ "$(dovecot_message_count mdafail)" -eq 0 ]
  compare "$(dovecot_orig_dir mdafail)" "$T/md"
}

@test "retrieval: maildir new/ not writable: a clear error, nothing deleted, the next run completes" {
  dnew ro 8 19
  maildir "$T/md"
  drc a ro "maildir $T/md" "keep off"
  if [ "$(id -u)" = 0 ] ; then
    chattr +i "$T/md/new" 2>/dev/null || skip "root, and chattr +i does not work here"
    IMMUTABLE="$T/md/new"
  else
    chmod 555 "$T/md/new"
  fi
  run fetch a -q
  [ "$status" -eq 74 ] || [ "$status" -eq 73 ] || { echo "status $status: $output" ; return 1 ; }
  assert_line --partial "$T/md"
  assert_line "pop3fetch: error during mail retrieval (account a from $T/a.rc)"
  [ "$(dovecot_message_count ro)" -eq 8 ]
  [ -z "$(uids a)" ]
  if [ -n "${IMMUTABLE:-}" ] ; then chattr -i "$T/md/new" ; IMMUTABLE='' ; else chmod 755 "$T/md/new" ; fi
  run fetch a -q
  assert_success
  [ "$(dovecot_message_count ro)" -eq 0 ]
  compare "$(dovecot_orig_dir ro)" "$T/md"
}

@test "retrieval: a full disk (small tmpfs): a clear error, nothing lost, the next run completes" {
  [ "$(id -u)" = 0 ] || skip "needs root to mount a tmpfs"
  dnew full 30 20 default
  mkdir -p "$T/small"
  mount -t tmpfs -o size=1m tmpfs "$T/small" 2>/dev/null || skip "cannot mount a tmpfs here"
  TMPFS="$T/small"
  maildir "$T/small/md"
  drc a full "maildir $T/small/md" "keep off"
  run fetch a -q
  [ "$status" -eq 74 ] || [ "$status" -eq 73 ] || { echo "status $status: $output" ; return 1 ; }
  assert_line --partial "No space left on device"
  n=$(count "$T/small/md")
  [ "$(uids a | wc -l)" -eq "$n" ]
  [ "$(dovecot_message_count full)" -eq 30 ]
  umount "$T/small" ; TMPFS=''
  maildir "$T/md"
  cp "$T"/small/md/new/* "$T/md/new/" 2>/dev/null || true
  drc a full "maildir $T/md" "keep off"
  run fetch a -q
  assert_success
  [ "$(dovecot_message_count full)" -eq 0 ]
  [ "$(count "$T/md")" -eq $((30 - n)) ]
}

@test "retrieval: the deliverer never sees the password, in its environment or ours" {
  dnew spy 2 21
  cat > "$T/spy.sh" <<EOF
#!/bin/sh
{ env ; tr '\0' '\n' < /proc/\$PPID/environ ; tr '\0' ' ' < /proc/\$PPID/cmdline ; } > "$T/seen"
exec "$BIN/mdeliver" "\$@"
EOF
  chmod +x "$T/spy.sh"
  maildir "$T/md"
  drc a spy "maildir $T/md" "keep on"
  run timeout 60 "$BIN/rcparse" -C "$T/a.rc" a "$BIN/pop3fetch" -q "$T/spy.sh"
  assert_success
  [ "$(count "$T/md")" -eq 2 ]
  run grep -c secret "$T/seen"
  assert_output 0
  run grep -c '^MPOP_HOST=' "$T/seen"
  assert_output 2
}

# ------------------------------------------------------------ faultpop

@test "retrieval: a server closing the connection mid-RETR: 74, nothing lost, the next run completes" {
  scenario drop <<'EOF'
messages 3 sizes=800,50000,800
fault on=RETR arg=2 do=drop at=mid-body session=1
EOF
  fp_start drop --sessions 2
  frc a "keep off"
  run timeout 60 "$BIN/rcparse" -C "$T/a.rc" a "$BIN/pop3fetch" -q "$BIN/mdeliver"
  [ "$status" -eq 74 ]
  assert_line --regexp '^pop3fetch: network (read error|error).*'
  assert_line "pop3fetch: error during mail retrieval (account a from $T/a.rc)"
  only_message_1_kept
  refute_line --regexp '^DELE'
  run timeout 60 "$BIN/rcparse" -C "$T/a.rc" a "$BIN/pop3fetch" -q "$BIN/mdeliver"
  assert_success
  [ "$(subjects "$T/md" | tr '\n' ,)" = "faultpop message 1,faultpop message 2,faultpop message 3," ]
  [ "$(fp_keys remaining)" = "" ]
}

@test "retrieval: killing pop3fetch in the middle of a message: mdeliver stores nothing of it" {
  scenario stall <<'EOF'
messages 2 sizes=500,300000
fault on=RETR arg=2 do=stall at-byte=100003 seconds=60
EOF
  fp_start stall
  frc a "keep off"
  "$BIN/rcparse" -C "$T/a.rc" a "$BIN/pop3fetch" -q "$BIN/mdeliver" 2>"$T/err" 3>&- &
  pid=$!
  for i in $(seq 1 200) ; do grep -q '"event": "stall"' "$T/fp.log" 2>/dev/null && break ; sleep 0.05 ; done
  # until message 1 is stored and the part of message 2 before the stall has
  # reached mdeliver
  for i in $(seq 1 200) ; do [ -n "$(ls "$T/md/tmp")" ] && [ -n "$(ls "$T/md/new")" ] && break ; sleep 0.05 ; done
  child=$(cat "/proc/$pid/task/$pid/children") || { cat "$T/err" ; ls -l "$T/md/new" "$T/md/tmp" ; cat "$T/fp.log" ; return 1 ; }
  [ -n "$child" ]
  kill -KILL "$pid"
  wait "$pid" || true
  for i in $(seq 1 200) ; do [ -d "/proc/$child" ] && ! grep -q '^State:.Z' "/proc/$child/status" 2>/dev/null || break ; sleep 0.05 ; done
  [ "$(subjects "$T/md")" = "faultpop message 1" ]
  [ -z "$(ls "$T/md/tmp")" ]
  run cat "$T/err"
  assert_output --partial "end of stream in the middle of a message"
}

@test "retrieval: -ERR to RETR: 76, the messages before it recorded, no DELE, no QUIT" {
  scenario retr <<'EOF'
messages 3
fault on=RETR arg=2 do=err text="-ERR [SYS/TEMP] message 2 is unavailable"
EOF
  fp_start retr
  frc a "keep off"
  run timeout 60 "$BIN/rcparse" -C "$T/a.rc" a "$BIN/pop3fetch" -q "$BIN/mdeliver"
  [ "$status" -eq 76 ]
  assert_output "pop3fetch: command RETR 2 failed
pop3fetch: POP3 server message: -ERR [SYS/TEMP] message 2 is unavailable
pop3fetch: error during mail retrieval (account a from $T/a.rc)"
  [ "$(subjects "$T/md")" = "faultpop message 1" ]
  [ "$(uids a)" = uid1 ]
  run fp_commands
  refute_line QUIT
  refute_line --regexp '^DELE'
}

@test "retrieval: -ERR to DELE: nothing deleted (no QUIT), everything recorded" {
  scenario dele <<'EOF'
messages 3
fault on=DELE arg=2 do=err text="-ERR [SYS/TEMP] cannot delete message 2"
EOF
  fp_start dele
  frc a "keep off"
  run timeout 60 "$BIN/rcparse" -C "$T/a.rc" a "$BIN/pop3fetch" -q "$BIN/mdeliver"
  [ "$status" -eq 76 ]
  assert_line --index 0 "pop3fetch: command DELE 2 failed"
  [ "$(count "$T/md")" -eq 3 ]
  [ "$(uids a | tr '\n' ' ')" = "uid1 uid2 uid3 " ]
  [ -z "$(fp_keys deleted)" ]
  run fp_commands
  refute_line QUIT
}

@test "retrieval: a server without UIDL: every message is new, nothing is recorded" {
  scenario nouidl <<'EOF'
uidl off
messages 3
EOF
  fp_start nouidl --sessions 2
  frc a "keep on"
  run timeout 60 "$BIN/rcparse" -C "$T/a.rc" a "$BIN/pop3fetch" -Q "$BIN/mdeliver"
  assert_success
  assert_line --index 1 --regexp '^new: 3 messages in '
  [ "$(count "$T/md")" -eq 3 ]
  [ -z "$(uids a)" ]
  frc a "keep off"
  run timeout 60 "$BIN/rcparse" -C "$T/a.rc" a "$BIN/pop3fetch" -Q "$BIN/mdeliver"
  assert_success
  assert_line --index 1 --regexp '^new: 3 messages in '
  [ "$(count "$T/md")" -eq 6 ]
  [ "$(fp_keys deleted)" = "uid1 uid2 uid3" ]
}

@test "retrieval: duplicate UIDs: a warning, every message delivered, none of them recorded" {
  scenario dup <<'EOF'
message uid=uid1
message uid=dup size=400
message uid=dup size=500
message uid=uid4
EOF
  fp_start dup
  frc a "keep on"
  run timeout 60 "$BIN/rcparse" -C "$T/a.rc" a "$BIN/pop3fetch" -q "$BIN/mdeliver"
  assert_success
  assert_output "pop3fetch: warning: the POP3 server gave the UID dup to several messages: they are treated as having no UID"
  [ "$(count "$T/md")" -eq 4 ]
  [ "$(uids a | tr '\n' ' ')" = "uid1 uid4 " ]
}

@test "retrieval: keep DURATION deletes a message once the first session that recorded it is that old" {
  scenario keep <<'EOF'
messages 4
EOF
  fp_start keep
  frc a "keep 1d"
  now=$(date +%s)
  cat > "$T/uidls.a" <<EOF
# written by the test
 3 127.0.0.1 u
uid1 $((now - 2 * 86400))
uid2 $((now - 3600))
uid3 $((now + 3600))
EOF
  run timeout 60 "$BIN/rcparse" -C "$T/a.rc" a "$BIN/pop3fetch" -Q "$BIN/mdeliver"
  assert_success
  assert_output "u at 127.0.0.1:
new: 1 message in 300 bytes, total: 4 messages in 1.17 KiB"
  [ "$(subjects "$T/md")" = "faultpop message 4" ]
  [ "$(fp_keys deleted)" = "uid1" ]
  run "$BIN/rcparse" -C "$T/a.rc" a "$BIN/uidlstore" list
  assert_output "uid2 $((now - 3600))
uid3 $((now + 3600))
uid4 $(sed -n 's/^uid4 //p' "$T/uidls.a")"
  [ "$(sed -n 's/^uid4 //p' "$T/uidls.a")" -ge "$now" ]
}

@test "retrieval: pipelining: a bounded window of RETRs; pipelining off: one at a time" {
  scenario many <<'EOF'
messages 1200 sizes=300
EOF
  fp_start many --sessions 2
  frc a "keep on"
  # the largest number of RETRs sent and not answered yet, from the -d trace
  outstanding () {
    awk '/^--> RETR / { n++ ; if (n > top) top = n ; next } n && /^<-- / { n-- } END { print top + 0 }' "$T/trace"
  }
  run timeout 120 sh -c '"$0" -C "$1" a "$2" -d "$3" >"$4"' "$BIN/rcparse" "$T/a.rc" "$BIN/pop3fetch" "$BIN/mdeliver" "$T/trace"
  assert_success
  [ "$(count "$T/md")" -eq 1200 ]
  top=$(outstanding)
  [ "$top" -gt 100 ] && [ "$top" -le 512 ] || { echo "window $top" ; return 1 ; }
  run grep -c '^--> PASS \*\*\*\*\*\*\*\*$' "$T/trace"
  assert_output 1
  rm -f "$T"/uidls.a* ; rm -rf "$T/md"
  frc a "keep on" "pipelining off"
  run timeout 120 sh -c '"$0" -C "$1" a "$2" -d "$3" >"$4"' "$BIN/rcparse" "$T/a.rc" "$BIN/pop3fetch" "$BIN/mdeliver" "$T/trace"
  assert_success
  [ "$(count "$T/md")" -eq 1200 ]
  [ "$(outstanding)" -eq 1 ]
}

@test "retrieval: -s prints the status and writes nothing; -A only authenticates" {
  scenario st <<'EOF'
messages 3 sizes=2,1536,1048576
EOF
  fp_start st --sessions 3
  frc a "keep off"
  cat > "$T/uidls.a" <<'EOF'
 1 127.0.0.1 u
uid2 1700000000
EOF
  cp "$T/uidls.a" "$T/before"
  run timeout 60 "$BIN/rcparse" -C "$T/a.rc" a "$BIN/pop3fetch" -s "$BIN/mdeliver"
  assert_success
  assert_output "u at 127.0.0.1:
new: 2 messages in 1.00 MiB, total: 3 messages in 1.00 MiB"
  cmp "$T/uidls.a" "$T/before"
  run timeout 60 "$BIN/rcparse" -C "$T/a.rc" a "$BIN/pop3fetch" -A "$BIN/mdeliver"
  assert_success
  assert_output ''
  rm "$T/uidls.a"
  run timeout 60 "$BIN/rcparse" -C "$T/a.rc" a "$BIN/pop3fetch" -A "$BIN/mdeliver"
  assert_success
  [ ! -e "$T/uidls.a" ]
  run fp_commands
  refute_line --regexp '^(RETR|DELE)'
  [ "$(count "$T/md")" -eq 0 ]
}

@test "retrieval: killsize and skipsize, with mpop's progress lines" {
  scenario sizes <<'EOF'
messages 4 sizes=500,5000,50000,500
EOF
  fp_start sizes
  frc a "keep off" "killsize 40000" "skipsize 4000"
  run timeout 60 "$BIN/rcparse" -C "$T/a.rc" a "$BIN/pop3fetch" "$BIN/mdeliver"
  assert_success
  assert_output "u at 127.0.0.1:
new: 4 messages in 54.69 KiB, total: 4 messages in 54.69 KiB
skipping message 2 of 4 (reason: skipsize)
deleting message 3 of 4 (reason: killsize)
retrieving message 1 of 4 (500 bytes): 100%
retrieving message 4 of 4 (500 bytes): 100%"
  [ "$(fp_keys deleted)" = "uid1 uid3 uid4" ]
  [ "$(uids a)" = "" ]
}

@test "retrieval: received_header off and only_new off" {
  scenario plain <<'EOF'
messages 2
EOF
  fp_start plain --sessions 2
  frc a "keep on" "received_header off"
  run timeout 60 "$BIN/rcparse" -C "$T/a.rc" a "$BIN/pop3fetch" -q "$BIN/mdeliver"
  assert_success
  run grep -l '^Received:' "$T"/md/new/*
  assert_output ''
  frc a "keep on" "only_new off"
  run timeout 60 "$BIN/rcparse" -C "$T/a.rc" a "$BIN/pop3fetch" -Q "$BIN/mdeliver"
  assert_success
  assert_line --index 1 --regexp '^new: no messages, total: 2 messages'
  [ "$(count "$T/md")" -eq 4 ]
}

@test "retrieval: SIGTERM during the retrieval: 74, what was acked stays recorded, no QUIT" {
  scenario term <<'EOF'
messages 3 sizes=500,300000,500
fault on=RETR arg=2 do=stall at-byte=100003 seconds=60
EOF
  fp_start term
  frc a "keep off"
  "$BIN/rcparse" -C "$T/a.rc" a "$BIN/pop3fetch" -q "$BIN/mdeliver" 2>"$T/err" 3>&- &
  pid=$!
  for i in $(seq 1 200) ; do grep -q '"event": "stall"' "$T/fp.log" 2>/dev/null && break ; sleep 0.05 ; done
  for i in $(seq 1 200) ; do [ -n "$(ls "$T/md/new")" ] && break ; sleep 0.05 ; done
  kill -TERM "$pid"
  status=0 ; wait "$pid" || status=$?
  [ "$status" -eq 74 ]
  run cat "$T/err"
  assert_line "pop3fetch: operation aborted"
  assert_line "pop3fetch: error during mail retrieval (account a from $T/a.rc)"
  [ "$(subjects "$T/md")" = "faultpop message 1" ]
  [ -z "$(ls "$T/md/tmp")" ]
  [ "$(uids a)" = uid1 ]
  run fp_commands
  refute_line QUIT
  refute_line --regexp '^DELE'
}

# mpop forwards SIGINT, SIGTERM and SIGHUP to its pop3fetch, which aborts as
# mpop does; mpop waits for it, returns its code and runs no further account
@test "retrieval: SIGTERM, SIGINT or SIGHUP to the mpop wrapper reaches pop3fetch: 74, no QUIT, no next account" {
  scenario term <<'EOF2'
messages 3 sizes=500,300000,500
fault on=RETR arg=2 do=stall at-byte=100003 seconds=60
EOF2
  fp_start term --sessions 10
  frc a "keep off"
  { cat "$T/a.rc" ; printf 'account b : a\n' ; } | rc ab.rc >/dev/null
  for sig in TERM INT HUP ; do
    rm -rf "$T/md" "$T"/uidls.a* ; maildir "$T/md"
    : > "$T/fp.log"
    "$BIN/mpop" -q -C "$T/ab.rc" a b 2>"$T/err" 3>&- &
    pid=$!
    for i in $(seq 1 200) ; do grep -q '"event": "stall"' "$T/fp.log" 2>/dev/null && break ; sleep 0.05 ; done
    for i in $(seq 1 200) ; do [ -n "$(ls "$T/md/new")" ] && break ; sleep 0.05 ; done
    kill -"$sig" "$pid" || { cat "$T/err" ; return 1 ; }
    status=0 ; wait "$pid" || status=$?
    [ "$status" -eq 74 ] || { echo "SIG$sig: mpop exited $status" ; cat "$T/err" ; return 1 ; }
    run cat "$T/err"
    assert_line "mpop: operation aborted"
    [ "$(subjects "$T/md")" = "faultpop message 1" ]
    [ "$(uids a)" = uid1 ]
    run fp_commands
    refute_line QUIT
    refute_line --regexp '^DELE'
    # one session only: account b was not run
    [ "$(grep -c '^USER' <<<"$output")" -eq 1 ]
    # no pop3fetch is left behind
    run pgrep -f "^$BIN/pop3fetch"
    assert_failure
  done
}

# mpop's UIDLs format errors (the corpus of uidlstore.bats), met by a session
@test "retrieval: a corrupted UIDLs file, each way: 65 with FILE, line N, nothing retrieved, no QUIT, file untouched" {
  scenario three <<'EOF2'
messages 3 sizes=500,500,500
EOF2
  fp_start three --sessions 20
  frc a "keep off"
  n=0
  while IFS='|' read -r content message ; do
    printf "$content" > "$T/uidls.a"
    chmod 600 "$T/uidls.a"
    cp "$T/uidls.a" "$T/copy"
    : > "$T/fp.log"
    run timeout 60 "$BIN/mpop" -q -C "$T/a.rc" a
    [ "$status" -eq 65 ] || { echo "$content: status $status: $output" ; return 1 ; }
    assert_line "mpop: $T/uidls.a, $message"
    [ "$(count "$T/md")" -eq 0 ]
    cmp "$T/uidls.a" "$T/copy"
    [ ! -e "$T/uidls.a.journal" ]
    run fp_commands
    refute_line --regexp '^(RETR|DELE|QUIT)'
    n=$((n + 1))
  done <<'EOF2'
# c\nx 1\n|line 2: UID without a list
# c\n\n|line 2: UID without a list
 1 h u\na 1\n# late\n|line 3: UID without a list
 0 h u\n|line 1: invalid number of UIDs
 x h u\n|line 1: invalid number of UIDs
 1  u\n|line 1: invalid or missing host name
 1 h \n|line 1: invalid or missing user name
 1 h u v\n|line 1: invalid or missing user name
 2 h u\na 1\n 1 h2 u\nb 1\n|line 3: too few UIDs for user u, host h
# c\n 3 h u\na 1\nb 2\n|line 4: too few UIDs for user u, host h
 1 h u\nb#c d\n|line 2: invalid timestamp
EOF2
  [ "$n" -eq 11 ]
  [ -z "$(fp_keys deleted)" ]
}

# The journal of acked UIDs left by a SIGKILLed session is merged by the
# next one: nothing is retrieved twice, and it is folded into the file.
@test "retrieval: the journal left by a killed run is recovered: no duplicate, folded into the file" {
  scenario journal <<'EOF2'
messages 4 sizes=500,500,300000,500
fault on=RETR arg=3 session=1 do=stall at-byte=100003 seconds=60
EOF2
  fp_start journal --sessions 2
  frc a "keep on"
  "$BIN/rcparse" -C "$T/a.rc" a "$BIN/pop3fetch" -q "$BIN/mdeliver" >/dev/null 2>&1 3>&- &
  pid=$!
  for i in $(seq 1 200) ; do grep -q '"event": "stall"' "$T/fp.log" 2>/dev/null && break ; sleep 0.05 ; done
  for i in $(seq 1 200) ; do grep -qs uid2 "$T/uidls.a.journal" && break ; sleep 0.05 ; done
  kill -KILL "$pid"
  wait "$pid" || true
  grep -q uid1 "$T/uidls.a.journal"
  grep -q uid2 "$T/uidls.a.journal"
  ! grep -q uid1 "$T/uidls.a" 2>/dev/null
  [ "$(count "$T/md")" -eq 2 ]
  run "$BIN/rcparse" -C "$T/a.rc" a "$BIN/uidlstore" check
  assert_success
  run timeout 60 "$BIN/mpop" -q -C "$T/a.rc" a
  assert_success
  [ "$(count "$T/md")" -eq 4 ]
  [ "$(subjects "$T/md" | sort -u | wc -l)" -eq 4 ]
  [ ! -e "$T/uidls.a.journal" ]
  [ "$(uids a | sort | tr '\n' ' ')" = "uid1 uid2 uid3 uid4 " ]
  # the second session retrieved only 3 and 4
  run sh -c "awk '/^CAPA\$/ { n++ } n == 2 && /^RETR/' <<'X'
$(fp_commands)
X"
  assert_output "$(printf 'RETR 3\nRETR 4')"
}

# new/ becomes read-only while the session runs (between two messages)
@test "retrieval: the maildir made read-only mid-run: 74, the messages before recorded, nothing else deleted, the rerun completes" {
  scenario ro <<'EOF2'
messages 4 sizes=500,300000,500,500
fault on=RETR arg=2 do=stall at-byte=100003 seconds=3
EOF2
  fp_start ro --sessions 2
  frc a "keep off"
  "$BIN/mpop" -q -C "$T/a.rc" a >"$T/out" 2>&1 3>&- &
  pid=$!
  for i in $(seq 1 200) ; do grep -q '"event": "stall"' "$T/fp.log" 2>/dev/null && break ; sleep 0.05 ; done
  for i in $(seq 1 200) ; do [ -n "$(ls "$T/md/new")" ] && break ; sleep 0.05 ; done
  if [ "$(id -u)" = 0 ] ; then
    chattr +i "$T/md/new" 2>/dev/null || { kill "$pid" ; skip "root, and chattr +i does not work here" ; }
    IMMUTABLE="$T/md/new"
  else
    chmod 555 "$T/md/new"
  fi
  status=0 ; wait "$pid" || status=$?
  [ "$status" -eq 74 ] || [ "$status" -eq 73 ] || { echo "status $status" ; cat "$T/out" ; return 1 ; }
  grep -q "$T/md" "$T/out"
  only_message_1_kept
  if [ -n "${IMMUTABLE:-}" ] ; then chattr -i "$T/md/new" ; IMMUTABLE='' ; else chmod 755 "$T/md/new" ; fi
  run timeout 60 "$BIN/mpop" -q -C "$T/a.rc" a
  assert_success
  [ "$(count "$T/md")" -eq 4 ]
  [ "$(fp_keys remaining)" = "" ]
}

@test "retrieval: a deliverer that stops reading times out: 74, nothing deleted" {
  scenario slow <<'EOF'
messages 3 sizes=500,500,500
EOF
  fp_start slow
  frc a "keep off" "timeout 1" "delivery mda \"sleep 3 ; cat > $T/md/new/m.\$\$\""
  run timeout 60 "$BIN/rcparse" -C "$T/a.rc" a "$BIN/pop3fetch" -q "$BIN/mdeliver"
  [ "$status" -eq 74 ]
  assert_line "pop3fetch: the deliverer timed out"
  [ -z "$(fp_keys deleted)" ]
  run fp_commands
  refute_line QUIT
}

# ------------------------------------------------------------ mpop

@test "retrieval: mpop and mpop 1.4.18 print the same status for the same mailbox" {
  dnew keepon 3 23
  rc m.rc >/dev/null <<EOF
defaults
host $DOVECOT_HOST
port $DOVECOT_PORT
password secret
auth user
tls off
uidls_file $T/uidls.%U
delivery maildir $T/md
keep on
account k
user keepon
EOF
  maildir "$T/md"
  run timeout 60 "$REFMPOP" -C "$T/m.rc" -s k
  assert_success
  ref=$output
  run timeout 60 "$BIN/mpop" -C "$T/m.rc" -s k
  assert_success
  assert_output "$ref"
  # after retrieving part of the mailbox with ours, mpop 1.4.18 agrees
  run timeout 60 "$BIN/mpop" -C "$T/m.rc" -q k
  assert_success
  dnew keepon 2 24
  run timeout 60 "$BIN/mpop" -C "$T/m.rc" -s k
  assert_success
  assert_line --index 1 --regexp '^new: 2 messages in [0-9.]+ KiB, total: [0-9]+ messages in '
}

@test "retrieval: mpop runs every account; one failure does not stop the next; two give 75" {
  dnew keepoff 4 25
  scenario fp <<'EOF'
messages 1
EOF
  fp_start fp --sessions 3
  rc m.rc >/dev/null <<EOF
defaults
host $DOVECOT_HOST
auth user
tls off
uidls_file $T/uidls.%U
delivery maildir $T/md
keep on
account bad
port $FP_PORT
user u
password wrong
account good
port $DOVECOT_PORT
user keepoff
password secret
account worse
port $FP_PORT
user v
password p
EOF
  maildir "$T/md"
  run timeout 60 "$BIN/mpop" -C "$T/m.rc" -q bad good
  [ "$status" -eq 77 ]
  assert_output "mpop: authentication failed (method USER)
mpop: POP3 server message: -ERR [AUTH] Authentication failed.
mpop: error during mail retrieval (account bad from $T/m.rc)"
  [ "$(count "$T/md")" -eq 4 ]
  run timeout 60 "$BIN/mpop" -C "$T/m.rc" -q bad worse good
  [ "$status" -eq 75 ]
  assert_line "mpop: error during mail retrieval (account bad from $T/m.rc)"
  assert_line "mpop: error during mail retrieval (account worse from $T/m.rc)"
}

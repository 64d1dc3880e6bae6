#!/usr/bin/env bats
# uidlstore and the UIDLs file of libmpop: format (mpop 1.4.23), old files
# written by Debian's mpop 1.4.18, locking, journal, recovery, big files.

load lib/common

setup ()
{
  common_setup
  F="$T/uidls"
  HOLDER_PID=
  MPOPD_PID=
  MPOPD2_PID=
}

teardown ()
{
  [ -z "$HOLDER_PID" ] || kill "$HOLDER_PID" 2>/dev/null || true
  [ -z "$MPOPD_PID" ] || kill "$MPOPD_PID" 2>/dev/null || true
  [ -z "$MPOPD2_PID" ] || kill "$MPOPD2_PID" 2>/dev/null || true
}

us () { "$BIN/uidlstore" -f "$F" -h pop.example.org -u joe "$@" ; }

# the UIDs of the list of host $1 and user $2 in file $3, without timestamps
uids_of () { awk -v h="$1" -v u="$2" '/^ / { on = ($2 == h && $3 == u) ; next } on { sub(/ [^ ]*$/, "") ; print }' "$3" ; }

wait_for () # wait_for CMD...: polls CMD every 0.1 s, at most 10 s
{
  for _ in $(seq 100) ; do "$@" && return 0 ; sleep 0.1 ; done
  return 1
}

# hold_lock FILE SECONDS: a python process holds an fcntl write lock on FILE
hold_lock ()
{
  python3 -c 'import fcntl, sys, time
f = open(sys.argv[1], "r+")
fcntl.lockf(f, fcntl.LOCK_EX)
open(sys.argv[2], "w").close()
time.sleep(float(sys.argv[3]))' "$1" "$T/locked" "$2" &
  HOLDER_PID=$!
  wait_for test -e "$T/locked"
}

# an mpop 1.4.23 file with lists for joe and ann
good_file ()
{
  cat > "$F" <<'EOF'
# written by hand
#
 2 pop.example.org joe
a 100
b 200
 1 pop.example.org ann
z 300
EOF
  chmod 600 "$F"
}

@test "unit tests of parser, sets and journal" {
  run "$TESTBIN/uidls-test" "$T"
  assert_success
  refute_output --partial "not ok"
}

@test "round trip: add, list, timestamps kept, other accounts kept" {
  good_file
  before=$(date +%s)
  printf 'c\nb\n' | us add
  after=$(date +%s)
  run us list
  assert_success
  assert_line --index 0 "a 100"
  assert_line --index 1 "b 200"
  ts=$(us list | sed -n 's/^c //p')
  [ "$ts" -ge "$before" ] && [ "$ts" -le "$after" ]
  assert_equal "$(uids_of pop.example.org ann "$F")" "z"
  grep -qx 'z 300' "$F"
  run grep -c '^#' "$F"
  assert_output 8
  head -n 1 "$F" | grep -q '^# .*uidlstore'
  [ ! -e "$F.journal" ]
}

@test "list -a prints every list; prune keeps the given UIDs; empty lists vanish" {
  good_file
  run us list -a
  assert_success
  assert_output "$(printf ' 2 pop.example.org joe\na 100\nb 200\n 1 pop.example.org ann\nz 300')"
  printf 'b\nnot-there\n' | us prune
  run us list
  assert_output "b 200"
  us prune < /dev/null
  run cat "$F"
  refute_output --partial " pop.example.org joe"
  assert_output --partial " 1 pop.example.org ann"
  grep -qx 'z 300' "$F"
}

@test "the file is written sorted bytewise, in the 1.4.23 format" {
  printf 'b\nB\n_\na b c\n#x\n\xe9t\xe9\n' | us add
  run uids_of pop.example.org joe "$F"
  assert_output "$(printf '#x\nB\n_\na b c\nb\n\xe9t\xe9')"
  grep -q '^ 6 pop.example.org joe$' "$F"
  [ "$(sed -n '/^ /,$p' "$F" | grep -vc '^ ')" = 6 ]
  ! sed -n '/^ /,$p' "$F" | grep -v '^ ' | grep -qv ' [0-9][0-9]*$'
}

@test "files are 0600, created directories 0700, also when mpop left 0644" {
  F="$T/a/b/uidls"
  echo x | us add
  assert_equal "$(stat -c %a "$T/a")" 700
  assert_equal "$(stat -c %a "$T/a/b")" 700
  assert_equal "$(stat -c %a "$F")" 600
  chmod 644 "$F"
  echo y | us add
  assert_equal "$(stat -c %a "$F")" 600
}

@test "settings from rcparse: default file ~/.mpop_uidls/USER_at_HOST" {
  rcf=$(rc rc <<EOF
account work
host pop.example.org
user joe
delivery maildir $T/md
EOF
)
  echo m1 | "$BIN/rcparse" -C "$rcf" work "$BIN/uidlstore" add
  [ -f "$HOME/.mpop_uidls/joe_at_pop.example.org" ]
  assert_equal "$(stat -c %a "$HOME/.mpop_uidls")" 700
  run "$BIN/rcparse" -C "$rcf" work "$BIN/uidlstore" list
  assert_success
  assert_output --regexp '^m1 [0-9]+$'
}

@test "socket accounts use the socket path as host" {
  rcf=$(rc rc <<EOF
account s
socket /run/pop.sock
user joe
uidls_file $F
delivery maildir $T/md
EOF
)
  echo m1 | "$BIN/rcparse" -C "$rcf" s "$BIN/uidlstore" add
  grep -q '^ 1 /run/pop.sock joe$' "$F"
}

@test "a file written by Debian's mpop 1.4.18 is read and rewritten in the 1.4.23 format" {
  [ -x /usr/bin/mpopd ] && [ -x "$REFMPOP" ] || skip "mpop/mpopd not installed"
  for m in md1 md2 out ; do mkdir -p "$T/$m/new" "$T/$m/cur" "$T/$m/tmp" ; done
  printf 'Subject: 1\n\none\n' > "$T/md1/new/m1"
  printf 'Subject: 2\n\ntwo\n' > "$T/md1/new/m2"
  printf 'Subject: 3\n\nthree\n' > "$T/md2/new/k1"
  port=$(python3 "$TESTS_DIR/lib/nettool.py" freeports 1)
  /usr/bin/mpopd --port="$port" --auth=test,'echo secret' --maildir="$T/md1" \
    --auth=other,'echo secret' --maildir="$T/md2" 3>&- &
  MPOPD_PID=$!
  python3 "$TESTS_DIR/lib/nettool.py" wait --greeting --pid "$MPOPD_PID" "$port"
  rcf=$(rc mpoprc <<EOF
defaults
host 127.0.0.1
port $port
password secret
auth user
tls off
keep on
uidls_file $F
delivery maildir $T/out
account a
user test
account b
user other
EOF
)
  run "$REFMPOP" -C "$rcf" -q -a
  assert_success
  grep -q '^m1$' "$F"
  grep -q '^k1$' "$F"
  cp "$F" "$T/old"

  before=$(date +%s)
  run "$BIN/rcparse" -C "$rcf" a "$BIN/uidlstore" list
  assert_success
  assert_equal "$(echo "$output" | cut -d' ' -f1 | tr '\n' ,)" "m1,m2,"
  ts=$(echo "$output" | sed -n 's/^m1 //p')
  [ "$ts" -ge "$before" ]
  run "$BIN/rcparse" -C "$rcf" a "$BIN/uidlstore" check
  assert_success
  cmp "$F" "$T/old"

  echo m3 | "$BIN/rcparse" -C "$rcf" a "$BIN/uidlstore" add
  grep -q '^ 3 127.0.0.1 test$' "$F"
  grep -q '^ 1 127.0.0.1 other$' "$F"
  grep -q '^k1 [0-9][0-9]*$' "$F"
  grep -q '^m1 [0-9][0-9]*$' "$F"
  ! grep -qx 'm1' "$F"
}

# our mpop meets the same lock at the same time: one 10 s wait for both
@test "mpop 1.4.18 and our mpop respect the lock held by uidlstore lock: 74 after 10 s, nothing retrieved" {
  [ -x /usr/bin/mpopd ] && [ -x "$REFMPOP" ] || skip "mpop/mpopd not installed"
  mkdir -p "$T/md/new" "$T/md/cur" "$T/md/tmp" "$T/out/new" "$T/out/cur" "$T/out/tmp"
  printf 'Subject: 1\n\none\n' > "$T/md/new/m1"
  port=$(python3 "$TESTS_DIR/lib/nettool.py" freeports 1)
  /usr/bin/mpopd --port="$port" --auth=test,'echo secret' --maildir="$T/md" 3>&- &
  MPOPD_PID=$!
  python3 "$TESTS_DIR/lib/nettool.py" wait --greeting --pid "$MPOPD_PID" "$port"
  rcf=$(rc mpoprc <<EOF
account default
host 127.0.0.1
port $port
user test
password secret
auth user
tls off
uidls_file $F
delivery maildir $T/out
EOF
)
  mkfifo "$T/release"
  "$BIN/uidlstore" -f "$F" lock sh -c ': > "$1" ; read x < "$2"' sh "$T/locked" "$T/release" 3>&- &
  HOLDER_PID=$!
  wait_for test -e "$T/locked"
  # ours talks to a second mpopd (mpopd locks its mailbox per session)
  cp -a "$T/md" "$T/md2"
  port2=$(python3 "$TESTS_DIR/lib/nettool.py" freeports 1)
  /usr/bin/mpopd --port="$port2" --auth=test,'echo secret' --maildir="$T/md2" 3>&- &
  MPOPD2_PID=$!
  python3 "$TESTS_DIR/lib/nettool.py" wait --greeting --pid "$MPOPD2_PID" "$port2"
  sed "s|$T/out|$T/ours|; s|^port .*|port $port2|" "$rcf" > "$T/ours.rc" ; chmod 600 "$T/ours.rc"
  mkdir -p "$T/ours/new" "$T/ours/cur" "$T/ours/tmp"
  "$BIN/mpop" -C "$T/ours.rc" -q > "$T/ours.out" 2>&1 3>&- &
  ours=$!
  run "$REFMPOP" -C "$rcf" -q
  oursrc=0 ; wait "$ours" || oursrc=$?
  echo x > "$T/release"
  assert_failure 74
  assert_output --partial "cannot lock $F (tried for 10 seconds)"
  [ -z "$(ls "$T/out/new")" ]
  [ "$oursrc" -eq 74 ] || { cat "$T/ours.out" ; return 1 ; }
  run cat "$T/ours.out"
  assert_output --partial "cannot lock $F (tried for 10 seconds)"
  [ -z "$(ls "$T/ours/new")" ]
  wait "$HOLDER_PID"
}

@test "lock contention: waits for the holder, then gives up with 74" {
  good_file
  cp "$F" "$T/copy"
  hold_lock "$F" 30
  run us add <<< new
  assert_failure 74
  assert_output "uidlstore: cannot lock $F (tried for 10 seconds): Resource temporarily unavailable"
  cmp "$F" "$T/copy"
  [ ! -e "$F.journal" ]
}

@test "lock contention: a holder that lets go in time delays but does not fail" {
  good_file
  hold_lock "$F" 1
  run us add <<< new
  assert_success
  run us list
  assert_line "a 100"
  assert_line --regexp '^new [0-9]+$'
}

@test "add keeps reading while the lock is busy, and records it all at the end" {
  good_file
  hold_lock "$F" 60
  mkfifo "$T/in"
  "$BIN/uidlstore" -f "$F" -h pop.example.org -u joe add < "$T/in" 3>&- &
  pid=$!
  seq -f 'pipe-%g' 20000 > "$T/in"
  kill "$HOLDER_PID"
  wait "$pid"
  us list > "$T/out"
  [ "$(wc -l < "$T/out")" -eq 20002 ]
  grep -q '^pipe-20000 [0-9][0-9]*$' "$T/out"
}

@test "lock prog: holds the lock while prog runs, passes its exit code" {
  good_file
  run us lock python3 -c 'import fcntl, sys
try:
  fcntl.lockf(open(sys.argv[1], "r+"), fcntl.LOCK_EX | fcntl.LOCK_NB)
except OSError:
  sys.exit(7)' "$F"
  assert_failure 7
  run us lock sh -c 'exit 0'
  assert_success
  run us lock "$T/no-such-program"
  assert_failure 69
  assert_output --partial "cannot run $T/no-such-program"
}

@test "concurrent adds on one file never lose an update (rename race)" {
  good_file
  pids=
  for p in x y z ; do
    ( for i in $(seq 30) ; do echo "$p$i" | us add || exit 1 ; done ) &
    pids="$pids $!"
  done
  for pid in $pids ; do wait "$pid" ; done
  run us list
  assert_success
  [ "${#lines[@]}" -eq 92 ]
  for p in x y z ; do for i in $(seq 30) ; do assert_line --regexp "^$p$i [0-9]+$" ; done ; done
  assert_equal "$(uids_of pop.example.org ann "$F")" "z"
  [ ! -e "$F.journal" ]
}

@test "journal recovery after kill -9 mid-add, torn last line ignored" {
  good_file
  mkfifo "$T/in"
  "$BIN/uidlstore" -f "$F" -h pop.example.org -u joe add < "$T/in" 3>&- &
  pid=$!
  exec 7> "$T/in"
  echo first >&7
  wait_for grep -q ' first ' "$F.journal"
  kill -9 "$pid"
  wait "$pid" || true
  exec 7>&-
  ! grep -q '^first' "$F"
  printf '1795711327 pop.example.org joe torn 0123' >> "$F.journal"
  run us list
  assert_success
  assert_line --regexp '^first [0-9]+$'
  refute_output --partial torn
  run us check
  assert_success
  us add < /dev/null
  [ ! -e "$F.journal" ]
  grep -q '^first [0-9][0-9]*$' "$F"
  ! grep -q torn "$F"
}

@test "a garbled journal line before valid ones: readers skip it, check reports it" {
  good_file
  mkfifo "$T/in"
  "$BIN/uidlstore" -f "$F" -h pop.example.org -u joe add < "$T/in" 3>&- &
  pid=$!
  exec 7> "$T/in"
  echo kept >&7
  wait_for grep -q ' kept ' "$F.journal"
  kill -9 "$pid"
  wait "$pid" || true
  exec 7>&-
  { echo '1795711327 pop.example.org joe garbled 00000000' ; cat "$F.journal" ; } > "$T/j"
  mv "$T/j" "$F.journal"
  run us check
  assert_failure 65
  assert_output "uidlstore: $F.journal, line 1: invalid journal entry"
  run us list
  assert_success
  assert_line --regexp '^kept [0-9]+$'
  refute_output --partial garbled
}

@test "journal lines of other accounts are folded into their lists" {
  good_file
  echo q | "$BIN/uidlstore" -f "$F" -h pop.example.org -u ann add
  echo r | us add
  assert_equal "$(uids_of pop.example.org ann "$F" | tr '\n' ,)" "q,z,"
  assert_equal "$(uids_of pop.example.org joe "$F" | tr '\n' ,)" "a,b,r,"
}

corrupt () # corrupt NAME CONTENT MESSAGE
{
  printf "$2" > "$F"
  chmod 600 "$F"
  cp "$F" "$T/copy"
  for cmd in add list prune check ; do
    run us $cmd <<< new
    assert_failure 65
    assert_output "uidlstore: $F, $3"
    cmp "$F" "$T/copy"
    [ ! -e "$F.journal" ]
  done
}

@test "corrupted files: 65 with mpop's message, file untouched" {
  corrupt uid-without-list '# c\nx 1\n' 'line 2: UID without a list'
  corrupt empty-line '# c\n\n' 'line 2: UID without a list'
  corrupt comment-after-data ' 1 h u\na 1\n# late\n' 'line 3: UID without a list'
  corrupt count-zero ' 0 h u\n' 'line 1: invalid number of UIDs'
  corrupt count-bad ' x h u\n' 'line 1: invalid number of UIDs'
  corrupt no-host ' 1  u\n' 'line 1: invalid or missing host name'
  corrupt no-user ' 1 h \n' 'line 1: invalid or missing user name'
  corrupt user-space ' 1 h u v\n' 'line 1: invalid or missing user name'
  corrupt too-few-header ' 2 h u\na 1\n 1 h2 u\nb 1\n' 'line 3: too few UIDs for user u, host h'
  corrupt too-few-eof '# c\n 3 h u\na 1\nb 2\n' 'line 4: too few UIDs for user u, host h'
  corrupt bad-timestamp ' 1 h u\nb#c d\n' 'line 2: invalid timestamp'
  corrupt long-line " 1 h u\n$(head -c 8191 /dev/zero | tr '\0' x)\n" 'line 2: line longer than 8191 characters'
}

@test "add skips the stream uids of messages without a UID (a space and the number)" {
  run us add <<< $'a\n 2\nb\n 17'
  assert_success
  assert_output ''
  run uids_of pop.example.org joe "$F"
  assert_output $'a\nb'
  ! grep -q '^ 2\| 17' "$F.journal" 2>/dev/null
}

@test "invalid input: UIDs, usage, account" {
  run us add <<< $'good\nb\001ad'
  assert_failure 65
  assert_output "uidlstore: standard input, line 2: invalid UID"
  run us list
  assert_line --regexp '^good [0-9]+$'
  run us add <<< $'a\tb'
  assert_failure 65
  run us add <<< "$(head -c 9000 /dev/zero | tr '\0' x)"
  assert_failure 65
  assert_output "uidlstore: standard input, line 1: line too long"
  run "$BIN/uidlstore" -f "$F" -h h -u 'joe smith' add <<< x
  assert_failure 78
  run "$BIN/uidlstore" -f "$F" -h h add <<< x
  assert_failure 78
  run "$BIN/uidlstore" list
  assert_failure 64
  for args in "" "frob" "list x" "list -b" "add x" "prune x" "check x" "lock" ; do
    run us $args
    assert_failure 64
    assert_output --partial "usage: uidlstore"
  done
}

@test "check: good, missing and mpop 1.4.18 files pass" {
  run us check
  assert_success
  good_file
  run us check
  assert_success
  printf '# old\n 2 h u\nm1\nm2\n' > "$F"
  run "$BIN/uidlstore" -f "$F" check
  assert_success
  [ ! -e "$T/nothing" ]
  run "$BIN/uidlstore" -f "$T/nothing" list -a
  assert_success
  assert_output ""
  [ ! -e "$T/nothing" ]
}

@test "100000 UIDs: add and list work" {
  awk 'BEGIN { print "# big" ; print " 100000 pop.example.org joe" ; for (i = 0 ; i < 100000 ; i++) printf "uid-%06d 1700000000\n", i }' > "$F"
  seq -f 'new-%g' 1000 | us add
  us list > "$T/out"
  [ "$(wc -l < "$T/out")" -eq 101000 ]
  grep -qx "uid-099999 1700000000" "$T/out"
  grep -q "^new-1000 [0-9]*$" "$T/out"
  grep -q '^ 101000 pop.example.org joe$' "$F"
  run us check
  assert_success
}

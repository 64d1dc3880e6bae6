#!/usr/bin/env bats
# The quick check of pop3fetch (mpop --full-uidl to opt out): with keep on,
# only new messages wanted and as many messages on the server as UIDs
# stored (at least 256), "UIDL k" for a sample of positions replaces the
# LIST and UIDL listings; anything unexpected falls back to them.

load lib/common
load lib/faultpop

setup () {
  common_setup
}

teardown () {
  faultpop_stop
}

# scn NAME [DIRECTIVE...]: an ad-hoc scenario of N messages (uid1...);
# prints its path
scn () {
  local name=$1 ; shift
  printf '%s\n' "$@" > "$T/$name.scn"
  printf '%s\n' "$T/$name.scn"
}

# known FIRST LAST [UID...]: the UIDLs file knows uidFIRST..uidLAST and UIDs
known () {
  local first=$1 last=$2 now ; shift 2
  now=$(date +%s)
  {
    printf '# written by quickpoll.bats\n %s 127.0.0.1 u\n' $(( last - first + 1 + $# ))
    seq -f "uid%g $now" "$first" "$last"
    for u in "$@" ; do printf '%s %s\n' "$u" "$now" ; done
  } > "$T/uidls"
  cp -p "$T/uidls" "$T/uidls.before"
}

# poll [OPTION...]: our mpop, keep on, into the maildir $T/md
poll () {
  faultpop_maildir "$T/md"
  faultpop_mpop "$BIN/mpop" --auth=user --tls=off --keep=on \
    --delivery=maildir,"$T/md" --uidls-file="$T/uidls" "$@"
}

# listed: whether the session asked for the whole lists
listed () {
  faultpop_commands | grep -cx 'UIDL\|LIST' || true
}

# same_uids: the UIDLs file lists the same entries as before the poll
same_uids () {
  diff <(grep -v '^#' "$T/uidls" | sort) <(grep -v '^#' "$T/uidls.before" | sort)
}

delivered () { ls "$T/md/new" | wc -l ; }

@test "quickpoll: nothing new among 300 kept messages: UIDL k only, in one burst, UIDLs file untouched" {
  known 1 300
  faultpop_start "$(scn q 'messages 300')"
  run poll
  assert_success
  assert_output --partial 'new: no messages, total: 300 messages'
  faultpop_wait
  [ "$(listed)" = 0 ]
  faultpop_log_has '"line": "UIDL 1"'
  faultpop_log_has '"line": "UIDL 300"'
  [ "$(faultpop_commands | grep -c '^UIDL ')" -eq 16 ]
  run faultpop_bursts
  assert_line --regexp '^UIDL 1( \+ UIDL [0-9]+){14} \+ UIDL 300$'
  [ "$(delivered)" = 0 ]
  cmp "$T/uidls" "$T/uidls.before"
  [ "$(stat -c %Y "$T/uidls")" = "$(stat -c %Y "$T/uidls.before")" ]
}

@test "quickpoll: the same status as the full listing, which --full-uidl forces" {
  known 1 300
  faultpop_start "$(scn q 'messages 300')" --sessions 2
  run poll -s
  assert_success
  local quick=$output
  run poll -s --full-uidl
  assert_success
  assert_equal "$output" "$quick"
  faultpop_wait
  [ "$(faultpop_commands 2 | grep -cx UIDL)" = 1 ]
  [ "$(faultpop_commands 2 | grep -c '^UIDL ')" = 0 ]
}

@test "quickpoll: one message more than stored UIDs: the full listing, the new one retrieved" {
  known 1 299
  faultpop_start "$(scn q 'messages 300')"
  run poll
  assert_success
  faultpop_wait
  [ "$(listed)" = 2 ]
  [ "$(faultpop_commands | grep -c '^UIDL ')" = 0 ]
  [ "$(delivered)" = 1 ]
  grep -qx 'uid300 [0-9]*' "$T/uidls"
}

@test "quickpoll: same count, but the last message is new (a known one was deleted): the full listing" {
  known 1 299 gone
  faultpop_start "$(scn q 'messages 300')"
  run poll
  assert_success
  faultpop_wait
  [ "$(listed)" = 2 ]
  [ "$(delivered)" = 1 ]
  grep -qx 'uid300 [0-9]*' "$T/uidls"
  ! grep -q '^gone ' "$T/uidls"
}

@test "quickpoll: a sampled position answers an unknown UID: the full listing" {
  known 1 300
  faultpop_start "$(scn q 'messages 300' 'fault on=UIDL arg=20 do=reply line="+OK 20 stranger"')"
  run poll
  assert_success
  faultpop_wait
  faultpop_log_has '"line": "UIDL 20"'
  [ "$(listed)" = 2 ]
  [ "$(delivered)" = 0 ]
  same_uids
}

@test "quickpoll: UIDL k answered -ERR: the full listing" {
  known 1 300
  faultpop_start "$(scn q 'messages 300' 'fault on=UIDL arg=1 do=err')"
  run poll
  assert_success
  faultpop_wait
  [ "$(listed)" = 2 ]
  [ "$(delivered)" = 0 ]
}

@test "quickpoll: malformed answers to UIDL k (wrong number, no UID, repeated UID): the full listing" {
  local f
  for f in 'line="+OK 299 uid300"' 'line="+OK 300"' 'line="+OK 300 uid1"' 'line="+OK"'
  do
    known 1 300
    rm -f "$T/fp.log"
    FAULTPOP_DIR="$T/fp-${#f}" faultpop_start "$(scn q "messages 300" "fault on=UIDL arg=300 do=reply $f")"
    run poll
    assert_success
    faultpop_wait
    [ "$(listed)" = 2 ] || fail "$f: no full listing"
    [ "$(delivered)" = 0 ]
    same_uids
  done
}

@test "quickpoll: keep off: the full listing (and the known messages are deleted)" {
  known 1 300
  faultpop_start "$(scn q 'messages 300')"
  run poll --keep=off
  assert_success
  faultpop_wait
  [ "$(listed)" = 2 ]
  [ "$(faultpop_commands | grep -c '^DELE ')" = 300 ]
}

@test "quickpoll: keep for a duration, or all messages wanted: the full listing" {
  known 1 300
  faultpop_start "$(scn q 'messages 300')" --sessions 2
  run poll --keep=30d
  assert_success
  run poll --only-new=off -q
  assert_success
  faultpop_wait
  [ "$(faultpop_commands 1 | grep -cx UIDL)" = 1 ]
  [ "$(faultpop_commands 2 | grep -cx UIDL)" = 1 ]
  [ "$(faultpop_commands | grep -c '^UIDL ')" = 0 ]
}

@test "quickpoll: fewer than 256 messages: LIST and UIDL as before" {
  known 1 255
  faultpop_start "$(scn q 'messages 255')"
  run poll
  assert_success
  faultpop_wait
  [ "$(listed)" = 2 ]
  [ "$(faultpop_commands | grep -c '^UIDL ')" = 0 ]
}

@test "quickpoll: without pipelining, one UIDL k at a time, stopping at the first unknown UID" {
  known 1 300
  faultpop_start "$(scn q 'messages 300' 'pipelining off' 'fault on=UIDL arg=1 session=2 do=reply line="+OK 1 stranger"')" --sessions 2
  run poll --pipelining=off
  assert_success
  run poll --pipelining=off
  assert_success
  faultpop_wait
  [ "$(faultpop_commands 1 | grep -c '^UIDL ')" = 16 ]
  [ "$(faultpop_bursts 1 | grep -c '^UIDL [0-9]*$')" = 16 ]
  [ "$(faultpop_commands 1 | grep -cx 'UIDL\|LIST')" = 0 ]
  [ "$(faultpop_commands 2 | grep -c '^UIDL ')" = 1 ]
  [ "$(faultpop_commands 2 | grep -cx 'UIDL\|LIST')" = 2 ]
}

#!/usr/bin/env bats
# mpoploop: the polling loop for supervisors. A stand-in mpop records its
# calls and exits with scripted codes; the loop's log says which wait it
# chose after each poll. Waits are skipped with SIGHUP (sent by the stand-in
# itself, during the poll: the loop then polls again at once), so nothing
# here depends on timing. Then the same against Debian's mpop and faultpop.

load lib/common
load lib/faultpop

setup () {
  common_setup
  mkdir -p "$T/bin"
  cp "$BIN/mpoploop" "$T/bin/mpoploop"
  # The stand-in: "-S" prints a server description with $T/login-delay if
  # present; otherwise it takes the next code from $T/codes. A code
  # "hup:N" sends SIGHUP to the loop first; "sig:NAME" kills itself;
  # "hang" starts a child and waits for it.
  cat > "$T/bin/mpop" <<X
#!/bin/sh
echo "\$*" >> "$T/calls"
case " \$* " in
  *" -S "*)
    echo "POP3 server at pop.example.org, port 110:"
    [ -f "$T/login-delay" ] && printf '    LOGIN-DELAY %s:\n        minimum time\n' "\$(cat "$T/login-delay")"
    exit 0 ;;
esac
code=\$(head -n 1 "$T/codes") ; sed -i 1d "$T/codes"
case \$code in
  hup:*) kill -HUP "\$PPID" ; code=\${code#hup:} ;;
  sig:*) kill -"\${code#sig:}" \$\$ ;;
  hang) sleep 60 & echo "\$!" > "$T/grandchild" ; wait ; exit 0 ;;
esac
exit "\$code"
X
  chmod +x "$T/bin/mpop"
}

teardown () {
  [ -n "${LOOP:-}" ] && kill -KILL "$LOOP" 2>/dev/null
  faultpop_stop
  return 0
}

codes () { printf '%s\n' "$@" > "$T/codes" ; }

# log lines without the "mpoploop: ACCOUNT: " prefix
loglines () { sed -n 's/^mpoploop: [^:]*: //p' "$T/log" ; }

# wait_log TEXT: until the log has a line ending in TEXT (at most 10 s)
wait_log () {
  for _ in $(seq 100) ; do
    grep -qF -- "$1" "$T/log" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "not in the log: $1" ; cat "$T/log" ; return 1
}

# wait_exit PID: returns its exit status (it is killed after 10 s)
wait_exit () {
  for _ in $(seq 100) ; do
    kill -0 "$1" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$1" 2>/dev/null || true
  wait "$1"
}

@test "mpoploop: waits follow the exit codes: interval, doubling on failures, hold on configuration errors" {
  codes hup:77 hup:77 hup:139 hup:75 hup:78 hup:64 hup:0 hup:77 0
  run "$T/bin/mpoploop" -l 0 -i 10 -b 70 -n 9 acct
  assert_success
  printf '%s\n' "$output" | sed -n 's/^mpoploop: acct: //p' > "$T/got"
  cat > "$T/want" <<X
polling every 10 seconds
mpop exited 77 (authentication failed), 1 failure in a row: next poll in 20 seconds
SIGHUP: polling now
mpop exited 77 (authentication failed), 2 failures in a row: next poll in 40 seconds
SIGHUP: polling now
mpop exited 139, 3 failures in a row: next poll in 70 seconds
SIGHUP: polling now
mpop exited 75 (temporary failure): next poll in 10 seconds
SIGHUP: polling now
mpop exited 78 (configuration error), fix it then send SIGHUP: next poll in 70 seconds
SIGHUP: polling now
mpop exited 64 (usage error), fix it then send SIGHUP: next poll in 70 seconds
SIGHUP: polling now
mpop exited 0 (success): next poll in 10 seconds
SIGHUP: polling now
mpop exited 77 (authentication failed), 1 failure in a row: next poll in 20 seconds
SIGHUP: polling now
mpop exited 0 (success): no more polls
X
  diff -u "$T/want" "$T/got"
  run cat "$T/calls"
  assert_output "$(for _ in $(seq 9) ; do echo "-Q acct" ; done)"
}

@test "mpoploop: a killed mpop counts as a failure" {
  codes hup:0 sig:SEGV
  run "$T/bin/mpoploop" -l 0 -i 5 -n 2 acct
  assert_failure 139
  assert_line "mpoploop: acct: mpop killed by signal SIGSEGV, 1 failure in a row: no more polls"
}

@test "mpoploop: the server's LOGIN-DELAY from mpop -S raises the interval and delays the first poll" {
  echo 900 > "$T/login-delay"
  codes hup:0 0
  "$T/bin/mpoploop" -i 60 -n 2 acct 2> "$T/log" &
  LOOP=$!
  wait_log "first poll in 900 seconds (mpop -S logged in)"
  kill -HUP "$LOOP"
  wait_exit "$LOOP"
  run loglines
  assert_output "the server's LOGIN-DELAY is 900 seconds (from mpop -S)
polling every 900 seconds
first poll in 900 seconds (mpop -S logged in)
SIGHUP: polling now
mpop exited 0 (success): next poll in 900 seconds
SIGHUP: polling now
mpop exited 0 (success): no more polls"
  run cat "$T/calls"
  assert_output "-S acct
-Q acct
-Q acct"
}

@test "mpoploop: an interval longer than the LOGIN-DELAY stays; -l skips the probe" {
  echo 30 > "$T/login-delay"
  codes 0
  run "$T/bin/mpoploop" -i 600 -l 30 -n 1 acct
  assert_success
  assert_line "mpoploop: acct: the server's LOGIN-DELAY is 30 seconds"
  assert_line "mpoploop: acct: polling every 600 seconds"
  refute_output --partial "first poll"
  run cat "$T/calls"
  assert_output "-Q acct"
  codes 0
  rm "$T/calls"
  run "$T/bin/mpoploop" -i 600 -n 1 acct
  assert_line "mpoploop: acct: polling every 600 seconds"
  run cat "$T/calls"
  assert_output "-S acct
-Q acct"
}

@test "mpoploop: a failing probe leaves the LOGIN-DELAY unknown and polls anyway" {
  sed -i 's/^    exit 0 ;;$/    exit 75 ;;/' "$T/bin/mpop"
  codes 0
  run "$T/bin/mpoploop" -n 1 acct
  assert_success
  assert_line "mpoploop: acct: mpop -S failed: the server's LOGIN-DELAY is unknown"
  assert_line "mpoploop: acct: mpop exited 0 (success): no more polls"
}

@test "mpoploop: -C and -q reach mpop; -p chooses the program" {
  codes 0 0
  run "$T/bin/mpoploop" -C "$T/rc file" -q -l 0 -n 1 acct
  assert_success
  run "$T/bin/mpoploop" -p "$T/bin/mpop" -C "$T/rc file" -n 1 acct
  assert_success
  run cat "$T/calls"
  assert_output "-q -C $T/rc file acct
-C $T/rc file -S acct
-Q -C $T/rc file acct"
}

@test "mpoploop: SIGTERM during a wait stops at once with status 0" {
  codes 0 0
  "$T/bin/mpoploop" -l 0 -i 3600 acct 2> "$T/log" &
  LOOP=$!
  wait_log "next poll in 3600 seconds"
  kill -TERM "$LOOP"
  wait_exit "$LOOP"
  run loglines
  assert_output "polling every 3600 seconds
mpop exited 0 (success): next poll in 3600 seconds
stopping"
  run cat "$T/calls"
  assert_output "-Q acct"
}

@test "mpoploop: SIGTERM during a poll reaches mpop's whole process group" {
  codes hang
  "$T/bin/mpoploop" -l 0 acct 2> "$T/log" &
  LOOP=$!
  for _ in $(seq 100) ; do [ -s "$T/grandchild" ] && break ; sleep 0.1 ; done
  grandchild=$(cat "$T/grandchild")
  kill -0 "$grandchild"
  kill -TERM "$LOOP"
  wait_exit "$LOOP"
  run loglines
  assert_line "stopping: sending SIGTERM to $T/bin/mpop"
  assert_line "mpop killed by signal SIGTERM: no more polls"
  assert_line "stopping"
  for _ in $(seq 50) ; do kill -0 "$grandchild" 2>/dev/null || break ; sleep 0.1 ; done
  run kill -0 "$grandchild"
  assert_failure
}

@test "mpoploop: SIGINT stops it too" {
  codes 0
  "$T/bin/mpoploop" -l 0 -i 3600 acct 2> "$T/log" &
  LOOP=$!
  wait_log "next poll in 3600 seconds"
  kill -INT "$LOOP"
  wait_exit "$LOOP"
  run tail -n 1 "$T/log"
  assert_output "mpoploop: acct: stopping"
}

@test "mpoploop: an mpop that cannot be run is a failure, with the reason" {
  run "$T/bin/mpoploop" -p "$T/nonexistent" -l 0 -n 1 acct
  assert_failure 69
  assert_line --partial "mpoploop: warning: cannot run $T/nonexistent: "
  assert_line "mpoploop: acct: mpop could not be run, 1 failure in a row: no more polls"
}

@test "mpoploop: usage errors" {
  for args in "" "a b" "-i x a" "-i -5 a" "-b 1z a" "-x a" "-n" ; do
    # shellcheck disable=SC2086
    run "$T/bin/mpoploop" $args
    assert_failure 64
    assert_output --partial "mpoploop: usage: mpoploop "
  done
  run cat "$T/calls"
  assert_failure
}

# login_delay_backoff MPOP: against faultpop announcing LOGIN-DELAY 900 and
# refusing the password, mpoploop learns the delay from MPOP -S, waits for
# it, and doubles the wait after the refused login
login_delay_backoff () {
  cat > "$T/scn" <<X
password secret
login-delay 900
messages 2
X
  faultpop_start "$T/scn" --sessions 2
  faultpop_maildir "$T/md"
  rc=$(rc mpoprc <<X
account acct
host 127.0.0.1
port $FAULTPOP_PORT
tls off
auth user
user u
passwordeval echo wrong
delivery maildir $T/md
uidls_file $T/uidls
X
)
  "$T/bin/mpoploop" -p "$1" -C "$rc" -i 60 acct > "$T/out" 2> "$T/log" &
  LOOP=$!
  wait_log "first poll in 900 seconds (mpop -S logged in)"
  kill -HUP "$LOOP"
  wait_log "next poll in 1800 seconds"
  kill -TERM "$LOOP"
  wait_exit "$LOOP"
  run loglines
  assert_line "the server's LOGIN-DELAY is 900 seconds (from mpop -S)"
  assert_line "polling every 900 seconds"
  assert_line "mpop exited 77 (authentication failed), 1 failure in a row: next poll in 1800 seconds"
  assert_line "stopping"
  faultpop_wait
  run find "$T/md" -type f
  assert_output ""
}

@test "mpoploop: with Debian's mpop against a server: LOGIN-DELAY learnt, a refused login backs off" {
  login_delay_backoff "$REFMPOP"
}

@test "mpoploop: with our mpop against a server: LOGIN-DELAY learnt, a refused login backs off" {
  login_delay_backoff "$BIN/mpop"
}

@test "mpoploop: with Debian's mpop: a successful poll delivers, its status goes to stdout" {
  faultpop_start gmail-like
  faultpop_maildir "$T/md"
  rc=$(rc mpoprc <<X
account acct
host 127.0.0.1
port $FAULTPOP_PORT
tls off
auth user
user $(faultpop_print user)
passwordeval echo $(faultpop_print client-password)
delivery maildir $T/md
uidls_file $T/uidls
X
)
  run "$T/bin/mpoploop" -p "$REFMPOP" -C "$rc" -l 0 -n 1 acct
  assert_success
  assert_line "mpoploop: acct: mpop exited 0 (success): no more polls"
  assert_line "new: 3 messages in 900 bytes, total: 3 messages in 900 bytes"
  faultpop_wait
  run find "$T/md/new" -type f
  assert_equal "$(find "$T/md/new" -type f | wc -l)" 3
}

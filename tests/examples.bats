#!/usr/bin/env bats
# Everything in examples/ is exercised here: the configuration files are
# read by our mpop and by Debian's, the service directories really run
# under s6-svscan and runsv (with a stand-in mpop that records its calls),
# the scripts pass shellcheck, the systemd units pass systemd-analyze.

load lib/common
load lib/dovecot

EX="$TESTS_DIR/../examples"

setup () {
  common_setup
  # passwordeval helpers named in the examples, printing a dummy token
  mkdir -p "$T/stub"
  for c in oama mutt_oauth2.py pass secret-tool ; do
    printf '#!/bin/sh\necho token-for-tests\n' > "$T/stub/$c"
    chmod +x "$T/stub/$c"
  done
}

teardown () {
  [ -n "${DOVECOT_PID:-}" ] && dovecot_stop
  [ -n "${SVSCAN:-}" ] && { s6-svscanctl -t "$W/scan" 2>/dev/null ; wait_gone "$SVSCAN" ; kill -KILL "$SVSCAN" 2>/dev/null ; }
  [ -n "${RUNSV:-}" ] && { sv exit "$W/sv/mpop-acct" >/dev/null 2>&1 ; wait_gone "$RUNSV" ; kill -KILL "$RUNSV" 2>/dev/null ; }
  [ -n "${W:-}" ] && { kill_inside "$W" ; rm -rf "$W" ; }
  return 0
}

# kill_inside DIR: SIGKILL what still runs in DIR (services left behind by
# a failed test)
kill_inside () {
  local p
  for p in /proc/[0-9]* ; do
    case $(readlink "$p/cwd" 2>/dev/null) in "$1"/*) kill -KILL "${p#/proc/}" 2>/dev/null ;; esac
  done
}

# wait_gone PID: until it has exited (at most 10 s)
wait_gone () {
  for _ in $(seq 100) ; do kill -0 "$1" 2>/dev/null || return 0 ; sleep 0.1 ; done
  return 1
}

# wait_for FILE TEXT [COUNT]: until FILE has COUNT (default 1) lines
# containing TEXT (at most 10 s)
wait_for () {
  for _ in $(seq 100) ; do
    n=$(grep -cF -- "$2" "$1" 2>/dev/null) || true
    [ "${n:-0}" -ge "${3:-1}" ] && return 0
    sleep 0.1
  done
  echo "$1 lacks ${3:-1} x '$2':" ; cat "$1" 2>/dev/null ; return 1
}

pretend () { # PROG FILE
  PATH="$T/stub:$PATH" "$1" -C "$2" -P -a
}

@test "examples: mpoprc is read alike by our mpop and Debian's mpop, every account" {
  run pretend "$BIN/mpop" "$EX/mpoprc"
  assert_success
  ours=$output
  run pretend "$REFMPOP" "$EX/mpoprc"
  assert_success
  assert_equal "$ours" "$output"
  assert_equal "$(grep -c '^using account ' <<< "$ours")" "$(grep -c '^account ' "$EX/mpoprc")"
  # what the comments promise
  grep -qx 'auth = XOAUTH2' <<< "$ours"
  grep -qx 'proxy port = 9050' <<< "$ours"
  grep -qx "delivery = mda /usr/bin/procmail -f '%F' -d alice" <<< "$ours"
  grep -qx 'tls_fingerprint = 3F:8A:61:0C:B2:7E:95:D4:1A:C3:58:6F:E0:29:B7:44:D1:8E:03:7A:BC:65:F2:19:4D:A8:E6:30:5B:C1:97:2E' <<< "$ours"
}

@test "examples: mpoprc holds no password and works with mode 0644" {
  run grep -E '^[[:space:]]*password[[:space:]]' "$EX/mpoprc" "$EX/mpoprc-keep"
  assert_failure
  cp "$EX/mpoprc" "$T/rc"
  chmod 644 "$T/rc"
  run pretend "$BIN/mpop" "$T/rc"
  assert_success
  run pretend "$REFMPOP" "$T/rc"
  assert_success
}

@test "examples: mpoprc-keep is read by our mpop; Debian's mpop 1.4.18 rejects only the durations" {
  run pretend "$BIN/mpop" "$EX/mpoprc-keep"
  assert_success
  assert_line 'keep = 2592000 seconds'
  assert_line 'keep = 129600 seconds'
  assert_line 'skipsize = 20971520'
  run pretend "$REFMPOP" "$EX/mpoprc-keep"
  assert_failure 78
  assert_output "mpop: $EX/mpoprc-keep: line $(grep -n '^keep 30d$' "$EX/mpoprc-keep" | cut -d: -f1): invalid argument 30d for command keep"
  sed '/^keep [0-9]/d' "$EX/mpoprc-keep" > "$T/rc"
  run pretend "$REFMPOP" "$T/rc"
  assert_success
}

@test "examples: the scripts pass shellcheck" {
  command -v shellcheck
  n=0
  while read -r f ; do
    run shellcheck "$f"
    [ "$status" -eq 0 ] || { echo "$f:" ; echo "$output" ; return 1 ; }
    n=$((n + 1))
  done < <(find "$EX" -type f \( -name run -o -name '*.sh' \))
  [ "$n" -eq 5 ]
  find "$EX" -type f \( -name run -o -name '*.sh' \) ! -perm -u+x | { ! grep . ; }
}

@test "examples: the systemd units pass systemd-analyze verify" {
  command -v systemd-analyze
  mkdir -p "$T/units" "$T/man/man1" "$T/runtime"
  chmod 700 "$T/runtime"
  cp doc/*.1 "$T/man/man1/"
  for u in "$EX"/systemd/*@.* ; do
    name=${u##*/}
    # the instance, with the programs where this build has them
    sed "s|/usr/local/bin/|$BIN/|" "$u" > "$T/units/${name/@./@acct.}"
  done
  run env XDG_RUNTIME_DIR="$T/runtime" MANPATH="$T/man:/usr/share/man" \
    systemd-analyze --user verify "$T"/units/*
  assert_success
  assert_output ""
  run env MANPATH="$T/man:/usr/share/man" systemd-analyze verify "$T"/units/*
  assert_success
  assert_output ""
}

# A world-readable work directory for the service tests (the services may
# run as another user), with mpoploop and a stand-in mpop in $W/bin: it
# records "user args" in $W/calls and prints a status line.
service_setup () {
  W=$(mktemp -d /tmp/mpop-examples.XXXXXX)
  chmod 755 "$W"
  mkdir -p "$W/bin"
  cp "$BIN/mpoploop" "$W/bin/"
  cat > "$W/bin/mpop" <<X
#!/bin/sh
echo "\$(id -un) \$*" >> "$W/calls"
case " \$* " in *" -S "*) exit 0 ;; esac
echo "acct at pop.example.org:"
echo "new: 0 messages, total: 0 messages"
X
  chmod 755 "$W/bin/mpop"
  : > "$W/calls"
  chmod 666 "$W/calls"
}

@test "examples: the s6 service directory runs under s6-svscan: polls, logs with time stamps, polls on -h, stops on -d" {
  command -v s6-svscan
  service_setup
  mkdir "$W/scan"
  cp -R "$EX/s6/mpop-ACCOUNT" "$W/scan/mpop-acct"
  PATH="$W/bin:$PATH" INTERVAL=3600 MPOPRC="$W/rc" s6-svscan "$W/scan" 3>&- &
  SVSCAN=$!
  log="$W/scan/mpop-acct/log/main/current"
  wait_for "$log" "next poll in 3600 seconds"
  s6-svc -h "$W/scan/mpop-acct"
  wait_for "$log" "next poll in 3600 seconds" 2
  s6-svc -d "$W/scan/mpop-acct"
  wait_for "$log" "mpoploop: acct: stopping"
  run sed 's/^[0-9]\{4\}-[0-9][0-9]-[0-9][0-9] [0-9:.]\{18\}  //' "$log"
  assert_output "mpoploop: acct: polling every 3600 seconds
acct at pop.example.org:
new: 0 messages, total: 0 messages
mpoploop: acct: mpop exited 0 (success): next poll in 3600 seconds
mpoploop: acct: SIGHUP: polling now
acct at pop.example.org:
new: 0 messages, total: 0 messages
mpoploop: acct: mpop exited 0 (success): next poll in 3600 seconds
mpoploop: acct: stopping"
  run cat "$W/calls"
  assert_output "root -C $W/rc -S acct
root -Q -C $W/rc acct
root -Q -C $W/rc acct"
}

@test "examples: the s6 service polls as RUNAS, with that user's HOME" {
  command -v s6-svscan
  [ "$(id -u)" = 0 ] || skip "needs root"
  service_setup
  mkdir "$W/scan"
  cp -R "$EX/s6/mpop-ACCOUNT" "$W/scan/mpop-acct"
  sed -i 's/^echo "\$(id -un) /echo "$(id -un) HOME=$HOME /' "$W/bin/mpop"
  PATH="$W/bin:$PATH" RUNAS=nobody s6-svscan "$W/scan" 3>&- &
  SVSCAN=$!
  wait_for "$W/scan/mpop-acct/log/main/current" "next poll in 300 seconds"
  run cat "$W/calls"
  assert_output "nobody HOME=$(getent passwd nobody | cut -d: -f6) -S acct
nobody HOME=$(getent passwd nobody | cut -d: -f6) -Q acct"
}

@test "examples: the runit service directory runs under runsv: polls, logs with time stamps, polls on hup, stops on down" {
  command -v runsv
  service_setup
  mkdir "$W/sv"
  cp -R "$EX/runit/mpop-ACCOUNT" "$W/sv/mpop-acct"
  PATH="$W/bin:$PATH" INTERVAL=3600 runsv "$W/sv/mpop-acct" 3>&- &
  RUNSV=$!
  log="$W/sv/mpop-acct/log/main/current"
  wait_for "$log" "next poll in 3600 seconds"
  sv hup "$W/sv/mpop-acct"
  wait_for "$log" "next poll in 3600 seconds" 2
  sv down "$W/sv/mpop-acct"
  wait_for "$log" "mpoploop: acct: stopping"
  run sed 's/^[0-9]\{4\}-[0-9][0-9]-[0-9][0-9]_[0-9:.]\{14\} //' "$log"
  assert_output "mpoploop: acct: polling every 3600 seconds
acct at pop.example.org:
new: 0 messages, total: 0 messages
mpoploop: acct: mpop exited 0 (success): next poll in 3600 seconds
mpoploop: acct: SIGHUP: polling now
acct at pop.example.org:
new: 0 messages, total: 0 messages
mpoploop: acct: mpop exited 0 (success): next poll in 3600 seconds
mpoploop: acct: stopping"
  run cat "$W/calls"
  assert_output "root -S acct
root -Q acct
root -Q acct"
}

@test "examples: the runit service polls as RUNAS, with that user's HOME" {
  command -v runsv
  [ "$(id -u)" = 0 ] || skip "needs root"
  service_setup
  mkdir "$W/sv"
  cp -R "$EX/runit/mpop-ACCOUNT" "$W/sv/mpop-acct"
  sed -i 's/^echo "\$(id -un) /echo "$(id -un) HOME=$HOME /' "$W/bin/mpop"
  PATH="$W/bin:$PATH" RUNAS=nobody runsv "$W/sv/mpop-acct" 3>&- &
  RUNSV=$!
  wait_for "$W/sv/mpop-acct/log/main/current" "next poll in 300 seconds"
  run cat "$W/calls"
  assert_output "nobody HOME=$(getent passwd nobody | cut -d: -f6) -S acct
nobody HOME=$(getent passwd nobody | cut -d: -f6) -Q acct"
}

@test "examples: a service directory still named mpop-ACCOUNT says so in its log and does not hammer" {
  command -v s6-svscan
  service_setup
  mkdir "$W/scan"
  cp -R "$EX/s6/mpop-ACCOUNT" "$W/scan/mpop-ACCOUNT"
  printf 'account acct\nhost h\n' > "$W/rc"
  PATH="$BIN:$PATH" MPOPRC="$W/rc" s6-svscan "$W/scan" 3>&- &
  SVSCAN=$!
  wait_for "$W/scan/mpop-ACCOUNT/log/main/current" "next poll in 3600 seconds"
  run cat "$W/scan/mpop-ACCOUNT/log/main/current"
  assert_output --partial "mpop: $W/rc: no account ACCOUNT"
  assert_output --partial "mpoploop: ACCOUNT: mpop exited 78 (configuration error), fix it then send SIGHUP: next poll in 3600 seconds"
}

@test "examples: fetch-by-hand.sh composes pop3fetch | mdeliver | uidlstore add against Dovecot" {
  dovecot_start "$T/dovecot" --no-ssl
  dovecot_user hand secret
  dovecot_add_generated hand 7 51 small
  mkdir -p "$T/md/new" "$T/md/cur" "$T/md/tmp" "$T/acct/new" "$T/acct/cur" "$T/acct/tmp"
  rc=$(rc mpoprc <<X
account hand
host $DOVECOT_HOST
port $DOVECOT_PORT
user hand
passwordeval "echo secret"
auth user
tls off
uidls_file $T/uidls
delivery maildir $T/acct
X
)
  export MPOP_BIN="$BIN"
  run "$EX/fetch-by-hand.sh" -C "$rc" hand "$T/md"
  assert_success
  assert_line --regexp '^new: 7 messages in '
  run /usr/bin/python3 "$TESTS_DIR/lib/compare-maildir.py" "$(dovecot_orig_dir hand)" "$T/md" --strip-received
  assert_success
  # pipe mode deletes nothing in its own session; the next one knows them
  [ "$(dovecot_message_count hand)" -eq 7 ]
  dovecot_add_generated hand 2 52 small
  run "$EX/fetch-by-hand.sh" -C "$rc" hand
  assert_success
  assert_line --regexp '^new: 2 messages in .*, total: 9 messages in '
  [ "$(find "$T/acct/new" -type f | wc -l)" -eq 2 ]
  [ "$(dovecot_message_count hand)" -eq 2 ]
  # a failing deliverer: its status, and nothing recorded
  run "$EX/fetch-by-hand.sh" -C "$rc" hand "$T/nonexistent"
  assert_failure
  assert_line --regexp '^fetch-by-hand.sh: exit statuses: pop3fetch [0-9]+, mdeliver [1-9][0-9]*, uidlstore 0$'
  run "$EX/fetch-by-hand.sh" -C "$rc"
  assert_failure 64
}

@test "examples: the s6 service with the real chain retrieves from Dovecot" {
  command -v s6-svscan
  dovecot_start "$T/dovecot" --no-ssl
  dovecot_user s6user secret
  dovecot_add_generated s6user 4 61 small
  mkdir -p "$HOME/Mail/new" "$HOME/Mail/cur" "$HOME/Mail/tmp"
  rc .mpoprc > /dev/null <<X
defaults
tls off
delivery maildir ~/Mail
account s6user
host $DOVECOT_HOST
port $DOVECOT_PORT
user s6user
passwordeval "echo secret"
auth user
X
  mv "$T/.mpoprc" "$HOME/.mpoprc"
  W=$(mktemp -d /tmp/mpop-examples.XXXXXX)
  mkdir "$W/scan"
  cp -R "$EX/s6/mpop-ACCOUNT" "$W/scan/mpop-s6user"
  PATH="$BIN:$PATH" INTERVAL=3600 s6-svscan "$W/scan" 3>&- &
  SVSCAN=$!
  wait_for "$W/scan/mpop-s6user/log/main/current" "mpoploop: s6user: mpop exited 0 (success): next poll in 3600 seconds"
  run /usr/bin/python3 "$TESTS_DIR/lib/compare-maildir.py" "$(dovecot_orig_dir s6user)" "$HOME/Mail" --strip-received
  assert_success
  [ "$(dovecot_message_count s6user)" -eq 0 ]
  run cat "$W/scan/mpop-s6user/log/main/current"
  assert_output --partial "new: 4 messages in "
}

@test "examples: an unknown RUNAS user is said once, without polling" {
  command -v s6-svscan
  service_setup
  mkdir "$W/scan"
  cp -R "$EX/s6/mpop-ACCOUNT" "$W/scan/mpop-acct"
  PATH="$W/bin:$PATH" RUNAS=no-such-user-here s6-svscan "$W/scan" 3>&- &
  SVSCAN=$!
  wait_for "$W/scan/mpop-acct/log/main/current" "mpop service acct: RUNAS: no user no-such-user-here; next try in an hour"
  run cat "$W/calls"
  assert_output ""
}

#!/usr/bin/env bats
# The filter setting of pop3fetch (mpop 1.4.23 semantics), against the
# scripted server tests/faultpop, compared with Debian's mpop 1.4.18.

load lib/common
load lib/faultpop

setup () { common_setup ; }
teardown () { faultpop_stop ; }

 # three messages: %F alice (exit 2), bob (exit 1), MAILER-DAEMON (exit 0)
scenario () {
  local f="$T/filter.scn"
  {
    printf '# filter: three messages with different senders\nuser u\npassword p\n'
    printf '%s\n' "${@}"
    printf '%s\n' 'message uid=a text="Return-Path: <alice@x.org>\nSubject: one\n\nbody1\n"' \
      'message uid=b text="Sender: bob@y.org\nSubject: two\n\nbody2\n"' \
      'message uid=c text="Subject: three\n\nbody3\n"'
  } > "$f"
  printf '%s\n' "$f"
}

filter_script () {
  cat > "$T/f.sh" <<'EOS'
#!/bin/sh
cat > "$HOME/in.$2"
echo "from=$1 size=$2" >> "$HOME/args"
case $1 in alice*) exit 2 ;; bob*) exit 1 ;; *) exit ${FILTER_DEFAULT:-0} ;; esac
EOS
  chmod 755 "$T/f.sh"
}

fetch () {
  local prog=$1 ; shift
  faultpop_maildir "$T/md"
  faultpop_mpop "$prog" --auth=user --tls=off --delivery=maildir,"$T/md" \
    --uidls-file="$HOME/uidls" --filter="$T/f.sh %F %S" "$@"
}

progress_lines () {
  grep -E '^(skipping|deleting) message' || true
}

@test "filter: exit 2 skips, 1 deletes, 0 delivers; %F and %S; pipelined TOP" {
  filter_script
  faultpop_start "$(scenario)"
  run fetch "$BIN/mpop"
  assert_success
  assert_line 'skipping message 1 of 3 (reason: filter)'
  assert_line 'deleting message 2 of 3 (reason: filter)'
  assert_line --partial 'retrieving message 3 of 3'
  faultpop_wait
  run cat "$HOME/args"
  assert_output "$(printf 'from=alice@x.org size=51\nfrom=bob@y.org size=42\nfrom=MAILER-DAEMON size=25')"
  run cat "$HOME/in.42"
  assert_output "$(printf 'Sender: bob@y.org\nSubject: two\n')"
  [ "$(tail -c 2 "$HOME/in.42" | od -An -c | tr -d ' ')" = '\n\n' ]
  run faultpop_commands
  assert_output "$(printf 'CAPA\nUSER u\nPASS <1 bytes>\nSTAT\nLIST\nUIDL\nTOP 1 0\nTOP 2 0\nTOP 3 0\nRETR 3\nDELE 2\nDELE 3\nQUIT')"
  run faultpop_remaining_uids ; assert_output a
  [ "$(ls "$T/md/new" | wc -l)" = 1 ]
  grep -q '^Subject: three' "$T/md/new/"*
}

@test "filter: same commands, progress lines and server state as mpop 1.4.18" {
  [ -x "$REFMPOP" ] || skip "no $REFMPOP"
  filter_script
  local scn ; scn=$(scenario)
  faultpop_start "$scn"
  run fetch "$REFMPOP"
  assert_success
  local ref_out=$output
  faultpop_wait
  local ref_cmds ref_left ref_args
  ref_cmds=$(faultpop_commands) ; ref_left=$(faultpop_remaining_uids) ; ref_args=$(cat "$HOME/args")
  rm -rf "$FAULTPOP_DIR" "$HOME/args" "$HOME/uidls" "$T/md"
  faultpop_start "$scn"
  run fetch "$BIN/mpop"
  assert_success
  [ "$(progress_lines <<< "$output")" = "$(progress_lines <<< "$ref_out")" ]
  faultpop_wait
  [ "$(faultpop_commands)" = "$ref_cmds" ]
  [ "$(faultpop_remaining_uids)" = "$ref_left" ]
  [ "$(cat "$HOME/args")" = "$ref_args" ]
}

@test "filter + keep: exit 1 is remembered, not deleted; exit 2 is asked again" {
  filter_script
  faultpop_start "$(scenario)" --sessions 2
  run fetch "$BIN/mpop" --keep=on
  assert_success
  assert_line 'skipping message 1 of 3 (reason: filter)'
  assert_line 'skipping message 2 of 3 (reason: filter + keep)'
  grep -q '^b ' "$HOME/uidls"
  grep -q '^c ' "$HOME/uidls"
  run grep -q '^a ' "$HOME/uidls" ; assert_failure
  : > "$HOME/args"
  run fetch "$BIN/mpop" --keep=on
  assert_success
  assert_line 'skipping message 1 of 3 (reason: filter)'
  refute_line --partial 'message 2 of 3'
  run cat "$HOME/args" ; assert_output 'from=alice@x.org size=51'
  faultpop_wait
  run faultpop_commands 2
  refute_line --partial DELE
  run faultpop_remaining_uids ; assert_output "$(printf 'a\nb\nc')"
}

@test "filter: killsize and skipsize come first, their messages are not filtered" {
  filter_script
  faultpop_start "$(scenario)"
  run fetch "$BIN/mpop" --killsize=50 --skipsize=40
  assert_success
  assert_line 'deleting message 1 of 3 (reason: killsize)'
  assert_line 'skipping message 2 of 3 (reason: skipsize)'
  run cat "$HOME/args" ; assert_output 'from=MAILER-DAEMON size=25'
  faultpop_wait
  run faultpop_commands
  assert_line 'TOP 3 0'
  refute_line 'TOP 1 0'
  refute_line 'TOP 2 0'
}

@test "filter: exit 3 or more is an error (74): no QUIT, nothing deleted" {
  filter_script
  faultpop_start "$(scenario)"
  FILTER_DEFAULT=75 run fetch "$BIN/mpop"
  assert_failure 74
  assert_line --partial "f.sh %F %S returned exit status 75 (EX_TEMPFAIL: temporary failure)"
  faultpop_wait
  run faultpop_commands
  refute_line QUIT
  refute_line --partial RETR
  run faultpop_remaining_uids ; assert_output "$(printf 'a\nb\nc')"
  if [ -e "$HOME/uidls" ] ; then run grep -q '^[abc] ' "$HOME/uidls" ; assert_failure ; fi
}

@test "filter: killed by a signal is an error (74)" {
  faultpop_start "$(scenario)"
  faultpop_maildir "$T/md"
  run faultpop_mpop "$BIN/mpop" --auth=user --tls=off --delivery=maildir,"$T/md" \
    --uidls-file="$HOME/uidls" --filter='kill -9 $$'
  assert_failure 74
  assert_line --partial 'failed to execute'
}

@test "filter: bounded by the timeout setting" {
  faultpop_start "$(scenario)"
  faultpop_maildir "$T/md"
  run faultpop_mpop "$BIN/mpop" --auth=user --tls=off --delivery=maildir,"$T/md" \
    --uidls-file="$HOME/uidls" --timeout=1 --filter='sleep 60'
  assert_failure 74
  assert_line --partial 'sleep 60 timed out'
}

@test "filter: a SIGKILLed pop3fetch leaves no filter behind" {
  faultpop_start "$(scenario)"
  faultpop_maildir "$T/md"
  faultpop_mpop "$BIN/mpop" --auth=user --tls=off --delivery=maildir,"$T/md" \
    --uidls-file="$HOME/uidls" --timeout=60 --filter="cat >/dev/null ; echo \$\$ > $T/filter.pid ; exec sleep 60" \
    >/dev/null 2>&1 3>&- &
  pid=$!
  for i in $(seq 1 200) ; do [ -s "$T/filter.pid" ] && break ; sleep 0.05 ; done
  fpid=$(cat "$T/filter.pid")
  [ -d "/proc/$fpid" ]
  # the filter's parent is pop3fetch
  ppid=$(awk '{ print $4 }' "/proc/$fpid/stat")
  [ "$(cat "/proc/$ppid/comm")" = pop3fetch ]
  kill -KILL "$ppid"
  wait "$pid" || true
  for i in $(seq 1 100) ; do [ -d "/proc/$fpid" ] || break ; sleep 0.05 ; done
  [ ! -d "/proc/$fpid" ]
}

@test "filter: %F arrives as plain text, injection attempts are harmless" {
  local f="$T/inj.scn"
  cat > "$f" <<'EOF2'
user u
password p
message uid=x text="Return-Path: <$(touch${IFS}pwned1)`touch pwned2`;touch pwned3;'\"@evil.org>\nSubject: x\n\nbody\n"
EOF2
  faultpop_start "$f"
  faultpop_maildir "$T/md"
  cd "$T"
  run faultpop_mpop "$BIN/mpop" --auth=user --tls=off --delivery=maildir,"$T/md" \
    --uidls-file="$HOME/uidls" --filter="printf '%s|%s\n' %F %S > '$T/got'; exit 2"
  assert_success
  assert_line 'skipping message 1 of 1 (reason: filter)'
  [ ! -e "$T/pwned1" ] && [ ! -e "$T/pwned2" ] && [ ! -e "$T/pwned3" ]
  run cat "$T/got"
  assert_output --regexp '^[A-Za-z0-9.@_+/-]+\|[0-9]+$'
  assert_output --partial '@evil.org|'
}

@test "filter: the server has no TOP: 69, QUIT is sent (as mpop 1.4.18)" {
  filter_script
  faultpop_start "$(scenario 'top off')"
  run fetch "$BIN/mpop"
  assert_failure 69
  assert_line --partial 'the POP3 server does not support the TOP command needed for filtering'
  faultpop_wait
  run faultpop_commands
  assert_line QUIT
  refute_line --partial TOP
  [ ! -e "$HOME/args" ]
  if [ -x "$REFMPOP" ]; then
    rm -rf "$FAULTPOP_DIR"
    faultpop_start "$(scenario 'top off')"
    run fetch "$REFMPOP"
    assert_failure 69
    assert_line --partial 'the POP3 server does not support the TOP command needed for filtering'
    faultpop_wait
    run faultpop_commands
    assert_line QUIT
  fi
}

@test "filter: never sees MPOP_PASSWORD or the password" {
  local port
  faultpop_start "$(scenario)"
  faultpop_maildir "$T/md"
  local rcf
  rcf=$(rc mpoprc <<EOF2
account x
host 127.0.0.1
port $FAULTPOP_PORT
user u
password p
auth user
tls off
delivery maildir $T/md
uidls_file $HOME/uidls
filter env > $T/env.\$\$ ; exit 2
EOF2
)
  run timeout 20 "$BIN/mpop" -C "$rcf" x
  assert_success
  [ "$(ls "$T"/env.* | wc -l)" = 3 ]
  grep -q '^MPOP_USER=u$' "$T"/env.*
  run grep -h '^MPOP_PASSWORD' "$T"/env.* ; assert_failure
  run grep -hx '[A-Za-z0-9_]*=p' "$T"/env.* ; assert_failure
}

@test "filter: -q still lists the sizes for %S" {
  filter_script
  faultpop_start "$(scenario)"
  run fetch "$BIN/mpop" -q
  assert_success
  refute_output --partial 'message'
  run cat "$HOME/args"
  assert_line 'from=MAILER-DAEMON size=25'
}

filter_rc () {
  rc mpoprc <<EOF2
account x
host 127.0.0.1
port $FAULTPOP_PORT
user u
password p
auth user
tls off
delivery maildir $T/md
uidls_file $HOME/uidls
filter $1
EOF2
}

@test "filter: in pipe mode its output never enters the mpop-stream" {
  faultpop_start "$(scenario)"
  local rcf ; rcf=$(filter_rc 'echo FILTER-SAID-THIS ; exit 0')
  timeout 20 "$BIN/rcparse" -C "$rcf" x "$BIN/pop3fetch" > "$T/stream" 2> "$T/err"
  grep -q 'Subject: three' "$T/stream"
  run grep -c FILTER-SAID-THIS "$T/stream" ; assert_output 0
  run grep -c FILTER-SAID-THIS "$T/err" ; assert_output 3
}

@test "filter: a signal while it runs stops it and the session (75, no QUIT)" {
  faultpop_start "$(scenario)"
  faultpop_maildir "$T/md"
  local rcf ; rcf=$(filter_rc "echo \$\$ > $T/running ; sleep 60")
  timeout 20 "$BIN/rcparse" -C "$rcf" x "$BIN/pop3fetch" > "$T/stream" 2> "$T/err" &
  local pid=$! i
  for (( i = 0 ; i < 100 ; i++ )) ; do [ -s "$T/running" ] && break ; sleep 0.1 ; done
  [ -s "$T/running" ]
  kill -TERM "$pid"   # timeout(1) passes it on to pop3fetch
  local rc=0 ; wait "$pid" || rc=$?
  [ "$rc" = 75 ]
  grep -q 'operation aborted' "$T/err"
  run kill -0 "$(cat "$T/running")" ; assert_failure
  faultpop_wait
  run faultpop_commands ; refute_line QUIT
}

@test "filter: without pipelining, one TOP at a time" {
  filter_script
  faultpop_start "$(scenario 'pipelining off')"
  run fetch "$BIN/mpop" --pipelining=off
  assert_success
  assert_line 'deleting message 2 of 3 (reason: filter)'
  faultpop_wait
  run faultpop_commands
  assert_output "$(printf 'CAPA\nUSER u\nPASS <1 bytes>\nSTAT\nLIST\nUIDL\nTOP 1 0\nTOP 2 0\nTOP 3 0\nRETR 3\nDELE 2\nDELE 3\nQUIT')"
  run faultpop_remaining_uids ; assert_output a
}

#!/usr/bin/env bats
# Self-tests of the scripted POP3 server tests/faultpop/faultpop.py: the
# scenarios parse, representative faults behave as documented (checked with
# the tiny client tests/faultpop/popchat.py), and Debian's reference mpop
# (/usr/bin/mpop 1.4.18) works against it.

load lib/common
load lib/faultpop

setup () {
  common_setup
}

teardown () {
  faultpop_stop
}

# scn NAME <<EOF ... : write an ad-hoc scenario into the test's directory
scn () {
  cat > "$T/$1.scn"
  printf '%s\n' "$T/$1.scn"
}

refmpop () {
  [ -x "$REFMPOP" ] || skip "no reference mpop at $REFMPOP"
  faultpop_mpop "$REFMPOP" "$@"
}

# --- the scenario collection ------------------------------------------------

@test "faultpop: every scenario parses and documents what a client should do" {
  local files=("$FAULTPOP_SCENARIOS"/*.scn) f
  [ "${#files[@]}" -ge 40 ] || fail "only ${#files[@]} scenarios"
  run faultpop --check-files "${files[@]}"
  assert_success
  for f in "${files[@]}"; do
    grep -q '^# Expect: ' "$f" || fail "$f: no '# Expect:' header line"
    grep -q '^# Client: ' "$f" || fail "$f: no '# Client:' header line"
    grep -q '^expect-exit ' "$f" || fail "$f: no expect-exit directive"
  done
}

@test "faultpop: scenario errors name the file and line; non-loopback addresses are refused" {
  f=$(scn bad <<'EOF'
messages 2
fault on=RETR do=explode
EOF
)
  run faultpop --scenario "$f" --check
  assert_failure 2
  assert_output --partial "bad.scn:2: "
  run faultpop --scenario "$FAULTPOP_SCENARIOS/happy-path.scn" --listen 192.0.2.1
  assert_failure 2
  assert_output --partial "not a loopback address"
}

# --- protocol basics (popchat) ---------------------------------------------

@test "faultpop: a complete session by hand; QUIT commits the deletions" {
  faultpop_start happy-path
  run faultpop_popchat <<'EOF'
CAPA
USER u
PASS p
STAT
LIST
UIDL
TOP 1 0
LIST 9
RETR x
DELE 1
RETR 1
QUIT
EOF
  assert_success
  assert_line --index 0 '+OK faultpop ready'
  assert_line 'PIPELINING'
  assert_line '+OK Logged in.'
  assert_line '+OK 3 6500'
  assert_line '2 1200'
  assert_line '3 uid3'
  assert_line 'Subject: faultpop message 1'
  assert_line -- '-ERR no such message'
  assert_line -- '-ERR invalid message number'
  assert_line -- '-ERR message 1 already deleted'
  assert_line '+OK faultpop signing off (1 messages deleted)'
  faultpop_wait
  run faultpop_deleted_uids
  assert_output 'uid1'
  run faultpop_remaining_uids
  assert_output $'uid2\nuid3'
  faultpop_log_has '"message": "committed deletions: \[\\"uid1\\"\]"'
  run faultpop_commands
  assert_line --index 2 'PASS <1 bytes>'
}

@test "faultpop: without QUIT nothing is deleted, and the state survives a restart" {
  faultpop_start happy-path
  run faultpop_popchat <<'EOF'
USER u
PASS p
DELE 1
DELE 2
EOF
  assert_success
  faultpop_wait
  faultpop_log_has '"discarded_deletions": \["uid1", "uid2"\]'
  run faultpop_deleted_uids
  assert_output ''

  faultpop_start happy-path
  printf 'USER u\nPASS p\nDELE 2\nQUIT\n' | faultpop_popchat
  faultpop_wait
  faultpop_start happy-path
  run faultpop_popchat <<'EOF'
USER u
PASS p
STAT
UIDL
QUIT
EOF
  assert_line '+OK 2 5300'
  assert_line '1 uid1'
  assert_line '2 uid3'
  faultpop_wait
  run faultpop_deleted_uids
  assert_output 'uid2'
}

@test "faultpop: messages are sent CRLF-terminated and dot-stuffed" {
  faultpop_start dot-stuffing
  run faultpop_popchat <<'EOF'
USER u
PASS p
RETR 1
RETR 2
QUIT
EOF
  assert_success
  assert_line '..'
  assert_line '...'
  assert_line '..hidden starts with a dot'
  assert_line 'last line has no newline'
  assert_line 'A line with a bare CR: a\x0db'
}

@test "faultpop: messages from a maildir or a directory" {
  faultpop_maildir "$T/md"
  printf 'Subject: one\n\nbody 1\n' > "$T/md/new/111.a:2,"
  printf 'Subject: two\n\nbody 2\n' > "$T/md/cur/222.b:2,S"
  faultpop_start empty-mailbox --maildir "$T/md"
  run faultpop_popchat <<'EOF'
USER u
PASS p
UIDL
RETR 2
QUIT
EOF
  assert_line '1 111.a'
  assert_line '2 222.b'
  assert_line 'body 2'
}

# --- faults (popchat) ---------------------------------------------------------

@test "faultpop: drop-mid-retr cuts RETR 2 in the middle of its body" {
  faultpop_start drop-mid-retr
  run faultpop_popchat <<'EOF'
USER u
PASS p
RETR 1
RETR 2
EOF
  assert_failure 3
  assert_line '+OK 800 octets'
  assert_line '+OK 5000 octets'
  assert_line --index -1 '[closed]'
  faultpop_wait
  faultpop_log_has 'connection dropped at RETR 2: mid-body \(2500 of 5000 body bytes sent\)'
}

@test "faultpop: error replies carry their response codes; out-of-step extra replies" {
  faultpop_start retr-err
  run faultpop_popchat <<'EOF'
USER u
PASS p
RETR 2
QUIT
EOF
  assert_line -- '-ERR [SYS/TEMP] message 2 is unavailable'
  faultpop_wait
  faultpop_start garbage-after-ok
  run faultpop_popchat <<'EOF'
USER u
PASS p
STAT
QUIT
EOF
  assert_line --index 2 '+OK extra'
  assert_line --index 3 '+OK Logged in.'
}

@test "faultpop: stalls keep silent until the client gives up" {
  faultpop_start stall-after-stat
  run faultpop_popchat --timeout 1 <<'EOF'
USER u
PASS p
STAT
EOF
  assert_failure 4
  assert_line --index -1 '[timeout]'
  faultpop_wait
  faultpop_log_has '"event": "stall"'
  faultpop_log_has '"reason": "client closed the connection"'
}

@test "faultpop: a reply without its terminating dot, then close" {
  faultpop_start no-dot-close
  run faultpop_popchat <<'EOF'
USER u
PASS p
RETR 1
EOF
  assert_failure 3
  refute_line '.'
  assert_line --index -1 '[closed]'
}

@test "faultpop: drip, burst and long-line faults" {
  f=$(scn drip <<'EOF'
messages 4
fault on=RETR arg=1 do=drip interval=0.1 bytes=5
fault on=RETR arg=2 do=burst count=3
fault on=STAT do=long-line where=status bytes=1048576
EOF
)
  faultpop_start "$f"
  run faultpop_popchat --timeout 10 <<'EOF'
USER u
PASS p
RETR 1
!pipeline on
RETR 2
RETR 3
RETR 4
!pipeline off
STAT
QUIT
EOF
  assert_success
  faultpop_wait
  faultpop_log_has '"event": "drip", "bytes": 5'
  faultpop_log_has '"event": "burst", "bytes": [0-9]+, "why": "count reached"'
  # the STAT reply: "+OK " and 1 MiB of x on one line
  local stat
  stat=$(grep '^+OK xxx' <<< "$output")
  [ "${#stat}" -eq $((4 + 1048576)) ]
  [[ $stat =~ ^\+OK\ x+$ ]]
}

@test "faultpop: UIDL and LIST lies" {
  f=$(scn lies <<'EOF'
message uid=dup
message uid=dup
message uid="caf\xc3\xa9" uidl=omit
uidl-separator "   "
uidl-extra 9 ghost
list-size-factor 0.5
messages 1 size=1000
stat-count 7
EOF
)
  faultpop_start "$f"
  run faultpop_popchat <<'EOF'
USER u
PASS p
STAT
LIST
UIDL
UIDL 3
QUIT
EOF
  assert_line '+OK 7 950'
  assert_line '1 150'
  assert_line '4 500'
  assert_line '1   dup'
  assert_line '2   dup'
  assert_line '9 ghost'
  assert_line '4   uid4'
  refute_line --partial 'caf'
  assert_line -- '-ERR no unique-id for message 3'
}

# --- SASL, APOP, TLS (popchat) -----------------------------------------------

@test "faultpop: AUTH PLAIN: initial response, continuation, '=', '*'" {
  f=$(scn plain <<'EOF'
auth-user off
sasl PLAIN
messages 1
EOF
)
  local good
  good=$(printf '\0u\0p' | base64)
  faultpop_start "$f"
  run faultpop_popchat <<EOF
USER u
AUTH
AUTH LOGIN
AUTH PLAIN =
AUTH PLAIN
*
AUTH PLAIN
$good
QUIT
EOF
  assert_success
  assert_line -- '-ERR USER not supported, use AUTH'
  assert_line 'PLAIN'
  assert_line -- '-ERR Unsupported authentication mechanism.'
  assert_line -- '-ERR malformed PLAIN message'
  assert_line '+ '
  assert_line -- '-ERR authentication cancelled'
  assert_line '+OK Logged in.'
  faultpop_wait
  faultpop_start "$f"
  run faultpop_popchat <<EOF
AUTH PLAIN $good
STAT
QUIT
EOF
  assert_line '+OK 1 300'
  faultpop_wait
  faultpop_log_has '"mech": "PLAIN", "user": "u", "ok": true, "initial_response": true'
}

@test "faultpop: Microsoft style XOAUTH2 refuses the initial response, takes an 8 KiB token in two steps" {
  local token ir
  token=$(faultpop_print token xoauth2-two-step)
  [ "${#token}" -eq 8192 ]
  ir=$(printf 'user=u@outlook.example\001auth=Bearer %s\001\001' "$token" | base64 -w0)
  faultpop_start xoauth2-two-step
  run faultpop_popchat <<EOF
AUTH XOAUTH2 $ir
STAT
EOF
  assert_failure 3
  assert_line -- '-ERR Protocol error. Connection is closed. 10'
  faultpop_wait
  faultpop_start xoauth2-two-step
  run faultpop_popchat <<EOF
AUTH XOAUTH2
$ir
STAT
QUIT
EOF
  assert_success
  assert_line '+ '
  assert_line '+OK 2 600'
  faultpop_wait
  faultpop_log_has '"mech": "XOAUTH2", "user": "u@outlook.example", "ok": true, "initial_response": false, "token_length": 8192'
}

@test "faultpop: OAUTHBEARER with an 8 KiB token; failures get an error challenge" {
  local token ir
  token=$(faultpop_print token oauthbearer)
  ir=$(printf 'n,a=u@example.org,\001host=127.0.0.1\001port=110\001auth=Bearer %s\001\001' "$token" | base64 -w0)
  faultpop_start oauthbearer
  run faultpop_popchat <<EOF
AUTH OAUTHBEARER $ir
QUIT
EOF
  assert_line '+OK Logged in.'
  faultpop_wait
  ir=$(printf 'n,a=u@example.org,\001auth=Bearer expired\001\001' | base64 -w0)
  faultpop_start oauthbearer-error-challenge
  run faultpop_popchat <<EOF
AUTH OAUTHBEARER $ir
!send AQ==
!read
QUIT
EOF
  assert_line --regexp '^\+ eyJ'
  assert_line -- '-ERR [AUTH] Authentication failed.'
  faultpop_wait
  faultpop_log_has '"why": "invalid token".*"error_ack": "AQ==", "error_ack_ok": true'
}

@test "faultpop: STLS, the STLS injection and tls-required" {
  faultpop_start stls-injection
  run faultpop_popchat <<'EOF'
STLS
!read
EOF
  assert_line --index 1 '+OK Begin TLS negotiation'
  assert_line --index 2 '+OK injected'
  faultpop_wait

  faultpop_start tls-required
  run faultpop_popchat <<'EOF'
CAPA
USER u
STLS
!starttls
CAPA
USER u
PASS p
QUIT
EOF
  assert_success
  assert_line --index 1 '+OK Capability list follows'
  assert_line --index 2 'TOP'
  assert_line -- '-ERR [AUTH] Plaintext authentication disallowed on non-secure (SSL/TLS) connections.'
  assert_line '+OK Begin TLS negotiation'
  assert_line '+OK Logged in.'
  [ "$(grep -c '^STLS$' <<< "$output")" -eq 1 ]
  [ "$(grep -c '^USER$' <<< "$output")" -eq 1 ]
  faultpop_wait
  faultpop_log_has '"event": "tls", "version": "TLSv1'
}

# --- transports and sessions -------------------------------------------------

@test "faultpop: unix socket and inetd modes" {
  faultpop_start happy-path --unix "$T/pop.sock"
  [ "$FAULTPOP_PORT" = "$T/pop.sock" ]
  run faultpop_popchat <<'EOF'
USER u
PASS p
STAT
QUIT
EOF
  assert_line '+OK 3 6500'
  faultpop_wait
  [ ! -e "$T/pop.sock" ]

  run faultpop --scenario "$FAULTPOP_SCENARIOS/happy-path.scn" --inetd \
    --state "$T/inetd.json" < <(printf 'USER u\r\nPASS p\r\nDELE 3\r\nQUIT\r\n')
  assert_success
  assert_line --index 0 $'+OK faultpop ready\r'
  assert_line $'+OK faultpop signing off (1 messages deleted)\r'
  grep -q '"uid3"' "$T/inetd.json"
}

@test "faultpop: --sessions 2 with a fault in session 1 only" {
  faultpop_start retry-after-drop --sessions 2
  run faultpop_popchat <<'EOF'
USER u
PASS p
RETR 2
EOF
  assert_line --index -1 '[closed]'
  run faultpop_popchat <<'EOF'
USER u
PASS p
RETR 2
QUIT
EOF
  assert_success
  assert_line '.'
  faultpop_wait
  faultpop_log_has '"session": 1, "event": "drop"'
  faultpop_log_lacks '"session": 2, "event": "drop"'
}

# --- the reference client (/usr/bin/mpop 1.4.18) ----------------------------

@test "faultpop: reference mpop fetches the happy path into a maildir; keep off deletes" {
  faultpop_start happy-path
  faultpop_maildir "$T/md"
  run refmpop --auth=user --tls=off --delivery=maildir,"$T/md" --uidls-file="$T/uidls"
  assert_success
  [ "$(ls "$T/md/new" | wc -l)" -eq 3 ]
  grep -q '^Subject: faultpop message 2$' "$T"/md/new/*
  faultpop_wait
  run faultpop_deleted_uids
  assert_output $'uid1\nuid2\nuid3'
  run faultpop_commands
  assert_output "$(printf '%s\n' CAPA 'USER u' 'PASS <1 bytes>' STAT LIST UIDL \
    'RETR 1' 'RETR 2' 'RETR 3' 'DELE 1' 'DELE 2' 'DELE 3' QUIT)"
}

@test "faultpop: reference mpop with keep: nothing deleted, nothing fetched twice" {
  faultpop_start happy-path --sessions 2
  faultpop_maildir "$T/md"
  run refmpop --auth=user --tls=off --keep=on --delivery=maildir,"$T/md" --uidls-file="$T/uidls"
  assert_success
  run refmpop --auth=user --tls=off --keep=on --delivery=maildir,"$T/md" --uidls-file="$T/uidls"
  assert_success
  [ "$(ls "$T/md/new" | wc -l)" -eq 3 ]
  faultpop_wait
  run faultpop_deleted_uids
  assert_output ''
  run faultpop_commands 2
  refute_line --partial 'RETR'
}

@test "faultpop: reference mpop on retr-err: exit 76, one message kept, nothing deleted" {
  faultpop_start retr-err
  faultpop_maildir "$T/md"
  run refmpop --auth=user --tls=off --delivery=maildir,"$T/md" --uidls-file="$T/uidls"
  assert_failure 76
  assert_output --partial 'mpop: command RETR 2 failed'
  assert_output --partial 'mpop: POP3 server message: -ERR [SYS/TEMP] message 2 is unavailable'
  [ "$(ls "$T/md/new" | wc -l)" -eq 1 ]
  grep -q 'uid1' "$T/uidls"
  faultpop_wait
  run faultpop_deleted_uids
  assert_output ''
  faultpop_log_lacks '"cmd": "(DELE|QUIT)"'
}

@test "faultpop: reference mpop authenticates with every mechanism faultpop implements" {
  f=$(scn auth <<'EOF'
apop on
token short-token
messages 1
EOF
)
  local m
  for m in user plain login cram-md5 apop; do
    faultpop_start "$f"
    faultpop_maildir "$T/md-$m"
    run refmpop --auth="$m" --tls=off --keep=on --delivery=maildir,"$T/md-$m" \
      --uidls-file="$T/uidls-$m"
    assert_success
    faultpop_wait
  done
  for m in xoauth2 oauthbearer; do
    faultpop_start "$f"
    faultpop_maildir "$T/md-$m"
    printf 'short-token' > "$T/token"
    run timeout 20 "$REFMPOP" --host=127.0.0.1 --port="$FAULTPOP_PORT" --user=u \
      --passwordeval="cat $T/token" --auth="$m" --tls=off --keep=on \
      --delivery=maildir,"$T/md-$m" --uidls-file="$T/uidls-$m"
    assert_success
    faultpop_wait
  done
  for m in USER PLAIN LOGIN CRAM-MD5 APOP XOAUTH2 OAUTHBEARER; do
    faultpop_log_has "\"event\": \"auth\", \"mech\": \"$m\", \"user\": \"u\", \"ok\": true"
  done
}

@test "faultpop: reference mpop over STLS and implicit TLS, verifying the certificate" {
  faultpop_start stls
  faultpop_maildir "$T/md"
  run refmpop --auth=user --tls=on --tls-starttls=on --tls-trust-file="$FAULTPOP_CERT" \
    --delivery=maildir,"$T/md" --uidls-file="$T/uidls"
  assert_success
  faultpop_wait
  # a second server with its own state (the first one deleted uid1..uid3)
  FAULTPOP_DIR="$T/faultpop-implicit"
  faultpop_start implicit-tls
  run refmpop --auth=user --tls=on --tls-starttls=off --tls-trust-file="$FAULTPOP_CERT" \
    --delivery=maildir,"$T/md" --uidls-file="$T/uidls"
  assert_success
  [ "$(ls "$T/md/new" | wc -l)" -eq 6 ]
  faultpop_wait
  FAULTPOP_DIR="$T/faultpop-injection"
  faultpop_start stls-injection
  run refmpop --auth=user --tls=on --tls-starttls=on --tls-trust-file="$FAULTPOP_CERT" \
    --delivery=maildir,"$T/md" --uidls-file="$T/uidls"
  assert_failure 76
  assert_output --partial 'mpop: command STLS failed'
}

@test "faultpop: run-scenarios.py checks a client against the expectations" {
  [ -x "$REFMPOP" ] || skip "no reference mpop at $REFMPOP"
  run "$FAULTPOP_PYTHON" "$TESTS_DIR/faultpop/run-scenarios.py" --client "$REFMPOP" \
    --timeout 20 --keep-dirs "$T/runs" \
    "$FAULTPOP_SCENARIOS/happy-path.scn" "$FAULTPOP_SCENARIOS/retr-err.scn" \
    "$FAULTPOP_SCENARIOS/sasl-bare-plus.scn"
  assert_failure 1
  assert_line --regexp '^PASS happy-path +exit 0, delivered 3, deleted 3$'
  assert_line --regexp '^PASS retr-err +exit 76, delivered 1, deleted 0$'
  # mpop 1.4.18 does not accept a bare "+" continuation (fixed in 1.4.22)
  assert_line --regexp '^FAIL sasl-bare-plus +run 1 exit 76, want 0'
  assert_line '2 passed, 1 failed'
}

# Every scenario through our mpop wrapper (and so pop3fetch and mdeliver):
# exit code, delivered and committed-deleted messages as the scenario says.
@test "faultpop: our mpop passes every scenario (exit code, delivered, deleted)" {
  run "$FAULTPOP_PYTHON" "$TESTS_DIR/faultpop/run-scenarios.py" --client "$BIN/mpop" \
    --timeout 30 --jobs 6 --keep-dirs "$T/runs"
  [ "$status" -eq 0 ] || { printf '%s\n' "${lines[@]}" | grep -v '^PASS' ; return 1 ; }
  n=$(ls "$FAULTPOP_SCENARIOS"/*.scn | wc -l)
  assert_line "$n passed, 0 failed"
  echo "# faultpop: $n scenarios through mpop, all passed" >&3
}

#!/usr/bin/env bats
# The connection layer and the POP3 core on bad input: names, refused and
# stalled connections, broken servers, SOCKS5 failures, source_ip, unix
# sockets. pop3info shows each error as mpop would.

load lib/common
load lib/conn

setup () {
  common_setup
}

teardown () {
  kill_servers
}

 # prc LINE... : an rc file for a server on 127.0.0.1:$PORT
prc () {
  {
    printf 'account default\nhost 127.0.0.1\nport %s\nuser u\npassword p\nauth user\ntimeout 10\n' "${PORT:-110}"
    printf '%s\n' "$@"
  } | rc p.rc
}

 # scenario LINE... : a faultpop scenario file, started
scenario () {
  printf '%s\n' "$@" > "$T/s.scn"
  fp_start "$T/s.scn"
  PORT=$FP_PORT
}

@test "conn: an unresolvable host (68)" {
  run pop3info "$(prc "host nonexistent.invalid")"
  assert_failure 68
  assert_output --regexp '^pop3info: cannot locate host nonexistent\.invalid: .+$'
}

@test "conn: a refused connection (75, as mpop)" {
  PORT=$(free_port)
  run pop3info "$(prc)"
  assert_failure 75
  assert_output "pop3info: cannot connect to 127.0.0.1, port $PORT: Connection refused"
}

@test "conn: a connection that never completes times out (75, as mpop)" {
  stalled_port
  PORT=$STALL_PORT
  run pop3info "$(prc "timeout 1")"
  assert_failure 75
  assert_output "pop3info: cannot connect to 127.0.0.1, port $PORT: Connection timed out"
}

@test "conn: a server that never greets times out (74, as mpop)" {
  scenario "fault on=GREETING do=stall seconds=30"
  run pop3info "$(prc "timeout 1")"
  assert_failure 74
  assert_output "pop3info: network read error: the operation timed out"
}

@test "conn: every address of the host is tried in order (::1 refused, then 127.0.0.1)" {
  unshare -m true 2>/dev/null || skip "no mount namespaces here"
  scenario "implementation dual"
  printf '::1 dual.test\n127.0.0.1 dual.test\n' > "$T/hosts"
  f=$(prc "host dual.test")
  run unshare -m sh -c 'mount --bind "$1" /etc/hosts && exec "$2" -S -C "$3" default "$4"' - "$T/hosts" "$BIN/rcparse" "$f" "$BIN/pop3info"
  assert_success
  assert_line --index 0 --regexp "^POP3 server at dual\.test \((.* )?\[127\.0\.0\.1\]\), port $PORT:\$"
  assert_line "        dual"
}

@test "conn: source_ip binds the local address" {
  scenario "messages 1"
  run pop3info "$(prc "source_ip 127.0.0.1")"
  assert_success
  run grep -c '127\.0\.0\.1' "$T/fp.log"
  refute_output 0
  PORT=9
  run pop3info "$(prc "source_ip 192.0.2.1")"
  assert_failure 71
  assert_output "pop3info: cannot bind source ip 192.0.2.1: Cannot assign requested address"
  run pop3info "$(prc "source_ip not-an-address")"
  assert_failure 71
  assert_output "pop3info: cannot bind source ip not-an-address: not a numeric address"
}

@test "conn: a garbage greeting (76) and a -ERR greeting (76)" {
  scenario 'greeting "* OK [CAPABILITY IMAP4rev1] IMAP server ready"'
  run pop3info "$(prc)"
  assert_failure 76
  assert_line --index 0 "pop3info: POP3 server sent an invalid reply"
  assert_line --index 1 "pop3info: POP3 server message: * OK [CAPABILITY IMAP4rev1] IMAP server ready"
  scenario 'greeting "-ERR [SYS/TEMP] go away"'
  run pop3info "$(prc)"
  assert_failure 76
  assert_line --index 0 "pop3info: cannot get initial OK message from POP3 server"
  assert_line --index 1 "pop3info: POP3 server message: -ERR [SYS/TEMP] go away"
}

@test "conn: a 1 MB reply line is a protocol error, not a memory blow-up" {
  scenario "fault on=CAPA do=long-line where=status bytes=1048576"
  run pop3info "$(prc)"
  assert_failure 76
  assert_output "pop3info: POP3 server sent a line longer than 8192 bytes"
}

@test "conn: a 1 MB line inside the CAPA list too" {
  scenario "fault on=CAPA do=long-line where=body bytes=1048576"
  run pop3info "$(prc)"
  assert_failure 76
  assert_output "pop3info: POP3 server sent a line longer than 8192 bytes"
}

@test "conn: the server closing mid-line or mid-reply is an error, never a hang (74)" {
  scenario "fault on=GREETING do=drop"
  run pop3info "$(prc)"
  assert_failure 74
  assert_output "pop3info: network read error: the POP3 server closed the connection"
  scenario "fault on=CAPA do=drop at=mid-status"
  run pop3info "$(prc)"
  assert_failure 74
  assert_output "pop3info: network read error: the POP3 server closed the connection"
  scenario "fault on=CAPA do=drop at=mid-body"
  run pop3info "$(prc)"
  assert_failure 74
  assert_output "pop3info: network read error: the POP3 server closed the connection in the middle of a reply"
}

@test "conn: response codes in a refused login do not stop -S, other errors do" {
  scenario 'fault on=PASS do=err text="-ERR [IN-USE] locked"'
  run pop3info "$(prc)"
  assert_success
  assert_line "    after successful authentication."
  scenario "fault on=PASS do=drop"
  run pop3info "$(prc)"
  assert_failure 74
}

@test "conn: a server without CAPA" {
  scenario "capa-command off"
  run pop3info "$(prc)"
  assert_success
  assert_line "This server does not support the CAPA command, so this"
  assert_line "    list is probably not complete."
  assert_line "        USER "
}

@test "conn: CAPA details: LOGIN-DELAY, EXPIRE and the APOP timestamp" {
  scenario "login-delay 900" "expire 31" "apop on"
  run pop3info "$(prc)"
  assert_success
  assert_line "    LOGIN-DELAY 900:"
  assert_line "        minimum time between logins is 900 seconds = 15.00 minutes"
  assert_line "    EXPIRE 31:"
  assert_line "        this POP3 server will keep mails for 31 days"
  assert_line --regexp '^        .*APOP USER '
  assert_line "    faultpop ready <1896.697170952@faultpop.test>"
}

@test "conn: a unix domain socket that is not there (75)" {
  run pop3info "$(prc "socket $T/none.sock")"
  assert_failure 75
  assert_output "pop3info: cannot connect to $T/none.sock: No such file or directory"
}

@test "conn: a unix domain socket (faultpop)" {
  printf 'implementation over-unix\n' > "$T/u.scn"
  fp_start "$T/u.scn" --unix "$T/fp.sock"
  run pop3info "$(prc "socket $T/fp.sock")"
  assert_success
  assert_line --index 0 "POP3 server at 127.0.0.1, port 110:"
  assert_line "        over-unix"
  fp_start "$T/u.scn" --unix "$T/fp.sock"
  f=$(prc "socket $T/fp.sock")
  sed -i '/^host /d' "$f"
  run pop3info "$f"
  assert_success
  assert_line --index 0 "POP3 server at $T/fp.sock, port 110:"
}

@test "conn: SOCKS5 reply codes in words (69)" {
  local code text
  for code in 1 2 3 4 5 6 7 8 9 ; do
    case $code in
      1) text="general server failure" ;; 2) text="connection not allowed by ruleset" ;;
      3) text="network unreachable" ;; 4) text="host unreachable" ;; 5) text="connection refused" ;;
      6) text="time-to-live expired" ;; 7) text="command not supported" ;;
      8) text="address type not supported" ;; 9) text="unknown error" ;;
    esac
    socks_start --reply "$code"
    run pop3info "$(prc "host pop.example" "proxy_host 127.0.0.1" "proxy_port $SOCKS_PORT")"
    assert_failure 69
    assert_output "pop3info: proxy failure: $text"
  done
}

@test "conn: SOCKS5 method refusals, a non-SOCKS5 proxy, a long name, no proxy" {
  socks_start --method-reply 05ff
  run pop3info "$(prc "host pop.example" "proxy_host 127.0.0.1" "proxy_port $SOCKS_PORT")"
  assert_failure 69
  assert_output "pop3info: proxy failure: the proxy requires authentication, which is not supported"
  socks_start --method-reply 0400
  run pop3info "$(prc "host pop.example" "proxy_host 127.0.0.1" "proxy_port $SOCKS_PORT")"
  assert_failure 69
  assert_output "pop3info: proxy failure: unexpected reply (not a SOCKS5 proxy?)"
  socks_start
  run pop3info "$(prc "host $(printf 'a%.0s' $(seq 1 256)).example" "proxy_host 127.0.0.1" "proxy_port $SOCKS_PORT")"
  assert_failure 69
  assert_output "pop3info: proxy failure: host name too long"
  p=$(free_port)
  run pop3info "$(prc "host pop.example" "proxy_host 127.0.0.1" "proxy_port $p")"
  assert_failure 75
  assert_output "pop3info: cannot connect to 127.0.0.1, port $p: Connection refused"
}

@test "conn: the SOCKS5 proxy resolves the name; unknown names are its failure" {
  socks_start
  run pop3info "$(prc "host unknown.proxy-only.invalid" "proxy_host 127.0.0.1" "proxy_port $SOCKS_PORT")"
  assert_failure 69
  assert_output "pop3info: proxy failure: host unreachable"
  run cat "$T/socks.log"
  assert_output "3 unknown.proxy-only.invalid 110"
}

@test "conn: -d traces the dialogue with the password masked" {
  scenario "messages 1" "user joe" "password pw-Secret-42"
  run pop3info "$(prc "user joe" "password pw-Secret-42")" -d
  assert_success
  assert_line "<-- +OK faultpop ready"
  assert_line "--> CAPA"
  assert_line "--> USER joe"
  assert_line "--> PASS ********"
  assert_line "--> QUIT"
  refute_output --partial "pw-Secret-42"
}

@test "conn: usage" {
  run "$BIN/pop3info" -x
  assert_failure 64
  assert_output "pop3info: usage: pop3info [ -d ] [ -u | -U ]"
}

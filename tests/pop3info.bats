#!/usr/bin/env bats
# pop3info (mpop -S) against a private Dovecot: plain, STLS and implicit
# TLS, compared with Debian's mpop; then the other transports (unix socket,
# SOCKS5, IPv6, UCSPI fds 6/7) and the -d trace.

load lib/common
load lib/dovecot
load lib/conn

setup_file () {
  pki_make "$(pki_default_dir)"
  dovecot_start "$BATS_FILE_TMPDIR/dovecot" --pki "$(pki_default_dir)"
  dovecot_user joe s3cr3t.pw
  export DOVECOT_DIR DOVECOT_HOST DOVECOT_PORT DOVECOT_PORT_TLS DOVECOT_PID DOVECOT_CA DOVECOT_PKI
}

teardown_file () {
  dovecot_stop "$BATS_FILE_TMPDIR/dovecot"
}

setup () {
  common_setup
  export TZ=UTC
  PKI=$(pki_default_dir)
}

teardown () {
  kill_servers
  [ -z "${SOCAT_PID:-}" ] || kill "$SOCAT_PID" 2>/dev/null || true
}

 # dvrc NAME LINE... : an rc file for the Dovecot user joe
dvrc () {
  local name=$1 ; shift
  {
    printf 'account default\nhost localhost\nuser joe\npassword s3cr3t.pw\n'
    printf '%s\n' "$@"
  } | rc "$name"
}

 # What may differ from Debian's mpop 1.4.18: the greeting's APOP
 # timestamp (new per connection), the TLS session line (GnuTLS and TLS 1.3
 # there, BearSSL and TLS 1.2 here) and the order of the AUTH methods
 # (1.4.23's order here). APOP is left out of the AUTH list: mpop refuses
 # Dovecot's timestamps (their base64 has '=', which RFC 822 allows), so
 # it does not list APOP where we do.
normalize () {
  local line prev= n=0
  while IFS= read -r line ; do
    n=$((n + 1))
    if [ $n = 2 ] && [ "${line#    }" != "$line" ] ; then line="    GREETING"
    elif [ "$prev" = "TLS session parameters:" ] ; then line="    SESSION"
    elif [ "$prev" = "        Supported authentication methods:" ] ; then
      line="        $(tr ' ' '\n' <<<"$line" | sed '/^$/d;/^APOP$/d' | sort | tr '\n' ' ')"
    fi
    printf '%s\n' "$line"
    prev=$line
  done
}

compare_with_mpop () { # RCFILE [RCFILE for mpop]; leaves our output in $ours_output
  run pop3info "$1"
  assert_success
  ours_output=$output
  ours=$(normalize <<<"$output")
  run "$REFMPOP" -C "${2:-$1}" -S
  assert_success
  theirs=$(normalize <<<"$output")
  [ "$ours" = "$theirs" ] || { diff <(echo "$theirs") <(echo "$ours") ; return 1 ; }
}

@test "pop3info: Dovecot in clear text, as mpop prints it" {
  f=$(dvrc plain.rc "port $DOVECOT_PORT" "auth user")
  compare_with_mpop "$f"
  run pop3info "$f"
  assert_line --index 0 "POP3 server at localhost (localhost [127.0.0.1]), port $DOVECOT_PORT:"
  assert_line --index 1 --regexp '^    Dovecot \(Debian\) ready\. <.*>$'
  assert_line --index 2 "POP3 capabilities:"
  assert_line --index 3 "    CAPA:"
  assert_line --index 4 "        Support for the CAPA command (get list of capabilities)"
  assert_line "    PIPELINING:"
  assert_line "        Support for command grouping for faster transmission"
  assert_line "    TOP:"
  assert_line "    UIDL:"
  assert_line "    STLS:"
  assert_line "        Support for TLS encryption via the STLS command"
  assert_line "        SCRAM-SHA-256 SCRAM-SHA-1 PLAIN APOP USER CRAM-MD5 DIGEST-MD5 LOGIN "
  assert_line "    RESP-CODES:"
  assert_line "    AUTH-RESP-CODE:"
  assert_line "        Server error messages in square brackets have a special meaning"
  assert_line "This server might advertise more or other capabilities"
  assert_line "    when TLS is active."
  refute_line "    after successful authentication."
}

@test "pop3info: Dovecot with STLS, as mpop prints it (but the TLS session line)" {
  f=$(dvrc stls.rc "port $DOVECOT_PORT" "tls on" "tls_trust_file $DOVECOT_CA")
  compare_with_mpop "$f"
  run pop3info "$f"
  assert_line "TLS session parameters:"
  assert_line --regexp '^    \(TLS1\.2\)-\(ECDHE_ECDSA_WITH_[A-Z0-9_]+\)$'
  assert_line "        O=mpop test,CN=localhost"
  assert_line "        SHA256: $(cat "$PKI/server.sha256")"
  assert_line "    STLS:"
  refute_line "    when TLS is active."
}

@test "pop3info: Dovecot with implicit TLS, as mpop prints it (but the TLS session line)" {
  f=$(dvrc tls.rc "port $DOVECOT_PORT_TLS" "tls on" "tls_starttls off" "tls_trust_file $DOVECOT_CA")
  compare_with_mpop "$f"
  run pop3info "$f"
  assert_line --index 0 "POP3 server at localhost (localhost [127.0.0.1]), port $DOVECOT_PORT_TLS:"
  assert_line "        O=mpop test,CN=mpop test CA"
  refute_line "    STLS:"
}

@test "pop3info: a refused login is only a note, as in mpop" {
  # from 127.0.0.2 and 127.0.0.3 (source_ip), so that Dovecot's auth
  # penalty for a failing address slows down nothing
  f=$(dvrc bad.rc "port $DOVECOT_PORT_TLS" "tls on" "tls_starttls off" "tls_trust_file $DOVECOT_CA" "password wrong" "source_ip 127.0.0.2")
  g=$(dvrc bad2.rc "port $DOVECOT_PORT_TLS" "tls on" "tls_starttls off" "tls_trust_file $DOVECOT_CA" "password wrong" "source_ip 127.0.0.3")
  compare_with_mpop "$f" "$g"
  output=$ours_output
  assert_line "    after successful authentication."
}

@test "pop3info: the password comes from passwordeval, and never reaches -d" {
  f=$(dvrc eval.rc "port $DOVECOT_PORT" "auth user")
  sed -i '/^password /d' "$f"
  printf 'passwordeval echo s3cr3t.pw\n' >> "$f"
  run pop3info "$f" -d
  assert_success
  assert_line "--> USER joe"
  assert_line "--> PASS ********"
  refute_output --partial 's3cr3t'
  refute_line "    after successful authentication."
}

@test "pop3info: a unix domain socket (socat to Dovecot)" {
  socat UNIX-LISTEN:"$T/pop.sock",fork TCP:127.0.0.1:"$DOVECOT_PORT" 3>&- &
  SOCAT_PID=$!
  for i in $(seq 1 100) ; do [ -S "$T/pop.sock" ] && break ; sleep 0.05 ; done
  f=$(dvrc sock.rc "socket $T/pop.sock" "auth user")
  run pop3info "$f"
  assert_success
  assert_line --index 0 "POP3 server at localhost, port 110:"
  assert_line "    UIDL:"
  refute_line "    after successful authentication."
}

@test "pop3info: SOCKS5, with the host name resolved only by the proxy" {
  socks_start --map pop.proxy-only.invalid=127.0.0.1
  f=$(dvrc socks.rc "host pop.proxy-only.invalid" "port $DOVECOT_PORT" "proxy_host 127.0.0.1" "proxy_port $SOCKS_PORT" "auth user")
  run pop3info "$f"
  assert_success
  assert_line --index 0 "POP3 server at pop.proxy-only.invalid, port $DOVECOT_PORT:"
  refute_line "    after successful authentication."
  run cat "$T/socks.log"
  assert_output "3 pop.proxy-only.invalid $DOVECOT_PORT"
}

@test "pop3info: STLS through the SOCKS5 proxy" {
  socks_start --map pop.proxy-only.invalid=127.0.0.1
  f=$(dvrc socks.rc "host pop.proxy-only.invalid" "port $DOVECOT_PORT" "proxy_host 127.0.0.1" "proxy_port $SOCKS_PORT" \
      "tls on" "tls_trust_file $DOVECOT_CA" "tls_host_override localhost")
  run pop3info "$f"
  assert_success
  assert_line "        SHA256: $(cat "$PKI/server.sha256")"
}

@test "pop3info: IPv6 ::1" {
  printf 'implementation v6\nmessages 1\n' > "$T/v6.scn"
  fp_start "$T/v6.scn" --listen ::1
  f=$(printf 'account default\nhost ::1\nport %s\nuser u\npassword p\nauth user\n' "$FP_PORT" | rc v6.rc)
  run pop3info "$f"
  assert_success
  assert_line --index 0 --regexp "^POP3 server at ::1 \\((.* )?\\[::1\\]\\), port $FP_PORT:\$"
  assert_line "        v6"
}

@test "pop3info -u: an already connected pair on fds 6 and 7 (UCSPI)" {
  f=$(dvrc ucspi.rc "port 1" "auth user")
  run bash -c 'exec 6<>/dev/tcp/127.0.0.1/'"$DOVECOT_PORT"' 7>&6 ; exec "$1" -S -C "$2" default "$3" -u' - "$BIN/rcparse" "$f" "$BIN/pop3info"
  assert_success
  assert_line "    UIDL:"
  refute_line "    after successful authentication."
  run pop3info "$f" -u
  assert_failure 64
  assert_output "pop3info: no connection on file descriptors 6 and 7 (UCSPI)"
}

@test "pop3info -U and -u: streams on fds 6/7 log in with the automatic choice (SCRAM-SHA-256)" {
  # whether -U counts as TLS for the choice: auth-choice.bats
  f=$(dvrc ucspi.rc "port 1")
  for o in -U -u ; do
    run bash -c 'exec 6<>/dev/tcp/127.0.0.1/'"$DOVECOT_PORT"' 7>&6 ; exec "$1" -S -C "$2" default "$3" '"$o"' -d' - "$BIN/rcparse" "$f" "$BIN/pop3info"
    assert_success
    assert_line "--> AUTH SCRAM-SHA-256 ********"
    refute_line "    after successful authentication."
  done
}

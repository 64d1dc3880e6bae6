#!/usr/bin/env bats
# TLS on BearSSL (pop3info, i.e. mpop -S): the certificate matrix against
# openssl s_server with certificates from tests/lib/pki.bash, STLS against
# faultpop, and every TLS file/setting error.

load lib/common
load lib/pki
load lib/conn

setup_file () {
  pki_make "$(pki_default_dir)"
}

setup () {
  common_setup
  export TZ=UTC
  PKI=$(pki_default_dir)
}

teardown () {
  kill_servers
}

 # tlsrc LINE... : an rc file for the s_server on $TLS_PORT (implicit TLS)
tlsrc () {
  {
    printf 'account default\nhost %s\nport %s\ntls on\ntls_starttls off\n' "${HOST:-localhost}" "$TLS_PORT"
    printf 'user joe\npassword secret\nauth user\ntimeout 10\n'
    printf '%s\n' "$@"
  } | rc tls.rc
}

@test "tls: a valid chain shows the TLS block, field by field" {
  tls_server_start server
  run pop3info "$(tlsrc "tls_trust_file $PKI/ca.pem")"
  assert_success
  assert_line --index 0 "POP3 server at localhost (localhost [127.0.0.1]), port $TLS_PORT:"
  assert_line --index 1 "    hi there"
  assert_line --index 2 "TLS session parameters:"
  assert_line --index 3 --regexp '^    \(TLS1\.2\)-\(ECDHE_ECDSA_WITH_[A-Z0-9_]+\)$'
  assert_line --index 4 "TLS certificate information:"
  assert_line --index 5 "    Subject:"
  assert_line --index 6 "        O=mpop test,CN=localhost"
  assert_line --index 7 "    Issuer:"
  assert_line --index 8 "        O=mpop test,CN=mpop test CA"
  assert_line --index 9 "    Validity:"
  assert_line --index 10 "        Activation time: Sat Jan  1 00:00:00 2000"
  assert_line --index 11 "        Expiration time: Wed Dec 31 23:59:59 2098"
  assert_line --index 12 "    Fingerprints:"
  assert_line --index 13 "        SHA256: $(cat "$PKI/server.sha256")"
  assert_line --index 14 "        SHA1 (deprecated): $(cat "$PKI/server.sha1")"
  assert_line --index 15 "POP3 capabilities:"
  assert_output --partial "    UIDL:"
}

@test "tls: an expired certificate is refused with its date" {
  tls_server_start server-expired
  run pop3info "$(tlsrc "tls_trust_file $PKI/ca.pem")"
  assert_failure 69
  assert_output "pop3info: TLS certificate verification failed: the certificate has expired (expiration time: Fri Jan  1 00:00:00 2021)"
}

@test "tls: a certificate not yet valid is refused with its date" {
  tls_server_start server-notyet
  run pop3info "$(tlsrc "tls_trust_file $PKI/ca.pem")"
  assert_failure 69
  assert_output "pop3info: TLS certificate verification failed: the certificate is not yet valid (activation time: Sun Jan  1 00:00:00 2090)"
}

@test "tls: a wrong host name is refused, showing both names" {
  tls_server_start server-wronghost
  run pop3info "$(tlsrc "tls_trust_file $PKI/ca.pem")"
  assert_failure 69
  assert_output "pop3info: TLS certificate verification failed: the name in the certificate does not match: the server is localhost, the certificate is for wrong.example"
}

@test "tls: tls_host_override names the certificate to expect" {
  tls_server_start server-wronghost
  run pop3info "$(tlsrc "tls_trust_file $PKI/ca.pem" "tls_host_override wrong.example")"
  assert_success
  assert_line "        O=mpop test,CN=wrong.example"
}

@test "tls: an IP address host is checked against the iPAddress names" {
  tls_server_start server
  run pop3info "$(HOST=127.0.0.1 tlsrc "tls_trust_file $PKI/ca.pem")"
  assert_success
  tls_server_start server-wronghost
  run pop3info "$(HOST=127.0.0.1 tlsrc "tls_trust_file $PKI/ca.pem")"
  assert_failure 69
  assert_output --partial "the server is 127.0.0.1, the certificate is for wrong.example"
}

@test "tls: an unknown CA is refused, naming the issuer" {
  tls_server_start server-ca2
  run pop3info "$(tlsrc "tls_trust_file $PKI/ca.pem")"
  assert_failure 69
  assert_output "pop3info: TLS certificate verification failed: the certificate is not trusted: it was issued by an unknown certificate authority (O=mpop other,CN=mpop other CA)"
}

@test "tls: a self-signed certificate is refused as such" {
  tls_server_start server-selfsigned
  run pop3info "$(tlsrc "tls_trust_file $PKI/ca.pem")"
  assert_failure 69
  assert_output "pop3info: TLS certificate verification failed: the certificate is self-signed and not in the trust file $PKI/ca.pem"
}

@test "tls: a chain through an intermediate CA verifies" {
  tls_server_start server-int -cert_chain "$PKI/int.pem"
  run pop3info "$(tlsrc "tls_trust_file $PKI/ca.pem")"
  assert_success
  assert_line "        O=mpop test,CN=mpop test intermediate"
}

@test "tls: the right SHA-256 pin accepts a certificate from an unknown CA" {
  tls_server_start server-ca2
  run pop3info "$(tlsrc "tls_fingerprint $(cat "$PKI/server-ca2.sha256")")"
  assert_success
  assert_line "        SHA256: $(cat "$PKI/server-ca2.sha256")"
}

@test "tls: a wrong pin is refused, showing the server's fingerprint" {
  tls_server_start server-ca2
  run pop3info "$(tlsrc "tls_fingerprint $(cat "$PKI/server.sha256")")"
  assert_failure 69
  assert_output "pop3info: TLS certificate verification failed: the certificate fingerprint does not match tls_fingerprint; the server's SHA256 fingerprint is $(cat "$PKI/server-ca2.sha256")"
}

@test "tls: SHA-1 and MD5 pins" {
  tls_server_start server
  run pop3info "$(tlsrc "tls_fingerprint $(cat "$PKI/server.sha1")")"
  assert_success
  tls_server_start server
  run pop3info "$(tlsrc "tls_fingerprint $(cat "$PKI/server-ca2.md5")")"
  assert_failure 69
  assert_output --partial "the server's MD5 fingerprint is $(cat "$PKI/server.md5")"
}

@test "tls: a certificate revoked by a PEM or DER CRL is refused" {
  local f
  for f in crl-revoked.pem crl-revoked.der ; do
    tls_server_start server-revoked
    run pop3info "$(tlsrc "tls_trust_file $PKI/ca.pem" "tls_crl_file $PKI/$f")"
    assert_failure 69
    assert_output "pop3info: TLS certificate verification failed: the certificate has been revoked (it is listed in the CRL file $PKI/$f)"
  done
}

@test "tls: a CRL that does not list the certificate lets it pass" {
  tls_server_start server
  run pop3info "$(tlsrc "tls_trust_file $PKI/ca.pem" "tls_crl_file $PKI/crl-revoked.pem")"
  assert_success
}

@test "tls: an expired CRL is refused" {
  tls_server_start server
  run pop3info "$(tlsrc "tls_trust_file $PKI/ca.pem" "tls_crl_file $PKI/crl-expired.pem")"
  assert_failure 69
  assert_output "pop3info: TLS certificate verification failed: the CRL in $PKI/crl-expired.pem has expired (next update was due Sat Feb  1 00:00:00 2020); get a current CRL"
}

@test "tls: a TLS 1.3-only server is explained, with the fd 6/7 way out" {
  tls_server_start server -tls1_3
  run pop3info "$(tlsrc "tls_trust_file $PKI/ca.pem")"
  assert_failure 76
  assert_output --partial "TLS handshake failed: the server requires TLS 1.3"
  assert_output --partial "file descriptors 6 and 7"
}

@test "tls: a DHE-only server: no shared cipher suite" {
  tls_server_start server-rsa -tls1_2 -cipher DHE-RSA-AES128-GCM-SHA256
  run pop3info "$(tlsrc "tls_trust_file $PKI/ca.pem")"
  assert_failure 76
  assert_output "pop3info: TLS handshake failed: the server shares no cipher suite with BearSSL (alert 40, handshake_failure); BearSSL has no DHE key exchange and no TLS 1.3"
}

@test "tls: a server requiring a client certificate" {
  tls_server_start server -Verify 1 -CAfile "$PKI/ca.pem"
  run pop3info "$(tlsrc "tls_trust_file $PKI/ca.pem")"
  assert_failure 76
  assert_output --partial "the server requires a client certificate"
  tls_server_start server -Verify 1 -CAfile "$PKI/ca.pem"
  run pop3info "$(tlsrc "tls_trust_file $PKI/ca.pem" "tls_cert_file $PKI/client-ec.pem" "tls_key_file $PKI/client-ec.key")"
  assert_success
  grep -q 'CN = mpop test client' "$T/s_server.out"
  tls_server_start server -Verify 1 -CAfile "$PKI/ca.pem"
  run pop3info "$(tlsrc "tls_trust_file $PKI/ca.pem" "tls_cert_file $PKI/client-rsa.pem" "tls_key_file $PKI/client-rsa-trad.key")"
  assert_success
}

@test "tls: tls_certcheck off warns and shows the fingerprint to pin" {
  tls_server_start server-selfsigned
  run pop3info "$(tlsrc "tls_certcheck off")"
  assert_success
  assert_line --index 0 "pop3info: warning: TLS certificate verification is disabled (tls_certcheck off): the server is not authenticated"
  assert_line "        SHA256: $(cat "$PKI/server-selfsigned.sha256")"
}

@test "tls: tls_priorities selects versions and suites; tls_min_dh_prime_bits has no effect" {
  tls_server_start server
  run pop3info "$(tlsrc "tls_trust_file $PKI/ca.pem" "tls_priorities SECURE:-CHACHA20-POLY1305:-AES-256-GCM" "tls_min_dh_prime_bits 4096")"
  assert_success
  assert_line "    (TLS1.2)-(ECDHE_ECDSA_WITH_AES_128_GCM_SHA256)"
}

@test "tls: unsupported tls_priorities are configuration errors" {
  TLS_PORT=9
  run pop3info "$(tlsrc "tls_trust_file $PKI/ca.pem" "tls_priorities NORMAL:+DHE-RSA")"
  assert_failure 78
  assert_output "pop3info: invalid tls_priorities: BearSSL has no DHE key exchange ('+DHE-RSA' at position 8)"
  run pop3info "$(tlsrc "tls_trust_file $PKI/ca.pem" "tls_priorities NORMAL:%COMPAT")"
  assert_failure 78
  run pop3info "$(tlsrc "tls_trust_file $PKI/ca.pem" "tls_priorities PERFORMANCE")"
  assert_failure 78
  assert_output --partial "unknown base"
  run pop3info "$(tlsrc "tls_trust_file $PKI/ca.pem" "tls_priorities NORMAL:-VERS-TLS1.1")"
  assert_failure 78
  assert_output --partial "must form a range"
}

@test "tls: unreadable or unusable trust, CRL, certificate and key files (78, with the name)" {
  TLS_PORT=9
  run pop3info "$(tlsrc "tls_trust_file $T/nope.pem")"
  assert_failure 78
  assert_output "pop3info: cannot read trust file $T/nope.pem: No such file or directory"
  echo garbage > "$T/garbage.pem"
  run pop3info "$(tlsrc "tls_trust_file $T/garbage.pem")"
  assert_failure 78
  assert_output "pop3info: trust file $T/garbage.pem: no usable certificate in it"
  run pop3info "$(tlsrc "tls_trust_file $PKI/ca.pem" "tls_crl_file $T/nope.crl")"
  assert_failure 78
  assert_output "pop3info: cannot read CRL file $T/nope.crl: No such file or directory"
  run pop3info "$(tlsrc "tls_trust_file $PKI/ca2.pem" "tls_crl_file $PKI/crl-revoked.pem")"
  assert_failure 78
  assert_output "pop3info: CRL file $PKI/crl-revoked.pem: cannot verify the CRL: its issuer is not in the trust file: O=mpop test,CN=mpop test CA"
  run pop3info "$(tlsrc "tls_trust_file $PKI/ca.pem" "tls_cert_file $T/nope.pem" "tls_key_file $PKI/client-ec.key")"
  assert_failure 78
  assert_output "pop3info: cannot read certificate file $T/nope.pem: No such file or directory"
  run pop3info "$(tlsrc "tls_trust_file $PKI/ca.pem" "tls_cert_file $PKI/client-ec.pem" "tls_key_file $T/nope.key")"
  assert_failure 78
  assert_output "pop3info: cannot read key file $T/nope.key: No such file or directory"
  openssl pkey -in "$PKI/client-ec.key" -aes128 -passout pass:x -out "$T/enc.key"
  run pop3info "$(tlsrc "tls_trust_file $PKI/ca.pem" "tls_cert_file $PKI/client-ec.pem" "tls_key_file $T/enc.key")"
  assert_failure 78
  assert_output "pop3info: key file $T/enc.key: the key is encrypted (BearSSL reads only unencrypted keys)"
}

@test "tls: a key that does not match its certificate" {
  TLS_PORT=9
  run pop3info "$(tlsrc "tls_trust_file $PKI/ca.pem" "tls_cert_file $PKI/client-mismatch.pem" "tls_key_file $PKI/client-mismatch.key")"
  assert_failure 78
  assert_output "pop3info: the key in $PKI/client-mismatch.key does not match the certificate in $PKI/client-mismatch.pem"
}

@test "tls: handshake timeout, server closing mid-handshake, and a server that does not speak TLS" {
  printf 'fault on=GREETING do=stall seconds=30\n' > "$T/stall.scn"
  fp_start "$T/stall.scn"
  TLS_PORT=$FP_PORT
  run pop3info "$(tlsrc "tls_trust_file $PKI/ca.pem" "timeout 1")"
  assert_failure 76
  assert_output "pop3info: TLS handshake failed: the operation timed out"
  printf 'fault on=GREETING do=drop\n' > "$T/drop.scn"
  fp_start "$T/drop.scn"
  TLS_PORT=$FP_PORT
  run pop3info "$(tlsrc "tls_trust_file $PKI/ca.pem")"
  assert_failure 76
  assert_output "pop3info: TLS handshake failed: the server closed the connection"
  printf 'messages 1\n' > "$T/plain.scn"
  fp_start "$T/plain.scn"
  TLS_PORT=$FP_PORT
  run pop3info "$(tlsrc "tls_trust_file $PKI/ca.pem")"
  assert_failure 76
  assert_output --partial "TLS handshake failed:"
}

 # STLS against faultpop

stlsrc () {
  {
    printf 'account default\nhost localhost\nport %s\ntls on\ntls_starttls on\n' "$FP_PORT"
    printf 'tls_trust_file %s\nuser u\npassword p\nauth user\ntimeout 10\n' "$PKI/ca.pem"
    printf '%s\n' "$@"
  } | rc stls.rc
}

fp_tls () {
  fp_start "$1" --tls-cert "$PKI/server.pem" --tls-key "$PKI/server.key"
}

@test "stls: STLS, then CAPA again over TLS, then login" {
  printf 'stls on\nmessages 1\n' > "$T/s.scn"
  fp_tls "$T/s.scn"
  run pop3info "$(stlsrc)" -d
  assert_success
  assert_line "TLS session parameters:"
  assert_line "    STLS:"
  refute_line "    when TLS is active."
  [ "$(sed -n '/^--> STLS$/,$p' <<<"$output" | grep -c '^--> CAPA$')" -ge 1 ]
  [ "$(sed -n '1,/^--> STLS$/p' <<<"$output" | grep -c '^--> CAPA$')" -eq 1 ]
}

@test "stls: bytes injected after the +OK to STLS are refused" {
  fp_tls "$TESTS_DIR/faultpop/scenarios/stls-injection.scn"
  run pop3info "$(stlsrc)"
  assert_failure 76
  assert_output "pop3info: command STLS failed: the server sent clear-text data after its +OK (possibly injected by an attacker); refusing to start TLS"
  refute grep -q '"PASS' "$T/fp.log"
}

@test "stls: a server without STLS while tls is on: no fallback to clear text" {
  fp_tls "$TESTS_DIR/faultpop/scenarios/stls-not-advertised.scn"
  run pop3info "$(stlsrc)"
  assert_failure 69
  assert_output "pop3info: the POP3 server does not support TLS via the STLS command"
  refute grep -q 'USER' "$T/fp.log"
}

@test "stls: a refused STLS is a protocol error with the server's message" {
  fp_tls "$TESTS_DIR/faultpop/scenarios/stls-refused.scn"
  run pop3info "$(stlsrc)"
  assert_failure 76
  assert_line --index 0 "pop3info: command STLS failed"
  assert_line --index 1 --partial "pop3info: POP3 server message: -ERR"
}

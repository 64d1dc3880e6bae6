#!/usr/bin/env bats
# Proves the test harness itself: the PKI (tests/lib/pki.bash), the private
# Dovecot (tests/lib/dovecot.bash), the corpus generator (msggen.py) and the
# delivery checker (compare-maildir.py), using Debian's reference mpop 1.4.18
# (/usr/bin/mpop) and openssl as independent clients.

load lib/common
load lib/dovecot

LIB="$BATS_TEST_DIRNAME/lib"

# One Dovecot shared by the tests that need nothing special from it (each
# with its own user); tests that need other options start their own under $T.
setup_file () {
  PKI=$(pki_default_dir)
  export PKI
  pki_make "$PKI"
  dovecot_start "$BATS_FILE_TMPDIR/shared"
  SHARED_DOVECOT=$DOVECOT_DIR
  export SHARED_DOVECOT
}

teardown_file () {
  dovecot_stop "$SHARED_DOVECOT"
}

setup () {
  common_setup
}

teardown () {
  # only a per-test instance, never the shared one
  case ${DOVECOT_DIR:-} in "$BATS_TEST_TMPDIR"/*) dovecot_stop ;; esac
}

py () { /usr/bin/python3 "$@" ; }

# refmpop_rc NAME PORT TLS STARTTLS DELIVERY [USER]: an rc file for Debian's mpop
refmpop_rc () {
  rc "$1" <<EOF
defaults
uidls_file $T/uidls
account test
host $DOVECOT_HOST
port $2
user ${6:-alice}
password secret
auth user
tls $3
tls_starttls $4
delivery $5
keep off
EOF
}

# shared_user: a fresh user with 20 generated messages in the shared
# instance; sets U to its name
shared_user () {
  U=user$BATS_TEST_NUMBER
  dovecot_user "$U" secret
  dovecot_add_generated "$U" 20 42
}

# ---------------------------------------------------------------- PKI

@test "pki: certificates verify (or fail) as intended" {
  cd "$PKI"
  run openssl verify -CAfile ca.pem -verify_hostname localhost server.pem
  assert_success
  run openssl verify -CAfile ca.pem -verify_ip 127.0.0.1 server-rsa.pem
  assert_success
  run openssl verify -CAfile ca.pem -verify_ip ::1 server.pem
  assert_success
  run openssl x509 -noout -text -in server-rsa.pem
  assert_output --partial 'Public-Key: (2048 bit)'
  run openssl x509 -noout -text -in server.pem
  assert_output --partial 'NIST CURVE: P-256'
  run openssl verify -CAfile ca.pem server-expired.pem
  assert_failure
  assert_output --partial 'certificate has expired'
  run openssl verify -CAfile ca.pem server-notyet.pem
  assert_failure
  assert_output --partial 'certificate is not yet valid'
  run openssl verify -CAfile ca.pem -verify_hostname localhost server-wronghost.pem
  assert_failure
  assert_output --partial 'hostname mismatch'
  run openssl verify -CAfile ca.pem server-ca2.pem
  assert_failure
  run openssl verify -CAfile ca2.pem server-ca2.pem
  assert_success
  run openssl verify -CAfile ca.pem server-selfsigned.pem
  assert_failure
  run openssl verify -CAfile ca.pem -untrusted int.pem server-int.pem
  assert_success
  run openssl verify -CAfile ca.pem server-int.pem
  assert_failure
  run openssl verify -purpose sslclient -CAfile ca.pem client-ec.pem
  assert_success
  run openssl verify -purpose sslclient -CAfile ca.pem client-rsa.pem
  assert_success
  run openssl verify -purpose sslserver -CAfile ca.pem client-ec.pem
  assert_failure
}

@test "pki: CRLs (revoked, empty, expired; PEM and DER)" {
  cd "$PKI"
  run openssl verify -crl_check -CAfile ca.pem -CRLfile crl-revoked.pem server-revoked.pem
  assert_failure
  assert_output --partial 'certificate revoked'
  run openssl verify -crl_check -CAfile ca.pem -CRLfile crl-revoked.pem server.pem
  assert_success
  run openssl verify -crl_check -CAfile ca.pem -CRLfile crl-empty.pem server-revoked.pem
  assert_success
  run openssl verify -crl_check -CAfile ca.pem -CRLfile crl-expired.pem server.pem
  assert_failure
  assert_output --partial 'CRL has expired'
  run openssl verify -crl_check -CAfile ca-crl-revoked.pem server-revoked.pem
  assert_failure
  for c in crl-empty crl-revoked crl-expired ; do
    [ "$(openssl crl -in $c.der -inform DER -outform PEM)" = "$(cat $c.pem)" ]
  done
  serial=$(awk '$1 == "server-revoked" { print $2 }' serials.txt)
  run openssl crl -in crl-revoked.der -inform DER -noout -text
  assert_output --partial "Serial Number: $serial"
  run openssl crl -in crl-empty.pem -noout -text
  assert_output --partial 'No Revoked Certificates'
}

@test "pki: fingerprint files match openssl x509; mismatched key does not match" {
  cd "$PKI"
  # every certificate's SHA-256, and all three digests of two of them
  # (one openssl run each: they are slow to start)
  n=0
  for f in server*.pem client-ec.pem client-rsa.pem ; do
    case $f in *-chain.pem) continue ;; esac
    hs=sha256
    case $f in server.pem|server-rsa.pem) hs='sha256 sha1 md5' ;; esac
    for h in $hs ; do
      want=$(openssl x509 -noout -fingerprint -$h -in "$f")
      want=${want#*=}
      [ "$(cat "${f%.pem}.$h")" = "$want" ] || { echo "$f $h: $(cat "${f%.pem}.$h") != $want" ; false ; }
      n=$((n + 1))
    done
  done
  [ "$n" -ge 16 ]
  for f in server*.pem client-ec.pem client-rsa.pem ; do
    case $f in *-chain.pem) continue ;; esac
    for h in sha256 sha1 md5 ; do [ -s "${f%.pem}.$h" ] ; done
  done
  [[ "$(cat server.sha256)" =~ ^([0-9A-F]{2}:){31}[0-9A-F]{2}$ ]]
  [[ "$(cat server.md5)" =~ ^([0-9A-F]{2}:){15}[0-9A-F]{2}$ ]]
  [ "$(openssl x509 -noout -pubkey -in client-ec.pem)" = "$(openssl pkey -pubout -in client-ec.key)" ]
  [ "$(openssl x509 -noout -pubkey -in client-ec.pem)" = "$(openssl pkey -pubout -in client-ec-trad.key)" ]
  [ "$(openssl x509 -noout -pubkey -in client-mismatch.pem)" != "$(openssl pkey -pubout -in client-mismatch.key)" ]
  grep -q 'BEGIN EC PRIVATE KEY' client-ec-trad.key
  grep -q 'BEGIN RSA PRIVATE KEY' client-rsa-trad.key
}

@test "pki: pki_make is cached" {
  before=$(cd "$PKI" && cat *.pem *.key | sha256sum)
  run pki_make "$PKI"
  assert_success
  assert_output ''
  [ "$(cd "$PKI" && cat *.pem *.key | sha256sum)" = "$before" ]
}

# ---------------------------------------------------------------- Dovecot

@test "dovecot: starts on random ports, offers STLS and SASL, authenticates, stops" {
  dovecot_start "$T/dovecot"
  [ "$DOVECOT_DIR" = "$T/dovecot" ]
  [ "$DOVECOT_HOST" = 127.0.0.1 ]
  [ -n "$DOVECOT_PORT" ] && [ -n "$DOVECOT_PORT_TLS" ] && [ "$DOVECOT_PORT" != "$DOVECOT_PORT_TLS" ]
  # everything the instance writes is under its directory
  run grep -E '^(base_dir|state_dir|log_path) ' "$DOVECOT_DIR/dovecot.conf"
  refute_output --partial ' = /var'
  refute_output --partial ' = /run'
  dovecot_user alice secret
  dovecot_user bob 'p4ss word'
  run dovecot_pop3_session <<<$'CAPA\nQUIT'
  assert_success
  assert_line 'STLS'
  assert_line 'SASL PLAIN LOGIN CRAM-MD5 DIGEST-MD5 SCRAM-SHA-1 SCRAM-SHA-256'
  assert_line --regexp '^\+OK .*<.*@.*>$'       # APOP timestamp in the greeting
  run dovecot_pop3_session <<<$'USER alice\nPASS secret\nSTAT\nQUIT'
  assert_line '+OK 0 0'
  run dovecot_pop3_session <<<$'USER bob\nPASS p4ss word\nQUIT'
  assert_line '+OK Logged in.'
  # AUTH PLAIN, initial response: \0alice\0secret
  run dovecot_pop3_session <<<"AUTH PLAIN $(printf '\0alice\0secret' | base64)"$'\nQUIT'
  assert_line '+OK Logged in.'
  # last: after a failure Dovecot delays further logins from this address
  run dovecot_pop3_session <<<$'USER alice\nPASS wrong\nQUIT'
  assert_line --partial '-ERR [AUTH]'
  pid=$DOVECOT_PID
  dovecot_stop
  ! _dovecot_alive "$pid"
  [ -z "$(_dovecot_children "$pid")" ]
  [ ! -e "$DOVECOT_DIR/dovecot.pid" ]
  run py "$LIB/nettool.py" wait --timeout 0.2 "$DOVECOT_PORT"
  assert_failure
  dovecot_stop    # idempotent
}

@test "dovecot: options (mechanisms, no TLS, TLS required, IPv6)" {
  dovecot_start "$T/d1" --mechs 'plain cram-md5' --no-ssl --lock-session
  [ -z "$DOVECOT_PORT_TLS" ]
  run dovecot_pop3_session <<<$'CAPA\nQUIT'
  assert_line 'SASL PLAIN CRAM-MD5'
  refute_line 'STLS'
  dovecot_stop
  # Dovecot treats a client whose address equals the server's as secured:
  # listen on 127.0.0.2 (clients connect from 127.0.0.1) to make it insist
  # on TLS before plaintext authentication
  dovecot_start "$T/d3" --listen 127.0.0.2 --plaintext-auth-needs-tls
  dovecot_user alice secret
  run dovecot_pop3_session <<<$'USER alice\nQUIT'
  assert_line --partial '-ERR [AUTH] Plaintext authentication disallowed'
  run dovecot_pop3_session --cafile "$DOVECOT_CA" <<<$'STLS\nUSER alice\nPASS secret\nQUIT'
  assert_success
  assert_line '+OK Logged in.'
  dovecot_stop
  if ! py -c 'import socket; s = socket.socket(socket.AF_INET6); s.bind(("::1", 0))' 2>/dev/null ; then
    skip "no IPv6 loopback"
  fi
  dovecot_start "$T/d2" --ipv6
  [ "$DOVECOT_HOST" = ::1 ]
  dovecot_user alice secret
  run dovecot_pop3_session --tls --cafile "$DOVECOT_CA" <<<$'USER alice\nPASS secret\nQUIT'
  assert_success
  assert_line '+OK Logged in.'
}

@test "dovecot: message helpers keep order and count" {
  dovecot_user alice secret
  printf 'Subject: one\nMessage-ID: <1@x>\n\nfirst\n' > "$T/m1"
  printf 'Subject: two\nMessage-ID: <2@x>\n\nsecond\n' > "$T/m2"
  dovecot_add_message alice "$T/m1" "$T/m2"
  dovecot_add_generated alice 5 9 small
  dovecot_add_generated alice 3 9 small
  [ "$(dovecot_message_count alice)" = 10 ]
  [ "$(ls "$(dovecot_orig_dir alice)" | wc -l)" = 8 ]
  run dovecot_pop3_session <<<$'USER alice\nPASS secret\nSTAT\nTOP 1 0\nTOP 2 0\nTOP 10 0\nQUIT'
  assert_line --regexp '^\+OK 10 [0-9]+$'
  assert_line 'Subject: one'
  assert_line 'Subject: two'
  assert_line 'Message-ID: <msggen.9.7@mpop-test.invalid>'
}

# ------------------------------------------------- reference mpop fetches

@test "reference mpop: plain POP3 into a maildir, nothing lost or duplicated" {
  shared_user
  mkdir -p "$T/md/new" "$T/md/cur" "$T/md/tmp"
  f=$(refmpop_rc rc $DOVECOT_PORT off off "maildir $T/md" "$U")
  run timeout 60 "$REFMPOP" -q -C "$f" test
  assert_success
  run py "$LIB/compare-maildir.py" "$(dovecot_orig_dir "$U")" "$T/md" --strip-received
  assert_success
  assert_line 'originals 20'
  assert_line 'ok 20'
  assert_line 'lost 0'
  assert_line 'duplicate 0'
  [ "$(dovecot_message_count "$U")" = 0 ]
}

@test "reference mpop: STLS with --tls-trust-file = test CA" {
  shared_user
  mkdir -p "$T/md/new" "$T/md/cur" "$T/md/tmp"
  f=$(refmpop_rc rc $DOVECOT_PORT on on "maildir $T/md" "$U")
  run timeout 60 "$REFMPOP" -q -C "$f" --tls-trust-file="$PKI/ca.pem" test
  assert_success
  run py "$LIB/compare-maildir.py" "$(dovecot_orig_dir "$U")" "$T/md" --strip-received
  assert_success
  assert_line 'lost 0'
  assert_line 'duplicate 0'
  grep -q "user=<$U>.*TLS" "$DOVECOT_DIR/dovecot.log"
}

@test "reference mpop: implicit TLS (pop3s)" {
  shared_user
  mkdir -p "$T/md/new" "$T/md/cur" "$T/md/tmp"
  f=$(refmpop_rc rc $DOVECOT_PORT_TLS on off "maildir $T/md" "$U")
  run timeout 60 "$REFMPOP" -q -C "$f" --tls-trust-file="$PKI/ca.pem" test
  assert_success
  run py "$LIB/compare-maildir.py" "$(dovecot_orig_dir "$U")" "$T/md" --strip-received
  assert_success
  assert_line 'lost 0'
  assert_line 'duplicate 0'
}

@test "reference mpop: mbox delivery checked with mboxrd unquoting" {
  shared_user
  f=$(refmpop_rc rc $DOVECOT_PORT_TLS on off "mbox $T/mbox" "$U")
  run timeout 60 "$REFMPOP" -q -C "$f" --tls-trust-file="$PKI/ca.pem" test
  assert_success
  grep -q '^>From ' "$T/mbox"      # the corpus has From lines that need quoting
  run py "$LIB/compare-maildir.py" "$(dovecot_orig_dir "$U")" "$T/mbox" --strip-received
  assert_success
  assert_line 'ok 20'
  assert_line 'corrupt 0'
}

@test "reference mpop: rejects a server certificate from another CA" {
  dovecot_start "$T/dovecot" --cert server-ca2
  dovecot_user alice secret
  dovecot_add_generated alice 2 1 small
  mkdir -p "$T/md/new" "$T/md/cur" "$T/md/tmp"
  f=$(refmpop_rc rc $DOVECOT_PORT_TLS on off "maildir $T/md")
  run timeout 60 "$REFMPOP" -q -C "$f" --tls-trust-file="$PKI/ca.pem" test
  assert_failure
  [ "$(dovecot_message_count alice)" = 2 ]
  [ -z "$(ls "$T/md/new")" ]
  run timeout 60 "$REFMPOP" -q -C "$f" --tls-trust-file="$PKI/ca2.pem" test
  assert_success
}

# ---------------------------------------------------------------- openssl

@test "openssl s_client: pop3s and STLS present the expected chain" {
  run timeout 20 openssl s_client -connect "127.0.0.1:$DOVECOT_PORT_TLS" -CAfile "$PKI/ca.pem" \
    -verify_return_error -verify_hostname localhost -showcerts </dev/null
  assert_success
  assert_output --partial 'depth=1 O = mpop test, CN = mpop test CA'
  assert_output --partial 'depth=0 O = mpop test, CN = localhost'
  assert_output --partial 'Verify return code: 0 (ok)'
  # the certificate sent is exactly server.pem
  sent=$(printf '%s\n' "$output" | sed -n '/BEGIN CERTIFICATE/,/END CERTIFICATE/p' | openssl x509 -noout -fingerprint -sha256)
  [ "${sent#*=}" = "$(cat "$PKI/server.sha256")" ]
  run timeout 20 openssl s_client -connect "127.0.0.1:$DOVECOT_PORT" -starttls pop3 -CAfile "$PKI/ca.pem" \
    -verify_return_error </dev/null
  assert_success
  assert_output --partial 'Verify return code: 0 (ok)'
  run timeout 20 openssl s_client -connect "127.0.0.1:$DOVECOT_PORT_TLS" -CAfile "$PKI/ca2.pem" \
    -verify_return_error </dev/null
  assert_failure
}

@test "openssl s_client: intermediate chain and RSA certificate" {
  dovecot_start "$T/dovecot" --cert server-int-chain
  run timeout 20 openssl s_client -connect "127.0.0.1:$DOVECOT_PORT_TLS" -CAfile "$PKI/ca.pem" \
    -verify_return_error -showcerts </dev/null
  assert_success
  assert_output --partial 'depth=1 O = mpop test, CN = mpop test intermediate'
  [ "$(printf '%s\n' "$output" | grep -c 'BEGIN CERTIFICATE')" = 2 ]
  dovecot_stop
  dovecot_start "$T/dovecot2" --cert server-rsa
  run timeout 20 openssl s_client -connect "127.0.0.1:$DOVECOT_PORT_TLS" -CAfile "$PKI/ca.pem" \
    -verify_return_error </dev/null
  assert_success
  assert_output --regexp 'Peer signature type: (RSA-PSS|RSA)'
}

# ------------------------------------------------------- corpus and checker

@test "msggen: deterministic, unique Message-IDs, edge cases present" {
  py "$LIB/msggen.py" --seed 5 --count 30 --out "$T/a"
  py "$LIB/msggen.py" --seed 5 --count 12 --out "$T/b"
  py "$LIB/msggen.py" --seed 5 --count 18 --start 12 --out "$T/b"
  diff -r "$T/a" "$T/b"
  [ "$(ls "$T/a" | wc -l)" = 30 ]
  [ "$(cat "$T/a"/* | grep -c '^Message-ID: ')" = 30 ]
  [ "$(cat "$T/a"/* | grep '^Message-ID: ' | sort -u | wc -l)" = 30 ]
  cd "$T/a"
  ! grep -q $'\r' ./*                                  # LF only
  [ "$(tail -c 1 msg-000001.eml)" != '' ]              # no trailing newline
  [ "$(sed -n '/^$/,$p' msg-000000.eml)" = '' ]        # empty body
  [ "$(awk '{ if (length($0) > m) m = length($0) } END { print m }' msg-000002.eml)" -ge 70000 ]
  grep -qx '\.' msg-000003.eml && grep -qx '\.\.' msg-000003.eml
  grep -q '^From ' msg-000004.eml && grep -q '^>From ' msg-000004.eml
  LC_ALL=C grep -q $'\xff' msg-000005.eml
  [ "$(stat -c %s msg-000006.eml)" -ge 100000 ]
  py "$LIB/msggen.py" --seed 5 --count 2 --big 2 --out "$T/big"
  [ "$(stat -c %s "$T/big/msg-000001.eml")" -ge $((2 * 1024 * 1024)) ]
  py "$LIB/msggen.py" --seed 5 --count 50 --mix bench --out "$T/bench"
  [ "$(cat "$T/bench"/* | awk '{ if (length($0) > m) m = length($0) } END { print m }')" -le 78 ]
}

@test "compare-maildir: reports lost, duplicate, corrupt and unknown" {
  py "$LIB/msggen.py" --seed 3 --count 10 --mix small --out "$T/orig"
  mkdir -p "$T/md/new" "$T/md/cur" "$T/md/tmp"
  for f in "$T/orig"/* ; do
    printf 'Received: from test\n\tby test; Thu, 1 Jan 2026 00:00:00 +0000\n' | cat - "$f" > "$T/md/new/${f##*/}"
  done
  run py "$LIB/compare-maildir.py" "$T/orig" "$T/md" --strip-received
  assert_success
  assert_line 'ok 10'
  run py "$LIB/compare-maildir.py" "$T/orig" "$T/md"
  assert_failure
  assert_line 'corrupt 10'
  rm "$T/md/new/msg-000003.eml"
  cp "$T/md/new/msg-000004.eml" "$T/md/cur/copy:2,S"
  printf 'x' >> "$T/md/new/msg-000005.eml"
  printf 'Subject: stray\n\nno id\n' > "$T/md/new/stray"
  touch "$T/md/tmp/partial"
  run py "$LIB/compare-maildir.py" "$T/orig" "$T/md" --strip-received
  assert_failure
  assert_line 'originals 10'
  assert_line 'delivered 11'
  assert_line 'ok 7'
  assert_line 'lost 1'
  assert_line 'duplicate 1'
  assert_line 'corrupt 1'
  assert_line 'unknown 1'
  assert_line 'tmp 1'
  # mbox: mboxrd quoting is undone; a bad mbox is an error
  for f in "$T/orig"/* ; do
    echo 'From MAILER-DAEMON Thu Jan  1 00:00:00 2026'
    sed -E 's/^(>*From )/>\1/' "$f" ; [ -z "$(tail -c 1 "$f")" ] || echo
    echo
  done > "$T/mbox"
  run py "$LIB/compare-maildir.py" "$T/orig" "$T/mbox"
  assert_success
  assert_line 'ok 10'
  echo garbage > "$T/notmbox"
  run py "$LIB/compare-maildir.py" "$T/orig" "$T/notmbox"
  [ "$status" -eq 2 ]
}

#!/usr/bin/env bats
# Authentication against a real server: a private Dovecot with every SASL
# mechanism it has, APOP, USER, and EXTERNAL with a client certificate.
# The driver is auth-test (src/tests/auth-test.c): pop3_open + auth_login.

load lib/common
load lib/dovecot
load lib/auth

PW='Sup3r-S3cret pw'

setup_file () {
  ext_start >&3 2>&3
  export AUTH_DC="$BATS_FILE_TMPDIR/dc"
  dovecot_start "$AUTH_DC" --mechs "plain login cram-md5 digest-md5 scram-sha-1 scram-sha-256 apop" >&3 2>&3
  dovecot_user joe "$PW"
}

teardown_file () {
  dovecot_stop "$AUTH_DC"
  dovecot_stop "$AUTH_DCX"
}

setup () { common_setup ; }

dc_rc () { # NAME [rc lines]: plain-text connection to Dovecot, user joe
  local name="$1" ; shift
  auth_rc "$name" "$DOVECOT_PORT" "tls off" "user joe" "$@"
}

login_ok () { # METHOD
  local f
  f=$(dc_rc rc "auth $1" "password $PW")
  run auth_login "$f" -d
  assert_success
  assert_line --index 0 --regexp '^<-- \+OK Dovecot'
  assert_equal "${lines[${#lines[@]}-3]}" "$1"
  # never the password, nor the PLAIN blob, in the trace
  refute_output --partial 'S3cret'
  refute_output --partial "$(printf '\0joe\0%s' "$PW" | base64 -w0)"
  # Dovecot logs USER/PASS as PLAIN
  run dovecot_log
  if [ "$1" = user ] ; then assert_output --partial "method=PLAIN" ; else assert_output --partial "method=$(echo "$1" | tr a-z A-Z)" ; fi
}

login_wrong () { # METHOD
  local f
  f=$(dc_rc rc "auth $1" "password wrong-password")
  run auth_login "$f"
  assert_failure 77
  assert_line "auth-test: authentication failed (method $(echo "$1" | tr a-z A-Z))"
  assert_line "auth-test: POP3 server message: -ERR [AUTH] Authentication failed."
}

@test "dovecot: PLAIN logs in; a wrong password gives 77 with the server's message" {
  login_ok plain
  login_wrong plain
}

@test "dovecot: LOGIN logs in; a wrong password gives 77" {
  login_ok login
  login_wrong login
}

@test "dovecot: CRAM-MD5 logs in; a wrong password gives 77" {
  login_ok cram-md5
  login_wrong cram-md5
}

@test "dovecot: DIGEST-MD5 logs in (rspauth answered with an empty line); a wrong password gives 77" {
  login_ok digest-md5
  f=$(dc_rc rc "auth digest-md5" "password $PW")
  run auth_login "$f" -d
  assert_line --regexp '^<-- \+ cnNwYXV0aD'
  login_wrong digest-md5
}

@test "dovecot: SCRAM-SHA-1 logs in (server signature verified); a wrong password gives 77" {
  login_ok scram-sha-1
  login_wrong scram-sha-1
}

@test "dovecot: SCRAM-SHA-256 logs in, initial response on the AUTH line; a wrong password gives 77" {
  login_ok scram-sha-256
  f=$(dc_rc rc "auth scram-sha-256" "password $PW")
  run auth_login "$f" -d
  assert_line '--> AUTH SCRAM-SHA-256 ********'
  assert_line --regexp '^<-- \+ dj'
  login_wrong scram-sha-256
}

@test "dovecot: APOP (timestamp with base64 characters) logs in; a wrong password gives 77" {
  login_ok apop
  f=$(dc_rc rc "auth apop" "password $PW")
  run auth_login "$f" -d
  assert_line '--> APOP joe ********'
  login_wrong apop
}

@test "dovecot: USER/PASS is pipelined (PIPELINING); a wrong password gives 77" {
  login_ok user
  f=$(dc_rc rc "auth user" "password $PW")
  run auth_login "$f" -d
  assert_line '--> PASS ********'
  # both commands before the first reply
  [[ "$output" == *$'--> USER joe\n--> PASS ********\n<-- +OK'* ]]
  login_wrong user
}

@test "dovecot: automatic choice is SCRAM-SHA-256 with TLS (STARTTLS) and without" {
  pki_make "$DOVECOT_PKI"
  f=$(auth_rc rc "$DOVECOT_PORT" "user joe" "password $PW" "tls on" "tls_starttls on" "tls_trust_file $DOVECOT_CA")
  run auth_login "$f"
  assert_success
  assert_output scram-sha-256
  f=$(dc_rc rc2 "password $PW")
  run auth_login "$f"
  assert_success
  assert_output scram-sha-256
}

@test "dovecot: automatic choice without TLS refuses PLAIN/LOGIN/USER (69) and says how to choose" {
  d="$BATS_TEST_TMPDIR/dc2"
  dovecot_start "$d" --mechs "plain login" --no-ssl
  dovecot_user joe "$PW"
  f=$(auth_rc rc "$DOVECOT_PORT" "user joe" "password $PW" "tls off")
  run auth_login "$f"
  dovecot_stop "$d"
  assert_failure 69
  assert_output --partial "auth-test: cannot use a secure authentication method"
  assert_output --partial "auth user"
}

@test "dovecot: pop3info -S shows the capabilities after login, for every method" {
  for m in plain login cram-md5 digest-md5 scram-sha-1 scram-sha-256 apop user ; do
    f=$(dc_rc "rc-$m" "auth $m" "password $PW")
    run timeout 30 "$BIN/rcparse" -C "$f" -S default "$BIN/pop3info" -d
    assert_success
    refute_output --partial "after successful authentication"
    refute_output --partial 'S3cret'
    # CAPA again after "+OK Logged in.", and STLS gone from that list
    [[ "$output" == *$'<-- +OK Logged in.\n--> CAPA'* ]] || { echo "method $m" ; false ; }
  done
}

@test "dovecot: pop3info -S with a wrong password still reports, with the note" {
  f=$(dc_rc rc "auth scram-sha-256" "password nope")
  run timeout 30 "$BIN/rcparse" -C "$f" -S default "$BIN/pop3info"
  assert_success
  assert_output --partial "after successful authentication"
}

ext_start () { # a second Dovecot asking for client certificates (EXTERNAL)
  pki_make "$AUTH_PKI"
  export AUTH_DCX="$BATS_FILE_TMPDIR/dcx"
  dovecot_start "$AUTH_DCX" --pki "$AUTH_PKI" --mechs "plain external" \
    --conf "ssl_ca = <$AUTH_PKI/ca.pem" --conf "ssl_verify_client_cert = yes" --conf "ssl_require_crl = no" \
    --conf "auth_ssl_username_from_cert = yes" --conf "ssl_cert_username_field = commonName" \
    --conf "$(printf 'passdb {\n  driver = static\n  args = nopassword=y\n  mechanisms = external\n}')"
  dovecot_user joe "$PW"
  export AUTH_DCX_PORT=$DOVECOT_PORT_TLS
}

client_cert () { # NAME CN: a client certificate from the test CA
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/$1.key" \
    -subj "/CN=$2" -out "$T/$1.csr" 2>/dev/null
  printf 'extendedKeyUsage=clientAuth\n' > "$T/ext.cnf"
  openssl x509 -req -in "$T/$1.csr" -CA "$AUTH_PKI/ca.pem" -CAkey "$AUTH_PKI/ca.key" -set_serial "0x$(od -An -N8 -tx1 /dev/urandom | tr -d ' ')" \
    -days 3650 -out "$T/$1.pem" -extfile "$T/ext.cnf" 2>/dev/null
}

@test "dovecot: EXTERNAL logs in with a TLS client certificate (no password needed)" {
  client_cert joe joe
  f=$(auth_rc rc "$AUTH_DCX_PORT" "tls on" "tls_starttls off" "tls_trust_file $AUTH_PKI/ca.pem" \
      "tls_cert_file $T/joe.pem" "tls_key_file $T/joe.key" "auth external")
  run auth_login "$f" -d
  assert_success
  assert_line '--> AUTH EXTERNAL ='
  assert_line external
  run cat "$AUTH_DCX/dovecot.log"
  assert_output --partial "user=<joe>, method=EXTERNAL"
}

@test "dovecot: EXTERNAL without a client certificate: clear error before AUTH (69)" {
  f=$(auth_rc rc "$AUTH_DCX_PORT" "tls on" "tls_starttls off" "tls_trust_file $AUTH_PKI/ca.pem" "auth external")
  run auth_login "$f" -d
  assert_failure 69
  assert_line "auth-test: authentication method EXTERNAL needs TLS with a client certificate (tls on, tls_cert_file and tls_key_file)"
  refute_output --partial "--> AUTH"
}

#!/usr/bin/env bats
# The SASL exchange (RFC 5034) against the scripted server faultpop:
# OAUTHBEARER and XOAUTH2 (8 KiB tokens, one or two steps, error
# challenges, Microsoft's refusal of initial responses), PLAIN/LOGIN/
# CRAM-MD5, NTLM's wiring, and every bad input of the issue.

load lib/common
load lib/auth

SCN="$BATS_TEST_DIRNAME/faultpop/scenarios"

setup () { common_setup ; }
teardown () { authfp_stop ; }

scenario () { # NAME <<EOF: writes a scenario file, prints its path
  cat > "$T/$1.scn"
  printf '%s\n' "$T/$1.scn"
}

token_file () { # SCENARIO: the scenario's token into $T/token, for passwordeval
  /usr/bin/python3 "$TESTS_DIR/faultpop/faultpop.py" --scenario "$1" --print token > "$T/token"
}

fp_rc () { # rc lines...: the account for the running faultpop, without TLS
  auth_rc rc "$AUTHFP_PORT" "tls off" "$@"
}

# OAuth

@test "sasl: XOAUTH2 with an 8 KiB token goes in two steps (AUTH line would pass 255 octets)" {
  token_file "$SCN/xoauth2.scn"
  authfp_start "$SCN/xoauth2.scn"
  f=$(fp_rc "user u@example.org" "auth xoauth2" "passwordeval cat $T/token")
  run auth_login "$f" -d
  assert_success
  assert_line '--> AUTH XOAUTH2'
  assert_line xoauth2
  refute_output --partial "$(head -c 40 "$T/token")"
  run authfp_auth_event
  assert_output --partial '"ok": true, "initial_response": false, "token_length": 8192'
}

@test "sasl: OAUTHBEARER with an 8 KiB token goes in two steps" {
  token_file "$SCN/oauthbearer.scn"
  authfp_start "$SCN/oauthbearer.scn"
  f=$(fp_rc "user u@example.org" "auth oauthbearer" "passwordeval cat $T/token")
  run auth_login "$f"
  assert_success
  assert_output oauthbearer
  run authfp_auth_event
  assert_output --partial '"ok": true, "initial_response": false, "token_length": 8192'
}

@test "sasl: XOAUTH2: one step while AUTH + initial response + CRLF fit in 255 octets, two steps from 256" {
  # user=u@example.org^Aauth=Bearer T^A^A is 33 + |T| bytes: |T| = 147 gives
  # 180 bytes, 240 in base64, "AUTH XOAUTH2 " + 240 + CRLF = 255; one more
  # byte makes 244 in base64
  t147=$(head -c 147 /dev/zero | tr '\0' 'a')
  for t in "$t147" "${t147}b" ; do
    s=$(scenario short <<EOF
user u@example.org
auth-user off
sasl XOAUTH2
token $t
EOF
)
    authfp_start "$s"
    f=$(fp_rc "user u@example.org" "auth xoauth2" "password $t")
    run auth_login "$f"
    assert_success
    authfp_stop
    if [ ${#t} = 147 ] ; then
      run authfp_commands
      assert_line 'AUTH XOAUTH2 <initial response, 240 bytes>'
      run authfp_auth_event
      assert_output --partial '"initial_response": true, "token_length": 147'
    else
      run authfp_commands
      assert_line 'AUTH XOAUTH2'
      run authfp_auth_event
      assert_output --partial '"initial_response": false, "token_length": 148'
    fi
  done
}

@test "sasl: OAUTHBEARER with a short token is one AUTH line (RFC 7628 GS2 header with the user)" {
  s=$(scenario short <<'EOF'
user u@example.org
auth-user off
sasl OAUTHBEARER
token short-token
EOF
)
  authfp_start "$s"
  f=$(fp_rc "user u@example.org" "auth oauthbearer" "password short-token")
  run auth_login "$f" -d
  assert_success
  assert_line '--> AUTH OAUTHBEARER ********'
  run authfp_auth_event
  assert_output --partial '"ok": true, "initial_response": true'
}

@test "sasl: XOAUTH2 error challenge: empty answer, 77, the JSON shown decoded" {
  authfp_start "$SCN/xoauth2-error-challenge.scn"
  f=$(fp_rc "user u@example.org" "auth xoauth2" "password expired-token")
  run auth_login "$f"
  assert_failure 77
  assert_line 'auth-test: authentication failed (method XOAUTH2): the server reports {"status":"401","schemes":"bearer","scope":"https://mail.google.com/"}'
  assert_line 'auth-test: POP3 server message: -ERR [AUTH] Authentication failed.'
  run authfp_auth_event
  assert_output --partial '"error_ack": "", "error_ack_ok": true'
}

@test "sasl: OAUTHBEARER error challenge: answered with %x01 (RFC 7628), 77, JSON shown" {
  authfp_start "$SCN/oauthbearer-error-challenge.scn"
  f=$(fp_rc "user u@example.org" "auth oauthbearer" "password expired-token")
  run auth_login "$f"
  assert_failure 77
  assert_line --regexp '^auth-test: authentication failed \(method OAUTHBEARER\): the server reports \{"status":"invalid_token",'
  run authfp_auth_event
  assert_output --partial '"error_ack": "AQ==", "error_ack_ok": true'
}

@test "sasl: Microsoft-style servers (initial response refused): 8 KiB tokens work for XOAUTH2 and OAUTHBEARER" {
  for m in xoauth2 oauthbearer ; do
    token_file "$SCN/$m-two-step.scn"
    authfp_start "$SCN/$m-two-step.scn"
    f=$(fp_rc "user u@outlook.example" "auth $m" "passwordeval cat $T/token")
    run auth_login "$f"
    assert_success
    assert_output "$m"
    authfp_stop
  done
}

@test "sasl: Microsoft-style refusal of a short initial response: 77 with the server's message" {
  s=$(scenario ms <<'EOF'
user u@outlook.example
auth-user off
sasl XOAUTH2
sasl-initial-response refuse
token shorttoken
EOF
)
  authfp_start "$s"
  f=$(fp_rc "user u@outlook.example" "auth xoauth2" "password shorttoken")
  run auth_login "$f"
  assert_failure 77
  assert_line 'auth-test: POP3 server message: -ERR Protocol error. Connection is closed. 10'
}

@test "sasl: a token the server finds too long is a clean 77" {
  token_file "$SCN/token-too-long.scn"
  authfp_start "$SCN/token-too-long.scn"
  f=$(fp_rc "user u@example.org" "auth xoauth2" "passwordeval cat $T/token")
  run auth_login "$f"
  assert_failure 77
  assert_line 'auth-test: authentication failed (method XOAUTH2)'
}

# PLAIN, LOGIN, CRAM-MD5 on the scripted server

@test "sasl: PLAIN, LOGIN and CRAM-MD5 scenarios log in" {
  for m in plain login cram-md5 ; do
    authfp_start "$SCN/sasl-$m.scn"
    f=$(fp_rc "user u" "password p" "auth $m")
    run auth_login "$f"
    assert_success
    assert_output "$m"
    authfp_stop
  done
}

@test "sasl: a bare '+' continuation (no space) is accepted (PLAIN in two steps)" {
  pw=$(head -c 300 /dev/zero | tr '\0' 'p')
  s=$(scenario bare <<EOF
auth-user off
sasl PLAIN LOGIN
sasl-continuation "+"
password $pw
EOF
)
  authfp_start "$s"
  f=$(fp_rc "user u" "passwordeval printf %s $pw" "auth plain")
  run auth_login "$f" -d
  assert_success
  assert_line '<-- +'
  assert_line 'plain'
}

@test "sasl: NTLM: type 1 with ntlmdomain after the empty challenge, type 3 after the type 2" {
  s=$(scenario ntlm <<'EOF'
capa USER
capa SASL NTLM
fault on=AUTH arg=NTLM do=reply line="+ "
fault on=* nth=3 do=reply line="+ TlRMTVNTUAACAAAAAAAAACgAAAABggAAU3J2Tm9uY2UAAAAAAAAAAA=="
fault on=* nth=4 do=reply line="+OK NTLM accepted"
EOF
)
  authfp_start "$s"
  f=$(fp_rc "user joe" "password pw" "auth ntlm" "ntlmdomain EXAMPLEDOM")
  run auth_login "$f"
  assert_success
  assert_output ntlm
  run authfp_commands
  assert_line --index 1 'AUTH NTLM'
  run /usr/bin/python3 -c '
import base64, sys
a, b = base64.b64decode(sys.argv[1]), base64.b64decode(sys.argv[2])
assert a[:12] == b"NTLMSSP\0\1\0\0\0", a[:12]
assert b[:12] == b"NTLMSSP\0\3\0\0\0", b[:12]
assert b"EXAMPLEDOM" in a, a
assert "joe".encode("utf-16-le") in b, b
print("ok")' "${lines[2]}" "${lines[3]}"
  assert_output ok
}

# Bad input

@test "sasl bad input: server advertises CRAM-MD5 then rejects AUTH CRAM-MD5: 76, its message" {
  s=$(scenario adv <<'EOF'
auth-user off
sasl PLAIN
sasl-advertise PLAIN CRAM-MD5
EOF
)
  authfp_start "$s"
  f=$(fp_rc "user u" "password p" "auth cram-md5")
  run auth_login "$f"
  assert_failure 76
  assert_line 'auth-test: command AUTH CRAM-MD5 failed'
  assert_line 'auth-test: POP3 server message: -ERR Unsupported authentication mechanism.'
}

@test "sasl bad input: server advertises PLAIN then rejects it after the initial response: 77" {
  s=$(scenario adv <<'EOF'
auth-user off
sasl LOGIN
sasl-advertise PLAIN LOGIN
EOF
)
  authfp_start "$s"
  f=$(fp_rc "user u" "password p" "auth plain")
  run auth_login "$f"
  assert_failure 77
  assert_line 'auth-test: authentication failed (method PLAIN)'
  assert_line 'auth-test: POP3 server message: -ERR Unsupported authentication mechanism.'
}

@test "sasl bad input: a challenge that is not base64 is cancelled with '*' (76)" {
  s=$(scenario garbage <<'EOF'
sasl CRAM-MD5
fault on=AUTH arg=CRAM-MD5 do=reply line="+ <not base64!>"
EOF
)
  authfp_start "$s"
  f=$(fp_rc "user u" "password p" "auth cram-md5")
  run auth_login "$f"
  assert_failure 76
  assert_output 'auth-test: authentication failed (method CRAM-MD5): the server sent a challenge that is not valid base64'
  run authfp_commands
  assert_line '*'
}

@test "sasl bad input: a challenge after the exchange was complete is cancelled (76)" {
  s=$(scenario after <<'EOF'
sasl PLAIN
fault on=AUTH arg=PLAIN do=reply line="+ "
EOF
)
  authfp_start "$s"
  f=$(fp_rc "user u" "password p" "auth plain")
  run auth_login "$f"
  assert_failure 76
  assert_output 'auth-test: authentication failed (method PLAIN): the server sent a challenge after the exchange was complete'
  run authfp_commands
  assert_line '*'
}

@test "sasl bad input: +OK before SCRAM verified the server's signature is a failure (76)" {
  s=$(scenario early <<'EOF'
capa USER
capa SASL SCRAM-SHA-256
fault on=AUTH arg=SCRAM-SHA-256 do=reply line="+OK welcome"
EOF
)
  authfp_start "$s"
  f=$(fp_rc "user u" "password p")
  run auth_login "$f"
  assert_failure 76
  assert_line 'auth-test: authentication failed (method SCRAM-SHA-256): the server said +OK before the authentication exchange was complete'
}

@test "sasl bad input: [AUTH] gives 77, [SYS/TEMP] and [IN-USE] give 75, [SYS/PERM] 69" {
  for c in "AUTH 77" "SYS/TEMP 75" "IN-USE 75" "SYS/PERM 69" ; do
    s=$(scenario codes <<EOF
sasl PLAIN
fault on=AUTH do=err text="-ERR [${c% *}] go away"
EOF
)
    authfp_start "$s"
    f=$(fp_rc "user u" "password p" "auth plain")
    run auth_login "$f"
    assert_failure "${c#* }"
    assert_line "auth-test: POP3 server message: -ERR [${c% *}] go away"
    authfp_stop
  done
}

@test "sasl bad input: a '+ERR' reply to the login is a failure, not a success (77)" {
  s=$(scenario pluserr <<'EOF'
sasl PLAIN
fault on=AUTH do=reply line="+ERR Server error"
EOF
)
  authfp_start "$s"
  f=$(fp_rc "user u" "password p" "auth plain")
  run auth_login "$f"
  assert_failure 77
  assert_line 'auth-test: POP3 server message: +ERR Server error'
}

@test "sasl bad input: auth gssapi without a Kerberos ticket: clear error, no AUTH sent (69)" {
  s=$(scenario gss <<'EOF'
capa USER
capa SASL GSSAPI
EOF
)
  authfp_start "$s"
  f=$(fp_rc "user u" "auth gssapi")
  KRB5CCNAME="FILE:$T/no-such-ccache" KRB5_CONFIG=/dev/null run auth_login "$f"
  assert_failure 69
  assert_output --regexp '^auth-test: authentication failed \(method GSSAPI\): GSSAPI error .*Kerberos ticket'
  run authfp_commands
  refute_output --partial AUTH
}

@test "sasl bad input: EXTERNAL without TLS or without a certificate: clear error (69)" {
  s=$(scenario ext <<'EOF'
capa USER
capa SASL EXTERNAL
EOF
)
  authfp_start "$s"
  f=$(fp_rc "auth external")
  run auth_login "$f"
  assert_failure 69
  assert_output 'auth-test: authentication method EXTERNAL needs TLS with a client certificate (tls on, tls_cert_file and tls_key_file)'
}

@test "sasl bad input: user unset for a method that needs one (69)" {
  s=$(scenario nouser <<'EOF'
sasl PLAIN XOAUTH2
EOF
)
  authfp_start "$s" --sessions 3
  for m in plain user xoauth2 ; do
    f=$(fp_rc "password p" "auth $m")
    run auth_login "$f"
    assert_failure 69
    assert_output "auth-test: authentication method $(echo $m | tr a-z A-Z) needs a user name"
  done
}

@test "sasl: an explicit method the server does not offer (69); one this build lacks (69)" {
  s=$(scenario plainonly <<'EOF'
sasl PLAIN
EOF
)
  authfp_start "$s" --sessions 2
  f=$(fp_rc "user u" "password p" "auth cram-md5")
  run auth_login "$f"
  assert_failure 69
  assert_output 'auth-test: POP3 server does not support authentication method CRAM-MD5'
  f=$(fp_rc "user u" "password p" "auth scram-sha-256-plus")
  run auth_login "$f"
  assert_failure 69
  assert_output 'auth-test: support for authentication method SCRAM-SHA-256-PLUS is not compiled in'
}

@test "version: mpop --version lists exactly the methods this build and libgsasl support" {
  run "$BIN/mpop" --version
  assert_success
  assert_line --regexp '^Authentication library: GNU SASL [0-9.]+; user, apop, oauthbearer, xoauth2: built-in$'
  want=$("$TESTBIN/auth-test" methods)
  assert_line "$want"
  # Debian's libgsasl 2.2.0 has every one of them; -PLUS needs channel
  # binding, which BearSSL does not give
  assert_line 'scram-sha-256 scram-sha-1 plain apop user gssapi external oauthbearer cram-md5 digest-md5 login ntlm xoauth2 '
  refute_output --partial -plus
}

scram_server () { # [--bad-signature]: tests/lib/scramsrv.py in the background; the rc in $T/rc
  rm -f "$T/sport"
  /usr/bin/python3 "$TESTS_DIR/lib/scramsrv.py" --port-file "$T/sport" --user joe --password 'pässwörd' "$@" \
    > "$T/sres" 2>&1 3>&- &
  SCRAM_PID=$!
  for i in $(seq 1 200) ; do [ -s "$T/sport" ] && break ; sleep 0.05 ; done
  auth_rc rc "$(cat "$T/sport")" "tls off" "user joe" "password pässwörd" "auth scram-sha-256" > /dev/null
}

@test "sasl: SCRAM-SHA-256 against an independent implementation (non-ASCII password)" {
  scram_server
  run auth_login "$T/rc"
  wait "$SCRAM_PID"
  assert_success
  assert_output scram-sha-256
  run cat "$T/sres"
  assert_output 'proof ok'
}

@test "sasl bad input: a wrong SCRAM server signature is cancelled, never a login (76)" {
  scram_server --bad-signature
  run auth_login "$T/rc"
  wait "$SCRAM_PID"
  assert_failure 76
  assert_output --regexp '^auth-test: authentication failed \(method SCRAM-SHA-256\): .*\(the server could not prove that it knows the password\)$'
  run cat "$T/sres"
  assert_output 'proof ok, cancelled'
}

# without_gsasl CMD...: runs CMD in a mount namespace where the libgsasl
# file is empty (dlopen fails); skips the test where that is impossible
without_gsasl () {
  local so lib
  so=$(sed -n 's/^#define MPOP_GSASL_SONAME "\(.*\)"$/\1/p' "$TESTS_DIR/../src/include/mpop/config.h")
  lib=$(ldconfig -p | awk -v n="$so" '$1 == n { print $NF ; exit }')
  [ -n "$lib" ] || skip "no $so in the ldconfig cache"
  [ "$(id -u)" = 0 ] && unshare -m true 2>/dev/null || skip "needs root and unshare -m"
  lib=$(readlink -f "$lib")
  unshare -m sh -c 'mount --bind /dev/null "$1" && shift && exec "$@"' sh "$lib" "$@"
}

@test "sasl: libgsasl is loaded only for SASL: without it USER works, SASL is a clear 69, --version says so" {
  s=$(scenario both <<'EOF'
sasl PLAIN
EOF
)
  authfp_start "$s" --sessions 2
  f=$(fp_rc "user u" "password p" "auth user")
  run without_gsasl timeout 30 "$BIN/rcparse" -C "$f" -S default "$TESTBIN/auth-test" login
  assert_success
  assert_output user
  f=$(fp_rc "user u" "password p" "auth plain")
  run without_gsasl timeout 30 "$BIN/rcparse" -C "$f" -S default "$TESTBIN/auth-test" login
  assert_failure 69
  assert_output --regexp '^auth-test: cannot load GNU SASL: .*libgsasl.* \(needed by authentication method PLAIN\)$'
  run without_gsasl "$BIN/mpop" --version
  assert_success
  assert_line 'Authentication library: GNU SASL not available; user, apop, oauthbearer, xoauth2: built-in'
  assert_line 'apop user oauthbearer xoauth2 '
  # with it, a program that is not using SASL has not mapped it
  run ldd "$BIN/pop3fetch"
  refute_output --partial gsasl
}

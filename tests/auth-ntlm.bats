#!/usr/bin/env bats
# NTLM against a server that checks it: Debian's Dovecot 2.3.19 has no NTLM
# mechanism ("Unknown authentication mechanism 'NTLM'"), so the scripted
# server faultpop does the real exchange (tests/faultpop/ntlm.py): type 1
# (domain = ntlmdomain), type 2 with a random challenge, type 3 whose NTLMv1
# NT response must be the one for the password.

load lib/common
load lib/auth

SCN="$BATS_TEST_DIRNAME/faultpop/scenarios"
PW='Ntlm-Pa55'

setup () { common_setup ; }
teardown () { authfp_stop ; }

scenario () { # NAME [extra directives...]: sasl-ntlm.scn plus the directives
  local name="$1" ; shift
  { cat "$SCN/sasl-ntlm.scn" ; printf '%s\n' "$@" ; } > "$T/$name.scn"
  printf '%s\n' "$T/$name.scn"
}

fp_rc () { # NAME rc lines...: account for the running faultpop, user joe, auth ntlm
  local name="$1" ; shift
  auth_rc "$name" "$AUTHFP_PORT" "tls off" "user joe" "auth ntlm" "$@"
}

@test "ntlm: logs in to faultpop (NT response checked, ntlmdomain in type 1); pop3fetch retrieves the mail" {
  authfp_start "$(scenario dom "ntlm-domain EXAMPLEDOM")" --sessions 2
  f=$(fp_rc rc "password $PW" "ntlmdomain EXAMPLEDOM")
  run auth_login "$f" -d
  assert_success
  assert_line '--> AUTH NTLM'
  assert_line '<-- +OK Logged in.'
  assert_line ntlm
  refute_output --partial "$PW"
  run authfp_auth_event
  assert_output --partial '"mech": "NTLM", "user": "joe", "ok": true, "type1_domain": "EXAMPLEDOM"'
  assert_output --partial '"nt_ok": true'
  # the whole program
  mkdir -p "$T/md/new" "$T/md/cur" "$T/md/tmp"
  f=$(fp_rc rc2 "password $PW" "ntlmdomain EXAMPLEDOM" "uidls_file $T/uidls" "delivery maildir $T/md")
  run timeout 60 "$BIN/rcparse" -C "$f" default "$BIN/pop3fetch" -q "$BIN/mdeliver"
  assert_success
  [ "$(find "$T/md/new" -type f | wc -l)" = 3 ]
}

@test "ntlm: a wrong password gives 77 with the server's message; so does a missing ntlmdomain" {
  authfp_start "$(scenario dom "ntlm-domain EXAMPLEDOM")" --sessions 2
  f=$(fp_rc rc "password wrong-$PW" "ntlmdomain EXAMPLEDOM")
  run auth_login "$f"
  assert_failure 77
  assert_line 'auth-test: authentication failed (method NTLM)'
  assert_line 'auth-test: POP3 server message: -ERR [AUTH] Authentication failed.'
  f=$(fp_rc rc2 "password $PW")
  run auth_login "$f"
  assert_failure 77
  run authfp_auth_event
  assert_line --index 0 --partial '"ok": false, "why": "wrong NT response"'
  assert_line --index 1 --partial '"ok": false, "why": "type 1 domain , want EXAMPLEDOM"'
}

@test "ntlm: the shared scenario passes with pop3fetch without ntlmdomain; the type 3 domain is the server's" {
  authfp_start "$SCN/sasl-ntlm.scn"
  mkdir -p "$T/md/new" "$T/md/cur" "$T/md/tmp"
  f=$(fp_rc rc "password $PW" "uidls_file $T/uidls" "delivery maildir $T/md")
  run timeout 60 "$BIN/rcparse" -C "$f" default "$BIN/pop3fetch" -q "$BIN/mdeliver"
  assert_success
  run authfp_auth_event
  assert_output --partial '"ok": true, "type1_domain": "", "type3_domain": "FAULTPOP", "nt_ok": true'
}

@test "ntlm: a type 2 challenge that is garbage or truncated: 76, a clear error, the exchange cancelled" {
  for mode in garbage truncated ; do
    s=$(scenario "$mode" "ntlm-domain EXAMPLEDOM" "ntlm-challenge $mode")
    authfp_start "$s"
    f=$(fp_rc rc "password $PW" "ntlmdomain EXAMPLEDOM")
    run auth_login "$f" -d
    assert_failure 76
    assert_line "auth-test: authentication failed (method NTLM): the server's challenge is not an NTLM type 2 message"
    assert_line '--> *'
    assert_line '<-- -ERR authentication cancelled'
    authfp_stop
    run authfp_auth_event
    assert_output --partial '"why": "cancelled by client"'
  done
}

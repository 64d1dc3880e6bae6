#!/usr/bin/env bats
# GSSAPI (Kerberos 5) against a real server: a private MIT KDC (realm
# TEST.MPOP on 127.0.0.1, tests/lib/krb5.bash) and a private Dovecot with
# its GSSAPI mechanism (Debian dovecot-gssapi), keytab for pop/localhost.
# The client's service principal is pop/HOST with HOST from `host`, so the
# accounts use "host localhost". The packages come with make check's deps
# step; run alone, the file installs them (as root) or skips.

load lib/common
load lib/dovecot
load lib/krb5
load lib/auth

JOEPW='joe-krb5-Pw'

_gss_ready () {
  krb5_available && [ -e /usr/lib/dovecot/modules/auth/libmech_gssapi.so ]
}

setup_file () {
  export GSS_DIR="$BATS_FILE_TMPDIR"
  if ! _gss_ready ; then
    "$TESTS_DIR/../package/deps-install" test >/dev/null 2>&1 || true
    if ! _gss_ready ; then
      export GSS_SKIP="MIT Kerberos (krb5-kdc krb5-admin-server krb5-user) or dovecot-gssapi missing and not installable"
      return 0
    fi
  fi
  export GSS_SKIP=''
  krb5_start "$GSS_DIR/krb5" >&3 2>&3
  krb5_user joe "$JOEPW"
  krb5_service pop/localhost "$GSS_DIR/pop.keytab"
  # Dovecot clears its children's environment: KRB5_CONFIG must be imported
  dovecot_start "$GSS_DIR/dc" --no-ssl --mechs gssapi \
    --conf "auth_krb5_keytab = $GSS_DIR/pop.keytab" --conf "auth_gssapi_hostname = localhost" \
    --conf "import_environment = TZ KRB5_CONFIG" --conf "auth_username_format = %Ln" >&3 2>&3
  dovecot_user joe unused-password
  dovecot_add_generated joe 3 7 small >/dev/null
  export GSS_PORT="$DOVECOT_PORT"
}

teardown_file () {
  dovecot_stop "$GSS_DIR/dc"
  krb5_stop "$GSS_DIR/krb5"
}

setup () {
  common_setup
  [ -z "$GSS_SKIP" ] || skip "$GSS_SKIP"
  # each test has its own credentials cache
  export KRB5CCNAME="FILE:$T/cc"
  # under SANITIZE=1: full stacks, so that LeakSanitizer sees the
  # libgssglue leak tests/lsan.supp names (the default fast unwinder stops
  # in libgssapi_krb5, which has no frame pointers)
  export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}fast_unwind_on_malloc=0"
}

gss_rc () { # NAME [rc lines]: account default on localhost, user joe, auth gssapi, no password
  local name="$1" ; shift
  { printf 'account default\nhost localhost\nport %s\ntls off\nuser joe\nauth gssapi\n' "$GSS_PORT"
    [ $# -gt 0 ] && printf '%s\n' "$@" ; } | rc "$name"
}

@test "gssapi: with a ticket logs in to Dovecot, no password; pop3fetch retrieves the mail" {
  krb5_kinit joe "$JOEPW"
  f=$(gss_rc rc)
  run auth_login "$f" -d
  assert_success
  assert_line --index 0 --regexp '^<-- \+OK Dovecot'
  assert_line '--> AUTH GSSAPI'
  assert_line '<-- +OK Logged in.'
  assert_line gssapi
  run dovecot_log
  assert_output --partial 'user=<joe>, method=GSSAPI'
  # the whole program: UIDL, RETR, delivery
  mkdir -p "$T/md/new" "$T/md/cur" "$T/md/tmp"
  f=$(gss_rc rc2 "uidls_file $T/uidls" "delivery maildir $T/md")
  run timeout 60 "$BIN/rcparse" -C "$f" default "$BIN/pop3fetch" -q "$BIN/mdeliver"
  assert_success
  [ "$(find "$T/md/new" -type f | wc -l)" = 3 ]
  run /usr/bin/python3 "$TESTS_DIR/lib/compare-maildir.py" "$(dovecot_orig_dir joe)" "$T/md" --strip-received
  assert_success
}

@test "gssapi: without a ticket (no or empty credentials cache) fails with 69 before AUTH, no crash" {
  f=$(gss_rc rc)
  for cc in "$T/none" "$T/empty" ; do
    : > "$T/empty"
    run env KRB5CCNAME="FILE:$cc" "$BIN/rcparse" -C "$f" -S default "$TESTBIN/auth-test" login -d
    assert_failure 69
    assert_line --partial 'auth-test: authentication failed (method GSSAPI): GSSAPI error in client'
    assert_line --partial 'is there a valid Kerberos ticket? see klist(1); does the KDC know the service principal pop/localhost?'
    refute_output --partial '--> AUTH'
  done
  # the same through pop3fetch: its own message, same status
  f=$(gss_rc rc2 "uidls_file $T/uidls" "delivery maildir $T/md")
  run timeout 60 "$BIN/rcparse" -C "$f" default "$BIN/pop3fetch" -q "$BIN/mdeliver"
  assert_failure 69
  assert_output --partial 'pop3fetch: authentication failed (method GSSAPI)'
}

@test "gssapi: a service principal the KDC does not know (host 127.0.0.1: pop/127.0.0.1) fails with 69" {
  krb5_kinit joe "$JOEPW"
  f=$(auth_rc rc "$GSS_PORT" "tls off" "user joe" "auth gssapi")
  run auth_login "$f" -d
  assert_failure 69
  assert_line --partial 'does the KDC know the service principal pop/127.0.0.1?'
  refute_output --partial '--> AUTH'
  run cat "$KRB5_DIR/kdc.log"
  assert_output --partial 'pop/127.0.0.1@TEST.MPOP'
}

# Last: it changes the service key, and Dovecot delays logins after a failure.
@test "gssapi: the server cannot accept the ticket (its keytab has an old key): 77 with the server's message" {
  krb5_kinit joe "$JOEPW"
  # a new key for pop/localhost in the KDC; Dovecot keeps the old keytab
  _krb5_kadmin "ktadd -k $T/new.keytab pop/localhost"
  f=$(gss_rc rc)
  run auth_login "$f" -d
  assert_failure 77
  assert_line '--> AUTH GSSAPI'
  assert_line 'auth-test: authentication failed (method GSSAPI)'
  assert_line --regexp '^auth-test: POP3 server message: -ERR '
}

#!/usr/bin/env bats
# Automatic choice of the authentication method (auth on): mpop 1.4.23's
# order without the -PLUS methods. With TLS: SCRAM-SHA-256, SCRAM-SHA-1,
# PLAIN, APOP, USER (always assumed), CRAM-MD5, DIGEST-MD5, LOGIN, NTLM;
# without TLS only SCRAM-SHA-256 and SCRAM-SHA-1, else 69. GSSAPI,
# EXTERNAL, OAUTHBEARER and XOAUTH2 only when named.

load lib/common
load lib/auth

setup () { common_setup ; }
teardown () { authfp_stop ; }

# choose TLS CAPA-LINES APOP: runs one session against faultpop offering
# CAPA-LINES ("|"-separated CAPA lines, "-" for no CAPA command), with an
# APOP timestamp when APOP is "apop", under implicit TLS when TLS is
# "tls"; prints the method the client started with (the first AUTH, USER
# or APOP command of its trace), or "exit N" and the error when it gave up
# before sending one
choose () {
  local tls="$1" capa="$2" apop="$3" s="$T/choice.scn" line r
  {
    [ "$apop" = apop ] && echo "apop on"
    if [ "$capa" = - ] ; then echo "capa-command off"
    else printf '%s\n' "$capa" | tr '|' '\n' | sed 's/^/capa /'
    fi
    [ "$tls" = tls ] && echo "implicit-tls on"
  } > "$s"
  if [ "$tls" = tls ] ; then
    pki_make "$AUTH_PKI" || return 1
    authfp_start "$s" --tls-cert "$AUTH_PKI/server.pem" --tls-key "$AUTH_PKI/server.key" || return 1
    f=$(auth_rc rc "$AUTHFP_PORT" "user u" "password p" "tls on" "tls_starttls off" "tls_trust_file $AUTH_PKI/ca.pem")
  else
    authfp_start "$s" || return 1
    f=$(auth_rc rc "$AUTHFP_PORT" "user u" "password p" "tls off")
  fi
  auth_login "$f" -d > "$T/out" 2>&1
  r=$?
  authfp_stop
  line=$(sed -n 's/^--> \(AUTH [A-Z0-9-]*\|USER\|APOP\).*/\1/p' "$T/out" | head -n 1)
  if [ -n "$line" ] ; then printf '%s\n' "$line" ; else printf 'exit %s\n' "$r" ; grep '^auth-test:' "$T/out" ; fi
}

table () { # lines "TLS ; CAPA-LINES ; APOP ; EXPECTED"
  local tls capa apop want got bad=0
  while IFS=';' read -r tls capa apop want ; do
    [ -n "$tls" ] || continue
    tls=$(echo $tls) ; capa=$(echo $capa) ; apop=$(echo $apop) ; want=$(echo $want)
    got=$(choose "$tls" "$capa" "$apop" | head -n 1)
    if [ "$got" != "$want" ] ; then
      echo "offers [$capa] $apop with $tls: got [$got], want [$want]"
      bad=1
    fi
  done
  return $bad
}

@test "choice with TLS: the first offered of SCRAM-SHA-256, SCRAM-SHA-1, PLAIN, APOP, USER" {
  table <<'EOF'
tls   ; USER|SASL SCRAM-SHA-256 SCRAM-SHA-1 PLAIN LOGIN ; apop ; AUTH SCRAM-SHA-256
tls   ; USER|SASL PLAIN SCRAM-SHA-1 CRAM-MD5            ; apop ; AUTH SCRAM-SHA-1
tls   ; USER|SASL LOGIN PLAIN CRAM-MD5                  ; apop ; AUTH PLAIN
tls   ; USER|SASL LOGIN CRAM-MD5 DIGEST-MD5             ; apop ; APOP
tls   ; USER|SASL LOGIN CRAM-MD5 DIGEST-MD5 NTLM        ; no   ; USER
tls   ; SASL CRAM-MD5 LOGIN                             ; no   ; USER
tls   ; -                                               ; no   ; USER
tls   ; -                                               ; apop ; APOP
EOF
}

@test "choice with TLS: -PLUS, GSSAPI, EXTERNAL, OAUTHBEARER, XOAUTH2 are never chosen" {
  table <<'EOF'
tls   ; USER|SASL SCRAM-SHA-256-PLUS SCRAM-SHA-1-PLUS GSSAPI EXTERNAL OAUTHBEARER XOAUTH2 ; no ; USER
tls   ; SASL SCRAM-SHA-256-PLUS SCRAM-SHA-1 XOAUTH2     ; no   ; AUTH SCRAM-SHA-1
EOF
}

@test "choice without TLS: SCRAM-SHA-256, then SCRAM-SHA-1, and nothing else" {
  table <<'EOF'
clear ; USER|SASL PLAIN SCRAM-SHA-1 SCRAM-SHA-256       ; apop ; AUTH SCRAM-SHA-256
clear ; USER|SASL PLAIN SCRAM-SHA-1                     ; apop ; AUTH SCRAM-SHA-1
clear ; USER|SASL PLAIN LOGIN CRAM-MD5 DIGEST-MD5 NTLM  ; apop ; exit 69
clear ; SASL SCRAM-SHA-256-PLUS GSSAPI EXTERNAL XOAUTH2 OAUTHBEARER ; no ; exit 69
clear ; -                                               ; apop ; exit 69
EOF
}

@test "choice without TLS: the 69 explains that no method protects the password and how to choose" {
  run choose clear "USER|SASL PLAIN CRAM-MD5" apop
  assert_line --index 0 'exit 69'
  assert_line --index 1 'auth-test: cannot use a secure authentication method: without TLS only SCRAM-SHA-256 and SCRAM-SHA-1 protect the password, and the server offers neither (use tls on, or choose a method with auth METHOD, e.g. auth user, to send the password unprotected)'
}

@test "choice: an explicit method is used as asked, also without TLS" {
  s="$T/x.scn"
  printf 'sasl PLAIN LOGIN CRAM-MD5\napop on\n' > "$s"
  authfp_start "$s" --sessions 4
  for m in user apop plain login ; do
    f=$(auth_rc rc "$AUTHFP_PORT" "user u" "password p" "tls off" "auth $m")
    run auth_login "$f"
    assert_success
    assert_output "$m"
  done
}

@test "choice: a stream secured by a helper (-U) counts as TLS; a plain one (-u) does not" {
  printf 'capa USER\ncapa SASL LOGIN PLAIN\n' > "$T/u.scn"
  authfp_start "$T/u.scn" --sessions 2
  f=$(auth_rc rc 1 "user u" "password p" "tls off")
  run bash -c 'exec 6<>/dev/tcp/127.0.0.1/'"$AUTHFP_PORT"' 7>&6 ; exec "$1" -S -C "$2" default "$3" login -U -d' - "$BIN/rcparse" "$f" "$TESTBIN/auth-test"
  assert_success
  assert_line '--> AUTH PLAIN ********'
  run bash -c 'exec 6<>/dev/tcp/127.0.0.1/'"$AUTHFP_PORT"' 7>&6 ; exec "$1" -S -C "$2" default "$3" login -u' - "$BIN/rcparse" "$f" "$TESTBIN/auth-test"
  assert_failure 69
  assert_output --partial 'cannot use a secure authentication method'
}

# tests/lib/krb5.bash: a private, throwaway MIT Kerberos realm for the
# tests. Source it (bats: `load lib/krb5`).
#
#   krb5_available
#       true when the MIT programs are installed (krb5kdc, kdb5_util,
#       kadmin.local from krb5-kdc/krb5-admin-server, kinit and klist from
#       krb5-user).
#
#   krb5_start DIR
#       Creates realm TEST.MPOP under DIR and starts its KDC (krb5kdc -n) as
#       a background child of the calling shell, listening on 127.0.0.1 on a
#       free port (TCP; UDP on the same port), and waits (bounded, 10 s)
#       until it accepts connections. Exports:
#         KRB5_CONFIG       DIR/krb5.conf (client side: realm, KDC address,
#                           no DNS, no reverse lookups: "localhost" stays
#                           "localhost" in service principal names)
#         KRB5_KDC_PROFILE  DIR/kdc.conf
#         KRB5CCNAME        FILE:DIR/cc (empty until krb5_kinit)
#         KRB5_REALM        TEST.MPOP
#         KRB5_DIR          DIR (absolute), KRB5_PORT, KRB5_PID
#       The database (DIR/principal, stash DIR/stash) has a throw-away
#       master password. Returns 1 (and prints the KDC's log) on failure.
#
#   krb5_stop [DIR]
#       SIGTERMs the KDC (SIGKILL after 2 s), reaps it. Safe to call twice.
#
#   krb5_user NAME PASSWORD        adds principal NAME@TEST.MPOP
#   krb5_service PRINC KEYTAB      adds PRINC@TEST.MPOP with a random key and
#                                  writes its keys to KEYTAB
#   krb5_kinit NAME PASSWORD       gets a TGT for NAME into $KRB5CCNAME
#                                  (password on stdin, bounded by timeout)
#
# Everything lives under DIR: krb5.conf kdc.conf principal* stash kadm5.acl
# kdc.log kdc.out kdc.pid cc. Nothing reads or writes /etc/krb5*.

KRB5_LIB_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

_krb5_py () {
  if [ -x /usr/bin/python3 ] ; then /usr/bin/python3 "$@" ; else python3 "$@" ; fi
}

_krb5_sbin () { # NAME: path of an MIT admin program (in /usr/sbin, often not in PATH)
  if command -v "$1" >/dev/null 2>&1 ; then command -v "$1" ; elif [ -x "/usr/sbin/$1" ] ; then echo "/usr/sbin/$1" ; else return 1 ; fi
}

krb5_available () {
  local p
  for p in krb5kdc kdb5_util kadmin.local ; do _krb5_sbin "$p" >/dev/null || return 1 ; done
  command -v kinit >/dev/null 2>&1 && command -v klist >/dev/null 2>&1
}

_krb5_write_conf () { # DIR PORT
  local d="$1" port="$2"
  cat > "$d/krb5.conf" <<EOF
# private test realm written by tests/lib/krb5.bash
[libdefaults]
  default_realm = TEST.MPOP
  dns_lookup_kdc = false
  dns_lookup_realm = false
  dns_canonicalize_hostname = false
  rdns = false
  udp_preference_limit = 1
  ignore_acceptor_hostname = false
  default_ccache_name = FILE:$d/cc
[realms]
  TEST.MPOP = {
    kdc = 127.0.0.1:$port
  }
[domain_realm]
  localhost = TEST.MPOP
EOF
  cat > "$d/kdc.conf" <<EOF
[kdcdefaults]
  kdc_listen = 127.0.0.1:$port
  kdc_tcp_listen = 127.0.0.1:$port
[realms]
  TEST.MPOP = {
    database_name = $d/principal
    key_stash_file = $d/stash
    acl_file = $d/kadm5.acl
    max_life = 1h
  }
[logging]
  kdc = FILE:$d/kdc.log
  default = FILE:$d/kdc.log
EOF
  : > "$d/kadm5.acl"
}

krb5_start () {
  local d="${1:?usage: krb5_start DIR}" try port pid pdeath=''
  mkdir -p "$d" && d=$(cd "$d" && pwd) || return 1
  export KRB5_CONFIG="$d/krb5.conf" KRB5_KDC_PROFILE="$d/kdc.conf" KRB5CCNAME="FILE:$d/cc"
  export KRB5_REALM=TEST.MPOP KRB5_DIR="$d"
  if setpriv --pdeathsig TERM true 2>/dev/null ; then pdeath='setpriv --pdeathsig TERM' ; fi
  for try in 1 2 3 ; do
    port=$(_krb5_py "$KRB5_LIB_DIR/nettool.py" freeports 1) || return 1
    rm -f "$d"/principal* "$d/stash"
    _krb5_write_conf "$d" "$port" || return 1
    # the master password only protects the stash of this throw-away realm
    "$(_krb5_sbin kdb5_util)" -r TEST.MPOP create -s -P throw-away-master >"$d/kdb.out" 2>&1 </dev/null ||
      { cat "$d/kdb.out" >&2 ; return 1 ; }
    : > "$d/kdc.log"
    $pdeath "$(_krb5_sbin krb5kdc)" -n -r TEST.MPOP </dev/null >"$d/kdc.out" 2>&1 3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&- &
    pid=$!
    printf '%s\n' "$pid" > "$d/kdc.pid"
    if _krb5_py "$KRB5_LIB_DIR/nettool.py" wait --timeout 10 --pid "$pid" "$port" ; then
      export KRB5_PORT="$port" KRB5_PID="$pid"
      return 0
    fi
    krb5_stop "$d"
    grep -qi 'address already in use' "$d/kdc.log" "$d/kdc.out" 2>/dev/null || break
  done
  { echo "krb5_start: the KDC did not start" ; cat "$d/kdc.out" "$d/kdc.log" ; } >&2
  return 1
}

krb5_stop () {
  local d="${1:-${KRB5_DIR:-}}" pid i
  [ -n "$d" ] && [ -e "$d/kdc.pid" ] || return 0
  pid=$(cat "$d/kdc.pid")
  if [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null ; then
    for i in $(seq 1 100) ; do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.02
    done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
  rm -f "$d/kdc.pid"
}

_krb5_kadmin () { # QUERY
  "$(_krb5_sbin kadmin.local)" -r TEST.MPOP -q "$1" </dev/null >"$KRB5_DIR/kadmin.out" 2>&1 &&
    ! grep -qiE 'error|cannot|unknown|not found' "$KRB5_DIR/kadmin.out" ||
    { cat "$KRB5_DIR/kadmin.out" >&2 ; return 1 ; }
}

krb5_user () {
  _krb5_kadmin "addprinc -pw ${2:?usage: krb5_user NAME PASSWORD} ${1:?usage: krb5_user NAME PASSWORD}"
}

krb5_service () {
  local p="${1:?usage: krb5_service PRINC KEYTAB}" kt="${2:?usage: krb5_service PRINC KEYTAB}"
  _krb5_kadmin "addprinc -randkey $p" && _krb5_kadmin "ktadd -k $kt $p"
}

krb5_kinit () {
  local name="${1:?usage: krb5_kinit NAME PASSWORD}" pw="${2?usage: krb5_kinit NAME PASSWORD}"
  printf '%s\n' "$pw" | timeout 10 kinit "$name@TEST.MPOP" >"$KRB5_DIR/kinit.out" 2>&1 ||
    { cat "$KRB5_DIR/kinit.out" >&2 ; return 1 ; }
}

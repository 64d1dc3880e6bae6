# tests/lib/pki.bash: a throwaway PKI for the TLS tests (openssl 3.0).
#
#   source tests/lib/pki.bash
#   pki_make DIR        build the PKI in DIR once (cached: a second call, also
#                       from another process, returns at once); prints nothing
#                       on success, openssl's output on stderr on failure.
#   pki_default_dir     prints a per-run cache directory for pki_make
#                       ($BATS_RUN_TMPDIR/pki under bats, else $TMPDIR/...)
#   pki_fingerprint FILE [sha256|sha1|md5]
#                       prints the fingerprint of a certificate as users paste
#                       it (openssl's value after '=', AA:BB:...)
#
# Keys are EC P-256 unless the name says "rsa" (RSA 2048). Keys are unencrypted
# PKCS#8 PEM ("BEGIN PRIVATE KEY"); the client keys also come in the
# traditional form (*-trad.key: "BEGIN EC PRIVATE KEY"/"BEGIN RSA PRIVATE KEY").
# Dates are fixed so that the PKI does not depend on the clock: the CAs are
# valid 2000-01-01 .. 2099-12-31; valid leaves 2000-01-01 .. 2098-12-31.
# Every server leaf has CN=localhost and subjectAltName DNS:localhost,
# IP:127.0.0.1, IP:::1, extendedKeyUsage serverAuth, unless said otherwise.
#
# Files produced in DIR:
#   ca.pem ca.key           test CA "mpop test CA" (EC); the trust anchor
#   ca2.pem ca2.key         an unrelated CA "mpop other CA" (EC): "unknown CA"
#   cas.pem                 ca.pem + ca2.pem (a bundle with two anchors)
#   int.pem int.key         intermediate CA "mpop test intermediate" signed by ca
#   server.pem server.key   valid EC server leaf signed by ca   (= server-ec.*)
#   server-ec.pem .key      symlinks to server.pem / server.key
#   server-rsa.pem .key     valid RSA 2048 server leaf signed by ca
#   server-expired.pem .key valid 2020-01-01 .. 2021-01-01 (expired), by ca
#   server-notyet.pem .key  valid 2090-01-01 .. 2095-01-01 (not yet valid), by ca
#   server-wronghost.pem .key  CN/SAN DNS:wrong.example only, by ca
#   server-revoked.pem .key valid dates, by ca, revoked in crl-revoked.*
#   server-ca2.pem .key     valid leaf for localhost, but signed by ca2
#   server-int.pem .key     valid leaf for localhost signed by int (not by ca)
#   server-int-chain.pem    server-int.pem followed by int.pem (what a server
#                           sends so that a client trusting ca.pem can verify)
#   server-selfsigned.pem .key  self-signed leaf for localhost (no CA)
#   client-ec.pem .key      client leaf (extendedKeyUsage clientAuth, CN=mpop
#                           test client), EC, signed by ca; client-ec-trad.key
#   client-rsa.pem .key     the same with an RSA 2048 key; client-rsa-trad.key
#   client-mismatch.pem .key  a client certificate (copy of client-ec.pem) and
#                           a key that does NOT belong to it
#   crl-empty.pem .der      CRL by ca, nothing revoked, next update 2099
#   crl-revoked.pem .der    CRL by ca listing server-revoked.pem, next 2099
#   crl-expired.pem .der    CRL by ca listing server-revoked.pem, lastUpdate
#                           2020-01-01, nextUpdate 2020-02-01 (expired)
#   ca-crl-revoked.pem      ca.pem followed by crl-revoked.pem (for tools that
#                           want anchors and CRLs in one file)
#   For every leaf X.pem above (server*, client-ec, client-rsa):
#   X.sha256 X.sha1 X.md5   its fingerprint, one line, "AA:BB:..." (the value
#                           printed by `openssl x509 -noout -fingerprint -sha256`
#                           after the '=')
#   serials.txt             "name serial-in-hex" for each certificate issued
#   work/                   openssl ca databases and configs (internal)
#   .done                   marks a complete PKI (the cache key)

PKI_LIB_FILE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/pki.bash"

pki_default_dir () {
  if [ -n "${BATS_RUN_TMPDIR:-}" ] ; then
    printf '%s\n' "$BATS_RUN_TMPDIR/pki"
  else
    printf '%s\n' "${TMPDIR:-/tmp}/mpop-test-pki.$(id -u)"
  fi
}

pki_fingerprint () {
  local out
  out=$(openssl x509 -noout -fingerprint "-${2:-sha256}" -in "$1") || return 1
  printf '%s\n' "${out#*=}"
}

# _pki_run CMD...: run openssl quietly; on failure show its output.
_pki_run () {
  local out
  if ! out=$("$@" 2>&1) ; then
    printf 'pki: command failed: %s\n%s\n' "$*" "$out" >&2
    return 1
  fi
}

_pki_key () { # _pki_key FILE ec|rsa
  if [ "$2" = rsa ] ; then
    _pki_run openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1"
  else
    _pki_run openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1"
  fi
}

# _pki_ca_init WORKDIR NAME: an openssl ca database
_pki_ca_init () { # _pki_ca_init WORKDIR NAME FIRST-SERIAL
  local w="$1/$2"
  mkdir -p "$w/newcerts" || return 1
  : > "$w/index.txt"
  printf 'unique_subject = no\n' > "$w/index.txt.attr"
  printf '%s\n' "$3" > "$w/serial"
  printf '%s\n' "$3" > "$w/crlnumber"
  cat > "$w/openssl.cnf" <<EOF
[ ca ]
default_ca = this_ca
[ this_ca ]
dir = $w
database = \$dir/index.txt
new_certs_dir = \$dir/newcerts
serial = \$dir/serial
crlnumber = \$dir/crlnumber
default_md = sha256
default_crl_days = 30
policy = policy_any
unique_subject = no
email_in_dn = no
[ policy_any ]
organizationName = optional
commonName = supplied
[ req ]
distinguished_name = req_dn
prompt = no
[ req_dn ]
CN = unused
[ crl_ext ]
authorityKeyIdentifier = keyid:always
EOF
}

# _pki_issue DIR CA NAME KEYTYPE SUBJ EXTFILE START END [selfsign]
# CA is ca, ca2 or int (key DIR/CA.key, cert DIR/CA.pem, db DIR/work/CA).
_pki_issue () {
  local d="$1" ca="$2" name="$3" kt="$4" subj="$5" ext="$6" start="$7" end="$8" self="${9:-}"
  local w="$d/work/$ca" serial
  serial=$(cat "$w/serial")
  [ -e "$d/$name.key" ] || _pki_key "$d/$name.key" "$kt" || return 1
  _pki_run openssl req -new -config "$w/openssl.cnf" -key "$d/$name.key" -subj "$subj" \
    -out "$d/work/$name.csr" || return 1
  if [ -n "$self" ] ; then
    _pki_run openssl ca -batch -notext -config "$w/openssl.cnf" -selfsign \
      -keyfile "$d/$name.key" -in "$d/work/$name.csr" -out "$d/$name.pem" \
      -startdate "$start" -enddate "$end" -extfile "$ext" || return 1
  else
    _pki_run openssl ca -batch -notext -config "$w/openssl.cnf" \
      -cert "$d/$ca.pem" -keyfile "$d/$ca.key" -in "$d/work/$name.csr" -out "$d/$name.pem" \
      -startdate "$start" -enddate "$end" -extfile "$ext" || return 1
  fi
  printf '%s %s\n' "$name" "$serial" >> "$d/serials.txt"
}

_pki_gencrl () { # _pki_gencrl DIR NAME LAST NEXT
  local d="$1" w="$1/work/ca"
  _pki_run openssl ca -batch -config "$w/openssl.cnf" -gencrl -cert "$d/ca.pem" -keyfile "$d/ca.key" \
    -crlexts crl_ext -crl_lastupdate "$3" -crl_nextupdate "$4" -out "$d/$2.pem" || return 1
  _pki_run openssl crl -in "$d/$2.pem" -outform DER -out "$d/$2.der"
}

_pki_build () {
  local d="$1" w="$1/work"
  local A=20000101000000Z Z=20991231235959Z LA=20000101000000Z LZ=20981231235959Z
  local san='subjectAltName = DNS:localhost, IP:127.0.0.1, IP:::1'
  rm -rf "$w" && mkdir -p "$w" || return 1
  : > "$d/serials.txt"
  _pki_ca_init "$w" ca 1000 && _pki_ca_init "$w" ca2 2000 &&
    _pki_ca_init "$w" int 3000 && _pki_ca_init "$w" self 4000 || return 1

  cat > "$w/ext-ca" <<EOF
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
EOF
  cat > "$w/ext-int" <<EOF
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
EOF
  local ku_ec='keyUsage = critical, digitalSignature'
  local ku_rsa='keyUsage = critical, digitalSignature, keyEncipherment'
  _pki_leafext () { # FILE KU EKU SAN
    printf 'basicConstraints = critical, CA:FALSE\n%s\nextendedKeyUsage = %s\nsubjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid:always\n%s\n' \
      "$2" "$3" "$4" > "$1"
  }
  _pki_leafext "$w/ext-srv-ec" "$ku_ec" serverAuth "$san"
  _pki_leafext "$w/ext-srv-rsa" "$ku_rsa" serverAuth "$san"
  _pki_leafext "$w/ext-srv-wrong" "$ku_ec" serverAuth 'subjectAltName = DNS:wrong.example'
  _pki_leafext "$w/ext-cli-ec" "$ku_ec" clientAuth ''
  _pki_leafext "$w/ext-cli-rsa" "$ku_rsa" clientAuth ''
  printf 'basicConstraints = critical, CA:FALSE\n%s\nextendedKeyUsage = serverAuth\nsubjectKeyIdentifier = hash\n%s\n' \
    "$ku_ec" "$san" > "$w/ext-srv-self"

  local S='/O=mpop test/CN=localhost'
  _pki_issue "$d" ca ca ec '/O=mpop test/CN=mpop test CA' "$w/ext-ca" "$A" "$Z" self || return 1
  _pki_issue "$d" ca2 ca2 ec '/O=mpop other/CN=mpop other CA' "$w/ext-ca" "$A" "$Z" self || return 1
  _pki_issue "$d" ca int ec '/O=mpop test/CN=mpop test intermediate' "$w/ext-int" "$A" "$Z" || return 1
  _pki_issue "$d" ca server ec "$S" "$w/ext-srv-ec" "$LA" "$LZ" || return 1
  _pki_issue "$d" ca server-rsa rsa "$S" "$w/ext-srv-rsa" "$LA" "$LZ" || return 1
  _pki_issue "$d" ca server-expired ec "$S" "$w/ext-srv-ec" 20200101000000Z 20210101000000Z || return 1
  _pki_issue "$d" ca server-notyet ec "$S" "$w/ext-srv-ec" 20900101000000Z 20950101000000Z || return 1
  _pki_issue "$d" ca server-wronghost ec '/O=mpop test/CN=wrong.example' "$w/ext-srv-wrong" "$LA" "$LZ" || return 1
  _pki_issue "$d" ca server-revoked ec "$S" "$w/ext-srv-ec" "$LA" "$LZ" || return 1
  _pki_issue "$d" ca2 server-ca2 ec "$S" "$w/ext-srv-ec" "$LA" "$LZ" || return 1
  _pki_issue "$d" int server-int ec "$S" "$w/ext-srv-ec" "$LA" "$LZ" || return 1
  _pki_issue "$d" self server-selfsigned ec "$S" "$w/ext-srv-self" "$LA" "$LZ" self || return 1
  _pki_issue "$d" ca client-ec ec '/O=mpop test/CN=mpop test client' "$w/ext-cli-ec" "$LA" "$LZ" || return 1
  _pki_issue "$d" ca client-rsa rsa '/O=mpop test/CN=mpop test client rsa' "$w/ext-cli-rsa" "$LA" "$LZ" || return 1
  unset -f _pki_leafext

  cat "$d/ca.pem" "$d/ca2.pem" > "$d/cas.pem"
  cat "$d/server-int.pem" "$d/int.pem" > "$d/server-int-chain.pem"
  ln -sf server.pem "$d/server-ec.pem"
  ln -sf server.key "$d/server-ec.key"
  _pki_run openssl pkey -in "$d/client-ec.key" -out "$d/client-ec-trad.key" -traditional || return 1
  _pki_run openssl pkey -in "$d/client-rsa.key" -out "$d/client-rsa-trad.key" -traditional || return 1
  cp "$d/client-ec.pem" "$d/client-mismatch.pem"
  _pki_key "$d/client-mismatch.key" ec || return 1

  # CRLs: the empty one before the revocation, then revoke, then the others.
  _pki_gencrl "$d" crl-empty 20000101000000Z "$Z" || return 1
  _pki_run openssl ca -batch -config "$w/ca/openssl.cnf" -cert "$d/ca.pem" -keyfile "$d/ca.key" \
    -revoke "$d/server-revoked.pem" -crl_reason keyCompromise || return 1
  _pki_gencrl "$d" crl-revoked 20000101000000Z "$Z" || return 1
  _pki_gencrl "$d" crl-expired 20200101000000Z 20200201000000Z || return 1
  cat "$d/ca.pem" "$d/crl-revoked.pem" > "$d/ca-crl-revoked.pem"

  local f b h
  for f in "$d"/server*.pem "$d"/client-ec.pem "$d"/client-rsa.pem ; do
    [ -L "$f" ] && continue
    case $f in *-chain.pem) continue ;; esac
    b=${f%.pem}
    # one openssl call per certificate: hash the DER with coreutils
    _pki_run openssl x509 -in "$f" -outform DER -out "$w/fp.der" || return 1
    for h in sha256 sha1 md5 ; do
      "${h}sum" < "$w/fp.der" | sed 's/ .*//; y/abcdef/ABCDEF/; s/../&:/g; s/:$//' > "$b.$h" || return 1
    done
  done
  for h in sha256 sha1 md5 ; do ln -sf server.$h "$d/server-ec.$h" ; done
  chmod 600 "$d"/*.key
}

pki_make () {
  local d="${1:?usage: pki_make DIR}" fd rc
  mkdir -p "$d" || return 1
  [ -e "$d/.done" ] && return 0
  exec {fd}>"$d/.lock" || return 1
  flock "$fd"
  if [ -e "$d/.done" ] ; then
    rc=0
  elif PKI_LIB_FILE="$PKI_LIB_FILE" bash -c '. "$PKI_LIB_FILE" && _pki_build "$1"' pki_build "$d" ; then
    # (in a child shell: bats' per-command debug trap would triple the time)
    touch "$d/.done" ; rc=0
  else
    echo "pki_make: building the PKI in $d failed" >&2 ; rc=1
  fi
  exec {fd}>&-
  return $rc
}

#!/usr/bin/env bats
# Configuration and command-line errors: exact text and exit code, compared
# with Debian's mpop 1.4.18 where it is right. Nothing may run after an error:
# the only output is the error itself.

load lib/common
load lib/parity

setup () { common_setup ; }

account_with () {
  { echo "account default" ; echo "host h" ; echo "delivery mbox /tmp/x" ; printf '%s\n' "$@" ; } > "$T/r"
  chmod 600 "$T/r"
}

@test "error: missing rc file (74)" {
  parity -C "$T/nonexistent"
  assert_equal "$(cat "$T/our.rc")" 74
}

@test "error: missing default rc file names ~/.mpoprc (74)" {
  parity
  assert_equal "$(cat "$T/our.rc")" 74
}

@test "error: rc file is a directory (74)" {
  mkdir "$T/d"
  parity -C "$T/d" -P
  assert_equal "$(cat "$T/our.rc")" 74
}

@test "error: password in a file with mode 0644 (78)" {
  account_with "password secret"
  chmod 644 "$T/r"
  parity -C "$T/r" -P
  assert_equal "$(cat "$T/our.rc")" 78
}

@test "error: password in a file with mode 0700 (78)" {
  account_with "password secret"
  chmod 700 "$T/r"
  parity -C "$T/r" -P
}

@test "error: password in a 0400 file is fine" {
  account_with "password secret"
  chmod 400 "$T/r"
  parity -C "$T/r" -P
  assert_equal "$(cat "$T/our.rc")" 0
}

@test "error: unknown command (78)" {
  account_with "hots h"
  parity -C "$T/r" -P
  assert_equal "$(cat "$T/our.rc")" 78
}

@test "error: commands are case-sensitive (78)" {
  account_with "HOST h"
  parity -C "$T/r" -P
}

@test "error: command before any account or defaults (78)" {
  printf 'host h\naccount default\n' > "$T/r"
  parity -C "$T/r" -P
  assert_equal "$(cat "$T/our.rc")" 78
}

@test "error: missing argument (78)" {
  for cmd in host port timeout uidls_file killsize skipsize delivery ; do
    account_with "$cmd"
    parity -C "$T/r" -P || return 1
    assert_equal "$(cat "$T/our.rc")" 78
  done
}

@test "error: on/off misspelt (78)" {
  for line in "tls yes" "keep On" "only_new 1" "tls_certcheck OFF" "received_header no" "pipelining maybe" ; do
    account_with "$line"
    parity -C "$T/r" -P || return 1
    assert_equal "$(cat "$T/our.rc")" 78
  done
}

@test "error: bad ports (78)" {
  for p in 0 70000 abc 0995 -1 "" ; do
    account_with "port $p"
    parity -C "$T/r" -P || return 1
    assert_equal "$(cat "$T/our.rc")" 78
  done
}

@test "error: bad timeouts (78)" {
  for t in 0 -1 abc 10s ; do
    account_with "timeout $t"
    parity -C "$T/r" -P || return 1
    assert_equal "$(cat "$T/our.rc")" 78
  done
}

@test "error: bad sizes (78)" {
  for s in 12x 1M -1 1kk k ; do
    account_with "killsize $s"
    parity -C "$T/r" -P || return 1
    account_with "skipsize $s"
    parity -C "$T/r" -P || return 1
  done
}

@test "error: unknown auth method (78)" {
  for m in off PLAIN kerberos scram ; do
    account_with "auth $m"
    parity -C "$T/r" -P || return 1
    assert_equal "$(cat "$T/our.rc")" 78
  done
}

@test "error: malformed tls_fingerprint (78)" {
  for fp in "AA:BB" "zz:bb:cc:dd:ee:ff:00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd" "aabbccddeeff00112233445566778899aabbccdd" "aa-bb-cc-dd-ee-ff-00-11-22-33-44-55-66-77-88-99-aa-bb-cc-dd" ; do
    account_with "tls_fingerprint $fp"
    parity -C "$T/r" -P || return 1
    assert_equal "$(cat "$T/our.rc")" 78
  done
}

@test "error: unknown or incomplete delivery method (78)" {
  for d in "pipe /bin/cat" "mbox" "maildir   " "mda" "mbox,/tmp/x" ; do
    { echo "account default" ; echo "host h" ; echo "delivery $d" ; } > "$T/r"
    parity -C "$T/r" -P || return 1
    assert_equal "$(cat "$T/our.rc")" 78
  done
}

@test "error: account a : nosuch (78)" {
  printf 'account a : nosuch\nhost h\n' > "$T/r"
  parity -C "$T/r" -P a
  assert_equal "$(cat "$T/our.rc")" 78
}

@test "error: parent list with an empty name (78)" {
  printf 'account p\nhost h\naccount a : p,\n' > "$T/r"
  parity -C "$T/r" -P a
}

@test "error: account name containing a comma (78)" {
  printf 'account a,b\nhost h\n' > "$T/r"
  parity -C "$T/r" -P
  assert_equal "$(cat "$T/our.rc")" 78
}

@test "error: account defined twice, missing account name (78)" {
  printf 'account a\nhost h\naccount a\n' > "$T/r"
  parity -C "$T/r" -P a
  printf 'account\n' > "$T/r"
  parity -C "$T/r" -P a
  printf 'account  : \n' > "$T/r"
  parity -C "$T/r" -P a
}

@test "error: defaults with an argument (78)" {
  printf 'defaults now\n' > "$T/r"
  parity -C "$T/r" -P
}

@test "error: eval whose command prints nothing (74)" {
  printf 'account default\neval true\nhost h\n' > "$T/r"
  parity -C "$T/r" -P
  assert_equal "$(cat "$T/our.rc")" 74
}

@test "error: eval without argument, eval producing eval (78)" {
  printf 'account default\neval\n' > "$T/r"
  parity -C "$T/r" -P
  printf 'account default\neval echo eval echo host h\n' > "$T/r"
  parity -C "$T/r" -P
}

@test "error: eval producing a bad line reports the eval's line number" {
  printf 'account default\nhost h\neval echo port 99999\n' > "$T/r"
  parity -C "$T/r" -P
}

@test "error: a 10 KB line (78)" {
  { echo "account default" ; printf 'host %010240d\n' 0 ; } > "$T/r"
  parity -C "$T/r" -P
  assert_equal "$(cat "$T/our.rc")" 78
}

@test "error: a 500-character line (78)" {
  { echo "account default" ; printf 'host %0495d\n' 0 ; } > "$T/r"
  parity -C "$T/r" -P
}

@test "error: a NUL byte in the file (78, ours only: mpop reads past it)" {
  printf 'account default\nhost h\0evil\ndelivery mbox /tmp/x\n' > "$T/r"
  expect_error 78 "mpop: $T/r: line 2: contains a NUL byte" -C "$T/r" -P
}

@test "error: passwordeval that prints nothing (78)" {
  account_with "passwordeval true"
  parity -C "$T/r" -P
  assert_equal "$(cat "$T/our.rc")" 78
}

@test "error: unknown long option, unknown short option (64)" {
  parity --bogus
  assert_equal "$(cat "$T/our.rc")" 64
  parity -x
  parity --help=yes
  parity --file
  parity -C
}

@test "error: invalid option values (64)" {
  account_with
  parity -C "$T/r" -P --port=0
  assert_equal "$(cat "$T/our.rc")" 64
  parity -C "$T/r" -P --killsize=12x
  parity -C "$T/r" -P --auth=foo
  parity -C "$T/r" -P --tls=maybe
  parity -C "$T/r" -P --delivery=mbox
  parity -C "$T/r" -P -nmaybe
}

@test "error: -a together with account names (64)" {
  account_with
  parity -C "$T/r" -a default
  assert_equal "$(cat "$T/our.rc")" 64
}

@test "error: --host together with accounts (64)" {
  parity --host=h -P somename
  assert_equal "$(cat "$T/our.rc")" 64
}

@test "error: unknown account name (78)" {
  account_with
  parity -C "$T/r" -P nosuch
  assert_equal "$(cat "$T/our.rc")" 78
}

@test "error: -a with no accounts (78)" {
  printf 'defaults\nhost h\n' > "$T/r"
  parity -C "$T/r" -P -a
}

@test "error: no default account (78)" {
  printf 'account other\nhost h\n' > "$T/r"
  parity -C "$T/r" -P
}

@test "error: account checks (78)" {
  printf 'account default\nuser u\ndelivery mbox /tmp/x\n' > "$T/r"
  parity -C "$T/r" -P
  printf 'account default\nhost h\n' > "$T/r"
  parity -C "$T/r" -P
  printf 'account default\nhost h\ntls_key_file /k\ndelivery mbox /tmp/x\n' > "$T/r"
  parity -C "$T/r" -P
  printf 'account default\nhost h\ntls_cert_file /c\ndelivery mbox /tmp/x\n' > "$T/r"
  parity -C "$T/r" -P
  printf 'account default\nhost h\ntls on\ntls_trust_file\ndelivery mbox /tmp/x\n' > "$T/r"
  parity -C "$T/r" -P
  printf 'account default\nhost h\ntls_trust_file\ntls_crl_file /c\ndelivery mbox /tmp/x\n' > "$T/r"
  parity -C "$T/r" -P
  printf 'account default\ntls on\nsocket /s\ndelivery mbox /tmp/x\n' > "$T/r"
  parity -C "$T/r" -P
  parity --host=h --delivery=mbox,/x --tls --tls-trust-file= -P
}

@test "error: the first failing account stops everything before any network activity" {
  printf 'account a\nhost h\ndelivery mbox /tmp/x\naccount b\nhost h\n' > "$T/r"
  parity -C "$T/r" a b
  assert_equal "$(cat "$T/our.rc")" 78
}

#!/usr/bin/env bats
# rcparse: the environment contract (DESIGN 3.1), -p, -e, -l, -o, -H, -S.

load lib/common

setup () {
  common_setup
  f=$(rc r <<'X'
defaults
timeout 60
account full
host pop.example.org
port 1995
source_ip 127.0.0.1
proxy_host proxy.example
proxy_port 9050
pipelining on
received_header off
auth scram-sha-256
user joe
password it's secret
passwordeval echo never-run
ntlmdomain WORKGROUP
tls on
tls_starttls off
tls_trust_file ~/ca.pem
tls_crl_file ~/crl.pem
tls_fingerprint aa:bb:cc:dd:ee:ff:00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd
tls_key_file ~/key.pem
tls_cert_file ~/cert.pem
tls_certcheck off
tls_min_dh_prime_bits 2048
tls_priorities tls1.2
tls_host_override mail.example.org
delivery maildir ~/Maildir
uidls_file ~/u/%U_at_%H
only_new off
keep 2d
killsize 10k
skipsize 1m
filter /bin/true %F
account small
host h
delivery mbox ~/mbox
account other : small
user sue
X
)
}

@test "rcparse: every rc command becomes exactly one documented variable" {
  run "$BIN/rcparse" -C "$f" full env
  assert_success
  run sh -c "printf '%s\n' \"\$1\" | grep '^MPOP_' | sort" _ "$output"
  assert_output "MPOP_ACCOUNT=full
MPOP_AUTH=scram-sha-256
MPOP_CONFIG_FILE=$f
MPOP_DELIVERY=maildir $HOME/Maildir
MPOP_FILTER=/bin/true %F
MPOP_HOST=pop.example.org
MPOP_KEEP=172800
MPOP_KILLSIZE=10240
MPOP_NTLMDOMAIN=WORKGROUP
MPOP_ONLY_NEW=off
MPOP_PASSWORD=it's secret
MPOP_PASSWORDEVAL=echo never-run
MPOP_PIPELINING=on
MPOP_PORT=1995
MPOP_PROXY_HOST=proxy.example
MPOP_PROXY_PORT=9050
MPOP_RECEIVED_HEADER=off
MPOP_SKIPSIZE=1048576
MPOP_SOURCE_IP=127.0.0.1
MPOP_TIMEOUT=60
MPOP_TLS=on
MPOP_TLS_CERTCHECK=off
MPOP_TLS_CERT_FILE=$HOME/cert.pem
MPOP_TLS_CRL_FILE=$HOME/crl.pem
MPOP_TLS_FINGERPRINT=AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD
MPOP_TLS_HOST_OVERRIDE=mail.example.org
MPOP_TLS_KEY_FILE=$HOME/key.pem
MPOP_TLS_MIN_DH_PRIME_BITS=2048
MPOP_TLS_PRIORITIES=tls1.2
MPOP_TLS_STARTTLS=off
MPOP_TLS_TRUST_FILE=$HOME/ca.pem
MPOP_UIDLS_FILE=$HOME/u/joe_at_pop.example.org
MPOP_USER=joe"
}

@test "rcparse: defaults are filled in, unset settings have no variable" {
  run "$BIN/rcparse" -C "$f" small env
  assert_success
  run sh -c "printf '%s\n' \"\$1\" | grep '^MPOP_' | sort" _ "$output"
  assert_output "MPOP_ACCOUNT=small
MPOP_AUTH=on
MPOP_CONFIG_FILE=$f
MPOP_DELIVERY=mbox $HOME/mbox
MPOP_HOST=h
MPOP_KEEP=off
MPOP_KILLSIZE=off
MPOP_ONLY_NEW=on
MPOP_PIPELINING=auto
MPOP_PORT=110
MPOP_RECEIVED_HEADER=on
MPOP_SKIPSIZE=off
MPOP_TIMEOUT=60
MPOP_TLS=off
MPOP_TLS_CERTCHECK=on
MPOP_TLS_STARTTLS=on
MPOP_TLS_TRUST_FILE=system
MPOP_UIDLS_FILE=$HOME/.mpop_uidls/_at_h"
}

@test "rcparse: inherited MPOP_ variables never leak into the account" {
  MPOP_USER=intruder MPOP_FOO=bar MPOP_PASSWORD=LEAKED-PW-123 run "$BIN/rcparse" -C "$f" small env
  assert_success
  refute_output --partial intruder
  refute_output --partial MPOP_FOO
  refute_output --partial LEAKED-PW-123
}

@test "rcparse: -o overrides, validated like the file" {
  run "$BIN/rcparse" -C "$f" -o keep=1h -o user= -o timeout=off other env
  assert_success
  assert_line MPOP_KEEP=3600
  assert_line MPOP_TIMEOUT=off
  refute_line --partial MPOP_USER=
  run "$BIN/rcparse" -C "$f" -o keep=1x other env
  assert_failure 64
  assert_output "rcparse: invalid argument 1x for command keep"
  run "$BIN/rcparse" -C "$f" -o nosuch=1 other env
  assert_failure 64
}

@test "rcparse: -H host mode reads no file and names no account" {
  run "$BIN/rcparse" -H pop.example.org -o delivery=mbox,/tmp/m -o user=u env
  assert_success
  assert_line MPOP_HOST=pop.example.org
  assert_line "MPOP_DELIVERY=mbox /tmp/m"
  refute_line --partial MPOP_ACCOUNT
  refute_line --partial MPOP_CONFIG_FILE
}

@test "rcparse: -l lists accounts in file order" {
  run "$BIN/rcparse" -C "$f" -l
  assert_success
  assert_output "full
small
other"
}

@test "rcparse: -p prints the same block as mpop --pretend" {
  run "$BIN/rcparse" -C "$f" -p other
  assert_success
  [ "$output" = "$("$BIN/mpop" -C "$f" -P other)" ]
  run "$BIN/rcparse" -C "$f" -S -p other
  [ "$output" = "$("$BIN/mpop" -C "$f" -S -P other)" ]
}

@test "rcparse: -e prints export lines a shell reproduces exactly" {
  MPOP_STALE=1 run "$BIN/rcparse" -C "$f" -e full
  assert_success
  assert_line "unset MPOP_STALE"
  assert_line "export MPOP_PASSWORD='it'\\''s secret'"
  expected=$("$BIN/rcparse" -C "$f" full env | grep '^MPOP_' | sort)
  got=$(MPOP_STALE=1 sh -c "eval \"\$1\" ; env" _ "$output" | grep '^MPOP_' | sort)
  [ "$got" = "$expected" ]
}

@test "rcparse: -S does not require a delivery" {
  g=$(rc g <<'X'
account a
host h
X
)
  run "$BIN/rcparse" -C "$g" a env
  assert_failure 78
  assert_output "rcparse: account a from $g: no delivery information"
  run "$BIN/rcparse" -C "$g" -S a env
  assert_success
}

@test "rcparse: errors exit with sysexits codes and run nothing" {
  run "$BIN/rcparse" -C "$f" nosuch touch "$T/ran"
  assert_failure 78
  assert_output "rcparse: $f: no account nosuch"
  run "$BIN/rcparse" -C "$T/missing" small touch "$T/ran"
  assert_failure 74
  run "$BIN/rcparse" -C "$f"
  assert_failure 64
  run "$BIN/rcparse" -C "$f" small
  assert_failure 64
  [ ! -e "$T/ran" ]
}

@test "rcparse: exec failure is reported" {
  run "$BIN/rcparse" -C "$f" small "$T/no-such-program"
  assert_failure 69
  assert_output "rcparse: cannot execute $T/no-such-program: No such file or directory"
}

#!/usr/bin/env bats
# mpop --configure=ADDRESS: SRV lookup (_pop3s._tcp, then _pop3._tcp), the
# record choice, the printed account, errors and exit codes. The DNS is
# tests/lib/dnsserver.py inside a private network namespace (lib/dnsns).

load lib/common
load lib/dnsns

setup () {
  common_setup
  mkdir -p "$T/kr"
  printf '#!/bin/sh\nexit 1\n' > "$T/kr/secret-tool"
  chmod 755 "$T/kr/secret-tool"
}

# our mpop with a secret-tool in PATH (keyring hint), or with none (gpg hint)
mpop_kr () { in_dnsns env PATH="$T/kr" "$BIN/mpop" "$@" ; }
mpop_gpg () { in_dnsns env PATH=/nonexistent "$BIN/mpop" "$@" ; }

FAILED='mpop: automatic configuration based on SRV records failed'

@test "configure: a _pop3s record gives TLS from the start on its port (gpg hint without secret-tool)" {
  dnsns_require
  dns_zone <<EOF
_pop3s._tcp.example.org SRV 0 1 995 pop.example.org
EOF
  run mpop_gpg --configure=joe@example.org
  assert_success
  assert_output "# - put the lines below into $HOME/.mpoprc
# - keep your password in an encrypted file, written with:
#   gpg -e -o ~/.mpop-password.gpg
# - change the delivery line to where your mail should go
account joe@example.org
host pop.example.org
port 995
tls on
tls_starttls off
user joe
passwordeval gpg --no-tty -q -d ~/.mpop-password.gpg
delivery mbox ~/MAIL"
}

@test "configure: with secret-tool in PATH the hint is a secret-tool store line and there is no passwordeval" {
  dnsns_require
  dns_zone <<EOF
_pop3s._tcp.example.org SRV 0 1 9995 pop.example.org
EOF
  run mpop_kr --configure=joe@example.org
  assert_success
  assert_output "# - put the lines below into $HOME/.mpoprc
# - store your password in the keyring with:
#   secret-tool store --label=mpop host pop.example.org service pop3 user joe
# - change the delivery line to where your mail should go
account joe@example.org
host pop.example.org
port 9995
tls on
tls_starttls off
user joe
delivery mbox ~/MAIL"
}

@test "configure: only a _pop3 record gives STLS (tls_starttls on) on its port" {
  dnsns_require
  dns_zone <<EOF
_pop3._tcp.example.net SRV 5 1 1110 mail.example.net
EOF
  run mpop_gpg --configure=ann@example.net
  assert_success
  assert_line 'host mail.example.net'
  assert_line 'port 1110'
  assert_line 'tls on'
  assert_line 'tls_starttls on'
  assert_line 'user ann'
  run dns_log
  assert_output "_pop3s._tcp.example.net 33
_pop3._tcp.example.net 33"
}

@test "configure: with both records _pop3s wins and _pop3 is not even asked" {
  dnsns_require
  dns_zone <<EOF
_pop3._tcp.example.org SRV 0 1 110 plain.example.org
_pop3s._tcp.example.org SRV 50 1 995 tls.example.org
EOF
  run mpop_gpg --configure=joe@example.org
  assert_success
  assert_line 'host tls.example.org'
  assert_line 'tls_starttls off'
  run dns_log
  assert_output "_pop3s._tcp.example.org 33"
}

@test "configure: a '.' target on _pop3s (no service) falls back to _pop3" {
  dnsns_require
  dns_zone <<EOF
_pop3s._tcp.example.org SRV 0 0 0 .
_pop3._tcp.example.org SRV 0 1 110 pop.example.org
EOF
  run mpop_gpg --configure=joe@example.org
  assert_success
  assert_line 'host pop.example.org'
  assert_line 'port 110'
  assert_line 'tls_starttls on'
}

@test "configure: lowest priority, then highest weight, then the first record; '.' targets are skipped" {
  dnsns_require
  dns_zone <<EOF
_pop3s._tcp.prio.example SRV 20 100 1001 a.prio.example
_pop3s._tcp.prio.example SRV 10 1 1002 b.prio.example
_pop3s._tcp.prio.example SRV 10 50 1003 c.prio.example
_pop3s._tcp.prio.example SRV 10 5 1004 d.prio.example
_pop3s._tcp.tie.example SRV 10 5 1001 first.tie.example
_pop3s._tcp.tie.example SRV 10 5 1002 second.tie.example
_pop3s._tcp.root.example SRV 0 0 0 .
_pop3s._tcp.root.example SRV 7 0 1007 pop.root.example
_pop3s._tcp.zero.example SRV 3 0 1001 a.zero.example
_pop3s._tcp.zero.example SRV 3 0 1002 b.zero.example
_pop3s._tcp.zero.example SRV 3 1 1003 c.zero.example
EOF
  run mpop_gpg --configure=j@prio.example
  assert_success
  assert_line 'host c.prio.example'
  assert_line 'port 1003'
  run mpop_gpg --configure=j@tie.example
  assert_line 'host first.tie.example'
  run mpop_gpg --configure=j@root.example
  assert_line 'host pop.root.example'
  assert_line 'port 1007'
  run mpop_gpg --configure=j@zero.example
  assert_line 'host c.zero.example'
}

@test "configure: a host outside the mail domain gets a warning line; the domain and its subdomains do not" {
  dnsns_require
  dns_zone <<EOF
_pop3s._tcp.other.example SRV 0 1 995 pop.provider.net
_pop3s._tcp.look.example SRV 0 1 995 xlook.example
_pop3s._tcp.apex.example SRV 0 1 995 apex.example
_pop3s._tcp.case.example SRV 0 1 995 POP.Case.EXAMPLE
_pop3s._tcp.deep.example SRV 0 1 995 a.b.deep.example
EOF
  warning='# - warning: the server is not in the domain of the address; make sure it is the right one'
  run mpop_gpg --configure=j@other.example
  assert_success
  assert_line --index 1 "$warning"
  assert_line 'host pop.provider.net'
  run mpop_gpg --configure=j@look.example
  assert_line --index 1 "$warning"
  for d in apex case deep ; do
    run mpop_gpg --configure=j@$d.example
    assert_success
    refute_line "$warning"
  done
  assert_line 'host a.b.deep.example'
  run mpop_gpg --configure=j@case.example
  assert_line 'host POP.Case.EXAMPLE'
}

@test "configure: invalid addresses exit 65 with mpop's message and ask no DNS" {
  dnsns_require
  for a in joe.example.org @example.org joe@ '' @ ; do
    run in_dnsns "$BIN/mpop" --configure="$a"
    assert_failure 65
    assert_output "$FAILED: invalid mail address"
    run dns_log
    assert_output ''
  done
  run in_dnsns "$BIN/mpop" --configure="$(printf 'joe\n@example.org')"
  assert_failure 65
}

@test "configure: the address is split at its last @" {
  dnsns_require
  dns_zone <<EOF
_pop3s._tcp.example.org SRV 0 1 995 pop.example.org
EOF
  run mpop_kr --configure=a@b@example.org
  assert_success
  assert_line 'account a@b@example.org'
  assert_line 'user a@b'
  assert_line '#   secret-tool store --label=mpop host pop.example.org service pop3 user a@b'
}

@test "configure: no usable record exits 68 naming both queries" {
  dnsns_require
  dns_zone <<EOF
_pop3s._tcp.dots.example SRV 0 0 0 .
_pop3._tcp.dots.example SRV 0 0 0 .
_pop3s._tcp.fail.example SERVFAIL
_pop3._tcp.fail.example REFUSED
EOF
  for d in none dots fail ; do
    run in_dnsns "$BIN/mpop" --configure=joe@$d.example
    assert_failure 68
    assert_output "$FAILED: no SRV records for _pop3s._tcp.$d.example or _pop3._tcp.$d.example"
  done
  run dns_log
  assert_output "_pop3s._tcp.fail.example 33
_pop3._tcp.fail.example 33"
}

@test "configure: a server failure on _pop3s still falls back to _pop3" {
  dnsns_require
  dns_zone <<EOF
_pop3s._tcp.example.org SERVFAIL
_pop3._tcp.example.org SRV 0 1 110 pop.example.org
EOF
  run mpop_gpg --configure=joe@example.org
  assert_success
  assert_line 'tls_starttls on'
}

@test "configure: a silent DNS server ends in 68 after the resolver's timeout" {
  dnsns_require
  dns_zone <<EOF
_pop3s._tcp.example.org DROP
_pop3._tcp.example.org DROP
EOF
  run in_dnsns "$BIN/mpop" --configure=joe@example.org
  assert_failure 68
}

@test "configure: an SRV answer behind a CNAME is used" {
  dnsns_require
  dns_zone <<EOF
_pop3s._tcp.example.org CNAME _pop3s._tcp.hosting.example
_pop3s._tcp.hosting.example SRV 1 1 995 pop.hosting.example
EOF
  run mpop_gpg --configure=joe@example.org
  assert_success
  assert_line 'host pop.hosting.example'
}

@test "configure: an answer too big for UDP is fetched again over TCP" {
  dnsns_require
  for i in $(seq 1 40) ; do
    echo "_pop3s._tcp.big.example SRV $((100 - i)) 1 $((2000 + i)) server-number-$i.big.example"
  done | dns_zone
  run mpop_gpg --configure=joe@big.example
  assert_success
  assert_line 'host server-number-40.big.example'
  assert_line 'port 2040'
}

# RAW answer records: owner (pointer to the question), type, class, TTL, rdata
raw_srv () { # CLASS RDATA-HEX
  printf 'c00c0021%04x0000012c%04x%s' "$1" $(( ${#2} / 2 )) "$2"
}

@test "configure: target bytes that are not plain host name characters are printed escaped, never raw" {
  dnsns_require
  # target "a\nb.example" and "a b.example" and "a.b" (a dot inside a label)
  {
    echo "_pop3s._tcp.nl.example RAW 1 $(raw_srv 1 0000000003e303610a62076578616d706c6500)"
    echo "_pop3s._tcp.sp.example RAW 1 $(raw_srv 1 0000000003e303612062076578616d706c6500)"
    echo "_pop3s._tcp.dot.example RAW 1 $(raw_srv 1 0000000003e303612e62076578616d706c6500)"
  } | dns_zone
  run mpop_gpg --configure=joe@nl.example
  assert_success
  assert_line 'host a\010b.example'
  [ "${#lines[@]}" -eq 13 ]
  run mpop_gpg --configure=joe@sp.example
  assert_line 'host a\032b.example'
  run mpop_gpg --configure=joe@dot.example
  assert_line 'host a\.b.example'
}

@test "configure: malformed answers are ignored as a whole" {
  dnsns_require
  {
    # two records announced, one present
    echo "_pop3s._tcp.short.example RAW 2 $(raw_srv 1 0000000003e303706f70076578616d706c6500)"
    # a compression pointer to itself (the target is at offset 60)
    echo "_pop3s._tcp.loop.example RAW 1 $(raw_srv 1 0000000003e3c03c)"
    # rdata shorter than the target in it
    echo "_pop3s._tcp.rdlen.example RAW 1 c00c00210001 0000012c 0008 0000000003e3 03706f70076578616d706c6500"
    # a label longer than the message
    echo "_pop3s._tcp.label.example RAW 1 $(raw_srv 1 0000000003e33f61)"
  } | dns_zone
  for d in short loop rdlen label ; do
    run in_dnsns "$BIN/mpop" --configure=joe@$d.example
    assert_failure 68
  done
}

@test "configure: the header names the -C file as given, else the default configuration file" {
  dnsns_require
  dns_zone <<EOF
_pop3s._tcp.example.org SRV 0 1 995 pop.example.org
EOF
  run mpop_gpg -C some/where.rc --configure=joe@example.org
  assert_success
  assert_line --index 0 '# - put the lines below into some/where.rc'
  run mpop_gpg --configure=joe@example.org --file=/etc/nowhere
  assert_line --index 0 '# - put the lines below into /etc/nowhere'
  mkdir -p "$HOME/.config/mpop" && : > "$HOME/.config/mpop/config"
  run mpop_gpg --configure=joe@example.org
  assert_line --index 0 "# - put the lines below into $HOME/.config/mpop/config"
  : > "$HOME/.mpoprc"
  run mpop_gpg --configure=joe@example.org
  assert_line --index 0 "# - put the lines below into $HOME/.mpoprc"
  [ ! -s "$HOME/.mpoprc" ]
}

@test "configure: a later --version or --help cancels it; an earlier one is printed first" {
  dnsns_require
  dns_zone <<EOF
_pop3s._tcp.example.org SRV 0 1 995 pop.example.org
EOF
  run in_dnsns "$BIN/mpop" --configure=joe@example.org --version
  assert_success
  assert_line --index 0 --partial 'mpop version '
  refute_line --partial 'account '
  run in_dnsns "$BIN/mpop" --configure=@bad --help
  assert_success
  assert_line --index 0 'Usage:'
  run dns_log
  assert_output ''
  run mpop_gpg --version --configure=joe@example.org
  assert_success
  assert_line --index 0 --partial 'mpop version '
  assert_line 'account joe@example.org'
  run in_dnsns "$BIN/mpop" --help --configure=joe@nowhere.example
  assert_failure 68
  assert_line --index 0 'Usage:'
}

@test "configure: other options do not matter; the last --configure counts; a missing address is a usage error" {
  dnsns_require
  dns_zone <<EOF
_pop3s._tcp.example.org SRV 0 1 995 pop.example.org
EOF
  for extra in -S -P -a --host=elsewhere.example --port=1 someaccount ; do
    run mpop_gpg --configure=joe@example.org $extra
    assert_success
    assert_line 'host pop.example.org'
    assert_line 'port 995'
  done
  run mpop_gpg --configure=x@invalid.example --configure joe@example.org
  assert_success
  assert_line 'account joe@example.org'
  run mpop_gpg --conf=joe@example.org
  assert_success
  run "$BIN/mpop" --configure
  assert_failure 64
  run in_dnsns "$BIN/mpop" --configure=joe@example.org --port=abc
  assert_failure 64
}

@test "configure: same choices, lines, messages and exit codes as Debian's mpop 1.4.18" {
  dnsns_require
  [ -x "$REFMPOP" ] || skip "no $REFMPOP"
  dns_zone <<EOF
_pop3s._tcp.example.org SRV 0 1 995 pop.example.org
_pop3._tcp.example.org SRV 0 1 110 pop.example.org
_pop3._tcp.only3.example SRV 5 1 1110 mail.only3.example
_pop3s._tcp.dot.example SRV 0 0 0 .
_pop3._tcp.dot.example SRV 0 1 110 pop.dot.example
_pop3s._tcp.prio.example SRV 20 100 1001 a.prio.example
_pop3s._tcp.prio.example SRV 10 1 1002 b.prio.example
_pop3s._tcp.prio.example SRV 10 50 1003 c.prio.example
_pop3s._tcp.tie.example SRV 10 5 1001 first.tie.example
_pop3s._tcp.tie.example SRV 10 5 1002 second.tie.example
_pop3s._tcp.other.example SRV 0 1 995 pop.provider.net
_pop3s._tcp.look.example SRV 0 1 995 xlook.example
_pop3s._tcp.case.example SRV 0 1 995 POP.Case.EXAMPLE
_pop3s._tcp.fail.example SERVFAIL
_pop3._tcp.fail.example SRV 0 1 110 pop.fail.example
_pop3s._tcp.cn.example CNAME _pop3s._tcp.real.example
_pop3s._tcp.real.example SRV 1 1 995 pop.real.example
_pop3s._tcp.port0.example SRV 0 0 0 pop.port0.example
EOF
  cat > "$T/compare" <<'EOF'
# compare BIN: for each address, "exit code", the lines that are not
# comments, the command in the hint, whether there is a warning, and stderr
bin=$1 dir=$2
for a in joe@example.org j@only3.example j@dot.example j@prio.example j@tie.example \
         j@other.example j@look.example j@case.example j@fail.example j@cn.example \
         j@port0.example j@EXAMPLE.ORG j@example.org. a@b@example.org \
         j@none.example @example.org joe@ joe ; do
  env PATH="$dir/kr" "$bin" --configure="$a" > "$dir/out" 2> "$dir/err"
  echo "== $a: $?"
  grep -v '^#' "$dir/out"
  grep '^#   ' "$dir/out"
  grep -c warning "$dir/out"
  sed "s|^[^:]*mpop:|mpop:|" "$dir/err"
done
EOF
  in_dnsns "$BASH" "$T/compare" "$REFMPOP" "$T" > "$T/ref.txt"
  in_dnsns "$BASH" "$T/compare" "$BIN/mpop" "$T" > "$T/ours.txt"
  run diff "$T/ref.txt" "$T/ours.txt"
  assert_success
  grep -q '^== j@prio.example: 0$' "$T/ref.txt"
  grep -q '^== j@none.example: 68$' "$T/ref.txt"
  grep -q '^== joe@: 65$' "$T/ref.txt"
}

@test "configure: the header path is the same as Debian's mpop 1.4.18 prints" {
  dnsns_require
  [ -x "$REFMPOP" ] || skip "no $REFMPOP"
  dns_zone <<EOF
_pop3s._tcp.example.org SRV 0 1 995 pop.example.org
EOF
  for c in "" "-C rel/file.rc" "--file=/abs/file" ; do
    ref=$(in_dnsns "$REFMPOP" $c --configure=joe@example.org | head -n 1)
    ours=$(in_dnsns "$BIN/mpop" $c --configure=joe@example.org | head -n 1)
    [ "${ref##* }" = "${ours##* }" ] || { echo "ref: $ref" ; echo "ours: $ours" ; return 1 ; }
  done
}

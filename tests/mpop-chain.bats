#!/usr/bin/env bats
# The mpop wrapper runs one chain per account (DESIGN 2): here with stand-in
# pop3fetch/pop3info programs that record their arguments and environment,
# so that the wrapper itself is what is tested.

load lib/common

setup () {
  common_setup
  mkdir -p "$T/bin"
  cp "$BIN/mpop" "$T/bin/mpop"
  for p in pop3fetch pop3info ; do
    cat > "$T/bin/$p" <<X
#!/bin/sh
{ echo "prog=$p" ; echo "args=\$*" ; env | grep '^MPOP_' | sort ; } > "$T/log.\${MPOP_ACCOUNT:-hostmode}"
echo "\${MPOP_ACCOUNT:-hostmode}" >> "$T/order"
code=\$(cat "$T/code.\${MPOP_ACCOUNT:-hostmode}" 2>/dev/null || echo 0)
exit \$code
X
    chmod +x "$T/bin/$p"
  done
  f=$(rc r <<'X'
defaults
delivery maildir ~/Maildir
account default
host one.example
user joe
password topsecret
account two
host two.example
account three
host three.example
X
)
}

@test "chain: retrieval runs pop3fetch with the deliverer and the account's environment" {
  run "$T/bin/mpop" -C "$f"
  assert_success
  run cat "$T/log.default"
  assert_line "prog=pop3fetch"
  assert_line "args=$T/bin/mdeliver -q"
  assert_line "MPOP_ACCOUNT=default"
  assert_line "MPOP_CONFIG_FILE=$f"
  assert_line "MPOP_HOST=one.example"
  assert_line "MPOP_DELIVERY=maildir $HOME/Maildir"
  assert_line "MPOP_PROG=mpop"
}

@test "chain: the password travels in the environment, never in argv" {
  run "$T/bin/mpop" -C "$f"
  assert_success
  run grep '^args=' "$T/log.default"
  refute_output --partial topsecret
  run grep -c '^MPOP_PASSWORD=topsecret$' "$T/log.default"
  assert_output 1
}

@test "chain: output and mode flags reach pop3fetch" {
  "$T/bin/mpop" -C "$f" -q ; grep -qx "args=-q $T/bin/mdeliver -q" "$T/log.default"
  "$T/bin/mpop" -C "$f" -Q ; grep -qx "args=-Q $T/bin/mdeliver -q" "$T/log.default"
  "$T/bin/mpop" -C "$f" -s ; grep -qx "args=-s $T/bin/mdeliver -q" "$T/log.default"
  "$T/bin/mpop" -C "$f" --auth-only ; grep -qx "args=-A $T/bin/mdeliver -q" "$T/log.default"
}

@test "chain: -d prints the configuration first and passes -d" {
  run "$T/bin/mpop" -C "$f" -d
  assert_success
  assert_line "using account default from $f"
  assert_line "password = *"
  grep -qx "args=-d $T/bin/mdeliver -q" "$T/log.default"
}

@test "chain: -S runs pop3info without a deliverer or delivery setting" {
  g=$(rc g <<'X'
account default
host info.example
X
)
  run "$T/bin/mpop" -C "$g" -S
  assert_success
  run cat "$T/log.default"
  assert_line "prog=pop3info"
  assert_line "args="
}

@test "chain: -a runs every account in file order; overrides reach all of them" {
  run "$T/bin/mpop" -C "$f" -a --keep=1d
  assert_success
  assert_equal "$(cat "$T/order" | tr '\n' ' ')" "default two three "
  for a in default two three ; do grep -qx MPOP_KEEP=86400 "$T/log.$a" ; done
}

@test "chain: --host mode has no account name and no config file" {
  run "$T/bin/mpop" --host=h.example --delivery=mbox,/tmp/m
  assert_success
  run cat "$T/log.hostmode"
  assert_line "MPOP_HOST=h.example"
  refute_line --partial MPOP_ACCOUNT
  refute_line --partial MPOP_CONFIG_FILE
}

@test "chain: one failing account gives its code, the others still run" {
  echo 77 > "$T/code.two"
  run "$T/bin/mpop" -C "$f" -a
  assert_failure 77
  assert_equal "$(cat "$T/order" | tr '\n' ' ')" "default two three "
}

@test "chain: two failing accounts give 75" {
  echo 77 > "$T/code.two"
  echo 69 > "$T/code.three"
  run "$T/bin/mpop" -C "$f" -a
  assert_failure 75
}

@test "chain: a missing program is a clear error (69)" {
  rm "$T/bin/pop3fetch"
  run "$T/bin/mpop" -C "$f"
  assert_failure 69
  assert_output "mpop: cannot run $T/bin/pop3fetch: No such file or directory"
}

@test "chain: inherited MPOP_ variables do not reach the chain" {
  MPOP_FILTER=/bin/evil MPOP_PROG=other run "$T/bin/mpop" -C "$f"
  assert_success
  run cat "$T/log.default"
  refute_line --partial MPOP_FILTER
  assert_line MPOP_PROG=mpop
}

@test "chain: --version and --help exit 0 and run nothing" {
  run "$T/bin/mpop" --version
  assert_success
  assert_line --partial "TLS/SSL library: BearSSL"
  assert_line "Configuration file name: ~/.mpoprc"
  run "$T/bin/mpop" --help
  assert_success
  assert_line --partial "--serverinfo"
  [ ! -e "$T/order" ]
}

@test "chain: SIGTERM to mpop reaches the running session; no further account runs" {
  cat > "$T/bin/pop3fetch" <<X
#!/bin/sh
echo "\$MPOP_ACCOUNT" >> "$T/order"
[ "\$MPOP_ACCOUNT" = two ] || exit 0
trap 'echo TERM > "$T/term" ; exit 74' TERM
: > "$T/ready"
i=0
while [ \$i -lt 200 ] ; do sleep 0.1 ; i=\$((i + 1)) ; done
exit 0
X
  "$T/bin/mpop" -C "$f" -a 3>&- &
  pid=$!
  for i in $(seq 1 200) ; do [ -e "$T/ready" ] && break ; sleep 0.05 ; done
  kill -TERM "$pid"
  status=0 ; wait "$pid" || status=$?
  [ "$status" -eq 74 ]
  [ "$(cat "$T/term")" = TERM ]
  assert_equal "$(cat "$T/order" | tr '\n' ' ')" "default two "
}

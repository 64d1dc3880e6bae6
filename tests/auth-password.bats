#!/usr/bin/env bats
# Password sources, in mpop's order: password, passwordeval, the keyring
# (secret-tool), ~/.netrc, /etc/netrc, a prompt on /dev/tty; and secrets
# kept out of argv, the environment, traces and core dumps.

load lib/common
load lib/auth

setup () {
  common_setup
  # the keyring has no entry, unless a test says otherwise: a secret-tool
  # that fails, first in PATH
  mkdir -p "$T/bin" "$T/empty"
  printf '#!/bin/sh\nexit 1\n' > "$T/bin/secret-tool"
  chmod +x "$T/bin/secret-tool"
  export PATH="$T/bin:$PATH"
}
teardown () { authfp_stop ; }

pw_rc () { # rc lines...: an account (no server needed) with user joe
  auth_rc rc 110 "user joe" "$@"
}

password () { # METHOD RC: auth_password through auth-test, without a terminal
  /usr/bin/setsid -w "$BIN/rcparse" -C "$2" -S default "$TESTBIN/auth-test" password "$1" < /dev/null
}

@test "password: the password command wins; passwordeval is then not run" {
  f=$(pw_rc "password from-rc" "passwordeval touch $T/ran ; echo from-eval")
  run password plain "$f"
  assert_success
  assert_output $'7\nfrom-rc'
  [ ! -e "$T/ran" ]
}

@test "password: methods without a password (EXTERNAL, GSSAPI) run no source" {
  f=$(pw_rc "passwordeval touch $T/ran ; echo x")
  for m in external gssapi ; do
    run password "$m" "$f"
    assert_success
    assert_output 0
  done
  [ ! -e "$T/ran" ]
}

@test "passwordeval: first line only, CRLF removed, exit status ignored" {
  f=$(pw_rc "passwordeval printf 'first pw\\r\\nsecond\\n' ; exit 3")
  run password plain "$f"
  assert_success
  assert_output $'8\nfirst pw'
}

@test "passwordeval: an empty line is an empty password; no output at all is error 78" {
  f=$(pw_rc "passwordeval echo")
  run password plain "$f"
  assert_success
  assert_output 0
  f=$(pw_rc "passwordeval exit 0")
  run password plain "$f"
  assert_failure 78
  assert_output "auth-test: cannot read output of 'exit 0'"
}

@test "passwordeval: a failing command without output is error 78" {
  f=$(pw_rc "passwordeval echo oops >&2 ; exit 1")
  run password plain "$f"
  assert_failure 78
  assert_line "auth-test: cannot read output of 'echo oops >&2 ; exit 1'"
  assert_line oops
}

@test "passwordeval: 10 KB of output is used whole" {
  head -c 10240 /dev/zero | tr '\0' 'k' > "$T/big"
  f=$(pw_rc "passwordeval cat $T/big")
  run password plain "$f"
  assert_success
  assert_line --index 0 10240
  assert_line --index 1 "$(cat "$T/big")"
}

@test "passwordeval: a command that writes on after its first line dies quietly of SIGPIPE" {
  f=$(pw_rc "passwordeval echo first ; yes | head -c 50000000 ; echo after >&2")
  run password plain "$f"
  assert_success
  assert_line 5
  assert_line first
  assert_line after
  refute_output --partial 'Broken pipe'
}

@test "passwordeval: runs every session (fresh tokens), and logs in with a 10 KB password" {
  head -c 10240 /dev/zero | tr '\0' 'k' > "$T/big"
  printf 'sasl PLAIN\npassword %s\n' "$(cat "$T/big")" > "$T/s.scn"
  authfp_start "$T/s.scn" --sessions 2
  f=$(auth_rc rc "$AUTHFP_PORT" "tls off" "user u" "auth plain" "passwordeval echo run >> $T/count ; cat $T/big")
  run auth_login "$f"
  assert_success
  run auth_login "$f"
  assert_success
  run cat "$T/count"
  assert_output $'run\nrun'
}

@test "passwordeval: runs with the caller's environment, other variables kept, no MPOP_PASSWORD" {
  f=$(pw_rc "passwordeval env > $T/env ; echo s3cr3t")
  run setsid -w "$BIN/rcparse" -C "$f" -S default /usr/bin/env MPOP_PASSWORD_X=1 "$TESTBIN/auth-test" password plain < /dev/null
  assert_success
  assert_output $'6\ns3cr3t'
  run grep -c '^MPOP_PASSWORD=' "$T/env"
  assert_output 0
  grep -q '^MPOP_USER=joe$' "$T/env"
  grep -q '^MPOP_PASSWORD_X=1$' "$T/env"
}

@test "keyring: secret-tool lookup host H service pop3 user U, quietly, before .netrc" {
  cat > "$T/bin/secret-tool" <<EOF
#!/bin/sh
echo "\$*" > "$T/kr-args"
env > "$T/kr-env"
echo "keyring says no" >&2
printf 'kr-secret'
EOF
  printf 'machine 127.0.0.1 login joe password from-netrc\n' > "$HOME/.netrc"
  f=$(pw_rc)
  run password plain "$f"
  assert_success
  assert_output $'9\nkr-secret'
  run cat "$T/kr-args"
  assert_output 'lookup host 127.0.0.1 service pop3 user joe'
  run grep -c '^MPOP_PASSWORD=' "$T/kr-env"
  assert_output 0
}

@test "keyring: no entry (secret-tool fails) or no secret-tool: ~/.netrc is next" {
  printf 'machine 127.0.0.1 login joe password from-netrc\n' > "$HOME/.netrc"
  f=$(pw_rc)
  run password plain "$f"
  assert_success
  assert_output $'10\nfrom-netrc'
  PATH="$T/empty" run password plain "$f"
  assert_success
  assert_output $'10\nfrom-netrc'
}

@test "netrc: a .netrc password logs in through pop3info (user and host must match)" {
  printf 'sasl PLAIN\nuser joe\npassword netrc-pw\n' > "$T/s.scn"
  authfp_start "$T/s.scn"
  printf 'machine other login joe password wrong\nmachine 127.0.0.1 login ann password wrong\nmachine 127.0.0.1 login joe password netrc-pw\n' > "$HOME/.netrc"
  f=$(auth_rc rc "$AUTHFP_PORT" "tls off" "user joe" "auth plain")
  run setsid -w timeout 30 "$BIN/rcparse" -C "$f" -S default "$BIN/pop3info" < /dev/null
  assert_success
  refute_output --partial "after successful authentication"
  run authfp_auth_event
  assert_output --partial '"ok": true'
}

netrc () { # CONTENT [HOST [USER]]
  printf '%b' "$1" > "$T/netrc"
  "$TESTBIN/auth-test" netrc "$T/netrc" "${2:-h.example}" "${3:-u}"
}

@test "netrc: the first machine entry with the user's login; login/user and password/passwd synonyms" {
  run netrc 'machine h.example login u password p1\nmachine h.example login u password p2\n'
  assert_output p1
  run netrc 'machine h.example login x password no\nmachine h.example user u passwd p3\n'
  assert_output p3
  run netrc 'machine a login u password 1 machine h.example login u password 2 machine b login u password 3'
  assert_output 2
  run netrc 'machine H.Example login u password case\n'
  assert_output case
  run netrc 'machine h.example\n\tlogin u\n\taccount acct\n\tpassword multi\r\n'
  assert_output multi
}

@test "netrc: the default entry is never used" {
  run netrc 'default login u password d\n'
  assert_failure 1
  assert_output ''
  run netrc 'machine x login u password nx\ndefault login u password d\nmachine h.example login u password after\n'
  assert_output after
}

@test "netrc: macdef bodies are skipped up to the empty line" {
  run netrc 'macdef init\nmachine h.example login u password evil\n\nmachine h.example login u password good\n'
  assert_output good
  run netrc 'machine h.example login u macdef m\ncd /\nmachine h.example login u password evil\n\npassword late\n'
  assert_output late
}

@test "netrc: quoted tokens with blanks and escapes; comment lines" {
  run netrc 'machine "h.example" login '"'"'u'"'"' password "pa ss\\"wo\\\\rd"\n'
  assert_output 'pa ss"wo\rd'
  run netrc "machine h.example login u password 'it s'\n"
  assert_output 'it s'
  run netrc '# machine h.example login u password commented\n  # indented comment\nmachine h.example login u password real#hash\n'
  assert_output 'real#hash'
}

@test "netrc: an entry without login, or a matching entry without password, gives nothing" {
  run netrc 'machine h.example password nologin\n'
  assert_failure 1
  run netrc 'machine h.example login u\nmachine h.example login u password second\n'
  assert_failure 1
  run netrc ''
  assert_failure 1
  run "$TESTBIN/auth-test" netrc "$T/no-such-file" h u
  assert_failure 1
}

@test "netrc: a .netrc entry without password falls through to the prompt; no terminal: 69" {
  printf 'machine 127.0.0.1 login joe\n' > "$HOME/.netrc"
  f=$(pw_rc)
  run password login "$f"
  assert_failure 69
  assert_output 'auth-test: authentication method LOGIN needs a password'
}

ptyrun () { # TEXT-TO-SEND: auth-test password on a new terminal
  local f
  f=$(pw_rc)
  /usr/bin/python3 "$TESTS_DIR/lib/ptyrun.py" --wait "127.0.0.1: " --send "$1" -- \
    /bin/sh -c "exec \"$BIN/rcparse\" -C \"$f\" -S default \"$TESTBIN/auth-test\" password plain > \"$T/out\""
}

@test "prompt: on /dev/tty, echo off while typing, restored after" {
  run ptyrun 'typed secret\n'
  assert_line "output='password for joe at 127.0.0.1: \\r\\n'"
  assert_line 'echo=on'
  assert_line 'status=exit 0'
  run cat "$T/out"
  assert_output $'12\ntyped secret'
}

@test "prompt: an empty line is an empty password; end of input is no password (69)" {
  run ptyrun '\n'
  assert_line 'status=exit 0'
  run cat "$T/out"
  assert_output 0
  run ptyrun '\x04'
  assert_line 'status=exit 69'
  assert_line --partial 'needs a password'
}

@test "prompt: Ctrl-C ends the program and the terminal echoes again" {
  run ptyrun 'half-typed\x03'
  assert_line 'status=signal 2'
  assert_line 'echo=on'
  refute_output --partial 'half-typed'
}

@test "secrets: auth_scrub_env wipes MPOP_PASSWORD and disables core dumps" {
  MPOP_PASSWORD=hunter2 MPOP_USER=joe run "$TESTBIN/auth-test" scrub
  assert_success
  refute_output --partial MPOP_PASSWORD
  refute_output --partial hunter2
  assert_line 'MPOP_USER=joe'
  assert_line 'core 0'
}

@test "secrets: during a session, the password is in neither /proc/PID/environ nor cmdline; no core" {
  printf 'sasl PLAIN\nuser joe\npassword Pa55-in-env\nfault on=CAPA nth=2 do=stall seconds=20\n' > "$T/s.scn"
  authfp_start "$T/s.scn"
  f=$(auth_rc rc "$AUTHFP_PORT" "tls off" "user joe" "auth plain" "password Pa55-in-env" "timeout 30")
  "$BIN/rcparse" -C "$f" -S default "$BIN/pop3info" -d > "$T/out" 2> "$T/err" &
  pid=$!
  for i in $(seq 1 200) ; do
    [ "$(grep -c '"cmd": "CAPA"' "$AUTHFP_LOG")" -ge 2 ] && break
    sleep 0.05
  done
  tr '\0' '\n' < "/proc/$pid/environ" > "$T/environ"
  tr '\0' ' ' < "/proc/$pid/cmdline" > "$T/cmdline"
  grep 'core file size' "/proc/$pid/limits" > "$T/limits"
  kill "$pid" ; wait "$pid" || true
  run grep -c 'Pa55-in-env' "$T/environ" "$T/cmdline" "$T/out" "$T/err"
  assert_output "$T/environ:0"$'\n'"$T/cmdline:0"$'\n'"$T/out:0"$'\n'"$T/err:0"
  grep -q '^MPOP_USER=joe$' "$T/environ"
  run cat "$T/limits"
  assert_output --regexp '^Max core file size +0 '
  run grep -- '--> AUTH PLAIN' "$T/out"
  assert_output '--> AUTH PLAIN ********'
}

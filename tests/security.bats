#!/usr/bin/env bats
# Security checks of issue 7, one place that lists them all. Checks that
# live elsewhere are referenced here; the ones below are those that were
# missing.
#
# 1. Secrets absent from argv, from the environment of the filter, the MDA
#    and the deliverer, and from -d output:
#      here: "secrets: ..." (the whole mpop chain, a filter and an MDA that
#      dump their environment and every ancestor's cmdline and environ);
#      also auth-password.bats "secrets: during a session, the password is in
#      neither /proc/PID/environ nor cmdline; no core", "passwordeval: runs
#      with the caller's environment, ... no MPOP_PASSWORD";
#      retrieval.bats "the deliverer never sees the password, in its
#      environment or ours"; mpop-chain.bats "the password travels in the
#      environment, never in argv"; pretend.bats (the password shown as *).
# 2. UIDLs and delivered files created 0600:
#      here: "files: ..." (the chain with umask 022: UIDLs file and its
#      directory, maildir, mbox, exchange files); also uidlstore.bats
#      "files are 0600, created directories 0700, also when mpop left 0644",
#      mdeliver.bats "maildir stores ... 0600", "exchange writes ... 0600".
# 3. %F injection attempts (; $() backquotes, leading -, newlines) land as
#    harmless text:
#      here: "%F: ..." (through the whole chain, the sender from the
#      server's message); also mdeliver.bats "%F injection attempts land as
#      one harmless argument", filter.bats "%F arrives as plain text,
#      injection attempts are harmless".
# 4. A symlink planted in maildir tmp/ or at the mbox path is not followed:
#      src/tests/deliver_test.c test_no_symlink (run by unit.bats: creating
#      over a planted or dangling symlink fails, the target is untouched);
#      mdeliver.bats "a symlink at the mbox path is not followed"; here:
#      "symlinks: ..." (the chain: mbox path and the mbox tail record).
# 5. STLS injection refused:
#      tls.bats "stls: bytes injected after the +OK to STLS are refused";
#      faultpop scenario stls-injection (faultpop.bats "our mpop passes
#      every scenario").
# 6. No clear-text password without TLS unless explicitly chosen:
#      auth-choice.bats "choice without TLS: the 69 explains ...";
#      auth-dovecot.bats "automatic choice without TLS refuses PLAIN/LOGIN/USER
#      (69)"; here: "clear text: ..." (nothing secret is sent before the 69).

load lib/common
load lib/faultpop

PW='Zebra-S3cret-42'

setup () { common_setup ; }
teardown () { faultpop_stop ; }

# scn: two messages, password $PW; sender text $1 (a Return-Path line)
scn () {
  {
    printf 'user u\npassword %s\n' "$PW"
    printf 'message uid=a text="%s\\nSubject: one\\n\\nbody1\\n"\n' "${1:-Return-Path: <a@x.org>}"
    printf 'message uid=b text="Subject: two\\n\\nbody2\\n"\n'
  } > "$T/s.scn"
  printf '%s\n' "$T/s.scn"
}

# frc NAME [LINE...]: an rc file with the password in it, for faultpop
frc () {
  local name=$1 ; shift
  {
    printf 'account %s\nhost 127.0.0.1\nport %s\nuser u\npassword %s\nauth user\ntls off\ntimeout 20\n' \
      "$name" "$FAULTPOP_PORT" "$PW"
    printf 'uidls_file %s\n' "$T/uidls.$name"
    printf '%s\n' "$@"
  } | rc "$name.rc" >/dev/null
}

# a script that dumps its environment, and the cmdline and environ of each
# of its ancestors up to (not including) the test's shell, into $1.N
dumper () {
  cat > "$T/dump.sh" <<EOF
#!/bin/sh
out=\$1.\$\$
env > "\$out.env"
p=\$\$
while [ "\$p" -gt 1 ] && [ "\$p" != "$$" ] ; do
  tr '\0' ' ' < /proc/\$p/cmdline >> "\$out.cmdline" 2>/dev/null ; echo >> "\$out.cmdline"
  tr '\0' '\n' < /proc/\$p/environ >> "\$out.environ" 2>/dev/null
  p=\$(awk '{ print \$4 }' /proc/\$p/stat)
done
cat > /dev/null
EOF
  chmod 755 "$T/dump.sh"
}

@test "secrets: the password is in no argv, no environment of filter, MDA or deliverer, no -d output" {
  dumper
  faultpop_start "$(scn)"
  mkdir -p "$T/md/new" "$T/md/cur" "$T/md/tmp"
  frc a "filter $T/dump.sh $T/filter" "delivery mda \"$T/dump.sh $T/mda ; exit 0\""
  run timeout 30 "$BIN/mpop" -d -C "$T/a.rc" a
  assert_success
  # -d shows the session, the password masked
  assert_line --partial 'PASS'
  refute_output --partial "$PW"
  ls "$T"/filter.*.env "$T"/mda.*.env >/dev/null
  # the filter and the MDA: their environment, each ancestor's argv and
  # environ (mdeliver, pop3fetch, mpop)
  run grep -l -e "$PW" "$T"/filter.* "$T"/mda.*
  assert_output ''
  # the children get no MPOP_PASSWORD at all (pop3fetch's own initial
  # environment keeps the name, its value wiped)
  run grep -l MPOP_PASSWORD "$T"/filter.*.env "$T"/mda.*.env
  assert_output ''
  grep -q pop3fetch "$T"/mda.*.cmdline
  grep -q mdeliver "$T"/mda.*.cmdline
  grep -q "$BIN/mpop" "$T"/mda.*.cmdline
  grep -q pop3fetch "$T"/filter.*.cmdline
}

@test "files: with umask 022, the UIDLs file is 0600 in a 0700 directory, delivered files 0600" {
  faultpop_start "$(scn)" --sessions 3
  umask 022
  mkdir -p "$T/md/new" "$T/md/cur" "$T/md/tmp" "$T/ex"
  {
    printf 'defaults\nhost 127.0.0.1\nport %s\nuser u\npassword %s\nauth user\ntls off\ntimeout 20\nkeep on\n' "$FAULTPOP_PORT" "$PW"
    printf 'account md\ndelivery maildir %s\n' "$T/md"
    printf 'account mb\ndelivery mbox %s\nuidls_file ~/u2/%%U_at_%%H\n' "$T/mbox"
    printf 'account ex\ndelivery exchange %s\nuidls_file %s\n' "$T/ex" "$T/uidls.ex"
  } | rc r.rc >/dev/null
  run timeout 60 "$BIN/mpop" -q -C "$T/r.rc" md mb ex
  assert_success
  [ "$(stat -c %a "$HOME/.mpop_uidls")" = 700 ]
  [ "$(stat -c %a "$HOME/.mpop_uidls/u_at_127.0.0.1")" = 600 ]
  [ "$(stat -c %a "$HOME/u2")" = 700 ]
  [ "$(stat -c %a "$HOME/u2/u_at_127.0.0.1")" = 600 ]
  [ "$(stat -c %a "$T/uidls.ex")" = 600 ]
  [ "$(stat -c %a "$T/mbox")" = 600 ]
  [ "$(ls "$T/md/new" | wc -l)" -eq 2 ]
  [ "$(ls "$T/ex" | wc -l)" -eq 2 ]
  for f in "$T"/md/new/* "$T"/ex/* ; do
    [ "$(stat -c %a "$f")" = 600 ] || { echo "$f: $(stat -c %a "$f")" ; return 1 ; }
  done
  [ ! -e "$T/mbox.mdeliver-tail" ]
}

@test "%F: injection attempts in the server's sender land as harmless text, through the whole chain" {
  cd "$T"
  {
    printf 'user u\npassword %s\n' "$PW"
    i=0
    for s in '<;touch pwn1@x>' '<$(touch pwn2)@x>' '<`touch pwn3`@x>' '<-rf@x>' '<a@x;touch pwn4>' '<a@x|touch pwn5>' ; do
      i=$((i + 1))
      printf 'message uid=m%d text="Return-Path: %s\\nSubject: %d\\n\\nbody\\n"\n' "$i" "$s" "$i"
    done
  } > "$T/inj.scn"
  faultpop_start "$T/inj.scn"
  mkdir -p "$T/md/new" "$T/md/cur" "$T/md/tmp"
  printf '#!/bin/sh\nprintf "[%%s]\\n" "$@" >> %s\ncat > /dev/null\n' "$T/argv" > "$T/mda.sh"
  chmod 755 "$T/mda.sh"
  frc a "delivery mda \"$T/mda.sh %F\""
  run timeout 30 "$BIN/mpop" -q -C "$T/a.rc" a
  assert_success
  # (a newline cannot come through a header line; mdeliver.bats tries it with -f)
  [ -z "$(ls "$T" | grep pwn)" ]
  run cat "$T/argv"
  assert_equal "${#lines[@]}" 6
  refute_output --regexp '\[-'
  refute_output --regexp '[;$`|& ]'
}

@test "symlinks: the chain follows no symlink at the mbox path or at the mbox tail record" {
  faultpop_start "$(scn)" --sessions 2
  echo precious > "$T/target"
  ln -s "$T/target" "$T/mbox"
  frc a "delivery mbox $T/mbox"
  run timeout 30 "$BIN/mpop" -q -C "$T/a.rc" a
  assert_failure 74
  assert_output --partial "it is a symbolic link, which is never followed"
  [ "$(cat "$T/target")" = precious ]
  [ ! -e "$T/uidls.a" ] || [ -z "$("$BIN/rcparse" -C "$T/a.rc" a "$BIN/uidlstore" list)" ]
  # a symlink planted at the tail record is not written through
  rm "$T/mbox"
  ln -s "$T/target" "$T/mbox.mdeliver-tail"
  run timeout 30 "$BIN/mpop" -q -C "$T/a.rc" a
  assert_success
  [ "$(cat "$T/target")" = precious ]
  [ "$(grep -c '^From ' "$T/mbox")" -eq 2 ]
}

@test "clear text: without TLS, an automatic choice sends no password and says how to choose (69)" {
  faultpop_start "$(scn)"
  {
    printf 'account a\nhost 127.0.0.1\nport %s\nuser u\npassword %s\ntls off\ntimeout 20\n' "$FAULTPOP_PORT" "$PW"
    printf 'uidls_file %s\ndelivery maildir %s\n' "$T/uidls.a" "$T/md"
  } | rc a.rc >/dev/null
  mkdir -p "$T/md/new" "$T/md/cur" "$T/md/tmp"
  run timeout 30 "$BIN/mpop" -q -C "$T/a.rc" a
  assert_failure 69
  faultpop_wait
  run faultpop_commands
  refute_output --regexp '^(USER|PASS|APOP|AUTH)'
  ! grep -q "$PW" "$FAULTPOP_LOG"
}

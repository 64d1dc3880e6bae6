#!/usr/bin/env bats
# Kill suite (issue 7): SIGKILL at seeded random moments of each process of
# the chain -- mpop, rcparse, pop3fetch, mdeliver (maildir, mbox, mda), an MDA,
# and the whole process group -- during sessions of 300 messages against a
# private Dovecot, each followed by a rerun to completion (tests/lib/killsuite.py).
# KILLSUITE_KILLS=N sets the number of kills (default 50; make stress: 500),
# KILLSUITE_TARGETS=a,b,... restricts the targets (default all),
# KILLSUITE_SEED the seed (default 7). The table goes to fd 3.

load lib/common
load lib/dovecot

setup_file () {
  mkdir -p "$BATS_FILE_TMPDIR/dovecot"
  if [ "$(id -u)" = 0 ] && mount -t tmpfs -o size=512m tmpfs "$BATS_FILE_TMPDIR/dovecot" 2>/dev/null ; then
    touch "$BATS_FILE_TMPDIR/dovecot.tmpfs"
  fi
  dovecot_start "$BATS_FILE_TMPDIR/dovecot"
  dovecot_user kill secret
}

teardown_file () {
  dovecot_stop "$BATS_FILE_TMPDIR/dovecot"
  if [ -e "$BATS_FILE_TMPDIR/dovecot.tmpfs" ] ; then umount "$BATS_FILE_TMPDIR/dovecot" ; fi
}

setup () { common_setup ; TMPFS='' ; }

teardown () {
  if [ -n "$TMPFS" ] ; then umount "$TMPFS" 2>/dev/null || true ; fi
}

@test "killsuite: SIGKILL of each process of the chain: 0 lost, 0 partial, valid UIDLs, <= 1 duplicate per kill" {
  dovecot_add_generated kill 300 17 small >/dev/null
  md=$(dovecot_maildir kill)
  # index the mailbox once, then keep a copy to restore it before each round
  run dovecot_pop3_session <<<$'USER kill\nPASS secret\nSTAT\nQUIT'
  cp -a "$md" "$T/template"
  # SIGKILL does not need a real disk: the deliveries go to a tmpfs when we may mount one
  mkdir -p "$T/fs"
  if [ "$(id -u)" = 0 ] && mount -t tmpfs -o size=256m tmpfs "$T/fs" 2>/dev/null ; then TMPFS="$T/fs" ; fi
  run /usr/bin/python3 "$TESTS_DIR/lib/killsuite.py" --bin "$BIN" --work "$T/fs/work" \
    --host "$DOVECOT_HOST" --port "$DOVECOT_PORT" --user kill --password secret \
    --server-maildir "$md" --template "$T/template" --orig "$(dovecot_orig_dir kill)" \
    --kills "${KILLSUITE_KILLS:-50}" --seed "${KILLSUITE_SEED:-7}" \
    ${KILLSUITE_TARGETS:+--targets "$KILLSUITE_TARGETS"} --label "${TMPFS:+deliveries on a tmpfs}"
  printf '# %s\n' "${lines[@]}" >&3
  assert_success
}

#!/usr/bin/env bats
# Moving to the toolkit from mpop 1.4.18, fetchmail and getmail: the state
# each of them leaves (written by the real programs, against a private
# Dovecot) is taken over, and the first session of our mpop fetches none of
# the messages they already fetched. Then uidlstore import's checks, and
# mpop --adopt (pop3fetch -m): whatever is on the server counts as
# retrieved, without a download.

load lib/common
load lib/dovecot
load lib/faultpop

setup_file () {
  dovecot_start "$BATS_FILE_TMPDIR/dovecot" --no-ssl
}

teardown_file () {
  dovecot_stop "$BATS_FILE_TMPDIR/dovecot"
}

setup () {
  common_setup
}

teardown () {
  faultpop_stop
}

maildir () { mkdir -p "$1/new" "$1/cur" "$1/tmp" ; }
count () { find "$1/new" "$1/cur" -type f | wc -l ; }

# batch USER COUNT SEED DIR: COUNT new messages for USER; their originals
# are also copied into DIR (what the next session must deliver)
batch () {
  local od before
  od=$(dovecot_orig_dir "$1")
  mkdir -p "$od" "$4"
  before=$(find "$od" -name 'msg-*.eml' | sort)
  dovecot_add_generated "$1" "$2" "$3" small
  find "$od" -name 'msg-*.eml' | sort | comm -13 <(printf '%s\n' "$before") - | xargs -r cp -t "$4"
}

# expect_delivered DIR MAILDIR: MAILDIR holds exactly the messages of DIR
expect_delivered () {
  run /usr/bin/python3 "$TESTS_DIR/lib/compare-maildir.py" "$1" "$2" --strip-received
  [ "$status" -eq 0 ] || { echo "$output" ; return 1 ; }
}

# server_uids USER: the UIDs Dovecot gives USER's messages
server_uids () {
  dovecot_pop3_session <<< $'USER '"$1"$'\nPASS secret\nUIDL\nQUIT' | sed -n 's/^[0-9][0-9]* //p' | sort
}

# account NAME USER [LINE...]: ~/.mpoprc gets account NAME for USER, with
# the default UIDLs file, delivering to ~/Mail/NAME
account () {
  local name=$1 user=$2 ; shift 2
  maildir "$HOME/Mail/$name"
  {
    printf 'account %s\nhost %s\nport %s\nuser %s\npasswordeval "echo secret"\nauth user\ntls off\n' \
      "$name" "$DOVECOT_HOST" "$DOVECOT_PORT" "$user"
    printf 'delivery maildir ~/Mail/%s\n' "$name"
    [ $# -gt 0 ] && printf '%s\n' "$@"
  } >> "$HOME/.mpoprc"
  chmod 600 "$HOME/.mpoprc"
}

@test "migration: from mpop 1.4.18: the same ~/.mpoprc and UIDLs file, nothing fetched twice" {
  dovecot_user m1 secret
  batch m1 6 21 "$T/first"
  account m1 m1 "keep on"
  run timeout 60 "$REFMPOP" -q m1
  assert_success
  [ "$(count "$HOME/Mail/m1")" -eq 6 ]
  uidls="$HOME/.mpop_uidls/m1_at_$DOVECOT_HOST"
  [ -f "$uidls" ]
  cp "$uidls" "$T/uidls.1418"
  # the same files, our mpop now
  rm -rf "$HOME/Mail/m1" ; maildir "$HOME/Mail/m1"
  batch m1 3 22 "$T/second"
  run timeout 60 "$BIN/mpop" -Q m1
  assert_success
  assert_line --regexp '^new: 3 messages in .*, total: 9 messages in '
  expect_delivered "$T/second" "$HOME/Mail/m1"
  # every UID the server has is now recorded, mpop 1.4.18's with their
  # first-seen time (the session that converted them)
  run "$BIN/rcparse" m1 "$BIN/uidlstore" list
  assert_equal "$(cut -d' ' -f1 <<< "$output")" "$(server_uids m1)"
  run timeout 60 "$BIN/mpop" -Q m1
  assert_line --regexp '^new: no messages, total: 9 messages'
}

@test "migration: from mpop 1.4.18 with keep off: our mpop carries on" {
  dovecot_user m2 secret
  batch m2 4 23 "$T/first"
  account m2 m2
  run timeout 60 "$REFMPOP" -q m2
  assert_success
  [ "$(dovecot_message_count m2)" -eq 0 ]
  batch m2 2 24 "$T/second"
  rm -rf "$HOME/Mail/m2" ; maildir "$HOME/Mail/m2"
  run timeout 60 "$BIN/mpop" -q m2
  assert_success
  expect_delivered "$T/second" "$HOME/Mail/m2"
  [ "$(dovecot_message_count m2)" -eq 0 ]
}

fetchmail_run () { # USER...: fetchmail --keep --uidl for these Dovecot users
  local u
  : > "$HOME/.fetchmailrc"
  for u ; do
    printf 'poll %s protocol pop3 port %s uidl\n  user "%s" password secret keep sslproto "" mda "/bin/sh -c %s"\n' \
      "$DOVECOT_HOST" "$DOVECOT_PORT" "$u" "'cat > /dev/null'" >> "$HOME/.fetchmailrc"
  done
  chmod 600 "$HOME/.fetchmailrc"
  timeout 60 fetchmail --nosyslog --silent --nodetach
}

@test "migration: from fetchmail: its .fetchids imported, our mpop fetches only what fetchmail did not" {
  command -v fetchmail
  dovecot_user f1 secret
  dovecot_user 'f2@example.org' secret
  batch f1 5 31 "$T/first"
  batch 'f2@example.org' 2 32 "$T/other"
  run fetchmail_run f1 'f2@example.org'
  assert_success
  # fetchmail 6.4's format, for all its accounts
  run cat "$HOME/.fetchids"
  assert_equal "$(grep -c "^f1@$DOVECOT_HOST " "$HOME/.fetchids")" 5
  assert_equal "$(grep -c "^f2@example.org@$DOVECOT_HOST " "$HOME/.fetchids")" 2
  batch f1 3 33 "$T/second"
  account f1 f1
  run "$BIN/rcparse" f1 "$BIN/uidlstore" import fetchmail "$HOME/.fetchids"
  assert_success
  assert_output ""
  run "$BIN/rcparse" f1 "$BIN/uidlstore" list
  assert_equal "$(wc -l <<< "$output")" 5
  run timeout 60 "$BIN/mpop" -Q f1
  assert_success
  assert_line --regexp '^new: 3 messages in .*, total: 8 messages in '
  expect_delivered "$T/second" "$HOME/Mail/f1"
  # keep off: what fetchmail had seen is deleted too
  [ "$(dovecot_message_count f1)" -eq 0 ]
  # the user name with an @ is matched whole
  account f2 'f2@example.org' "keep on"
  run "$BIN/rcparse" f2 "$BIN/uidlstore" import fetchmail "$HOME/.fetchids"
  assert_success
  run timeout 60 "$BIN/mpop" -Q f2
  assert_success
  assert_line --regexp '^new: no messages, total: 2 messages'
}

@test "migration: from fetchmail with another server name (via): user@host chooses the lines" {
  cat > "$T/fetchids" <<EOF
joe@mail.example.org uid-1
joe@mail.example.org uid-2
ann@mail.example.org uid-3
EOF
  run "$BIN/uidlstore" -f "$T/uidls" -h pop.example.org -u joe import fetchmail "$T/fetchids"
  assert_success
  assert_output "uidlstore: warning: $T/fetchids has no UIDs for joe@pop.example.org"
  run "$BIN/uidlstore" -f "$T/uidls" -h pop.example.org -u joe import fetchmail "$T/fetchids" joe@mail.example.org
  assert_success
  assert_output ""
  run "$BIN/uidlstore" -f "$T/uidls" -h pop.example.org -u joe list
  assert_equal "$(cut -d' ' -f1 <<< "$output")" "uid-1
uid-2"
  run "$BIN/uidlstore" -f "$T/uidls" list -a
  assert_line --index 0 " 2 pop.example.org joe"
}

getmail_run () { # USER: getmail (delete = false) into /dev/null for this Dovecot user
  mkdir -p "$HOME/.getmail"
  cat > "$HOME/.getmail/getmailrc" <<EOF
[retriever]
type = SimplePOP3Retriever
server = $DOVECOT_HOST
port = $DOVECOT_PORT
username = $1
password = secret

[destination]
type = MDA_external
path = /bin/true
allow_root_commands = true

[options]
delete = false
read_all = false
verbose = 0
EOF
  timeout 60 getmail --getmaildir "$HOME/.getmail"
}

@test "migration: from getmail: its oldmail file imported with its times, our mpop fetches only what getmail did not" {
  command -v getmail
  dovecot_user g1 secret
  batch g1 4 41 "$T/first"
  run getmail_run g1
  assert_success
  oldmail="$HOME/.getmail/oldmail-$DOVECOT_HOST-$DOVECOT_PORT-g1"
  [ -f "$oldmail" ]
  [ "$(tr -cd '\0' < "$oldmail" | wc -c)" -eq 4 ]
  batch g1 2 42 "$T/second"
  account g1 g1 "keep on"
  run "$BIN/rcparse" g1 "$BIN/uidlstore" import getmail "$oldmail"
  assert_success
  assert_output ""
  # the same UIDs and times as getmail's
  run "$BIN/rcparse" g1 "$BIN/uidlstore" list
  assert_equal "$output" "$(tr '\0' ' ' < "$oldmail" | sort)"
  run timeout 60 "$BIN/mpop" -Q g1
  assert_success
  assert_line --regexp '^new: 2 messages in .*, total: 6 messages in '
  expect_delivered "$T/second" "$HOME/Mail/g1"
  [ "$(dovecot_message_count g1)" -eq 6 ]
}

@test "migration: import merges into the account's list, earlier times win, other accounts stay" {
  printf 'old-1\0001000\nshared\000900\n' > "$T/oldmail"
  printf ' 2 pop.example.org joe\nshared 500\nmine 1500\n 1 other.example.org ann\nx 7\n' > "$T/uidls"
  run "$BIN/uidlstore" -f "$T/uidls" -h pop.example.org -u joe import getmail "$T/oldmail"
  assert_success
  run "$BIN/uidlstore" -f "$T/uidls" list -a
  assert_output " 3 pop.example.org joe
mine 1500
old-1 1000
shared 500
 1 other.example.org ann
x 7"
  # importing twice changes nothing
  cp "$T/uidls" "$T/uidls.before"
  run "$BIN/uidlstore" -f "$T/uidls" -h pop.example.org -u joe import getmail "$T/oldmail"
  assert_success
  cmp "$T/uidls" "$T/uidls.before"
}

@test "migration: malformed files stop with 65 and FILE, line N, the UIDLs file untouched" {
  printf ' 1 h u\nkept 5\n' > "$T/uidls"
  cp "$T/uidls" "$T/uidls.before"
  check () { # FORMAT MESSAGE: the file $T/in
    run "$BIN/uidlstore" -f "$T/uidls" -h h -u u import "$1" "$T/in"
    assert_failure 65
    assert_output "uidlstore: $T/in, line $2"
    cmp "$T/uidls" "$T/uidls.before"
    [ ! -e "$T/uidls.journal" ]
  }
  printf 'u@h a\nno-space-here\n' > "$T/in" ; check fetchmail "2: not a fetchmail UID line (user@host UID)"
  printf 'u@h a\nnoat b\n' > "$T/in" ; check fetchmail "2: not a fetchmail UID line (user@host UID)"
  printf '@h a\n' > "$T/in" ; check fetchmail "1: not a fetchmail UID line (user@host UID)"
  printf 'u@ a\n' > "$T/in" ; check fetchmail "1: not a fetchmail UID line (user@host UID)"
  printf 'u@h \n' > "$T/in" ; check fetchmail "1: invalid UID"
  printf 'u@h a\x01b\n' > "$T/in" ; check fetchmail "1: invalid UID"
  printf 'a\0001\n\nb\n' > "$T/in" ; check getmail "3: not a getmail oldmail line (UID NUL time)"
  printf 'a\000x\n' > "$T/in" ; check getmail "1: invalid timestamp"
  printf 'a\000\n' > "$T/in" ; check getmail "1: invalid timestamp"
  printf 'a\000-5\n' > "$T/in" ; check getmail "1: invalid timestamp"
  printf 'a\0001 2\n' > "$T/in" ; check getmail "1: invalid timestamp"
  printf '\0001\n' > "$T/in" ; check getmail "1: invalid UID"
  printf '12345/INBOX/7\0001\n' > "$T/in" ; check getmail "1: IMAP message ID: not the oldmail file of a POP3 account"
  # a missing UIDLs file is not created either
  rm "$T/uidls"
  run "$BIN/uidlstore" -f "$T/uidls" -h h -u u import getmail "$T/in"
  assert_failure 65
  [ ! -e "$T/uidls" ]
}

@test "migration: import usage errors, unreadable files, no account" {
  : > "$T/in"
  for args in "import" "import fetchmail" "import getmail" "import getmail $T/in x" \
              "import fetchmail $T/in a@b c" "import mpop $T/in" ; do
    # shellcheck disable=SC2086
    run "$BIN/uidlstore" -f "$T/uidls" -h h -u u $args
    assert_failure 64
    assert_output --partial "uidlstore: usage: "
  done
  run "$BIN/uidlstore" -f "$T/uidls" -h h -u u import getmail "$T/missing"
  assert_failure 74
  assert_output --partial "uidlstore: cannot read $T/missing: "
  run "$BIN/uidlstore" -f "$T/uidls" import getmail "$T/in"
  assert_failure 64
  assert_output "uidlstore: no account: give -h host and -u user, or run under rcparse"
  [ ! -e "$T/uidls" ]
}

# --- mpop --adopt -------------------------------------------------------------

@test "adopt: the 5 messages on the server are recorded without RETR or DELE; the next run fetches only the 2 that came after" {
  dovecot_user a1 secret
  batch a1 5 51 "$T/first"
  account a1 a1
  run timeout 60 "$BIN/mpop" --adopt -d a1
  assert_success
  assert_line --regexp '^new: 5 messages in .*, total: 5 messages in '
  assert_line 'marked 5 messages as retrieved, without retrieving them'
  assert_line -- '--> UIDL'
  refute_line --regexp '^--> (RETR|DELE|TOP)'
  [ "$(count "$HOME/Mail/a1")" -eq 0 ]
  [ "$(dovecot_message_count a1)" -eq 5 ]
  run "$BIN/rcparse" a1 "$BIN/uidlstore" list
  assert_equal "$(cut -d' ' -f1 <<< "$output")" "$(server_uids a1)"
  batch a1 2 52 "$T/second"
  run timeout 60 "$BIN/mpop" -Q a1
  assert_success
  assert_line --regexp '^new: 2 messages in .*, total: 7 messages in '
  expect_delivered "$T/second" "$HOME/Mail/a1"
  # keep off: adopted messages count as retrieved, so they go too
  [ "$(dovecot_message_count a1)" -eq 0 ]
}

@test "adopt: twice changes nothing; rcparse ACCOUNT pop3fetch -m in pipe mode writes an empty stream" {
  dovecot_user a2 secret
  batch a2 5 53 "$T/first"
  account a2 a2 "keep on"
  run timeout 60 "$BIN/mpop" --adopt a2
  assert_success
  uidls="$HOME/.mpop_uidls/a2_at_$DOVECOT_HOST"
  "$BIN/uidlstore" -f "$uidls" list -a > "$T/uidls.1"
  timeout 60 "$BIN/rcparse" a2 "$BIN/pop3fetch" -m > "$T/out" 2> "$T/err"
  assert_equal "$(cat "$T/out")" "13:mpop-stream 1,3:end,"
  run cat "$T/err"
  assert_line --index 0 "a2 at $DOVECOT_HOST:"
  assert_line --index 1 --regexp '^new: no messages, total: 5 messages in '
  assert_line --index 2 "no new messages to mark as retrieved"
  "$BIN/uidlstore" -f "$uidls" list -a | cmp - "$T/uidls.1"
  [ ! -e "$uidls.journal" ]
  run timeout 60 "$BIN/mpop" -q a2
  assert_success
  assert_output ""
  [ "$(count "$HOME/Mail/a2")" -eq 0 ]
  [ "$(dovecot_message_count a2)" -eq 5 ]
}

@test "adopt: with a keep duration, known UIDs keep their first-seen times, gone ones are forgotten, nothing is deleted" {
  dovecot_user a3 secret
  batch a3 5 54 "$T/first"
  account a3 a3 "keep 1d"
  mapfile -t uids < <(server_uids a3)
  mkdir -p "$HOME/.mpop_uidls"
  uidls="$HOME/.mpop_uidls/a3_at_$DOVECOT_HOST"
  printf ' 3 %s a3\n%s 1000\n%s 2000\ngone 3000\n 1 other.example.org ann\nx 7\n' \
    "$DOVECOT_HOST" "${uids[0]}" "${uids[1]}" > "$uidls"
  before=$(date +%s)
  run timeout 60 "$BIN/mpop" --adopt a3
  assert_success
  assert_line --regexp '^new: 3 messages in .*, total: 5 messages in '
  assert_line 'marked 3 messages as retrieved, without retrieving them'
  [ "$(dovecot_message_count a3)" -eq 5 ]
  run "$BIN/rcparse" a3 "$BIN/uidlstore" list
  assert_equal "$(cut -d' ' -f1 <<< "$output")" "$(server_uids a3)"
  assert_line "${uids[0]} 1000"
  assert_line "${uids[1]} 2000"
  refute_line --partial gone
  for u in "${uids[@]:2}" ; do
    t=$(grep -F "$u " <<< "$output" | cut -d' ' -f2)
    [ "$t" -ge "$before" ] && [ "$t" -le "$(date +%s)" ]
  done
  run "$BIN/uidlstore" -f "$uidls" list -a
  assert_line " 1 other.example.org ann"
  assert_line "x 7"
  # the next session deletes the two known for more than a day, keeps the rest
  run timeout 60 "$BIN/mpop" -q a3
  assert_success
  [ "$(count "$HOME/Mail/a3")" -eq 0 ]
  [ "$(dovecot_message_count a3)" -eq 3 ]
}

@test "adopt: waits for the lock of the UIDLs file" {
  dovecot_user a4 secret
  batch a4 2 55 "$T/first"
  account a4 a4 "keep on"
  uidls="$HOME/.mpop_uidls/a4_at_$DOVECOT_HOST"
  mkdir -p "$HOME/.mpop_uidls"
  # the holder copies the file just before it lets the lock go: adopt must
  # not have written it yet
  "$BIN/uidlstore" -f "$uidls" lock sh -c 'touch "$1.held" ; sleep 1 ; cp "$1" "$1.during"' sh "$uidls" &
  holder=$!
  for _ in $(seq 100) ; do [ -e "$uidls.held" ] && break ; sleep 0.1 ; done
  [ -e "$uidls.held" ]
  run timeout 60 "$BIN/mpop" -q --adopt a4
  assert_success
  wait "$holder"
  [ -e "$uidls.during" ] && [ ! -s "$uidls.during" ]
  run "$BIN/rcparse" a4 "$BIN/uidlstore" list
  assert_equal "$(cut -d' ' -f1 <<< "$output")" "$(server_uids a4)"
}

@test "adopt: a server without UIDL (not in CAPA, or -ERR without CAPA): status 69, QUIT, nothing recorded or deleted" {
  for capa in on off ; do
    printf 'capa-command %s\nuidl off\nmessages 3\n' "$capa" > "$T/nouidl.scn"
    faultpop_start "$T/nouidl.scn"
    run faultpop_mpop "$BIN/mpop" --adopt --auth=user --tls=off --keep=off \
      --delivery=maildir,"$T/md" --uidls-file="$T/uidls"
    assert_failure 69
    assert_line "mpop: the POP3 server does not support UIDL: its messages cannot be marked as retrieved"
    assert_line "mpop: error during mail retrieval"
    faultpop_wait
    run faultpop_commands
    assert_line QUIT
    refute_line --regexp '^(RETR|DELE|TOP)'
    run faultpop_remaining_uids
    assert_equal "$(wc -l <<< "$output")" 3
    run "$BIN/uidlstore" -f "$T/uidls" list -a
    assert_output ""
  done
}

@test "adopt: mpop --adopt refuses --serverinfo, --status-only and --auth-only; pop3fetch -m refuses -s and -A" {
  for o in -S -s -A ; do
    run "$BIN/mpop" --adopt "$o"
    assert_failure 64
    assert_output "mpop: cannot use --adopt with --serverinfo, --status-only or --auth-only"
  done
  for o in -s -A ; do
    run "$BIN/pop3fetch" -m "$o"
    assert_failure 64
    assert_output --partial "pop3fetch: usage: "
  done
}

@test "adopt: mpop's own way, --killsize=0 --keep=on, records everything without RETR or DELE" {
  dovecot_user a5 secret
  batch a5 3 56 "$T/first"
  account a5 a5
  run timeout 60 "$BIN/mpop" --killsize=0 --keep=on a5
  assert_success
  assert_line 'skipping message 3 of 3 (reason: killsize + keep)'
  refute_line --partial 'retrieving'
  [ "$(count "$HOME/Mail/a5")" -eq 0 ]
  [ "$(dovecot_message_count a5)" -eq 3 ]
  run "$BIN/rcparse" a5 "$BIN/uidlstore" list
  assert_equal "$(cut -d' ' -f1 <<< "$output")" "$(server_uids a5)"
}

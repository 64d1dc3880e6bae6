#!/usr/bin/env bash
# tests/demo.sh: a short, self-contained demonstration (`make demo`).
#
# Starts a private Dovecot POP3 server on 127.0.0.1 with a freshly generated
# certificate authority and five sample messages (tests/data/demo/), writes an
# rc file, runs OUR mpop ($MPOP_BUILD/bin/mpop -C rcfile) to fetch them over
# TLS into a maildir, shows what arrived, and stops the server. Nothing
# outside a temporary directory is touched; nothing leaves 127.0.0.1.
#
# Environment:
#   MPOP_BUILD   build directory containing bin/ (default build/std; relative
#                paths are taken from the current directory)
#   DEMO_MPOP    run this mpop instead of $MPOP_BUILD/bin/mpop (e.g.
#                DEMO_MPOP=/usr/bin/mpop to see Debian's reference mpop)
#   DEMO_KEEP=1  keep the temporary directory (its path is printed)
# Exit status: 0 when all messages were delivered, 1 otherwise (including
# "retrieval not built yet").

set -u
umask 077

HERE=$(cd "$(dirname "$0")" && pwd)
: "${MPOP_BUILD:=build/std}"
case $MPOP_BUILD in /*) ;; *) MPOP_BUILD="$PWD/$MPOP_BUILD" ;; esac
MPOP=${DEMO_MPOP:-$MPOP_BUILD/bin/mpop}

# shellcheck source=lib/dovecot.bash
. "$HERE/lib/dovecot.bash"

if [ -t 1 ] ; then B=$'\e[1m' D=$'\e[2m' G=$'\e[32m' R=$'\e[31m' N=$'\e[0m'
else B='' D='' G='' R='' N='' ; fi
step () { printf '\n%s==> %s%s\n' "$B" "$*" "$N" ; }
say () { printf '    %s\n' "$@" ; }
indent () { sed 's/^/    | /' ; }
fail () { printf '\n%s%s%s\n' "$R" "$*" "$N" >&2 ; exit 1 ; }

W=$(mktemp -d "${TMPDIR:-/tmp}/mpop-demo.XXXXXX") || exit 1
cleanup () {
  dovecot_stop "$W/dovecot" 2>/dev/null
  if [ "${DEMO_KEEP:-0}" = 1 ] ; then
    printf '\n%sKept %s%s\n' "$D" "$W" "$N"
  else
    rm -rf "$W"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

printf '%smpop demo%s: fetch mail from a private POP3 server over TLS\n' "$B" "$N"
printf '%s(work directory %s)%s\n' "$D" "$W" "$N"

step "Creating a throwaway certificate authority"
pki_make "$W/pki" || fail "could not create the PKI (is openssl installed?)"
say "CA:                 $(openssl x509 -noout -subject -in "$W/pki/ca.pem" | sed 's/^subject=//')"
say "server certificate: CN=localhost, IP 127.0.0.1, signed by that CA"
say "SHA-256 fingerprint $(cat "$W/pki/server.sha256")"

step "Starting a private Dovecot POP3 server"
command -v dovecot >/dev/null || fail "dovecot is not installed (package dovecot-pop3d)"
dovecot_start "$W/dovecot" --pki "$W/pki" || fail "Dovecot did not start (see the log above)"
say "listening on 127.0.0.1: port $DOVECOT_PORT (POP3 + STLS), port $DOVECOT_PORT_TLS (POP3 over TLS)"

step "Creating the mailbox demo@ with some sample messages"
dovecot_user demo 'demo-password'
dovecot_add_message demo "$HERE"/data/demo/*.eml
for f in "$HERE"/data/demo/*.eml ; do
  say "$(sed -n 's/^Subject: //p' "$f" | head -n 1)   ${D}($(wc -c < "$f") bytes)${N}"
done
total=$(dovecot_message_count demo)
say "the server now holds $total messages for demo"

step "Writing an mpop configuration file"
mkdir -p "$W/home" "$W/Maildir/new" "$W/Maildir/cur" "$W/Maildir/tmp"
cat > "$W/mpoprc" <<EOF
# written by tests/demo.sh
defaults
tls on
tls_starttls off
tls_trust_file $W/pki/ca.pem
uidls_file $W/uidls

account demo
host 127.0.0.1
port $DOVECOT_PORT_TLS
user demo
password demo-password
delivery maildir $W/Maildir
keep off

account default : demo
EOF
chmod 600 "$W/mpoprc"
sed 's/^password .*/password ********/' "$W/mpoprc" | indent

step "Running mpop"
missing=''
if [ -z "${DEMO_MPOP:-}" ] ; then
  for p in mpop rcparse pop3fetch mdeliver ; do
    [ -x "$MPOP_BUILD/bin/$p" ] || missing="$missing $p"
  done
elif [ ! -x "$MPOP" ] ; then
  missing=" $MPOP"
fi
if [ -n "$missing" ] ; then
  say "${R}Retrieval is not built yet: missing in $MPOP_BUILD/bin:$missing${N}"
  say "Build it first (make), then run make demo again."
  say "(The server side works: the mailbox holds $total messages.)"
  exit 1
fi
export HOME="$W/home"
for v in $(env | sed -n 's/^\(MPOP_[A-Z0-9_]*\)=.*/\1/p') ; do unset "$v" ; done
say "\$ $MPOP -C $W/mpoprc --status-only"
timeout 60 "$MPOP" -C "$W/mpoprc" --status-only </dev/null 2>&1 | indent
rc=${PIPESTATUS[0]}
[ "$rc" = 0 ] || say "${R}(status query exited with $rc)${N}"
say "\$ $MPOP -C $W/mpoprc"
timeout 60 "$MPOP" -C "$W/mpoprc" </dev/null 2>&1 | indent
rc=${PIPESTATUS[0]}
if [ "$rc" != 0 ] ; then
  say "${R}mpop exited with status $rc${N}"
  say "last lines of Dovecot's log:"
  tail -n 5 "$W/dovecot/dovecot.log" | indent
fi

step "What arrived in $W/Maildir"
n=0
for f in "$W"/Maildir/new/* "$W"/Maildir/cur/* ; do
  [ -f "$f" ] || continue
  n=$((n + 1))
  say "$(printf '%-60s %6s bytes' "${f#"$W"/Maildir/}" "$(wc -c < "$f")")"
done
[ "$n" -gt 0 ] || say "(nothing)"
if [ "$n" -gt 0 ] ; then
  first=$(grep -l '^Subject: Welcome' "$W"/Maildir/new/* "$W"/Maildir/cur/* 2>/dev/null | head -n 1)
  [ -n "$first" ] || first=$(ls "$W"/Maildir/new/* "$W"/Maildir/cur/* 2>/dev/null | head -n 1)
  step "The first lines of one message (${first##*/})"
  head -n 14 "$first" | indent
fi

left=$(dovecot_message_count demo)
step "Server side"
say "the server now holds $left of $total messages (keep off: retrieved mail is deleted)"

if [ "$rc" = 0 ] && [ "$n" = "$total" ] && [ "$left" = 0 ] ; then
  printf '\n%sDemo complete: %d of %d messages delivered.%s\n' "$G" "$n" "$total" "$N"
  exit 0
fi
printf '\n%sDemo incomplete: %d of %d messages delivered, %d left on the server.%s\n' "$R" "$n" "$total" "$left" "$N"
exit 1

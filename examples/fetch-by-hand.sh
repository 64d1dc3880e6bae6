#!/bin/bash
# fetch-by-hand.sh [-C rcfile] account [maildir]
#
# What "mpop account" does, spelled out as a pipeline of the toolkit's
# programs, to show how they compose (and as a start for your own):
#
#   rcparse   reads the account from the configuration file, puts its
#             settings in the environment (MPOP_HOST, MPOP_USER...) and
#             runs the rest of its command line;
#   pop3fetch runs the POP3 session and, without a deliverer of its own
#             ("pipe mode"), writes the messages to its standard output as
#             an mpop-stream;
#   mdeliver  stores each message of the stream in the maildir (or, without
#             a maildir argument, as the account's "delivery" command says)
#             and writes the UID of each message once it is safely stored;
#   uidlstore add  records those UIDs in the account's UIDLs file, so that
#             the next session knows these messages were retrieved.
#
# In pipe mode pop3fetch cannot see the deliveries, so it deletes nothing
# on the server during this session: the next session (this script again,
# or mpop) treats the recorded messages as retrieved, skips them, and
# deletes them unless "keep" says otherwise.
#
# The toolkit's programs are looked for in $MPOP_BIN if set, else in PATH.
set -u

usage () { echo "usage: fetch-by-hand.sh [-C rcfile] account [maildir]" >&2 ; exit 64 ; }

rcfile=${MPOPRC:-$HOME/.mpoprc}
if [ "${1:-}" = -C ] ; then
  [ $# -ge 2 ] || usage
  rcfile=$2
  shift 2
fi
[ $# -eq 1 ] || [ $# -eq 2 ] || usage
account=$1
bin=${MPOP_BIN:+$MPOP_BIN/}

if [ $# -eq 2 ] ; then
  deliver=("${bin}mdeliver" maildir "$2")
else
  deliver=("${bin}rcparse" -C "$rcfile" "$account" "${bin}mdeliver")
fi

"${bin}rcparse" -C "$rcfile" "$account" "${bin}pop3fetch" |
  "${deliver[@]}" |
  "${bin}rcparse" -C "$rcfile" "$account" "${bin}uidlstore" add
status=("${PIPESTATUS[@]}")

# Each program explains its own failure on standard error; a failure
# usually makes its neighbours fail too (a deliverer that stops breaks
# pop3fetch's pipe, a session that breaks leaves the stream unfinished).
for s in "${status[@]}" ; do
  if [ "$s" -ne 0 ] ; then
    echo "fetch-by-hand.sh: exit statuses: pop3fetch ${status[0]}, mdeliver ${status[1]}, uidlstore ${status[2]}" >&2
    exit "$s"
  fi
done
exit 0

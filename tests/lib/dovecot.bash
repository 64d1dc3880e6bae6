# tests/lib/dovecot.bash: a private, throwaway Dovecot 2.3 POP3 server on
# loopback for the tests (and demo/bench). Source it (bats: `load lib/dovecot`).
#
#   dovecot_start DIR [options]
#       Writes DIR/dovecot.conf and starts `dovecot -F -c DIR/dovecot.conf` as
#       a background child of the calling shell, on random free ports, and
#       waits (bounded, 15 s) until the POP3 port sends its greeting and the
#       POP3S port accepts connections. Everything lives under DIR (see the
#       layout below). Exports:
#         DOVECOT_DIR       DIR (absolute)
#         DOVECOT_HOST      127.0.0.1 or ::1
#         DOVECOT_PORT      plain POP3 port (STLS offered unless --no-ssl)
#         DOVECOT_PORT_TLS  POP3S port (implicit TLS; empty with --no-ssl)
#         DOVECOT_PID       pid of the master process
#         DOVECOT_PKI       the PKI directory (see pki.bash), DOVECOT_CA its ca.pem
#       Options:
#         --ipv6            listen on ::1 instead of 127.0.0.1
#         --listen ADDR     listen on ADDR (loopback addresses only!)
#         --pki DIR         PKI directory, built with pki_make if needed
#                           (default: $(pki_default_dir), shared by a bats run)
#         --cert NAME       server certificate DIR/NAME.pem with key
#                           DIR/${NAME%-chain}.key from the PKI (default: server);
#                           e.g. server-rsa, server-expired, server-int-chain
#         --mechs "LIST"    auth_mechanisms (default: plain login cram-md5
#                           digest-md5 scram-sha-1 scram-sha-256 apop)
#         --no-ssl          ssl = no: no STLS capability, no POP3S listener
#         --ssl-min PROTO   ssl_min_protocol (default TLSv1.2)
#         --plaintext-auth-needs-tls
#                           disable_plaintext_auth = yes (default: no)
#         --lock-session    pop3_lock_session = yes (observed with 2.3.19: a
#                           second session of the same user is held at login
#                           until the first one ends; no quick -ERR [IN-USE])
#         --uidl-format F   pop3_uidl_format (default Dovecot's %08Xu%08Xv)
#         --auth-failure-delay SECS
#                           auth_failure_delay (default here 0; Dovecot's is 2)
#         --conf TEXT       append TEXT verbatim to dovecot.conf (repeatable;
#                           top-level settings given here override earlier ones)
#       Returns 1 (and prints Dovecot's log on stderr) when it does not start.
#
#   dovecot_stop [DIR]
#       Stops the instance in DIR (default $DOVECOT_DIR): SIGTERM to the master,
#       waits (bounded) until the master and the children it had are gone,
#       SIGKILLs leftovers by pid. Safe to call twice or when never started.
#
#   dovecot_user NAME PASSWORD
#       Adds (or replaces) a user with a plaintext password and an empty
#       Maildir. Works before or while the server runs (the passwd-file is
#       re-read when it changes). NAME and PASSWORD must not contain ':' or
#       newlines.
#
#   dovecot_add_message USER FILE...
#       Puts copies of the FILEs (LF line ends) into USER's Maildir/new, in
#       order (Dovecot numbers them in that order), via Maildir/tmp.
#
#   dovecot_add_generated USER COUNT [SEED [MIX]]
#       Generates COUNT messages with msggen.py (default seed 1, mix default),
#       keeps the originals in $(dovecot_orig_dir USER) (accumulating: a
#       second call continues the numbering) and adds them to USER's Maildir.
#   dovecot_orig_dir USER       prints DIR/orig/USER
#   dovecot_maildir USER        prints USER's Maildir path
#   dovecot_message_count USER  prints the number of messages (new + cur)
#   dovecot_log                 prints Dovecot's log (DIR/dovecot.log)
#
#   dovecot_pop3_session [--tls] [--cafile FILE] [PORT] < commands
#       A scripted POP3 client (nettool.py session): prints the greeting and
#       every response, one command per input line, CRLF -> LF. PORT defaults
#       to $DOVECOT_PORT ($DOVECOT_PORT_TLS with --tls). "STLS" in the input
#       switches to TLS. E.g.
#         dovecot_pop3_session <<<$'USER alice\nPASS secret\nSTAT\nQUIT'
#
# Layout of DIR:
#   dovecot.conf  passwd (passwd-file: passdb and userdb)  dovecot.log
#   dovecot.out (Dovecot's stdout/stderr)  dovecot.pid (master pid)
#   run/ (base_dir; a short dir in /tmp instead when DIR is too long for
#   unix socket paths: run is then a symlink to it, removed by dovecot_stop)
#   state/ (state_dir)  home/USER/Maildir  orig/USER (generated originals)
#
# Call dovecot_start in the shell that will call dovecot_stop (setup/teardown,
# setup_file/teardown_file, a script's main shell), not in $(...) or `run`:
# the master is started with a parent-death signal, so it is terminated when
# that shell exits even if dovecot_stop is never reached (bats interrupted).
#
# Dovecot facts worth knowing when writing tests:
# - A client whose address equals the server's (127.0.0.1 -> 127.0.0.1) is
#   "secured": disable_plaintext_auth/ssl=required do not apply to it. Use
#   --listen 127.0.0.2 (clients then connect from 127.0.0.1) with
#   --plaintext-auth-needs-tls to get "-ERR [AUTH] Plaintext authentication
#   disallowed" (the certificates name localhost, not 127.0.0.2).
# - After a failed login Dovecot's anvil delays every further login from the
#   same address by 2..15 s (auth penalty; not configurable here). Do the
#   failing login last, or use a fresh instance for it.
# - The master is a background job of the calling shell: a bare `wait`
#   (without a pid) there waits for Dovecot too, i.e. forever.
# - The master writes master.pid in run/; UIDLs are %08Xu%08Xv (IMAP UID +
#   UIDVALIDITY), so they differ between instances but are stable within one.
#
# Root vs. non-root: as root, Dovecot refuses to run mail processes as uid 0,
# and the per-test directories (0700, root) are not reachable by other users.
# So as root: default_internal_user = dovecot, default_login_user = dovenull
# (both created by the Debian package), the auth service runs as root (to
# read the passwd-file under DIR), and mail processes run as the "dovecot"
# user chrooted into DIR/home (home = DIR/home/./USER, valid_chroot_dirs);
# home/USER is chowned to that user. As a normal user everything runs as
# that user without chroots.

DOVECOT_LIB_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=pki.bash
. "$DOVECOT_LIB_DIR/pki.bash"

_dovecot_py () {
  if [ -x /usr/bin/python3 ] ; then /usr/bin/python3 "$@" ; else python3 "$@" ; fi
}

_dovecot_alive () { # PID: running and not a zombie
  local st
  st=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  st=${st##*) }
  case ${st%% *} in Z|X) return 1 ;; esac
  return 0
}

_dovecot_mail_ids () { # prints "uid gid" of the mail processes' owner
  if [ "$(id -u)" = 0 ] ; then
    printf '%s %s\n' "$(id -u dovecot)" "$(id -g dovecot)"
  else
    printf '%s %s\n' "$(id -u)" "$(id -g)"
  fi
}

_dovecot_write_conf () { # DIR PORT PORT_TLS
  local d="$1" port="$2" tport="$3" internal login group rootmode=0
  if [ "$(id -u)" = 0 ] ; then
    rootmode=1 ; internal=dovecot ; login=dovenull ; group=dovecot
    if ! id dovecot >/dev/null 2>&1 || ! id dovenull >/dev/null 2>&1 ; then
      echo "dovecot_start: users dovecot and dovenull must exist (Debian package dovecot-core)" >&2
      return 1
    fi
  else
    internal=$(id -un) ; login=$internal ; group=$(id -gn)
  fi
  {
    cat <<EOF
# private test instance written by tests/lib/dovecot.bash
instance_name = mpoptest-${d//[^A-Za-z0-9_.-]/_}
base_dir = $_dc_base
state_dir = $d/state
log_path = $d/dovecot.log
info_log_path = $d/dovecot.log
debug_log_path = $d/dovecot.log
protocols = pop3
listen = $_dc_listen
shutdown_clients = yes
default_internal_user = $internal
default_login_user = $login
default_internal_group = $group
first_valid_uid = 1
first_valid_gid = 1
mail_location = maildir:~/Maildir
disable_plaintext_auth = $_dc_dpa
auth_mechanisms = $_dc_mechs
auth_verbose = yes
auth_failure_delay = $_dc_afd
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $d/users/%u
}
userdb {
  driver = passwd-file
  args = username_format=%u $d/users/%u
}
protocol pop3 {
  mail_max_userip_connections = 10000
  pop3_lock_session = $_dc_lock
EOF
    [ -n "$_dc_uidl" ] && printf '  pop3_uidl_format = %s\n' "$_dc_uidl"
    printf '}\n'
    if [ "$_dc_ssl" = yes ] ; then
      cat <<EOF
ssl = yes
ssl_cert = <$_dc_certfile
ssl_key = <$_dc_keyfile
ssl_min_protocol = $_dc_sslmin
EOF
    else
      printf 'ssl = no\n'
    fi
    printf 'service pop3-login {\n  inet_listener pop3 {\n    port = %s\n  }\n' "$port"
    if [ "$_dc_ssl" = yes ] ; then
      printf '  inet_listener pop3s {\n    port = %s\n    ssl = yes\n  }\n' "$tport"
    else
      printf '  inet_listener pop3s {\n    port = 0\n  }\n'
    fi
    printf '  service_count = 0\n  process_min_avail = 1\n'
    [ $rootmode = 0 ] && printf '  chroot =\n'
    printf '}\n'
    if [ $rootmode = 1 ] ; then
      printf 'valid_chroot_dirs = %s/home\nservice auth {\n  user = root\n}\n' "$d"
    else
      printf 'service anvil {\n  chroot =\n}\nservice auth-worker {\n  user = $default_internal_user\n}\n'
    fi
    local c
    for c in "${_dc_conf[@]}" ; do printf '%s\n' "$c" ; done
  } > "$d/dovecot.conf"
}

dovecot_start () {
  local d="${1:?usage: dovecot_start DIR [options]}" ; shift
  local _dc_listen=127.0.0.1 _dc_mechs='plain login cram-md5 digest-md5 scram-sha-1 scram-sha-256 apop'
  local _dc_ssl=yes _dc_sslmin=TLSv1.2 _dc_dpa=no _dc_lock=no _dc_uidl='' _dc_cert=server _dc_afd=0
  local pki=''
  local -a _dc_conf=()
  while [ $# -gt 0 ] ; do
    case $1 in
      --ipv6) _dc_listen=::1 ;;
      --listen) _dc_listen=$2 ; shift ;;
      --pki) pki=$2 ; shift ;;
      --cert) _dc_cert=$2 ; shift ;;
      --mechs) _dc_mechs=$2 ; shift ;;
      --no-ssl) _dc_ssl=no ;;
      --ssl-min) _dc_sslmin=$2 ; shift ;;
      --plaintext-auth-needs-tls) _dc_dpa=yes ;;
      --lock-session) _dc_lock=yes ;;
      --uidl-format) _dc_uidl=$2 ; shift ;;
      --auth-failure-delay) _dc_afd=$2 ; shift ;;
      --conf) _dc_conf+=("$2") ; shift ;;
      *) echo "dovecot_start: unknown option $1" >&2 ; return 1 ;;
    esac
    shift
  done
  case $_dc_listen in
    127.*|::1) ;;
    *) echo "dovecot_start: refusing to listen on non-loopback address $_dc_listen" >&2 ; return 1 ;;
  esac
  mkdir -p "$d" && d=$(cd "$d" && pwd) || return 1
  if [ -e "$d/dovecot.pid" ] && _dovecot_alive "$(cat "$d/dovecot.pid")" ; then
    echo "dovecot_start: an instance is already running in $d" >&2 ; return 1
  fi
  [ -n "$pki" ] || pki=$(pki_default_dir)
  pki_make "$pki" || return 1
  pki=$(cd "$pki" && pwd)
  local _dc_certfile="$pki/$_dc_cert.pem" _dc_keyfile="$pki/${_dc_cert%-chain}.key"
  if [ "$_dc_ssl" = yes ] && { [ ! -r "$_dc_certfile" ] || [ ! -r "$_dc_keyfile" ] ; } ; then
    echo "dovecot_start: no certificate/key $_dc_certfile / $_dc_keyfile" >&2 ; return 1
  fi

  mkdir -p "$d/state" "$d/home" "$d/orig" || return 1
  # as root the mail processes (uid dovecot) are chrooted into home/
  chmod 755 "$d/home" || return 1
  # One passwd-file per user: Dovecot checks a passwd-file for changes at
  # most once a second, so users added to one shared file in quick
  # succession would be unknown for a moment.
  mkdir -p "$d/users" && chmod 700 "$d/users" || return 1
  [ -e "$d/passwd" ] || : > "$d/passwd"
  chmod 600 "$d/passwd"
  # unix socket paths are limited to 107 bytes: keep base_dir short
  if [ -L "$d/run" ] ; then rm -rf "$(readlink "$d/run")" ; rm -f "$d/run" ; fi
  local _dc_base="$d/run"
  if [ ${#d} -gt 70 ] ; then
    _dc_base=$(mktemp -d "${TMPDIR:-/tmp}/dcv.XXXXXX") || return 1
    chmod 755 "$_dc_base"
    ln -s "$_dc_base" "$d/run"
  else
    rm -rf "$d/run" ; mkdir -p "$d/run"
  fi

  local try ports port tport pid _dc_pdeath=''
  if setpriv --pdeathsig TERM true 2>/dev/null ; then _dc_pdeath='setpriv --pdeathsig TERM' ; fi
  for try in 1 2 3 4 5 ; do
    ports=$(_dovecot_py "$DOVECOT_LIB_DIR/nettool.py" freeports --host "$_dc_listen" 2) || return 1
    port=${ports%%$'\n'*} ; tport=${ports##*$'\n'}
    [ "$_dc_ssl" = yes ] || tport=''
    _dovecot_write_conf "$d" "$port" "$tport" || return 1
    : > "$d/dovecot.log"
    rm -f "$d/run/master.pid"
    # own child, in the foreground (-F) so that it can be reaped; fds other
    # than 0-2 closed so that bats does not wait for it; SIGTERMed by the
    # kernel if the calling shell dies without dovecot_stop (setpriv)
    $_dc_pdeath dovecot -F -c "$d/dovecot.conf" </dev/null >"$d/dovecot.out" 2>&1 3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&- &
    pid=$!
    printf '%s\n' "$pid" > "$d/dovecot.pid"
    # bounded: 15 s, or until the master dies
    if _dovecot_py "$DOVECOT_LIB_DIR/nettool.py" wait --host "$_dc_listen" --timeout 15 --pid "$pid" \
         --greeting "$port" $tport ; then
      export DOVECOT_DIR="$d" DOVECOT_HOST="$_dc_listen" DOVECOT_PORT="$port" DOVECOT_PORT_TLS="$tport"
      export DOVECOT_PID="$pid" DOVECOT_PKI="$pki" DOVECOT_CA="$pki/ca.pem"
      return 0
    fi
    dovecot_stop "$d" >/dev/null 2>&1
    if grep -qi 'address already in use' "$d/dovecot.log" "$d/dovecot.out" 2>/dev/null ; then
      continue
    fi
    break
  done
  {
    echo "dovecot_start: Dovecot did not start (config $d/dovecot.conf)"
    echo "--- dovecot.out:" ; cat "$d/dovecot.out" 2>/dev/null
    echo "--- dovecot.log:" ; cat "$d/dovecot.log" 2>/dev/null
    echo "---"
  } >&2
  return 1
}

dovecot_stop () {
  local d="${1:-${DOVECOT_DIR:-}}" pid kids k i left
  [ -n "$d" ] && [ -e "$d/dovecot.pid" ] || return 0
  pid=$(cat "$d/dovecot.pid")
  if [ -n "$pid" ] && _dovecot_alive "$pid" ; then
    kids=$(_dovecot_children "$pid")
    # The master alone takes a second to exit (it waits for its log
    # process): signal the children at the same time.
    kill -TERM "$pid" $kids 2>/dev/null || true
    for i in $(seq 1 200) ; do
      _dovecot_alive "$pid" || break
      sleep 0.02
    done
    if _dovecot_alive "$pid" ; then
      echo "dovecot_stop: master $pid did not exit, killing it" >&2
      kill -KILL "$pid" 2>/dev/null || true
    fi
    # children started later (mail processes) are gone with the master's
    # exit; wait for the ones we know, then kill leftovers by pid
    kids="$kids $(_dovecot_children "$pid")"
    for i in $(seq 1 100) ; do
      left=''
      for k in $kids ; do _dovecot_alive "$k" && left="$left $k" ; done
      [ -z "$left" ] && break
      sleep 0.02
    done
    for k in $left ; do kill -KILL "$k" 2>/dev/null || true ; done
  fi
  wait "$pid" 2>/dev/null || true    # reap it (when it is our child)
  rm -f "$d/dovecot.pid"
  if [ -L "$d/run" ] ; then
    rm -rf "$(readlink "$d/run")" ; rm -f "$d/run"
  fi
  return 0
}

_dovecot_children () { # PID: pids of its children (by parent pid)
  pgrep -P "$1" | tr '\n' ' ' || true
}

_dovecot_need () {
  [ -n "${DOVECOT_DIR:-}" ] && [ -d "$DOVECOT_DIR" ] || {
    echo "${FUNCNAME[1]}: no Dovecot directory (call dovecot_start first)" >&2 ; return 1 ; }
}

_dovecot_home () { printf '%s/home/%s\n' "$DOVECOT_DIR" "$1" ; }
dovecot_maildir () { _dovecot_need && printf '%s/Maildir\n' "$(_dovecot_home "$1")" ; }
dovecot_orig_dir () { _dovecot_need && printf '%s/orig/%s\n' "$DOVECOT_DIR" "$1" ; }
dovecot_log () { _dovecot_need && cat "$DOVECOT_DIR/dovecot.log" ; }

dovecot_user () {
  local name="${1:?usage: dovecot_user NAME PASSWORD}" pass="${2?usage: dovecot_user NAME PASSWORD}"
  _dovecot_need || return 1
  case $name$pass in *:*|*$'\n'*) echo "dovecot_user: ':' and newlines not allowed" >&2 ; return 1 ;; esac
  case $name in */*|.*|'') echo "dovecot_user: bad user name $name" >&2 ; return 1 ;; esac
  local ids uid gid home line tmp
  ids=$(_dovecot_mail_ids) ; uid=${ids% *} ; gid=${ids#* }
  home=$(_dovecot_home "$name")
  mkdir -p "$home/Maildir/new" "$home/Maildir/cur" "$home/Maildir/tmp" || return 1
  if [ "$(id -u)" = 0 ] ; then
    chown -R "$uid:$gid" "$home" || return 1
    line="$name:{PLAIN}$pass:$uid:$gid::$DOVECOT_DIR/home/./$name::"
  else
    line="$name:{PLAIN}$pass:$uid:$gid::$home::"
  fi
  tmp="$DOVECOT_DIR/passwd.tmp"
  { grep -v "^$name:" "$DOVECOT_DIR/passwd" || true ; printf '%s\n' "$line" ; } > "$tmp"
  chmod 600 "$tmp" && mv -f "$tmp" "$DOVECOT_DIR/passwd"
  printf '%s\n' "$line" > "$DOVECOT_DIR/users/$name.tmp" && chmod 600 "$DOVECOT_DIR/users/$name.tmp" &&
    mv -f "$DOVECOT_DIR/users/$name.tmp" "$DOVECOT_DIR/users/$name"
}

dovecot_add_message () {
  local user="${1:?usage: dovecot_add_message USER FILE...}" ; shift
  _dovecot_need || return 1
  local md seqf seq ids
  md=$(dovecot_maildir "$user")
  [ -d "$md/new" ] || { echo "dovecot_add_message: no user $user (dovecot_user first)" >&2 ; return 1 ; }
  [ $# -gt 0 ] || return 0
  ids=$(_dovecot_mail_ids)
  seqf="$DOVECOT_DIR/home/.seq.$user"
  seq=$(cat "$seqf" 2>/dev/null || echo 0)
  # one process for all files (forks are slow under bats' debug trap).
  # Dovecot sorts new files by the time stamp in their names: keep the order.
  _dovecot_py - "$md" "$seq" "${ids% *}" "${ids#* }" "$@" > "$seqf.tmp" <<'PY' || return 1
import os, shutil, sys
md, seq, uid, gid = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
for f in sys.argv[5:]:
    seq += 1
    name = "%d.M%dP%d.mpoptest" % (1500000000 + seq, seq, os.getpid())
    tmp = os.path.join(md, "tmp", name)
    shutil.copyfile(f, tmp)
    os.chmod(tmp, 0o644)
    if os.getuid() == 0:
        os.chown(tmp, uid, gid)
    os.rename(tmp, os.path.join(md, "new", name))
print(seq)
PY
  mv -f "$seqf.tmp" "$seqf"
}

dovecot_add_generated () {
  local user="${1:?usage: dovecot_add_generated USER COUNT [SEED [MIX]]}" count="${2:?count}"
  local seed="${3:-1}" mix="${4:-default}" od start list
  _dovecot_need || return 1
  od=$(dovecot_orig_dir "$user")
  mkdir -p "$od" || return 1
  start=$(find "$od" -maxdepth 1 -name 'msg-*.eml' | wc -l)
  list=$(_dovecot_py "$DOVECOT_LIB_DIR/msggen.py" --seed "$seed" --count "$count" --start "$start" \
           --mix "$mix" --out "$od" --list) || return 1
  [ -n "$list" ] || return 0
  local -a files
  mapfile -t files <<<"$list"
  dovecot_add_message "$user" "${files[@]}"
}

dovecot_message_count () {
  local md
  _dovecot_need || return 1
  md=$(dovecot_maildir "${1:?usage: dovecot_message_count USER}")
  find "$md/new" "$md/cur" -maxdepth 1 -type f | wc -l
}

dovecot_pop3_session () {
  local tls='' cafile='' port
  while [ $# -gt 0 ] ; do
    case $1 in
      --tls) tls=--tls ;;
      --cafile) cafile=$2 ; shift ;;
      *) break ;;
    esac
    shift
  done
  if [ -n "$tls" ] ; then port=${1:-$DOVECOT_PORT_TLS} ; else port=${1:-$DOVECOT_PORT} ; fi
  _dovecot_py "$DOVECOT_LIB_DIR/nettool.py" session --host "${DOVECOT_HOST:-127.0.0.1}" $tls \
    ${cafile:+--cafile "$cafile"} "$port"
}

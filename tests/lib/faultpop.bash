# Helpers for bats tests that use the scripted POP3 server
# tests/faultpop/faultpop.py (documented in tests/faultpop/README.md).
#
#   load lib/common
#   load lib/faultpop
#   setup ()    { common_setup; }
#   teardown () { faultpop_stop; }
#
#   @test "..." {
#     faultpop_start drop-mid-retr            # a name in tests/faultpop/scenarios
#     faultpop_maildir "$T/md"
#     run faultpop_mpop "$BIN/mpop" --auth=user --tls=off \
#         --delivery=maildir,"$T/md" --uidls-file="$T/uidls"
#     assert_failure 74
#     faultpop_wait                          # the server exits after its sessions
#     run faultpop_deleted_uids ; assert_output ''
#     faultpop_log_has 'connection dropped at RETR 2'
#   }
#
# Never call faultpop_start through `run`: the server must be a child of the
# test's shell so that faultpop_stop/faultpop_wait can reap it.

FAULTPOP="$TESTS_DIR/faultpop/faultpop.py"
FAULTPOP_SCENARIOS="$TESTS_DIR/faultpop/scenarios"
POPCHAT="$TESTS_DIR/faultpop/popchat.py"
# Debian's python3 (the one the server is written for); PATH's as a fallback
if [ -z "${FAULTPOP_PYTHON:-}" ]; then
  if [ -x /usr/bin/python3 ]; then FAULTPOP_PYTHON=/usr/bin/python3; else FAULTPOP_PYTHON=python3; fi
fi

# faultpop ARGS... : run faultpop.py in the foreground (--check, --describe,
# --print, --inetd ...).
faultpop () {
  "$FAULTPOP_PYTHON" "$FAULTPOP" "$@"
}

# faultpop_scenario NAME|PATH : the path of a scenario. A bare name (with or
# without .scn) is looked up in tests/faultpop/scenarios.
faultpop_scenario () {
  case $1 in
    */*) printf '%s\n' "$1" ;;
    *.scn) printf '%s\n' "$FAULTPOP_SCENARIOS/$1" ;;
    *) printf '%s\n' "$FAULTPOP_SCENARIOS/$1.scn" ;;
  esac
}

# faultpop_cert : make (once per bats file) a self-signed certificate for
# localhost/127.0.0.1/::1; sets FAULTPOP_CERT and FAULTPOP_KEY. A client
# verifying the server uses FAULTPOP_CERT as its trust file.
faultpop_cert () {
  local d="${BATS_FILE_TMPDIR:-$BATS_TEST_TMPDIR}"
  FAULTPOP_CERT="$d/faultpop-tls/cert.pem"
  FAULTPOP_KEY="$d/faultpop-tls/key.pem"
  export FAULTPOP_CERT FAULTPOP_KEY
  [ -s "$FAULTPOP_CERT" ] && [ -s "$FAULTPOP_KEY" ] && return 0
  # made in a private directory, then renamed into place in one step, so
  # that tests running in parallel never see half a key pair
  local tmp="$d/faultpop-tls.$$.$RANDOM"
  mkdir -p "$tmp" &&
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -days 3650 -subj /CN=localhost \
    -addext subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1 \
    -addext basicConstraints=critical,CA:TRUE \
    -keyout "$tmp/key.pem" -out "$tmp/cert.pem" >/dev/null 2>&1 || {
    rm -rf "$tmp"
    echo "faultpop_cert: openssl failed" >&2
    return 1
  }
  mv -T "$tmp" "$d/faultpop-tls" 2>/dev/null || rm -rf "$tmp"
  [ -s "$FAULTPOP_CERT" ] && [ -s "$FAULTPOP_KEY" ]
}

# _faultpop_alive PID : true while PID runs (a zombie counts as gone).
_faultpop_alive () {
  [ -r "/proc/$1/stat" ] || return 1
  local stat
  read -r stat < "/proc/$1/stat" 2>/dev/null || return 1
  stat=${stat##*) }
  [ "${stat%% *}" != Z ]
}

# faultpop_start SCENARIO [faultpop options...]
# Starts faultpop in the background on 127.0.0.1, port 0, with a certificate
# (so STLS/implicit-TLS scenarios work), waits (at most 10 s) for its port
# file and exports:
#   FAULTPOP_PORT     the port (with --unix PATH: the socket path)
#   FAULTPOP_PID      its pid
#   FAULTPOP_DIR      its files (default $BATS_TEST_TMPDIR/faultpop; set it
#                     before the call to run several servers in one test)
#   FAULTPOP_LOG      JSON-lines log, FAULTPOP_STATE  JSON state file
#   FAULTPOP_SCENARIO the scenario path
# The state file is kept between faultpop_start calls with the same
# FAULTPOP_DIR, so a second start serves what the first left on the server.
# Extra options go to faultpop.py (e.g. --sessions 2, --messages DIR).
faultpop_start () {
  local scn
  scn=$(faultpop_scenario "$1") || return 1
  shift
  [ -r "$scn" ] || { echo "faultpop_start: no scenario $scn" >&2; return 1; }
  faultpop_stop
  FAULTPOP_DIR="${FAULTPOP_DIR:-$BATS_TEST_TMPDIR/faultpop}"
  FAULTPOP_LOG="$FAULTPOP_DIR/log.jsonl"
  FAULTPOP_STATE="$FAULTPOP_DIR/state.json"
  FAULTPOP_SCENARIO="$scn"
  export FAULTPOP_DIR FAULTPOP_LOG FAULTPOP_STATE FAULTPOP_SCENARIO
  mkdir -p "$FAULTPOP_DIR"
  rm -f "$FAULTPOP_DIR/port"
  local tls=()
  if faultpop_cert; then
    tls=(--tls-cert "$FAULTPOP_CERT" --tls-key "$FAULTPOP_KEY")
  fi
  "$FAULTPOP_PYTHON" "$FAULTPOP" --scenario "$scn" --port-file "$FAULTPOP_DIR/port" \
    --log "$FAULTPOP_LOG" --state "$FAULTPOP_STATE" "${tls[@]}" "$@" \
    </dev/null >>"$FAULTPOP_DIR/stdout" 2>>"$FAULTPOP_DIR/stderr" 3>&- &
  FAULTPOP_PID=$!
  export FAULTPOP_PID
  local i
  for (( i = 0; i < 100; i++ )); do
    if [ -s "$FAULTPOP_DIR/port" ]; then
      FAULTPOP_PORT=$(cat "$FAULTPOP_DIR/port")
      export FAULTPOP_PORT
      return 0
    fi
    if ! _faultpop_alive "$FAULTPOP_PID"; then
      wait "$FAULTPOP_PID" 2>/dev/null
      echo "faultpop_start: faultpop exited:" >&2
      cat "$FAULTPOP_DIR/stderr" >&2
      FAULTPOP_PID=
      return 1
    fi
    sleep 0.1
  done
  echo "faultpop_start: no port file after 10 s" >&2
  faultpop_stop
  return 1
}

# faultpop_wait [SECONDS] : wait (default at most 30 s) until the server has
# exited by itself (after its --sessions); then its state file is final.
# Returns 1 (and stops it) if it is still running.
faultpop_wait () {
  local limit=$(( ${1:-30} * 10 )) i
  [ -n "${FAULTPOP_PID:-}" ] || return 0
  for (( i = 0; i < limit; i++ )); do
    _faultpop_alive "$FAULTPOP_PID" || break
    sleep 0.1
  done
  if _faultpop_alive "$FAULTPOP_PID"; then
    echo "faultpop_wait: server still running after ${1:-30} s" >&2
    faultpop_stop
    return 1
  fi
  wait "$FAULTPOP_PID" 2>/dev/null
  FAULTPOP_PID=
  return 0
}

# faultpop_stop : stop the server if it still runs (SIGTERM, then SIGKILL
# after 5 s). Safe to call when none runs; use it in teardown.
faultpop_stop () {
  local pid="${FAULTPOP_PID:-}" i
  [ -n "$pid" ] || return 0
  FAULTPOP_PID=
  if _faultpop_alive "$pid"; then
    kill -TERM "$pid" 2>/dev/null
    for (( i = 0; i < 50; i++ )); do
      _faultpop_alive "$pid" || break
      sleep 0.1
    done
    _faultpop_alive "$pid" && kill -KILL "$pid" 2>/dev/null
  fi
  wait "$pid" 2>/dev/null
  return 0
}

# faultpop_log_has ERE : the log has a line matching the extended regexp
# (JSON lines, see README.md). On failure the log goes to stderr.
faultpop_log_has () {
  if grep -E -q -- "$1" "$FAULTPOP_LOG" 2>/dev/null; then
    return 0
  fi
  echo "faultpop log has no line matching: $1" >&2
  cat "$FAULTPOP_LOG" >&2 2>/dev/null
  return 1
}

# faultpop_log_lacks ERE : the opposite (no line matches).
faultpop_log_lacks () {
  if grep -E -q -- "$1" "$FAULTPOP_LOG" 2>/dev/null; then
    echo "faultpop log unexpectedly matches: $1" >&2
    grep -E -- "$1" "$FAULTPOP_LOG" >&2
    return 1
  fi
  return 0
}

# _faultpop_py CODE : run python code with the log path and state path.
_faultpop_py () {
  "$FAULTPOP_PYTHON" - "$FAULTPOP_LOG" "$FAULTPOP_STATE" "$@"
}

# faultpop_commands [SESSION] : the command lines the server received, one
# per line, in order (passwords and SASL data are redacted in the log).
faultpop_commands () {
  _faultpop_py "${1:-0}" <<'EOF'
import json, sys
log, state, session = sys.argv[1], sys.argv[2], int(sys.argv[3])
for line in open(log, encoding="utf-8"):
    e = json.loads(line)
    if e["event"] == "command" and session in (0, e["session"]):
        print(e["line"])
EOF
}

# faultpop_bursts [SESSION] : the commands received, one burst per line
# (commands the client sent before seeing the reply to the one before,
# i.e. pipelined together), joined with " + ".
faultpop_bursts () {
  _faultpop_py "${1:-0}" <<'EOF'
import json, sys
log, state, session = sys.argv[1], sys.argv[2], int(sys.argv[3])
cur, key = [], None
for line in open(log, encoding="utf-8"):
    e = json.loads(line)
    if e["event"] != "command" or session not in (0, e["session"]):
        continue
    k = (e["session"], e.get("burst"))
    if cur and k != key:
        print(" + ".join(cur))
        cur = []
    key = k
    cur.append(e["line"])
if cur:
    print(" + ".join(cur))
EOF
}

# faultpop_events EVENT : the log records of one event type (JSON, one per line).
faultpop_events () {
  grep -F "\"event\": \"$1\"" "$FAULTPOP_LOG" 2>/dev/null
}

# faultpop_deleted_uids : messages whose deletion was committed (QUIT in
# TRANSACTION state), in commit order, one per line (state keys: the UID,
# with #2, #3... for later duplicates).
faultpop_deleted_uids () {
  _faultpop_py <<'EOF'
import json, os, sys
path = sys.argv[2]
if os.path.exists(path):
    for k in json.load(open(path, encoding="utf-8"))["deleted"]:
        print(k)
EOF
}

# faultpop_remaining_uids : messages still on the server, one per line.
faultpop_remaining_uids () {
  _faultpop_py <<'EOF'
import json, os, sys
path = sys.argv[2]
if os.path.exists(path):
    for k in json.load(open(path, encoding="utf-8"))["remaining"]:
        print(k)
EOF
}

# faultpop_print FIELD [SCENARIO] : user, password, token or client-password
# of the scenario (default: the running one).
faultpop_print () {
  "$FAULTPOP_PYTHON" "$FAULTPOP" --scenario "$(faultpop_scenario "${2:-$FAULTPOP_SCENARIO}")" \
    --print "$1"
}

# faultpop_popchat [popchat options...] < script : talk to the running
# server with tests/faultpop/popchat.py (see its header for the script).
faultpop_popchat () {
  if [ -S "$FAULTPOP_PORT" ]; then
    "$FAULTPOP_PYTHON" "$POPCHAT" --unix "$FAULTPOP_PORT" "$@"
  else
    "$FAULTPOP_PYTHON" "$POPCHAT" --host 127.0.0.1 --port "$FAULTPOP_PORT" "$@"
  fi
}

# faultpop_maildir DIR : create an empty maildir.
faultpop_maildir () {
  mkdir -p "$1/cur" "$1/new" "$1/tmp"
}

# faultpop_mpop PROG [options...] : run an mpop-compatible PROG ($REFMPOP or
# "$BIN/mpop") against the running server, under `timeout 20` (mpop 1.4.18
# loops forever when a server closes the connection mid-message), with
# --host, --port, --user and --passwordeval set from the scenario (the
# secret is the scenario's client-password, passed through a 0600 file).
# Add --auth, --tls, --delivery, --uidls-file and the rest yourself.
faultpop_mpop () {
  local prog=$1 secret="$FAULTPOP_DIR/client-secret" user
  shift
  user=$(faultpop_print user) || return 1
  (umask 077 && faultpop_print client-password | tr -d '\n' > "$secret") || return 1
  timeout 20 "$prog" --host=127.0.0.1 --port="$FAULTPOP_PORT" --user="$user" \
    --passwordeval="cat '$secret'" "$@"
}

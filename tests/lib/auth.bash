# tests/lib/auth.bash: helpers of the authentication tests (tests/auth-*.bats).
# Load after lib/common.
#
#   authfp_start SCENARIO [faultpop options]
#       starts tests/faultpop/faultpop.py with SCENARIO (a file) in the
#       background on 127.0.0.1, port chosen by the kernel, and waits (at
#       most 10 s) for its port file. Exports AUTHFP_PORT, AUTHFP_PID,
#       AUTHFP_LOG (JSON lines). Never call it through `run`.
#   authfp_stop          stops it (safe without a server; use in teardown)
#   authfp_auth_event    the log's "auth" records
#   authfp_commands      the command lines the server received
#   auth_rc NAME PORT [rc lines...]
#       writes $T/NAME: account default on 127.0.0.1:PORT plus the lines,
#       mode 0600; prints the path
#   auth_login RC [auth-test login options]
#       rcparse -C RC -S default auth-test login ..., under timeout 30

AUTH_PKI=${BATS_RUN_TMPDIR:-${TMPDIR:-/tmp}}/pki
# shellcheck source=pki.bash
. "$TESTS_DIR/lib/pki.bash"

authfp_start () {
  local scn="$1" d="$T/faultpop" i
  shift
  mkdir -p "$d"
  rm -f "$d/port" "$d/log" "$d/state"
  /usr/bin/python3 "$TESTS_DIR/faultpop/faultpop.py" --scenario "$scn" --port-file "$d/port" \
    --log "$d/log" --state "$d/state" --idle-timeout 30 --max-lifetime 120 "$@" \
    </dev/null >"$d/out" 2>&1 3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&- &
  AUTHFP_PID=$!
  for i in $(seq 1 200) ; do
    [ -s "$d/port" ] && break
    kill -0 "$AUTHFP_PID" 2>/dev/null || break
    sleep 0.05
  done
  [ -s "$d/port" ] || { echo "faultpop did not start:" >&2 ; cat "$d/out" >&2 ; return 1 ; }
  AUTHFP_PORT=$(cat "$d/port")
  AUTHFP_LOG="$d/log"
  export AUTHFP_PORT AUTHFP_PID AUTHFP_LOG
}

authfp_stop () {
  [ -n "${AUTHFP_PID:-}" ] || return 0
  local i
  kill -TERM "$AUTHFP_PID" 2>/dev/null || true
  for i in $(seq 1 100) ; do
    kill -0 "$AUTHFP_PID" 2>/dev/null || break
    sleep 0.05
  done
  kill -KILL "$AUTHFP_PID" 2>/dev/null || true
  wait "$AUTHFP_PID" 2>/dev/null || true
  AUTHFP_PID=''
}

authfp_auth_event () { grep '"event": "auth"' "$AUTHFP_LOG" ; }

authfp_commands () {
  /usr/bin/python3 -c '
import json, sys
for l in open(sys.argv[1]):
    r = json.loads(l)
    if r.get("event") == "command":
        print(r["line"])' "$AUTHFP_LOG"
}

auth_rc () {
  local name="$1" port="$2" f
  shift 2
  f=$(printf 'account default\nhost 127.0.0.1\nport %s\n' "$port" ; printf '%s\n' "$@")
  printf '%s\n' "$f" | rc "$name"
}

auth_login () {
  local rcf="$1"
  shift
  timeout 30 "$BIN/rcparse" -C "$rcf" -S default "$TESTBIN/auth-test" login "$@"
}

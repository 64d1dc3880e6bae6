# tests/lib/conn.bash: servers for the connection-layer tests (load after
# lib/common). Every server is a background child bounded in time; every
# wait is bounded.
#
#   wait_for_file FILE [TENTHS]   wait until FILE exists (default 10 s)
#   fp_start SCENARIO [faultpop options]
#                                 faultpop on 127.0.0.1 (one session); sets
#                                 FP_PORT, FP_PID; log in $T/fp.log
#   socks_start [socks5.py options]
#                                 tiny SOCKS5 proxy; sets SOCKS_PORT; the
#                                 requests it saw are logged in $T/socks.log
#   tls_server_start CERT [s_server options]
#                                 openssl s_server with $PKI/CERT.pem and its
#                                 key, one connection, answering a scripted
#                                 POP3 session (greeting, CAPA, USER, PASS,
#                                 CAPA, QUIT); sets TLS_PORT
#   stalled_port                  a port on which connect() hangs (full
#                                 backlog); sets STALL_PORT
#   pop3info RCFILE [options]     rcparse -S -C RCFILE default pop3info ...

PY=/usr/bin/python3
PKI=${PKI:-}

wait_for_file () {
  local i
  for i in $(seq 1 "${2:-100}") ; do
    [ -s "$1" ] && return 0
    sleep 0.1
  done
  echo "wait_for_file: $1 did not appear" >&2
  return 1
}

free_port () {
  "$PY" "$TESTS_DIR/lib/nettool.py" freeports --host "${1:-127.0.0.1}" 1
}

fp_start () {
  local sc=$1 ; shift
  rm -f "$T/fp.port"
  "$PY" "$TESTS_DIR/faultpop/faultpop.py" --scenario "$sc" --port-file "$T/fp.port" \
    --log "$T/fp.log" --idle-timeout 20 --max-lifetime 60 "$@" </dev/null >"$T/fp.out" 2>&1 3>&- &
  FP_PID=$!
  wait_for_file "$T/fp.port" || { cat "$T/fp.out" >&2 ; return 1 ; }
  FP_PORT=$(cat "$T/fp.port")
}

socks_start () {
  rm -f "$T/socks.port"
  "$PY" "$TESTS_DIR/lib/socks5.py" --port-file "$T/socks.port" --log "$T/socks.log" "$@" \
    </dev/null >"$T/socks.out" 2>&1 3>&- &
  SOCKS_PID=$!
  wait_for_file "$T/socks.port" || return 1
  SOCKS_PORT=$(cat "$T/socks.port")
}

tls_server_start () {
  local cert=$1 i ; shift
  kill_tls_server
  TLS_PORT=$(free_port) || return 1
  printf '+OK hi there\r\n+OK\r\nUSER\r\n.\r\n+OK\r\n+OK\r\n+OK\r\nUIDL\r\n.\r\n+OK bye\r\n' > "$T/s_server.in"
  : > "$T/s_server.out"
  rm -f "$T/s_server.fifo"
  mkfifo "$T/s_server.fifo" || return 1
  timeout 15 openssl s_server -naccept 1 -accept "127.0.0.1:$TLS_PORT" -cert "$PKI/$cert.pem" \
    -key "$PKI/${cert%-chain}.key" "$@" <"$T/s_server.fifo" >"$T/s_server.out" 2>&1 3>&- &
  TLS_PID=$!
  # s_server ends a connection when its input ends: keep the fifo open
  ( cat "$T/s_server.in" ; exec sleep 15 ) >"$T/s_server.fifo" 3>&- &
  TLS_FEED_PID=$!
  for i in $(seq 1 100) ; do
    grep -q '^ACCEPT' "$T/s_server.out" && return 0
    sleep 0.05
  done
  echo "tls_server_start: s_server did not start" >&2
  cat "$T/s_server.out" >&2
  return 1
}

kill_tls_server () {
  [ -z "${TLS_PID:-}" ] || kill "$TLS_PID" 2>/dev/null || true
  [ -z "${TLS_FEED_PID:-}" ] || kill "$TLS_FEED_PID" 2>/dev/null || true
  TLS_PID= TLS_FEED_PID=
  return 0
}

stalled_port () {
  rm -f "$T/stall.port"
  "$PY" - "$T/stall.port" <<'EOF' 3>&- &
import os, socket, sys, time
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(0)
port = s.getsockname()[1]
fill = []
for _ in range(4):
    c = socket.socket()
    c.setblocking(False)
    try:
        c.connect(("127.0.0.1", port))
    except BlockingIOError:
        pass
    fill.append(c)
time.sleep(0.2)
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write("%d\n" % port)
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
time.sleep(15)
EOF
  STALL_PID=$!
  wait_for_file "$T/stall.port" || return 1
  STALL_PORT=$(cat "$T/stall.port")
}

pop3info () {
  local rcfile=$1 ; shift
  "$BIN/rcparse" -S -C "$rcfile" default "$BIN/pop3info" "$@"
}

kill_servers () {
  local p
  kill_tls_server
  for p in ${FP_PID:-} ${SOCKS_PID:-} ${STALL_PID:-} ; do
    kill "$p" 2>/dev/null || true
  done
  return 0
}

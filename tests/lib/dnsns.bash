# DNS for tests, without touching the host's network or resolver: a command
# runs in a private network and mount namespace (unshare, needs root) where
# lo is up, /etc/resolv.conf is bind-mounted to "nameserver 127.0.0.1", and
# tests/lib/dnsserver.py answers on 127.0.0.1:53 from a zone file.
#
#   load lib/common
#   load lib/dnsns
#   setup () { common_setup ; dnsns_require ; }
#
#   @test "..." {
#     dns_zone <<EOF
#   _pop3s._tcp.example.org SRV 0 1 995 pop.example.org
#   EOF
#     run in_dnsns "$BIN/mpop" --configure=joe@example.org
#   }
#
# Every wait is bounded: the server starts within 5 s or the command is not
# run, it exits by itself after 30 s, and the whole run is killed after 60 s.
# The namespace disappears with its last process.

if [ -z "${DNS_PYTHON:-}" ]; then
  if [ -x /usr/bin/python3 ]; then DNS_PYTHON=/usr/bin/python3; else DNS_PYTHON=python3; fi
fi
DNSSERVER="$TESTS_DIR/lib/dnsserver.py"

# dnsns_require : skips the test, with the reason, when namespaces cannot be used
dnsns_require () {
  local why
  command -v ip > /dev/null || skip "no ip command (iproute2) for the private DNS namespace"
  why=$(unshare --net --mount true 2>&1) || skip "cannot make a private network namespace: ${why:-unshare failed}"
  [ -f /etc/resolv.conf ] || skip "/etc/resolv.conf is not a regular file to bind-mount over"
}

# dns_zone < ZONE : the zone the next in_dnsns serves ($T/zone)
dns_zone () {
  cat > "$T/zone"
}

# dns_log : the queries of the last in_dnsns, one "NAME TYPE" a line
dns_log () {
  cat "$T/dns.log" 2> /dev/null
}

# in_dnsns CMD [ARG...] : runs CMD in a fresh namespace with the DNS server;
# its output and exit code are CMD's (70 and a message if the setup failed)
in_dnsns () {
  [ -f "$T/zone" ] || : > "$T/zone"
  printf 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n' > "$T/resolv.conf"
  rm -f "$T/dns.ready" "$T/dns.log"
  timeout -k 5 60 unshare --net --mount "$BASH" -c '
    dir=$1 python=$2 server=$3 ; shift 3
    ip link set lo up || { echo "in_dnsns: cannot bring lo up" >&2 ; exit 70 ; }
    mount --bind "$dir/resolv.conf" /etc/resolv.conf || { echo "in_dnsns: cannot bind-mount resolv.conf" >&2 ; exit 70 ; }
    "$python" "$server" "$dir/zone" --ready "$dir/dns.ready" --log "$dir/dns.log" --lifetime 30 2> "$dir/dns.err" &
    spid=$!
    for i in $(seq 100) ; do
      [ -e "$dir/dns.ready" ] && break
      kill -0 $spid 2> /dev/null || break
      sleep 0.05
    done
    if ! [ -e "$dir/dns.ready" ] ; then
      echo "in_dnsns: the DNS server did not start: $(cat "$dir/dns.err")" >&2
      kill $spid 2> /dev/null ; wait $spid 2> /dev/null
      exit 70
    fi
    "$@"
    rc=$?
    kill $spid 2> /dev/null ; wait $spid 2> /dev/null
    exit $rc
  ' in_dnsns "$T" "$DNS_PYTHON" "$DNSSERVER" "$@"
}

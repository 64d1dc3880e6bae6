#!/usr/bin/env bats
# --pretend parity: our mpop and Debian's mpop 1.4.18 on the same files.

load lib/common
load lib/parity

setup () { common_setup ; }

@test "pretend: minimal account" {
  f=$(rc r <<'X'
account default
host pop.example.org
delivery mbox ~/mbox
X
)
  parity_pretend "$f"
}

@test "pretend: every connection setting" {
  f=$(rc r <<'X'
account default
host pop.example.org
port 1110
source_ip 127.0.0.2
proxy_host proxy.example
proxy_port 9050
timeout 30
pipelining off
received_header off
auth plain
user joe
password secret
ntlmdomain DOM
tls on
tls_starttls on
tls_trust_file ~/ca.pem
tls_crl_file ~/crl.pem
tls_key_file ~/key.pem
tls_cert_file ~/cert.pem
tls_certcheck on
tls_min_dh_prime_bits 2048
tls_priorities NORMAL
tls_host_override mail.example.org
delivery maildir ~/Maildir
X
)
  parity_pretend "$f"
}

@test "pretend: defaults are inherited and snapshot at account start" {
  f=$(rc r <<'X'
defaults
tls on
tls_starttls off
user joe
account a
host a.example
delivery mbox /tmp/a
defaults
user sue
account b
host b.example
delivery mbox /tmp/b
X
)
  parity_pretend "$f" a b
}

@test "pretend: account inheritance from several parents, later wins" {
  f=$(rc r <<'X'
defaults
timeout 20
account base1
host h1
user u1
account base2
host h2
delivery maildir /tmp/md
account child : base1, base2
user u3
X
)
  parity_pretend "$f" child
}

@test "pretend: inheritance copies only what the parent set, not defaults" {
  f=$(rc r <<'X'
defaults
timeout 20
account p
host h
delivery mbox /tmp/m
defaults
timeout 40
account c : p
X
)
  parity_pretend "$f" c
}

@test "pretend: quotes and blanks around arguments" {
  f=$(rc r <<'X'
account default
	host   "pop.example.org"   
user "a b"
passwordeval "echo x"
filter ""x""
delivery mda "/usr/bin/procmail -f '%F'"
X
)
  parity_pretend "$f"
}

@test "pretend: comments, blank lines, CRLF line ends, no trailing comments" {
  printf '# comment\r\n\r\n   # indented comment\r\naccount default\r\nhost foo # not a comment\r\ndelivery mbox /tmp/x\r\n' > "$T/r"
  chmod 600 "$T/r"
  parity_pretend "$T/r"
}

@test "pretend: implicit TLS gets port 995" {
  f=$(rc r <<'X'
account default
host h
tls on
tls_starttls off
delivery mbox /tmp/x
X
)
  parity_pretend "$f"
}

@test "pretend: fingerprints of each length and separator, upper-cased" {
  f=$(rc r <<'X'
account s256
host h
tls on
tls_fingerprint aa:bb:cc:dd:ee:ff:00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff:00:11:22:33:44:55:66:77:88:99
delivery mbox /tmp/x
account s1 : s256
tls_fingerprint AA BB CC DD EE FF 00 11 22 33 44 55 66 77 88 99 AA BB CC DD
account m5 : s256
tls_fingerprint 0a:1b:2c:3d:4e:5f:60:71:82:93:a4:b5:c6:d7:e8:f9
X
)
  parity_pretend "$f" s256 s1 m5
}

@test "pretend: every auth method" {
  {
    echo "defaults"; echo "host h"; echo "delivery mbox /tmp/x"
    for m in user apop plain cram-md5 digest-md5 scram-sha-1 scram-sha-256 gssapi external login ntlm oauthbearer xoauth2 on ""; do
      echo "account a-${m:-empty}"; echo "auth $m"
    done
  } > "$T/r"
  parity_pretend "$T/r" -a
}

@test "pretend: timeouts: off, 1 second, many seconds, hex" {
  f=$(rc r <<'X'
defaults
host h
delivery mbox /tmp/x
account a
timeout off
account b
timeout 1
account c
timeout 0x10
X
)
  parity_pretend "$f" a b c
}

@test "pretend: sizes with k, m, hex and octal" {
  f=$(rc r <<'X'
defaults
host h
delivery mbox /tmp/x
account a
killsize 10k
skipsize 2m
account b
killsize 0x10
skipsize 010k
account c
killsize 0
skipsize off
X
)
  parity_pretend "$f" a b c
}

@test "pretend: keep, only_new, received_header, pipelining on and off" {
  f=$(rc r <<'X'
defaults
host h
delivery mbox /tmp/x
account a
keep on
only_new off
received_header
pipelining on
account b
keep
only_new
pipelining
account c
keep off
pipelining auto
X
)
  parity_pretend "$f" a b c
}

@test "pretend: proxy without port gets 1080" {
  f=$(rc r <<'X'
account default
host h
proxy_host 127.0.0.1
delivery mbox /tmp/x
X
)
  parity_pretend "$f"
}

@test "pretend: socket without host: %H is the socket path" {
  f=$(rc r <<'X'
account default
socket /tmp/pop.sock
user joe
delivery mbox /tmp/x
X
)
  parity_pretend "$f"
}

@test "pretend: uidls_file with %U, %H and ~" {
  f=$(rc r <<'X'
account default
host pop.example.org
user joe
uidls_file ~/state/%U@%H/%U
delivery mbox /tmp/x
X
)
  parity_pretend "$f"
}

@test "pretend: ~ expansion only where mpop does it" {
  f=$(rc r <<'X'
account default
host ~host
tls_trust_file ~/ca
filter ~/filter
passwordeval echo ~
delivery mda ~/bin/mda
X
)
  parity_pretend "$f"
}

@test "pretend: delivery methods" {
  f=$(rc r <<'X'
defaults
host h
account a
delivery maildir ~/Maildir
account b
delivery mbox    "~/mail box"
account c
delivery exchange /tmp/ex
account d
delivery mda /usr/bin/maildrop -f %F
X
)
  parity_pretend "$f" a b c d
}

@test "pretend: eval produces lines, its exit status is ignored" {
  f=$(rc r <<'X'
eval echo account default
eval echo host evaluated.example; exit 3
eval echo "user   spaced user  "
eval printf 'delivery mbox /tmp/x\r\n'
eval echo '# a comment'
eval echo
X
)
  parity_pretend "$f"
}

@test "pretend: eval-produced password does not need a private file" {
  f=$(rc r <<'X'
account default
host h
eval echo password fromeval
delivery mbox /tmp/x
X
)
  chmod 644 "$f"
  parity_pretend "$f"
}

@test "pretend: passwordeval runs and shows a star" {
  f=$(rc r <<'X'
account default
host h
passwordeval echo s3cret
delivery mbox /tmp/x
X
)
  parity_pretend "$f"
  grep -qx 'password = \*' "$T/our.out"
}

@test "pretend: -S prints only the connection settings" {
  f=$(rc r <<'X'
account default
host h
X
)
  parity -C "$f" -P -S
}

@test "pretend: all accounts in file order" {
  f=$(rc r <<'X'
defaults
delivery mbox /tmp/x
account z
host z
account a
host a
account m
host m
X
)
  parity_pretend "$f" -a
}

@test "pretend: command-line options override every selected account" {
  f=$(rc r <<'X'
defaults
delivery mbox /tmp/x
account a
host a
timeout 10
account b
host b
X
)
  parity_pretend "$f" --timeout=99 --port 2110 --tls --tls-starttls=off --tls-certcheck=off -noff -k --killsize=1m a b
}

@test "pretend: command-line delivery, filter and unsetting options" {
  f=$(rc r <<'X'
account default
host h
user joe
filter /bin/true
proxy_host p
delivery mbox /tmp/x
X
)
  parity_pretend "$f" "--delivery=mda,/usr/bin/procmail -f %F" --filter= --user= --proxy-host= --uidls-file=~/u
}

@test "pretend: abbreviated long options and options after account names" {
  f=$(rc r <<'X'
account default
host h
delivery mbox /tmp/x
X
)
  parity_pretend "$f" default --time=5 --recei=off --only=off
}

@test "pretend: --host mode reads no configuration file" {
  parity --host=pop.example.org --user=joe --delivery=maildir,~/Maildir -P -C /nonexistent
}

@test "pretend: --host mode with TLS settings" {
  parity --host=h --tls --tls-starttls=off --tls-trust-file=system --auth=scram-sha-256 --delivery=mbox,/tmp/m -P
}

@test "pretend: default config file is ~/.mpoprc" {
  rc r >/dev/null <<'X'
account default
host home
delivery mbox /tmp/x
X
  mv "$T/r" "$HOME/.mpoprc"
  parity -P
}

@test "pretend: XDG config file when ~/.mpoprc is missing" {
  mkdir -p "$T/xdg/mpop"
  printf 'account default\nhost xdg\ndelivery mbox /tmp/x\n' > "$T/xdg/mpop/config"
  XDG_CONFIG_HOME="$T/xdg" parity -P
}

@test "pretend: ~/.config/mpop/config without XDG_CONFIG_HOME" {
  mkdir -p "$HOME/.config/mpop"
  printf 'account default\nhost cfg\ndelivery mbox /tmp/x\n' > "$HOME/.config/mpop/config"
  parity -P
}

@test "pretend: a 499-character line is accepted" {
  { echo "account default"; echo "delivery mbox /tmp/x"; printf 'host %0494d\n' 0; } > "$T/r"
  parity_pretend "$T/r"
}

@test "pretend: tls_trust_file set empty stays unset (no system default)" {
  f=$(rc r <<'X'
account default
host h
tls_trust_file
delivery mbox /tmp/x
X
)
  parity_pretend "$f"
}

@test "pretend: tls_force_sslv3 is accepted and ignored" {
  f=$(rc r <<'X'
account default
host h
tls_force_sslv3 whatever
delivery mbox /tmp/x
X
)
  parity_pretend "$f" --tls-force-sslv3
}

@test "pretend (1.4.23): keep durations, by hand from the notes" {
  f=$(rc r <<'X'
defaults
host h
delivery mbox /tmp/x
account a
keep 1h30m
account b
keep 1d 2h
account c
keep 1d 11h 60m
account d
keep 0s
account e
keep "+5m"
X
)
  run "$BIN/mpop" -C "$f" -P a b c d e
  assert_success
  run grep '^keep = ' <<< "$output"
  assert_output "keep = 5400 seconds
keep = 93600 seconds
keep = 129600 seconds
keep = off
keep = 300 seconds"
}

@test "pretend (1.4.23): --keep durations on the command line" {
  f=$(rc r <<'X'
account default
host h
delivery mbox /tmp/x
X
)
  for arg in 1h30m " 1d" 1d1d; do
    run "$BIN/mpop" -C "$f" -P "--keep=$arg"
    assert_success
  done
  run "$BIN/mpop" -C "$f" -P -k2d
  assert_line "keep = 172800 seconds"
  for arg in 3600 1w 1D -1h 0x10s "1d "; do
    run "$BIN/mpop" -C "$f" -P "--keep=$arg"
    assert_failure 64
    assert_output "mpop: invalid argument $arg for --keep"
  done
}

@test "pretend (1.4.23): scram-sha-256-plus is a valid method name" {
  f=$(rc r <<'X'
account default
host h
auth scram-sha-256-plus
delivery mbox /tmp/x
X
)
  run "$BIN/mpop" -C "$f" -P
  assert_success
  assert_line "auth = SCRAM-SHA-256-PLUS"
}

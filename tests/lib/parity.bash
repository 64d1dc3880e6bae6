# Runs Debian's reference mpop and ours with the same arguments and the same
# $HOME, and compares stdout, stderr and the exit status byte for byte.

# ours_and_ref ARGS... : leaves $T/ref.{out,err,rc} and $T/our.{out,err,rc}
ours_and_ref () {
  local rc
  rc=0 ; ( exec -a mpop "$REFMPOP" "$@" ) >"$T/ref.out" 2>"$T/ref.err" </dev/null || rc=$?
  echo "$rc" > "$T/ref.rc"
  rc=0 ; "$BIN/mpop" "$@" >"$T/our.out" 2>"$T/our.err" </dev/null || rc=$?
  echo "$rc" > "$T/our.rc"
}

show_diff () {
  echo "--- reference mpop ($(cat "$T/ref.rc")) / ours ($(cat "$T/our.rc"))"
  diff -u "$T/ref.out" "$T/our.out"
  diff -u "$T/ref.err" "$T/our.err"
}

# parity ARGS... : both must agree exactly
parity () {
  ours_and_ref "$@"
  if ! cmp -s "$T/ref.out" "$T/our.out" || ! cmp -s "$T/ref.err" "$T/our.err" || ! cmp -s "$T/ref.rc" "$T/our.rc" ; then
    show_diff
    return 1
  fi
}

# parity_pretend RCFILE [ARGS...] : -P output identical and not empty
parity_pretend () {
  local f=$1 ; shift
  parity -C "$f" -P "$@" || return 1
  [ -s "$T/our.out" ] || { echo "empty --pretend output" ; cat "$T/our.err" ; return 1 ; }
}

# expect_error CODE MESSAGE ARGS... : our mpop fails with exactly this
expect_error () {
  local code=$1 msg=$2 ; shift 2
  run "$BIN/mpop" "$@"
  [ "$status" -eq "$code" ] || { echo "status $status, expected $code: $output" ; return 1 ; }
  [ "$output" = "$msg" ] || { echo "got:      $output" ; echo "expected: $msg" ; return 1 ; }
}

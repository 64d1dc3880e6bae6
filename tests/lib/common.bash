# Common setup for every bats file: load with `load lib/common`.
# Programs under test are run by explicit path: "$BIN/mpop", never via PATH.
bats_load_library bats-support
bats_load_library bats-assert

BIN="${MPOP_BUILD:?MPOP_BUILD not set: run through tests/run or make check}/bin"
TESTBIN="$MPOP_BUILD/test"
TESTS_DIR="$(cd "$BATS_TEST_DIRNAME" && pwd)"
REFMPOP=/usr/bin/mpop

# A private scratch directory per test, also used as $HOME so that nothing
# touches the real home directory.
common_setup () {
  T="$BATS_TEST_TMPDIR"
  export HOME="$T/home"
  mkdir -p "$HOME"
  unset XDG_CONFIG_HOME
  for v in $(env | sed -n 's/^\(MPOP_[A-Z0-9_]*\)=.*/\1/p') ; do unset "$v" ; done
}

# rc NAME <<EOF ... EOF : writes an rc file with mode 0600, prints its path
rc () {
  local f="$T/$1"
  cat > "$f"
  chmod 600 "$f"
  printf '%s\n' "$f"
}

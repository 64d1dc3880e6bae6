#!/usr/bin/env bats
# The C unit-test programs in src/tests/, built into $MPOP_BUILD/test.

load lib/common

setup () { common_setup ; }

@test "unit: every unit-test program passes" {
  ran=0
  for t in "$TESTBIN"/* ; do
    [ -x "$t" ] || continue
    run "$t"
    [ "$status" -eq 0 ] || { echo "$t failed:" ; echo "$output" ; return 1 ; }
    ran=$((ran + 1))
  done
  [ "$ran" -gt 0 ]
}

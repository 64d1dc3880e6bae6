#!/usr/bin/env bats
# The build system: generated files are fresh, install honours DESTDIR and
# the configured directories.

load lib/common

setup () { common_setup ; }

@test "build: package/deps.mak is what tools/gen-deps.sh generates" {
  run sh -c 'tools/gen-deps.sh | cmp - package/deps.mak'
  assert_success
}

@test "build: configure, make and make install into DESTDIR" {
  src=$PWD
  cp -R "$src" "$T/tree"
  rm -rf "$T/tree/build" "$T/tree/.git" "$T/tree/config.mak"
  cd "$T/tree"
  run ./configure --prefix=/opt/mt --mandir=/opt/mt/man
  assert_success
  run make -j2 all
  assert_success
  run make install DESTDIR="$T/root"
  assert_success
  [ -x "$T/root/opt/mt/bin/mpop" ]
  [ -x "$T/root/opt/mt/bin/rcparse" ]
  [ -f "$T/root/opt/mt/man/man1/mpop.1" ]
  run "$T/root/opt/mt/bin/mpop" --version
  assert_success
}

@test "build: configure rejects unknown options and explains --help" {
  run ./configure --bogus
  assert_failure
  assert_output --partial "unknown option --bogus"
  run ./configure --help
  assert_success
  assert_output --partial "--with-sysdeps"
}

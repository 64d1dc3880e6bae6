#!/usr/bin/env bats
# Manual pages: they pass mandoc's lint, every program has one, and each
# page's SYNOPSIS is the program's own usage text.

load lib/common

setup () { common_setup ; }

synopsis () {
  mandoc -Tascii -O width=400 "$1" | col -b | sed -n '/^SYNOPSIS/,/^[A-Z]/p' | sed '1d;$d' | sed 's/^ *//;/^$/d'
}

@test "docs: every manual page passes mandoc -Tlint" {
  for m in doc/*.[1-9] ; do
    run mandoc -Tlint -W warning "$m"
    [ "$status" -eq 0 ] || { echo "$m:" ; echo "$output" ; return 1 ; }
  done
}

@test "docs: every program has a manual page" {
  for p in "$BIN"/* ; do
    [ -f "doc/${p##*/}.1" ] || { echo "no doc/${p##*/}.1" ; return 1 ; }
  done
}

@test "docs: each program's usage text is its page's SYNOPSIS" {
  for p in "$BIN"/* ; do
    name=${p##*/}
    [ "$name" = mpop ] && continue
    run "$p" -@
    [ "$status" -eq 64 ] || { echo "$name -@ exited $status: $output" ; return 1 ; }
    usage=${output#"$name: usage: "}
    expected=$(synopsis "doc/$name.1" | awk 'NR > 1 { printf " | " } { printf "%s", $0 }')
    [ "$usage" = "$expected" ] || { echo "$name usage:    $usage" ; echo "$name synopsis: $expected" ; return 1 ; }
  done
}

@test "docs: mpop --help shows each form of the SYNOPSIS" {
  help=$("$BIN/mpop" --help)
  while read -r form ; do
    grep -qF -- "  $form " <<< "$help" || { echo "not in --help: $form" ; return 1 ; }
  done < <(synopsis doc/mpop.1)
}

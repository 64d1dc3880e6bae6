/* ISC license. */

 /* libFuzzer target for the UIDLs file and journal parsers. Build e.g.:
    clang -g -fsanitize=fuzzer,address,undefined -D_DEFAULT_SOURCE -Isrc/include \
      tests/fuzz/uidls.c src/libmpop/uidls*.c -lskarnet -o uidls-fuzz
    Properties: no crash; every parsed UID is found; a parsed file, once
    written, parses again to the same lists. */

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <skalibs/genalloc.h>
#include <skalibs/stralloc.h>

#include <mpop/uidls.h>

static void check_found (genalloc *lists)
{
  for (size_t i = 0 ; i < genalloc_len(uidls_list, lists) ; i++)
  {
    uidls_set *set = &genalloc_s(uidls_list, lists)[i].set ;
    uidls_set_sort(set) ;
    for (size_t j = 0 ; j < uidls_set_len(set) ; j++)
      if (!uidls_set_find(set, uidls_set_uid(set, j), 0)) abort() ;
  }
}

static void check_round_trip (genalloc *lists)
{
  genalloc again = GENALLOC_ZERO ;
  stralloc sa = STRALLOC_ZERO ;
  stralloc sb = STRALLOC_ZERO ;
  stralloc err = STRALLOC_ZERO ;
  if (!uidls_format(&sa, lists)) abort() ;
  if (uidls_parse(&again, "again", sa.s, sa.len, 0, &err)) abort() ;
  if (!uidls_format(&sb, &again)) abort() ;
  if (sa.len != sb.len || memcmp(sa.s, sb.s, sa.len)) abort() ;
  uidls_lists_free(&again) ;
  stralloc_free(&sa) ;
  stralloc_free(&sb) ;
  stralloc_free(&err) ;
}

int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size)
{
  genalloc lists = GENALLOC_ZERO ;
  stralloc err = STRALLOC_ZERO ;
  size_t bad ;
  if (!uidls_parse(&lists, "fuzz", (char const *)data, size, 1000, &err))
  {
    check_found(&lists) ;
    check_round_trip(&lists) ;
  }
  uidls_lists_free(&lists) ;
  if (!uidls_journal_parse(&lists, (char const *)data, size, &bad))
  {
    check_found(&lists) ;
    check_round_trip(&lists) ;
  }
  uidls_lists_free(&lists) ;
  stralloc_free(&err) ;
  return 0 ;
}

/* ISC license. */

 /* libFuzzer target for the UIDLs file and journal parsers (tests/fuzz/run
    builds and runs it). The input is read as a UIDLs file, as a journal,
    and as journal lines without their check field, which the target adds
    (so that mutations reach past the checksum).
    Properties: no crash; every parsed UID is found; a parsed file, once
    written, parses again to the same lists. */

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <skalibs/genalloc.h>
#include <skalibs/stralloc.h>

#include <mpop/uidls.h>

#include "harness.h"

static void check_found (genalloc *lists)
{
  for (size_t i = 0 ; i < genalloc_len(uidls_list, lists) ; i++)
  {
    uidls_set *set = &genalloc_s(uidls_list, lists)[i].set ;
    uidls_set_sort(set) ;
    for (size_t j = 0 ; j < uidls_set_len(set) ; j++)
      FUZZ_ASSERT(uidls_set_find(set, uidls_set_uid(set, j), 0), "a parsed UID is not found") ;
  }
}

static void check_round_trip (genalloc *lists)
{
  genalloc again = GENALLOC_ZERO ;
  stralloc sa = STRALLOC_ZERO ;
  stralloc sb = STRALLOC_ZERO ;
  stralloc err = STRALLOC_ZERO ;
  if (!uidls_format(&sa, lists)) abort() ;
  FUZZ_ASSERT(!uidls_parse(&again, "again", sa.s, sa.len, 0, &err), "a written file does not parse") ;
  if (!uidls_format(&sb, &again)) abort() ;
  FUZZ_ASSERT(sa.len == sb.len && !memcmp(sa.s, sb.s, sa.len), "a written file, parsed and written again, changes") ;
  uidls_lists_free(&again) ;
  stralloc_free(&sa) ;
  stralloc_free(&sb) ;
  stralloc_free(&err) ;
}

 /* Every complete line gets " CHECK" as uidls_journal_line computes it */
static void add_checks (stralloc *sa, char const *s, size_t len)
{
  static char const hex[] = "0123456789abcdef" ;
  sa->len = 0 ;
  while (len)
  {
    char const *nl = memchr(s, '\n', len) ;
    size_t n = nl ? (size_t)(nl - s) : len ;
    if (!stralloc_catb(sa, s, n)) abort() ;
    if (nl)
    {
      uint32_t h = 2166136261u ;
      char check[10] = " " ;
      for (size_t i = 0 ; i < n ; i++) { h ^= (unsigned char)s[i] ; h *= 16777619u ; }
      for (unsigned int i = 8 ; i ; i--, h >>= 4) check[i] = hex[h & 15] ;
      check[9] = '\n' ;
      if (!stralloc_catb(sa, check, 10)) abort() ;
      n++ ;
    }
    s += n ; len -= n ;
  }
}

static void journal (char const *s, size_t len)
{
  genalloc lists = GENALLOC_ZERO ;
  size_t bad ;
  if (!uidls_journal_parse(&lists, s, len, &bad))
  {
    check_found(&lists) ;
    check_round_trip(&lists) ;
  }
  uidls_lists_free(&lists) ;
}

int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size)
{
  genalloc lists = GENALLOC_ZERO ;
  stralloc err = STRALLOC_ZERO ;
  stralloc sa = STRALLOC_ZERO ;
  if (!uidls_parse(&lists, "fuzz", (char const *)data, size, 1000, &err))
  {
    check_found(&lists) ;
    check_round_trip(&lists) ;
  }
  uidls_lists_free(&lists) ;
  journal((char const *)data, size) ;
  add_checks(&sa, (char const *)data, size) ;
  journal(sa.s, sa.len) ;
  stralloc_free(&sa) ;
  stralloc_free(&err) ;
  return 0 ;
}

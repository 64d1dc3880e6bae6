/* ISC license. */

 /* libFuzzer target for the readers of fetchmail's .fetchids and getmail's
    oldmail files (uidlstore import). The input is read as both.
    Properties: no crash; on success every UID taken is valid, is found,
    and goes through the UIDLs file (written, parsed again) unchanged, with
    its time; fetchmail's lines are either taken or counted as others'. */

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <skalibs/genalloc.h>
#include <skalibs/stralloc.h>

#include <mpop/uidls.h>
#include <mpop/uidls_import.h>

#include "harness.h"

static size_t lines_of (char const *s, size_t len)
{
  size_t n = 0 ;
  for (size_t i = 0 ; i < len ; i++)
    if (s[i] == '\n' && i && s[i-1] != '\n') n++ ;
  if (len && s[len-1] != '\n') n++ ;
  return n ;
}

static void check_stored (uidls_set *set)
{
  genalloc lists = GENALLOC_ZERO ;
  genalloc again = GENALLOC_ZERO ;
  stralloc sa = STRALLOC_ZERO ;
  stralloc err = STRALLOC_ZERO ;
  uidls_list *l = uidls_lists_add(&lists, "h", 1, "u", 1) ;
  if (!l) abort() ;
  uidls_set_sort(set) ;
  for (size_t i = 0 ; i < uidls_set_len(set) ; i++)
  {
    char const *uid = uidls_set_uid(set, i) ;
    FUZZ_ASSERT(uidls_uid_valid(uid, strlen(uid)), "an imported UID is not valid") ;
    FUZZ_ASSERT(uidls_set_find(set, uid, 0), "an imported UID is not found") ;
    if (!uidls_set_add(&l->set, uid, strlen(uid), uidls_set_ts(set, i))) abort() ;
  }
  if (!uidls_format(&sa, &lists)) abort() ;
  FUZZ_ASSERT(!uidls_parse(&again, "again", sa.s, sa.len, 0, &err), "imported UIDs do not make a valid file") ;
  if (uidls_set_len(set))
  {
    uidls_set *back = &genalloc_s(uidls_list, &again)[0].set ;
    FUZZ_ASSERT(genalloc_len(uidls_list, &again) == 1 && uidls_set_len(back) == uidls_set_len(set), "imported UIDs come back changed") ;
    for (size_t i = 0 ; i < uidls_set_len(set) ; i++)
    {
      int64_t ts ;
      FUZZ_ASSERT(uidls_set_find(back, uidls_set_uid(set, i), &ts) && ts == uidls_set_ts(set, i), "an imported UID comes back changed") ;
    }
  }
  uidls_lists_free(&lists) ;
  uidls_lists_free(&again) ;
  stralloc_free(&sa) ;
  stralloc_free(&err) ;
}

int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size)
{
  char const *s = (char const *)data ;
  stralloc err = STRALLOC_ZERO ;
  uidls_set set = UIDLS_SET_ZERO ;
  size_t others ;
  if (!uidls_import_fetchmail(&set, "fuzz", s, size, "u@h", 7, &others, &err))
  {
    uidls_set_sort(&set) ;
    FUZZ_ASSERT(uidls_set_len(&set) + others <= lines_of(s, size), "more UIDs than lines") ;
    check_stored(&set) ;
  }
  else FUZZ_ASSERT(!err.len || !strncmp(err.s, "fuzz, line ", 11), "an error without its line") ;
  uidls_set_free(&set) ;
  set = (uidls_set)UIDLS_SET_ZERO ;
  if (!uidls_import_getmail(&set, "fuzz", s, size, &err)) check_stored(&set) ;
  else FUZZ_ASSERT(!err.len || !strncmp(err.s, "fuzz, line ", 11), "an error without its line") ;
  uidls_set_free(&set) ;
  stralloc_free(&err) ;
  return 0 ;
}

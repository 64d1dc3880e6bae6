/* ISC license. */

#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include <skalibs/genalloc.h>
#include <skalibs/stralloc.h>

#include <mpop/uidls.h>
#include "uidls-internal.h"

static char const *sort_text ;

static int entry_cmp (void const *a, void const *b)
{
  uidls_entry const *x = a ;
  uidls_entry const *y = b ;
  int r = strcmp(sort_text + x->uid, sort_text + y->uid) ;
  if (r) return r ;
  return x->ts < y->ts ? -1 : x->ts > y->ts ;
}

int uidls_set_add (uidls_set *set, char const *uid, size_t len, int64_t ts)
{
  uidls_entry e = { .uid = set->text.len, .ts = ts } ;
  size_t n = uidls_set_len(set) ;
  if (!stralloc_catb(&set->text, uid, len) || !stralloc_0(&set->text)) return 0 ;
  if (!genalloc_append(uidls_entry, &set->entries, &e))
  {
    set->text.len = e.uid ;
    return 0 ;
  }
  if (n && set->sorted && strcmp(uidls_set_uid(set, n - 1), set->text.s + e.uid) >= 0)
    set->sorted = 0 ;
  return 1 ;
}

 /* Sorts bytewise; of duplicates, the earliest time stays. Texts of the
    dropped duplicates stay in text until the set is freed. */
void uidls_set_sort (uidls_set *set)
{
  uidls_entry *e = genalloc_s(uidls_entry, &set->entries) ;
  size_t n = uidls_set_len(set) ;
  size_t j = 0 ;
  if (set->sorted) return ;
  sort_text = set->text.s ;
  qsort(e, n, sizeof(uidls_entry), &entry_cmp) ;
  for (size_t i = 0 ; i < n ; i++)
    if (!j || strcmp(set->text.s + e[j-1].uid, set->text.s + e[i].uid)) e[j++] = e[i] ;
  genalloc_setlen(uidls_entry, &set->entries, j) ;
  set->sorted = 1 ;
}

int uidls_set_find (uidls_set *set, char const *uid, int64_t *ts)
{
  uidls_entry const *e ;
  size_t lo = 0, hi ;
  uidls_set_sort(set) ;
  e = genalloc_s(uidls_entry, &set->entries) ;
  hi = uidls_set_len(set) ;
  while (lo < hi)
  {
    size_t mid = lo + (hi - lo) / 2 ;
    int r = strcmp(uid, set->text.s + e[mid].uid) ;
    if (!r)
    {
      if (ts) *ts = e[mid].ts ;
      return 1 ;
    }
    if (r < 0) hi = mid ; else lo = mid + 1 ;
  }
  return 0 ;
}

void uidls_set_free (uidls_set *set)
{
  stralloc_free(&set->text) ;
  genalloc_free(uidls_entry, &set->entries) ;
  set->sorted = 1 ;
}

int uidls_uid_valid (char const *uid, size_t len)
{
  if (!len || len > UIDLS_LINE_MAX - 21 || uid[0] == ' ') return 0 ;
  for (size_t i = 0 ; i < len ; i++)
    if ((unsigned char)uid[i] < 32 || uid[i] == 127) return 0 ;
  return 1 ;
}

int uidls_sayv (stralloc *err, int code, char const *const *v)
{
  err->len = 0 ;
  for (; *v ; v++) if (!stralloc_cats(err, *v)) return (err->len = 0, EX_OSERR) ;
  if (!stralloc_0(err)) return (err->len = 0, EX_OSERR) ;
  err->len-- ;
  return code ;
}

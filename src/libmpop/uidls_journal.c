/* ISC license. */

#include <string.h>
#include <sysexits.h>

#include <skalibs/genalloc.h>
#include <skalibs/stralloc.h>
#include <skalibs/types.h>

#include <mpop/uidls.h>
#include "uidls-internal.h"

 /* One journal line: "TS HOST USER UID CHECK\n", where CHECK is the FNV-1a
    32-bit hash of everything before " CHECK", in 8 lowercase hex digits.
    A line that does not end with a newline, or whose hash does not match,
    is the torn remains of an interrupted write and is ignored. */

#define CHECK_LEN 8

static uint32_t fnv1a (char const *s, size_t len)
{
  uint32_t h = 2166136261u ;
  for (size_t i = 0 ; i < len ; i++)
  {
    h ^= (unsigned char)s[i] ;
    h *= 16777619u ;
  }
  return h ;
}

static void check_fmt (char *out, char const *s, size_t len)
{
  static char const hex[] = "0123456789abcdef" ;
  uint32_t h = fnv1a(s, len) ;
  for (unsigned int i = CHECK_LEN ; i-- ; h >>= 4) out[i] = hex[h & 15] ;
}

int uidls_journal_line (stralloc *sa, char const *host, char const *user, char const *uid, int64_t ts)
{
  char fmt[UINT64_FMT + 1] ;
  size_t start = sa->len ;
  char check[CHECK_LEN + 2] = " " ;
  fmt[int64_fmt(fmt, ts)] = 0 ;
  if (!stralloc_cats(sa, fmt) || !stralloc_catb(sa, " ", 1) || !stralloc_cats(sa, host)
   || !stralloc_catb(sa, " ", 1) || !stralloc_cats(sa, user) || !stralloc_catb(sa, " ", 1)
   || !stralloc_cats(sa, uid)) goto err ;
  check_fmt(check + 1, sa->s + start, sa->len - start) ;
  check[CHECK_LEN + 1] = '\n' ;
  if (!stralloc_catb(sa, check, CHECK_LEN + 2)) goto err ;
  return 1 ;
 err:
  sa->len = start ;
  return 0 ;
}

typedef struct jentry_s jentry, *jentry_ref ;
struct jentry_s
{
  char const *host ;
  size_t hlen ;
  char const *user ;
  size_t ulen ;
  char const *uid ;
  size_t uidlen ;
  int64_t ts ;
} ;

static char const *field (char const *s, char const *end, char const **next)
{
  char const *sp = memchr(s, ' ', end - s) ;
  if (!sp || sp == s) return 0 ;
  *next = sp + 1 ;
  return sp ;
}

 /* s (len bytes, newline excluded) is one journal line: 1 valid, 0 not.
    A NUL byte anywhere makes it invalid: host and user are C strings. */
static int parse_jline (jentry *j, char const *s, size_t len)
{
  char const *end = s + len - CHECK_LEN - 1 ;
  char const *p = s, *sp ;
  char check[CHECK_LEN] ;
  size_t n ;
  if (len < CHECK_LEN + 8 || end[0] != ' ' || memchr(s, 0, len)) return 0 ;
  check_fmt(check, s, end - s) ;
  if (memcmp(check, end + 1, CHECK_LEN)) return 0 ;
  if (!(sp = field(p, end, &p)) || !uidls_scan_integer(s, sp - s, &j->ts, &n) || n != (size_t)(sp - s)) return 0 ;
  j->host = p ;
  if (!(sp = field(p, end, &p))) return 0 ;
  j->hlen = sp - j->host ;
  j->user = p ;
  if (!(sp = field(p, end, &p))) return 0 ;
  j->ulen = sp - j->user ;
  j->uid = p ;
  j->uidlen = end - p ;
  return uidls_uid_valid(j->uid, j->uidlen) ;
}

static int same (char const *s, char const *t, size_t len)
{
  return !strncmp(s, t, len) && !s[len] ;
}

 /* The list of host and user, created at the end if needed. The last one
    found is tried first: journals are written one account at a time. */
static uidls_list *list_for (genalloc *lists, jentry const *j, size_t *last)
{
  uidls_list *l = genalloc_s(uidls_list, lists) ;
  size_t n = genalloc_len(uidls_list, lists) ;
  if (*last < n && same(l[*last].host, j->host, j->hlen) && same(l[*last].user, j->user, j->ulen)) return l + *last ;
  for (size_t i = 0 ; i < n ; i++)
    if (same(l[i].host, j->host, j->hlen) && same(l[i].user, j->user, j->ulen)) return l + (*last = i) ;
  if (!uidls_lists_add(lists, j->host, j->hlen, j->user, j->ulen)) return 0 ;
  *last = n ;
  return genalloc_s(uidls_list, lists) + n ;
}

int uidls_journal_parse (genalloc *lists, char const *s, size_t len, size_t *bad)
{
  size_t pos = 0, n = 0, last = 0 ;
  *bad = 0 ;
  while (pos < len)
  {
    char const *nl = memchr(s + pos, '\n', len - pos) ;
    size_t llen = nl ? (size_t)(nl - s - pos) : len - pos ;
    jentry j ;
    n++ ;
    if (nl && parse_jline(&j, s + pos, llen))
    {
      uidls_list *l = list_for(lists, &j, &last) ;
      if (!l || !uidls_set_add(&l->set, j.uid, j.uidlen, j.ts)) return EX_OSERR ;
    }
    else if (!*bad && pos + llen + 1 < len) *bad = n ;
    pos += llen + 1 ;
  }
  return 0 ;
}

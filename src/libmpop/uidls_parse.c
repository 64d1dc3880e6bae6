/* ISC license. */

#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include <skalibs/genalloc.h>
#include <skalibs/stralloc.h>
#include <skalibs/types.h>

#include <mpop/uidls.h>
#include "uidls-internal.h"

 /* The reader of mpop's UIDLs file. It accepts what mpop 1.4.23 accepts
    and reports what mpop reports, with the same words. */

typedef struct line_s line, *line_ref ;
struct line_s
{
  char const *s ;
  size_t len ;    /* up to a NUL, if any: the rest is ignored, as by mpop */
  size_t full ;   /* without the newline */
} ;

static int say (stralloc *err, char const *file, size_t n, char const *a, char const *b, char const *c, char const *d)
{
  char fmt[SIZE_FMT] ;
  fmt[size_fmt(fmt, n)] = 0 ;
  return uidls_say(err, EX_DATAERR, file, ", line ", fmt, ": ", a, b, c, d) ;
}

static int isspace_c (char c)
{
  return c == ' ' || (c >= '\t' && c <= '\r') ;
}

int uidls_scan_integer (char const *s, size_t len, int64_t *n, size_t *end)
{
  uint64_t max = INT64_MAX, v = 0 ;
  size_t i = 0, start ;
  int neg = 0 ;
  while (i < len && isspace_c(s[i])) i++ ;
  if (i < len && (s[i] == '+' || s[i] == '-')) neg = s[i++] == '-' ;
  if (neg) max++ ;
  start = i ;
  for (; i < len && s[i] >= '0' && s[i] <= '9' ; i++)
  {
    unsigned int d = s[i] - '0' ;
    if (v > (max - d) / 10) return 0 ;
    v = v * 10 + d ;
  }
  if (i == start) i = 0 ;
  *end = i ;
  *n = neg ? (int64_t)(0 - v) : (int64_t)v ;
  return 1 ;
}

uidls_list *uidls_lists_add (genalloc *lists, char const *host, size_t hlen, char const *user, size_t ulen)
{
  uidls_list l = { .host = strndup(host, hlen), .user = strndup(user, ulen), .set = UIDLS_SET_ZERO } ;
  if (!l.host || !l.user || !genalloc_append(uidls_list, lists, &l))
  {
    free(l.host) ;
    free(l.user) ;
    return 0 ;
  }
  return genalloc_s(uidls_list, lists) + genalloc_len(uidls_list, lists) - 1 ;
}

 /* " N host user" */
static int parse_header (genalloc *lists, line const *l, int64_t *count, char const *file, size_t n, stralloc *err)
{
  char const *host, *sp ;
  size_t i ;
  if (l->len < 1 || l->s[0] != ' ') return say(err, file, n, "UID without a list", "", "", "") ;
  if (!uidls_scan_integer(l->s + 1, l->len - 1, count, &i) || !i || *count < 1
   || 1 + i >= l->len || l->s[1 + i] != ' ')
    return say(err, file, n, "invalid number of UIDs", "", "", "") ;
  host = l->s + 2 + i ;
  sp = memchr(host, ' ', l->s + l->len - host) ;
  if (!sp || sp == host) return say(err, file, n, "invalid or missing host name", "", "", "") ;
  if (sp + 1 == l->s + l->len || memchr(sp + 1, ' ', l->s + l->len - sp - 1))
    return say(err, file, n, "invalid or missing user name", "", "", "") ;
  return uidls_lists_add(lists, host, sp - host, sp + 1, l->s + l->len - sp - 1) ? 0 : EX_OSERR ;
}

 /* "UID SP seconds", or an old "UID" */
static int parse_entry (uidls_set *set, line const *l, int64_t now, char const *file, size_t n, stralloc *err)
{
  char const *sp = 0 ;
  int64_t ts = now ;
  size_t end ;
  for (size_t i = l->len ; i-- ;) if (l->s[i] == ' ') { sp = l->s + i ; break ; }
  if (sp)
  {
    size_t flen = l->s + l->len - sp - 1 ;
    if (!uidls_scan_integer(sp + 1, flen, &ts, &end) || end != flen)
      return say(err, file, n, "invalid timestamp", "", "", "") ;
  }
  return uidls_set_add(set, l->s, sp ? (size_t)(sp - l->s) : l->len, ts) ? 0 : EX_OSERR ;
}

static int too_few (genalloc *lists, char const *file, size_t n, stralloc *err)
{
  uidls_list const *l = genalloc_s(uidls_list, lists) + genalloc_len(uidls_list, lists) - 1 ;
  return say(err, file, n, "too few UIDs for user ", l->user, ", host ", l->host) ;
}

static size_t next_line (line *l, char const *s, size_t len)
{
  char const *nl = memchr(s, '\n', len) ;
  char const *nul ;
  l->s = s ;
  l->full = nl ? (size_t)(nl - s) : len ;
  nul = memchr(s, 0, l->full) ;
  l->len = nul ? (size_t)(nul - s) : l->full ;
  return nl ? l->full + 1 : len ;
}

static int parse_line (genalloc *lists, line const *l, int64_t *left, int64_t now, char const *file, size_t n, stralloc *err)
{
  if (l->full > UIDLS_LINE_MAX)
  {
    char fmt[SIZE_FMT] ;
    fmt[size_fmt(fmt, UIDLS_LINE_MAX + 1)] = 0 ;
    return say(err, file, n, "line longer than ", fmt, " characters", "") ;
  }
  if (!*left) return parse_header(lists, l, left, file, n, err) ;
  if (l->len && l->s[0] == ' ') return too_few(lists, file, n, err) ;
  --*left ;
  return parse_entry(&genalloc_s(uidls_list, lists)[genalloc_len(uidls_list, lists) - 1].set, l, now, file, n, err) ;
}

static void drop_lists (genalloc *lists, size_t from)
{
  uidls_list *l = genalloc_s(uidls_list, lists) ;
  for (size_t i = from ; i < genalloc_len(uidls_list, lists) ; i++)
  {
    free(l[i].host) ;
    free(l[i].user) ;
    uidls_set_free(&l[i].set) ;
  }
  genalloc_setlen(uidls_list, lists, from) ;
}

void uidls_lists_free (genalloc *lists)
{
  drop_lists(lists, 0) ;
  genalloc_free(uidls_list, lists) ;
}

int uidls_parse (genalloc *lists, char const *file, char const *s, size_t len, int64_t now, stralloc *err)
{
  size_t n = 0, pos = 0, first = genalloc_len(uidls_list, lists) ;
  int64_t left = 0 ;
  int data = 0, e = 0 ;
  while (!e && pos < len)
  {
    line l ;
    pos += next_line(&l, s + pos, len - pos) ;
    n++ ;
    if (!data && l.full <= UIDLS_LINE_MAX && l.len && l.s[0] == '#') continue ;
    data = 1 ;
    e = parse_line(lists, &l, &left, now, file, n, err) ;
  }
  if (!e && left) e = too_few(lists, file, n, err) ;
  if (e) drop_lists(lists, first) ;
  return e ;
}

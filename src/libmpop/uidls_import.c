/* ISC license. */

#include <string.h>
#include <sysexits.h>

#include <skalibs/stralloc.h>
#include <skalibs/types.h>

#include <mpop/uidls.h>
#include <mpop/uidls_import.h>
#include "uidls-internal.h"

static int bad (stralloc *err, char const *file, size_t n, char const *what)
{
  char fmt[SIZE_FMT] ;
  fmt[size_fmt(fmt, n)] = 0 ;
  return uidls_say(err, EX_DATAERR, file, ", line ", fmt, ": ", what) ;
}

 /* The next line of s (without its newline) in *line, *len; 0 at the end */
static int next_line (char const *s, size_t slen, size_t *pos, char const **line, size_t *len)
{
  char const *nl ;
  if (*pos >= slen) return 0 ;
  *line = s + *pos ;
  nl = memchr(*line, '\n', slen - *pos) ;
  *len = nl ? (size_t)(nl - *line) : slen - *pos ;
  *pos += *len + 1 ;
  return 1 ;
}

static char const *last_of (char const *s, size_t len, char c)
{
  while (len--) if (s[len] == c) return s + len ;
  return 0 ;
}

int uidls_import_fetchmail (uidls_set *set, char const *file, char const *s, size_t len, char const *who, int64_t now, size_t *others, stralloc *err)
{
  size_t wlen = strlen(who), pos = 0, n = 0 ;
  char const *line ;
  size_t llen ;
  *others = 0 ;
  while (next_line(s, len, &pos, &line, &llen))
  {
    char const *sp = last_of(line, llen, ' ') ;
    char const *at = sp ? last_of(line, sp - line, '@') : 0 ;
    size_t ulen ;
    n++ ;
    if (!llen) continue ;
    if (!sp || !at || at == line || at + 1 == sp) return bad(err, file, n, "not a fetchmail UID line (user@host UID)") ;
    ulen = line + llen - sp - 1 ;
    if (!uidls_uid_valid(sp + 1, ulen)) return bad(err, file, n, "invalid UID") ;
    if ((size_t)(sp - line) != wlen || memcmp(line, who, wlen)) { (*others)++ ; continue ; }
    if (!uidls_set_add(set, sp + 1, ulen, now)) return EX_OSERR ;
  }
  return 0 ;
}

int uidls_import_getmail (uidls_set *set, char const *file, char const *s, size_t len, stralloc *err)
{
  size_t pos = 0, n = 0 ;
  char const *line ;
  size_t llen ;
  while (next_line(s, len, &pos, &line, &llen))
  {
    char const *nul = memchr(line, 0, llen) ;
    size_t tlen, end ;
    int64_t ts ;
    n++ ;
    if (!llen) continue ;
    if (!nul) return bad(err, file, n, "not a getmail oldmail line (UID NUL time)") ;
    if (!uidls_uid_valid(line, nul - line)) return bad(err, file, n, "invalid UID") ;
    if (memchr(line, '/', nul - line)) return bad(err, file, n, "IMAP message ID: not the oldmail file of a POP3 account") ;
    tlen = line + llen - nul - 1 ;
    if (!uidls_scan_integer(nul + 1, tlen, &ts, &end) || !end || end != tlen || ts < 0)
      return bad(err, file, n, "invalid timestamp") ;
    if (!uidls_set_add(set, line, nul - line, ts)) return EX_OSERR ;
  }
  return 0 ;
}

/* ISC license. */

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include <skalibs/bytestr.h>
#include <skalibs/stralloc.h>

#include <mpop/auth.h>

 /* stralloc_ready would realloc and leave the old copy in freed memory:
    move by hand, wiping the old buffer. */
int secret_ready (stralloc *sa, size_t n)
{
  stralloc t = STRALLOC_ZERO ;
  size_t want ;
  if (n > SIZE_MAX - 1 - sa->len) return (errno = ENOMEM, 0) ;
  if (sa->s && sa->len + n + 1 <= sa->a) return 1 ;
  want = sa->a > 64 ? sa->a : 64 ;
  while (want < sa->len + n + 1)
  {
    if (want > SIZE_MAX / 2) { want = sa->len + n + 1 ; break ; }
    want <<= 1 ;
  }
  if (!stralloc_ready(&t, want)) return 0 ;
  if (sa->len) memcpy(t.s, sa->s, sa->len) ;
  t.len = sa->len ;
  secret_free(sa) ;
  *sa = t ;
  return 1 ;
}

int secret_catb (stralloc *sa, char const *s, size_t n)
{
  if (!secret_ready(sa, n)) return 0 ;
  if (n) memcpy(sa->s + sa->len, s, n) ;
  sa->len += n ;
  sa->s[sa->len] = 0 ;
  return 1 ;
}

void secret_free (stralloc *sa)
{
  if (sa->s) byte_zzero(sa->s, sa->a) ;
  stralloc_free(sa) ;
}

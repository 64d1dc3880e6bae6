/* ISC license. */

#include <errno.h>
#include <string.h>

#include <skalibs/stralloc.h>

#include <mpop/auth.h>

static char const b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/" ;

int base64_encode (stralloc *sa, char const *s, size_t len)
{
  unsigned char const *u = (unsigned char const *)s ;
  char *d ;
  if (!secret_ready(sa, (len + 2) / 3 * 4)) return 0 ;
  d = sa->s + sa->len ;
  for (; len >= 3 ; len -= 3, u += 3)
  {
    *d++ = b64[u[0] >> 2] ;
    *d++ = b64[(u[0] & 3) << 4 | u[1] >> 4] ;
    *d++ = b64[(u[1] & 15) << 2 | u[2] >> 6] ;
    *d++ = b64[u[2] & 63] ;
  }
  if (len)
  {
    *d++ = b64[u[0] >> 2] ;
    *d++ = b64[(u[0] & 3) << 4 | (len > 1 ? u[1] >> 4 : 0)] ;
    *d++ = len > 1 ? b64[(u[1] & 15) << 2] : '=' ;
    *d++ = '=' ;
  }
  sa->len = d - sa->s ;
  *d = 0 ;
  return 1 ;
}

static int value (char c)
{
  char const *x = c ? strchr(b64, c) : 0 ;
  return x ? x - b64 : -1 ;
}

int base64_decode (stralloc *sa, char const *s, size_t len)
{
  size_t pad = 0 ;
  unsigned int acc = 0, n = 0 ;
  char *d ;
  if (len && s[len - 1] == '=') { pad++ ; len-- ; }
  if (len && s[len - 1] == '=') { pad++ ; len-- ; }
  if (len % 4 == 1 || (pad && (len + pad) % 4)) return (errno = EINVAL, 0) ;
  if (!secret_ready(sa, len / 4 * 3 + 2)) return 0 ;
  d = sa->s + sa->len ;
  for (size_t i = 0 ; i < len ; i++)
  {
    int v = value(s[i]) ;
    if (v < 0) { sa->s[sa->len] = 0 ; return (errno = EINVAL, 0) ; }
    acc = acc << 6 | v ;
    if (++n == 4)
    {
      *d++ = acc >> 16 ; *d++ = acc >> 8 ; *d++ = acc ;
      acc = 0 ; n = 0 ;
    }
  }
  if (n == 2) *d++ = acc >> 4 ;
  else if (n == 3) { *d++ = acc >> 10 ; *d++ = acc >> 2 ; }
  acc = 0 ;
  sa->len = d - sa->s ;
  *d = 0 ;
  return 1 ;
}

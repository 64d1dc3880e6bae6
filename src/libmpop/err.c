/* ISC license. */

#include <stdlib.h>

#include <mpop/err.h>

char const *mpop_progname (char const *own)
{
  char const *x = getenv("MPOP_PROG") ;
  return x && *x ? x : own ;
}

char *mpop_sanitize (char *s, size_t len)
{
  for (size_t i = 0 ; i < len ; i++)
    if ((unsigned char)s[i] < 32 || s[i] == 127) s[i] = '?' ;
  return s ;
}

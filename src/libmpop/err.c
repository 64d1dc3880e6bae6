/* ISC license. */

#include <stdlib.h>
#include <sysexits.h>

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

char const *mpop_sysexits_name (int e)
{
  static char const *const names[] =
  {
    "EX_USAGE: command line usage error",
    "EX_DATAERR: data format error",
    "EX_NOINPUT: cannot open input",
    "EX_NOUSER: addressee unknown",
    "EX_NOHOST: host name unknown",
    "EX_UNAVAILABLE: service unavailable",
    "EX_SOFTWARE: internal software error",
    "EX_OSERR: system error (e.g., can't fork)",
    "EX_OSFILE: critical OS file missing",
    "EX_CANTCREAT: can't create (user) output file",
    "EX_IOERR: input/output error",
    "EX_TEMPFAIL: temporary failure",
    "EX_PROTOCOL: remote error in protocol",
    "EX_NOPERM: permission denied",
    "EX_CONFIG: configuration error"
  } ;
  return e >= EX__BASE && e <= EX__MAX ? names[e - EX__BASE] : 0 ;
}

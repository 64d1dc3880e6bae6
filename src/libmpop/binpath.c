/* ISC license. */

#include <string.h>

#include <skalibs/stralloc.h>

#include <mpop/binpath.h>
#include <mpop/config.h>

int mpop_binpath (stralloc *sa, char const *argv0, char const *prog)
{
  char const *slash = strrchr(argv0, '/') ;
  sa->len = 0 ;
  if (MPOP_BINPREFIX[0]) { if (!stralloc_cats(sa, MPOP_BINPREFIX)) return 0 ; }
  else if (slash && !stralloc_catb(sa, argv0, slash - argv0 + 1)) return 0 ;
  return stralloc_cats(sa, prog) && stralloc_0(sa) ;
}

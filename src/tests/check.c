/* ISC license. */

#include <skalibs/buffer.h>
#include <skalibs/types.h>

#include "check.h"

static unsigned int npassed = 0, nfailed = 0 ;

void check (int ok, char const *what)
{
  if (ok) { npassed++ ; return ; }
  nfailed++ ;
  buffer_puts(buffer_2, "FAIL: ") ;
  buffer_puts(buffer_2, what) ;
  buffer_putsflush(buffer_2, "\n") ;
}

int check_report (void)
{
  char fmt[UINT_FMT] ;
  buffer_put(buffer_1, fmt, uint_fmt(fmt, npassed)) ;
  buffer_puts(buffer_1, " passed, ") ;
  buffer_put(buffer_1, fmt, uint_fmt(fmt, nfailed)) ;
  buffer_putsflush(buffer_1, " failed\n") ;
  return !!nfailed ;
}

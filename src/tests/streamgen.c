/* ISC license. */

 /* streamgen [ -T ] [ -n count ] [ -o origin ] [ file... ]: writes an
    mpop-stream with one message per file (uid = the file's name; -n
    repeats the list count times, uids then get a ".N" suffix); -T leaves
    the trailer out; -o gives each header an origin= line.
    Uses the library's writer. */

#include <fcntl.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>
#include <sys/stat.h>

#include <skalibs/allreadwrite.h>
#include <skalibs/buffer.h>
#include <skalibs/djbunix.h>
#include <skalibs/sgetopt.h>
#include <skalibs/stralloc.h>
#include <skalibs/strerr.h>
#include <skalibs/types.h>

#include <mpop/stream.h>

#define USAGE "streamgen [ -T ] [ -n count ] [ -o origin ] [ file... ]"

static void out (stralloc *sa)
{
  if (allwrite(1, sa->s, sa->len) < sa->len) strerr_diefu1sys(EX_IOERR, "write") ;
  sa->len = 0 ;
}

int main (int argc, char const *const *argv)
{
  stralloc sa = STRALLOC_ZERO ;
  stralloc uid = STRALLOC_ZERO ;
  stralloc origin = STRALLOC_ZERO ;
  char const *extra[1] = { 0 } ;
  unsigned int count = 1 ;
  int trailer = 1 ;
  PROG = "streamgen" ;
  {
    subgetopt l = SUBGETOPT_ZERO ;
    for (;;)
    {
      int opt = subgetopt_r(argc, argv, "Tn:o:", &l) ;
      if (opt == -1) break ;
      switch (opt)
      {
        case 'T' : trailer = 0 ; break ;
        case 'n' : if (!uint0_scan(l.arg, &count)) strerr_dieusage(EX_USAGE, USAGE) ; break ;
        case 'o' :
          if (!stralloc_copys(&origin, "origin=") || !stralloc_cats(&origin, l.arg) || !stralloc_0(&origin)) strerr_diefu1sys(EX_OSERR, "put") ;
          extra[0] = origin.s ;
          break ;
        default : strerr_dieusage(EX_USAGE, USAGE) ;
      }
    }
    argc -= l.ind ; argv += l.ind ;
  }
  if (!mpopstream_put_banner(&sa)) strerr_diefu1sys(EX_OSERR, "put") ;
  out(&sa) ;
  for (unsigned int n = 0 ; n < count ; n++)
    for (int i = 0 ; i < argc ; i++)
    {
      char buf[65536] ;
      char fmt[UINT_FMT] ;
      char const *base = strrchr(argv[i], '/') ;
      struct stat st ;
      int fd = open_read(argv[i]) ;
      if (fd < 0 || fstat(fd, &st) < 0) strerr_diefu2sys(EX_NOINPUT, "open ", argv[i]) ;
      uid.len = 0 ;
      if (!stralloc_cats(&uid, base ? base + 1 : argv[i])) strerr_diefu1sys(EX_OSERR, "put") ;
      if (count > 1 && (!stralloc_catb(&uid, ".", 1) || !stralloc_catb(&uid, fmt, uint_fmt(fmt, n)))) strerr_diefu1sys(EX_OSERR, "put") ;
      if (!stralloc_0(&uid)) strerr_diefu1sys(EX_OSERR, "put") ;
      if (!mpopstream_put_header(&sa, uid.s, st.st_size, i + 1, extra, !!extra[0])) strerr_diefu1sys(EX_OSERR, "put header") ;
      out(&sa) ;
      for (;;)
      {
        ssize_t r = fd_read(fd, buf, sizeof(buf)) ;
        if (r < 0) strerr_diefu2sys(EX_IOERR, "read ", argv[i]) ;
        if (!r) break ;
        if (!mpopstream_put_data(&sa, buf, r)) strerr_diefu1sys(EX_OSERR, "put") ;
        out(&sa) ;
      }
      fd_close(fd) ;
      if (!mpopstream_put_end(&sa)) strerr_diefu1sys(EX_OSERR, "put") ;
      out(&sa) ;
    }
  if (trailer && !mpopstream_put_trailer(&sa)) strerr_diefu1sys(EX_OSERR, "put") ;
  out(&sa) ;
  stralloc_free(&sa) ;
  stralloc_free(&uid) ;
  stralloc_free(&origin) ;
  return 0 ;
}

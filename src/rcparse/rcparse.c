/* ISC license. */

#include <errno.h>
#include <string.h>
#include <sysexits.h>

#include <skalibs/buffer.h>
#include <skalibs/exec.h>
#include <skalibs/sgetopt.h>
#include <skalibs/skamisc.h>
#include <skalibs/stralloc.h>
#include <skalibs/strerr.h>

#include <mpop/account.h>
#include <mpop/err.h>

#define USAGE "rcparse [ -C file | -H host ] [ -o command=value ]... [ -S ] [ -p | -e ] account prog... | rcparse [ -C file ] -l"

enum { DO_EXEC, DO_PRETEND, DO_EXPORT, DO_LIST } ;

static void die_err (int code, stralloc *err)
{
  if (code == EX_OSERR && !err->len) mpop_dienomem() ;
  mpop_die(code, err->s) ;
}

static void list_accounts (rcfile const *rc)
{
  for (unsigned int i = 0 ; i < rc->n ; i++)
    if (buffer_puts(buffer_1, rc->accounts[i].name) < 0 || buffer_puts(buffer_1, "\n") < 0)
      mpop_diesys(EX_IOERR, "cannot write to stdout") ;
  if (!buffer_flush(buffer_1)) mpop_diesys(EX_IOERR, "cannot write to stdout") ;
}

static void print_exports (char const *modifs, size_t len)
{
  stralloc q = STRALLOC_ZERO ;
  for (size_t i = 0 ; i < len ; i += strlen(modifs + i) + 1)
  {
    char const *s = modifs + i ;
    char const *eq = strchr(s, '=') ;
    q.len = 0 ;
    if (!eq)
    {
      if (!stralloc_cats(&q, "unset ") || !stralloc_cats(&q, s)) mpop_dienomem() ;
    }
    else
    {
      if (!stralloc_cats(&q, "export ") || !stralloc_catb(&q, s, eq - s + 1) || !stralloc_catb(&q, "'", 1)) mpop_dienomem() ;
      for (char const *c = eq + 1 ; *c ; c++)
        if (!(*c == '\'' ? stralloc_cats(&q, "'\\''") : stralloc_catb(&q, c, 1))) mpop_dienomem() ;
      if (!stralloc_catb(&q, "'", 1)) mpop_dienomem() ;
    }
    if (!stralloc_catb(&q, "\n", 1)) mpop_dienomem() ;
    if (buffer_put(buffer_1, q.s, q.len) < 0) mpop_diesys(EX_IOERR, "cannot write to stdout") ;
  }
  if (!buffer_flush(buffer_1)) mpop_diesys(EX_IOERR, "cannot write to stdout") ;
  stralloc_free(&q) ;
}

int main (int argc, char const *const *argv)
{
  stralloc err = STRALLOC_ZERO ;
  stralloc path = STRALLOC_ZERO ;
  stralloc modifs = STRALLOC_ZERO ;
  rcfile rc = RCFILE_ZERO ;
  account hostacct = { 0 } ;
  account *a ;
  char const *file = 0 ;
  char const *host = 0 ;
  char const *overrides[argc] ;
  unsigned int noverrides = 0 ;
  int what = DO_EXEC, mode = AM_RETRIEVE, r ;
  PROG = "rcparse" ;
  {
    subgetopt l = SUBGETOPT_ZERO ;
    for (;;)
    {
      int opt = subgetopt_r(argc, argv, "C:H:o:Spel", &l) ;
      if (opt == -1) break ;
      switch (opt)
      {
        case 'C' : file = l.arg ; break ;
        case 'H' : host = l.arg ; break ;
        case 'o' : overrides[noverrides++] = l.arg ; break ;
        case 'S' : mode = AM_SERVERINFO ; break ;
        case 'p' : what = DO_PRETEND ; break ;
        case 'e' : what = DO_EXPORT ; break ;
        case 'l' : what = DO_LIST ; break ;
        default : mpop_dieusage(USAGE) ;
      }
    }
    argc -= l.ind ; argv += l.ind ;
  }
  if (host && (file || what == DO_LIST)) mpop_dieusage(USAGE) ;

  if (host)
  {
    a = &hostacct ;
    if (account_set(a, S_HOST, host, NORM_CLI) != SE_OK) mpop_die(EX_USAGE, "invalid host") ;
  }
  else
  {
    if (!file)
    {
      if (!rcfile_default(&path)) mpop_dienomem() ;
      file = path.s ;
    }
    r = rcfile_read(&rc, file, &err) ;
    if (r) die_err(r, &err) ;
    if (what == DO_LIST) { list_accounts(&rc) ; rcfile_free(&rc) ; stralloc_free(&path) ; return 0 ; }
    if (!argc) mpop_dieusage(USAGE) ;
    a = rcfile_account(&rc, argv[0]) ;
    if (!a) mpop_die(EX_CONFIG, file, ": no account ", argv[0]) ;
    argc-- ; argv++ ;
  }

  for (unsigned int i = 0 ; i < noverrides ; i++)
  {
    r = account_override(a, overrides[i], &err) ;
    if (r) die_err(r, &err) ;
  }
  if (what == DO_PRETEND)
  {
    r = account_passwordeval(a, &err) ;
    if (r) die_err(r, &err) ;
  }
  r = account_complete(a, file, mode, &err) ;
  if (r) die_err(r, &err) ;

  switch (what)
  {
    case DO_PRETEND :
      if (argc) mpop_dieusage(USAGE) ;
      if (!account_pretend(buffer_1, a, file, mode) || !buffer_flush(buffer_1))
        mpop_diesys(EX_IOERR, "cannot write to stdout") ;
      break ;
    case DO_EXPORT :
      if (argc) mpop_dieusage(USAGE) ;
      if (!account_envmodifs(&modifs, a, file)) mpop_dienomem() ;
      print_exports(modifs.s, modifs.len) ;
      break ;
    default :
      if (!argc) mpop_dieusage(USAGE) ;
      if (!account_envmodifs(&modifs, a, file)) mpop_dienomem() ;
      mexec_m(argv, modifs.s, modifs.len) ;
      mpop_diesys(errno == ENOENT ? EX_UNAVAILABLE : EX_OSERR, "cannot execute ", argv[0]) ;
  }
  account_free(&hostacct) ;
  rcfile_free(&rc) ;
  stralloc_free(&modifs) ;
  stralloc_free(&path) ;
  stralloc_free(&err) ;
  return 0 ;
}

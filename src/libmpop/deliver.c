/* ISC license. */

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>
#include <sys/time.h>

#include <skalibs/allreadwrite.h>
#include <skalibs/djbunix.h>
#include <skalibs/random.h>
#include <skalibs/stralloc.h>
#include <skalibs/types.h>

#include <mpop/deliver.h>
#include <mpop/envfrom.h>
#include "deliver-internal.h"

static char const *const method_names[4] = { "maildir", "mbox", "mda", "exchange" } ;

static deliver_ops const *ops (deliver const *d)
{
  static deliver_ops const *const table[4] = { &deliver_maildir_ops, &deliver_mbox_ops, &deliver_mda_ops, &deliver_exchange_ops } ;
  return table[d->method] ;
}

int deliver_method (char const *name)
{
  for (int i = 0 ; i < 4 ; i++) if (!strcmp(name, method_names[i])) return i ;
  return -1 ;
}

int deliver_errv (stralloc *err, int code, int e, char const *const *parts, unsigned int n)
{
  err->len = 0 ;
  for (unsigned int i = 0 ; i < n ; i++)
    if (parts[i] && !stralloc_cats(err, parts[i])) goto nomem ;
  if (e && (!stralloc_cats(err, ": ") || !stralloc_cats(err, strerror(e)))) goto nomem ;
  if (!n || !stralloc_0(err)) goto nomem ;
  return code ;
 nomem:
  err->len = 0 ;
  return EX_OSERR ;
}

int deliver_open (deliver *d, char const *spec, stralloc *err)
{
  char const *sp = strchr(spec, ' ') ;
  char name[9] ;
  int m ;
  if (!sp || sp == spec || (size_t)(sp - spec) >= sizeof(name) || !sp[1])
    return deliver_err(err, EX_CONFIG, 0, "invalid delivery specification: ", spec, " (expected METHOD ARGUMENT)") ;
  memcpy(name, spec, sp - spec) ;
  name[sp - spec] = 0 ;
  m = deliver_method(name) ;
  if (m < 0) return deliver_err(err, EX_CONFIG, 0, "invalid delivery method ", name, 0) ;
  return deliver_open_method(d, m, sp + 1, err) ;
}

int deliver_open_method (deliver *d, int method, char const *arg, stralloc *err)
{
  int r ;
  if (method < 0 || method > 3) return deliver_err(err, EX_CONFIG, 0, "invalid delivery method") ;
  if (!*arg) return deliver_err(err, EX_CONFIG, 0, "delivery method ", method_names[method], " needs an argument") ;
  d->method = method ;
  d->arg.len = 0 ;
  if (!stralloc_cats(&d->arg, arg) || !stralloc_0(&d->arg)) return deliver_nomem(err) ;
  r = ops(d)->open(d, err) ;
  if (r)
  {
    stralloc_free(&d->arg) ;
    stralloc_free(&d->path) ;
    stralloc_free(&d->host) ;
    d->method = -1 ;
  }
  return r ;
}

int deliver_needs_sender (deliver const *d)
{
  return d->method == DELIVER_MBOX || (d->method == DELIVER_MDA && strstr(d->arg.s, "%F")) ;
}

int deliver_begin (deliver *d, char const *sender, stralloc *err)
{
  int r ;
  if (d->inmsg) deliver_abort(d) ;
  d->blen = 0 ;
  d->bol = 1 ;
  d->inprefix = 1 ;
  d->fromi = 0 ;
  d->gt = 0 ;
  d->epipe = 0 ;
  r = ops(d)->begin(d, sender ? sender : ENVFROM_DEFAULT, err) ;
  if (r) return r ;
  d->inmsg = 1 ;
  return 0 ;
}

int deliver_fsync (int fd)
{
  return fsync(fd) == 0 || errno == EINVAL ;
}

int deliver_flush (deliver *d, stralloc *err)
{
  size_t n ;
  if (!d->blen) return 0 ;
  if (d->epipe) { d->blen = 0 ; return 0 ; }
  if (d->method == DELIVER_MBOX) deliver_mbox_premark(d, d->blen) ;
  n = d->method == DELIVER_MDA ? deliver_mda_write(d, d->buf, d->blen) : allwrite(d->fd, d->buf, d->blen) ;
  if (n < d->blen)
  {
    if (d->method == DELIVER_MDA && errno == EPIPE) d->epipe = 1 ;
    else if (d->method == DELIVER_MDA && errno == ETIMEDOUT) return deliver_err(err, EX_IOERR, 0, d->arg.s, " timed out") ;
    else return deliver_err(err, EX_IOERR, errno, "cannot write to ", d->path.s) ;
  }
  d->blen = 0 ;
  return 0 ;
}

int deliver_out (deliver *d, char const *s, size_t len, stralloc *err)
{
  if (!len) return 0 ;
  d->bol = s[len - 1] == '\n' ;
  while (len)
  {
    size_t n = DELIVER_BUFSIZE - d->blen ;
    if (!n)
    {
      int r = deliver_flush(d, err) ;
      if (r) return r ;
      continue ;
    }
    if (n > len) n = len ;
    memcpy(d->buf + d->blen, s, n) ;
    d->blen += n ;
    s += n ; len -= n ;
  }
  return 0 ;
}

static int out_gt (deliver *d, size_t n, stralloc *err)
{
  static char const gts[64] = ">>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>" ;
  while (n)
  {
    size_t k = n > 64 ? 64 : n ;
    int r = deliver_out(d, gts, k, err) ;
    if (r) return r ;
    n -= k ;
  }
  return 0 ;
}

 /* The held line prefix ('>'s and part of "From "), written as is */
static int release_prefix (deliver *d, int quote, stralloc *err)
{
  int r = 0 ;
  if (d->inprefix && (d->gt || d->fromi))
  {
    r = out_gt(d, d->gt + !!quote, err) ;
    if (!r) r = deliver_out(d, "From ", d->fromi, err) ;
  }
  d->inprefix = 0 ;
  d->gt = 0 ;
  d->fromi = 0 ;
  return r ;
}

 /* mboxrd: a line matching >*From  gets one more '>' */
static int write_mbox (deliver *d, char const *s, size_t len, stralloc *err)
{
  while (len)
  {
    int r ;
    if (!d->inprefix)
    {
      char const *nl = memchr(s, '\n', len) ;
      size_t n = nl ? (size_t)(nl - s) + 1 : len ;
      r = deliver_out(d, s, n, err) ;
      if (r) return r ;
      if (nl) d->inprefix = 1 ;
      s += n ; len -= n ;
    }
    else if (!d->fromi && *s == '>') { d->gt++ ; s++ ; len-- ; }
    else if (*s == "From "[d->fromi])
    {
      s++ ; len-- ;
      if (++d->fromi == 5)
      {
        r = release_prefix(d, 1, err) ;
        if (r) return r ;
      }
    }
    else
    {
      r = release_prefix(d, 0, err) ;
      if (r) return r ;
    }
  }
  return 0 ;
}

static int write_crlf (deliver *d, char const *s, size_t len, stralloc *err)
{
  while (len)
  {
    char const *nl = memchr(s, '\n', len) ;
    size_t n = nl ? (size_t)(nl - s) : len ;
    int r = deliver_out(d, s, n, err) ;
    if (!r && nl) r = deliver_out(d, "\r\n", 2, err) ;
    if (r) return r ;
    if (!nl) break ;
    s += n + 1 ; len -= n + 1 ;
  }
  return 0 ;
}

static int write_content (deliver *d, char const *s, size_t len, stralloc *err)
{
  switch (d->method)
  {
    case DELIVER_MBOX : return write_mbox(d, s, len, err) ;
    case DELIVER_EXCHANGE : return write_crlf(d, s, len, err) ;
    default : return deliver_out(d, s, len, err) ;
  }
}

int deliver_write (deliver *d, char const *s, size_t len, stralloc *err)
{
  int r ;
  if (!d->inmsg) return deliver_err(err, EX_SOFTWARE, 0, "no message in progress") ;
  r = write_content(d, s, len, err) ;
  if (r) deliver_abort(d) ;
  return r ;
}

int deliver_commit (deliver *d, stralloc *err)
{
  int r ;
  if (!d->inmsg) return deliver_err(err, EX_SOFTWARE, 0, "no message in progress") ;
  r = d->method == DELIVER_MBOX ? release_prefix(d, 0, err) : 0 ;
  if (!r && !d->bol) r = write_content(d, "\n", 1, err) ;
  if (!r) r = ops(d)->commit(d, err) ;
  if (r) { deliver_abort(d) ; return r ; }
  d->inmsg = 0 ;
  return 0 ;
}

void deliver_abort (deliver *d)
{
  if (!d->inmsg) return ;
  d->blen = 0 ;
  ops(d)->abort(d) ;
  d->inmsg = 0 ;
}

int deliver_sync (deliver *d, stralloc *err)
{
  int r = ops(d)->sync(d, err) ;
  if (r) deliver_abort(d) ;
  return r ;
}

void deliver_close (deliver *d)
{
  if (d->method < 0) return ;
  deliver_abort(d) ;
  ops(d)->close(d) ;
  stralloc_free(&d->arg) ;
  stralloc_free(&d->name) ;
  stralloc_free(&d->path) ;
  stralloc_free(&d->host) ;
  stralloc_free(&d->pending) ;
  d->method = -1 ;
}

void deliver_emergency (deliver *d)
{
  if (!d->inmsg) return ;
  switch (d->method)
  {
    case DELIVER_MDA :
      if (d->pid > 0) { kill(-d->pid, SIGKILL) ; kill(d->pid, SIGKILL) ; }
      break ;
    case DELIVER_MBOX :
      ftruncate(d->fd, d->msgstart) ;
      break ;
    case DELIVER_MAILDIR :
    case DELIVER_EXCHANGE :
      unlinkat(d->dirfd, d->name.s, 0) ;
      break ;
  }
}

int deliver_tolf (stralloc *sa, char const *s, size_t len, unsigned char *cr)
{
  if (!stralloc_readyplus(sa, len + 1)) return 0 ;
  if (*cr)
  {
    *cr = 0 ;
    if (!len || *s != '\n') sa->s[sa->len++] = '\r' ;
  }
  while (len)
  {
    char const *p = memchr(s, '\r', len) ;
    size_t n = p ? (size_t)(p - s) : len ;
    memcpy(sa->s + sa->len, s, n) ;
    sa->len += n ;
    if (!p) break ;
    s += n + 1 ; len -= n + 1 ;
    if (!len) { *cr = 1 ; break ; }
    if (*s != '\n') sa->s[sa->len++] = '\r' ;
  }
  return 1 ;
}

 /* Unique names */

static uint64_t counter = 0 ;
static pid_t mypid = 0 ;

static int get_host (deliver *d)
{
  char host[256] ;
  if (d->host.len) return 1 ;
  if (gethostname(host, sizeof(host) - 1) < 0 || !host[0]) strcpy(host, "localhost") ;
  host[sizeof(host) - 1] = 0 ;
  for (char const *p = host ; *p ; p++)
  {
    char const *rep = *p == '/' ? "_057_" : *p == ':' ? "_072_" : *p == '\\' ? "_134_" : 0 ;
    if (!(rep ? stralloc_cats(&d->host, rep) : stralloc_catb(&d->host, p, 1))) return 0 ;
  }
  return stralloc_0(&d->host) ;
}

int deliver_uniquename (deliver *d, int exchange)
{
  struct timeval tv ;
  char fmt[UINT64_FMT] ;
  char rnd[8] ;
  char hex[16] ;
  char usec[7] ;
  if (!get_host(d)) return 0 ;
  if (!mypid) mypid = getpid() ;
  gettimeofday(&tv, 0) ;
  random_buf(rnd, 8) ;
  for (unsigned int i = 0 ; i < 8 ; i++)
  {
    hex[2*i] = "0123456789abcdef"[(unsigned char)rnd[i] >> 4] ;
    hex[2*i+1] = "0123456789abcdef"[(unsigned char)rnd[i] & 15] ;
  }
  for (int i = 5, u = tv.tv_usec ; i >= 0 ; i--, u /= 10) usec[i] = '0' + u % 10 ;
  usec[6] = 0 ;
  counter++ ;
  d->name.len = 0 ;
  return (!exchange || stralloc_cats(&d->name, "mpop-"))
   && stralloc_catb(&d->name, fmt, uint64_fmt(fmt, tv.tv_sec))
   && stralloc_cats(&d->name, exchange ? "-M" : ".M")
   && stralloc_cats(&d->name, usec)
   && stralloc_catb(&d->name, "P", 1)
   && stralloc_catb(&d->name, fmt, uint64_fmt(fmt, mypid))
   && stralloc_catb(&d->name, "Q", 1)
   && stralloc_catb(&d->name, fmt, uint64_fmt(fmt, counter))
   && stralloc_catb(&d->name, "R", 1)
   && stralloc_catb(&d->name, hex, 16)
   && stralloc_catb(&d->name, exchange ? "-" : ".", 1)
   && stralloc_catb(&d->name, d->host.s, d->host.len - 1)
   && (!exchange || stralloc_cats(&d->name, ".eml"))
   && stralloc_0(&d->name) ;
}

int deliver_create (int dirfd, char const *name)
{
  return openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600) ;
}

/* ISC license. */

#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <sysexits.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <skalibs/djbunix.h>
#include <skalibs/iopause.h>
#include <skalibs/stralloc.h>
#include <skalibs/tai.h>

#include <mpop/conn.h>
#include "conn-internal.h"

int conn_failv (conn *c, int code, int withsys, char const *const *parts, unsigned int n)
{
  int e = errno ;
  c->code = code ;
  c->err.len = 0 ;
  for (unsigned int i = 0 ; i < n ; i++)
    if (parts[i] && !stralloc_cats(&c->err, parts[i])) goto nomem ;
  if (withsys && !(stralloc_cats(&c->err, ": ") && stralloc_cats(&c->err, strerror(e)))) goto nomem ;
  if (!stralloc_0(&c->err)) goto nomem ;
  c->err.len-- ;
  errno = e ;
  return code ;
 nomem:
  c->code = EX_OSERR ;
  if (stralloc_copys(&c->err, "cannot allocate memory")) stralloc_0(&c->err) ;
  errno = e ;
  return EX_OSERR ;
}

void conn_deadline (conn const *c, tain *deadline)
{
  tain_now_g() ;
  tain_add_g(deadline, &c->timeout) ;
}

int conn_wait (int fd, short events, tain const *deadline)
{
  for (;;)
  {
    iopause_fd x = { .fd = fd, .events = events, .revents = 0 } ;
    int r = iopause_g(&x, 1, deadline) ;
    if (r > 0) return 1 ;
    if (!r) { errno = ETIMEDOUT ; return 0 ; }
    if (errno != EINTR) return -1 ;
  }
}

int conn_connect_fd (int fd, struct sockaddr const *sa, unsigned int salen, tain const *deadline)
{
  int e ;
  socklen_t elen = sizeof(e) ;
  if (!connect(fd, sa, salen)) return 1 ;
  if (errno != EINPROGRESS && errno != EINTR && errno != EAGAIN) return 0 ;
  switch (conn_wait(fd, IOPAUSE_WRITE, deadline))
  {
    case 1 : break ;
    case 0 : errno = ETIMEDOUT ; return 0 ;
    default : return 0 ;
  }
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &elen) < 0) return 0 ;
  if (e) { errno = e ; return 0 ; }
  return 1 ;
}

ssize_t conn_read (conn *c, char *buf, size_t max)
{
  tain deadline ;
  if (c->tls) return conn_tls_read(c, buf, max) ;
  conn_deadline(c, &deadline) ;
  for (;;)
  {
    ssize_t r = read(c->rfd, buf, max) ;
    if (r >= 0) return r ;
    if (errno == EINTR) continue ;
    if (errno != EAGAIN && errno != EWOULDBLOCK) { conn_failsys(c, EX_IOERR, "network read error") ; return -1 ; }
    switch (conn_wait(c->rfd, IOPAUSE_READ, &deadline))
    {
      case 1 : break ;
      case 0 : conn_fail(c, EX_IOERR, "network read error: the operation timed out") ; return -1 ;
      default : conn_failsys(c, EX_IOERR, "network read error") ; return -1 ;
    }
  }
}

static int plain_write (conn *c, char const *s, size_t len)
{
  tain deadline ;
  conn_deadline(c, &deadline) ;
  while (len)
  {
    ssize_t w = write(c->wfd, s, len) ;
    if (w > 0) { s += w ; len -= w ; continue ; }
    if (w < 0 && errno == EINTR) continue ;
    if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK) return conn_failsys(c, EX_IOERR, "network write error") ;
    switch (conn_wait(c->wfd, IOPAUSE_WRITE, &deadline))
    {
      case 1 : break ;
      case 0 : return conn_fail(c, EX_IOERR, "network write error: the operation timed out") ;
      default : return conn_failsys(c, EX_IOERR, "network write error") ;
    }
  }
  return 0 ;
}

 /* The server answers pipelined commands with small segments; if we
    delayed our ACK of the first, its Nagle algorithm would hold the next
    for the 40 ms of our delayed-ACK timer. */
static void quickack (conn const *c)
{
#ifdef TCP_QUICKACK
  int one = 1 ;
  if (c->tcp) setsockopt(c->rfd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one)) ;
#else
  (void)c ;
#endif
}

int conn_flush (conn *c)
{
  size_t len = c->outlen ;
  int r ;
  c->outlen = 0 ;
  if (!len) return 0 ;
  r = c->tls ? conn_tls_write(c, c->out, len) : plain_write(c, c->out, len) ;
  if (!r) quickack(c) ;
  return r ;
}

int conn_put (conn *c, char const *s, size_t len)
{
  while (len)
  {
    size_t n = CONN_OUTSIZE - c->outlen ;
    if (!n)
    {
      int r = conn_flush(c) ;
      if (r) return r ;
      continue ;
    }
    if (n > len) n = len ;
    memcpy(c->out + c->outlen, s, n) ;
    c->outlen += n ; s += n ; len -= n ;
  }
  return 0 ;
}

int conn_pending (conn const *c)
{
  return c->tls ? conn_tls_pending(c) : 0 ;
}

void conn_close (conn *c)
{
  if (c->tls) conn_tls_close(c) ;
  if (c->wfd >= 0 && c->wfd != c->rfd) fd_close(c->wfd) ;
  if (c->rfd >= 0) fd_close(c->rfd) ;
  c->rfd = c->wfd = -1 ;
  c->tcp = 0 ;
  c->peerlen = 0 ;
  memset(c->out, 0, sizeof(c->out)) ;
  c->outlen = 0 ;
  stralloc_free(&c->peername) ;
  stralloc_free(&c->canon) ;
  stralloc_free(&c->addr) ;
}
